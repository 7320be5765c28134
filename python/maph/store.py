"""maph.Store: a maph store (file, /dev/shm table or anonymous memory)."""

import ctypes

from . import _lib
from .errors import InvalidArg, StaleValue


def _bytes(x, what):
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, (bytes, bytearray, memoryview)):
        return bytes(x)
    raise TypeError("%s must be bytes or str, not %s" % (what, type(x).__name__))


def _options(slots, slot_size, max_probes, mode, lock_count, seed, max_bytes=0):
    o = _lib.Options()
    _lib.options_default(ctypes.byref(o))
    if slots is not None:
        o.slots = slots
    if slot_size is not None:
        o.slot_size = slot_size
    o.max_probes = max_probes
    if mode is not None:
        o.mode = mode
    o.lock_count = lock_count
    o.seed = seed
    o.max_bytes = max_bytes
    return o


class ValueRef:
    """A zero-copy view of a value inside the mapping (``Store.get_ptr``).

    The bytes may be changed by any writer at any time; every read copies
    them out and then checks ``maph_ptr_valid``: if a writer touched the
    slot since ``get_ptr`` (or the store was closed), the read raises
    :class:`maph.StaleValue` instead of returning torn bytes. ``valid`` says
    whether the view still holds. Supports ``len()``, ``bytes()``,
    ``tobytes()``, indexing and slicing (each copies, then checks, and
    returns bytes or an int) and ``==``. Unlike a real ``memoryview`` it
    exposes no buffer: a buffer over memory other processes write could not
    raise when the value changes.
    """

    __slots__ = ("_store", "_addr", "_len", "_token")

    def __init__(self, store, addr, length, token):
        self._store = store
        self._addr = addr
        self._len = length
        self._token = token

    @property
    def valid(self):
        db = self._store._db
        return db is not None and bool(_lib.ptr_valid(db, self._token))

    def _check(self):
        if not self.valid:
            raise StaleValue("maph_ptr_valid", "the value changed or the store was closed")

    def __len__(self):
        return self._len

    def tobytes(self):
        """The whole value, copied; raises StaleValue if it changed."""
        if self._store._db is None:
            raise StaleValue("maph_ptr_valid", "the store was closed")
        data = ctypes.string_at(self._addr, self._len) if self._len else b""
        self._check()
        return data

    __bytes__ = tobytes

    def __getitem__(self, i):
        return self.tobytes()[i]

    def __eq__(self, other):
        return self.tobytes() == bytes(other)

    __hash__ = None

    def __repr__(self):
        return "<maph.ValueRef %d bytes%s>" % (self._len, "" if self.valid else ", stale")


