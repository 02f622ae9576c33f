/*
 * The v1 envelope: sizes, sealing, parsing and opening (docs/ENVELOPE.md).
 *
 * Nothing on the seal and open paths allocates: associated data is assembled
 * in a fixed stack buffer, the MAC and the signature digest are computed by
 * streaming over the pieces, and the sender draws its salts from a pool
 * filled in batches, so a seal costs no CSPRNG call and, where the kernel
 * marks a page wipe-on-fork, no system call.
 */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include <sodium.h>

#define HEADER_AEAD (E2E_HEADER_BYTES + E2E_SALT_BYTES)
#define HEADER_MAC E2E_HEADER_BYTES
/* The largest associated data: aead header || u16(len) || topic (public
 * bytes, so never wiped). */
#define AD_MAX (HEADER_AEAD + 2u + E2E_TOPIC_MAX)
#define DIGEST_BYTES 64u
#define SIGMSG_BYTES (E2E__SIG_CONTEXT_LEN + DIGEST_BYTES)
#define SALT_POOL 32u /* salts drawn from the CSPRNG at a time */

/* ------------------------------------------------------------------------ */
/* Initialisation and sizes                                                 */
/* ------------------------------------------------------------------------ */

E2E_API int e2e_init(void)
{
	/* sodium_init() returns 1 when already initialised. */
	return sodium_init() < 0 ? E2E_ERR_NOMEM : E2E_OK;
}

E2E_API size_t e2e_keybytes(void)
{
	return E2E_KEYBYTES;
}

E2E_API size_t e2e_header_bytes(void)
{
	return E2E_HEADER_BYTES;
}

E2E_API size_t e2e_salt_bytes(void)
{
	return E2E_SALT_BYTES;
}

E2E_API size_t e2e_tag_bytes(void)
{
	return E2E_TAG_BYTES;
}

E2E_API size_t e2e_sig_bytes(void)
{
	return E2E_SIG_BYTES;
}

E2E_API size_t e2e_sign_publickeybytes(void)
{
	return E2E_SIGN_PUBLICKEYBYTES;
}

E2E_API size_t e2e_sign_secretkeybytes(void)
{
	return E2E_SIGN_SECRETKEYBYTES;
}

E2E_API size_t e2e_sign_seedbytes(void)
{
	return E2E_SIGN_SEEDBYTES;
}

E2E_API size_t e2e_topic_max(void)
{
	return E2E_TOPIC_MAX;
}

E2E_API size_t e2e_payload_max(void)
{
	return E2E_PAYLOAD_MAX;
}

E2E_API size_t e2e_overhead_max(void)
{
	return E2E_OVERHEAD_MAX;
}

E2E_API size_t e2e_info_sizeof(void)
{
	return sizeof(e2e_info);
}

E2E_API size_t e2e_overhead(e2e_suite suite, int is_signed)
{
	size_t sig = is_signed ? E2E_SIG_BYTES : 0;

	switch (suite) {
	case E2E_SUITE_AEAD:
		return E2E_OVERHEAD_AEAD + sig;
	case E2E_SUITE_MAC:
		return E2E_OVERHEAD_MAC + sig;
	case E2E_SUITE_NONE:
		return is_signed ? E2E_OVERHEAD_SIGNONLY : 0;
	}
	return 0;
}

E2E_API size_t e2e_sealed_len(e2e_suite suite, int is_signed, size_t n)
{
	size_t o = e2e_overhead(suite, is_signed);

	if (o == 0 || n > E2E_PAYLOAD_MAX)
		return 0;
	return n + o;
}

E2E_API const char *e2e_suite_name(e2e_suite suite)
{
	switch (suite) {
	case E2E_SUITE_AEAD:
		return "aead";
	case E2E_SUITE_MAC:
		return "mac";
	case E2E_SUITE_NONE:
		return "none";
	}
	return "invalid";
}

E2E_API int e2e_suite_parse(const char *s, e2e_suite *out)
{
	static const e2e_suite all[] = {E2E_SUITE_AEAD, E2E_SUITE_MAC,
					E2E_SUITE_NONE};
	size_t i;

	if (s == NULL || out == NULL)
		return E2E_ERR_INVAL;
	for (i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (strcmp(s, e2e_suite_name(all[i])) == 0) {
			*out = all[i];
			return E2E_OK;
		}
	}
	return E2E_ERR_INVAL;
}

