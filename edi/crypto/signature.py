"""Alias of ``portal.crypto.signature`` (the generic code moved to the shell so that AFAS can sign
without importing EDI): the very same module object, so patching one patches the other."""
import sys

from portal.crypto import signature as _moved

sys.modules[__name__] = _moved
