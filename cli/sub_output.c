/*
 * Everything e2e-sub prints: accepted messages on stdout (as mosquitto_sub
 * does, -v, -N, -F, --json, but with topics and payloads escaped, one line
 * per message, unless --raw-output) and one stderr line per refused
 * message, "e2e-sub: rejected TOPIC: REASON: detail".
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "report.h"
#include "sub_format.h"
#include "sub_output.h"
#include "wipe_stream.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included);
 * its code point in *cp_out when cp_out is not NULL. */
size_t cli_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp_out)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		len = 1, cp = s[0];
	else if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1Fu;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0Fu;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	if (cp_out)
		*cp_out = cp;
	return len;
}

/* C0 controls, DEL, C1 controls (U+0080..U+009F), the line and paragraph
 * separators U+2028/U+2029, and the bidirectional embeddings, overrides and
 * isolates U+202A..U+202E and U+2066..U+2069: what can end a line, drive a
 * terminal or reorder the text a reader sees. */
int cli_char_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
	       (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* One byte below 0x80 as \\, \n, \r, \t or \xHH. */
static void put_escaped_byte(FILE *f, uint8_t c)
{
	const char *named = c == '\\'   ? "\\\\"
			    : c == '\n' ? "\\n"
			    : c == '\r' ? "\\r"
			    : c == '\t' ? "\\t"
					: NULL;

	if (named)
		fputs(named, f);
	else
		fprintf(f, "\\x%02x", c);
}

/* Bytes of eight copies of b, and the per-byte tests on a word x of eight
 * bytes (Hacker's Delight's "has a zero byte", exact as to whether any
 * byte qualifies): a byte of x is 0, or below n (n <= 0x80). */
#define BYTES8(b) (0x0101010101010101u * (uint8_t)(b))
#define ANY_ZERO(x) (((x)-BYTES8(1)) & ~(x)&BYTES8(0x80))
#define ANY_BELOW(x, n) (((x)-BYTES8(n)) & ~(x)&BYTES8(0x80))

/* How many of the first len bytes of u are printable ASCII other than
 * '\\' (0x20..0x7E): the bytes cli_put_safe writes as they are, and all
 * that most payloads hold. Eight at a time. */
static size_t plain_prefix(const uint8_t *u, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t x;

		memcpy(&x, u + i, sizeof x);
		if ((x & BYTES8(0x80)) | ANY_BELOW(x, 0x20) |
		    ANY_ZERO(x ^ BYTES8(0x7F)) | ANY_ZERO(x ^ BYTES8('\\')))
			break;
	}
	while (i < len && u[i] >= 0x20 && u[i] < 0x7F && u[i] != '\\')
		i++;
	return i;
}

void cli_put_safe(FILE *f, const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t run = 0; /* start of the bytes not yet written, all safe */

	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t l;

		i += plain_prefix(u + i, len - i);
		if (i == len)
			break;
		if (u[i] >= 0x20 && u[i] < 0x7F && u[i] != '\\') {
			i++; /* printable ASCII, the common case */
			continue;
		}
		l = cli_utf8_seq(u + i, len - i, &cp);
		if (l && cp != '\\' && !cli_char_unsafe(cp)) {
			i += l;
			continue;
		}
		fwrite(u + run, 1, i - run, f);
		if (!l)
			fprintf(f, "\\x%02x", u[i]); /* not UTF-8: one byte */
		else if (cp < 0x80)
			put_escaped_byte(f, (uint8_t)cp);
		else
			fprintf(f, "\\u{%04" PRIx32 "}", cp);
		i += l ? l : 1;
		run = i;
	}
	fwrite(u + run, 1, len - run, f);
}

static int utf8_valid(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t l = cli_utf8_seq(s + i, n - i, NULL);
		if (!l)
			return 0;
		i += l;
	}
	return 1;
}

/* A JSON string; invalid UTF-8 becomes U+FFFD. Beyond what JSON requires,
 * DEL, C1 controls, U+2028/U+2029 and the bidi controls are escaped too
 * (\uXXXX: the same string to a JSON reader, inert on a terminal). */
