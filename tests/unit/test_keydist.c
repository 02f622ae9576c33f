/*
 * Key schedules and key updates (docs/KEYDIST.md sections 4, 7 and 8),
 * beyond the vectors: a keyring switches its primary at T by itself, keeps
 * accepting the old key in the grace period and refuses it after; applying
 * an update gives exactly the member's key set; the builder refuses what
 * the format cannot say; the member key pair.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <sodium.h>

#include "e2e.h"
#include "internal.h"

#define assert_ok(expr) assert_string_equal(e2e_err_name(expr), "E2E_OK")
#define assert_err(expr, want) assert_string_equal(e2e_err_name(expr), #want)

#define ISSUED 1767225600u
#define T (ISSUED + 86400u)
#define GRACE 3600u
#define OLD_ID 0x1a2b3c4du
#define NEW_ID 0x5e6f7081u
#define TOPIC "plant-7/line-1/temp"
#define UPDATE_TOPIC "e2e/keys/plant-7"

static const uint8_t key_old[E2E_KEYBYTES] = {1, 1, 1};
static const uint8_t key_new[E2E_KEYBYTES] = {2, 2, 2};

/* A keyring as a member holds it after the rotation update: the old key
 * primary until T and disabled at T + GRACE, the new one primary at T. */
static e2e_keyring *rotation_keyring(void)
{
	e2e_keyring *kr = NULL;
	e2e_key_info old = {OLD_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 0};
	e2e_key_info new = {NEW_ID, E2E_SUITE_AEAD, E2E_KEY_ENABLED, 0};

	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_keyring_add(kr, &old, key_old));
	assert_ok(e2e_keyring_add(kr, &new, key_new));
	assert_ok(e2e_keyring_schedule(kr, OLD_ID, 0, T + GRACE));
	assert_ok(e2e_keyring_schedule(kr, NEW_ID, T, 0));
	return kr;
}

static uint32_t primary_at(const e2e_keyring *kr, uint64_t t)
{
	e2e_key_info info;

	if (e2e_keyring_primary_at(kr, t, &info) != E2E_OK)
		return 0;
	return info.id;
}

static void schedule_switches_primary_at_activation(void **state)
{
	e2e_keyring *kr = rotation_keyring();

	(void)state;
	assert_int_equal(primary_at(kr, T - 1), OLD_ID);
	assert_int_equal(primary_at(kr, T), NEW_ID);
	assert_int_equal(primary_at(kr, T + GRACE + 1), NEW_ID);
	e2e_keyring_free(kr);
}

static void schedule_states_across_grace(void **state)
{
	e2e_keyring *kr = rotation_keyring();
	e2e_key_state st;

	(void)state;
	assert_ok(e2e_keyring_state_at(kr, NEW_ID, T - 1, &st));
	assert_int_equal(st, E2E_KEY_ENABLED); /* held and accepted before T */
	assert_ok(e2e_keyring_state_at(kr, OLD_ID, T, &st));
	assert_int_equal(st, E2E_KEY_ENABLED); /* grace */
	assert_ok(e2e_keyring_state_at(kr, OLD_ID, T + GRACE, &st));
	assert_int_equal(st, E2E_KEY_DISABLED);
	/* The stored states do not move by themselves. */
	e2e_key_info info;
	assert_ok(e2e_keyring_find(kr, OLD_ID, &info));
	assert_int_equal(info.state, E2E_KEY_PRIMARY);
	e2e_keyring_free(kr);
}

/* Seal explicitly with key id/key at timestamp ts, open at now. */
static int open_at(const e2e_keyring *kr, uint32_t id, const uint8_t *key,
		   uint64_t now)
{
	static const uint8_t salt[E2E_SALT_BYTES] = {9};
	uint8_t env[128], out[64];
	size_t len = 0, olen = 0;
	e2e_seal_params p = {E2E_SUITE_AEAD, id, key, NULL, 42, 1,
			     (uint32_t)now,  0,  salt};
	e2e_receiver r = {kr, NULL, NULL, 0, now, NULL, 0};

	assert_ok(e2e_seal_explicit(&p, TOPIC, (const uint8_t *)"21.5", 4, env,
				    sizeof env, &len));
	return e2e_open(&r, TOPIC, env, len, 0, out, sizeof out, &olen, NULL);
}

