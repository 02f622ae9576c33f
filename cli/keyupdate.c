/* Key updates applied by the tools (keyupdate.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "keyupdate.h"
#include "passphrase.h"
#include "report.h"
#include "signals.h"

struct cli_keyupdate {
	const struct cli_config *cfg;
	e2e_keyring **keyring;
	pthread_mutex_t *mu;
	e2e_member *member;
	uint8_t admin[E2E_SIGN_PUBLICKEYBYTES];
	e2e_update *u;
	char topic[512];
	char counter_path[PATH_MAX];
	uint64_t last;  /* the counter of the last update applied */
	int seen;       /* an update message was handled */
	int last_error; /* the last refusal logged, so a repeat is not */
};

int cli_keyupdate_keys_load(struct cli_config *cfg, struct cli_keys *keys)
{
	char *path = cfg->keyring_path;
	int rc;

	if (!cfg->member_key_path || access(path, F_OK) == 0 || errno != ENOENT)
		return cli_keys_load(cfg, keys);
	/* A member just enrolled: no keys until its first update. */
	cfg->keyring_path = NULL;
	rc = cli_keys_load(cfg, keys);
	cfg->keyring_path = path;
	if (rc == 0 && e2e_keyring_new(&keys->keyring) != E2E_OK) {
		cli_err("out of memory");
		cli_keys_free(keys);
		return -1;
	}
	if (rc == 0)
		cli_err("keyring %s does not exist yet: waiting for a key "
			"update on the broker",
			path);
	return rc;
}

static int load_member(const struct cli_config *cfg, e2e_member **m)
{
	uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES];
	char *pass = NULL;
	size_t pass_len = 0, line = 0;
	int encrypted = 0, rc;

	rc = e2e_member_inspect(cfg->member_key_path, pk, &encrypted, &line);
	if (rc == E2E_OK && encrypted) {
		if (!cfg->member_pass_file) {
			cli_file_msg("member key", cfg->member_key_path, 0,
				     "protected by a passphrase; give "
				     "--member-pass-file");
			return -1;
		}
		rc = cli_pass_read_file(cfg->member_pass_file, &pass,
					&pass_len);
		if (rc != CLI_PASS_OK) {
			cli_file_msg(NULL, cfg->member_pass_file, 0, "%s",
				     cli_pass_strerror(rc));
			return -1;
		}
	}
	if (rc == E2E_OK)
		rc = e2e_member_load(m, cfg->member_key_path, pass, pass_len,
				     &line);
	cli_secret_free(pass);
	if (rc != E2E_OK) {
		cli_file_err("member key", cfg->member_key_path, line, rc,
			     NULL);
		return -1;
	}
	return 0;
}

struct cli_keyupdate *cli_keyupdate_new(struct cli_config *cfg,
					e2e_keyring **keyring,
					pthread_mutex_t *mu, int *failed)
{
	struct cli_keyupdate *ku;
	size_t line = 0;
	int rc;

	*failed = 0;
	if (!cfg->member_key_path)
		return NULL;
	*failed = 1;
	if (!(ku = calloc(1, sizeof *ku))) {
		cli_err("out of memory");
		return NULL;
	}
	ku->cfg = cfg;
	ku->keyring = keyring;
	ku->mu = mu;
	if (load_member(cfg, &ku->member))
		goto fail;
	rc = e2e_pubkey_load(ku->admin, cfg->admin_key_path, &line);
	if (rc != E2E_OK) {
		cli_file_err("admin key", cfg->admin_key_path, line, rc, NULL);
		goto fail;
	}
	if (e2e_update_new(&ku->u) != E2E_OK) {
		cli_err("out of memory");
		goto fail;
	}
	if (cfg->update_topic)
		snprintf(ku->topic, sizeof ku->topic, "%s", cfg->update_topic);
	else
		snprintf(ku->topic, sizeof ku->topic, "e2e/keys/%s/%016" PRIx64,
			 cfg->group, e2e_member_id(ku->member));
	/* The counter goes with the keyring: KEYRING.counter. */
	if ((size_t)snprintf(ku->counter_path, sizeof ku->counter_path,
			     "%s.counter",
			     cfg->keyring_path) >= sizeof ku->counter_path) {
		cli_err("keyring path too long");
		goto fail;
	}
	rc = e2e_update_counter_load(ku->counter_path, cfg->group, &ku->last,
				     &line);
	if (rc == E2E_ERR_IO && errno == ENOENT) {
		ku->last = 0; /* nothing applied yet */
	} else if (rc != E2E_OK) {
		cli_file_err("update counter", ku->counter_path, line, rc,
			     NULL);
		goto fail;
	}
	cli_debug("key updates for member %016" PRIx64
		  " of group %s on %s, last applied %" PRIu64,
		  e2e_member_id(ku->member), cfg->group, ku->topic, ku->last);
	*failed = 0;
	return ku;
fail:
	cli_keyupdate_free(ku);
	return NULL;
}