static void json_string(FILE *f, const uint8_t *s, size_t n)
{
	fputc('"', f);
	for (size_t i = 0; i < n;) {
		uint32_t cp = 0;
		size_t l = cli_utf8_seq(s + i, n - i, &cp);
		uint8_t c = s[i];
		if (!l) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (cli_char_unsafe(cp))
			fprintf(f, "\\u%04" PRIx32, cp);
		else
			fwrite(s + i, 1, l, f);
		i += l;
	}
	fputc('"', f);
}

static void put_base64(FILE *f, const uint8_t *s, size_t n)
{
	size_t cap =
		sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *b = malloc(cap);

	if (!b)
		return;
	sodium_bin2base64(b, cap, s, n, sodium_base64_VARIANT_ORIGINAL);
	fputs(b, f);
	free(b);
}

void cli_out_hex(FILE *f, const uint8_t *s, size_t n, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		fputc(digits[s[i] >> 4], f);
		fputc(digits[s[i] & 15], f);
	}
}

/* A topic or payload on stdout: escaped (cli_put_safe) unless
 * --raw-output, so that one accepted message is one line. */
void cli_out_text(const struct cli_config *cfg, FILE *f, const void *s,
		  size_t n)
{
	if (cfg->raw_output)
		fwrite(s, 1, n, f);
	else
		cli_put_safe(f, s, n);
}

/* mosquitto's "tst": local time, microseconds, a 'Z' and the offset
 * ("2020-05-06T21:48:00.123456Z+0100", its very format). */
static void put_tst(FILE *f, const struct timespec *now)
{
	struct tm tm;
	char date[32], zone[8];

	localtime_r(&now->tv_sec, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(zone, sizeof zone, "%z", &tm);
	fprintf(f, "\"tst\":\"%s.%06ldZ%s\"", date, now->tv_nsec / 1000, zone);
}

/* The MQTT 5 properties mosquitto's JSON shows, by its names. */
static const struct {
	enum cli_prop id;
	const char *name;
	int text;
} json_props[] = {
	{CLI_PROP_PAYLOAD_FORMAT, "payload-format-indicator", 0},
	{CLI_PROP_MESSAGE_EXPIRY, "message-expiry-interval", 0},
	{CLI_PROP_CONTENT_TYPE, "content-type", 1},
	{CLI_PROP_RESPONSE_TOPIC, "response-topic", 1},
	{CLI_PROP_CORRELATION_DATA, "correlation-data", 1},
	{CLI_PROP_SUBSCRIPTION_ID, "subscription-identifier", 0},
	{CLI_PROP_TOPIC_ALIAS, "topic-alias", 0},
};

/* ,"properties":{...} when the message has any (MQTT 5; unauthenticated,
 * as the man page says), in mosquitto's names. */
static void put_json_props(FILE *f, const struct cli_message *m)
{
	struct cli_prop_value v;
	int any = 0;

	for (int i = 0; cli_message_prop(m, CLI_PROP_USER, i, &v); i++) {
		fputs(i ? "," : ",\"properties\":{\"user-properties\":{", f);
		json_string(f, (const uint8_t *)v.name, v.name_len);
		fputc(':', f);
		json_string(f, (const uint8_t *)v.data, v.len);
		any = 1;
	}
	if (any)
		fputc('}', f);
	for (size_t i = 0; i < sizeof json_props / sizeof json_props[0]; i++) {
		if (!cli_message_prop(m, json_props[i].id, 0, &v))
			continue;
		fprintf(f, "%s\"%s\":", any ? "," : ",\"properties\":{",
			json_props[i].name);
		if (json_props[i].text)
			json_string(f, (const uint8_t *)v.data, v.len);
		else
			fprintf(f, "%lu", v.num);
		any = 1;
	}
	if (any)
		fputc('}', f);
}

static void put_indent(FILE *f, int depth)
{
	fputc('\n', f);
	for (int i = 0; i < depth; i++)
		fputc('\t', f);
}

/* --pretty: the one-line object json_object() wrote, laid out as
 * mosquitto_sub's (cJSON's): one member a line, tab indents, ":\t". It
 * reads only what we wrote (objects, strings, numbers, no arrays). */
static void put_pretty(FILE *f, const char *s, size_t n)
{
	int depth = 0, in_string = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (in_string) {
			fputc(c, f);
			if (c == '\\' && i + 1 < n)
				fputc(s[++i], f);
			else if (c == '"')
				in_string = 0;
			continue;
		}
		if (c == '"') {
			in_string = 1;
			fputc(c, f);
		} else if (c == '{') {
			fputc(c, f);
			put_indent(f, ++depth);
		} else if (c == '}') {
			put_indent(f, --depth);
			fputc(c, f);
		} else if (c == ',') {
			fputc(c, f);
			put_indent(f, depth);
		} else if (c == ':') {
			fputs(":\t", f);
		} else {
			fputc(c, f);
		}
	}
}

