/*
 * e2e-bridge: one process, two MQTT connections (docs/BRIDGE.md). "in"
 * rules subscribe on the remote broker (untrusted, envelopes), open every
 * message with the full receiver and publish the clear payload on the local
 * broker (trusted); "out" rules subscribe on local, seal for the remote
 * topic name and publish on remote.
 *
 * Messages arrive on Paho's thread, which must never wait (conn.h): the
 * callbacks only copy them into one bounded queue. Everything else (keys,
 * the replay guard, the sender, both publications) belongs to the main
 * thread, so nothing below needs a lock but the queue's.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "bridge_config.h"
#include "bridge_journal.h"
#include "bridge_log.h"
#include "bridge_metrics.h"
#include "bridge_notify.h"
#include "bridge_reload.h"
#include "bridge_shared.h"
#include "conn.h"
#include "guard_state.h"
#include "keys.h"
#include "longopt.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "shared_state.h"
#include "signals.h"

#define TOPIC_BUF 65536

/* A message waiting for the main thread. */
struct item {
	struct item *next;
	enum bridge_dir dir; /* BRIDGE_IN: from remote */
	char *topic;         /* topic_len bytes and a NUL */
	size_t topic_len;
	uint8_t *payload;
	size_t len;
	int qos, retained, dup;
	uint64_t jid; /* its journal id, 0 when not journaled */
	int spilled;  /* only in the journal: read back when its turn comes */
	int opened;   /* replayed: e2e_open accepted it before the crash */
	/* Not spilled: topic and payload, in the item's own allocation (one
	 * malloc per message); spilled: the journal's, freed apart. */
	uint8_t data[];
};

/* Messages the main thread takes from one direction of the queue at once,
 * at most: one lock of the queue, one look at the destination's room and
 * at most one look at the signals for them. */
#define TAKE_MAX 64
_Static_assert(TAKE_MAX <= BRIDGE_SHARED_BATCH,
	       "a shared state's batch holds what the main thread takes");

/* One list per direction (head[BRIDGE_IN]...), so that a side that is down
 * holds up only what goes to it. */
struct queue {
	pthread_mutex_t mu;
	struct item *head[3], *tail[3];
	/* Written under mu, read without it by the callbacks (one lock per
	 * message, queue_put's). count grows on the two sides' receive
	 * threads: one may miss the other's message being queued, so the
	 * queue may hold one message more than max, as when count was read
	 * under mu and the message queued after the lock was released (the
	 * journal is written in between). max and payload_max change at a
	 * reload. */
	long count, max, payload_max;
	int turn; /* the direction served first next time */
	/* Bit 1 << dir: the main thread found that ready direction empty and
	 * may sleep, so queue_put wakes it (once; it clears every bit). A
	 * direction not ready (span or Redis batch full) has no bit: what
	 * makes it ready wakes the main thread (conn.c's main_waits, the
	 * asking thread), an arrival there would wake it for nothing. */
	int sleeping;
};

struct bridge {
	struct bridge_config cfg;
	struct cli_conn *remote, *local;
	struct queue q;
	char **remote_filters; /* of the "in" rules */
	char **local_filters;  /* of the "out" rules */
	struct cli_keys keys;
	e2e_receiver rcv;
	e2e_guard *guard;
	int dirty;                    /* guard changed since the last save */
	struct bridge_shared *shared; /* state redis://...: guard NULL */
	long held_exit, held_lost;    /* held at exit; of them not journaled */
	e2e_sender *sender;
	e2e_epoch_lock *epoch;
	uint8_t *buf; /* opened or sealed payloads */
	size_t cap;
	long delivered, refused, duplicates, sealed, failed;
	struct bridge_journal *journal; /* NULL: no journal */
	long spilled, replayed;
	/* Operations (the section below): counters, their outputs, the
	 * connections as last seen. */
	struct bridge_metrics *metrics;
	int *rule_metric; /* per rule of cfg: its counters in metrics */
	int none_metric;  /* messages no rule claims */
	const char *metrics_path;
	int64_t last_metrics, last_tick;
	struct cli_conn_state seen[SIDE_COUNT];
	/* What SIGHUP replaced: the connections may still read the filters
	 * (cli_conn_resubscribe), so it is freed after them. */
	struct retired {
		struct retired *next;
		struct bridge_config cfg;
		char **remote_filters, **local_filters;
	} * retired;
};

static const char usage[] =
	"e2e-bridge: bridge end-to-end protected MQTT messages between an\n"
	"untrusted remote broker (envelopes) and a trusted local one (clear\n"
	"payloads).\n"
	"Usage: e2e-bridge -c FILE [--check] [--metrics FILE] [-d]\n\n"
	"  -c, --config FILE  the configuration (docs/BRIDGE.md, "
	"e2e-bridge(1))\n"
	"      --check        read and check FILE and the key files it names,\n"
	"                     print what it bridges, never connect\n"
	"      --metrics FILE write the counters there (Prometheus text\n"
	"                     format) every metrics_interval and at exit\n"
	"  -d, --debug        one line per bridged message\n"
	"  -h, --help         this help\n\n"
	"Events: one line each on stderr, 'event=NAME key=value ...' (refused\n"
	"messages: 'event=refused topic=T rule=R reason=REASON ...'). SIGHUP\n"
	"reloads keys, trust and rules without reconnecting. With 'state\n"
	"redis://...' (and 'group NAME') bridges share one replay state in\n"
	"Redis and bridge each genuine envelope once between them; while it\n"
	"is unreachable QoS 1/2 messages are held, QoS 0 refused as\n"
	"store-unavailable (docs/BRIDGE.md section 5.4). Exit status: 0\n"
	"after SIGINT/SIGTERM or a good --check, 1 on any error.\n";

/* ------------------------------------------------------------------------ */
/* Operations: event lines (bridge_log.h) and counters (bridge_metrics.h)   */
/* ------------------------------------------------------------------------ */

static const struct bridge_rule *rule_for(const struct bridge *b,
					  const struct item *it);

/* The counters of it's rule, those of "none" when no rule claims it. */
static int ops_metric(const struct bridge *b, const struct item *it,
		      const struct bridge_rule **rp)
{
	const struct bridge_rule *r = rule_for(b, it);

	if (rp)
		*rp = r;
	return r ? b->rule_metric[r - b->cfg.rules] : b->none_metric;
}

/* "in FILTER" / "out FILTER", as the counters name rules. */
static const char *ops_rule_name(const struct bridge_rule *r, char *buf,
				 size_t cap)
{
	if (!r)
		return "none";
	snprintf(buf, cap, "%s %s", r->dir == BRIDGE_IN ? "in" : "out",
		 r->dir == BRIDGE_IN ? r->remote_filter : r->local_filter);
	return buf;
}

static const char *side_of(enum bridge_dir dir)
{
	return bridge_side_name(dir == BRIDGE_IN ? SIDE_REMOTE : SIDE_LOCAL);
}

/* Paho's thread: a message not even queued (or not even journaled).
 * detail (the journal's error) may be NULL. */
