/*
 * A heap that runs out, for e2e-bridge's out-of-memory path
 * (test_bridge.py, OutOfMemory): preloaded, malloc() of at least
 * E2E_TEST_FAIL_OVER bytes on the process's main thread returns NULL while
 * the file E2E_TEST_FAIL_ARM exists. Every other allocation, and every
 * allocation on another thread (Paho's, which receive the messages), is
 * the C library's. Without both variables it does nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);

static size_t fail_over; /* 0: never */
static const char *arm_file;

__attribute__((constructor)) static void fail_alloc_init(void)
{
	const char *over = getenv("E2E_TEST_FAIL_OVER");

	arm_file = getenv("E2E_TEST_FAIL_ARM");
	if (over && arm_file)
		fail_over = strtoul(over, NULL, 10);
}

void *malloc(size_t size)
{
	if (fail_over && size >= fail_over && gettid() == getpid() &&
	    access(arm_file, F_OK) == 0) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_malloc(size);
}
