/* Long options matched exactly (longopt.h). */
#include <stddef.h>
#include <string.h>

#include "longopt.h"

const char *cli_long_option_abbreviated(const struct option *opts, char **argv,
					int longindex)
{
	const struct option *o = &opts[longindex];
	const char *el, *name;
	size_t len;

	/* The element before optind, or the one before that when the
	 * option's argument came as the next element. */
	if (o->has_arg == required_argument && optind >= 2 &&
	    optarg == argv[optind - 1])
		el = argv[optind - 2];
	else
		el = argv[optind - 1];
	if (strncmp(el, "--", 2) != 0)
		return el;
	name = el + 2;
	len = strcspn(name, "=");
	if (len == strlen(o->name) && strncmp(name, o->name, len) == 0)
		return NULL;
	return el;
}
