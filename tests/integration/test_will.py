#!/usr/bin/python3
"""The sealed Last Will of e2e-pub and e2e-sub (--will-topic,
--will-payload, --will-qos, --will-retain) through a real mosquitto.

The Will is sealed at connect and published by the broker whenever the
connection ends without a DISCONNECT: it carries timestamp 0 and a sequence
number one epoch above the run's (docs/ENVELOPE.md section 10), so that a
late Will passes the receiver's max age and window, and the run moves above
it after every connection loss.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli import (BOUND, MOSQUITTO_SUB, PUB, SUB, CliCase,  # noqa: E402
                      Proc, keygen)
from broker import RawClient  # noqa: E402

W = "will/status"


class Cutter:
    """A loopback TCP forwarder to the broker whose connections the test
    can cut: the broker sees the client's socket close without a
    DISCONNECT, as on a network failure, and fires its Will."""

    def __init__(self, port):
        self.port_to = port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.port = self.lsock.getsockname()[1]
        self.socks = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                a, _ = self.lsock.accept()
            except OSError:
                return
            b = socket.create_connection(("127.0.0.1", self.port_to),
                                         timeout=BOUND)
            b.settimeout(None)
            with self.lock:
                self.socks += [a, b]
            for x, y in ((a, b), (b, a)):
                threading.Thread(target=self._pump, args=(x, y),
                                 daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            for chunk in iter(lambda: src.recv(65536), b""):
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Break every connection (new ones still go through)."""
        with self.lock:
            socks, self.socks = self.socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.lsock.close()
        self.cut()


