/*
 * e2e-sub -F: mosquitto_sub 2.0.11's format language (sub_format.c).
 */
#ifndef E2E_CLI_SUB_FORMAT_H
#define E2E_CLI_SUB_FORMAT_H

#include <stdio.h>

#include "options.h"
#include "sub_output.h"

/* Check a -F format as mosquitto_sub does before connecting: 0, or -1
 * after reporting in mosquitto's words ("Invalid format specifier 'Z'"). */
int cli_format_check(const char *format);
/* One accepted message, as cfg->format says (no newline: the caller adds
 * it unless -N). */
void cli_format_print(const struct cli_config *cfg, FILE *f,
		      const struct cli_delivery *d);

#endif /* E2E_CLI_SUB_FORMAT_H */
