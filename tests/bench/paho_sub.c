/*
 * paho_sub: a plain (no libe2e) Paho MQTTAsync subscriber, for the
 * end-to-end benchmark only: it prints each payload and a newline on stdout
 * and flushes, as mosquitto_sub and e2e-sub do, through the same client
 * library as e2e-sub (see paho_pub.c).
 *
 *     paho_sub -h HOST -p PORT -t FILTER [-q QOS] [-C COUNT]
 *
 * Runs until COUNT messages (0: until killed).
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
static int ready, failed, done;
static long count, limit;

static void wake(int *flag)
{
	pthread_mutex_lock(&mu);
	*flag = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void on_subscribed(void *ctx, MQTTAsync_successData *r)
{
	(void)ctx, (void)r;
	wake(&ready);
}

static void on_fail(void *ctx, MQTTAsync_failureData *r)
{
	(void)ctx, (void)r;
	wake(&failed);
}

static const char *filter;
static int qos;

static void on_connect(void *ctx, MQTTAsync_successData *r)
{
	MQTTAsync client = ctx;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

	(void)r;
	ro.onSuccess = on_subscribed;
	ro.onFailure = on_fail;
	ro.context = client;
	if (MQTTAsync_subscribe(client, filter, qos, &ro) != MQTTASYNC_SUCCESS)
		wake(&failed);
}

static int on_message(void *ctx, char *topic, int len, MQTTAsync_message *m)
{
	(void)ctx, (void)len;
	fwrite(m->payload, 1, (size_t)m->payloadlen, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	if (limit > 0 && ++count >= limit)
		wake(&done);
	return 1;
}

int main(int argc, char **argv)
{
	MQTTAsync client;
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	const char *host = "localhost", *port = "1883";
	char uri[256];
	int opt;

	while ((opt = getopt(argc, argv, "h:p:t:q:C:")) != -1) {
		switch (opt) {
		case 'h':
			host = optarg;
			break;
		case 'p':
			port = optarg;
			break;
		case 't':
			filter = optarg;
			break;
		case 'q':
			qos = atoi(optarg);
			break;
		case 'C':
			limit = atol(optarg);
			break;
		default:
			filter = NULL;
			break;
		}
	}
	if (filter == NULL || qos < 0 || qos > 2) {
		fprintf(stderr, "usage: paho_sub -h HOST -p PORT -t FILTER "
				"[-q QOS] [-C COUNT]\n");
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
	co.onSuccess = on_connect;
	co.onFailure = on_fail;
	co.context = client;
	if (MQTTAsync_connect(client, &co) != MQTTASYNC_SUCCESS)
		return 1;
	pthread_mutex_lock(&mu);
	while (!failed && !done)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	MQTTAsync_disconnect(client, NULL);
	MQTTAsync_destroy(&client);
	return failed;
}
