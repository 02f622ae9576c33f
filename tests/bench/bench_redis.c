/*
 * bench_redis: check-and-commit per second, the in-memory guard against the
 * Redis one (libe2e-redis), in the same run: one call per message, then
 * pipelined batches, then several members at once; and the memory Redis
 * uses per tracked sender. Prints figures; not a test.
 *
 *   tests/bench/bench_redis [--messages N] [--url redis://HOST:PORT/PREFIX]
 *                           [--everysec] [--counted]
 *
 * Without --url it starts its own redis-server (REDIS_SERVER, else
 * /usr/bin/redis-server) on a free loopback port, with AOF and
 * appendfsync always unless --everysec is given.
 *
 * --counted prints instead what does not depend on the machine's load, per
 * message, for batches as e2e-sub makes them (e2e_redis_check_commit_batch
 * of 128 and of 256 messages, from 1 and from 64 senders): redis-server's
 * CPU time (utime + stime of /proc/PID/stat, its own server only), the
 * script's time as Redis counts it (INFO commandstats, usec of evalsha
 * divided by the messages judged) and the bytes appended to the AOF (INFO
 * persistence, aof_current_size).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "e2e.h"
#include "e2e_redis.h"
#include "redis_server.h"

#define NOW 1700000000u
#define SENDERS 64u
#define MEMBERS_MAX 4

static double seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Message i of a stream: SENDERS senders in turn, sequences rising. */
static e2e_info nth(size_t i, uint64_t base)
{
	e2e_info in;

	memset(&in, 0, sizeof in);
	in.suite = E2E_SUITE_MAC;
	in.key_id = 1;
	in.sender_id = base + i % SENDERS;
	in.seq = ((uint64_t)1 << 32) + i / SENDERS;
	in.timestamp = NOW;
	return in;
}

static void report(const char *what, size_t n, double t)
{
	printf("%-44s %9.0f /s  (%zu in %.2f s)\n", what, (double)n / t, n, t);
}

static void bench_memory(size_t n)
{
	e2e_guard *g;
	double t0;
	size_t i;

	if (e2e_guard_new(&g, NULL) != E2E_OK)
		exit(1);
	t0 = seconds();
	for (i = 0; i < n; i++) {
		e2e_info in = nth(i, 0x100);

		if (e2e_guard_check(g, &in, "b/t", 0, NOW) != E2E_OK)
			exit(1);
		e2e_guard_commit(g, &in, "b/t", 0, NOW);
	}
	report("in-memory guard", n, seconds() - t0);
	e2e_guard_free(g);
}

static e2e_redis *member(const char *url, int prefix)
{
	char u[600];
	e2e_redis *rs;

	snprintf(u, sizeof u, "%s%d", url, prefix);
	if (e2e_redis_connect(&rs, u, NULL, NULL) != E2E_OK) {
		fprintf(stderr, "bench_redis: cannot connect to %s\n", u);
		exit(1);
	}
	return rs;
}

/* Calls for messages [from, to) of the stream, batch at a time. */
static void run(e2e_redis *rs, size_t from, size_t to, size_t batch,
		uint64_t base)
{
	e2e_redis_item it[E2E_REDIS_BATCH_MAX];
	e2e_info in[E2E_REDIS_BATCH_MAX];
	size_t i, j;

	for (i = from; i < to; i += batch) {
		size_t m = to - i < batch ? to - i : batch;

		for (j = 0; j < m; j++) {
			in[j] = nth(i + j, base);
			it[j] = (e2e_redis_item){&in[j], "b/t", 0, 0};
		}
		if (m == 1 ? e2e_redis_check_commit(rs, &in[0], "b/t", 0,
						    NOW) != E2E_OK
			   : e2e_redis_check_commit_batch(rs, it, m, NOW) !=
				     E2E_OK) {
			fprintf(stderr, "bench_redis: refused\n");
			exit(1);
		}
	}
}

static void bench_redis(const char *url, size_t n, size_t batch, int prefix)
{
	e2e_redis *rs = member(url, prefix);
	char what[64];
	double t0 = seconds();

	run(rs, 0, n, batch, 0x100);
	if (batch == 1)
		snprintf(what, sizeof what,
			 "redis guard, one call per message");
	else
		snprintf(what, sizeof what, "redis guard, pipelined by %zu",
			 batch);
	report(what, n, seconds() - t0);
	e2e_redis_free(rs);
}

