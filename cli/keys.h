/*
 * The key material e2e-pub and e2e-sub load: keyring, trust file and
 * signing key (its passphrase from --sign-pass-file, E2E_SIGN_PASSPHRASE or
 * the terminal), each reported as PATH[:LINE] with its remedy.
 */
#ifndef E2E_CLI_KEYS_H
#define E2E_CLI_KEYS_H

#include "e2e.h"
#include "options.h"

/* The key material a tool works with; any member may be NULL. */
struct cli_keys {
	e2e_keyring *keyring;
	e2e_trust *trust;
	e2e_signer *signer;
};

/* Load what cfg names (keyring, trust file, signing key). Reports errors
 * itself; returns 0 or -1. On success *keys owns everything. The
 * passphrase taken from the environment is used once, then wiped. */
int cli_keys_load(struct cli_config *cfg, struct cli_keys *keys);
void cli_keys_free(struct cli_keys *keys);

#endif /* E2E_CLI_KEYS_H */
