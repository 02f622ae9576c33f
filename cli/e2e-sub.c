/*
 * e2e-sub: subscribe, verify every message with libe2e, print the accepted
 * ones as mosquitto_sub would (but with their topics and payloads escaped,
 * one line per message, unless --raw-output) and refuse the rest, one
 * stderr line each: "e2e-sub: rejected TOPIC: REASON: detail".
 *
 * Verification is e2e_open() alone (with --state redis://..., e2e_redis_open:
 * the same, then the group's replay check in Redis, sub_state.c); this
 * file decides only what to print.
 * Messages arrive on Paho's thread; the keys, the replay guard and the
 * counters they touch are shared with the main thread (SIGHUP reloads,
 * --state saves) under sub.mu. With the in-memory guard and stdout
 * buffered, Paho's thread only queues them (sub_ring.h) and the main
 * thread judges them in runs, in arrival order.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <sodium.h>

#include "conn.h"
#include "guard_state.h"
#include "keys.h"
#include "keyupdate.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "shared_state.h"
#include "signals.h"
#include "sub_hold.h"
#include "sub_output.h"
#include "sub_ring.h"
#include "will.h"

/* Payload buffers above this size are given back after each message. */
#define BUF_KEEP_MAX (1u << 20)

/* --help around the options (options.c lists those e2e-sub takes). */
static const struct cli_help help = {
	"e2e-sub: receive and verify end-to-end protected MQTT messages.\n"
	"Usage: e2e-sub -t FILTER [-t FILTER ...] [-K KEYRING] "
	"[--trust FILE] [options]\n\n",
	"\nRejected messages: one line on stderr, 'e2e-sub: rejected TOPIC: "
	"REASON: detail'.\n"
	"SIGHUP reloads keyring and trust file without reconnecting.\n"
	"Exit status: 0 success, 1 error, 27 when -W elapsed; a refused\n"
	"connection: the broker's CONNACK code (5 not authorised; MQTT 5:\n"
	"135), as mosquitto_sub; --help and --version: 1, as mosquitto_sub.\n"};

struct sub {
	struct cli_config cfg;
	struct cli_conn *conn;
	pthread_mutex_t mu;
	/* Under mu. */
	struct cli_keys keys;
	e2e_guard *guard;          /* NULL with a shared state */
	struct cli_shared *shared; /* --state redis://... */
	e2e_receiver rcv;
	uint8_t *buf; /* opened payloads; wiped after use */
	size_t cap;
	long accepted;
	long rejected;
	long duplicates;
	long clears;          /* empty payloads: retained messages cleared */
	long unprinted;       /* accepted, left out by --random-filter */
	int done;             /* -C reached */
	int dirty;            /* guard changed since the last save */
	int store_down;       /* Redis unreachable: QoS 1/2 messages held */
	struct cli_hold hold; /* messages Redis could not judge yet */
	/* --state redis://: messages verified on arrival, judged by the
	 * judging thread in batches, two of them in flight at Redis
	 * (send_flight, land_flight). */
	struct cli_hold arrived;
	struct flight {
		struct cli_held *batch[CLI_SHARED_BATCH_MAX];
		const e2e_info *info[CLI_SHARED_BATCH_MAX];
		const char *topic[CLI_SHARED_BATCH_MAX];
		uint32_t delivery[CLI_SHARED_BATCH_MAX];
		size_t n, checks;
	} flight[CLI_SHARED_PIPELINE];
	unsigned flight_head, flights;
	size_t in_flight; /* messages in the flights */
	/* While the judging thread waits for an answer with room for another
	 * batch (awaiting), an arrival wakes it through this pipe, once
	 * (woken), so that it sends what arrived at once. */
	int wake[2];
	int awaiting, woken;
	pthread_t judging;
	int judging_started;
	int closing; /* no more arrivals: judge what is left and stop */
	pthread_cond_t arrived_cv, room_cv;
	int64_t last_retry; /* of the held messages, cli_now_ms() */
	/* --member-key: key updates, applied under mu (keyupdate.h). */
	struct cli_keyupdate *ku;
	char **subs;     /* the -t filters and the update topic */
	char **removals; /* --remove-retained: topics to clear */
	int removal_count;
	/* Buffered stdout (cli_out_buffered): written out once no message
	 * has come for FLUSH_IDLE_MS. Under mu. */
	int flush_due; /* accepted messages not yet written out */
	long seen;     /* accepted when the main thread last looked */

	/* --will-topic (will.h). */
	struct cli_will will;

	/* Arrivals queued by Paho's thread for the main thread's runs
	 * (ring.slot NULL when they are judged on Paho's thread). runs
	 * (under mu): the main thread judges, so a verdict need not wake
	 * it; cleared once the ring is closed. */
	struct cli_ring ring;
	int runs;
};

/* stdout is written out when no accepted message came for this long. */
#define FLUSH_IDLE_MS 1

