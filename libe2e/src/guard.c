/*
 * guard.c: the replay guard (docs/ENVELOPE.md section 7; the state file is
 * described in docs/REPLAY-STATE.md).
 *
 * Per sender the guard keeps the highest accepted sequence number ("top"), a
 * ring bitmap of the last `window` positions (sequence s lives at bit
 * s mod window), the largest accepted timestamp and the eviction floor in
 * force when the entry was made. Each sender is one record stored inline in
 * an open-addressing table (linear probing, at most 64 % full, hashed with a
 * per-guard SipHash key so that ids cannot be picked to collide): with the
 * default window of 256 positions a record is 64 bytes, one cache line, and
 * a check reads nothing else. The hash is computed once per message: the
 * check leaves it in a one-entry cache that the commit of the same sender
 * reuses. Retained topics are kept in a separate table with exact LRU lists.
 * Everything is allocated by e2e_guard_new(): check and commit never
 * allocate.
 *
 * Both tables hold two classes of entries, unsigned and signed (made or
 * refreshed by a message whose signature verified against the trust set),
 * each with its own eviction order and its own floor. A class holding at
 * least its share of the table (signed: half, unsigned: the rest) gives up
 * one of its own entries to a newcomer of its class; below its share it
 * takes one of the other class's, so that shared-key holders cannot evict
 * trusted signers' entries and the other way round. Signers evicted from the
 * sender table leave a high-water mark (their highest accepted sequence
 * number) that outlives the eviction; see docs/REPLAY-STATE.md section 1.
 *
 * Senders are evicted by CLOCK, not by an exact LRU list: the senders are
 * kept, in the order they were first recorded, on a ring of positions (one
 * 32-bit word per sender: the slot and the class); a commit only sets a
 * reference bit in its own record. A class's hand walks the ring over that
 * class's senders, clearing reference bits, and evicts the first one whose
 * bit is clear (accepted at most once since the hand last passed it); the
 * newcomer takes its position, just behind the hand. That is "not recently
 * accepted" rather than "least recently accepted" (docs/REPLAY-STATE.md
 * section 1); the eviction floor keeps eviction safe whichever sender goes.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NIL UINT32_MAX
#define WINDOW_MAX 65536u
#define ITEMS_MAX (1u << 24)
#define DIGEST_BYTES 16u
#define CHECKSUM_BYTES 32u
#define STATE_MAGIC "libe2e-replay-state "
#define STATE_VERSION 2
#define STATE_MAX_BYTES ((size_t)1 << 30)
#define LINE 64u

struct link {
	uint32_t prev; /* towards the most recent */
	uint32_t next; /* towards the least recent */
};

struct lru {
	uint32_t head; /* most recent */
	uint32_t tail; /* least recent: evicted first */
};

enum { UNSIGNED = 0, SIGNED = 1 };

/* The two classes sharing the topic table: a list, a count and a floor. */
struct classes {
	struct lru lru[2];
	uint32_t n[2];
	uint32_t floor[2]; /* never above the receiver's clock when raised */
};

/* The two classes sharing the sender table: a count, a floor and a CLOCK
 * hand (a position on the ring) each. */
struct sclasses {
	uint32_t n[2];
	uint32_t floor[2]; /* never above the receiver's clock when raised */
	uint32_t hand[2];
};

/*
 * One sender, inline in its slot: 32 bytes and the window (words of 64
 * positions); 64 bytes with the default window. meta is 0 for an empty
 * slot, else the sender's ring position + 1, its class and its reference
 * bit. hash is the low half of the id's keyed hash, so that moving records
 * and probing on eviction never hash again.
 */
struct rec {
	uint64_t id;
	uint64_t top;    /* highest accepted sequence number */
	uint32_t max_ts; /* largest accepted timestamp, 0: none */
	uint32_t floor; /* the guard's eviction floor when the entry was made */
	uint32_t hash;
	uint32_t meta;
	uint64_t bits[];
};

#define META_POS 0x01ffffffu /* ring position + 1 */
#define META_SIGNED 0x20000000u
#define META_REF 0x40000000u
#define RING_SIGNED 0x80000000u /* ring entries: slot | RING_SIGNED */

struct topic {
	uint8_t digest[DIGEST_BYTES]; /* BLAKE2b-128 of the topic */
	uint64_t sender;
	uint64_t seq;
	uint32_t ts; /* at most the receiver's clock when recorded */
	uint8_t cls; /* SIGNED once a signed message set it */
};

/* What survives a signer's eviction: its highest accepted sequence. */
struct mark {
	uint64_t id;
	uint64_t top;
};

/* The last sender id checked or committed, its keyed hash, and the slot
 * where it was found (NIL: not found; only a hint, checked before use). */
struct last {
	uint64_t id;
	uint64_t hash;
	uint32_t slot;
	int valid;
};

struct e2e_guard {
	e2e_guard_opts opts;
	uint32_t words; /* window / 64 */
	uint32_t wmask; /* window - 1 when a power of two, else 0 */
	uint8_t key[crypto_shorthash_KEYBYTES];

	uint8_t *slots; /* nslots records of stride bytes, line-aligned */
	void *slots_mem;
	size_t stride;
	uint32_t nslots;
	uint32_t *ring; /* opts.max_senders positions: slot | RING_SIGNED */
	uint32_t nsenders;
	struct sclasses sk; /* floors: the eviction floors */
	/* Written by e2e_guard_check(), which leaves the guard's state as it
	 * was: hence a pointer (the guard is not thread-safe, e2e.h). */
	struct last *last;

	struct topic *topics; /* opts.max_retained_topics */
	struct link *tlink;
	uint32_t *tidx;
	uint32_t tmask;
	uint32_t ntopics;
	struct classes tk; /* floors: the retained floors */

	struct mark *marks; /* opts.max_senders; never removed */
	uint32_t *midx;     /* mark index + 1, 0: empty */
	uint32_t nmidx;
	uint32_t nmarks;
	uint32_t marks_lost; /* 1: a signer was evicted with no room to mark */
};

/* ---- options, creation --------------------------------------------------- */

E2E_API void e2e_guard_opts_default(e2e_guard_opts *o)
{
	if (o == NULL)
		return;
	o->window = E2E_GUARD_DEFAULT_WINDOW;
	o->max_senders = E2E_GUARD_DEFAULT_MAX_SENDERS;
	o->max_retained_topics = E2E_GUARD_DEFAULT_MAX_RETAINED;
	o->max_age = E2E_GUARD_DEFAULT_MAX_AGE;
	o->max_skew = E2E_GUARD_DEFAULT_MAX_SKEW;
	o->flags = 0;
	o->max_retained_age = E2E_GUARD_DEFAULT_MAX_RETAINED_AGE;
}

