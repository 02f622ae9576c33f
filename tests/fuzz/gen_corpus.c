/*
 * Writes the seed corpus of the fuzz targets: valid envelopes of every mode
 * sealed with the fixed world of fuzz_common.c (so they reach tag and
 * signature checks), a few broken ones, and valid and corrupted replay-guard
 * state files. Run it when the envelope or state format changes:
 *
 *     tests/fuzz/gen_corpus $(top_srcdir)/tests/fuzz/corpus
 *
 * Output is deterministic: all randomness is fixed here.
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"
#include "internal.h"

static const char *root;

static void put(const char *target, const char *name, const uint8_t *data,
		size_t len)
{
	char path[4096];

	snprintf(path, sizeof path, "%s/%s", root, target);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
	FUZZ_CHECK(fuzz_write_file(path, data, len) == 0);
}

struct mode {
	const char *name;
	e2e_suite suite;
	int signer; /* -1: unsigned */
	unsigned topic;
	uint32_t flags;
};

static const struct mode modes[] = {
	{"aead", E2E_SUITE_AEAD, -1, 0, 0},
	{"mac", E2E_SUITE_MAC, -1, 0, 0},
	{"aead-signed", E2E_SUITE_AEAD, 0, 0, 0},
	{"mac-signed", E2E_SUITE_MAC, 0, 1, 0},
	{"none-signed", E2E_SUITE_NONE, 0, 3, 0},
	{"aead-signed-b", E2E_SUITE_AEAD, 1, 1, 0},
	{"aead-retained", E2E_SUITE_AEAD, -1, 0, E2E_SEAL_RETAINED},
	{"mac-untrusted", E2E_SUITE_MAC, 2, 0, 0},
};

static size_t seal(const struct mode *m, uint64_t seq, const char *payload,
		   uint8_t *out, size_t cap)
{
	const struct fuzz_world *w = fuzz_world_get();
	static const uint8_t salt[E2E_SALT_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
	e2e_seal_params p;
	size_t len = 0;

	memset(&p, 0, sizeof p);
	p.suite = m->suite;
	if (m->suite == E2E_SUITE_AEAD) {
		p.key_id = FUZZ_KEY_AEAD_ID;
		p.key = w->key_aead;
	} else if (m->suite == E2E_SUITE_MAC) {
		p.key_id = FUZZ_KEY_MAC_ID;
		p.key = w->key_mac;
	}
	p.signer = m->signer >= 0 ? w->signer[m->signer] : NULL;
	p.sender_id = p.signer ? e2e_signer_id(p.signer) : 0x1122334455667788u;
	p.seq = seq;
	p.timestamp = FUZZ_NOW - 5;
	p.flags = m->flags;
	p.salt = salt;
	FUZZ_CHECK(e2e_seal_explicit(&p, fuzz_topic(m->topic),
				     (const uint8_t *)payload, strlen(payload),
				     out, cap, &len) == E2E_OK);
	return len;
}

static void envelopes(void)
{
	uint8_t env[512], in[520];
	char name[64];

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		const struct mode *m = &modes[i];
		size_t len = seal(m, ((uint64_t)7 << 32) | i, "hello, world",
				  env, sizeof env);

		snprintf(name, sizeof name, "%s.env", m->name);
		put("parse", name, env, len);
		/* open: receiver byte (topic, guard, retained delivery as the
		 * mode needs), clock at FUZZ_NOW, then the envelope. */
		in[0] = (uint8_t)(m->topic << 4) | 0x08 |
			((m->flags & E2E_SEAL_RETAINED) ? 0x04 : 0);
		in[1] = 0x80;
		memcpy(in + 2, env, len);
		snprintf(name, sizeof name, "%s-guard", m->name);
		put("open", name, in, len + 2);
		in[0] = (uint8_t)(m->topic << 4) | 0x03; /* require both */
		snprintf(name, sizeof name, "%s-require", m->name);
		put("open", name, in, len + 2);
		/* The same envelope truncated by one byte, for both. */
		snprintf(name, sizeof name, "%s-truncated.env", m->name);
		put("parse", name, env, len - 1);
	}
	put("parse", "json", (const uint8_t *)"{\"t\":21.5}", 10);
	put("parse", "v0", (const uint8_t *)"\xfc\x00", 2);
}