void cli_keyupdate_free(struct cli_keyupdate *ku)
{
	if (!ku)
		return;
	e2e_member_free(ku->member);
	e2e_update_free(ku->u);
	free(ku);
}

char *cli_keyupdate_topic(const struct cli_keyupdate *ku)
{
	return (char *)ku->topic;
}

int cli_keyupdate_is_for(const struct cli_keyupdate *ku, const char *topic,
			 size_t topic_len)
{
	return ku && strlen(ku->topic) == topic_len &&
	       memcmp(ku->topic, topic, topic_len) == 0;
}

/* The primary of the keys without filters now, for the log line. */
static void describe(const e2e_keyring *kr, char *out, size_t cap)
{
	e2e_key_info info;

	if (e2e_keyring_primary_at(kr, 0, &info) == E2E_OK)
		snprintf(out, cap, "primary %08" PRIx32, info.id);
	else
		snprintf(out, cap, "no primary now");
}

void cli_keyupdate_handle(struct cli_keyupdate *ku, const char *topic,
			  const struct cli_message *m)
{
	const struct cli_config *cfg = ku->cfg;
	e2e_update_opener o = {ku->admin, cfg->group, ku->member, ku->last};
	char what[64];
	int rc;

	ku->seen = 1;
	if (m->len == 0)
		return; /* a retained update cleared: nothing to apply */
	rc = e2e_update_open(ku->u, &o, topic, m->payload, m->len,
			     m->retained ? E2E_DELIVERY_RETAINED : 0);
	if (rc == E2E_OK)
		rc = e2e_update_apply(ku->u, *ku->keyring, 0);
	if (rc != E2E_OK) {
		/* The retained update applied already comes back at every
		 * reconnection: said once, as any repeated refusal. */
		if (rc != ku->last_error)
			cli_err("key update on %s refused: %s: %s", topic,
				e2e_reason(rc),
				rc == E2E_ERR_REPLAY
					? "this update was applied already"
					: e2e_strerror(rc));
		ku->last_error = rc;
		return;
	}
	ku->last_error = 0;
	/* Keyring first, then the counter: a crash between the two leaves
	 * the new keys with the old counter, and the same update applies
	 * again harmlessly at the next start. */
	rc = e2e_keyring_save(*ku->keyring, cfg->keyring_path, 0);
	if (rc != E2E_OK) {
		cli_file_err("keyring", cfg->keyring_path, 0, rc, NULL);
		return;
	}
	rc = e2e_update_counter_save(ku->counter_path, cfg->group,
				     e2e_update_counter(ku->u), 0);
	if (rc != E2E_OK) {
		cli_file_err("update counter", ku->counter_path, 0, rc, NULL);
		return;
	}
	ku->last = e2e_update_counter(ku->u);
	describe(*ku->keyring, what, sizeof what);
	cli_err("key update %" PRIu64 " applied: %zu keys in %s, %s", ku->last,
		e2e_keyring_count(*ku->keyring), cfg->keyring_path, what);
}

void cli_keyupdate_on_message(void *user, const char *topic, size_t topic_len,
			      const struct cli_message *m)
{
	struct cli_keyupdate *ku = user;

	pthread_mutex_lock(ku->mu);
	if (cli_keyupdate_is_for(ku, topic, topic_len))
		cli_keyupdate_handle(ku, ku->topic, m);
	pthread_mutex_unlock(ku->mu);
	cli_wake_main();
}

void cli_keyupdate_wait_first(struct cli_keyupdate *ku, long ms)
{
	int64_t deadline = cli_now_ms() + ms;
	int seen = 0;

	while (!seen && cli_now_ms() < deadline && !cli_stop_requested()) {
		cli_signal_wait(50);
		pthread_mutex_lock(ku->mu);
		seen = ku->seen;
		pthread_mutex_unlock(ku->mu);
	}
}
