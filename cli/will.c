/*
 * The sealed Last Will (will.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "report.h"
#include "will.h"

int cli_will_seal(struct cli_will *w, const struct cli_config *cfg,
		  const e2e_keyring *kr, const e2e_signer *signer,
		  uint64_t sender_id, uint64_t seq)
{
	const char *msg = cfg->will_payload ? cfg->will_payload : "";
	size_t len = strlen(msg), cap = E2E_SEALED_MAX(len);
	e2e_sender_opts so;
	e2e_sender *s = NULL;
	int rc;

	memset(w, 0, sizeof *w);
	if (!cfg->will_topic)
		return 0;
	/* A sender of its own, the run's id, without a clock: timestamp 0,
	 * the sequence number chosen. */
	memset(&so, 0, sizeof so);
	so.sender_id = sender_id;
	so.signer = signer;
	so.no_clock = 1;
	if ((rc = e2e_sender_new(&s, &so)) != E2E_OK) {
		cli_err("cannot create the Will's sender: %s",
			e2e_strerror(rc));
		return -1;
	}
	e2e_sender_advance(s, seq);
	w->seq = e2e_sender_next_seq(s);
	if (!(w->env = malloc(cap))) {
		cli_err("out of memory");
		e2e_sender_free(s);
		return -1;
	}
	rc = e2e_seal(s, kr, cfg->will_topic, (const uint8_t *)msg, len,
		      cfg->will_retain ? E2E_SEAL_RETAINED : 0, w->env, cap,
		      &w->len);
	e2e_sender_free(s);
	if (rc != E2E_OK) {
		cli_err("cannot seal the Will for %s: %s", cfg->will_topic,
			e2e_strerror(rc));
		cli_will_free(w);
		return -1;
	}
	return 0;
}

void cli_will_passed(const struct cli_will *w, e2e_sender *s)
{
	if (w->env)
		e2e_sender_advance(s, w->seq + 1);
}

void cli_will_free(struct cli_will *w)
{
	free(w->env);
	memset(w, 0, sizeof *w);
}
