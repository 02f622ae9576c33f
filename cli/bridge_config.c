/* e2e-bridge's configuration file (bridge_config.h, docs/BRIDGE.md). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bridge_config.h"
#include "bridge_shared.h"
#include "e2e.h"
#include "passphrase.h"
#include "report.h"
#include "shared_state.h"

#define LINE_MAX_LEN 4096
#define TOPIC_MAX 65535

enum kind { K_STR, K_INT, K_BOOL, K_TLS, K_MQTT };
enum scope { S_SIDE, S_GLOBAL };

struct directive {
	const char *name;
	enum scope scope;
	enum kind kind;
	size_t off; /* in struct bridge_side or struct bridge_config */
	long min, max;
};

#define SIDE(n, k, f, lo, hi)                                         \
	{                                                             \
		n, S_SIDE, k, offsetof(struct bridge_side, f), lo, hi \
	}
#define GLOBAL(n, k, f, lo, hi)                                           \
	{                                                                 \
		n, S_GLOBAL, k, offsetof(struct bridge_config, f), lo, hi \
	}

/* Every directive but the sections and the rules; names as mosquitto's
 * where it has one. */
static const struct directive directives[] = {
	SIDE("host", K_STR, conn.host, 0, 0),
	SIDE("port", K_INT, conn.port, 1, 65535),
	SIDE("id", K_STR, conn.id, 0, 0),
	SIDE("username", K_STR, conn.username, 0, 0),
	SIDE("password_file", K_STR, password_file, 0, 0),
	SIDE("keepalive", K_INT, conn.keepalive, 5, 65535),
	SIDE("clean_session", K_BOOL, conn.clean_session, 0, 1),
	SIDE("protocol_version", K_MQTT, conn.mqtt_version, 0, 0),
	SIDE("cafile", K_STR, conn.cafile, 0, 0),
	SIDE("capath", K_STR, conn.capath, 0, 0),
	SIDE("certfile", K_STR, conn.certfile, 0, 0),
	SIDE("keyfile", K_STR, conn.keyfile, 0, 0),
	SIDE("insecure", K_BOOL, conn.insecure, 0, 1),
	SIDE("tls_version", K_TLS, conn.tls_version, 0, 0),
	GLOBAL("keyring", K_STR, keyring, 0, 0),
	GLOBAL("trust", K_STR, trust, 0, 0),
	GLOBAL("signer", K_STR, signer, 0, 0),
	GLOBAL("signer_pass_file", K_STR, signer_pass_file, 0, 0),
	GLOBAL("state", K_STR, state, 0, 0),
	GLOBAL("out_state", K_STR, out_state, 0, 0),
	GLOBAL("state_password_file", K_STR, state_password_file, 0, 0),
	GLOBAL("state_cacert", K_STR, state_cacert, 0, 0),
	GLOBAL("state_cacertdir", K_STR, state_cacertdir, 0, 0),
	GLOBAL("state_cert", K_STR, state_cert, 0, 0),
	GLOBAL("state_key", K_STR, state_key, 0, 0),
	GLOBAL("state_sni", K_STR, state_sni, 0, 0),
	GLOBAL("group", K_STR, group, 0, 0),
	GLOBAL("require_signature", K_BOOL, require_signature, 0, 1),
	GLOBAL("require_encryption", K_BOOL, require_encryption, 0, 1),
	GLOBAL("max_age", K_INT, max_age, 1, UINT32_MAX),
	GLOBAL("max_skew", K_INT, max_skew, 0, UINT32_MAX),
	GLOBAL("window", K_INT, window, 64, 65536),
	GLOBAL("max_retained_age", K_INT, max_retained_age, 0, UINT32_MAX),
	GLOBAL("queue", K_INT, queue, 1, 1000000),
	GLOBAL("max_payload", K_INT, max_payload, 1, E2E_PAYLOAD_MAX),
	GLOBAL("journal", K_STR, journal, 0, 0),
	GLOBAL("journal_sync", K_BOOL, journal_sync, 0, 1),
	GLOBAL("journal_max", K_INT, journal_max, 1, 10000000),
	GLOBAL("metrics_topic", K_STR, metrics_topic, 0, 0),
	GLOBAL("metrics_interval", K_INT, metrics_interval, 1, 86400),
};
#define N_DIRECTIVES (sizeof directives / sizeof directives[0])

