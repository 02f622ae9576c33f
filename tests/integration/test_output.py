#!/usr/bin/python3 -B
"""e2e-sub's output cannot be forged by what it prints: one accepted
message is exactly one line, whatever its payload or topic holds.

The attacker is an authenticated but topic-restricted signer: its trust
entry allows it on sensors/test only, yet its payloads try to add a line
("alerts/fire EVACUATE", on a topic it may not use), clear the terminal
(ESC [ 2J), reorder the text (U+202E) or smuggle C1 controls (as UTF-8 and
as raw bytes). Through a real mosquitto, with the real e2e-pub and signer.
Topics with control characters are only ever sent by a hostile broker
(mosquitto refuses them): those tests use broker.ScriptedBroker.

The escape syntax (e2e-sub(1), OUTPUT) is spelt out here byte for byte:
\\\\ for a backslash, \\n \\r \\t, \\xHH for any other C0 control, DEL and
every byte that is not valid UTF-8, \\u{HHHH} for C1 controls, U+2028,
U+2029 and the bidi controls U+202A..U+202E, U+2066..U+2069.

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL.
"""

import json
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import ScriptedBroker  # noqa: E402
from test_cli import (BOUND, PUB, SUB, CliCase, Proc, keygen,  # noqa: E402
                      main)

# (payload as sealed, what e2e-sub must print for it)
PAYLOADS = [
    (b"ok\nalerts/fire EVACUATE", rb"ok\nalerts/fire EVACUATE"),
    (b"\x1b[2J\x1b]0;owned\x07 cleared", rb"\x1b[2J\x1b]0;owned\x07 cleared"),
    ("report\u202efdp.exe".encode(), rb"report\u{202e}fdp.exe"),
    ("\u202a\u202b\u202c\u202d \u2066\u2067\u2068\u2069".encode(),
     rb"\u{202a}\u{202b}\u{202c}\u{202d} \u{2066}\u{2067}\u{2068}\u{2069}"),
    ("line\u2028para\u2029".encode(), rb"line\u{2028}para\u{2029}"),
    (b"c1 \xc2\x9b2J \xc2\x85 \xc2\x80", rb"c1 \u{009b}2J \u{0085} \u{0080}"),
    (b"raw c1 \x9b2J \x85 \xff \xc2", rb"raw c1 \x9b2J \x85 \xff \xc2"),
    (b"cr\r tab\t del\x7f nul\x00 bel\x07",
     rb"cr\r tab\t del\x7f nul\x00 bel\x07"),
    (b"a backslash \\n is not a newline \\x41",
     rb"a backslash \\n is not a newline \\x41"),
    ("kept as is: é € 😀 \u00a0 \u200b".encode(),
     "kept as is: é € 😀 \u00a0 \u200b".encode()),
    # The edges of each range: ~ U+009F U+00A0, U+2027 U+2028,
    # U+202E U+202F, U+2065 U+2066, U+2069 U+206A.
    ("~\u009f\u00a0 \u2027\u2028 \u202e\u202f \u2065\u2066 "
     "\u2069\u206a".encode(),
     "~\\u{009f}\u00a0 \u2027\\u{2028} \\u{202e}\u202f \u2065\\u{2066} "
     "\\u{2069}\u206a".encode()),
    # Not UTF-8, byte by byte: overlong, surrogate, above U+10FFFF, cut.
    (b"\xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x80",
     rb"\xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xe2\x80"),
]

TOPIC = "sensors/test"


