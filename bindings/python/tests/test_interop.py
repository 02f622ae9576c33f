#!/usr/bin/python3 -B
"""Python and the C tools through a real mosquitto, both ways:
e2e-pub -> Python subscriber and Python publisher -> e2e-sub, with keys made
by e2e-keygen and by the binding, signed messages, and a rotated key."""

import json
import os
import queue
import shutil
import subprocess
import tempfile
import unittest

import support
from support import libe2e as e2e, needs

TOPIC = "interop/line1/temp"


def tool(name):
    path = support.program(name)
    if path is None:
        raise unittest.SkipTest("cli/%s is not built" % name)
    return path


@needs("e2e_keyring_load", "e2e_signer_load", "e2e_trust_load", "e2e_seal",
       "e2e_open")
@support.needs_guard
class Interop(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        support.paho()
        for name in ("e2e-pub", "e2e-sub", "e2e-keygen"):
            tool(name)
        cls.broker = support.Broker().start()
        cls.tmp = tempfile.mkdtemp(prefix="e2e-interop-")

    @classmethod
    def tearDownClass(cls):
        cls.broker.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- files -------------------------------------------------------------

    def path(self, name):
        return os.path.join(self.tmp, "%s-%s" % (self._testMethodName, name))

    def keygen(self, *args):
        r = subprocess.run([tool("e2e-keygen"), *args], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.strip()

    def keyring(self):
        """A keyring made by e2e-keygen; returns (path, primary id)."""
        p = self.path("keyring")
        kid = self.keygen("keyring", "init", "-K", p)
        return p, int(kid, 16)

    def signer(self):
        """A signer made by e2e-keygen and a trust file allowing it on
        interop/#; returns (secret path, trust path)."""
        sec, pub, trust = (self.path(n) for n in ("sec", "pub", "trust"))
        self.keygen("signer", "new", "-s", sec, "-p", pub, "--no-passphrase")
        self.keygen("trust", "add", "--trust", trust, "-p", pub,
                    "--topics", "interop/#")
        return sec, trust

    # -- the C tools -------------------------------------------------------

    def addr(self):
        return ["-h", self.broker.host, "-p", str(self.broker.port)]

    def e2e_pub(self, *args):
        # A signed e2e-pub keeps its epoch under XDG_STATE_HOME: here, in
        # the test's directory, never in the user's home.
        env = dict(os.environ, XDG_STATE_HOME=os.path.join(self.tmp, "xdg"))
        r = subprocess.run([tool("e2e-pub"), *self.addr(), "-q", "1",
                            "-t", TOPIC, *args], capture_output=True,
                           text=True, timeout=60, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)

    def e2e_sub_until(self, args, publish, count=1):
        """Run e2e-sub -C count --json with args, calling publish() until it
        has its messages (it cannot say when it has subscribed); return
        (accepted JSON objects, stderr lines)."""
        proc = subprocess.Popen(
            [tool("e2e-sub"), *self.addr(), "-q", "1", "-t", "interop/#",
             "--json", "-C", str(count), *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            for _ in range(100):  # at most 100 x 0.2 s
                publish()
                try:
                    proc.wait(0.2)
                    break
                except subprocess.TimeoutExpired:
                    pass
            out, err = proc.communicate(timeout=5)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertEqual(proc.returncode, 0, err)
        return [json.loads(ln) for ln in out.splitlines()], err.splitlines()

    # -- the Python side ---------------------------------------------------

    def python_subscriber(self, receiver):
        """A subscribed paho client; returns (accepted, rejected) queues."""
        accepted, rejected = queue.Queue(), queue.Queue()
        sub = e2e.mqtt.Subscriber(receiver, accepted.put,
                                  lambda err, m: rejected.put(err))
        client = support.connect(self.broker, "py-%s" % self._testMethodName,
                                 sub)
        self.addCleanup(client.loop_stop)
        self.addCleanup(client.disconnect)
        support.subscribe(client, "interop/#", via=sub)
        return accepted, rejected

    def python_publisher(self, sender):
        client = support.connect(self.broker, "pypub-%x-%s"
                                 % (sender.id, self._testMethodName))
        self.addCleanup(client.loop_stop)
        self.addCleanup(client.disconnect)
        pub = e2e.mqtt.Publisher(client, sender)

        def publish(payload=b"from python", retain=False):
            pub.publish(TOPIC, payload, qos=1,
                        retain=retain).wait_for_publish(10)
        return publish

    def load(self, cls, *args):
        obj = cls.load(*args)
        self.addCleanup(obj.close)
        return obj

    # -- e2e-pub -> Python -------------------------------------------------

    def test_e2e_pub_to_python_subscriber(self):
        kr_path, kid = self.keyring()
        accepted, _ = self.python_subscriber(
            e2e.Receiver(self.load(e2e.Keyring, kr_path), guard=e2e.Guard()))
        self.e2e_pub("-K", kr_path, "-m", "from C")
        msg = accepted.get(timeout=10)
        self.assertEqual((msg.topic, msg.payload, msg.info.key_id),
                         (TOPIC, b"from C", kid))

    def test_signed_e2e_pub_to_python_subscriber(self):
        kr_path, _ = self.keyring()
        sec, trust = self.signer()
        rx = e2e.Receiver(self.load(e2e.Keyring, kr_path),
                          self.load(e2e.Trust, trust), e2e.Guard(),
                          require_signature=True)
        accepted, _ = self.python_subscriber(rx)
        self.e2e_pub("-K", kr_path, "--sign", sec, "-m", "signed in C")
        msg = accepted.get(timeout=10)
        self.assertEqual(msg.payload, b"signed in C")
        self.assertTrue(msg.info.signed)
        self.assertEqual(msg.info.sender_id, e2e.signer_id_from_public(
            e2e.Signer.inspect(sec)[0]))

    def test_unsigned_e2e_pub_is_rejected_when_python_requires_signature(self):
        kr_path, _ = self.keyring()
        _, trust = self.signer()
        rx = e2e.Receiver(self.load(e2e.Keyring, kr_path),
                          self.load(e2e.Trust, trust), e2e.Guard(),
                          require_signature=True)
        accepted, rejected = self.python_subscriber(rx)
        self.e2e_pub("-K", kr_path, "-m", "unsigned")
        self.assertEqual(rejected.get(timeout=10).reason, "unsigned")
        self.assertTrue(accepted.empty())

    def test_e2e_pub_after_rotation_to_python_subscriber(self):
        kr_path, old = self.keyring()
        new = int(self.keygen("keyring", "rotate", "-K", kr_path), 16)
        accepted, _ = self.python_subscriber(
            e2e.Receiver(self.load(e2e.Keyring, kr_path), guard=e2e.Guard()))
        self.e2e_pub("-K", kr_path, "-m", "after rotation")
        msg = accepted.get(timeout=10)
        self.assertEqual((msg.payload, msg.info.key_id),
                         (b"after rotation", new))
        self.assertNotEqual(new, old)

    def test_e2e_pub_retained_reaches_python_as_retained(self):
        kr_path, _ = self.keyring()
        self.e2e_pub("-K", kr_path, "-r", "-m", "kept")
        try:
            accepted, _ = self.python_subscriber(e2e.Receiver(
                self.load(e2e.Keyring, kr_path), guard=e2e.Guard()))
            msg = accepted.get(timeout=10)
            self.assertEqual((msg.payload, msg.retained, msg.info.retained),
                             (b"kept", True, True))
        finally:
            self.e2e_pub("-K", kr_path, "-r", "-n")  # clear it

    # -- Python -> e2e-sub -------------------------------------------------

    def test_python_publisher_to_e2e_sub(self):
        kr_path, kid = self.keyring()
        sender = e2e.Sender(self.load(e2e.Keyring, kr_path))
        self.addCleanup(sender.close)
        got, _ = self.e2e_sub_until(["-K", kr_path],
                                    self.python_publisher(sender))
        self.assertEqual((got[0]["topic"], got[0]["payload"]),
                         (TOPIC, "from python"))
        self.assertEqual(int(got[0]["key_id"], 16), kid)
        self.assertEqual(int(got[0]["sender"], 16), sender.id)

    def test_signed_python_publisher_to_e2e_sub(self):
        kr_path, _ = self.keyring()
        sec, trust = self.signer()
        signer = self.load(e2e.Signer, sec)
        sender = e2e.Sender(self.load(e2e.Keyring, kr_path), signer)
        self.addCleanup(sender.close)
        got, _ = self.e2e_sub_until(
            ["-K", kr_path, "--trust", trust, "--require-signature"],
            self.python_publisher(sender))
        self.assertEqual(got[0]["payload"], "from python")
        self.assertEqual(int(got[0]["signer"], 16), signer.id)

    def test_passphrase_signer_from_e2e_keygen_signs_in_python(self):
        sec, pub, trust, pw = (self.path(n) for n in
                               ("sec", "pub", "trust", "pw"))
        with open(pw, "w") as f:
            f.write("a long passphrase\n")
        self.keygen("signer", "new", "-s", sec, "-p", pub,
                    "--passphrase-file", pw)
        self.keygen("trust", "add", "--trust", trust, "-p", pub,
                    "--topics", "interop/+/temp")
        self.assertTrue(e2e.Signer.inspect(sec)[1])
        with self.assertRaises(e2e.E2EError) as cm:
            e2e.Signer.load(sec, "wrong")
        self.assertEqual(cm.exception.reason, "passphrase")
        signer = self.load(e2e.Signer, sec, "a long passphrase")
        self.assertEqual(signer.public_key, e2e.load_public_key(pub))
        sender = e2e.Sender(None, signer)
        self.addCleanup(sender.close)
        got, _ = self.e2e_sub_until(["--trust", trust, "--require-signature"],
                                    self.python_publisher(sender))
        self.assertEqual(int(got[0]["signer"], 16), signer.id)

    def test_signature_only_python_publisher_to_e2e_sub(self):
        sec, trust = self.signer()
        signer = self.load(e2e.Signer, sec)
        sender = e2e.Sender(None, signer)
        self.addCleanup(sender.close)
        got, _ = self.e2e_sub_until(["--trust", trust, "--require-signature"],
                                    self.python_publisher(sender))
        self.assertEqual((got[0]["payload"], got[0]["suite"]),
                         ("from python", "none"))

    def test_python_keyring_file_is_read_by_e2e_sub_after_rotation(self):
        # Keys made and rotated by the binding, saved, read by the C tool.
        path = self.path("py.keyring")
        with e2e.Keyring() as kr:
            old = kr.generate()
            new = kr.rotate()
            kr.save(path)
        sender = e2e.Sender(self.load(e2e.Keyring, path))
        self.addCleanup(sender.close)
        got, _ = self.e2e_sub_until(["-K", path],
                                    self.python_publisher(sender))
        self.assertEqual(int(got[0]["key_id"], 16), new)
        self.assertNotEqual(old, new)

    def test_e2e_sub_rejects_python_message_under_unknown_key(self):
        kr_path, _ = self.keyring()
        stranger = e2e.Keyring()
        self.addCleanup(stranger.close)
        stranger.generate()
        good = e2e.Sender(self.load(e2e.Keyring, kr_path))
        bad = e2e.Sender(stranger)
        self.addCleanup(good.close)
        self.addCleanup(bad.close)
        pub_good, pub_bad = (self.python_publisher(good),
                             self.python_publisher(bad))

        def publish():
            # PUBACKed in this order, so delivered in this order: whenever
            # e2e-sub subscribed, a forged message comes before its second
            # genuine one.
            pub_bad(b"forged")
            pub_good(b"genuine")
        got, err = self.e2e_sub_until(["-K", kr_path], publish, count=2)
        self.assertEqual([g["payload"] for g in got], ["genuine"] * 2)
        self.assertIn("e2e-sub: rejected %s: unknown-key" % TOPIC,
                      "\n".join(err))


if __name__ == "__main__":
    support.main()
