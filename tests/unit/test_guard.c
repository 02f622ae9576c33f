/*
 * Unit tests of the replay guard (docs/ENVELOPE.md section 7) and its state
 * file (docs/REPLAY-STATE.md). Messages are hand-built e2e_info structs: the
 * guard only reads the header fields.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "e2e.h"
#include "internal.h"

#define NOW 1700000000u
#define EPOCH(e) ((uint64_t)(e) << 32)
#define LIVE 0u
#define RETAINED E2E_DELIVERY_RETAINED

static const uint64_t alice = 0xA11CE00000000001u;
static const uint64_t bob = 0xB0B0000000000002u;
static const uint64_t carol = 0xCA40100000000003u;
static const uint64_t dave = 0xDA7E000000000004u;

static char tmpdir[64];

static e2e_info msg(uint64_t sender, uint64_t seq, uint32_t ts)
{
	e2e_info i;

	memset(&i, 0, sizeof i);
	i.suite = E2E_SUITE_AEAD;
	i.key_id = 1;
	i.sender_id = sender;
	i.seq = seq;
	i.timestamp = ts;
	return i;
}

static e2e_info retained_msg(uint64_t sender, uint64_t seq, uint32_t ts)
{
	e2e_info i = msg(sender, seq, ts);

	i.retained = 1;
	return i;
}

/* What e2e_open does with the guard: check, and commit when accepted. */
static int deliver_info(e2e_guard *g, const e2e_info *i, const char *topic,
			uint32_t delivery)
{
	int rc = e2e_guard_check(g, i, topic, delivery, NOW);

	if (rc == E2E_OK)
		e2e_guard_commit(g, i, topic, delivery, NOW);
	return rc;
}

static int deliver(e2e_guard *g, uint64_t sender, uint64_t seq, uint32_t ts)
{
	e2e_info i = msg(sender, seq, ts);

	return deliver_info(g, &i, "t/live", LIVE);
}

/* Would this live message be accepted? Changes nothing. */
static int verdict(const e2e_guard *g, uint64_t sender, uint64_t seq,
		   uint32_t ts)
{
	e2e_info i = msg(sender, seq, ts);

	return e2e_guard_check(g, &i, "t/live", LIVE, NOW);
}

static e2e_guard *guard_with(uint32_t window, uint32_t max_senders,
			     uint32_t max_topics, uint32_t flags)
{
	e2e_guard_opts o;
	e2e_guard *g = NULL;

	e2e_guard_opts_default(&o);
	o.window = window;
	o.max_senders = max_senders;
	o.max_retained_topics = max_topics;
	o.flags = flags;
	assert_int_equal(e2e_guard_new(&g, &o), E2E_OK);
	return g;
}

static e2e_guard *default_guard(void)
{
	e2e_guard *g = NULL;

	assert_int_equal(e2e_guard_new(&g, NULL), E2E_OK);
	return g;
}

static void path_in_tmp(char *out, size_t cap, const char *name)
{
	assert_true(snprintf(out, cap, "%s/%s", tmpdir, name) < (int)cap);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void write_all_to(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Write body followed by its correct checksum line. */
static void write_checksummed(const char *path, const char *body)
{
	uint8_t sum[32];
	char hex[65], *buf;
	size_t n = strlen(body);

	crypto_generichash(sum, sizeof sum, (const unsigned char *)body, n,
			   NULL, 0);
	sodium_bin2hex(hex, sizeof hex, sum, sizeof sum);
	buf = malloc(n + 80);
	assert_non_null(buf);
	n = (size_t)sprintf(buf, "%schecksum %s\n", body, hex);
	write_all_to(path, buf, n);
	free(buf);
}

/* 1-based number of the line holding byte off. */
static size_t line_of(const char *buf, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off; i++)
		line += buf[i] == '\n';
	return line;
}

static int setup(void **state)
{
	(void)state;
	if (e2e_init() != E2E_OK)
		return -1;
	strcpy(tmpdir, "/tmp/e2e-guard-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- options ------------------------------------------------------------- */

static void guard_new_refuses_invalid_options(void **state)
{
	static const struct {
		uint32_t window, senders, topics;
	} bad[] = {{0, 10, 10},     {32, 10, 10}, {100, 10, 10},
		   {65600, 10, 10}, {256, 0, 10}, {256, 10, 0}};
	e2e_guard_opts o;
	e2e_guard *g;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		e2e_guard_opts_default(&o);
		o.window = bad[i].window;
		o.max_senders = bad[i].senders;
		o.max_retained_topics = bad[i].topics;
		g = NULL;
		assert_int_equal(e2e_guard_new(&g, &o), E2E_ERR_INVAL);
	}
	assert_int_equal(e2e_guard_new(NULL, NULL), E2E_ERR_INVAL);
}

static void guard_defaults_match_the_header(void **state)
{
	e2e_guard_opts o;

	(void)state;
	memset(&o, 0xff, sizeof o);
	e2e_guard_opts_default(&o);
	assert_int_equal(o.window, E2E_GUARD_DEFAULT_WINDOW);
	assert_int_equal(o.max_senders, E2E_GUARD_DEFAULT_MAX_SENDERS);
	assert_int_equal(o.max_retained_topics, E2E_GUARD_DEFAULT_MAX_RETAINED);
	assert_int_equal(o.max_age, E2E_GUARD_DEFAULT_MAX_AGE);
	assert_int_equal(o.max_skew, E2E_GUARD_DEFAULT_MAX_SKEW);
	assert_int_equal(o.flags, 0);
	assert_int_equal(o.max_retained_age,
			 E2E_GUARD_DEFAULT_MAX_RETAINED_AGE);
}

static void guard_bytes_per_sender_grows_with_the_window(void **state)
{
	e2e_guard *small = guard_with(64, 1000, 1, 0);
	e2e_guard *big = guard_with(1024, 1000, 1, 0);

	size_t grown;

	(void)state;
	/* One bit per window position in each of the table's slots (1.6 per
	 * sender, the table being at most 63 % full), the rest fixed. */
	grown = e2e_guard_bytes_per_sender(big) -
		e2e_guard_bytes_per_sender(small);
	assert_true(grown >= (1024 - 64) / 8 * 3 / 2);
	assert_true(grown <= (1024 - 64) / 8 * 2);
	assert_true(e2e_guard_bytes_per_sender(small) > 64 / 8);
	e2e_guard_free(small);
	e2e_guard_free(big);
}

/* ---- sequence window ----------------------------------------------------- */

static void guard_accepts_first_contact_within_max_age(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(e2e_guard_sender_count(g), 0);
	assert_int_equal(deliver(g, alice, 7, NOW - 300), E2E_OK);
	assert_int_equal(e2e_guard_sender_count(g), 1);
	e2e_guard_free(g);
}

static void guard_refuses_duplicate(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, 1, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, 1, NOW), E2E_ERR_REPLAY);
	/* The same sequence number from another sender is another message. */
	assert_int_equal(deliver(g, bob, 1, NOW), E2E_OK);
	e2e_guard_free(g);
}

static void guard_accepts_reorder_inside_window_once_each(void **state)
{
	e2e_guard *g = default_guard();
	uint64_t s;

	(void)state;
	assert_int_equal(deliver(g, alice, 300, NOW), E2E_OK);
	for (s = 299; s >= 300 - 255; s--)
		assert_int_equal(deliver(g, alice, s, NOW), E2E_OK);
	for (s = 300; s >= 300 - 255; s--)
		assert_int_equal(deliver(g, alice, s, NOW), E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_refuses_sequence_below_window(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, 1000, NOW), E2E_OK);
	assert_int_equal(verdict(g, alice, 1000 - 256, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, 3, NOW), E2E_ERR_REPLAY);
	/* The oldest position still inside the window. */
	assert_int_equal(deliver(g, alice, 1000 - 255, NOW), E2E_OK);
	e2e_guard_free(g);
}

static void guard_window_slides_with_the_top(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, 10, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, 100, NOW), E2E_OK);
	/* 50 was skipped: still acceptable; 10 is still remembered. */
	assert_int_equal(deliver(g, alice, 10, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, 50, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, 400, NOW), E2E_OK);
	/* 100 fell out of the window when 400 arrived. */
	assert_int_equal(verdict(g, alice, 100, NOW), E2E_ERR_REPLAY);
	assert_int_equal(deliver(g, alice, 145, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, 145, NOW), E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_accepts_new_epoch_and_resets_window(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, EPOCH(1) | 5, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, EPOCH(2) | 1, NOW), E2E_OK);
	/* The old epoch is below the new window. */
	assert_int_equal(verdict(g, alice, EPOCH(1) | 6, NOW), E2E_ERR_REPLAY);
	/* The new window starts empty below its top. */
	assert_int_equal(deliver(g, alice, EPOCH(2) | 0, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, EPOCH(2) | 1, NOW), E2E_ERR_REPLAY);
	assert_int_equal(deliver(g, alice, EPOCH(2) | 2, NOW), E2E_OK);
	e2e_guard_free(g);
}

