/*
 * e2e-sub: subscribe, verify every message with libe2e, print the accepted
 * ones as mosquitto_sub would (but with their topics and payloads escaped,
 * one line per message, unless --raw-output) and refuse the rest, one
 * stderr line each: "e2e-sub: rejected TOPIC: REASON: detail".
 *
 * Verification is e2e_open() alone; this file decides only what to print.
 * Messages arrive on Paho's thread; the keys, the replay guard and the
 * counters they touch are shared with the main thread (SIGHUP reloads,
 * --state saves) under sub.mu.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <sodium.h>

#include "common.h"
#include "passphrase.h"

/* Payload buffers above this size are given back after each message. */
#define BUF_KEEP_MAX (1u << 20)

struct sub {
	struct cli_config cfg;
	struct cli_conn conn;
	pthread_mutex_t mu;
	/* Under mu. */
	struct cli_keys keys;
	e2e_guard *guard;
	e2e_receiver rcv;
	uint8_t *buf; /* opened payloads; wiped after use */
	size_t cap;
	long accepted;
	long rejected;
	long duplicates;
	int done;  /* -C reached */
	int dirty; /* guard changed since the last save */
};

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

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

static void put_hex(FILE *f, const uint8_t *s, size_t n, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		fputc(digits[s[i] >> 4], f);
		fputc(digits[s[i] & 15], f);
	}
}

/* A topic or payload on stdout: escaped (cli_put_safe) unless
 * --raw-output, so that one accepted message is one line. */
static void put_text(const struct cli_config *cfg, FILE *f, const void *s,
		     size_t n)
{
	if (cfg->raw_output)
		fwrite(s, 1, n, f);
	else
		cli_put_safe(f, s, n);
}

struct delivery {
	const char *topic;
	const uint8_t *payload;
	size_t len;
	const e2e_info *info;
	const MQTTAsync_message *msg;
};

static void print_json(FILE *f, const struct delivery *d)
{
	const e2e_info *in = d->info;

	fputs("{\"topic\":", f);
	json_string(f, (const uint8_t *)d->topic, strlen(d->topic));
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
	fprintf(f,
		",\"sequence\":%" PRIu64 ",\"epoch\":%" PRIu64
		",\"counter\":%" PRIu64 ",\"timestamp\":%" PRIu32
		",\"retained\":%s,\"qos\":%d}",
		in->seq, in->seq >> 32, in->seq & 0xFFFFFFFFu, in->timestamp,
		d->msg->retained ? "true" : "false", d->msg->qos);
}

/* mosquitto_sub's -F, the subset documented in e2e-sub(1). */
static void print_format(const struct cli_config *cfg, FILE *f,
			 const struct delivery *d)
{
	const char *fmt = cfg->format;
	struct timespec now;
	struct tm tm;
	char tbuf[64];

	clock_gettime(CLOCK_REALTIME, &now);
	for (const char *c = fmt; *c; c++) {
		if (*c == '%' && c[1]) {
			switch (*++c) {
			case '%':
				fputc('%', f);
				break;
			case 't':
				put_text(cfg, f, d->topic, strlen(d->topic));
				break;
			case 'p':
				put_text(cfg, f, d->payload, d->len);
				break;
			case 'l':
				fprintf(f, "%zu", d->len);
				break;
			case 'x':
				put_hex(f, d->payload, d->len, 0);
				break;
			case 'X':
				put_hex(f, d->payload, d->len, 1);
				break;
			case 'q':
				fprintf(f, "%d", d->msg->qos);
				break;
			case 'r':
				fprintf(f, "%d", d->msg->retained ? 1 : 0);
				break;
			case 'm':
				fprintf(f, "%d", d->msg->msgid);
				break;
			case 'I':
				localtime_r(&now.tv_sec, &tm);
				strftime(tbuf, sizeof tbuf,
					 "%Y-%m-%dT%H:%M:%S%z", &tm);
				fputs(tbuf, f);
				break;
			case 'U':
				fprintf(f, "%lld.%09ld", (long long)now.tv_sec,
					now.tv_nsec);
				break;
			case 'j':
				print_json(f, d);
				break;
			default:
				fputc('%', f);
				fputc(*c, f);
			}
		} else if (*c == '\\' && c[1]) {
			switch (*++c) {
			case '\\':
				fputc('\\', f);
				break;
			case '0':
				fputc('\0', f);
				break;
			case 'a':
				fputc('\a', f);
				break;
			case 'e':
				fputc('\033', f);
				break;
			case 'n':
				fputc('\n', f);
				break;
			case 'r':
				fputc('\r', f);
				break;
			case 't':
				fputc('\t', f);
				break;
			case 'v':
				fputc('\v', f);
				break;
			default:
				fputc('\\', f);
				fputc(*c, f);
			}
		} else {
			fputc(*c, f);
		}
	}
}

