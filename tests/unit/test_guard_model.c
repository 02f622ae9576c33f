/*
 * Model-based test of the replay guard: thousands of random decisions
 * (senders signed and unsigned, sequence numbers around and far from each
 * sender's window, timestamps with and without a clock, live and retained
 * deliveries, time steps, tables of a few entries so that eviction happens
 * all the time, save and load in between) compared, at every step, with a
 * reference model written from docs/ENVELOPE.md section 7 on plain arrays.
 *
 * The guard evicts senders by CLOCK, which the specification leaves open
 * (it only says which class gives up an entry): the model does not guess
 * the victim. After every commit that evicts, it asks the guard which of
 * the senders it holds is gone (a probe that changes nothing), checks that
 * exactly one went and that it is of the class the share rule names, and
 * then applies the rule's consequences (floor, mark) itself. From then on
 * every verdict must be the model's, exactly. Topics are evicted least
 * recently updated first, exactly as the model does.
 *
 * Seeds: GUARD_MODEL_SEED=N in the environment replaces the default; a
 * failure prints the seed and the step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "e2e.h"

#define IDS 14       /* sender ids in play */
#define TOPICS 6     /* topics in play */
#define SEEN_MAX 512 /* >= the largest window used */
#define RUNS 48
#define STEPS 2500
#define NOW0 1700000000u /* before the real clock: loading clamps to it */

static char tmpdir[64];

/* ---- the model ----------------------------------------------------------- */

struct msender {
	int held;
	int cls;      /* 1: signed */
	uint64_t top; /* highest sequence of the entry */
	int has_base; /* every sequence <= base is seen (made from a mark) */
	uint64_t base;
	uint64_t seen[SEEN_MAX]; /* accepted sequences inside the window */
	int nseen;
	uint32_t max_ts;
	uint32_t floor; /* the class floor when the entry was made */
};

struct mtopic {
	int used;
	int cls;
	uint64_t sender, seq;
	uint32_t ts;
	uint64_t recency;
};

struct model {
	e2e_guard_opts o;
	uint64_t now;
	uint64_t ids[IDS];
	struct msender s[IDS];
	uint32_t n[2], floor[2];
	int has_mark[IDS];
	uint64_t mark[IDS];
	uint32_t nmarks;
	int marks_lost;
	struct mtopic t[TOPICS];
	uint32_t tn[2], tfloor[2];
	uint64_t clock;
};

/* A message as the test offers it. */
struct offer {
	int k;     /* sender index */
	int topic; /* topic index */
	uint32_t delivery;
	e2e_info info;
};

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15u);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static uint32_t below(uint64_t *x, uint32_t n)
{
	return (uint32_t)(splitmix64(x) % n);
}

static uint32_t min_now(uint32_t ts, uint64_t now)
{
	return (uint64_t)ts > now ? (uint32_t)now : ts;
}

static void raise_to(uint32_t *floor, uint32_t ts, uint64_t now)
{
	ts = min_now(ts, now);
	if (ts > *floor)
		*floor = ts;
}

/* Which class gives up an entry to a newcomer of class c (section 7). */
static int share_victim(const uint32_t n[2], uint32_t cap, int c)
{
	uint32_t share = c ? cap / 2 : cap - cap / 2;
	int v = n[c] >= share ? c : !c;

	return n[v] == 0 ? !v : v;
}

static int seen(const struct msender *s, uint64_t seq)
{
	int i;

	if (s->has_base && seq <= s->base)
		return 1;
	for (i = 0; i < s->nseen; i++)
		if (s->seen[i] == seq)
			return 1;
	return 0;
}

static int in_window(const struct model *m, const struct msender *s,
		     uint64_t seq)
{
	return seq <= s->top && s->top - seq < m->o.window;
}

static int topic_verdict(const struct model *m, const struct offer *f)
{
	const struct mtopic *t = &m->t[f->topic];
	const e2e_info *i = &f->info;
	uint32_t floor;

	if (!t->used) {
		floor = m->tfloor[1];
		if (!i->is_signed && m->tfloor[0] > floor)
			floor = m->tfloor[0];
		return i->timestamp != 0 && i->timestamp < floor
			       ? E2E_ERR_STALE_RETAINED
			       : E2E_OK;
	}
	if (t->sender == i->sender_id && t->seq == i->seq)
		return E2E_ERR_REPLAY;
	if ((i->timestamp != 0 && i->timestamp < t->ts) ||
	    (t->sender == i->sender_id && i->seq < t->seq))
		return E2E_ERR_STALE_RETAINED;
	return E2E_OK;
}

