#!/usr/bin/python3 -B
"""Run every example as a user would, and check what it does: the C and the
Python publisher and subscriber through a real mosquitto (all four
pairings), the mac sensor's envelopes, and the rotation walk-through."""

import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(
    os.environ.get("top_srcdir") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), ".."),
    "bindings", "python", "tests"))
import support  # noqa: E402
from support import libe2e as e2e, needs  # noqa: E402

EXAMPLES = os.path.join(support.SRCDIR, "examples")
TOPIC = "examples/demo"


def python_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = support.BINDING
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def py_example(name):
    return [sys.executable, os.path.join(EXAMPLES, name)]


def c_example(name):
    path = support.program(name)
    if path is None:
        raise unittest.SkipTest("examples/%s is not built (Paho missing?)"
                                % name)
    return [path]


class Subscriber:
    """A subscriber example run in the background until it is ready."""

    def __init__(self, argv, ready_on_stderr):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env=python_env())
        stream = self.proc.stderr if ready_on_stderr else self.proc.stdout
        line = stream.readline()  # ends at "ready" or at exit (EOF)
        if line.strip() != "ready":
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError("subscriber not ready: %r %s %s"
                                 % (line, out, err))

    def finish(self):
        out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, out, err


@needs("e2e_keyring_load", "e2e_seal", "e2e_open")
@support.needs_guard
class PublishSubscribe(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.paho()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.keyring = os.path.join(cls.tmp.name, "demo.keyring")
        with e2e.Keyring() as kr:
            kr.generate(e2e.Suite.AEAD)
            kr.save(cls.keyring)
        cls.broker = support.Broker().start()
        cls.addr = [cls.broker.host, str(cls.broker.port)]

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()
        cls.tmp.cleanup()

    def c_sub(self, count):
        return Subscriber(c_example("c_subscriber") + self.addr + [
            self.keyring, TOPIC, str(count)], ready_on_stderr=False)

    def py_sub(self, count):
        return Subscriber(py_example("py_subscriber.py") + [
            "-H", self.addr[0], "-p", self.addr[1], "-K", self.keyring,
            "-t", TOPIC, "-C", str(count)], ready_on_stderr=True)

    def c_pub(self, *messages):
        subprocess.run(c_example("c_publisher") + self.addr + [
            self.keyring, TOPIC, *messages], check=True, timeout=60)

    def py_pub(self, *messages):
        subprocess.run(py_example("py_publisher.py") + [
            "-H", self.addr[0], "-p", self.addr[1], "-K", self.keyring,
            "-t", TOPIC, *messages], check=True, timeout=60,
            env=python_env())

    def check(self, sub, expected):
        rc, out, err = sub.finish()
        lines = [ln for ln in out.splitlines() if ln != "ready"]
        self.assertEqual(rc, 0, err)
        self.assertEqual(lines, ["%s %s" % (TOPIC, m) for m in expected])

    def test_c_publisher_to_c_subscriber(self):
        sub = self.c_sub(2)
        self.c_pub("hello", "world")
        self.check(sub, ["hello", "world"])

    def test_python_publisher_to_python_subscriber(self):
        sub = self.py_sub(2)
        self.py_pub("hello", "world")
        self.check(sub, ["hello", "world"])

    def test_c_publisher_to_python_subscriber(self):
        sub = self.py_sub(1)
        self.c_pub("from C")
        self.check(sub, ["from C"])

    def test_python_publisher_to_c_subscriber(self):
        sub = self.c_sub(1)
        self.py_pub("from Python")
        self.check(sub, ["from Python"])

    def test_c_subscriber_reports_rejections_and_goes_on(self):
        sub = self.c_sub(1)
        client = support.connect(self.broker, "raw-pub")
        try:
            client.publish(TOPIC, b"plain text", qos=1).wait_for_publish(10)
        finally:
            client.disconnect()
            client.loop_stop()
        self.c_pub("genuine")
        rc, out, err = sub.finish()
        self.assertEqual(rc, 0)
        self.assertIn("%s genuine" % TOPIC, out)
        self.assertIn("rejected %s: not-e2e" % TOPIC, err)

    def test_c_subscriber_refuses_topics_it_did_not_subscribe_to(self):
        # What mosquitto never does, a hostile broker can: deliver to a
        # subscriber of TOPIC a genuine envelope sealed for another topic.
        sys.path.insert(0, os.path.join(support.SRCDIR, "tests",
                                        "integration"))
        from broker import ScriptedBroker
        kr = e2e.Keyring.load(self.keyring)
        self.addCleanup(kr.close)
        with e2e.Sender(kr) as sender:
            other = sender.seal("examples/other", b"not yours")
            mine = sender.seal(TOPIC, b"yours")
        with ScriptedBroker() as sb:
            sub = Subscriber(c_example("c_subscriber") + [
                sb.host, str(sb.port), self.keyring, TOPIC, "1"],
                ready_on_stderr=False)
            sb.wait_subscribed()
            sb.publish("examples/other", other, qos=1, packet_id=1)
            sb.publish(TOPIC, mine, qos=1, packet_id=2)
            rc, out, err = sub.finish()
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["%s yours" % TOPIC])
        self.assertIn("rejected examples/other: not-subscribed", err)


