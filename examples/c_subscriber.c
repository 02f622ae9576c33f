/*
 * c_subscriber: receive messages with Paho and open them with libe2e.
 *
 *   c_subscriber HOST PORT KEYRING TOPIC COUNT
 *
 * Prints each verified payload on stdout and each rejected message on
 * stderr with its reason (a topic TOPIC does not match: not-subscribed);
 * exits after COUNT verified messages (or after 30 s without one).
 * Build: cc c_subscriber.c -le2e -lpaho-mqtt3cs
 */
#include <MQTTClient.h>
#include <e2e.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s HOST PORT KEYRING TOPIC COUNT\n",
			argv[0]);
		return 1;
	}
	int want = atoi(argv[5]), got = 0, idle = 0, rc, status = 1;
	e2e_keyring *kr = NULL;
	e2e_guard *guard = NULL;
	MQTTClient client = NULL;
	char uri[256];
	MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;

	/* 1. What we accept: our keys, replay/freshness checks (defaults). */
	if ((rc = e2e_init()) != E2E_OK ||
	    (rc = e2e_keyring_load(&kr, argv[3], NULL)) != E2E_OK ||
	    (rc = e2e_guard_new(&guard, NULL)) != E2E_OK) {
		fprintf(stderr, "libe2e: %s\n", e2e_strerror(rc));
		goto cleanup;
	}
	/* Only our subscription's topics: a broker can deliver a genuine
	 * envelope sealed for any other topic, and it would verify. */
	const char *const filters[] = {argv[4]};
	e2e_receiver rx = {.keyring = kr,
			   .guard = guard,
			   .require = E2E_REQUIRE_ENCRYPTION,
			   .filters = filters,
			   .filter_count = 1};

	/* 2. Connect and subscribe as usual. */
	snprintf(uri, sizeof uri, "tcp://%s:%s", argv[1], argv[2]);
	opts.cleansession = 1;
	if (MQTTClient_create(&client, uri, "", MQTTCLIENT_PERSISTENCE_NONE,
			      NULL) != MQTTCLIENT_SUCCESS ||
	    MQTTClient_connect(client, &opts) != MQTTCLIENT_SUCCESS ||
	    MQTTClient_subscribe(client, argv[4], 1) != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "cannot subscribe on %s\n", uri);
		goto cleanup;
	}
	printf("ready\n"); /* subscribed: publishers may start */
	fflush(stdout);

	/* 3. Open every message: only verified bytes are ever printed. */
	while (got < want && idle < 30) {
		char *topic = NULL;
		int topic_len = 0;
		MQTTClient_message *m = NULL;
		if (MQTTClient_receive(client, &topic, &topic_len, &m, 1000) !=
			    MQTTCLIENT_SUCCESS ||
		    m == NULL) {
			idle++;
			continue;
		}
		idle = 0;
		uint8_t *out = malloc(m->payloadlen + 1u);
		size_t out_len = 0;
		rc = out == NULL
			     ? E2E_ERR_NOMEM
			     : e2e_open(&rx, topic, m->payload,
					(size_t)m->payloadlen,
					m->retained ? E2E_DELIVERY_RETAINED : 0,
					out, m->payloadlen + 1u, &out_len,
					NULL);
		if (rc == E2E_OK) {
			printf("%s %.*s\n", topic, (int)out_len, (char *)out);
			fflush(stdout);
			got++;
		} else {
			fprintf(stderr, "rejected %s: %s: %s\n", topic,
				e2e_reason(rc), e2e_strerror(rc));
		}
		free(out);
		MQTTClient_freeMessage(&m);
		MQTTClient_free(topic);
	}
	status = got == want ? 0 : 1;

cleanup:
	if (client != NULL) {
		MQTTClient_disconnect(client, 1000);
		MQTTClient_destroy(&client);
	}
	e2e_guard_free(guard);
	e2e_keyring_free(kr);
	return status;
}
