/*
 * One MQTT connection on Paho MQTTAsync (conn.h). Everything a connection
 * needs is in its struct cli_conn: a process may hold several.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <MQTTAsync.h>

#include "conn.h"
#include "e2e.h"
#include "props.h"
#include "psk.h"
#include "report.h"
#include "signals.h"

struct cli_pending;

struct cli_conn {
	const struct cli_conn_settings *s;
	MQTTAsync client;
	cli_on_message on_message;
	void *user;
	char *const *filters; /* cli_conn_subscribe */
	int filter_count;
	int sub_qos;
	const MQTTProperties *publish_props; /* -D publish, or NULL */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	int connect_done; /* the first connect finished, well or not */
	int connect_rc;   /* its result: 0 or a Paho/MQTT code */
	int refused;      /* the broker's CONNACK code when it refused, or 0 */
	char connect_err[256];
	int subscribed; /* the first subscription finished */
	int subscribe_failed;
	char subscribe_err[256];
	int disconnect_reason; /* of the broker's last MQTT 5 DISCONNECT */
	long failures;         /* publications refused or given up */
	int disconnected;      /* our disconnect finished */
	struct cli_conn_state state; /* cli_conn_state */
	/* Publications Paho gave back unacknowledged, to send again from the
	 * caller's thread (never from a Paho callback); poisoned: Paho's own
	 * copy of one is corrupt, the client must be made afresh first. */
	struct cli_pending *resend;
	int poisoned;
	/* Every publication not yet acknowledged (those on resend included),
	 * oldest first, numbered in publication order (= the order of the
	 * sequence numbers); unacked counts them. */
	struct cli_pending *oldest, *newest;
	long unacked;
	unsigned long next_order;
	/* cli_conn_set_will: borrowed, NULL: none. */
	const char *will_topic;
	const void *will_payload;
	size_t will_len;
	int will_qos, will_retain;
	void (*on_lost)(void *);
	void *on_lost_user;
	/* Threads in cond_wait_ms: an acknowledgement wakes someone only
	 * when someone waits (for room, or for the drain). */
	int waiters;
	int main_waits; /* cli_conn_has_room said no: wake the main thread */
	/* Acknowledged publications kept for reuse (spare_count of them):
	 * no allocation per message once the window is full. */
	struct cli_pending *spare;
	int spare_count;
	/* Publications finished so far (under mu), and what a waiting caller
	 * last saw of it (watch_stall). */
	unsigned long finished;
	unsigned long seen_finished;
	int64_t progress_ms;
	int nudged;
};

/* "PROG: [NAME: ]message": the settings' name tells connections apart. */
static void conn_err(const struct cli_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void conn_err(const struct cli_conn *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (c->s->name)
		cli_err("%s: %s", c->s->name, msg);
	else
		cli_err("%s", msg);
}

static int tls_version(int v)
{
	switch (v) {
	case CLI_TLS_1_0:
		return MQTT_SSL_VERSION_TLS_1_0;
	case CLI_TLS_1_1:
		return MQTT_SSL_VERSION_TLS_1_1;
	case CLI_TLS_1_2:
		return MQTT_SSL_VERSION_TLS_1_2;
	default:
		return MQTT_SSL_VERSION_DEFAULT;
	}
}

static int is_v5(const struct cli_conn *c)
{
	return c->s->mqtt_version >= CLI_MQTT_V5;
}

/* Paho takes either the MQTT 3 or the MQTT 5 pair of callbacks of a
 * request (options o), by the connection's version; ours are named
 * name and name5. */
#define SET_CALLBACKS(c, o, ok, fail)             \
	do {                                      \
		if (is_v5(c)) {                   \
			(o).onSuccess5 = ok##5;   \
			(o).onFailure5 = fail##5; \
		} else {                          \
			(o).onSuccess = ok;       \
			(o).onFailure = fail;     \
		}                                 \
	} while (0)

/* Wake whoever waits for the connection's state: a thread in
 * cond_wait_ms, and the main thread's cli_signal_wait (a program that
 * sleeps there, e2e-sub or e2e-bridge, then looks at the connection again).
 * For the rare events only (connected, subscribed, a publication to send
 * again): an acknowledgement uses wake_waiters (mu held). */
static void signal_cond(struct cli_conn *c)
{
	pthread_cond_broadcast(&c->cv);
	cli_wake_main();
}

/* An acknowledgement: wake a thread only when one waits for room or for
 * the drain, never the main thread's signal wait (no pthread_kill and no
 * futex per message; mu held). */
static void wake_waiters(struct cli_conn *c)
{
	if (c->waiters)
		pthread_cond_broadcast(&c->cv);
}

/*
 * What mosquitto_pub and mosquitto_sub 2.0.11 say when the broker refuses
 * the connection (libmosquitto's mosquitto_connack_string() for MQTT 3,
 * mosquitto_reason_string() for MQTT 5, whose failure codes these are,
 * CONNACK's and DISCONNECT's); they exit with a CONNACK code, and so do
 * we. NULL for a code neither knows.
 */
static const char *mosquitto_words(int v5, int code)
{
	static const char *const v3[] = {
		NULL,
		"Connection Refused: unacceptable protocol version.",
		"Connection Refused: identifier rejected.",
		"Connection Refused: broker unavailable.",
		"Connection Refused: bad user name or password.",
		"Connection Refused: not authorised."};
	static const struct {
		int code;
		const char *words;
	} v5_words[] = {{0x80, "Unspecified error"},
			{0x81, "Malformed Packet"},
			{0x82, "Protocol Error"},
			{0x83, "Implementation specific error"},
			{0x84, "Unsupported Protocol Version"},
			{0x85, "Client Identifier not valid"},
			{0x86, "Bad User Name or Password"},
			{0x87, "Not authorized"},
			{0x88, "Server unavailable"},
			{0x89, "Server busy"},
			{0x8A, "Banned"},
			{0x8B, "Server shutting down"},
			{0x8C, "Bad authentication method"},
			{0x8D, "Keep Alive timeout"},
			{0x8E, "Session taken over"},
			{0x8F, "Topic Filter invalid"},
			{0x90, "Topic Name invalid"},
			{0x93, "Receive Maximum exceeded"},
			{0x94, "Topic Alias invalid"},
			{0x95, "Packet too large"},
			{0x96, "Message rate too high"},
			{0x97, "Quota exceeded"},
			{0x98, "Administrative action"},
			{0x99, "Payload format invalid"},
			{0x9A, "Retain not supported"},
			{0x9B, "QoS not supported"},
			{0x9C, "Use another server"},
			{0x9D, "Server moved"},
			{0x9E, "Shared Subscriptions not supported"},
			{0x9F, "Connection rate exceeded"},
			{0xA0, "Maximum connect time"},
			{0xA1, "Subscription identifiers not supported"},
			{0xA2, "Wildcard Subscriptions not supported"}};

	if (!v5)
		return code > 0 && code < 6 ? v3[code] : NULL;
	for (size_t i = 0; i < sizeof v5_words / sizeof v5_words[0]; i++)
		if (v5_words[i].code == code)
			return v5_words[i].words;
	return NULL;
}

/* refused: the broker's CONNACK code when it answered no, else 0. */
static void on_connect_result(struct cli_conn *c, int ok, int code, int refused,
			      const char *msg)
{
	pthread_mutex_lock(&c->mu);
	if (!c->connect_done) {
		c->connect_done = 1;
		c->connect_rc = ok ? 0 : (code ? code : -1);
		c->refused = ok ? 0 : refused;
		snprintf(c->connect_err, sizeof c->connect_err, "%s",
			 msg ? msg : "");
	}
	signal_cond(c);
	pthread_mutex_unlock(&c->mu);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	on_connect_result(ctx, 1, 0, 0, NULL);
}

/* MQTT 3: Paho's code is the CONNACK return code (1-5) when the broker
 * refused, negative for its own errors. */
static void on_connect_fail(void *ctx, MQTTAsync_failureData *resp)
{
	int code = resp ? resp->code : -1;
	const char *words = mosquitto_words(0, code);

	if (words)
		on_connect_result(ctx, 0, code, code, words);
	else
		on_connect_result(ctx, 0, code, 0,
				  resp && resp->message
					  ? resp->message
					  : MQTTAsync_strerror(code));
}

static void on_connect_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
	(void)resp;
	on_connect_result(ctx, 1, 0, 0, NULL);
}

