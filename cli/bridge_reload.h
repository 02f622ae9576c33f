/*
 * e2e-bridge's SIGHUP (docs/BRIDGE.md section 4): what a new reading of the
 * configuration file may change in a running bridge. Keys, trust, rules,
 * the receiver policy (require_*), queue, max_payload and the metrics
 * directives take effect; the connections (everything in the remote and
 * local sections), the replay guard's file and options (state, every
 * state_* directive, group), out_state and the signing key need a
 * restart.
 */
#ifndef E2E_CLI_BRIDGE_RELOAD_H
#define E2E_CLI_BRIDGE_RELOAD_H

#include "bridge_config.h"

/* How many directives fresh changes that need a restart: each is logged,
 * one event line (event=reload-refused) naming the directive and where. */
int bridge_reload_refused(const struct bridge_config *cur,
			  const struct bridge_config *fresh);

/* Swap the reloadable settings of cur and fresh: cur then runs with the
 * new ones, fresh holds the old ones (and its own connection sections,
 * unused) to be freed once nothing refers to them. */
void bridge_reload_adopt(struct bridge_config *cur,
			 struct bridge_config *fresh);

#endif /* E2E_CLI_BRIDGE_RELOAD_H */
