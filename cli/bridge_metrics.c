/* e2e-bridge's counters (bridge_metrics.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge_metrics.h"
#include "internal.h" /* e2e__atomic_write: the library's atomic writer */

/* One reason's count. */
struct reason_count {
	const char *reason;
	long n;
};

struct reasons {
	struct reason_count *v;
	int count;
};

struct rule_counters {
	char *name; /* "in FILTER", "out FILTER", "none" */
	long delivered, duplicates;
	struct reasons refused, failed;
};

struct bridge_metrics {
	struct rule_counters *rules;
	int rule_count;
	atomic_long dropped[SIDE_COUNT][DROP_COUNT];
	long reconnects[SIDE_COUNT];
	int connected[SIDE_COUNT];
	long depth, capacity;
	int has_state; /* state redis://...: the three below are written */
	int state_reachable;
	long state_held, state_outages;
};

static const char *const drop_words[DROP_COUNT] = {
	[DROP_QUEUE_FULL] = "queue-full",
	[DROP_TOO_LARGE] = "too-large",
	[DROP_NOMEM] = "out-of-memory",
	[DROP_JOURNAL_FULL] = "journal-full",
	[DROP_JOURNAL_FAILED] = "journal-failed"};
static const char *const side_words[SIDE_COUNT] = {
	[SIDE_REMOTE] = "remote", [SIDE_LOCAL] = "local"};

const char *bridge_drop_reason(enum bridge_drop why)
{
	return drop_words[why];
}

const char *bridge_side_name(enum bridge_side_id side)
{
	return side_words[side];
}

struct bridge_metrics *bridge_metrics_new(void)
{
	struct bridge_metrics *m = calloc(1, sizeof *m);

	if (m)
		for (int s = 0; s < SIDE_COUNT; s++)
			for (int d = 0; d < DROP_COUNT; d++)
				atomic_init(&m->dropped[s][d], 0);
	return m;
}

void bridge_metrics_free(struct bridge_metrics *m)
{
	if (!m)
		return;
	for (int i = 0; i < m->rule_count; i++) {
		free(m->rules[i].name);
		free(m->rules[i].refused.v);
		free(m->rules[i].failed.v);
	}
	free(m->rules);
	free(m);
}

int bridge_metrics_rule(struct bridge_metrics *m, enum bridge_dir dir,
			const char *filter)
{
	const char *d = dir == BRIDGE_IN ? "in " : "out ";
	struct rule_counters *nr;
	size_t len = filter ? strlen(d) + strlen(filter) + 1 : 5;
	char *name = malloc(len);

	if (!name)
		return -1;
	if (filter)
		snprintf(name, len, "%s%s", d, filter);
	else
		memcpy(name, "none", 5);
	for (int i = 0; i < m->rule_count; i++)
		if (strcmp(m->rules[i].name, name) == 0) {
			free(name);
			return i;
		}
	nr = realloc(m->rules, ((size_t)m->rule_count + 1) * sizeof *nr);
	if (!nr) {
		free(name);
		return -1;
	}
	m->rules = nr;
	memset(&nr[m->rule_count], 0, sizeof *nr);
	nr[m->rule_count].name = name;
	return m->rule_count++;
}

static void add_reason(struct reasons *r, const char *reason)
{
	struct reason_count *nv;

	for (int i = 0; i < r->count; i++)
		if (strcmp(r->v[i].reason, reason) == 0) {
			r->v[i].n++;
			return;
		}
	nv = realloc(r->v, ((size_t)r->count + 1) * sizeof *nv);
	if (!nv)
		return; /* out of memory: this one is not counted */
	r->v = nv;
	nv[r->count].reason = reason;
	nv[r->count++].n = 1;
}

void bridge_metrics_delivered(struct bridge_metrics *m, int rule)
{
	if (rule >= 0)
		m->rules[rule].delivered++;
}

void bridge_metrics_duplicate(struct bridge_metrics *m, int rule)
{
	if (rule >= 0)
		m->rules[rule].duplicates++;
}

void bridge_metrics_refused(struct bridge_metrics *m, int rule,
			    const char *reason)
{
	if (rule >= 0)
		add_reason(&m->rules[rule].refused, reason);
}