static void ops_dropped(struct bridge *b, enum bridge_dir dir,
			const char *topic, size_t topic_len,
			const struct cli_message *m, int why,
			const char *detail)
{
	char bytes[24];

	snprintf(bytes, sizeof bytes, "%zu", m->len);
	bridge_metrics_dropped(b->metrics,
			       dir == BRIDGE_IN ? SIDE_REMOTE : SIDE_LOCAL,
			       (enum bridge_drop)why);
	bridge_log("dropped", topic, topic_len, "side", side_of(dir), "reason",
		   bridge_drop_reason((enum bridge_drop)why), "bytes", bytes,
		   "detail", detail, (char *)NULL);
}

/* Refused by e2e_open: the reason, never a byte of the payload. */
static void ops_refused(struct bridge *b, const struct item *it, int rc,
			const struct cli_message *m)
{
	const struct bridge_rule *r;
	int metric = ops_metric(b, it, &r);
	char name[TOPIC_BUF + 8], bytes[24], qos[4];

	snprintf(bytes, sizeof bytes, "%zu", m->len);
	snprintf(qos, sizeof qos, "%d", m->qos);
	bridge_metrics_refused(b->metrics, metric, e2e_reason(rc));
	bridge_log("refused", it->topic, it->topic_len, "rule",
		   ops_rule_name(r, name, sizeof name), "reason",
		   e2e_reason(rc), "detail", e2e_strerror(rc), "bytes", bytes,
		   "qos", qos, "retained", m->retained ? "1" : "0",
		   (char *)NULL);
}

static void ops_duplicate(struct bridge *b, const struct item *it)
{
	const struct bridge_rule *r;
	int metric = ops_metric(b, it, &r);
	char name[TOPIC_BUF + 8];

	bridge_metrics_duplicate(b->metrics, metric);
	bridge_debug("duplicate", it->topic, it->topic_len, "rule",
		     ops_rule_name(r, name, sizeof name), (char *)NULL);
}

/* Accepted (in) or taken (out) but not bridged. detail may be NULL. */
static void ops_failed(struct bridge *b, const struct item *it,
		       const char *reason, const char *detail)
{
	const struct bridge_rule *r;
	int metric = ops_metric(b, it, &r);
	char name[TOPIC_BUF + 8];

	bridge_metrics_failed(b->metrics, metric, reason);
	if (detail)
		bridge_log("failed", it->topic, it->topic_len, "side",
			   side_of(it->dir), "rule",
			   ops_rule_name(r, name, sizeof name), "reason",
			   reason, "detail", detail, (char *)NULL);
}

static void ops_delivered(struct bridge *b, const struct item *it,
			  const struct bridge_rule *r, const char *to,
			  size_t len, int qos, int retained)
{
	char name[TOPIC_BUF + 8], bytes[24], q[4];

	bridge_metrics_delivered(b->metrics, b->rule_metric[r - b->cfg.rules]);
	if (!cli_debugging())
		return;
	snprintf(bytes, sizeof bytes, "%zu", len);
	snprintf(q, sizeof q, "%d", qos);
	bridge_debug("delivered", it->topic, it->topic_len, "rule",
		     ops_rule_name(r, name, sizeof name), "to", to, "bytes",
		     bytes, "qos", q, "retained", retained ? "1" : "0",
		     (char *)NULL);
}

/* The counters of every rule of cfg, in b->rule_metric: 0, or -1. */
static int ops_rules(struct bridge *b, const struct bridge_config *cfg,
		     int **out)
{
	int *v = calloc((size_t)cfg->rule_count + 1, sizeof *v);

	for (int i = 0; v && i < cfg->rule_count; i++) {
		const struct bridge_rule *r = &cfg->rules[i];

		v[i] = bridge_metrics_rule(b->metrics, r->dir,
					   r->dir == BRIDGE_IN
						   ? r->remote_filter
						   : r->local_filter);
		if (v[i] < 0) {
			free(v);
			v = NULL;
		}
	}
	*out = v;
	return v ? 0 : -1;
}

/* A change of either connection: one line, and the counters. */
static void ops_connections(struct bridge *b)
{
	struct cli_conn *c[SIDE_COUNT] = {b->remote, b->local};

	for (int s = 0; s < SIDE_COUNT; s++) {
		struct cli_conn_state now, *was = &b->seen[s];
		char n[24];

		if (!c[s])
			continue;
		cli_conn_state(c[s], &now);
		if (now.losses != was->losses)
			bridge_log("connection-lost", NULL, 0, "side",
				   bridge_side_name((enum bridge_side_id)s),
				   "cause", now.cause[0] ? now.cause : NULL,
				   (char *)NULL);
		if (now.reconnects != was->reconnects) {
			snprintf(n, sizeof n, "%ld", now.reconnects);
			bridge_log("reconnected", NULL, 0, "side",
				   bridge_side_name((enum bridge_side_id)s),
				   "reconnects", n, (char *)NULL);
		}
		*was = now;
		bridge_metrics_side(b->metrics, (enum bridge_side_id)s,
				    now.reconnects, now.connected);
	}
}

/* state redis://...: whether Redis answers, what waits for it. */
static void ops_state(struct bridge *b)
{
	long outages;
	int up = bridge_shared_reachable(b->shared, &outages);

	bridge_metrics_state(b->metrics, up,
			     (long)bridge_shared_held(b->shared), outages);
}

/* The metrics file and the JSON topic, now. */
static void ops_publish_metrics(struct bridge *b, int at_exit)
{
	char *json;
	size_t len;

	ops_connections(b);
	pthread_mutex_lock(&b->q.mu);
	bridge_metrics_queue(b->metrics, b->q.count, b->q.max);
	pthread_mutex_unlock(&b->q.mu);
	if (b->shared) /* at exit: as teardown saw it last */
		ops_state(b);
	if (b->metrics_path &&
	    bridge_metrics_write(b->metrics, b->metrics_path))
		bridge_log("metrics-failed", NULL, 0, "file", b->metrics_path,
			   "detail", strerror(errno), (char *)NULL);
	if (b->cfg.metrics_topic && b->local && !at_exit &&
	    bridge_metrics_json(b->metrics, &json, &len) == 0) {
		cli_conn_publish(b->local, b->cfg.metrics_topic, json, len, 0,
				 0);
		free(json);
	}
	b->last_metrics = cli_now_ms();
}

/* From the main loop, at most every 100 ms (not per message): connection
 * changes, the watchdog, metrics when they are due. */
static void ops_tick(struct bridge *b)
{
	int64_t now = cli_now_ms();

	if (now - b->last_tick < 100)
		return;
	b->last_tick = now;
	ops_connections(b);
	bridge_notify_watchdog();
	if ((b->metrics_path || b->cfg.metrics_topic) &&
	    cli_now_ms() - b->last_metrics >= b->cfg.metrics_interval * 1000)
		ops_publish_metrics(b, 0);
}

/* ------------------------------------------------------------------------ */
/* Paho's thread: copy into the queue, never wait                           */
/* ------------------------------------------------------------------------ */

static long q_get(const long *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void q_set(long *v, long x)
{
	__atomic_store_n(v, x, __ATOMIC_RELAXED);
}

/* The one lock a queued message costs. */
static void queue_put(struct queue *q, struct item *it)
{
	int wake;

	it->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail[it->dir])
		q->tail[it->dir]->next = it;
	else
		q->head[it->dir] = it;
	q->tail[it->dir] = it;
	q_set(&q->count, q->count + 1);
	wake = q->sleeping & (1 << it->dir);
	if (wake)
		q->sleeping = 0;
	pthread_mutex_unlock(&q->mu);
	/* One wake-up when the main thread waits (found the queue without
	 * work), none per message while it drains. */
	if (wake)
		cli_wake_main();
}

