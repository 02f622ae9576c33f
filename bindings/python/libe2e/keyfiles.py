"""Key files (docs/KEYFILES.md): keyrings, signer keys and trust files.

The code behind ``Keyring.load``/``save``, ``Signer.load``/``save``/
``inspect`` and ``Trust.load``/``save`` (declared in :mod:`libe2e.core`,
which calls here), and the functions :func:`load_public_key` /
:func:`save_public_key`.

Loaders raise :class:`E2EError` with a ``bad_line`` attribute: the 1-based
line at fault, or 0 when the error concerns the whole file. A file that
cannot be read or written raises :class:`libe2e.FileError`, also the
OSError of its errno: a missing file is a ``FileNotFoundError``. Secret files are
refused when group or others may read them (``ERR_PERMISSIONS``) and are
written with mode 0600. Every file (trust files and public keys too) is
refused when group or others may write it or another user than the
effective user or root owns it (``ERR_WRITABLE``). Savers replace a file atomically, or with
``exclusive=True`` refuse to overwrite one (``ERR_EXISTS``).

Passphrases are ``str`` (UTF-8) or ``bytes``. Python cannot wipe them from
its own memory: prefer short-lived objects and avoid keeping them around.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any, List, Optional, Tuple, Type, Union

from . import _native
from .core import (ERRORS, Buffer, E2EError, Keyring, Signer, StrPath,
                   Trust, _check, _error, _fixed, _path, _u64, _usize,
                   sign_publickeybytes)
from ._native import C

SAVE_EXCL = 0x1

_vp = ctypes.c_void_p
_pvp = ctypes.POINTER(ctypes.c_void_p)
_str = ctypes.c_char_p
_sz = ctypes.c_size_t
_psz = ctypes.POINTER(ctypes.c_size_t)
_u32 = ctypes.c_uint32
_ull = ctypes.c_ulonglong
_out = ctypes.c_void_p

_KEYFILE_PROTOTYPES: Tuple[Tuple[str, Any, List[Any]], ...] = (
        ("e2e_keyfile_max", _sz, []),
        ("e2e_keyring_load", ctypes.c_int, [_pvp, _str, _psz]),
        ("e2e_keyring_save", ctypes.c_int, [_vp, _str, _u32]),
        ("e2e_signer_opslimit", _ull, []),
        ("e2e_signer_memlimit", _sz, []),
        ("e2e_signer_save", ctypes.c_int,
         [_vp, _str, _str, _sz, _ull, _sz, _u32]),
        ("e2e_signer_load", ctypes.c_int, [_pvp, _str, _str, _sz, _psz]),
        ("e2e_signer_inspect", ctypes.c_int,
         [_str, _out, ctypes.POINTER(ctypes.c_int), _psz]),
        ("e2e_pubkey_load", ctypes.c_int, [_out, _str, _psz]),
        ("e2e_pubkey_save", ctypes.c_int, [_str, _str, _u32]),
        ("e2e_trust_load", ctypes.c_int, [_pvp, _str, _psz]),
        ("e2e_trust_save", ctypes.c_int, [_vp, _str, _u32]),
        ("e2e_path_check", ctypes.c_int, [_str, _out, _sz]))
for _name, _res, _args in _KEYFILE_PROTOTYPES:
    _native.declare(_name, _res, _args)


def _load_check(rc: int, path: bytes, bad: ctypes.c_size_t) -> None:
    if rc != 0:
        where = os.fsdecode(path)
        if bad.value:
            where += ":%d" % bad.value
        err = _error(rc, where, path)
        err.bad_line = bad.value
        err.path = os.fsdecode(path)
        raise err


def _save_flags(exclusive: bool) -> int:
    return SAVE_EXCL if exclusive else 0


def _pass(passphrase: Union[str, bytes, None]) -> Tuple[Optional[bytes], int]:
    if passphrase is None:
        return None, 0
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    passphrase = bytes(passphrase)
    return passphrase, len(passphrase)


def keyfile_max() -> int:
    """Largest key file the loaders read, in bytes."""
    return int(C.e2e_keyfile_max())


# -- keyrings ---------------------------------------------------------------

def _keyring_load(cls: Type[Keyring], path: StrPath) -> Keyring:
    """Load a keyring file (exactly one primary key)."""
    p = _path(path)
    ptr = ctypes.c_void_p()
    bad = ctypes.c_size_t()
    _load_check(C.e2e_keyring_load(ctypes.byref(ptr), p, ctypes.byref(bad)),
                p, bad)
    kr = cls.__new__(cls)
    kr._p = None
    kr._adopt(ptr)
    return kr


def _keyring_save(self: Keyring, path: StrPath,
                  exclusive: bool = False) -> None:
    """Write the keyring to path (mode 0600, atomically)."""
    _check(C.e2e_keyring_save(self._ptr, _path(path),
                              _save_flags(exclusive)), os.fsdecode(path),
           path)


# -- signers ----------------------------------------------------------------

def _signer_load(cls: Type[Signer], path: StrPath,
                 passphrase: Union[str, bytes, None] = None) -> Signer:
    """Load a signer secret key file; the passphrase is ignored for an
    unencrypted file. Wrong or missing passphrase: ERR_PASSPHRASE."""
    p = _path(path)
    pw, n = _pass(passphrase)
    ptr = ctypes.c_void_p()
    bad = ctypes.c_size_t()
    _load_check(C.e2e_signer_load(ctypes.byref(ptr), p, pw, n,
                                  ctypes.byref(bad)), p, bad)
    return cls(ptr)


def _signer_save(self: Signer, path: StrPath,
                 passphrase: Union[str, bytes, None] = None, *,
                 opslimit: int = 0, memlimit: int = 0,
                 exclusive: bool = False) -> None:
    """Write the secret key to path (mode 0600). passphrase None stores the
    seed unencrypted (as ``e2e-keygen --no-passphrase``); opslimit and
    memlimit 0 pick the library's Argon2id defaults."""
    opslimit = _u64(opslimit, "opslimit")
    memlimit = _usize(memlimit, "memlimit")
    pw, n = _pass(passphrase)
    if pw is not None and n == 0:
        raise E2EError(ERRORS["E2E_ERR_INVAL"], "empty passphrase")
    _check(C.e2e_signer_save(self._ptr, _path(path), pw, n, opslimit,
                             memlimit, _save_flags(exclusive)),
           os.fsdecode(path), path)


