/*
 * Library benchmark: libe2e seal and open next to the raw libsodium
 * primitives on the same payloads, in the same run; and the replay guard.
 *
 *     bench_lib [--runs N] [--min-ms MS] [--csv FILE] [--quick]
 *               [--only envelope|guarded|guard] [--size BYTES] [--mode M]
 *               [--iters N] [--cpu-clock] [--senders 1|1000|100000]
 *               [--order random|fill] [--count N]
 *
 * --size and --mode (repeatable) restrict the envelope table; --iters fixes
 * the iterations per run (no calibration: for valgrind --tool=callgrind,
 * where instructions per operation are the inclusive cost of our_seal,
 * raw_seal, our_open, raw_open divided by runs * iters); --cpu-clock times
 * with CLOCK_THREAD_CPUTIME_ID instead of CLOCK_MONOTONIC (less noise on a
 * loaded machine: time spent descheduled is not counted).
 *
 * For each mode and payload size, "ours" is e2e_seal() with a sender and a
 * keyring, and e2e_open() with a keyring and trust set (no replay guard: the
 * guard is measured on its own below, and by the "open+guard" row). "raw" is
 * what the mode costs at the least:
 *   aead  crypto_aead_xchacha20poly1305_ietf_encrypt/decrypt, with associated
 *         data as long as ours (header, salt, topic length, topic);
 *   mac   crypto_auth_hmacsha256 / _verify over associated data || payload;
 *   +sig  adds crypto_sign_detached / crypto_sign_verify_detached over the
 *         whole raw envelope (ours signs a BLAKE2b-512 digest of it instead);
 *   sig   (signature only) crypto_sign_detached / _verify_detached alone.
 * Each figure is the median over --runs runs of at least --min-ms each, ours
 * and raw alternating run by run so that clock and frequency drift hit both.
 * The replay guard is timed per check, and per check+commit, with 1, 1 000
 * and 100 000 tracked senders, each accepted once (the fill) and then
 * offered in turn, its sequence number one above its last: in a random
 * order unrelated to the fill ("random", the default case of a busy
 * receiver) and in the fill order ("fill": the order main's guard laid its
 * entries out in memory, which flattered it). --order keeps one of them.
 * --count N (with --only guard) times nothing: it fills the guard and runs
 * N check+commit in guard_counted(), for
 *     valgrind --tool=callgrind --cache-sim=yes --toggle-collect=guard_counted
 * (instructions and L1 misses per check+commit: the totals divided by N).
 *
 * Output: an aligned table on stdout and, with --csv, one CSV line per
 * figure (see tests/bench/plot-lib.sh).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "e2e.h"

#define TOPIC "sensors/building-7/floor-3/temperature"
#define NOW 1750000000u
#define MAX_RUNS 31

static int runs = 7;
static double min_ms = 20.0;
static long fixed_iters;
static clockid_t clock_id = CLOCK_MONOTONIC;
static FILE *csv;

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_lib: %s: %s (%s)\n", what, e2e_strerror(rc),
		e2e_err_name(rc));
	exit(1);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(clock_id, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* An operation to time: called iters times per run. */
typedef void (*op_fn)(void *ctx);

static double time_once(op_fn fn, void *ctx, long iters)
{
	double t0 = now_ns();

	for (long i = 0; i < iters; i++)
		fn(ctx);
	return (now_ns() - t0) / (double)iters;
}

/* Iterations so that one run lasts at least min_ms. */
static long calibrate(op_fn fn, void *ctx)
{
	long iters = 1;
	double per;

	fn(ctx); /* warm caches and lazy initialisation */
	if (fixed_iters > 0)
		return fixed_iters;
	for (;;) {
		double t0 = now_ns();

		for (long i = 0; i < iters; i++)
			fn(ctx);
		per = now_ns() - t0;
		if (per >= 2e6 || iters >= (1L << 30))
			break;
		iters *= 4;
	}
	per /= (double)iters;
	iters = (long)(min_ms * 1e6 / per) + 1;
	return iters;
}

/* Median ns/op of a and b, timed in alternating runs. */
static void time_pair(op_fn a, void *actx, op_fn b, void *bctx, double *ma,
		      double *mb)
{
	double va[MAX_RUNS], vb[MAX_RUNS];
	long ia = calibrate(a, actx), ib = calibrate(b, bctx);

	for (int r = 0; r < runs; r++) {
		va[r] = time_once(a, actx, ia);
		vb[r] = time_once(b, bctx, ib);
	}
	*ma = median(va, runs);
	*mb = median(vb, runs);
}

