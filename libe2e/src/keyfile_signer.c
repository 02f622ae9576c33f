/*
 * Signer key files (docs/KEYFILES.md, "Signer secret key" and "Signer public
 * key"):
 *
 *   libe2e-signer-secret 1          libe2e-signer-public 1
 *   signer <id: 16 hex>             signer <id: 16 hex>
 *   public <public key: base64>     public <public key: base64>
 *   kdf argon2id <ops> <mem> <salt: base64>   (or: kdf none)
 *   secret <nonce || encrypted seed || tag: base64>   (or: the seed)
 */
#include "keyfile.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#define PUBLIC_MAGIC "libe2e-signer-public"
#define SALT_BYTES crypto_pwhash_SALTBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define ABYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SEALED_BYTES (NONCE_BYTES + E2E__KF_SECRETBYTES + ABYTES)
/* Associated data: magic line, id, public key, costs, salt. */
#define AD_BYTES (E2E__KF_MAGIC_MAX + 2 + 8 + 32 + 8 + 8 + SALT_BYTES)

/* Signer secret key files: an Ed25519 seed. */
static const struct e2e__kf_kind signer_kind = {
	"libe2e-signer-secret", "signer",
	"# libe2e signer secret key (Ed25519), encrypted with a passphrase.\n"
	"# Keep it secret (mode 0600).\n",
	"# libe2e signer secret key (Ed25519), NOT ENCRYPTED "
	"(--no-passphrase):\n"
	"# anyone who can read this file can sign as this signer. Keep it "
	"secret (mode 0600).\n"};

E2E_API unsigned long long e2e_signer_opslimit(void)
{
	return E2E_SIGNER_OPSLIMIT;
}

E2E_API size_t e2e_signer_memlimit(void)
{
	return E2E_SIGNER_MEMLIMIT;
}

/* Everything a secret key file says; lives in sodium_malloc memory because
 * sealed holds the clear seed when the file is not encrypted. */
struct signer_file {
	const struct e2e__kf_kind *kind;
	uint64_t id;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	int encrypted;
	uint64_t ops;
	uint64_t mem;
	uint8_t salt[SALT_BYTES];
	uint8_t sealed[SEALED_BYTES];
	size_t secret_line;
	/* Working space for loading. */
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
};

static int costs_valid(uint64_t ops, uint64_t mem)
{
	return ops >= crypto_pwhash_OPSLIMIT_MIN &&
	       ops <= E2E_SIGNER_OPSLIMIT_MAX &&
	       mem >= crypto_pwhash_MEMLIMIT_MIN &&
	       mem <= E2E_SIGNER_MEMLIMIT_MAX;
}

/* The associated data of the encrypted secret; returns its length. */
static size_t build_ad(const struct signer_file *f, uint8_t ad[AD_BYTES])
{
	size_t off = strlen(f->kind->magic);

	memcpy(ad, f->kind->magic, off);
	memcpy(ad + off, " 1", 2);
	off += 2;
	e2e__store64(ad + off, f->id);
	memcpy(ad + off + 8, f->pk, sizeof f->pk);
	e2e__store64(ad + off + 40, f->ops);
	e2e__store64(ad + off + 48, f->mem);
	memcpy(ad + off + 56, f->salt, SALT_BYTES);
	return off + 56 + SALT_BYTES;
}

/* "signer <hex>" (or "member <hex>") then "public <base64>", checked
 * against each other. */
static int parse_identity(struct e2e__kf_reader *r, const char *id_name,
			  uint64_t *id, uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
			  size_t *line)
{
	struct e2e__kf_line l;
	uint8_t idb[8];
	size_t id_line;
	int rc;

	rc = e2e__kf_named(r, id_name, &l, 2);
	if (rc == E2E_OK)
		rc = e2e__kf_hex_decode(l.field[1], idb, sizeof idb);
	if (rc != E2E_OK)
		goto fail;
	*id = e2e__load64(idb);
	id_line = r->line;
	rc = e2e__kf_named(r, "public", &l, 2);
	if (rc == E2E_OK)
		rc = e2e__kf_b64_decode(l.field[1], pk,
					E2E_SIGN_PUBLICKEYBYTES);
	if (rc != E2E_OK)
		goto fail;
	/* The id is a checksum of the key: a mismatch means an edited or
	 * damaged file. */
	if (e2e_signer_id_from_public(pk) != *id) {
		*line = id_line;
		return E2E_ERR_KEYFILE;
	}
	return E2E_OK;
fail:
	*line = r->line;
	return rc;
}

