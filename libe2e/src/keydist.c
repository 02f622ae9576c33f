/*
 * Key updates, the member's side (docs/KEYDIST.md sections 4, 7 and 8):
 * parse an update body strictly, open an admin-signed update for one
 * member, and apply what it gives that member to a keyring.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define MAGIC "e2ku"
#define MAGIC_LEN 4u
#define VERSION 1u
#define KEY_FIXED \
	24u /* id 4, suite 1, state 1, activates 8, disables 8, len 2 */
#define SLOT_KEY 36u /* key id 4, key 32 */
#define BOX_OVERHEAD crypto_box_SEALBYTES

struct ukey {
	uint32_t id;
	uint8_t suite, state, in_slot;
	uint64_t activates, disables;
	size_t filters; /* offset of its NUL-terminated filters in u->filters */
	uint8_t key[E2E_KEYBYTES];
};

struct e2e_update {
	int valid; /* opened for a member: in_slot and key are set */
	char group[E2E_UPDATE_GROUP_MAX + 1];
	uint64_t counter, issued;
	size_t nkeys;
	struct ukey keys[E2E_UPDATE_KEYS_MAX];
	size_t slots, nslots; /* offset of the first slot in body, count */
	uint8_t plain[SLOT_KEY * E2E_UPDATE_KEYS_MAX];
	char *filters; /* malloc: every key's filters, each NUL-terminated */
	uint8_t *body; /* malloc: the last envelope's body */
	size_t body_cap, body_len;
};

E2E_API int e2e_update_new(e2e_update **out)
{
	e2e_update *u;

	if (out == NULL)
		return E2E_ERR_INVAL;
	u = sodium_malloc(sizeof *u);
	*out = u;
	if (u == NULL)
		return E2E_ERR_NOMEM;
	memset(u, 0, sizeof *u);
	return E2E_OK;
}

/* Forget the opened update; the buffers stay for the next one. */
static void clear(e2e_update *u)
{
	char *filters = u->filters;
	uint8_t *body = u->body;
	size_t cap = u->body_cap;

	free(filters);
	sodium_memzero(u, sizeof *u);
	u->body = body;
	u->body_cap = cap;
}

E2E_API void e2e_update_free(e2e_update *u)
{
	if (u == NULL)
		return;
	clear(u);
	free(u->body);
	sodium_free(u); /* wipes the keys and the slot's plaintext */
}

/* Filters: "" or filters separated by commas, each valid (e2e_filter_check)
 * and without NUL; s is NUL-terminated at s[n] and briefly cut at commas. */
int e2e__filters_check(char *s, size_t n)
{
	char *p = s, *end = s + n, *comma;
	int rc;

	if (n == 0)
		return E2E_OK;
	if (n > E2E_UPDATE_FILTERS_MAX || memchr(s, '\0', n) != NULL)
		return E2E_ERR_INVAL;
	for (;;) {
		comma = memchr(p, ',', (size_t)(end - p));
		if (comma != NULL)
			*comma = '\0';
		rc = e2e_filter_check(p);
		if (comma != NULL)
			*comma = ',';
		if (rc != E2E_OK || comma == NULL)
			return rc;
		p = comma + 1;
	}
}

int e2e__filters_valid(const char *f)
{
	size_t n = strlen(f);
	char *copy;
	int rc;

	if (n > E2E_UPDATE_FILTERS_MAX)
		return 0;
	if ((copy = malloc(n + 1)) == NULL)
		return 0;
	memcpy(copy, f, n + 1);
	rc = e2e__filters_check(copy, n);
	free(copy);
	return rc == E2E_OK;
}

