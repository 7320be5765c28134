"""Loads libmaph.so and declares the C functions (ctypes).

Where the library comes from, first found wins:

1. ``$MAPH_LIBRARY``: a path to ``libmaph.so`` (or ``libmaph.so.0``);
2. the installed library, as the dynamic loader finds it: ``libmaph.so.0``
   (``make install`` puts it in ``$PREFIX/lib``; for ``/usr/local/lib`` run
   ``ldconfig`` once, or set ``LD_LIBRARY_PATH``), then
   ``ctypes.util.find_library("maph")``.
"""

import ctypes
import ctypes.util
import os

from . import errors

MAJOR = 0


def _load():
    path = os.environ.get("MAPH_LIBRARY")
    if path:
        return ctypes.CDLL(path)
    tried = []
    for name in ("libmaph.so.%d" % MAJOR, ctypes.util.find_library("maph")):
        if not name:
            continue
        try:
            return ctypes.CDLL(name)
        except OSError as e:
            tried.append("%s (%s)" % (name, e))
    raise ImportError(
        "maph: cannot load libmaph: set MAPH_LIBRARY to the path of libmaph.so, "
        "or install it (make install; ldconfig). Tried: " + "; ".join(tried or ["nothing"])
    )


lib = _load()

c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_size_t = ctypes.c_size_t
c_u32 = ctypes.c_uint32
c_u64 = ctypes.c_uint64
c_i64 = ctypes.c_int64
P = ctypes.POINTER


class Options(ctypes.Structure):
    _fields_ = [
        ("slots", c_u64),
        ("slot_size", c_u32),
        ("max_probes", c_u32),
        ("mode", c_u32),
        ("lock_count", c_u32),
        ("seed", c_u64),
        ("flags", c_u64),
        ("heap_bytes", c_u64),
        ("max_bytes", c_u64),
        ("reserved", c_u64 * 1),
    ]


class Stats(ctypes.Structure):
    _fields_ = [
        ("keys", c_u64),
        ("slots", c_u64),
        ("tombstones", c_u64),
        ("file_bytes", c_u64),
        ("generation", c_u64),
        ("load_factor", ctypes.c_double),
        ("slot_size", c_u32),
        ("slot_capacity", c_u32),
        ("max_probes", c_u32),
        ("longest_probe", c_u32),
        ("mphf_in_use", c_u32),
        ("mphf_keys", c_u64),
        ("keys_outside_mphf", c_u64),
    ]


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


st = c_u32  # maph_status
options_default = _fn("maph_options_default", None, P(Options))
create = _fn("maph_create", st, c_char_p, P(Options), P(c_void_p))
open_ = _fn("maph_open", st, c_char_p, c_u32, P(c_void_p))
shm_create = _fn("maph_shm_create", st, c_char_p, P(Options), P(c_void_p))
shm_open_or_create = _fn("maph_shm_open_or_create", st, c_char_p, P(Options), P(c_void_p))
shm_open = _fn("maph_shm_open", st, c_char_p, c_u32, P(c_void_p))
shm_unlink = _fn("maph_shm_unlink", st, c_char_p)
create_anonymous = _fn("maph_create_anonymous", st, P(Options), P(c_void_p))
close = _fn("maph_close", None, c_void_p)
get = _fn("maph_get", st, c_void_p, c_char_p, c_size_t, c_void_p, c_size_t, P(c_size_t))
get_ptr = _fn("maph_get_ptr", st, c_void_p, c_char_p, c_size_t, P(c_void_p), P(c_size_t), P(c_u64))
ptr_valid = _fn("maph_ptr_valid", ctypes.c_bool, c_void_p, c_u64)
set_ = _fn("maph_set", st, c_void_p, c_char_p, c_size_t, c_char_p, c_size_t)
set_ex = _fn("maph_set_ex", st, c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, c_u64)
add = _fn("maph_add", st, c_void_p, c_char_p, c_size_t, c_char_p, c_size_t)
replace = _fn("maph_replace", st, c_void_p, c_char_p, c_size_t, c_char_p, c_size_t)
cas = _fn("maph_cas", st, c_void_p, c_char_p, c_size_t, c_char_p, c_size_t, c_char_p, c_size_t)
incr = _fn("maph_incr", st, c_void_p, c_char_p, c_size_t, c_i64, P(c_i64))
expire = _fn("maph_expire", st, c_void_p, c_char_p, c_size_t, c_u64)
ttl = _fn("maph_ttl", st, c_void_p, c_char_p, c_size_t, P(c_i64))
flush_expired = _fn("maph_flush_expired", st, c_void_p, c_u64, P(c_u64))
recover = _fn("maph_recover", st, c_void_p, P(c_u64))
check = _fn("maph_check", st, c_void_p, P(c_u64))
delete = _fn("maph_del", st, c_void_p, c_char_p, c_size_t)
sync = _fn("maph_sync", st, c_void_p)
prefault = _fn("maph_prefault", st, c_void_p)
stats = _fn("maph_stats", st, c_void_p, P(Stats))
optimize = _fn("maph_optimize", st, c_void_p)
mget = _fn("maph_mget", st, c_void_p, c_size_t, P(c_void_p), P(c_size_t), P(c_void_p),
           P(c_size_t), P(c_size_t), P(c_u32))
mset = _fn("maph_mset", st, c_void_p, c_size_t, P(c_void_p), P(c_size_t), P(c_void_p),
           P(c_size_t), P(c_u32))
iter_open_part = _fn("maph_iter_open_part", st, c_void_p, c_u32, c_u32, P(c_void_p))
iter_next = _fn("maph_iter_next", st, c_void_p, c_void_p, c_size_t, P(c_size_t), c_void_p,
                c_size_t, P(c_size_t))
iter_close = _fn("maph_iter_close", None, c_void_p)
copy = _fn("maph_copy", st, c_void_p, c_char_p, c_u32)
flush_start = _fn("maph_flush_start", st, c_void_p, c_u64, c_u64)
flush_stop = _fn("maph_flush_stop", st, c_void_p)
strerror = _fn("maph_strerror", c_char_p, c_u32)
last_error = _fn("maph_last_error", c_char_p)
version = _fn("maph_version", c_char_p)

RDONLY = 1
RDWR = 2
OK = 0
NOT_FOUND = 1
BUFFER_TOO_SMALL = 8
COPY_COMPACT = 1
COPY_OPTIMIZE = 2


def fail(status, function):
    """Raises the exception for a non-zero status (with maph_last_error)."""
    # NOT_FOUND, EMPTY and TIMEOUT leave maph_last_error unchanged: an
    # older message would be misleading there.
    detail = "" if status in (1, 13, 14) else last_error().decode("utf-8", "replace")
    raise errors.error_for(status, function, detail)


def check_status(status, function):
    if status != OK:
        fail(status, function)
