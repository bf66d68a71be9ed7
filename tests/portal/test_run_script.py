"""`make run`'s supervisor (scripts/run.sh), run for real on SQLite and the embedded broker.

A clean stop (Ctrl-C) must leave no process behind and no SQLite `-wal`/`-shm` file in the var
directory: the next `make run`, a copy of the directory or a backup then see one file per database.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent

pytestmark = pytest.mark.worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _children_groups(pid: int) -> set[int]:
    """Process groups of the script's direct children (the web app's and the worker's)."""
    groups = set()
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:  # ppid
            groups.add(int(fields[2]))  # pgrp
    return groups


def test_ctrl_c_stops_web_and_worker_and_leaves_no_wal_file(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DATABASE_URL", "CELERY_BROKER_URL", "TEST_"))}
    env.update(PORTAL_VAR_DIR=str(tmp_path), PORT=str(_free_port()), VENV=str(VENV),
               PORTAL_ENV="development", PYTHONUNBUFFERED="1")
    subprocess.run([str(VENV / "bin" / "portal"), "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    groups: set[int] = set()
    log = (tmp_path / "run.log").open("wb")
    script = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{env['PORT']}/connexion"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    assert answer.status == 200
                break
            except OSError:
                assert script.poll() is None, (tmp_path / "run.log").read_text()
                assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
                time.sleep(0.3)
        while b"ready" not in (tmp_path / "run.log").read_bytes():  # the worker took its queues
            assert script.poll() is None and time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            time.sleep(0.3)
        groups = _children_groups(script.pid)
        assert len(groups) == 2, groups

        script.send_signal(signal.SIGINT)
        assert script.wait(timeout=40) == 0
    finally:  # a failed assertion must not leave the app or the worker running
        leftover = set(groups or _children_groups(script.pid))
        if script.poll() is None:
            leftover.add(script.pid)
        for pgid in leftover:
            if _group_alive(pgid):
                os.killpg(pgid, signal.SIGKILL)
        script.wait(timeout=10)
        log.close()
    text = (tmp_path / "run.log").read_text()
    assert "Arrêté" in text
    assert "point de contrôle WAL impossible" not in text
    assert not [g for g in groups if _group_alive(g)]
    leftovers = sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(("-wal", "-shm")))
    assert leftovers == []
    assert (tmp_path / "portal.sqlite").exists()
