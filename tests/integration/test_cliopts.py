#!/usr/bin/python3 -B
"""mosquitto's options that e2e-pub and e2e-sub took last (issue 14, item
3): --random-filter, --psk / --psk-identity, -D / --property and -F %J,
each through a real mosquitto. docs/PARITY.md has their rows;
test_parity.py checks the rows themselves and the documented differences.

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from broker import free_port, wait_for_port  # noqa: E402
from test_cli import (BOUND, MOSQUITTO_PUB, MOSQUITTO_SUB, PUB, SUB,  # noqa
                      CliCase, Proc, main)


PSK_IDENTITY = "e2e-psk-client"
PSK_KEY = "00c0ffee0123456789abcdef"


def psk_listener(workdir, port):
    """mosquitto configuration lines for a TLS-PSK listener on port that
    knows PSK_IDENTITY's PSK_KEY (the file goes in workdir)."""
    path = os.path.join(workdir, "psk")
    with open(path, "w") as f:
        # and a key of an odd digit count, read with a leading 0
        f.write("%s:%s\ne2e-odd:abc\n" % (PSK_IDENTITY, PSK_KEY))
    return "listener %d 127.0.0.1\npsk_hint e2e\npsk_file %s" % (port,
                                                                  path)


def numbered(n):
    """n messages for e2e-pub -l, one a line."""
    return b"".join(b"m%d\n" % i for i in range(n))


class RandomFilter(CliCase):
    """--random-filter chooses among accepted messages only, after
    verification: what it leaves out was accepted all the same."""

    def run_filter(self, chance, n, *extra):
        sub = self.start_sub("-t", "rf/a", "-C", str(n), "-W", "30",
                             "--random-filter", chance, *extra)
        self.pub("-t", "rf/a", "-l", "-q", "1", input=numbered(n))
        self.assertEqual(sub.finish(), 0, "\n".join(sub.err_lines))
        return sub

    def test_random_filter_100_prints_every_message(self):
        sub = self.run_filter("100", 200)
        self.assertEqual(sub.out, numbered(200))

    def test_random_filter_50_prints_about_half(self):
        # Binomial(1000, 0.5): mean 500, standard deviation 16; the bounds
        # are 12 deviations away (never reached by chance).
        sub = self.run_filter("50", 1000)
        lines = sub.out.splitlines()
        self.assertGreater(len(lines), 300)
        self.assertLess(len(lines), 700)
        self.assertTrue(set(lines) <= set(numbered(1000).splitlines()))
        self.assertEqual(lines, sorted(lines, key=lambda w: int(w[1:])))

    def test_random_filter_counts_unprinted_messages_for_C(self):
        # 0.1 %: almost nothing printed, yet -C 50 ends after 50 (exit 0,
        # not -W's 27): the unprinted ones were accepted.
        sub = self.run_filter("0.1", 50)
        self.assertLess(len(sub.out.splitlines()), 50)
        self.assertIn("accepted messages left unprinted by "
                      "--random-filter", "\n".join(sub.err_lines))

    def test_random_filter_never_hides_a_rejection(self):
        sub = self.start_sub("-t", "rf/b", "-W", "2",
                             "--random-filter", "0.1")
        r = subprocess.run([MOSQUITTO_PUB, *self.conn(), "-t", "rf/b",
                            "-m", "forged"], timeout=BOUND)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(sub.finish(), 27)
        self.assertEqual(len(sub.rejections()), 1)
        self.assertRejected(sub.rejections()[0], "rf/b", "not-e2e")

    def test_random_filter_out_of_range_is_a_usage_error(self):
        for chance in ("0", "0.05", "100.1", "1000", "abc", ""):
            r = subprocess.run([SUB, "-t", "rf/c", "-K", self.keyring,
                                "--random-filter", chance],
                               capture_output=True, timeout=BOUND)
            self.assertEqual(r.returncode, 1, chance)
            self.assertEqual(r.stderr.decode(),
                             "e2e-sub: invalid --random-filter '%s': a "
                             "chance in percent from 0.1 to 100.0\n"
                             % chance)