static int time_verdict(const struct model *m, const struct offer *f,
			int retained)
{
	const struct msender *s = &m->s[f->k];
	const e2e_info *i = &f->info;
	uint64_t ts = i->timestamp, now = m->now;

	if (ts == 0) {
		if (!s->held && !(m->o.flags & E2E_GUARD_ACCEPT_NO_CLOCK))
			return E2E_ERR_NO_TIMESTAMP;
		if (!s->held && !retained && i->is_signed && m->marks_lost &&
		    !m->has_mark[f->k])
			return E2E_ERR_NO_TIMESTAMP;
		return E2E_OK;
	}
	if (!retained && m->o.max_age && now > ts && now - ts > m->o.max_age)
		return E2E_ERR_TOO_OLD;
	if (retained && m->o.max_retained_age && now > ts &&
	    now - ts > m->o.max_retained_age)
		return E2E_ERR_TOO_OLD;
	if (ts > now && ts - now > m->o.max_skew)
		return E2E_ERR_FUTURE;
	if (!retained &&
	    ts <= (s->held ? s->floor : m->floor[i->is_signed ? 1 : 0]))
		return E2E_ERR_TOO_OLD;
	return E2E_OK;
}

static int model_verdict(const struct model *m, const struct offer *f)
{
	const struct msender *s = &m->s[f->k];
	const e2e_info *i = &f->info;
	int retained = (f->delivery & E2E_DELIVERY_RETAINED) != 0, rc;

	if (retained && !i->retained)
		return E2E_ERR_NOT_RETAINED;
	if (retained) {
		rc = topic_verdict(m, f);
		if (rc == E2E_OK && s->held && in_window(m, s, i->seq) &&
		    seen(s, i->seq))
			rc = E2E_ERR_REPLAY;
	} else if (s->held) {
		rc = i->seq > s->top ? E2E_OK
		     : s->top - i->seq >= m->o.window || seen(s, i->seq)
			     ? E2E_ERR_REPLAY
			     : E2E_OK;
	} else {
		rc = i->is_signed && m->has_mark[f->k] &&
				     i->seq <= m->mark[f->k]
			     ? E2E_ERR_REPLAY
			     : E2E_OK;
	}
	return rc != E2E_OK ? rc : time_verdict(m, f, retained);
}

/* Record seq in the entry's window, sliding it (section 7). */
static void record(const struct model *m, struct msender *s, uint64_t seq)
{
	int i, j;

	if (seq > s->top) {
		s->top = seq;
		for (i = j = 0; i < s->nseen; i++)
			if (in_window(m, s, s->seen[i]))
				s->seen[j++] = s->seen[i];
		s->nseen = j;
	} else if (!in_window(m, s, seq)) {
		return;
	}
	if (!seen(s, seq)) {
		assert_true(s->nseen < SEEN_MAX);
		s->seen[s->nseen++] = seq;
	}
}

static void mark_signer(struct model *m, int k)
{
	if (m->has_mark[k]) {
		if (m->s[k].top > m->mark[k])
			m->mark[k] = m->s[k].top;
		return;
	}
	if (m->nmarks == m->o.max_senders) {
		m->marks_lost = 1;
		return;
	}
	m->has_mark[k] = 1;
	m->mark[k] = m->s[k].top;
	m->nmarks++;
}

/* Does the guard hold an entry for sender k? A retained delivery of the
 * entry's top on a topic never used is a replay exactly when it does. */
static int guard_holds(const e2e_guard *g, const struct model *m, int k)
{
	e2e_info p;

	memset(&p, 0, sizeof p);
	p.sender_id = m->ids[k];
	p.seq = m->s[k].top;
	p.timestamp = (uint32_t)m->now;
	p.retained = 1;
	return e2e_guard_check(g, &p, "probe/never-used", E2E_DELIVERY_RETAINED,
			       m->now) == E2E_ERR_REPLAY;
}

/* The guard evicted one sender to make room for newcomer k: find it. */
static void observe_eviction(const e2e_guard *g, struct model *m, int k,
			     int cls, uint64_t seed, int step)
{
	int j, victim = -1, want = share_victim(m->n, m->o.max_senders, cls);

	for (j = 0; j < IDS; j++) {
		if (j == k || !m->s[j].held || guard_holds(g, m, j))
			continue;
		if (victim >= 0)
			fail_msg("seed %llu step %d: two senders evicted",
				 (unsigned long long)seed, step);
		victim = j;
	}
	if (victim < 0)
		fail_msg("seed %llu step %d: a full table evicted nobody",
			 (unsigned long long)seed, step);
	if (m->s[victim].cls != want)
		fail_msg("seed %llu step %d: evicted class %d, the share rule "
			 "says %d",
			 (unsigned long long)seed, step, m->s[victim].cls,
			 want);
	raise_to(&m->floor[want], m->s[victim].max_ts, m->now);
	if (want == 1)
		mark_signer(m, victim);
	m->s[victim].held = 0;
	m->n[want]--;
}

