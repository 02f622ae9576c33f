#!/usr/bin/python3
"""End-to-end benchmark: e2e-pub -> mosquitto -> e2e-sub against
mosquitto_pub -> mosquitto -> mosquitto_sub, on the same broker, in the
same run; and e2e-sub's resident memory over a long stream.

    tests/bench/bench_e2e.py [--builddir DIR] [--messages N] [--runs R]
                             [--sizes 64,1024] [--qos 0,1]
                             [--memory 100000,1000000] [--csv FILE]

A third pair, "paho", is tests/bench/paho_pub and paho_sub: the same
client library as e2e-pub and e2e-sub (Paho MQTTAsync) without libe2e, so
that the cost of the client library and the cost of libe2e show apart.

A benchmark, not a test: it prints figures. For each payload size and QoS,
runs alternate between the tool pairs; each run starts a subscriber
(stdout to a file), waits until it is subscribed (probe messages until one
arrives), then times the publisher sending N messages with -l until the
subscriber has printed all N. Messages/s is N / that time; the figure is
the median of the runs, and the ratio is e2e / plain.

The broker is tests/integration/broker.py's (a real mosquitto on a free
loopback port, its own configuration, max_queued_messages unlimited here
so nothing is dropped; stopped by PID). Needs the built e2e-pub, e2e-sub
and e2e-keygen (--builddir, default the current directory), mosquitto,
mosquitto_pub and mosquitto_sub.
"""

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from broker import Broker  # noqa: E402

TOPIC = "bench/e2e/stream"
POLL = 0.002  # seconds between looks at the subscriber's output


def tool(builddir, name):
    path = os.path.join(builddir, "cli", name)
    if not os.access(path, os.X_OK):
        sys.exit("bench_e2e: %s not found (build first, or --builddir)" % path)
    return path


def which(name):
    path = shutil.which(name)
    if path is None:
        sys.exit("bench_e2e: %s not found" % name)
    return path


def payload_file(workdir, size, count):
    """count lines of exactly size printable bytes (newline not counted)."""
    path = os.path.join(workdir, "lines-%d-%d" % (size, count))
    if not os.path.exists(path):
        line = (b"m" * size)[:size] + b"\n"
        with open(path, "wb") as f:
            for _ in range(count):
                f.write(line)
    return path


class Pair:
    """A publisher/subscriber command pair."""

    def __init__(self, name, pub, sub):
        self.name = name
        self.pub = pub  # argv without message options
        self.sub = sub  # argv without -C


def reap(proc):
    """Wait for proc; return its CPU seconds (user + system)."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ru.ru_utime + ru.ru_stime


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


class Subscriber:
    """A subscriber process printing to a file; counts lines by size (every
    line is size + 1 bytes)."""

    def __init__(self, argv, out_path, line_len):
        self.out_path = out_path
        self.line_len = line_len
        self.out = open(out_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.out,
                                     stderr=subprocess.PIPE)

    def lines(self):
        return os.path.getsize(self.out_path) // self.line_len

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """Stop the subscriber; its stderr. self.cpu: its CPU seconds."""
        self.cpu = 0.0
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            self.cpu = reap(self.proc)
        self.out.close()
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        return err


def wait_subscribed(sub, pair, probe_file, bound=10.0):
    """Publish probes until one reaches the subscriber; return the number
    of lines it has printed once quiet."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if not sub.alive():
            raise RuntimeError("%s subscriber exited: %s" %
                               (pair.name, sub.stop()))
        with open(probe_file, "rb") as f:
            subprocess.run(pair.pub + ["-l"], stdin=f, check=True)
        t = time.monotonic() + 0.2
        while time.monotonic() < t:
            if sub.lines() > 0:
                time.sleep(0.2)  # let any straggling probe land
                return sub.lines()
            time.sleep(0.01)
    raise RuntimeError("%s subscriber never received a probe" % pair.name)


def one_run(pair, workdir, size, count, qos, bound):
    """Seconds for count messages from publisher start to the last one
    printed by the subscriber, and the CPU seconds the publisher and the
    subscriber used for them (the subscriber's include its probes, a
    negligible few)."""
    out_path = os.path.join(workdir, "sub.out")
    probe = payload_file(workdir, size, 1)
    data = payload_file(workdir, size, count)
    sub = Subscriber(pair.sub + ["-q", str(qos)], out_path, size + 1)
    try:
        base = wait_subscribed(sub, pair, probe)
        with open(data, "rb") as f:
            t0 = time.monotonic()
            pub = subprocess.Popen(pair.pub + ["-q", str(qos), "-l"],
                                   stdin=f)
            deadline = t0 + bound
            while sub.lines() < base + count:
                if time.monotonic() > deadline:
                    pub.kill()
                    pub.wait()
                    raise RuntimeError(
                        "%s: %d of %d messages after %.0f s (dropped?)" %
                        (pair.name, sub.lines() - base, count, bound))
                time.sleep(POLL)
            t1 = time.monotonic()
            pub_cpu = reap(pub)
            if pub.returncode != 0:
                raise RuntimeError("%s publisher failed" % pair.name)
    finally:
        err = sub.stop()
    if "rejected" in err:
        raise RuntimeError("%s subscriber rejected messages:\n%s" %
                           (pair.name, err[:2000]))
    return t1 - t0, pub_cpu, sub.cpu


