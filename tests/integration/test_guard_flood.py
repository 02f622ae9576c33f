#!/usr/bin/python3 -B
"""A shared-key holder floods the replay guard of e2e-sub, through the real
mosquitto (docs/HARDENING.md, "Security round 2", item 2).

The attacker holds a key of the subscriber's keyring, so its envelopes are
authentic: sealed with the Python binding's explicit seal under a fresh
sender id each, stamped as far ahead as --max-skew allows. More of them
than the guard tracks (4096 senders by default) evict every entry, over and
over. A trusted signer publishing with e2e-pub in the middle of the flood
must still be delivered in full: the eviction floor never passes the
receiver's clock, and unsigned senders cannot evict signers' entries.

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

FLOOD_KEY_ID = 0x0F100D01
MAX_SENDERS = 4096  # e2e-sub's default (E2E_GUARD_DEFAULT_MAX_SENDERS)
AHEAD = 20          # seconds; --max-skew is 30 by default


class SenderFlood(AdversarialCase):

    def flood_keyring(self):
        """The subscriber's keyring plus a key the attacker knows."""
        key = os.urandom(e2e.keybytes())
        kr = e2e.Keyring.load(self.ring)
        kr.add(FLOOD_KEY_ID, key, suite=e2e.Suite.AEAD)
        path = self.path("ring-flood")
        kr.save(path)
        return key, path

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
            self.attacker.injected[("adv/in/flood", env)] += 1
            info = self.attacker.inj.client.publish("adv/in/flood", env,
                                                    qos=0)
            payloads.append(payload.decode())
        info.wait_for_publish(60)
        return payloads

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
        # Every message gives a line: on stdout, or a rejection on stderr.
        deadline = time.monotonic() + BOUND
        while (sub.out.count(b"\n") + len(sub.rejections()) < len(want)
               and time.monotonic() < deadline and sub.p.poll() is None):
            time.sleep(0.1)
        out = sub.out.decode().split("\n")
        self.assertEqual(out[-1], "")
        got = set(out[:-1])
        self.assertEqual([p for p in signed if p not in got], [],
                         "trusted signer's messages refused; stderr:\n%s"
                         % "\n".join(sub.rejections()[:5]))
        self.assertEqual(sorted(got), sorted(want))
        self.assertEqual(sub.rejections(), [])
        self.assertIsNone(sub.p.poll(), "e2e-sub died")
        self.assertEqual(sub.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
