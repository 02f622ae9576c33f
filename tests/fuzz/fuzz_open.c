/*
 * Fuzz target: e2e_open() in every mode, with and without receiver policy,
 * replay guard and trust set, against the fixed world of fuzz_common.c.
 *
 * Input layout:
 *   byte 0, the receiver:
 *     bit 0    E2E_REQUIRE_ENCRYPTION
 *     bit 1    E2E_REQUIRE_SIGNATURE
 *     bit 2    delivered as retained (E2E_DELIVERY_RETAINED)
 *     bit 3    with a replay guard
 *     bits 4-5 topic index (fuzz_topic)
 *     bit 6    no keyring
 *     bit 7    no trust set
 *   byte 1, how:
 *     bit 0    reseal: the rest describes a message to seal (below);
 *              otherwise the rest is the envelope itself
 *     bit 1    output buffer one byte shorter than the payload
 *     bit 2    the guard accepts clockless first contact
 *     bit 3    guard window 128 (else 64)
 *     bits 4-7 receiver clock: FUZZ_NOW + (v - 8) * 60 seconds
 *   reseal, byte 2:
 *     bits 0-1 suite; bit 2 signed; bits 3-4 signer (A, B, C, C);
 *     bit 5 retained intent; bit 6 wrong key (the disabled key for aead, the
 *     aead key under the mac suite); bit 7 sealed for the next topic
 *   reseal, bytes 3-10 sequence, 11-12 timestamp offset from FUZZ_NOW
 *     (signed; 0x8000: timestamp 0), 13-20 salt, 21-22 position and 23 mask
 *     of a byte flip (mask 0: none), then the payload.
 *
 * Oracles, beyond "no crash, no leak, no undefined behaviour":
 *  - a failed open delivers nothing: *out_len is 0 and the payload area is
 *    zeroed; its error is the parser's when parsing fails;
 *  - an accepted envelope is never accepted twice by the same guard;
 *  - a sealed envelope has the documented length and parses back to the
 *    values sealed; any byte flip, another topic or a wrong key is refused;
 *  - when every policy allows it, the sealed message opens to its payload.
 */
#include <string.h>

#include "fuzz_common.h"

#define FUZZ_SENDER_ID 0x1122334455667788u

struct receiver_setup {
	e2e_receiver r;
	unsigned topic;
	uint32_t delivery;
	int short_out;
	int tofu;
};

static int is_parse_error(int rc)
{
	return rc == E2E_ERR_NOT_E2E || rc == E2E_ERR_VERSION ||
	       rc == E2E_ERR_RESERVED || rc == E2E_ERR_MALFORMED;
}

static void setup_receiver(const uint8_t *data, struct receiver_setup *rs)
{
	const struct fuzz_world *w = fuzz_world_get();
	uint8_t b0 = data[0], b1 = data[1];

	memset(rs, 0, sizeof *rs);
	rs->r.require = b0 & (E2E_REQUIRE_ENCRYPTION | E2E_REQUIRE_SIGNATURE);
	rs->delivery = (b0 & 0x04) ? E2E_DELIVERY_RETAINED : 0;
	rs->topic = (b0 >> 4) & 3u;
	rs->r.keyring = (b0 & 0x40) ? NULL : w->keyring;
	rs->r.trust = (b0 & 0x80) ? NULL : w->trust;
	rs->short_out = (b1 & 0x02) != 0;
	rs->tofu = (b1 & 0x04) != 0;
	rs->r.now = (uint64_t)((int64_t)FUZZ_NOW + ((int)(b1 >> 4) - 8) * 60);
	if (b0 & 0x08) {
		e2e_guard_opts o;

		e2e_guard_opts_default(&o);
		o.window = (b1 & 0x08) ? 128 : 64;
		o.max_senders = 4;
		o.max_retained_topics = 4;
		o.flags = rs->tofu ? E2E_GUARD_ACCEPT_NO_CLOCK : 0;
		FUZZ_CHECK(e2e_guard_new(&rs->r.guard, &o) == E2E_OK);
	}
}

/* Open env once, check the invariants of any outcome, and return the error.
 * On success the payload is left in *payload (malloc'd, caller frees). */
