#!/usr/bin/python3 -B
"""How e2e-sub writes accepted messages to stdout (e2e-sub(1), OUTPUT):
into a pipe or a file, buffered and written out as soon as no message is
waiting, each write(2) ending at the end of a message; with
--line-buffered, or when stdout is a terminal, each message at once, one
write per message. The writes are counted with strace (the system calls
are the behaviour: the bytes are the same either way).

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL.
"""

import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_cli import BOUND, SUB, CliCase, Proc, main  # noqa: E402

N = 300
TOPIC = "out/stdout"
LINES = b"".join(b"msg-%04d\n" % i for i in range(N))
# strace -s 65536: the string of a write to fd 1 (its first 64 KiB, then
# "..."), and its length.
WRITE = re.compile(r'write\(1, "(.*)"(?:\.\.\.)?, (\d+)')


def end_traced(strace):
    """SIGTERM to the traced e2e-sub, by PID (strace, given SIGTERM itself,
    would detach and leave it running)."""
    try:
        with open("/proc/%d/task/%d/children" % (strace.pid, strace.pid)) as f:
            pids = [int(c) for c in f.read().split()]
    except OSError:
        pids = []
    for pid in pids:
        os.kill(pid, signal.SIGTERM)


class SubStdout(CliCase):

    def strace_argv(self, *flags):
        """e2e-sub under strace (writes only, one log)."""
        self.log = self.path("strace.log")
        # libtool runs strace on the real program, not on its wrapper
        # script (which writes to stdout itself).
        libtool = os.path.join(os.environ["top_builddir"], "libtool")
        return [libtool, "--mode=execute", "strace", "-f", "-qq", "-e", "trace=write", "-s", "65536",
                "-o", self.log, SUB, *self.conn(), "-d", "-K", self.keyring,
                "-t", TOPIC, "-q", "1", *flags]

    def strace_sub(self, *flags):
        """e2e-sub under strace, its stdout a pipe, subscribed."""
        p = Proc(self.strace_argv(*flags))
        self.procs.append(p)
        p.wait_stderr("connected and subscribed")
        return p

    def publish_all(self):
        self.pub("-t", TOPIC, "-q", "1", "-l", input=LINES)

    def writes(self, proc):
        """The writes to fd 1, as (string as strace shows it, length),
        once e2e-sub has ended (its log is then complete)."""
        end_traced(proc.p)
        proc.finish()
        with open(self.log) as f:
            return [(m.group(1), int(m.group(2)))
                    for m in map(WRITE.search, f) if m]

    def test_pipe_gets_every_message_while_it_runs_in_whole_lines(self):
        sub = self.strace_sub()
        self.publish_all()
        # Written out while e2e-sub runs on (no -C, no exit): idle flush.
        self.assertEqual(sub.wait_lines(N), LINES.split(b"\n")[:N])
        writes = self.writes(sub)
        self.assertEqual(sum(n for _, n in writes), len(LINES))
        self.assertTrue(all(s.endswith("\\n") for s, _ in writes),
                        "a write ends inside a message: %r" % writes)
        self.assertLess(len(writes), N // 2,
                        "stdout written message by message")

    def writes_around(self, middle):
        """"before", middle (from a file) and "after" through a traced
        e2e-sub: its writes to stdout, once all three were printed."""
        sub = self.strace_sub()
        path = self.path("middle")
        with open(path, "wb") as f:
            f.write(middle)
        self.pub("-t", TOPIC, "-q", "1", "-m", "before")
        self.pub("-t", TOPIC, "-q", "1", "-f", path)
        self.pub("-t", TOPIC, "-q", "1", "-m", "after")
        self.assertEqual(sub.wait_lines(3), [b"before", middle, b"after"])
        writes = self.writes(sub)
        self.assertEqual(sum(n for _, n in writes), len(middle) + 14)
        return writes

    def test_message_larger_than_the_buffer_is_written_whole_at_once(self):
        writes = self.writes_around(b"b" * 100000)
        # Pieces of the big one may be written back to back, but no write
        # holds the end of one message and the start of the next.
        self.assertTrue(all(s.endswith("\\n") or set(s) == {"b"}
                            for s, _ in writes), writes)
        self.assertEqual(writes[-1][0], "after\\n")

    def test_message_that_fits_the_buffer_is_never_split(self):
        # 10 000 bytes: more than a stdio buffer glibc would pick itself
        # (4 KiB), less than e2e-sub's 64 KiB: one message, one piece.
        writes = self.writes_around(b"m" * 10000)
        self.assertTrue(all(s.endswith("\\n") for s, _ in writes),
                        "a write ends inside a message: %r"
                        % [(s[:20], n) for s, n in writes])

    def test_backlog_waiting_at_connection_is_printed_whole_in_order(self):
        # A persistent session's backlog comes right behind the CONNACK,
        # while e2e-sub's main thread still waits for the connection: more
        # messages than e2e-sub queues for its main thread (sub_ring.h's
        # 512) must not stall it (they are judged as they come until its
        # main loop runs).
        n = 2000
        lines = b"".join(b"backlog-%05d\n" % i for i in range(n))
        session = ["-t", TOPIC, "-q", "1", "-c", "-i", "e2e-backlog"]
        self.start_sub(*session).stop()
        self.pub("-t", TOPIC, "-q", "1", "-l", input=lines)
        sub = self.start_sub(*session, "-C", str(n), wait=False)
        self.assertEqual(sub.wait_lines(n), lines.split(b"\n")[:n])
        self.assertEqual(sub.finish(), 0)

    def test_line_buffered_writes_each_message_at_once(self):
        sub = self.strace_sub("--line-buffered")
        self.publish_all()
        self.assertEqual(sub.wait_lines(N), LINES.split(b"\n")[:N])
        writes = self.writes(sub)
        self.assertEqual([s for s, _ in writes],
                         ["msg-%04d\\n" % i for i in range(N)])

    def test_terminal_gets_each_message_at_once(self):
        master, slave = pty.openpty()
        self.addCleanup(os.close, master)
        p = subprocess.Popen(self.strace_argv(), stdin=subprocess.DEVNULL,
                             stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        shown, err = bytearray(), []

        def read(fd, into):
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                into.extend(chunk)

        threads = [threading.Thread(target=read, args=(master, shown)),
                   threading.Thread(target=read, args=(p.stderr.fileno(),
                                                       err := bytearray()))]
        for t in threads:
            t.daemon = True
            t.start()
        try:
            self.wait_for(lambda: b"connected and subscribed" in err, err)
            self.publish_all()
            # The terminal turns \n into \r\n.
            self.wait_for(lambda: shown.count(b"\n") >= N, shown)
        finally:
            end_traced(p)
            p.wait(timeout=BOUND)
            for t in threads:
                t.join(BOUND)
            p.stderr.close()
        with open(self.log) as f:
            writes = [m.group(1) for m in map(WRITE.search, f) if m]
        self.assertEqual(writes, ["msg-%04d\\n" % i for i in range(N)])

    def wait_for(self, pred, what):
        deadline = time.monotonic() + BOUND
        while not pred():
            self.assertLess(time.monotonic(), deadline,
                            "gave up waiting: %r" % bytes(what[-500:]))
            time.sleep(0.05)


if __name__ == "__main__":
    main()
