#!/usr/bin/python3 -B
"""Keys that travel through the broker, end to end (docs/KEYDIST.md, issue
12): e2e-keygen's member and admin commands, and e2e-pub / e2e-sub applying
the admin's key updates by themselves (--member-key), through a real
mosquitto on loopback.

- A fleet of members (publishers and subscribers, FLEET_SIZE of them) keeps
  messages flowing at QoS 1 while the admin rotates (one command) and
  revokes a member: no genuine message is lost or refused across either
  switch, the revoked member opens nothing sealed after the activation
  time, and a member offline during the rotation converges when it comes
  back. The figures (sent, delivered, refused per reason, per switch) are
  printed on stderr.
- Forged, moved, rolled-back, truncated, replayed and other-group updates
  are refused with their reasons, and the member's keyring and counter
  files do not change.

Environment (make check exports it): top_builddir, MOSQUITTO.
"""

import glob
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import Broker, RawClient  # noqa: E402
from test_cli import BOUND, KEYGEN, PUB, SUB, Proc, keygen  # noqa: E402

GROUP = "plant"
# Publishers and subscribers of the rotation test (the issue asks for 20).
PUBLISHERS = 5
SUBSCRIBERS = 15
FLEET_SIZE = PUBLISHERS + SUBSCRIBERS
LEAD = 4    # seconds from the rotation to its activation time T
GRACE = 3   # seconds the old key is still accepted after T
PERIOD = 0.1  # seconds between two messages of one publisher


def file_state(path):
    """Bytes and modification time of path: what 'unchanged' compares."""
    st = os.stat(path)
    with open(path, "rb") as f:
        return f.read(), st.st_mtime_ns


class Fleet:
    """An admin (signer key, keyring, member list) and its members, each
    in its own directory with its member key pair."""

    def __init__(self, workdir, broker):
        self.dir = workdir
        self.broker = broker
        self.admin_key = self.path("admin.key")
        self.admin_pub = self.path("admin.pub")
        self.ring = self.path("admin.ring")
        self.members = self.path("plant.members")
        keygen("signer", "new", "-s", self.admin_key, "-p", self.admin_pub,
               "--no-passphrase")
        keygen("keyring", "init", "-K", self.ring)
        self.ids = {}

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def enrol(self, name):
        os.mkdir(self.path(name))
        line = keygen("member", "init", "-s", self.path(name, "member.key"),
                      "-p", self.path(name, "member.pub"), "--no-passphrase")
        # The public line, as it would come from a QR code.
        self.ids[name] = keygen("admin", "enrol", "--members", self.members,
                                "--group", GROUP, "-p", line, name)
        return self.ids[name]

    def admin(self, verb, *args):
        return keygen("admin", verb, "--members", self.members, "-K",
                      self.ring, "-s", self.admin_key, "--host",
                      self.broker.host, "--port", str(self.broker.port),
                      *args)

    def broker_args(self):
        return ["--host", self.broker.host, "--port", str(self.broker.port)]

    def remove(self, name, *args):
        """admin remove, which clears name's retained update."""
        return keygen("admin", "remove", "--members", self.members,
                      *self.broker_args(), *args, name)

    def member_args(self, name):
        return ["-h", self.broker.host, "-p", str(self.broker.port),
                "-q", "1", "-K", self.path(name, "ring"),
                "--member-key", self.path(name, "member.key"),
                "--admin-key", self.admin_pub, "--group", GROUP]

    def subscriber(self, name):
        return Proc([SUB, *self.member_args(name), "-t", "data/#"])

    def publisher(self, name):
        return Proc([PUB, *self.member_args(name), "-t", "data/" + name,
                     "-l"], stdin=subprocess.PIPE)

    def topic(self, name):
        return "e2e/keys/%s/%s" % (GROUP, self.ids[name])


class Flow:
    """Publishers writing one timestamped line every PERIOD seconds."""

    def __init__(self, pubs):
        self.pubs = pubs
        self.sent = []  # (publisher, seq, wall time before sealing)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        seq = 0
        while not self._stop.is_set():
            for name, p in self.pubs.items():
                t = time.time()
                p.p.stdin.write(b"%s %d %.3f\n" % (name.encode(), seq, t))
                p.p.stdin.flush()
                self.sent.append((name, seq, t))
            seq += 1
            self._stop.wait(PERIOD)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(BOUND)
        for p in self.pubs.values():
            p.p.stdin.close()
        for name, p in self.pubs.items():
            if p.finish() != 0:
                raise AssertionError("%s: %s" % (name, p.err_lines))


