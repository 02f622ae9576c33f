/*
 * libe2e-redis over rediss:// (TLS, docs/GROUPS.md section 4), against
 * real redis-servers started by the test with only a tls-port and the
 * certificates of tests/redis_tls_certs.sh (a CA, a server certificate
 * for IP 127.0.0.1 and DNS redis.test, a client certificate, another CA).
 *
 * The guard works over TLS as over TCP; the server's certificate is always
 * verified (its CA, its IP address or name) and a refusal is
 * E2E_ERR_STORE_TLS with nothing accepted; a server with tls-auth-clients
 * takes the client certificate; passwords and ACL users work over TLS.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"
#include "e2e_redis.h"
#include "redis_server.h"

#define NOW 1700000000u
#define A 0xA1A1A1A1A1A1A1A1u

/* srv: TLS on 127.0.0.1 and 127.0.0.2, no client certificate asked;
 * mtls: tls-auth-clients yes; authed: a password and an ACL user;
 * plain: no TLS at all. */
static struct redis_server srv, mtls, authed, plain;
static struct redis_server rotated; /* restarted by its test */
static int prefix_no;

struct tls_files {
	char ca[320], other_ca[320], cert[320], key[320], other_cert[320],
		other_key[320];
};

static void files_of(const struct redis_server *s, struct tls_files *f)
{
	redis_server_file(s, "ca.pem", f->ca, sizeof f->ca);
	redis_server_file(s, "other-ca.pem", f->other_ca, sizeof f->other_ca);
	redis_server_file(s, "client.pem", f->cert, sizeof f->cert);
	redis_server_file(s, "client.key", f->key, sizeof f->key);
	redis_server_file(s, "other.pem", f->other_cert, sizeof f->other_cert);
	redis_server_file(s, "other.key", f->other_key, sizeof f->other_key);
}

static e2e_info info_of(uint64_t sender, uint64_t seq)
{
	e2e_info i;

	memset(&i, 0, sizeof i);
	i.suite = E2E_SUITE_MAC;
	i.key_id = 1;
	i.sender_id = sender;
	i.seq = seq;
	i.timestamp = NOW;
	return i;
}

/* rediss://[USER@]IP:PORT/tN, a prefix of this call's own. */
static void url_of(char *url, size_t cap, const char *user, const char *ip,
		   int port)
{
	snprintf(url, cap, "rediss://%s%s%s:%d/t%d", user ? user : "",
		 user ? "@" : "", ip, port, ++prefix_no);
}

/* Connect with o; when that works, one message is accepted and its copy
 * refused as a replay. The connection's result. */
static int guard_works(const char *url, const e2e_redis_opts *o)
{
	e2e_redis *rs = (e2e_redis *)&rs;
	e2e_info in = info_of(A, 1);
	int rc = e2e_redis_connect(&rs, url, o, NULL);

	if (rc != E2E_OK) {
		assert_null(rs);
		return rc;
	}
	assert_int_equal(e2e_redis_check_commit(rs, &in, "t", 0, NOW), E2E_OK);
	assert_int_equal(e2e_redis_check_commit(rs, &in, "t", 0, NOW),
			 E2E_ERR_REPLAY);
	e2e_redis_free(rs);
	return E2E_OK;
}

/* One connection to try: server s's files, options trusting its CA, and
 * a URL of a fresh prefix at ip (user: an ACL user, or NULL). */
struct attempt {
	struct tls_files f;
	e2e_redis_opts o;
	char url[128];
};

static struct attempt *attempt(const struct redis_server *s, const char *user,
			       const char *ip)
{
	static struct attempt a;

	files_of(s, &a.f);
	e2e_redis_opts_default(&a.o);
	a.o.tls_cacert = a.f.ca;
	url_of(a.url, sizeof a.url, user, ip, s->port);
	return &a;
}

static int tried(const struct attempt *a)
{
	return guard_works(a->url, &a->o);
}

/* ---- the guard over TLS */

static void tls_member_accepts_a_message_once_and_refuses_its_copy(void **state)
{
	struct attempt *a = attempt(&srv, NULL, "127.0.0.1");

	(void)state;
	assert_int_equal(tried(a), E2E_OK);
}

