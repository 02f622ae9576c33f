/*
 * paho_sub: a plain (no libe2e) Paho MQTTAsync subscriber, for the
 * end-to-end benchmark only, of e2e-sub's design minus libe2e: messages
 * arrive on Paho's thread, which writes each payload and a newline into a
 * fully buffered stdout (64 KiB) under a mutex; the main thread waits in
 * sigtimedwait, is woken once per burst, and writes stdout out once no
 * message came for 1 ms. Paho's trace at errors only, as conn.c sets it.
 * The same client library as e2e-sub (see paho_pub.c).
 *
 *     paho_sub -h HOST -p PORT -t FILTER [-q QOS] [-C COUNT]
 *
 * Runs until COUNT messages (0: until SIGTERM or SIGINT).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <MQTTAsync.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int ready, failed, done, flush_due;
static long count, limit, seen;
static pthread_t main_thread;
static char obuf[1 << 16];
static const char *filter;
static int qos;

static void wake(int *flag)
{
	pthread_mutex_lock(&mu);
	*flag = 1;
	pthread_mutex_unlock(&mu);
	pthread_kill(main_thread, SIGUSR1);
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
	int w = 0;
	(void)ctx, (void)len;
	pthread_mutex_lock(&mu);
	fwrite(m->payload, 1, (size_t)m->payloadlen, stdout);
	fputc('\n', stdout);
	count++;
	if (!flush_due)
		flush_due = w = 1;
	if (limit > 0 && count >= limit)
		done = w = 1;
	pthread_mutex_unlock(&mu);
	if (w)
		pthread_kill(main_thread, SIGUSR1);
	MQTTAsync_freeMessage(&m);
	MQTTAsync_free(topic);
	return 1;
}
int main(int argc, char **argv)
{
	MQTTAsync client;
	MQTTAsync_connectOptions co = MQTTAsync_connectOptions_initializer;
	const char *host = "localhost", *port = "1883";
	char uri[256];
	int opt;
	sigset_t set;
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
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	main_thread = pthread_self();
	setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
	snprintf(uri, sizeof uri, "tcp://%s:%s", host, port);
	if (MQTTAsync_create(&client, uri, "", MQTTCLIENT_PERSISTENCE_NONE,
			     NULL) != MQTTASYNC_SUCCESS)
		return 1;
	MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);
	MQTTAsync_setCallbacks(client, NULL, NULL, on_message, NULL);
	co.cleansession = 1;
	co.keepAliveInterval = 60;
	co.onSuccess = on_connect;
	co.onFailure = on_fail;
	co.context = client;
	if (MQTTAsync_connect(client, &co) != MQTTASYNC_SUCCESS)
		return 1;
	for (;;) {
		long wait = 500;
		struct timespec ts;
		int sig, stop = 0;
		pthread_mutex_lock(&mu);
		if (flush_due) {
			if (count == seen) {
				fflush(stdout);
				flush_due = 0;
			} else {
				seen = count;
				wait = 1;
			}
		}
		stop = failed || done;
		pthread_mutex_unlock(&mu);
		if (stop)
			break;
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000L;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	pthread_mutex_lock(&mu);
	fflush(stdout);
	pthread_mutex_unlock(&mu);
	MQTTAsync_disconnect(client, NULL);
	MQTTAsync_destroy(&client);
	return failed;
}
