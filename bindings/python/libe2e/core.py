"""The Python face of libe2e: errors, sizes, keys, sealing and opening.

Everything returns ``bytes``; topics are ``str`` (UTF-8) or ``bytes``, and
payloads to seal ``bytes`` or ``str`` (sealed as its UTF-8 bytes, as paho
publishes a ``str``). Every failure raises :class:`E2EError` (or its
subclass :class:`Rejected` for a message a receiver refuses) carrying the
library's error code, name, reason token and message; a file the library
could not read or write raises :class:`FileError`, which is also the
``OSError`` of its errno (``FileNotFoundError``, ``PermissionError``, ...).

Objects that hold library state (:class:`Keyring`, :class:`Signer`,
:class:`Trust`, :class:`Sender`, :class:`Guard`), and :class:`Receiver`, are
context managers: leaving
the ``with`` block, or calling ``close()``, frees them at once and wipes the
secrets they hold; otherwise they are freed when garbage-collected. A closed
object raises ``ValueError`` when used. Objects are not thread-safe (as in C):
use one per thread or a lock.
"""

from __future__ import annotations

import ctypes
import dataclasses
import enum
import operator
import os
import time
from typing import (Any, Callable, Dict, Iterable, Iterator, Literal,
                    Optional, Protocol, SupportsIndex, Tuple, Type, TypeVar,
                    Union)

from . import _native
from ._native import C, has_symbol

# ---------------------------------------------------------------------------
# Flag values of e2e.h (ABI constants: they never change meaning).
# ---------------------------------------------------------------------------

SEAL_RETAINED = 0x1
REQUIRE_ENCRYPTION = 0x1
REQUIRE_SIGNATURE = 0x2
DELIVERY_RETAINED = 0x1
GUARD_ACCEPT_NO_CLOCK = 0x1

# What the public API accepts (the aliases are for annotations only).
#: Bytes-like input: keys, envelopes, salts.
Buffer = Union[bytes, bytearray, memoryview]
#: A payload to seal: bytes-like, or a str sealed as its UTF-8 bytes.
Payload = Union[str, bytes, bytearray, memoryview]
#: A topic or filter: str (UTF-8, as MQTT) or its bytes.
Topic = Union[str, bytes, bytearray, memoryview]
#: A file name, as os.fsencode() takes it.
StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
#: Subscriptions: one filter, several, or None for none.
Filters = Union[str, bytes, Iterable[Union[str, bytes]], None]


def _text(p: Optional[bytes]) -> str:
    return p.decode("utf-8", "replace") if p is not None else ""


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------

def _error_table() -> Dict[int, str]:
    """{code: name} for every error the loaded library knows."""
    table = {}
    for code in range(0, -256, -1):
        name = _text(C.e2e_err_name(code))
        if name != "E2E_ERR_UNKNOWN":
            table[code] = name
    return table


#: Every error code of the loaded library, by name ("E2E_ERR_BAD_TAG": -22).
ERRORS: Dict[str, int] = {name: code for code, name in _error_table().items()}

# Module-level constants ERR_BAD_TAG = -22, ... from the library itself.
globals().update({name[len("E2E_"):]: code for name, code in ERRORS.items()})


class E2EError(Exception):
    """A libe2e error.

    Attributes: ``code`` (negative int, compare with the ``ERR_*`` constants),
    ``name`` ("E2E_ERR_BAD_TAG"), ``reason`` (the stable token, "bad-tag"),
    ``message`` (the library's sentence) and ``detail`` (extra context from
    the binding, may be empty). Key file loaders add ``bad_line`` (1-based,
    0 for the file as a whole) and ``path``.
    """

    code: int
    name: str
    reason: str
    message: str
    detail: str
    bad_line: int
    path: str

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.name = _text(C.e2e_err_name(code))
        self.reason = _text(C.e2e_reason(code))
        self.message = _text(C.e2e_strerror(code))
        self.detail = detail
        text = "%s: %s" % (self.reason, self.message)
        if detail:
            text += " (%s)" % detail
        super().__init__(text)


class Rejected(E2EError):
    """A receiver refused a message.

    Besides the :class:`E2EError` attributes: ``topic`` (str, as received:
    print it through :func:`escape`), ``raw_topic`` (the topic's bytes as
    received, which ``topic`` may not show exactly when they are not UTF-8)
    and ``info`` (the parsed header as :class:`Info` when parsing got that
    far, else None; for diagnostics only: nothing in it is authentic).
    """

    def __init__(self, code: int, topic: str, info: Optional[Info] = None,
                 raw_topic: Optional[bytes] = None, detail: str = "") -> None:
        super().__init__(code, detail)
        self.topic = topic
        self.info = info
        if raw_topic is None:
            raw_topic = topic.encode("utf-8", "surrogatepass")
        self.raw_topic = raw_topic


class FileError(E2EError, OSError):
    """E2E_ERR_IO: the library could not read or write a file.

    Both an :class:`E2EError` (``code`` is ``ERR_IO``, ``reason`` "io") and
    an ``OSError`` with the errno the library left (``errno``,
    ``strerror``, ``filename``). Each instance is of the subclass that
    matches its errno as Python's own OSError would be:
    :class:`E2EFileNotFoundError` (a ``FileNotFoundError``) for ENOENT,
    :class:`E2EPermissionError` (a ``PermissionError``) for EACCES and
    EPERM, and so on; other errnos give a plain FileError. So both
    ``except FileNotFoundError`` and ``except libe2e.E2EError`` catch a
    missing key file.
    """

    def __init__(self, code: int, err: int, path: str,
                 detail: str = "") -> None:
        why = os.strerror(err)
        E2EError.__init__(self, code, "%s: %s" % (detail or path, why))
        OSError.__init__(self, err, why, path)
        self.path = path
        self._given = detail

    def __str__(self) -> str:
        # E2EError's form (reason: message (path: strerror)), not OSError's.
        return "%s: %s (%s)" % (self.reason, self.message, self.detail)

    def __reduce__(self) -> Any:
        return (_file_error, (self.code, self.errno, self.path, self._given))


class E2EFileNotFoundError(FileError, FileNotFoundError):
    """A file the library needed does not exist (ENOENT)."""


