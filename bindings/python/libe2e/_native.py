"""Loading libe2e.so and declaring its C functions and structs (ctypes).

Nothing here is public API: use the names exported by the ``libe2e``
package. This module mirrors ``libe2e/include/e2e.h``; when the header
changes, this file changes with it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any, Dict, List, Tuple

__all__ = ["LibraryNotFoundError", "C", "library_path", "has_symbol"]


class LibraryNotFoundError(ImportError):
    """libe2e.so could not be found or loaded; the message lists where."""


def _candidates() -> Tuple[List[Tuple[str, str]], bool]:
    """Where to look for the shared library, in order, with a label each."""
    env = os.environ.get("LIBE2E_LIBRARY")
    if env:
        # An explicit choice is the only candidate: never fall back silently
        # to another copy of the library.
        return [("LIBE2E_LIBRARY", env)], True
    found = []
    builddir = os.environ.get("LIBE2E_BUILDDIR")
    if builddir:
        found.append(("LIBE2E_BUILDDIR",
                      os.path.join(builddir, "libe2e", ".libs", "libe2e.so")))
    name = ctypes.util.find_library("e2e")
    if name:
        found.append(("ctypes.util.find_library('e2e')", name))
    found.append(("installed name", "libe2e.so.0"))
    return found, False


def _load() -> Tuple[ctypes.CDLL, str]:
    candidates, explicit = _candidates()
    tried = []
    for label, path in candidates:
        if os.sep in path and not os.path.exists(path):
            tried.append("%s: %s (no such file)" % (label, path))
            continue
        try:
            # use_errno: E2E_ERR_IO leaves errno set, and the binding
            # raises the matching OSError (FileNotFoundError, ...).
            return ctypes.CDLL(path, use_errno=True), path
        except OSError as exc:
            tried.append("%s: %s (%s)" % (label, path, exc))
    hint = "" if explicit else (
        "\nSet LIBE2E_LIBRARY to the path of libe2e.so, or LIBE2E_BUILDDIR "
        "to a build directory, or install libe2e.")
    raise LibraryNotFoundError(
        "libe2e shared library not found; looked in:\n  "
        + "\n  ".join(tried) + hint)


lib, library_path = _load()

# ---------------------------------------------------------------------------
# Structs, field for field as in e2e.h. C enums are int-sized here (all
# their values fit in an int); e2e_info is checked against e2e_info_sizeof().
# ---------------------------------------------------------------------------

c_enum = ctypes.c_int
u8p = ctypes.POINTER(ctypes.c_uint8)


class KeyInfoStruct(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_uint32),
        ("suite", c_enum),
        ("state", c_enum),
        ("created", ctypes.c_int64),
    ]


class SealParamsStruct(ctypes.Structure):
    _fields_ = [
        ("suite", c_enum),
        ("key_id", ctypes.c_uint32),
        ("key", ctypes.c_void_p),
        ("signer", ctypes.c_void_p),
        ("sender_id", ctypes.c_uint64),
        ("seq", ctypes.c_uint64),
        ("timestamp", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("salt", ctypes.c_void_p),
    ]


class SenderOptsStruct(ctypes.Structure):
    _fields_ = [
        ("sender_id", ctypes.c_uint64),
        ("epoch", ctypes.c_uint32),
        ("signer", ctypes.c_void_p),
        ("no_clock", ctypes.c_int),
    ]


class InfoStruct(ctypes.Structure):
    _fields_ = [
        ("suite", c_enum),
        ("is_signed", ctypes.c_int),
        ("retained", ctypes.c_int),
        ("key_id", ctypes.c_uint32),
        ("sender_id", ctypes.c_uint64),
        ("seq", ctypes.c_uint64),
        ("timestamp", ctypes.c_uint32),
        ("payload_len", ctypes.c_size_t),
    ]


class ReceiverStruct(ctypes.Structure):
    _fields_ = [
        ("keyring", ctypes.c_void_p),
        ("trust", ctypes.c_void_p),
        ("guard", ctypes.c_void_p),
        ("require", ctypes.c_uint32),
        ("now", ctypes.c_uint64),
        ("filters", ctypes.POINTER(ctypes.c_char_p)),
        ("filter_count", ctypes.c_size_t),
    ]


class GuardOptsStruct(ctypes.Structure):
    _fields_ = [
        ("window", ctypes.c_uint32),
        ("max_senders", ctypes.c_uint32),
        ("max_retained_topics", ctypes.c_uint32),
        ("max_age", ctypes.c_uint32),
        ("max_skew", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("max_retained_age", ctypes.c_uint32),
    ]


class UpdateKeyStruct(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_uint32),
        ("suite", c_enum),
        ("state", c_enum),
        ("activates", ctypes.c_uint64),
        ("disables", ctypes.c_uint64),
        ("filters", ctypes.c_char_p),
        ("key", ctypes.c_void_p),
        ("in_slot", ctypes.c_int),
    ]


class UpdateRecipientStruct(ctypes.Structure):
    _fields_ = [
        ("public_key", ctypes.c_void_p),
        ("key_ids", ctypes.POINTER(ctypes.c_uint32)),
        ("key_id_count", ctypes.c_size_t),
    ]


class UpdateParamsStruct(ctypes.Structure):
    _fields_ = [
        ("group", ctypes.c_char_p),
        ("counter", ctypes.c_uint64),
        ("issued", ctypes.c_uint64),
        ("keys", ctypes.POINTER(UpdateKeyStruct)),
        ("key_count", ctypes.c_size_t),
        ("recipients", ctypes.POINTER(UpdateRecipientStruct)),
        ("recipient_count", ctypes.c_size_t),
    ]


class UpdateOpenerStruct(ctypes.Structure):
    _fields_ = [
        ("admin_public_key", ctypes.c_void_p),
        ("group", ctypes.c_char_p),
        ("member", ctypes.c_void_p),
        ("last_counter", ctypes.c_uint64),
    ]


# ---------------------------------------------------------------------------
# Prototypes: name -> (restype, argtypes). A function the loaded library
# lacks (an older build, or one still being written) is left out of `lib`
# and reported by has_symbol(); calling it raises NotImplementedError.
# ---------------------------------------------------------------------------

_vp = ctypes.c_void_p
_pvp = ctypes.POINTER(ctypes.c_void_p)
_int = ctypes.c_int
_sz = ctypes.c_size_t
_psz = ctypes.POINTER(ctypes.c_size_t)
_u32 = ctypes.c_uint32
_pu32 = ctypes.POINTER(ctypes.c_uint32)
_u64 = ctypes.c_uint64
_i64 = ctypes.c_int64
_str = ctypes.c_char_p
_pstr = ctypes.POINTER(ctypes.c_char_p)
_buf = ctypes.c_char_p  # const uint8_t * from bytes
_out = ctypes.c_void_p  # uint8_t * into a ctypes buffer
_pki = ctypes.POINTER(KeyInfoStruct)
_pinfo = ctypes.POINTER(InfoStruct)
_pgopts = ctypes.POINTER(GuardOptsStruct)

PROTOTYPES: Dict[str, Tuple[Any, List[Any]]] = {
    "e2e_err_name": (_str, [_int]),
    "e2e_strerror": (_str, [_int]),
    "e2e_reason": (_str, [_int]),
    "e2e_init": (_int, []),
    "e2e_keybytes": (_sz, []),
    "e2e_header_bytes": (_sz, []),
    "e2e_tag_bytes": (_sz, []),
    "e2e_sig_bytes": (_sz, []),
    "e2e_sign_publickeybytes": (_sz, []),
    "e2e_sign_seedbytes": (_sz, []),
    "e2e_salt_bytes": (_sz, []),
    "e2e_sign_secretkeybytes": (_sz, []),
    "e2e_topic_max": (_sz, []),
    "e2e_payload_max": (_sz, []),
    "e2e_overhead_max": (_sz, []),
    "e2e_overhead": (_sz, [c_enum, _int]),
    "e2e_sealed_len": (_sz, [c_enum, _int, _sz]),
    "e2e_suite_name": (_str, [c_enum]),
    "e2e_suite_parse": (_int, [_str, ctypes.POINTER(c_enum)]),
    "e2e_key_state_name": (_str, [c_enum]),
    "e2e_key_state_parse": (_int, [_str, ctypes.POINTER(c_enum)]),
    "e2e_keyring_new": (_int, [_pvp]),
    "e2e_keyring_free": (None, [_vp]),
    "e2e_keyring_add": (_int, [_vp, _pki, _buf]),
    "e2e_keyring_generate": (_int, [_vp, c_enum, c_enum, _i64, _pu32]),
    "e2e_keyring_set_state": (_int, [_vp, _u32, c_enum]),
    "e2e_keyring_remove": (_int, [_vp, _u32]),
    "e2e_keyring_count": (_sz, [_vp]),
    "e2e_keyring_get": (_int, [_vp, _sz, _pki]),
    "e2e_keyring_find": (_int, [_vp, _u32, _pki]),
    "e2e_keyring_primary": (_int, [_vp, _pki]),
    "e2e_signer_id_from_public": (_u64, [_buf]),
    "e2e_signer_generate": (_int, [_pvp]),
    "e2e_signer_from_seed": (_int, [_pvp, _buf]),
    "e2e_signer_from_secret": (_int, [_pvp, _buf]),
    "e2e_signer_free": (None, [_vp]),
    "e2e_signer_public": (None, [_vp, _out]),
    "e2e_signer_id": (_u64, [_vp]),
    "e2e_trust_new": (_int, [_pvp]),
    "e2e_trust_free": (None, [_vp]),
    "e2e_trust_add": (_int, [_vp, _buf, _str]),
    "e2e_trust_count": (_sz, [_vp]),
    "e2e_trust_get": (_int, [_vp, _sz, _out, _pstr]),
    "e2e_topic_matches": (_int, [_str, _str]),
    "e2e_filter_check": (_int, [_str]),
    "e2e_subscription_matches": (_int, [_str, _str]),
    "e2e_seal_explicit": (_int, [ctypes.POINTER(SealParamsStruct), _str,
                                 _buf, _sz, _out, _sz, _psz]),
    "e2e_sender_new": (_int, [_pvp, ctypes.POINTER(SenderOptsStruct)]),
    "e2e_sender_free": (None, [_vp]),
    "e2e_sender_id": (_u64, [_vp]),
    "e2e_sender_next_seq": (_u64, [_vp]),
    "e2e_sender_advance": (None, [_vp, _u64]),
    "e2e_epoch_reserve": (_int, [_pvp, _str, ctypes.POINTER(_u64),
                                 ctypes.POINTER(ctypes.c_long)]),
    "e2e_epoch_renew": (_int, [_vp, _u64]),
    "e2e_epoch_release": (_int, [_vp, _u64]),
    "e2e_seal": (_int, [_vp, _vp, _str, _buf, _sz, _u32, _out, _sz, _psz]),
    "e2e_info_sizeof": (_sz, []),
    "e2e_parse": (_int, [_buf, _sz, _pinfo]),
    "e2e_open": (_int, [ctypes.POINTER(ReceiverStruct), _str, _buf, _sz,
                        _u32, _out, _sz, _psz, _pinfo]),
    "e2e_guard_opts_default": (None, [_pgopts]),
    "e2e_guard_new": (_int, [_pvp, _pgopts]),
    "e2e_guard_free": (None, [_vp]),
    "e2e_guard_check": (_int, [_vp, _pinfo, _str, _u32, _u64]),
    "e2e_guard_commit": (None, [_vp, _pinfo, _str, _u32, _u64]),
    "e2e_guard_sender_count": (_sz, [_vp]),
    "e2e_guard_bytes_per_sender": (_sz, [_vp]),
    "e2e_guard_save": (_int, [_vp, _str]),
    "e2e_guard_load": (_int, [_vp, _str, _psz]),
    # Key schedules and key updates (docs/KEYDIST.md)
    "e2e_keyring_schedule": (_int, [_vp, _u32, _u64, _u64]),
    "e2e_keyring_schedule_get": (_int, [_vp, _u32, ctypes.POINTER(_u64),
                                        ctypes.POINTER(_u64)]),
    "e2e_keyring_state_at": (_int, [_vp, _u32, _u64,
                                    ctypes.POINTER(c_enum)]),
    "e2e_keyring_primary_at": (_int, [_vp, _u64, _pki]),
    "e2e_keyring_advance": (_int, [_vp, _u64]),
    "e2e_keyring_set_filters": (_int, [_vp, _u32, _str]),
    "e2e_keyring_get_filters": (_int, [_vp, _u32, _pstr]),
    "e2e_member_generate": (_int, [_pvp]),
    "e2e_member_from_secret": (_int, [_pvp, _buf]),
    "e2e_member_free": (None, [_vp]),
    "e2e_member_public": (None, [_vp, _out]),
    "e2e_member_secret": (None, [_vp, _out]),
    "e2e_member_id": (_u64, [_vp]),
    "e2e_member_id_from_public": (_u64, [_buf]),
    "e2e_update_body_len": (_sz, [ctypes.POINTER(UpdateParamsStruct)]),
    "e2e_update_build": (_int, [ctypes.POINTER(UpdateParamsStruct), _out,
                                _sz, _psz]),
    "e2e_update_new": (_int, [_pvp]),
    "e2e_update_free": (None, [_vp]),
    "e2e_update_open": (_int, [_vp, ctypes.POINTER(UpdateOpenerStruct),
                               _str, _buf, _sz, _u32]),
    "e2e_update_counter": (_u64, [_vp]),
    "e2e_update_issued": (_u64, [_vp]),
    "e2e_update_group": (_str, [_vp]),
    "e2e_update_key_count": (_sz, [_vp]),
    "e2e_update_key_get": (_int, [_vp, _sz, ctypes.POINTER(UpdateKeyStruct)]),
    "e2e_update_apply": (_int, [_vp, _vp, _u64]),
}

_missing: set[str] = set()


class _Lib:
    """The library's functions as attributes, with their prototypes set."""

    def __getattr__(self, name: str) -> Any:
        if name in _missing:
            raise NotImplementedError(
                "%s: the loaded libe2e (%s) does not provide this function"
                % (name, library_path))
        raise AttributeError(name)


def declare(name: str, restype: Any, argtypes: List[Any]) -> bool:
    """Bind one C function into `lib` if the library has it."""
    try:
        fn = getattr(lib, name)
    except AttributeError:
        _missing.add(name)
        return False
    fn.restype = restype
    fn.argtypes = argtypes
    setattr(C, name, fn)
    _missing.discard(name)
    return True


C = _Lib()
for _name, (_res, _args) in PROTOTYPES.items():
    declare(_name, _res, _args)


def has_symbol(name: str) -> bool:
    """True when the loaded library provides the C function `name`."""
    return name in C.__dict__
