/*
 * e2e_open with a replay guard: the guard's checks sit between policy and
 * the tag (docs/ENVELOPE.md section 6), and only a fully verified message
 * changes its state. The guard's own rules are tested in test_guard.c.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "e2e.h"
#include "test_envelope_fixture.h"

#define BUF 256
#define NOW (FIXED_TIMESTAMP + 1u)

static const uint8_t hello[] = "hello";
#define HELLO_LEN 5u

/* The fixture's receiver with a fresh default guard; "now" is one second
 * after the fixed timestamp. */
static e2e_receiver guarded(const struct fixture *f)
{
	e2e_receiver r = f->r;
	e2e_guard *g = NULL;

	assert_int_equal(e2e_guard_new(&g, NULL), E2E_OK);
	r.guard = g;
	r.now = NOW;
	return r;
}

static int open_env(const e2e_receiver *r, const uint8_t *env, size_t n,
		    uint32_t delivery)
{
	uint8_t out[BUF];
	size_t out_len = 99;
	int rc;

	memset(out, 0xAA, sizeof out);
	rc = e2e_open(r, TOPIC, env, n, delivery, out, sizeof out, &out_len,
		      NULL);
	if (rc != E2E_OK) {
		assert_int_equal(out_len, 0);
		assert_true(all_zero(out, HELLO_LEN));
	} else {
		assert_int_equal(out_len, HELLO_LEN);
		assert_memory_equal(out, hello, HELLO_LEN);
	}
	return rc;
}

static void seal_seq(const struct fixture *f, enum mode m, uint64_t seq,
		     uint32_t ts, uint32_t flags, uint8_t env[BUF], size_t *n)
{
	e2e_seal_params p;

	params_for(&p, f, m);
	p.seq = seq;
	p.timestamp = ts;
	p.flags = flags;
	assert_int_equal(
		e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env, BUF, n),
		E2E_OK);
}

static void open_refuses_second_delivery_as_replay(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t n;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		e2e_receiver r = guarded(f);
		seal_seq(f, (enum mode)m, FIXED_SEQ, FIXED_TIMESTAMP, 0, env,
			 &n);
		assert_rc(open_env(&r, env, n, 0), E2E_OK, "%s first",
			  modes[m].name);
		assert_rc(open_env(&r, env, n, 0), E2E_ERR_REPLAY, "%s again",
			  modes[m].name);
		e2e_guard_free(r.guard);
	}
}

static void open_accepts_reordering_inside_window(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = guarded(f);
	uint8_t a[BUF], b[BUF];
	size_t na, nb;

	seal_seq(f, MODE_AEAD, FIXED_SEQ + 1, FIXED_TIMESTAMP, 0, a, &na);
	seal_seq(f, MODE_AEAD, FIXED_SEQ, FIXED_TIMESTAMP, 0, b, &nb);
	assert_rc(open_env(&r, a, na, 0), E2E_OK, "newer first");
	assert_rc(open_env(&r, b, nb, 0), E2E_OK, "older second");
	assert_rc(open_env(&r, b, nb, 0), E2E_ERR_REPLAY, "older again");
	e2e_guard_free(r.guard);
}

static void rejected_message_leaves_guard_unchanged(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF], bad[BUF];
	size_t n;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		e2e_receiver r = guarded(f);
		seal_seq(f, (enum mode)m, FIXED_SEQ, FIXED_TIMESTAMP, 0, env,
			 &n);
		/* A forgery with the genuine header is refused... */
		memcpy(bad, env, n);
		bad[n - 1] ^= 1; /* tag or signature */
		assert_rc(open_env(&r, bad, n, 0),
			  modes[m].is_signed ? E2E_ERR_BAD_SIGNATURE
					     : E2E_ERR_BAD_TAG,
			  "%s", modes[m].name);
		assert_int_equal(e2e_guard_sender_count(r.guard), 0);
		/* ...and does not burn the sequence number it carried. */
		assert_rc(open_env(&r, env, n, 0), E2E_OK, "%s", modes[m].name);
		assert_int_equal(e2e_guard_sender_count(r.guard), 1);
		e2e_guard_free(r.guard);
	}
}

