"""scripts/lock_diff.py, what `make upgrade-check` prints: the packages whose newest allowed
version differs from the lock (issue #16)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "lock_diff.py"

LOCK = """\
deprecated==1.3.1 ; python_full_version < '3.12' \\
    --hash=sha256:aaaa
    # via limits
deprecated==3.0.1 ; python_full_version >= '3.12' \\
    --hash=sha256:bbbb
    # via limits
pywin32==312 ; sys_platform == 'win32' \\
    --hash=sha256:cccc
Flask_Login==0.6.3 \\
    --hash=sha256:dddd
"""


def _script():
    spec = importlib.util.spec_from_file_location("lock_diff", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_universal_lock_is_read_for_the_running_interpreter():
    """The lock is universal (uv --universal): a package may appear once per Python version,
    under an environment marker. Only the entry for this interpreter counts, else the canary
    reports a change that is none (deprecated 3.0.1 -> 1.3.1 on Python 3.11)."""
    versions = _script().versions
    on_311 = {"python_full_version": "3.11.7", "sys_platform": "linux"}
    on_313 = {"python_full_version": "3.13.1", "sys_platform": "linux"}
    assert versions(LOCK, on_311) == {"deprecated": "1.3.1", "flask-login": "0.6.3"}
    assert versions(LOCK, on_313) == {"deprecated": "3.0.1", "flask-login": "0.6.3"}
    assert versions("Flask-Login==0.6.3\n") == {"flask-login": "0.6.3"}  # pip freeze
