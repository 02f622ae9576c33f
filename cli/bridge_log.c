/* e2e-bridge's event lines (bridge_log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bridge_log.h"
#include "report.h"

#define LINE_CAP 2048

static int bare(const char *v, size_t len)
{
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '=')
			return 0;
	}
	return 1;
}

static void put(char *buf, size_t cap, size_t *at, const char *s, size_t n)
{
	if (*at + n >= cap)
		n = *at + 1 < cap ? cap - 1 - *at : 0;
	memcpy(buf + *at, s, n);
	*at += n;
	buf[*at] = '\0';
}

void bridge_log_value(char *buf, size_t cap, const char *v, size_t len)
{
	size_t at = strlen(buf);
	char esc[5];

	if (bare(v, len)) {
		put(buf, cap, &at, v, len);
		return;
	}
	put(buf, cap, &at, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(buf, cap, &at, esc, 2);
		} else if (c < 0x20 || c > 0x7e) {
			snprintf(esc, sizeof esc, "\\x%02x", c);
			put(buf, cap, &at, esc, 4);
		} else {
			put(buf, cap, &at, (const char *)&v[i], 1);
		}
	}
	put(buf, cap, &at, "\"", 1);
}

static void vlog(const char *event, const char *topic, size_t topic_len,
		 va_list ap)
{
	char line[LINE_CAP] = "event=";
	const char *k, *v;
	size_t at;

	bridge_log_value(line, sizeof line - 1, event, strlen(event));
	if (topic) {
		at = strlen(line);
		snprintf(line + at, sizeof line - 1 - at, " topic=");
		bridge_log_value(line, sizeof line - 1, topic, topic_len);
	}
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		if (!v)
			continue;
		at = strlen(line);
		snprintf(line + at, sizeof line - 1 - at, " %s=", k);
		bridge_log_value(line, sizeof line - 1, v, strlen(v));
	}
	at = strlen(line);
	line[at] = '\n';
	line[at + 1] = '\0';
	fputs(line, stderr);
}

void bridge_log(const char *event, const char *topic, size_t topic_len, ...)
{
	va_list ap;

	va_start(ap, topic_len);
	vlog(event, topic, topic_len, ap);
	va_end(ap);
}

void bridge_debug(const char *event, const char *topic, size_t topic_len, ...)
{
	va_list ap;

	if (!cli_debugging())
		return;
	va_start(ap, topic_len);
	vlog(event, topic, topic_len, ap);
	va_end(ap);
}