class Will(CliCase):

    def start_pub(self, *args, port=None):
        """e2e-pub -l with a Will, connected (its stdin stays open)."""
        cmd = [PUB, "-h", self.broker.host, "-p",
               str(port or self.broker.port), "-d", "-t", "will/data", "-l",
               "--will-topic", W, "--will-payload", "offline", *args]
        if "--sign" not in args:
            cmd += ["-K", self.keyring]
        p = Proc(cmd, stdin=subprocess.PIPE)
        self.procs.append(p)
        p.wait_stderr("connected")
        return p

    @staticmethod
    def send(pub, *lines):
        pub.p.stdin.write(b"".join(b"%s\n" % line for line in lines))
        pub.p.stdin.flush()

    def kill(self, proc):
        proc.p.send_signal(signal.SIGKILL)
        proc.p.wait(timeout=BOUND)

    def wait_out(self, sub, text):
        sub._wait(lambda: text in sub.out, repr(text))

    def test_will_fires_when_the_publisher_is_killed_printed_once(self):
        sub = self.start_sub("-t", "will/#", "-v")
        pub = self.start_pub()
        self.send(pub, b"online")
        self.wait_out(sub, b"will/data online\n")
        self.kill(pub)
        self.assertEqual(sub.wait_lines(2)[1], b"will/status offline")
        # The only message after it is a marker: nothing twice.
        self.pub("-t", "will/data", "-m", "end")
        self.wait_out(sub, b"will/data end\n")
        self.assertEqual(sub.out, b"will/data online\nwill/status offline\n"
                         b"will/data end\n")
        self.assertEqual(sub.rejections(), [])

    def test_will_fired_after_the_max_age_is_accepted(self):
        # Sealed at connect, fired 3 s later by a receiver allowing 1 s:
        # with the connect time as its timestamp it would be too-old.
        sub = self.start_sub("-t", "will/#", "-v", "--max-age", "1",
                             "--max-skew", "1")
        pub = self.start_pub()
        self.send(pub, b"online")
        self.wait_out(sub, b"will/data online\n")
        time.sleep(3)
        self.kill(pub)
        self.wait_out(sub, b"will/status offline\n")
        self.assertEqual(sub.rejections(), [])

    def test_will_fired_after_more_than_window_messages_is_accepted(self):
        sub = self.start_sub("-t", "will/#", "--window", "64", "-q", "1")
        pub = self.start_pub("-q", "1")
        self.send(pub, *[b"m%d" % i for i in range(200)])
        self.wait_out(sub, b"m199\n")
        self.kill(pub)
        self.wait_out(sub, b"offline\n")
        self.assertEqual(sub.rejections(), [])

    def test_after_a_will_fired_on_a_cut_connection_the_next_messages_are_accepted(self):
        cutter = Cutter(self.broker.port)
        self.addCleanup(cutter.close)
        sub = self.start_sub("-t", "will/#", "-v", "--window", "64",
                             "-q", "1")
        pub = self.start_pub("-q", "1", port=cutter.port)
        self.send(pub, *[b"before%d" % i for i in range(100)])
        self.wait_out(sub, b"will/data before99\n")
        cutter.cut()
        self.wait_out(sub, b"will/status offline\n")
        pub.wait_stderr("reconnected")
        self.send(pub, *[b"after%d" % i for i in range(100)])
        self.wait_out(sub, b"will/data after99\n")
        # Every genuine message exactly once, in order, around the Will.
        self.assertEqual(
            sub.out,
            b"".join(b"will/data before%d\n" % i for i in range(100))
            + b"will/status offline\n"
            + b"".join(b"will/data after%d\n" % i for i in range(100)))
        # The only refusals allowed: Paho re-sending, after the reconnect,
        # "before" messages whose PUBACK the cut lost (delivered already).
        for line in sub.rejections():
            self.assertIn(": replay: ", line)

    def test_a_second_lost_connection_fires_the_same_will_refused(self):
        # Paho sends the Will of the first CONNECT at every reconnect: the
        # broker fires that same envelope again, delivered once only.
        cutter = Cutter(self.broker.port)
        self.addCleanup(cutter.close)
        sub = self.start_sub("-t", "will/#", "-v")
        pub = self.start_pub(port=cutter.port)
        self.send(pub, b"one")
        self.wait_out(sub, b"will/data one\n")
        cutter.cut()
        self.wait_out(sub, b"will/status offline\n")
        pub.wait_stderr("reconnected")
        self.send(pub, b"two")
        self.wait_out(sub, b"will/data two\n")
        cutter.cut()
        self.assertIn("rejected will/status: replay:",
                      sub.wait_stderr(" rejected ")[0])
        pub.wait_stderr("reconnected", count=2)
        self.send(pub, b"three")
        self.wait_out(sub, b"will/data three\n")
        self.assertEqual(sub.out.count(b"offline"), 1)

    def test_a_replayed_will_is_refused_as_replay(self):
        raw = self.raw()
        raw.subscribe(W)
        sub = self.start_sub("-t", "will/#")
        pub = self.start_pub()
        self.send(pub, b"online")
        self.wait_out(sub, b"online\n")
        self.kill(pub)
        envelope = raw.next_message()[1]
        self.wait_out(sub, b"offline\n")
        raw.publish(W, envelope)
        self.assertIn(": replay:", sub.wait_stderr(" rejected ")[0])
        self.assertEqual(sub.out, b"online\noffline\n")

    def test_will_retain_and_qos_are_kept(self):
        pub = self.start_pub("--will-qos", "1", "--will-retain")
        self.kill(pub)
        # A later subscriber gets the Will retained, at its QoS, verified
        # (sealed with retained intent). It never saw this sender before:
        # timestamp 0 on first contact needs --accept-no-clock.
        sub = self.start_sub("-t", W, "-q", "2", "-C", "1", "-F", "%q %r %p",
                             "--accept-no-clock")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"1 1 offline\n")
        self.pub("-t", W, "-r", "-n", keyring=False)

    def test_mosquitto_sub_sees_only_an_envelope_on_the_will_topic(self):
        msub = Proc([MOSQUITTO_SUB, *self.conn(), "-t", W, "-C", "1",
                     "-F", "%x"])
        self.procs.append(msub)
        time.sleep(0.5)  # mosquitto_sub says nothing when subscribed
        self.kill(self.start_pub())
        self.assertEqual(msub.finish(), 0)
        hexed = msub.out.strip()
        self.assertTrue(hexed.startswith(b"fd"), hexed)
        self.assertNotIn(b"offline".hex().encode(), hexed)

    def signer(self):
        keygen("signer", "new", "-s", self.path("sk"), "-p", self.path("pk"),
               "--no-passphrase")
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk"), "--topics", "will/#")

    def test_signed_will_then_a_restart_of_the_signer_are_accepted(self):
        # The Will is above the run; the state file covers it, so that the
        # signer's next run starts above it (not refused as replay).
        self.signer()
        sub = self.start_sub("-t", "will/#", "-v", "--trust",
                             self.path("trust"), "--require-signature")
        state = ["--sign", self.path("sk"), "--state", self.path("epoch")]
        pub = self.start_pub(*state)
        self.send(pub, b"online")
        self.wait_out(sub, b"will/data online\n")
        self.kill(pub)
        self.wait_out(sub, b"will/status offline\n")
        self.pub("-t", "will/data", "-m", "back", *state, keyring=False)
        self.wait_out(sub, b"will/data back\n")
        self.assertEqual(sub.rejections(), [])

    def test_e2e_sub_will_is_taken_with_accept_no_clock(self):
        # e2e-sub's Will is its only message: a first contact with
        # timestamp 0, trust on first use.
        taker = self.start_sub("-t", W, "--accept-no-clock")
        strict = self.start_sub("-t", W)
        dying = self.start_sub("-t", "will/none", "--will-topic", W,
                               "--will-payload", "sub gone")
        self.kill(dying)
        self.wait_out(taker, b"sub gone\n")
        self.assertIn(": no-timestamp:", strict.wait_stderr(" rejected ")[0])

    def test_will_options_without_will_topic_are_refused(self):
        for opt in (["--will-payload", "x"], ["--will-qos", "1"],
                    ["--will-retain"]):
            for prog in (PUB, SUB):
                with self.subTest(prog=prog, opt=opt):
                    r = subprocess.run(
                        [prog, "-t", "a", "-m", "x", "-K", self.keyring,
                         *opt] if prog == PUB else
                        [prog, "-t", "a", "-K", self.keyring, *opt],
                        capture_output=True, timeout=BOUND)
                    self.assertEqual(r.returncode, 1)
                    self.assertIn(b"need --will-topic", r.stderr)

    def test_a_will_topic_filter_is_refused(self):
        r = subprocess.run([PUB, "-t", "a", "-m", "x", "-K", self.keyring,
                            "--will-topic", "a/+"], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"invalid will topic 'a/+'", r.stderr)


if __name__ == "__main__":
    unittest.main()
