/*
 * Per-topic keys (docs/KEYDIST.md section 8, docs/KEYFILES.md section 2):
 * a key may carry topic filters; keys with the same filters form a scope
 * with its own primary and schedule; sealing picks the primary whose
 * filters match the topic, opening refuses a key outside its filters
 * (key-topic); keyring files keep schedules and filters, and files without
 * them read and write as before.
 */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"

#define assert_ok(expr) assert_string_equal(e2e_err_name(expr), "E2E_OK")
#define assert_err(expr, want) assert_string_equal(e2e_err_name(expr), #want)

#define SITE_ID 0x11111111u   /* no filters: every other topic */
#define TENANT_ID 0x22222222u /* "tenant-a/#" */
#define T 1800000000u

static const uint8_t site_key[E2E_KEYBYTES] = {1};
static const uint8_t tenant_key[E2E_KEYBYTES] = {2};
static const uint8_t tenant_next[E2E_KEYBYTES] = {3};

/* Two primaries: the site key, and tenant A's key for its topics. */
static e2e_keyring *two_scopes(void)
{
	e2e_keyring *kr = NULL;
	e2e_key_info site = {SITE_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 1};
	e2e_key_info tenant = {TENANT_ID, E2E_SUITE_AEAD, E2E_KEY_ENABLED, 2};

	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_keyring_add(kr, &site, site_key));
	assert_ok(e2e_keyring_add(kr, &tenant, tenant_key));
	assert_ok(e2e_keyring_set_filters(kr, TENANT_ID, "tenant-a/#"));
	assert_ok(e2e_keyring_set_state(kr, TENANT_ID, E2E_KEY_PRIMARY));
	return kr;
}

static uint32_t sealed_with(const e2e_keyring *kr, const char *topic)
{
	uint8_t env[128];
	size_t len = 0;
	e2e_sender *s = NULL;
	e2e_info info;
	int rc;

	assert_ok(e2e_sender_new(&s, NULL));
	rc = e2e_seal(s, kr, topic, (const uint8_t *)"on", 2, 0, env,
		      sizeof env, &len);
	e2e_sender_free(s);
	if (rc != E2E_OK)
		return 0;
	assert_ok(e2e_parse(env, len, &info));
	return info.key_id;
}

static void seal_picks_the_primary_whose_filters_match(void **state)
{
	e2e_keyring *kr = two_scopes();

	(void)state;
	assert_int_equal(sealed_with(kr, "tenant-a/meter/1"), TENANT_ID);
	assert_int_equal(sealed_with(kr, "tenant-b/meter/1"), SITE_ID);
	assert_int_equal(sealed_with(kr, "tenant-a"), TENANT_ID); /* a/# */
	e2e_keyring_free(kr);
}

static void seal_without_an_unscoped_primary_has_no_key_elsewhere(void **state)
{
	e2e_keyring *kr = two_scopes();

	(void)state;
	assert_ok(e2e_keyring_schedule(kr, SITE_ID, 0, 1)); /* long disabled */
	assert_int_equal(sealed_with(kr, "tenant-b/x"), 0);
	assert_int_equal(sealed_with(kr, "tenant-a/x"), TENANT_ID);
	e2e_keyring_free(kr);
}

static int open_on(const e2e_keyring *kr, uint32_t id, const uint8_t *key,
		   const char *topic)
{
	static const uint8_t salt[E2E_SALT_BYTES] = {4};
	uint8_t env[128], out[64];
	size_t len = 0, olen = 0;
	e2e_seal_params p = {E2E_SUITE_AEAD, id, key, NULL, 7, 1, T, 0, salt};
	e2e_receiver r = {kr, NULL, NULL, 0, T, NULL, 0};

	assert_ok(e2e_seal_explicit(&p, topic, (const uint8_t *)"on", 2, env,
				    sizeof env, &len));
	return e2e_open(&r, topic, env, len, 0, out, sizeof out, &olen, NULL);
}

static void open_refuses_a_key_outside_its_filters(void **state)
{
	e2e_keyring *kr = two_scopes();
	int rc;

	(void)state;
	assert_ok(open_on(kr, TENANT_ID, tenant_key, "tenant-a/meter/1"));
	/* A tenant-A device that holds its key seals for tenant B. */
	rc = open_on(kr, TENANT_ID, tenant_key, "tenant-b/meter/1");
	assert_err(rc, E2E_ERR_KEY_TOPIC);
	assert_string_equal(e2e_reason(rc), "key-topic");
	/* Keys without filters open every topic, as before. */
	assert_ok(open_on(kr, SITE_ID, site_key, "tenant-a/meter/1"));
	e2e_keyring_free(kr);
}

