/* The envelope tests' shared fixture (see test_envelope_fixture.h). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_envelope_fixture.h"

const struct mode_desc modes[MODE_COUNT] = {
	[MODE_AEAD] = {"aead", E2E_SUITE_AEAD, 0},
	[MODE_AEAD_SIGNED] = {"aead+sig", E2E_SUITE_AEAD, 1},
	[MODE_MAC] = {"mac", E2E_SUITE_MAC, 0},
	[MODE_MAC_SIGNED] = {"mac+sig", E2E_SUITE_MAC, 1},
	[MODE_NONE_SIGNED] = {"none+sig", E2E_SUITE_NONE, 1},
};

#define FILL32(x)                                                              \
	{                                                                      \
		x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, \
			x, x, x, x, x, x, x, x, x, x, x                        \
	}

const uint8_t key_aead[E2E_KEYBYTES] = FILL32(0xA1);
const uint8_t key_mac[E2E_KEYBYTES] = FILL32(0xB2);
const uint8_t key_disabled[E2E_KEYBYTES] = FILL32(0xC3);
const uint8_t fixed_salt[E2E_SALT_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8};

static const uint8_t seed_a[E2E_SIGN_SEEDBYTES] = FILL32(0x0A);
static const uint8_t seed_b[E2E_SIGN_SEEDBYTES] = FILL32(0x0B);
static const uint8_t seed_c[E2E_SIGN_SEEDBYTES] = FILL32(0x0C);

static void add_key(e2e_keyring *kr, uint32_t id, e2e_suite suite,
		    e2e_key_state state, const uint8_t *key)
{
	e2e_key_info info = {id, suite, state, 1700000000};

	assert_int_equal(e2e_keyring_add(kr, &info, key), E2E_OK);
}

int fixture_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];

	assert_non_null(f);
	assert_int_equal(e2e_init(), E2E_OK);
	assert_int_equal(e2e_keyring_new(&f->kr), E2E_OK);
	add_key(f->kr, KEY_AEAD_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, key_aead);
	add_key(f->kr, KEY_MAC_ID, E2E_SUITE_MAC, E2E_KEY_ENABLED, key_mac);
	add_key(f->kr, KEY_DISABLED_ID, E2E_SUITE_AEAD, E2E_KEY_DISABLED,
		key_disabled);
	assert_int_equal(e2e_signer_from_seed(&f->a, seed_a), E2E_OK);
	assert_int_equal(e2e_signer_from_seed(&f->b, seed_b), E2E_OK);
	assert_int_equal(e2e_signer_from_seed(&f->c, seed_c), E2E_OK);
	assert_int_equal(e2e_trust_new(&f->trust), E2E_OK);
	e2e_signer_public(f->a, pk);
	assert_int_equal(e2e_trust_add(f->trust, pk, "sensors/#"), E2E_OK);
	e2e_signer_public(f->b, pk);
	assert_int_equal(e2e_trust_add(f->trust, pk, "#"), E2E_OK);
	f->r.keyring = f->kr;
	f->r.trust = f->trust;
	f->r.guard = NULL;
	f->r.require = 0;
	f->r.now = 0;
	*state = f;
	return 0;
}

int fixture_teardown(void **state)
{
	struct fixture *f = *state;

	e2e_keyring_free(f->kr);
	e2e_trust_free(f->trust);
	e2e_signer_free(f->a);
	e2e_signer_free(f->b);
	e2e_signer_free(f->c);
	free(f);
	return 0;
}

void params_for(e2e_seal_params *p, const struct fixture *f, enum mode m)
{
	memset(p, 0, sizeof *p);
	p->suite = modes[m].suite;
	switch (p->suite) {
	case E2E_SUITE_AEAD:
		p->key_id = KEY_AEAD_ID;
		p->key = key_aead;
		p->salt = fixed_salt;
		break;
	case E2E_SUITE_MAC:
		p->key_id = KEY_MAC_ID;
		p->key = key_mac;
		break;
	case E2E_SUITE_NONE:
		break;
	}
	p->signer = modes[m].is_signed ? f->a : NULL;
	p->sender_id = modes[m].is_signed ? e2e_signer_id(f->a) : FIXED_SENDER;
	p->seq = FIXED_SEQ;
	p->timestamp = FIXED_TIMESTAMP;
}

int seal_mode(const struct fixture *f, enum mode m, const char *topic,
	      const uint8_t *msg, size_t len, uint8_t *out, size_t cap,
	      size_t *out_len)
{
	e2e_seal_params p;

	params_for(&p, f, m);
	return e2e_seal_explicit(&p, topic, msg, len, out, cap, out_len);
}

int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}
