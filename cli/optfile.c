/*
 * Default option files (optfile.h).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "optfile.h"
#include "report.h"

/* The file is small: options, not data. */
#define OPTFILE_MAX (64 * 1024)

static char *file_path(const char *name)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	const char *home = getenv("HOME");
	char *p;
	size_t n;

	if ((!xdg || !*xdg) && (!home || !*home))
		return NULL;
	n = strlen(xdg && *xdg ? xdg : home) + strlen(name) + 16;
	if (!(p = malloc(n)))
		return NULL;
	if (xdg && *xdg)
		snprintf(p, n, "%s/%s", xdg, name);
	else
		snprintf(p, n, "%s/.config/%s", home, name);
	return p;
}

static int read_text(struct cli_optfile *f)
{
	FILE *in = fopen(f->path, "r");

	if (!in)
		return errno == ENOENT ? 1 : -1;
	f->text = malloc(OPTFILE_MAX + 1);
	if (f->text)
		f->len = fread(f->text, 1, OPTFILE_MAX + 1, in);
	fclose(in);
	if (!f->text || f->len > OPTFILE_MAX)
		return -1;
	f->text[f->len] = '\0';
	return 0;
}

/* Split every line into "option" and "the rest", as mosquitto does. */
static int split(struct cli_optfile *f, const char *prog)
{
	char *line = f->text, *next;

	f->argv = calloc(2 * (f->len + 1) + 1, sizeof *f->argv);
	if (!f->argv)
		return -1;
	f->argv[f->argc++] = (char *)prog;
	for (; line && *line; line = next) {
		char *sp;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		sp = strchr(line, ' ');
		f->argv[f->argc++] = line;
		if (sp) {
			*sp = '\0';
			if (sp[1])
				f->argv[f->argc++] = sp + 1;
		}
	}
	return 0;
}

int cli_optfile_read(const char *prog, const char *name, struct cli_optfile *f)
{
	int rc;

	memset(f, 0, sizeof *f);
	if (!(f->path = file_path(name)))
		return 0;
	rc = read_text(f);
	if (rc == 1) {
		cli_optfile_free(f);
		return 0;
	}
	if (rc == 0 && split(f, prog) == 0)
		return 0;
	cli_err("cannot read option file %s: %s", f->path,
		f->len > OPTFILE_MAX ? "larger than 64 KiB" : strerror(errno));
	cli_optfile_free(f);
	return -1;
}

void cli_optfile_free(struct cli_optfile *f)
{
	if (f->text) {
		sodium_memzero(f->text, f->len); /* it may hold -P */
		free(f->text);
	}
	free(f->argv);
	free(f->path);
	memset(f, 0, sizeof *f);
}
