/*
 * The in-memory keyring: shared keys sorted by id, in sodium_malloc memory
 * (guard pages, locked, wiped on free). Lookups are binary searches.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct e2e_keyring {
	struct e2e__key *keys; /* sodium_malloc, sorted by id */
	size_t count;
	size_t cap;
};

static const char *const state_names[] = {"disabled", "enabled", "primary"};

E2E_API const char *e2e_key_state_name(e2e_key_state st)
{
	if ((unsigned)st >= sizeof state_names / sizeof state_names[0])
		return "invalid";
	return state_names[st];
}

E2E_API int e2e_key_state_parse(const char *s, e2e_key_state *out)
{
	size_t i;

	if (s == NULL || out == NULL)
		return E2E_ERR_INVAL;
	for (i = 0; i < sizeof state_names / sizeof state_names[0]; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*out = (e2e_key_state)i;
			return E2E_OK;
		}
	}
	return E2E_ERR_INVAL;
}

E2E_API int e2e_keyring_new(e2e_keyring **out)
{
	e2e_keyring *kr;

	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	kr = sodium_malloc(sizeof *kr);
	if (kr == NULL)
		return E2E_ERR_NOMEM;
	memset(kr, 0, sizeof *kr);
	*out = kr;
	return E2E_OK;
}

static void free_filters(struct e2e__key *keys, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(keys[i].filters);
		keys[i].filters = NULL;
	}
}

E2E_API void e2e_keyring_free(e2e_keyring *kr)
{
	if (kr == NULL)
		return;
	if (kr->keys != NULL) {
		free_filters(kr->keys, kr->count);
		sodium_free(kr->keys); /* sodium_free wipes */
	}
	sodium_free(kr);
}

/* Keys with the same filters (none counting as "") form a scope: each
 * scope has at most one primary, and follows its own schedule. */
