/*
 * Key files: the line reader, value decoders and file writer shared by the
 * keyring, signer and trust files (docs/KEYFILES.md).
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

E2E_API size_t e2e_keyfile_max(void)
{
	return E2E_KEYFILE_MAX;
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

void e2e__kf_reader_init(struct e2e__kf_reader *r, char *buf, size_t len)
{
	r->p = buf;
	r->end = buf + len;
	r->line = 0;
}

/* Cut s (NUL-terminated, no leading blank) into fields in place. */
static void split(char *s, struct e2e__kf_line *l, size_t max_fields)
{
	char *e;

	l->n = 0;
	while (*s != '\0' && l->n < max_fields) {
		l->field[l->n++] = s;
		if (l->n == max_fields) {
			e = s + strlen(s);
			while (e > s && is_blank(e[-1]))
				e--;
			*e = '\0';
			return;
		}
		while (*s != '\0' && !is_blank(*s))
			s++;
		if (*s == '\0')
			return;
		*s++ = '\0';
		while (is_blank(*s))
			s++;
	}
}

int e2e__kf_next(struct e2e__kf_reader *r, struct e2e__kf_line *l,
		 size_t max_fields)
{
	if (max_fields == 0 || max_fields > E2E__KF_MAX_FIELDS)
		return E2E_ERR_INVAL;
	while (r->p < r->end) {
		char *s = r->p;
		char *nl = memchr(s, '\n', (size_t)(r->end - s));

		r->line++;
		/* A writer always ends the last line: a file cut short, even
		 * between two lines of base64, shows up here. */
		if (nl == NULL)
			return E2E_ERR_TRUNCATED;
		r->p = nl + 1;
		*nl = '\0';
		if (strlen(s) != (size_t)(nl - s))
			return E2E_ERR_KEYFILE; /* a NUL byte in the line */
		if (nl > s && nl[-1] == '\r')
			nl[-1] = '\0';
		while (is_blank(*s))
			s++;
		if (*s == '\0' || *s == '#')
			continue;
		split(s, l, max_fields);
		return 1;
	}
	return 0;
}

int e2e__kf_header(struct e2e__kf_reader *r, const char *magic)
{
	struct e2e__kf_line l;
	int rc = e2e__kf_next(r, &l, E2E__KF_MAX_FIELDS);

	if (rc == 0) {
		r->line = 0; /* nothing but comments: the file as a whole */
		return E2E_ERR_TRUNCATED;
	}
	if (rc < 0)
		return rc;
	if (strcmp(l.field[0], magic) != 0)
		return E2E_ERR_KEYFILE;
	if (l.n != 2 || strcmp(l.field[1], "1") != 0)
		return E2E_ERR_KEYFILE_VERSION;
	return E2E_OK;
}

int e2e__kf_named(struct e2e__kf_reader *r, const char *name,
		  struct e2e__kf_line *l, size_t max_fields)
{
	int rc = e2e__kf_next(r, l, max_fields);

	if (rc == 0) {
		r->line++; /* the missing line is the one after the last */
		return E2E_ERR_TRUNCATED;
	}
	if (rc < 0)
		return rc;
	if (l->n < 2 || strcmp(l->field[0], name) != 0)
		return E2E_ERR_KEYFILE;
	return E2E_OK;
}

