/*
 * redis.c: the replay guard of libe2e kept in Redis (docs/GROUPS.md).
 *
 * The rules live in one Lua script (guard.lua, compiled in as guard_lua.h),
 * loaded once per connection and called with EVALSHA: Redis runs a script
 * to its end before any other client's command, so the check and the
 * commit of one message are atomic for the whole group, in one round trip.
 * This file parses the URL, authenticates, formats the script's arguments
 * and turns Redis's answers into libe2e errors; link.c carries them, over
 * TCP (redis://) or TLS (rediss://). A call whose answer is
 * lost with the connection is retried once on a new one, with the same
 * call token: the script accepts a retry exactly when the lost call was
 * accepted, so a lost answer neither loses nor doubles a message.
 */
#include "e2e_redis.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <sodium.h>

#include "guard_lua.h"
#include "link.h"

#define E2E_REDIS_API __attribute__((visibility("default")))

#define PROTOCOL "2"
#define HOST_MAX 255u
#define PREFIX_MAX 200u
#define CRED_MAX 1024u
#define NARGS 20  /* EVALSHA sha 1 KEYS[1] + 16 script arguments */
#define COMMON 14 /* of them, those every message of a call shares */
#define MSG_ARGS (NARGS - COMMON) /* and those of each message */
#define PIPELINE E2E_REDIS_PIPELINE_MAX
#define DOUBTS (E2E_REDIS_BATCH_MAX * E2E_REDIS_PIPELINE_MAX)
#define DEFAULT_PORT 6379
#define DEFAULT_TIMEOUT_MS 2000u

/* A batch in flight: its calls, the caller's items (verdicts go there
 * once answered) and, until then, its verdicts. */
struct slot {
	struct call *k;
	e2e_redis_item *items;
	size_t n;
	int v[E2E_REDIS_BATCH_MAX];
	int failed;    /* no answer to wait for: v holds the store error */
	int recovered; /* sent again once on a new connection */
};

struct e2e_redis {
	e2e__link *c;
	e2e__tls *tls; /* rediss://: the TLS settings; NULL: plain TCP */
	int use_tls;
	char host[HOST_MAX + 1];
	int port;
	char base[PREFIX_MAX + 5]; /* "{PREFIX}:g", the script's KEYS[1] */
	char user[CRED_MAX + 1];
	char pass[CRED_MAX + 1];
	int has_pass;
	struct timeval timeout;
	char sha[41];
	char member[17];
	uint64_t next_token;
	/* The guard's sizes and rules, as the script takes them. */
	char cfg[7][12];
	/* Calls whose answer was lost and not recovered: their message and
	 * token, so that a redelivery retries them (Redis keeps which of a
	 * member's last 65536 tokens were accepted): as many as can be in
	 * flight at once. */
	struct doubt {
		uint64_t sender, seq, token; /* token 0: free */
	} doubt[DOUBTS];
	unsigned next_doubt;
	/* Doubts with a token: none (the usual case, outages apart), and a
	 * call does not look through the DOUBTS entries. */
	unsigned live_doubts;
	/* The batches in flight, oldest first from slot[head]: each one
	 * script call, sent and not yet answered (docs/GROUPS.md section 1,
	 * "Two batches in flight"). */
	struct slot slot[PIPELINE];
	unsigned head, pending;
	/* The slots' calls (E2E_REDIS_BATCH_MAX each) and a command's
	 * arguments: too big for a caller's stack. */
	struct call *batch;
	const char **argv;
	size_t *len;
};

/* One call's script arguments. */
struct call {
	char sid[17], seq[17], ts[11], now[21], digest[33], token[21], bits[3];
	const char *argv[NARGS];
	size_t len[NARGS];
	unsigned flags; /* 1 signed, 2 retained intent, 4 delivered retained */
	int retry;
	int sent; /* handed to the connection: its outcome may be unknown */
	struct doubt *doubt; /* the doubt it retries, or NULL */
};

E2E_REDIS_API void e2e_redis_opts_default(e2e_redis_opts *o)
{
	if (o == NULL)
		return;
	memset(o, 0, sizeof *o);
	o->timeout_ms = DEFAULT_TIMEOUT_MS;
}

/* ---- URL ------------------------------------------------------------------
 */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Copy [s, s + n) into out (cap bytes with its NUL), %-decoding. */
static int decode(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int ch = (unsigned char)s[i];

		if (ch == '%') {
			int h, l;

			if (i + 2 >= n)
				return E2E_ERR_INVAL;
			h = hexval(s[i + 1]);
			l = hexval(s[i + 2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0))
				return E2E_ERR_INVAL;
			ch = h * 16 + l;
			i += 2;
		}
		if (o + 1 >= cap)
			return E2E_ERR_INVAL;
		out[o++] = (char)ch;
	}
	out[o] = '\0';
	return E2E_OK;
}

