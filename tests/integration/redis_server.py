"""A real redis-server for integration tests and benchmarks, on a free
loopback port with its own configuration and directory (never the
system's instance on 6379), stopped by its PID.

    with RedisServer(workdir) as r:      # AOF on, appendfsync always
        r.url("group1")                  # redis://127.0.0.1:PORT/group1
        r.stop(signal.SIGKILL)           # a crash: the AOF is what remains
        r.start()                        # same port, same directory

Environment: REDIS_SERVER (else /usr/bin/redis-server).
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


class RedisServer:
    """redis-server on 127.0.0.1; extra: more configuration lines."""

    def __init__(self, workdir, fsync="always", extra=""):
        self.dir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = free_port()
        self.conf = os.path.join(workdir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write("bind 127.0.0.1\nport %d\ndir %s\nlogfile %s\n"
                    "daemonize no\nsave \"\"\nappendonly yes\n"
                    "appendfsync %s\ndatabases 1\n%s\n"
                    % (self.port, workdir, os.path.join(workdir, "redis.log"),
                       fsync, extra))
        self.proc = None

    def url(self, prefix, user=None):
        return "redis://%s%s:%d/%s" % (user + "@" if user else "", self.host,
                                       self.port, prefix)

    def ping(self):
        """Whether it answers PING with PONG, or asks for a password (not
        LOADING: still reading its AOF)."""
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
