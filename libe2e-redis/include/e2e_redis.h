/*
 * libe2e-redis — the replay guard of libe2e shared through Redis, so that
 * the members of an MQTT shared subscription ($share/GROUP/FILTER) accept
 * every envelope once between them (docs/GROUPS.md).
 *
 * A companion library: libe2e itself does not depend on Redis. It links
 * libe2e and hiredis (and OpenSSL's libssl, for rediss://) and is built
 * when hiredis is found (configure --with-redis). Conventions are libe2e's:
 * E2E_OK or a negative e2e_err, text from e2e_strerror() / e2e_reason();
 * nothing printed, no exit. The errors of the store are E2E_ERR_STORE_* in
 * e2e.h:
 *
 *  - E2E_ERR_STORE_UNAVAILABLE: Redis cannot be reached (refused, timed
 *    out, connection lost and not re-established within the call), is
 *    loading or busy, or refuses writes for now (OOM, READONLY,
 *    NOREPLICAS, MISCONF); the message was not accepted and nothing of it
 *    was written: nothing is ever delivered unchecked, and a QoS 1 one
 *    can be retried;
 *  - E2E_ERR_STORE_ERROR: Redis answered with another error (a key of the
 *    wrong type under the prefix, a script error);
 *  - E2E_ERR_STORE_AUTH: the password or ACL user was refused;
 *  - E2E_ERR_STORE_MISMATCH: the group's state was made with another
 *    window, max_senders or max_retained_topics;
 *  - E2E_ERR_STORE_TLS: rediss:// failed: the server's certificate is not
 *    signed by a trusted CA or not for the host (or tls_sni), the
 *    handshake failed, the server refused the client certificate (or
 *    wanted one), or tls_cert/tls_key/tls_cacert is no such PEM file;
 *    from e2e_redis_connect() only: when a later call has to connect
 *    again, a TLS refusal is E2E_ERR_STORE_UNAVAILABLE (an outage: the
 *    message is not accepted, and a QoS 1 one can be retried);
 *  - E2E_ERR_STORE_UNSUPPORTED: rediss:// in a build without OpenSSL;
 *  - E2E_ERR_STORE_PROTOCOL: the group's state is of another protocol
 *    version (members of another version of libe2e-redis, docs/GROUPS.md
 *    section 6): from e2e_redis_connect(), and from a call when the group
 *    was made since; nothing is written.
 *
 * An e2e_redis object holds one connection and is not thread-safe: one per
 * thread, as for every libe2e object.
 */
#ifndef E2E_REDIS_H
#define E2E_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include <e2e.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct e2e_redis e2e_redis;

typedef struct e2e_redis_opts {
	/* The password (with the URL's user: an ACL user). NULL: the one in
	 * password_file, else the URL's, else none. Tools take it from a file
	 * or the environment, never from their command line. */
	const char *password;
	/* A file whose first line is the password; refused (as libe2e's
	 * secret files) when group or others may read it: E2E_ERR_PERMISSIONS;
	 * E2E_ERR_IO (errno) when it cannot be read. */
	const char *password_file;
	/* Connect and command timeout in milliseconds; 0: 2000. */
	uint32_t timeout_ms;
	/* rediss:// only (E2E_ERR_INVAL with redis://), as redis-cli's
	 * --cacert, --cacertdir, --cert, --key and --sni; all may be NULL.
	 * The server's certificate is always verified: against tls_cacert
	 * and/or tls_cacertdir, else the system's CAs, and for the URL's HOST
	 * (an IP address as an IP address SAN) or tls_sni when given (then
	 * also sent as SNI). tls_cert and tls_key (a file only its owner may
	 * read: E2E_ERR_PERMISSIONS) go together: the client certificate for
	 * a server with tls-auth-clients. TLS 1.2 at least. */
	const char *tls_cacert;
	const char *tls_cacertdir;
	const char *tls_cert;
	const char *tls_key;
	const char *tls_sni;
} e2e_redis_opts;

void e2e_redis_opts_default(e2e_redis_opts *o);

/*
 * A group's default window: 65536 sequence numbers per sender (the most
 * e2e_guard_new() allows), not the in-memory guard's 256. A group shares
 * each sender's window, and a member that judges a message after the
 * others have accepted `window` later ones of its sender refuses it as
 * replay (below the window): the window must cover how far a member can
 * lag behind the others (docs/GROUPS.md section 3). It costs Redis
 * window / 8 bytes per tracked sender (8 KiB here).
 */
#define E2E_REDIS_WINDOW_DEFAULT 65536u

/*
 * Connect to url, redis://[USER[:PASSWORD]@]HOST[:PORT]/PREFIX, or
 * rediss://... for TLS (the opts' tls_* fields; port 6379 by default for
 * both, HOST a name, an IPv4 address or [IPv6]; USER and PASSWORD
 * may be %-encoded). PREFIX names the group's state: every key is
 * "{PREFIX}:..." (docs/GROUPS.md); 1 to 200 characters of A-Z a-z 0-9
 * . _ - / and :. The path is a prefix, not a database number (database 0
 * is used). Anything that is not such a URL gives E2E_ERR_INVAL.
 *
 * guard gives the rules (NULL: e2e_guard_opts_default with the window
 * E2E_REDIS_WINDOW_DEFAULT); every member of
 * a group must use the same window, max_senders and max_retained_topics
 * (the first member records them; others get E2E_ERR_STORE_MISMATCH at
 * their first check). The connection is made, authenticated and the
 * script loaded before this returns; opts NULL: defaults.
 */
int e2e_redis_connect(e2e_redis **out, const char *url,
		      const e2e_redis_opts *opts,
		      const e2e_guard_opts *guard) E2E_WARN_UNUSED;
void e2e_redis_free(e2e_redis *rs); /* NULL-safe; wipes the password */

