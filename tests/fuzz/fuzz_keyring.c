/*
 * Fuzz target: the keyring file loader, e2e_keyring_load().
 *
 * Oracles: a refused file returns no keyring and names a line within the
 * file; an accepted keyring has keys with non-zero, increasing ids, a valid
 * suite and state, valid topic filters, at least one key that is not
 * disabled (a receive-only keyring, or one whose primary is still to come,
 * has no primary: docs/KEYFILES.md) and at most one primary per scope
 * (keys with the same filters); it saves, loads back to the
 * same keys, schedules and filters, and saves again to the same bytes.
 */
#include <string.h>

#include "fuzz_common.h"

static void check_keys(const e2e_keyring *kr)
{
	size_t n = e2e_keyring_count(kr), usable = 0;
	e2e_key_info info, prev, other;
	const char *f, *g;

	FUZZ_CHECK(n >= 1);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(e2e_keyring_get(kr, i, &info) == E2E_OK);
		FUZZ_CHECK(info.id != 0);
		FUZZ_CHECK(i == 0 || info.id > prev.id);
		FUZZ_CHECK(info.suite == E2E_SUITE_AEAD ||
			   info.suite == E2E_SUITE_MAC);
		FUZZ_CHECK(info.state == E2E_KEY_DISABLED ||
			   info.state == E2E_KEY_ENABLED ||
			   info.state == E2E_KEY_PRIMARY);
		FUZZ_CHECK(e2e_keyring_get_filters(kr, info.id, &f) == E2E_OK);
		FUZZ_CHECK(strchr(f, ' ') == NULL);
		usable += info.state != E2E_KEY_DISABLED;
		for (size_t j = 0; j < i && info.state == E2E_KEY_PRIMARY;
		     j++) {
			FUZZ_CHECK(e2e_keyring_get(kr, j, &other) == E2E_OK);
			FUZZ_CHECK(e2e_keyring_get_filters(kr, other.id, &g) ==
				   E2E_OK);
			FUZZ_CHECK(other.state != E2E_KEY_PRIMARY ||
				   strcmp(f, g) != 0);
		}
		prev = info;
	}
	FUZZ_CHECK(usable >= 1);
}

static void check_same_keys(const e2e_keyring *a, const e2e_keyring *b)
{
	e2e_key_info x, y;

	FUZZ_CHECK(e2e_keyring_count(a) == e2e_keyring_count(b));
	for (size_t i = 0; i < e2e_keyring_count(a); i++) {
		uint64_t xa, xd, ya, yd;
		const char *xf, *yf;

		FUZZ_CHECK(e2e_keyring_get(a, i, &x) == E2E_OK);
		FUZZ_CHECK(e2e_keyring_get(b, i, &y) == E2E_OK);
		FUZZ_CHECK(x.id == y.id && x.suite == y.suite &&
			   x.state == y.state && x.created == y.created);
		FUZZ_CHECK(e2e_keyring_schedule_get(a, x.id, &xa, &xd) ==
			   E2E_OK);
		FUZZ_CHECK(e2e_keyring_schedule_get(b, y.id, &ya, &yd) ==
			   E2E_OK);
		FUZZ_CHECK(xa == ya && xd == yd);
		FUZZ_CHECK(e2e_keyring_get_filters(a, x.id, &xf) == E2E_OK);
		FUZZ_CHECK(e2e_keyring_get_filters(b, y.id, &yf) == E2E_OK);
		FUZZ_CHECK(strcmp(xf, yf) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = fuzz_tmp_path("in.keyring");
	const char *out1 = fuzz_tmp_path("out1.keyring");
	const char *out2 = fuzz_tmp_path("out2.keyring");
	e2e_keyring *kr = NULL, *kr2 = NULL;
	size_t bad_line = 0;
	int rc;

	fuzz_init();
	FUZZ_CHECK(fuzz_write_file(in, data, size) == 0);
	rc = e2e_keyring_load(&kr, in, &bad_line);
	FUZZ_CHECK(strcmp(e2e_reason(rc), "unknown") != 0);
	if (rc != E2E_OK) {
		FUZZ_CHECK(kr == NULL);
		FUZZ_CHECK(bad_line <= fuzz_count_lines(data, size));
		return 0;
	}
	check_keys(kr);
	FUZZ_CHECK(e2e_keyring_save(kr, out1, 0) == E2E_OK);
	FUZZ_CHECK(e2e_keyring_load(&kr2, out1, &bad_line) == E2E_OK);
	check_same_keys(kr, kr2);
	FUZZ_CHECK(e2e_keyring_save(kr2, out2, 0) == E2E_OK);
	fuzz_check_same_file(out1, out2);
	e2e_keyring_free(kr);
	e2e_keyring_free(kr2);
	return 0;
}
