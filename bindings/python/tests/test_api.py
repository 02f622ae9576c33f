#!/usr/bin/python3 -B
"""The Python binding against the real library: sizes, errors, keys,
sealing and opening in every mode, and every rejection a receiver gives."""

import dataclasses
import errno
import os
import pathlib
import pickle
import stat
import subprocess
import sys
import tempfile
import unittest

import support
from support import libe2e as e2e, needs, needs_guard

TOPIC = "sensors/kitchen/temp"


def flip(data, index, mask=0x01):
    b = bytearray(data)
    b[index] ^= mask
    return bytes(b)


class LibraryLocation(unittest.TestCase):
    def import_with(self, **env):
        full = dict(os.environ, PYTHONPATH=support.BINDING,
                    PYTHONDONTWRITEBYTECODE="1", **env)
        return subprocess.run(
            [sys.executable, "-c", "import libe2e; print(libe2e.library_path)"],
            env=full, capture_output=True, text=True, timeout=60)

    def test_explicit_library_path_is_used(self):
        r = self.import_with(LIBE2E_LIBRARY=e2e.library_path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), e2e.library_path)

    def test_missing_library_is_a_clear_import_error(self):
        r = self.import_with(LIBE2E_LIBRARY="/nonexistent/libe2e.so")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("LibraryNotFoundError", r.stderr)
        self.assertIn("LIBE2E_LIBRARY: /nonexistent/libe2e.so (no such file)",
                      r.stderr)

    def test_build_tree_is_searched(self):
        builddir = support.BUILDDIR
        if not builddir:
            self.skipTest("top_builddir is not set")
        env = dict(os.environ, PYTHONPATH=support.BINDING,
                   PYTHONDONTWRITEBYTECODE="1", LIBE2E_BUILDDIR=builddir)
        env.pop("LIBE2E_LIBRARY", None)
        r = subprocess.run(
            [sys.executable, "-c", "import libe2e; print(libe2e.library_path)"],
            env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), os.path.join(
            builddir, "libe2e", ".libs", "libe2e.so"))


class HeaderCoverage(unittest.TestCase):
    """The binding follows e2e.h: every function the header declares is
    declared in the binding and exported by the library."""

    @staticmethod
    def header_functions():
        import re
        path = os.path.join(support.SRCDIR, "libe2e", "include", "e2e.h")
        with open(path) as f:
            text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        text = re.sub(r"^#(.*\\\n)*.*$", "", text, flags=re.M)
        return set(re.findall(r"\b(e2e_[a-z0-9_]+)\s*\(", text))

    def test_header_parsing_finds_the_api(self):
        names = self.header_functions()
        self.assertIn("e2e_open", names)
        self.assertIn("e2e_keyring_load", names)
        self.assertNotIn("e2e_err", names)  # the enum, not a function

    def test_binding_declares_every_function_of_the_header(self):
        declared = set(e2e._native.PROTOTYPES) | set(
            vars(e2e._native.C)) | set(e2e._native._missing)
        new = sorted(self.header_functions() - declared)
        if new:
            # A function added to e2e.h after the binding was written: the
            # binding needs updating. Shown as SKIP so it cannot pass
            # unnoticed (a failure with LIBE2E_TEST_STRICT=1).
            self.skipTest("e2e.h functions the binding does not wrap yet: "
                          + ", ".join(new))

    def test_library_exports_every_function_of_the_header(self):
        missing = sorted(n for n in self.header_functions()
                         if not e2e.has_symbol(n))
        if missing:
            self.skipTest("library does not export yet: " + ", ".join(missing))


@needs("e2e_keyring_new")
class SizesAndErrors(unittest.TestCase):
    def test_info_struct_has_the_library_size(self):
        self.assertEqual(e2e._native.C.e2e_info_sizeof(),
                         e2e.core.ctypes.sizeof(e2e._native.InfoStruct))

    def test_overheads_add_up_from_the_parts(self):
        h, t, s = e2e.header_bytes(), e2e.tag_bytes(), e2e.sig_bytes()
        self.assertEqual(e2e.overhead(e2e.Suite.MAC), h + t)
        self.assertEqual(e2e.overhead(e2e.Suite.AEAD), h + e2e.salt_bytes() + t)
        self.assertEqual(e2e.overhead(e2e.Suite.NONE, True), h + s)
        self.assertEqual(e2e.overhead_max(), e2e.overhead(e2e.Suite.AEAD, True))

    def test_signature_only_needs_a_signature(self):
        self.assertEqual(e2e.overhead(e2e.Suite.NONE, False), 0)
        self.assertEqual(e2e.sealed_len(e2e.Suite.NONE, False, 10), 0)

    def test_sealed_len_refuses_payloads_above_the_maximum(self):
        self.assertEqual(
            e2e.sealed_len(e2e.Suite.AEAD, False, e2e.payload_max() + 1), 0)
        self.assertGreater(
            e2e.sealed_len(e2e.Suite.AEAD, False, e2e.payload_max()), 0)

    def test_every_error_has_name_reason_and_message(self):
        self.assertGreater(len(e2e.ERRORS), 30)
        for name, code in e2e.ERRORS.items():
            err = e2e.E2EError(code)
            self.assertEqual(err.name, name)
            self.assertEqual(getattr(e2e, name[len("E2E_"):]), code)
            self.assertTrue(err.reason and err.message)
            self.assertIn(err.reason, str(err))

    def test_rejection_tokens_of_the_spec_exist(self):
        reasons = {e2e.E2EError(c).reason for c in e2e.ERRORS.values()}
        for token in ("malformed", "not-e2e", "unknown-key", "disabled-key",
                      "suite-mismatch", "unencrypted", "unsigned",
                      "untrusted-signer", "replay", "too-old", "future",
                      "no-timestamp", "not-retained", "stale-retained",
                      "bad-tag", "bad-signature"):
            self.assertIn(token, reasons)

    def test_unknown_code_is_named_unknown(self):
        err = e2e.E2EError(-9999)
        self.assertEqual((err.name, err.reason),
                         ("E2E_ERR_UNKNOWN", "unknown"))

    def test_suite_and_state_names_round_trip(self):
        for s in e2e.Suite:
            self.assertEqual(e2e.Suite.parse(str(s)), s)
        for s in e2e.KeyState:
            self.assertEqual(e2e.KeyState.parse(str(s)), s)
        with self.assertRaises(e2e.E2EError):
            e2e.Suite.parse("rot13")


