/*
 * Member key files (docs/KEYFILES.md, "Member secret key", "Member public
 * key" and "Member list"):
 *
 *   libe2e-member-secret 1          (as a signer secret key file, with
 *   member <id: 16 hex>              "member" for "signer" and the X25519
 *   public <public key: base64>      secret key for the seed)
 *   kdf argon2id <ops> <mem> <salt: base64>   (or: kdf none)
 *   secret <nonce || encrypted secret || tag: base64>   (or: the secret)
 *
 *   libe2e-member 1 <id: 16 hex> <public key: base64>   (one line)
 *
 *   libe2e-members 1
 *   group <name>
 *   counter <last update counter published>
 *   layout group                    (optional; absent: per member)
 *   member <id: 16 hex> <public key: base64> <name> [topics=<filters>]
 */
#include "keyfile.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define PUBLIC_MAGIC "libe2e-member"
#define MEMBERS_MAGIC "libe2e-members"

static const struct e2e__kf_kind member_kind = {
	"libe2e-member-secret", "member",
	"# libe2e member secret key (X25519), encrypted with a passphrase.\n"
	"# Keep it secret (mode 0600); it never leaves this member.\n",
	"# libe2e member secret key (X25519), NOT ENCRYPTED "
	"(--no-passphrase):\n"
	"# anyone who can read this file can read this member's key "
	"updates. Keep it secret (mode 0600).\n"};

E2E_API int e2e_member_save(const e2e_member *m, const char *path,
			    const char *pass, size_t pass_len,
			    unsigned long long opslimit, size_t memlimit,
			    uint32_t flags)
{
	if (m == NULL)
		return E2E_ERR_INVAL;
	return e2e__kf_secret_save(&member_kind, path, e2e__member_public(m),
				   e2e__member_secret(m), pass, pass_len,
				   opslimit, memlimit, flags);
}

E2E_API int e2e_member_inspect(const char *path,
			       uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES],
			       int *is_encrypted, size_t *bad_line)
{
	return e2e__kf_secret_inspect(&member_kind, path, pk, is_encrypted,
				      bad_line);
}

E2E_API int e2e_member_load(e2e_member **out, const char *path,
			    const char *pass, size_t pass_len, size_t *bad_line)
{
	e2e_member *m = NULL;
	uint8_t *sk = NULL;
	uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES];
	size_t line = 0;
	int rc, saved;

	if (bad_line != NULL)
		*bad_line = 0;
	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (path == NULL)
		return E2E_ERR_INVAL;
	sk = sodium_malloc(E2E_MEMBER_SECRETKEYBYTES);
	if (sk == NULL)
		return E2E_ERR_NOMEM;
	rc = e2e__kf_secret_load(&member_kind, path, pass, pass_len, pk, sk,
				 NULL, &line);
	if (rc == E2E_OK)
		rc = e2e_member_from_secret(&m, sk);
	/* Catches a damaged clear secret (an encrypted one cannot get here). */
	if (rc == E2E_OK &&
	    sodium_memcmp(pk, e2e__member_public(m), sizeof pk) != 0)
		rc = E2E_ERR_KEYFILE;
	if (rc == E2E_ERR_INVAL) /* a secret X25519 refuses: a damaged file */
		rc = E2E_ERR_KEYFILE;
	saved = errno;
	sodium_free(sk); /* wipes */
	if (rc == E2E_OK) {
		*out = m;
	} else {
		e2e_member_free(m);
		if (bad_line != NULL)
			*bad_line = line;
	}
	errno = saved;
	return rc;
}

