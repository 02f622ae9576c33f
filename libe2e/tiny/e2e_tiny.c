/*
 * e2e_tiny.c — mac-suite envelopes (docs/ENVELOPE.md) for microcontrollers.
 *
 * SHA-256 follows FIPS 180-4 section 6.2, HMAC follows RFC 2104. Both are
 * written for flash and stack size, not speed: one loop body does all 64
 * rounds, the message schedule is a 16-word ring computed in place over the
 * block in the context, and the HMAC key pad is absorbed 16 bytes at a time.
 * Figures and how they are measured: README.md, "Size and memory".
 */
#include <string.h>

#include "e2e_tiny.h"

#define FLAG_SUITE_MAC 0x01u
#define FLAG_SIGNED 0x04u
#define FLAG_RETAINED 0x08u
#define FLAG_RESERVED 0xF0u

static void store32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t load32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* A plain memset may be removed as a dead store; writes through a volatile
 * pointer may not. */
static void wipe(void *p, size_t n)
{
	volatile uint8_t *v = (volatile uint8_t *)p;

	while (n--)
		*v++ = 0;
}

#ifndef E2E_TINY_SHA256_HEADER

/* First 32 bits of the fractional parts of the cube roots of the first 64
 * primes (FIPS 180-4, 4.2.2). */
static const uint32_t K[64] = {
	0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu,
	0x59f111f1u, 0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u,
	0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u,
	0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu,
	0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u,
	0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
	0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
	0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u,
	0xa2bfe8a1u, 0xa81a664bu, 0xc24b8b70u, 0xc76c51a3u, 0xd192e819u,
	0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u, 0x1e376c08u,
	0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu,
	0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
	0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

/*
 * Compress the block held in w as 64 big-endian bytes. The message schedule
 * is computed in place over it (the block is not needed afterwards), which
 * keeps 64 bytes off the stack.
 */
static void sha256_block(uint32_t h[8], uint32_t w[16])
{
	uint32_t v[8], t1, t2, s0, s1;
	unsigned i;

	for (i = 0; i < 8; i++)
		v[i] = h[i];
	for (i = 0; i < 64; i++) {
		if (i < 16) {
			w[i] = load32((const uint8_t *)&w[i]);
		} else {
			/* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16],
			 * with W[t-16] in the slot being overwritten. */
			s0 = w[(i + 1) & 15];
			s1 = w[(i + 14) & 15];
			s0 = ROR(s0, 7) ^ ROR(s0, 18) ^ (s0 >> 3);
			s1 = ROR(s1, 17) ^ ROR(s1, 19) ^ (s1 >> 10);
			w[i & 15] += s0 + w[(i + 9) & 15] + s1;
		}
		/* v = a b c d e f g h */
		t1 = v[7] + (ROR(v[4], 6) ^ ROR(v[4], 11) ^ ROR(v[4], 25)) +
		     ((v[4] & v[5]) ^ (~v[4] & v[6])) + K[i] + w[i & 15];
		t2 = (ROR(v[0], 2) ^ ROR(v[0], 13) ^ ROR(v[0], 22)) +
		     ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
		/* Written out: a loop here becomes a memmove call. */
		v[7] = v[6];
		v[6] = v[5];
		v[5] = v[4];
		v[4] = v[3] + t1;
		v[3] = v[2];
		v[2] = v[1];
		v[1] = v[0];
		v[0] = t1 + t2;
	}
	for (i = 0; i < 8; i++)
		h[i] += v[i];
	wipe(v, sizeof v);
}

void e2e_tiny_sha256_init(e2e_tiny_sha256_ctx *c)
{
	static const uint32_t iv[8] = {
		0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
		0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
	};

	memcpy(c->h, iv, sizeof iv);
	c->len = 0;
}

void e2e_tiny_sha256_update(e2e_tiny_sha256_ctx *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t used = c->len & 63u;
		size_t take = 64u - used;

		if (take > n)
			take = n;
		memcpy(c->block.b + used, p, take);
		c->len += (uint32_t)take;
		p += take;
		n -= take;
		if ((c->len & 63u) == 0)
			sha256_block(c->h, c->block.w);
	}
}

void e2e_tiny_sha256_final(e2e_tiny_sha256_ctx *c, uint8_t out[32])
{
	size_t used = c->len & 63u;
	unsigned i;

	c->block.b[used++] = 0x80;
	if (used > 56) {
		memset(c->block.b + used, 0, 64 - used);
		sha256_block(c->h, c->block.w);
		used = 0;
	}
	memset(c->block.b + used, 0, 56 - used);
	/* The message length in bits, as a 64-bit big-endian number. */
	store32(c->block.b + 56, c->len >> 29);
	store32(c->block.b + 60, c->len << 3);
	sha256_block(c->h, c->block.w);
	for (i = 0; i < 8; i++)
		store32(out + 4 * i, c->h[i]);
}

