/*
 * The known-answer vectors of tests/vectors/envelope-v1.json, produced by an
 * independent implementation of docs/ENVELOPE.md (tests/vectors/gen_vectors.py)
 * and turned into C data at build time by tests/vectors/json2c.py.
 *
 * One cmocka test per vector and property:
 *   seal_reproduces/NAME  e2e_seal_explicit() gives the envelope byte for byte
 *   open_accepts/NAME     e2e_open() returns the payload and the header fields
 *   open_rejects/NAME     e2e_open() fails with exactly the listed error
 *   open_with_guard/NAME  the same with a fresh default replay guard, which
 *                         checks freshness: the listed result when the
 *                         vector says check_freshness, else its
 *                         freshness_error
 * The other receivers have no replay guard (the vectors are stateless).
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

struct vec_key {
	uint32_t id;
	e2e_suite suite;
	e2e_key_state state;
	const uint8_t *key;
};

struct vec_signer {
	const uint8_t *pk;
	const char *filters;
};

struct vec_receiver {
	const struct vec_key *keys;
	size_t nkeys;
	const struct vec_signer *signers;
	size_t nsigners;
	uint32_t require;  /* E2E_REQUIRE_* */
	uint32_t delivery; /* E2E_DELIVERY_* */
	const char *topic; /* as received */
	uint64_t now;
	int check_freshness;         /* same result with a replay guard */
	const char *freshness_error; /* else what a guard gives (e2e.h name) */
};

struct vec_positive {
	const char *name;
	e2e_suite suite;
	int is_signed;
	uint32_t key_id;
	const uint8_t *key;  /* NULL for suite none */
	const uint8_t *seed; /* NULL when not signed */
	const uint8_t *pk;   /* NULL when not signed */
	uint64_t sender_id;
	uint64_t seq;
	uint32_t timestamp;
	int retained;
	const char *topic;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *salt; /* NULL unless aead */
	const uint8_t *env;
	size_t env_len;
	struct vec_receiver rx;
};

struct vec_negative {
	const char *name;
	const uint8_t *env;
	size_t env_len;
	struct vec_receiver rx;
	int error;
	const char *error_name;
	const char *reason;
};

#include "envelope_v1_vectors.h"

/* Compare names, not numbers, so a failure says which error it was. */
#define assert_ok(expr) assert_string_equal(e2e_err_name(expr), "E2E_OK")

#define N_POSITIVE (sizeof vec_positives / sizeof vec_positives[0])
#define N_NEGATIVE (sizeof vec_negatives / sizeof vec_negatives[0])

/* Larger than any envelope in the file (checked by each test). */
static uint8_t buf[16384];

/* What one test works with; built by setup, released by teardown. */
struct fixture {
	const struct vec_positive *pos; /* exactly one of pos, neg is set */
	const struct vec_negative *neg;
	e2e_keyring *kr;
	e2e_trust *trust;
	e2e_signer *signer;
};

/* Build the receiver's keyring and trust set from the vector. */
static void build_receiver(struct fixture *f, const struct vec_receiver *rx)
{
	size_t i;

	assert_ok(e2e_keyring_new(&f->kr));
	assert_ok(e2e_trust_new(&f->trust));
	for (i = 0; i < rx->nkeys; i++) {
		const struct vec_key *k = &rx->keys[i];
		e2e_key_info info = {k->id, k->suite, k->state, 0};

		assert_ok(e2e_keyring_add(f->kr, &info, k->key));
	}
	for (i = 0; i < rx->nsigners; i++)
		assert_ok(e2e_trust_add(f->trust, rx->signers[i].pk,
					rx->signers[i].filters));
}

static int setup_positive(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	f->pos = *state;
	*state = f;
	return 0;
}

static int setup_negative(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);

	if (f == NULL)
		return -1;
	f->neg = *state;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (f != NULL) {
		e2e_keyring_free(f->kr);
		e2e_trust_free(f->trust);
		e2e_signer_free(f->signer);
		free(f);
	}
	return 0;
}

/* The envelope field that holds byte off, for messages on a mismatch. */
static const char *field_at(const struct vec_positive *v, size_t off)
{
	size_t header = v->suite == E2E_SUITE_AEAD ? 34 : 26;
	size_t sig = v->is_signed ? E2E_SIG_BYTES : 0;
	size_t tag = v->suite == E2E_SUITE_NONE ? 0 : E2E_TAG_BYTES;

	if (off == 0)
		return "magic/version";
	if (off == 1)
		return "flags";
	if (off < 6)
		return "key id";
	if (off < 10)
		return "timestamp";
	if (off < 18)
		return "sender id";
	if (off < 26)
		return "sequence";
	if (off < header)
		return "salt";
	if (off < v->env_len - sig - tag)
		return "body";
	if (off < v->env_len - sig)
		return "tag";
	return "signature";
}

static void seal_reproduces(void **state)
{
	struct fixture *f = *state;
	const struct vec_positive *v = f->pos;
	e2e_seal_params p;
	size_t len = 0, i;
	int err;

	if (v->is_signed) {
		uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];

		assert_ok(e2e_signer_from_seed(&f->signer, v->seed));
		e2e_signer_public(f->signer, pk);
		assert_memory_equal(pk, v->pk, sizeof pk);
		assert_true(e2e_signer_id(f->signer) == v->sender_id);
	}
	memset(&p, 0, sizeof p);
	p.suite = v->suite;
	p.key_id = v->key_id;
	p.key = v->key;
	p.signer = f->signer;
	p.sender_id = v->sender_id;
	p.seq = v->seq;
	p.timestamp = v->timestamp;
	p.flags = v->retained ? E2E_SEAL_RETAINED : 0;
	p.salt = v->salt;
	assert_true(v->env_len <= sizeof buf);
	assert_int_equal(e2e_sealed_len(v->suite, v->is_signed, v->payload_len),
			 v->env_len);

	err = e2e_seal_explicit(&p, v->topic, v->payload, v->payload_len, buf,
				sizeof buf, &len);
	assert_ok(err);
	assert_int_equal(len, v->env_len);
	for (i = 0; i < len && buf[i] == v->env[i]; i++)
		;
	if (i < len)
		fail_msg("%s: first difference at byte %zu (%s): got 0x%02x, "
			 "expected 0x%02x",
			 v->name, i, field_at(v, i), buf[i], v->env[i]);
}