static void a_new_primary_demotes_only_its_scope(void **state)
{
	e2e_keyring *kr = two_scopes();
	e2e_key_info info = {0x33333333u, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 3};
	e2e_key_state st;

	(void)state;
	assert_ok(e2e_keyring_add(kr, &info, tenant_next));
	assert_ok(e2e_keyring_state_at(kr, TENANT_ID, T, &st));
	assert_int_equal(st, E2E_KEY_PRIMARY);
	assert_ok(e2e_keyring_state_at(kr, SITE_ID, T, &st));
	assert_int_equal(st, E2E_KEY_ENABLED);
	e2e_keyring_free(kr);
}

static void scopes_follow_their_own_schedules(void **state)
{
	e2e_keyring *kr = two_scopes();
	e2e_key_info next = {0x44444444u, E2E_SUITE_AEAD, E2E_KEY_ENABLED, 4};
	e2e_key_state st;

	(void)state;
	assert_ok(e2e_keyring_add(kr, &next, tenant_next));
	assert_ok(e2e_keyring_set_filters(kr, next.id, "tenant-a/#"));
	assert_ok(e2e_keyring_schedule(kr, next.id, T, 0));
	assert_ok(e2e_keyring_state_at(kr, next.id, T - 1, &st));
	assert_int_equal(st, E2E_KEY_ENABLED);
	assert_ok(e2e_keyring_state_at(kr, next.id, T, &st));
	assert_int_equal(st, E2E_KEY_PRIMARY);
	assert_ok(e2e_keyring_state_at(kr, TENANT_ID, T, &st));
	assert_int_equal(st, E2E_KEY_ENABLED);
	/* The site key's scope is untouched. */
	assert_ok(e2e_keyring_state_at(kr, SITE_ID, T, &st));
	assert_int_equal(st, E2E_KEY_PRIMARY);
	assert_ok(e2e_keyring_advance(kr, T));
	assert_ok(e2e_keyring_state_at(kr, SITE_ID, T, &st));
	assert_int_equal(st, E2E_KEY_PRIMARY);
	e2e_keyring_free(kr);
}

static void set_filters_refuses_invalid_blank_and_second_primary(void **state)
{
	e2e_keyring *kr = two_scopes();
	const char *f;

	(void)state;
	assert_err(e2e_keyring_set_filters(kr, SITE_ID, "a/#/b"),
		   E2E_ERR_INVAL);
	assert_err(e2e_keyring_set_filters(kr, SITE_ID, "a,,b"), E2E_ERR_INVAL);
	assert_err(e2e_keyring_set_filters(kr, SITE_ID, "a b/#"),
		   E2E_ERR_INVAL);
	assert_err(e2e_keyring_set_filters(kr, SITE_ID, "tenant-a/#"),
		   E2E_ERR_TWO_PRIMARIES);
	assert_err(e2e_keyring_set_filters(kr, 99, "x"), E2E_ERR_NOT_FOUND);
	assert_ok(e2e_keyring_get_filters(kr, SITE_ID, &f));
	assert_string_equal(f, "");
	/* Back among the keys without filters, which have a primary. */
	assert_err(e2e_keyring_set_filters(kr, TENANT_ID, NULL),
		   E2E_ERR_TWO_PRIMARIES);
	assert_ok(e2e_keyring_set_filters(kr, SITE_ID, "site/#"));
	assert_ok(e2e_keyring_set_filters(kr, SITE_ID, ""));
	assert_ok(e2e_keyring_get_filters(kr, SITE_ID, &f));
	assert_string_equal(f, "");
	e2e_keyring_free(kr);
}

/* ------------------------------------------------------------------------ */
/* Keyring files                                                            */
/* ------------------------------------------------------------------------ */

static char dir[64], path[128];

static int dir_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/e2e-scope-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof path, "%s/site.ring", dir);
	return 0;
}

static int dir_teardown(void **state)
{
	char tmp[160];

	(void)state;
	unlink(path);
	snprintf(tmp, sizeof tmp, "%s/other.ring", dir);
	unlink(tmp);
	return rmdir(dir);
}

static char *slurp(const char *p)
{
	static char text[4096];
	FILE *f = fopen(p, "r");
	size_t n;

	assert_non_null(f);
	n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	return text;
}

