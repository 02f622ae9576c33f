#!/usr/bin/python3 -B
"""Local hygiene of the tools (issue 11, item 8): what another local user or
a core dump can learn from a running e2e-pub, e2e-sub or e2e-keygen, and
the one passphrase prompt and reader they share (cli/passphrase.c).

Through a real mosquitto on loopback (test_cli.CliCase), real processes,
and a pseudo-terminal as the controlling terminal where a prompt is
tested. Waits are bounded. Environment: as test_cli.py.
"""

import fcntl
import os
import re
import resource
import select
import signal
import subprocess
import sys
import termios
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from test_cli import (BOUND, KEYGEN, PUB, SUB, CliCase, Proc,  # noqa: E402
                      keygen, main)

STRICT = os.environ.get("LIBE2E_TEST_STRICT") == "1"
LIMIT = 1024  # bytes of a passphrase or password (cli/passphrase.h)


def allow_core_dumps():
    """preexec_fn: raise RLIMIT_CORE so that only the tool itself can
    prevent its core dump."""
    _, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))


def read_proc(pid, name):
    with open("/proc/%d/%s" % (pid, name), "rb") as f:
        return f.read()


class HygieneCase(CliCase):
    def skip_or_fail(self, reason):
        if STRICT:
            self.fail("prerequisite missing (LIBE2E_TEST_STRICT=1): " + reason)
        self.skipTest(reason)

    def passfile(self, name, text):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o600)
        return p

    def encrypted_signer(self, passphrase, topics="hy/#"):
        """A signing key protected by passphrase, trusted on topics."""
        pw = self.passfile("keygen-pw", passphrase + "\n")
        keygen("signer", "new", "-s", self.path("sk"), "-p", self.path("pk"),
               "--passphrase-file", pw)
        keygen("trust", "add", "--trust", self.path("trust"), "-p",
               self.path("pk"), "--topics", topics)
        return self.path("sk")

    def signed_sub(self, topic, *args):
        return self.start_sub("-t", topic, "-C", "1", "--trust",
                              self.path("trust"), "--require-signature",
                              *args)

    def pub_paused_broker(self, args, env=None):
        """Start e2e-pub (-d) while the broker is stopped (SIGSTOP, by its
        PID): the TCP connection is accepted by the kernel, CONNACK waits,
        so e2e-pub stays alive with its options parsed. Returns the Proc;
        the broker is continued by resume()."""
        os.kill(self.broker.proc.pid, signal.SIGSTOP)
        self.addCleanup(self.resume)
        p = Proc([PUB, *self.conn(), "-d", *args], env=env)
        self.procs.append(p)
        p.wait_stderr("connecting to")
        return p

    def resume(self):
        if self.broker.proc is not None:
            os.kill(self.broker.proc.pid, signal.SIGCONT)


FREE_SCAN = os.path.join(os.environ.get("top_builddir") or os.path.join(
    HERE, "..", ".."), "tests", "integration", ".libs", "libfreescan.so")
MARKER = "clear-7b1e-marker"  # in every clear message, nowhere else


