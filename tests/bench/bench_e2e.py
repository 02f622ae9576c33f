#!/usr/bin/python3
"""End-to-end benchmark: e2e-pub -> mosquitto -> e2e-sub against
mosquitto_pub -> mosquitto -> mosquitto_sub, on the same broker, in the
same run; and e2e-sub's resident memory over a long stream.

    tests/bench/bench_e2e.py [--builddir DIR] [--messages N] [--runs R]
                             [--sizes 64,1024] [--qos 0,1]
                             [--memory 100000,1000000] [--csv FILE]
    tests/bench/bench_e2e.py --counted [--builddir DIR] [--sizes 64]
                             [--qos 0,1] [--cache-sim] [--sides pub]
    ... [--baseline-pub PATH]   (either mode: a pair "base" too)
    ... [--baseline-sub PATH]   (either mode: a pair "basesub" too)

A third pair, "paho", is tests/bench/paho_pub and paho_sub: the same
client library as e2e-pub and e2e-sub (Paho MQTTAsync) and their design,
without libe2e, so that the cost of the client library and the cost of
libe2e show apart. paho_pub is of e2e-pub's (trace at errors, 64 KiB stdin
reads, the same window from the oldest unacknowledged publication resumed
at half, publication records reused), publishing each line clear; paho_sub
of e2e-sub's (trace at errors, stdout buffered and written out when idle
1 ms by the main thread).

--baseline-pub PATH adds a pair "base": the e2e-pub program at PATH (an
earlier build's cli/.libs/e2e-pub, copied aside) with this build's
e2e-sub, so that a change to e2e-pub is measured before and after in the
same run, its runs interleaved with the others; the throughput table then
adds the medians of the per-run ratios of the publishers' CPU time (base
/ e2e, and each / paho_pub).

--baseline-sub PATH likewise adds a pair "basesub": this build's e2e-pub
with the e2e-sub program at PATH, so that a change to e2e-sub is measured
before and after in the same run; the throughput table then adds the
medians of the per-run ratios of the subscribers' CPU time (basesub / e2e,
and each / paho_sub).

Every table's header states the broker's in-flight and queue settings (the
last of each in the mosquitto.conf written for it) and each publisher's
in-flight window, read from the sources where they are defined.

A benchmark, not a test: it prints figures. For each payload size and QoS,
runs alternate between the tool pairs; each run starts a subscriber
(stdout to a file), waits until it is subscribed (probe messages until one
arrives), then times the publisher sending N messages with -l until the
subscriber has printed all N. Messages/s is N / that time; the figure is
the median of the runs, and the ratio is e2e / plain.

--counted prints counts that do not depend on the machine's load instead
of timings: instructions per message (valgrind's callgrind, all threads)
and system calls per message (strace -f -c) of each publisher and each
subscriber (--sides pub: publishers only). With --cache-sim callgrind
simulates the caches too (--cache-sim=yes --separate-threads=yes) and the
table adds the main thread's instructions and the first-level instruction
cache misses (I1mr) per message, of all threads and of the main thread.
Each is measured twice, with n and 5 n messages, and the
figure is the difference divided by 4 n, so that start-up, connection and
the subscription's probes cancel out. Run it once with --builddir of a
build against Debian's Paho and once against another (./configure
--with-paho=DIR) to see what a Paho built with PAHO_HIGH_PERFORMANCE buys.

The broker is tests/integration/broker.py's (a real mosquitto on a free
loopback port, its own configuration, max_queued_messages unlimited here
so nothing is dropped; stopped by PID). Needs the built e2e-pub, e2e-sub
and e2e-keygen (--builddir, default the current directory), mosquitto,
mosquitto_pub and mosquitto_sub.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from broker import Broker  # noqa: E402

TOPIC = "bench/e2e/stream"
POLL = 0.002  # seconds between looks at the subscriber's output
# mosquitto_pub's in-flight limit at QoS 1/2 without -M (client_shared.c's
# init_config in mosquitto 2.0).
MOSQUITTO_PUB_INFLIGHT = 20


def _c_defines(*paths):
    """#define NAME VALUE of the C files (relative to the source tree)."""
    defs = {}
    for rel in paths:
        try:
            with open(os.path.join(SRCDIR, rel)) as f:
                for m in re.finditer(r"^#define\s+(\w+)\s+(.+?)\s*(?:/\*.*)?$",
                                     f.read(), re.M):
                    defs[m.group(1)] = m.group(2)
        except OSError:
            pass
    return defs


