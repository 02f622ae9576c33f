#!/usr/bin/python3
"""Command-level tests of e2e-keygen, run as a user would run it.

Every error case checks the three promises of issue 3: one line on stderr
naming the file (and the line when it applies), a non-zero exit status, and
the file left byte for byte as it was.

Environment (from make check): top_builddir, top_srcdir.
"""
import base64
import os
import pty
import re
import select
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import unittest

BUILD = os.environ.get("top_builddir") or os.path.join(
    os.path.dirname(__file__), "..", "..")
KEYGEN = os.path.join(BUILD, "cli", "e2e-keygen")
ID8 = re.compile(r"^[0-9a-f]{8}$")
ID16 = re.compile(r"^[0-9a-f]{16}$")


STRICT = os.environ.get("LIBE2E_TEST_STRICT") == "1"


class KeygenCase(unittest.TestCase):
    def skip_or_fail(self, reason):
        """Skip, or fail under LIBE2E_TEST_STRICT=1 (CI): unittest.main
        exits 0 on skips, so a skip would otherwise hide inside a PASS."""
        if STRICT:
            self.fail("prerequisite missing (LIBE2E_TEST_STRICT=1): " + reason)
        self.skipTest(reason)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-keygen-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_keygen(self, *args, prefix=()):
        # A new session has no controlling terminal: a passphrase prompt
        # fails at once instead of waiting on the tester's terminal.
        return subprocess.run(
            list(prefix) + [KEYGEN] + list(args), cwd=self.dir,
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            start_new_session=True, timeout=120)

    def ok(self, *args):
        r = self.run_keygen(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def fails(self, *args, message, untouched=()):
        """Run a command that must fail with one line matching message."""
        before = {p: self.read_bytes(p) for p in untouched}
        r = self.run_keygen(*args)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "")
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertRegex(lines[0], "^e2e-keygen: " + message)
        for p, data in before.items():
            self.assertEqual(self.read_bytes(p), data, p + " was changed")
        return lines[0]

    def read_bytes(self, p):
        with open(p, "rb") as f:
            return f.read()

    def write(self, name, text, mode=0o600):
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def mode(self, p):
        return stat.S_IMODE(os.stat(p).st_mode)

    def listing(self, ring):
        """keyring list as {id: (suite, state)}."""
        return {kid: row[:2] for kid, row in self.listing_all(ring).items()}

    def listing_all(self, ring):
        """keyring list as {id: (suite, state, {field: value})}: the
        optional activates=, disables= and topics= of each key."""
        rows = {}
        for line in self.ok("keyring", "list", "-K", ring).splitlines():
            kid, suite, state, created, *extra = line.split()
            self.assertRegex(kid, ID8)
            self.assertRegex(created, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            fields = dict(f.split("=", 1) for f in extra)
            self.assertLessEqual(set(fields),
                                 {"activates", "disables", "topics"})
            rows[kid] = (suite, state, fields)
        return rows

    def init_ring(self, *extra):
        ring = self.path("k.ring")
        kid = self.ok("keyring", "init", "-K", ring, *extra).strip()
        self.assertRegex(kid, ID8)
        return ring, kid


class Usage(KeygenCase):
    def test_help_starts_with_one_line_saying_what_it_does(self):
        first = self.ok("--help").splitlines()[0]
        self.assertRegex(first, r"^e2e-keygen: create and manage libe2e "
                                r"key files")

    def test_help_gives_the_exit_status_as_the_other_tools_do(self):
        self.assertRegex(self.ok("--help"),
                         r"\nExit status: 0 success, 1 error\b")

    def test_help_lists_every_command(self):
        out = self.ok("--help")
        for cmd in ("keyring init", "rotate", "promote", "disable", "delete",
                    "keyring list", "signer new", "signer pub", "trust add",
                    "trust list", "--no-passphrase", "--passphrase-file"):
            self.assertIn(cmd, out)

    def test_no_arguments_is_a_usage_error(self):
        r = self.run_keygen()
        self.assertEqual(r.returncode, 1)
        self.assertIn("Usage:", r.stderr)

    def test_unknown_command_is_refused(self):
        self.fails("keyring", "explode", "-K", "x",
                   message="unknown command 'keyring explode'")

    def test_option_a_command_does_not_take_is_refused(self):
        self.fails("keyring", "list", "-K", "x", "--suite", "mac",
                   message="keyring list does not take --suite")

    def test_long_options_are_never_abbreviated(self):
        self.fails("keyring", "init", "--keyr", "k",
                   message=r"unknown option --keyr \(long options are not "
                   r"abbreviated: did you mean --keyring\? see --help\)$",
                   untouched=())
        self.assertFalse(os.path.exists(self.path("k")))

    def test_required_option_missing_is_refused(self):
        self.fails("keyring", "init", message="keyring init needs -K")

    def test_passphrase_is_never_taken_from_argv(self):
        r = self.run_keygen("signer", "new", "-s", "s", "-p", "p",
                            "--passphrase", "hunter2")
        self.assertEqual(r.returncode, 1)
        self.assertFalse(os.path.exists(self.path("s")))


class Keyring(KeygenCase):
    def test_init_creates_secret_file_with_one_primary(self):
        ring, kid = self.init_ring()
        self.assertEqual(self.mode(ring), 0o600)
        self.assertEqual(self.listing(ring), {kid: ("aead", "primary")})

    def test_init_with_mac_suite(self):
        ring, kid = self.init_ring("--suite", "mac")
        self.assertEqual(self.listing(ring), {kid: ("mac", "primary")})

    def test_init_refuses_unknown_suite(self):
        self.fails("keyring", "init", "-K", self.path("k.ring"), "--suite",
                   "none", message="invalid suite 'none'")
        self.assertFalse(os.path.exists(self.path("k.ring")))

    def test_init_never_overwrites_without_force(self):
        ring, kid = self.init_ring()
        self.fails("keyring", "init", "-K", ring,
                   message=re.escape(ring) + ": file already exists "
                   r"\(use --force", untouched=[ring])
        new = self.ok("keyring", "init", "-K", ring, "--force").strip()
        self.assertEqual(self.listing(ring), {new: ("aead", "primary")})
        self.assertEqual(self.mode(ring), 0o600)

    def test_rotate_disable_delete_cycle(self):
        ring, first = self.init_ring()
        second = self.ok("keyring", "rotate", "-K", ring).strip()
        self.assertRegex(second, ID8)
        self.assertNotEqual(second, first)
        self.assertEqual(self.listing(ring), {
            first: ("aead", "enabled"), second: ("aead", "primary")})
        self.assertEqual(self.ok("keyring", "disable", "-K", ring, first), "")
        self.assertEqual(self.listing(ring), {
            first: ("aead", "disabled"), second: ("aead", "primary")})
        self.assertEqual(self.ok("keyring", "delete", "-K", ring, first), "")
        self.assertEqual(self.listing(ring), {second: ("aead", "primary")})
        self.assertEqual(self.mode(ring), 0o600)

    def test_add_then_promote(self):
        ring, first = self.init_ring()
        added = self.ok("keyring", "add", "-K", ring).strip()
        self.assertEqual(self.listing(ring), {
            first: ("aead", "primary"), added: ("aead", "enabled")})
        self.ok("keyring", "promote", "-K", ring, added)
        self.assertEqual(self.listing(ring), {
            first: ("aead", "enabled"), added: ("aead", "primary")})

    def test_rotate_keeps_the_suite_unless_told(self):
        ring, first = self.init_ring("--suite", "mac")
        second = self.ok("keyring", "rotate", "-K", ring).strip()
        third = self.ok("keyring", "rotate", "-K", ring,
                        "--suite", "aead").strip()
        rows = self.listing(ring)
        self.assertEqual(rows[second], ("mac", "enabled"))
        self.assertEqual(rows[third], ("aead", "primary"))

    def test_enable_brings_back_a_disabled_key(self):
        ring, first = self.init_ring()
        self.ok("keyring", "rotate", "-K", ring)
        self.ok("keyring", "disable", "-K", ring, first)
        self.ok("keyring", "enable", "-K", ring, first.upper())
        self.assertEqual(self.listing(ring)[first], ("aead", "enabled"))

    def test_unknown_id_is_refused_and_file_untouched(self):
        ring, kid = self.init_ring()
        other = "%08x" % ((int(kid, 16) + 1) & 0xFFFFFFFF or 1)
        for verb in ("promote", "enable", "disable", "delete"):
            with self.subTest(verb=verb):
                self.fails("keyring", verb, "-K", ring, other,
                           message=re.escape(ring) + ": no key with id " +
                           other + "$", untouched=[ring])

    def test_malformed_id_is_refused(self):
        ring, kid = self.init_ring()
        for bad in ("xyz", "123456789", "0", ""):
            with self.subTest(id=bad):
                self.fails("keyring", "disable", "-K", ring, bad,
                           message="invalid key id", untouched=[ring])

    def test_id_is_required(self):
        ring, kid = self.init_ring()
        self.fails("keyring", "promote", "-K", ring,
                   message="keyring promote needs a key id",
                   untouched=[ring])

    def test_primary_cannot_be_disabled_or_deleted(self):
        ring, kid = self.init_ring()
        for verb in ("disable", "enable", "delete"):
            with self.subTest(verb=verb):
                self.fails("keyring", verb, "-K", ring, kid,
                           message=re.escape(ring) + ": key " + kid +
                           " is the primary key; promote another",
                           untouched=[ring])

    def test_rotate_with_topics_makes_a_primary_for_those_topics_only(self):
        ring, first = self.init_ring()
        tenant = self.ok("keyring", "rotate", "-K", ring, "--topics",
                         "tenant-a/#,shared/+/a").strip()
        self.assertRegex(tenant, ID8)
        # The keyring's own primary stays: only the scope got one.
        self.assertEqual(self.listing_all(ring), {
            first: ("aead", "primary", {}),
            tenant: ("aead", "primary",
                     {"topics": "tenant-a/#,shared/+/a"})})

    def test_add_with_topics_then_promote_stays_in_its_scope(self):
        ring, first = self.init_ring()
        added = self.ok("keyring", "add", "-K", ring, "--topics",
                        "tenant-b/#").strip()
        self.assertEqual(self.listing(ring)[added], ("aead", "enabled"))
        self.ok("keyring", "promote", "-K", ring, added)
        self.assertEqual(self.listing(ring), {
            first: ("aead", "primary"), added: ("aead", "primary")})

    def test_rotate_with_topics_twice_demotes_only_that_scope(self):
        ring, first = self.init_ring()
        a1 = self.ok("keyring", "rotate", "-K", ring, "--topics",
                     "t/#").strip()
        a2 = self.ok("keyring", "rotate", "-K", ring, "--topics",
                     "t/#").strip()
        self.assertEqual(self.listing(ring), {
            first: ("aead", "primary"), a1: ("aead", "enabled"),
            a2: ("aead", "primary")})

    def test_topics_that_are_not_filters_are_refused_and_change_nothing(self):
        ring, first = self.init_ring()
        for bad in ("a b/#", "a/#/b", "a+/x"):
            self.fails("keyring", "rotate", "-K", ring, "--topics", bad,
                       message="--topics '%s': not MQTT topic filters" %
                       re.escape(bad), untouched=[ring])

    def test_list_never_prints_key_material(self):
        ring, kid = self.init_ring()
        self.ok("keyring", "rotate", "-K", ring)
        text = self.read_bytes(ring).decode()
        secrets = [ln.split()[4] for ln in text.splitlines()
                   if ln and not ln.startswith("#") and len(ln.split()) == 5]
        self.assertEqual(len(secrets), 2)
        out = self.ok("keyring", "list", "-K", ring)
        for s in secrets:
            self.assertNotIn(s, out)
            self.assertNotIn(s[:12], out)


GOOD_KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
HEADER = "# test keyring\nlibe2e-keyring 1\n"
PRIMARY = "11111111 aead primary 1700000000 " + GOOD_KEY + "\n"
ENABLED = "22222222 mac enabled 1700000001 " + OTHER_KEY + "\n"


class DamagedKeyring(KeygenCase):
    """Each damaged file gives FILE:LINE: message, exit 1, file untouched,
    for a read (list) and for a rewrite (rotate)."""

    CASES = [
        # name, text, mode, expected message after "e2e-keygen: "
        ("empty", "", 0o600, "{f}: file is empty$"),
        ("truncated", HEADER + PRIMARY + ENABLED[:30], 0o600,
         "{f}:4: key file is truncated$"),
        ("corrupt base64", HEADER + PRIMARY +
         ENABLED.replace(OTHER_KEY, "!" + OTHER_KEY[1:]), 0o600,
         "{f}:4: key file has corrupt base64"),
        ("unknown version", "libe2e-keyring 7\n" + PRIMARY, 0o600,
         "{f}:1: key file has an unknown version$"),
        ("duplicate key id", HEADER + PRIMARY + ENABLED +
         ENABLED.replace("mac", "aead"), 0o600,
         "{f}:5: duplicate key id$"),
        ("two primaries", HEADER + PRIMARY +
         ENABLED.replace("enabled", "primary"), 0o600,
         "{f}:4: more than one primary key$"),
        # Enabled keys alone are a receive-only member's keyring (valid
        # since key updates, docs/KEYFILES.md); disabled keys alone are not.
        ("only disabled keys", HEADER + ENABLED.replace("enabled", "disabled"),
         0o600, "{f}: keyring file has no primary key$"),
        ("unknown state", HEADER + PRIMARY +
         ENABLED.replace("enabled", "retired"), 0o600,
         "{f}:4: key file is malformed$"),
        ("bad permissions", HEADER + PRIMARY, 0o640,
         "{f}: secret file is readable by group or others; run: chmod 600"),
        ("world readable", HEADER + PRIMARY, 0o604,
         "{f}: secret file is readable by group or others"),
    ]

    def test_each_damage_is_reported_with_file_and_line(self):
        for name, text, mode, msg in self.CASES:
            for cmd in (("keyring", "list"), ("keyring", "rotate")):
                with self.subTest(case=name, cmd=cmd[1]):
                    f = self.write("bad.ring", text, mode)
                    self.fails(*cmd, "-K", f,
                               message=msg.format(f=re.escape(f)),
                               untouched=[f])
                    self.assertEqual(self.mode(f), mode)

    def test_missing_file(self):
        f = self.path("absent.ring")
        self.fails("keyring", "list", "-K", f,
                   message=re.escape(f) + ": No such file or directory$")
        self.fails("keyring", "rotate", "-K", f,
                   message=re.escape(f) + ": No such file or directory$")
        self.assertFalse(os.path.exists(f))

    def test_good_file_written_by_hand_is_accepted(self):
        f = self.write("good.ring", HEADER + PRIMARY + ENABLED)
        self.assertEqual(self.listing(f), {
            "11111111": ("aead", "primary"), "22222222": ("mac", "enabled")})


class InterruptedRewrite(KeygenCase):
    def test_stray_temporary_file_never_replaces_the_keyring(self):
        ring, first = self.init_ring()
        stray = ring + ".tmp-1-deadbeef"
        with open(stray, "w") as f:
            f.write("libe2e-keyring 1\ngarbage")
        second = self.ok("keyring", "rotate", "-K", ring).strip()
        self.assertEqual(self.listing(ring), {
            first: ("aead", "enabled"), second: ("aead", "primary")})
        self.assertTrue(os.path.exists(stray))

    def test_kill_between_temp_write_and_rename_leaves_old_file(self):
        strace = shutil.which("strace")
        if strace is None:
            self.skip_or_fail("strace is not installed")
        ring, first = self.init_ring()
        before = self.read_bytes(ring)
        # strace kills e2e-keygen when it calls rename: after the new file
        # was written and synced under its temporary name.
        r = self.run_keygen(
            "keyring", "rotate", "-K", ring,
            prefix=[strace, "-f", "-o", os.devnull, "-e",
                    "trace=rename,renameat,renameat2", "-e",
                    "inject=rename,renameat,renameat2:signal=SIGKILL"])
        if "ptrace" in r.stderr and "Operation not permitted" in r.stderr:
            self.skip_or_fail("ptrace is not permitted here")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.read_bytes(ring), before)
        temps = [n for n in os.listdir(self.dir) if ".tmp-" in n]
        self.assertEqual(len(temps), 1, os.listdir(self.dir))
        # The temporary file is complete (it was written and synced
        # before the kill) and the keyring still works.
        self.assertEqual(len(self.listing(self.path(temps[0]))), 2)
        self.assertEqual(self.listing(ring), {first: ("aead", "primary")})
        self.ok("keyring", "rotate", "-K", ring)
        self.assertEqual(len(self.listing(ring)), 2)


