/* Ed25519 signers: the secret key lives in sodium_malloc memory. */
#include "internal.h"

#include <string.h>

#include <sodium.h>

struct e2e_signer {
	uint8_t sk[E2E_SIGN_SECRETKEYBYTES]; /* seed || public key */
	uint64_t id;
};

E2E_API uint64_t
e2e_signer_id_from_public(const uint8_t pk[E2E_SIGN_PUBLICKEYBYTES])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof h, pk, E2E_SIGN_PUBLICKEYBYTES, NULL, 0);
	return e2e__load64(h);
}

static int make(e2e_signer **out, const uint8_t seed[E2E_SIGN_SEEDBYTES])
{
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	e2e_signer *s;

	s = sodium_malloc(sizeof *s);
	if (s == NULL)
		return E2E_ERR_NOMEM;
	crypto_sign_seed_keypair(pk, s->sk, seed);
	s->id = e2e_signer_id_from_public(pk);
	*out = s;
	return E2E_OK;
}

E2E_API int e2e_signer_generate(e2e_signer **out)
{
	uint8_t seed[E2E_SIGN_SEEDBYTES];
	int rc;

	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	randombytes_buf(seed, sizeof seed);
	rc = make(out, seed);
	sodium_memzero(seed, sizeof seed);
	return rc;
}

E2E_API int e2e_signer_from_seed(e2e_signer **out,
				 const uint8_t seed[E2E_SIGN_SEEDBYTES])
{
	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (seed == NULL)
		return E2E_ERR_INVAL;
	return make(out, seed);
}

E2E_API int e2e_signer_from_secret(e2e_signer **out,
				   const uint8_t sk[E2E_SIGN_SECRETKEYBYTES])
{
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	int rc;

	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (sk == NULL)
		return E2E_ERR_INVAL;
	rc = make(out, sk); /* the first 32 bytes are the seed */
	if (rc != E2E_OK)
		return rc;
	/* A secret key whose public half does not belong to its seed would
	 * sign under one identity and claim another. */
	crypto_sign_ed25519_sk_to_pk(pk, (*out)->sk);
	if (sodium_memcmp(pk, sk + E2E_SIGN_SEEDBYTES, sizeof pk) != 0) {
		e2e_signer_free(*out);
		*out = NULL;
		return E2E_ERR_INVAL;
	}
	return E2E_OK;
}

E2E_API void e2e_signer_free(e2e_signer *s)
{
	if (s != NULL)
		sodium_free(s); /* wipes */
}

E2E_API void e2e_signer_public(const e2e_signer *s,
			       uint8_t pk[E2E_SIGN_PUBLICKEYBYTES])
{
	crypto_sign_ed25519_sk_to_pk(pk, s->sk);
}

E2E_API uint64_t e2e_signer_id(const e2e_signer *s)
{
	return s->id;
}

const uint8_t *e2e__signer_secret(const e2e_signer *s)
{
	return s->sk;
}