/* Arrivals judged in one go before the producer gets their room back. */
#define RUN_CHUNK 64u

/* While messages are held, how often the main thread retries them. */
#define HOLD_RETRY_MS 200
/* Messages verified and waiting for the group's check, at most; the
 * receiving thread waits for room beyond (docs/GROUPS.md section 8). */
#define ARRIVED_MAX 1024u

/* ------------------------------------------------------------------------ */
/* Receiving (Paho's thread)                                                */
/* ------------------------------------------------------------------------ */

/* A buffer that holds the plaintext of an envelope of len bytes: it is
 * never longer than its envelope nor than E2E_PAYLOAD_MAX. No parse to
 * size it (e2e_open parses it once). */
static size_t plain_bound(size_t len)
{
	if (len > E2E_PAYLOAD_MAX)
		len = E2E_PAYLOAD_MAX;
	return len ? len : 1;
}

/* Room for the plaintext (mu held): 0, or -1 when memory is short (the
 * message is dropped, reported). */
static int size_buffer(struct sub *s, const char *topic, size_t tlen,
		       const struct cli_message *m)
{
	size_t need = plain_bound(m->len);
	uint8_t *nb;

	if (need <= s->cap)
		return 0;
	if (!(nb = malloc(need))) {
		cli_out_dropped(topic, tlen);
		return -1;
	}
	if (s->buf) {
		sodium_memzero(s->buf, s->cap);
		free(s->buf);
	}
	s->buf = nb;
	s->cap = need;
	return 0;
}

/* --random-filter: whether to print this accepted message. Chosen after
 * verification, as mosquitto_sub chooses when printing: a message left out
 * was still accepted (the replay guard has it) and counts for -C; refused
 * messages are always reported. */
static int printed(struct sub *s)
{
	long chance = s->cfg.random_filter;

	if (chance == 0 || chance >= 1000000 ||
	    (long)randombytes_uniform(1000000) < chance)
		return 1;
	s->unprinted++;
	return 0;
}

/* Wake the main thread (mu held), unless it is the one judging: it looks
 * again after its run. */
static void wake_main(const struct sub *s)
{
	if (!s->runs)
		cli_wake_main();
}

/* What e2e_open said, shown and counted (mu held). */
static void verdict(struct sub *s, const char *topic, size_t tlen, int rc,
		    const e2e_info *info, uint8_t *plain, size_t out_len,
		    const struct cli_message *m)
{
	const struct cli_config *cfg = &s->cfg;

	if (rc == E2E_OK) {
		struct cli_delivery d = {topic, plain, out_len, info, m};
		if (printed(s))
			cli_out_accepted(cfg, &d);
		sodium_memzero(plain, out_len);
		s->accepted++;
		s->dirty = 1;
		if (cli_out_buffered() && !s->flush_due) {
			/* One wake-up per burst, not per message. */
			s->flush_due = 1;
			wake_main(s);
		}
		if (cfg->msg_count && s->accepted >= cfg->msg_count) {
			s->done = 1;
			wake_main(s);
		}
	} else if (rc == E2E_ERR_REPLAY && m->dup) {
		/* A QoS 1/2 redelivery of a message already delivered. */
		s->duplicates++;
		cli_out_duplicate(topic, tlen, info);
	} else {
		s->rejected++;
		cli_out_rejected(topic, tlen, rc, info, m);
	}
}

/* Whether topic is one of our subscriptions' (as e2e_open checks it). */
static int subscribed(const struct cli_config *cfg, const char *topic)
{
	for (int i = 0; i < cfg->topic_count; i++)
		if (e2e_subscription_matches(cfg->topics[i], topic))
			return 1;
	return 0;
}

/* -T: topics the user does not want, as mosquitto_sub's (ignored before
 * anything else: neither verified nor counted). */
static int filtered_out(const struct cli_config *cfg, const char *topic)
{
	for (int i = 0; i < cfg->filter_out_count; i++)
		if (e2e_subscription_matches(cfg->filter_out[i], topic))
			return 1;
	return 0;
}

/* --remove-retained, as mosquitto_sub: every retained message received
 * (verified or not: clearing needs no key) is cleared by publishing an
 * empty retained message to its topic. Queued here (mu held: a callback
 * must not publish, conn.h), sent by remove_retained() on the main
 * thread. */
static void queue_removal(struct sub *s, const char *topic, size_t tlen)
{
	char **t;

	if (memchr(topic, '\0', tlen))
		return;
	t = realloc(s->removals, (size_t)(s->removal_count + 1) * sizeof *t);
	if (!t)
		return;
	s->removals = t;
	if ((t[s->removal_count] = strndup(topic, tlen)))
		s->removal_count++;
}