/* Expect the end of the file. */
static int parse_end(struct e2e__kf_reader *r, size_t *line)
{
	struct e2e__kf_line l;
	int rc = e2e__kf_next(r, &l, 1);

	if (rc == 0)
		return E2E_OK;
	*line = r->line;
	return rc < 0 ? rc : E2E_ERR_KEYFILE;
}

static int parse_kdf(struct e2e__kf_reader *r, struct signer_file *f)
{
	struct e2e__kf_line l;
	int rc = e2e__kf_named(r, "kdf", &l, 6);

	if (rc != E2E_OK)
		return rc;
	if (l.n == 2 && strcmp(l.field[1], "none") == 0) {
		f->encrypted = 0;
		return E2E_OK;
	}
	if (l.n != 5 || strcmp(l.field[1], "argon2id") != 0)
		return E2E_ERR_KEYFILE;
	f->encrypted = 1;
	if (e2e__kf_u64_parse(l.field[2], E2E_SIGNER_OPSLIMIT_MAX, &f->ops) !=
		    E2E_OK ||
	    e2e__kf_u64_parse(l.field[3], E2E_SIGNER_MEMLIMIT_MAX, &f->mem) !=
		    E2E_OK ||
	    !costs_valid(f->ops, f->mem))
		return E2E_ERR_KEYFILE;
	return e2e__kf_b64_decode(l.field[4], f->salt, SALT_BYTES);
}

/* Parse a whole secret key file into f; *line as for bad_line. */
static int parse_secret_file(const char *path, struct signer_file *f,
			     size_t *line)
{
	struct e2e__kf_reader r;
	struct e2e__kf_line l;
	char *buf = NULL;
	size_t len = 0;
	int rc, saved;

	*line = 0;
	rc = e2e__read_file(path, E2E_KEYFILE_MAX, 1, &buf, &len);
	if (rc != E2E_OK)
		return rc;
	e2e__kf_reader_init(&r, buf, len);
	rc = e2e__kf_header(&r, f->kind->magic);
	if (rc != E2E_OK) {
		*line = r.line;
		goto cleanup;
	}
	rc = parse_identity(&r, f->kind->id_name, &f->id, f->pk, line);
	if (rc != E2E_OK)
		goto cleanup;
	rc = parse_kdf(&r, f);
	if (rc == E2E_OK)
		rc = e2e__kf_named(&r, "secret", &l, 2);
	f->secret_line = r.line;
	if (rc == E2E_OK)
		rc = e2e__kf_b64_decode(l.field[1], f->sealed,
					f->encrypted ? SEALED_BYTES
						     : E2E__KF_SECRETBYTES);
	if (rc != E2E_OK) {
		*line = r.line;
		goto cleanup;
	}
	rc = parse_end(&r, line);
cleanup:
	saved = errno;
	e2e__kf_release(buf, 1);
	errno = saved;
	return rc;
}

int e2e__kf_secret_load(const struct e2e__kf_kind *kind, const char *path,
			const char *pass, size_t pass_len,
			uint8_t pk[E2E__KF_SECRETBYTES], uint8_t *secret,
			int *is_encrypted, size_t *bad_line)
{
	struct signer_file *f;
	uint8_t ad[AD_BYTES];
	size_t line = 0, ad_len;
	int rc, saved;

	*bad_line = 0;
	f = sodium_malloc(sizeof *f);
	if (f == NULL)
		return E2E_ERR_NOMEM;
	f->kind = kind;
	rc = parse_secret_file(path, f, &line);
	if (rc != E2E_OK || secret == NULL)
		goto cleanup;
	if (!f->encrypted) {
		memcpy(secret, f->sealed, E2E__KF_SECRETBYTES);
	} else if (pass == NULL) {
		rc = E2E_ERR_PASSPHRASE;
	} else if (crypto_pwhash(f->key, sizeof f->key, pass, pass_len, f->salt,
				 f->ops, (size_t)f->mem,
				 crypto_pwhash_ALG_ARGON2ID13) != 0) {
		rc = E2E_ERR_NOMEM;
	} else {
		ad_len = build_ad(f, ad);
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
			    secret, NULL, NULL, f->sealed + NONCE_BYTES,
			    SEALED_BYTES - NONCE_BYTES, ad, ad_len, f->sealed,
			    f->key) != 0)
			rc = E2E_ERR_PASSPHRASE;
	}
	/* A damaged clear secret is caught by the caller, which derives the
	 * public key again and compares (line: the secret's). */
	if (rc == E2E_OK)
		line = f->secret_line;