class ClearMessagesWiped(HygieneCase):
    """A clear message's bytes never go back to the heap unwiped: the
    tools run with a heap (tests/integration/free_scan.c) that reports
    every block still holding the marker when it is freed or moved by
    realloc, as the next allocation could read it."""

    def setUp(self):
        super().setUp()
        if not os.path.exists(FREE_SCAN):
            self.skip_or_fail("%s is not built" % FREE_SCAN)
        self.report = self.path("freed-with-marker")
        self.env = dict(os.environ, LD_PRELOAD=FREE_SCAN,
                        E2E_TEST_MARKER_HEX=MARKER.encode().hex(), E2E_TEST_REPORT=self.report)

    def assert_no_block_held_the_marker(self):
        found = ""
        if os.path.exists(self.report):
            with open(self.report) as f:
                found = f.read()
        self.assertEqual(found.count("\n"), 0, found)

    def test_the_heap_reports_a_freed_block_that_held_the_marker(self):
        # The check itself: a program that frees a clear copy is caught.
        r = subprocess.run(
            [sys.executable, "-c",
             "import sys; b = bytearray(sys.argv[1].encode() * 200); "
             "b.extend(b'x' * 100000); del b", MARKER],
            env=self.env, timeout=BOUND)
        self.assertEqual(r.returncode, 0)
        with open(self.report) as f:
            self.assertGreater(f.read().count("\n"), 0)

    def test_pub_lines_longer_than_its_read_buffer(self):
        # -l: the stdin buffer (64 KiB) grows for a line longer than it.
        sub = self.start_sub("-t", "hy/wipe", "-C", "3", "-q", "1")
        lines = [MARKER + "-short", MARKER * 5000, MARKER + "-last"]
        self.pub("-t", "hy/wipe", "-q", "1", "-l",
                 input="\n".join(lines).encode() + b"\n", env=self.env)
        self.assertEqual(sub.wait_lines(3), [x.encode() for x in lines])
        self.assertEqual(sub.finish(), 0)
        self.assert_no_block_held_the_marker()

    def test_pub_message_read_whole_from_stdin(self):
        # -s: the message buffer grows from 4 KiB as stdin is read.
        sub = self.start_sub("-t", "hy/wipe", "-C", "1", "-q", "1")
        message = (MARKER * 3000).encode()
        self.pub("-t", "hy/wipe", "-q", "1", "-s", input=message,
                 env=self.env)
        self.assertEqual(sub.wait_lines(1), [message])
        self.assertEqual(sub.finish(), 0)
        self.assert_no_block_held_the_marker()

    def test_sub_opened_messages(self):
        sub = self.start_sub("-t", "hy/wipe", "-C", "2", "-q", "1",
                             env=self.env)
        lines = [MARKER + "-one", MARKER * 3000]
        self.pub("-t", "hy/wipe", "-q", "1", "-l",
                 input="\n".join(lines).encode() + b"\n")
        self.assertEqual(sub.wait_lines(2), [x.encode() for x in lines])
        self.assertEqual(sub.finish(), 0)
        self.assert_no_block_held_the_marker()


class SecretsInProc(HygieneCase):
    """What /proc/PID shows other processes while the tool runs."""

    def test_message_argument_is_wiped_from_the_command_line(self):
        sub = self.start_sub("-t", "hy/m", "-C", "1")
        secret = "launch-code-7731"
        pub = self.pub_paused_broker(["-t", "hy/m", "-q", "1", "-m", secret,
                                      "-K", self.keyring])
        cmdline = read_proc(pub.p.pid, "cmdline")
        self.assertIn(b"hy/m", cmdline)
        self.assertNotIn(secret.encode(), cmdline)
        self.resume()
        self.assertEqual(pub.finish(), 0, "\n".join(pub.err_lines))
        # The wiped argument was copied first: the message is intact.
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, secret.encode() + b"\n")

    def test_help_says_which_sources_keep_the_message_out_of_argv(self):
        r = subprocess.run([PUB, "--help"], capture_output=True, timeout=BOUND)
        self.assertRegex(r.stdout.decode(), r"-f, -s and -l keep it out")

    def environ_of(self, pid):
        if os.geteuid() != 0:
            # A non-dumpable process's environ is readable by root only.
            self.skipTest("needs root to read the environ of the tool")
        return read_proc(pid, "environ")

    def test_mqtt_password_is_taken_out_of_the_environment(self):
        secret = "mqtt-pw-5f3a9c"
        env = dict(os.environ, E2E_MQTT_PASSWORD=secret)
        sub = self.start_sub("-t", "hy/env", "-u", "someone", env=env)
        self.assertFalse(secret.encode() in self.environ_of(sub.p.pid),
                         "the password is in /proc/PID/environ")

    def test_sign_passphrase_is_taken_out_of_the_environment(self):
        secret = "sign-pass-8e21d0"
        sk = self.encrypted_signer(secret)
        sub = self.signed_sub("hy/sign")
        env = dict(os.environ, E2E_SIGN_PASSPHRASE=secret)
        pub = self.pub_paused_broker(["-t", "hy/sign", "-m", "signed",
                                      "--sign", sk], env=env)
        self.assertFalse(secret.encode() in self.environ_of(pub.p.pid),
                         "the passphrase is in /proc/PID/environ")
        self.resume()
        self.assertEqual(pub.finish(), 0, "\n".join(pub.err_lines))
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"signed\n")