static int opts_valid(const e2e_guard_opts *o)
{
	return o->window >= 64 && o->window <= WINDOW_MAX &&
	       o->window % 64 == 0 && o->max_senders >= 1 &&
	       o->max_senders <= ITEMS_MAX && o->max_retained_topics >= 1 &&
	       o->max_retained_topics <= ITEMS_MAX &&
	       (o->flags & ~E2E_GUARD_ACCEPT_NO_CLOCK) == 0;
}

/* The topic table size for n items: a power of two, at least 2n. */
static uint32_t table_size(uint32_t n)
{
	uint32_t size = 2;

	while (size < 2 * n)
		size *= 2;
	return size;
}

/* Sender slots for n senders: 1.59 n + 1, so that the table is at most
 * 63 % full and a probe always ends on an empty slot. */
static uint32_t sender_slots(uint32_t n)
{
	return n + n / 2 + n / 16 + n / 32 + 1;
}

/* Mark index slots: the marks are few and looked up rarely (a signer's
 * first contact, a signer's eviction), so the index may be nearly full. */
static uint32_t mark_slots(uint32_t n)
{
	return n + n / 16 + 1;
}

static void *alloc_array(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return calloc(n, size);
}

static void classes_init(struct classes *k)
{
	int c;

	for (c = 0; c < 2; c++) {
		k->lru[c].head = NIL;
		k->lru[c].tail = NIL;
	}
}

/* Zeroed and aligned to a cache line; calloc leaves untouched pages
 * unallocated. */
static int alloc_slots(e2e_guard *g)
{
	size_t n = g->nslots;

	if (n > (SIZE_MAX - LINE) / g->stride)
		return 0;
	g->slots_mem = calloc(1, n * g->stride + LINE);
	if (g->slots_mem == NULL)
		return 0;
	g->slots = (uint8_t *)g->slots_mem +
		   (LINE - (uintptr_t)g->slots_mem % LINE) % LINE;
	return 1;
}

E2E_API int e2e_guard_new(e2e_guard **out, const e2e_guard_opts *opts)
{
	e2e_guard_opts def;
	e2e_guard *g;

	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (opts == NULL) {
		e2e_guard_opts_default(&def);
		opts = &def;
	}
	if (!opts_valid(opts))
		return E2E_ERR_INVAL;
	g = calloc(1, sizeof *g);
	if (g == NULL)
		return E2E_ERR_NOMEM;
	g->opts = *opts;
	g->words = opts->window / 64;
	if ((opts->window & (opts->window - 1)) == 0)
		g->wmask = opts->window - 1;
	g->stride = sizeof(struct rec) + (size_t)g->words * sizeof(uint64_t);
	g->nslots = sender_slots(opts->max_senders);
	g->nmidx = mark_slots(opts->max_senders);
	g->tmask = table_size(opts->max_retained_topics) - 1;
	g->ring = alloc_array(opts->max_senders, sizeof *g->ring);
	g->last = calloc(1, sizeof *g->last);
	g->marks = alloc_array(opts->max_senders, sizeof *g->marks);
	g->midx = alloc_array(g->nmidx, sizeof *g->midx);
	g->topics = alloc_array(opts->max_retained_topics, sizeof *g->topics);
	g->tlink = alloc_array(opts->max_retained_topics, sizeof *g->tlink);
	g->tidx = alloc_array((size_t)g->tmask + 1, sizeof *g->tidx);
	if (!alloc_slots(g) || g->ring == NULL || g->last == NULL ||
	    g->topics == NULL || g->tlink == NULL || g->tidx == NULL ||
	    g->marks == NULL || g->midx == NULL) {
		e2e_guard_free(g);
		return E2E_ERR_NOMEM;
	}
	crypto_shorthash_keygen(g->key);
	classes_init(&g->tk);
	*out = g;
	return E2E_OK;
}

E2E_API void e2e_guard_free(e2e_guard *g)
{
	if (g == NULL)
		return;
	free(g->slots_mem);
	free(g->ring);
	free(g->last);
	free(g->marks);
	free(g->midx);
	free(g->topics);
	free(g->tlink);
	free(g->tidx);
	sodium_memzero(g, sizeof *g);
	free(g);
}

E2E_API size_t e2e_guard_sender_count(const e2e_guard *g)
{
	return g == NULL ? 0 : g->nsenders;
}

E2E_API size_t e2e_guard_bytes_per_sender(const e2e_guard *g)
{
	size_t n, total;

	if (g == NULL)
		return 0;
	n = g->opts.max_senders;
	/* The slots (about 1.6 per sender), the ring, and the marks table,
	 * which is sized for every sender and counted here. */
	total = (size_t)g->nslots * g->stride + n * sizeof(uint32_t) +
		n * sizeof(struct mark) + (size_t)g->nmidx * sizeof(uint32_t);
	return (total + n - 1) / n;
}

/* ---- LRU lists by index (topics) ----------------------------------------- */

static void lru_unlink(struct lru *l, struct link *k, uint32_t i)
{
	if (k[i].prev != NIL)
		k[k[i].prev].next = k[i].next;
	else
		l->head = k[i].next;
	if (k[i].next != NIL)
		k[k[i].next].prev = k[i].prev;
	else
		l->tail = k[i].prev;
}

static void lru_push_head(struct lru *l, struct link *k, uint32_t i)
{
	k[i].prev = NIL;
	k[i].next = l->head;
	if (l->head != NIL)
		k[l->head].prev = i;
	else
		l->tail = i;
	l->head = i;
}

static void lru_touch(struct lru *l, struct link *k, uint32_t i)
{
	if (l->head == i)
		return;
	lru_unlink(l, k, i);
	lru_push_head(l, k, i);
}

/* ---- the two classes ----------------------------------------------------- */

static int class_of(const e2e_info *info)
{
	return info->is_signed ? SIGNED : UNSIGNED;
}

/* ts, or now when ts is ahead of it: no floor or record may be later than
 * the receiver's own clock, or a timestamp stamped up to max_skew ahead
 * would lock out everyone whose clock is right. */
static uint32_t clamp_now(uint32_t ts, uint64_t now)
{
	return (uint64_t)ts > now ? (uint32_t)now : ts;
}

static void floor_raise(uint32_t *floor, uint32_t ts, uint64_t now)
{
	ts = clamp_now(ts, now);
	if (ts > *floor)
		*floor = ts;
}

