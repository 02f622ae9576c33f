/*
 * Trust files (docs/KEYFILES.md, "Trust file"):
 *
 *   libe2e-trust 1
 *   <signer id: 16 hex> <public key: base64> <filter>[,<filter>...]
 */
#include "keyfile.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#define TRUST_MAGIC "libe2e-trust"

static int parse_signer(const struct e2e__kf_line *l, e2e_trust *t)
{
	uint8_t idb[8], pk[E2E_SIGN_PUBLICKEYBYTES];
	int rc;

	if (l->n != 3)
		return E2E_ERR_KEYFILE;
	if (e2e__kf_hex_decode(l->field[0], idb, sizeof idb) != E2E_OK)
		return E2E_ERR_KEYFILE;
	rc = e2e__kf_b64_decode(l->field[1], pk, sizeof pk);
	if (rc != E2E_OK)
		return rc;
	if (e2e_signer_id_from_public(pk) != e2e__load64(idb))
		return E2E_ERR_KEYFILE;
	/* A carriage return inside the filters (one before the newline was
	 * already dropped) would load but could never be saved again. */
	if (strchr(l->field[2], '\r') != NULL)
		return E2E_ERR_KEYFILE;
	rc = e2e_trust_add(t, pk, l->field[2]);
	/* An invalid filter is a fault of the file, reported with its line. */
	return rc == E2E_ERR_INVAL ? E2E_ERR_KEYFILE : rc;
}

E2E_API int e2e_trust_load(e2e_trust **out, const char *path, size_t *bad_line)
{
	struct e2e__kf_reader r;
	struct e2e__kf_line l;
	e2e_trust *t = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc, saved;

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
	rc = e2e_trust_new(&t);
	if (rc != E2E_OK)
		goto cleanup;
	e2e__kf_reader_init(&r, buf, len);
	rc = e2e__kf_header(&r, TRUST_MAGIC);
	while (rc == E2E_OK) {
		rc = e2e__kf_next(&r, &l, 3);
		if (rc == 0)
			break;
		if (rc == 1)
			rc = parse_signer(&l, t);
	}
	if (rc != E2E_OK && bad_line != NULL)
		*bad_line = r.line;
cleanup:
	saved = errno;
	e2e__kf_release(buf, 0);
	if (rc == E2E_OK)
		*out = t;
	else
		e2e_trust_free(t);
	errno = saved;
	return rc;
}

/* Filters that the line format could not give back unchanged. */
static int filters_storable(const char *f)
{
	size_t n = strlen(f);

	return n > 0 && strpbrk(f, "\r\n") == NULL && f[0] != ' ' &&
	       f[0] != '\t' && f[n - 1] != ' ' && f[n - 1] != '\t';
}

E2E_API int e2e_trust_save(const e2e_trust *t, const char *path, uint32_t flags)
{
	struct e2e__kf_buf b;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	const char *filters;
	size_t i, n, cap = 512;
	int rc;

	if (t == NULL || path == NULL)
		return E2E_ERR_INVAL;
	n = e2e_trust_count(t);
	for (i = 0; i < n; i++) {
		rc = e2e_trust_get(t, i, pk, &filters);
		if (rc != E2E_OK)
			return rc;
		if (!filters_storable(filters))
			return E2E_ERR_INVAL;
		cap += 80 + strlen(filters);
	}
	rc = e2e__kf_buf_init(&b, cap, 0);
	if (rc != E2E_OK)
		return rc;
	e2e__kf_buf_printf(
		&b,
		"# libe2e trust file: the signers accepted and the topic "
		"filters each may\n"
		"# publish on. Rewritten by e2e-keygen, which does not keep "
		"comments.\n"
		"# signer-id public-key filter[,filter...]\n" TRUST_MAGIC
		" 1\n");
	for (i = 0; i < n && rc == E2E_OK; i++) {
		rc = e2e_trust_get(t, i, pk, &filters);
		if (rc != E2E_OK)
			break;
		e2e__kf_buf_printf(&b, "%016" PRIx64 " ",
				   e2e_signer_id_from_public(pk));
		e2e__kf_buf_b64(&b, pk, sizeof pk);
		e2e__kf_buf_printf(&b, " %s\n", filters);
	}
	if (rc == E2E_OK)
		rc = b.failed ? E2E_ERR_NOMEM
			      : e2e__kf_write(path, b.p, b.len, 0, flags);
	e2e__kf_buf_free(&b);
	return rc;
}
