/*
 * paho_pub: a plain (no libe2e) Paho MQTTAsync publisher, for the
 * benchmarks only, of e2e-pub's design minus libe2e: each line of stdin is
 * published as it is, where `e2e-pub -l` seals it first. Comparing the two
 * (bench_e2e.py) shows what libe2e costs; comparing it with mosquitto_pub
 * shows what the client library and this design cost.
 *
 *     paho_pub -h HOST -p PORT -t TOPIC [-q QOS] [-M MAX-INFLIGHT] -l < lines
 *
 * What it shares with e2e-pub (cli/e2e-pub.c, publish_lines; cli/conn.c):
 * - the client: MQTTAsync_createWithOptions, sendWhileDisconnected with
 *   100 000 buffered, automatic reconnect, clean session, keepalive 60,
 *   MQTT 3.1.1, Paho's maxInflight 1024 (-M), Paho's trace at errors only
 *   (unless MQTT_C_CLIENT_TRACE or MQTT_C_CLIENT_TRACE_LEVEL is set);
 * - stdin read in 64 KiB chunks, polled with 200 ms timeouts, a zero-time
 *   sigtimedwait for SIGHUP/SIGINT/SIGTERM (blocked in every thread) and a
 *   look at the re-send queue before each read;
 * - per line: one lock, a copy of payload and topic into a publication
 *   record taken from the spare list (no malloc once the window has been
 *   full), numbered and kept until its acknowledgement (QoS 0: until Paho
 *   wrote it), then MQTTAsync_sendMessage with the record as context;
 * - the window: at most CLI_WINDOW = 256 from the oldest unacknowledged to
 *   the newest; a full window waits on a condition variable with 100 ms
 *   timeouts, woken by the acknowledgement that frees half of it (never
 *   one wake-up per acknowledgement);
 * - a publication Paho gives back unacknowledged (a broken write, a lost
 *   connection) is queued and sent again from the main thread;
 * - at the end: wait until nothing is unacknowledged, disconnect (1 s
 *   timeout, waiting at most 3 s), destroy.
 * Left out, not being on the per-message path: TLS, MQTT 5, the Will, the
 * options, and e2e-pub's making a client afresh after Paho corrupted its
 * session (conn.c's poisoned; here such a publication is just sent again).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>

#define WINDOW 256UL /* conn.c's CLI_WINDOW (E2E_GUARD_DEFAULT_WINDOW) */
#define SPARE_MAX_BYTES 65536
#define MAX_ATTEMPTS 20

/* One publication, kept until acknowledged (conn.c's struct cli_pending). */
struct pending {
	struct pending *next;          /* on resend or spare */
	struct pending *older, *newer; /* oldest ... newest */
	unsigned long order;
	int qos;
	int attempts;
	size_t len;
	size_t cap;  /* bytes of data: payload, topic and its NUL */
	char *topic; /* in data, after the payload */
	unsigned char data[];
};

static MQTTAsync client;
static pthread_t main_thread;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
/* Under mu. */
static int connect_done, connect_rc, disconnected, waiters;
static long failures, unacked;
static struct pending *resend, *oldest, *newest, *spare;
static unsigned long next_order;
static long spare_count;
/* The main thread's alone. */
static int stop_requested;

/* ------------------------------------------------------------------------ */
/* Signals (cli/signals.c)                                                  */
/* ------------------------------------------------------------------------ */

static void signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

/* Before Paho starts its threads, so that they inherit the mask. */
static void signals_block(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	main_thread = pthread_self();
}

/* Take a pending signal, waiting up to ms; SIGHUP is taken and ignored
 * (e2e-pub reloads its keyring there). */
static void signal_wait(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	sigset_t set;
	int sig;

	signal_set(&set);
	do
		sig = sigtimedwait(&set, NULL, &ts);
	while (sig < 0 && errno == EINTR);
	if (sig == SIGINT || sig == SIGTERM)
		stop_requested = 1;
}

static int interrupted(void)
{
	signal_wait(0);
	return stop_requested;
}

/* Connected, a publication to send again: wake whoever waits (mu held). */
static void signal_cond(void)
{
	pthread_cond_broadcast(&cv);
	pthread_kill(main_thread, SIGUSR1);
}

