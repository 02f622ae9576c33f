#!/usr/bin/python3 -B
"""mosquitto's options that e2e-pub and e2e-sub took last (issue 14, item
3): --random-filter, --psk / --psk-identity, -D / --property and -F %J,
each through a real mosquitto. docs/PARITY.md has their rows;
test_parity.py checks the rows themselves and the documented differences.

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import free_port, wait_for_port  # noqa: E402
from test_cli import (BOUND, MOSQUITTO_PUB, MOSQUITTO_SUB, PUB, SUB,  # noqa
                      CliCase, Proc, main)


def numbered(n):
    """n messages for e2e-pub -l, one a line."""
    return b"".join(b"m%d\n" % i for i in range(n))


class RandomFilter(CliCase):
    """--random-filter chooses among accepted messages only, after
    verification: what it leaves out was accepted all the same."""

    def run_filter(self, chance, n, *extra):
        sub = self.start_sub("-t", "rf/a", "-C", str(n), "-W", "30",
                             "--random-filter", chance, *extra)
        self.pub("-t", "rf/a", "-l", "-q", "1", input=numbered(n))
        self.assertEqual(sub.finish(), 0, "\n".join(sub.err_lines))
        return sub

    def test_random_filter_100_prints_every_message(self):
        sub = self.run_filter("100", 200)
        self.assertEqual(sub.out, numbered(200))

    def test_random_filter_50_prints_about_half(self):
        # Binomial(1000, 0.5): mean 500, standard deviation 16; the bounds
        # are 12 deviations away (never reached by chance).
        sub = self.run_filter("50", 1000)
        lines = sub.out.splitlines()
        self.assertGreater(len(lines), 300)
        self.assertLess(len(lines), 700)
        self.assertTrue(set(lines) <= set(numbered(1000).splitlines()))
        self.assertEqual(lines, sorted(lines, key=lambda w: int(w[1:])))

    def test_random_filter_counts_unprinted_messages_for_C(self):
        # 0.1 %: almost nothing printed, yet -C 50 ends after 50 (exit 0,
        # not -W's 27): the unprinted ones were accepted.
        sub = self.run_filter("0.1", 50)
        self.assertLess(len(sub.out.splitlines()), 50)
        self.assertIn("accepted messages left unprinted by "
                      "--random-filter", "\n".join(sub.err_lines))

    def test_random_filter_never_hides_a_rejection(self):
        sub = self.start_sub("-t", "rf/b", "-W", "2",
                             "--random-filter", "0.1")
        r = subprocess.run([MOSQUITTO_PUB, *self.conn(), "-t", "rf/b",
                            "-m", "forged"], timeout=BOUND)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(sub.finish(), 27)
        self.assertEqual(len(sub.rejections()), 1)
        self.assertRejected(sub.rejections()[0], "rf/b", "not-e2e")

    def test_random_filter_out_of_range_is_a_usage_error(self):
        for chance in ("0", "0.05", "100.1", "1000", "abc", ""):
            r = subprocess.run([SUB, "-t", "rf/c", "-K", self.keyring,
                                "--random-filter", chance],
                               capture_output=True, timeout=BOUND)
            self.assertEqual(r.returncode, 1, chance)
            self.assertEqual(r.stderr.decode(),
                             "e2e-sub: invalid --random-filter '%s': a "
                             "chance in percent from 0.1 to 100.0\n"
                             % chance)


if __name__ == "__main__":
    main()