/* The parser's position. */
struct parser {
	struct bridge_config *cfg;
	struct bridge_side *side; /* the open section, NULL before any */
	size_t line;
	/* Where each directive was given, per section and globally. */
	size_t seen[3][N_DIRECTIVES];
	int errors;
};

/* An error at the parser's line: -1. */
__attribute__((format(printf, 2, 3))) static int perr(struct parser *p,
						      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cli_file_msg(NULL, p->cfg->path, p->line, "%s", msg);
	p->errors++;
	return -1;
}
#define ERR perr

static const char *const tls_names[] = {[CLI_TLS_1_0] = "tlsv1",
					[CLI_TLS_1_1] = "tlsv1.1",
					[CLI_TLS_1_2] = "tlsv1.2"};

static int set_string(struct parser *p, char **at, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return ERR(p, "out of memory");
	free(*at);
	*at = s;
	return 0;
}

static int parse_long(struct parser *p, const struct directive *d,
		      const char *v, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < d->min || n > d->max)
		return ERR(p, "%s: '%s' is not a number from %ld to %ld",
			   d->name, v, d->min, d->max);
	*out = n;
	return 0;
}

static int set_value(struct parser *p, const struct directive *d, void *base,
		     const char *v)
{
	char *at = (char *)base + d->off;
	long n = 0;

	switch (d->kind) {
	case K_STR:
		return set_string(p, (char **)(void *)at, v);
	case K_INT:
		if (parse_long(p, d, v, &n))
			return -1;
		if (d->scope == S_SIDE)
			*(int *)(void *)at = (int)n;
		else
			*(long *)(void *)at = n;
		return 0;
	case K_BOOL:
		if (strcmp(v, "true") && strcmp(v, "false"))
			return ERR(p, "%s: '%s' is neither true nor false",
				   d->name, v);
		*(int *)(void *)at = strcmp(v, "true") == 0;
		return 0;
	case K_TLS:
		for (int i = CLI_TLS_1_0; i <= CLI_TLS_1_2; i++)
			if (strcmp(v, tls_names[i]) == 0) {
				*(int *)(void *)at = i;
				return 0;
			}
		return ERR(p,
			   "tls_version: '%s' is not tlsv1, tlsv1.1 or "
			   "tlsv1.2",
			   v);
	case K_MQTT:
		if (strcmp(v, "mqttv31") == 0)
			*(int *)(void *)at = CLI_MQTT_V31;
		else if (strcmp(v, "mqttv311") == 0)
			*(int *)(void *)at = CLI_MQTT_V311;
		else if (strcmp(v, "mqttv5") == 0)
			*(int *)(void *)at = CLI_MQTT_V5;
		else
			return ERR(p,
				   "protocol_version: '%s' is not "
				   "mqttv31, mqttv311 or mqttv5",
				   v);
		return 0;
	}
	return -1;
}

