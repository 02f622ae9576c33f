#!/usr/bin/python3 -B
"""The broker as the attacker: e2e-sub against everything a party with full
broker access can do.

The attacker is a plain MQTT client (Debian's python3-paho-mqtt) subscribed
to "#" that captures the genuine envelopes e2e-pub publishes and publishes
anything it likes, retained included: replays (live and after a restart
with --state), moved topics, one flipped byte at every position, truncations
and extensions, swapped key ids, stripped and transplanted signatures,
aead -> mac downgrades, stale retained messages, plain text, empty, random
and 16 MiB payloads, and a flood.

Every test asserts, exactly:
- e2e-sub's stdout holds the genuine payloads and nothing else, each once
  (genuine payloads carry unique markers, and some attacks forge text that
  looks like them);
- every attacker message gives one stderr line
  "e2e-sub: rejected TOPIC: REASON: detail", in order, with the reason a
  small model of the receiver's processing order (docs/ENVELOPE.md,
  sections 7-8) predicts for it;
- e2e-sub is still running at the end and exits 0 when asked (SIGTERM).

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL.
"""

import collections
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import Broker, RawClient  # noqa: E402
from test_cli import PUB, SUB, Proc, keygen  # noqa: E402

BOUND = 60  # seconds: the longest a bulk wait may take before failing

REJECTED = re.compile(r"^e2e-sub: rejected (.*?): ([a-z0-9-]+): (.+)$")

# Envelope v1 layout (docs/ENVELOPE.md section 3).
MAGIC = 0xFD
AEAD, MAC, NONE = 0, 1, 2
F_SIGNED, F_RETAINED, F_RESERVED = 0x04, 0x08, 0xF0
OFF_KEY, OFF_TS, OFF_SENDER, OFF_SEQ = 2, 6, 10, 18
OVERHEAD = {(AEAD, False): 50, (MAC, False): 42, (AEAD, True): 114,
            (MAC, True): 106, (NONE, True): 90}
SIG = 64


def fields(env):
    flags = env[1]
    return {"suite": flags & 3, "signed": bool(flags & F_SIGNED),
            "retained": bool(flags & F_RETAINED),
            "key": struct.unpack(">I", env[OFF_KEY:OFF_KEY + 4])[0],
            "ts": struct.unpack(">I", env[OFF_TS:OFF_TS + 4])[0],
            "sender": struct.unpack(">Q", env[OFF_SENDER:OFF_SENDER + 8])[0],
            "seq": struct.unpack(">Q", env[OFF_SEQ:OFF_SEQ + 8])[0]}


def topic_matches(flt, topic):
    f, t = flt.split("/"), topic.split("/")
    for i, part in enumerate(f):
        if part == "#":
            return True
        if i >= len(t) or (part != "+" and part != t[i]):
            return False
    return len(f) == len(t)


