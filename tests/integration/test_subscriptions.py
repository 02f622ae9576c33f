#!/usr/bin/python3 -B
"""e2e-sub takes messages only on the topics it subscribed to.

The attack (issue 11, item 1): a broker delivers, to a subscriber of A, a
genuine envelope sealed for topic B. It verifies -- it is authentic for
B -- so without a check e2e-sub printed it as if it belonged to the
subscription and counted it towards -C. mosquitto never does this, so the
attack goes through broker.ScriptedBroker, with envelopes sealed by the real
e2e-pub (captured through a real mosquitto). Every such delivery must be
refused as "not-subscribed", before any cryptography, and never count.

The other half: genuine traffic on subscribed topics (several filters with
wildcards, and an MQTT 5 shared subscription "$share/GROUP/FILTER" whose
deliveries carry the topic without the prefix) is delivered in full through
the real mosquitto.

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL.
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import ScriptedBroker  # noqa: E402
from test_cli import BOUND, SUB, CliCase, Proc, keygen, main  # noqa: E402


class HostileBroker(CliCase):
    """Genuine envelopes for other topics, sent by a scripted broker."""

    def setUp(self):
        super().setUp()
        keygen("signer", "new", "-s", self.path("sk"), "-p", self.path("pk"),
               "--no-passphrase")
        # The signer may publish everywhere: only the subscription can
        # tell that sub/b is not for this subscriber.
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk"), "--topics", "#")

    def envelope(self, topic, text, *flags):
        """A genuine envelope for topic, as e2e-pub sealed it (captured
        through the real mosquitto)."""
        raw = self.raw()
        raw.subscribe(topic)
        self.pub("-t", topic, "-q", "1", "-m", text, *flags)
        return raw.next_message()[1]

    def run_against(self, filters, sends, count=1):
        """e2e-sub -t FILTERS -C count -v on a scripted broker that sends
        sends, (topic, payload) each; returns the process once it exited by
        itself."""
        args = [SUB, "-q", "1", "-d", "-v", "-K", self.keyring, "--trust",
                self.path("trust"), "-C", str(count)]
        for f in filters:
            args += ["-t", f]
        with ScriptedBroker() as sb:
            p = Proc(args[:1] + ["-h", sb.host, "-p", str(sb.port)] +
                     args[1:])
            self.procs.append(p)
            sb.wait_subscribed()
            for i, (topic, payload) in enumerate(sends):
                sb.publish(topic, payload, qos=1, packet_id=i + 1)
            self.assertEqual(p.finish(), 0, "\n".join(p.err_lines))
        return p

    def assertNotSubscribed(self, p, topics):
        got = p.rejections()
        self.assertEqual(len(got), len(topics), got)
        for line, topic in zip(got, topics):
            self.assertRejected(line, topic, "not-subscribed")

    def test_genuine_envelope_for_another_topic_is_not_subscribed(self):
        aead = self.envelope("sub/b", "not yours")
        signed = self.envelope("sub/b", "not yours either", "--sign",
                               self.path("sk"))
        mine = self.envelope("sub/a", "yours")
        p = self.run_against(["sub/a"], [("sub/b", aead), ("sub/b", signed),
                                         ("sub/a", mine)])
        # -C 1 was reached by sub/a alone: the refused ones did not count.
        self.assertEqual(p.out, b"sub/a yours\n")
        self.assertNotSubscribed(p, ["sub/b", "sub/b"])
        # The header facts (unauthenticated) help find who sealed it.
        self.assertIn("(key ", p.rejections()[0])
        self.assertIn("(key ", p.rejections()[1])
        self.assertIn(", signer ", p.rejections()[1])

    def test_topics_outside_every_wildcard_filter_are_not_subscribed(self):
        sends = []
        for topic in ("sub/x/deeper", "sub", "other/x", "SUB/x", "sub/x/"):
            sends.append((topic, self.envelope(topic, "no")))
        sends.append(("sub/x", self.envelope("sub/x", "yes")))
        sends.append(("deep/1/2/3", self.envelope("deep/1/2/3", "yes")))
        p = self.run_against(["sub/+", "deep/#"], sends, count=2)
        self.assertEqual(p.out, b"sub/x yes\ndeep/1/2/3 yes\n")
        self.assertNotSubscribed(p, [t for t, _ in sends[:5]])

    def test_shared_subscription_refuses_topics_outside_its_filter(self):
        # "$share/g/sub/+" is matched by "sub/+": neither the group nor a
        # topic named after the whole subscription is a way in.
        sends = [(t, self.envelope(t, "no")) for t in ("g/sub/a", "sub/a/b")]
        sends.append(("sub/a", self.envelope("sub/a", "yes")))
        p = self.run_against(["$share/g/sub/+"], sends)
        self.assertEqual(p.out, b"sub/a yes\n")
        self.assertNotSubscribed(p, ["g/sub/a", "sub/a/b"])

    def test_any_payload_on_an_unsubscribed_topic_is_not_subscribed(self):
        # Refused before the payload is even parsed: garbage gets the same
        # answer as a genuine envelope, and its size as the detail.
        p = self.run_against(["sub/a"], [
            ("sub/b", b"plain text"), ("sub/b", b""),
            ("sub/a", self.envelope("sub/a", "yours"))])
        self.assertEqual(p.out, b"sub/a yours\n")
        self.assertNotSubscribed(p, ["sub/b", "sub/b"])
        self.assertIn("(10 bytes, first byte 0x70)", p.rejections()[0])
        self.assertIn("(empty payload)", p.rejections()[1])


class GenuineTraffic(CliCase):
    """Through the real mosquitto, everything subscribed to arrives."""

    def test_every_subscribed_filter_delivers_in_full(self):
        topics = ["gen/a", "gen/x/1", "gen/x/2", "gen/deep/1/2", "gen/deep"]
        sub = self.start_sub("-t", "gen/a", "-t", "gen/x/+", "-t",
                             "gen/deep/#", "-q", "1", "-v", "-C",
                             str(len(topics)))
        for t in topics:
            self.pub("-t", t, "-q", "1", "-m", "m")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out.decode().splitlines(),
                         ["%s m" % t for t in topics])
        self.assertEqual(sub.rejections(), [])

    def test_shared_subscription_delivers_in_full(self):
        # Two members of one group share the stream: each message reaches
        # exactly one of them, on its real topic, and is accepted there.
        n = 40
        subs = [self.start_sub("-V", "mqttv5", "-t", "$share/grp/sh/+", "-q",
                               "1", "-v") for _ in range(2)]
        payloads = ["s%d" % i for i in range(n)]
        self.pub("-V", "mqttv5", "-t", "sh/t", "-q", "1", "-l",
                 input="".join(p + "\n" for p in payloads).encode())
        deadline = time.monotonic() + BOUND
        while sum(s.out.count(b"\n") for s in subs) < n:
            self.assertLess(time.monotonic(), deadline, [s.out for s in subs])
            time.sleep(0.05)
        got = []
        for s in subs:
            self.assertEqual(s.stop(), 0)
            self.assertEqual(s.rejections(), [])
            got += s.out.decode().splitlines()
        self.assertEqual(sorted(got), sorted("sh/t " + p for p in payloads))


if __name__ == "__main__":
    main()
