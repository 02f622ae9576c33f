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
#include "conn.h"
#include "guard_state.h"
#include "keys.h"
#include "longopt.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "signals.h"
#include "sub_output.h"

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
};

/* One list per direction (head[BRIDGE_IN]...), so that a side that is down
 * holds up only what goes to it. */
struct queue {
	pthread_mutex_t mu;
	struct item *head[3], *tail[3];
	long count, max, payload_max;
	int turn; /* the direction served first next time */
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
	int dirty; /* guard changed since the last save */
	e2e_sender *sender;
	e2e_epoch_lock *epoch;
	uint8_t *buf; /* opened or sealed payloads */
	size_t cap;
	long delivered, refused, duplicates, sealed, failed;
	struct bridge_journal *journal; /* NULL: no journal */
	long spilled, replayed;
};

static const char usage[] =
	"e2e-bridge: bridge end-to-end protected MQTT messages between an\n"
	"untrusted remote broker (envelopes) and a trusted local one (clear\n"
	"payloads).\n"
	"Usage: e2e-bridge -c FILE [--check] [-d]\n\n"
	"  -c, --config FILE  the configuration (docs/BRIDGE.md, "
	"e2e-bridge(1))\n"
	"      --check        read and check FILE and the key files it names,\n"
	"                     print what it bridges, never connect\n"
	"  -d, --debug        one line per bridged message\n"
	"  -h, --help         this help\n\n"
	"Refused messages: one line on stderr each, 'e2e-bridge: rejected "
	"TOPIC:\nREASON: detail'. SIGHUP reloads keyring and trust file "
	"without\n"
	"reconnecting. Exit status: 0 after SIGINT/SIGTERM or a good --check,\n"
	"1 on any error.\n";

/* ------------------------------------------------------------------------ */
/* Paho's thread: copy into the queue, never wait                           */
/* ------------------------------------------------------------------------ */

static void queue_put(struct queue *q, struct item *it)
{
	pthread_mutex_lock(&q->mu);
	if (q->tail[it->dir])
		q->tail[it->dir]->next = it;
	else
		q->head[it->dir] = it;
	q->tail[it->dir] = it;
	q->count++;
	pthread_mutex_unlock(&q->mu);
	cli_wake_main();
}

