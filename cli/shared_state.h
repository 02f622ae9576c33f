/*
 * e2e-sub --state redis://[USER@]HOST[:PORT]/PREFIX: the replay state of a
 * consumer group shared in Redis (libe2e-redis, docs/GROUPS.md).
 *
 * The URL helpers are plain string work, for the option parser (which
 * refuses a password on the command line); the connection is e2e-sub's
 * (sub_state.c), built with libe2e-redis when configure found hiredis and
 * otherwise a stub that says so.
 */
#ifndef E2E_CLI_SHARED_STATE_H
#define E2E_CLI_SHARED_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"

struct cli_config;

/* Whether --state's argument names Redis (redis:// or rediss://) rather
 * than a file. */
int cli_state_is_url(const char *state);
/* Whether such a URL carries a password (redis://USER:PASSWORD@...). */
int cli_state_url_has_password(const char *state);
/* Overwrite that password in place (it is in argv: ps shows it). */
void cli_state_url_wipe_password(char *state);
/* What to tell the user when connecting to url's Redis gave rc, naming
 * the options as e2e-sub spells them (directives 0: --state-cacert) or as
 * e2e-bridge's configuration does (1: state_cacert); formatted into buf
 * (cap bytes, 256 are enough) where names are needed. NULL: nothing to
 * add. */
const char *cli_state_remedy(int rc, const char *url, int directives, char *buf,
			     size_t cap);
/* --state-cacert, --state-cacertdir, --state-cert, --state-key and
 * --state-sni go with --state rediss://, --state-cert with --state-key:
 * 0, or -1 (reported). (state_tls.c) */
int cli_state_tls_check(const struct cli_config *cfg);

/* The window of a group's state when --window is not given: libe2e-redis's
 * E2E_REDIS_WINDOW_DEFAULT (sub_state.c checks that they agree). */
#define CLI_SHARED_WINDOW_DEFAULT 65536u

struct cli_shared;

/* Connect to the group's state named by cfg->state_path, with the password
 * of --state-password-file or E2E_STATE_PASSWORD, and guard's rules: 0, or
 * -1 (reported). */
int cli_shared_connect(struct cli_shared **out, const struct cli_config *cfg,
		       const e2e_guard_opts *guard);
/* e2e_open() with the group's replay check (r->guard NULL): E2E_OK, the
 * verdict, or an E2E_ERR_STORE_* error (nothing delivered then). */
int cli_shared_open(struct cli_shared *sh, const e2e_receiver *r,
		    const char *topic, const uint8_t *env, size_t env_len,
		    uint32_t delivery, uint8_t *out, size_t out_cap,
		    size_t *out_len, e2e_info *info);
/* At most this many messages per batch (E2E_REDIS_BATCH_MAX). */
#define CLI_SHARED_BATCH_MAX 256u
/* At most this many batches in flight (E2E_REDIS_PIPELINE_MAX). */
#define CLI_SHARED_PIPELINE 2u
/* The group's check and commit for n (1 .. CLI_SHARED_BATCH_MAX) messages
 * that e2e_open (guard NULL) accepted, in one script call, judged in order
 * as n calls one by one would be, and after the batches sent before it:
 * sent without waiting for the answer. info and topic must stay valid
 * until cli_shared_check_recv has given this batch's verdicts; at most
 * CLI_SHARED_PIPELINE batches in flight (the caller counts them). */
void cli_shared_check_send(struct cli_shared *sh, const e2e_info *const *info,
			   const char *const *topic, const uint32_t *delivery,
			   size_t n, uint64_t now);
/* Wait until the oldest batch's answer can be taken without waiting for
 * Redis (1), or until wake_fd is readable (0): e2e_redis_batch_wait. */
int cli_shared_check_wait(struct cli_shared *sh, int wake_fd);
/* The verdicts of the oldest batch in flight, in order: verdict[i] is
 * E2E_OK, the guard's verdict or an E2E_ERR_STORE_* error. */
void cli_shared_check_recv(struct cli_shared *sh, int *verdict);
void cli_shared_free(struct cli_shared *sh); /* NULL is fine */

#endif /* E2E_CLI_SHARED_STATE_H */