/* Split s in place into at most max words; "" is an empty word. */
static int split_words(char *s, char **w, int max)
{
	int n = 0;

	for (;;) {
		s += strspn(s, " \t");
		if (!*s)
			return n;
		if (n == max)
			return max + 1;
		w[n++] = s;
		s += strcspn(s, " \t");
		if (*s)
			*s++ = '\0';
		if (strcmp(w[n - 1], "\"\"") == 0)
			w[n - 1][0] = '\0';
	}
}

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/* "in|out FILTER [QOS [LOCAL_PREFIX REMOTE_PREFIX]]". */
static int parse_rule(struct parser *p, enum bridge_dir dir, char *args)
{
	struct bridge_config *cfg = p->cfg;
	const char *name = dir == BRIDGE_IN ? "in" : "out";
	char *w[4];
	int n = split_words(args, w, 4);
	struct bridge_rule *r, *nr;

	if (n < 1 || n == 3 || n > 4)
		return ERR(p,
			   "%s: expected '%s FILTER [QOS [LOCAL_PREFIX "
			   "REMOTE_PREFIX]]'",
			   name, name);
	if (e2e_filter_check(w[0]) != E2E_OK ||
	    strncmp(w[0], "$share/", 7) == 0)
		return ERR(p, "%s: '%s' is not a topic filter", name, w[0]);
	if (n > 1 && (strlen(w[1]) != 1 || w[1][0] < '0' || w[1][0] > '2'))
		return ERR(p, "%s: QoS '%s' is not 0, 1 or 2", name, w[1]);
	for (int i = 2; i < n; i++)
		if (strpbrk(w[i], "+#"))
			return ERR(p, "%s: prefix '%s' holds a wildcard", name,
				   w[i]);
	nr = realloc(cfg->rules, (size_t)(cfg->rule_count + 1) * sizeof *nr);
	if (!nr)
		return ERR(p, "out of memory");
	cfg->rules = nr;
	r = &cfg->rules[cfg->rule_count++];
	memset(r, 0, sizeof *r);
	r->dir = dir;
	r->line = p->line;
	r->qos = n > 1 ? w[1][0] - '0' : 0;
	r->local_prefix = strdup(n > 2 ? w[2] : "");
	r->remote_prefix = strdup(n > 2 ? w[3] : "");
	if (r->local_prefix && r->remote_prefix) {
		r->local_filter = concat(r->local_prefix, w[0]);
		r->remote_filter = concat(r->remote_prefix, w[0]);
	}
	if (!r->local_filter || !r->remote_filter)
		return ERR(p, "out of memory");
	if (dir == BRIDGE_IN)
		cfg->in_count++;
	else
		cfg->out_count++;
	return 0;
}

static const struct directive *find_directive(const char *name)
{
	for (size_t i = 0; i < N_DIRECTIVES; i++)
		if (strcmp(directives[i].name, name) == 0)
			return &directives[i];
	return NULL;
}

static int open_section(struct parser *p, struct bridge_side *side,
			const char *name, const char *rest)
{
	if (*rest)
		return ERR(p, "%s: takes no value", name);
	if (side->line)
		return ERR(p, "%s: section given twice (first at line %zu)",
			   name, side->line);
	side->line = p->line;
	p->side = side;
	return 0;
}

static int parse_line(struct parser *p, char *s)
{
	struct bridge_config *cfg = p->cfg;
	const struct directive *d;
	char *name, *rest;
	size_t *seen;
	int which;

	s += strspn(s, " \t");
	for (size_t n = strlen(s); n && strchr(" \t\r\n", s[n - 1]); n--)
		s[n - 1] = '\0';
	if (!*s || *s == '#')
		return 0;
	name = s;
	rest = s + strcspn(s, " \t");
	if (*rest)
		*rest++ = '\0';
	rest += strspn(rest, " \t");
	if (strcmp(name, "remote") == 0)
		return open_section(p, &cfg->remote, name, rest);
	if (strcmp(name, "local") == 0)
		return open_section(p, &cfg->local, name, rest);
	/* Anything but a connection directive ends the section. */
	if (!(d = find_directive(name)) || d->scope != S_SIDE)
		p->side = NULL;
	if (strcmp(name, "in") == 0)
		return parse_rule(p, BRIDGE_IN, rest);
	if (strcmp(name, "out") == 0)
		return parse_rule(p, BRIDGE_OUT, rest);
	if (!d)
		return ERR(p, "unknown directive '%s'", name);
	if (d->scope == S_SIDE && !p->side)
		return ERR(p, "%s: belongs in a 'remote' or 'local' section",
			   name);
	if (!*rest)
		return ERR(p, "%s: needs a value", name);
	which = d->scope == S_GLOBAL ? 2 : p->side == &cfg->local;
	seen = &p->seen[which][d - directives];
	if (*seen)
		return ERR(p, "%s: given twice (first at line %zu)", name,
			   *seen);
	*seen = p->line;
	return set_value(
		p, d, d->scope == S_SIDE ? (void *)p->side : (void *)cfg, rest);
}

