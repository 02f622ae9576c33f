"""Key updates (docs/KEYDIST.md): member key pairs, building, opening and
applying an update, and keyring schedules and per-topic keys.

The code behind ``Keyring.schedule``, ``get_schedule``, ``state_at``,
``primary_at``, ``advance``, ``set_filters`` and ``filters`` (declared in
:mod:`libe2e.core`, which calls here). The library does no MQTT here: the
caller receives the update (retained, on the update topic) and stores the
keyring and the counter.
"""

from __future__ import annotations

import ctypes
import dataclasses
from typing import Iterable, List, Optional, Tuple, Union

from . import _native
from ._native import C
from .core import (ERRORS, Buffer, E2EError, KeyInfo, Keyring, KeyState,
                   StrPath, Suite, Topic, _bytes, _check, _fixed, _Handle, _new, _now,
                   _topic, _u32, _u64, DELIVERY_RETAINED, sign_publickeybytes)

MEMBER_PUBLICKEYBYTES = 32
MEMBER_SECRETKEYBYTES = 32


def member_id_from_public(public_key: Buffer) -> int:
    """The member id (int) of an X25519 public key."""
    pk = _fixed(public_key, MEMBER_PUBLICKEYBYTES, "public key")
    return int(C.e2e_member_id_from_public(pk))


class Member(_Handle):
    """A member's X25519 key pair (secret in the library's guarded memory)."""

    _free = "e2e_member_free"

    def __init__(self, _ptr: Optional[ctypes.c_void_p] = None) -> None:
        super().__init__()
        self._adopt(_ptr if _ptr is not None else _new(C.e2e_member_generate))

    @classmethod
    def generate(cls) -> Member:
        return cls()

    @classmethod
    def load(cls, path: StrPath,
             passphrase: Union[str, bytes, None] = None) -> Member:
        """A member secret key file, as e2e-keygen member init writes it
        (docs/KEYFILES.md section 7)."""
        from . import keyfiles
        return cls(keyfiles.load_member_pointer(path, passphrase))

    @classmethod
    def from_secret(cls, secret_key: Buffer) -> Member:
        sk = _fixed(secret_key, MEMBER_SECRETKEYBYTES, "secret key")
        return cls(_new(C.e2e_member_from_secret, sk))

    @property
    def public_key(self) -> bytes:
        out = ctypes.create_string_buffer(MEMBER_PUBLICKEYBYTES)
        C.e2e_member_public(self._ptr, out)
        return out.raw

    @property
    def id(self) -> int:
        return int(C.e2e_member_id(self._ptr))


@dataclasses.dataclass(frozen=True)
class UpdateKey:
    """One key of an update's table. ``key`` (bytes) only when building;
    ``in_slot`` only when opened (the member's slot gave the key)."""

    id: int
    suite: Suite = Suite.AEAD
    state: KeyState = KeyState.PRIMARY
    activates: int = 0  #: Unix seconds; 0: none
    disables: int = 0   #: Unix seconds; 0: never
    filters: Tuple[str, ...] = ()  #: topic filters
    key: Optional[bytes] = None
    in_slot: bool = False


def _filters_arg(filters: Union[str, Iterable[str]]) -> bytes:
    if isinstance(filters, str):
        filters = (filters,) if filters else ()
    return ",".join(filters).encode("utf-8")


def _filters_out(raw: Optional[bytes]) -> Tuple[str, ...]:
    text = raw.decode("utf-8", "surrogateescape") if raw else ""
    return tuple(text.split(",")) if text else ()


def build_update(group: str, counter: int, issued: int,
                 keys: Iterable[UpdateKey],
                 recipients: Iterable[Tuple[Buffer, Iterable[int]]]) -> bytes:
    """The body of an update (bytes). keys: UpdateKey with ``key`` set
    (None for a disabled key); recipients: (public key, [key ids]) pairs.
    The admin then seals it as a retained suite-none envelope with its
    signer (``seal_explicit``)."""
    key_list = list(keys)
    recipient_list = list(recipients)
    karr = (_native.UpdateKeyStruct * max(1, len(key_list)))()
    keep: List[object] = []  # the buffers the structs point to
    for i, k in enumerate(key_list):
        material: Optional[ctypes.Array[ctypes.c_char]] = None
        if k.key is not None:
            material = ctypes.create_string_buffer(
                _fixed(k.key, 32, "key"), 32)
            keep.append(material)
        f = _filters_arg(k.filters)
        keep.append(f)
        karr[i] = _native.UpdateKeyStruct(
            _u32(k.id, "key id"), Suite(k.suite), KeyState(k.state),
            _u64(k.activates, "activates"), _u64(k.disables, "disables"),
            f, ctypes.cast(material, ctypes.c_void_p) if material else None,
            0)
    rarr = (_native.UpdateRecipientStruct * max(1, len(recipient_list)))()
    for i, (pk, key_ids) in enumerate(recipient_list):
        pkb = ctypes.create_string_buffer(
            _fixed(pk, MEMBER_PUBLICKEYBYTES, "public key"),
            MEMBER_PUBLICKEYBYTES)
        ids = list(key_ids)
        idarr = (ctypes.c_uint32 * max(1, len(ids)))(
            *[_u32(x, "key id") for x in ids])
        keep += [pkb, idarr]
        rarr[i] = _native.UpdateRecipientStruct(
            ctypes.cast(pkb, ctypes.c_void_p), idarr, len(ids))
    params = _native.UpdateParamsStruct(
        group.encode("utf-8"), _u64(counter, "counter"),
        _u64(issued, "issued"), karr, len(key_list), rarr,
        len(recipient_list))
    n = int(C.e2e_update_body_len(ctypes.byref(params)))
    if n == 0:
        raise E2EError(ERRORS["E2E_ERR_INVAL"], "invalid update parameters")
    out = ctypes.create_string_buffer(n)
    out_len = ctypes.c_size_t()
    _check(C.e2e_update_build(ctypes.byref(params), out, n,
                              ctypes.byref(out_len)))
    return out.raw[:out_len.value]


