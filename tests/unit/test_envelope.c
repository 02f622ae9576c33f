/*
 * Envelope v1: sizes, round trips, keys, policy, parsing and the receiver's
 * processing order (docs/ENVELOPE.md sections 3-6). Tampering of every bit
 * and every length is in test_envelope_tamper.c, senders in
 * test_envelope_sender.c.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "e2e.h"
#include "test_envelope_fixture.h"

#define BUF 256

static const uint8_t hello[] = "hello";
#define HELLO_LEN 5u

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void seal_hello(const struct fixture *f, enum mode m, const char *topic,
		       uint8_t env[BUF], size_t *env_len)
{
	assert_rc(seal_mode(f, m, topic, hello, HELLO_LEN, env, BUF, env_len),
		  E2E_OK, "seal %s", modes[m].name);
}

static int open_with(const e2e_receiver *r, const char *topic,
		     const uint8_t *env, size_t env_len, uint32_t delivery)
{
	uint8_t out[BUF];
	size_t out_len = 99;
	int rc;

	e2e_info info;
	size_t i;

	memset(out, 0xAA, sizeof out);
	rc = e2e_open(r, topic, env, env_len, delivery, out, sizeof out,
		      &out_len, NULL);
	if (rc != E2E_OK) {
		/* Whatever the failure, nothing is delivered: the payload's
		 * room in out is zeroed, the rest untouched. */
		assert_int_equal(out_len, 0);
		if (e2e_parse(env, env_len, &info) != E2E_OK)
			info.payload_len = 0;
		for (i = 0; i < sizeof out; i++)
			assert_int_equal(out[i],
					 i < info.payload_len ? 0x00 : 0xAA);
	}
	return rc;
}

/* A copy of the receiver of the fixture, to change one thing in it. */
static e2e_receiver receiver(const struct fixture *f)
{
	return f->r;
}

/* ------------------------------------------------------------------------ */
/* Sizes                                                                    */
/* ------------------------------------------------------------------------ */

static void overhead_equals_spec_table(void **state)
{
	(void)state;
	assert_int_equal(e2e_overhead(E2E_SUITE_AEAD, 0), 50);
	assert_int_equal(e2e_overhead(E2E_SUITE_MAC, 0), 42);
	assert_int_equal(e2e_overhead(E2E_SUITE_AEAD, 1), 114);
	assert_int_equal(e2e_overhead(E2E_SUITE_MAC, 1), 106);
	assert_int_equal(e2e_overhead(E2E_SUITE_NONE, 1), 90);
	assert_int_equal(E2E_OVERHEAD_AEAD, 50);
	assert_int_equal(E2E_OVERHEAD_MAC, 42);
	assert_int_equal(E2E_OVERHEAD_SIGNONLY, 90);
	assert_int_equal(E2E_OVERHEAD_MAX, 114);
}

static void overhead_is_zero_for_invalid_modes(void **state)
{
	(void)state;
	assert_int_equal(e2e_overhead(E2E_SUITE_NONE, 0), 0);
	assert_int_equal(e2e_overhead((e2e_suite)3, 0), 0);
	assert_int_equal(e2e_overhead((e2e_suite)-1, 1), 0);
}

static void size_functions_equal_macros(void **state)
{
	(void)state;
	assert_int_equal(e2e_keybytes(), E2E_KEYBYTES);
	assert_int_equal(e2e_header_bytes(), E2E_HEADER_BYTES);
	assert_int_equal(e2e_tag_bytes(), E2E_TAG_BYTES);
	assert_int_equal(e2e_sig_bytes(), E2E_SIG_BYTES);
	assert_int_equal(e2e_sign_publickeybytes(), E2E_SIGN_PUBLICKEYBYTES);
	assert_int_equal(e2e_sign_secretkeybytes(), E2E_SIGN_SECRETKEYBYTES);
	assert_int_equal(e2e_topic_max(), E2E_TOPIC_MAX);
	assert_int_equal(e2e_payload_max(), E2E_PAYLOAD_MAX);
	assert_int_equal(e2e_overhead_max(), E2E_OVERHEAD_MAX);
	assert_int_equal(e2e_info_sizeof(), sizeof(e2e_info));
	assert_int_equal(E2E_SEALED_MAX(7), 7 + 114);
}

static void sealed_len_adds_overhead_up_to_payload_max(void **state)
{
	int m;

	(void)state;
	for (m = 0; m < MODE_COUNT; m++) {
		size_t o = e2e_overhead(modes[m].suite, modes[m].is_signed);
		assert_int_equal(
			e2e_sealed_len(modes[m].suite, modes[m].is_signed, 2),
			2 + o);
		assert_int_equal(e2e_sealed_len(modes[m].suite,
						modes[m].is_signed,
						E2E_PAYLOAD_MAX),
				 E2E_PAYLOAD_MAX + o);
		assert_int_equal(e2e_sealed_len(modes[m].suite,
						modes[m].is_signed,
						E2E_PAYLOAD_MAX + 1u),
				 0);
	}
	assert_int_equal(e2e_sealed_len(E2E_SUITE_NONE, 0, 2), 0);
}

static void suite_names_parse_back(void **state)
{
	e2e_suite s;
	int i;

	(void)state;
	for (i = E2E_SUITE_AEAD; i <= E2E_SUITE_NONE; i++) {
		assert_int_equal(
			e2e_suite_parse(e2e_suite_name((e2e_suite)i), &s),
			E2E_OK);
		assert_int_equal(s, i);
	}
	assert_string_equal(e2e_suite_name(E2E_SUITE_AEAD), "aead");
	assert_string_equal(e2e_suite_name(E2E_SUITE_MAC), "mac");
	assert_string_equal(e2e_suite_name(E2E_SUITE_NONE), "none");
	assert_string_equal(e2e_suite_name((e2e_suite)7), "invalid");
}

static void suite_parse_rejects_unknown_names(void **state)
{
	e2e_suite s = E2E_SUITE_MAC;

	(void)state;
	assert_int_equal(e2e_suite_parse("AEAD", &s), E2E_ERR_INVAL);
	assert_int_equal(e2e_suite_parse("", &s), E2E_ERR_INVAL);
	assert_int_equal(e2e_suite_parse("invalid", &s), E2E_ERR_INVAL);
	assert_int_equal(e2e_suite_parse(NULL, &s), E2E_ERR_INVAL);
	assert_int_equal(s, E2E_SUITE_MAC);
}

