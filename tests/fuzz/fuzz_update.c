/*
 * Fuzz target: key updates (docs/KEYDIST.md) as a member receives them:
 * the body parser, e2e_update_open() and e2e_update_apply().
 *
 * Input layout:
 *   byte 0:
 *     bit 0    body: the rest is an update body, which the target both
 *              parses (e2e__update_parse) and seals as the admin's update
 *              envelope before opening it; otherwise the rest is the
 *              envelope itself
 *     bit 1    delivered as retained
 *   byte 1     the counter of the last update applied (0..255)
 *
 * Oracles, beyond "no crash, no leak, no undefined behaviour":
 *  - a refused update holds nothing (no keys, counter 0);
 *  - an admin-signed body opens exactly as its parse says: a body the
 *    parser refuses gives bad-update, a parsed one passes to the group,
 *    counter and slot checks, whose verdicts follow the parsed fields;
 *  - an opened update is in increasing id order and applies to a keyring
 *    holding only keys the table lists, the member's slot keys among them.
 */
#include <string.h>

#include "fuzz_common.h"
#include "internal.h"

static e2e_member *member(void)
{
	static e2e_member *m;
	uint8_t sk[E2E_MEMBER_SECRETKEYBYTES];

	if (m == NULL) {
		memset(sk, FUZZ_MEMBER_BYTE, sizeof sk);
		FUZZ_CHECK(e2e_member_from_secret(&m, sk) == E2E_OK);
	}
	return m;
}

static void check_opened(e2e_update *u)
{
	e2e_keyring *kr = NULL;
	e2e_update_key k;
	e2e_key_info info;
	size_t i, n = e2e_update_key_count(u), slot = 0;
	uint32_t last = 0;
	int rc;

	FUZZ_CHECK(n >= 1 && n <= E2E_UPDATE_KEYS_MAX);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(e2e_update_key_get(u, i, &k) == E2E_OK);
		FUZZ_CHECK(k.id > last && k.key == NULL);
		FUZZ_CHECK(!k.in_slot || k.state != E2E_KEY_DISABLED);
		slot += (size_t)k.in_slot;
		last = k.id;
	}
	FUZZ_CHECK(e2e_keyring_new(&kr) == E2E_OK);
	rc = e2e_update_apply(u, kr, FUZZ_NOW);
	FUZZ_CHECK(rc == E2E_OK || rc == E2E_ERR_INVAL);
	if (rc == E2E_OK) {
		FUZZ_CHECK(e2e_keyring_count(kr) == slot);
		for (i = 0; i < e2e_keyring_count(kr); i++)
			FUZZ_CHECK(e2e_keyring_get(kr, i, &info) == E2E_OK);
	}
	e2e_keyring_free(kr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t env[1u << 17];
	const struct fuzz_world *w = fuzz_world_get();
	uint8_t admin[E2E_SIGN_PUBLICKEYBYTES];
	e2e_update_opener o;
	e2e_update *u = NULL;
	const uint8_t *msg;
	size_t len;
	int rc, parsed = E2E_OK, body;

	if (size < 2 || size - 2 > sizeof env - E2E_OVERHEAD_MAX)
		return 0;
	body = data[0] & 1;
	msg = data + 2;
	len = size - 2;
	e2e_signer_public(w->signer[0], admin);
	o = (e2e_update_opener){admin, FUZZ_UPDATE_GROUP, member(), data[1]};
	FUZZ_CHECK(e2e_update_new(&u) == E2E_OK);
	if (body) {
		parsed = e2e__update_parse(u, msg, len);
		FUZZ_CHECK(parsed == E2E_OK || parsed == E2E_ERR_BAD_UPDATE);
		len = fuzz_seal_update(msg, len, env, sizeof env);
		msg = env;
	}
	rc = e2e_update_open(u, &o, FUZZ_UPDATE_TOPIC, msg, len,
			     (data[0] & 2) ? E2E_DELIVERY_RETAINED : 0);
	if (body && parsed != E2E_OK)
		FUZZ_CHECK(rc == E2E_ERR_BAD_UPDATE);
	if (body && parsed == E2E_OK)
		FUZZ_CHECK(rc == E2E_OK || rc == E2E_ERR_WRONG_GROUP ||
			   rc == E2E_ERR_ROLLBACK || rc == E2E_ERR_REPLAY ||
			   rc == E2E_ERR_NOT_RECIPIENT ||
			   rc == E2E_ERR_BAD_SLOT);
	if (rc == E2E_OK) {
		FUZZ_CHECK(e2e_update_counter(u) > data[1]);
		FUZZ_CHECK(strcmp(e2e_update_group(u), FUZZ_UPDATE_GROUP) == 0);
		check_opened(u);
	} else {
		FUZZ_CHECK(e2e_update_key_count(u) == 0 &&
			   e2e_update_counter(u) == 0);
	}
	e2e_update_free(u);
	return 0;
}
