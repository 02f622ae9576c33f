#!/usr/bin/python3 -B
"""e2e-pub and e2e-sub as a user runs them, through a real mosquitto.

Each class starts its own broker on a free loopback port (broker.py) and
stops it by PID. Key files come from the real e2e-keygen. Waits are bounded
(they end by themselves on failure); nothing here measures time.

Environment (make check exports it): top_builddir (the built tools),
MOSQUITTO, OPENSSL, PYTHON3.
"""

import base64
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import Broker, RawClient, ScriptedBroker  # noqa: E402

BUILD = os.environ.get("top_builddir") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
PUB = os.path.join(BUILD, "cli", "e2e-pub")
SUB = os.path.join(BUILD, "cli", "e2e-sub")
KEYGEN = os.path.join(BUILD, "cli", "e2e-keygen")
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"

BOUND = 15  # seconds: the longest any single wait may take before failing

REASONS = {"malformed", "not-e2e", "unknown-key", "disabled-key",
           "suite-mismatch", "unencrypted", "unsigned", "untrusted-signer",
           "replay", "too-old", "future", "no-timestamp", "not-retained",
           "stale-retained", "bad-tag", "bad-signature", "bad-topic"}


class Proc:
    """A running tool whose stdout and stderr are collected by threads, so
    a test can wait for a line without ever blocking forever."""

    def __init__(self, args, stdin=subprocess.DEVNULL, env=None, **popen):
        self.args = args
        self.p = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, env=env, **popen)
        self.out = b""
        self.err_lines = []
        self._cv = threading.Condition()
        self._threads = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_out(self):
        for chunk in iter(lambda: self.p.stdout.read1(65536), b""):
            with self._cv:
                self.out += chunk
                self._cv.notify_all()

    def _read_err(self):
        for line in iter(self.p.stderr.readline, b""):
            with self._cv:
                self.err_lines.append(line.decode(errors="replace").rstrip("\n"))
                self._cv.notify_all()

    def _wait(self, pred, what):
        deadline = time.monotonic() + BOUND
        with self._cv:
            while not pred():
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not pred()
                                 and not self._cv.wait(0.2) and not pred()):
                    raise AssertionError(
                        "%s: gave up waiting for %s\nstdout: %r\nstderr:\n%s"
                        % (os.path.basename(self.args[0]), what, self.out,
                           "\n".join(self.err_lines)))
                self._cv.wait(min(left, 0.2))

    def wait_stderr(self, text, count=1):
        """The first count stderr lines containing text (waits for them)."""
        def found():
            return [line for line in self.err_lines if text in line]
        self._wait(lambda: len(found()) >= count, repr(text))
        with self._cv:
            return found()[:count]

    def wait_lines(self, n):
        """The first n stdout lines, without their newlines."""
        self._wait(lambda: self.out.count(b"\n") >= n, "%d lines" % n)
        with self._cv:
            return self.out.split(b"\n")[:n]

    def rejections(self):
        with self._cv:
            return [line for line in self.err_lines if " rejected " in line]

    def finish(self):
        """Wait for the process to exit by itself; returns its status."""
        try:
            rc = self.p.wait(timeout=BOUND)
        except subprocess.TimeoutExpired:
            self.stop()
            raise AssertionError("%s did not exit\nstderr:\n%s" % (
                self.args[0], "\n".join(self.err_lines)))
        self._close()
        return rc

    def _close(self):
        for t in self._threads:
            t.join(BOUND)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def stop(self):
        """SIGTERM by PID and wait (SIGKILL as a last resort)."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=BOUND)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._close()
        return self.p.returncode


def keygen(*args, input=None):
    r = subprocess.run([KEYGEN, *args], input=input, capture_output=True,
                       timeout=BOUND)
    if r.returncode != 0:
        raise AssertionError("e2e-keygen %s failed: %s" % (
            " ".join(args), r.stderr.decode(errors="replace")))
    return r.stdout.decode().strip()


class CliCase(unittest.TestCase):
    """A broker for the class, a fresh directory and keys for each test."""

    broker_options = {}

    @classmethod
    def setUpClass(cls):
        cls.classdir = tempfile.mkdtemp(prefix="e2e-cli-")
        # Signed publishers keep their epoch there (never in $HOME).
        os.environ["XDG_STATE_HOME"] = os.path.join(cls.classdir, "state")
        cls.broker = Broker(os.path.join(cls.classdir, "broker"),
                            **cls.broker_options)
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.classdir, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="t-", dir=self.classdir)
        self.procs = []
        self.keyring = self.path("ring")
        keygen("keyring", "init", "-K", self.keyring)

    def tearDown(self):
        for p in self.procs:
            p.stop()

    def path(self, name):
        return os.path.join(self.dir, name)

    def conn(self):
        return ["-h", self.broker.host, "-p", str(self.broker.port)]

    def start_sub(self, *args, keyring=True, wait=True, env=None):
        """Start e2e-sub and wait until it is subscribed."""
        cmd = [SUB, *self.conn(), "-d", *args]
        if keyring:
            cmd += ["-K", self.keyring]
        p = Proc(cmd, env=env)
        self.procs.append(p)
        if wait:
            p.wait_stderr("connected and subscribed")
        return p

    def pub(self, *args, keyring=True, expect=0, input=None, env=None):
        cmd = [PUB, *self.conn(), *args]
        if keyring:
            cmd += ["-K", self.keyring]
        r = subprocess.run(cmd, input=input, capture_output=True,
                           timeout=BOUND, env=env)
        self.assertEqual(r.returncode, expect, "e2e-pub %s: %s" % (
            " ".join(args), r.stderr.decode(errors="replace")))
        return r

    def raw(self):
        r = RawClient(self.broker)
        self.addCleanup(r.close)
        return r

    def assertRejected(self, line, topic, reason):
        prefix = "e2e-sub: rejected %s: %s: " % (topic, reason)
        self.assertTrue(line.startswith(prefix),
                        "%r does not start with %r" % (line, prefix))
        self.assertGreater(len(line), len(prefix), "no detail")


class RoundTrip(CliCase):
    """Sealed by e2e-pub, opened by e2e-sub, through the broker."""

    def signer(self):
        keygen("signer", "new", "-s", self.path("sk"), "-p", self.path("pk"),
               "--no-passphrase")
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk"), "--topics", "rt/#")

    def test_round_trip_every_suite_signature_and_qos(self):
        for suite in ("aead", "mac"):
            for signed in (False, True):
                for qos in (0, 1, 2):
                    with self.subTest(suite=suite, signed=signed, qos=qos):
                        self.one_round_trip(suite, signed, qos)

    def one_round_trip(self, suite, signed, qos):
        ring = self.path("ring-" + suite)
        if not os.path.exists(ring):
            keygen("keyring", "init", "-K", ring, "--suite", suite)
        if not os.path.exists(self.path("trust")):
            self.signer()
        topic = "rt/%s/%d/%d" % (suite, signed, qos)
        extra_sub = ["--trust", self.path("trust")]
        extra_pub = ["--sign", self.path("sk")] if signed else []
        if signed:
            extra_sub.append("--require-signature")
        sub = self.start_sub("-t", topic, "-q", str(qos), "-C", "2", "-v",
                             "--json", "-K", ring, *extra_sub,
                             keyring=False)
        self.pub("-t", topic, "-q", str(qos), "-m", "hello", "-K", ring,
                 "--mode", suite, *extra_pub, keyring=False)
        self.pub("-t", topic, "-q", str(qos), "-m", "world", "-K", ring,
                 *extra_pub, keyring=False)
        self.assertEqual(sub.finish(), 0)
        objs = [json.loads(line) for line in sub.out.splitlines()]
        self.assertEqual([o["payload"] for o in objs], ["hello", "world"])
        for o in objs:
            self.assertEqual(o["suite"], suite)
            self.assertEqual(o["topic"], topic)
            self.assertEqual(o["qos"], qos)
            self.assertEqual(o["signer"] is not None, signed)
        self.assertEqual(sub.rejections(), [])

    def test_signature_only_needs_no_shared_key(self):
        self.signer()
        sub = self.start_sub("-t", "rt/sig", "-C", "1", "--trust",
                             self.path("trust"), keyring=False)
        self.pub("-t", "rt/sig", "-m", "signed only", "--sign",
                 self.path("sk"), keyring=False)
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"signed only\n")

    def test_passphrase_protected_signing_key(self):
        with open(self.path("pass"), "w") as f:
            f.write("correct horse\n")
        keygen("signer", "new", "-s", self.path("sk"), "-p", self.path("pk"),
               "--passphrase-file", self.path("pass"))
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk"), "--topics", "rt/pass")
        sub = self.start_sub("-t", "rt/pass", "-C", "2", "--trust",
                             self.path("trust"), "--require-signature")
        self.pub("-t", "rt/pass", "-m", "from file", "--sign",
                 self.path("sk"), "--sign-pass-file", self.path("pass"))
        env = dict(os.environ, E2E_SIGN_PASSPHRASE="correct horse")
        self.pub("-t", "rt/pass", "-m", "from env", "--sign",
                 self.path("sk"), env=env)
        env["E2E_SIGN_PASSPHRASE"] = "wrong"
        r = self.pub("-t", "rt/pass", "-m", "x", "--sign", self.path("sk"),
                     env=env, expect=1)
        self.assertIn(b"passphrase", r.stderr)
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"from file\nfrom env\n")

    def test_unsigned_refused_when_signature_required(self):
        self.signer()
        sub = self.start_sub("-t", "rt/req", "--trust", self.path("trust"),
                             "--require-signature", "-C", "1")
        self.pub("-t", "rt/req", "-m", "unsigned")
        self.pub("-t", "rt/req", "-m", "signed", "--sign", self.path("sk"))
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"signed\n")
        self.assertRejected(sub.rejections()[0], "rt/req", "unsigned")

    def test_signer_outside_its_topics_is_untrusted(self):
        self.signer()  # trusted on rt/# only
        sub = self.start_sub("-t", "other/#", "--trust", self.path("trust"))
        self.pub("-t", "other/x", "-m", "x", "--sign", self.path("sk"))
        self.assertRejected(sub.wait_stderr(" rejected ")[0], "other/x",
                            "untrusted-signer")

    def test_binary_payload_and_json_base64(self):
        data = bytes(range(256)) * 4
        with open(self.path("bin"), "wb") as f:
            f.write(data)
        sub = self.start_sub("-t", "rt/bin", "-C", "1", "--json")
        self.pub("-t", "rt/bin", "-f", self.path("bin"))
        self.assertEqual(sub.finish(), 0)
        obj = json.loads(sub.out)
        self.assertEqual(obj["encoding"], "base64")
        self.assertEqual(base64.b64decode(obj["payload"]), data)

    def test_json_escapes_text(self):
        text = 'quote " backslash \\ tab \t bell \x07 é 😀'
        sub = self.start_sub("-t", "rt/json", "-C", "1", "--json")
        self.pub("-t", "rt/json", "-m", text)
        self.assertEqual(sub.finish(), 0)
        obj = json.loads(sub.out)
        self.assertEqual(obj["payload"], text)
        self.assertEqual(obj["encoding"], "utf-8")
        for field in ("key_id", "sender", "sequence", "timestamp",
                      "retained"):
            self.assertIn(field, obj)

    def test_line_mode_publishes_each_line(self):
        sub = self.start_sub("-t", "rt/lines", "-C", "3")
        self.pub("-t", "rt/lines", "-l", "-q", "1", input=b"a\nb\nc\n")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"a\nb\nc\n")

    def test_line_mode_publishes_a_burst_in_order_each_line_once(self):
        # Far more lines than a run (64 sealed before any is handed to
        # Paho) and than the window (256), all in stdin at once, some
        # empty, the last without its newline: one message per line, in
        # the order of the lines (-C counts the empty ones, which e2e-sub
        # prints as nothing, as mosquitto_sub does).
        n = 2000
        lines = [b"" if i % 97 == 0 else b"line %d" % i for i in range(n)]
        sub = self.start_sub("-t", "rt/burst", "-q", "1", "-C", str(n))
        self.pub("-t", "rt/burst", "-l", "-q", "1",
                 input=b"\n".join(lines))
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"".join(x + b"\n" for x in lines if x))

    def test_stdin_whole_message(self):
        sub = self.start_sub("-t", "rt/s", "-C", "1")
        self.pub("-t", "rt/s", "-s", input=b"one\ntwo")
        self.assertEqual(sub.finish(), 0)
        # One message: its newline is escaped, e2e-sub prints one line.
        self.assertEqual(sub.out, b"one\\ntwo\n")

    def test_mqtt_v5_round_trip(self):
        sub = self.start_sub("-t", "rt/v5", "-C", "1", "-V", "mqttv5",
                             "-q", "1")
        self.pub("-t", "rt/v5", "-m", "five", "-V", "mqttv5", "-q", "1")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"five\n")

    def test_mode_mismatch_is_refused_before_publishing(self):
        r = self.pub("-t", "rt/mode", "-m", "x", "--mode", "mac", expect=1)
        self.assertIn(b"--mode mac", r.stderr)


class Rejections(CliCase):
    """Every attack ends in one stderr line with its reason, and genuine
    traffic before and after it still arrives."""

    def around(self, topic, attack):
        """Genuine "first", attack(raw, unseen, seen), genuine "second";
        returns the one rejection line. unseen is a genuine envelope for
        topic that the subscriber never received, seen the one of
        "first"."""
        raw = self.raw()
        raw.subscribe("rej/#")
        self.pub("-t", topic, "-m", "unseen")
        _, unseen, _ = raw.next_message()
        sub = self.start_sub("-t", "rej/#", "-v")
        self.pub("-t", topic, "-m", "first")
        _, seen, _ = raw.next_message()
        attack(raw, unseen, seen)
        self.pub("-t", topic, "-m", "second")
        self.assertEqual(sub.wait_lines(2), [
            ("%s first" % topic).encode(), ("%s second" % topic).encode()])
        lines = sub.wait_stderr(" rejected ")
        self.assertEqual(len(sub.rejections()), 1, sub.err_lines)
        return lines[0]

    def test_tampered_byte_is_bad_tag(self):
        def attack(raw, unseen, seen):
            bad = bytearray(unseen)
            bad[-5] ^= 0x01  # in the tag
            raw.publish("rej/a", bytes(bad))
        self.assertRejected(self.around("rej/a", attack), "rej/a", "bad-tag")

    def test_tampered_ciphertext_is_bad_tag(self):
        def attack(raw, unseen, seen):
            bad = bytearray(unseen)
            bad[35] ^= 0x80  # first payload byte
            raw.publish("rej/a", bytes(bad))
        self.assertRejected(self.around("rej/a", attack), "rej/a", "bad-tag")

    def test_moved_to_another_topic_is_bad_tag(self):
        line = self.around("rej/a", lambda raw, unseen, seen:
                           raw.publish("rej/b", unseen))
        self.assertRejected(line, "rej/b", "bad-tag")

    def test_replayed_envelope_is_replay(self):
        line = self.around("rej/a", lambda raw, unseen, seen:
                           raw.publish("rej/a", seen))
        self.assertRejected(line, "rej/a", "replay")

    def test_plaintext_is_not_e2e(self):
        line = self.around("rej/a", lambda raw, unseen, seen:
                           raw.publish("rej/a", b'{"t": 21.5}'))
        self.assertRejected(line, "rej/a", "not-e2e")

    def test_replay_says_already_seen_or_below_the_window(self):
        # The guard cannot tell one from the other once a sequence number
        # has left the window: the words must not claim it was seen.
        line = self.around("rej/a", lambda raw, unseen, seen:
                           raw.publish("rej/a", seen))
        self.assertIn(": replay: sequence number already seen or below the "
                      "window (", line)

    def test_one_mib_of_garbage_is_not_e2e(self):
        garbage = b"\x00" + os.urandom(1 << 20)
        line = self.around("rej/a", lambda raw, unseen, seen:
                           raw.publish("rej/a", garbage))
        self.assertRejected(line, "rej/a", "not-e2e")

    def test_one_mib_behind_a_genuine_header_is_bad_tag(self):
        line = self.around("rej/a", lambda raw, unseen, seen: raw.publish(
            "rej/a", unseen[:34] + os.urandom(1 << 20)))
        self.assertRejected(line, "rej/a", "bad-tag")

    def test_unknown_key_names_the_key(self):
        other = self.path("other-ring")
        key_id = keygen("keyring", "init", "-K", other).split()[-1]
        sub = self.start_sub("-t", "rej/k")
        self.pub("-t", "rej/k", "-m", "x", "-K", other, keyring=False)
        line = sub.wait_stderr(" rejected ")[0]
        self.assertRejected(line, "rej/k", "unknown-key")
        self.assertIn(key_id, line)


class Options(CliCase):
    """mosquitto's flags behave as in mosquitto_sub/mosquitto_pub."""

    def compare_with_mosquitto(self, *flags):
        """e2e-sub FLAGS on a sealed message prints what mosquitto_sub
        FLAGS prints for the same message in clear."""
        payload = "héllo wörld"
        sub = self.start_sub("-t", "opt/e2e", "-C", "1", *flags)
        ref = Proc([MOSQUITTO_SUB, *self.conn(), "-t", "opt/e2e", "-C",
                    "1", *flags])
        self.procs.append(ref)
        raw = self.raw()
        # mosquitto_sub says nothing when it is subscribed: send it the
        # message in clear until it has printed it and exited (-C 1).
        # e2e-sub refuses those as not-e2e, then gets the sealed one.
        for _ in range(BOUND * 10):
            if ref.p.poll() is not None:
                break
            raw.publish("opt/e2e", payload.encode(), qos=0)
            time.sleep(0.1)
        self.pub("-t", "opt/e2e", "-m", payload)
        self.assertEqual(ref.finish(), 0)
        self.assertEqual(sub.finish(), 0)
        return sub.out, ref.out

    def test_plain_output_matches_mosquitto_sub(self):
        ours, theirs = self.compare_with_mosquitto()
        self.assertEqual(ours, theirs)

    def test_verbose_output_matches_mosquitto_sub(self):
        ours, theirs = self.compare_with_mosquitto("-v")
        self.assertEqual(ours, theirs)

    def test_no_eol_matches_mosquitto_sub(self):
        ours, theirs = self.compare_with_mosquitto("-N")
        self.assertEqual(ours, theirs)

    def test_format_matches_mosquitto_sub(self):
        ours, theirs = self.compare_with_mosquitto(
            "-F", r"%t|%p|%l|%x|%X|%q|%r|%%\t.")
        self.assertEqual(ours, theirs)

    def test_format_time_fields(self):
        sub = self.start_sub("-t", "opt/t", "-C", "1", "-F", "%I %U")
        self.pub("-t", "opt/t", "-m", "x")
        self.assertEqual(sub.finish(), 0)
        iso, unix = sub.out.decode().split()
        self.assertRegex(iso, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")
        self.assertRegex(unix, r"^\d+\.\d{9}$")

    def test_count_exits_after_n_accepted(self):
        sub = self.start_sub("-t", "opt/c", "-C", "2")
        raw = self.raw()
        raw.publish("opt/c", b"not counted")
        self.pub("-t", "opt/c", "-m", "1")
        self.pub("-t", "opt/c", "-m", "2")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"1\n2\n")

    def test_pub_line_mode_stops_cleanly_on_sigint(self):
        sub = self.start_sub("-t", "opt/int", "-C", "1")
        pub = Proc([PUB, *self.conn(), "-t", "opt/int", "-l", "-q", "1",
                    "-K", self.keyring], stdin=subprocess.PIPE)
        self.procs.append(pub)
        pub.p.stdin.write(b"last words\n")
        pub.p.stdin.flush()
        self.assertEqual(sub.finish(), 0)
        pub.p.send_signal(signal.SIGINT)
        self.assertEqual(pub.finish(), 0, pub.err_lines)
        self.assertEqual(sub.out, b"last words\n")

    def test_timeout_exits_27(self):
        sub = self.start_sub("-t", "opt/w", "-W", "1")
        self.assertEqual(sub.finish(), 27)

    def test_several_topics(self):
        sub = self.start_sub("-t", "opt/x", "-t", "opt/y", "-C", "2", "-v")
        self.pub("-t", "opt/x", "-m", "1")
        self.pub("-t", "opt/z", "-m", "not subscribed")
        self.pub("-t", "opt/y", "-m", "2")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"opt/x 1\nopt/y 2\n")

    def test_help_exits_1_as_mosquittos_and_usage_error_exits_1(self):
        for tool in (PUB, SUB):
            r = subprocess.run([tool, "--help"], capture_output=True,
                               timeout=BOUND)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"-K, --keyring", r.stdout)
            r = subprocess.run([tool, "--no-such-option"],
                               capture_output=True, timeout=BOUND)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"--no-such-option", r.stderr)

    def usage_error(self, tool, *args):
        r = subprocess.run([tool, *args], capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.decode().splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        return lines[0]

    def test_long_options_are_never_abbreviated(self):
        # getopt_long took "--remove-retained" as --remove-retained-stale
        # (-R): e2e-sub ran, removed nothing, and exited 27 after -W.
        # (--remove-retained is now an option of its own.)
        self.assertEqual(
            self.usage_error(SUB, "--remove-retained-st", "-t", "opt/a",
                             "-K", self.keyring, "-W", "1"),
            "e2e-sub: unknown option --remove-retained-st (long options "
            "are not abbreviated: did you mean --remove-retained-stale? see "
            "--help)")
        self.assertIn("unknown option --keyr ",
                      self.usage_error(PUB, "--keyr", self.keyring, "-t",
                                       "opt/a", "-m", "x"))
        self.assertIn("unknown option --max-a=5 ",
                      self.usage_error(SUB, "--max-a=5", "-t", "opt/a",
                                       "-K", self.keyring))

    def test_an_option_of_the_other_tool_is_named_not_its_argument(self):
        self.assertEqual(self.usage_error(PUB, "-C", "3", "-t", "opt/a"),
                         "e2e-pub: option -C is not for e2e-pub "
                         "(see --help)")
        self.assertEqual(self.usage_error(PUB, "--count", "3", "-t", "a"),
                         "e2e-pub: option --count is not for e2e-pub "
                         "(see --help)")
        self.assertEqual(self.usage_error(SUB, "-m", "x", "-t", "opt/a"),
                         "e2e-sub: option -m is not for e2e-sub "
                         "(see --help)")

    def help_options(self, tool):
        """The long options TOOL --help lists, each with whether it takes
        an argument (not those it lists as refused, test_parity.py)."""
        out = subprocess.run([tool, "--help"], capture_output=True,
                             timeout=BOUND).stdout.decode()
        out = out.split("mosquitto's options refused")[0]
        found = re.findall(r"^  (?:-\w, )?--([a-z-]+)( \S+)?", out, re.M)
        return {name: bool(arg) for name, arg in found}

    def option_words(self, opt, takes_arg):
        return ["--%s=1" % opt] if takes_arg else ["--" + opt]

    def test_every_option_the_help_lists_is_taken(self):
        for tool in (PUB, SUB):
            options = self.help_options(tool)
            self.assertIn("keyring", options)
            for opt, takes_arg in options.items():
                if opt == "help":
                    continue
                r = subprocess.run([tool, *self.option_words(opt, takes_arg)],
                                   capture_output=True, timeout=BOUND)
                self.assertNotIn(b"unknown option", r.stderr, opt)
                self.assertNotIn(b"is not for", r.stderr, opt)

    def test_every_option_only_the_other_tool_lists_is_refused_by_name(self):
        pub, sub = self.help_options(PUB), self.help_options(SUB)
        for tool, mine, other in ((PUB, pub, sub), (SUB, sub, pub)):
            name = os.path.basename(tool)
            only_other = sorted(set(other) - set(mine))
            self.assertTrue(only_other)
            for opt in only_other:
                self.assertEqual(
                    self.usage_error(tool,
                                     *self.option_words(opt, other[opt])),
                    "%s: option --%s is not for %s (see --help)"
                    % (name, opt, name))

    def test_pub_refuses_a_filter_as_topic(self):
        r = self.pub("-t", "opt/#", "-m", "x", expect=1)
        self.assertIn(b"topic filter", r.stderr)

    def test_connection_refused_exits_1(self):
        r = subprocess.run([PUB, "-h", "127.0.0.1", "-p", "1", "-t", "a",
                            "-m", "x", "-K", self.keyring],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"cannot connect", r.stderr)


class Retained(CliCase):

    def test_retained_message_is_delivered_on_subscribe(self):
        self.pub("-t", "ret/a", "-m", "kept", "-r", "-q", "1")
        sub = self.start_sub("-t", "ret/a", "-C", "1", "-F", "%r %p")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"1 kept\n")

    def test_stale_retained_skipped_with_R(self):
        self.pub("-t", "ret/b", "-m", "old", "-r", "-q", "1")
        sub = self.start_sub("-t", "ret/b", "-C", "1", "-R")
        self.pub("-t", "ret/b", "-m", "new", "-q", "1")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"new\n")

    def test_retained_without_intent_is_refused(self):
        # The broker (or anyone) retains a message its sender did not mark
        # for retention.
        raw = self.raw()
        raw.subscribe("ret/c")
        self.pub("-t", "ret/c", "-m", "live only")
        _, env, _ = raw.next_message()
        raw.publish("ret/c", env, retain=True)
        sub = self.start_sub("-t", "ret/c", wait=False)
        self.assertRejected(sub.wait_stderr(" rejected ")[0], "ret/c",
                            "not-retained")

    def test_clearing_a_retained_message_needs_no_keys(self):
        # What -r -n sends is unsealed (MQTT wants an empty payload), so
        # no key is needed to send it.
        self.pub("-t", "ret/e", "-m", "x", "-r", "-q", "1")
        self.pub("-t", "ret/e", "-n", "-r", "-q", "1", keyring=False)
        sub = self.start_sub("-t", "ret/e", "-W", "1")
        self.assertEqual(sub.finish(), 27)
        self.assertEqual(sub.out, b"")

    def test_a_live_subscriber_takes_a_clear_quietly_and_never_delivers_it(self):
        # The broker forwards the empty clearing publication to live
        # subscribers: not a message, not a rejection, not counted by -C.
        self.pub("-t", "ret/f", "-m", "first", "-r", "-q", "1")
        sub = Proc([SUB, *self.conn(), "-t", "ret/f", "-K", self.keyring,
                    "-C", "2"])
        self.procs.append(sub)
        self.assertEqual(sub.wait_lines(1), [b"first"])
        self.pub("-t", "ret/f", "-n", "-r", "-q", "1", keyring=False)
        self.pub("-t", "ret/f", "-m", "second", "-q", "1")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"first\nsecond\n")
        self.assertEqual(sub.err_lines, [])

    def test_a_clear_is_shown_and_counted_with_d(self):
        sub = self.start_sub("-t", "ret/g", "-C", "1")
        self.pub("-t", "ret/g", "-n", "-r", "-q", "1", keyring=False)
        self.assertIn("e2e-sub: cleared retained message on ret/g "
                      "(empty payload, not delivered)",
                      sub.wait_stderr("cleared retained message"))
        self.pub("-t", "ret/g", "-m", "after", "-q", "1")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"after\n")
        self.assertTrue(sub.wait_stderr(", 1 retained clears"))

    def test_null_retained_clears(self):
        self.pub("-t", "ret/d", "-m", "x", "-r", "-q", "1")
        self.pub("-t", "ret/d", "-n", "-r", "-q", "1")
        sub = self.start_sub("-t", "ret/d", "-W", "1")
        self.assertEqual(sub.finish(), 27)
        self.assertEqual(sub.out, b"")


