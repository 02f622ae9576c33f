/*
 * e2e-sub -F %J (sub_json.h), on Debian's cJSON, the parser mosquitto_sub
 * uses: the payload must be one JSON value and nothing else (whitespace
 * around it and a UTF-8 BOM apart), as mosquitto_sub's check.
 *
 * The object is %j's (sub_output.c writes it), read back by cJSON, its
 * payload replaced by the parsed payload and its "encoding" dropped, then
 * printed by cJSON: so numbers and the --pretty layout are mosquitto_sub's
 * own. cJSON writes non-ASCII text as it is; on the way out every
 * character e2e-sub never lets through (cli_char_unsafe) becomes \uXXXX
 * and invalid UTF-8 \ufffd, as %j writes them: the same JSON value, inert
 * on a terminal.
 *
 * The payload is the opened plaintext: every buffer cJSON allocates is
 * wiped when freed (its free hook), ours too.
 */
#define _GNU_SOURCE /* malloc_usable_size */
#include "config.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#ifdef HAVE_CJSON
#include <cJSON.h>
#endif

#include "sub_json.h"
#include "wipe_stream.h"

#ifndef HAVE_CJSON

int cli_json_payload_available(void)
{
	return 0;
}

int cli_out_json_payload(const struct cli_config *cfg, FILE *f,
			 const struct cli_delivery *d,
			 const struct timespec *now)
{
	(void)cfg, (void)f, (void)d, (void)now;
	return -1;
}

#else

int cli_json_payload_available(void)
{
	return 1;
}

static void wiping_free(void *p)
{
	if (p) {
		sodium_memzero(p, malloc_usable_size(p));
		free(p);
	}
}

/* cJSON's output on f, with the escapes above. */
static void put_json_safe(FILE *f, const char *s)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t n = strlen(s);

	for (size_t i = 0; i < n;) {
		uint32_t cp = u[i];
		size_t l = u[i] < 0x80 ? 1 : cli_utf8_seq(u + i, n - i, &cp);

		if (l == 0)
			fputs("\\ufffd", f);
		else if (cp == 0x7f || (cp >= 0x80 && cli_char_unsafe(cp)))
			fprintf(f, "\\u%04" PRIx32, cp);
		else
			fwrite(u + i, 1, l, f);
		i += l ? l : 1;
	}
}

/* The payload as one cJSON value, or NULL when it is not JSON. */
static cJSON *parse_payload(const struct cli_delivery *d)
{
	char *text = malloc(d->len + 1);
	const char *end = NULL;
	cJSON *v;

	if (!text)
		return NULL;
	memcpy(text, d->payload, d->len);
	text[d->len] = '\0';
	v = cJSON_ParseWithOpts(text, &end, 1);
	/* A NUL inside the payload ends cJSON's text early: not JSON. */
	if (v && end != text + d->len) {
		cJSON_Delete(v);
		v = NULL;
	}
	wiping_free(text);
	return v;
}

/* %j's object for d, read back by cJSON, or NULL. */
static cJSON *plain_object(const struct cli_config *cfg,
			   const struct cli_delivery *d,
			   const struct timespec *now)
{
	struct cli_config one_line = *cfg;
	struct cli_wipe_buf b = {0};
	cJSON *o = NULL;
	FILE *mem = cli_wipe_stream(&b);

	if (!mem)
		return NULL;
	one_line.pretty = 0;
	cli_out_json(&one_line, mem, d, now);
	if (fclose(mem) == 0 && b.len)
		o = cJSON_ParseWithLength(b.data, b.len);
	cli_wipe_free(&b);
	return o;
}

int cli_out_json_payload(const struct cli_config *cfg, FILE *f,
			 const struct cli_delivery *d,
			 const struct timespec *now)
{
	static int hooked;
	cJSON *payload, *o = NULL;
	char *out = NULL;

	if (!hooked) {
		cJSON_Hooks h = {malloc, wiping_free};
		cJSON_InitHooks(&h);
		hooked = 1;
	}
	if (!(payload = parse_payload(d)))
		return -1;
	if (!(o = plain_object(cfg, d, now)) ||
	    !cJSON_ReplaceItemInObjectCaseSensitive(o, "payload", payload)) {
		cJSON_Delete(payload);
		goto cleanup;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(o, "encoding");
	out = cfg->pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	if (out)
		put_json_safe(f, out);
cleanup:
	cJSON_Delete(o);
	cJSON_free(out);
	return out ? 0 : -1;
}

#endif /* HAVE_CJSON */
