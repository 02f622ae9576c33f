/*
 * e2e-keygen's one use of MQTT: publishing key updates (admin publish and
 * admin rotate), retained at QoS 1 through one cli/conn connection. Built
 * only with Paho; without it keygen_publish reports that it cannot.
 */
#ifndef E2E_CLI_KEYGEN_PUBLISH_H
#define E2E_CLI_KEYGEN_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

/* One sealed update and the topic it goes to. */
struct keygen_update {
	char topic[320];
	uint8_t *env;
	size_t len, cap;
};

/* Publish count updates, retained at QoS 1, to host (NULL: localhost) and
 * port (NULL: 1883) and wait until the broker acknowledged every one: 0,
 * or -1 (reported). */
int keygen_publish(const char *host, const char *port,
		   const struct keygen_update *u, size_t count);

#endif /* E2E_CLI_KEYGEN_PUBLISH_H */
