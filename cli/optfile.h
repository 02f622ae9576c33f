/*
 * Default option files, as mosquitto's clients have them: e2e-pub reads
 * $XDG_CONFIG_HOME/e2e_pub (else ~/.config/e2e_pub), e2e-sub e2e_sub,
 * before its command line. mosquitto's format: one option a line, the
 * option, one space, and the rest of the line as its argument; lines
 * starting with '#' are comments.
 */
#ifndef E2E_CLI_OPTFILE_H
#define E2E_CLI_OPTFILE_H

struct cli_optfile {
	char *path; /* NULL: no file */
	char *text; /* the file, split in place; wiped when freed */
	size_t len;
	char **argv; /* argv[0] the program, then the words */
	int argc;
};

/* Read name's file into f: 0 (f->argc 0 when there is none), or -1
 * after reporting. */
int cli_optfile_read(const char *prog, const char *name, struct cli_optfile *f);
void cli_optfile_free(struct cli_optfile *f);

#endif /* E2E_CLI_OPTFILE_H */
