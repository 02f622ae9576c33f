/* The --state redis://... URL as a string (shared_state.h). */
#include "config.h"

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
