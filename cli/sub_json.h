/*
 * e2e-sub -F %J: the JSON object of %j with the payload embedded as JSON,
 * parsed and laid out by cJSON as mosquitto_sub's (sub_json.c).
 */
#ifndef E2E_CLI_SUB_JSON_H
#define E2E_CLI_SUB_JSON_H

#include <stdio.h>
#include <time.h>

#include "options.h"
#include "sub_output.h"

/* 1 when e2e-sub was built with cJSON (configure --with-cjson), else 0:
 * -F %J is then refused. */
int cli_json_payload_available(void);
/* %J for d: 0 after writing the object to f (one line, or --pretty's
 * layout); -1 when the payload is not one JSON value (nothing written:
 * the caller reports it) or memory ran short. */
int cli_out_json_payload(const struct cli_config *cfg, FILE *f,
			 const struct cli_delivery *d,
			 const struct timespec *now);

#endif /* E2E_CLI_SUB_JSON_H */
