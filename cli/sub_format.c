/*
 * e2e-sub -F: mosquitto_sub 2.0.11's output format language (e2e-sub(1),
 * FORMAT), on what e2e_open accepted. Topics and payloads are escaped as
 * everywhere in e2e-sub unless --raw-output (sub_output.h).
 *
 *   %[-][0][width][.precision]C   a conversion:
 *     %t topic, %p payload, %x %X payload in hex, %l length, %m message id,
 *     %q QoS, %r retained, %I ISO 8601 local time, %U Unix time with
 *     nanoseconds, %j the JSON object of --json, %J the same with the
 *     payload as JSON (sub_json.h; refused when built without cJSON; a
 *     payload that is not JSON: one line on stderr, the conversion prints
 *     nothing and the format goes on, as mosquitto's); MQTT 5 properties (not
 *     authenticated): %A topic alias, %C content type, %D correlation
 *     data, %E message expiry, %F payload format, %P user properties
 *     (name:value, space separated), %R response topic, %S subscription
 *     identifier; %% a percent sign.
 *   @C   strftime's %C of the arrival time; @N its nanoseconds, @@ an @.
 *   \C   \\ \0 \a \e \n \r \t \v.
 *
 * As mosquitto's: width and flags apply to numbers (- left, 0 zeros), to
 * strings (%t %I %C %R: precision cuts, width pads with spaces) and to
 * payloads (%p %x %X: the width cuts the payload to width bytes, or width
 * hex digits, and pads with the pad character); %q %r %U %j %D %P take
 * none; an unknown conversion or escape prints nothing.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "report.h"
#include "sub_format.h"
#include "sub_json.h"

/* The conversions -F knows. */
static const char conversions[] = "%tpxXlmqrIUjJACDEFPRS";
static const char escapes[] = "\\0aenrtv";

/* Skip [-|0][width][.precision] after a '%' (mosquitto's order: one flag). */
static const char *skip_spec(const char *p)
{
	if (*p == '-' || *p == '0')
		p++;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9';)
			p++;
	return p;
}

int cli_format_check(const char *format)
{
	for (const char *p = format; *p; p++) {
		if (*p == '%') {
			p = skip_spec(p + 1);
			if (!*p) {
				cli_err("-F: incomplete format specifier");
				return -1;
			}
			if (*p == 'J' && !cli_json_payload_available()) {
				cli_err("-F: %%J is not supported: e2e-sub was "
					"built without cJSON (libcjson-dev)");
				return -1;
			}
			if (!strchr(conversions, *p)) {
				cli_err("-F: invalid format specifier '%c'",
					*p);
				return -1;
			}
		} else if (*p == '@' || *p == '\\') {
			if (!p[1]) {
				cli_err("-F: incomplete %s specifier",
					*p == '@' ? "format" : "escape");
				return -1;
			}
			if (*p++ == '\\' && !strchr(escapes, *p)) {
				cli_err("-F: invalid escape specifier '%c'",
					*p);
				return -1;
			}
		}
	}
	return 0;
}

/* One conversion's flags, width and precision. */
struct spec {
	int left;      /* '-' */
	char pad;      /* ' ' or '0' */
	int width;     /* 0: none */
	int precision; /* -1: none */
};

struct ctx {
	const struct cli_config *cfg;
	FILE *f;
	const struct cli_delivery *d;
	struct timespec now;
	struct tm tm;
};

static void put_pad(FILE *f, char c, int n)
{
	for (; n > 0; n--)
		fputc(c, f);
}

static void put_number(FILE *f, unsigned long v, const struct spec *s)
{
	if (s->left)
		fprintf(f, "%-*lu", s->width, v);
	else if (s->pad == '0')
		fprintf(f, "%0*lu", s->width, v);
	else
		fprintf(f, "%*lu", s->width, v);
}

/* A string conversion: precision cuts, width pads with spaces. */
static void put_string(const struct ctx *c, const char *v, size_t n,
		       const struct spec *s)
{
	int pad;

	if (s->precision >= 0 && n > (size_t)s->precision)
		n = (size_t)s->precision;
	pad = s->width > (int)n ? s->width - (int)n : 0;
	if (!s->left)
		put_pad(c->f, ' ', pad);
	cli_out_text(c->cfg, c->f, v, n);
	if (s->left)
		put_pad(c->f, ' ', pad);
}

/* %p %x %X: mosquitto's rule, the width cuts the payload and pads it. */
static void put_payload(const struct ctx *c, int hex, const struct spec *s)
{
	size_t n = c->d->len;
	int pad;

	if (s->width > 0 && n > (size_t)s->width)
		n = (size_t)s->width;
	if (hex && s->width > 0)
		n /= 2;
	pad = s->width - (int)(hex ? 2 * n : n);
	if (!s->left)
		put_pad(c->f, s->pad, pad);
	if (hex)
		cli_out_hex(c->f, c->d->payload, n, hex == 2);
	else
		cli_out_text(c->cfg, c->f, c->d->payload, n);
	if (s->left)
		put_pad(c->f, ' ', pad);
}

/* A numeric MQTT 5 property, or the width in pad characters. */
static void put_number_prop(const struct ctx *c, enum cli_prop which,
			    const struct spec *s)
{
	struct cli_prop_value v;

	if (cli_message_prop(c->d->msg, which, 0, &v))
		put_number(c->f, v.num, s);
	else
		put_pad(c->f, s->pad, s->width);
}