class Rotation(CliCase):
    """SIGHUP reloads keys without dropping the connection."""

    def test_sub_reload_accepts_the_new_key_and_refuses_a_disabled_one(self):
        pub_ring = self.path("pub-ring")
        shutil.copy(self.keyring, pub_ring)
        os.chmod(pub_ring, 0o600)
        old_ring = self.path("old-ring")
        shutil.copy(self.keyring, old_ring)
        os.chmod(old_ring, 0o600)
        old_id = keygen("keyring", "list", "-K", self.keyring).split()[0]
        sub = self.start_sub("-t", "rot/a", "-v")

        self.pub("-t", "rot/a", "-m", "old key", "-K", pub_ring,
                 keyring=False)
        new_id = keygen("keyring", "rotate", "-K", pub_ring).split()[-1]
        self.pub("-t", "rot/a", "-m", "new key early", "-K", pub_ring,
                 keyring=False)
        self.assertRejected(sub.wait_stderr(" rejected ")[0], "rot/a",
                            "unknown-key")

        shutil.copy(pub_ring, self.keyring)
        sub.p.send_signal(signal.SIGHUP)
        sub.wait_stderr("reloaded keys")
        self.pub("-t", "rot/a", "-m", "new key", "-K", pub_ring,
                 keyring=False)
        self.assertEqual(sub.wait_lines(2), [b"rot/a old key",
                                             b"rot/a new key"])

        keygen("keyring", "disable", "-K", self.keyring, old_id)
        sub.p.send_signal(signal.SIGHUP)
        sub.wait_stderr("reloaded keys", 2)
        self.pub("-t", "rot/a", "-m", "disabled", "-K", old_ring,
                 keyring=False)
        self.assertRejected(sub.wait_stderr(" rejected ", 2)[1], "rot/a",
                            "disabled-key")
        self.assertIn(old_id, sub.rejections()[1])
        self.assertNotIn(new_id, old_id)
        self.assertEqual(
            [line for line in sub.err_lines if "connection lost" in line], [])

    def test_sub_reload_of_the_trust_file_accepts_a_new_signer(self):
        keygen("signer", "new", "-s", self.path("sk"), "-p", self.path("pk"),
               "--no-passphrase")
        keygen("signer", "new", "-s", self.path("sk2"), "-p",
               self.path("pk2"), "--no-passphrase")
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk"), "--topics", "rot/t")
        sub = self.start_sub("-t", "rot/t", "--trust", self.path("trust"),
                             "--require-signature")
        self.pub("-t", "rot/t", "-m", "newcomer", "--sign", self.path("sk2"))
        self.assertRejected(sub.wait_stderr(" rejected ")[0], "rot/t",
                            "untrusted-signer")
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk2"), "--topics", "rot/t")
        sub.p.send_signal(signal.SIGHUP)
        sub.wait_stderr("2 trusted signers")
        self.pub("-t", "rot/t", "-m", "welcome", "--sign", self.path("sk2"))
        self.assertEqual(sub.wait_lines(1), [b"welcome"])

    def test_sub_keeps_its_keys_when_the_new_file_is_broken(self):
        good = self.path("good-ring")
        shutil.copy(self.keyring, good)
        os.chmod(good, 0o600)
        sub = self.start_sub("-t", "rot/b")
        with open(self.keyring, "a") as f:
            f.write("this line is not a key\n")
        sub.p.send_signal(signal.SIGHUP)
        sub.wait_stderr("keeping the previous keys")
        self.pub("-t", "rot/b", "-m", "still works", "-K", good,
                 keyring=False)
        self.assertEqual(sub.wait_lines(1), [b"still works"])

    def test_pub_reload_seals_with_the_new_primary(self):
        shutil.copy(self.keyring, self.path("sub-ring"))
        os.chmod(self.path("sub-ring"), 0o600)
        sub = self.start_sub("-t", "rot/p", "--json", keyring=False)
        pub = Proc([PUB, *self.conn(), "-t", "rot/p", "-l", "-K",
                    self.keyring], stdin=subprocess.PIPE)
        self.procs.append(pub)
        pub.p.stdin.write(b"before\n")
        pub.p.stdin.flush()
        sub.wait_lines(1)
        new_id = keygen("keyring", "rotate", "-K", self.keyring).split()[-1]
        shutil.copy(self.keyring, self.path("sub-ring"))
        sub.p.send_signal(signal.SIGHUP)
        sub.wait_stderr("reloaded keys")
        pub.p.send_signal(signal.SIGHUP)
        pub.wait_stderr("reloaded keyring")
        pub.p.stdin.write(b"after\n")
        pub.p.stdin.close()
        self.assertEqual(pub.finish(), 0)
        lines = [json.loads(x) for x in sub.wait_lines(2)]
        self.assertEqual([o["payload"] for o in lines], ["before", "after"])
        self.assertNotEqual(lines[0]["key_id"], new_id)
        self.assertEqual(lines[1]["key_id"], new_id)

    # The subscriber's keyring path is in the command line of start_sub.
    def start_sub(self, *args, keyring=True, **kw):
        if not keyring:
            args = (*args, "-K", self.path("sub-ring"))
        return super().start_sub(*args, keyring=keyring, **kw)


