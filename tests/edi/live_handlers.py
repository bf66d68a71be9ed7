"""Imported by the Celery worker of the EDI real-worker tests (PORTAL_EXTRA_MODULES, see
tests/support/live.py): fault injection at the intake's checkpoints (edi.intake.checkpoints).

EDI_TEST_CRASH_AT=<checkpoint> makes the worker SIGKILL itself when the processing reaches it,
once: the file EDI_TEST_CRASH_MARKER is written first, and a worker that finds it goes on."""
from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

from edi.intake import checkpoints

log = logging.getLogger(__name__)


def crash_once_at(name: str) -> None:
    if os.environ.get("EDI_TEST_CRASH_AT") != name:
        return
    marker = Path(os.environ["EDI_TEST_CRASH_MARKER"])
    if marker.exists():
        return
    marker.write_text(str(os.getpid()))
    log.warning("EDI_TEST_CRASH_AT=%s : arrêt brutal du worker", name)
    os.kill(os.getpid(), signal.SIGKILL)


checkpoints.HOOKS.append(crash_once_at)