@needs("e2e_keyring_new", "e2e_keyring_generate")
class KeyringTests(unittest.TestCase):
    def setUp(self):
        self.kr = e2e.Keyring()

    def tearDown(self):
        self.kr.close()

    def test_generate_adds_a_primary(self):
        kid = self.kr.generate(e2e.Suite.MAC)
        self.assertEqual(self.kr.primary.id, kid)
        self.assertEqual(self.kr.primary.suite, e2e.Suite.MAC)
        self.assertIn(kid, self.kr)

    def test_empty_keyring_has_no_primary(self):
        self.assertIsNone(self.kr.primary)
        self.assertEqual(len(self.kr), 0)

    def test_rotate_demotes_the_old_primary(self):
        old = self.kr.generate()
        new = self.kr.rotate()
        self.assertEqual(self.kr.primary.id, new)
        self.assertEqual(self.kr.find(old).state, e2e.KeyState.ENABLED)

    def test_keys_iterate_in_increasing_id_order(self):
        for kid in (30, 10, 20):
            self.kr.add(kid, bytes(e2e.keybytes()))
        self.assertEqual([k.id for k in self.kr], [10, 20, 30])

    def test_add_refuses_duplicate_id(self):
        self.kr.add(7, bytes(e2e.keybytes()))
        with self.assertRaises(e2e.E2EError) as cm:
            self.kr.add(7, bytes(e2e.keybytes()))
        self.assertEqual(cm.exception.code, e2e.ERR_DUPLICATE_KEY)

    def test_add_refuses_id_zero(self):
        with self.assertRaises(e2e.E2EError) as cm:
            self.kr.add(0, bytes(e2e.keybytes()))
        self.assertEqual(cm.exception.code, e2e.ERR_INVAL)

    def test_add_refuses_suite_none(self):
        with self.assertRaises(e2e.E2EError) as cm:
            self.kr.add(5, bytes(e2e.keybytes()), suite=e2e.Suite.NONE)
        self.assertEqual(cm.exception.code, e2e.ERR_INVAL)

    def test_add_refuses_a_short_key(self):
        with self.assertRaises(e2e.E2EError) as cm:
            self.kr.add(5, bytes(e2e.keybytes() - 1))
        self.assertEqual(cm.exception.reason, "invalid")

    def test_primary_cannot_be_disabled_or_removed(self):
        kid = self.kr.generate()
        for op in (self.kr.disable, self.kr.remove):
            with self.assertRaises(e2e.E2EError) as cm:
                op(kid)
            self.assertEqual(cm.exception.code, e2e.ERR_IS_PRIMARY)

    def test_find_missing_key_raises_not_found(self):
        with self.assertRaises(e2e.E2EError) as cm:
            self.kr.find(12345)
        self.assertEqual(cm.exception.reason, "not-found")

    def test_removed_key_is_gone(self):
        self.kr.generate()
        old = self.kr.generate(state=e2e.KeyState.ENABLED)
        self.kr.remove(old)
        self.assertNotIn(old, self.kr)

    def test_closed_keyring_refuses_use(self):
        self.kr.close()
        with self.assertRaises(ValueError):
            len(self.kr)
        self.kr.close()  # idempotent

    def test_context_manager_closes(self):
        with e2e.Keyring() as kr:
            kr.generate()
        self.assertTrue(kr.closed)


@needs("e2e_signer_generate", "e2e_trust_new")
class SignerAndTrustTests(unittest.TestCase):
    def test_signer_id_derives_from_public_key(self):
        with e2e.Signer.generate() as s:
            self.assertEqual(s.id, e2e.signer_id_from_public(s.public_key))

    def test_from_seed_is_deterministic(self):
        seed = bytes(range(e2e.sign_seedbytes()))
        with e2e.Signer.from_seed(seed) as a, e2e.Signer.from_seed(seed) as b:
            self.assertEqual(a.public_key, b.public_key)

    def test_from_secret_matches_from_seed(self):
        seed = bytes(range(e2e.sign_seedbytes()))
        with e2e.Signer.from_seed(seed) as a:
            with e2e.Signer.from_secret(seed + a.public_key) as b:
                self.assertEqual(a.id, b.id)

    def test_trust_lists_signers_with_filters(self):
        with e2e.Signer() as s, e2e.Trust() as t:
            t.add(s.public_key, ["a/+/c", "d/#"])
            (entry,) = list(t)
            self.assertEqual(entry.public_key, s.public_key)
            self.assertEqual(entry.filters, ("a/+/c", "d/#"))
            self.assertEqual(entry.signer_id, s.id)

    def test_trust_refuses_invalid_filter(self):
        with e2e.Signer() as s, e2e.Trust() as t:
            with self.assertRaises(e2e.E2EError) as cm:
                t.add(s.public_key, "a/#/b")
            self.assertEqual(cm.exception.code, e2e.ERR_INVAL)

    def test_trust_refuses_same_signer_twice(self):
        with e2e.Signer() as s, e2e.Trust() as t:
            t.add(s.public_key, "a")
            with self.assertRaises(e2e.E2EError) as cm:
                t.add(s.public_key, "b")
            self.assertEqual(cm.exception.code, e2e.ERR_DUPLICATE_KEY)

    def test_topic_filters_follow_mqtt_rules(self):
        self.assertTrue(e2e.topic_matches("a/+/c", "a/b/c"))
        self.assertTrue(e2e.topic_matches("a/#", "a/b/c"))
        self.assertFalse(e2e.topic_matches("a/+", "a/b/c"))
        e2e.filter_check("a/+/#")
        with self.assertRaises(e2e.E2EError):
            e2e.filter_check("a/b#")