static void init_can_be_called_again(void **state)
{
	(void)state;
	assert_int_equal(e2e_init(), E2E_OK);
	assert_int_equal(e2e_init(), E2E_OK);
}

/* ------------------------------------------------------------------------ */
/* Round trips                                                              */
/* ------------------------------------------------------------------------ */

static void round_trip(const struct fixture *f, const char *topic, size_t len)
{
	uint8_t *msg = malloc(len + 1), *env = malloc(E2E_SEALED_MAX(len));
	uint8_t *out = malloc(len + 1);
	size_t env_len, out_len;
	e2e_info info;
	int m;

	assert_non_null(msg);
	assert_non_null(env);
	assert_non_null(out);
	randombytes_buf(msg, len);
	for (m = 0; m < MODE_COUNT; m++) {
		e2e_seal_params p;

		params_for(&p, f, (enum mode)m);
		assert_rc(e2e_seal_explicit(&p, topic, msg, len, env,
					    E2E_SEALED_MAX(len), &env_len),
			  E2E_OK, "seal %s, %zu bytes", modes[m].name, len);
		assert_int_equal(env_len,
				 e2e_sealed_len(modes[m].suite,
						modes[m].is_signed, len));
		/* The output buffer is exactly the payload's length. */
		assert_rc(e2e_open(&f->r, topic, env, env_len, 0, out, len,
				   &out_len, &info),
			  E2E_OK, "open %s, %zu bytes", modes[m].name, len);
		assert_int_equal(out_len, len);
		if (len > 0)
			assert_memory_equal(out, msg, len);
		assert_int_equal(info.suite, modes[m].suite);
		assert_int_equal(info.is_signed, modes[m].is_signed);
		assert_int_equal(info.retained, 0);
		assert_int_equal(info.key_id, p.key_id);
		assert_int_equal(info.sender_id, p.sender_id);
		assert_int_equal(info.seq, FIXED_SEQ);
		assert_int_equal(info.timestamp, FIXED_TIMESTAMP);
		assert_int_equal(info.payload_len, len);
	}
	free(msg);
	free(env);
	free(out);
}

static void round_trip_every_mode_empty_payload(void **state)
{
	round_trip(*state, TOPIC, 0);
}

static void round_trip_every_mode_one_byte(void **state)
{
	round_trip(*state, TOPIC, 1);
}

static void round_trip_every_mode_16_kib(void **state)
{
	round_trip(*state, TOPIC, 16384);
}

static void round_trip_every_mode_utf8_topic(void **state)
{
	round_trip(*state,
		   "sensors/k\xc3\xbc"
		   "che/\xe2\x84\x83",
		   33);
}

static void round_trip_every_mode_longest_topic(void **state)
{
	char *topic = malloc(E2E_TOPIC_MAX + 1);

	assert_non_null(topic);
	memset(topic, 'x', E2E_TOPIC_MAX);
	memcpy(topic, "sensors/", 8);
	topic[E2E_TOPIC_MAX] = '\0';
	round_trip(*state, topic, 100);
	free(topic);
}

static void open_accepts_null_output_for_empty_payload(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len, out_len = 99;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		assert_int_equal(seal_mode(f, (enum mode)m, TOPIC, NULL, 0, env,
					   sizeof env, &env_len),
				 E2E_OK);
		assert_rc(e2e_open(&f->r, TOPIC, env, env_len, 0, NULL, 0,
				   &out_len, NULL),
			  E2E_OK, "%s", modes[m].name);
		assert_int_equal(out_len, 0);
	}
}

static void aead_body_hides_payload(void **state)
{
	uint8_t env[BUF];
	size_t env_len;

	seal_hello(*state, MODE_AEAD, TOPIC, env, &env_len);
	assert_int_equal(env_len, HELLO_LEN + 50);
	assert_memory_not_equal(env + 34, hello, HELLO_LEN);
	assert_memory_equal(env + 26, fixed_salt, E2E_SALT_BYTES);
}

static void mac_body_is_clear_payload(void **state)
{
	uint8_t env[BUF];
	size_t env_len;

	seal_hello(*state, MODE_MAC, TOPIC, env, &env_len);
	assert_int_equal(env_len, HELLO_LEN + 42);
	assert_memory_equal(env + 26, hello, HELLO_LEN);
}

static void header_fields_are_big_endian_at_spec_offsets(void **state)
{
	static const uint8_t want[26] = {
		0xFD, 0x01, 0x22, 0x22, 0x22, 0x22, 0x65, 0x53, 0xF1,
		0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07};
	uint8_t env[BUF];
	size_t env_len;

	seal_hello(*state, MODE_MAC, TOPIC, env, &env_len);
	assert_memory_equal(env, want, sizeof want);
}

/* ------------------------------------------------------------------------ */
/* The spec's formulas (docs/ENVELOPE.md section 5), recomputed here with   */
/* libsodium's one-shot functions over buffers assembled byte by byte.      */
/* ------------------------------------------------------------------------ */

/* A topic longer than 255 bytes, so that u16(len(T)) has two non-zero
 * bytes and a byte-order slip shows. */
static const char *long_topic(void)
{
	static char t[301];

	memset(t, 'x', 300);
	memcpy(t, "sensors/", 8);
	t[300] = '\0';
	return t;
}

/* header || u16(len(T)) || T */
static size_t spec_ad(uint8_t *ad, const uint8_t *env, size_t hlen,
		      const char *topic)
{
	size_t tlen = strlen(topic);

	memcpy(ad, env, hlen);
	ad[hlen] = (uint8_t)(tlen >> 8);
	ad[hlen + 1] = (uint8_t)(tlen & 0xFF);
	memcpy(ad + hlen + 2, topic, tlen);
	return hlen + 2 + tlen;
}