struct racer {
	const char *url;
	int prefix;
	size_t n, batch;
	uint64_t base;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	e2e_redis *rs = member(r->url, r->prefix);

	run(rs, 0, r->n, r->batch, r->base);
	e2e_redis_free(rs);
	return NULL;
}

/* k members at once, each its own senders (a group's total). */
static void bench_members(const char *url, size_t n, int k, size_t batch,
			  int prefix)
{
	pthread_t th[MEMBERS_MAX];
	struct racer r[MEMBERS_MAX];
	char what[64];
	double t0 = seconds();
	int i;

	for (i = 0; i < k; i++) {
		r[i] = (struct racer){url, prefix, n / (size_t)k, batch,
				      0x100000 * (uint64_t)(i + 1)};
		pthread_create(&th[i], NULL, racer_main, &r[i]);
	}
	for (i = 0; i < k; i++)
		pthread_join(th[i], NULL);
	snprintf(what, sizeof what, "redis guard, %d members, batch %zu", k,
		 batch);
	report(what, n / (size_t)k * (size_t)k, seconds() - t0);
}

/* The number after field in INFO section (field includes its ':' or '='),
 * looked for after line when line is not NULL (commandstats: one line per
 * command), or -1. */
static double info_stat(int port, const char *section, const char *line,
			const char *field)
{
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r;
	double v = -1;
	const char *p = NULL;

	if (c == NULL || c->err != 0)
		return -1;
	r = redisCommand(c, "INFO %s", section);
	if (r != NULL && r->type == REDIS_REPLY_STRING)
		p = line ? strstr(r->str, line) : r->str;
	if (p != NULL && (p = strstr(p, field)) != NULL)
		v = atof(p + strlen(field));
	if (r != NULL)
		freeReplyObject(r);
	redisFree(c);
	return v;
}

static double info_field(int port, const char *section, const char *field)
{
	return info_stat(port, section, NULL, field);
}

static long long used_memory(int port)
{
	return (long long)info_field(port, "memory", "used_memory:");
}

/* The number after key ("calls=", "usec=") in evalsha's line of INFO
 * commandstats, or -1. */
static double evalsha_stat(int port, const char *key)
{
	return info_stat(port, "commandstats", "cmdstat_evalsha:", key);
}