@needs("e2e_seal_explicit", "e2e_open")
@support.needs_guard
class SensorMac(unittest.TestCase):
    KEY = bytes(range(32))
    KEY_ID = 0x0A0B0C0D

    def run_sensor(self, *args):
        out = subprocess.run(
            c_example("sensor_mac") + ["-k", self.KEY.hex(), "-i",
                                       str(self.KEY_ID), *args],
            check=True, capture_output=True, text=True, timeout=60).stdout
        return [(t, bytes.fromhex(h)) for t, h in
                (line.split() for line in out.splitlines())]

    def receiver(self, guard):
        kr = e2e.Keyring()
        self.addCleanup(kr.close)
        kr.add(self.KEY_ID, self.KEY, suite=e2e.Suite.MAC,
               state=e2e.KeyState.PRIMARY)
        return e2e.Receiver(kr, guard=guard)

    def test_sensor_envelopes_open_with_a_tofu_receiver(self):
        with e2e.Guard(accept_no_clock=True) as g:
            rx = self.receiver(g)
            got = [rx.open(t, env) for t, env in self.run_sensor("-n", "3")]
        self.assertEqual([m.payload for m in got],
                         [b"21.50", b"21.55", b"21.60"])
        self.assertTrue(all(m.info.suite == e2e.Suite.MAC for m in got))

    def test_sensor_uses_boot_count_as_epoch(self):
        (topic, env), = self.run_sensor("-e", "7", "-n", "1")
        self.assertEqual((e2e.parse(env).epoch, e2e.parse(env).counter),
                         (7, 0))

    def test_reboot_without_new_epoch_is_a_replay(self):
        with e2e.Guard(accept_no_clock=True) as g:
            rx = self.receiver(g)
            for t, env in self.run_sensor("-e", "3", "-n", "1"):
                rx.open(t, env)
            (t, env), = self.run_sensor("-e", "3", "-n", "1")
            with self.assertRaises(e2e.Rejected) as cm:
                rx.open(t, env)
            self.assertEqual(cm.exception.reason, "replay")
            (t, env), = self.run_sensor("-e", "4", "-n", "1")
            self.assertEqual(rx.open(t, env).payload, b"21.50")

    def test_clock_less_sensor_is_refused_without_tofu(self):
        with e2e.Guard() as g:
            rx = self.receiver(g)
            (t, env), = self.run_sensor("-n", "1")
            with self.assertRaises(e2e.Rejected) as cm:
                rx.open(t, env)
            self.assertEqual(cm.exception.reason, "no-timestamp")


@needs("e2e_keyring_load", "e2e_keyring_save", "e2e_seal", "e2e_open")
class Rotation(unittest.TestCase):
    def test_walk_through_runs_every_step(self):
        r = subprocess.run(py_example("rotation.py"), capture_output=True,
                           text=True, env=python_env(), timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for token in ("5. delete", "rejected: disabled-key",
                      "rejected: unknown-key"):
            self.assertIn(token, r.stdout)


if __name__ == "__main__":
    support.main()