static int open_checked(const struct receiver_setup *rs, const uint8_t *env,
			size_t env_len, uint8_t **payload, e2e_info *info)
{
	const char *topic = fuzz_topic(rs->topic);
	e2e_info parsed;
	int prc = e2e_parse(env, env_len, &parsed);
	size_t cap = env_len, out_len = 12345;
	uint8_t *out;
	int rc;

	if (prc == E2E_OK) {
		FUZZ_CHECK(parsed.payload_len < env_len);
		FUZZ_CHECK(e2e_sealed_len(parsed.suite, parsed.is_signed,
					  parsed.payload_len) == env_len);
		if (rs->short_out && parsed.payload_len > 0)
			cap = parsed.payload_len - 1;
	}
	/* Exactly cap bytes, so that ASan sees any write past them. */
	out = malloc(cap > 0 ? cap : 1);
	FUZZ_CHECK(out != NULL);
	memset(out, 0xA5, cap > 0 ? cap : 1);
	memset(info, 0, sizeof *info);
	rc = e2e_open(&rs->r, topic, env, env_len, rs->delivery, out, cap,
		      &out_len, info);
	FUZZ_CHECK(strcmp(e2e_reason(rc), "unknown") != 0);
	if (prc != E2E_OK || is_parse_error(rc))
		FUZZ_CHECK(rc == prc);
	if (rc != E2E_OK) {
		FUZZ_CHECK(out_len == 0);
		if (prc == E2E_OK) {
			size_t n = parsed.payload_len < cap ? parsed.payload_len
							    : cap;
			for (size_t i = 0; i < n; i++)
				FUZZ_CHECK(out[i] == 0);
		}
		free(out);
		*payload = NULL;
		return rc;
	}
	FUZZ_CHECK(prc == E2E_OK);
	FUZZ_CHECK(out_len == parsed.payload_len && out_len <= cap);
	FUZZ_CHECK(info->payload_len == out_len);
	FUZZ_CHECK(info->suite == parsed.suite &&
		   info->is_signed == parsed.is_signed &&
		   info->seq == parsed.seq &&
		   info->sender_id == parsed.sender_id);
	if (rs->r.require & E2E_REQUIRE_ENCRYPTION)
		FUZZ_CHECK(info->suite == E2E_SUITE_AEAD);
	if (rs->r.require & E2E_REQUIRE_SIGNATURE)
		FUZZ_CHECK(info->is_signed);
	if (rs->delivery & E2E_DELIVERY_RETAINED)
		FUZZ_CHECK(info->retained);
	*payload = out;
	return rc;
}

/* An accepted envelope opened again through the same guard is refused. */
static void check_no_second_accept(const struct receiver_setup *rs,
				   const uint8_t *env, size_t env_len)
{
	uint8_t *again;
	e2e_info info;

	if (rs->r.guard == NULL)
		return;
	FUZZ_CHECK(open_checked(rs, env, env_len, &again, &info) != E2E_OK);
}

/* Whether our model of the receiver says the sealed message must open. */
static int must_open(const struct receiver_setup *rs, const e2e_seal_params *p,
		     unsigned signer)
{
	int64_t age;

	if (p->suite != E2E_SUITE_NONE && rs->r.keyring == NULL)
		return 0;
	if ((rs->r.require & E2E_REQUIRE_ENCRYPTION) &&
	    p->suite != E2E_SUITE_AEAD)
		return 0;
	if ((rs->r.require & E2E_REQUIRE_SIGNATURE) && p->signer == NULL)
		return 0;
	if (p->signer != NULL &&
	    (rs->r.trust == NULL || !fuzz_signer_allowed(signer, rs->topic)))
		return 0;
	if ((rs->delivery & E2E_DELIVERY_RETAINED) &&
	    !(p->flags & E2E_SEAL_RETAINED))
		return 0;
	if (rs->r.guard == NULL)
		return 1;
	/* A fresh guard: only the clock matters. Stay clear of the limits'
	 * exact boundaries, which this model does not claim to know. */
	if (p->timestamp == 0)
		return rs->tofu;
	age = (int64_t)rs->r.now - (int64_t)p->timestamp;
	if (age < -(int64_t)E2E_GUARD_DEFAULT_MAX_SKEW + 10)
		return 0;
	if (!(rs->delivery & E2E_DELIVERY_RETAINED) &&
	    age > (int64_t)E2E_GUARD_DEFAULT_MAX_AGE - 10)
		return 0;
	return 1;
}

