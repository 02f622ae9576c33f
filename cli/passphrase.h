/*
 * Secrets of the command-line tools, one module for e2e-pub, e2e-sub and
 * e2e-keygen: one reader for passphrase and password files, one terminal
 * prompt, one length limit, secret strings in locked memory, and the
 * process settings that keep secrets out of core dumps.
 *
 * Every secret string here lives in sodium_malloc memory (locked, guard
 * pages, excluded from core dumps) and is wiped by cli_secret_free.
 */
#ifndef E2E_CLI_PASSPHRASE_H
#define E2E_CLI_PASSPHRASE_H

#include <stddef.h>

/* The longest passphrase or password, in bytes, without its newline. */
#define CLI_PASS_MAX 1024

/* Results of the readers below. */
enum cli_pass_status {
	CLI_PASS_OK = 0,
	CLI_PASS_ERRNO = -1,    /* see errno */
	CLI_PASS_TOO_LONG = -2, /* more than CLI_PASS_MAX bytes */
	CLI_PASS_NO_TTY = -3,   /* no controlling terminal to ask on */
	CLI_PASS_NO_ECHO = -4,  /* echo cannot be turned off: not asked */
	CLI_PASS_NOMEM = -5
};

/* What went wrong, for a message ("longer than 1024 bytes"); strerror for
 * CLI_PASS_ERRNO. Never NULL. */
const char *cli_pass_strerror(int status);

/*
 * The first line of path (without the newline, or a CR before it) as a new
 * secret string in *out, its length in *len. A line longer than
 * CLI_PASS_MAX is refused whole (CLI_PASS_TOO_LONG), never cut.
 */
int cli_pass_read_file(const char *path, char **out, size_t *len);

/*
 * Ask on the controlling terminal with echo off. The terminal is always
 * restored: after the answer, and on SIGINT, SIGTERM, SIGHUP or SIGQUIT,
 * which are unblocked for the prompt and then end the process by their
 * default action (Ctrl-C works even in a tool that blocks SIGINT). Call it
 * while the process has one thread. Same limit and result as above.
 */
int cli_pass_prompt(const char *prompt, char **out, size_t *len);

/* A secret copy of s (len bytes and a NUL); NULL when out of memory. */
char *cli_secret_dup(const char *s, size_t len);
/* Wipe and free a secret string (NULL is fine). */
void cli_secret_free(char *s);

/*
 * Buffers of clear messages (e2e-pub's stdin, what the bridge journals):
 * malloc'd, and wiped before their memory goes back to the heap, where
 * realloc and free would leave the bytes for the next allocation to read.
 * cli_clear_grow returns a buffer of new_cap bytes starting with p's cap
 * bytes, p wiped and freed; NULL when out of memory (p then untouched).
 * cli_clear_free wipes cap bytes of p and frees it (NULL is fine).
 */
void *cli_clear_grow(void *p, size_t cap, size_t new_cap);
void cli_clear_free(void *p, size_t cap);

/*
 * Take a variable out of the environment: *out is a secret copy of its
 * value (NULL when unset); the value is then wiped where it was and the
 * variable removed, so that neither /proc/PID/environ nor a child sees
 * it. CLI_PASS_TOO_LONG beyond CLI_PASS_MAX (the value is wiped anyway).
 */
int cli_secret_getenv(const char *name, char **out, size_t *len);

/* No core dump, and no ptrace attach by other processes of the same user:
 * the first thing every tool does. */
void cli_protect_process(void);

#endif /* E2E_CLI_PASSPHRASE_H */