E2E_API int
e2e_member_public_format(const uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES], char *out,
			 size_t cap)
{
	char b64[sodium_base64_ENCODED_LEN(E2E_MEMBER_PUBLICKEYBYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	int n;

	if (pk == NULL || out == NULL)
		return E2E_ERR_INVAL;
	sodium_bin2base64(b64, sizeof b64, pk, E2E_MEMBER_PUBLICKEYBYTES,
			  sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, cap, PUBLIC_MAGIC " 1 %016" PRIx64 " %s",
		     e2e_member_id_from_public(pk), b64);
	if (n < 0 || (size_t)n >= cap)
		return E2E_ERR_BUFFER_TOO_SMALL;
	return E2E_OK;
}

/* The fields of a public line (after e2e__kf_next) into pk. */
static int parse_public_fields(const struct e2e__kf_line *l,
			       uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES])
{
	uint8_t idb[8];
	int rc;

	if (l->n != 4 || strcmp(l->field[0], PUBLIC_MAGIC) != 0)
		return E2E_ERR_KEYFILE;
	if (strcmp(l->field[1], "1") != 0)
		return E2E_ERR_KEYFILE_VERSION;
	rc = e2e__kf_hex_decode(l->field[2], idb, sizeof idb);
	if (rc == E2E_OK)
		rc = e2e__kf_b64_decode(l->field[3], pk,
					E2E_MEMBER_PUBLICKEYBYTES);
	/* The id is a checksum of the key, as in every key file. */
	if (rc == E2E_OK && e2e_member_id_from_public(pk) != e2e__load64(idb))
		rc = E2E_ERR_KEYFILE;
	return rc;
}

/* Parse the significant lines of buf: exactly one public line. */
static int parse_public(char *buf, size_t len,
			uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES], size_t *line)
{
	struct e2e__kf_reader r;
	struct e2e__kf_line l;
	int rc;

	e2e__kf_reader_init(&r, buf, len);
	rc = e2e__kf_next(&r, &l, 5);
	if (rc == 0)
		rc = E2E_ERR_TRUNCATED;
	if (rc == 1)
		rc = parse_public_fields(&l, pk);
	if (rc == E2E_OK) {
		rc = e2e__kf_next(&r, &l, 1);
		rc = rc == 0 ? E2E_OK : rc < 0 ? rc : E2E_ERR_KEYFILE;
	}
	*line = r.line;
	return rc;
}

E2E_API int e2e_member_public_parse(const char *text,
				    uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES])
{
	char buf[E2E_MEMBER_LINE_MAX + 2];
	size_t n, line;
	int rc;

	if (text == NULL || pk == NULL)
		return E2E_ERR_INVAL;
	n = strlen(text);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	if (n > E2E_MEMBER_LINE_MAX)
		return E2E_ERR_KEYFILE;
	memcpy(buf, text, n);
	buf[n++] = '\n';
	rc = parse_public(buf, n, pk, &line);
	if (rc != E2E_OK)
		sodium_memzero(pk, E2E_MEMBER_PUBLICKEYBYTES);
	return rc;
}

E2E_API int e2e_member_public_load(uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES],
				   const char *path, size_t *bad_line)
{
	char *buf = NULL;
	size_t len = 0, line = 0;
	int rc, saved;

	if (bad_line != NULL)
		*bad_line = 0;
	if (pk == NULL || path == NULL)
		return E2E_ERR_INVAL;
	rc = e2e__read_file(path, E2E_KEYFILE_MAX, 0, &buf, &len);
	if (rc != E2E_OK)
		return rc;
	rc = parse_public(buf, len, pk, &line);
	if (rc != E2E_OK) {
		sodium_memzero(pk, E2E_MEMBER_PUBLICKEYBYTES);
		if (bad_line != NULL)
			*bad_line = line;
	}
	saved = errno;
	e2e__kf_release(buf, 0);
	errno = saved;
	return rc;
}

E2E_API int e2e_member_public_save(const uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES],
				   const char *path, uint32_t flags)
{
	char line[E2E_MEMBER_LINE_MAX + 2];
	size_t n;
	int rc;

	if (path == NULL)
		return E2E_ERR_INVAL;
	rc = e2e_member_public_format(pk, line, sizeof line - 1);
	if (rc != E2E_OK)
		return rc;
	n = strlen(line);
	line[n++] = '\n';
	return e2e__kf_write(path, line, n, 0, flags);
}

/* ---- The admin's member list. ---- */

struct entry {
	uint64_t id;
	uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES];
	char name[E2E_MEMBER_NAME_MAX + 1];
	char *filters; /* NULL: none */
};