@needs("e2e_seal", "e2e_open", "e2e_parse", "e2e_sender_new")
class RoundTrips(unittest.TestCase):
    """Every mode seals and opens back to the same bytes."""

    MODES = [(e2e.Suite.AEAD, False), (e2e.Suite.MAC, False),
             (e2e.Suite.AEAD, True), (e2e.Suite.MAC, True),
             (e2e.Suite.NONE, True)] if e2e else []

    def make(self, suite, signed, **sender_opts):
        kr = e2e.Keyring()
        self.addCleanup(kr.close)
        if suite != e2e.Suite.NONE:
            kr.generate(suite)
        signer = trust = None
        if signed:
            signer = e2e.Signer()
            trust = e2e.Trust()
            trust.add(signer.public_key, "sensors/#")
            self.addCleanup(signer.close)
            self.addCleanup(trust.close)
        sender = e2e.Sender(kr if suite != e2e.Suite.NONE else None, signer,
                            **sender_opts)
        self.addCleanup(sender.close)
        return sender, e2e.Receiver(kr, trust)

    def test_every_mode_opens_to_the_sealed_payload(self):
        for suite, signed in self.MODES:
            for payload in (b"", b"x", bytes(range(256)) * 20):
                with self.subTest(suite=str(suite), signed=signed,
                                  n=len(payload)):
                    sender, rx = self.make(suite, signed)
                    env = sender.seal(TOPIC, payload)
                    self.assertEqual(len(env), e2e.sealed_len(
                        suite, signed, len(payload)))
                    msg = rx.open(TOPIC, env)
                    self.assertEqual(msg.payload, payload)
                    self.assertEqual(msg.info.suite, suite)
                    self.assertEqual(msg.info.signed, signed)

    def test_aead_hides_the_payload_and_mac_does_not(self):
        secret = b"the-secret-payload"
        sender, _ = self.make(e2e.Suite.AEAD, False)
        self.assertNotIn(secret, sender.seal(TOPIC, secret))
        sender, _ = self.make(e2e.Suite.MAC, False)
        self.assertIn(secret, sender.seal(TOPIC, secret))

    def test_parse_reads_the_header(self):
        sender, _ = self.make(e2e.Suite.MAC, False, sender_id=42, epoch=7)
        info = e2e.parse(sender.seal(TOPIC, b"abc", retained=True))
        self.assertEqual((info.sender_id, info.epoch, info.payload_len,
                          info.retained), (42, 7, 3, True))

    def test_each_seal_uses_the_next_sequence_number(self):
        sender, _ = self.make(e2e.Suite.AEAD, False)
        first = sender.next_seq
        self.assertEqual(e2e.parse(sender.seal(TOPIC, b"1")).seq, first)
        self.assertEqual(e2e.parse(sender.seal(TOPIC, b"2")).seq, first + 1)

    def test_signed_sender_id_is_the_signer_id(self):
        sender, _ = self.make(e2e.Suite.AEAD, True)
        info = e2e.parse(sender.seal(TOPIC, b"x"))
        self.assertEqual(info.sender_id, sender.signer.id)

    def test_no_clock_sender_writes_timestamp_zero(self):
        sender, _ = self.make(e2e.Suite.MAC, False, no_clock=True)
        self.assertEqual(e2e.parse(sender.seal(TOPIC, b"x")).timestamp, 0)

    def test_bytearray_and_bytes_topic_are_accepted(self):
        sender, rx = self.make(e2e.Suite.AEAD, False)
        env = sender.seal(TOPIC.encode(), bytearray(b"ab"))
        self.assertEqual(rx.open(TOPIC, env).payload, b"ab")

    def test_str_payload_is_sealed_as_its_utf8_bytes(self):
        sender, rx = self.make(e2e.Suite.AEAD, False)
        env = sender.seal(TOPIC, "caf\u00e9 \u2603")
        self.assertEqual(rx.open(TOPIC, env).payload,
                         "caf\u00e9 \u2603".encode("utf-8"))

    def test_explicit_seal_of_a_str_equals_that_of_its_utf8_bytes(self):
        args = dict(suite=e2e.Suite.MAC, key=bytes(e2e.keybytes()),
                    key_id=7, sender_id=1, seq=2, timestamp=3)
        self.assertEqual(e2e.seal_explicit(TOPIC, "\u00e9t\u00e9", **args),
                         e2e.seal_explicit(TOPIC, "\u00e9t\u00e9".encode(),
                                           **args))

    def test_str_payload_that_is_not_utf8_encodable_is_refused(self):
        sender, _ = self.make(e2e.Suite.AEAD, False)
        with self.assertRaises(UnicodeEncodeError):
            sender.seal(TOPIC, "lone \udc80 surrogate")

    def test_other_payload_types_are_a_type_error(self):
        sender, _ = self.make(e2e.Suite.AEAD, False)
        for payload in (21.5, 3, None, ["x"]):
            with self.subTest(payload=payload), self.assertRaises(TypeError):
                sender.seal(TOPIC, payload)

    def test_str_envelope_is_a_type_error(self):
        _, rx = self.make(e2e.Suite.AEAD, False)
        with self.assertRaises(TypeError):
            rx.open(TOPIC, "not bytes")

    def test_rotated_key_still_opens_older_messages(self):
        sender, rx = self.make(e2e.Suite.AEAD, False)
        before = sender.seal(TOPIC, b"old")
        new = sender.keyring.rotate()
        after = sender.seal(TOPIC, b"new")
        self.assertEqual(e2e.parse(after).key_id, new)
        self.assertEqual(rx.open(TOPIC, before).payload, b"old")
        self.assertEqual(rx.open(TOPIC, after).payload, b"new")


@needs("e2e_seal", "e2e_open")
class ReceiverContext(unittest.TestCase):
    def setUp(self):
        self.kr, self.sender = support.keyring_and_sender(self)

    def test_with_block_gives_the_receiver_and_closes_it(self):
        env = self.sender.seal(TOPIC, b"x")
        with e2e.Receiver(self.kr) as rx:
            self.assertEqual(rx.open(TOPIC, env).payload, b"x")
            self.assertFalse(rx.closed)
        self.assertTrue(rx.closed)
        with self.assertRaisesRegex(ValueError, "Receiver is closed"):
            rx.open(TOPIC, env)

    def test_closing_the_receiver_leaves_its_keyring_and_guard_open(self):
        guard = e2e.Guard()
        self.addCleanup(guard.close)
        with e2e.Receiver(self.kr, guard=guard):
            pass
        self.assertFalse(self.kr.closed)
        self.assertFalse(guard.closed)
        self.assertEqual(len(self.kr), 1)

    def test_closed_receiver_cannot_be_entered_again(self):
        rx = e2e.Receiver(self.kr)
        rx.close()
        rx.close()  # idempotent
        with self.assertRaises(ValueError):
            with rx:
                pass

    def test_exception_in_the_block_propagates_and_closes(self):
        with self.assertRaises(KeyError):
            with e2e.Receiver(self.kr) as rx:
                raise KeyError("x")
        self.assertTrue(rx.closed)


@needs("e2e_seal", "e2e_open", "e2e_seal_explicit")
class SealErrors(unittest.TestCase):
    def setUp(self):
        self.kr = e2e.Keyring()
        self.kr.generate()
        self.sender = e2e.Sender(self.kr)

    def tearDown(self):
        self.sender.close()
        self.kr.close()

    def assertSealError(self, topic, code, payload=b"x"):
        with self.assertRaises(e2e.E2EError) as cm:
            self.sender.seal(topic, payload)
        self.assertEqual(cm.exception.name, e2e.E2EError(code).name)

    def test_seal_refuses_wildcard_topics(self):
        self.assertSealError("a/+/b", e2e.ERR_TOPIC)
        self.assertSealError("a/#", e2e.ERR_TOPIC)

    def test_seal_refuses_empty_topic(self):
        self.assertSealError("", e2e.ERR_TOPIC)

    def test_seal_refuses_topic_longer_than_the_maximum(self):
        self.assertSealError("t" * (e2e.topic_max() + 1), e2e.ERR_TOPIC)
        self.sender.seal("t" * e2e.topic_max(), b"x")

    def test_seal_refuses_nul_in_topic(self):
        self.assertSealError("a\0b", e2e.ERR_TOPIC)

    def test_seal_without_primary_key_is_no_key(self):
        with e2e.Keyring() as empty, e2e.Sender(empty) as s:
            with self.assertRaises(e2e.E2EError) as cm:
                s.seal(TOPIC, b"x")
            self.assertEqual(cm.exception.code, e2e.ERR_NO_KEY)

    def test_signature_only_without_signer_is_refused(self):
        with e2e.Sender(None) as s:
            with self.assertRaises(e2e.E2EError) as cm:
                s.seal(TOPIC, b"x")
            self.assertEqual(cm.exception.code, e2e.ERR_INVAL)

    def test_sender_refuses_a_closed_signer(self):
        signer = e2e.Signer()
        with e2e.Sender(self.kr, signer) as s:
            signer.close()
            with self.assertRaises(ValueError):
                s.seal(TOPIC, b"x")

    def test_sender_refuses_a_closed_keyring(self):
        self.kr.close()
        with self.assertRaises(ValueError):
            self.sender.seal(TOPIC, b"x")

    def test_receiver_refuses_a_closed_keyring(self):
        env = self.sender.seal(TOPIC, b"x")
        rx = e2e.Receiver(self.kr)
        self.kr.close()
        with self.assertRaises(ValueError):
            rx.open(TOPIC, env)

    def test_explicit_seal_refuses_a_short_key_or_salt(self):
        args = dict(suite=e2e.Suite.AEAD, key_id=1, sender_id=1, seq=1)
        k, s = e2e.keybytes(), e2e.salt_bytes()
        for key, salt in ((bytes(k - 1), bytes(s)), (bytes(k), bytes(s - 1))):
            with self.assertRaises(e2e.E2EError) as cm:
                e2e.seal_explicit(TOPIC, b"x", key=key, salt=salt, **args)
            self.assertEqual(cm.exception.code, e2e.ERR_INVAL)

    def test_explicit_seal_refuses_signer_with_other_sender_id(self):
        with e2e.Signer() as signer:
            with self.assertRaises(e2e.E2EError) as cm:
                e2e.seal_explicit(TOPIC, b"x", suite=e2e.Suite.NONE,
                                  signer=signer, sender_id=signer.id ^ 1,
                                  seq=1)
            self.assertEqual(cm.exception.code, e2e.ERR_INVAL)