static int same_scope(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

/* Index of the first key whose id is >= id. */
static size_t lower_bound(const e2e_keyring *kr, uint32_t id)
{
	size_t lo = 0, hi = kr->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (kr->keys[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct e2e__key *find(const e2e_keyring *kr, uint32_t id)
{
	size_t i;

	if (kr == NULL)
		return NULL;
	i = lower_bound(kr, id);
	return i < kr->count && kr->keys[i].id == id ? &kr->keys[i] : NULL;
}

const struct e2e__key *e2e__keyring_lookup(const e2e_keyring *kr, uint32_t id)
{
	return find(kr, id);
}

/* The stored primary of the scope of filters, or NULL. */
static struct e2e__key *scope_primary(const e2e_keyring *kr,
				      const char *filters)
{
	for (size_t i = 0; i < kr->count; i++)
		if (kr->keys[i].state == E2E_KEY_PRIMARY &&
		    same_scope(kr->keys[i].filters, filters))
			return &kr->keys[i];
	return NULL;
}

const struct e2e__key *e2e__keyring_primary(const e2e_keyring *kr)
{
	return kr != NULL ? scope_primary(kr, NULL) : NULL;
}

static void demote_primary(e2e_keyring *kr, const char *filters)
{
	struct e2e__key *k = scope_primary(kr, filters);

	if (k != NULL)
		k->state = E2E_KEY_ENABLED;
}

static int grow(e2e_keyring *kr)
{
	size_t cap = kr->cap ? kr->cap * 2 : 8;
	struct e2e__key *keys;

	if (cap > SIZE_MAX / sizeof *keys)
		return E2E_ERR_NOMEM;
	keys = sodium_malloc(cap * sizeof *keys);
	if (keys == NULL)
		return E2E_ERR_NOMEM;
	if (kr->count > 0)
		memcpy(keys, kr->keys, kr->count * sizeof *keys);
	if (kr->keys != NULL) {
		free_filters(kr->keys, kr->count);
		sodium_free(kr->keys);
	}
	kr->keys = keys;
	kr->cap = cap;
	return E2E_OK;
}

static int valid_info(const e2e_key_info *info)
{
	return info->id != 0 &&
	       (info->suite == E2E_SUITE_AEAD ||
		info->suite == E2E_SUITE_MAC) &&
	       (unsigned)info->state <= E2E_KEY_PRIMARY;
}

E2E_API int e2e_keyring_add(e2e_keyring *kr, const e2e_key_info *info,
			    const uint8_t key[E2E_KEYBYTES])
{
	struct e2e__key *k;
	size_t i;
	int rc;

	if (kr == NULL || info == NULL || key == NULL || !valid_info(info))
		return E2E_ERR_INVAL;
	i = lower_bound(kr, info->id);
	if (i < kr->count && kr->keys[i].id == info->id)
		return E2E_ERR_DUPLICATE_KEY;
	if (kr->count == kr->cap && (rc = grow(kr)) != E2E_OK)
		return rc;
	if (info->state == E2E_KEY_PRIMARY)
		demote_primary(kr, NULL);
	memmove(&kr->keys[i + 1], &kr->keys[i],
		(kr->count - i) * sizeof kr->keys[0]);
	kr->count++;
	k = &kr->keys[i];
	k->id = info->id;
	k->suite = (uint8_t)info->suite;
	k->state = (uint8_t)info->state;
	k->created = info->created;
	k->activates = 0;
	k->disables = 0;
	k->filters = NULL;
	memcpy(k->key, key, E2E_KEYBYTES);
	return E2E_OK;
}

E2E_API int e2e_keyring_generate(e2e_keyring *kr, e2e_suite suite,
				 e2e_key_state state, int64_t created,
				 uint32_t *id_out)
{
	e2e_key_info info;
	uint8_t key[E2E_KEYBYTES];
	int rc;

	if (kr == NULL)
		return E2E_ERR_INVAL;
	/* Random ids: rotation never reuses an id another keyring may still
	 * hold for an older key. */
	do {
		info.id = randombytes_random();
	} while (info.id == 0 || find(kr, info.id) != NULL);
	info.suite = suite;
	info.state = state;
	info.created = created;
	randombytes_buf(key, sizeof key);
	rc = e2e_keyring_add(kr, &info, key);
	sodium_memzero(key, sizeof key);
	if (rc == E2E_OK && id_out != NULL)
		*id_out = info.id;
	return rc;
}

E2E_API int e2e_keyring_set_state(e2e_keyring *kr, uint32_t id,
				  e2e_key_state state)
{
	struct e2e__key *k = find(kr, id);

	if (kr == NULL || (unsigned)state > E2E_KEY_PRIMARY)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NOT_FOUND;
	if (k->state == E2E_KEY_PRIMARY && state != E2E_KEY_PRIMARY)
		return E2E_ERR_IS_PRIMARY;
	if (state == E2E_KEY_PRIMARY && k->state != E2E_KEY_PRIMARY)
		demote_primary(kr, k->filters);
	k->state = (uint8_t)state;
	return E2E_OK;
}

E2E_API int e2e_keyring_remove(e2e_keyring *kr, uint32_t id)
{
	struct e2e__key *k = find(kr, id);
	size_t i;

	if (kr == NULL)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NOT_FOUND;
	if (k->state == E2E_KEY_PRIMARY)
		return E2E_ERR_IS_PRIMARY;
	i = (size_t)(k - kr->keys);
	free(k->filters);
	memmove(&kr->keys[i], &kr->keys[i + 1],
		(kr->count - i - 1) * sizeof kr->keys[0]);
	kr->count--;
	sodium_memzero(&kr->keys[kr->count], sizeof kr->keys[0]);
	return E2E_OK;
}

E2E_API size_t e2e_keyring_count(const e2e_keyring *kr)
{
	return kr == NULL ? 0 : kr->count;
}

static void fill_info(const struct e2e__key *k, e2e_key_info *info)
{
	info->id = k->id;
	info->suite = (e2e_suite)k->suite;
	info->state = (e2e_key_state)k->state;
	info->created = k->created;
}

E2E_API int e2e_keyring_get(const e2e_keyring *kr, size_t index,
			    e2e_key_info *info)
{
	if (kr == NULL || info == NULL || index >= kr->count)
		return E2E_ERR_INVAL;
	fill_info(&kr->keys[index], info);
	return E2E_OK;
}

E2E_API int e2e_keyring_find(const e2e_keyring *kr, uint32_t id,
			     e2e_key_info *info)
{
	const struct e2e__key *k = find(kr, id);

	if (kr == NULL || info == NULL)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NOT_FOUND;
	fill_info(k, info);
	return E2E_OK;
}

E2E_API int e2e_keyring_primary(const e2e_keyring *kr, e2e_key_info *info)
{
	const struct e2e__key *k = e2e__keyring_primary(kr);

	if (kr == NULL || info == NULL)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NO_KEY;
	fill_info(k, info);
	return E2E_OK;
}

/* ------------------------------------------------------------------------ */
/* Schedules (docs/KEYDIST.md section 8)                                    */
/* ------------------------------------------------------------------------ */

int e2e__key_disabled_at(const struct e2e__key *k, uint64_t t)
{
	return k->state == E2E_KEY_DISABLED ||
	       (k->disables != 0 && t >= k->disables);
}

/* The key of a scope that became primary last by time t: the one with the
 * latest activation time that has come (the larger id on a tie, keys being
 * in increasing id order), else the scope's stored primary. */
static const struct e2e__key *latest_at(const e2e_keyring *kr,
					const char *scope, uint64_t t)
{
	const struct e2e__key *best = NULL, *k;
	size_t i;

	for (i = 0; i < kr->count; i++) {
		k = &kr->keys[i];
		if (k->activates != 0 && k->activates <= t &&
		    same_scope(k->filters, scope) &&
		    (best == NULL || k->activates >= best->activates))
			best = k;
	}
	return best != NULL ? best : scope_primary(kr, scope);
}

/* A disabled latest primary leaves its scope without one: falling back to
 * the key it replaced would revive a key the admin retired. */
static const struct e2e__key *primary_of(const e2e_keyring *kr,
					 const char *scope, uint64_t t)
{
	const struct e2e__key *k = latest_at(kr, scope, t);

	return k != NULL && !e2e__key_disabled_at(k, t) ? k : NULL;
}

const struct e2e__key *e2e__keyring_primary_at(const e2e_keyring *kr,
					       uint64_t t)
{
	return kr != NULL ? primary_of(kr, NULL, t) : NULL;
}

int e2e__key_allows(const struct e2e__key *k, const char *topic)
{
	const char *f = k->filters, *comma;
	char one[E2E_UPDATE_FILTERS_MAX + 1];
	size_t n;

	if (f == NULL || *f == '\0')
		return 1;
	for (;;) {
		comma = strchr(f, ',');
		n = comma != NULL ? (size_t)(comma - f) : strlen(f);
		if (n < sizeof one) {
			memcpy(one, f, n);
			one[n] = '\0';
			if (e2e_topic_matches(one, topic))
				return 1;
		}
		if (comma == NULL)
			return 0;
		f = comma + 1;
	}
}

const struct e2e__key *e2e__keyring_seal_key(const e2e_keyring *kr, uint64_t t,
					     const char *topic)
{
	const struct e2e__key *k;

	if (kr == NULL)
		return NULL;
	/* Scoped keys first, in id order; the first key of a scope whose
	 * filters match stands for its scope. */
	for (size_t i = 0; i < kr->count; i++) {
		k = &kr->keys[i];
		if (k->filters != NULL && e2e__key_allows(k, topic) &&
		    (k = primary_of(kr, k->filters, t)) != NULL)
			return k;
	}
	return primary_of(kr, NULL, t);
}

static uint64_t clock_or(uint64_t now)
{
	return now != 0 ? now : e2e__now();
}

void e2e__keyring_replace(e2e_keyring *kr, struct e2e__key *keys, size_t count,
			  size_t cap)
{
	if (kr->keys != NULL) {
		free_filters(kr->keys, kr->count);
		sodium_free(kr->keys);
	}
	kr->keys = keys;
	kr->count = count;
	kr->cap = cap;
}

E2E_API int e2e_keyring_schedule(e2e_keyring *kr, uint32_t id,
				 uint64_t activates, uint64_t disables)
{
	struct e2e__key *k = find(kr, id);

	if (kr == NULL || activates > E2E__TIME_MAX || disables > E2E__TIME_MAX)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NOT_FOUND;
	k->activates = activates;
	k->disables = disables;
	return E2E_OK;
}

E2E_API int e2e_keyring_schedule_get(const e2e_keyring *kr, uint32_t id,
				     uint64_t *activates, uint64_t *disables)
{
	const struct e2e__key *k = find(kr, id);

	if (kr == NULL || activates == NULL || disables == NULL)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NOT_FOUND;
	*activates = k->activates;
	*disables = k->disables;
	return E2E_OK;
}

E2E_API int e2e_keyring_state_at(const e2e_keyring *kr, uint32_t id,
				 uint64_t now, e2e_key_state *state)
{
	const struct e2e__key *k = find(kr, id);

	if (kr == NULL || state == NULL)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NOT_FOUND;
	now = clock_or(now);
	if (e2e__key_disabled_at(k, now))
		*state = E2E_KEY_DISABLED;
	else if (primary_of(kr, k->filters, now) == k)
		*state = E2E_KEY_PRIMARY;
	else
		*state = E2E_KEY_ENABLED;
	return E2E_OK;
}

E2E_API int e2e_keyring_primary_at(const e2e_keyring *kr, uint64_t now,
				   e2e_key_info *info)
{
	const struct e2e__key *k;

	if (kr == NULL || info == NULL)
		return E2E_ERR_INVAL;
	k = e2e__keyring_primary_at(kr, clock_or(now));
	if (k == NULL)
		return E2E_ERR_NO_KEY;
	fill_info(k, info);
	return E2E_OK;
}

E2E_API int e2e_keyring_advance(e2e_keyring *kr, uint64_t now)
{
	const struct e2e__key **latest;
	size_t i;

	if (kr == NULL)
		return E2E_ERR_INVAL;
	now = clock_or(now);
	if (kr->count == 0)
		return E2E_OK;
	/* Every scope's latest primary first: storing states as we go would
	 * change what the scope's later keys see. */
	latest = malloc(kr->count * sizeof *latest);
	if (latest == NULL)
		return E2E_ERR_NOMEM;
	for (i = 0; i < kr->count; i++)
		latest[i] = latest_at(kr, kr->keys[i].filters, now);
	for (i = 0; i < kr->count; i++) {
		struct e2e__key *k = &kr->keys[i];

		if (e2e__key_disabled_at(k, now))
			k->state = E2E_KEY_DISABLED;
		else if (k == latest[i])
			k->state = E2E_KEY_PRIMARY;
		else if (k->state == E2E_KEY_PRIMARY)
			k->state = E2E_KEY_ENABLED;
		if (k->activates != 0 && k->activates <= now)
			k->activates = 0;
		if (k->disables != 0 && k->disables <= now)
			k->disables = 0;
	}
	free(latest);
	return E2E_OK;
}

/* Filters a keyring can hold and its file can give back: valid (as in a
 * key update) and without blanks, which separate the file's fields. */
static int filters_holdable(const char *f)
{
	return strpbrk(f, " \t\r\n") == NULL && e2e__filters_valid(f);
}

char *e2e__filters_dup(const char *f, int *rc)
{
	size_t n = f != NULL ? strlen(f) : 0;
	char *copy;

	*rc = E2E_OK;
	if (n == 0)
		return NULL;
	if (!filters_holdable(f)) {
		*rc = E2E_ERR_INVAL;
		return NULL;
	}
	if ((copy = malloc(n + 1)) == NULL)
		*rc = E2E_ERR_NOMEM;
	else
		memcpy(copy, f, n + 1);
	return copy;
}

E2E_API int e2e_keyring_set_filters(e2e_keyring *kr, uint32_t id,
				    const char *filters)
{
	struct e2e__key *k = find(kr, id), *p;
	char *copy;
	int rc;

	if (kr == NULL)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NOT_FOUND;
	copy = e2e__filters_dup(filters, &rc);
	if (rc != E2E_OK)
		return rc;
	/* A primary moved into a scope that has one would make two. */
	p = scope_primary(kr, copy);
	if (k->state == E2E_KEY_PRIMARY && p != NULL && p != k) {
		free(copy);
		return E2E_ERR_TWO_PRIMARIES;
	}
	free(k->filters);
	k->filters = copy;
	return E2E_OK;
}

E2E_API int e2e_keyring_get_filters(const e2e_keyring *kr, uint32_t id,
				    const char **filters)
{
	const struct e2e__key *k = find(kr, id);

	if (kr == NULL || filters == NULL)
		return E2E_ERR_INVAL;
	if (k == NULL)
		return E2E_ERR_NOT_FOUND;
	*filters = k->filters != NULL ? k->filters : "";
	return E2E_OK;
}