struct e2e_members {
	char group[E2E_UPDATE_GROUP_MAX + 1];
	uint64_t counter;
	e2e_update_layout layout;
	struct entry *e; /* sorted by id */
	size_t n, cap;
};

/* 1 when s is 1..max bytes of [A-Za-z0-9._-] (and '@' when at is set). */
static int name_valid(const char *s, size_t max, int at)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || (at && c == '@')))
			return 0;
	}
	return 1;
}

E2E_API int e2e_members_new(e2e_members **out, const char *group)
{
	e2e_members *ms;

	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (group == NULL || !name_valid(group, E2E_UPDATE_GROUP_MAX, 0))
		return E2E_ERR_INVAL;
	ms = calloc(1, sizeof *ms);
	if (ms == NULL)
		return E2E_ERR_NOMEM;
	memcpy(ms->group, group, strlen(group) + 1);
	*out = ms;
	return E2E_OK;
}

E2E_API void e2e_members_free(e2e_members *ms)
{
	size_t i;

	if (ms == NULL)
		return;
	for (i = 0; i < ms->n; i++)
		free(ms->e[i].filters);
	free(ms->e);
	free(ms);
}

E2E_API const char *e2e_members_group(const e2e_members *ms)
{
	return ms != NULL ? ms->group : "";
}

E2E_API uint64_t e2e_members_counter(const e2e_members *ms)
{
	return ms != NULL ? ms->counter : 0;
}

E2E_API int e2e_members_set_counter(e2e_members *ms, uint64_t counter)
{
	/* The counter only goes up (docs/KEYDIST.md section 7). */
	if (ms == NULL || counter <= ms->counter || counter > E2E__TIME_MAX)
		return E2E_ERR_INVAL;
	ms->counter = counter;
	return E2E_OK;
}

E2E_API e2e_update_layout e2e_members_layout(const e2e_members *ms)
{
	return ms != NULL ? ms->layout : E2E_UPDATE_LAYOUT_MEMBER;
}

E2E_API int e2e_members_set_layout(e2e_members *ms, e2e_update_layout layout)
{
	if (ms == NULL || (layout != E2E_UPDATE_LAYOUT_MEMBER &&
			   layout != E2E_UPDATE_LAYOUT_GROUP))
		return E2E_ERR_INVAL;
	ms->layout = layout;
	return E2E_OK;
}

E2E_API size_t e2e_members_count(const e2e_members *ms)
{
	return ms != NULL ? ms->n : 0;
}

E2E_API int e2e_members_get(const e2e_members *ms, size_t index,
			    e2e_member_entry *out)
{
	if (ms == NULL || out == NULL || index >= ms->n)
		return E2E_ERR_INVAL;
	out->id = ms->e[index].id;
	memcpy(out->public_key, ms->e[index].pk, sizeof out->public_key);
	out->name = ms->e[index].name;
	out->filters = ms->e[index].filters != NULL ? ms->e[index].filters : "";
	return E2E_OK;
}

E2E_API int e2e_members_add(e2e_members *ms,
			    const uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES],
			    const char *name, const char *filters)
{
	struct entry *grown;
	uint64_t id;
	size_t i, at;
	char *f;
	int rc;

	if (ms == NULL || pk == NULL || name == NULL ||
	    !name_valid(name, E2E_MEMBER_NAME_MAX, 1))
		return E2E_ERR_INVAL;
	id = e2e_member_id_from_public(pk);
	for (at = 0; at < ms->n && ms->e[at].id < id; at++)
		;
	for (i = 0; i < ms->n; i++)
		if (strcmp(ms->e[i].name, name) == 0)
			return E2E_ERR_EXISTS;
	if (at < ms->n && ms->e[at].id == id)
		return E2E_ERR_EXISTS;
	if (ms->n >= E2E_UPDATE_RECIPIENTS_MAX)
		return E2E_ERR_INVAL;
	f = e2e__filters_dup(filters, &rc);
	if (rc != E2E_OK)
		return rc;
	if (ms->n == ms->cap) {
		size_t cap = ms->cap ? ms->cap * 2 : 8;
		grown = realloc(ms->e, cap * sizeof *grown);
		if (grown == NULL) {
			free(f);
			return E2E_ERR_NOMEM;
		}
		ms->e = grown;
		ms->cap = cap;
	}
	memmove(ms->e + at + 1, ms->e + at, (ms->n - at) * sizeof *ms->e);
	ms->e[at].id = id;
	memcpy(ms->e[at].pk, pk, sizeof ms->e[at].pk);
	memcpy(ms->e[at].name, name, strlen(name) + 1);
	ms->e[at].filters = f;
	ms->n++;
	return E2E_OK;
}

