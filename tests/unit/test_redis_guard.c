/*
 * The replay guard shared through Redis (libe2e-redis, docs/GROUPS.md),
 * against a real redis-server started by the test on a free loopback port
 * with its own configuration and directory (redis_server.c).
 *
 * The same steps run against the in-memory guard and the Redis one must
 * give the same verdicts wherever they do not depend on which entry of a
 * class an eviction takes (each guard's own choice); under evictions, what
 * the rules guarantee whatever the victim holds; members racing on the
 * same envelopes accept each once between them; a Redis restarted from its AOF
 * still refuses every replay; an unreachable Redis gives
 * E2E_ERR_STORE_UNAVAILABLE and delivers nothing.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "e2e.h"
#include "e2e_redis.h"
#include "guard_lua.h"
#include "redis_server.h"

#define NOW 1700000000u
#define LIVE 0u
#define RET E2E_DELIVERY_RETAINED

/* The server shared by the tests that do not stop it; each test uses its
 * own prefix, so that their states never meet. */
static struct redis_server shared;
static int prefix_no;

static int skip_or_fail_without_server(void)
{
	if (redis_server_path() != NULL)
		return 0;
	if (getenv("LIBE2E_TEST_STRICT") != NULL &&
	    strcmp(getenv("LIBE2E_TEST_STRICT"), "1") == 0) {
		fprintf(stderr, "redis-server not installed "
				"(LIBE2E_TEST_STRICT=1)\n");
		return -1;
	}
	return 1;
}

/* A URL for the shared server under a prefix of this test's own. */
static void fresh_url(const struct redis_server *s, char *url, size_t cap)
{
	snprintf(url, cap, "redis://127.0.0.1:%d/t%d", s->port, ++prefix_no);
}

static e2e_redis *member(const struct redis_server *s, const char *url,
			 const e2e_guard_opts *g)
{
	e2e_redis *rs = NULL;

	(void)s;
	assert_int_equal(e2e_redis_connect(&rs, url, NULL, g), E2E_OK);
	return rs;
}

/* ---- URLs and credentials, no server needed */

static void connect_refuses_malformed_urls(void **state)
{
	static const char *const bad[] = {
		"",
		"http://127.0.0.1:6379/p",
		"redis://127.0.0.1:6379",         /* no prefix */
		"redis://127.0.0.1:6379/",        /* empty prefix */
		"redis://127.0.0.1:0/p",          /* port 0 */
		"redis://127.0.0.1:65536/p",      /* port too large */
		"redis://127.0.0.1:12ab/p",       /* port not a number */
		"redis://:6379/p",                /* no host */
		"redis://[::1/p",                 /* unclosed IPv6 */
		"redis://127.0.0.1:6379/a b",     /* space in the prefix */
		"redis://127.0.0.1:6379/a{b}",    /* braces: the hash tag */
		"redis://u:%zz@127.0.0.1:6379/p", /* bad %-escape */
		"redis://u:%00@127.0.0.1:6379/p", /* NUL in the password */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		e2e_redis *rs = (e2e_redis *)&rs;

		assert_int_equal(e2e_redis_connect(&rs, bad[i], NULL, NULL),
				 E2E_ERR_INVAL);
		assert_null(rs);
	}
}

#ifndef HAVE_REDIS_TLS
/* A build without OpenSSL (test_redis_tls.c otherwise). */
static void connect_refuses_rediss_as_unsupported(void **state)
{
	e2e_redis *rs;

	(void)state;
	assert_int_equal(
		e2e_redis_connect(&rs, "rediss://127.0.0.1:6380/p", NULL, NULL),
		E2E_ERR_STORE_UNSUPPORTED);
	assert_string_equal(e2e_reason(E2E_ERR_STORE_UNSUPPORTED),
			    "store-unsupported");
}
#endif

static void connect_to_nothing_is_store_unavailable(void **state)
{
	struct redis_server s;
	char url[128];
	e2e_redis *rs;

	(void)state;
	/* A port where a server was, and is no more. */
	assert_int_equal(redis_server_start(&s, NULL), 0);
	redis_server_stop(&s, SIGTERM);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/p", s.port);
	assert_int_equal(e2e_redis_connect(&rs, url, NULL, NULL),
			 E2E_ERR_STORE_UNAVAILABLE);
	assert_string_equal(e2e_reason(E2E_ERR_STORE_UNAVAILABLE),
			    "store-unavailable");
	redis_server_cleanup(&s);
}

/* ---- the same verdicts as the in-memory guard */

struct step {
	uint64_t sender;
	uint64_t seq;
	uint32_t ts;
	int is_signed, intent;
	uint32_t delivery;
	const char *topic;
	int expect;
};

static e2e_info info_of(uint64_t sender, uint64_t seq, uint32_t ts,
			int is_signed, int intent)
{
	e2e_info i;

	memset(&i, 0, sizeof i);
	i.suite = E2E_SUITE_MAC;
	i.key_id = 1;
	i.sender_id = sender;
	i.seq = seq;
	i.timestamp = ts;
	i.is_signed = is_signed;
	i.retained = intent;
	return i;
}

/* What e2e_open does with an in-memory guard. */
static int memory_verdict(e2e_guard *g, const e2e_info *i, const char *topic,
			  uint32_t delivery, uint64_t now)
{
	int rc = e2e_guard_check(g, i, topic, delivery, now);

	if (rc == E2E_OK)
		e2e_guard_commit(g, i, topic, delivery, now);
	return rc;
}

#define A 0xA000000000000001u
#define C 0xC000000000000003u
#define D 0xD000000000000004u
#define E 0xE000000000000005u
#define F 0xF000000000000006u
#define G 0x6000000000000007u
#define S 0x5000000000000008u /* signers */
#define T 0x7000000000000009u
#define U 0x800000000000000au

/*
 * The case tables fix every verdict, so an eviction in them has a single
 * candidate (the victim's class holds one entry): which entry of a class
 * goes is each guard's own (the in-memory guard: CLOCK; Redis: least
 * recent, docs/GROUPS.md section 6), and both must give these verdicts.
 */

/* window 64, 4 senders, 2 retained topics, max_age 300, skew 30. */
static const struct step cases[] = {
	{A, 100, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 100, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 98, NOW, 0, 0, LIVE, "t", E2E_OK}, /* reordered, in window */
	{A, 98, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 165, NOW, 0, 0, LIVE, "t", E2E_OK},         /* slides 65 */
	{A, 101, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY}, /* below window */
	{A, 102, NOW, 0, 0, LIVE, "t", E2E_OK},         /* top - 63: inside */
	{A, 130, NOW - 301, 0, 0, LIVE, "t", E2E_ERR_TOO_OLD},
	{A, 131, NOW + 31, 0, 0, LIVE, "t", E2E_ERR_FUTURE},
	{A, 132, NOW + 30, 0, 0, LIVE, "t", E2E_OK},
	{C, 1, 0, 0, 0, LIVE, "t", E2E_ERR_NO_TIMESTAMP}, /* first contact */
	{A, 166, 0, 0, 0, LIVE, "t", E2E_OK}, /* known: no clock is fine */
	{A, 167, NOW, 0, 0, RET, "cfg/a", E2E_ERR_NOT_RETAINED},
	{A, 168, NOW - 10, 0, 1, LIVE, "cfg/a", E2E_OK}, /* records cfg/a */
	{A, 168, NOW - 10, 0, 1, RET, "cfg/a", E2E_ERR_REPLAY},
	{C, 5, NOW - 20, 0, 1, RET, "cfg/a", E2E_ERR_STALE_RETAINED},
	{C, 6, NOW - 5, 0, 1, RET, "cfg/a", E2E_OK},
	/* A signed record: retained messages have no max age. */
	{S, 2, NOW - 100000, 1, 1, RET, "cfg/b", E2E_OK},
	{S, 2, NOW - 100000, 1, 1, LIVE, "cfg/b", E2E_ERR_REPLAY},
	{S, 1, NOW - 100001, 1, 1, RET, "cfg/b", E2E_ERR_STALE_RETAINED},
	/* Third topic, unsigned: its class holds its share (1), so it evicts
	 * the one unsigned record, cfg/a: unsigned retained floor NOW - 5. */
	{C, 7, NOW - 1, 0, 1, LIVE, "cfg/c", E2E_OK},
	{A, 169, NOW - 6, 0, 1, RET, "cfg/a", E2E_ERR_STALE_RETAINED},
	{A, 170, NOW - 4, 0, 1, RET, "cfg/a", E2E_OK},
	{S, 3, NOW - 100000, 1, 1, RET, "cfg/b", E2E_OK}, /* cfg/b kept */
};

/* window 64, 2 senders (one share each), 2 retained topics. */
static const struct step eviction_cases[] = {
	{A, 1, NOW + 30, 0, 0, LIVE, "t", E2E_OK},
	{S, 10, NOW, 1, 0, LIVE, "t", E2E_OK},
	/* F evicts A, the one unsigned entry: floor NOW + 30 clamped to NOW. */
	{F, 1, NOW - 30, 0, 0, LIVE, "t", E2E_OK},
	{G, 1, NOW, 0, 0, LIVE, "t", E2E_ERR_TOO_OLD}, /* at the floor */
	{A, 200, NOW - 1, 0, 0, LIVE, "t", E2E_ERR_TOO_OLD},
	{A, 200, NOW + 1, 0, 0, LIVE, "t", E2E_OK}, /* evicts F */
	{F, 2, NOW, 0, 0, LIVE, "t", E2E_ERR_TOO_OLD},
	/* Signed at its share (1): T evicts S, which leaves its mark 10. */
	{T, 1, NOW, 1, 0, LIVE, "t", E2E_OK},
	{S, 10, 0, 1, 0, LIVE, "t", E2E_ERR_REPLAY}, /* at its mark */
	{S, 9, NOW + 2, 1, 0, LIVE, "t", E2E_ERR_REPLAY},
	{S, 11, NOW + 2, 1, 0, LIVE, "t", E2E_OK}, /* resumes above it */
	{S, 11, NOW + 2, 1, 0, LIVE, "t", E2E_ERR_REPLAY},
	{S, 5, NOW + 2, 1, 0, LIVE, "t", E2E_ERR_REPLAY}, /* all seen */
	/* An unsigned message under a signer's id: the guard takes it as
	 * any other (e2e_open refuses it before, as unsigned, when the id is
	 * a trusted signer's); it evicts A, the one unsigned entry. */
	{T, 2, NOW + 3, 0, 0, LIVE, "t", E2E_OK},
	{A, 100, NOW + 2, 0, 0, LIVE, "t", E2E_OK}, /* forgotten: a new entry */
};

/* window 64, 1 sender (the unsigned share; signed: 0), 2 retained topics:
 * each class takes the other's entry. */
static const struct step cross_class_cases[] = {
	{A, 1, NOW, 0, 0, LIVE, "t", E2E_OK},
	/* The signed class is empty: S takes A's entry, floor NOW. */
	{S, 1, NOW, 1, 0, LIVE, "t", E2E_OK},
	{A, 2, NOW, 0, 0, LIVE, "t", E2E_ERR_TOO_OLD},
	/* Unsigned below its share: A takes S's entry, S's mark is 1. */
	{A, 2, NOW + 1, 0, 0, LIVE, "t", E2E_OK},
	{S, 1, NOW + 2, 1, 0, LIVE, "t", E2E_ERR_REPLAY},
	{S, 2, NOW, 1, 0, LIVE, "t", E2E_ERR_TOO_OLD}, /* signed floor */
	{S, 2, NOW + 2, 1, 0, LIVE, "t", E2E_OK},
};

/* batch: the Redis verdicts from one e2e_redis_check_commit_batch of all
 * the steps (at most E2E_REDIS_BATCH_MAX) rather than a call each. */
static void run_steps(const struct step *steps, size_t n,
		      const e2e_guard_opts *o, int with_expect, int batch)
{
	e2e_info in[E2E_REDIS_BATCH_MAX];
	e2e_redis_item it[E2E_REDIS_BATCH_MAX];
	char url[128];
	e2e_guard *g;
	e2e_redis *rs;
	size_t i;

	fresh_url(&shared, url, sizeof url);
	assert_int_equal(e2e_guard_new(&g, o), E2E_OK);
	rs = member(&shared, url, o);
	if (batch) {
		assert_true(n <= E2E_REDIS_BATCH_MAX);
		for (i = 0; i < n; i++) {
			const struct step *s = &steps[i];

			in[i] = info_of(s->sender, s->seq, s->ts, s->is_signed,
					s->intent);
			it[i] = (e2e_redis_item){&in[i], s->topic, s->delivery,
						 0};
		}
		assert_int_equal(e2e_redis_check_commit_batch(rs, it, n, NOW),
				 E2E_OK);
	}
	for (i = 0; i < n; i++) {
		const struct step *s = &steps[i];
		e2e_info one = info_of(s->sender, s->seq, s->ts, s->is_signed,
				       s->intent);
		int mem = memory_verdict(g, &one, s->topic, s->delivery, NOW);
		int red = batch ? it[i].verdict
				: e2e_redis_check_commit(rs, &one, s->topic,
							 s->delivery, NOW);

		if (mem != red || (with_expect && mem != s->expect))
			fail_msg("step %zu: memory %s, redis %s, expected %s",
				 i, e2e_err_name(mem), e2e_err_name(red),
				 e2e_err_name(s->expect));
	}
	e2e_redis_free(rs);
	e2e_guard_free(g);
}

