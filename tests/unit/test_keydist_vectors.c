/*
 * The known-answer vectors of tests/vectors/keydist-v1.json, produced by an
 * independent implementation of docs/KEYDIST.md (tests/vectors/gen_keydist.py)
 * and turned into C data at build time by tests/vectors/keydist2c.py.
 *
 * One cmocka test per vector and property:
 *   build_reproduces/NAME  e2e_update_build() with the vector's ephemeral
 *                          keys gives the body byte for byte, and the admin's
 *                          suite-none seal the envelope
 *   open_accepts/NAME      every recipient opens it to exactly its keys
 *   build_opens/NAME       the same update built with crypto_box_seal's own
 *                          random ephemeral keys opens for every recipient
 *   open_rejects/NAME      e2e_update_open() fails with the listed error and
 *                          reason, holds nothing, and the keyring a member
 *                          would apply it to stays as it was
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e2e.h"
#include "internal.h"

struct kd_key {
	uint32_t id;
	e2e_suite suite;
	e2e_key_state state;
	uint64_t activates, disables;
	const char *filters;
	const uint8_t *key; /* NULL for a disabled key */
};

struct kd_rcpt {
	const uint8_t *pk;
	const uint8_t *esk; /* the ephemeral secret key of its sealed box */
	const uint32_t *ids;
	size_t nids;
	uint64_t member_id;
};

struct kd_opener {
	const uint8_t *admin_pk;
	const char *group;
	const uint8_t *member_sk;
	uint64_t held_counter;
	const char *topic;
	int retained;
	uint64_t now;
	const uint32_t *expect; /* positive vectors: the keys it gets */
	size_t nexpect;
};

struct kd_positive {
	const char *name;
	const char *group;
	uint64_t counter, issued;
	const uint8_t *admin_seed;
	uint64_t sender_id, seq;
	uint32_t timestamp;
	int retained;
	const char *topic;
	const struct kd_key *keys;
	size_t nkeys;
	const struct kd_rcpt *rcpts;
	size_t nrcpts;
	const uint8_t *body;
	size_t body_len;
	const uint8_t *env;
	size_t env_len;
	const struct kd_opener *openers;
	size_t nopeners;
};

struct kd_negative {
	const char *name;
	const uint8_t *env;
	size_t env_len;
	struct kd_opener opener;
	int error;
	const char *error_name;
	const char *reason;
};

#include "keydist_v1_vectors.h"

#define assert_ok(expr) assert_string_equal(e2e_err_name(expr), "E2E_OK")
#define N_POSITIVE (sizeof kd_positives / sizeof kd_positives[0])
#define N_NEGATIVE (sizeof kd_negatives / sizeof kd_negatives[0])

static uint8_t buf[16384];

static void vector_ephemeral(void *ctx, size_t i, uint8_t esk[32])
{
	const struct kd_positive *v = ctx;

	assert_true(i < v->nrcpts);
	memcpy(esk, v->rcpts[i].esk, 32);
}

/* e2e_update_build's parameters for vector v (arrays of at most 8). */
struct build {
	e2e_update_key keys[8];
	e2e_update_recipient rcpts[8];
	e2e_update_params p;
};

static void params_of(const struct kd_positive *v, struct build *b)
{
	size_t i;

	assert_true(v->nkeys <= 8 && v->nrcpts <= 8);
	memset(b, 0, sizeof *b);
	for (i = 0; i < v->nkeys; i++) {
		const struct kd_key *k = &v->keys[i];
		b->keys[i] = (e2e_update_key){
			k->id,       k->suite,   k->state, k->activates,
			k->disables, k->filters, k->key,   0};
	}
	for (i = 0; i < v->nrcpts; i++)
		b->rcpts[i] = (e2e_update_recipient){
			v->rcpts[i].pk, v->rcpts[i].ids, v->rcpts[i].nids};
	b->p = (e2e_update_params){v->group, v->counter, v->issued, b->keys,
				   v->nkeys, b->rcpts,   v->nrcpts};
}

/* The envelope of body: sealed by v's admin, retained, suite none. */
static void admin_seal(const struct kd_positive *v, const uint8_t *body,
		       size_t body_len, uint8_t *out, size_t cap, size_t *len)
{
	e2e_signer *admin = NULL;
	e2e_seal_params sp;
	int rc;

	assert_ok(e2e_signer_from_seed(&admin, v->admin_seed));
	assert_true(e2e_signer_id(admin) == v->sender_id);
	memset(&sp, 0, sizeof sp);
	sp.suite = E2E_SUITE_NONE;
	sp.signer = admin;
	sp.sender_id = v->sender_id;
	sp.seq = v->seq;
	sp.timestamp = v->timestamp;
	sp.flags = v->retained ? E2E_SEAL_RETAINED : 0;
	rc = e2e_seal_explicit(&sp, v->topic, body, body_len, out, cap, len);
	e2e_signer_free(admin);
	assert_ok(rc);
}

