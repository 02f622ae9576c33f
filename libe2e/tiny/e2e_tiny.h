/*
 * e2e_tiny — the tiny-client profile of libe2e.
 *
 * A dependency-free sealer (and verifier) of libe2e "mac" envelopes
 * (docs/ENVELOPE.md, suite 1: HMAC-SHA-256/128, payload in clear) for
 * microcontrollers that cannot run libsodium. The envelopes it produces are
 * byte-identical to those of libe2e's e2e_seal_explicit() for the same inputs,
 * so every libe2e receiver (e2e-sub, the Python binding) accepts them.
 *
 * Properties:
 *  - one .c and this .h, C99; freestanding: the only library calls are
 *    memcpy and memset, there is no malloc and no global mutable state;
 *  - the caller owns every buffer and context (Monocypher / BearSSL style);
 *  - its own compact SHA-256 and HMAC, replaceable by a hardware SHA-256
 *    engine at compile time (E2E_TINY_SHA256_HEADER, below);
 *  - key-dependent intermediate values are wiped from the stack before
 *    returning; tags are compared in constant time.
 *
 * Sealing needs no clock and no flash writes. To stay replay-safe without
 * either, follow "Replay safety without a clock" in libe2e/tiny/README.md:
 * a fixed sender id, the epoch from a hardware boot counter that increases
 * at every start, timestamp 0, and a receiver configured with
 * E2E_GUARD_ACCEPT_NO_CLOCK and persisted state (e2e-sub --state FILE).
 */
#ifndef E2E_TINY_H
#define E2E_TINY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define E2E_TINY_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define E2E_TINY_WARN_UNUSED
#endif

/* Sizes (the same numbers as E2E_* in e2e.h). */
#define E2E_TINY_MAGIC_V1 0xFDu
#define E2E_TINY_KEYBYTES 32u
#define E2E_TINY_HEADER_BYTES 26u
#define E2E_TINY_TAG_BYTES 16u
#define E2E_TINY_OVERHEAD (E2E_TINY_HEADER_BYTES + E2E_TINY_TAG_BYTES)
#define E2E_TINY_TOPIC_MAX 4096u
#define E2E_TINY_PAYLOAD_MAX 0x0FF00000u
/* Envelope length of an n-byte payload. */
#define E2E_TINY_SEALED_LEN(n) ((size_t)(n) + E2E_TINY_OVERHEAD)

/*
 * Return values: 0 or a negative code. The values are those of the libe2e
 * error with the same name (e2e.h), so e2e_reason() and e2e_strerror() also
 * describe them on a host.
 */
#define E2E_TINY_OK 0
#define E2E_TINY_ERR_INVAL (-1) /* NULL argument, key id 0, bad flags */
#define E2E_TINY_ERR_BUFFER_TOO_SMALL (-3)
#define E2E_TINY_ERR_TOO_LARGE (-4)
#define E2E_TINY_ERR_TOPIC (-5)   /* empty, > 4096 bytes, or '+' / '#' */
#define E2E_TINY_ERR_NOT_E2E (-6) /* first byte is no envelope version */
#define E2E_TINY_ERR_VERSION (-7) /* 0xFC or 0xFE: a later version */
#define E2E_TINY_ERR_RESERVED (-8)
#define E2E_TINY_ERR_MALFORMED (-9)       /* truncated, or suite 3 */
#define E2E_TINY_ERR_UNKNOWN_KEY (-10)    /* key id is not ours */
#define E2E_TINY_ERR_SUITE_MISMATCH (-12) /* not a mac envelope, or signed */
#define E2E_TINY_ERR_BAD_TAG (-22)
#define E2E_TINY_ERR_SEQ_EXHAUSTED (-25) /* every sequence number used */

/* Seal flag: the message is published with the MQTT retain flag. */
#define E2E_TINY_RETAINED 0x1u

/*
 * SHA-256. Built in by default. To use a hardware engine, compile e2e_tiny.c
 * with -DE2E_TINY_SHA256_HEADER='"my_sha.h"': that header must define the
 * type e2e_tiny_sha256_ctx, and the application then provides the three
 * functions below (the built-in ones are left out). final must read all of
 * its input before it writes out: HMAC passes the same buffer as both.
 */
#ifdef E2E_TINY_SHA256_HEADER
#include E2E_TINY_SHA256_HEADER
#else
typedef struct e2e_tiny_sha256_ctx {
	uint32_t h[8];
	uint32_t len; /* bytes hashed so far: at most 2^32 - 1 per message */
	union {
		uint8_t b[64];  /* the partial block */
		uint32_t w[16]; /* its message schedule, while compressing */
	} block;
} e2e_tiny_sha256_ctx;
#endif

