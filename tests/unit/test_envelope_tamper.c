/*
 * Tampering: every single-bit flip, every truncation and an extension of a
 * sealed short message is rejected, in every mode, with the reason the
 * processing order (docs/ENVELOPE.md section 6) gives for that byte.
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

static const uint8_t hello[] = "hello";
#define HELLO_LEN 5u

/*
 * The reason a flip of bit `bit` of the flags byte gives, per mode, for the
 * 5-byte payload (envelope lengths: aead 55, aead+sig 119, mac 47, mac+sig
 * 111, none+sig 95). A suite change that leaves the envelope at least as
 * long as the new mode's overhead reaches the key lookup and fails there as
 * suite-mismatch; a shorter one is malformed.
 */
static const int flags_flip[MODE_COUNT][8] = {
	/* 0x00 -> 0x01 mac (42 <= 55), 0x02 none unsigned, 0x04 signed
	 * (114 > 55), 0x08 retained intent (under the tag), reserved */
	[MODE_AEAD] = {E2E_ERR_SUITE_MISMATCH, E2E_ERR_MALFORMED,
		       E2E_ERR_MALFORMED, E2E_ERR_BAD_TAG, E2E_ERR_RESERVED,
		       E2E_ERR_RESERVED, E2E_ERR_RESERVED, E2E_ERR_RESERVED},
	/* 0x04 -> 0x05 mac+sig (106 <= 119), 0x06 none with a key id,
	 * 0x00 unsigned (signed bit under the tag), retained, reserved */
	[MODE_AEAD_SIGNED] = {E2E_ERR_SUITE_MISMATCH, E2E_ERR_MALFORMED,
			      E2E_ERR_BAD_TAG, E2E_ERR_BAD_TAG,
			      E2E_ERR_RESERVED, E2E_ERR_RESERVED,
			      E2E_ERR_RESERVED, E2E_ERR_RESERVED},
	/* 0x01 -> 0x00 aead (50 > 47), 0x03 suite 3, 0x05 signed (106 > 47) */
	[MODE_MAC] = {E2E_ERR_MALFORMED, E2E_ERR_MALFORMED, E2E_ERR_MALFORMED,
		      E2E_ERR_BAD_TAG, E2E_ERR_RESERVED, E2E_ERR_RESERVED,
		      E2E_ERR_RESERVED, E2E_ERR_RESERVED},
	/* 0x05 -> 0x04 aead+sig (114 > 111), 0x07 suite 3, 0x01 unsigned */
	[MODE_MAC_SIGNED] = {E2E_ERR_MALFORMED, E2E_ERR_MALFORMED,
			     E2E_ERR_BAD_TAG, E2E_ERR_BAD_TAG, E2E_ERR_RESERVED,
			     E2E_ERR_RESERVED, E2E_ERR_RESERVED,
			     E2E_ERR_RESERVED},
	/* 0x06 -> 0x07 suite 3, 0x04 aead+sig (114 > 95), 0x02 unsigned
	 * none, retained intent (under the signature) */
	[MODE_NONE_SIGNED] = {E2E_ERR_MALFORMED, E2E_ERR_MALFORMED,
			      E2E_ERR_MALFORMED, E2E_ERR_BAD_SIGNATURE,
			      E2E_ERR_RESERVED, E2E_ERR_RESERVED,
			      E2E_ERR_RESERVED, E2E_ERR_RESERVED},
};

/* The reason a flip of bit `bit` of byte `i` of an n-byte envelope gives. */
static int expected_flip(enum mode m, size_t i, int bit, size_t n)
{
	int keyed = modes[m].suite != E2E_SUITE_NONE;
	int integrity = keyed ? E2E_ERR_BAD_TAG : E2E_ERR_BAD_SIGNATURE;

	if (i == 0) /* 0xFD ^ 0x01 = 0xFC is a later version */
		return bit == 0 ? E2E_ERR_VERSION : E2E_ERR_NOT_E2E;
	if (i == 1)
		return flags_flip[m][bit];
	if (i < 6) /* key id: no other key is one bit away */
		return keyed ? E2E_ERR_UNKNOWN_KEY : E2E_ERR_MALFORMED;
	if (i < 10) /* timestamp */
		return integrity;
	if (i < 18) /* sender id: when signed, the signer id */
		return modes[m].is_signed ? E2E_ERR_UNTRUSTED_SIGNER
					  : integrity;
	if (modes[m].is_signed && i >= n - E2E_SIG_BYTES)
		return E2E_ERR_BAD_SIGNATURE;
	return integrity; /* sequence, salt, body, tag */
}

static int open_tampered(const struct fixture *f, const uint8_t *env, size_t n)
{
	uint8_t out[BUF];
	size_t out_len = 99, i;
	int rc;

	memset(out, 0xAA, sizeof out);
	rc = e2e_open(&f->r, TOPIC, env, n, 0, out, sizeof out, &out_len, NULL);
	if (rc != E2E_OK) {
		assert_int_equal(out_len, 0);
		for (i = 0; i < sizeof out; i++)
			if (out[i] != 0 && out[i] != 0xAA)
				fail_msg("byte %zu of out holds %02x", i,
					 out[i]);
	}
	return rc;
}