#endif /* !E2E_TINY_SHA256_HEADER */

/* Start an HMAC: absorb the key (at most 64 bytes) xor'ed with pad, a
 * quarter block at a time to keep the stack small. */
static void hmac_start(e2e_tiny_sha256_ctx *c, const uint8_t *key,
		       size_t key_len, uint8_t pad)
{
	uint8_t part[16];
	size_t i, j;

	e2e_tiny_sha256_init(c);
	for (i = 0; i < 64; i += sizeof part) {
		for (j = 0; j < sizeof part; j++)
			part[j] = (uint8_t)((i + j < key_len ? key[i + j] : 0) ^
					    pad);
		e2e_tiny_sha256_update(c, part, sizeof part);
	}
	wipe(part, sizeof part);
}

/* Finish the inner hash in c and compute the outer one into out, which holds
 * the inner digest in between (final reads all its input before writing);
 * c is wiped. */
static void hmac_finish(e2e_tiny_sha256_ctx *c, const uint8_t *key,
			size_t key_len, uint8_t out[32])
{
	e2e_tiny_sha256_final(c, out);
	hmac_start(c, key, key_len, 0x5c);
	e2e_tiny_sha256_update(c, out, 32);
	e2e_tiny_sha256_final(c, out);
	wipe(c, sizeof *c);
}

void e2e_tiny_hmac_sha256(const uint8_t *key, size_t key_len,
			  const uint8_t *msg, size_t msg_len, uint8_t out[32])
{
	e2e_tiny_sha256_ctx c;
	uint8_t kh[32];

	/* RFC 2104: a key longer than the block is replaced by its hash. */
	if (key_len > 64) {
		e2e_tiny_sha256_init(&c);
		e2e_tiny_sha256_update(&c, key, key_len);
		e2e_tiny_sha256_final(&c, kh);
		key = kh;
		key_len = sizeof kh;
	}
	hmac_start(&c, key, key_len, 0x36);
	e2e_tiny_sha256_update(&c, msg, msg_len);
	hmac_finish(&c, key, key_len, out);
	wipe(kh, sizeof kh);
}

/* The length of a topic name, or an error for a name libe2e refuses. */
static int topic_check(const char *topic, size_t *len)
{
	size_t n = 0;

	if (topic == NULL)
		return E2E_TINY_ERR_INVAL;
	while (topic[n] != '\0') {
		if (topic[n] == '+' || topic[n] == '#' ||
		    n == E2E_TINY_TOPIC_MAX)
			return E2E_TINY_ERR_TOPIC;
		n++;
	}
	if (n == 0)
		return E2E_TINY_ERR_TOPIC;
	*len = n;
	return E2E_TINY_OK;
}

/* HMAC-SHA-256(key, header || u16(len(T)) || T || body), section 5. */
static void envelope_mac(const uint8_t *key, const uint8_t *header,
			 const char *topic, size_t topic_len,
			 const uint8_t *body, size_t body_len, uint8_t mac[32])
{
	e2e_tiny_sha256_ctx c;
	uint8_t tl[2];

	tl[0] = (uint8_t)(topic_len >> 8);
	tl[1] = (uint8_t)topic_len;
	hmac_start(&c, key, E2E_TINY_KEYBYTES, 0x36);
	e2e_tiny_sha256_update(&c, header, E2E_TINY_HEADER_BYTES);
	e2e_tiny_sha256_update(&c, tl, sizeof tl);
	e2e_tiny_sha256_update(&c, (const uint8_t *)topic, topic_len);
	e2e_tiny_sha256_update(&c, body, body_len);
	hmac_finish(&c, key, E2E_TINY_KEYBYTES, mac);
}

void e2e_tiny_sender_init(e2e_tiny_sender *s,
			  const uint8_t key[E2E_TINY_KEYBYTES], uint32_t key_id,
			  uint64_t sender_id, uint32_t epoch)
{
	s->key = key;
	s->key_id = key_id;
	s->sender_id = sender_id;
	s->epoch = epoch;
	s->counter = 0;
	s->exhausted = 0;
}