/* ------------------------------------------------------------------------ */
/* Checks once the file is read                                             */
/* ------------------------------------------------------------------------ */

int bridge_filters_overlap(const char *a, const char *b)
{
	for (;;) {
		size_t la = strcspn(a, "/"), lb = strcspn(b, "/");

		if ((la == 1 && *a == '#') || (lb == 1 && *b == '#'))
			return 1;
		if (!((la == 1 && *a == '+') || (lb == 1 && *b == '+') ||
		      (la == lb && memcmp(a, b, la) == 0)))
			return 0;
		a += la;
		b += lb;
		if (!*a || !*b) {
			/* "x/#" also matches "x": one may end where the
			 * other goes on with "/#" alone. */
			return (!*a && !*b) || strcmp(*a ? a : b, "/#") == 0;
		}
		a++;
		b++;
	}
}

char *bridge_map_topic(const char *topic, const char *from_prefix,
		       const char *to_prefix, char *buf, size_t cap)
{
	size_t lf = strlen(from_prefix), lt, lr;

	if (strncmp(topic, from_prefix, lf) != 0)
		return NULL;
	/* Per message on the main thread: two copies, no snprintf. */
	lt = strlen(to_prefix);
	lr = strlen(topic + lf);
	if (lt + lr >= cap || lt + lr > TOPIC_MAX)
		return NULL;
	memcpy(buf, to_prefix, lt);
	memcpy(buf + lt, topic + lf, lr + 1);
	return buf;
}

static int broker_port(const struct cli_conn_settings *c)
{
	if (c->port)
		return c->port;
	return c->cafile || c->capath || c->certfile ? 8883 : 1883;
}

/* Both sections name the same broker (as far as the text says: another
 * name of the same host is not caught). */
static int same_broker(const struct bridge_config *cfg)
{
	const struct cli_conn_settings *r = &cfg->remote.conn;
	const struct cli_conn_settings *l = &cfg->local.conn;

	return r->host && l->host && strcmp(r->host, l->host) == 0 &&
	       broker_port(r) == broker_port(l);
}

/* Where a rule publishes, and where it subscribes: the filter, and in
 * *local whether that is on local. */
static const char *published(const struct bridge_rule *r, int *local)
{
	*local = r->dir == BRIDGE_IN;
	return *local ? r->local_filter : r->remote_filter;
}

static const char *subscribed(const struct bridge_rule *r, int *local)
{
	*local = r->dir == BRIDGE_OUT;
	return *local ? r->local_filter : r->remote_filter;
}

/* Whether MQTT 5's no-local option (docs/BRIDGE.md section 3) keeps the
 * broker from sending a publication on one side back to a subscription on
 * the same side: one connection, speaking MQTT 5. */
static int no_local_on(const struct bridge_config *cfg, int pl, int sl,
		       int same)
{
	const struct bridge_side *side = pl ? &cfg->local : &cfg->remote;

	return pl == sl && !same && side->conn.mqtt_version >= CLI_MQTT_V5;
}

/*
 * A bridged copy never comes back: no rule publishes where a rule
 * subscribes. With two brokers that is what "in" publishes on local
 * against the "out" subscriptions there, and what "out" publishes on
 * remote against the "in" subscriptions; when both sections name one
 * broker, every publication against every subscription, a rule's own
 * included.
 */
static void check_loops(struct parser *p)
{
	const struct bridge_config *cfg = p->cfg;
	int same = same_broker(cfg);

	for (int i = 0; i < cfg->rule_count; i++) {
		const struct bridge_rule *a = &cfg->rules[i];

		for (int j = 0; j < cfg->rule_count; j++) {
			const struct bridge_rule *b = &cfg->rules[j];
			int pl, sl;
			const char *pf = published(a, &pl);
			const char *sf = subscribed(b, &sl);

			if ((pl != sl && !same) ||
			    !bridge_filters_overlap(pf, sf) ||
			    no_local_on(cfg, pl, sl, same))
				continue;
			p->line = a->line > b->line ? a->line : b->line;
			ERR(p,
			    "%s (line %zu) publishes on %s to '%s', which %s "
			    "(line %zu) subscribes to with '%s'%s: bridged "
			    "messages would come back; give them distinct "
			    "prefixes",
			    a->dir == BRIDGE_IN ? "in" : "out", a->line,
			    pl ? "local" : "remote", pf,
			    b->dir == BRIDGE_IN ? "in" : "out", b->line, sf,
			    pl != sl ? " (remote and local are one broker)"
				     : "");
		}
	}
}