class Receiver:
    """What e2e-sub must answer, from the spec's processing order: parse,
    key lookup, policy, replay pre-check, time window, tag, signature.

    Authenticity is not recomputed (the model has no keys): an envelope
    verifies when it is byte for byte one that e2e-pub sealed for that
    topic (its tag: everything before the signature; its signature: the
    whole envelope). Anything else fails its tag, or its signature when
    only the signature differs or there is no tag (suite none)."""

    def __init__(self, keys, trust, require_signature=False,
                 require_encryption=False, max_age=300, max_skew=30,
                 window=256):
        self.keys = keys      # {key id: (suite, "enabled"|"disabled"|...)}
        self.trust = trust    # {signer id: [filters]}
        self.require_signature = require_signature
        self.require_encryption = require_encryption
        self.max_age, self.max_skew, self.window = max_age, max_skew, window
        self.sealed = set()   # (topic, envelope) sealed by e2e-pub
        self.tagged = set()   # (topic, envelope without its signature)
        self.senders = {}     # sender id -> set of accepted sequences
        self.retained = {}    # topic -> (sender, seq, ts)

    def sealed_by_pub(self, topic, env):
        """e2e-pub sealed env for topic (whether delivered or not)."""
        f = fields(env)
        self.sealed.add((topic, env))
        self.tagged.add((topic, env[:-SIG] if f["signed"] else env))

    def verdict(self, topic, env, retained, now):
        """The reason token, or None when the envelope is accepted."""
        if len(env) == 0:
            return "malformed"
        if env[0] != MAGIC:
            return "malformed" if env[0] in (0xFC, 0xFE) else "not-e2e"
        if len(env) < 2 or env[1] & F_RESERVED or env[1] & 3 == 3:
            return "malformed"
        f = fields(env) if len(env) >= 26 else None
        over = OVERHEAD.get((env[1] & 3, bool(env[1] & F_SIGNED)))
        if over is None or len(env) < over:
            return "malformed"
        if f["suite"] == NONE and f["key"] != 0:
            return "malformed"
        if f["suite"] != NONE:
            if f["key"] not in self.keys:
                return "unknown-key"
            suite, state = self.keys[f["key"]]
            if state == "disabled":
                return "disabled-key"
            if suite != f["suite"]:
                return "suite-mismatch"
        if self.require_encryption and f["suite"] != AEAD:
            return "unencrypted"
        if self.require_signature and not f["signed"]:
            return "unsigned"
        if f["signed"] and not any(
                topic_matches(flt, topic)
                for flt in self.trust.get(f["sender"], ())):
            return "untrusted-signer"
        if retained and not f["retained"]:
            return "not-retained"
        seen = self.senders.get(f["sender"])
        if retained:
            rec = self.retained.get(topic)
            if rec is not None:
                if rec[:2] == (f["sender"], f["seq"]):
                    return "replay"
                if (f["ts"] != 0 and f["ts"] < rec[2]) or (
                        rec[0] == f["sender"] and f["seq"] < rec[1]):
                    return "stale-retained"
        elif seen is not None:
            top = max(seen)
            if f["seq"] <= top and (top - f["seq"] >= self.window
                                    or f["seq"] in seen):
                return "replay"
        ts = f["ts"]
        if ts == 0:
            if seen is None:
                return "no-timestamp"
        else:
            if not retained and self.max_age and now > ts and \
                    now - ts > self.max_age:
                return "too-old"
            if ts > now and ts - now > self.max_skew:
                return "future"
        body = env[:-SIG] if f["signed"] else env
        if f["suite"] != NONE and (topic, body) not in self.tagged:
            return "bad-tag"
        if f["signed"] and (topic, env) not in self.sealed:
            return "bad-signature"
        return None

    def expect(self, topic, env, retained, now_lo, now_hi):
        """The verdicts possible while the receiver's clock is anywhere in
        [now_lo, now_hi] (only near a max-age or skew boundary do they
        differ)."""
        return {self.verdict(topic, env, retained, now_lo),
                self.verdict(topic, env, retained, now_hi)}

    def accept(self, topic, env):
        f = fields(env)
        self.senders.setdefault(f["sender"], set()).add(f["seq"])
        if f["retained"]:
            rec = self.retained.get(topic)
            if rec is None or not ((f["ts"] != 0 and f["ts"] < rec[2]) or (
                    rec[0] == f["sender"] and f["seq"] < rec[1])):
                self.retained[topic] = (f["sender"], f["seq"], f["ts"])


