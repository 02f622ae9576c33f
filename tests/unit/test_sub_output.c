/*
 * e2e-sub's escaping of the bytes it prints (cli_put_safe, e2e-sub(1)
 * "OUTPUT"): literal cases, then many random strings compared with a
 * one-byte-at-a-time model of the rule, so that the word-at-a-time scan
 * of the usual printable bytes never changes what is written, wherever in
 * a word of eight the first byte to escape falls.
 */
#define _GNU_SOURCE /* open_memstream */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "sub_output.h"

/* What cli_put_safe wrote for len bytes of s (NUL-terminated, freed by the
 * caller). */
static char *escaped(const void *s, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	cli_put_safe(f, s, len);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* The rule, one byte or one UTF-8 sequence at a time. */
static char *model(const uint8_t *u, size_t len)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t l = cli_utf8_seq(u + i, len - i, &cp);

		if (!l) {
			fprintf(f, "\\x%02x", u[i]);
			i++;
			continue;
		}
		if (cp == '\\')
			fputs("\\\\", f);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\r')
			fputs("\\r", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (cp < 0x80 && cli_char_unsafe(cp))
			fprintf(f, "\\x%02x", (unsigned)cp);
		else if (cli_char_unsafe(cp))
			fprintf(f, "\\u{%04" PRIx32 "}", cp);
		else
			fwrite(u + i, 1, l, f);
		i += l;
	}
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void check(const char *in, size_t len, const char *want)
{
	char *got = escaped(in, len);

	assert_string_equal(got, want);
	free(got);
}

/* A literal's bytes, its NUL excepted. */
#define CHECK(lit, want) check(lit, sizeof lit - 1, want)

static void test_literal_cases(void **state)
{
	(void)state;
	CHECK("", "");
	CHECK("plain ASCII, longer than a word: ~!@#$%^&*()_+{}|:<>?",
	      "plain ASCII, longer than a word: ~!@#$%^&*()_+{}|:<>?");
	CHECK("a\\b", "a\\\\b");
	CHECK("line\nfeed\r\ttab", "line\\nfeed\\r\\ttab");
	CHECK("nul\0byte", "nul\\x00byte");
	CHECK("del\x7f esc\x1b[2J", "del\\x7f esc\\x1b[2J");
	CHECK("caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac");
	CHECK("sep\xe2\x80\xa8"
	      "bidi\xe2\x80\xae"
	      "c1\xc2\x85",
	      "sep\\u{2028}bidi\\u{202e}c1\\u{0085}");
	CHECK("bad \xff\xc3(\xed\xa0\x80", "bad \\xff\\xc3(\\xed\\xa0\\x80");
	CHECK("cut at the end \xe2\x82", "cut at the end \\xe2\\x82");
}

/* Each byte value that must be escaped, or ends the plain run (0x20 and
 * 0x7E are the edges of it), at every position of two words. */
static void test_every_edge_byte_at_every_position(void **state)
{
	static const uint8_t edges[] = {0x00, 0x09, 0x0a, 0x1f, 0x20,
					0x5b, 0x5c, 0x5d, 0x7e, 0x7f,
					0x80, 0xc3, 0xe2, 0xff};
	uint8_t s[24];

	(void)state;
	for (size_t e = 0; e < sizeof edges; e++)
		for (size_t pos = 0; pos < sizeof s; pos++) {
			char *got, *want;

			memset(s, 'x', sizeof s);
			s[pos] = edges[e];
			got = escaped(s, sizeof s);
			want = model(s, sizeof s);
			assert_string_equal(got, want);
			free(got);
			free(want);
		}
}

/* Random strings, mostly printable (the fast path's case) with escapes,
 * multibyte characters and broken sequences mixed in. */
static void test_random_strings_match_the_model(void **state)
{
	static const char *const pieces[] = {
		"\\",       "\n",
		"\r",       "\t",
		"\x7f",     "\x01",
		"\xc3\xa9", "\xe2\x80\xa8",
		"\xc2\x9b", "\xf0\x9f\x98\x80",
		"\xff",     "\xe2\x82",
	};
	uint8_t s[200];

	(void)state;
	for (int round = 0; round < 20000; round++) {
		size_t len = randombytes_uniform(sizeof s - 4), n = 0;
		char *got, *want;

		while (n < len) {
			if (randombytes_uniform(8)) {
				s[n++] = (uint8_t)(0x20 +
						   randombytes_uniform(0x5f));
			} else {
				const char *p = pieces[randombytes_uniform(
					sizeof pieces / sizeof *pieces)];
				size_t pl = strlen(p);

				if (n + pl > sizeof s)
					break;
				memcpy(s + n, p, pl);
				n += pl;
			}
		}
		got = escaped(s, n);
		want = model(s, n);
		assert_string_equal(got, want);
		free(got);
		free(want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_cases),
		cmocka_unit_test(test_every_edge_byte_at_every_position),
		cmocka_unit_test(test_random_strings_match_the_model),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