static void class_push(struct classes *k, struct link *l, uint32_t i, int c)
{
	lru_push_head(&k->lru[c], l, i);
	k->n[c]++;
}

/*
 * The class that gives up an entry to a newcomer of class c in a full table
 * of cap entries with n[] entries per class. A class holding at least its
 * share (signed: cap / 2, unsigned: the rest) gives up its own; below its
 * share it takes the other class's, so neither class can push the other
 * below its share.
 */
static int victim_class(const uint32_t n[2], uint32_t cap, int c)
{
	uint32_t share = c == SIGNED ? cap / 2 : cap - cap / 2;
	int v = n[c] >= share ? c : !c;

	return n[v] == 0 ? !v : v;
}

/* The topic a newcomer of class c replaces (victim_class, then the least
 * recent of that class), unlinked from its list; *vc is its class. */
static uint32_t class_evict(struct classes *k, struct link *l, uint32_t cap,
			    int c, int *vc)
{
	int v = victim_class(k->n, cap, c);
	uint32_t i = k->lru[v].tail;

	lru_unlink(&k->lru[v], l, i);
	k->n[v]--;
	*vc = v;
	return i;
}

/* Entry i of class from becomes class to (and the most recent there). */
static void class_move(struct classes *k, struct link *l, uint32_t i, int from,
		       int to)
{
	lru_unlink(&k->lru[from], l, i);
	k->n[from]--;
	class_push(k, l, i, to);
}

/* ---- hash tables --------------------------------------------------------- */

static uint64_t keyed_hash(const e2e_guard *g, const uint8_t *in, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];

	crypto_shorthash(h, in, len, g->key);
	return e2e__load64(h);
}

static uint64_t id_hash(const e2e_guard *g, uint64_t id)
{
	uint8_t in[8];

	e2e__store64(in, id);
	return keyed_hash(g, in, sizeof in);
}

/* The id's keyed hash, from the one-entry cache when the last check or
 * commit was for the same id: one SipHash per message. */
static uint64_t sender_hash(const e2e_guard *g, uint64_t id)
{
	struct last *l = g->last;

	if (!l->valid || l->id != id) {
		l->hash = id_hash(g, id);
		l->id = id;
		l->slot = NIL;
		l->valid = 1;
	}
	return l->hash;
}

/* h mod n without a division (Lemire's multiply-shift on 32 bits). */
static uint32_t reduce(uint32_t h, uint32_t n)
{
	return (uint32_t)(((uint64_t)h * n) >> 32);
}

static uint32_t topic_home(const e2e_guard *g, const uint8_t d[DIGEST_BYTES])
{
	return (uint32_t)keyed_hash(g, d, DIGEST_BYTES) & g->tmask;
}

static struct rec *rec_at(const e2e_guard *g, uint32_t slot)
{
	return (struct rec *)(void *)(g->slots + (size_t)slot * g->stride);
}

static int rec_cls(const struct rec *s)
{
	return (s->meta & META_SIGNED) != 0 ? SIGNED : UNSIGNED;
}

static uint32_t rec_pos(const struct rec *s)
{
	return (s->meta & META_POS) - 1;
}

/* A signer's high-water mark: NULL if it has none. The mark index is
 * probed from the high half of the id's hash. */
static uint32_t mark_slot(const e2e_guard *g, uint64_t id, uint64_t h)
{
	uint32_t i = reduce((uint32_t)(h >> 32), g->nmidx), v;

	while ((v = g->midx[i]) != 0 && g->marks[v - 1].id != id)
		if (++i == g->nmidx)
			i = 0;
	return i;
}

static const struct mark *mark_find(const e2e_guard *g, uint64_t id, uint64_t h)
{
	uint32_t v = g->midx[mark_slot(g, id, h)];

	return v == 0 ? NULL : &g->marks[v - 1];
}

/* Remember that signer id reached sequence top. Marks are never removed;
 * when there is no room for a new one, the guard remembers that it forgot
 * (and refuses clockless first contacts of unmarked signers from then). */
static void mark_raise(e2e_guard *g, uint64_t id, uint64_t h, uint64_t top)
{
	uint32_t i = mark_slot(g, id, h), v = g->midx[i];

	if (v != 0) {
		if (top > g->marks[v - 1].top)
			g->marks[v - 1].top = top;
		return;
	}
	if (g->nmarks == g->opts.max_senders) {
		g->marks_lost = 1;
		return;
	}
	g->marks[g->nmarks].id = id;
	g->marks[g->nmarks].top = top;
	g->midx[i] = ++g->nmarks;
}

/* The slot holding id (hash h), or the empty slot where it would go. The
 * table is never full, so the probe ends. */
static uint32_t sender_slot(const e2e_guard *g, uint64_t id, uint64_t h)
{
	uint32_t i = reduce((uint32_t)h, g->nslots);
	const struct rec *s;

	while ((s = rec_at(g, i))->meta != 0 && s->id != id)
		if (++i == g->nslots)
			i = 0;
	return i;
}

static uint32_t topic_slot(const e2e_guard *g, const uint8_t d[DIGEST_BYTES])
{
	uint32_t i = topic_home(g, d), v;

	while ((v = g->tidx[i]) != 0 &&
	       memcmp(g->topics[v - 1].digest, d, DIGEST_BYTES) != 0)
		i = (i + 1) & g->tmask;
	return i;
}

/* The slot of sender id, NIL if it has none; *h is the id's hash. The
 * commit after a check of the same sender finds the slot in the cache: the
 * record there is checked, since records move when others are evicted. */
static uint32_t sender_find(const e2e_guard *g, uint64_t id, uint64_t *h)
{
	struct last *l = g->last;
	const struct rec *s;
	uint32_t i;

	*h = sender_hash(g, id);
	if (l->slot != NIL) {
		s = rec_at(g, l->slot);
		if (s->meta != 0 && s->id == id)
			return l->slot;
	}
	i = sender_slot(g, id, *h);
	i = rec_at(g, i)->meta == 0 ? NIL : i;
	l->slot = i;
	return i;
}

static uint32_t topic_find(const e2e_guard *g, const uint8_t d[DIGEST_BYTES])
{
	uint32_t v = g->tidx[topic_slot(g, d)];

	return v == 0 ? NIL : v - 1;
}

/* Empty slot i by shifting back the records after it that would no longer
 * be reachable (no tombstones, so probes stay short however many evictions
 * happen); a moved record's ring position follows it. */
