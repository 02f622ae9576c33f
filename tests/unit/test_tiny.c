/*
 * The tiny-client profile (libe2e/tiny): its SHA-256 and HMAC against the
 * published vectors, its envelopes against libe2e in both directions and
 * against the known-answer vectors, and its argument checks.
 *
 * Built twice: test_tiny with the built-in SHA-256, and test_tiny_hook with
 * E2E_TINY_SHA256_HEADER set, where a libsodium-backed stand-in for a
 * hardware engine replaces it (tiny_sha_hook.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "e2e.h"
#include "e2e_tiny.h"

#ifdef TINY_HAVE_VECTORS
/* The types tests/vectors/json2c.py fills (as test_vectors.c declares). */
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
	uint32_t require;
	uint32_t delivery;
	const char *topic;
	uint64_t now;
	int check_freshness;
	const char *freshness_error;
};

struct vec_positive {
	const char *name;
	e2e_suite suite;
	int is_signed;
	uint32_t key_id;
	const uint8_t *key;
	const uint8_t *seed;
	const uint8_t *pk;
	uint64_t sender_id;
	uint64_t seq;
	uint32_t timestamp;
	int retained;
	const char *topic;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *salt;
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
#endif

#ifdef E2E_TINY_SHA256_HEADER
unsigned long tiny_hook_finals;

void e2e_tiny_sha256_init(e2e_tiny_sha256_ctx *c)
{
	crypto_hash_sha256_init(&c->st);
}

void e2e_tiny_sha256_update(e2e_tiny_sha256_ctx *c, const uint8_t *p, size_t n)
{
	crypto_hash_sha256_update(&c->st, p, n);
}

void e2e_tiny_sha256_final(e2e_tiny_sha256_ctx *c, uint8_t out[32])
{
	tiny_hook_finals++;
	crypto_hash_sha256_final(&c->st, out);
}
#endif

static void unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t i;
	unsigned b;

	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

/* Inputs drawn from a fixed seed, so every run tests the same cases. */
static void fill(uint8_t *p, size_t n, uint32_t seed)
{
	uint8_t s[randombytes_SEEDBYTES] = {0};

	memcpy(s, &seed, sizeof seed);
	randombytes_buf_deterministic(p, n, s);
}

static const uint8_t KEY[32] = {
	0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
	0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0x73, 0x74, 0x75,
	0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
};
#define KEY_ID 0x5e6f7081u
#define SENDER 0x0123456789abcdefULL
#define TOPIC "sensors/kitchen/temp"

/* ------------------------------------------------------------------------ */
/* SHA-256 and HMAC                                                         */
/* ------------------------------------------------------------------------ */

static void sha256(const uint8_t *p, size_t n, uint8_t out[32])
{
	e2e_tiny_sha256_ctx c;

	e2e_tiny_sha256_init(&c);
	e2e_tiny_sha256_update(&c, p, n);
	e2e_tiny_sha256_final(&c, out);
}

/* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf"). */
static void sha256_matches_fips_180_vectors(void **state)
{
	static const struct {
		const char *msg;
		const char *digest;
	} v[] = {
		{"abc", "ba7816bf8f01cfea414140de5dae2223"
			"b00361a396177a9cb410ff61f20015ad"},
		{"", "e3b0c44298fc1c149afbf4c8996fb924"
		     "27ae41e4649b934ca495991b7852b855"},
		{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039"
		 "a33ce45964ff2167f6ecedd419db06c1"},
		{"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		 "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
		 "cf5b16a778af8380036ce59e7b049237"
		 "0b249b11e8f07a51afac45037afee9d1"},
	};
	uint8_t got[32], want[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		sha256((const uint8_t *)v[i].msg, strlen(v[i].msg), got);
		unhex(v[i].digest, want, 32);
		assert_memory_equal(got, want, 32);
	}
}

static void sha256_of_a_million_a_matches_fips_180(void **state)
{
	static uint8_t a[1000];
	e2e_tiny_sha256_ctx c;
	uint8_t got[32], want[32];
	int i;

	(void)state;
	memset(a, 'a', sizeof a);
	e2e_tiny_sha256_init(&c);
	for (i = 0; i < 1000; i++)
		e2e_tiny_sha256_update(&c, a, sizeof a);
	e2e_tiny_sha256_final(&c, got);
	unhex("cdc76e5c9914fb9281a1c7e284d73e67"
	      "f1809a48a497200e046d39ccc7112cd0",
	      want, 32);
	assert_memory_equal(got, want, 32);
}

/* Every length across the padding boundaries, fed in two parts split at
 * every position, against libsodium's SHA-256. */
static void sha256_agrees_with_libsodium_at_every_split(void **state)
{
	uint8_t msg[200], got[32], want[32];
	e2e_tiny_sha256_ctx c;
	size_t n, cut;

	(void)state;
	fill(msg, sizeof msg, 1);
	for (n = 0; n <= sizeof msg; n++) {
		crypto_hash_sha256(want, msg, n);
		for (cut = 0; cut <= n; cut++) {
			e2e_tiny_sha256_init(&c);
			e2e_tiny_sha256_update(&c, msg, cut);
			e2e_tiny_sha256_update(&c, msg + cut, n - cut);
			e2e_tiny_sha256_final(&c, got);
			assert_memory_equal(got, want, 32);
		}
	}
}

/* RFC 4231 section 4, test cases 1 to 7 (case 5 is truncated to 128 bits). */
static void hmac_matches_rfc4231_vectors(void **state)
{
	static const struct {
		const char *key; /* hex, or NULL: 131 bytes of 0xaa */
		const char *data;
		const char *mac;
	} v[] = {
		{"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
		 "b0344c61d8db38535ca8afceaf0bf12b"
		 "881dc200c9833da726e9376c2e32cff7"},
		{"4a656665", "what do ya want for nothing?",
		 "5bdcc146bf60754e6a042426089575c7"
		 "5a003f089d2739839dec58b964ec3843"},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL,
		 "773ea91e36800e46854db8ebd09181a7"
		 "2959098b3ef8c122d9635514ced565fe"},
		{"0102030405060708090a0b0c0d0e0f10111213141516171819", NULL,
		 "82558a389a443c0ea4cc819899f2083a"
		 "85f0faa3e578f8077a2e3ff46729665b"},
		{"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
		 "Test With Truncation", "a3b6167473100ee06e0c796c2955552b"},
		{NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
		 "60e431591ee0b67f0d8a26aacbf5b77f"
		 "8e0bc6213728c5140546040f0ee37f54"},
		{NULL,
		 "This is a test using a larger than block-size key and a "
		 "larger than block-size data. The key needs to be hashed "
		 "before being used by the HMAC algorithm.",
		 "9b09ffa71b942fcb27635fbcd5b0e944"
		 "bfdc63644f0713938a7f51535c3a35e2"},
	};
	uint8_t key[131], data[50], got[32], want[32];
	size_t i, klen, dlen;
	const uint8_t *d;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		if (v[i].key != NULL) {
			klen = strlen(v[i].key) / 2;
			unhex(v[i].key, key, klen);
		} else {
			klen = sizeof key;
			memset(key, 0xaa, klen);
		}
		if (v[i].data != NULL) {
			d = (const uint8_t *)v[i].data;
			dlen = strlen(v[i].data);
		} else {
			/* Cases 3 and 4: 50 bytes of 0xdd or 0xcd. */
			memset(data, i == 2 ? 0xdd : 0xcd, sizeof data);
			d = data;
			dlen = sizeof data;
		}
		e2e_tiny_hmac_sha256(key, klen, d, dlen, got);
		unhex(v[i].mac, want, strlen(v[i].mac) / 2);
		assert_memory_equal(got, want, strlen(v[i].mac) / 2);
	}
}

