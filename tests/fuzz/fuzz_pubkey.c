/*
 * Fuzz target: the signer public key file loader, e2e_pubkey_load().
 *
 * Oracles: a refused file names a line within the file; an accepted key
 * saves, loads back to the same key, and saves again to the same bytes.
 */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_tmp_path("in.pub");
	const char *out1 = fuzz_tmp_path("out1.pub");
	const char *out2 = fuzz_tmp_path("out2.pub");
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES], pk2[E2E_SIGN_PUBLICKEYBYTES];
	size_t bad_line = 0;
	int rc;

	fuzz_init();
	FUZZ_CHECK(fuzz_write_file(in, data, size) == 0);
	rc = e2e_pubkey_load(pk, in, &bad_line);
	FUZZ_CHECK(strcmp(e2e_reason(rc), "unknown") != 0);
	if (rc != E2E_OK) {
		FUZZ_CHECK(bad_line <= fuzz_count_lines(data, size));
		return 0;
	}
	FUZZ_CHECK(e2e_pubkey_save(pk, out1, 0) == E2E_OK);
	FUZZ_CHECK(e2e_pubkey_load(pk2, out1, &bad_line) == E2E_OK);
	FUZZ_CHECK(memcmp(pk, pk2, sizeof pk) == 0);
	FUZZ_CHECK(e2e_pubkey_save(pk2, out2, 0) == E2E_OK);
	fuzz_check_same_file(out1, out2);
	return 0;
}