/* MQTT 5: a CONNACK refusal is a reason code of 128 or more, which Paho
 * 1.3 puts in code (reasonCode stays 0); its own errors are negative. */
static void on_connect_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	int code =
		resp ? (resp->reasonCode ? (int)resp->reasonCode : resp->code)
		     : -1;
	const char *words = code >= 0x80 ? mosquitto_words(1, code) : NULL;

	if (code >= 0x80)
		on_connect_result(ctx, 0, code, code,
				  words ? words
					: MQTTReasonCode_toString(
						  (enum MQTTReasonCodes)code));
	else
		on_connect_result(ctx, 0, code, 0,
				  resp && resp->message
					  ? resp->message
					  : MQTTAsync_strerror(code));
}

static void on_subscribe_result(struct cli_conn *c, int ok, const char *msg)
{
	pthread_mutex_lock(&c->mu);
	if (ok && c->subscribed)
		cli_debug("subscribed again after reconnecting");
	if (!ok) {
		if (!c->subscribed) {
			c->subscribe_failed = 1;
			snprintf(c->subscribe_err, sizeof c->subscribe_err,
				 "%s", msg);
		} else {
			conn_err(c,
				 "subscription refused after "
				 "reconnecting: %s",
				 msg);
		}
	}
	c->subscribed = 1;
	signal_cond(c);
	pthread_mutex_unlock(&c->mu);
}

/* A subscription of the connection's whole list (subscribe_all), with a
 * copy of the filters for its callbacks: a SIGHUP reload may swap and free
 * the connection's list before the broker answers. */
struct sub_req {
	struct cli_conn *c;
	int count;
	char *filters[];
};

static void sub_req_result(struct sub_req *r, int ok, const char *msg)
{
	struct cli_conn *c = r->c;

	free(r);
	on_subscribe_result(c, ok, msg);
}

static void on_subscribe_ok(void *ctx, MQTTAsync_successData *resp)
{
	struct sub_req *r = ctx;
	int n = r->count;

	/* A granted QoS of 0x80 is a refusal in MQTT 3.1.1. */
	if (resp && n == 1 && resp->alt.qos == 0x80) {
		sub_req_result(r, 0, "not authorized (granted QoS 0x80)");
		return;
	}
	if (resp && n > 1 && resp->alt.qosList) {
		for (int i = 0; i < n; i++) {
			if (resp->alt.qosList[i] == 0x80) {
				char msg[200];
				snprintf(msg, sizeof msg,
					 "refused for %.150s (granted QoS "
					 "0x80)",
					 r->filters[i]);
				sub_req_result(r, 0, msg);
				return;
			}
		}
	}
	sub_req_result(r, 1, NULL);
}

static void on_subscribe_fail(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	sub_req_result(ctx, 0, "refused by the broker");
}

static void on_subscribe_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
	struct sub_req *r = ctx;

	/* Paho fills reasonCode for one topic, the array only for more. */
	if (resp && r->count == 1 && resp->reasonCode >= 0x80) {
		sub_req_result(r, 0, MQTTReasonCode_toString(resp->reasonCode));
		return;
	}
	if (resp && r->count > 1 && resp->alt.sub.reasonCodes) {
		for (int i = 0; i < resp->alt.sub.reasonCodeCount; i++) {
			enum MQTTReasonCodes rc = resp->alt.sub.reasonCodes[i];
			if (rc >= 0x80) {
				char msg[200];
				snprintf(msg, sizeof msg, "%.150s: %s",
					 i < r->count ? r->filters[i] : "?",
					 MQTTReasonCode_toString(rc));
				sub_req_result(r, 0, msg);
				return;
			}
		}
	}
	sub_req_result(r, 1, NULL);
}

static void on_subscribe_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	sub_req_result(ctx, 0,
		       resp && resp->reasonCode
			       ? MQTTReasonCode_toString(resp->reasonCode)
			       : "refused by the broker");
}

/* -D's properties for packet into a request's (Paho copies them). */
static void with_props(MQTTProperties *to, const struct cli_conn *c,
		       enum cli_packet packet)
{
	const MQTTProperties *p = cli_props_for(c->s->props, packet);

	if (p)
		*to = *p;
}

/* -D's SUBSCRIBE properties and the MQTT 5 subscription options into ro
 * for a request of count filters, the first subscriptions as those made
 * on a reload. *so is the list Paho reads for several filters: free it
 * after the request. */
static void with_sub_options(MQTTAsync_responseOptions *ro,
			     const struct cli_conn *c, int count,
			     MQTTSubscribe_options **so)
{
	*so = NULL;
	with_props(&ro->properties, c, CLI_PKT_SUBSCRIBE);
	if (!is_v5(c) || !(c->s->no_local || c->s->retain_as_published))
		return;
	ro->subscribeOptions.noLocal = (unsigned char)c->s->no_local;
	ro->subscribeOptions.retainAsPublished =
		(unsigned char)c->s->retain_as_published;
	/* Paho takes one filter's options from subscribeOptions, several
	 * filters' from the list. */
	if (count > 1 && (*so = calloc((size_t)count, sizeof **so))) {
		for (int i = 0; i < count; i++)
			(*so)[i] = ro->subscribeOptions;
		ro->subscribeOptionsList = *so;
		ro->subscribeOptionsCount = count;
	}
}

