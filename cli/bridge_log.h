/*
 * e2e-bridge's event log (docs/BRIDGE.md section 7): one line per event on
 * stderr, "event=NAME key=value ...", with stable key names, for journald
 * and grep. A value is written bare when it is made of printable ASCII
 * other than space, '"', '\\' and '='; otherwise it is quoted, '"' and '\\'
 * escaped with a backslash, and every byte below 0x20 or above 0x7e
 * written \xNN, so no value (a topic an attacker chose on remote) can
 * start a line or forge a key. Callers never pass a payload byte that
 * e2e_open did not accept, nor a secret.
 *
 * Lines are written whole with one stdio call, so the lines of Paho's
 * thread and of the main thread never mix.
 */
#ifndef E2E_CLI_BRIDGE_LOG_H
#define E2E_CLI_BRIDGE_LOG_H

#include <stddef.h>

/* One event: "event=EVENT", then "topic=TOPIC" when topic is not NULL
 * (topic_len bytes, NUL bytes and all), then the key/value string pairs,
 * ended by NULL. A NULL value leaves its key out. */
void bridge_log(const char *event, const char *topic, size_t topic_len, ...)
	__attribute__((sentinel));

/* Same, only with -d. */
void bridge_debug(const char *event, const char *topic, size_t topic_len, ...)
	__attribute__((sentinel));

/* A value of len bytes (a topic), escaped as above, appended to buf (cap
 * bytes, always NUL-terminated; cut when it does not fit). */
void bridge_log_value(char *buf, size_t cap, const char *v, size_t len);

#endif /* E2E_CLI_BRIDGE_LOG_H */