@needs("e2e_seal", "e2e_open", "e2e_seal_explicit")
class OpenRejections(unittest.TestCase):
    """Each way a receiver refuses a message, with its stable reason."""

    def setUp(self):
        self.kr = e2e.Keyring()
        self.key_id = self.kr.generate(e2e.Suite.AEAD)
        self.sender = e2e.Sender(self.kr)
        self.rx = e2e.Receiver(self.kr)

    def tearDown(self):
        self.sender.close()
        self.kr.close()

    def rejects(self, reason, envelope, topic=TOPIC, rx=None, **kw):
        with self.assertRaises(e2e.Rejected) as cm:
            (rx or self.rx).open(topic, envelope, **kw)
        self.assertEqual(cm.exception.reason, reason)
        return cm.exception

    def test_open_rejects_moved_topic(self):
        env = self.sender.seal(TOPIC, b"x")
        err = self.rejects("bad-tag", env, topic="sensors/garage/temp")
        self.assertEqual(err.topic, "sensors/garage/temp")
        self.assertEqual(err.info.key_id, self.key_id)

    def test_open_rejects_every_flipped_bit(self):
        env = self.sender.seal(TOPIC, b"hi")
        for i in range(len(env)):
            for bit in range(8):
                with self.subTest(byte=i, bit=bit):
                    with self.assertRaises(e2e.Rejected):
                        self.rx.open(TOPIC, flip(env, i, 1 << bit))

    def test_open_rejects_every_truncation(self):
        env = self.sender.seal(TOPIC, b"hi")
        for n in range(len(env)):
            with self.subTest(length=n):
                with self.assertRaises(e2e.Rejected):
                    self.rx.open(TOPIC, env[:n])

    def test_open_rejects_appended_bytes(self):
        self.rejects("bad-tag", self.sender.seal(TOPIC, b"hi") + b"\0")

    def test_open_rejects_plain_text_as_not_e2e(self):
        err = self.rejects("not-e2e", b'{"temp": 21.5}')
        self.assertIsNone(err.info)

    def test_open_rejects_other_version_as_malformed(self):
        env = self.sender.seal(TOPIC, b"x")
        err = self.rejects("malformed", b"\xfe" + env[1:])
        self.assertEqual(err.code, e2e.ERR_VERSION)

    def test_open_rejects_reserved_flag_bits(self):
        env = self.sender.seal(TOPIC, b"x")
        err = self.rejects("malformed", flip(env, 1, 0x80))
        self.assertEqual(err.code, e2e.ERR_RESERVED)

    def test_open_rejects_unknown_key(self):
        with e2e.Keyring() as other:
            other.generate()
            self.rejects("unknown-key", self.sender.seal(TOPIC, b"x"),
                         rx=e2e.Receiver(other))

    def test_open_rejects_disabled_key(self):
        env = self.sender.seal(TOPIC, b"x")
        self.kr.rotate()
        self.kr.disable(self.key_id)
        self.rejects("disabled-key", env)

    def test_open_rejects_suite_mismatch(self):
        key = bytes(range(e2e.keybytes()))
        env = e2e.seal_explicit(TOPIC, b"x", suite=e2e.Suite.AEAD, key=key,
                                key_id=99, sender_id=1, seq=1,
                                salt=bytes(e2e.salt_bytes()))
        with e2e.Keyring() as kr:
            kr.add(99, key, suite=e2e.Suite.MAC)
            self.rejects("suite-mismatch", env, rx=e2e.Receiver(kr))

    def test_open_rejects_mac_when_encryption_required(self):
        with e2e.Keyring() as kr, e2e.Sender(kr) as s:
            kr.generate(e2e.Suite.MAC)
            self.rejects("unencrypted", s.seal(TOPIC, b"x"),
                         rx=e2e.Receiver(kr, require_encryption=True))

    def test_open_rejects_unsigned_when_signature_required(self):
        self.rejects("unsigned", self.sender.seal(TOPIC, b"x"),
                     rx=e2e.Receiver(self.kr, require_signature=True))

    def test_open_rejects_signed_message_without_trust(self):
        with e2e.Signer() as signer, e2e.Sender(self.kr, signer) as s:
            self.rejects("untrusted-signer", s.seal(TOPIC, b"x"))

    def test_open_rejects_signer_outside_its_topics(self):
        with e2e.Signer() as signer, e2e.Trust() as t, \
                e2e.Sender(self.kr, signer) as s:
            t.add(signer.public_key, "alerts/#")
            self.rejects("untrusted-signer", s.seal(TOPIC, b"x"),
                         rx=e2e.Receiver(self.kr, t))

    def test_open_rejects_bad_signature(self):
        with e2e.Signer() as signer, e2e.Trust() as t, \
                e2e.Sender(None, signer) as s:
            t.add(signer.public_key, "#")
            env = s.seal(TOPIC, b"x")
            self.rejects("bad-signature", flip(env, len(env) - 1),
                         rx=e2e.Receiver(trust=t))

    def test_open_rejects_retained_delivery_without_intent(self):
        self.rejects("not-retained", self.sender.seal(TOPIC, b"x"),
                     retained=True)

    def test_open_accepts_retained_delivery_with_intent(self):
        env = self.sender.seal(TOPIC, b"x", retained=True)
        self.assertTrue(self.rx.open(TOPIC, env, retained=True).retained)


@needs("e2e_epoch_reserve", "e2e_epoch_renew", "e2e_epoch_release",
       "e2e_sender_advance")
