/*
 * e2e-sub's held messages: QoS 1/2 messages that arrived while the shared
 * state in Redis was unreachable (docs/GROUPS.md section 8), kept in
 * arrival order until Redis answers again.
 *
 * Why here and not at the broker: Paho MQTT C acknowledges a QoS 1
 * PUBLISH (PUBACK) and completes a QoS 2 one (PUBCOMP) before it calls
 * messageArrived, so the broker already counts them as delivered; and
 * when messageArrived returns 0, Paho offers the message again only when
 * its receive thread next wakes up (another packet), not on a timer. So
 * e2e-sub takes every message and keeps what it cannot judge yet in this
 * queue; its main thread retries the oldest one five times a second.
 * Bounded: past CLI_HOLD_MAX_MESSAGES or CLI_HOLD_MAX_BYTES a message is
 * refused as store-unavailable (and counted), never delivered unchecked.
 * Payloads are wiped when dropped.
 */
#ifndef E2E_CLI_SUB_HOLD_H
#define E2E_CLI_SUB_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "e2e.h"

#define CLI_HOLD_MAX_MESSAGES 100000u
#define CLI_HOLD_MAX_BYTES (64u << 20)

struct cli_held {
	struct cli_held *next;
	char *topic; /* tlen bytes, then a NUL */
	size_t tlen;
	struct cli_message m; /* payload and properties: its own copies */
	/* e2e-sub's queue of arrivals (verified on arrival, judged by Redis
	 * in batches): what e2e_open said and the opened payload (plain_len
	 * bytes, wiped and freed with the entry), and the clock it used. */
	int kind, rc;
	e2e_info info;
	uint8_t *plain;
	size_t plain_len;
	uint64_t now;
};

struct cli_hold {
	struct cli_held *head, *tail;
	size_t count, bytes;
	int any_first; /* when empty, take one message whatever its size */
};

/* Keep a copy at the end: 0, or -1 when the queue is full or memory
 * short (nothing kept). */
int cli_hold_push(struct cli_hold *h, const char *topic, size_t tlen,
		  const struct cli_message *m);
/* The oldest, or NULL. */
const struct cli_held *cli_hold_head(const struct cli_hold *h);
/* Drop the oldest (its payload wiped). */
void cli_hold_pop(struct cli_hold *h);
/* Take the oldest out of the queue (NULL when empty), to be freed by
 * cli_held_free. */
struct cli_held *cli_hold_take(struct cli_hold *h);
void cli_held_free(struct cli_held *e); /* wipes the payloads */
/* Drop everything; returns how many were dropped. */
size_t cli_hold_clear(struct cli_hold *h);

#endif /* E2E_CLI_SUB_HOLD_H */
