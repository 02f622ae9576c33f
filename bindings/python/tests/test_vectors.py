#!/usr/bin/python3 -B
"""Every known-answer vector of tests/vectors/envelope-v1.json through the
binding: positive vectors seal to the exact bytes and open to the payload;
negative vectors are rejected with their error and reason."""

import json
import os
import sys
import unittest

import support
from support import libe2e as e2e, needs

VECTORS = os.path.join(support.SRCDIR, "tests", "vectors", "envelope-v1.json")


def load_vectors():
    if not os.path.exists(VECTORS):
        print("SKIP: %s does not exist yet" % VECTORS)
        sys.exit(1 if support.STRICT else support.SKIP)
    with open(VECTORS) as f:
        return json.load(f)


def receiver(spec, stack):
    """The Receiver a vector describes; objects are closed by `stack`."""
    kr = trust = None
    if spec["keys"]:
        kr = stack.enter_context(e2e.Keyring())
        # Primary last: adding a primary demotes an earlier one.
        for k in sorted(spec["keys"], key=lambda k: k["state"] == "primary"):
            kr.add(int(k["key_id"], 16), bytes.fromhex(k["key"]),
                   suite=e2e.Suite.parse(k["suite"]),
                   state=e2e.KeyState.parse(k["state"]))
    if spec["signers"]:
        trust = stack.enter_context(e2e.Trust())
        for s in spec["signers"]:
            trust.add(bytes.fromhex(s["public_key"]), s["filters"])
    return e2e.Receiver(kr, trust,
                        require_encryption=spec["require_encryption"],
                        require_signature=spec["require_signature"])


def open_vector(v, stack):
    spec = v["receiver"]
    return receiver(spec, stack).open(
        spec["topic"], bytes.fromhex(v["envelope"]),
        retained=spec["delivered_retained"], now=spec["now"])


@needs("e2e_seal_explicit", "e2e_open", "e2e_parse")
class Vectors(unittest.TestCase):
    data = load_vectors() if e2e else {"positive": [], "negative": []}

    def test_file_has_vectors_of_every_mode(self):
        modes = {(v["suite"], v["signed"]) for v in self.data["positive"]}
        self.assertEqual(modes, {("aead", False), ("mac", False),
                                 ("aead", True), ("mac", True),
                                 ("none", True)})
        self.assertTrue(self.data["negative"])

    def test_positive_vectors_seal_to_the_expected_bytes(self):
        for v in self.data["positive"]:
            with self.subTest(v["name"]):
                signer = None
                if v["signer_seed"]:
                    signer = e2e.Signer.from_seed(
                        bytes.fromhex(v["signer_seed"]))
                    self.addCleanup(signer.close)
                    self.assertEqual(signer.public_key.hex(),
                                     v["signer_public_key"])
                env = e2e.seal_explicit(
                    v["topic"], bytes.fromhex(v["payload"]),
                    suite=e2e.Suite.parse(v["suite"]),
                    key=bytes.fromhex(v["key"]) if v["key"] else None,
                    key_id=int(v["key_id"], 16) if v["key_id"] else 0,
                    signer=signer, sender_id=int(v["sender_id"], 16),
                    seq=int(v["sequence"], 16), timestamp=v["timestamp"],
                    retained=v["retained"],
                    salt=bytes.fromhex(v["salt"]) if v["salt"] else None)
                self.assertEqual(env.hex(), v["envelope"])

    def test_positive_vectors_open_to_their_payload(self):
        import contextlib
        for v in self.data["positive"]:
            with self.subTest(v["name"]), contextlib.ExitStack() as stack:
                msg = open_vector(v, stack)
                self.assertEqual(msg.payload.hex(), v["payload"])
                self.assertEqual(msg.info.seq, int(v["sequence"], 16))
                self.assertEqual(msg.info.timestamp, v["timestamp"])
                self.assertEqual(msg.info.retained, v["retained"])

    def test_positive_vectors_parse_to_their_fields(self):
        for v in self.data["positive"]:
            with self.subTest(v["name"]):
                info = e2e.parse(bytes.fromhex(v["envelope"]))
                self.assertEqual(str(info.suite), v["suite"])
                self.assertEqual(info.signed, v["signed"])
                self.assertEqual(info.sender_id, int(v["sender_id"], 16))
                self.assertEqual(info.payload_len, len(v["payload"]) // 2)

    def test_negative_vectors_are_rejected_with_their_reason(self):
        import contextlib
        for v in self.data["negative"]:
            with self.subTest(v["name"]), contextlib.ExitStack() as stack:
                with self.assertRaises(e2e.Rejected) as cm:
                    open_vector(v, stack)
                self.assertEqual(cm.exception.name, v["error"])
                self.assertEqual(cm.exception.reason, v["reason"])


if __name__ == "__main__":
    support.main()