static void open_accepts_new_key_before_activation(void **state)
{
	e2e_keyring *kr = rotation_keyring();

	(void)state;
	/* A publisher whose clock is ahead switched already. */
	assert_ok(open_at(kr, NEW_ID, key_new, T - 30));
	e2e_keyring_free(kr);
}

static void open_accepts_old_key_in_grace(void **state)
{
	e2e_keyring *kr = rotation_keyring();

	(void)state;
	/* A publisher whose clock is behind still seals with the old key. */
	assert_ok(open_at(kr, OLD_ID, key_old, T + 30));
	assert_ok(open_at(kr, OLD_ID, key_old, T + GRACE - 1));
	e2e_keyring_free(kr);
}

static void open_refuses_old_key_after_grace(void **state)
{
	e2e_keyring *kr = rotation_keyring();

	(void)state;
	assert_err(open_at(kr, OLD_ID, key_old, T + GRACE),
		   E2E_ERR_DISABLED_KEY);
	e2e_keyring_free(kr);
}

static void seal_uses_primary_of_the_clock(void **state)
{
	uint64_t now = (uint64_t)time(NULL);
	e2e_keyring *kr = NULL;
	e2e_sender *s = NULL;
	e2e_key_info a = {OLD_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 0};
	e2e_key_info b = {NEW_ID, E2E_SUITE_AEAD, E2E_KEY_ENABLED, 0};
	e2e_info info;
	uint8_t env[128];
	size_t len = 0;

	(void)state;
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_keyring_add(kr, &a, key_old));
	assert_ok(e2e_keyring_add(kr, &b, key_new));
	assert_ok(e2e_sender_new(&s, NULL));
	/* Activation an hour ahead: still the old key. */
	assert_ok(e2e_keyring_schedule(kr, NEW_ID, now + 3600, 0));
	assert_ok(e2e_seal(s, kr, TOPIC, (const uint8_t *)"x", 1, 0, env,
			   sizeof env, &len));
	assert_ok(e2e_parse(env, len, &info));
	assert_int_equal(info.key_id, OLD_ID);
	/* Activation an hour ago: the new key, without anyone calling in. */
	assert_ok(e2e_keyring_schedule(kr, NEW_ID, now - 3600, 0));
	assert_ok(e2e_seal(s, kr, TOPIC, (const uint8_t *)"x", 1, 0, env,
			   sizeof env, &len));
	assert_ok(e2e_parse(env, len, &info));
	assert_int_equal(info.key_id, NEW_ID);
	e2e_sender_free(s);
	e2e_keyring_free(kr);
}

static void schedule_disabled_latest_primary_leaves_none(void **state)
{
	e2e_keyring *kr = rotation_keyring();

	(void)state;
	/* The new key is retired before anything replaced it: the old one
	 * is not revived. */
	assert_ok(e2e_keyring_schedule(kr, OLD_ID, 0, 0));
	assert_ok(e2e_keyring_schedule(kr, NEW_ID, T, T + 10));
	assert_int_equal(primary_at(kr, T + 5), NEW_ID);
	assert_int_equal(primary_at(kr, T + 10), 0);
	e2e_keyring_free(kr);
}

static void advance_keeps_every_later_state(void **state)
{
	static const uint64_t times[] = {
		T - 1, T, T + 1, T + GRACE - 1, T + GRACE, T + 10 * GRACE};
	static const uint64_t stops[] = {ISSUED, T, T + 60, T + GRACE};
	e2e_key_state a, b;

	(void)state;
	for (size_t s = 0; s < sizeof stops / sizeof stops[0]; s++) {
		e2e_keyring *ref = rotation_keyring(), *kr = rotation_keyring();

		assert_ok(e2e_keyring_advance(kr, stops[s]));
		for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
			if (times[i] < stops[s])
				continue;
			assert_int_equal(primary_at(kr, times[i]),
					 primary_at(ref, times[i]));
			for (uint32_t id = OLD_ID; id;
			     id = id == OLD_ID ? NEW_ID : 0) {
				assert_ok(e2e_keyring_state_at(ref, id,
							       times[i], &a));
				assert_ok(e2e_keyring_state_at(kr, id, times[i],
							       &b));
				assert_int_equal(a, b);
			}
		}
		e2e_keyring_free(ref);
		e2e_keyring_free(kr);
	}
}

