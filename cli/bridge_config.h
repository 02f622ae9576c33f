/*
 * e2e-bridge's configuration file (docs/BRIDGE.md): one directive per line,
 * '#' starts a comment line. "remote" and "local" open the section of one
 * connection; the connection directives (host, port, tls...) belong to the
 * section above them, everything else is global. Rules:
 *
 *   in  FILTER [QOS [LOCAL_PREFIX REMOTE_PREFIX]]
 *   out FILTER [QOS [LOCAL_PREFIX REMOTE_PREFIX]]
 *
 * as mosquitto's "topic" lines ("" for an empty prefix). Every error is
 * reported as FILE:LINE (report.h).
 */
#ifndef E2E_CLI_BRIDGE_CONFIG_H
#define E2E_CLI_BRIDGE_CONFIG_H

#include <stddef.h>

#include "conn.h"

enum bridge_dir { BRIDGE_IN = 1, BRIDGE_OUT = 2 };

struct bridge_rule {
	enum bridge_dir dir;
	int qos;             /* the subscription's, at most the message's */
	char *local_prefix;  /* "" when none */
	char *remote_prefix; /* "" when none */
	char *local_filter;  /* local_prefix + FILTER */
	char *remote_filter; /* remote_prefix + FILTER */
	/* What an "in" rule subscribes to on remote: remote_filter, or
	 * $share/GROUP/remote_filter with "group GROUP". */
	char *remote_subscription;
	size_t line;
};

/* One side: the connection and where its password comes from. */
struct bridge_side {
	struct cli_conn_settings conn;
	char *password_file;
	size_t line; /* of its "remote" / "local" line; 0: missing */
};

struct bridge_config {
	char *path;
	struct bridge_side remote, local;
	/* Keys. */
	char *keyring;
	char *trust;
	char *signer;
	char *signer_pass_file;
	/* State: the replay guard of "in", the sender epoch of "out". */
	char *state;
	char *out_state;
	/* state redis://... or rediss://... (docs/GROUPS.md, bridge_shared.h):
	 * the group's state in Redis. Its password (read from
	 * state_password_file at load, never in the file itself), TLS as
	 * e2e-sub's --state-* options, and the shared subscription of the
	 * "in" rules on remote ($share/GROUP/...). */
	char *state_password_file, *state_password;
	char *state_cacert, *state_cacertdir, *state_cert, *state_key;
	char *state_sni;
	char *group;
	/* Receiver policy and guard options (-1: the library's default). */
	int require_signature;
	int require_encryption;
	long max_age;
	long max_skew;
	long window;
	long max_retained_age; /* 0: no limit */
	/* Limits. */
	long queue;       /* messages waiting between the two sides */
	long max_payload; /* bytes; larger messages are refused */
	/* Delivery (docs/BRIDGE.md section 5): the journal of QoS 1/2
	 * messages, fdatasync'd before each is acknowledged (journal_sync). */
	char *journal;
	int journal_sync;
	long journal_max; /* messages from the oldest not done to the newest */
	/* Operations: the counters as JSON on this local topic (or NULL),
	 * and every this many seconds, --metrics FILE too. */
	char *metrics_topic;
	long metrics_interval;
	struct bridge_rule *rules;
	int rule_count;
	int in_count, out_count;
};

/* Read and check path into cfg: 0, or -1 (every error reported with the
 * file and its line). Rules whose bridged copies could come back (loops)
 * are refused here. cfg is to be freed with bridge_config_free either
 * way. */
int bridge_config_load(struct bridge_config *cfg, const char *path);
void bridge_config_free(struct bridge_config *cfg);

/* Whether some topic name matches both filters. */
int bridge_filters_overlap(const char *a, const char *b);

/* The topic on the other side: topic with from_prefix replaced by
 * to_prefix, in buf; NULL when it does not fit. */
char *bridge_map_topic(const char *topic, const char *from_prefix,
		       const char *to_prefix, char *buf, size_t cap);

#endif /* E2E_CLI_BRIDGE_CONFIG_H */