static void enqueue(struct bridge *b, enum bridge_dir dir, const char *topic,
		    size_t topic_len, const struct cli_message *m)
{
	struct queue *q = &b->q;
	struct item *it = NULL;
	int why = -1;              /* enum bridge_drop */
	const char *detail = NULL; /* the journal's error */
	uint64_t jid = 0;
	/* Without the lock (struct queue): queue_put's is the only one. */
	int full = q_get(&q->count) >= q_get(&q->max);

	if ((long)m->len > q_get(&q->payload_max))
		why = DROP_TOO_LARGE;
	else if (full && !(b->journal && m->qos > 0))
		why = DROP_QUEUE_FULL;
	/* Durable before this returns, i.e. before Paho acknowledges it. */
	if (why < 0 && b->journal && m->qos > 0)
		jid = bridge_journal_add(b->journal, dir, topic, topic_len,
					 m->payload, m->len, m->qos,
					 m->retained, m->dup, &why, &detail);
	if (why < 0 &&
	    !(it = malloc(sizeof *it + (full ? 0 : topic_len + 1 + m->len))))
		why = DROP_NOMEM;
	if (why < 0 &&
	    full) { /* a queue full at QoS 1/2: in the journal only */
		*it = (struct item){.dir = dir, .jid = jid, .spilled = 1};
		b->spilled++;
		queue_put(q, it);
		return;
	}
	if (why >= 0) {
		free(it);
		if (jid)
			bridge_journal_mark(b->journal, jid, 'D');
		ops_dropped(b, dir, topic, topic_len, m, why, detail);
		return;
	}
	*it = (struct item){.dir = dir,
			    .topic = (char *)it->data,
			    .topic_len = topic_len,
			    .payload = it->data + topic_len + 1,
			    .len = m->len,
			    .qos = m->qos,
			    .retained = m->retained,
			    .dup = m->dup,
			    .jid = jid};
	memcpy(it->topic, topic, topic_len);
	it->topic[topic_len] = '\0';
	memcpy(it->payload, m->payload, m->len);
	queue_put(q, it);
}

static void on_remote(void *user, const char *topic, size_t topic_len,
		      const struct cli_message *m)
{
	enqueue(user, BRIDGE_IN, topic, topic_len, m);
}

static void on_local(void *user, const char *topic, size_t topic_len,
		     const struct cli_message *m)
{
	enqueue(user, BRIDGE_OUT, topic, topic_len, m);
}

/* The next items (at most room[d], and TAKE_MAX) of one direction whose
 * destination has room (room[d] > 0), the two directions in turn, in
 * out[]: how many, 0 when there is none. */
static size_t dequeue(struct queue *q, const int room[3],
		      struct item *out[TAKE_MAX])
{
	size_t n = 0;

	pthread_mutex_lock(&q->mu);
	for (int k = 0; k < 2 && !n; k++) {
		int d = (q->turn + k) % 2 ? BRIDGE_OUT : BRIDGE_IN;
		struct item *it = q->head[d];

		while (it && n < (size_t)room[d] && n < TAKE_MAX) {
			out[n++] = it;
			it = it->next;
		}
		if (n) {
			q->head[d] = it;
			if (!it)
				q->tail[d] = NULL;
			q_set(&q->count, q->count - (long)n);
			q->turn = (q->turn + k + 1) % 2;
		}
	}
	/* Nothing taken: wake-ups for the ready directions (both empty). */
	q->sleeping =
		n ? 0
		  : (room[BRIDGE_IN] > 0 ? 1 << BRIDGE_IN : 0) |
				(room[BRIDGE_OUT] > 0 ? 1 << BRIDGE_OUT : 0);
	pthread_mutex_unlock(&q->mu);
	return n;
}

static void item_free(struct item *it)
{
	if (it->payload)
		sodium_memzero(it->payload, it->len);
	if (it->spilled) {
		free(it->payload);
		free(it->topic);
	}
	free(it);
}

/* ------------------------------------------------------------------------ */
/* Main thread: open, seal, publish                                         */
/* ------------------------------------------------------------------------ */

static int buffer_room(struct bridge *b, size_t need)
{
	uint8_t *nb;

	if (need <= b->cap)
		return 0;
	if (!(nb = malloc(need)))
		return -1;
	if (b->buf) {
		sodium_memzero(b->buf, b->cap);
		free(b->buf);
	}
	b->buf = nb;
	b->cap = need;
	return 0;
}

/* The first rule of dir whose filter on the side the message came from
 * matches topic. */
static const struct bridge_rule *rule_for(const struct bridge *b,
					  const struct item *it)
{
	for (int i = 0; i < b->cfg.rule_count; i++) {
		const struct bridge_rule *r = &b->cfg.rules[i];
		const char *f = it->dir == BRIDGE_IN ? r->remote_filter
						     : r->local_filter;

		if (r->dir == it->dir && e2e_topic_matches(f, it->topic))
			return r;
	}
	return NULL;
}

static int min_qos(int a, int b)
{
	return a < b ? a : b;
}

/* Nothing more to do for journal message id (0: not journaled). */
static void journal_done(struct bridge *b, uint64_t id)
{
	if (id)
		bridge_journal_mark(b->journal, id, 'D');
}

/* Paho's thread: the other side acknowledged the bridged copy. */
static void on_bridged(void *ctx, uint64_t id, int ok)
{
	(void)ok; /* a refusal was reported; sending it again changes nothing */
	journal_done(ctx, id);
}

/* Publish the bridged copy of it; a journaled one is done when the other
 * side acknowledges it. 0, or -1 (reported). */
static int publish(struct bridge *b, struct cli_conn *c, const struct item *it,
		   const char *topic, const void *data, size_t len, int qos,
		   int retain)
{
	if (!it->jid)
		return cli_conn_publish(c, topic, data, len, qos, retain);
	if (cli_conn_publish_tracked(c, topic, data, len, qos, retain,
				     on_bridged, b, it->jid) == 0)
		return 0;
	if (!cli_stop_requested()) /* else it is bridged at the next start */
		journal_done(b, it->jid);
	return -1;
}

static int unspill(struct bridge *b, struct item *it);

/* remote -> local, once judged: refused, a duplicate, or to be published.
 * 1 with *rp and the local topic in to (to_cap bytes), or 0 (done with,
 * reported). */