/* Reseal inputs: bytes 2-23 describe the seal (see fuzz_open.c). */
static void reseals(void)
{
	static const uint8_t suites[] = {0x00, 0x01, 0x04, 0x05, 0x06, 0x24};
	uint8_t in[24 + 16];
	size_t at[4] = {0, 25, 0, 0}, len;
	char name[64];

	for (size_t i = 0; i < sizeof suites; i++) {
		memset(in, 0, sizeof in);
		in[0] = 0x08; /* guard, topic 0 */
		in[1] = 0x81; /* reseal, clock FUZZ_NOW */
		in[2] = suites[i];
		in[6] = 1;     /* seq: epoch 1 */
		in[10] = 5;    /* counter 5 */
		in[11] = 0xFF; /* timestamp FUZZ_NOW - 3 */
		in[12] = 0xFD;
		memcpy(in + 13, "saltsalt", 8);
		memcpy(in + 24, "twenty degrees C", 16);
		snprintf(name, sizeof name, "reseal-%02x", suites[i]);
		put("open", name, in, sizeof in);
		/* One bit flipped in the first byte, the sequence number, the
		 * first body byte and the last byte (tag or signature). */
		len = e2e_sealed_len((e2e_suite)(suites[i] & 3),
				     (suites[i] & 4) != 0, 16);
		FUZZ_CHECK(len > 0);
		at[2] = (suites[i] & 3) == E2E_SUITE_AEAD ? 34 : 26;
		at[3] = len - 1;
		for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
			in[21] = (uint8_t)(at[k] >> 8);
			in[22] = (uint8_t)at[k];
			in[23] = 0x01;
			snprintf(name, sizeof name, "reseal-%02x-flip-%zu",
				 suites[i], at[k]);
			put("open", name, in, sizeof in);
		}
	}
}

/* guard_load inputs: a control byte (1: fix the checksum), then the file. */
static void put_state(const char *name, uint8_t control, const uint8_t *file,
		      size_t len)
{
	uint8_t in[8193];

	FUZZ_CHECK(len < sizeof in);
	in[0] = control;
	memcpy(in + 1, file, len);
	put("guard_load", name, in, len + 1);
}

static void states(void)
{
	const struct fuzz_world *w = fuzz_world_get();
	const char *tmp = fuzz_tmp_path("seed.state");
	e2e_guard_opts o;
	e2e_guard *g;
	e2e_info info;
	uint8_t buf[8192];
	size_t len;
	FILE *f;

	e2e_guard_opts_default(&o);
	o.max_senders = 16;
	o.max_retained_topics = 16;
	FUZZ_CHECK(e2e_guard_new(&g, &o) == E2E_OK);
	FUZZ_CHECK(e2e_guard_save(g, tmp) == E2E_OK);
	f = fopen(tmp, "rb");
	FUZZ_CHECK(f != NULL);
	len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	put_state("empty-guard.state", 0, buf, len);

	memset(&info, 0, sizeof info);
	for (int i = 0; i < 5; i++) {
		int retained = i == 3;

		info.suite = E2E_SUITE_AEAD;
		info.key_id = FUZZ_KEY_AEAD_ID;
		info.sender_id = 0x1000 + (uint64_t)i;
		info.seq = ((uint64_t)3 << 32) | (uint64_t)(10 + i * 70);
		info.timestamp = FUZZ_NOW - 20 + (uint32_t)i;
		info.retained = retained;
		if (i == 4) {
			info.is_signed = 1;
			info.sender_id = e2e_signer_id(w->signer[0]);
		}
		FUZZ_CHECK(e2e_guard_check(g, &info, fuzz_topic(0),
					   retained ? E2E_DELIVERY_RETAINED : 0,
					   FUZZ_NOW) == E2E_OK);
		e2e_guard_commit(g, &info, fuzz_topic(0),
				 retained ? E2E_DELIVERY_RETAINED : 0,
				 FUZZ_NOW);
		/* A second, reordered message for the first sender. */
		if (i == 0) {
			info.seq -= 3;
			FUZZ_CHECK(e2e_guard_check(g, &info, fuzz_topic(0), 0,
						   FUZZ_NOW) == E2E_OK);
			e2e_guard_commit(g, &info, fuzz_topic(0), 0, FUZZ_NOW);
		}
	}
	FUZZ_CHECK(e2e_guard_save(g, tmp) == E2E_OK);
	e2e_guard_free(g);
	f = fopen(tmp, "rb");
	FUZZ_CHECK(f != NULL);
	len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	FUZZ_CHECK(len > 0 && len < sizeof buf);
	put_state("five-senders.state", 0, buf, len);
	put_state("five-senders-fix.state", 1, buf, len);
	put_state("truncated.state", 1, buf, len / 2);
	buf[len / 3] ^= 0x01;
	put_state("flipped.state", 0, buf, len);
	put_state("flipped-fix.state", 1, buf, len);
	put_state("garbage.state", 1, (const uint8_t *)"hello\n\n\x01", 8);
}

/* A saved file, and broken copies of it: truncated, and one byte flipped. */
static void put_file_variants(const char *target, const char *name,
			      const char *path)
{
	uint8_t buf[16384];
	char vname[128];
	size_t len;
	FILE *f = fopen(path, "rb");

	FUZZ_CHECK(f != NULL);
	len = fread(buf, 1, sizeof buf, f);
	fclose(f);
	FUZZ_CHECK(len > 0 && len < sizeof buf);
	put(target, name, buf, len);
	snprintf(vname, sizeof vname, "%s-truncated", name);
	put(target, vname, buf, len * 2 / 3);
	buf[len * 3 / 4] ^= 0x04;
	snprintf(vname, sizeof vname, "%s-flipped", name);
	put(target, vname, buf, len);
}