cleanup:
	saved = errno;
	if (rc == E2E_OK) {
		memcpy(pk, f->pk, E2E__KF_SECRETBYTES);
		if (is_encrypted != NULL)
			*is_encrypted = f->encrypted;
	}
	*bad_line = line;
	sodium_free(f); /* wipes the clear secret and the derived key */
	errno = saved;
	return rc;
}

int e2e__kf_secret_save(const struct e2e__kf_kind *kind, const char *path,
			const uint8_t pk[E2E__KF_SECRETBYTES],
			const uint8_t *secret, const char *pass,
			size_t pass_len, unsigned long long opslimit,
			size_t memlimit, uint32_t flags)
{
	struct e2e__kf_buf b = {0};
	struct signer_file *f = NULL;
	uint8_t ad[AD_BYTES];
	size_t ad_len;
	int rc;

	if (path == NULL || (pass != NULL && pass_len == 0))
		return E2E_ERR_INVAL;
	if (opslimit == 0)
		opslimit = E2E_SIGNER_OPSLIMIT;
	if (memlimit == 0)
		memlimit = E2E_SIGNER_MEMLIMIT;
	if (!costs_valid(opslimit, memlimit))
		return E2E_ERR_INVAL;
	f = sodium_malloc(sizeof *f);
	if (f == NULL)
		return E2E_ERR_NOMEM;
	f->kind = kind;
	rc = e2e__kf_buf_init(&b, 1024, 1);
	if (rc != E2E_OK)
		goto cleanup;
	memcpy(f->pk, pk, sizeof f->pk);
	f->id = e2e_signer_id_from_public(f->pk);
	f->encrypted = pass != NULL;
	if (f->encrypted) {
		f->ops = opslimit;
		f->mem = memlimit;
		randombytes_buf(f->salt, sizeof f->salt);
		randombytes_buf(f->sealed, NONCE_BYTES);
		if (crypto_pwhash(f->key, sizeof f->key, pass, pass_len,
				  f->salt, f->ops, (size_t)f->mem,
				  crypto_pwhash_ALG_ARGON2ID13) != 0) {
			rc = E2E_ERR_NOMEM;
			goto cleanup;
		}
		ad_len = build_ad(f, ad);
		crypto_aead_xchacha20poly1305_ietf_encrypt(
			f->sealed + NONCE_BYTES, NULL, secret,
			E2E__KF_SECRETBYTES, ad, ad_len, NULL, f->sealed,
			f->key);
		e2e__kf_buf_printf(&b, "%s", kind->comment_encrypted);
	} else {
		memcpy(f->sealed, secret, E2E__KF_SECRETBYTES);
		e2e__kf_buf_printf(&b, "%s", kind->comment_clear);
	}
	e2e__kf_buf_printf(&b, "%s 1\n%s %016" PRIx64 "\npublic ", kind->magic,
			   kind->id_name, f->id);
	e2e__kf_buf_b64(&b, f->pk, sizeof f->pk);
	if (f->encrypted) {
		e2e__kf_buf_printf(&b,
				   "\nkdf argon2id %" PRIu64 " %" PRIu64 " ",
				   f->ops, f->mem);
		e2e__kf_buf_b64(&b, f->salt, sizeof f->salt);
		e2e__kf_buf_printf(&b, "\nsecret ");
		e2e__kf_buf_b64(&b, f->sealed, SEALED_BYTES);
	} else {
		e2e__kf_buf_printf(&b, "\nkdf none\nsecret ");
		e2e__kf_buf_b64(&b, f->sealed, E2E__KF_SECRETBYTES);
	}
	e2e__kf_buf_printf(&b, "\n");
	rc = b.failed ? E2E_ERR_NOMEM
		      : e2e__kf_write(path, b.p, b.len, 0600, flags);
cleanup:
	e2e__kf_buf_free(&b);
	sodium_free(f);
	return rc;
}

int e2e__kf_secret_inspect(const struct e2e__kf_kind *kind, const char *path,
			   uint8_t pk[E2E__KF_SECRETBYTES], int *is_encrypted,
			   size_t *bad_line)
{
	size_t line = 0;
	int rc;

	if (bad_line != NULL)
		*bad_line = 0;
	if (path == NULL || pk == NULL)
		return E2E_ERR_INVAL;
	rc = e2e__kf_secret_load(kind, path, NULL, 0, pk, NULL, is_encrypted,
				 &line);
	if (rc != E2E_OK && bad_line != NULL)
		*bad_line = line;
	return rc;
}