def _signer_inspect(path: StrPath) -> Tuple[bytes, bool]:
    """(public_key, is_encrypted) of a signer secret key file, without the
    passphrase."""
    p = _path(path)
    pk = ctypes.create_string_buffer(sign_publickeybytes())
    enc = ctypes.c_int()
    bad = ctypes.c_size_t()
    _load_check(C.e2e_signer_inspect(p, pk, ctypes.byref(enc),
                                     ctypes.byref(bad)), p, bad)
    return pk.raw, bool(enc.value)


def load_public_key(path: StrPath) -> bytes:
    """The public key (bytes) of a signer public key file."""
    p = _path(path)
    pk = ctypes.create_string_buffer(sign_publickeybytes())
    bad = ctypes.c_size_t()
    _load_check(C.e2e_pubkey_load(pk, p, ctypes.byref(bad)), p, bad)
    return pk.raw


def save_public_key(public_key: Buffer, path: StrPath,
                    exclusive: bool = False) -> None:
    """Write a signer public key file."""
    pk = _fixed(public_key, sign_publickeybytes(), "public key")
    _check(C.e2e_pubkey_save(pk, _path(path), _save_flags(exclusive)),
           os.fsdecode(path), path)


def unsafe_directory(path: StrPath) -> Optional[str]:
    """The directory above path through which another user could replace
    the file (writable by group or others without the sticky bit, or owned
    by another user than the effective user or root; symlinks resolved), or
    None. The loaders refuse such a file only when the file itself is
    writable by others (ERR_WRITABLE): this is the warning to give."""
    p = _path(path)
    buf = ctypes.create_string_buffer(4096)
    rc = C.e2e_path_check(p, buf, len(buf))
    if rc == ERRORS["E2E_ERR_WRITABLE"]:
        return os.fsdecode(buf.value)
    _check(rc, os.fsdecode(path), path)
    return None


# -- trust files ------------------------------------------------------------

def _trust_load(cls: Type[Trust], path: StrPath) -> Trust:
    """Load a trust file (signers and their topic filters)."""
    p = _path(path)
    ptr = ctypes.c_void_p()
    bad = ctypes.c_size_t()
    _load_check(C.e2e_trust_load(ctypes.byref(ptr), p, ctypes.byref(bad)),
                p, bad)
    t = cls.__new__(cls)
    t._p = None
    t._adopt(ptr)
    return t


def _trust_save(self: Trust, path: StrPath, exclusive: bool = False) -> None:
    _check(C.e2e_trust_save(self._ptr, _path(path), _save_flags(exclusive)),
           os.fsdecode(path), path)


# -- member keys and update counters (key updates, docs/KEYDIST.md) ---------