void e2e_tiny_sha256_init(e2e_tiny_sha256_ctx *c);
void e2e_tiny_sha256_update(e2e_tiny_sha256_ctx *c, const uint8_t *p, size_t n);
/* Writes the digest; the context must be initialised again before reuse. */
void e2e_tiny_sha256_final(e2e_tiny_sha256_ctx *c, uint8_t out[32]);

/* One-shot HMAC-SHA-256 (RFC 2104); a key longer than 64 bytes is hashed
 * first, as the RFC says. Sealing does not need it: it is here for tests and
 * for applications that want a plain HMAC. */
void e2e_tiny_hmac_sha256(const uint8_t *key, size_t key_len,
			  const uint8_t *msg, size_t msg_len, uint8_t out[32]);

/*
 * A sender: everything sealing needs, owned by the caller (static storage,
 * 32 bytes on 32-bit ARM). Fill it with e2e_tiny_sender_init(). The fields
 * are public so that a device may set epoch and counter itself (to continue
 * a sequence it keeps elsewhere); leave the others as init set them.
 */
typedef struct e2e_tiny_sender {
	const uint8_t *key; /* E2E_TINY_KEYBYTES, borrowed (may be in flash) */
	uint32_t key_id;    /* the key's id in the receivers' keyring, not 0 */
	uint64_t sender_id; /* fixed per device, or random per start */
	uint32_t epoch;     /* high half of the next sequence number */
	uint32_t counter;   /* low half, from 0 */
	uint32_t exhausted; /* 1 once sequence 2^64 - 1 has been used */
} e2e_tiny_sender;

/*
 * Start a sender. epoch MUST be strictly larger than every epoch used by an
 * earlier start with the same key and sender id: the Unix time at start, a
 * persisted counter, or a hardware boot counter (README.md). The sequence
 * number of a message is epoch (high 32 bits) || counter (low 32 bits); it
 * grows by one per message, so after 2^32 messages the epoch becomes epoch+1
 * (a device that takes its epoch from a boot counter then advances that
 * counter too).
 */
void e2e_tiny_sender_init(e2e_tiny_sender *s,
			  const uint8_t key[E2E_TINY_KEYBYTES], uint32_t key_id,
			  uint64_t sender_id, uint32_t epoch);

/*
 * Seal msg for the MQTT topic name (NUL-terminated, 1..4096 bytes, no '+' or
 * '#') into out, which needs E2E_TINY_SEALED_LEN(msg_len) bytes.
 * timestamp: Unix seconds, or 0 when the device has no clock.
 * flags: E2E_TINY_RETAINED exactly when the PUBLISH has the retain flag.
 *
 * msg may be NULL when msg_len is 0, and may already sit at
 * out + E2E_TINY_HEADER_BYTES (no copy then); no other overlap is allowed.
 * Each successful call uses one sequence number; E2E_TINY_ERR_SEQ_EXHAUSTED
 * once all 2^64 are used. On error *out_len is 0, no sequence number is used
 * and out is left as it was.
 */
int e2e_tiny_seal(e2e_tiny_sender *s, const char *topic, const uint8_t *msg,
		  size_t msg_len, uint32_t timestamp, uint32_t flags,
		  uint8_t *out, size_t out_cap,
		  size_t *out_len) E2E_TINY_WARN_UNUSED;

/* What a verified envelope says. */
typedef struct e2e_tiny_info {
	uint32_t key_id;
	uint32_t timestamp;
	uint64_t sender_id;
	uint64_t seq;
	int retained;           /* retained intent */
	const uint8_t *payload; /* points into the envelope */
	size_t payload_len;
} e2e_tiny_info;

/*
 * Check an unsigned mac envelope received on topic against the key with id
 * key_id: structure, key id, and the tag (in constant time). E2E_TINY_OK
 * fills *info; on any error *info is zeroed.
 *
 * This is authenticity only: it keeps no replay state and checks no time.
 * A tiny receiver MUST reject sequence numbers at or below the highest one it
 * accepted from the same sender id (or run a window as libe2e does).
 */
int e2e_tiny_verify(const uint8_t key[E2E_TINY_KEYBYTES], uint32_t key_id,
		    const char *topic, const uint8_t *env, size_t env_len,
		    e2e_tiny_info *info) E2E_TINY_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* E2E_TINY_H */
