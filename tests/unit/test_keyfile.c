/*
 * Key files (docs/KEYFILES.md): keyrings, signer secret and public keys,
 * trust files — round trips, every error a loader reports with its line,
 * file modes, exclusive creation, atomic rewrites (with a real crash between
 * the temporary file and the rename), and the rotation lifecycle through
 * files with messages sealed and opened.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "keyfile.h"

/* Argon2id at its cheapest: tests only, through the explicit API. */
#define FAST_OPS 1u
#define FAST_MEM 8192u

/* ---------------------------------------------------------------------- */
/* A crash between writing the temporary file and renaming it.            */
/* The library is linked statically into this program, so these           */
/* definitions take the place of libc's for its calls.                    */
/* ---------------------------------------------------------------------- */

static int crash_at_rename;

int rename(const char *from, const char *to)
{
	if (crash_at_rename)
		raise(SIGKILL);
	return renameat(AT_FDCWD, from, AT_FDCWD, to);
}

int link(const char *from, const char *to)
{
	if (crash_at_rename)
		raise(SIGKILL);
	return linkat(AT_FDCWD, from, AT_FDCWD, to, 0);
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */
/* ---------------------------------------------------------------------- */

struct dir {
	char path[64];
	char file[128];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof *d);

	assert_non_null(d);
	strcpy(d->path, "/tmp/e2e-keyfile-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->file, sizeof d->file, "%s/file", d->path);
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	DIR *dh = opendir(d->path);
	struct dirent *e;
	char p[512];

	while (dh != NULL && (e = readdir(dh)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", d->path, e->d_name);
		unlink(p);
	}
	if (dh != NULL)
		closedir(dh);
	rmdir(d->path);
	free(d);
	return 0;
}

static void write_file(const char *path, mode_t mode, const char *text)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The file's contents (malloc'd, NUL-terminated). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 16);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 0777;
}