static void keyfiles(void)
{
	const struct fuzz_world *w = fuzz_world_get();
	const char *tmp = fuzz_tmp_path("seed.key");
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];

	FUZZ_CHECK(e2e_keyring_save(w->keyring, tmp, 0) == E2E_OK);
	put_file_variants("keyring", "three-keys", tmp);
	FUZZ_CHECK(e2e_trust_save(w->trust, tmp, 0) == E2E_OK);
	put_file_variants("trust", "two-signers", tmp);
	e2e_signer_public(w->signer[0], pk);
	FUZZ_CHECK(e2e_pubkey_save(pk, tmp, 0) == E2E_OK);
	put_file_variants("pubkey", "signer-a", tmp);
	FUZZ_CHECK(e2e_signer_save(w->signer[0], tmp, NULL, 0, 0, 0, 0) ==
		   E2E_OK);
	put_file_variants("signer", "clear", tmp);
	/* The cheapest Argon2id costs libsodium allows: seeds must be fast. */
	FUZZ_CHECK(e2e_signer_save(w->signer[1], tmp, "fuzz", 4, 1, 8192, 0) ==
		   E2E_OK);
	put_file_variants("signer", "encrypted", tmp);
}

/* The ephemeral keys of the seeds' sealed boxes: fixed, as all else. */
static void fixed_ephemeral(void *ctx, size_t i, uint8_t esk[32])
{
	(void)ctx;
	memset(esk, 0x70 + (int)i, 32);
}

/* An input of the update target: control bytes, then body or envelope. */
static void put_update(const char *name, uint8_t control, uint8_t last,
		       const uint8_t *data, size_t len)
{
	static uint8_t in[8192];

	FUZZ_CHECK(len + 2 <= sizeof in);
	in[0] = control;
	in[1] = last;
	memcpy(in + 2, data, len);
	put("update", name, in, len + 2);
}

static void updates(void)
{
	static const uint8_t k1[32] = {1}, k2[32] = {2}, k3[32] = {3};
	uint8_t member_pk[32], other_pk[32], sk[32], body[4096], env[4200];
	const uint32_t mine[] = {0x10000001u, 0x10000002u}, theirs[] = {0x300u};
	e2e_update_key keys[] = {
		{0x10000001u, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 0,
		 FUZZ_NOW + 3600, "", k1, 0},
		{0x10000002u, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, FUZZ_NOW + 100,
		 0, "", k2, 0},
		{0x300u, E2E_SUITE_MAC, E2E_KEY_ENABLED, 0, 0,
		 "fuzz/#,fuzz/+/x", k3, 0},
		{0x7fu, E2E_SUITE_AEAD, E2E_KEY_DISABLED, 0, 0, "", NULL, 0},
	};
	e2e_update_recipient r[2] = {{member_pk, mine, 2},
				     {other_pk, theirs, 1}};
	e2e_update_params p = {FUZZ_UPDATE_GROUP, 5, FUZZ_NOW, keys, 4, r, 2};
	e2e_member *m;
	size_t len = 0, elen;

	memset(sk, FUZZ_MEMBER_BYTE, sizeof sk);
	FUZZ_CHECK(e2e_member_from_secret(&m, sk) == E2E_OK);
	e2e_member_public(m, member_pk);
	e2e_member_free(m);
	memset(sk, 0x33, sizeof sk);
	FUZZ_CHECK(e2e_member_from_secret(&m, sk) == E2E_OK);
	e2e_member_public(m, other_pk);
	e2e_member_free(m);
	e2e__update_set_ephemeral(fixed_ephemeral, NULL);
	FUZZ_CHECK(e2e_update_build(&p, body, sizeof body, &len) == E2E_OK);
	elen = fuzz_seal_update(body, len, env, sizeof env);
	put_update("body-valid", 1, 0, body, len);
	put_update("body-replayed", 1, 5, body, len);
	put_update("env-valid", 2, 0, env, elen);
	put_update("env-not-retained-delivery", 0, 4, env, elen);
	put_update("body-truncated", 1, 0, body, len - 7);
	/* Only the other member: not a recipient. */
	p.recipients = r + 1;
	p.recipient_count = 1;
	FUZZ_CHECK(e2e_update_build(&p, body, sizeof body, &len) == E2E_OK);
	put_update("body-other-member", 1, 0, body, len);
	e2e__update_set_ephemeral(NULL, NULL);
	put_update("body-header-only", 1, 0,
		   (const uint8_t *)"e2ku\x01\x04fuzz", 10);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	root = argv[1];
	mkdir(root, 0755);
	envelopes();
	reseals();
	keyfiles();
	states();
	updates();
	return 0;
}
