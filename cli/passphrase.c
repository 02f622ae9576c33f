/*
 * Passphrases and passwords of the tools: see passphrase.h.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <sodium.h>

#include "passphrase.h"

#define STR(x) #x
#define XSTR(x) STR(x)

const char *cli_pass_strerror(int status)
{
	switch (status) {
	case CLI_PASS_OK:
		return "ok";
	case CLI_PASS_ERRNO:
		return strerror(errno);
	case CLI_PASS_TOO_LONG:
		return "longer than " XSTR(CLI_PASS_MAX) " bytes";
	case CLI_PASS_NO_TTY:
		return "no terminal to ask on";
	case CLI_PASS_NO_ECHO:
		return "cannot turn off echo on the terminal";
	case CLI_PASS_NOMEM:
		return "out of memory";
	}
	return "unknown error";
}

char *cli_secret_dup(const char *s, size_t len)
{
	char *copy = sodium_malloc(len + 1);

	if (copy) {
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	return copy;
}

void cli_secret_free(char *s)
{
	if (s)
		sodium_free(s); /* wipes first */
}

void *cli_clear_grow(void *p, size_t cap, size_t new_cap)
{
	void *n = malloc(new_cap);

	if (!n)
		return NULL;
	if (p) {
		memcpy(n, p, cap < new_cap ? cap : new_cap);
		cli_clear_free(p, cap);
	}
	return n;
}

void cli_clear_free(void *p, size_t cap)
{
	if (p) {
		sodium_memzero(p, cap);
		free(p);
	}
}

/* One line of fd into buf (CLI_PASS_MAX + 1 bytes), one byte at a time so
 * that nothing past the newline is read into a buffer we do not wipe. */
static int read_line(int fd, char *buf, size_t *len)
{
	size_t n = 0;
	int rc = CLI_PASS_OK;
	char c = 0;

	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = CLI_PASS_ERRNO;
			break;
		}
		if (r == 0 || c == '\n')
			break;
		if (n == CLI_PASS_MAX) {
			rc = CLI_PASS_TOO_LONG;
			break;
		}
		buf[n++] = c;
	}
	sodium_memzero(&c, sizeof c);
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return rc;
}

/* Read a line of fd into a new secret string. */
static int read_secret_line(int fd, char **out, size_t *len)
{
	char *buf = sodium_malloc(CLI_PASS_MAX + 1);
	int rc, saved;

	*out = NULL;
	*len = 0;
	if (!buf)
		return CLI_PASS_NOMEM;
	rc = read_line(fd, buf, len);
	if (rc != CLI_PASS_OK) {
		saved = errno;
		sodium_free(buf);
		errno = saved;
		*len = 0;
		return rc;
	}
	*out = buf;
	return CLI_PASS_OK;
}

int cli_pass_read_file(const char *path, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc, saved;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return CLI_PASS_ERRNO;
	rc = read_secret_line(fd, out, len);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/* The terminal's settings while a prompt runs, for the signal handler. */
static struct termios prompt_saved;
static volatile sig_atomic_t prompt_fd = -1;
static const int prompt_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define N_PROMPT_SIGNALS (sizeof prompt_signals / sizeof prompt_signals[0])

/* A signal at the prompt ends the process, but never leaves the terminal
 * without echo. tcsetattr, signal and raise are async-signal-safe. */
static void prompt_interrupted(int sig)
{
	if (prompt_fd >= 0)
		tcsetattr(prompt_fd, TCSAFLUSH, &prompt_saved);
	signal(sig, SIG_DFL);
	raise(sig); /* delivered when the handler returns */
}

int cli_pass_prompt(const char *prompt, char **out, size_t *len)
{
	struct sigaction sa, old[N_PROMPT_SIGNALS];
	sigset_t unblock, old_mask;
	struct termios quiet;
	int fd, rc, saved;
	size_t i;

	*out = NULL;
	*len = 0;
	fd = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return CLI_PASS_NO_TTY;
	/* Without the settings to go back to, never touch the terminal. */
	if (tcgetattr(fd, &prompt_saved) != 0) {
		close(fd);
		return CLI_PASS_NO_ECHO;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = prompt_interrupted;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&unblock);
	for (i = 0; i < N_PROMPT_SIGNALS; i++) {
		sigaction(prompt_signals[i], &sa, &old[i]);
		sigaddset(&unblock, prompt_signals[i]);
	}
	prompt_fd = fd;
	quiet = prompt_saved;
	quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL | ICANON | ISIG;
	/* Echo off before the prompt shows: an answer typed as soon as it
	 * appears must not be echoed. */
	rc = CLI_PASS_NO_ECHO;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0) {
		/* e2e-pub and e2e-sub block these for sigtimedwait: here they
		 * must work (a pending one ends the process now, terminal
		 * restored). */
		sigprocmask(SIG_UNBLOCK, &unblock, &old_mask);
		(void)!write(fd, prompt, strlen(prompt));
		rc = read_secret_line(fd, out, len);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
	}
	saved = errno;
	tcsetattr(fd, TCSAFLUSH, &prompt_saved);
	prompt_fd = -1;
	for (i = 0; i < N_PROMPT_SIGNALS; i++)
		sigaction(prompt_signals[i], &old[i], NULL);
	close(fd);
	errno = saved;
	return rc;
}

int cli_secret_getenv(const char *name, char **out, size_t *len)
{
	char *value = getenv(name);
	size_t n;
	int rc = CLI_PASS_OK;

	*out = NULL;
	*len = 0;
	if (!value)
		return CLI_PASS_OK;
	n = strlen(value);
	if (n > CLI_PASS_MAX)
		rc = CLI_PASS_TOO_LONG;
	else if (!(*out = cli_secret_dup(value, n)))
		rc = CLI_PASS_NOMEM;
	else
		*len = n;
	/* The value still sits in the process's initial environment block,
	 * which /proc/PID/environ shows: wipe it there, then drop the name. */
	sodium_memzero(value, n);
	unsetenv(name);
	return rc;
}

void cli_protect_process(void)
{
	struct rlimit none = {0, 0};

	/* RLIMIT_CORE alone does not stop a core_pattern pipe (systemd-
	 * coredump, apport): on Linux the dumpable flag does. */
	setrlimit(RLIMIT_CORE, &none);
#ifdef PR_SET_DUMPABLE
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}
