#!/usr/bin/python3 -B
"""Key updates through the binding (docs/KEYDIST.md): every vector of
tests/vectors/keydist-v1.json opens for every recipient to exactly its keys
and applies; every negative vector is refused with its error and reason;
an update built here opens; a keyring switches at its activation time; a
per-topic key seals its topics only."""

import json
import os
import sys
import time
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


class CAdminPythonMember(unittest.TestCase):
    """Interop through a real mosquitto: the C admin (e2e-keygen admin
    publish and rotate) publishes, a Python member (a key file made by
    e2e-keygen member init) opens and applies the retained update, and
    its keyring and counter files are the ones e2e-sub would write."""

    def setUp(self):
        self.keygen = support.program("e2e-keygen")
        if self.keygen is None:
            self.skipTest("e2e-keygen not built")
        self.broker = support.Broker().start()
        self.addCleanup(self.broker.close)
        self.dir = self.broker.dir

    def run_keygen(self, *args):
        import subprocess
        r = subprocess.run([self.keygen, *args], capture_output=True,
                           timeout=15, check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode().strip()

    def retained(self, topic):
        mqtt = support.paho()
        got = []
        api = getattr(mqtt, "CallbackAPIVersion", None)  # paho 2 only
        client = mqtt.Client(api.VERSION2) if api else mqtt.Client()
        client.on_message = lambda c, u, m: got.append(m)
        client.connect(self.broker.host, self.broker.port)
        client.subscribe(topic, 1)
        client.loop_start()
        try:
            for _ in range(150):
                if got:
                    break
                time.sleep(0.1)
        finally:
            client.loop_stop()
            client.disconnect()
        self.assertTrue(got, "no retained update on " + topic)
        return got[0]

    @needs("e2e_member_load", "e2e_update_counter_save")
    def test_python_member_applies_the_c_admins_rotation(self):
        d = self.dir
        p = lambda *n: os.path.join(d, *n)  # noqa: E731
        port = str(self.broker.port)
        self.run_keygen("signer", "new", "-s", p("admin.sec"), "-p",
                        p("admin.pub"), "--no-passphrase")
        self.run_keygen("keyring", "init", "-K", p("admin.ring"))
        line = self.run_keygen("member", "init", "-s", p("m.key"), "-p",
                               p("m.pub"), "--no-passphrase")
        self.run_keygen("admin", "enrol", "--members", p("g.members"),
                        "--group", "plant", "-p", line, "m")
        plan = self.run_keygen("admin", "rotate", "--members",
                               p("g.members"), "-K", p("admin.ring"), "-s",
                               p("admin.sec"), "--host", "127.0.0.1",
                               "--port", port,
                               "--lead", "3600")
        new_id = int(plan.split()[1], 16)
        member = e2e.Member.load(p("m.key"))
        self.assertEqual(member.public_key, e2e.parse_member_public(line))
        topic = "e2e/keys/plant/%016x" % member.id
        msg = self.retained(topic)
        self.assertTrue(msg.retain)
        u = e2e.Update.open(topic, msg.payload,
                            admin_public_key=e2e.load_public_key(
                                p("admin.pub")),
                            group="plant", member=member, retained=True)
        self.assertEqual(u.counter, 1)
        kr = e2e.Keyring()
        u.apply(kr)
        admin_ring = e2e.Keyring.load(p("admin.ring"))
        self.assertEqual(sorted(k.id for k in kr),
                         sorted(k.id for k in admin_ring))
        self.assertEqual(kr.get_schedule(new_id)[0] > time.time(), True)
        # A receive-only-now keyring (the new key is primary only at T)
        # and its counter, written as the C tools write them.
        kr.save(p("m.ring"))
        e2e.save_update_counter(p("m.ring.counter"), "plant", u.counter)
        self.assertEqual(e2e.load_update_counter(p("m.ring.counter"),
                                                 "plant"), 1)
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Update.open(topic, msg.payload,
                            admin_public_key=e2e.load_public_key(
                                p("admin.pub")),
                            group="plant", member=member, retained=True,
                            last_counter=1)
        self.assertEqual(cm.exception.reason, "replay")


if __name__ == "__main__":
    support.main()