/* ------------------------------------------------------------------------ */
/* Pieces shared by sealing and opening                                     */
/* ------------------------------------------------------------------------ */

static size_t header_len(e2e_suite suite)
{
	return suite == E2E_SUITE_AEAD ? HEADER_AEAD : HEADER_MAC;
}

/* AD = header || u16(len(T)) || T, into ad (AD_MAX bytes). */
static size_t build_ad(uint8_t ad[AD_MAX], const uint8_t *header, size_t hlen,
		       const char *topic, size_t tlen)
{
	memcpy(ad, header, hlen);
	ad[hlen] = (uint8_t)(tlen >> 8);
	ad[hlen + 1] = (uint8_t)tlen;
	memcpy(ad + hlen + 2, topic, tlen);
	return hlen + 2 + tlen;
}

/* tag = first 16 bytes of HMAC-SHA-256(key, header || u16(len) || T ||
 * body). */
static void mac_tag(uint8_t tag[E2E_TAG_BYTES], const uint8_t *key,
		    const uint8_t *header, const char *topic, size_t tlen,
		    const uint8_t *body, size_t body_len)
{
	crypto_auth_hmacsha256_state st;
	uint8_t full[crypto_auth_hmacsha256_BYTES];
	uint8_t len16[2] = {(uint8_t)(tlen >> 8), (uint8_t)tlen};

	crypto_auth_hmacsha256_init(&st, key, E2E_KEYBYTES);
	crypto_auth_hmacsha256_update(&st, header, HEADER_MAC);
	crypto_auth_hmacsha256_update(&st, len16, sizeof len16);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)topic, tlen);
	crypto_auth_hmacsha256_update(&st, body, body_len);
	crypto_auth_hmacsha256_final(&st, full);
	memcpy(tag, full, E2E_TAG_BYTES);
	sodium_memzero(&st, sizeof st);
	sodium_memzero(full, sizeof full);
}

/* The 77 signed bytes: context || BLAKE2b-512(unsigned || u16(len) || T). */
static void sig_message(uint8_t msg[SIGMSG_BYTES], const uint8_t *unsigned_env,
			size_t len, const char *topic, size_t tlen)
{
	crypto_generichash_state st;
	uint8_t len16[2] = {(uint8_t)(tlen >> 8), (uint8_t)tlen};

	memcpy(msg, E2E__SIG_CONTEXT, E2E__SIG_CONTEXT_LEN);
	crypto_generichash_init(&st, NULL, 0, DIGEST_BYTES);
	crypto_generichash_update(&st, unsigned_env, len);
	crypto_generichash_update(&st, len16, sizeof len16);
	crypto_generichash_update(&st, (const uint8_t *)topic, tlen);
	crypto_generichash_final(&st, msg + E2E__SIG_CONTEXT_LEN, DIGEST_BYTES);
}

/* Topic length for sealing, or 0 when the topic is not a valid name (empty,
 * too long, or holding a wildcard). Reads at most E2E_TOPIC_MAX + 1 bytes.
 * libc's vectorised strnlen() and memchr() are about three times cheaper
 * than one byte-by-byte pass at typical topic lengths (docs/PERFORMANCE.md). */
