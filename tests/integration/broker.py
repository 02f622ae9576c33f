"""A real mosquitto for integration tests, on a free loopback port.

Every test that needs a broker starts its own with a generated configuration
and stops it by PID when done; nothing here touches a broker it did not start.

    from broker import Broker

    with Broker(workdir) as b:                  # plain listener only
        b.port                                  # where to connect
    with Broker(workdir, tls=True) as b:        # plus a TLS listener
        b.tls_port, b.ca_cert, b.client_cert, b.client_key
    with Broker(workdir, users={"alice": "pw"},
                acl="user alice\\ntopic readwrite a/#\\n") as b:
        ...                                     # anonymous access refused
    b.restart()                                 # same ports, same config

Environment: MOSQUITTO (the broker binary), OPENSSL (for certificates),
MOSQUITTO_PASSWD (optional, else found next to the usual places).

Raw MQTT access for tests that play the attacker (capture, replay, inject):
RawClient, built on Debian's python3-paho-mqtt. A broker that misbehaves in
ways mosquitto never does (redelivery with the DUP flag, duplicates, any
packet order): ScriptedBroker.
"""

import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time

__all__ = ["Broker", "RawClient", "ScriptedBroker", "free_port",
           "wait_for_port"]


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=10.0):
    """Wait until something accepts connections on 127.0.0.1:port.

    Raises RuntimeError when proc (if given) exits first or after timeout
    seconds (a bound, never a measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("broker exited with status %d" % proc.returncode)
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listens on port %d after %.0f s" % (port, timeout))


def _run(cmd, **kw):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE, **kw)


def make_certificates(directory, openssl=None, server_ip="127.0.0.1"):
    """Create a CA, a server certificate for the address server_ip (an IP
    SAN, so that no test depends on name resolution: a minimal system may
    have no /etc/hosts and "localhost" then names nothing) and a client
    certificate signed by it, with EC P-256 keys. Returns a dict of paths:
    ca_cert, ca_key, server_cert, server_key, client_cert, client_key."""
    openssl = openssl or os.environ.get("OPENSSL") or "openssl"
    d = directory
    p = {name: os.path.join(d, name) for name in (
        "ca.crt", "ca.key", "server.crt", "server.key", "server.csr",
        "client.crt", "client.key", "client.csr", "server.ext",
        "client.ext")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]
    _run([openssl, "req", "-x509", *ec, "-keyout", p["ca.key"],
          "-out", p["ca.crt"], "-days", "2", "-subj", "/CN=libe2e test CA",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    with open(p["server.ext"], "w") as f:
        f.write("basicConstraints=CA:FALSE\n"
                "subjectAltName=IP:%s\n"
                "extendedKeyUsage=serverAuth\n" % server_ip)
    with open(p["client.ext"], "w") as f:
        f.write("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for who, cn in (("server", server_ip), ("client", "libe2e test client")):
        _run([openssl, "req", *ec, "-keyout", p[who + ".key"],
              "-out", p[who + ".csr"], "-subj", "/CN=" + cn])
        _run([openssl, "x509", "-req", "-in", p[who + ".csr"],
              "-CA", p["ca.crt"], "-CAkey", p["ca.key"], "-CAcreateserial",
              "-days", "2", "-out", p[who + ".crt"],
              "-extfile", p[who + ".ext"]])
    for key in ("ca.key", "server.key", "client.key"):
        os.chmod(p[key], 0o600)
    return {"ca_cert": p["ca.crt"], "ca_key": p["ca.key"],
            "server_cert": p["server.crt"], "server_key": p["server.key"],
            "client_cert": p["client.crt"], "client_key": p["client.key"]}


def _find_passwd():
    env = os.environ.get("MOSQUITTO_PASSWD")
    if env:
        return env
    found = shutil.which("mosquitto_passwd")
    if found:
        return found
    for cand in ("/usr/bin/mosquitto_passwd", "/usr/sbin/mosquitto_passwd"):
        if os.path.exists(cand):
            return cand
    raise RuntimeError("mosquitto_passwd not found (set MOSQUITTO_PASSWD)")


class Broker:
    """One mosquitto process with its own configuration in workdir.

    tls: also open a TLS listener (self-made CA, server certificate for
         the address cert_ip, default 127.0.0.1 where the listener is,
         client certificate); require_certificate makes it demand the
         client certificate.
    users: {name: password}: a password file; anonymous access is then
         refused on every listener.
    acl: the text of an ACL file (mosquitto's syntax).
    persistence: keep sessions and queued messages across restart().
    extra: more configuration lines, appended.
    """

    def __init__(self, workdir, tls=False, require_certificate=False,
                 users=None, acl=None, persistence=False, extra="",
                 cert_ip="127.0.0.1"):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.binary = os.environ.get("MOSQUITTO") or shutil.which(
            "mosquitto") or "/usr/sbin/mosquitto"
        self.host = "127.0.0.1"
        self.port = None
        self.tls_port = None
        self.tls = tls
        self.require_certificate = require_certificate
        self.users = users
        self.acl = acl
        self.persistence = persistence
        self.extra = extra
        self.proc = None
        self.conf_path = os.path.join(self.workdir, "mosquitto.conf")
        self.log_path = os.path.join(self.workdir, "mosquitto.log")
        self.certs = None
        if tls:
            self.certs = make_certificates(self.workdir, server_ip=cert_ip)

    # Certificate paths, for the clients.
    @property
    def ca_cert(self):
        return self.certs["ca_cert"]

    @property
    def client_cert(self):
        return self.certs["client_cert"]

    @property
    def client_key(self):
        return self.certs["client_key"]

    def _write_config(self):
        w = self.workdir
        lines = ["# generated by tests/integration/broker.py"]
        if os.geteuid() == 0:
            # Keep root: mosquitto would otherwise switch to its own user
            # and lose access to the test's private files.
            lines.append("user root")
        lines += [
            "per_listener_settings false",
            "allow_anonymous %s" % ("false" if self.users else "true"),
            "max_queued_messages 100000",
            "max_inflight_messages 0",
            "log_dest file %s" % self.log_path,
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "listener %d %s" % (self.port, self.host),
        ]
        if self.tls:
            lines += [
                "listener %d %s" % (self.tls_port, self.host),
                "cafile %s" % self.certs["ca_cert"],
                "certfile %s" % self.certs["server_cert"],
                "keyfile %s" % self.certs["server_key"],
                "require_certificate %s" % (
                    "true" if self.require_certificate else "false"),
            ]
        if self.users:
            pw = os.path.join(w, "passwd")
            if os.path.exists(pw):
                os.unlink(pw)
            open(pw, "w").close()
            os.chmod(pw, 0o600)
            for name, password in self.users.items():
                _run([_find_passwd(), "-b", pw, name, password])
            lines.append("password_file %s" % pw)
        if self.acl is not None:
            acl = os.path.join(w, "acl")
            with open(acl, "w") as f:
                f.write(self.acl)
            os.chmod(acl, 0o600)
            lines.append("acl_file %s" % acl)
        if self.persistence:
            lines += ["persistence true",
                      "persistence_location %s/" % w,
                      "autosave_interval 1"]
        if self.extra:
            lines.append(self.extra)
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        """Start the broker (new ports the first time, the same ports on a
        restart) and wait until every listener accepts connections."""
        if self.port is None:
            self.port = free_port()
            if self.tls:
                self.tls_port = free_port()
                while self.tls_port == self.port:
                    self.tls_port = free_port()
        self._write_config()
        self.proc = subprocess.Popen(
            [self.binary, "-c", self.conf_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            wait_for_port(self.port, self.proc)
            if self.tls:
                wait_for_port(self.tls_port, self.proc)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop our broker by its PID (SIGTERM, so persistence is saved;
        SIGKILL if it does not exit in 10 s)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        """Stop and start again on the same ports with the same config."""
        self.stop()
        return self.start()

    def log(self):
        """The broker's log so far, for assertion messages."""
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class RawClient:
    """A plain MQTT client (python3-paho-mqtt) that sees and sends payload
    bytes as they are on the wire: what the broker, or an attacker with
    broker access, can do.

        with RawClient(broker) as raw:
            raw.subscribe("a/#")
            topic, payload = raw.next_message()
            raw.publish("a/b", payload, qos=1)
    """

    def __init__(self, broker, username=None, password=None, client_id=""):
        import paho.mqtt.client as mqtt  # Debian's python3-paho-mqtt
        self._mqtt = mqtt
        self.messages = queue.Queue()
        self._subscribed = queue.Queue()
        self.client = mqtt.Client(client_id=client_id, clean_session=True)
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda c, u, mid, q: self._subscribed.put(q)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        self.messages.put((msg.topic, bytes(msg.payload), msg.retain))

    def subscribe(self, topic, qos=1, timeout=10):
        """Subscribe and wait for the broker's acknowledgement."""
        self.client.subscribe(topic, qos)
        self._subscribed.get(timeout=timeout)

    def next_message(self, timeout=10):
        """(topic, payload bytes, retained) of the next message."""
        return self.messages.get(timeout=timeout)

    def publish(self, topic, payload, qos=1, retain=False, timeout=10):
        """Publish raw bytes and wait until the broker has them (QoS > 0)
        or they are sent (QoS 0)."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(timeout)
        if not info.is_published():
            raise RuntimeError("raw publish to %s not acknowledged" % topic)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class ScriptedBroker:
    """A minimal MQTT 3.1.1 "broker" on a free loopback port that accepts one
    client and, once it has subscribed, sends it exactly the PUBLISH packets
    a test scripts: what a misbehaving or malicious broker can do that
    mosquitto never does (redeliver with the DUP flag, replay, reorder).

        with ScriptedBroker() as sb:
            ... start the client on sb.port ...
            sb.wait_subscribed()
            sb.publish("a/b", payload, qos=1, dup=False, packet_id=1)

    It answers CONNECT, SUBSCRIBE and PINGREQ, and ignores acknowledgements.
    What the client publishes (QoS 0 or 1, acknowledged) is kept:

        topic, payload = sb.next_published()   # topic as bytes
    """

    def __init__(self, granted_qos=1, disconnect_on_subscribe=None):
        """granted_qos: the return code of every SUBACK (0x80: refused).
        disconnect_on_subscribe: an MQTT 5 reason code: answer SUBSCRIBE
        with a DISCONNECT carrying it and close, as ejabberd does for a
        shared subscription (158). A client connecting with MQTT 5 gets an
        MQTT 5 CONNACK."""
        self.host = "127.0.0.1"
        self.granted_qos = granted_qos
        self.disconnect_on_subscribe = disconnect_on_subscribe
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((self.host, 0))
        self.server.listen(1)
        self.port = self.server.getsockname()[1]
        self.conn = None
        self._subscribed = queue.Queue()
        self._published = queue.Queue()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @staticmethod
    def _remaining_length(n):
        out = bytearray()
        while True:
            byte, n = n % 128, n // 128
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def _packet(self, first, body):
        return bytes([first]) + self._remaining_length(len(body)) + body

    def _recv_exact(self, n):
        data = b""
        while len(data) < n:
            chunk = self.conn.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def _serve(self):
        try:
            self.conn, _ = self.server.accept()
            while True:
                first = self._recv_exact(1)[0]
                length, shift = 0, 0
                while True:
                    b = self._recv_exact(1)[0]
                    length += (b & 0x7F) << shift
                    shift += 7
                    if not b & 0x80:
                        break
                body = self._recv_exact(length)
                kind = first >> 4
                with self._lock:
                    if kind == 1:  # CONNECT -> CONNACK accepted
                        v5 = body[6] == 5  # after the name "MQTT"
                        self.conn.sendall(self._packet(
                            0x20, b"\x00\x00\x00" if v5 else b"\x00\x00"))
                    elif kind == 8 and self.disconnect_on_subscribe:
                        self.conn.sendall(self._packet(
                            0xE0, bytes([self.disconnect_on_subscribe, 0])))
                        self.conn.close()
                        return
                    elif kind == 8:  # SUBSCRIBE -> SUBACK
                        pid = body[:2]
                        n = 0
                        i = 2
                        while i < len(body):
                            tlen = int.from_bytes(body[i:i + 2], "big")
                            i += 2 + tlen + 1
                            n += 1
                        self.conn.sendall(self._packet(
                            0x90, pid + bytes([self.granted_qos]) * n))
                        self._subscribed.put(True)
                    elif kind == 3:  # PUBLISH (QoS 1 -> PUBACK)
                        tlen = int.from_bytes(body[:2], "big")
                        rest = body[2 + tlen:]
                        if (first >> 1) & 3:
                            self.conn.sendall(self._packet(0x40, rest[:2]))
                            rest = rest[2:]
                        self._published.put((body[2:2 + tlen], rest))
                    elif kind == 12:  # PINGREQ -> PINGRESP
                        self.conn.sendall(self._packet(0xD0, b""))
                    elif kind == 14:  # DISCONNECT
                        return
        except (EOFError, OSError):
            return

    def wait_subscribed(self, timeout=10):
        self._subscribed.get(timeout=timeout)

    def next_published(self, timeout=10):
        """(topic bytes, payload) of the next PUBLISH the client sent."""
        return self._published.get(timeout=timeout)

    def publish(self, topic, payload, qos=0, dup=False, retain=False,
                packet_id=1):
        """Send one PUBLISH to the client. topic: str, or bytes sent as
        they are (a NUL, bytes that are not UTF-8)."""
        t = topic if isinstance(topic, bytes) else topic.encode()
        body = len(t).to_bytes(2, "big") + t
        if qos:
            body += packet_id.to_bytes(2, "big")
        first = 0x30 | (0x08 if dup else 0) | (qos << 1) | (
            0x01 if retain else 0)
        with self._lock:
            self.conn.sendall(self._packet(first, body + payload))

    def close(self):
        for s in (self.conn, self.server):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