static void message_rejected_by_policy_leaves_guard_unchanged(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = guarded(f);
	uint8_t env[BUF];
	size_t n;

	seal_seq(f, MODE_MAC, FIXED_SEQ, FIXED_TIMESTAMP, 0, env, &n);
	r.require = E2E_REQUIRE_ENCRYPTION;
	assert_rc(open_env(&r, env, n, 0), E2E_ERR_UNENCRYPTED, "mac");
	assert_int_equal(e2e_guard_sender_count(r.guard), 0);
	r.require = 0;
	assert_rc(open_env(&r, env, n, 0), E2E_OK, "mac");
	e2e_guard_free(r.guard);
}

static void order_replay_reported_before_bad_tag(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = guarded(f);
	uint8_t env[BUF];
	size_t n;

	seal_seq(f, MODE_AEAD, FIXED_SEQ, FIXED_TIMESTAMP, 0, env, &n);
	assert_rc(open_env(&r, env, n, 0), E2E_OK, "first");
	env[40] ^= 1;
	assert_rc(open_env(&r, env, n, 0), E2E_ERR_REPLAY, "tampered copy");
	e2e_guard_free(r.guard);
}

static void order_too_old_reported_before_bad_tag(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = guarded(f);
	uint8_t env[BUF];
	size_t n;

	seal_seq(f, MODE_AEAD, FIXED_SEQ, NOW - E2E_GUARD_DEFAULT_MAX_AGE - 1,
		 0, env, &n);
	assert_rc(open_env(&r, env, n, 0), E2E_ERR_TOO_OLD, "old");
	env[40] ^= 1;
	assert_rc(open_env(&r, env, n, 0), E2E_ERR_TOO_OLD, "old, tampered");
	e2e_guard_free(r.guard);
}

static void order_future_reported_before_bad_signature(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = guarded(f);
	uint8_t env[BUF];
	size_t n;

	seal_seq(f, MODE_NONE_SIGNED, FIXED_SEQ,
		 NOW + E2E_GUARD_DEFAULT_MAX_SKEW + 1, 0, env, &n);
	env[n - 1] ^= 1;
	assert_rc(open_env(&r, env, n, 0), E2E_ERR_FUTURE, "none+sig");
	e2e_guard_free(r.guard);
}

static void order_untrusted_signer_reported_before_replay(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = guarded(f);
	uint8_t env[BUF];
	size_t n;

	seal_seq(f, MODE_MAC_SIGNED, FIXED_SEQ, FIXED_TIMESTAMP, 0, env, &n);
	assert_rc(open_env(&r, env, n, 0), E2E_OK, "first");
	r.trust = NULL;
	assert_rc(open_env(&r, env, n, 0), E2E_ERR_UNTRUSTED_SIGNER,
		  "again, signer no longer trusted");
	e2e_guard_free(r.guard);
}

static void retained_delivery_accepted_once(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = guarded(f);
	uint8_t env[BUF];
	size_t n;

	/* Older than the max age: retained messages are old by design. */
	seal_seq(f, MODE_AEAD, FIXED_SEQ, NOW - 3600, E2E_SEAL_RETAINED, env,
		 &n);
	assert_rc(open_env(&r, env, n, E2E_DELIVERY_RETAINED), E2E_OK,
		  "retained");
	assert_rc(open_env(&r, env, n, E2E_DELIVERY_RETAINED), E2E_ERR_REPLAY,
		  "retained again");
	e2e_guard_free(r.guard);
}

static void open_uses_system_clock_when_now_is_zero(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = guarded(f);
	uint8_t env[BUF];
	size_t n;

	/* The fixed timestamp lies years before the system clock. */
	r.now = 0;
	seal_seq(f, MODE_AEAD, FIXED_SEQ, FIXED_TIMESTAMP, 0, env, &n);
	assert_rc(open_env(&r, env, n, 0), E2E_ERR_TOO_OLD, "aead");
	e2e_guard_free(r.guard);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_refuses_second_delivery_as_replay),
		cmocka_unit_test(open_accepts_reordering_inside_window),
		cmocka_unit_test(rejected_message_leaves_guard_unchanged),
		cmocka_unit_test(
			message_rejected_by_policy_leaves_guard_unchanged),
		cmocka_unit_test(order_replay_reported_before_bad_tag),
		cmocka_unit_test(order_too_old_reported_before_bad_tag),
		cmocka_unit_test(order_future_reported_before_bad_signature),
		cmocka_unit_test(order_untrusted_signer_reported_before_replay),
		cmocka_unit_test(retained_delivery_accepted_once),
		cmocka_unit_test(open_uses_system_clock_when_now_is_zero),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