class ForgedLines(CliCase):
    """A signer allowed on sensors/test only, a subscriber of sensors/#
    and alerts/# that requires signatures."""

    def setUp(self):
        super().setUp()
        keygen("signer", "new", "-s", self.path("sk"), "-p", self.path("pk"),
               "--no-passphrase")
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk"), "--topics", TOPIC)

    def run_sub(self, *flags, topic=TOPIC):
        """Every payload of PAYLOADS, signed, through e2e-sub FLAGS;
        returns its stdout once it exited by itself (-C)."""
        sub = self.start_sub("-t", "sensors/#", "-t", "alerts/#", "-q", "1",
                             "--trust", self.path("trust"),
                             "--require-signature", "-C",
                             str(len(PAYLOADS)), *flags)
        for i, (payload, _) in enumerate(PAYLOADS):
            path = self.path("payload-%d" % i)
            with open(path, "wb") as f:
                f.write(payload)
            self.pub("-t", topic, "-q", "1", "-f", path, "--sign",
                     self.path("sk"))
        self.assertEqual(sub.finish(), 0, "\n".join(sub.err_lines))
        self.assertEqual(sub.rejections(), [])
        return sub.out

    def assertOneLineEach(self, out, prefix=b""):
        lines = out.split(b"\n")
        self.assertEqual(lines[-1], b"", "partial last line")
        self.assertEqual(lines[:-1],
                         [prefix + shown for _, shown in PAYLOADS])
        self.assertFalse(any(line.startswith(b"alerts/") for line in lines))

    def test_verbose_prints_one_escaped_line_per_message(self):
        self.assertOneLineEach(self.run_sub("-v"), TOPIC.encode() + b" ")

    def test_format_prints_one_escaped_line_per_message(self):
        out = self.run_sub("-F", "%t %p|%l")
        self.assertEqual(out, b"".join(
            b"%s %s|%d\n" % (TOPIC.encode(), shown, len(payload))
            for payload, shown in PAYLOADS))

    def test_payload_alone_is_escaped_too(self):
        self.assertOneLineEach(self.run_sub())

    def test_raw_output_prints_the_bytes_as_received(self):
        out = self.run_sub("-v", "--raw-output")
        self.assertEqual(out, b"".join(b"%s %s\n" % (TOPIC.encode(), payload)
                                       for payload, _ in PAYLOADS))

    def test_raw_output_with_format_prints_the_bytes_as_received(self):
        out = self.run_sub("-F", "%t|%p", "--raw-output")
        self.assertEqual(out, b"".join(b"%s|%s\n" % (TOPIC.encode(), payload)
                                       for payload, _ in PAYLOADS))

    def test_json_escapes_every_control_and_bidi_character(self):
        out = self.run_sub("--json")
        lines = out.split(b"\n")
        self.assertEqual(len(lines), len(PAYLOADS) + 1)
        unsafe = re.compile(rb"[\x00-\x1f\x7f]|\xc2[\x80-\x9f]|"
                            rb"\xe2\x80[\xa8-\xae]|\xe2\x81[\xa6-\xa9]")
        for line, (payload, _) in zip(lines, PAYLOADS):
            self.assertIsNone(unsafe.search(line), line)
            obj = json.loads(line)
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                self.assertEqual(obj["encoding"], "base64")
                continue
            self.assertEqual((obj["encoding"], obj["payload"]),
                             ("utf-8", text))

    def test_topic_with_a_bidi_override_is_escaped(self):
        # mosquitto passes U+202E in a topic name; a key holder may use it.
        topic = "sensors/\u202etxt.exe"
        sub = self.start_sub("-t", "sensors/#", "-C", "1", "-v")
        self.pub("-t", topic, "-m", "x")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, rb"sensors/\u{202e}txt.exe x" + b"\n")


class HostileBrokerTopics(CliCase):
    """Topics only a hostile broker sends (mosquitto refuses control
    characters in topic names): every topic e2e-sub prints, on stdout or
    stderr, is escaped."""

    RAW = "t/\n\x1b[2J\u202e\u0085"
    SHOWN = r"t/\n\x1b[2J\u{202e}\u{0085}"

    def envelope(self, topic, text):
        """A genuine envelope for topic, sealed by e2e-pub (delivered to a
        scripted broker, which keeps it)."""
        with ScriptedBroker() as sb:
            r = subprocess.run([PUB, "-h", sb.host, "-p", str(sb.port), "-t",
                                topic, "-q", "1", "-m", text, "-K",
                                self.keyring], capture_output=True,
                               timeout=BOUND)
            self.assertEqual(r.returncode, 0, r.stderr)
            return sb.next_published()[1]

    def sub_on(self, sb, *flags):
        p = Proc([SUB, "-h", sb.host, "-p", str(sb.port), "-t", "#", "-q",
                  "1", "-d", "-K", self.keyring, *flags])
        self.procs.append(p)
        sb.wait_subscribed()
        return p

    def test_rejection_line_escapes_the_topic(self):
        raw = self.RAW.encode() + b"\x9b\\"
        with ScriptedBroker() as sb:
            p = self.sub_on(sb)
            sb.publish(raw, b"plain text", qos=1, packet_id=1)
            line = p.wait_stderr(" rejected ")[0]
            p.stop()
        self.assertEqual(line.split(": not-e2e: ")[0],
                         "e2e-sub: rejected " + self.SHOWN + r"\x9b\\")

    def test_accepted_message_prints_its_topic_escaped(self):
        env = self.envelope(self.RAW, "x")
        with ScriptedBroker() as sb:
            p = self.sub_on(sb, "-v", "-C", "1")
            sb.publish(self.RAW, env, qos=1, packet_id=1)
            self.assertEqual(p.finish(), 0)
        self.assertEqual(p.out, self.SHOWN.encode() + b" x\n")

    def test_debug_line_of_a_dropped_duplicate_escapes_the_topic(self):
        env = self.envelope(self.RAW, "x")
        with ScriptedBroker() as sb:
            p = self.sub_on(sb, "-v")
            sb.publish(self.RAW, env, qos=1, packet_id=1)
            sb.publish(self.RAW, env, qos=1, packet_id=1, dup=True)
            line = p.wait_stderr("redelivered duplicate")[0]
            p.stop()
        self.assertTrue(line.startswith(
            "e2e-sub: dropped a redelivered duplicate on %s (seq "
            % self.SHOWN), line)
        self.assertEqual(p.out, self.SHOWN.encode() + b" x\n")


if __name__ == "__main__":
    main()
