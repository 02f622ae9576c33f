/*
 * The Last Will of e2e-pub and e2e-sub (--will-topic, --will-payload,
 * --will-qos, --will-retain), sealed like any message
 * (docs/ENVELOPE.md section 10).
 *
 * The broker publishes a Will at a time nobody knows when it is sealed, at
 * connect: long after, or never. So it carries timestamp 0 (no time: the
 * receiver's max age and eviction floors never apply to it) and a sequence
 * number one epoch above the run's next one (2^32 above: a second of the
 * clock, 4 billion messages), so that it is above every message the run
 * sends before it fires, however many. After any connection loss (the Will
 * may have fired) the run's sender moves above the Will (cli_will_passed),
 * so that what it seals next is above it in turn.
 */
#ifndef E2E_CLI_WILL_H
#define E2E_CLI_WILL_H

#include <stddef.h>
#include <stdint.h>

#include "e2e.h"
#include "options.h"

struct cli_will {
	uint8_t *env; /* the envelope, NULL: no Will */
	size_t len;
	uint64_t seq; /* its sequence number */
};

/* How far above the run's next sequence number the Will is. */
#define CLI_WILL_AHEAD (UINT64_C(1) << 32)

/* Seal cfg's Will payload for cfg->will_topic with kr's primary key (and
 * signer, if not NULL), as sender sender_id (0: a fresh random one) at
 * sequence seq (0: the clock), timestamp 0, retained intent with
 * --will-retain. 0, or -1 (reported). Nothing to do without --will-topic. */
int cli_will_seal(struct cli_will *w, const struct cli_config *cfg,
		  const e2e_keyring *kr, const e2e_signer *signer,
		  uint64_t sender_id, uint64_t seq);
/* A connection was lost, the Will may have fired: move s above it. */
void cli_will_passed(const struct cli_will *w, e2e_sender *s);
void cli_will_free(struct cli_will *w);

#endif /* E2E_CLI_WILL_H */
