/*
 * Epoch files: a sender's bound above every sequence number it has used,
 * kept across restarts, with a lock held for the sender's lifetime
 * (docs/ENVELOPE.md section 9).
 *
 * Version 2, written here:  "e2e-pub-state 2\nnext N\n", every sequence
 * number used is below N. Version 1, still read: "e2e-pub-state 1\nepoch
 * N\n", every epoch used is at most N.
 */
#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define MAGIC_V1 "e2e-pub-state 1\nepoch "
#define MAGIC_V2 "e2e-pub-state 2\nnext "

/* Sequence numbers reserved by one file write: 2^24 is 3.9 ms of clock, so a
 * restart is almost never ahead of the bound, and a sender sealing a
 * million messages a second writes the file every 17 s. */
#define RESERVE ((uint64_t)1 << 24)

/* The longest wait for the clock to reach the bound: one second, the most a
 * quick restart after a version-1 file can need. */
#define MAX_WAIT ((uint64_t)1 << 32)

struct e2e_epoch_lock {
	int fd;         /* path.lock, flock()ed */
	uint64_t limit; /* the bound in the file */
	char path[];
};

/* A decimal number of digits only, within max. */
static int parse_u64(const char *s, const char *end, uint64_t max, uint64_t *v)
{
	*v = 0;
	if (s == end || (*s == '0' && end - s > 1))
		return -1;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9' ||
		    *v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	return 0;
}

/* The bound in the file: 0 when there is none; UINT64_MAX when a version-1
 * file used the last epoch (nothing is left). */
static int read_bound(const char *path, uint64_t *bound)
{
	char buf[64];
	size_t got = 0;
	uint64_t v;
	char *end;
	int fd = e2e__open_own(path, O_RDONLY, 0);

	*bound = 0;
	if (fd == E2E_ERR_IO && errno == ENOENT)
		return E2E_OK;
	if (fd < 0)
		return fd;
	while (got < sizeof buf - 1) {
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			errno = saved;
			return E2E_ERR_IO;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	end = strchr(buf, '\n');
	end = end != NULL ? strchr(end + 1, '\n') : NULL;
	if (end == NULL || end[1] != '\0')
		return E2E_ERR_STATE_CORRUPT;
	if (strncmp(buf, MAGIC_V2, strlen(MAGIC_V2)) == 0) {
		if (parse_u64(buf + strlen(MAGIC_V2), end, UINT64_MAX, &v))
			return E2E_ERR_STATE_CORRUPT;
		*bound = v;
	} else if (strncmp(buf, MAGIC_V1, strlen(MAGIC_V1)) == 0) {
		if (parse_u64(buf + strlen(MAGIC_V1), end, UINT32_MAX, &v))
			return E2E_ERR_STATE_CORRUPT;
		*bound = v == UINT32_MAX ? UINT64_MAX : (v + 1) << 32;
	} else {
		return E2E_ERR_STATE_CORRUPT;
	}
	return E2E_OK;
}

/* Atomically, through the library's writer: its temporary file is created
 * with O_EXCL and renamed over path, so neither follows a symbolic link. */
static int write_bound(e2e_epoch_lock *l, uint64_t bound)
{
	char buf[64];
	int n = snprintf(buf, sizeof buf, MAGIC_V2 "%" PRIu64 "\n", bound);
	int rc = e2e__atomic_write(l->path, buf, (size_t)n, 0600);

	if (rc == E2E_OK)
		l->limit = bound;
	return rc;
}

/* The PID recorded in the lock file by its holder, 0 if none. */
static long holder_of(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "%ld", &pid) == 1 && pid > 0 ? pid : 0;
}

/* flock, not fcntl: its lock belongs to the open file, so a second reserve
 * in the same process is refused too, and closing another descriptor of
 * the file does not drop it. */
