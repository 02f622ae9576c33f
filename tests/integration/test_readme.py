#!/usr/bin/python3 -B
"""Every command block of README.md runs as written, and prints what it
says it prints.

The README is read as a user reads it: each fenced block, in order, in one
working directory (files made by a block are there for the next; shell
variables are not: a block is one paste). A block tagged ```sh (or shell,
bash, console) runs with `sh -e`; any other block needs a directive, an
HTML comment on the line just above it:

    <!-- readme-test: file NAME -->     the block is saved as NAME (the C
                                        example, compiled by the next block)
    <!-- readme-test: skip REASON -->   not run, and REASON says why (only
                                        for what needs a user's machine:
                                        installing packages as root)

A block without a way to run fails this test, so a new block is run or
explicitly excused. Inside a block, a comment `# prints: TEXT` (or
`# sub prints: TEXT`, any one word before "prints:") claims that a line
containing TEXT appears in what the block prints (stdout and stderr of all
its commands, background ones included), each claim on a line of its own;
"..." in TEXT stands for anything. The order is not checked: a background
subscriber prints when its messages arrive, which a pasted block does not
wait for (a user typing does).

The broker. The blocks name it as a user on Debian does: the mosquitto on
localhost:1883 (`-h localhost`), which the mosquitto package starts. So
that this never touches a broker of the machine nor collides with other
tests running at once, the test runs in a network namespace of its own
(`unshare --net`, with --map-root-user when not root), brings its loopback
up, and starts its own mosquitto there listening on port 1883 on every
address (127.0.0.1 and ::1, whichever localhost resolves to). Where
localhost does not resolve (no /etc/hosts, as in a minimal chroot, which
a user's machine always has), each block runs with 127.0.0.1 written for
the word localhost: a chroot can hold no mount of its own for an
/etc/hosts, and the blocks' claims do not depend on the name. Where
namespaces are not allowed it is skipped (exit 77) with the reason.

The tools are the build tree's (top_builddir/cli first on PATH), and
`pkg-config --cflags --libs libe2e` finds the build tree's library (a
libe2e.pc written for it, LD_LIBRARY_PATH for running), as an installed
library would be found. HOME is the test's own directory.

Environment (make check exports it): top_srcdir, top_builddir, MOSQUITTO.
"""

import fcntl
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import broker  # noqa: E402

SRCDIR = os.environ.get("top_srcdir") or os.path.abspath(
    os.path.join(HERE, "..", ".."))
BUILDDIR = os.environ.get("top_builddir") or os.path.join(SRCDIR, "build")
README = os.path.join(SRCDIR, "README.md")
SHELLS = ("sh", "shell", "bash", "console")
BLOCK_TIMEOUT = 120  # seconds a block may run (a bound, not a measurement)
IN_NAMESPACE = "E2E_README_NETNS"
PORT = 1883

FENCE = re.compile(r"^(\s*)```\s*([\w+-]*)\s*$")
DIRECTIVE = re.compile(r"^\s*<!--\s*readme-test:\s*(\w+)\s*(.*?)\s*-->\s*$")
CLAIM = re.compile(r"^\s*#\s*(?:[\w-]+\s+)?prints:\s?(.*?)\s*$")


class Block:
    def __init__(self, line, lang, text, directive=None, arg=""):
        self.line, self.lang, self.text = line, lang, text
        self.directive, self.arg = directive, arg

    def __repr__(self):
        return "README.md:%d (%s)" % (self.line, self.lang or "no language")