def _c_number(defs, name, depth=8):
    """The integer a macro comes to (casts, parentheses and integer
    suffixes dropped, other macros followed), or None."""
    v = defs.get(name)
    while v is not None and depth > 0:
        v = re.sub(r"\((?:unsigned\s+)?(?:long|int|size_t)\)", "", v)
        v = v.strip("() ")
        m = re.fullmatch(r"(\d+)[uUlL]*", v)
        if m:
            return int(m.group(1))
        v, depth = defs.get(v), depth - 1
    return None


def settings_header(conf_path):
    """Lines that say which in-flight limits a table was measured with."""
    conf = {}
    try:
        with open(conf_path) as f:
            for line in f:
                words = line.split()
                if len(words) == 2 and not words[0].startswith("#"):
                    conf[words[0]] = words[1]  # the last one counts
    except OSError:
        pass

    def show(key):
        v = conf.get(key, "default")
        return "%s %s%s" % (key, v, " (unlimited)" if v == "0" else "")

    defs = _c_defines("libe2e/include/e2e.h", "cli/conn.c")
    pdefs = _c_defines("tests/bench/paho_pub.c")
    q = lambda v: "?" if v is None else str(v)  # noqa: E731
    return [
        "broker: %s, %s" % (show("max_inflight_messages"),
                            show("max_queued_messages")),
        "publishers in flight: mosquitto_pub %d (libmosquitto's default, "
        "its -M);" % MOSQUITTO_PUB_INFLIGHT,
        "  e2e-pub %s (conn.c's CLI_WINDOW) and paho_pub %s from the oldest "
        "unacknowledged, resumed at half;" %
        (q(_c_number(defs, "CLI_WINDOW")), q(_c_number(pdefs, "WINDOW"))),
        "  Paho's maxInflight %s (e2e-pub), %s (paho_pub); subscribers: as "
        "the broker sends" %
        (q(_c_match("cli/conn.c", r"set->max_inflight\s*:\s*(\d+)")),
         q(_c_match("tests/bench/paho_pub.c",
                    r"long max_inflight = (\d+)"))),
    ]


def _c_match(rel, pattern):
    """The integer pattern's group 1 matches in a source file, or None."""
    try:
        with open(os.path.join(SRCDIR, rel)) as f:
            m = re.search(pattern, f.read())
    except OSError:
        return None
    return int(m.group(1)) if m else None


def tool(builddir, name):
    path = os.path.join(builddir, "cli", name)
    if not os.access(path, os.X_OK):
        sys.exit("bench_e2e: %s not found (build first, or --builddir)" % path)
    # Not libtool's wrapper script (valgrind would count the shell): the
    # program itself, which finds the build tree's libe2e through
    # LD_LIBRARY_PATH (main sets it).
    real = os.path.join(builddir, "cli", ".libs", name)
    return real if os.access(real, os.X_OK) else path


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