class E2EPermissionError(FileError, PermissionError):
    """The library was refused access to a file (EACCES, EPERM)."""


class E2EFileExistsError(FileError, FileExistsError):
    """A file the library meant to create exists (EEXIST)."""


class E2EIsADirectoryError(FileError, IsADirectoryError):
    """A directory where the library needed a file (EISDIR)."""


class E2ENotADirectoryError(FileError, NotADirectoryError):
    """A path goes through something that is not a directory (ENOTDIR)."""


_FILE_ERRORS: Dict[Type[OSError], Type[FileError]] = {
    cls.__bases__[1]: cls for cls in (
        E2EFileNotFoundError, E2EPermissionError, E2EFileExistsError,
        E2EIsADirectoryError, E2ENotADirectoryError)}


def _file_error(code: int, err: int, path: str,
                detail: str = "") -> FileError:
    # OSError(err, ...) is the builtin subclass Python itself picks for err.
    builtin = type(OSError(err, os.strerror(err)))
    return _FILE_ERRORS.get(builtin, FileError)(code, err, path, detail)


def _error(rc: int, detail: str = "",
           path: Optional[StrPath] = None) -> E2EError:
    """The exception for a library error: a FileError for E2E_ERR_IO on a
    file (with the errno the library left), else an E2EError."""
    if rc == ERRORS["E2E_ERR_IO"] and path is not None:
        err = ctypes.get_errno()
        if err:
            return _file_error(rc, err, os.fsdecode(os.fspath(path)),
                               detail)
    return E2EError(rc, detail)


def _check(rc: int, detail: str = "", path: Optional[StrPath] = None) -> None:
    if rc != 0:
        raise _error(rc, detail, path)


def _topic(topic: Topic) -> bytes:
    """A topic as the NUL-terminated bytes the library takes."""
    if isinstance(topic, str):
        topic = topic.encode("utf-8")
    elif not isinstance(topic, (bytes, bytearray, memoryview)):
        raise TypeError("topic must be str or bytes, not %s"
                        % type(topic).__name__)
    topic = bytes(topic)
    if b"\0" in topic:
        # A C string cannot carry it, and MQTT forbids U+0000 in topics.
        raise E2EError(ERRORS["E2E_ERR_TOPIC"], "topic contains a NUL byte")
    return topic


def _int_in(value: SupportsIndex, lo: int, hi: int, what: str) -> int:
    """value as an int in lo..hi, else TypeError / ValueError. Every int
    that goes into a C field or argument passes here: ctypes would silently
    keep only its low bits (key id 2**32 + 5 becoming key id 5)."""
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError("%s must be an int, not %s"
                        % (what, type(value).__name__)) from None
    if not lo <= v <= hi:
        raise ValueError("%s must be in %d..%d, not %d" % (what, lo, hi, v))
    return v


def _u32(value: SupportsIndex, what: str) -> int:
    return _int_in(value, 0, (1 << 32) - 1, what)


def _u64(value: SupportsIndex, what: str) -> int:
    return _int_in(value, 0, (1 << 64) - 1, what)


def _usize(value: SupportsIndex, what: str) -> int:
    return _int_in(value, 0, (1 << 8 * ctypes.sizeof(ctypes.c_size_t)) - 1,
                   what)


def _i64(value: SupportsIndex, what: str) -> int:
    return _int_in(value, -(1 << 63), (1 << 63) - 1, what)


def _now(now: Optional[int]) -> int:
    """Unix seconds for the C side: None reads the clock."""
    return int(time.time()) if now is None else _u64(now, "now")


# What escape() writes as \\xHH: C0 controls, backslash, DEL, C1 controls,
# the line and paragraph separators and the bidirectional embeddings,
# overrides and isolates (U+202A..U+202E, U+2066..U+2069).
_ESCAPED = frozenset(
    list(range(0x20)) + [0x5C, 0x7F] + list(range(0x80, 0xA0))
    + [0x2028, 0x2029] + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A)))
_NAMED = {0x5C: "\\\\", 0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"}


def escape(text: Union[str, Buffer]) -> str:
    """A str safe to print on one line of a log or a terminal.

    text is a str or bytes (a topic or payload as received). The form is
    e2e-sub's (cli_put_safe, e2e-sub(1) OUTPUT): a backslash becomes
    \\\\, newline, carriage return and tab \\n \\r \\t, other C0
    controls, DEL and every byte that is not part of well-formed UTF-8
    \\xHH (two lowercase hex digits, one per byte), and the C1 controls,
    U+2028, U+2029, U+202A..U+202E and U+2066..U+2069 \\u{HHHH};
    everything else is kept. The backslash being escaped, the result is
    unambiguous and the original bytes can be recovered.
    """
    if isinstance(text, str):
        data = text.encode("utf-8", "surrogatepass")
    else:
        data = bytes(text)
    out: list[str] = []
    # surrogateescape maps each byte that is not well-formed UTF-8 (stray,
    # truncated, overlong, surrogate) to U+DC80..U+DCFF, one per byte.
    for ch in data.decode("utf-8", "surrogateescape"):
        cp = ord(ch)
        if 0xDC80 <= cp <= 0xDCFF:
            out.append("\\x%02x" % (cp - 0xDC00))
        elif cp in _NAMED:
            out.append(_NAMED[cp])
        elif cp in _ESCAPED:
            out.append("\\x%02x" % cp if cp < 0x80 else "\\u{%04x}" % cp)
        else:
            out.append(ch)
    return "".join(out)


def _bytes(data: object, what: str) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, (bytearray, memoryview)):
        return bytes(data)
    if isinstance(data, str):
        raise TypeError("%s must be bytes, not str (encode it first)" % what)
    raise TypeError("%s must be bytes, not %s" % (what, type(data).__name__))


def _payload(data: object) -> bytes:
    """A payload to seal: bytes-like, or a str as its UTF-8 bytes (what paho
    publishes for a str; a lone surrogate raises UnicodeEncodeError)."""
    if isinstance(data, str):
        return data.encode("utf-8")
    return _bytes(data, "payload")