/* ca.pem under c_rehash's name: its subject hash, ".0". */
static void hashed_ca_dir(const struct attempt *a, char *dir, size_t cap)
{
	char cmd[2400], hash[32] = "", link[400];
	FILE *p;

	redis_server_file(&srv, "cadir", dir, cap);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(cmd, sizeof cmd,
		 "\"${OPENSSL:-openssl}\" x509 -noout -subject_hash -in '%s'",
		 a->f.ca);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(hash, sizeof hash, p));
	assert_int_equal(pclose(p), 0);
	hash[strcspn(hash, "\n")] = '\0';
	snprintf(link, sizeof link, "%s/%s.0", dir, hash);
	assert_int_equal(symlink(a->f.ca, link), 0);
}

static void tls_trusts_a_directory_of_hashed_cas(void **state)
{
	struct attempt *a = attempt(&srv, NULL, "127.0.0.1");
	char dir[300];

	(void)state;
	hashed_ca_dir(a, dir, sizeof dir);
	a->o.tls_cacert = NULL;
	a->o.tls_cacertdir = dir;
	assert_int_equal(tried(a), E2E_OK);
}

struct racer {
	const struct attempt *a;
	int accepted, replays;
};

#define RACE_N 300

static void *racer_main(void *arg)
{
	struct racer *k = arg;
	e2e_redis *rs = NULL;
	uint64_t i;

	if (e2e_redis_connect(&rs, k->a->url, &k->a->o, NULL) != E2E_OK)
		return NULL;
	for (i = 1; i <= RACE_N; i++) {
		e2e_info in = info_of(A, i);
		int rc = e2e_redis_check_commit(rs, &in, "t", 0, NOW);

		k->accepted += rc == E2E_OK;
		k->replays += rc == E2E_ERR_REPLAY;
	}
	e2e_redis_free(rs);
	return NULL;
}

