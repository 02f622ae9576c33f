/* e2e-sub's arrivals for the main thread's runs (sub_ring.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sub_ring.h"

/* Bytes queued at most, unless the ring holds one message only. */
#define RING_MAX_BYTES (64u << 20)
/* Slot buffers grow in steps of this many bytes, so that messages of
 * nearly the same size reuse them. */
#define RING_STEP 256u

int cli_ring_init(struct cli_ring *r)
{
	memset(r, 0, sizeof *r);
	if (!(r->slot = calloc(CLI_RING_SLOTS, sizeof *r->slot)))
		return -1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->room, NULL);
	r->closed = 1; /* until cli_ring_open */
	return 0;
}

void cli_ring_open(struct cli_ring *r)
{
	pthread_mutex_lock(&r->mu);
	r->closed = 0;
	pthread_mutex_unlock(&r->mu);
}

void cli_ring_free(struct cli_ring *r)
{
	if (!r->slot)
		return;
	cli_ring_release(r, r->count);
	for (size_t i = 0; i < CLI_RING_SLOTS; i++)
		free(r->slot[i].data); /* wiped when released */
	free(r->slot);
	r->slot = NULL;
	pthread_cond_destroy(&r->room);
	pthread_mutex_destroy(&r->mu);
}

/* Room in e for need bytes (r->mu held): 0, or -1 when memory is short.
 * The old buffer holds nothing: it was wiped when released. */
static int slot_fit(struct cli_ring_slot *e, size_t need)
{
	size_t cap = (need + RING_STEP - 1) / RING_STEP * RING_STEP;
	unsigned char *d;

	if (need <= e->cap)
		return 0;
	if (!(d = malloc(cap)))
		return -1;
	free(e->data);
	e->data = d;
	e->cap = cap;
	return 0;
}

int cli_ring_push(struct cli_ring *r, const char *topic, size_t tlen,
		  const struct cli_message *m)
{
	size_t need = tlen + 1 + m->len;
	struct cli_ring_slot *e;
	const void *props;
	int rc = CLI_RING_QUEUED, failed;

	pthread_mutex_lock(&r->mu);
	while (!r->closed && (r->count == CLI_RING_SLOTS ||
			      (r->count && need > RING_MAX_BYTES - r->bytes)))
		pthread_cond_wait(&r->room, &r->mu);
	if (r->closed) {
		pthread_mutex_unlock(&r->mu);
		return CLI_RING_CLOSED;
	}
	e = &r->slot[(r->head + r->count) % CLI_RING_SLOTS];
	if (slot_fit(e, need)) {
		pthread_mutex_unlock(&r->mu);
		return CLI_RING_NOMEM;
	}
	props = cli_message_props_copy(m, &failed);
	if (failed) {
		pthread_mutex_unlock(&r->mu);
		return CLI_RING_NOMEM;
	}
	memcpy(e->data, topic, tlen);
	e->data[tlen] = '\0';
	if (m->len)
		memcpy(e->data + tlen + 1, m->payload, m->len);
	e->topic = (char *)e->data;
	e->tlen = tlen;
	e->m = *m;
	e->m.payload = e->data + tlen + 1;
	e->m.props = props;
	r->count++;
	r->bytes += need;
	/* One wake-up when the consumer waits for one, and one when the ring
	 * is half full: never one per message. */
	if (r->sleeping || r->count == CLI_RING_WAKE) {
		r->sleeping = 0;
		rc = CLI_RING_WAKE_UP;
	}
	pthread_mutex_unlock(&r->mu);
	return rc;
}

size_t cli_ring_ready(struct cli_ring *r)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	n = r->count;
	pthread_mutex_unlock(&r->mu);
	return n;
}

const struct cli_ring_slot *cli_ring_at(const struct cli_ring *r, size_t i)
{
	return &r->slot[(r->head + i) % CLI_RING_SLOTS];
}

void cli_ring_release(struct cli_ring *r, size_t n)
{
	size_t bytes = 0;

	/* The consumer's slots: wiped without the lock. */
	for (size_t i = 0; i < n; i++) {
		struct cli_ring_slot *e =
			&r->slot[(r->head + i) % CLI_RING_SLOTS];
		size_t used = e->tlen + 1 + e->m.len;

		sodium_memzero(e->data, used);
		cli_message_props_free(e->m.props);
		e->m.props = NULL;
		bytes += used;
		if (e->cap > CLI_RING_KEEP_BYTES) {
			free(e->data);
			e->data = NULL;
			e->cap = 0;
		}
	}
	pthread_mutex_lock(&r->mu);
	r->head = (r->head + n) % CLI_RING_SLOTS;
	r->count -= n;
	r->bytes -= bytes;
	pthread_cond_signal(&r->room);
	pthread_mutex_unlock(&r->mu);
}

int cli_ring_sleep(struct cli_ring *r, int on)
{
	int sleeping;

	pthread_mutex_lock(&r->mu);
	r->sleeping = on && r->count == 0;
	sleeping = r->sleeping;
	pthread_mutex_unlock(&r->mu);
	return sleeping;
}

size_t cli_ring_close(struct cli_ring *r)
{
	size_t n;

	pthread_mutex_lock(&r->mu);
	if (!(n = r->count))
		r->closed = 1;
	pthread_mutex_unlock(&r->mu);
	return n;
}
