#!/usr/bin/python3 -B
"""Consumer groups: e2e-sub members of one shared subscription
($share/GROUP/FILTER) with their replay state in Redis (--state
redis://..., docs/GROUPS.md), through a real mosquitto and a real
redis-server, both started here on free loopback ports with their own
configuration and stopped by PID.

The attack: a client with publish rights (the broker's operator, or anyone
who can publish on the topic) captures every genuine envelope and publishes
it again, several times, into the group; the broker spreads the copies over
the members. With one replay guard per member each member would accept its
copy; with the group's state in Redis the union of the members' output
holds every genuine message exactly once and every extra copy is refused as
"replay" -- with a member killed and restarted, and with Redis killed and
restarted on its append-only file. While Redis is down nothing is delivered
unchecked: QoS 0 messages are refused as "store-unavailable", QoS 1 ones
are held by the member and delivered once Redis is back.

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL,
REDIS_SERVER.
"""

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from redis_server import RedisServer, redis_server_path  # noqa: E402
from test_cli import BOUND, SUB, CliCase, Proc, main  # noqa: E402

TOPIC = "grp/t"
COPIES = 3  # extra copies of every envelope the attacker publishes
# Message counts are prime to the number of members: mosquitto hands a
# group's messages out in turn, so copy k of message i reaches member
# (i + k * N) mod members, a different one for each k.


