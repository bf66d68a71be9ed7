"""`portal …` commands print what the user asked for, not the libraries' start-up chatter."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import click


def test_portal_command_prints_no_alembic_plugin_lines(tmp_path):
    portal = Path(sys.executable).with_name("portal")
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path), "PORTAL_ENV": "development"}
    result = subprocess.run([str(portal), "--help"], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "alembic.runtime.plugins" not in result.stdout + result.stderr
    assert "Extranet Partenaires" in result.stdout


def test_portal_migrate_prints_the_migrations_not_alembic_s_context(tmp_path):
    """`portal migrate` (run by every `make run`) names the migrations it applies, then says the
    database is up to date; Alembic's « Context impl SQLiteImpl. » and « Will assume
    non-transactional DDL. » are not what the user asked for."""
    portal = Path(sys.executable).with_name("portal")
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path), "PORTAL_ENV": "development"}
    runs = [subprocess.run([str(portal), "migrate"], capture_output=True, text=True, env=env,
                           timeout=300, check=False) for _ in range(2)]
    first, again = (run.stdout + run.stderr for run in runs)
    assert all(run.returncode == 0 for run in runs), first + again
    assert "Running upgrade" in first and "Running upgrade" not in again
    assert "Context impl" not in first + again and "Will assume" not in first + again
    assert "INFO" not in again


LIBRARY_COMMANDS = {"db", "routes", "run", "shell", "limiter"}  # Flask's and Flask-Limiter's own
ENGLISH = re.compile(r"\b(the|and|of|with|whose|from|Create|Verify|Write|Mark|Record|List|Delete|"
                     r"Apply|Sign|Validate|Show|Re-send|Jobs)\b")


def _commands(group, prefix=""):
    for name, command in sorted(group.commands.items()):
        if not prefix and name in LIBRARY_COMMANDS:
            continue
        yield f"{prefix}{name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_of_ours_speaks_french(app):
    """Operators read one language: every `portal …` command of the project has French help."""
    commands = dict(_commands(app.cli))
    assert {"migrate", "edi validate", "afas bareme import", "cdap journal", "jobs status"} <= set(commands)
    english = {name: command.get_short_help_str(200) for name, command in commands.items()
               if ENGLISH.search(command.help or command.short_help or "")}
    assert english == {}