static void open_accepts(void **state)
{
	struct fixture *f = *state;
	const struct vec_positive *v = f->pos;
	e2e_receiver r;
	e2e_info info;
	size_t len = 1;
	int err;

	build_receiver(f, &v->rx);
	r = (e2e_receiver){f->kr, f->trust, NULL, v->rx.require, v->rx.now};
	assert_true(v->env_len <= sizeof buf);
	memset(&info, 0, sizeof info);
	/* An output as large as the envelope is always enough. */
	err = e2e_open(&r, v->rx.topic, v->env, v->env_len, v->rx.delivery, buf,
		       v->env_len, &len, &info);
	assert_ok(err);
	assert_int_equal(len, v->payload_len);
	assert_memory_equal(buf, v->payload, len);
	assert_int_equal(info.suite, v->suite);
	assert_int_equal(info.is_signed, v->is_signed);
	assert_int_equal(info.retained, v->retained);
	assert_int_equal(info.key_id, v->key_id);
	assert_true(info.sender_id == v->sender_id);
	assert_true(info.seq == v->seq);
	assert_int_equal(info.timestamp, v->timestamp);
	assert_int_equal(info.payload_len, v->payload_len);
}

static void open_rejects(void **state)
{
	struct fixture *f = *state;
	const struct vec_negative *v = f->neg;
	e2e_receiver r;
	size_t len = 1;
	int err;

	build_receiver(f, &v->rx);
	r = (e2e_receiver){f->kr, f->trust, NULL, v->rx.require, v->rx.now};
	assert_true(v->env_len <= sizeof buf);
	err = e2e_open(&r, v->rx.topic, v->env, v->env_len, v->rx.delivery, buf,
		       sizeof buf, &len, NULL);
	assert_string_equal(e2e_err_name(err), v->error_name);
	assert_int_equal(err, v->error);
	assert_string_equal(e2e_reason(err), v->reason);
	assert_int_equal(len, 0);
}

/* Any vector, opened by a receiver with a new guard of default options. */
static void open_with_guard(void **state)
{
	struct fixture *f = *state;
	const struct vec_receiver *rx = f->pos ? &f->pos->rx : &f->neg->rx;
	const uint8_t *env = f->pos ? f->pos->env : f->neg->env;
	size_t env_len = f->pos ? f->pos->env_len : f->neg->env_len, len = 1;
	const char *want = f->pos ? "E2E_OK" : f->neg->error_name;
	e2e_guard *g = NULL;
	e2e_receiver r;
	int err;

	if (!rx->check_freshness) {
		assert_non_null(rx->freshness_error);
		want = rx->freshness_error;
	}
	build_receiver(f, rx);
	assert_ok(e2e_guard_new(&g, NULL));
	r = (e2e_receiver){f->kr, f->trust, g, rx->require, rx->now};
	assert_true(env_len <= sizeof buf);
	err = e2e_open(&r, rx->topic, env, env_len, rx->delivery, buf,
		       sizeof buf, &len, NULL);
	e2e_guard_free(g);
	assert_string_equal(e2e_err_name(err), want);
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
	/* An empty vector file would otherwise run zero tests and pass. */
	if (N_POSITIVE == 0 || N_NEGATIVE == 0) {
		fprintf(stderr,
			"envelope-v1 vectors: %zu positive, %zu negative: "
			"the generated header is empty\n",
			(size_t)N_POSITIVE, (size_t)N_NEGATIVE);
		return 1;
	}
	tests = calloc(3 * N_POSITIVE + 2 * N_NEGATIVE, sizeof *tests);
	if (tests == NULL)
		return 1;
	for (i = 0; i < N_POSITIVE; i++) {
		void *v = (void *)&vec_positives[i];

		tests[n++] = (struct CMUnitTest){
			test_name("seal_reproduces", vec_positives[i].name),
			seal_reproduces, setup_positive, teardown, v};
		tests[n++] = (struct CMUnitTest){
			test_name("open_accepts", vec_positives[i].name),
			open_accepts, setup_positive, teardown, v};
		tests[n++] = (struct CMUnitTest){
			test_name("open_with_guard", vec_positives[i].name),
			open_with_guard, setup_positive, teardown, v};
	}
	for (i = 0; i < N_NEGATIVE; i++) {
		void *v = (void *)&vec_negatives[i];

		tests[n++] = (struct CMUnitTest){
			test_name("open_rejects", vec_negatives[i].name),
			open_rejects, setup_negative, teardown, v};
		tests[n++] = (struct CMUnitTest){
			test_name("open_with_guard", vec_negatives[i].name),
			open_with_guard, setup_negative, teardown, v};
	}
	for (i = 0; i < n; i++)
		if (tests[i].name == NULL)
			return 1;

	failed = _cmocka_run_group_tests("envelope-v1 vectors", tests, n, NULL,
					 NULL);
	for (i = 0; i < n; i++)
		free((void *)tests[i].name);
	free(tests);
	return failed;
}
