/* Member (device) key pairs: X25519, the secret in sodium_malloc memory. */
#include "internal.h"

#include <string.h>

#include <sodium.h>

struct e2e_member {
	uint8_t sk[E2E_MEMBER_SECRETKEYBYTES];
	uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES];
	uint64_t id;
};

E2E_API uint64_t
e2e_member_id_from_public(const uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES])
{
	/* The same derivation as a signer id (docs/KEYDIST.md section 3). */
	return e2e_signer_id_from_public(pk);
}

E2E_API int e2e_member_from_secret(e2e_member **out,
				   const uint8_t sk[E2E_MEMBER_SECRETKEYBYTES])
{
	e2e_member *m;

	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (sk == NULL)
		return E2E_ERR_INVAL;
	m = sodium_malloc(sizeof *m);
	if (m == NULL)
		return E2E_ERR_NOMEM;
	memcpy(m->sk, sk, sizeof m->sk);
	if (crypto_scalarmult_base(m->pk, m->sk) != 0) {
		sodium_free(m);
		return E2E_ERR_INVAL;
	}
	m->id = e2e_member_id_from_public(m->pk);
	*out = m;
	return E2E_OK;
}

E2E_API int e2e_member_generate(e2e_member **out)
{
	uint8_t sk[E2E_MEMBER_SECRETKEYBYTES];
	int rc;

	randombytes_buf(sk, sizeof sk);
	rc = e2e_member_from_secret(out, sk);
	sodium_memzero(sk, sizeof sk);
	return rc;
}

E2E_API void e2e_member_free(e2e_member *m)
{
	if (m != NULL)
		sodium_free(m); /* sodium_free wipes */
}

E2E_API void e2e_member_public(const e2e_member *m,
			       uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES])
{
	if (m != NULL && pk != NULL)
		memcpy(pk, m->pk, E2E_MEMBER_PUBLICKEYBYTES);
}

E2E_API void e2e_member_secret(const e2e_member *m,
			       uint8_t sk[E2E_MEMBER_SECRETKEYBYTES])
{
	if (m != NULL && sk != NULL)
		memcpy(sk, m->sk, E2E_MEMBER_SECRETKEYBYTES);
}

E2E_API uint64_t e2e_member_id(const e2e_member *m)
{
	return m != NULL ? m->id : 0;
}

const uint8_t *e2e__member_secret(const e2e_member *m)
{
	return m->sk;
}

const uint8_t *e2e__member_public(const e2e_member *m)
{
	return m->pk;
}
