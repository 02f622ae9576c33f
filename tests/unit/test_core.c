/*
 * Unit tests of the in-memory keyring, signers, the trust set, MQTT topic
 * filter matching and the error list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>

#include "e2e.h"
#include "internal.h"

static const uint8_t key_a[E2E_KEYBYTES] = {1};
static const uint8_t key_b[E2E_KEYBYTES] = {2};

static e2e_key_info info_of(uint32_t id, e2e_suite suite, e2e_key_state st)
{
	e2e_key_info i = {id, suite, st, 1700000000};
	return i;
}

static int setup(void **state)
{
	(void)state;
	return e2e_init() == E2E_OK ? 0 : -1;
}

/* ---- errors ---------------------------------------------------------- */

static void every_error_has_name_message_and_reason(void **state)
{
	(void)state;
#define CHECK(name, value, reason, msg)                              \
	assert_string_equal(e2e_err_name(E2E_##name), "E2E_" #name); \
	assert_string_equal(e2e_strerror(E2E_##name), msg);          \
	assert_string_equal(e2e_reason(E2E_##name), reason);
	E2E_ERRNO_MAP(CHECK)
#undef CHECK
}

static void unknown_error_values_never_give_null(void **state)
{
	(void)state;
	assert_string_equal(e2e_err_name(12345), "E2E_ERR_UNKNOWN");
	assert_string_equal(e2e_strerror(-9999), "unknown error");
	assert_string_equal(e2e_reason(77), "unknown");
}

/* ---- keyring --------------------------------------------------------- */

static void keyring_finds_keys_by_id_in_any_insertion_order(void **state)
{
	e2e_keyring *kr;
	e2e_key_info info;
	uint32_t ids[] = {500, 3, 90000, 42, 7};
	size_t i;

	(void)state;
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	for (i = 0; i < 5; i++) {
		e2e_key_info ki =
			info_of(ids[i], E2E_SUITE_AEAD, E2E_KEY_ENABLED);
		assert_int_equal(e2e_keyring_add(kr, &ki, key_a), E2E_OK);
	}
	assert_int_equal(e2e_keyring_count(kr), 5);
	for (i = 0; i < 5; i++) {
		assert_int_equal(e2e_keyring_find(kr, ids[i], &info), E2E_OK);
		assert_int_equal(info.id, ids[i]);
	}
	assert_int_equal(e2e_keyring_find(kr, 8, &info), E2E_ERR_NOT_FOUND);
	/* Listing is in increasing id order. */
	assert_int_equal(e2e_keyring_get(kr, 0, &info), E2E_OK);
	assert_int_equal(info.id, 3);
	assert_int_equal(e2e_keyring_get(kr, 4, &info), E2E_OK);
	assert_int_equal(info.id, 90000);
	assert_int_equal(e2e_keyring_get(kr, 5, &info), E2E_ERR_INVAL);
	e2e_keyring_free(kr);
}

static void keyring_refuses_duplicate_id_zero_id_and_suite_none(void **state)
{
	e2e_keyring *kr;
	e2e_key_info ki = info_of(9, E2E_SUITE_MAC, E2E_KEY_ENABLED);

	(void)state;
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &ki, key_a), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &ki, key_b),
			 E2E_ERR_DUPLICATE_KEY);
	ki.id = 0;
	assert_int_equal(e2e_keyring_add(kr, &ki, key_a), E2E_ERR_INVAL);
	ki.id = 10;
	ki.suite = E2E_SUITE_NONE;
	assert_int_equal(e2e_keyring_add(kr, &ki, key_a), E2E_ERR_INVAL);
	assert_int_equal(e2e_keyring_count(kr), 1);
	e2e_keyring_free(kr);
}

static void keyring_has_at_most_one_primary(void **state)
{
	e2e_keyring *kr;
	e2e_key_info ki = info_of(1, E2E_SUITE_AEAD, E2E_KEY_PRIMARY), p, o;

	(void)state;
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_primary(kr, &p), E2E_ERR_NO_KEY);
	assert_int_equal(e2e_keyring_add(kr, &ki, key_a), E2E_OK);
	ki.id = 2;
	assert_int_equal(e2e_keyring_add(kr, &ki, key_b), E2E_OK);
	assert_int_equal(e2e_keyring_primary(kr, &p), E2E_OK);
	assert_int_equal(p.id, 2);
	assert_int_equal(e2e_keyring_find(kr, 1, &o), E2E_OK);
	assert_int_equal(o.state, E2E_KEY_ENABLED);
	/* Promotion moves the primary back. */
	assert_int_equal(e2e_keyring_set_state(kr, 1, E2E_KEY_PRIMARY), E2E_OK);
	assert_int_equal(e2e_keyring_primary(kr, &p), E2E_OK);
	assert_int_equal(p.id, 1);
	assert_int_equal(e2e_keyring_find(kr, 2, &o), E2E_OK);
	assert_int_equal(o.state, E2E_KEY_ENABLED);
	e2e_keyring_free(kr);
}

static void keyring_refuses_to_disable_or_remove_the_primary(void **state)
{
	e2e_keyring *kr;
	uint32_t id;

	(void)state;
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_generate(kr, E2E_SUITE_AEAD,
					      E2E_KEY_PRIMARY, 0, &id),
			 E2E_OK);
	assert_int_equal(e2e_keyring_set_state(kr, id, E2E_KEY_DISABLED),
			 E2E_ERR_IS_PRIMARY);
	assert_int_equal(e2e_keyring_remove(kr, id), E2E_ERR_IS_PRIMARY);
	assert_int_equal(e2e_keyring_remove(kr, id + 1), E2E_ERR_NOT_FOUND);
	assert_int_equal(e2e_keyring_set_state(kr, id + 1, E2E_KEY_ENABLED),
			 E2E_ERR_NOT_FOUND);
	e2e_keyring_free(kr);
}

static void keyring_remove_keeps_the_others_findable(void **state)
{
	e2e_keyring *kr;
	e2e_key_info info;
	uint32_t id;

	(void)state;
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	for (id = 1; id <= 20; id++) {
		e2e_key_info ki = info_of(id, E2E_SUITE_MAC, E2E_KEY_ENABLED);
		assert_int_equal(e2e_keyring_add(kr, &ki, key_a), E2E_OK);
	}
	assert_int_equal(e2e_keyring_remove(kr, 10), E2E_OK);
	assert_int_equal(e2e_keyring_count(kr), 19);
	assert_int_equal(e2e_keyring_find(kr, 10, &info), E2E_ERR_NOT_FOUND);
	for (id = 1; id <= 20; id++) {
		if (id != 10)
			assert_int_equal(e2e_keyring_find(kr, id, &info),
					 E2E_OK);
	}
	e2e_keyring_free(kr);
}

static void keyring_lookup_returns_the_key_material(void **state)
{
	e2e_keyring *kr;
	e2e_key_info ki = info_of(77, E2E_SUITE_AEAD, E2E_KEY_DISABLED);
	const struct e2e__key *k;

	(void)state;
	assert_int_equal(e2e_keyring_new(&kr), E2E_OK);
	assert_int_equal(e2e_keyring_add(kr, &ki, key_b), E2E_OK);
	k = e2e__keyring_lookup(kr, 77);
	assert_non_null(k);
	assert_memory_equal(k->key, key_b, E2E_KEYBYTES);
	assert_int_equal(k->state, E2E_KEY_DISABLED);
	assert_null(e2e__keyring_lookup(kr, 78));
	assert_null(e2e__keyring_primary(kr));
	e2e_keyring_free(kr);
}

static void key_state_and_suite_names_round_trip(void **state)
{
	e2e_key_state st;

	(void)state;
	assert_int_equal(e2e_key_state_parse("primary", &st), E2E_OK);
	assert_int_equal(st, E2E_KEY_PRIMARY);
	assert_string_equal(e2e_key_state_name(E2E_KEY_DISABLED), "disabled");
	assert_int_equal(e2e_key_state_parse("Primary", &st), E2E_ERR_INVAL);
	assert_string_equal(e2e_key_state_name((e2e_key_state)9), "invalid");
}

/* ---- signers --------------------------------------------------------- */

static void signer_id_is_blake2b_of_the_public_key(void **state)
{
	uint8_t seed[32] = {7}, pk[32], h[32];
	e2e_signer *s;

	(void)state;
	assert_int_equal(e2e_signer_from_seed(&s, seed), E2E_OK);
	e2e_signer_public(s, pk);
	crypto_generichash(h, sizeof h, pk, sizeof pk, NULL, 0);
	assert_true(e2e_signer_id(s) == e2e__load64(h));
	assert_true(e2e_signer_id_from_public(pk) == e2e_signer_id(s));
	e2e_signer_free(s);
}

static void signer_from_secret_refuses_mismatched_public_half(void **state)
{
	uint8_t pk[32], sk[64], seed[32] = {9};
	e2e_signer *s;

	(void)state;
	crypto_sign_seed_keypair(pk, sk, seed);
	assert_int_equal(e2e_signer_from_secret(&s, sk), E2E_OK);
	e2e_signer_free(s);
	sk[63] ^= 1;
	assert_int_equal(e2e_signer_from_secret(&s, sk), E2E_ERR_INVAL);
	assert_null(s);
}

/* ---- topic filters --------------------------------------------------- */

static void topic_filters_match_as_mqtt_specifies(void **state)
{
	(void)state;
	assert_true(e2e_topic_matches("a/b", "a/b"));
	assert_false(e2e_topic_matches("a/b", "a/c"));
	assert_false(e2e_topic_matches("a/b", "a/b/c"));
	assert_true(e2e_topic_matches("a/+", "a/x"));
	assert_true(e2e_topic_matches("a/+", "a/"));
	assert_false(e2e_topic_matches("a/+", "a"));
	assert_false(e2e_topic_matches("a/+", "a/x/y"));
	assert_true(e2e_topic_matches("a/+/c", "a/b/c"));
	assert_true(e2e_topic_matches("a/#", "a"));
	assert_true(e2e_topic_matches("a/#", "a/b/c"));
	assert_false(e2e_topic_matches("a/#", "ab"));
	assert_true(e2e_topic_matches("#", "x/y"));
	assert_true(e2e_topic_matches("+/+", "/x"));
	assert_false(e2e_topic_matches("#", "$SYS/x"));
	assert_false(e2e_topic_matches("+/x", "$SYS/x"));
	assert_true(e2e_topic_matches("$SYS/#", "$SYS/x"));
	assert_true(e2e_topic_matches("maison/température/+",
				      "maison/température/salon"));
}

static void subscriptions_match_by_their_filter(void **state)
{
	(void)state;
	assert_true(e2e_subscription_matches("a/#", "a/b"));
	assert_false(e2e_subscription_matches("a/#", "b"));
	/* A shared subscription is matched by the filter after its group. */
	assert_true(e2e_subscription_matches("$share/g/a/+", "a/b"));
	assert_false(e2e_subscription_matches("$share/g/a/+", "b/b"));
	assert_true(e2e_subscription_matches("$share/g/#", "x/y"));
	/* The group is never part of the topic. */
	assert_false(e2e_subscription_matches("$share/a/b", "a/b"));
	assert_true(e2e_subscription_matches("$share/a/b", "b"));
	/* Malformed shares match nothing: no group, wildcard group, no
	 * filter. */
	assert_false(e2e_subscription_matches("$share//a", "a"));
	assert_false(e2e_subscription_matches("$share/+/a", "a"));
	assert_false(e2e_subscription_matches("$share/#/a", "a"));
	assert_false(e2e_subscription_matches("$share/g/", "g"));
	assert_false(e2e_subscription_matches("$share/g", "g"));
	/* "$shared/..." is an ordinary filter, matched as such. */
	assert_true(e2e_subscription_matches("$shared/x", "$shared/x"));
	assert_false(e2e_subscription_matches(NULL, "a"));
	assert_false(e2e_subscription_matches("a", NULL));
	assert_false(e2e_subscription_matches("a/+/", "a//x"));
}

static void invalid_filters_are_refused_and_never_match(void **state)
{
	(void)state;
	assert_int_equal(e2e_filter_check("a/#/b"), E2E_ERR_INVAL);
	assert_int_equal(e2e_filter_check("a/b#"), E2E_ERR_INVAL);
	assert_int_equal(e2e_filter_check("a+/b"), E2E_ERR_INVAL);
	assert_int_equal(e2e_filter_check(""), E2E_ERR_INVAL);
	assert_int_equal(e2e_filter_check("a,b"), E2E_ERR_INVAL);
	assert_int_equal(e2e_filter_check("a/+/#"), E2E_OK);
	assert_false(e2e_topic_matches("a/b#", "a/b#"));
}

/*
 * The reference model of MQTT matching, written for clarity, not speed:
 * split both strings into levels, refuse an invalid filter outright, then
 * compare level by level (MQTT 3.1.1 section 4.7).
 */
#define MODEL_LEVELS 16

static size_t model_split(const char *s, const char *lv[], size_t len[])
{
	size_t n = 0;

	for (;;) {
		const char *slash = strchr(s, '/');
		size_t l = slash != NULL ? (size_t)(slash - s) : strlen(s);
		lv[n] = s;
		len[n++] = l;
		if (slash == NULL)
			return n;
		s = slash + 1;
	}
}

static int model_filter_valid(const char *f)
{
	const char *lv[MODEL_LEVELS];
	size_t len[MODEL_LEVELS], n, i, j;

	if (*f == '\0' || strchr(f, ',') != NULL)
		return 0;
	n = model_split(f, lv, len);
	for (i = 0; i < n; i++)
		for (j = 0; j < len[i]; j++) {
			char c = lv[i][j];
			if (c == '+' && len[i] != 1)
				return 0;
			if (c == '#' && (len[i] != 1 || i + 1 != n))
				return 0;
		}
	return 1;
}

static int model_matches(const char *f, const char *t)
{
	const char *fl[MODEL_LEVELS], *tl[MODEL_LEVELS];
	size_t flen[MODEL_LEVELS], tlen[MODEL_LEVELS], fn, tn, i;

	if (!model_filter_valid(f) || *t == '\0')
		return 0;
	if (t[0] == '$' && (f[0] == '+' || f[0] == '#'))
		return 0;
	fn = model_split(f, fl, flen);
	tn = model_split(t, tl, tlen);
	for (i = 0; i < fn; i++) {
		if (flen[i] == 1 && fl[i][0] == '#')
			return 1; /* the parent level too: "a/#" matches "a" */
		if (i == tn)
			return 0;
		if (flen[i] == 1 && fl[i][0] == '+')
			continue;
		if (flen[i] != tlen[i] || memcmp(fl[i], tl[i], flen[i]) != 0)
			return 0;
	}
	return fn == tn;
}

static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

/* A short random string over alphabet. */
static void random_name(uint64_t *x, const char *alphabet, char *out,
			size_t max)
{
	size_t n = (size_t)(next_random(x) % (max + 1)), i;

	for (i = 0; i < n; i++)
		out[i] = alphabet[next_random(x) % strlen(alphabet)];
	out[n] = '\0';
}

/* A filter made from topic t: some levels become '+', or the rest '#'. */
static void filter_from(uint64_t *x, const char *t, char *out, size_t cap)
{
	size_t o = 0;

	for (;;) {
		size_t l = strcspn(t, "/");
		uint64_t r = next_random(x) % 8;
		if (r == 0) {
			snprintf(out + o, cap - o, "#");
			return;
		}
		if (r == 1) {
			out[o++] = '+';
		} else {
			memcpy(out + o, t, l);
			o += l;
		}
		if (t[l] == '\0')
			break;
		out[o++] = '/';
		t += l + 1;
	}
	out[o] = '\0';
}

static void topic_matching_agrees_with_a_reference_model(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15u;
	char f[20], t[10], share[30];
	long matched = 0, i;

	(void)state;
	for (i = 0; i < 300000; i++) {
		int want, got;

		/* Topics over the characters that matter, and filters either
		 * as random or made from the topic (so that half match). */
		random_name(&x, "ab/$+#,", t, 8);
		if (next_random(&x) % 2)
			random_name(&x, "ab/+#$,", f, 8);
		else
			filter_from(&x, t, f, sizeof f);
		want = model_matches(f, t);
		got = e2e_topic_matches(f, t);
		if (got != want)
			fail_msg("filter \"%s\" topic \"%s\": %d, the model "
				 "says %d",
				 f, t, got, want);
		/* The same filter behind a valid share name. */
		snprintf(share, sizeof share, "$share/g/%s", f);
		if (e2e_subscription_matches(share, t) != want)
			fail_msg("subscription \"%s\" topic \"%s\": the model "
				 "says %d",
				 share, t, want);
		matched += want;
	}
	/* Both verdicts are common. */
	assert_true(matched > 30000 && matched < 270000);
}

/* ---- trust ----------------------------------------------------------- */

static void trust_allows_a_signer_only_on_its_filters(void **state)
{
	uint8_t seed[32] = {3}, pk[32];
	const uint8_t *found;
	e2e_signer *s;
	e2e_trust *t;
	const char *filters;
	int allowed;

	(void)state;
	assert_int_equal(e2e_signer_from_seed(&s, seed), E2E_OK);
	e2e_signer_public(s, pk);
	assert_int_equal(e2e_trust_new(&t), E2E_OK);
	assert_int_equal(e2e_trust_add(t, pk, " sensors/+/temp , alerts/#"),
			 E2E_OK);
	assert_int_equal(e2e_trust_get(t, 0, NULL, &filters), E2E_OK);
	assert_string_equal(filters, "sensors/+/temp,alerts/#");

	found = e2e__trust_lookup(t, e2e_signer_id(s), "sensors/k/temp",
				  &allowed);
	assert_non_null(found);
	assert_memory_equal(found, pk, 32);
	assert_true(allowed);
	e2e__trust_lookup(t, e2e_signer_id(s), "alerts", &allowed);
	assert_true(allowed);
	e2e__trust_lookup(t, e2e_signer_id(s), "sensors/k/humidity", &allowed);
	assert_false(allowed);
	assert_null(
		e2e__trust_lookup(t, e2e_signer_id(s) ^ 1, "alerts", &allowed));
	assert_false(allowed);
	e2e_trust_free(t);
	e2e_signer_free(s);
}

static void trust_refuses_duplicate_signers_and_bad_filters(void **state)
{
	uint8_t pk[32] = {1, 2, 3};
	e2e_trust *t;

	(void)state;
	assert_int_equal(e2e_trust_new(&t), E2E_OK);
	assert_int_equal(e2e_trust_add(t, pk, "a/b"), E2E_OK);
	assert_int_equal(e2e_trust_add(t, pk, "c"), E2E_ERR_DUPLICATE_KEY);
	pk[0] = 9;
	assert_int_equal(e2e_trust_add(t, pk, "a/#/b"), E2E_ERR_INVAL);
	assert_int_equal(e2e_trust_add(t, pk, "a,"), E2E_ERR_INVAL);
	assert_int_equal(e2e_trust_add(t, pk, ""), E2E_ERR_INVAL);
	assert_int_equal(e2e_trust_count(t), 1);
	e2e_trust_free(t);
}

static void trust_finds_each_of_many_signers(void **state)
{
	uint8_t pk[32];
	e2e_trust *t;
	int i, allowed;

	(void)state;
	assert_int_equal(e2e_trust_new(&t), E2E_OK);
	for (i = 0; i < 50; i++) {
		memset(pk, i, sizeof pk);
		assert_int_equal(e2e_trust_add(t, pk, "#"), E2E_OK);
	}
	for (i = 0; i < 50; i++) {
		memset(pk, i, sizeof pk);
		assert_non_null(e2e__trust_lookup(
			t, e2e_signer_id_from_public(pk), "x", &allowed));
		assert_true(allowed);
	}
	e2e_trust_free(t);
}

/* ---- files ---------------------------------------------------------- */

/* A FIFO in place of a key or state file must give an error at once, not
 * block until some writer appears (alarm() fails the test if it blocks). */
static void reading_a_fifo_fails_without_blocking(void **state)
{
	char dir[] = "/tmp/e2e-core-XXXXXX", path[64];
	char *buf = NULL;
	size_t len = 1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	assert_int_equal(e2e__read_file(path, 1024, 0, &buf, &len), E2E_ERR_IO);
	alarm(0);
	assert_null(buf);
	assert_int_equal(len, 0);
	unlink(path);
	rmdir(dir);
}

static void reading_a_group_readable_secret_file_is_refused(void **state)
{
	char dir[] = "/tmp/e2e-core-XXXXXX", path[64];
	char *buf = NULL;
	size_t len;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/secret", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(e2e__read_file(path, 1024, 1, &buf, &len),
			 E2E_ERR_PERMISSIONS);
	assert_int_equal(chmod(path, 0600), 0);
	assert_int_equal(e2e__read_file(path, 1024, 1, &buf, &len), E2E_OK);
	assert_int_equal(len, 2);
	sodium_free(buf);
	unlink(path);
	rmdir(dir);
}

