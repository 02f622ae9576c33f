#!/usr/bin/python3 -B
"""e2e-bridge between two real mosquitto brokers on loopback: "remote"
carries envelopes (anyone may publish there), "local" clear payloads for
applications that know nothing of libe2e (docs/BRIDGE.md).

Environment (make check exports it): top_builddir, MOSQUITTO.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import Broker, RawClient, free_port  # noqa: E402
from test_cli import (BOUND, MOSQUITTO_PUB, MOSQUITTO_SUB, PUB, SUB, Proc,  # noqa: E402
                      keygen)

BUILD = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
BRIDGE = os.path.join(BUILD, "cli", "e2e-bridge")
# E2E_BRIDGE_WRAPPER="valgrind --error-exitcode=99 --leak-check=full"
# runs every bridge of these tests under it (by hand, not in make check).
WRAPPER = os.environ.get("E2E_BRIDGE_WRAPPER", "").split()
if WRAPPER and os.path.exists(os.path.join(BUILD, "cli", ".libs",
                                           "e2e-bridge")):
    # cli/e2e-bridge is then libtool's wrapper script: valgrind would check
    # the shell (and print the heap summary of each subshell it forks) and
    # lose the bridge at its exec. Run the real binary on the uninstalled
    # libraries instead.
    BRIDGE = os.path.join(BUILD, "cli", ".libs", "e2e-bridge")
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(
        [os.path.join(BUILD, "libe2e", ".libs"),
         os.path.join(BUILD, "libe2e-redis", ".libs")] +
        ([os.environ["LD_LIBRARY_PATH"]]
         if os.environ.get("LD_LIBRARY_PATH") else []))


def have_redis():
    """Whether this build has libe2e-redis (state redis://...)."""
    with open(os.path.join(BUILD, "config.h")) as f:
        return "#define HAVE_REDIS 1" in f.read()


def side(name, broker):
    return "%s\nhost %s\nport %d\n" % (name, broker.host, broker.port)


class BridgeCase(unittest.TestCase):
    """Brokers named in `brokers`, a keyring, and helpers."""

    brokers = ("remote", "local")
    broker_options = {}

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-bridge-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        os.environ["XDG_STATE_HOME"] = os.path.join(self.dir, "xdg")
        self.b = {}
        for name in self.brokers:
            b = Broker(os.path.join(self.dir, name),
                       **self.broker_options.get(name, {}))
            b.start()
            self.addCleanup(b.stop)
            self.b[name] = b
        self.keyring = self.path("ring")
        keygen("keyring", "init", "-K", self.keyring)

    def path(self, name):
        return os.path.join(self.dir, name)

    def config(self, text, name="bridge.conf", remote="remote",
               local="local", remote_section=None):
        """A config file: both sections, the keyring, then text."""
        path = self.path(name)
        with open(path, "w") as f:
            f.write("# e2e-bridge test\n" +
                    (remote_section or side("remote", self.b[remote])) +
                    side("local", self.b[local]) +
                    "keyring %s\n" % self.keyring + text)
        return path

    def start(self, conf, *args, env=None):
        p = Proc([*WRAPPER, BRIDGE, "-c", conf, *args], env=env)
        self.addCleanup(self.stopped, p)
        p.wait_stderr("event=ready ")
        return p

    def stopped(self, p):
        """SIGTERM: the bridge exits 0 (with a wrapper: no error found)."""
        rc = p.stop()
        self.assertEqual(rc, 0, "\n".join(p.err_lines))

    def seal(self, broker, topic, message, *args, keyring=None):
        b = self.b[broker]
        r = subprocess.run([PUB, "-h", b.host, "-p", str(b.port), "-t", topic,
                        "-m", message, "-K", keyring or self.keyring, *args],
                           timeout=BOUND, capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def watch(self, broker, topic, count, *args):
        """mosquitto_sub on broker, printing 'RETAIN QOS TOPIC PAYLOAD',
        once its subscription is acknowledged (its -d lines say when)."""
        b = self.b[broker]
        # Line-buffered: its -d lines come while it runs, not at exit.
        p = Proc(["stdbuf", "-oL", MOSQUITTO_SUB, "-h", b.host, "-p", str(b.port), "-t",
                  topic, "-q", "2", "-C", str(count), "-F", "%r %q %t %p",
                  "-d", *args])
        self.addCleanup(p.stop)
        p._wait(lambda: b"\nSubscribed (mid" in p.out, "SUBACK")
        return p

    def seen(self, p):
        """What mosquitto_sub of watch() received, after it exited."""
        self.assertEqual(p.finish(), 0)
        return [line for line in p.out.decode().splitlines()
                if not line.startswith(("Client ", "Subscribed "))]

    def raw(self, broker):
        r = RawClient(self.b[broker])
        self.addCleanup(r.close)
        return r


class In(BridgeCase):
    """remote -> local: only what the receiver accepts, in the clear."""

    def test_genuine_messages_arrive_clear_with_their_qos(self):
        self.start(self.config("in sensors/# 2\n"))
        local = self.watch("local", "sensors/#", 3)
        for qos in (0, 1, 2):
            self.seal("remote", "sensors/q%d" % qos, "v%d" % qos, "-q",
                      str(qos))
        self.assertEqual(self.seen(local),
                         ["0 %d sensors/q%d v%d" % (q, q, q)
                          for q in (0, 1, 2)])

    def test_rule_qos_caps_the_local_qos(self):
        self.start(self.config("in sensors/# 1\n"))
        local = self.watch("local", "sensors/#", 1)
        self.seal("remote", "sensors/x", "capped", "-q", "2")
        self.assertEqual(self.seen(local), ["0 1 sensors/x capped"])

    def test_retained_message_stays_retained_on_local(self):
        self.start(self.config("in sensors/# 1\n"))
        raw = self.raw("local")
        raw.subscribe("sensors/#")
        self.seal("remote", "sensors/kept", "last value", "-r", "-q", "1")
        self.assertEqual(raw.next_message()[1], b"last value")
        # A consumer that comes later gets it from local's store.
        later = self.watch("local", "sensors/kept", 1)
        self.assertEqual(self.seen(later), ["1 1 sensors/kept last value"])

    def test_prefixes_map_topics_and_binding_uses_the_remote_name(self):
        self.start(self.config('in # 1 home/ fleet/\n'))
        local = self.watch("local", "#", 1)
        self.seal("remote", "fleet/car1", "moved")
        self.assertEqual(self.seen(local), ["0 0 home/car1 moved"])

    def test_forgeries_reach_nothing_and_each_is_logged_with_its_reason(self):
        bridge = self.start(self.config("in f/# 1\n"))
        local = self.watch("local", "#", 2)
        spy = self.raw("remote")
        spy.subscribe("#")
        self.seal("remote", "elsewhere/a", "never bridged")
        _, unseen, _ = spy.next_message()
        self.seal("remote", "f/a", "first")
        _, seen, _ = spy.next_message()
        subprocess.run([MOSQUITTO_PUB, "-h", self.b["remote"].host, "-p",
                        str(self.b["remote"].port), "-t", "f/a", "-m",
                        "plain"], check=True, timeout=BOUND)
        spy.publish("f/b", unseen)  # moved to another topic
        spy.publish("f/a", seen)  # replayed
        self.seal("remote", "f/a", "last")
        self.assertEqual(self.seen(local),
                         ["0 0 f/a first", "0 0 f/a last"])
        lines = bridge.wait_stderr("event=refused ", 3)
        for line, topic, reason in zip(lines, ("f/a", "f/b", "f/a"),
                                       ("not-e2e", "bad-tag", "replay")):
            self.assertTrue(line.startswith(
                "event=refused topic=%s rule=\"in f/#\" reason=%s "
                % (topic, reason)), line)

    def test_an_empty_payload_on_remote_never_clears_local_retained(self):
        bridge = self.start(self.config("in s/# 1\n"))
        raw = self.raw("local")
        raw.subscribe("s/#")
        self.seal("remote", "s/kept", "value", "-r", "-q", "1")
        self.assertEqual(raw.next_message()[1], b"value")
        self.raw("remote").publish("s/kept", b"", retain=True)
        line = bridge.wait_stderr("event=refused ")[0]
        self.assertTrue(line.startswith("event=refused topic=s/kept "), line)
        later = self.watch("local", "s/kept", 1)
        self.assertEqual(self.seen(later), ["1 1 s/kept value"])

    def test_larger_than_max_payload_is_dropped_with_a_line(self):
        bridge = self.start(self.config("max_payload 100\nin s/# 1\n"))
        local = self.watch("local", "s/#", 1)
        self.seal("remote", "s/big", "x" * 200)
        self.seal("remote", "s/small", "ok")
        self.assertEqual(self.seen(local), ["0 0 s/small ok"])
        self.assertTrue(bridge.wait_stderr(
            "event=dropped topic=s/big side=remote reason=too-large "
            "bytes="))

    def test_unsigned_refused_when_signature_required(self):
        bridge = self.start(self.config("require_signature true\n"
                                        "in s/# 1\n"))
        self.seal("remote", "s/a", "unsigned")
        line = bridge.wait_stderr("event=refused ")[0]
        self.assertIn(" reason=unsigned ", line)

    def test_replay_state_survives_a_restart(self):
        conf = self.config("state %s\nin r/# 1\n" % self.path("state"))
        bridge = self.start(conf)
        spy = self.raw("remote")
        spy.subscribe("r/#")
        local = self.watch("local", "r/#", 1)
        self.seal("remote", "r/a", "once")
        _, seen, _ = spy.next_message()
        self.assertEqual(local.finish(), 0)
        self.assertEqual(bridge.stop(), 0)
        self.assertTrue(os.path.exists(self.path("state")))
        again = self.start(conf)
        spy.publish("r/a", seen)
        line = again.wait_stderr("event=refused ")[0]
        self.assertTrue(line.startswith("event=refused topic=r/a "), line)
        self.assertIn(" reason=replay ", line)

    def test_a_corrupt_state_file_stops_it_with_line_and_remedy(self):
        state = self.path("state")
        with open(state, "w") as f:
            f.write("# state\nlibe2e-replay-state 9\n")
        os.chmod(state, 0o600)
        conf = self.config("state %s\nin r/# 1\n" % state)
        p = Proc([BRIDGE, "-c", conf])
        self.assertNotEqual(p.finish(), 0)
        self.assertTrue([ln for ln in p.err_lines
                         if "state file %s:2:" % state in ln and
                         "move it away to start afresh" in ln],
                        p.err_lines)
        with open(state) as f:  # left as it was, for the user to look at
            self.assertEqual(f.read(), "# state\nlibe2e-replay-state 9\n")

    def test_sighup_reloads_the_keyring_without_reconnecting(self):
        bridge = self.start(self.config("in k/# 1\n"))
        fresh = self.path("fresh")
        keygen("keyring", "init", "-K", fresh)
        self.seal("remote", "k/a", "too early", keyring=fresh)
        bridge.wait_stderr("unknown-key")
        shutil.copyfile(fresh, self.keyring)
        bridge.p.send_signal(signal.SIGHUP)
        bridge.wait_stderr("event=reloaded ")
        local = self.watch("local", "k/#", 1)
        self.seal("remote", "k/a", "now", keyring=fresh)
        self.assertEqual(self.seen(local), ["0 0 k/a now"])
        self.assertFalse([l for l in bridge.err_lines if "connect" in l],
                         bridge.err_lines)


class TlsAndPassword(BridgeCase):
    """remote over TLS with a client certificate and a password."""

    broker_options = {"remote": {"tls": True, "require_certificate": True,
                                 "users": {"bridge": "s3cret",
                                           "pub": "pubpw"}}}

    def remote_section(self, password):
        r = self.b["remote"]
        with open(self.path("pass"), "w") as f:
            f.write(password + "\n")
        os.chmod(self.path("pass"), 0o600)
        return ("remote\nhost %s\nport %d\ncafile %s\ncertfile %s\n"
                "keyfile %s\ntls_version tlsv1.2\nusername bridge\n"
                "password_file %s\n" % (r.host, r.tls_port, r.ca_cert,
                                         r.client_cert, r.client_key,
                                         self.path("pass")))

    def test_in_through_tls_with_certificate_and_password(self):
        self.start(self.config("in t/# 1\n",
                               remote_section=self.remote_section("s3cret")))
        local = self.watch("local", "t/#", 1)
        self.seal("remote", "t/a", "over tls", "-u", "pub", "-P", "pubpw")
        self.assertEqual(self.seen(local), ["0 0 t/a over tls"])

    def test_a_wrong_password_is_refused_and_exits_non_zero(self):
        conf = self.config("in t/# 1\n",
                           remote_section=self.remote_section("wrong"))
        p = Proc([BRIDGE, "-c", conf])
        self.assertNotEqual(p.finish(), 0)
        self.assertTrue([l for l in p.err_lines if "remote" in l],
                        p.err_lines)


class OutThenIn(BridgeCase):
    """Two bridges: "out" seals from one local broker onto the shared
    remote, "in" opens from there onto another local broker."""

    brokers = ("a", "remote", "b")

    def test_round_trip_is_byte_for_byte(self):
        self.start(self.config("out data/# 1\n", "out.conf", local="a"))
        self.start(self.config("in data/# 1\n", "in.conf", local="b"))
        spy = self.raw("remote")
        spy.subscribe("data/#")
        dest = self.raw("b")
        dest.subscribe("data/#")
        payloads = [bytes(range(256)), b"", b"\x00" * 3, "é".encode()]
        for p in payloads:
            self.raw("a").publish("data/x", p, qos=1)
        got = [dest.next_message() for _ in payloads]
        self.assertEqual([(t, p) for t, p, _ in got],
                         [("data/x", p) for p in payloads])
        on_remote = [spy.next_message()[1] for _ in payloads]
        self.assertTrue(all(e != p for e, p in zip(on_remote, payloads)))

    def test_out_keeps_retained_messages_retained_on_remote(self):
        self.raw("a").publish("cfg/mode", b"eco", qos=1, retain=True)
        first = self.raw("remote")
        first.subscribe("cfg/#")
        self.start(self.config("out cfg/# 1\n", "out.conf", local="a"))
        first.next_message()  # bridged: remote has it now
        spy = self.raw("remote")
        spy.subscribe("cfg/#")  # gets it from remote's store
        topic, env, retained = spy.next_message()
        self.assertEqual((topic, bool(retained)), ("cfg/mode", True))
        self.assertNotEqual(env, b"eco")
        # And the envelope says so: e2e-bridge "in" keeps it retained.
        dest = self.raw("b")
        dest.subscribe("cfg/#")
        self.start(self.config("in cfg/# 1\n", "in.conf", local="b"))
        self.assertEqual(dest.next_message()[1], b"eco")
        later = self.watch("b", "cfg/#", 1)
        self.assertEqual(self.seen(later), ["1 1 cfg/mode eco"])

    def test_out_seals_for_the_remote_topic_name(self):
        self.start(self.config("out # 1 plant/ site7/\n", "out.conf",
                               local="a"))
        spy = self.raw("remote")
        spy.subscribe("#")
        self.raw("a").publish("plant/oven", b"hot", qos=1)
        topic, env, _ = spy.next_message()
        self.assertEqual(topic, "site7/oven")
        # The envelope opens for site7/oven, not for plant/oven.
        self.start(self.config("in site7/# 1\n", "in.conf", local="b"))
        dest = self.raw("b")
        dest.subscribe("#")
        spy.publish("site7/oven", env)
        self.assertEqual(dest.next_message()[:2], ("site7/oven", b"hot"))


class Turns(BridgeCase):
    """The main thread opens or seals every message it takes at once, then
    publishes them all (docs/BRIDGE.md section 4): in a burst, refusals and
    duplicates within the same turn, order, QoS and retain are kept. The
    bridges run with tests/bench/gather_wake.c preloaded, which has the
    main thread wait 300 ms after each wake-up, so that a burst is taken
    in one turn."""

    brokers = ("a", "remote", "b")
    GATHER = os.path.join(BUILD, "tests", "bench", ".libs",
                          "libgatherwake.so")

    def start_gathering(self, conf):
        if not os.path.exists(self.GATHER):
            self.skipTest("%s not built" % self.GATHER)
        return self.start(conf, env=dict(os.environ, LD_PRELOAD=self.GATHER,
                                         E2E_GATHER_MS="300"))

    def test_a_burst_in_one_turn_keeps_order_and_refuses_each_forgery(self):
        spy = self.raw("remote")
        spy.subscribe("d/#")
        pub = subprocess.run(
            [PUB, "-h", self.b["remote"].host, "-p",
             str(self.b["remote"].port), "-t", "d/a", "-q", "1", "-l",
             "-K", self.keyring], input=b"".join(
                 b"g%d\n" % i for i in range(30)), timeout=BOUND,
            capture_output=True)
        self.assertEqual(pub.returncode, 0, pub.stderr)
        envs = [spy.next_message()[1] for _ in range(30)]
        kept = []
        for i in (1, 2):  # sealed retained, then cleared on remote
            self.seal("remote", "d/r%d" % i, "kept%d" % i, "-r", "-q", "1")
            kept.append(spy.next_message()[1])
            spy.publish("d/r%d" % i, b"", retain=True)
            self.assertEqual(spy.next_message()[:2], ("d/r%d" % i, b""))
        bridge = self.start_gathering(self.config("in d/# 1\n", local="b"))
        local = self.watch("b", "d/#", 32)
        burst, refusals = [], []
        for i, env in enumerate(envs):
            burst.append(("d/a", env, i % 2, False))
            if i % 10 == 3:  # the one before, again: within the turn
                burst.append(("d/a", envs[i - 1], 1, False))
                refusals.append(("d/a", "replay"))
            if i % 10 == 6:  # the next one, moved to another topic
                burst.append(("d/b", envs[i + 1], 0, False))
                refusals.append(("d/b", "bad-tag"))
            if i % 10 == 9:
                burst.append(("d/a", b"plain", 0, False))
                refusals.append(("d/a", "not-e2e"))
        # Retained as the envelopes say, whatever the flag of the copy.
        burst += [("d/r1", kept[0], 1, True), ("d/r2", kept[1], 0, False)]
        for topic, payload, qos, retain in burst:
            spy.publish(topic, payload, qos=qos, retain=retain)
        self.assertEqual(self.seen(local),
                         ["0 %d d/a g%d" % (i % 2, i) for i in range(30)] +
                         ["0 1 d/r1 kept1", "0 0 d/r2 kept2"])
        lines = bridge.wait_stderr("event=refused ", len(refusals))
        for line, (topic, reason) in zip(lines, refusals):
            self.assertTrue(line.startswith(
                "event=refused topic=%s rule=\"in d/#\" reason=%s "
                % (topic, reason)), line)
        later = self.watch("b", "d/#", 2)
        self.assertEqual(self.seen(later),
                         ["1 1 d/r1 kept1", "1 0 d/r2 kept2"])

    def test_a_burst_out_and_back_keeps_order_and_qos(self):
        self.start_gathering(self.config("out d/# 1\n", "out.conf",
                                         local="a"))
        # "in" one message at a time: what reaches b is the order of
        # remote, that is of the turns of "out".
        self.start(self.config("in d/# 1\n", "in.conf", local="b"))
        local = self.watch("b", "d/#", 40)
        src = self.raw("a")
        for i in range(40):
            src.publish("d/t%d" % (i % 3), b"m%d" % i, qos=i % 2)
        self.assertEqual(self.seen(local),
                         ["0 %d d/t%d m%d" % (i % 2, i % 3, i)
                          for i in range(40)])


class Config(unittest.TestCase):
    """-c FILE and --check: every error names FILE:LINE, exit 1."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-bridge-conf-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.keyring = os.path.join(self.dir, "ring")
        keygen("keyring", "init", "-K", self.keyring)
        # Nothing listens: --check never connects.
        self.port, self.port2 = free_port(), free_port()
        while self.port2 == self.port:
            self.port2 = free_port()

    def write(self, body):
        path = os.path.join(self.dir, "b.conf")
        with open(path, "w") as f:
            f.write("remote\nhost 127.0.0.1\nport %d\nlocal\n"
                    "host 127.0.0.1\nport %d\nkeyring %s\n%s"
                    % (self.port, self.port2, self.keyring, body))
        return path

    def check(self, body):
        path = self.write(body)
        r = subprocess.run([BRIDGE, "-c", path, "--check"],
                           capture_output=True, timeout=BOUND)
        return path, r.returncode, r.stdout.decode(), r.stderr.decode()

    def test_check_accepts_a_good_file_without_connecting(self):
        path, rc, out, err = self.check(
            "# comment\n\nin sensors/# 1\nout cmd/# 1 \"\" e2e/\n")
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out.splitlines(), [
            "%s: OK: 1 in and 1 out rules" % path,
            "line 10: in  remote sensors/# -> local sensors/#, QoS 1",
            "line 11: out local cmd/# -> remote e2e/cmd/#, QoS 1"])

    def test_errors_name_the_file_and_line(self):
        cases = [
            ("colour blue\n", 8, "unknown directive 'colour'"),
            ("in a/# 3\n", 8, "QoS '3' is not 0, 1 or 2"),
            ("in a/#/b\n", 8, "is not a topic filter"),
            ("in a/# 1 x/\n", 8, "expected 'in FILTER"),
            ("in a 1\nkeepalive 10\n", 9, "belongs in a 'remote' or "
             "'local' section"),
            ("remote\n", 8, "section given twice (first at line 1)"),
            ("keyring x\n", 8, "given twice (first at line 7)"),
            ("require_signature yes\n", 8, "neither true nor false"),
            ("in a/# 1\nout a/+ 1\n", 9, "would come back"),
            ("in # 1 l/ r/\nout # 1 o/ r/x/\n", 9, "out (line 9) "
             "publishes on remote to 'r/x/#', which in (line 8) subscribes "
             "to with 'r/#'"),
        ]
        for body, line, text in cases:
            with self.subTest(body=body):
                path, rc, out, err = self.check(body)
                self.assertEqual(rc, 1, err)
                self.assertIn("e2e-bridge: %s:%d: " % (path, line), err)
                self.assertIn(text, err)

    def test_a_journal_needs_a_state_file_and_sessions_an_id(self):
        path, rc, out, err = self.check("journal %s\nin a/# 1\n"
                                        % os.path.join(self.dir, "j"))
        self.assertEqual(rc, 1, err)
        self.assertIn("journal with 'in' rules needs a state file", err)
        path = os.path.join(self.dir, "b.conf")
        with open(path, "w") as f:
            f.write("remote\nhost 127.0.0.1\nclean_session false\n"
                    "local\nhost 127.0.0.1\nkeyring %s\nin a/# 1\n"
                    % self.keyring)
        r = subprocess.run([BRIDGE, "-c", path, "--check"],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn("remote: clean_session false needs a fixed id",
                      r.stderr.decode())

    def test_one_broker_on_both_sides_needs_disjoint_prefixes(self):
        path = os.path.join(self.dir, "one.conf")
        one = "host 127.0.0.1\nport %d\n" % self.port
        for rules, line, text in [
                ("in s/# 1\n", 8, "in (line 8) publishes on local to "
                 "'s/#', which in (line 8) subscribes to with 's/#' (remote "
                 "and local are one broker)"),
                ("out c/# 1\n", 8, "out (line 8) publishes on remote"),
                ("in # 1 clear/ sealed/\nout # 1 cmd/ cmd/x/\n", 9,
                 "out (line 9) publishes on remote to 'cmd/x/#', which out "
                 "(line 9) subscribes to with 'cmd/#' (remote and local are "
                 "one broker)")]:
            with self.subTest(rules=rules):
                with open(path, "w") as f:
                    f.write("remote\n%slocal\n%skeyring %s\n%s"
                            % (one, one, self.keyring, rules))
                r = subprocess.run([BRIDGE, "-c", path, "--check"],
                                   capture_output=True, timeout=BOUND)
                self.assertEqual(r.returncode, 1)
                self.assertIn("e2e-bridge: %s:%d: " % (path, line),
                              r.stderr.decode())
                self.assertIn(text, r.stderr.decode())
        with open(path, "w") as f:
            f.write("remote\n%slocal\n%skeyring %s\n"
                    "in # 1 clear/ sealed/\nout # 1 cmd/ cmd-sealed/\n"
                    % (one, one, self.keyring))
        r = subprocess.run([BRIDGE, "-c", path, "--check"],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_a_bad_keyring_is_named_by_check(self):
        with open(self.keyring, "w") as f:
            f.write("not a keyring\n")
        path, rc, out, err = self.check("in a/# 1\n")
        self.assertEqual(rc, 1)
        self.assertIn(self.keyring + ":1", err)

    def test_port_out_of_range(self):
        path = os.path.join(self.dir, "p.conf")
        with open(path, "w") as f:
            f.write("remote\nhost h\nport 70000\n")
        r = subprocess.run([BRIDGE, "-c", path, "--check"],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:3: port: '70000' is not a number from 1 to 65535"
                      % path, r.stderr.decode())

    def test_what_is_missing_is_named_with_the_file(self):
        path = os.path.join(self.dir, "m.conf")
        for body, text in [
                ("remote\nhost h\n", "no 'local' section"),
                ("remote\nhost h\nlocal\nhost h\n", "no rules"),
                ("remote\nlocal\nhost h\nin a 1\n",
                 "remote: no host"),
                ("remote\nhost h\nlocal\nhost h\nin a 1\n",
                 "'in' rules need a keyring or a trust file")]:
            with self.subTest(body=body):
                with open(path, "w") as f:
                    f.write(body)
                r = subprocess.run([BRIDGE, "-c", path, "--check"],
                                   capture_output=True, timeout=BOUND)
                self.assertEqual(r.returncode, 1)
                self.assertIn("e2e-bridge: %s" % path, r.stderr.decode())
                self.assertIn(text, r.stderr.decode())

    def test_help_and_usage_errors(self):
        r = subprocess.run([BRIDGE, "--help"], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"Usage: e2e-bridge -c FILE", r.stdout)
        for args in ([], ["--chec"], ["-c", "x", "extra"]):
            with self.subTest(args=args):
                r = subprocess.run([BRIDGE, *args], capture_output=True,
                                   timeout=BOUND)
                self.assertEqual(r.returncode, 1)
                self.assertTrue(r.stderr.startswith(b"e2e-bridge: ") or
                                b"--help" in r.stderr, r.stderr)

    def test_the_example_of_bridge_md_passes_check(self):
        with open(os.path.join(HERE, "..", "..", "docs", "BRIDGE.md")) as f:
            doc = f.read()
        start = doc.index("    # /etc/e2e-bridge.conf\n")
        block = doc[start:doc.index("\n\n", start)]
        conf = "\n".join(line[4:] for line in block.splitlines()) + "\n"
        signer = os.path.join(self.dir, "sk")
        keygen("signer", "new", "-s", signer, "-p", signer + ".pub",
               "--no-passphrase")
        files = {"/etc/e2e-bridge/keyring": self.keyring,
                 "/etc/e2e-bridge/trust": os.path.join(self.dir, "trust"),
                 "/etc/e2e-bridge/remote.pass": os.path.join(self.dir, "pw"),
                 "/var/lib/e2e-bridge/": self.dir + "/"}
        keygen("trust", "add", "--trust", files["/etc/e2e-bridge/trust"],
               "-p", signer + ".pub", "--topics", "fleet/#")
        with open(files["/etc/e2e-bridge/remote.pass"], "w") as f:
            f.write("secret\n")
        os.chmod(files["/etc/e2e-bridge/remote.pass"], 0o600)
        for doc_path, path in files.items():
            conf = conf.replace(doc_path, path)
        path = os.path.join(self.dir, "example.conf")
        with open(path, "w") as f:
            f.write(conf)
        r = subprocess.run([BRIDGE, "-c", path, "--check"],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)
        shown = doc[doc.index("    /etc/e2e-bridge.conf: OK"):]
        shown = [line[4:] for line in shown.split("\n\n")[0].splitlines()]
        self.assertEqual(r.stdout.decode().splitlines(),
                         [shown[0].replace("/etc/e2e-bridge.conf", path),
                          *shown[1:]])

    @unittest.skipIf(have_redis(), "built with hiredis: state redis:// "
                     "is tested by test_bridge_groups.py")
    def test_state_redis_without_hiredis_names_the_directive(self):
        path, rc, _, err = self.check("state redis://127.0.0.1/p\n"
                                      "in s/# 1\n")
        self.assertEqual(rc, 1)
        self.assertIn("%s:8: state: a shared state in Redis needs an "
                      "e2e-bridge built with hiredis" % path, err)

    def test_missing_file_is_an_error(self):
        r = subprocess.run([BRIDGE, "-c", os.path.join(self.dir, "none"),
                            "--check"], capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn("none", r.stderr.decode())


class Delivery(BridgeCase):
    """At QoS 1 nothing is lost when either broker restarts or the bridge
    is killed (docs/BRIDGE.md section 5): the journal, persistent sessions
    on both sides and the replay guard. Both brokers keep their sessions
    across a restart (persistence, max_queued_messages 100000)."""

    broker_options = {"remote": {"persistence": True},
                      "local": {"persistence": True}}
    N = 300

    def delivery_config(self, rules, extra=""):
        sections = ("remote\nhost %s\nport %d\nid bridge-r\n"
                    "clean_session false\n" % (self.b["remote"].host,
                                                self.b["remote"].port))
        sections_local = ("local\nhost %s\nport %d\nid bridge-l\n"
                          "clean_session false\n" % (self.b["local"].host,
                                                      self.b["local"].port))
        path = self.path("bridge.conf")
        with open(path, "w") as f:
            f.write(sections + sections_local +
                    "keyring %s\nstate %s\njournal %s\n%s%s" % (
                        self.keyring, self.path("replay"),
                        self.path("journal"), extra, rules))
        return path

    def consumer(self, broker, topic, cid="consumer"):
        """mosquitto_sub with a persistent session at QoS 1 (it reconnects
        by itself): one payload per line."""
        b = self.b[broker]
        p = Proc(["stdbuf", "-oL", MOSQUITTO_SUB, "-h", b.host, "-p",
                  str(b.port), "-t", topic, "-q", "1", "-c", "-i", cid,
                  "-F", "%p", "-d"])
        self.addCleanup(p.stop)
        p._wait(lambda: b"\nSubscribed (mid" in p.out, "SUBACK")
        return p

    def e2e_consumer(self, broker, topic):
        """e2e-sub with a persistent session at QoS 1 and a replay state."""
        b = self.b[broker]
        p = Proc([SUB, "-h", b.host, "-p", str(b.port), "-t", topic,
                  "-q", "1", "-c", "-i", "e2e-consumer", "-K", self.keyring,
                  "--state", self.path("sub-replay")])
        self.addCleanup(p.stop)
        time.sleep(0.5)
        return p

    def payloads(self, p):
        with p._cv:
            return [line for line in p.out.decode().splitlines()
                    if not line.startswith(("Client ", "Subscribed "))]

    def wait_all(self, p, sent, what):
        """Every message of sent among p's lines (bounded wait)."""
        deadline = time.monotonic() + 3 * BOUND
        while time.monotonic() < deadline:
            got = self.payloads(p)
            if set(sent) <= set(got):
                break
            time.sleep(0.2)
        got = self.payloads(p)
        missing = sorted(set(sent) - set(got), key=lambda m: int(m[1:]))
        dups = len(got) - len(set(got))
        counts = ("%s: sent %d, delivered %d distinct, %d duplicate "
                  "deliveries, missing %d %s" % (
                      what, len(sent), len(set(got) & set(sent)), dups,
                      len(missing), missing[:10]))
        self.assertEqual(missing, [], counts)
        self.assertEqual(set(got) - set(sent), set(), counts)
        print("\n" + counts, file=sys.stderr)
        return got

    def stream(self, broker, topic, during, at=None):
        """Publish N lines m0... at QoS 1 through e2e-pub -l on broker, one
        every 3 ms; during() runs once `at` lines were written."""
        b = self.b[broker]
        pub = subprocess.Popen([PUB, "-h", b.host, "-p", str(b.port), "-t",
                                topic, "-q", "1", "-l", "-K", self.keyring],
                               stdin=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: pub.poll() is None and pub.kill())
        sent = []
        for i in range(self.N):
            if i == (self.N // 3 if at is None else at):
                during()
            pub.stdin.write(b"m%d\n" % i)
            pub.stdin.flush()
            sent.append("m%d" % i)
            time.sleep(0.003)
        pub.stdin.close()
        self.assertEqual(pub.wait(timeout=3 * BOUND), 0)
        return sent

    def test_local_broker_restarted_mid_stream_loses_nothing(self):
        self.start(self.delivery_config("in sensors/# 1\n"))
        local = self.consumer("local", "sensors/#")
        sent = self.stream("remote", "sensors/t",
                           lambda: self.b["local"].restart())
        self.wait_all(local, sent, "local restarted")

    def test_remote_broker_restarted_mid_stream_loses_nothing(self):
        self.start(self.delivery_config("in sensors/# 1\n"))
        local = self.consumer("local", "sensors/#")
        sent = self.stream("remote", "sensors/t",
                           lambda: self.b["remote"].restart())
        self.wait_all(local, sent, "remote restarted")

    def publish_lines(self, broker, topic, messages):
        """messages at QoS 1 through one e2e-pub -l on broker."""
        b = self.b[broker]
        r = subprocess.run([PUB, "-h", b.host, "-p", str(b.port), "-t",
                            topic, "-q", "1", "-l", "-K", self.keyring],
                           input="".join(m + "\n" for m in messages).encode(),
                           timeout=BOUND, capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def kill_with_destination_down(self, conf, destination, send, debug):
        """A bridge (with -d) takes messages while destination is down
        (acknowledged to their source, not yet bridged: the worst moment),
        is SIGKILLed, then destination and a new bridge start. The new
        bridge, returned."""
        first = Proc([*WRAPPER, BRIDGE, "-c", conf, "-d"])
        self.addCleanup(first.stop)
        first.wait_stderr("event=ready ")
        send(0, 100)
        first.wait_stderr(debug, 100)
        self.b[destination].stop()
        send(100, 200)
        first.wait_stderr(debug, 200)
        first.p.send_signal(signal.SIGKILL)
        first.p.wait()
        self.b[destination].start()
        again = self.start(conf, "-d")
        send(200, 300)
        return again

    def test_bridge_killed_while_local_is_down_loses_nothing_on_in(self):
        conf = self.delivery_config("in sensors/# 1\n")
        local = self.consumer("local", "sensors/#")
        sent = ["m%d" % i for i in range(300)]
        p = self.kill_with_destination_down(
            conf, "local", lambda i, j: self.publish_lines(
                "remote", "sensors/t", sent[i:j]),
            "event=delivered topic=sensors/t ")
        got = self.wait_all(local, sent, "bridge killed (in)")
        replayed = [line for line in p.err_lines
                    if line.startswith("event=journal-replayed ")]
        refused = [line for line in p.err_lines
                   if line.startswith("event=duplicate ")]
        # Duplicates on local: messages its replay sent again without
        # knowing whether local had them (docs/BRIDGE.md section 5).
        print("bridge killed (in): %d duplicates refused by the replay "
              "guard, %d duplicate deliveries on local; %s"
              % (len(refused), len(got) - len(set(got)), replayed),
              file=sys.stderr)
        self.assertEqual([line for line in p.err_lines
                          if line.startswith("event=refused ")], [])

    def test_bridge_killed_while_remote_is_down_loses_nothing_on_out(self):
        conf = self.delivery_config("out cmd/# 1\n",
                                    extra="out_state %s\n" %
                                    self.path("epoch"))
        remote = self.e2e_consumer("remote", "cmd/#")
        sent = ["m%d" % i for i in range(300)]

        def send(i, j):
            with RawClient(self.b["local"]) as c:
                for m in sent[i:j]:
                    c.publish("cmd/x", m.encode(), qos=1)
        p = self.kill_with_destination_down(conf, "remote", send,
                                            "event=delivered topic=cmd/x ")
        got = self.wait_all(remote, sent, "bridge killed (out)")
        replayed = [line for line in p.err_lines
                    if line.startswith("event=journal-replayed ")]
        print("bridge killed (out): %d duplicate deliveries (each a new "
              "envelope: documented); %s" % (len(got) - len(set(got)),
                                             replayed), file=sys.stderr)

    def test_a_foreign_journal_file_stops_it_and_is_left_as_it_was(self):
        with open(self.path("journal"), "wb") as f:
            f.write(b"not a journal\n")
        r = subprocess.run([BRIDGE, "-c", self.delivery_config(
            "in sensors/# 1\n")], capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:1: not an e2e-bridge journal" %
                      self.path("journal"), r.stderr.decode())
        with open(self.path("journal"), "rb") as f:
            self.assertEqual(f.read(), b"not a journal\n")

    def test_a_record_torn_by_a_crash_is_ignored_with_a_line(self):
        with open(self.path("journal"), "wb") as f:
            f.write(b"e2e-bridge journal 1\nM\x01\x00\x00")
        p = self.start(self.delivery_config("in sensors/# 1\n"))
        torn = [line for line in p.err_lines
                if line.startswith("event=journal-torn ")]
        self.assertEqual(len(torn), 1, p.err_lines)
        self.assertIn(" bytes=4 ", torn[0])
        local = self.consumer("local", "sensors/#")
        self.publish_lines("remote", "sensors/t", ["m0"])
        self.wait_all(local, ["m0"], "after a torn record")

    def test_the_journal_is_compacted_while_it_runs(self):
        p = self.start(self.delivery_config("in sensors/# 1\n", extra=(
            "journal_sync false\n")))
        local = self.consumer("local", "sensors/#")
        # 2000 messages of 1 KiB: over 2 MiB of records in the journal.
        sent = ["m%d" % i + "." * 1024 for i in range(2000)]
        self.publish_lines("remote", "sensors/t", sent)
        deadline = time.monotonic() + 3 * BOUND
        while time.monotonic() < deadline and len(
                set(self.payloads(local))) < len(sent):
            time.sleep(0.2)
        self.assertEqual(set(self.payloads(local)), set(sent))
        time.sleep(2.5)  # a save and a compaction, every second
        size = os.path.getsize(self.path("journal"))
        self.assertLess(size, 1 << 20, "journal of %d bytes after 2000 "
                        "messages of 1 KiB" % size)
        self.assertEqual([line for line in p.err_lines
                          if "journal" in line], [])

    def test_a_side_down_past_journal_max_drops_the_rest_counted(self):
        metrics = self.path("bridge.prom")
        p = self.start(self.delivery_config(
            "in sensors/# 1\n", extra="queue 10\njournal_max 50\n"
            "metrics_interval 1\n"), "--metrics", metrics)
        local = self.consumer("local", "sensors/#")
        self.b["local"].stop()
        sent = ["m%d" % i for i in range(100)]
        b = self.b["remote"]
        pub = subprocess.run([PUB, "-h", b.host, "-p", str(b.port), "-t",
                              "sensors/t", "-q", "1", "-l", "-K",
                              self.keyring], input="".join(
                                  m + "\n" for m in sent).encode(),
                             timeout=BOUND, capture_output=True)
        self.assertEqual(pub.returncode, 0, pub.stderr)
        dropped = p.wait_stderr("event=dropped topic=sensors/t side=remote "
                                "reason=journal-full ", 50)
        self.b["local"].start()
        got = self.wait_all(local, sent[:50], "local down past the bound")
        time.sleep(1)
        got = self.payloads(local)
        self.assertEqual(sorted(set(got), key=lambda m: int(m[1:])),
                         sent[:50], "delivered %d, dropped %d lines"
                         % (len(set(got)), len(dropped)))
        time.sleep(1.5)  # the metrics file, every metrics_interval
        with open(metrics) as f:
            counted = [line for line in f.read().splitlines()
                       if line.startswith("e2e_bridge_dropped_total{")]
        self.assertIn('e2e_bridge_dropped_total{side="remote",'
                      'reason="journal-full"} 50', counted)


class Wake(BridgeCase):
    """The main thread sleeps when it has nothing to do, and whatever gives
    it work wakes it (docs/BRIDGE.md section 4): a message arriving on
    either side, and room again on a side whose span was full. With
    E2E_BRIDGE_TEST_IDLE_MS=600000 that sleep lasts ten minutes instead
    of 500 ms, so a lost wake-up leaves a message waiting past BOUND and
    the test fails, where otherwise it would only be a stall."""

    def start_idle(self, conf):
        env = dict(os.environ, E2E_BRIDGE_TEST_IDLE_MS="600000")
        p = Proc([*WRAPPER, BRIDGE, "-c", conf], env=env)
        self.addCleanup(self.stopped, p)
        p.wait_stderr("event=ready ")
        return p

    def test_a_message_arriving_while_the_bridge_is_idle_is_bridged(self):
        self.start_idle(self.config('in s/# 1\nout c/# 1 "" fleet/\n'))
        local = self.raw("local")
        local.subscribe("s/#")
        remote = self.raw("remote")
        remote.subscribe("fleet/#")
        app = self.raw("local")
        for i in range(6):
            time.sleep(0.3)  # nothing to do: the main thread sleeps
            qos = i % 2
            if i % 3 == 2:  # both sides at once
                self.seal("remote", "s/t", "in %d" % i, "-q", str(qos))
                app.publish("c/x", b"out %d" % i, qos=qos)
            elif i % 3 == 0:
                self.seal("remote", "s/t", "in %d" % i, "-q", str(qos))
            else:
                app.publish("c/x", b"out %d" % i, qos=qos)
            if i % 3 != 1:
                self.assertEqual(local.next_message(timeout=BOUND)[:2],
                                 ("s/t", b"in %d" % i))
            if i % 3 != 0:
                self.assertEqual(remote.next_message(timeout=BOUND)[0],
                                 "fleet/c/x")

    def test_room_again_on_a_full_span_wakes_the_bridge(self):
        # local stopped: the bridge publishes a span's worth (256) there
        # unacknowledged, then waits for room; SIGCONT: local's PUBACKs
        # free the span and must wake the main thread for the rest.
        self.start_idle(self.config("in s/# 1\n"))
        n = 400
        local = self.watch("local", "s/#", n)
        lines = self.path("lines")
        with open(lines, "w") as f:
            f.write("".join("m%d\n" % i for i in range(n)))
        broker = self.b["local"].proc
        broker.send_signal(signal.SIGSTOP)
        try:
            b = self.b["remote"]
            with open(lines) as f:
                r = subprocess.run([PUB, "-h", b.host, "-p", str(b.port),
                                    "-t", "s/t", "-q", "1", "-l", "-K",
                                    self.keyring], stdin=f, timeout=BOUND,
                                   capture_output=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            time.sleep(1)  # the span fills, the main thread sleeps
        finally:
            broker.send_signal(signal.SIGCONT)
        self.assertEqual(self.seen(local),
                         ["0 1 s/t m%d" % i for i in range(n)])


class OutOfMemory(BridgeCase):
    """A message the bridge has no memory for is not bridged, and says so:
    one `failed reason=out-of-memory` line and one count on its rule, on
    either side; the guard has not seen it, nothing of it reaches the other
    side, and the bridge goes on with the next message. The bridge runs with
    tests/integration/fail_alloc.c preloaded: while the file ARM exists,
    malloc() of 16 KiB or more on its main thread, where a turn's buffer is
    made, returns NULL."""

    FAIL_ALLOC = os.path.join(BUILD, "tests", "integration", ".libs",
                              "libfailalloc.so")
    BIG = 20000

    def test_a_message_without_memory_is_failed_by_name_and_the_next_goes(
            self):
        if not os.path.exists(self.FAIL_ALLOC):
            if os.environ.get("LIBE2E_TEST_STRICT") == "1":
                self.fail("%s not built" % self.FAIL_ALLOC)
            self.skipTest("%s not built" % self.FAIL_ALLOC)
        arm = self.path("arm")
        metrics = self.path("metrics.prom")
        bridge = self.start(
            self.config('metrics_interval 1\nin s/# 1\n'
                        'out c/# 1 "" fleet/\n'), "--metrics", metrics,
            env=dict(os.environ, LD_PRELOAD=self.FAIL_ALLOC,
                     E2E_TEST_FAIL_OVER="16384", E2E_TEST_FAIL_ARM=arm))
        local = self.raw("local")
        local.subscribe("s/#")
        remote = self.raw("remote")
        remote.subscribe("fleet/#")
        app = self.raw("local")

        def both(payload, topic_in, topic_out):
            self.seal("remote", topic_in, payload, "-q", "1")
            app.publish(topic_out, payload.encode(), qos=1)

        both("before", "s/a", "c/a")
        self.assertEqual(local.next_message(timeout=BOUND)[:2],
                         ("s/a", b"before"))
        self.assertEqual(remote.next_message(timeout=BOUND)[0], "fleet/c/a")
        open(arm, "w").close()
        both("x" * self.BIG, "s/big", "c/big")
        for side, topic, rule in (("remote", "s/big", "in s/#"),
                                  ("local", "c/big", "out c/#")):
            line = bridge.wait_stderr("event=failed topic=%s " % topic)[0]
            self.assertIn(" side=%s rule=\"%s\" reason=out-of-memory " %
                          (side, rule), line)
        os.unlink(arm)
        both("after", "s/a", "c/a")
        self.assertEqual(local.next_message(timeout=BOUND)[:2],
                         ("s/a", b"after"))
        self.assertEqual(remote.next_message(timeout=BOUND)[0], "fleet/c/a")
        deadline = time.monotonic() + BOUND
        want = ('e2e_bridge_failed_total{rule="in s/#",'
                'reason="out-of-memory"} 1')
        while time.monotonic() < deadline:
            with open(metrics) if os.path.exists(metrics) else \
                    open(os.devnull) as f:
                text = f.read()
            if want in text:
                break
            time.sleep(0.2)
        self.assertIn(want, text)
        self.assertIn('e2e_bridge_failed_total{rule="out c/#",'
                      'reason="out-of-memory"} 1', text)
        self.assertNotIn("e2e_bridge_refused_total{", text)
        self.stopped(bridge)
        stopped = bridge.wait_stderr("event=stopped ")[0]
        self.assertIn(" delivered=2 ", stopped)
        self.assertIn(" sealed=2 ", stopped)
        self.assertIn(" failed=2", stopped)


class Mqtt5Options(BridgeCase):
    """MQTT 5 subscription options: no-local (the bridge never gets its
    own publications back) and retain-as-published on local."""

    def v5_config(self, rules):
        path = self.path("bridge.conf")
        with open(path, "w") as f:
            f.write(side("remote", self.b["remote"]) +
                    "protocol_version mqttv5\n" +
                    side("local", self.b["local"]) +
                    "protocol_version mqttv5\nkeyring %s\n%s"
                    % (self.keyring, rules))
        return path

    RULES = "in sensors/# 1\nout sensors/# 1 \"\" back/\n"

    def test_overlapping_filters_on_one_side_need_mqtt5(self):
        refused = subprocess.run([BRIDGE, "-c", self.config(self.RULES),
                                  "--check"], capture_output=True,
                                 timeout=BOUND)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("would come back", refused.stderr.decode())
        ok = subprocess.run([BRIDGE, "-c", self.v5_config(self.RULES),
                             "--check"], capture_output=True, timeout=BOUND)
        self.assertEqual(ok.returncode, 0, ok.stderr)

    def assert_nothing_comes_back(self):
        """With RULES running: a message bridged in from remote is not
        bridged out again; a local application's own message is."""
        back = self.raw("remote")
        back.subscribe("back/#")
        local = self.watch("local", "sensors/#", 2)
        self.seal("remote", "sensors/from-remote", "bridged", "-q", "1")
        # A local application's own message: the one that goes out.
        raw = self.raw("local")
        time.sleep(0.5)
        raw.publish("sensors/from-local", b"local app", qos=1)
        self.assertEqual(sorted(self.seen(local)),
                         ["0 1 sensors/from-local local app",
                          "0 1 sensors/from-remote bridged"])
        # Sealed after the bridged one: had that come back, it would be
        # first.
        self.assertEqual(back.next_message()[0], "back/sensors/from-local")
        time.sleep(1)
        self.assertTrue(back.messages.empty())

    def test_no_local_keeps_bridged_messages_from_coming_back(self):
        self.start(self.v5_config(self.RULES))
        self.assert_nothing_comes_back()

    def test_no_local_holds_for_a_subscription_added_by_reload(self):
        p = self.start(self.v5_config("in sensors/# 1\n"
                                      "out other/# 1 \"\" back/\n"))
        self.v5_config(self.RULES)  # out sensors/#: subscribed by SIGHUP
        p.p.send_signal(signal.SIGHUP)
        p.wait_stderr("event=reloaded-rules ")
        self.assert_nothing_comes_back()

    def test_out_keeps_the_retain_flag_of_live_messages(self):
        self.start(self.v5_config("out cmd/# 1 \"\" fleet/\n"))
        time.sleep(0.5)
        raw = self.raw("local")
        raw.publish("cmd/setpoint", b"21.5", qos=1, retain=True)
        time.sleep(1)
        # A receiver that comes later gets it from remote's store.
        b = self.b["remote"]
        r = subprocess.run([SUB, "-h", b.host, "-p", str(b.port), "-t",
                            "fleet/#", "-C", "1", "-W", "5", "-K",
                            self.keyring, "-v"], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.stdout.decode(), "fleet/cmd/setpoint 21.5\n",
                         r.stderr)


if __name__ == "__main__":
    unittest.main()
