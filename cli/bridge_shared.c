/* e2e-bridge's "in" replay guard shared in Redis (bridge_shared.h). */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bridge_log.h"
#include "bridge_shared.h"
#include "report.h"
#include "shared_state.h"
#include "signals.h"
#include "sub_hold.h"

#ifdef HAVE_REDIS
#include <e2e_redis.h>

/* The backoff of the held messages' retries while Redis is unreachable. */
#define RETRY_FIRST_MS 200
#define RETRY_MAX_MS 5000

/* A held message: what was handed over, kept until Redis answers. */
struct held {
	struct held *next;
	struct bridge_shared_msg m;
};

struct bridge_shared {
	e2e_redis *rs;
	struct bridge_shared_cb cb;
	const char *url; /* the configuration's: no password in it */
	struct held *head, *tail;
	size_t held, held_bytes;
	int down;         /* the last call found Redis unreachable */
	int64_t next_try; /* cli_now_ms() of the next retry, while down */
	long backoff;     /* ms */
	/* The opened payloads of the batch being judged, one after the
	 * other (wiped after each batch): grown, never one per message. */
	uint8_t *scratch;
	size_t scratch_cap;
};

/* One message of a batch being judged. */
struct judged {
	const struct bridge_shared_msg *m;
	int rc;    /* e2e_open's, then the group's */
	int check; /* verified: the group judges it */
	int hold;  /* behind held ones: not judged now */
	e2e_info info;
	uint8_t *plain;
	size_t plain_len;
};

int bridge_shared_url_check(const char *url, int *has_password)
{
	return e2e_redis_url_check(url, has_password);
}

int bridge_shared_connect(struct bridge_shared **out,
			  const struct bridge_config *cfg,
			  const e2e_guard_opts *guard,
			  const struct bridge_shared_cb *cb)
{
	struct bridge_shared *sh = calloc(1, sizeof *sh);
	e2e_redis_opts o;
	const char *why;
	char fix[256];
	int rc;

	*out = NULL;
	if (!sh) {
		cli_err("out of memory");
		return -1;
	}
	e2e_redis_opts_default(&o);
	o.password = cfg->state_password; /* read at load, or NULL */
	o.tls_cacert = cfg->state_cacert;
	o.tls_cacertdir = cfg->state_cacertdir;
	o.tls_cert = cfg->state_cert;
	o.tls_key = cfg->state_key;
	o.tls_sni = cfg->state_sni;
	rc = e2e_redis_connect(&sh->rs, cfg->state, &o, guard);
	if (rc != E2E_OK) {
		why = cli_state_remedy(rc, cfg->state, 1, fix, sizeof fix);
		cli_file_msg(NULL, cfg->path, 0, "state %s: %s%s%s", cfg->state,
			     e2e_strerror(rc), why ? ": " : "", why ? why : "");
		free(sh);
		return -1;
	}
	sh->cb = *cb;
	sh->url = cfg->state;
	sh->backoff = RETRY_FIRST_MS;
	*out = sh;
	return 0;
}

/* Whether Redis answered: one event line when it stops, one when it comes
 * back; the backoff of the retries. */
static void note_store(struct bridge_shared *sh, int answered)
{
	char n[24];

	if (answered) {
		if (sh->down) {
			snprintf(n, sizeof n, "%zu", sh->held);
			bridge_log("state-reachable", NULL, 0, "state", sh->url,
				   "held", n, (char *)NULL);
		}
		sh->down = 0;
		sh->backoff = RETRY_FIRST_MS;
		return;
	}
	if (!sh->down)
		bridge_log("state-unreachable", NULL, 0, "state", sh->url,
			   "detail", e2e_strerror(E2E_ERR_STORE_UNAVAILABLE),
			   "effect",
			   "holding QoS 1/2 messages until it answers, "
			   "refusing QoS 0 ones",
			   (char *)NULL);
	else if (sh->backoff < RETRY_MAX_MS)
		sh->backoff = sh->backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
							     : sh->backoff * 2;
	sh->down = 1;
	sh->next_try = cli_now_ms() + sh->backoff;
}

/* Keep m, at the tail (front 0) or the head (front 1), with the bounds of
 * e2e-sub's hold: 0, or -1 when full. */
static int hold(struct bridge_shared *sh, const struct bridge_shared_msg *m,
		int front)
{
	struct held *h;

	if (sh->held >= CLI_HOLD_MAX_MESSAGES ||
	    (sh->held && sh->held_bytes + m->len > CLI_HOLD_MAX_BYTES) ||
	    !(h = malloc(sizeof *h)))
		return -1;
	h->m = *m;
	h->next = NULL;
	if (front) {
		h->next = sh->head;
		sh->head = h;
		if (!sh->tail)
			sh->tail = h;
	} else {
		if (sh->tail)
			sh->tail->next = h;
		else
			sh->head = h;
		sh->tail = h;
	}
	sh->held++;
	sh->held_bytes += m->len;
	return 0;
}

