#!/usr/bin/python3 -B
"""Consumer groups with the replay state in Redis over TLS (--state
rediss://..., docs/GROUPS.md section 4), through a real mosquitto and a
real redis-server that listens only on a tls-port, both started here on
free loopback ports. The certificates are made here too
(tests/redis_tls_certs.sh): a CA, a server certificate for IP 127.0.0.1
and DNS redis.test (nothing depends on name resolution), a client
certificate, and another CA.

Over TLS the group works as over TCP (the union of the members' output
holds every genuine message once, every copy is refused as "replay", and
so across a Redis killed and restarted on its AOF; while it is down
nothing is delivered unchecked: test_groups.py's outage tests run here
over TLS too); a
Redis whose certificate is not signed by the CA the members trust, or not
for the address they connect to, is refused at start, so nothing is ever
checked against it; a Redis with tls-auth-clients takes the members'
client certificates; passwords and ACL users work over TLS.

Environment (make check exports it): top_builddir, MOSQUITTO, OPENSSL,
REDIS_SERVER.
"""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from redis_server import RedisServer, redis_server_path  # noqa: E402
from test_cli import BOUND, SUB, main  # noqa: E402
import test_groups  # noqa: E402
from test_groups import TOPIC, GroupCase  # noqa: E402


class TlsCase(GroupCase):
    """A broker and a TLS-only Redis (extra: its configuration) for the
    class; the members trust its CA."""

    extra = "bind 127.0.0.1 127.0.0.2"

    @classmethod
    def setUpClass(cls):
        super(GroupCase, cls).setUpClass()
        cls.redis = RedisServer(os.path.join(cls.classdir, "redis"),
                                extra=cls.extra, tls=True)
        cls.redis.start()

    def state_args(self):
        return ["--state", self.redis.url(self.prefix),
                "--state-cacert", self.redis.file("ca.pem")]

    def run_sub(self, *args, env=None):
        """e2e-sub that is expected to stop at start."""
        return subprocess.run([SUB, *self.conn(), "-t", self.filter, "-K",
                               self.keyring, "-v", *args],
                              capture_output=True, timeout=BOUND, env=env)

    def accepted_through(self, p):
        self.publish(["tls"])
        self.assertEqual(p.wait_lines(1), [("%s tls" % TOPIC).encode()])

    def assertRefusedAtStart(self, r, *needles):
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 1, err)
        self.assertEqual(r.stdout, b"")
        for n in needles:
            self.assertIn(n, err)


class ExactlyOnceOverTls(TlsCase):

    def test_every_copy_spread_over_three_members_is_accepted_once(self):
        for _ in range(3):
            self.member()
        self.attack(["m%d" % i for i in range(31)])
        for p in self.members:
            self.assertTrue(any(": replay: " in r for r in p.rejections()),
                            p.err_lines)

    def test_sni_names_the_certificate_reached_at_another_address(self):
        p = self.start_sub("-t", self.filter, "-q", "1", "-v", "--state",
                           self.redis.url(self.prefix, host="127.0.0.2"),
                           "--state-cacert", self.redis.file("ca.pem"),
                           "--state-sni", "redis.test")
        self.members.append(p)
        self.accepted_through(p)


# The outage tests of test_groups.py, over TLS: a member reconnects with a
# new handshake (Redis killed and restarted on its AOF, or stopped).
class RedisRestartsOverTls(TlsCase, test_groups.RedisRestarts):
    pass


class RedisDownOverTls(TlsCase, test_groups.RedisDown):
    pass


class ServerCertificate(TlsCase):

    def test_certificate_of_another_ca_is_refused_at_start(self):
        r = self.run_sub("--state", self.redis.url(self.prefix),
                         "--state-cacert", self.redis.file("other-ca.pem"))
        self.assertRefusedAtStart(
            r, "--state %s: " % self.redis.url(self.prefix),
            "the TLS connection to the shared replay state store failed",
            "--state-cacert")

    def test_system_cas_do_not_sign_a_private_ca(self):
        r = self.run_sub("--state", self.redis.url(self.prefix))
        self.assertRefusedAtStart(r, "TLS connection")

    def test_certificate_for_another_address_is_refused_at_start(self):
        url = self.redis.url(self.prefix, host="127.0.0.2")
        r = self.run_sub("--state", url, "--state-cacert",
                         self.redis.file("ca.pem"))
        self.assertRefusedAtStart(r, "--state %s: " % url, "TLS connection",
                                  "--state-sni")

    def test_wrong_sni_is_refused_at_start(self):
        r = self.run_sub(*self.state_args(), "--state-sni", "other.test")
        self.assertRefusedAtStart(r, "TLS connection")