static void fuzz_reseal(const struct receiver_setup *rs, const uint8_t *data,
			size_t size)
{
	const struct fuzz_world *w = fuzz_world_get();
	uint8_t b = data[2], *env, *payload;
	unsigned signer = (b >> 3) & 3u;
	unsigned sealed_topic = rs->topic;
	int wrong_key = (b & 0x40) != 0, flipped = 0;
	const uint8_t *msg = data + 24;
	size_t msg_len = size - 24, cap, env_len = 0, pos;
	e2e_seal_params p;
	e2e_info info;
	int16_t ts_off;
	int rc;

	if (signer > 2)
		signer = 2;
	memset(&p, 0, sizeof p);
	p.suite = (e2e_suite)(b & 3u);
	p.signer = (b & 0x04) ? w->signer[signer] : NULL;
	p.flags = (b & 0x20) ? E2E_SEAL_RETAINED : 0;
	if (b & 0x80)
		sealed_topic = (sealed_topic + 1) % FUZZ_TOPICS;
	p.seq = 0;
	for (int i = 0; i < 8; i++)
		p.seq = (p.seq << 8) | data[3 + i];
	ts_off = (int16_t)(uint16_t)((data[11] << 8) | data[12]);
	p.timestamp = ts_off == INT16_MIN ? 0 : (uint32_t)(FUZZ_NOW + ts_off);
	p.salt = data + 13;
	p.sender_id = p.signer ? e2e_signer_id(p.signer) : FUZZ_SENDER_ID;
	if (p.suite == E2E_SUITE_AEAD) {
		p.key_id = wrong_key ? FUZZ_KEY_DISABLED_ID : FUZZ_KEY_AEAD_ID;
		p.key = wrong_key ? w->key_disabled : w->key_aead;
	} else if (p.suite == E2E_SUITE_MAC) {
		p.key_id = wrong_key ? FUZZ_KEY_AEAD_ID : FUZZ_KEY_MAC_ID;
		p.key = wrong_key ? w->key_aead : w->key_mac;
	} else {
		wrong_key = 0;
	}

	cap = E2E_SEALED_MAX(msg_len);
	env = malloc(cap);
	FUZZ_CHECK(env != NULL);
	rc = e2e_seal_explicit(&p, fuzz_topic(sealed_topic), msg, msg_len, env,
			       cap, &env_len);
	if (p.suite > E2E_SUITE_NONE ||
	    (p.suite == E2E_SUITE_NONE && p.signer == NULL))
		FUZZ_CHECK(rc != E2E_OK);
	if (rc != E2E_OK) {
		FUZZ_CHECK(env_len == 0);
		free(env);
		return;
	}
	FUZZ_CHECK(env_len ==
		   e2e_sealed_len(p.suite, p.signer != NULL, msg_len));
	FUZZ_CHECK(e2e_parse(env, env_len, &info) == E2E_OK);
	FUZZ_CHECK(info.suite == p.suite && info.key_id == p.key_id &&
		   info.is_signed == (p.signer != NULL) &&
		   info.retained == ((p.flags & E2E_SEAL_RETAINED) != 0) &&
		   info.sender_id == p.sender_id && info.seq == p.seq &&
		   info.timestamp == p.timestamp &&
		   info.payload_len == msg_len);

	if (data[23] != 0) {
		pos = ((size_t)data[21] << 8 | data[22]) % env_len;
		env[pos] ^= data[23];
		flipped = 1;
	}
	rc = open_checked(rs, env, env_len, &payload, &info);
	if (flipped || wrong_key || sealed_topic != rs->topic)
		FUZZ_CHECK(rc != E2E_OK);
	else if (must_open(rs, &p, signer) && !rs->short_out)
		FUZZ_CHECK(rc == E2E_OK);
	if (rc == E2E_OK) {
		FUZZ_CHECK(memcmp(payload, msg, msg_len) == 0);
		free(payload);
		check_no_second_accept(rs, env, env_len);
	}
	free(env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receiver_setup rs;
	uint8_t *payload;
	e2e_info info;

	fuzz_init();
	if (size < 2)
		return 0;
	setup_receiver(data, &rs);
	if (data[1] & 0x01) {
		if (size >= 24)
			fuzz_reseal(&rs, data, size);
	} else if (open_checked(&rs, data + 2, size - 2, &payload, &info) ==
		   E2E_OK) {
		free(payload);
		check_no_second_accept(&rs, data + 2, size - 2);
	}
	e2e_guard_free(rs.r.guard);
	return 0;
}