def _fixed(data: object, size: int, what: str) -> bytes:
    data = _bytes(data, what)
    if len(data) != size:
        raise E2EError(ERRORS["E2E_ERR_INVAL"],
                       "%s must be %d bytes, not %d" % (what, size, len(data)))
    return data


def _path(path: StrPath) -> bytes:
    return os.fsencode(path)


def _wipe(buf: Any) -> None:
    ctypes.memset(buf, 0, ctypes.sizeof(buf))


# ---------------------------------------------------------------------------
# Sizes: always from the library's functions.
# ---------------------------------------------------------------------------

def keybytes() -> int:
    """Bytes of a shared key (either suite)."""
    return int(C.e2e_keybytes())


def header_bytes() -> int:
    """Bytes of the v1 header common to every suite (magic .. sequence)."""
    return int(C.e2e_header_bytes())


def tag_bytes() -> int:
    return int(C.e2e_tag_bytes())


def sig_bytes() -> int:
    return int(C.e2e_sig_bytes())


def sign_publickeybytes() -> int:
    return int(C.e2e_sign_publickeybytes())


def sign_secretkeybytes() -> int:
    return int(C.e2e_sign_secretkeybytes())


def sign_seedbytes() -> int:
    """Bytes of an Ed25519 seed: a secret key is seed || public key."""
    return int(C.e2e_sign_seedbytes())


def salt_bytes() -> int:
    """Bytes of the aead salt, right after the header."""
    return int(C.e2e_salt_bytes())


def topic_max() -> int:
    return int(C.e2e_topic_max())


def payload_max() -> int:
    return int(C.e2e_payload_max())


def overhead_max() -> int:
    """The largest overhead of any mode (signed aead)."""
    return int(C.e2e_overhead_max())


def overhead(suite: Union[Suite, int], signed: bool = False) -> int:
    """Bytes an envelope adds to a payload; 0 for an invalid combination."""
    return int(C.e2e_overhead(Suite(suite), 1 if signed else 0))


def sealed_len(suite: Union[Suite, int], signed: bool, n: int) -> int:
    """Envelope length for an n-byte payload; 0 when invalid or too large."""
    return int(C.e2e_sealed_len(Suite(suite), 1 if signed else 0,
                                _usize(n, "payload length")))


# ---------------------------------------------------------------------------
# Suites and key states
# ---------------------------------------------------------------------------

class Suite(enum.IntEnum):
    """Protection of an envelope (values of e2e.h's e2e_suite)."""

    AEAD = 0  #: XChaCha20-Poly1305, payload encrypted
    MAC = 1   #: HMAC-SHA-256/128, payload in clear
    NONE = 2  #: no shared key: Ed25519 signature only

    def __str__(self) -> str:
        return _text(C.e2e_suite_name(self.value))

    @classmethod
    def parse(cls, text: str) -> Suite:
        """Suite from "aead", "mac" or "none"."""
        out = _native.c_enum()
        _check(C.e2e_suite_parse(text.encode(), ctypes.byref(out)),
               "suite %r" % text)
        return cls(out.value)


class KeyState(enum.IntEnum):
    """State of a key in a keyring (values of e2e.h's e2e_key_state)."""

    DISABLED = 0  #: kept only to report "disabled-key"
    ENABLED = 1   #: accepted when opening
    PRIMARY = 2   #: accepted, and used to seal; at most one

    def __str__(self) -> str:
        return _text(C.e2e_key_state_name(self.value))

    @classmethod
    def parse(cls, text: str) -> KeyState:
        """State from "disabled", "enabled" or "primary"."""
        out = _native.c_enum()
        _check(C.e2e_key_state_parse(text.encode(), ctypes.byref(out)),
               "key state %r" % text)
        return cls(out.value)


@dataclasses.dataclass(frozen=True)
class KeyInfo:
    """What may be said of a key without revealing it."""

    id: int
    suite: Suite
    state: KeyState
    created: int  #: Unix seconds

    @classmethod
    def _from(cls, s: Any) -> KeyInfo:
        return cls(s.id, Suite(s.suite), KeyState(s.state), s.created)


# ---------------------------------------------------------------------------
# Owned handles
# ---------------------------------------------------------------------------

_H = TypeVar("_H", bound="_Closable")


class _Closable:
    """A context manager that calls close() on leaving the with block."""

    def close(self) -> None:
        raise NotImplementedError

    def _refuse_closed(self) -> None:
        raise NotImplementedError

    def __enter__(self: _H) -> _H:
        self._refuse_closed()  # refuse to enter a closed object
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.close()
        return False


class _Handle(_Closable):
    """An owned pointer to a library object, freed once."""

    _free = ""  # name of the C function that frees it

    def __init__(self) -> None:
        self._p: Optional[int] = None

    def _adopt(self, ptr: ctypes.c_void_p) -> None:
        self._p = ptr.value

    @property
    def _ptr(self) -> int:
        if self._p is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._p

    def _refuse_closed(self) -> None:
        self._ptr

    @property
    def closed(self) -> bool:
        return self._p is None

    def close(self) -> None:
        """Free the object now (wiping its secrets). Idempotent."""
        p, self._p = self._p, None
        if p is not None:
            getattr(C, self._free)(p)

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing left to do
            pass


def _new(fn: Callable[..., int], *args: Any) -> ctypes.c_void_p:
    ptr = ctypes.c_void_p()
    _check(fn(ctypes.byref(ptr), *args))
    return ptr


# ---------------------------------------------------------------------------
# Keyring
# ---------------------------------------------------------------------------

def _created(created: Optional[int]) -> int:
    return int(time.time()) if created is None else _i64(created, "created")


