#!/usr/bin/python3
"""Consumer-group benchmark: e2e-sub with its replay state in Redis
(--state redis://..., docs/GROUPS.md) against e2e-sub with the in-memory
guard, through the same mosquitto, in the same run; and a group's total
with 1, 2 and 4 members on one shared subscription, beside the same
group of e2e-sub members with in-memory guards and of mosquitto_sub
members (the anchors: what the broker delivers to such a group here).

    tests/bench/bench_groups.py [--builddir DIR] [--messages N] [--runs R]
                                [--sizes 64,1024] [--qos 0,1]
                                [--members 1,2,4] [--fsync always]
                                [--compare-lib NAME=DIR ...]
                                [--compare-build NAME=DIR ...] [--skip-group]
                                [--no-anchors]

--compare-lib runs the Redis member a third (fourth, ...) way in each
round, with the libe2e-redis of another build (a protocol before and
after, a throwaway script that measures what Redis's CPU costs):
printed under the Redis line as NAME, its ratio against the same
in-memory runs. --compare-build does the same with the e2e-sub and the
libraries of another build tree (the commit before a change to e2e-sub,
say).

A benchmark, not a test: it prints figures. Each run starts the
subscriber(s) (stdout to files), waits until every one is subscribed
(probe messages until each has printed one), then times one e2e-pub
sending N messages with -l until the subscribers together have printed
all N. Messages/s is N / that time, the figure the median of the runs;
runs alternate between the in-memory and the Redis guard, and every run
has a fresh group prefix in Redis. The ratio is redis / memory (the
target: at least 0.7). A figure that does not depend on the machine's
load: Redis round trips per message ("trips"), Redis's
total_reads_processed (one per read of a client's socket: one per
pipelined batch) over the timed part of the run, divided by N; and CPU
time per message of the subscriber(s) ("sub us", the whole process's
life) and of redis-server ("redis us", the timed part), in microseconds.

mosquitto is tests/integration/broker.py's, redis-server
tests/integration/redis_server.py's (AOF on, appendfsync --fsync), both on
free loopback ports with their own configuration, stopped by PID.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from bench_e2e import POLL, Subscriber, payload_file, reap, tool  # noqa: E402
from broker import Broker  # noqa: E402
from redis_server import RedisServer  # noqa: E402

TOPIC = "bench/group/stream"
ENVELOPE_OVERHEAD = 50  # the aead suite without a signature (ENVELOPE.md)


class Member(Subscriber):
    """bench_e2e's subscriber with stderr to a file: a member that refuses
    many messages must not block on a full pipe."""

    def __init__(self, argv, out_path, line_len):
        self.out_path = out_path
        self.line_len = line_len
        self.out = open(out_path, "wb")
        self.err = open(out_path + ".err", "w+b")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.err)

    def stop(self):
        self.cpu = 0.0
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            self.cpu = reap(self.proc)
        self.out.close()
        self.err.seek(0)
        err = self.err.read().decode(errors="replace")
        self.err.close()
        return err


class Setup:
    """The tools, the servers and a fresh Redis prefix per run."""

    def __init__(self, builddir, workdir, broker, redis, window=None):
        self.pub = tool(builddir, "e2e-pub")
        self.sub = tool(builddir, "e2e-sub")
        self.workdir = workdir
        self.conn = ["-h", broker.host, "-p", str(broker.port)]
        self.redis = redis
        self.keyring = os.path.join(workdir, "bench.keyring")
        subprocess.run([tool(builddir, "e2e-keygen"), "keyring", "init",
                        "-K", self.keyring, "--suite", "aead"], check=True,
                       stdout=subprocess.DEVNULL)
        self.runs = 0
        self.window = window

    def pub_argv(self, qos):
        return [self.pub, *self.conn, "-t", TOPIC, "-K", self.keyring, "-q",
                str(qos), "-l"]

    def sub_argv(self, guard, qos, members):
        """guard: "redis", "memory" (each member its own in-memory guard:
        not exactly once in a group, the same work without Redis) or
        "plain" (mosquitto_sub, printing the envelopes: what the broker
        and the machine deliver to a group that does nothing with them)."""
        self.runs += 1
        topic = ("$share/bench%d/%s" % (self.runs, TOPIC)
                 if members > 1 else TOPIC)
        if guard == "plain":
            return ["mosquitto_sub", *self.conn, "-q", str(qos), "-t", topic]
        argv = [self.sub, *self.conn, "-K", self.keyring, "-q", str(qos),
                "-t", topic]
        if guard == "redis":
            argv += ["--state", self.redis.url("bench-%d" % self.runs)]
        if self.window:
            argv += ["--window", str(self.window)]
        return argv


def wait_all_subscribed(setup, subs, qos, size, bound=20.0):
    """Probe until every subscriber has printed a line; then the lines
    each has printed once quiet."""
    probe = payload_file(setup.workdir, size, 1)
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        for s in subs:
            if not s.alive():
                raise RuntimeError("subscriber exited: %s" % s.stop())
        if all(s.lines() > 0 for s in subs):
            time.sleep(0.3)  # let any straggling probe land
            return sum(s.lines() for s in subs)
        with open(probe, "rb") as f:
            subprocess.run(setup.pub_argv(qos), stdin=f, check=True)
        time.sleep(0.05)
    raise RuntimeError("a subscriber never received a probe")


def redis_reads(setup):
    return int(setup.redis.info("stats")["total_reads_processed"])


def redis_cpu(setup):
    """redis-server's CPU seconds so far."""
    with open("/proc/%d/stat" % setup.redis.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(setup, guard, size, count, qos, members, stall=10.0):
    """Seconds from the publisher's start until the members together have
    printed count messages, the number they refused (a run that makes
    no progress for stall seconds ends there: the time is then to the last
    message printed), and Redis round trips per message."""
    data = payload_file(setup.workdir, size, count)
    argv = setup.sub_argv(guard, qos, members)
    # mosquitto_sub prints the envelope: the aead suite's 50 bytes more
    line = size + 1 + (ENVELOPE_OVERHEAD if guard == "plain" else 0)
    subs = [Member(argv, os.path.join(setup.workdir, "sub%d.out" % i),
                   line) for i in range(members)]
    try:
        base = wait_all_subscribed(setup, subs, qos, size)
        reads, cpu = redis_reads(setup), redis_cpu(setup)
        with open(data, "rb") as f:
            t0 = t1 = time.monotonic()
            pub = subprocess.Popen(setup.pub_argv(qos), stdin=f)
            seen = base
            while seen < base + count:
                now = sum(s.lines() for s in subs)
                if now > seen:
                    seen, t1 = now, time.monotonic()
                elif time.monotonic() > t1 + stall:
                    break
                time.sleep(POLL)
            reap(pub)
        reads = redis_reads(setup) - reads - 1  # this INFO is one
        cpu = redis_cpu(setup) - cpu
    finally:
        errs = [s.stop() for s in subs]
    sub_cpu = sum(s.cpu for s in subs)
    refused = sum(err.count(" rejected ") for err in errs)
    return (t1 - t0, refused, reads / count, sub_cpu * 1e6 / count,
            cpu * 1e6 / count)


def run_with_lib(setup, lib, *args):
    """one_run with e2e-sub loading libe2e-redis from lib (a directory), or
    from the build tree when lib is None; lib ("build", DIR): e2e-sub and
    both libraries of the build tree DIR."""
    saved, sub = os.environ["LD_LIBRARY_PATH"], setup.sub
    if isinstance(lib, tuple):
        setup.sub = tool(lib[1], "e2e-sub")
        lib = os.pathsep.join(os.path.join(lib[1], d, ".libs")
                              for d in ("libe2e", "libe2e-redis"))
    if lib:
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join([lib, saved])
    try:
        return one_run(setup, *args)
    finally:
        os.environ["LD_LIBRARY_PATH"] = saved
        setup.sub = sub


def one_member(setup, sizes, qoses, count, runs, libs=()):
    """libs: (name, directory) of other libe2e-redis builds, each run in
    turn with the two guards (same broker, same Redis): a protocol before
    and after, a throwaway script."""
    print("One e2e-sub, in-memory guard against the Redis guard:")
    print("%-6s %3s %12s %12s %7s %8s %6s %13s %8s" % (
        "bytes", "qos", "memory msg/s", "redis msg/s", "ratio", "refused",
        "trips", "sub us mem/rd", "redis us"))
    for size in sizes:
        for qos in qoses:
            t = {"memory": [], "redis": []}
            other = {name: [] for name, _ in libs}
            for _ in range(runs):  # alternate, so drifts hit both
                for guard in t:
                    t[guard].append(one_run(setup, guard, size, count, qos,
                                            1))
                for name, lib in libs:
                    other[name].append(run_with_lib(
                        setup, lib, "redis", size, count, qos, 1))
            mem = count / statistics.median(x[0] for x in t["memory"])
            red = count / statistics.median(x[0] for x in t["redis"])
            med = {g: [statistics.median(x[i] for x in t[g])
                       for i in range(5)] for g in t}
            print("%-6d %3d %12.0f %12.0f %7.3f %8d %6.3f %6.1f/%6.1f %8.1f"
                  % (size, qos, mem, red, red / mem,
                     max(x[1] for x in t["memory"] + t["redis"]),
                     med["redis"][2], med["memory"][3], med["redis"][3],
                     med["redis"][4]))
            for name, r in other.items():
                rate = count / statistics.median(x[0] for x in r)
                print("  %-20s %12.0f %7.3f %8d %6.3f %13.1f %8.1f" % (
                    name, rate, rate / mem, max(x[1] for x in r),
                    statistics.median(x[2] for x in r),
                    statistics.median(x[3] for x in r),
                    statistics.median(x[4] for x in r)))
            sys.stdout.flush()


def group(setup, members_list, qoses, count, runs, anchors):
    """The group's total with each number of members; with anchors, the
    same group of e2e-sub members with the in-memory guard and of
    mosquitto_sub members, interleaved with it run by run: where the
    Redis group's total stops growing, whether the members or the broker
    (and the two cores everyone shares) are the limit."""
    guards = ["redis"] + (["memory", "plain"] if anchors else [])
    print("\nA group ($share/...), 64 B: total msg/s; redis: e2e-sub "
          "--state redis://%s" % (
              ", memory: e2e-sub with its own in-memory guard (not exactly "
              "once), plain: mosquitto_sub printing the envelopes"
              if anchors else ""))
    print("%-7s %3s %-7s %12s %7s %8s %6s %7s %8s" % (
        "members", "qos", "guard", "msg/s", "÷plain", "refused", "trips",
        "sub us", "redis us"))
    for qos in qoses:
        for n in members_list:
            t = {g: [] for g in guards}
            for _ in range(runs):  # alternate, so drifts hit all
                for g in guards:
                    t[g].append(one_run(setup, g, 64, count, qos, n))
            rate = {g: count / statistics.median(x[0] for x in t[g])
                    for g in guards}
            for g in guards:
                print("%-7d %3d %-7s %12.0f %7s %8d %6.3f %7.1f %8.1f" % (
                    n, qos, g, rate[g],
                    "%.3f" % (rate[g] / rate["plain"]) if anchors else "-",
                    max(x[1] for x in t[g]),
                    *(statistics.median(x[i] for x in t[g])
                      for i in (2, 3, 4))))
            sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="64,1024")
    ap.add_argument("--qos", default="0,1")
    ap.add_argument("--members", default="1,2,4")
    ap.add_argument("--group-qos", default="1",
                    help="QoS of the group runs (default 1: see GROUPS.md "
                    "section 8 on members that lag at QoS 0)")
    ap.add_argument("--window", type=int,
                    help="e2e-sub --window (default: e2e-sub's, 256, and 65536 "
                    "with --state redis://)")
    ap.add_argument("--fsync", default="always",
                    help="Redis appendfsync: always, everysec or no")
    ap.add_argument("--compare-lib", action="append", default=[],
                    metavar="NAME=DIR",
                    help="also run the Redis member with the libe2e-redis "
                    "of DIR (its .libs), interleaved with the others, "
                    "printed as NAME: another protocol, a throwaway script")
    ap.add_argument("--compare-build", action="append", default=[],
                    metavar="NAME=DIR",
                    help="also run the Redis member with the e2e-sub and "
                    "libraries of the build tree DIR, interleaved, printed "
                    "as NAME: the commit before a change to e2e-sub")
    ap.add_argument("--skip-group", action="store_true",
                    help="only the one-member table")
    ap.add_argument("--no-anchors", action="store_true",
                    help="group runs with the Redis guard only (without "
                    "the in-memory and mosquitto_sub groups beside them)")
    args = ap.parse_args()
    builddir = os.path.abspath(args.builddir)
    # tool() runs the programs themselves, not libtool's wrappers: they
    # find the build tree's libraries here.
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (os.path.join(builddir, "libe2e", ".libs"),
                    os.path.join(builddir, "libe2e-redis", ".libs"),
                    os.environ.get("LD_LIBRARY_PATH")) if p)
    qoses = [int(q) for q in args.qos.split(",") if q]

    with tempfile.TemporaryDirectory(prefix="e2e-bench-groups-") as workdir:
        with Broker(os.path.join(workdir, "broker"),
                    extra="max_queued_messages 0") as b, \
                RedisServer(os.path.join(workdir, "redis"),
                            fsync=args.fsync) as r:
            setup = Setup(builddir, workdir, b, r, args.window)
            print("bench_groups: mosquitto on 127.0.0.1:%d, redis-server on "
                  "127.0.0.1:%d (appendfsync %s), %d messages per run, "
                  "median of %d runs, window %s; load average %s\n" % (
                      b.port, r.port, args.fsync, args.messages, args.runs,
                      args.window or "default",
                      " ".join(open("/proc/loadavg").read().split()[:3])))
            libs = [(c.split("=", 1)[0], os.path.abspath(c.split("=", 1)[1]))
                    for c in args.compare_lib]
            libs += [(c.split("=", 1)[0],
                      ("build", os.path.abspath(c.split("=", 1)[1])))
                     for c in args.compare_build]
            one_member(setup, [int(s) for s in args.sizes.split(",") if s],
                       qoses, args.messages, args.runs, libs)
            if not args.skip_group:
                group(setup, [int(m) for m in args.members.split(",") if m],
                      [int(q) for q in args.group_qos.split(",") if q],
                      args.messages, args.runs, not args.no_anchors)
            print("\nload average at the end: %s" % " ".join(
                open("/proc/loadavg").read().split()[:3]))


if __name__ == "__main__":
    main()