class State(CliCase):

    def test_sub_state_refuses_a_replay_after_restart(self):
        state = self.path("sub.state")
        raw = self.raw()
        raw.subscribe("st/a")
        sub = self.start_sub("-t", "st/a", "-C", "1", "--state", state)
        self.pub("-t", "st/a", "-m", "once")
        self.assertEqual(sub.finish(), 0)
        _, env, _ = raw.next_message()
        sub = self.start_sub("-t", "st/a", "--state", state)
        raw.publish("st/a", env)
        self.assertRejected(sub.wait_stderr(" rejected ")[0], "st/a",
                            "replay")

    def test_sub_state_refuses_a_rollback_of_the_retained_message(self):
        state = self.path("ret.state")
        raw = self.raw()
        raw.subscribe("st/r")
        # One publisher, two retained messages: sequence n, then n + 1.
        self.pub("-t", "st/r", "-l", "-r", "-q", "1", input=b"old\nnew\n")
        _, old, _ = raw.next_message()
        raw.next_message()
        sub = self.start_sub("-t", "st/r", "-C", "1", "--state", state)
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"new\n")
        raw.publish("st/r", old, retain=True)  # the broker rolls back
        sub = self.start_sub("-t", "st/r", "--state", state, wait=False)
        self.assertRejected(sub.wait_stderr(" rejected ")[0], "st/r",
                            "stale-retained")

    def test_corrupt_sub_state_is_an_error_at_start(self):
        state = self.path("bad.state")
        with open(state, "w") as f:
            f.write("this is not a state file\n")
        r = subprocess.run([SUB, *self.conn(), "-t", "x", "-K",
                            self.keyring, "--state", state],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"state file", r.stderr)

    def test_pub_state_sequence_grows(self):
        state = self.path("pub.state")
        sub = self.start_sub("-t", "st/e", "-C", "2", "--json")
        self.pub("-t", "st/e", "-m", "1", "--state", state)
        self.pub("-t", "st/e", "-m", "2", "--state", state)
        self.assertEqual(sub.finish(), 0)
        a, b = [json.loads(x) for x in sub.out.splitlines()]
        # Two starts within one second may share the epoch (the Unix
        # second): the sequence still grows (docs/ENVELOPE.md section 9).
        # (--json gives the 64-bit sequence as a string, exact in JSON.)
        self.assertGreater(int(b["sequence"]), int(a["sequence"]))
        with open(state) as f:  # a bound above the last sequence used
            self.assertEqual(f.read().split()[-1],
                             str(int(b["sequence"]) + 1))

    def test_corrupt_pub_state_is_an_error_at_start(self):
        state = self.path("bad-pub.state")
        with open(state, "w") as f:
            f.write("garbage\n")
        r = self.pub("-t", "st/x", "-m", "x", "--state", state, expect=1)
        self.assertIn(b"corrupt", r.stderr)