static void hmac_agrees_with_libsodium_for_every_length(void **state)
{
	uint8_t msg[300], got[32], want[32];
	size_t n;

	(void)state;
	fill(msg, sizeof msg, 2);
	for (n = 0; n <= sizeof msg; n++) {
		crypto_auth_hmacsha256(want, msg, n, KEY);
		e2e_tiny_hmac_sha256(KEY, sizeof KEY, msg, n, got);
		assert_memory_equal(got, want, 32);
	}
}

#ifdef E2E_TINY_SHA256_HEADER
static void hook_replaces_builtin_sha256(void **state)
{
	e2e_tiny_sender s;
	uint8_t out[64];
	size_t len;
	unsigned long before = tiny_hook_finals;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1);
	assert_int_equal(e2e_tiny_seal(&s, TOPIC, (const uint8_t *)"x", 1, 0, 0,
				       out, sizeof out, &len),
			 E2E_TINY_OK);
	/* An HMAC is two hashes: inner and outer. */
	assert_int_equal(tiny_hook_finals - before, 2);
}
#endif

/* ------------------------------------------------------------------------ */
/* Envelopes against libe2e                                                 */
/* ------------------------------------------------------------------------ */

static e2e_keyring *mac_keyring(const uint8_t key[32], uint32_t id)
{
	e2e_keyring *kr = NULL;
	e2e_key_info info = {id, E2E_SUITE_MAC, E2E_KEY_PRIMARY, 1700000000};

	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &info, key), E2E_OK);
	return kr;
}

/* A topic of n bytes (1..4096) from the seed, without wildcards or NUL. */
static void random_topic(char *t, size_t n, uint32_t seed)
{
	size_t i;

	fill((uint8_t *)t, n, seed);
	for (i = 0; i < n; i++)
		t[i] = (char)('!' + (uint8_t)t[i] % 90); /* '!' .. 'z' */
	for (i = 0; i < n; i++)
		if (t[i] == '+' || t[i] == '#')
			t[i] = '/';
	t[n] = '\0';
}

