/*
 * LD_PRELOAD module for bench_bridge.py --counted --gather MS.
 *
 * At full speed on two cores e2e-bridge's main thread finds some 50
 * messages queued each time it looks (docs/PERFORMANCE.md, "Running the
 * main thread's turn in phases"). Under callgrind, which runs one thread
 * at a time and lets another run at each system call, it finds one: the
 * receive thread queues a message, wakes it, and the main thread takes
 * that one before the next arrives. The instruction cache behaves very
 * differently in the two cases, so the counts would describe callgrind's
 * schedule, not the bridge's.
 *
 * This module lets messages gather as they do at full speed: when the
 * main thread's idle wait (sigtimedwait with a timeout) returns because a
 * queued message woke it (SIGUSR1, cli_wake_main), it sleeps
 * E2E_GATHER_MS milliseconds more before it returns. Nothing else changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

typedef int (*sigtimedwait_fn)(const sigset_t *, siginfo_t *,
			       const struct timespec *);

int sigtimedwait(const sigset_t *set, siginfo_t *info,
		 const struct timespec *timeout)
{
	static sigtimedwait_fn real;
	static long ms = -1;
	int sig;

	if (!real)
		real = (sigtimedwait_fn)dlsym(RTLD_NEXT, "sigtimedwait");
	if (ms < 0) {
		const char *v = getenv("E2E_GATHER_MS");

		ms = v ? atol(v) : 0;
	}
	sig = real(set, info, timeout);
	if (sig == SIGUSR1 && ms > 0 && timeout &&
	    (timeout->tv_sec || timeout->tv_nsec)) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
	}
	return sig;
}
