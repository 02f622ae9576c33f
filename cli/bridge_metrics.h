/*
 * e2e-bridge's counters (docs/BRIDGE.md section 8): per rule (delivered,
 * refused per reason, redelivered duplicates, not bridged per reason), per
 * side (dropped before the queue per reason, reconnects, connected) and the
 * queue's depth. Written in the Prometheus text exposition format for
 * node_exporter's textfile collector (--metrics FILE, replaced atomically)
 * and as one JSON object (metrics_topic on local).
 *
 * A rule is named "in FILTER" or "out FILTER", FILTER its subscription on
 * the side it reads (the prefix included), so its counters survive a
 * reload that keeps the rule, wherever its line moved. Everything is the
 * main thread's but bridge_metrics_dropped, which Paho's thread calls.
 */
#ifndef E2E_CLI_BRIDGE_METRICS_H
#define E2E_CLI_BRIDGE_METRICS_H

#include <stddef.h>

#include "bridge_config.h"

enum bridge_side_id { SIDE_REMOTE, SIDE_LOCAL, SIDE_COUNT };
enum bridge_drop {
	DROP_QUEUE_FULL,
	DROP_TOO_LARGE,
	DROP_NOMEM,
	DROP_JOURNAL_FULL,   /* journal_max messages not done */
	DROP_JOURNAL_FAILED, /* it cannot be written, or read back */
	DROP_COUNT
};

/* The stable reason word of a drop ("queue-full", "too-large",
 * "out-of-memory", "journal-full", "journal-failed"), as logged and
 * counted. */
const char *bridge_drop_reason(enum bridge_drop why);
/* "remote", "local". */
const char *bridge_side_name(enum bridge_side_id side);

struct bridge_metrics;

/* NULL when out of memory. */
struct bridge_metrics *bridge_metrics_new(void);
void bridge_metrics_free(struct bridge_metrics *m);

/* The counters of the rule reading filter in direction dir, found or made:
 * their index, or -1 (out of memory). filter NULL: the counters of messages
 * no rule claims, named "none". */
int bridge_metrics_rule(struct bridge_metrics *m, enum bridge_dir dir,
			const char *filter);

/* Count one message of rule (an index from bridge_metrics_rule; -1 counts
 * nothing). reason: a stable word (e2e_reason()), borrowed for good. */
void bridge_metrics_delivered(struct bridge_metrics *m, int rule);
void bridge_metrics_duplicate(struct bridge_metrics *m, int rule);
void bridge_metrics_refused(struct bridge_metrics *m, int rule,
			    const char *reason);
void bridge_metrics_failed(struct bridge_metrics *m, int rule,
			   const char *reason);
/* Any thread. */
void bridge_metrics_dropped(struct bridge_metrics *m, enum bridge_side_id side,
			    enum bridge_drop why);
/* The gauges and the reconnect counters, as the caller sees them now. */
void bridge_metrics_side(struct bridge_metrics *m, enum bridge_side_id side,
			 long reconnects, int connected);
void bridge_metrics_queue(struct bridge_metrics *m, long depth, long capacity);
/* With "state redis://..." only (the state's series and JSON object appear
 * from the first call on): whether the store answered its last call, the
 * messages waiting for its verdict (held, and the batch at Redis), how
 * many times it stopped answering. */
void bridge_metrics_state(struct bridge_metrics *m, int reachable, long held,
			  long outages);

/* The Prometheus text, or the JSON object, in a malloc'd NUL-terminated
 * buffer: 0, or -1 (out of memory). */
int bridge_metrics_prometheus(struct bridge_metrics *m, char **out,
			      size_t *len);
int bridge_metrics_json(struct bridge_metrics *m, char **out, size_t *len);
/* Replace path with the Prometheus text atomically (mode 0644): 0, or -1
 * with errno set. */
int bridge_metrics_write(struct bridge_metrics *m, const char *path);

#endif /* E2E_CLI_BRIDGE_METRICS_H */