static void small_opts(e2e_guard_opts *o)
{
	e2e_guard_opts_default(o);
	o->window = 64;
	o->max_senders = 4;
	o->max_retained_topics = 2;
}

static void redis_gives_memory_verdicts_on_cases(void **state)
{
	e2e_guard_opts o;

	(void)state;
	small_opts(&o);
	run_steps(cases, sizeof cases / sizeof cases[0], &o, 1, 0);
}

/* The same cases, each table judged in one batch: evictions, floors and
 * marks within one script call. */
static void redis_gives_memory_verdicts_on_cases_in_one_batch(void **state)
{
	e2e_guard_opts o;

	(void)state;
	small_opts(&o);
	run_steps(cases, sizeof cases / sizeof cases[0], &o, 1, 1);
	o.max_senders = 2;
	run_steps(eviction_cases,
		  sizeof eviction_cases / sizeof eviction_cases[0], &o, 1, 1);
	o.max_senders = 1;
	run_steps(cross_class_cases,
		  sizeof cross_class_cases / sizeof cross_class_cases[0], &o, 1,
		  1);
}

static void redis_gives_memory_verdicts_on_eviction_cases(void **state)
{
	e2e_guard_opts o;

	(void)state;
	small_opts(&o);
	o.max_senders = 2;
	run_steps(eviction_cases,
		  sizeof eviction_cases / sizeof eviction_cases[0], &o, 1, 0);
	o.max_senders = 1;
	run_steps(cross_class_cases,
		  sizeof cross_class_cases / sizeof cross_class_cases[0], &o, 1,
		  0);
}

/* A small deterministic generator: the same traffic on every run. */
static uint64_t rng = 0x9E3779B97F4A7C15u;

static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

/*
 * Random traffic over 8 senders and 4 topics, with reordering, replays,
 * clockless messages and retained deliveries, through tables that hold
 * them all: nothing is ever evicted, so every verdict is fixed by the rules
 * and must match the in-memory guard's, and every kind of verdict must
 * occur. (With evictions the two guards may pick different victims, each
 * its own way: eviction_heavy_traffic checks what holds whatever goes.)
 * batch: 0, one call per message; else e2e_redis_check_commit_batch of 1
 * to batch messages at a time (one clock each), the verdicts still the
 * in-memory guard's one by one.
 */
struct pending {
	e2e_info in;
	const char *topic;
	uint32_t delivery;
	int mem;
	uint32_t step;
};

static void check_batch(e2e_redis *rs, struct pending *p, size_t n,
			uint64_t now)
{
	e2e_redis_item it[E2E_REDIS_BATCH_MAX];
	size_t i;

	for (i = 0; i < n; i++)
		it[i] = (e2e_redis_item){&p[i].in, p[i].topic, p[i].delivery,
					 0};
	assert_int_equal(e2e_redis_check_commit_batch(rs, it, n, now), E2E_OK);
	for (i = 0; i < n; i++)
		if (it[i].verdict != p[i].mem)
			fail_msg("step %u (%zu of a batch of %zu): memory %s, "
				 "redis %s",
				 p[i].step, i, n, e2e_err_name(p[i].mem),
				 e2e_err_name(it[i].verdict));
}

static void random_traffic(const e2e_guard_opts *o, uint32_t steps,
			   uint32_t batch)
{
	struct pending pend[E2E_REDIS_BATCH_MAX];
	size_t npend = 0, size = 1;
	static const char *const topics[] = {"r/a", "r/b", "r/c", "r/d"};
	uint64_t next[8] = {0};
	int seen[64] = {0}, contacted[8] = {0};
	char url[128];
	uint64_t now = NOW;
	e2e_guard *g;
	e2e_redis *rs;
	uint32_t i;

	assert_true(o->max_senders >= 8 && o->max_retained_topics >= 4);
	fresh_url(&shared, url, sizeof url);
	assert_int_equal(e2e_guard_new(&g, o), E2E_OK);
	rs = member(&shared, url, o);
	for (i = 0; i < steps; i++) {
		uint32_t who = rnd(8), ts;
		uint64_t sid = 0x1000000000000000u * (who + 1) + who;
		uint64_t seq;
		uint32_t delivery = rnd(5) == 0 ? RET : LIVE;
		const char *topic = topics[rnd(4)];
		e2e_info in;
		int mem, red;

		next[who] += 1 + rnd(3);
		if (rnd(50) == 0)
			next[who] += 200; /* beyond a window of 64 or 128 */
		else if (rnd(20) == 0)
			next[who] += rnd(o->window); /* slides of many bytes */
		seq = (uint64_t)(who + 1) << 32 |
		      (next[who] - (rnd(3) == 0 ? rnd(80) : 0));
		ts = rnd(10) == 0 ? 0 : (uint32_t)(now - 320 + rnd(370));
		/* Odd senders first come without a clock. */
		if (!contacted[who]++ && (who & 1)) {
			ts = 0;
			delivery = LIVE;
		}
		in = info_of(sid, seq, ts, who < 3,
			     delivery == RET ? rnd(10) != 0 : rnd(4) == 0);
		mem = memory_verdict(g, &in, topic, delivery, now);
		seen[-mem]++;
		if (batch) {
			pend[npend++] =
				(struct pending){in, topic, delivery, mem, i};
			if (npend < size)
				continue;
			check_batch(rs, pend, npend, now);
			npend = 0;
			size = 1 + rnd(batch);
			now += rnd(2);
			continue;
		}
		red = e2e_redis_check_commit(rs, &in, topic, delivery, now);
		if (mem != red)
			fail_msg("step %u: memory %s, redis %s", i,
				 e2e_err_name(mem), e2e_err_name(red));
		now += rnd(2);
	}
	if (npend)
		check_batch(rs, pend, npend, now);
	for (i = 16; i <= 21; i++)
		if (i != 19 || !(o->flags & E2E_GUARD_ACCEPT_NO_CLOCK))
			assert_true(seen[i] > 0);
	assert_true(seen[0] > (int)steps / 10);
	e2e_redis_free(rs);
	e2e_guard_free(g);
}

static void traffic_opts(e2e_guard_opts *o)
{
	small_opts(o);
	o->max_senders = 8;
	o->max_retained_topics = 4;
}

static void redis_gives_memory_verdicts_on_random_traffic(void **state)
{
	e2e_guard_opts o;

	(void)state;
	traffic_opts(&o);
	random_traffic(&o, 3000, 0);
}

/* The same traffic judged in batches of 1 to 64 (one script call each).
 * The generator is left as it was: the tests after this one keep their
 * traffic. */
static void redis_gives_memory_verdicts_in_batches(void **state)
{
	uint64_t saved = rng;
	e2e_guard_opts o;

	(void)state;
	traffic_opts(&o);
	random_traffic(&o, 3000, E2E_REDIS_BATCH_MAX);
	rng = saved;
}

static void
redis_gives_memory_verdicts_with_no_clock_and_retained_age(void **state)
{
	e2e_guard_opts o;

	(void)state;
	traffic_opts(&o);
	o.window = 128;
	o.flags = E2E_GUARD_ACCEPT_NO_CLOCK;
	o.max_retained_age = 200;
	random_traffic(&o, 3000, 0);
}

/* A window that is not a power of two: the ring position of a 64-bit
 * sequence depends on its high half too. */
static void redis_gives_memory_verdicts_with_window_of_192(void **state)
{
	e2e_guard_opts o;

	(void)state;
	traffic_opts(&o);
	o.window = 192;
	random_traffic(&o, 3000, 0);
}

/* Window 1088: pieces of 512, 512 and 64 bits (the last one short), and
 * slides of up to a window across them, call by call and in batches. */
static void redis_gives_memory_verdicts_with_window_of_1088(void **state)
{
	e2e_guard_opts o;

	(void)state;
	traffic_opts(&o);
	o.window = 1088;
	random_traffic(&o, 3000, 0);
	random_traffic(&o, 3000, 64);
}

/* ---- what holds whatever the victim */

/*
 * Eviction-heavy traffic against the Redis guard alone: more senders of
 * both classes than the table holds, so that most first contacts evict.
 * Which entry of a class goes is the guard's own; after every call the
 * test reads the group's keys (GROUPS.md section 6: the sender sets, the
 * floors) and checks what the rules guarantee whatever the victim:
 *   - a message already accepted is never accepted again live, when it is
 *     signed (its signer's window or mark covers it; there are no more
 *     signers than marks) or had a timestamp 0 < ts <= now (the window, or
 *     the floor its eviction raised, covers it);
 *   - a live message from a sender the table does not hold is refused at
 *     or below its class floor (when it has a clock);
 *   - floors never fall and never pass the clock, and an eviction raises
 *     the victim's class floor to min(its largest timestamp, now);
 *   - a fresh message (a sequence above any the sender ever sent, within
 *     max_age and max_skew, above its class floor) is always accepted;
 *   - the table never holds more than max_senders; a refusal changes no
 *     entry; an acceptance from an unknown sender adds it and evicts one
 *     entry exactly when the table was full, of the class the share rule
 *     names; a signed sender's entry is in the signed set.
 */
#define EV_SENDERS 12
#define EV_POOL 24

struct ev_msg {
	uint64_t seq;
	uint32_t ts;
	int intent, offered, accepted, covered;
};

struct ev_sender {
	char hex[17];
	int is_signed, held, cls;
	uint32_t max_ts; /* of what its current entry accepted */
	uint64_t next;   /* the highest sequence it ever made */
	struct ev_msg pool[EV_POOL];
	unsigned made;
};

struct ev_state {
	const e2e_guard_opts *o;
	redisContext *raw;
	char base[64];
	struct ev_sender s[EV_SENDERS];
	uint32_t n[2], floor[2];
	uint64_t now;
	unsigned fresh, evictions, covered_refused;
};

