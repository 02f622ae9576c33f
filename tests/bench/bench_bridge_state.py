#!/usr/bin/python3
"""e2e-bridge's "in" with a state file against "state redis://..." in one
run: two bridges between the same two brokers, one with each state, runs
alternating between them.

    tests/bench/bench_bridge_state.py [--builddir DIR] [--messages N]
                                      [--runs R] [--qos 0,1] [--size 64]

A benchmark, not a test: it prints figures (docs/PERFORMANCE.md).

Two mosquitto brokers (tests/integration/broker.py) and one redis-server
(tests/integration/redis_server.py: AOF, appendfsync always), on loopback.
Bridge "file": `state FILE`, `in f/# Q`; bridge "redis": `state
redis://.../PREFIX`, `in r/# Q`; no journal, `queue 1000000`. Each run
starts mosquitto_sub -C N on local, waits for its SUBACK, then times e2e-pub
-l sealing N lines onto remote until the subscriber has all N. msg/s is N /
that time, the median of --runs runs; ratio is redis / file. Load-
independent figures beside it: the bridge's CPU time per message
(utime + stime of /proc/PID/stat over the run) and, for redis, Redis round
trips per message (total_reads_processed of INFO stats over the run / N).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from broker import Broker  # noqa: E402
from redis_server import RedisServer  # noqa: E402

WAIT = 120


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--qos", default="0,1")
    ap.add_argument("--size", type=int, default=64)
    a = ap.parse_args()
    build = os.path.abspath(a.builddir)
    bridge = os.path.join(build, "cli", "e2e-bridge")
    pub = os.path.join(build, "cli", "e2e-pub")
    keygen = os.path.join(build, "cli", "e2e-keygen")
    hz = os.sysconf("SC_CLK_TCK")
    with tempfile.TemporaryDirectory(prefix="bench-bridge-state-") as d:
        remote = Broker(os.path.join(d, "remote"))
        local = Broker(os.path.join(d, "local"))
        remote.start()
        local.start()
        redis = RedisServer(os.path.join(d, "redis"))
        redis.start()
        ring = os.path.join(d, "ring")
        subprocess.run([keygen, "keyring", "init", "-K", ring], check=True,
                       capture_output=True)
        qos = max(int(q) for q in a.qos.split(","))
        procs = {}
        try:
            for impl, state, top in (
                    ("file", os.path.join(d, "state"), "f"),
                    ("redis", redis.url("bench"), "r")):
                conf = os.path.join(d, impl + ".conf")
                with open(conf, "w") as f:
                    f.write("remote\nhost %s\nport %d\nlocal\nhost %s\n"
                            "port %d\nkeyring %s\nstate %s\nqueue 1000000\n"
                            "in %s/# %d\n" % (remote.host, remote.port,
                                              local.host, local.port, ring,
                                              state, top, qos))
                p = subprocess.Popen([bridge, "-c", conf],
                                     stderr=subprocess.PIPE)
                while b"event=ready" not in p.stderr.readline():
                    pass
                procs[impl] = p
            line = b"x" * a.size + b"\n"
            data = line * a.messages

            def run(impl, q):
                topic = ("f" if impl == "file" else "r") + "/t"
                sub = subprocess.Popen(
                    ["stdbuf", "-oL", "mosquitto_sub", "-h", local.host,
                     "-p", str(local.port), "-t", topic, "-q", str(q),
                     "-C", str(a.messages), "-d"],
                    stdout=subprocess.PIPE)
                while b"Subscribed (mid" not in sub.stdout.readline():
                    pass
                pid = procs[impl].pid
                # The bridge's own process, under the libtool wrapper.
                kids = subprocess.run(["pgrep", "-P", str(pid)],
                                      capture_output=True, text=True)
                for k in kids.stdout.split():
                    pid = int(k)
                t0, c0 = time.monotonic(), cpu_ticks(pid)
                r0 = int(redis.info("stats")["total_reads_processed"])
                subprocess.run([pub, "-h", remote.host, "-p",
                                str(remote.port), "-t", topic, "-q", str(q),
                                "-l", "-K", ring], input=data, check=True)
                try:
                    sub.stdout.read()
                    sub.wait(WAIT)
                except subprocess.TimeoutExpired:
                    sub.kill()
                    return None
                t = time.monotonic() - t0
                cpu = (cpu_ticks(pid) - c0) / hz
                trips = (int(redis.info("stats")["total_reads_processed"])
                         - r0) / a.messages
                return a.messages / t, cpu * 1e6 / a.messages, trips

            print("load average at start: %s" % " ".join(
                open("/proc/loadavg").read().split()[:3]))
            print("| bytes | QoS | file msg/s | redis msg/s | ratio | "
                  "bridge us/msg file / redis | redis trips/msg |")
            print("|---|---|---|---|---|---|---|")
            for q in (int(x) for x in a.qos.split(",")):
                res = {"file": [], "redis": []}
                for _ in range(a.runs):
                    for impl in ("file", "redis"):
                        res[impl].append(run(impl, q))
                med = {k: [statistics.median(x[i] for x in v)
                           for i in range(3)] for k, v in res.items()}
                print("| %d | %d | %.0f | %.0f | %.3f | %.1f / %.1f | %.3f |"
                      % (a.size, q, med["file"][0], med["redis"][0],
                         med["redis"][0] / med["file"][0], med["file"][1],
                         med["redis"][1], med["redis"][2]))
            print("load average at end: %s" % " ".join(
                open("/proc/loadavg").read().split()[:3]))
        finally:
            for p in procs.values():
                p.terminate()
                p.wait(30)
            redis.stop()
            remote.stop()
            local.stop()


if __name__ == "__main__":
    main()
