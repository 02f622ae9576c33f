/*
 * The trust set: signers a receiver accepts, each with the MQTT topic
 * filters it may publish on, and MQTT topic filter matching.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct trusted {
	uint64_t id;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	char *filters; /* normalised: "a/+,b/#" without spaces */
};

struct e2e_trust {
	struct trusted *v; /* insertion order */
	size_t *by_id;     /* indices into v, sorted by id */
	size_t count, cap;
};

/* Validate the filter s[0..n): '+' only as a whole level, '#' only as the
 * whole last level, no ',' and no NUL. matches() below checks the same
 * rules as it walks a filter. */
static int check_filter(const char *s, size_t n)
{
	if (n == 0 || n > 65535)
		return E2E_ERR_INVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alone = (i == 0 || s[i - 1] == '/') &&
			    (i + 1 == n || s[i + 1] == '/');

		if ((c == '+' && !alone) ||
		    (c == '#' && !(alone && i + 1 == n)) || c == ',' ||
		    c == '\0')
			return E2E_ERR_INVAL;
	}
	return E2E_OK;
}

E2E_API int e2e_filter_check(const char *filter)
{
	if (filter == NULL)
		return E2E_ERR_INVAL;
	return check_filter(filter, strlen(filter));
}

/*
 * MQTT matching of topic against the filter f[0..n), checking the filter on
 * the way: one pass over both strings (this runs for every message a
 * receiver opens). It returns 1 only after walking the whole filter, every
 * level of which it checked as check_filter() does, so a malformed filter
 * matches nothing, as if it had been checked first.
 */
static int matches(const char *f, size_t n, const char *t)
{
	/* The bytes that end a literal run of a filter's level. */
	static const uint8_t special[256] = {
		['/'] = 1, ['+'] = 1, ['#'] = 1, [','] = 1};
	const char *fend = f + n;

	if (n == 0 || n > 65535 || *t == '\0')
		return 0;
	/* Wildcards at the first level never match topics starting with '$'
	 * (MQTT 3.1.1, section 4.7.2). */
	if (*t == '$' && (*f == '+' || *f == '#'))
		return 0;
	for (;;) {
		/* f and t are at the start of a level. '#' matches the rest,
		 * parent level included. */
		if (f < fend && *f == '#')
			return f + 1 == fend;
		if (f < fend && *f == '+' && (f + 1 == fend || f[1] == '/')) {
			f++;
			while (*t != '/' && *t != '\0')
				t++;
		} else {
			while (f < fend && *f == *t && !special[(uint8_t)*f])
				f++, t++;
			/* A different byte, or a wildcard or ',' inside a
			 * level. */
			if (f < fend && *f != '/')
				return 0;
			if (*t != '/' && *t != '\0')
				return 0; /* the topic's level is longer */
		}
		if (f == fend)
			return *t == '\0';
		/* "a/#" matches "a": the filter continues with "/#" only. */
		if (*t == '\0')
			return fend - f == 2 && f[1] == '#';
		f++;
		t++;
	}
}

E2E_API int e2e_topic_matches(const char *filter, const char *topic)
{
	if (filter == NULL || topic == NULL)
		return 0;
	return matches(filter, strlen(filter), topic);
}

/* The filter of a subscription: "$share/GROUP/FILTER" gives FILTER (MQTT 5,
 * section 4.8.2: GROUP is one level without wildcards, FILTER is not empty);
 * NULL for a malformed shared subscription. */
static const char *subscription_filter(const char *s)
{
	static const char share[] = "$share/";
	const char *group = s + sizeof share - 1, *p;

	if (s[0] != '$' || strncmp(s, share, sizeof share - 1) != 0)
		return s;
	for (p = group; *p != '/'; p++)
		if (*p == '\0' || *p == '+' || *p == '#')
			return NULL;
	if (p == group || p[1] == '\0')
		return NULL;
	return p + 1;
}

E2E_API int e2e_subscription_matches(const char *subscription,
				     const char *topic)
{
	const char *filter;

	if (subscription == NULL)
		return 0;
	filter = subscription_filter(subscription);
	return filter != NULL && e2e_topic_matches(filter, topic);
}

