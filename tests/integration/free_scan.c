/*
 * A heap that tells on the tools (test_local_hygiene.py, ClearMessagesWiped):
 * preloaded into e2e-pub or e2e-sub, it reports every heap block that still
 * holds the marker when it goes back to the allocator, by free() or by
 * a realloc() that moves it (which it always does here, so that a buffer
 * grown by realloc is seen too). One line per such block is appended to the
 * file E2E_TEST_REPORT. The marker is given in hexadecimal, in
 * E2E_TEST_MARKER_HEX, so that copies of the environment (a shell's, a
 * libtool wrapper's) do not hold it. Without both variables it does
 * nothing.
 *
 * free() must not allocate: the report is a constant line, written with
 * write(2).
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t size);
extern void __libc_free(void *p);

static char marker[64];
static size_t marker_len;
static int report_fd = -1;
static int with_backtrace; /* E2E_TEST_BACKTRACE set: where, to stderr */

__attribute__((constructor)) static void free_scan_init(void)
{
	const char *report = getenv("E2E_TEST_REPORT");
	const char *hex = getenv("E2E_TEST_MARKER_HEX");
	size_t n = hex ? strlen(hex) : 0;

	if (!report || n == 0 || n % 2 || n / 2 > sizeof marker)
		return;
	for (size_t i = 0; i < n / 2; i++) {
		char byte[3] = {hex[2 * i], hex[2 * i + 1], 0};
		marker[i] = (char)strtoul(byte, NULL, 16);
	}
	marker_len = n / 2;
	with_backtrace = getenv("E2E_TEST_BACKTRACE") != NULL;
	report_fd =
		open(report, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void scan(void *p)
{
	static const char line[] = "a freed heap block held the marker\n";

	if (report_fd < 0 || !p ||
	    !memmem(p, malloc_usable_size(p), marker, marker_len))
		return;
	if (write(report_fd, line, sizeof line - 1) < 0)
		_exit(99); /* a report that cannot be written fails the test */
	if (with_backtrace) {
		void *frames[32];
		backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
	}
}

void free(void *p)
{
	scan(p);
	__libc_free(p);
}

void *realloc(void *p, size_t size)
{
	void *q;
	size_t old;

	if (!p)
		return __libc_malloc(size);
	if (!size) {
		free(p);
		return NULL;
	}
	if (!(q = __libc_malloc(size)))
		return NULL;
	old = malloc_usable_size(p);
	memcpy(q, p, old < size ? old : size);
	free(p);
	return q;
}
