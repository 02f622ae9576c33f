/*
 * One MQTT connection (Paho MQTTAsync), opaque: connect, subscribe,
 * publish, wait until everything is acknowledged, disconnect. A process
 * may hold several; nothing here is global.
 *
 * Why MQTTAsync rather than MQTTClient: it reconnects by itself, buffers
 * publications while disconnected, acknowledges in its own thread (so a QoS
 * 1/2 publisher never stalls on a full in-flight window while it reads its
 * input) and may be called from its callbacks. Its callbacks run on Paho's
 * thread; what they share with the caller's thread is behind a mutex inside
 * the connection. Only conn.c includes Paho's headers (and props.c,
 * for Paho's property lists).
 *
 * Several connections in one process: our state is per connection, but
 * Paho runs every MQTTAsync client of the process on the same two threads
 * (one sends, one receives and calls back). A callback must therefore never
 * wait: cli_conn_publish may wait for room (CLI_MAX_SPAN) and for that
 * room the acknowledgements of the same receive thread, so a program that
 * forwards from one connection to another (e2e-bridge) hands messages to
 * its own thread and publishes from there, never from on_message.
 *
 * What the connection guarantees (tests/integration/test_faults.py):
 * automatic reconnect, publications buffered while disconnected, a
 * publication Paho gives back unacknowledged (a broken write, a lost
 * connection) sent again from the caller's thread, the same envelope with
 * the same sequence number, and at most CLI_MAX_SPAN publications between
 * the oldest unacknowledged and the newest (conn.c says why).
 */
#ifndef E2E_CLI_CONN_H
#define E2E_CLI_CONN_H

#include <stddef.h>
#include <stdint.h>

/* Protocol versions (the numbers MQTT's CONNECT carries). */
enum cli_mqtt_version { CLI_MQTT_V31 = 3, CLI_MQTT_V311 = 4, CLI_MQTT_V5 = 5 };

/* The lowest TLS version accepted; DEFAULT: the highest both ends support. */
enum cli_tls_version { CLI_TLS_DEFAULT, CLI_TLS_1_0, CLI_TLS_1_1, CLI_TLS_1_2 };

/* How to reach one broker. Borrowed by the connection: the struct and its
 * strings must outlive it. */
struct cli_conn_settings {
	const char *name; /* NULL, or a prefix for its messages ("local") */
	char *host;       /* a name, an IPv4 or IPv6 literal */
	int port;         /* 0: 1883, or 8883 with TLS */
	char *id;
	int keepalive;
	int clean_session;
	char *username;
	char *password;   /* a secret string (passphrase.h) */
	int mqtt_version; /* enum cli_mqtt_version */
	int quiet;        /* no messages about the connection's state */
	int quiet_events; /* none about losing it and reconnecting only: the
			     caller reports them from cli_conn_state */
	/* TLS: any of cafile, capath, certfile turns it on. */
	char *cafile;
	char *capath;
	char *certfile;
	char *keyfile;
	int insecure;    /* skip the server hostname check only */
	int tls_version; /* enum cli_tls_version */
	/* mosquitto's TLS extras (docs/PARITY.md). */
	char *ciphers; /* OpenSSL cipher list (TLS 1.2 and below), or NULL */
	char *alpn;    /* one ALPN protocol name, or NULL */
	int os_certs;  /* trust the system's CAs; turns TLS on by itself */
	/* MQTT 5 session expiry in seconds; -1: as clean_session says (0,
	 * or never with -c), as mosquitto's -x. */
	long session_expiry;
	int max_inflight; /* QoS 1/2 publications in flight; 0: 1024 */
	/* TLS-PSK (psk.h): the key in hex, a secret string, and the identity;
	 * a key turns TLS on and then the server must prove it: a server
	 * certificate alone is never accepted. */
	char *psk;
	char *psk_identity;
	/* -D: MQTT 5 properties for the packets sent (props.h), or NULL. */
	struct cli_props *props;
	/* MQTT 5 subscription options (ignored below MQTT 5): never get
	 * this connection's own publications back; keep the retain flag of
	 * live messages as published (e2e-bridge). */
	int no_local;
	int retain_as_published;
};

/* A message as it arrived. */
struct cli_message {
	const void *payload;
	size_t len;
	int qos;
	int retained;
	int dup;           /* a QoS 1/2 redelivery */
	int msgid;         /* the packet id, 0 at QoS 0 */
	const void *props; /* MQTT 5 properties (Paho's), cli_message_prop() */
};

/* MQTT 5 message properties, by MQTT's own numbers. The broker may change
 * any of them: the envelope authenticates the topic and payload only. */
enum cli_prop {
	CLI_PROP_PAYLOAD_FORMAT = 1,
	CLI_PROP_MESSAGE_EXPIRY = 2,
	CLI_PROP_CONTENT_TYPE = 3,
	CLI_PROP_RESPONSE_TOPIC = 8,
	CLI_PROP_CORRELATION_DATA = 9,
	CLI_PROP_SUBSCRIPTION_ID = 11,
	CLI_PROP_TOPIC_ALIAS = 35,
	CLI_PROP_USER = 38
};

/* One property's value: a number, or bytes (a user property: name too). */
struct cli_prop_value {
	unsigned long num;
	const char *name, *data;
	size_t name_len, len;
};

/* The index-th property `which` of m (0 the first): 1 and *v, or 0 when
 * there is none (always 0 below MQTT 5). Valid while m is. */
int cli_message_prop(const struct cli_message *m, enum cli_prop which,
		     int index, struct cli_prop_value *v);

