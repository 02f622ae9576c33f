#!/usr/bin/python3 -B
"""Key updates through the binding (docs/KEYDIST.md): every vector of
tests/vectors/keydist-v1.json opens for every recipient to exactly its keys
and applies; every negative vector is refused with its error and reason;
an update built here opens; a keyring switches at its activation time; a
per-topic key seals its topics only."""

import json
import os
import sys
import unittest

import support
from support import libe2e as e2e, needs

VECTORS = os.path.join(support.SRCDIR, "tests", "vectors", "keydist-v1.json")
T = 1767312000  # the vectors' activation time


def load_vectors():
    if not os.path.exists(VECTORS):
        print("SKIP: %s does not exist" % VECTORS)
        sys.exit(1 if support.STRICT else support.SKIP)
    with open(VECTORS) as f:
        return json.load(f)


def open_as(opener, envelope):
    member = e2e.Member.from_secret(bytes.fromhex(opener["member_secret_key"]))
    try:
        return e2e.Update.open(
            opener["topic"], envelope,
            admin_public_key=bytes.fromhex(opener["admin_public_key"]),
            group=opener["group"], member=member,
            last_counter=opener["held_counter"],
            retained=opener["delivered_retained"])
    finally:
        member.close()


@needs("e2e_update_open", "e2e_update_apply", "e2e_update_build")
class Vectors(unittest.TestCase):
    data = load_vectors() if e2e else {"positive": [], "negative": []}

    def test_every_recipient_opens_exactly_its_keys(self):
        for v in self.data["positive"]:
            env = bytes.fromhex(v["envelope"])
            for o in v["openers"]:
                with self.subTest(v["name"], member=o["member_secret_key"][:8]):
                    with open_as(o, env) as u, e2e.Keyring() as kr:
                        self.assertEqual(u.counter, v["counter"])
                        self.assertEqual(u.group, v["group"])
                        got = ["%08x" % k.id for k in u.keys if k.in_slot]
                        self.assertEqual(got, o["expect_key_ids"])
                        u.apply(kr, now=o["now"])
                        self.assertEqual(["%08x" % k.id for k in kr],
                                         o["expect_key_ids"])
                        table = {int(k["id"], 16): k for k in v["keys"]}
                        for info in kr:
                            want = table[info.id]["filters"]
                            self.assertEqual(",".join(kr.filters(info.id)),
                                             want)

    def test_every_negative_is_refused_with_its_reason(self):
        for v in self.data["negative"]:
            with self.subTest(v["name"]):
                with self.assertRaises(e2e.E2EError) as cm:
                    open_as(v["opener"], bytes.fromhex(v["envelope"]))
                self.assertEqual(cm.exception.name, v["error"])
                self.assertEqual(cm.exception.reason, v["reason"])


@needs("e2e_update_build", "e2e_keyring_schedule")
class BuildOpenApply(unittest.TestCase):
    def setUp(self):
        self.admin = e2e.Signer()
        self.alice = e2e.Member()
        self.bob = e2e.Member()
        for h in (self.admin, self.alice, self.bob):
            self.addCleanup(h.close)

    def seal(self, body, topic):
        return e2e.seal_explicit(
            topic, body, suite=e2e.Suite.NONE, signer=self.admin,
            sender_id=self.admin.id, seq=1, timestamp=T - 86400,
            retained=True)

    def test_a_built_update_gives_each_member_its_keys_and_schedule(self):
        old = e2e.UpdateKey(0x1a2b3c4d, disables=T + 3600, key=b"\1" * 32)
        new = e2e.UpdateKey(0x5e6f7081, activates=T, key=b"\2" * 32)
        body = e2e.build_update("plant-7", 3, T - 86400, [old, new], [
            (self.alice.public_key, [old.id, new.id]),
            (self.bob.public_key, [new.id])])
        env = self.seal(body, "e2e/keys/plant-7")
        with e2e.Update.open("e2e/keys/plant-7", env,
                             admin_public_key=self.admin.public_key,
                             group="plant-7", member=self.alice,
                             retained=True) as u, e2e.Keyring() as kr:
            u.apply(kr, now=T - 60)
            self.assertEqual(kr.primary_at(T - 1).id, old.id)
            self.assertEqual(kr.primary_at(T).id, new.id)
            self.assertEqual(kr.state_at(old.id, T + 3600),
                             e2e.KeyState.DISABLED)
            self.assertEqual(kr.get_schedule(new.id), (T, 0))
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Update.open("e2e/keys/plant-7", env,
                            admin_public_key=self.admin.public_key,
                            group="plant-7", member=self.bob,
                            last_counter=3, retained=True)
        self.assertEqual(cm.exception.reason, "replay")

    def test_member_id_is_the_blake2b_prefix_of_its_public_key(self):
        self.assertEqual(e2e.member_id_from_public(self.alice.public_key),
                         self.alice.id)


@needs("e2e_keyring_set_filters")
class PerTopicKeys(unittest.TestCase):
    def test_sealing_picks_the_key_whose_filters_match(self):
        with e2e.Keyring() as kr:
            site = kr.generate()
            tenant = kr.generate(state=e2e.KeyState.ENABLED)
            kr.set_filters(tenant, "tenant-a/#")
            kr.promote(tenant)
            self.assertEqual(kr.filters(tenant), ("tenant-a/#",))
            with e2e.Sender(kr) as s:
                self.assertEqual(e2e.parse(s.seal("tenant-a/x", b"1")).key_id,
                                 tenant)
                self.assertEqual(e2e.parse(s.seal("site/x", b"1")).key_id,
                                 site)


if __name__ == "__main__":
    support.main()
