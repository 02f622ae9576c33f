/*
 * Two independent cli/conn connections in one process, as e2e-bridge will
 * hold them: "in" subscribes on one broker, "out" publishes on another;
 * every message "in" receives is forwarded through "out" by the main
 * thread (never from the callback: conn.h), then the program exits.
 *
 *   conn_two HOST IN_PORT OUT_PORT IN_FILTER OUT_TOPIC COUNT
 *
 * Prints "ready" on stdout once both are connected and subscribed, and
 * "forwarded N" at the end; exit 0 when COUNT messages went through and
 * were acknowledged (QoS 1), 1 otherwise. test_conn.py drives it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "report.h"
#include "signals.h"

#define QUEUE_MAX 64
#define PAYLOAD_MAX 256

/* What "in" received, for the main thread. */
struct queue {
	pthread_mutex_t mu;
	char payload[QUEUE_MAX][PAYLOAD_MAX];
	size_t len[QUEUE_MAX];
	int head, count;
};

static void on_message(void *user, const char *topic, size_t topic_len,
		       const struct cli_message *m)
{
	struct queue *q = user;

	(void)topic;
	(void)topic_len;
	pthread_mutex_lock(&q->mu);
	if (q->count < QUEUE_MAX && m->len < PAYLOAD_MAX) {
		int at = (q->head + q->count) % QUEUE_MAX;

		memcpy(q->payload[at], m->payload, m->len);
		q->len[at] = m->len;
		q->count++;
	}
	pthread_mutex_unlock(&q->mu);
	cli_wake_main();
}

static void settings(struct cli_conn_settings *s, const char *name, char *host,
		     const char *port, char *id)
{
	memset(s, 0, sizeof *s);
	s->name = name;
	s->host = host;
	s->port = atoi(port);
	s->id = id;
	s->keepalive = 60;
	s->clean_session = 1;
	s->mqtt_version = CLI_MQTT_V311;
}

/* Forward what arrived until count messages went out: 0, or -1. */
static int forward(struct queue *q, struct cli_conn *out, const char *topic,
		   int count)
{
	char buf[PAYLOAD_MAX];
	int done = 0;

	for (int64_t deadline = cli_now_ms() + 30000; done < count;) {
		size_t len = 0;
		int have;

		if (cli_now_ms() > deadline || cli_stop_requested())
			return -1;
		cli_signal_wait(100);
		pthread_mutex_lock(&q->mu);
		have = q->count > 0;
		if (have) {
			len = q->len[q->head];
			memcpy(buf, q->payload[q->head], len);
			q->head = (q->head + 1) % QUEUE_MAX;
			q->count--;
		}
		pthread_mutex_unlock(&q->mu);
		if (have && cli_conn_publish(out, topic, buf, len, 1, 0))
			return -1;
		done += have;
	}
	return cli_conn_drain(out) || cli_conn_failures(out) ? -1 : 0;
}

int main(int argc, char **argv)
{
	static struct queue q = {.mu = PTHREAD_MUTEX_INITIALIZER};
	struct cli_conn_settings in_set, out_set;
	struct cli_conn *in = NULL, *out = NULL;
	char in_id[] = "conn-two-in", out_id[] = "conn-two-out";
	int rc = 1;

	if (argc != 7) {
		fputs("usage: conn_two HOST IN_PORT OUT_PORT IN_FILTER "
		      "OUT_TOPIC COUNT\n",
		      stderr);
		return 2;
	}
	cli_report_init("conn_two");
	cli_signals_block(); /* before Paho's threads start */
	settings(&in_set, "in", argv[1], argv[2], in_id);
	settings(&out_set, "out", argv[1], argv[3], out_id);
	in = cli_conn_new(&in_set, on_message, &q);
	out = cli_conn_new(&out_set, NULL, NULL);
	if (!in || !out)
		goto cleanup;
	cli_conn_subscribe(in, &argv[4], 1, 1);
	if (cli_conn_connect(in) || cli_conn_connect(out))
		goto cleanup;
	printf("ready\n");
	fflush(stdout);
	if (forward(&q, out, argv[5], atoi(argv[6])) == 0)
		rc = 0;
	printf("forwarded %s\n", rc == 0 ? argv[6] : "short");
cleanup:
	cli_conn_free(in);
	cli_conn_free(out);
	return rc;
}
