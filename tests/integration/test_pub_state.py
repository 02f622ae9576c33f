#!/usr/bin/python3 -B
"""e2e-pub's epoch file (--state, or one per signer under $XDG_STATE_HOME)
through a real mosquitto: restarts never repeat a sequence number nor run
ahead of the clock, with the file or after losing it; one publisher per file
for its whole run; no symbolic links and no files of other users
(docs/ENVELOPE.md section 9, docs/HARDENING.md "Security round 2").

Environment: as test_cli.py (make check exports it).
"""

import json
import os
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_cli import BOUND, PUB, CliCase, Proc, keygen  # noqa: E402

NOBODY = 65534
RESTARTS = 12


class PubState(CliCase):

    def setUp(self):
        super().setUp()
        keygen("signer", "new", "-s", self.path("sk"), "-p", self.path("pk"),
               "--no-passphrase")
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk"), "--topics", "ps/#")
        self.state = self.path("pub.state")

    def signed_sub(self, topic, count):
        return self.start_sub("-t", topic, "-C", str(count), "--json",
                              "--trust", self.path("trust"),
                              "--require-signature")

    def signed_pub(self, topic, text, *args, expect=0, env=None):
        return self.pub("-t", topic, "-m", text, "--sign", self.path("sk"),
                        *args, expect=expect, env=env)

    def assertAllAcceptedAndClockBound(self, sub, count):
        self.assertEqual(sub.finish(), 0, "\n".join(sub.err_lines))
        self.assertEqual(sub.rejections(), [])
        objs = [json.loads(line) for line in sub.out.splitlines()]
        self.assertEqual(len(objs), count)
        seqs = [int(o["sequence"]) for o in objs]
        self.assertEqual(seqs, sorted(set(seqs)), "a sequence repeated")
        for o in objs:
            # The epoch is the second the sender started in; the
            # timestamp the second it sealed: never before the start.
            self.assertLessEqual(o["epoch"], o["timestamp"],
                                 "epoch ahead of the clock: %r" % o)

    # -- Item 9: restarts ---------------------------------------------------

    def test_quick_restarts_then_a_lost_state_file_are_all_accepted(self):
        sub = self.signed_sub("ps/q", RESTARTS + 1)
        for i in range(RESTARTS):
            self.signed_pub("ps/q", str(i), "--state", self.state)
        os.unlink(self.state)  # a container without persistent state
        self.signed_pub("ps/q", "after the loss", "--state", self.state)
        self.assertAllAcceptedAndClockBound(sub, RESTARTS + 1)

    def test_quick_restarts_without_any_state_file_are_all_accepted(self):
        # No state directory at all: the epoch comes from the clock alone.
        env = dict(os.environ, XDG_STATE_HOME="", HOME="")
        sub = self.signed_sub("ps/c", RESTARTS)
        for i in range(RESTARTS):
            self.signed_pub("ps/c", str(i), env=env)
        self.assertAllAcceptedAndClockBound(sub, RESTARTS)

    # -- Item 8.5: one publisher per signer ---------------------------------

    def test_second_publisher_with_the_same_signer_is_refused_and_named(self):
        sub = self.signed_sub("ps/two", 2)
        first = Proc([PUB, *self.conn(), "-t", "ps/two", "-l", "-q", "1",
                      "-K", self.keyring, "--sign", self.path("sk"), "-d"],
                     stdin=subprocess.PIPE)
        self.procs.append(first)
        first.wait_stderr("connected")
        second = self.signed_pub("ps/two", "second", expect=1)
        err = second.stderr.decode(errors="replace")
        self.assertIn("PID %d" % first.p.pid, err)
        self.assertIn("in use by another publisher", err)
        # The first one is unaffected, and its messages are accepted.
        first.p.stdin.write(b"one\ntwo\n")
        first.p.stdin.close()
        self.assertEqual(first.finish(), 0)
        self.assertAllAcceptedAndClockBound(sub, 2)
        # Once it has exited, the signer can start again.
        sub = self.signed_sub("ps/two", 1)
        self.signed_pub("ps/two", "later")
        self.assertAllAcceptedAndClockBound(sub, 1)

    # -- Item 8.2: symbolic links and other users' files --------------------

    def test_symlinked_state_file_is_refused(self):
        target = self.path("elsewhere")
        with open(target, "w") as f:
            f.write("e2e-pub-state 1\nepoch 5\n")
        os.symlink(target, self.state)
        r = self.signed_pub("ps/l", "x", "--state", self.state, expect=1)
        err = r.stderr.decode(errors="replace")
        self.assertIn(self.state, err)
        self.assertIn("symbolic link", err)
        with open(target) as f:
            self.assertEqual(f.read(), "e2e-pub-state 1\nepoch 5\n")

    def test_symlinked_lock_file_is_refused_and_creates_nothing(self):
        target = self.path("created-through-the-link")
        os.symlink(target, self.state + ".lock")
        r = self.signed_pub("ps/l", "x", "--state", self.state, expect=1)
        self.assertIn("symbolic link", r.stderr.decode(errors="replace"))
        self.assertFalse(os.path.lexists(target))

    def test_state_file_of_another_user_is_refused(self):
        if os.geteuid() != 0:
            self.skipTest("only root can give a file to another user")
        with open(self.state, "w") as f:
            f.write("e2e-pub-state 1\nepoch 4294967295\n")  # planted
        os.chown(self.state, NOBODY, NOBODY)
        r = self.signed_pub("ps/o", "x", "--state", self.state, expect=1)
        err = r.stderr.decode(errors="replace")
        self.assertIn(self.state, err)
        self.assertIn("owned by another user", err)

    def test_lock_file_of_another_user_is_refused(self):
        if os.geteuid() != 0:
            self.skipTest("only root can give a file to another user")
        open(self.state + ".lock", "w").close()
        os.chown(self.state + ".lock", NOBODY, NOBODY)
        r = self.signed_pub("ps/o", "x", "--state", self.state, expect=1)
        self.assertIn("owned by another user",
                      r.stderr.decode(errors="replace"))

    def test_version_1_state_file_still_loads(self):
        epoch = int(time.time()) - 1000
        with open(self.state, "w") as f:
            f.write("e2e-pub-state 1\nepoch %d\n" % epoch)
        sub = self.signed_sub("ps/v1", 1)
        self.signed_pub("ps/v1", "x", "--state", self.state)
        self.assertAllAcceptedAndClockBound(sub, 1)
        with open(self.state) as f:
            self.assertTrue(f.read().startswith("e2e-pub-state 2\nnext "))


if __name__ == "__main__":
    unittest.main(verbosity=2)