class Keyring(_Handle):
    """Shared keys, each with an id, a suite, a state and a creation time.

    The key bytes live in the library's guarded memory and never come back
    to Python. ``len(kr)``, ``for info in kr`` (KeyInfo in increasing id
    order) and ``key_id in kr`` work as expected.
    """

    _free = "e2e_keyring_free"

    def __init__(self) -> None:
        super().__init__()
        self._adopt(_new(C.e2e_keyring_new))

    @classmethod
    def load(cls, path: StrPath) -> Keyring:
        """Load a keyring file (exactly one primary key)."""
        from . import keyfiles
        return keyfiles._keyring_load(cls, path)

    def save(self, path: StrPath, exclusive: bool = False) -> None:
        """Write the keyring to path (mode 0600, atomically)."""
        from . import keyfiles
        keyfiles._keyring_save(self, path, exclusive)

    def add(self, key_id: int, key: Buffer,
            suite: Union[Suite, int] = Suite.AEAD,
            state: Union[KeyState, int] = KeyState.ENABLED,
            created: Optional[int] = None) -> None:
        """Add a known key (bytes of keybytes()). Adding a primary demotes
        the previous primary to enabled."""
        key = _fixed(key, keybytes(), "key")
        key_id = _u32(key_id, "key id")
        info = _native.KeyInfoStruct(key_id, Suite(suite), KeyState(state),
                                     _created(created))
        _check(C.e2e_keyring_add(self._ptr, ctypes.byref(info), key),
               "key id %d" % key_id)

    def generate(self, suite: Union[Suite, int] = Suite.AEAD,
                 state: Union[KeyState, int] = KeyState.PRIMARY,
                 created: Optional[int] = None) -> int:
        """Add a fresh random key under a fresh random id; return the id."""
        out = ctypes.c_uint32()
        _check(C.e2e_keyring_generate(
            self._ptr, Suite(suite), KeyState(state), _created(created),
            ctypes.byref(out)))
        return out.value

    def rotate(self, suite: Union[Suite, int, None] = None) -> int:
        """Add a new primary key (same suite as the current primary unless
        given) and return its id; the old primary stays enabled."""
        if suite is None:
            primary = self.primary
            suite = primary.suite if primary is not None else Suite.AEAD
        return self.generate(suite, KeyState.PRIMARY)

    def set_state(self, key_id: int, state: Union[KeyState, int]) -> None:
        key_id = _u32(key_id, "key id")
        _check(C.e2e_keyring_set_state(self._ptr, key_id, KeyState(state)),
               "key id %d" % key_id)

    def promote(self, key_id: int) -> None:
        """Make key_id the primary (the old primary becomes enabled)."""
        self.set_state(key_id, KeyState.PRIMARY)

    def enable(self, key_id: int) -> None:
        self.set_state(key_id, KeyState.ENABLED)

    def disable(self, key_id: int) -> None:
        """Keep the key only to report "disabled-key"; not the primary."""
        self.set_state(key_id, KeyState.DISABLED)

    def remove(self, key_id: int) -> None:
        """Delete a key (not the primary)."""
        key_id = _u32(key_id, "key id")
        _check(C.e2e_keyring_remove(self._ptr, key_id), "key id %d" % key_id)

    def find(self, key_id: int) -> KeyInfo:
        """KeyInfo of key_id; E2EError (ERR_NOT_FOUND) when absent."""
        key_id = _u32(key_id, "key id")
        out = _native.KeyInfoStruct()
        _check(C.e2e_keyring_find(self._ptr, key_id, ctypes.byref(out)),
               "key id %d" % key_id)
        return KeyInfo._from(out)

    @property
    def primary(self) -> Optional[KeyInfo]:
        """KeyInfo of the primary key, or None when there is none."""
        out = _native.KeyInfoStruct()
        rc = C.e2e_keyring_primary(self._ptr, ctypes.byref(out))
        if rc == ERRORS["E2E_ERR_NO_KEY"]:
            return None
        _check(rc)
        return KeyInfo._from(out)

    # Schedules and per-topic keys (docs/KEYDIST.md): code in keydist.py.

    def schedule(self, key_id: int, activates: int = 0,
                 disables: int = 0) -> None:
        """Set key_id's activation (becomes primary) and disable times, Unix
        seconds, 0 for none."""
        from . import keydist
        keydist._keyring_schedule(self, key_id, activates, disables)

    def get_schedule(self, key_id: int) -> Tuple[int, int]:
        """(activates, disables) of key_id."""
        from . import keydist
        return keydist._keyring_get_schedule(self, key_id)

    def state_at(self, key_id: int, now: Optional[int] = None) -> KeyState:
        """The KeyState of key_id at time now (None: the clock)."""
        from . import keydist
        return keydist._keyring_state_at(self, key_id, now)

    def primary_at(self, now: Optional[int] = None) -> Optional[KeyInfo]:
        """KeyInfo of the primary (of the keys without filters) at time now,
        or None."""
        from . import keydist
        return keydist._keyring_primary_at(self, now)

    def advance(self, now: Optional[int] = None) -> None:
        """Store the states at time now and forget the times that passed."""
        from . import keydist
        keydist._keyring_advance(self, now)

    def set_filters(self, key_id: int,
                    filters: Union[str, Iterable[str]]) -> None:
        """Limit key_id to topic filters (a str or a sequence of str; empty:
        none)."""
        from . import keydist
        keydist._keyring_set_filters(self, key_id, filters)

    def filters(self, key_id: int) -> Tuple[str, ...]:
        """The topic filters of key_id (a tuple of str, empty for none)."""
        from . import keydist
        return keydist._keyring_filters(self, key_id)

    def __len__(self) -> int:
        return int(C.e2e_keyring_count(self._ptr))

    def __iter__(self) -> Iterator[KeyInfo]:
        out = _native.KeyInfoStruct()
        for i in range(len(self)):
            _check(C.e2e_keyring_get(self._ptr, i, ctypes.byref(out)))
            yield KeyInfo._from(out)

    def __contains__(self, key_id: object) -> bool:
        try:
            key_id = _u32(key_id, "key id")  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False  # no such id can be in a keyring
        out = _native.KeyInfoStruct()
        return int(C.e2e_keyring_find(self._ptr, key_id,
                                      ctypes.byref(out))) == 0


# ---------------------------------------------------------------------------
# Signers and trust
# ---------------------------------------------------------------------------

def signer_id_from_public(public_key: Buffer) -> int:
    """The signer id (int) of an Ed25519 public key."""
    pk = _fixed(public_key, sign_publickeybytes(), "public key")
    return int(C.e2e_signer_id_from_public(pk))