static void every_bit_flip_rejected(const struct fixture *f, enum mode m)
{
	uint8_t env[BUF], bad[BUF];
	size_t n, i;
	int bit;

	assert_int_equal(
		seal_mode(f, m, TOPIC, hello, HELLO_LEN, env, sizeof env, &n),
		E2E_OK);
	assert_rc(open_tampered(f, env, n), E2E_OK, "%s intact", modes[m].name);
	for (i = 0; i < n; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(bad, env, n);
			bad[i] ^= (uint8_t)(1u << bit);
			assert_rc(open_tampered(f, bad, n),
				  expected_flip(m, i, bit, n),
				  "%s: byte %zu bit %d", modes[m].name, i, bit);
		}
	}
}

static void every_bit_flip_rejected_aead(void **state)
{
	every_bit_flip_rejected(*state, MODE_AEAD);
}

static void every_bit_flip_rejected_aead_signed(void **state)
{
	every_bit_flip_rejected(*state, MODE_AEAD_SIGNED);
}

static void every_bit_flip_rejected_mac(void **state)
{
	every_bit_flip_rejected(*state, MODE_MAC);
}

static void every_bit_flip_rejected_mac_signed(void **state)
{
	every_bit_flip_rejected(*state, MODE_MAC_SIGNED);
}

static void every_bit_flip_rejected_signature_only(void **state)
{
	every_bit_flip_rejected(*state, MODE_NONE_SIGNED);
}

/*
 * Every shorter prefix is rejected: below the mode's overhead as malformed,
 * otherwise (a shorter body) by the tag, or for signature-only by the
 * signature.
 */
static void every_truncation_rejected(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t n, len, over;
	int m, want;

	for (m = 0; m < MODE_COUNT; m++) {
		assert_int_equal(seal_mode(f, (enum mode)m, TOPIC, hello,
					   HELLO_LEN, env, sizeof env, &n),
				 E2E_OK);
		over = e2e_overhead(modes[m].suite, modes[m].is_signed);
		for (len = 0; len < n; len++) {
			if (len < over)
				want = E2E_ERR_MALFORMED;
			else if (modes[m].suite == E2E_SUITE_NONE)
				want = E2E_ERR_BAD_SIGNATURE;
			else
				want = E2E_ERR_BAD_TAG;
			assert_rc(open_tampered(f, env, len), want,
				  "%s truncated to %zu of %zu", modes[m].name,
				  len, n);
		}
	}
}

/* Cutting a signed envelope's last 64 bytes leaves the signed bit set: the
 * shorter envelope puts the tag in the wrong place. */
static void truncation_by_signature_length_rejected(void **state)
{
	const struct fixture *f = *state;
	uint8_t msg[100], env[BUF];
	size_t n;
	int m;

	memset(msg, 'm', sizeof msg);
	for (m = 0; m < MODE_COUNT; m++) {
		if (!modes[m].is_signed)
			continue;
		assert_int_equal(seal_mode(f, (enum mode)m, TOPIC, msg,
					   sizeof msg, env, sizeof env, &n),
				 E2E_OK);
		assert_rc(open_tampered(f, env, n - E2E_SIG_BYTES),
			  modes[m].suite == E2E_SUITE_NONE
				  ? E2E_ERR_BAD_SIGNATURE
				  : E2E_ERR_BAD_TAG,
			  "%s", modes[m].name);
	}
}

static void extension_by_one_byte_rejected(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t n;
	int m, v;

	for (m = 0; m < MODE_COUNT; m++) {
		for (v = 0; v < 256; v += 85) {
			assert_int_equal(seal_mode(f, (enum mode)m, TOPIC,
						   hello, HELLO_LEN, env,
						   sizeof env, &n),
					 E2E_OK);
			env[n] = (uint8_t)v;
			assert_rc(open_tampered(f, env, n + 1),
				  modes[m].suite == E2E_SUITE_NONE
					  ? E2E_ERR_BAD_SIGNATURE
					  : E2E_ERR_BAD_TAG,
				  "%s + byte %02x", modes[m].name, v);
		}
	}
}

static void header_swapped_between_envelopes_rejected(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t a[BUF], b[BUF];
	size_t na, nb;
	int m;

	/* Same key and topic, another sequence number: the header of one on
	 * the body of the other fails. */
	for (m = 0; m < MODE_COUNT; m++) {
		assert_int_equal(seal_mode(f, (enum mode)m, TOPIC, hello,
					   HELLO_LEN, a, sizeof a, &na),
				 E2E_OK);
		params_for(&p, f, (enum mode)m);
		p.seq++;
		assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN,
						   b, sizeof b, &nb),
				 E2E_OK);
		memcpy(b, a, E2E_HEADER_BYTES);
		assert_rc(open_tampered(f, b, nb),
			  modes[m].suite == E2E_SUITE_NONE
				  ? E2E_ERR_BAD_SIGNATURE
				  : E2E_ERR_BAD_TAG,
			  "%s", modes[m].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_bit_flip_rejected_aead),
		cmocka_unit_test(every_bit_flip_rejected_aead_signed),
		cmocka_unit_test(every_bit_flip_rejected_mac),
		cmocka_unit_test(every_bit_flip_rejected_mac_signed),
		cmocka_unit_test(every_bit_flip_rejected_signature_only),
		cmocka_unit_test(every_truncation_rejected),
		cmocka_unit_test(truncation_by_signature_length_rejected),
		cmocka_unit_test(extension_by_one_byte_rejected),
		cmocka_unit_test(header_swapped_between_envelopes_rejected),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