static size_t count_entries(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(dh);
	while ((e = readdir(dh)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(dh);
	return n;
}

/* Path of the one entry of dir whose name contains ".tmp-", or "". */
static void find_temp(const char *dir, char *out, size_t cap)
{
	DIR *dh = opendir(dir);
	struct dirent *e;

	out[0] = '\0';
	assert_non_null(dh);
	while ((e = readdir(dh)) != NULL)
		if (strstr(e->d_name, ".tmp-") != NULL)
			snprintf(out, cap, "%s/%s", dir, e->d_name);
	closedir(dh);
}

static const uint8_t key_a[E2E_KEYBYTES] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t key_b[E2E_KEYBYTES] = {9, 9, 9, 9};

/* "libe2e-keyring 1" and key lines, with the keys above as base64. */
#define KEY_A_B64 "AQIDBAUGBwgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
#define KEY_B_B64 "CQkJCQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static void add_key(e2e_keyring *kr, uint32_t id, e2e_suite suite,
		    e2e_key_state state, int64_t created, const uint8_t *key)
{
	e2e_key_info info = {id, suite, state, created};

	assert_int_equal(e2e_keyring_add(kr, &info, key), E2E_OK);
}

/* A keyring of three keys in every state and both suites. */
static e2e_keyring *three_keys(void)
{
	e2e_keyring *kr = NULL;

	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	add_key(kr, 0x0a0b0c0d, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 1700000000,
		key_a);
	add_key(kr, 0x00000001, E2E_SUITE_MAC, E2E_KEY_ENABLED, 0, key_b);
	add_key(kr, 0xffffffff, E2E_SUITE_AEAD, E2E_KEY_DISABLED, 1800000000,
		key_a);
	return kr;
}

static void assert_same_keyring(const e2e_keyring *a, const e2e_keyring *b)
{
	e2e_key_info ia, ib;
	size_t i;

	assert_int_equal(e2e_keyring_count(a), e2e_keyring_count(b));
	for (i = 0; i < e2e_keyring_count(a); i++) {
		assert_int_equal(e2e_keyring_get(a, i, &ia), E2E_OK);
		assert_int_equal(e2e_keyring_get(b, i, &ib), E2E_OK);
		assert_int_equal(ia.id, ib.id);
		assert_int_equal(ia.suite, ib.suite);
		assert_int_equal(ia.state, ib.state);
		assert_int_equal(ia.created, ib.created);
		assert_memory_equal(e2e__keyring_lookup(a, ia.id)->key,
				    e2e__keyring_lookup(b, ib.id)->key,
				    E2E_KEYBYTES);
	}
}

/* Load a keyring file written from text; expect rc at line. */
static void expect_keyring_error(const char *path, const char *text, int rc,
				 size_t line)
{
	e2e_keyring *kr = (e2e_keyring *)&kr; /* must be reset to NULL */
	size_t bad = 99;

	write_file(path, 0600, text);
	assert_int_equal(e2e_keyring_load(&kr, path, &bad), rc);
	assert_null(kr);
	assert_int_equal(bad, line);
}

#define HDR "libe2e-keyring 1\n"
#define PRIMARY_A "0a0b0c0d aead primary 1700000000 " KEY_A_B64 "\n"
#define ENABLED_B "00000002 mac enabled 1700000001 " KEY_B_B64 "\n"

/* ---------------------------------------------------------------------- */
/* Keyrings                                                               */
/* ---------------------------------------------------------------------- */

static void keyring_round_trip_keeps_every_field(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys(), *back = NULL;
	size_t line = 99;

	assert_int_equal(e2e_keyring_save(kr, d->file, E2E_SAVE_EXCL), E2E_OK);
	assert_int_equal(e2e_keyring_load(&back, d->file, &line), E2E_OK);
	assert_int_equal(line, 0);
	assert_same_keyring(kr, back);
	e2e_keyring_free(kr);
	e2e_keyring_free(back);
}

static void keyring_file_is_created_mode_0600(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys();
	mode_t old = umask(0);

	assert_int_equal(e2e_keyring_save(kr, d->file, E2E_SAVE_EXCL), E2E_OK);
	assert_int_equal(file_mode(d->file), 0600);
	assert_int_equal(e2e_keyring_save(kr, d->file, 0), E2E_OK);
	assert_int_equal(file_mode(d->file), 0600);
	umask(old);
	e2e_keyring_free(kr);
}

static void keyring_file_is_readable_text(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys();
	char *text;

	assert_int_equal(e2e_keyring_save(kr, d->file, 0), E2E_OK);
	text = slurp(d->file);
	assert_non_null(strstr(text, "\n" HDR));
	assert_non_null(strstr(text, "\n" PRIMARY_A));
	assert_non_null(strstr(text, "\n00000001 mac enabled 0 " KEY_B_B64));
	assert_non_null(strstr(text, "\nffffffff aead disabled 1800000000 "));
	free(text);
	e2e_keyring_free(kr);
}

static void keyring_save_excl_refuses_existing_file(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys();
	char *text;

	write_file(d->file, 0600, "precious\n");
	assert_int_equal(e2e_keyring_save(kr, d->file, E2E_SAVE_EXCL),
			 E2E_ERR_EXISTS);
	text = slurp(d->file);
	assert_string_equal(text, "precious\n");
	assert_int_equal(count_entries(d->path), 1);
	free(text);
	e2e_keyring_free(kr);
}

static void keyring_save_into_missing_directory_is_io_error(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys();
	char path[192];

	/* Both the atomic replace and the exclusive creation fail cleanly
	 * when the directory is not there, and create nothing. */
	snprintf(path, sizeof path, "%s/missing/file", d->path);
	assert_int_equal(e2e_keyring_save(kr, path, 0), E2E_ERR_IO);
	assert_int_equal(e2e_keyring_save(kr, path, E2E_SAVE_EXCL), E2E_ERR_IO);
	assert_int_equal(count_entries(d->path), 0);
	e2e_keyring_free(kr);
}

static void keyring_save_replaces_without_leaving_temp_files(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys(), *back = NULL;

	write_file(d->file, 0600, "old\n");
	assert_int_equal(e2e_keyring_save(kr, d->file, 0), E2E_OK);
	assert_int_equal(count_entries(d->path), 1);
	assert_int_equal(e2e_keyring_load(&back, d->file, NULL), E2E_OK);
	assert_same_keyring(kr, back);
	e2e_keyring_free(kr);
	e2e_keyring_free(back);
}

static void keyring_save_refuses_keyring_with_only_disabled_keys(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL;

	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	add_key(kr, 7, E2E_SUITE_AEAD, E2E_KEY_DISABLED, 0, key_a);
	assert_int_equal(e2e_keyring_save(kr, d->file, 0), E2E_ERR_NO_PRIMARY);
	assert_int_equal(access(d->file, F_OK), -1);
	e2e_keyring_free(kr);
}

static void keyring_save_rejects_unknown_flags(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys();

	assert_int_equal(e2e_keyring_save(kr, d->file, 0x80), E2E_ERR_INVAL);
	assert_int_equal(access(d->file, F_OK), -1);
	e2e_keyring_free(kr);
}

static void keyring_load_reports_missing_file_as_io(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL;
	size_t line = 99;

	errno = 0;
	assert_int_equal(e2e_keyring_load(&kr, d->file, &line), E2E_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(line, 0);
	assert_null(kr);
}

static void keyring_load_rejects_empty_file(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(d->file, "", E2E_ERR_EMPTY, 0);
}

static void keyring_load_rejects_file_of_comments_only(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(d->file, "# nothing\n\n", E2E_ERR_TRUNCATED, 0);
}

static void keyring_load_rejects_last_line_cut_short(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(d->file, HDR PRIMARY_A "00000002 mac enabled 17",
			     E2E_ERR_TRUNCATED, 3);
}

static void keyring_load_rejects_corrupt_base64(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(
		d->file,
		"# c\n" HDR PRIMARY_A
		"00000002 mac enabled 1 CQkJCQ!!AAAAAAAAAAAAAAAAAAA"
		"AAAAAAAAAAAAAAAAAAAA=\n",
		E2E_ERR_BASE64, 4);
}

static void keyring_load_rejects_key_of_wrong_length(void **state)
{
	struct dir *d = *state;

	/* 31 bytes, then 33 bytes. */
	expect_keyring_error(d->file,
			     HDR PRIMARY_A
			     "00000002 mac enabled 1 "
			     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n",
			     E2E_ERR_BASE64, 3);
	expect_keyring_error(d->file,
			     HDR PRIMARY_A
			     "00000002 mac enabled 1 "
			     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
			     E2E_ERR_BASE64, 3);
}

static void keyring_load_rejects_unknown_version(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(d->file, "# c\nlibe2e-keyring 2\n" PRIMARY_A,
			     E2E_ERR_KEYFILE_VERSION, 2);
}

static void keyring_load_rejects_other_file_type(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(d->file, "libe2e-trust 1\n", E2E_ERR_KEYFILE, 1);
}

static void keyring_load_rejects_duplicate_key_id(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(d->file,
			     HDR PRIMARY_A ENABLED_B
			     "0A0B0C0D mac disabled 5 " KEY_B_B64 "\n",
			     E2E_ERR_DUPLICATE_KEY, 4);
}

static void keyring_load_rejects_two_primaries(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(d->file,
			     HDR PRIMARY_A ENABLED_B
			     "00000003 mac primary 5 " KEY_B_B64 "\n",
			     E2E_ERR_TWO_PRIMARIES, 4);
}

static void keyring_load_rejects_keyring_with_only_disabled_keys(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(
		d->file, HDR "00000002 mac disabled 1700000001 " KEY_B_B64 "\n",
		E2E_ERR_NO_PRIMARY, 0);
}

/* A receive-only member's keyring (enabled keys only) loads, opens and
 * cannot seal (docs/KEYFILES.md section 2). */
static void keyring_load_accepts_receive_only_keyring(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL;
	e2e_sender *s = NULL;
	e2e_key_info info;
	uint8_t env[E2E_SEALED_MAX(1)];
	size_t env_len = 0;

	write_file(d->file, 0600, HDR ENABLED_B);
	assert_int_equal(e2e_keyring_load(&kr, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_keyring_count(kr), 1);
	assert_int_equal(e2e_keyring_primary_at(kr, 0, &info), E2E_ERR_NO_KEY);
	assert_int_equal(e2e_sender_new(&s, NULL), E2E_OK);
	assert_int_equal(e2e_seal(s, kr, "t", (const uint8_t *)"x", 1, 0, env,
				  sizeof env, &env_len),
			 E2E_ERR_NO_KEY);
	e2e_sender_free(s);
	e2e_keyring_free(kr);
}

/* A keyring whose only primary activates later (a key update applied
 * before T) saves and loads back with its schedule. */
static void keyring_round_trips_future_primary_without_primary(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL, *back = NULL;
	uint64_t act = 0, dis = 0;
	e2e_key_state st;

	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	add_key(kr, 7, E2E_SUITE_AEAD, E2E_KEY_ENABLED, 1700000000, key_a);
	assert_int_equal(e2e_keyring_schedule(kr, 7, 4000000000u, 0), E2E_OK);
	assert_int_equal(e2e_keyring_save(kr, d->file, 0), E2E_OK);
	assert_int_equal(e2e_keyring_load(&back, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_keyring_schedule_get(back, 7, &act, &dis), E2E_OK);
	assert_int_equal(act, 4000000000u);
	assert_int_equal(e2e_keyring_state_at(back, 7, 4000000000u, &st),
			 E2E_OK);
	assert_int_equal(st, E2E_KEY_PRIMARY);
	e2e_keyring_free(kr);
	e2e_keyring_free(back);
}

static void keyring_load_rejects_keyring_without_keys(void **state)
{
	struct dir *d = *state;

	expect_keyring_error(d->file, "# empty\n" HDR, E2E_ERR_NO_PRIMARY, 0);
}

static void keyring_load_rejects_group_or_world_access(void **state)
{
	struct dir *d = *state;
	static const mode_t modes[] = {0640, 0604, 0620, 0660, 0644};
	e2e_keyring *kr = NULL;
	size_t i, line = 99;

	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		write_file(d->file, modes[i], HDR PRIMARY_A);
		assert_int_equal(e2e_keyring_load(&kr, d->file, &line),
				 E2E_ERR_PERMISSIONS);
		assert_null(kr);
		assert_int_equal(line, 0);
	}
}

static void keyring_load_rejects_malformed_key_lines(void **state)
{
	struct dir *d = *state;
	static const char *const lines[] = {
		"00000002 mac enabled 1\n",                     /* fields */
		"00000002 mac enabled 1 " KEY_B_B64 " extra\n", /* fields */
		"0000002 mac enabled 1 " KEY_B_B64 "\n",        /* id */
		"0000000g mac enabled 1 " KEY_B_B64 "\n",       /* id */
		"00000000 mac enabled 1 " KEY_B_B64 "\n",       /* id 0 */
		"00000002 sha1 enabled 1 " KEY_B_B64 "\n",      /* suite */
		"00000002 none enabled 1 " KEY_B_B64 "\n",      /* suite */
		"00000002 mac revoked 1 " KEY_B_B64 "\n",       /* state */
		"00000002 mac enabled -1 " KEY_B_B64 "\n",      /* created */
		"00000002 mac enabled 1e9 " KEY_B_B64 "\n",     /* created */
		"00000002 mac enabled 99999999999999999999 " KEY_B_B64 "\n",
	};
	char text[512];
	size_t i;

	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		snprintf(text, sizeof text, "%s%s%s", HDR, PRIMARY_A, lines[i]);
		expect_keyring_error(d->file, text, E2E_ERR_KEYFILE, 3);
	}
}

static void keyring_load_rejects_nul_byte(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL;
	size_t line = 0;
	char text[] = HDR PRIMARY_A "# a\0comment\n";
	int fd;

	fd = open(d->file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, sizeof text - 1),
			 (ssize_t)(sizeof text - 1));
	close(fd);
	assert_int_equal(e2e_keyring_load(&kr, d->file, &line),
			 E2E_ERR_KEYFILE);
	assert_int_equal(line, 3);
}

static void keyring_load_accepts_comments_blanks_and_crlf(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL;
	e2e_key_info info;

	write_file(d->file, 0600,
		   "# comment\r\n\r\n  \t\nlibe2e-keyring   1\r\n"
		   "  # indented comment\n"
		   "0a0b0c0d\taead primary 1700000000 " KEY_A_B64 "  \r\n"
		   "\n" ENABLED_B);
	assert_int_equal(e2e_keyring_load(&kr, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_keyring_count(kr), 2);
	assert_int_equal(e2e_keyring_primary(kr, &info), E2E_OK);
	assert_int_equal(info.id, 0x0a0b0c0d);
	assert_memory_equal(e2e__keyring_lookup(kr, info.id)->key, key_a,
			    E2E_KEYBYTES);
	e2e_keyring_free(kr);
}

/* ---------------------------------------------------------------------- */
/* Crashes in the middle of a rewrite                                     */
/* ---------------------------------------------------------------------- */

/* Run save in a child that is killed right before its rename or link;
 * return the signal that ended it. */
static int save_and_crash(const e2e_keyring *kr, const char *path,
			  uint32_t flags)
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		crash_at_rename = 1;
		(void)!e2e_keyring_save(kr, path, flags);
		_exit(0); /* not reached when the crash happens */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void crash_before_rename_leaves_the_old_keyring(void **state)
{
	struct dir *d = *state;
	e2e_keyring *old = NULL, *next = three_keys(), *back = NULL;
	char tmp[512];

	write_file(d->file, 0600, HDR PRIMARY_A);
	assert_int_equal(e2e_keyring_load(&old, d->file, NULL), E2E_OK);
	assert_int_equal(save_and_crash(next, d->file, 0), SIGKILL);
	/* The old file, whole... */
	assert_int_equal(e2e_keyring_load(&back, d->file, NULL), E2E_OK);
	assert_same_keyring(old, back);
	e2e_keyring_free(back);
	/* ...next to a complete new one that never got its name. */
	find_temp(d->path, tmp, sizeof tmp);
	assert_true(tmp[0] != '\0');
	assert_int_equal(e2e_keyring_load(&back, tmp, NULL), E2E_OK);
	assert_same_keyring(next, back);
	e2e_keyring_free(back);
	/* The stray file does not get in the way of the next rewrite. */
	assert_int_equal(e2e_keyring_save(next, d->file, 0), E2E_OK);
	assert_int_equal(e2e_keyring_load(&back, d->file, NULL), E2E_OK);
	assert_same_keyring(next, back);
	e2e_keyring_free(back);
	e2e_keyring_free(old);
	e2e_keyring_free(next);
}

static void crash_during_exclusive_creation_leaves_no_file(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys();

	assert_int_equal(save_and_crash(kr, d->file, E2E_SAVE_EXCL), SIGKILL);
	assert_int_equal(access(d->file, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	/* Creating it again works. */
	assert_int_equal(e2e_keyring_save(kr, d->file, E2E_SAVE_EXCL), E2E_OK);
	e2e_keyring_free(kr);
}

/* ---------------------------------------------------------------------- */
/* Rotation through files, with messages                                  */
/* ---------------------------------------------------------------------- */

static e2e_keyring *reload(e2e_keyring *kr, const char *path)
{
	e2e_keyring *back = NULL;

	assert_int_equal(e2e_keyring_save(kr, path, 0), E2E_OK);
	e2e_keyring_free(kr);
	assert_int_equal(e2e_keyring_load(&back, path, NULL), E2E_OK);
	return back;
}

static int open_with(const e2e_keyring *kr, const uint8_t *env, size_t len)
{
	e2e_receiver r = {kr, NULL, NULL, 0, 0};
	uint8_t out[64];
	size_t out_len = 0;

	return e2e_open(&r, "t/1", env, len, 0, out, sizeof out, &out_len,
			NULL);
}

static void
old_key_opens_until_disabled_then_is_unknown_once_deleted(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL;
	e2e_sender *s = NULL;
	e2e_key_info first, info;
	uint8_t env[E2E_SEALED_MAX(5)];
	size_t env_len = 0;
	uint32_t second;

	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_generate(kr, E2E_SUITE_AEAD,
					      E2E_KEY_PRIMARY, 1, &first.id),
			 E2E_OK);
	kr = reload(kr, d->file);
	assert_int_equal(e2e_sender_new(&s, NULL), E2E_OK);
	assert_int_equal(e2e_seal(s, kr, "t/1", (const uint8_t *)"hello", 5, 0,
				  env, sizeof env, &env_len),
			 E2E_OK);

	/* rotate: a new primary; the first key stays enabled. */
	assert_int_equal(e2e_keyring_generate(kr, E2E_SUITE_AEAD,
					      E2E_KEY_PRIMARY, 2, &second),
			 E2E_OK);
	kr = reload(kr, d->file);
	assert_int_equal(e2e_keyring_primary(kr, &info), E2E_OK);
	assert_int_equal(info.id, second);
	assert_int_equal(e2e_keyring_find(kr, first.id, &info), E2E_OK);
	assert_int_equal(info.state, E2E_KEY_ENABLED);
	assert_int_equal(open_with(kr, env, env_len), E2E_OK);

	/* disable: refused with its own reason. */
	assert_int_equal(e2e_keyring_set_state(kr, first.id, E2E_KEY_DISABLED),
			 E2E_OK);
	kr = reload(kr, d->file);
	assert_int_equal(open_with(kr, env, env_len), E2E_ERR_DISABLED_KEY);

	/* delete: unknown from then on. */
	assert_int_equal(e2e_keyring_remove(kr, first.id), E2E_OK);
	kr = reload(kr, d->file);
	assert_int_equal(e2e_keyring_count(kr), 1);
	assert_int_equal(open_with(kr, env, env_len), E2E_ERR_UNKNOWN_KEY);

	e2e_sender_free(s);
	e2e_keyring_free(kr);
}

/* ---------------------------------------------------------------------- */
/* Signer secret and public key files                                     */
/* ---------------------------------------------------------------------- */

static const uint8_t seed1[E2E_SIGN_SEEDBYTES] = {42, 1, 2, 3};

static e2e_signer *signer1(void)
{
	e2e_signer *s = NULL;

	assert_int_equal(e2e_signer_from_seed(&s, seed1), E2E_OK);
	return s;
}

static void save_signer_fast(const e2e_signer *s, const char *path,
			     const char *pass)
{
	assert_int_equal(e2e_signer_save(s, path, pass, pass ? strlen(pass) : 0,
					 FAST_OPS, FAST_MEM, E2E_SAVE_EXCL),
			 E2E_OK);
}

static void signer_round_trip_with_passphrase(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1(), *back = NULL;
	size_t line = 99;

	save_signer_fast(s, d->file, "correct horse");
	assert_int_equal(file_mode(d->file), 0600);
	assert_int_equal(
		e2e_signer_load(&back, d->file, "correct horse", 13, &line),
		E2E_OK);
	assert_int_equal(line, 0);
	assert_memory_equal(e2e__signer_secret(back), e2e__signer_secret(s),
			    E2E_SIGN_SECRETKEYBYTES);
	assert_int_equal(e2e_signer_id(back), e2e_signer_id(s));
	e2e_signer_free(s);
	e2e_signer_free(back);
}

static void
signer_file_never_holds_the_seed_in_clear_when_encrypted(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1();
	char seed_b64[64], *text;

	save_signer_fast(s, d->file, "pw");
	sodium_bin2base64(seed_b64, sizeof seed_b64, seed1, sizeof seed1,
			  sodium_base64_VARIANT_ORIGINAL);
	seed_b64[40] = '\0'; /* any long run of it would do */
	text = slurp(d->file);
	assert_null(strstr(text, seed_b64));
	assert_non_null(strstr(text, "\nkdf argon2id 1 8192 "));
	free(text);
	e2e_signer_free(s);
}

static void signer_round_trip_without_passphrase_is_marked(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1(), *back = NULL;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES], pk2[E2E_SIGN_PUBLICKEYBYTES];
	int enc = -1;
	char *text;

	save_signer_fast(s, d->file, NULL);
	text = slurp(d->file);
	assert_non_null(strstr(text, "NOT ENCRYPTED"));
	assert_non_null(strstr(text, "\nkdf none\n"));
	free(text);
	assert_int_equal(e2e_signer_inspect(d->file, pk, &enc, NULL), E2E_OK);
	assert_int_equal(enc, 0);
	/* pass is ignored for an unencrypted file */
	assert_int_equal(e2e_signer_load(&back, d->file, "x", 1, NULL), E2E_OK);
	e2e_signer_public(s, pk2);
	assert_memory_equal(pk, pk2, sizeof pk);
	assert_memory_equal(e2e__signer_secret(back), e2e__signer_secret(s),
			    E2E_SIGN_SECRETKEYBYTES);
	e2e_signer_free(s);
	e2e_signer_free(back);
}

static void signer_load_rejects_wrong_passphrase(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1(), *back = NULL;
	size_t line = 99;

	save_signer_fast(s, d->file, "right");
	assert_int_equal(e2e_signer_load(&back, d->file, "wrong", 5, &line),
			 E2E_ERR_PASSPHRASE);
	assert_null(back);
	assert_int_equal(line, 0);
	/* a prefix of the right one is wrong too */
	assert_int_equal(e2e_signer_load(&back, d->file, "right", 4, &line),
			 E2E_ERR_PASSPHRASE);
	assert_int_equal(e2e_signer_load(&back, d->file, NULL, 0, &line),
			 E2E_ERR_PASSPHRASE);
	e2e_signer_free(s);
}

static void signer_inspect_reads_public_key_without_passphrase(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1();
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES], want[E2E_SIGN_PUBLICKEYBYTES];
	int enc = -1;

	save_signer_fast(s, d->file, "pw");
	assert_int_equal(e2e_signer_inspect(d->file, pk, &enc, NULL), E2E_OK);
	assert_int_equal(enc, 1);
	e2e_signer_public(s, want);
	assert_memory_equal(pk, want, sizeof pk);
	e2e_signer_free(s);
}

static void signer_save_rejects_empty_passphrase_and_bad_costs(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1();

	assert_int_equal(
		e2e_signer_save(s, d->file, "", 0, FAST_OPS, FAST_MEM, 0),
		E2E_ERR_INVAL);
	assert_int_equal(e2e_signer_save(s, d->file, "pw", 2,
					 E2E_SIGNER_OPSLIMIT_MAX + 1, FAST_MEM,
					 0),
			 E2E_ERR_INVAL);
	assert_int_equal(
		e2e_signer_save(s, d->file, "pw", 2, FAST_OPS, 4096, 0),
		E2E_ERR_INVAL);
	assert_int_equal(access(d->file, F_OK), -1);
	e2e_signer_free(s);
}

static void signer_default_costs_are_libsodium_moderate(void **state)
{
	(void)state;
	assert_int_equal(e2e_signer_opslimit(),
			 crypto_pwhash_OPSLIMIT_MODERATE);
	assert_int_equal(e2e_signer_memlimit(),
			 crypto_pwhash_MEMLIMIT_MODERATE);
}

static void signer_load_rejects_group_readable_file(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1(), *back = NULL;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];

	save_signer_fast(s, d->file, NULL);
	assert_int_equal(chmod(d->file, 0640), 0);
	assert_int_equal(e2e_signer_load(&back, d->file, NULL, 0, NULL),
			 E2E_ERR_PERMISSIONS);
	assert_int_equal(e2e_signer_inspect(d->file, pk, NULL, NULL),
			 E2E_ERR_PERMISSIONS);
	e2e_signer_free(s);
}

