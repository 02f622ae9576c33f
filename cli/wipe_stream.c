/*
 * wipe_stream.c: see wipe_stream.h. A fopencookie stream (glibc) whose
 * write appends to a buffer grown by copy-and-wipe.
 */
#define _GNU_SOURCE /* fopencookie */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "wipe_stream.h"

static ssize_t wipe_write(void *cookie, const char *s, size_t n)
{
	struct cli_wipe_buf *b = cookie;

	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *d;

		while (cap - b->len < n) {
			if (cap > ((size_t)-1) / 2) {
				errno = ENOMEM;
				return -1;
			}
			cap *= 2;
		}
		if (!(d = malloc(cap)))
			return -1;
		if (b->data) {
			memcpy(d, b->data, b->len);
			sodium_memzero(b->data, b->cap);
			free(b->data);
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	return (ssize_t)n;
}

FILE *cli_wipe_stream(struct cli_wipe_buf *b)
{
	cookie_io_functions_t io = {NULL, wipe_write, NULL, NULL};
	FILE *f = fopencookie(b, "w", io);

	if (f && setvbuf(f, NULL, _IONBF, 0) != 0) {
		fclose(f);
		return NULL;
	}
	return f;
}

void cli_wipe_reset(struct cli_wipe_buf *b)
{
	if (b->data)
		sodium_memzero(b->data, b->len);
	b->len = 0;
}

void cli_wipe_free(struct cli_wipe_buf *b)
{
	if (b->data) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = b->cap = 0;
}