static void commit_topic(struct model *m, const struct offer *f)
{
	const e2e_info *i = &f->info;
	struct mtopic *t = &m->t[f->topic];
	int cls = i->is_signed ? 1 : 0, j, v, lru;
	uint32_t used = m->tn[0] + m->tn[1];

	if (!t->used) {
		if (used == m->o.max_retained_topics) {
			v = share_victim(m->tn, m->o.max_retained_topics, cls);
			for (lru = -1, j = 0; j < TOPICS; j++)
				if (m->t[j].used && m->t[j].cls == v &&
				    (lru < 0 ||
				     m->t[j].recency < m->t[lru].recency))
					lru = j;
			raise_to(&m->tfloor[v], m->t[lru].ts, m->now);
			m->t[lru].used = 0;
			m->tn[v]--;
		}
		memset(t, 0, sizeof *t);
		t->used = 1;
		t->cls = cls;
		m->tn[cls]++;
	} else {
		if ((i->timestamp != 0 && i->timestamp < t->ts) ||
		    (t->sender == i->sender_id && i->seq <= t->seq))
			return;
		if (cls == 1 && t->cls == 0) {
			t->cls = 1;
			m->tn[0]--;
			m->tn[1]++;
		}
	}
	t->recency = ++m->clock;
	t->sender = i->sender_id;
	t->seq = i->seq;
	t->ts = min_now(i->timestamp, m->now);
}

static void model_commit(const e2e_guard *g, struct model *m,
			 const struct offer *f, uint64_t seed, int step)
{
	struct msender *s = &m->s[f->k];
	const e2e_info *i = &f->info;
	int cls = i->is_signed ? 1 : 0;
	uint32_t floor = m->floor[cls];

	if (!s->held) {
		if (m->n[0] + m->n[1] == m->o.max_senders)
			observe_eviction(g, m, f->k, cls, seed, step);
		memset(s, 0, sizeof *s);
		s->held = 1;
		s->cls = cls;
		s->floor = floor;
		m->n[cls]++;
		if (cls == 1 && m->has_mark[f->k]) {
			s->has_base = 1;
			s->base = s->top = m->mark[f->k];
		} else {
			s->top = i->seq;
		}
	} else if (cls == 1 && s->cls == 0) {
		s->cls = 1;
		m->n[0]--;
		m->n[1]++;
	}
	record(m, s, i->seq);
	if (i->timestamp > s->max_ts)
		s->max_ts = i->timestamp;
	if (i->retained)
		commit_topic(m, f);
}

/* ---- random offers ------------------------------------------------------- */

static uint64_t pick_seq(uint64_t *x, const struct model *m, int k)
{
	const struct msender *s = &m->s[k];
	uint64_t top = s->held ? s->top : m->has_mark[k] ? m->mark[k] : 100;
	uint32_t w = m->o.window, r = below(x, 100);

	if (r < 40)
		return top + 1 + below(x, 3);
	if (r < 60)
		return top >= w ? top - below(x, w) : below(x, w);
	if (r < 70)
		return top;
	if (r < 75)
		return top + w + below(x, 3 * w);
	if (r < 90)
		return below(x, 300);
	if (r < 95)
		return top > w + 10 ? top - w - below(x, 10) : top;
	if (r < 98)
		return ((uint64_t)(below(x, 3) + 1) << 32) | below(x, 5);
	return UINT64_MAX - below(x, 2);
}

static uint32_t pick_ts(uint64_t *x, const struct model *m)
{
	uint32_t r = below(x, 100), now = (uint32_t)m->now;

	if (r < 8)
		return 0;
	if (r < 70)
		return now - below(x, 8);
	if (r < 85)
		return now - below(x, m->o.max_age + 40);
	return now + below(x, m->o.max_skew + 8);
}

static void make_offer(uint64_t *x, const struct model *m, struct offer *f)
{
	/* Most traffic from a few more senders than the table holds. */
	uint32_t hot = m->o.max_senders + 3 < IDS ? m->o.max_senders + 3 : IDS;
	int k = (int)(below(x, 10) < 8 ? below(x, hot) : below(x, IDS));
	e2e_info *i = &f->info;

	memset(f, 0, sizeof *f);
	f->k = k;
	f->topic = (int)below(x, TOPICS);
	i->suite = E2E_SUITE_AEAD;
	i->key_id = 1;
	i->sender_id = m->ids[k];
	/* Odd senders are signers; anyone may send unsigned under their id. */
	i->is_signed = (k & 1) ? below(x, 8) != 0 : 0;
	i->seq = pick_seq(x, m, k);
	i->timestamp = pick_ts(x, m);
	i->retained = below(x, 5) == 0;
	if (i->retained ? below(x, 10) < 7 : below(x, 40) == 0)
		f->delivery = E2E_DELIVERY_RETAINED;
}

