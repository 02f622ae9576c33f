/*
 * e2e-bridge with "state redis://..." (docs/BRIDGE.md section 5.4,
 * docs/GROUPS.md): the "in" rules' replay guard is a consumer group's state
 * in Redis (libe2e-redis), so that bridges subscribed to remote as members
 * of one shared subscription ("group NAME": $share/NAME/...) bridge each
 * genuine envelope once between them.
 *
 * The main thread hands over what "in" has queued; each message is
 * verified there (e2e_open without a guard, with the keys of the moment),
 * and those verified, up to BRIDGE_SHARED_BATCH at once, are checked and
 * committed in Redis in one round trip by a thread of its own (the asking
 * thread: it alone uses the e2e_redis connection). The main thread goes
 * on meanwhile ("out", refusals, metrics, SIGHUP, the journal) and settles
 * the batch when the answer comes, in arrival order, as e2e-sub's group
 * path judges (the same verdicts and refusal reasons). While a batch is
 * at Redis the next one waits, at most BRIDGE_SHARED_BATCH messages
 * (bridge_shared_room): what comes after stays in the bridge's queue.
 *
 * Redis unreachable: nothing is delivered unchecked. A QoS 1/2 message is
 * held here (in arrival order; later QoS 1/2 messages wait behind it) and
 * judged again once Redis answers, retried with a backoff from 200 ms to
 * 5 s; with a journal it stays there, not done, so a restart bridges it
 * again. A QoS 0 message is refused as store-unavailable. Once Redis is
 * known unreachable, an arrival is verified at once: a forgery is refused,
 * a QoS 0 one refused as store-unavailable, a QoS 1/2 one held; Redis is
 * asked again only by the retries, so a Redis that does not answer (its
 * timeout, 2 s, per attempt) holds up the messages waiting for it and
 * nothing else.
 *
 * Everything but the round trip is the main thread's: the callbacks run
 * there.
 */
#ifndef E2E_CLI_BRIDGE_SHARED_H
#define E2E_CLI_BRIDGE_SHARED_H

#include <stddef.h>
#include <stdint.h>

#include "bridge_config.h"
#include "e2e.h"

/* Messages judged at once, at most: one round trip to Redis for them. */
#define BRIDGE_SHARED_BATCH 64u

/* Whether url is a state URL libe2e-redis takes, without connecting:
 * E2E_OK, E2E_ERR_INVAL, or E2E_ERR_STORE_UNSUPPORTED in a build without
 * hiredis; *has_password says whether it holds one. */
int bridge_shared_url_check(const char *url, int *has_password);

/* One "in" message handed over: pointers into the bridge's item, which the
 * bridge keeps until the item is handed back (settle or release). */
struct bridge_shared_msg {
	void *item;
	const char *topic; /* topic_len bytes and a NUL */
	size_t topic_len;
	const uint8_t *payload;
	size_t len;
	int qos, retained;
	int opened; /* accepted before a crash (its journal O mark): no check */
};

/* What the bridge does with a verdict. */
struct bridge_shared_cb {
	void *ctx;
	/* Accepted by the group, before any message of its batch is
	 * settled: the journal's O mark. */
	void (*accepted)(void *ctx, void *item);
	/* After the accepted() calls of a batch that made some: the journal
	 * on disk before anything of the batch is published. */
	void (*sync)(void *ctx);
	/* The verdict, in arrival order: E2E_OK with the opened payload
	 * (wiped after the call), else the refusal (plain NULL); the item is
	 * the bridge's again. */
	void (*settle)(void *ctx, void *item, int rc, const e2e_info *info,
		       const uint8_t *plain, size_t plain_len);
	/* A held item given back unjudged (at exit). */
	void (*release)(void *ctx, void *item);
};

struct bridge_shared;

/* Connect to the group's state of cfg (state, state_password,
 * state_cacert...) with guard's rules: 0, or -1 (reported, naming the
 * directive). */
int bridge_shared_connect(struct bridge_shared **out,
			  const struct bridge_config *cfg,
			  const e2e_guard_opts *guard,
			  const struct bridge_shared_cb *cb);
/* Judge n (1 .. BRIDGE_SHARED_BATCH) messages with r's keys and policy
 * (its guard is not used): each is settled, or held. */
void bridge_shared_judge(struct bridge_shared *sh, const e2e_receiver *r,
			 const struct bridge_shared_msg *m, size_t n);
/* Retry the held messages when their time has come (r: the keys of now).
 * Returns how long the caller may wait before calling again, at most
 * wait_ms. */
long bridge_shared_tick(struct bridge_shared *sh, const e2e_receiver *r,
			long wait_ms);
/* Whether "in" may hand over more now (a batch at Redis: at most one
 * batch more waits). NULL: yes. */
int bridge_shared_room(const struct bridge_shared *sh);
/* At a stop, before the connections go: the batch at Redis, if any,
 * waited for (at most the Redis timeout per attempt) and settled, so that
 * what Redis accepted is published. NULL is fine. */
void bridge_shared_finish(struct bridge_shared *sh);
/* Messages held now (and at Redis). */
size_t bridge_shared_held(const struct bridge_shared *sh);
/* What the last call to Redis found: 1 when it answered (or none was made
 * yet), 0 when it did not; *outages (may be NULL): how many times it went
 * from answering to not. For the metrics. */
int bridge_shared_reachable(const struct bridge_shared *sh, long *outages);
/* Give back what is held (release) and disconnect; NULL is fine. */
void bridge_shared_free(struct bridge_shared *sh);

#endif /* E2E_CLI_BRIDGE_SHARED_H */