static void enqueue(struct bridge *b, enum bridge_dir dir, const char *topic,
		    size_t topic_len, const struct cli_message *m)
{
	struct queue *q = &b->q;
	struct item *it = NULL;
	const char *why = NULL;
	uint64_t jid = 0;
	int full;

	pthread_mutex_lock(&q->mu);
	full = q->count >= q->max;
	pthread_mutex_unlock(&q->mu);
	if ((long)m->len > q->payload_max)
		why = "larger than max_payload";
	else if (full && !(b->journal && m->qos > 0))
		why = "queue full";
	/* Durable before this returns, i.e. before Paho acknowledges it. */
	if (!why && b->journal && m->qos > 0)
		jid = bridge_journal_add(b->journal, dir, topic, topic_len,
					 m->payload, m->len, m->qos,
					 m->retained, m->dup, &why);
	if (!why && !(it = calloc(1, sizeof *it)))
		why = "out of memory";
	if (!why && full) { /* a queue full at QoS 1/2: in the journal only */
		it->dir = dir;
		it->jid = jid;
		it->spilled = 1;
		b->spilled++;
		queue_put(q, it);
		return;
	}
	if (!why) {
		it->topic = malloc(topic_len + 1);
		it->payload = malloc(m->len ? m->len : 1);
		if (!it->topic || !it->payload)
			why = "out of memory";
	}
	if (why) {
		if (it) {
			free(it->topic);
			free(it->payload);
			free(it);
		}
		if (jid)
			bridge_journal_mark(b->journal, jid, 'D');
		cli_err("dropped a message on %s topic %.*s: %s",
			dir == BRIDGE_IN ? "remote" : "local", (int)topic_len,
			topic, why);
		return;
	}
	it->dir = dir;
	memcpy(it->topic, topic, topic_len);
	it->topic[topic_len] = '\0';
	it->topic_len = topic_len;
	memcpy(it->payload, m->payload, m->len);
	it->len = m->len;
	it->qos = m->qos;
	it->retained = m->retained;
	it->dup = m->dup;
	it->jid = jid;
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

/* The next item of a direction whose destination has room (ready[d]),
 * the two directions in turn; NULL when there is none. */
static struct item *dequeue(struct queue *q, const int ready[3])
{
	struct item *it = NULL;

	pthread_mutex_lock(&q->mu);
	for (int k = 0; k < 2 && !it; k++) {
		int d = (q->turn + k) % 2 ? BRIDGE_OUT : BRIDGE_IN;

		if (ready[d] && (it = q->head[d])) {
			q->head[d] = it->next;
			if (!q->head[d])
				q->tail[d] = NULL;
			q->count--;
			q->turn = (q->turn + k + 1) % 2;
		}
	}
	pthread_mutex_unlock(&q->mu);
	return it;
}

static void item_free(struct item *it)
{
	if (it->payload)
		sodium_memzero(it->payload, it->len);
	free(it->payload);
	free(it->topic);
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

/* remote -> local: nothing but what e2e_open accepted reaches local. */
static void bridge_in(struct bridge *b, const struct item *it)
{
	struct cli_message m = {.payload = it->payload,
				.len = it->len,
				.qos = it->qos,
				.retained = it->retained,
				.dup = it->dup};
	const struct bridge_rule *r;
	char local[TOPIC_BUF];
	e2e_info info = {0};
	e2e_receiver rcv = b->rcv;
	size_t out_len = 0;
	int rc;

	/* Accepted once before a crash (its O mark): the guard may already
	 * hold it; everything else is checked again. */
	if (it->opened)
		rcv.guard = NULL;
	if (memchr(it->topic, '\0', it->topic_len))
		rc = E2E_ERR_TOPIC; /* a NUL inside the topic name */
	else if (buffer_room(b, it->len ? it->len : 1))
		rc = E2E_ERR_NOMEM;
	else
		rc = e2e_open(&rcv, it->topic, it->payload, it->len,
			      it->retained ? E2E_DELIVERY_RETAINED : 0, b->buf,
			      b->cap, &out_len, &info);
	if (rc == E2E_ERR_REPLAY && it->dup) {
		b->duplicates++; /* a QoS 1/2 redelivery */
		cli_out_duplicate(it->topic, it->topic_len, &info);
		journal_done(b, it->jid);
		return;
	}
	if (rc != E2E_OK) {
		b->refused++;
		cli_out_rejected(it->topic, it->topic_len, rc, &info, &m);
		journal_done(b, it->jid);
		return;
	}
	b->dirty = 1;
	if (it->jid && !it->opened)
		bridge_journal_mark(b->journal, it->jid, 'O');
	r = rule_for(b, it); /* e2e_open checked the filters */
	if (!r || !bridge_map_topic(it->topic, r->remote_prefix,
				    r->local_prefix, local, sizeof local)) {
		b->failed++;
		cli_err("cannot map remote topic %s to local", it->topic);
		journal_done(b, it->jid);
	} else if (publish(b, b->local, it, local, b->buf, out_len,
			   min_qos(it->qos, r->qos), info.retained) == 0) {
		b->delivered++;
		cli_debug("in %s -> %s (%zu bytes, QoS %d%s)", it->topic, local,
			  out_len, min_qos(it->qos, r->qos),
			  info.retained ? ", retained" : "");
	} else {
		b->failed++;
	}
	sodium_memzero(b->buf, out_len);
}

/* Seal payload for the remote topic: 0 with *out_len, or -1 (reported). */
static int seal_out(struct bridge *b, const char *remote, const struct item *it,
		    size_t *out_len)
{
	uint64_t seq = e2e_sender_next_seq(b->sender);
	int rc;

	if (buffer_room(b, E2E_SEALED_MAX(it->len))) {
		cli_err("cannot seal for %s: out of memory", remote);
		return -1;
	}
	if (b->epoch && (rc = e2e_epoch_renew(b->epoch, seq)) != E2E_OK) {
		cli_err("cannot extend state file %s: %s", b->cfg.out_state,
			rc == E2E_ERR_IO ? strerror(errno) : e2e_strerror(rc));
		return -1;
	}
	rc = e2e_seal(b->sender, b->keys.keyring, remote, it->payload, it->len,
		      it->retained ? E2E_SEAL_RETAINED : 0, b->buf, b->cap,
		      out_len);
	if (rc != E2E_OK) {
		cli_err("cannot seal for %s: %s: %s", remote, e2e_reason(rc),
			e2e_strerror(rc));
		return -1;
	}
	return 0;
}

/* local -> remote: sealed for the remote topic name, or said why not. */
static void bridge_out(struct bridge *b, const struct item *it)
{
	const struct bridge_rule *r = NULL;
	char remote[TOPIC_BUF];
	size_t out_len = 0;
	const void *send = "";

	if (memchr(it->topic, '\0', it->topic_len) || !(r = rule_for(b, it)) ||
	    !bridge_map_topic(it->topic, r->local_prefix, r->remote_prefix,
			      remote, sizeof remote)) {
		b->failed++;
		cli_err("not bridged: local topic %.*s matches no out rule",
			(int)it->topic_len, it->topic);
		journal_done(b, it->jid);
		return;
	}
	/* Clearing a retained message: MQTT wants it empty, unsealed. */
	if (it->len || !it->retained) {
		if (seal_out(b, remote, it, &out_len)) {
			b->failed++;
			journal_done(b, it->jid);
			return;
		}
		send = b->buf;
	}
	if (publish(b, b->remote, it, remote, send, out_len,
		    min_qos(it->qos, r->qos), it->retained) == 0) {
		b->sealed++;
		cli_debug("out %s -> %s (%zu bytes, QoS %d%s)", it->topic,
			  remote, it->len, min_qos(it->qos, r->qos),
			  it->retained ? ", retained" : "");
	} else {
		b->failed++;
	}
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
	return cli_guard_open(&b->guard, &o, cfg->state);
}

static int guard_save(struct bridge *b)
{
	if (!b->cfg.state || !b->dirty)
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

/* SIGHUP: keyring and trust file afresh, swapped in only when both load;
 * the signing key and the connections stay. */
static void reload_keys(struct bridge *b)
{
	struct cli_keys fresh;

	if (load_keys(&b->cfg, &fresh, 0)) {
		cli_err("SIGHUP: keeping the previous keys");
		return;
	}
	fresh.signer = b->keys.signer;
	b->keys.signer = NULL;
	cli_keys_free(&b->keys);
	b->keys = fresh;
	b->rcv.keyring = fresh.keyring;
	b->rcv.trust = fresh.trust;
	cli_err("reloaded keys: %zu in the keyring, %zu trusted signers",
		fresh.keyring ? e2e_keyring_count(fresh.keyring) : 0,
		fresh.trust ? e2e_trust_count(fresh.trust) : 0);
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
		f[n++] = d == BRIDGE_IN ? r->remote_filter : r->local_filter;
		if (r->qos > *qos)
			*qos = r->qos;
	}
	*count = n;
	return f;
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
		if (e->dir == BRIDGE_IN &&
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
	if (b->replayed)
		cli_err("journal %s: %ld message(s) not acknowledged before "
			"the last stop, bridging them again",
			cfg->journal, b->replayed);
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
		cli_err("journal %s: cannot read message %" PRIu64 " back: %s",
			b->cfg.journal, it->jid, strerror(errno));
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
		cli_err("journal %s: %s", b->cfg.journal, strerror(errno));
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
	b->q.max = cfg->queue;
	b->q.payload_max = cfg->max_payload;
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
	cli_err("bridging: %d in, %d out rules", cfg->in_count, cfg->out_count);
	return 0;
}

static void run(struct bridge *b)
{
	int64_t last_save = cli_now_ms();

	while (!cli_stop_requested()) {
		/* A side with a full span waits; the other goes on. */
		const int ready[3] = {0, cli_conn_has_room(b->local),
				      cli_conn_has_room(b->remote)};
		struct item *it = dequeue(&b->q, ready);

		if (it) {
			if (unspill(b, it))
				journal_done(b, it->jid);
			else if (it->dir == BRIDGE_IN)
				bridge_in(b, it);
			else
				bridge_out(b, it);
			item_free(it);
			cli_signal_wait(0);
		} else {
			cli_conn_service(b->remote);
			cli_conn_service(b->local);
			cli_signal_wait(500);
		}
		if (cli_take_hup())
			reload_keys(b);
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
			       r->line, r->remote_filter, r->local_filter,
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
static const char *parse_args(int argc, char **argv, int *check, int *rc)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check", no_argument, NULL, 'C'},
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
	static const int all[3] = {0, 1, 1};
	struct item *it;

	if (b->local && cli_conn_drain(b->local))
		*rc = CLI_EXIT_ERROR;
	if (b->remote && cli_conn_drain(b->remote))
		*rc = CLI_EXIT_ERROR;
	cli_conn_free(b->remote); /* no callback runs after these */
	cli_conn_free(b->local);
	while ((it = dequeue(&b->q, all))) /* journaled: bridged next start */
		item_free(it);
	if (b->journal && bridge_journal_sync(b->journal))
		*rc = CLI_EXIT_ERROR;
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
	cli_debug("%ld delivered to local, %ld refused, %ld redelivered "
		  "duplicates, %ld sealed to remote, %ld not bridged, %ld "
		  "kept in the journal only, %ld replayed from it",
		  b->delivered, b->refused, b->duplicates, b->sealed, b->failed,
		  b->spilled, b->replayed);
	if (b->buf) {
		sodium_memzero(b->buf, b->cap);
		free(b->buf);
	}
	e2e_sender_free(b->sender);
	e2e_guard_free(b->guard);
	cli_keys_free(&b->keys);
	free(b->remote_filters);
	free(b->local_filters);
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
	if (!(path = parse_args(argc, argv, &check, &rc)))
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
