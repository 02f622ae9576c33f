/* e2e-sub's held messages (sub_hold.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sub_hold.h"

int cli_hold_push(struct cli_hold *h, const char *topic, size_t tlen,
		  const struct cli_message *m)
{
	struct cli_held *e;
	const void *props;
	void *payload;
	int failed;

	if (h->count >= CLI_HOLD_MAX_MESSAGES ||
	    ((h->count || !h->any_first) &&
	     m->len + tlen > CLI_HOLD_MAX_BYTES - h->bytes))
		return -1;
	if (!(e = calloc(1, sizeof *e)))
		return -1;
	e->topic = malloc(tlen + 1);
	payload = malloc(m->len ? m->len : 1);
	props = cli_message_props_copy(m, &failed);
	if (!e->topic || !payload || failed) {
		free(e->topic);
		free(payload);
		free(e);
		return -1;
	}
	memcpy(e->topic, topic, tlen);
	e->topic[tlen] = '\0';
	e->tlen = tlen;
	e->m = *m;
	if (m->len)
		memcpy(payload, m->payload, m->len);
	e->m.payload = payload;
	e->m.props = props;
	if (h->tail)
		h->tail->next = e;
	else
		h->head = e;
	h->tail = e;
	h->count++;
	h->bytes += m->len + tlen;
	return 0;
}

const struct cli_held *cli_hold_head(const struct cli_hold *h)
{
	return h->head;
}

struct cli_held *cli_hold_take(struct cli_hold *h)
{
	struct cli_held *e = h->head;

	if (!e)
		return NULL;
	h->head = e->next;
	if (!h->head)
		h->tail = NULL;
	e->next = NULL;
	h->count--;
	h->bytes -= e->m.len + e->tlen;
	return e;
}

void cli_held_free(struct cli_held *e)
{
	if (!e)
		return;
	sodium_memzero((void *)e->m.payload, e->m.len);
	free((void *)e->m.payload);
	if (e->plain) {
		sodium_memzero(e->plain, e->plain_len);
		free(e->plain);
	}
	cli_message_props_free(e->m.props);
	free(e->topic);
	free(e);
}

void cli_hold_pop(struct cli_hold *h)
{
	cli_held_free(cli_hold_take(h));
}

size_t cli_hold_clear(struct cli_hold *h)
{
	size_t n = h->count;

	while (h->head)
		cli_hold_pop(h);
	return n;
}