static int judge_in(struct bridge *b, const struct item *it, int rc,
		    const struct bridge_rule **rp, char *to, size_t to_cap)
{
	struct cli_message m = {.payload = it->payload,
				.len = it->len,
				.qos = it->qos,
				.retained = it->retained,
				.dup = it->dup};
	const struct bridge_rule *r;

	if (rc == E2E_ERR_REPLAY && it->dup) {
		b->duplicates++; /* a QoS 1/2 redelivery */
		ops_duplicate(b, it);
		journal_done(b, it->jid);
		return 0;
	}
	if (rc != E2E_OK) {
		b->refused++;
		ops_refused(b, it, rc, &m);
		journal_done(b, it->jid);
		return 0;
	}
	b->dirty = 1;
	/* With a shared state, marked as the group accepted it (before the
	 * journal's sync: bridge_shared.h). */
	if (it->jid && !it->opened && !b->shared)
		bridge_journal_mark(b->journal, it->jid, 'O');
	r = rule_for(b, it); /* e2e_open checked the filters */
	if (!r || !bridge_map_topic(it->topic, r->remote_prefix,
				    r->local_prefix, to, to_cap)) {
		b->failed++;
		ops_failed(b, it, "no-mapping",
			   "cannot map the topic to local");
		journal_done(b, it->jid);
		return 0;
	}
	*rp = r;
	return 1;
}

/* remote -> local, accepted: the clear payload (len bytes) on local. */
static void publish_in(struct bridge *b, const struct item *it,
		       const struct bridge_rule *r, const char *to,
		       const uint8_t *plain, size_t len, int retained)
{
	int qos = min_qos(it->qos, r->qos);

	if (publish(b, b->local, it, to, plain, len, qos, retained) == 0) {
		b->delivered++;
		ops_delivered(b, it, r, to, len, qos, retained);
	} else {
		b->failed++;
		ops_failed(b, it, "publish", "local refused the publication");
	}
}

/* What becomes of an "in" message the group's state judged (shared_settle):
 * nothing but what e2e_open accepted reaches local. */
static void settle_in(struct bridge *b, const struct item *it, int rc,
		      const e2e_info *info, const uint8_t *plain,
		      size_t out_len)
{
	const struct bridge_rule *r;
	char local[TOPIC_BUF];

	if (judge_in(b, it, rc, &r, local, sizeof local))
		publish_in(b, it, r, local, plain, out_len, info->retained);
}

/* Seal payload for the remote topic into out (out_cap bytes): 0 with
 * *out_len, or -1 (reported). */
static int seal_out(struct bridge *b, const char *remote, const struct item *it,
		    uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint64_t seq = e2e_sender_next_seq(b->sender);
	int rc;

	if (b->epoch && (rc = e2e_epoch_renew(b->epoch, seq)) != E2E_OK) {
		bridge_log("failed", it->topic, it->topic_len, "reason",
			   "out-state", "file", b->cfg.out_state, "detail",
			   rc == E2E_ERR_IO ? strerror(errno)
					    : e2e_strerror(rc),
			   (char *)NULL);
		ops_failed(b, it, "out-state", NULL);
		return -1;
	}
	rc = e2e_seal(b->sender, b->keys.keyring, remote, it->payload, it->len,
		      it->retained ? E2E_SEAL_RETAINED : 0, out, out_cap,
		      out_len);
	if (rc != E2E_OK) {
		ops_failed(b, it, e2e_reason(rc), e2e_strerror(rc));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* A turn of the main thread, in two phases                                 */
/* ------------------------------------------------------------------------ */

/* The messages a turn takes (at most TAKE_MAX) are first all opened or
 * sealed, and then all published, in order: libsodium and libe2e on one
 * side and Paho's publication on the other are more code together than
 * the first-level instruction cache holds, so one message after the other
 * each evicted the other every message (docs/PERFORMANCE.md, "A turn of
 * the main thread in two phases"). What phase 1 makes waits in b->buf for
 * phase 2, RUN_BYTES of it at most (a single larger message has the
 * buffer to itself). */
#define RUN_BYTES (256 * 1024)

/* A message between the two phases: its bridged copy at b->buf + at (len
 * bytes, then its topic on the other side from b->buf + topic_at), r NULL
 * when phase 1 is done with it (refused, a duplicate, failed). */
struct ready {
	struct item *it;
	const struct bridge_rule *r;
	size_t need; /* its room in b->buf: ready_need */
	size_t at, len, topic_at;
	int retained; /* in: as e2e_open found it */
};

/* The room a message takes in b->buf: its bridged payload (an opened one
 * is shorter than its envelope; a sealed one E2E_SEALED_MAX), then the
 * topic on the other side (prefix_max: the longest prefix of a rule). */
static size_t ready_need(const struct item *it, size_t prefix_max)
{
	size_t payload = it->dir == BRIDGE_IN ? (it->len ? it->len : 1)
					      : E2E_SEALED_MAX(it->len);

	return payload + it->topic_len + prefix_max + 1;
}

/* Phase 1 of an "in" message: judged by e2e_open into buf (cap bytes for
 * the payload and to_cap for the local topic after it; buf NULL: no
 * memory). */
static void ready_in(struct bridge *b, struct ready *p, uint8_t *buf,
		     size_t cap, size_t to_cap)
{
	const struct item *it = p->it;
	e2e_info info = {0};
	e2e_receiver rcv = b->rcv;
	int rc;

	p->r = NULL;
	if (!buf) { /* not judged: the guard does not hold it */
		b->failed++;
		ops_failed(b, it, "out-of-memory", "cannot open");
		journal_done(b, it->jid);
		return;
	}
	/* Accepted once before a crash (its O mark): the guard may already
	 * hold it; everything else is checked again. */
	if (it->opened)
		rcv.guard = NULL;
	if (memchr(it->topic, '\0', it->topic_len))
		rc = E2E_ERR_TOPIC; /* a NUL inside the topic name */
	else
		rc = e2e_open(&rcv, it->topic, it->payload, it->len,
			      it->retained ? E2E_DELIVERY_RETAINED : 0, buf,
			      cap, &p->len, &info);
	p->retained = info.retained;
	if (!judge_in(b, it, rc, &p->r, (char *)buf + cap, to_cap)) {
		p->r = NULL;
		sodium_memzero(buf, p->len);
	}
}

/* Phase 1 of an "out" message: sealed for the remote topic name into buf,
 * or said why not. */
static void ready_out(struct bridge *b, struct ready *p, uint8_t *buf,
		      size_t cap, size_t to_cap)
{
	const struct item *it = p->it;
	const struct bridge_rule *r = NULL;
	char *remote = buf ? (char *)buf + cap : NULL;

	p->r = NULL;
	p->len = 0;
	if (memchr(it->topic, '\0', it->topic_len) || !(r = rule_for(b, it)) ||
	    !remote ||
	    !bridge_map_topic(it->topic, r->local_prefix, r->remote_prefix,
			      remote, to_cap)) {
		b->failed++;
		if (!remote && r) /* no memory for it */
			ops_failed(b, it, "out-of-memory", "cannot seal");
		else
			ops_failed(b, it, "no-rule", "matches no out rule");
		journal_done(b, it->jid);
		return;
	}
	/* Clearing a retained message: MQTT wants it empty, unsealed. */
	if ((it->len || !it->retained) &&
	    seal_out(b, remote, it, buf, cap, &p->len)) {
		b->failed++;
		journal_done(b, it->jid);
		return;
	}
	p->r = r;
	p->retained = it->retained;
}

/* local -> remote, sealed: the envelope (len bytes) on remote. */
static void publish_out(struct bridge *b, const struct item *it,
			const struct bridge_rule *r, const char *to,
			const uint8_t *env, size_t len)
{
	int qos = min_qos(it->qos, r->qos);

	if (publish(b, b->remote, it, to, env, len, qos, it->retained) == 0) {
		b->sealed++;
		ops_delivered(b, it, r, to, it->len, qos, it->retained);
	} else {
		b->failed++;
		ops_failed(b, it, "publish", "remote refused the publication");
	}
}

/* Phase 2: each message phase 1 made ready, published in order, then
 * wiped: an opened payload is clear, and so is a mac-suite envelope's. */
static void publish_ready(struct bridge *b, struct ready *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *data = b->buf + p[i].at;
		const char *to = (const char *)b->buf + p[i].topic_at;

		if (!p[i].r)
			continue;
		if (p[i].it->dir == BRIDGE_IN)
			publish_in(b, p[i].it, p[i].r, to, data, p[i].len,
				   p[i].retained);
		else
			publish_out(b, p[i].it, p[i].r, to, data, p[i].len);
		sodium_memzero(data, p[i].len);
	}
}

/* The longest prefix of a rule, either side. */
static size_t prefix_max(const struct bridge_config *cfg)
{
	size_t m = 0;

	for (int i = 0; i < cfg->rule_count; i++) {
		size_t l = strlen(cfg->rules[i].local_prefix);
		size_t r = strlen(cfg->rules[i].remote_prefix);

		m = l > m ? l : m;
		m = r > m ? r : m;
	}
	return m;
}

/* The messages of one turn (one direction, in order, their destination
 * has room for all), bridged and freed: phase 1 for as many as RUN_BYTES
 * hold, then phase 2 for them, and so on. */
static void bridge_turn(struct bridge *b, struct item *const *its, size_t n)
{
	struct ready p[TAKE_MAX];
	const size_t pm = prefix_max(&b->cfg);
	size_t k = 0;

	for (size_t i = 0; i < n; i++) /* spilled: read back, or dropped */
		if (unspill(b, its[i]))
			journal_done(b, its[i]->jid);
		else
			p[k++] = (struct ready){.it = its[i],
						.need = ready_need(its[i], pm)};
	for (size_t i = 0, end; i < k; i = end) {
		size_t total = p[i].need;
		int nomem;

		for (end = i + 1; end < k && total + p[end].need <= RUN_BYTES;
		     end++)
			total += p[end].need;
		nomem = buffer_room(b, total);
		for (size_t j = i, at = 0; j < end; j++) {
			size_t need = p[j].need;
			size_t to_cap = p[j].it->topic_len + pm + 1;
			uint8_t *buf = nomem ? NULL : b->buf + at;

			p[j].at = at;
			p[j].topic_at = at + need - to_cap;
			if (p[j].it->dir == BRIDGE_IN)
				ready_in(b, &p[j], buf, need - to_cap, to_cap);
			else
				ready_out(b, &p[j], buf, need - to_cap, to_cap);
			at += need;
		}
		publish_ready(b, p + i, end - i);
	}
	for (size_t i = 0; i < n; i++)
		item_free(its[i]);
}
/* ------------------------------------------------------------------------ */
/* state redis://...: "in" judged by the group's state (bridge_shared.h)    */
/* ------------------------------------------------------------------------ */

static void shared_accepted(void *ctx, void *item)
{
	struct bridge *b = ctx;
	const struct item *it = item;

	if (it->jid && !it->opened)
		bridge_journal_mark(b->journal, it->jid, 'O');
}

/* The O marks on disk before the batch is published: Redis has recorded
 * them for the group, a restart must not judge them again. */
static void shared_sync(void *ctx)
{
	struct bridge *b = ctx;

	if (b->journal && bridge_journal_sync(b->journal))
		bridge_log("journal-failed", NULL, 0, "file", b->cfg.journal,
			   "detail", strerror(errno), (char *)NULL);
}

static void shared_settle(void *ctx, void *item, int rc, const e2e_info *info,
			  const uint8_t *plain, size_t plain_len)
{
	settle_in(ctx, item, rc, info, plain, plain_len);
	item_free(item);
}

/* At exit: a held message stays in the journal (bridged at the next
 * start); without one it is lost, and counted. */
static void shared_release(void *ctx, void *item)
{
	struct bridge *b = ctx;
	struct item *it = item;

	if (!it->jid)
		b->held_lost++;
	item_free(it);
}

/* "in" messages taken at once (at most a batch), handed to the group's
 * judgement, which takes them. */
static void shared_in(struct bridge *b, struct item *const *its, size_t count)
{
	struct bridge_shared_msg m[BRIDGE_SHARED_BATCH];
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		struct item *it = its[i];

		if (unspill(b, it)) {
			journal_done(b, it->jid);
			item_free(it);
			continue;
		}
		m[n++] = (struct bridge_shared_msg){.item = it,
						    .topic = it->topic,
						    .topic_len = it->topic_len,
						    .payload = it->payload,
						    .len = it->len,
						    .qos = it->qos,
						    .retained = it->retained,
						    .opened = it->opened};
	}
	if (n)
		bridge_shared_judge(b->shared, &b->rcv, m, n);
}