class SenderStateFile(unittest.TestCase):
    """Sender(state=PATH): e2e_epoch_reserve through the binding."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.state = os.path.join(self.tmp.name, "sender.state")
        self.kr = e2e.Keyring()
        self.kr.generate()

    def tearDown(self):
        self.kr.close()
        self.tmp.cleanup()

    def test_restarts_start_above_every_earlier_sequence(self):
        last = -1
        for _ in range(20):
            with e2e.Sender(self.kr, sender_id=9, state=self.state) as s:
                first = s.next_seq
                self.assertGreater(first, last)
                for _ in range(3):
                    last = e2e.parse(s.seal(TOPIC, b"x")).seq
        os.unlink(self.state)  # lost: the clock alone is still above
        with e2e.Sender(self.kr, sender_id=9) as s:
            self.assertGreater(s.next_seq, last)

    def test_second_sender_on_the_same_file_is_refused_naming_the_pid(self):
        with e2e.Sender(self.kr, state=self.state):
            with self.assertRaises(e2e.E2EError) as cm:
                e2e.Sender(self.kr, state=self.state)
            self.assertEqual(cm.exception.name, "E2E_ERR_LOCKED")
            self.assertIn("PID %d" % os.getpid(), str(cm.exception))
        e2e.Sender(self.kr, state=self.state).close()  # free again

    def test_symlinked_state_file_is_refused(self):
        target = os.path.join(self.tmp.name, "target")
        os.symlink(target, self.state)
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Sender(self.kr, state=self.state)
        self.assertEqual(cm.exception.name, "E2E_ERR_UNSAFE_FILE")
        self.assertFalse(os.path.lexists(target))


@needs_guard
@needs("e2e_seal", "e2e_open", "e2e_guard_save", "e2e_guard_load")
class GuardTests(unittest.TestCase):
    def setUp(self):
        self.kr = e2e.Keyring()
        self.kr.generate()
        self.sender = e2e.Sender(self.kr, epoch=1000)
        self.guard = e2e.Guard()
        self.rx = e2e.Receiver(self.kr, guard=self.guard)
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.sender.close()
        self.guard.close()
        self.kr.close()
        self.tmp.cleanup()

    def rejects(self, reason, env, rx=None, **kw):
        with self.assertRaises(e2e.Rejected) as cm:
            (rx or self.rx).open(TOPIC, env, **kw)
        self.assertEqual(cm.exception.reason, reason)

    def test_default_options_come_from_the_library(self):
        o = e2e.Guard.default_options()
        self.assertEqual(self.guard.options["window"], o.window)
        self.assertGreaterEqual(o.window, 64)

    def test_open_rejects_replay(self):
        env = self.sender.seal(TOPIC, b"x")
        self.rx.open(TOPIC, env)
        self.rejects("replay", env)

    def test_reordered_messages_inside_the_window_are_accepted(self):
        a = self.sender.seal(TOPIC, b"a")
        b = self.sender.seal(TOPIC, b"b")
        self.assertEqual(self.rx.open(TOPIC, b).payload, b"b")
        self.assertEqual(self.rx.open(TOPIC, a).payload, b"a")

    def test_open_rejects_too_old(self):
        env = self.sender.seal(TOPIC, b"x")
        ts = e2e.parse(env).timestamp
        self.rejects("too-old", env,
                     now=ts + self.guard.options["max_age"] + 1)

    def test_open_rejects_future(self):
        env = self.sender.seal(TOPIC, b"x")
        ts = e2e.parse(env).timestamp
        self.rejects("future", env,
                     now=ts - self.guard.options["max_skew"] - 1)

    def test_open_rejects_first_clockless_message_without_tofu(self):
        with e2e.Sender(self.kr, no_clock=True) as s:
            self.rejects("no-timestamp", s.seal(TOPIC, b"x"))

    def test_tofu_guard_accepts_clockless_sender(self):
        with e2e.Sender(self.kr, no_clock=True) as s, \
                e2e.Guard(accept_no_clock=True) as g:
            rx = e2e.Receiver(self.kr, guard=g)
            self.assertEqual(rx.open(TOPIC, s.seal(TOPIC, b"x")).payload,
                             b"x")

    def test_open_rejects_stale_retained(self):
        old = self.sender.seal(TOPIC, b"old", retained=True)
        new = self.sender.seal(TOPIC, b"new", retained=True)
        self.rx.open(TOPIC, new, retained=True)
        self.rejects("stale-retained", old, retained=True)

    def test_max_retained_age_refuses_older_retained(self):
        env = self.sender.seal(TOPIC, b"x", retained=True)
        ts = e2e.parse(env).timestamp
        with e2e.Guard(max_retained_age=60) as g:
            self.assertEqual(g.options["max_retained_age"], 60)
            rx = e2e.Receiver(self.kr, guard=g)
            self.rejects("too-old", env, rx=rx, retained=True, now=ts + 61)
            self.assertEqual(
                rx.open(TOPIC, env, retained=True, now=ts + 60).payload,
                b"x")

    def test_rejected_message_leaves_the_guard_unchanged(self):
        env = self.sender.seal(TOPIC, b"x")
        with self.assertRaises(e2e.Rejected):
            self.rx.open(TOPIC, flip(env, len(env) - 1))
        self.assertEqual(self.guard.sender_count, 0)
        self.assertEqual(self.rx.open(TOPIC, env).payload, b"x")
        self.assertEqual(self.guard.sender_count, 1)

    def test_saved_state_still_refuses_replay(self):
        env = self.sender.seal(TOPIC, b"x")
        self.rx.open(TOPIC, env)
        path = os.path.join(self.tmp.name, "state")
        self.guard.save(path)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with e2e.Guard() as g2:
            g2.load(path)
            self.rejects("replay", env, rx=e2e.Receiver(self.kr, guard=g2))

    def test_corrupt_state_file_is_refused_with_its_line(self):
        path = os.path.join(self.tmp.name, "state")
        with open(path, "w") as f:
            f.write("this is not a state file\n")
        with self.assertRaises(e2e.E2EError) as cm:
            self.guard.load(path)
        self.assertEqual(cm.exception.code, e2e.ERR_STATE_CORRUPT)
        self.assertIsInstance(cm.exception.bad_line, int)

    def test_missing_state_file_is_io(self):
        with self.assertRaises(e2e.E2EError) as cm:
            self.guard.load(os.path.join(self.tmp.name, "absent"))
        self.assertEqual(cm.exception.code, e2e.ERR_IO)

    def test_check_and_commit_split_open(self):
        env = self.sender.seal(TOPIC, b"x")
        info = e2e.parse(env)
        self.guard.check(info, TOPIC, now=info.timestamp)
        self.guard.commit(info, TOPIC, now=info.timestamp)
        with self.assertRaises(e2e.Rejected) as cm:
            self.guard.check(info, TOPIC, now=info.timestamp)
        self.assertEqual(cm.exception.reason, "replay")

    def test_invalid_window_is_refused(self):
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Guard(window=65)
        self.assertEqual(cm.exception.code, e2e.ERR_INVAL)


@needs("e2e_keyring_load", "e2e_keyring_save", "e2e_signer_load",
       "e2e_signer_save", "e2e_pubkey_load", "e2e_trust_load",
       "e2e_trust_save", "e2e_seal", "e2e_open")
class KeyFileTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.kr = e2e.Keyring()
        self.kr.generate(e2e.Suite.AEAD)

    def tearDown(self):
        self.kr.close()
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_saved_keyring_loads_with_the_same_keys(self):
        self.kr.save(self.path("kr"))
        self.assertEqual(stat.S_IMODE(os.stat(self.path("kr")).st_mode),
                         0o600)
        with e2e.Keyring.load(self.path("kr")) as loaded, \
                e2e.Sender(loaded) as s:
            self.assertEqual(list(loaded), list(self.kr))
            env = s.seal(TOPIC, b"x")
            self.assertEqual(e2e.Receiver(self.kr).open(TOPIC, env).payload,
                             b"x")

    def test_exclusive_save_refuses_existing_file(self):
        self.kr.save(self.path("kr"))
        with self.assertRaises(e2e.E2EError) as cm:
            self.kr.save(self.path("kr"), exclusive=True)
        self.assertEqual(cm.exception.code, e2e.ERR_EXISTS)

    def test_group_readable_keyring_is_refused(self):
        self.kr.save(self.path("kr"))
        os.chmod(self.path("kr"), 0o640)
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Keyring.load(self.path("kr"))
        self.assertEqual(cm.exception.reason, "permissions")

    def test_garbage_keyring_is_refused_with_its_line(self):
        with open(self.path("kr"), "w") as f:
            f.write("not a keyring\n")
        os.chmod(self.path("kr"), 0o600)
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Keyring.load(self.path("kr"))
        self.assertEqual(cm.exception.reason, "keyfile")
        self.assertIsInstance(cm.exception.bad_line, int)

    def test_absent_keyring_is_an_io_error(self):
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Keyring.load(self.path("absent"))
        self.assertEqual(cm.exception.code, e2e.ERR_IO)
        self.assertFalse(os.path.exists(self.path("absent")))

    def keyring_lines(self):
        """A saved two-key keyring: its lines, and the indexes of the header
        line, of the enabled key and of the primary key."""
        self.kr.rotate()
        self.kr.save(self.path("good"))
        with open(self.path("good")) as f:
            lines = f.read().splitlines()
        body = [i for i, ln in enumerate(lines) if ln and ln[0] != "#"]
        enabled, = (i for i in body if " enabled " in lines[i])
        primary, = (i for i in body if " primary " in lines[i])
        return lines, body[0], (enabled, primary)

    def assertKeyringRefused(self, lines, name):
        with open(self.path("bad"), "w") as f:
            f.write("".join(ln + "\n" for ln in lines))
        os.chmod(self.path("bad"), 0o600)
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Keyring.load(self.path("bad"))
        self.assertEqual(cm.exception.name, name)
        return cm.exception

    def test_keyring_file_errors_name_their_cause(self):
        lines, head, keys = self.keyring_lines()
        first, second = keys

        def edit(index, old, new):
            out = list(lines)
            out[index] = out[index].replace(old, new)
            self.assertNotEqual(out, lines)
            return out

        # name, and the line at fault (0: the file as a whole)
        cases = {
            "empty file": ([], "E2E_ERR_EMPTY", 0),
            "future version": (edit(head, " 1", " 2"),
                               "E2E_ERR_KEYFILE_VERSION", head + 1),
            "two primaries": (edit(first, "enabled", "primary"),
                              "E2E_ERR_TWO_PRIMARIES", None),
            "only disabled keys": (
                [ln.replace(" enabled ", " disabled ").replace(
                    " primary ", " disabled ") for ln in lines],
                "E2E_ERR_NO_PRIMARY", 0),
            "duplicate id": (edit(second, lines[second].split()[0],
                                  lines[first].split()[0]),
                             "E2E_ERR_DUPLICATE_KEY", None),
            "short key": (edit(first, lines[first].split()[-1], "AAAA"),
                          "E2E_ERR_BASE64", first + 1),
        }
        for what, (text, name, line) in cases.items():
            with self.subTest(what):
                err = self.assertKeyringRefused(text, name)
                if line is not None:
                    self.assertEqual(err.bad_line, line)

    def test_keyring_file_error_points_at_its_line(self):
        lines, _, (first, second) = self.keyring_lines()
        bad = list(lines)
        bad[second] = "this line is not a key"
        err = self.assertKeyringRefused(bad, "E2E_ERR_KEYFILE")
        self.assertEqual(err.bad_line, second + 1)

    def test_trust_file_others_may_write_is_refused(self):
        with e2e.Trust() as t:
            t.save(self.path("trust"))
        os.chmod(self.path("trust"), 0o666)
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Trust.load(self.path("trust"))
        self.assertEqual(cm.exception.code, e2e.ERR_WRITABLE)
        self.assertEqual(cm.exception.bad_line, 0)

    def test_unsafe_directory_names_a_directory_others_may_write(self):
        self.kr.save(self.path("kr"))
        self.assertIsNone(e2e.unsafe_directory(self.path("kr")))
        os.chmod(self.tmp.name, 0o777)
        self.assertEqual(e2e.unsafe_directory(self.path("kr")),
                         os.path.realpath(self.tmp.name))
        os.chmod(self.tmp.name, 0o1777)  # sticky, as /tmp
        self.assertIsNone(e2e.unsafe_directory(self.path("kr")))
        os.chmod(self.tmp.name, 0o700)

    def test_missing_keyring_is_io(self):
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Keyring.load(self.path("absent"))
        self.assertEqual(cm.exception.code, e2e.ERR_IO)

    def test_signer_round_trips_with_passphrase(self):
        with e2e.Signer() as s:
            # The weakest Argon2id costs libsodium allows: a fast test.
            s.save(self.path("sk"), "correct horse", opslimit=1,
                   memlimit=8192)
            with e2e.Signer.load(self.path("sk"), "correct horse") as t:
                self.assertEqual(t.public_key, s.public_key)
            self.assertEqual(e2e.Signer.inspect(self.path("sk")),
                             (s.public_key, True))

    def test_wrong_passphrase_is_refused(self):
        with e2e.Signer() as s:
            s.save(self.path("sk"), "right", opslimit=1, memlimit=8192)
        for wrong in ("wrong", None):
            with self.assertRaises(e2e.E2EError) as cm:
                e2e.Signer.load(self.path("sk"), wrong)
            self.assertEqual(cm.exception.code, e2e.ERR_PASSPHRASE)

    def test_unencrypted_signer_loads_without_passphrase(self):
        with e2e.Signer() as s:
            s.save(self.path("sk"))
            with e2e.Signer.load(self.path("sk")) as t:
                self.assertEqual(t.id, s.id)
            self.assertFalse(e2e.Signer.inspect(self.path("sk"))[1])

    def test_public_key_file_round_trips(self):
        with e2e.Signer() as s:
            s.save_public(self.path("pk"))
            self.assertEqual(e2e.load_public_key(self.path("pk")),
                             s.public_key)

    def test_trust_file_round_trips(self):
        with e2e.Signer() as s, e2e.Trust() as t:
            t.add(s.public_key, ["a/#", "b/+"])
            t.save(self.path("trust"))
            with e2e.Trust.load(self.path("trust")) as loaded:
                self.assertEqual(list(loaded), list(t))


@needs("e2e_keyring_load", "e2e_keyring_save", "e2e_signer_load",
       "e2e_pubkey_load", "e2e_trust_load", "e2e_guard_load")
class FileErrors(unittest.TestCase):
    """A file the library cannot read or write is an E2EError (ERR_IO,
    reason io) and the OSError of the errno the library left."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.absent = os.path.join(self.tmp.name, "absent")
        self.in_absent_dir = os.path.join(self.absent, "file")

    def assertMissing(self, cm, path):
        err = cm.exception
        self.assertIsInstance(err, FileNotFoundError)
        self.assertIsInstance(err, e2e.E2EError)
        self.assertIsInstance(err, e2e.FileError)
        self.assertEqual(err.errno, errno.ENOENT)
        self.assertEqual(err.filename, path)
        self.assertEqual(err.code, e2e.ERR_IO)
        self.assertEqual(err.reason, "io")
        self.assertIn(os.strerror(errno.ENOENT), str(err))
        self.assertIn(path, str(err))

    def test_missing_keyring_is_file_not_found(self):
        with self.assertRaises(FileNotFoundError) as cm:
            e2e.Keyring.load(self.absent)
        self.assertMissing(cm, self.absent)

    def test_missing_keyring_is_still_caught_as_e2e_error(self):
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Keyring.load(self.absent)
        self.assertEqual(cm.exception.bad_line, 0)

    def test_missing_signer_public_key_and_trust_are_file_not_found(self):
        for load in (e2e.Signer.load, e2e.Signer.inspect,
                     e2e.load_public_key, e2e.Trust.load):
            with self.subTest(load=load.__qualname__):
                with self.assertRaises(FileNotFoundError) as cm:
                    load(self.absent)
                self.assertMissing(cm, self.absent)

    @needs_guard
    def test_missing_replay_state_is_file_not_found(self):
        with e2e.Guard() as guard:
            with self.assertRaises(FileNotFoundError) as cm:
                guard.load(self.absent)
            self.assertMissing(cm, self.absent)
            with self.assertRaises(FileNotFoundError) as cm:
                guard.save(self.in_absent_dir)
            self.assertMissing(cm, self.in_absent_dir)

    def test_saving_into_a_missing_directory_is_file_not_found(self):
        with e2e.Keyring() as kr:
            kr.generate()
            with self.assertRaises(FileNotFoundError) as cm:
                kr.save(self.in_absent_dir)
            self.assertMissing(cm, self.in_absent_dir)

    @needs("e2e_epoch_reserve")
    def test_sender_state_in_a_missing_directory_is_file_not_found(self):
        with self.assertRaises(FileNotFoundError) as cm:
            e2e.Sender(None, e2e.Signer(), state=self.in_absent_dir)
        self.assertMissing(cm, self.in_absent_dir)

    def test_a_path_as_bytes_or_pathlike_is_named_as_text(self):
        for path in (os.fsencode(self.absent), pathlib.Path(self.absent)):
            with self.subTest(path=path):
                with self.assertRaises(FileNotFoundError) as cm:
                    e2e.Keyring.load(path)
                self.assertEqual(cm.exception.filename, self.absent)

    def test_other_errnos_give_their_own_oserror(self):
        # A path through a regular file: ENOTDIR, as os.open would say.
        plain = os.path.join(self.tmp.name, "plain")
        open(plain, "w").close()
        with self.assertRaises(NotADirectoryError) as cm:
            e2e.Keyring.load(os.path.join(plain, "kr"))
        self.assertIsInstance(cm.exception, e2e.E2EError)
        self.assertEqual(cm.exception.errno, errno.ENOTDIR)

    def test_file_error_survives_pickling(self):
        with self.assertRaises(FileNotFoundError) as cm:
            e2e.Keyring.load(self.absent)
        copy = pickle.loads(pickle.dumps(cm.exception))
        self.assertIs(type(copy), type(cm.exception))
        self.assertEqual(str(copy), str(cm.exception))
        self.assertEqual(copy.errno, errno.ENOENT)