/* Defaults, the password, and what the rules need. */
static void check_side(struct parser *p, struct bridge_side *side,
		       const char *name)
{
	char id[64];
	size_t len;
	int rc;

	p->line = side->line;
	if (!side->line) {
		p->line = 0;
		ERR(p, "no '%s' section", name);
		return;
	}
	side->conn.name = name;
	/* MQTT 5: the bridge never gets its own publications back, and on
	 * local ("out") a live message keeps its retain flag. "in" takes
	 * the flag the envelope carries, the one a broker cannot forge. */
	side->conn.no_local = 1;
	side->conn.retain_as_published = side == &p->cfg->local;
	/* A persistent session is found again by its id: the default one
	 * changes with every run. */
	if (!side->conn.clean_session && !side->conn.id)
		ERR(p, "%s: clean_session false needs a fixed id", name);
	if (!side->conn.host)
		ERR(p, "%s: no host", name);
	if (!side->conn.id) {
		snprintf(id, sizeof id, "e2e-bridge-%s-%ld", name,
			 (long)getpid());
		set_string(p, &side->conn.id, id);
	}
	if (side->password_file) {
		rc = cli_pass_read_file(side->password_file,
					&side->conn.password, &len);
		if (rc != CLI_PASS_OK) {
			cli_file_msg("password file", side->password_file, 0,
				     "%s", cli_pass_strerror(rc));
			p->errors++;
		}
	}
	if (side->conn.keyfile && !side->conn.certfile)
		ERR(p, "%s: keyfile without certfile", name);
}

/* The counters go to local, plain: never where an "out" rule would seal
 * them for remote, and a topic name, not a filter. */
static void check_metrics_topic(struct parser *p)
{
	const struct bridge_config *cfg = p->cfg;
	const char *t = cfg->metrics_topic;

	if (!t)
		return;
	if (!*t || strpbrk(t, "+#"))
		ERR(p, "metrics_topic: '%s' is not a topic name (no wildcards)",
		    t);
	for (int i = 0; i < cfg->rule_count; i++) {
		const struct bridge_rule *r = &cfg->rules[i];

		if (r->dir == BRIDGE_OUT &&
		    bridge_filters_overlap(t, r->local_filter)) {
			p->line = r->line;
			ERR(p,
			    "out (line %zu) subscribes on local to '%s', "
			    "which holds metrics_topic '%s': the counters "
			    "would be bridged to remote",
			    r->line, r->local_filter, t);
		}
	}
}

/* The line of global directive name, 0 when it was not given. */
static size_t line_of(const struct parser *p, const char *name)
{
	const struct directive *d = find_directive(name);

	return d ? p->seen[2][d - directives] : 0;
}

/* An error at the line of global directive name. */
#define AT(name) (p->line = line_of(p, name))

/* A file a state_* directive names that cannot be opened, or a secret one
 * (the key, the password) that group or others may read: an error, as
 * libe2e-redis would refuse it at the connection. */
static void check_readable(struct parser *p, const char *name, const char *path,
			   int dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
				    (dir ? O_DIRECTORY : 0));
	struct stat st;

	if (fd < 0) {
		AT(name);
		ERR(p, "%s: cannot read %s: %s", name, path, strerror(errno));
		return;
	}
	if ((!strcmp(name, "state_key") ||
	     !strcmp(name, "state_password_file")) &&
	    fstat(fd, &st) == 0 && (st.st_mode & 077)) {
		AT(name);
		ERR(p, "%s: %s: %s", name, path,
		    e2e_strerror(E2E_ERR_PERMISSIONS));
	}
	close(fd);
}