static void sender_unslot(e2e_guard *g, uint32_t i)
{
	uint32_t j = i, home, n = g->nslots;
	struct rec *s;

	for (;;) {
		if (++j == n)
			j = 0;
		s = rec_at(g, j);
		if (s->meta == 0)
			break;
		home = reduce(s->hash, n);
		/* Record j may move to i unless its home lies in (i, j]. */
		if ((j + n - home) % n >= (j + n - i) % n) {
			memcpy(rec_at(g, i), s, g->stride);
			g->ring[rec_pos(s)] =
				i | (s->meta & META_SIGNED ? RING_SIGNED : 0);
			i = j;
		}
	}
	rec_at(g, i)->meta = 0;
}

static void topic_unslot(e2e_guard *g, uint32_t i)
{
	uint32_t j = i, home, v;

	for (;;) {
		j = (j + 1) & g->tmask;
		v = g->tidx[j];
		if (v == 0)
			break;
		home = topic_home(g, g->topics[v - 1].digest);
		if (((j - home) & g->tmask) >= ((j - i) & g->tmask)) {
			g->tidx[i] = v;
			i = j;
		}
	}
	g->tidx[i] = 0;
}

/* The ring position of the sender of class v that CLOCK evicts: v's hand
 * walks the ring, skipping the other class, clearing reference bits, and
 * stops at the first sender of v whose bit is clear. v has at least one
 * sender, so two turns of the ring are enough. */
static uint32_t clock_victim(e2e_guard *g, int v)
{
	uint32_t n = g->nsenders, p = g->sk.hand[v], k, e;
	uint32_t want = v == SIGNED ? RING_SIGNED : 0;
	struct rec *s;

	for (k = 0; k < 2 * n; k++, p = p + 1 == n ? 0 : p + 1) {
		e = g->ring[p];
		if ((e & RING_SIGNED) != want)
			continue;
		s = rec_at(g, e & ~RING_SIGNED);
		if ((s->meta & META_REF) == 0)
			break;
		s->meta &= ~META_REF;
	}
	g->sk.hand[v] = p + 1 == n ? 0 : p + 1;
	return p;
}

/*
 * Make a record of class cls for sender id (hash h), which has none,
 * evicting a sender when the table is full (victim_class, then
 * clock_victim): the evicted class's eviction floor rises to the evicted
 * sender's largest timestamp (at most now), so that its old messages are
 * refused as too old once it is forgotten, and an evicted signer leaves its
 * high-water mark. The newcomer takes the evicted sender's ring position
 * with its reference bit clear; its window is the caller's to fill.
 */
static uint32_t sender_add(e2e_guard *g, uint64_t id, uint64_t h, int cls,
			   uint64_t now)
{
	/* The sender being added is not the one evicted just now, so the
	 * floor from before this eviction covers its own past. */
	uint32_t pos, e, floor = g->sk.floor[cls];
	struct rec *s;
	int v;

	if (g->nsenders < g->opts.max_senders) {
		pos = g->nsenders++;
	} else {
		v = victim_class(g->sk.n, g->opts.max_senders, cls);
		pos = clock_victim(g, v);
		e = g->ring[pos] & ~RING_SIGNED;
		s = rec_at(g, e);
		floor_raise(&g->sk.floor[v], s->max_ts, now);
		if (v == SIGNED)
			mark_raise(g, s->id, id_hash(g, s->id), s->top);
		g->sk.n[v]--;
		sender_unslot(g, e);
	}
	e = sender_slot(g, id, h);
	s = rec_at(g, e);
	memset(s, 0, g->stride);
	s->id = id;
	s->floor = floor;
	s->hash = (uint32_t)h;
	s->meta = (pos + 1) | (cls == SIGNED ? META_SIGNED : 0);
	g->ring[pos] = e | (cls == SIGNED ? RING_SIGNED : 0);
	g->sk.n[cls]++;
	return e;
}

/* Sender record e (of class UNSIGNED) becomes SIGNED. */
static void sender_sign(e2e_guard *g, uint32_t e)
{
	struct rec *s = rec_at(g, e);

	s->meta |= META_SIGNED;
	g->ring[rec_pos(s)] |= RING_SIGNED;
	g->sk.n[UNSIGNED]--;
	g->sk.n[SIGNED]++;
}

/* A record of class cls for a topic that has none, evicting one when full
 * (class_evict); the evicted class's retained floor rises to the evicted
 * record's timestamp. */
static uint32_t topic_add(e2e_guard *g, const uint8_t d[DIGEST_BYTES], int cls,
			  uint64_t now)
{
	uint32_t t;
	int v;

	if (g->ntopics < g->opts.max_retained_topics) {
		t = g->ntopics++;
	} else {
		t = class_evict(&g->tk, g->tlink, g->opts.max_retained_topics,
				cls, &v);
		floor_raise(&g->tk.floor[v], g->topics[t].ts, now);
		topic_unslot(g, topic_slot(g, g->topics[t].digest));
	}
	memset(&g->topics[t], 0, sizeof g->topics[t]);
	memcpy(g->topics[t].digest, d, DIGEST_BYTES);
	g->topics[t].cls = (uint8_t)cls;
	g->tidx[topic_slot(g, d)] = t + 1;
	class_push(&g->tk, g->tlink, t, cls);
	return t;
}

static void topic_digest(const char *topic, uint8_t d[DIGEST_BYTES])
{
	crypto_generichash(d, DIGEST_BYTES, (const unsigned char *)topic,
			   strlen(topic), NULL, 0);
}

/* ---- the sequence window ------------------------------------------------- */

static uint64_t *window_of(const e2e_guard *g, uint32_t e)
{
	return rec_at(g, e)->bits;
}

/* x mod window: a mask for windows that are powers of two (the default),
 * a division for the others. */
static uint64_t wpos(const e2e_guard *g, uint64_t x)
{
	return g->wmask != 0 ? x & g->wmask : x % g->opts.window;
}

static int window_seen(const e2e_guard *g, uint32_t e, uint64_t seq)
{
	uint64_t pos = wpos(g, seq);

	return (int)((window_of(g, e)[pos / 64] >> (pos % 64)) & 1u);
}

static int window_verdict(const e2e_guard *g, uint32_t e, uint64_t seq)
{
	uint64_t top = rec_at(g, e)->top;

	if (seq > top)
		return E2E_OK;
	if (top - seq >= g->opts.window || window_seen(g, e, seq))
		return E2E_ERR_REPLAY;
	return E2E_OK;
}

/* Clear count (< window) ring positions from pos on. */
static void ring_clear(const e2e_guard *g, uint64_t *b, uint64_t pos,
		       uint64_t count)
{
	while (count > 0) {
		uint64_t off = pos % 64, n = 64 - off, mask;

		if (n > count)
			n = count;
		mask = n == 64 ? ~(uint64_t)0 : (((uint64_t)1 << n) - 1) << off;
		b[pos / 64] &= ~mask;
		pos = wpos(g, pos + n);
		count -= n;
	}
}