static void guard_handles_the_largest_sequence_number(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, UINT64_MAX - 1, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, UINT64_MAX, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, UINT64_MAX, NOW), E2E_ERR_REPLAY);
	assert_int_equal(deliver(g, alice, UINT64_MAX - 1, NOW),
			 E2E_ERR_REPLAY);
	assert_int_equal(deliver(g, alice, UINT64_MAX - 2, NOW), E2E_OK);
	e2e_guard_free(g);
}

static void check_window_size(uint32_t window)
{
	e2e_guard *g = guard_with(window, 16, 16, 0);
	uint64_t top = 5 * (uint64_t)window + 17, s;

	assert_int_equal(deliver(g, alice, top, NOW), E2E_OK);
	assert_int_equal(verdict(g, alice, top - window, NOW), E2E_ERR_REPLAY);
	/* Every other position inside the window, then all of them. */
	for (s = top - window + 1; s < top; s += 2)
		assert_int_equal(deliver(g, alice, s, NOW), E2E_OK);
	for (s = top - window + 1; s < top; s++)
		assert_int_equal(deliver(g, alice, s, NOW),
				 (top - s) % 2 == (window - 1) % 2
					 ? E2E_ERR_REPLAY
					 : E2E_OK);
	for (s = top - window + 1; s <= top; s++)
		assert_int_equal(verdict(g, alice, s, NOW), E2E_ERR_REPLAY);
	/* A jump by less than the window keeps what is still inside. */
	assert_int_equal(deliver(g, alice, top + window / 2, NOW), E2E_OK);
	assert_int_equal(verdict(g, alice, top, NOW), E2E_ERR_REPLAY);
	assert_int_equal(deliver(g, alice, top + 1, NOW), E2E_OK);
	/* The oldest position of the new window was seen before the jump. */
	assert_int_equal(verdict(g, alice, top - window / 2 + 1, NOW),
			 E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_works_with_windows_of_64_and_1024(void **state)
{
	(void)state;
	check_window_size(64);
	check_window_size(192);
	check_window_size(1024);
}

/* ---- time ---------------------------------------------------------------- */

static void guard_refuses_too_old(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, 1, NOW - 301), E2E_ERR_TOO_OLD);
	assert_int_equal(deliver(g, alice, 2, NOW - 300), E2E_OK);
	/* A known sender gets no exception. */
	assert_int_equal(deliver(g, alice, 3, NOW - 301), E2E_ERR_TOO_OLD);
	e2e_guard_free(g);
}

static void guard_max_age_zero_disables_the_age_check(void **state)
{
	e2e_guard_opts o;
	e2e_guard *g;

	(void)state;
	e2e_guard_opts_default(&o);
	o.max_age = 0;
	assert_int_equal(e2e_guard_new(&g, &o), E2E_OK);
	assert_int_equal(deliver(g, alice, 1, 1), E2E_OK);
	e2e_guard_free(g);
}

static void guard_refuses_future(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, 1, NOW + 31), E2E_ERR_FUTURE);
	assert_int_equal(deliver(g, alice, 2, NOW + 30), E2E_OK);
	e2e_guard_free(g);
}

static void guard_refuses_replay_before_looking_at_time(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, 1, NOW), E2E_OK);
	assert_int_equal(verdict(g, alice, 1, NOW - 1000), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, 1, NOW + 1000), E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_refuses_clockless_first_contact(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, 1, 0), E2E_ERR_NO_TIMESTAMP);
	assert_int_equal(e2e_guard_sender_count(g), 0);
	e2e_guard_free(g);
}

static void guard_accepts_clockless_first_contact_when_asked(void **state)
{
	e2e_guard *g = guard_with(256, 16, 16, E2E_GUARD_ACCEPT_NO_CLOCK);

	(void)state;
	assert_int_equal(deliver(g, alice, 1, 0), E2E_OK);
	assert_int_equal(deliver(g, alice, 1, 0), E2E_ERR_REPLAY);
	assert_int_equal(deliver(g, alice, 2, 0), E2E_OK);
	e2e_guard_free(g);
}

static void guard_accepts_clockless_message_of_known_sender(void **state)
{
	e2e_guard *g = default_guard();

	(void)state;
	assert_int_equal(deliver(g, alice, 1, NOW), E2E_OK);
	assert_int_equal(deliver(g, alice, 2, 0), E2E_OK);
	assert_int_equal(deliver(g, alice, 2, 0), E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

/* ---- bounded senders ----------------------------------------------------- */

static void guard_evicts_least_recently_accepted_sender(void **state)
{
	e2e_guard *g = guard_with(256, 2, 16, 0);

	(void)state;
	assert_int_equal(deliver(g, alice, 1, NOW - 20), E2E_OK);
	assert_int_equal(deliver(g, bob, 1, NOW - 10), E2E_OK);
	assert_int_equal(deliver(g, alice, 2, NOW - 5), E2E_OK);
	/* bob is now the least recently accepted: carol takes his place. */
	assert_int_equal(deliver(g, carol, 1, NOW), E2E_OK);
	assert_int_equal(e2e_guard_sender_count(g), 2);
	assert_int_equal(verdict(g, alice, 2, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, carol, 1, NOW), E2E_ERR_REPLAY);
	/* bob's replay is no longer caught by a window, but by the floor
	 * (his last timestamp, NOW - 10). */
	assert_int_equal(verdict(g, bob, 1, NOW - 10), E2E_ERR_TOO_OLD);
	assert_int_equal(verdict(g, bob, 0, NOW - 11), E2E_ERR_TOO_OLD);
	/* Fresh messages are accepted, from bob and from a new sender. */
	assert_int_equal(verdict(g, bob, 2, NOW - 9), E2E_OK);
	assert_int_equal(deliver(g, dave, 1, NOW), E2E_OK);
	e2e_guard_free(g);
}

/* CLOCK, not exact LRU (docs/REPLAY-STATE.md section 1): once every sender
 * was accepted again since the hand last passed, the hand clears their
 * reference bits and evicts the first on the ring, here the first recorded
 * even though it was accepted last. Its floor still refuses its past. */
static void
guard_evicts_by_clock_when_every_sender_was_accepted_again(void **state)
{
	e2e_guard *g = guard_with(256, 2, 16, 0);

	(void)state;
	assert_int_equal(deliver(g, alice, 1, NOW - 20), E2E_OK);
	assert_int_equal(deliver(g, bob, 1, NOW - 15), E2E_OK);
	assert_int_equal(deliver(g, bob, 2, NOW - 10), E2E_OK);
	assert_int_equal(deliver(g, alice, 2, NOW - 5), E2E_OK);
	assert_int_equal(deliver(g, carol, 1, NOW), E2E_OK);
	assert_int_equal(verdict(g, bob, 2, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, carol, 1, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, 2, NOW - 5), E2E_ERR_TOO_OLD);
	assert_int_equal(verdict(g, alice, 3, NOW - 4), E2E_OK);
	e2e_guard_free(g);
}

static void
guard_default_window_costs_at_most_128_bytes_per_sender(void **state)
{
	e2e_guard *g = guard_with(256, 100000, 16, 0);

	(void)state;
	assert_true(e2e_guard_bytes_per_sender(g) <= 128);
	e2e_guard_free(g);
}

static void guard_floor_covers_evicted_sender_after_it_returns(void **state)
{
	e2e_guard *g = guard_with(256, 1, 16, 0);

	(void)state;
	assert_int_equal(deliver(g, bob, 5, NOW - 10), E2E_OK);
	assert_int_equal(deliver(g, bob, 6, NOW - 9), E2E_OK);
	assert_int_equal(deliver(g, alice, 1, NOW - 1), E2E_OK); /* evicts */
	assert_int_equal(deliver(g, bob, 10, NOW), E2E_OK);      /* returns */
	/* 6 lies inside bob's new window, unseen there, but is as old as
	 * the floor was when his new entry was made. */
	assert_int_equal(verdict(g, bob, 6, NOW - 9), E2E_ERR_TOO_OLD);
	assert_int_equal(verdict(g, bob, 5, NOW - 10), E2E_ERR_TOO_OLD);
	/* A genuinely reordered new message is fine. */
	assert_int_equal(deliver(g, bob, 9, NOW - 1), E2E_OK);
	e2e_guard_free(g);
}

static void guard_check_does_not_change_state(void **state)
{
	e2e_guard *g = guard_with(256, 2, 16, 0);
	e2e_info r = retained_msg(alice, 1, NOW);

	(void)state;
	assert_int_equal(verdict(g, alice, 1, NOW), E2E_OK);
	assert_int_equal(verdict(g, alice, 1, NOW), E2E_OK);
	assert_int_equal(e2e_guard_sender_count(g), 0);
	assert_int_equal(e2e_guard_check(g, &r, "t/r", RETAINED, NOW), E2E_OK);
	assert_int_equal(e2e_guard_check(g, &r, "t/r", RETAINED, NOW), E2E_OK);
	/* Checking alice does not make her recently accepted. */
	assert_int_equal(deliver(g, alice, 1, NOW), E2E_OK);
	assert_int_equal(deliver(g, bob, 1, NOW), E2E_OK);
	assert_int_equal(verdict(g, alice, 2, NOW), E2E_OK);
	assert_int_equal(deliver(g, carol, 1, NOW), E2E_OK);
	assert_int_equal(verdict(g, bob, 1, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, 1, NOW), E2E_ERR_TOO_OLD);
	e2e_guard_free(g);
}

static void guard_tracks_100000_senders(void **state)
{
	e2e_guard *g = guard_with(256, 100000, 16, 0);
	uint64_t id;

	(void)state;
	for (id = 1; id <= 100000; id++)
		assert_int_equal(deliver(g, id * 0x9E3779B97F4A7C15u, id, NOW),
				 E2E_OK);
	assert_int_equal(e2e_guard_sender_count(g), 100000);
	for (id = 1; id <= 100000; id++) {
		assert_int_equal(verdict(g, id * 0x9E3779B97F4A7C15u, id, NOW),
				 E2E_ERR_REPLAY);
		assert_int_equal(
			verdict(g, id * 0x9E3779B97F4A7C15u, id + 1, NOW),
			E2E_OK);
	}
	/* One more evicts the first, and only it. */
	assert_int_equal(deliver(g, 0, 1, NOW), E2E_OK);
	assert_int_equal(e2e_guard_sender_count(g), 100000);
	assert_int_equal(verdict(g, 1 * 0x9E3779B97F4A7C15u, 1, NOW),
			 E2E_ERR_TOO_OLD);
	assert_int_equal(verdict(g, 2 * 0x9E3779B97F4A7C15u, 2, NOW),
			 E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_survives_heavy_eviction_churn(void **state)
{
	e2e_guard_opts o;
	e2e_guard *g;
	uint64_t id;

	(void)state;
	e2e_guard_opts_default(&o);
	o.window = 64;
	o.max_senders = 100;
	o.max_age = 0;
	assert_int_equal(e2e_guard_new(&g, &o), E2E_OK);
	/* Many more senders than slots, each one second after the last: the
	 * table must stay consistent through every backward-shift deletion. */
	for (id = 1; id <= 20000; id++) {
		assert_int_equal(deliver(g, id, 1, NOW - 20000 + (uint32_t)id),
				 E2E_OK);
		assert_int_equal(verdict(g, id, 1, NOW), E2E_ERR_REPLAY);
	}
	assert_int_equal(e2e_guard_sender_count(g), 100);
	for (id = 20000 - 99; id <= 20000; id++)
		assert_int_equal(verdict(g, id, 1, NOW), E2E_ERR_REPLAY);
	/* The last one evicted is refused up to its last timestamp. */
	assert_int_equal(verdict(g, 20000 - 100, 2, NOW - 100),
			 E2E_ERR_TOO_OLD);
	assert_int_equal(verdict(g, 20000 - 100, 2, NOW - 99), E2E_OK);
	e2e_guard_free(g);
}

/* ---- retained messages --------------------------------------------------- */

static void guard_refuses_retained_delivery_without_intent(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info i = msg(alice, 1, NOW);

	(void)state;
	assert_int_equal(e2e_guard_check(g, &i, "t/r", RETAINED, NOW),
			 E2E_ERR_NOT_RETAINED);
	e2e_guard_free(g);
}

static void guard_accepts_retained_older_than_max_age(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info i = retained_msg(alice, 1, NOW - 86400);

	(void)state;
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_OK);
	/* Live, the same age is refused. */
	i.seq = 2;
	assert_int_equal(deliver_info(g, &i, "t/r", LIVE), E2E_ERR_TOO_OLD);
	e2e_guard_free(g);
}

static void guard_refuses_retained_from_the_future(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info i = retained_msg(alice, 1, NOW + 31);

	(void)state;
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_ERR_FUTURE);
	e2e_guard_free(g);
}

static void guard_refuses_duplicate_retained(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info i = retained_msg(alice, 1, NOW - 1000);

	(void)state;
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_OK);
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_ERR_REPLAY);
	/* Another topic has its own record. */
	i.seq = 2;
	assert_int_equal(deliver_info(g, &i, "t/other", RETAINED), E2E_OK);
	e2e_guard_free(g);
}

