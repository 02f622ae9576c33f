/*
 * Fixed material shared by the fuzz targets and the seed corpus generator:
 * keys, signers, trust filters, topics and the receiver's clock. Everything
 * is deterministic so that a crashing input reproduces anywhere.
 */
#ifndef E2E_FUZZ_COMMON_H
#define E2E_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "e2e.h"

/* The receiver's clock; seeds carry timestamps near it. */
#define FUZZ_NOW 1750000000u

/* Shared keys: an enabled aead key, a primary mac key, a disabled aead key. */
#define FUZZ_KEY_AEAD_ID 0x0A0A0A0Au
#define FUZZ_KEY_MAC_ID 0x0B0B0B0Bu
#define FUZZ_KEY_DISABLED_ID 0x0D0D0D0Du

/* Signers: A is trusted on "fuzz/#", B on "fuzz/b/+", C is not trusted. */
#define FUZZ_SIGNERS 3
#define FUZZ_FILTER_A "fuzz/#"
#define FUZZ_FILTER_B "fuzz/b/+"

/* Topics a fuzz input may pick (two bits): "fuzz/a", "fuzz/b/x",
 * "other/topic" and a 300-byte topic under "fuzz/long/". */
#define FUZZ_TOPICS 4
const char *fuzz_topic(unsigned index);

/* The fixed world every target works in, built once. */
struct fuzz_world {
	e2e_keyring *keyring;
	e2e_trust *trust;
	e2e_signer *signer[FUZZ_SIGNERS];
	uint8_t key_aead[E2E_KEYBYTES];
	uint8_t key_mac[E2E_KEYBYTES];
	uint8_t key_disabled[E2E_KEYBYTES];
};

/* Key updates: the member the update target opens as (its X25519 secret
 * key is 32 bytes of FUZZ_MEMBER_BYTE), the group, the update topic; the
 * admin is signer A. */
#define FUZZ_MEMBER_BYTE 0x5Au
#define FUZZ_UPDATE_GROUP "fuzz"
#define FUZZ_UPDATE_TOPIC "e2e/keys/fuzz"

/* Seal body as the admin's retained suite-none update envelope on the
 * update topic; returns its length (aborts when out is too small). */
size_t fuzz_seal_update(const uint8_t *body, size_t len, uint8_t *out,
			size_t cap);

/* e2e_init(), once; every target calls it first. */
void fuzz_init(void);

/* Builds the world on first call; aborts if the library refuses it (that
 * is a bug in the library or in this file, never a fuzz finding). */
const struct fuzz_world *fuzz_world_get(void);

/* 1 when signer index may publish on topic index: a table written by hand
 * from the filters above, so that it does not trust the library's matcher. */
int fuzz_signer_allowed(unsigned signer, unsigned topic);

/* Abort with a message: an oracle found the library misbehaving. */
#define FUZZ_CHECK(cond)                                      \
	do {                                                  \
		if (!(cond))                                  \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

void fuzz_fail(const char *file, int line, const char *what);

/* A scratch directory for targets that need files (created once, removed at
 * exit); returns a path inside it named name. */
const char *fuzz_tmp_path(const char *name);

/* Write len bytes to path (created or truncated); 0 or -1. */
int fuzz_write_file(const char *path, const uint8_t *data, size_t len);

/* Lines in a file of these bytes (a last line without newline counts). */
size_t fuzz_count_lines(const uint8_t *data, size_t size);

/* Abort unless the two files hold the same bytes (a saver is canonical). */
void fuzz_check_same_file(const char *a, const char *b);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* E2E_FUZZ_COMMON_H */
