/*
 * link.c: the connection to Redis, plain or TLS, behind one interface
 * (link.h). Both transports let hiredis make the TCP connection and speak
 * the protocol; with TLS, OpenSSL carries the bytes: commands are
 * formatted by redisFormatCommandArgv() into a buffer written with
 * SSL_write(), replies are read with SSL_read() into a redisReader.
 */
#include "config.h"

#include "link.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <e2e.h>

#ifdef HAVE_REDIS_TLS
#include <arpa/inet.h>
#include <stdint.h>
#include <sys/socket.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

struct link_ops {
	int (*append)(e2e__link *l, int argc, const char **argv,
		      const size_t *len);
	int (*flush)(e2e__link *l);
	int (*reply)(e2e__link *l, redisReply **out);
	void (*close)(e2e__link *l);
};

struct e2e__link {
	const struct link_ops *ops;
	redisContext *c; /* the TCP connection (and, plain, the protocol) */
#ifdef HAVE_REDIS_TLS
	SSL *ssl;
	redisReader *reader;
	char *obuf; /* commands formatted and not yet written */
	size_t olen, ocap;
	int answered; /* the server has answered a command on this link */
#endif
};

/* The TCP connection both transports start from. */
static int tcp_connect(e2e__link *l, const char *host, int port,
		       const struct timeval *tv)
{
	l->c = redisConnectWithTimeout(host, port, *tv);
	if (l->c == NULL || l->c->err != 0 ||
	    redisSetTimeout(l->c, *tv) != REDIS_OK)
		return E2E_ERR_STORE_UNAVAILABLE;
	(void)redisEnableKeepAlive(l->c);
	return E2E_OK;
}

/* ---- plain: the hiredis context as it is --------------------------------
 */

static int plain_append(e2e__link *l, int argc, const char **argv,
			const size_t *len)
{
	return redisAppendCommandArgv(l->c, argc, argv, len) == REDIS_OK ? 0
									 : -1;
}

static int plain_flush(e2e__link *l)
{
	int done = 0;

	do
		if (redisBufferWrite(l->c, &done) != REDIS_OK)
			return E2E_ERR_STORE_UNAVAILABLE;
	while (!done);
	return E2E_OK;
}

static int plain_reply(e2e__link *l, redisReply **out)
{
	void *r = NULL;

	*out = NULL;
	if (redisGetReply(l->c, &r) != REDIS_OK || r == NULL)
		return E2E_ERR_STORE_UNAVAILABLE;
	*out = r;
	return E2E_OK;
}

static void plain_close(e2e__link *l)
{
	if (l->c != NULL)
		redisFree(l->c);
}

static const struct link_ops plain_ops = {plain_append, plain_flush,
					  plain_reply, plain_close};

void e2e__link_close(e2e__link *l)
{
	if (l == NULL)
		return;
	l->ops->close(l);
	free(l);
}

int e2e__link_append(e2e__link *l, int argc, const char **argv,
		     const size_t *len)
{
	return l->ops->append(l, argc, argv, len);
}

int e2e__link_fd(const e2e__link *l)
{
	return l->c->fd;
}

int e2e__link_buffered(const e2e__link *l)
{
#ifdef HAVE_REDIS_TLS
	if (l->ssl != NULL)
		return (l->reader != NULL && l->reader->len > l->reader->pos) ||
		       SSL_pending(l->ssl) > 0;
#endif
	return l->c->reader != NULL && l->c->reader->len > l->c->reader->pos;
}

int e2e__link_flush(e2e__link *l)
{
	return l->ops->flush(l);
}

int e2e__link_reply(e2e__link *l, redisReply **out)
{
	return l->ops->reply(l, out);
}

#ifndef HAVE_REDIS_TLS

int e2e__tls_new(e2e__tls **out, const struct e2e__tls_opts *o)
{
	(void)o;
	*out = NULL;
	return E2E_ERR_STORE_UNSUPPORTED;
}

void e2e__tls_free(e2e__tls *t)
{
	(void)t;
}