static void aead_matches_spec_nonce_and_associated_data(void **state)
{
	const struct fixture *f = *state;
	const char *topic = long_topic();
	uint8_t env[BUF + 300], ad[400], m[BUF];
	unsigned long long mlen;
	size_t env_len, adlen;

	assert_int_equal(seal_mode(f, MODE_AEAD, topic, hello, HELLO_LEN, env,
				   sizeof env, &env_len),
			 E2E_OK);
	adlen = spec_ad(ad, env, 34, topic);
	assert_int_equal(adlen, 336);
	assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
				 m, &mlen, NULL, env + 34, HELLO_LEN + 16, ad,
				 adlen, env + 10, key_aead),
			 0);
	assert_int_equal(mlen, HELLO_LEN);
	assert_memory_equal(m, hello, HELLO_LEN);
	/* The nonce is sender id || sequence || salt. */
	assert_memory_equal(env + 26, fixed_salt, E2E_SALT_BYTES);
}

static void mac_matches_spec_truncated_hmac(void **state)
{
	const struct fixture *f = *state;
	const char *topic = long_topic();
	uint8_t env[BUF + 300], ad[400 + HELLO_LEN];
	uint8_t full[crypto_auth_hmacsha256_BYTES];
	size_t env_len, adlen;

	assert_int_equal(seal_mode(f, MODE_MAC, topic, hello, HELLO_LEN, env,
				   sizeof env, &env_len),
			 E2E_OK);
	adlen = spec_ad(ad, env, 26, topic);
	memcpy(ad + adlen, hello, HELLO_LEN);
	crypto_auth_hmacsha256(full, ad, adlen + HELLO_LEN, key_mac);
	assert_memory_equal(env + 26 + HELLO_LEN, full, E2E_TAG_BYTES);
}

static void signature_matches_spec_context_and_digest(void **state)
{
	const struct fixture *f = *state;
	const char *topic = long_topic();
	uint8_t env[BUF + 300], data[BUF + 400], msg[13 + 64];
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	size_t env_len, unsigned_len, tlen = strlen(topic);
	int m;

	e2e_signer_public(f->a, pk);
	for (m = 0; m < MODE_COUNT; m++) {
		if (!modes[m].is_signed)
			continue;
		assert_int_equal(seal_mode(f, (enum mode)m, topic, hello,
					   HELLO_LEN, env, sizeof env,
					   &env_len),
				 E2E_OK);
		unsigned_len = env_len - 64;
		memcpy(data, env, unsigned_len);
		data[unsigned_len] = (uint8_t)(tlen >> 8);
		data[unsigned_len + 1] = (uint8_t)(tlen & 0xFF);
		memcpy(data + unsigned_len + 2, topic, tlen);
		memcpy(msg, "libe2e-v1-sig", 13);
		crypto_generichash(msg + 13, 64, data, unsigned_len + 2 + tlen,
				   NULL, 0);
		assert_int_equal(crypto_sign_verify_detached(env + unsigned_len,
							     msg, sizeof msg,
							     pk),
				 0);
		/* The sender id is the signer id. */
		assert_int_equal(((uint64_t)env[10] << 56) |
					 ((uint64_t)env[11] << 48) |
					 ((uint64_t)env[12] << 40) |
					 ((uint64_t)env[13] << 32) |
					 ((uint64_t)env[14] << 24) |
					 ((uint64_t)env[15] << 16) |
					 ((uint64_t)env[16] << 8) | env[17],
				 e2e_signer_id(f->a));
	}
}

/* ------------------------------------------------------------------------ */
/* Sealing errors                                                           */
/* ------------------------------------------------------------------------ */

static void seal_error(const struct fixture *f, const e2e_seal_params *p,
		       const char *topic, size_t msg_len, int want)
{
	uint8_t out[BUF];
	size_t out_len = 99;

	(void)f;
	memset(out, 0xAA, sizeof out);
	assert_rc(e2e_seal_explicit(p, topic, hello, msg_len, out, sizeof out,
				    &out_len),
		  want, "seal for topic of %zu bytes", strlen(topic));
	assert_int_equal(out_len, 0);
	assert_true(all_zero(out, sizeof out));
}

static void seal_rejects_invalid_topics(void **state)
{
	const struct fixture *f = *state;
	char *longest = malloc(E2E_TOPIC_MAX + 2);
	e2e_seal_params p;
	int m;

	assert_non_null(longest);
	memset(longest, 'a', E2E_TOPIC_MAX + 1);
	longest[E2E_TOPIC_MAX + 1] = '\0';
	for (m = 0; m < MODE_COUNT; m++) {
		params_for(&p, f, (enum mode)m);
		seal_error(f, &p, "", HELLO_LEN, E2E_ERR_TOPIC);
		seal_error(f, &p, longest, HELLO_LEN, E2E_ERR_TOPIC);
		seal_error(f, &p, "sensors/+/t", HELLO_LEN, E2E_ERR_TOPIC);
		seal_error(f, &p, "sensors/#", HELLO_LEN, E2E_ERR_TOPIC);
		seal_error(f, &p, "a+b", HELLO_LEN, E2E_ERR_TOPIC);
	}
	/* A wildcard in the last byte of a topic of the greatest length. */
	longest[E2E_TOPIC_MAX - 1] = '#';
	longest[E2E_TOPIC_MAX] = '\0';
	for (m = 0; m < MODE_COUNT; m++) {
		params_for(&p, f, (enum mode)m);
		seal_error(f, &p, longest, HELLO_LEN, E2E_ERR_TOPIC);
	}
	free(longest);
}

static void seal_rejects_payload_over_max(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	int m;

	/* The length is refused before a byte of the message is read. */
	for (m = 0; m < MODE_COUNT; m++) {
		params_for(&p, f, (enum mode)m);
		seal_error(f, &p, TOPIC, (size_t)E2E_PAYLOAD_MAX + 1,
			   E2E_ERR_TOO_LARGE);
	}
}

static void seal_rejects_inconsistent_params(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;

	params_for(&p, f, MODE_AEAD);
	p.salt = NULL;
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
	params_for(&p, f, MODE_MAC);
	p.key = NULL;
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
	params_for(&p, f, MODE_MAC);
	p.key_id = 0;
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
	params_for(&p, f, MODE_NONE_SIGNED);
	p.signer = NULL;
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
	params_for(&p, f, MODE_NONE_SIGNED);
	p.key = key_aead;
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
	params_for(&p, f, MODE_NONE_SIGNED);
	p.key_id = KEY_AEAD_ID;
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
	params_for(&p, f, MODE_AEAD_SIGNED);
	p.sender_id ^= 1; /* not the signer's id */
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
	params_for(&p, f, MODE_MAC);
	p.flags = 0x2;
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
	params_for(&p, f, MODE_MAC);
	p.suite = (e2e_suite)3;
	seal_error(f, &p, TOPIC, HELLO_LEN, E2E_ERR_INVAL);
}