static void json_object(FILE *f, const struct cli_delivery *d,
			const struct timespec *now);

void cli_out_json(const struct cli_config *cfg, FILE *f,
		  const struct cli_delivery *d, const struct timespec *now)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *mem;

	if (!cfg->pretty) {
		json_object(f, d, now);
		return;
	}
	if (!(mem = open_memstream(&buf, &n)))
		return;
	json_object(mem, d, now);
	fclose(mem);
	put_pretty(f, buf, n);
	sodium_memzero(buf, n); /* it holds the opened payload */
	free(buf);
}

static void json_object(FILE *f, const struct cli_delivery *d,
			const struct timespec *now)
{
	const e2e_info *in = d->info;
	const struct cli_message *m = d->msg;

	fputc('{', f);
	put_tst(f, now);
	fputs(",\"topic\":", f);
	json_string(f, (const uint8_t *)d->topic, strlen(d->topic));
	fprintf(f, ",\"qos\":%d,\"retain\":%d,\"payloadlen\":%zu", m->qos,
		m->retained ? 1 : 0, d->len);
	if (m->qos > 0)
		fprintf(f, ",\"mid\":%d", m->msgid);
	put_json_props(f, m);
	if (utf8_valid(d->payload, d->len)) {
		fputs(",\"payload\":", f);
		json_string(f, d->payload, d->len);
		fputs(",\"encoding\":\"utf-8\"", f);
	} else {
		fputs(",\"payload\":\"", f);
		put_base64(f, d->payload, d->len);
		fputs("\",\"encoding\":\"base64\"", f);
	}
	fprintf(f, ",\"suite\":\"%s\"", e2e_suite_name(in->suite));
	if (in->suite == E2E_SUITE_NONE)
		fputs(",\"key_id\":null", f);
	else
		fprintf(f, ",\"key_id\":\"%08" PRIx32 "\"", in->key_id);
	fprintf(f, ",\"sender\":\"%016" PRIx64 "\"", in->sender_id);
	if (in->is_signed)
		fprintf(f, ",\"signer\":\"%016" PRIx64 "\"", in->sender_id);
	else
		fputs(",\"signer\":null", f);
	/* The 64-bit sequence as a string: JSON readers (jq, JavaScript)
	 * keep integers exact only up to 2^53. */
	fprintf(f,
		",\"sequence\":\"%" PRIu64 "\",\"epoch\":%" PRIu64
		",\"counter\":%" PRIu64 ",\"timestamp\":%" PRIu32
		",\"retained\":%s}",
		in->seq, in->seq >> 32, in->seq & 0xFFFFFFFFu, in->timestamp,
		m->retained ? "true" : "false");
}

