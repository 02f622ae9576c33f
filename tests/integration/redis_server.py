"""A real redis-server for integration tests and benchmarks, on a free
loopback port with its own configuration and directory (never the
system's instance on 6379), stopped by its PID.

    with RedisServer(workdir) as r:      # AOF on, appendfsync always
        r.url("group1")                  # redis://127.0.0.1:PORT/group1
        r.stop(signal.SIGKILL)           # a crash: the AOF is what remains
        r.start()                        # same port, same directory

    RedisServer(workdir, tls=True)       # only a tls-port, rediss://; the
    r.file("ca.pem")                     # certificates of
                                         # tests/redis_tls_certs.sh

Environment: REDIS_SERVER (else /usr/bin/redis-server), OPENSSL.
"""

import os
import signal
import socket
import subprocess
import time

from broker import free_port

__all__ = ["RedisServer", "redis_server_path"]


def redis_server_path():
    """The redis-server to run, or None when there is none."""
    p = os.environ.get("REDIS_SERVER") or "/usr/bin/redis-server"
    return p if os.access(p, os.X_OK) else None


CERTS_SH = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "redis_tls_certs.sh")


class RedisServer:
    """redis-server on 127.0.0.1; extra: more configuration lines (they
    come last: they override). tls: only a tls-port (tls-auth-clients no
    unless extra says yes), with the certificates of
    tests/redis_tls_certs.sh made in workdir."""

    def __init__(self, workdir, fsync="always", extra="", tls=False):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.tls = tls
        self.conf = os.path.join(workdir, "redis.conf")
        listen = "port %d\n" % self.port
        if tls:
            subprocess.run(["/bin/sh", CERTS_SH, workdir], check=True)
            listen = ("port 0\ntls-port %d\ntls-cert-file %s\n"
                      "tls-key-file %s\ntls-ca-cert-file %s\n"
                      "tls-auth-clients no\n"
                      % (self.port, self.file("server.pem"),
                         self.file("server.key"), self.file("ca.pem")))
        with open(self.conf, "w") as f:
            f.write("bind 127.0.0.1\n%sdir %s\nlogfile %s\n"
                    "daemonize no\nsave \"\"\nappendonly yes\n"
                    "appendfsync %s\ndatabases 1\n%s\n"
                    % (listen, workdir, os.path.join(workdir, "redis.log"),
                       fsync, extra))
        self.proc = None

    def file(self, name):
        """A file of its directory: "ca.pem", "client.key", ..."""
        return os.path.join(self.dir, name)

    def url(self, prefix, user=None, host=None):
        return "%s://%s%s:%d/%s" % ("rediss" if self.tls else "redis",
                                    user + "@" if user else "",
                                    host or self.host, self.port, prefix)

    def ping(self):
        """Whether it answers PING with PONG, or asks for a password (not
        LOADING: still reading its AOF). A TLS server: whether it takes
        connections (it has no AOF to load when first started)."""
        if self.tls:
            try:
                socket.create_connection((self.host, self.port), 0.5).close()
                return True
            except OSError:
                return False
        try:
            with socket.create_connection((self.host, self.port), 0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def info(self, section):
        """INFO SECTION as a dict of its fields (strings); a Redis without
        a password only."""
        with socket.create_connection((self.host, self.port), 5) as s:
            s.sendall(b"INFO %s\r\n" % section.encode())
            data = b""
            while not data.endswith(b"\r\n") or data.count(b"\r\n") < 2:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                head, _, rest = data.partition(b"\r\n")
                if len(rest) >= int(head[1:]) + 2:
                    break
        fields = {}
        for line in data.decode().splitlines()[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                fields[k] = v
        return fields

    def command(self, *words):
        """One command (inline, words without spaces) on a Redis without a
        password; its one-line answer ("+OK", "-ERR ...")."""
        with socket.create_connection((self.host, self.port), 5) as s:
            s.sendall(b" ".join(w.encode() for w in words) + b"\r\n")
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        return data.decode().strip()

    def start(self, timeout=15.0):
        self.proc = subprocess.Popen([redis_server_path(), self.conf],
                                     stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ping():
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop(signal.SIGKILL)
        raise RuntimeError("redis-server did not start on port %d" % self.port)

    def stop(self, sig=signal.SIGTERM):
        """SIGTERM (a clean shutdown) or SIGKILL (a crash), then wait."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
