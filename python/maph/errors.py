"""Exceptions: one class per maph_status, named after it.

``MAPH_E_FULL`` raises :class:`Full`, ``MAPH_NOT_FOUND`` raises
:class:`NotFound` (also a :class:`KeyError`), ``MAPH_E_INVALID_ARG`` raises
:class:`InvalidArg` (also a :class:`ValueError`), and so on; all derive from
:class:`MaphError`, which carries ``status`` (the number), ``function``
(the C function that failed) and ``detail`` (``maph_last_error()``).
"""


class MaphError(Exception):
    """A maph call failed. ``status``: the maph_status number."""

    status = None

    def __init__(self, function, detail=""):
        self.function = function
        self.detail = detail
        msg = "%s: %s" % (function, self.__class__.__doc__.strip().rstrip("."))
        if detail:
            msg += ": " + detail
        super().__init__(msg)

    def __str__(self):
        return self.args[0]


class NotFound(MaphError, KeyError):
    """The key (or UID) is not in the store, or the table or queue set does
    not exist."""

    status = 1


class InvalidArg(MaphError, ValueError):
    """An argument is out of range or missing (an empty key, bad options)."""

    status = 2


class Io(MaphError):
    """A system call failed."""

    status = 3


class Corrupt(MaphError):
    """The file is not a maph store, or is damaged."""

    status = 4


class Version(MaphError):
    """The store has a format version this library does not read."""

    status = 5


class Full(MaphError):
    """The store is full: no free slot within the maximum probe distance
    of the key's home, no room in its heap, or a growing store at its limit
    (``max_bytes``)."""

    status = 6


class TooLarge(MaphError):
    """Key plus value do not fit one slot."""

    status = 7


class BufferTooSmall(MaphError):
    """The buffer is too small (handled inside the bindings; not raised)."""

    status = 8


class ReadOnly(MaphError):
    """A write through a store opened read-only."""

    status = 9


class Busy(MaphError):
    """A slot or lock stayed taken past the wait limit (2 s)."""

    status = 10


class Panic(MaphError):
    """maph hit an internal bug; the call did nothing it could not undo."""

    status = 11


class Exists(MaphError):
    """The path, name or key already exists."""

    status = 12


class Empty(MaphError):
    """Nothing to take: the queue is empty."""

    status = 13


class Timeout(MaphError):
    """A wait ended before the condition held."""

    status = 14


class Conflict(MaphError):
    """The call conflicts with the current state (e.g. a failed compare-and-swap)."""

    status = 15


class NotInteger(MaphError):
    """incr on a value that is not exactly 8 bytes."""

    status = 16


class Overflow(MaphError):
    """incr would leave the signed 64-bit range."""

    status = 17


class StaleValue(MaphError):
    """The value behind a get_ptr view changed (maph_ptr_valid turned false) or its store was closed."""

    status = None


BY_STATUS = {
    c.status: c
    for c in (
        NotFound, InvalidArg, Io, Corrupt, Version, Full, TooLarge, BufferTooSmall,
        ReadOnly, Busy, Panic, Exists, Empty, Timeout, Conflict, NotInteger, Overflow,
    )
}


class UnknownStatus(MaphError):
    """A status this version of the bindings does not know."""


def error_for(status, function, detail):
    """The exception for a non-zero maph_status."""
    cls = BY_STATUS.get(status)
    if cls is None:
        e = UnknownStatus(function, "status %d: %s" % (status, detail))
        e.status = status
        return e
    return cls(function, detail)