class Signer(KeygenCase):
    def passfile(self, text="correct horse battery staple\n", name="pw"):
        return self.write(name, text)

    def new_signer(self, *extra, pw=True):
        sec, pub = self.path("s.key"), self.path("s.pub")
        args = ["signer", "new", "-s", sec, "-p", pub] + list(extra)
        if pw:
            args += ["--passphrase-file", self.passfile()]
        sid = self.ok(*args).strip()
        self.assertRegex(sid, ID16)
        return sec, pub, sid

    def test_new_writes_encrypted_secret_0600_and_public(self):
        sec, pub, sid = self.new_signer()
        self.assertEqual(self.mode(sec), 0o600)
        text = self.read_bytes(sec).decode()
        # The CLI uses libsodium's MODERATE costs, never weaker.
        self.assertIn("\nkdf argon2id 3 268435456 ", text)
        self.assertNotIn("correct horse", text)
        self.assertIn("\nsigner " + sid + "\n", text)
        self.assertIn("\nsigner " + sid + "\n", self.read_bytes(pub).decode())

    def test_no_passphrase_is_marked_in_the_file(self):
        sec, pub, sid = self.new_signer("--no-passphrase", pw=False)
        text = self.read_bytes(sec).decode()
        self.assertIn("NOT ENCRYPTED", text)
        self.assertIn("\nkdf none\n", text)

    def test_new_never_overwrites_without_force(self):
        sec, pub, sid = self.new_signer("--no-passphrase", pw=False)
        for args in (["-s", sec, "-p", self.path("other.pub")],
                     ["-s", self.path("other.key"), "-p", pub]):
            with self.subTest(args=args):
                self.fails("signer", "new", *args, "--no-passphrase",
                           message=".*: file already exists",
                           untouched=[sec, pub])
        self.assertFalse(os.path.exists(self.path("other.key")))
        self.assertFalse(os.path.exists(self.path("other.pub")))
        new = self.ok("signer", "new", "-s", sec, "-p", pub,
                      "--no-passphrase", "--force").strip()
        self.assertNotEqual(new, sid)

    def test_without_terminal_or_passphrase_file_nothing_is_written(self):
        self.fails("signer", "new", "-s", self.path("s.key"), "-p",
                   self.path("s.pub"),
                   message="no terminal to read the passphrase from")
        self.assertEqual(os.listdir(self.dir), [])

    def run_on_terminal(self, args, answers):
        """Run e2e-keygen with a pseudo-terminal as its controlling
        terminal, answering each prompt; return (status, terminal output)."""
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.chdir(self.dir)
                os.execv(KEYGEN, [KEYGEN] + args)
            finally:
                os._exit(127)
        seen = b""
        pending = list(answers)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
            # Answer each prompt once, after it is shown (input typed
            # ahead of a prompt is discarded, as getpass does).
            prompts = seen.count(b"Passphrase")
            if pending and prompts > len(answers) - len(pending):
                os.write(fd, pending.pop(0).encode() + b"\n")
        else:
            os.kill(pid, 9)  # it hung: fail, without hanging the tests
        os.close(fd)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")

    def test_terminal_passphrase_is_asked_twice_without_echo(self):
        sec, pub = self.path("s.key"), self.path("s.pub")
        code, seen = self.run_on_terminal(
            ["signer", "new", "-s", sec, "-p", pub],
            ["s3cret-pass", "s3cret-pass"])
        self.assertEqual(code, 0, seen)
        self.assertIn("Passphrase: ", seen)
        self.assertIn("Passphrase (again): ", seen)
        self.assertNotIn("s3cret-pass", seen)
        pw = self.passfile("s3cret-pass\n", "pw2")
        self.ok("signer", "passwd", "-s", sec, "--passphrase-file", pw,
                "--no-passphrase")

    def test_terminal_passphrases_that_differ_write_nothing(self):
        sec, pub = self.path("s.key"), self.path("s.pub")
        code, seen = self.run_on_terminal(
            ["signer", "new", "-s", sec, "-p", pub], ["one", "two"])
        self.assertEqual(code, 1, seen)
        self.assertIn("e2e-keygen: the passphrases do not match", seen)
        self.assertFalse(os.path.exists(sec))
        self.assertFalse(os.path.exists(pub))

    def test_empty_passphrase_is_refused(self):
        pw = self.passfile("\n")
        self.fails("signer", "new", "-s", self.path("s.key"), "-p",
                   self.path("s.pub"), "--passphrase-file", pw,
                   message=re.escape(pw) + ":1: empty passphrase")
        self.assertFalse(os.path.exists(self.path("s.key")))

    def test_overlong_passphrase_is_refused(self):
        pw = self.passfile("x" * 1025 + "\n")
        self.fails("signer", "new", "-s", self.path("s.key"), "-p",
                   self.path("s.pub"), "--passphrase-file", pw,
                   message=re.escape(pw) + ":1: passphrase longer than 1024")
        self.assertFalse(os.path.exists(self.path("s.key")))

    def test_pub_prints_the_public_key_without_passphrase(self):
        sec, pub, sid = self.new_signer()
        out = self.ok("signer", "pub", "-s", sec).split()
        self.assertEqual(out[0], sid)
        self.assertIn("\npublic " + out[1] + "\n",
                      self.read_bytes(pub).decode())
        again = self.path("again.pub")
        self.assertEqual(self.ok("signer", "pub", "-s", sec, "-p",
                                 again).strip(), sid)
        self.assertEqual(self.read_bytes(again), self.read_bytes(pub))

    def test_passwd_with_wrong_passphrase_fails_and_changes_nothing(self):
        sec, pub, sid = self.new_signer()
        wrong = self.passfile("wrong\n", "wrong")
        self.fails("signer", "passwd", "-s", sec, "--passphrase-file", wrong,
                   "--no-passphrase",
                   message=re.escape(sec) + ": wrong passphrase$",
                   untouched=[sec])

    def test_passwd_changes_the_passphrase(self):
        sec, pub, sid = self.new_signer()
        new = self.passfile("new one\n", "new")
        self.ok("signer", "passwd", "-s", sec, "--passphrase-file",
                self.path("pw"), "--new-passphrase-file", new)
        self.assertEqual(self.mode(sec), 0o600)
        self.fails("signer", "passwd", "-s", sec, "--passphrase-file",
                   self.path("pw"), "--no-passphrase",
                   message=".*: wrong passphrase$", untouched=[sec])
        self.ok("signer", "passwd", "-s", sec, "--passphrase-file", new,
                "--no-passphrase")
        self.assertIn("\nkdf none\n", self.read_bytes(sec).decode())
        self.assertEqual(self.ok("signer", "pub", "-s", sec).split()[0], sid)

    def test_group_readable_secret_key_is_refused(self):
        sec, pub, sid = self.new_signer("--no-passphrase", pw=False)
        os.chmod(sec, 0o644)
        self.fails("signer", "pub", "-s", sec,
                   message=re.escape(sec) + ": secret file is readable")

    def test_damaged_secret_key_names_the_line(self):
        sec, pub, sid = self.new_signer("--no-passphrase", pw=False)
        text = self.read_bytes(sec).decode()
        self.write("s.key", text.replace("\npublic ", "\npublic %"))
        self.fails("signer", "pub", "-s", sec,
                   message=re.escape(sec) + r":\d+: key file has corrupt")
        self.write("s.key", text.replace("signer-secret 1",
                                         "signer-secret 2"))
        self.fails("signer", "pub", "-s", sec,
                   message=re.escape(sec) + r":\d+: key file has an unknown")