_MEMBER_PROTOTYPES: Tuple[Tuple[str, Any, List[Any]], ...] = (
        ("e2e_member_load", ctypes.c_int, [_pvp, _str, _str, _sz, _psz]),
        ("e2e_member_save", ctypes.c_int,
         [_vp, _str, _str, _sz, _ull, _sz, _u32]),
        ("e2e_member_public_parse", ctypes.c_int, [_str, _out]),
        ("e2e_update_counter_load", ctypes.c_int,
         [_str, _str, ctypes.POINTER(ctypes.c_uint64), _psz]),
        ("e2e_update_counter_save", ctypes.c_int,
         [_str, _str, ctypes.c_uint64, _u32]),
        # Declared for the header's mirror; no Python API over them yet
        # (the admin side is e2e-keygen admin).
        ("e2e_member_inspect", ctypes.c_int,
         [_str, _out, ctypes.POINTER(ctypes.c_int), _psz]),
        ("e2e_member_public_format", ctypes.c_int, [_str, _out, _sz]),
        ("e2e_member_public_load", ctypes.c_int, [_out, _str, _psz]),
        ("e2e_member_public_save", ctypes.c_int, [_str, _str, _u32]),
        ("e2e_members_new", ctypes.c_int, [_pvp, _str]),
        ("e2e_members_free", None, [_vp]),
        ("e2e_members_load", ctypes.c_int, [_pvp, _str, _psz]),
        ("e2e_members_save", ctypes.c_int, [_vp, _str, _u32]),
        ("e2e_members_group", ctypes.c_char_p, [_vp]),
        ("e2e_members_counter", ctypes.c_uint64, [_vp]),
        ("e2e_members_set_counter", ctypes.c_int, [_vp, ctypes.c_uint64]),
        # enum e2e_update_layout: 0 per member, 1 per group.
        ("e2e_members_layout", ctypes.c_int, [_vp]),
        ("e2e_members_set_layout", ctypes.c_int, [_vp, ctypes.c_int]),
        ("e2e_members_count", _sz, [_vp]),
        ("e2e_members_get", ctypes.c_int, [_vp, _sz, _out]),
        ("e2e_members_add", ctypes.c_int, [_vp, _str, _str, _str]),
        ("e2e_members_find", ctypes.c_int, [_vp, _str, _psz]),
        ("e2e_members_remove", ctypes.c_int, [_vp, _sz]),
        ("e2e_members_update_build", ctypes.c_int,
         [_vp, _sz, _vp, ctypes.c_uint64, ctypes.c_uint64, _out, _sz,
          _psz]),
        ("e2e_members_group_update_build", ctypes.c_int,
         [_vp, _vp, ctypes.c_uint64, ctypes.c_uint64, _out, _sz, _psz,
          _psz]))
for _name, _res, _args in _MEMBER_PROTOTYPES:
    _native.declare(_name, _res, _args)


def load_member_pointer(path: StrPath,
                        passphrase: Union[str, bytes, None] = None
                        ) -> ctypes.c_void_p:
    """The handle of a member secret key file (e2e-keygen member init),
    for Member.load."""
    p = _path(path)
    pw, n = _pass(passphrase)
    ptr = ctypes.c_void_p()
    bad = ctypes.c_size_t()
    _load_check(C.e2e_member_load(ctypes.byref(ptr), p, pw, n,
                                  ctypes.byref(bad)), p, bad)
    return ptr


def parse_member_public(line: Union[str, bytes]) -> bytes:
    """The X25519 public key of a member's one-line public key
    ("libe2e-member 1 ID KEY", the id checked)."""
    raw = line.encode("utf-8") if isinstance(line, str) else bytes(line)
    pk = ctypes.create_string_buffer(32)
    _check(C.e2e_member_public_parse(raw, pk), "member public key line")
    return pk.raw


def load_update_counter(path: StrPath, group: str) -> int:
    """The counter of the last update applied, from a member's counter file
    (KEYRING.counter as e2e-pub/e2e-sub write it)."""
    p = _path(path)
    out = ctypes.c_uint64()
    bad = ctypes.c_size_t()
    _load_check(C.e2e_update_counter_load(p, group.encode("utf-8"),
                                          ctypes.byref(out),
                                          ctypes.byref(bad)), p, bad)
    return int(out.value)


def save_update_counter(path: StrPath, group: str, counter: int) -> None:
    """Record the counter of the update just applied (atomic, 0600); save
    the keyring first."""
    _check(C.e2e_update_counter_save(_path(path), group.encode("utf-8"),
                                     counter, 0), os.fsdecode(path), path)