class Tls(CliCase):
    broker_options = {"tls": True}

    def tls(self, host="127.0.0.1"):
        return ["-h", host, "-p", str(self.broker.tls_port), "--cafile",
                self.broker.ca_cert]

    def test_round_trip_over_tls_with_hostname_check(self):
        sub = Proc([SUB, *self.tls(), "-t", "tls/a", "-C", "1", "-d", "-K",
                    self.keyring])
        self.procs.append(sub)
        sub.wait_stderr("connected and subscribed")
        r = subprocess.run([PUB, *self.tls(), "-t", "tls/a", "-m", "secret",
                            "-K", self.keyring], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"secret\n")

    def test_unknown_ca_is_refused_even_with_insecure(self):
        r = subprocess.run([PUB, "-h", "127.0.0.1", "-p",
                            str(self.broker.tls_port), "--cafile",
                            "/etc/ssl/certs/ca-certificates.crt",
                            "--insecure", "-t", "tls/d", "-m", "x", "-K",
                            self.keyring], capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)


class TlsHostnameMismatch(CliCase):
    # The certificate names 127.0.0.2; the listener is on 127.0.0.1.
    broker_options = {"tls": True, "cert_ip": "127.0.0.2"}

    def tls(self):
        return ["-h", "127.0.0.1", "-p", str(self.broker.tls_port),
                "--cafile", self.broker.ca_cert]

    def test_hostname_mismatch_is_refused(self):
        r = subprocess.run([PUB, *self.tls(), "-t", "tls/b", "-m", "x",
                            "-K", self.keyring],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"cannot connect", r.stderr)

    def test_insecure_skips_only_the_hostname_check(self):
        r = subprocess.run([PUB, *self.tls(), "--insecure", "-t", "tls/c",
                            "-m", "x", "-K", self.keyring],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)