def main_thread_cpu(proc):
    """Once proc has exited (not yet reaped): the CPU seconds of its main
    thread alone (the scheduler's runtime, /proc/PID/task/PID/schedstat,
    still there while proc is a zombie), or NaN."""
    os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    try:
        with open("/proc/%d/task/%d/schedstat" % (proc.pid, proc.pid)) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        return float("nan")


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
    printed by the subscriber, the CPU seconds the publisher and the
    subscriber used for them (the subscriber's include its probes, a
    negligible few), and those of the publisher's main thread alone."""
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
            pub_main = main_thread_cpu(pub)
            pub_cpu = reap(pub)
            if pub.returncode != 0:
                raise RuntimeError("%s publisher failed" % pair.name)
    finally:
        err = sub.stop()
    if "rejected" in err:
        raise RuntimeError("%s subscriber rejected messages:\n%s" %
                           (pair.name, err[:2000]))
    return t1 - t0, pub_cpu, sub.cpu, pub_main


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
            if csv:
                # Every run, in the order run (the pairs alternate).
                for i in range(runs):
                    for p in pairs:
                        t, pc, sc, pm = res[p.name][i]
                        csv.write("run,%d,%d,%s,%d,%.4f,%.4f,%.4f,%.4f\n"
                                  % (size, qos, p.name, i, t, pc, sc, pm))
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
            if "plain" in rate and "e2e" in rate:
                e2e = rate["e2e"] / rate["plain"]
                print("%-6d %3d %-6s %10s %7.3f   (e2e / plain, the target)"
                      % (size, qos, "=>", "", e2e))
            if "base" in res and "e2e" in res:
                # The publishers' CPU time, run by run (the runs alternate):
                # the median of base / e2e, and of each against paho_pub;
                # the whole process's, and its main thread's.
                for col, what in ((1, "pub CPU"), (3, "pub main-thread CPU")):
                    cpu = {k: [x[col] for x in v] for k, v in res.items()}
                    us = {k: statistics.median(v) * 1e6 / count
                          for k, v in cpu.items()}
                    print("%-6d %3d %-6s %10s %7.3f   (%s base / e2e, median "
                          "of per-run ratios; %s us/msg: %s)" %
                          (size, qos, "=>", "", statistics.median(
                              b / e for b, e in zip(cpu["base"], cpu["e2e"])),
                           what, what, ", ".join(
                               "%s %.2f" % kv for kv in sorted(us.items()))))
                    if "paho" in cpu:
                        for k in ("base", "e2e"):
                            print("%-6d %3d %-6s %10s %7.3f   (%s %s / "
                                  "paho_pub)" %
                                  (size, qos, "=>", "", statistics.median(
                                      a / b for a, b in zip(cpu[k],
                                                            cpu["paho"])),
                                   what, k))
            if "basesub" in res and "e2e" in res:
                # The subscribers' CPU time and the rates, run by run.
                sub = {k: [x[2] for x in v] for k, v in res.items()}
                print("%-6d %3d %-6s %10s %7.3f   (sub CPU basesub / e2e, "
                      "median of per-run ratios)" %
                      (size, qos, "=>", "", statistics.median(
                          b / e for b, e in zip(sub["basesub"],
                                                sub["e2e"]))))
                print("%-6d %3d %-6s %10s %7.3f   (msg/s e2e / basesub, "
                      "median of per-run ratios)" %
                      (size, qos, "=>", "", statistics.median(
                          b[0] / e[0] for b, e in zip(res["basesub"],
                                                      res["e2e"]))))
                if "paho" in sub:
                    for k in ("basesub", "e2e"):
                        print("%-6d %3d %-6s %10s %7.3f   (sub CPU %s / "
                              "paho_sub; msg/s %s / paho: %.3f)" %
                              (size, qos, "=>", "", statistics.median(
                                  a / b for a, b in zip(sub[k], sub["paho"])),
                               k, k, statistics.median(
                                   b[0] / a[0] for a, b in
                                   zip(res[k], res["paho"]))))
            sys.stdout.flush()


COUNTERS = {
    # name: (argv prefix given the output file, reader of the output file)
    "instructions": (
        lambda out: ["valgrind", "--tool=callgrind", "--quiet",
                     "--callgrind-out-file=" + out],
        lambda out: _callgrind_total(out)),
    "syscalls": (
        lambda out: ["strace", "-f", "-c", "-o", out],
        lambda out: _strace_total(out)),
}

# --cache-sim: one callgrind run with the cache simulation and a file per
# thread (OUT-01 the main thread, OUT-02 ... Paho's), read into several
# figures.
CACHE_COUNTER = (
    lambda out: ["valgrind", "--tool=callgrind", "--quiet",
                 "--cache-sim=yes", "--separate-threads=yes",
                 "--callgrind-out-file=" + out],
    lambda out: _callgrind_threads(out))
CACHE_FIGURES = ("instructions", "main instructions", "I1 misses",
                 "main I1 misses")


