#!/usr/bin/python3 -B
"""e2e-bridge in operation (docs/BRIDGE.md sections 7-9): its event lines,
its counters (the Prometheus textfile of --metrics and the JSON of
metrics_topic) and its service manager (sd_notify, the systemd unit),
between two real mosquitto brokers on loopback.

Environment (make check exports it): top_builddir, MOSQUITTO.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import ScriptedBroker  # noqa: E402
from test_bridge import BRIDGE, BUILD, WRAPPER, BridgeCase  # noqa: E402
from test_cli import BOUND, MOSQUITTO_PUB, MOSQUITTO_SUB, Proc  # noqa: E402

# ---------------------------------------------------------------------------
# Strict readers of what the bridge writes
# ---------------------------------------------------------------------------

BARE = r'[!#-<>-\[\]-~]+'  # printable ASCII but space, '"', '=' and '\'
QUOTED = r'"(?:[ !#-\[\]-~]|\\["\\]|\\x[0-9a-f]{2})*"'
PAIR = re.compile(r'([a-z_]+)=(%s|%s)(?: |$)' % (QUOTED, BARE))


def event(line):
    """One event line as a dict, or AssertionError: 'key=value' pairs
    separated by one space, the first key 'event', each key once, values
    bare or quoted with \\" \\\\ and \\xNN escapes only."""
    fields, at = {}, 0
    while at < len(line):
        m = PAIR.match(line, at)
        if not m:
            raise AssertionError("not key=value at %d: %r" % (at, line))
        key, value = m.group(1), m.group(2)
        if key in fields:
            raise AssertionError("key %s twice: %r" % (key, line))
        if value.startswith('"'):
            value = re.sub(r'\\x([0-9a-f]{2})|\\(["\\])',
                           lambda e: chr(int(e.group(1), 16)) if e.group(1)
                           else e.group(2), value[1:-1])
        fields[key] = value
        at = m.end()
    if not fields or next(iter(fields)) != "event" or line.endswith(" "):
        raise AssertionError("no leading event=: %r" % line)
    return fields


def events(proc, name):
    return [event(line) for line in proc.err_lines
            if line.startswith("event=%s " % name) or
            line == "event=%s" % name]


LABEL = r'[a-z_]+="(?:[^"\\\n]|\\["\\n])*"'
SAMPLE = re.compile(r'^(e2e_bridge_[a-z_]+)(\{%s(?:,%s)*\})? (-?[0-9]+)$'
                    % (LABEL, LABEL))
HELP = re.compile(r'^# HELP (e2e_bridge_[a-z_]+) \S.*$')
TYPE = re.compile(r'^# TYPE (e2e_bridge_[a-z_]+) (counter|gauge)$')


def prometheus(text):
    """The samples of a Prometheus text exposition, strictly: every line a
    HELP, TYPE or sample line; HELP then TYPE once per metric, before its
    samples; counters named *_total; no series twice; a final newline.
    {(name, ((label, value), ...)): value}."""
    if not text.endswith("\n"):
        raise AssertionError("no final newline")
    samples, helped, typed = {}, set(), {}
    for n, line in enumerate(text[:-1].split("\n"), 1):
        m = HELP.match(line)
        if m:
            if m.group(1) in helped:
                raise AssertionError("line %d: HELP twice" % n)
            helped.add(m.group(1))
            continue
        m = TYPE.match(line)
        if m:
            name, kind = m.groups()
            if name not in helped or name in typed:
                raise AssertionError("line %d: TYPE without HELP or twice"
                                     % n)
            if (kind == "counter") != name.endswith("_total"):
                raise AssertionError("line %d: counter names end in _total"
                                     % n)
            typed[name] = kind
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("line %d: not a sample: %r" % (n, line))
        name, labels, value = m.groups()
        if name not in typed:
            raise AssertionError("line %d: %s has no TYPE" % (n, name))
        pairs = tuple(re.findall(r'([a-z_]+)="((?:[^"\\]|\\.)*)"',
                                 labels or ""))
        key = (name, pairs)
        if key in samples:
            raise AssertionError("line %d: series twice" % n)
        samples[key] = int(value)
    return samples


def metric(samples, name, **labels):
    """The value of one series (0 when it is absent)."""
    for (n, pairs), value in samples.items():
        if n == "e2e_bridge_" + name and dict(pairs) == labels:
            return value
    return 0