/* Mark seq as accepted, sliding the window when it is above the top. A
 * sequence below the window is not recorded (nothing can hold it). */
static void window_record(e2e_guard *g, uint32_t e, uint64_t seq)
{
	struct rec *s = rec_at(g, e);
	uint64_t *b = window_of(g, e);
	uint32_t w = g->opts.window;
	uint64_t pos = wpos(g, seq);

	if (seq > s->top) {
		uint64_t d = seq - s->top;

		if (d >= w)
			memset(b, 0, g->words * sizeof *b);
		else
			ring_clear(g, b, wpos(g, wpos(g, s->top) + 1), d);
		s->top = seq;
	} else if (s->top - seq >= w) {
		return;
	}
	b[pos / 64] |= (uint64_t)1 << (pos % 64);
}

/*
 * The window as the state file writes it: word m (0 first) holds the 64
 * positions top-64m-63 .. top-64m, the oldest in bit 0, so that the words
 * printed in order read as one big number whose leftmost bit is the top.
 * Positions are counted from (top + 1) mod window, where the window's oldest
 * position lives, to stay correct when top < window.
 */
static uint64_t ring_start(uint32_t window, uint64_t top, uint32_t m)
{
	uint64_t oldest = (top % window + 1) % window;

	return (oldest + window - 64 * ((uint64_t)m + 1)) % window;
}

static uint64_t ring_get64(const uint64_t *b, uint32_t window, uint64_t pos)
{
	uint32_t words = window / 64, w = (uint32_t)(pos / 64);
	unsigned off = (unsigned)(pos % 64);
	uint64_t v = b[w] >> off;

	if (off != 0)
		v |= b[(w + 1) % words] << (64 - off);
	return v;
}

/* OR v into 64 ring positions from pos on. */
static void ring_put64(uint64_t *b, uint32_t window, uint64_t pos, uint64_t v)
{
	uint32_t words = window / 64, w = (uint32_t)(pos / 64);
	unsigned off = (unsigned)(pos % 64);

	b[w] |= v << off;
	if (off != 0)
		b[(w + 1) % words] |= v >> (64 - off);
}

/* ---- check and commit ---------------------------------------------------- */
/* ---- check and commit ---------------------------------------------------- */

static int is_stale(const struct topic *r, const e2e_info *info)
{
	/* A timestamp of 0 (no clock) is not comparable. */
	if (info->timestamp != 0 && info->timestamp < r->ts)
		return 1;
	return r->sender == info->sender_id && info->seq < r->seq;
}

static int topic_verdict(const e2e_guard *g, const e2e_info *info,
			 const char *topic)
{
	uint8_t d[DIGEST_BYTES];
	const struct topic *r;
	uint32_t t;

	topic_digest(topic, d);
	t = topic_find(g, d);
	if (t == NIL) {
		/* The topic may have been evicted: nothing older than what
		 * evictions forgot is accepted. A signed delivery answers to
		 * the signed floor only, so that shared-key holders flooding
		 * the table cannot refuse signers' retained messages. */
		uint32_t floor = g->tk.floor[SIGNED];

		if (!info->is_signed && g->tk.floor[UNSIGNED] > floor)
			floor = g->tk.floor[UNSIGNED];
		return info->timestamp != 0 && info->timestamp < floor
			       ? E2E_ERR_STALE_RETAINED
			       : E2E_OK;
	}
	r = &g->topics[t];
	if (r->sender == info->sender_id && r->seq == info->seq)
		return E2E_ERR_REPLAY;
	return is_stale(r, info) ? E2E_ERR_STALE_RETAINED : E2E_OK;
}

static int time_verdict(const e2e_guard *g, const e2e_info *info, uint32_t e,
			uint64_t h, int retained, uint64_t now)
{
	uint64_t ts = info->timestamp;
	uint32_t floor;

	if (ts == 0) {
		if (e == NIL && !(g->opts.flags & E2E_GUARD_ACCEPT_NO_CLOCK))
			return E2E_ERR_NO_TIMESTAMP;
		/* Once a signer's mark was lost, an unmarked clockless signer
		 * may be one that was forgotten: no trust on first use. */
		if (e == NIL && !retained && info->is_signed && g->marks_lost &&
		    mark_find(g, info->sender_id, h) == NULL)
			return E2E_ERR_NO_TIMESTAMP;
		return E2E_OK;
	}
	if (!retained && g->opts.max_age != 0 && now > ts &&
	    now - ts > g->opts.max_age)
		return E2E_ERR_TOO_OLD;
	if (retained && g->opts.max_retained_age != 0 && now > ts &&
	    now - ts > g->opts.max_retained_age)
		return E2E_ERR_TOO_OLD;
	if (ts > now && ts - now > g->opts.max_skew)
		return E2E_ERR_FUTURE;
	/* Retained deliveries are old by design and answer to their topic
	 * record instead of the floor. */
	floor = e == NIL ? g->sk.floor[class_of(info)] : rec_at(g, e)->floor;
	if (!retained && ts <= floor)
		return E2E_ERR_TOO_OLD;
	return E2E_OK;
}

E2E_API int e2e_guard_check(const e2e_guard *g, const e2e_info *info,
			    const char *topic, uint32_t delivery, uint64_t now)
{
	int retained = (delivery & E2E_DELIVERY_RETAINED) != 0, rc;
	uint32_t e;
	uint64_t h;

	if (g == NULL || info == NULL || (retained && topic == NULL))
		return E2E_ERR_INVAL;
	if (retained && !info->retained)
		return E2E_ERR_NOT_RETAINED;
	e = sender_find(g, info->sender_id, &h);
	/* A retained message may legitimately be older than the sender's
	 * window: its topic record decides instead. But one whose sequence is
	 * inside the window and marked seen was delivered already (its topic
	 * record may have been evicted since). */
	if (retained) {
		rc = topic_verdict(g, info, topic);
		if (rc == E2E_OK && e != NIL &&
		    info->seq <= rec_at(g, e)->top &&
		    rec_at(g, e)->top - info->seq < g->opts.window &&
		    window_seen(g, e, info->seq))
			rc = E2E_ERR_REPLAY;
	} else if (e != NIL) {
		rc = window_verdict(g, e, info->seq);
	} else {
		/* A signer forgotten by eviction resumes above its mark. */
		const struct mark *m =
			info->is_signed ? mark_find(g, info->sender_id, h)
					: NULL;

		rc = m != NULL && info->seq <= m->top ? E2E_ERR_REPLAY : E2E_OK;
	}
	if (rc != E2E_OK)
		return rc;
	return time_verdict(g, info, e, h, retained, now);
}