/* The unencrypted file of signer1, line by line. */
static void signer1_lines(const char *path, char lines[5][128])
{
	e2e_signer *s = signer1();
	char *text, *p, *nl;
	size_t i = 0;

	save_signer_fast(s, path, NULL);
	text = slurp(path);
	for (p = text; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		if (*p == '#')
			continue;
		assert_true(i < 5);
		snprintf(lines[i++], 128, "%.*s\n", (int)(nl - p), p);
	}
	assert_int_equal(i, 5);
	free(text);
	unlink(path);
	e2e_signer_free(s);
}

static void expect_signer_error(const char *path, const char *text, int rc,
				size_t line)
{
	e2e_signer *s = NULL;
	size_t bad = 99;

	write_file(path, 0600, text);
	assert_int_equal(e2e_signer_load(&s, path, NULL, 0, &bad), rc);
	assert_int_equal(bad, line);
	if (rc == E2E_OK)
		assert_non_null(s);
	else
		assert_null(s);
	e2e_signer_free(s);
}

static void signer_load_reports_each_damaged_line(void **state)
{
	struct dir *d = *state;
	char l[5][128], text[1024], other[64];
	uint8_t other_seed[E2E_SIGN_SEEDBYTES] = {7};

	signer1_lines(d->file, l);
	snprintf(text, sizeof text, "%s%s%s%s%s", l[0], l[1], l[2], l[3], l[4]);
	expect_signer_error(d->file, text, E2E_OK, 0);

	/* truncated: the secret line missing, or cut */
	snprintf(text, sizeof text, "%s%s%s%s", l[0], l[1], l[2], l[3]);
	expect_signer_error(d->file, text, E2E_ERR_TRUNCATED, 5);
	snprintf(text, sizeof text, "%s%s%s%s%.20s", l[0], l[1], l[2], l[3],
		 l[4]);
	expect_signer_error(d->file, text, E2E_ERR_TRUNCATED, 5);
	/* unknown version */
	snprintf(text, sizeof text, "libe2e-signer-secret 9\n%s%s%s%s", l[1],
		 l[2], l[3], l[4]);
	expect_signer_error(d->file, text, E2E_ERR_KEYFILE_VERSION, 1);
	/* signer id not that of the public key */
	snprintf(text, sizeof text, "%ssigner 0000000000000001\n%s%s%s", l[0],
		 l[2], l[3], l[4]);
	expect_signer_error(d->file, text, E2E_ERR_KEYFILE, 2);
	/* corrupt base64 in the public key */
	snprintf(text, sizeof text, "%s%spublic @@@@\n%s%s", l[0], l[1], l[3],
		 l[4]);
	expect_signer_error(d->file, text, E2E_ERR_BASE64, 3);
	/* unknown kdf, costs beyond the maximum */
	snprintf(text, sizeof text, "%s%s%skdf scrypt\n%s", l[0], l[1], l[2],
		 l[4]);
	expect_signer_error(d->file, text, E2E_ERR_KEYFILE, 4);
	snprintf(text, sizeof text,
		 "%s%s%skdf argon2id 33 8192 AAAAAAAAAAAAAAAAAAAAAA==\n%s",
		 l[0], l[1], l[2], l[4]);
	expect_signer_error(d->file, text, E2E_ERR_KEYFILE, 4);
	/* a clear seed that is not the public key's */
	sodium_bin2base64(other, sizeof other, other_seed, sizeof other_seed,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof text, "%s%s%s%ssecret %s\n", l[0], l[1], l[2],
		 l[3], other);
	expect_signer_error(d->file, text, E2E_ERR_KEYFILE, 5);
	/* anything after the secret */
	snprintf(text, sizeof text, "%s%s%s%s%smore\n", l[0], l[1], l[2], l[3],
		 l[4]);
	expect_signer_error(d->file, text, E2E_ERR_KEYFILE, 6);
}

static void signer_load_rejects_costs_edited_in_encrypted_file(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1(), *back = NULL;
	char *text, *kdf;

	save_signer_fast(s, d->file, "pw");
	text = slurp(d->file);
	kdf = strstr(text, "kdf argon2id 1 8192 ");
	assert_non_null(kdf);
	kdf[13] = '2'; /* 2 passes instead of 1: bound as associated data */
	write_file(d->file, 0600, text);
	assert_int_equal(e2e_signer_load(&back, d->file, "pw", 2, NULL),
			 E2E_ERR_PASSPHRASE);
	free(text);
	e2e_signer_free(s);
}

static void pubkey_round_trip_checks_signer_id(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1();
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES], back[E2E_SIGN_PUBLICKEYBYTES];
	char *text, want[64];
	mode_t old = umask(077);

	e2e_signer_public(s, pk);
	assert_int_equal(e2e_pubkey_save(pk, d->file, E2E_SAVE_EXCL), E2E_OK);
	umask(old);
	assert_int_equal(file_mode(d->file), 0644);
	assert_int_equal(e2e_pubkey_load(back, d->file, NULL), E2E_OK);
	assert_memory_equal(pk, back, sizeof pk);
	text = slurp(d->file);
	snprintf(want, sizeof want, "\nsigner %016" PRIx64 "\n",
		 e2e_signer_id(s));
	assert_non_null(strstr(text, want));
	/* a damaged id no longer matches the key */
	strstr(text, want)[8] ^= 1;
	write_file(d->file, 0644, text);
	assert_int_equal(e2e_pubkey_load(back, d->file, NULL), E2E_ERR_KEYFILE);
	free(text);
	e2e_signer_free(s);
}