static void put_string_prop(const struct ctx *c, enum cli_prop which,
			    const struct spec *s)
{
	struct cli_prop_value v;

	if (cli_message_prop(c->d->msg, which, 0, &v))
		put_string(c, v.data, v.len, s);
	else if (which == CLI_PROP_CONTENT_TYPE)
		put_pad(c->f, ' ', s->width); /* as mosquitto's %C */
}

/* %P: every user property, "name:value", space separated. */
static void put_user_props(const struct ctx *c)
{
	struct cli_prop_value v;

	for (int i = 0; cli_message_prop(c->d->msg, CLI_PROP_USER, i, &v);
	     i++) {
		if (i)
			fputc(' ', c->f);
		cli_out_text(c->cfg, c->f, v.name, v.name_len);
		fputc(':', c->f);
		cli_out_text(c->cfg, c->f, v.data, v.len);
	}
}

/* %J on a payload that is not JSON: mosquitto's line, the topic escaped. */
static void not_json(const struct cli_delivery *d)
{
	fprintf(stderr, "%s: -F %%J: the payload is not valid JSON on topic ",
		cli_prog());
	cli_put_safe(stderr, d->topic, strlen(d->topic));
	fputc('\n', stderr);
}

static void conversion(const struct ctx *c, char conv, const struct spec *s)
{
	const struct cli_message *m = c->d->msg;
	struct cli_prop_value v;
	char buf[64];

	switch (conv) {
	case '%':
		fputc('%', c->f);
		break;
	case 't':
		put_string(c, c->d->topic, strlen(c->d->topic), s);
		break;
	case 'p':
	case 'x':
	case 'X':
		put_payload(c, conv == 'p' ? 0 : conv == 'x' ? 1 : 2, s);
		break;
	case 'l':
		put_number(c->f, c->d->len, s);
		break;
	case 'm':
		put_number(c->f, (unsigned long)m->msgid, s);
		break;
	case 'q':
		fputc('0' + m->qos, c->f);
		break;
	case 'r':
		fputc(m->retained ? '1' : '0', c->f);
		break;
	case 'I':
		strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &c->tm);
		put_string(c, buf, strlen(buf), s);
		break;
	case 'U':
		fprintf(c->f, "%lld.%09ld", (long long)c->now.tv_sec,
			c->now.tv_nsec);
		break;
	case 'j':
		cli_out_json(c->cfg, c->f, c->d, &c->now);
		break;
	case 'J':
		if (cli_out_json_payload(c->cfg, c->f, c->d, &c->now))
			not_json(c->d);
		break;
	case 'A':
		put_number_prop(c, CLI_PROP_TOPIC_ALIAS, s);
		break;
	case 'E':
		put_number_prop(c, CLI_PROP_MESSAGE_EXPIRY, s);
		break;
	case 'F':
		put_number_prop(c, CLI_PROP_PAYLOAD_FORMAT, s);
		break;
	case 'S':
		put_number_prop(c, CLI_PROP_SUBSCRIPTION_ID, s);
		break;
	case 'C':
		put_string_prop(c, CLI_PROP_CONTENT_TYPE, s);
		break;
	case 'R':
		put_string_prop(c, CLI_PROP_RESPONSE_TOPIC, s);
		break;
	case 'D':
		if (cli_message_prop(m, CLI_PROP_CORRELATION_DATA, 0, &v))
			cli_out_text(c->cfg, c->f, v.data, v.len);
		break;
	case 'P':
		put_user_props(c);
		break;
	default: /* unknown: nothing, as mosquitto */
		break;
	}
}

/* Digits at *p, as a number (bounded: a width beyond 9999 is cut). */
static int read_number(const char **p)
{
	int n = 0;

	while (**p >= '0' && **p <= '9') {
		if (n < 9999)
			n = n * 10 + (**p - '0');
		(*p)++;
	}
	return n;
}

/* After a '%': the flags, width and precision, then the conversion.
 * Returns where the format goes on. */
static const char *percent(const struct ctx *c, const char *p)
{
	struct spec s = {0, ' ', 0, -1};

	if (*p == '-')
		s.left = 1, p++;
	if (*p == '0')
		s.pad = '0', p++;
	s.width = read_number(&p);
	if (*p == '.') {
		p++;
		s.precision = read_number(&p);
	}
	if (!*p)
		return p;
	conversion(c, *p, &s);
	return p + 1;
}

/* After an '@': strftime's conversion of the arrival time. */
static const char *at_sign(const struct ctx *c, const char *p)
{
	char fmt[3] = {'%', *p, 0};
	char buf[128];

	if (*p == '@')
		fputc('@', c->f);
	else if (*p == 'N')
		fprintf(c->f, "%09ld", c->now.tv_nsec);
	else if (strftime(buf, sizeof buf, fmt, &c->tm))
		fputs(buf, c->f);
	return p + 1;
}

static const char *backslash(const struct ctx *c, const char *p)
{
	static const char to[] = "\\\0\a\033\n\r\t\v";
	const char *at = strchr(escapes, *p);

	if (at)
		fputc(to[at - escapes], c->f);
	return p + 1;
}

void cli_format_print(const struct cli_config *cfg, FILE *f,
		      const struct cli_delivery *d)
{
	struct ctx c = {.cfg = cfg, .f = f, .d = d};
	const char *p = cfg->format;

	clock_gettime(CLOCK_REALTIME, &c.now);
	localtime_r(&c.now.tv_sec, &c.tm);
	while (*p) {
		char ch = *p++;

		if (ch == '%' && *p)
			p = percent(&c, p);
		else if (ch == '@' && *p)
			p = at_sign(&c, p);
		else if (ch == '\\' && *p)
			p = backslash(&c, p);
		else if (ch != '%' && ch != '@' && ch != '\\')
			fputc(ch, f);
	}
}
