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
#include <pthread.h>

/* The backoff of the held messages' retries while Redis is unreachable. */
#define RETRY_FIRST_MS 200
#define RETRY_MAX_MS 5000

/* A message waiting for the group's judgement (held), or being judged. */
struct held {
	struct held *next;
	struct bridge_shared_msg m;
};

/* One message of the batch at Redis. */
struct judged {
	struct held *h;
	int rc;    /* e2e_open's, then the group's */
	int check; /* verified: the group judges it */
	e2e_info info;
	uint8_t *plain;
	size_t plain_len;
};

/* A growing buffer for opened payloads, wiped when it grows or goes. */
struct room {
	uint8_t *p;
	size_t cap;
};

struct bridge_shared {
	e2e_redis *rs; /* the asking thread's once it runs */
	struct bridge_shared_cb cb;
	const char *url; /* the configuration's: no password in it */
	/* The main thread's: what waits, in arrival order. */
	struct held *head, *tail;
	size_t held, held_bytes;
	int down;         /* the last answer was none: Redis unreachable */
	long outages;     /* times down went from 0 to 1 */
	int64_t next_try; /* cli_now_ms() of the next retry, while down */
	long backoff;     /* ms */
	/* The batch at Redis: filled by the main thread while the asking
	 * thread is idle, read by it, collected by the main thread. */
	struct judged j[BRIDGE_SHARED_BATCH];
	e2e_redis_item items[BRIDGE_SHARED_BATCH];
	size_t n, checks;
	uint64_t now;
	int busy;            /* main: a batch submitted and not collected */
	struct room scratch; /* the batch's opened payloads */
	struct room spare;   /* a message judged without Redis */
	/* The asking thread: it alone calls Redis (e2e_redis is one
	 * thread's), so a Redis that does not answer holds up nothing but
	 * the messages that wait for it. */
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int job, done, quit; /* under mu */
	int rc;              /* the batch's call, under mu */
};

static void *asking_main(void *arg)
{
	struct bridge_shared *sh = arg;
	int rc;

	pthread_mutex_lock(&sh->mu);
	for (;;) {
		while (!sh->job && !sh->quit)
			pthread_cond_wait(&sh->cv, &sh->mu);
		if (!sh->job)
			break; /* quit, and nothing asked */
		pthread_mutex_unlock(&sh->mu);
		/* Every item has its verdict, whatever the call returns. */
		rc = e2e_redis_check_commit_batch(sh->rs, sh->items, sh->checks,
						  sh->now);
		pthread_mutex_lock(&sh->mu);
		sh->rc = rc;
		sh->job = 0;
		sh->done = 1;
		pthread_cond_broadcast(&sh->cv);
		cli_wake_main(); /* a pending signal: not lost if it is busy */
	}
	pthread_mutex_unlock(&sh->mu);
	return NULL;
}

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
	pthread_mutex_init(&sh->mu, NULL);
	pthread_cond_init(&sh->cv, NULL);
	/* Signals stay blocked in it, as in every thread but main's. */
	if (pthread_create(&sh->thread, NULL, asking_main, sh)) {
		cli_err("cannot start the thread that asks Redis");
		bridge_shared_free(sh);
		return -1;
	}
	sh->started = 1;
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
	if (!sh->down) {
		sh->outages++;
		bridge_log("state-unreachable", NULL, 0, "state", sh->url,
			   "detail", e2e_strerror(E2E_ERR_STORE_UNAVAILABLE),
			   "effect",
			   "holding QoS 1/2 messages until it answers, "
			   "refusing QoS 0 ones",
			   (char *)NULL);
	} else if (sh->backoff < RETRY_MAX_MS)
		sh->backoff = sh->backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
							     : sh->backoff * 2;
	sh->down = 1;
	sh->next_try = cli_now_ms() + sh->backoff;
}

/* Keep h at the tail, with the bounds of e2e-sub's hold: 0, or -1 when
 * full. */
