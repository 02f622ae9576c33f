/*
 * Fuzz target: the trust file loader, e2e_trust_load().
 *
 * Oracles: a refused file returns no trust set and names a line within the
 * file; an accepted one has only valid topic filters, saves, loads back to
 * the same signers and filters, and saves again to the same bytes.
 */
#include <string.h>

#include "fuzz_common.h"

static void check_filters(const char *filters)
{
	char one[E2E_TOPIC_MAX + 1];
	const char *p = filters;

	FUZZ_CHECK(filters != NULL);
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		FUZZ_CHECK(len <= E2E_TOPIC_MAX);
		memcpy(one, p, len);
		one[len] = '\0';
		FUZZ_CHECK(e2e_filter_check(one) == E2E_OK);
		if (comma == NULL)
			break;
		p = comma + 1;
	}
}

static void check_same(const e2e_trust *a, const e2e_trust *b)
{
	uint8_t pa[E2E_SIGN_PUBLICKEYBYTES], pb[E2E_SIGN_PUBLICKEYBYTES];
	const char *fa, *fb;

	FUZZ_CHECK(e2e_trust_count(a) == e2e_trust_count(b));
	for (size_t i = 0; i < e2e_trust_count(a); i++) {
		FUZZ_CHECK(e2e_trust_get(a, i, pa, &fa) == E2E_OK);
		FUZZ_CHECK(e2e_trust_get(b, i, pb, &fb) == E2E_OK);
		FUZZ_CHECK(memcmp(pa, pb, sizeof pa) == 0);
		FUZZ_CHECK(strcmp(fa, fb) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_tmp_path("in.trust");
	const char *out1 = fuzz_tmp_path("out1.trust");
	const char *out2 = fuzz_tmp_path("out2.trust");
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	e2e_trust *t = NULL, *t2 = NULL;
	const char *filters;
	size_t bad_line = 0;
	int rc;

	fuzz_init();
	FUZZ_CHECK(fuzz_write_file(in, data, size) == 0);
	rc = e2e_trust_load(&t, in, &bad_line);
	FUZZ_CHECK(strcmp(e2e_reason(rc), "unknown") != 0);
	if (rc != E2E_OK) {
		FUZZ_CHECK(t == NULL);
		FUZZ_CHECK(bad_line <= fuzz_count_lines(data, size));
		return 0;
	}
	for (size_t i = 0; i < e2e_trust_count(t); i++) {
		FUZZ_CHECK(e2e_trust_get(t, i, pk, &filters) == E2E_OK);
		check_filters(filters);
	}
	FUZZ_CHECK(e2e_trust_save(t, out1, 0) == E2E_OK);
	FUZZ_CHECK(e2e_trust_load(&t2, out1, &bad_line) == E2E_OK);
	check_same(t, t2);
	FUZZ_CHECK(e2e_trust_save(t2, out2, 0) == E2E_OK);
	fuzz_check_same_file(out1, out2);
	e2e_trust_free(t);
	e2e_trust_free(t2);
	return 0;
}