@needs("e2e_seal", "e2e_open", "e2e_subscription_matches")
class Subscriptions(unittest.TestCase):
    """A receiver given its subscriptions refuses every other topic before
    any cryptography (issue 11 item 1)."""

    def setUp(self):
        self.kr, self.sender = support.keyring_and_sender(self)

    def test_envelope_for_an_unsubscribed_topic_is_not_subscribed(self):
        rx = e2e.Receiver(self.kr, filters=["sensors/kitchen/#"])
        with self.assertRaises(e2e.Rejected) as cm:
            rx.open("alerts/fire", self.sender.seal("alerts/fire", b"x"))
        self.assertEqual(cm.exception.reason, "not-subscribed")

    def test_topic_check_comes_before_parsing(self):
        rx = e2e.Receiver(self.kr, filters=["sensors/kitchen/#"])
        with self.assertRaises(e2e.Rejected) as cm:
            rx.open("alerts/fire", b"not an envelope")
        self.assertEqual(cm.exception.reason, "not-subscribed")

    def test_subscribed_topic_is_opened(self):
        rx = e2e.Receiver(self.kr, filters=["alerts/#", "sensors/+/temp"])
        msg = rx.open(TOPIC, self.sender.seal(TOPIC, b"21.5"))
        self.assertEqual(msg.payload, b"21.5")

    def test_shared_subscription_matches_by_its_filter(self):
        rx = e2e.Receiver(self.kr, filters=["$share/workers/sensors/#"])
        self.assertEqual(rx.open(TOPIC, self.sender.seal(TOPIC, b"v"))
                         .payload, b"v")

    def test_filters_given_to_open_replace_the_receivers(self):
        rx = e2e.Receiver(self.kr, filters=["sensors/#"])
        with self.assertRaises(e2e.Rejected) as cm:
            rx.open(TOPIC, self.sender.seal(TOPIC, b"v"), filters=["a/b"])
        self.assertEqual(cm.exception.reason, "not-subscribed")

    def test_filter_list_changed_after_construction_is_not_used(self):
        filters = ["sensors/#"]
        rx = e2e.Receiver(self.kr, filters=filters)
        filters[0] = "other/#"
        del filters
        import gc
        gc.collect()
        self.assertEqual(rx.open(TOPIC, self.sender.seal(TOPIC, b"v"))
                         .payload, b"v")

    def test_subscription_with_a_nul_byte_is_a_value_error(self):
        with self.assertRaises(ValueError):
            e2e.Receiver(self.kr, filters=["a/\0b"])

    def test_subscription_matches_strips_the_share_prefix(self):
        self.assertTrue(e2e.subscription_matches("$share/g/a/+", "a/b"))
        self.assertFalse(e2e.subscription_matches("$share/g/a/+", "b/b"))
        self.assertFalse(e2e.subscription_matches("$share//a/+", "a/b"))
        self.assertFalse(e2e.subscription_matches("a/#", "a/\0b"))