static int prefix_valid(const char *p)
{
	size_t n = strlen(p), i;

	if (n == 0 || n > PREFIX_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!(p[i] >= 'a' && p[i] <= 'z') &&
		    !(p[i] >= 'A' && p[i] <= 'Z') &&
		    !(p[i] >= '0' && p[i] <= '9') &&
		    strchr("._-/:", p[i]) == NULL)
			return 0;
	return 1;
}

/* The authority's HOST[:PORT] in [s, end). */
static int parse_hostport(e2e_redis *rs, const char *s, const char *end)
{
	const char *hend, *colon = NULL;

	if (s < end && *s == '[') {
		hend = memchr(s, ']', (size_t)(end - s));
		if (hend == NULL)
			return E2E_ERR_INVAL;
		s++;
		if (hend + 1 < end) {
			if (hend[1] != ':')
				return E2E_ERR_INVAL;
			colon = hend + 1;
		}
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		hend = colon != NULL ? colon : end;
	}
	if (hend == s || (size_t)(hend - s) > HOST_MAX)
		return E2E_ERR_INVAL;
	memcpy(rs->host, s, (size_t)(hend - s));
	rs->host[hend - s] = '\0';
	rs->port = DEFAULT_PORT;
	if (colon != NULL) {
		long port = 0;
		const char *p;

		if (colon + 1 == end || end - colon > 6)
			return E2E_ERR_INVAL;
		for (p = colon + 1; p < end; p++) {
			if (*p < '0' || *p > '9')
				return E2E_ERR_INVAL;
			port = port * 10 + (*p - '0');
		}
		if (port < 1 || port > 65535)
			return E2E_ERR_INVAL;
		rs->port = (int)port;
	}
	return E2E_OK;
}

static int parse_url(e2e_redis *rs, const char *url)
{
	const char *auth, *at, *slash, *colon;
	int rc;

	if (strncmp(url, "rediss://", 9) == 0) {
		rs->use_tls = 1;
		auth = url + 9;
	} else if (strncmp(url, "redis://", 8) == 0) {
		auth = url + 8;
	} else {
		return E2E_ERR_INVAL;
	}
	slash = strchr(auth, '/');
	if (slash == NULL || !prefix_valid(slash + 1))
		return E2E_ERR_INVAL;
	at = memchr(auth, '@', (size_t)(slash - auth));
	if (at != NULL) {
		colon = memchr(auth, ':', (size_t)(at - auth));
		if (colon != NULL) {
			rc = decode(colon + 1, (size_t)(at - colon - 1),
				    rs->pass, sizeof rs->pass);
			if (rc != E2E_OK)
				return rc;
			rs->has_pass = 1;
		} else {
			colon = at;
		}
		rc = decode(auth, (size_t)(colon - auth), rs->user,
			    sizeof rs->user);
		if (rc != E2E_OK)
			return rc;
		auth = at + 1;
	}
	rc = parse_hostport(rs, auth, slash);
	if (rc != E2E_OK)
		return rc;
	snprintf(rs->base, sizeof rs->base, "{%s}:g", slash + 1);
	return E2E_OK;
}

/* ---- credentials ----------------------------------------------------------
 */

/* The first line of a file only its owner may read. */
static int read_password(e2e_redis *rs, const char *path)
{
	struct stat st;
	char buf[CRED_MAX + 2], *nl;
	ssize_t n;
	size_t len = 0;
	int fd, rc = E2E_OK;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return E2E_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = E2E_ERR_IO;
		goto cleanup;
	}
	if ((st.st_mode & 077) != 0) {
		rc = E2E_ERR_PERMISSIONS;
		goto cleanup;
	}
	while (len < sizeof buf &&
	       (n = read(fd, buf + len, sizeof buf - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = E2E_ERR_IO;
			goto cleanup;
		}
		len += (size_t)n;
	}
	nl = memchr(buf, '\n', len);
	if (nl != NULL)
		len = (size_t)(nl - buf);
	if (len > CRED_MAX) {
		rc = E2E_ERR_INVAL;
		goto cleanup;
	}
	memcpy(rs->pass, buf, len);
	rs->pass[len] = '\0';
	rs->has_pass = 1;
cleanup:
	sodium_memzero(buf, sizeof buf);
	close(fd);
	return rc;
}

/* ---- connection -----------------------------------------------------------
 */