/* Wait on the condition for up to ms milliseconds; mu held. */
static void cond_wait_ms(long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	waiters++;
	pthread_cond_timedwait(&cv, &mu, &ts);
	waiters--;
}

/* ------------------------------------------------------------------------ */
/* The connection                                                           */
/* ------------------------------------------------------------------------ */

static void on_connect_result(int rc)
{
	pthread_mutex_lock(&mu);
	if (!connect_done) {
		connect_done = 1;
		connect_rc = rc;
	}
	signal_cond();
	pthread_mutex_unlock(&mu);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *resp)
{
	(void)ctx, (void)resp;
	on_connect_result(0);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *resp)
{
	(void)ctx;
	on_connect_result(resp && resp->code ? resp->code : -1);
}

static void on_connection_lost(void *ctx, char *cause)
{
	(void)ctx;
	fprintf(stderr, "paho_pub: connection lost%s%s; reconnecting\n",
		cause ? ": " : "", cause ? cause : "");
}

static int on_message_arrived(void *ctx, char *topic, int len,
			      MQTTAsync_message *m)
{
	(void)ctx, (void)len;
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

static int connect_broker(const char *uri, int max_inflight)
{
	MQTTAsync_createOptions cr = MQTTAsync_createOptions_initializer;
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	char id[64];
	int rc;

	cr.sendWhileDisconnected = 1;
	cr.maxBufferedMessages = 100000;
	cr.MQTTVersion = MQTTVERSION_DEFAULT;
	snprintf(id, sizeof id, "paho_pub-%ld", (long)getpid());
	if (MQTTAsync_createWithOptions(&client, uri, id,
					MQTTCLIENT_PERSISTENCE_NONE, NULL,
					&cr) != MQTTASYNC_SUCCESS)
		return -1;
	/* After creating the client: Paho reads its environment then. */
	if (!getenv("MQTT_C_CLIENT_TRACE") &&
	    !getenv("MQTT_C_CLIENT_TRACE_LEVEL"))
		MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
	MQTTAsync_setCallbacks(client, NULL, on_connection_lost,
			       on_message_arrived, NULL);
	co.MQTTVersion = MQTTVERSION_3_1_1;
	co.cleansession = 1;
	co.keepAliveInterval = 60;
	co.connectTimeout = 10;
	co.automaticReconnect = 1;
	co.minRetryInterval = 1;
	co.maxRetryInterval = 8;
	co.maxInflight = max_inflight;
	co.onSuccess = on_connect_ok;
	co.onFailure = on_connect_fail;
	if (MQTTAsync_connect(client, &co) != MQTTASYNC_SUCCESS)
		return -1;
	pthread_mutex_lock(&mu);
	while (!connect_done) {
		cond_wait_ms(100);
		if (interrupted())
			break;
	}
	rc = connect_done ? connect_rc : -1;
	pthread_mutex_unlock(&mu);
	if (rc)
		fprintf(stderr, "paho_pub: cannot connect to %s (%d)\n", uri,
			rc);
	return rc ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* Publications (conn.c's cli_pending and its lists)                        */
/* ------------------------------------------------------------------------ */

static void link_newest(struct pending *p)
{
	p->order = next_order++;
	p->older = newest;
	p->newer = NULL;
	if (newest)
		newest->newer = p;
	else
		oldest = p;
	newest = p;
	unacked++;
}

static void forget(struct pending *p)
{
	if (p->older)
		p->older->newer = p->newer;
	else
		oldest = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else
		newest = p->older;
	unacked--;
}

static unsigned long span(void)
{
	return oldest ? next_order - oldest->order : 0;
}

static void recycle(struct pending *p)
{
	if (spare_count >= (long)WINDOW || p->cap > SPARE_MAX_BYTES) {
		free(p);
		return;
	}
	p->next = spare;
	spare = p;
	spare_count++;
}

/* Acknowledged (QoS 0: written), or given up. */
static void finish(struct pending *p, int ok)
{
	if (!ok)
		fprintf(stderr, "paho_pub: publish to %s failed\n", p->topic);
	pthread_mutex_lock(&mu);
	if (!ok)
		failures++;
	forget(p);
	recycle(p);
	/* One wake-up per half window, and for the drain. */
	if ((unacked == 0 || span() <= WINDOW / 2) && waiters)
		pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void pending_done(struct pending *p, int ok, int code)
{
	if (!ok && p->attempts < MAX_ATTEMPTS &&
	    (code == MQTTASYNC_OPERATION_INCOMPLETE ||
	     code == MQTTASYNC_DISCONNECTED || code == MQTTASYNC_FAILURE)) {
		pthread_mutex_lock(&mu);
		p->next = resend;
		resend = p;
		signal_cond();
		pthread_mutex_unlock(&mu);
		return;
	}
	finish(p, ok);
}

static void on_publish_ok(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	pending_done(ctx, 1, 0);
}

static void on_publish_fail(void *ctx, MQTTAsync_failureData *resp)
{
	pending_done(ctx, 0, resp ? resp->code : -1);
}

static int send_pending(struct pending *p)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

	p->attempts++;
	msg.payload = p->data;
	msg.payloadlen = (int)p->len;
	msg.qos = p->qos;
	ro.context = p;
	ro.onSuccess = on_publish_ok;
	ro.onFailure = on_publish_fail;
	return MQTTAsync_sendMessage(client, p->topic, &msg, &ro);
}

/* Send again what Paho gave back, in the order it gave it back. */
static void service(void)
{
	struct pending *p, *list = NULL;

	pthread_mutex_lock(&mu);
	p = resend;
	resend = NULL;
	pthread_mutex_unlock(&mu);
	while (p) {
		struct pending *next = p->next;

		p->next = list;
		list = p;
		p = next;
	}
	while ((p = list)) {
		list = p->next;
		if (send_pending(p) != MQTTASYNC_SUCCESS)
			finish(p, 0);
	}
}

/* A record for the publication, a spare one when large enough (mu held). */
static struct pending *pending_new(const char *topic, const void *payload,
				   size_t len, int qos)
{
	size_t tlen = strlen(topic), need = len + tlen + 1;
	struct pending *p = spare;

	if (p && p->cap >= need) {
		spare = p->next;
		spare_count--;
	} else {
		size_t cap = need < 256 ? 256 : need;

		cap = (cap + 63) & ~(size_t)63;
		if (!(p = malloc(sizeof *p + cap)))
			return NULL;
		p->cap = cap;
	}
	p->next = NULL;
	p->qos = qos;
	p->attempts = 0;
	p->len = len;
	memcpy(p->data, payload, len);
	p->topic = (char *)p->data + len;
	memcpy(p->topic, topic, tlen + 1);
	return p;
}

/* Wait until the window has room, re-sending meanwhile (mu held). */
static int wait_for_room(void)
{
	while (span() >= WINDOW) {
		cond_wait_ms(100);
		if (resend) {
			pthread_mutex_unlock(&mu);
			service();
			pthread_mutex_lock(&mu);
		}
		if (interrupted())
			return -1;
	}
	return 0;
}

static int publish(const char *topic, const void *payload, size_t len, int qos)
{
	struct pending *p;

	if (len > INT_MAX ||
	    len > SIZE_MAX - sizeof(struct pending) - strlen(topic) - 1) {
		fprintf(stderr, "paho_pub: message too large\n");
		return -1;
	}
	pthread_mutex_lock(&mu);
	if (resend) {
		pthread_mutex_unlock(&mu);
		service();
		pthread_mutex_lock(&mu);
	}
	if (wait_for_room()) {
		pthread_mutex_unlock(&mu);
		return -1;
	}
	if (!(p = pending_new(topic, payload, len, qos))) {
		pthread_mutex_unlock(&mu);
		fprintf(stderr, "paho_pub: out of memory\n");
		return -1;
	}
	link_newest(p);
	pthread_mutex_unlock(&mu);
	if (send_pending(p) != MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&mu);
		failures++;
		forget(p);
		recycle(p);
		pthread_mutex_unlock(&mu);
		fprintf(stderr, "paho_pub: cannot publish to %s\n", topic);
		return -1;
	}
	return 0;
}

/* e2e-pub's publish_lines, each line published clear. */
static int publish_lines(const char *topic, int qos)
{
	size_t cap = 65536, n = 0;
	unsigned char *buf = malloc(cap);
	int eof = 0, rc = 0;

	if (!buf)
		return -1;
	while (!eof && !stop_requested) {
		struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
		size_t start = 0;
		ssize_t r;

		signal_wait(0);
		if (stop_requested)
			break;
		service();
		if (poll(&pfd, 1, 200) == 0)
			continue;
		if (n == cap) {
			unsigned char *nb;

			if (cap > 256 * 1024 * 1024 ||
			    !(nb = realloc(buf, cap * 2))) {
				fprintf(stderr, "paho_pub: line too long\n");
				rc = -1;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			perror("paho_pub: stdin");
			rc = -1;
			break;
		}
		if (r == 0)
			eof = 1;
		else
			n += (size_t)r;
		for (size_t i = 0; i < n; i++) {
			if (buf[i] != '\n')
				continue;
			if (publish(topic, buf + start, i - start, qos))
				rc = -1;
			start = i + 1;
		}
		if (eof && start < n) {
			if (publish(topic, buf + start, n - start, qos))
				rc = -1;
			start = n;
		}
		memmove(buf, buf + start, n - start);
		n -= start;
	}
	free(buf);
	return rc;
}

/* Wait until everything is acknowledged (3 s grace after a signal). */
static int drain(void)
{
	struct timespec now;
	time_t deadline = 0;
	long left;

	if (stop_requested) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		deadline = now.tv_sec + 3;
	}
	pthread_mutex_lock(&mu);
	while (unacked > 0) {
		if (resend) {
			pthread_mutex_unlock(&mu);
			service();
			pthread_mutex_lock(&mu);
			continue;
		}
		cond_wait_ms(100);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (deadline ? now.tv_sec >= deadline : interrupted())
			break;
	}
	left = unacked;
	pthread_mutex_unlock(&mu);
	if (left)
		fprintf(stderr, "paho_pub: %ld message(s) not acknowledged\n",
			left);
	return left ? -1 : 0;
}

static void on_disconnect_done(void *ctx, MQTTAsync_successData *resp)
{
	(void)ctx, (void)resp;
	pthread_mutex_lock(&mu);
	disconnected = 1;
	signal_cond();
	pthread_mutex_unlock(&mu);
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	on_disconnect_done(ctx, NULL);
}

/* Disconnect cleanly (waiting at most about 3 s), then free everything. */
static void disconnect_free(void)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;

	d.timeout = 1000;
	d.onSuccess = on_disconnect_done;
	d.onFailure = on_disconnect_fail;
	if (MQTTAsync_isConnected(client) &&
	    MQTTAsync_disconnect(client, &d) == MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&mu);
		for (int i = 0; !disconnected && i < 30; i++)
			cond_wait_ms(100);
		pthread_mutex_unlock(&mu);
	}
	MQTTAsync_destroy(&client);
	while (oldest) {
		struct pending *p = oldest;

		forget(p);
		free(p);
	}
	while (spare) {
		struct pending *p = spare;

		spare = p->next;
		free(p);
	}
}