@needs("e2e_open")
class TopicsAsReceived(unittest.TestCase):
    """What a broker puts in a topic reaches the caller as a Rejected with
    a reason, and prints escaped (issue 11 item 7)."""

    def test_topic_with_a_nul_byte_is_rejected_as_bad_topic(self):
        with e2e.Keyring() as kr:
            kr.generate()
            with self.assertRaises(e2e.Rejected) as cm:
                e2e.Receiver(kr).open("sensors/a\0b", b"x")
        self.assertEqual((cm.exception.reason, cm.exception.raw_topic),
                         ("bad-topic", b"sensors/a\0b"))

    def test_escape_names_line_controls_and_writes_others_as_hex(self):
        self.assertEqual(e2e.escape("a\nb\rc\td\x1be\x7ff\x00"),
                         "a\\nb\\rc\\td\\x1be\\x7ff\\x00")

    def test_escape_writes_c1_controls_as_code_points(self):
        self.assertEqual(e2e.escape("a\x85b\x9b"), "a\\u{0085}b\\u{009b}")

    def test_escape_writes_bidi_controls_and_separators_as_code_points(self):
        for ch in ("\u202a", "\u202e", "\u2066", "\u2069", "\u2028",
                   "\u2029"):
            with self.subTest(ch=hex(ord(ch))):
                want = "\\u{%04x}" % ord(ch)
                self.assertEqual(e2e.escape("a" + ch + "b"),
                                 "a" + want + "b")

    def test_escape_doubles_a_backslash_so_output_is_unambiguous(self):
        self.assertEqual(e2e.escape("a\\x0ab"), "a\\\\x0ab")

    def test_escape_writes_each_byte_that_is_not_utf8(self):
        self.assertEqual(e2e.escape(b"a\xff\xe2\x80b\xed\xa0\x80"),
                         "a\\xff\\xe2\\x80b\\xed\\xa0\\x80")

    def test_escape_keeps_printable_unicode(self):
        self.assertEqual(e2e.escape("k\u00fcche/\u6e29\u5ea6 \U0001f321"),
                         "k\u00fcche/\u6e29\u5ea6 \U0001f321")