static const size_t SIZES[] = {0, 1, 2, 17, 55, 56, 63, 64, 65, 119, 1000};
#define NSIZES (sizeof SIZES / sizeof SIZES[0])

/* The same inputs sealed by both give the same bytes. */
static void seal_is_byte_identical_to_libe2e(void **state)
{
	static uint8_t msg[1000], a[1100], b[1100];
	static char topic[E2E_TINY_TOPIC_MAX + 1];
	uint8_t key[32];
	size_t i, alen, blen;

	(void)state;
	for (i = 0; i < 64; i++) {
		size_t n = SIZES[i % NSIZES];
		size_t tlen = i == 0 ? E2E_TINY_TOPIC_MAX : 1 + i * 37 % 300;
		uint64_t sender, seq;
		uint32_t key_id, ts;
		e2e_tiny_sender s;
		e2e_seal_params p;

		fill(key, sizeof key, 100 + (uint32_t)i);
		fill(msg, n, 200 + (uint32_t)i);
		fill((uint8_t *)&sender, sizeof sender, 300 + (uint32_t)i);
		fill((uint8_t *)&seq, sizeof seq, 400 + (uint32_t)i);
		fill((uint8_t *)&key_id, sizeof key_id, 500 + (uint32_t)i);
		fill((uint8_t *)&ts, sizeof ts, 600 + (uint32_t)i);
		key_id |= 1; /* never 0 */
		if (i % 3 == 0)
			ts = 0;
		random_topic(topic, tlen, 700 + (uint32_t)i);

		e2e_tiny_sender_init(&s, key, key_id, sender,
				     (uint32_t)(seq >> 32));
		s.counter = (uint32_t)seq;
		assert_int_equal(e2e_tiny_seal(&s, topic, msg, n, ts,
					       i % 2 ? E2E_TINY_RETAINED : 0, a,
					       sizeof a, &alen),
				 E2E_TINY_OK);

		memset(&p, 0, sizeof p);
		p.suite = E2E_SUITE_MAC;
		p.key_id = key_id;
		p.key = key;
		p.sender_id = sender;
		p.seq = seq;
		p.timestamp = ts;
		p.flags = i % 2 ? E2E_SEAL_RETAINED : 0;
		assert_int_equal(e2e_seal_explicit(&p, topic, msg, n, b,
						   sizeof b, &blen),
				 E2E_OK);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, alen);
	}
}

static void tiny_envelopes_open_with_libe2e(void **state)
{
	static uint8_t msg[1000], env[1100], out[1100];
	char topic[64];
	uint8_t key[32];
	size_t i, len, out_len;
	e2e_keyring *kr;
	e2e_receiver r;
	e2e_tiny_sender s;

	(void)state;
	fill(key, sizeof key, 7);
	kr = mac_keyring(key, KEY_ID);
	memset(&r, 0, sizeof r);
	r.keyring = kr; /* no guard: replay is not what this test is about */
	e2e_tiny_sender_init(&s, key, KEY_ID, SENDER, 42);
	for (i = 0; i < 3 * NSIZES; i++) {
		size_t n = SIZES[i % NSIZES];
		uint32_t flags = i % 2 ? E2E_TINY_RETAINED : 0;
		e2e_info info;

		fill(msg, n, 1000 + (uint32_t)i);
		snprintf(topic, sizeof topic, "site/%zu/reading", i);
		assert_int_equal(e2e_tiny_seal(&s, topic, msg, n,
					       (uint32_t)(1700000000 + i),
					       flags, env, sizeof env, &len),
				 E2E_TINY_OK);
		assert_int_equal(e2e_open(&r, topic, env, len,
					  flags ? E2E_DELIVERY_RETAINED : 0,
					  out, sizeof out, &out_len, &info),
				 E2E_OK);
		assert_int_equal(out_len, n);
		assert_memory_equal(out, msg, n);
		assert_int_equal(info.suite, E2E_SUITE_MAC);
		assert_int_equal(info.key_id, KEY_ID);
		assert_true(info.sender_id == SENDER);
		assert_true(info.seq == ((uint64_t)42 << 32 | i));
		assert_int_equal(info.timestamp, 1700000000 + i);
		assert_int_equal(info.retained, flags ? 1 : 0);
	}
	e2e_keyring_free(kr);
}