class Signer(_Handle):
    """An Ed25519 signing key (secret in the library's guarded memory).

    Create with :meth:`generate`, :meth:`from_seed` or :meth:`from_secret`.
    """

    _free = "e2e_signer_free"

    def __init__(self, _ptr: Optional[ctypes.c_void_p] = None) -> None:
        super().__init__()
        if _ptr is None:
            _ptr = _new(C.e2e_signer_generate)
        self._adopt(_ptr)

    @classmethod
    def generate(cls) -> Signer:
        return cls()

    @classmethod
    def load(cls, path: StrPath,
             passphrase: Union[str, bytes, None] = None) -> Signer:
        """Load a signer secret key file; the passphrase is ignored for an
        unencrypted file. Wrong or missing passphrase: ERR_PASSPHRASE."""
        from . import keyfiles
        return keyfiles._signer_load(cls, path, passphrase)

    def save(self, path: StrPath, passphrase: Union[str, bytes, None] = None,
             *, opslimit: int = 0, memlimit: int = 0,
             exclusive: bool = False) -> None:
        """Write the secret key to path (mode 0600). passphrase None stores
        the seed unencrypted (as ``e2e-keygen --no-passphrase``); opslimit
        and memlimit 0 pick the library's Argon2id defaults."""
        from . import keyfiles
        keyfiles._signer_save(self, path, passphrase, opslimit=opslimit,
                              memlimit=memlimit, exclusive=exclusive)

    @staticmethod
    def inspect(path: StrPath) -> Tuple[bytes, bool]:
        """(public_key, is_encrypted) of a signer secret key file, without
        the passphrase."""
        from . import keyfiles
        return keyfiles._signer_inspect(path)

    def save_public(self, path: StrPath, exclusive: bool = False) -> None:
        """Write this signer's public key file (mode 0644)."""
        from . import keyfiles
        keyfiles.save_public_key(self.public_key, path, exclusive)

    @classmethod
    def from_seed(cls, seed: Buffer) -> Signer:
        seed = _fixed(seed, sign_seedbytes(), "seed")
        return cls(_new(C.e2e_signer_from_seed, seed))

    @classmethod
    def from_secret(cls, secret_key: Buffer) -> Signer:
        """From libsodium's 64-byte secret key (seed || public key)."""
        sk = _fixed(secret_key, sign_secretkeybytes(), "secret key")
        return cls(_new(C.e2e_signer_from_secret, sk))

    @property
    def public_key(self) -> bytes:
        out = ctypes.create_string_buffer(sign_publickeybytes())
        C.e2e_signer_public(self._ptr, out)
        return out.raw

    @property
    def id(self) -> int:
        """The signer id: it is the sender id of every envelope it signs."""
        return int(C.e2e_signer_id(self._ptr))


@dataclasses.dataclass(frozen=True)
class TrustEntry:
    public_key: bytes
    filters: Tuple[str, ...]  #: topic filters the signer may publish on

    @property
    def signer_id(self) -> int:
        return signer_id_from_public(self.public_key)


def _filters(filters: Union[str, bytes, Iterable[str]]) -> bytes:
    if isinstance(filters, (str, bytes)):
        return filters.encode() if isinstance(filters, str) else filters
    return ",".join(filters).encode()


class Trust(_Handle):
    """The signers a receiver accepts, each on some MQTT topic filters."""

    _free = "e2e_trust_free"

    def __init__(self) -> None:
        super().__init__()
        self._adopt(_new(C.e2e_trust_new))

    @classmethod
    def load(cls, path: StrPath) -> Trust:
        """Load a trust file (signers and their topic filters)."""
        from . import keyfiles
        return keyfiles._trust_load(cls, path)

    def save(self, path: StrPath, exclusive: bool = False) -> None:
        from . import keyfiles
        keyfiles._trust_save(self, path, exclusive)

    def add(self, public_key: Buffer,
            filters: Union[str, bytes, Iterable[str]]) -> None:
        """Trust public_key (bytes) on filters: "a/+/b,c/#" or a list."""
        pk = _fixed(public_key, sign_publickeybytes(), "public key")
        f = _filters(filters)
        _check(C.e2e_trust_add(self._ptr, pk, f),
               "filters %r" % f.decode("utf-8", "replace"))

    def __len__(self) -> int:
        return int(C.e2e_trust_count(self._ptr))

    def __iter__(self) -> Iterator[TrustEntry]:
        pk = ctypes.create_string_buffer(sign_publickeybytes())
        filters = ctypes.c_char_p()
        for i in range(len(self)):
            _check(C.e2e_trust_get(self._ptr, i, pk, ctypes.byref(filters)))
            text = _text(filters.value)
            yield TrustEntry(pk.raw, tuple(text.split(",")) if text else ())


def topic_matches(topic_filter: Topic, topic: Topic) -> bool:
    """True when the topic name matches the filter under MQTT rules."""
    return int(C.e2e_topic_matches(_topic(topic_filter), _topic(topic))) == 1


def subscription_matches(subscription: Topic, topic: Topic) -> bool:
    """True when a message on topic can be a delivery for the subscription
    (a filter as given to SUBSCRIBE; "$share/GROUP/FILTER" is matched by
    FILTER). A malformed subscription, or a NUL byte in either, matches
    nothing."""
    try:
        sub, t = _topic(subscription), _topic(topic)
    except E2EError:
        return False
    return int(C.e2e_subscription_matches(sub, t)) == 1


class _Subscriptions:
    """Subscription filters as given, and the C array e2e_open reads (kept
    alive here for as long as the object lives)."""

    def __init__(self, filters: Filters) -> None:
        if filters is None:
            filters = ()
        elif isinstance(filters, (str, bytes)):
            filters = (filters,)
        filters = tuple(filters)
        encoded: list[bytes] = []
        for f in filters:
            try:
                encoded.append(_topic(f))
            except E2EError:
                raise ValueError("subscription %r contains a NUL byte"
                                 % (f,)) from None
        self.filters: Tuple[Union[str, bytes], ...] = filters
        self.count = len(encoded)
        self.array: Any = (ctypes.c_char_p * self.count)(*encoded) \
            if encoded else None

    def set(self, r: Any) -> None:
        """Point an e2e_receiver at the array."""
        if self.array is not None:
            r.filters = ctypes.cast(self.array,
                                    ctypes.POINTER(ctypes.c_char_p))
        r.filter_count = self.count


