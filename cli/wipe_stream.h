/*
 * wipe_stream.h: a FILE that writes into memory and never leaves a copy of
 * what it held behind (e2e-sub formats opened plaintext into it).
 * open_memstream grows its buffer with realloc, which leaves the old
 * contents in freed memory; this one wipes the old buffer when it grows,
 * is unbuffered (no stdio buffer holds a copy either), and wipes on reset
 * and on free.
 */
#ifndef CLI_WIPE_STREAM_H
#define CLI_WIPE_STREAM_H
#include <stddef.h>
#include <stdio.h>

struct cli_wipe_buf {
	char *data; /* what was written, data[0..len) */
	size_t len, cap;
};

/* A stream writing into b (zeroed by the caller), or NULL (errno). */
FILE *cli_wipe_stream(struct cli_wipe_buf *b);
/* Wipe what b holds and start again at 0 (the stream stays usable). */
void cli_wipe_reset(struct cli_wipe_buf *b);
/* Wipe and free b's memory (after fclose of its stream). */
void cli_wipe_free(struct cli_wipe_buf *b);
#endif
