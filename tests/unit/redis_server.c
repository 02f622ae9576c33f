/* A real redis-server for tests and benchmarks (redis_server.h). */
#define _GNU_SOURCE
#include "redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

const char *redis_server_path(void)
{
	const char *p = getenv("REDIS_SERVER");

	if (p != NULL && *p != '\0')
		return access(p, X_OK) == 0 ? p : NULL;
	return access("/usr/bin/redis-server", X_OK) == 0
		       ? "/usr/bin/redis-server"
		       : NULL;
}

/* A port the kernel just gave out on 127.0.0.1 (free a moment ago). */
static int free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int answers_ping(int port)
{
	struct timeval tv = {0, 200000};
	redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
	redisReply *r = NULL;
	int ok = 0;

	if (c != NULL && c->err == 0 && (r = redisCommand(c, "PING")) != NULL)
		/* PONG, or NOAUTH from a server with a password; not
		 * LOADING (still reading its AOF). */
		ok = r->type == REDIS_REPLY_STATUS ||
		     (r->type == REDIS_REPLY_ERROR &&
		      strncmp(r->str, "LOADING", 7) != 0);
	if (r != NULL)
		freeReplyObject(r);
	if (c != NULL)
		redisFree(c);
	return ok;
}

/* A TLS server is ready once its port takes connections (it has no AOF
 * to load: these servers are not restarted). */
static int listens(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

	if (fd < 0)
		return 0;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	close(fd);
	return ok;
}

static int spawn(struct redis_server *s)
{
	const char *path = redis_server_path();
	struct timespec ts = {0, 50 * 1000 * 1000};
	int i, status;
	pid_t parent;

	if (path == NULL)
		return -1;
	parent = getpid();
	s->pid = fork();
	if (s->pid < 0) {
		s->pid = 0;
		return -1;
	}
	if (s->pid == 0) {
		/* A test that fails an assertion skips its cleanup: the
		 * server goes with the test process rather than outlive it
		 * (holding the test's output pipe open, and its port). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 ||
		    getppid() != parent)
			_exit(127);
		execl(path, path, s->conf, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200; i++) { /* 10 s */
		if (s->tls ? listens(s->port) : answers_ping(s->port))
			return 0;
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			s->pid = 0;
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	redis_server_stop(s, SIGKILL);
	return -1;
}

const char *redis_server_file(const struct redis_server *s, const char *name,
			      char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", s->dir, name);
	return buf;
}

/* tests/redis_tls_certs.sh DIR (its path is compiled in by redis.inc) */
#ifndef REDIS_TLS_CERTS
#define REDIS_TLS_CERTS NULL
#endif
static int make_certs(const char *dir)
{
	const char *script = REDIS_TLS_CERTS;
	pid_t pid;
	int status;

	if (script == NULL || (pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		execl("/bin/sh", "sh", script, dir, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int start(struct redis_server *s, int tls, const char *extra)
{
	const char *tmp = getenv("TMPDIR");
	FILE *f;

	memset(s, 0, sizeof *s);
	s->tls = tls;
	snprintf(s->dir, sizeof s->dir, "%s/e2e-redis-XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(s->dir) == NULL)
		return -1;
	if (tls && make_certs(s->dir) != 0)
		return -1;
	snprintf(s->conf, sizeof s->conf, "%s/redis.conf", s->dir);
	s->port = free_port();
	if (s->port <= 0 || (f = fopen(s->conf, "w")) == NULL)
		return -1;
	fprintf(f,
		"bind 127.0.0.1\ndir %s\nlogfile %s/redis.log\n"
		"daemonize no\nsave \"\"\nappendonly yes\n"
		"appendfsync always\ndatabases 1\n",
		s->dir, s->dir);
	if (tls)
		fprintf(f,
			"port 0\ntls-port %d\ntls-cert-file %s/server.pem\n"
			"tls-key-file %s/server.key\n"
			"tls-ca-cert-file %s/ca.pem\ntls-auth-clients no\n",
			s->port, s->dir, s->dir, s->dir);
	else
		fprintf(f, "port %d\n", s->port);
	fprintf(f, "%s\n", extra != NULL ? extra : "");
	if (fclose(f) != 0)
		return -1;
	snprintf(s->url, sizeof s->url, "%s://127.0.0.1:%d/test",
		 tls ? "rediss" : "redis", s->port);
	return spawn(s);
}

int redis_server_start(struct redis_server *s, const char *extra)
{
	return start(s, 0, extra);
}

int redis_server_start_tls(struct redis_server *s, const char *extra)
{
	return start(s, 1, extra);
}

int redis_server_restart(struct redis_server *s)
{
	if (s->pid != 0)
		return -1;
	return spawn(s);
}

void redis_server_stop(struct redis_server *s, int sig)
{
	int status;

	if (s->pid == 0)
		return;
	kill(s->pid, sig);
	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	s->pid = 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void redis_server_cleanup(struct redis_server *s)
{
	redis_server_stop(s, SIGTERM);
	if (s->dir[0] != '\0')
		nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	s->dir[0] = '\0';
}