/* ------------------------------------------------------------------------ */
/* Envelopes                                                                */
/* ------------------------------------------------------------------------ */

enum mode { M_AEAD, M_MAC, M_AEAD_SIG, M_MAC_SIG, M_SIG, M_COUNT };
static const char *const mode_names[M_COUNT] = {"aead", "mac", "aead+sig",
						"mac+sig", "sig"};

struct world {
	e2e_keyring *kr_aead, *kr_mac;
	e2e_signer *signer;
	e2e_trust *trust;
	uint8_t key[E2E_KEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

struct ctx {
	const struct world *w;
	enum mode mode;
	size_t n;
	/* ours */
	e2e_sender *sender;
	const e2e_keyring *kr;
	e2e_receiver rcv;
	uint8_t *msg, *env, *out;
	size_t env_len, env_cap;
	/* raw: one contiguous buffer ad || body || tag || sig */
	uint8_t *raw;
	size_t ad_len, raw_len;
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
};

static int mode_signed(enum mode m)
{
	return m == M_AEAD_SIG || m == M_MAC_SIG || m == M_SIG;
}

static e2e_suite mode_suite(enum mode m)
{
	if (m == M_AEAD || m == M_AEAD_SIG)
		return E2E_SUITE_AEAD;
	if (m == M_MAC || m == M_MAC_SIG)
		return E2E_SUITE_MAC;
	return E2E_SUITE_NONE;
}

static void our_seal(void *p)
{
	struct ctx *c = p;
	int rc = e2e_seal(c->sender, c->kr, TOPIC, c->msg, c->n, 0, c->env,
			  c->env_cap, &c->env_len);

	if (rc != E2E_OK)
		die("e2e_seal", rc);
}

static void our_open(void *p)
{
	struct ctx *c = p;
	size_t out_len;
	int rc = e2e_open(&c->rcv, TOPIC, c->env, c->env_len, 0, c->out, c->n,
			  &out_len, NULL);

	if (rc != E2E_OK)
		die("e2e_open", rc);
}

static void raw_seal(void *p)
{
	struct ctx *c = p;
	uint8_t *body = c->raw + c->ad_len;
	unsigned long long clen;

	switch (mode_suite(c->mode)) {
	case E2E_SUITE_AEAD:
		c->nonce[0]++;
		crypto_aead_xchacha20poly1305_ietf_encrypt(
			body, &clen, c->msg, c->n, c->raw, c->ad_len, NULL,
			c->nonce, c->w->key);
		break;
	case E2E_SUITE_MAC:
		memcpy(body, c->msg, c->n);
		crypto_auth_hmacsha256(body + c->n, c->raw, c->ad_len + c->n,
				       c->w->key);
		break;
	default:
		memcpy(body, c->msg, c->n);
		break;
	}
	if (mode_signed(c->mode))
		crypto_sign_detached(c->raw + c->raw_len - crypto_sign_BYTES,
				     NULL, c->raw,
				     c->raw_len - crypto_sign_BYTES, c->w->sk);
}

static void raw_open(void *p)
{
	struct ctx *c = p;
	uint8_t *body = c->raw + c->ad_len;
	size_t sig_len = mode_signed(c->mode) ? crypto_sign_BYTES : 0;
	int bad = 0;

	if (sig_len)
		bad |= crypto_sign_verify_detached(
			c->raw + c->raw_len - sig_len, c->raw,
			c->raw_len - sig_len, c->w->pk);
	switch (mode_suite(c->mode)) {
	case E2E_SUITE_AEAD:
		bad |= crypto_aead_xchacha20poly1305_ietf_decrypt(
			c->out, NULL, NULL, body, c->n + 16, c->raw, c->ad_len,
			c->nonce, c->w->key);
		break;
	case E2E_SUITE_MAC:
		bad |= crypto_auth_hmacsha256_verify(
			body + c->n, c->raw, c->ad_len + c->n, c->w->key);
		memcpy(c->out, body, c->n);
		break;
	default:
		memcpy(c->out, body, c->n);
		break;
	}
	if (bad)
		die("raw open", E2E_ERR_BAD_TAG);
}

static void ctx_init(struct ctx *c, const struct world *w, enum mode m,
		     size_t n)
{
	e2e_sender_opts so;
	size_t header, tag;
	int rc;

	memset(c, 0, sizeof *c);
	c->w = w;
	c->mode = m;
	c->n = n;
	memset(&so, 0, sizeof so);
	so.signer = mode_signed(m) ? w->signer : NULL;
	so.epoch = 1;
	if ((rc = e2e_sender_new(&c->sender, &so)) != E2E_OK)
		die("e2e_sender_new", rc);
	c->kr = mode_suite(m) == E2E_SUITE_AEAD  ? w->kr_aead
		: mode_suite(m) == E2E_SUITE_MAC ? w->kr_mac
						 : NULL;
	c->rcv.keyring = c->kr;
	c->rcv.trust = w->trust;
	c->rcv.now = NOW;
	c->env_cap = E2E_SEALED_MAX(n);
	c->msg = malloc(n ? n : 1);
	c->out = malloc(n ? n : 1);
	c->env = malloc(c->env_cap);
	randombytes_buf(c->msg, n);

	header = E2E_HEADER_BYTES +
		 (mode_suite(m) == E2E_SUITE_AEAD ? E2E_SALT_BYTES : 0);
	tag = mode_suite(m) == E2E_SUITE_AEAD  ? 16
	      : mode_suite(m) == E2E_SUITE_MAC ? crypto_auth_hmacsha256_BYTES
					       : 0;
	c->ad_len = header + 2 + strlen(TOPIC);
	c->raw_len =
		c->ad_len + n + tag + (mode_signed(m) ? crypto_sign_BYTES : 0);
	c->raw = malloc(c->raw_len);
	randombytes_buf(c->raw, c->ad_len);
	randombytes_buf(c->nonce, sizeof c->nonce);
	if (c->msg == NULL || c->out == NULL || c->env == NULL ||
	    c->raw == NULL)
		die("malloc", E2E_ERR_NOMEM);

	/* Both sides must work before they are timed. */
	our_seal(c);
	our_open(c);
	if (memcmp(c->out, c->msg, n) != 0 ||
	    c->env_len != e2e_sealed_len(mode_suite(m), mode_signed(m), n))
		die("round trip", E2E_ERR_INVAL);
	raw_seal(c);
	raw_open(c);
	if (memcmp(c->out, c->msg, n) != 0)
		die("raw round trip", E2E_ERR_INVAL);
}

static void ctx_free(struct ctx *c)
{
	e2e_sender_free(c->sender);
	free(c->msg);
	free(c->out);
	free(c->env);
	free(c->raw);
}

static void world_init(struct world *w)
{
	e2e_key_info ki;
	uint8_t seed[E2E_SIGN_SEEDBYTES];
	int rc;

	randombytes_buf(w->key, sizeof w->key);
	randombytes_buf(seed, sizeof seed);
	crypto_sign_seed_keypair(w->pk, w->sk, seed);
	memset(&ki, 0, sizeof ki);
	ki.state = E2E_KEY_PRIMARY;
	ki.created = NOW;
	if ((rc = e2e_keyring_new(&w->kr_aead)) != E2E_OK ||
	    (rc = e2e_keyring_new(&w->kr_mac)) != E2E_OK)
		die("e2e_keyring_new", rc);
	ki.id = 0x1234;
	ki.suite = E2E_SUITE_AEAD;
	if ((rc = e2e_keyring_add(w->kr_aead, &ki, w->key)) != E2E_OK)
		die("e2e_keyring_add", rc);
	ki.id = 0x5678;
	ki.suite = E2E_SUITE_MAC;
	if ((rc = e2e_keyring_add(w->kr_mac, &ki, w->key)) != E2E_OK)
		die("e2e_keyring_add", rc);
	if ((rc = e2e_signer_from_seed(&w->signer, seed)) != E2E_OK)
		die("e2e_signer_from_seed", rc);
	if ((rc = e2e_trust_new(&w->trust)) != E2E_OK ||
	    (rc = e2e_trust_add(w->trust, w->pk, "sensors/#")) != E2E_OK)
		die("e2e_trust", rc);
	sodium_memzero(seed, sizeof seed);
}

static void world_free(struct world *w)
{
	e2e_keyring_free(w->kr_aead);
	e2e_keyring_free(w->kr_mac);
	e2e_signer_free(w->signer);
	e2e_trust_free(w->trust);
	sodium_memzero(w, sizeof *w);
}

static double mbps(size_t n, double ns)
{
	return ns > 0 ? (double)n * 1e3 / ns : 0; /* bytes/ns * 1e3 = MB/s */
}

static void emit(const char *mode, const char *op, size_t n, double ours,
		 double raw)
{
	printf("%-9s %-9s %8zu %12.0f %12.0f %9.1f %9.1f %7.3f\n", mode, op, n,
	       ours, raw, mbps(n, ours), mbps(n, raw), ours / raw);
	if (csv != NULL)
		fprintf(csv, "lib,%s,%s,%zu,%.1f,%.1f,%.2f,%.2f,%.4f\n", mode,
			op, n, ours, raw, mbps(n, ours), mbps(n, raw),
			ours / raw);
}

static void bench_envelopes(const struct world *w, const size_t *sizes,
			    int nsizes, unsigned modes)
{
	printf("%-9s %-9s %8s %12s %12s %9s %9s %7s\n", "mode", "op", "bytes",
	       "ours ns/op", "raw ns/op", "ours MB/s", "raw MB/s", "ratio");
	for (int m = 0; m < M_COUNT; m++) {
		if (!(modes & (1u << m)))
			continue;
		for (int i = 0; i < nsizes; i++) {
			struct ctx c;
			double os, rs, oo, ro;

			ctx_init(&c, w, (enum mode)m, sizes[i]);
			time_pair(our_seal, &c, raw_seal, &c, &os, &rs);
			/* Open what was sealed last (both sides). */
			time_pair(our_open, &c, raw_open, &c, &oo, &ro);
			emit(mode_names[m], "seal", sizes[i], os, rs);
			emit(mode_names[m], "open", sizes[i], oo, ro);
			emit(mode_names[m], "seal+open", sizes[i], os + oo,
			     rs + ro);
			fflush(stdout);
			ctx_free(&c);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Opening through a replay guard: fresh envelopes, each opened once        */
/* ------------------------------------------------------------------------ */

#define GUARDED_BATCH 4096

struct guarded {
	struct ctx c;
	uint8_t *envs;
	size_t stride, next;
	e2e_guard *guard;
};

static void guarded_open(void *p)
{
	struct guarded *g = p;
	size_t out_len;
	int rc;

	if (g->next == GUARDED_BATCH) {
		/* A new guard for each pass over the batch; its cost is
		 * spread over GUARDED_BATCH opens and stays negligible. */
		e2e_guard_opts o;

		e2e_guard_opts_default(&o);
		o.max_senders = 16;
		e2e_guard_free(g->guard);
		if ((rc = e2e_guard_new(&g->guard, &o)) != E2E_OK)
			die("e2e_guard_new", rc);
		g->c.rcv.guard = g->guard;
		g->next = 0;
	}
	rc = e2e_open(&g->c.rcv, TOPIC, g->envs + g->next * g->stride,
		      g->c.env_len, 0, g->c.out, g->c.n, &out_len, NULL);
	if (rc != E2E_OK)
		die("e2e_open (guarded)", rc);
	g->next++;
}

static void bench_guarded_open(const struct world *w, size_t n)
{
	struct guarded g;
	double ours, raw;
	uint32_t now;

	memset(&g, 0, sizeof g);
	ctx_init(&g.c, w, M_AEAD, n);
	g.stride = g.c.env_cap;
	free(g.c.env); /* sealed into the batch instead */
	g.envs = malloc(GUARDED_BATCH * g.stride);
	if (g.envs == NULL)
		die("malloc", E2E_ERR_NOMEM);
	for (size_t i = 0; i < GUARDED_BATCH; i++) {
		g.c.env = g.envs + i * g.stride;
		our_seal(&g.c);
	}
	g.c.env = NULL;
	/* The guard checks timestamps against the receiver's clock. */
	now = (uint32_t)time(NULL);
	g.c.rcv.now = now;
	g.next = GUARDED_BATCH;
	time_pair(guarded_open, &g, raw_open, &g.c, &ours, &raw);
	emit("aead", "open+guard", n, ours, raw);
	e2e_guard_free(g.guard);
	free(g.envs);
	free(g.c.msg);
	free(g.c.out);
	free(g.c.raw);
	e2e_sender_free(g.c.sender);
}

/* ------------------------------------------------------------------------ */
/* Replay guard                                                             */
/* ------------------------------------------------------------------------ */

struct guard_ctx {
	e2e_guard *g;
	uint64_t *ids; /* in the order offered: the fill's, then shuffled */
	uint32_t n, next;
	uint64_t round;
	e2e_info info;
	int commit;
};

/* The orders senders are offered in once the guard holds them all. */
enum { ORDER_RANDOM, ORDER_FILL, ORDER_COUNT };
static const char *const order_names[ORDER_COUNT] = {"random", "fill"};

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15u);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

static void guard_op(void *p)
{
	struct guard_ctx *c = p;
	int rc;

	if (c->next == c->n) {
		c->next = 0;
		c->round++;
	}
	c->info.sender_id = c->ids[c->next++];
	c->info.seq = ((uint64_t)1 << 32) | c->round;
	rc = e2e_guard_check(c->g, &c->info, TOPIC, 0, NOW);
	if (c->commit) {
		if (rc != E2E_OK)
			die("e2e_guard_check", rc);
		e2e_guard_commit(c->g, &c->info, TOPIC, 0, NOW);
	} else if (rc != E2E_OK && rc != E2E_ERR_REPLAY) {
		die("e2e_guard_check", rc);
	}
}

/* The counted run: iters check+commit, nothing else, for
 * valgrind --tool=callgrind --toggle-collect=guard_counted. */
__attribute__((noinline)) static void guard_counted(struct guard_ctx *c,
						    long iters)
{
	c->commit = 1;
	for (long i = 0; i < iters; i++)
		guard_op(c);
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* A guard holding n senders (each accepted once, in ids order), to be
 * offered in order `order` from then on. */
static void guard_setup(struct guard_ctx *c, uint32_t n, int order, long *rss)
{
	uint64_t seed = 42;
	e2e_guard_opts o;
	long rss0;
	int rc;

	memset(c, 0, sizeof *c);
	c->n = n;
	c->ids = malloc(n * sizeof *c->ids);
	if (c->ids == NULL)
		die("malloc", E2E_ERR_NOMEM);
	for (uint32_t i = 0; i < n; i++)
		c->ids[i] = splitmix64(&seed);
	e2e_guard_opts_default(&o);
	o.max_senders = n;
	rss0 = rss_kib();
	if ((rc = e2e_guard_new(&c->g, &o)) != E2E_OK)
		die("e2e_guard_new", rc);
	c->info.suite = E2E_SUITE_AEAD;
	c->info.key_id = 0x1234;
	c->info.timestamp = NOW;
	/* Round 0 fills the table. */
	c->commit = 1;
	for (uint32_t i = 0; i < n; i++)
		guard_op(c);
	*rss = rss_kib() - rss0;
	if (e2e_guard_sender_count(c->g) != n)
		die("sender count", E2E_ERR_INVAL);
	/* Random: a permutation unrelated to the fill (Fisher-Yates), read
	 * in sequence like the fill order so that only the guard's own
	 * memory accesses differ. */
	for (uint32_t i = n; order == ORDER_RANDOM && i > 1; i--) {
		uint32_t j = (uint32_t)(splitmix64(&seed) % i);
		uint64_t t = c->ids[i - 1];

		c->ids[i - 1] = c->ids[j];
		c->ids[j] = t;
	}
}

static void guard_teardown(struct guard_ctx *c)
{
	e2e_guard_free(c->g);
	free(c->ids);
}

static void bench_guard(uint32_t only_n, int only_order, long count)
{
	static const uint32_t counts[] = {1, 1000, 100000};

	if (count == 0)
		printf("\n%-9s %-7s %9s %14s %14s %10s %12s\n", "guard",
		       "order", "senders", "check ns", "check+commit",
		       "B/sender", "RSS +KiB");
	for (int order = 0; order < ORDER_COUNT; order++)
		for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
			struct guard_ctx c;
			double chk[MAX_RUNS], both[MAX_RUNS], mc, mb;
			long iters, rss;

			if ((only_n != 0 && counts[k] != only_n) ||
			    (only_order >= 0 && order != only_order))
				continue;
			guard_setup(&c, counts[k], order, &rss);
			if (count > 0) {
				guard_counted(&c, count);
				printf("guard %s %u: %ld check+commit "
				       "counted\n",
				       order_names[order], c.n, count);
				guard_teardown(&c);
				continue;
			}
			c.commit = 1;
			iters = calibrate(guard_op, &c);
			for (int r = 0; r < runs; r++) {
				/* check alone: messages that are never
				 * committed (the next ones of each sender),
				 * so they stay acceptable and the check takes
				 * its full path. */
				c.commit = 0;
				chk[r] = time_once(guard_op, &c, iters);
				c.commit = 1;
				both[r] = time_once(guard_op, &c, iters);
			}
			mc = median(chk, runs);
			mb = median(both, runs);
			printf("%-9s %-7s %9u %14.1f %14.1f %10zu %12ld\n",
			       "guard", order_names[order], c.n, mc, mb,
			       e2e_guard_bytes_per_sender(c.g), rss);
			if (csv != NULL)
				fprintf(csv,
					"guard,%s,check,%u,%.1f,,,,\n"
					"guard,%s,check+commit,%u,%.1f,,,,\n"
					"guard,%s,bytes_per_sender,%u,%zu,,,,"
					"\n",
					order_names[order], c.n, mc,
					order_names[order], c.n, mb,
					order_names[order], c.n,
					e2e_guard_bytes_per_sender(c.g));
			guard_teardown(&c);
		}
}

static void usage(void);

static unsigned mode_bit(const char *name)
{
	for (int m = 0; m < M_COUNT; m++)
		if (strcmp(name, mode_names[m]) == 0)
			return 1u << m;
	usage();
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_lib [--runs N] [--min-ms MS] "
			"[--csv FILE] [--quick]\n"
			"                 [--only envelope|guarded|guard] "
			"[--size BYTES] [--mode M]\n"
			"                 [--iters N] [--cpu-clock] "
			"[--senders 1|1000|100000]\n"
			"                 [--order random|fill] "
			"[--count N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = {16,    64,        256,        1024,
				       16384, 64 * 1024, 1024 * 1024};
	const char *csv_path = NULL, *only = NULL;
	size_t picked[16];
	int npicked = 0;
	unsigned modes = 0;
	uint32_t only_senders = 0;
	int only_order = -1;
	long count = 0;
	struct world w;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--min-ms") == 0 && i + 1 < argc)
			min_ms = atof(argv[++i]);
		else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc)
			csv_path = argv[++i];
		else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc &&
			 npicked < 16)
			picked[npicked++] = (size_t)atol(argv[++i]);
		else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc)
			modes |= mode_bit(argv[++i]);
		else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc)
			fixed_iters = atol(argv[++i]);
		else if (strcmp(argv[i], "--senders") == 0 && i + 1 < argc)
			only_senders = (uint32_t)atol(argv[++i]);
		else if (strcmp(argv[i], "--order") == 0 && i + 1 < argc)
			only_order = strcmp(argv[++i], "fill") == 0 ? ORDER_FILL
				     : strcmp(argv[i], "random") == 0
					     ? ORDER_RANDOM
					     : -2;
		else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
			count = atol(argv[++i]);
		else if (strcmp(argv[i], "--cpu-clock") == 0)
			clock_id = CLOCK_THREAD_CPUTIME_ID;
		else if (strcmp(argv[i], "--quick") == 0)
			runs = 3, min_ms = 2;
		else
			usage();
	}
	if (runs < 1 || runs > MAX_RUNS || min_ms <= 0 || only_order == -2 ||
	    count < 0 || (count > 0 && (only == NULL || strcmp(only, "guard"))))
		usage();
	if ((rc = e2e_init()) != E2E_OK)
		die("e2e_init", rc);
	if (csv_path != NULL) {
		csv = fopen(csv_path, "w");
		if (csv == NULL) {
			perror(csv_path);
			return 1;
		}
		fprintf(csv, "kind,mode,op,bytes,ours_ns,raw_ns,ours_mbps,"
			     "raw_mbps,ratio\n");
	}
	printf("bench_lib: libsodium %s; %d runs of >= %.0f ms each, median; "
	       "%s clock\n\n",
	       sodium_version_string(), runs, min_ms,
	       clock_id == CLOCK_MONOTONIC ? "monotonic" : "thread CPU time");
	world_init(&w);
	if (only == NULL || strcmp(only, "envelope") == 0)
		bench_envelopes(&w, npicked ? picked : sizes,
				npicked ? npicked
					: (int)(sizeof sizes / sizeof sizes[0]),
				modes ? modes : ~0u);
	if (only == NULL || strcmp(only, "guarded") == 0)
		bench_guarded_open(&w, 64);
	if (only == NULL || strcmp(only, "guard") == 0)
		bench_guard(only_senders, only_order, count);
	world_free(&w);
	if (csv != NULL && fclose(csv) != 0) {
		perror(csv_path);
		return 1;
	}
	return 0;
}