def filter_check(topic_filter: Topic) -> None:
    """Raise E2EError unless topic_filter is a valid MQTT filter."""
    _check(C.e2e_filter_check(_topic(topic_filter)),
           "filter %r" % (topic_filter,))


# ---------------------------------------------------------------------------
# Envelope header
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Info:
    """What an envelope's header says (authentic only once opened)."""

    suite: Suite
    signed: bool
    retained: bool  #: retained intent, from the header
    key_id: int
    sender_id: int  #: the signer id when signed
    seq: int
    timestamp: int  #: Unix seconds, 0 when the sender has no clock
    payload_len: int

    @property
    def epoch(self) -> int:
        return self.seq >> 32

    @property
    def counter(self) -> int:
        return self.seq & 0xFFFFFFFF

    @classmethod
    def _from(cls, s: Any) -> Info:
        return cls(Suite(s.suite), bool(s.is_signed), bool(s.retained),
                   s.key_id, s.sender_id, s.seq, s.timestamp, s.payload_len)

    def _struct(self) -> Any:
        return _native.InfoStruct(
            Suite(self.suite), int(bool(self.signed)),
            int(bool(self.retained)),
            _u32(self.key_id, "key id"), _u64(self.sender_id, "sender id"),
            _u64(self.seq, "seq"), _u32(self.timestamp, "timestamp"),
            _usize(self.payload_len, "payload length"))


def _check_info_layout() -> None:
    if has_symbol("e2e_info_sizeof"):
        want = C.e2e_info_sizeof()
        have = ctypes.sizeof(_native.InfoStruct)
        if want != have:
            raise ImportError(
                "libe2e: e2e_info is %d bytes in %s but %d in the binding: "
                "binding and library do not match" % (want,
                                                      _native.library_path,
                                                      have))


def parse(envelope: Buffer) -> Info:
    """Check an envelope's structure and return its header as Info.

    Nothing is verified; raises E2EError (not-e2e, malformed)."""
    env = _bytes(envelope, "envelope")
    out = _native.InfoStruct()
    _check(C.e2e_parse(env, len(env), ctypes.byref(out)))
    return Info._from(out)


# ---------------------------------------------------------------------------
# Sealing
# ---------------------------------------------------------------------------

def seal_explicit(topic: Topic, payload: Payload, *,
                  suite: Union[Suite, int], sender_id: int, seq: int,
                  key: Optional[Buffer] = None, key_id: int = 0,
                  signer: Optional[Signer] = None, timestamp: int = 0,
                  retained: bool = False,
                  salt: Optional[Buffer] = None) -> bytes:
    """Seal with every input given, the salt included (test vectors,
    other implementations). Applications use :class:`Sender`. A str
    payload is sealed as its UTF-8 bytes."""
    t = _topic(topic)
    msg = _payload(payload)
    suite = Suite(suite)
    p = _native.SealParamsStruct()
    p.suite = suite
    p.key_id = _u32(key_id, "key id")
    p.sender_id = _u64(sender_id, "sender id")
    p.seq = _u64(seq, "seq")
    p.timestamp = _u32(timestamp, "timestamp")
    p.flags = SEAL_RETAINED if retained else 0
    keep = []  # keep the buffers alive during the call
    if key is not None:
        kb = _fixed(key, keybytes(), "key")
        kbuf = ctypes.create_string_buffer(kb, len(kb))
        keep.append(kbuf)
        p.key = ctypes.cast(kbuf, ctypes.c_void_p)
    if salt is not None:
        sb = _bytes(salt, "salt")
        if len(sb) < salt_bytes():
            raise E2EError(ERRORS["E2E_ERR_INVAL"],
                           "salt must be %d bytes" % salt_bytes())
        sbuf = ctypes.create_string_buffer(sb, len(sb))
        keep.append(sbuf)
        p.salt = ctypes.cast(sbuf, ctypes.c_void_p)
    if signer is not None:
        p.signer = signer._ptr
    cap = sealed_len(suite, signer is not None, len(msg))
    if cap == 0:
        cap = len(msg) + overhead_max()
    out = ctypes.create_string_buffer(cap)
    n = ctypes.c_size_t()
    try:
        _check(C.e2e_seal_explicit(ctypes.byref(p), t, msg, len(msg), out,
                                   cap, ctypes.byref(n)))
        return out.raw[:n.value]
    finally:
        for b in keep:
            _wipe(b)


def _state_detail(rc: int, path: StrPath, holder: int) -> str:
    """What E2EError says about a state file e2e_epoch_reserve refused."""
    if rc == ERRORS["E2E_ERR_LOCKED"] and holder > 0:
        return "%s is in use by PID %d" % (os.fsdecode(path), holder)
    return os.fsdecode(path)


