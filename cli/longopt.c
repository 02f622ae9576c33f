/* Long options matched exactly (longopt.h). */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "longopt.h"

/* NULL when the option was spelled out in full, else the element given. */
static const char *abbreviated(const struct option *opts, char **argv,
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

int cli_long_option_check(const char *prog, const struct option *opts,
			  char **argv, int longindex)
{
	const char *given = abbreviated(opts, argv, longindex);

	if (given == NULL)
		return 0;
	fprintf(stderr,
		"%s: unknown option %s (long options are not abbreviated: "
		"did you mean --%s? see --help)\n",
		prog, given, opts[longindex].name);
	return -1;
}