class ClientCertificate(CliCase):
    broker_options = {"tls": True, "require_certificate": True}

    def args(self):
        return ["-h", "127.0.0.1", "-p", str(self.broker.tls_port),
                "--cafile", self.broker.ca_cert, "-t", "cc/a", "-m", "x",
                "-K", self.keyring]

    def test_client_certificate_is_presented(self):
        r = subprocess.run([PUB, *self.args(), "--cert",
                            self.broker.client_cert, "--key",
                            self.broker.client_key], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_without_client_certificate_is_refused(self):
        r = subprocess.run([PUB, *self.args()], capture_output=True,
                           timeout=BOUND)
        self.assertEqual(r.returncode, 1)


class PasswordAndAcl(CliCase):
    broker_options = {
        "users": {"alice": "alice-pw", "bob": "bob-pw"},
        "acl": "user alice\ntopic readwrite acl/#\n"
               "user bob\ntopic read acl/#\n",
    }

    def auth(self, user, pw):
        return ["-u", user, "-P", pw]

    def test_password_and_acl_allow_the_round_trip(self):
        sub = self.start_sub("-t", "acl/a", "-C", "1", *self.auth("bob",
                                                                  "bob-pw"))
        with open(self.path("pw"), "w") as f:
            f.write("alice-pw\n")
        self.pub("-t", "acl/a", "-m", "allowed", "-u", "alice",
                 "--pw-file", self.path("pw"))
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"allowed\n")

    def test_password_argument_is_hidden_from_ps(self):
        sub = self.start_sub("-t", "acl/ps", *self.auth("bob", "bob-pw"))
        with open("/proc/%d/cmdline" % sub.p.pid, "rb") as f:
            cmdline = f.read()
        self.assertIn(b"acl/ps", cmdline)
        self.assertNotIn(b"bob-pw", cmdline)

    def test_password_from_the_environment(self):
        env = dict(os.environ, E2E_MQTT_PASSWORD="alice-pw")
        self.pub("-t", "acl/env", "-m", "x", "-u", "alice", env=env)

    def test_wrong_password_is_refused(self):
        # mosquitto refuses it with CONNACK 5, which e2e-pub exits with.
        r = self.pub("-t", "acl/a", "-m", "x", *self.auth("alice", "nope"),
                     expect=5)
        self.assertIn(b"cannot connect", r.stderr)
        self.assertNotIn(b"nope", r.stderr)

    def refusal(self, tool, *args):
        """Exit status and the 'Connection error' words of a refused
        CONNECT, from TOOL (ours or mosquitto's) with wrong credentials."""
        cmd = [tool, *self.conn(), "-t", "acl/r", *self.auth("alice", "nope"),
               *args]
        if tool in (PUB, SUB):
            cmd += ["-K", self.keyring]
        if tool in (PUB, MOSQUITTO_PUB):
            cmd += ["-m", "x"]
        r = subprocess.run(cmd, capture_output=True, timeout=BOUND)
        return r.returncode, r.stderr.decode()

    def assertRefusedAsMosquittoDoes(self, ours, theirs, *args):
        code, err = self.refusal(ours, *args)
        want_code, want_err = self.refusal(theirs, *args)
        self.assertGreater(want_code, 1, want_err)
        self.assertEqual(code, want_code, err)
        words = re.search(r"Connection error: (.*)", want_err).group(1)
        self.assertIn(": %s (" % words, err)
        self.assertNotIn("nope", err)

    def test_refused_connect_exits_with_mosquittos_code_and_words(self):
        self.assertRefusedAsMosquittoDoes(PUB, MOSQUITTO_PUB)
        self.assertRefusedAsMosquittoDoes(SUB, MOSQUITTO_SUB)

    def test_refused_connect_with_mqtt_v5_exits_with_the_reason_code(self):
        self.assertRefusedAsMosquittoDoes(PUB, MOSQUITTO_PUB, "-V", "mqttv5")
        self.assertRefusedAsMosquittoDoes(SUB, MOSQUITTO_SUB, "-V", "mqttv5")

    def test_denied_publish_is_reported_with_mqtt_v5(self):
        r = self.pub("-t", "acl/a", "-m", "x", "-q", "1", "-V", "mqttv5",
                     *self.auth("bob", "bob-pw"), expect=1)
        self.assertIn(b"refused", r.stderr)


