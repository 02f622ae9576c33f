#!/usr/bin/python3 -B
"""cli/conn holds no global state: one process keeps two connections to
two brokers, as e2e-bridge will (a remote and a local one), and they work
independently (tests/integration/conn_two.c forwards from one to the
other through cli/conn alone).

Environment (make check exports it): top_builddir, MOSQUITTO.
"""

import os
import subprocess
import sys
import tempfile
import shutil
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import Broker  # noqa: E402
from test_cli import BOUND, MOSQUITTO_PUB, MOSQUITTO_SUB, Proc  # noqa: E402

BUILD = os.environ.get("top_builddir", os.path.join(HERE, "..", ".."))
CONN_TWO = os.path.join(BUILD, "tests", "integration", "conn_two")


class TwoConnections(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-conn-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.brokers = []
        for name in ("in", "out"):
            b = Broker(os.path.join(self.dir, name))
            b.start()
            self.addCleanup(b.stop)
            self.brokers.append(b)

    def test_one_process_forwards_between_two_brokers(self):
        b_in, b_out = self.brokers
        n = 5
        received = Proc([MOSQUITTO_SUB, "-h", b_out.host, "-p",
                         str(b_out.port), "-t", "fw/out", "-q", "1", "-C",
                         str(n), "-v"])
        self.addCleanup(received.stop)
        two = Proc([CONN_TWO, b_in.host, str(b_in.port), str(b_out.port),
                    "fw/in/#", "fw/out", str(n)])
        self.addCleanup(two.stop)
        two.wait_lines(1)  # "ready": both connected, "in" subscribed
        for i in range(n):
            subprocess.run([MOSQUITTO_PUB, "-h", b_in.host, "-p",
                            str(b_in.port), "-t", "fw/in/%d" % i, "-q", "1",
                            "-m", "m%d" % i], check=True, timeout=BOUND)
        self.assertEqual(two.finish(), 0, two.err_lines)
        self.assertEqual(two.out, b"ready\nforwarded %d\n" % n)
        self.assertEqual(received.finish(), 0)
        self.assertEqual(received.out.decode().splitlines(),
                         ["fw/out m%d" % i for i in range(n)])

    def test_each_connection_names_itself_in_its_messages(self):
        # The "out" broker is gone: only "out" fails, and says which it is.
        b_in, b_out = self.brokers
        b_out.stop()
        two = Proc([CONN_TWO, b_in.host, str(b_in.port), str(b_out.port),
                    "fw/in/#", "fw/out", "1"])
        self.addCleanup(two.stop)
        self.assertEqual(two.finish(), 1)
        self.assertEqual(len(two.err_lines), 1, two.err_lines)
        self.assertTrue(two.err_lines[0].startswith(
            "conn_two: out: cannot connect to tcp://127.0.0.1:%d: "
            % b_out.port), two.err_lines)


if __name__ == "__main__":
    if not os.access(CONN_TWO, os.X_OK):
        sys.exit("%s not built" % CONN_TWO)
    unittest.main(verbosity=2)
