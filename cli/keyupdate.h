/*
 * Key updates applied by e2e-pub and e2e-sub themselves (docs/KEYDIST.md
 * sections 7-9, --member-key): the tool subscribes to its update topic on
 * its own connection, and every update that arrives is verified and opened
 * (e2e_update_open), applied to the keyring in memory (e2e_update_apply),
 * and written: the keyring file atomically (0600), then the counter file
 * KEYRING.counter (0600). One stderr line per applied update, at most one
 * per refused one. The keyring's schedules switch keys at their activation
 * time by themselves: nothing here runs at T.
 *
 * Messages arrive on Paho's thread; the keyring is shared with the caller's
 * thread under the mutex given to cli_keyupdate_new (the caller's own).
 */
#ifndef E2E_CLI_KEYUPDATE_H
#define E2E_CLI_KEYUPDATE_H

#include <pthread.h>
#include <stddef.h>

#include "conn.h"
#include "e2e.h"
#include "keys.h"
#include "options.h"

struct cli_keyupdate;

/*
 * Load the keys as cli_keys_load does, except that with --member-key a
 * keyring file that does not exist yet is an empty keyring (a member just
 * enrolled: its first update brings the keys). 0 or -1 (reported).
 */
int cli_keyupdate_keys_load(struct cli_config *cfg, struct cli_keys *keys);

/* NULL without --member-key (*failed 0), or when the member key, the
 * admin key or the counter file does not load (*failed 1, reported).
 * keyring: where the caller keeps its keyring pointer (it may swap it,
 * under mu). */
struct cli_keyupdate *cli_keyupdate_new(struct cli_config *cfg,
					e2e_keyring **keyring,
					pthread_mutex_t *mu, int *failed);
void cli_keyupdate_free(struct cli_keyupdate *ku);

/* The update topic (a NUL-terminated string owned by ku). */
char *cli_keyupdate_topic(const struct cli_keyupdate *ku);
/* 1 when a message on topic is an update for ku to handle. */
int cli_keyupdate_is_for(const struct cli_keyupdate *ku, const char *topic,
			 size_t topic_len);
/* Handle one message on the update topic; the caller holds mu. */
void cli_keyupdate_handle(struct cli_keyupdate *ku, const char *topic,
			  const struct cli_message *m);
/* A cli_on_message for a tool whose only subscription is the update
 * topic (e2e-pub): takes mu itself. user is the cli_keyupdate. */
void cli_keyupdate_on_message(void *user, const char *topic, size_t topic_len,
			      const struct cli_message *m);
/* Wait up to ms for the first update message (the retained one) to be
 * handled: a publisher that was away catches up before it seals. */
void cli_keyupdate_wait_first(struct cli_keyupdate *ku, long ms);

#endif /* E2E_CLI_KEYUPDATE_H */
