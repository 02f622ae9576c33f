#!/usr/bin/python3
"""Bridge benchmark: e2e-bridge against mosquitto's own bridge, moving the
same traffic between the same two brokers in one run; and e2e-bridge's
memory over a long stream.

    tests/bench/bench_bridge.py [--builddir DIR] [--messages N] [--runs R]
                                [--sizes 64,1024] [--qos 0,1]
                                [--memory N] [--quick]
                                [--compare OTHER_BUILDDIR] [--dirs out,in]
    tests/bench/bench_bridge.py --counted [--builddir DIR] [--messages N]
                                [--sizes 64] [--qos 0,1]
                                [--counts strace|perf,proc,callgrind]
                                [--cache-sim] [--gather MS]
                                [--callgrind-dir DIR]

A benchmark, not a test: it prints figures (docs/PERFORMANCE.md).

Two mosquitto brokers on loopback (tests/integration/broker.py, queues
unlimited), "remote" and "local". Both bridges run all the time, on
different topics, so runs interleave without restarting anything:

- mosquitto's bridge: `connection` / `address` / `topic` lines in local's
  mosquitto.conf, `topic mq/outQ/# out Q` and `topic mq/inQ/# in Q`;
- e2e-bridge: `out e2/out/# 1` (seals with the keyring's key) and
  `in e2/in/# 1` (opens with the full receiver, replay guard included),
  `queue 1000000`.

Directions: "out" is local -> remote: the publisher is the same for both
bridges (tests/bench/paho_pub: e2e-pub's design on Paho MQTTAsync
without libe2e, a window of 256 in flight) with the same clear lines. "in" is remote -> local: mosquitto's
bridge moves clear lines published by paho_pub; e2e-bridge moves
envelopes that e2e-pub -l seals from the same lines (the clear payloads
that reach local are the same). A third row, "direct", is the publisher
to a subscriber on its own broker, no bridge: the ceiling each direction's
publisher and subscriber allow.

Each run starts mosquitto_sub -C N on the destination, waits for its
SUBACK, then times the publisher sending N messages until the subscriber
has all N (it exits). msg/s is N / that time, the median of --runs runs
(200 000 messages a run by default: a run of 20 000 lasts a quarter of a
second, and the first message's way across two brokers and the last one's
drain weigh on it; docs/PERFORMANCE.md);
for each size and QoS the implementations alternate run by run. ratio is
e2e-bridge / mosquitto's bridge. A run whose subscriber got fewer than N
in 120 s is reported as lost.

--counted prints, instead of timings, per message of each direction, size
(--sizes) and QoS (--qos), for e2e-bridge and for the local mosquitto
(which runs mosquitto's bridge and serves that direction's local client):
system calls (strace -f -c, all threads, with e2e-bridge's largest),
context switches (voluntary and involuntary, all threads, from
/proc/PID/task/*/status) and CPU time (/proc/PID/stat, user + system);
then e2e-bridge alone again, restarted under valgrind's callgrind, its
instructions (callgrind_control zeroes the counters before a run and
dumps them after it), in all and by thread (01 the main thread, then
Paho's threads in the order they were made). --counts perf counts the system calls (all, futex,
tgkill, rt_sigtimedwait) and context switches with perf stat's
tracepoints instead of strace, which slows every system call and so
changes how often the main thread finds its queue empty. Each figure is measured with n and 5 n messages
(--messages, default 5000 there) and is the difference over 4 n, so that
start-up and attaching cancel out. --counts picks some of strace, proc,
callgrind; --callgrind-dir DIR keeps the dumps (callgrind_annotate them).
--cache-sim has callgrind simulate the caches as well (--cache-sim=yes):
the first-level instruction cache misses (I1mr) per message, in all and
by thread, and instructions and misses by object (the bridge, libe2e,
libsodium, Paho, libc; self cost, from the dumps). Callgrind runs one
thread at a time and lets another run at each system call, so the main
thread finds one message queued each time it looks where at full speed
it finds some 50: --gather MS preloads tests/bench/gather_wake.c into
e2e-bridge, which has the main thread sleep MS ms after each wake-up so
that messages gather as they do at full speed (50: about 50 a turn at
QoS 0, 30 at QoS 1).

--compare OTHER_BUILDDIR runs that build's e2e-bridge as well, on its own
topics (cmp/...), as a fourth implementation in the same alternation (the
two builds swap places every other run): its column, its ratio to
mosquitto's bridge, and "vs cmp", the median over the runs of this build's
rate / that build's in the run next to it (a change measured against the
code before it on the same loaded machine). us/msg is each bridge
process's CPU time per message in a run (all threads, from
/proc/PID/task/*/schedstat; median), cmp/us the median per pair of runs
of the compared build's CPU time / this build's (> 1: this build uses
less).

Memory: e2e-bridge's VmRSS and VmHWM (/proc/PID/status) after start-up and
after each tenth of --memory messages (out, QoS 1, 64 B) in one process.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)
from bench_e2e import payload_file, tool, which  # noqa: E402
from broker import Broker  # noqa: E402

WAIT = 120  # seconds a subscriber waits at most


def vm(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


class Bench:
    def __init__(self, args, workdir):
        self.a = args
        self.dir = workdir
        b = args.builddir
        os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(
            p for p in (os.path.join(b, "libe2e", ".libs"),
                        os.path.join(b, "libe2e-redis", ".libs"),
                        os.environ.get("LD_LIBRARY_PATH")) if p)
        self.bridge_bin = tool(b, "e2e-bridge")
        self.e2e_pub = tool(b, "e2e-pub")
        self.keygen = tool(b, "e2e-keygen")
        self.paho_pub = os.path.join(b, "tests", "bench", "paho_pub")
        if not os.access(self.paho_pub, os.X_OK):
            sys.exit("bench_bridge: %s not built" % self.paho_pub)
        self.msub = which("mosquitto_sub")
        self.keyring = os.path.join(workdir, "ring")
        subprocess.run([self.keygen, "keyring", "init", "-K", self.keyring],
                       check=True, capture_output=True)

    def start(self):
        self.remote = Broker(os.path.join(self.dir, "remote"),
                             extra="max_queued_messages 0").start()
        bridge = ["connection bench", "address %s:%d" % (
            self.remote.host, self.remote.port), "cleansession true"]
        for q in (0, 1):
            bridge += ["topic mq/out%d/# out %d" % (q, q),
                       "topic mq/in%d/# in %d" % (q, q)]
        self.local = Broker(os.path.join(self.dir, "local"),
                            extra="max_queued_messages 0\n" +
                            "\n".join(bridge)).start()
        self.side = {"remote": self.remote, "local": self.local}
        self.conf = os.path.join(self.dir, "bridge.conf")
        with open(self.conf, "w") as f:
            f.write("remote\nhost %s\nport %d\nlocal\nhost %s\nport %d\n"
                    "keyring %s\nqueue 1000000\nin e2/in/# 1\n"
                    "out e2/out/# 1\n" % (
                        self.remote.host, self.remote.port, self.local.host,
                        self.local.port, self.keyring))
        self.start_bridge()
        if self.a.compare:
            self.start_compared()
        # Each path once end to end, so that no run waits for a bridge's
        # subscription.
        for d in ("out", "in"):
            for q in (0, 1):
                self.probe(d, "mosq", q)

    def start_bridge(self, callgrind=False):
        """e2e-bridge, up when this returns; under callgrind (its output
        files in the work directory) for the instruction counts."""
        argv = [self.bridge_bin, "-c", self.conf]
        if callgrind:
            argv = ["valgrind", "--tool=callgrind", "--separate-threads=yes",
                    "--cache-sim=%s" % ("yes" if self.a.cache_sim else "no"),
                    "--callgrind-out-file="
                    + os.path.join(self.dir, "callgrind.out.%p")] + argv
        env = None
        if callgrind and self.a.gather:
            # Messages gather in the queue while the main thread waits, as
            # at full speed (tests/bench/gather_wake.c).
            shim = os.path.join(self.a.builddir, "tests", "bench", ".libs",
                                "libgatherwake.so")
            if not os.access(shim, os.R_OK):
                sys.exit("bench_bridge: %s not built" % shim)
            env = dict(os.environ, LD_PRELOAD=shim,
                       E2E_GATHER_MS=str(self.a.gather))
        self.err = open(os.path.join(self.dir, "bridge.err"), "wb")
        self.bridge = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL,
                                       stderr=self.err, env=env)
        deadline = time.monotonic() + 60
        while b"event=ready" not in open(self.err.name, "rb").read():
            if time.monotonic() > deadline or self.bridge.poll() is not None:
                sys.exit("bench_bridge: e2e-bridge did not start: %s"
                         % open(self.err.name, "rb").read().decode())
            time.sleep(0.05)
        for d in ("out", "in"):
            for q in (0, 1):
                self.probe(d, "e2e", q)

    def start_compared(self):
        """--compare DIR: that build's e2e-bridge as well, on topics of its
        own (cmp/in/#, cmp/out/#), running all the time as the others."""
        b = os.path.abspath(self.a.compare)
        conf = os.path.join(self.dir, "compared.conf")
        with open(self.conf) as f:
            text = f.read().replace("e2/", "cmp/")
        with open(conf, "w") as f:
            f.write(text)
        env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(
            (os.path.join(b, "libe2e", ".libs"),
             os.path.join(b, "libe2e-redis", ".libs"))))
        err = os.path.join(self.dir, "compared.err")
        with open(err, "wb") as e:
            self.compared = subprocess.Popen(
                [tool(b, "e2e-bridge"), "-c", conf], env=env,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=e)
        deadline = time.monotonic() + 60
        while b"event=ready" not in open(err, "rb").read():
            if time.monotonic() > deadline or \
                    self.compared.poll() is not None:
                sys.exit("bench_bridge: the compared e2e-bridge did not "
                         "start: %s" % open(err, "rb").read().decode())
            time.sleep(0.05)
        for d in ("out", "in"):
            for q in (0, 1):
                self.probe(d, "cmp", q)

    def stop_bridge(self):
        self.bridge.send_signal(signal.SIGTERM)
        self.bridge.wait(timeout=60)
        self.err.close()

    def stop(self):
        self.stop_bridge()
        if self.a.compare:
            self.compared.send_signal(signal.SIGTERM)
            self.compared.wait(timeout=60)
        self.local.stop()
        self.remote.stop()

    def path(self, d, impl, q):
        """(source broker, source topic, destination broker, topic)."""
        src, dst = ("local", "remote") if d == "out" else ("remote", "local")
        if impl == "direct":
            return src, "direct/%s/data" % d, src, "direct/%s/data" % d
        t = ("e2/%s/data" % d if impl == "e2e" else
             "cmp/%s/data" % d if impl == "cmp" else
             "mq/%s%d/data" % (d, q))
        return src, t, dst, t

    def pub_argv(self, d, impl, q, broker, topic):
        b = self.side[broker]
        if d == "in" and impl in ("e2e", "cmp", "direct"):
            return [self.e2e_pub, "-h", b.host, "-p", str(b.port), "-t",
                    topic, "-q", str(q), "-K", self.keyring, "-l"]
        return [self.paho_pub, "-h", b.host, "-p", str(b.port), "-t", topic,
                "-q", str(q), "-l"]

    def sub(self, broker, topic, q, n, out):
        b = self.side[broker]
        p = subprocess.Popen(["stdbuf", "-oL", self.msub, "-h", b.host, "-p",
                              str(b.port), "-t", topic, "-q", str(q), "-C",
                              str(n), "-W", str(WAIT), "-d"],
                             stdout=out, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while b"Subscribed (mid" not in open(out.name, "rb").read():
            if time.monotonic() > deadline or p.poll() is not None:
                sys.exit("bench_bridge: mosquitto_sub did not subscribe")
            time.sleep(0.01)
        return p

    def probe(self, d, impl, q):
        src, topic, dst, _ = self.path(d, impl, q)
        topic = topic.replace("/data", "/probe")
        with open(os.path.join(self.dir, "probe"), "wb") as out:
            s = self.sub(dst, topic, q, 1, out)
            for _ in range(100):
                lines = payload_file(self.dir, 8, 1)
                with open(lines, "rb") as f:
                    subprocess.run(self.pub_argv(d, impl, q, src, topic),
                                   stdin=f, check=True,
                                   stdout=subprocess.DEVNULL)
                try:
                    s.wait(timeout=0.3)
                    return
                except subprocess.TimeoutExpired:
                    pass
            s.kill()
            sys.exit("bench_bridge: nothing went through %s %s QoS %d"
                     % (d, impl, q))

    def run(self, d, impl, q, size, n):
        """Messages per second of one run, or None when some were lost."""
        src, st, dst, dt = self.path(d, impl, q)
        lines = payload_file(self.dir, size, n)
        with open(os.path.join(self.dir, "sub.out"), "wb") as out:
            s = self.sub(dst, dt, q, n, out)
            with open(lines, "rb") as f:
                t0 = time.monotonic()
                pub = subprocess.Popen(self.pub_argv(d, impl, q, src, st),
                                       stdin=f, stdout=subprocess.DEVNULL)
                rc = s.wait(timeout=WAIT + 30)
                t = time.monotonic() - t0
            pub.wait(timeout=WAIT)
        return n / t if rc == 0 else None

    def throughput(self):
        a = self.a
        impls = ["mosq", "e2e"] + (["cmp"] if a.compare else []) + \
            ["direct"]
        print("Throughput, %d messages per run, median of %d runs "
              "(msg/s; ratio = e2e-bridge / mosquitto's bridge)"
              % (a.messages, a.runs))
        if a.compare:
            print("compared: the e2e-bridge of %s (its ratio: cmp ratio; "
                  "this build / that one: vs cmp)" % a.compare)
        print("%-4s %4s %3s %10s %10s %10s %7s" % (
            "dir", "size", "QoS", "direct", "mosquitto", "e2e-bridge",
            "ratio") + (" %10s %9s %7s %6s %6s %7s" % (
                "cmp", "cmp ratio", "vs cmp", "us/msg", "cmp us", "cmp/us")
                        if a.compare else " %6s" % "us/msg"))
        for d in a.dirs:
            for size in a.sizes:
                for q in a.qos:
                    got = {i: [] for i in impls}
                    cpu = {"e2e": [], "cmp": []}
                    pids = {"e2e": self.bridge.pid}
                    if a.compare:
                        pids["cmp"] = self.compared.pid
                    for r in range(a.runs):
                        order = list(impls)
                        if a.compare and r % 2:  # each build first in turn
                            i, j = order.index("e2e"), order.index("cmp")
                            order[i], order[j] = order[j], order[i]
                        for impl in order:
                            t0 = cpu_ns(pids[impl]) if impl in pids else 0
                            got[impl].append(self.run(d, impl, q, size,
                                                      a.messages))
                            if impl in pids:
                                cpu[impl].append((cpu_ns(pids[impl]) - t0)
                                                 / 1e3 / a.messages)
                    med = {}
                    for impl, v in got.items():
                        med[impl] = (None if None in v
                                     else statistics.median(v))

                    def fmt(i):
                        return "lost" if med[i] is None else \
                            "%.0f" % med[i]

                    def ratio(x, y):
                        return ("-" if None in (med[x], med[y])
                                else "%.2f" % (med[x] / med[y]))
                    line = "%-4s %4d %3d %10s %10s %10s %7s" % (
                        d, size, q, fmt("direct"), fmt("mosq"), fmt("e2e"),
                        ratio("e2e", "mosq"))
                    if a.compare:
                        # Per run, this build / the compared one, run
                        # next to each other: the median of those.
                        pairs = [x / y for x, y in zip(got["e2e"],
                                                       got["cmp"])
                                 if x and y]
                        line += " %10s %9s %7s" % (
                            fmt("cmp"), ratio("cmp", "mosq"),
                            "%.2f" % statistics.median(pairs)
                            if pairs else "-")
                        # CPU of each bridge process per message (all its
                        # threads, from schedstat), and cmp / this build
                        # per pair of runs: > 1, this build uses less.
                        line += " %6.2f %6.2f %7.3f" % (
                            statistics.median(cpu["e2e"]),
                            statistics.median(cpu["cmp"]),
                            statistics.median(y / x for x, y in zip(
                                cpu["e2e"], cpu["cmp"])))
                    else:
                        line += " %6.2f" % statistics.median(cpu["e2e"])
                    print(line, flush=True)

    def memory(self):
        n = self.a.memory
        pid = self.bridge.pid
        print("\ne2e-bridge memory over %d messages (out, QoS 1, 64 B), KiB"
              % n)
        print("%10s %8s %8s" % ("messages", "VmRSS", "VmHWM"))
        print("%10d %8d %8d" % (0, vm(pid, "VmRSS"), vm(pid, "VmHWM")))
        step = max(n // 10, 1)
        done = 0
        while done < n:
            k = min(step, n - done)
            if self.run("out", "e2e", 1, 64, k) is None:
                print("lost messages at %d" % done)
                return
            done += k
            print("%10d %8d %8d" % (done, vm(pid, "VmRSS"),
                                    vm(pid, "VmHWM")), flush=True)


    def counted(self, n):
        """Per message of one path: system calls (strace), context switches
        and CPU time (/proc), and e2e-bridge's instructions (callgrind)."""
        def run(d, impl, q, size, k):
            if self.run(d, impl, q, size, k) is None:
                sys.exit("bench_bridge: messages lost while counting")

        def calls(pid, d, impl, q, size, k):
            out = os.path.join(self.dir, "strace.out")
            st = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p",
                                   str(pid)], stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # attached to every thread
            run(d, impl, q, size, k)
            st.send_signal(signal.SIGINT)
            st.wait(timeout=60)
            rows = {}
            for line in open(out):
                w = line.split()
                if len(w) >= 5 and re.match(r"^[0-9.]+$", w[0]):
                    rows[w[-1]] = int(w[3])
            return rows

        def traced(pid, d, impl, q, size, k):
            # perf's tracepoint counters: per thread of the process, at a
            # fraction of strace's cost, so the hand-off runs at its own
            # pace (strace slows every system call, and the main thread
            # then finds the queue empty after each message).
            out = os.path.join(self.dir, "perf.out")
            ev = ["raw_syscalls:sys_enter", "syscalls:sys_enter_futex",
                  "syscalls:sys_enter_tgkill",
                  "syscalls:sys_enter_rt_sigtimedwait", "context-switches"]
            st = subprocess.Popen(["perf", "stat", "-x", ",", "-o", out,
                                   "-e", ",".join(ev), "-p", str(pid)],
                                  stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            run(d, impl, q, size, k)
            st.send_signal(signal.SIGINT)
            st.wait(timeout=60)
            rows = {}
            names = {"raw_syscalls:sys_enter": "total",
                     "context-switches": "cs"}
            for line in open(out):
                w = line.strip().split(",")
                if len(w) >= 3 and re.match(r"^[0-9]+$", w[0]):
                    n = names.get(w[2], w[2].replace(
                        "syscalls:sys_enter_", ""))
                    rows[n] = int(w[0])
            return rows

        def proc(pid, d, impl, q, size, k):
            before = proc_counts(pid)
            run(d, impl, q, size, k)
            after = proc_counts(pid)
            return {key: after[key] - before[key] for key in after}

        def per(f, pid, d, impl, q, size):
            lo = f(pid, d, impl, q, size, n)
            hi = f(pid, d, impl, q, size, 5 * n)
            return {k: (hi.get(k, 0) - lo.get(k, 0)) / (4.0 * n)
                    for k in hi}

        cases = [(d, size, q) for d in ("out", "in") for size in self.a.sizes
                 for q in self.a.qos]
        got = {}
        what = self.a.counts
        for d, size, q in cases:
            for impl, pid in (("mosq", self.local.proc.pid),
                              ("e2e", self.bridge.pid)):
                got[d, size, q, impl] = (
                    per(calls, pid, d, impl, q, size)
                    if "strace" in what else
                    per(traced, pid, d, impl, q, size)
                    if "perf" in what else {},
                    per(proc, pid, d, impl, q, size)
                    if "proc" in what else {"ctxsw": 0, "cpu": 0})
        # Instructions: e2e-bridge again, under callgrind (its counters
        # zeroed before and dumped after each run).
        if "callgrind" in what:
            self.stop_bridge()
            self.start_bridge(callgrind=True)
        for d, size, q in cases:
            got[d, size, q, "ir"] = (self.instructions(d, q, size, n)
                                     if "callgrind" in what else None)

        print("Per message, difference of %d and %d messages over %d: "
              "system calls (%s, all threads), context switches "
              "(voluntary + involuntary, all threads), CPU time (user + "
              "system, us), instructions (callgrind, e2e-bridge only)"
              % (n, 5 * n, 4 * n, "perf stat's tracepoints" if "perf" in what
                 and "strace" not in what else "strace -f -c"))
        print("%-4s %4s %3s %-28s %8s %6s %6s %8s  %s" % (
            "dir", "size", "QoS", "process", "syscalls", "ctxsw", "cpu_us",
            "instr", "largest system calls"))
        for d, size, q in cases:
            for impl in ("mosq", "e2e"):
                sc, pc = got[d, size, q, impl]
                top = sorted(((v, k) for k, v in sc.items()
                              if k != "total" and
                              (v >= 0.5 or "strace" not in what)),
                             reverse=True)
                ir = got[d, size, q, "ir"] if impl == "e2e" else None
                th = ir["thread"] if ir else {}
                print("%-4s %4d %3d %-28s %8.1f %6.2f %6.1f %8s  %s" % (
                    d, size, q, "e2e-bridge" if impl == "e2e" else
                    "local mosquitto (its bridge)", sc.get("total", 0),
                    pc["ctxsw"], pc["cpu"] * 1e6,
                    "-" if not ir else "%.0f" % sum(
                        v.get("Ir", 0) for v in th.values()),
                    " ".join("%s %.2f" % (k, v) for v, k in top)),
                    flush=True)
                if not ir:
                    continue
                print("%-4s %4d %3d %-28s %s" % (
                    d, size, q, "  instructions by thread",
                    " ".join("%s %.0f" % (t, th[t].get("Ir", 0))
                             for t in sorted(th))), flush=True)
                if not self.a.cache_sim:
                    continue
                print("%-4s %4d %3d %-28s %.1f: %s" % (
                    d, size, q, "  I1 misses, by thread",
                    sum(v.get("I1mr", 0) for v in th.values()),
                    " ".join("%s %.1f" % (t, th[t].get("I1mr", 0))
                             for t in sorted(th))), flush=True)
                ob = ir["object"]
                for o in sorted(ob, key=lambda o: -ob[o].get("I1mr", 0)):
                    if ob[o].get("Ir", 0) >= 1 or ob[o].get("I1mr", 0) >= .1:
                        print("%-4s %4d %3d     %-24s Ir %8.0f  I1mr %6.1f"
                              % (d, size, q, o[:24], ob[o].get("Ir", 0),
                                 ob[o].get("I1mr", 0)), flush=True)

    def instructions(self, d, q, size, n):
        """e2e-bridge's instructions per message (it runs under callgrind):
        the difference of n and 5 n messages over 4 n, by thread; with
        --cache-sim also the I1 misses (I1mr), and both by object
        (library) of the whole process: {"thread": {t: {event: v}},
        "object": {obj: {event: v}}}."""
        def total(k):
            subprocess.run(["callgrind_control", "-z", str(self.bridge.pid)],
                           check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            if self.run(d, "e2e", q, size, k) is None:
                sys.exit("bench_bridge: messages lost under callgrind")
            before = set(os.listdir(self.dir))
            subprocess.run(["callgrind_control", "-d", str(self.bridge.pid)],
                           check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            per = {"thread": {}, "object": {}}
            for name in set(os.listdir(self.dir)) - before:
                if name.startswith("callgrind.out"):
                    path = os.path.join(self.dir, name)
                    # One file per thread (callgrind.out.PID-NN): 01 is
                    # the main thread, then Paho's in the order it made
                    # them.
                    t = name.rsplit("-", 1)[1] if "-" in name else "01"
                    summary, objects = callgrind_file(path)
                    add_events(per["thread"].setdefault(t, {}), summary)
                    for o, ev in objects.items():
                        add_events(per["object"].setdefault(o, {}), ev)
                    if self.a.callgrind_dir:  # for callgrind_annotate
                        os.replace(path, os.path.join(
                            self.a.callgrind_dir, "callgrind.%s-%d-q%d-%d%s"
                            % (d, size, q, k, name.split(".")[-1][-3:]
                               if "-" in name else "")))
                    else:
                        os.unlink(path)
            return per

        lo, hi = total(n), total(5 * n)
        return {part: {key: {e: (v - lo[part].get(key, {}).get(e, 0))
                             / (4.0 * n) for e, v in ev.items()}
                       for key, ev in hi[part].items()}
                for part in hi}


def add_events(into, ev):
    for e, v in ev.items():
        into[e] = into.get(e, 0) + v


def callgrind_file(path):
    """The summary ({event: count}) of one callgrind output file, and its
    self cost by object (ob=, the basename): the cost lines of each
    function, less those that follow a calls= line (the inclusive cost of
    a call)."""
    events, summary, objects, names = None, {}, {}, {}
    ob, after_call = "?", False
    with open(path, errors="replace") as f:
        for line in f:
            c = line[:1]
            if c.isdigit() or c in "+-*":
                if after_call:
                    after_call = False
                    continue
                w = line.split()
                cost = objects.setdefault(ob, [0] * len(events))
                for i, x in enumerate(w[1:len(events) + 1]):
                    cost[i] += int(x)
            elif line.startswith("ob="):
                # Compressed: "(id) name" the first time, "(id)" after.
                m = re.match(r"\((\d+)\)\s*(.*)", line[3:].strip())
                if m and m.group(2):
                    names[m.group(1)] = m.group(2)
                name = names.get(m.group(1), "?") if m else line[3:].strip()
                ob = os.path.basename(name) or "?"
            elif line.startswith("cob="):  # names it for later ob= lines
                m = re.match(r"\((\d+)\)\s*(.+)", line[4:].strip())
                if m:
                    names[m.group(1)] = m.group(2)
            elif line.startswith("calls="):
                after_call = True
            elif line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("summary:"):
                summary = dict(zip(events, (int(x) for x in
                                            line.split()[1:])))
    return summary, {o: dict(zip(events, v)) for o, v in objects.items()}


def each_task(pid, name):
    """The text of /proc/PID/task/*/name, one thread after the other."""
    task = "/proc/%d/task" % pid
    for t in os.listdir(task):
        try:
            with open(os.path.join(task, t, name)) as f:
                yield f.read()
        except FileNotFoundError:  # a thread that just ended
            pass


def cpu_ns(pid):
    """CPU time of all of pid's threads so far, ns (schedstat)."""
    return sum(int(text.split()[0]) for text in each_task(pid, "schedstat"))


def proc_counts(pid):
    """Context switches of all of pid's threads, and its CPU seconds."""
    ctx = 0
    for text in each_task(pid, "status"):
        for line in text.splitlines():
            if line.startswith(("voluntary_ctxt_switches:",
                                "nonvoluntary_ctxt_switches:")):
                ctx += int(line.split()[1])
    with open("/proc/%d/stat" % pid) as f:
        w = f.read().rsplit(")", 1)[1].split()
    cpu = (int(w[11]) + int(w[12])) / os.sysconf("SC_CLK_TCK")
    return {"ctxsw": ctx, "cpu": cpu}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--builddir", default=".")
    ap.add_argument("--messages", type=int, default=None,
                    help="per run (default 200000; --counted: 5000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="64,1024")
    ap.add_argument("--qos", default="0,1")
    ap.add_argument("--dirs", default="out,in",
                    help="throughput: the directions (out,in)")
    ap.add_argument("--memory", type=int, default=1000000,
                    help="messages of the memory run (default 1000000)")
    ap.add_argument("--counted", action="store_true",
                    help="system calls per message instead of timings")
    ap.add_argument("--counts", default="strace,proc,callgrind",
                    help="--counted: which of strace (or perf: its "
                    "tracepoints, lighter), proc, callgrind")
    ap.add_argument("--cache-sim", action="store_true",
                    help="--counts callgrind: simulate the caches too, "
                    "I1 misses by thread and by object")
    ap.add_argument("--gather", type=int, default=0, metavar="MS",
                    help="--counts callgrind: the main thread, woken, "
                    "sleeps MS ms so that messages gather as at full "
                    "speed (tests/bench/gather_wake.c)")
    ap.add_argument("--callgrind-dir", metavar="DIR",
                    help="--counted: keep e2e-bridge's callgrind dumps there")
    ap.add_argument("--compare", metavar="BUILDDIR",
                    help="also another build's e2e-bridge, interleaved")
    ap.add_argument("--quick", action="store_true",
                    help="--messages 5000 --runs 1 --memory 100000")
    a = ap.parse_args()
    if a.quick:
        a.messages, a.runs, a.memory = 5000, 1, 100000
    if a.messages is None and not a.counted:
        a.messages = 200000
    a.builddir = os.path.abspath(a.builddir)
    a.sizes = [int(x) for x in a.sizes.split(",")]
    a.qos = [int(x) for x in a.qos.split(",")]
    a.dirs = [x for x in a.dirs.split(",") if x in ("out", "in")]
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="bench-bridge-") as workdir:
        b = Bench(a, workdir)
        b.start()
        try:
            if a.counted:
                b.counted(a.messages or 5000)
            else:
                b.throughput()
            if a.memory and not a.counted:
                b.memory()
        finally:
            b.stop()
    print("load average at end: %.2f %.2f %.2f" % os.getloadavg())


if __name__ == "__main__":
    main()