static void seal_reports_buffer_too_small_and_zeroes_it(void **state)
{
	const struct fixture *f = *state;
	uint8_t out[BUF];
	size_t out_len, need;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		need = HELLO_LEN +
		       e2e_overhead(modes[m].suite, modes[m].is_signed);
		memset(out, 0xAA, sizeof out);
		out_len = 99;
		assert_rc(seal_mode(f, (enum mode)m, TOPIC, hello, HELLO_LEN,
				    out, need - 1, &out_len),
			  E2E_ERR_BUFFER_TOO_SMALL, "%s", modes[m].name);
		assert_int_equal(out_len, 0);
		assert_true(all_zero(out, need - 1));
		assert_int_equal(out[need - 1], 0xAA); /* beyond out_cap */
		assert_rc(seal_mode(f, (enum mode)m, TOPIC, hello, HELLO_LEN,
				    out, need, &out_len),
			  E2E_OK, "%s", modes[m].name);
		assert_int_equal(out_len, need);
	}
}

/* ------------------------------------------------------------------------ */
/* Opening: buffers                                                         */
/* ------------------------------------------------------------------------ */

static void open_reports_buffer_too_small_and_zeroes_it(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF], out[BUF];
	size_t env_len, out_len;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		memset(out, 0xAA, sizeof out);
		out_len = 99;
		assert_rc(e2e_open(&f->r, TOPIC, env, env_len, 0, out,
				   HELLO_LEN - 1, &out_len, NULL),
			  E2E_ERR_BUFFER_TOO_SMALL, "%s", modes[m].name);
		assert_int_equal(out_len, 0);
		assert_true(all_zero(out, HELLO_LEN - 1));
		assert_int_equal(out[HELLO_LEN - 1], 0xAA);
	}
}

static void open_rejects_invalid_topics(void **state)
{
	const struct fixture *f = *state;
	char *longest = malloc(E2E_TOPIC_MAX + 2);
	uint8_t env[BUF];
	size_t env_len;
	int m;

	assert_non_null(longest);
	memset(longest, 'a', E2E_TOPIC_MAX + 1);
	longest[E2E_TOPIC_MAX + 1] = '\0';
	for (m = 0; m < MODE_COUNT; m++) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		assert_rc(open_with(&f->r, "", env, env_len, 0), E2E_ERR_TOPIC,
			  "%s", modes[m].name);
		assert_rc(open_with(&f->r, longest, env, env_len, 0),
			  E2E_ERR_TOPIC, "%s", modes[m].name);
	}
	free(longest);
}

/* ------------------------------------------------------------------------ */
/* Opening: topic, keys and signatures                                      */
/* ------------------------------------------------------------------------ */

static void open_rejects_moved_topic(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		/* Another topic signer A may use, so only the binding fails. */
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		assert_rc(
			open_with(&f->r, TOPIC_OTHER_ALLOWED, env, env_len, 0),
			m == MODE_NONE_SIGNED ? E2E_ERR_BAD_SIGNATURE
					      : E2E_ERR_BAD_TAG,
			"%s", modes[m].name);
	}
}

static void open_rejects_topic_with_shared_prefix(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;

	/* The length prefix keeps "sensors/t1" from matching longer names. */
	seal_hello(f, MODE_MAC, TOPIC, env, &env_len);
	assert_rc(open_with(&f->r, TOPIC "0", env, env_len, 0), E2E_ERR_BAD_TAG,
		  "mac");
}

static void open_rejects_topic_nobody_subscribed_to(void **state)
{
	const struct fixture *f = *state;
	static const char *const subs[] = {"other/#", "$share/g/sensors/+/x"};
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;
	int m;

	/* A genuine envelope for TOPIC, delivered to a receiver that never
	 * subscribed to it: refused before any key or tag is looked at, so
	 * even a payload that is not an envelope gets the same answer. */
	r.filters = subs;
	r.filter_count = 2;
	for (m = 0; m < MODE_COUNT; m++) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		assert_rc(open_with(&r, TOPIC, env, env_len, 0),
			  E2E_ERR_NOT_SUBSCRIBED, "%s", modes[m].name);
	}
	assert_rc(open_with(&r, TOPIC, (const uint8_t *)"{}", 2, 0),
		  E2E_ERR_NOT_SUBSCRIBED, "json");
}

static void open_accepts_topic_of_any_subscribed_filter(void **state)
{
	const struct fixture *f = *state;
	static const char *const plain[] = {"other/#", "sensors/#"};
	static const char *const shared[] = {"other/#", "$share/g/sensors/+"};
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;

	seal_hello(f, MODE_AEAD, TOPIC, env, &env_len);
	r.filters = plain;
	r.filter_count = 2;
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_OK, "plain");
	r.filters = shared;
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_OK, "shared");
	/* No filters at all: the caller checks (the v1 behaviour). */
	r.filters = NULL;
	r.filter_count = 0;
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_OK, "none");
	/* A count without filters refuses rather than reads nothing. */
	r.filter_count = 1;
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_ERR_NOT_SUBSCRIBED,
		  "NULL filters");
}

static void open_rejects_wrong_key(void **state)
{
	const struct fixture *f = *state;
	static const uint8_t other[E2E_KEYBYTES] = {42};
	e2e_keyring *kr;
	e2e_key_info a = {KEY_AEAD_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 0};
	e2e_key_info m = {KEY_MAC_ID, E2E_SUITE_MAC, E2E_KEY_ENABLED, 0};
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;

	/* Same ids, other key bytes. */
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &a, other), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &m, other), E2E_OK);
	r.keyring = kr;
	seal_hello(f, MODE_AEAD, TOPIC, env, &env_len);
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_ERR_BAD_TAG,
		  "aead");
	seal_hello(f, MODE_MAC, TOPIC, env, &env_len);
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_ERR_BAD_TAG,
		  "mac");
	e2e_keyring_free(kr);
}