static void commit_topic(e2e_guard *g, const e2e_info *info, const char *topic,
			 uint64_t now)
{
	uint8_t d[DIGEST_BYTES];
	struct topic *r;
	uint32_t t;
	int cls = class_of(info);

	topic_digest(topic, d);
	t = topic_find(g, d);
	if (t == NIL) {
		t = topic_add(g, d, cls, now);
	} else {
		/* Keep the newest: a live message overtaken by a newer one
		 * must not roll the record back. */
		r = &g->topics[t];
		if (is_stale(r, info) ||
		    (r->sender == info->sender_id && r->seq == info->seq))
			return;
		/* A record stays signed once a signer set it, so that
		 * unsigned traffic cannot evict it afterwards. */
		if (cls == SIGNED && r->cls == UNSIGNED) {
			class_move(&g->tk, g->tlink, t, UNSIGNED, SIGNED);
			r->cls = SIGNED;
		} else {
			lru_touch(&g->tk.lru[r->cls], g->tlink, t);
		}
	}
	r = &g->topics[t];
	r->sender = info->sender_id;
	r->seq = info->seq;
	r->ts = clamp_now(info->timestamp, now);
}

/* A new record for a sender, resuming from its high-water mark when it is
 * a signer that was evicted before: everything up to the mark is seen. */
static uint32_t commit_new_sender(e2e_guard *g, const e2e_info *info,
				  uint64_t h, uint64_t now)
{
	int cls = class_of(info);
	uint32_t e = sender_add(g, info->sender_id, h, cls, now);
	const struct mark *m =
		cls == SIGNED ? mark_find(g, info->sender_id, h) : NULL;

	if (m != NULL) {
		rec_at(g, e)->top = m->top;
		memset(window_of(g, e), 0xff, g->words * sizeof(uint64_t));
	} else {
		rec_at(g, e)->top = info->seq;
	}
	return e;
}

E2E_API void e2e_guard_commit(e2e_guard *g, const e2e_info *info,
			      const char *topic, uint32_t delivery,
			      uint64_t now)
{
	uint32_t e;
	uint64_t h;
	struct rec *s;

	(void)delivery;
	if (g == NULL || info == NULL)
		return;
	e = sender_find(g, info->sender_id, &h);
	if (e == NIL) {
		e = commit_new_sender(g, info, h, now);
	} else {
		if (info->is_signed && rec_cls(rec_at(g, e)) == UNSIGNED) {
			/* Made unsigned (a version 1 state file, or a trust
			 * set that changed): signed from now on. */
			sender_sign(g, e);
		}
		rec_at(g, e)->meta |= META_REF;
	}
	window_record(g, e, info->seq);
	s = rec_at(g, e);
	if (info->timestamp > s->max_ts)
		s->max_ts = info->timestamp;
	if (info->retained && topic != NULL)
		commit_topic(g, info, topic, now);
}

/* ---- save ---------------------------------------------------------------- */

static size_t put_sender(const e2e_guard *g, uint32_t e, char *p)
{
	const struct rec *s = rec_at(g, e);
	const uint64_t *b = window_of(g, e);
	uint32_t m, w = g->opts.window;
	size_t n;

	n = (size_t)sprintf(
		p, "s %016" PRIx64 " %016" PRIx64 " %" PRIu32 " %" PRIu32 " ",
		s->id, s->top, s->max_ts, s->floor);
	for (m = 0; m < g->words; m++)
		n += (size_t)sprintf(
			p + n, "%016" PRIx64,
			ring_get64(b, w, ring_start(w, s->top, m)));
	p[n++] = '\n';
	return n;
}

/* The senders of class c in the order c's hand meets them (the first is
 * the next CLOCK would look at), so that loading in file order rebuilds
 * the same ring and a smaller table keeps the last ones. */
static size_t put_senders(const e2e_guard *g, int c, char *p)
{
	uint32_t want = c == SIGNED ? RING_SIGNED : 0, k, pos = g->sk.hand[c];
	size_t n = 0;

	for (k = 0; k < g->nsenders;
	     k++, pos = pos + 1 == g->nsenders ? 0 : pos + 1)
		if ((g->ring[pos] & RING_SIGNED) == want)
			n += put_sender(g, g->ring[pos] & ~RING_SIGNED, p + n);
	return n;
}
/* The four floors, in file order, by number. */
static const char *const floor_names[4] = {
	"floor", "signed-floor", "retained-floor", "signed-retained-floor"};

static uint32_t *floor_at(e2e_guard *g, int i)
{
	return i < 2 ? &g->sk.floor[i] : &g->tk.floor[i - 2];
}

static const char *const sender_sections[2] = {"senders", "signed-senders"};
static const char *const topic_sections[2] = {"topics", "signed-topics"};

static size_t put_topic(const struct topic *r, char *p)
{
	char hex[2 * DIGEST_BYTES + 1];

	sodium_bin2hex(hex, sizeof hex, r->digest, DIGEST_BYTES);
	return (size_t)sprintf(
		p, "t %s %016" PRIx64 " %016" PRIx64 " %" PRIu32 "\n", hex,
		r->sender, r->seq, r->ts);
}

