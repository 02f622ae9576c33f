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
 * before anything can change argv. 0 when the command line spelled the
 * option out in full; otherwise -1, after one line on stderr:
 * "PROG: unknown option --keyr (long options are not abbreviated: did you
 * mean --keyring? see --help)".
 */
int cli_long_option_check(const char *prog, const struct option *opts,
			  char **argv, int longindex);

#endif