static void libe2e_envelopes_verify_with_tiny(void **state)
{
	static uint8_t msg[1000], env[1100];
	uint8_t key[32];
	size_t i, len;

	(void)state;
	fill(key, sizeof key, 8);
	for (i = 0; i < 3 * NSIZES; i++) {
		size_t n = SIZES[i % NSIZES];
		e2e_seal_params p;
		e2e_tiny_info info;

		fill(msg, n, 2000 + (uint32_t)i);
		memset(&p, 0, sizeof p);
		p.suite = E2E_SUITE_MAC;
		p.key_id = KEY_ID;
		p.key = key;
		p.sender_id = SENDER + i;
		p.seq = ((uint64_t)7 << 32) + i;
		p.timestamp = i % 2 ? 0 : 1700000000u;
		p.flags = i % 2 ? E2E_SEAL_RETAINED : 0;
		assert_int_equal(e2e_seal_explicit(&p, TOPIC, msg, n, env,
						   sizeof env, &len),
				 E2E_OK);
		assert_int_equal(
			e2e_tiny_verify(key, KEY_ID, TOPIC, env, len, &info),
			E2E_TINY_OK);
		assert_int_equal(info.payload_len, n);
		assert_memory_equal(info.payload, msg, n);
		assert_ptr_equal(info.payload, env + E2E_TINY_HEADER_BYTES);
		assert_int_equal(info.key_id, KEY_ID);
		assert_true(info.sender_id == SENDER + i);
		assert_true(info.seq == p.seq);
		assert_int_equal(info.timestamp, p.timestamp);
		assert_int_equal(info.retained, i % 2);
	}
}

/* The receiver setup libe2e/tiny/README.md gives for a sender without clock
 * or flash: fixed sender id, boot counter as epoch, timestamp 0. */
static void clockless_sender_is_replay_safe_across_boots(void **state)
{
	uint8_t boot1[2][64], boot2[64], out[64];
	size_t len1[2], len2, out_len, i;
	e2e_tiny_sender s;
	e2e_guard_opts o;
	e2e_receiver r;
	e2e_keyring *kr = mac_keyring(KEY, KEY_ID);

	(void)state;
	e2e_guard_opts_default(&o);
	memset(&r, 0, sizeof r);
	r.keyring = kr;
	r.now = 1700000000;

	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1); /* boot 1 */
	for (i = 0; i < 2; i++)
		assert_int_equal(e2e_tiny_seal(&s, TOPIC, (const uint8_t *)"b1",
					       2, 0, 0, boot1[i], 64, &len1[i]),
				 E2E_TINY_OK);
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 2); /* boot 2 */
	assert_int_equal(e2e_tiny_seal(&s, TOPIC, (const uint8_t *)"b2", 2, 0,
				       0, boot2, 64, &len2),
			 E2E_TINY_OK);

	/* Without trust on first use a clockless sender is refused. */
	assert_int_equal(e2e_guard_new(&r.guard, &o), E2E_OK);
	assert_int_equal(e2e_open(&r, TOPIC, boot1[0], len1[0], 0, out,
				  sizeof out, &out_len, NULL),
			 E2E_ERR_NO_TIMESTAMP);
	e2e_guard_free(r.guard);

	o.flags |= E2E_GUARD_ACCEPT_NO_CLOCK;
	assert_int_equal(e2e_guard_new(&r.guard, &o), E2E_OK);
	assert_int_equal(e2e_open(&r, TOPIC, boot1[0], len1[0], 0, out,
				  sizeof out, &out_len, NULL),
			 E2E_OK);
	assert_int_equal(e2e_open(&r, TOPIC, boot1[0], len1[0], 0, out,
				  sizeof out, &out_len, NULL),
			 E2E_ERR_REPLAY);
	assert_int_equal(e2e_open(&r, TOPIC, boot2, len2, 0, out, sizeof out,
				  &out_len, NULL),
			 E2E_OK);
	/* The next boot's epoch leaves every message of the last one behind,
	 * even one never delivered. */
	assert_int_equal(e2e_open(&r, TOPIC, boot1[1], len1[1], 0, out,
				  sizeof out, &out_len, NULL),
			 E2E_ERR_REPLAY);
	e2e_guard_free(r.guard);
	e2e_keyring_free(kr);
}

#ifdef TINY_HAVE_VECTORS
/* Every unsigned mac vector of tests/vectors/envelope-v1.json, sealed and
 * verified. Signed ones need Ed25519, which the tiny profile leaves out. */
static void seal_reproduces_mac_vectors(void **state)
{
	static uint8_t out[8192];
	size_t i, len, checked = 0;

	(void)state;
	for (i = 0; i < sizeof vec_positives / sizeof vec_positives[0]; i++) {
		const struct vec_positive *v = &vec_positives[i];
		e2e_tiny_sender s;
		e2e_tiny_info info;

		if (v->suite != E2E_SUITE_MAC || v->is_signed)
			continue;
		print_message("%s\n", v->name);
		e2e_tiny_sender_init(&s, v->key, v->key_id, v->sender_id,
				     (uint32_t)(v->seq >> 32));
		s.counter = (uint32_t)v->seq;
		assert_int_equal(
			e2e_tiny_seal(&s, v->topic, v->payload, v->payload_len,
				      v->timestamp,
				      v->retained ? E2E_TINY_RETAINED : 0, out,
				      sizeof out, &len),
			E2E_TINY_OK);
		assert_int_equal(len, v->env_len);
		assert_memory_equal(out, v->env, len);
		assert_int_equal(e2e_tiny_verify(v->key, v->key_id, v->topic,
						 v->env, v->env_len, &info),
				 E2E_TINY_OK);
		assert_int_equal(info.payload_len, v->payload_len);
		assert_true(info.seq == v->seq);
		checked++;
	}
	/* mac_empty, _1byte, _5000bytes, _utf8_topic, _timestamp_0 at least */
	assert_true(checked >= 5);
}