static void subscribe_list(struct cli_conn *c, struct sub_req *r, int qos)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int count = r->count;
	int *qoss = calloc((size_t)count, sizeof *qoss);
	MQTTSubscribe_options *so;
	int rc;

	if (!qoss) {
		sub_req_result(r, 0, "out of memory");
		return;
	}
	for (int i = 0; i < count; i++)
		qoss[i] = qos;
	ro.context = r;
	SET_CALLBACKS(c, ro, on_subscribe_ok, on_subscribe_fail);
	with_sub_options(&ro, c, count, &so);
	rc = MQTTAsync_subscribeMany(c->client, count, r->filters, qoss, &ro);
	free(so);
	free(qoss);
	if (rc != MQTTASYNC_SUCCESS)
		sub_req_result(r, 0, MQTTAsync_strerror(rc));
}

/* Subscribes to a copy of the filters as they are now, taken under the
 * lock: cli_conn_resubscribe may change them from the caller's thread,
 * which then frees the old list. */
static void subscribe_all(struct cli_conn *c)
{
	struct sub_req *r = NULL;
	size_t size;
	int count, qos;

	pthread_mutex_lock(&c->mu);
	count = c->filter_count;
	qos = c->sub_qos;
	size = sizeof *r + (size_t)count * sizeof *r->filters;
	for (int i = 0; i < count; i++)
		size += strlen(c->filters[i]) + 1;
	if (count && (r = malloc(size))) {
		char *at = (char *)&r->filters[count];

		r->c = c;
		r->count = count;
		for (int i = 0; i < count; i++) {
			size_t len = strlen(c->filters[i]) + 1;

			r->filters[i] = memcpy(at, c->filters[i], len);
			at += len;
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (r)
		subscribe_list(c, r, qos);
	else if (count)
		on_subscribe_result(c, 0, "out of memory");
}

/* Runs on Paho's thread after every successful connection, the first one
 * and each automatic reconnect: with a clean session the broker forgot our
 * subscriptions, so they are made again every time. */
static void on_connected(void *ctx, char *cause)
{
	struct cli_conn *c = ctx;
	int again = cause && strstr(cause, "reconnect");

	pthread_mutex_lock(&c->mu);
	c->state.connected = 1;
	c->state.reconnects += again;
	pthread_mutex_unlock(&c->mu);
	if (again && !c->s->quiet && !c->s->quiet_events)
		conn_err(c, "reconnected");
	subscribe_all(c);
}

/* The broker's MQTT 5 DISCONNECT: its reason explains what fails next (a
 * subscription refused this way, as ejabberd refuses shared ones). */
static void on_disconnected(void *ctx, MQTTProperties *props,
			    enum MQTTReasonCodes reason)
{
	struct cli_conn *c = ctx;

	(void)props;
	pthread_mutex_lock(&c->mu);
	c->disconnect_reason = (int)reason;
	signal_cond(c);
	pthread_mutex_unlock(&c->mu);
}

static void on_connection_lost(void *ctx, char *cause)
{
	struct cli_conn *c = ctx;

	pthread_mutex_lock(&c->mu);
	c->state.connected = 0;
	c->state.losses++;
	snprintf(c->state.cause, sizeof c->state.cause, "%s",
		 cause ? cause : "");
	pthread_mutex_unlock(&c->mu);
	if (!c->s->quiet && !c->s->quiet_events)
		conn_err(c, "connection lost%s%s; reconnecting",
			 cause ? ": " : "", cause ? cause : "");
	if (c->on_lost)
		c->on_lost(c->on_lost_user);
}

static int on_message_arrived(void *ctx, char *topic, int topic_len,
			      MQTTAsync_message *msg)
{
	struct cli_conn *c = ctx;
	struct cli_message m = {
		.payload = msg->payload,
		.len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0,
		.qos = msg->qos,
		.retained = msg->retained,
		.dup = msg->dup,
		.msgid = msg->msgid,
		.props = &msg->properties};

	/* Paho gives a length only when the topic holds a NUL. */
	if (c->on_message)
		c->on_message(c->user, topic,
			      topic_len > 0 ? (size_t)topic_len : strlen(topic),
			      &m);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return 1;
}

const void *cli_message_props_copy(const struct cli_message *m, int *failed)
{
	MQTTProperties *p;

	*failed = 0;
	/* None (MQTT 3.1.1, or none sent): nothing to copy. */
	if (!m->props || ((const MQTTProperties *)m->props)->count == 0)
		return NULL;
	if (!(p = malloc(sizeof *p))) {
		*failed = 1;
		return NULL;
	}
	*p = MQTTProperties_copy(m->props);
	return p;
}

void cli_message_props_free(const void *props)
{
	MQTTProperties *p = (MQTTProperties *)props;

	if (!p)
		return;
	MQTTProperties_free(p);
	free(p);
}

static int on_ssl_error(const char *str, size_t len, void *ctx)
{
	(void)ctx;
	if (cli_debugging())
		fprintf(stderr, "%s: TLS: %.*s", cli_prog(), (int)len, str);
	return 0;
}

/* Wait on the condition for up to ms milliseconds; mu held. */
static void cond_wait_ms(struct cli_conn *c, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	c->waiters++;
	pthread_cond_timedwait(&c->cv, &c->mu, &ts);
	c->waiters--;
}

int cli_message_prop(const struct cli_message *m, enum cli_prop which,
		     int index, struct cli_prop_value *v)
{
	MQTTProperties *props = (MQTTProperties *)m->props;
	MQTTProperty *p;

	if (!props)
		return 0;
	p = MQTTProperties_getPropertyAt(props, (enum MQTTPropertyCodes)which,
					 index);
	if (!p)
		return 0;
	memset(v, 0, sizeof *v);
	switch (MQTTProperty_getType(p->identifier)) {
	case MQTTPROPERTY_TYPE_BYTE:
		v->num = p->value.byte;
		break;
	case MQTTPROPERTY_TYPE_TWO_BYTE_INTEGER:
		v->num = p->value.integer2;
		break;
	case MQTTPROPERTY_TYPE_FOUR_BYTE_INTEGER:
	case MQTTPROPERTY_TYPE_VARIABLE_BYTE_INTEGER:
		v->num = p->value.integer4;
		break;
	case MQTTPROPERTY_TYPE_UTF_8_STRING_PAIR:
		v->name = p->value.data.data;
		v->name_len = (size_t)p->value.data.len;
		v->data = p->value.value.data;
		v->len = (size_t)p->value.value.len;
		break;
	default: /* strings and binary data */
		v->data = p->value.data.data;
		v->len = (size_t)p->value.data.len;
	}
	return 1;
}

static int uses_tls(const struct cli_conn_settings *set)
{
	return set->cafile || set->capath || set->certfile || set->os_certs ||
	       set->psk;
}

static void make_uri(const struct cli_conn_settings *set, char *uri, size_t cap)
{
	int tls = uses_tls(set);
	int port = set->port ? set->port : (tls ? 8883 : 1883);

	/* IPv6 literals need brackets in a URI. */
	snprintf(uri, cap,
		 strchr(set->host, ':') ? "%s://[%.512s]:%d" : "%s://%.512s:%d",
		 tls ? "ssl" : "tcp", set->host, port);
}

/* ALPN's wire format: one length byte, then the name (at most 255). */
static void set_alpn(MQTTAsync_SSLOptions *ssl, const char *name,
		     unsigned char *buf)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255)
		return;
	buf[0] = (unsigned char)n;
	memcpy(buf + 1, name, n);
	ssl->protos = buf;
	ssl->protos_len = (unsigned)n + 1;
}