E2E_API int e2e_members_find(const e2e_members *ms, const char *name_or_id,
			     size_t *index)
{
	size_t i;
	char hex[17];

	if (ms == NULL || name_or_id == NULL || index == NULL)
		return E2E_ERR_INVAL;
	for (i = 0; i < ms->n; i++) {
		snprintf(hex, sizeof hex, "%016" PRIx64, ms->e[i].id);
		if (strcmp(ms->e[i].name, name_or_id) == 0 ||
		    strcmp(hex, name_or_id) == 0) {
			*index = i;
			return E2E_OK;
		}
	}
	return E2E_ERR_NOT_FOUND;
}

E2E_API int e2e_members_remove(e2e_members *ms, size_t index)
{
	if (ms == NULL || index >= ms->n)
		return E2E_ERR_INVAL;
	free(ms->e[index].filters);
	memmove(ms->e + index, ms->e + index + 1,
		(ms->n - index - 1) * sizeof *ms->e);
	ms->n--;
	return E2E_OK;
}

/*
 * The optional "layout" line, right after "counter" and before the first
 * member (first says it is still allowed): "member" or "group"; anything
 * else, a second one or one among the members is E2E_ERR_KEYFILE.
 */
static int parse_layout(e2e_members *ms, const struct e2e__kf_line *l,
			int first)
{
	if (!first || l->n != 2)
		return E2E_ERR_KEYFILE;
	if (strcmp(l->field[1], "member") == 0)
		ms->layout = E2E_UPDATE_LAYOUT_MEMBER;
	else if (strcmp(l->field[1], "group") == 0)
		ms->layout = E2E_UPDATE_LAYOUT_GROUP;
	else
		return E2E_ERR_KEYFILE;
	return E2E_OK;
}

/* One "member" line: id, public key, name, optional topics=. */
static int parse_member(e2e_members *ms, const struct e2e__kf_line *l)
{
	uint8_t idb[8], pk[E2E_MEMBER_PUBLICKEYBYTES];
	const char *filters = NULL;
	int rc;

	if (l->n < 4 || l->n > 5 || strcmp(l->field[0], "member") != 0)
		return E2E_ERR_KEYFILE;
	if (l->n == 5) {
		if (strncmp(l->field[4], "topics=", 7) != 0 ||
		    l->field[4][7] == '\0')
			return E2E_ERR_KEYFILE;
		filters = l->field[4] + 7;
	}
	rc = e2e__kf_hex_decode(l->field[1], idb, sizeof idb);
	if (rc == E2E_OK)
		rc = e2e__kf_b64_decode(l->field[2], pk, sizeof pk);
	if (rc != E2E_OK)
		return rc;
	if (e2e_member_id_from_public(pk) != e2e__load64(idb))
		return E2E_ERR_KEYFILE;
	/* Written in id order: a line out of order was edited. */
	if (ms->n > 0 && ms->e[ms->n - 1].id >= e2e__load64(idb))
		return E2E_ERR_KEYFILE;
	rc = e2e_members_add(ms, pk, l->field[3], filters);
	return rc == E2E_ERR_INVAL || rc == E2E_ERR_EXISTS ? E2E_ERR_KEYFILE
							   : rc;
}