/* As mosquitto_sub: -F, or -v "topic payload", or the payload alone; an
 * empty payload prints "topic (null)" with -v and nothing without. Topics
 * and payloads are escaped unless --raw-output (put_text). */
static void print_accepted(const struct cli_config *cfg,
			   const struct delivery *d)
{
	FILE *f = stdout;

	if (cfg->json) {
		print_json(f, d);
		fputc('\n', f);
	} else if (cfg->format) {
		print_format(cfg, f, d);
		if (cfg->eol)
			fputc('\n', f);
	} else if (cfg->verbose) {
		if (d->len) {
			put_text(cfg, f, d->topic, strlen(d->topic));
			fputc(' ', f);
			put_text(cfg, f, d->payload, d->len);
			if (cfg->eol)
				fputc('\n', f);
		} else if (cfg->eol) {
			put_text(cfg, f, d->topic, strlen(d->topic));
			fputs(" (null)\n", f);
		}
	} else if (d->len) {
		put_text(cfg, f, d->payload, d->len);
		if (cfg->eol)
			fputc('\n', f);
	}
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
static void begin_topic_line(const struct cli_config *cfg, const char *what,
			     const char *topic, size_t topic_len)
{
	flockfile(stderr);
	fprintf(stderr, "%s: %s ", cfg->prog, what);
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
static int parses(const MQTTAsync_message *m)
{
	e2e_info in;

	return e2e_parse(m->payload, (size_t)m->payloadlen, &in) == E2E_OK;
}

/* "e2e-sub: rejected TOPIC: REASON: detail (facts from the header)".
 * The header facts are unauthenticated: they help find the sender or the
 * missing key, nothing more. */
static void print_rejected(const struct cli_config *cfg, const char *topic,
			   size_t topic_len, int rc, const e2e_info *in,
			   const MQTTAsync_message *m)
{
	FILE *f = stderr;

	begin_topic_line(cfg, "rejected", topic, topic_len);
	fprintf(f, ": %s: %s", e2e_reason(rc), e2e_strerror(rc));
	if (is_parse_error(rc) ||
	    (rc == E2E_ERR_NOT_SUBSCRIBED && !parses(m))) {
		if (m->payloadlen == 0)
			fputs(" (empty payload)", f);
		else
			fprintf(f, " (%d bytes, first byte 0x%02x)",
				m->payloadlen,
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

/* ------------------------------------------------------------------------ */
/* Receiving (Paho's thread)                                                */
/* ------------------------------------------------------------------------ */

static int on_message(void *ctx, char *topic, int topic_len,
		      MQTTAsync_message *m)
{
	struct sub *s = ctx;
	const struct cli_config *cfg = &s->cfg;
	size_t tlen = topic_len > 0 ? (size_t)topic_len : strlen(topic);
	size_t need = 1, out_len = 0;
	uint32_t delivery = m->retained ? E2E_DELIVERY_RETAINED : 0;
	e2e_info info = {0};
	int rc;

	pthread_mutex_lock(&s->mu);
	if (s->done || (cfg->no_stale_retained && m->retained))
		goto out;
	if (memchr(topic, '\0', tlen)) { /* a NUL inside the topic name */
		rc = E2E_ERR_TOPIC;
		goto verdict;
	}
	/* Size the buffer by what the header says the payload is: garbage
	 * fails e2e_parse, as it would fail e2e_open's own first step, and
	 * costs no allocation. e2e_open fills info whatever the outcome. */
	if (e2e_parse(m->payload, (size_t)m->payloadlen, &info) == E2E_OK &&
	    info.payload_len > 0)
		need = info.payload_len;
	if (need > s->cap) {
		uint8_t *nb = malloc(need);
		if (!nb) {
			begin_topic_line(cfg, "out of memory: message on",
					 topic, tlen);
			fputs(" dropped", stderr);
			end_topic_line();
			goto out;
		}
		if (s->buf) {
			sodium_memzero(s->buf, s->cap);
			free(s->buf);
		}
		s->buf = nb;
		s->cap = need;
	}
	rc = e2e_open(&s->rcv, topic, m->payload, (size_t)m->payloadlen,
		      delivery, s->buf, s->cap, &out_len, &info);
verdict:
	if (rc == E2E_OK) {
		struct delivery d = {topic, s->buf, out_len, &info, m};
		print_accepted(cfg, &d);
		sodium_memzero(s->buf, out_len);
		s->accepted++;
		s->dirty = 1;
		if (cfg->msg_count && s->accepted >= cfg->msg_count) {
			s->done = 1;
			cli_wake_main();
		}
	} else if (rc == E2E_ERR_REPLAY && m->dup) {
		/* A QoS 1/2 redelivery of a message already delivered. */
		s->duplicates++;
		if (cfg->debug) {
			begin_topic_line(cfg,
					 "dropped a redelivered duplicate on",
					 topic, tlen);
			fprintf(stderr, " (seq %" PRIu64 ":%" PRIu64 ")",
				info.seq >> 32, info.seq & 0xFFFFFFFFu);
			end_topic_line();
		}
	} else {
		s->rejected++;
		print_rejected(cfg, topic, tlen, rc, &info, m);
	}
	/* Give a large buffer back at once, so that one huge message (an
	 * attacker's, say) does not pin its memory for the process's life. */
	if (s->cap > BUF_KEEP_MAX) {
		sodium_memzero(s->buf, s->cap);
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
	}
out:
	pthread_mutex_unlock(&s->mu);
	return 1;
}

/* ------------------------------------------------------------------------ */
/* Main thread                                                              */
/* ------------------------------------------------------------------------ */

static int guard_setup(struct sub *s)
{
	const struct cli_config *cfg = &s->cfg;
	e2e_guard_opts o;
	size_t bad_line = 0;
	int rc;

	e2e_guard_opts_default(&o);
	if (cfg->max_age >= 0)
		o.max_age = (uint32_t)cfg->max_age;
	if (cfg->max_skew >= 0)
		o.max_skew = (uint32_t)cfg->max_skew;
	if (cfg->window > 0)
		o.window = (uint32_t)cfg->window;
	o.max_retained_age = (uint32_t)cfg->max_retained_age;
	if (cfg->accept_no_clock)
		o.flags |= E2E_GUARD_ACCEPT_NO_CLOCK;
	if ((rc = e2e_guard_new(&s->guard, &o)) != E2E_OK) {
		cli_err(cfg, "cannot create the replay guard: %s",
			e2e_strerror(rc));
		return -1;
	}
	if (!cfg->state_path)
		return 0;
	rc = e2e_guard_load(s->guard, cfg->state_path, &bad_line);
	if (rc == E2E_ERR_IO && errno == ENOENT)
		return 0; /* first run: created at the first save */
	if (rc == E2E_ERR_IO) {
		cli_err(cfg, "cannot read state file %s: %s", cfg->state_path,
			strerror(errno));
		return -1;
	}
	if (rc == E2E_ERR_WRITABLE) {
		cli_err(cfg,
			"state file %s: %s; only you or root may own it and "
			"write it (chmod go-w)",
			cfg->state_path, e2e_strerror(rc));
		return -1;
	}
	if (rc != E2E_OK) {
		if (bad_line)
			cli_err(cfg,
				"state file %s, line %zu: %s; move it "
				"away to start afresh",
				cfg->state_path, bad_line, e2e_strerror(rc));
		else
			cli_err(cfg,
				"state file %s: %s; move it away to start "
				"afresh",
				cfg->state_path, e2e_strerror(rc));
		return -1;
	}
	cli_warn_unsafe_dir(cfg, "state file", cfg->state_path);
	cli_debug(cfg, "loaded replay state of %zu senders from %s",
		  e2e_guard_sender_count(s->guard), cfg->state_path);
	return 0;
}

/* Save the guard if it changed; mu held. */
static int guard_save(struct sub *s)
{
	int rc;

	if (!s->cfg.state_path || !s->dirty)
		return 0;
	rc = e2e_guard_save(s->guard, s->cfg.state_path);
	if (rc != E2E_OK) {
		cli_err(&s->cfg, "cannot save state file %s: %s",
			s->cfg.state_path,
			rc == E2E_ERR_IO ? strerror(errno) : e2e_strerror(rc));
		return -1;
	}
	s->dirty = 0;
	return 0;
}

/* SIGHUP: load keyring and trust file afresh; swap them in only when both
 * load, so a half-edited file never leaves the subscriber without keys. */
static void reload_keys(struct sub *s)
{
	struct cli_keys fresh, old;

	if (cli_keys_load(&s->cfg, &fresh)) {
		cli_err(&s->cfg, "SIGHUP: keeping the previous keys");
		return;
	}
	pthread_mutex_lock(&s->mu);
	old = s->keys;
	s->keys = fresh;
	s->rcv.keyring = fresh.keyring;
	s->rcv.trust = fresh.trust;
	pthread_mutex_unlock(&s->mu);
	cli_keys_free(&old);
	cli_err(&s->cfg,
		"reloaded keys: %zu in the keyring, %zu trusted "
		"signers",
		fresh.keyring ? e2e_keyring_count(fresh.keyring) : 0,
		fresh.trust ? e2e_trust_count(fresh.trust) : 0);
}

static int run(struct sub *s)
{
	const struct cli_config *cfg = &s->cfg;
	int64_t deadline =
		cfg->timeout ? cli_now_ms() + cfg->timeout * 1000 : 0;
	int64_t last_save = cli_now_ms();
	int rc = CLI_EXIT_OK;

	if (cli_keys_load(cfg, &s->keys) || guard_setup(s))
		return CLI_EXIT_ERROR;
	s->rcv.keyring = s->keys.keyring;
	s->rcv.trust = s->keys.trust;
	s->rcv.guard = s->guard;
	/* Only what we subscribed to: a broker may deliver a genuine envelope
	 * sealed for any other topic, and it would verify. */
	s->rcv.filters = (const char *const *)cfg->topics;
	s->rcv.filter_count = (size_t)cfg->topic_count;
	s->rcv.require = (cfg->require_signature ? E2E_REQUIRE_SIGNATURE : 0) |
			 (cfg->require_encryption ? E2E_REQUIRE_ENCRYPTION : 0);
	if (cli_conn_open(&s->conn, cfg, 1, on_message, s))
		return CLI_EXIT_ERROR;

	for (;;) {
		long wait = 500;
		int done;

		if (deadline) {
			int64_t left = deadline - cli_now_ms();
			if (left <= 0) {
				rc = CLI_EXIT_TIMEOUT;
				break;
			}
			if (left < wait)
				wait = (long)left;
		}
		cli_signal_wait(wait);
		if (cli_stop_requested())
			break;
		if (cli_take_hup())
			reload_keys(s);
		pthread_mutex_lock(&s->mu);
		done = s->done;
		if (cli_now_ms() - last_save >= 1000) {
			guard_save(s);
			last_save = cli_now_ms();
		}
		pthread_mutex_unlock(&s->mu);
		if (done)
			break;
	}
	return rc;
}

int main(int argc, char **argv)
{
	struct sub s;
	int rc;

	/* First: no core dump may hold the password or a payload. */
	cli_protect_process();
	memset(&s, 0, sizeof s);
#ifdef __GLIBC__
	/* A fixed threshold: blocks of 1 MiB and more (huge payloads, ours
	 * and Paho's) are mapped and unmapped, never kept in the heap, so a
	 * flood of big garbage does not leave e2e-sub's memory inflated. */
	mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
	if (e2e_init() != E2E_OK) {
		fputs("e2e-sub: cannot initialise libsodium\n", stderr);
		return CLI_EXIT_ERROR;
	}
	cli_signals_block();
	pthread_mutex_init(&s.mu, NULL);
	rc = cli_parse(&s.cfg, CLI_SUB, argc, argv);
	if (rc >= 0) {
		cli_config_free(&s.cfg);
		return rc;
	}
	rc = run(&s);
	cli_conn_close(&s.conn); /* no callback runs after this */
	if (s.guard && guard_save(&s) && rc == CLI_EXIT_OK)
		rc = CLI_EXIT_ERROR;
	cli_debug(&s.cfg,
		  "%ld accepted, %ld rejected, %ld redelivered duplicates "
		  "dropped",
		  s.accepted, s.rejected, s.duplicates);
	if (s.buf) {
		sodium_memzero(s.buf, s.cap);
		free(s.buf);
	}
	e2e_guard_free(s.guard);
	cli_keys_free(&s.keys);
	cli_config_free(&s.cfg);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