/*
 * Redis's answers that mean "not now" rather than "no": the message is
 * neither accepted nor refused for good (QoS 1 is redelivered). OOM
 * (maxmemory reached under noeviction), READONLY (a primary demoted to a
 * replica, as in a failover), NOREPLICAS (min-replicas-to-write not met)
 * and MISCONF (Redis cannot persist: a full disk) refuse a script's write
 * commands; none of these states changes while a script runs (and OOM is
 * checked at its first write only), so a script refused with one of them
 * has written nothing.
 */
static int transient(const char *msg)
{
	static const char *const words[] = {
		"LOADING",   "BUSY",        "MASTERDOWN",
		"TRYAGAIN",  "CLUSTERDOWN", "OOM ",
		"READONLY ", "NOREPLICAS ", "MISCONF "};
	size_t i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strncmp(msg, words[i], strlen(words[i])) == 0)
			return 1;
	return 0;
}

static int reply_error(const redisReply *r)
{
	if (strncmp(r->str, "NOAUTH", 6) == 0 ||
	    strncmp(r->str, "WRONGPASS", 9) == 0 ||
	    strncmp(r->str, "NOPERM", 6) == 0)
		return E2E_ERR_STORE_AUTH;
	return transient(r->str) ? E2E_ERR_STORE_UNAVAILABLE
				 : E2E_ERR_STORE_ERROR;
}

static void disconnect(e2e_redis *rs)
{
	e2e__link_close(rs->c);
	rs->c = NULL;
}

/* One command on the connection: E2E_OK with *out, or a store error. */
static int command(e2e_redis *rs, redisReply **out, int argc, const char **argv,
		   const size_t *len)
{
	redisReply *r = NULL;
	int rc;

	*out = NULL;
	if (e2e__link_append(rs->c, argc, argv, len) != 0)
		rc = E2E_ERR_STORE_UNAVAILABLE;
	else
		rc = e2e__link_reply(rs->c, &r);
	if (rc != E2E_OK) {
		disconnect(rs);
		return rc;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		rc = reply_error(r);
		freeReplyObject(r);
		return rc;
	}
	*out = r;
	return E2E_OK;
}

static int load_script(e2e_redis *rs)
{
	const char *argv[3] = {"SCRIPT", "LOAD", e2e__guard_lua};
	size_t len[3] = {6, 4, sizeof e2e__guard_lua - 1};
	redisReply *r;
	int rc = command(rs, &r, 3, argv, len);

	if (rc != E2E_OK)
		return rc;
	if (r->type != REDIS_REPLY_STRING || r->len != 40) {
		freeReplyObject(r);
		return E2E_ERR_STORE_ERROR;
	}
	memcpy(rs->sha, r->str, 40);
	rs->sha[40] = '\0';
	freeReplyObject(r);
	return E2E_OK;
}

static int authenticate(e2e_redis *rs)
{
	const char *argv[3] = {"AUTH", rs->user, rs->pass};
	size_t len[3] = {4, strlen(rs->user), strlen(rs->pass)};
	redisReply *r;
	int rc;

	/* A user without a password: an ACL user with nopass. */
	if (!rs->has_pass && rs->user[0] == '\0')
		return E2E_OK;
	if (rs->user[0] == '\0') {
		argv[1] = rs->pass;
		len[1] = len[2];
	}
	rc = command(rs, &r, rs->user[0] == '\0' ? 2 : 3, argv, len);
	if (rc == E2E_ERR_STORE_ERROR)
		rc = E2E_ERR_STORE_AUTH; /* "ERR invalid password" (Redis 5) */
	if (r != NULL)
		freeReplyObject(r);
	return rc;
}

/*
 * The protocol of the group's state, if it has one: a member never mixes
 * its commands with those of another protocol (docs/GROUPS.md section 6).
 * Checked at each connection; the script checks it again at every call,
 * for a group made since.
 */
static int check_protocol(e2e_redis *rs)
{
	const char *argv[3] = {"HGET", rs->base, "v"};
	size_t len[3] = {4, strlen(rs->base), 1};
	redisReply *r;
	int rc = command(rs, &r, 3, argv, len);

	if (rc != E2E_OK)
		return rc;
	if (r->type == REDIS_REPLY_STRING &&
	    (r->len != strlen(PROTOCOL) || memcmp(r->str, PROTOCOL, r->len)))
		rc = E2E_ERR_STORE_PROTOCOL;
	else if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL)
		rc = E2E_ERR_STORE_ERROR;
	freeReplyObject(r);
	return rc;
}

