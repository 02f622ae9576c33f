/* Files: atomic replacement and careful reading, shared by the replay state
 * and the key files. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

uint64_t e2e__now(void)
{
	time_t t = time(NULL);
	return t < 0 ? 0 : (uint64_t)t;
}

uint64_t e2e__now_seq(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
		return 0;
	if ((uint64_t)ts.tv_sec > UINT32_MAX)
		return UINT64_MAX;
	/* tv_nsec < 10^9, so the fraction is below 2^32. */
	return ((uint64_t)ts.tv_sec << 32) |
	       (((uint64_t)ts.tv_nsec << 32) / 1000000000u);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The directory part of path ("." when there is none). */
static int dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL) {
		if (cap < 2)
			return -1;
		strcpy(dir, ".");
		return 0;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= cap)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

int e2e__fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	int dfd, rc;

	if (dir_of(path, dir, sizeof dir) != 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -1;
	rc = fsync(dfd);
	close(dfd);
	return rc;
}

int e2e__temp_name(char tmp[PATH_MAX], const char *path)
{
	if (snprintf(tmp, PATH_MAX, "%s.tmp-%ld-%08x", path, (long)getpid(),
		     (unsigned)randombytes_random()) >= PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int e2e__write_new(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	int saved;

	if (fd < 0)
		return errno == EEXIST ? E2E_ERR_EXISTS : E2E_ERR_IO;
	/* The umask may have cleared bits we asked for; never add any. */
	if (fchmod(fd, mode) == 0 && write_all(fd, data, len) == 0 &&
	    fsync(fd) == 0) {
		if (close(fd) == 0)
			return E2E_OK;
		fd = -1; /* closed even when close() fails: never twice */
	}
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(path);
	errno = saved;
	return E2E_ERR_IO;
}

int e2e__open_own(const char *path, int flags, mode_t mode)
{
	struct stat st;
	int fd, rc = E2E_ERR_IO, saved;

	/* O_NONBLOCK: a FIFO planted at path must not hang the open. */
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		  mode);
	if (fd < 0)
		return errno == ELOOP ? E2E_ERR_UNSAFE_FILE : E2E_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if (st.st_uid != geteuid()) {
		rc = E2E_ERR_UNSAFE_FILE;
		errno = EPERM;
		goto fail;
	}
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int e2e__atomic_write(const char *path, const void *data, size_t len,
		      mode_t mode)
{
	char tmp[PATH_MAX];
	int rc, saved;

	if (e2e__temp_name(tmp, path) != 0)
		return E2E_ERR_IO;
	rc = e2e__write_new(tmp, data, len, mode);
	if (rc != E2E_OK)
		return E2E_ERR_IO; /* EXISTS here is a stray temporary name */
	if (rename(tmp, path) != 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return E2E_ERR_IO;
	}
	/* Make the rename itself durable. The new file is in place whatever
	 * happens here; a failure only means it may not survive a power cut. */
	(void)e2e__fsync_dir(path);
	return E2E_OK;
}

/* Only the effective user (or root) can change it. */
static int owner_only(const struct stat *st)
{
	return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
	       (st->st_uid == geteuid() || st->st_uid == 0);
}

int e2e__read_file(const char *path, size_t max, int secret, char **buf,
		   size_t *len)
{
	struct stat st;
	char *p = NULL;
	size_t got = 0;
	int fd, rc = E2E_ERR_IO, saved;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return E2E_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		rc = E2E_ERR_PERMISSIONS;
		goto out;
	}
	if (!owner_only(&st)) {
		rc = E2E_ERR_WRITABLE;
		goto out;
	}
	if (st.st_size == 0) {
		rc = E2E_ERR_EMPTY;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		errno = EFBIG;
		goto out;
	}
	p = secret ? sodium_malloc((size_t)st.st_size + 1)
		   : malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		rc = E2E_ERR_NOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == 0) {
		rc = E2E_ERR_EMPTY;
		goto out;
	}
	p[got] = '\0';
	*buf = p;
	*len = got;
	p = NULL;
	rc = E2E_OK;
out:
	saved = errno;
	if (p != NULL) {
		if (secret)
			sodium_free(p);
		else
			free(p);
	}
	close(fd);
	errno = saved;
	return rc;
}

/* Nobody but the effective user or root can rename or replace entries of
 * this directory: writable by others only with the sticky bit. */
static int dir_is_safe(const struct stat *st)
{
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return 0;
	return (st->st_mode & (S_IWGRP | S_IWOTH)) == 0 ||
	       (st->st_mode & S_ISVTX) != 0;
}

E2E_API int e2e_path_check(const char *path, char *dir, size_t dir_cap)
{
	char real[PATH_MAX];
	struct stat st;
	char *slash;

	if (dir != NULL && dir_cap > 0)
		dir[0] = '\0';
	if (path == NULL)
		return E2E_ERR_INVAL;
	if (realpath(path, real) == NULL)
		return E2E_ERR_IO;
	/* From the file's directory up to /, nearest first. */
	while ((slash = strrchr(real, '/')) != NULL) {
		if (slash == real)
			slash[1] = '\0'; /* "/" itself, last */
		else
			*slash = '\0';
		if (stat(real, &st) != 0)
			return E2E_ERR_IO;
		if (!dir_is_safe(&st)) {
			if (dir != NULL && dir_cap > 0)
				snprintf(dir, dir_cap, "%s", real);
			return E2E_ERR_WRITABLE;
		}
		if (slash == real)
			break;
	}
	return E2E_OK;
}