void bridge_metrics_failed(struct bridge_metrics *m, int rule,
			   const char *reason)
{
	if (rule >= 0)
		add_reason(&m->rules[rule].failed, reason);
}

void bridge_metrics_dropped(struct bridge_metrics *m, enum bridge_side_id side,
			    enum bridge_drop why)
{
	atomic_fetch_add(&m->dropped[side][why], 1);
}

void bridge_metrics_side(struct bridge_metrics *m, enum bridge_side_id side,
			 long reconnects, int connected)
{
	m->reconnects[side] = reconnects;
	m->connected[side] = connected;
}

void bridge_metrics_queue(struct bridge_metrics *m, long depth, long capacity)
{
	m->depth = depth;
	m->capacity = capacity;
}

void bridge_metrics_state(struct bridge_metrics *m, int reachable, long held,
			  long outages)
{
	m->has_state = 1;
	m->state_reachable = reachable;
	m->state_held = held;
	m->state_outages = outages;
}

/* ------------------------------------------------------------------------ */
/* Prometheus text exposition format                                        */
/* ------------------------------------------------------------------------ */

/* A label value: '\\', '"' and newline escaped, as the format wants. */
static void label(FILE *f, const char *v)
{
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP e2e_bridge_%s %s\n# TYPE e2e_bridge_%s %s\n", name,
		help, name, type);
}

static void per_rule(FILE *f, const struct bridge_metrics *m, const char *name,
		     size_t off)
{
	for (int i = 0; i < m->rule_count; i++) {
		const struct rule_counters *r = &m->rules[i];

		if (strcmp(r->name, "none") == 0)
			continue; /* only through refused and failed */
		fprintf(f, "e2e_bridge_%s{rule=", name);
		label(f, r->name);
		fprintf(f, "} %ld\n",
			*(const long *)(const void *)((const char *)r + off));
	}
}

static void per_reason(FILE *f, const struct bridge_metrics *m,
		       const char *name, int refused)
{
	for (int i = 0; i < m->rule_count; i++) {
		const struct reasons *rs =
			refused ? &m->rules[i].refused : &m->rules[i].failed;

		for (int j = 0; j < rs->count; j++) {
			fprintf(f, "e2e_bridge_%s{rule=", name);
			label(f, m->rules[i].name);
			fputs(",reason=", f);
			label(f, rs->v[j].reason);
			fprintf(f, "} %ld\n", rs->v[j].n);
		}
	}
}