static int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int e2e__kf_hex_decode(const char *s, uint8_t *out, size_t len)
{
	size_t i;

	if (strlen(s) != 2 * len)
		return E2E_ERR_KEYFILE;
	for (i = 0; i < len; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return E2E_ERR_KEYFILE;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return E2E_OK;
}

int e2e__kf_b64_decode(const char *s, uint8_t *out, size_t len)
{
	size_t slen = strlen(s), bin_len = 0;
	const char *end = NULL;

	if (sodium_base642bin(out, len, s, slen, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + slen || bin_len != len) {
		sodium_memzero(out, len);
		return E2E_ERR_BASE64;
	}
	return E2E_OK;
}

int e2e__kf_u64_parse(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0' || strlen(s) > 20)
		return E2E_ERR_KEYFILE;
	for (; *s != '\0'; s++) {
		uint64_t digit = (uint64_t)(*s - '0');

		if (*s < '0' || *s > '9')
			return E2E_ERR_KEYFILE;
		if (v > max / 10 || (v == max / 10 && digit > max % 10))
			return E2E_ERR_KEYFILE;
		v = v * 10 + digit;
	}
	*out = v;
	return E2E_OK;
}

/*
 * Exclusive creation that is also atomic: the data goes to a temporary file
 * first, which link(2) then gives its final name only if that name is free.
 * A crash leaves at worst a stray temporary file, never a partial key file.
 */
static int write_new(const char *path, const void *data, size_t len,
		     mode_t mode)
{
	char tmp[PATH_MAX];
	int rc, saved;

	if (e2e__temp_name(tmp, path) != 0)
		return E2E_ERR_IO;
	if (access(path, F_OK) == 0)
		return E2E_ERR_EXISTS;
	rc = e2e__write_new(tmp, data, len, mode);
	if (rc != E2E_OK)
		return rc == E2E_ERR_EXISTS ? E2E_ERR_IO : rc;
	if (link(tmp, path) == 0) {
		rc = E2E_OK;
	} else if (errno == EEXIST) {
		rc = E2E_ERR_EXISTS;
	} else if (errno == EPERM || errno == ENOTSUP || errno == ENOSYS) {
		/* A file system without hard links: plain O_EXCL creation. */
		unlink(tmp);
		return e2e__write_new(path, data, len, mode);
	} else {
		rc = E2E_ERR_IO;
	}
	saved = errno;
	unlink(tmp);
	if (rc == E2E_OK)
		(void)e2e__fsync_dir(path);
	errno = saved;
	return rc;
}

int e2e__kf_write(const char *path, const void *data, size_t len, mode_t mode,
		  uint32_t flags)
{
	struct stat st;

	if (path == NULL || (flags & ~E2E_SAVE_EXCL) != 0)
		return E2E_ERR_INVAL;
	if (mode == 0)
		mode = stat(path, &st) == 0 ? (st.st_mode & 0777) : 0644;
	if (flags & E2E_SAVE_EXCL)
		return write_new(path, data, len, mode);
	return e2e__atomic_write(path, data, len, mode);
}

int e2e__kf_buf_init(struct e2e__kf_buf *b, size_t cap, int secret)
{
	b->p = secret ? sodium_malloc(cap) : malloc(cap);
	b->len = 0;
	b->cap = cap;
	b->secret = secret;
	b->failed = 0;
	if (b->p == NULL)
		return E2E_ERR_NOMEM;
	b->p[0] = '\0';
	return E2E_OK;
}

void e2e__kf_buf_printf(struct e2e__kf_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len) {
		b->failed = 1;
		b->p[b->len] = '\0';
		return;
	}
	b->len += (size_t)n;
}

void e2e__kf_buf_b64(struct e2e__kf_buf *b, const uint8_t *bin, size_t len)
{
	size_t need =
		sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);

	if (b->failed)
		return;
	if (need > b->cap - b->len) {
		b->failed = 1;
		return;
	}
	sodium_bin2base64(b->p + b->len, b->cap - b->len, bin, len,
			  sodium_base64_VARIANT_ORIGINAL);
	b->len += strlen(b->p + b->len);
}

void e2e__kf_buf_free(struct e2e__kf_buf *b)
{
	if (b->p == NULL)
		return;
	if (b->secret) {
		sodium_free(b->p); /* wipes */
	} else {
		free(b->p);
	}
	b->p = NULL;
}

void e2e__kf_release(char *buf, int secret)
{
	if (buf == NULL)
		return;
	if (secret)
		sodium_free(buf);
	else
		free(buf);
}
