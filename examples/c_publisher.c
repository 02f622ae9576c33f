/*
 * c_publisher: seal messages with libe2e and publish them with Paho.
 *
 *   c_publisher HOST PORT KEYRING TOPIC MESSAGE...
 *
 * Each MESSAGE is sealed with the keyring's primary key and published at
 * QoS 1. Create a keyring with `e2e-keygen keyring init -K FILE`.
 * Build: cc c_publisher.c -le2e -lpaho-mqtt3cs
 */
#include <MQTTClient.h>
#include <e2e.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr,
			"usage: %s HOST PORT KEYRING TOPIC MESSAGE...\n",
			argv[0]);
		return 1;
	}
	const char *topic = argv[4];
	e2e_keyring *kr = NULL;
	e2e_sender *sender = NULL;
	MQTTClient client = NULL;
	int rc, status = 1;

	/* 1. Keys: load the keyring; a sender holds our id and sequence. */
	if ((rc = e2e_init()) != E2E_OK ||
	    (rc = e2e_keyring_load(&kr, argv[3], NULL)) != E2E_OK ||
	    (rc = e2e_sender_new(&sender, NULL)) != E2E_OK) {
		fprintf(stderr, "libe2e: %s\n", e2e_strerror(rc));
		goto cleanup;
	}

	/* 2. Connect as usual: libe2e does not touch the MQTT connection. */
	char uri[256];
	snprintf(uri, sizeof uri, "tcp://%s:%s", argv[1], argv[2]);
	MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
	opts.cleansession = 1;
	if (MQTTClient_create(&client, uri, "", MQTTCLIENT_PERSISTENCE_NONE,
			      NULL) != MQTTCLIENT_SUCCESS ||
	    MQTTClient_connect(client, &opts) != MQTTCLIENT_SUCCESS) {
		fprintf(stderr, "cannot connect to %s\n", uri);
		goto cleanup;
	}

	/* 3. Seal each message for its topic, then publish the envelope. */
	for (int i = 5; i < argc; i++) {
		size_t len = strlen(argv[i]), env_len;
		size_t cap = E2E_SEALED_MAX(len);
		unsigned char *env = malloc(cap);
		if (env == NULL)
			goto cleanup;
		rc = e2e_seal(sender, kr, topic, (const uint8_t *)argv[i], len,
			      0 /* not retained */, env, cap, &env_len);
		if (rc != E2E_OK) {
			fprintf(stderr, "seal: %s\n", e2e_strerror(rc));
			free(env);
			goto cleanup;
		}
		MQTTClient_deliveryToken token;
		rc = MQTTClient_publish(client, topic, (int)env_len, env, 1, 0,
					&token);
		free(env);
		if (rc != MQTTCLIENT_SUCCESS ||
		    MQTTClient_waitForCompletion(client, token, 10000) !=
			    MQTTCLIENT_SUCCESS) {
			fprintf(stderr, "publish failed\n");
			goto cleanup;
		}
	}
	status = 0;

cleanup:
	if (client != NULL) {
		MQTTClient_disconnect(client, 1000);
		MQTTClient_destroy(&client);
	}
	e2e_sender_free(sender);
	e2e_keyring_free(kr); /* wipes the keys */
	return status;
}