static void open_rejects_unknown_key_id(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;

	params_for(&p, f, MODE_AEAD);
	p.key_id = KEY_ABSENT_ID;
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env,
					   sizeof env, &env_len),
			 E2E_OK);
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0), E2E_ERR_UNKNOWN_KEY,
		  "aead");
}

static void open_without_keyring_rejects_keyed_envelopes(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;

	r.keyring = NULL;
	seal_hello(f, MODE_AEAD_SIGNED, TOPIC, env, &env_len);
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_ERR_UNKNOWN_KEY,
		  "aead+sig");
	seal_hello(f, MODE_MAC, TOPIC, env, &env_len);
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_ERR_UNKNOWN_KEY,
		  "mac");
	seal_hello(f, MODE_NONE_SIGNED, TOPIC, env, &env_len);
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_OK, "none+sig");
}

static void open_rejects_disabled_key(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;

	params_for(&p, f, MODE_AEAD);
	p.key_id = KEY_DISABLED_ID;
	p.key = key_disabled;
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env,
					   sizeof env, &env_len),
			 E2E_OK);
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
		  E2E_ERR_DISABLED_KEY, "aead");
}

static void open_rejects_suite_mismatch(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;

	/* An aead envelope under the mac key's id (and bytes)... */
	params_for(&p, f, MODE_AEAD);
	p.key_id = KEY_MAC_ID;
	p.key = key_mac;
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env,
					   sizeof env, &env_len),
			 E2E_OK);
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
		  E2E_ERR_SUITE_MISMATCH, "aead under mac key");
	/* ...and a mac envelope under the aead key's. */
	params_for(&p, f, MODE_MAC);
	p.key_id = KEY_AEAD_ID;
	p.key = key_aead;
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env,
					   sizeof env, &env_len),
			 E2E_OK);
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
		  E2E_ERR_SUITE_MISMATCH, "mac under aead key");
}

/* Clear the signed bit and drop the 64 signature bytes. */
static size_t strip_signature(uint8_t *env, size_t env_len)
{
	env[1] &= (uint8_t)~0x04u;
	return env_len - E2E_SIG_BYTES;
}

static void open_rejects_stripped_signature_as_bad_tag(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;

	/* The signed bit is under the tag. */
	seal_hello(f, MODE_AEAD_SIGNED, TOPIC, env, &env_len);
	env_len = strip_signature(env, env_len);
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0), E2E_ERR_BAD_TAG,
		  "aead+sig");
	seal_hello(f, MODE_MAC_SIGNED, TOPIC, env, &env_len);
	env_len = strip_signature(env, env_len);
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0), E2E_ERR_BAD_TAG,
		  "mac+sig");
}

static void
open_rejects_stripped_signature_as_unsigned_when_required(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;
	int m;

	r.require = E2E_REQUIRE_SIGNATURE;
	for (m = MODE_AEAD_SIGNED; m <= MODE_MAC_SIGNED; m += 2) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		env_len = strip_signature(env, env_len);
		assert_rc(open_with(&r, TOPIC, env, env_len, 0),
			  E2E_ERR_UNSIGNED, "%s", modes[m].name);
	}
}

static void open_rejects_stripped_signature_only_as_malformed(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;

	seal_hello(f, MODE_NONE_SIGNED, TOPIC, env, &env_len);
	env_len = strip_signature(env, env_len);
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0), E2E_ERR_MALFORMED,
		  "none");
}

static void
open_rejects_signature_transplanted_from_another_signer(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF], other[BUF];
	size_t env_len, other_len;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		if (!modes[m].is_signed)
			continue;
		/* The same message signed by B (trusted everywhere)... */
		params_for(&p, f, (enum mode)m);
		p.signer = f->b;
		p.sender_id = e2e_signer_id(f->b);
		assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN,
						   other, sizeof other,
						   &other_len),
				 E2E_OK);
		assert_rc(open_with(&f->r, TOPIC, other, other_len, 0), E2E_OK,
			  "%s by B", modes[m].name);
		/* ...has its signature put on A's envelope. */
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		memcpy(env + env_len - E2E_SIG_BYTES,
		       other + other_len - E2E_SIG_BYTES, E2E_SIG_BYTES);
		assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
			  E2E_ERR_BAD_SIGNATURE, "%s", modes[m].name);
	}
}

static void open_rejects_unsigned_envelope_under_trusted_signer_id(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;
	enum mode unsigned_modes[] = {MODE_AEAD, MODE_MAC};
	size_t i;

	/* A shared-key holder seals without a signature but under signer A's
	 * id, with the last sequence number: accepted, it would close A's
	 * replay window for good. */
	for (i = 0; i < 2; i++) {
		params_for(&p, f, unsigned_modes[i]);
		p.sender_id = e2e_signer_id(f->a);
		p.seq = UINT64_MAX;
		assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN,
						   env, sizeof env, &env_len),
				 E2E_OK);
		assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
			  E2E_ERR_UNSIGNED, "%s",
			  modes[unsigned_modes[i]].name);
	}
}

static void open_rejects_untrusted_signer(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		if (!modes[m].is_signed)
			continue;
		params_for(&p, f, (enum mode)m);
		p.signer = f->c;
		p.sender_id = e2e_signer_id(f->c);
		assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN,
						   env, sizeof env, &env_len),
				 E2E_OK);
		assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
			  E2E_ERR_UNTRUSTED_SIGNER, "%s", modes[m].name);
	}
}

static void open_without_trust_set_rejects_signed_envelopes(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;
	int m;

	r.trust = NULL;
	for (m = 0; m < MODE_COUNT; m++) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		assert_rc(open_with(&r, TOPIC, env, env_len, 0),
			  modes[m].is_signed ? E2E_ERR_UNTRUSTED_SIGNER
					     : E2E_OK,
			  "%s", modes[m].name);
	}
}

static void open_rejects_signer_not_allowed_on_topic(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		if (!modes[m].is_signed)
			continue;
		seal_hello(f, (enum mode)m, TOPIC_NOT_ALLOWED_FOR_A, env,
			   &env_len);
		assert_rc(open_with(&f->r, TOPIC_NOT_ALLOWED_FOR_A, env,
				    env_len, 0),
			  E2E_ERR_UNTRUSTED_SIGNER, "%s", modes[m].name);
	}
}

/* ------------------------------------------------------------------------ */
/* Opening: receiver policy                                                 */
/* ------------------------------------------------------------------------ */