class Psk(CliCase):
    """--psk / --psk-identity against a mosquitto PSK listener (TLS 1.3,
    OpenSSL's default), next to a certificate-only TLS listener."""

    @classmethod
    def setUpClass(cls):
        cls.pskdir = tempfile.mkdtemp(prefix="e2e-psk-")
        cls.psk_port = free_port()
        cls.broker_options = {"tls": True, "extra": psk_listener(
            cls.pskdir, cls.psk_port)}
        super().setUpClass()
        wait_for_port(cls.psk_port)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        shutil.rmtree(cls.pskdir, ignore_errors=True)

    def psk(self, key=PSK_KEY, identity=PSK_IDENTITY, port=None):
        return ["-h", "127.0.0.1", "-p", str(port or self.psk_port),
                "--psk", key, "--psk-identity", identity]

    def run_tool(self, prog, *args, env=None):
        return subprocess.run([prog, *args, "-K", self.keyring],
                              capture_output=True, timeout=BOUND, env=env)

    def test_psk_carries_messages_both_ways(self):
        sub = Proc([SUB, *self.psk(), "-t", "psk/a", "-C", "1", "-W", "10",
                    "-d", "-K", self.keyring])
        self.procs.append(sub)
        sub.wait_stderr("connected and subscribed")
        r = self.run_tool(PUB, *self.psk(), "-t", "psk/a", "-m", "by psk")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"by psk\n")

    def test_psk_wrong_key_or_identity_is_refused(self):
        for args in (self.psk(key=PSK_KEY[:-1] + "0"),
                     self.psk(identity="someone-else")):
            r = self.run_tool(PUB, *args, "-t", "psk/b", "-m", "no")
            self.assertEqual(r.returncode, 1, args)
            self.assertRegex(r.stderr.decode(), r"^e2e-pub: cannot connect "
                             r"to ssl://127\.0\.0\.1:\d+: TCP/TLS connect "
                             r"failure\n$")

    def test_psk_never_accepts_a_server_with_only_a_certificate(self):
        # The certificate listener's CA is trusted here (SSL_CERT_FILE is
        # OpenSSL's default store): with --psk only the key may
        # authenticate the server, so the handshake must still fail.
        env = dict(os.environ, SSL_CERT_FILE=self.broker.ca_cert)
        ok = self.run_tool(PUB, "-h", "127.0.0.1", "-p",
                           str(self.broker.tls_port), "--tls-use-os-certs",
                           "-t", "psk/c", "-m", "cert", env=env)
        self.assertEqual(ok.returncode, 0, ok.stderr)  # the CA is trusted
        r = self.run_tool(PUB, *self.psk(port=self.broker.tls_port), "-t",
                          "psk/c", "-m", "psk", env=env)
        self.assertEqual(r.returncode, 1, r.stderr)

    def test_psk_odd_digit_count_reads_with_a_leading_zero(self):
        # As mosquitto (client and broker) reads it: abc is 0abc.
        for key in ("abc", "0abc"):
            r = self.run_tool(PUB, *self.psk(key=key, identity="e2e-odd"),
                              "-t", "psk/o", "-m", "odd")
            self.assertEqual(r.returncode, 0, (key, r.stderr))
        r = self.run_tool(PUB, *self.psk(key="00abc", identity="e2e-odd"),
                          "-t", "psk/o", "-m", "odd")
        self.assertEqual(r.returncode, 1)

    def test_psk_key_is_wiped_from_the_command_line(self):
        sub = Proc([SUB, *self.psk(), "-t", "psk/d", "-d", "-K",
                    self.keyring])
        self.procs.append(sub)
        sub.wait_stderr("connected and subscribed")
        with open("/proc/%d/cmdline" % sub.p.pid, "rb") as f:
            cmdline = f.read()
        self.assertIn(b"--psk\0", cmdline)
        self.assertIn(PSK_IDENTITY.encode(), cmdline)
        self.assertNotIn(PSK_KEY.encode(), cmdline)

    def test_psk_usage_errors(self):
        for args, words in (
                (["--psk", PSK_KEY], "--psk-identity required if --psk "
                 "used"),
                (["--psk-identity", "x"], "--psk-identity goes with --psk"),
                (["--psk", "12g4", "--psk-identity", "x"],
                 "invalid --psk: the key in hexadecimal digits (at most "
                 "1024)"),
                (["--psk", "", "--psk-identity", "x"],
                 "invalid --psk: the key in hexadecimal digits (at most "
                 "1024)"),
                (self.psk() + ["--cafile", self.broker.ca_cert],
                 "only one of --psk or --cafile/--capath/"
                 "--tls-use-os-certs may be used at once")):
            r = self.run_tool(PUB, *args, "-t", "psk/e", "-m", "x")
            self.assertEqual((r.returncode, r.stderr.decode()),
                             (1, "e2e-pub: %s\n" % words), args)


# mosquitto_pub -D arguments that set every property a PUBLISH carries
# through mosquitto to a subscriber (the topic alias is the broker's own);
# names and commands in any case, as mosquitto's.
PUBLISH_PROPS = ["-D", "publish", "user-property", "k", "v",
                 "-D", "Publish", "User-Property", "k2", "v2",
                 "-D", "publish", "content-type", "text/plain",
                 "-D", "publish", "response-topic", "re/ply",
                 "-D", "publish", "correlation-data", "c0rr",
                 "-D", "publish", "message-expiry-interval", "300",
                 "-D", "publish", "payload-format-indicator", "1",
                 "-D", "publish", "topic-alias", "2"]


