/*
 * Shared fixture of the envelope unit tests: fixed keys, signers, a
 * receiver's keyring and trust set, and one sealing helper per mode.
 */
#ifndef TEST_ENVELOPE_FIXTURE_H
#define TEST_ENVELOPE_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"

/* Every mode an envelope can have. */
enum mode {
	MODE_AEAD,
	MODE_AEAD_SIGNED,
	MODE_MAC,
	MODE_MAC_SIGNED,
	MODE_NONE_SIGNED,
	MODE_COUNT
};

struct mode_desc {
	const char *name;
	e2e_suite suite;
	int is_signed;
};

extern const struct mode_desc modes[MODE_COUNT];

/* The receiver's keyring holds these three keys. */
#define KEY_AEAD_ID 0x11111111u     /* aead, primary */
#define KEY_MAC_ID 0x22222222u      /* mac, enabled */
#define KEY_DISABLED_ID 0x33333333u /* aead, disabled */
#define KEY_ABSENT_ID 0x44444444u   /* in no keyring */

/* Signer A may publish on sensors/#, signer B anywhere, signer C is not
 * trusted. */
#define TOPIC "sensors/t1"
#define TOPIC_OTHER_ALLOWED "sensors/t2"
#define TOPIC_NOT_ALLOWED_FOR_A "alerts/fire"

#define FIXED_SENDER 0x0102030405060708u
#define FIXED_SEQ 0x6500000000000007u
#define FIXED_TIMESTAMP 1700000000u

extern const uint8_t key_aead[E2E_KEYBYTES];
extern const uint8_t key_mac[E2E_KEYBYTES];
extern const uint8_t key_disabled[E2E_KEYBYTES];
extern const uint8_t fixed_salt[E2E_SALT_BYTES];

struct fixture {
	e2e_keyring *kr;
	e2e_trust *trust;
	e2e_signer *a, *b, *c;
	e2e_receiver r; /* keyring + trust, nothing required, no guard */
};

/* cmocka group setup / teardown: *state becomes a struct fixture. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Sealing parameters for mode: the mode's key, signer A when signed,
 * fixed sender (or A's id), sequence, timestamp and salt. */
void params_for(e2e_seal_params *p, const struct fixture *f, enum mode m);

/* Seal msg for topic in mode with params_for(); returns the error. */
int seal_mode(const struct fixture *f, enum mode m, const char *topic,
	      const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
	      size_t *out_len);

/* 1 when the n bytes at p are all zero. */
int all_zero(const uint8_t *p, size_t n);

/* Include after <cmocka.h>: an error-code assertion that names both codes
 * and what was being done. */
#define assert_rc(got, want, ...)                                              \
	do {                                                                   \
		int got_ = (got), want_ = (want);                              \
		if (got_ != want_) {                                           \
			print_error(__VA_ARGS__);                              \
			print_error(": got %s, want %s\n", e2e_err_name(got_), \
				    e2e_err_name(want_));                      \
			fail();                                                \
		}                                                              \
	} while (0)

#endif