static void require_encryption_accepts_only_aead(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;
	int m;

	r.require = E2E_REQUIRE_ENCRYPTION;
	for (m = 0; m < MODE_COUNT; m++) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		assert_rc(open_with(&r, TOPIC, env, env_len, 0),
			  modes[m].suite == E2E_SUITE_AEAD
				  ? E2E_OK
				  : E2E_ERR_UNENCRYPTED,
			  "%s", modes[m].name);
	}
}

static void require_signature_accepts_only_signed(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;
	int m;

	r.require = E2E_REQUIRE_SIGNATURE;
	for (m = 0; m < MODE_COUNT; m++) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		assert_rc(open_with(&r, TOPIC, env, env_len, 0),
			  modes[m].is_signed ? E2E_OK : E2E_ERR_UNSIGNED, "%s",
			  modes[m].name);
	}
}

static void retained_flag_sets_header_bit(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;
	e2e_info info;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		params_for(&p, f, (enum mode)m);
		p.flags = E2E_SEAL_RETAINED;
		assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN,
						   env, sizeof env, &env_len),
				 E2E_OK);
		assert_int_equal(env[1] & 0x08, 0x08);
		assert_int_equal(e2e_parse(env, env_len, &info), E2E_OK);
		assert_int_equal(info.retained, 1);
	}
}

static void open_accepts_retained_delivery_with_retained_intent(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF], out[BUF];
	size_t env_len, out_len;
	e2e_info info;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		params_for(&p, f, (enum mode)m);
		p.flags = E2E_SEAL_RETAINED;
		assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN,
						   env, sizeof env, &env_len),
				 E2E_OK);
		assert_rc(e2e_open(&f->r, TOPIC, env, env_len,
				   E2E_DELIVERY_RETAINED, out, sizeof out,
				   &out_len, &info),
			  E2E_OK, "%s", modes[m].name);
		assert_int_equal(info.retained, 1);
		/* A live delivery of a retained-intent message is fine too. */
		assert_rc(open_with(&f->r, TOPIC, env, env_len, 0), E2E_OK,
			  "%s", modes[m].name);
	}
}

static void open_rejects_retained_delivery_without_retained_intent(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		assert_rc(open_with(&f->r, TOPIC, env, env_len,
				    E2E_DELIVERY_RETAINED),
			  E2E_ERR_NOT_RETAINED, "%s", modes[m].name);
	}
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

static void parse_reports_header_fields(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;
	e2e_info info;

	seal_hello(f, MODE_AEAD, TOPIC, env, &env_len);
	assert_int_equal(e2e_parse(env, env_len, &info), E2E_OK);
	assert_int_equal(info.suite, E2E_SUITE_AEAD);
	assert_int_equal(info.is_signed, 0);
	assert_int_equal(info.retained, 0);
	assert_int_equal(info.key_id, KEY_AEAD_ID);
	assert_int_equal(info.sender_id, FIXED_SENDER);
	assert_int_equal(info.seq, FIXED_SEQ);
	assert_int_equal(info.timestamp, FIXED_TIMESTAMP);
	assert_int_equal(info.payload_len, HELLO_LEN);
}

static void parse_rejects_empty_input_as_malformed(void **state)
{
	e2e_info info;
	uint8_t b = 0xFD;

	(void)state;
	assert_int_equal(e2e_parse(NULL, 0, &info), E2E_ERR_MALFORMED);
	assert_int_equal(e2e_parse(&b, 0, &info), E2E_ERR_MALFORMED);
}

static void parse_rejects_later_versions(void **state)
{
	uint8_t env[BUF];
	size_t env_len;
	e2e_info info;

	seal_hello(*state, MODE_AEAD, TOPIC, env, &env_len);
	env[0] = 0xFC;
	assert_int_equal(e2e_parse(env, env_len, &info), E2E_ERR_VERSION);
	env[0] = 0xFE;
	assert_int_equal(e2e_parse(env, env_len, &info), E2E_ERR_VERSION);
	assert_int_equal(e2e_parse(env, 1, &info), E2E_ERR_VERSION);
}

static void parse_rejects_text_and_other_formats_as_not_e2e(void **state)
{
	static const char *const samples[] = {"{\"t\":21.5}",
					      "21.5",
					      "hello",
					      "\xef\xbb\xbf{}",
					      "\xa1\x61\x74\x01" /* CBOR map */,
					      "\xff",
					      "\x00"};
	e2e_info info;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		size_t n = strlen(samples[i]);
		assert_int_equal(e2e_parse((const uint8_t *)samples[i],
					   n ? n : 1, &info),
				 E2E_ERR_NOT_E2E);
	}
}

static void parse_rejects_reserved_flag_bits(void **state)
{
	uint8_t env[BUF];
	size_t env_len;
	e2e_info info;
	int bit, m;

	for (m = 0; m < MODE_COUNT; m++) {
		for (bit = 4; bit < 8; bit++) {
			seal_hello(*state, (enum mode)m, TOPIC, env, &env_len);
			env[1] |= (uint8_t)(1u << bit);
			assert_int_equal(e2e_parse(env, env_len, &info),
					 E2E_ERR_RESERVED);
			assert_rc(open_with(&((struct fixture *)*state)->r,
					    TOPIC, env, env_len, 0),
				  E2E_ERR_RESERVED, "%s bit %d", modes[m].name,
				  bit);
		}
	}
}

static void parse_rejects_suite_3(void **state)
{
	uint8_t env[BUF];
	size_t env_len;
	e2e_info info;

	seal_hello(*state, MODE_AEAD_SIGNED, TOPIC, env, &env_len);
	env[1] |= 0x03;
	assert_int_equal(e2e_parse(env, env_len, &info), E2E_ERR_MALFORMED);
}

static void parse_rejects_unsigned_signature_only(void **state)
{
	uint8_t env[BUF];
	size_t env_len;
	e2e_info info;

	seal_hello(*state, MODE_NONE_SIGNED, TOPIC, env, &env_len);
	env[1] &= (uint8_t)~0x04u;
	assert_int_equal(e2e_parse(env, env_len, &info), E2E_ERR_MALFORMED);
}