static void set_tls(struct cli_conn *c, MQTTAsync_SSLOptions *ssl,
		    unsigned char *alpn)
{
	const struct cli_conn_settings *set = c->s;

	ssl->trustStore = set->cafile;
	ssl->CApath = set->capath;
	ssl->keyStore = set->certfile;
	ssl->privateKey = set->keyfile;
	ssl->enableServerCertAuth = 1; /* the chain, always */
	ssl->verify = !set->insecure;  /* the host name */
	ssl->sslVersion = tls_version(set->tls_version);
	ssl->ssl_error_cb = on_ssl_error;
	ssl->ssl_error_context = c;
	ssl->enabledCipherSuites = set->ciphers;
	if (set->alpn)
		set_alpn(ssl, set->alpn, alpn);
	if (set->psk) {
		/* No certificate to check the host name against; and no
		 * default CAs, so that only a server holding the key gets
		 * through (Paho's advice for PSK). */
		ssl->ssl_psk_cb = cli_psk_cb;
		ssl->ssl_psk_context = (void *)set;
		ssl->verify = 0;
		ssl->disableDefaultTrustStore = 1;
	}
}

/* The first connection (and subscription): 0, the broker's CONNACK code
 * when it refused, or -1 when it failed otherwise or a signal came first. */
/* Why host does not resolve, or NULL when it does. */
static const char *lookup_error(const char *host)
{
	struct addrinfo hints, *res = NULL;
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc == 0) {
		freeaddrinfo(res);
		return NULL;
	}
	return rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc);
}

static int wait_first_connection(struct cli_conn *c, const char *uri)
{
	const struct cli_conn_settings *set = c->s;
	int result = -1;

	pthread_mutex_lock(&c->mu);
	while (!c->connect_done ||
	       (c->connect_rc == 0 && c->filter_count && !c->subscribed)) {
		cond_wait_ms(c, 100);
		if (cli_interrupted()) {
			pthread_mutex_unlock(&c->mu);
			return -1;
		}
	}
	if (c->connect_rc != 0 && c->refused) {
		if (!set->quiet)
			conn_err(c, "cannot connect to %s: %s (%s %d)", uri,
				 c->connect_err,
				 is_v5(c) ? "reason code"
					  : "CONNACK return code",
				 c->refused);
		result = c->refused;
	} else if (c->connect_rc != 0) {
		/* Paho says "Failure" for a name that does not resolve:
		 * mosquitto's words ("Lookup error") and the resolver's. */
		const char *lookup = lookup_error(set->host);

		if (!set->quiet && lookup)
			conn_err(c, "cannot connect to %s: Lookup error (%s)",
				 uri, lookup);
		else if (!set->quiet)
			conn_err(c, "cannot connect to %s: %s", uri,
				 c->connect_err);
	} else if (c->subscribe_failed && c->disconnect_reason >= 0x80) {
		const char *words = mosquitto_words(1, c->disconnect_reason);

		conn_err(c,
			 "subscription refused: the broker disconnected: %s "
			 "(reason code %d)",
			 words ? words
			       : MQTTReasonCode_toString(
					 (enum MQTTReasonCodes)
						 c->disconnect_reason),
			 c->disconnect_reason);
	} else if (c->subscribe_failed) {
		conn_err(c, "subscription refused: %s", c->subscribe_err);
	} else {
		result = 0;
	}
	pthread_mutex_unlock(&c->mu);
	if (result == 0)
		cli_debug("connected%s",
			  c->filter_count ? " and subscribed" : "");
	return result;
}

static int create_client(struct cli_conn *c, const char *uri)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	int rc;

	/* Publications made while the connection is down wait in memory. */
	co.sendWhileDisconnected = 1;
	co.maxBufferedMessages = 100000;
	co.MQTTVersion = c->s->mqtt_version >= CLI_MQTT_V5
				 ? MQTTVERSION_5
				 : MQTTVERSION_DEFAULT;
	rc = MQTTAsync_createWithOptions(&c->client, uri, c->s->id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL,
					 &co);
	if (rc != MQTTASYNC_SUCCESS) {
		conn_err(c, "cannot create MQTT client for %s: %s", uri,
			 MQTTAsync_strerror(rc));
		c->client = NULL;
		return -1;
	}
	/* Debian's Paho is built without PAHO_HIGH_PERFORMANCE: below the
	 * error level it records an entry in its in-memory trace, under a
	 * global mutex, for every function it enters. Errors only, unless the
	 * user asked Paho for a trace with its own switches (e2e-pub(1),
	 * ENVIRONMENT). Set after creating the client: Paho reads those when
	 * the first client is made. */
	if (!getenv("MQTT_C_CLIENT_TRACE") &&
	    !getenv("MQTT_C_CLIENT_TRACE_LEVEL"))
		MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
	MQTTAsync_setCallbacks(c->client, c, on_connection_lost,
			       on_message_arrived, NULL);
	MQTTAsync_setConnected(c->client, c, on_connected);
	MQTTAsync_setDisconnected(c->client, c, on_disconnected);
	return 0;
}

void cli_conn_set_will(struct cli_conn *c, const char *topic,
		       const void *payload, size_t len, int qos, int retain,
		       void (*on_lost)(void *), void *user)
{
	c->will_topic = topic;
	c->will_payload = payload;
	c->will_len = len;
	c->will_qos = qos;
	c->will_retain = retain;
	c->on_lost = on_lost;
	c->on_lost_user = user;
}

/* The Will into the connect options (Paho copies it): binary, so
 * struct_version 1 and payload.data/len. */