/* The negative vectors the tiny verifier can judge: structure errors must be
 * refused (with libe2e's code where the check is the same), and tampered
 * unsigned mac envelopes must fail their tag. */
static void verify_refuses_negative_vectors(void **state)
{
	size_t i, j, tag_checked = 0;

	(void)state;
	for (i = 0; i < sizeof vec_negatives / sizeof vec_negatives[0]; i++) {
		const struct vec_negative *v = &vec_negatives[i];
		const struct vec_key *k = NULL;
		e2e_tiny_info info;
		uint32_t id = 0;
		int rc;

		if (v->env_len >= 6)
			id = (uint32_t)v->env[2] << 24 |
			     (uint32_t)v->env[3] << 16 |
			     (uint32_t)v->env[4] << 8 | v->env[5];
		for (j = 0; j < v->rx.nkeys; j++)
			if (v->rx.keys[j].id == id &&
			    v->rx.keys[j].suite == E2E_SUITE_MAC)
				k = &v->rx.keys[j];
		rc = e2e_tiny_verify(k != NULL ? k->key : KEY, id, v->rx.topic,
				     v->env, v->env_len, &info);
		switch (v->error) {
		case E2E_ERR_NOT_E2E:
		case E2E_ERR_VERSION:
		case E2E_ERR_RESERVED:
			print_message("%s\n", v->name);
			assert_int_equal(rc, v->error);
			break;
		case E2E_ERR_MALFORMED:
			print_message("%s\n", v->name);
			assert_int_not_equal(rc, E2E_TINY_OK);
			break;
		case E2E_ERR_BAD_TAG:
			if (k == NULL || (v->env[1] & 0x07) != 0x01)
				break;
			print_message("%s\n", v->name);
			assert_int_equal(rc, E2E_TINY_ERR_BAD_TAG);
			tag_checked++;
			break;
		default: /* policy, replay and signature: not the tiny
			    verifier's to judge */
			break;
		}
	}
	assert_true(tag_checked >= 5);
}
#endif

/* ------------------------------------------------------------------------ */
/* Sealing rules                                                            */
/* ------------------------------------------------------------------------ */

static void seal_uses_consecutive_sequence_numbers(void **state)
{
	e2e_tiny_sender s;
	uint8_t env[64];
	e2e_tiny_info info;
	size_t len;
	uint64_t i;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 9);
	for (i = 0; i < 3; i++) {
		assert_int_equal(e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, env,
					       sizeof env, &len),
				 E2E_TINY_OK);
		assert_int_equal(
			e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len, &info),
			E2E_TINY_OK);
		assert_true(info.seq == ((uint64_t)9 << 32 | i));
	}
}

static void seal_moves_to_next_epoch_when_counter_wraps(void **state)
{
	e2e_tiny_sender s;
	uint8_t env[64];
	e2e_tiny_info info;
	size_t len;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 9);
	s.counter = 0xFFFFFFFFu;
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_OK);
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_OK);
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len, &info),
			 E2E_TINY_OK);
	assert_true(info.seq == (uint64_t)10 << 32);
}

static void seal_refuses_after_last_sequence_number(void **state)
{
	e2e_tiny_sender s;
	uint8_t env[64];
	size_t len;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 0xFFFFFFFFu);
	s.counter = 0xFFFFFFFFu;
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_OK);
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_ERR_SEQ_EXHAUSTED);
	assert_int_equal(len, 0);
}

static void seal_sets_retained_intent_only_when_asked(void **state)
{
	e2e_tiny_sender s;
	uint8_t env[64];
	size_t len;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1);
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_OK);
	assert_int_equal(env[1], 0x01);
	assert_int_equal(e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, E2E_TINY_RETAINED,
				       env, sizeof env, &len),
			 E2E_TINY_OK);
	assert_int_equal(env[1], 0x09);
}

static void seal_accepts_payload_already_in_place(void **state)
{
	e2e_tiny_sender s1, s2;
	uint8_t a[100], b[100], msg[58];
	size_t alen, blen;

	(void)state;
	fill(msg, sizeof msg, 9);
	e2e_tiny_sender_init(&s1, KEY, KEY_ID, SENDER, 1);
	s2 = s1;
	memcpy(a + E2E_TINY_HEADER_BYTES, msg, sizeof msg);
	assert_int_equal(e2e_tiny_seal(&s1, TOPIC, a + E2E_TINY_HEADER_BYTES,
				       sizeof msg, 5, 0, a, sizeof a, &alen),
			 E2E_TINY_OK);
	assert_int_equal(e2e_tiny_seal(&s2, TOPIC, msg, sizeof msg, 5, 0, b,
				       sizeof b, &blen),
			 E2E_TINY_OK);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
}

