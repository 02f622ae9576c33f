/*
 * Fuzz target: the replay-guard state file loader, e2e_guard_load().
 * Byte 0 of the input is a control byte; the rest is the file, written to a
 * scratch file and loaded into a fresh guard. State files end with a
 * BLAKE2b-256 checksum line that no mutation gets right by chance, so with
 * bit 0 of the control byte set the target first rewrites the last
 * "checksum " line to the right value: the fuzzer then reaches the accepted
 * path with arbitrary content.
 *
 * Oracles: a refused file leaves the guard empty and names a line no further
 * than the file's last; an accepted file tracks no more senders than the
 * guard's capacity, saves, loads back, and saves again to the same bytes.
 */
#define _XOPEN_SOURCE 700
#include <string.h>

#include <sodium.h>

#include "fuzz_common.h"

#define MAX_SENDERS 16u

static e2e_guard *new_guard(void)
{
	e2e_guard_opts o;
	e2e_guard *g = NULL;

	e2e_guard_opts_default(&o);
	o.max_senders = MAX_SENDERS;
	o.max_retained_topics = MAX_SENDERS;
	FUZZ_CHECK(e2e_guard_new(&g, &o) == E2E_OK);
	return g;
}

/* The file with its last checksum line recomputed (malloc'd). */
static uint8_t *fix_checksum(const uint8_t *data, size_t size, size_t *len)
{
	static const char word[] = "\nchecksum ";
	const size_t wlen = sizeof word - 1;
	uint8_t sum[32], *out;
	size_t at = SIZE_MAX, rest;

	for (size_t i = 0; i + wlen <= size; i++)
		if (memcmp(data + i, word, wlen) == 0)
			at = i;
	out = malloc(size + 2 * sizeof sum + 2);
	FUZZ_CHECK(out != NULL);
	memcpy(out, data, size);
	*len = size;
	if (at == SIZE_MAX)
		return out;
	/* Keep whatever followed the checksum's line end. */
	rest = at + wlen;
	while (rest < size && data[rest] != '\n')
		rest++;
	crypto_generichash(sum, sizeof sum, data, at + 1, NULL, 0);
	*len = at + wlen;
	for (size_t i = 0; i < sizeof sum; i++) {
		static const char hex[] = "0123456789abcdef";

		out[(*len)++] = (uint8_t)hex[sum[i] >> 4];
		out[(*len)++] = (uint8_t)hex[sum[i] & 15];
	}
	memcpy(out + *len, data + rest, size - rest);
	*len += size - rest;
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in, *out1, *out2;
	e2e_guard *g, *g2;
	size_t bad_line = 0, len;
	uint8_t *file;
	int rc;

	fuzz_init();
	if (size < 1)
		return 0;
	in = fuzz_tmp_path("in.state");
	out1 = fuzz_tmp_path("out1.state");
	out2 = fuzz_tmp_path("out2.state");
	if (data[0] & 1) {
		file = fix_checksum(data + 1, size - 1, &len);
	} else {
		len = size - 1;
		file = malloc(len + 1);
		FUZZ_CHECK(file != NULL);
		memcpy(file, data + 1, len);
	}
	FUZZ_CHECK(fuzz_write_file(in, file, len) == 0);
	g = new_guard();
	rc = e2e_guard_load(g, in, &bad_line);
	FUZZ_CHECK(strcmp(e2e_reason(rc), "unknown") != 0);
	if (rc != E2E_OK) {
		FUZZ_CHECK(rc == E2E_ERR_STATE_CORRUPT || rc == E2E_ERR_IO ||
			   rc == E2E_ERR_EMPTY || rc == E2E_ERR_NOMEM);
		FUZZ_CHECK(e2e_guard_sender_count(g) == 0);
		if (rc == E2E_ERR_STATE_CORRUPT)
			FUZZ_CHECK(bad_line <= fuzz_count_lines(file, len));
		goto done;
	}
	FUZZ_CHECK(e2e_guard_sender_count(g) <= MAX_SENDERS);
	FUZZ_CHECK(e2e_guard_save(g, out1) == E2E_OK);
	g2 = new_guard();
	FUZZ_CHECK(e2e_guard_load(g2, out1, &bad_line) == E2E_OK);
	FUZZ_CHECK(e2e_guard_sender_count(g2) == e2e_guard_sender_count(g));
	FUZZ_CHECK(e2e_guard_save(g2, out2) == E2E_OK);
	fuzz_check_same_file(out1, out2);
	e2e_guard_free(g2);
done:
	free(file);
	e2e_guard_free(g);
	return 0;
}