def received(sub):
    """The (publisher, seq) of every line a subscriber printed."""
    out = set()
    for line in sub.out.decode().splitlines():
        name, seq, _ = line.split(" ")
        out.add((name, int(seq)))
    return out


def reasons(sub):
    """Rejections counted by reason."""
    counts = {}
    for line in sub.rejections():
        reason = line.split(": ")[2]
        counts[reason] = counts.get(reason, 0) + 1
    return counts


def wait_applied(proc, counter):
    proc.wait_stderr("key update %d applied" % counter)


class KeygenCommands(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-kdt-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def test_member_init_writes_0600_secret_and_prints_public_line(self):
        sec, pub = (os.path.join(self.dir, f) for f in ("m.key", "m.pub"))
        line = keygen("member", "init", "-s", sec, "-p", pub,
                      "--no-passphrase")
        self.assertRegex(line, r"^libe2e-member 1 [0-9a-f]{16} \S{44}$")
        self.assertEqual(os.stat(sec).st_mode & 0o777, 0o600)
        with open(pub) as f:
            self.assertEqual(f.read(), line + "\n")

    def test_admin_enrol_list_remove(self):
        lst = os.path.join(self.dir, "g.members")
        ids = {}
        for name in ("a", "b"):
            line = keygen("member", "init", "-s",
                          os.path.join(self.dir, name + ".key"), "-p",
                          os.path.join(self.dir, name + ".pub"),
                          "--no-passphrase")
            ids[name] = keygen("admin", "enrol", "--members", lst,
                               "--group", GROUP, "-p",
                               os.path.join(self.dir, name + ".pub"), name)
            self.assertEqual(ids[name], line.split(" ")[2])
        self.assertEqual(os.stat(lst).st_mode & 0o777, 0o600)
        listed = keygen("admin", "list", "--members", lst).splitlines()
        self.assertEqual(listed[0], "# group plant, counter 0, layout member")
        self.assertEqual(sorted(listed[1:]),
                         sorted("%s  %s" % (ids[n], n) for n in ids))
        # Per group, remove sends nothing (no broker here); the per-member
        # clear of the retained update is tested in RemovedMember. The
        # layout is the list's: another one is refused.
        r = subprocess.run([KEYGEN, "admin", "remove", "--members", lst,
                            "--layout", "group", "a"], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"the group's layout is member", r.stderr)
        self.set_layout(lst, "group")
        keygen("admin", "remove", "--members", lst, "a")
        listed = keygen("admin", "list", "--members", lst).splitlines()
        self.assertEqual(listed[1:], ["%s  b" % ids["b"]])

    @staticmethod
    def set_layout(lst, layout):
        """Put a "layout" line after the counter, as an admin editing the
        list would (e2e-keygen writes it on a switch or a first enrol)."""
        with open(lst) as f:
            text = f.read()
        text = text.replace("\ncounter 0\n", "\ncounter 0\nlayout %s\n"
                            % layout, 1)
        with open(lst, "w") as f:
            f.write(text)

    def list_of_a(self, *enrol_args):
        """A member list with one member "a" (enrolled with enrol_args):
        the list's path and a's public key file."""
        lst = os.path.join(self.dir, "g.members")
        pub = os.path.join(self.dir, "a.pub")
        keygen("member", "init", "-s", os.path.join(self.dir, "a.key"),
               "-p", pub, "--no-passphrase")
        keygen("admin", "enrol", "--members", lst, "--group", GROUP,
               *enrol_args, "-p", pub, "a")
        return lst, pub

    def test_first_enrol_with_layout_group_stores_it(self):
        lst, _ = self.list_of_a("--layout", "group")
        listed = keygen("admin", "list", "--members", lst).splitlines()
        self.assertEqual(listed[0], "# group plant, counter 0, layout group")

    def test_member_list_with_a_bad_layout_is_refused_with_file_and_line(self):
        lst, pub = self.list_of_a()
        self.set_layout(lst, "groups")
        with open(lst) as f:
            line = f.read().splitlines().index("layout groups") + 1
        for cmd in (["list"], ["remove", "a"],
                    ["enrol", "-p", pub, "b"]):
            r = subprocess.run([KEYGEN, "admin", cmd[0], "--members", lst,
                                *cmd[1:]], capture_output=True,
                               timeout=BOUND)
            self.assertEqual(r.returncode, 1, cmd)
            self.assertIn(("%s:%d:" % (lst, line)).encode(), r.stderr, cmd)

    def test_admin_enrol_refuses_a_member_enrolled_twice(self):
        lst = os.path.join(self.dir, "g.members")
        pub = os.path.join(self.dir, "a.pub")
        keygen("member", "init", "-s", os.path.join(self.dir, "a.key"),
               "-p", pub, "--no-passphrase")
        keygen("admin", "enrol", "--members", lst, "--group", GROUP, "-p",
               pub, "a")
        r = subprocess.run([KEYGEN, "admin", "enrol", "--members", lst, "-p",
                            pub, "again"], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"already enrolled", r.stderr)


class BrokerCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-kdt-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.broker = Broker(os.path.join(self.dir, "broker"))
        self.broker.start()
        self.addCleanup(self.broker.stop)
        self.fleet = Fleet(self.dir, self.broker)

    def start(self, proc):
        self.addCleanup(proc.stop)
        return proc


class AppliedByThemselves(BrokerCase):
    def test_new_member_without_keyring_gets_keys_from_retained_update(self):
        f = self.fleet
        f.enrol("s")
        f.enrol("p")
        out = f.admin("publish").splitlines()
        self.assertEqual(sorted(out), sorted(
            "%s %s counter 1" % (f.topic(n), n) for n in ("s", "p")))
        sub = self.start(f.subscriber("s"))
        wait_applied(sub, 1)
        self.assertEqual(os.stat(f.path("s", "ring")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(f.path("s", "ring.counter")).st_mode & 0o777,
                         0o600)
        r = subprocess.run([PUB, *f.member_args("p"), "-t", "data/p",
                            "-m", "p 0 0"], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sub.wait_lines(1), [b"p 0 0"])
        self.assertEqual(sub.rejections(), [])

    def test_retained_update_already_applied_is_said_once_and_changes_nothing(self):
        f = self.fleet
        f.enrol("s")
        f.admin("publish")
        sub = self.start(f.subscriber("s"))
        wait_applied(sub, 1)
        sub.stop()
        before = file_state(f.path("s", "ring"))
        sub = self.start(f.subscriber("s"))
        sub.wait_stderr("refused: replay")
        self.assertEqual(file_state(f.path("s", "ring")), before)

    def rotation_figures(self, label, sent, subs, skip=()):
        """Print and check: every subscriber got every message sent."""
        expected = {(n, s) for n, s, _ in sent}
        for name, sub in subs.items():
            if name in skip:
                continue
            got = received(sub)
            sys.stderr.write(
                "%s: %s: sent %d, delivered %d, lost %d, refused %s\n" % (
                    label, name, len(expected), len(got & expected),
                    len(expected - got), reasons(sub) or "none"))
            self.assertEqual(expected - got, set(), name)
            self.assertEqual(sub.rejections(), [], name)

    def test_fleet_rotates_and_revokes_while_messages_flow(self):
        f = self.fleet
        pubs_n = ["p%02d" % i for i in range(PUBLISHERS)]
        subs_n = ["s%02d" % i for i in range(SUBSCRIBERS)]
        for name in pubs_n + subs_n:
            f.enrol(name)
        f.admin("publish")
        offline = subs_n[-1]   # away during the rotation
        revoked = subs_n[-2]   # removed before the second switch
        subs = {n: self.start(f.subscriber(n)) for n in subs_n}
        for s in subs.values():
            wait_applied(s, 1)
        pubs = {n: self.start(f.publisher(n)) for n in pubs_n}
        for p in pubs.values():
            wait_applied(p, 1)

        # Switch 1: a scheduled rotation, one command, while messages flow;
        # one subscriber is offline across it.
        flow = Flow(pubs)
        flow.start()
        time.sleep(1)
        subs[offline].stop()
        t0 = time.time()
        plan = f.admin("rotate", "--lead", str(LEAD), "--grace", str(GRACE))
        self.assertRegex(plan, r"^key [0-9a-f]{8} primary at \d+")
        t_switch = int(plan.split()[4].rstrip(","))
        for n, s in subs.items():
            if n != offline:
                wait_applied(s, 2)
        time.sleep(max(0, t_switch + GRACE + 1 - time.time()))
        flow.stop()
        # The offline member comes back after T + grace and converges: it
        # opens a message sealed with the new key only.
        back = self.start(f.subscriber(offline))
        wait_applied(back, 2)
        r = subprocess.run([PUB, *f.member_args(pubs_n[0]), "-t",
                            "data/" + pubs_n[0], "-m", "late 0 0"],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(back.wait_lines(1), [b"late 0 0"])
        self.assertEqual(back.rejections(), [])
        sys.stderr.write("switch 1 (rotation at T=%d, %.1f s after the "
                         "command)\n" % (t_switch, t_switch - t0))
        for n, s in subs.items():
            if n != offline:
                s.wait_lines(len(flow.sent))
        self.rotation_figures("switch 1", flow.sent, subs, skip=(offline,))

        # Switch 2: revocation. The revoked member stays connected.
        for s in subs.values():
            s.stop()
        subs = {n: self.start(f.subscriber(n)) for n in subs_n}
        for s in subs.values():
            s.wait_stderr("refused: replay")
        pubs = {n: self.start(f.publisher(n)) for n in pubs_n}
        for p in pubs.values():
            p.wait_stderr("refused: replay")
        flow = Flow(pubs)
        flow.start()
        time.sleep(1)
        f.remove(revoked)
        plan = f.admin("rotate", "--lead", str(LEAD), "--grace", str(GRACE))
        t_switch = int(plan.split()[4].rstrip(","))
        for n, s in subs.items():
            if n != revoked:
                wait_applied(s, 3)
        time.sleep(max(0, t_switch + GRACE + 1 - time.time()))
        flow.stop()
        for n, s in subs.items():
            if n != revoked:
                s.wait_lines(len(flow.sent))
        self.rotation_figures("switch 2 (revocation)", flow.sent, subs,
                              skip=(revoked,))
        # The revoked member: nothing sealed after T opens (messages
        # sealed up to 0.5 s around T are left out: the clocks of the
        # test and of the publishers' sealing differ by the write).
        gone = subs[revoked]
        after = {(n, s) for n, s, t in flow.sent if t > t_switch + 0.5}
        before = {(n, s) for n, s, t in flow.sent if t < t_switch - 0.5}
        gone.wait_stderr("rejected", len(after))
        got = received(gone)
        sys.stderr.write(
            "switch 2: revoked %s: sent after T %d, opened after T %d, "
            "opened before T %d of %d, refused %s\n" % (
                revoked, len(after), len(got & after), len(got & before),
                len(before), reasons(gone)))
        self.assertEqual(got & after, set())
        self.assertEqual(before - got, set())
        self.assertEqual(set(reasons(gone)), {"unknown-key"})


class RefusedUpdates(BrokerCase):
    """Each attack on one member's update topic, with the member running:
    refused with its reason, the keyring and counter files unchanged."""

    def capture(self, topic, count):
        """The retained update on topic, then the next count - 1."""
        raw = RawClient(self.broker)
        self.addCleanup(raw.close)
        raw.subscribe(topic)
        return raw, [raw.next_message(BOUND)[1] for _ in range(count)]

    def test_forged_moved_rolled_back_truncated_replayed_other_group(self):
        f = self.fleet
        f.enrol("a")
        f.enrol("b")
        f.admin("publish")
        raw, (first,) = self.capture(f.topic("a"), 1)
        f.admin("publish")
        second = raw.next_message(BOUND)[1]
        _, (b_update,) = self.capture(f.topic("b"), 1)
        # A second admin key (forged updates) and another group's list
        # with the same member (an update for another group on a's topic).
        forger = os.path.join(self.dir, "forger")
        os.mkdir(forger)
        keygen("signer", "new", "-s", os.path.join(forger, "k"), "-p",
               os.path.join(forger, "p"), "--no-passphrase")
        other = os.path.join(self.dir, "other.members")
        keygen("admin", "enrol", "--members", other, "--group", "other",
               "-p", f.path("a", "member.pub"), "a")
        sub = self.start(f.subscriber("a"))
        wait_applied(sub, 2)
        ring, counter = f.path("a", "ring"), f.path("a", "ring.counter")
        before = file_state(ring), file_state(counter)
        # Consecutive attacks have different reasons (a repeat is said
        # once): each one below must show up as its own line.
        attacks = [
            ("moved", b_update, "bad-signature"),
            ("rolled back", first, "rollback"),
            ("truncated", second[:-40], "bad-signature"),
            ("replayed", second, "replay"),
        ]
        for what, payload, reason in attacks:
            raw.publish(f.topic("a"), payload)
            line = sub.wait_stderr("refused: " + reason)
            self.assertEqual(len(line), 1, (what, sub.err_lines))
        # Forged: a whole update signed by another key, on a's topic.
        keygen("admin", "publish", "--members", f.members, "-K", f.ring,
               "-s", os.path.join(forger, "k"), "--host", self.broker.host,
               "--port", str(self.broker.port))
        sub.wait_stderr("refused: untrusted-signer")
        # Another group's update, signed by the right admin, on a's topic.
        keygen("admin", "publish", "--members", other, "-K", f.ring,
               "-s", f.admin_key, "--host", self.broker.host, "--port",
               str(self.broker.port), "--root", "e2e/keys/" + GROUP)
        sub.wait_stderr("refused: wrong-group")
        # Not a recipient: b's update re-signed for a's topic cannot be
        # made without the admin key; an update without a's slot is what
        # a removed member gets, checked by the revocation test above.
        self.assertEqual((file_state(ring), file_state(counter)), before)
        refused = [ln.split(": ")[2] for ln in sub.err_lines
                   if "refused" in ln]
        sys.stderr.write("refused updates: %s\n" % refused)
        self.assertEqual(refused, ["bad-signature", "rollback",
                                   "bad-signature", "replay",
                                   "untrusted-signer", "wrong-group"])


def retained_on(broker, topics):
    """The retained message of each topic, None for none. Subscriptions
    are made one after another and mosquitto sends a subscription's
    retained message right after its SUBACK: once the last topic's (a
    marker retained here) has come, every earlier one has."""
    marker = "test/marker/%d" % os.getpid()
    raw = RawClient(broker)
    try:
        raw.publish(marker, b"m", retain=True)
        for t in list(topics) + [marker]:
            raw.subscribe(t)
        got = {}
        while True:
            topic, payload, retained = raw.next_message(BOUND)
            if topic == marker:
                break
            if retained:
                got[topic] = payload
        return {t: got.get(t) for t in topics}
    finally:
        raw.close()


class RemovedMember(BrokerCase):
    def test_admin_remove_clears_the_removed_members_retained_update(self):
        f = self.fleet
        f.enrol("a")
        f.enrol("b")
        f.admin("publish")
        before = retained_on(self.broker, [f.topic("a"), f.topic("b")])
        self.assertIsNotNone(before[f.topic("a")])
        out = f.remove("a")
        after = retained_on(self.broker, [f.topic("a"), f.topic("b")])
        self.assertIsNone(after[f.topic("a")])
        self.assertEqual(out, "removed a (%s); its retained update on %s "
                         "cleared" % (f.ids["a"], f.topic("a")))
        # The others' updates stay.
        self.assertEqual(after[f.topic("b")], before[f.topic("b")])

    def test_admin_remove_with_the_broker_out_of_reach_changes_nothing(self):
        f = self.fleet
        f.enrol("a")
        f.admin("publish")
        before = file_state(f.members)
        self.broker.stop()
        r = subprocess.run([KEYGEN, "admin", "remove", "--members",
                            f.members, *f.broker_args(), "a"],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"member 'a' not removed", r.stderr)
        self.assertEqual(file_state(f.members), before)


def body_size(group, key_filters, slot_keys):
    """docs/KEYDIST.md section 4: the bytes of an update body with keys of
    these filters and one slot per entry of slot_keys (its key count)."""
    return (23 + len(group) + sum(24 + len(k) for k in key_filters) + 2
            + sum(57 + 36 * n for n in slot_keys))


ENVELOPE_SIGNED_NONE = 90  # section 4: suite none, signed, topic-bound


class PerGroupLayout(BrokerCase):
    """docs/KEYDIST.md section 9's per-group layout: e2e-keygen admin
    --layout group publishes one update on the root with every member's
    slot; members subscribe to it with --update-topic ROOT."""

    def group_topic(self):
        return "e2e/keys/" + GROUP

    def group_args(self, name):
        return [*self.fleet.member_args(name), "--update-topic",
                self.group_topic()]

    def test_member_applies_the_group_update_and_switches_at_t(self):
        f = self.fleet
        f.enrol("s")
        f.enrol("p")
        out = f.admin("publish", "--layout", "group")
        self.assertEqual(out, "%s 2 members counter 1" % self.group_topic())
        sub = self.start(Proc([SUB, *self.group_args("s"), "-t", "data/#"]))
        wait_applied(sub, 1)
        plan = f.admin("rotate", "--layout", "group", "--lead", "2",
                       "--grace", "2").splitlines()
        t_switch = int(plan[0].split()[4].rstrip(","))
        self.assertEqual(plan[-1], "%s 2 members counter 2"
                         % self.group_topic())
        wait_applied(sub, 2)
        time.sleep(max(0, t_switch + 2 + 1 - time.time()))
        # After T + grace only the new key opens: the publisher, which
        # was away, catches up from the retained group update.
        r = subprocess.run([PUB, *self.group_args("p"), "-t", "data/p",
                            "-m", "after T"], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"key update 2 applied", r.stderr)
        self.assertEqual(sub.wait_lines(1), [b"after T"])
        self.assertEqual(sub.rejections(), [])

    def test_member_learns_only_the_keys_of_its_own_slot(self):
        f = self.fleet
        keygen("keyring", "rotate", "-K", f.ring, "--topics", "tenant-b/#")
        f.enrol("a")
        line = keygen("member", "init", "-s", f.path("b.key"), "-p",
                      f.path("b.pub"), "--no-passphrase")
        os.mkdir(f.path("b"))
        os.rename(f.path("b.key"), f.path("b", "member.key"))
        f.ids["b"] = keygen("admin", "enrol", "--members", f.members, "-p",
                            line, "--topics", "tenant-b/#", "b")
        f.admin("publish", "--layout", "group")
        admin_keys = {}
        for ln in keygen("keyring", "list", "-K", f.ring).splitlines():
            admin_keys[ln.split()[0]] = "topics=tenant-b/#" in ln
        for name in ("a", "b"):
            sub = self.start(Proc([SUB, *self.group_args(name), "-t",
                                   "data/#"]))
            wait_applied(sub, 1)
            sub.stop()
            held = [ln.split()[0] for ln in keygen(
                "keyring", "list", "-K", f.path(name, "ring")).splitlines()]
            mine = sorted(k for k, b_only in admin_keys.items()
                          if b_only == (name == "b"))
            self.assertEqual(sorted(held), mine, name)

    def retained_under(self, topic_filter):
        """{topic: payload} of the retained messages a fresh subscriber
        to topic_filter gets (marker as in retained_on)."""
        marker = "test/marker/%d" % os.getpid()
        raw = RawClient(self.broker)
        try:
            raw.publish(marker, b"m", retain=True)
            raw.subscribe(topic_filter)
            raw.subscribe(marker)
            got = {}
            while True:
                topic, payload, retained = raw.next_message(BOUND)
                if topic == marker:
                    return got
                if retained:
                    got[topic] = payload
        finally:
            raw.close()

    def test_layout_switched_to_group_is_kept_by_a_later_rotate(self):
        f = self.fleet
        f.enrol("s")
        f.admin("publish")
        out = f.admin("publish", "--layout", "group").splitlines()
        self.assertEqual(out, [
            "%s 1 members counter 2" % self.group_topic(),
            "layout group saved (was member): cleared 1 retained update on "
            "%s/MEMBER-ID" % self.group_topic()])
        listed = keygen("admin", "list", "--members", f.members)
        self.assertEqual(listed.splitlines()[0],
                         "# group plant, counter 2, layout group")
        sub = self.start(Proc([SUB, *self.group_args("s"), "-t", "data/#"]))
        wait_applied(sub, 2)
        # No --layout: the group's stored one, on the group topic.
        plan = f.admin("rotate", "--lead", "1h").splitlines()
        self.assertEqual(plan[-1], "%s 1 members counter 3"
                         % self.group_topic())
        wait_applied(sub, 3)

    def test_layout_switch_clears_the_old_layouts_retained_updates(self):
        f = self.fleet
        f.enrol("a")
        f.enrol("b")
        f.admin("publish")
        per_member = sorted([f.topic("a"), f.topic("b")])
        self.assertEqual(sorted(self.retained_under(
            self.group_topic() + "/#")), per_member)
        f.admin("rotate", "--layout", "group", "--lead", "1h")
        self.assertEqual(list(self.retained_under(
            self.group_topic() + "/#")), [self.group_topic()])
        out = f.admin("publish", "--layout", "member").splitlines()
        self.assertEqual(out[-1], "layout member saved (was group): cleared "
                         "1 retained update on %s" % self.group_topic())
        self.assertEqual(sorted(self.retained_under(
            self.group_topic() + "/#")), per_member)

    def test_layout_switch_with_the_broker_out_of_reach_keeps_the_old_one(self):
        f = self.fleet
        f.enrol("a")
        f.admin("publish")
        self.broker.stop()
        r = subprocess.run([KEYGEN, "admin", "publish", "--members",
                            f.members, "-K", f.ring, "-s", f.admin_key,
                            *f.broker_args(), "--layout", "group"],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        listed = keygen("admin", "list", "--members", f.members)
        # The counter is spent (never reused), the layout not switched.
        self.assertEqual(listed.splitlines()[0],
                         "# group plant, counter 2, layout member")

    def rotation_messages(self, layout, members):
        """Enrol members, publish, then count what one rotation puts on
        the broker: (messages seen by a subscriber to every update topic,
        retained updates afterwards)."""
        f = self.fleet
        for name in members:
            f.enrol(name)
        f.admin("publish", "--layout", layout)
        raw = RawClient(self.broker)
        self.addCleanup(raw.close)
        raw.subscribe("e2e/keys/#")
        for _ in range(1 if layout == "group" else len(members)):
            raw.next_message(BOUND)  # the retained ones
        f.admin("rotate", "--layout", layout, "--lead", "1h")
        seen = []
        while True:
            try:
                seen.append(raw.next_message(2))
            except queue.Empty:
                break
        topics = ["e2e/keys/%s/%s" % (GROUP, f.ids[n]) for n in members]
        topics.append(self.group_topic())
        kept = {t: p for t, p in retained_on(self.broker, topics).items()
                if p is not None}
        return seen, kept

    def test_one_message_per_rotation_with_every_slot(self):
        members = ["m%d" % i for i in range(10)]
        seen, kept = self.rotation_messages("group", members)
        self.assertEqual([t for t, _, _ in seen], [self.group_topic()])
        # Two keys (the current one, the next), 10 slots of 2 keys.
        self.assertEqual(len(seen[0][1]), ENVELOPE_SIGNED_NONE + body_size(
            GROUP, ["", ""], [2] * 10))
        self.assertEqual(list(kept), [self.group_topic()])
        sys.stderr.write("per group, 10 members: %d message of %d B per "
                         "rotation, %d retained\n"
                         % (len(seen), len(seen[0][1]), len(kept)))

    def test_per_member_layout_sends_one_message_per_member(self):
        members = ["m%d" % i for i in range(10)]
        seen, kept = self.rotation_messages("member", members)
        f = self.fleet
        self.assertEqual(sorted(t for t, _, _ in seen), sorted(
            "e2e/keys/%s/%s" % (GROUP, f.ids[n]) for n in members))
        for _, payload, _ in seen:
            self.assertEqual(len(payload), ENVELOPE_SIGNED_NONE + body_size(
                GROUP, ["", ""], [2]))
        self.assertEqual(len(kept), 10)
        sys.stderr.write("per member, 10 members: %d messages of %d B per "
                         "rotation, %d retained\n"
                         % (len(seen), len(seen[0][1]), len(kept)))


def faketime_env(offset):
    """The environment of a tool whose clock is offset seconds off:
    Debian's libfaketime, preloaded (it shifts time(), gettimeofday() and
    clock_gettime(CLOCK_REALTIME), which libe2e and the tools read; the
    monotonic clock that Paho's timers use is left alone). No code of
    libe2e's is involved: nothing to enable by accident in production."""
    libs = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not libs:
        raise AssertionError("libfaketime missing: install faketime "
                             "(scripts/install-deps.sh test)")
    env = dict(os.environ)
    env.update(LD_PRELOAD=libs[0], FAKETIME="%+g" % offset,
               FAKETIME_DONT_FAKE_MONOTONIC="1")
    return env


class ClockSkew(BrokerCase):
    """Members whose clocks are off (2 s ahead, 2 s behind) across a
    scheduled rotation at QoS 1 (docs/KEYDIST.md section 10): a receiver
    accepts the old key until T + grace by its own clock, and a sealer
    seals with it until T by its own, so a receiver whose clock is a
    seconds ahead of the sealer's loses nothing when a + delay <= grace;
    beyond, it refuses the sealer's last old-key messages (disabled-key)."""

    SKEW = {"fast": 2.0, "slow": -2.0}
    LEAD = 5

    def run_rotation(self, grace):
        f = self.fleet
        for clock in self.SKEW:
            f.enrol("p" + clock)
            f.enrol("s" + clock)
        f.admin("publish")
        subs = {c: self.start(Proc([SUB, *f.member_args("s" + c), "-t",
                                    "data/#"], env=faketime_env(off)))
                for c, off in self.SKEW.items()}
        pubs = {"p" + c: self.start(Proc(
            [PUB, *f.member_args("p" + c), "-t", "data/p" + c, "-l"],
            stdin=subprocess.PIPE, env=faketime_env(off)))
            for c, off in self.SKEW.items()}
        for p in list(subs.values()) + list(pubs.values()):
            wait_applied(p, 1)
        flow = Flow(pubs)
        flow.start()
        time.sleep(1)
        plan = f.admin("rotate", "--lead", str(self.LEAD), "--grace",
                       str(grace))
        t_switch = int(plan.split()[4].rstrip(","))
        for p in list(subs.values()) + list(pubs.values()):
            wait_applied(p, 2)
        # Until the slowest clock is past T + grace, and a second more.
        time.sleep(max(0, t_switch + grace + 2 + 1 - time.time()))
        flow.stop()
        return t_switch, flow.sent, subs

    def figures(self, label, sent, subs):
        """{(subscriber, publisher): (missing messages, refusals by
        reason)}, printed."""
        out = {}
        for c, sub in subs.items():
            got = received(sub)
            for pub in ("p" + k for k in self.SKEW):
                mine = {(n, q): t for n, q, t in sent if n == pub}
                refused = {}
                for line in sub.rejections():
                    fields = line.split(": ")
                    if fields[1].endswith("/" + pub):
                        refused[fields[2]] = refused.get(fields[2], 0) + 1
                missing = {k: t for k, t in mine.items() if k not in got}
                sys.stderr.write(
                    "%s: s%s (%+g s) from %s (%+g s): sent %d, delivered "
                    "%d, refused %s\n" % (
                        label, c, self.SKEW[c], pub, self.SKEW[pub[1:]],
                        len(mine), len(mine) - len(missing),
                        refused or "none"))
                out[("s" + c, pub)] = (missing, refused)
        return out

    def wait_all(self, sent, subs):
        """Until every subscriber printed or rejected every message."""
        for sub in subs.values():
            sub._wait(lambda: sub.out.count(b"\n") + len(sub.rejections())
                      >= len(sent), "%d messages" % len(sent))

    def test_clocks_2s_ahead_and_behind_lose_nothing_when_grace_covers_them(self):
        # a = 4 s (subscriber 2 s ahead, publisher 2 s behind) + delay
        # (< 1 s here) <= grace = 5 s.
        t_switch, sent, subs = self.run_rotation(grace=5)
        self.wait_all(sent, subs)
        for pair, (missing, refused) in self.figures(
                "skew, grace 5", sent, subs).items():
            self.assertEqual((missing, refused), ({}, {}), pair)

    def test_skew_beyond_grace_refuses_only_the_slow_sealers_last_old_key(self):
        # a = 4 s > grace = 3 s: the fast subscriber disables the old key
        # at real time T + 1, the slow publisher seals with it until real
        # T + 2: what it seals in between (by its clock, [T - 1, T)) is
        # refused as disabled-key; every other pair loses nothing.
        grace = 3
        t_switch, sent, subs = self.run_rotation(grace=grace)
        self.wait_all(sent, subs)
        fig = self.figures("skew, grace 3", sent, subs)
        for pair, (missing, refused) in fig.items():
            if pair != ("sfast", "pslow"):
                self.assertEqual((missing, refused), ({}, {}), pair)
        missing, refused = fig[("sfast", "pslow")]
        self.assertEqual(refused, {"disabled-key": len(missing)})
        self.assertGreater(len(missing), 0)
        # Sealed by the slow clock (real time - 2) in [T + grace - 4, T),
        # give or take the delivery delay and the sealing (0.5 s).
        window = (t_switch + grace - 4 + 2 - 0.5, t_switch + 2 + 0.5)
        for key, t in missing.items():
            self.assertTrue(window[0] <= t <= window[1], (key, t, window))


if __name__ == "__main__":
    for tool in (PUB, SUB, KEYGEN):
        if not os.access(tool, os.X_OK):
            sys.exit("%s not built" % tool)
    unittest.main(verbosity=2)
