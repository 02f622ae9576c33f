/*
 * Epoch files (e2e_epoch_reserve, docs/ENVELOPE.md section 9): sequence
 * numbers above every earlier start, with or without the file, never ahead
 * of the clock; one holder at a time; no symbolic links, no files of other
 * users.
 */
#define _XOPEN_SOURCE 700
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

#define SECOND ((uint64_t)1 << 32)
#define NOBODY 65534

struct dir {
	char path[64];
	char file[128]; /* the epoch file */
	char lock[128]; /* its lock file */
	char target[128];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof *d);

	assert_non_null(d);
	strcpy(d->path, "/tmp/e2e-epoch-XXXXXX");
	assert_non_null(mkdtemp(d->path));
	snprintf(d->file, sizeof d->file, "%s/epoch", d->path);
	snprintf(d->lock, sizeof d->lock, "%s/epoch.lock", d->path);
	snprintf(d->target, sizeof d->target, "%s/target", d->path);
	*state = d;
	return 0;
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;

	nftw(d->path, remove_one, 8, FTW_DEPTH | FTW_PHYS);
	free(d);
	return 0;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void read_text(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* The bound a version-2 file records. */
static uint64_t file_bound(const char *path)
{
	char buf[128];
	unsigned long long v;

	read_text(path, buf, sizeof buf);
	assert_int_equal(sscanf(buf, "e2e-pub-state 2\nnext %llu\n", &v), 1);
	return v;
}

/* Reserve, as a sender that then seals n messages, and release. */
static uint64_t start_and_seal(const char *path, uint64_t n, uint64_t *first)
{
	e2e_epoch_lock *l = NULL;

	assert_int_equal(e2e_epoch_reserve(&l, path, first, NULL), E2E_OK);
	for (uint64_t seq = *first; seq < *first + n; seq++)
		assert_int_equal(e2e_epoch_renew(l, seq), E2E_OK);
	assert_int_equal(e2e_epoch_release(l, *first + n), E2E_OK);
	return *first + n;
}

/* ------------------------------------------------------------------------ */
/* Sequence numbers                                                         */
/* ------------------------------------------------------------------------ */

static void reserve_starts_at_the_clock_and_records_a_bound(void **state)
{
	struct dir *d = *state;
	uint64_t before = e2e__now_seq(), first;
	e2e_epoch_lock *l = NULL;

	assert_int_equal(e2e_epoch_reserve(&l, d->file, &first, NULL), E2E_OK);
	assert_in_range(first, before, e2e__now_seq());
	assert_true(file_bound(d->file) > first);
	assert_int_equal(e2e_epoch_release(l, 0), E2E_OK);
}

/* The 18 starts in 7 s of issue 11: each start is above the last one's
 * messages, and none is ahead of the clock. */
static void quick_restarts_grow_and_never_run_ahead_of_the_clock(void **state)
{
	struct dir *d = *state;
	uint64_t used = 0, first;

	for (int i = 0; i < 50; i++) {
		uint64_t next = start_and_seal(d->file, 1000, &first);
		assert_true(first >= used);
		assert_true(first <= e2e__now_seq());
		used = next;
	}
}

/* A container without persistent state: the file is lost, and the clock
 * alone still starts above every earlier start. */
static void start_without_the_file_is_above_every_earlier_one(void **state)
{
	struct dir *d = *state;
	uint64_t used = 0, first;
	e2e_sender_opts o;
	e2e_sender *s = NULL;

	for (int i = 0; i < 20; i++)
		used = start_and_seal(d->file, 1000, &first);
	assert_int_equal(unlink(d->file), 0);
	memset(&o, 0, sizeof o);
	o.sender_id = 7;
	assert_int_equal(e2e_sender_new(&s, &o), E2E_OK);
	assert_true(e2e_sender_next_seq(s) >= used);
	e2e_sender_free(s);
	/* And so does a new file. */
	start_and_seal(d->file, 1, &first);
	assert_true(first >= used);
}

static void renew_writes_before_the_reservation_runs_out(void **state)
{
	struct dir *d = *state;
	e2e_epoch_lock *l = NULL;
	uint64_t first, bound;

	assert_int_equal(e2e_epoch_reserve(&l, d->file, &first, NULL), E2E_OK);
	bound = file_bound(d->file);
	assert_int_equal(e2e_epoch_renew(l, bound - 1), E2E_OK);
	assert_int_equal(file_bound(d->file), bound);
	assert_int_equal(e2e_epoch_renew(l, bound), E2E_OK);
	assert_true(file_bound(d->file) > bound);
	assert_int_equal(e2e_epoch_release(l, bound + 1), E2E_OK);
	assert_int_equal(file_bound(d->file), bound + 1);
}

static void
reserve_waits_for_the_clock_when_the_bound_is_just_ahead(void **state)
{
	struct dir *d = *state;
	uint64_t bound = e2e__now_seq() + SECOND / 4, first;
	e2e_epoch_lock *l = NULL;
	char text[64];

	snprintf(text, sizeof text, "e2e-pub-state 2\nnext %llu\n",
		 (unsigned long long)bound);
	write_text(d->file, text);
	assert_int_equal(e2e_epoch_reserve(&l, d->file, &first, NULL), E2E_OK);
	assert_true(first >= bound);
	assert_true(first <= e2e__now_seq());
	assert_int_equal(e2e_epoch_release(l, 0), E2E_OK);
}

/* A bound far ahead (a clock set back) wins over the clock: repeating a
 * sequence number is the worse failure. */
static void reserve_keeps_a_bound_far_ahead_of_the_clock(void **state)
{
	struct dir *d = *state;
	uint64_t now = e2e__now_seq() >> 32, first;
	e2e_epoch_lock *l = NULL;
	char text[64];

	snprintf(text, sizeof text, "e2e-pub-state 1\nepoch %llu\n",
		 (unsigned long long)now + 100);
	write_text(d->file, text);
	assert_int_equal(e2e_epoch_reserve(&l, d->file, &first, NULL), E2E_OK);
	assert_int_equal(first, (now + 101) << 32);
	assert_int_equal(e2e_epoch_release(l, 0), E2E_OK);
}

static void version_1_file_below_the_clock_starts_at_the_clock(void **state)
{
	struct dir *d = *state;
	uint64_t before = e2e__now_seq(), first;
	e2e_epoch_lock *l = NULL;
	char text[64];

	snprintf(text, sizeof text, "e2e-pub-state 1\nepoch %llu\n",
		 (unsigned long long)(before >> 32) - 100);
	write_text(d->file, text);
	assert_int_equal(e2e_epoch_reserve(&l, d->file, &first, NULL), E2E_OK);
	assert_in_range(first, before, e2e__now_seq());
	assert_int_equal(e2e_epoch_release(l, 0), E2E_OK);
}

static void last_epoch_is_exhausted(void **state)
{
	struct dir *d = *state;
	e2e_epoch_lock *l = NULL;
	uint64_t first;

	write_text(d->file, "e2e-pub-state 1\nepoch 4294967295\n");
	assert_int_equal(e2e_epoch_reserve(&l, d->file, &first, NULL),
			 E2E_ERR_SEQ_EXHAUSTED);
	assert_null(l);
}

static void corrupt_files_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"garbage\n",
		"e2e-pub-state 1\nepoch 5",
		"e2e-pub-state 1\nepoch -1\n",
		"e2e-pub-state 1\nepoch +5\n",
		"e2e-pub-state 1\nepoch 05\n",
		"e2e-pub-state 1\nepoch 4294967296\n",
		"e2e-pub-state 1\nepoch 5\nextra\n",
		"e2e-pub-state 2\nnext 18446744073709551616\n",
		"e2e-pub-state 2\nepoch 5\n",
		"e2e-pub-state 3\nnext 5\n",
	};
	struct dir *d = *state;
	e2e_epoch_lock *l = NULL;
	uint64_t first;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		write_text(d->file, bad[i]);
		if (e2e_epoch_reserve(&l, d->file, &first, NULL) !=
		    E2E_ERR_STATE_CORRUPT)
			fail_msg("accepted: \"%s\"", bad[i]);
		assert_null(l);
	}
}