static int hold(struct bridge_shared *sh, struct held *h)
{
	if (sh->held >= CLI_HOLD_MAX_MESSAGES ||
	    (sh->held && sh->held_bytes + h->m.len > CLI_HOLD_MAX_BYTES))
		return -1;
	h->next = NULL;
	if (sh->tail)
		sh->tail->next = h;
	else
		sh->head = h;
	sh->tail = h;
	sh->held++;
	sh->held_bytes += h->m.len;
	return 0;
}

/* Back at the head (a retried one Redis still could not judge). */
static void hold_front(struct bridge_shared *sh, struct held *h)
{
	h->next = sh->head;
	sh->head = h;
	if (!sh->tail)
		sh->tail = h;
	sh->held++;
	sh->held_bytes += h->m.len;
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

/* need bytes in rm: its buffer, or NULL when memory is short. */
static uint8_t *room_get(struct room *rm, size_t need)
{
	uint8_t *p;

	if (need <= rm->cap)
		return rm->p;
	if (!(p = malloc(need)))
		return NULL;
	if (rm->p) {
		sodium_memzero(rm->p, rm->cap);
		free(rm->p);
	}
	rm->p = p;
	rm->cap = need;
	return p;
}

static void room_free(struct room *rm)
{
	if (rm->p) {
		sodium_memzero(rm->p, rm->cap);
		free(rm->p);
	}
	rm->p = NULL;
	rm->cap = 0;
}

/* e2e_open without a guard into out (plain_bound bytes): j->rc, and the
 * payload in j->plain (NULL when memory was short). */
static void verify(struct judged *j, const e2e_receiver *rcv, uint64_t now,
		   uint8_t *out)
{
	const struct bridge_shared_msg *m = &j->h->m;
	e2e_receiver r = *rcv;

	r.guard = NULL;
	r.now = now;
	memset(&j->info, 0, sizeof j->info);
	j->plain = out;
	j->plain_len = 0;
	j->check = 0;
	if (memchr(m->topic, '\0', m->topic_len))
		j->rc = E2E_ERR_TOPIC; /* a NUL inside the topic name */
	else if (!out)
		j->rc = E2E_ERR_NOMEM;
	else
		j->rc = e2e_open(&r, m->topic, m->payload, m->len,
				 m->retained ? E2E_DELIVERY_RETAINED : 0, out,
				 plain_bound(m->len), &j->plain_len, &j->info);
}

/* The opened payload wiped (its room stays). */
static void drop_plain(struct judged *j)
{
	if (j->plain) {
		sodium_memzero(j->plain, j->plain_len);
		j->plain = NULL;
	}
}

/* The verdict to the bridge, which takes the item back; h goes. */
static void settle(struct bridge_shared *sh, struct judged *j)
{
	sh->cb.settle(sh->cb.ctx, j->h->m.item, j->rc, &j->info,
		      j->rc == E2E_OK ? j->plain : NULL,
		      j->rc == E2E_OK ? j->plain_len : 0);
	drop_plain(j);
	free(j->h);
	j->h = NULL;
}

/*
 * h judged without asking Redis (it is unreachable and no retry is due):
 * refused when e2e_open refuses it; else a QoS 0 one refused as
 * store-unavailable (or delivered: accepted before a crash), a QoS 1/2
 * one held at the tail (its payload opened again when it is retried,
 * with the keys of then). Whether it was settled.
 */
static int judge_offline(struct bridge_shared *sh, const e2e_receiver *r,
			 struct held *h)
{
	struct judged j;

	j.h = h;
	verify(&j, r, (uint64_t)time(NULL),
	       room_get(&sh->spare, plain_bound(h->m.len)));
	if (j.rc == E2E_OK && h->m.qos > 0) { /* in order, opened or not */
		drop_plain(&j);
		if (hold(sh, h) == 0)
			return 0;
		j.rc = E2E_ERR_STORE_UNAVAILABLE; /* the hold full */
	} else if (j.rc == E2E_OK && !h->m.opened)
		j.rc = E2E_ERR_STORE_UNAVAILABLE;
	if (j.rc == E2E_OK) /* a crash's: opened, not judged again */
		sh->cb.accepted(sh->cb.ctx, h->m.item);
	settle(sh, &j);
	return 1;
}

/* Redis has just been found unreachable: what waits for it is judged as
 * arrivals now are, so that a QoS 0 message or a forgery does not wait
 * for the next retry. */
static void judge_waiting(struct bridge_shared *sh, const e2e_receiver *r)
{
	size_t n = sh->held;
	struct held *h;

	while (n-- > 0 && (h = unhold(sh)))
		judge_offline(sh, r, h); /* held again at the tail, or not */
}

/*
 * The batch Redis answered (rc: the call's), settled in order: the
 * verified ones take the group's verdict; all the accepted ones are marked
 * (accepted, sync) before any is published; a QoS 1/2 one Redis could not
 * judge goes back to the head of the hold, in its order, ahead of what
 * arrived meanwhile.
 */
static void collect(struct bridge_shared *sh, const e2e_receiver *r, int rc)
{
	struct judged *j = sh->j;
	size_t accepted = 0;
	int answered = 0, was_down = sh->down;

	for (size_t i = 0, k = 0; i < sh->n; i++)
		if (j[i].check) {
			j[i].rc =
				rc == E2E_ERR_INVAL ? rc : sh->items[k].verdict;
			answered |= j[i].rc != E2E_ERR_STORE_UNAVAILABLE;
			k++;
		}
	if (sh->checks)
		note_store(sh, answered);
	for (size_t i = 0; i < sh->n; i++)
		if (j[i].rc == E2E_OK) {
			sh->cb.accepted(sh->cb.ctx, j[i].h->m.item);
			accepted++;
		}
	if (accepted)
		sh->cb.sync(sh->cb.ctx);
	for (size_t i = sh->n; i-- > 0;)
		if (j[i].rc == E2E_ERR_STORE_UNAVAILABLE && j[i].h->m.qos > 0) {
			drop_plain(&j[i]);
			hold_front(sh, j[i].h);
			j[i].h = NULL;
		}
	for (size_t i = 0; i < sh->n; i++)
		if (j[i].h)
			settle(sh, &j[i]);
	sh->n = sh->checks = 0;
	if (sh->down && !was_down && r)
		judge_waiting(sh, r);
}

/* The batch, if Redis has answered it: collected. */
static void poll_batch(struct bridge_shared *sh, const e2e_receiver *r)
{
	int done, rc;

	if (!sh->busy)
		return;
	pthread_mutex_lock(&sh->mu);
	done = sh->done;
	rc = sh->rc;
	sh->done = 0;
	pthread_mutex_unlock(&sh->mu);
	if (!done)
		return;
	sh->busy = 0;
	collect(sh, r, rc);
}

/*
 * The next batch, when the asking thread is idle and Redis may be asked:
 * up to BRIDGE_SHARED_BATCH messages from the head of the hold, verified
 * with the keys of now (a refused one is settled with the batch, in
 * order), the verified ones handed to the asking thread for one round
 * trip.
 */
static void submit(struct bridge_shared *sh, const e2e_receiver *r)
{
	struct judged *j = sh->j;
	struct held *h;
	size_t need = 0, at = 0;
	uint8_t *out;

	if (sh->busy || !sh->held || (sh->down && cli_now_ms() < sh->next_try))
		return;
	sh->now = (uint64_t)time(NULL);
	for (h = sh->head; h && sh->n < BRIDGE_SHARED_BATCH; h = h->next)
		need += plain_bound(h->m.len), sh->n++;
	out = room_get(&sh->scratch, need);
	for (size_t i = 0; i < sh->n; i++) {
		j[i].h = unhold(sh);
		verify(&j[i], r, sh->now, out ? out + at : NULL);
		at += plain_bound(j[i].h->m.len);
		if (j[i].rc != E2E_OK || j[i].h->m.opened)
			continue; /* refused, or accepted before a crash */
		j[i].check = 1;
		sh->items[sh->checks].info = &j[i].info;
		sh->items[sh->checks].topic = j[i].h->m.topic;
		sh->items[sh->checks].delivery =
			j[i].h->m.retained ? E2E_DELIVERY_RETAINED : 0;
		sh->checks++;
	}
	if (!sh->checks) {
		collect(sh, r, E2E_OK); /* nothing to ask */
		return;
	}
	sh->busy = 1;
	pthread_mutex_lock(&sh->mu);
	sh->job = 1;
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
}

void bridge_shared_judge(struct bridge_shared *sh, const e2e_receiver *r,
			 const struct bridge_shared_msg *m, size_t n)
{
	int offline;

	poll_batch(sh, r);
	/* Redis known unreachable, and asked again now or not yet. */
	offline = sh->down && (sh->busy || cli_now_ms() < sh->next_try);
	for (size_t i = 0; i < n; i++) {
		struct held *h = malloc(sizeof *h);
		struct judged j = {0};

		if (!h) { /* refused, never unchecked */
			sh->cb.settle(sh->cb.ctx, m[i].item, E2E_ERR_NOMEM,
				      &j.info, NULL, 0);
			continue;
		}
		h->m = m[i];
		if (offline) {
			judge_offline(sh, r, h);
		} else if (hold(sh, h)) {
			j.h = h;
			j.rc = E2E_ERR_STORE_UNAVAILABLE; /* the hold full */
			settle(sh, &j);
		}
	}
	submit(sh, r);
}

int bridge_shared_room(const struct bridge_shared *sh)
{
	return !sh || !sh->busy || sh->down || sh->held < BRIDGE_SHARED_BATCH;
}

long bridge_shared_tick(struct bridge_shared *sh, const e2e_receiver *r,
			long wait_ms)
{
	int64_t now;

	if (!sh)
		return wait_ms;
	poll_batch(sh, r);
	submit(sh, r);
	if (sh->busy || !sh->held)
		return wait_ms; /* the asking thread wakes the main one */
	now = cli_now_ms();
	return sh->next_try - now < wait_ms ? (long)(sh->next_try - now)
					    : wait_ms;
}

void bridge_shared_finish(struct bridge_shared *sh)
{
	if (!sh || !sh->busy)
		return;
	pthread_mutex_lock(&sh->mu);
	while (!sh->done)
		pthread_cond_wait(&sh->cv, &sh->mu);
	pthread_mutex_unlock(&sh->mu);
	poll_batch(sh, NULL);
}

size_t bridge_shared_held(const struct bridge_shared *sh)
{
	return sh ? sh->held + (sh->busy ? sh->n : 0) : 0;
}

int bridge_shared_reachable(const struct bridge_shared *sh, long *outages)
{
	if (outages)
		*outages = sh ? sh->outages : 0;
	return !sh || !sh->down;
}

void bridge_shared_free(struct bridge_shared *sh)
{
	struct held *h;

	if (!sh)
		return;
	if (sh->started) {
		pthread_mutex_lock(&sh->mu);
		sh->quit = 1;
		pthread_cond_broadcast(&sh->cv);
		pthread_mutex_unlock(&sh->mu);
		pthread_join(sh->thread, NULL); /* after its batch, if any */
	}
	for (size_t i = 0; sh->busy && i < sh->n; i++) {
		drop_plain(&sh->j[i]); /* not collected: given back unjudged */
		hold_front(sh, sh->j[i].h);
	}
	while ((h = unhold(sh))) {
		sh->cb.release(sh->cb.ctx, h->m.item);
		free(h);
	}
	e2e_redis_free(sh->rs);
	room_free(&sh->scratch);
	room_free(&sh->spare);
	pthread_mutex_destroy(&sh->mu);
	pthread_cond_destroy(&sh->cv);
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

int bridge_shared_room(const struct bridge_shared *sh)
{
	(void)sh;
	return 1;
}

void bridge_shared_finish(struct bridge_shared *sh)
{
	(void)sh;
}

size_t bridge_shared_held(const struct bridge_shared *sh)
{
	(void)sh;
	return 0;
}

int bridge_shared_reachable(const struct bridge_shared *sh, long *outages)
{
	(void)sh;
	if (outages)
		*outages = 0;
	return 1;
}

void bridge_shared_free(struct bridge_shared *sh)
{
	free(sh);
}
#endif
