/*
 * link.h: libe2e-redis's connection to Redis, one interface over two
 * transports (docs/GROUPS.md section 4):
 *
 *  - redis://, plain TCP: a hiredis context as it is;
 *  - rediss://, TLS: hiredis makes the TCP connection (timeouts,
 *    keepalive) and speaks the protocol (redisFormatCommandArgv, the
 *    redisReader), OpenSSL carries the bytes. Debian 12's hiredis 0.14 has
 *    no hiredis_ssl; nothing of TLS or RESP is written here.
 *
 * Internal to libe2e-redis: not installed, not exported.
 */
#ifndef E2E_REDIS_LINK_H
#define E2E_REDIS_LINK_H

#include <stddef.h>
#include <sys/time.h>

#include <hiredis/hiredis.h>

/* What rediss:// verifies and presents; every field may be NULL. */
struct e2e__tls_opts {
	const char *cacert;    /* PEM file of trusted CAs */
	const char *cacertdir; /* directory of hashed CAs (c_rehash) */
	const char *cert;      /* client certificate chain, PEM */
	const char *key;       /* its private key, PEM, owner-only file */
	const char *sni;       /* name to send and verify instead of HOST */
};

/* The TLS settings of one e2e_redis, made once, reused by every
 * reconnection. */
typedef struct e2e__tls e2e__tls;

/*
 * Load the CAs (cacert/cacertdir, else the system's), the client
 * certificate and key. E2E_OK; E2E_ERR_IO (errno) for a file that cannot
 * be read; E2E_ERR_PERMISSIONS for a key group or others may read;
 * E2E_ERR_STORE_TLS for a file that is no such certificate or key (or a
 * key that does not match its certificate); E2E_ERR_STORE_UNSUPPORTED in a
 * build without OpenSSL.
 */
int e2e__tls_new(e2e__tls **out, const struct e2e__tls_opts *o);
void e2e__tls_free(e2e__tls *t); /* NULL-safe */

typedef struct e2e__link e2e__link;

/*
 * Connect to host:port within tv (also each read's and write's timeout);
 * tls NULL: plain TCP, else TLS with the server's certificate verified
 * against the CAs and its name (host, or the sni option; an IP address
 * as an IP). E2E_OK, E2E_ERR_STORE_UNAVAILABLE (refused, timed out, closed)
 * or E2E_ERR_STORE_TLS (the handshake or the certificate failed).
 */
int e2e__link_open(e2e__link **out, const char *host, int port,
		   const struct timeval *tv, const e2e__tls *tls);
/* Queue one command (sent by the next e2e__link_flush or
 * e2e__link_reply); 0 or -1. */
int e2e__link_append(e2e__link *l, int argc, const char **argv,
		     const size_t *len);
/*
 * Write what is queued, without reading: E2E_OK, or
 * E2E_ERR_STORE_UNAVAILABLE / E2E_ERR_STORE_TLS (the link is then
 * unusable). Replies are read later, in order, by e2e__link_reply: a
 * caller may have several commands' replies to come.
 */
int e2e__link_flush(e2e__link *l);
/*
 * Send what is queued, then read the next reply into *out (freeReplyObject).
 * E2E_OK, or E2E_ERR_STORE_UNAVAILABLE / E2E_ERR_STORE_TLS (a TLS alert,
 * e.g. the server wanted a client certificate): the link is then
 * unusable.
 */
int e2e__link_reply(e2e__link *l, redisReply **out);
/* The socket, to poll for a reply; and whether bytes of a reply are
 * already read into the link's buffers (no poll would show them). */
int e2e__link_fd(const e2e__link *l);
int e2e__link_buffered(const e2e__link *l);
void e2e__link_close(e2e__link *l); /* NULL-safe */

#endif