static struct held *unhold(struct bridge_shared *sh)
{
	struct held *h = sh->head;

	if (!h)
		return NULL;
	if (!(sh->head = h->next))
		sh->tail = NULL;
	sh->held--;
	sh->held_bytes -= h->m.len;
	return h;
}

/* The most an envelope of len bytes can open to (at least 1 byte). */
static size_t plain_bound(size_t len)
{
	size_t n = len > E2E_PAYLOAD_MAX ? E2E_PAYLOAD_MAX : len;

	return n ? n : 1;
}

/* Room in sh->scratch for the opened payloads of n messages: 0, or -1. */
static int scratch_room(struct bridge_shared *sh,
			const struct bridge_shared_msg *const *m, size_t n)
{
	size_t need = 0;
	uint8_t *p;

	for (size_t i = 0; i < n; i++)
		need += plain_bound(m[i]->len);
	if (need <= sh->scratch_cap)
		return 0;
	if (!(p = malloc(need)))
		return -1;
	if (sh->scratch) {
		sodium_memzero(sh->scratch, sh->scratch_cap);
		free(sh->scratch);
	}
	sh->scratch = p;
	sh->scratch_cap = need;
	return 0;
}

/* e2e_open without a guard into out (plain_bound bytes): j->rc, and the
 * payload in j->plain (NULL when memory was short). */
static void verify(struct judged *j, const e2e_receiver *r, uint8_t *out)
{
	const struct bridge_shared_msg *m = j->m;

	memset(&j->info, 0, sizeof j->info);
	j->plain = out;
	j->plain_len = 0;
	if (memchr(m->topic, '\0', m->topic_len))
		j->rc = E2E_ERR_TOPIC; /* a NUL inside the topic name */
	else if (!out)
		j->rc = E2E_ERR_NOMEM;
	else
		j->rc = e2e_open(r, m->topic, m->payload, m->len,
				 m->retained ? E2E_DELIVERY_RETAINED : 0, out,
				 plain_bound(m->len), &j->plain_len, &j->info);
}

/* The opened payload wiped (its room in the scratch stays). */
static void drop_plain(struct judged *j)
{
	if (j->plain) {
		sodium_memzero(j->plain, j->plain_len);
		j->plain = NULL;
	}
}

/*
 * The heart: n messages (the held ones retried, front 1, or new arrivals)
 * verified, the verified ones checked in one round trip (unless Redis is
 * known down and no retry is due: then they are store-unavailable at
 * once), then settled in order; a QoS 1/2 one Redis could not judge is
 * held (a retried one back at the head, in its order). An arrival at QoS
 * 1/2 while messages are held waits behind them unjudged.
 */
static void judge(struct bridge_shared *sh, const e2e_receiver *rcv,
		  const struct bridge_shared_msg *const *m, size_t n, int retry)
{
	struct judged j[BRIDGE_SHARED_BATCH];
	e2e_redis_item items[BRIDGE_SHARED_BATCH];
	e2e_receiver r = *rcv;
	uint64_t now = (uint64_t)time(NULL);
	size_t checks = 0, accepted = 0, at = 0;
	int ask = !sh->down || retry || cli_now_ms() >= sh->next_try, rc;
	int room = scratch_room(sh, m, n) == 0;

	r.guard = NULL;
	r.now = now;
	for (size_t i = 0; i < n; i++) {
		j[i].m = m[i];
		j[i].check = j[i].hold = 0;
		if (!retry && m[i]->qos > 0 && sh->held) {
			j[i].hold = 1; /* behind the held ones, in order */
			j[i].plain = NULL;
			j[i].rc = E2E_ERR_STORE_UNAVAILABLE;
			memset(&j[i].info, 0, sizeof j[i].info);
			continue;
		}
		verify(&j[i], &r, room ? sh->scratch + at : NULL);
		at += plain_bound(m[i]->len);
		if (j[i].rc != E2E_OK || m[i]->opened)
			continue; /* refused, or accepted before a crash */
		if (!ask) {
			j[i].rc = E2E_ERR_STORE_UNAVAILABLE;
			continue;
		}
		j[i].check = 1;
		items[checks].info = &j[i].info;
		items[checks].topic = m[i]->topic;
		items[checks].delivery =
			m[i]->retained ? E2E_DELIVERY_RETAINED : 0;
		checks++;
	}
	if (checks) {
		/* Every item has its verdict, whatever the call returns. */
		rc = e2e_redis_check_commit_batch(sh->rs, items, checks, now);
		int answered = 0;

		for (size_t i = 0, k = 0; i < n; i++)
			if (j[i].check) {
				j[i].rc = rc == E2E_ERR_INVAL
						  ? rc
						  : items[k].verdict;
				answered |=
					j[i].rc != E2E_ERR_STORE_UNAVAILABLE;
				k++;
			}
		note_store(sh, answered);
	}
	for (size_t i = 0; i < n; i++)
		if (!j[i].hold && j[i].rc == E2E_OK) {
			sh->cb.accepted(sh->cb.ctx, m[i]->item);
			accepted++;
		}
	if (accepted)
		sh->cb.sync(sh->cb.ctx);
	/* Retried ones Redis still could not judge go back to the head, in
	 * their order: put back from the last. */
	for (size_t i = n; retry && i-- > 0;)
		if (j[i].rc == E2E_ERR_STORE_UNAVAILABLE && m[i]->qos > 0) {
			j[i].hold = 1;
			drop_plain(&j[i]);
			if (hold(sh, m[i], 1))
				j[i].hold = 0; /* memory short: refused */
		}
	for (size_t i = 0; i < n; i++) {
		if (retry && j[i].hold)
			continue;
		if (!retry &&
		    (j[i].hold ||
		     (j[i].rc == E2E_ERR_STORE_UNAVAILABLE && m[i]->qos > 0))) {
			drop_plain(&j[i]);
			if (hold(sh, m[i], 0) == 0)
				continue;
			j[i].rc = E2E_ERR_STORE_UNAVAILABLE; /* the hold full */
		}
		sh->cb.settle(sh->cb.ctx, m[i]->item, j[i].rc, &j[i].info,
			      j[i].rc == E2E_OK ? j[i].plain : NULL,
			      j[i].rc == E2E_OK ? j[i].plain_len : 0);
		drop_plain(&j[i]);
	}
}

