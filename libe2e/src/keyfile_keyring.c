/*
 * Keyring files (docs/KEYFILES.md, "Keyring"):
 *
 *   libe2e-keyring 1
 *   <id: 8 hex> <suite> <state> <created: Unix seconds> <key: base64>
 */
#include "keyfile.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#define KEYRING_MAGIC "libe2e-keyring"
#define KEYRING_FIELDS 5

/* Parse one key line into info and key (sodium_malloc'd by the caller). */
static int parse_key(const struct e2e__kf_line *l, e2e_key_info *info,
		     uint8_t *key)
{
	uint8_t id[4];
	uint64_t created;
	int rc;

	if (l->n != KEYRING_FIELDS)
		return E2E_ERR_KEYFILE;
	if (e2e__kf_hex_decode(l->field[0], id, sizeof id) != E2E_OK)
		return E2E_ERR_KEYFILE;
	info->id = e2e__load32(id);
	if (info->id == 0)
		return E2E_ERR_KEYFILE;
	if (e2e_suite_parse(l->field[1], &info->suite) != E2E_OK ||
	    info->suite == E2E_SUITE_NONE)
		return E2E_ERR_KEYFILE;
	if (e2e_key_state_parse(l->field[2], &info->state) != E2E_OK)
		return E2E_ERR_KEYFILE;
	rc = e2e__kf_u64_parse(l->field[3], INT64_MAX, &created);
	if (rc != E2E_OK)
		return rc;
	info->created = (int64_t)created;
	return e2e__kf_b64_decode(l->field[4], key, E2E_KEYBYTES);
}

E2E_API int e2e_keyring_load(e2e_keyring **out, const char *path,
			     size_t *bad_line)
{
	struct e2e__kf_reader r;
	struct e2e__kf_line l;
	e2e_keyring *kr = NULL;
	e2e_key_info info = {0};
	uint8_t *key = NULL;
	char *buf = NULL;
	size_t len = 0, primaries = 0, line = 0;
	int rc, saved;

	if (bad_line != NULL)
		*bad_line = 0;
	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (path == NULL)
		return E2E_ERR_INVAL;
	rc = e2e__read_file(path, E2E_KEYFILE_MAX, 1, &buf, &len);
	if (rc != E2E_OK)
		goto cleanup;
	key = sodium_malloc(E2E_KEYBYTES);
	if (key == NULL) {
		rc = E2E_ERR_NOMEM;
		goto cleanup;
	}
	rc = e2e_keyring_new(&kr);
	if (rc != E2E_OK)
		goto cleanup;
	e2e__kf_reader_init(&r, buf, len);
	rc = e2e__kf_header(&r, KEYRING_MAGIC);
	while (rc == E2E_OK) {
		rc = e2e__kf_next(&r, &l, E2E__KF_MAX_FIELDS);
		if (rc == 0)
			break;
		if (rc == 1)
			rc = parse_key(&l, &info, key);
		/* Adding a second primary would silently demote the first:
		 * refuse it instead, the file is ambiguous. */
		if (rc == E2E_OK && info.state == E2E_KEY_PRIMARY &&
		    ++primaries > 1)
			rc = E2E_ERR_TWO_PRIMARIES;
		if (rc == E2E_OK)
			rc = e2e_keyring_add(kr, &info, key);
	}
	if (rc != E2E_OK) {
		line = r.line;
		goto cleanup;
	}
	if (primaries == 0) /* also when there is no key at all */
		rc = E2E_ERR_NO_PRIMARY;
cleanup:
	saved = errno;
	if (key != NULL)
		sodium_free(key);
	e2e__kf_release(buf, 1);
	if (rc == E2E_OK) {
		*out = kr;
	} else {
		e2e_keyring_free(kr);
		if (bad_line != NULL)
			*bad_line = line;
	}
	errno = saved;
	return rc;
}

E2E_API int e2e_keyring_save(const e2e_keyring *kr, const char *path,
			     uint32_t flags)
{
	struct e2e__kf_buf b = {0};
	e2e_key_info info = {0};
	size_t i, n;
	int rc;

	if (kr == NULL || path == NULL)
		return E2E_ERR_INVAL;
	if (e2e__keyring_primary(kr) == NULL)
		return E2E_ERR_NO_PRIMARY;
	n = e2e_keyring_count(kr);
	rc = e2e__kf_buf_init(&b, 512 + n * 128, 1);
	if (rc != E2E_OK)
		return rc;
	e2e__kf_buf_printf(
		&b, "# libe2e keyring: shared secret keys. Keep it secret "
		    "(mode 0600).\n"
		    "# Rewritten by e2e-keygen, which does not keep comments.\n"
		    "# id suite state created key\n" KEYRING_MAGIC " 1\n");
	for (i = 0; i < n && rc == E2E_OK; i++) {
		const struct e2e__key *k;

		rc = e2e_keyring_get(kr, i, &info);
		if (rc != E2E_OK)
			break;
		k = e2e__keyring_lookup(kr, info.id);
		if (k == NULL || info.created < 0) {
			rc = E2E_ERR_INVAL;
			break;
		}
		e2e__kf_buf_printf(&b, "%08" PRIx32 " %s %s %" PRId64 " ",
				   info.id, e2e_suite_name(info.suite),
				   e2e_key_state_name(info.state),
				   info.created);
		e2e__kf_buf_b64(&b, k->key, E2E_KEYBYTES);
		e2e__kf_buf_printf(&b, "\n");
	}
	if (rc == E2E_OK)
		rc = b.failed ? E2E_ERR_NOMEM
			      : e2e__kf_write(path, b.p, b.len, 0600, flags);
	e2e__kf_buf_free(&b);
	return rc;
}
