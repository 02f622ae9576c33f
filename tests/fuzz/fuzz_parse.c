/*
 * Fuzz target: e2e_parse() on arbitrary bytes.
 *
 * Oracles: a parsed envelope has a valid suite, a signature-only envelope is
 * signed, and the envelope length is exactly the documented length for its
 * mode and payload; otherwise the error is one of the parser's four.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	e2e_info info;
	int rc;

	fuzz_init();
	rc = e2e_parse(data, size, &info);
	if (rc != E2E_OK) {
		FUZZ_CHECK(rc == E2E_ERR_NOT_E2E || rc == E2E_ERR_VERSION ||
			   rc == E2E_ERR_RESERVED || rc == E2E_ERR_MALFORMED);
		return 0;
	}
	FUZZ_CHECK(size > 0 && data[0] == E2E_MAGIC_V1);
	FUZZ_CHECK(info.suite == E2E_SUITE_AEAD ||
		   info.suite == E2E_SUITE_MAC || info.suite == E2E_SUITE_NONE);
	FUZZ_CHECK(info.suite != E2E_SUITE_NONE ||
		   (info.is_signed && info.key_id == 0));
	FUZZ_CHECK(info.payload_len +
			   e2e_overhead(info.suite, info.is_signed) ==
		   size);
	FUZZ_CHECK(e2e_sealed_len(info.suite, info.is_signed,
				  info.payload_len) == size);
	return 0;
}