static void pubkey_load_rejects_secret_key_file(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1();
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	size_t line = 0;

	save_signer_fast(s, d->file, NULL);
	assert_int_equal(e2e_pubkey_load(pk, d->file, &line), E2E_ERR_KEYFILE);
	assert_true(line > 0);
	e2e_signer_free(s);
}

/* ---------------------------------------------------------------------- */
/* Trust files                                                            */
/* ---------------------------------------------------------------------- */

static void public_of(const uint8_t seed0, uint8_t pk[E2E_SIGN_PUBLICKEYBYTES])
{
	uint8_t seed[E2E_SIGN_SEEDBYTES] = {seed0};
	e2e_signer *s = NULL;

	assert_int_equal(e2e_signer_from_seed(&s, seed), E2E_OK);
	e2e_signer_public(s, pk);
	e2e_signer_free(s);
}

static void trust_round_trip_keeps_signers_filters_and_order(void **state)
{
	struct dir *d = *state;
	e2e_trust *t = NULL, *back = NULL;
	uint8_t pk1[32], pk2[32], got[32];
	const char *filters;

	public_of(1, pk1);
	public_of(2, pk2);
	assert_int_equal(e2e_trust_new(&t), E2E_OK);
	assert_int_equal(e2e_trust_add(t, pk2, "sensors/+/temp,alerts/#"),
			 E2E_OK);
	assert_int_equal(e2e_trust_add(t, pk1, "room 1/light"), E2E_OK);
	assert_int_equal(e2e_trust_save(t, d->file, E2E_SAVE_EXCL), E2E_OK);
	assert_int_equal(e2e_trust_load(&back, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_trust_count(back), 2);
	assert_int_equal(e2e_trust_get(back, 0, got, &filters), E2E_OK);
	assert_memory_equal(got, pk2, 32);
	assert_string_equal(filters, "sensors/+/temp,alerts/#");
	assert_int_equal(e2e_trust_get(back, 1, got, &filters), E2E_OK);
	assert_memory_equal(got, pk1, 32);
	assert_string_equal(filters, "room 1/light");
	e2e_trust_free(t);
	e2e_trust_free(back);
}

static void trust_file_without_signers_trusts_nobody(void **state)
{
	struct dir *d = *state;
	e2e_trust *t = NULL;

	write_file(d->file, 0644, "# nobody yet\nlibe2e-trust 1\n");
	assert_int_equal(e2e_trust_load(&t, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_trust_count(t), 0);
	e2e_trust_free(t);
}

static void trust_save_refuses_filters_it_could_not_read_back(void **state)
{
	struct dir *d = *state;
	e2e_trust *t = NULL;
	uint8_t pk[32];

	public_of(1, pk);
	assert_int_equal(e2e_trust_new(&t), E2E_OK);
	assert_int_equal(e2e_trust_add(t, pk, "a\nlibe2e-trust 1"), E2E_OK);
	assert_int_equal(e2e_trust_save(t, d->file, 0), E2E_ERR_INVAL);
	assert_int_equal(access(d->file, F_OK), -1);
	e2e_trust_free(t);
}

static void expect_trust_error(const char *path, const char *text, int rc,
			       size_t line)
{
	e2e_trust *t = (e2e_trust *)&t;
	size_t bad = 99;

	write_file(path, 0644, text);
	assert_int_equal(e2e_trust_load(&t, path, &bad), rc);
	assert_int_equal(bad, line);
	if (rc == E2E_OK)
		assert_non_null(t);
	else
		assert_null(t);
	e2e_trust_free(t);
}

static void trust_load_reports_each_bad_line(void **state)
{
	struct dir *d = *state;
	uint8_t pk[32];
	char b64[64], good[160], text[512];

	public_of(3, pk);
	sodium_bin2base64(b64, sizeof b64, pk, sizeof pk,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(good, sizeof good, "%016" PRIx64 " %s a/#\n",
		 e2e_signer_id_from_public(pk), b64);

	snprintf(text, sizeof text, "libe2e-trust 1\n%s", good);
	expect_trust_error(d->file, text, E2E_OK, 0);
	expect_trust_error(d->file, "", E2E_ERR_EMPTY, 0);
	expect_trust_error(d->file, "libe2e-trust 2\n", E2E_ERR_KEYFILE_VERSION,
			   1);
	/* duplicate signer */
	snprintf(text, sizeof text, "libe2e-trust 1\n%s# x\n%s", good, good);
	expect_trust_error(d->file, text, E2E_ERR_DUPLICATE_KEY, 4);
	/* invalid filter */
	snprintf(text, sizeof text, "libe2e-trust 1\n%.*s a/#/b\n",
		 (int)(strlen(good) - 5), good);
	expect_trust_error(d->file, text, E2E_ERR_KEYFILE, 2);
	/* no filters */
	snprintf(text, sizeof text, "libe2e-trust 1\n%.*s\n",
		 (int)(strlen(good) - 5), good);
	expect_trust_error(d->file, text, E2E_ERR_KEYFILE, 2);
	/* id that is not the key's */
	snprintf(text, sizeof text, "libe2e-trust 1\n0000000000000000%s",
		 good + 16);
	expect_trust_error(d->file, text, E2E_ERR_KEYFILE, 2);
	/* corrupt base64 */
	snprintf(text, sizeof text, "libe2e-trust 1\n%.17s%s", good, good + 18);
	expect_trust_error(d->file, text, E2E_ERR_BASE64, 2);
	/* truncated */
	snprintf(text, sizeof text, "libe2e-trust 1\n%.30s", good);
	expect_trust_error(d->file, text, E2E_ERR_TRUNCATED, 2);
	/* carriage return inside the filters: it could never be saved back */
	snprintf(text, sizeof text, "libe2e-trust 1\n%.*s a/\rb\n",
		 (int)(strlen(good) - 5), good);
	expect_trust_error(d->file, text, E2E_ERR_KEYFILE, 2);
}

static void trust_save_keeps_the_mode_of_the_file_it_replaces(void **state)
{
	struct dir *d = *state;
	e2e_trust *t = NULL;

	write_file(d->file, 0600, "libe2e-trust 1\n");
	assert_int_equal(e2e_trust_load(&t, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_trust_save(t, d->file, 0), E2E_OK);
	assert_int_equal(file_mode(d->file), 0600);
	e2e_trust_free(t);
}

/* ---------------------------------------------------------------------- */
/* Files other users could change (issue 11, item 8.3)                    */
/* ---------------------------------------------------------------------- */

#define OTHER_UID 54321 /* a user that owns nothing here */

static void trust_load_rejects_file_others_may_write(void **state)
{
	struct dir *d = *state;
	static const mode_t bad[] = {0664, 0646, 0666, 0620, 0602};
	static const mode_t good[] = {0644, 0640, 0604, 0600, 0444};
	e2e_trust *t = NULL;
	size_t i, line = 99;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_file(d->file, bad[i], "libe2e-trust 1\n");
		assert_int_equal(e2e_trust_load(&t, d->file, &line),
				 E2E_ERR_WRITABLE);
		assert_null(t);
		assert_int_equal(line, 0);
	}
	for (i = 0; i < sizeof good / sizeof good[0]; i++) {
		write_file(d->file, good[i], "libe2e-trust 1\n");
		assert_int_equal(e2e_trust_load(&t, d->file, NULL), E2E_OK);
		e2e_trust_free(t);
		t = NULL;
	}
}

/* Only root can give a file away; elsewhere the test cannot be made. */
static void give_away(const char *path)
{
	if (geteuid() != 0)
		skip();
	assert_int_equal(chown(path, OTHER_UID, OTHER_UID), 0);
}

static void trust_load_rejects_file_owned_by_another_user(void **state)
{
	struct dir *d = *state;
	e2e_trust *t = NULL;

	write_file(d->file, 0644, "libe2e-trust 1\n");
	give_away(d->file);
	assert_int_equal(e2e_trust_load(&t, d->file, NULL), E2E_ERR_WRITABLE);
	assert_null(t);
	/* Root's files are trusted, as ssh trusts them. */
	assert_int_equal(chown(d->file, 0, 0), 0);
	assert_int_equal(e2e_trust_load(&t, d->file, NULL), E2E_OK);
	e2e_trust_free(t);
}

static void pubkey_load_rejects_file_others_may_write(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = signer1();
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];

	e2e_signer_public(s, pk);
	assert_int_equal(e2e_pubkey_save(pk, d->file, E2E_SAVE_EXCL), E2E_OK);
	assert_int_equal(chmod(d->file, 0666), 0);
	assert_int_equal(e2e_pubkey_load(pk, d->file, NULL), E2E_ERR_WRITABLE);
	e2e_signer_free(s);
}

static void keyring_load_rejects_file_owned_by_another_user(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL;

	write_file(d->file, 0600, HDR PRIMARY_A);
	give_away(d->file);
	assert_int_equal(e2e_keyring_load(&kr, d->file, NULL),
			 E2E_ERR_WRITABLE);
	assert_null(kr);
}

static void path_check_accepts_private_directory(void **state)
{
	struct dir *d = *state;
	char dir[PATH_MAX] = "x";

	write_file(d->file, 0644, "x");
	/* Above it: /tmp (1777, sticky) and / (root's). */
	assert_int_equal(e2e_path_check(d->file, dir, sizeof dir), E2E_OK);
	assert_string_equal(dir, "");
}

static void path_check_flags_directory_others_may_write(void **state)
{
	struct dir *d = *state;
	static const mode_t bad[] = {0777, 0770, 0703};
	char dir[PATH_MAX];
	size_t i;

	write_file(d->file, 0644, "x");
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(chmod(d->path, bad[i]), 0);
		assert_int_equal(e2e_path_check(d->file, dir, sizeof dir),
				 E2E_ERR_WRITABLE);
		assert_string_equal(dir, d->path);
	}
	/* The sticky bit stops others renaming our files, as in /tmp. */
	assert_int_equal(chmod(d->path, 01777), 0);
	assert_int_equal(e2e_path_check(d->file, dir, sizeof dir), E2E_OK);
	assert_int_equal(chmod(d->path, 0700), 0);
}

static void path_check_names_the_nearest_unsafe_ancestor(void **state)
{
	struct dir *d = *state;
	char sub[256], file[300], dir[8];

	snprintf(sub, sizeof sub, "%s/sub", d->path);
	snprintf(file, sizeof file, "%s/f", sub);
	assert_int_equal(mkdir(sub, 0755), 0);
	write_file(file, 0644, "x");
	assert_int_equal(chmod(d->path, 0777), 0);
	/* Cut to the room given, always terminated. */
	assert_int_equal(e2e_path_check(file, dir, sizeof dir),
			 E2E_ERR_WRITABLE);
	assert_int_equal(strlen(dir), sizeof dir - 1);
	assert_memory_equal(dir, d->path, sizeof dir - 1);
	assert_int_equal(chmod(d->path, 0700), 0);
	unlink(file);
	rmdir(sub);
}

static void path_check_follows_symlinks_to_the_real_directory(void **state)
{
	struct dir *d = *state;
	char sub[256], target[300], dir[PATH_MAX];

	/* A safe-looking name whose file lives in a directory others may
	 * write. */
	snprintf(sub, sizeof sub, "%s/open", d->path);
	snprintf(target, sizeof target, "%s/f", sub);
	assert_int_equal(mkdir(sub, 0777), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	write_file(target, 0644, "x");
	assert_int_equal(symlink(target, d->file), 0);
	assert_int_equal(e2e_path_check(d->file, dir, sizeof dir),
			 E2E_ERR_WRITABLE);
	assert_string_equal(dir, sub);
	unlink(target);
	rmdir(sub);
}

static void path_check_flags_directory_of_another_user(void **state)
{
	struct dir *d = *state;
	char dir[PATH_MAX];

	write_file(d->file, 0644, "x");
	give_away(d->path);
	assert_int_equal(e2e_path_check(d->file, dir, sizeof dir),
			 E2E_ERR_WRITABLE);
	assert_string_equal(dir, d->path);
	assert_int_equal(chown(d->path, 0, 0), 0);
}

static void path_check_of_missing_file_is_io_error(void **state)
{
	struct dir *d = *state;
	char dir[16];

	assert_int_equal(e2e_path_check(d->file, dir, sizeof dir), E2E_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(e2e_path_check(NULL, dir, sizeof dir), E2E_ERR_INVAL);
}

/* ---------------------------------------------------------------------- */
/* Value decoders                                                         */
/* ---------------------------------------------------------------------- */

static void decimal_parser_accepts_exactly_zero_to_max(void **state)
{
	uint64_t v = 99;

	(void)state;
	assert_int_equal(e2e__kf_u64_parse("0", 5, &v), E2E_OK);
	assert_int_equal(v, 0);
	assert_int_equal(e2e__kf_u64_parse("32", 32, &v), E2E_OK);
	assert_int_equal(v, 32);
	assert_int_equal(e2e__kf_u64_parse("33", 32, &v), E2E_ERR_KEYFILE);
	assert_int_equal(e2e__kf_u64_parse("9", 5, &v), E2E_ERR_KEYFILE);
	assert_int_equal(
		e2e__kf_u64_parse("9223372036854775807", INT64_MAX, &v),
		E2E_OK);
	assert_true(v == (uint64_t)INT64_MAX);
	assert_int_equal(
		e2e__kf_u64_parse("9223372036854775808", INT64_MAX, &v),
		E2E_ERR_KEYFILE);
	assert_int_equal(
		e2e__kf_u64_parse("18446744073709551616", UINT64_MAX, &v),
		E2E_ERR_KEYFILE);
	assert_int_equal(e2e__kf_u64_parse("", 5, &v), E2E_ERR_KEYFILE);
	assert_int_equal(e2e__kf_u64_parse("+1", 5, &v), E2E_ERR_KEYFILE);
	assert_int_equal(e2e__kf_u64_parse("1 ", 5, &v), E2E_ERR_KEYFILE);
}

/* ---------------------------------------------------------------------- */
/* What the format leaves to the reader (docs/KEYFILES.md section 1)      */
/* ---------------------------------------------------------------------- */

/* A trust line for signer seed0 with the given filters field. */
static void trust_line(char *out, size_t cap, uint8_t seed0,
		       const char *filters)
{
	uint8_t pk[32];
	char b64[64];

	public_of(seed0, pk);
	sodium_bin2base64(b64, sizeof b64, pk, sizeof pk,
			  sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, cap, "%016" PRIx64 " %s %s\n",
		 e2e_signer_id_from_public(pk), b64, filters);
}

static void comments_may_hold_invalid_utf8(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = NULL;

	write_file(d->file, 0600,
		   "# caf\xe9 \xff\xfe \xc3\n" HDR "# \x80\x80\n" PRIMARY_A);
	assert_int_equal(e2e_keyring_load(&kr, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_keyring_count(kr), 1);
	e2e_keyring_free(kr);
}

static void trust_filters_are_kept_byte_for_byte_even_invalid_utf8(void **state)
{
	struct dir *d = *state;
	e2e_trust *t = NULL;
	char line[160], text[256];
	const char *filters;
	uint8_t pk[32];

	trust_line(line, sizeof line, 3, "caf\xe9/#");
	snprintf(text, sizeof text, "libe2e-trust 1\n%s", line);
	write_file(d->file, 0644, text);
	assert_int_equal(e2e_trust_load(&t, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_trust_get(t, 0, pk, &filters), E2E_OK);
	assert_string_equal(filters, "caf\xe9/#");
	assert_int_equal(e2e_topic_matches(filters, "caf\xe9/x"), 1);
	assert_int_equal(e2e_topic_matches(filters, "caf\xc3\xa9/x"), 0);
	e2e_trust_free(t);
}

/* A trust file of exactly size bytes: the header, then comment lines. */
static void write_trust_of_size(const char *path, size_t size)
{
	char *text = malloc(size + 1);
	size_t n = strlen("libe2e-trust 1\n");

	assert_non_null(text);
	memcpy(text, "libe2e-trust 1\n", n);
	memset(text + n, '#', size - n);
	for (; n + 80 < size; n += 80)
		text[n + 79] = '\n';
	text[size - 1] = '\n';
	text[size] = '\0';
	write_file(path, 0644, text);
	free(text);
}

static void file_over_4_mib_is_refused_unread_as_io_efbig(void **state)
{
	struct dir *d = *state;
	e2e_trust *t = NULL;
	size_t line = 99;

	write_trust_of_size(d->file, E2E_KEYFILE_MAX);
	assert_int_equal(e2e_trust_load(&t, d->file, &line), E2E_OK);
	e2e_trust_free(t);
	t = NULL;
	write_trust_of_size(d->file, E2E_KEYFILE_MAX + 1);
	errno = 0;
	assert_int_equal(e2e_trust_load(&t, d->file, &line), E2E_ERR_IO);
	assert_int_equal(errno, EFBIG);
	assert_int_equal(line, 0);
	assert_null(t);
}

static void file_of_comments_only_is_truncated_at_line_0(void **state)
{
	struct dir *d = *state;
	const char *only = "# a comment\n\n   \t\n  # another\r\n";
	e2e_signer *s = NULL;
	uint8_t pk[32];
	size_t line = 99;

	expect_keyring_error(d->file, only, E2E_ERR_TRUNCATED, 0);
	expect_trust_error(d->file, only, E2E_ERR_TRUNCATED, 0);
	write_file(d->file, 0644, only);
	assert_int_equal(e2e_pubkey_load(pk, d->file, &line),
			 E2E_ERR_TRUNCATED);
	assert_int_equal(line, 0);
	write_file(d->file, 0600, only);
	line = 99;
	assert_int_equal(e2e_signer_load(&s, d->file, NULL, 0, &line),
			 E2E_ERR_TRUNCATED);
	assert_int_equal(line, 0);
	assert_null(s);
}

static void header_accepts_any_blanks_around_its_two_fields(void **state)
{
	struct dir *d = *state;
	static const char *const headers[] = {
		"libe2e-trust 1\n",    "  libe2e-trust 1\n",
		"\tlibe2e-trust\t1\n", "libe2e-trust  \t 1\n",
		"libe2e-trust 1 \t\n", "libe2e-trust 1\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof headers / sizeof headers[0]; i++)
		expect_trust_error(d->file, headers[i], E2E_OK, 0);
}

static void header_with_a_third_field_is_an_unknown_version(void **state)
{
	struct dir *d = *state;

	expect_trust_error(d->file, "# c\nlibe2e-trust 1 x\n",
			   E2E_ERR_KEYFILE_VERSION, 2);
	expect_keyring_error(d->file, "libe2e-keyring 1 1\n" PRIMARY_A,
			     E2E_ERR_KEYFILE_VERSION, 1);
}

static void header_version_is_exactly_the_string_1(void **state)
{
	struct dir *d = *state;
	static const char *const headers[] = {
		"libe2e-trust 01\n", "libe2e-trust 1.0\n", "libe2e-trust v1\n",
		"libe2e-trust +1\n", "libe2e-trust\n",
	};
	size_t i;

	for (i = 0; i < sizeof headers / sizeof headers[0]; i++)
		expect_trust_error(d->file, headers[i], E2E_ERR_KEYFILE_VERSION,
				   1);
}

static void header_magic_is_case_sensitive(void **state)
{
	struct dir *d = *state;

	expect_trust_error(d->file, "LIBE2E-TRUST 1\n", E2E_ERR_KEYFILE, 1);
	expect_trust_error(d->file, "libe2e-trust1\n", E2E_ERR_KEYFILE, 1);
}

static void trust_load_refuses_empty_filters(void **state)
{
	struct dir *d = *state;
	static const char *const filters[] = {
		"a/#,", ",a/#", "a/#,,b", "a/#, ,b", ",", " , ",
	};
	char line[160], text[256];
	size_t i;

	for (i = 0; i < sizeof filters / sizeof filters[0]; i++) {
		trust_line(line, sizeof line, 3, filters[i]);
		snprintf(text, sizeof text, "libe2e-trust 1\n%s", line);
		expect_trust_error(d->file, text, E2E_ERR_KEYFILE, 2);
	}
	/* Blanks around the commas are not empty filters. */
	trust_line(line, sizeof line, 3, "a/# ,\tb , c");
	snprintf(text, sizeof text, "libe2e-trust 1\n%s", line);
	expect_trust_error(d->file, text, E2E_OK, 0);
}

static void every_loader_and_saver_rejects_null_arguments(void **state)
{
	struct dir *d = *state;
	e2e_keyring *kr = three_keys(), *kout = NULL;
	e2e_signer *s = signer1(), *sout = NULL;
	e2e_trust *t = NULL, *tout = NULL;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES] = {0};

	assert_int_equal(e2e_trust_new(&t), E2E_OK);
	assert_int_equal(e2e_keyring_load(NULL, d->file, NULL), E2E_ERR_INVAL);
	assert_int_equal(e2e_keyring_load(&kout, NULL, NULL), E2E_ERR_INVAL);
	assert_int_equal(e2e_keyring_save(NULL, d->file, 0), E2E_ERR_INVAL);
	assert_int_equal(e2e_keyring_save(kr, NULL, 0), E2E_ERR_INVAL);
	assert_int_equal(e2e_signer_load(NULL, d->file, NULL, 0, NULL),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_signer_load(&sout, NULL, NULL, 0, NULL),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_signer_save(NULL, d->file, NULL, 0, 0, 0, 0),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_signer_save(s, NULL, NULL, 0, 0, 0, 0),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_signer_inspect(NULL, pk, NULL, NULL),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_signer_inspect(d->file, NULL, NULL, NULL),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_pubkey_load(NULL, d->file, NULL), E2E_ERR_INVAL);
	assert_int_equal(e2e_pubkey_load(pk, NULL, NULL), E2E_ERR_INVAL);
	assert_int_equal(e2e_pubkey_save(NULL, d->file, 0), E2E_ERR_INVAL);
	assert_int_equal(e2e_pubkey_save(pk, NULL, 0), E2E_ERR_INVAL);
	assert_int_equal(e2e_trust_load(NULL, d->file, NULL), E2E_ERR_INVAL);
	assert_int_equal(e2e_trust_load(&tout, NULL, NULL), E2E_ERR_INVAL);
	assert_int_equal(e2e_trust_save(NULL, d->file, 0), E2E_ERR_INVAL);
	assert_int_equal(e2e_trust_save(t, NULL, 0), E2E_ERR_INVAL);
	assert_null(kout);
	assert_null(sout);
	assert_null(tout);
	assert_int_equal(count_entries(d->path), 0);
	e2e_keyring_free(kr);
	e2e_signer_free(s);
	e2e_trust_free(t);
}

/* ---------------------------------------------------------------------- */
/* Member key files and the member list                                   */
/* ---------------------------------------------------------------------- */

static e2e_member *member_from_byte(uint8_t b)
{
	uint8_t sk[E2E_MEMBER_SECRETKEYBYTES];
	e2e_member *m = NULL;

	memset(sk, b, sizeof sk);
	assert_int_equal(e2e_member_from_secret(&m, sk), E2E_OK);
	return m;
}

static void assert_same_member(const e2e_member *a, const e2e_member *b)
{
	uint8_t pa[32], pb[32], sa[32], sb[32];

	e2e_member_public(a, pa);
	e2e_member_public(b, pb);
	e2e_member_secret(a, sa);
	e2e_member_secret(b, sb);
	assert_memory_equal(pa, pb, 32);
	assert_memory_equal(sa, sb, 32);
}

static void member_key_round_trips_unencrypted_with_mode_0600(void **state)
{
	struct dir *d = *state;
	e2e_member *m = member_from_byte(7), *back = NULL;
	char *text;

	assert_int_equal(e2e_member_save(m, d->file, NULL, 0, 0, 0, 0), E2E_OK);
	assert_int_equal(file_mode(d->file), 0600);
	text = slurp(d->file);
	assert_non_null(strstr(text, "libe2e-member-secret 1\nmember "));
	assert_non_null(strstr(text, "kdf none\n"));
	free(text);
	assert_int_equal(e2e_member_load(&back, d->file, NULL, 0, NULL),
			 E2E_OK);
	assert_same_member(m, back);
	e2e_member_free(m);
	e2e_member_free(back);
}

static void member_key_with_passphrase_needs_it(void **state)
{
	struct dir *d = *state;
	e2e_member *m = member_from_byte(9), *back = NULL;
	uint8_t pk[32], pk2[32];
	int enc = 0;

	assert_int_equal(
		e2e_member_save(m, d->file, "pw", 2, FAST_OPS, FAST_MEM, 0),
		E2E_OK);
	assert_int_equal(e2e_member_load(&back, d->file, NULL, 0, NULL),
			 E2E_ERR_PASSPHRASE);
	assert_int_equal(e2e_member_load(&back, d->file, "px", 2, NULL),
			 E2E_ERR_PASSPHRASE);
	assert_null(back);
	assert_int_equal(e2e_member_inspect(d->file, pk, &enc, NULL), E2E_OK);
	e2e_member_public(m, pk2);
	assert_memory_equal(pk, pk2, 32);
	assert_int_equal(enc, 1);
	assert_int_equal(e2e_member_load(&back, d->file, "pw", 2, NULL),
			 E2E_OK);
	assert_same_member(m, back);
	e2e_member_free(m);
	e2e_member_free(back);
}

/* The passphrase's associated data names the file kind: a signer file is
 * not a member file, even with the magic line edited. */
static void member_load_refuses_signer_file(void **state)
{
	struct dir *d = *state;
	e2e_signer *s = NULL;
	e2e_member *m = NULL;
	size_t line = 0;

	assert_int_equal(e2e_signer_generate(&s), E2E_OK);
	assert_int_equal(e2e_signer_save(s, d->file, NULL, 0, 0, 0, 0), E2E_OK);
	assert_int_equal(e2e_member_load(&m, d->file, NULL, 0, &line),
			 E2E_ERR_KEYFILE);
	assert_null(m);
	e2e_signer_free(s);
}

static void member_load_refuses_id_not_matching_key(void **state)
{
	struct dir *d = *state;
	e2e_member *m = member_from_byte(7), *back = NULL;
	char *text, *id;
	size_t line = 0;

	assert_int_equal(e2e_member_save(m, d->file, NULL, 0, 0, 0, 0), E2E_OK);
	text = slurp(d->file);
	id = strstr(text, "\nmember ") + 8;
	id[0] = id[0] == '0' ? '1' : '0';
	write_file(d->file, 0600, text);
	assert_int_equal(e2e_member_load(&back, d->file, NULL, 0, &line),
			 E2E_ERR_KEYFILE);
	assert_true(line > 0);
	free(text);
	e2e_member_free(m);
}

static void member_public_line_round_trips_and_fits_a_qr_code(void **state)
{
	struct dir *d = *state;
	e2e_member *m = member_from_byte(5);
	uint8_t pk[32], back[32];
	char line[E2E_MEMBER_LINE_MAX + 1];

	e2e_member_public(m, pk);
	assert_int_equal(e2e_member_public_format(pk, line, sizeof line),
			 E2E_OK);
	assert_int_equal(strlen(line), 77);
	assert_int_equal(strncmp(line, "libe2e-member 1 ", 16), 0);
	assert_int_equal(e2e_member_public_parse(line, back), E2E_OK);
	assert_memory_equal(pk, back, 32);
	assert_int_equal(e2e_member_public_save(pk, d->file, 0), E2E_OK);
	assert_int_equal(file_mode(d->file), 0644);
	memset(back, 0, sizeof back);
	assert_int_equal(e2e_member_public_load(back, d->file, NULL), E2E_OK);
	assert_memory_equal(pk, back, 32);
	e2e_member_free(m);
}

static void member_public_parse_refuses_damaged_lines(void **state)
{
	e2e_member *m = member_from_byte(5);
	uint8_t pk[32], back[32];
	char line[E2E_MEMBER_LINE_MAX + 1];

	(void)state;
	e2e_member_public(m, pk);
	assert_int_equal(e2e_member_public_format(pk, line, sizeof line),
			 E2E_OK);
	line[20] = line[20] == 'a' ? 'b' : 'a'; /* the id */
	assert_int_equal(e2e_member_public_parse(line, back), E2E_ERR_KEYFILE);
	line[14] = '2'; /* the version */
	assert_int_equal(e2e_member_public_parse(line, back),
			 E2E_ERR_KEYFILE_VERSION);
	assert_int_equal(e2e_member_public_parse("libe2e-member 1 00", back),
			 E2E_ERR_KEYFILE);
	assert_int_equal(e2e_member_public_parse("", back), E2E_ERR_TRUNCATED);
	e2e_member_free(m);
}

static e2e_members *three_members(void)
{
	e2e_members *ms = NULL;
	uint8_t pk[32];
	uint8_t b;

	assert_int_equal(e2e_members_new(&ms, "plant-1"), E2E_OK);
	for (b = 1; b <= 3; b++) {
		e2e_member *m = member_from_byte(b);
		char name[16];

		e2e_member_public(m, pk);
		snprintf(name, sizeof name, "dev-%u", b);
		assert_int_equal(
			e2e_members_add(ms, pk, name,
					b == 2 ? "tenant-a/#,x/+" : ""),
			E2E_OK);
		e2e_member_free(m);
	}
	return ms;
}

static void members_list_round_trips_in_id_order_mode_0600(void **state)
{
	struct dir *d = *state;
	e2e_members *ms = three_members(), *back = NULL;
	e2e_member_entry a, b;
	size_t i;

	assert_int_equal(e2e_members_set_counter(ms, 4), E2E_OK);
	assert_int_equal(e2e_members_save(ms, d->file, 0), E2E_OK);
	assert_int_equal(file_mode(d->file), 0600);
	assert_int_equal(e2e_members_load(&back, d->file, NULL), E2E_OK);
	assert_string_equal(e2e_members_group(back), "plant-1");
	assert_int_equal(e2e_members_counter(back), 4);
	assert_int_equal(e2e_members_count(back), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(e2e_members_get(ms, i, &a), E2E_OK);
		assert_int_equal(e2e_members_get(back, i, &b), E2E_OK);
		assert_int_equal(a.id, b.id);
		assert_memory_equal(a.public_key, b.public_key, 32);
		assert_string_equal(a.name, b.name);
		assert_string_equal(a.filters, b.filters);
		if (i > 0) {
			e2e_member_entry prev;
			assert_int_equal(e2e_members_get(back, i - 1, &prev),
					 E2E_OK);
			assert_true(prev.id < b.id);
		}
	}
	e2e_members_free(ms);
	e2e_members_free(back);
}

static void members_add_refuses_known_key_or_name(void **state)
{
	e2e_members *ms = three_members();
	e2e_member *m = member_from_byte(1), *n = member_from_byte(9);
	uint8_t pk[32];

	(void)state;
	e2e_member_public(m, pk);
	assert_int_equal(e2e_members_add(ms, pk, "other", ""), E2E_ERR_EXISTS);
	e2e_member_public(n, pk);
	assert_int_equal(e2e_members_add(ms, pk, "dev-1", ""), E2E_ERR_EXISTS);
	assert_int_equal(e2e_members_add(ms, pk, "a b", ""), E2E_ERR_INVAL);
	assert_int_equal(e2e_members_add(ms, pk, "n", "a/#/b"), E2E_ERR_INVAL);
	assert_int_equal(e2e_members_count(ms), 3);
	e2e_member_free(m);
	e2e_member_free(n);
	e2e_members_free(ms);
}

static void members_find_and_remove_by_name_or_id(void **state)
{
	e2e_members *ms = three_members();
	e2e_member_entry e;
	size_t i = 99;
	char hex[17];

	(void)state;
	assert_int_equal(e2e_members_find(ms, "dev-2", &i), E2E_OK);
	assert_int_equal(e2e_members_get(ms, i, &e), E2E_OK);
	snprintf(hex, sizeof hex, "%016" PRIx64, e.id);
	assert_int_equal(e2e_members_find(ms, hex, &i), E2E_OK);
	assert_int_equal(e2e_members_remove(ms, i), E2E_OK);
	assert_int_equal(e2e_members_find(ms, "dev-2", &i), E2E_ERR_NOT_FOUND);
	assert_int_equal(e2e_members_count(ms), 2);
	e2e_members_free(ms);
}

static void members_counter_only_goes_up(void **state)
{
	e2e_members *ms = three_members();

	(void)state;
	assert_int_equal(e2e_members_set_counter(ms, 0), E2E_ERR_INVAL);
	assert_int_equal(e2e_members_set_counter(ms, 5), E2E_OK);
	assert_int_equal(e2e_members_set_counter(ms, 5), E2E_ERR_INVAL);
	assert_int_equal(e2e_members_set_counter(ms, 4), E2E_ERR_INVAL);
	assert_int_equal(e2e_members_counter(ms), 5);
	e2e_members_free(ms);
}

static void members_load_refuses_edited_lines(void **state)
{
	struct dir *d = *state;
	e2e_members *ms = three_members(), *back = NULL;
	char *text, *p, *first, *second;
	size_t line = 0;

	assert_int_equal(e2e_members_save(ms, d->file, 0), E2E_OK);
	text = slurp(d->file);
	/* Swap the first two member lines (out of id order). */
	first = strstr(text, "\nmember ") + 1;
	second = strstr(first, "\nmember ") + 1;
	p = strdup(text);
	assert_non_null(p);
	memcpy(p + (first - text), second, strcspn(second, "\n") + 1);
	memcpy(p + (first - text) + strcspn(second, "\n") + 1, first,
	       (size_t)(second - first));
	write_file(d->file, 0600, p);
	assert_int_equal(e2e_members_load(&back, d->file, &line),
			 E2E_ERR_KEYFILE);
	assert_int_equal(line, 8); /* the second member line */
	/* An id that is not its key's. */
	first[8] = first[8] == '0' ? '1' : '0';
	write_file(d->file, 0600, text);
	assert_int_equal(e2e_members_load(&back, d->file, &line),
			 E2E_ERR_KEYFILE);
	assert_int_equal(line, 7);
	assert_null(back);
	free(p);
	free(text);
	e2e_members_free(ms);
}

static void members_layout_is_per_member_without_a_layout_line(void **state)
{
	struct dir *d = *state;
	e2e_members *ms = three_members(), *back = NULL;
	char *text;

	assert_int_equal(e2e_members_layout(ms), E2E_UPDATE_LAYOUT_MEMBER);
	assert_int_equal(e2e_members_save(ms, d->file, 0), E2E_OK);
	/* The default is not written: lists from before layouts stay the
	 * same bytes. */
	text = slurp(d->file);
	assert_null(strstr(text, "layout"));
	assert_int_equal(e2e_members_load(&back, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_members_layout(back), E2E_UPDATE_LAYOUT_MEMBER);
	free(text);
	e2e_members_free(back);
	e2e_members_free(ms);
}

static void members_layout_group_round_trips_after_counter(void **state)
{
	struct dir *d = *state;
	e2e_members *ms = three_members(), *back = NULL;
	char *text;

	assert_int_equal(e2e_members_set_layout(ms, E2E_UPDATE_LAYOUT_GROUP),
			 E2E_OK);
	assert_int_equal(e2e_members_save(ms, d->file, 0), E2E_OK);
	text = slurp(d->file);
	assert_non_null(strstr(text, "\ncounter 0\nlayout group\nmember "));
	assert_int_equal(e2e_members_load(&back, d->file, NULL), E2E_OK);
	assert_int_equal(e2e_members_layout(back), E2E_UPDATE_LAYOUT_GROUP);
	assert_int_equal(e2e_members_count(back), 3);
	/* Back to per member: the line goes away. */
	assert_int_equal(e2e_members_set_layout(back, E2E_UPDATE_LAYOUT_MEMBER),
			 E2E_OK);
	assert_int_equal(e2e_members_save(back, d->file, 0), E2E_OK);
	free(text);
	text = slurp(d->file);
	assert_null(strstr(text, "layout"));
	free(text);
	e2e_members_free(back);
	e2e_members_free(ms);
}

static void members_set_layout_refuses_unknown_value(void **state)
{
	e2e_members *ms = three_members();

	(void)state;
	assert_int_equal(e2e_members_set_layout(ms, (e2e_update_layout)2),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_members_set_layout(NULL, E2E_UPDATE_LAYOUT_GROUP),
			 E2E_ERR_INVAL);
	assert_int_equal(e2e_members_layout(ms), E2E_UPDATE_LAYOUT_MEMBER);
	assert_int_equal(e2e_members_layout(NULL), E2E_UPDATE_LAYOUT_MEMBER);
	e2e_members_free(ms);
}

/* The member list of three_members with text put in place of "counter 0\n"
 * (with at_end, appended after the last member) loads with rc, and when
 * refused at line. */
static void members_load_with(const struct dir *d, int at_end, const char *text,
			      int rc, size_t line)
{
	e2e_members *ms = three_members(), *back = NULL;
	char *saved, *p, *out;
	size_t at, bad = 0;

	assert_int_equal(e2e_members_save(ms, d->file, 0), E2E_OK);
	saved = slurp(d->file);
	p = at_end ? saved + strlen(saved) : strstr(saved, "counter 0\n");
	assert_non_null(p);
	at = (size_t)(p - saved);
	out = malloc(strlen(saved) + strlen(text) + 1);
	assert_non_null(out);
	memcpy(out, saved, at);
	strcpy(out + at, text);
	strcat(out, at_end ? "" : p + strlen("counter 0\n"));
	write_file(d->file, 0600, out);
	assert_int_equal(e2e_members_load(&back, d->file, &bad), rc);
	if (rc != E2E_OK) {
		assert_int_equal(bad, line);
		assert_null(back);
	}
	e2e_members_free(back);
	free(out);
	free(saved);
	e2e_members_free(ms);
}

static void members_load_refuses_bad_layout_line_with_its_line(void **state)
{
	const struct dir *d = *state;

	/* Line 6 is "counter", 7 the layout line, 8 the first member. */
	members_load_with(d, 0, "counter 0\nlayout member\n", E2E_OK, 0);
	members_load_with(d, 0, "counter 0\nlayout groups\n", E2E_ERR_KEYFILE,
			  7);
	members_load_with(d, 0, "counter 0\nlayout Group\n", E2E_ERR_KEYFILE,
			  7);
	members_load_with(d, 0, "counter 0\nlayout\n", E2E_ERR_KEYFILE, 7);
	members_load_with(d, 0, "counter 0\nlayout group member\n",
			  E2E_ERR_KEYFILE, 7);
	members_load_with(d, 0, "counter 0\nlayout group\nlayout group\n",
			  E2E_ERR_KEYFILE, 8);
	/* Before "counter", where the counter line must be. */
	members_load_with(d, 0, "layout group\ncounter 0\n", E2E_ERR_KEYFILE,
			  6);
	/* After the members (lines 7-9): only right after the counter. */
	members_load_with(d, 1, "layout group\n", E2E_ERR_KEYFILE, 10);
}

/* An update body sealed by admin as a retained update and opened by m
 * (last counter 0). */
static int open_update_body(const uint8_t *body, size_t len,
			    const e2e_signer *admin, const e2e_member *m,
			    e2e_update *u)
{
	uint8_t env[E2E_SEALED_MAX(4096)];
	uint8_t apk[E2E_SIGN_PUBLICKEYBYTES];
	size_t env_len = 0;
	e2e_seal_params sp;
	e2e_update_opener o;

	memset(&sp, 0, sizeof sp);
	sp.suite = E2E_SUITE_NONE;
	sp.signer = admin;
	sp.sender_id = e2e_signer_id(admin);
	sp.seq = 1;
	sp.flags = E2E_SEAL_RETAINED;
	assert_int_equal(e2e_seal_explicit(&sp, "e2e/keys/plant-1/x", body, len,
					   env, sizeof env, &env_len),
			 E2E_OK);
	e2e_signer_public(admin, apk);
	o = (e2e_update_opener){apk, "plant-1", m, 0};
	return e2e_update_open(u, &o, "e2e/keys/plant-1/x", env, env_len,
			       E2E_DELIVERY_RETAINED);
}

/* The update e2e_members_update_build makes for member index of ms, sealed
 * by admin and opened by m (last counter 0). */
static int open_member_update(const e2e_members *ms, size_t index,
			      const e2e_keyring *kr, const e2e_signer *admin,
			      const e2e_member *m, e2e_update *u)
{
	static uint8_t body[E2E_UPDATE_MEMBER_BODY_MAX];
	size_t len = 0;
	int rc;

	rc = e2e_members_update_build(ms, index, kr, 7, 1700000000, body,
				      sizeof body, &len);
	return rc != E2E_OK ? rc : open_update_body(body, len, admin, m, u);
}

/* From the admin's keyring: the stored primary as primary now, a pending
 * primary with its time, a disabled key listed without its bytes; a
 * member with filters gets exactly the keys with those filters. */
static void members_update_build_gives_each_member_its_keys(void **state)
{
	e2e_members *ms = three_members(); /* dev-2 has tenant-a/#,x/+ */
	e2e_member *m1 = member_from_byte(1), *m2 = member_from_byte(2);
	e2e_keyring *kr = NULL;
	e2e_signer *admin = NULL;
	e2e_update *u = NULL;
	e2e_update_key k;
	size_t i1, i2;

	(void)state;
	assert_int_equal(e2e_signer_generate(&admin), E2E_OK);
	assert_int_equal(e2e_update_new(&u), E2E_OK);
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	add_key(kr, 1, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 5, key_a);
	add_key(kr, 2, E2E_SUITE_AEAD, E2E_KEY_ENABLED, 5, key_b);
	assert_int_equal(e2e_keyring_schedule(kr, 2, 4000000000u, 0), E2E_OK);
	assert_int_equal(e2e_keyring_schedule(kr, 1, 0, 4000000100u), E2E_OK);
	add_key(kr, 3, E2E_SUITE_AEAD, E2E_KEY_DISABLED, 5, key_a);
	add_key(kr, 4, E2E_SUITE_MAC, E2E_KEY_ENABLED, 5, key_b);
	assert_int_equal(e2e_keyring_set_filters(kr, 4, "tenant-a/#,x/+"),
			 E2E_OK);
	assert_int_equal(e2e_members_find(ms, "dev-1", &i1), E2E_OK);
	assert_int_equal(e2e_members_find(ms, "dev-2", &i2), E2E_OK);

	assert_int_equal(open_member_update(ms, i1, kr, admin, m1, u), E2E_OK);
	assert_int_equal(e2e_update_counter(u), 7);
	assert_int_equal(e2e_update_key_count(u), 3);
	assert_int_equal(e2e_update_key_get(u, 0, &k), E2E_OK);
	assert_true(k.id == 1 && k.state == E2E_KEY_PRIMARY &&
		    k.activates == 0 && k.disables == 4000000100u && k.in_slot);
	assert_int_equal(e2e_update_key_get(u, 1, &k), E2E_OK);
	assert_true(k.id == 2 && k.state == E2E_KEY_PRIMARY &&
		    k.activates == 4000000000u && k.in_slot);
	assert_int_equal(e2e_update_key_get(u, 2, &k), E2E_OK);
	assert_true(k.id == 3 && k.state == E2E_KEY_DISABLED && !k.in_slot);
	/* Another member's update does not open for m1. */
	assert_int_equal(open_member_update(ms, i2, kr, admin, m1, u),
			 E2E_ERR_NOT_RECIPIENT);

	assert_int_equal(open_member_update(ms, i2, kr, admin, m2, u), E2E_OK);
	assert_int_equal(e2e_update_key_count(u), 1);
	assert_int_equal(e2e_update_key_get(u, 0, &k), E2E_OK);
	assert_true(k.id == 4 && k.state == E2E_KEY_ENABLED && k.in_slot);
	assert_string_equal(k.filters, "tenant-a/#,x/+");

	e2e_keyring_free(kr);
	e2e_update_free(u);
	e2e_signer_free(admin);
	e2e_member_free(m1);
	e2e_member_free(m2);
	e2e_members_free(ms);
}

static void members_update_build_refuses_member_without_usable_key(void **state)
{
	e2e_members *ms = three_members();
	e2e_keyring *kr = NULL;
	uint8_t body[1024];
	size_t i, len = 1;

	(void)state;
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	add_key(kr, 1, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 5, key_a);
	/* dev-2's filters match no key of the keyring. */
	assert_int_equal(e2e_members_find(ms, "dev-2", &i), E2E_OK);
	assert_int_equal(e2e_members_update_build(ms, i, kr, 1, 5, body,
						  sizeof body, &len),
			 E2E_ERR_NO_KEY);
	assert_int_equal(len, 0);
	e2e_keyring_free(kr);
	e2e_members_free(ms);
}

/* The per-group update: one body with every member's slot; its table
 * lists the keys of every member, each slot only its member's keys. */
static void members_group_update_gives_each_member_only_its_keys(void **state)
{
	e2e_members *ms = three_members(); /* dev-2 has tenant-a/#,x/+ */
	e2e_member *m1 = member_from_byte(1), *m2 = member_from_byte(2);
	e2e_keyring *kr = NULL;
	e2e_signer *admin = NULL;
	e2e_update *u = NULL;
	e2e_update_key k;
	uint8_t *body;
	size_t len = 0, bad = 99, i;

	(void)state;
	assert_int_equal(e2e_signer_generate(&admin), E2E_OK);
	assert_int_equal(e2e_update_new(&u), E2E_OK);
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	add_key(kr, 1, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 5, key_a);
	add_key(kr, 3, E2E_SUITE_AEAD, E2E_KEY_DISABLED, 5, key_a);
	add_key(kr, 4, E2E_SUITE_MAC, E2E_KEY_PRIMARY, 5, key_b);
	assert_int_equal(e2e_keyring_set_filters(kr, 4, "tenant-a/#,x/+"),
			 E2E_OK);
	add_key(kr, 5, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 5, key_b);
	assert_int_equal(e2e_keyring_set_filters(kr, 5, "nobody/#"), E2E_OK);
	/* Asked without a buffer: the size needed, 3 slots (dev-1 and dev-3
	 * get key 1, dev-2 key 4) and keys 1, 3, 4 (5 is for no member). */
	assert_int_equal(e2e_members_group_update_build(ms, kr, 7, 1700000000,
							NULL, 0, &len, &bad),
			 E2E_ERR_BUFFER_TOO_SMALL);
	assert_int_equal(len, 23 + 7 + 3 * 24 + 14 + 2 +
				      3 * E2E_UPDATE_SLOT_BYTES(1));
	body = malloc(len);
	assert_non_null(body);
	assert_int_equal(e2e_members_group_update_build(ms, kr, 7, 1700000000,
							body, len, &len, &bad),
			 E2E_OK);
	assert_int_equal(open_update_body(body, len, admin, m1, u), E2E_OK);
	assert_int_equal(e2e_update_key_count(u), 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(e2e_update_key_get(u, i, &k), E2E_OK);
		assert_int_equal(k.in_slot, k.id == 1);
	}
	assert_int_equal(open_update_body(body, len, admin, m2, u), E2E_OK);
	for (i = 0; i < 3; i++) {
		assert_int_equal(e2e_update_key_get(u, i, &k), E2E_OK);
		assert_int_equal(k.in_slot, k.id == 4);
	}
	/* A member no key is for: refused, and named. */
	assert_int_equal(e2e_keyring_set_filters(kr, 4, "other/#"), E2E_OK);
	assert_int_equal(e2e_members_group_update_build(ms, kr, 8, 1700000000,
							body, len, &len, &bad),
			 E2E_ERR_NO_KEY);
	assert_int_equal(e2e_members_find(ms, "dev-2", &i), E2E_OK);
	assert_int_equal(bad, i);
	free(body);
	e2e_keyring_free(kr);
	e2e_update_free(u);
	e2e_signer_free(admin);
	e2e_member_free(m1);
	e2e_member_free(m2);
	e2e_members_free(ms);
}

static void update_counter_file_round_trips_for_its_group_only(void **state)
{
	struct dir *d = *state;
	uint64_t c = 99;

	assert_int_equal(e2e_update_counter_save(d->file, "plant-1", 42, 0),
			 E2E_OK);
	assert_int_equal(file_mode(d->file), 0600);
	assert_int_equal(e2e_update_counter_load(d->file, "plant-1", &c, NULL),
			 E2E_OK);
	assert_int_equal(c, 42);
	assert_int_equal(e2e_update_counter_load(d->file, "plant-2", &c, NULL),
			 E2E_ERR_WRONG_GROUP);
	assert_int_equal(c, 0);
	assert_int_equal(e2e_update_counter_save(d->file, "bad group", 1, 0),
			 E2E_ERR_INVAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(members_update_build_gives_each_member_its_keys),
		T(members_update_build_refuses_member_without_usable_key),
		T(members_group_update_gives_each_member_only_its_keys),
		T(update_counter_file_round_trips_for_its_group_only),
		T(member_key_round_trips_unencrypted_with_mode_0600),
		T(member_key_with_passphrase_needs_it),
		T(member_load_refuses_signer_file),
		T(member_load_refuses_id_not_matching_key),
		T(member_public_line_round_trips_and_fits_a_qr_code),
		T(member_public_parse_refuses_damaged_lines),
		T(members_list_round_trips_in_id_order_mode_0600),
		T(members_add_refuses_known_key_or_name),
		T(members_find_and_remove_by_name_or_id),
		T(members_counter_only_goes_up),
		T(members_load_refuses_edited_lines),
		T(members_layout_is_per_member_without_a_layout_line),
		T(members_layout_group_round_trips_after_counter),
		T(members_set_layout_refuses_unknown_value),
		T(members_load_refuses_bad_layout_line_with_its_line),
		T(keyring_round_trip_keeps_every_field),
		T(keyring_file_is_created_mode_0600),
		T(keyring_file_is_readable_text),
		T(keyring_save_excl_refuses_existing_file),
		T(keyring_save_into_missing_directory_is_io_error),
		T(keyring_save_replaces_without_leaving_temp_files),
		T(keyring_save_refuses_keyring_with_only_disabled_keys),
		T(keyring_load_accepts_receive_only_keyring),
		T(keyring_round_trips_future_primary_without_primary),
		T(keyring_save_rejects_unknown_flags),
		T(keyring_load_reports_missing_file_as_io),
		T(keyring_load_rejects_empty_file),
		T(keyring_load_rejects_file_of_comments_only),
		T(keyring_load_rejects_last_line_cut_short),
		T(keyring_load_rejects_corrupt_base64),
		T(keyring_load_rejects_key_of_wrong_length),
		T(keyring_load_rejects_unknown_version),
		T(keyring_load_rejects_other_file_type),
		T(keyring_load_rejects_duplicate_key_id),
		T(keyring_load_rejects_two_primaries),
		T(keyring_load_rejects_keyring_with_only_disabled_keys),
		T(keyring_load_rejects_keyring_without_keys),
		T(keyring_load_rejects_group_or_world_access),
		T(keyring_load_rejects_malformed_key_lines),
		T(keyring_load_rejects_nul_byte),
		T(keyring_load_accepts_comments_blanks_and_crlf),
		T(crash_before_rename_leaves_the_old_keyring),
		T(crash_during_exclusive_creation_leaves_no_file),
		T(old_key_opens_until_disabled_then_is_unknown_once_deleted),
		T(signer_round_trip_with_passphrase),
		T(signer_file_never_holds_the_seed_in_clear_when_encrypted),
		T(signer_round_trip_without_passphrase_is_marked),
		T(signer_load_rejects_wrong_passphrase),
		T(signer_inspect_reads_public_key_without_passphrase),
		T(signer_save_rejects_empty_passphrase_and_bad_costs),
		T(signer_default_costs_are_libsodium_moderate),
		T(signer_load_rejects_group_readable_file),
		T(signer_load_reports_each_damaged_line),
		T(signer_load_rejects_costs_edited_in_encrypted_file),
		T(pubkey_round_trip_checks_signer_id),
		T(pubkey_load_rejects_secret_key_file),
		T(trust_round_trip_keeps_signers_filters_and_order),
		T(trust_file_without_signers_trusts_nobody),
		T(trust_save_refuses_filters_it_could_not_read_back),
		T(trust_load_reports_each_bad_line),
		T(trust_save_keeps_the_mode_of_the_file_it_replaces),
		T(trust_load_rejects_file_others_may_write),
		T(trust_load_rejects_file_owned_by_another_user),
		T(pubkey_load_rejects_file_others_may_write),
		T(keyring_load_rejects_file_owned_by_another_user),
		T(path_check_accepts_private_directory),
		T(path_check_flags_directory_others_may_write),
		T(path_check_names_the_nearest_unsafe_ancestor),
		T(path_check_follows_symlinks_to_the_real_directory),
		T(path_check_flags_directory_of_another_user),
		T(path_check_of_missing_file_is_io_error),
		T(comments_may_hold_invalid_utf8),
		T(trust_filters_are_kept_byte_for_byte_even_invalid_utf8),
		T(file_over_4_mib_is_refused_unread_as_io_efbig),
		T(file_of_comments_only_is_truncated_at_line_0),
		T(header_accepts_any_blanks_around_its_two_fields),
		T(header_with_a_third_field_is_an_unknown_version),
		T(header_version_is_exactly_the_string_1),
		T(header_magic_is_case_sensitive),
		T(trust_load_refuses_empty_filters),
		T(every_loader_and_saver_rejects_null_arguments),
		cmocka_unit_test(decimal_parser_accepts_exactly_zero_to_max),
	};

	if (e2e_init() != E2E_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