static void set_will(const struct cli_conn *c, MQTTAsync_connectOptions *opts,
		     MQTTAsync_willOptions *will)
{
	if (!c->will_topic)
		return;
	will->struct_version = 1;
	will->topicName = c->will_topic;
	will->message = NULL;
	will->payload.data = c->will_payload;
	will->payload.len = (int)c->will_len;
	will->qos = c->will_qos;
	will->retained = c->will_retain;
	opts->will = will;
	if (is_v5(c)) { /* -D will ...: as the connection's, unauthenticated */
		const MQTTProperties *p =
			cli_props_for(c->s->props, CLI_PKT_WILL);

		if (p)
			opts->willProperties = (MQTTProperties *)p;
	}
}

/* Start connecting the client (Paho copies the options). */
static int start_connect(struct cli_conn *c, const char *uri)
{
	const struct cli_conn_settings *set = c->s;
	MQTTAsync_connectOptions v3 = MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions v5 = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_connectOptions *opts;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	MQTTAsync_willOptions will = MQTTAsync_willOptions_initializer;
	unsigned char alpn[256];
	int rc;

	if (set->mqtt_version >= CLI_MQTT_V5) {
		const MQTTProperties *user =
			cli_props_for(set->props, CLI_PKT_CONNECT);

		if (user) /* -D connect ... */
			props = MQTTProperties_copy(user);
		opts = &v5;
		opts->cleanstart = set->clean_session;
		opts->onSuccess5 = on_connect_ok5;
		opts->onFailure5 = on_connect_fail5;
		if (!set->clean_session || set->session_expiry > 0) {
			/* As mosquitto's -c: the session never expires, unless
			 * -x says when. */
			MQTTProperty p;
			memset(&p, 0, sizeof p);
			p.identifier =
				MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
			p.value.integer4 =
				set->session_expiry >= 0
					? (unsigned)set->session_expiry
					: 0xFFFFFFFFu;
			MQTTProperties_add(&props, &p);
		}
		if (props.count)
			opts->connectProperties = &props;
	} else {
		opts = &v3;
		opts->cleansession = set->clean_session;
		opts->onSuccess = on_connect_ok;
		opts->onFailure = on_connect_fail;
	}
	opts->MQTTVersion = set->mqtt_version;
	opts->keepAliveInterval = set->keepalive;
	opts->username = set->username;
	opts->password = set->password;
	opts->connectTimeout = 10;
	opts->automaticReconnect = 1;
	opts->minRetryInterval = 1;
	opts->maxRetryInterval = 8;
	opts->maxInflight = set->max_inflight ? set->max_inflight : 1024;
	opts->context = c;
	set_will(c, opts, &will);
	if (uses_tls(set)) {
		set_tls(c, &ssl, alpn);
		opts->ssl = &ssl;
	}

	cli_debug("connecting to %s as %s", uri, set->id);
	rc = MQTTAsync_connect(c->client, opts);
	if (rc != MQTTASYNC_SUCCESS)
		conn_err(c, "cannot connect to %s: %s", uri,
			 MQTTAsync_strerror(rc));
	MQTTProperties_free(&props);
	return rc == MQTTASYNC_SUCCESS ? 0 : -1;
}

struct cli_conn *cli_conn_new(const struct cli_conn_settings *s,
			      cli_on_message on_message, void *user)
{
	struct cli_conn *c = calloc(1, sizeof *c);
	char uri[600];

	if (!c) {
		cli_err("out of memory");
		return NULL;
	}
	c->s = s;
	c->on_message = on_message;
	c->user = user;
	c->publish_props = cli_props_for(s->props, CLI_PKT_PUBLISH);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	make_uri(s, uri, sizeof uri);
	if (create_client(c, uri)) {
		cli_conn_free(c);
		return NULL;
	}
	return c;
}

void cli_conn_subscribe(struct cli_conn *c, char *const *filters, int count,
			int qos)
{
	c->filters = filters;
	c->filter_count = count;
	c->sub_qos = qos;
}

/* One subscription made by cli_conn_resubscribe, for its callbacks (whose
 * response describes it alone, not the connection's whole list). */
struct resub {
	struct cli_conn *c;
	char filter[];
};

static void resub_result(struct resub *r, int granted)
{
	if (granted >= 0x80)
		conn_err(r->c, "subscription to %s refused: %s (%d)", r->filter,
			 granted == 0x80 ? "not authorized" : "by the broker",
			 granted);
	free(r);
}

static void on_resub_ok(void *ctx, MQTTAsync_successData *resp)
{
	resub_result(ctx, resp ? resp->alt.qos : 0);
}

static void on_resub_fail(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	resub_result(ctx, 0x80);
}

static void on_resub_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
	resub_result(ctx, resp ? (int)resp->reasonCode : 0);
}

static void on_resub_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	resub_result(ctx, resp && resp->reasonCode >= 0x80
				  ? (int)resp->reasonCode
				  : 0x80);
}

static void subscribe_one(struct cli_conn *c, const char *filter, int qos)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	size_t len = strlen(filter);
	struct resub *r = malloc(sizeof *r + len + 1);
	MQTTSubscribe_options *so;
	int rc;

	if (!r) {
		conn_err(c, "cannot subscribe to %s: out of memory", filter);
		return;
	}
	r->c = c;
	memcpy(r->filter, filter, len + 1);
	ro.context = r;
	SET_CALLBACKS(c, ro, on_resub_ok, on_resub_fail);
	with_sub_options(&ro, c, 1, &so);
	rc = MQTTAsync_subscribe(c->client, filter, qos, &ro);
	free(so);
	if (rc != MQTTASYNC_SUCCESS) {
		conn_err(c, "cannot subscribe to %s: %s", filter,
			 MQTTAsync_strerror(rc));
		free(r);
	}
}

/* Whether filter is one of the count in list. */
static int listed(char *const *list, int count, const char *filter)
{
	for (int i = 0; i < count; i++)
		if (strcmp(list[i], filter) == 0)
			return 1;
	return 0;
}

int cli_conn_resubscribe(struct cli_conn *c, char *const *filters, int count,
			 int qos)
{
	char *const *old;
	char **drop;
	int old_count, old_qos, n_drop = 0, rc = 0;

	pthread_mutex_lock(&c->mu);
	old = c->filters;
	old_count = c->filter_count;
	old_qos = c->sub_qos;
	c->filters = filters;
	c->filter_count = count;
	c->sub_qos = qos;
	pthread_mutex_unlock(&c->mu);
	if (!(drop = calloc((size_t)old_count + 1, sizeof *drop))) {
		conn_err(c, "cannot change the subscriptions: out of memory");
		return -1;
	}
	for (int i = 0; i < old_count; i++)
		if (!listed(filters, count, old[i]))
			drop[n_drop++] = old[i];
	if (n_drop)
		rc = cli_conn_unsubscribe(c, drop, n_drop);
	free(drop);
	for (int i = 0; i < count; i++)
		if (qos != old_qos || !listed(old, old_count, filters[i]))
			subscribe_one(c, filters[i], qos);
	return rc;
}

