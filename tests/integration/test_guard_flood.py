#!/usr/bin/python3 -B
"""Floods of the replay guard of e2e-sub, through the real mosquitto
(docs/HARDENING.md, "Security round 2", items 2, 3 and 4).

The attackers hold what they need for authentic envelopes: a key of the
subscriber's keyring (a shared-key holder), or a trusted signer's key that
is allowed on other topics only. They seal with the Python binding's
explicit seal (chosen sender ids, sequence numbers and timestamps), and the
broker, also the attacker, publishes what it likes. Each flood is larger
than the guard's tables (4096 senders, 4096 retained topics by default).

- Item 2: a flood under fresh sender ids stamped as far ahead as
  --max-skew allows must not lock a trusted signer out.
- Item 3: after a flood, the broker replays a clockless signer's messages
  (--accept-no-clock): they must stay replays.
- Item 4: a signer allowed on adv/in/b/# floods retained-intent messages;
  the broker then serves signer A's day-old retained message to a
  restarted subscriber (--state, --require-signature): stale-retained.

Environment (make check exports it): top_srcdir, top_builddir, MOSQUITTO.
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
SRCDIR = os.environ.get("top_srcdir") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRCDIR, "bindings", "python"))
if os.environ.get("top_builddir") and not os.environ.get("LIBE2E_BUILDDIR"):
    os.environ["LIBE2E_BUILDDIR"] = os.environ["top_builddir"]

import libe2e as e2e  # noqa: E402
from test_adversarial import BOUND, AdversarialCase  # noqa: E402
from test_cli import keygen  # noqa: E402

FLOOD_KEY_ID = 0x0F100D01
MAX_SENDERS = 4096  # e2e-sub's default (E2E_GUARD_DEFAULT_MAX_SENDERS)
MAX_TOPICS = 4096   # likewise (E2E_GUARD_DEFAULT_MAX_RETAINED)
AHEAD = 20          # seconds; --max-skew is 30 by default


class GuardFlood(AdversarialCase):

    def flood_keyring(self):
        """The subscriber's keyring plus a key the attacker knows."""
        key = os.urandom(e2e.keybytes())
        kr = e2e.Keyring.load(self.ring)
        kr.add(FLOOD_KEY_ID, key, suite=e2e.Suite.AEAD)
        path = self.path("ring-flood")
        kr.save(path)
        return key, path

    def inject(self, topic, env, retain=False):
        """The broker publishes env (QoS 0, not waited for)."""
        self.attacker.injected[(topic, env)] += 1
        return self.attacker.inj.client.publish(topic, env, qos=0,
                                                retain=retain)

    def flood(self, key, first_id, n):
        """n authentic envelopes, each from a sender never seen before,
        stamped AHEAD seconds in the future; returns their payloads."""
        payloads = []
        for k in range(n):
            payload = b"F-%s-%d" % (self.run_id.encode(), first_id + k)
            env = e2e.seal_explicit(
                "adv/in/flood", payload, suite=e2e.Suite.AEAD, key=key,
                key_id=FLOOD_KEY_ID, sender_id=first_id + k, seq=1,
                timestamp=int(time.time()) + AHEAD,
                salt=os.urandom(e2e.salt_bytes()))
            info = self.inject("adv/in/flood", env)
            payloads.append(payload.decode())
        info.wait_for_publish(60)
        return payloads

    def signed(self, name, topic, payload, seq, timestamp, retained=False):
        """A signature-only envelope of signer name (S1, S2)."""
        with e2e.Signer.load(self.path(name + ".sec")) as s:
            return e2e.seal_explicit(
                topic, payload, suite=e2e.Suite.NONE, sender_id=s.id,
                seq=seq, signer=s, timestamp=timestamp, retained=retained)

    def wait_all(self, sub, n):
        """Until sub printed or rejected n messages in all; its stdout
        lines."""
        deadline = time.monotonic() + BOUND
        while (sub.out.count(b"\n") + len(sub.rejections()) < n
               and time.monotonic() < deadline and sub.p.poll() is None):
            time.sleep(0.1)
        out = sub.out.decode().split("\n")
        self.assertEqual(out[-1], "", "partial last line")
        return out[:-1]

    def test_signer_is_delivered_during_an_unsigned_flood_from_the_future(
            self):
        key, self.ring = self.flood_keyring()
        sub = self.start_sub()
        want = self.flood(key, 1 << 40, MAX_SENDERS + 1000)
        # The signer publishes after the flood evicted every entry, and
        # again while it goes on.
        signed = [p for p, _ in self.seal_lines("adv/in/signed", 10,
                                                sign="S1")]
        want += signed
        want += self.flood(key, 1 << 41, 2000)
        more = [p for p, _ in self.seal_lines("adv/in/signed", 10,
                                              sign="S1")]
        signed += more
        want += more
        got = set(self.wait_all(sub, len(want)))
        self.assertEqual([p for p in signed if p not in got], [],
                         "trusted signer's messages refused; stderr:\n%s"
                         % "\n".join(sub.rejections()[:5]))
        self.assertEqual(sorted(got), sorted(want))
        self.assertEqual(sub.rejections(), [])
        self.assertIsNone(sub.p.poll(), "e2e-sub died")
        self.assertEqual(sub.stop(), 0)

    def test_clockless_signer_is_not_replayed_after_a_flood(self):
        key, self.ring = self.flood_keyring()
        sub = self.start_sub("--accept-no-clock")
        mine = ["C-%s-%d" % (self.run_id, n) for n in range(10)]
        history = [self.signed("S1", "adv/in/clockless", p.encode(),
                               (7 << 32) | n, 0) for n, p in enumerate(mine)]
        for env in history:
            info = self.inject("adv/in/clockless", env)
        info.wait_for_publish(60)
        n = len(mine) + len(self.flood(key, 1 << 42, MAX_SENDERS + 1000))
        self.wait_all(sub, n)
        # The broker replays the signer's whole history.
        for env in history:
            info = self.inject("adv/in/clockless", env)
        info.wait_for_publish(60)
        out = self.wait_all(sub, n + len(history))
        self.assertEqual([p for p in mine if out.count(p) != 1], [],
                         "printed other than once")
        self.assertEqual(
            [line.split(": ")[2] for line in sub.rejections()
             if "rejected adv/in/clockless:" in line],
            ["replay"] * len(history))
        self.assertEqual(sub.stop(), 0)

    def test_retained_rollback_after_a_topic_flood_is_stale(self):
        # S1 may publish on adv/in/a/#, S2 on adv/in/b/# only.
        os.remove(self.path("trust"))
        for name, filters in (("S1", "adv/in/a/#"), ("S2", "adv/in/b/#")):
            keygen("trust", "add", "--trust", self.path("trust"), "-p",
                   self.path(name + ".pub"), "--topics", filters)
        state = self.path("state")
        args = ("--require-signature",)
        sub = self.start_sub(*args, state=state)
        current, _ = self.seal("adv/in/a/x", ring=None, sign="S1",
                               retain=True)
        now = int(time.time())
        want = [current]
        for n in range(MAX_TOPICS + 500):
            topic = "adv/in/b/%d" % n
            payload = b"R-%s-%d" % (self.run_id.encode(), n)
            info = self.inject(topic, self.signed(
                "S2", topic, payload, (now << 32) | n, now, retained=True))
            want.append(payload.decode())
        info.wait_for_publish(60)
        self.assertEqual(sorted(self.wait_all(sub, len(want))),
                         sorted(want))
        self.assertEqual(sub.rejections(), [])
        self.assertEqual(sub.stop(), 0)  # saves the state
        # A's message of a day ago, from an epoch long gone, replaces the
        # current one on the broker; the subscriber comes back.
        old = self.signed("S1", "adv/in/a/x", b"OLD-" + self.run_id.encode(),
                          1 << 32, now - 86400, retained=True)
        self.inject("adv/in/a/x", old, retain=True).wait_for_publish(60)
        self.addCleanup(self.attacker.publish, "adv/in/a/x", b"",
                        retain=True)
        sub = self.start_sub(*args, state=state)
        self.wait_all(sub, 1)
        self.assertEqual(sub.out, b"")
        self.assertEqual([line.split(": ")[1:3] for line in sub.rejections()],
                         [["rejected adv/in/a/x", "stale-retained"]])
        self.assertEqual(sub.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