class BrokerRestart(CliCase):
    broker_options = {"persistence": True}

    def test_qos1_stream_survives_a_broker_restart(self):
        n = 60
        sub = self.start_sub("-t", "rs/a", "-q", "1", "-c", "-i",
                             "rs-sub", "-C", str(n))
        pub = Proc([PUB, *self.conn(), "-t", "rs/a", "-l", "-q", "1", "-c",
                    "-i", "rs-pub", "-K", self.keyring],
                   stdin=subprocess.PIPE)
        self.procs.append(pub)
        for i in range(n):
            pub.p.stdin.write(b"m%d\n" % i)
            pub.p.stdin.flush()
            if i == n // 3:
                sub.wait_lines(i)
                self.broker.stop()
            if i == 2 * n // 3:
                self.broker.start()
        pub.p.stdin.close()
        self.assertEqual(pub.finish(), 0, pub.err_lines)
        self.assertEqual(sub.finish(), 0)
        got = sub.out.split(b"\n")[:-1]
        self.assertEqual(sorted(got), sorted(b"m%d" % i for i in range(n)))
        # A copy sent again after the broker had the first one is refused
        # as a replay (at least once); nothing else may be refused.
        for line in sub.rejections():
            self.assertIn(": replay: ", line)

    def test_clean_session_publisher_resends_what_a_disconnection_lost(self):
        n = 300
        sub = self.start_sub("-t", "rs/c", "-q", "1", "-c", "-i",
                             "rs-sub-c", "-C", str(n))
        pub = Proc([PUB, *self.conn(), "-t", "rs/c", "-l", "-q", "1", "-d",
                    "-K", self.keyring], stdin=subprocess.PIPE)
        self.procs.append(pub)
        pub.wait_stderr("connected")
        for i in range(n):
            pub.p.stdin.write(b"m%d\n" % i)
            pub.p.stdin.flush()
            if i == n // 3:
                sub.wait_lines(n // 6)
                self.broker.stop()
            if i == 2 * n // 3:
                self.broker.start()
        pub.p.stdin.close()
        self.assertEqual(pub.finish(), 0, pub.err_lines)
        self.assertEqual(sub.finish(), 0)
        got = sub.out.split(b"\n")[:-1]
        self.assertEqual(sorted(got), sorted(b"m%d" % i for i in range(n)))
        # A copy the broker had after all is refused, never printed twice.
        for line in sub.rejections():
            self.assertIn(": replay: ", line)

    def test_clean_session_subscriber_resubscribes_after_reconnect(self):
        sub = self.start_sub("-t", "rs/b", "-C", "2")
        self.pub("-t", "rs/b", "-m", "before")
        sub.wait_lines(1)
        self.broker.restart()
        sub.wait_stderr("subscribed again after reconnecting")
        self.pub("-t", "rs/b", "-m", "after")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"before\nafter\n")