class Sender(_Handle):
    """One publisher: its sender id, sequence numbers and salts.

    ``keyring`` supplies the primary key to seal with (None: signature only,
    which needs a signer); ``signer`` signs every message and makes the
    sender id its signer id. A publisher's sequence numbers MUST grow at
    each start: ``epoch`` 0 starts at the clock (in units of 2^-32 s, never
    repeated by a later start while the clock does not go back), another
    value at that epoch's counter 0; ``state`` (a path) keeps them in an
    epoch file (e2e_epoch_reserve, as e2e-pub --state), locked until
    close(): a second Sender on the same file raises E2EError
    ``ERR_LOCKED`` naming the holder's PID. ``no_clock`` writes timestamp 0.
    """

    _free = "e2e_sender_free"

    def __init__(self, keyring: Optional[Keyring] = None,
                 signer: Optional[Signer] = None, *, sender_id: int = 0,
                 epoch: int = 0, no_clock: bool = False,
                 state: Optional[StrPath] = None) -> None:
        super().__init__()
        self.keyring = keyring
        self.signer = signer
        self._epoch: Optional[int] = None
        first = ctypes.c_uint64(0)
        if state is not None:
            lock, holder = ctypes.c_void_p(), ctypes.c_long(0)
            rc = C.e2e_epoch_reserve(ctypes.byref(lock), os.fsencode(state),
                                     ctypes.byref(first),
                                     ctypes.byref(holder))
            if rc != 0:
                raise _error(rc, _state_detail(rc, state, holder.value),
                             state)
            self._epoch = lock.value
            epoch = first.value >> 32
        opts = _native.SenderOptsStruct(
            _u64(sender_id, "sender id"), _u32(epoch, "epoch"),
            signer._ptr if signer is not None else None,
            1 if no_clock else 0)
        try:
            self._adopt(_new(C.e2e_sender_new, ctypes.byref(opts)))
        except BaseException:
            self._release()
            raise
        C.e2e_sender_advance(self._ptr, first.value)

    def _release(self) -> None:
        lock, self._epoch = self._epoch, None
        if lock is not None:
            used = C.e2e_sender_next_seq(self._p) if self._p else 0
            C.e2e_epoch_release(lock, used)

    def close(self) -> None:
        """Record the state file (if any), unlock it, free the sender."""
        self._release()
        super().close()

    @property
    def id(self) -> int:
        return int(C.e2e_sender_id(self._ptr))

    @property
    def next_seq(self) -> int:
        """The sequence number the next seal will use."""
        return int(C.e2e_sender_next_seq(self._ptr))

    def seal(self, topic: Topic, payload: Payload,
             retained: bool = False) -> bytes:
        """Seal payload for topic; return the envelope (bytes).

        payload is bytes-like, or a str sealed as its UTF-8 bytes (as paho
        publishes a str). Set retained exactly when publishing with the
        MQTT retain flag."""
        t = _topic(topic)
        msg = _payload(payload)
        # The C sender keeps the signer pointer it was given: refuse to use
        # it once the Python Signer was closed.
        if self.signer is not None:
            self.signer._ptr
        kr = self.keyring._ptr if self.keyring is not None else None
        if self._epoch is not None:
            _check(C.e2e_epoch_renew(self._epoch,
                                     C.e2e_sender_next_seq(self._ptr)),
                   "extending the state file")
        cap = len(msg) + overhead_max()
        out = ctypes.create_string_buffer(cap)
        n = ctypes.c_size_t()
        _check(C.e2e_seal(self._ptr, kr, t, msg, len(msg),
                          SEAL_RETAINED if retained else 0, out, cap,
                          ctypes.byref(n)))
        return out.raw[:n.value]


# ---------------------------------------------------------------------------
# Replay guard
# ---------------------------------------------------------------------------

class Guard(_Handle):
    """Replay and freshness state of a receiver.

    Keyword options override the library's defaults (e2e_guard_opts_default):
    window (multiple of 64), max_senders, max_retained_topics, max_age
    (seconds, 0: no limit), max_skew (seconds), max_retained_age (seconds a
    retained delivery may be old, 0: no limit), accept_no_clock (trust on
    first use for senders without a clock).
    """

    _free = "e2e_guard_free"

    def __init__(self, *, window: Optional[int] = None,
                 max_senders: Optional[int] = None,
                 max_retained_topics: Optional[int] = None,
                 max_age: Optional[int] = None,
                 max_skew: Optional[int] = None,
                 accept_no_clock: bool = False,
                 max_retained_age: Optional[int] = None) -> None:
        super().__init__()
        o = self.make_options(
            window=window, max_senders=max_senders,
            max_retained_topics=max_retained_topics, max_age=max_age,
            max_skew=max_skew, accept_no_clock=accept_no_clock,
            max_retained_age=max_retained_age)
        self.options = {name: getattr(o, name) for name, _ in o._fields_}
        self._adopt(_new(C.e2e_guard_new, ctypes.byref(o)))

    @classmethod
    def make_options(cls, *, window: Optional[int] = None,
                     max_senders: Optional[int] = None,
                     max_retained_topics: Optional[int] = None,
                     max_age: Optional[int] = None,
                     max_skew: Optional[int] = None,
                     accept_no_clock: bool = False,
                     max_retained_age: Optional[int] = None) -> Any:
        """The e2e_guard_opts struct for these options (None: default);
        libe2e.redis.SharedGuard takes the same ones."""
        o = cls.default_options()
        for name, value in (("window", window), ("max_senders", max_senders),
                            ("max_retained_topics", max_retained_topics),
                            ("max_age", max_age), ("max_skew", max_skew),
                            ("max_retained_age", max_retained_age)):
            if value is not None:
                setattr(o, name, _u32(value, name))
        if accept_no_clock:
            o.flags |= GUARD_ACCEPT_NO_CLOCK
        return o

    @staticmethod
    def default_options() -> Any:
        o = _native.GuardOptsStruct()
        C.e2e_guard_opts_default(ctypes.byref(o))
        return o

    def check(self, info: Info, topic: Topic, retained: bool = False,
              now: Optional[int] = None) -> None:
        """Replay pre-check and time window for a parsed header, without
        changing state; raises Rejected (replay, too-old, ...)."""
        s = info._struct()
        rc = C.e2e_guard_check(self._ptr, ctypes.byref(s), _topic(topic),
                               DELIVERY_RETAINED if retained else 0,
                               _now(now))
        if rc != 0:
            raise Rejected(rc, topic if isinstance(topic, str) else
                           bytes(topic).decode("utf-8", "replace"), info)

    def commit(self, info: Info, topic: Topic, retained: bool = False,
               now: Optional[int] = None) -> None:
        """Record an accepted message (after check() and verification)."""
        s = info._struct()
        C.e2e_guard_commit(self._ptr, ctypes.byref(s), _topic(topic),
                           DELIVERY_RETAINED if retained else 0, _now(now))

    @property
    def sender_count(self) -> int:
        return int(C.e2e_guard_sender_count(self._ptr))

    @property
    def bytes_per_sender(self) -> int:
        return int(C.e2e_guard_bytes_per_sender(self._ptr))

    def save(self, path: StrPath) -> None:
        """Save the state atomically (mode 0600)."""
        _check(C.e2e_guard_save(self._ptr, _path(path)),
               os.fsdecode(path), path)

    def load(self, path: StrPath) -> None:
        """Replace the state with the file's. On a corrupt file the error
        has ``bad_line`` (1-based, 0: the whole file) and the guard is
        unchanged."""
        bad = ctypes.c_size_t()
        rc = C.e2e_guard_load(self._ptr, _path(path), ctypes.byref(bad))
        if rc != 0:
            where = os.fsdecode(path)
            err = _error(rc, "%s line %d" % (where, bad.value)
                         if bad.value else where, path)
            err.bad_line = bad.value
            raise err