static int connect_store(e2e_redis *rs)
{
	int rc;

	disconnect(rs);
	rc = e2e__link_open(&rs->c, rs->host, rs->port, &rs->timeout, rs->tls);
	if (rc != E2E_OK)
		return rc;
	/* The protocol before the script: an unauthenticated client may not
	 * send a string as long as the script (Redis answers it with a
	 * protocol error, not NOAUTH). */
	if ((rc = authenticate(rs)) != E2E_OK ||
	    (rc = check_protocol(rs)) != E2E_OK ||
	    (rc = load_script(rs)) != E2E_OK)
		disconnect(rs);
	return rc;
}

/*
 * Connect again within a call. A TLS refusal is then an outage like any
 * other (E2E_ERR_STORE_UNAVAILABLE): the member joined with a certificate
 * it trusted, and one the server presents after a restart (rotated
 * wrongly, say) must not make it refuse messages for good; QoS 1 ones are
 * held until the server is right again.
 */
static int reconnect(e2e_redis *rs)
{
	int rc = connect_store(rs);

	return rc == E2E_ERR_STORE_TLS ? E2E_ERR_STORE_UNAVAILABLE : rc;
}

static int guard_cfg(e2e_redis *rs, const e2e_guard_opts *g)
{
	e2e_guard_opts def;
	uint32_t v[7];
	int i;

	if (g == NULL) {
		e2e_guard_opts_default(&def);
		def.window = E2E_REDIS_WINDOW_DEFAULT;
		g = &def;
	}
	/* The limits of e2e_guard_new(), which the script relies on. */
	if (g->window < 64 || g->window > 65536 || g->window % 64 != 0 ||
	    g->max_senders < 1 || g->max_senders > (1u << 24) ||
	    g->max_retained_topics < 1 || g->max_retained_topics > (1u << 24) ||
	    (g->flags & ~E2E_GUARD_ACCEPT_NO_CLOCK) != 0)
		return E2E_ERR_INVAL;
	v[0] = g->window;
	v[1] = g->max_senders;
	v[2] = g->max_retained_topics;
	v[3] = g->max_age;
	v[4] = g->max_skew;
	v[5] = g->flags;
	v[6] = g->max_retained_age;
	for (i = 0; i < 7; i++)
		snprintf(rs->cfg[i], sizeof rs->cfg[i], "%" PRIu32, v[i]);
	return E2E_OK;
}

/* rediss://: the TLS settings; the certificate options go only with it. */
static int tls_setup(e2e_redis *rs, const e2e_redis_opts *o)
{
	struct e2e__tls_opts t = {o->tls_cacert, o->tls_cacertdir, o->tls_cert,
				  o->tls_key, o->tls_sni};

	if (!rs->use_tls)
		return t.cacert || t.cacertdir || t.cert || t.key || t.sni
			       ? E2E_ERR_INVAL
			       : E2E_OK;
	return e2e__tls_new(&rs->tls, &t);
}

E2E_REDIS_API int e2e_redis_connect(e2e_redis **out, const char *url,
				    const e2e_redis_opts *opts,
				    const e2e_guard_opts *guard)
{
	e2e_redis_opts def;
	e2e_redis *rs;
	uint8_t id[8];
	uint32_t ms;
	int rc;

	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (url == NULL)
		return E2E_ERR_INVAL;
	if (opts == NULL) {
		e2e_redis_opts_default(&def);
		opts = &def;
	}
	rs = calloc(1, sizeof *rs);
	if (rs == NULL)
		return E2E_ERR_NOMEM;
	rs->batch = calloc(PIPELINE * E2E_REDIS_BATCH_MAX, sizeof *rs->batch);
	rs->argv = calloc(COMMON + MSG_ARGS * E2E_REDIS_BATCH_MAX,
			  sizeof *rs->argv);
	rs->len = calloc(COMMON + MSG_ARGS * E2E_REDIS_BATCH_MAX,
			 sizeof *rs->len);
	if (rs->batch == NULL || rs->argv == NULL || rs->len == NULL) {
		rc = E2E_ERR_NOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < PIPELINE; i++)
		rs->slot[i].k = rs->batch + i * E2E_REDIS_BATCH_MAX;
	if ((rc = parse_url(rs, url)) != E2E_OK ||
	    (rc = guard_cfg(rs, guard)) != E2E_OK ||
	    (rc = tls_setup(rs, opts)) != E2E_OK)
		goto fail;
	if (opts->password != NULL) {
		if (strlen(opts->password) > CRED_MAX) {
			rc = E2E_ERR_INVAL;
			goto fail;
		}
		strcpy(rs->pass, opts->password);
		rs->has_pass = 1;
	} else if (opts->password_file != NULL &&
		   (rc = read_password(rs, opts->password_file)) != E2E_OK) {
		goto fail;
	}
	ms = opts->timeout_ms != 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
	rs->timeout.tv_sec = ms / 1000;
	rs->timeout.tv_usec = (long)(ms % 1000) * 1000;
	randombytes_buf(id, sizeof id);
	sodium_bin2hex(rs->member, sizeof rs->member, id, sizeof id);
	if ((rc = connect_store(rs)) != E2E_OK)
		goto fail;
	*out = rs;
	return E2E_OK;
fail:
	e2e_redis_free(rs);
	return rc;
}

