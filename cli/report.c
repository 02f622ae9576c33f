/* The one error reporter (report.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "e2e.h"
#include "report.h"

static const char *prog_name = "e2e";
static int debug_on;

void cli_report_init(const char *prog)
{
	prog_name = prog;
}

const char *cli_prog(void)
{
	return prog_name;
}

void cli_report_debug(int on)
{
	debug_on = on;
}

int cli_debugging(void)
{
	return debug_on;
}

static void vreport(const char *fmt, va_list ap)
{
	flockfile(stderr);
	fprintf(stderr, "%s: ", prog_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}

void cli_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

void cli_debug(const char *fmt, ...)
{
	va_list ap;

	if (!debug_on)
		return;
	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

/* "PROG: [WHAT ]PATH[:LINE]: " with stderr locked; end with file_end(). */
static void file_begin(const char *what, const char *path, size_t line)
{
	flockfile(stderr);
	fprintf(stderr, "%s: %s%s%s", prog_name, what ? what : "",
		what ? " " : "", path);
	if (line > 0)
		fprintf(stderr, ":%zu", line);
	fputs(": ", stderr);
}

static void file_end(void)
{
	fputc('\n', stderr);
	funlockfile(stderr);
}

/* The remedy this module knows for a libe2e result, or NULL. */
static const char *known_remedy(int rc)
{
	switch (rc) {
	case E2E_ERR_PERMISSIONS:
		return "run: chmod 600 ";
	case E2E_ERR_WRITABLE:
		return "only you or root may own it and write it (chmod go-w)";
	case E2E_ERR_EXISTS:
		return "(use --force to overwrite)";
	default:
		return NULL;
	}
}

void cli_file_err(const char *what, const char *path, size_t line, int rc,
		  const char *remedy)
{
	int saved = errno;
	const char *fix = remedy ? remedy : known_remedy(rc);

	/* Whole-file errors: a line number would only mislead. */
	if (rc == E2E_ERR_IO || known_remedy(rc))
		line = 0;
	file_begin(what, path, line);
	fputs(rc == E2E_ERR_IO ? strerror(saved) : e2e_strerror(rc), stderr);
	if (fix && fix[0] == '(')
		fprintf(stderr, " %s", fix);
	else if (fix && !remedy && rc == E2E_ERR_PERMISSIONS)
		fprintf(stderr, "; %s%s", fix, path); /* the command to run */
	else if (fix)
		fprintf(stderr, "; %s", fix);
	file_end();
}

void cli_file_msg(const char *what, const char *path, size_t line,
		  const char *fmt, ...)
{
	va_list ap;

	file_begin(what, path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	file_end();
}

void cli_warn_unsafe_dir(const char *what, const char *path)
{
	char dir[PATH_MAX];

	if (e2e_path_check(path, dir, sizeof dir) == E2E_ERR_WRITABLE)
		cli_err("warning: %s%s%s: directory %s may be written by other "
			"users, who could replace the file",
			what ? what : "", what ? " " : "", path, dir);
}
