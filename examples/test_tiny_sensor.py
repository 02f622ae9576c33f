#!/usr/bin/python3
"""The tiny-profile sensor (examples/tiny_sensor) through a real broker.

Its envelopes, published with mosquitto_pub through a mosquitto started here
on loopback, are printed by e2e-sub configured as libe2e/tiny/README.md says
for a clockless sender (--accept-no-clock, --state); replays are refused,
also after e2e-sub restarts, and a new boot of the sensor is accepted.

Skipped (exit 77) when e2e-sub or e2e-pub (Paho), mosquitto or mosquitto_pub
is missing.
"""

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

TOP_SRCDIR = os.environ.get("top_srcdir") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..")
TOP_BUILDDIR = os.environ.get("top_builddir") or TOP_SRCDIR
sys.path.insert(0, os.path.join(TOP_SRCDIR, "tests", "integration"))
sys.dont_write_bytecode = True  # nothing written into the source tree

SENSOR = os.path.join(TOP_BUILDDIR, "examples", "tiny_sensor")
E2E_SUB = os.path.join(TOP_BUILDDIR, "cli", "e2e-sub")
E2E_PUB = os.path.join(TOP_BUILDDIR, "cli", "e2e-pub")
E2E_KEYGEN = os.path.join(TOP_BUILDDIR, "cli", "e2e-keygen")
MOSQUITTO_PUB = shutil.which("mosquitto_pub")
MOSQUITTO = os.environ.get("MOSQUITTO") or shutil.which("mosquitto") or \
    "/usr/sbin/mosquitto"

TOPIC = "sensors/tiny/temp"


def missing():
    if not os.path.exists(os.path.join(TOP_SRCDIR, "tests", "integration",
                                       "broker.py")):
        return "tests/integration/broker.py"
    for path, what in ((SENSOR, "examples/tiny_sensor"),
                       (E2E_SUB, "cli/e2e-sub (needs Paho)"),
                       (E2E_PUB, "cli/e2e-pub (needs Paho)"),
                       (E2E_KEYGEN, "cli/e2e-keygen"),
                       (MOSQUITTO, "mosquitto"),
                       (MOSQUITTO_PUB or "", "mosquitto_pub")):
        if not path or not os.access(path, os.X_OK):
            return what
    return None