static void advance_stores_states_and_forgets_passed_times(void **state)
{
	e2e_keyring *kr = rotation_keyring();
	e2e_key_info info;
	uint64_t act, dis;

	(void)state;
	assert_ok(e2e_keyring_advance(kr, T + 1));
	assert_ok(e2e_keyring_primary(kr, &info)); /* the stored primary */
	assert_int_equal(info.id, NEW_ID);
	assert_ok(e2e_keyring_schedule_get(kr, NEW_ID, &act, &dis));
	assert_true(act == 0 && dis == 0);
	assert_ok(e2e_keyring_schedule_get(kr, OLD_ID, &act, &dis));
	assert_true(act == 0 && dis == T + GRACE);
	e2e_keyring_free(kr);
}

static void schedule_refuses_unknown_key_and_huge_times(void **state)
{
	e2e_keyring *kr = rotation_keyring();

	(void)state;
	assert_err(e2e_keyring_schedule(kr, 99, T, 0), E2E_ERR_NOT_FOUND);
	assert_err(e2e_keyring_schedule(kr, OLD_ID, UINT64_MAX, 0),
		   E2E_ERR_INVAL);
	e2e_keyring_free(kr);
}

/* ------------------------------------------------------------------------ */
/* Updates built here, opened and applied                                   */
/* ------------------------------------------------------------------------ */

struct world {
	e2e_signer *admin;
	e2e_member *alice, *bob;
	uint8_t alice_pk[32], bob_pk[32];
	e2e_update *u;
	uint8_t env[4096];
	size_t env_len;
	uint64_t seq;
};

static int setup(void **state)
{
	static struct world w;

	memset(&w, 0, sizeof w);
	if (e2e_signer_generate(&w.admin) != E2E_OK ||
	    e2e_member_generate(&w.alice) != E2E_OK ||
	    e2e_member_generate(&w.bob) != E2E_OK ||
	    e2e_update_new(&w.u) != E2E_OK)
		return -1;
	e2e_member_public(w.alice, w.alice_pk);
	e2e_member_public(w.bob, w.bob_pk);
	w.seq = 1;
	*state = &w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	e2e_signer_free(w->admin);
	e2e_member_free(w->alice);
	e2e_member_free(w->bob);
	e2e_update_free(w->u);
	return 0;
}

/* Build, seal and keep in w->env an update of the given keys for alice
 * (alice_ids) and bob (bob_ids; NULL: bob gets no slot). */
static void publish(struct world *w, uint64_t counter,
		    const e2e_update_key *keys, size_t nkeys,
		    const uint32_t *alice_ids, size_t na,
		    const uint32_t *bob_ids, size_t nb)
{
	e2e_update_recipient r[2] = {{w->alice_pk, alice_ids, na},
				     {w->bob_pk, bob_ids, nb}};
	e2e_update_params p = {"plant-7", counter, ISSUED,           keys,
			       nkeys,     r,       bob_ids ? 2u : 1u};
	uint8_t body[2048];
	size_t len = 0;
	e2e_seal_params sp;

	assert_ok(e2e_update_build(&p, body, sizeof body, &len));
	memset(&sp, 0, sizeof sp);
	sp.suite = E2E_SUITE_NONE;
	sp.signer = w->admin;
	sp.sender_id = e2e_signer_id(w->admin);
	sp.seq = w->seq++;
	sp.timestamp = ISSUED;
	sp.flags = E2E_SEAL_RETAINED;
	assert_ok(e2e_seal_explicit(&sp, UPDATE_TOPIC, body, len, w->env,
				    sizeof w->env, &w->env_len));
}

static int open_as(struct world *w, const e2e_member *m, uint64_t last)
{
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	e2e_update_opener o;

	e2e_signer_public(w->admin, pk);
	o = (e2e_update_opener){pk, "plant-7", m, last};
	return e2e_update_open(w->u, &o, UPDATE_TOPIC, w->env, w->env_len,
			       E2E_DELIVERY_RETAINED);
}

static const e2e_update_key k_old = {
	OLD_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 0, T + GRACE, "", key_old, 0};
static const e2e_update_key k_new = {
	NEW_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, T, 0, "", key_new, 0};

