/*
 * The replay guard of a receiving tool (e2e-sub, e2e-bridge) and its state
 * file (docs/REPLAY-STATE.md), with the tools' one way of reporting.
 */
#ifndef E2E_CLI_GUARD_STATE_H
#define E2E_CLI_GUARD_STATE_H

#include "e2e.h"

/* A guard with opts, its state loaded from path when path is not NULL; a
 * file that does not exist yet is a first run (written at the first save).
 * 0, or -1 with the guard freed and the reason reported (a corrupt file
 * with its line and the remedy). */
int cli_guard_open(e2e_guard **out, const e2e_guard_opts *o, const char *path);
/* Save g to path atomically: 0, or -1 reported. */
int cli_guard_save(const e2e_guard *g, const char *path);

#endif /* E2E_CLI_GUARD_STATE_H */
