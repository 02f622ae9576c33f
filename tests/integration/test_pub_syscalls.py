#!/usr/bin/python3 -B
"""e2e-pub's publish path costs no system call per message beyond Paho's
own write (issue 15): an acknowledgement wakes the main thread only when
it waits for room, never with a signal (tgkill) per message, and -l reads
stdin in large chunks. Counted with strace -f -c on the real program.

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL.
"""

import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_cli import BOUND, PUB, CliCase, main  # noqa: E402

N = 2000
TOPIC = "pub/syscalls"
# 40 bytes a line: 80 000 bytes in all, 20 reads of 4 KiB.
LINES = b"".join(b"%039d\n" % i for i in range(N))


class PubSyscalls(CliCase):

    def traced(self, qos):
        """(reads of stdin, tgkill calls) of e2e-pub -l publishing LINES
        at qos to a subscriber that gets them all."""
        log = self.path("strace.log")
        libtool = os.path.join(os.environ["top_builddir"], "libtool")
        cmd = [libtool, "--mode=execute", "strace", "-f", "-qq", "-e",
               "trace=read,tgkill", "-s", "0", "-o", log, PUB, *self.conn(),
               "-K", self.keyring, "-t", TOPIC, "-q", str(qos), "-l"]
        sub = self.start_sub("-t", TOPIC, "-q", str(qos), "-C", str(N))
        r = subprocess.run(cmd, input=LINES, capture_output=True,
                           timeout=BOUND * 4)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        self.assertEqual(sub.finish(), 0, "\n".join(sub.err_lines))
        with open(log) as f:
            text = f.read()
        return text.count(" read(0,"), text.count(" tgkill(")

    def test_acknowledgements_send_no_signal_per_message(self):
        _, signals = self.traced(1)
        self.assertLess(signals, N // 20)

    def test_lines_are_read_in_large_chunks(self):
        reads, _ = self.traced(0)
        self.assertGreater(reads, 0, "no read of stdin traced")
        self.assertLessEqual(reads, 10)


if __name__ == "__main__":
    main()