/* ------------------------------------------------------------------------ */
/* One holder                                                               */
/* ------------------------------------------------------------------------ */

static void second_holder_in_the_same_process_is_refused(void **state)
{
	struct dir *d = *state;
	e2e_epoch_lock *a = NULL, *b = NULL;
	uint64_t first;
	long holder = 0;

	assert_int_equal(e2e_epoch_reserve(&a, d->file, &first, NULL), E2E_OK);
	assert_int_equal(e2e_epoch_reserve(&b, d->file, &first, &holder),
			 E2E_ERR_LOCKED);
	assert_null(b);
	assert_int_equal(holder, (long)getpid());
	assert_int_equal(e2e_epoch_release(a, 0), E2E_OK);
	assert_int_equal(e2e_epoch_reserve(&b, d->file, &first, NULL), E2E_OK);
	assert_int_equal(e2e_epoch_release(b, 0), E2E_OK);
}

static void second_holder_in_another_process_is_told_the_pid(void **state)
{
	struct dir *d = *state;
	e2e_epoch_lock *a = NULL;
	uint64_t first;
	int status;
	pid_t child;

	assert_int_equal(e2e_epoch_reserve(&a, d->file, &first, NULL), E2E_OK);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		e2e_epoch_lock *b = NULL;
		long holder = 0;
		int rc = e2e_epoch_reserve(&b, d->file, &first, &holder);
		_exit(rc == E2E_ERR_LOCKED && holder == (long)getppid() ? 0
									: 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(e2e_epoch_release(a, 0), E2E_OK);
}

/* ------------------------------------------------------------------------ */
/* Unsafe files                                                             */
/* ------------------------------------------------------------------------ */

static void expect_unsafe(const struct dir *d, int err)
{
	e2e_epoch_lock *l = NULL;
	uint64_t first;

	assert_int_equal(e2e_epoch_reserve(&l, d->file, &first, NULL),
			 E2E_ERR_UNSAFE_FILE);
	assert_int_equal(errno, err);
	assert_null(l);
}

static void symlinked_epoch_file_is_refused(void **state)
{
	struct dir *d = *state;
	char buf[64];

	write_text(d->target, "precious\n");
	assert_int_equal(symlink(d->target, d->file), 0);
	expect_unsafe(d, ELOOP);
	read_text(d->target, buf, sizeof buf);
	assert_string_equal(buf, "precious\n");
}

static void symlinked_lock_file_is_refused(void **state)
{
	struct dir *d = *state;
	struct stat st;

	assert_int_equal(symlink(d->target, d->lock), 0);
	expect_unsafe(d, ELOOP);
	/* Nothing was created where the link points. */
	assert_int_equal(lstat(d->target, &st), -1);
}

static void chown_to_nobody(const char *path)
{
	if (geteuid() != 0)
		skip(); /* only root can give a file away */
	assert_int_equal(chown(path, NOBODY, NOBODY), 0);
}

static void epoch_file_of_another_user_is_refused(void **state)
{
	struct dir *d = *state;

	write_text(d->file, "e2e-pub-state 1\nepoch 5\n");
	chown_to_nobody(d->file);
	expect_unsafe(d, EPERM);
}

static void lock_file_of_another_user_is_refused(void **state)
{
	struct dir *d = *state;

	write_text(d->lock, "");
	chown_to_nobody(d->lock);
	expect_unsafe(d, EPERM);
}

static void fifo_in_place_of_the_file_is_refused_without_hanging(void **state)
{
	struct dir *d = *state;
	e2e_epoch_lock *l = NULL;
	uint64_t first;

	assert_int_equal(mkfifo(d->file, 0600), 0);
	assert_int_equal(e2e_epoch_reserve(&l, d->file, &first, NULL),
			 E2E_ERR_IO);
	assert_null(l);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)
	const struct CMUnitTest tests[] = {
		T(reserve_starts_at_the_clock_and_records_a_bound),
		T(quick_restarts_grow_and_never_run_ahead_of_the_clock),
		T(start_without_the_file_is_above_every_earlier_one),
		T(renew_writes_before_the_reservation_runs_out),
		T(reserve_waits_for_the_clock_when_the_bound_is_just_ahead),
		T(reserve_keeps_a_bound_far_ahead_of_the_clock),
		T(version_1_file_below_the_clock_starts_at_the_clock),
		T(last_epoch_is_exhausted),
		T(corrupt_files_are_refused),
		T(second_holder_in_the_same_process_is_refused),
		T(second_holder_in_another_process_is_told_the_pid),
		T(symlinked_epoch_file_is_refused),
		T(symlinked_lock_file_is_refused),
		T(epoch_file_of_another_user_is_refused),
		T(lock_file_of_another_user_is_refused),
		T(fifo_in_place_of_the_file_is_refused_without_hanging),
	};
#undef T
	if (e2e_init() != E2E_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