static redisReply *ev_command(struct ev_state *v, const char *fmt, ...)
{
	redisReply *r;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(v->raw, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (r->type == REDIS_REPLY_ERROR)
		fail_msg("redis: %s", r->str);
	return r;
}

/* Read who the table holds and the floors; check their consistency. */
static void ev_observe(struct ev_state *v, uint32_t step, int held[EV_SENDERS],
		       int cls[EV_SENDERS], uint32_t n[2], uint32_t floor[2])
{
	redisReply *r;
	size_t i, k;
	int c;

	memset(held, 0, EV_SENDERS * sizeof *held);
	for (c = 0; c < 2; c++) {
		r = ev_command(v, "ZRANGE %s:sl:%d 0 -1", v->base, c);
		n[c] = (uint32_t)r->elements;
		for (i = 0; i < r->elements; i++) {
			for (k = 0; k < EV_SENDERS; k++)
				if (strcmp(v->s[k].hex, r->element[i]->str) ==
				    0)
					break;
			assert_true(k < EV_SENDERS && !held[k]);
			held[k] = 1;
			cls[k] = c;
			if (v->s[k].is_signed && c != 1)
				fail_msg("step %u: signer %zu in the unsigned "
					 "set",
					 step, k);
		}
		freeReplyObject(r);
	}
	if (n[0] + n[1] > v->o->max_senders)
		fail_msg("step %u: %u senders held, max %u", step, n[0] + n[1],
			 v->o->max_senders);
	r = ev_command(v, "HMGET %s:g f0 f1 lost", v->base);
	assert_int_equal(r->elements, 3);
	for (c = 0; c < 2; c++)
		floor[c] = r->element[c]->type == REDIS_REPLY_STRING
				   ? (uint32_t)strtoul(r->element[c]->str, NULL,
						       10)
				   : 0;
	/* No more signers than marks: no mark is ever lost. */
	assert_int_equal(r->element[2]->type, REDIS_REPLY_NIL);
	freeReplyObject(r);
}

static uint32_t ev_share_class(const uint32_t n[2], uint32_t cap, int c)
{
	uint32_t share = c ? cap / 2 : cap - cap / 2;
	int w = n[c] >= share ? c : !c;

	return n[w] == 0 ? !w : w;
}

/* A message of sender k: a new one (sometimes kept back, to arrive out of
 * order) or one already made (a reordered or replayed delivery). */
static struct ev_msg *ev_make(struct ev_state *v, struct ev_sender *s)
{
	struct ev_msg *m = &s->pool[s->made++ % EV_POOL];
	uint32_t r = rnd(100), now = (uint32_t)v->now;

	memset(m, 0, sizeof *m);
	s->next += 1 + (rnd(30) == 0 ? v->o->window + rnd(50) : rnd(2));
	m->seq = s->next;
	m->ts = r < 8    ? 0
		: r < 75 ? now - rnd(6)
		: r < 90 ? now - rnd(v->o->max_age + 60)
			 : now + rnd(v->o->max_skew + 5);
	m->intent = rnd(4) == 0;
	return m;
}

static struct ev_msg *ev_pick(struct ev_state *v, struct ev_sender *s)
{
	if (s->made > 0 && rnd(100) < 40)
		return &s->pool[rnd(s->made < EV_POOL ? s->made : EV_POOL)];
	if (rnd(5) == 0)
		(void)ev_make(v, s); /* kept back: it arrives later */
	return ev_make(v, s);
}

static int ev_is_fresh(const struct ev_state *v, const struct ev_sender *s,
		       const struct ev_msg *m, uint32_t delivery)
{
	uint64_t now = v->now;

	return !m->offered && m->seq == s->next && delivery == LIVE &&
	       m->ts != 0 && (now <= m->ts || now - m->ts <= v->o->max_age) &&
	       (m->ts <= now || m->ts - now <= v->o->max_skew) &&
	       m->ts > v->floor[s->is_signed];
}

static void ev_step(struct ev_state *v, e2e_redis *rs, uint32_t i)
{
	static const char *const topics[] = {"r/a", "r/b", "r/c"};
	int k = (int)rnd(EV_SENDERS), held[EV_SENDERS], cls[EV_SENDERS], j;
	struct ev_sender *s = &v->s[k];
	struct ev_msg *m = ev_pick(v, s);
	uint32_t delivery = m->intent && rnd(3) == 0 ? RET : LIVE, n[2], fl[2];
	int fresh = ev_is_fresh(v, s, m, delivery), victim = -1, rc;
	e2e_info in = info_of(strtoull(s->hex, NULL, 16), m->seq, m->ts,
			      s->is_signed, m->intent);
	int was_held = s->held;

	rc = e2e_redis_check_commit(rs, &in, topics[rnd(3)], delivery, v->now);
	ev_observe(v, i, held, cls, n, fl);
	if (rc != E2E_OK && rc != E2E_ERR_REPLAY && rc != E2E_ERR_TOO_OLD &&
	    rc != E2E_ERR_FUTURE && rc != E2E_ERR_NO_TIMESTAMP &&
	    rc != E2E_ERR_STALE_RETAINED)
		fail_msg("step %u: %s", i, e2e_err_name(rc));
	if (fresh && rc != E2E_OK)
		fail_msg("step %u: fresh message of sender %d (%s) refused: %s",
			 i, k, was_held ? "held" : "not held",
			 e2e_err_name(rc));
	v->fresh += fresh;
	if (rc == E2E_OK && delivery == LIVE && m->covered)
		fail_msg("step %u: sender %d seq %llu accepted twice", i, k,
			 (unsigned long long)m->seq);
	if (rc != E2E_OK && m->covered)
		v->covered_refused++;
	if (rc == E2E_OK && delivery == LIVE && !was_held && m->ts != 0 &&
	    m->ts <= v->floor[s->is_signed])
		fail_msg("step %u: sender %d accepted at ts %u, at or below "
			 "its class floor %u",
			 i, k, m->ts, v->floor[s->is_signed]);
	for (j = 0; j < 2; j++)
		if (fl[j] < v->floor[j] || fl[j] > v->now)
			fail_msg("step %u: floor %d went from %u to %u (now "
				 "%llu)",
				 i, j, v->floor[j], fl[j],
				 (unsigned long long)v->now);
	/* Who left the table, and who came. */
	for (j = 0; j < EV_SENDERS; j++) {
		if (v->s[j].held && !held[j]) {
			if (victim >= 0 || rc != E2E_OK || was_held)
				fail_msg("step %u: sender %d left the table", i,
					 j);
			victim = j;
		} else if (!v->s[j].held && held[j] && (j != k || rc != E2E_OK))
			fail_msg("step %u: sender %d came in", i, j);
	}
	if (rc == E2E_OK && !was_held) {
		if (!held[k])
			fail_msg("step %u: accepted sender %d not held", i, k);
		if ((victim >= 0) != (v->n[0] + v->n[1] == v->o->max_senders))
			fail_msg("step %u: %s eviction with %u of %u held", i,
				 victim >= 0 ? "an" : "no", v->n[0] + v->n[1],
				 v->o->max_senders);
		s->max_ts = 0;
	}
	if (victim >= 0) {
		struct ev_sender *w = &v->s[victim];
		uint32_t want =
			ev_share_class(v->n, v->o->max_senders, s->is_signed);
		uint32_t raised =
			w->max_ts < v->now ? w->max_ts : (uint32_t)v->now;

		if ((uint32_t)w->cls != want)
			fail_msg("step %u: evicted class %d, the share rule "
				 "says %u",
				 i, w->cls, want);
		if (fl[w->cls] < raised)
			fail_msg("step %u: floor %d is %u after evicting a "
				 "sender of ts %u",
				 i, w->cls, fl[w->cls], raised);
		w->held = 0;
		v->evictions++;
	}
	if (rc == E2E_OK) {
		m->accepted++;
		if (m->ts > s->max_ts)
			s->max_ts = m->ts;
		if (s->is_signed || (m->ts != 0 && m->ts <= v->now))
			m->covered = 1;
	}
	m->offered = 1;
	for (j = 0; j < EV_SENDERS; j++) {
		v->s[j].held = held[j];
		v->s[j].cls = cls[j];
	}
	memcpy(v->n, n, sizeof n);
	memcpy(v->floor, fl, sizeof fl);
	if (rnd(3) == 0)
		v->now++;
}

static void eviction_heavy_traffic(const e2e_guard_opts *o, uint32_t signers,
				   uint32_t steps)
{
	static struct ev_state v;
	char url[128];
	e2e_redis *rs;
	uint32_t i;

	memset(&v, 0, sizeof v);
	v.o = o;
	v.now = NOW;
	assert_true(signers <= o->max_senders && signers < EV_SENDERS);
	for (i = 0; i < EV_SENDERS; i++) {
		snprintf(v.s[i].hex, sizeof v.s[i].hex, "%016llx",
			 (unsigned long long)(0xE000000000000000u + i));
		v.s[i].next = (uint64_t)1 << 40;
		v.s[i].is_signed = i < signers;
	}
	fresh_url(&shared, url, sizeof url);
	snprintf(v.base, sizeof v.base, "{t%d}", prefix_no);
	rs = member(&shared, url, o);
	v.raw = redisConnect("127.0.0.1", shared.port);
	assert_true(v.raw != NULL && v.raw->err == 0);
	for (i = 0; i < steps; i++)
		ev_step(&v, rs, i);
	/* The properties were exercised, not vacuously true. */
	print_message("%u evictions, %u fresh messages, %u replays of "
		      "covered messages refused\n",
		      v.evictions, v.fresh, v.covered_refused);
	assert_true(v.evictions > steps / 20);
	assert_true(v.fresh > steps / 20);
	assert_true(v.covered_refused > steps / 20);
	redisFree(v.raw);
	e2e_redis_free(rs);
}

static void redis_keeps_guarantees_under_evictions(void **state)
{
	e2e_guard_opts o;

	(void)state;
	small_opts(&o);
	o.max_senders = 5;
	eviction_heavy_traffic(&o, 5, 4000);
}

static void redis_keeps_guarantees_under_evictions_with_no_clock_and_window_192(
	void **state)
{
	e2e_guard_opts o;

	(void)state;
	small_opts(&o);
	o.window = 192;
	o.max_senders = 4;
	o.max_retained_topics = 1;
	o.flags = E2E_GUARD_ACCEPT_NO_CLOCK;
	eviction_heavy_traffic(&o, 3, 4000);
}

/*
 * Redis's own choice within a class, which GROUPS.md section 6 states (an
 * implementation joining a group must have the same effects on the keys):
 * the least recently accepted sender, the least recently updated topic.
 */
static long long raw_exists(redisContext *raw, const char *fmt, const char *arg)
{
	redisReply *r = redisCommand(raw, fmt, arg);
	long long v;

	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

static void lru_step(e2e_redis *rs, const struct step *s)
{
	e2e_info in =
		info_of(s->sender, s->seq, s->ts, s->is_signed, s->intent);

	assert_int_equal(
		e2e_redis_check_commit(rs, &in, s->topic, s->delivery, NOW),
		s->expect);
}

/*
 * A batch is one script call: after SCRIPT FLUSH it is run again once the
 * script is loaded, and an error in one message (a key of the wrong type
 * under the prefix) is that message's verdict only.
 */
static void batch_survives_script_flush_and_a_bad_key(void **state)
{
	e2e_info a1 = info_of(A, 1, NOW, 0, 0), c1 = info_of(C, 1, NOW, 0, 0);
	e2e_info a2 = info_of(A, 2, NOW, 0, 0);
	e2e_redis_item it[3] = {
		{&a1, "t", LIVE, 0}, {&c1, "t", LIVE, 0}, {&a2, "t", LIVE, 0}};
	char url[128], key[64];
	redisContext *raw;
	redisReply *r;
	e2e_redis *rs;

	(void)state;
	fresh_url(&shared, url, sizeof url);
	rs = member(&shared, url, NULL);
	raw = redisConnect("127.0.0.1", shared.port);
	assert_true(raw != NULL && raw->err == 0);
	snprintf(key, sizeof key, "{%s}:s:%016llx", strrchr(url, '/') + 1,
		 (unsigned long long)C);
	assert_non_null(r = redisCommand(raw, "SET %s x", key));
	freeReplyObject(r);
	assert_non_null(r = redisCommand(raw, "SCRIPT FLUSH"));
	freeReplyObject(r);
	assert_int_equal(e2e_redis_check_commit_batch(rs, it, 3, NOW),
			 E2E_ERR_STORE_ERROR);
	assert_int_equal(it[0].verdict, E2E_OK);
	assert_int_equal(it[1].verdict, E2E_ERR_STORE_ERROR);
	assert_int_equal(it[2].verdict, E2E_OK);
	it[1] = it[0];
	assert_int_equal(e2e_redis_check_commit_batch(rs, it, 1, NOW), E2E_OK);
	assert_int_equal(it[0].verdict, E2E_ERR_REPLAY);
	redisFree(raw);
	e2e_redis_free(rs);
}

static void redis_evicts_least_recent_of_the_class(void **state)
{
	static const struct step st[] = {
		{A, 1, NOW, 0, 1, LIVE, "cfg/a", E2E_OK},
		{C, 1, NOW, 0, 1, LIVE, "cfg/c", E2E_OK},
		{D, 1, NOW, 0, 0, LIVE, "t", E2E_OK},
		{A, 2, NOW, 0, 1, LIVE, "cfg/a", E2E_OK}, /* A, cfg/a again */
		{E, 1, NOW, 0, 1, LIVE, "cfg/e", E2E_OK}, /* evicts C, cfg/c */
		/* cfg/a's record is kept, cfg/c's is gone (its sender too). */
		{A, 2, NOW, 0, 1, RET, "cfg/a", E2E_ERR_REPLAY},
		{C, 1, NOW, 0, 1, RET, "cfg/c", E2E_OK},
	};
	e2e_guard_opts o;
	redisContext *raw;
	char url[128], base[32];
	e2e_redis *rs;
	size_t i;

	(void)state;
	small_opts(&o);
	o.max_senders = 3;
	fresh_url(&shared, url, sizeof url);
	snprintf(base, sizeof base, "{t%d}", prefix_no);
	rs = member(&shared, url, &o);
	raw = redisConnect("127.0.0.1", shared.port);
	assert_true(raw != NULL && raw->err == 0);
	for (i = 0; i < 5; i++)
		lru_step(rs, &st[i]);
	assert_int_equal(raw_exists(raw, "EXISTS %s:s:a000000000000001", base),
			 1);
	assert_int_equal(raw_exists(raw, "EXISTS %s:s:c000000000000003", base),
			 0);
	assert_int_equal(raw_exists(raw, "EXISTS %s:s:d000000000000004", base),
			 1);
	for (; i < sizeof st / sizeof st[0]; i++)
		lru_step(rs, &st[i]);
	redisFree(raw);
	e2e_redis_free(rs);
}

/* The window across the end of an epoch (a sequence's high half changes
 * inside the window), with a window that does not divide 2^32. */
static void redis_gives_memory_verdicts_across_an_epoch_boundary(void **state)
{
#define E1(c) ((uint64_t)1 << 32 | (c))
#define E2(c) ((uint64_t)2 << 32 | (c))
	static const struct step st[] = {
		{A, E1(0xFFFFFFC1u), NOW, 0, 0, LIVE, "t", E2E_OK},
		{A, E1(0xFFFFFFF0u), NOW, 0, 0, LIVE, "t", E2E_OK},
		{A, E2(5), NOW, 0, 0, LIVE, "t", E2E_OK}, /* slides 21 */
		{A, E2(1), NOW, 0, 0, LIVE, "t", E2E_OK}, /* unseen: cleared */
		{A, E2(1), NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
		{A, E1(0xFFFFFFC1u), NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
		{A, E1(0xFFFFFFC2u), NOW, 0, 0, LIVE, "t", E2E_OK},
		{A, E1(0xFFFFFFF0u), NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	};
	e2e_guard_opts o;

	(void)state;
	small_opts(&o);
	o.window = 192;
	run_steps(st, sizeof st / sizeof st[0], &o, 1, 0);
#undef E1
#undef E2
}

/* More than max_senders signers evicted: marks-lost, then an unmarked
 * clockless signer is refused as no-timestamp, in both guards. */
static void redis_loses_marks_as_memory_does(void **state)
{
	struct step st[12];
	e2e_guard_opts o;
	size_t n = 0;
	uint64_t k;

	(void)state;
	e2e_guard_opts_default(&o);
	o.window = 64;
	o.max_senders = 2;
	o.flags = E2E_GUARD_ACCEPT_NO_CLOCK;
	/* An unsigned sender holds the unsigned share; signers 1..4 pass
	 * through the signed one (a single candidate each time): 1, 2 and 3
	 * evicted, 2 marks kept (1 and 2), 3's lost. */
	st[n++] = (struct step){0x77, 1, NOW, 0, 0, LIVE, "t", E2E_OK};
	for (k = 1; k <= 4; k++) /* above the signed floor, clamped to NOW */
		st[n++] = (struct step){
			k, 7, NOW + (uint32_t)k, 1, 0, LIVE, "t", E2E_OK};
	st[n++] = (struct step){9, 1, 0, 1, 0, LIVE, "t", E2E_ERR_NO_TIMESTAMP};
	st[n++] = (struct step){1, 8, 0, 1, 0, LIVE, "t", E2E_OK}; /* marked */
	st[n++] = (struct step){3, 8, 0, 1, 0, LIVE, "t", E2E_ERR_NO_TIMESTAMP};
	st[n++] = (struct step){2, 8, 0, 1, 0, LIVE, "t", E2E_OK}; /* marked */
	st[n++] = (struct step){0x78, 1, 0, 0, 0, LIVE, "t", E2E_OK};
	run_steps(st, n, &o, 1, 0);
}

/* ---- sizes agreed by the group */

static void member_with_other_window_gets_store_mismatch(void **state)
{
	e2e_guard_opts o1, o2;
	e2e_info in = info_of(A, 1, NOW, 0, 0);
	e2e_redis *m1, *m2;
	char url[128];

	(void)state;
	e2e_guard_opts_default(&o1);
	o2 = o1;
	o2.window = 512;
	fresh_url(&shared, url, sizeof url);
	m1 = member(&shared, url, &o1);
	m2 = member(&shared, url, &o2);
	assert_int_equal(e2e_redis_check_commit(m1, &in, "t", LIVE, NOW),
			 E2E_OK);
	in.seq = 2;
	assert_int_equal(e2e_redis_check_commit(m2, &in, "t", LIVE, NOW),
			 E2E_ERR_STORE_MISMATCH);
	/* Nothing was recorded by the refused member. */
	assert_int_equal(e2e_redis_check_commit(m1, &in, "t", LIVE, NOW),
			 E2E_OK);
	e2e_redis_free(m1);
	e2e_redis_free(m2);
}

/* ---- protocol 2's own state (docs/GROUPS.md section 6) */

/* A raw connection to the shared server, and a command's reply checked. */
static redisContext *raw_connect(void)
{
	redisContext *raw = redisConnect("127.0.0.1", shared.port);

	assert_true(raw != NULL && raw->err == 0);
	return raw;
}

static redisReply *raw_argv(redisContext *raw, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(raw, argc, argv, NULL);

	assert_non_null(r);
	return r;
}

static long long raw_int(redisContext *raw, int argc, const char **argv)
{
	redisReply *r = raw_argv(raw, argc, argv);
	long long v;

	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/* The group's base "{tN}" of a URL made by fresh_url. */
static void base_of(const char *url, char *base, size_t cap)
{
	snprintf(base, cap, "{%s}", strrchr(url, '/') + 1);
}

/* How many keys the group has. */
static long long group_keys(redisContext *raw, const char *base)
{
	char pat[64];
	const char *argv[2] = {"KEYS", pat};
	redisReply *r;
	long long n;

	snprintf(pat, sizeof pat, "%s:*", base);
	r = raw_argv(raw, 2, argv);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	n = (long long)r->elements;
	freeReplyObject(r);
	return n;
}

/* The protocol 1 script (the text of libe2e-redis before protocol 2, kept
 * as tests/unit/redis_guard_v1.lua): what a member of an older version
 * runs. */
static char *v1_script(void)
{
	FILE *f = fopen(REDIS_GUARD_V1, "rb");
	char *s = calloc(1, 65536);
	size_t n;

	assert_non_null(f);
	assert_non_null(s);
	n = fread(s, 1, 65535, f);
	assert_true(n > 0 && n < 65535);
	fclose(f);
	return s;
}

/*
 * A member never mixes protocols: a protocol 2 member meeting a group made
 * by protocol 1 is refused at connection (and at every call, when the
 * group was made since it connected), and a protocol 1 member meeting a
 * protocol 2 group gets its store-mismatch; in both cases nothing is
 * written.
 */
static void group_of_another_protocol_is_refused_both_ways(void **state)
{
	e2e_info a1 = info_of(A, 1, NOW, 0, 0), a2 = info_of(A, 2, NOW, 0, 0);
	char url[128], base[32], g[40];
	const char *v1g[] = {"HSET",  g,         "v",    "1",      "window",
			     "65536", "senders", "4096", "topics", "4096"};
	redisContext *raw = raw_connect();
	e2e_redis *rs = NULL, *m;
	char *v1 = v1_script();
	redisReply *r;

	(void)state;
	assert_string_equal(e2e_reason(E2E_ERR_STORE_PROTOCOL),
			    "store-protocol");
	/* A group of protocol 1: refused at connection. */
	fresh_url(&shared, url, sizeof url);
	base_of(url, base, sizeof base);
	snprintf(g, sizeof g, "%s:g", base);
	assert_int_equal(raw_int(raw, 10, v1g), 4);
	assert_int_equal(e2e_redis_connect(&rs, url, NULL, NULL),
			 E2E_ERR_STORE_PROTOCOL);
	assert_null(rs);
	/* Made after the member connected: refused at each call. */
	fresh_url(&shared, url, sizeof url);
	base_of(url, base, sizeof base);
	snprintf(g, sizeof g, "%s:g", base);
	m = member(&shared, url, NULL);
	assert_int_equal(raw_int(raw, 10, v1g), 4);
	assert_int_equal(e2e_redis_check_commit(m, &a1, "t", LIVE, NOW),
			 E2E_ERR_STORE_PROTOCOL);
	assert_int_equal(group_keys(raw, base), 1);
	e2e_redis_free(m);

	/* A protocol 1 member (its script, its arguments) meeting a group
	 * of protocol 2. */
	fresh_url(&shared, url, sizeof url);
	base_of(url, base, sizeof base);
	snprintf(g, sizeof g, "%s:g", base);
	m = member(&shared, url, NULL);
	assert_int_equal(e2e_redis_check_commit(m, &a1, "t", LIVE, NOW),
			 E2E_OK);
	{
		const char *argv[] = {"EVAL",
				      v1,
				      "1",
				      g,
				      "1",
				      "65536",
				      "4096",
				      "4096",
				      "300",
				      "30",
				      "0",
				      "0",
				      "1700000000",
				      "a000000000000001",
				      "0000000000000002",
				      "1700000000",
				      "0",
				      "0",
				      "0",
				      "",
				      "00000000000000aa",
				      "1",
				      "0"};

		r = raw_argv(raw, sizeof argv / sizeof argv[0], argv);
		assert_int_equal(r->type, REDIS_REPLY_INTEGER);
		assert_int_equal(r->integer, E2E_ERR_STORE_MISMATCH);
		freeReplyObject(r);
	}
	/* It recorded nothing: A's 2 is new to the group. */
	assert_int_equal(e2e_redis_check_commit(m, &a2, "t", LIVE, NOW),
			 E2E_OK);
	e2e_redis_free(m);
	free(v1);
	redisFree(raw);
}

/* Field `i` of {P}:w:ID: a piece of the window, or "" when absent. */
static size_t window_piece(redisContext *raw, const char *base, uint64_t id,
			   int i, uint8_t out[64])
{
	char key[64], field[8];
	const char *argv[3] = {"HGET", key, field};
	redisReply *r;
	size_t n = 0;

	snprintf(key, sizeof key, "%s:w:%016llx", base, (unsigned long long)id);
	snprintf(field, sizeof field, "%d", i);
	r = raw_argv(raw, 3, argv);
	if (r->type == REDIS_REPLY_STRING) {
		assert_true(r->len <= 64);
		n = r->len;
		memcpy(out, r->str, n);
	} else {
		assert_int_equal(r->type, REDIS_REPLY_NIL);
	}
	freeReplyObject(r);
	return n;
}

static long long window_pieces(redisContext *raw, const char *base, uint64_t id)
{
	char key[64];
	const char *argv[2] = {"HLEN", key};

	snprintf(key, sizeof key, "%s:w:%016llx", base, (unsigned long long)id);
	return raw_int(raw, 2, argv);
}

/*
 * Window 1024 is two pieces of 512 bits. A batch of 1000 .. 1030 crosses
 * the ring's wrap (1024 is position 0): bits 488 .. 511 of piece 1 and 0 .. 6
 * of piece 0, Redis's bit order (the most significant bit first). Then a
 * jump of exactly the window clears both, and only the new top's piece is
 * left; verdicts the in-memory guard's all along.
 */
static const struct step wrap_cases[] = {
	{A, 1030, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY}, /* after the batch */
	{A, 1000, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 1023, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 1024, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 999, NOW, 0, 0, LIVE, "t", E2E_OK}, /* in the window, unseen */
	{A, 6, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY}, /* top - 1024 */
	{A, 2054, NOW, 0, 0, LIVE, "t", E2E_OK},      /* a jump of 1024 */
	{A, 1031, NOW, 0, 0, LIVE, "t", E2E_OK},      /* top - 1023: inside */
	{A, 1030, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY}, /* top - 1024 */
	{A, 2053, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 2054, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
};

static void window_pieces_cross_the_ring_wrap(void **state)
{
	e2e_info in[31];
	e2e_redis_item it[31];
	e2e_guard_opts o;
	e2e_guard *g;
	e2e_redis *rs;
	redisContext *raw = raw_connect();
	char url[128], base[32];
	uint8_t p[64], want[64];
	size_t i;

	(void)state;
	small_opts(&o);
	o.window = 1024;
	fresh_url(&shared, url, sizeof url);
	base_of(url, base, sizeof base);
	assert_int_equal(e2e_guard_new(&g, &o), E2E_OK);
	rs = member(&shared, url, &o);
	for (i = 0; i < 31; i++) {
		in[i] = info_of(A, 1000 + i, NOW, 0, 0);
		it[i] = (e2e_redis_item){&in[i], "t", LIVE, 0};
		assert_int_equal(memory_verdict(g, &in[i], "t", LIVE, NOW),
				 E2E_OK);
	}
	assert_int_equal(e2e_redis_check_commit_batch(rs, it, 31, NOW), E2E_OK);
	for (i = 0; i < 31; i++)
		assert_int_equal(it[i].verdict, E2E_OK);
	assert_int_equal(window_pieces(raw, base, A), 2);
	memset(want, 0, sizeof want);
	want[61] = want[62] = want[63] = 0xff; /* 1000 .. 1023 */
	assert_int_equal(window_piece(raw, base, A, 1, p), 64);
	assert_memory_equal(p, want, 64);
	memset(want, 0, sizeof want);
	want[0] = 0xfe; /* 1024 .. 1030: positions 0 .. 6 */
	assert_int_equal(window_piece(raw, base, A, 0, p), 64);
	assert_memory_equal(p, want, 64);
	for (i = 0; i < sizeof wrap_cases / sizeof wrap_cases[0]; i++) {
		const struct step *s = &wrap_cases[i];
		e2e_info one = info_of(s->sender, s->seq, s->ts, 0, 0);

		assert_int_equal(memory_verdict(g, &one, "t", LIVE, NOW),
				 s->expect);
		assert_int_equal(
			e2e_redis_check_commit(rs, &one, "t", LIVE, NOW),
			s->expect);
		if (s->seq == 2054 && s->expect == E2E_OK) {
			/* Cleared by the jump: only 2054's piece is left
			 * (position 6: piece 0, byte 0, bit 6). */
			assert_int_equal(window_pieces(raw, base, A), 1);
			memset(want, 0, sizeof want);
			want[0] = 0x80 >> 6;
			assert_int_equal(window_piece(raw, base, A, 0, p), 64);
			assert_memory_equal(p, want, 64);
		}
	}
	e2e_redis_free(rs);
	e2e_guard_free(g);
	redisFree(raw);
}

/*
 * Jumps of a window or more, and of just less, with window 64 (one piece
 * of 8 bytes) and 192 (one of 24) and 1536 (three), one by one and in one
 * batch: the in-memory guard's verdicts. A piece that the slide leaves all
 * zero is deleted (absent means zero).
 */
static const struct step jump_cases[] = {
	{A, 10, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 12, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 10 + 1536, NOW, 0, 0, LIVE, "t", E2E_OK}, /* >= every window */
	{A, 12, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 11 + 1536, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 10 + 1536 + 63, NOW, 0, 0, LIVE, "t", E2E_OK}, /* +62: inside */
	{A, 10 + 1536, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 11 + 1536, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 12 + 1536, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 10 + 1536 + 63 + 64, NOW, 0, 0, LIVE, "t", E2E_OK}, /* 64 */
	{A, 10 + 1536 + 63, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 10 + 1536 + 64, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 5000, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 5000 - 191, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 5000 + 192, NOW, 0, 0, LIVE, "t", E2E_OK}, /* 192 */
	{A, 5000 + 191, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 5000 + 1535, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 5000 + 1535 + 1535, NOW, 0, 0, LIVE, "t", E2E_OK}, /* 1535 */
	{A, 5000 + 1536, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 5000 + 1535, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 5000 + 1535 + 1536 + 1536, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 5000 + 1535 + 1535, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
};

static void jumps_of_a_window_or_more_give_memory_verdicts(void **state)
{
	static const uint32_t windows[] = {64, 192, 1536};
	e2e_guard_opts o;
	size_t i, n = sizeof jump_cases / sizeof jump_cases[0];

	(void)state;
	small_opts(&o);
	for (i = 0; i < 3; i++) {
		o.window = windows[i];
		/* The expectations are window 1536's. */
		run_steps(jump_cases, n, &o, windows[i] == 1536, 0);
		run_steps(jump_cases, n, &o, windows[i] == 1536, 1);
	}
}

/* One message of a raw protocol 2 call: EVALSHA of the library's script. */
static long long raw_call(redisContext *raw, const char *sha, const char *g,
			  uint64_t seq, int retry, uint64_t token)
{
	char sq[17], bits[3], tok[21];
	const char *argv[] = {"EVALSHA",
			      sha,
			      "1",
			      g,
			      "2",
			      "64",
			      "4",
			      "2",
			      "300",
			      "30",
			      "0",
			      "0",
			      "1700000000",
			      "00000000000000aa",
			      "a000000000000001",
			      sq,
			      "1700000000",
			      bits,
			      "",
			      tok};
	redisReply *r;
	long long v;

	snprintf(sq, sizeof sq, "%016llx", (unsigned long long)seq);
	snprintf(bits, sizeof bits, "%d", retry ? 8 : 0);
	snprintf(tok, sizeof tok, "%llu", (unsigned long long)token);
	r = raw_argv(raw, sizeof argv / sizeof argv[0], argv);
	assert_int_equal(r->type, REDIS_REPLY_INTEGER);
	v = r->integer;
	freeReplyObject(r);
	return v;
}

/*
 * The member's tokens ({P}:m:MEMBER: `t` the highest accepted token, and a
 * ring of 65536 bits in pieces as a window's, bit TOKEN mod 65536 for each
 * accepted TOKEN of t - 65535 .. t): a retry is accepted when its token is
 * there, and judged again otherwise (a call refused, a token never used,
 * one 65536 or more below the top).
 */
static void member_tokens_answer_retries_of_the_last_65536(void **state)
{
	char url[128], base[32], g[40], key[64], sha[41];
	const char *load[3] = {"SCRIPT", "LOAD", e2e__guard_lua};
	const char *top[3] = {"HGET", key, "t"};
	const char *hlen[2] = {"HLEN", key};
	const char *ttl[2] = {"TTL", key};
	redisContext *raw = raw_connect();
	const uint64_t W = 65536;
	redisReply *r;
	uint8_t p[64], want[64];

	(void)state;
	fresh_url(&shared, url, sizeof url);
	base_of(url, base, sizeof base);
	snprintf(g, sizeof g, "%s:g", base);
	snprintf(key, sizeof key, "%s:m:00000000000000aa", base);
	r = raw_argv(raw, 3, load);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	snprintf(sha, sizeof sha, "%s", r->str);
	freeReplyObject(r);

	assert_int_equal(raw_call(raw, sha, g, 1, 0, 1), E2E_OK);
	assert_int_equal(raw_call(raw, sha, g, 1, 1, 1), E2E_OK); /* retry */
	assert_int_equal(raw_call(raw, sha, g, 1, 0, 2), E2E_ERR_REPLAY);
	assert_int_equal(raw_call(raw, sha, g, 1, 1, 2), E2E_ERR_REPLAY);
	assert_int_equal(raw_call(raw, sha, g, 1, 1, 3), E2E_ERR_REPLAY);
	/* Token 1 is still there when the top is 65536 ... */
	assert_int_equal(raw_call(raw, sha, g, 2, 0, W), E2E_OK);
	assert_int_equal(raw_call(raw, sha, g, 1, 1, 1), E2E_OK);
	/* ... and no more at 65537, whose bit is 1's. */
	assert_int_equal(raw_call(raw, sha, g, 3, 0, W + 1), E2E_OK);
	assert_int_equal(raw_call(raw, sha, g, 1, 1, 1), E2E_ERR_REPLAY);
	assert_int_equal(raw_call(raw, sha, g, 3, 1, W + 1), E2E_OK);
	assert_int_equal(raw_call(raw, sha, g, 2, 1, W), E2E_OK);
	r = raw_argv(raw, 3, top);
	assert_int_equal(r->type, REDIS_REPLY_STRING);
	assert_string_equal(r->str, "65537");
	freeReplyObject(r);
	/* One piece: 65536 and 65537 (positions 0 and 1), not 2 (refused). */
	assert_int_equal(raw_int(raw, 2, hlen), 2);
	memset(want, 0, sizeof want);
	want[0] = 0xc0;
	{
		const char *piece[3] = {"HGET", key, "0"};

		r = raw_argv(raw, 3, piece);
		assert_int_equal(r->type, REDIS_REPLY_STRING);
		assert_int_equal(r->len, 64);
		memcpy(p, r->str, 64);
		freeReplyObject(r);
	}
	assert_memory_equal(p, want, 64);
	assert_true(raw_int(raw, 2, ttl) > 86000);
	/* A jump of 65536 tokens or more forgets the others. */
	assert_int_equal(raw_call(raw, sha, g, 300, 0, 3 * W), E2E_OK);
	assert_int_equal(raw_call(raw, sha, g, 3, 1, W + 1), E2E_ERR_REPLAY);
	assert_int_equal(raw_call(raw, sha, g, 300, 1, 3 * W), E2E_OK);
	assert_int_equal(raw_int(raw, 2, hlen), 2);
	redisFree(raw);
}

/* ---- real envelopes */

#define NENV 3000
#define PAYLOAD "reading 21.5 C"

struct envs {
	e2e_keyring *kr;
	uint8_t env[NENV][E2E_SEALED_MAX(sizeof PAYLOAD)];
	size_t len[NENV];
};

/* n envelopes on topic "g/t" from 3 senders, interleaved. */
static struct envs *seal_envs(size_t n)
{
	struct envs *v = calloc(1, sizeof *v);
	e2e_sender *s[3];
	size_t i;
	uint32_t id;

	assert_non_null(v);
	assert_int_equal(e2e_keyring_new(&v->kr), E2E_OK);
	assert_int_equal(e2e_keyring_generate(v->kr, E2E_SUITE_MAC,
					      E2E_KEY_PRIMARY, NOW, &id),
			 E2E_OK);
	for (i = 0; i < 3; i++)
		assert_int_equal(e2e_sender_new(&s[i], NULL), E2E_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(e2e_seal(s[i % 3], v->kr, "g/t",
					  (const uint8_t *)PAYLOAD,
					  sizeof PAYLOAD - 1, 0, v->env[i],
					  sizeof v->env[i], &v->len[i]),
				 E2E_OK);
	for (i = 0; i < 3; i++)
		e2e_sender_free(s[i]);
	return v;
}

static void free_envs(struct envs *v)
{
	e2e_keyring_free(v->kr);
	free(v);
}

static int open_env(e2e_redis *rs, const struct envs *v, size_t i, uint8_t *out,
		    size_t *out_len)
{
	e2e_receiver r;

	memset(&r, 0, sizeof r);
	r.keyring = v->kr;
	return e2e_redis_open(rs, &r, "g/t", v->env[i], v->len[i], LIVE, out,
			      64, out_len, NULL);
}

struct racer {
	const struct envs *v;
	const char *url;
	pthread_barrier_t *start;
	int batch;  /* 1: pipelined batches of 32 */
	int *taken; /* per envelope, shared */
	int accepted, refused, errors;
	size_t order[NENV]; /* this member's order of arrival */
};

static void tally(struct racer *k, size_t i, int rc)
{
	if (rc == E2E_OK) {
		__atomic_fetch_add(&k->taken[i], 1, __ATOMIC_SEQ_CST);
		k->accepted++;
	} else if (rc == E2E_ERR_REPLAY) {
		k->refused++;
	} else {
		k->errors++;
	}
}

static void race_single(struct racer *k, e2e_redis *rs)
{
	uint8_t out[64];
	size_t j, n;

	for (j = 0; j < NENV; j++) {
		int rc = open_env(rs, k->v, k->order[j], out, &n);

		if (rc == E2E_OK && n != sizeof PAYLOAD - 1)
			rc = E2E_ERR_INVAL;
		tally(k, k->order[j], rc);
	}
}

static void race_batch(struct racer *k, e2e_redis *rs)
{
	e2e_info in[32];
	e2e_redis_item it[32];
	e2e_receiver r;
	uint8_t out[64];
	size_t i, j, n;

	memset(&r, 0, sizeof r);
	r.keyring = k->v->kr;
	r.now = (uint64_t)time(NULL);
	for (i = 0; i < NENV; i += 32) {
		size_t m = NENV - i < 32 ? NENV - i : 32;

		for (j = 0; j < m; j++) {
			size_t e = k->order[i + j];

			if (e2e_open(&r, "g/t", k->v->env[e], k->v->len[e],
				     LIVE, out, sizeof out, &n,
				     &in[j]) != E2E_OK)
				k->errors++;
			it[j] = (e2e_redis_item){&in[j], "g/t", LIVE, 0};
		}
		if (e2e_redis_check_commit_batch(rs, it, m, r.now) != E2E_OK)
			k->errors++;
		for (j = 0; j < m; j++)
			tally(k, k->order[i + j], it[j].verdict);
	}
}

static void *racer_main(void *arg)
{
	struct racer *k = arg;
	e2e_guard_opts o;
	e2e_redis *rs = NULL;

	e2e_guard_opts_default(&o);
	o.window = 4096;
	if (e2e_redis_connect(&rs, k->url, NULL, &o) != E2E_OK) {
		k->errors++;
		return NULL;
	}
	pthread_barrier_wait(k->start);
	if (k->batch)
		race_batch(k, rs);
	else
		race_single(k, rs);
	e2e_redis_free(rs);
	return NULL;
}

static void race(int batch)
{
	struct envs *v = seal_envs(NENV);
	static struct racer k[3];
	pthread_barrier_t start;
	pthread_t th[3];
	static int taken[NENV];
	char url[128];
	int i;

	fresh_url(&shared, url, sizeof url);
	pthread_barrier_init(&start, NULL, 3);
	memset(taken, 0, sizeof taken);
	for (i = 0; i < 3; i++) {
		size_t j;

		memset(&k[i], 0, sizeof k[i]);
		k[i].v = v;
		k[i].url = url;
		k[i].start = &start;
		k[i].batch = batch;
		k[i].taken = taken;
		/* Each member gets the envelopes in its own random order (the
		 * window is larger than any sender's share, so that every
		 * order is a valid one: the first arrival takes it). */
		for (j = 0; j < NENV; j++) {
			size_t r = rnd((uint32_t)j + 1);

			k[i].order[j] = k[i].order[r];
			k[i].order[r] = j;
		}
		assert_int_equal(
			pthread_create(&th[i], NULL, racer_main, &k[i]), 0);
	}
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < NENV; i++)
		if (taken[i] != 1)
			fail_msg("envelope %d accepted %d times", i, taken[i]);
	for (i = 0; i < 3; i++) {
		printf("# member %d (%s): %d accepted, %d replays refused\n", i,
		       k[i].batch ? "batches" : "single", k[i].accepted,
		       k[i].refused);
		assert_int_equal(k[i].errors, 0);
		/* Every member saw every envelope: all the others were
		 * refused as replays. */
		assert_int_equal(k[i].accepted + k[i].refused, NENV);
	}
	assert_int_equal(k[0].accepted + k[1].accepted + k[2].accepted, NENV);
	/* They did race: more than one member won envelopes. */
	assert_true((k[0].accepted > 0) + (k[1].accepted > 0) +
			    (k[2].accepted > 0) >=
		    2);
	free_envs(v);
}

/* Three members, one call per envelope each, all on the same envelopes. */
static void racing_members_accept_each_envelope_once(void **state)
{
	(void)state;
	race(0);
}

/* The same with pipelined batches of 32. */
static void racing_batch_members_accept_each_envelope_once(void **state)
{
	(void)state;
	race(1);
}

/* ---- restarts and outages */

static void restart_with_aof_refuses_every_replay(void **state)
{
	struct redis_server s;
	struct envs *v = seal_envs(201);
	uint8_t out[64];
	size_t i, n;
	e2e_redis *rs;

	(void)state;
	assert_int_equal(redis_server_start(&s, NULL), 0);
	rs = member(&s, s.url, NULL);
	for (i = 0; i < 200; i++)
		assert_int_equal(open_env(rs, v, i, out, &n), E2E_OK);
	/* A crash, not a shutdown: only what appendfsync always wrote. */
	redis_server_stop(&s, SIGKILL);
	assert_int_equal(redis_server_restart(&s), 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(open_env(rs, v, i, out, &n), E2E_ERR_REPLAY);
	assert_int_equal(open_env(rs, v, 200, out, &n), E2E_OK);
	e2e_redis_free(rs);
	redis_server_cleanup(&s);
	free_envs(v);
}

/*
 * Calls that never reached Redis (it was stopped) give their tokens back:
 * the member's next accepted call after the outage carries the token after
 * its last one, so the ring of its last 256 tokens (section 6) still holds
 * the calls from before the outage, whatever number of messages was
 * refused in between.
 */
static void calls_that_never_reached_redis_give_their_tokens_back(void **state)
{
	const char *keys[2] = {"KEYS", "{test}:m:*"};
	struct redis_server s;
	e2e_redis_item it[8];
	e2e_info in[8];
	redisContext *raw;
	redisReply *r;
	e2e_redis *rs;
	size_t i, k;

	(void)state;
	assert_int_equal(redis_server_start(&s, NULL), 0);
	rs = member(&s, s.url, NULL);
	in[0] = info_of(A, 1, NOW, 0, 0);
	assert_int_equal(e2e_redis_check_commit(rs, &in[0], "t", LIVE, NOW),
			 E2E_OK);
	redis_server_stop(&s, SIGTERM);
	for (i = 0; i < 300; i++) {
		for (k = 0; k < 8; k++) {
			in[k] = info_of(A, 2 + k, NOW, 0, 0);
			it[k] = (e2e_redis_item){&in[k], "t", LIVE, 0};
		}
		assert_int_equal(
			e2e_redis_check_commit(rs, &in[0], "t", LIVE, NOW),
			E2E_ERR_STORE_UNAVAILABLE);
		assert_int_equal(e2e_redis_check_commit_batch(rs, it, 8, NOW),
				 E2E_ERR_STORE_UNAVAILABLE);
	}
	assert_int_equal(redis_server_restart(&s), 0);
	/* The first call of the outage (A 2) was handed to the dead
	 * connection: its token, 2, is kept for its retry; the others were
	 * never sent. */
	in[0] = info_of(A, 100, NOW, 0, 0);
	assert_int_equal(e2e_redis_check_commit(rs, &in[0], "t", LIVE, NOW),
			 E2E_OK);
	raw = redisConnect("127.0.0.1", s.port);
	assert_true(raw != NULL && raw->err == 0);
	r = raw_argv(raw, 2, keys);
	assert_int_equal(r->type, REDIS_REPLY_ARRAY);
	assert_int_equal(r->elements, 1);
	{
		const char *hget[3] = {"HGET", r->element[0]->str, "t"};
		redisReply *t = raw_argv(raw, 3, hget);

		assert_int_equal(t->type, REDIS_REPLY_STRING);
		assert_string_equal(t->str, "3");
		freeReplyObject(t);
	}
	freeReplyObject(r);
	/* A 2's retry (its call never ran) is judged: accepted, once. */
	in[0] = info_of(A, 2, NOW, 0, 0);
	assert_int_equal(e2e_redis_check_commit(rs, &in[0], "t", LIVE, NOW),
			 E2E_OK);
	assert_int_equal(e2e_redis_check_commit(rs, &in[0], "t", LIVE, NOW),
			 E2E_ERR_REPLAY);
	redisFree(raw);
	e2e_redis_free(rs);
	redis_server_cleanup(&s);
}

static void stopped_store_is_unavailable_and_delivers_nothing(void **state)
{
	static const uint8_t zero[64];
	struct redis_server s;
	struct envs *v = seal_envs(2);
	e2e_redis_item it;
	e2e_info in = info_of(A, 1, NOW, 0, 0);
	uint8_t out[64];
	size_t n = 99;
	e2e_redis *rs;

	(void)state;
	assert_int_equal(redis_server_start(&s, NULL), 0);
	rs = member(&s, s.url, NULL);
	assert_int_equal(open_env(rs, v, 0, out, &n), E2E_OK);
	redis_server_stop(&s, SIGTERM);
	memset(out, 0xAA, sizeof out);
	assert_int_equal(open_env(rs, v, 1, out, &n),
			 E2E_ERR_STORE_UNAVAILABLE);
	assert_int_equal(n, 0);
	assert_memory_equal(out, zero, sizeof PAYLOAD - 1);
	it = (e2e_redis_item){&in, "t", LIVE, 0};
	assert_int_equal(e2e_redis_check_commit_batch(rs, &it, 1, NOW),
			 E2E_ERR_STORE_UNAVAILABLE);
	assert_int_equal(it.verdict, E2E_ERR_STORE_UNAVAILABLE);
	/* Back: the refused envelope was not recorded, the first was. */
	assert_int_equal(redis_server_restart(&s), 0);
	assert_int_equal(open_env(rs, v, 1, out, &n), E2E_OK);
	assert_int_equal(open_env(rs, v, 0, out, &n), E2E_ERR_REPLAY);
	e2e_redis_free(rs);
	redis_server_cleanup(&s);
	free_envs(v);
}

static void raw_command(const struct redis_server *s, const char *cmd)
{
	redisContext *raw = redisConnect("127.0.0.1", s->port);
	redisReply *r;

	assert_true(raw != NULL && raw->err == 0);
	assert_non_null(r = redisCommand(raw, cmd));
	assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
	freeReplyObject(r);
	redisFree(raw);
}

/*
 * Redis refusing the script's writes "for now" is an outage, not a
 * verdict: out of memory under noeviction (OOM), a primary demoted to a
 * replica (READONLY), too few replicas (NOREPLICAS). The message is
 * store-unavailable (QoS 1: redelivered, not lost), nothing of it is
 * written, and once Redis takes writes again the same envelope is
 * accepted, once.
 */
static void refused_writes_are_unavailable_and_commit_nothing(void **state)
{
	static const char *const refuse[] = {
		"CONFIG SET maxmemory 1", "REPLICAOF 127.0.0.1 1",
		"CONFIG SET min-replicas-to-write 1"};
	static const char *const allow[] = {
		"CONFIG SET maxmemory 0", "REPLICAOF NO ONE",
		"CONFIG SET min-replicas-to-write 0"};
	struct redis_server s;
	struct envs *v = seal_envs(4);
	e2e_redis_item it;
	e2e_info in;
	uint8_t out[64];
	size_t n, i;
	e2e_redis *rs;

	(void)state;
	assert_int_equal(redis_server_start(&s, NULL), 0);
	rs = member(&s, s.url, NULL);
	assert_int_equal(open_env(rs, v, 0, out, &n), E2E_OK);
	for (i = 0; i < 3; i++) {
		raw_command(&s, refuse[i]);
		n = 99;
		assert_int_equal(open_env(rs, v, i + 1, out, &n),
				 E2E_ERR_STORE_UNAVAILABLE);
		assert_int_equal(n, 0);
		/* The batch call says the same, for the item and the call. */
		in = info_of(A, 100 + i, NOW, 0, 0);
		it = (e2e_redis_item){&in, "t", LIVE, 0};
		assert_int_equal(e2e_redis_check_commit_batch(rs, &it, 1, NOW),
				 E2E_ERR_STORE_UNAVAILABLE);
		assert_int_equal(it.verdict, E2E_ERR_STORE_UNAVAILABLE);
		raw_command(&s, allow[i]);
		/* Nothing was written: accepted now, and only once. */
		assert_int_equal(open_env(rs, v, i + 1, out, &n), E2E_OK);
		assert_int_equal(open_env(rs, v, i + 1, out, &n),
				 E2E_ERR_REPLAY);
		assert_int_equal(e2e_redis_check_commit_batch(rs, &it, 1, NOW),
				 E2E_OK);
		assert_int_equal(it.verdict, E2E_OK);
	}
	assert_int_equal(open_env(rs, v, 0, out, &n), E2E_ERR_REPLAY);
	e2e_redis_free(rs);
	redis_server_cleanup(&s);
	free_envs(v);
}

/* ---- answers lost with the connection */

/*
 * A loopback TCP relay in front of the shared server that can lose an
 * answer: in CUT mode it passes the next request on, lets Redis run it,
 * and closes the client's connection without passing the answer back;
 * in DOWN mode it takes connections and closes them at once.
 */
enum { RELAY_PASS, RELAY_CUT, RELAY_CUT_THEN_DOWN, RELAY_DOWN };

struct relay {
	int lfd, port, stop, mode;
	pthread_t th;
};

static int relay_mode(struct relay *p)
{
	return __atomic_load_n(&p->mode, __ATOMIC_SEQ_CST);
}

static void relay_set(struct relay *p, int mode)
{
	__atomic_store_n(&p->mode, mode, __ATOMIC_SEQ_CST);
}

static int connect_loopback(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Relay one connection until either side closes or an answer is cut. */
static void relay_one(struct relay *p, int cfd)
{
	struct timespec settle = {0, 100 * 1000 * 1000};
	struct pollfd fds[2];
	char buf[65536];
	int sfd = connect_loopback(shared.port), i;

	fds[0].fd = cfd;
	fds[1].fd = sfd;
	fds[0].events = fds[1].events = POLLIN;
	while (sfd >= 0 && !__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST)) {
		if (poll(fds, 2, 100) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			ssize_t n;
			int mode = relay_mode(p);

			if (!(fds[i].revents & (POLLIN | POLLHUP)))
				continue;
			n = read(fds[i].fd, buf, sizeof buf);
			if (n <= 0 || write(fds[1 - i].fd, buf, (size_t)n) != n)
				goto done;
			if (i == 0 && mode != RELAY_PASS) {
				/* Redis runs it; its answer is dropped. */
				nanosleep(&settle, NULL);
				relay_set(p, mode == RELAY_CUT ? RELAY_PASS
							       : RELAY_DOWN);
				goto done;
			}
		}
	}
done:
	if (sfd >= 0)
		close(sfd);
}

static void *relay_main(void *arg)
{
	struct relay *p = arg;
	struct pollfd l;

	l.fd = p->lfd;
	l.events = POLLIN;
	while (!__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST)) {
		int cfd;

		if (poll(&l, 1, 100) <= 0)
			continue;
		cfd = accept(p->lfd, NULL, NULL);
		if (cfd < 0)
			continue;
		if (relay_mode(p) != RELAY_DOWN)
			relay_one(p, cfd);
		close(cfd);
	}
	return NULL;
}

static void relay_start(struct relay *p)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;

	memset(p, 0, sizeof *p);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	p->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(p->lfd >= 0);
	assert_int_equal(bind(p->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(p->lfd, 8), 0);
	assert_int_equal(getsockname(p->lfd, (struct sockaddr *)&a, &len), 0);
	p->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&p->th, NULL, relay_main, p), 0);
}

static void relay_stop(struct relay *p)
{
	__atomic_store_n(&p->stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(p->th, NULL);
	close(p->lfd);
}

static void
lost_answer_of_accepted_call_is_recovered_within_the_call(void **state)
{
	e2e_info m1 = info_of(A, 1, NOW, 0, 0), m2 = info_of(A, 2, NOW, 0, 0);
	struct relay p;
	char url[128], direct[128];
	e2e_redis *rs, *other;

	(void)state;
	relay_start(&p);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/t%d", p.port,
		 ++prefix_no);
	snprintf(direct, sizeof direct, "redis://127.0.0.1:%d/t%d", shared.port,
		 prefix_no);
	rs = member(&shared, url, NULL);
	other = member(&shared, direct, NULL);
	assert_int_equal(e2e_redis_check_commit(rs, &m1, "t", LIVE, NOW),
			 E2E_OK);
	/* m2 is committed, its answer lost: the retry on a new connection
	 * learns that this very call was accepted. */
	relay_set(&p, RELAY_CUT);
	assert_int_equal(e2e_redis_check_commit(rs, &m2, "t", LIVE, NOW),
			 E2E_OK);
	/* Once for the group. */
	assert_int_equal(e2e_redis_check_commit(other, &m2, "t", LIVE, NOW),
			 E2E_ERR_REPLAY);
	assert_int_equal(e2e_redis_check_commit(rs, &m2, "t", LIVE, NOW),
			 E2E_ERR_REPLAY);
	e2e_redis_free(rs);
	e2e_redis_free(other);
	relay_stop(&p);
}

static void lost_answer_is_recovered_at_the_redelivery(void **state)
{
	e2e_info m1 = info_of(A, 1, NOW, 0, 0), m2 = info_of(A, 2, NOW, 0, 0);
	e2e_info m3 = info_of(A, 3, NOW, 0, 0);
	struct relay p;
	char url[128], direct[128];
	e2e_redis *rs, *other;

	(void)state;
	relay_start(&p);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/t%d", p.port,
		 ++prefix_no);
	snprintf(direct, sizeof direct, "redis://127.0.0.1:%d/t%d", shared.port,
		 prefix_no);
	rs = member(&shared, url, NULL);
	other = member(&shared, direct, NULL);
	assert_int_equal(e2e_redis_check_commit(rs, &m1, "t", LIVE, NOW),
			 E2E_OK);
	/* m2 is committed, its answer lost, and Redis stays out of reach:
	 * not delivered (QoS 1: not acknowledged, the broker sends it
	 * again). */
	relay_set(&p, RELAY_CUT_THEN_DOWN);
	assert_int_equal(e2e_redis_check_commit(rs, &m2, "t", LIVE, NOW),
			 E2E_ERR_STORE_UNAVAILABLE);
	assert_int_equal(e2e_redis_check_commit(other, &m2, "t", LIVE, NOW),
			 E2E_ERR_REPLAY);
	/* A message that never got through meanwhile leaves no doubt (and
	 * does not displace m2's). */
	assert_int_equal(e2e_redis_check_commit(rs, &m3, "t", LIVE, NOW),
			 E2E_ERR_STORE_UNAVAILABLE);
	/* Back: the redelivery to this member is accepted, once. */
	relay_set(&p, RELAY_PASS);
	assert_int_equal(e2e_redis_check_commit(rs, &m2, "t", LIVE, NOW),
			 E2E_OK);
	assert_int_equal(e2e_redis_check_commit(rs, &m2, "t", LIVE, NOW),
			 E2E_ERR_REPLAY);
	assert_int_equal(e2e_redis_check_commit(rs, &m3, "t", LIVE, NOW),
			 E2E_OK);
	e2e_redis_free(rs);
	e2e_redis_free(other);
	relay_stop(&p);
}

/* A member of a new group reaching Redis through relay p (started here),
 * that has accepted first. */
static e2e_redis *relayed_member(struct relay *p, const e2e_info *first)
{
	char url[128];
	e2e_redis *rs;

	relay_start(p);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/t%d", p->port,
		 ++prefix_no);
	rs = member(&shared, url, NULL);
	assert_int_equal(e2e_redis_check_commit(rs, first, "t", LIVE, NOW),
			 E2E_OK);
	return rs;
}

/* The same message twice in one batch after its answer was lost: the first
 * copy retries the lost call and is accepted, the second is a replay (with
 * the retry's token both would have been "accepted"). */
static void
lost_answer_redelivered_twice_in_a_batch_is_accepted_once(void **state)
{
	e2e_info m1 = info_of(A, 1, NOW, 0, 0), m2 = info_of(A, 2, NOW, 0, 0);
	e2e_redis_item it[2] = {{&m2, "t", LIVE, 0}, {&m2, "t", LIVE, 0}};
	struct relay p;
	e2e_redis *rs;

	(void)state;
	rs = relayed_member(&p, &m1);
	relay_set(&p, RELAY_CUT_THEN_DOWN);
	assert_int_equal(e2e_redis_check_commit(rs, &m2, "t", LIVE, NOW),
			 E2E_ERR_STORE_UNAVAILABLE);
	relay_set(&p, RELAY_PASS);
	assert_int_equal(e2e_redis_check_commit_batch(rs, it, 2, NOW), E2E_OK);
	assert_int_equal(it[0].verdict, E2E_OK);
	assert_int_equal(it[1].verdict, E2E_ERR_REPLAY);
	e2e_redis_free(rs);
	relay_stop(&p);
}

/* A duplicate whose own answer was lost stays a duplicate: the retry is
 * accepted only when the lost call itself was. */
static void lost_answer_of_refused_call_stays_refused(void **state)
{
	e2e_info m1 = info_of(A, 1, NOW, 0, 0);
	struct relay p;
	e2e_redis *rs;

	(void)state;
	rs = relayed_member(&p, &m1);
	relay_set(&p, RELAY_CUT);
	assert_int_equal(e2e_redis_check_commit(rs, &m1, "t", LIVE, NOW),
			 E2E_ERR_REPLAY);
	e2e_redis_free(rs);
	relay_stop(&p);
}

/* ---- two batches in flight (e2e_redis_batch_send / _recv) */

/* items[i] for the infos in[0..n). */
static void items_of(e2e_redis_item *it, e2e_info *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		it[i] = (e2e_redis_item){&in[i], "t", LIVE, E2E_OK};
}

/* Each of in[0..n), live on "t", is a replay for the member rs. */
static void all_replays(e2e_redis *rs, const e2e_info *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
			e2e_redis_check_commit(rs, &in[i], "t", LIVE, NOW),
			E2E_ERR_REPLAY);
}

/* Whether sender's entry in the group at base has top seq (16 hex), read
 * on a raw connection (nothing committed), waiting at most about 5 s. */
static int top_reaches(redisContext *raw, const char *base, uint64_t sender,
		       uint64_t seq)
{
	struct timespec pause = {0, 5 * 1000 * 1000};
	char key[128], want[17];
	const char *argv[3] = {"HGET", key, "top"};

	snprintf(key, sizeof key, "%s:s:%016llx", base,
		 (unsigned long long)sender);
	snprintf(want, sizeof want, "%016llx", (unsigned long long)seq);
	for (int i = 0; i < 1000; i++) {
		redisReply *r = raw_argv(raw, 3, argv);
		int got = r->type == REDIS_REPLY_STRING &&
			  strcmp(r->str, want) == 0;

		freeReplyObject(r);
		if (got)
			return 1;
		nanosleep(&pause, NULL);
	}
	return 0;
}

/*
 * Batch N+1 is sent while N's answer is still unread, and Redis judges it
 * after N: an envelope in both is accepted in N and a replay in N+1; a
 * third batch, or a call one by one, waits for room (E2E_ERR_INVAL).
 */
static void two_batches_in_flight_refuse_a_replay_across_them(void **state)
{
	e2e_info b1[3] = {info_of(A, 1, NOW, 0, 0), info_of(A, 2, NOW, 0, 0),
			  info_of(C, 1, NOW, 0, 0)};
	e2e_info b2[3] = {info_of(A, 2, NOW, 0, 0), info_of(A, 3, NOW, 0, 0),
			  info_of(C, 1, NOW, 0, 0)};
	e2e_redis_item i1[3], i2[3], i3[1];
	char url[128], base[64];
	redisContext *raw;
	e2e_redis *rs, *other;

	(void)state;
	fresh_url(&shared, url, sizeof url);
	base_of(url, base, sizeof base);
	rs = member(&shared, url, NULL);
	other = member(&shared, url, NULL);
	raw = redisConnect("127.0.0.1", shared.port);
	assert_true(raw != NULL && raw->err == 0);
	items_of(i1, b1, 3);
	items_of(i2, b2, 3);
	items_of(i3, b1, 1);
	assert_int_equal(e2e_redis_batch_pending(rs), 0);
	assert_int_equal(e2e_redis_batch_wait(rs, -1), E2E_ERR_INVAL);
	assert_int_equal(e2e_redis_batch_send(rs, i1, 3, NOW), E2E_OK);
	assert_int_equal(e2e_redis_batch_send(rs, i2, 3, NOW), E2E_OK);
	assert_int_equal(e2e_redis_batch_pending(rs), 2);
	assert_int_equal(e2e_redis_batch_send(rs, i3, 1, NOW), E2E_ERR_INVAL);
	assert_int_equal(e2e_redis_check_commit_batch(rs, i3, 1, NOW),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_redis_check_commit(rs, &b1[0], "t", LIVE, NOW),
			 E2E_ERR_INVAL);
	/* Both ran before the first answer is read: A's top is batch 2's. */
	assert_true(top_reaches(raw, base, A, 3));
	assert_int_equal(e2e_redis_batch_wait(rs, -1), 1); /* answered */
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_OK);
	assert_int_equal(i1[0].verdict, E2E_OK);
	assert_int_equal(i1[1].verdict, E2E_OK);
	assert_int_equal(i1[2].verdict, E2E_OK);
	assert_int_equal(i2[0].verdict, E2E_ERR_INVAL); /* not yet answered */
	assert_int_equal(e2e_redis_batch_pending(rs), 1);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_OK);
	assert_int_equal(i2[0].verdict, E2E_ERR_REPLAY);
	assert_int_equal(i2[1].verdict, E2E_OK);
	assert_int_equal(i2[2].verdict, E2E_ERR_REPLAY);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_ERR_INVAL);
	/* Once for the group. */
	all_replays(other, b2, 3);
	all_replays(rs, b1, 3);
	redisFree(raw);
	e2e_redis_free(rs);
	e2e_redis_free(other);
}