static void write_text(const char *p, const char *text)
{
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void keyring_file_keeps_schedule_and_filters(void **state)
{
	e2e_keyring *kr = two_scopes(), *back = NULL;
	uint64_t act, dis;
	const char *f;
	e2e_key_info info;

	(void)state;
	assert_ok(e2e_keyring_schedule(kr, SITE_ID, 0, T + 60));
	assert_ok(e2e_keyring_schedule(kr, TENANT_ID, T, 0));
	assert_ok(e2e_keyring_save(kr, path, 0));
	assert_non_null(strstr(slurp(path), " disables=1800000060\n"));
	assert_non_null(strstr(slurp(path), " activates=1800000000 "
					    "topics=tenant-a/#\n"));
	assert_ok(e2e_keyring_load(&back, path, NULL));
	assert_ok(e2e_keyring_schedule_get(back, SITE_ID, &act, &dis));
	assert_true(act == 0 && dis == T + 60);
	assert_ok(e2e_keyring_schedule_get(back, TENANT_ID, &act, &dis));
	assert_true(act == T && dis == 0);
	assert_ok(e2e_keyring_get_filters(back, TENANT_ID, &f));
	assert_string_equal(f, "tenant-a/#");
	assert_ok(e2e_keyring_find(back, TENANT_ID, &info));
	assert_int_equal(info.state, E2E_KEY_PRIMARY);
	e2e_keyring_free(back);
	e2e_keyring_free(kr);
}

static void keyring_file_without_extras_reads_and_writes_as_before(void **state)
{
	static const char old[] =
		"# libe2e keyring: shared secret keys. Keep it secret (mode "
		"0600).\n"
		"# Rewritten by e2e-keygen, which does not keep comments.\n"
		"# id suite state created key\n"
		"libe2e-keyring 1\n"
		"0a0b0c0d aead primary 1763764000 "
		"AQIDBAUGBwgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"1f2e3d4c aead enabled 1761000000 "
		"CQkJCQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
	e2e_keyring *kr = NULL;

	(void)state;
	write_text(path, old);
	assert_ok(e2e_keyring_load(&kr, path, NULL));
	assert_int_equal(e2e_keyring_count(kr), 2);
	assert_ok(e2e_keyring_save(kr, path, 0));
	assert_string_equal(slurp(path), old);
	e2e_keyring_free(kr);
}

static void load_bad(const char *line, int want, const char *want_name)
{
	char text[512];
	e2e_keyring *kr = NULL;
	size_t bad = 0;
	int rc;

	snprintf(text, sizeof text,
		 "libe2e-keyring 1\n"
		 "0a0b0c0d aead primary 1 "
		 "AQIDBAUGBwgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n%s\n",
		 line);
	write_text(path, text);
	rc = e2e_keyring_load(&kr, path, &bad);
	assert_string_equal(e2e_err_name(rc), want_name);
	assert_int_equal(rc, want);
	assert_null(kr);
	assert_int_equal(bad, 3);
}

#define KEY2 \
	"1f2e3d4c aead enabled 1 CQkJCQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define PRIMARY2 \
	"1f2e3d4c aead primary 1 CQkJCQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void keyring_file_refuses_bad_extras(void **state)
{
	(void)state;
	load_bad(KEY2 " colour=blue", E2E_ERR_KEYFILE, "E2E_ERR_KEYFILE");
	load_bad(KEY2 " activates=1 activates=2", E2E_ERR_KEYFILE,
		 "E2E_ERR_KEYFILE");
	load_bad(KEY2 " activates=soon", E2E_ERR_KEYFILE, "E2E_ERR_KEYFILE");
	load_bad(KEY2 " topics=a/#/b", E2E_ERR_KEYFILE, "E2E_ERR_KEYFILE");
	load_bad(PRIMARY2, E2E_ERR_TWO_PRIMARIES, "E2E_ERR_TWO_PRIMARIES");
}

static void keyring_file_takes_one_primary_per_scope(void **state)
{
	e2e_keyring *kr = NULL;
	char text[512];

	(void)state;
	snprintf(text, sizeof text,
		 "libe2e-keyring 1\n"
		 "0a0b0c0d aead primary 1 "
		 "AQIDBAUGBwgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		 "%s topics=tenant-a/#\n",
		 PRIMARY2);
	write_text(path, text);
	assert_ok(e2e_keyring_load(&kr, path, NULL));
	assert_int_equal(sealed_with(kr, "tenant-a/x"), 0x1f2e3d4cu);
	assert_int_equal(sealed_with(kr, "elsewhere"), 0x0a0b0c0du);
	e2e_keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest scopes[] = {
		cmocka_unit_test(seal_picks_the_primary_whose_filters_match),
		cmocka_unit_test(
			seal_without_an_unscoped_primary_has_no_key_elsewhere),
		cmocka_unit_test(open_refuses_a_key_outside_its_filters),
		cmocka_unit_test(a_new_primary_demotes_only_its_scope),
		cmocka_unit_test(scopes_follow_their_own_schedules),
		cmocka_unit_test(
			set_filters_refuses_invalid_blank_and_second_primary),
	};
	const struct CMUnitTest files[] = {
		cmocka_unit_test(keyring_file_keeps_schedule_and_filters),
		cmocka_unit_test(
			keyring_file_without_extras_reads_and_writes_as_before),
		cmocka_unit_test(keyring_file_refuses_bad_extras),
		cmocka_unit_test(keyring_file_takes_one_primary_per_scope),
	};
	int failed;

	if (e2e_init() != E2E_OK)
		return 1;
	failed = cmocka_run_group_tests_name("per-topic keys", scopes, NULL,
					     NULL);
	failed += cmocka_run_group_tests_name("keyring files with schedules",
					      files, dir_setup, dir_teardown);
	return failed;
}
