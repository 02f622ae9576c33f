/*
 * e2e-sub's arrivals, handed from Paho's receive thread to the main thread
 * (with the in-memory replay guard and stdout buffered), which judges them
 * in runs: every queued message opened, checked and printed one after the
 * other. Paho's receive path and e2e-sub's judging (e2e_open, libsodium's
 * cipher, the guard, the output) are together more code than a 32 KiB
 * first-level instruction cache holds; judged on Paho's thread message by
 * message, each pushed the other out, every message (docs/PERFORMANCE.md,
 * "Judging in runs").
 *
 * A ring of CLI_RING_SLOTS copies, in arrival order, bounded also in bytes
 * (CLI_HOLD_MAX_BYTES, unless it holds one message only): a push waits for
 * room, which makes Paho's thread, and through TCP the broker, wait, as a
 * slow e2e-sub always did. Slots keep their buffers (up to
 * CLI_RING_KEEP_BYTES) from one message to the next, so a message costs
 * no allocation; topic and payload are wiped when their slot is released.
 * One producer (Paho's thread) and one consumer (the main thread): the
 * oldest cli_ring_ready() slots are the consumer's until it releases them.
 */
#ifndef E2E_CLI_SUB_RING_H
#define E2E_CLI_SUB_RING_H

#include <pthread.h>
#include <stddef.h>

#include "conn.h"

#define CLI_RING_SLOTS 512u
/* A push that fills the ring to this many wakes the consumer at once. */
#define CLI_RING_WAKE (CLI_RING_SLOTS / 2)
/* A slot's buffer above this size is freed when the slot is released. */
#define CLI_RING_KEEP_BYTES 4096u

struct cli_ring_slot {
	char *topic; /* tlen bytes, then a NUL, in data */
	size_t tlen;
	struct cli_message m; /* payload in data; properties: a copy */
	unsigned char *data;
	size_t cap;
};

struct cli_ring {
	pthread_mutex_t mu;
	pthread_cond_t room;
	struct cli_ring_slot *slot;
	size_t head, count, bytes;
	int sleeping; /* the consumer waits for a wake-up (cli_ring_sleep) */
	int closed;   /* pushes refused: the producer judges itself */
};

/* What cli_ring_push says. */
enum {
	CLI_RING_QUEUED = 0, /* queued; the consumer needs no wake-up */
	CLI_RING_WAKE_UP,    /* queued; wake the consumer */
	CLI_RING_NOMEM,      /* memory short: nothing queued */
	CLI_RING_CLOSED      /* closed: nothing queued */
};

/* 0, or -1 when memory is short. Closed until cli_ring_open: a consumer
 * that is not yet consuming (connecting, say) must not let the producer
 * wait for room. */
int cli_ring_init(struct cli_ring *r);
void cli_ring_open(struct cli_ring *r);
/* Frees the ring and what is left in it (wiped). */
void cli_ring_free(struct cli_ring *r);
/* Paho's thread: copy the message in at the end, after waiting for room. */
int cli_ring_push(struct cli_ring *r, const char *topic, size_t tlen,
		  const struct cli_message *m);
/* The consumer: how many are queued, the oldest first; the i-th of them
 * (i below what cli_ring_ready said). */
size_t cli_ring_ready(struct cli_ring *r);
const struct cli_ring_slot *cli_ring_at(const struct cli_ring *r, size_t i);
/* The consumer is done with the oldest n: wiped, their room given back. */
void cli_ring_release(struct cli_ring *r, size_t n);
/* The consumer, before it waits (on, 1) and after (on, 0): with on, 1 when
 * the ring is empty and the next push will ask for a wake-up, 0 when
 * something is queued (do not wait long). */
int cli_ring_sleep(struct cli_ring *r, int on);
/* The consumer: close the ring when it is empty (0; pushes return
 * CLI_RING_CLOSED from then on), else how many are queued (judge and
 * release them, then try again). */
size_t cli_ring_close(struct cli_ring *r);

#endif /* E2E_CLI_SUB_RING_H */