int cli_conn_unsubscribe(struct cli_conn *c, char *const *filters, int count)
{
	MQTTAsync_responseOptions o = MQTTAsync_responseOptions_initializer;
	int rc;

	with_props(&o.properties, c, CLI_PKT_UNSUBSCRIBE);
	rc = MQTTAsync_unsubscribeMany(c->client, count, filters, &o);

	if (rc != MQTTASYNC_SUCCESS)
		conn_err(c, "cannot unsubscribe: %s", MQTTAsync_strerror(rc));
	return rc == MQTTASYNC_SUCCESS ? 0 : -1;
}

int cli_conn_connect(struct cli_conn *c)
{
	char uri[600];

	make_uri(c->s, uri, sizeof uri);
	if (start_connect(c, uri))
		return -1;
	return wait_first_connection(c, uri);
}

/*
 * One publication, kept until the broker acknowledges it. Paho discards
 * what is queued or in flight when a connection breaks (even with a
 * persistent session, for commands not yet written); such a publication is
 * sent again, the same envelope with the same sequence number, so nothing
 * is lost. If the broker did get the first copy, the subscriber refuses
 * the second as a replay: at least once, never twice on its stdout.
 */
struct cli_pending {
	struct cli_conn *c;
	struct cli_pending *next;          /* on c->resend */
	struct cli_pending *older, *newer; /* c->oldest ... c->newest */
	unsigned long order;               /* c->next_order when published */
	int qos;
	int retain;
	int attempts;
	cli_on_published done; /* or NULL */
	void *done_ctx;
	uint64_t done_tag;
	size_t len;
	size_t cap;  /* bytes of data: payload, topic and its NUL */
	char *topic; /* points into data, after the payload */
	uint8_t data[];
};

#define CLI_MAX_ATTEMPTS 20

/*
 * A new publication waits while the oldest one not yet acknowledged is this
 * many sequence numbers behind it. After a reconnect Paho 1.3 may
 * retransmit what was in flight after what was queued while disconnected,
 * so an unacknowledged publication can reach the broker after newer ones;
 * a receiver accepts it only inside its replay window (E2E_GUARD_DEFAULT_
 * WINDOW = 256 positions: highest - seq < window). Never letting the
 * newest run 256 or more ahead of the oldest unacknowledged keeps every
 * retransmission inside a default window, so a broker restart loses
 * nothing (docs/HARDENING.md, "Security round 2"). It also bounds memory
 * while the broker is away.
 */
#define CLI_MAX_SPAN E2E_GUARD_DEFAULT_WINDOW

/*
 * The window: at most this many publications from the oldest
 * unacknowledged to the newest. Measured (docs/PERFORMANCE.md, "The
 * publish path"): a smaller one saves Paho's list walks (QoS 1: 68 k
 * instructions a message at 256, 62 k at 10) but stalls on round trips
 * (at 10 or 20, QoS 1 fell to a few thousand messages a second or less;
 * 50 to 256 kept up with mosquitto_pub): the widest the replay window
 * allows, then. Paho's maxInflight (1024, or -M) holds back what is above
 * its own limit.
 */
#define CLI_WINDOW ((unsigned long)CLI_MAX_SPAN)

/* Acknowledged publications kept for reuse: at most a window's worth, of
 * at most this many bytes each (a larger one is freed). */
#define CLI_SPARE_MAX_BYTES 65536

/* A publication joins the unacknowledged list, numbered (mu held). */
static void link_newest(struct cli_conn *c, struct cli_pending *p)
{
	p->order = c->next_order++;
	p->older = c->newest;
	p->newer = NULL;
	if (c->newest)
		c->newest->newer = p;
	else
		c->oldest = p;
	c->newest = p;
	c->unacked++;
}

/* A publication leaves the unacknowledged list (mu held). */
static void forget(struct cli_conn *c, struct cli_pending *p)
{
	if (p->older)
		p->older->newer = p->newer;
	else
		c->oldest = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else
		c->newest = p->older;
	c->unacked--;
}

/* How far the next publication would be ahead of the oldest unacknowledged
 * one (mu held). */
static unsigned long span(const struct cli_conn *c)
{
	return c->oldest ? c->next_order - c->oldest->order : 0;
}

/* Keep a finished publication for the next one, or free it (mu held). */
static void recycle(struct cli_conn *c, struct cli_pending *p)
{
	if (c->spare_count >= (long)CLI_WINDOW ||
	    p->cap > CLI_SPARE_MAX_BYTES) {
		free(p);
		return;
	}
	p->next = c->spare;
	c->spare = p;
	c->spare_count++;
}

/* Done with a publication: acknowledged (ok), or refused by the broker
 * (refused: an MQTT 5 reason code) or lost on the way, reported. */