static void atomic_write_replaces_the_file_with_the_given_mode(void **state)
{
	char dir[] = "/tmp/e2e-core-XXXXXX", path[64];
	char *buf = NULL;
	size_t len;
	struct stat st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/state", dir);
	assert_int_equal(e2e__atomic_write(path, "old\n", 4, 0600), E2E_OK);
	assert_int_equal(e2e__atomic_write(path, "new!\n", 5, 0600), E2E_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(e2e__read_file(path, 1024, 0, &buf, &len), E2E_OK);
	assert_string_equal(buf, "new!\n");
	free(buf);
	/* Nothing else (no temporary file) is left in the directory. */
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_error_has_name_message_and_reason),
		cmocka_unit_test(unknown_error_values_never_give_null),
		cmocka_unit_test(
			keyring_finds_keys_by_id_in_any_insertion_order),
		cmocka_unit_test(
			keyring_refuses_duplicate_id_zero_id_and_suite_none),
		cmocka_unit_test(keyring_has_at_most_one_primary),
		cmocka_unit_test(
			keyring_refuses_to_disable_or_remove_the_primary),
		cmocka_unit_test(keyring_remove_keeps_the_others_findable),
		cmocka_unit_test(keyring_lookup_returns_the_key_material),
		cmocka_unit_test(key_state_and_suite_names_round_trip),
		cmocka_unit_test(signer_id_is_blake2b_of_the_public_key),
		cmocka_unit_test(
			signer_from_secret_refuses_mismatched_public_half),
		cmocka_unit_test(topic_filters_match_as_mqtt_specifies),
		cmocka_unit_test(subscriptions_match_by_their_filter),
		cmocka_unit_test(invalid_filters_are_refused_and_never_match),
		cmocka_unit_test(topic_matching_agrees_with_a_reference_model),
		cmocka_unit_test(trust_allows_a_signer_only_on_its_filters),
		cmocka_unit_test(
			trust_refuses_duplicate_signers_and_bad_filters),
		cmocka_unit_test(trust_finds_each_of_many_signers),
		cmocka_unit_test(reading_a_fifo_fails_without_blocking),
		cmocka_unit_test(
			reading_a_group_readable_secret_file_is_refused),
		cmocka_unit_test(
			atomic_write_replaces_the_file_with_the_given_mode),
	};
	return cmocka_run_group_tests_name("core", tests, setup, NULL);
}