/* ------------------------------------------------------------------------ */
/* Keys, guard, sender                                                      */
/* ------------------------------------------------------------------------ */

/* The key files named by the configuration, as keys.c loads them. */
static int load_keys(const struct bridge_config *cfg, struct cli_keys *keys,
		     int with_signer)
{
	struct cli_config kc;
	e2e_key_info info;
	int rc;

	memset(&kc, 0, sizeof kc);
	kc.keyring_path = cfg->keyring;
	kc.trust_path = cfg->trust;
	kc.sign_path = with_signer ? cfg->signer : NULL;
	kc.sign_pass_file = cfg->signer_pass_file;
	if ((rc = cli_keys_load(&kc, keys)))
		return rc;
	if (cfg->out_count && e2e_keyring_primary(keys->keyring, &info)) {
		cli_file_msg("keyring", cfg->keyring, 0,
			     "no primary key to seal 'out' messages with");
		cli_keys_free(keys);
		return -1;
	}
	return 0;
}

static int guard_setup(struct bridge *b)
{
	const struct bridge_config *cfg = &b->cfg;
	e2e_guard_opts o;

	e2e_guard_opts_default(&o);
	if (cfg->max_age > 0)
		o.max_age = (uint32_t)cfg->max_age;
	if (cfg->max_skew >= 0)
		o.max_skew = (uint32_t)cfg->max_skew;
	if (cfg->window > 0)
		o.window = (uint32_t)cfg->window;
	o.max_retained_age = (uint32_t)cfg->max_retained_age;
	if (cli_state_is_url(cfg->state)) {
		const struct bridge_shared_cb cb = {b, shared_accepted,
						    shared_sync, shared_settle,
						    shared_release};

		if (cfg->window <= 0) /* a group's (docs/GROUPS.md) */
			o.window = CLI_SHARED_WINDOW_DEFAULT;
		return bridge_shared_connect(&b->shared, cfg, &o, &cb);
	}
	return cli_guard_open(&b->guard, &o, cfg->state);
}

static int guard_save(struct bridge *b)
{
	if (!b->cfg.state || !b->dirty || b->shared) /* Redis keeps it */
		return 0;
	if (cli_guard_save(b->guard, b->cfg.state) != 0)
		return -1;
	b->dirty = 0;
	return 0;
}

