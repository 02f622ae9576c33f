/*
 * Runs a fuzz target without libFuzzer: every file named on the command line
 * (directories: every regular file in them) is passed once to
 * LLVMFuzzerTestOneInput(). Without arguments it runs the target's seed
 * corpus, $top_srcdir/tests/fuzz/corpus/FUZZ_NAME, so that `make check`
 * replays the corpus in every build. A crash or a failed oracle aborts; an
 * empty or missing corpus is an error too.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_common.h"

#ifndef FUZZ_NAME
#error "compile with -DFUZZ_NAME='\"target\"'"
#endif

static int run_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return -1;
	}
	rewind(f);
	/* Exactly n bytes, as libFuzzer does, so overreads are caught. */
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "%s: read error\n", path);
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	(*count)++;
	return 0;
}

static int run_path(const char *path, size_t *count)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path, count);
	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char sub[4096];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode))
			rc = run_file(sub, count);
	}
	closedir(d);
	return rc;
}

int main(int argc, char **argv)
{
	char def[4096];
	const char *srcdir = getenv("top_srcdir");
	size_t count = 0;
	int rc = 0;

	if (argc < 2) {
		snprintf(def, sizeof def, "%s/tests/fuzz/corpus/%s",
			 srcdir != NULL ? srcdir : ".", FUZZ_NAME);
		rc = run_path(def, &count);
	}
	for (int i = 1; rc == 0 && i < argc; i++)
		rc = run_path(argv[i], &count);
	if (rc != 0)
		return 1;
	if (count == 0) {
		fprintf(stderr, "%s: no inputs found\n", FUZZ_NAME);
		return 1;
	}
	printf("%s: %zu inputs, no failure\n", FUZZ_NAME, count);
	return 0;
}