class Property(CliCase):
    """-D / --property: mosquitto's syntax, names and rules, on the
    packets a real mosquitto acts on."""

    broker_options = {"extra": "log_type subscribe"}

    def mosquitto_sub(self, *args):
        cid = "props-%d" % time.monotonic_ns()
        p = Proc([MOSQUITTO_SUB, *self.conn(), "-i", cid, *args])
        self.procs.append(p)
        deadline = time.monotonic() + BOUND
        while ("\n%s " % cid) not in self.broker.log().replace(": ", "\n") \
                and time.monotonic() < deadline:  # its subscription
            time.sleep(0.05)
        return p

    def test_publish_properties_reach_mosquitto_sub_as_mosquitto_pubs(self):
        fmt = "%C|%P|%R|[%5E]|[%-3F]|%D|%t"
        seen = []
        for cmd in ([MOSQUITTO_PUB, *self.conn()],
                    [PUB, *self.conn(), "-K", self.keyring]):
            sub = self.mosquitto_sub("-t", "props/a", "-V", "5", "-C", "1",
                                     "-W", "5", "-F", fmt)
            r = subprocess.run([*cmd, "-t", "props/a", "-m", "x",
                                *PUBLISH_PROPS], capture_output=True,
                               timeout=BOUND)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(sub.finish(), 0)
            seen.append(sub.out)
        self.assertEqual(seen[1], seen[0])
        self.assertEqual(seen[0], b"text/plain|k:v k2:v2|re/ply|[  300]|"
                         b"[1  ]|c0rr|props/a\n")

    def test_will_properties_reach_mosquitto_sub_as_mosquitto_pubs(self):
        # -D will ...: the Will carries them when the broker fires it.
        seen = []
        for cmd in ([MOSQUITTO_PUB, *self.conn()],
                    [PUB, *self.conn(), "-K", self.keyring]):
            sub = self.mosquitto_sub("-t", "props/will", "-V", "5", "-C",
                                     "1", "-W", "5", "-F", "%P|%C|%t")
            cid = "props-will-%d" % time.monotonic_ns()
            pub = Proc([*cmd, "-i", cid, "-t", "props/x", "-l",
                        "--will-topic", "props/will", "--will-payload", "w",
                        "-D", "will", "user-property", "k", "v",
                        "-D", "will", "content-type", "text/plain"],
                       stdin=subprocess.PIPE)
            self.procs.append(pub)
            deadline = time.monotonic() + BOUND
            while cid not in self.broker.log() and \
                    time.monotonic() < deadline:  # connected
                time.sleep(0.05)
            pub.p.kill()
            pub.p.wait(timeout=BOUND)
            self.assertEqual(sub.finish(), 0)
            seen.append(sub.out)
        self.assertEqual(seen[0], b"k:v|text/plain|props/will\n")
        self.assertEqual(seen[1], seen[0])

    def test_subscription_identifier_tags_what_e2e_sub_receives(self):
        sub = self.start_sub("-t", "props/b", "-C", "1", "-W", "5", "-D",
                             "subscribe", "subscription-identifier", "7",
                             "-F", "%S|%p")
        self.pub("-t", "props/b", "-m", "tagged")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"7|tagged\n")

    def test_connect_maximum_packet_size_keeps_big_messages_away(self):
        # The broker sends nothing larger than the subscriber's CONNECT
        # allows: the big message is dropped, the small one delivered.
        sub = self.start_sub("-t", "props/c", "-C", "1", "-W", "5", "-D",
                             "connect", "maximum-packet-size", "300")
        self.pub("-t", "props/c", "-m", "x" * 1000)
        self.pub("-t", "props/c", "-m", "small")
        self.assertEqual(sub.finish(), 0)
        self.assertEqual(sub.out, b"small\n")

    def persistent_sub(self, cid, *extra):
        return self.start_sub("-t", "props/d", "-q", "1", "-c", "-i", cid,
                              "-x", "60", *extra)

    def test_disconnect_session_expiry_0_ends_a_persistent_session(self):
        for ends, cid in ((False, "props-keep"), (True, "props-end")):
            extra = ["-D", "disconnect", "session-expiry-interval",
                     "0"] if ends else []
            self.assertEqual(self.persistent_sub(cid, "-E",
                                                 *extra).finish(), 0)
            self.pub("-t", "props/d", "-m", "queued", "-q", "1")
            later = self.persistent_sub(cid, "-W", "2")
            self.assertEqual(later.finish(), 27)
            self.assertEqual(later.out, b"" if ends else b"queued\n", cid)

    def test_property_errors_as_mosquittos(self):
        # (arguments, mosquitto's words): both exit 1 before connecting,
        # ours in the same words.
        cases = (
            (["-D", "pubsub", "content-type", "x"],
             "invalid command given in --property argument"),
            (["-D", "publish", "colour", "x"],
             "invalid property name given in --property argument"),
            (["-D", "connect", "content-type", "x"],
             "content-type property not allowed for connect in --property "
             "argument"),
            (["-D", "publish", "subscription-identifier", "3"],
             "subscription-identifier property not supported for publish "
             "in --property argument"),
            (["-D", "auth", "user-property", "a", "b"],
             "user-property property not supported for auth in --property "
             "argument"),
            (["-D", "publish", "user-property", "k"],
             "--property argument given but not enough arguments "
             "specified"),
            (["-D", "publish", "payload-format-indicator", "256"],
             "property value (256) out of range for property "
             "payload-format-indicator"),
            (["-D", "publish", "content-type", "a", "-D", "publish",
              "content-type", "b"], "duplicate property in property list"),
            (["-D", "connect", "session-expiry-interval", "9", "-c", "-i",
              "x"], "duplicate property in property list"))
        for args, words in cases:
            a = subprocess.run([MOSQUITTO_PUB, *self.conn(), "-t", "props/e",
                                "-m", "x", *args], capture_output=True,
                               timeout=BOUND)
            b = subprocess.run([PUB, *self.conn(), "-t", "props/e", "-m",
                                "x", "-K", self.keyring, *args],
                               capture_output=True, timeout=BOUND)
            self.assertEqual((b.returncode, a.returncode), (1, 1), args)
            self.assertIn(words, a.stderr.decode().lower(), args)
            self.assertIn(words, b.stderr.decode().lower(), args)
            self.assertEqual(b.stderr.count(b"\n"), 1, args)

    def test_property_after_mqtt_3_is_refused(self):
        r = self.pub("-t", "props/f", "-m", "x", "-D", "publish",
                     "content-type", "x", "-V", "mqttv311", expect=1)
        self.assertEqual(r.stderr, b"e2e-pub: -D: MQTT 5 properties need "
                         b"-V mqttv5\n")

    def test_property_in_an_option_file_has_no_words_after_it(self):
        conf = self.path("xdg")
        os.makedirs(conf)
        with open(os.path.join(conf, "e2e_pub"), "w") as f:
            f.write("-D publish content-type text/plain\n-q 1\n")
        r = self.pub("-t", "props/g", "-m", "x", expect=1,
                     env=dict(os.environ, XDG_CONFIG_HOME=conf))
        self.assertIn(b"--property argument given but not enough "
                      b"arguments specified", r.stderr)

    def test_will_properties_are_taken(self):
        # Kept for the Will, as mosquitto's; without one they go nowhere.
        self.pub("-t", "props/h", "-m", "x", "-D", "will", "content-type",
                 "text/plain", "-D", "will", "will-delay-interval", "5")


