/*
 * What e2e-sub prints (sub_output.c), and the escaping every tool uses for
 * bytes a broker or a sender chose.
 */
#ifndef E2E_CLI_SUB_OUTPUT_H
#define E2E_CLI_SUB_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "conn.h"
#include "e2e.h"
#include "options.h"

/* Length of the valid UTF-8 sequence at s (n > 0 bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included);
 * its code point in *cp when cp is not NULL. */
size_t cli_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp);
/* 1 for a code point that must never reach a reader's line or terminal as
 * it is: C0 controls, DEL, C1 controls, U+2028/U+2029 and the bidi
 * embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069). */
int cli_char_unsafe(uint32_t cp);
/*
 * Bytes from the broker or a sender (topics, payloads) may hold anything:
 * write them so that they stay on one line and cannot drive the terminal or
 * reorder what is shown. Backslash becomes \\; newline, carriage return and
 * tab become \n, \r and \t; any other C0 control, DEL, and every byte that
 * is not part of valid UTF-8 become \xHH (one byte); the other unsafe code
 * points become \u{HHHH} (the code point, UTF-8 in the original).
 * Everything else is written as it is, so the original bytes can always be
 * recovered (e2e-sub(1), "OUTPUT").
 */
void cli_put_safe(FILE *f, const char *s, size_t len);

/* An accepted message: the opened payload and what e2e_open said. */
struct cli_delivery {
	const char *topic;
	const uint8_t *payload;
	size_t len;
	const e2e_info *info;
	const struct cli_message *msg;
};

/* Bytes from the broker or a sender on stdout: escaped (cli_put_safe)
 * unless --raw-output. */
void cli_out_text(const struct cli_config *cfg, FILE *f, const void *s,
		  size_t n);
/* Bytes in hex, lower or upper case. */
void cli_out_hex(FILE *f, const uint8_t *s, size_t n, int upper);
/* The JSON object of --json and -F %j: mosquitto_sub's fields (tst,
 * topic, qos, retain, payloadlen, mid, properties, payload) and ours
 * (encoding, suite, key_id, sender, signer, sequence as a string, epoch,
 * counter, timestamp, retained); now: the arrival time. No newline. */
void cli_out_json(const struct cli_config *cfg, FILE *f,
		  const struct cli_delivery *d, const struct timespec *now);

/* How accepted messages reach stdout, once, before the first: at once
 * (--line-buffered, or stdout is a terminal), else buffered, whole
 * messages only, until cli_out_flush. */
void cli_out_setup(const struct cli_config *cfg);
/* 1 when stdout is buffered (cli_out_setup): its caller flushes. */
int cli_out_buffered(void);
/* Write out what cli_out_accepted buffered. */
void cli_out_flush(void);
/* On stdout, as cfg says (-v, -N, -F, --json, --raw-output). */
void cli_out_accepted(const struct cli_config *cfg,
		      const struct cli_delivery *d);
/* "e2e-sub: rejected TOPIC: REASON: detail (header facts)" on stderr;
 * the facts are unauthenticated, they help find the sender. */
void cli_out_rejected(const char *topic, size_t topic_len, int rc,
		      const e2e_info *in, const struct cli_message *m);
/* A QoS 1/2 redelivery of a message already delivered: one line, only
 * with -d. */
void cli_out_duplicate(const char *topic, size_t topic_len, const e2e_info *in);
/* An empty payload (a retained message cleared): one line, only with
 * -d. */
void cli_out_cleared(const char *topic, size_t topic_len);
/* A message dropped for want of memory. */
void cli_out_dropped(const char *topic, size_t topic_len);

#endif /* E2E_CLI_SUB_OUTPUT_H */
