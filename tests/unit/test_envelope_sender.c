/*
 * Senders: ids, sequence numbers and epochs, salts, timestamps, and sealing
 * with a keyring's primary key (docs/ENVELOPE.md section 9).
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "internal.h"
#include "test_envelope_fixture.h"

#define BUF 256

static const uint8_t hello[] = "hello";
#define HELLO_LEN 5u

static e2e_sender *new_sender(uint64_t id, uint32_t epoch,
			      const e2e_signer *signer, int no_clock)
{
	e2e_sender_opts o;
	e2e_sender *s = NULL;

	memset(&o, 0, sizeof o);
	o.sender_id = id;
	o.epoch = epoch;
	o.signer = signer;
	o.no_clock = no_clock;
	assert_int_equal(e2e_sender_new(&s, &o), E2E_OK);
	assert_non_null(s);
	return s;
}

/* Seal hello with s and kr, open it with the fixture's receiver. */
static void seal_and_open(const struct fixture *f, e2e_sender *s,
			  const e2e_keyring *kr, uint32_t flags, e2e_info *info)
{
	uint8_t env[BUF], out[BUF];
	size_t env_len, out_len;

	assert_rc(e2e_seal(s, kr, TOPIC, hello, HELLO_LEN, flags, env,
			   sizeof env, &env_len),
		  E2E_OK, "seal");
	assert_rc(e2e_open(&f->r, TOPIC, env, env_len,
			   (flags & E2E_SEAL_RETAINED) ? E2E_DELIVERY_RETAINED
						       : 0,
			   out, sizeof out, &out_len, info),
		  E2E_OK, "open");
	assert_int_equal(out_len, HELLO_LEN);
	assert_memory_equal(out, hello, HELLO_LEN);
}

/* ------------------------------------------------------------------------ */
/* Identity                                                                 */
/* ------------------------------------------------------------------------ */

static void sender_uses_given_id(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(0xABCDEF0123456789u, 7, NULL, 0);
	e2e_info info;

	assert_int_equal(e2e_sender_id(s), 0xABCDEF0123456789u);
	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.sender_id, 0xABCDEF0123456789u);
	e2e_sender_free(s);
}

static void sender_draws_a_fresh_random_id(void **state)
{
	e2e_sender *a = new_sender(0, 7, NULL, 0);
	e2e_sender *b = new_sender(0, 7, NULL, 0);
	e2e_sender *c = NULL;

	(void)state;
	assert_int_not_equal(e2e_sender_id(a), 0);
	assert_int_not_equal(e2e_sender_id(a), e2e_sender_id(b));
	assert_int_equal(e2e_sender_new(&c, NULL), E2E_OK);
	assert_int_not_equal(e2e_sender_id(c), 0);
	assert_int_not_equal(e2e_sender_id(c), e2e_sender_id(a));
	e2e_sender_free(a);
	e2e_sender_free(b);
	e2e_sender_free(c);
}

static void signed_sender_uses_signer_id(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(0x1111, 7, f->a, 0);
	e2e_info info;

	assert_int_equal(e2e_sender_id(s), e2e_signer_id(f->a));
	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.is_signed, 1);
	assert_int_equal(info.sender_id, e2e_signer_id(f->a));
	e2e_sender_free(s);
}

/* ------------------------------------------------------------------------ */
/* Sequence numbers                                                         */
/* ------------------------------------------------------------------------ */

static void sender_starts_at_counter_zero_of_given_epoch(void **state)
{
	e2e_sender *s = new_sender(1, 0x1234, NULL, 0);

	(void)state;
	assert_int_equal(e2e_sender_next_seq(s), 0x0000123400000000u);
	e2e_sender_free(s);
}

/* The Unix time in units of 2^-32 s: the epoch is the second, the counter
 * starts at its fraction (docs/ENVELOPE.md section 9). */
static void
sender_default_start_is_the_clock_in_fractions_of_a_second(void **state)
{
	struct timespec t0, t1;
	uint64_t before, after;
	e2e_sender *s;

	(void)state;
	/* The library reads CLOCK_REALTIME at full resolution; time() reads a
	 * coarse copy that can lag a tick behind across a second boundary, so
	 * the seconds are checked against the clock the library reads. */
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &t0), 0);
	before = e2e__now_seq();
	s = new_sender(1, 0, NULL, 0);
	after = e2e__now_seq();
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &t1), 0);
	assert_in_range(e2e_sender_next_seq(s), before, after);
	assert_in_range(e2e_sender_next_seq(s) >> 32, (uint64_t)t0.tv_sec,
			(uint64_t)t1.tv_sec);
	e2e_sender_free(s);
}

/* Two starts of one signer within a second, without a state file. */
static void clock_senders_started_in_the_same_second_never_repeat(void **state)
{
	e2e_sender *a = new_sender(1, 0, NULL, 0), *b;
	uint64_t used;

	(void)state;
	e2e__sender_set_next_seq(a, e2e_sender_next_seq(a) + 100);
	used = e2e_sender_next_seq(a);
	e2e_sender_free(a);
	b = new_sender(1, 0, NULL, 0);
	assert_true(e2e_sender_next_seq(b) > used);
	e2e_sender_free(b);
}