E2E_REDIS_API void e2e_redis_free(e2e_redis *rs)
{
	if (rs == NULL)
		return;
	disconnect(rs);
	free(rs->batch);
	free(rs->argv);
	free(rs->len);
	e2e__tls_free(rs->tls);
	sodium_memzero(rs, sizeof *rs);
	free(rs);
}

E2E_REDIS_API int e2e_redis_url_check(const char *url, int *has_password)
{
	e2e_redis *rs;
	int rc;

	if (has_password != NULL)
		*has_password = 0;
	if (url == NULL)
		return E2E_ERR_INVAL;
	if ((rs = calloc(1, sizeof *rs)) == NULL)
		return E2E_ERR_NOMEM;
	rc = parse_url(rs, url);
	if (rc == E2E_OK && has_password != NULL)
		*has_password = rs->has_pass;
	sodium_memzero(rs, sizeof *rs); /* the password it decoded */
	free(rs);
	return rc;
}

/* ---- calls ----------------------------------------------------------------
 */

/* The script's numbers, written per message: snprintf's parsing of its
 * format was a third of a call's formatting (callgrind). */
static size_t put_hex16(char *out, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 15; i >= 0; i--, v >>= 4)
		out[i] = digits[v & 15];
	out[16] = '\0';
	return 16;
}