static void seal_refuses_topic_with_wildcard(void **state)
{
	e2e_tiny_sender s;
	uint8_t env[64];
	size_t len;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1);
	assert_int_equal(e2e_tiny_seal(&s, "a/+/b", NULL, 0, 0, 0, env,
				       sizeof env, &len),
			 E2E_TINY_ERR_TOPIC);
	assert_int_equal(
		e2e_tiny_seal(&s, "a/#", NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_ERR_TOPIC);
	assert_int_equal(s.counter, 0);
}

static void seal_refuses_empty_topic(void **state)
{
	e2e_tiny_sender s;
	uint8_t env[64];
	size_t len;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1);
	assert_int_equal(
		e2e_tiny_seal(&s, "", NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_ERR_TOPIC);
}

static void seal_accepts_4096_byte_topic_and_refuses_4097(void **state)
{
	static char topic[E2E_TINY_TOPIC_MAX + 2];
	e2e_tiny_sender s;
	uint8_t env[64];
	size_t len;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1);
	memset(topic, 't', E2E_TINY_TOPIC_MAX);
	topic[E2E_TINY_TOPIC_MAX] = '\0';
	assert_int_equal(
		e2e_tiny_seal(&s, topic, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_OK);
	topic[E2E_TINY_TOPIC_MAX] = 't';
	topic[E2E_TINY_TOPIC_MAX + 1] = '\0';
	assert_int_equal(
		e2e_tiny_seal(&s, topic, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_ERR_TOPIC);
}

static void seal_refuses_small_buffer_and_leaves_it_untouched(void **state)
{
	e2e_tiny_sender s;
	uint8_t env[E2E_TINY_SEALED_LEN(4)], copy[sizeof env];
	size_t len = 99;

	(void)state;
	memset(env, 0xA5, sizeof env);
	memcpy(copy, env, sizeof env);
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1);
	assert_int_equal(e2e_tiny_seal(&s, TOPIC, (const uint8_t *)"12345", 5,
				       0, 0, env, sizeof env, &len),
			 E2E_TINY_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(len, 0);
	assert_memory_equal(env, copy, sizeof env);
	assert_int_equal(s.counter, 0);
	assert_int_equal(e2e_tiny_seal(&s, TOPIC, (const uint8_t *)"1234", 4, 0,
				       0, env, sizeof env, &len),
			 E2E_TINY_OK);
	assert_int_equal(len, sizeof env);
}

static void seal_refuses_key_id_0_and_unknown_flags(void **state)
{
	e2e_tiny_sender s;
	uint8_t env[64];
	size_t len;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, 0, SENDER, 1);
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_ERR_INVAL);
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1);
	assert_int_equal(e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0x2, env,
				       sizeof env, &len),
			 E2E_TINY_ERR_INVAL);
}

/* ------------------------------------------------------------------------ */
/* Verifying                                                                */
/* ------------------------------------------------------------------------ */

/* A 44-byte envelope of "21" on TOPIC. */
static size_t sample(uint8_t env[64])
{
	e2e_tiny_sender s;
	size_t len;

	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 3);
	assert_int_equal(e2e_tiny_seal(&s, TOPIC, (const uint8_t *)"21", 2,
				       1700000000u, 0, env, 64, &len),
			 E2E_TINY_OK);
	return len;
}

static void verify_rejects_every_flipped_bit(void **state)
{
	uint8_t env[64];
	e2e_tiny_info info;
	size_t len = sample(env), bit;

	(void)state;
	for (bit = 0; bit < 8 * len; bit++) {
		env[bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_not_equal(
			e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len, &info),
			E2E_TINY_OK);
		assert_null(info.payload);
		env[bit / 8] ^= (uint8_t)(1u << bit % 8);
	}
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len, &info),
			 E2E_TINY_OK);
}

static void verify_rejects_flipped_payload_and_tag_as_bad_tag(void **state)
{
	uint8_t env[64];
	e2e_tiny_info info;
	size_t len = sample(env), i;

	(void)state;
	for (i = E2E_TINY_HEADER_BYTES; i < len; i++) {
		env[i] ^= 0x80;
		assert_int_equal(
			e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len, &info),
			E2E_TINY_ERR_BAD_TAG);
		env[i] ^= 0x80;
	}
}

static void verify_rejects_moved_topic(void **state)
{
	uint8_t env[64];
	e2e_tiny_info info;
	size_t len = sample(env);

	(void)state;
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, "sensors/kitchen/Temp",
					 env, len, &info),
			 E2E_TINY_ERR_BAD_TAG);
}