static size_t seal_topic_len(const char *topic)
{
	size_t n = strnlen(topic, E2E_TOPIC_MAX + 1);

	if (n > E2E_TOPIC_MAX || memchr(topic, '+', n) != NULL ||
	    memchr(topic, '#', n) != NULL)
		return 0;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Sealing                                                                  */
/* ------------------------------------------------------------------------ */

static int check_params(const e2e_seal_params *p)
{
	if ((p->flags & ~E2E_SEAL_RETAINED) != 0)
		return E2E_ERR_INVAL;
	switch (p->suite) {
	case E2E_SUITE_AEAD:
		if (p->salt == NULL)
			return E2E_ERR_INVAL;
		/* fall through */
	case E2E_SUITE_MAC:
		if (p->key == NULL || p->key_id == 0)
			return E2E_ERR_INVAL;
		break;
	case E2E_SUITE_NONE:
		if (p->key != NULL || p->key_id != 0 || p->signer == NULL)
			return E2E_ERR_INVAL;
		break;
	default:
		return E2E_ERR_INVAL;
	}
	if (p->signer != NULL && p->sender_id != e2e_signer_id(p->signer))
		return E2E_ERR_INVAL;
	return E2E_OK;
}

E2E_API int e2e_seal_explicit(const e2e_seal_params *p, const char *topic,
			      const uint8_t *msg, size_t msg_len, uint8_t *out,
			      size_t out_cap, size_t *out_len)
{
	uint8_t ad[AD_MAX];
	uint8_t sigmsg[SIGMSG_BYTES];
	size_t hlen, tlen, total, body_end;
	int is_signed, rc;

	if (out_len != NULL)
		*out_len = 0;
	if (p == NULL || topic == NULL || out == NULL || out_len == NULL ||
	    (msg == NULL && msg_len > 0)) {
		rc = E2E_ERR_INVAL;
		goto fail;
	}
	if ((rc = check_params(p)) != E2E_OK)
		goto fail;
	if ((tlen = seal_topic_len(topic)) == 0) {
		rc = E2E_ERR_TOPIC;
		goto fail;
	}
	is_signed = p->signer != NULL;
	if ((total = e2e_sealed_len(p->suite, is_signed, msg_len)) == 0) {
		rc = E2E_ERR_TOO_LARGE;
		goto fail;
	}
	if (out_cap < total) {
		rc = E2E_ERR_BUFFER_TOO_SMALL;
		goto fail;
	}

	hlen = header_len(p->suite);
	out[E2E__OFF_MAGIC] = E2E_MAGIC_V1;
	out[E2E__OFF_FLAGS] =
		(uint8_t)((unsigned)p->suite |
			  (is_signed ? E2E__FLAG_SIGNED : 0u) |
			  ((p->flags & E2E_SEAL_RETAINED) ? E2E__FLAG_RETAINED
							  : 0u));
	e2e__store32(out + E2E__OFF_KEY_ID, p->key_id);
	e2e__store32(out + E2E__OFF_TIMESTAMP, p->timestamp);
	e2e__store64(out + E2E__OFF_SENDER, p->sender_id);
	e2e__store64(out + E2E__OFF_SEQ, p->seq);

	body_end = hlen + msg_len;
	switch (p->suite) {
	case E2E_SUITE_AEAD: {
		size_t adlen;
		memcpy(out + E2E__OFF_SALT, p->salt, E2E_SALT_BYTES);
		adlen = build_ad(ad, out, hlen, topic, tlen);
		crypto_aead_xchacha20poly1305_ietf_encrypt(
			out + hlen, NULL, msg, msg_len, ad, adlen, NULL,
			out + E2E__NONCE_OFF, p->key);
		body_end += E2E_TAG_BYTES;
		break;
	}
	case E2E_SUITE_MAC:
		if (msg_len > 0)
			memmove(out + hlen, msg, msg_len);
		mac_tag(out + body_end, p->key, out, topic, tlen, out + hlen,
			msg_len);
		body_end += E2E_TAG_BYTES;
		break;
	case E2E_SUITE_NONE:
		if (msg_len > 0)
			memmove(out + hlen, msg, msg_len);
		break;
	}

	if (is_signed) {
		sig_message(sigmsg, out, body_end, topic, tlen);
		crypto_sign_detached(out + body_end, NULL, sigmsg,
				     sizeof sigmsg,
				     e2e__signer_secret(p->signer));
	}
	*out_len = total;
	return E2E_OK;
fail:
	if (out != NULL && out_cap > 0)
		sodium_memzero(out, out_cap);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Senders                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A child that does not share its parent's memory must not seal with the
 * rest of its parent's salt pool: with the same sender id and sequence
 * number it would repeat whole nonces. pthread_atfork handlers cannot tell:
 * glibc's _Fork() and raw clone()/fork() system calls skip them. The kernel
 * can: a page marked MADV_WIPEONFORK (Linux 4.14) reads as zeros in every
 * child made without CLONE_VM. That page holds one word, this process's
 * generation, never 0 once set. A sender remembers the generation its pool
 * was filled under; a child finds 0, takes a generation larger than any its
 * ancestors used (the counter is ordinary memory, so the child inherits it),
 * and every pool it inherited is stale. A seal costs a load and a compare.
 * Where the page cannot be had (older kernels, other systems) the generation
 * is the process id, at a getpid() call per seal; glibc has not cached it
 * since 2.25, so it is right after _Fork() and raw clones too.
 */
static _Atomic unsigned long *wipe_page;   /* NULL: use getpid() */
static _Atomic unsigned long *mapped_page; /* kept for the tests' switch */
static atomic_ulong generations;           /* the last generation taken */
static pthread_once_t wipe_page_once = PTHREAD_ONCE_INIT;

static void map_wipe_page(void)
{
#ifdef MADV_WIPEONFORK
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	if (madvise(p, len, MADV_WIPEONFORK) != 0) {
		(void)munmap(p, len);
		return;
	}
	mapped_page = wipe_page = p;
	atomic_store(wipe_page, atomic_fetch_add(&generations, 1) + 1);
#endif
}

void e2e__sender_detect_forks_by_pid(int on)
{
	(void)pthread_once(&wipe_page_once, map_wipe_page);
	wipe_page = on ? NULL : mapped_page;
}

/* A child's first seal: take a new generation (another thread of the child
 * may have taken one first; then use that). */
static unsigned long new_generation(void)
{
	unsigned long seen = 0, want = atomic_fetch_add(&generations, 1) + 1;

	if (atomic_compare_exchange_strong(wipe_page, &seen, want))
		return want;
	return seen;
}

static unsigned long generation(void)
{
	unsigned long g;

	if (wipe_page == NULL)
		return (unsigned long)getpid();
	g = atomic_load_explicit(wipe_page, memory_order_relaxed);
	return g != 0 ? g : new_generation();
}

struct e2e_sender {
	uint64_t id;
	uint64_t next_seq;
	int exhausted; /* the last sequence number has been used */
	int no_clock;
	const e2e_signer *signer;
	unsigned salt_next;     /* salts used from the pool */
	unsigned long salt_gen; /* generation() when the pool was filled */
	uint8_t salts[SALT_POOL * E2E_SALT_BYTES];
};

E2E_API int e2e_sender_new(e2e_sender **out, const e2e_sender_opts *opts)
{
	e2e_sender *s;
	uint32_t epoch;

	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	(void)pthread_once(&wipe_page_once, map_wipe_page);
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return E2E_ERR_NOMEM;
	if (opts != NULL && opts->signer != NULL)
		s->id = e2e_signer_id(opts->signer);
	else if (opts != NULL && opts->sender_id != 0)
		s->id = opts->sender_id;
	else
		while (s->id == 0)
			randombytes_buf(&s->id, sizeof s->id);
	epoch = opts != NULL ? opts->epoch : 0;
	/* From the clock at its full resolution, as e2e_epoch_reserve does:
	 * a restart within the same second still starts higher. */
	s->next_seq = epoch != 0 ? (uint64_t)epoch << 32 : e2e__now_seq();
	s->signer = opts != NULL ? opts->signer : NULL;
	s->no_clock = opts != NULL && opts->no_clock;
	s->salt_next = SALT_POOL; /* filled on first use */
	*out = s;
	return E2E_OK;
}

E2E_API void e2e_sender_advance(e2e_sender *s, uint64_t seq)
{
	if (s != NULL && seq > s->next_seq)
		s->next_seq = seq;
}

E2E_API void e2e_sender_free(e2e_sender *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s, sizeof *s);
	free(s);
}

E2E_API uint64_t e2e_sender_id(const e2e_sender *s)
{
	return s != NULL ? s->id : 0;
}

E2E_API uint64_t e2e_sender_next_seq(const e2e_sender *s)
{
	return s != NULL ? s->next_seq : 0;
}

void e2e__sender_set_next_seq(e2e_sender *s, uint64_t seq)
{
	s->next_seq = seq;
	s->exhausted = 0;
}

static const uint8_t *next_salt(e2e_sender *s)
{
	unsigned long g = generation();

	if (s->salt_next >= SALT_POOL || s->salt_gen != g) {
		randombytes_buf(s->salts, sizeof s->salts);
		s->salt_next = 0;
		s->salt_gen = g;
	}
	return s->salts + E2E_SALT_BYTES * s->salt_next++;
}

E2E_API int e2e_seal(e2e_sender *s, const e2e_keyring *kr, const char *topic,
		     const uint8_t *msg, size_t msg_len, uint32_t flags,
		     uint8_t *out, size_t out_cap, size_t *out_len)
{
	e2e_seal_params p;
	const struct e2e__key *k = NULL;
	uint64_t now = e2e__now();
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (s == NULL || out == NULL || out_len == NULL ||
	    (kr == NULL && s->signer == NULL)) {
		rc = E2E_ERR_INVAL;
		goto fail;
	}
	if (s->exhausted) {
		rc = E2E_ERR_SEQ_EXHAUSTED;
		goto fail;
	}
	/* The primary for the topic at the time the envelope says it was
	 * sealed: a keyring's schedule switches keys by itself. (A NULL topic
	 * is refused by e2e_seal_explicit.) */
	if (kr != NULL &&
	    (k = topic != NULL ? e2e__keyring_seal_key(kr, now, topic)
			       : e2e__keyring_primary_at(kr, now)) == NULL) {
		rc = E2E_ERR_NO_KEY;
		goto fail;
	}
	memset(&p, 0, sizeof p);
	p.suite = k != NULL ? (e2e_suite)k->suite : E2E_SUITE_NONE;
	p.key_id = k != NULL ? k->id : 0;
	p.key = k != NULL ? k->key : NULL;
	p.signer = s->signer;
	p.sender_id = s->id;
	p.seq = s->next_seq;
	p.timestamp = s->no_clock ? 0 : (uint32_t)now;
	p.flags = flags;
	p.salt = p.suite == E2E_SUITE_AEAD ? next_salt(s) : NULL;
	/* e2e_seal_explicit zeroes out itself on failure. */
	rc = e2e_seal_explicit(&p, topic, msg, msg_len, out, out_cap, out_len);
	if (rc == E2E_OK) {
		if (s->next_seq == UINT64_MAX)
			s->exhausted = 1;
		else
			s->next_seq++; /* a counter wrap moves to epoch + 1 */
	}
	return rc;
fail:
	if (out != NULL && out_cap > 0)
		sodium_memzero(out, out_cap);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Parsing                                                                  */
/* ------------------------------------------------------------------------ */

E2E_API int e2e_parse(const uint8_t *env, size_t env_len, e2e_info *info)
{
	unsigned flags;
	e2e_suite suite;
	int is_signed;
	size_t over;

	if (info == NULL || (env == NULL && env_len > 0))
		return E2E_ERR_INVAL;
	memset(info, 0, sizeof *info);
	/* An empty payload is "malformed": too short to carry a version. */
	if (env_len == 0)
		return E2E_ERR_MALFORMED;
	if (env[E2E__OFF_MAGIC] != E2E_MAGIC_V1)
		return env[E2E__OFF_MAGIC] == 0xFC ||
				       env[E2E__OFF_MAGIC] == 0xFE
			       ? E2E_ERR_VERSION
			       : E2E_ERR_NOT_E2E;
	if (env_len < 2)
		return E2E_ERR_MALFORMED;
	flags = env[E2E__OFF_FLAGS];
	if ((flags & E2E__FLAG_RESERVED) != 0)
		return E2E_ERR_RESERVED;
	if ((flags & E2E__FLAG_SUITE_MASK) > E2E_SUITE_NONE)
		return E2E_ERR_MALFORMED;
	suite = (e2e_suite)(flags & E2E__FLAG_SUITE_MASK);
	is_signed = (flags & E2E__FLAG_SIGNED) != 0;
	over = e2e_overhead(suite, is_signed);
	if (over == 0 || env_len < over)
		return E2E_ERR_MALFORMED;
	if (suite == E2E_SUITE_NONE && e2e__load32(env + E2E__OFF_KEY_ID) != 0)
		return E2E_ERR_MALFORMED;

	info->suite = suite;
	info->is_signed = is_signed;
	info->retained = (flags & E2E__FLAG_RETAINED) != 0;
	info->key_id = e2e__load32(env + E2E__OFF_KEY_ID);
	info->timestamp = e2e__load32(env + E2E__OFF_TIMESTAMP);
	info->sender_id = e2e__load64(env + E2E__OFF_SENDER);
	info->seq = e2e__load64(env + E2E__OFF_SEQ);
	info->payload_len = env_len - over;
	return E2E_OK;
}

/* ------------------------------------------------------------------------ */
/* Opening                                                                  */
/* ------------------------------------------------------------------------ */

/* Steps 2 and 3 of the processing order: key lookup, then policy. */
static int lookup_and_policy(const e2e_receiver *r, const e2e_info *info,
			     const char *topic, uint32_t delivery, uint64_t now,
			     const struct e2e__key **key,
			     const uint8_t **signer_pk)
{
	*key = NULL;
	*signer_pk = NULL;
	if (info->suite != E2E_SUITE_NONE) {
		const struct e2e__key *k =
			r->keyring != NULL
				? e2e__keyring_lookup(r->keyring, info->key_id)
				: NULL;
		if (k == NULL)
			return E2E_ERR_UNKNOWN_KEY;
		if (e2e__key_disabled_at(k, now))
			return E2E_ERR_DISABLED_KEY;
		if (k->suite != (uint8_t)info->suite)
			return E2E_ERR_SUITE_MISMATCH;
		/* A per-topic key (a tenant's, a device's) opens only its
		 * topics: another holder of it must not reach the rest. */
		if (!e2e__key_allows(k, topic))
			return E2E_ERR_KEY_TOPIC;
		*key = k;
	}
	if ((r->require & E2E_REQUIRE_ENCRYPTION) &&
	    info->suite != E2E_SUITE_AEAD)
		return E2E_ERR_UNENCRYPTED;
	if ((r->require & E2E_REQUIRE_SIGNATURE) && !info->is_signed)
		return E2E_ERR_UNSIGNED;
	if (info->is_signed) {
		int allowed = 0;
		const uint8_t *pk =
			r->trust != NULL
				? e2e__trust_lookup(r->trust, info->sender_id,
						    topic, &allowed)
				: NULL;
		if (pk == NULL || !allowed)
			return E2E_ERR_UNTRUSTED_SIGNER;
		*signer_pk = pk;
	}
	if ((delivery & E2E_DELIVERY_RETAINED) && !info->retained)
		return E2E_ERR_NOT_RETAINED;
	return E2E_OK;
}

/* Step 6: the tag. aead decrypts into out (libsodium checks the tag before
 * it writes any plaintext); mac only verifies, the caller copies. */
static int verify_tag(const struct e2e__key *k, const e2e_info *info,
		      const char *topic, size_t tlen, const uint8_t *env,
		      uint8_t *out)
{
	uint8_t ad[AD_MAX];
	uint8_t tag[E2E_TAG_BYTES];
	size_t hlen = header_len(info->suite), adlen;
	int rc = E2E_OK;

	if (info->suite == E2E_SUITE_AEAD) {
		adlen = build_ad(ad, env, hlen, topic, tlen);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
			    out, NULL, NULL, env + hlen,
			    info->payload_len + E2E_TAG_BYTES, ad, adlen,
			    env + E2E__NONCE_OFF, k->key) != 0)
			rc = E2E_ERR_BAD_TAG;
	} else if (info->suite == E2E_SUITE_MAC) {
		mac_tag(tag, k->key, env, topic, tlen, env + hlen,
			info->payload_len);
		if (crypto_verify_16(tag, env + hlen + info->payload_len) != 0)
			rc = E2E_ERR_BAD_TAG;
		sodium_memzero(tag, sizeof tag);
	}
	return rc;
}