/* The sender of "out": its epoch from out_state (e2e_epoch_reserve, locked
 * for the whole run), else the clock. */
static int sender_setup(struct bridge *b)
{
	e2e_sender_opts so;
	uint64_t first = 0;
	long holder = 0;
	int rc;

	if (b->cfg.out_state) {
		rc = e2e_epoch_reserve(&b->epoch, b->cfg.out_state, &first,
				       &holder);
		if (rc == E2E_ERR_LOCKED) {
			cli_err("state file %s is in use by another "
				"publisher (PID %ld)",
				b->cfg.out_state, holder);
			return -1;
		}
		if (rc != E2E_OK) {
			cli_file_err("state file", b->cfg.out_state, 0, rc,
				     NULL);
			return -1;
		}
	}
	memset(&so, 0, sizeof so);
	so.epoch = (uint32_t)(first >> 32);
	so.signer = b->keys.signer;
	if ((rc = e2e_sender_new(&b->sender, &so)) != E2E_OK) {
		cli_err("cannot create sender: %s", e2e_strerror(rc));
		return -1;
	}
	e2e_sender_advance(b->sender, first);
	return 0;
}

/* SIGHUP: keyring and trust file afresh (those cfg names), swapped in only
 * when both load; the signing key and the connections stay. 0, or -1 when
 * the previous keys stay. */
static int reload_keys(struct bridge *b, const struct bridge_config *cfg)
{
	struct cli_keys fresh;

	if (load_keys(cfg, &fresh, 0)) {
		bridge_log("reload-failed", NULL, 0, "file", b->cfg.path,
			   "detail", "keeping the previous keys", (char *)NULL);
		return -1;
	}
	fresh.signer = b->keys.signer;
	b->keys.signer = NULL;
	cli_keys_free(&b->keys);
	b->keys = fresh;
	b->rcv.keyring = fresh.keyring;
	b->rcv.trust = fresh.trust;
	{
		char k[24], t[24];

		snprintf(k, sizeof k, "%zu",
			 fresh.keyring ? e2e_keyring_count(fresh.keyring) : 0);
		snprintf(t, sizeof t, "%zu",
			 fresh.trust ? e2e_trust_count(fresh.trust) : 0);
		bridge_log("reloaded", NULL, 0, "file", b->cfg.path, "keys", k,
			   "signers", t, (char *)NULL);
	}
	return 0;
}

/* The subscriptions of one side: the rules' filters there. */
static char **side_filters(const struct bridge_config *cfg, enum bridge_dir d,
			   int *count, int *qos)
{
	char **f = calloc((size_t)cfg->rule_count + 1, sizeof *f);
	int n = 0;

	*qos = 0;
	for (int i = 0; f && i < cfg->rule_count; i++) {
		const struct bridge_rule *r = &cfg->rules[i];

		if (r->dir != d)
			continue;
		f[n++] = d == BRIDGE_IN ? r->remote_subscription
					: r->local_filter;
		if (r->qos > *qos)
			*qos = r->qos;
	}
	*count = n;
	return f;
}

/* SIGHUP: the whole file again (bridge_reload.h says what may change). A
 * file that does not load, or changes what needs a restart, changes
 * nothing; else keys, rules and subscriptions are swapped in and the
 * connections stay up. */
static void reload(struct bridge *b)
{
	struct retired *old = calloc(1, sizeof *old);
	struct bridge_config *fresh = old ? &old->cfg : NULL;
	char **rf = NULL, **lf = NULL;
	int *rm = NULL, n_in, n_out, q_in, q_out;

	bridge_notify_reloading();
	if (!old || bridge_config_load(fresh, b->cfg.path)) {
		bridge_log("reload-failed", NULL, 0, "file", b->cfg.path,
			   "detail", "keeping the running configuration",
			   (char *)NULL);
		goto keep;
	}
	if (bridge_reload_refused(&b->cfg, fresh))
		goto keep;
	rf = side_filters(fresh, BRIDGE_IN, &n_in, &q_in);
	lf = side_filters(fresh, BRIDGE_OUT, &n_out, &q_out);
	if (!rf || !lf || ops_rules(b, fresh, &rm) || reload_keys(b, fresh))
		goto keep;
	bridge_reload_adopt(&b->cfg, fresh); /* fresh now holds the old */
	free(b->rule_metric);
	b->rule_metric = rm;
	old->remote_filters = b->remote_filters;
	old->local_filters = b->local_filters;
	b->remote_filters = rf;
	b->local_filters = lf;
	b->rcv.filters = (const char *const *)rf;
	b->rcv.filter_count = (size_t)n_in;
	b->rcv.require =
		(b->cfg.require_signature ? E2E_REQUIRE_SIGNATURE : 0) |
		(b->cfg.require_encryption ? E2E_REQUIRE_ENCRYPTION : 0);
	pthread_mutex_lock(&b->q.mu);
	q_set(&b->q.max, b->cfg.queue);
	q_set(&b->q.payload_max, b->cfg.max_payload);
	pthread_mutex_unlock(&b->q.mu);
	cli_conn_resubscribe(b->remote, rf, n_in, q_in);
	cli_conn_resubscribe(b->local, lf, n_out, q_out);
	old->next = b->retired;
	b->retired = old;
	{
		char in[16], out[16];

		snprintf(in, sizeof in, "%d", b->cfg.in_count);
		snprintf(out, sizeof out, "%d", b->cfg.out_count);
		bridge_log("reloaded-rules", NULL, 0, "file", b->cfg.path,
			   "in_rules", in, "out_rules", out, (char *)NULL);
	}
	bridge_notify_reloaded();
	return;
keep:
	free(rf);
	free(lf);
	free(rm);
	if (old)
		bridge_config_free(fresh);
	free(old);
	bridge_notify_reloaded();
}

/* ------------------------------------------------------------------------ */
/* The journal (docs/BRIDGE.md section 5)                                   */
/* ------------------------------------------------------------------------ */

/* At start, each message of the journal: one not done is bridged again
 * (queued first, before either connection is up); an "in" one done is
 * opened once more only to put it into the replay guard, in case the
 * state saved before the crash did not hold it yet. */
static void replay_each(void *user, const struct journal_entry *e)
{
	struct bridge *b = user;
	struct item *it;
	size_t out_len;

	if (e->done) {
		if (e->dir == BRIDGE_IN && !b->shared &&
		    !buffer_room(b, e->len ? e->len : 1) &&
		    e2e_open(&b->rcv, e->topic, e->payload, e->len,
			     e->retained ? E2E_DELIVERY_RETAINED : 0, b->buf,
			     b->cap, &out_len, NULL) == E2E_OK) {
			sodium_memzero(b->buf, out_len);
			b->dirty = 1;
		}
		return;
	}
	if (!(it = calloc(1, sizeof *it))) {
		cli_err("out of memory"); /* it stays in the journal */
		return;
	}
	it->dir = e->dir == BRIDGE_OUT ? BRIDGE_OUT : BRIDGE_IN;
	it->jid = e->id;
	it->spilled = 1;
	b->replayed++;
	queue_put(&b->q, it);
}

/* Open the journal, queue what it holds, and save the replay state before
 * the journal forgets the messages done: 0 or -1 (reported). */