class Store:
    """An open maph store. Use as a context manager, or call ``close()``.

    Keys and values are ``bytes`` (a ``str`` is encoded as UTF-8). Every
    failure raises the exception named after its status (``maph.Full``,
    ``maph.TooLarge`` ...; see ``maph.errors``). A Store may be used from
    many threads; ``close()`` must not race other calls. After ``os.fork()``
    the child may use the inherited Store (the mapping is shared).
    """

    def __init__(self, handle):
        self._db = handle

    # ---- opening ----

    @classmethod
    def create(cls, path, slots=None, slot_size=None, max_probes=0, mode=None,
               lock_count=0, seed=0, max_bytes=0):
        """Creates the store file ``path`` (raises maph.Exists if it exists).

        ``slots=0`` creates a growing store: 1,024 slots at first, then
        levels of doubling size added as keys arrive; keys never move. Its
        ``max_bytes`` is the most it reserves on its file system, slots and
        heap together (0: the file system's size, at most 1 TiB); past it an
        insert raises maph.Full. ``max_bytes`` with ``slots`` other than 0
        raises maph.InvalidArg. ``stats()["slots"]`` counts the slots of the
        levels in use. The other options are those of ``maph_options``.
        """
        o = _options(slots, slot_size, max_probes, mode, lock_count, seed, max_bytes)
        h = ctypes.c_void_p()
        _lib.check_status(_lib.create(_bytes(path, "path"), ctypes.byref(o), ctypes.byref(h)),
                          "maph_create")
        return cls(h.value)

    @classmethod
    def open(cls, path, readonly=False):
        h = ctypes.c_void_p()
        flags = _lib.RDONLY if readonly else _lib.RDWR
        _lib.check_status(_lib.open_(_bytes(path, "path"), flags, ctypes.byref(h)), "maph_open")
        return cls(h.value)

    @classmethod
    def shm_create(cls, name, **opts):
        """Creates the table /dev/shm/NAME (keyword options as ``create``)."""
        o = _options(opts.pop("slots", None), opts.pop("slot_size", None),
                     opts.pop("max_probes", 0), opts.pop("mode", None),
                     opts.pop("lock_count", 0), opts.pop("seed", 0),
                     opts.pop("max_bytes", 0))
        if opts:
            raise TypeError("unknown options: %s" % ", ".join(opts))
        h = ctypes.c_void_p()
        _lib.check_status(_lib.shm_create(_bytes(name, "name"), ctypes.byref(o), ctypes.byref(h)),
                          "maph_shm_create")
        return cls(h.value)

    @classmethod
    def shm_open(cls, name, readonly=False):
        h = ctypes.c_void_p()
        flags = _lib.RDONLY if readonly else _lib.RDWR
        _lib.check_status(_lib.shm_open(_bytes(name, "name"), flags, ctypes.byref(h)),
                          "maph_shm_open")
        return cls(h.value)

    @classmethod
    def shm_open_or_create(cls, name, slots=None, slot_size=None, max_bytes=0):
        o = _options(slots, slot_size, 0, None, 0, 0, max_bytes)
        h = ctypes.c_void_p()
        _lib.check_status(
            _lib.shm_open_or_create(_bytes(name, "name"), ctypes.byref(o), ctypes.byref(h)),
            "maph_shm_open_or_create")
        return cls(h.value)

    @staticmethod
    def shm_unlink(name):
        _lib.check_status(_lib.shm_unlink(_bytes(name, "name")), "maph_shm_unlink")

    @classmethod
    def create_anonymous(cls, slots=None, slot_size=None, max_bytes=0):
        """A table in anonymous shared memory, shared with children forked
        later. ``slots=0`` and ``max_bytes`` as for ``create`` (the default
        limit is the size of physical memory, at most 1 TiB)."""
        o = _options(slots, slot_size, 0, None, 0, 0, max_bytes)
        h = ctypes.c_void_p()
        _lib.check_status(_lib.create_anonymous(ctypes.byref(o), ctypes.byref(h)),
                          "maph_create_anonymous")
        return cls(h.value)

    def close(self):
        """Unmaps the store; further calls raise maph.InvalidArg. Idempotent."""
        db, self._db = self._db, None
        if db is not None:
            _lib.close(db)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_db", None) is not None:
            self.close()

    def _h(self, function):
        if self._db is None:
            raise InvalidArg(function, "the store is closed")
        return self._db

    # ---- reads ----

    def get(self, key, default=None):
        """The value of ``key`` (bytes), or ``default`` when absent."""
        k = _bytes(key, "key")
        db = self._h("maph_get")
        n = ctypes.c_size_t(0)
        cap = 256
        while True:
            buf = ctypes.create_string_buffer(cap)
            s = _lib.get(db, k, len(k), buf, cap, ctypes.byref(n))
            if s == _lib.OK:
                return buf.raw[: n.value]
            if s == _lib.NOT_FOUND:
                return default
            if s == _lib.BUFFER_TOO_SMALL:
                cap = max(n.value, 1)
                continue
            _lib.fail(s, "maph_get")

    def __getitem__(self, key):
        v = self.get(key)
        if v is None:
            from .errors import NotFound
            raise NotFound("maph_get", "")
        return v

    def __contains__(self, key):
        return self.get(key) is not None

    def get_ptr(self, key):
        """A :class:`ValueRef` over the value in place (raises maph.NotFound)."""
        k = _bytes(key, "key")
        db = self._h("maph_get_ptr")
        p = ctypes.c_void_p()
        n = ctypes.c_size_t()
        tok = ctypes.c_uint64()
        _lib.check_status(
            _lib.get_ptr(db, k, len(k), ctypes.byref(p), ctypes.byref(n), ctypes.byref(tok)),
            "maph_get_ptr")
        return ValueRef(self, p.value, n.value, tok.value)

    def mget(self, keys):
        """Values of many keys at once: a list of bytes, None where absent."""
        ks = [_bytes(k, "key") for k in keys]
        n = len(ks)
        if n == 0:
            return []
        db = self._h("maph_mget")
        cap = self.stats()["slot_capacity"]
        bufs = [ctypes.create_string_buffer(cap) for _ in range(n)]
        karr = (ctypes.c_void_p * n)(*[ctypes.cast(ctypes.c_char_p(k), ctypes.c_void_p) for k in ks])
        klen = (ctypes.c_size_t * n)(*[len(k) for k in ks])
        barr = (ctypes.c_void_p * n)(*[ctypes.addressof(b) for b in bufs])
        caps = (ctypes.c_size_t * n)(*([cap] * n))
        lens = (ctypes.c_size_t * n)()
        sts = (ctypes.c_uint32 * n)()
        _lib.check_status(_lib.mget(db, n, karr, klen, barr, caps, lens, sts), "maph_mget")
        out = []
        for i in range(n):
            if sts[i] == _lib.OK:
                out.append(bufs[i].raw[: lens[i]])
            elif sts[i] == _lib.NOT_FOUND:
                out.append(None)
            elif sts[i] == _lib.BUFFER_TOO_SMALL:
                # A value in the store's heap, longer than a slot.
                out.append(self.get(ks[i]))
            else:
                _lib.fail(sts[i], "maph_mget")
        return out

    def ttl(self, key):
        """Milliseconds until ``key`` expires, None if it never does;
        raises maph.NotFound when absent."""
        k = _bytes(key, "key")
        ms = ctypes.c_int64()
        _lib.check_status(_lib.ttl(self._h("maph_ttl"), k, len(k), ctypes.byref(ms)), "maph_ttl")
        return None if ms.value < 0 else ms.value

    def stats(self):
        """The counters of maph_stats_t as a dict."""
        s = _lib.Stats()
        _lib.check_status(_lib.stats(self._h("maph_stats"), ctypes.byref(s)), "maph_stats")
        return {name: getattr(s, name) for name, _ in _lib.Stats._fields_}

    def check(self):
        """Number of invariant violations (0: sound)."""
        n = ctypes.c_uint64()
        _lib.check_status(_lib.check(self._h("maph_check"), ctypes.byref(n)), "maph_check")
        return n.value

    # ---- writes ----

    def set(self, key, value, ttl_ms=None):
        """Sets ``key`` to ``value``; with ``ttl_ms`` (> 0) it expires."""
        k = _bytes(key, "key")
        v = _bytes(value, "value")
        db = self._h("maph_set")
        if ttl_ms is None:
            _lib.check_status(_lib.set_(db, k, len(k), v, len(v)), "maph_set")
        else:
            _lib.check_status(_lib.set_ex(db, k, len(k), v, len(v), ttl_ms), "maph_set_ex")

    __setitem__ = set

    def delete(self, key):
        """Deletes ``key``; raises maph.NotFound when absent."""
        k = _bytes(key, "key")
        _lib.check_status(_lib.delete(self._h("maph_del"), k, len(k)), "maph_del")

    __delitem__ = delete

    def add(self, key, value):
        """Inserts only if absent; raises maph.Exists otherwise."""
        k, v = _bytes(key, "key"), _bytes(value, "value")
        _lib.check_status(_lib.add(self._h("maph_add"), k, len(k), v, len(v)), "maph_add")

    def replace(self, key, value):
        """Sets only if present; raises maph.NotFound otherwise."""
        k, v = _bytes(key, "key"), _bytes(value, "value")
        _lib.check_status(_lib.replace(self._h("maph_replace"), k, len(k), v, len(v)),
                          "maph_replace")

    def cas(self, key, expected, value):
        """Compare-and-swap; raises maph.Conflict when the value differs."""
        k, e, v = _bytes(key, "key"), _bytes(expected, "expected"), _bytes(value, "value")
        _lib.check_status(_lib.cas(self._h("maph_cas"), k, len(k), e, len(e), v, len(v)),
                          "maph_cas")

    def incr(self, key, delta=1):
        """Adds ``delta`` to the 8-byte little-endian integer value (absent:
        0) and returns the result."""
        k = _bytes(key, "key")
        out = ctypes.c_int64()
        _lib.check_status(_lib.incr(self._h("maph_incr"), k, len(k), delta, ctypes.byref(out)),
                          "maph_incr")
        return out.value

    def expire(self, key, ttl_ms):
        """Sets the time to live of an existing key (0 removes it)."""
        k = _bytes(key, "key")
        _lib.check_status(_lib.expire(self._h("maph_expire"), k, len(k), ttl_ms), "maph_expire")

    def mset(self, items):
        """Sets many pairs at once (a dict or (key, value) pairs). Every pair
        is attempted; if any failed, raises the first failure's exception
        with ``failed``: a list of (index, key, exception)."""
        pairs = list(items.items() if hasattr(items, "items") else items)
        n = len(pairs)
        if n == 0:
            return
        ks = [_bytes(k, "key") for k, _ in pairs]
        vs = [_bytes(v, "value") for _, v in pairs]
        db = self._h("maph_mset")
        karr = (ctypes.c_void_p * n)(*[ctypes.cast(ctypes.c_char_p(k), ctypes.c_void_p) for k in ks])
        klen = (ctypes.c_size_t * n)(*[len(k) for k in ks])
        varr = (ctypes.c_void_p * n)(*[ctypes.cast(ctypes.c_char_p(v), ctypes.c_void_p) for v in vs])
        vlen = (ctypes.c_size_t * n)(*[len(v) for v in vs])
        sts = (ctypes.c_uint32 * n)()
        _lib.check_status(_lib.mset(db, n, karr, klen, varr, vlen, sts), "maph_mset")
        failed = []
        for i in range(n):
            if sts[i] != _lib.OK:
                try:
                    _lib.fail(sts[i], "maph_mset")
                except Exception as e:  # noqa: BLE001 - collected and re-raised below
                    failed.append((i, ks[i], e))
        if failed:
            first = failed[0][2]
            first.failed = failed
            raise first

    # ---- getting data out ----

    def items(self, part=0, nparts=1):
        """Every live ``(key, value)`` once, as bytes (``maph_iter_*``): a
        key present for the whole scan comes back exactly once, also while
        other processes write; keys written during it may or may not.
        ``part``/``nparts`` scan one of ``nparts`` disjoint shares."""
        db = self._h("maph_iter_open_part")
        it = ctypes.c_void_p()
        _lib.check_status(_lib.iter_open_part(db, part, nparts, ctypes.byref(it)),
                          "maph_iter_open_part")
        kl, vl = ctypes.c_size_t(0), ctypes.c_size_t(0)
        kcap, vcap = 256, 4096
        kb, vb = ctypes.create_string_buffer(kcap), ctypes.create_string_buffer(vcap)
        try:
            while True:
                # The cursor refers to the handle: stop if it was closed.
                self._h("maph_iter_next")
                s = _lib.iter_next(it, kb, kcap, ctypes.byref(kl), vb, vcap, ctypes.byref(vl))
                if s == _lib.OK:
                    yield kb.raw[: kl.value], vb.raw[: vl.value]
                elif s == _lib.NOT_FOUND:
                    return
                elif s == _lib.BUFFER_TOO_SMALL:
                    if kl.value > kcap:
                        kcap = kl.value
                        kb = ctypes.create_string_buffer(kcap)
                    if vl.value > vcap:
                        vcap = vl.value
                        vb = ctypes.create_string_buffer(vcap)
                else:
                    _lib.fail(s, "maph_iter_next")
        finally:
            _lib.iter_close(it)

    def keys(self):
        """Every live key once (see :meth:`items`)."""
        return (k for k, _ in self.items())

    def __iter__(self):
        return self.keys()

    def copy(self, path, compact=False, optimize=False):
        """Writes a consistent copy of this (live) store to a new file at
        ``path`` (``maph_copy``); ``compact`` makes the smallest store for
        its keys, ``optimize`` builds its MPHF."""
        flags = (_lib.COPY_COMPACT if compact else 0) | (_lib.COPY_OPTIMIZE if optimize else 0)
        _lib.check_status(_lib.copy(self._h("maph_copy"), _bytes(path, "path"), flags), "maph_copy")

    def flush_start(self, interval_ms=1000, every_n_writes=0):
        """Starts this handle's background flush thread (``maph_flush_start``)."""
        _lib.check_status(_lib.flush_start(self._h("maph_flush_start"), interval_ms,
                                           every_n_writes), "maph_flush_start")

    def flush_stop(self):
        """Stops it after a last flush (``maph_flush_stop``)."""
        _lib.check_status(_lib.flush_stop(self._h("maph_flush_stop")), "maph_flush_stop")

    def optimize(self):
        """Builds the minimal perfect hash over the keys present."""
        _lib.check_status(_lib.optimize(self._h("maph_optimize")), "maph_optimize")

    def recover(self):
        """Repairs writes of dead processes; returns how many."""
        n = ctypes.c_uint64()
        _lib.check_status(_lib.recover(self._h("maph_recover"), ctypes.byref(n)), "maph_recover")
        return n.value

    def flush_expired(self, max_count=0):
        n = ctypes.c_uint64()
        _lib.check_status(_lib.flush_expired(self._h("maph_flush_expired"), max_count,
                                             ctypes.byref(n)), "maph_flush_expired")
        return n.value

    def sync(self):
        _lib.check_status(_lib.sync(self._h("maph_sync")), "maph_sync")

    def prefault(self):
        _lib.check_status(_lib.prefault(self._h("maph_prefault")), "maph_prefault")
