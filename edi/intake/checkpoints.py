"""Named points of a file's processing, where observers may be called.

    "after_verify"   the signature is verified, nothing of the file read yet;
    "mid_apply"      the first batch of a PRODUCTION file is applied, not committed;
    "before_accuse"  the file is applied and committed, its ACCUSE not written yet.

`HOOKS` holds the observers: each is called with the checkpoint's name, in the processing's
thread (the applier's for "mid_apply" on PostgreSQL). None is registered by the application;
the real-worker tests register one that kills the worker there (fault injection).
"""
from __future__ import annotations

from collections.abc import Callable

HOOKS: list[Callable[[str], None]] = []


def reached(name: str) -> None:
    for hook in HOOKS:
        hook(name)