def built_with_cjson():
    """Whether configure found cJSON (config.h of this build)."""
    build = os.environ.get("top_builddir") or os.path.join(HERE, "..", "..")
    with open(os.path.join(build, "config.h")) as f:
        return "#define HAVE_CJSON 1" in f.read()


class PercentJ(CliCase):
    """-F %J: the payload as JSON (cJSON); test_parity.py compares it with
    mosquitto_sub's."""

    def test_percent_J_escapes_what_e2e_sub_never_prints_raw(self):
        # A right-to-left override and a C1 control written as JSON
        # escapes, and a byte that is not UTF-8 (cJSON takes it): printed
        # as \uXXXX and \ufffd, never as the characters themselves.
        if not built_with_cjson():
            self.skipTest("built without cJSON")
        sub = self.start_sub("-t", "j/a", "-C", "1", "-W", "5", "-F", "%J")
        self.pub("-t", "j/a", "-s",
                 input=b'{"s": "a\\u202eb\\u0085", "b": "\xff"}')
        self.assertEqual(sub.finish(), 0)
        self.assertIn(b'"payload":{"s":"a\\u202eb\\u0085","b":"\\ufffd"}',
                      sub.out)
        self.assertTrue(all(c < 0x80 for c in sub.out), sub.out)

    def test_percent_J_refused_in_one_line_without_cjson(self):
        r = subprocess.run([SUB, "-t", "j/b", "-K", self.keyring, "-F",
                            "%J", "-W", "1", *self.conn()],
                           capture_output=True, timeout=BOUND)
        if built_with_cjson():  # then it runs (and times out: 27)
            self.assertEqual((r.returncode, r.stderr), (27, b""))
        else:
            self.assertEqual((r.returncode, r.stderr.decode()), (
                1, "e2e-sub: -F: %J is not supported: e2e-sub was built "
                "without cJSON (libcjson-dev)\n"))


if __name__ == "__main__":
    main()
