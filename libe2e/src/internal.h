/*
 * Internal declarations shared between the library's files (prefix e2e__).
 * Nothing here is installed or part of the API.
 */
#ifndef E2E_INTERNAL_H
#define E2E_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <sys/types.h>

#include "e2e.h"

#define E2E_API __attribute__((visibility("default")))

/* Byte offsets of the v1 header (docs/ENVELOPE.md section 3). */
#define E2E__OFF_MAGIC 0
#define E2E__OFF_FLAGS 1
#define E2E__OFF_KEY_ID 2
#define E2E__OFF_TIMESTAMP 6
#define E2E__OFF_SENDER 10
#define E2E__OFF_SEQ 18
#define E2E__OFF_SALT 26
#define E2E__NONCE_OFF E2E__OFF_SENDER /* nonce = bytes 10..33 */

#define E2E__FLAG_SUITE_MASK 0x03u
#define E2E__FLAG_SIGNED 0x04u
#define E2E__FLAG_RETAINED 0x08u
#define E2E__FLAG_RESERVED 0xF0u

/* The signature context string, without terminator. */
#define E2E__SIG_CONTEXT "libe2e-v1-sig"
#define E2E__SIG_CONTEXT_LEN 13u

/* One shared key of a keyring; lives in sodium_malloc memory. */
struct e2e__key {
	uint32_t id;
	uint8_t suite; /* e2e_suite */
	uint8_t state; /* e2e_key_state */
	int64_t created;
	uint64_t activates; /* pending: primary from then on; 0: none */
	uint64_t disables;  /* disabled from then on; 0: never */
	char *filters;      /* malloc'd topic filters "a/+,b/#"; NULL: none */
	uint8_t key[E2E_KEYBYTES];
};

/* NULL when absent. O(log n). */
const struct e2e__key *e2e__keyring_lookup(const e2e_keyring *kr, uint32_t id);
/* NULL when there is no primary. The stored primary, schedule ignored. */
const struct e2e__key *e2e__keyring_primary(const e2e_keyring *kr);
/* The primary at time t under the schedule (e2e.h, e2e_keyring_schedule). */
const struct e2e__key *e2e__keyring_primary_at(const e2e_keyring *kr,
					       uint64_t t);
/* The key to seal a message on topic with at time t: the primary of the
 * first scope (keys with the same filters) in increasing id order whose
 * filters match topic, else the primary of the keys without filters. */
const struct e2e__key *e2e__keyring_seal_key(const e2e_keyring *kr, uint64_t t,
					     const char *topic);
/* 1 when key k may be used on topic: it has no filters, or one matches. */
int e2e__key_allows(const struct e2e__key *k, const char *topic);
/* A malloc'd copy of filters a keyring can hold (valid, no blanks), NULL
 * for "" or NULL; *rc E2E_OK, E2E_ERR_INVAL or E2E_ERR_NOMEM. */
char *e2e__filters_dup(const char *filters, int *rc);
/* 1 when key k is disabled at time t. */
int e2e__key_disabled_at(const struct e2e__key *k, uint64_t t);
/* The largest Unix time a schedule may name (the wire format's limit). */
#define E2E__TIME_MAX ((uint64_t)INT64_MAX)

/*
 * Replace the keys of kr with the count keys of keys (sorted by id, at
 * most one stored primary per scope), which kr takes over (a sodium_malloc'd
 * array of cap entries, and each key's filters); the old array and filters
 * are wiped and freed.
 */
void e2e__keyring_replace(e2e_keyring *kr, struct e2e__key *keys, size_t count,
			  size_t cap);

/* A member's X25519 secret and public keys (32 bytes each). */
const uint8_t *e2e__member_secret(const e2e_member *m);
const uint8_t *e2e__member_public(const e2e_member *m);

/*
 * Key updates (keydist.c). e2e__update_parse checks a body against every
 * rule of docs/KEYDIST.md section 4 and fills u's table (no slot opened):
 * E2E_OK or E2E_ERR_BAD_UPDATE (fuzzing reaches it without a signature).
 * The ephemeral hook, for tests only, makes e2e_update_build seal slot i
 * with the ephemeral secret key fn writes (the vectors' fixed keys) instead
 * of crypto_box_seal's random one; NULL restores crypto_box_seal.
 */