E2E_API int e2e_members_load(e2e_members **out, const char *path,
			     size_t *bad_line)
{
	struct e2e__kf_reader r;
	struct e2e__kf_line l;
	e2e_members *ms = NULL;
	char *buf = NULL;
	size_t len = 0;
	uint64_t counter = 0;
	int rc, saved, first = 1;

	if (bad_line != NULL)
		*bad_line = 0;
	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (path == NULL)
		return E2E_ERR_INVAL;
	rc = e2e__read_file(path, E2E_KEYFILE_MAX, 0, &buf, &len);
	if (rc != E2E_OK)
		return rc;
	e2e__kf_reader_init(&r, buf, len);
	rc = e2e__kf_header(&r, MEMBERS_MAGIC);
	if (rc == E2E_OK)
		rc = e2e__kf_named(&r, "group", &l, 2);
	if (rc == E2E_OK) {
		rc = e2e_members_new(&ms, l.field[1]);
		if (rc == E2E_ERR_INVAL)
			rc = E2E_ERR_KEYFILE;
	}
	if (rc == E2E_OK)
		rc = e2e__kf_named(&r, "counter", &l, 2);
	if (rc == E2E_OK)
		rc = e2e__kf_u64_parse(l.field[1], E2E__TIME_MAX, &counter);
	if (rc == E2E_OK)
		ms->counter = counter;
	while (rc == E2E_OK) {
		rc = e2e__kf_next(&r, &l, 6);
		if (rc == 0)
			break;
		if (rc == 1 && strcmp(l.field[0], "layout") == 0)
			rc = parse_layout(ms, &l, first);
		else if (rc == 1)
			rc = parse_member(ms, &l);
		first = 0;
	}
	saved = errno;
	e2e__kf_release(buf, 0);
	if (rc == E2E_OK) {
		*out = ms;
	} else {
		e2e_members_free(ms);
		if (bad_line != NULL)
			*bad_line = r.line;
	}
	errno = saved;
	return rc;
}

E2E_API int e2e_members_save(const e2e_members *ms, const char *path,
			     uint32_t flags)
{
	struct e2e__kf_buf b;
	size_t i, cap = 256;
	int rc;

	if (ms == NULL || path == NULL)
		return E2E_ERR_INVAL;
	for (i = 0; i < ms->n; i++)
		cap += 160 + (ms->e[i].filters ? strlen(ms->e[i].filters) : 0);
	/* Not secret, but it decides who gets keys: written 0600 like the
	 * keyring it goes with. */
	rc = e2e__kf_buf_init(&b, cap, 0);
	if (rc != E2E_OK)
		return rc;
	e2e__kf_buf_printf(
		&b,
		"# libe2e member list: who gets the group's keys.\n"
		"# Rewritten by e2e-keygen, which does not keep comments.\n"
		"# member <id> <public key> <name> "
		"[topics=<filters>]\n" MEMBERS_MAGIC
		" 1\ngroup %s\ncounter %" PRIu64 "\n",
		ms->group, ms->counter);
	/* Written only when not the default, so a per-member list stays
	 * readable by a libe2e without layouts, and a per-group one is
	 * refused by it rather than published per member. */
	if (ms->layout == E2E_UPDATE_LAYOUT_GROUP)
		e2e__kf_buf_printf(&b, "layout group\n");
	for (i = 0; i < ms->n; i++) {
		e2e__kf_buf_printf(&b, "member %016" PRIx64 " ", ms->e[i].id);
		e2e__kf_buf_b64(&b, ms->e[i].pk, sizeof ms->e[i].pk);
		e2e__kf_buf_printf(&b, " %s", ms->e[i].name);
		if (ms->e[i].filters != NULL)
			e2e__kf_buf_printf(&b, " topics=%s", ms->e[i].filters);
		e2e__kf_buf_printf(&b, "\n");
	}
	rc = b.failed ? E2E_ERR_NOMEM
		      : e2e__kf_write(path, b.p, b.len, 0600, flags);
	e2e__kf_buf_free(&b);
	return rc;
}

/* ---- An update for one member of the list, from the admin's keyring. ---- */

/* 1 when some member of ms has filters f. */
static int for_some_member(const e2e_members *ms, const char *f)
{
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (strcmp(ms->e[i].filters != NULL ? ms->e[i].filters : "",
			   f) == 0)
			return 1;
	return 0;
}

/*
 * The key table from the admin's keyring: the keys whose filters are mf
 * (NULL: those of any member of ms), with their stored state and schedule:
 * the stored primary as primary now, an enabled key whose activation is
 * pending as a primary from then on (docs/KEYDIST.md section 4), a
 * disabled key without its bytes.
 */