static int verify_signature(const uint8_t *pk, const uint8_t *env,
			    size_t env_len, const char *topic, size_t tlen)
{
	uint8_t sigmsg[SIGMSG_BYTES];
	size_t unsigned_len = env_len - E2E_SIG_BYTES;

	sig_message(sigmsg, env, unsigned_len, topic, tlen);
	if (crypto_sign_verify_detached(env + unsigned_len, sigmsg,
					sizeof sigmsg, pk) != 0)
		return E2E_ERR_BAD_SIGNATURE;
	return E2E_OK;
}

static int subscribed(const e2e_receiver *r, const char *topic)
{
	if (r->filters == NULL)
		return 0;
	for (size_t i = 0; i < r->filter_count; i++)
		if (e2e_subscription_matches(r->filters[i], topic))
			return 1;
	return 0;
}

E2E_API int e2e_open(const e2e_receiver *r, const char *topic,
		     const uint8_t *env, size_t env_len, uint32_t delivery,
		     uint8_t *out, size_t out_cap, size_t *out_len,
		     e2e_info *info)
{
	e2e_info in;
	const struct e2e__key *key;
	const uint8_t *signer_pk;
	size_t tlen, wipe = 0;
	uint64_t now;
	int rc, defer;

	memset(&in, 0, sizeof in);
	if (out_len != NULL)
		*out_len = 0;
	if (r == NULL || topic == NULL || out_len == NULL ||
	    (out == NULL && out_cap > 0)) {
		rc = E2E_ERR_INVAL;
		goto cleanup;
	}
	/* 1. Parse (its verdict comes after step 0; the length it finds
	 * tells how much of out to wipe on any error). */
	rc = e2e_parse(env, env_len, &in);
	if (rc == E2E_OK)
		wipe = in.payload_len < out_cap ? in.payload_len : out_cap;
	/* 0. Only topics someone subscribed to, before anything else: an
	 * envelope authentic for another topic must not count as a delivery
	 * on this subscription. */
	if (r->filter_count > 0 && !subscribed(r, topic))
		rc = E2E_ERR_NOT_SUBSCRIBED;
	if (rc != E2E_OK)
		goto cleanup;
	tlen = strnlen(topic, E2E_TOPIC_MAX + 1);
	if (tlen == 0 || tlen > E2E_TOPIC_MAX) {
		rc = E2E_ERR_TOPIC;
		goto cleanup;
	}
	if (out_cap < in.payload_len) {
		rc = E2E_ERR_BUFFER_TOO_SMALL;
		goto cleanup;
	}
	/* 2. Key lookup (a key's state at now: keyrings follow their
	 * schedule), 3. policy. */
	now = r->now != 0 ? r->now : e2e__now();
	rc = lookup_and_policy(r, &in, topic, delivery, now, &key, &signer_pk);
	if (rc != E2E_OK)
		goto cleanup;
	/* 4. Replay pre-check and 5. time window, without changing state. */
	if (r->guard != NULL && (rc = e2e_guard_check(r->guard, &in, topic,
						      delivery, now)) != E2E_OK)
		goto cleanup;
	/* 6. Tag, 7. signature. A signed aead envelope is decrypted only once
	 * its signature verified: no unverified plaintext ever reaches out. */
	defer = in.is_signed && in.suite == E2E_SUITE_AEAD;
	if ((rc = verify_tag(key, &in, topic, tlen, env, defer ? NULL : out)) !=
	    E2E_OK)
		goto cleanup;
	if (in.is_signed && (rc = verify_signature(signer_pk, env, env_len,
						   topic, tlen)) != E2E_OK)
		goto cleanup;
	if (defer &&
	    (rc = verify_tag(key, &in, topic, tlen, env, out)) != E2E_OK)
		goto cleanup;
	/* An authentic unsigned envelope under a trusted signer's id was made
	 * by a shared-key holder posing as the signer: accepting it would let
	 * it advance (and exhaust) the signer's replay window. */
	if (!in.is_signed && r->trust != NULL) {
		int allowed;

		if (e2e__trust_lookup(r->trust, in.sender_id, topic,
				      &allowed) != NULL) {
			rc = E2E_ERR_UNSIGNED;
			goto cleanup;
		}
	}
	/* 8. Deliver; only now does the guard learn of the message. Clear
	 * bodies are copied only once everything verified. */
	if (in.suite != E2E_SUITE_AEAD && in.payload_len > 0)
		memmove(out, env + header_len(in.suite), in.payload_len);
	if (r->guard != NULL)
		e2e_guard_commit(r->guard, &in, topic, delivery, now);
	*out_len = in.payload_len;
cleanup:
	if (rc != E2E_OK && wipe > 0)
		sodium_memzero(out, wipe);
	if (info != NULL)
		*info = in;
	return rc;
}