static void prometheus(FILE *f, struct bridge_metrics *m)
{
	head(f, "delivered_total", "counter",
	     "Messages bridged: in, opened and published clear on local; out, "
	     "sealed and published on remote.");
	per_rule(f, m, "delivered_total",
		 offsetof(struct rule_counters, delivered));
	head(f, "refused_total", "counter",
	     "Messages from remote the receiver refused, by reason "
	     "(e2e_reason).");
	per_reason(f, m, "refused_total", 1);
	head(f, "duplicates_total", "counter",
	     "QoS 1/2 redeliveries of messages already bridged, dropped.");
	per_rule(f, m, "duplicates_total",
		 offsetof(struct rule_counters, duplicates));
	head(f, "failed_total", "counter",
	     "Messages accepted but not bridged, by reason.");
	per_reason(f, m, "failed_total", 0);
	head(f, "dropped_total", "counter",
	     "Messages dropped on arrival, before the queue, by side and "
	     "reason.");
	for (int s = 0; s < SIDE_COUNT; s++)
		for (int d = 0; d < DROP_COUNT; d++)
			fprintf(f,
				"e2e_bridge_dropped_total{side=\"%s\","
				"reason=\"%s\"} %ld\n",
				side_words[s], drop_words[d],
				atomic_load(&m->dropped[s][d]));
	head(f, "reconnects_total", "counter",
	     "Automatic reconnections after a lost connection, by side.");
	for (int s = 0; s < SIDE_COUNT; s++)
		fprintf(f, "e2e_bridge_reconnects_total{side=\"%s\"} %ld\n",
			side_words[s], m->reconnects[s]);
	head(f, "connected", "gauge",
	     "1 while the connection to the side's broker is up.");
	for (int s = 0; s < SIDE_COUNT; s++)
		fprintf(f, "e2e_bridge_connected{side=\"%s\"} %d\n",
			side_words[s], m->connected[s]);
	head(f, "queue_depth", "gauge",
	     "Messages waiting between the two sides.");
	fprintf(f, "e2e_bridge_queue_depth %ld\n", m->depth);
	head(f, "queue_capacity", "gauge",
	     "Most messages that may wait (the queue directive).");
	fprintf(f, "e2e_bridge_queue_capacity %ld\n", m->capacity);
	if (!m->has_state)
		return;
	head(f, "state_reachable", "gauge",
	     "1 while the shared replay state (state redis://) answered its "
	     "last call, 0 after one it did not answer.");
	fprintf(f, "e2e_bridge_state_reachable %d\n", m->state_reachable);
	head(f, "state_held", "gauge",
	     "Messages from remote waiting for the shared state's verdict: "
	     "held while it does not answer, and the batch being asked.");
	fprintf(f, "e2e_bridge_state_held %ld\n", m->state_held);
	head(f, "state_outages_total", "counter",
	     "Times the shared replay state stopped answering.");
	fprintf(f, "e2e_bridge_state_outages_total %ld\n", m->state_outages);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

static void jstr(FILE *f, const char *v)
{
	fputc('"', f);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;

		if (c == '\\' || c == '"')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void jreasons(FILE *f, const struct reasons *rs)
{
	fputc('{', f);
	for (int j = 0; j < rs->count; j++) {
		if (j)
			fputc(',', f);
		jstr(f, rs->v[j].reason);
		fprintf(f, ":%ld", rs->v[j].n);
	}
	fputc('}', f);
}

static void json(FILE *f, struct bridge_metrics *m)
{
	fprintf(f, "{\"time\":%lld,\"rules\":[", (long long)time(NULL));
	for (int i = 0; i < m->rule_count; i++) {
		const struct rule_counters *r = &m->rules[i];

		fputs(i ? ",{\"rule\":" : "{\"rule\":", f);
		jstr(f, r->name);
		fprintf(f, ",\"delivered\":%ld,\"duplicates\":%ld,\"refused\":",
			r->delivered, r->duplicates);
		jreasons(f, &r->refused);
		fputs(",\"failed\":", f);
		jreasons(f, &r->failed);
		fputc('}', f);
	}
	fputs("],\"sides\":{", f);
	for (int s = 0; s < SIDE_COUNT; s++) {
		fprintf(f,
			"%s\"%s\":{\"connected\":%d,\"reconnects\":%ld,"
			"\"dropped\":{",
			s ? "," : "", side_words[s], m->connected[s],
			m->reconnects[s]);
		for (int d = 0; d < DROP_COUNT; d++)
			fprintf(f, "%s\"%s\":%ld", d ? "," : "", drop_words[d],
				atomic_load(&m->dropped[s][d]));
		fputs("}}", f);
	}
	fprintf(f, "},\"queue\":{\"depth\":%ld,\"capacity\":%ld}", m->depth,
		m->capacity);
	if (m->has_state)
		fprintf(f,
			",\"state\":{\"reachable\":%d,\"held\":%ld,"
			"\"outages\":%ld}",
			m->state_reachable, m->state_held, m->state_outages);
	fputc('}', f);
}

static int render(struct bridge_metrics *m,
		  void (*fn)(FILE *, struct bridge_metrics *), char **out,
		  size_t *len)
{
	FILE *f = open_memstream(out, len);

	if (!f)
		return -1;
	fn(f, m);
	if (fclose(f) != 0) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int bridge_metrics_prometheus(struct bridge_metrics *m, char **out, size_t *len)
{
	return render(m, prometheus, out, len);
}

int bridge_metrics_json(struct bridge_metrics *m, char **out, size_t *len)
{
	return render(m, json, out, len);
}

int bridge_metrics_write(struct bridge_metrics *m, const char *path)
{
	char *text;
	size_t len;
	int rc;

	if (bridge_metrics_prometheus(m, &text, &len)) {
		errno = ENOMEM;
		return -1;
	}
	rc = e2e__atomic_write(path, text, len, 0644);
	free(text);
	return rc == 0 ? 0 : -1;
}
