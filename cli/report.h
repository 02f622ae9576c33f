/*
 * The one error reporter of e2e-pub, e2e-sub and e2e-keygen: every message
 * is one line on stderr, "PROG: message", and an error about a file names
 * it the way compilers do, "PROG: [WHAT ]PATH[:LINE]: message[; remedy]",
 * with the remedy wherever there is one (chmod, --force, move it away).
 *
 * The program name and the debug switch are the process's (one tool per
 * process); nothing else here has state.
 */
#ifndef E2E_CLI_REPORT_H
#define E2E_CLI_REPORT_H

#include <stddef.h>

/* Set once, first thing in main: "e2e-pub". */
void cli_report_init(const char *prog);
const char *cli_prog(void);
/* -d: cli_debug() prints. */
void cli_report_debug(int on);
int cli_debugging(void);

/* "PROG: message\n" on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same, only with -d. */
void cli_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * An error about a file from a libe2e result rc: "PROG: [WHAT ]PATH[:LINE]:
 * message[; remedy]". what ("keyring", "state file") may be NULL, line 0
 * when no line is known; E2E_ERR_IO reads errno. remedy, when not NULL,
 * replaces the one this module knows for rc (file permissions, an existing
 * file).
 */
void cli_file_err(const char *what, const char *path, size_t line, int rc,
		  const char *remedy);
/* A file error with its own message: "PROG: [WHAT ]PATH[:LINE]: message". */
void cli_file_msg(const char *what, const char *path, size_t line,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A warning, not an error: another user could replace the file at path
 * through a directory above it (e2e_path_check). what may be NULL. */
void cli_warn_unsafe_dir(const char *what, const char *path);

#endif /* E2E_CLI_REPORT_H */
