/*
 * Fuzz target: the signer secret key file parsers, e2e_signer_inspect() and
 * e2e_signer_load().
 *
 * Loading runs without a passphrase: for an encrypted file that stops before
 * Argon2id (whose costs the file chooses, up to seconds per input), which a
 * fuzzer could not get past anyway without the passphrase; every byte of the
 * file is still parsed.
 *
 * Oracles: inspect and load agree (an encrypted file needs the passphrase,
 * a clear one loads unless its public key does not match its seed); a refused
 * file names a line within the file; a loaded signer has the inspected public
 * key, saves (unencrypted), loads back to the same key, and saves again to
 * the same bytes.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_tmp_path("in.key");
	const char *out1 = fuzz_tmp_path("out1.key");
	const char *out2 = fuzz_tmp_path("out2.key");
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES], pk2[E2E_SIGN_PUBLICKEYBYTES];
	e2e_signer *s = NULL, *s2 = NULL;
	size_t bad_line = 0;
	int rc, irc, encrypted = -1;

	fuzz_init();
	FUZZ_CHECK(fuzz_write_file(in, data, size) == 0);
	irc = e2e_signer_inspect(in, pk, &encrypted, &bad_line);
	FUZZ_CHECK(strcmp(e2e_reason(irc), "unknown") != 0);
	if (irc != E2E_OK)
		FUZZ_CHECK(bad_line <= fuzz_count_lines(data, size));
	rc = e2e_signer_load(&s, in, NULL, 0, &bad_line);
	FUZZ_CHECK(strcmp(e2e_reason(rc), "unknown") != 0);
	if (irc != E2E_OK)
		FUZZ_CHECK(rc == irc);
	else if (encrypted)
		FUZZ_CHECK(rc == E2E_ERR_PASSPHRASE);
	else
		FUZZ_CHECK(rc == E2E_OK || rc == E2E_ERR_KEYFILE);
	if (rc != E2E_OK) {
		FUZZ_CHECK(s == NULL);
		FUZZ_CHECK(bad_line <= fuzz_count_lines(data, size));
		return 0;
	}
	e2e_signer_public(s, pk2);
	FUZZ_CHECK(memcmp(pk, pk2, sizeof pk) == 0);
	FUZZ_CHECK(e2e_signer_save(s, out1, NULL, 0, 0, 0, 0) == E2E_OK);
	FUZZ_CHECK(e2e_signer_load(&s2, out1, NULL, 0, &bad_line) == E2E_OK);
	e2e_signer_public(s2, pk2);
	FUZZ_CHECK(memcmp(pk, pk2, sizeof pk) == 0);
	FUZZ_CHECK(e2e_signer_id(s) == e2e_signer_id(s2));
	FUZZ_CHECK(e2e_signer_save(s2, out2, NULL, 0, 0, 0, 0) == E2E_OK);
	fuzz_check_same_file(out1, out2);
	e2e_signer_free(s);
	e2e_signer_free(s2);
	return 0;
}
