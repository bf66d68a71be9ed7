"""Alias of ``portal.xmlsafe`` (the hostile-XML gate moved to the shell so that AFAS reads its
payment return files through it without importing EDI): the very same module object."""
import sys

from portal import xmlsafe as _moved

sys.modules[__name__] = _moved
