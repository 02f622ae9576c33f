#!/usr/bin/python3 -B
"""Parity with mosquitto_pub / mosquitto_sub 2.0.11, option by option.

The options are those mosquitto's own --help lists (its option lines and
its usage block), read from the installed binaries; docs/PARITY.md says for
each what e2e-pub and e2e-sub do with it:

    same     the same behaviour: a scenario below runs it through both
             families (mosquitto_pub -> mosquitto_sub, e2e-pub -> e2e-sub,
             the same broker, the same arguments otherwise) and compares
             what the subscriber printed and every exit status;
    refused  one line on stderr, "PROG: OPTION is not supported: WHY"
             (WHY as the table says), exit status 1;
    differs  a check below shows the documented difference.

So the table cannot drift from the tools: an option mosquitto gains, a
refusal whose reason changes, a "same" without a scenario, all fail here.

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import Broker, free_port, wait_for_port  # noqa: E402
from test_cliopts import (PSK_IDENTITY, PSK_KEY, PUBLISH_PROPS,  # noqa
                          psk_listener)
from test_cli import (BOUND, MOSQUITTO_PUB, MOSQUITTO_SUB, PUB, SUB,  # noqa
                      CliCase, Proc, main)

TABLE = os.path.join(HERE, "..", "..", "docs", "PARITY.md")
STATUSES = {"same", "refused", "differs", "-"}


def mosquitto_options(binary):
    """The options binary --help names: "-x" for those with a letter,
    "--long" for the others (mosquitto's own spelling)."""
    out = subprocess.run([binary, "--help"], capture_output=True,
                         timeout=BOUND).stdout.decode()
    usage, _, rest = out.partition("\n\n -")
    listed = set(re.findall(r"^ (-\w|--[\w-]+) :", " -" + rest, re.M))
    in_usage = set(re.findall(r"[\[{ ](--[a-z][\w-]+|-[A-Za-z])\b",
                              usage.split("Usage:", 1)[1]))
    return listed | in_usage


def read_table():
    """{option: (pub status, sub status, note)} from docs/PARITY.md."""
    rows = {}
    with open(TABLE) as f:
        for line in f:
            m = re.match(r"^\| `([^`]+)` \| (\S+) \| (\S+) \|(.*)\|$",
                         line.rstrip("\n"))
            if m:
                rows[m.group(1)] = (m.group(2), m.group(3),
                                    m.group(4).strip())
    return rows


class Family:
    """One pair of tools: mosquitto's, or ours with a shared keyring."""

    def __init__(self, case, ours):
        self.case, self.ours = case, ours
        self.pub_bin = PUB if ours else MOSQUITTO_PUB
        self.sub_bin = SUB if ours else MOSQUITTO_SUB
        self.keys = ["-K", case.keyring] if ours else []

    def pub(self, *args, conn=None, input=None, env=None):
        cmd = [self.pub_bin, *(conn or self.case.conn()), *args]
        if "-K" not in args:
            cmd += self.keys
        return subprocess.run(cmd, capture_output=True, timeout=BOUND,
                              input=input, env=env)

    def start_sub(self, *args, conn=None, env=None):
        """Start the subscriber; returns once the broker logged its
        subscription (or it exited: -E, an error)."""
        cid = "parity-%d-%s" % (os.getpid(), time.monotonic_ns())
        if "-i" in args:
            cid = args[args.index("-i") + 1]
        name = [] if "-I" in args or "-i" in args else ["-i", cid]
        p = Proc([self.sub_bin, *(conn or self.case.conn()), *name,
                  *args, *self.keys], env=env)
        self.case.procs.append(p)
        if "-I" in args:  # mosquitto's and ours: the prefix, then the PID
            cid = args[args.index("-I") + 1] + str(p.p.pid)
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline and p.p.poll() is None:
            if ("\n%s " % cid) in self.case.broker.log().replace(": ", "\n"):
                return p
            time.sleep(0.05)
        return p


class Scenario:
    """before: publisher runs (each a list of its arguments) before the
    subscriber starts; after: once it is subscribed. The subscriber exits
    by itself (-C, -W, -E, ...)."""

    def __init__(self, sub, after=(), before=(), tls=False, raw=False,
                 env=None):
        self.sub, self.after, self.before, self.tls = sub, after, before, tls
        # raw: e2e-sub with --raw-output, for payloads with control
        # characters (escaped by default, e2e-sub(1) OUTPUT).
        self.raw = raw
        self.env = dict(os.environ, **env) if env else None


def with_stdin(args, data):
    """A publisher run that reads data on its stdin."""
    return (list(args), data)


T = "parity/a"
M = ["-t", T, "-m", "hello"]


def one(*sub_extra, after=(M,), **kw):
    return Scenario(["-t", T, "-C", "1", "-W", "5", *sub_extra], after=after,
                    **kw)


def publishing(*pub_extra, **kw):
    return one(after=([*pub_extra],), **kw)


# A scenario for every option the table calls "same" (key: mosquitto's
# spelling; "pub:" / "sub:" when the two tools need different ones).
SCENARIOS = {
    "pub:-t": publishing(*M),
    "pub:-m": publishing("-t", T, "-m", "a message"),
    "pub:-n": publishing("-t", T, "-n"),
    "pub:-r": one(after=(), before=([*M, "-r", "-q", "1"],)),
    "pub:-q": one("-F", "%q", "-q", "2", after=([*M, "-q", "1"],)),
    "pub:-V": publishing(*M, "-V", "mqttv5"),
    "pub:-k": publishing(*M, "-k", "30"),
    "pub:-i": publishing(*M, "-i", "parity-pub"),
    "pub:-I": publishing(*M, "-I", "parity-pub-"),
    "pub:-c": publishing(*M, "-c", "-i", "parity-persistent"),
    "pub:-x": publishing(*M, "-V", "mqttv5", "-x", "60"),
    "pub:-L": publishing("-L", "mqtt://someone:pw@127.0.0.1:{port}/" + T,
                         "-m", "by URL"),
    "sub:-L": Scenario(["-L", "mqtt://127.0.0.1:{port}/" + T, "-C", "1",
                        "-W", "5"], after=(M,)),
    "pub:-M": Scenario(["-t", T, "-C", "4", "-W", "5", "-q", "1"],
                       after=([*M, "-q", "1", "-M", "1", "--repeat", "4"],)),
    "pub:--repeat": Scenario(["-t", T, "-C", "3", "-W", "5"],
                             after=([*M, "--repeat", "3"],)),
    "pub:--repeat-delay": Scenario(["-t", T, "-C", "2", "-W", "5", "-F",
                                    "%p"], after=([*M, "--repeat", "2",
                                                   "--repeat-delay", "0.3"],)),
    "pub:-f": publishing("-t", T, "-f", "{file}", raw=True),
    "pub:-s": one(after=(with_stdin(["-t", T, "-s"], b"all\nof it\n"),),
                  raw=True),
    "pub:-l": Scenario(["-t", T, "-C", "2", "-W", "5"],
                       after=(with_stdin(["-t", T, "-l"], b"one\ntwo\n"),)),
    "pub:--quiet": publishing(*M, "--quiet"),
    "pub:-u": publishing(*M, "-u", "someone"),
    "pub:-P": publishing(*M, "-u", "someone", "-P", "secret"),
    "sub:-t": one(),
    "sub:-C": Scenario(["-t", T, "-C", "2", "-W", "5"], after=(M, M, M)),
    "sub:-W": Scenario(["-t", T, "-W", "1"]),
    "sub:-v": one("-v"),
    "sub:-N": one("-N"),
    "sub:-R": one("-R", before=([*M, "-r"],),
                  after=(["-t", T, "-m", "live"],)),
    "sub:-q": one("-q", "1", "-F", "%q", after=([*M, "-q", "1"],)),
    "pub:--help": "test_help_and_version_exit_as_mosquittos",
    "sub:--help": "test_help_and_version_exit_as_mosquittos",
    "sub:-T": Scenario(["-t", "parity/#", "-T", "parity/b", "-C", "1", "-v",
                        "-W", "5"],
                       after=(["-t", "parity/b", "-m", "no"], M)),
    "sub:--retained-only": Scenario(
        ["-t", T, "--retained-only", "-W", "5", "-v"],
        before=([*M, "-r"],), after=(["-t", T, "-m", "live"],)),
    "sub:-E": Scenario(["-t", T, "-E"]),
    "sub:--pretty": "test_pretty_json_is_laid_out_as_mosquittos",
    "sub:-U": "test_unsubscribe_ends_a_persistent_subscription",
    "sub:-k": one("-k", "30"),
    "sub:-i": one(),  # Family.start_sub names every subscriber with -i
    # OpenSSL's default trust store is SSL_CERT_FILE when set: the test CA.
    # (tls="os": both ends take --tls-use-os-certs instead of --cafile.)
    "sub:--tls-use-os-certs": one(tls="os", env={"SSL_CERT_FILE": "{ca}"}),
    "pub:--tls-use-os-certs": publishing(*M, tls="os",
                                         env={"SSL_CERT_FILE": "{ca}"}),
    "sub:-I": one("-I", "parity-sub-"),
    "sub:-c": one("-c", "-q", "1", after=([*M, "-q", "1"],)),
    "sub:-V": one("-V", "mqttv5"),
    "sub:-x": one("-V", "mqttv5", "-x", "60"),
    "sub:--quiet": one("--quiet"),
    "sub:-u": one("-u", "someone"),
    "sub:-P": one("-u", "someone", "-P", "secret"),
    # -D: what the publisher sets, as the subscriber prints it (both
    # families print MQTT 5 properties with -F); the subscriber's own -D
    # subscribe asks the broker to tag what it forwards.
    "pub:-D": Scenario(["-t", T, "-C", "1", "-W", "5", "-V", "mqttv5", "-F",
                        "%C|%P|%R|[%5E]|[%-3F]|%D|%p"],
                       after=([*M, *PUBLISH_PROPS],)),
    "pub:--property": Scenario(["-t", T, "-C", "1", "-W", "5", "-F", "%C",
                                "--property", "connect", "user-property",
                                "a", "b"],
                               after=([*M, "--property", "publish",
                                       "content-type", "text/plain"],)),
    "sub:-D": one("-D", "subscribe", "subscription-identifier", "7", "-D",
                  "subscribe", "user-property", "k", "v", "-F", "%S|%p"),
}
# The Will: a publisher killed (a test of its own).
for _opt in ("--will-topic", "--will-payload", "--will-qos",
             "--will-retain"):
    SCENARIOS["pub:" + _opt] = "test_will_fires_as_mosquittos"
for _tool in ("pub", "sub"):
    for _opt, _extra in (("-h", []), ("-p", []), ("--cafile", []),
                         ("--insecure", ["--insecure"]),
                         ("--tls-version", ["--tls-version", "tlsv1.2"]),
                         ("--ciphers", ["--ciphers",
                                        "ECDHE-ECDSA-AES128-GCM-SHA256"]),
                         ("--tls-alpn", ["--tls-alpn", "mqtt"]),
                         ("--capath", ["--capath", "{capath}"]),
                         ("--cert", ["--cert", "{cert}", "--key", "{key}"]),
                         ("--key", ["--key", "{key}", "--cert", "{cert}"])):
        tls = _opt not in ("-h", "-p")
        SCENARIOS["%s:%s" % (_tool, _opt)] = (
            publishing(*M, *_extra, tls=tls) if _tool == "pub"
            else one(*_extra, tls=tls))


class Parity(CliCase):
    broker_options = {"tls": True, "extra": "log_type subscribe"}

    @classmethod
    def setUpClass(cls):
        # A TLS-PSK listener too (--psk): its key file in a directory of
        # its own, made before the broker starts.
        cls.pskdir = tempfile.mkdtemp(prefix="e2e-psk-")
        cls.psk_port = free_port()
        cls.broker_options = dict(
            Parity.broker_options, extra=Parity.broker_options["extra"] +
            "\n" + psk_listener(cls.pskdir, cls.psk_port))
        super().setUpClass()
        wait_for_port(cls.psk_port)
        cls.table = read_table()
        cls.mosq = {"pub": mosquitto_options(MOSQUITTO_PUB),
                    "sub": mosquitto_options(MOSQUITTO_SUB)}

        cls.payload_file = os.path.join(cls.classdir, "payload")
        with open(cls.payload_file, "wb") as f:
            f.write(b"from a file\n")
        cls.capath = os.path.join(cls.classdir, "capath")
        os.mkdir(cls.capath)
        h = subprocess.run([os.environ.get("OPENSSL") or "openssl", "x509",
                            "-hash", "-noout", "-in", cls.broker.ca_cert],
                           capture_output=True, check=True, timeout=BOUND)
        os.symlink(cls.broker.ca_cert, os.path.join(
            cls.capath, h.stdout.decode().strip() + ".0"))

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.pskdir, ignore_errors=True)

    def tls_conn(self, tls):
        conn = ["-h", self.broker.host, "-p", str(self.broker.tls_port)]
        if tls == "os":
            return conn + ["--tls-use-os-certs"]
        return conn + ["--cafile", self.broker.ca_cert]

    def fill(self, args):
        """A scenario's arguments with this run's paths and ports."""
        v = {"file": self.payload_file, "capath": self.capath,
             "cert": self.broker.client_cert, "key": self.broker.client_key,
             "tls_port": str(self.broker.tls_port),
             "ca": self.broker.ca_cert, "port": str(self.broker.port)}
        for name, value in v.items():
            args = [a.replace("{%s}" % name, value) for a in args]
        return args

    def cells(self, status):
        for opt, (pub, sub, note) in sorted(self.table.items()):
            for tool, st in (("pub", pub), ("sub", sub)):
                if st == status:
                    yield tool, opt, note

    def test_table_lists_exactly_mosquittos_options(self):
        self.assertGreater(len(self.mosq["pub"]), 40)
        self.assertGreater(len(self.mosq["sub"]), 45)
        for i, tool in enumerate(("pub", "sub")):
            in_table = {opt for opt, row in self.table.items()
                        if row[i] != "-"}
            self.assertEqual(in_table, self.mosq[tool], tool)
        for opt, row in self.table.items():
            self.assertLessEqual({row[0], row[1]}, STATUSES, opt)

    def test_refused_options_say_why_in_one_line(self):
        for tool, opt, note in self.cells("refused"):
            prog = PUB if tool == "pub" else SUB
            with self.subTest(tool=tool, option=opt):
                r = subprocess.run([prog, opt, "x", "-t", T],
                                   capture_output=True, timeout=BOUND)
                self.assertEqual(r.returncode, 1)
                self.assertEqual(
                    r.stderr.decode(),
                    "e2e-%s: %s is not supported: %s\n" % (tool, opt, note))

    def run_family(self, sc, ours):
        fam = Family(self, ours)
        env = sc.env and {k: self.fill([v])[0] for k, v in sc.env.items()}
        raw = ["--raw-output"] if ours and sc.raw else []
        conn = self.tls_conn(sc.tls) if sc.tls else None
        runs = [r if isinstance(r, tuple) else (r, None)
                for r in (*sc.before, *sc.after)]
        topics = {a[i + 1] for a, _ in runs
                  for i, w in enumerate(a) if w == "-t"}
        for args, data in runs[:len(sc.before)]:
            r = fam.pub(*self.fill(args), conn=conn, input=data, env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
        sub = fam.start_sub(*self.fill(sc.sub), *raw, conn=conn, env=env)
        pubs = [fam.pub(*self.fill(args), conn=conn, input=data,
                        env=env).returncode
                for args, data in runs[len(sc.before):]]
        rc = sub.finish()
        for t in topics:  # clear what was retained, for the next family
            fam.pub("-t", t, "-r", "-n")
        return {"stdout": sub.out, "sub exit": rc, "pub exits": pubs}

    def test_same_options_behave_as_mosquittos(self):
        for tool, opt, _ in self.cells("same"):
            key = "%s:%s" % (tool, opt)
            with self.subTest(option=key):
                self.assertIn(key, SCENARIOS, "no scenario for it")
                sc = SCENARIOS[key]
                if isinstance(sc, str):  # shown by a test of its own
                    self.assertTrue(hasattr(self, sc), sc)
                    continue
                theirs = self.run_family(sc, ours=False)
                mine = self.run_family(sc, ours=True)
                self.assertEqual(mine, theirs)

    def test_differs_remove_retained_clears_but_never_prints_the_clear(self):
        # Both clear the retained message (a later subscriber gets
        # nothing); the empty clearing message comes back to the
        # subscriber: mosquitto_sub prints "TOPIC (null)", e2e-sub never
        # delivers an empty payload (issue 14 item 6; counted with -d).
        seen = []
        for ours in (False, True):
            fam = Family(self, ours)
            r = fam.pub("-t", "parity/r", "-m", "kept", "-r", "-q", "1")
            self.assertEqual(r.returncode, 0, r.stderr)
            first = fam.start_sub("-t", "parity/r", "-v",
                                  "--remove-retained", "-W", "2")
            rc1 = first.finish()
            after = fam.start_sub("-t", "parity/r", "-v", "-W", "1")
            rc2 = after.finish()  # before reading what it printed
            seen.append((first.out, rc1, after.out, rc2))
        self.assertEqual(seen[0], (b"parity/r kept\nparity/r (null)\n", 27,
                                   b"", 27))
        self.assertEqual(seen[1], (b"parity/r kept\n", 27, b"", 27))

    def test_default_option_files_as_mosquittos(self):
        # ~/.config/mosquitto_sub and ~/.config/e2e_sub (mosquitto's
        # format: "option argument", # comments), under a test HOME.
        home = os.path.join(self.dir, "home")
        os.makedirs(os.path.join(home, ".config"))
        text = "# as mosquitto's\n-v\n-C 1\n-F [%t] %p\n"
        for name in ("mosquitto_sub", "e2e_sub"):
            with open(os.path.join(home, ".config", name), "w") as f:
                f.write(text)
        env = dict(os.environ, HOME=home)
        env.pop("XDG_CONFIG_HOME", None)
        sc = Scenario(["-t", T, "-W", "5"], after=(M,), env=env)
        mine = self.run_family(sc, ours=True)
        self.assertEqual(mine, self.run_family(sc, ours=False))
        self.assertEqual(mine["stdout"], b"[parity/a] hello\n")

    def test_an_unknown_option_in_the_option_file_names_the_file(self):
        conf = os.path.join(self.dir, "xdg")
        os.makedirs(conf)
        with open(os.path.join(conf, "e2e_pub"), "w") as f:
            f.write("--no-such-option\n")
        r = subprocess.run([PUB, *M, "-K", self.keyring],
                           env=dict(os.environ, XDG_CONFIG_HOME=conf),
                           capture_output=True, timeout=BOUND)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"--no-such-option", r.stderr)
        self.assertIn(os.path.join(conf, "e2e_pub").encode(), r.stderr)

    def test_a_name_that_does_not_resolve_is_a_lookup_error(self):
        # "bad..host" (an empty label) fails in the resolver itself: no
        # query leaves the machine.
        a = subprocess.run([MOSQUITTO_PUB, "-h", "bad..host", *M],
                           capture_output=True, timeout=BOUND)
        b = subprocess.run([PUB, "-h", "bad..host", *M, "-K", self.keyring],
                           capture_output=True, timeout=BOUND)
        self.assertEqual((b.returncode, a.returncode), (1, 1))
        self.assertIn(b"Lookup error", a.stderr)
        self.assertIn(b": Lookup error (", b.stderr)

    def test_url_errors_as_mosquittos(self):
        for url, words in (("http://h/t", "unsupported url scheme"),
                           ("mqtt://127.0.0.1", "topic")):
            a = subprocess.run([MOSQUITTO_PUB, "-L", url, "-m", "x"],
                               capture_output=True, timeout=BOUND)
            b = subprocess.run([PUB, "-L", url, "-m", "x", "-K",
                                self.keyring], capture_output=True,
                               timeout=BOUND)
            self.assertEqual((b.returncode, a.returncode), (1, 1), url)
            self.assertIn(words, a.stderr.decode().lower(), url)
            self.assertIn(words, b.stderr.decode().lower(), url)

    def test_url_password_is_wiped_from_the_command_line(self):
        sub = Proc([SUB, "-L", "mqtt://u:hunter2@127.0.0.1:%d/%s"
                    % (self.broker.port, T), "-K", self.keyring, "-d"])
        self.procs.append(sub)
        sub.wait_stderr("connected and subscribed")
        with open("/proc/%d/cmdline" % sub.p.pid, "rb") as f:
            cmdline = f.read()
        self.assertIn(b"mqtt://u:", cmdline)
        self.assertNotIn(b"hunter2", cmdline)

    def test_unsubscribe_ends_a_persistent_subscription(self):
        # A persistent session subscribed to parity/u and parity/k; a
        # later run with -U parity/u leaves only parity/k: what is
        # published meanwhile is queued for parity/k alone.
        seen = []
        for ours in (False, True):
            fam = Family(self, ours)
            cid = ["-c", "-q", "1", "-i", "parity-u-%d" % ours]
            runs = [fam.start_sub(*cid, "-t", "parity/u", "-t", "parity/k",
                                  "-E"),
                    fam.start_sub(*cid, "-t", "parity/k", "-U", "parity/u",
                                  "-E")]
            rcs = [p.finish() for p in runs]
            for t in ("parity/u", "parity/k"):
                fam.pub("-t", t, "-m", "queued " + t, "-q", "1")
            last = fam.start_sub(*cid, "-t", "parity/k", "-v", "-W", "2")
            rc = last.finish()  # before reading what it printed
            seen.append((rcs, last.out, rc))
        self.assertEqual(seen[1], seen[0])
        self.assertEqual(seen[0], ([0, 0], b"parity/k queued parity/k\n",
                                   27))

    def test_pretty_json_is_laid_out_as_mosquittos(self):
        sc = one("-F", "%j", "--pretty", "-V", "mqttv5")
        theirs = self.run_family(sc, ours=False)["stdout"].decode()
        mine = self.run_family(sc, ours=True)["stdout"].decode()
        # The lines both have, tst apart (the time differs): mosquitto's
        # fields come first in ours, in its order and layout.
        t_lines = theirs.splitlines()
        m_lines = mine.splitlines()
        self.assertEqual(t_lines[0], "{")
        self.assertEqual(m_lines[0], "{")
        self.assertRegex(m_lines[1], r'^\t"tst":\t"[^"]+",$')
        self.assertEqual(m_lines[2:6], t_lines[2:6])  # topic..payloadlen
        self.assertEqual(m_lines[6], t_lines[6] + ",")  # payload, then ours
        self.assertEqual(m_lines[-1], "}")
        self.assertEqual(json.loads(mine)["payload"], "hello")

    def test_help_and_version_exit_as_mosquittos(self):
        for theirs, mine in ((MOSQUITTO_PUB, PUB), (MOSQUITTO_SUB, SUB)):
            for opt in ("--help", "--version"):
                a = subprocess.run([theirs, opt], capture_output=True,
                                   timeout=BOUND)
                b = subprocess.run([mine, opt], capture_output=True,
                                   timeout=BOUND)
                self.assertEqual(b.returncode, a.returncode, opt)
                self.assertTrue(b.stdout, opt)

    def test_keepalive_bounds_are_mosquittos(self):
        for k in ("4", "5", "65535", "65536"):
            theirs = subprocess.run(
                [MOSQUITTO_PUB, *self.conn(), *M, "-k", k],
                capture_output=True, timeout=BOUND).returncode
            mine = Family(self, True).pub(*M, "-k", k).returncode
            self.assertEqual(mine, theirs, k)

    # The differences docs/PARITY.md states, each shown.

    def test_differs_debug_goes_to_stderr_not_stdout(self):
        # mosquitto_pub -d prints its debug lines on stdout; ours on
        # stderr, so that stdout stays the messages alone.
        a = subprocess.run([MOSQUITTO_PUB, *self.conn(), *M, "-d"],
                           capture_output=True, timeout=BOUND)
        b = Family(self, True).pub(*M, "-d")
        self.assertIn(b"PUBLISH", a.stdout)
        self.assertEqual(b.stdout, b"")
        self.assertIn(b"connecting to", b.stderr)

    FORMAT = ("[%5t]|[%-5t]|[%.1t]|[%8p]|[%-8p]|[%08p]|[%6x]|[%-6X]|[%5l]|"
              "[%-5l]|[%05l]|%q%r|%m|@@|[%5A]|[%3E]|%C|%P|%R|%%|\\t|\\e|\\0")

    def test_differs_format_widths_flags_and_conversions_as_mosquittos(self):
        sc = one("-q", "1", "-F", self.FORMAT,
                 after=([*M, "-q", "1"], ["-t", T, "-m", "é\"\\"]))
        sc.sub[sc.sub.index("-C") + 1] = "2"
        sc.raw = True  # e2e-sub escapes a backslash unless --raw-output
        mine = self.run_family(sc, ours=True)
        self.assertEqual(mine, self.run_family(sc, ours=False))
        self.assertEqual(mine["stdout"].count(b"\n"), 2)

    def test_differs_format_mqtt5_properties_as_mosquittos(self):
        props = ["-V", "mqttv5", "-D", "publish", "user-property", "k", "v",
                 "-D", "publish", "user-property", "k2", "v2",
                 "-D", "publish", "content-type", "text/plain",
                 "-D", "publish", "response-topic", "re/ply",
                 "-D", "publish", "message-expiry-interval", "300",
                 "-D", "publish", "payload-format-indicator", "1"]
        # mosquitto_pub sets the properties for both: they are not ours
        # to seal (the envelope authenticates topic and payload only).
        fmt = "%C|%P|%R|[%5E]|[%-3F]|%D|%t|%p"
        results = []
        envelope = self.sealed(b"p")  # before any subscriber of T runs
        for ours in (False, True):
            fam = Family(self, ours)
            sub = fam.start_sub("-t", T, "-C", "1", "-W", "5", "-V",
                                "mqttv5", "-F", fmt)
            r = subprocess.run(
                [MOSQUITTO_PUB, *self.conn(), *props, "-t", T, "-m", "p"]
                if not ours else
                [MOSQUITTO_PUB, *self.conn(), *props, "-t", T, "-s"],
                input=envelope if ours else None,
                capture_output=True, timeout=BOUND)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sub.finish(), 0)
            results.append(sub.out)
        self.assertEqual(results[1], results[0])
        self.assertEqual(results[0],
                         b"text/plain|k:v k2:v2|re/ply|[  300]|[1  ]||"
                         b"parity/a|p\n")

    def sealed(self, payload):
        """An envelope e2e-pub made for T, captured from the broker."""
        cap = Proc([MOSQUITTO_SUB, *self.conn(), "-t", T, "-C", "1", "-W",
                    "5", "-N", "-i", "parity-capture-%d" % time.monotonic_ns()])
        self.procs.append(cap)
        deadline = time.monotonic() + BOUND
        while ("parity-capture" not in self.broker.log().split(
                "subscribed")[-1] and time.monotonic() < deadline):
            time.sleep(0.05)
        time.sleep(0.2)
        Family(self, True).pub("-t", T, "-m", payload.decode())
        self.assertEqual(cap.finish(), 0)
        return cap.out

    J_PAYLOADS = ('{"k": [1, 2.50, {"z": null, "y": {"a": 1e3}}], "s": "\\u00e9"}',
                  "not json", "  [true, false]\n", '"a string"', "{} {}")

    def percent_J(self, *extra):
        """What both families print for -F '<%J>' over J_PAYLOADS, and
        e2e-sub's stderr."""
        n = str(len(self.J_PAYLOADS))
        sc = Scenario(["-t", T, "-C", n, "-W", "5", "-q", "1", "-F", "<%J>",
                       *extra], after=[["-t", T, "-m", p, "-q", "1"]
                                       for p in self.J_PAYLOADS])
        theirs = self.run_family(sc, ours=False)
        mine = self.run_family(sc, ours=True)
        self.assertEqual((mine["sub exit"], theirs["sub exit"]), (0, 0))
        return theirs["stdout"].decode(), mine["stdout"].decode()

    def test_differs_format_percent_J_embeds_the_payload_as_mosquittos(self):
        # The same object as mosquitto_sub's %J, cJSON's layout of the
        # payload byte for byte, our fields after it; a payload that is not
        # one JSON value prints nothing there (the format goes on).
        theirs, mine = self.percent_J()
        t_lines, m_lines = theirs.splitlines(), mine.splitlines()
        self.assertEqual(len(m_lines), len(self.J_PAYLOADS))
        self.assertEqual(t_lines[1], "<>")
        self.assertEqual(m_lines[1], "<>")
        self.assertEqual(t_lines[4], "<>")  # two values: not one JSON
        self.assertEqual(m_lines[4], "<>")
        for i in (0, 2, 3):
            t = json.loads(t_lines[i][1:-1])
            m = json.loads(m_lines[i][1:-1])
            self.assertEqual(list(m)[:len(t)], list(t))
            for k in ("topic", "qos", "retain", "payloadlen", "mid",
                      "payload"):
                self.assertEqual(m[k], t[k], k)
            self.assertNotIn("encoding", m)
            self.assertEqual(m["suite"], "aead")
            text = re.search(r',"payload":(.*)}>$', t_lines[i]).group(1)
            self.assertIn(',"payload":%s,"suite":' % text, m_lines[i])
        self.assertIn('"payload":{"k":[1,2.5,{"z":null,"y":{"a":1000}}],'
                      '"s":"\u00e9"}', mine)

    def test_differs_format_percent_J_pretty_as_mosquittos(self):
        theirs, mine = self.percent_J("--pretty")
        # The lines both have from "topic" to the payload's end (tst
        # differs; ours go on with our fields).
        t = theirs.split("\n")
        m = mine.split("\n")
        start = t.index('\t"topic":\t"%s",' % T)
        end = t.index("}>", start)
        self.assertEqual(m[start:end - 1], t[start:end - 1])
        self.assertEqual(m[end - 1], t[end - 1] + ",")

    def test_format_percent_J_not_json_says_so_on_stderr(self):
        sub = Family(self, True).start_sub("-t", T, "-C", "1", "-W", "5",
                                           "-F", "[%J]")
        Family(self, True).pub("-t", T, "-m", "{oops")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"[]\n")
        self.assertEqual(sub.err_lines, ["e2e-sub: -F %%J: the payload is "
                                         "not valid JSON on topic %s" % T])

    def test_differs_format_errors_as_mosquittos(self):
        for fmt, words in (("%", "incomplete format specifier"),
                           ("%-", "incomplete format specifier"),
                           ("%.1", "incomplete format specifier"),
                           ("%Z", "invalid format specifier 'Z'"),
                           ("@", "incomplete format specifier"),
                           ("\\", "incomplete escape specifier"),
                           ("\\Z", "invalid escape specifier 'Z'")):
            a = subprocess.run([MOSQUITTO_SUB, "-t", T, "-F", fmt],
                               capture_output=True, timeout=BOUND)
            b = subprocess.run([SUB, "-t", T, "-K", self.keyring, "-F", fmt],
                               capture_output=True, timeout=BOUND)
            self.assertEqual((b.returncode, a.returncode), (1, 1), fmt)
            self.assertIn(words.lower(), a.stderr.decode().lower(), fmt)
            self.assertEqual(b.stderr.decode(), "e2e-sub: -F: %s\n" % words)

    def test_differs_format_strftime_and_nanoseconds(self):
        sc = one("-F", "@Y-@m-@d @N|%U|%I")
        out = self.run_family(sc, ours=True)["stdout"].decode()
        self.assertRegex(out, r"^%s-\d\d-\d\d \d{9}\|\d+\.\d{9}\|"
                         r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}\n$"
                         % time.strftime("%Y"))

    def test_differs_json_has_mosquittos_fields_and_ours(self):
        sc = one("-F", "%j", "-q", "1", after=([*M, "-q", "1"],))
        theirs = json.loads(self.run_family(sc, ours=False)["stdout"])
        mine = json.loads(self.run_family(sc, ours=True)["stdout"])
        tst = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z[+-]\d{4}$"
        self.assertRegex(theirs["tst"], tst)
        self.assertRegex(mine["tst"], tst)
        for k in ("topic", "qos", "retain", "payloadlen", "mid", "payload"):
            self.assertEqual(mine[k], theirs[k], k)
        self.assertIsInstance(mine["sequence"], str)
        self.assertEqual(int(mine["sequence"]),
                         mine["epoch"] << 32 | mine["counter"])

    WILL = ["--will-topic", "parity/will", "--will-payload", "gone",
            "--will-qos", "1", "--will-retain"]

    def killed_with_will(self, fam, prog, *args):
        """prog with the Will options, connected, then SIGKILLed; a
        subscriber started after it gets the retained Will at QoS 1."""
        cid = "parity-will-%d" % time.monotonic_ns()
        p = Proc([prog, *self.conn(), "-i", cid, *self.WILL, *args,
                  *fam.keys], stdin=subprocess.PIPE)
        self.procs.append(p)
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline and cid not in self.broker.log():
            time.sleep(0.05)
        p.p.kill()
        p.p.wait(timeout=BOUND)
        sub = fam.start_sub("-t", "parity/will", "-C", "1", "-W", "5",
                            "-q", "1", "-F", "%t %q %r %p",
                            *(["--accept-no-clock"] if fam.ours else []))
        rc = sub.finish()
        fam.pub("-t", "parity/will", "-r", "-n")
        return rc, sub.out

    def test_will_fires_as_mosquittos(self):
        got = [self.killed_with_will(Family(self, ours), PUB if ours
                                     else MOSQUITTO_PUB, "-t", "parity/x",
                                     "-l")
               for ours in (False, True)]
        self.assertEqual(got[0], (0, b"parity/will 1 1 gone\n"))
        self.assertEqual(got[1], got[0])

    def test_differs_sub_will_needs_accept_no_clock(self):
        # e2e-sub's Will fires as mosquitto_sub's; a receiver takes it with
        # --accept-no-clock (killed_with_will adds it for ours).
        got = [self.killed_with_will(Family(self, ours), SUB if ours
                                     else MOSQUITTO_SUB, "-t", "parity/y")
               for ours in (False, True)]
        self.assertEqual(got[0], (0, b"parity/will 1 1 gone\n"))
        self.assertEqual(got[1], got[0])

    def test_differs_random_filter_is_the_percentage_it_says(self):
        # 100 % prints every message with ours; mosquitto_sub 2.0.11 reads
        # the chance in tenths of a per cent of a per mille (it scales by
        # 10, then draws out of 10000): 100 prints about one in ten.
        lines = b"".join(b"%d\n" % i for i in range(200))
        sc = Scenario(["-t", T, "-C", "200", "-W", "20", "--random-filter",
                       "100"], after=(with_stdin(["-t", T, "-l", "-q", "1"],
                                                 lines),))
        mine = self.run_family(sc, ours=True)
        theirs = self.run_family(sc, ours=False)
        self.assertEqual((mine["sub exit"], theirs["sub exit"]), (0, 0))
        self.assertEqual(mine["stdout"], lines)
        self.assertLess(theirs["stdout"].count(b"\n"), 100)

    def test_differs_psk_connects_as_mosquittos_a_wrong_key_exits_1(self):
        # The right key and identity: the same messages through both
        # families; a wrong key: both refused by the handshake, ours with
        # exit status 1 as for any connection failure.
        good = ["-h", "127.0.0.1", "-p", str(self.psk_port), "--psk",
                PSK_KEY, "--psk-identity", PSK_IDENTITY]
        sc = one()
        results = []
        for ours in (False, True):
            fam = Family(self, ours)
            sub = fam.start_sub(*sc.sub, conn=good)
            pubs = [fam.pub(*M, conn=good).returncode]
            bad = list(good)
            bad[bad.index("--psk") + 1] = PSK_KEY[:-1] + "0"
            wrong = fam.pub(*M, conn=bad)
            results.append((sub.finish(), sub.out, pubs, wrong.returncode))
        # mosquitto_pub's status depends on when it sees the TLS alert:
        # 8 (MOSQ_ERR_TLS) during its connect call, 1 after it.
        self.assertEqual(results[0][:3], (0, b"hello\n", [0]))
        self.assertIn(results[0][3], (1, 8))
        self.assertEqual(results[1], (0, b"hello\n", [0], 1))

    def test_differs_every_difference_has_its_check(self):
        for tool, opt, _ in self.cells("differs"):
            key = "%s:%s" % (tool, opt)
            self.assertIn(key, DIFFERS, "no check for it")
            self.assertTrue(hasattr(self, DIFFERS[key]), key)


# The test that shows each difference the table states.
DIFFERS = {"pub:-d": "test_differs_debug_goes_to_stderr_not_stdout",
           "sub:-d": "test_differs_debug_goes_to_stderr_not_stdout",
           "sub:-F":
               "test_differs_format_percent_J_embeds_the_payload_as_mosquittos",
           "pub:--psk":
               "test_differs_psk_connects_as_mosquittos_a_wrong_key_exits_1",
           "sub:--psk":
               "test_differs_psk_connects_as_mosquittos_a_wrong_key_exits_1",
           "pub:--psk-identity":
               "test_differs_psk_connects_as_mosquittos_a_wrong_key_exits_1",
           "sub:--psk-identity":
               "test_differs_psk_connects_as_mosquittos_a_wrong_key_exits_1",
           "sub:--random-filter":
               "test_differs_random_filter_is_the_percentage_it_says",
           "sub:--remove-retained":
               "test_differs_remove_retained_clears_but_never_prints_the_clear"}
for _opt in ("--will-topic", "--will-payload", "--will-qos",
             "--will-retain"):
    DIFFERS["sub:" + _opt] = "test_differs_sub_will_needs_accept_no_clock"


if __name__ == "__main__":
    main()