/* Both batches' answers lost with the connection: both are sent again on
 * a new one, in order, as retries; the verdicts are those of the lost
 * calls, the replay across them included. */
static void lost_answers_of_two_batches_are_recovered_in_order(void **state)
{
	e2e_info m1 = info_of(A, 1, NOW, 0, 0);
	e2e_info b1[2] = {info_of(A, 2, NOW, 0, 0), info_of(A, 3, NOW, 0, 0)};
	e2e_info b2[2] = {info_of(A, 3, NOW, 0, 0), info_of(A, 4, NOW, 0, 0)};
	e2e_redis_item i1[2], i2[2];
	struct relay p;
	e2e_redis *rs;

	(void)state;
	rs = relayed_member(&p, &m1);
	items_of(i1, b1, 2);
	items_of(i2, b2, 2);
	relay_set(&p, RELAY_CUT);
	assert_int_equal(e2e_redis_batch_send(rs, i1, 2, NOW), E2E_OK);
	assert_int_equal(e2e_redis_batch_send(rs, i2, 2, NOW), E2E_OK);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_OK);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_OK);
	assert_int_equal(i1[0].verdict, E2E_OK);
	assert_int_equal(i1[1].verdict, E2E_OK);
	assert_int_equal(i2[0].verdict, E2E_ERR_REPLAY);
	assert_int_equal(i2[1].verdict, E2E_OK);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(
			e2e_redis_check_commit(rs, &b2[i], "t", LIVE, NOW),
			E2E_ERR_REPLAY);
	e2e_redis_free(rs);
	relay_stop(&p);
}