static void tls_members_racing_accept_each_message_once(void **state)
{
	struct attempt *a = attempt(&srv, NULL, "127.0.0.1");
	struct racer k[2];
	pthread_t t[2];
	int i;

	(void)state;
	memset(k, 0, sizeof k);
	for (i = 0; i < 2; i++) {
		k[i].a = a;
		assert_int_equal(pthread_create(&t[i], NULL, racer_main, &k[i]),
				 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(k[0].accepted + k[1].accepted, RACE_N);
	assert_int_equal(k[0].replays + k[1].replays, RACE_N);
}

/* ---- the server's certificate */

static void tls_server_certificate_from_another_ca_is_refused(void **state)
{
	struct attempt *a = attempt(&srv, NULL, "127.0.0.1");

	(void)state;
	a->o.tls_cacert = a->f.other_ca;
	assert_int_equal(tried(a), E2E_ERR_STORE_TLS);
	assert_string_equal(e2e_reason(E2E_ERR_STORE_TLS), "store-tls");
}

static void tls_without_cacert_trusts_only_the_system_cas(void **state)
{
	struct attempt *a = attempt(&srv, NULL, "127.0.0.1");

	(void)state;
	a->o.tls_cacert = NULL;
	assert_int_equal(tried(a), E2E_ERR_STORE_TLS);
}

static void tls_certificate_for_another_ip_is_refused(void **state)
{
	/* The same server, reached at an address its certificate lacks. */
	struct attempt *a = attempt(&srv, NULL, "127.0.0.2");

	(void)state;
	assert_int_equal(tried(a), E2E_ERR_STORE_TLS);
}

static void tls_sni_names_the_certificate_to_verify(void **state)
{
	struct attempt *a = attempt(&srv, NULL, "127.0.0.2");

	(void)state;
	a->o.tls_sni = "redis.test"; /* in the certificate: accepted */
	assert_int_equal(tried(a), E2E_OK);
	a->o.tls_sni = "other.test"; /* not in it: refused */
	assert_int_equal(tried(a), E2E_ERR_STORE_TLS);
	a->o.tls_sni = "test"; /* a suffix of a name is no match */
	assert_int_equal(tried(a), E2E_ERR_STORE_TLS);
}

/* A plain Redis waits for a newline the ClientHello may never hold, or
 * answers it with an error that is no TLS record. */
static void
rediss_to_a_server_without_tls_is_refused_within_the_timeout(void **state)
{
	struct attempt *a = attempt(&plain, NULL, "127.0.0.1");
	int rc;

	(void)state;
	files_of(&srv, &a->f);
	a->o.tls_cacert = a->f.ca;
	a->o.timeout_ms = 300;
	rc = tried(a);
	assert_true(rc == E2E_ERR_STORE_UNAVAILABLE || rc == E2E_ERR_STORE_TLS);
}

/* A port that takes the TCP connection and never answers the handshake. */
static void tls_silent_server_times_out_as_store_unavailable(void **state)
{
	struct attempt *a = attempt(&srv, NULL, "127.0.0.1");
	struct sockaddr_in sa;
	socklen_t len = sizeof sa;
	struct timespec t0, t1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	double s;

	(void)state;
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	a->o.timeout_ms = 300;
	url_of(a->url, sizeof a->url, NULL, "127.0.0.1", ntohs(sa.sin_port));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(tried(a), E2E_ERR_STORE_UNAVAILABLE);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(s >= 0.25 && s < 3.0);
	close(fd);
}

/* ---- reconnections */

static void swap_server_certificate(struct redis_server *s)
{
	static const char *const pairs[][2] = {{"server.pem", "other.pem"},
					       {"server.key", "other.key"}};
	char a[340], b[340], t[340];
	size_t i;

	for (i = 0; i < 2; i++) {
		redis_server_file(s, pairs[i][0], a, sizeof a);
		redis_server_file(s, pairs[i][1], b, sizeof b);
		redis_server_file(s, "swap.tmp", t, sizeof t);
		assert_int_equal(rename(a, t), 0);
		assert_int_equal(rename(b, a), 0);
		assert_int_equal(rename(t, b), 0);
	}
}

/* A verdict once the restarted server has loaded its AOF (bounded). */
static int settled(e2e_redis *rs, const e2e_info *in)
{
	struct timespec pause = {0, 100 * 1000 * 1000};
	int i, rc = E2E_ERR_STORE_UNAVAILABLE;

	for (i = 0; i < 50 && rc == E2E_ERR_STORE_UNAVAILABLE; i++) {
		rc = e2e_redis_check_commit(rs, in, "t", 0, NOW);
		if (rc == E2E_ERR_STORE_UNAVAILABLE)
			nanosleep(&pause, NULL);
	}
	return rc;
}

/* A member that has joined holds its messages (store-unavailable, never
 * refused for good) while Redis presents a certificate it does not trust,
 * e.g. one rotated wrongly, and judges them once the right one is back. */
static void
tls_reconnection_refused_by_certificate_is_store_unavailable(void **state)
{
	struct redis_server *s = &rotated;
	struct tls_files f;
	e2e_redis_opts o;
	e2e_redis *rs = NULL;
	e2e_info m1 = info_of(A, 1), m2 = info_of(A, 2);

	(void)state;
	assert_int_equal(redis_server_start_tls(s, NULL), 0);
	files_of(s, &f);
	e2e_redis_opts_default(&o);
	o.tls_cacert = f.ca;
	assert_int_equal(e2e_redis_connect(&rs, s->url, &o, NULL), E2E_OK);
	assert_int_equal(e2e_redis_check_commit(rs, &m1, "t", 0, NOW), E2E_OK);
	redis_server_stop(s, SIGTERM);
	swap_server_certificate(s);
	assert_int_equal(redis_server_restart(s), 0);
	assert_int_equal(e2e_redis_check_commit(rs, &m2, "t", 0, NOW),
			 E2E_ERR_STORE_UNAVAILABLE);
	redis_server_stop(s, SIGTERM);
	swap_server_certificate(s);
	assert_int_equal(redis_server_restart(s), 0);
	assert_int_equal(settled(rs, &m2), E2E_OK);
	assert_int_equal(e2e_redis_check_commit(rs, &m1, "t", 0, NOW),
			 E2E_ERR_REPLAY);
	e2e_redis_free(rs);
}

/* ---- client certificates */

static void tls_auth_clients_refuses_a_member_without_certificate(void **state)
{
	struct attempt *a = attempt(&mtls, NULL, "127.0.0.1");

	(void)state;
	assert_int_equal(tried(a), E2E_ERR_STORE_TLS);
}

static void tls_auth_clients_accepts_the_client_certificate(void **state)
{
	struct attempt *a = attempt(&mtls, NULL, "127.0.0.1");

	(void)state;
	a->o.tls_cert = a->f.cert;
	a->o.tls_key = a->f.key;
	assert_int_equal(tried(a), E2E_OK);
}

static void tls_auth_clients_refuses_a_certificate_of_another_ca(void **state)
{
	struct attempt *a = attempt(&mtls, NULL, "127.0.0.1");

	(void)state;
	a->o.tls_cert = a->f.other_cert;
	a->o.tls_key = a->f.other_key;
	assert_int_equal(tried(a), E2E_ERR_STORE_TLS);
}

static void tls_client_key_readable_by_others_is_refused(void **state)
{
	struct attempt *a = attempt(&mtls, NULL, "127.0.0.1");

	(void)state;
	a->o.tls_cert = a->f.cert;
	a->o.tls_key = a->f.key;
	assert_int_equal(chmod(a->f.key, 0640), 0);
	assert_int_equal(tried(a), E2E_ERR_PERMISSIONS);
	assert_int_equal(chmod(a->f.key, 0600), 0);
}

/* A library never asks for a passphrase: an encrypted key is refused,
 * even with a terminal to ask on (OpenSSL's default prompts on /dev/tty):
 * the connection runs in a child whose controlling terminal is a pty. */
static void tls_encrypted_client_key_is_refused_without_a_prompt(void **state)
{
	struct attempt *a = attempt(&mtls, NULL, "127.0.0.1");
	char key[340], out[512];
	size_t got = 0;
	int master, status = 0, i;
	pid_t pid;

	(void)state;
	a->o.tls_cert = a->f.cert;
	a->o.tls_key =
		redis_server_file(&mtls, "client-enc.key", key, sizeof key);
	pid = forkpty(&master, NULL, NULL, NULL);
	assert_true(pid >= 0);
	if (pid == 0) {
		e2e_redis *rs = NULL;
		int rc = e2e_redis_connect(&rs, a->url, &a->o, NULL);

		e2e_redis_free(rs);
		_exit(rc == E2E_ERR_STORE_TLS ? 0 : 1);
	}
	/* 10 s at most: 1000 pauses of 10 ms, reading what it writes. */
	for (i = 0; i < 1000 && waitpid(pid, &status, WNOHANG) == 0; i++) {
		struct pollfd pf = {master, POLLIN, 0};
		struct timespec pause = {0, 10 * 1000 * 1000};
		ssize_t n = 0;

		if (poll(&pf, 1, 0) > 0 && got < sizeof out - 1)
			n = read(master, out + got, sizeof out - 1 - got);
		if (n > 0)
			got += (size_t)n;
		else
			nanosleep(&pause, NULL);
	}
	out[got] = '\0';
	if (i == 1000) { /* still waiting for an answer at its prompt */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		fail_msg("asked on the terminal: %s", out);
	}
	close(master);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_null(strstr(out, "pass phrase"));
}

static void tls_client_certificate_without_key_is_inval(void **state)
{
	struct attempt *a = attempt(&mtls, NULL, "127.0.0.1");

	(void)state;
	a->o.tls_cert = a->f.cert;
	assert_int_equal(tried(a), E2E_ERR_INVAL);
}

static void tls_files_missing_or_not_pem_are_refused(void **state)
{
	struct attempt *a = attempt(&srv, NULL, "127.0.0.1");
	char missing[340];

	(void)state;
	redis_server_file(&srv, "no-such.pem", missing, sizeof missing);
	a->o.tls_cacert = missing;
	assert_int_equal(tried(a), E2E_ERR_IO);
	a->o.tls_cacert = srv.conf; /* a file, not a certificate */
	assert_int_equal(tried(a), E2E_ERR_STORE_TLS);
}

static void tls_options_with_a_plain_url_are_inval(void **state)
{
	struct attempt *a = attempt(&plain, NULL, "127.0.0.1");

	(void)state;
	snprintf(a->url, sizeof a->url, "redis://127.0.0.1:%d/p", plain.port);
	assert_int_equal(tried(a), E2E_ERR_INVAL);
	a->o.tls_cacert = NULL; /* and without them, the plain URL works */
	assert_int_equal(tried(a), E2E_OK);
}

/* ---- passwords and ACL users over TLS */

static void tls_password_and_acl_user_authenticate(void **state)
{
	struct attempt *a = attempt(&authed, NULL, "127.0.0.1");

	(void)state;
	assert_int_equal(tried(a), E2E_ERR_STORE_AUTH);
	a->o.password = "s3cret/pw";
	assert_int_equal(tried(a), E2E_OK);
	a = attempt(&authed, "alice", "127.0.0.1");
	a->o.password = "s3cret/pw";
	assert_int_equal(tried(a), E2E_ERR_STORE_AUTH);
	a->o.password = "wonder land";
	assert_int_equal(tried(a), E2E_OK);
}

static void tls_password_file_authenticates(void **state)
{
	struct attempt *a = attempt(&authed, "alice", "127.0.0.1");
	char path[340];
	FILE *f;

	(void)state;
	redis_server_file(&authed, "alice.pw", path, sizeof path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("wonder land\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0600), 0);
	a->o.password_file = path;
	assert_int_equal(tried(a), E2E_OK);
}

/* ---- setup */

static int setup(void **state)
{
	(void)state;
	assert_int_equal(e2e_init(), E2E_OK);
	if (redis_server_start_tls(&srv, "bind 127.0.0.1 127.0.0.2") != 0 ||
	    redis_server_start_tls(&mtls, "tls-auth-clients yes") != 0 ||
	    redis_server_start_tls(&authed,
				   "requirepass s3cret/pw\n"
				   "user alice on \">wonder land\" ~* &* "
				   "+@all") != 0 ||
	    redis_server_start(&plain, NULL) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	redis_server_cleanup(&srv);
	redis_server_cleanup(&mtls);
	redis_server_cleanup(&authed);
	redis_server_cleanup(&plain);
	redis_server_cleanup(&rotated);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			tls_member_accepts_a_message_once_and_refuses_its_copy),
		cmocka_unit_test(tls_trusts_a_directory_of_hashed_cas),
		cmocka_unit_test(tls_members_racing_accept_each_message_once),
		cmocka_unit_test(
			tls_server_certificate_from_another_ca_is_refused),
		cmocka_unit_test(tls_without_cacert_trusts_only_the_system_cas),
		cmocka_unit_test(tls_certificate_for_another_ip_is_refused),
		cmocka_unit_test(tls_sni_names_the_certificate_to_verify),
		cmocka_unit_test(
			rediss_to_a_server_without_tls_is_refused_within_the_timeout),
		cmocka_unit_test(
			tls_silent_server_times_out_as_store_unavailable),
		cmocka_unit_test(
			tls_reconnection_refused_by_certificate_is_store_unavailable),
		cmocka_unit_test(
			tls_auth_clients_refuses_a_member_without_certificate),
		cmocka_unit_test(
			tls_auth_clients_accepts_the_client_certificate),
		cmocka_unit_test(
			tls_auth_clients_refuses_a_certificate_of_another_ca),
		cmocka_unit_test(tls_client_key_readable_by_others_is_refused),
		cmocka_unit_test(
			tls_encrypted_client_key_is_refused_without_a_prompt),
		cmocka_unit_test(tls_client_certificate_without_key_is_inval),
		cmocka_unit_test(tls_files_missing_or_not_pem_are_refused),
		cmocka_unit_test(tls_options_with_a_plain_url_are_inval),
		cmocka_unit_test(tls_password_and_acl_user_authenticate),
		cmocka_unit_test(tls_password_file_authenticates),
	};

	if (redis_server_path() == NULL) {
		const char *strict = getenv("LIBE2E_TEST_STRICT");

		fprintf(stderr, "redis-server not installed\n");
		return strict != NULL && strcmp(strict, "1") == 0 ? 1 : 77;
	}
	return cmocka_run_group_tests_name("redis_tls", tests, setup, teardown);
}
