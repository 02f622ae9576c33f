/* Signals and time (signals.h). */
#define _GNU_SOURCE /* syscall(SYS_tgkill) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "signals.h"

/* The main thread, for cli_wake_main's tgkill: the process and thread
 * ids taken once, so that a wake-up is one system call (pthread_kill adds
 * getpid and two rt_sigprocmask around its tgkill). */
static pid_t main_pid;
static long main_tid;
/* Only the main thread takes signals, so plain ints do. */
static int hup_pending;
static int stop_requested;

static void signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/* SIGURG interrupts a waiting poll or select and does nothing else
 * (cli_nudge_thread): with SA_RESTART, which poll and select never honour
 * (signal(7)), so they return EINTR while a read or write that a SIGURG
 * from elsewhere catches in any other thread goes on (stdout's included):
 * such a SIGURG stays as harmless as under the default, ignored. */
static void on_urg(int sig)
{
	(void)sig;
}

void cli_signals_block(void)
{
	sigset_t set;
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_urg;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGURG, &sa, NULL);
	signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	main_pid = getpid();
	main_tid = syscall(SYS_gettid);
}

int cli_signal_wait(long ms)
{
	sigset_t set;
	struct timespec ts;
	int sig;

	signal_set(&set);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	do
		sig = sigtimedwait(&set, NULL, &ts);
	while (sig < 0 && errno == EINTR);
	if (sig == SIGHUP)
		hup_pending = 1;
	else if (sig == SIGINT || sig == SIGTERM)
		stop_requested = 1;
	return sig < 0 ? 0 : sig;
}

int cli_take_hup(void)
{
	int was = hup_pending;
	hup_pending = 0;
	return was;
}

int cli_stop_requested(void)
{
	return stop_requested;
}

void cli_wake_main(void)
{
	if (main_tid > 0)
		syscall(SYS_tgkill, (long)main_pid, main_tid, SIGUSR1);
}

int64_t cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cli_interrupted(void)
{
	cli_signal_wait(0);
	return cli_stop_requested();
}

int cli_nudge_thread(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int found = 0;

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char path[64], comm[32];
		long tid = strtol(e->d_name, NULL, 10);
		ssize_t n;
		int fd;

		if (tid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%ld/comm", tid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, comm, sizeof comm - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) == 0)
			found = syscall(SYS_tgkill, (long)getpid(), tid,
					SIGURG) == 0;
	}
	closedir(d);
	return found;
}