E2E_API int e2e_guard_save(const e2e_guard *g, const char *path)
{
	/* Longest lines: "s" id top max_ts floor bitmap; "t" digest sender
	 * seq ts; "m" id top; the header lines fit in 400 bytes. */
	size_t sline = 2 + 17 + 17 + 11 + 11 + g->opts.window / 4 + 1;
	size_t tline = 2 + 33 + 17 + 17 + 11;
	size_t mline = 2 + 17 + 17;
	size_t cap, len = 0;
	uint8_t sum[CHECKSUM_BYTES];
	char hex[2 * CHECKSUM_BYTES + 1], *buf;
	uint32_t i;
	int rc, c;

	if (g == NULL || path == NULL)
		return E2E_ERR_INVAL;
	if (g->nsenders > (SIZE_MAX / 4) / sline ||
	    g->ntopics > (SIZE_MAX / 4) / tline ||
	    g->nmarks > (SIZE_MAX / 4) / mline)
		return E2E_ERR_NOMEM;
	cap = 400 + (size_t)g->nsenders * sline + (size_t)g->ntopics * tline +
	      (size_t)g->nmarks * mline + sizeof "checksum \n" +
	      2 * CHECKSUM_BYTES;
	buf = malloc(cap);
	if (buf == NULL)
		return E2E_ERR_NOMEM;
	len += (size_t)sprintf(
		buf,
		"# libe2e replay state: do not edit, it is "
		"checksummed (docs/REPLAY-STATE.md)\n" STATE_MAGIC
		"%d\nwindow %" PRIu32 "\n",
		STATE_VERSION, g->opts.window);
	for (c = 0; c < 4; c++)
		len += (size_t)sprintf(buf + len, "%s %" PRIu32 "\n",
				       floor_names[c],
				       *floor_at((e2e_guard *)g, c));
	len += (size_t)sprintf(buf + len,
			       "marks-lost %" PRIu32 "\nmarks %" PRIu32 "\n",
			       g->marks_lost, g->nmarks);
	for (i = 0; i < g->nmarks; i++)
		len += (size_t)sprintf(buf + len,
				       "m %016" PRIx64 " %016" PRIx64 "\n",
				       g->marks[i].id, g->marks[i].top);
	/* Senders in their hand's order (put_senders), topics least recent
	 * first, so that loading in file order rebuilds the same order (and
	 * a smaller table keeps the most recent). */
	for (c = 0; c < 2; c++) {
		len += (size_t)sprintf(buf + len, "%s %" PRIu32 "\n",
				       sender_sections[c], g->sk.n[c]);
		len += put_senders(g, c, buf + len);
	}
	for (c = 0; c < 2; c++) {
		len += (size_t)sprintf(buf + len, "%s %" PRIu32 "\n",
				       topic_sections[c], g->tk.n[c]);
		for (i = g->tk.lru[c].tail; i != NIL; i = g->tlink[i].prev)
			len += put_topic(&g->topics[i], buf + len);
	}
	crypto_generichash(sum, sizeof sum, (const unsigned char *)buf, len,
			   NULL, 0);
	sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
	len += (size_t)sprintf(buf + len, "checksum %s\n", hex);
	/* Never write what e2e_guard_load() would refuse to read. */
	rc = len > STATE_MAX_BYTES ? E2E_ERR_TOO_LARGE
				   : e2e__atomic_write(path, buf, len, 0600);
	free(buf);
	return rc;
}

/* ---- load ---------------------------------------------------------------- */

/* A cursor over the file's lines. */
struct reader {
	const char *p, *end;
	size_t line;   /* number of the line last taken */
	const char *s; /* that line, without its '\n' */
	size_t n;
};

/* Take the next line. 0 when there is none or it lacks its final newline
 * (a truncated file); r->line is then the line at fault. */
static int next_line(struct reader *r)
{
	const char *nl;

	r->line++;
	if (r->p >= r->end)
		return 0;
	nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
	if (nl == NULL || memchr(r->p, '\0', (size_t)(nl - r->p)) != NULL)
		return 0;
	r->s = r->p;
	r->n = (size_t)(nl - r->p);
	r->p = nl + 1;
	return 1;
}

/* Field parsers: each consumes from *p (bounded by end) or returns 0. */
static int take_word(const char **p, const char *end, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
		return 0;
	*p += n;
	return 1;
}

