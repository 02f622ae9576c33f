/*
 * A stand-in "hardware" SHA-256 for the tiny profile's hook: the test build
 * test_tiny_hook compiles e2e_tiny.c with
 * -DE2E_TINY_SHA256_HEADER='"tiny_sha_hook.h"', so e2e_tiny.c leaves its own
 * SHA-256 out and calls the functions test_tiny.c defines on top of
 * libsodium's SHA-256, which counts how often it is used.
 */
#ifndef TINY_SHA_HOOK_H
#define TINY_SHA_HOOK_H

#include <sodium.h>

typedef struct e2e_tiny_sha256_ctx {
	crypto_hash_sha256_state st;
} e2e_tiny_sha256_ctx;

/* Digests computed through the hook since the program started. */
extern unsigned long tiny_hook_finals;

#endif
