/*
 * redis_member: a C member of a consumer group, for test_redis.py. Reads
 * lines "TOPIC HEX-ENVELOPE" on stdin, opens each with e2e_redis_open
 * against the group's state and prints, per line, "ok" or the reason.
 *
 *   redis_member URL KEYRING-FILE WINDOW
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "e2e.h"
#include "e2e_redis.h"

#define LINE_MAX_BYTES 16384

int main(int argc, char **argv)
{
	static char line[LINE_MAX_BYTES];
	static uint8_t env[LINE_MAX_BYTES / 2], out[LINE_MAX_BYTES / 2];
	e2e_guard_opts g;
	e2e_keyring *kr;
	e2e_receiver r;
	e2e_redis *rs;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: redis_member URL KEYRING WINDOW\n");
		return 2;
	}
	e2e_guard_opts_default(&g);
	g.window = (uint32_t)strtoul(argv[3], NULL, 10);
	if (e2e_init() != E2E_OK ||
	    (rc = e2e_keyring_load(&kr, argv[2], NULL)) != E2E_OK ||
	    (rc = e2e_redis_connect(&rs, argv[1], NULL, &g)) != E2E_OK) {
		fprintf(stderr, "redis_member: cannot start\n");
		return 1;
	}
	memset(&r, 0, sizeof r);
	r.keyring = kr;
	printf("ready\n");
	fflush(stdout);
	while (fgets(line, sizeof line, stdin) != NULL) {
		char *hex = strchr(line, ' ');
		size_t env_len = 0, n;

		if (hex == NULL)
			return 1;
		*hex++ = '\0';
		hex[strcspn(hex, "\n")] = '\0';
		if (sodium_hex2bin(env, sizeof env, hex, strlen(hex), NULL,
				   &env_len, NULL) != 0)
			return 1;
		rc = e2e_redis_open(rs, &r, line, env, env_len, 0, out,
				    sizeof out, &n, NULL);
		printf("%s\n", rc == E2E_OK ? "ok" : e2e_reason(rc));
	}
	e2e_redis_free(rs);
	e2e_keyring_free(kr);
	return 0;
}