static void parse_rejects_signature_only_with_key_id(void **state)
{
	uint8_t env[BUF];
	size_t env_len;
	e2e_info info;

	seal_hello(*state, MODE_NONE_SIGNED, TOPIC, env, &env_len);
	env[5] = 1;
	assert_int_equal(e2e_parse(env, env_len, &info), E2E_ERR_MALFORMED);
}

static void parse_rejects_length_below_overhead(void **state)
{
	uint8_t env[BUF];
	size_t env_len;
	e2e_info info;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		size_t o = e2e_overhead(modes[m].suite, modes[m].is_signed);
		assert_int_equal(seal_mode(*state, (enum mode)m, TOPIC, NULL, 0,
					   env, sizeof env, &env_len),
				 E2E_OK);
		assert_int_equal(env_len, o);
		assert_int_equal(e2e_parse(env, o, &info), E2E_OK);
		assert_int_equal(info.payload_len, 0);
		assert_int_equal(e2e_parse(env, o - 1, &info),
				 E2E_ERR_MALFORMED);
	}
}

/* ------------------------------------------------------------------------ */
/* Processing order (docs/ENVELOPE.md section 6)                            */
/* ------------------------------------------------------------------------ */

static void order_reserved_bits_reported_before_unknown_key(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;

	seal_hello(f, MODE_AEAD, TOPIC, env, &env_len);
	env[1] |= 0x80;
	env[2] ^= 0xFF; /* key id no longer in the keyring */
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0), E2E_ERR_RESERVED,
		  "aead");
}

static void order_unknown_key_reported_before_policy(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = receiver(f);
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;

	params_for(&p, f, MODE_MAC);
	p.key_id = KEY_ABSENT_ID;
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env,
					   sizeof env, &env_len),
			 E2E_OK);
	r.require = E2E_REQUIRE_ENCRYPTION | E2E_REQUIRE_SIGNATURE;
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_ERR_UNKNOWN_KEY,
		  "mac");
}

static void order_disabled_key_with_bad_tag_reports_disabled_key(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;

	params_for(&p, f, MODE_AEAD);
	p.key_id = KEY_DISABLED_ID;
	p.key = key_aead; /* not the disabled key's bytes: the tag is bad */
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env,
					   sizeof env, &env_len),
			 E2E_OK);
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
		  E2E_ERR_DISABLED_KEY, "aead");
}

static void order_suite_mismatch_reported_before_policy(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = receiver(f);
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;

	params_for(&p, f, MODE_MAC);
	p.key_id = KEY_AEAD_ID;
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env,
					   sizeof env, &env_len),
			 E2E_OK);
	r.require = E2E_REQUIRE_ENCRYPTION;
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_ERR_SUITE_MISMATCH,
		  "mac");
}

static void order_unencrypted_with_bad_tag_reports_unencrypted(void **state)
{
	const struct fixture *f = *state;
	e2e_receiver r = receiver(f);
	uint8_t env[BUF];
	size_t env_len;

	seal_hello(f, MODE_MAC, TOPIC, env, &env_len);
	env[26] ^= 1;
	r.require = E2E_REQUIRE_ENCRYPTION;
	assert_rc(open_with(&r, TOPIC, env, env_len, 0), E2E_ERR_UNENCRYPTED,
		  "mac");
}

static void
order_untrusted_signer_with_bad_tag_reports_untrusted_signer(void **state)
{
	const struct fixture *f = *state;
	e2e_seal_params p;
	uint8_t env[BUF];
	size_t env_len;

	params_for(&p, f, MODE_AEAD_SIGNED);
	p.signer = f->c;
	p.sender_id = e2e_signer_id(f->c);
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, hello, HELLO_LEN, env,
					   sizeof env, &env_len),
			 E2E_OK);
	env[34] ^= 1; /* ciphertext: the tag no longer verifies */
	assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
		  E2E_ERR_UNTRUSTED_SIGNER, "aead+sig");
}

static void order_not_retained_with_bad_tag_reports_not_retained(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;

	seal_hello(f, MODE_AEAD, TOPIC, env, &env_len);
	env[34] ^= 1;
	assert_rc(open_with(&f->r, TOPIC, env, env_len, E2E_DELIVERY_RETAINED),
		  E2E_ERR_NOT_RETAINED, "aead");
}

static void order_bad_tag_reported_before_bad_signature(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF];
	size_t env_len;
	int m;

	for (m = MODE_AEAD_SIGNED; m <= MODE_MAC_SIGNED; m += 2) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		env[env_len - E2E_SIG_BYTES - 1] ^= 1; /* tag */
		env[env_len - 1] ^= 1;                 /* signature */
		assert_rc(open_with(&f->r, TOPIC, env, env_len, 0),
			  E2E_ERR_BAD_TAG, "%s", modes[m].name);
	}
}

/* ------------------------------------------------------------------------ */
/* Nothing unverified is delivered                                          */
/* ------------------------------------------------------------------------ */

static void open_zeroes_decrypted_payload_when_signature_fails(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF], out[BUF];
	size_t env_len, out_len = 99;

	/* aead decrypts before the signature is checked. */
	seal_hello(f, MODE_AEAD_SIGNED, TOPIC, env, &env_len);
	env[env_len - 1] ^= 0x01;
	memset(out, 0xAA, sizeof out);
	assert_int_equal(e2e_open(&f->r, TOPIC, env, env_len, 0, out,
				  sizeof out, &out_len, NULL),
			 E2E_ERR_BAD_SIGNATURE);
	assert_int_equal(out_len, 0);
	assert_true(all_zero(out, HELLO_LEN));
}

static void open_zeroes_output_on_bad_tag(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF], out[BUF];
	size_t env_len, out_len = 99;
	int m;

	for (m = 0; m < MODE_COUNT; m++) {
		seal_hello(f, (enum mode)m, TOPIC, env, &env_len);
		env[30] ^= 0x10; /* salt or body */
		memset(out, 0xAA, sizeof out);
		assert_int_not_equal(e2e_open(&f->r, TOPIC, env, env_len, 0,
					      out, sizeof out, &out_len, NULL),
				     E2E_OK);
		assert_int_equal(out_len, 0);
		assert_true(all_zero(out, HELLO_LEN));
	}
}