static void guard_refuses_retained_copy_of_live_message(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info i = retained_msg(alice, 1, NOW);

	(void)state;
	assert_int_equal(deliver_info(g, &i, "t/r", LIVE), E2E_OK);
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_refuses_retained_with_older_timestamp(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info a = retained_msg(alice, 1, NOW - 100);
	e2e_info b = retained_msg(bob, 50, NOW - 101);

	(void)state;
	assert_int_equal(deliver_info(g, &a, "t/r", RETAINED), E2E_OK);
	assert_int_equal(deliver_info(g, &b, "t/r", RETAINED),
			 E2E_ERR_STALE_RETAINED);
	b.timestamp = NOW - 99;
	assert_int_equal(deliver_info(g, &b, "t/r", RETAINED), E2E_OK);
	e2e_guard_free(g);
}

static void guard_does_not_compare_missing_timestamps(void **state)
{
	e2e_guard *g = guard_with(256, 16, 16, E2E_GUARD_ACCEPT_NO_CLOCK);
	e2e_info clocked = retained_msg(alice, 1, NOW - 100);
	e2e_info clockless = retained_msg(bob, 1, 0);

	(void)state;
	assert_int_equal(deliver_info(g, &clocked, "t/r", RETAINED), E2E_OK);
	assert_int_equal(deliver_info(g, &clockless, "t/r", RETAINED), E2E_OK);
	clocked.seq = 2;
	assert_int_equal(deliver_info(g, &clocked, "t/r", RETAINED), E2E_OK);
	e2e_guard_free(g);
}

static void guard_refuses_retained_with_lower_sequence(void **state)
{
	e2e_guard *g = guard_with(256, 16, 16, E2E_GUARD_ACCEPT_NO_CLOCK);
	e2e_info i = retained_msg(alice, EPOCH(3) | 9, 0);

	(void)state;
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_OK);
	i.seq = EPOCH(3) | 8;
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED),
			 E2E_ERR_STALE_RETAINED);
	i.seq = EPOCH(2) | 100;
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED),
			 E2E_ERR_STALE_RETAINED);
	/* Another sender's sequence numbers are not comparable. */
	i.sender_id = bob;
	i.seq = 1;
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_OK);
	e2e_guard_free(g);
}

/* Once a topic's record is evicted, the same retained envelope served again
 * must still be refused while its sequence is inside the sender's window. */
