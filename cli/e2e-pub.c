/*
 * e2e-pub: seal messages with libe2e and publish them, like mosquitto_pub.
 *
 * The message is sealed for its topic with the keyring's primary key (and
 * signed with --sign), then published through Paho MQTTAsync. SIGHUP reloads
 * the keyring without dropping the connection, so a rotation takes effect at
 * the next message. --state keeps the sender's sequence numbers in an epoch
 * file (e2e_epoch_reserve), locked for the whole run: every start is above
 * every earlier one, so (sender, sequence) pairs never repeat even when the
 * clock was set back, and a second publisher of the same file is refused.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "conn.h"
#include "keys.h"
#include "keyupdate.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"
#include "signals.h"
#include "will.h"

/* --help around the options (options.c lists those e2e-pub takes). */
static const struct cli_help help = {
	"e2e-pub: publish end-to-end protected MQTT messages.\n"
	"Usage: e2e-pub -t TOPIC (-m MSG | -f FILE | -s | -l | -n) "
	"[-K KEYRING] [--sign KEY] [options]\n\n",
	"\nSIGHUP reloads the keyring without reconnecting.\n"
	"Publications lost to a broken connection are sent again.\n"
	"Exit status: 0 success, 1 error; a refused connection: the broker's\n"
	"CONNACK code (5 not authorised; MQTT 5: 135), as mosquitto_pub;\n"
	"--help and --version: 1, as mosquitto_pub.\n"};

struct pub {
	struct cli_config cfg;
	struct cli_keys keys;
	e2e_sender *sender;
	struct cli_conn *conn;
	e2e_epoch_lock *epoch; /* --state, held for the whole run */
	struct cli_will will;  /* --will-topic (will.h) */
	int refused;           /* the broker's CONNACK code: the exit status */
	/* --member-key: key updates applied on Paho's thread; mu guards the
	 * keyring between it and this one. */
	struct cli_keyupdate *ku;
	pthread_mutex_t mu;
	/* The envelopes being sealed (one, or a run of -l's lines), kept
	 * from one message to the next. */
	uint8_t *out;
	size_t out_cap;
};

/* ------------------------------------------------------------------------ */
/* --state: the epoch                                                       */
/* ------------------------------------------------------------------------ */

/*
 * A signed publisher's sender id is its signer id, the same at every start:
 * the clock alone keeps its starts apart only while the clock never goes
 * back, and two publishers of one signer would share the id (the receivers
 * refusing one of them as replay). Without --state, a signer therefore keeps
 * an epoch file in $XDG_STATE_HOME/libe2e (default ~/.local/state/libe2e),
 * one per signer id, whose lock also refuses a second publisher. NULL when
 * no such directory can be made: the clock is used.
 */