class ClientCertificates(TlsCase):
    extra = "tls-auth-clients yes"

    def test_member_without_certificate_is_refused_at_start(self):
        r = self.run_sub(*self.state_args())
        self.assertRefusedAtStart(r, "TLS connection", "--state-cert")

    def test_member_with_its_certificate_joins_the_group(self):
        self.accepted_through(self.member(
            1, "--state-cert", self.redis.file("client.pem"),
            "--state-key", self.redis.file("client.key")))

    def test_key_readable_by_group_is_refused_naming_it(self):
        key = self.path("client.key")
        with open(self.redis.file("client.key"), "rb") as f:
            data = f.read()
        with open(key, "wb") as f:
            f.write(data)
        os.chmod(key, 0o640)
        r = self.run_sub(*self.state_args(), "--state-cert",
                         self.redis.file("client.pem"), "--state-key", key)
        self.assertRefusedAtStart(r, "--state-key %s: " % key,
                                  "readable by group or others")

    def test_certificate_without_key_is_refused(self):
        r = self.run_sub(*self.state_args(), "--state-cert",
                         self.redis.file("client.pem"))
        self.assertRefusedAtStart(r, "--state-cert and --state-key go "
                                  "together")


class PasswordsOverTls(TlsCase):
    extra = "requirepass s3cret-pw\nuser alice on >wonder ~* &* +@all"

    def pwfile(self, text):
        pw = self.path("pw")
        with open(pw, "w") as f:
            f.write(text + "\n")
        os.chmod(pw, 0o600)
        return pw

    def test_password_file_authenticates(self):
        self.accepted_through(self.member(
            1, "--state-password-file", self.pwfile("s3cret-pw")))

    def test_acl_user_with_password_from_environment_authenticates(self):
        env = dict(os.environ, E2E_STATE_PASSWORD="wonder")
        p = self.start_sub("-t", self.filter, "-q", "1", "-v", "--state",
                           self.redis.url(self.prefix, user="alice"),
                           "--state-cacert", self.redis.file("ca.pem"),
                           env=env)
        self.members.append(p)
        self.accepted_through(p)

    def test_wrong_password_is_refused_at_start(self):
        r = self.run_sub(*self.state_args(), "--state-password-file",
                         self.pwfile("wrong"))
        self.assertRefusedAtStart(r, "refused the credentials")


class TlsOptions(TlsCase):

    def test_tls_options_without_rediss_are_refused(self):
        r = self.run_sub("--state", "redis://127.0.0.1:%d/x"
                         % self.redis.port, "--state-cacert",
                         self.redis.file("ca.pem"))
        self.assertRefusedAtStart(
            r, "--state-cacert goes with --state rediss://")

    def test_unreadable_cacert_is_refused_naming_it(self):
        missing = self.path("missing.pem")
        r = self.run_sub("--state", self.redis.url(self.prefix),
                         "--state-cacert", missing)
        self.assertRefusedAtStart(r, "cannot read --state-cacert %s: "
                                  % missing, "No such file")

    def test_rediss_to_a_plain_port_is_an_error_with_the_remedy(self):
        plain = RedisServer(self.path("plain"))
        plain.start()
        try:
            url = "rediss://127.0.0.1:%d/x" % plain.port
            r = self.run_sub("--state", url, "--state-cacert",
                             self.redis.file("ca.pem"))
        finally:
            plain.stop()
        self.assertRefusedAtStart(r, "--state %s: " % url)


if __name__ == "__main__":
    if redis_server_path() is None:
        print("SKIP: no redis-server")
        sys.exit(77)
    main()