E2E_API int e2e_signer_inspect(const char *path,
			       uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
			       int *is_encrypted, size_t *bad_line)
{
	return e2e__kf_secret_inspect(&signer_kind, path, pk, is_encrypted,
				      bad_line);
}

E2E_API int e2e_signer_load(e2e_signer **out, const char *path,
			    const char *pass, size_t pass_len, size_t *bad_line)
{
	e2e_signer *s = NULL;
	uint8_t *seed = NULL;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES], pk2[E2E_SIGN_PUBLICKEYBYTES];
	size_t line = 0;
	int rc, saved;

	if (bad_line != NULL)
		*bad_line = 0;
	if (out == NULL)
		return E2E_ERR_INVAL;
	*out = NULL;
	if (path == NULL)
		return E2E_ERR_INVAL;
	seed = sodium_malloc(E2E_SIGN_SEEDBYTES);
	if (seed == NULL)
		return E2E_ERR_NOMEM;
	rc = e2e__kf_secret_load(&signer_kind, path, pass, pass_len, pk, seed,
				 NULL, &line);
	if (rc == E2E_OK)
		rc = e2e_signer_from_seed(&s, seed);
	if (rc == E2E_OK) {
		/* Catches a damaged clear seed. */
		e2e_signer_public(s, pk2);
		if (sodium_memcmp(pk, pk2, sizeof pk) != 0)
			rc = E2E_ERR_KEYFILE;
	}
	saved = errno;
	sodium_free(seed); /* wipes */
	if (rc == E2E_OK) {
		*out = s;
	} else {
		e2e_signer_free(s);
		if (bad_line != NULL)
			*bad_line = line;
	}
	errno = saved;
	return rc;
}

E2E_API int e2e_signer_save(const e2e_signer *s, const char *path,
			    const char *pass, size_t pass_len,
			    unsigned long long opslimit, size_t memlimit,
			    uint32_t flags)
{
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];

	if (s == NULL)
		return E2E_ERR_INVAL;
	e2e_signer_public(s, pk);
	return e2e__kf_secret_save(&signer_kind, path, pk,
				   e2e__signer_secret(s), pass, pass_len,
				   opslimit, memlimit, flags);
}

E2E_API int e2e_pubkey_load(uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
			    const char *path, size_t *bad_line)
{
	struct e2e__kf_reader r;
	char *buf = NULL;
	size_t len = 0, line = 0;
	uint64_t id;
	int rc, saved;

	if (bad_line != NULL)
		*bad_line = 0;
	if (pk == NULL || path == NULL)
		return E2E_ERR_INVAL;
	rc = e2e__read_file(path, E2E_KEYFILE_MAX, 0, &buf, &len);
	if (rc != E2E_OK)
		return rc;
	e2e__kf_reader_init(&r, buf, len);
	rc = e2e__kf_header(&r, PUBLIC_MAGIC);
	if (rc != E2E_OK)
		line = r.line;
	if (rc == E2E_OK)
		rc = parse_identity(&r, "signer", &id, pk, &line);
	if (rc == E2E_OK)
		rc = parse_end(&r, &line);
	if (rc != E2E_OK) {
		sodium_memzero(pk, E2E_SIGN_PUBLICKEYBYTES);
		if (bad_line != NULL)
			*bad_line = line;
	}
	saved = errno;
	e2e__kf_release(buf, 0);
	errno = saved;
	return rc;
}

E2E_API int e2e_pubkey_save(const uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
			    const char *path, uint32_t flags)
{
	struct e2e__kf_buf b;
	uint64_t id;
	int rc;

	if (pk == NULL || path == NULL)
		return E2E_ERR_INVAL;
	rc = e2e__kf_buf_init(&b, 512, 0);
	if (rc != E2E_OK)
		return rc;
	id = e2e_signer_id_from_public(pk);
	e2e__kf_buf_printf(&b,
			   "# libe2e signer public key, signer id %016" PRIx64
			   "\n" PUBLIC_MAGIC " 1\nsigner %016" PRIx64
			   "\npublic ",
			   id, id);
	e2e__kf_buf_b64(&b, pk, E2E_SIGN_PUBLICKEYBYTES);
	e2e__kf_buf_printf(&b, "\n");
	rc = b.failed ? E2E_ERR_NOMEM
		      : e2e__kf_write(path, b.p, b.len, 0, flags);
	e2e__kf_buf_free(&b);
	return rc;
}