def blocks(path):
    """The fenced blocks of a Markdown file, with the directive above each."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    out = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang, start = m.group(1), m.group(2), i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            line = lines[i]
            body.append(line[len(indent):] if line.startswith(indent)
                        else line)
            i += 1
        d = DIRECTIVE.match(lines[start - 1]) if start > 0 else None
        out.append(Block(start + 1, lang, "\n".join(body) + "\n",
                         d.group(1) if d else None, d.group(2) if d else ""))
        i += 1
    return out


def claims(text):
    """The `# prints: TEXT` claims of a block, in order."""
    return [m.group(1) for m in map(CLAIM.match, text.splitlines()) if m]


def claim_pattern(claim):
    parts = re.split(r"\.\.\.|\u2026", claim)
    return re.compile(".*".join(re.escape(p) for p in parts))


def unmet_claims(claimed, output):
    """The claims not found among the output's lines, each claim taking a
    line no other claim took (first come, first served)."""
    lines = output.splitlines()
    used = set()
    missing = []
    for c in claimed:
        pat = claim_pattern(c)
        for j, line in enumerate(lines):
            if j not in used and pat.search(line):
                used.add(j)
                break
        else:
            missing.append(c)
    return missing


def loopback_up():
    """Bring lo up in this (new) network namespace: SIOCSIFFLAGS IFF_UP."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s, siocgifflags, req))[1]
        fcntl.ioctl(s, siocsifflags, struct.pack("16sH22x", b"lo",
                                                 flags | iff_up))


def localhost_resolves():
    try:
        socket.getaddrinfo("localhost", 1883)
        return True
    except socket.gaierror:
        return False


def group_alive(pgid):
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False


def kill_group(pgid):
    """End what a block left running (its own process group): 5 s to exit
    by itself, then SIGTERM, then SIGKILL."""
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and group_alive(pgid):
            os.killpg(pgid, sig)
        deadline = time.monotonic() + 5.0
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not group_alive(pgid):
            return


class Readme(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="e2e-readme-")
        cls.work = os.path.join(cls.tmp, "work")
        home = os.path.join(cls.tmp, "home")
        pcdir = os.path.join(cls.tmp, "pkgconfig")
        for d in (cls.work, home, pcdir):
            os.mkdir(d)
        with open(os.path.join(pcdir, "libe2e.pc"), "w") as f:
            f.write("Name: libe2e\nDescription: libe2e of the build tree\n"
                    "Version: 0\nCflags: -I%s\nLibs: -L%s -le2e\n"
                    % (os.path.join(SRCDIR, "libe2e", "include"),
                       os.path.join(BUILDDIR, "libe2e", ".libs")))
        cls.env = dict(os.environ, HOME=home, PKG_CONFIG_PATH=pcdir,
                       LD_LIBRARY_PATH=os.path.join(BUILDDIR, "libe2e",
                                                    ".libs"),
                       PATH=os.pathsep.join([os.path.join(BUILDDIR, "cli"),
                                             os.environ.get("PATH", ""),
                                             "/usr/sbin"]))
        cls.broker = broker.Broker(os.path.join(cls.tmp, "broker"))
        cls.broker.host = ""  # `listener 1883`: every address of lo
        cls.broker.port = PORT
        cls.broker.start()

    @classmethod
    def tearDownClass(cls):
        cls.broker.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_block(self, block):
        """Run one shell block in the working directory; (status, output)."""
        script = os.path.join(self.tmp, "block-%d.sh" % block.line)
        log = os.path.join(self.tmp, "block-%d.out" % block.line)
        text = block.text
        if not localhost_resolves():  # see the module's docstring
            text = re.sub(r"\blocalhost\b", "127.0.0.1", text)
        with open(script, "w") as f:
            f.write(text)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                ["sh", "-e", script], cwd=self.work, env=self.env,
                stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
            try:
                status = proc.wait(timeout=BLOCK_TIMEOUT)
            except subprocess.TimeoutExpired:
                status = "timed out after %d s" % BLOCK_TIMEOUT
            kill_group(proc.pid)
            proc.wait()
        with open(log, encoding="utf-8", errors="replace") as f:
            return status, f.read()

    def test_every_block_is_run_or_says_why_not(self):
        for b in blocks(README):
            with self.subTest(block=b):
                if b.directive == "skip":
                    self.assertTrue(b.arg, "%r: skip needs a reason" % b)
                elif b.directive == "file":
                    self.assertRegex(b.arg, r"^[\w.-]+$")
                else:
                    self.assertIsNone(b.directive, "unknown directive")
                    self.assertIn(b.lang, SHELLS,
                                  "%r is neither a shell block nor marked "
                                  "file/skip" % b)

    def test_every_command_block_runs_and_prints_what_it_claims(self):
        ran = 0
        for b in blocks(README):
            if b.directive == "skip":
                print("skipped %r: %s" % (b, b.arg))
                continue
            if b.directive == "file":
                with open(os.path.join(self.work, b.arg), "w") as f:
                    f.write(b.text)
                continue
            if b.lang not in SHELLS:
                continue  # reported by the test above
            ran += 1
            with self.subTest(block=b):
                status, output = self.run_block(b)
                print("== %r exited %s\n%s" % (b, status, output), end="")
                self.assertEqual(status, 0, "%r failed:\n%s" % (b, output))
                missing = unmet_claims(claims(b.text), output)
                self.assertEqual(missing, [], "%r did not print what it "
                                 "claims; it printed:\n%s"
                                 % (b, output))
        self.assertGreater(ran, 0, "README.md has no command block")