class MisbehavingBroker(CliCase):
    """What mosquitto never does but a broker may: send a message twice."""

    def envelope(self, topic, text):
        raw = self.raw()
        raw.subscribe(topic)
        self.pub("-t", topic, "-m", text)
        return raw.next_message()[1]

    def run_against(self, sends):
        """e2e-sub on a scripted broker that sends sends (a list of
        publish() keyword arguments), then a genuine "last"."""
        last = self.envelope("dup/a", "last")
        with ScriptedBroker() as sb:
            p = Proc([SUB, "-h", sb.host, "-p", str(sb.port), "-t", "dup/#",
                      "-q", "1", "-d", "-K", self.keyring])
            self.procs.append(p)
            sb.wait_subscribed()
            for kw in sends:
                sb.publish("dup/a", **kw)
            sb.publish("dup/a", last, qos=1, packet_id=99)
            lines = p.wait_lines(2)
            p.stop()
        return p, lines

    def test_dup_redelivery_is_printed_once_and_dropped_silently(self):
        env = self.envelope("dup/a", "once")
        p, lines = self.run_against([
            dict(payload=env, qos=1, packet_id=1),
            dict(payload=env, qos=1, packet_id=1, dup=True)])
        self.assertEqual(lines, [b"once", b"last"])
        self.assertEqual(p.rejections(), [])
        self.assertIn("1 redelivered duplicates dropped", p.err_lines[-1])

    def test_refused_subscription_is_reported(self):
        # mosquitto's acl_file grants every subscription and withholds the
        # messages; a broker that refuses (SUBACK 0x80) gets a clear error.
        with ScriptedBroker(granted_qos=0x80) as sb:
            p = Proc([SUB, "-h", sb.host, "-p", str(sb.port), "-t", "x/#",
                      "-K", self.keyring])
            self.procs.append(p)
            self.assertEqual(p.finish(), 1)
        self.assertTrue(any("subscription refused" in line
                            for line in p.err_lines), p.err_lines)

    def test_subscription_refused_by_a_disconnect_shows_its_reason(self):
        # ejabberd refuses a shared subscription by DISCONNECT with reason
        # 158: the line must say so, not "refused by the broker".
        with ScriptedBroker(disconnect_on_subscribe=158) as sb:
            p = Proc([SUB, "-h", sb.host, "-p", str(sb.port), "-V", "mqttv5",
                      "-t", "$share/g/x", "-K", self.keyring])
            self.procs.append(p)
            self.assertEqual(p.finish(), 1)
        self.assertIn("e2e-sub: subscription refused: the broker "
                      "disconnected: Shared Subscriptions not supported "
                      "(reason code 158)", p.err_lines)

    def test_replay_without_dup_flag_is_reported(self):
        env = self.envelope("dup/a", "once")
        p, lines = self.run_against([
            dict(payload=env, qos=1, packet_id=1),
            dict(payload=env, qos=1, packet_id=2)])
        self.assertEqual(lines, [b"once", b"last"])
        self.assertRejected(p.rejections()[0], "dup/a", "replay")


def main():
    for tool in (PUB, SUB, KEYGEN):
        if not os.access(tool, os.X_OK):
            strict = os.environ.get("LIBE2E_TEST_STRICT") == "1"
            print("%s: %s not built (Paho MQTT C missing?)" % (
                "FAIL" if strict else "SKIP", tool))
            sys.exit(1 if strict else 77)
    unittest.main(verbosity=2)


if __name__ == "__main__":
    py = os.environ.get("PYTHON3")
    if py and os.path.realpath(py) != os.path.realpath(sys.executable) \
            and not os.environ.get("E2E_TEST_REEXEC"):
        os.environ["E2E_TEST_REEXEC"] = "1"
        os.execv(py, [py, "-B", *sys.argv])
    main()
