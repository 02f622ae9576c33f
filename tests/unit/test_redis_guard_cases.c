/*
 * The replay guard's shared cases (tests/vectors/guard-cases.json, the ones
 * the C guard, test_guard_cases.c, and the JavaScript guard pass) run
 * against the Redis guard (libe2e-redis, docs/GROUPS.md) on a real
 * redis-server started by the test. One cmocka test per case, named as
 * the case.
 *
 * The cases fix the verdicts, not which entry of a class an eviction takes
 * (tests/vectors/README.md), so they hold for the Redis guard's
 * least-recent victims as for the in-memory guard's CLOCK. A case step maps
 * to Redis as follows:
 *   deliver    e2e_redis_check_commit (it commits what it accepts);
 *   check      the same call on a copy of the group's keys under another
 *              prefix, so that the group's own state cannot change;
 *   count      ZCARD {P}:sl:0 + ZCARD {P}:sl:1 (GROUPS.md section 6);
 *   save_load  nothing: the state stays in Redis, as it would across a
 *              restart of the members (GROUPS.md section 5).
 * Cases that load a state file (op "load") or reload it with other sizes
 * (a Redis group refuses those as store-mismatch) have no Redis
 * counterpart: they are listed as not run, and their number is checked.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "e2e.h"
#include "e2e_redis.h"
#include "redis_server.h"

#include "guard_cases_types.h"
#include "guard_cases.h"

/* Cases of guard-cases.json about state files only: 6 when written. */
#define STATE_FILE_CASES 6

static struct redis_server server;
static redisContext *raw; /* direct commands: counts, copies */
static int prefix_no;

static long long integer_reply(const char *fmt, ...)
{
	redisReply *r;
	long long v;
	va_list ap;

	va_start(ap, fmt);
	r = redisvCommand(raw, fmt, ap);
	va_end(ap);
	assert_non_null(r);
	if (r->type != REDIS_REPLY_INTEGER)
		fail_msg("redis: %s", r->type == REDIS_REPLY_ERROR ? r->str
								   : "not an "
								     "integer");
	v = r->integer;
	freeReplyObject(r);
	return v;
}

static size_t sender_count(const char *prefix)
{
	return (size_t)(integer_reply("ZCARD {%s}:sl:0", prefix) +
			integer_reply("ZCARD {%s}:sl:1", prefix));
}

/* Every key of group prefix "from" copied to group "to" (emptied first). */
static void copy_group(const char *from, const char *to)
{
	const char *const which[2] = {to, from};
	int pass;

	for (pass = 0; pass < 2; pass++) {
		redisReply *r = redisCommand(raw, "KEYS {%s}:*", which[pass]);
		size_t i;

		assert_non_null(r);
		assert_int_equal(r->type, REDIS_REPLY_ARRAY);
		for (i = 0; i < r->elements; i++) {
			const char *key = r->element[i]->str;
			const char *rest = strchr(key, '}');

			assert_non_null(rest);
			if (pass == 0)
				assert_int_equal(integer_reply("DEL %s", key),
						 1);
			else
				assert_int_equal(integer_reply("COPY %s {%s%s",
							       key, to, rest),
						 1);
		}
		freeReplyObject(r);
	}
}

static e2e_redis *member_of(const char *prefix, const struct gc_opts *c)
{
	e2e_guard_opts o;
	e2e_redis *rs = NULL;
	char url[128];

	gc_guard_opts(c, &o);
	snprintf(url, sizeof url, "redis://127.0.0.1:%d/%s", server.port,
		 prefix);
	assert_int_equal(e2e_redis_connect(&rs, url, NULL, &o), E2E_OK);
	return rs;
}

static void message_step(e2e_redis *rs, const struct gc_step *s, size_t n)
{
	e2e_info i;
	uint32_t delivery = gc_info(s, &i);
	int rc;

	rc = e2e_redis_check_commit(rs, &i, s->topic, delivery, s->now);
	if (strcmp(e2e_reason(rc), s->expect) != 0)
		fail_msg("step %zu: %s, want %s", n + 1, e2e_reason(rc),
			 s->expect);
}

static void run_case(void **state)
{
	const struct gc_case *c = *state;
	char group[32], probe[40];
	e2e_redis *rs, *check;
	size_t n;

	snprintf(group, sizeof group, "c%d", ++prefix_no);
	snprintf(probe, sizeof probe, "c%d-check", prefix_no);
	rs = member_of(group, &c->opts);
	check = member_of(probe, &c->opts);
	for (n = 0; n < c->nsteps; n++) {
		const struct gc_step *s = &c->steps[n];

		switch (s->op) {
		case GC_DELIVER:
			message_step(rs, s, n);
			break;
		case GC_CHECK:
			copy_group(group, probe);
			message_step(check, s, n);
			break;
		case GC_COUNT:
			if (sender_count(group) != s->senders)
				fail_msg("step %zu: %zu senders, want %zu",
					 n + 1, sender_count(group),
					 s->senders);
			break;
		case GC_SAVE_LOAD:
		case GC_LOAD:
			break;
		}
	}
	e2e_redis_free(check);
	e2e_redis_free(rs);
}

/* A case Redis can run: no state file loaded, no reload with other sizes. */
static int runs_on_redis(const struct gc_case *c)
{
	size_t n;

	for (n = 0; n < c->nsteps; n++)
		if (c->steps[n].op == GC_LOAD ||
		    (c->steps[n].op == GC_SAVE_LOAD && c->steps[n].has_opts))
			return 0;
	return 1;
}

static int setup(void **state)
{
	(void)state;
	if (e2e_init() != E2E_OK || redis_server_start(&server, NULL) != 0)
		return -1;
	raw = redisConnect("127.0.0.1", server.port);
	return raw == NULL || raw->err ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	if (raw != NULL)
		redisFree(raw);
	redis_server_cleanup(&server);
	return 0;
}

int main(void)
{
	size_t n = sizeof gc_cases / sizeof gc_cases[0], i, k = 0;
	struct CMUnitTest *tests;
	int rc;

	if (redis_server_path() == NULL) {
		if (getenv("LIBE2E_TEST_STRICT") != NULL &&
		    strcmp(getenv("LIBE2E_TEST_STRICT"), "1") == 0) {
			fprintf(stderr, "redis-server not installed "
					"(LIBE2E_TEST_STRICT=1)\n");
			return 1;
		}
		return 77;
	}
	tests = calloc(n, sizeof *tests);
	if (tests == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		if (!runs_on_redis(&gc_cases[i])) {
			printf("not run against Redis (state files): %s\n",
			       gc_cases[i].name);
			continue;
		}
		tests[k].name = gc_cases[i].name;
		tests[k].test_func = run_case;
		tests[k].initial_state = (void *)&gc_cases[i];
		k++;
	}
	/* A new case left out is a decision: change the count with it. */
	if (n - k != STATE_FILE_CASES) {
		fprintf(stderr,
			"%zu cases not run against Redis, expected %d\n", n - k,
			STATE_FILE_CASES);
		free(tests);
		return 1;
	}
	rc = _cmocka_run_group_tests("redis_guard_cases", tests, k, setup,
				     teardown);
	free(tests);
	return rc;
}