def _callgrind_events(path):
    """{event: total} of one callgrind output file."""
    names = None
    with open(path) as f:
        for line in f:
            if line.startswith("events:"):
                names = line.split()[1:]
            elif line.startswith(("summary:", "totals:")) and names:
                return dict(zip(names, (int(x) for x in line.split()[1:])))
    raise RuntimeError("no totals in " + path)


def _callgrind_total(path):
    return _callgrind_events(path)["Ir"]


def _callgrind_threads(out):
    """CACHE_FIGURES from the per-thread files OUT-NN."""
    d = os.path.dirname(out)
    base = os.path.basename(out) + "-"
    files = sorted(f for f in os.listdir(d) if f.startswith(base))
    if not files:
        raise RuntimeError("no callgrind output " + out + "-NN")
    per = [_callgrind_events(os.path.join(d, f)) for f in files]
    main = _callgrind_events(out + "-01")
    return {"instructions": sum(e["Ir"] for e in per),
            "main instructions": main["Ir"],
            "I1 misses": sum(e.get("I1mr", 0) for e in per),
            "main I1 misses": main.get("I1mr", 0)}


def _strace_total(path):
    """The calls column of strace -c's total line (columns are aligned
    under the header's; usecs/call and errors may be blank)."""
    end = None
    with open(path) as f:
        for line in f:
            if end is None and "calls" in line and "syscall" in line:
                end = line.index(" calls") + len(" calls")
            elif end is not None and line.split()[-1:] == ["total"]:
                return int(line[:end].split()[-1])
    raise RuntimeError("no total in " + path)


def counted_run(pair, workdir, size, count, qos, side, counter):
    """The counter's total for one side ('pub' or 'sub') of pair, with
    count messages through the broker; the other side runs plainly."""
    wrap, read = CACHE_COUNTER if counter == "cache" else COUNTERS[counter]
    out = os.path.join(workdir, "count.out")
    for f in os.listdir(workdir):
        if f == "count.out" or f.startswith("count.out-"):
            os.unlink(os.path.join(workdir, f))
    probe = payload_file(workdir, size, 1)
    data = payload_file(workdir, size, count)
    sub_argv = pair.sub + ["-q", str(qos)]
    if side == "sub":
        sub_argv = wrap(out) + sub_argv
    sub = Subscriber(sub_argv, os.path.join(workdir, "sub.out"), size + 1)
    try:
        base = wait_subscribed(sub, pair, probe, bound=60.0)
        pub_argv = pair.pub + ["-q", str(qos), "-l"]
        if side == "pub":
            pub_argv = wrap(out) + pub_argv
        with open(data, "rb") as f:
            pub = subprocess.Popen(pub_argv, stdin=f)
            deadline = time.monotonic() + 600
            while sub.lines() < base + count:
                if time.monotonic() > deadline:
                    pub.kill()
                    raise RuntimeError("%s: stalled" % pair.name)
                time.sleep(0.05)
            if pub.wait() != 0:
                raise RuntimeError("%s publisher failed" % pair.name)
    finally:
        if side == "sub":
            # SIGTERM to the subscriber itself (strace does not pass its
            # own on); every subscriber here exits cleanly on it, and the
            # counter writes its totals as it ends.
            for pid in _children(sub.proc.pid) or [sub.proc.pid]:
                os.kill(pid, signal.SIGTERM)
            try:
                sub.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        sub.stop()
    return read(out)


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []


