"""libe2e: end-to-end payload security for MQTT, from Python.

A binding (ctypes, standard library only) over the C library libe2e.so.
Quick start::

    import libe2e

    with libe2e.Keyring() as kr:
        kr.generate(libe2e.Suite.AEAD)             # a primary key
        sender = libe2e.Sender(kr)
        env = sender.seal("sensors/1/temp", b"21.5")
        rx = libe2e.Receiver(kr, guard=libe2e.Guard())
        msg = rx.open("sensors/1/temp", env)        # Message
        assert msg.payload == b"21.5"

Errors raise :class:`E2EError` (``.code``, ``.name``, ``.reason``,
``.message``); a refused message raises its subclass :class:`Rejected`, a
file the library cannot read or write its subclass :class:`FileError`,
which is also the OSError of its errno (a missing key file is both an
E2EError and a ``FileNotFoundError``). The package is typed (PEP 561).
See bindings/python/README.md, docs/ENVELOPE.md and docs/KEYFILES.md: in
the source tree, and installed with the same paths under the documentation
directory (``make install``: /usr/local/share/doc/libe2e/ by default).

The shared library is found through ``LIBE2E_LIBRARY`` (a path to
libe2e.so), else ``LIBE2E_BUILDDIR`` (a build tree), else the system's
library path.
"""

from ._native import LibraryNotFoundError, has_symbol, library_path
from .core import (DELIVERY_RETAINED, ERRORS, GUARD_ACCEPT_NO_CLOCK,
                   REQUIRE_ENCRYPTION, REQUIRE_SIGNATURE, SEAL_RETAINED,
                   E2EError, E2EFileExistsError, E2EFileNotFoundError,
                   E2EIsADirectoryError, E2ENotADirectoryError,
                   E2EPermissionError, FileError, Guard, Info, KeyInfo, Keyring, KeyState,
                   Message, Receiver, Rejected, Sender, Signer, Suite, Trust,
                   TrustEntry, escape, filter_check, header_bytes, keybytes,
                   overhead, overhead_max, parse, payload_max, salt_bytes,
                   seal_explicit, sealed_len, sig_bytes, sign_publickeybytes,
                   sign_secretkeybytes, sign_seedbytes,
                   signer_id_from_public, subscription_matches, tag_bytes,
                   topic_matches, topic_max)
from . import core as _core
from .keyfiles import (SAVE_EXCL, keyfile_max, load_public_key,
                       load_update_counter, parse_member_public,
                       save_public_key, save_update_counter,
                       unsafe_directory)
from .keydist import (Member, Update, UpdateKey, build_update,
                      member_id_from_public)

# ERR_BAD_TAG, ERR_REPLAY, ...: the library's own codes.
globals().update({k: v for k, v in vars(_core).items()
                  if k == "OK" or k.startswith("ERR_")})

__version__ = "0.1.0"

__all__ = [
    "LibraryNotFoundError", "library_path", "has_symbol", "E2EError",
    "Rejected", "FileError", "E2EFileNotFoundError", "E2EPermissionError",
    "E2EFileExistsError", "E2EIsADirectoryError", "E2ENotADirectoryError",
    "ERRORS", "Suite", "KeyState", "KeyInfo", "Keyring",
    "Signer", "Trust", "TrustEntry", "Sender", "Guard", "Receiver",
    "Message", "Info", "parse", "seal_explicit", "topic_matches",
    "filter_check", "subscription_matches", "escape",
    "signer_id_from_public", "keybytes", "header_bytes",
    "tag_bytes", "sig_bytes", "salt_bytes", "sign_publickeybytes",
    "sign_secretkeybytes", "sign_seedbytes", "topic_max", "payload_max",
    "overhead", "overhead_max", "sealed_len", "SEAL_RETAINED",
    "REQUIRE_ENCRYPTION", "REQUIRE_SIGNATURE", "DELIVERY_RETAINED",
    "GUARD_ACCEPT_NO_CLOCK", "SAVE_EXCL", "keyfile_max", "load_public_key",
    "save_public_key", "unsafe_directory", "Member", "Update", "UpdateKey",
    "build_update", "member_id_from_public", "load_update_counter",
    "parse_member_public", "save_update_counter",
]
__all__ += sorted(k for k in globals() if k == "OK" or k.startswith("ERR_"))
