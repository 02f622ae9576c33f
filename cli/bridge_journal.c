/*
 * e2e-bridge's journal (bridge_journal.h, docs/BRIDGE.md section 5).
 *
 * Record layout, integers little-endian:
 *   M: 'M' id:8 dir:1 qos:1 flags:1 topic_len:4 len:4 topic payload
 *      (flags: 1 retained, 2 dup)
 *   O, D: 'O'/'D' id:8
 * each followed by BLAKE2b-128 of the bytes before it. Ids grow by one per
 * message; the messages not done are kept in a ring of slots (their offset
 * in the file), max of them from the oldest not done to the newest.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bridge_journal.h"
#include "bridge_log.h"
#include "bridge_metrics.h"
#include "e2e.h"
#include "passphrase.h"
#include "report.h"

#define HEADER "e2e-bridge journal 1\n"
#define HEADER_LEN (sizeof HEADER - 1)
#define CHECK 16
#define M_HEAD 20 /* 'M' id dir qos retained topic_len len */
#define MARK_LEN (9 + CHECK)
#define COMPACT_MIN (1L << 20)

enum { FREE, PENDING, OPENED };

struct slot {
	uint64_t id;
	off_t off;
	uint32_t rec_len; /* the M record, its check included */
	int state;
};

struct bridge_journal {
	pthread_mutex_t mu;
	char *path;
	int fd;
	int sync;
	off_t end;
	struct slot *slots;
	long cap;
	uint64_t oldest, next; /* oldest not done (next when none) */
	long pending;
	off_t live; /* bytes of the records not done */
	uint8_t *wbuf;
	size_t wcap;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void check_of(const uint8_t *rec, size_t n, uint8_t *out)
{
	crypto_generichash(out, CHECK, rec, n, NULL, 0);
}

static int check_ok(const uint8_t *rec, size_t n)
{
	uint8_t c[CHECK];

	check_of(rec, n, c);
	return sodium_memcmp(c, rec + n, CHECK) == 0;
}

static struct slot *slot_of(struct bridge_journal *j, uint64_t id)
{
	struct slot *s = &j->slots[id % (uint64_t)j->cap];

