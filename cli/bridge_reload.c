/* What SIGHUP may change (bridge_reload.h). */
#include <stdio.h>
#include <string.h>

#include "bridge_log.h"
#include "bridge_reload.h"

static int differs(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* One refusal: 1. */
static int refuse(const struct bridge_config *fresh, const char *side,
		  size_t line, const char *directive)
{
	char at[24];

	snprintf(at, sizeof at, "%zu", line);
	bridge_log("reload-refused", NULL, 0, "file", fresh->path, "line",
		   line ? at : NULL, "side", side, "directive", directive,
		   "detail", "changed: needs a restart; nothing reloaded",
		   (char *)NULL);
	return 1;
}

static int side_refused(const struct bridge_config *fresh,
			const struct bridge_side *a,
			const struct bridge_side *b, const char *name)
{
	const struct cli_conn_settings *x = &a->conn, *y = &b->conn;
	int n = 0;

#define STR(f, d)                \
	if (differs(x->f, y->f)) \
	n += refuse(fresh, name, b->line, d)
#define NUM(f, d)         \
	if (x->f != y->f) \
	n += refuse(fresh, name, b->line, d)
	STR(host, "host");
	NUM(port, "port");
	STR(id, "id");
	STR(username, "username");
	if (differs(a->password_file, b->password_file) ||
	    differs(x->password, y->password))
		n += refuse(fresh, name, b->line, "password_file");
	NUM(keepalive, "keepalive");
	NUM(clean_session, "clean_session");
	NUM(mqtt_version, "protocol_version");
	STR(cafile, "cafile");
	STR(capath, "capath");
	STR(certfile, "certfile");
	STR(keyfile, "keyfile");
	NUM(insecure, "insecure");
	NUM(tls_version, "tls_version");
#undef STR
#undef NUM
	return n;
}

int bridge_reload_refused(const struct bridge_config *cur,
			  const struct bridge_config *fresh)
{
	const struct bridge_config *x = cur, *y = fresh;
	int n = side_refused(fresh, &cur->remote, &fresh->remote, "remote") +
		side_refused(fresh, &cur->local, &fresh->local, "local");

#define STR(f)                   \
	if (differs(x->f, y->f)) \
	n += refuse(fresh, NULL, 0, #f)
#define NUM(f)            \
	if (x->f != y->f) \
	n += refuse(fresh, NULL, 0, #f)
	STR(signer);
	STR(signer_pass_file);
	STR(state);
	STR(out_state);
	/* The connection to the group's state is made once, at start. */
	if (differs(x->state_password_file, y->state_password_file) ||
	    differs(x->state_password, y->state_password))
		n += refuse(fresh, NULL, 0, "state_password_file");
	STR(state_cacert);
	STR(state_cacertdir);
	STR(state_cert);
	STR(state_key);
	STR(state_sni);
	STR(group);
	NUM(max_age);
	NUM(max_skew);
	NUM(window);
	NUM(max_retained_age);
	STR(journal);
	NUM(journal_sync);
	NUM(journal_max);
#undef STR
#undef NUM
	/* The sender exists only when "out" rules did at start. */
	if (!cur->out_count && fresh->out_count)
		n += refuse(fresh, NULL, 0, "out");
	return n;
}

#define SWAP(f)                                \
	do {                                   \
		__typeof__(cur->f) t = cur->f; \
		cur->f = fresh->f;             \
		fresh->f = t;                  \
	} while (0)

void bridge_reload_adopt(struct bridge_config *cur, struct bridge_config *fresh)
{
	SWAP(keyring);
	SWAP(trust);
	SWAP(require_signature);
	SWAP(require_encryption);
	SWAP(queue);
	SWAP(max_payload);
	SWAP(metrics_topic);
	SWAP(metrics_interval);
	SWAP(rules);
	SWAP(rule_count);
	SWAP(in_count);
	SWAP(out_count);
}
