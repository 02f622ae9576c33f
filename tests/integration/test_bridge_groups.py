#!/usr/bin/python3 -B
"""e2e-bridge with "state redis://..." (docs/BRIDGE.md section 5.4,
docs/GROUPS.md): two bridges members of one shared subscription on remote
("group NAME": $share/NAME/...), their "in" replay state one consumer
group's in Redis, publishing onto local. Real mosquitto brokers (remote and
local) and a real redis-server (AOF, appendfsync always), all started here
on free loopback ports with their own configuration and stopped by PID.

The attack is test_groups.py's: a client with publish rights on remote
captures every genuine envelope and publishes it again into the group;
mosquitto hands the copies to the members in turn, so each bridge gets
copies of messages the other one bridged. Local must see every genuine
message exactly once, and every extra copy is refused as "replay".

Environment (make check exports it): top_builddir, MOSQUITTO,
REDIS_SERVER.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from redis_server import RedisServer, redis_server_path  # noqa: E402
from test_bridge import BRIDGE, WRAPPER, BridgeCase, side  # noqa: E402
from test_bridge_ops import events, metric, prometheus  # noqa: E402
from test_cli import BOUND, MOSQUITTO_PUB, MOSQUITTO_SUB, PUB, Proc  # noqa: E402
from test_groups import COPIES, GroupCase as SubGroupCase  # noqa: E402

GROUP = "bridges"


@unittest.skipUnless(redis_server_path(), "no redis-server")
class GroupCase(BridgeCase):
    """Both brokers, a Redis, and bridges of one group."""

    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self.path("redis"))
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.bridges = []

    def member_config(self, i, extra="", rules="in grp/# 1\n",
                      journal=True, url=None):
        return self.config(
            "state %s\ngroup %s\n%s%s%s" % (
                url or self.redis.url("bridge-group"), GROUP,
                "journal %s\n" % self.path("journal%d" % i) if journal
                else "", extra, rules),
            name="member%d.conf" % i)

    def member(self, i, *args, **kw):
        conf = self.member_config(i, **kw)
        p = self.start(conf, "--metrics", self.path("metrics%d.prom" % i),
                       *args)
        self.bridges.append(p)
        return p

    def consumer(self, topic="grp/#"):
        """mosquitto_sub at QoS 1 on local: one payload per line."""
        b = self.b["local"]
        p = Proc(["stdbuf", "-oL", MOSQUITTO_SUB, "-h", b.host, "-p",
                  str(b.port), "-t", topic, "-q", "1", "-F", "%p", "-d"])
        self.addCleanup(p.stop)
        p._wait(lambda: b"\nSubscribed (mid" in p.out, "SUBACK")
        return p

    def payloads(self, p):
        with p._cv:
            return [line for line in p.out.decode().splitlines()
                    if not line.startswith(("Client ", "Subscribed "))]

    def wait_for(self, pred, what, bound=BOUND):
        deadline = time.monotonic() + bound
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError("%s\n%s" % (what, "\n".join(
                    line for p in self.bridges for line in p.err_lines)))
            time.sleep(0.05)

    def publish(self, payloads, qos=1, topic="grp/t"):
        b = self.b["remote"]
        r = subprocess.run([PUB, "-h", b.host, "-p", str(b.port), "-t", topic,
                            "-q", str(qos), "-l", "-K", self.keyring],
                           input="".join(m + "\n" for m in payloads).encode(),
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)

    def refused(self, reason, bridges=None):
        return [e for p in (bridges or self.bridges)
                for e in events(p, "refused") if e["reason"] == reason]

    def spy(self):
        raw = self.raw("remote")
        raw.subscribe("grp/#", qos=1)
        return raw

    # The attacker's capture and copies of test_groups.py (topic grp/t).
    capture = SubGroupCase.capture
    replay = SubGroupCase.replay

    def assertOnce(self, consumer, sent):
        time.sleep(0.5)  # what would come twice has time to
        got = self.payloads(consumer)
        self.assertEqual(sorted(got), sorted(sent),
                         "%d delivered, %d distinct, %d sent" % (
                             len(got), len(set(got)), len(sent)))


class ExactlyOnce(GroupCase):

    def test_every_copy_spread_over_two_bridges_is_bridged_once(self):
        for i in range(2):
            self.member(i)
        local = self.consumer()
        raw = self.spy()
        sent = ["m%d" % i for i in range(31)]
        self.publish(sent)
        self.replay(raw, self.capture(raw, len(sent)))
        self.wait_for(lambda: len(self.payloads(local)) >= len(sent) and
                      len(self.refused("replay")) >= COPIES * len(sent),
                      "all delivered and every copy refused")
        self.assertOnce(local, sent)
        self.assertEqual(len(self.refused("replay")), COPIES * len(sent))
        # Each bridge had copies it would have bridged with a state of its
        # own, and refused them; nothing else was refused.
        for p in self.bridges:
            self.assertTrue(self.refused("replay", [p]), p.err_lines)
            self.assertEqual(
                [e for e in events(p, "refused") if e["reason"] != "replay"],
                [])
        # The counters say the same, per bridge (written at exit).
        total = 0
        for i, p in enumerate(self.bridges):
            self.assertEqual(p.stop(), 0)
            with open(self.path("metrics%d.prom" % i)) as f:
                samples = prometheus(f.read())
            n = metric(samples, "refused_total", rule="in grp/#",
                       reason="replay")
            self.assertEqual(n, len(self.refused("replay", [p])))
            total += n
        self.assertEqual(total, COPIES * len(sent))

    def test_check_shows_the_shared_subscription(self):
        r = subprocess.run([BRIDGE, "-c", self.member_config(0), "--check"],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("in  remote $share/%s/grp/# -> local grp/#" % GROUP,
                      r.stdout.decode())


class RedisDown(GroupCase):

    def test_redis_stopped_at_qos1_loses_nothing_and_out_still_flows(self):
        # Bridge 0 also bridges "out" (local cmd/# -> remote out/cmd/#).
        self.member(0, rules='in grp/# 1\nout cmd/# 1 "" out/\n')
        self.member(1)
        local = self.consumer()
        first = ["a%d" % i for i in range(30)]
        self.publish(first)
        self.wait_for(lambda: len(self.payloads(local)) >= len(first),
                      "the first 30")
        self.redis.stop()
        second = ["b%d" % i for i in range(30)]
        self.publish(second)
        self.wait_for(lambda: all(events(p, "state-unreachable")
                                  for p in self.bridges),
                      "both bridges found Redis unreachable")
        # QoS 0 while Redis is down: refused as store-unavailable.
        self.publish(["q0"], qos=0)
        self.wait_for(lambda: self.refused("store-unavailable"),
                      "a QoS 0 message refused")
        # What needs no store keeps flowing: a forgery is refused at once,
        # and "out" bridges local to remote.
        subprocess.run([MOSQUITTO_PUB, "-h", self.b["remote"].host, "-p",
                        str(self.b["remote"].port), "-t", "grp/forged",
                        "-m", "PLAIN", "-q", "1"], check=True, timeout=BOUND)
        self.wait_for(lambda: self.refused("not-e2e"), "the forgery refused")
        out = self.raw("remote")
        out.subscribe("out/#")
        for i in range(5):
            subprocess.run([MOSQUITTO_PUB, "-h", self.b["local"].host, "-p",
                            str(self.b["local"].port), "-t", "cmd/c%d" % i,
                            "-m", "cmd%d" % i, "-q", "1"], check=True,
                           timeout=BOUND)
        got = [out.next_message(timeout=BOUND)[0] for _ in range(5)]
        self.assertEqual(sorted(got), ["out/cmd/c%d" % i for i in range(5)])
        # Nothing of the second stream reached local unchecked.
        self.assertEqual(sorted(self.payloads(local)), sorted(first))
        self.redis.start()
        self.wait_for(lambda: len(self.payloads(local)) >= 60,
                      "the held messages once Redis is back")
        self.assertOnce(local, first + second)
        self.assertTrue([e for p in self.bridges
                         for e in events(p, "state-reachable")])
        self.assertEqual(len(self.refused("store-unavailable")), 1)
        self.assertEqual(self.refused("replay"), [])

    def test_metrics_say_whether_redis_answers_and_what_waits_for_it(self):
        self.member(0, extra="metrics_interval 1\n"
                    "metrics_topic ops/bridge\n")
        prom = self.path("metrics0.prom")
        local = self.consumer()
        ops = self.raw("local")
        ops.subscribe("ops/bridge")

        def state():
            """(reachable, held, outages) of the metrics file."""
            with open(prom) as f:
                samples = prometheus(f.read())
            names = ("reachable", "held", "outages_total")
            if any(("e2e_bridge_state_" + n, ()) not in samples
                   for n in names):
                return None
            return tuple(metric(samples, "state_" + n) for n in names)

        def wait_state(want, what):
            seen = [None]

            def now():
                seen[0] = state()
                return seen[0] == want
            try:
                self.wait_for(now, what)
            except AssertionError as e:
                raise AssertionError("%s: last seen (reachable, held, "
                                     "outages) %r" % (e, seen[0]))

        def json_state(want):
            """The JSON on local until its "state" is want (or BOUND)."""
            deadline = time.monotonic() + BOUND
            while True:
                doc = json.loads(ops.next_message(timeout=BOUND)[1])
                if doc["state"] == want or time.monotonic() > deadline:
                    return doc["state"]

        first = ["a%d" % i for i in range(10)]
        self.publish(first)
        self.wait_for(lambda: len(self.payloads(local)) >= len(first),
                      "the first 10")
        wait_state((1, 0, 0), "reachable, nothing held")
        self.redis.stop()
        second = ["b%d" % i for i in range(20)]
        self.publish(second)
        wait_state((0, 20, 1), "unreachable, the 20 held")
        want = {"reachable": 0, "held": 20, "outages": 1}
        self.assertEqual(json_state(want), want)
        self.assertEqual(sorted(self.payloads(local)), sorted(first))
        self.redis.start()
        self.wait_for(lambda: len(self.payloads(local)) >= 30,
                      "the held ones once Redis is back")
        wait_state((1, 0, 1), "reachable again, none held")
        want = {"reachable": 1, "held": 0, "outages": 1}
        self.assertEqual(json_state(want), want)
        self.assertOnce(local, first + second)

    def test_held_messages_survive_a_bridge_restart(self):
        p = self.member(0)
        local = self.consumer()
        self.publish(["warm"])
        self.wait_for(lambda: self.payloads(local) == ["warm"], "warm-up")
        self.redis.stop()
        held = ["h%d" % i for i in range(10)]
        self.publish(held)
        # The bridge says at exit how many it held: stop it once Redis
        # was found unreachable and the ten had the time to arrive.
        p.wait_stderr("event=state-unreachable ")
        time.sleep(1)
        self.assertEqual(p.stop(), 0, p.err_lines)
        line = events(p, "stopped")[0]
        self.assertEqual(line["held"], "10", p.err_lines)
        self.assertEqual(self.payloads(local), ["warm"])
        self.redis.start()
        again = self.start(self.member_config(0))
        self.bridges.append(again)
        self.wait_for(lambda: len(self.payloads(local)) >= 11,
                      "the held ones after the restart")
        self.assertOnce(local, ["warm"] + held)
        self.assertTrue(again.wait_stderr("event=journal-replayed "))

    def test_without_a_journal_held_ones_lost_at_exit_are_said_and_exit_1(self):
        conf = self.member_config(0, journal=False)
        p = Proc([*WRAPPER, BRIDGE, "-c", conf])
        self.addCleanup(p.stop)
        p.wait_stderr("event=ready ")
        self.redis.stop()
        self.publish(["lost0", "lost1"])
        p.wait_stderr("event=state-unreachable ")
        time.sleep(0.5)
        self.assertEqual(p.stop(), 1)
        lost = events(p, "held-lost")
        self.assertEqual(lost[0]["messages"], "2", p.err_lines)


class Blackhole:
    """A TCP relay to a Redis on a free loopback port that can stop
    answering: while hang is set it accepts connections and reads what
    comes, but forwards nothing either way (a host that takes TCP and
    never answers, or whose packets are dropped). Stopped by the test."""

    def __init__(self, target_port):
        self.target = target_port
        self.hang = False
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.socks = [self.lsock]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, prefix):
        return "redis://127.0.0.1:%d/%s" % (self.port, prefix)

    def _accept(self):
        while True:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            u = None
            if not self.hang:
                try:
                    u = socket.create_connection(("127.0.0.1", self.target),
                                                 5)
                except OSError:
                    u = None
            self.socks += [c] + ([u] if u else [])
            threading.Thread(target=self._pump, args=(c, u),
                             daemon=True).start()
            if u:
                threading.Thread(target=self._pump, args=(u, c),
                                 daemon=True).start()

    def _pump(self, src, dst):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            if dst and not self.hang:
                try:
                    dst.sendall(data)
                except OSError:
                    break
        for s in (src, dst):
            if s:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self):
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


class RedisHangs(GroupCase):
    """A Redis that does not answer holds up the "in" messages waiting for
    its verdict and nothing else: the round trips are on a thread of their
    own (cli/bridge_shared.c)."""

    # The longest an "out" message may take while Redis hangs: far below
    # the 2 s that one attempt to a silent Redis waits for its timeout.
    OUT_BOUND = 1.5 if WRAPPER else 1.0

    def out_latencies(self, n, gap=0.25):
        """n "out" messages one after the other, gap apart: the seconds
        each took from local to remote."""
        out = self.raw("remote")
        out.subscribe("out/#")
        took = []
        for i in range(n):
            t0 = time.monotonic()
            subprocess.run([MOSQUITTO_PUB, "-h", self.b["local"].host, "-p",
                            str(self.b["local"].port), "-t", "cmd/c%d" % i,
                            "-m", "cmd%d" % i, "-q", "1"], check=True,
                           timeout=BOUND)
            topic = out.next_message(timeout=BOUND)[0]
            took.append(time.monotonic() - t0)
            self.assertEqual(topic, "out/cmd/c%d" % i)
            time.sleep(gap)
        return took

    def forge(self):
        t0 = time.monotonic()
        before = len(self.refused("not-e2e"))
        subprocess.run([MOSQUITTO_PUB, "-h", self.b["remote"].host, "-p",
                        str(self.b["remote"].port), "-t", "grp/forged",
                        "-m", "PLAIN", "-q", "0"], check=True, timeout=BOUND)
        self.wait_for(lambda: len(self.refused("not-e2e")) > before,
                      "the forgery refused")
        return time.monotonic() - t0

    def test_out_flows_while_a_silent_redis_holds_in(self):
        hole = Blackhole(self.redis.port)
        self.addCleanup(hole.stop)
        self.member(0, rules='in grp/# 1\nout cmd/# 1 "" out/\n',
                    url=hole.url("bridge-group"))
        local = self.consumer()
        self.publish(["warm"])
        self.wait_for(lambda: self.payloads(local) == ["warm"], "warm-up")
        hole.hang = True
        held = ["h%d" % i for i in range(20)]
        self.publish(held)
        # Over the first attempt's timeout and the retries after it,
        # "out" takes its usual time, and a forgery is refused at once.
        took = self.out_latencies(12)
        self.assertLess(max(took), self.OUT_BOUND, took)
        self.wait_for(lambda: events(self.bridges[0], "state-unreachable"),
                      "Redis found unreachable")
        self.assertLess(self.forge(), self.OUT_BOUND)
        # A genuine QoS 0 message: refused as store-unavailable, counted.
        self.publish(["z0"], qos=0)
        self.wait_for(lambda: self.refused("store-unavailable"),
                      "the QoS 0 message refused")
        self.assertEqual(self.payloads(local), ["warm"])  # none unchecked
        hole.hang = False
        self.wait_for(lambda: len(self.payloads(local)) >= 21,
                      "the held ones once Redis answers")
        self.assertOnce(local, ["warm"] + held)
        self.assertEqual(self.payloads(local)[1:], held)  # in order
        self.assertEqual(len(self.refused("store-unavailable")), 1)
        self.assertEqual(self.refused("replay"), [])
        p = self.bridges[0]
        self.assertEqual(p.stop(), 0, p.err_lines)
        with open(self.path("metrics0.prom")) as f:
            samples = prometheus(f.read())
        self.assertEqual(metric(samples, "refused_total", rule="in grp/#",
                                reason="store-unavailable"), 1)

    def test_a_sigstopped_redis_holds_in_then_delivers_each_once(self):
        self.member(0, rules='in grp/# 1\nout cmd/# 1 "" out/\n')
        local = self.consumer()
        self.publish(["warm"])
        self.wait_for(lambda: self.payloads(local) == ["warm"], "warm-up")
        pid = self.redis.proc.pid
        os.kill(pid, signal.SIGSTOP)
        self.addCleanup(os.kill, pid, signal.SIGCONT)  # harmless twice
        held = ["s%d" % i for i in range(30)]
        self.publish(held)
        took = self.out_latencies(10)
        self.assertLess(max(took), self.OUT_BOUND, took)
        self.assertEqual(self.payloads(local), ["warm"])
        os.kill(pid, signal.SIGCONT)
        self.wait_for(lambda: len(self.payloads(local)) >= 31,
                      "the held ones once Redis runs again")
        self.assertOnce(local, ["warm"] + held)
        self.assertEqual(self.payloads(local)[1:], held)
        self.assertEqual(self.refused("replay"), [])

    def test_sigterm_while_redis_hangs_exits_soon_and_keeps_them(self):
        # Packets dropped (the relay): Redis never ran the calls, so the
        # restarted bridge, a new member, judges them afresh. (A SIGSTOPped
        # Redis runs them after SIGCONT; a restarted member cannot retry
        # them with their call tokens: docs/GROUPS.md section 3.)
        hole = Blackhole(self.redis.port)
        self.addCleanup(hole.stop)
        url = hole.url("bridge-group")
        p = self.member(0, url=url)
        local = self.consumer()
        self.publish(["warm"])
        self.wait_for(lambda: self.payloads(local) == ["warm"], "warm-up")
        hole.hang = True
        held = ["k%d" % i for i in range(10)]
        self.publish(held)
        time.sleep(0.5)  # the first batch is at Redis, waiting
        t0 = time.monotonic()
        self.assertEqual(p.stop(), 0, p.err_lines)
        # At most what the attempt under way waits for (2 s, and once
        # more on a new connection), not one wait per message.
        self.assertLess(time.monotonic() - t0, 8 if WRAPPER else 6)
        self.assertEqual(events(p, "stopped")[0]["held"], "10", p.err_lines)
        self.assertEqual(self.payloads(local), ["warm"])
        hole.hang = False
        again = self.start(self.member_config(0, url=url))
        self.bridges.append(again)
        self.wait_for(lambda: len(self.payloads(local)) >= 11,
                      "the held ones after the restart")
        self.assertOnce(local, ["warm"] + held)
        self.assertEqual(self.refused("replay"), [])

class RedisRestart(GroupCase):

    def test_redis_killed_and_restarted_on_its_aof_accepts_no_replay(self):
        for i in range(2):
            self.member(i)
        local = self.consumer()
        raw = self.spy()
        sent = ["r%d" % i for i in range(20)]
        self.publish(sent)
        envs = self.capture(raw, len(sent))
        self.wait_for(lambda: len(self.payloads(local)) >= len(sent),
                      "the first 20")
        self.redis.stop(signal.SIGKILL)
        self.redis.start()
        self.replay(raw, envs, 2)
        self.wait_for(lambda: len(self.refused("replay")) >= 2 * len(sent),
                      "every copy refused after the restart")
        self.publish(["after"])
        self.wait_for(lambda: "after" in self.payloads(local), "a new one")
        self.assertOnce(local, sent + ["after"])
        self.assertEqual(len(self.refused("replay")), 2 * len(sent))


class ConfigAndReload(GroupCase):

    def check(self, body):
        path = self.config(body, name="check.conf")
        r = subprocess.run([BRIDGE, "-c", path, "--check"],
                           capture_output=True, timeout=BOUND)
        return path, r.returncode, r.stderr.decode()

    def line_of(self, path, text):
        with open(path) as f:
            return 1 + [n for n, line in enumerate(f)
                        if line.startswith(text)][0]

    def test_bad_state_lines_give_file_and_line_without_connecting(self):
        pw = self.path("pw")
        with open(pw, "w") as f:
            f.write("xyzzy-pw\n")
        os.chmod(pw, 0o644)
        # Nothing listens on this port: --check never connects.
        url = "redis://127.0.0.1:%d/p" % self.redis.port
        cases = [
            ("state redis://user:hunter2@127.0.0.1/p\n", "state",
             "a password in the URL"),
            ("state redis://127.0.0.1:70000/p\n", "state",
             "is not redis[s]://"),
            ("state redis://127.0.0.1/bad{prefix}\n", "state",
             "is not redis[s]://"),
            ("state %s\nstate_cacert %s\n" % (url, self.keyring),
             "state_cacert", "goes with state rediss://"),
            ("state %s\nstate_password_file %s\n" % (url, pw),
             "state_password_file", "readable by group or others"),
            ("state %s\nstate_password_file %s\n" % (url, pw + "x"),
             "state_password_file", "cannot read"),
            ("state %s\ngroup a/b\n" % url, "group", "one topic level"),
            ("state %s\ngroup g\n" % self.path("file"), "group",
             "give state redis://"),
            ("state %s\nstate_password_file %s\n" % (self.path("f"), pw),
             "state_password_file", "goes with state redis://"),
            ("state rediss://127.0.0.1/p\nstate_cert %s\n" % self.keyring,
             "state_cert", "go together"),
            ("state rediss://127.0.0.1/p\nstate_key %s\n" % (pw + "x"),
             "state_key", "cannot read"),
        ]
        self.redis.stop()
        for body, directive, text in cases:
            with self.subTest(directive=directive, text=text):
                path, rc, err = self.check(body + "in s/# 1\n")
                self.assertEqual(rc, 1, err)
                where = "%s:%d: %s" % (path, self.line_of(path, directive),
                                       directive)
                self.assertIn(where, err)
                self.assertIn(text, err)
                self.assertNotIn("hunter2", err)
                self.assertNotIn("xyzzy-pw", err)

    def test_a_good_shared_state_passes_check_with_redis_down(self):
        pw = self.path("pw")
        with open(pw, "w") as f:
            f.write("secret\n")
        os.chmod(pw, 0o600)
        self.redis.stop()
        path, rc, err = self.check(
            "state redis://u@127.0.0.1:%d/p\nstate_password_file %s\n"
            "group g\nin s/# 1\n" % (self.redis.port, pw))
        self.assertEqual(rc, 0, err)

    def test_redis_down_at_start_is_an_error_naming_the_url(self):
        self.redis.stop()
        p = Proc([BRIDGE, "-c", self.member_config(0)])
        self.assertEqual(p.finish(), 1)
        self.assertTrue([line for line in p.err_lines
                         if "state %s: " % self.redis.url("bridge-group")
                         in line and "redis-server running" in line],
                        p.err_lines)

    def test_a_changed_state_directive_on_sighup_is_refused(self):
        p = self.member(0)
        self.member_config(0, url=self.redis.url("another"))
        p.p.send_signal(signal.SIGHUP)
        line = p.wait_stderr("event=reload-refused ")[0]
        self.assertIn(" directive=state ", line)
        # The running one still judges with its group's state.
        local = self.consumer()
        self.publish(["still"])
        self.wait_for(lambda: self.payloads(local) == ["still"], "delivered")


@unittest.skipUnless(redis_server_path(), "no redis-server")
class Password(GroupCase):

    def setUp(self):
        BridgeCase.setUp(self)
        self.redis = RedisServer(self.path("redis"),
                                 extra="requirepass s3cret-pw\n")
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.bridges = []

    def test_state_password_file_authenticates(self):
        pw = self.path("pw")
        with open(pw, "w") as f:
            f.write("s3cret-pw\n")
        os.chmod(pw, 0o600)
        self.member(0, extra="state_password_file %s\n" % pw)
        local = self.consumer()
        self.publish(["pw"])
        self.wait_for(lambda: self.payloads(local) == ["pw"], "delivered")

    def test_a_wrong_password_stops_it_at_start(self):
        pw = self.path("pw")
        with open(pw, "w") as f:
            f.write("wrong\n")
        os.chmod(pw, 0o600)
        p = Proc([BRIDGE, "-c", self.member_config(
            0, extra="state_password_file %s\n" % pw)])
        self.assertEqual(p.finish(), 1)
        self.assertTrue([line for line in p.err_lines
                         if "state_password_file" in line], p.err_lines)


@unittest.skipUnless(redis_server_path(), "no redis-server")
class OverTls(GroupCase):
    """state rediss://...: a Redis that listens only on a tls-port."""

    def setUp(self):
        BridgeCase.setUp(self)
        self.redis = RedisServer(self.path("redis"), tls=True)
        self.redis.start()
        self.addCleanup(self.redis.stop)
        self.bridges = []

    def test_a_bridge_trusting_redis_ca_bridges_over_tls(self):
        self.member(0, extra="state_cacert %s\n" % self.redis.file("ca.pem"))
        local = self.consumer()
        self.publish(["tls"])
        self.wait_for(lambda: self.payloads(local) == ["tls"], "delivered")

    def test_a_redis_signed_by_another_ca_is_refused_at_start(self):
        p = Proc([BRIDGE, "-c", self.member_config(
            0, extra="state_cacert %s\n" % self.redis.file("other-ca.pem"))])
        self.assertEqual(p.finish(), 1)
        # The remedy names the configuration's directives, not e2e-sub's
        # options.
        line = [x for x in p.err_lines
                if "state %s: " % self.redis.url("bridge-group") in x]
        self.assertTrue(line, p.err_lines)
        self.assertIn("state_cacert", line[0])
        self.assertIn("state_sni", line[0])
        self.assertNotIn("--state-", line[0])


if __name__ == "__main__":
    unittest.main()