static void apply_before_activation_keeps_old_primary(void **state)
{
	struct world *w = *state;
	const e2e_update_key keys[] = {k_old, k_new};
	const uint32_t ids[] = {NEW_ID, OLD_ID};
	e2e_keyring *kr = NULL;
	uint64_t act, dis;

	publish(w, 1, keys, 2, ids, 2, NULL, 0);
	assert_ok(open_as(w, w->alice, 0));
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_update_apply(w->u, kr, ISSUED + 60));
	assert_int_equal(e2e_keyring_count(kr), 2);
	assert_int_equal(primary_at(kr, ISSUED + 60), OLD_ID);
	assert_int_equal(primary_at(kr, T), NEW_ID);
	assert_ok(e2e_keyring_schedule_get(kr, NEW_ID, &act, &dis));
	assert_true(act == T && dis == 0);
	assert_ok(open_at(kr, OLD_ID, key_old, T + GRACE - 1));
	assert_err(open_at(kr, OLD_ID, key_old, T + GRACE),
		   E2E_ERR_DISABLED_KEY);
	e2e_keyring_free(kr);
}

static void apply_after_activation_stores_new_primary(void **state)
{
	struct world *w = *state;
	const e2e_update_key keys[] = {k_old, k_new};
	const uint32_t ids[] = {OLD_ID, NEW_ID};
	e2e_keyring *kr = NULL;
	e2e_key_info info;

	publish(w, 1, keys, 2, ids, 2, NULL, 0);
	assert_ok(open_as(w, w->alice, 0));
	assert_ok(e2e_keyring_new(&kr));
	/* A member that was offline across T applies it late. */
	assert_ok(e2e_update_apply(w->u, kr, T + 10));
	assert_ok(e2e_keyring_primary(kr, &info));
	assert_int_equal(info.id, NEW_ID);
	assert_ok(e2e_keyring_find(kr, OLD_ID, &info));
	assert_int_equal(info.state, E2E_KEY_ENABLED);
	e2e_keyring_free(kr);
}

static void apply_removes_keys_the_update_does_not_list(void **state)
{
	struct world *w = *state;
	const e2e_update_key keys[] = {k_new};
	const uint32_t ids[] = {NEW_ID};
	e2e_key_info stale = {0x0badc0de, E2E_SUITE_MAC, E2E_KEY_PRIMARY, 5};
	e2e_keyring *kr = NULL;
	e2e_key_info info;

	publish(w, 5, keys, 1, ids, 1, NULL, 0);
	assert_ok(open_as(w, w->alice, 2));
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_keyring_add(kr, &stale, key_old));
	/* Missed updates 3 and 4: the retained one still converges. */
	assert_ok(e2e_update_apply(w->u, kr, T + 1));
	assert_int_equal(e2e_keyring_count(kr), 1);
	assert_err(e2e_keyring_find(kr, stale.id, &info), E2E_ERR_NOT_FOUND);
	assert_int_equal(primary_at(kr, T + 1), NEW_ID);
	e2e_keyring_free(kr);
}

static void apply_keeps_listed_held_key_with_its_new_schedule(void **state)
{
	struct world *w = *state;
	/* A revocation: bob gets only the new key; the old one, which bob
	 * holds, is listed with its disable time moved to T. */
	e2e_update_key old_at_t = k_old;
	const uint32_t ids[] = {NEW_ID};
	e2e_update_key keys[2];
	e2e_key_info held = {OLD_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 3};
	e2e_keyring *kr = NULL;

	old_at_t.disables = T;
	keys[0] = old_at_t;
	keys[1] = k_new;
	publish(w, 9, keys, 2, ids, 1, ids, 1);
	assert_ok(open_as(w, w->bob, 8));
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_keyring_add(kr, &held, key_old));
	assert_ok(e2e_update_apply(w->u, kr, ISSUED + 60));
	assert_int_equal(e2e_keyring_count(kr), 2);
	/* Publishers still on the old key until T are not lost... */
	assert_ok(open_at(kr, OLD_ID, key_old, T - 1));
	/* ...and after T it opens nothing. */
	assert_err(open_at(kr, OLD_ID, key_old, T), E2E_ERR_DISABLED_KEY);
	assert_int_equal(primary_at(kr, T), NEW_ID);
	e2e_keyring_free(kr);
}

static void removed_member_gets_no_slot(void **state)
{
	struct world *w = *state;
	const e2e_update_key keys[] = {k_new};
	const uint32_t ids[] = {NEW_ID};

	publish(w, 9, keys, 1, ids, 1, NULL, 0);
	assert_err(open_as(w, w->bob, 8), E2E_ERR_NOT_RECIPIENT);
	assert_ok(open_as(w, w->alice, 8));
}

