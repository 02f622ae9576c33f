"""The replay guard of a consumer group, shared through Redis.

A binding (ctypes) over libe2e-redis (``e2e_redis.h``; docs/GROUPS.md): the
members of an MQTT shared subscription check and commit every message
against one replay state in Redis, atomically, so that the group accepts
each envelope once. C and Python members can share a group::

    import libe2e
    from libe2e.redis import SharedGuard

    guard = SharedGuard("redis://127.0.0.1:6379/plant1",
                        password_file="/etc/e2e/redis.pw")
    rx = libe2e.Receiver(kr, guard=guard)
    msg = rx.open(topic, envelope)   # Rejected("store-unavailable") when
                                     # Redis is unreachable: do not ack

The library is found through ``LIBE2E_REDIS_LIBRARY`` (a path), else
``LIBE2E_BUILDDIR`` (a build tree), else the system's library path.
Importing this module raises LibraryNotFoundError when it is not built
(configure found no hiredis).
"""

import ctypes
import ctypes.util
import os
from typing import Any, Optional, Tuple, Union

from .core import Info, StrPath

from . import _native
from ._native import LibraryNotFoundError
from .core import (DELIVERY_RETAINED, Guard, Rejected, _Handle, _check,
                   _now, _path, _topic, _u32)

__all__ = ["SharedGuard", "BATCH_MAX", "WINDOW_DEFAULT", "library_path"]


def _load() -> Tuple[ctypes.CDLL, str]:
    env = os.environ.get("LIBE2E_REDIS_LIBRARY")
    if env:
        candidates = [env]
    else:
        candidates = []
        builddir = os.environ.get("LIBE2E_BUILDDIR")
        if builddir:
            candidates.append(os.path.join(
                builddir, "libe2e-redis", ".libs", "libe2e-redis.so"))
        name = ctypes.util.find_library("e2e-redis")
        if name:
            candidates.append(name)
        candidates.append("libe2e-redis.so.1")
    tried = []
    for path in candidates:
        if os.sep in path and not os.path.exists(path):
            tried.append("%s (no such file)" % path)
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            tried.append("%s (%s)" % (path, exc))
    raise LibraryNotFoundError(
        "libe2e-redis not found (built when configure finds hiredis); "
        "looked in:\n  " + "\n  ".join(tried))


_lib, library_path = _load()


class _RedisOpts(ctypes.Structure):
    _fields_ = [
        ("password", ctypes.c_char_p),
        ("password_file", ctypes.c_char_p),
        ("timeout_ms", ctypes.c_uint32),
        ("tls_cacert", ctypes.c_char_p),
        ("tls_cacertdir", ctypes.c_char_p),
        ("tls_cert", ctypes.c_char_p),
        ("tls_key", ctypes.c_char_p),
        ("tls_sni", ctypes.c_char_p),
    ]


_pinfo = ctypes.POINTER(_native.InfoStruct)
for _name, _res, _args in (
        ("e2e_redis_opts_default", None, [ctypes.POINTER(_RedisOpts)]),
        ("e2e_redis_connect", ctypes.c_int,
         [ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p,
          ctypes.POINTER(_RedisOpts),
          ctypes.POINTER(_native.GuardOptsStruct)]),
        ("e2e_redis_free", None, [ctypes.c_void_p]),
        ("e2e_redis_check_commit", ctypes.c_int,
         [ctypes.c_void_p, _pinfo, ctypes.c_char_p, ctypes.c_uint32,
          ctypes.c_uint64])):
    getattr(_lib, _name).restype = _res
    getattr(_lib, _name).argtypes = _args

#: Most messages one pipelined batch can judge (E2E_REDIS_BATCH_MAX).
BATCH_MAX = 256

#: A group's window when none is given (E2E_REDIS_WINDOW_DEFAULT): a group
#: shares each sender's window, which must cover how far a member may lag
#: behind the others (docs/GROUPS.md section 3), so it is not the
#: in-memory guard's 256.
WINDOW_DEFAULT = 65536