/*
 * Whether url is of the form e2e_redis_connect() takes, without
 * connecting: E2E_OK, or E2E_ERR_INVAL (a configuration checker's test).
 * *has_password (when not NULL) says whether it carries a password.
 * Added in libe2e-redis 1.1 (soname 1).
 */
int e2e_redis_url_check(const char *url, int *has_password) E2E_WARN_UNUSED;

/*
 * The guard's check and commit for one authenticated message, atomically
 * in Redis, one round trip: E2E_OK when accepted (and recorded for the
 * whole group), else the guard's verdict (REPLAY, TOO_OLD, FUTURE,
 * NO_TIMESTAMP, NOT_RETAINED, STALE_RETAINED) or an E2E_ERR_STORE_* error.
 * info must come from e2e_open() that returned E2E_OK with receiver.guard
 * NULL (info->is_signed then means "signed by a trusted signer"); topic
 * is required; now in Unix seconds (0: the clock). A lost connection is
 * re-established once within the call; an answer lost with it is
 * recovered (the retry is accepted exactly when the lost call was).
 * E2E_ERR_INVAL while batches are in flight (e2e_redis_batch_send).
 */
int e2e_redis_check_commit(e2e_redis *rs, const e2e_info *info,
			   const char *topic, uint32_t delivery,
			   uint64_t now) E2E_WARN_UNUSED;

/* One message of a batch; verdict is set by the call. */
typedef struct e2e_redis_item {
	const e2e_info *info;
	const char *topic;
	uint32_t delivery;
	int verdict; /* out: as e2e_redis_check_commit() returns */
} e2e_redis_item;

/* At most this many items per batch (the retry of lost answers covers the
 * calls of the batches in flight, E2E_REDIS_PIPELINE_MAX of them). */
#define E2E_REDIS_BATCH_MAX 256u

/*
 * n items (1 .. E2E_REDIS_BATCH_MAX) in one script call (one round trip),
 * judged in order exactly as n calls of e2e_redis_check_commit() would be,
 * all with the clock now, and atomically as a whole. Every item gets its
 * verdict in items[i].verdict. Returns E2E_OK, or the first
 * E2E_ERR_STORE_* among the verdicts (an outage gives it to every item):
 * the caller may stop there and treat the items one by one.
 * E2E_ERR_INVAL while batches sent with e2e_redis_batch_send() are in
 * flight (as e2e_redis_check_commit() and e2e_redis_open()).
 */
int e2e_redis_check_commit_batch(e2e_redis *rs, e2e_redis_item *items, size_t n,
				 uint64_t now) E2E_WARN_UNUSED;

/* At most this many batches in flight on one e2e_redis. */
#define E2E_REDIS_PIPELINE_MAX 2u

/*
 * e2e_redis_check_commit_batch() in two halves, so that a caller keeps two
 * batches in flight: it sends batch N+1 while the answer of batch N is
 * awaited. e2e_redis_batch_send() writes the batch's script call and
 * returns without waiting (E2E_OK: its verdicts come from a later
 * e2e_redis_batch_recv(), even when the sending failed; E2E_ERR_INVAL,
 * nothing sent: bad items, or E2E_REDIS_PIPELINE_MAX batches in flight).
 * items, and what their info and topic point to, must stay valid until
 * then. e2e_redis_batch_recv() waits for the verdicts of the oldest batch
 * in flight, sets them in its items and returns as
 * e2e_redis_check_commit_batch() (E2E_ERR_INVAL: none in flight).
 *
 * The guarantee is the same as one batch at a time: Redis runs the script
 * calls of a connection one after the other in the order they were sent,
 * each atomically, so a batch is judged after the one sent before it and
 * sees what it committed (the same envelope in both: the second is a
 * replay). A connection lost with batches in flight sends them all again
 * on a new connection, in order, as retries (accepted exactly when the
 * lost call was); when that fails, every item in flight gets
 * E2E_ERR_STORE_UNAVAILABLE, and each is remembered for its redelivery
 * as a lost answer is. Added in libe2e-redis 1.2.
 */
int e2e_redis_batch_send(e2e_redis *rs, e2e_redis_item *items, size_t n,
			 uint64_t now) E2E_WARN_UNUSED;
int e2e_redis_batch_recv(e2e_redis *rs) E2E_WARN_UNUSED;
/*
 * Wait until the oldest batch's answer is there (1: e2e_redis_batch_recv()
 * will not wait for Redis; also when its connection failed or the
 * connection's timeout passed, for recv to report) or until wake_fd (-1:
 * none) is readable, or a signal interrupts (0). A caller with room for
 * another batch waits here rather than in recv, so that what arrives
 * meanwhile is sent at once. E2E_ERR_INVAL: none in flight.
 */
int e2e_redis_batch_wait(e2e_redis *rs, int wake_fd) E2E_WARN_UNUSED;
/* How many batches are in flight (0 .. E2E_REDIS_PIPELINE_MAX). */
size_t e2e_redis_batch_pending(const e2e_redis *rs);

/*
 * e2e_open() with the group's guard: r->guard must be NULL (E2E_ERR_INVAL
 * otherwise). Verifies the envelope (nothing reaches Redis before it is
 * authentic), then checks and commits it in Redis; on any refusal, store
 * errors included, nothing is delivered: *out_len is 0 and out is wiped,
 * as e2e_open() does.
 */
int e2e_redis_open(e2e_redis *rs, const e2e_receiver *r, const char *topic,
		   const uint8_t *env, size_t env_len, uint32_t delivery,
		   uint8_t *out, size_t out_cap, size_t *out_len,
		   e2e_info *info) E2E_WARN_UNUSED;

#ifdef __cplusplus
}
#endif
#endif /* E2E_REDIS_H */
