/* The --state redis://... URL as a string (shared_state.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "shared_state.h"

static const char *after_scheme(const char *s)
{
	if (!strncmp(s, "redis://", 8))
		return s + 8;
	if (!strncmp(s, "rediss://", 9))
		return s + 9;
	return NULL;
}

int cli_state_is_url(const char *state)
{
	return state && after_scheme(state) != NULL;
}

/* The password's place: [*start, *end) within state, or 0 when none. The
 * userinfo ends at the authority's last '@' (RFC 3986: '@' cannot appear
 * in the host), the password after its first ':'. */
static int password_span(const char *state, size_t *start, size_t *end)
{
	const char *auth = after_scheme(state), *at = NULL, *colon;
	size_t alen;

	if (!auth)
		return 0;
	alen = strcspn(auth, "/");
	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			at = auth + i;
	if (!at)
		return 0;
	colon = memchr(auth, ':', (size_t)(at - auth));
	if (!colon)
		return 0;
	*start = (size_t)(colon + 1 - state);
	*end = (size_t)(at - state);
	return 1;
}

int cli_state_url_has_password(const char *state)
{
	size_t a, b;

	return password_span(state, &a, &b);
}

void cli_state_url_wipe_password(char *state)
{
	size_t a, b;

	if (password_span(state, &a, &b))
		memset(state + a, '*', b - a);
}

/* The names of the state's options: e2e-sub's command line, e2e-bridge's
 * configuration directives. */
static const struct {
	const char *cacert, *sni, *cert, *key, *password;
} names[] = {
	{"--state-cacert", "--state-sni", "--state-cert", "--state-key",
	 "--state-password-file or E2E_STATE_PASSWORD"},
	{"state_cacert", "state_sni", "state_cert", "state_key",
	 "state_password_file"},
};

const char *cli_state_remedy(int rc, const char *url, int directives, char *buf,
			     size_t cap)
{
	const int n = directives ? 1 : 0;

	switch (rc) {
	case E2E_ERR_STORE_UNAVAILABLE:
		return url && !strncmp(url, "rediss://", 9)
			       ? "is redis-server running there, with TLS on "
				 "that port (tls-port)?"
			       : "is redis-server running there?";
	case E2E_ERR_STORE_TLS:
		snprintf(buf, cap,
			 "Redis's certificate must be signed by a CA of %s "
			 "(default: the system's) and hold the URL's host (IP "
			 "address or name; or %s); a Redis with "
			 "tls-auth-clients needs %s and %s of a CA it trusts",
			 names[n].cacert, names[n].sni, names[n].cert,
			 names[n].key);
		return buf;
	case E2E_ERR_STORE_AUTH:
		snprintf(buf, cap, "check the user and %s", names[n].password);
		return buf;
	case E2E_ERR_STORE_UNSUPPORTED:
		return "this build has no TLS for Redis (configure found no "
		       "libssl-dev): rebuild, or reach it through a TLS "
		       "tunnel on loopback (docs/GROUPS.md section 4)";
	case E2E_ERR_STORE_PROTOCOL:
		return "its members run another version of libe2e-redis: run "
		       "one version in every member of a group, or give this "
		       "one another PREFIX (docs/GROUPS.md section 6)";
	case E2E_ERR_INVAL:
		return "the form is redis[s]://[USER@]HOST[:PORT]/PREFIX";
	default:
		return NULL;
	}
}