	return id && id < j->next && s->id == id && s->state != FREE ? s : NULL;
}

/* The journal could not be written or synced (errno): one event line;
 * effect, what it means for the messages, may be NULL. */
static void journal_failed(const struct bridge_journal *j, const char *effect)
{
	bridge_log("journal-failed", NULL, 0, "file", j->path, "detail",
		   strerror(errno), "effect", effect, (char *)NULL);
}

/* Write all of buf at off: 0, or -1 with errno. */
static int write_at(int fd, const void *buf, size_t n, off_t off)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static int read_at(int fd, void *buf, size_t n, off_t off)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = pread(fd, p, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

/* Append n bytes (the check is added here) at the end, mu held: 0 or -1.
 * A failed write is cut off again, so the file never ends torn but by a
 * crash. */
static int append(struct bridge_journal *j, uint8_t *rec, size_t n)
{
	check_of(rec, n, rec + n);
	if (write_at(j->fd, rec, n + CHECK, j->end)) {
		int e = errno;

		if (ftruncate(j->fd, j->end) != 0) {
			/* nothing more to do: the check refuses the rest */
		}
		errno = e;
		return -1;
	}
	j->end += (off_t)(n + CHECK);
	return 0;
}

static int sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (!copy)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

static int room(struct bridge_journal *j, size_t need)
{
	uint8_t *nb;

	if (need <= j->wcap)
		return 0;
	/* Records hold clear messages: no copy left behind by realloc. */
	if (!(nb = cli_clear_grow(j->wbuf, j->wcap, need)))
		return -1;
	j->wbuf = nb;
	j->wcap = need;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Reading the file at start                                                */
/* ------------------------------------------------------------------------ */

struct found {
	uint64_t id;
	off_t off;
	uint32_t rec_len;
	int state; /* PENDING, OPENED, FREE (done) */
};

struct scan {
	struct found *f;
	size_t n, cap;
};

static struct found *find(struct scan *s, uint64_t id)
{
	/* Ids grow: binary search. */
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->f[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n && s->f[lo].id == id ? &s->f[lo] : NULL;
}

/* One record at off into e (M) or *id and *type (marks): its length, 0 at
 * the end, -1 for a torn or foreign record. */
static long read_record(struct bridge_journal *j, off_t off, char *type,
			struct journal_entry *e, uint8_t **buf, size_t *cap)
{
	uint8_t head[M_HEAD];
	size_t n;
	ssize_t got = pread(j->fd, head, 1, off);

	if (got == 0)
		return 0;
	if (got < 0)
		return -1;
	*type = (char)head[0];
	if (*type == 'O' || *type == 'D')
		n = 9;
	else if (*type == 'M') {
		if (read_at(j->fd, head, M_HEAD, off))
			return -1;
		n = M_HEAD + (size_t)get32(head + 12) +
		    (size_t)get32(head + 16);
		if (get32(head + 12) > 65535 ||
		    get32(head + 16) > E2E_PAYLOAD_MAX)
			return -1;
	} else {
		return -1;
	}
	if (n + CHECK > *cap) {
		uint8_t *nb = cli_clear_grow(*buf, *cap, n + CHECK);

		if (!nb)
			return -1;
		*buf = nb;
		*cap = n + CHECK;
	}
	if (read_at(j->fd, *buf, n + CHECK, off) || !check_ok(*buf, n))
		return -1;
	memset(e, 0, sizeof *e);
	e->id = get64(*buf + 1);
	if (*type == 'M') {
		uint8_t *p = *buf;

		e->dir = p[9];
		e->qos = p[10];
		e->retained = p[11] & 1;
		e->dup = (p[11] >> 1) & 1;
		e->topic_len = get32(p + 12);
		e->len = get32(p + 16);
		e->topic = malloc(e->topic_len + 1);
		e->payload = malloc(e->len ? e->len : 1);
		if (!e->topic || !e->payload) {
			bridge_journal_entry_free(e);
			return -1;
		}
		memcpy(e->topic, p + M_HEAD, e->topic_len);
		e->topic[e->topic_len] = '\0';
		memcpy(e->payload, p + M_HEAD + e->topic_len, e->len);
	}
	return (long)(n + CHECK);
}

/* Every record, then each M with its marks; the ring holds those not
 * done. 0 or -1. */
static int scan_file(struct bridge_journal *j, long max, journal_each each,
		     void *user)
{
	struct scan s = {0};
	uint8_t *buf = NULL;
	size_t cap = 0;
	off_t off = HEADER_LEN;
	long len;
	char type;
	struct journal_entry e;
	int rc = -1;

	while ((len = read_record(j, off, &type, &e, &buf, &cap)) > 0) {
		if (type == 'M') {
			bridge_journal_entry_free(&e);
			if (s.n == s.cap) {
				size_t nc = s.cap ? 2 * s.cap : 256;
				struct found *nf =
					realloc(s.f, nc * sizeof *nf);

				if (!nf)
					goto out;
				s.f = nf;
				s.cap = nc;
			}
			s.f[s.n++] = (struct found){e.id, off, (uint32_t)len,
						    PENDING};
		} else {
			struct found *f = find(&s, e.id);

			if (f && type == 'D')
				f->state = FREE;
			else if (f && f->state == PENDING)
				f->state = OPENED;
		}
		off += len;
	}
	if (len < 0) {
		struct stat st;

		if (fstat(j->fd, &st) == 0 && st.st_size > off) {
			char n[24];

			snprintf(n, sizeof n, "%lld",
				 (long long)(st.st_size - off));
			bridge_log("journal-torn", NULL, 0, "file", j->path,
				   "bytes", n, "detail",
				   "an unfinished record at the end ignored "
				   "(never acknowledged)",
				   (char *)NULL);
		}
	}
	j->end = off;
	/* Renumber what is not done 1, 2, ...; the ring must hold them. */
	j->cap = max;
	for (size_t i = 0; i < s.n; i++)
		if (s.f[i].state != FREE)
			j->pending++;
	if (j->pending > j->cap)
		j->cap = j->pending;
	if (!(j->slots = calloc((size_t)j->cap, sizeof *j->slots)))
		goto out;
	j->next = 1;
	for (size_t i = 0; i < s.n; i++) {
		struct found *f = &s.f[i];
		char t;

		if (read_record(j, f->off, &t, &e, &buf, &cap) <= 0)
			goto out;
		e.opened = f->state == OPENED;
		e.done = f->state == FREE;
		if (!e.done) {
			struct slot *sl = &j->slots[j->next % (uint64_t)j->cap];

			e.id = j->next++;
			*sl = (struct slot){e.id, f->off, f->rec_len, f->state};
			j->live += f->rec_len;
		} else {
			e.id = 0;
		}
		each(user, &e);
		bridge_journal_entry_free(&e);
	}
	j->oldest = j->pending ? 1 : j->next;
	rc = 0;
out:
	free(s.f);
	cli_clear_free(buf, cap);
	return rc;
}

int bridge_journal_open(struct bridge_journal **jp, const char *path, int sync,
			long max, journal_each each, void *user)
{
	struct bridge_journal *j = calloc(1, sizeof *j);
	char head[HEADER_LEN];
	struct stat st;

	*jp = NULL;
	if (!j || !(j->path = strdup(path))) {
		free(j);
		cli_err("out of memory");
		return -1;
	}
	pthread_mutex_init(&j->mu, NULL);
	j->sync = sync;
	j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (j->fd < 0 || fstat(j->fd, &st) != 0) {
		cli_file_err("journal", path, 0, E2E_ERR_IO, NULL);
		bridge_journal_close(j);
		return -1;
	}
	if (st.st_size == 0) {
		if (write_at(j->fd, HEADER, HEADER_LEN, 0) || fsync(j->fd) ||
		    sync_dir(path)) {
			cli_file_err("journal", path, 0, E2E_ERR_IO, NULL);
			bridge_journal_close(j);
			return -1;
		}
	} else if (read_at(j->fd, head, HEADER_LEN, 0) ||
		   memcmp(head, HEADER, HEADER_LEN) != 0) {
		cli_file_msg("journal", path, 1,
			     "not an e2e-bridge journal; move it away (the "
			     "messages it may hold were never acknowledged "
			     "elsewhere)");
		bridge_journal_close(j);
		return -1;
	}
	if (scan_file(j, max, each, user)) {
		cli_file_err("journal", path, 0, E2E_ERR_IO, NULL);
		bridge_journal_close(j);
		return -1;
	}
	*jp = j;
	return 0;
}

uint64_t bridge_journal_add(struct bridge_journal *j, int dir,
			    const char *topic, size_t topic_len,
			    const void *payload, size_t len, int qos,
			    int retained, int dup, int *why,
			    const char **detail)
{
	size_t n = M_HEAD + topic_len + len;
	uint64_t id = 0;
	uint8_t *p;

	pthread_mutex_lock(&j->mu);
	if (j->next - j->oldest >= (uint64_t)j->cap) {
		*why = DROP_JOURNAL_FULL;
		goto out;
	}
	if (topic_len > 65535 || room(j, n + CHECK)) {
		*why = DROP_NOMEM;
		goto out;
	}
	p = j->wbuf;
	p[0] = 'M';
	put64(p + 1, j->next);
	p[9] = (uint8_t)dir;
	p[10] = (uint8_t)qos;
	p[11] = (uint8_t)((retained != 0) | (dup != 0) << 1);
	put32(p + 12, (uint32_t)topic_len);
	put32(p + 16, (uint32_t)len);
	memcpy(p + M_HEAD, topic, topic_len);
	memcpy(p + M_HEAD + topic_len, payload, len);
	{
		off_t off = j->end;

		if (append(j, p, n) || (j->sync && fdatasync(j->fd))) {
			*why = DROP_JOURNAL_FAILED;
			*detail = strerror(errno);
			goto out;
		}
		id = j->next++;
		j->slots[id % (uint64_t)j->cap] =
			(struct slot){id, off, (uint32_t)(n + CHECK), PENDING};
		j->pending++;
		j->live += (off_t)(n + CHECK);
	}
out:
	if (j->wbuf)
		sodium_memzero(j->wbuf, j->wcap);
	pthread_mutex_unlock(&j->mu);
	return id;
}

void bridge_journal_mark(struct bridge_journal *j, uint64_t id, char what)
{
	uint8_t rec[MARK_LEN];
	struct slot *s;

	pthread_mutex_lock(&j->mu);
	if ((s = slot_of(j, id)) && !(what == 'O' && s->state == OPENED)) {
		rec[0] = (uint8_t)what;
		put64(rec + 1, id);
		if (append(j, rec, 9))
			journal_failed(
				j, what == 'D' ? "the message will be bridged "
						 "again at the next start"
					       : NULL);
		if (what == 'O') {
			s->state = OPENED;
		} else {
			s->state = FREE;
			j->pending--;
			j->live -= s->rec_len;
			while (j->oldest < j->next &&
			       j->slots[j->oldest % (uint64_t)j->cap].state ==
				       FREE)
				j->oldest++;
		}
	}
	pthread_mutex_unlock(&j->mu);
}

int bridge_journal_read(struct bridge_journal *j, uint64_t id,
			struct journal_entry *e)
{
	uint8_t *buf = NULL;
	size_t cap = 0;
	struct slot *s;
	char type;
	long rc = -1;

	pthread_mutex_lock(&j->mu);
	if ((s = slot_of(j, id))) {
		rc = read_record(j, s->off, &type, e, &buf, &cap);
		if (rc > 0) {
			e->id = id;
			e->opened = s->state == OPENED;
		}
	}
	pthread_mutex_unlock(&j->mu);
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	return rc > 0 && type == 'M' ? 0 : -1;
}

void bridge_journal_entry_free(struct journal_entry *e)
{
	if (e->payload)
		sodium_memzero(e->payload, e->len);
	free(e->payload);
	free(e->topic);
	e->payload = NULL;
	e->topic = NULL;
}

int bridge_journal_sync(struct bridge_journal *j)
{
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	if (j->sync)
		rc = fdatasync(j->fd);
	pthread_mutex_unlock(&j->mu);
	return rc;
}

/* Copy the records not done into a new file and put it in place (mu
 * held): 0, or -1 (the old file stays). */
static int rewrite(struct bridge_journal *j)
{
	size_t plen = strlen(j->path);
	char *tmp = malloc(plen + 5);
	uint8_t *buf = NULL;
	size_t cap = 0;
	off_t end = HEADER_LEN;
	int fd = -1;

	if (!tmp)
		return -1;
	memcpy(tmp, j->path, plen);
	memcpy(tmp + plen, ".new", 5);
	fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write_at(fd, HEADER, HEADER_LEN, 0))
		goto fail;
	for (uint64_t id = j->oldest; id < j->next; id++) {
		struct slot *s = &j->slots[id % (uint64_t)j->cap];
		uint8_t mark[MARK_LEN];

		if (s->state == FREE || s->id != id)
			continue;
		if (s->rec_len > cap) {
			uint8_t *nb = cli_clear_grow(buf, cap, s->rec_len);

			if (!nb)
				goto fail;
			buf = nb;
			cap = s->rec_len;
		}
		if (read_at(j->fd, buf, s->rec_len, s->off) ||
		    write_at(fd, buf, s->rec_len, end))
			goto fail;
		s->off = end;
		end += s->rec_len;
		if (s->state == OPENED) {
			mark[0] = 'O';
			put64(mark + 1, id);
			check_of(mark, 9, mark + 9);
			if (write_at(fd, mark, MARK_LEN, end))
				goto fail;
			end += MARK_LEN;
		}
	}
	if (fdatasync(fd) || rename(tmp, j->path) || sync_dir(j->path))
		goto fail;
	close(j->fd);
	j->fd = fd;
	j->end = end;
	free(tmp);
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	return 0;
fail:
	/* The offsets of records copied so far point into the new file:
	 * read them back from the old one, which is still in place. */
	journal_failed(j, "cannot compact");
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	return -1;
}

int bridge_journal_compact(struct bridge_journal *j, int force)
{
	int rc = 0;

	pthread_mutex_lock(&j->mu);
	if (force || (j->end > COMPACT_MIN && j->live * 2 < j->end)) {
		/* Offsets are changed as records are copied: keep a copy to
		 * restore if the rewrite fails. */
		struct slot *saved = malloc((size_t)j->cap * sizeof *saved);

		if (!saved) {
			rc = -1;
		} else {
			memcpy(saved, j->slots, (size_t)j->cap * sizeof *saved);
			rc = rewrite(j);
			if (rc)
				memcpy(j->slots, saved,
				       (size_t)j->cap * sizeof *saved);
			free(saved);
		}
	}
	pthread_mutex_unlock(&j->mu);
	return rc;
}

long bridge_journal_pending(struct bridge_journal *j)
{
	long n;

	pthread_mutex_lock(&j->mu);
	n = j->pending;
	pthread_mutex_unlock(&j->mu);
	return n;
}

void bridge_journal_close(struct bridge_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0) {
		if (j->sync && fdatasync(j->fd) != 0)
			journal_failed(j, NULL);
		close(j->fd);
	}
	if (j->wbuf) {
		sodium_memzero(j->wbuf, j->wcap);
		free(j->wbuf);
	}
	free(j->slots);
	free(j->path);
	pthread_mutex_destroy(&j->mu);
	free(j);
}
