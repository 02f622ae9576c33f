/*
 * The types of the replay guard's shared cases (tests/vectors/guard-cases.json
 * as C data: guard_cases2c.py writes guard_cases.h, which holds only data of
 * these types), and the two conversions both runners need. Included by the
 * runners against e2e_guard (test_guard_cases.c) and against the Redis
 * guard (test_redis_guard_cases.c).
 */
#ifndef TEST_GUARD_CASES_TYPES_H
#define TEST_GUARD_CASES_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "e2e.h"

enum gc_op { GC_DELIVER, GC_CHECK, GC_COUNT, GC_SAVE_LOAD, GC_LOAD };

struct gc_opts {
	uint32_t window, max_senders, max_retained_topics, max_age, max_skew,
		max_retained_age, accept_no_clock;
};

struct gc_step {
	enum gc_op op;
	uint64_t sender, seq;
	uint32_t ts;
	int is_signed, retained, delivered_retained;
	const char *topic;
	uint64_t now;
	const char *expect;  /* reason token, "ok" */
	size_t senders;      /* GC_COUNT */
	struct gc_opts opts; /* GC_SAVE_LOAD, when has_opts */
	int has_opts;
	const char *text; /* GC_LOAD: the state file */
	size_t text_len;
	size_t line; /* GC_LOAD: the line at fault */
};

struct gc_case {
	const char *name;
	struct gc_opts opts;
	const struct gc_step *steps;
	size_t nsteps;
};

/* A case's options as e2e_guard_opts. */
static inline void gc_guard_opts(const struct gc_opts *c, e2e_guard_opts *o)
{
	e2e_guard_opts_default(o);
	o->window = c->window;
	o->max_senders = c->max_senders;
	o->max_retained_topics = c->max_retained_topics;
	o->max_age = c->max_age;
	o->max_skew = c->max_skew;
	o->max_retained_age = c->max_retained_age;
	o->flags = c->accept_no_clock ? E2E_GUARD_ACCEPT_NO_CLOCK : 0;
}

/* A deliver or check step's message as e2e_open would report it; returns
 * the delivery flags. */
static inline uint32_t gc_info(const struct gc_step *s, e2e_info *i)
{
	memset(i, 0, sizeof *i);
	i->suite = E2E_SUITE_AEAD;
	i->key_id = 1;
	i->sender_id = s->sender;
	i->seq = s->seq;
	i->timestamp = s->ts;
	i->is_signed = s->is_signed;
	i->retained = s->retained;
	return s->delivered_retained ? E2E_DELIVERY_RETAINED : 0;
}

#endif