static int journal_setup(struct bridge *b)
{
	const struct bridge_config *cfg = &b->cfg;

	if (!cfg->journal)
		return 0;
	if (bridge_journal_open(&b->journal, cfg->journal, cfg->journal_sync,
				cfg->journal_max, replay_each, b))
		return -1;
	if (guard_save(b) || bridge_journal_compact(b->journal, 1))
		return -1;
	if (b->replayed) {
		char n[24];

		snprintf(n, sizeof n, "%ld", b->replayed);
		bridge_log("journal-replayed", NULL, 0, "file", cfg->journal,
			   "messages", n, "detail",
			   "not acknowledged before the last stop, bridging "
			   "them again",
			   (char *)NULL);
	}
	return 0;
}

/* A spilled item's message, read back from the journal: 0, or -1 (then
 * it is dropped, said why). */
static int unspill(struct bridge *b, struct item *it)
{
	struct journal_entry e;

	if (!it->spilled)
		return 0;
	if (bridge_journal_read(b->journal, it->jid, &e)) {
		char id[24];

		snprintf(id, sizeof id, "%" PRIu64, it->jid);
		bridge_log("dropped", NULL, 0, "side", side_of(it->dir),
			   "reason", bridge_drop_reason(DROP_JOURNAL_FAILED),
			   "id", id, "file", b->cfg.journal, "detail",
			   strerror(errno), (char *)NULL);
		bridge_metrics_dropped(b->metrics,
				       it->dir == BRIDGE_IN ? SIDE_REMOTE
							    : SIDE_LOCAL,
				       DROP_JOURNAL_FAILED);
		return -1;
	}
	it->topic = e.topic;
	it->topic_len = e.topic_len;
	it->payload = e.payload;
	it->len = e.len;
	it->qos = e.qos;
	it->retained = e.retained;
	it->opened = e.opened;
	it->dup = e.dup;
	return 0;
}

/* Every second: the journal on disk before the replay state that may
 * record its O marks, then the journal compacted. */
static void save_state(struct bridge *b)
{
	if (b->journal && bridge_journal_sync(b->journal))
		bridge_log("journal-failed", NULL, 0, "file", b->cfg.journal,
			   "detail", strerror(errno), (char *)NULL);
	if (guard_save(b) == 0 && b->journal)
		bridge_journal_compact(b->journal, 0);
}

/* ------------------------------------------------------------------------ */
/* Running                                                                  */
/* ------------------------------------------------------------------------ */

static int setup(struct bridge *b)
{
	struct bridge_config *cfg = &b->cfg;
	int n_in, n_out, q_in, q_out;

	if (load_keys(cfg, &b->keys, 1) || guard_setup(b) ||
	    (cfg->out_count && sender_setup(b)))
		return -1;
	b->remote_filters = side_filters(cfg, BRIDGE_IN, &n_in, &q_in);
	b->local_filters = side_filters(cfg, BRIDGE_OUT, &n_out, &q_out);
	if (!b->remote_filters || !b->local_filters)
		return -1;
	b->rcv.keyring = b->keys.keyring;
	b->rcv.trust = b->keys.trust;
	b->rcv.guard = b->guard;
	b->rcv.filters = (const char *const *)b->remote_filters;
	b->rcv.filter_count = (size_t)n_in;
	b->rcv.require = (cfg->require_signature ? E2E_REQUIRE_SIGNATURE : 0) |
			 (cfg->require_encryption ? E2E_REQUIRE_ENCRYPTION : 0);
	q_set(&b->q.max, cfg->queue);
	q_set(&b->q.payload_max, cfg->max_payload);
	if (!(b->metrics = bridge_metrics_new()) ||
	    ops_rules(b, cfg, &b->rule_metric) ||
	    (b->none_metric =
		     bridge_metrics_rule(b->metrics, BRIDGE_IN, NULL)) < 0)
		return -1;
	cfg->remote.conn.quiet_events = cfg->local.conn.quiet_events = 1;
	if (journal_setup(b))
		return -1;
	b->remote = cli_conn_new(&cfg->remote.conn, on_remote, b);
	b->local = cli_conn_new(&cfg->local.conn, on_local, b);
	if (!b->remote || !b->local)
		return -1;
	cli_conn_subscribe(b->remote, b->remote_filters, n_in, q_in);
	cli_conn_subscribe(b->local, b->local_filters, n_out, q_out);
	/* Local first: what remote delivers at once goes there. */
	if (cli_conn_connect(b->local) || cli_conn_connect(b->remote))
		return -1;
	{
		char in[16], out[16];

		snprintf(in, sizeof in, "%d", cfg->in_count);
		snprintf(out, sizeof out, "%d", cfg->out_count);
		bridge_log("ready", NULL, 0, "in_rules", in, "out_rules", out,
			   (char *)NULL);
	}
	ops_publish_metrics(b, 0);
	bridge_notify_ready(cfg->in_count, cfg->out_count);
	return 0;
}

/* How long the main thread waits when it has nothing to do (a signal or
 * cli_wake_main ends the wait), in ms: 500, or E2E_BRIDGE_TEST_IDLE_MS for
 * the tests, which make it long so that a lost wake-up shows as a message
 * that does not come (test_bridge.py Wake), not as a 500 ms stall. */
static long idle_wait_ms(void)
{
	const char *v = getenv("E2E_BRIDGE_TEST_IDLE_MS");
	char *end;
	long ms;

	if (!v || !*v)
		return 500;
	ms = strtol(v, &end, 10);
	return *end || ms < 1 || ms > 3600000 ? 500 : ms;
}

static void run(struct bridge *b)
{
	int64_t last_save = cli_now_ms();
	const long idle_ms = idle_wait_ms();
	unsigned drained = 0;

	while (!cli_stop_requested()) {
		/* A side with a full span waits; the other goes on. Up to
		 * TAKE_MAX messages at once, no more than the destination
		 * takes without waiting (a shared state's "in": one batch,
		 * when it has room for one). */
		const int room[3] = {0,
				     b->shared && !bridge_shared_room(b->shared)
					     ? 0
					     : cli_conn_room(b->local),
				     cli_conn_room(b->remote)};
		struct item *its[TAKE_MAX];
		size_t n = dequeue(&b->q, room, its);

		if (n && b->shared && its[0]->dir == BRIDGE_IN) {
			shared_in(b, its, n); /* takes them */
		} else if (n) {
			bridge_turn(b, its, n); /* frees them */
		}
		if (n) {
			/* Signals (SIGHUP, SIGTERM) every 64 messages while
			 * the queue has work, not one system call each. */
			if ((drained += (unsigned)n) >= 64) {
				drained = 0;
				cli_signal_wait(0);
			}
		} else {
			cli_conn_service(b->remote);
			cli_conn_service(b->local);
			cli_signal_wait(bridge_shared_tick(b->shared, &b->rcv,
							   idle_ms));
		}
		if (n && b->shared)
			bridge_shared_tick(b->shared, &b->rcv, 0);
		if (cli_take_hup())
			reload(b);
		ops_tick(b);
		if (cli_now_ms() - last_save >= 1000) {
			save_state(b);
			last_save = cli_now_ms();
		}
	}
}

