"""maph: Python bindings (ctypes) for the maph key-value store.

    import maph
    with maph.Store.create("/tmp/x.maph", slots=1 << 16) as db:
        db.set(b"k", b"v")
        assert db.get(b"k") == b"v"

The library is ``libmaph.so``: ``$MAPH_LIBRARY`` if set, else the
installed ``libmaph.so.0`` (see ``maph._lib``). Errors are exceptions named
after the C statuses (``maph.NotFound``, ``maph.Full``, ...).
"""

from . import _lib
from .errors import (  # noqa: F401
    Busy, BufferTooSmall, Conflict, Corrupt, Empty, Exists, Full, InvalidArg, Io, MaphError,
    NotFound, NotInteger, Overflow, Panic, ReadOnly, StaleValue, Timeout, TooLarge,
    UnknownStatus, Version,
)
from .store import Store, ValueRef  # noqa: F401


def version():
    """The version of the loaded libmaph ("MAJOR.MINOR.PATCH")."""
    return _lib.version().decode()


__version__ = "0.1.0"