/*
 * An outage with two batches in flight (the first one's request reaches
 * Redis, its answer is lost, and Redis stays out of reach): every item of
 * both gets E2E_ERR_STORE_UNAVAILABLE, none is delivered; back, their
 * redeliveries are each accepted once (whether or not their call had run)
 * and nothing else: no message lost, none twice.
 */
static void outage_mid_pipeline_fails_every_item_in_flight(void **state)
{
	e2e_info m1 = info_of(A, 1, NOW, 0, 0);
	e2e_info in[4] = {info_of(A, 2, NOW, 0, 0), info_of(A, 3, NOW, 0, 0),
			  info_of(A, 4, NOW, 0, 0), info_of(C, 1, NOW, 0, 0)};
	e2e_redis_item i1[2], i2[2], all[4];
	char direct[128];
	struct relay p;
	e2e_redis *rs, *other;

	(void)state;
	rs = relayed_member(&p, &m1);
	snprintf(direct, sizeof direct, "redis://127.0.0.1:%d/t%d", shared.port,
		 prefix_no);
	other = member(&shared, direct, NULL);
	items_of(i1, in, 2);
	items_of(i2, in + 2, 2);
	relay_set(&p, RELAY_CUT_THEN_DOWN);
	assert_int_equal(e2e_redis_batch_send(rs, i1, 2, NOW), E2E_OK);
	assert_int_equal(e2e_redis_batch_send(rs, i2, 2, NOW), E2E_OK);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_ERR_STORE_UNAVAILABLE);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_ERR_STORE_UNAVAILABLE);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(i1[i].verdict, E2E_ERR_STORE_UNAVAILABLE);
		assert_int_equal(i2[i].verdict, E2E_ERR_STORE_UNAVAILABLE);
	}
	/* Still out: a new batch is refused too, and never sent. */
	items_of(all, in, 4);
	assert_int_equal(e2e_redis_check_commit_batch(rs, all, 4, NOW),
			 E2E_ERR_STORE_UNAVAILABLE);
	/* Back: the first redelivered twice, in two batches in flight: only
	 * the first retries its lost call (accepted), the second is a replay
	 * (with the same token both would be "accepted"); the others once
	 * each, in the other order of the batches, accepted. */
	relay_set(&p, RELAY_PASS);
	items_of(i1, in, 1);
	items_of(i2, in, 1);
	assert_int_equal(e2e_redis_batch_send(rs, i1, 1, NOW), E2E_OK);
	assert_int_equal(e2e_redis_batch_send(rs, i2, 1, NOW), E2E_OK);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_OK);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_OK);
	assert_int_equal(i1[0].verdict, E2E_OK);
	assert_int_equal(i2[0].verdict, E2E_ERR_REPLAY);
	items_of(all, in + 2, 2);
	items_of(all + 2, in + 1, 1);
	assert_int_equal(e2e_redis_check_commit_batch(rs, all, 3, NOW), E2E_OK);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(all[i].verdict, E2E_OK);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(
			e2e_redis_check_commit(rs, &in[i], "t", LIVE, NOW),
			E2E_ERR_REPLAY);
		assert_int_equal(
			e2e_redis_check_commit(other, &in[i], "t", LIVE, NOW),
			E2E_ERR_REPLAY);
	}
	e2e_redis_free(rs);
	e2e_redis_free(other);
	relay_stop(&p);
}