int e2e__link_open(e2e__link **out, const char *host, int port,
		   const struct timeval *tv, const e2e__tls *tls)
{
	e2e__link *l;
	int rc;

	*out = NULL;
	if (tls != NULL)
		return E2E_ERR_STORE_UNSUPPORTED;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return E2E_ERR_NOMEM;
	l->ops = &plain_ops;
	if ((rc = tcp_connect(l, host, port, tv)) != E2E_OK) {
		e2e__link_close(l);
		return rc;
	}
	*out = l;
	return E2E_OK;
}

#else /* HAVE_REDIS_TLS */

struct e2e__tls {
	SSL_CTX *ctx;
	char *sni;        /* NULL: the URL's host */
	BIO_METHOD *send; /* writes with MSG_NOSIGNAL (nosignal_write) */
};

/*
 * OpenSSL's socket BIO writes with write(): on a connection the server
 * has closed that raises SIGPIPE, which kills a process that does not
 * ignore it, and a library must not. TLS records are written through this
 * BIO instead, with send(MSG_NOSIGNAL): EPIPE, an error like any other.
 * Reads go through OpenSSL's own socket BIO.
 */
static int nosignal_write(BIO *b, const char *buf, int len)
{
	int fd = (int)(intptr_t)BIO_get_data(b);
	ssize_t n;

	BIO_clear_retry_flags(b);
	n = send(fd, buf, (size_t)len, MSG_NOSIGNAL);
	if (n < 0 && errno == EINTR)
		BIO_set_retry_write(b);
	return (int)n;
}

static long nosignal_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int nosignal_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *nosignal_method(void)
{
	BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
				     "e2e-redis send");

	if (m != NULL && (BIO_meth_set_write(m, nosignal_write) != 1 ||
			  BIO_meth_set_ctrl(m, nosignal_ctrl) != 1 ||
			  BIO_meth_set_create(m, nosignal_create) != 1)) {
		BIO_meth_free(m);
		m = NULL;
	}
	return m;
}

/* A file that must be readable: E2E_ERR_IO with errno when it is not
 * (OpenSSL's own errors do not keep errno). */
static int readable(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return E2E_ERR_IO;
	close(fd);
	return E2E_OK;
}

/* An encrypted key is refused: OpenSSL's default would ask for its
 * passphrase on the terminal, and a library never prompts. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

/* The client's private key, from a file only its owner may read (as
 * libe2e's secret files), unencrypted; OpenSSL wipes the key when it
 * frees it. */
static int use_key(SSL_CTX *ctx, const char *path)
{
	struct stat st;
	EVP_PKEY *pk = NULL;
	BIO *bio = NULL;
	int fd, rc = E2E_ERR_STORE_TLS;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return E2E_ERR_IO;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return E2E_ERR_IO;
	}
	if ((st.st_mode & 077) != 0) {
		close(fd);
		return E2E_ERR_PERMISSIONS;
	}
	bio = BIO_new_fd(fd, BIO_CLOSE);
	if (bio == NULL) {
		close(fd);
		return E2E_ERR_NOMEM;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	if (pk != NULL && SSL_CTX_use_PrivateKey(ctx, pk) == 1 &&
	    SSL_CTX_check_private_key(ctx) == 1)
		rc = E2E_OK;
	EVP_PKEY_free(pk);
	BIO_free(bio);
	return rc;
}

static int load_files(SSL_CTX *ctx, const struct e2e__tls_opts *o)
{
	int rc;

	if (o->cacert != NULL && (rc = readable(o->cacert)) != E2E_OK)
		return rc;
	if (o->cert != NULL && (rc = readable(o->cert)) != E2E_OK)
		return rc;
	if ((o->cert == NULL) != (o->key == NULL))
		return E2E_ERR_INVAL; /* a certificate needs its key */
	if (o->cacert != NULL || o->cacertdir != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, o->cacert,
						  o->cacertdir) != 1)
			return E2E_ERR_STORE_TLS;
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		return E2E_ERR_STORE_TLS;
	}
	if (o->cert != NULL &&
	    SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1)
		return E2E_ERR_STORE_TLS;
	return o->key != NULL ? use_key(ctx, o->key) : E2E_OK;
}