/*
 * state redis://... (bridge_shared.h): the URL's form, no password in it
 * (the file is no secret's place, as for the connections), the TLS files
 * readable and the key its owner's alone, the password file read; the
 * state_* directives and group only with such a URL. All without
 * connecting, each error at the line of its directive.
 */
static void check_state(struct parser *p)
{
	struct bridge_config *cfg = p->cfg;
	const struct {
		const char *name, *value;
		int dir; /* -1: not a file */
	} tls[] = {
		{"state_cacert", cfg->state_cacert, 0},
		{"state_cacertdir", cfg->state_cacertdir, 1},
		{"state_cert", cfg->state_cert, 0},
		{"state_key", cfg->state_key, 0},
		{"state_sni", cfg->state_sni, -1},
	};
	int url = cli_state_is_url(cfg->state), has_password = 0, rc;
	int rediss = url && !strncmp(cfg->state, "rediss://", 9);
	char *g, *share;
	size_t len;

	if (!url) {
		if (cfg->state_password_file) {
			AT("state_password_file");
			ERR(p, "state_password_file goes with state "
			       "redis://...");
		}
		if (cfg->group) {
			AT("group");
			ERR(p, "group: members of a shared subscription need "
			       "their state shared: give state redis://...");
		}
	} else if ((rc = bridge_shared_url_check(cfg->state, &has_password)) ==
		   E2E_ERR_STORE_UNSUPPORTED) {
		AT("state");
		ERR(p, "state: a shared state in Redis needs an e2e-bridge "
		       "built with hiredis (install libhiredis-dev and "
		       "configure --with-redis)");
	} else if (has_password) {
		cli_state_url_wipe_password(cfg->state);
		AT("state");
		ERR(p, "state: a password in the URL: write it in a file only "
		       "you may read and name it with state_password_file");
	} else if (rc != E2E_OK) {
		AT("state");
		ERR(p,
		    "state: '%s' is not redis[s]://[USER@]HOST[:PORT]/PREFIX "
		    "(PREFIX: 1 to 200 of A-Z a-z 0-9 . _ - / :)",
		    cfg->state);
	}
	for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++) {
		if (!tls[i].value)
			continue;
		if (!rediss) {
			AT(tls[i].name);
			ERR(p, "%s goes with state rediss://...", tls[i].name);
		} else if (tls[i].dir >= 0) {
			check_readable(p, tls[i].name, tls[i].value,
				       tls[i].dir);
		}
	}
	if (rediss && !cfg->state_cert != !cfg->state_key) {
		AT(cfg->state_cert ? "state_cert" : "state_key");
		ERR(p, "state_cert and state_key go together");
	}
	if (cfg->group && (!*cfg->group || strpbrk(cfg->group, "/+#"))) {
		AT("group");
		ERR(p, "group: '%s' is not one topic level without wildcards",
		    cfg->group);
	}
	if (url && cfg->state_password_file) {
		int before = p->errors;

		check_readable(p, "state_password_file",
			       cfg->state_password_file, 0);
		rc = p->errors > before
			     ? CLI_PASS_OK
			     : cli_pass_read_file(cfg->state_password_file,
						  &cfg->state_password, &len);
		if (rc != CLI_PASS_OK) {
			AT("state_password_file");
			ERR(p, "state_password_file: %s: %s",
			    cfg->state_password_file, cli_pass_strerror(rc));
		}
	}
	/* The "in" rules' subscriptions on remote: the group's when one is
	 * named. */
	g = cfg->group ? concat("$share/", cfg->group) : NULL;
	share = !cfg->group ? strdup("") : g ? concat(g, "/") : NULL;
	for (int i = 0; i < cfg->rule_count; i++) {
		struct bridge_rule *r = &cfg->rules[i];

		if (!share ||
		    !(r->remote_subscription = concat(share, r->remote_filter)))
			ERR(p, "out of memory");
	}
	free(g);
	free(share);
	p->line = 0;
}

