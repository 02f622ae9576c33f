/*
 * Key updates, the admin's side (docs/KEYDIST.md section 4): the body of an
 * update from the keys and the members' public keys, each member's keys
 * sealed to it with crypto_box_seal.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define HEAD_FIXED (4u + 1u + 1u + 8u + 8u + 1u) /* magic .. key count */
#define KEY_FIXED 24u
#define SLOT_KEY 36u

static e2e__ephemeral_fn ephemeral_fn;
static void *ephemeral_ctx;

void e2e__update_set_ephemeral(e2e__ephemeral_fn fn, void *ctx)
{
	ephemeral_fn = fn;
	ephemeral_ctx = ctx;
}

static const char *filters_of(const e2e_update_key *k)
{
	return k->filters != NULL ? k->filters : "";
}

static int key_ok(const e2e_update_key *k)
{
	return k->id != 0 &&
	       (k->suite == E2E_SUITE_AEAD || k->suite == E2E_SUITE_MAC) &&
	       (unsigned)k->state <= E2E_KEY_PRIMARY &&
	       k->activates <= E2E__TIME_MAX && k->disables <= E2E__TIME_MAX &&
	       (k->key != NULL || k->state == E2E_KEY_DISABLED) &&
	       e2e__filters_valid(filters_of(k));
}

/* The table: valid keys, distinct ids, the primaries of a scope (the same
 * filters) at distinct times. */
static int keys_ok(const e2e_update_params *p)
{
	size_t i, j;

	if (p->keys == NULL || p->key_count == 0 ||
	    p->key_count > E2E_UPDATE_KEYS_MAX)
		return 0;
	for (i = 0; i < p->key_count; i++) {
		const e2e_update_key *a = &p->keys[i];
		if (!key_ok(a))
			return 0;
		for (j = i + 1; j < p->key_count; j++) {
			const e2e_update_key *b = &p->keys[j];
			if (a->id == b->id ||
			    (a->state == E2E_KEY_PRIMARY &&
			     b->state == E2E_KEY_PRIMARY &&
			     a->activates == b->activates &&
			     strcmp(filters_of(a), filters_of(b)) == 0))
				return 0;
		}
	}
	return 1;
}

static const e2e_update_key *find_key(const e2e_update_params *p, uint32_t id)
{
	size_t i;

	for (i = 0; i < p->key_count; i++)
		if (p->keys[i].id == id)
			return &p->keys[i];
	return NULL;
}

/* A recipient gets distinct keys of the table, none disabled. */
static int recipient_ok(const e2e_update_params *p,
			const e2e_update_recipient *r)
{
	const e2e_update_key *k;
	size_t i, j;

	if (r->public_key == NULL || r->key_id_count > p->key_count ||
	    (r->key_ids == NULL && r->key_id_count > 0))
		return 0;
	for (i = 0; i < r->key_id_count; i++) {
		k = find_key(p, r->key_ids[i]);
		if (k == NULL || k->state == E2E_KEY_DISABLED)
			return 0;
		for (j = i + 1; j < r->key_id_count; j++)
			if (r->key_ids[i] == r->key_ids[j])
				return 0;
	}
	return 1;
}

static int params_ok(const e2e_update_params *p)
{
	size_t i, glen;

	if (p == NULL || p->group == NULL || p->counter == 0 ||
	    p->issued > E2E__TIME_MAX || !keys_ok(p) ||
	    p->recipient_count > E2E_UPDATE_RECIPIENTS_MAX ||
	    (p->recipients == NULL && p->recipient_count > 0))
		return 0;
	glen = strnlen(p->group, E2E_UPDATE_GROUP_MAX + 1);
	if (glen == 0 || glen > E2E_UPDATE_GROUP_MAX ||
	    strspn(p->group,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY"
		   "Z0123456789._-") != glen)
		return 0;
	for (i = 0; i < p->recipient_count; i++)
		if (!recipient_ok(p, &p->recipients[i]))
			return 0;
	return 1;
}

E2E_API size_t e2e_update_body_len(const e2e_update_params *p)
{
	size_t n, i;

	if (!params_ok(p))
		return 0;
	n = HEAD_FIXED + strlen(p->group) + 2;
	for (i = 0; i < p->key_count; i++)
		n += KEY_FIXED + strlen(filters_of(&p->keys[i]));
	for (i = 0; i < p->recipient_count; i++)
		n += E2E_UPDATE_SLOT_BYTES(p->recipients[i].key_id_count);
	return n;
}

static int by_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

struct order {
	uint64_t mid;
	size_t index;
};

static int by_mid(const void *a, const void *b)
{
	uint64_t x = ((const struct order *)a)->mid;
	uint64_t y = ((const struct order *)b)->mid;

	return (x > y) - (x < y);
}

static uint8_t *put_key(uint8_t *o, const e2e_update_key *k)
{
	const char *f = filters_of(k);
	size_t flen = strlen(f);

	e2e__store32(o, k->id);
	o[4] = (uint8_t)k->suite;
	o[5] = (uint8_t)k->state;
	e2e__store64(o + 6, k->activates);
	e2e__store64(o + 14, k->disables);
	o[22] = (uint8_t)(flen >> 8);
	o[23] = (uint8_t)flen;
	memcpy(o + KEY_FIXED, f, flen);
	return o + KEY_FIXED + flen;
}

