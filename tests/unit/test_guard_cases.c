/*
 * The replay guard's shared cases (tests/vectors/guard-cases.json, turned
 * into C data by tests/vectors/guard_cases2c.py) run against e2e_guard: the
 * JavaScript suite (bindings/js/test/guard-cases.test.js) runs the same
 * file against its own guard, so both give the same verdicts. One cmocka
 * test per case, named as the case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"

#include "guard_cases_types.h"
#include "guard_cases.h"

static char tmpdir[64];

static e2e_guard *new_guard(const struct gc_opts *c)
{
	e2e_guard_opts o;
	e2e_guard *g = NULL;

	gc_guard_opts(c, &o);
	assert_int_equal(e2e_guard_new(&g, &o), E2E_OK);
	return g;
}

static void write_file(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void message_step(e2e_guard *g, const struct gc_step *s, size_t n)
{
	e2e_info i;
	uint32_t delivery = gc_info(s, &i);
	int rc;

	rc = e2e_guard_check(g, &i, s->topic, delivery, s->now);
	if (strcmp(e2e_reason(rc), s->expect) != 0)
		fail_msg("step %zu: %s, want %s", n + 1, e2e_reason(rc),
			 s->expect);
	if (s->op == GC_DELIVER && rc == E2E_OK)
		e2e_guard_commit(g, &i, s->topic, delivery, s->now);
}

static void load_step(e2e_guard *g, const struct gc_step *s, size_t n)
{
	char path[128];
	size_t line = 12345;
	int rc;

	snprintf(path, sizeof path, "%s/load.state", tmpdir);
	write_file(path, s->text, s->text_len);
	rc = e2e_guard_load(g, path, &line);
	if (strcmp(e2e_reason(rc), s->expect) != 0 ||
	    (rc != E2E_OK && line != s->line))
		fail_msg("step %zu: load %s line %zu, want %s line %zu", n + 1,
			 e2e_err_name(rc), line, s->expect, s->line);
	assert_int_equal(unlink(path), 0);
}

static e2e_guard *save_load_step(e2e_guard *g, const struct gc_case *c,
				 const struct gc_step *s)
{
	char path[128];
	e2e_guard *h = new_guard(s->has_opts ? &s->opts : &c->opts);

	snprintf(path, sizeof path, "%s/round.state", tmpdir);
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	assert_int_equal(e2e_guard_load(h, path, NULL), E2E_OK);
	assert_int_equal(unlink(path), 0);
	e2e_guard_free(g);
	return h;
}

static void run_case(void **state)
{
	const struct gc_case *c = *state;
	e2e_guard *g = new_guard(&c->opts);
	size_t n;

	for (n = 0; n < c->nsteps; n++) {
		const struct gc_step *s = &c->steps[n];

		switch (s->op) {
		case GC_DELIVER:
		case GC_CHECK:
			message_step(g, s, n);
			break;
		case GC_COUNT:
			if (e2e_guard_sender_count(g) != s->senders)
				fail_msg("step %zu: %zu senders, want %zu",
					 n + 1, e2e_guard_sender_count(g),
					 s->senders);
			break;
		case GC_SAVE_LOAD:
			g = save_load_step(g, c, s);
			break;
		case GC_LOAD:
			load_step(g, s, n);
			break;
		}
	}
	e2e_guard_free(g);
}

static int setup(void **state)
{
	(void)state;
	if (e2e_init() != E2E_OK)
		return -1;
	strcpy(tmpdir, "/tmp/e2e-guard-cases-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	static const char *const names[] = {"load.state", "round.state"};
	char path[128];
	size_t i;

	(void)state;
	/* A failed step leaves its file behind. */
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
		(void)unlink(path);
	}
	return rmdir(tmpdir);
}

int main(void)
{
	size_t n = sizeof gc_cases / sizeof gc_cases[0], i;
	struct CMUnitTest *tests = calloc(n, sizeof *tests);
	int rc;

	if (tests == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		tests[i].name = gc_cases[i].name;
		tests[i].test_func = run_case;
		tests[i].initial_state = (void *)&gc_cases[i];
	}
	rc = _cmocka_run_group_tests("guard_cases", tests, n, setup, teardown);
	free(tests);
	return rc;
}
