/*
 * paho_pub: a plain (no libe2e) Paho MQTTAsync publisher, for the
 * end-to-end benchmark only. It publishes each line of stdin, as
 * `mosquitto_pub -l` and `e2e-pub -l` do, through the same client library
 * as e2e-pub, so that comparing the three separates the cost of libe2e from
 * the cost of the MQTT client library.
 *
 *     paho_pub -h HOST -p PORT -t TOPIC [-q QOS] [-M MAX-INFLIGHT] -l < lines
 *
 * (the options of mosquitto_pub; -M defaults to 1000, e2e-pub's window).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <MQTTAsync.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int connected, failed;
static long inflight;

static void on_connect(void *ctx, MQTTAsync_successData *r)
{
	(void)ctx, (void)r;
	pthread_mutex_lock(&mu);
	connected = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)ctx, (void)r;
	pthread_mutex_lock(&mu);
	failed = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_sent(void *ctx, MQTTAsync_successData *r)
{
	(void)ctx, (void)r;
	pthread_mutex_lock(&mu);
	inflight--;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_send_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)r;
	on_sent(ctx, NULL);
	failed = 1;
}

static int on_message(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
	(void)ctx, (void)len;
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}

int main(int argc, char **argv)
{
	MQTTAsync client;
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	const char *host = "localhost", *port = "1883", *topic = NULL;
	char uri[256], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long max_inflight = 1000;
	int qos = 0, opt, lines = 0;

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
	if (topic == NULL || !lines || max_inflight < 1 || qos < 0 || qos > 2) {
		fprintf(stderr, "usage: paho_pub -h HOST -p PORT -t TOPIC "
				"[-q QOS] [-M MAX-INFLIGHT] -l < lines\n");
		return 2;
	}
	snprintf(uri, sizeof uri, "tcp://%s:%s", host, port);
	if (MQTTAsync_create(&client, uri, "", MQTTCLIENT_PERSISTENCE_NONE,
			     NULL) != MQTTASYNC_SUCCESS ||
	    MQTTAsync_setCallbacks(client, NULL, NULL, on_message, NULL) !=
		    MQTTASYNC_SUCCESS)
		return 1;
	co.cleansession = 1;
	co.keepAliveInterval = 60;
	co.maxInflight = (int)max_inflight;
	co.onSuccess = on_connect;
	co.onFailure = on_connect_fail;
	if (MQTTAsync_connect(client, &co) != MQTTASYNC_SUCCESS)
		return 1;
	pthread_mutex_lock(&mu);
	while (!connected && !failed)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	if (failed)
		return 1;
	while ((n = getline(&line, &cap, stdin)) > 0) {
		MQTTAsync_message msg = MQTTAsync_message_initializer;
		MQTTAsync_responseOptions ro =
			MQTTAsync_responseOptions_initializer;

		if (line[n - 1] == '\n')
			n--;
		pthread_mutex_lock(&mu);
		while (inflight >= max_inflight)
			pthread_cond_wait(&cv, &mu);
		inflight++;
		pthread_mutex_unlock(&mu);
		msg.payload = line;
		msg.payloadlen = (int)n;
		msg.qos = qos;
		ro.onSuccess = on_sent;
		ro.onFailure = on_send_fail;
		if (MQTTAsync_sendMessage(client, topic, &msg, &ro) !=
		    MQTTASYNC_SUCCESS)
			return 1;
	}
	pthread_mutex_lock(&mu);
	while (inflight > 0)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	MQTTAsync_disconnect(client, NULL);
	MQTTAsync_destroy(&client);
	free(line);
	return failed;
}