static int collect_keys(const e2e_members *ms, const e2e_keyring *kr,
			const char *mf, e2e_update_key *keys, size_t *n)
{
	e2e_key_info info;
	size_t i, count = e2e_keyring_count(kr);

	*n = 0;
	for (i = 0; i < count; i++) {
		const struct e2e__key *k;
		e2e_update_key *u = &keys[*n];
		const char *f;

		if (e2e_keyring_get(kr, i, &info) != E2E_OK)
			return E2E_ERR_INVAL;
		k = e2e__keyring_lookup(kr, info.id);
		if (k == NULL)
			return E2E_ERR_INVAL;
		f = k->filters != NULL ? k->filters : "";
		if (mf != NULL ? strcmp(f, mf) != 0 : !for_some_member(ms, f))
			continue;
		if (*n == E2E_UPDATE_KEYS_MAX)
			return E2E_ERR_INVAL;
		*u = (e2e_update_key){k->id,           (e2e_suite)k->suite,
				      E2E_KEY_ENABLED, 0,
				      k->disables,     f,
				      k->key,          0};
		if (k->state == E2E_KEY_PRIMARY) {
			u->state = E2E_KEY_PRIMARY;
		} else if (k->state == E2E_KEY_ENABLED && k->activates != 0) {
			u->state = E2E_KEY_PRIMARY;
			u->activates = k->activates;
		} else if (k->state == E2E_KEY_DISABLED) {
			u->state = E2E_KEY_DISABLED;
			u->key = NULL;
		}
		(*n)++;
	}
	return E2E_OK;
}

/* The ids of the table's keys a member with filters mf gets: those with
 * its filters, not disabled. */
static size_t member_key_ids(const e2e_update_key *keys, size_t n,
			     const char *mf, uint32_t *ids)
{
	size_t i, nids = 0;

	for (i = 0; i < n; i++)
		if (keys[i].state != E2E_KEY_DISABLED &&
		    strcmp(keys[i].filters, mf) == 0)
			ids[nids++] = keys[i].id;
	return nids;
}

E2E_API int e2e_members_update_build(const e2e_members *ms, size_t index,
				     const e2e_keyring *kr, uint64_t counter,
				     uint64_t issued, uint8_t *out,
				     size_t out_cap, size_t *out_len)
{
	e2e_update_key keys[E2E_UPDATE_KEYS_MAX];
	uint32_t ids[E2E_UPDATE_KEYS_MAX];
	e2e_update_recipient r;
	e2e_update_params p;
	const struct entry *m;
	size_t n = 0, nids;
	const char *mf;
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (ms == NULL || kr == NULL || index >= ms->n || out_len == NULL)
		return E2E_ERR_INVAL;
	m = &ms->e[index];
	mf = m->filters != NULL ? m->filters : "";
	if ((rc = collect_keys(ms, kr, mf, keys, &n)) != E2E_OK)
		return rc;
	nids = member_key_ids(keys, n, mf, ids);
	if (nids == 0)
		return E2E_ERR_NO_KEY; /* nothing this member could use */
	r = (e2e_update_recipient){m->pk, ids, nids};
	p = (e2e_update_params){ms->group, counter, issued, keys, n, &r, 1};
	return e2e_update_build(&p, out, out_cap, out_len);
}