static int group_ok(const uint8_t *g, size_t n)
{
	size_t i;

	if (n == 0 || n > E2E_UPDATE_GROUP_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = g[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

/* A reader over the body: every take fails once past the end. */
struct rd {
	const uint8_t *p;
	size_t len, pos;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	const uint8_t *at = r->p + r->pos;

	if (n > r->len - r->pos)
		return NULL;
	r->pos += n;
	return at;
}

/* Primary keys of a scope (the same filters) take over in activation
 * order: two at the same time would leave the order to the id, which
 * nobody chose. */
static int primaries_distinct(const e2e_update *u)
{
	const struct ukey *k = u->keys;
	size_t i, j;

	for (i = 0; i < u->nkeys; i++)
		for (j = i + 1; j < u->nkeys; j++)
			if (k[i].state == E2E_KEY_PRIMARY &&
			    k[j].state == E2E_KEY_PRIMARY &&
			    k[i].activates == k[j].activates &&
			    strcmp(u->filters + k[i].filters,
				   u->filters + k[j].filters) == 0)
				return 0;
	return 1;
}

/* One key entry; its filters are appended at u->filters + *foff. */
static int parse_key(e2e_update *u, struct rd *r, struct ukey *k, uint32_t last,
		     size_t *foff)
{
	const uint8_t *f = take(r, KEY_FIXED);
	size_t flen;

	if (f == NULL)
		return E2E_ERR_BAD_UPDATE;
	k->id = e2e__load32(f);
	k->suite = f[4];
	k->state = f[5];
	k->activates = e2e__load64(f + 6);
	k->disables = e2e__load64(f + 14);
	flen = (size_t)f[22] << 8 | f[23];
	if (k->id <= last || k->suite > E2E_SUITE_MAC ||
	    k->state > E2E_KEY_PRIMARY || k->activates > E2E__TIME_MAX ||
	    k->disables > E2E__TIME_MAX || flen > E2E_UPDATE_FILTERS_MAX ||
	    (f = take(r, flen)) == NULL)
		return E2E_ERR_BAD_UPDATE;
	k->filters = *foff;
	memcpy(u->filters + *foff, f, flen);
	u->filters[*foff + flen] = '\0';
	*foff += flen + 1;
	if (e2e__filters_check(u->filters + k->filters, flen) != E2E_OK)
		return E2E_ERR_BAD_UPDATE;
	return E2E_OK;
}

static int parse_slots(e2e_update *u, struct rd *r)
{
	const uint8_t *s = take(r, 2);
	uint64_t mid, last = 0;
	size_t i, n;

	if (s == NULL)
		return E2E_ERR_BAD_UPDATE;
	u->nslots = (size_t)s[0] << 8 | s[1];
	u->slots = r->pos;
	for (i = 0; i < u->nslots; i++) {
		if ((s = take(r, 9)) == NULL)
			return E2E_ERR_BAD_UPDATE;
		mid = e2e__load64(s);
		n = s[8];
		/* Increasing member ids: one slot per member, found in one
		 * pass. */
		if ((i > 0 && mid <= last) || n > u->nkeys ||
		    take(r, BOX_OVERHEAD + SLOT_KEY * n) == NULL)
			return E2E_ERR_BAD_UPDATE;
		last = mid;
	}
	return E2E_OK;
}

int e2e__update_parse(e2e_update *u, const uint8_t *body, size_t len)
{
	struct rd r = {body, len, 0};
	const uint8_t *p;
	size_t glen, i, foff = 0;
	uint32_t last = 0;
	int rc = E2E_ERR_BAD_UPDATE;

	clear(u);
	/* Every key's filters fit in the body's length plus a NUL each. */
	u->filters = malloc(len + E2E_UPDATE_KEYS_MAX + 1);
	if (u->filters == NULL)
		return E2E_ERR_NOMEM;
	if ((p = take(&r, MAGIC_LEN + 2)) == NULL ||
	    memcmp(p, MAGIC, MAGIC_LEN) != 0 || p[MAGIC_LEN] != VERSION)
		goto fail;
	glen = p[MAGIC_LEN + 1];
	if ((p = take(&r, glen)) == NULL || !group_ok(p, glen))
		goto fail;
	memcpy(u->group, p, glen);
	if ((p = take(&r, 17)) == NULL)
		goto fail;
	u->counter = e2e__load64(p);
	u->issued = e2e__load64(p + 8);
	u->nkeys = p[16];
	if (u->counter == 0 || u->issued > E2E__TIME_MAX || u->nkeys == 0 ||
	    u->nkeys > E2E_UPDATE_KEYS_MAX)
		goto fail;
	for (i = 0; i < u->nkeys; i++) {
		if (parse_key(u, &r, &u->keys[i], last, &foff) != E2E_OK)
			goto fail;
		last = u->keys[i].id;
	}
	if (!primaries_distinct(u) || parse_slots(u, &r) != E2E_OK ||
	    r.pos != len)
		goto fail;
	return E2E_OK;
fail:
	clear(u);
	return rc;
}

/* Verify the envelope (the admin's signature over body and topic) and
 * leave its body in u->body. */
static int open_envelope(e2e_update *u, const e2e_update_opener *o,
			 const char *topic, const uint8_t *env, size_t env_len,
			 uint32_t delivery)
{
	e2e_receiver r;
	e2e_trust *t = NULL;
	e2e_info info;
	uint8_t *b;
	int rc;

	/* An admin-signed aead or mac envelope is not an update, whatever it
	 * holds: updates are suite none, their body in clear. */
	if (e2e_parse(env, env_len, &info) == E2E_OK &&
	    info.suite != E2E_SUITE_NONE)
		return E2E_ERR_BAD_UPDATE;
	if (u->body_cap < env_len) {
		if ((b = malloc(env_len)) == NULL)
			return E2E_ERR_NOMEM;
		free(u->body);
		u->body = b;
		u->body_cap = env_len;
	}
	/* The admin is trusted on every topic: the topic binding of its
	 * signature ties the update to the one it was delivered on. "#"
	 * matches every topic but those starting with '$', refused before. */
	if ((rc = e2e_trust_new(&t)) != E2E_OK ||
	    (rc = e2e_trust_add(t, o->admin_public_key, "#")) != E2E_OK)
		goto done;
	memset(&r, 0, sizeof r);
	r.trust = t;
	r.require = E2E_REQUIRE_SIGNATURE;
	rc = e2e_open(&r, topic, env, env_len, delivery, u->body, u->body_cap,
		      &u->body_len, NULL);
done:
	e2e_trust_free(t);
	return rc;
}

static struct ukey *table_find(e2e_update *u, uint32_t id)
{
	size_t i;

	for (i = 0; i < u->nkeys; i++)
		if (u->keys[i].id == id)
			return &u->keys[i];
	return NULL;
}

/* Find the member's slot, open its box, check its key ids against the
 * table and keep the keys. */
static int open_slot(e2e_update *u, const e2e_member *m)
{
	const uint8_t *s = u->body + u->slots, *box;
	uint64_t mid = e2e_member_id(m);
	struct ukey *k;
	size_t i, n = 0;
	uint32_t id, last = 0;

	for (i = 0; i < u->nslots; i++) {
		n = s[8];
		if (e2e__load64(s) == mid)
			break;
		s += E2E_UPDATE_SLOT_BYTES(n);
	}
	if (i == u->nslots)
		return E2E_ERR_NOT_RECIPIENT;
	box = s + 9;
	if (crypto_box_seal_open(u->plain, box, BOX_OVERHEAD + SLOT_KEY * n,
				 e2e__member_public(m),
				 e2e__member_secret(m)) != 0)
		return E2E_ERR_BAD_SLOT;
	for (i = 0; i < n; i++) {
		id = e2e__load32(u->plain + SLOT_KEY * i);
		k = table_find(u, id);
		/* Increasing ids, each a listed key that is not disabled: the
		 * box says which keys the member gets, the signed table what
		 * they are. */
		if (id <= last || k == NULL || k->state == E2E_KEY_DISABLED)
			return E2E_ERR_BAD_SLOT;
		memcpy(k->key, u->plain + SLOT_KEY * i + 4, E2E_KEYBYTES);
		k->in_slot = 1;
		last = id;
	}
	return E2E_OK;
}

E2E_API int e2e_update_open(e2e_update *u, const e2e_update_opener *o,
			    const char *topic, const uint8_t *env,
			    size_t env_len, uint32_t delivery)
{
	int rc;

	if (u == NULL)
		return E2E_ERR_INVAL;
	clear(u);
	if (o == NULL || o->admin_public_key == NULL || o->group == NULL ||
	    o->member == NULL || topic == NULL || (env == NULL && env_len > 0))
		return E2E_ERR_INVAL;
	if (topic[0] == '$')
		return E2E_ERR_TOPIC;
	if ((rc = open_envelope(u, o, topic, env, env_len, delivery)) != E2E_OK)
		goto cleanup;
	if ((rc = e2e__update_parse(u, u->body, u->body_len)) != E2E_OK)
		goto cleanup;
	if (strcmp(u->group, o->group) != 0)
		rc = E2E_ERR_WRONG_GROUP;
	else if (u->counter < o->last_counter)
		rc = E2E_ERR_ROLLBACK;
	else if (u->counter == o->last_counter)
		rc = E2E_ERR_REPLAY;
	else
		rc = open_slot(u, o->member);
cleanup:
	sodium_memzero(u->plain, sizeof u->plain);
	if (rc != E2E_OK)
		clear(u);
	else
		u->valid = 1;
	return rc;
}

E2E_API uint64_t e2e_update_counter(const e2e_update *u)
{
	return u != NULL && u->valid ? u->counter : 0;
}

E2E_API uint64_t e2e_update_issued(const e2e_update *u)
{
	return u != NULL && u->valid ? u->issued : 0;
}

E2E_API const char *e2e_update_group(const e2e_update *u)
{
	return u != NULL && u->valid ? u->group : "";
}

E2E_API size_t e2e_update_key_count(const e2e_update *u)
{
	return u != NULL && u->valid ? u->nkeys : 0;
}

E2E_API int e2e_update_key_get(const e2e_update *u, size_t index,
			       e2e_update_key *key)
{
	const struct ukey *k;

	if (u == NULL || !u->valid || key == NULL || index >= u->nkeys)
		return E2E_ERR_INVAL;
	k = &u->keys[index];
	memset(key, 0, sizeof *key);
	key->id = k->id;
	key->suite = (e2e_suite)k->suite;
	key->state = (e2e_key_state)k->state;
	key->activates = k->activates;
	key->disables = k->disables;
	key->filters = u->filters + k->filters;
	key->in_slot = k->in_slot;
	return E2E_OK;
}

/* ------------------------------------------------------------------------ */
/* Applying (docs/KEYDIST.md section 8)                                     */
/* ------------------------------------------------------------------------ */

/*
 * What the member's keyring will hold of table key k: the key from its slot,
 * else the same key (same id and suite) if kr holds it already, else
 * nothing. The table is the whole key set: a listed key the member had
 * before keeps its material and takes the table's state and schedule (the
 * old key, disabled at T, during a revocation that gives it no new copy).
 */
static const uint8_t *material(const struct ukey *k, const e2e_keyring *kr,
			       int64_t *created, int64_t issued)
{
	const struct e2e__key *held;

	*created = issued;
	if (k->in_slot)
		return k->key;
	held = e2e__keyring_lookup(kr, k->id);
	if (held == NULL || held->suite != k->suite)
		return NULL;
	*created = held->created;
	return held->key;
}

static const char *filters_of(const e2e_update *u, const struct ukey *k)
{
	return u->filters + k->filters;
}

/* The primary key of k's scope (keys with the same filters) in the new set
 * that took over last by now (activation time 0: from the start), or
 * NULL. */
static const struct ukey *latest_primary(const e2e_update *u,
					 const struct ukey *of,
					 const e2e_keyring *kr, uint64_t now)
{
	const struct ukey *best = NULL;
	int64_t created;
	size_t i;

	for (i = 0; i < u->nkeys; i++) {
		const struct ukey *k = &u->keys[i];
		if (k->state == E2E_KEY_PRIMARY && k->activates <= now &&
		    strcmp(filters_of(u, k), filters_of(u, of)) == 0 &&
		    material(k, kr, &created, 0) != NULL &&
		    (best == NULL || k->activates > best->activates))
			best = k;
	}
	return best;
}

/* The keyring entry for table key k, stored as of now: the state it has
 * now, and only the schedule times still to come. */
static void entry(const struct ukey *k, const uint8_t *key, int64_t created,
		  const struct ukey *latest, uint64_t now, struct e2e__key *e)
{
	e->id = k->id;
	e->suite = k->suite;
	e->created = created;
	memcpy(e->key, key, E2E_KEYBYTES);
	if (k->state == E2E_KEY_DISABLED ||
	    (k->disables != 0 && k->disables <= now)) {
		e->state = E2E_KEY_DISABLED;
		return;
	}
	e->disables = k->disables;
	if (k == latest)
		e->state = E2E_KEY_PRIMARY;
	else if (k->state == E2E_KEY_PRIMARY && k->activates > now) {
		e->state = E2E_KEY_ENABLED;
		e->activates = k->activates;
	} else
		e->state = E2E_KEY_ENABLED; /* enabled, or superseded */
}

E2E_API int e2e_update_apply(const e2e_update *u, e2e_keyring *kr, uint64_t now)
{
	const uint8_t *key;
	struct e2e__key *keys;
	int64_t created;
	size_t i, n = 0;
	int rc = E2E_OK;

	if (u == NULL || !u->valid || kr == NULL)
		return E2E_ERR_INVAL;
	now = now != 0 ? now : e2e__now();
	keys = sodium_malloc(E2E_UPDATE_KEYS_MAX * sizeof *keys);
	if (keys == NULL)
		return E2E_ERR_NOMEM;
	memset(keys, 0, E2E_UPDATE_KEYS_MAX * sizeof *keys);
	/* The table is in increasing id order, and so is the new keyring;
	 * keys it does not list are gone. */
	for (i = 0; i < u->nkeys && rc == E2E_OK; i++) {
		const struct ukey *k = &u->keys[i];

		key = material(k, kr, &created, (int64_t)u->issued);
		if (key == NULL)
			continue;
		entry(k, key, created, latest_primary(u, k, kr, now), now,
		      &keys[n]);
		/* A filter with a blank cannot be kept in a keyring file. */
		keys[n++].filters = e2e__filters_dup(filters_of(u, k), &rc);
	}
	if (rc != E2E_OK) {
		for (i = 0; i < n; i++)
			free(keys[i].filters);
		sodium_free(keys);
		return rc;
	}
	e2e__keyring_replace(kr, keys, n, E2E_UPDATE_KEYS_MAX);
	return E2E_OK;
}