static void verify_rejects_wrong_key(void **state)
{
	uint8_t env[64], other[32];
	e2e_tiny_info info;
	size_t len = sample(env);

	(void)state;
	memcpy(other, KEY, sizeof other);
	other[31] ^= 1;
	assert_int_equal(e2e_tiny_verify(other, KEY_ID, TOPIC, env, len, &info),
			 E2E_TINY_ERR_BAD_TAG);
}

static void verify_rejects_truncated_and_extended(void **state)
{
	uint8_t env[65];
	e2e_tiny_info info;
	size_t len = sample(env);

	(void)state;
	assert_int_equal(
		e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len - 1, &info),
		E2E_TINY_ERR_BAD_TAG);
	env[len] = 0;
	assert_int_equal(
		e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len + 1, &info),
		E2E_TINY_ERR_BAD_TAG);
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, TOPIC, env,
					 E2E_TINY_OVERHEAD - 1, &info),
			 E2E_TINY_ERR_MALFORMED);
}

static void verify_rejects_other_key_id(void **state)
{
	uint8_t env[64];
	e2e_tiny_info info;
	size_t len = sample(env);

	(void)state;
	assert_int_equal(
		e2e_tiny_verify(KEY, KEY_ID + 1, TOPIC, env, len, &info),
		E2E_TINY_ERR_UNKNOWN_KEY);
}

static void verify_classifies_header_errors_as_libe2e(void **state)
{
	static const struct {
		uint8_t byte0, flags;
		int want;
	} v[] = {
		{0x7b, 0x01, E2E_TINY_ERR_NOT_E2E},
		{0xfe, 0x01, E2E_TINY_ERR_VERSION},
		{0xfc, 0x01, E2E_TINY_ERR_VERSION},
		{0xfd, 0x11, E2E_TINY_ERR_RESERVED},
		{0xfd, 0x81, E2E_TINY_ERR_RESERVED},
		{0xfd, 0x03, E2E_TINY_ERR_MALFORMED},
		{0xfd, 0x00, E2E_TINY_ERR_SUITE_MISMATCH}, /* aead */
		{0xfd, 0x05, E2E_TINY_ERR_SUITE_MISMATCH}, /* signed mac */
	};
	uint8_t env[64];
	e2e_tiny_info info;
	size_t len, i;
	e2e_info li;

	(void)state;
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		len = sample(env);
		env[0] = v[i].byte0;
		env[1] = v[i].flags;
		assert_int_equal(
			e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len, &info),
			v[i].want);
		/* The parse-level errors are libe2e's own. */
		if (v[i].want != E2E_TINY_ERR_SUITE_MISMATCH)
			assert_int_equal(e2e_parse(env, len, &li), v[i].want);
	}
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, 0, &info),
			 E2E_TINY_ERR_MALFORMED);
}

static void verify_rejects_libe2e_signed_mac_envelope(void **state)
{
	static const uint8_t seed[E2E_SIGN_SEEDBYTES] = {1};
	e2e_signer *signer = NULL;
	e2e_seal_params p;
	e2e_tiny_info info;
	uint8_t env[200];
	size_t len;

	(void)state;
	assert_int_equal(e2e_signer_from_seed(&signer, seed), E2E_OK);
	memset(&p, 0, sizeof p);
	p.suite = E2E_SUITE_MAC;
	p.key_id = KEY_ID;
	p.key = KEY;
	p.signer = signer;
	p.sender_id = e2e_signer_id(signer);
	p.seq = 1;
	assert_int_equal(e2e_seal_explicit(&p, TOPIC, (const uint8_t *)"x", 1,
					   env, sizeof env, &len),
			 E2E_OK);
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len, &info),
			 E2E_TINY_ERR_SUITE_MISMATCH);
	e2e_signer_free(signer);
}