/*
 * Buffered output (not --line-buffered, not a terminal): each accepted
 * message is formatted into `line` (a memory stream), then copied whole
 * into stdout's buffer of OUT_BUF bytes, which is written out first when
 * the message would not fit, so that a write(2) to stdout only ever ends
 * at the end of a message: a reader sees whole lines. The caller flushes
 * when no message is waiting (e2e-sub). Only verified bytes ever reach
 * either buffer; the line's copy is wiped after use.
 */
#define OUT_BUF 65536
static struct {
	int buffered;
	FILE *line; /* the message being formatted, into line_buf */
	struct cli_wipe_buf line_buf;
	size_t pending; /* bytes in stdout's buffer */
} out;
/* stdout's buffer when buffered: plaintext, wiped once written out. */
static char out_buf[OUT_BUF];

void cli_out_setup(const struct cli_config *cfg)
{
	if (cfg->line_buffered || isatty(STDOUT_FILENO))
		return;
	/* glibc ignores the size when it is given no buffer: ours. */
	if (setvbuf(stdout, out_buf, _IOFBF, sizeof out_buf) != 0 ||
	    !(out.line = cli_wipe_stream(&out.line_buf)))
		return; /* at once, then */
	out.buffered = 1;
}

int cli_out_buffered(void)
{
	return out.buffered;
}

void cli_out_flush(void)
{
	fflush(stdout);
	if (out.buffered)
		sodium_memzero(out_buf, sizeof out_buf);
	out.pending = 0;
}

/* The message formatted in out.line, into stdout's buffer. */
static void out_line_done(void)
{
	size_t len = out.line_buf.len;

	if (len == 0)
		return;
	if (out.pending + len > OUT_BUF)
		cli_out_flush();
	fwrite(out.line_buf.data, 1, len, stdout);
	out.pending += len;
	if (len >= OUT_BUF)
		cli_out_flush(); /* larger than the buffer: all of it now */
	cli_wipe_reset(&out.line_buf);
}

/* As mosquitto_sub: -F, or -v "topic payload", or the payload alone; an
 * empty payload prints "topic (null)" with -v and nothing without. Topics
 * and payloads are escaped unless --raw-output (put_text). */
/* The usual message, buffered, -v or not, no -F or --json, its bytes all
 * plain (or --raw-output): its line's length is known before writing, so
 * it goes straight into stdout's buffer, which is written out first when
 * the line would not fit. 1 when done, 0 when out.line must format it. */
static int out_plain_line(const struct cli_config *cfg,
			  const struct cli_delivery *d)
{
	const uint8_t *payload = d->payload;
	size_t tlen = 0, need;

	if (!out.buffered || cfg->json || cfg->format || !d->len)
		return 0;
	if (!cfg->raw_output && plain_prefix(payload, d->len) != d->len)
		return 0;
	if (cfg->verbose) {
		tlen = strlen(d->topic);
		if (!cfg->raw_output &&
		    plain_prefix((const uint8_t *)d->topic, tlen) != tlen)
			return 0;
	}
	need = d->len + (cfg->verbose ? tlen + 1 : 0) + (cfg->eol ? 1 : 0);
	if (need >= OUT_BUF)
		return 0;
	if (out.pending + need > OUT_BUF)
		cli_out_flush();
	if (cfg->verbose) {
		fwrite(d->topic, 1, tlen, stdout);
		putc(' ', stdout);
	}
	fwrite(payload, 1, d->len, stdout);
	if (cfg->eol)
		putc('\n', stdout);
	out.pending += need;
	return 1;
}

void cli_out_accepted(const struct cli_config *cfg,
		      const struct cli_delivery *d)
{
	FILE *f = out.buffered ? out.line : stdout;

	if (out_plain_line(cfg, d))
		return;
	if (out.buffered)
		cli_wipe_reset(&out.line_buf);
	if (cfg->json) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		cli_out_json(cfg, f, d, &now);
		fputc('\n', f);
	} else if (cfg->format) {
		cli_format_print(cfg, f, d);
		if (cfg->eol)
			fputc('\n', f);
	} else if (cfg->verbose) {
		if (d->len) {
			cli_out_text(cfg, f, d->topic, strlen(d->topic));
			fputc(' ', f);
			cli_out_text(cfg, f, d->payload, d->len);
			if (cfg->eol)
				fputc('\n', f);
		} else if (cfg->eol) {
			cli_out_text(cfg, f, d->topic, strlen(d->topic));
			fputs(" (null)\n", f);
		}
	} else if (d->len) {
		cli_out_text(cfg, f, d->payload, d->len);
		if (cfg->eol)
			fputc('\n', f);
	}
	if (out.buffered)
		out_line_done();
	else
		fflush(f);
}