static void open_fills_info_when_verification_fails(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF], out[BUF];
	size_t env_len, out_len;
	e2e_info info;

	seal_hello(f, MODE_AEAD, TOPIC, env, &env_len);
	env[34] ^= 1;
	assert_int_equal(e2e_open(&f->r, TOPIC, env, env_len, 0, out,
				  sizeof out, &out_len, &info),
			 E2E_ERR_BAD_TAG);
	assert_int_equal(info.key_id, KEY_AEAD_ID);
	assert_int_equal(info.sender_id, FIXED_SENDER);
	assert_int_equal(info.seq, FIXED_SEQ);
	assert_int_equal(info.payload_len, HELLO_LEN);
}

static void open_rejects_null_arguments(void **state)
{
	const struct fixture *f = *state;
	uint8_t env[BUF], out[BUF];
	size_t env_len, out_len;

	seal_hello(f, MODE_AEAD, TOPIC, env, &env_len);
	assert_int_equal(e2e_open(NULL, TOPIC, env, env_len, 0, out, sizeof out,
				  &out_len, NULL),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_open(&f->r, NULL, env, env_len, 0, out, sizeof out,
				  &out_len, NULL),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_open(&f->r, TOPIC, NULL, env_len, 0, out,
				  sizeof out, &out_len, NULL),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_open(&f->r, TOPIC, env, env_len, 0, out,
				  sizeof out, NULL, NULL),
			 E2E_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(overhead_equals_spec_table),
		cmocka_unit_test(overhead_is_zero_for_invalid_modes),
		cmocka_unit_test(size_functions_equal_macros),
		cmocka_unit_test(sealed_len_adds_overhead_up_to_payload_max),
		cmocka_unit_test(suite_names_parse_back),
		cmocka_unit_test(suite_parse_rejects_unknown_names),
		cmocka_unit_test(init_can_be_called_again),
		cmocka_unit_test(round_trip_every_mode_empty_payload),
		cmocka_unit_test(round_trip_every_mode_one_byte),
		cmocka_unit_test(round_trip_every_mode_16_kib),
		cmocka_unit_test(round_trip_every_mode_utf8_topic),
		cmocka_unit_test(round_trip_every_mode_longest_topic),
		cmocka_unit_test(open_accepts_null_output_for_empty_payload),
		cmocka_unit_test(aead_body_hides_payload),
		cmocka_unit_test(mac_body_is_clear_payload),
		cmocka_unit_test(header_fields_are_big_endian_at_spec_offsets),
		cmocka_unit_test(aead_matches_spec_nonce_and_associated_data),
		cmocka_unit_test(mac_matches_spec_truncated_hmac),
		cmocka_unit_test(signature_matches_spec_context_and_digest),
		cmocka_unit_test(seal_rejects_invalid_topics),
		cmocka_unit_test(seal_rejects_payload_over_max),
		cmocka_unit_test(seal_rejects_inconsistent_params),
		cmocka_unit_test(seal_reports_buffer_too_small_and_zeroes_it),
		cmocka_unit_test(open_reports_buffer_too_small_and_zeroes_it),
		cmocka_unit_test(open_rejects_invalid_topics),
		cmocka_unit_test(open_rejects_moved_topic),
		cmocka_unit_test(open_rejects_topic_with_shared_prefix),
		cmocka_unit_test(open_rejects_topic_nobody_subscribed_to),
		cmocka_unit_test(open_accepts_topic_of_any_subscribed_filter),
		cmocka_unit_test(open_rejects_wrong_key),
		cmocka_unit_test(open_rejects_unknown_key_id),
		cmocka_unit_test(open_without_keyring_rejects_keyed_envelopes),
		cmocka_unit_test(open_rejects_disabled_key),
		cmocka_unit_test(open_rejects_suite_mismatch),
		cmocka_unit_test(open_rejects_stripped_signature_as_bad_tag),
		cmocka_unit_test(
			open_rejects_stripped_signature_as_unsigned_when_required),
		cmocka_unit_test(
			open_rejects_stripped_signature_only_as_malformed),
		cmocka_unit_test(
			open_rejects_signature_transplanted_from_another_signer),
		cmocka_unit_test(open_rejects_untrusted_signer),
		cmocka_unit_test(
			open_rejects_unsigned_envelope_under_trusted_signer_id),
		cmocka_unit_test(
			open_without_trust_set_rejects_signed_envelopes),
		cmocka_unit_test(open_rejects_signer_not_allowed_on_topic),
		cmocka_unit_test(require_encryption_accepts_only_aead),
		cmocka_unit_test(require_signature_accepts_only_signed),
		cmocka_unit_test(retained_flag_sets_header_bit),
		cmocka_unit_test(
			open_accepts_retained_delivery_with_retained_intent),
		cmocka_unit_test(
			open_rejects_retained_delivery_without_retained_intent),
		cmocka_unit_test(parse_reports_header_fields),
		cmocka_unit_test(parse_rejects_empty_input_as_malformed),
		cmocka_unit_test(parse_rejects_later_versions),
		cmocka_unit_test(
			parse_rejects_text_and_other_formats_as_not_e2e),
		cmocka_unit_test(parse_rejects_reserved_flag_bits),
		cmocka_unit_test(parse_rejects_suite_3),
		cmocka_unit_test(parse_rejects_unsigned_signature_only),
		cmocka_unit_test(parse_rejects_signature_only_with_key_id),
		cmocka_unit_test(parse_rejects_length_below_overhead),
		cmocka_unit_test(
			order_reserved_bits_reported_before_unknown_key),
		cmocka_unit_test(order_unknown_key_reported_before_policy),
		cmocka_unit_test(
			order_disabled_key_with_bad_tag_reports_disabled_key),
		cmocka_unit_test(order_suite_mismatch_reported_before_policy),
		cmocka_unit_test(
			order_unencrypted_with_bad_tag_reports_unencrypted),
		cmocka_unit_test(
			order_untrusted_signer_with_bad_tag_reports_untrusted_signer),
		cmocka_unit_test(
			order_not_retained_with_bad_tag_reports_not_retained),
		cmocka_unit_test(order_bad_tag_reported_before_bad_signature),
		cmocka_unit_test(
			open_zeroes_decrypted_payload_when_signature_fails),
		cmocka_unit_test(open_zeroes_output_on_bad_tag),
		cmocka_unit_test(open_fills_info_when_verification_fails),
		cmocka_unit_test(open_rejects_null_arguments),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