static void check_all(struct parser *p)
{
	struct bridge_config *cfg = p->cfg;

	check_side(p, &cfg->remote, "remote");
	check_side(p, &cfg->local, "local");
	p->line = 0;
	if (!cfg->rule_count)
		ERR(p, "no rules: give 'in FILTER' or 'out FILTER' lines");
	if (cfg->in_count && !cfg->keyring && !cfg->trust)
		ERR(p, "'in' rules need a keyring or a trust file to open "
		       "with");
	if (cfg->out_count && !cfg->keyring)
		ERR(p, "'out' rules need a keyring to seal with");
	if (cfg->signer_pass_file && !cfg->signer)
		ERR(p, "signer_pass_file without signer");
	/* The journal drops the "in" messages it has done once the replay
	 * state holds them: without one, a redelivery after a restart would
	 * be bridged twice. */
	if (cfg->journal && cfg->in_count && !cfg->state)
		ERR(p, "journal with 'in' rules needs a state file");
	check_state(p);
	check_loops(p);
	check_metrics_topic(p);
}

int bridge_config_load(struct bridge_config *cfg, const char *path)
{
	struct parser p;
	char buf[LINE_MAX_LEN + 2];
	FILE *f;

	memset(cfg, 0, sizeof *cfg);
	memset(&p, 0, sizeof p);
	p.cfg = cfg;
	cfg->max_age = cfg->max_skew = cfg->window = -1;
	cfg->queue = 1000;
	cfg->max_payload = 1 << 20;
	cfg->journal_sync = 1;
	cfg->journal_max = 100000;
	cfg->metrics_interval = 15;
	for (struct bridge_side *s = &cfg->remote; s;
	     s = s == &cfg->remote ? &cfg->local : NULL) {
		s->conn.keepalive = 60;
		s->conn.clean_session = 1;
		s->conn.mqtt_version = CLI_MQTT_V311;
	}
	if (!(cfg->path = strdup(path)))
		return -1;
	if (!(f = fopen(path, "r"))) {
		cli_file_err("config file", path, 0, E2E_ERR_IO, NULL);
		return -1;
	}
	while (fgets(buf, sizeof buf, f)) {
		p.line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			ERR(&p, "line longer than %d bytes", LINE_MAX_LEN);
			break;
		}
		parse_line(&p, buf);
	}
	if (ferror(f)) {
		cli_file_err("config file", path, 0, E2E_ERR_IO, NULL);
		p.errors++;
	}
	fclose(f);
	sodium_memzero(buf, sizeof buf); /* a line may have held a password */
	if (!p.errors)
		check_all(&p);
	return p.errors ? -1 : 0;
}

static void free_side(struct bridge_side *s)
{
	struct cli_conn_settings *c = &s->conn;

	free(c->host);
	free(c->id);
	free(c->username);
	cli_secret_free(c->password);
	free(c->cafile);
	free(c->capath);
	free(c->certfile);
	free(c->keyfile);
	free(s->password_file);
}

void bridge_config_free(struct bridge_config *cfg)
{
	free_side(&cfg->remote);
	free_side(&cfg->local);
	free(cfg->keyring);
	free(cfg->trust);
	free(cfg->signer);
	free(cfg->signer_pass_file);
	free(cfg->state);
	free(cfg->out_state);
	free(cfg->state_password_file);
	cli_secret_free(cfg->state_password);
	free(cfg->state_cacert);
	free(cfg->state_cacertdir);
	free(cfg->state_cert);
	free(cfg->state_key);
	free(cfg->state_sni);
	free(cfg->group);
	free(cfg->journal);
	free(cfg->metrics_topic);
	for (int i = 0; i < cfg->rule_count; i++) {
		free(cfg->rules[i].local_prefix);
		free(cfg->rules[i].remote_prefix);
		free(cfg->rules[i].local_filter);
		free(cfg->rules[i].remote_filter);
		free(cfg->rules[i].remote_subscription);
	}
	free(cfg->rules);
	free(cfg->path);
	memset(cfg, 0, sizeof *cfg);
}
