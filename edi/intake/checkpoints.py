"""Named points of the processing (fault injection of the real-worker tests)."""
from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

from flask import current_app

log = logging.getLogger(__name__)


def crash_point(name: str) -> None:
    """Testing only: EDI_TEST_CRASH_AT=<name> makes the worker SIGKILL itself, once (a marker
    file records that it happened). Inert unless PORTAL_ENV=testing."""
    if os.environ.get("EDI_TEST_CRASH_AT") != name or not current_app.config.get("TESTING"):
        return
    marker = Path(os.environ.get("EDI_TEST_CRASH_MARKER")
                  or Path(current_app.config["VAR_DIR"]) / f"edi-crash-{name}.done")
    if marker.exists():
        return
    marker.write_text(str(os.getpid()))
    log.warning("EDI_TEST_CRASH_AT=%s : arrêt brutal du worker", name)
    os.kill(os.getpid(), signal.SIGKILL)