E2E_API int e2e_members_group_update_build(const e2e_members *ms,
					   const e2e_keyring *kr,
					   uint64_t counter, uint64_t issued,
					   uint8_t *out, size_t out_cap,
					   size_t *out_len, size_t *no_key)
{
	e2e_update_key keys[E2E_UPDATE_KEYS_MAX];
	e2e_update_recipient *r = NULL;
	uint32_t *ids = NULL;
	e2e_update_params p;
	size_t i, n = 0, len;
	int rc;

	if (out_len != NULL)
		*out_len = 0;
	if (ms == NULL || kr == NULL || out_len == NULL || ms->n == 0 ||
	    ms->n > E2E_UPDATE_RECIPIENTS_MAX)
		return E2E_ERR_INVAL;
	if ((rc = collect_keys(ms, kr, NULL, keys, &n)) != E2E_OK)
		return rc;
	r = calloc(ms->n, sizeof *r);
	ids = calloc(ms->n * E2E_UPDATE_KEYS_MAX, sizeof *ids);
	if (r == NULL || ids == NULL) {
		rc = E2E_ERR_NOMEM;
		goto cleanup;
	}
	for (i = 0; i < ms->n; i++) {
		const char *mf =
			ms->e[i].filters != NULL ? ms->e[i].filters : "";
		uint32_t *mine = ids + i * E2E_UPDATE_KEYS_MAX;

		r[i] = (e2e_update_recipient){
			ms->e[i].pk, mine, member_key_ids(keys, n, mf, mine)};
		if (r[i].key_id_count == 0) {
			if (no_key != NULL)
				*no_key = i;
			rc = E2E_ERR_NO_KEY;
			goto cleanup;
		}
	}
	p = (e2e_update_params){ms->group, counter, issued, keys, n, r, ms->n};
	len = e2e_update_body_len(&p);
	if (len == 0) {
		rc = E2E_ERR_INVAL;
	} else if (out == NULL || out_cap < len) {
		*out_len = len; /* the size needed */
		rc = E2E_ERR_BUFFER_TOO_SMALL;
	} else {
		rc = e2e_update_build(&p, out, out_cap, out_len);
	}
cleanup:
	free(ids);
	free(r);
	return rc;
}

/* ---- A member's update counter file. ---- */

#define COUNTER_MAGIC "libe2e-update-counter"

E2E_API int e2e_update_counter_load(const char *path, const char *group,
				    uint64_t *counter, size_t *bad_line)
{
	struct e2e__kf_reader r;
	struct e2e__kf_line l;
	char *buf = NULL;
	size_t len = 0;
	int rc, saved;

	if (bad_line != NULL)
		*bad_line = 0;
	if (path == NULL || group == NULL || counter == NULL)
		return E2E_ERR_INVAL;
	*counter = 0;
	rc = e2e__read_file(path, E2E_KEYFILE_MAX, 0, &buf, &len);
	if (rc != E2E_OK)
		return rc;
	e2e__kf_reader_init(&r, buf, len);
	rc = e2e__kf_header(&r, COUNTER_MAGIC);
	if (rc == E2E_OK)
		rc = e2e__kf_named(&r, "group", &l, 2);
	/* Another group's counter says nothing about this one. */
	if (rc == E2E_OK && strcmp(l.field[1], group) != 0)
		rc = E2E_ERR_WRONG_GROUP;
	if (rc == E2E_OK)
		rc = e2e__kf_named(&r, "counter", &l, 2);
	if (rc == E2E_OK)
		rc = e2e__kf_u64_parse(l.field[1], E2E__TIME_MAX, counter);
	if (rc == E2E_OK) {
		rc = e2e__kf_next(&r, &l, 1);
		rc = rc == 0 ? E2E_OK : rc < 0 ? rc : E2E_ERR_KEYFILE;
	}
	if (rc != E2E_OK) {
		*counter = 0;
		if (bad_line != NULL)
			*bad_line = r.line;
	}
	saved = errno;
	e2e__kf_release(buf, 0);
	errno = saved;
	return rc;
}

E2E_API int e2e_update_counter_save(const char *path, const char *group,
				    uint64_t counter, uint32_t flags)
{
	struct e2e__kf_buf b;
	int rc;

	if (path == NULL || group == NULL ||
	    !name_valid(group, E2E_UPDATE_GROUP_MAX, 0) ||
	    counter > E2E__TIME_MAX)
		return E2E_ERR_INVAL;
	rc = e2e__kf_buf_init(&b, 256, 0);
	if (rc != E2E_OK)
		return rc;
	e2e__kf_buf_printf(&b,
			   "# libe2e: the last key update this member applied."
			   "\n" COUNTER_MAGIC " 1\ngroup %s\ncounter %" PRIu64
			   "\n",
			   group, counter);
	rc = b.failed ? E2E_ERR_NOMEM
		      : e2e__kf_write(path, b.p, b.len, 0600, flags);
	e2e__kf_buf_free(&b);
	return rc;
}