static void error_codes_are_libe2e_codes(void **state)
{
	(void)state;
	assert_int_equal(E2E_TINY_OK, E2E_OK);
	assert_int_equal(E2E_TINY_ERR_INVAL, E2E_ERR_INVAL);
	assert_int_equal(E2E_TINY_ERR_BUFFER_TOO_SMALL,
			 E2E_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(E2E_TINY_ERR_TOO_LARGE, E2E_ERR_TOO_LARGE);
	assert_int_equal(E2E_TINY_ERR_TOPIC, E2E_ERR_TOPIC);
	assert_int_equal(E2E_TINY_ERR_NOT_E2E, E2E_ERR_NOT_E2E);
	assert_int_equal(E2E_TINY_ERR_VERSION, E2E_ERR_VERSION);
	assert_int_equal(E2E_TINY_ERR_RESERVED, E2E_ERR_RESERVED);
	assert_int_equal(E2E_TINY_ERR_MALFORMED, E2E_ERR_MALFORMED);
	assert_int_equal(E2E_TINY_ERR_UNKNOWN_KEY, E2E_ERR_UNKNOWN_KEY);
	assert_int_equal(E2E_TINY_ERR_SUITE_MISMATCH, E2E_ERR_SUITE_MISMATCH);
	assert_int_equal(E2E_TINY_ERR_BAD_TAG, E2E_ERR_BAD_TAG);
	assert_int_equal(E2E_TINY_ERR_SEQ_EXHAUSTED, E2E_ERR_SEQ_EXHAUSTED);
	assert_int_equal(E2E_TINY_OVERHEAD, E2E_OVERHEAD_MAC);
	assert_int_equal(E2E_TINY_TOPIC_MAX, E2E_TOPIC_MAX);
	assert_int_equal(E2E_TINY_PAYLOAD_MAX, E2E_PAYLOAD_MAX);
}

static void seal_and_verify_refuse_null_arguments(void **state)
{
	e2e_tiny_sender s;
	e2e_tiny_info info;
	uint8_t env[64];
	size_t len = 99;

	(void)state;
	e2e_tiny_sender_init(&s, KEY, KEY_ID, SENDER, 1);
	assert_int_equal(e2e_tiny_seal(NULL, TOPIC, NULL, 0, 0, 0, env,
				       sizeof env, &len),
			 E2E_TINY_ERR_INVAL);
	assert_int_equal(len, 0);
	assert_int_equal(
		e2e_tiny_seal(&s, NULL, NULL, 0, 0, 0, env, sizeof env, &len),
		E2E_TINY_ERR_INVAL);
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 1, 0, 0, env, sizeof env, &len),
		E2E_TINY_ERR_INVAL);
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, NULL, sizeof env, &len),
		E2E_TINY_ERR_INVAL);
	assert_int_equal(
		e2e_tiny_seal(&s, TOPIC, NULL, 0, 0, 0, env, sizeof env, NULL),
		E2E_TINY_ERR_INVAL);
	assert_int_equal(s.counter, 0);
	len = sample(env);
	assert_int_equal(e2e_tiny_verify(NULL, KEY_ID, TOPIC, env, len, &info),
			 E2E_TINY_ERR_INVAL);
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, TOPIC, NULL, len, &info),
			 E2E_TINY_ERR_INVAL);
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, NULL, env, len, &info),
			 E2E_TINY_ERR_INVAL);
	assert_int_equal(e2e_tiny_verify(KEY, KEY_ID, TOPIC, env, len, NULL),
			 E2E_TINY_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_matches_fips_180_vectors),
		cmocka_unit_test(sha256_of_a_million_a_matches_fips_180),
		cmocka_unit_test(sha256_agrees_with_libsodium_at_every_split),
		cmocka_unit_test(hmac_matches_rfc4231_vectors),
		cmocka_unit_test(hmac_agrees_with_libsodium_for_every_length),
#ifdef E2E_TINY_SHA256_HEADER
		cmocka_unit_test(hook_replaces_builtin_sha256),
#endif
		cmocka_unit_test(seal_is_byte_identical_to_libe2e),
		cmocka_unit_test(tiny_envelopes_open_with_libe2e),
		cmocka_unit_test(libe2e_envelopes_verify_with_tiny),
		cmocka_unit_test(clockless_sender_is_replay_safe_across_boots),
#ifdef TINY_HAVE_VECTORS
		cmocka_unit_test(seal_reproduces_mac_vectors),
		cmocka_unit_test(verify_refuses_negative_vectors),
#endif
		cmocka_unit_test(seal_uses_consecutive_sequence_numbers),
		cmocka_unit_test(seal_moves_to_next_epoch_when_counter_wraps),
		cmocka_unit_test(seal_refuses_after_last_sequence_number),
		cmocka_unit_test(seal_sets_retained_intent_only_when_asked),
		cmocka_unit_test(seal_accepts_payload_already_in_place),
		cmocka_unit_test(seal_refuses_topic_with_wildcard),
		cmocka_unit_test(seal_refuses_empty_topic),
		cmocka_unit_test(seal_accepts_4096_byte_topic_and_refuses_4097),
		cmocka_unit_test(
			seal_refuses_small_buffer_and_leaves_it_untouched),
		cmocka_unit_test(seal_refuses_key_id_0_and_unknown_flags),
		cmocka_unit_test(verify_rejects_every_flipped_bit),
		cmocka_unit_test(
			verify_rejects_flipped_payload_and_tag_as_bad_tag),
		cmocka_unit_test(verify_rejects_moved_topic),
		cmocka_unit_test(verify_rejects_wrong_key),
		cmocka_unit_test(verify_rejects_truncated_and_extended),
		cmocka_unit_test(verify_rejects_other_key_id),
		cmocka_unit_test(verify_classifies_header_errors_as_libe2e),
		cmocka_unit_test(verify_rejects_libe2e_signed_mac_envelope),
		cmocka_unit_test(error_codes_are_libe2e_codes),
		cmocka_unit_test(seal_and_verify_refuse_null_arguments),
	};

	if (e2e_init() != E2E_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