class Ops(BridgeCase):

    def start_with(self, conf, *args, env=None):
        p = Proc([*WRAPPER, BRIDGE, "-c", conf, *args], env=env)
        self.addCleanup(self.stopped, p)
        p.wait_stderr("event=ready ")
        return p

    def plain(self, broker, topic, message):
        b = self.b[broker]
        subprocess.run([MOSQUITTO_PUB, "-h", b.host, "-p", str(b.port), "-t",
                        topic, "-m", message], check=True, timeout=BOUND)

    def forge_three(self):
        """On remote: one plain publication (not-e2e), one genuine envelope
        moved to another topic (bad-tag), one genuine envelope replayed
        (replay); and three genuine messages on f/g. What the rules see."""
        spy = self.raw("remote")
        spy.subscribe("#")
        self.seal("remote", "elsewhere/a", "never bridged")
        _, moved, _ = spy.next_message()
        self.seal("remote", "f/g", "one")
        _, seen, _ = spy.next_message()
        self.plain("remote", "f/p", "PLAIN-PAYLOAD-TEXT")
        spy.publish("f/m", moved)
        spy.publish("f/g", seen)
        self.seal("remote", "f/g", "two")
        self.seal("remote", "f/g", "three")


class Log(Ops):
    """Every event is one key=value line, and nothing unverified shows."""

    def test_every_line_is_an_event_and_refusals_name_rule_and_reason(self):
        bridge = self.start_with(self.config("in f/# 1\n"))
        local = self.watch("local", "f/#", 3)
        self.forge_three()
        self.assertEqual(len(self.seen(local)), 3)
        refused = [event(line) for line in
                   bridge.wait_stderr("event=refused ", 3)]
        self.assertEqual([(e["topic"], e["rule"], e["reason"])
                          for e in refused],
                         [("f/p", "in f/#", "not-e2e"),
                          ("f/m", "in f/#", "bad-tag"),
                          ("f/g", "in f/#", "replay")])
        self.assertEqual(refused[0]["bytes"], str(len("PLAIN-PAYLOAD-TEXT")))
        self.assertEqual(bridge.stop(), 0)
        for line in bridge.err_lines:
            event(line)
            # Neither the payload nor its first byte (0x50, 'P').
            self.assertNotIn("PLAIN", line)
            self.assertNotIn("0x50", line)
        stopped = events(bridge, "stopped")
        self.assertEqual(len(stopped), 1, bridge.err_lines)
        self.assertEqual((stopped[0]["delivered"], stopped[0]["refused"]),
                         ("3", "3"))

    def test_a_hostile_topic_is_quoted_and_cannot_start_a_line(self):
        # mosquitto refuses control characters in topic names; a hostile
        # remote broker sends whatever it likes (ScriptedBroker).
        topic = b'f/a b"c=d\\e\nevent=delivered \x7f\xc3\xa9\x00x'
        with ScriptedBroker() as sb:
            bridge = self.start_with(self.config(
                "in f/# 1\n", remote_section="remote\nhost %s\nport %d\n"
                % (sb.host, sb.port)))
            sb.wait_subscribed()
            sb.publish(topic, b"x")
            line = bridge.wait_stderr("event=refused ")[0]
            bridge.stop()
        self.assertEqual(event(line)["topic"], topic.decode("latin-1"))
        self.assertIn(r'topic="f/a b\"c=d\\e\x0aevent=delivered '
                      r'\x7f\xc3\xa9\x00x"', line)
        self.assertEqual(len([ln for ln in bridge.err_lines
                              if "event=delivered" in ln]), 1)

    def test_losing_local_and_reconnecting_are_events(self):
        bridge = self.start_with(self.config("in f/# 1\n"))
        self.b["local"].restart()
        lost = event(bridge.wait_stderr("event=connection-lost ")[0])
        self.assertEqual(lost["side"], "local")
        again = event(bridge.wait_stderr("event=reconnected ")[0])
        self.assertEqual((again["side"], again["reconnects"]), ("local", "1"))
        self.assertFalse([ln for ln in bridge.err_lines
                          if not ln.startswith("event=")], bridge.err_lines)