static void finish(struct cli_pending *p, int ok, int refused, const char *msg)
{
	struct cli_conn *c = p->c;
	/* Taken before the record goes back for reuse. */
	cli_on_published done = p->done;
	void *done_ctx = p->done_ctx;
	uint64_t done_tag = p->done_tag;

	if (!ok)
		conn_err(c, "publish to %s %s: %s", p->topic,
			 refused ? "refused by the broker" : "failed", msg);
	pthread_mutex_lock(&c->mu);
	if (!ok)
		c->failures++;
	c->finished++;
	forget(c, p);
	recycle(c, p);
	/* A publication waiting for room resumes when half the window is
	 * free (one wake-up per half window, not per acknowledgement), the
	 * drain when nothing is left. */
	if (c->unacked == 0 || span(c) <= CLI_WINDOW / 2) {
		wake_waiters(c);
		if (c->main_waits) {
			c->main_waits = 0;
			cli_wake_main();
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (done)
		done(done_ctx, done_tag, ok);
}

/*
 * Runs on Paho's threads, sometimes with Paho's own lock held (a failed
 * write): calling Paho from here would break that lock, so a publication to
 * send again is queued for the caller's thread (cli_conn_service).
 *
 * MQTTASYNC_FAILURE is a socket error while Paho wrote the PUBLISH: Paho
 * 1.3 has then already stored it for retransmission with the session, but
 * frees its topic and payload, so after the reconnect it sends garbage
 * under that packet id; the broker disconnects it as malformed, and again
 * after every reconnect. That client is made afresh before re-sending.
 */
static void pending_done(struct cli_pending *p, int ok, int refused, int code,
			 const char *msg)
{
	struct cli_conn *c = p->c;

	if (!ok && !refused && p->attempts < CLI_MAX_ATTEMPTS &&
	    (code == MQTTASYNC_OPERATION_INCOMPLETE ||
	     code == MQTTASYNC_DISCONNECTED || code == MQTTASYNC_FAILURE)) {
		cli_debug("publication discarded by a disconnection: sending "
			  "it again");
		pthread_mutex_lock(&c->mu);
		if (code == MQTTASYNC_FAILURE && p->qos > 0)
			c->poisoned = 1;
		p->next = c->resend;
		c->resend = p;
		signal_cond(c);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	finish(p, ok, refused, msg);
}

static void on_publish_ok(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	pending_done(ctx, 1, 0, 0, NULL);
}

static void on_publish_fail(void *ctx, MQTTAsync_failureData *resp)
{
	int code = resp ? resp->code : -1;

	pending_done(ctx, 0, 0, code,
		     resp && resp->message ? resp->message
					   : MQTTAsync_strerror(code));
}

static void on_publish_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
	if (resp && resp->reasonCode >= 0x80)
		pending_done(ctx, 0, 1, 0,
			     MQTTReasonCode_toString(resp->reasonCode));
	else
		pending_done(ctx, 1, 0, 0, NULL);
}

static void on_publish_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	int code = resp ? resp->code : -1;

	if (resp && resp->reasonCode >= 0x80)
		pending_done(ctx, 0, 1, code,
			     MQTTReasonCode_toString(resp->reasonCode));
	else
		pending_done(ctx, 0, 0, code, MQTTAsync_strerror(code));
}

/* Hand the publication to Paho (which copies the payload). */
static int send_pending(struct cli_pending *p)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

	p->attempts++;
	msg.payload = p->data;
	msg.payloadlen = (int)p->len;
	msg.qos = p->qos;
	msg.retained = p->retain;
	ro.context = p;
	SET_CALLBACKS(p->c, ro, on_publish_ok, on_publish_fail);
	if (p->c->publish_props) /* -D publish ...; Paho copies them */
		msg.properties = *p->c->publish_props;
	return MQTTAsync_sendMessage(p->c->client, p->topic, &msg, &ro);
}

/* Replace a client whose session Paho corrupted (see pending_done): what
 * it still held comes back through pending_done, to be sent again. */
static void renew_client(struct cli_conn *c)
{
	char uri[600];

	if (!c->s->quiet)
		conn_err(c, "write failed as the connection broke: starting "
			    "the MQTT client afresh");
	MQTTAsync_destroy(&c->client);
	make_uri(c->s, uri, sizeof uri);
	if (create_client(c, uri) == 0 && start_connect(c, uri) != 0) {
		MQTTAsync_destroy(&c->client);
		c->client = NULL;
	}
}

/* Take the re-send queue (queued newest first) in the order Paho gave the
 * publications back, the order of their sequence numbers. */
static struct cli_pending *take_resend(struct cli_conn *c)
{
	struct cli_pending *p, *list = NULL;

	pthread_mutex_lock(&c->mu);
	p = c->resend;
	c->resend = NULL;
	pthread_mutex_unlock(&c->mu);
	while (p) {
		struct cli_pending *next = p->next;

		p->next = list;
		list = p;
		p = next;
	}
	return list;
}

void cli_conn_service(struct cli_conn *c)
{
	struct cli_pending *list, *p;
	int poisoned;

	pthread_mutex_lock(&c->mu);
	poisoned = c->poisoned;
	c->poisoned = 0;
	pthread_mutex_unlock(&c->mu);
	if (poisoned && c->client)
		renew_client(c);
	list = take_resend(c);
	while ((p = list)) {
		int rc;

		/* Before sending: once Paho has it, its thread may finish the
		 * record and hand it back for reuse (recycle). */
		list = p->next;
		rc = c->client ? send_pending(p) : MQTTASYNC_FAILURE;
		if (rc != MQTTASYNC_SUCCESS)
			finish(p, 0, 0, MQTTAsync_strerror(rc));
	}
}

/* Whether a publication of len bytes to topic fits a record: 0, or -1
 * (reported). */
static int pending_fits(struct cli_conn *c, const char *topic, size_t len)
{
	if (len > INT_MAX ||
	    len > SIZE_MAX - sizeof(struct cli_pending) - strlen(topic) - 1) {
		conn_err(c, "message too large");
		return -1;
	}
	return 0;
}

/* The caller's copy of a publication (it fits: pending_fits), in a spare
 * record when one is large enough, or NULL (out of memory; mu held). */
static struct cli_pending *pending_new(struct cli_conn *c, const char *topic,
				       const void *payload, size_t len, int qos,
				       int retain)
{
	size_t tlen = strlen(topic), need = len + tlen + 1;
	struct cli_pending *p = c->spare;

	if (p && p->cap >= need) {
		c->spare = p->next;
		c->spare_count--;
	} else {
		/* Room for a little more, so that the next record of about
		 * this size can reuse it. */
		size_t cap = need < 256 ? 256 : need;

		if (cap <= SIZE_MAX - sizeof *p - 63)
			cap = (cap + 63) & ~(size_t)63;
		if (!(p = malloc(sizeof *p + cap)))
			return NULL;
		p->cap = cap;
	}
	p->c = c;
	p->next = NULL;
	p->qos = qos;
	p->retain = retain;
	p->attempts = 0;
	p->done = NULL;
	p->len = len;
	memcpy(p->data, payload, len);
	p->topic = (char *)p->data + len;
	memcpy(p->topic, topic, tlen + 1);
	return p;
}

/*
 * Paho 1.3's lost write (measured, docs/PERFORMANCE.md "Where the tools
 * waited"): when the socket cannot take a whole PUBLISH, Paho keeps the rest
 * as a pending write, which only its receive thread continues, and its send
 * thread writes nothing more for that connection until then. The receive
 * thread looks at the pending writes only before it blocks (poll: with a
 * zero timeout first, then waits for input alone; select: with the set as
 * it was when it started waiting), for up to 1 s. A QoS 0 publisher gets no
 * input, so a write left pending just after the receive thread blocked waits
 * a second, however soon the broker catches up: a publisher faster than the
 * broker did so every few tens of thousands of messages (with a Paho built
 * with PAHO_HIGH_PERFORMANCE several times a run, the whole difference
 * between it and mosquitto_pub). Nothing in Paho's API wakes that thread;
 * interrupting its poll does (it then sleeps 100 ms and looks again).
 */
#define CLI_STALL_MS 20

/* Start watching for the stall above (mu held). */
static void watch_start(struct cli_conn *c)
{
	c->seen_finished = c->finished;
	c->progress_ms = cli_now_ms();
	c->nudged = 0;
}