static void advance_moves_forward_only(void **state)
{
	e2e_sender *s = new_sender(1, 9, NULL, 0);

	(void)state;
	e2e_sender_advance(s, ((uint64_t)9 << 32) + 5);
	assert_int_equal(e2e_sender_next_seq(s), ((uint64_t)9 << 32) + 5);
	e2e_sender_advance(s, (uint64_t)9 << 32);
	assert_int_equal(e2e_sender_next_seq(s), ((uint64_t)9 << 32) + 5);
	e2e_sender_free(s);
}

static void seal_uses_one_sequence_number_per_message(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	e2e_info info;
	uint64_t i;

	for (i = 0; i < 3; i++) {
		seal_and_open(f, s, f->kr, 0, &info);
		assert_int_equal(info.seq, ((uint64_t)9 << 32) + i);
	}
	assert_int_equal(e2e_sender_next_seq(s), ((uint64_t)9 << 32) + 3);
	e2e_sender_free(s);
}

static void failed_seal_does_not_use_a_sequence_number(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	uint8_t env[BUF];
	size_t env_len;

	assert_int_equal(e2e_seal(s, f->kr, "a/#", hello, HELLO_LEN, 0, env,
				  sizeof env, &env_len),
			 E2E_ERR_TOPIC);
	assert_int_equal(e2e_seal(s, f->kr, TOPIC, hello, HELLO_LEN, 0, env, 10,
				  &env_len),
			 E2E_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(e2e_sender_next_seq(s), (uint64_t)9 << 32);
	e2e_sender_free(s);
}

static void counter_wrap_moves_to_next_epoch(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	e2e_info info;

	e2e__sender_set_next_seq(s, ((uint64_t)9 << 32) | 0xFFFFFFFFu);
	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.seq, ((uint64_t)9 << 32) | 0xFFFFFFFFu);
	assert_int_equal(e2e_sender_next_seq(s), (uint64_t)10 << 32);
	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.seq, (uint64_t)10 << 32);
	e2e_sender_free(s);
}

static void sequence_exhausted_after_last_epoch(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	uint8_t env[BUF];
	size_t env_len = 99;
	e2e_info info;

	e2e__sender_set_next_seq(s, UINT64_MAX);
	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.seq, UINT64_MAX);
	memset(env, 0xAA, sizeof env);
	assert_int_equal(e2e_seal(s, f->kr, TOPIC, hello, HELLO_LEN, 0, env,
				  sizeof env, &env_len),
			 E2E_ERR_SEQ_EXHAUSTED);
	assert_int_equal(env_len, 0);
	assert_true(all_zero(env, sizeof env));
	e2e_sender_free(s);
}

static void largest_epoch_is_usable(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, UINT32_MAX, NULL, 0);
	e2e_info info;

	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.seq, (uint64_t)UINT32_MAX << 32);
	e2e_sender_free(s);
}

/* ------------------------------------------------------------------------ */
/* Salts and timestamps                                                     */
/* ------------------------------------------------------------------------ */

static int cmp_salt(const void *a, const void *b)
{
	return memcmp(a, b, E2E_SALT_BYTES);
}

static void every_aead_seal_draws_a_fresh_salt(void **state)
{
	const struct fixture *f = *state;
	enum { N = 100 }; /* more than one refill of the pool */
	uint8_t salts[N][E2E_SALT_BYTES], env[BUF];
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	size_t env_len, i;

	for (i = 0; i < N; i++) {
		assert_int_equal(e2e_seal(s, f->kr, TOPIC, hello, HELLO_LEN, 0,
					  env, sizeof env, &env_len),
				 E2E_OK);
		memcpy(salts[i], env + 26, E2E_SALT_BYTES);
		assert_false(all_zero(salts[i], E2E_SALT_BYTES));
	}
	qsort(salts, N, E2E_SALT_BYTES, cmp_salt);
	for (i = 1; i < N; i++)
		assert_memory_not_equal(salts[i - 1], salts[i], E2E_SALT_BYTES);
	e2e_sender_free(s);
}

static void timestamp_is_current_time(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	uint64_t before = (uint64_t)time(NULL);
	e2e_info info;

	seal_and_open(f, s, f->kr, 0, &info);
	assert_in_range(info.timestamp, before, (uint64_t)time(NULL));
	e2e_sender_free(s);
}

static void clockless_sender_seals_timestamp_zero(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 1);
	e2e_info info;

	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.timestamp, 0);
	e2e_sender_free(s);
}

/* ------------------------------------------------------------------------ */
/* Keys, signatures and flags                                               */
/* ------------------------------------------------------------------------ */