/* Decimal without sign or leading zeros, at most max. */
static int take_dec(const char **p, const char *end, uint64_t max,
		    uint64_t *out)
{
	const char *q = *p;
	uint64_t v = 0;

	if (q == end || *q < '0' || *q > '9' ||
	    (*q == '0' && q + 1 < end && q[1] >= '0' && q[1] <= '9'))
		return 0;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		uint64_t d = (uint64_t)(*q - '0');

		/* v * 10 + d <= max, without wrapping: d > max first. */
		if (d > max || v > (max - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	*p = q;
	*out = v;
	return 1;
}

static int take_u32(const char **p, const char *end, uint32_t *out)
{
	uint64_t v;

	if (!take_dec(p, end, UINT32_MAX, &v))
		return 0;
	*out = (uint32_t)v;
	return 1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 16 lowercase hex digits. */
static int take_hex64(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	int i, d;

	if (end - *p < 16)
		return 0;
	for (i = 0; i < 16; i++) {
		if ((d = hexval((*p)[i])) < 0)
			return 0;
		v = (v << 4) | (uint64_t)d;
	}
	*p += 16;
	*out = v;
	return 1;
}

static int take_bytes(const char **p, const char *end, uint8_t *out, size_t len)
{
	size_t i;
	int hi, lo;

	if ((size_t)(end - *p) < 2 * len)
		return 0;
	for (i = 0; i < len; i++) {
		hi = hexval((*p)[2 * i]);
		lo = hexval((*p)[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	*p += 2 * len;
	return 1;
}

/* "name value" with a decimal value. */
static int header_line(struct reader *r, const char *name, uint64_t max,
		       uint64_t *v)
{
	const char *p, *end;

	if (!next_line(r))
		return 0;
	p = r->s;
	end = r->s + r->n;
	return take_word(&p, end, name) && take_word(&p, end, " ") &&
	       take_dec(&p, end, max, v) && p == end;
}

/* "s id top max_ts floor bitmap", the bitmap saved with saved_window bits.
 * A saved window larger than ours is cut to ours; a smaller one is widened
 * with positions marked seen, as they lay below the saved window and were
 * refused before. */
static int sender_line(e2e_guard *g, struct reader *r, uint32_t saved_window,
		       int cls, uint64_t now)
{
	const char *p = r->s, *end = r->s + r->n, *bitmap;
	uint64_t id, top, v, h, *b;
	uint32_t max_ts, floor, m, e;
	struct rec *s;

	if (!take_word(&p, end, "s ") || !take_hex64(&p, end, &id) ||
	    !take_word(&p, end, " ") || !take_hex64(&p, end, &top) ||
	    !take_word(&p, end, " ") || !take_u32(&p, end, &max_ts) ||
	    !take_word(&p, end, " ") || !take_u32(&p, end, &floor) ||
	    !take_word(&p, end, " "))
		return 0;
	bitmap = p;
	for (m = 0; m < saved_window / 64; m++)
		if (!take_hex64(&p, end, &v) || (m == 0 && !(v >> 63)))
			return 0; /* the top itself is always seen */
	if (p != end || sender_find(g, id, &h) != NIL)
		return 0;
	e = sender_add(g, id, h, cls, now);
	s = rec_at(g, e);
	s->top = top;
	s->max_ts = max_ts;
	s->floor = floor;
	b = s->bits;
	for (m = 0; m < g->words; m++) {
		v = ~(uint64_t)0;
		if (m < saved_window / 64) {
			p = bitmap + 16 * (size_t)m;
			(void)take_hex64(&p, end, &v);
		}
		ring_put64(b, g->opts.window,
			   ring_start(g->opts.window, top, m), v);
	}
	return 1;
}

/* "m id top" */
static int mark_line(e2e_guard *g, struct reader *r)
{
	const char *p = r->s, *end = r->s + r->n;
	uint64_t id, top, h;

	if (!take_word(&p, end, "m ") || !take_hex64(&p, end, &id) ||
	    !take_word(&p, end, " ") || !take_hex64(&p, end, &top) || p != end)
		return 0;
	h = id_hash(g, id);
	if (mark_find(g, id, h) != NULL)
		return 0;
	mark_raise(g, id, h, top); /* beyond max_senders: marks_lost */
	return 1;
}

/* "t digest sender seq ts" */
static int topic_line(e2e_guard *g, struct reader *r, int cls, uint64_t now)
{
	const char *p = r->s, *end = r->s + r->n;
	uint8_t d[DIGEST_BYTES];
	uint64_t sender, seq;
	uint32_t ts, t;

	if (!take_word(&p, end, "t ") || !take_bytes(&p, end, d, sizeof d) ||
	    !take_word(&p, end, " ") || !take_hex64(&p, end, &sender) ||
	    !take_word(&p, end, " ") || !take_hex64(&p, end, &seq) ||
	    !take_word(&p, end, " ") || !take_u32(&p, end, &ts) || p != end ||
	    topic_find(g, d) != NIL)
		return 0;
	t = topic_add(g, d, cls, now);
	g->topics[t].sender = sender;
	g->topics[t].seq = seq;
	g->topics[t].ts = ts;
	return 1;
}

/* "checksum hex": BLAKE2b-256 of every byte before this line. */
static int checksum_line(struct reader *r, const char *buf)
{
	const char *start = r->p, *p, *end;
	uint8_t want[CHECKSUM_BYTES], got[CHECKSUM_BYTES];

	if (!next_line(r))
		return 0;
	p = r->s;
	end = r->s + r->n;
	if (!take_word(&p, end, "checksum ") ||
	    !take_bytes(&p, end, want, sizeof want) || p != end)
		return 0;
	crypto_generichash(got, sizeof got, (const unsigned char *)buf,
			   (size_t)(start - buf), NULL, 0);
	return sodium_memcmp(want, got, sizeof got) == 0;
}

/* "libe2e-replay-state V": the version, or 0 for any other line. */
static int version_line(struct reader *r)
{
	size_t n = strlen(STATE_MAGIC);

	if (!next_line(r) || r->n != n + 1 || memcmp(r->s, STATE_MAGIC, n) != 0)
		return 0;
	return r->s[n] == '1' || r->s[n] == '2' ? r->s[n] - '0' : 0;
}

/* The floors, and in version 2 the signers' marks. Version 1 had one
 * floor for every sender: it becomes both sender floors. Floors are never
 * later than now, even when a file says so. */
static int floors_and_marks(e2e_guard *g, struct reader *r, int version,
			    uint64_t now)
{
	uint64_t v, count, i;
	int c;

	for (c = 0; c < (version == 1 ? 1 : 4); c++) {
		if (!header_line(r, floor_names[c], UINT32_MAX, &v))
			return 0;
		*floor_at(g, c) = clamp_now((uint32_t)v, now);
	}
	if (version == 1) {
		g->sk.floor[SIGNED] = g->sk.floor[UNSIGNED];
		return 1;
	}
	if (!header_line(r, "marks-lost", 1, &v))
		return 0;
	g->marks_lost = (uint32_t)v;
	if (!header_line(r, "marks", UINT32_MAX, &count))
		return 0;
	for (i = 0; i < count; i++)
		if (!next_line(r) || !mark_line(g, r))
			return 0;
	return 1;
}

/* Parse the whole file into the fresh guard g. 0, or the line at fault.
 * Version 1 files (one class) load as unsigned entries. */
static size_t parse_state(e2e_guard *g, const char *buf, size_t len,
			  uint64_t now)
{
	struct reader r = {buf, buf + len, 0, NULL, 0};
	uint64_t window, count, i;
	int version, c, classes;

	if (!next_line(&r) || r.n == 0 || r.s[0] != '#')
		return r.line;
	if ((version = version_line(&r)) == 0)
		return r.line;
	classes = version == 1 ? 1 : 2;
	if (!header_line(&r, "window", WINDOW_MAX, &window) || window < 64 ||
	    window % 64 != 0)
		return r.line;
	if (!floors_and_marks(g, &r, version, now))
		return r.line;
	for (c = 0; c < classes; c++) {
		if (!header_line(&r, sender_sections[c], UINT32_MAX, &count))
			return r.line;
		for (i = 0; i < count; i++)
			if (!next_line(&r) ||
			    !sender_line(g, &r, (uint32_t)window, c, now))
				return r.line;
	}
	for (c = 0; c < classes; c++) {
		if (!header_line(&r, topic_sections[c], UINT32_MAX, &count))
			return r.line;
		for (i = 0; i < count; i++)
			if (!next_line(&r) || !topic_line(g, &r, c, now))
				return r.line;
	}
	if (!checksum_line(&r, buf))
		return r.line;
	if (r.p != r.end)
		return r.line + 1; /* anything after the checksum */
	return 0;
}

E2E_API int e2e_guard_load(e2e_guard *g, const char *path, size_t *bad_line)
{
	e2e_guard *fresh = NULL, tmp;
	char *buf = NULL;
	size_t len, bad = 0;
	int rc;

	if (bad_line != NULL)
		*bad_line = 0;
	if (g == NULL || path == NULL)
		return E2E_ERR_INVAL;
	rc = e2e__read_file(path, STATE_MAX_BYTES, 0, &buf, &len);
	if (rc == E2E_ERR_EMPTY)
		return E2E_ERR_STATE_CORRUPT;
	if (rc != E2E_OK)
		return rc;
	rc = e2e_guard_new(&fresh, &g->opts);
	if (rc != E2E_OK)
		goto cleanup;
	bad = parse_state(fresh, buf, len, e2e__now());
	if (bad != 0) {
		rc = E2E_ERR_STATE_CORRUPT;
		if (bad_line != NULL)
			*bad_line = bad;
		goto cleanup;
	}
	/* Swap whole structures: the fresh tables were hashed with the fresh
	 * key, which goes along with them. */
	tmp = *g;
	*g = *fresh;
	*fresh = tmp;
	sodium_memzero(&tmp, sizeof tmp);
cleanup:
	e2e_guard_free(fresh);
	free(buf);
	return rc;
}