class FilesOthersMayChange(HygieneCase):
    """Item 8.3 through the tools: a file others may write is refused, a
    directory others may write is a warning."""

    def test_sub_refuses_a_trust_file_others_may_write(self):
        self.encrypted_signer("unused")
        os.chmod(self.path("trust"), 0o666)
        r = subprocess.run([SUB, *self.conn(), "-t", "hy/f", "-W", "1",
                            "-K", self.keyring, "--trust", self.path("trust")],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"trust file %s: file is writable by others"
                      % self.path("trust").encode(), r.stderr)

    def test_sub_refuses_a_state_file_others_may_write(self):
        # Whatever it holds: a state file others may write is refused
        # before it is read, with the remedy, and e2e-sub does not start.
        state = self.path("state")
        with open(state, "w") as f:
            f.write("libe2e-replay-state 2\n")
        os.chmod(state, 0o666)
        r = subprocess.run([SUB, *self.conn(), "-t", "hy/s", "-W", "1",
                            "-K", self.keyring, "--state", state],
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(
            r.stderr.decode().splitlines(),
            ["e2e-sub: state file %s: file is writable by others or owned "
             "by another user; only you or root may own it and write it "
             "(chmod go-w)" % state])

    def test_sub_warns_about_a_directory_others_may_write(self):
        shared = self.path("shared")
        os.mkdir(shared)
        os.chmod(shared, 0o777)
        ring = os.path.join(shared, "ring")
        keygen("keyring", "init", "-K", ring)
        sub = self.start_sub("-t", "hy/d", "-K", ring, keyring=False)
        line, = sub.wait_stderr("warning:")
        self.assertEqual(line, "e2e-sub: warning: keyring %s: directory %s "
                         "may be written by other users, who could replace "
                         "the file" % (ring, shared))


class NoCoreDump(HygieneCase):
    """SIGQUIT (default action: core dump) with RLIMIT_CORE raised: the
    kernel must not dump, as its wait status tells (WCOREDUMP), and no core
    file may appear in the working directory."""

    def setUp(self):
        super().setUp()
        with open("/proc/sys/kernel/core_pattern") as f:
            self.pattern = f.read().strip()
        self.cwd = self.path("cwd")
        os.mkdir(self.cwd)

    def start(self, args, ready, stdin=subprocess.DEVNULL):
        p = Proc(args, stdin=stdin, cwd=self.cwd, preexec_fn=allow_core_dumps)
        self.procs.append(p)
        if ready:
            p.wait_stderr(ready)
        return p

    def assert_quit_leaves_no_core(self, p):
        p.p.send_signal(signal.SIGQUIT)
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            pid, status = os.waitpid(p.p.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        else:
            self.fail("no exit after SIGQUIT")
        p.p.returncode = -signal.SIGQUIT  # reaped here, not by Popen
        self.assertTrue(os.WIFSIGNALED(status))
        self.assertEqual(os.WTERMSIG(status), signal.SIGQUIT)
        self.assertFalse(os.WCOREDUMP(status), "the kernel dumped core")
        if not self.pattern.startswith("|"):
            self.assertEqual([n for n in os.listdir(self.cwd)
                              if n.startswith("core")], [])

    def test_sub_dumps_no_core(self):
        p = self.start([SUB, *self.conn(), "-d", "-t", "hy/core", "-K",
                        self.keyring], "connected and subscribed")
        self.assert_quit_leaves_no_core(p)

    def test_pub_dumps_no_core(self):
        p = self.start([PUB, *self.conn(), "-d", "-t", "hy/core", "-l", "-K",
                        self.keyring], "connected", stdin=subprocess.PIPE)
        self.assert_quit_leaves_no_core(p)

    def test_keygen_dumps_no_core(self):
        # Blocked opening a FIFO as its passphrase file.
        fifo = self.path("fifo")
        os.mkfifo(fifo, 0o600)
        p = self.start([KEYGEN, "signer", "new", "-s", self.path("sk"), "-p",
                        self.path("pk"), "--passphrase-file", fifo], None)
        deadline = time.monotonic() + BOUND
        while (read_proc(p.p.pid, "wchan") != b"wait_for_partner"
               and time.monotonic() < deadline):
            time.sleep(0.05)  # until it sleeps in the FIFO's open()
        self.assert_quit_leaves_no_core(p)


class Terminal:
    """A tool with a pseudo-terminal as its controlling terminal. The test
    keeps the terminal's slave side open, to read its settings."""

    def __init__(self, args, cwd, env=None):
        self.master, self.slave = os.openpty()

        def controlling_terminal():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.p = subprocess.Popen(
            args, stdin=self.slave, stdout=self.slave, stderr=self.slave,
            cwd=cwd, env=env, start_new_session=True,
            preexec_fn=controlling_terminal)
        self.seen = b""

    def read_until(self, text, timeout=BOUND):
        deadline = time.monotonic() + timeout
        while text not in self.seen and time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                self.seen += os.read(self.master, 4096)
        return text in self.seen

    def echo_on(self):
        return bool(termios.tcgetattr(self.slave)[3] & termios.ECHO)

    def type(self, data):
        os.write(self.master, data)

    def wait(self, timeout):
        try:
            return self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        os.close(self.master)
        os.close(self.slave)


class Passphrases(HygieneCase):
    """One limit, one reader and one prompt in e2e-keygen and e2e-pub."""

    def on_terminal(self, args, env=None):
        t = Terminal(args, self.dir, env=env)
        self.addCleanup(t.close)
        return t

    def test_longest_passphrase_from_keygen_opens_in_pub(self):
        passphrase = "p" * LIMIT
        sk = self.encrypted_signer(passphrase)
        sub = self.signed_sub("hy/long")
        pw = self.passfile("pub-pw", passphrase + "\n")
        self.pub("-t", "hy/long", "-m", "opened", "--sign", sk,
                 "--sign-pass-file", pw, keyring=False)
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"opened\n")

    def test_passphrase_over_the_limit_is_refused_by_keygen_and_pub(self):
        over = self.passfile("over", "p" * (LIMIT + 1) + "\n")
        message = "%s:1: passphrase longer than %d bytes" % (over, LIMIT)
        r = subprocess.run([KEYGEN, "signer", "new", "-s", self.path("new"),
                            "-p", self.path("new.pub"), "--passphrase-file",
                            over], capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(), "e2e-keygen: %s\n" % message)
        sk = self.encrypted_signer("p" * LIMIT)
        r = self.pub("-t", "hy/over", "-m", "x", "--sign", sk,
                     "--sign-pass-file", over, expect=1, keyring=False)
        self.assertEqual(r.stderr.decode(), "e2e-pub: %s\n" % message)

    def test_password_over_the_limit_is_refused_by_pub_and_sub(self):
        over = self.passfile("over", "w" * (LIMIT + 1) + "\n")
        for tool in (PUB, SUB):
            with self.subTest(tool=os.path.basename(tool)):
                r = subprocess.run(
                    [tool, *self.conn(), "-t", "hy/pw", "-K", self.keyring,
                     "-u", "u", "--pw-file", over] +
                    (["-m", "x"] if tool == PUB else []),
                    capture_output=True, timeout=BOUND)
                self.assertEqual(r.returncode, 1)
                self.assertRegex(r.stderr.decode(), re.escape(
                    "%s:1: password longer than %d bytes" % (over, LIMIT)))

    def test_pub_prompt_reads_the_passphrase_without_echo(self):
        secret = "typed-at-the-prompt"
        sk = self.encrypted_signer(secret)
        sub = self.signed_sub("hy/tty")
        t = self.on_terminal([PUB, *self.conn(), "-t", "hy/tty", "-m",
                              "from the terminal", "--sign", sk])
        self.assertTrue(t.read_until(b"Passphrase for "), t.seen)
        self.assertFalse(t.echo_on())
        t.type(secret.encode() + b"\n")
        self.assertEqual(t.wait(BOUND), 0, t.seen)
        self.assertNotIn(secret.encode(), t.seen)
        self.assertTrue(t.echo_on())
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"from the terminal\n")

    def assert_ctrl_c_ends_the_prompt(self, args, prompt):
        t = self.on_terminal(args)
        self.assertTrue(t.read_until(prompt), t.seen)
        self.assertFalse(t.echo_on(), "echo was never turned off")
        t.type(b"half-typed\x03")
        # Promptly: a second is plenty for a process that is not ignoring
        # the signal.
        self.assertEqual(t.wait(5), -signal.SIGINT,
                         "Ctrl-C did not end the prompt: %r" % t.seen)
        self.assertTrue(t.echo_on(), "terminal left without echo")

    def test_ctrl_c_at_the_pub_prompt_ends_it_with_echo_restored(self):
        sk = self.encrypted_signer("never typed")
        self.assert_ctrl_c_ends_the_prompt(
            [PUB, *self.conn(), "-t", "hy/int", "-m", "x", "--sign", sk],
            b"Passphrase for ")

    def test_ctrl_c_at_the_keygen_prompt_ends_it_with_echo_restored(self):
        self.assert_ctrl_c_ends_the_prompt(
            [KEYGEN, "signer", "new", "-s", self.path("k2"), "-p",
             self.path("k2.pub")], b"Passphrase: ")


if __name__ == "__main__":
    py = os.environ.get("PYTHON3")
    if py and os.path.realpath(py) != os.path.realpath(sys.executable) \
            and not os.environ.get("E2E_TEST_REEXEC"):
        os.environ["E2E_TEST_REEXEC"] = "1"
        os.execv(py, [py, "-B", *sys.argv])
    main()
