/*
 * Senders in forked children: whatever made the child (fork(), glibc's
 * _Fork(), a raw clone or fork system call), it never seals with a salt its
 * parent will also use (docs/ENVELOPE.md sections 5 and 9). The child keeps
 * its parent's sender id and sequence number, so a shared salt would repeat
 * the whole XChaCha20 nonce. Every case runs twice: with the wipe-on-fork
 * page, and with the process-id fallback used where the kernel has none.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "test_envelope_fixture.h"

#define BUF 256
#define OFF_SEQ 18 /* sender id at 10, sequence at 18, salt at 26 */

static const uint8_t hello[] = "hello";
#define HELLO_LEN 5u

#if defined(__GLIBC__) && \
	(__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
#define HAVE_UNDERSCORE_FORK 1
#endif

static pid_t with_fork(void)
{
	return fork();
}

/* _Fork() runs no pthread_atfork handlers. */
static pid_t with_underscore_fork(void)
{
#ifdef HAVE_UNDERSCORE_FORK
	return _Fork();
#else
	return -1;
#endif
}

/* clone(SIGCHLD) is fork() done by hand: no libc involvement at all. The
 * flags come first on every architecture but s390. */
static pid_t with_clone_syscall(void)
{
	return (pid_t)syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
}

static pid_t with_fork_syscall(void)
{
#ifdef SYS_fork
	return (pid_t)syscall(SYS_fork);
#else
	return -1;
#endif
}

static int seal_hello(const struct fixture *f, e2e_sender *s, uint8_t *env,
		      size_t *env_len)
{
	return e2e_seal(s, f->kr, TOPIC, hello, HELLO_LEN, 0, env, BUF,
			env_len);
}

/*
 * Seal once in the parent so that its salt pool holds unused salts, make a
 * child that seals once and sends its envelope back through a pipe, then
 * seal once more in the parent. The two last envelopes have the same sender
 * id and sequence number; their salts must differ.
 */
static void child_and_parent_salts_differ(const struct fixture *f,
					  pid_t (*make_child)(void))
{
	uint8_t env[BUF], child[BUF];
	e2e_sender *s = NULL;
	e2e_sender_opts o;
	size_t env_len, child_len;
	int fds[2], status;
	pid_t pid;

	memset(&o, 0, sizeof o);
	o.sender_id = 1;
	o.epoch = 9;
	assert_int_equal(e2e_sender_new(&s, &o), E2E_OK);
	assert_int_equal(seal_hello(f, s, env, &env_len), E2E_OK);
	assert_int_equal(pipe(fds), 0);
	pid = make_child();
	assert_true(pid >= 0);
	if (pid == 0) {
		int ok = seal_hello(f, s, child, &child_len) == E2E_OK &&
			 write(fds[1], child, child_len) == (ssize_t)child_len;
		_exit(ok ? 0 : 1);
	}
	close(fds[1]);
	child_len = (size_t)read(fds[0], child, sizeof child);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(seal_hello(f, s, env, &env_len), E2E_OK);
	assert_int_equal(child_len, env_len);
	/* Same sender id and sequence number, so only the salt can differ. */
	assert_memory_equal(child + 10, env + 10, OFF_SEQ + 8 - 10);
	assert_memory_not_equal(child + OFF_SEQ + 8, env + OFF_SEQ + 8,
				E2E_SALT_BYTES);
	e2e_sender_free(s);
}

static void fork_child_draws_its_own_salts(void **state)
{
	child_and_parent_salts_differ(*state, with_fork);
}

static void underscore_fork_child_draws_its_own_salts(void **state)
{
#ifndef HAVE_UNDERSCORE_FORK
	skip();
#endif
	child_and_parent_salts_differ(*state, with_underscore_fork);
}

static void clone_syscall_child_draws_its_own_salts(void **state)
{
#if defined(__s390__) || defined(__s390x__)
	skip();
#endif
	child_and_parent_salts_differ(*state, with_clone_syscall);
}

static void fork_syscall_child_draws_its_own_salts(void **state)
{
#ifndef SYS_fork
	skip();
#endif
	child_and_parent_salts_differ(*state, with_fork_syscall);
}

static int detect_by_pid(void **state)
{
	(void)state;
	e2e__sender_detect_forks_by_pid(1);
	return 0;
}

static int detect_by_page(void **state)
{
	(void)state;
	e2e__sender_detect_forks_by_pid(0);
	return 0;
}

/* The same test, with the fallback in force. */
#define BY_PID(t)                                                    \
	{                                                            \
#t "_by_pid", t, detect_by_pid, detect_by_page, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fork_child_draws_its_own_salts),
		cmocka_unit_test(underscore_fork_child_draws_its_own_salts),
		cmocka_unit_test(clone_syscall_child_draws_its_own_salts),
		cmocka_unit_test(fork_syscall_child_draws_its_own_salts),
		BY_PID(fork_child_draws_its_own_salts),
		BY_PID(underscore_fork_child_draws_its_own_salts),
		BY_PID(clone_syscall_child_draws_its_own_salts),
		BY_PID(fork_syscall_child_draws_its_own_salts),
	};

	return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