def counted(pairs, workdir, sizes, qoses, n, csv, sides=("pub", "sub"),
            cache=False):
    """Instructions and system calls per message, each side of each
    pair: (total(5 n) - total(n)) / 4 n. With cache, the instructions
    come from the cache-simulating run, which adds the main thread's
    instructions and the I1 misses (all threads, main thread)."""
    extra = CACHE_FIGURES[1:] if cache else ()
    print(("%-6s %3s %-6s %-4s %16s %12s" + " %18s" * len(extra)) %
          ("bytes", "qos", "pair", "side", "instructions/msg",
           "syscalls/msg", *(x + "/msg" for x in extra)))
    counters = ["cache" if cache else "instructions", "syscalls"]
    for size in sizes:
        for qos in qoses:
            for p in pairs:
                for side in sides:
                    per = {}
                    for counter in counters:
                        lo = counted_run(p, workdir, size, n, qos, side,
                                         counter)
                        hi = counted_run(p, workdir, size, 5 * n, qos, side,
                                         counter)
                        if counter == "cache":
                            for k in CACHE_FIGURES:
                                per[k] = (hi[k] - lo[k]) / (4 * n)
                        else:
                            per[counter] = (hi - lo) / (4 * n)
                    print(("%-6d %3d %-6s %-4s %16.0f %12.2f" +
                           " %18.1f" * len(extra)) %
                          (size, qos, p.name, side, per["instructions"],
                           per["syscalls"], *(per[k] for k in extra)))
                    sys.stdout.flush()
                    if csv:
                        csv.write(("counted,%d,%d,%s,%s,%.0f,%.2f" +
                                   ",%.1f" * len(extra) + "\n") %
                                  (size, qos, p.name, side,
                                   per["instructions"], per["syscalls"],
                                   *(per[k] for k in extra)))


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
    ap.add_argument("--counted", action="store_true",
                    help="print instructions and system calls per message "
                         "(callgrind, strace) instead of timings")
    ap.add_argument("--pairs", default="plain,e2e,paho",
                    help="pairs to run (default plain,e2e,paho)")
    ap.add_argument("--counted-messages", type=int, default=1000,
                    help="n for --counted (runs of n and 5 n messages)")
    ap.add_argument("--cache-sim", action="store_true",
                    help="--counted: simulate the caches, add the main "
                         "thread's instructions and the I1 misses")
    ap.add_argument("--sides", default="pub,sub",
                    help="--counted: the sides counted (default pub,sub)")
    ap.add_argument("--baseline-pub",
                    help="an earlier e2e-pub program: adds the pair "
                         "\"base\" (it with this build's e2e-sub)")
    ap.add_argument("--baseline-sub",
                    help="an earlier e2e-sub program: adds the pair "
                         "\"basesub\" (this build's e2e-pub with it)")
    args = ap.parse_args()
    if args.counted:
        for name in ("valgrind", "strace"):
            which(name)

    builddir = os.path.abspath(args.builddir)
    os.environ["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (os.path.join(builddir, "libe2e", ".libs"),
                    os.path.join(builddir, "libe2e-redis", ".libs"),
                    os.environ.get("LD_LIBRARY_PATH")) if p)
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
            if args.baseline_pub:
                base = os.path.abspath(args.baseline_pub)
                if not os.access(base, os.X_OK):
                    sys.exit("bench_e2e: %s not found" % base)
                pairs.append(Pair("base", [base, *conn, "-t", TOPIC, "-K",
                                           keyring],
                                  [e2e_sub, *conn, "-t", TOPIC, "-K",
                                   keyring]))
            if args.baseline_sub:
                bsub = os.path.abspath(args.baseline_sub)
                if not os.access(bsub, os.X_OK):
                    sys.exit("bench_e2e: %s not found" % bsub)
                pairs.append(Pair("basesub", [e2e_pub, *conn, "-t", TOPIC,
                                              "-K", keyring],
                                  [bsub, *conn, "-t", TOPIC, "-K",
                                   keyring]))
            wanted = args.pairs.split(",")
            if args.baseline_pub and "base" not in wanted:
                wanted.append("base")
            if args.baseline_sub and "basesub" not in wanted:
                wanted.append("basesub")
            pairs = [p for p in pairs if p.name in wanted]
            header = "\n".join(settings_header(b.conf_path))
            if args.counted:
                print("bench_e2e --counted: mosquitto on 127.0.0.1:%d, "
                      "runs of %d and %d messages, builddir %s\n%s\n" %
                      (b.port, args.counted_messages,
                       5 * args.counted_messages, builddir, header))
                counted(pairs, workdir,
                        [int(s) for s in args.sizes.split(",") if s],
                        [int(q) for q in args.qos.split(",") if q],
                        args.counted_messages, csv,
                        sides=[x for x in args.sides.split(",") if x],
                        cache=args.cache_sim)
                return
            print("bench_e2e: mosquitto on 127.0.0.1:%d, %d messages per "
                  "run, median of %d runs\n%s\n" %
                  (b.port, args.messages, args.runs, header))
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