static void
guard_refuses_seen_retained_after_its_topic_was_evicted(void **state)
{
	e2e_guard *g = guard_with(256, 16, 1, 0); /* one retained topic */
	e2e_info first = retained_msg(alice, 10, NOW - 1000);
	e2e_info other = retained_msg(bob, 1, NOW - 10);

	(void)state;
	assert_int_equal(deliver_info(g, &first, "t/r1", RETAINED), E2E_OK);
	/* A second topic evicts t/r1's record. */
	assert_int_equal(deliver_info(g, &other, "t/r2", RETAINED), E2E_OK);
	assert_int_equal(deliver_info(g, &first, "t/r1", RETAINED),
			 E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_retained_delivery_ignores_sender_window(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info i = retained_msg(alice, 10, NOW - 1000);

	(void)state;
	assert_int_equal(deliver(g, alice, 5000, NOW), E2E_OK);
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_OK);
	/* The window was not moved back by it. */
	assert_int_equal(verdict(g, alice, 5000, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, 5001, NOW), E2E_OK);
	e2e_guard_free(g);
}

static void guard_retained_delivery_updates_sender_window(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info i = retained_msg(alice, 10, NOW - 1);

	(void)state;
	assert_int_equal(deliver_info(g, &i, "t/r", RETAINED), E2E_OK);
	/* The same envelope delivered live is a replay. */
	assert_int_equal(deliver_info(g, &i, "t/r", LIVE), E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_live_message_does_not_roll_back_topic(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info newer = retained_msg(alice, 2, NOW);
	e2e_info older = retained_msg(bob, 1, NOW - 5);

	(void)state;
	assert_int_equal(deliver_info(g, &newer, "t/r", LIVE), E2E_OK);
	assert_int_equal(deliver_info(g, &older, "t/r", LIVE), E2E_OK);
	older.seq = 2;
	assert_int_equal(deliver_info(g, &older, "t/r", RETAINED),
			 E2E_ERR_STALE_RETAINED);
	e2e_guard_free(g);
}

static void guard_evicts_least_recently_updated_topic(void **state)
{
	e2e_guard *g = guard_with(256, 16, 2, 0);
	e2e_info i = retained_msg(alice, 1, NOW - 100);

	(void)state;
	assert_int_equal(deliver_info(g, &i, "t/a", RETAINED), E2E_OK);
	i.seq = 2;
	assert_int_equal(deliver_info(g, &i, "t/b", RETAINED), E2E_OK);
	i.seq = 3;
	assert_int_equal(deliver_info(g, &i, "t/a", RETAINED), E2E_OK);
	i.seq = 4;
	assert_int_equal(deliver_info(g, &i, "t/c", RETAINED), E2E_OK);
	/* t/b was forgotten: there, the retained floor (its record's
	 * timestamp) refuses an older message from another sender and
	 * accepts one as new as the record was; t/a still has its record. */
	{
		e2e_info older = retained_msg(carol, 1, NOW - 200);
		e2e_info as_new = retained_msg(carol, 2, NOW - 100);

		assert_int_equal(
			e2e_guard_check(g, &older, "t/b", RETAINED, NOW),
			E2E_ERR_STALE_RETAINED);
		assert_int_equal(
			e2e_guard_check(g, &as_new, "t/b", RETAINED, NOW),
			E2E_OK);
		assert_int_equal(
			e2e_guard_check(g, &older, "t/a", RETAINED, NOW),
			E2E_ERR_STALE_RETAINED);
	}
	i.seq = 3;
	assert_int_equal(e2e_guard_check(g, &i, "t/a", RETAINED, NOW),
			 E2E_ERR_REPLAY);
	i.seq = 4;
	assert_int_equal(e2e_guard_check(g, &i, "t/c", RETAINED, NOW),
			 E2E_ERR_REPLAY);
	e2e_guard_free(g);
}

static void guard_survives_heavy_topic_churn(void **state)
{
	e2e_guard *g = guard_with(256, 16, 50, 0);
	e2e_info i = retained_msg(alice, 1, NOW - 1000);
	char topic[32];
	uint32_t n;

	(void)state;
	for (n = 1; n <= 5000; n++) {
		snprintf(topic, sizeof topic, "churn/%u", n);
		i.seq = n;
		assert_int_equal(deliver_info(g, &i, topic, RETAINED), E2E_OK);
		assert_int_equal(e2e_guard_check(g, &i, topic, RETAINED, NOW),
				 E2E_ERR_REPLAY);
	}
	for (n = 5000 - 49; n <= 5000; n++) {
		snprintf(topic, sizeof topic, "churn/%u", n);
		i.seq = n - 1;
		assert_int_equal(e2e_guard_check(g, &i, topic, RETAINED, NOW),
				 E2E_ERR_STALE_RETAINED);
	}
	e2e_guard_free(g);
}

static void guard_retained_delivery_ignores_eviction_floor(void **state)
{
	e2e_guard *g = guard_with(256, 1, 16, 0);
	e2e_info r = retained_msg(alice, 1, NOW - 20);

	(void)state;
	assert_int_equal(deliver(g, alice, 2, NOW - 10), E2E_OK);
	assert_int_equal(deliver(g, bob, 1, NOW), E2E_OK); /* floor NOW-10 */
	assert_int_equal(verdict(g, alice, 3, NOW - 20), E2E_ERR_TOO_OLD);
	/* A retained message is old by design; its topic record guards it. */
	assert_int_equal(e2e_guard_check(g, &r, "t/r", RETAINED, NOW), E2E_OK);
	e2e_guard_free(g);
}

/* ---- security round 2 (issue 11): floors, classes, marks ------------------
 */

static e2e_info signed_msg(uint64_t signer, uint64_t seq, uint32_t ts)
{
	e2e_info i = msg(signer, seq, ts);

	i.is_signed = 1;
	return i;
}

/* deliver_info() at a receiver time other than NOW. */
static int deliver_at(e2e_guard *g, const e2e_info *i, const char *topic,
		      uint32_t delivery, uint64_t now)
{
	int rc = e2e_guard_check(g, i, topic, delivery, now);

	if (rc == E2E_OK)
		e2e_guard_commit(g, i, topic, delivery, now);
	return rc;
}

/* n unsigned senders never seen before, each stamped ts: what a shared-key
 * holder can send to evict everyone. */
static void unsigned_flood(e2e_guard *g, uint32_t n, uint32_t ts)
{
	uint32_t k;

	for (k = 0; k < n; k++)
		assert_int_equal(deliver(g, 0xF100D00000000000u + k, 1, ts),
				 E2E_OK);
}

static void guard_floor_never_passes_the_receivers_clock(void **state)
{
	e2e_guard *g = guard_with(256, 8, 16, 0);
	e2e_info fresh = msg(alice, 1, NOW + 1);

	(void)state;
	/* Stamped as far ahead as max_skew allows, the flood evicts its own
	 * entries over and over; the floor stops at the receiver's clock. */
	unsigned_flood(g, 64, NOW + E2E_GUARD_DEFAULT_MAX_SKEW);
	/* One second later, a new sender whose clock is right is accepted. */
	assert_int_equal(deliver_at(g, &fresh, "t/live", LIVE, NOW + 1),
			 E2E_OK);
	e2e_guard_free(g);
}

static void guard_unsigned_flood_does_not_evict_a_signer(void **state)
{
	e2e_guard *g = guard_with(256, 8, 16, 0);
	e2e_info s1 = signed_msg(alice, 1, NOW), s2 = signed_msg(alice, 2, NOW);

	(void)state;
	assert_int_equal(deliver_info(g, &s1, "t/live", LIVE), E2E_OK);
	unsigned_flood(g, 1000, NOW + E2E_GUARD_DEFAULT_MAX_SKEW);
	/* alice's entry is still there (her window remembers 1) and her
	 * next message is accepted. */
	assert_int_equal(e2e_guard_check(g, &s1, "t/live", LIVE, NOW),
			 E2E_ERR_REPLAY);
	assert_int_equal(deliver_info(g, &s2, "t/live", LIVE), E2E_OK);
	e2e_guard_free(g);
}

static void guard_unsigned_flood_does_not_lock_out_a_new_signer(void **state)
{
	e2e_guard *g = guard_with(256, 8, 16, 0);
	e2e_info s = signed_msg(bob, EPOCH(3) | 1, NOW - 5);

	(void)state;
	unsigned_flood(g, 1000, NOW + E2E_GUARD_DEFAULT_MAX_SKEW);
	/* The signed floor is raised only by evicting signers. */
	assert_int_equal(deliver_info(g, &s, "t/live", LIVE), E2E_OK);
	e2e_guard_free(g);
}

static void guard_signers_beyond_their_share_evict_each_other(void **state)
{
	/* 4 entries: signers are guaranteed 2, unsigned senders 2. */
	e2e_guard *g = guard_with(256, 4, 16, 0);
	e2e_info a = signed_msg(alice, 1, NOW - 30),
		 b = signed_msg(bob, 1, NOW - 20),
		 c = signed_msg(carol, 1, NOW - 10);

	(void)state;
	unsigned_flood(g, 2, NOW);
	assert_int_equal(deliver_info(g, &a, "t/live", LIVE), E2E_OK);
	assert_int_equal(deliver_info(g, &b, "t/live", LIVE), E2E_OK);
	/* At their share, a third signer evicts the least recent signer,
	 * not an unsigned sender, and raises the signed floor. */
	assert_int_equal(deliver_info(g, &c, "t/live", LIVE), E2E_OK);
	assert_int_equal(verdict(g, 0xF100D00000000000u, 1, NOW),
			 E2E_ERR_REPLAY);
	a.seq = 2;
	assert_int_equal(e2e_guard_check(g, &a, "t/live", LIVE, NOW),
			 E2E_ERR_TOO_OLD);
	e2e_guard_free(g);
}

static void guard_refuses_clockless_signer_replay_after_eviction(void **state)
{
	/* 2 entries: one is the signers' share. */
	e2e_guard *g = guard_with(256, 2, 16, E2E_GUARD_ACCEPT_NO_CLOCK);
	e2e_info a = signed_msg(alice, 0, 0), b = signed_msg(bob, 1, 0),
		 c = signed_msg(carol, 1, 0);
	uint64_t n;

	(void)state;
	for (n = 1; n <= 5; n++) {
		a.seq = EPOCH(1) | n;
		assert_int_equal(deliver_info(g, &a, "t/live", LIVE), E2E_OK);
	}
	assert_int_equal(deliver_info(g, &b, "t/live", LIVE), E2E_OK);
	assert_int_equal(deliver_info(g, &c, "t/live", LIVE), E2E_OK);
	/* alice was evicted: her old messages are not a new first contact. */
	a.seq = EPOCH(1) | 3;
	assert_int_equal(e2e_guard_check(g, &a, "t/live", LIVE, NOW),
			 E2E_ERR_REPLAY);
	a.seq = EPOCH(1) | 5;
	assert_int_equal(e2e_guard_check(g, &a, "t/live", LIVE, NOW),
			 E2E_ERR_REPLAY);
	/* She resumes above her mark, and the positions up to it stay seen. */
	a.seq = EPOCH(1) | 7;
	assert_int_equal(deliver_info(g, &a, "t/live", LIVE), E2E_OK);
	a.seq = EPOCH(1) | 4;
	assert_int_equal(e2e_guard_check(g, &a, "t/live", LIVE, NOW),
			 E2E_ERR_REPLAY);
	a.seq = EPOCH(1) | 6;
	assert_int_equal(deliver_info(g, &a, "t/live", LIVE), E2E_OK);
	e2e_guard_free(g);
}

static void
guard_refuses_unmarked_clockless_signer_once_marks_are_lost(void **state)
{
	/* Marks for at most 2 signers. */
	e2e_guard *g = guard_with(256, 2, 16, E2E_GUARD_ACCEPT_NO_CLOCK);
	e2e_info s = signed_msg(0, 1, 0);
	uint64_t id;

	(void)state;
	for (id = 1; id <= 5; id++) {
		s.sender_id = id;
		assert_int_equal(deliver_info(g, &s, "t/live", LIVE), E2E_OK);
	}
	/* Signer 3 was evicted with no room left for its mark: it, and any
	 * signer without a mark, may have been forgotten. */
	s.sender_id = 3;
	assert_int_equal(e2e_guard_check(g, &s, "t/live", LIVE, NOW),
			 E2E_ERR_NO_TIMESTAMP);
	s.sender_id = 7;
	assert_int_equal(e2e_guard_check(g, &s, "t/live", LIVE, NOW),
			 E2E_ERR_NO_TIMESTAMP);
	/* Marked signers resume above their marks; clocked signers and
	 * unsigned senders are not concerned. */
	s.sender_id = 1;
	s.seq = 2;
	assert_int_equal(e2e_guard_check(g, &s, "t/live", LIVE, NOW), E2E_OK);
	s.sender_id = 7;
	s.timestamp = NOW;
	assert_int_equal(e2e_guard_check(g, &s, "t/live", LIVE, NOW), E2E_OK);
	assert_int_equal(verdict(g, 8, 1, 0), E2E_OK);
	e2e_guard_free(g);
}

/* A guard whose topic table (8 records) held alice's signed retained
 * message on a/x (sequence EPOCH(2) | 1, an hour old), then was flooded
 * with 20 retained-intent messages on b/N from bob, signed or not. */
static e2e_guard *topic_flooded_guard(int flood_signed)
{
	e2e_guard *g = guard_with(256, 16, 8, 0);
	e2e_info cur = retained_msg(alice, EPOCH(2) | 1, NOW - 3600);
	e2e_info f = retained_msg(bob, 0, NOW);
	char topic[32];
	uint32_t n;

	cur.is_signed = 1;
	f.is_signed = flood_signed;
	assert_int_equal(deliver_info(g, &cur, "a/x", RETAINED), E2E_OK);
	for (n = 1; n <= 20; n++) {
		snprintf(topic, sizeof topic, "b/%u", n);
		f.seq = n;
		assert_int_equal(deliver_info(g, &f, topic, LIVE), E2E_OK);
	}
	return g;
}

static void guard_refuses_retained_rollback_after_topic_flood(void **state)
{
	/* Another signer, allowed on b/#, fills the topic table. */
	e2e_guard *g = topic_flooded_guard(1);
	e2e_info old = retained_msg(alice, EPOCH(1) | 1, NOW - 86400);

	(void)state;
	old.is_signed = 1;
	/* a/x's record is gone; the day-old message is older than what the
	 * evictions forgot. */
	assert_int_equal(e2e_guard_check(g, &old, "a/x", RETAINED, NOW),
			 E2E_ERR_STALE_RETAINED);
	e2e_guard_free(g);
}

static void guard_unsigned_topic_flood_keeps_signed_records(void **state)
{
	e2e_guard *g = topic_flooded_guard(0);
	e2e_info old = retained_msg(alice, EPOCH(2), NOW - 3600);
	e2e_info other = retained_msg(carol, 1, NOW - 7200);

	(void)state;
	old.is_signed = other.is_signed = 1;
	/* The record of a/x survives unsigned traffic (a lower sequence of
	 * the same sender, as old, is stale only by the record)... */
	assert_int_equal(e2e_guard_check(g, &old, "a/x", RETAINED, NOW),
			 E2E_ERR_STALE_RETAINED);
	/* ...and the unsigned floor does not refuse signers' retained
	 * messages on other topics. */
	assert_int_equal(e2e_guard_check(g, &other, "c/y", RETAINED, NOW),
			 E2E_OK);
	e2e_guard_free(g);
}

static void guard_retained_record_never_passes_the_receivers_clock(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info ahead = retained_msg(bob, 1, NOW + E2E_GUARD_DEFAULT_MAX_SKEW);
	e2e_info genuine = retained_msg(alice, 1, NOW + 1);

	(void)state;
	assert_int_equal(deliver_info(g, &ahead, "t/r", LIVE), E2E_OK);
	assert_int_equal(deliver_at(g, &genuine, "t/r", RETAINED, NOW + 1),
			 E2E_OK);
	e2e_guard_free(g);
}

static void guard_max_retained_age_refuses_older_retained(void **state)
{
	e2e_guard_opts o;
	e2e_guard *g = NULL;
	e2e_info r = retained_msg(alice, 1, NOW - 3601);

	(void)state;
	e2e_guard_opts_default(&o);
	o.max_retained_age = 3600;
	o.flags = E2E_GUARD_ACCEPT_NO_CLOCK;
	assert_int_equal(e2e_guard_new(&g, &o), E2E_OK);
	assert_int_equal(e2e_guard_check(g, &r, "t/r", RETAINED, NOW),
			 E2E_ERR_TOO_OLD);
	r.timestamp = NOW - 3600;
	assert_int_equal(e2e_guard_check(g, &r, "t/r", RETAINED, NOW), E2E_OK);
	/* A clockless message has no age to judge. */
	r.timestamp = 0;
	assert_int_equal(e2e_guard_check(g, &r, "t/r", RETAINED, NOW), E2E_OK);
	/* Live deliveries answer to max_age only. */
	r.timestamp = NOW - 200;
	assert_int_equal(e2e_guard_check(g, &r, "t/r", LIVE, NOW), E2E_OK);
	e2e_guard_free(g);
}

static void guard_max_retained_age_is_off_by_default(void **state)
{
	e2e_guard *g = default_guard();
	e2e_info r = retained_msg(alice, 1, NOW - 10 * 365 * 86400u);

	(void)state;
	assert_int_equal(e2e_guard_check(g, &r, "t/r", RETAINED, NOW), E2E_OK);
	e2e_guard_free(g);
}

/* ---- save and load ------------------------------------------------------- */

/* alice's highest sequence number in populated_guard(). */
#define T 2000u

/* A guard with some of everything: a window with holes, an eviction floor,
 * retained topics. */
static e2e_guard *populated_guard(uint32_t window)
{
	e2e_guard *g = guard_with(window, 3, 8, 0);
	e2e_info r = retained_msg(carol, 7, NOW - 5000);

	assert_int_equal(deliver(g, dave, 1, NOW - 50), E2E_OK);
	assert_int_equal(deliver(g, alice, T, NOW - 3), E2E_OK);
	assert_int_equal(deliver(g, alice, T - 2, NOW - 4), E2E_OK);
	assert_int_equal(deliver(g, alice, T + 1 - window, NOW - 4), E2E_OK);
	assert_int_equal(deliver(g, bob, EPOCH(9) | 1, NOW - 2), E2E_OK);
	assert_int_equal(deliver_info(g, &r, "home/door", RETAINED), E2E_OK);
	/* carol evicted dave: floor NOW - 50 */
	return g;
}

static void assert_populated_state(const e2e_guard *g, uint32_t window)
{
	e2e_info r = retained_msg(carol, 7, NOW - 5000);

	assert_int_equal(e2e_guard_sender_count(g), 3);
	assert_int_equal(verdict(g, alice, T, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, T - 2, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, T + 1 - window, NOW),
			 E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, alice, T - 1, NOW), E2E_OK);
	assert_int_equal(verdict(g, alice, T + 2 - window, NOW), E2E_OK);
	assert_int_equal(verdict(g, alice, T + 1, NOW), E2E_OK);
	assert_int_equal(verdict(g, bob, EPOCH(9) | 1, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(g, dave, 1, NOW - 50), E2E_ERR_TOO_OLD);
	assert_int_equal(verdict(g, dave, 2, NOW - 49), E2E_OK);
	assert_int_equal(e2e_guard_check(g, &r, "home/door", RETAINED, NOW),
			 E2E_ERR_REPLAY);
	r.seq = 6;
	assert_int_equal(e2e_guard_check(g, &r, "home/door", RETAINED, NOW),
			 E2E_ERR_STALE_RETAINED);
}

static void guard_save_load_round_trip(void **state)
{
	e2e_guard *g = populated_guard(256), *h = guard_with(256, 3, 8, 0);
	char path[128];
	size_t bad = 99;
	struct stat st;

	(void)state;
	assert_populated_state(g, 256);
	path_in_tmp(path, sizeof path, "round.state");
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(e2e_guard_load(h, path, &bad), E2E_OK);
	assert_int_equal(bad, 0);
	assert_populated_state(h, 256);
	/* The order of recency came back too: the next new sender evicts
	 * the least recent, alice, and the floor rises to her timestamp. */
	assert_int_equal(deliver(h, dave, 5, NOW), E2E_OK);
	assert_int_equal(verdict(h, alice, T - 1, NOW - 3), E2E_ERR_TOO_OLD);
	assert_int_equal(verdict(h, bob, EPOCH(9) | 1, NOW), E2E_ERR_REPLAY);
	e2e_guard_free(h);
	e2e_guard_free(g);
}

static void guard_save_is_stable_through_load(void **state)
{
	e2e_guard *g = populated_guard(256), *h = guard_with(256, 3, 8, 0);
	char p1[128], p2[128], *a, *b;
	size_t la, lb;

	(void)state;
	path_in_tmp(p1, sizeof p1, "stable1.state");
	path_in_tmp(p2, sizeof p2, "stable2.state");
	assert_int_equal(e2e_guard_save(g, p1), E2E_OK);
	assert_int_equal(e2e_guard_load(h, p1, NULL), E2E_OK);
	assert_int_equal(e2e_guard_save(h, p2), E2E_OK);
	a = read_all(p1, &la);
	b = read_all(p2, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	assert_non_null(strstr(a, "\nlibe2e-replay-state 2\n"));
	free(a);
	free(b);
	e2e_guard_free(h);
	e2e_guard_free(g);
}

static void guard_check_leaves_saved_state_byte_identical(void **state)
{
	e2e_guard *g = populated_guard(256);
	e2e_info r = retained_msg(carol, 8, NOW);
	char p1[128], p2[128], *a, *b;
	size_t la, lb, i;
	uint64_t id;
	int rc[5], seen[2] = {0, 0};

	(void)state;
	path_in_tmp(p1, sizeof p1, "before.state");
	path_in_tmp(p2, sizeof p2, "after.state");
	assert_int_equal(e2e_guard_save(g, p1), E2E_OK);
	/* Accepted and refused verdicts of every kind, none committed. */
	for (id = 0; id < 50; id++) {
		r.seq = id;
		rc[0] = verdict(g, id, id, NOW);
		rc[1] = verdict(g, alice, T - id, NOW - (uint32_t)id);
		rc[2] = verdict(g, bob, EPOCH(10) + id, NOW + (uint32_t)id);
		rc[3] = e2e_guard_check(g, &r, "home/door", RETAINED, NOW);
		rc[4] = e2e_guard_check(g, &r, "home/window", RETAINED, NOW);
		for (i = 0; i < 5; i++)
			seen[rc[i] == E2E_OK] = 1;
	}
	assert_true(seen[0] && seen[1]);
	assert_int_equal(e2e_guard_save(g, p2), E2E_OK);
	a = read_all(p1, &la);
	b = read_all(p2, &lb);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);
	free(a);
	free(b);
	e2e_guard_free(g);
}

static void guard_load_across_window_sizes(void **state)
{
	e2e_guard *g = populated_guard(64), *big = guard_with(1024, 3, 8, 0);
	e2e_guard *small = guard_with(64, 3, 8, 0);
	e2e_guard *g2 = populated_guard(1024);
	char p1[128], p2[128];

	(void)state;
	path_in_tmp(p1, sizeof p1, "w64.state");
	path_in_tmp(p2, sizeof p2, "w1024.state");
	assert_int_equal(e2e_guard_save(g, p1), E2E_OK);
	assert_int_equal(e2e_guard_save(g2, p2), E2E_OK);

	/* Widened: positions below the saved window stay refused. */
	assert_int_equal(e2e_guard_load(big, p1, NULL), E2E_OK);
	assert_populated_state(big, 64);
	assert_int_equal(verdict(big, alice, T - 64, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(big, alice, T - 1023, NOW), E2E_ERR_REPLAY);

	/* Narrowed: what still fits is kept. */
	assert_int_equal(e2e_guard_load(small, p2, NULL), E2E_OK);
	assert_int_equal(verdict(small, alice, T, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(small, alice, T - 2, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(small, alice, T - 1, NOW), E2E_OK);
	assert_int_equal(verdict(small, alice, T + 1 - 1024, NOW),
			 E2E_ERR_REPLAY);
	assert_int_equal(verdict(small, alice, T - 64, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(small, alice, T - 63, NOW), E2E_OK);
	e2e_guard_free(g);
	e2e_guard_free(g2);
	e2e_guard_free(big);
	e2e_guard_free(small);
}

static void guard_load_keeps_most_recent_senders_when_full(void **state)
{
	e2e_guard *g = populated_guard(256), *h = guard_with(256, 2, 8, 0);
	char path[128];

	(void)state;
	path_in_tmp(path, sizeof path, "full.state");
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	assert_int_equal(e2e_guard_load(h, path, NULL), E2E_OK);
	assert_int_equal(e2e_guard_sender_count(h), 2);
	/* alice was least recent: dropped as an eviction would, with the
	 * floor raised to her last timestamp. */
	assert_int_equal(verdict(h, alice, T - 1, NOW - 3), E2E_ERR_TOO_OLD);
	assert_int_equal(verdict(h, alice, T + 1, NOW - 2), E2E_OK);
	assert_int_equal(verdict(h, bob, EPOCH(9) | 1, NOW), E2E_ERR_REPLAY);
	assert_int_equal(verdict(h, carol, 7, NOW), E2E_ERR_REPLAY);
	e2e_guard_free(h);
	e2e_guard_free(g);
}

/* The guard that failed to load must still be the populated one. */
static void assert_load_fails(e2e_guard *g, const char *path, int want_rc,
			      size_t want_line)
{
	size_t bad = 12345;
	int rc = e2e_guard_load(g, path, &bad);

	if (rc != want_rc || bad != want_line)
		fail_msg("load: %s line %zu, want %s line %zu",
			 e2e_err_name(rc), bad, e2e_err_name(want_rc),
			 want_line);
}

static void guard_load_refuses_every_flipped_byte(void **state)
{
	e2e_guard *g = populated_guard(64), *h = populated_guard(64);
	char path[128], bad_path[128], *buf;
	size_t len, i, line;
	int rc;

	(void)state;
	path_in_tmp(path, sizeof path, "flip.state");
	path_in_tmp(bad_path, sizeof bad_path, "flipped.state");
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	buf = read_all(path, &len);
	for (i = 0; i < len; i++) {
		buf[i] ^= 0x01;
		write_all_to(bad_path, buf, len);
		buf[i] ^= 0x01;
		line = 12345;
		rc = e2e_guard_load(h, bad_path, &line);
		if (rc != E2E_ERR_STATE_CORRUPT)
			fail_msg("byte %zu flipped: %s", i, e2e_err_name(rc));
		assert_true(line >= 1 && line <= line_of(buf, len));
	}
	assert_populated_state(h, 64);
	free(buf);
	e2e_guard_free(g);
	e2e_guard_free(h);
}

static void
guard_load_reports_checksum_line_for_well_formed_change(void **state)
{
	e2e_guard *g = populated_guard(256), *h = populated_guard(256);
	char path[128], *buf, *digit;
	size_t len;

	(void)state;
	path_in_tmp(path, sizeof path, "tamper.state");
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	buf = read_all(path, &len);
	/* Change the floor's last digit: the file stays well formed, and
	 * only the checksum (the last line) can tell. */
	digit = strchr(strstr(buf, "\nfloor ") + 1, '\n') - 1;
	*digit = *digit == '9' ? '8' : (char)(*digit + 1);
	write_all_to(path, buf, len);
	assert_load_fails(h, path, E2E_ERR_STATE_CORRUPT,
			  line_of(buf, len - 1));
	assert_populated_state(h, 256);
	free(buf);
	e2e_guard_free(g);
	e2e_guard_free(h);
}

static void guard_load_refuses_every_truncation(void **state)
{
	e2e_guard *g = populated_guard(64), *h = populated_guard(64);
	char path[128], bad_path[128], *buf;
	size_t len, cut, want;

	(void)state;
	path_in_tmp(path, sizeof path, "trunc.state");
	path_in_tmp(bad_path, sizeof bad_path, "truncated.state");
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	buf = read_all(path, &len);
	for (cut = 0; cut < len; cut++) {
		write_all_to(bad_path, buf, cut);
		/* The partial line, or the first missing one; an empty file
		 * is at fault as a whole. */
		want = cut == 0 ? 0 : line_of(buf, cut);
		assert_load_fails(h, bad_path, E2E_ERR_STATE_CORRUPT, want);
	}
	assert_populated_state(h, 64);
	free(buf);
	e2e_guard_free(g);
	e2e_guard_free(h);
}

static void guard_load_refuses_trailing_data(void **state)
{
	e2e_guard *g = populated_guard(64), *h = populated_guard(64);
	char path[128], *buf;
	size_t len;

	(void)state;
	path_in_tmp(path, sizeof path, "trailing.state");
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	buf = read_all(path, &len);
	buf = realloc(buf, len + 2);
	assert_non_null(buf);
	memcpy(buf + len, "x\n", 2);
	write_all_to(path, buf, len + 2);
	assert_load_fails(h, path, E2E_ERR_STATE_CORRUPT, line_of(buf, len));
	assert_populated_state(h, 64);
	free(buf);
	e2e_guard_free(g);
	e2e_guard_free(h);
}

static void guard_load_refuses_garbage(void **state)
{
	e2e_guard *h = populated_guard(256);
	char path[128], junk[300];
	size_t i;

	(void)state;
	path_in_tmp(path, sizeof path, "garbage.state");
	write_all_to(path, "hello world\n", 12);
	assert_load_fails(h, path, E2E_ERR_STATE_CORRUPT, 1);
	for (i = 0; i < sizeof junk; i++)
		junk[i] = (char)(i * 37 + 11);
	write_all_to(path, junk, sizeof junk);
	assert_load_fails(h, path, E2E_ERR_STATE_CORRUPT, 1);
	assert_populated_state(h, 256);
	e2e_guard_free(h);
}

static void guard_load_refuses_empty_file(void **state)
{
	e2e_guard *h = populated_guard(256);
	char path[128];

	(void)state;
	path_in_tmp(path, sizeof path, "empty.state");
	write_all_to(path, "", 0);
	assert_load_fails(h, path, E2E_ERR_STATE_CORRUPT, 0);
	assert_populated_state(h, 256);
	e2e_guard_free(h);
}

static void guard_load_of_missing_file_is_io_error(void **state)
{
	e2e_guard *h = populated_guard(256);
	char path[128];

	(void)state;
	path_in_tmp(path, sizeof path, "does-not-exist.state");
	errno = 0;
	assert_load_fails(h, path, E2E_ERR_IO, 0);
	assert_int_equal(errno, ENOENT);
	assert_populated_state(h, 256);
	e2e_guard_free(h);
}

/* Whoever may write the state file can make the receiver forget every
 * sender it has seen (issue 11, item 8.3): refused, guard unchanged. */
static void guard_load_refuses_state_others_may_write(void **state)
{
	e2e_guard *g = populated_guard(256), *h = populated_guard(256);
	e2e_guard *fresh = guard_with(256, 3, 8, 0);
	static const mode_t bad[] = {0666, 0620, 0602};
	char path[128];
	size_t i;

	(void)state;
	path_in_tmp(path, sizeof path, "writable.state");
	assert_int_equal(e2e_guard_save(fresh, path), E2E_OK);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(chmod(path, bad[i]), 0);
		assert_load_fails(h, path, E2E_ERR_WRITABLE, 0);
		assert_populated_state(h, 256);
	}
	/* Readable by others is not the danger: it loads. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(e2e_guard_load(g, path, NULL), E2E_OK);
	assert_int_equal(e2e_guard_sender_count(g), 0);
	e2e_guard_free(fresh);
	e2e_guard_free(h);
	e2e_guard_free(g);
}

static void guard_load_refuses_state_of_another_user(void **state)
{
	e2e_guard *h = populated_guard(256), *fresh = guard_with(256, 3, 8, 0);
	char path[128];

	(void)state;
	if (geteuid() != 0) /* only root can give a file away */
		skip();
	path_in_tmp(path, sizeof path, "foreign.state");
	assert_int_equal(e2e_guard_save(fresh, path), E2E_OK);
	assert_int_equal(chown(path, 54321, 54321), 0);
	assert_load_fails(h, path, E2E_ERR_WRITABLE, 0);
	assert_populated_state(h, 256);
	e2e_guard_free(fresh);
	e2e_guard_free(h);
}

#define HEAD "# state\nlibe2e-replay-state 1\nwindow 64\nfloor 5\n"
#define S_A \
	"s a11ce00000000001 0000000000000064 1700000000 0 8000000000000001\n"
#define S_B \
	"s b0b0000000000002 0000000000000001 1700000000 0 0000000000000001\n"
#define T_X                                                    \
	"t 000102030405060708090a0b0c0d0e0f a11ce00000000001 " \
	"0000000000000064 1700000000\n"

static void guard_save_load_keeps_classes_marks_and_floors(void **state)
{
	/* 2 entries: one is the signers' share. */
	e2e_guard *g = guard_with(256, 2, 4, E2E_GUARD_ACCEPT_NO_CLOCK);
	e2e_guard *h = guard_with(256, 2, 4, E2E_GUARD_ACCEPT_NO_CLOCK);
	e2e_info a = signed_msg(alice, EPOCH(1) | 9, 0);
	e2e_info b = signed_msg(bob, 1, NOW), c = signed_msg(carol, 1, NOW);
	e2e_info d = signed_msg(dave, 1, NOW),
		 r = retained_msg(bob, 2, NOW - 60);
	e2e_info old = retained_msg(bob, 0, NOW - 120);
	e2e_info f = retained_msg(0xF100D00000000000u, 1, NOW);
	char path[128], topic[32];
	uint32_t n;

	(void)state;
	r.is_signed = old.is_signed = 1;
	assert_int_equal(deliver_info(g, &a, "t/live", LIVE), E2E_OK);
	assert_int_equal(deliver_info(g, &b, "t/live", LIVE), E2E_OK);
	assert_int_equal(deliver_info(g, &r, "t/r", RETAINED), E2E_OK);
	assert_int_equal(deliver_info(g, &c, "t/live", LIVE), E2E_OK);
	assert_int_equal(deliver_info(g, &d, "t/live", LIVE), E2E_OK);
	/* alice (clockless) was evicted by the signers: her mark is kept. */
	path_in_tmp(path, sizeof path, "classes.state");
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	assert_int_equal(e2e_guard_load(h, path, NULL), E2E_OK);
	a.seq = EPOCH(1) | 8;
	assert_int_equal(e2e_guard_check(h, &a, "t/live", LIVE, NOW),
			 E2E_ERR_REPLAY);
	/* Loaded signers are still signers: unsigned traffic cannot evict
	 * them, nor the signed record of t/r. */
	for (n = 1; n <= 20; n++) {
		snprintf(topic, sizeof topic, "u/%u", n);
		f.sender_id++;
		f.timestamp = NOW + n; /* each one newer than the floor */
		assert_int_equal(deliver_info(h, &f, topic, LIVE), E2E_OK);
	}
	d.seq = 1;
	assert_int_equal(e2e_guard_check(h, &d, "t/live", LIVE, NOW),
			 E2E_ERR_REPLAY);
	assert_int_equal(e2e_guard_check(h, &old, "t/r", RETAINED, NOW),
			 E2E_ERR_STALE_RETAINED);
	e2e_guard_free(h);
	e2e_guard_free(g);
}

static void guard_loads_version_1_state_files(void **state)
{
	e2e_guard *g = guard_with(64, 4, 4, 0);
	e2e_info s = signed_msg(carol, 1, 1699999000);
	char path[128];

	(void)state;
	path_in_tmp(path, sizeof path, "v1.state");
	write_checksummed(path,
			  "# state\nlibe2e-replay-state 1\nwindow 64\n"
			  "floor 1699999000\nsenders 1\n" S_A "topics 1\n" T_X);
	assert_int_equal(e2e_guard_load(g, path, NULL), E2E_OK);
	assert_int_equal(verdict(g, alice, 0x64, NOW), E2E_ERR_REPLAY);
	/* Version 1 had one floor for all senders: it covers signers too. */
	assert_int_equal(e2e_guard_check(g, &s, "t/live", LIVE, 1699999100),
			 E2E_ERR_TOO_OLD);
	s.timestamp = 1699999001;
	assert_int_equal(e2e_guard_check(g, &s, "t/live", LIVE, 1699999100),
			 E2E_OK);
	e2e_guard_free(g);
}

static void guard_load_points_at_the_bad_line(void **state)
{
	static const struct {
		const char *body;
		size_t line;
	} cases[] = {
		{HEAD "senders 1\n" S_A "topics 1\n" T_X, 0},
		{"# state\nlibe2e-replay-state 3\n", 2},
		{"state\nlibe2e-replay-state 1\n", 1},
		{"# state\nlibe2e-replay-state 1\nwindow 100\n", 3},
		{"# state\nlibe2e-replay-state 1\nwindow 064\n", 3},
		{"# state\nlibe2e-replay-state 1\nwindow 64\nfloor -1\n", 4},
		{"# state\nlibe2e-replay-state 1\nwindow 64\nfloor "
		 "4294967296\n",
		 4},
		{HEAD "senders 2\n" S_A S_A "topics 0\n", 7},
		{HEAD "senders 2\n" S_A "topics 0\n", 7},
		{HEAD "senders 1\n" S_A S_B "topics 0\n", 7},
		{HEAD "senders 1\n" S_B "topics 0\n", 6},
		{HEAD
		 "senders 1\n"
		 "s A11CE00000000001 0000000000000064 1 0 8000000000000001\n"
		 "topics 0\n",
		 6},
		{HEAD "senders 1\n"
		      "s a11ce00000000001 0000000000000064 1 0 80000000000001\n"
		      "topics 0\n",
		 6},
		{HEAD
		 "senders 1\n"
		 "s a11ce00000000001  0000000000000064 1 0 8000000000000001\n"
		 "topics 0\n",
		 6},
		{HEAD "senders 0\ntopics 2\n" T_X T_X, 8},
		{HEAD "senders 0\ntopics 1\n"
		      "t 000102030405060708090a0b0c0d0e a11ce00000000001 "
		      "0000000000000064 1700000000\n",
		 7},
		{HEAD "senders 0\ntopics 0\n\n", 7},
		{HEAD "senders 0\r\ntopics 0\n", 5},
	};
	e2e_guard *h = populated_guard(256);
	char path[128];
	size_t i;

	(void)state;
	path_in_tmp(path, sizeof path, "lines.state");
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		write_checksummed(path, cases[i].body);
		if (cases[i].line == 0) {
			e2e_guard *fresh = guard_with(256, 4, 4, 0);

			assert_int_equal(e2e_guard_load(fresh, path, NULL),
					 E2E_OK);
			assert_int_equal(e2e_guard_sender_count(fresh), 1);
			e2e_guard_free(fresh);
			continue;
		}
		assert_load_fails(h, path, E2E_ERR_STATE_CORRUPT,
				  cases[i].line);
	}
	assert_populated_state(h, 256);
	e2e_guard_free(h);
}

/* marks-lost is a flag: 0 or 1 (REPLAY-STATE.md). A digit above the bound
 * once slipped through the decimal parser's overflow check. */
static void guard_load_refuses_marks_lost_above_one(void **state)
{
	static const char *const values[] = {"2", "9", "10", "4294967297"};
	e2e_guard *h = populated_guard(256);
	e2e_guard *g = guard_with(64, 4, 4, 0);
	char path[128], *saved, *body, *at, *sum;
	size_t n, i, line;

	(void)state;
	path_in_tmp(path, sizeof path, "marks-lost.state");
	assert_int_equal(e2e_guard_save(g, path), E2E_OK);
	saved = read_all(path, &n);
	at = strstr(saved, "\nmarks-lost 0\n");
	sum = strstr(saved, "checksum ");
	assert_non_null(at);
	assert_non_null(sum);
	line = line_of(saved, (size_t)(at - saved) + 1);
	body = malloc(n + 32);
	assert_non_null(body);
	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		sprintf(body, "%.*s\nmarks-lost %s\n%.*s", (int)(at - saved),
			saved, values[i], (int)(sum - (at + 14)), at + 14);
		write_checksummed(path, body);
		assert_load_fails(h, path, E2E_ERR_STATE_CORRUPT, line);
	}
	sprintf(body, "%.*s\nmarks-lost 1\n%.*s", (int)(at - saved), saved,
		(int)(sum - (at + 14)), at + 14);
	write_checksummed(path, body);
	assert_int_equal(e2e_guard_load(g, path, NULL), E2E_OK);
	assert_populated_state(h, 256);
	free(body);
	free(saved);
	e2e_guard_free(g);
	e2e_guard_free(h);
}

static void guard_load_refuses_wrong_checksum(void **state)
{
	e2e_guard *h = populated_guard(256);
	char path[128];
	const char *body =
		HEAD "senders 0\ntopics 0\n"
		     "checksum 0000000000000000000000000000000000000000"
		     "000000000000000000000000\n";

	(void)state;
	path_in_tmp(path, sizeof path, "sum.state");
	write_all_to(path, body, strlen(body));
	assert_load_fails(h, path, E2E_ERR_STATE_CORRUPT, 7);
	assert_populated_state(h, 256);
	e2e_guard_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guard_new_refuses_invalid_options),
		cmocka_unit_test(guard_defaults_match_the_header),
		cmocka_unit_test(guard_bytes_per_sender_grows_with_the_window),
		cmocka_unit_test(guard_accepts_first_contact_within_max_age),
		cmocka_unit_test(guard_refuses_duplicate),
		cmocka_unit_test(guard_accepts_reorder_inside_window_once_each),
		cmocka_unit_test(guard_refuses_sequence_below_window),
		cmocka_unit_test(guard_window_slides_with_the_top),
		cmocka_unit_test(guard_accepts_new_epoch_and_resets_window),
		cmocka_unit_test(guard_handles_the_largest_sequence_number),
		cmocka_unit_test(guard_works_with_windows_of_64_and_1024),
		cmocka_unit_test(guard_refuses_too_old),
		cmocka_unit_test(guard_max_age_zero_disables_the_age_check),
		cmocka_unit_test(guard_refuses_future),
		cmocka_unit_test(guard_refuses_replay_before_looking_at_time),
		cmocka_unit_test(guard_refuses_clockless_first_contact),
		cmocka_unit_test(
			guard_accepts_clockless_first_contact_when_asked),
		cmocka_unit_test(
			guard_accepts_clockless_message_of_known_sender),
		cmocka_unit_test(guard_evicts_least_recently_accepted_sender),
		cmocka_unit_test(
			guard_evicts_by_clock_when_every_sender_was_accepted_again),
		cmocka_unit_test(
			guard_default_window_costs_at_most_128_bytes_per_sender),
		cmocka_unit_test(
			guard_floor_covers_evicted_sender_after_it_returns),
		cmocka_unit_test(guard_check_does_not_change_state),
		cmocka_unit_test(guard_tracks_100000_senders),
		cmocka_unit_test(guard_survives_heavy_eviction_churn),
		cmocka_unit_test(
			guard_refuses_retained_delivery_without_intent),
		cmocka_unit_test(guard_accepts_retained_older_than_max_age),
		cmocka_unit_test(guard_refuses_retained_from_the_future),
		cmocka_unit_test(guard_refuses_duplicate_retained),
		cmocka_unit_test(guard_refuses_retained_copy_of_live_message),
		cmocka_unit_test(guard_refuses_retained_with_older_timestamp),
		cmocka_unit_test(guard_does_not_compare_missing_timestamps),
		cmocka_unit_test(guard_refuses_retained_with_lower_sequence),
		cmocka_unit_test(
			guard_refuses_seen_retained_after_its_topic_was_evicted),
		cmocka_unit_test(guard_retained_delivery_ignores_sender_window),
		cmocka_unit_test(guard_retained_delivery_updates_sender_window),
		cmocka_unit_test(guard_live_message_does_not_roll_back_topic),
		cmocka_unit_test(guard_evicts_least_recently_updated_topic),
		cmocka_unit_test(guard_survives_heavy_topic_churn),
		cmocka_unit_test(
			guard_retained_delivery_ignores_eviction_floor),
		cmocka_unit_test(guard_floor_never_passes_the_receivers_clock),
		cmocka_unit_test(guard_unsigned_flood_does_not_evict_a_signer),
		cmocka_unit_test(
			guard_unsigned_flood_does_not_lock_out_a_new_signer),
		cmocka_unit_test(
			guard_signers_beyond_their_share_evict_each_other),
		cmocka_unit_test(
			guard_refuses_clockless_signer_replay_after_eviction),
		cmocka_unit_test(
			guard_refuses_unmarked_clockless_signer_once_marks_are_lost),
		cmocka_unit_test(
			guard_refuses_retained_rollback_after_topic_flood),
		cmocka_unit_test(
			guard_unsigned_topic_flood_keeps_signed_records),
		cmocka_unit_test(
			guard_retained_record_never_passes_the_receivers_clock),
		cmocka_unit_test(guard_max_retained_age_refuses_older_retained),
		cmocka_unit_test(guard_max_retained_age_is_off_by_default),
		cmocka_unit_test(guard_save_load_round_trip),
		cmocka_unit_test(guard_save_is_stable_through_load),
		cmocka_unit_test(guard_check_leaves_saved_state_byte_identical),
		cmocka_unit_test(guard_load_across_window_sizes),
		cmocka_unit_test(
			guard_load_keeps_most_recent_senders_when_full),
		cmocka_unit_test(guard_load_refuses_every_flipped_byte),
		cmocka_unit_test(
			guard_load_reports_checksum_line_for_well_formed_change),
		cmocka_unit_test(guard_load_refuses_every_truncation),
		cmocka_unit_test(guard_load_refuses_trailing_data),
		cmocka_unit_test(guard_load_refuses_garbage),
		cmocka_unit_test(guard_load_refuses_empty_file),
		cmocka_unit_test(guard_load_of_missing_file_is_io_error),
		cmocka_unit_test(guard_load_refuses_state_others_may_write),
		cmocka_unit_test(guard_load_refuses_state_of_another_user),
		cmocka_unit_test(guard_load_points_at_the_bad_line),
		cmocka_unit_test(
			guard_save_load_keeps_classes_marks_and_floors),
		cmocka_unit_test(guard_loads_version_1_state_files),
		cmocka_unit_test(guard_load_refuses_wrong_checksum),
		cmocka_unit_test(guard_load_refuses_marks_lost_above_one),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