void bridge_shared_judge(struct bridge_shared *sh, const e2e_receiver *r,
			 const struct bridge_shared_msg *m, size_t n)
{
	const struct bridge_shared_msg *p[BRIDGE_SHARED_BATCH];

	for (size_t i = 0; i < n && i < BRIDGE_SHARED_BATCH; i++)
		p[i] = &m[i];
	judge(sh, r, p, n < BRIDGE_SHARED_BATCH ? n : BRIDGE_SHARED_BATCH, 0);
}

long bridge_shared_tick(struct bridge_shared *sh, const e2e_receiver *r,
			long wait_ms)
{
	struct held *h[BRIDGE_SHARED_BATCH];
	const struct bridge_shared_msg *p[BRIDGE_SHARED_BATCH];
	int64_t now = cli_now_ms();
	size_t n = 0;

	if (!sh || !sh->held)
		return wait_ms;
	if (sh->down && now < sh->next_try)
		return sh->next_try - now < wait_ms ? (long)(sh->next_try - now)
						    : wait_ms;
	while (n < BRIDGE_SHARED_BATCH && (h[n] = unhold(sh))) {
		p[n] = &h[n]->m;
		n++;
	}
	judge(sh, r, p, n, 1);
	for (size_t i = 0; i < n; i++)
		free(h[i]); /* the messages were copied back if held again */
	return sh->held && !sh->down ? 0 : wait_ms;
}

size_t bridge_shared_held(const struct bridge_shared *sh)
{
	return sh ? sh->held : 0;
}

void bridge_shared_free(struct bridge_shared *sh)
{
	struct held *h;

	if (!sh)
		return;
	while ((h = unhold(sh))) {
		sh->cb.release(sh->cb.ctx, h->m.item);
		free(h);
	}
	e2e_redis_free(sh->rs);
	if (sh->scratch) {
		sodium_memzero(sh->scratch, sh->scratch_cap);
		free(sh->scratch);
	}
	free(sh);
}

#else /* !HAVE_REDIS */

struct bridge_shared {
	int unused;
};

int bridge_shared_url_check(const char *url, int *has_password)
{
	(void)url;
	*has_password = 0;
	return E2E_ERR_STORE_UNSUPPORTED;
}

int bridge_shared_connect(struct bridge_shared **out,
			  const struct bridge_config *cfg,
			  const e2e_guard_opts *guard,
			  const struct bridge_shared_cb *cb)
{
	(void)cfg, (void)guard, (void)cb;
	*out = NULL;
	cli_err("state redis://...: this e2e-bridge was built without "
		"hiredis");
	return -1;
}

void bridge_shared_judge(struct bridge_shared *sh, const e2e_receiver *r,
			 const struct bridge_shared_msg *m, size_t n)
{
	(void)sh, (void)r, (void)m, (void)n;
}

long bridge_shared_tick(struct bridge_shared *sh, const e2e_receiver *r,
			long wait_ms)
{
	(void)sh, (void)r;
	return wait_ms;
}

size_t bridge_shared_held(const struct bridge_shared *sh)
{
	(void)sh;
	return 0;
}

void bridge_shared_free(struct bridge_shared *sh)
{
	free(sh);
}
#endif