class Trust(KeygenCase):
    def signer(self, name):
        sec, pub = self.path(name + ".key"), self.path(name + ".pub")
        sid = self.ok("signer", "new", "-s", sec, "-p", pub,
                      "--no-passphrase").strip()
        return pub, sid

    def test_add_creates_the_file_and_list_shows_filters(self):
        a, aid = self.signer("a")
        b, bid = self.signer("b")
        trust = self.path("t.trust")
        self.assertEqual(self.ok("trust", "add", "--trust", trust, "-p", a,
                                 "--topics", "sensors/+/temp, alerts/#")
                         .strip(), aid)
        self.ok("trust", "add", "--trust", trust, "-p", b, "--topics", "x/#")
        self.assertEqual(self.ok("trust", "list", "--trust", trust),
                         "%s  sensors/+/temp,alerts/#\n%s  x/#\n" % (aid, bid))
        self.assertEqual(self.mode(trust), 0o644)

    def test_duplicate_signer_is_refused(self):
        a, aid = self.signer("a")
        trust = self.path("t.trust")
        self.ok("trust", "add", "--trust", trust, "-p", a, "--topics", "a/#")
        self.fails("trust", "add", "--trust", trust, "-p", a, "--topics",
                   "b/#", message=re.escape(trust) + ": signer " + aid +
                   " is already trusted$", untouched=[trust])

    def test_invalid_filter_is_refused(self):
        a, aid = self.signer("a")
        trust = self.path("t.trust")
        for bad in ("a/#/b", "a+/b", "", "a,,b"):
            with self.subTest(filters=bad):
                self.fails("trust", "add", "--trust", trust, "-p", a,
                           "--topics", bad, message="invalid topic filters")
        self.assertFalse(os.path.exists(trust))

    def test_damaged_public_key_file_names_the_line(self):
        a, aid = self.signer("a")
        text = self.read_bytes(a).decode()
        self.write("a.pub", text.replace("signer " + aid,
                                         "signer 0000000000000000"), 0o644)
        self.fails("trust", "add", "--trust", self.path("t"), "-p", a,
                   "--topics", "a", message=re.escape(a) +
                   r":\d+: key file is malformed$")

    def test_damaged_trust_file_names_the_line(self):
        a, aid = self.signer("a")
        trust = self.write("t.trust", "libe2e-trust 1\n# ok\nzzz\n", 0o644)
        self.fails("trust", "list", "--trust", trust,
                   message=re.escape(trust) + ":3: key file is malformed$")
        self.fails("trust", "add", "--trust", trust, "-p", a, "--topics",
                   "a", message=re.escape(trust) + ":3: ",
                   untouched=[trust])


class AdminPublish(KeygenCase):
    def test_a_broker_it_cannot_reach_is_named_and_nothing_is_printed(self):
        ring, _ = self.init_ring()
        self.ok("signer", "new", "-s", self.path("admin.sec"), "-p",
                self.path("admin.pub"), "--no-passphrase")
        self.ok("member", "init", "-s", self.path("m.key"), "-p",
                self.path("m.pub"), "--no-passphrase")
        with open(self.path("m.pub")) as f:
            line = f.read().strip()
        members = self.path("g.members")
        self.ok("admin", "enrol", "--members", members, "--group", "g",
                "-p", line, "m")
        with socket.socket() as s:  # a port where nothing listens
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.fails("admin", "publish", "--members", members, "-K", ring,
                   "-s", self.path("admin.sec"), "--host", "127.0.0.1",
                   "--port", str(port),
                   message=re.escape("cannot connect to tcp://127.0.0.1:%d: "
                                     % port), untouched=[ring])


if __name__ == "__main__":
    unittest.main()