class SharedGuard(_Handle):
    """One member's connection to its group's replay state.

    url: ``redis://[USER[:PASSWORD]@]HOST[:PORT]/PREFIX``, or
    ``rediss://...`` for TLS. password or password_file (a file only its
    owner may read) authenticate; never put a password on a command line.
    rediss:// only: tls_cacert (PEM CAs; default: the system's),
    tls_cacertdir (hashed CAs), tls_cert and tls_key (a client
    certificate, the key in an owner-only file), tls_sni (the name the
    server's certificate must hold, sent as SNI; default: the URL's host);
    the server's certificate is always verified ("store-tls" when it is
    refused). The guard options are those of :class:`libe2e.Guard`;
    window, max_senders and max_retained_topics must be the same for every
    member of the group ("store-mismatch" otherwise); the window is
    WINDOW_DEFAULT (65536) unless given, as for e2e-sub --state redis://. Not thread-safe: one
    per thread. Give it to a :class:`libe2e.Receiver` as its guard.
    """

    _shared = True

    def __init__(self, url: str, *,
                 password: Union[str, bytes, None] = None,
                 password_file: Optional[StrPath] = None,
                 timeout_ms: int = 0,
                 tls_cacert: Optional[StrPath] = None,
                 tls_cacertdir: Optional[StrPath] = None,
                 tls_cert: Optional[StrPath] = None,
                 tls_key: Optional[StrPath] = None,
                 tls_sni: Optional[str] = None,
                 **guard_options: Any) -> None:
        super().__init__()
        if guard_options.get("window") is None:
            guard_options["window"] = WINDOW_DEFAULT
        g = Guard.make_options(**guard_options)
        o = _RedisOpts()
        _lib.e2e_redis_opts_default(ctypes.byref(o))
        secret = None
        if password is not None:
            secret = password.encode("utf-8") if isinstance(password, str) \
                else bytes(password)
            o.password = secret
        if password_file is not None:
            o.password_file = _path(password_file)
        if timeout_ms:
            o.timeout_ms = _u32(timeout_ms, "timeout_ms")
        for field, value in (("tls_cacert", tls_cacert),
                             ("tls_cacertdir", tls_cacertdir),
                             ("tls_cert", tls_cert), ("tls_key", tls_key)):
            if value is not None:
                setattr(o, field, _path(value))
        if tls_sni is not None:
            o.tls_sni = tls_sni.encode("utf-8")
        ptr = ctypes.c_void_p()
        rc = _lib.e2e_redis_connect(ctypes.byref(ptr), url.encode("utf-8"),
                                    ctypes.byref(o), ctypes.byref(g))
        _check(rc, url.split("@")[-1])  # never the password
        self._adopt(ptr)

    def close(self) -> None:
        """Close the connection now (wiping the password). Idempotent."""
        p, self._p = self._p, None
        if p is not None:
            _lib.e2e_redis_free(p)

    def _check_commit(self, info_struct: Any, topic_bytes: bytes,
                      retained: bool, now: int) -> int:
        return int(_lib.e2e_redis_check_commit(
            self._ptr, ctypes.byref(info_struct), topic_bytes,
            DELIVERY_RETAINED if retained else 0, now))

    def check_commit(self, info: Info, topic: Union[str, bytes],
                     retained: bool = False,
                     now: Optional[int] = None) -> None:
        """Check an authenticated message's header (an :class:`Info` from
        a receiver without guard) against the group and record it when
        accepted, atomically; raises Rejected (replay, too-old, ...,
        store-unavailable) otherwise."""
        s = info._struct()
        rc = self._check_commit(s, _topic(topic), retained, _now(now))
        if rc != 0:
            raise Rejected(rc, topic if isinstance(topic, str) else
                           topic.decode("utf-8", "replace"), info)