static int check_only(struct bridge *b)
{
	struct cli_keys keys;

	if (load_keys(&b->cfg, &keys, 1))
		return CLI_EXIT_ERROR;
	cli_keys_free(&keys);
	printf("%s: OK: %d in and %d out rules\n", b->cfg.path, b->cfg.in_count,
	       b->cfg.out_count);
	for (int i = 0; i < b->cfg.rule_count; i++) {
		const struct bridge_rule *r = &b->cfg.rules[i];

		if (r->dir == BRIDGE_IN)
			printf("line %zu: in  remote %s -> local %s, QoS %d\n",
			       r->line, r->remote_subscription, r->local_filter,
			       r->qos);
		else
			printf("line %zu: out local %s -> remote %s, QoS %d\n",
			       r->line, r->local_filter, r->remote_filter,
			       r->qos);
	}
	return CLI_EXIT_OK;
}

/* -c FILE, --check, -d, -h: the config path, or NULL after an exit code
 * was set in *rc. */
static const char *parse_args(int argc, char **argv, int *check, int *rc,
			      const char **metrics)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
		{"metrics", required_argument, NULL, 'M'},
		{"debug", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *path = NULL;
	int c, li = -1;

	*rc = CLI_EXIT_ERROR;
	while ((c = getopt_long(argc, argv, "c:dh", opts, &li)) != -1) {
		if (li >= 0 &&
		    cli_long_option_check(cli_prog(), opts, argv, li))
			return NULL;
		li = -1;
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'C':
			*check = 1;
			break;
		case 'M':
			*metrics = optarg;
			break;
		case 'd':
			cli_report_debug(1);
			break;
		case 'h':
			fputs(usage, stdout);
			*rc = CLI_EXIT_OK;
			return NULL;
		default:
			fputs("Use 'e2e-bridge --help' to see usage.\n",
			      stderr);
			return NULL;
		}
	}
	if (optind < argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return NULL;
	}
	if (!path)
		cli_err("no configuration: give -c FILE (see --help)");
	return path;
}

static void teardown(struct bridge *b, int *rc)
{
	static const int all[3] = {0, TAKE_MAX, TAKE_MAX};
	struct item *its[TAKE_MAX];
	size_t left;
	int ran = b->last_metrics != 0; /* setup went through: ready */

	if (ran) {
		bridge_notify_stopping();
		ops_publish_metrics(b, 0); /* the last JSON */
	}
	/* What Redis is judging now is published before local goes. */
	bridge_shared_finish(b->shared);
	if (b->local && cli_conn_drain(b->local))
		*rc = CLI_EXIT_ERROR;
	if (b->remote && cli_conn_drain(b->remote))
		*rc = CLI_EXIT_ERROR;
	cli_conn_free(b->remote); /* no callback runs after these */
	cli_conn_free(b->local);
	b->remote = b->local = NULL;
	while ((left = dequeue(&b->q, all, its))) /* journaled: next start */
		for (size_t i = 0; i < left; i++)
			item_free(its[i]);
	b->held_exit = (long)bridge_shared_held(b->shared);
	if (b->shared)
		ops_state(b);          /* for the file written at exit */
	bridge_shared_free(b->shared); /* gives back what it holds */
	b->shared = NULL;
	if (b->held_lost) {
		char n[24];

		snprintf(n, sizeof n, "%ld", b->held_lost);
		bridge_log("held-lost", NULL, 0, "state", b->cfg.state,
			   "messages", n, "detail",
			   "held while the shared state was unreachable, never "
			   "judged, not delivered (no journal)",
			   (char *)NULL);
		*rc = CLI_EXIT_ERROR;
	}
	if (b->journal && bridge_journal_sync(b->journal)) {
		bridge_log("journal-failed", NULL, 0, "file", b->cfg.journal,
			   "detail", strerror(errno), (char *)NULL);
		*rc = CLI_EXIT_ERROR;
	}
	if (b->guard && guard_save(b))
		*rc = CLI_EXIT_ERROR;
	else if (b->journal)
		bridge_journal_compact(b->journal, 0);
	bridge_journal_close(b->journal);
	if (b->epoch &&
	    e2e_epoch_release(b->epoch, e2e_sender_next_seq(b->sender))) {
		cli_err("cannot write state file %s: %s", b->cfg.out_state,
			strerror(errno));
		*rc = CLI_EXIT_ERROR;
	}
	if (ran) {
		char n[8][24];

		snprintf(n[0], sizeof n[0], "%ld", b->delivered);
		snprintf(n[1], sizeof n[1], "%ld", b->refused);
		snprintf(n[2], sizeof n[2], "%ld", b->duplicates);
		snprintf(n[3], sizeof n[3], "%ld", b->sealed);
		snprintf(n[4], sizeof n[4], "%ld", b->failed);
		snprintf(n[5], sizeof n[5], "%ld", b->spilled);
		snprintf(n[6], sizeof n[6], "%ld", b->replayed);
		snprintf(n[7], sizeof n[7], "%ld", b->held_exit);
		for (int i = 0; i < SIDE_COUNT; i++) /* both closed now */
			bridge_metrics_side(b->metrics, (enum bridge_side_id)i,
					    b->seen[i].reconnects, 0);
		ops_publish_metrics(b, 1);
		bridge_log("stopped", NULL, 0, "delivered", n[0], "refused",
			   n[1], "duplicates", n[2], "sealed", n[3], "failed",
			   n[4], "journal_only", b->journal ? n[5] : NULL,
			   "replayed", b->journal ? n[6] : NULL, "held",
			   cli_state_is_url(b->cfg.state) ? n[7] : NULL,
			   (char *)NULL);
	}
	if (b->buf) {
		sodium_memzero(b->buf, b->cap);
		free(b->buf);
	}
	e2e_sender_free(b->sender);
	e2e_guard_free(b->guard);
	cli_keys_free(&b->keys);
	free(b->remote_filters);
	free(b->local_filters);
	free(b->rule_metric);
	bridge_metrics_free(b->metrics);
	while (b->retired) {
		struct retired *r = b->retired;

		b->retired = r->next;
		bridge_config_free(&r->cfg);
		free(r->remote_filters);
		free(r->local_filters);
		free(r);
	}
	bridge_config_free(&b->cfg);
	pthread_mutex_destroy(&b->q.mu);
}

int main(int argc, char **argv)
{
	static struct bridge b;
	const char *path;
	int check = 0, rc = CLI_EXIT_ERROR;

	cli_protect_process(); /* no core dump holds a password or payload */
	cli_report_init("e2e-bridge");
	if (e2e_init() != E2E_OK) {
		cli_err("cannot initialise libsodium");
		return CLI_EXIT_ERROR;
	}
	cli_signals_block(); /* before Paho starts its threads */
	pthread_mutex_init(&b.q.mu, NULL);
	if (!(path = parse_args(argc, argv, &check, &rc, &b.metrics_path)))
		goto out;
	rc = CLI_EXIT_ERROR;
	if (bridge_config_load(&b.cfg, path))
		goto out;
	if (check) {
		rc = check_only(&b);
		goto out;
	}
	if (setup(&b) == 0) {
		rc = CLI_EXIT_OK;
		run(&b);
	}
out:
	teardown(&b, &rc);
	return rc;
}