static char *default_state_path(const struct pub *p)
{
	const char *xdg = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");
	char dir[PATH_MAX], path[PATH_MAX];
	int n;

	if (xdg && *xdg)
		n = snprintf(dir, sizeof dir, "%s/libe2e", xdg);
	else if (home && *home)
		n = snprintf(dir, sizeof dir, "%s/.local/state/libe2e", home);
	else
		return NULL;
	if (n < 0 || (size_t)n >= sizeof dir)
		return NULL;
	/* mkdir -p, private. */
	for (char *c = dir + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		mkdir(dir, 0700);
		*c = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return NULL;
	n = snprintf(path, sizeof path, "%s/e2e-pub-epoch-%016" PRIx64, dir,
		     e2e_signer_id(p->keys.signer));
	if (n < 0 || (size_t)n >= sizeof path)
		return NULL;
	return strdup(path);
}

/* Why a state file cannot be used, with the remedy. */
static void epoch_error(const struct pub *p, int rc, long holder)
{
	const char *path = p->cfg.state_path;

	if (rc == E2E_ERR_LOCKED && holder > 0)
		cli_err("state file %s is in use by another publisher, PID "
			"%ld: with the same signer the receivers would refuse "
			"one of the two as replay; stop it, or give this one "
			"its own --state and signer",
			path, holder);
	else if (rc == E2E_ERR_LOCKED)
		cli_err("state file %s is in use by another publisher; stop "
			"it, or give this one its own --state and signer",
			path);
	else if (rc == E2E_ERR_UNSAFE_FILE && errno == ELOOP)
		cli_err("state file %s or its .lock is a symbolic link, which "
			"is never followed; remove the link (and check who "
			"can write its directory)",
			path);
	else if (rc == E2E_ERR_UNSAFE_FILE)
		cli_err("state file %s or its .lock is owned by another "
			"user; remove it (and check who can write its "
			"directory)",
			path);
	else if (rc == E2E_ERR_STATE_CORRUPT)
		cli_err("state file %s is corrupt (expected 'e2e-pub-state' "
			"then 'next N' or 'epoch N'); move it away to start "
			"afresh",
			path);
	else if (rc == E2E_ERR_SEQ_EXHAUSTED)
		cli_err("state file %s: epochs exhausted; this signer cannot "
			"publish again without repeating sequence numbers",
			path);
	else
		cli_err("state file %s: %s", path,
			rc == E2E_ERR_IO ? strerror(errno) : e2e_strerror(rc));
}

/* The first sequence number of this run: above every one used before, and
 * locked for the whole run (e2e_epoch_reserve). 0: no state file, the
 * library takes the clock. */
static int reserve_seq(struct pub *p, uint64_t *first)
{
	long holder = 0;
	int rc;

	*first = 0;
	if (!p->cfg.state_path && p->keys.signer) {
		p->cfg.state_path = default_state_path(p);
		if (!p->cfg.state_path) {
			cli_debug("no state directory: epoch from the "
				  "clock");
			return 0;
		}
		cli_debug("epoch kept in %s", p->cfg.state_path);
	}
	if (!p->cfg.state_path)
		return 0;
	rc = e2e_epoch_reserve(&p->epoch, p->cfg.state_path, first, &holder);
	if (rc != E2E_OK) {
		epoch_error(p, rc, holder);
		return -1;
	}
	if ((*first >> 32) > (uint64_t)time(NULL) + 1)
		cli_err("warning: state file %s is ahead of the clock (was "
			"the clock set back?): starting at epoch %" PRIu64,
			p->cfg.state_path, *first >> 32);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                     */
/* ------------------------------------------------------------------------ */

/* The keyring must have a primary key, of the --mode suite if given. */
static int check_keys(const struct cli_config *cfg, const struct cli_keys *k)
{
	e2e_key_info info;

	if (!k->keyring)
		return 0;
	if (e2e_keyring_primary(k->keyring, &info) != E2E_OK) {
		cli_err("keyring %s has no primary key", cfg->keyring_path);
		return -1;
	}
	if (cfg->mode >= 0 && (int)info.suite != cfg->mode) {
		cli_err("--mode %s, but the primary key %08" PRIx32
			" of %s is %s",
			e2e_suite_name((e2e_suite)cfg->mode), info.id,
			cfg->keyring_path, e2e_suite_name(info.suite));
		return -1;
	}
	return 0;
}

/* SIGHUP: a new keyring replaces the old only when it loads and passes
 * the checks; the signing key stays (its passphrase was asked once). */
static void reload_keys(struct pub *p)
{
	struct cli_keys fresh;
	struct cli_config only_keyring = p->cfg;
	e2e_key_info info;

	if (!p->cfg.keyring_path) {
		cli_err("SIGHUP: no keyring to reload");
		return;
	}
	only_keyring.sign_path = NULL;
	only_keyring.trust_path = NULL;
	if (cli_keys_load(&only_keyring, &fresh) ||
	    check_keys(&p->cfg, &fresh)) {
		cli_keys_free(&fresh);
		cli_err("SIGHUP: keeping the previous keyring");
		return;
	}
	pthread_mutex_lock(&p->mu);
	e2e_keyring_free(p->keys.keyring);
	p->keys.keyring = fresh.keyring;
	pthread_mutex_unlock(&p->mu);
	if (e2e_keyring_primary(p->keys.keyring, &info) == E2E_OK)
		cli_err("reloaded keyring %s: primary key %08" PRIx32,
			p->cfg.keyring_path, info.id);
}

/* ------------------------------------------------------------------------ */
/* Publishing                                                               */
/* ------------------------------------------------------------------------ */

/* Room in p->out for at least need bytes: 0, or -1 (reported). What it
 * held is kept (a run's envelopes sealed so far). */
static int reserve_out(struct pub *p, size_t need)
{
	uint8_t *out;

	if (need <= p->out_cap)
		return 0;
	/* With the mac suite an envelope holds its message in clear. */
	if (!(out = cli_clear_grow(p->out, p->out_cap, need))) {
		cli_err("out of memory");
		return -1;
	}
	p->out = out;
	p->out_cap = need;
	return 0;
}

/*
 * Seal msg for the topic into p->out at offset at (growing it): 0 and
 * *out_len, or -1 (reported). A SIGHUP taken since the last one reloads the
 * keyring first, so that a rotation takes effect at the next message
 * sealed.
 */
static int seal_at(struct pub *p, const uint8_t *msg, size_t len, size_t at,
		   size_t *out_len)
{
	const char *topic = p->cfg.topics[0];
	uint32_t flags = p->cfg.retain ? E2E_SEAL_RETAINED : 0;
	uint64_t seq;
	int rc;

	if (cli_take_hup())
		reload_keys(p);
	if (len > E2E_PAYLOAD_MAX) {
		cli_err("message of %zu bytes is too large (at most "
			"%u)",
			len, E2E_PAYLOAD_MAX);
		return -1;
	}
	if (reserve_out(p, at + E2E_SEALED_MAX(len)))
		return -1;
	/* Under mu: will_lost may move the sender on Paho's thread (above
	 * what the state file already covers). */
	pthread_mutex_lock(&p->mu);
	seq = e2e_sender_next_seq(p->sender);
	pthread_mutex_unlock(&p->mu);
	if (p->epoch && (rc = e2e_epoch_renew(p->epoch, seq)) != E2E_OK) {
		cli_err("cannot extend state file %s: %s", p->cfg.state_path,
			rc == E2E_ERR_IO ? strerror(errno) : e2e_strerror(rc));
		return -1;
	}
	pthread_mutex_lock(&p->mu);
	rc = e2e_seal(p->sender, p->keys.keyring, topic, msg, len, flags,
		      p->out + at, p->out_cap - at, out_len);
	pthread_mutex_unlock(&p->mu);
	if (rc != E2E_OK) {
		cli_err("cannot seal for %s: %s", topic, e2e_strerror(rc));
		return -1;
	}
	cli_debug("sealed %zu bytes into %zu for %s (seq %" PRIu64 ":%" PRIu64
		  ")",
		  len, *out_len, topic, seq >> 32, seq & 0xFFFFFFFFu);
	return 0;
}

static int publish(struct pub *p, const uint8_t *msg, size_t len)
{
	size_t out_len = 0;

	if (seal_at(p, msg, len, 0, &out_len))
		return -1;
	return cli_conn_publish(p->conn, p->cfg.topics[0], p->out, out_len,
				p->cfg.qos, p->cfg.retain);
}

/* Read a whole file descriptor (up to the payload limit) into a buffer
 * that is wiped wherever it was: the message is clear. */
static int read_all(int fd, const char *what, uint8_t **buf, size_t *len)
{
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap);

	if (!b)
		goto nomem;
	for (;;) {
		ssize_t r;
		if (n == cap) {
			uint8_t *nb;
			if (cap > E2E_PAYLOAD_MAX) {
				cli_err("%s is too large (at most %u "
					"bytes)",
					what, E2E_PAYLOAD_MAX);
				cli_clear_free(b, cap);
				return -1;
			}
			if (!(nb = cli_clear_grow(b, cap, cap * 2)))
				goto nomem;
			b = nb;
			cap *= 2;
		}
		r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cli_err("cannot read %s: %s", what, strerror(errno));
			cli_clear_free(b, cap);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	/* The caller wipes len bytes: the rest of cap now. */
	sodium_memzero(b + n, cap - n);
	*buf = b;
	*len = n;
	return 0;
nomem:
	cli_clear_free(b, cap);
	cli_err("out of memory");
	return -1;
}

/* The single message of -m, -f, -s or -n, read before connecting. */
static int read_message(struct pub *p, uint8_t **msg, size_t *len)
{
	int fd, rc;

	switch (p->cfg.source) {
	case CLI_SRC_ARG:
		*len = strlen(p->cfg.message);
		*msg = (uint8_t *)strdup(p->cfg.message);
		return *msg ? 0 : -1;
	case CLI_SRC_NULL:
		*len = 0;
		*msg = malloc(1);
		return *msg ? 0 : -1;
	case CLI_SRC_STDIN:
		return read_all(STDIN_FILENO, "stdin", msg, len);
	case CLI_SRC_FILE:
		fd = open(p->cfg.file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_err("cannot open %s: %s", p->cfg.file,
				strerror(errno));
			return -1;
		}
		rc = read_all(fd, p->cfg.file, msg, len);
		close(fd);
		return rc;
	default:
		return -1;
	}
}

/*
 * -l seals the lines already in its buffer in runs, each sealed whole before
 * the first of its envelopes is handed to Paho: sealing (libe2e, libsodium)
 * and publishing (conn.c, Paho) each run through their code many times in a
 * row instead of taking turns per line, so that the main thread's code stays
 * in the instruction cache (docs/PERFORMANCE.md, "Sealing in runs"). A run
 * never waits for more input: it is what one read brought. At most this many
 * lines ...
 */
#define PUB_RUN_LINES 64
/* ... and this many bytes of envelopes (a longer line is a run of its own). */
#define PUB_RUN_BYTES ((size_t)256 * 1024)

/*
 * How many lines the next run may seal. Never more than the connection takes
 * without waiting for room (cli_conn_room): a run is handed over at once, so
 * nothing sealed waits behind a full window for acknowledgements, a
 * reconnection or a signal, and a SIGHUP or a key update still applies to
 * every line not yet sealed, as when each line was sealed and published in
 * turn. One at a time with a Will: after a lost connection (the Will may
 * have fired) the sender moves above the Will (will_lost) and what was
 * sealed before but published after would be refused as a replay.
 */
static size_t run_limit(struct pub *p)
{
	int room;

	if (p->will.env)
		return 1;
	room = cli_conn_room(p->conn);
	if (room == 0)
		return 1; /* sealed, then waits for room like any publication */
	return room < PUB_RUN_LINES ? (size_t)room : PUB_RUN_LINES;
}

/*
 * Publish the complete lines of buf[0, n) (with eof, a last one without its
 * newline too), in order, in runs: the bytes used. *rc becomes -1 when a
 * line could not be sealed or published (reported); the others still are.
 */
static size_t publish_buffered(struct pub *p, const uint8_t *buf, size_t n,
			       int eof, int *rc)
{
	size_t start = 0;

	while (start < n) {
		size_t off[PUB_RUN_LINES], len[PUB_RUN_LINES];
		size_t limit = run_limit(p), count = 0, bytes = 0;
		size_t pos = start;

		/* Seal a run. */
		while (count < limit && pos < n) {
			const uint8_t *nl = memchr(buf + pos, '\n', n - pos);
			size_t end = nl ? (size_t)(nl - buf) : n;

			if (!nl && !eof)
				break; /* the rest of the line is to come */
			if (count &&
			    bytes + E2E_SEALED_MAX(end - pos) > PUB_RUN_BYTES)
				break; /* the next run's first */
			if (seal_at(p, buf + pos, end - pos, bytes,
				    &len[count]) == 0) {
				off[count] = bytes;
				bytes += len[count++];
			} else {
				*rc = -1;
			}
			pos = nl ? end + 1 : n;
		}
		if (pos == start)
			break; /* no complete line */
		/* Hand it over, in order. */
		for (size_t i = 0; i < count; i++)
			if (cli_conn_publish(p->conn, p->cfg.topics[0],
					     p->out + off[i], len[i],
					     p->cfg.qos, p->cfg.retain))
				*rc = -1;
		start = pos;
	}
	return start;
}

/*
 * -l: one message per line of stdin (without its newline; a last line
 * without one counts too). stdin is polled so that SIGHUP and SIGINT are
 * handled while no line comes.
 */
static int publish_lines(struct pub *p)
{
	/* Read in large chunks: a few system calls per thousand short lines
	 * (mosquitto_pub reads a line at a time through stdio's buffer). */
	size_t cap = 65536, n = 0;
	uint8_t *buf = malloc(cap);
	int eof = 0, rc = 0;

	if (!buf)
		return -1;
	while (!eof && !cli_stop_requested()) {
		struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
		ssize_t r;
		size_t used;

		cli_signal_wait(0);
		if (cli_take_hup())
			reload_keys(p);
		if (cli_stop_requested())
			break;
		cli_conn_service(p->conn);
		if (poll(&pfd, 1, 200) == 0)
			continue;
		if (n == cap) {
			uint8_t *nb;
			if (cap > E2E_PAYLOAD_MAX) {
				cli_err("line too long");
				rc = -1;
				break;
			}
			if (!(nb = cli_clear_grow(buf, cap, cap * 2))) {
				cli_err("out of memory");
				rc = -1;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r < 0) {
			cli_err("cannot read stdin: %s", strerror(errno));
			rc = -1;
			break;
		}
		if (r == 0) {
			eof = 1;
		} else {
			n += (size_t)r;
		}
		used = publish_buffered(p, buf, n, eof, &rc);
		memmove(buf, buf + used, n - used);
		n -= used;
	}
	/* The lines were clear: wiped, as every other copy we make is. */
	cli_clear_free(buf, cap);
	return rc;
}

/* The sender, its keys and its first sequence number: 0, or -1
 * (reported). */
static int make_sender(struct pub *p)
{
	e2e_sender_opts so;
	uint64_t first;
	int rc;

	int failed;

	/* A member's keyring may have no primary now: its updates bring it,
	 * and sealing says no-key until then. */
	if (cli_keyupdate_keys_load(&p->cfg, &p->keys) ||
	    (!p->cfg.member_key_path && check_keys(&p->cfg, &p->keys)))
		return -1;
	p->ku = cli_keyupdate_new(&p->cfg, &p->keys.keyring, &p->mu, &failed);
	if (failed)
		return -1;
	if (reserve_seq(p, &first))
		return -1;
	memset(&so, 0, sizeof so);
	so.epoch = (uint32_t)(first >> 32); /* 0: the clock */
	so.signer = p->keys.signer;
	if ((rc = e2e_sender_new(&p->sender, &so)) != E2E_OK) {
		cli_err("cannot create sender: %s", e2e_strerror(rc));
		return -1;
	}
	e2e_sender_advance(p->sender, first);
	return 0;
}

/* Paho's thread: the connection is lost, the Will may have fired; what
 * is sealed from now on goes above it. */
static void will_lost(void *ctx)
{
	struct pub *p = ctx;

	pthread_mutex_lock(&p->mu);
	cli_will_passed(&p->will, p->sender);
	pthread_mutex_unlock(&p->mu);
}

/* --will-topic: the Will, one epoch above the run's next sequence number
 * (will.h), covered by the state file before the broker holds it, so that
 * a restart (the Will fired when this run died) starts above it. */
static int seal_will(struct pub *p)
{
	uint64_t seq = e2e_sender_next_seq(p->sender) + CLI_WILL_AHEAD;
	int rc;

	if (cli_will_seal(&p->will, &p->cfg, p->keys.keyring, p->keys.signer,
			  e2e_sender_id(p->sender), seq))
		return -1;
	if (p->will.env && p->epoch &&
	    (rc = e2e_epoch_renew(p->epoch, p->will.seq + 1)) != E2E_OK) {
		cli_err("cannot extend state file %s: %s", p->cfg.state_path,
			rc == E2E_ERR_IO ? strerror(errno) : e2e_strerror(rc));
		return -1;
	}
	return 0;
}

/* Connect: 0, or -1 (reported; p->refused set when the broker said no). */
static int connect_broker(struct pub *p)
{
	int rc;

	static char *update_topic[1];

	if (!(p->conn = cli_conn_new(&p->cfg.broker,
				     p->ku ? cli_keyupdate_on_message : NULL,
				     p->ku)))
		return -1;
	if (p->will.env)
		cli_conn_set_will(p->conn, p->cfg.will_topic, p->will.env,
				  p->will.len, p->cfg.will_qos,
				  p->cfg.will_retain, will_lost, p);
	if (p->ku) {
		update_topic[0] = cli_keyupdate_topic(p->ku);
		cli_conn_subscribe(p->conn, update_topic, 1, 1);
	}
	if ((rc = cli_conn_connect(p->conn)) == 0) {
		/* The retained update first: a member that was away seals
		 * with the current keys. */
		if (p->ku)
			cli_keyupdate_wait_first(p->ku, 3000);
		return 0;
	}
	p->refused = rc > 0 ? rc : 0;
	return -1;
}

static int clears_retained(const struct cli_config *cfg)
{
	return cfg->source == CLI_SRC_NULL && cfg->retain;
}

/* --repeat N (-m, -f, -s), as mosquitto_pub: each publication sealed
 * anew (its own sequence number), --repeat-delay between them. */
static int publish_repeated(struct pub *p, const uint8_t *msg, size_t len)
{
	int rc = 0;

	for (int i = 0; rc == 0 && i < p->cfg.repeat; i++) {
		if (i && p->cfg.repeat_delay_ms) {
			int64_t until = cli_now_ms() + p->cfg.repeat_delay_ms;

			while (!cli_stop_requested() && cli_now_ms() < until)
				cli_signal_wait((long)(until - cli_now_ms()));
		}
		if (cli_stop_requested())
			break;
		rc = publish(p, msg, len);
	}
	return rc;
}

static int run(struct pub *p)
{
	uint8_t *msg = NULL;
	size_t len = 0;
	int rc = -1;

	/* As mosquitto_pub -r -n: an empty retained publication asks the
	 * broker to delete the retained message. MQTT wants it empty, so it
	 * is sent unsealed, with no keys; e2e-sub counts it apart, never as
	 * a message. */
	if (clears_retained(&p->cfg)) {
		if (p->cfg.will_topic && (make_sender(p) || seal_will(p)))
			return -1;
		if (connect_broker(p))
			return -1;
		rc = cli_conn_publish(p->conn, p->cfg.topics[0], "", 0,
				      p->cfg.qos, 1);
		goto drain;
	}
	if (make_sender(p) || seal_will(p))
		return -1;
	if (p->cfg.source != CLI_SRC_LINES && read_message(p, &msg, &len))
		return -1;
	if (connect_broker(p))
		goto out;
	if (p->cfg.source == CLI_SRC_LINES)
		rc = publish_lines(p);
	else
		rc = publish_repeated(p, msg, len);
drain:
	if (cli_conn_drain(p->conn) || cli_conn_failures(p->conn))
		rc = -1;
out:
	if (msg) {
		sodium_memzero(msg, len);
		free(msg);
	}
	return rc;
}

/* What the state file keeps at exit: 0 (no sender) leaves it as it is. */
static uint64_t released_seq(const struct pub *p)
{
	uint64_t next = e2e_sender_next_seq(p->sender);

	if (p->will.env && next <= p->will.seq)
		next = p->will.seq + 1;
	return next;
}

int main(int argc, char **argv)
{
	struct pub p;
	int rc;

	/* First: no core dump may hold the password, the passphrase or a
	 * message. */
	cli_protect_process();
	memset(&p, 0, sizeof p);
	if (e2e_init() != E2E_OK) {
		fputs("e2e-pub: cannot initialise libsodium\n", stderr);
		return CLI_EXIT_ERROR;
	}
	/* Before Paho starts its threads, so that they inherit the mask. */
	cli_signals_block();
	pthread_mutex_init(&p.mu, NULL);
	rc = cli_parse(&p.cfg, CLI_PUB, &help, argc, argv);
	if (rc >= 0) {
		cli_config_free(&p.cfg);
		return rc;
	}
	rc = run(&p) ? (p.refused ? p.refused : CLI_EXIT_ERROR) : CLI_EXIT_OK;
	cli_conn_free(p.conn);
	/* Every sequence number used is below the sender's next one, and
	 * the Will's: it may have fired unnoticed as the run ended. */
	if (p.epoch && e2e_epoch_release(p.epoch, released_seq(&p)) != E2E_OK) {
		cli_err("cannot write state file %s: %s", p.cfg.state_path,
			strerror(errno));
		rc = CLI_EXIT_ERROR;
	}
	e2e_sender_free(p.sender);
	cli_will_free(&p.will);
	cli_clear_free(p.out, p.out_cap);
	cli_keyupdate_free(p.ku);
	cli_keys_free(&p.keys);
	cli_config_free(&p.cfg);
	pthread_mutex_destroy(&p.mu);
	return rc;
}