/* While waiting for publications to finish (mu held): when none finished
 * for CLI_STALL_MS although the oldest is QoS 0 (finished once written,
 * so no round trip is waited for) and connected, wake Paho's receive
 * thread, once per stall. */
static void watch_stall(struct cli_conn *c)
{
	int64_t now = cli_now_ms();

	if (c->finished != c->seen_finished) {
		watch_start(c);
		return;
	}
	if (c->nudged || !c->oldest || c->oldest->qos != 0 ||
	    !c->state.connected || now - c->progress_ms < CLI_STALL_MS)
		return;
	c->nudged = 1;
	if (cli_nudge_thread("MQTTAsync_rcv"))
		cli_debug("no write finished for %d ms: woke Paho's receive "
			  "thread",
			  CLI_STALL_MS);
}

/* Wait until the span leaves room for one more publication, re-sending
 * meanwhile (mu held): 0, or -1 after SIGINT/SIGTERM. */
static int wait_for_room(struct cli_conn *c)
{
	watch_start(c);
	while (span(c) >= CLI_WINDOW) {
		cond_wait_ms(c, CLI_STALL_MS);
		watch_stall(c);
		if (c->resend) {
			pthread_mutex_unlock(&c->mu);
			cli_conn_service(c);
			pthread_mutex_lock(&c->mu);
		}
		if (cli_interrupted())
			return -1;
	}
	return 0;
}

int cli_conn_publish(struct cli_conn *c, const char *topic, const void *payload,
		     size_t len, int qos, int retain)
{
	return cli_conn_publish_tracked(c, topic, payload, len, qos, retain,
					NULL, NULL, 0);
}

int cli_conn_room(struct cli_conn *c)
{
	unsigned long used;

	pthread_mutex_lock(&c->mu);
	used = span(c);
	c->main_waits = used >= CLI_MAX_SPAN;
	pthread_mutex_unlock(&c->mu);
	return used >= CLI_MAX_SPAN ? 0 : (int)(CLI_MAX_SPAN - used);
}

int cli_conn_has_room(struct cli_conn *c)
{
	return cli_conn_room(c) > 0;
}

int cli_conn_publish_tracked(struct cli_conn *c, const char *topic,
			     const void *payload, size_t len, int qos,
			     int retain, cli_on_published done, void *ctx,
			     uint64_t tag)
{
	struct cli_pending *p;
	int rc;

	if (pending_fits(c, topic, len))
		return -1;
	/* One lock per publication: the re-send queue is looked at under
	 * the same lock as the room and the record. */
	pthread_mutex_lock(&c->mu);
	if (c->resend || c->poisoned) {
		pthread_mutex_unlock(&c->mu);
		cli_conn_service(c);
		pthread_mutex_lock(&c->mu);
	}
	if (wait_for_room(c)) {
		pthread_mutex_unlock(&c->mu);
		return -1;
	}
	if (!(p = pending_new(c, topic, payload, len, qos, retain))) {
		pthread_mutex_unlock(&c->mu);
		conn_err(c, "out of memory");
		return -1;
	}
	p->done = done;
	p->done_ctx = ctx;
	p->done_tag = tag;
	link_newest(c, p);
	pthread_mutex_unlock(&c->mu);

	rc = send_pending(p);
	if (rc != MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&c->mu);
		c->failures++;
		forget(c, p);
		recycle(c, p);
		pthread_mutex_unlock(&c->mu);
		conn_err(c, "cannot publish to %s: %s", topic,
			 MQTTAsync_strerror(rc));
		return -1;
	}
	return 0;
}

int cli_conn_drain(struct cli_conn *c)
{
	/* After SIGINT/SIGTERM, give what is in flight a short grace period;
	 * otherwise wait until a signal says stop. */
	int64_t deadline = cli_stop_requested() ? cli_now_ms() + 3000 : 0;
	long left;

	pthread_mutex_lock(&c->mu);
	watch_start(c);
	while (c->unacked > 0) {
		if (c->resend) {
			pthread_mutex_unlock(&c->mu);
			cli_conn_service(c);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		cond_wait_ms(c, CLI_STALL_MS);
		watch_stall(c);
		if (deadline ? cli_now_ms() >= deadline : cli_interrupted())
			break;
	}
	left = c->unacked;
	pthread_mutex_unlock(&c->mu);
	if (left)
		conn_err(c, "%ld message(s) not acknowledged by the broker",
			 left);
	return left ? -1 : 0;
}

void cli_conn_state(struct cli_conn *c, struct cli_conn_state *st)
{
	pthread_mutex_lock(&c->mu);
	*st = c->state;
	pthread_mutex_unlock(&c->mu);
}

long cli_conn_failures(struct cli_conn *c)
{
	long n;

	pthread_mutex_lock(&c->mu);
	n = c->failures;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static void on_disconnect_done(void *ctx, MQTTAsync_successData *resp)
{
	struct cli_conn *c = ctx;

	(void)resp;
	pthread_mutex_lock(&c->mu);
	c->disconnected = 1;
	signal_cond(c);
	pthread_mutex_unlock(&c->mu);
}

static void on_disconnect_done5(void *ctx, MQTTAsync_successData5 *resp)
{
	(void)resp;
	on_disconnect_done(ctx, NULL);
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	on_disconnect_done(ctx, NULL);
}

static void on_disconnect_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	(void)resp;
	on_disconnect_done(ctx, NULL);
}

/* Disconnect cleanly, waiting at most 3 s for the broker. */
static void disconnect(struct cli_conn *c)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
	int64_t deadline = cli_now_ms() + 3000;

	d.timeout = 1000;
	d.context = c;
	d.struct_version = 1; /* with properties (MQTT 5) */
	with_props(&d.properties, c, CLI_PKT_DISCONNECT);
	SET_CALLBACKS(c, d, on_disconnect_done, on_disconnect_fail);
	if (MQTTAsync_isConnected(c->client) &&
	    MQTTAsync_disconnect(c->client, &d) == MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&c->mu);
		while (!c->disconnected && cli_now_ms() < deadline)
			cond_wait_ms(c, 100);
		pthread_mutex_unlock(&c->mu);
	}
}

void cli_conn_free(struct cli_conn *c)
{
	if (!c)
		return;
	if (c->client) {
		disconnect(c);
		MQTTAsync_destroy(&c->client);
	}
	/* Paho's threads are gone: what is still listed is ours alone. */
	while (c->oldest) {
		struct cli_pending *p = c->oldest;

		forget(c, p);
		free(p);
	}
	while (c->spare) {
		struct cli_pending *p = c->spare;

		c->spare = p->next;
		free(p);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	free(c);
}