/* ---- the run ------------------------------------------------------------- */

static void model_init(struct model *m, uint64_t *x)
{
	int k;

	memset(m, 0, sizeof *m);
	e2e_guard_opts_default(&m->o);
	m->o.window = 64 * (1 + below(x, 3)); /* 192: not a power of two */
	m->o.max_senders = 1 + below(x, 6);
	m->o.max_retained_topics = 1 + below(x, 4);
	m->o.max_age = 60;
	m->o.max_skew = 10;
	m->o.max_retained_age = below(x, 2) ? 0 : 100;
	m->o.flags = below(x, 2) ? E2E_GUARD_ACCEPT_NO_CLOCK : 0;
	m->now = NOW0;
	for (k = 0; k < IDS; k++)
		m->ids[k] = splitmix64(x);
	m->ids[0] = 0;
	m->ids[1] = UINT64_MAX;
}

/* Every sender the model holds, the guard holds, and no other. */
static void assert_same_senders(const e2e_guard *g, const struct model *m,
				uint64_t seed, int step)
{
	int k;

	assert_int_equal(e2e_guard_sender_count(g), m->n[0] + m->n[1]);
	for (k = 0; k < IDS; k++)
		if (m->s[k].held && !guard_holds(g, m, k))
			fail_msg("seed %llu step %d: sender %d lost",
				 (unsigned long long)seed, step, k);
}

static void run_one(uint64_t seed, uint64_t counts[2])
{
	static struct model m;
	uint64_t x = seed;
	e2e_guard *g = NULL;
	struct offer f;
	char path[128], topic[8];
	int step, want, got;

	model_init(&m, &x);
	assert_int_equal(e2e_guard_new(&g, &m.o), E2E_OK);
	snprintf(path, sizeof path, "%s/model.state", tmpdir);
	for (step = 0; step < STEPS; step++) {
		if (below(&x, 3) == 0)
			m.now += below(&x, 4);
		make_offer(&x, &m, &f);
		want = model_verdict(&m, &f);
		snprintf(topic, sizeof topic, "t/%d", f.topic);
		got = e2e_guard_check(g, &f.info, topic, f.delivery, m.now);
		if (got != want)
			fail_msg("seed %llu step %d: sender %d seq %llu ts %u "
				 "signed %d retained %d/%u topic %d: guard %s, "
				 "model %s",
				 (unsigned long long)seed, step, f.k,
				 (unsigned long long)f.info.seq,
				 f.info.timestamp, f.info.is_signed,
				 f.info.retained, f.delivery, f.topic,
				 e2e_strerror(got), e2e_strerror(want));
		counts[got == E2E_OK]++;
		if (got == E2E_OK) {
			e2e_guard_commit(g, &f.info, topic, f.delivery, m.now);
			model_commit(g, &m, &f, seed, step);
		}
		if (step % 97 == 0)
			assert_same_senders(g, &m, seed, step);
		if (step % 701 == 700) {
			assert_int_equal(e2e_guard_save(g, path), E2E_OK);
			assert_int_equal(e2e_guard_load(g, path, NULL), E2E_OK);
			assert_same_senders(g, &m, seed, step);
		}
	}
	e2e_guard_free(g);
}

static void guard_agrees_with_the_model_on_random_decisions(void **state)
{
	const char *env = getenv("GUARD_MODEL_SEED");
	uint64_t base = env != NULL ? strtoull(env, NULL, 0) : 20261202u;
	uint64_t counts[2] = {0, 0};
	int r;

	(void)state;
	for (r = 0; r < RUNS; r++)
		run_one(base + (uint64_t)r, counts);
	/* Both verdicts, many times each: the offers are not all refused
	 * (or all accepted), so the comparison covers both paths. */
	print_message("model: %llu accepted, %llu refused (seed %llu)\n",
		      (unsigned long long)counts[1],
		      (unsigned long long)counts[0], (unsigned long long)base);
	assert_true(counts[1] > RUNS * STEPS / 5);
	assert_true(counts[0] > RUNS * STEPS / 5);
}

static int setup(void **state)
{
	(void)state;
	if (e2e_init() != E2E_OK)
		return -1;
	strcpy(tmpdir, "/tmp/e2e-guard-model-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof path, "%s/model.state", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			guard_agrees_with_the_model_on_random_decisions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