class ClaimChecker(unittest.TestCase):
    """The checker above can fail: what it accepts and refuses."""

    def test_claims_are_found_with_ellipsis_as_anything(self):
        out = "a\nrejected x: bad-tag: tag (key 1234)\nb\n"
        self.assertEqual(unmet_claims(["a", "bad-tag: tag (key ...)", "b"],
                                      out), [])

    def test_a_claim_missing_from_the_output_is_reported(self):
        self.assertEqual(unmet_claims(["sensors/door closed"],
                                      "sensors/door open\n"),
                         ["sensors/door closed"])

    def test_each_claim_needs_a_line_of_its_own(self):
        # Two messages claimed, one printed: the lost one is reported.
        self.assertEqual(unmet_claims(["door open", "door open"],
                                      "sensors/door open\n"), ["door open"])

    def test_claims_may_be_met_in_any_order(self):
        self.assertEqual(unmet_claims(["b", "a"], "a\nb\n"), [])

    def test_claim_comments_name_who_prints(self):
        self.assertEqual(claims("x  # not a claim\n# sub prints: one\n"
                                "# prints: two\n# a forgery: three\n"),
                         ["one", "two"])

    def test_directive_on_the_line_above_applies_to_the_block(self):
        path = os.path.join(tempfile.mkdtemp(prefix="e2e-readme-t-"), "x.md")
        self.addCleanup(shutil.rmtree, os.path.dirname(path))
        with open(path, "w") as f:
            f.write("<!-- readme-test: skip as root -->\n```sh\napt\n```\n"
                    "text\n```c\nint x;\n```\n")
        got = [(b.line, b.lang, b.directive, b.arg, b.text)
               for b in blocks(path)]
        self.assertEqual(got, [(2, "sh", "skip", "as root", "apt\n"),
                               (6, "c", None, "", "int x;\n")])


def enter_namespace():
    """Re-run this file in a network namespace of its own (see above);
    exit 77 when the system does not allow one."""
    cmd = ["unshare", "--net"]
    if os.geteuid() != 0:
        cmd.append("--map-root-user")
    probe = subprocess.run(cmd + ["true"], capture_output=True, text=True)
    if probe.returncode != 0:
        strict = os.environ.get("LIBE2E_TEST_STRICT") == "1"
        print("%s: no network namespace for a private localhost:1883 (%s)"
              % ("FAIL" if strict else "SKIP", probe.stderr.strip()))
        sys.exit(1 if strict else 77)
    env = dict(os.environ, **{IN_NAMESPACE: "1"})
    os.execvpe(cmd[0], cmd + [sys.executable, "-B", *sys.argv], env)


def main():
    for prog in ("e2e-pub", "e2e-sub", "e2e-keygen"):
        if not os.access(os.path.join(BUILDDIR, "cli", prog), os.X_OK):
            print("SKIP: %s not built (Paho MQTT C missing?)" % prog)
            sys.exit(77)
    if not os.environ.get(IN_NAMESPACE):
        enter_namespace()
    loopback_up()
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