class TinySensorThroughBroker(unittest.TestCase):
    def setUp(self):
        from broker import Broker
        self.dir = tempfile.mkdtemp(prefix="tiny-sensor-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        # "log_type subscribe" lets the test see when e2e-sub is ready.
        self.broker = Broker(os.path.join(self.dir, "broker"),
                             extra="log_type subscribe\n")
        self.broker.start()
        self.addCleanup(self.broker.stop)
        # The subscribers' keyring, and the device provisioned with its
        # primary key as libe2e/tiny/README.md shows.
        self.keyring = os.path.join(self.dir, "keyring")
        subprocess.run([E2E_KEYGEN, "keyring", "init", "-K", self.keyring,
                        "--suite", "mac"], check=True, timeout=30,
                       stdout=subprocess.DEVNULL)
        with open(self.keyring) as f:
            primary = [line.split() for line in f
                       if not line.startswith("#")
                       and line.split()[2:3] == ["primary"]]
        self.assertEqual(len(primary), 1)
        self.key_id = primary[0][0]
        self.key = base64.b64decode(primary[0][4])
        self.assertEqual(len(self.key), 32)
        self.boot = os.path.join(self.dir, "rtc-backup-register")
        self.state = os.path.join(self.dir, "sub.state")
        self.boots = 0
        self.subs = 0

    def sensor_boot(self, n):
        """Run one boot of the sensor with n readings; their files."""
        self.boots += 1
        out = os.path.join(self.dir, "boot%d" % self.boots)
        os.mkdir(out)
        subprocess.run([SENSOR, "-k", self.key.hex(), "-i", self.key_id,
                        "-b", self.boot, "-t", TOPIC, "-n", str(n),
                        "-o", out], check=True, timeout=30)
        return [os.path.join(out, name) for name in sorted(os.listdir(out))]

    def start_sub(self, count, extra=()):
        """e2e-sub until count messages are accepted, once subscribed."""
        self.subs += 1
        client_id = "tiny-sub-%d" % self.subs
        proc = subprocess.Popen(
            [E2E_SUB, "-h", "127.0.0.1", "-p", str(self.broker.port),
             "-i", client_id, "-q", "1", "-t", "sensors/#", "-v",
             "-K", self.keyring, "-C", str(count), "-W", "30", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 20
        while client_id + " 1 sensors/#" not in self.broker.log():
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                out, err = proc.communicate()
                self.fail("e2e-sub did not subscribe: %s%s\n%s"
                          % (out, err, self.broker.log()))
            time.sleep(0.05)
        return proc

    def publish(self, path):
        subprocess.run([MOSQUITTO_PUB, "-h", "127.0.0.1", "-p",
                        str(self.broker.port), "-q", "1", "-t", TOPIC,
                        "-f", path], check=True, timeout=30)

    def finish(self, proc):
        out, err = proc.communicate(timeout=60)
        return proc.returncode, out.splitlines(), err

    def expected(self, boot, n):
        return ['%s {"t":%d.%02d,"boot":%d}' % (TOPIC, (2150 + 25 * i) // 100,
                                                 (2150 + 25 * i) % 100, boot)
                for i in range(n)]

    def test_sub_prints_every_reading(self):
        files = self.sensor_boot(3)
        sub = self.start_sub(3, ["--accept-no-clock"])
        for f in files:
            self.publish(f)
        rc, lines, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        self.assertEqual(lines, self.expected(1, 3))

    def test_sub_refuses_a_clockless_sender_without_accept_no_clock(self):
        files = self.sensor_boot(1)
        sub = self.start_sub(1)
        self.publish(files[0])
        # A sender with a clock, accepted, ends e2e-sub (-C 1).
        subprocess.run([E2E_PUB, "-h", "127.0.0.1", "-p",
                        str(self.broker.port), "-q", "1", "-t", TOPIC,
                        "-K", self.keyring, "-m", "clocked"],
                       check=True, timeout=30)
        rc, lines, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        self.assertEqual(lines, ["%s clocked" % TOPIC])
        self.assertIn("rejected %s: no-timestamp" % TOPIC, err)

    def test_sub_refuses_a_replayed_reading(self):
        files = self.sensor_boot(2)
        sub = self.start_sub(2, ["--accept-no-clock"])
        self.publish(files[0])
        self.publish(files[0])
        self.publish(files[1])
        rc, lines, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        self.assertEqual(lines, self.expected(1, 2))
        self.assertIn("rejected %s: replay" % TOPIC, err)

    def test_state_refuses_old_boot_after_sub_restart_and_accepts_new(self):
        old = self.sensor_boot(1)
        opts = ["--accept-no-clock", "--state", self.state]
        sub = self.start_sub(1, opts)
        self.publish(old[0])
        rc, lines, err = self.finish(sub)
        self.assertEqual((rc, lines), (0, self.expected(1, 1)), err)

        new = self.sensor_boot(1)  # the boot counter moved on: epoch 2
        sub = self.start_sub(1, opts)
        self.publish(old[0])
        self.publish(new[0])
        rc, lines, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        self.assertEqual(lines, self.expected(2, 1))
        self.assertIn("rejected %s: replay" % TOPIC, err)


if __name__ == "__main__":
    what = missing()
    if what:
        strict = os.environ.get("LIBE2E_TEST_STRICT") == "1"
        print("%s: %s not available" % ("FAIL" if strict else "skipped", what))
        sys.exit(1 if strict else 77)
    unittest.main(verbosity=2)