static size_t put_dec(char *out, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

/* The message's bits argument: its flags, and 8 for a retry. */
static void set_bits(struct call *k)
{
	k->argv[17] = k->bits;
	k->len[17] = put_dec(k->bits, (k->flags | (k->retry ? 8u : 0u)) & 15u);
}

static int call_init(e2e_redis *rs, struct call *k, const e2e_info *info,
		     const char *topic, uint32_t delivery, uint64_t now)
{
	int retained = (delivery & E2E_DELIVERY_RETAINED) != 0, i;
	uint64_t token;

	if (info == NULL || topic == NULL)
		return E2E_ERR_INVAL;
	k->len[14] = put_hex16(k->sid, info->sender_id);
	k->len[15] = put_hex16(k->seq, info->seq);
	k->len[16] = put_dec(k->ts, info->timestamp);
	k->len[12] = put_dec(k->now, now != 0 ? now : (uint64_t)time(NULL));
	k->digest[0] = '\0';
	k->len[18] = 0;
	if (retained || info->retained) {
		uint8_t d[16];

		crypto_generichash(d, sizeof d, (const unsigned char *)topic,
				   strlen(topic), NULL, 0);
		sodium_bin2hex(k->digest, sizeof k->digest, d, sizeof d);
		k->len[18] = 32;
	}
	/* The redelivery of a message whose answer was lost retries it. */
	k->doubt = NULL;
	for (i = 0; rs->live_doubts && i < (int)DOUBTS; i++)
		if (rs->doubt[i].token != 0 &&
		    rs->doubt[i].sender == info->sender_id &&
		    rs->doubt[i].seq == info->seq)
			k->doubt = &rs->doubt[i];
	k->retry = k->doubt != NULL;
	k->sent = 0;
	token = k->retry ? k->doubt->token : ++rs->next_token;
	k->len[19] = put_dec(k->token, token);
	k->argv[0] = "EVALSHA";
	k->argv[1] = rs->sha;
	k->argv[2] = "1";
	k->argv[3] = rs->base;
	k->argv[4] = PROTOCOL;
	for (i = 0; i < 7; i++)
		k->argv[5 + i] = rs->cfg[i];
	k->argv[12] = k->now;
	k->argv[13] = rs->member;
	k->argv[14] = k->sid;
	k->argv[15] = k->seq;
	k->argv[16] = k->ts;
	k->flags = (info->is_signed ? 1 : 0) | (info->retained ? 2 : 0) |
		   (retained ? 4 : 0);
	set_bits(k);
	k->argv[18] = k->digest;
	k->argv[19] = k->token;
	for (i = 0; i < 12; i++)
		k->len[i] = strlen(k->argv[i]);
	k->len[13] = 16;
	return E2E_OK;
}

/* Make k a new call rather than the retry of a doubt. */
static void fresh_call(e2e_redis *rs, struct call *k)
{
	k->doubt = NULL;
	k->retry = 0;
	k->len[19] = put_dec(k->token, ++rs->next_token);
	set_bits(k);
}

/* The lowest verdict the script returns (E2E_ERRNO_MAP's last code). */
#define LOWEST_VERDICT E2E_ERR_STORE_PROTOCOL

/* A reply to EVALSHA as a verdict; 1 for NOSCRIPT (load and run again). */
static int verdict_of(const redisReply *r)
{
	if (r->type == REDIS_REPLY_INTEGER && r->integer <= 0 &&
	    r->integer >= LOWEST_VERDICT)
		return (int)r->integer;
	if (r->type == REDIS_REPLY_ERROR) {
		if (strncmp(r->str, "NOSCRIPT", 8) == 0)
			return 1;
		return reply_error(r);
	}
	return E2E_ERR_STORE_ERROR;
}

/* Calls k[0..n), made with one clock, as one EVALSHA: the arguments
 * they share (k[0]'s), then the six of each message (docs/GROUPS.md
 * section 6). */
static int append_calls(e2e_redis *rs, const struct call *k, size_t n)
{
	const char **argv = rs->argv;
	size_t *len = rs->len, i, a = COMMON;

	memcpy(argv, k[0].argv, COMMON * sizeof *argv);
	memcpy(len, k[0].len, COMMON * sizeof *len);
	for (i = 0; i < n; i++, a += MSG_ARGS) {
		memcpy(argv + a, k[i].argv + COMMON, MSG_ARGS * sizeof *argv);
		memcpy(len + a, k[i].len + COMMON, MSG_ARGS * sizeof *len);
	}
	return e2e__link_append(rs->c, (int)a, argv, len);
}

/* The i-th batch in flight, from the oldest. */
static struct slot *slot_at(e2e_redis *rs, unsigned i)
{
	return &rs->slot[(rs->head + i) % PIPELINE];
}

/* Every batch in flight still waiting for its answer gets rc instead. */
static void fail_in_flight(e2e_redis *rs, int rc)
{
	for (unsigned i = 0; i < rs->pending; i++) {
		struct slot *s = slot_at(rs, i);

		if (s->failed)
			continue;
		for (size_t j = 0; j < s->n; j++)
			s->v[j] = rc;
		s->failed = 1;
	}
}

/* Write a batch's script call, without waiting for its answer: 0, or -1
 * when the connection failed (then it is closed). */
static int send_slot(e2e_redis *rs, struct slot *s)
{
	size_t i;

	if (rs->c == NULL)
		return -1;
	if (append_calls(rs, s->k, s->n) != 0) {
		disconnect(rs);
		return -1;
	}
	for (i = 0; i < s->n; i++)
		s->k[i].sent = 1;
	if (e2e__link_flush(rs->c) != E2E_OK) {
		disconnect(rs);
		return -1;
	}
	return 0;
}

/*
 * The connection failed (or Redis did not know the script) with batches
 * in flight, whose answers are lost: connect again (which loads the
 * script) and send every one of them again, in their order, as retries of
 * the same tokens; the script accepts a retry exactly when the lost call
 * was. Once per batch: when that fails, or a batch in flight was sent
 * again once already, every batch in flight without an answer gets the
 * store error (an outage: E2E_ERR_STORE_UNAVAILABLE for all of them).
 */
static void recover(e2e_redis *rs)
{
	int rc = E2E_ERR_STORE_UNAVAILABLE;
	unsigned i;
	size_t j;

	disconnect(rs);
	for (i = 0; i < rs->pending; i++)
		if (!slot_at(rs, i)->failed && slot_at(rs, i)->recovered)
			goto fail;
	for (i = 0; i < rs->pending; i++) {
		struct slot *s = slot_at(rs, i);

		s->recovered = 1;
		for (j = 0; !s->failed && j < s->n; j++) {
			s->k[j].retry = 1;
			set_bits(&s->k[j]);
		}
	}
	if ((rc = reconnect(rs)) != E2E_OK)
		goto fail;
	for (i = 0; i < rs->pending; i++)
		if (!slot_at(rs, i)->failed &&
		    send_slot(rs, slot_at(rs, i)) != 0) {
			rc = E2E_ERR_STORE_UNAVAILABLE;
			goto fail;
		}
	return;
fail:
	disconnect(rs);
	fail_in_flight(rs, rc);
}

/*
 * Read the oldest batch's answer into its verdicts: the script's answer
 * is one verdict for one message, a list of n for more, or an error for
 * all (NOSCRIPT, LOADING, ...). Returns 0, 1 for NOSCRIPT (the script did
 * not run), or -1 when the connection failed (then it is closed).
 */
static int read_slot(e2e_redis *rs, struct slot *s)
{
	redisReply *r;
	size_t i, n = s->n;

	if (rs->c == NULL || e2e__link_reply(rs->c, &r) != E2E_OK) {
		disconnect(rs);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (n > 1 && r->type == REDIS_REPLY_ARRAY && r->elements == n)
			s->v[i] = verdict_of(r->element[i]);
		else if (n > 1 && r->type != REDIS_REPLY_ERROR)
			s->v[i] = E2E_ERR_STORE_ERROR;
		else
			s->v[i] = verdict_of(r);
	freeReplyObject(r);
	return s->v[0] == 1 ? 1 : 0;
}

/*
 * Wait for the oldest batch's verdicts. Redis runs the script calls of one
 * connection in the order they were sent, each atomically: a batch sent
 * while the one before it was at Redis is judged after it, seeing what it
 * committed. A lost answer, or NOSCRIPT, sends the batches in flight
 * again (recover); NOSCRIPT once the script was loaded again is
 * E2E_ERR_STORE_ERROR.
 */
static void await_slot(e2e_redis *rs, struct slot *s)
{
	while (!s->failed) {
		int got = read_slot(rs, s);

		if (got == 0)
			return;
		if (got == 1 && s->recovered) {
			for (size_t i = 0; i < s->n; i++)
				s->v[i] = E2E_ERR_STORE_ERROR;
			return;
		}
		recover(rs);
	}
}

/* Remember the message of a call sent and left without an answer, or
 * forget a doubt once its retry has one. */
static void note_doubt(e2e_redis *rs, const e2e_info *info,
		       const struct call *k, int verdict)
{
	struct doubt *d;

	if (verdict != E2E_ERR_STORE_UNAVAILABLE) {
		if (k->doubt != NULL && k->doubt->token != 0) {
			k->doubt->token = 0;
			rs->live_doubts--;
		}
		return;
	}
	if (!k->sent || k->doubt != NULL)
		return;
	d = &rs->doubt[rs->next_doubt++ % DOUBTS];
	if (d->token == 0)
		rs->live_doubts++;
	d->sender = info->sender_id;
	d->seq = info->seq;
	d->token = strtoull(k->token, NULL, 10);
}

/*
 * Calls that never reached Redis give their tokens back: the script keeps
 * a member's tokens within 65536 of the highest it accepted (docs/GROUPS.md
 * section 6), so an outage must not move the member's count on, or the
 * retry of a call whose answer was lost before it would no longer be
 * recognised once Redis is back.
 */
static void give_back_tokens(e2e_redis *rs, const struct call *k, size_t n,
			     uint64_t before)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (k[i].sent)
			return;
	rs->next_token = before;
}

/* Whether rc is an error of the store rather than a verdict. */
static int store_error(int rc)
{
	return rc == E2E_ERR_STORE_UNAVAILABLE || rc == E2E_ERR_STORE_ERROR ||
	       rc == E2E_ERR_STORE_AUTH || rc == E2E_ERR_STORE_MISMATCH ||
	       rc == E2E_ERR_STORE_PROTOCOL;
}

E2E_REDIS_API int e2e_redis_batch_send(e2e_redis *rs, e2e_redis_item *items,
				       size_t n, uint64_t now)
{
	struct slot *s;
	struct call *k;
	uint64_t before;
	size_t i, j;
	int rc;

	if (rs == NULL || items == NULL || n == 0 || n > E2E_REDIS_BATCH_MAX ||
	    rs->pending >= PIPELINE)
		return E2E_ERR_INVAL;
	s = slot_at(rs, rs->pending);
	k = s->k;
	before = rs->next_token;
	if (now == 0)
		now = (uint64_t)time(NULL);
	for (i = 0; i < n; i++) {
		items[i].verdict = E2E_ERR_INVAL;
		if (call_init(rs, &k[i], items[i].info, items[i].topic,
			      items[i].delivery, now) != E2E_OK) {
			rs->next_token = before;
			return E2E_ERR_INVAL;
		}
		/* The same message twice in flight (in this batch or one
		 * sent before): only the first may retry a lost call (the
		 * retry is accepted when that call was); the second is a new
		 * call, and a replay. */
		for (j = 0; k[i].doubt && j < i; j++)
			if (k[j].doubt == k[i].doubt)
				fresh_call(rs, &k[i]);
		for (unsigned b = 0; k[i].doubt && b < rs->pending; b++)
			for (j = 0; k[i].doubt && j < slot_at(rs, b)->n; j++)
				if (slot_at(rs, b)->k[j].doubt == k[i].doubt)
					fresh_call(rs, &k[i]);
	}
	s->items = items;
	s->n = n;
	s->failed = 0;
	s->recovered = 0;
	rs->pending++;
	/* No connection: every batch in flight has its answer (an outage
	 * failed them), so this one is the only one to send. */
	if (rs->c == NULL && (rc = reconnect(rs)) != E2E_OK) {
		for (i = 0; i < n; i++)
			s->v[i] = rc;
		s->failed = 1;
	} else if (send_slot(rs, s) != 0) {
		recover(rs);
	}
	if (s->failed)
		give_back_tokens(rs, k, n, before);
	return E2E_OK;
}

E2E_REDIS_API int e2e_redis_batch_recv(e2e_redis *rs)
{
	struct slot *s;
	int rc = E2E_OK;
	size_t i;

	if (rs == NULL || rs->pending == 0)
		return E2E_ERR_INVAL;
	s = slot_at(rs, 0);
	await_slot(rs, s);
	rs->head = (rs->head + 1) % PIPELINE;
	rs->pending--;
	for (i = 0; i < s->n; i++) {
		s->items[i].verdict = s->v[i];
		note_doubt(rs, s->items[i].info, &s->k[i], s->v[i]);
		if (rc == E2E_OK && store_error(s->v[i]))
			rc = s->v[i];
	}
	s->items = NULL;
	return rc;
}

E2E_REDIS_API int e2e_redis_batch_wait(e2e_redis *rs, int wake_fd)
{
	struct pollfd p[2];
	int ms, n;

	if (rs == NULL || rs->pending == 0)
		return E2E_ERR_INVAL;
	if (slot_at(rs, 0)->failed || rs->c == NULL ||
	    e2e__link_buffered(rs->c))
		return 1;
	p[0].fd = e2e__link_fd(rs->c);
	p[1].fd = wake_fd;
	p[0].events = p[1].events = POLLIN;
	p[0].revents = p[1].revents = 0;
	ms = (int)(rs->timeout.tv_sec * 1000 + rs->timeout.tv_usec / 1000);
	n = poll(p, wake_fd >= 0 ? 2 : 1, ms);
	if (n < 0 && errno == EINTR)
		return 0;
	/* An answer, a connection closed, or the timeout: recv now. */
	return n <= 0 || p[0].revents != 0 ? 1 : 0;
}

E2E_REDIS_API size_t e2e_redis_batch_pending(const e2e_redis *rs)
{
	return rs != NULL ? rs->pending : 0;
}

E2E_REDIS_API int e2e_redis_check_commit_batch(e2e_redis *rs,
					       e2e_redis_item *items, size_t n,
					       uint64_t now)
{
	int rc;

	if (rs == NULL || rs->pending != 0)
		return E2E_ERR_INVAL;
	if ((rc = e2e_redis_batch_send(rs, items, n, now)) != E2E_OK)
		return rc;
	return e2e_redis_batch_recv(rs);
}

E2E_REDIS_API int e2e_redis_check_commit(e2e_redis *rs, const e2e_info *info,
					 const char *topic, uint32_t delivery,
					 uint64_t now)
{
	e2e_redis_item it = {info, topic, delivery, E2E_ERR_INVAL};
	int rc = e2e_redis_check_commit_batch(rs, &it, 1, now);

	return rc == E2E_ERR_INVAL ? rc : it.verdict;
}

E2E_REDIS_API int e2e_redis_open(e2e_redis *rs, const e2e_receiver *r,
				 const char *topic, const uint8_t *env,
				 size_t env_len, uint32_t delivery,
				 uint8_t *out, size_t out_cap, size_t *out_len,
				 e2e_info *info)
{
	e2e_receiver rr;
	e2e_info in;
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (rs == NULL || r == NULL || r->guard != NULL || out_len == NULL)
		return E2E_ERR_INVAL;
	/* One clock for the envelope's checks and the group's. */
	rr = *r;
	if (rr.now == 0)
		rr.now = (uint64_t)time(NULL);
	rc = e2e_open(&rr, topic, env, env_len, delivery, out, out_cap, out_len,
		      &in);
	if (rc == E2E_OK) {
		rc = e2e_redis_check_commit(rs, &in, topic, delivery, rr.now);
		if (rc != E2E_OK) {
			sodium_memzero(out, *out_len);
			*out_len = 0;
		}
	}
	if (info != NULL)
		*info = in;
	return rc;
}