int e2e__tls_new(e2e__tls **out, const struct e2e__tls_opts *o)
{
	e2e__tls *t;
	int rc;

	*out = NULL;
	if ((t = calloc(1, sizeof *t)) == NULL)
		return E2E_ERR_NOMEM;
	rc = E2E_ERR_NOMEM;
	if (o->sni != NULL && (t->sni = strdup(o->sni)) == NULL)
		goto fail;
	if ((t->ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (t->send = nosignal_method()) == NULL)
		goto fail;
	rc = E2E_ERR_STORE_TLS;
	if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1)
		goto fail;
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_AUTO_RETRY);
	/* One read() per reply, not one for a record's header and one for
	 * its body. */
	SSL_CTX_set_read_ahead(t->ctx, 1);
	if ((rc = load_files(t->ctx, o)) != E2E_OK)
		goto fail;
	ERR_clear_error();
	*out = t;
	return E2E_OK;
fail:
	ERR_clear_error();
	e2e__tls_free(t);
	return rc;
}

void e2e__tls_free(e2e__tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	if (t->send != NULL)
		BIO_meth_free(t->send);
	free(t->sni);
	free(t);
}

/*
 * Why an SSL call failed: a TLS error (an alert, a certificate refused),
 * or the connection timed out or ended. In TLS 1.3 the server judges the
 * client's certificate after the client's handshake is done: a server
 * that refuses it (or wanted one) sends an alert and closes, and the
 * alert is often lost with the connection reset by the client's first
 * command. A connection closed before the server's first answer is
 * therefore a TLS refusal too; a timeout is not.
 */
static int ssl_failure(const e2e__link *l, int ret)
{
	int e = SSL_get_error(l->ssl, ret);

	ERR_clear_error();
	if (e == SSL_ERROR_SSL)
		return E2E_ERR_STORE_TLS;
	if (!l->answered &&
	    (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN))
		return E2E_ERR_STORE_TLS;
	return E2E_ERR_STORE_UNAVAILABLE;
}

static int tls_append(e2e__link *l, int argc, const char **argv,
		      const size_t *len)
{
	char *cmd = NULL;
	int n = redisFormatCommandArgv(&cmd, argc, argv, len);

	if (n < 0)
		return -1;
	if (l->olen + (size_t)n > l->ocap) {
		size_t cap = l->ocap != 0 ? l->ocap : 4096;
		char *p;

		while (cap < l->olen + (size_t)n)
			cap *= 2;
		if ((p = malloc(cap)) == NULL) {
			OPENSSL_cleanse(cmd, (size_t)n);
			redisFreeCommand(cmd);
			return -1;
		}
		if (l->olen != 0)
			memcpy(p, l->obuf, l->olen);
		if (l->obuf != NULL)
			OPENSSL_clear_free(l->obuf, l->ocap);
		l->obuf = p;
		l->ocap = cap;
	}
	memcpy(l->obuf + l->olen, cmd, (size_t)n);
	l->olen += (size_t)n;
	OPENSSL_cleanse(cmd, (size_t)n); /* AUTH's password */
	redisFreeCommand(cmd);
	return 0;
}

static int tls_flush(e2e__link *l)
{
	size_t off = 0;

	if (l->ssl == NULL)
		return E2E_ERR_STORE_UNAVAILABLE;
	while (off < l->olen) {
		size_t w = 0;
		int ret =
			SSL_write_ex(l->ssl, l->obuf + off, l->olen - off, &w);

		if (ret != 1)
			return ssl_failure(l, ret);
		off += w;
	}
	OPENSSL_cleanse(l->obuf, l->olen); /* AUTH's password */
	l->olen = 0;
	return E2E_OK;
}

