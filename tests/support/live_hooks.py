"""Imported by the Celery worker that tests/support/live.py starts (through PORTAL_EXTRA_MODULES):
logs to stderr (captured in the worker's log file) and writes a file once the worker is
ready to consume, so the test knows when to go on. Never imported in production."""
import logging
import os
from pathlib import Path

from celery.signals import worker_ready

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")


@worker_ready.connect
def _announce_ready(**_kwargs):
    path = os.environ.get("LIVE_WORKER_READY_FILE")
    if path:
        Path(path).write_text(str(os.getpid()))