/* Runs on Paho's thread for every message on a subscribed filter; topic
 * may hold NUL bytes (topic_len says where it ends). */
typedef void (*cli_on_message)(void *user, const char *topic, size_t topic_len,
			       const struct cli_message *m);

/* A copy of m's MQTT 5 properties that outlives on_message (m->props is
 * Paho's and freed when on_message returns), for a message kept to be
 * judged later: NULL when m has none or memory is short (then *failed is
 * 1). Freed by cli_message_props_free (NULL is fine). */
const void *cli_message_props_copy(const struct cli_message *m, int *failed);
void cli_message_props_free(const void *props);

struct cli_conn;

/* A connection not yet connected; on_message may be NULL (a publisher).
 * NULL when the client cannot be made (reported). */
struct cli_conn *cli_conn_new(const struct cli_conn_settings *s,
			      cli_on_message on_message, void *user);
/* Subscribe to count filters at qos on every connection, the first and
 * each automatic reconnect. Call before cli_conn_connect; the filters are
 * borrowed. */
void cli_conn_subscribe(struct cli_conn *c, char *const *filters, int count,
			int qos);
/* Replace the filters of cli_conn_subscribe while connected (e2e-bridge's
 * SIGHUP): subscribe now to those that are new (all of them when qos
 * changed), unsubscribe from those that are gone, and use the new list on
 * every reconnect. The previous list is read by Paho's thread until this
 * returns and possibly during a reconnect racing it: keep it alive as long
 * as the connection. 0, or -1 (reported). */
int cli_conn_resubscribe(struct cli_conn *c, char *const *filters, int count,
			 int qos);
/* Unsubscribe from count filters now (connected; e2e-sub -U, for a
 * persistent session's subscriptions): 0, or -1 (reported). Sent before
 * anything queued after it, a disconnection included. */
int cli_conn_unsubscribe(struct cli_conn *c, char *const *filters, int count);
/* A Last Will for every connection (the first, each reconnect, a client
 * made afresh): the broker publishes payload (len bytes, borrowed: it must
 * outlive c) to topic at qos, retained or not, when a connection ends
 * without a DISCONNECT. on_lost, if not NULL, runs on Paho's thread each
 * time a connection is lost, when the Will may have fired (it must not
 * wait). Call before cli_conn_connect (will.h). */
void cli_conn_set_will(struct cli_conn *c, const char *topic,
		       const void *payload, size_t len, int qos, int retain,
		       void (*on_lost)(void *), void *user);
/* Connect; returns when the first connection (and subscription) is up
 * (0), or when the broker refused it: its CONNACK code (MQTT 3: 1-5; MQTT
 * 5: the reason code, 128 and up), which the tools exit with, as
 * mosquitto's do; or -1 when it failed otherwise or SIGINT/SIGTERM came
 * first. Reported. */
int cli_conn_connect(struct cli_conn *c);
/* Publish one payload (copied) to topic; kept until the broker
 * acknowledges it, sent again if Paho gives it back. Waits while the span
 * is full. Returns 0, or -1 (reported, or interrupted by a signal). */
int cli_conn_publish(struct cli_conn *c, const char *topic, const void *payload,
		     size_t len, int qos, int retain);
/* Called once a tracked publication is done: acknowledged (ok 1; at QoS 0:
 * written), or refused or given up (ok 0, reported). On Paho's thread:
 * must not wait. Never called for a publication still pending when the
 * connection is freed. */
typedef void (*cli_on_published)(void *ctx, uint64_t tag, int ok);
/* cli_conn_publish, and done(ctx, tag, ok) when it is done (e2e-bridge's
 * journal). Not called when it returns -1. */
int cli_conn_publish_tracked(struct cli_conn *c, const char *topic,
			     const void *payload, size_t len, int qos,
			     int retain, cli_on_published done, void *ctx,
			     uint64_t tag);
/* Whether cli_conn_publish would publish without waiting for room (the
 * span): a caller with other work does that first. When it says no, the
 * main thread's cli_signal_wait is woken once there is room again (half
 * the window free). */
int cli_conn_has_room(struct cli_conn *c);
/* How many publications cli_conn_publish takes now without waiting for
 * room (0 as cli_conn_has_room's no, with its wake-up): a caller takes
 * that many messages of its own queue at once. */
int cli_conn_room(struct cli_conn *c);
/* Send again what Paho gave back unacknowledged. Only on the caller's
 * thread, never from a callback; cli_conn_publish and cli_conn_drain do it
 * too, a caller that waits for input calls it now and then. */
void cli_conn_service(struct cli_conn *c);
/* Wait until every publication is acknowledged: 0, or -1 when some were
 * not (reported; SIGINT/SIGTERM leaves a grace period of 3 s). */
int cli_conn_drain(struct cli_conn *c);
/* What happened to the connection so far (e2e-bridge's log and metrics):
 * a copy, taken under the connection's lock. */
struct cli_conn_state {
	int connected;   /* up now (after cli_conn_connect succeeded) */
	long losses;     /* connections lost */
	long reconnects; /* automatic reconnections that succeeded */
	char cause[128]; /* Paho's words for the last loss, or "" */
};
void cli_conn_state(struct cli_conn *c, struct cli_conn_state *st);
/* Publications refused by the broker or given up, so far. */
long cli_conn_failures(struct cli_conn *c);
/* Disconnect cleanly (bounded wait) and free; no callback runs after it.
 * NULL is fine. */
void cli_conn_free(struct cli_conn *c);

#endif /* E2E_CLI_CONN_H */
