#!/usr/bin/python3 -B
"""Python members of a consumer group (libe2e.redis.SharedGuard) against a
real redis-server started on a free loopback port with its own
configuration and directory, stopped by its PID; and a Python member and a
C one (redis_member, e2e_redis_open) sharing the same state."""

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import support
from support import libe2e as e2e

try:
    from libe2e.redis import SharedGuard
    REDIS_ERROR = None
except ImportError as exc:  # libe2e-redis not built
    SharedGuard = None
    REDIS_ERROR = str(exc)

TOPIC = "group/line1/temp"
# The TLS redis-server of the integration tests (tests/redis_tls_certs.sh).
INTEGRATION = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           os.pardir, os.pardir, os.pardir, "tests",
                           "integration")


def redis_server_path():
    p = os.environ.get("REDIS_SERVER") or "/usr/bin/redis-server"
    return p if os.access(p, os.X_OK) else None


class RedisServer:
    """redis-server on 127.0.0.1:PORT, AOF with appendfsync always."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="e2e-redis-py-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write("bind 127.0.0.1\nport %d\ndir %s\nlogfile %s\n"
                    "daemonize no\nsave \"\"\nappendonly yes\n"
                    "appendfsync always\n"
                    % (self.port, self.dir,
                       os.path.join(self.dir, "redis.log")))
        self.proc = None

    def url(self, prefix):
        return "redis://127.0.0.1:%d/%s" % (self.port, prefix)

    def start(self):
        self.proc = subprocess.Popen([redis_server_path(), self.conf])
        for _ in range(200):  # 10 s
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              0.2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
            self.proc = None

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@support.needs_guard
class SharedGuardTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if SharedGuard is None:
            raise unittest.SkipTest(REDIS_ERROR)
        if redis_server_path() is None:
            raise unittest.SkipTest("redis-server is not installed")
        cls.redis = RedisServer().start()
        cls.tmp = tempfile.mkdtemp(prefix="e2e-redis-py-keys-")
        cls.kr = e2e.Keyring()
        cls.kr.generate(e2e.Suite.MAC)
        cls.prefix = 0

    @classmethod
    def tearDownClass(cls):
        cls.redis.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def fresh_url(self):
        SharedGuardTests.prefix += 1
        return self.redis.url("py%d" % SharedGuardTests.prefix)

    def receiver(self, url, **options):
        guard = SharedGuard(url, **options)
        self.addCleanup(guard.close)
        return e2e.Receiver(self.kr, guard=guard)

    def test_second_member_refuses_what_the_first_accepted(self):
        url = self.fresh_url()
        a, b = self.receiver(url), self.receiver(url)
        env = e2e.Sender(self.kr).seal(TOPIC, b"21.5")
        self.assertEqual(a.open(TOPIC, env).payload, b"21.5")
        with self.assertRaises(e2e.Rejected) as cm:
            b.open(TOPIC, env)
        self.assertEqual(cm.exception.reason, "replay")

    def test_member_with_other_window_is_store_mismatch(self):
        url = self.fresh_url()
        a = self.receiver(url)
        b = self.receiver(url, window=1024)
        sender = e2e.Sender(self.kr)
        a.open(TOPIC, sender.seal(TOPIC, b"1"))
        with self.assertRaises(e2e.Rejected) as cm:
            b.open(TOPIC, sender.seal(TOPIC, b"2"))
        self.assertEqual(cm.exception.reason, "store-mismatch")


    def test_python_and_c_members_accept_each_envelope_once(self):
        member = os.path.join(support.BUILDDIR, "bindings", "python",
                              "tests", "redis_member")
        if not os.access(member, os.X_OK):
            self.skipTest("bindings/python/tests/redis_member is not built")
        keyring = os.path.join(self.tmp, "group.keys")
        self.kr.save(keyring)
        url = self.fresh_url()
        senders = [e2e.Sender(self.kr) for _ in range(3)]
        envs = [senders[i % 3].seal(TOPIC, b"m%d" % i) for i in range(1500)]
        # Each member gets them in its own order (window 4096 > 500 per
        # sender: any order is valid, the first arrival takes it).
        order_c = list(range(len(envs)))
        order_py = list(range(len(envs)))
        random.Random(1).shuffle(order_c)
        random.Random(2).shuffle(order_py)
        py = self.receiver(url, window=4096)
        c = subprocess.Popen([member, url, keyring, "4096"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        self.assertEqual(c.stdout.readline().strip(), "ready")
        feed = "".join("%s %s\n" % (TOPIC, envs[i].hex()) for i in order_c)
        output = []
        writer = threading.Thread(target=lambda: (c.stdin.write(feed),
                                                  c.stdin.close()))
        reader = threading.Thread(
            target=lambda: output.append(c.stdout.read()))
        writer.start()
        reader.start()
        taken = [0] * len(envs)
        py_ok = 0
        for i in order_py:
            try:
                py.open(TOPIC, envs[i])
                taken[i] += 1
                py_ok += 1
            except e2e.Rejected as err:
                self.assertEqual(err.reason, "replay")
        writer.join(120)
        reader.join(120)
        c.stdout.close()
        self.assertEqual(c.wait(120), 0)
        verdicts = output[0].split()
        self.assertEqual(len(verdicts), len(envs))
        for i, v in zip(order_c, verdicts):
            if v == "ok":
                taken[i] += 1
            else:
                self.assertEqual(v, "replay")
        self.assertEqual(taken, [1] * len(envs))
        print("# python member accepted %d, C member %d"
              % (py_ok, verdicts.count("ok")))
        self.assertEqual(py_ok + verdicts.count("ok"), len(envs))

    def test_stopped_redis_is_store_unavailable_then_accepted(self):
        server = RedisServer().start()
        try:
            rx = self.receiver(server.url("down"))
            sender = e2e.Sender(self.kr)
            first, second = (sender.seal(TOPIC, b"1"),
                             sender.seal(TOPIC, b"2"))
            rx.open(TOPIC, first)
            server.stop()
            with self.assertRaises(e2e.Rejected) as cm:
                rx.open(TOPIC, second)
            self.assertEqual(cm.exception.reason, "store-unavailable")
            server.start()
            self.assertEqual(rx.open(TOPIC, second).payload, b"2")
            with self.assertRaises(e2e.Rejected) as cm:
                rx.open(TOPIC, first)
            self.assertEqual(cm.exception.reason, "replay")
        finally:
            server.close()



@support.needs_guard
class SharedGuardOverTlsTests(unittest.TestCase):
    """rediss://: a Redis with only a tls-port and a CA of the test's."""

    @classmethod
    def setUpClass(cls):
        if SharedGuard is None:
            raise unittest.SkipTest(REDIS_ERROR)
        if redis_server_path() is None:
            raise unittest.SkipTest("redis-server is not installed")
        import sys
        sys.path.insert(0, INTEGRATION)
        from redis_server import RedisServer as TlsRedisServer
        cls.tmp = tempfile.mkdtemp(prefix="e2e-redis-py-tls-")
        cls.redis = TlsRedisServer(cls.tmp, tls=True).start()
        cls.kr = e2e.Keyring()
        cls.kr.generate(e2e.Suite.MAC)

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_members_over_tls_accept_an_envelope_once(self):
        url = self.redis.url("py-tls")
        guards = [SharedGuard(url, tls_cacert=self.redis.file("ca.pem"))
                  for _ in range(2)]
        for g in guards:
            self.addCleanup(g.close)
        a, b = (e2e.Receiver(self.kr, guard=g) for g in guards)
        env = e2e.Sender(self.kr).seal(TOPIC, b"21.5")
        self.assertEqual(a.open(TOPIC, env).payload, b"21.5")
        with self.assertRaises(e2e.Rejected) as cm:
            b.open(TOPIC, env)
        self.assertEqual(cm.exception.reason, "replay")

    def test_certificate_of_another_ca_is_store_tls(self):
        with self.assertRaises(e2e.E2EError) as cm:
            SharedGuard(self.redis.url("py-tls2"),
                        tls_cacert=self.redis.file("other-ca.pem"))
        self.assertEqual(cm.exception.reason, "store-tls")


if __name__ == "__main__":
    support.main()