static int tls_reply(e2e__link *l, redisReply **out)
{
	char buf[16384];
	void *r = NULL;
	int rc;

	*out = NULL;
	if (l->ssl == NULL)
		return E2E_ERR_STORE_UNAVAILABLE;
	if ((rc = tls_flush(l)) != E2E_OK)
		return rc;
	while (redisReaderGetReply(l->reader, &r) == REDIS_OK && r == NULL) {
		size_t got = 0;
		int ret = SSL_read_ex(l->ssl, buf, sizeof buf, &got);

		if (ret != 1)
			return ssl_failure(l, ret);
		if (redisReaderFeed(l->reader, buf, got) != REDIS_OK)
			return E2E_ERR_STORE_UNAVAILABLE;
	}
	if (r == NULL)
		return E2E_ERR_STORE_UNAVAILABLE; /* a protocol error */
	l->answered = 1;
	*out = r;
	return E2E_OK;
}

static void tls_close(e2e__link *l)
{
	if (l->ssl != NULL)
		SSL_free(l->ssl); /* no close_notify: the socket just closes */
	if (l->reader != NULL)
		redisReaderFree(l->reader);
	if (l->obuf != NULL)
		OPENSSL_clear_free(l->obuf, l->ocap);
	plain_close(l);
}

static const struct link_ops tls_ops = {tls_append, tls_flush, tls_reply,
					tls_close};

/* Verify the certificate for name: an IP address as an IP (SAN iPAddress),
 * anything else as a DNS name, which is also sent as SNI. */
static int set_peer_name(SSL *ssl, const char *name)
{
	unsigned char ip[16];
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);

	if (inet_pton(AF_INET, name, ip) == 1 ||
	    inet_pton(AF_INET6, name, ip) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(vp, name) == 1;
	X509_VERIFY_PARAM_set_hostflags(vp,
					X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, name) == 1 &&
	       SSL_set_tlsext_host_name(ssl, name) == 1;
}

/* The socket under l->ssl: OpenSSL's socket BIO to read, ours to write. */
static int set_socket(e2e__link *l, const e2e__tls *tls)
{
	BIO *r = BIO_new_socket(l->c->fd, BIO_NOCLOSE), *w = BIO_new(tls->send);

	if (r == NULL || w == NULL) {
		BIO_free(r);
		BIO_free(w);
		return 0;
	}
	BIO_set_data(w, (void *)(intptr_t)l->c->fd);
	SSL_set_bio(l->ssl, r, w);
	return 1;
}

static int tls_start(e2e__link *l, const char *host, const e2e__tls *tls)
{
	int ret;

	if ((l->reader = redisReaderCreate()) == NULL ||
	    (l->ssl = SSL_new(tls->ctx)) == NULL)
		return E2E_ERR_NOMEM;
	if (!set_peer_name(l->ssl, tls->sni != NULL ? tls->sni : host) ||
	    !set_socket(l, tls)) {
		ERR_clear_error();
		return E2E_ERR_STORE_TLS;
	}
	ret = SSL_connect(l->ssl);
	if (ret != 1) {
		int e = SSL_get_error(l->ssl, ret);

		ERR_clear_error();
		/* An alert, or the server's certificate refused, whatever the
		 * socket did next; else a timeout or a connection closed
		 * (e.g. a server without TLS on that port). */
		return e == SSL_ERROR_SSL || SSL_get_verify_result(l->ssl) !=
						     X509_V_OK
			       ? E2E_ERR_STORE_TLS
			       : E2E_ERR_STORE_UNAVAILABLE;
	}
	return E2E_OK;
}

int e2e__link_open(e2e__link **out, const char *host, int port,
		   const struct timeval *tv, const e2e__tls *tls)
{
	e2e__link *l;
	int rc;

	*out = NULL;
	if ((l = calloc(1, sizeof *l)) == NULL)
		return E2E_ERR_NOMEM;
	l->ops = tls != NULL ? &tls_ops : &plain_ops;
	if ((rc = tcp_connect(l, host, port, tv)) != E2E_OK ||
	    (tls != NULL && (rc = tls_start(l, host, tls)) != E2E_OK)) {
		e2e__link_close(l);
		return rc;
	}
	*out = l;
	return E2E_OK;
}

#endif /* HAVE_REDIS_TLS */