# ---------------------------------------------------------------------------
# Receiving
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Message:
    """A verified message."""

    topic: str
    payload: bytes
    info: Info
    retained: bool  #: delivered by the broker as retained


class SharedGuardLike(Protocol):
    """A replay guard kept outside this process (libe2e.redis.SharedGuard):
    a Receiver hands it each message e2e_open verified, with its clock."""

    def _check_commit(self, info_struct: Any, topic_bytes: bytes,
                      retained: bool, now: int) -> int: ...


class Receiver(_Closable):
    """What a subscriber decides with: keys, trusted signers, replay guard
    and requirements. Signature and encryption requirements are the
    receiver's decision, never the sender's.

    A context manager like the objects it holds: leaving the ``with``
    block, or ``close()``, lets go of the keyring, trust set and guard,
    and a closed Receiver raises ``ValueError`` when used. It does not
    close them: they belong to the caller, who may share them with a
    :class:`Sender` or another Receiver (close each with its own
    ``with``).

    keyring None: only signature-only messages can be accepted; trust None:
    no signed message is accepted; guard None: no replay or freshness check
    at all (only for tests and one-shot tools). guard may also be a
    libe2e.redis.SharedGuard: the replay state of a consumer group, kept in
    Redis and checked after verification (docs/GROUPS.md).

    filters: the subscriptions made (filters as given to SUBSCRIBE,
    "$share/GROUP/" prefixes included). When there are any, a topic that
    matches none of them is refused as "not-subscribed" before anything
    else: a broker can deliver a genuine envelope sealed for a topic nobody
    subscribed to, and it verifies, being authentic for that topic.
    """

    def __init__(self, keyring: Optional[Keyring] = None,
                 trust: Optional[Trust] = None,
                 guard: Union[Guard, SharedGuardLike, None] = None, *,
                 require_encryption: bool = False,
                 require_signature: bool = False,
                 filters: Filters = None) -> None:
        self.keyring = keyring
        self.trust = trust
        self.guard = guard
        self.require_encryption = require_encryption
        self.require_signature = require_signature
        self.filters = filters  # type: ignore[assignment]
        self._closed = False

    @property
    def filters(self) -> Tuple[Union[str, bytes], ...]:
        """The subscriptions checked (a tuple; empty: no check)."""
        return self._subs.filters

    @filters.setter
    def filters(self, filters: Filters) -> None:
        self._subs = _Subscriptions(filters)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Let go of the keyring, trust set and guard (without closing
        them); open() then raises ValueError. Idempotent."""
        self._closed = True
        self.keyring = self.trust = self.guard = None

    def _refuse_closed(self) -> None:
        if self._closed:
            raise ValueError("Receiver is closed")

    def _struct(self, now: Optional[int]) -> Any:
        r = _native.ReceiverStruct()
        r.keyring = self.keyring._ptr if self.keyring is not None else None
        r.trust = self.trust._ptr if self.trust is not None else None
        shared = self.guard is not None and not isinstance(self.guard, Guard)
        r.guard = self.guard._ptr if isinstance(self.guard, Guard) else None
        r.require = ((REQUIRE_ENCRYPTION if self.require_encryption else 0)
                     | (REQUIRE_SIGNATURE if self.require_signature else 0))
        # A shared guard judges with the same clock as e2e_open.
        r.now = _now(now) if shared else 0 if now is None else _u64(
            now, "now")
        return r

    def open(self, topic: Topic, envelope: Buffer, retained: bool = False,
             now: Optional[int] = None,
             filters: Union[Filters, _Subscriptions] = None) -> Message:
        """Verify an envelope received on topic and return the Message.

        retained: the broker delivered it with the retain flag. now: Unix
        seconds (None: the system clock). filters: subscriptions to check
        instead of the receiver's own (None: the receiver's). Raises
        Rejected with the reason; a topic with a NUL byte (which no C
        string and no MQTT topic can hold) is "bad-topic".
        """
        self._refuse_closed()
        try:
            t = _topic(topic)
        except E2EError as err:  # a NUL byte
            raw = topic.encode("utf-8") if isinstance(topic, str) \
                else bytes(topic)
            raise Rejected(err.code, raw.decode("utf-8", "replace"), None,
                           raw, err.detail) from None
        env = _bytes(envelope, "envelope")
        subs = self._subs if filters is None else (
            filters if isinstance(filters, _Subscriptions)
            else _Subscriptions(filters))
        r = self._struct(now)
        subs.set(r)  # subs holds the array until e2e_open returns
        out = ctypes.create_string_buffer(max(len(env), 1))
        n = ctypes.c_size_t()
        info = _native.InfoStruct()
        rc = C.e2e_open(ctypes.byref(r), t, env, len(env),
                        DELIVERY_RETAINED if retained else 0, out,
                        ctypes.sizeof(out), ctypes.byref(n),
                        ctypes.byref(info))
        if rc == 0 and self.guard is not None and \
                not isinstance(self.guard, Guard):
            rc = self.guard._check_commit(info, t, retained, r.now)
        topic_text = topic if isinstance(topic, str) else t.decode(
            "utf-8", "replace")
        try:
            if rc != 0:
                parsed = None
                # The header is filled in only when parsing succeeded.
                if C.e2e_parse(env, len(env), ctypes.byref(
                        _native.InfoStruct())) == 0:
                    parsed = Info._from(info)
                raise Rejected(rc, topic_text, parsed, t)
            return Message(topic_text, out.raw[:n.value], Info._from(info),
                           bool(retained))
        finally:
            _wipe(out)


# ---------------------------------------------------------------------------
# Import-time checks
# ---------------------------------------------------------------------------

def _init() -> None:
    if has_symbol("e2e_init"):
        rc = C.e2e_init()
        if rc != 0:
            raise ImportError("libe2e: e2e_init failed: %s"
                              % _text(C.e2e_strerror(rc)))
    _check_info_layout()


_init()
