"""`portal …` commands print what the user asked for, not the libraries' start-up chatter."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_portal_command_prints_no_alembic_plugin_lines(tmp_path):
    portal = Path(sys.executable).with_name("portal")
    env = {**os.environ, "PORTAL_VAR_DIR": str(tmp_path), "PORTAL_ENV": "development"}
    result = subprocess.run([str(portal), "--help"], capture_output=True, text=True, env=env,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "alembic.runtime.plugins" not in result.stdout + result.stderr
    assert "Extranet Partenaires" in result.stdout