/*
 * e2e_redis_batch_wait: with Redis stopped (SIGSTOP: the batch is sent,
 * no answer comes), a readable wake fd ends the wait at once (0), and the
 * batch stays in flight; once Redis runs again the answer is there (1) and
 * its verdicts are the usual ones.
 */
static void batch_wait_ends_for_the_wake_fd_before_the_answer(void **state)
{
	e2e_info in = info_of(A, 1, NOW, 0, 0);
	e2e_redis_item it;
	struct redis_server s;
	int fd[2];
	e2e_redis *rs;

	(void)state;
	assert_int_equal(redis_server_start(&s, NULL), 0);
	rs = member(&s, s.url, NULL);
	assert_int_equal(pipe(fd), 0);
	items_of(&it, &in, 1);
	assert_int_equal(kill(s.pid, SIGSTOP), 0);
	assert_int_equal(e2e_redis_batch_send(rs, &it, 1, NOW), E2E_OK);
	assert_int_equal(write(fd[1], "", 1), 1);
	assert_int_equal(e2e_redis_batch_wait(rs, fd[0]), 0);
	assert_int_equal(e2e_redis_batch_pending(rs), 1);
	assert_int_equal(it.verdict, E2E_ERR_INVAL); /* not answered */
	assert_int_equal(kill(s.pid, SIGCONT), 0);
	assert_int_equal(e2e_redis_batch_wait(rs, -1), 1);
	assert_int_equal(e2e_redis_batch_recv(rs), E2E_OK);
	assert_int_equal(it.verdict, E2E_OK);
	assert_int_equal(e2e_redis_batch_pending(rs), 0);
	all_replays(rs, &in, 1);
	close(fd[0]);
	close(fd[1]);
	e2e_redis_free(rs);
	redis_server_cleanup(&s);
}