static int is_parse_error(int rc)
{
	return rc == E2E_ERR_NOT_E2E || rc == E2E_ERR_VERSION ||
	       rc == E2E_ERR_RESERVED || rc == E2E_ERR_MALFORMED;
}

/* Start a stderr line that names a topic the broker chose: "e2e-sub: WHAT
 * TOPIC", the topic always escaped (whatever --raw-output says). stderr
 * stays locked until end_topic_line(), so that no other thread's line
 * lands inside this one. */
static void begin_topic_line(const char *what, const char *topic,
			     size_t topic_len)
{
	flockfile(stderr);
	fprintf(stderr, "%s: %s ", cli_prog(), what);
	cli_put_safe(stderr, topic, topic_len);
}

static void end_topic_line(void)
{
	fputc('\n', stderr);
	fflush(stderr);
	funlockfile(stderr);
}

/* Whether the payload parses as an envelope header (whose facts are then
 * worth printing). */
static int parses(const struct cli_message *m)
{
	e2e_info in;

	return e2e_parse(m->payload, m->len, &in) == E2E_OK;
}

/* "e2e-sub: rejected TOPIC: REASON: detail (facts from the header)".
 * The header facts are unauthenticated: they help find the sender or the
 * missing key, nothing more. */
void cli_out_rejected(const char *topic, size_t topic_len, int rc,
		      const e2e_info *in, const struct cli_message *m)
{
	FILE *f = stderr;

	begin_topic_line("rejected", topic, topic_len);
	fprintf(f, ": %s: %s", e2e_reason(rc), e2e_strerror(rc));
	if (is_parse_error(rc) ||
	    (rc == E2E_ERR_NOT_SUBSCRIBED && !parses(m))) {
		if (m->len == 0)
			fputs(" (empty payload)", f);
		else
			fprintf(f, " (%zu bytes, first byte 0x%02x)", m->len,
				((const uint8_t *)m->payload)[0]);
	} else if (rc != E2E_ERR_TOPIC) {
		fputs(" (", f);
		if (in->suite != E2E_SUITE_NONE)
			fprintf(f, "key %08" PRIx32 ", ", in->key_id);
		fprintf(f, "%s %016" PRIx64 ", seq %" PRIu64 ":%" PRIu64,
			in->is_signed ? "signer" : "sender", in->sender_id,
			in->seq >> 32, in->seq & 0xFFFFFFFFu);
		if (m->retained)
			fputs(", retained", f);
		fputc(')', f);
	}
	end_topic_line();
}

void cli_out_duplicate(const char *topic, size_t topic_len, const e2e_info *in)
{
	if (!cli_debugging())
		return;
	begin_topic_line("dropped a redelivered duplicate on", topic,
			 topic_len);
	fprintf(stderr, " (seq %" PRIu64 ":%" PRIu64 ")", in->seq >> 32,
		in->seq & 0xFFFFFFFFu);
	end_topic_line();
}

void cli_out_dropped(const char *topic, size_t topic_len)
{
	begin_topic_line("out of memory: message on", topic, topic_len);
	fputs(" dropped", stderr);
	end_topic_line();
}

void cli_out_cleared(const char *topic, size_t topic_len)
{
	if (!cli_debugging())
		return;
	begin_topic_line("cleared retained message on", topic, topic_len);
	fputs(" (empty payload, not delivered)", stderr);
	end_topic_line();
}