def throughput(pairs, workdir, sizes, qoses, count, runs, csv):
    """Messages/s of each pair, its ratio to the plain mosquitto tools, and
    CPU microseconds per message of its publisher and subscriber (medians
    of runs; runs alternate between the pairs)."""
    print("%-6s %3s %-6s %10s %7s %14s %14s" %
          ("bytes", "qos", "pair", "msg/s", "ratio", "pub CPU us/msg",
           "sub CPU us/msg"))
    for size in sizes:
        for qos in qoses:
            res = {p.name: [] for p in pairs}
            for _ in range(runs):
                for p in pairs:
                    res[p.name].append(
                        one_run(p, workdir, size, count, qos, 300))
            rate = {}
            for p in pairs:
                r = res[p.name]
                rate[p.name] = count / statistics.median(x[0] for x in r)
                pub_us = statistics.median(x[1] for x in r) * 1e6 / count
                sub_us = statistics.median(x[2] for x in r) * 1e6 / count
                ratio = rate[p.name] / rate["plain"] if "plain" in rate \
                    else float("nan")
                print("%-6d %3d %-6s %10.0f %7.3f %14.1f %14.1f" %
                      (size, qos, p.name, rate[p.name], ratio, pub_us,
                       sub_us))
                if csv:
                    csv.write("e2e,%d,%d,%s,%d,%d,%.1f,%.2f,%.2f\n" %
                              (size, qos, p.name, count, runs,
                               rate[p.name], pub_us, sub_us))
            e2e = rate["e2e"] / rate["plain"]
            print("%-6d %3d %-6s %10s %7.3f   (e2e / plain, the target)" %
                  (size, qos, "=>", "", e2e))
            sys.stdout.flush()


def memory(pairs, workdir, marks, size, csv):
    """Resident memory of each subscriber after each mark of messages."""
    total = max(marks)
    data = payload_file(workdir, size, total)
    probe = payload_file(workdir, size, 1)
    print("\n%-14s %12s %12s" % ("subscriber", "messages", "RSS KiB"))
    for p in pairs[:2]:  # plain and e2e
        out_path = os.path.join(workdir, "mem.out")
        sub = Subscriber(p.sub + ["-q", "0"], out_path, size + 1)
        try:
            base = wait_subscribed(sub, p, probe)
            start_rss = rss_kib(sub.proc.pid)
            print("%-14s %12d %12d" % (p.name + "-sub", 0, start_rss))
            with open(data, "rb") as f:
                pub = subprocess.Popen(p.pub + ["-q", "0", "-l"], stdin=f)
                pending = sorted(marks)
                deadline = time.monotonic() + 1200
                while pending:
                    got = sub.lines() - base
                    if got >= pending[0]:
                        rss = rss_kib(sub.proc.pid)
                        print("%-14s %12d %12d" % (p.name + "-sub", got, rss))
                        sys.stdout.flush()
                        if csv:
                            csv.write("mem,%s,%d,%d\n" % (p.name, got, rss))
                        pending.pop(0)
                        continue
                    if time.monotonic() > deadline or not sub.alive():
                        raise RuntimeError("%s: stalled at %d messages" %
                                           (p.name, got))
                    time.sleep(0.01)
                reap(pub)
        finally:
            sub.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--messages", type=int, default=50000,
                    help="messages per throughput run (default 50000)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="64,1024")
    ap.add_argument("--qos", default="0,1")
    ap.add_argument("--memory", default="100000,1000000",
                    help="message counts at which e2e-sub's RSS is read "
                         "('' to skip)")
    ap.add_argument("--no-paho", action="store_true",
                    help="skip the plain Paho pair (paho_pub, paho_sub)")
    ap.add_argument("--csv")
    args = ap.parse_args()

    builddir = os.path.abspath(args.builddir)
    e2e_pub = tool(builddir, "e2e-pub")
    e2e_sub = tool(builddir, "e2e-sub")
    keygen = tool(builddir, "e2e-keygen")
    mpub = which("mosquitto_pub")
    msub = which("mosquitto_sub")
    csv = open(args.csv, "w") if args.csv else None

    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as workdir:
        keyring = os.path.join(workdir, "bench.keyring")
        subprocess.run([keygen, "keyring", "init", "-K", keyring,
                        "--suite", "aead"], check=True,
                       stdout=subprocess.DEVNULL)
        with Broker(os.path.join(workdir, "broker"),
                    extra="max_queued_messages 0") as b:
            conn = ["-h", b.host, "-p", str(b.port)]
            pairs = [
                Pair("plain", [mpub, *conn, "-t", TOPIC],
                     [msub, *conn, "-t", TOPIC]),
                Pair("e2e", [e2e_pub, *conn, "-t", TOPIC, "-K", keyring],
                     [e2e_sub, *conn, "-t", TOPIC, "-K", keyring]),
            ]
            bench = os.path.join(builddir, "tests", "bench")
            ppub = os.path.join(bench, "paho_pub")
            psub = os.path.join(bench, "paho_sub")
            if (os.access(ppub, os.X_OK) and os.access(psub, os.X_OK)
                    and not args.no_paho):
                # The client library alone: Paho MQTTAsync without libe2e,
                # the same library as e2e-pub and e2e-sub.
                pairs.append(Pair("paho", [ppub, *conn, "-t", TOPIC],
                                  [psub, *conn, "-t", TOPIC]))
            print("bench_e2e: mosquitto on 127.0.0.1:%d, %d messages per "
                  "run, median of %d runs\n" % (b.port, args.messages,
                                                 args.runs))
            throughput(pairs, workdir,
                       [int(s) for s in args.sizes.split(",") if s],
                       [int(q) for q in args.qos.split(",") if q],
                       args.messages, args.runs, csv)
            marks = [int(m) for m in args.memory.split(",") if m]
            if marks:
                memory(pairs, workdir, marks, 64, csv)
    if csv:
        csv.close()


if __name__ == "__main__":
    main()
