/*
 * Internal helpers shared by the key file readers and writers
 * (keyfile.c, keyfile_keyring.c, keyfile_signer.c, keyfile_trust.c).
 * docs/KEYFILES.md gives the formats.
 */
#ifndef E2E_KEYFILE_H
#define E2E_KEYFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

/* The most blank-separated fields a line of any key file has. */
#define E2E__KF_MAX_FIELDS 8

/*
 * A cursor over the lines of a file read into memory. Lines are cut in
 * place (the newline becomes a NUL); comment lines ('#' first) and blank
 * lines are skipped.
 */
struct e2e__kf_reader {
	char *p;     /* next unread byte */
	char *end;   /* one past the last byte */
	size_t line; /* 1-based number of the line last returned */
};

/* One line cut into at most max_fields fields; the last one takes the rest
 * of the line (inner blanks kept, trailing blanks removed). */
struct e2e__kf_line {
	size_t n;
	char *field[E2E__KF_MAX_FIELDS];
};

void e2e__kf_reader_init(struct e2e__kf_reader *r, char *buf, size_t len);

/*
 * The next significant line, split on blanks into at most max_fields
 * (<= E2E__KF_MAX_FIELDS) fields. Returns 1 with a line, 0 at the end of the
 * file, or a negative error: E2E_ERR_TRUNCATED when the last line has no
 * newline, E2E_ERR_KEYFILE for a NUL byte.
 */
int e2e__kf_next(struct e2e__kf_reader *r, struct e2e__kf_line *l,
		 size_t max_fields);

/*
 * Read the first significant line and check it is "<magic> 1".
 * E2E_ERR_TRUNCATED when there is none (r->line is then 0), E2E_ERR_KEYFILE
 * when the magic differs, E2E_ERR_KEYFILE_VERSION when only the version
 * does.
 */
int e2e__kf_header(struct e2e__kf_reader *r, const char *magic);

/* Read the next significant line and check it is "<name> <value>" (value
 * may hold blanks). E2E_ERR_TRUNCATED at the end of the file. */
int e2e__kf_named(struct e2e__kf_reader *r, const char *name,
		  struct e2e__kf_line *l, size_t max_fields);

/* Exactly 2*len hex digits into out (E2E_ERR_KEYFILE). */
int e2e__kf_hex_decode(const char *s, uint8_t *out, size_t len);
/* Exactly len bytes from standard base64 with padding (E2E_ERR_BASE64). */
int e2e__kf_b64_decode(const char *s, uint8_t *out, size_t len);
/* A decimal number without sign within [0, max] (E2E_ERR_KEYFILE). */
int e2e__kf_u64_parse(const char *s, uint64_t max, uint64_t *out);

/*
 * Write the whole of data to path as the header's savers promise
 * (E2E_SAVE_EXCL or atomic replacement). mode 0: a replaced file keeps its
 * permission bits and a new one gets 0644.
 */
int e2e__kf_write(const char *path, const void *data, size_t len, mode_t mode,
		  uint32_t flags);

/* A text buffer of fixed capacity for the savers; a secret one lives in
 * sodium_malloc memory and is wiped when released. */
struct e2e__kf_buf {
	char *p;
	size_t len;
	size_t cap;
	int secret;
	int failed; /* set when an append did not fit */
};

int e2e__kf_buf_init(struct e2e__kf_buf *b, size_t cap, int secret);
/* printf-style append; a failure is remembered in b->failed. */
void e2e__kf_buf_printf(struct e2e__kf_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append the base64 of bin (standard alphabet, padded). */
void e2e__kf_buf_b64(struct e2e__kf_buf *b, const uint8_t *bin, size_t len);
void e2e__kf_buf_free(struct e2e__kf_buf *b);

/* Release a buffer from e2e__read_file (wiped when secret). */
void e2e__kf_release(char *buf, int secret);

/*
 * Secret key files holding one 32-byte secret and its 32-byte public key
 * (docs/KEYFILES.md: signer and member secret key files):
 *   <magic> 1 / <id_name> <id> / public <b64> / kdf ... / secret <b64>
 * the secret optionally encrypted with a passphrase (Argon2id,
 * XChaCha20-Poly1305). The id is e2e_signer_id_from_public of the key.
 */
#define E2E__KF_SECRETBYTES 32u
#define E2E__KF_MAGIC_MAX 24u
struct e2e__kf_kind {
	const char *magic;   /* at most E2E__KF_MAGIC_MAX bytes */
	const char *id_name; /* "signer", "member" */
	const char *comment_encrypted;
	const char *comment_clear;
};

/* Load the public key and, when secret is not NULL (sodium_malloc memory
 * of E2E__KF_SECRETBYTES), the clear secret. On success *bad_line is the
 * secret's line, for a caller that finds the secret does not match pk. */
int e2e__kf_secret_load(const struct e2e__kf_kind *kind, const char *path,
			const char *pass, size_t pass_len,
			uint8_t pk[E2E__KF_SECRETBYTES], uint8_t *secret,
			int *is_encrypted, size_t *bad_line);
/* The public key and whether the secret is encrypted, without the
 * passphrase (the arguments of e2e_signer_inspect). */
int e2e__kf_secret_inspect(const struct e2e__kf_kind *kind, const char *path,
			   uint8_t pk[E2E__KF_SECRETBYTES], int *is_encrypted,
			   size_t *bad_line);
int e2e__kf_secret_save(const struct e2e__kf_kind *kind, const char *path,
			const uint8_t pk[E2E__KF_SECRETBYTES],
			const uint8_t *secret, const char *pass,
			size_t pass_len, unsigned long long opslimit,
			size_t memlimit, uint32_t flags);

#endif /* E2E_KEYFILE_H */