/* Normalise "a/+ , b/#" into "a/+,b/#", validating every filter. */
static int normalise(const char *in, char **out)
{
	size_t n = strlen(in), o = 0, nfilters = 0;
	const char *p = in, *end = in + n;
	char *buf = malloc(n + 1);

	if (buf == NULL)
		return E2E_ERR_NOMEM;
	while (p <= end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *stop = comma ? comma : end, *a = p, *b = stop;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (check_filter(a, (size_t)(b - a)) != E2E_OK) {
			free(buf);
			return E2E_ERR_INVAL;
		}
		if (o > 0)
			buf[o++] = ',';
		memcpy(buf + o, a, (size_t)(b - a));
		o += (size_t)(b - a);
		nfilters++;
		p = stop + 1;
	}
	buf[o] = '\0';
	*out = buf;
	return nfilters > 0 ? E2E_OK : E2E_ERR_INVAL;
}

E2E_API int e2e_trust_new(e2e_trust **out)
{
	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = calloc(1, sizeof **out);
	return *out == NULL ? E2E_ERR_NOMEM : E2E_OK;
}

E2E_API void e2e_trust_free(e2e_trust *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->count; i++)
		free(t->v[i].filters);
	free(t->v);
	free(t->by_id);
	free(t);
}

/* Position of the first signer (in by_id) whose id is >= id. */
static size_t lower_bound(const e2e_trust *t, uint64_t id)
{
	size_t lo = 0, hi = t->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->v[t->by_id[mid]].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct trusted *find(const e2e_trust *t, uint64_t id)
{
	size_t i;

	if (t == NULL)
		return NULL;
	i = lower_bound(t, id);
	return i < t->count && t->v[t->by_id[i]].id == id ? &t->v[t->by_id[i]]
							  : NULL;
}

static int grow(e2e_trust *t)
{
	size_t cap = t->cap ? t->cap * 2 : 8;
	struct trusted *v;
	size_t *by_id;

	v = realloc(t->v, cap * sizeof *v);
	if (v == NULL)
		return E2E_ERR_NOMEM;
	t->v = v;
	by_id = realloc(t->by_id, cap * sizeof *by_id);
	if (by_id == NULL)
		return E2E_ERR_NOMEM;
	t->by_id = by_id;
	t->cap = cap;
	return E2E_OK;
}

E2E_API int e2e_trust_add(e2e_trust *t,
			  const uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
			  const char *filters)
{
	uint64_t id;
	char *norm = NULL;
	size_t pos;
	int rc;

	if (t == NULL || pk == NULL || filters == NULL)
		return E2E_ERR_INVAL;
	id = e2e_signer_id_from_public(pk);
	/* Two signers with one id (the same key, or a 64-bit collision) would
	 * make the id ambiguous: refuse the second. */
	if (find(t, id) != NULL)
		return E2E_ERR_DUPLICATE_KEY;
	if ((rc = normalise(filters, &norm)) != E2E_OK)
		return rc;
	if (t->count == t->cap && (rc = grow(t)) != E2E_OK) {
		free(norm);
		return rc;
	}
	t->v[t->count].id = id;
	memcpy(t->v[t->count].pk, pk, E2E_SIGN_PUBLICKEYBYTES);
	t->v[t->count].filters = norm;
	pos = lower_bound(t, id);
	memmove(&t->by_id[pos + 1], &t->by_id[pos],
		(t->count - pos) * sizeof t->by_id[0]);
	t->by_id[pos] = t->count;
	t->count++;
	return E2E_OK;
}

E2E_API size_t e2e_trust_count(const e2e_trust *t)
{
	return t == NULL ? 0 : t->count;
}

E2E_API int e2e_trust_get(const e2e_trust *t, size_t index,
			  uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
			  const char **filters)
{
	if (t == NULL || index >= t->count)
		return E2E_ERR_INVAL;
	if (pk != NULL)
		memcpy(pk, t->v[index].pk, E2E_SIGN_PUBLICKEYBYTES);
	if (filters != NULL)
		*filters = t->v[index].filters;
	return E2E_OK;
}

const uint8_t *e2e__trust_lookup(const e2e_trust *t, uint64_t signer_id,
				 const char *topic, int *allowed)
{
	const struct trusted *s = find(t, signer_id);
	const char *f, *end;

	*allowed = 0;
	if (s == NULL)
		return NULL;
	f = s->filters;
	end = f + strlen(f);
	while (f < end && !*allowed) {
		const char *comma = memchr(f, ',', (size_t)(end - f));
		const char *stop = comma ? comma : end;
		*allowed = matches(f, (size_t)(stop - f), topic);
		f = stop + 1;
	}
	return s->pk;
}