static void open_refuses_replayed_counter(void **state)
{
	struct world *w = *state;
	const e2e_update_key keys[] = {k_new};
	const uint32_t ids[] = {NEW_ID};

	publish(w, 4, keys, 1, ids, 1, NULL, 0);
	assert_err(open_as(w, w->alice, 4), E2E_ERR_REPLAY);
	assert_err(open_as(w, w->alice, 5), E2E_ERR_ROLLBACK);
	assert_ok(open_as(w, w->alice, 3));
}

static void apply_keeps_topic_filters(void **state)
{
	struct world *w = *state;
	e2e_update_key scoped = k_new;
	const uint32_t ids[] = {NEW_ID};
	e2e_keyring *kr = NULL;
	const char *filters;

	scoped.filters = "plant-7/+/temp";
	publish(w, 1, &scoped, 1, ids, 1, NULL, 0);
	assert_ok(open_as(w, w->alice, 0));
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_update_apply(w->u, kr, T + 1));
	assert_ok(e2e_keyring_get_filters(kr, NEW_ID, &filters));
	assert_string_equal(filters, "plant-7/+/temp");
	assert_ok(open_at(kr, NEW_ID, key_new, T + 1)); /* TOPIC matches */
	e2e_keyring_free(kr);
}

static void apply_refuses_filter_with_blank_and_changes_nothing(void **state)
{
	struct world *w = *state;
	e2e_update_key scoped = k_new;
	const uint32_t ids[] = {NEW_ID};
	e2e_key_info held = {OLD_ID, E2E_SUITE_AEAD, E2E_KEY_PRIMARY, 3};
	e2e_keyring *kr = NULL;

	/* A valid MQTT filter, but keyring files separate fields by blanks. */
	scoped.filters = "plant 7/#";
	publish(w, 1, &scoped, 1, ids, 1, NULL, 0);
	assert_ok(open_as(w, w->alice, 0));
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_keyring_add(kr, &held, key_old));
	assert_err(e2e_update_apply(w->u, kr, ISSUED), E2E_ERR_INVAL);
	assert_int_equal(e2e_keyring_count(kr), 1);
	assert_int_equal(primary_at(kr, ISSUED), OLD_ID);
	e2e_keyring_free(kr);
}

static void build_refuses_what_the_format_cannot_say(void **state)
{
	struct world *w = *state;
	e2e_update_key two[2] = {k_old, k_new};
	const uint32_t ids[] = {NEW_ID};
	const uint32_t twice[] = {NEW_ID, NEW_ID};
	const uint32_t gone[] = {0x77};
	e2e_update_recipient r = {w->alice_pk, ids, 1};
	e2e_update_params p = {"plant-7", 1, ISSUED, two, 2, &r, 1};
	uint8_t out[1024];
	size_t len = 1;

	assert_true(e2e_update_body_len(&p) > 0);
	p.counter = 0;
	assert_err(e2e_update_build(&p, out, sizeof out, &len), E2E_ERR_INVAL);
	assert_int_equal(len, 0);
	p.counter = 1;
	p.issued = (uint64_t)1 << 63; /* times stay below 2^63 */
	assert_int_equal(e2e_update_body_len(&p), 0);
	p.issued = ISSUED;
	p.group = "plant 7";
	assert_int_equal(e2e_update_body_len(&p), 0);
	p.group = "plant-7";
	two[1].activates = 0; /* two primaries from the start */
	assert_int_equal(e2e_update_body_len(&p), 0);
	two[1].activates = T;
	two[1].filters = "a/#/b";
	assert_int_equal(e2e_update_body_len(&p), 0);
	two[1].filters = "a/#,,b";
	assert_int_equal(e2e_update_body_len(&p), 0);
	two[1].filters = "";
	r.key_ids = twice;
	r.key_id_count = 2;
	assert_int_equal(e2e_update_body_len(&p), 0);
	r.key_ids = gone;
	r.key_id_count = 1;
	assert_int_equal(e2e_update_body_len(&p), 0);
	r.key_ids = ids;
	assert_err(e2e_update_build(&p, out, 10, &len),
		   E2E_ERR_BUFFER_TOO_SMALL);
	assert_ok(e2e_update_build(&p, out, sizeof out, &len));
	assert_int_equal(len, e2e_update_body_len(&p));
}

