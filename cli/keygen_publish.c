/* e2e-keygen's publishing of key updates (keygen_publish.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keygen_publish.h"
#include "report.h"

#ifdef KEYGEN_MQTT
#include "conn.h"
#include "signals.h"

int keygen_publish(const char *host, const char *port,
		   const struct keygen_update *u, size_t count)
{
	struct cli_conn_settings s;
	struct cli_conn *c;
	char id[64];
	char *end;
	long p = 1883;
	size_t i;
	int rc;

	memset(&s, 0, sizeof s);
	if (port != NULL) {
		p = strtol(port, &end, 10);
		if (*end != '\0' || p < 1 || p > 65535) {
			cli_err("invalid --port '%s'", port);
			return -1;
		}
	}
	snprintf(id, sizeof id, "e2e-keygen-%ld", (long)getpid());
	s.host = (char *)(host != NULL ? host : "localhost");
	s.port = (int)p;
	s.id = id;
	s.keepalive = 60;
	s.clean_session = 1;
	s.mqtt_version = CLI_MQTT_V311;
	s.quiet = 0; /* a broker it cannot reach or that refuses it: say so */
	/* The connection wakes this thread with SIGUSR1 and watches for
	 * SIGINT/SIGTERM: they must be blocked here first. */
	cli_signals_block();
	c = cli_conn_new(&s, NULL, NULL);
	if (c == NULL)
		return -1;
	rc = cli_conn_connect(c) == 0 ? 0 : -1;
	for (i = 0; rc == 0 && i < count; i++)
		rc = cli_conn_publish(c, u[i].topic, u[i].env, u[i].len, 1, 1);
	if (rc == 0)
		rc = cli_conn_drain(c);
	if (rc == 0 && cli_conn_failures(c) != 0)
		rc = -1;
	cli_conn_free(c);
	return rc;
}
#else
int keygen_publish(const char *host, const char *port,
		   const struct keygen_update *u, size_t count)
{
	(void)host, (void)port, (void)u, (void)count;
	cli_err("built without MQTT (Paho): cannot publish key updates");
	return -1;
}
#endif