int e2e_tiny_seal(e2e_tiny_sender *s, const char *topic, const uint8_t *msg,
		  size_t msg_len, uint32_t timestamp, uint32_t flags,
		  uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t mac[32];
	size_t topic_len;
	uint8_t *body;
	int rc;

	if (out_len == NULL)
		return E2E_TINY_ERR_INVAL;
	*out_len = 0;
	if (s == NULL || s->key == NULL || s->key_id == 0 || out == NULL ||
	    (msg == NULL && msg_len > 0) || (flags & ~E2E_TINY_RETAINED) != 0)
		return E2E_TINY_ERR_INVAL;
	rc = topic_check(topic, &topic_len);
	if (rc != E2E_TINY_OK)
		return rc;
	if (msg_len > E2E_TINY_PAYLOAD_MAX)
		return E2E_TINY_ERR_TOO_LARGE;
	if (out_cap < E2E_TINY_SEALED_LEN(msg_len))
		return E2E_TINY_ERR_BUFFER_TOO_SMALL;
	if (s->exhausted)
		return E2E_TINY_ERR_SEQ_EXHAUSTED;

	body = out + E2E_TINY_HEADER_BYTES;
	if (msg_len > 0 && msg != body)
		memcpy(body, msg, msg_len);
	out[0] = E2E_TINY_MAGIC_V1;
	out[1] = (uint8_t)(FLAG_SUITE_MAC |
			   ((flags & E2E_TINY_RETAINED) ? FLAG_RETAINED : 0));
	store32(out + 2, s->key_id);
	store32(out + 6, timestamp);
	store32(out + 10, (uint32_t)(s->sender_id >> 32));
	store32(out + 14, (uint32_t)s->sender_id);
	store32(out + 18, s->epoch);
	store32(out + 22, s->counter);
	envelope_mac(s->key, out, topic, topic_len, body, msg_len, mac);
	memcpy(body + msg_len, mac, E2E_TINY_TAG_BYTES);
	wipe(mac, sizeof mac);

	/* The sequence number is one 64-bit counter: a wrap of the low half
	 * moves to epoch + 1, as in libe2e's sender (ENVELOPE.md section 9). */
	if (++s->counter == 0 && ++s->epoch == 0)
		s->exhausted = 1;
	*out_len = E2E_TINY_SEALED_LEN(msg_len);
	return E2E_TINY_OK;
}

int e2e_tiny_verify(const uint8_t key[E2E_TINY_KEYBYTES], uint32_t key_id,
		    const char *topic, const uint8_t *env, size_t env_len,
		    e2e_tiny_info *info)
{
	uint8_t mac[32], diff = 0;
	size_t topic_len, body_len, i;
	int rc;

	if (info == NULL)
		return E2E_TINY_ERR_INVAL;
	memset(info, 0, sizeof *info);
	if (key == NULL || env == NULL)
		return E2E_TINY_ERR_INVAL;
	rc = topic_check(topic, &topic_len);
	if (rc != E2E_TINY_OK)
		return rc;
	/* Step 1 of the receiver order: parse. */
	if (env_len < 1)
		return E2E_TINY_ERR_MALFORMED;
	if (env[0] != E2E_TINY_MAGIC_V1)
		return (env[0] == 0xFC || env[0] == 0xFE)
			       ? E2E_TINY_ERR_VERSION
			       : E2E_TINY_ERR_NOT_E2E;
	if (env_len < 2)
		return E2E_TINY_ERR_MALFORMED;
	if (env[1] & FLAG_RESERVED)
		return E2E_TINY_ERR_RESERVED;
	if ((env[1] & 0x03u) == 0x03u || env_len < E2E_TINY_OVERHEAD)
		return E2E_TINY_ERR_MALFORMED;
	/* Step 2: the key. */
	if (load32(env + 2) != key_id)
		return E2E_TINY_ERR_UNKNOWN_KEY;
	if ((env[1] & (0x03u | FLAG_SIGNED)) != FLAG_SUITE_MAC)
		return E2E_TINY_ERR_SUITE_MISMATCH;
	/* Step 6: the tag, compared without data-dependent branches. */
	body_len = env_len - E2E_TINY_OVERHEAD;
	envelope_mac(key, env, topic, topic_len, env + E2E_TINY_HEADER_BYTES,
		     body_len, mac);
	for (i = 0; i < E2E_TINY_TAG_BYTES; i++)
		diff |= (uint8_t)(mac[i] ^
				  env[E2E_TINY_HEADER_BYTES + body_len + i]);
	wipe(mac, sizeof mac);
	if (diff != 0)
		return E2E_TINY_ERR_BAD_TAG;

	info->key_id = key_id;
	info->timestamp = load32(env + 6);
	info->sender_id = ((uint64_t)load32(env + 10) << 32) | load32(env + 14);
	info->seq = ((uint64_t)load32(env + 18) << 32) | load32(env + 22);
	info->retained = (env[1] & FLAG_RETAINED) != 0;
	info->payload = env + E2E_TINY_HEADER_BYTES;
	info->payload_len = body_len;
	return E2E_TINY_OK;
}
