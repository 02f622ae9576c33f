/* Key loading for e2e-pub and e2e-sub (keys.h). */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "keys.h"
#include "passphrase.h"
#include "report.h"

/* The passphrase of an encrypted signing key: --sign-pass-file, else
 * E2E_SIGN_PASSPHRASE, else the terminal. A secret string, or NULL
 * (reported). */
static char *signer_passphrase(struct cli_config *cfg, size_t *len)
{
	char prompt[PATH_MAX + 32];
	char *pass = NULL;
	int rc;

	if (cfg->sign_pass_file) {
		rc = cli_pass_read_file(cfg->sign_pass_file, &pass, len);
		if (rc == CLI_PASS_TOO_LONG)
			cli_file_msg(NULL, cfg->sign_pass_file, 1,
				     "passphrase %s", cli_pass_strerror(rc));
		else if (rc != CLI_PASS_OK)
			cli_file_msg(NULL, cfg->sign_pass_file, 0, "%s",
				     cli_pass_strerror(rc));
		return pass;
	}
	if (cfg->env_sign_pass) {
		/* Used once: the signing key is never loaded again. */
		pass = cfg->env_sign_pass;
		*len = cfg->env_sign_pass_len;
		cfg->env_sign_pass = NULL;
		return pass;
	}
	snprintf(prompt, sizeof prompt, "Passphrase for %s: ", cfg->sign_path);
	rc = cli_pass_prompt(prompt, &pass, len);
	if (rc == CLI_PASS_NO_TTY)
		cli_file_msg("signing key", cfg->sign_path, 0,
			     "protected by a passphrase; give --sign-pass-file "
			     "or E2E_SIGN_PASSPHRASE");
	else if (rc != CLI_PASS_OK)
		cli_err("passphrase for %s: %s", cfg->sign_path,
			cli_pass_strerror(rc));
	return pass;
}

static int load_signer(struct cli_config *cfg, e2e_signer **out)
{
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	int encrypted = 0, rc;
	size_t bad_line = 0, pass_len = 0;
	char *pass = NULL;

	rc = e2e_signer_inspect(cfg->sign_path, pk, &encrypted, &bad_line);
	if (rc != E2E_OK) {
		cli_file_err("signing key", cfg->sign_path, bad_line, rc, NULL);
		return -1;
	}
	if (encrypted && !(pass = signer_passphrase(cfg, &pass_len)))
		return -1;
	rc = e2e_signer_load(out, cfg->sign_path, pass, pass_len, &bad_line);
	cli_secret_free(pass);
	if (rc != E2E_OK) {
		cli_file_err("signing key", cfg->sign_path, bad_line, rc, NULL);
		return -1;
	}
	cli_warn_unsafe_dir("signing key", cfg->sign_path);
	return 0;
}

int cli_keys_load(struct cli_config *cfg, struct cli_keys *keys)
{
	size_t bad_line = 0;
	int rc;

	memset(keys, 0, sizeof *keys);
	if (cfg->keyring_path) {
		rc = e2e_keyring_load(&keys->keyring, cfg->keyring_path,
				      &bad_line);
		if (rc != E2E_OK) {
			cli_file_err("keyring", cfg->keyring_path, bad_line, rc,
				     NULL);
			goto fail;
		}
		cli_warn_unsafe_dir("keyring", cfg->keyring_path);
	}
	if (cfg->trust_path) {
		rc = e2e_trust_load(&keys->trust, cfg->trust_path, &bad_line);
		if (rc != E2E_OK) {
			cli_file_err("trust file", cfg->trust_path, bad_line,
				     rc, NULL);
			goto fail;
		}
		cli_warn_unsafe_dir("trust file", cfg->trust_path);
	}
	if (cfg->sign_path && load_signer(cfg, &keys->signer))
		goto fail;
	return 0;
fail:
	cli_keys_free(keys);
	return -1;
}

void cli_keys_free(struct cli_keys *keys)
{
	e2e_keyring_free(keys->keyring);
	e2e_trust_free(keys->trust);
	e2e_signer_free(keys->signer);
	memset(keys, 0, sizeof *keys);
}