static void seal_uses_the_primary_key_and_its_suite(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	e2e_keyring *kr;
	e2e_key_info a = {KEY_AEAD_ID, E2E_SUITE_AEAD, E2E_KEY_ENABLED, 0};
	e2e_key_info m = {KEY_MAC_ID, E2E_SUITE_MAC, E2E_KEY_PRIMARY, 0};
	e2e_info info;

	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &a, key_aead), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &m, key_mac), E2E_OK);
	seal_and_open(f, s, kr, 0, &info);
	assert_int_equal(info.suite, E2E_SUITE_MAC);
	assert_int_equal(info.key_id, KEY_MAC_ID);
	/* After a promotion the next seal follows. */
	assert_int_equal(
		e2e_keyring_set_state(kr, KEY_AEAD_ID, E2E_KEY_PRIMARY),
		E2E_OK);
	seal_and_open(f, s, kr, 0, &info);
	assert_int_equal(info.suite, E2E_SUITE_AEAD);
	assert_int_equal(info.key_id, KEY_AEAD_ID);
	e2e_keyring_free(kr);
	e2e_sender_free(s);
}

static void seal_without_primary_reports_no_key(void **state)
{
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	e2e_keyring *kr;
	e2e_key_info a = {KEY_AEAD_ID, E2E_SUITE_AEAD, E2E_KEY_ENABLED, 0};
	uint8_t env[BUF];
	size_t env_len = 99;

	(void)state;
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &a, key_aead), E2E_OK);
	memset(env, 0xAA, sizeof env);
	assert_int_equal(e2e_seal(s, kr, TOPIC, hello, HELLO_LEN, 0, env,
				  sizeof env, &env_len),
			 E2E_ERR_NO_KEY);
	assert_int_equal(env_len, 0);
	assert_true(all_zero(env, sizeof env));
	e2e_keyring_free(kr);
	e2e_sender_free(s);
}

static void seal_without_keyring_needs_a_signer(void **state)
{
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	uint8_t env[BUF];
	size_t env_len = 99;

	(void)state;
	memset(env, 0xAA, sizeof env);
	assert_int_equal(e2e_seal(s, NULL, TOPIC, hello, HELLO_LEN, 0, env,
				  sizeof env, &env_len),
			 E2E_ERR_INVAL);
	assert_int_equal(env_len, 0);
	assert_true(all_zero(env, sizeof env));
	e2e_sender_free(s);
}

static void seal_without_keyring_is_signature_only(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(0, 9, f->a, 0);
	e2e_info info;

	seal_and_open(f, s, NULL, 0, &info);
	assert_int_equal(info.suite, E2E_SUITE_NONE);
	assert_int_equal(info.is_signed, 1);
	assert_int_equal(info.key_id, 0);
	e2e_sender_free(s);
}

static void seal_with_keyring_and_signer_is_signed_aead(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(0, 9, f->a, 0);
	e2e_info info;

	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.suite, E2E_SUITE_AEAD);
	assert_int_equal(info.is_signed, 1);
	e2e_sender_free(s);
}

static void seal_retained_sets_retained_intent(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	e2e_info info;

	seal_and_open(f, s, f->kr, E2E_SEAL_RETAINED, &info);
	assert_int_equal(info.retained, 1);
	seal_and_open(f, s, f->kr, 0, &info);
	assert_int_equal(info.retained, 0);
	e2e_sender_free(s);
}

static void seal_rejects_unknown_flags(void **state)
{
	const struct fixture *f = *state;
	e2e_sender *s = new_sender(1, 9, NULL, 0);
	uint8_t env[BUF];
	size_t env_len;

	assert_int_equal(e2e_seal(s, f->kr, TOPIC, hello, HELLO_LEN, 0x80, env,
				  sizeof env, &env_len),
			 E2E_ERR_INVAL);
	e2e_sender_free(s);
}

static void sender_free_accepts_null(void **state)
{
	(void)state;
	e2e_sender_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sender_uses_given_id),
		cmocka_unit_test(sender_draws_a_fresh_random_id),
		cmocka_unit_test(signed_sender_uses_signer_id),
		cmocka_unit_test(sender_starts_at_counter_zero_of_given_epoch),
		cmocka_unit_test(
			sender_default_start_is_the_clock_in_fractions_of_a_second),
		cmocka_unit_test(
			clock_senders_started_in_the_same_second_never_repeat),
		cmocka_unit_test(advance_moves_forward_only),
		cmocka_unit_test(seal_uses_one_sequence_number_per_message),
		cmocka_unit_test(failed_seal_does_not_use_a_sequence_number),
		cmocka_unit_test(counter_wrap_moves_to_next_epoch),
		cmocka_unit_test(sequence_exhausted_after_last_epoch),
		cmocka_unit_test(largest_epoch_is_usable),
		cmocka_unit_test(every_aead_seal_draws_a_fresh_salt),
		cmocka_unit_test(timestamp_is_current_time),
		cmocka_unit_test(clockless_sender_seals_timestamp_zero),
		cmocka_unit_test(seal_uses_the_primary_key_and_its_suite),
		cmocka_unit_test(seal_without_primary_reports_no_key),
		cmocka_unit_test(seal_without_keyring_needs_a_signer),
		cmocka_unit_test(seal_without_keyring_is_signature_only),
		cmocka_unit_test(seal_with_keyring_and_signer_is_signed_aead),
		cmocka_unit_test(seal_retained_sets_retained_intent),
		cmocka_unit_test(seal_rejects_unknown_flags),
		cmocka_unit_test(sender_free_accepts_null),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