@needs("e2e_seal_explicit", "e2e_sender_new", "e2e_guard_new")
class IntegerRanges(unittest.TestCase):
    """Every int that goes into a C field or argument is range-checked:
    ctypes would keep only its low bits (issue 11 item 7)."""

    def setUp(self):
        self.kr = e2e.Keyring()
        self.kr.generate()

    def tearDown(self):
        self.kr.close()

    def assertValueError(self, fn, *args, **kw):
        with self.assertRaises(ValueError) as cm:
            fn(*args, **kw)
        return str(cm.exception)

    def test_key_id_above_32_bits_is_not_truncated(self):
        msg = self.assertValueError(self.kr.add, (1 << 32) + 5,
                                    bytes(e2e.keybytes()))
        self.assertIn("key id must be in 0..4294967295", msg)
        self.assertNotIn(5, self.kr)

    def test_sender_id_above_64_bits_is_not_truncated(self):
        self.assertValueError(e2e.Sender, self.kr, sender_id=(1 << 64) + 7)

    def test_epoch_above_32_bits_is_not_truncated(self):
        self.assertValueError(e2e.Sender, self.kr, epoch=(1 << 32) + 1)

    def test_negative_epoch_is_not_wrapped(self):
        self.assertValueError(e2e.Sender, self.kr, epoch=-1)

    def test_guard_option_above_32_bits_is_not_truncated(self):
        self.assertValueError(e2e.Guard, max_age=(1 << 32) + 10)

    def test_every_int_argument_is_range_checked(self):
        key = bytes(e2e.keybytes())
        salt = bytes(e2e.salt_bytes())
        seal = dict(suite=e2e.Suite.AEAD, key=key, key_id=1, sender_id=1,
                    seq=1, salt=salt)
        info = e2e.parse(e2e.seal_explicit(TOPIC, b"x", **seal))
        g = e2e.Guard()
        self.addCleanup(g.close)
        rx = e2e.Receiver(self.kr, guard=g)
        signer = e2e.Signer()
        self.addCleanup(signer.close)
        tmp = tempfile.TemporaryDirectory(prefix="e2e-py-ranges-")
        self.addCleanup(tmp.cleanup)
        nowhere = os.path.join(tmp.name, "no-such-dir", "signer.sec")
        big32, big64 = 1 << 32, 1 << 64
        calls = {
            "seal key_id": lambda: e2e.seal_explicit(
                TOPIC, b"x", **dict(seal, key_id=big32 + 1)),
            "seal sender_id": lambda: e2e.seal_explicit(
                TOPIC, b"x", **dict(seal, sender_id=big64)),
            "seal seq": lambda: e2e.seal_explicit(
                TOPIC, b"x", **dict(seal, seq=-1)),
            "seal timestamp": lambda: e2e.seal_explicit(
                TOPIC, b"x", **dict(seal, timestamp=big32 + 5)),
            "keyring created": lambda: self.kr.generate(created=1 << 63),
            "keyring set_state": lambda: self.kr.promote(big32 + 1),
            "keyring find": lambda: self.kr.find(big32 + 1),
            "keyring remove": lambda: self.kr.remove(big32 + 1),
            "guard window": lambda: e2e.Guard(window=big32 + 64),
            "guard max_senders": lambda: e2e.Guard(max_senders=big32 + 1),
            "guard max_retained_topics": lambda: e2e.Guard(
                max_retained_topics=-1),
            "guard max_skew": lambda: e2e.Guard(max_skew=big32),
            "guard check now": lambda: g.check(info, TOPIC, now=-1),
            "guard commit now": lambda: g.commit(info, TOPIC, now=big64),
            "info seq": lambda: g.check(
                dataclasses.replace(info, seq=big64 + 1), TOPIC),
            "info key_id": lambda: g.check(
                dataclasses.replace(info, key_id=big32), TOPIC),
            "open now": lambda: rx.open(TOPIC, b"x", now=-1),
            "sealed_len n": lambda: e2e.sealed_len(e2e.Suite.AEAD, False,
                                                   big64 + 1),
            "signer save opslimit": lambda: signer.save(
                nowhere, "pw", opslimit=big64),
            "signer save memlimit": lambda: signer.save(
                nowhere, "pw", memlimit=-1),
        }
        for name, call in calls.items():
            with self.subTest(name):
                self.assertRaises(ValueError, call)

    def test_non_int_is_a_type_error(self):
        with self.assertRaises(TypeError):
            e2e.Sender(self.kr, epoch=1.5)


if __name__ == "__main__":
    support.main()