class Attacker:
    """Capture (subscribed to #) and injection, on two connections."""

    def __init__(self, broker):
        self.cap = RawClient(broker)
        self.cap.subscribe("#", qos=1)
        self.inj = RawClient(broker)
        self.inj.client.max_inflight_messages_set(1000)
        self.inj.client.max_queued_messages_set(0)
        self.injected = collections.Counter()  # seen by cap too: skipped

    def capture(self, topic, timeout=15):
        """The next captured envelope published on topic (others skipped:
        the attacker also sees its own injections)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("nothing captured on %s" % topic)
            t, payload, _ = self.cap.next_message(timeout=left)
            if self.injected[(t, payload)] > 0:
                self.injected[(t, payload)] -= 1
            elif t == topic:
                return payload

    def publish(self, topic, payload, retain=False, qos=1):
        self.injected[(topic, payload)] += 1
        self.inj.publish(topic, payload, qos=qos, retain=retain, timeout=60)

    def close(self):
        self.cap.close()
        self.inj.close()


def flips(env):
    """One variant per byte position, that byte XOR 0x01 (the smallest
    change), one per position XOR 0xFF, and each flag bit alone."""
    out = []
    for mask in (0x01, 0xFF):
        for i in range(len(env)):
            b = bytearray(env)
            b[i] ^= mask
            out.append(bytes(b))
    for bit in range(1, 8):
        b = bytearray(env)
        b[1] ^= 1 << bit
        out.append(bytes(b))
    return out


def with_field(env, off, fmt, value):
    b = bytearray(env)
    struct.pack_into(fmt, b, off, value)
    return bytes(b)


class AdversarialCase(unittest.TestCase):
    """A broker for the class; keys, signers and an attacker per test."""

    @classmethod
    def setUpClass(cls):
        cls.classdir = tempfile.mkdtemp(prefix="e2e-adv-")
        os.environ["XDG_STATE_HOME"] = os.path.join(cls.classdir, "xdg")
        # 16 MiB payloads must pass the broker (its default limit is
        # MQTT's, 256 MiB; said explicitly so that a change shows here).
        cls.broker = Broker(os.path.join(cls.classdir, "broker"),
                            extra="message_size_limit 0\n"
                                  "max_queued_bytes 0")
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.classdir, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="t-", dir=self.classdir)
        self.procs = []
        self.run_id = uuid.uuid4().hex[:8]
        self.counter = 0
        self.genuine_out = {}   # sub -> expected stdout lines
        self.payloads = {}      # genuine envelope -> its payload
        self.attacker = Attacker(self.broker)
        self.addCleanup(self.attacker.close)
        self.make_keys()

    def tearDown(self):
        for p in self.procs:
            p.stop()

    def path(self, name):
        return os.path.join(self.dir, name)

    def conn(self):
        return ["-h", self.broker.host, "-p", str(self.broker.port)]

    # -- keys ---------------------------------------------------------------

    def make_keys(self):
        """The subscriber's keyring: A (aead, disabled), C (aead,
        enabled), M (mac, enabled), B (aead, primary). Publishers seal
        with copies in which B, M or C is primary. Two signers trusted on
        adv/#; a third one nobody trusts."""
        ring = self.path("ring")
        self.key_a = int(keygen("keyring", "init", "-K", ring), 16)
        self.key_c = int(keygen("keyring", "add", "-K", ring), 16)
        self.key_m = int(keygen("keyring", "add", "-K", ring, "--suite",
                                "mac"), 16)
        self.key_b = int(keygen("keyring", "rotate", "-K", ring), 16)
        self.rings = {}
        for name, kid in (("B", self.key_b), ("M", self.key_m),
                          ("C", self.key_c)):
            copy = self.path("ring-" + name)
            shutil.copy(ring, copy)
            if kid != self.key_b:
                keygen("keyring", "promote", "-K", copy, "%08x" % kid)
            self.rings[name] = copy
        keygen("keyring", "disable", "-K", ring, "%08x" % self.key_a)
        self.ring = ring
        self.keys = {self.key_a: (AEAD, "disabled"),
                     self.key_c: (AEAD, "enabled"),
                     self.key_m: (MAC, "enabled"),
                     self.key_b: (AEAD, "primary")}
        self.signer_ids = {}
        for s in ("S1", "S2", "S3"):
            sid = keygen("signer", "new", "-s", self.path(s + ".sec"), "-p",
                         self.path(s + ".pub"), "--no-passphrase")
            self.signer_ids[s] = int(sid.split()[-1], 16)
            if s != "S3":
                keygen("trust", "add", "--trust", self.path("trust"), "-p",
                       self.path(s + ".pub"), "--topics", "adv/#")
        self.trust = {self.signer_ids["S1"]: ["adv/#"],
                      self.signer_ids["S2"]: ["adv/#"]}

    def receiver(self, **kw):
        return Receiver(dict(self.keys), dict(self.trust), **kw)

    # -- the genuine side ---------------------------------------------------

    def marker(self):
        self.counter += 1
        return "G-%s-%d" % (self.run_id, self.counter)

    def seal(self, topic, ring="B", sign=None, retain=False, qos=1,
             payload=None):
        """Publish one genuine message with e2e-pub; returns (payload,
        envelope as the attacker captured it)."""
        payload = payload or self.marker()
        cmd = [PUB, *self.conn(), "-t", topic, "-m", payload, "-q", str(qos)]
        if ring:
            cmd += ["-K", self.rings[ring]]
        if sign:
            cmd += ["--sign", self.path(sign + ".sec")]
        if retain:
            cmd.append("-r")
        r = subprocess.run(cmd, capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        env = self.attacker.capture(topic)
        self.payloads[env] = payload
        return payload, env

    def seal_lines(self, topic, n, ring="B", sign=None, retain=False):
        """n genuine messages from one e2e-pub -l (one sender, rising
        sequence numbers); returns [(payload, envelope)]."""
        payloads = [self.marker() for _ in range(n)]
        cmd = [PUB, *self.conn(), "-t", topic, "-l", "-q", "1"]
        if ring:
            cmd += ["-K", self.rings[ring]]
        if sign:
            cmd += ["--sign", self.path(sign + ".sec")]
        if retain:
            cmd.append("-r")
        r = subprocess.run(cmd, capture_output=True, timeout=30,
                           input="".join(p + "\n" for p in payloads).encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        out = []
        for p in payloads:
            env = self.attacker.capture(topic)
            self.payloads[env] = p
            out.append((p, env))
        return out

    def start_sub(self, *args, state=None, filters=("adv/in/#",)):
        cmd = [SUB, *self.conn(), "-d", "-q", "1", "-K", self.ring,
               "--trust", self.path("trust"), *args]
        for f in filters:
            cmd += ["-t", f]
        if state:
            cmd += ["--state", state]
        p = Proc(cmd)
        self.procs.append(p)
        p.wait_stderr("connected and subscribed")
        return p

    # -- attacks and their verdicts -----------------------------------------

    def run_attacks(self, subs, attacks):
        """Publish every (topic, payload, retain) of attacks and record,
        for each (sub, model) of subs, what it must print.

        Every attack is the attacker's: the model must predict a
        rejection for it (an attack that would be accepted is a mistake
        in the test)."""
        lo = int(time.time()) - 1
        for topic, payload, retain in attacks:
            self.attacker.publish(topic, payload, retain=retain)
            if retain:  # leave no retained message behind
                self.attacker.publish(topic, b"", retain=True)
        hi = int(time.time()) + 1
        for sub, model in subs:
            exp = self.expected.setdefault(sub, [])
            for topic, payload, retain in attacks:
                v = model.expect(topic, payload, False, lo, hi)
                self.assertNotIn(None, v, "attack accepted by the model: "
                                 "%s %r" % (topic, payload[:40]))
                exp.append((topic, v, payload))
                # The clear (an empty payload) is no message and no
                # rejection: e2e-sub counts it apart.

    def deliver(self, subs, topic, payload, env):
        """A genuine envelope every sub in subs must accept (the model
        agrees); others must refuse it as their model says."""
        now = int(time.time())
        for sub, model in subs:
            v = model.expect(topic, env, False, now - 1, now + 1)
            if v == {None}:
                model.accept(topic, env)
                self.genuine_out.setdefault(sub, []).append(payload)
            else:
                self.assertNotIn(None, v)
                self.expected.setdefault(sub, []).append((topic, v, env))

    def finish(self, subs, sentinel_topic="adv/in/end"):
        """A last genuine message, then check everything and stop every
        sub with SIGTERM (exit 0)."""
        payload, env = self.seal(sentinel_topic)
        for model in {m for _, m in subs}:
            model.sealed_by_pub(sentinel_topic, env)
        self.deliver(subs, sentinel_topic, payload, env)
        for sub, model in subs:
            want = self.genuine_out.get(sub, [])
            sub.wait_lines(len(want))
            exp = self.expected.get(sub, [])
            self.wait_rejections(sub, len(exp))
            self.assertIsNone(sub.p.poll(), "e2e-sub died")
            self.assertEqual(sub.stop(), 0, "e2e-sub did not exit cleanly")
            out = sub.out.decode(errors="replace").split("\n")
            self.assertEqual(out[-1], "", "partial last line")
            self.assertEqual(out[:-1], want,
                             "stdout is not exactly the genuine messages")
            lines = sub.rejections()
            got = [REJECTED.match(line) for line in lines]
            self.assertEqual(len(got), len(exp), "one line per attack")
            for i, (m, (topic, reasons, payload)) in enumerate(zip(got,
                                                                   exp)):
                self.assertIsNotNone(m, lines[i])
                self.assertEqual(
                    (m.group(1), m.group(2) in reasons), (topic, True),
                    "attack %d (%r...): got %r, expected one of %s" % (
                        i, payload[:48], lines[i],
                        sorted(str(r) for r in reasons)))
            for line in sub.err_lines:
                self.assertNotIn("rror", line)

    def wait_rejections(self, sub, n):
        deadline = time.monotonic() + BOUND
        while len(sub.rejections()) < n:
            if time.monotonic() > deadline or sub.p.poll() is not None:
                exp = self.expected.get(sub, [])
                self.fail("e2e-sub reported %d rejections, %d expected:\n%s"
                          % (len(sub.rejections()), n, "\n".join(
                              "%-70.70s | %s %s" % (got, e[0], sorted(
                                  map(str, e[1]))) for got, e in
                              zip(sub.rejections() + [""] * n, exp))))
            time.sleep(0.05)

    def setup_subs(self, *configs, state=None):
        self.expected = {}
        subs = []
        for args, kw in configs:
            subs.append((self.start_sub(*args, state=state),
                         self.receiver(**kw)))
        return subs

    def publish_genuine(self, subs, specs):
        """Seal and deliver; specs: (topic, ring, sign). Returns the
        captured envelopes."""
        envs = []
        for topic, ring, sign in specs:
            payload, env = self.seal(topic, ring=ring, sign=sign)
            for _, model in subs:
                model.sealed_by_pub(topic, env)
            self.deliver(subs, topic, payload, env)
            envs.append((topic, env))
        return envs

    def seal_unseen(self, specs):
        """Seal before any subscriber listens: envelopes e2e-sub has never
        seen (the attacker has)."""
        return [(t, self.seal(t, ring=r, sign=s)[1]) for t, r, s in specs]

    KINDS = [("adv/in/aead", "B", None), ("adv/in/mac", "M", None),
             ("adv/in/aead-s", "B", "S1"), ("adv/in/mac-s", "M", "S2"),
             ("adv/in/sig", None, "S1")]

    def both_subs(self):
        """A permissive subscriber and a strict one (--require-signature
        --require-encryption) see the same traffic."""
        return self.setup_subs(
            ([], {}),
            (["--require-signature", "--require-encryption"],
             {"require_signature": True, "require_encryption": True}))


class Tampering(AdversarialCase):

    def test_every_flipped_byte_of_unseen_envelopes_is_rejected(self):
        unseen = self.seal_unseen(self.KINDS)
        subs = self.both_subs()
        for _, model in subs:
            for t, e in unseen:
                model.sealed_by_pub(t, e)
        self.publish_genuine(subs, [("adv/in/before", "B", None)])
        attacks = [(t, v, False) for t, e in unseen for v in flips(e)]
        self.assertGreater(len(attacks), 800)
        self.run_attacks(subs, attacks)
        # The originals, never delivered, are still good: the tampering
        # left no state behind that would refuse them.
        for t, e in unseen:
            self.deliver_raw(subs, t, e)
        self.finish(subs)

    def deliver_raw(self, subs, topic, env):
        """The attacker publishes a genuine envelope it held back: a
        delayed genuine delivery (accepted once when the model says so)."""
        self.attacker.publish(topic, env)
        now = int(time.time())
        for sub, model in subs:
            v = model.expect(topic, env, False, now - 1, now + 1)
            if v == {None}:
                model.accept(topic, env)
                self.genuine_out.setdefault(sub, []).append(
                    self.payloads[env])
            else:
                self.assertNotIn(None, v)
                self.expected.setdefault(sub, []).append((topic, v, env))

    def test_truncated_and_extended_envelopes_are_rejected(self):
        unseen = self.seal_unseen(self.KINDS)
        subs = self.both_subs()
        for _, model in subs:
            for t, e in unseen:
                model.sealed_by_pub(t, e)
        attacks = []
        for t, e in unseen:
            # From one byte: cut to nothing, an envelope is an empty
            # payload, neither delivered nor refused (e2e-sub(1)).
            attacks += [(t, e[:n], False) for n in range(1, len(e))]
            attacks += [(t, e + os.urandom(n), False) for n in (1, 16, 64)]
            attacks += [(t, e + e, False)]
        self.run_attacks(subs, attacks)
        self.finish(subs)

    def test_moved_envelopes_are_rejected(self):
        unseen = self.seal_unseen(self.KINDS)
        subs = self.both_subs()
        for _, model in subs:
            for t, e in unseen:
                model.sealed_by_pub(t, e)
        attacks = [(t + "/moved", e, False) for t, e in unseen]
        attacks += [("adv/in/other", e, False) for _, e in unseen]
        self.run_attacks(subs, attacks)
        self.finish(subs)

    def test_swapped_key_ids_are_rejected(self):
        unseen = self.seal_unseen([("adv/in/b", "B", None),
                                   ("adv/in/m", "M", None),
                                   ("adv/in/bs", "B", "S1")])
        subs = self.both_subs()
        for _, model in subs:
            for t, e in unseen:
                model.sealed_by_pub(t, e)
        attacks = []
        for t, e in unseen:
            for kid in (self.key_a, self.key_b, self.key_c, self.key_m,
                        0, 0xFFFFFFFF):
                if kid != fields(e)["key"]:
                    attacks.append((t, with_field(e, OFF_KEY, ">I", kid),
                                    False))
        self.run_attacks(subs, attacks)
        self.finish(subs)

    def test_downgrades_between_suites_are_rejected(self):
        unseen = self.seal_unseen([("adv/in/b", "B", None),
                                   ("adv/in/bs", "B", "S1"),
                                   ("adv/in/sig", None, "S2")])
        subs = self.both_subs()
        for _, model in subs:
            for t, e in unseen:
                model.sealed_by_pub(t, e)
        attacks = []
        for t, e in unseen:
            for suite in (AEAD, MAC, NONE, 3):
                if suite != e[1] & 3:
                    b = bytearray(e)
                    b[1] = (b[1] & ~3) | suite
                    attacks.append((t, bytes(b), False))
                    # The same, claiming the mac key.
                    attacks.append((t, with_field(bytes(b), OFF_KEY, ">I",
                                                  self.key_m), False))
        self.run_attacks(subs, attacks)
        self.finish(subs)

    def test_stripped_and_transplanted_signatures_are_rejected(self):
        s1 = self.seal_unseen([("adv/in/a", "B", "S1"),
                               ("adv/in/m", "M", "S1"),
                               ("adv/in/n", None, "S1")])
        s2 = self.seal_unseen([("adv/in/a", "B", "S2"),
                               ("adv/in/m", "M", "S2"),
                               ("adv/in/n", None, "S2")])
        s3 = self.seal_unseen([("adv/in/a", "B", "S3")])
        subs = self.both_subs()
        for _, model in subs:
            for t, e in s1 + s2 + s3:
                model.sealed_by_pub(t, e)
        attacks = []
        for (t, e1), (_, e2) in zip(s1, s2):
            stripped = bytearray(e1[:-SIG])
            stripped[1] &= ~F_SIGNED
            attacks.append((t, bytes(stripped), False))
            attacks.append((t, e1[:-SIG], False))           # bit left set
            attacks.append((t, e1[:-SIG] + e2[-SIG:], False))  # transplant
            attacks.append((t, e2[:-SIG] + e1[-SIG:], False))
            # Claim the other signer: its id and its signature.
            claimed = with_field(e1, OFF_SENDER, ">Q",
                                 self.signer_ids["S2"])
            attacks.append((t, claimed[:-SIG] + e2[-SIG:], False))
            # An untrusted signer's id on a genuine envelope.
            attacks.append((t, with_field(e1, OFF_SENDER, ">Q",
                                          self.signer_ids["S3"]), False))
            # Sign an unsigned-looking envelope with a zero signature.
            attacks.append((t, e1[:-SIG] + bytes(SIG), False))
        attacks.append(s3[0] + (False,))                    # untrusted
        self.run_attacks(subs, attacks)
        self.finish(subs)


class Replay(AdversarialCase):

    def test_live_replays_are_rejected(self):
        subs = self.both_subs()
        envs = self.publish_genuine(subs, self.KINDS * 2)
        attacks = [(t, e, False) for t, e in envs] * 2
        attacks += [(t, e, False) for t, e in reversed(envs)]
        self.run_attacks(subs, attacks)
        self.finish(subs)

    def test_replays_after_restart_with_state_are_rejected(self):
        state = self.path("state")
        subs = self.setup_subs(([], {}), state=state)
        envs = self.publish_genuine(subs, self.KINDS * 2)
        model = subs[0][1]
        self.finish(subs)   # stops it: the state is saved on exit
        self.assertTrue(os.path.exists(state))
        self.genuine_out = {}
        second = self.start_sub(state=state)
        subs = [(second, model)]
        self.expected = {}
        self.run_attacks(subs, [(t, e, False) for t, e in envs])
        self.publish_genuine(subs, self.KINDS)
        self.finish(subs)

    def test_stale_retained_messages_are_rejected(self):
        state = self.path("state")
        subs = self.setup_subs(([], {}), state=state)
        model = subs[0][1]
        old = {}
        for t, ring, sign in self.KINDS:
            # An older and a newer retained message from one sender: the
            # broker keeps the newer, the attacker keeps the older.
            t += "/r"
            for payload, env in self.seal_lines(t, 2, ring=ring, sign=sign,
                                                retain=True):
                model.sealed_by_pub(t, env)
                self.deliver(subs, t, payload, env)
                old.setdefault(t, env)
        # Not sealed for retention: must not be served as retained.
        plain = self.publish_genuine(subs, [("adv/in/plain", "B", None)])
        self.finish(subs)
        # The attacker (the broker) serves the old ones as retained, and
        # retains what was never meant to be.
        for t, env in old.items():
            self.attacker.publish(t, env, retain=True)
            self.addCleanup(self.attacker.publish, t, b"", retain=True)
        self.attacker.publish(plain[0][0], plain[0][1], retain=True)
        self.addCleanup(self.attacker.publish, plain[0][0], b"", retain=True)
        now = int(time.time())
        for t, env in old.items():
            self.assertEqual(model.expect(t, env, True, now - 1, now + 1),
                             {"stale-retained"})
        self.assertEqual(model.expect(plain[0][0], plain[0][1], True,
                                      now - 1, now + 1), {"not-retained"})
        sub = self.start_sub(state=state)
        self.wait_rejections(sub, len(old) + 1)
        got = sorted((m.group(1), m.group(2)) for m in
                     (REJECTED.match(x) for x in sub.rejections()))
        want = sorted([(t, "stale-retained") for t in old] +
                      [(plain[0][0], "not-retained")])
        self.assertIsNone(sub.p.poll(), "e2e-sub died")
        self.assertEqual(sub.stop(), 0)
        self.assertEqual(sub.out, b"")
        self.assertEqual(got, want)


class Injection(AdversarialCase):

    def test_plaintext_random_and_huge_payloads_are_rejected(self):
        subs = self.both_subs()
        envs = self.publish_genuine(subs, self.KINDS)
        fake = self.marker()   # looks like a genuine payload
        # An empty payload is no attack to refuse: e2e-sub neither delivers
        # nor refuses it (e2e-sub(1), "Empty payloads"); the clears of the
        # retained attacks send some, and nothing may come of them.
        attacks = [("adv/in/x", fake.encode(), False),
                   ("adv/in/x", b'{"temp": 21.5}', False),
                   ("adv/in/x", b"\xfd", False),
                   ("adv/in/x", b"\xfc" + envs[0][1][1:], False),
                   ("adv/in/x", b"\xfe" + envs[0][1][1:], False)]
        for n in (1, 2, 25, 26, 33, 34, 41, 42, 49, 50, 51, 89, 90, 113,
                  114, 115, 1000):
            for _ in range(4):
                attacks.append(("adv/in/rnd", os.urandom(n), False))
                attacks.append(("adv/in/rnd", b"\xfd" + os.urandom(n),
                                False))
                attacks.append(("adv/in/rnd", b"\xfd" + bytes([n % 8]) +
                                os.urandom(n), False))
        # 16 MiB: random, and behind a genuine header (a replay of it).
        big = 16 << 20
        attacks.append(("adv/in/big", b"\x00" + os.urandom(big), False))
        attacks.append((envs[0][0], envs[0][1][:34] + os.urandom(big),
                        False))
        attacks.append(("adv/in/big", bytes([MAGIC, 0]) +
                        struct.pack(">I", self.key_b) + os.urandom(big),
                        False))
        self.run_attacks(subs, attacks)
        self.publish_genuine(subs, self.KINDS)
        self.finish(subs)
        self.assertNotIn(fake, self.genuine_out[subs[0][0]])

    def test_flood_is_rejected_one_line_each_and_genuine_survives(self):
        n, every = 20000, 2000
        subs = self.setup_subs(([], {}))
        sub, model = subs[0]
        lo = int(time.time()) - 1
        exp = self.expected.setdefault(sub, [])
        for i in range(n):
            if i % every == 0:
                # Genuine traffic in the middle of the flood.
                self.attacker.publish("adv/in/sync", b"\x00")
                exp.append(("adv/in/sync", {"not-e2e"}, b"\x00"))
                self.publish_genuine(subs, [("adv/in/g", "B", None)])
            payload = b"\xfd\x00" + os.urandom(60) if i % 2 else \
                os.urandom(1) + b"flood"
            self.attacker.injected[("adv/in/flood", payload)] += 1
            info = self.attacker.inj.client.publish("adv/in/flood", payload,
                                                    qos=0)
            hi = int(time.time()) + 1
            exp.append(("adv/in/flood",
                        model.expect("adv/in/flood", payload, False, lo,
                                     hi), payload))
        info.wait_for_publish(60)
        self.finish(subs)


if __name__ == "__main__":
    unittest.main(verbosity=2)
