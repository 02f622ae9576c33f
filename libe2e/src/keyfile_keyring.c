/*
 * Keyring files (docs/KEYFILES.md, "Keyring"):
 *
 *   libe2e-keyring 1
 *   <id: 8 hex> <suite> <state> <created: Unix seconds> <key: base64>
 *       [activates=<Unix s>] [disables=<Unix s>] [topics=<filters>]
 */
#include "keyfile.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#define KEYRING_MAGIC "libe2e-keyring"
#define KEYRING_FIELDS 5
#define KEYRING_OPTIONAL 3

/* The key's schedule and filters, from the optional fields after the five
 * of every line (docs/KEYFILES.md): each at most once, in any order. */
struct extra {
	uint64_t activates, disables;
	char *topics; /* points into the line; NULL: none */
};

static int parse_extra(const struct e2e__kf_line *l, struct extra *x)
{
	static const char *const names[KEYRING_OPTIONAL] = {
		"activates=", "disables=", "topics="};
	int seen[KEYRING_OPTIONAL] = {0};
	size_t i, j, n;
	int rc;

	memset(x, 0, sizeof *x);
	for (i = KEYRING_FIELDS; i < l->n; i++) {
		for (j = 0; j < KEYRING_OPTIONAL; j++)
			if (strncmp(l->field[i], names[j], strlen(names[j])) ==
			    0)
				break;
		if (j == KEYRING_OPTIONAL || seen[j]++)
			return E2E_ERR_KEYFILE;
		n = strlen(names[j]);
		if (j == 2) {
			x->topics = l->field[i] + n;
			continue;
		}
		rc = e2e__kf_u64_parse(l->field[i] + n, INT64_MAX,
				       j == 0 ? &x->activates : &x->disables);
		if (rc != E2E_OK)
			return rc;
	}
	return E2E_OK;
}

/* Parse one key line into info and key (sodium_malloc'd by the caller). */
static int parse_key(const struct e2e__kf_line *l, e2e_key_info *info,
		     uint8_t *key)
{
	uint8_t id[4];
	uint64_t created;
	int rc;

	if (l->n < KEYRING_FIELDS || l->n > KEYRING_FIELDS + KEYRING_OPTIONAL)
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

/* Add a key with its schedule and filters. A second primary in a scope
 * would silently demote the first: refused instead, the file is
 * ambiguous. */
static int add_key(e2e_keyring *kr, const e2e_key_info *info,
		   const uint8_t *key, const struct extra *x)
{
	e2e_key_info as = *info;
	int rc;

	/* Added as enabled, promoted once in its scope. */
	if (as.state == E2E_KEY_PRIMARY)
		as.state = E2E_KEY_ENABLED;
	rc = e2e_keyring_add(kr, &as, key);
	if (rc == E2E_OK)
		rc = e2e_keyring_schedule(kr, info->id, x->activates,
					  x->disables);
	if (rc == E2E_OK && x->topics != NULL) {
		rc = e2e_keyring_set_filters(kr, info->id, x->topics);
		if (rc == E2E_ERR_INVAL)
			rc = E2E_ERR_KEYFILE;
	}
	if (rc == E2E_OK && info->state == E2E_KEY_PRIMARY) {
		const char *f;
		e2e_key_info p;
		size_t i, n = e2e_keyring_count(kr);

		if (e2e_keyring_get_filters(kr, info->id, &f) != E2E_OK)
			return E2E_ERR_INVAL;
		for (i = 0; i < n && rc == E2E_OK; i++) {
			const char *pf;
			if (e2e_keyring_get(kr, i, &p) == E2E_OK &&
			    p.state == E2E_KEY_PRIMARY &&
			    e2e_keyring_get_filters(kr, p.id, &pf) == E2E_OK &&
			    strcmp(pf, f) == 0)
				rc = E2E_ERR_TWO_PRIMARIES;
		}
		if (rc == E2E_OK)
			rc = e2e_keyring_set_state(kr, info->id,
						   E2E_KEY_PRIMARY);
	}
	return rc;
}

E2E_API int e2e_keyring_load(e2e_keyring **out, const char *path,
			     size_t *bad_line)
{
	struct e2e__kf_reader r;
	struct e2e__kf_line l;
	e2e_keyring *kr = NULL;
	e2e_key_info info = {0};
	struct extra x;
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
		if (rc == E2E_OK)
			rc = parse_extra(&l, &x);
		if (rc == E2E_OK)
			rc = add_key(kr, &info, key, &x);
		/* A key that is not disabled: a primary, or an enabled key
		 * (a receive-only member, or a primary still to come). */
		if (rc == E2E_OK && info.state != E2E_KEY_DISABLED)
			primaries++;
	}
	if (rc != E2E_OK) {
		line = r.line;
		goto cleanup;
	}
	if (primaries == 0) /* no usable key, also when there is no key */
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
	size_t i, n, cap;
	int rc;

	if (kr == NULL || path == NULL)
		return E2E_ERR_INVAL;
	n = e2e_keyring_count(kr);
	/* At least one key that is not disabled (docs/KEYFILES.md): a
	 * keyring with enabled keys only is a receive-only member's, or one
	 * whose primary activates later (a key update, docs/KEYDIST.md). */
	for (i = 0; i < n; i++)
		if (e2e_keyring_get(kr, i, &info) == E2E_OK &&
		    info.state != E2E_KEY_DISABLED)
			break;
	if (i == n)
		return E2E_ERR_NO_PRIMARY;
	/* 128 bytes a line, 64 more for the times, and the filters. */
	cap = 512 + n * 192;
	for (i = 0; i < n; i++) {
		const char *f = "";
		if (e2e_keyring_get(kr, i, &info) == E2E_OK &&
		    e2e_keyring_get_filters(kr, info.id, &f) == E2E_OK)
			cap += strlen(f) + 8;
	}
	rc = e2e__kf_buf_init(&b, cap, 1);
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
		/* Optional fields only when set: a keyring without schedules
		 * or filters is written as before. */
		if (k->activates != 0)
			e2e__kf_buf_printf(&b, " activates=%" PRIu64,
					   k->activates);
		if (k->disables != 0)
			e2e__kf_buf_printf(&b, " disables=%" PRIu64,
					   k->disables);
		if (k->filters != NULL)
			e2e__kf_buf_printf(&b, " topics=%s", k->filters);
		e2e__kf_buf_printf(&b, "\n");
	}
	if (rc == E2E_OK)
		rc = b.failed ? E2E_ERR_NOMEM
			      : e2e__kf_write(path, b.p, b.len, 0600, flags);
	e2e__kf_buf_free(&b);
	return rc;
}