/* Whether Redis answered (mu held): reports an outage once, and its end. */
static void note_store(struct sub *s, int rc, const struct cli_message *m)
{
	int down = rc == E2E_ERR_STORE_UNAVAILABLE;

	if (down && !s->store_down)
		cli_err("shared state unreachable (%s): %s", s->cfg.state_path,
			m->qos > 0 ? "holding QoS 1/2 messages until it "
				     "answers"
				   : "refusing QoS 0 messages");
	else if (!down && s->store_down)
		cli_err("shared state reachable again: %zu held messages to "
			"judge",
			s->hold.count);
	s->store_down = down;
}

/* Judge one message (mu held): 1 when it must be held (Redis unreachable
 * at QoS 1/2: not judged, not delivered), else 0 (shown and counted). */
static int judge(struct sub *s, const char *topic, size_t tlen,
		 const struct cli_message *m)
{
	uint32_t delivery = m->retained ? E2E_DELIVERY_RETAINED : 0;
	e2e_info info = {0};
	size_t out_len = 0;
	int rc;

	/* -C may have been reached since a held message arrived (the rules
	 * of its arrival ran then: arrival_rules). */
	if (s->done)
		return 0;
	if (memchr(topic, '\0', tlen)) { /* a NUL inside the topic name */
		verdict(s, topic, tlen, E2E_ERR_TOPIC, &info, NULL, 0, m);
		return 0;
	}
	/* An empty payload is what clearing a retained message sends (MQTT
	 * wants it unsealed, e2e-pub -r -n), and brokers forward it to live
	 * subscribers: never a message, never delivered, no rejection. On a
	 * topic we did not subscribe to it is refused as anything else. */
	if (m->len == 0 && subscribed(&s->cfg, topic)) {
		s->clears++;
		cli_out_cleared(topic, tlen);
		return 0;
	}
	if (size_buffer(s, topic, tlen, m))
		return 0;
	/* e2e_open fills info whatever the outcome. */
	if (s->shared)
		rc = cli_shared_open(s->shared, &s->rcv, topic, m->payload,
				     m->len, delivery, s->buf, s->cap, &out_len,
				     &info);
	else
		rc = e2e_open(&s->rcv, topic, m->payload, m->len, delivery,
			      s->buf, s->cap, &out_len, &info);
	if (s->shared)
		note_store(s, rc, m);
	if (rc == E2E_ERR_STORE_UNAVAILABLE && m->qos > 0)
		return 1;
	verdict(s, topic, tlen, rc, &info, s->buf, out_len, m);
	/* Give a large buffer back at once, so that one huge message (an
	 * attacker's, say) does not pin its memory for the process's life. */
	if (s->cap > BUF_KEEP_MAX) {
		sodium_memzero(s->buf, s->cap);
		free(s->buf);
		s->buf = NULL;
		s->cap = 0;
	}
	return 0;
}

/* Keep a message Redis could not judge (mu held); when the queue is full,
 * refuse it as store-unavailable: never delivered unchecked. */
static void hold(struct sub *s, const char *topic, size_t tlen,
		 const struct cli_message *m)
{
	e2e_info info = {0};

	if (cli_hold_push(&s->hold, topic, tlen, m) == 0)
		return;
	if (e2e_parse(m->payload, m->len, &info) != E2E_OK)
		memset(&info, 0, sizeof info); /* the detail: sender 0 */
	verdict(s, topic, tlen, E2E_ERR_STORE_UNAVAILABLE, &info, NULL, 0, m);
}

/* What mosquitto_sub's options do with a message as it arrives (mu held),
 * once, before it is judged or held: 1 when it is to be ignored. */