static void build_reproduces(void **state)
{
	const struct kd_positive *v = *state;
	struct build b;
	size_t len = 0, i;
	int rc;

	params_of(v, &b);
	assert_int_equal(e2e_update_body_len(&b.p), v->body_len);
	e2e__update_set_ephemeral(vector_ephemeral, (void *)v);
	rc = e2e_update_build(&b.p, buf, sizeof buf, &len);
	e2e__update_set_ephemeral(NULL, NULL);
	assert_ok(rc);
	assert_int_equal(len, v->body_len);
	for (i = 0; i < len && buf[i] == v->body[i]; i++)
		;
	if (i < len)
		fail_msg("%s: first difference at body byte %zu", v->name, i);
	admin_seal(v, v->body, v->body_len, buf, sizeof buf, &len);
	assert_int_equal(len, v->env_len);
	assert_memory_equal(buf, v->env, len);
}

static const struct kd_key *vector_key(const struct kd_positive *v, uint32_t id)
{
	for (size_t i = 0; i < v->nkeys; i++)
		if (v->keys[i].id == id)
			return &v->keys[i];
	return NULL;
}

static e2e_update_opener opener_of(const struct kd_opener *o, e2e_member **m)
{
	assert_ok(e2e_member_from_secret(m, o->member_sk));
	return (e2e_update_opener){o->admin_pk, o->group, *m, o->held_counter};
}

/* Open env as o says and check the update against vector v. */
static void open_and_check(const struct kd_positive *v,
			   const struct kd_opener *o, const uint8_t *env,
			   size_t env_len)
{
	e2e_member *m = NULL;
	e2e_update *u = NULL;
	e2e_update_opener op = opener_of(o, &m);
	e2e_update_key k;
	size_t i, got = 0;

	assert_ok(e2e_update_new(&u));
	assert_ok(e2e_update_open(u, &op, o->topic, env, env_len,
				  o->retained ? E2E_DELIVERY_RETAINED : 0));
	assert_true(e2e_update_counter(u) == v->counter);
	assert_true(e2e_update_issued(u) == v->issued);
	assert_string_equal(e2e_update_group(u), v->group);
	assert_int_equal(e2e_update_key_count(u), v->nkeys);
	for (i = 0; i < v->nkeys; i++) {
		const struct kd_key *want = &v->keys[i];
		int expected = 0;

		assert_ok(e2e_update_key_get(u, i, &k));
		assert_int_equal(k.id, want->id); /* increasing ids */
		assert_int_equal(k.suite, want->suite);
		assert_int_equal(k.state, want->state);
		assert_true(k.activates == want->activates);
		assert_true(k.disables == want->disables);
		assert_string_equal(k.filters, want->filters);
		assert_null(k.key);
		for (size_t j = 0; j < o->nexpect; j++)
			expected |= o->expect[j] == k.id;
		assert_int_equal(k.in_slot, expected);
		got += k.in_slot;
	}
	assert_int_equal(got, o->nexpect);
	e2e_update_free(u);
	e2e_member_free(m);
}

/* The keys a member applies are the vector's, byte for byte, with their
 * topic filters. */
static void apply_and_check(const struct kd_positive *v,
			    const struct kd_opener *o)
{
	e2e_member *m = NULL;
	e2e_update *u = NULL;
	e2e_keyring *kr = NULL;
	e2e_update_opener op = opener_of(o, &m);
	const char *filters;

	assert_ok(e2e_update_new(&u));
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_update_open(u, &op, o->topic, v->env, v->env_len,
				  E2E_DELIVERY_RETAINED));
	assert_ok(e2e_update_apply(u, kr, o->now));
	assert_int_equal(e2e_keyring_count(kr), o->nexpect);
	for (size_t j = 0; j < o->nexpect; j++) {
		const struct kd_key *want = vector_key(v, o->expect[j]);
		const struct e2e__key *k =
			e2e__keyring_lookup(kr, o->expect[j]);

		assert_non_null(k);
		assert_memory_equal(k->key, want->key, E2E_KEYBYTES);
		assert_ok(e2e_keyring_get_filters(kr, want->id, &filters));
		assert_string_equal(filters, want->filters);
	}
	e2e_keyring_free(kr);
	e2e_update_free(u);
	e2e_member_free(m);
}