class GroupCase(CliCase):
    """A broker and a Redis for the class; a fresh group prefix per test."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.redis = RedisServer(os.path.join(cls.classdir, "redis"))
        cls.redis.start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.redis.proc is None:
            self.redis.start()
        # A group and a state of its own for each test.
        self.prefix = "t-%s" % self._testMethodName
        self.filter = "$share/%s/grp/#" % self._testMethodName
        self.members = []
        self.gone = []  # members stopped or killed: their output counts

    def state_args(self):
        return ["--state", self.redis.url(self.prefix)]

    def member(self, qos=1, *extra):
        p = self.start_sub("-t", self.filter, "-q", str(qos), "-v",
                           *self.state_args(), *extra)
        self.members.append(p)
        return p

    def kill(self, p, sig=signal.SIGKILL):
        p.p.send_signal(sig)
        p.p.wait(BOUND)
        p.stop()
        self.members.remove(p)
        self.gone.append(p)

    def publish(self, payloads, qos=1):
        self.pub("-t", TOPIC, "-q", str(qos), "-l",
                 input="".join(m + "\n" for m in payloads).encode())

    def spy(self):
        """The attacker: a plain (not shared) subscriber that sees every
        envelope the publisher sends."""
        raw = self.raw()
        raw.subscribe("grp/#", qos=1)
        return raw

    def capture(self, raw, n):
        return [raw.next_message()[1] for _ in range(n)]

    def replay(self, raw, envelopes, copies=COPIES):
        for _ in range(copies):
            for env in envelopes:
                raw.publish(TOPIC, env, qos=1)

    def everyone(self):
        return self.gone + self.members

    def lines(self):
        return [line for p in self.everyone()
                for line in p.out.decode().splitlines()]

    def replays(self):
        return [r for p in self.everyone() for r in p.rejections()
                if ": replay: " in r]

    def wait_for(self, pred, what):
        deadline = time.monotonic() + BOUND
        while not pred():
            self.assertLess(time.monotonic(), deadline, "%s (%d, %d)\n%s\n%s" % (
                what, len(self.lines()), len(self.replays()), self.lines(),
                "\n".join(e for p in self.everyone() for e in p.err_lines)))
            time.sleep(0.05)

    def wait_delivered(self, n, replays=0):
        self.wait_for(lambda: len(self.lines()) >= n and
                      len(self.replays()) >= replays,
                      "%d lines and %d replays" % (n, replays))

    def assertExactlyOnce(self, payloads, replays):
        # Settle: anything more that would arrive (a second acceptance,
        # say) has time to show.
        time.sleep(0.5)
        self.assertEqual(sorted(self.lines()),
                         sorted("%s %s" % (TOPIC, m) for m in payloads))
        self.assertEqual(len(self.replays()), replays)
        others = [r for p in self.everyone() for r in p.rejections()
                  if ": replay: " not in r]
        self.assertEqual(others, [])

    def attack(self, msgs):
        """Publish msgs; the spy publishes COPIES more of each; the group
        must deliver each once and refuse every copy."""
        raw = self.spy()
        self.publish(msgs)
        self.replay(raw, self.capture(raw, len(msgs)))
        self.wait_delivered(len(msgs), COPIES * len(msgs))
        self.assertExactlyOnce(msgs, COPIES * len(msgs))


class ExactlyOncePerGroup(GroupCase):

    def test_every_copy_spread_over_three_members_is_accepted_once(self):
        for _ in range(3):
            self.member()
        self.attack(["m%d" % i for i in range(31)])
        # The copies reached every member (so each one had a copy it
        # would have accepted with a guard of its own), and each refused.
        for p in self.members:
            self.assertTrue(any(": replay: " in r for r in p.rejections()),
                            p.err_lines)

    def test_a_member_killed_and_restarted_refuses_what_the_group_saw(self):
        for _ in range(3):
            self.member()
        raw = self.spy()
        first = ["a%d" % i for i in range(16)]
        self.publish(first)
        envs = self.capture(raw, len(first))
        self.replay(raw, envs, 1)
        self.wait_delivered(len(first), len(first))
        self.kill(self.members[0])
        second = ["b%d" % i for i in range(17)]
        self.publish(second)
        envs += self.capture(raw, len(second))
        self.replay(raw, envs[len(first):], 1)
        self.wait_delivered(len(first) + len(second), len(envs))
        # A new process, empty memory: only the group's state stands
        # between it and every envelope seen so far.
        self.member()
        self.replay(raw, envs, COPIES)
        total = len(envs) * (1 + COPIES)
        self.wait_delivered(len(envs), total)
        self.assertExactlyOnce(first + second, total)

    def test_a_python_member_shares_the_group_with_two_e2e_sub(self):
        for _ in range(2):
            self.member()
        env = dict(os.environ)
        py = Proc([sys.executable, "-B", os.path.join(HERE, "group_member.py"),
                   self.broker.host, str(self.broker.port), self.filter,
                   self.keyring, self.redis.url(self.prefix), "1"], env=env)
        self.procs.append(py)
        self.members.append(py)
        py.wait_stderr("connected and subscribed")
        self.attack(["p%d" % i for i in range(31)])
        # The Python member took its share and refused copies too.
        self.assertTrue(py.out, py.err_lines)
        self.assertTrue(py.rejections(), py.err_lines)


class RedisRestarts(GroupCase):

    def test_redis_killed_and_restarted_on_its_aof_refuses_every_replay(self):
        for _ in range(3):
            self.member()
        raw = self.spy()
        first = ["r%d" % i for i in range(20)]
        self.publish(first)
        envs = self.capture(raw, len(first))
        self.wait_delivered(len(first))
        # A crash: what Redis acknowledged is what its AOF holds
        # (appendfsync always).
        self.redis.stop(signal.SIGKILL)
        second = ["s%d" % i for i in range(20)]
        self.publish(second)  # QoS 1: held by the members meanwhile
        envs += self.capture(raw, len(second))
        time.sleep(1)
        self.assertEqual(len(self.lines()), len(first))
        self.redis.start()
        self.wait_delivered(len(first) + len(second))
        self.replay(raw, envs)
        self.wait_delivered(len(envs), COPIES * len(envs))
        self.assertExactlyOnce(first + second, COPIES * len(envs))


class RedisDown(GroupCase):
    """Nothing is delivered unchecked while Redis cannot be reached."""

    def tearDown(self):
        super().tearDown()
        if self.redis.proc is None:
            self.redis.start()

    def test_qos0_message_is_refused_as_store_unavailable_and_counted(self):
        p = self.member(0)
        self.redis.stop()
        self.publish(["lost0", "lost1"], qos=0)
        got = p.wait_stderr(": store-unavailable: ", 2)
        self.assertRejected(got[0], TOPIC, "store-unavailable")
        self.assertEqual(p.out, b"")
        self.redis.start()
        self.publish(["after"], qos=0)
        self.assertEqual(p.wait_lines(1), [("%s after" % TOPIC).encode()])
        p.wait_stderr("shared state reachable again")
        self.assertEqual(p.out, ("%s after\n" % TOPIC).encode())

    def test_qos1_message_is_held_until_redis_is_back_then_delivered_once(
            self):
        p = self.member(1)
        self.redis.stop()
        msgs = ["held%d" % i for i in range(5)]
        self.publish(msgs, qos=1)
        p.wait_stderr("shared state unreachable")
        time.sleep(1.5)
        self.assertEqual(p.out, b"")
        self.assertEqual(p.rejections(), [])
        self.redis.start()
        self.assertEqual(p.wait_lines(5),
                         [("%s %s" % (TOPIC, m)).encode() for m in msgs])
        p.wait_stderr("shared state reachable again")
        time.sleep(0.5)
        self.assertEqual(p.out.count(b"\n"), 5)
        self.assertEqual(p.rejections(), [])

    def test_a_held_message_keeps_its_mqtt5_properties(self):
        # A genuine envelope, captured before any member subscribed.
        raw = self.spy()
        self.publish(["props"])
        env = self.capture(raw, 1)[0]
        p = self.start_sub("-t", self.filter, "-q", "1", "-V", "5", "-F",
                           "%t %p %P", *self.state_args())
        self.members.append(p)
        self.redis.stop()
        import paho.mqtt.client as mqtt
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties
        c = mqtt.Client(protocol=mqtt.MQTTv5)
        c.connect(self.broker.host, self.broker.port)
        c.loop_start()
        try:
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = ("site", "plant-7")
            c.publish(TOPIC, env, qos=1, properties=props).wait_for_publish(
                BOUND)
            p.wait_stderr("shared state unreachable")
        finally:
            c.loop_stop()
            c.disconnect()
        # Paho freed its copy of the properties long ago.
        time.sleep(0.5)
        self.redis.start()
        self.assertEqual(p.wait_lines(1),
                         [("%s props site:plant-7" % TOPIC).encode()])

    def test_member_stopped_with_held_messages_says_so_and_exits_1(self):
        # Paho acknowledged them: they die with the member, reported.
        p = self.member(1)
        self.redis.stop()
        self.publish(["held0", "held1"], qos=1)
        p.wait_stderr("shared state unreachable")
        time.sleep(0.5)
        self.assertEqual(p.stop(), 1)
        self.assertIn("e2e-sub: 2 held messages were never judged (the "
                      "shared state stayed unreachable): not delivered",
                      p.err_lines)
        self.assertEqual(p.out, b"")


class RedisRefusesWrites(GroupCase):
    """A Redis that takes no writes for now (out of memory under
    noeviction, demoted to a replica) is an outage, not a verdict: nothing
    is delivered, nothing genuine is lost at QoS 1."""

    def refuse_and_allow(self, refuse, allow, qos):
        p = self.member(qos)
        self.publish(["before"], qos=qos)
        self.assertEqual(p.wait_lines(1), [("%s before" % TOPIC).encode()])
        self.assertEqual(self.redis.command(*refuse), "+OK")
        try:
            self.publish(["during0", "during1"], qos=qos)
            if qos == 0:
                got = p.wait_stderr(": store-unavailable: ", 2)
                self.assertRejected(got[0], TOPIC, "store-unavailable")
            else:
                p.wait_stderr("shared state unreachable")
                time.sleep(1)
                self.assertEqual(p.rejections(), [])
            self.assertEqual(p.out, ("%s before\n" % TOPIC).encode())
        finally:
            self.assertEqual(self.redis.command(*allow), "+OK")
        self.publish(["after"], qos=qos)
        want = ["before"] + (["during0", "during1"] if qos else []) + ["after"]
        self.assertEqual(p.wait_lines(len(want)),
                         [("%s %s" % (TOPIC, m)).encode() for m in want])
        time.sleep(0.5)
        self.assertEqual(p.out.count(b"\n"), len(want))

    def test_out_of_memory_holds_qos1_messages_then_delivers_them_once(self):
        self.refuse_and_allow(("CONFIG", "SET", "maxmemory", "1"),
                              ("CONFIG", "SET", "maxmemory", "0"), 1)

    def test_out_of_memory_refuses_qos0_messages_as_store_unavailable(self):
        self.refuse_and_allow(("CONFIG", "SET", "maxmemory", "1"),
                              ("CONFIG", "SET", "maxmemory", "0"), 0)

    def test_a_primary_demoted_to_replica_holds_qos1_messages(self):
        # Its primary (port 1) never answers: it keeps its data, read-only.
        self.refuse_and_allow(("REPLICAOF", "127.0.0.1", "1"),
                              ("REPLICAOF", "NO", "ONE"), 1)


class LaggingMember(GroupCase):
    """A member that falls behind the others (docs/GROUPS.md section 8,
    "A member that lags"): the group shares each sender's window, so the
    window must cover the lag, or the late member refuses genuine
    messages as replay."""

    LAGGED = 1500  # one sender's messages, half of them to the stopped one

    def lag_one_member(self, qos, *extra):
        members = [self.member(qos, *extra) for _ in range(3)]
        slow = members[0]
        slow.p.send_signal(signal.SIGSTOP)
        try:
            msgs = ["lag%d" % i for i in range(self.LAGGED)]
            self.publish(msgs, qos=qos)
            # The others race ahead: they take (and the group records)
            # their whole share while the slow one has not judged one.
            self.wait_for(lambda: len(self.lines()) >= 2 * self.LAGGED // 3
                          - 10, "the running members' share")
            self.assertEqual(slow.out, b"")
        finally:
            slow.p.send_signal(signal.SIGCONT)
        self.wait_for(lambda: len(self.lines()) >= self.LAGGED or
                      len(self.lines()) + len(slow.rejections())
                      >= self.LAGGED, "every message judged")
        self.assertEqual(slow.rejections(), [])
        self.assertExactlyOnce(msgs, 0)

    def test_a_stopped_member_resumes_without_refusing_genuine_ones(self):
        self.lag_one_member(1)

    def test_a_stopped_member_at_qos0_refuses_no_genuine_one(self):
        self.lag_one_member(0)


class Batching(GroupCase):
    """Messages waiting together are judged together: one pipelined round
    trip to Redis for up to 256 of them, their verdicts in arrival order
    (docs/GROUPS.md section 8)."""

    def reads(self):
        # Redis counts each read of a client's socket; this INFO is one.
        return int(self.redis.info("stats")["total_reads_processed"])

    def test_a_burst_is_judged_in_batches_and_printed_in_order(self):
        p = self.member(1)
        msgs = ["b%d" % i for i in range(600)]
        before = self.reads()
        p.p.send_signal(signal.SIGSTOP)
        try:
            self.publish(msgs)  # waiting for it, all at once
        finally:
            p.p.send_signal(signal.SIGCONT)
        self.assertEqual(p.wait_lines(len(msgs)),
                         [("%s %s" % (TOPIC, m)).encode() for m in msgs])
        reads = self.reads() - before - 1
        print("round trips to Redis: %d for %d messages" % (reads, len(msgs)),
              file=sys.stderr)
        self.assertLessEqual(reads, len(msgs) // 4)
        self.assertEqual(p.rejections(), [])


    def test_with_count_a_batch_commits_no_more_than_it_prints(self):
        p = self.member(1, "-C", "5")
        raw = self.spy()
        msgs = ["c%d" % i for i in range(20)]
        p.p.send_signal(signal.SIGSTOP)
        try:
            self.publish(msgs)
            envs = self.capture(raw, len(msgs))
        finally:
            p.p.send_signal(signal.SIGCONT)
        self.assertEqual(p.finish(), 0)
        self.members.remove(p)
        self.gone.append(p)
        self.assertEqual(p.out.decode().splitlines(),
                         ["%s %s" % (TOPIC, m) for m in msgs[:5]])
        # The 15 it received and did not print were never committed: the
        # group still accepts them (and refuses the 5 it printed).
        self.member()
        self.replay(raw, envs, 1)
        self.wait_delivered(len(msgs), 5)
        self.assertExactlyOnce(msgs, 5)


class AnswerGate:
    """A loopback relay between one member and Redis that, once armed,
    holds Redis's answers back until the member has sent two script calls
    (EVALSHA) since, or until `bound` seconds have passed (less than the
    member's Redis timeout, 2 s): whether the member sent its next batch
    before it had the answer of the one before."""

    def __init__(self, port, bound=1.5):
        self.port, self.bound = port, bound
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.armed = self.opened = self.overlap = False
        self.calls, self.stop = 0, False
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def url(self, prefix):
        return "redis://127.0.0.1:%d/%s" % (self.lsock.getsockname()[1],
                                            prefix)

    def arm(self):
        self.calls, self.since, self.armed = 0, time.monotonic(), True

    def run(self):
        c, _ = self.lsock.accept()
        r = socket.create_connection(("127.0.0.1", self.port))
        held, tail = b"", b""
        while not self.stop:
            ready = select.select([c, r], [], [], 0.05)[0]
            if c in ready:
                data = c.recv(65536)
                if not data:
                    break
                if self.armed:
                    self.calls += (tail + data).count(b"EVALSHA")
                    tail = data[-6:]
                r.sendall(data)
            if r in ready:
                data = r.recv(65536)
                if not data:
                    break
                held += data
            if self.armed and not self.opened and (
                    self.calls >= 2 or
                    time.monotonic() - self.since > self.bound):
                self.overlap = self.calls >= 2
                self.opened = True
            if held and (not self.armed or self.opened):
                c.sendall(held)
                held = b""
        c.close()
        r.close()

    def close(self):
        self.stop = True
        self.th.join(BOUND)
        self.lsock.close()


class Pipelining(GroupCase):

    def test_the_next_batch_is_sent_before_the_answer_of_the_one_before(self):
        """Two batches in flight: with Redis's answers held back, the
        member still sends a second script call; then every message is
        printed once, in order (docs/GROUPS.md section 1). One batch at a
        time, the member would wait for the first answer."""
        gate = AnswerGate(self.redis.port)
        try:
            p = self.start_sub("-t", self.filter, "-q", "1", "-v",
                               "--state", gate.url(self.prefix))
            self.members.append(p)
            self.publish(["first"])
            p.wait_lines(1)
            msgs = ["p%d" % i for i in range(600)]
            p.p.send_signal(signal.SIGSTOP)
            try:
                self.publish(msgs)  # waiting for it, all at once
                gate.arm()
            finally:
                p.p.send_signal(signal.SIGCONT)
            self.assertEqual(
                p.wait_lines(len(msgs) + 1)[1:],
                [("%s %s" % (TOPIC, m)).encode() for m in msgs])
            self.assertTrue(gate.opened)
            self.assertTrue(gate.overlap, "the member waited for Redis's "
                            "answer before sending its next batch")
            self.assertEqual(p.rejections(), [])
        finally:
            gate.close()


class Options(GroupCase):

    def run_sub(self, *args, env=None):
        return subprocess.run([SUB, *self.conn(), "-t", self.filter, "-K",
                               self.keyring, *args], capture_output=True,
                              timeout=BOUND, env=env)

    def test_password_in_the_url_is_refused_with_the_remedy(self):
        r = self.run_sub("--state", "redis://u:hunter2@127.0.0.1:%d/x"
                         % self.redis.port)
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("--state-password-file", err)
        self.assertIn("E2E_STATE_PASSWORD", err)
        self.assertNotIn("hunter2", err)

    def test_password_file_without_redis_state_is_refused(self):
        pw = self.path("pw")
        with open(pw, "w") as f:
            f.write("x\n")
        os.chmod(pw, 0o600)
        r = self.run_sub("--state-password-file", pw)
        self.assertEqual(r.returncode, 1)
        self.assertIn("--state-password-file goes with --state redis://",
                      r.stderr.decode())

    def test_unreachable_redis_at_start_is_an_error_with_the_url(self):
        r = self.run_sub("--state", "redis://127.0.0.1:1/x", "-d")
        self.assertEqual(r.returncode, 1)
        self.assertIn("--state redis://127.0.0.1:1/x:", r.stderr.decode())

    def test_group_of_another_protocol_is_refused_at_start(self):
        """A group whose state a member of protocol 1 made (GROUPS.md
        section 6): e2e-sub refuses it at start with the remedy, and
        writes nothing."""
        with socket.create_connection((self.redis.host, self.redis.port),
                                      5) as c:
            c.sendall(b"HSET {old}:g v 1 window 65536\r\n")
            self.assertEqual(c.recv(64), b":2\r\n")
            r = self.run_sub("--state", self.redis.url("old"), "-d")
            self.assertEqual(r.returncode, 1)
            err = r.stderr.decode()
            self.assertIn("another protocol version", err)
            self.assertIn("one version in every member", err)
            c.sendall(b"KEYS {old}:*\r\n")
            self.assertEqual(c.recv(64), b"*1\r\n$7\r\n{old}:g\r\n")


class Passwords(GroupCase):
    """A Redis with requirepass: the password from a file or the
    environment, never from the command line."""

    @classmethod
    def setUpClass(cls):
        super(GroupCase, cls).setUpClass()
        cls.redis = RedisServer(os.path.join(cls.classdir, "redis"),
                                extra="requirepass s3cret-pw")
        cls.redis.start()

    def accepted_through(self, p):
        self.publish(["pw"])
        self.assertEqual(p.wait_lines(1), [("%s pw" % TOPIC).encode()])

    def test_password_file_authenticates(self):
        pw = self.path("pw")
        with open(pw, "w") as f:
            f.write("s3cret-pw\n")
        os.chmod(pw, 0o600)
        self.accepted_through(self.member(1, "--state-password-file", pw))

    def test_password_from_the_environment_authenticates(self):
        env = dict(os.environ, E2E_STATE_PASSWORD="s3cret-pw")
        p = self.start_sub("-t", self.filter, "-q", "1", "-v",
                           *self.state_args(), env=env)
        self.members.append(p)
        self.accepted_through(p)

    def test_wrong_password_is_refused_at_start(self):
        env = dict(os.environ, E2E_STATE_PASSWORD="wrong")
        r = subprocess.run([SUB, *self.conn(), "-t", self.filter, "-K",
                            self.keyring, *self.state_args()],
                           capture_output=True, timeout=BOUND, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("E2E_STATE_PASSWORD", r.stderr.decode())


if __name__ == "__main__":
    if redis_server_path() is None:
        print("SKIP: no redis-server")
        sys.exit(77)
    main()
