#!/usr/bin/python3
"""A subscriber's CPU per message on a backlog, with no publisher running.

    tests/bench/sub_backlog.py [--builddir DIR] [--messages N] [--runs R]
                               [--qos Q] SUB [SUB ...]

For each run and each subscriber program SUB (an e2e-sub, e.g.
DIR/cli/.libs/e2e-sub or an earlier build's, in turn): a persistent session
(-c -i ID) is made and left, N lines of 64 B are published to it with this
build's e2e-pub and queued by the broker (queue_qos0_messages true,
unlimited queue), then SUB is started with -C N and timed until it exits;
its CPU time (user + system, all threads, from wait4) divided by N is
printed, with the wall time. So the subscriber alone is measured: the
publisher is not running while it works, and the broker only sends.

A benchmark, not a test: it prints figures (medians, and every run). The
broker is tests/integration/broker.py's (loopback, free port, stopped by
PID).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_e2e as be  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--messages", type=int, default=50000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--qos", default="0")
    ap.add_argument("subs", nargs="+")
    args = ap.parse_args()
    b = os.path.abspath(args.builddir)
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(
        os.path.join(b, d, ".libs") for d in ("libe2e", "libe2e-redis"))
    pub = be.tool(b, "e2e-pub")
    keygen = be.tool(b, "e2e-keygen")
    n = args.messages
    res = {s: [] for s in args.subs}
    print("load average at the start: %s" % open("/proc/loadavg").read()
          .strip())
    with tempfile.TemporaryDirectory(prefix="e2e-backlog-") as w:
        kr = os.path.join(w, "bench.keyring")
        subprocess.run([keygen, "keyring", "init", "-K", kr, "--suite",
                        "aead"], check=True, stdout=subprocess.DEVNULL)
        data = be.payload_file(w, 64, n)
        with be.Broker(os.path.join(w, "broker"),
                       extra="max_queued_messages 0\n"
                             "queue_qos0_messages true\n") as br:
            conn = ["-h", br.host, "-p", str(br.port), "-t", be.TOPIC,
                    "-K", kr, "-q", args.qos]
            for r in range(args.runs):
                for s in args.subs:
                    argv = [s, *conn, "-c", "-i", "backlog-%d" % r]
                    subprocess.run(argv + ["-W", "1"], check=False,
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
                    with open(data, "rb") as f:
                        subprocess.run([pub, *conn, "-l"], stdin=f,
                                       check=True)
                    time.sleep(0.5)  # all of them queued at the broker
                    out = os.path.join(w, "sub.out")
                    with open(out, "wb") as so:
                        t0 = time.monotonic()
                        p = subprocess.Popen(argv + ["-C", str(n)],
                                             stdout=so,
                                             stderr=subprocess.DEVNULL)
                        _, _, ru = os.wait4(p.pid, 0)
                        t = time.monotonic() - t0
                    got = os.path.getsize(out) // 65
                    if got != n:
                        sys.exit("%s printed %d of %d" % (s, got, n))
                    res[s].append(((ru.ru_utime + ru.ru_stime) * 1e6 / n, t))
    print("load average at the end: %s" % open("/proc/loadavg").read()
          .strip())
    for s in args.subs:
        print("%s\n  CPU us/msg median %.2f (runs: %s), wall median %.3f s" %
              (s, statistics.median(x[0] for x in res[s]),
               " ".join("%.2f" % x[0] for x in res[s]),
               statistics.median(x[1] for x in res[s])))
    if len(args.subs) == 2:
        a, c = args.subs
        print("CPU first / second, median of per-run ratios: %.3f" %
              statistics.median(x[0] / y[0] for x, y in zip(res[a], res[c])))


if __name__ == "__main__":
    main()