class Update(_Handle):
    """An opened update: its table, and the keys of one member's slot in
    the library's guarded memory."""

    _free = "e2e_update_free"

    def __init__(self) -> None:
        super().__init__()
        self._adopt(_new(C.e2e_update_new))

    @classmethod
    def open(cls, topic: Topic, envelope: Buffer, *,
             admin_public_key: Buffer, group: str, member: Member,
             last_counter: int = 0, retained: bool = False) -> Update:
        """Verify and open an update received on topic (docs/KEYDIST.md
        section 7). Raises E2EError with the reason (bad-update,
        wrong-group, rollback, replay, not-recipient, bad-slot, or the
        envelope's)."""
        u = cls()
        admin = _fixed(admin_public_key, sign_publickeybytes(),
                       "admin public key")
        o = _native.UpdateOpenerStruct(
            ctypes.cast(ctypes.c_char_p(admin), ctypes.c_void_p),
            group.encode("utf-8"), member._ptr,
            _u64(last_counter, "last counter"))
        env = _bytes(envelope, "envelope")
        rc = C.e2e_update_open(u._ptr, ctypes.byref(o), _topic(topic), env,
                               len(env), DELIVERY_RETAINED if retained else 0)
        if rc != 0:
            u.close()
            raise E2EError(rc, "key update on %r" % (topic,))
        return u

    @property
    def counter(self) -> int:
        return int(C.e2e_update_counter(self._ptr))

    @property
    def issued(self) -> int:
        return int(C.e2e_update_issued(self._ptr))

    @property
    def group(self) -> str:
        raw: bytes = C.e2e_update_group(self._ptr)
        return raw.decode("utf-8")

    @property
    def keys(self) -> List[UpdateKey]:
        """The table (UpdateKey, increasing ids; key bytes never given)."""
        out: List[UpdateKey] = []
        k = _native.UpdateKeyStruct()
        for i in range(C.e2e_update_key_count(self._ptr)):
            _check(C.e2e_update_key_get(self._ptr, i, ctypes.byref(k)))
            out.append(UpdateKey(k.id, Suite(k.suite), KeyState(k.state),
                                 k.activates, k.disables,
                                 _filters_out(k.filters), None,
                                 bool(k.in_slot)))
        return out

    def apply(self, keyring: Keyring, now: Optional[int] = None) -> None:
        """Make keyring hold this member's key set (section 8), as of now
        (None: the clock). On error the keyring is unchanged."""
        _check(C.e2e_update_apply(self._ptr, keyring._ptr, _now(now)))


# ---------------------------------------------------------------------------
# Keyring: schedules and per-topic keys (the methods are in core.Keyring)
# ---------------------------------------------------------------------------

def _keyring_schedule(kr: Keyring, key_id: int, activates: int,
                      disables: int) -> None:
    key_id = _u32(key_id, "key id")
    _check(C.e2e_keyring_schedule(kr._ptr, key_id,
                                  _u64(activates, "activates"),
                                  _u64(disables, "disables")),
           "key id %d" % key_id)


def _keyring_get_schedule(kr: Keyring, key_id: int) -> Tuple[int, int]:
    key_id = _u32(key_id, "key id")
    a, d = ctypes.c_uint64(), ctypes.c_uint64()
    _check(C.e2e_keyring_schedule_get(kr._ptr, key_id, ctypes.byref(a),
                                      ctypes.byref(d)), "key id %d" % key_id)
    return a.value, d.value


def _keyring_state_at(kr: Keyring, key_id: int,
                      now: Optional[int]) -> KeyState:
    key_id = _u32(key_id, "key id")
    st = _native.c_enum()
    _check(C.e2e_keyring_state_at(kr._ptr, key_id, _now(now),
                                  ctypes.byref(st)), "key id %d" % key_id)
    return KeyState(st.value)


def _keyring_primary_at(kr: Keyring, now: Optional[int]) -> Optional[KeyInfo]:
    out = _native.KeyInfoStruct()
    rc = C.e2e_keyring_primary_at(kr._ptr, _now(now), ctypes.byref(out))
    if rc == ERRORS["E2E_ERR_NO_KEY"]:
        return None
    _check(rc)
    return KeyInfo._from(out)


def _keyring_advance(kr: Keyring, now: Optional[int]) -> None:
    _check(C.e2e_keyring_advance(kr._ptr, _now(now)))


def _keyring_set_filters(kr: Keyring, key_id: int,
                         filters: Union[str, Iterable[str]]) -> None:
    key_id = _u32(key_id, "key id")
    _check(C.e2e_keyring_set_filters(kr._ptr, key_id,
                                     _filters_arg(filters)),
           "key id %d" % key_id)


def _keyring_filters(kr: Keyring, key_id: int) -> Tuple[str, ...]:
    key_id = _u32(key_id, "key id")
    out = ctypes.c_char_p()
    _check(C.e2e_keyring_get_filters(kr._ptr, key_id, ctypes.byref(out)),
           "key id %d" % key_id)
    return _filters_out(out.value)