/* CPU seconds of process pid so far (utime + stime). */
static double cpu_of(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;
	size_t got;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	got = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[got] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Per message of n, for batches of batch messages from senders senders:
 * redis-server's CPU, evalsha's usec, AOF bytes. */
static void bench_counted(const char *url, const struct redis_server *s,
			  size_t n, size_t batch, unsigned senders, int prefix)
{
	e2e_redis *rs = member(url, prefix);
	e2e_redis_item it[E2E_REDIS_BATCH_MAX];
	e2e_info in[E2E_REDIS_BATCH_MAX];
	double cpu, usec, calls, aof;
	size_t i, j;
	char what[64];

	/* The first message of each sender (its window is made) before. */
	for (j = 0; j < senders; j++) {
		in[0] = nth(0, 0x300000 * (uint64_t)prefix);
		in[0].sender_id += j;
		if (e2e_redis_check_commit(rs, &in[0], "b/t", 0, NOW) != E2E_OK)
			exit(1);
	}
	cpu = cpu_of(s->pid);
	calls = evalsha_stat(s->port, "calls=");
	usec = evalsha_stat(s->port, "usec=");
	aof = info_field(s->port, "persistence", "aof_current_size:");
	for (i = 0; i < n; i += batch) {
		size_t m = n - i < batch ? n - i : batch;

		for (j = 0; j < m; j++) {
			size_t k = senders + i + j; /* past the first ones */

			in[j] = nth(0, 0x300000 * (uint64_t)prefix);
			in[j].sender_id += k % senders;
			in[j].seq += k / senders;
			it[j] = (e2e_redis_item){&in[j], "b/t", 0, 0};
		}
		if (e2e_redis_check_commit_batch(rs, it, m, NOW) != E2E_OK) {
			fprintf(stderr, "bench_redis: refused\n");
			exit(1);
		}
	}
	cpu = cpu_of(s->pid) - cpu;
	usec = evalsha_stat(s->port, "usec=") - usec;
	calls = evalsha_stat(s->port, "calls=") - calls;
	aof = info_field(s->port, "persistence", "aof_current_size:") - aof;
	snprintf(what, sizeof what, "batch %zu, %u sender%s", batch, senders,
		 senders == 1 ? "" : "s");
	printf("%-22s %9.2f %12.2f %10.1f %8.0f\n", what, cpu * 1e6 / (double)n,
	       usec / (double)n, aof / (double)n, calls);
	e2e_redis_free(rs);
}

/* Bytes of Redis memory per tracked sender (a group's default window,
 * E2E_REDIS_WINDOW_DEFAULT). */
static void bench_sender_bytes(const char *url, int port, int prefix)
{
	e2e_redis *rs = member(url, prefix);
	long long before = used_memory(port), after;
	size_t i;

	for (i = 0; i < 4096; i++) {
		e2e_info in = nth(0, 0x200000 + i);

		if (e2e_redis_check_commit(rs, &in, "b/t", 0, NOW) != E2E_OK)
			exit(1);
	}
	after = used_memory(port);
	printf("%-44s %9.0f B  (4096 senders, window %u)\n",
	       "redis memory per tracked sender",
	       (double)(after - before) / 4096, E2E_REDIS_WINDOW_DEFAULT);
	e2e_redis_free(rs);
}

int main(int argc, char **argv)
{
	struct redis_server s;
	const char *url = NULL;
	char base[600];
	size_t n = 20000;
	int i, everysec = 0, counted = 0, prefix = 0;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--messages") == 0 && i + 1 < argc)
			n = (size_t)strtoul(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
			url = argv[++i];
		else if (strcmp(argv[i], "--everysec") == 0)
			everysec = 1;
		else if (strcmp(argv[i], "--counted") == 0)
			counted = 1;
		else {
			fprintf(stderr,
				"usage: %s [--messages N] [--url URL] "
				"[--everysec] [--counted]\n",
				argv[0]);
			return 2;
		}
	}
	if (e2e_init() != E2E_OK || n < 64 || (counted && url != NULL))
		return 1;
	memset(&s, 0, sizeof s);
	if (url == NULL) {
		if (redis_server_start(&s, everysec ? "appendfsync everysec"
						    : NULL) != 0) {
			fprintf(stderr,
				"bench_redis: cannot start redis-server\n");
			return 1;
		}
		snprintf(base, sizeof base, "redis://127.0.0.1:%d/bench",
			 s.port);
	} else {
		snprintf(base, sizeof base, "%s", url);
	}
	printf("# %zu messages from %u senders; redis %s, appendfsync %s\n", n,
	       SENDERS, url != NULL ? url : base,
	       url != NULL ? "(as configured)"
	       : everysec  ? "everysec"
			   : "always");
	if (counted) {
		static const size_t batches[] = {128, E2E_REDIS_BATCH_MAX};
		static const unsigned senders[] = {1, SENDERS};

		printf("%-22s %9s %12s %10s %8s\n", "per message:", "redis us",
		       "evalsha us", "AOF bytes", "calls");
		for (size_t b = 0; b < 2; b++)
			for (size_t k = 0; k < 2; k++)
				bench_counted(base, &s, n, batches[b],
					      senders[k], ++prefix);
		redis_server_cleanup(&s);
		return 0;
	}
	bench_memory(n * 50); /* too fast to time on n alone */
	bench_redis(base, n, 1, ++prefix);
	bench_redis(base, n, 16, ++prefix);
	bench_redis(base, n, E2E_REDIS_BATCH_MAX, ++prefix);
	bench_members(base, n, 2, 1, ++prefix);
	bench_members(base, n, 4, 1, ++prefix);
	bench_members(base, n, 4, E2E_REDIS_BATCH_MAX, ++prefix);
	if (url == NULL)
		bench_sender_bytes(base, s.port, ++prefix);
	redis_server_cleanup(&s);
	return 0;
}