static int arrival_rules(struct sub *s, const char *topic, size_t tlen,
			 const struct cli_message *m)
{
	if (s->done || (s->cfg.no_stale_retained && m->retained) ||
	    filtered_out(&s->cfg, topic))
		return 1;
	if (s->cfg.retained_only && !m->retained) {
		/* --retained-only: the first live message ends the run. */
		s->done = 1;
		wake_main(s);
		return 1;
	}
	if (s->cfg.remove_retained && m->retained) {
		queue_removal(s, topic, tlen);
		cli_wake_main();
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* --state redis://: judging in batches (docs/GROUPS.md section 8)          */
/* ------------------------------------------------------------------------ */

/* What an arrival needs once it is verified. */
enum { ARRIVAL_CHECK, ARRIVAL_VERDICT, ARRIVAL_CLEAR };

static void judge_held(struct sub *s);

/* judge()'s first steps for an arrival, at once on Paho's thread (mu
 * held), so that it is verified with the keys of its arrival as before:
 * what e2e_open (guard NULL) says, and the opened payload; the group's
 * check comes later, in a batch. */
static void verify_arrival(struct sub *s, struct cli_held *e)
{
	e2e_receiver r = s->rcv;
	size_t need;

	e->now = r.now = (uint64_t)time(NULL);
	e->kind = ARRIVAL_VERDICT;
	if (memchr(e->topic, '\0', e->tlen)) {
		e->rc = E2E_ERR_TOPIC;
		return;
	}
	if (e->m.len == 0 && subscribed(&s->cfg, e->topic)) {
		e->kind = ARRIVAL_CLEAR;
		return;
	}
	need = plain_bound(e->m.len);
	if (!(e->plain = malloc(need))) {
		e->rc = E2E_ERR_NOMEM;
		return;
	}
	e->rc = e2e_open(&r, e->topic, e->m.payload, e->m.len,
			 e->m.retained ? E2E_DELIVERY_RETAINED : 0, e->plain,
			 need, &e->plain_len, &e->info);
	if (e->rc == E2E_OK)
		e->kind = ARRIVAL_CHECK;
}

/* Queue a message for the judging thread (Paho's thread, mu held), after
 * waiting for room: the queue is bounded (ARRIVED_MAX messages, 64 MiB
 * unless it holds one message only), and waiting here makes the broker
 * wait (TCP), as a slow e2e-sub always did. */
static void arrive(struct sub *s, const char *topic, size_t tlen,
		   const struct cli_message *m)
{
	for (;;) {
		if (s->arrived.count < ARRIVED_MAX) {
			if (!cli_hold_push(&s->arrived, topic, tlen, m))
				break;
			if (!s->arrived.count) { /* memory short */
				cli_out_dropped(topic, tlen);
				return;
			}
		}
		pthread_cond_wait(&s->room_cv, &s->mu);
	}
	verify_arrival(s, s->arrived.tail);
	pthread_cond_signal(&s->arrived_cv);
	if (s->awaiting && !s->woken) {
		s->woken = 1;
		if (write(s->wake[1], "", 1) < 0) {
			/* Full: a wake-up is already pending. */
		}
	}
}

/* Whether -C is reached: what is still queued is not judged. */
static int count_reached(const struct sub *s)
{
	return s->cfg.msg_count && s->accepted >= s->cfg.msg_count;
}

/* Show what an arrival's judging said, in arrival order (mu held); an
 * arrival Redis could not judge at QoS 1/2 is held (and judged again,
 * from its envelope, once Redis answers). */
static void settle(struct sub *s, struct cli_held *e, int rc)
{
	if (e->kind == ARRIVAL_CLEAR) {
		s->clears++;
		cli_out_cleared(e->topic, e->tlen);
		return;
	}
	if (e->kind == ARRIVAL_CHECK) {
		note_store(s, rc, &e->m);
		if (rc == E2E_ERR_STORE_UNAVAILABLE && e->m.qos > 0) {
			hold(s, e->topic, e->tlen, &e->m);
			return;
		}
	} else {
		rc = e->rc;
	}
	verdict(s, e->topic, e->tlen, rc, &e->info, e->plain,
		rc == E2E_OK ? e->plain_len : 0, &e->m);
}

/* How many more arrivals a batch may take (mu held): CLI_SHARED_BATCH_MAX,
 * and no more than -C still allows, counting those in flight (each may be
 * accepted). */
static size_t batch_room(const struct sub *s)
{
	size_t max = CLI_SHARED_BATCH_MAX, left;

	if (!s->cfg.msg_count)
		return max;
	left = s->cfg.msg_count - s->accepted > (long)s->in_flight
		       ? (size_t)(s->cfg.msg_count - s->accepted) - s->in_flight
		       : 0;
	return left < max ? left : max;
}

/* Whether the judging thread can send a batch now (mu held): arrivals
 * waiting, fewer than CLI_SHARED_PIPELINE batches in flight, room under
 * -C, nothing held. */
static int can_send(const struct sub *s)
{
	return s->arrived.count && s->flights < CLI_SHARED_PIPELINE &&
	       !s->hold.count && batch_room(s) > 0;
}

/* The next batch (mu held): the oldest arrivals, as many as are waiting
 * (never waiting for more), at most batch_room(), one clock; their group
 * check sent with mu released, so that more can arrive meanwhile, without
 * waiting for the answer: with a batch already in flight, this one is at
 * Redis right behind it, and Redis judges it after that one (the same
 * envelope in both: this one is the replay). */
static void send_flight(struct sub *s)
{
	struct flight *f =
		&s->flight[(s->flight_head + s->flights) % CLI_SHARED_PIPELINE];
	size_t max = batch_room(s);
	struct cli_held *e;

	f->n = f->checks = 0;
	while (f->n < max && (e = s->arrived.head) &&
	       (!f->n || e->now == f->batch[0]->now)) {
		f->batch[f->n++] = cli_hold_take(&s->arrived);
		if (e->kind == ARRIVAL_CHECK) {
			f->info[f->checks] = &e->info;
			f->topic[f->checks] = e->topic;
			f->delivery[f->checks] =
				e->m.retained ? E2E_DELIVERY_RETAINED : 0;
			f->checks++;
		}
	}
	s->flights++;
	s->in_flight += f->n;
	pthread_cond_broadcast(&s->room_cv);
	if (f->checks) {
		pthread_mutex_unlock(&s->mu);
		cli_shared_check_send(s->shared, f->info, f->topic, f->delivery,
				      f->checks, f->batch[0]->now);
		pthread_mutex_lock(&s->mu);
	}
}

/* Whether to wait for the oldest batch's answer before taking its
 * verdicts (mu held): with room for another batch, an arrival during the
 * wait is sent first. Returns 1 when the answer is there, 0 when
 * something arrived meanwhile. */
static int await_answer(struct sub *s)
{
	char drain[64];
	int ready;

	if (s->flights >= CLI_SHARED_PIPELINE ||
	    !s->flight[s->flight_head].checks)
		return 1;
	s->awaiting = 1;
	pthread_mutex_unlock(&s->mu);
	ready = cli_shared_check_wait(s->shared, s->wake[0]);
	pthread_mutex_lock(&s->mu);
	s->awaiting = 0;
	if (s->woken) {
		while (read(s->wake[0], drain, sizeof drain) > 0)
			;
		s->woken = 0;
	}
	return ready;
}

/* The oldest batch in flight (mu held): its answer awaited with mu
 * released, then its verdicts shown, in arrival order. */
static void land_flight(struct sub *s)
{
	struct flight *f = &s->flight[s->flight_head];
	int verdicts[CLI_SHARED_BATCH_MAX];
	size_t checks = 0;

	if (f->checks) {
		pthread_mutex_unlock(&s->mu);
		cli_shared_check_recv(s->shared, verdicts);
		pthread_mutex_lock(&s->mu);
	}
	s->flight_head = (s->flight_head + 1) % CLI_SHARED_PIPELINE;
	s->flights--;
	s->in_flight -= f->n;
	for (size_t i = 0; i < f->n; i++) {
		settle(s, f->batch[i],
		       f->batch[i]->kind == ARRIVAL_CHECK ? verdicts[checks++]
							  : 0);
		cli_held_free(f->batch[i]);
	}
}

/* Arrivals that cannot go in a batch, with nothing in flight (mu held):
 * -C reached, what is queued is not judged; while messages are held
 * (Redis was unreachable), one at a time as they always were: QoS 1/2
 * behind the held ones, QoS 0 judged (or refused) at once. */
static void judge_arrivals(struct sub *s)
{
	struct cli_held *e;

	if (count_reached(s)) {
		while ((e = cli_hold_take(&s->arrived)))
			cli_held_free(e);
		pthread_cond_broadcast(&s->room_cv);
		return;
	}
	e = cli_hold_take(&s->arrived);
	pthread_cond_broadcast(&s->room_cv);
	if (e->m.qos > 0 || judge(s, e->topic, e->tlen, &e->m))
		hold(s, e->topic, e->tlen, &e->m);
	cli_held_free(e);
}

/* The judging thread of --state redis://: judges arrivals as they come,
 * in batches, sending the next one while the answer of the one before is
 * awaited; retries held messages every HOLD_RETRY_MS (nothing in flight
 * then), and once closing (no more arrivals) judges what is queued and
 * ends. */
static void *judging_main(void *arg)
{
	struct sub *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		if (!s->flights && s->hold.count &&
		    cli_now_ms() - s->last_retry >= HOLD_RETRY_MS) {
			s->last_retry = cli_now_ms();
			judge_held(s);
		}
		if (can_send(s)) {
			send_flight(s);
			continue;
		}
		if (s->flights) {
			if (await_answer(s))
				land_flight(s);
			continue;
		}
		if (s->arrived.count) {
			judge_arrivals(s);
			continue;
		}
		if (s->closing)
			break;
		if (s->hold.count) {
			struct timespec t;

			clock_gettime(CLOCK_REALTIME, &t);
			t.tv_sec += HOLD_RETRY_MS / 1000;
			t.tv_nsec += (long)(HOLD_RETRY_MS % 1000) * 1000000L;
			if (t.tv_nsec >= 1000000000L) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&s->arrived_cv, &s->mu, &t);
		} else {
			pthread_cond_wait(&s->arrived_cv, &s->mu);
		}
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* One arrival, in arrival order (mu held), on Paho's thread or in the
 * main thread's run. */
static void take(struct sub *s, const char *topic, size_t tlen,
		 const struct cli_message *m)
{
	/* A key update, never a message: not printed, not counted. */
	if (cli_keyupdate_is_for(s->ku, topic, tlen))
		cli_keyupdate_handle(s->ku, cli_keyupdate_topic(s->ku), m);
	else if (arrival_rules(s, topic, tlen, m))
		; /* -T, --retained-only: neither judged nor counted */
	else if (s->shared)
		arrive(s, topic, tlen, m); /* judged in batches, in order */
	/* Behind held ones, in arrival order. */
	else if (m->qos > 0 && s->hold.count > 0)
		hold(s, topic, tlen, m);
	else if (judge(s, topic, tlen, m))
		hold(s, topic, tlen, m);
}

static void on_message(void *ctx, const char *topic, size_t tlen,
		       const struct cli_message *m)
{
	struct sub *s = ctx;

	if (s->ring.slot) {
		switch (cli_ring_push(&s->ring, topic, tlen, m)) {
		case CLI_RING_QUEUED:
			return;
		case CLI_RING_WAKE_UP:
			cli_wake_main();
			return;
		case CLI_RING_NOMEM:
			pthread_mutex_lock(&s->mu);
			cli_out_dropped(topic, tlen);
			pthread_mutex_unlock(&s->mu);
			return;
		default: /* closed: judged here, after what was queued */
			break;
		}
	}
	pthread_mutex_lock(&s->mu);
	take(s, topic, tlen, m);
	pthread_mutex_unlock(&s->mu);
}

/* ------------------------------------------------------------------------ */
/* In-memory guard, stdout buffered: the main thread judges in runs        */
/* ------------------------------------------------------------------------ */

/* Judge the oldest n queued arrivals, in order (mu held), giving their
 * room back RUN_CHUNK at a time. */
static void judge_queued(struct sub *s, size_t n)
{
	while (n) {
		size_t k = n < RUN_CHUNK ? n : RUN_CHUNK;

		for (size_t i = 0; i < k; i++) {
			const struct cli_ring_slot *e =
				cli_ring_at(&s->ring, i);

			take(s, e->topic, e->tlen, &e->m);
		}
		cli_ring_release(&s->ring, k);
		n -= k;
	}
}

/* The main thread's run: what is queued, all judged one after the other,
 * so that the code of judging stays in the instruction cache (sub_ring.h);
 * *n says how many. Returns whether the run is over (-C,
 * --retained-only). */
static int judge_run(struct sub *s, size_t *n_out)
{
	size_t n = *n_out = cli_ring_ready(&s->ring);
	int done;

	pthread_mutex_lock(&s->mu);
	judge_queued(s, n);
	done = s->done;
	pthread_mutex_unlock(&s->mu);
	return done;
}

/* After the main loop: judge what is queued and close the ring; what
 * arrives from then on is judged on Paho's thread, after it (the ring is
 * closed with mu held, which on_message then waits for). */
static void runs_end(struct sub *s)
{
	size_t n;

	if (!s->ring.slot)
		return;
	pthread_mutex_lock(&s->mu);
	while ((n = cli_ring_close(&s->ring)))
		judge_queued(s, n);
	s->runs = 0;
	pthread_mutex_unlock(&s->mu);
}

/* The judging thread's retry of held messages (mu held), oldest first,
 * until one is still not judged. */
static void judge_held(struct sub *s)
{
	const struct cli_held *e;

	while ((e = cli_hold_head(&s->hold)) &&
	       !judge(s, e->topic, e->tlen, &e->m))
		cli_hold_pop(&s->hold);
}

/* Start the judging thread (--state redis://): 0, or -1 (reported). */
static int judging_start(struct sub *s)
{
	s->arrived.any_first = 1;
	if (pipe(s->wake) || fcntl(s->wake[0], F_SETFL, O_NONBLOCK) ||
	    fcntl(s->wake[1], F_SETFL, O_NONBLOCK) ||
	    fcntl(s->wake[0], F_SETFD, FD_CLOEXEC) ||
	    fcntl(s->wake[1], F_SETFD, FD_CLOEXEC)) {
		cli_err("cannot start the judging thread: %s", strerror(errno));
		return -1;
	}
	if (pthread_create(&s->judging, NULL, judging_main, s)) {
		cli_err("cannot start the judging thread");
		return -1;
	}
	s->judging_started = 1;
	return 0;
}

/* After the last arrival: let the judging thread judge what is queued,
 * and wait for it. */
static void judging_stop(struct sub *s)
{
	if (!s->judging_started)
		return;
	pthread_mutex_lock(&s->mu);
	s->closing = 1;
	pthread_cond_broadcast(&s->arrived_cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->judging, NULL);
	s->judging_started = 0;
}

/* ------------------------------------------------------------------------ */
/* Main thread                                                              */
/* ------------------------------------------------------------------------ */

static int guard_setup(struct sub *s)
{
	const struct cli_config *cfg = &s->cfg;
	e2e_guard_opts o;

	e2e_guard_opts_default(&o);
	if (cfg->max_age >= 0)
		o.max_age = (uint32_t)cfg->max_age;
	if (cfg->max_skew >= 0)
		o.max_skew = (uint32_t)cfg->max_skew;
	if (cfg->window > 0)
		o.window = (uint32_t)cfg->window;
	else if (cli_state_is_url(cfg->state_path))
		o.window =
			CLI_SHARED_WINDOW_DEFAULT; /* a group's (GROUPS.md) */
	o.max_retained_age = (uint32_t)cfg->max_retained_age;
	if (cfg->accept_no_clock)
		o.flags |= E2E_GUARD_ACCEPT_NO_CLOCK;
	/* The group's state: the same rules, kept and checked in Redis. */
	if (cli_state_is_url(cfg->state_path))
		return cli_shared_connect(&s->shared, cfg, &o);
	return cli_guard_open(&s->guard, &o, cfg->state_path);
}

/* Buffered stdout: written out when no message came since the main
 * thread last looked (mu held). Returns how long to wait before looking
 * again, at most wait. */
static long flush_when_idle(struct sub *s, long wait)
{
	if (!s->flush_due)
		return wait;
	if (s->accepted == s->seen) {
		cli_out_flush();
		s->flush_due = 0;
		return wait;
	}
	s->seen = s->accepted;
	return FLUSH_IDLE_MS < wait ? FLUSH_IDLE_MS : wait;
}

/* Save the guard if it changed; mu held. What it records as delivered is
 * on stdout first. */
static int guard_save(struct sub *s)
{
	if (!s->guard || !s->cfg.state_path || !s->dirty)
		return 0;
	cli_out_flush();
	if (cli_guard_save(s->guard, s->cfg.state_path) != 0)
		return -1;
	s->dirty = 0;
	return 0;
}

/* SIGHUP: load keyring and trust file afresh; swap them in only when both
 * load, so a half-edited file never leaves the subscriber without keys. */
static void reload_keys(struct sub *s)
{
	struct cli_keys fresh, old;

	if (cli_keys_load(&s->cfg, &fresh)) {
		cli_err("SIGHUP: keeping the previous keys");
		return;
	}
	pthread_mutex_lock(&s->mu);
	old = s->keys;
	s->keys = fresh;
	s->rcv.keyring = fresh.keyring;
	s->rcv.trust = fresh.trust;
	pthread_mutex_unlock(&s->mu);
	cli_keys_free(&old);
	cli_err("reloaded keys: %zu in the keyring, %zu trusted "
		"signers",
		fresh.keyring ? e2e_keyring_count(fresh.keyring) : 0,
		fresh.trust ? e2e_trust_count(fresh.trust) : 0);
}

/* Clear what queue_removal() queued (main thread): 0, or -1 when a
 * publication failed (reported). */
static int remove_retained(struct sub *s)
{
	char **list;
	int n, rc = 0;

	pthread_mutex_lock(&s->mu);
	list = s->removals;
	n = s->removal_count;
	s->removals = NULL;
	s->removal_count = 0;
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < n; i++) {
		if (rc == 0 && cli_conn_publish(s->conn, list[i], "", 0, 1, 1))
			rc = -1;
		free(list[i]);
	}
	free(list);
	return rc;
}

static int run(struct sub *s)
{
	const struct cli_config *cfg = &s->cfg;
	int64_t deadline =
		cfg->timeout ? cli_now_ms() + cfg->timeout * 1000 : 0;
	int64_t last_save = cli_now_ms();
	int rc = CLI_EXIT_OK, failed;

	if (cli_keyupdate_keys_load(&s->cfg, &s->keys) || guard_setup(s) ||
	    (s->shared && judging_start(s)))
		return CLI_EXIT_ERROR;
	/* Judged in runs on the main thread: with the in-memory guard (a
	 * group's has its own judging thread) and stdout buffered (else each
	 * message is printed as it comes); not with --remove-retained, whose
	 * publications from the main thread wait for Paho's thread. */
	if (!s->shared && cli_out_buffered() && !cfg->remove_retained) {
		if (cli_ring_init(&s->ring)) {
			cli_err("out of memory");
			return CLI_EXIT_ERROR;
		}
	}
	s->ku = cli_keyupdate_new(&s->cfg, &s->keys.keyring, &s->mu, &failed);
	if (failed)
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
	/* The Will: e2e-sub's only message, from a sender of its own
	 * (ENVELOPE.md section 10). */
	if (cli_will_seal(&s->will, cfg, s->keys.keyring, NULL, 0, 0))
		return CLI_EXIT_ERROR;
	s->conn = cli_conn_new(&cfg->broker, on_message, s);
	if (!s->conn)
		return CLI_EXIT_ERROR;
	if (s->will.env)
		cli_conn_set_will(s->conn, cfg->will_topic, s->will.env,
				  s->will.len, cfg->will_qos, cfg->will_retain,
				  NULL, NULL);
	if (s->ku) {
		/* The update topic on the same connection, at QoS 1 at
		 * least (updates are QoS 1): so are the -t filters then. */
		if (!(s->subs = calloc((size_t)cfg->topic_count + 1,
				       sizeof *s->subs))) {
			cli_err("out of memory");
			return CLI_EXIT_ERROR;
		}
		memcpy(s->subs, cfg->topics,
		       (size_t)cfg->topic_count * sizeof *s->subs);
		s->subs[cfg->topic_count] = cli_keyupdate_topic(s->ku);
		cli_conn_subscribe(s->conn, s->subs, cfg->topic_count + 1,
				   cfg->qos > 1 ? cfg->qos : 1);
	} else {
		cli_conn_subscribe(s->conn, cfg->topics, cfg->topic_count,
				   cfg->qos);
	}
	/* A refusal exits with the broker's code, as mosquitto_sub. */
	if ((rc = cli_conn_connect(s->conn)) != 0)
		return rc > 0 ? rc : CLI_EXIT_ERROR;
	if (cfg->unsub_count &&
	    cli_conn_unsubscribe(s->conn, cfg->unsub, cfg->unsub_count))
		return CLI_EXIT_ERROR;
	if (cfg->exit_subscribed)
		return CLI_EXIT_OK; /* -E: subscribed, done */

	/* From here on the main thread judges what arrives; before (while
	 * connecting), Paho's thread did, as the main thread could not. */
	if (s->ring.slot) {
		pthread_mutex_lock(&s->mu);
		cli_ring_open(&s->ring);
		s->runs = 1;
		pthread_mutex_unlock(&s->mu);
	}
	for (;;) {
		long wait = 500;
		size_t judged = 0;
		int done;

		if (s->ring.slot && judge_run(s, &judged))
			break;
		pthread_mutex_lock(&s->mu);
		if (s->hold.count)
			wait = HOLD_RETRY_MS;
		wait = flush_when_idle(s, wait);
		pthread_mutex_unlock(&s->mu);

		if (deadline) {
			int64_t left = deadline - cli_now_ms();
			if (left <= 0) {
				rc = CLI_EXIT_TIMEOUT;
				break;
			}
			if (left < wait)
				wait = (long)left;
		}
		/* After a run, or with arrivals queued meanwhile, a short wait
		 * gathers the next run (a flood of rejections too, which sets
		 * no flush due); else the next arrival wakes us. */
		if (s->ring.slot && wait > FLUSH_IDLE_MS &&
		    (judged || !cli_ring_sleep(&s->ring, 1)))
			wait = FLUSH_IDLE_MS;
		cli_signal_wait(wait);
		if (s->ring.slot)
			cli_ring_sleep(&s->ring, 0);
		if (cli_stop_requested())
			break;
		if (remove_retained(s))
			return CLI_EXIT_ERROR;
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
	s.wake[0] = s.wake[1] = -1;
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
	pthread_cond_init(&s.arrived_cv, NULL);
	pthread_cond_init(&s.room_cv, NULL);
	rc = cli_parse(&s.cfg, CLI_SUB, &help, argc, argv);
	if (rc >= 0) {
		cli_config_free(&s.cfg);
		return rc;
	}
	cli_out_setup(&s.cfg); /* before any message can come */
	rc = run(&s);
	runs_end(&s); /* what arrived is judged */
	pthread_mutex_lock(&s.mu);
	cli_out_flush();
	pthread_mutex_unlock(&s.mu);
	/* --remove-retained: what came last is cleared too, acknowledged. */
	if (s.conn && s.cfg.remove_retained && rc != CLI_EXIT_ERROR &&
	    (remove_retained(&s) || cli_conn_drain(s.conn)))
		rc = CLI_EXIT_ERROR;
	cli_conn_free(s.conn); /* no callback runs after this */
	judging_stop(&s);      /* and what arrived is judged */
	cli_will_free(&s.will);
	for (int i = 0; i < s.removal_count; i++)
		free(s.removals[i]);
	free(s.removals);
	if (s.guard && guard_save(&s) && rc == CLI_EXIT_OK)
		rc = CLI_EXIT_ERROR;
	cli_debug("%ld accepted, %ld rejected, %ld redelivered duplicates "
		  "dropped, %ld retained clears",
		  s.accepted, s.rejected, s.duplicates, s.clears);
	if (s.cfg.random_filter)
		cli_debug("%ld accepted messages left unprinted by "
			  "--random-filter",
			  s.unprinted);
	if (s.hold.count) {
		cli_err("%zu held messages were never judged (the shared state "
			"stayed unreachable): not delivered",
			cli_hold_clear(&s.hold));
		if (rc == CLI_EXIT_OK)
			rc = CLI_EXIT_ERROR;
	}
	cli_shared_free(s.shared);
	if (s.buf) {
		sodium_memzero(s.buf, s.cap);
		free(s.buf);
	}
	e2e_guard_free(s.guard);
	cli_keyupdate_free(s.ku);
	free(s.subs);
	cli_keys_free(&s.keys);
	cli_config_free(&s.cfg);
	cli_hold_clear(&s.arrived);
	cli_ring_free(&s.ring);
	for (int i = 0; i < 2; i++)
		if (s.wake[i] >= 0)
			close(s.wake[i]);
	pthread_cond_destroy(&s.arrived_cv);
	pthread_cond_destroy(&s.room_cv);
	pthread_mutex_destroy(&s.mu);
	return rc;
}