static int lock_file(const char *path, int *fd_out, long *holder_pid)
{
	char lock_path[PATH_MAX], pid[32];
	int fd, n, saved;

	*fd_out = -1;
	if (snprintf(lock_path, sizeof lock_path, "%s.lock", path) >=
	    (int)sizeof lock_path) {
		errno = ENAMETOOLONG;
		return E2E_ERR_IO;
	}
	fd = e2e__open_own(lock_path, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		return fd;
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EINTR)
			continue;
		saved = errno;
		if (errno == EWOULDBLOCK && holder_pid != NULL)
			*holder_pid = holder_of(fd);
		close(fd);
		errno = saved;
		return saved == EWOULDBLOCK ? E2E_ERR_LOCKED : E2E_ERR_IO;
	}
	/* For the next one's message; the lock does not depend on it. */
	n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		saved = errno;
		close(fd);
		errno = saved;
		return E2E_ERR_IO;
	}
	*fd_out = fd;
	return E2E_OK;
}

/* Wait, at most MAX_WAIT, until the clock reaches bound; then the larger of
 * the two. */
static uint64_t first_after(uint64_t bound)
{
	uint64_t now = e2e__now_seq();

	if (bound > now && bound - now <= MAX_WAIT) {
		/* A few rounds cover a clock that moves slower than asked. */
		for (int i = 0; i < 8 && bound > now; i++) {
			uint64_t d = bound - now;
			struct timespec ts = {
				.tv_sec = (time_t)(d >> 32),
				.tv_nsec = (long)(((d & UINT32_MAX) *
							   1000000000u >>
						   32) +
						  1000)};
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			nanosleep(&ts, NULL);
			now = e2e__now_seq();
		}
	}
	return now > bound ? now : bound;
}

E2E_API int e2e_epoch_reserve(e2e_epoch_lock **out, const char *path,
			      uint64_t *first_seq, long *holder_pid)
{
	e2e_epoch_lock *l;
	uint64_t bound, first;
	int rc, saved;

	if (out != NULL)
		*out = NULL;
	if (holder_pid != NULL)
		*holder_pid = 0;
	if (out == NULL || path == NULL || first_seq == NULL)
		return E2E_ERR_INVAL;
	*first_seq = 0;
	l = malloc(sizeof *l + strlen(path) + 1);
	if (l == NULL)
		return E2E_ERR_NOMEM;
	strcpy(l->path, path);
	rc = lock_file(path, &l->fd, holder_pid);
	if (rc == E2E_OK)
		rc = read_bound(path, &bound);
	if (rc == E2E_OK && bound > UINT64_MAX - RESERVE)
		rc = E2E_ERR_SEQ_EXHAUSTED;
	if (rc == E2E_OK) {
		first = first_after(bound);
		if (first > UINT64_MAX - RESERVE)
			rc = E2E_ERR_SEQ_EXHAUSTED;
	}
	/* Written before the first seal, so that a crash cannot reuse it. */
	if (rc == E2E_OK)
		rc = write_bound(l, first + RESERVE);
	if (rc != E2E_OK) {
		saved = errno;
		if (l->fd >= 0)
			close(l->fd);
		free(l);
		errno = saved;
		return rc;
	}
	*first_seq = first;
	*out = l;
	return E2E_OK;
}

E2E_API int e2e_epoch_renew(e2e_epoch_lock *l, uint64_t next_seq)
{
	if (l == NULL)
		return E2E_ERR_INVAL;
	if (next_seq < l->limit)
		return E2E_OK;
	if (next_seq > UINT64_MAX - RESERVE)
		return E2E_ERR_SEQ_EXHAUSTED;
	return write_bound(l, next_seq + RESERVE);
}

E2E_API int e2e_epoch_release(e2e_epoch_lock *l, uint64_t next_seq)
{
	int rc = E2E_OK, saved;

	if (l == NULL)
		return E2E_OK;
	/* Every sequence number used is below next_seq: a lower bound lets
	 * the next start take the clock without waiting. */
	if (next_seq != 0 && next_seq != l->limit)
		rc = write_bound(l, next_seq);
	saved = errno;
	if (ftruncate(l->fd, 0) != 0) {
		/* The PID left behind only names a process that is gone. */
	}
	close(l->fd); /* drops the lock */
	free(l);
	errno = saved;
	return rc;
}