class Metrics(Ops):
    """The counters, exactly, in both outputs."""

    def test_prometheus_textfile_counts_every_message_exactly(self):
        out_dir = self.path("textfile")
        os.mkdir(out_dir)
        prom = os.path.join(out_dir, "e2e_bridge.prom")
        bridge = self.start_with(self.config(
            "max_payload 200\nmetrics_interval 1\nin f/# 1\nout cmd/# 1\n"),
            "--metrics", prom)
        local = self.watch("local", "f/#", 3)
        remote = self.watch("remote", "cmd/#", 1)
        self.forge_three()
        self.seal("remote", "f/big", "x" * 300)  # dropped: too large
        self.plain("local", "cmd/go", "on")
        self.assertEqual(len(self.seen(local)), 3)
        self.assertEqual(remote.finish(), 0)  # the envelope of cmd/go
        bridge.wait_stderr("event=dropped ")
        expect = {
            ("delivered_total", (("rule", "in f/#"),)): 3,
            ("delivered_total", (("rule", "out cmd/#"),)): 1,
            ("refused_total", (("rule", "in f/#"), ("reason", "not-e2e"))): 1,
            ("refused_total", (("rule", "in f/#"), ("reason", "bad-tag"))): 1,
            ("refused_total", (("rule", "in f/#"), ("reason", "replay"))): 1,
            ("duplicates_total", (("rule", "in f/#"),)): 0,
            ("dropped_total", (("side", "remote"),
                               ("reason", "too-large"))): 1,
            ("dropped_total", (("side", "local"),
                               ("reason", "queue-full"))): 0,
            ("reconnects_total", (("side", "remote"),)): 0,
            ("reconnects_total", (("side", "local"),)): 0,
            ("connected", (("side", "remote"),)): 1,
            ("connected", (("side", "local"),)): 1,
            ("queue_depth", ()): 0,
            ("queue_capacity", ()): 1000,
        }

        def counts():
            with open(prom) as f:
                samples = prometheus(f.read())
            return {k: samples.get(("e2e_bridge_" + k[0], k[1]), None)
                    for k in expect}

        # Written every second while it runs...
        deadline = time.monotonic() + BOUND
        while counts() != expect and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(counts(), expect)
        self.assertEqual(os.stat(prom).st_mode & 0o777, 0o644)
        # ... and at exit, with nothing else left in its directory.
        self.assertEqual(bridge.stop(), 0)
        expect[("connected", (("side", "remote"),))] = 0
        expect[("connected", (("side", "local"),))] = 0
        self.assertEqual(counts(), expect)
        with open(prom) as f:
            samples = prometheus(f.read())
        refused = sum(v for (n, _), v in samples.items()
                      if n == "e2e_bridge_refused_total")
        self.assertEqual(refused, 3)  # and no other reason
        self.assertEqual(os.listdir(out_dir), ["e2e_bridge.prom"])

    def test_a_reconnect_is_counted_per_side(self):
        prom = self.path("m.prom")
        bridge = self.start_with(self.config("metrics_interval 1\n"
                                             "in f/# 1\n"), "--metrics", prom)
        self.b["remote"].restart()
        bridge.wait_stderr("event=reconnected ")
        self.assertEqual(bridge.stop(), 0)
        with open(prom) as f:
            samples = prometheus(f.read())
        self.assertEqual(metric(samples, "reconnects_total", side="remote"),
                         1)
        self.assertEqual(metric(samples, "reconnects_total", side="local"), 0)

    def test_json_counters_arrive_on_the_local_metrics_topic(self):
        self.start_with(self.config("metrics_topic ops/e2e-bridge\n"
                                    "metrics_interval 1\nin f/# 1\n"))
        local = self.watch("local", "f/#", 3)
        self.forge_three()
        self.assertEqual(len(self.seen(local)), 3)
        b = self.b["local"]
        deadline = time.monotonic() + BOUND
        while True:
            # The next publication, after all six messages were handled.
            r = subprocess.run([MOSQUITTO_SUB, "-h", b.host, "-p",
                                str(b.port), "-t", "ops/e2e-bridge", "-C",
                                "1", "-W", str(BOUND)], timeout=BOUND + 5,
                               capture_output=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            doc = json.loads(r.stdout)
            rule = [x for x in doc["rules"] if x["rule"] == "in f/#"][0]
            if rule["delivered"] == 3 or time.monotonic() > deadline:
                break
        self.assertEqual(rule, {"rule": "in f/#", "delivered": 3,
                                "duplicates": 0, "failed": {},
                                "refused": {"not-e2e": 1, "bad-tag": 1,
                                            "replay": 1}})
        self.assertEqual(doc["sides"]["remote"]["connected"], 1)
        self.assertEqual(doc["sides"]["local"]["reconnects"], 0)
        self.assertEqual(doc["queue"]["capacity"], 1000)

    def test_a_metrics_topic_an_out_rule_would_bridge_is_refused(self):
        conf = self.config("metrics_topic ops/m\nout ops/# 1\n")
        r = subprocess.run([BRIDGE, "-c", conf, "--check"], timeout=BOUND,
                           capture_output=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("%s:10: out (line 10) subscribes on local to 'ops/#', "
                      "which holds metrics_topic 'ops/m'" % conf,
                      r.stderr.decode())


class Reload(Ops):
    """SIGHUP: keys, trust and rules again, the connections kept."""

    def logged(self, name, text):
        with open(self.b[name].log_path, errors="replace") as f:
            return f.read().count(text)

    def assert_never_reconnected(self, bridge):
        for side in ("remote", "local"):
            cid = "e2e-bridge-%s-%d" % (side, bridge.p.pid)
            self.assertEqual(self.logged(side, " as %s " % cid), 1,
                             self.b[side].log())
            self.assertEqual(self.logged(side, "Client %s " % cid), 0,
                             self.b[side].log())  # closed, disconnected
        self.assertFalse([ln for ln in bridge.err_lines
                          if "connect" in ln], bridge.err_lines)

    def hup(self, bridge, text, expect):
        self.config(text)
        bridge.p.send_signal(signal.SIGHUP)
        return event(bridge.wait_stderr("event=%s " % expect)[0])

    def test_a_rule_added_on_sighup_flows_without_reconnecting(self):
        bridge = self.start_with(self.config("in a/# 1\n"))
        local = self.watch("local", "#", 3)
        self.seal("remote", "a/1", "old rule")
        # Retained on remote before the rule exists: it arrives exactly
        # when the new subscription is made, no race with a live publish.
        self.seal("remote", "b/1", "new rule", "-r", "-q", "1")
        done = self.hup(bridge, "in a/# 1\nin b/# 1\n", "reloaded-rules")
        self.assertEqual((done["in_rules"], done["out_rules"]), ("2", "0"))
        self.seal("remote", "a/2", "still")
        self.assertEqual(sorted(self.seen(local)),
                         ["0 0 a/1 old rule", "0 0 a/2 still",
                          # live to a subscriber already there: MQTT 3.1.1
                          # clears the retain flag
                          "0 1 b/1 new rule"])
        self.assert_never_reconnected(bridge)

    def test_a_rule_removed_on_sighup_stops_its_topic(self):
        prom = self.path("m.prom")
        bridge = self.start_with(self.config("in a/# 1\nin b/# 1\n"),
                                 "--metrics", prom)
        local = self.watch("local", "#", 2)
        self.seal("remote", "a/1", "before")
        self.hup(bridge, "in b/# 1\n", "reloaded-rules")
        self.seal("remote", "a/2", "after: no rule")
        self.seal("remote", "b/1", "kept")
        self.assertEqual(sorted(self.seen(local)),
                         ["0 0 a/1 before", "0 0 b/1 kept"])
        self.assert_never_reconnected(bridge)
        self.assertEqual(bridge.stop(), 0)
        with open(prom) as f:
            samples = prometheus(f.read())
        # The counters of the rule that went stay, those of the kept one
        # go on.
        self.assertEqual(metric(samples, "delivered_total", rule="in a/#"), 1)
        self.assertEqual(metric(samples, "delivered_total", rule="in b/#"), 1)

    def test_reloads_racing_a_reconnect_keep_the_rules_subscribed(self):
        # A reconnect subscribes to the whole list again while SIGHUPs
        # swap it (cli/conn.c subscribe_all): its SUBACK callbacks must
        # read the list they asked for, not the one being replaced. The
        # unlocked read this guards against is a window of a few
        # instructions: this passed before that fix as well; it states
        # that the rules stay subscribed, and under the sanitizer builds
        # a torn read would abort the bridge.
        conf = self.config("in a/# 1\nin b/# 1\n")
        bridge = self.start_with(conf)
        local = self.watch("local", "#", 2)
        self.b["remote"].stop()
        self.b["remote"].start()
        after = 0
        for i in range(2000):  # 10 ms each: at most 20 s
            extra = "".join("in c%d/# 1\n" % k for k in range(i % 3))
            os.replace(self.config("in a/# 1\nin b/# 1\n" + extra,
                                   name="next.conf"), conf)
            bridge.p.send_signal(signal.SIGHUP)
            time.sleep(0.01)
            if [ln for ln in bridge.err_lines if "event=reconnected" in ln]:
                after += 1
                if after > 100:
                    break
        self.assertGreater(after, 100, "remote never came back")
        self.seal("remote", "a/1", "kept a", "-r")
        self.seal("remote", "b/1", "kept b", "-r")
        self.assertEqual(sorted(ln.split(" ", 2)[2] for ln in
                                self.seen(local)),
                         ["a/1 kept a", "b/1 kept b"])
        self.assertEqual(bridge.stop(), 0, bridge.err_lines)

    def test_an_invalid_file_on_sighup_keeps_the_running_rules(self):
        bridge = self.start_with(self.config("in a/# 1\n"))
        conf = self.config("in a/# 1\nin b/# 1\ncolour blue\n")
        bridge.p.send_signal(signal.SIGHUP)
        bridge.wait_stderr("event=reload-failed ")
        self.assertTrue(bridge.wait_stderr(
            "e2e-bridge: %s:11: unknown directive 'colour'" % conf))
        local = self.watch("local", "#", 1)
        self.seal("remote", "b/1", "not bridged")
        self.seal("remote", "a/1", "still bridged")
        self.assertEqual(self.seen(local), ["0 0 a/1 still bridged"])

    def test_a_changed_connection_setting_is_refused_and_nothing_reloads(self):
        bridge = self.start_with(self.config("in a/# 1\n"))
        local = self.b["local"]
        path = self.config("in a/# 1\nin b/# 1\n")
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("port %d\n" % local.port,
                                 "port %d\nkeepalive 30\n" % local.port))
        bridge.p.send_signal(signal.SIGHUP)
        refused = event(bridge.wait_stderr("event=reload-refused ")[0])
        self.assertEqual((refused["file"], refused["side"],
                          refused["directive"], refused["line"]),
                         (path, "local", "keepalive", "5"))
        self.assertIn("needs a restart", refused["detail"])
        w = self.watch("local", "#", 1)
        self.seal("remote", "b/1", "not bridged")
        self.seal("remote", "a/1", "old rules")
        self.assertEqual(self.seen(w), ["0 0 a/1 old rules"])
        self.assert_never_reconnected(bridge)


def have_libsystemd():
    with open(os.path.join(BUILD, "config.h")) as f:
        return "#define HAVE_LIBSYSTEMD 1" in f.read()


@unittest.skipUnless(have_libsystemd(),
                     "built without libsystemd: no sd_notify to test")
class Notify(Ops):
    """sd_notify without systemd: a datagram socket of our own."""

    def notify_socket(self):
        path = self.path("notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(BOUND)
        self.addCleanup(s.close)
        env = dict(os.environ, NOTIFY_SOCKET=path)
        return s, env

    def connected_ids(self):
        """The client ids each broker logged as connected."""
        found = {}
        for name in ("remote", "local"):
            with open(self.b[name].log_path, errors="replace") as f:
                found[name] = re.findall(r"as (e2e-bridge-\S+)", f.read())
        return found

    def test_ready_arrives_once_both_connections_are_up(self):
        s, env = self.notify_socket()
        bridge = Proc([*WRAPPER, BRIDGE, "-c", self.config("in f/# 1\n")],
                      env=env)
        self.addCleanup(self.stopped, bridge)
        msg = s.recv(4096).decode()
        # Both brokers already logged the bridge's connection.
        ids = self.connected_ids()
        self.assertEqual(msg.split("\n")[0], "READY=1", msg)
        self.assertEqual(ids["remote"],
                         ["e2e-bridge-remote-%d" % bridge.p.pid], ids)
        self.assertEqual(ids["local"],
                         ["e2e-bridge-local-%d" % bridge.p.pid], ids)
        self.assertIn("STATUS=bridging: 1 in, 0 out rules", msg)
        bridge.p.send_signal(signal.SIGTERM)
        self.assertEqual(s.recv(4096).decode(), "STOPPING=1")

    def test_watchdog_pings_at_half_the_interval_systemd_asks_for(self):
        s, env = self.notify_socket()
        env["WATCHDOG_USEC"] = "600000"  # WatchdogSec=0.6: a ping per 0.3 s
        bridge = Proc([*WRAPPER, BRIDGE, "-c", self.config("in f/# 1\n")],
                      env=env)
        self.addCleanup(self.stopped, bridge)
        self.assertTrue(s.recv(4096).startswith(b"READY=1\n"))
        t0 = time.monotonic()
        pings = [s.recv(4096) for _ in range(3)]
        took = time.monotonic() - t0
        self.assertEqual(pings, [b"WATCHDOG=1"] * 3)
        self.assertGreaterEqual(took, 0.5)  # not after every loop turn
        self.assertLess(took, 0.6 * 3)  # always within the interval

    def test_no_ready_while_remote_cannot_be_reached(self):
        s, env = self.notify_socket()
        self.b["remote"].stop()
        bridge = Proc([BRIDGE, "-c", self.config("in f/# 1\n")], env=env)
        self.assertEqual(bridge.finish(), 1)
        s.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            print(s.recv(4096))


class Unit(unittest.TestCase):
    """contrib/systemd/e2e-bridge.service as make builds it."""

    def setUp(self):
        self.unit = os.path.join(BUILD, "contrib", "systemd",
                                 "e2e-bridge.service")
        with open(self.unit) as f:
            self.text = f.read()

    def test_type_is_notify_exactly_when_sd_notify_is_built_in(self):
        self.assertIn("\nType=%s\n" % ("notify" if have_libsystemd()
                                       else "simple"), self.text)

    def test_the_unit_is_hardened_and_keeps_state_in_its_directory(self):
        for line in ("StateDirectory=e2e-bridge", "ProtectSystem=strict",
                     "ProtectHome=yes", "PrivateTmp=yes",
                     "NoNewPrivileges=yes", "CapabilityBoundingSet=",
                     "SystemCallFilter=@system-service",
                     "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn("\n%s\n" % line, self.text)

    def test_make_install_puts_unit_and_user_in_systemds_directories(self):
        import tempfile
        env = {k: v for k, v in os.environ.items()
               if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
        make = ["make", "-s", "--no-print-directory", "-C", BUILD]
        r = subprocess.run(make + ["-f", "Makefile", "-f", "-", "dirs"],
                           input="dirs:\n\t@echo $(systemdsystemunitdir) "
                           "$(sysusersdir) $(bindir)\n", env=env,
                           capture_output=True, text=True, timeout=120)
        words = r.stdout.split()
        if len(words) != 3:
            self.skipTest("no systemd unit directory known at configure "
                          "time: the unit is not installed")
        unitdir, sysusersdir, bindir = words
        dest = tempfile.mkdtemp(prefix="e2e-unit-install-")
        self.addCleanup(shutil.rmtree, dest, ignore_errors=True)
        r = subprocess.run(make + ["install-systemdsystemunitDATA",
                                   "install-e2e-bridge-sysusers",
                                   "DESTDIR=" + dest], env=env,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(dest + unitdir + "/e2e-bridge.service") as f:
            self.assertIn("\nExecStart=%s/e2e-bridge -c " % bindir, f.read())
        with open(dest + sysusersdir + "/e2e-bridge.conf") as f:
            self.assertTrue(f.read().endswith(
                'u e2e-bridge - "e2e-bridge daemon" /var/lib/e2e-bridge\n'))

    @unittest.skipUnless(shutil.which("systemd-analyze"),
                         "systemd-analyze is not installed: the unit is not "
                         "verified")
    def test_systemd_analyze_verify_accepts_it(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="e2e-unit-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        # verify checks that ExecStart's program exists: the built one.
        path = os.path.join(d, "e2e-bridge.service")
        with open(path, "w") as f:
            f.write(re.sub(r"/\S*/bin/e2e-bridge", os.path.abspath(BRIDGE),
                           self.text))
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", path],
                           capture_output=True, timeout=60,
                           env=dict(os.environ, SYSTEMD_LOG_LEVEL="warning"))
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(r.stderr.decode().strip(), "")


if __name__ == "__main__":
    unittest.main()
