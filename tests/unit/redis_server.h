/*
 * A real redis-server for tests and benchmarks: started on a free loopback
 * port with its own configuration and directory inside a fresh temporary
 * directory (never the system's 6379 instance), stopped by its PID.
 */
#ifndef TEST_REDIS_SERVER_H
#define TEST_REDIS_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct redis_server {
	char dir[256]; /* temporary directory: config, AOF, log */
	char conf[300];
	char url[512]; /* redis://127.0.0.1:PORT/test (rediss:// with TLS) */
	int port;
	int tls;   /* redis_server_start_tls(): only its tls-port listens */
	pid_t pid; /* 0: not running */
};

/* The redis-server to run ($REDIS_SERVER, else /usr/bin/redis-server), or
 * NULL when there is none. */
const char *redis_server_path(void);
/*
 * Make the directory and the configuration (AOF on, appendfsync always,
 * no RDB snapshots; extra: more configuration lines, may be NULL), then
 * start the server and wait until it answers PING. 0 on success.
 */
int redis_server_start(struct redis_server *s, const char *extra);
/*
 * The same with TLS only (port 0, tls-port PORT, tls-auth-clients no unless
 * extra says otherwise), the certificates made in DIR by
 * tests/redis_tls_certs.sh (redis_server_file() names them: "ca.pem",
 * "client.key", "other-ca.pem", ...).
 */
int redis_server_start_tls(struct redis_server *s, const char *extra);
/* DIR/name into buf. */
const char *redis_server_file(const struct redis_server *s, const char *name,
			      char *buf, size_t cap);
/* Start it again on the same port and directory (its AOF is reloaded). */
int redis_server_restart(struct redis_server *s);
/* Stop it: SIGTERM (a clean shutdown) or SIGKILL (a crash), then wait. */
void redis_server_stop(struct redis_server *s, int sig);
/* Stop it if running and remove its directory. */
void redis_server_cleanup(struct redis_server *s);

#endif
