/*
 * Long options matched exactly, in all three tools. getopt_long() takes any
 * unambiguous prefix of a long option, so "--remove-retained" silently meant
 * "--remove-retained-stale"; mosquitto's tools match long options exactly,
 * and so do ours.
 */
#ifndef CLI_LONGOPT_H
#define CLI_LONGOPT_H

#include <getopt.h>

/*
 * Call right after getopt_long() returned a long option (longindex >= 0),
 * before anything can change argv. NULL when the command line spelled the
 * option out in full; otherwise the element it gave (a prefix), for the
 * error message.
 */
const char *cli_long_option_abbreviated(const struct option *opts, char **argv,
					int longindex);

#endif