int e2e__update_parse(e2e_update *u, const uint8_t *body, size_t len);
/* A key's filters s[0..n) (s[n] is NUL; commas are cut and restored):
 * E2E_OK for "" or comma-separated valid filters without NUL. */
int e2e__filters_check(char *s, size_t n);
/* The same check on a C string (which it copies): 1 when valid. */
int e2e__filters_valid(const char *filters);
typedef void (*e2e__ephemeral_fn)(void *ctx, size_t recipient, uint8_t esk[32]);
void e2e__update_set_ephemeral(e2e__ephemeral_fn fn, void *ctx);

/* The signer's 64-byte libsodium secret key (seed || public key). */
const uint8_t *e2e__signer_secret(const e2e_signer *s);

/*
 * Find a trusted signer by id. Returns its 32-byte public key, or NULL when
 * unknown; *allowed is set to 1 when one of its filters matches topic.
 */
const uint8_t *e2e__trust_lookup(const e2e_trust *t, uint64_t signer_id,
				 const char *topic, int *allowed);

/* Set the sequence number a sender's next seal uses (tests only: reaching a
 * counter wrap or the last sequence number by sealing takes 2^32 seals). */
void e2e__sender_set_next_seq(e2e_sender *s, uint64_t seq);

/* Detect forks by process id, as where MADV_WIPEONFORK is missing (on), or
 * by the wipe-on-fork page again when there is one (off). Tests only. */
void e2e__sender_detect_forks_by_pid(int on);

static inline void e2e__store32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t e2e__load32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline void e2e__store64(uint8_t *p, uint64_t v)
{
	e2e__store32(p, (uint32_t)(v >> 32));
	e2e__store32(p + 4, (uint32_t)v);
}

static inline uint64_t e2e__load64(const uint8_t *p)
{
	return ((uint64_t)e2e__load32(p) << 32) | e2e__load32(p + 4);
}

/* Current Unix time in seconds (0 if the clock is unusable). */
uint64_t e2e__now(void);

/* Current Unix time in units of 2^-32 s, the sequence number a sender that
 * starts now takes (docs/ENVELOPE.md section 9): the second in the high 32
 * bits, its fraction in the low 32. 0 if the clock is unusable. */
uint64_t e2e__now_seq(void);

/*
 * Replace path atomically with data: write a temporary file in the same
 * directory (O_EXCL, given mode), fsync it, rename it over path, fsync the
 * directory. On failure path is untouched and the temporary file removed.
 * Returns E2E_OK or E2E_ERR_IO (errno set).
 */
int e2e__atomic_write(const char *path, const void *data, size_t len,
		      mode_t mode);

/* A fresh temporary name next to path (path.tmp-PID-RANDOM). 0, or -1 with
 * errno ENAMETOOLONG. */
int e2e__temp_name(char tmp[PATH_MAX], const char *path);

/* Create path, which must not exist, holding data, durably (O_EXCL, exactly
 * mode, fsync). On failure nothing is left at path. E2E_OK, E2E_ERR_EXISTS,
 * or E2E_ERR_IO with errno set. */
int e2e__write_new(const char *path, const void *data, size_t len, mode_t mode);

/* Open path (flags as open(2), plus O_CREAT's mode) without following a
 * symbolic link, and only if it is a regular file owned by the effective
 * user: the descriptor, or E2E_ERR_UNSAFE_FILE (errno ELOOP for a link,
 * EPERM for another owner), or E2E_ERR_IO with errno set. */
int e2e__open_own(const char *path, int flags, mode_t mode);

/* fsync the directory holding path, so that a rename or link into it is
 * durable. 0, or -1 with errno set. */
int e2e__fsync_dir(const char *path);

/*
 * Read a whole file (at most max bytes) into a malloc'd buffer with a
 * terminating NUL (not counted in *len). If secret is non-zero the buffer is
 * sodium_malloc'd (free it with sodium_free) and the file is refused with
 * E2E_ERR_PERMISSIONS when group or others may read it. E2E_ERR_EMPTY for an
 * empty file, E2E_ERR_IO (errno set) otherwise.
 */
int e2e__read_file(const char *path, size_t max, int secret, char **buf,
		   size_t *len);

#endif /* E2E_INTERNAL_H */