/* crypto_box_seal with a given ephemeral secret key: what libsodium does
 * with a random one (epk || crypto_box(m, BLAKE2b-192(epk || pk), esk)). */
static int seal_fixed(uint8_t *c, const uint8_t *m, size_t mlen,
		      const uint8_t *pk, size_t index)
{
	uint8_t esk[crypto_box_SECRETKEYBYTES], nonce[crypto_box_NONCEBYTES];
	crypto_generichash_state st;
	int rc;

	ephemeral_fn(ephemeral_ctx, index, esk);
	crypto_scalarmult_base(c, esk);
	crypto_generichash_init(&st, NULL, 0, sizeof nonce);
	crypto_generichash_update(&st, c, crypto_box_PUBLICKEYBYTES);
	crypto_generichash_update(&st, pk, crypto_box_PUBLICKEYBYTES);
	crypto_generichash_final(&st, nonce, sizeof nonce);
	rc = crypto_box_easy(c + crypto_box_PUBLICKEYBYTES, m, mlen, nonce, pk,
			     esk);
	sodium_memzero(esk, sizeof esk);
	return rc;
}

/* One recipient's slot: member id, key count, the sealed (id, key) list. */
static int put_slot(uint8_t *o, const e2e_update_params *p,
		    const e2e_update_recipient *r, uint64_t mid, size_t index)
{
	uint8_t plain[SLOT_KEY * E2E_UPDATE_KEYS_MAX];
	uint32_t ids[E2E_UPDATE_KEYS_MAX];
	size_t i, n = r->key_id_count;
	int rc;

	e2e__store64(o, mid);
	o[8] = (uint8_t)n;
	if (n > 0)
		memcpy(ids, r->key_ids, n * sizeof ids[0]);
	qsort(ids, n, sizeof ids[0], by_u32);
	for (i = 0; i < n; i++) {
		e2e__store32(plain + SLOT_KEY * i, ids[i]);
		memcpy(plain + SLOT_KEY * i + 4, find_key(p, ids[i])->key,
		       E2E_KEYBYTES);
	}
	rc = ephemeral_fn != NULL ? seal_fixed(o + 9, plain, SLOT_KEY * n,
					       r->public_key, index)
				  : crypto_box_seal(o + 9, plain, SLOT_KEY * n,
						    r->public_key);
	sodium_memzero(plain, sizeof plain);
	/* libsodium refuses a public key of low order. */
	return rc == 0 ? E2E_OK : E2E_ERR_INVAL;
}

static int put_slots(uint8_t *o, const e2e_update_params *p)
{
	struct order *ord = NULL;
	size_t i, n = p->recipient_count;
	int rc = E2E_OK;

	o[0] = (uint8_t)(n >> 8);
	o[1] = (uint8_t)n;
	o += 2;
	if (n == 0)
		return E2E_OK;
	if ((ord = malloc(n * sizeof *ord)) == NULL)
		return E2E_ERR_NOMEM;
	for (i = 0; i < n; i++) {
		ord[i].mid =
			e2e_member_id_from_public(p->recipients[i].public_key);
		ord[i].index = i;
	}
	qsort(ord, n, sizeof *ord, by_mid);
	for (i = 0; i < n && rc == E2E_OK; i++) {
		const e2e_update_recipient *r = &p->recipients[ord[i].index];
		/* One slot per member id. */
		if (i > 0 && ord[i].mid == ord[i - 1].mid)
			rc = E2E_ERR_INVAL;
		else
			rc = put_slot(o, p, r, ord[i].mid, ord[i].index);
		o += E2E_UPDATE_SLOT_BYTES(r->key_id_count);
	}
	free(ord);
	return rc;
}

E2E_API int e2e_update_build(const e2e_update_params *p, uint8_t *out,
			     size_t out_cap, size_t *out_len)
{
	const e2e_update_key *sorted[E2E_UPDATE_KEYS_MAX];
	size_t len, glen, i, j;
	uint8_t *o = out;
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (out == NULL || out_len == NULL ||
	    (len = e2e_update_body_len(p)) == 0)
		return E2E_ERR_INVAL;
	if (out_cap < len)
		return E2E_ERR_BUFFER_TOO_SMALL;
	glen = strlen(p->group);
	memcpy(o, "e2ku", 4);
	o[4] = 1;
	o[5] = (uint8_t)glen;
	memcpy(o + 6, p->group, glen);
	o += 6 + glen;
	e2e__store64(o, p->counter);
	e2e__store64(o + 8, p->issued);
	o[16] = (uint8_t)p->key_count;
	o += 17;
	/* Insertion sort by id: at most 64 keys. */
	for (i = 0; i < p->key_count; i++) {
		for (j = i; j > 0 && sorted[j - 1]->id > p->keys[i].id; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = &p->keys[i];
	}
	for (i = 0; i < p->key_count; i++)
		o = put_key(o, sorted[i]);
	if ((rc = put_slots(o, p)) != E2E_OK) {
		sodium_memzero(out, out_cap);
		return rc;
	}
	*out_len = len;
	return E2E_OK;
}