int main(int argc, char **argv)
{
	const char *host = "localhost", *port = "1883", *topic = NULL;
	long max_inflight = 1024;
	int qos = 0, opt, lines = 0, rc;
	char uri[600];

	while ((opt = getopt(argc, argv, "h:p:t:q:M:l")) != -1) {
		switch (opt) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 't':
			topic = optarg;
			break;
		case 'q':
			qos = atoi(optarg);
			break;
		case 'M':
			max_inflight = atol(optarg);
			break;
		case 'l':
			lines = 1;
			break;
		default:
			topic = NULL;
			break;
		}
	}
	if (topic == NULL || !lines || max_inflight < 1 ||
	    max_inflight > 65535 || qos < 0 || qos > 2) {
		fprintf(stderr, "usage: paho_pub -h HOST -p PORT -t TOPIC "
				"[-q QOS] [-M MAX-INFLIGHT] -l < lines\n");
		return 2;
	}
	signals_block();
	snprintf(uri, sizeof uri,
		 strchr(host, ':') ? "tcp://[%.512s]:%.32s"
				   : "tcp://%.512s:%.32s",
		 host, port);
	if (connect_broker(uri, (int)max_inflight)) {
		if (client)
			MQTTAsync_destroy(&client);
		return 1;
	}
	rc = publish_lines(topic, qos);
	if (drain() || failures)
		rc = -1;
	disconnect_free();
	return rc ? 1 : 0;
}