static void primaries_of_two_scopes_may_share_an_activation_time(void **state)
{
	struct world *w = *state;
	e2e_update_key site = k_new, tenant = k_new;
	const uint32_t ids[] = {OLD_ID, NEW_ID};
	e2e_keyring *kr = NULL;
	e2e_key_state st;

	site.id = OLD_ID;
	site.key = key_old;
	tenant.filters = "tenant-a/#";
	e2e_update_key keys[] = {site, tenant};
	publish(w, 2, keys, 2, ids, 2, NULL, 0);
	assert_ok(open_as(w, w->alice, 1));
	assert_ok(e2e_keyring_new(&kr));
	assert_ok(e2e_update_apply(w->u, kr, T));
	assert_ok(e2e_keyring_state_at(kr, OLD_ID, T, &st));
	assert_int_equal(st, E2E_KEY_PRIMARY);
	assert_ok(e2e_keyring_state_at(kr, NEW_ID, T, &st));
	assert_int_equal(st, E2E_KEY_PRIMARY);
	e2e_keyring_free(kr);
}

static void update_body_grows_by_slot_bytes_per_member(void **state)
{
	struct world *w = *state;
	const e2e_update_key keys[] = {k_old, k_new};
	const uint32_t ids[] = {OLD_ID, NEW_ID};
	e2e_update_recipient r[2] = {{w->alice_pk, ids, 2},
				     {w->bob_pk, ids, 2}};
	e2e_update_params p = {"plant-7", 1, ISSUED, keys, 2, r, 1};
	size_t one = e2e_update_body_len(&p);

	p.recipient_count = 2;
	assert_int_equal(e2e_update_body_len(&p) - one,
			 E2E_UPDATE_SLOT_BYTES(2));
	assert_int_equal(E2E_UPDATE_SLOT_BYTES(2), 129);
}

static void member_from_secret_gives_its_public_key_and_id(void **state)
{
	uint8_t sk[E2E_MEMBER_SECRETKEYBYTES], pk[32], want[32], back[32];
	e2e_member *m = NULL;

	(void)state;
	randombytes_buf(sk, sizeof sk);
	crypto_scalarmult_base(want, sk);
	assert_ok(e2e_member_from_secret(&m, sk));
	e2e_member_public(m, pk);
	assert_memory_equal(pk, want, 32);
	e2e_member_secret(m, back);
	assert_memory_equal(back, sk, 32);
	assert_true(e2e_member_id(m) == e2e_member_id_from_public(pk));
	assert_true(e2e_member_id(m) == e2e_signer_id_from_public(pk));
	e2e_member_free(m);
}

int main(void)
{
	const struct CMUnitTest schedule[] = {
		cmocka_unit_test(schedule_switches_primary_at_activation),
		cmocka_unit_test(schedule_states_across_grace),
		cmocka_unit_test(open_accepts_new_key_before_activation),
		cmocka_unit_test(open_accepts_old_key_in_grace),
		cmocka_unit_test(open_refuses_old_key_after_grace),
		cmocka_unit_test(seal_uses_primary_of_the_clock),
		cmocka_unit_test(schedule_disabled_latest_primary_leaves_none),
		cmocka_unit_test(advance_keeps_every_later_state),
		cmocka_unit_test(
			advance_stores_states_and_forgets_passed_times),
		cmocka_unit_test(schedule_refuses_unknown_key_and_huge_times),
		cmocka_unit_test(
			member_from_secret_gives_its_public_key_and_id),
	};
	const struct CMUnitTest updates[] = {
		cmocka_unit_test(apply_before_activation_keeps_old_primary),
		cmocka_unit_test(apply_after_activation_stores_new_primary),
		cmocka_unit_test(apply_removes_keys_the_update_does_not_list),
		cmocka_unit_test(
			apply_keeps_listed_held_key_with_its_new_schedule),
		cmocka_unit_test(removed_member_gets_no_slot),
		cmocka_unit_test(open_refuses_replayed_counter),
		cmocka_unit_test(apply_keeps_topic_filters),
		cmocka_unit_test(
			apply_refuses_filter_with_blank_and_changes_nothing),
		cmocka_unit_test(build_refuses_what_the_format_cannot_say),
		cmocka_unit_test(
			primaries_of_two_scopes_may_share_an_activation_time),
		cmocka_unit_test(update_body_grows_by_slot_bytes_per_member),
	};
	int failed;

	if (e2e_init() != E2E_OK)
		return 1;
	failed = cmocka_run_group_tests_name("keyring schedules", schedule,
					     NULL, NULL);
	failed += cmocka_run_group_tests_name("key updates", updates, setup,
					      teardown);
	return failed;
}