/* ---- credentials */

/* The ACL of docs/GROUPS.md: the script's commands on one group's keys. */
#define MEMBER_COMMANDS                                                      \
	"-@all +evalsha +script|load +hmget +hget +hset +hdel +hlen +zcard " \
	"+zrange +zadd +zrem +del +expire"
#define MEMBER_ACL "~{grp}:* " MEMBER_COMMANDS

static struct redis_server authed;

static void write_secret(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int connect_with(const char *url, const char *password, const char *file)
{
	e2e_redis_opts o;
	e2e_redis *rs = NULL;
	e2e_info in = info_of(A, 1, NOW, 0, 0);
	int rc;

	e2e_redis_opts_default(&o);
	o.password = password;
	o.password_file = file;
	rc = e2e_redis_connect(&rs, url, &o, NULL);
	if (rc == E2E_OK) {
		rc = e2e_redis_check_commit(rs, &in, "t", LIVE, NOW);
		in.seq = 1; /* the same message: the group saw it */
		if (rc == E2E_OK)
			assert_int_equal(
				e2e_redis_check_commit(rs, &in, "t", LIVE, NOW),
				E2E_ERR_REPLAY);
	}
	e2e_redis_free(rs);
	return rc;
}

static void auth_refused_without_or_with_wrong_password(void **state)
{
	(void)state;
	assert_int_equal(connect_with(authed.url, NULL, NULL),
			 E2E_ERR_STORE_AUTH);
	assert_int_equal(connect_with(authed.url, "wrong", NULL),
			 E2E_ERR_STORE_AUTH);
}

static void auth_with_password_file_accepted(void **state)
{
	char path[320], url[128];

	(void)state;
	snprintf(path, sizeof path, "%s/pw", authed.dir);
	write_secret(path, "s3cret/pw\n", 0600);
	fresh_url(&authed, url, sizeof url);
	assert_int_equal(connect_with(url, NULL, path), E2E_OK);
}

static void auth_password_file_readable_by_others_refused(void **state)
{
	char path[320];

	(void)state;
	snprintf(path, sizeof path, "%s/pw-open", authed.dir);
	write_secret(path, "s3cret/pw\n", 0644);
	assert_int_equal(connect_with(authed.url, NULL, path),
			 E2E_ERR_PERMISSIONS);
}

static void auth_acl_user_in_url_with_password_file(void **state)
{
	char path[320], url[128];

	(void)state;
	snprintf(path, sizeof path, "%s/pw-alice", authed.dir);
	write_secret(path, "wonder land", 0600);
	snprintf(url, sizeof url, "redis://alice@127.0.0.1:%d/a%d", authed.port,
		 ++prefix_no);
	assert_int_equal(connect_with(url, NULL, path), E2E_OK);
	/* The same user with another's password. */
	assert_int_equal(connect_with(url, "s3cret/pw", NULL),
			 E2E_ERR_STORE_AUTH);
}

static void auth_percent_encoded_password_in_url_accepted(void **state)
{
	char url[128];

	(void)state;
	snprintf(url, sizeof url,
		 "redis://alice:wonder%%20land@127.0.0.1:%d/a%d", authed.port,
		 ++prefix_no);
	assert_int_equal(connect_with(url, NULL, NULL), E2E_OK);
}

/*
 * Every command the script can make, under the ACL (user member2: the
 * commands of MEMBER_ACL on the group "acl"): a piece slid to zero (HDEL),
 * a jump of the window (DEL), evictions of both classes with a signer's
 * mark (ZCARD, ZRANGE, ZREM, HLEN of the marks), a retained record
 * evicted (HGET of its ts, DEL), the tokens (HSET, EXPIRE).
 */
static const struct step acl_steps[] = {
	{A, 1, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 1000, NOW, 0, 0, LIVE, "t", E2E_OK},
	{A, 1624, NOW, 0, 0, LIVE, "t", E2E_OK}, /* piece 0 all zero */
	{A, 1, NOW, 0, 0, LIVE, "t", E2E_ERR_REPLAY},
	{A, 5000, NOW, 0, 0, LIVE, "t", E2E_OK}, /* a jump of the window */
	{S, 5, NOW, 1, 1, LIVE, "cfg/s", E2E_OK},
	{T, 1, NOW + 1, 1, 0, LIVE, "t", E2E_OK}, /* evicts S: mark 5 */
	{S, 5, NOW + 2, 1, 0, LIVE, "t", E2E_ERR_REPLAY},
	{S, 6, NOW + 2, 1, 0, LIVE, "t", E2E_OK}, /* evicts T */
	/* Evicts A and the record of cfg/s. */
	{C, 1, NOW + 3, 0, 1, LIVE, "cfg/c", E2E_OK},
	{C, 1, NOW + 3, 0, 1, RET, "cfg/c", E2E_ERR_REPLAY},
	{S, 5, NOW, 1, 1, RET, "cfg/s", E2E_ERR_REPLAY}, /* under its mark */
};

static void acl_member_runs_every_command(const char *url)
{
	e2e_guard_opts o;
	e2e_redis *rs = NULL;
	size_t i;

	small_opts(&o);
	o.window = 1024;
	o.max_senders = 2;
	o.max_retained_topics = 1;
	assert_int_equal(e2e_redis_connect(&rs, url, NULL, &o), E2E_OK);
	for (i = 0; i < sizeof acl_steps / sizeof acl_steps[0]; i++) {
		const struct step *s = &acl_steps[i];
		e2e_info in = info_of(s->sender, s->seq, s->ts, s->is_signed,
				      s->intent);
		int rc = e2e_redis_check_commit(rs, &in, s->topic, s->delivery,
						NOW + 3);

		if (rc != s->expect)
			fail_msg("step %zu: %s, expected %s", i,
				 e2e_err_name(rc), e2e_err_name(s->expect));
	}
	e2e_redis_free(rs);
}

static void auth_member_acl_of_the_docs_is_enough_for_its_group(void **state)
{
	char url[128];

	(void)state;
	snprintf(url, sizeof url, "redis://member:m3mber@127.0.0.1:%d/grp",
		 authed.port);
	assert_int_equal(connect_with(url, NULL, NULL), E2E_OK);
	snprintf(url, sizeof url, "redis://member2:m3mber@127.0.0.1:%d/acl",
		 authed.port);
	acl_member_runs_every_command(url);
	/* The same user on another group's keys. */
	snprintf(url, sizeof url, "redis://member:m3mber@127.0.0.1:%d/other",
		 authed.port);
	assert_int_equal(connect_with(url, NULL, NULL), E2E_ERR_STORE_AUTH);
}

static void auth_acl_user_without_password_is_a_nopass_user(void **state)
{
	char url[128];

	(void)state;
	snprintf(url, sizeof url, "redis://open@127.0.0.1:%d/n%d", authed.port,
		 ++prefix_no);
	assert_int_equal(connect_with(url, NULL, NULL), E2E_OK);
	snprintf(url, sizeof url, "redis://alice@127.0.0.1:%d/n%d", authed.port,
		 ++prefix_no);
	assert_int_equal(connect_with(url, NULL, NULL), E2E_ERR_STORE_AUTH);
}

/* ---- setup */

static int setup(void **state)
{
	(void)state;
	assert_int_equal(e2e_init(), E2E_OK);
	if (redis_server_start(&shared, NULL) != 0)
		return -1;
	if (redis_server_start(
		    &authed,
		    "requirepass s3cret/pw\n"
		    "user alice on \">wonder land\" ~* &* +@all\n"
		    "user member on >m3mber " MEMBER_ACL "\n"
		    "user member2 on >m3mber ~{acl}:* " MEMBER_COMMANDS "\n"
		    "user open on nopass ~* &* +@all") != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	redis_server_cleanup(&shared);
	redis_server_cleanup(&authed);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(connect_refuses_malformed_urls),
#ifndef HAVE_REDIS_TLS
		cmocka_unit_test(connect_refuses_rediss_as_unsupported),
#endif
		cmocka_unit_test(connect_to_nothing_is_store_unavailable),
		cmocka_unit_test(redis_gives_memory_verdicts_on_cases),
		cmocka_unit_test(redis_gives_memory_verdicts_on_eviction_cases),
		cmocka_unit_test(redis_gives_memory_verdicts_on_random_traffic),
		cmocka_unit_test(redis_gives_memory_verdicts_in_batches),
		cmocka_unit_test(
			redis_gives_memory_verdicts_on_cases_in_one_batch),
		cmocka_unit_test(batch_survives_script_flush_and_a_bad_key),
		cmocka_unit_test(
			redis_gives_memory_verdicts_with_no_clock_and_retained_age),
		cmocka_unit_test(
			redis_gives_memory_verdicts_with_window_of_192),
		cmocka_unit_test(
			redis_gives_memory_verdicts_with_window_of_1088),
		cmocka_unit_test(redis_keeps_guarantees_under_evictions),
		cmocka_unit_test(redis_evicts_least_recent_of_the_class),
		cmocka_unit_test(
			redis_keeps_guarantees_under_evictions_with_no_clock_and_window_192),
		cmocka_unit_test(
			redis_gives_memory_verdicts_across_an_epoch_boundary),
		cmocka_unit_test(redis_loses_marks_as_memory_does),
		cmocka_unit_test(member_with_other_window_gets_store_mismatch),
		cmocka_unit_test(
			group_of_another_protocol_is_refused_both_ways),
		cmocka_unit_test(window_pieces_cross_the_ring_wrap),
		cmocka_unit_test(
			jumps_of_a_window_or_more_give_memory_verdicts),
		cmocka_unit_test(
			member_tokens_answer_retries_of_the_last_65536),
		cmocka_unit_test(racing_members_accept_each_envelope_once),
		cmocka_unit_test(
			racing_batch_members_accept_each_envelope_once),
		cmocka_unit_test(restart_with_aof_refuses_every_replay),
		cmocka_unit_test(
			stopped_store_is_unavailable_and_delivers_nothing),
		cmocka_unit_test(
			refused_writes_are_unavailable_and_commit_nothing),
		cmocka_unit_test(
			calls_that_never_reached_redis_give_their_tokens_back),
		cmocka_unit_test(
			lost_answer_of_accepted_call_is_recovered_within_the_call),
		cmocka_unit_test(lost_answer_is_recovered_at_the_redelivery),
		cmocka_unit_test(
			lost_answer_redelivered_twice_in_a_batch_is_accepted_once),
		cmocka_unit_test(lost_answer_of_refused_call_stays_refused),
		cmocka_unit_test(
			two_batches_in_flight_refuse_a_replay_across_them),
		cmocka_unit_test(
			lost_answers_of_two_batches_are_recovered_in_order),
		cmocka_unit_test(
			outage_mid_pipeline_fails_every_item_in_flight),
		cmocka_unit_test(
			batch_wait_ends_for_the_wake_fd_before_the_answer),
		cmocka_unit_test(auth_refused_without_or_with_wrong_password),
		cmocka_unit_test(auth_with_password_file_accepted),
		cmocka_unit_test(auth_password_file_readable_by_others_refused),
		cmocka_unit_test(auth_acl_user_in_url_with_password_file),
		cmocka_unit_test(auth_percent_encoded_password_in_url_accepted),
		cmocka_unit_test(
			auth_member_acl_of_the_docs_is_enough_for_its_group),
		cmocka_unit_test(
			auth_acl_user_without_password_is_a_nopass_user),
	};
	int rc = skip_or_fail_without_server();

	if (rc != 0)
		return rc < 0 ? 1 : 77;
	return cmocka_run_group_tests_name("redis_guard", tests, setup,
					   teardown);
}