static void open_accepts(void **state)
{
	const struct kd_positive *v = *state;

	for (size_t i = 0; i < v->nopeners; i++) {
		open_and_check(v, &v->openers[i], v->env, v->env_len);
		apply_and_check(v, &v->openers[i]);
	}
}

static void build_opens(void **state)
{
	const struct kd_positive *v = *state;
	uint8_t env[4096];
	struct build b;
	size_t len = 0, elen = 0;

	params_of(v, &b);
	assert_ok(e2e_update_build(&b.p, buf, sizeof buf, &len));
	assert_int_equal(len, v->body_len);
	/* Random ephemeral keys: a different body of the same length. */
	assert_memory_not_equal(buf, v->body, len);
	admin_seal(v, buf, len, env, sizeof env, &elen);
	for (size_t i = 0; i < v->nopeners; i++)
		open_and_check(v, &v->openers[i], env, elen);
}

static void open_rejects(void **state)
{
	const struct kd_negative *v = *state;
	static const uint8_t held_key[E2E_KEYBYTES] = {7};
	e2e_key_info info = {0x1a2b3c4d, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 1};
	e2e_key_info after;
	e2e_member *m = NULL;
	e2e_update *u = NULL;
	e2e_keyring *kr = NULL;
	e2e_update_opener op = opener_of(&v->opener, &m);
	int rc;

	assert_ok(e2e_update_new(&u));
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_keyring_add(kr, &info, held_key));
	rc = e2e_update_open(u, &op, v->opener.topic, v->env, v->env_len,
			     v->opener.retained ? E2E_DELIVERY_RETAINED : 0);
	assert_string_equal(e2e_err_name(rc), v->error_name);
	assert_int_equal(rc, v->error);
	assert_string_equal(e2e_reason(rc), v->reason);
	/* A refused update holds nothing and changes nothing. */
	assert_int_equal(e2e_update_key_count(u), 0);
	assert_true(e2e_update_counter(u) == 0);
	assert_int_equal(e2e_update_apply(u, kr, v->opener.now), E2E_ERR_INVAL);
	assert_int_equal(e2e_keyring_count(kr), 1);
	assert_ok(e2e_keyring_get(kr, 0, &after));
	assert_int_equal(after.id, info.id);
	assert_int_equal(after.suite, info.suite);
	assert_int_equal(after.state, info.state);
	assert_true(after.created == info.created);
	assert_memory_equal(e2e__keyring_lookup(kr, info.id)->key, held_key,
			    E2E_KEYBYTES);
	e2e_keyring_free(kr);
	e2e_update_free(u);
	e2e_member_free(m);
}

static char *test_name(const char *prefix, const char *name)
{
	size_t n = strlen(prefix) + strlen(name) + 2;
	char *s = malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s/%s", prefix, name);
	return s;
}

int main(void)
{
	struct CMUnitTest *tests;
	size_t n = 0, i;
	int failed;

	if (e2e_init() != E2E_OK)
		return 1;
	if (N_POSITIVE == 0 || N_NEGATIVE == 0) {
		fprintf(stderr, "keydist-v1 vectors: the generated header is "
				"empty\n");
		return 1;
	}
	tests = calloc(3 * N_POSITIVE + N_NEGATIVE, sizeof *tests);
	if (tests == NULL)
		return 1;
	for (i = 0; i < N_POSITIVE; i++) {
		void *v = (void *)&kd_positives[i];

		tests[n++] = (struct CMUnitTest){
			test_name("build_reproduces", kd_positives[i].name),
			build_reproduces, NULL, NULL, v};
		tests[n++] = (struct CMUnitTest){
			test_name("open_accepts", kd_positives[i].name),
			open_accepts, NULL, NULL, v};
		tests[n++] = (struct CMUnitTest){
			test_name("build_opens", kd_positives[i].name),
			build_opens, NULL, NULL, v};
	}
	for (i = 0; i < N_NEGATIVE; i++)
		tests[n++] = (struct CMUnitTest){
			test_name("open_rejects", kd_negatives[i].name),
			open_rejects, NULL, NULL, (void *)&kd_negatives[i]};
	for (i = 0; i < n; i++)
		if (tests[i].name == NULL)
			return 1;
	failed = _cmocka_run_group_tests("keydist-v1 vectors", tests, n, NULL,
					 NULL);
	for (i = 0; i < n; i++)
		free((void *)tests[i].name);
	free(tests);
	return failed;
}
