/*
 * Shared by e2e-pub and e2e-sub: options, key loading, signals, the MQTT
 * connection. See common.h for the threading rules.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common.h"
#include "longopt.h"
#include "passphrase.h"

/* Long-only options. */
enum {
	OPT_HELP = 256,
	OPT_CAFILE,
	OPT_CAPATH,
	OPT_CERT,
	OPT_KEY,
	OPT_INSECURE,
	OPT_TLS_VERSION,
	OPT_MODE,
	OPT_SIGN,
	OPT_SIGN_PASS_FILE,
	OPT_TRUST,
	OPT_REQUIRE_SIGNATURE,
	OPT_REQUIRE_ENCRYPTION,
	OPT_MAX_AGE,
	OPT_MAX_SKEW,
	OPT_MAX_RETAINED_AGE,
	OPT_WINDOW,
	OPT_ACCEPT_NO_CLOCK,
	OPT_STATE,
	OPT_JSON,
	OPT_RAW_OUTPUT,
	OPT_PW_FILE,
	OPT_QUIET,
};

static const struct option long_options[] = {
	{"help", no_argument, NULL, OPT_HELP},
	{"host", required_argument, NULL, 'h'},
	{"port", required_argument, NULL, 'p'},
	{"topic", required_argument, NULL, 't'},
	{"message", required_argument, NULL, 'm'},
	{"file", required_argument, NULL, 'f'},
	{"stdin-line", no_argument, NULL, 'l'},
	{"stdin-file", no_argument, NULL, 's'},
	{"null-message", no_argument, NULL, 'n'},
	{"qos", required_argument, NULL, 'q'},
	{"retain", no_argument, NULL, 'r'},
	{"id", required_argument, NULL, 'i'},
	{"id-prefix", required_argument, NULL, 'I'},
	{"username", required_argument, NULL, 'u'},
	{"pw", required_argument, NULL, 'P'},
	{"pw-file", required_argument, NULL, OPT_PW_FILE},
	{"protocol-version", required_argument, NULL, 'V'},
	{"disable-clean-session", no_argument, NULL, 'c'},
	{"debug", no_argument, NULL, 'd'},
	{"keepalive", required_argument, NULL, 'k'},
	{"quiet", no_argument, NULL, OPT_QUIET},
	{"count", required_argument, NULL, 'C'},
	{"timeout", required_argument, NULL, 'W'},
	{"verbose", no_argument, NULL, 'v'},
	{"no-eol", no_argument, NULL, 'N'},
	{"remove-retained-stale", no_argument, NULL, 'R'},
	{"format", required_argument, NULL, 'F'},
	{"cafile", required_argument, NULL, OPT_CAFILE},
	{"capath", required_argument, NULL, OPT_CAPATH},
	{"cert", required_argument, NULL, OPT_CERT},
	{"key", required_argument, NULL, OPT_KEY},
	{"insecure", no_argument, NULL, OPT_INSECURE},
	{"tls-version", required_argument, NULL, OPT_TLS_VERSION},
	{"keyring", required_argument, NULL, 'K'},
	{"mode", required_argument, NULL, OPT_MODE},
	{"sign", required_argument, NULL, OPT_SIGN},
	{"sign-pass-file", required_argument, NULL, OPT_SIGN_PASS_FILE},
	{"trust", required_argument, NULL, OPT_TRUST},
	{"require-signature", no_argument, NULL, OPT_REQUIRE_SIGNATURE},
	{"require-encryption", no_argument, NULL, OPT_REQUIRE_ENCRYPTION},
	{"max-age", required_argument, NULL, OPT_MAX_AGE},
	{"max-skew", required_argument, NULL, OPT_MAX_SKEW},
	{"max-retained-age", required_argument, NULL, OPT_MAX_RETAINED_AGE},
	{"window", required_argument, NULL, OPT_WINDOW},
	{"accept-no-clock", no_argument, NULL, OPT_ACCEPT_NO_CLOCK},
	{"state", required_argument, NULL, OPT_STATE},
	{"json", no_argument, NULL, OPT_JSON},
	{"raw-output", no_argument, NULL, OPT_RAW_OUTPUT},
	{NULL, 0, NULL, 0},
};

static const char short_options[] = "h:p:t:m:f:lsnq:ri:I:u:P:V:cdk:K:C:W:vNRF:";

/* Options only one tool takes; everything else is shared. */
static const char pub_only[] = "mflsnr";
static const char sub_only[] = "CWvNRF";
static const int pub_only_long[] = {OPT_MODE, OPT_SIGN, OPT_SIGN_PASS_FILE, 0};
static const int sub_only_long[] = {OPT_TRUST,
				    OPT_REQUIRE_SIGNATURE,
				    OPT_REQUIRE_ENCRYPTION,
				    OPT_MAX_AGE,
				    OPT_MAX_SKEW,
				    OPT_MAX_RETAINED_AGE,
				    OPT_WINDOW,
				    OPT_ACCEPT_NO_CLOCK,
				    OPT_JSON,
				    OPT_RAW_OUTPUT,
				    0};

static const char usage_common[] =
	"Broker:\n"
	"  -h HOST            broker host (default localhost)\n"
	"  -p PORT            broker port (default 1883, 8883 with TLS)\n"
	"  -i ID              client id (default: PROG-PID-RANDOM)\n"
	"  -I PREFIX          client id prefix (the PID is appended)\n"
	"  -k SECONDS         keepalive (default 60)\n"
	"  -c                 persistent session (clean session off; needs "
	"-i)\n"
	"  -V VERSION         mqttv31, mqttv311 (default) or mqttv5\n"
	"  -u USER            username\n"
	"  -P PASSWORD        password (visible to other local users: prefer\n"
	"                     --pw-file or E2E_MQTT_PASSWORD)\n"
	"  --pw-file FILE     read the password from the first line of FILE\n"
	"  --cafile FILE      trust the CA certificates in FILE (enables TLS)\n"
	"  --capath DIR       trust the CA certificates in DIR (enables TLS)\n"
	"  --cert FILE        client certificate (with --key)\n"
	"  --key FILE         client private key\n"
	"  --insecure         do not check the server's hostname against its\n"
	"                     certificate (the chain is still verified)\n"
	"  --tls-version V    lowest TLS version: tlsv1.2, tlsv1.1 or tlsv1\n"
	"                     (default and tlsv1.3: the highest both ends "
	"support)\n"
	"  -q QOS             0, 1 or 2 (default 0)\n"
	"  -d                 debug messages on stderr\n"
	"  --quiet            no connection error messages\n"
	"  --help             this text\n";

static void usage(enum cli_tool tool)
{
	if (tool == CLI_PUB) {
		printf("e2e-pub: publish end-to-end protected MQTT messages.\n"
		       "Usage: e2e-pub -t TOPIC (-m MSG | -f FILE | -s | -l | "
		       "-n) [-K KEYRING] [--sign KEY] [options]\n\n"
		       "Message:\n"
		       "  -t TOPIC           topic to publish to (once)\n"
		       "  -m MSG             the message (wiped from the "
		       "command line at start; other\n"
		       "                     users can read it until then: "
		       "-f, -s and -l keep it out\n"
		       "                     of argv entirely)\n"
		       "  -f FILE            the contents of FILE as one "
		       "message\n"
		       "  -s                 all of stdin as one message\n"
		       "  -l                 each line of stdin as a message\n"
		       "  -n                 an empty message (with -r: clear "
		       "the retained message)\n"
		       "  -r                 retain (sealed with retained "
		       "intent)\n"
		       "Payload security:\n"
		       "  -K, --keyring FILE shared keys; seals with the "
		       "primary key\n"
		       "  --mode aead|mac    refuse to run unless the primary "
		       "key has this suite\n"
		       "  --sign FILE        also sign with this Ed25519 "
		       "secret key (alone:\n"
		       "                     signature-only messages)\n"
		       "  --sign-pass-file F passphrase of the signing key "
		       "(else E2E_SIGN_PASSPHRASE,\n"
		       "                     else asked on the terminal)\n"
		       "  --state FILE       keep the sequence epoch across "
		       "restarts (signed, without\n"
		       "                     it: in $XDG_STATE_HOME/libe2e)\n"
		       "SIGHUP reloads the keyring without reconnecting.\n"
		       "Publications lost to a broken connection are sent "
		       "again.\n\n");
	} else {
		printf("e2e-sub: receive and verify end-to-end protected MQTT "
		       "messages.\n"
		       "Usage: e2e-sub -t FILTER [-t FILTER ...] [-K KEYRING] "
		       "[--trust FILE] [options]\n\n"
		       "Output (accepted messages on stdout, as "
		       "mosquitto_sub):\n"
		       "  -t FILTER          subscribe to FILTER (repeatable)\n"
		       "  -v                 print the topic before the "
		       "payload\n"
		       "  -N                 no newline after the payload\n"
		       "  -F FORMAT          format: %%t topic, %%p payload, "
		       "%%l length, %%x/%%X hex,\n"
		       "                     %%q qos, %%r retained, %%m "
		       "message id, %%I ISO time,\n"
		       "                     %%U Unix time, %%j JSON, %%%% "
		       "percent; \\n \\t \\\\ escapes\n"
		       "  --json             one JSON object per accepted "
		       "message\n"
		       "  --raw-output       topics and payloads byte for "
		       "byte; "
		       "by default \\ and\n"
		       "                     control, bidi and non-UTF-8 bytes "
		       "are escaped\n"
		       "                     (\\\\ \\n \\r \\t \\xHH "
		       "\\u{HHHH}), one line per message\n"
		       "  -C COUNT           exit after COUNT accepted "
		       "messages\n"
		       "  -W SECONDS         exit with code 27 after SECONDS\n"
		       "  -R                 skip stale (retained) messages\n"
		       "Payload security:\n"
		       "  -K, --keyring FILE shared keys accepted\n"
		       "  --trust FILE       signers accepted and their "
		       "topics\n"
		       "  --require-signature  refuse unsigned messages\n"
		       "  --require-encryption refuse mac (clear) messages\n"
		       "  --max-age SECONDS  oldest message accepted (default "
		       "300, 0: no limit)\n"
		       "  --max-skew SECONDS clock skew allowed (default 30)\n"
		       "  --max-retained-age SECONDS\n"
		       "                     oldest retained message accepted "
		       "(default 0: no limit)\n"
		       "  --window N         replay window per sender "
		       "(multiple of 64)\n"
		       "  --accept-no-clock  accept senders without a clock "
		       "on first contact\n"
		       "  --state FILE       keep the replay state across "
		       "restarts\n"
		       "Rejected messages: one line on stderr, 'e2e-sub: "
		       "rejected TOPIC: REASON: detail'.\n"
		       "SIGHUP reloads keyring and trust file without "
		       "reconnecting.\n\n");
	}
	fputs(usage_common, stdout);
	printf("\nExit status: 0 success, 1 error%s.\n",
	       tool == CLI_SUB ? ", 27 when -W elapsed" : "");
}

void cli_err(const struct cli_config *cfg, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cfg->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_debug(const struct cli_config *cfg, const char *fmt, ...)
{
	va_list ap;

	if (!cfg->debug)
		return;
	fprintf(stderr, "%s: ", cfg->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included);
 * its code point in *cp_out when cp_out is not NULL. */
size_t cli_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp_out)
{
	uint32_t cp;
	size_t len;

	if (s[0] < 0x80)
		len = 1, cp = s[0];
	else if (s[0] >= 0xC2 && s[0] <= 0xDF)
		len = 2, cp = s[0] & 0x1Fu;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		len = 3, cp = s[0] & 0x0Fu;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3Fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	if (cp_out)
		*cp_out = cp;
	return len;
}

/* C0 controls, DEL, C1 controls (U+0080..U+009F), the line and paragraph
 * separators U+2028/U+2029, and the bidirectional embeddings, overrides and
 * isolates U+202A..U+202E and U+2066..U+2069: what can end a line, drive a
 * terminal or reorder the text a reader sees. */
int cli_char_unsafe(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||
	       (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* One byte below 0x80 as \\, \n, \r, \t or \xHH. */
static void put_escaped_byte(FILE *f, uint8_t c)
{
	const char *named = c == '\\'   ? "\\\\"
			    : c == '\n' ? "\\n"
			    : c == '\r' ? "\\r"
			    : c == '\t' ? "\\t"
					: NULL;

	if (named)
		fputs(named, f);
	else
		fprintf(f, "\\x%02x", c);
}

void cli_put_safe(FILE *f, const char *s, size_t len)
{
	const uint8_t *u = (const uint8_t *)s;
	size_t run = 0; /* start of the bytes not yet written, all safe */

	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t l;

		if (u[i] >= 0x20 && u[i] < 0x7F && u[i] != '\\') {
			i++; /* printable ASCII, the common case */
			continue;
		}
		l = cli_utf8_seq(u + i, len - i, &cp);
		if (l && cp != '\\' && !cli_char_unsafe(cp)) {
			i += l;
			continue;
		}
		fwrite(u + run, 1, i - run, f);
		if (!l)
			fprintf(f, "\\x%02x", u[i]); /* not UTF-8: one byte */
		else if (cp < 0x80)
			put_escaped_byte(f, (uint8_t)cp);
		else
			fprintf(f, "\\u{%04" PRIx32 "}", cp);
		i += l ? l : 1;
		run = i;
	}
	fwrite(u + run, 1, len - run, f);
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Keep a secret copy and hide the original from ps (/proc/PID/cmdline):
 * passwords (-P) and messages (-m). */
static char *take_secret(char *arg)
{
	size_t len = strlen(arg);
	char *copy = cli_secret_dup(arg, len);

	if (copy)
		sodium_memzero(arg, len);
	return copy;
}

/* E2E_SIGN_PASSPHRASE, taken out of the environment by cli_parse and
 * wiped by load_signer once used (or by cli_config_free). */
static char *env_sign_pass;
static size_t env_sign_pass_len;

/* Take the variables this tool reads out of the environment, whether it
 * uses them or not, once the options are read: 0, or -1 (reported). */
static int take_environment(struct cli_config *cfg)
{
	size_t len;
	int rc = cli_secret_getenv("E2E_MQTT_PASSWORD", &cfg->env_password,
				   &len);

	if (rc == CLI_PASS_OK && cfg->tool == CLI_PUB) {
		rc = cli_secret_getenv("E2E_SIGN_PASSPHRASE", &env_sign_pass,
				       &env_sign_pass_len);
		if (rc != CLI_PASS_OK)
			cli_err(cfg, "E2E_SIGN_PASSPHRASE: passphrase %s",
				cli_pass_strerror(rc));
	} else if (rc != CLI_PASS_OK) {
		cli_err(cfg, "E2E_MQTT_PASSWORD: password %s",
			cli_pass_strerror(rc));
	}
	return rc == CLI_PASS_OK ? 0 : -1;
}

static int set_string(char **dst, const char *src)
{
	free(*dst);
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

static int is_only(const char *letters, const int *longs, int opt)
{
	if (opt < 256)
		return opt != 0 && strchr(letters, opt) != NULL;
	for (; *longs; longs++)
		if (*longs == opt)
			return 1;
	return 0;
}

static int set_source(struct cli_config *cfg, enum cli_pub_source src)
{
	if (cfg->source != CLI_SRC_NONE) {
		cli_err(cfg, "only one of -m, -f, -s, -l and -n may be given");
		return -1;
	}
	cfg->source = src;
	return 0;
}

static int parse_version(const char *s, int *out)
{
	if (!strcmp(s, "mqttv31") || !strcmp(s, "31"))
		*out = MQTTVERSION_3_1;
	else if (!strcmp(s, "mqttv311") || !strcmp(s, "311"))
		*out = MQTTVERSION_3_1_1;
	else if (!strcmp(s, "mqttv5") || !strcmp(s, "5"))
		*out = MQTTVERSION_5;
	else
		return -1;
	return 0;
}

static int parse_tls_version(const char *s, int *out)
{
	/* Paho sets a minimum version (1.0 to 1.2), not an exact one;
	 * "tlsv1.3" keeps the default, which negotiates the highest version
	 * both ends support. */
	if (!strcmp(s, "tlsv1.3"))
		*out = MQTT_SSL_VERSION_DEFAULT;
	else if (!strcmp(s, "tlsv1.2"))
		*out = MQTT_SSL_VERSION_TLS_1_2;
	else if (!strcmp(s, "tlsv1.1"))
		*out = MQTT_SSL_VERSION_TLS_1_1;
	else if (!strcmp(s, "tlsv1"))
		*out = MQTT_SSL_VERSION_TLS_1_0;
	else
		return -1;
	return 0;
}

/* One option. Returns 0, or -1 after reporting a usage error. */
static int apply_option(struct cli_config *cfg, int opt, char *arg)
{
	long v;
	e2e_suite suite;

	switch (opt) {
	case 'h':
		return set_string(&cfg->host, arg);
	case 'p':
		if (parse_long(arg, 1, 65535, &v)) {
			cli_err(cfg, "invalid port '%s'", arg);
			return -1;
		}
		cfg->port = (int)v;
		return 0;
	case 't': {
		char **t = realloc(cfg->topics,
				   (size_t)(cfg->topic_count + 1) * sizeof *t);
		if (!t)
			return -1;
		cfg->topics = t;
		if (!(t[cfg->topic_count] = strdup(arg)))
			return -1;
		cfg->topic_count++;
		return 0;
	}
	case 'm':
		if (set_source(cfg, CLI_SRC_ARG))
			return -1;
		cfg->message = take_secret(arg);
		return cfg->message ? 0 : -1;
	case 'f':
		if (set_source(cfg, CLI_SRC_FILE))
			return -1;
		return set_string(&cfg->file, arg);
	case 'l':
		return set_source(cfg, CLI_SRC_LINES);
	case 's':
		return set_source(cfg, CLI_SRC_STDIN);
	case 'n':
		return set_source(cfg, CLI_SRC_NULL);
	case 'q':
		if (parse_long(arg, 0, 2, &v)) {
			cli_err(cfg, "QoS must be 0, 1 or 2, not '%s'", arg);
			return -1;
		}
		cfg->qos = (int)v;
		return 0;
	case 'r':
		cfg->retain = 1;
		return 0;
	case 'i':
		return set_string(&cfg->id, arg);
	case 'I':
		return set_string(&cfg->id_prefix, arg);
	case 'u':
		return set_string(&cfg->username, arg);
	case 'P':
		cli_secret_free(cfg->password);
		cfg->password = take_secret(arg);
		return cfg->password ? 0 : -1;
	case OPT_PW_FILE: {
		size_t len;
		int rc;

		cli_secret_free(cfg->password);
		rc = cli_pass_read_file(arg, &cfg->password, &len);
		if (rc == CLI_PASS_TOO_LONG)
			cli_err(cfg, "%s:1: password %s", arg,
				cli_pass_strerror(rc));
		else if (rc != CLI_PASS_OK)
			cli_err(cfg, "cannot read password file %s: %s", arg,
				cli_pass_strerror(rc));
		return rc == CLI_PASS_OK ? 0 : -1;
	}
	case 'V':
		if (parse_version(arg, &cfg->mqtt_version)) {
			cli_err(cfg,
				"unknown protocol version '%s' (mqttv31, "
				"mqttv311 or mqttv5)",
				arg);
			return -1;
		}
		return 0;
	case 'c':
		cfg->clean_session = 0;
		return 0;
	case 'd':
		cfg->debug = 1;
		return 0;
	case 'k':
		if (parse_long(arg, 0, 65535, &v)) {
			cli_err(cfg, "invalid keepalive '%s'", arg);
			return -1;
		}
		cfg->keepalive = (int)v;
		return 0;
	case OPT_QUIET:
		cfg->quiet = 1;
		return 0;
	case 'C':
		if (parse_long(arg, 1, LONG_MAX, &cfg->msg_count)) {
			cli_err(cfg, "invalid message count '%s'", arg);
			return -1;
		}
		return 0;
	case 'W':
		if (parse_long(arg, 1, 86400L * 365, &cfg->timeout)) {
			cli_err(cfg, "invalid timeout '%s'", arg);
			return -1;
		}
		return 0;
	case 'v':
		cfg->verbose = 1;
		return 0;
	case 'N':
		cfg->eol = 0;
		return 0;
	case 'R':
		cfg->no_stale_retained = 1;
		return 0;
	case 'F':
		return set_string(&cfg->format, arg);
	case OPT_CAFILE:
		return set_string(&cfg->cafile, arg);
	case OPT_CAPATH:
		return set_string(&cfg->capath, arg);
	case OPT_CERT:
		return set_string(&cfg->certfile, arg);
	case OPT_KEY:
		return set_string(&cfg->keyfile, arg);
	case OPT_INSECURE:
		cfg->insecure = 1;
		return 0;
	case OPT_TLS_VERSION:
		if (parse_tls_version(arg, &cfg->tls_version)) {
			cli_err(cfg,
				"unknown TLS version '%s' (tlsv1.3, tlsv1.2, "
				"tlsv1.1 or tlsv1)",
				arg);
			return -1;
		}
		return 0;
	case 'K':
		return set_string(&cfg->keyring_path, arg);
	case OPT_MODE:
		if (e2e_suite_parse(arg, &suite) != E2E_OK ||
		    suite == E2E_SUITE_NONE) {
			cli_err(cfg, "--mode must be aead or mac, not '%s'",
				arg);
			return -1;
		}
		cfg->mode = (int)suite;
		return 0;
	case OPT_SIGN:
		return set_string(&cfg->sign_path, arg);
	case OPT_SIGN_PASS_FILE:
		return set_string(&cfg->sign_pass_file, arg);
	case OPT_TRUST:
		return set_string(&cfg->trust_path, arg);
	case OPT_REQUIRE_SIGNATURE:
		cfg->require_signature = 1;
		return 0;
	case OPT_REQUIRE_ENCRYPTION:
		cfg->require_encryption = 1;
		return 0;
	case OPT_MAX_AGE:
		if (parse_long(arg, 0, UINT32_MAX, &cfg->max_age)) {
			cli_err(cfg, "invalid --max-age '%s'", arg);
			return -1;
		}
		return 0;
	case OPT_MAX_SKEW:
		if (parse_long(arg, 0, UINT32_MAX, &cfg->max_skew)) {
			cli_err(cfg, "invalid --max-skew '%s'", arg);
			return -1;
		}
		return 0;
	case OPT_MAX_RETAINED_AGE:
		if (parse_long(arg, 0, UINT32_MAX, &cfg->max_retained_age)) {
			cli_err(cfg, "invalid --max-retained-age '%s'", arg);
			return -1;
		}
		return 0;
	case OPT_WINDOW:
		if (parse_long(arg, 64, 1L << 20, &cfg->window) ||
		    cfg->window % 64) {
			cli_err(cfg, "--window must be a multiple of 64");
			return -1;
		}
		return 0;
	case OPT_ACCEPT_NO_CLOCK:
		cfg->accept_no_clock = 1;
		return 0;
	case OPT_STATE:
		return set_string(&cfg->state_path, arg);
	case OPT_JSON:
		cfg->json = 1;
		return 0;
	case OPT_RAW_OUTPUT:
		cfg->raw_output = 1;
		return 0;
	}
	return -1;
}

static int check_pub(struct cli_config *cfg)
{
	if (cfg->topic_count > 1) {
		cli_err(cfg, "only one topic (-t) may be given");
		return -1;
	}
	if (strpbrk(cfg->topics[0], "+#")) {
		cli_err(cfg, "cannot publish to a topic filter: %s",
			cfg->topics[0]);
		return -1;
	}
	if (cfg->source == CLI_SRC_NONE) {
		cli_err(cfg, "a message is needed (-m, -f, -s, -l or -n)");
		return -1;
	}
	if (!cfg->keyring_path && !cfg->sign_path) {
		cli_err(cfg, "a keyring (-K) or a signing key (--sign) is "
			     "needed");
		return -1;
	}
	if (cfg->mode >= 0 && !cfg->keyring_path) {
		cli_err(cfg, "--mode needs a keyring (-K)");
		return -1;
	}
	return 0;
}

static int check_sub(struct cli_config *cfg)
{
	for (int i = 0; i < cfg->topic_count; i++) {
		if (e2e_filter_check(cfg->topics[i]) != E2E_OK) {
			cli_err(cfg, "invalid topic filter: %s",
				cfg->topics[i]);
			return -1;
		}
	}
	if (!cfg->keyring_path && !cfg->trust_path) {
		cli_err(cfg, "a keyring (-K) or a trust file (--trust) is "
			     "needed");
		return -1;
	}
	if (cfg->require_signature && !cfg->trust_path) {
		cli_err(cfg, "--require-signature needs --trust");
		return -1;
	}
	if (cfg->json && cfg->format) {
		cli_err(cfg, "--json and -F exclude each other");
		return -1;
	}
	return 0;
}

/* Defaults that depend on other options: host, client id, password from
 * the environment. */
static int fill_defaults(struct cli_config *cfg)
{
	char buf[64];

	if (!cfg->password && cfg->username) {
		cfg->password = cfg->env_password;
		cfg->env_password = NULL;
	}
	if (!cfg->host && set_string(&cfg->host, "localhost"))
		return -1;
	if (cfg->id)
		return 0;
	if (cfg->id_prefix)
		snprintf(buf, sizeof buf, "%.40s%ld", cfg->id_prefix,
			 (long)getpid());
	else
		snprintf(buf, sizeof buf, "%s-%ld-%08x", cfg->prog,
			 (long)getpid(), (unsigned)randombytes_random());
	return set_string(&cfg->id, buf);
}

/* Cross-option rules, after every option is known. */
static int check_config(struct cli_config *cfg)
{
	if (cfg->topic_count == 0) {
		cli_err(cfg, "a topic is needed (-t)");
		return -1;
	}
	if (cfg->tool == CLI_PUB ? check_pub(cfg) : check_sub(cfg))
		return -1;
	if (!cfg->clean_session && !cfg->id) {
		cli_err(cfg, "a persistent session (-c) needs a client id "
			     "(-i)");
		return -1;
	}
	if ((cfg->certfile != NULL) != (cfg->keyfile != NULL)) {
		cli_err(cfg, "--cert and --key go together");
		return -1;
	}
	if (fill_defaults(cfg))
		return -1;
	if (cfg->password && !cfg->username) {
		cli_err(cfg, "a password needs a username (-u)");
		return -1;
	}
	return 0;
}

int cli_parse(struct cli_config *cfg, enum cli_tool tool, int argc, char **argv)
{
	int opt, longindex;
	char name[64];

	memset(cfg, 0, sizeof *cfg);
	cfg->tool = tool;
	cfg->prog = tool == CLI_PUB ? "e2e-pub" : "e2e-sub";
	cfg->keepalive = 60;
	cfg->clean_session = 1;
	cfg->mqtt_version = MQTTVERSION_3_1_1;
	cfg->tls_version = MQTT_SSL_VERSION_DEFAULT;
	cfg->eol = 1;
	cfg->mode = -1;
	cfg->max_age = -1;
	cfg->max_skew = -1;

	opterr = 0;
	optind = 1;
	while ((longindex = -1, opt = getopt_long(argc, argv, short_options,
						  long_options, &longindex)) !=
	       -1) {
		if (longindex >= 0 && opt != '?' && opt != ':' &&
		    cli_long_option_check(cfg->prog, long_options, argv,
					  longindex))
			return CLI_EXIT_ERROR;
		if (longindex >= 0)
			snprintf(name, sizeof name, "--%s",
				 long_options[longindex].name);
		else
			snprintf(name, sizeof name, "-%c", opt);
		if (opt == OPT_HELP) {
			usage(tool);
			return CLI_EXIT_OK;
		}
		if (opt == '?' || opt == ':') {
			if (optopt && optopt < 256)
				cli_err(cfg,
					"unknown option or missing "
					"argument: -%c (see --help)",
					optopt);
			else
				cli_err(cfg,
					"unknown option or missing "
					"argument: %s (see --help)",
					argv[optind - 1]);
			return CLI_EXIT_ERROR;
		}
		if ((tool == CLI_PUB &&
		     is_only(sub_only, sub_only_long, opt)) ||
		    (tool == CLI_SUB &&
		     is_only(pub_only, pub_only_long, opt))) {
			cli_err(cfg, "option %s is not for %s (see --help)",
				name, cfg->prog);
			return CLI_EXIT_ERROR;
		}
		if (apply_option(cfg, opt, optarg)) {
			if (errno == ENOMEM)
				cli_err(cfg, "out of memory");
			return CLI_EXIT_ERROR;
		}
	}
	if (optind < argc) {
		cli_err(cfg, "unexpected argument '%s' (see --help)",
			argv[optind]);
		return CLI_EXIT_ERROR;
	}
	if (take_environment(cfg) || check_config(cfg))
		return CLI_EXIT_ERROR;
	return -1;
}

void cli_config_free(struct cli_config *cfg)
{
	char **strings[] = {
		&cfg->host,           &cfg->id,           &cfg->id_prefix,
		&cfg->username,       &cfg->cafile,       &cfg->capath,
		&cfg->certfile,       &cfg->keyfile,      &cfg->file,
		&cfg->format,         &cfg->keyring_path, &cfg->sign_path,
		&cfg->sign_pass_file, &cfg->trust_path,   &cfg->state_path};

	cli_secret_free(cfg->password);
	cli_secret_free(cfg->env_password);
	cli_secret_free(cfg->message);
	cli_secret_free(env_sign_pass);
	cfg->password = cfg->env_password = cfg->message = NULL;
	env_sign_pass = NULL;
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		free(*strings[i]);
		*strings[i] = NULL;
	}
	for (int i = 0; i < cfg->topic_count; i++)
		free(cfg->topics[i]);
	free(cfg->topics);
	cfg->topics = NULL;
	cfg->topic_count = 0;
}

/* ------------------------------------------------------------------------ */
/* Keys                                                                     */
/* ------------------------------------------------------------------------ */

static void report_load_error(const struct cli_config *cfg, const char *what,
			      const char *path, int rc, size_t bad_line)
{
	if (rc == E2E_ERR_IO)
		cli_err(cfg, "cannot read %s %s: %s", what, path,
			strerror(errno));
	else if (rc == E2E_ERR_WRITABLE)
		cli_err(cfg,
			"%s %s: %s; only you or root may own it and write "
			"it (chmod go-w)",
			what, path, e2e_strerror(rc));
	else if (bad_line)
		cli_err(cfg, "%s %s, line %zu: %s", what, path, bad_line,
			e2e_strerror(rc));
	else
		cli_err(cfg, "%s %s: %s", what, path, e2e_strerror(rc));
}

void cli_warn_unsafe_dir(const struct cli_config *cfg, const char *what,
			 const char *path)
{
	char dir[PATH_MAX];

	if (e2e_path_check(path, dir, sizeof dir) == E2E_ERR_WRITABLE)
		cli_err(cfg,
			"warning: %s %s: directory %s may be written by "
			"other users, who could replace the file",
			what, path, dir);
}

/* The passphrase of an encrypted signing key: --sign-pass-file, else
 * E2E_SIGN_PASSPHRASE, else the terminal. A secret string, or NULL
 * (reported). */
static char *signer_passphrase(const struct cli_config *cfg, size_t *len)
{
	char prompt[PATH_MAX + 32];
	char *pass = NULL;
	int rc;

	if (cfg->sign_pass_file) {
		rc = cli_pass_read_file(cfg->sign_pass_file, &pass, len);
		if (rc == CLI_PASS_TOO_LONG)
			cli_err(cfg, "%s:1: passphrase %s", cfg->sign_pass_file,
				cli_pass_strerror(rc));
		else if (rc != CLI_PASS_OK)
			cli_err(cfg, "cannot read %s: %s", cfg->sign_pass_file,
				cli_pass_strerror(rc));
		return pass;
	}
	if (env_sign_pass) {
		/* Used once: the signing key is never loaded again. */
		pass = env_sign_pass;
		*len = env_sign_pass_len;
		env_sign_pass = NULL;
		return pass;
	}
	snprintf(prompt, sizeof prompt, "Passphrase for %s: ", cfg->sign_path);
	rc = cli_pass_prompt(prompt, &pass, len);
	if (rc == CLI_PASS_NO_TTY)
		cli_err(cfg,
			"signing key %s is protected by a passphrase: "
			"give --sign-pass-file or E2E_SIGN_PASSPHRASE",
			cfg->sign_path);
	else if (rc != CLI_PASS_OK)
		cli_err(cfg, "passphrase for %s: %s", cfg->sign_path,
			cli_pass_strerror(rc));
	return pass;
}

static int load_signer(const struct cli_config *cfg, e2e_signer **out)
{
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	int encrypted = 0, rc;
	size_t bad_line = 0, pass_len = 0;
	char *pass = NULL;

	rc = e2e_signer_inspect(cfg->sign_path, pk, &encrypted, &bad_line);
	if (rc != E2E_OK) {
		report_load_error(cfg, "signing key", cfg->sign_path, rc,
				  bad_line);
		return -1;
	}
	if (encrypted && !(pass = signer_passphrase(cfg, &pass_len)))
		return -1;
	rc = e2e_signer_load(out, cfg->sign_path, pass, pass_len, &bad_line);
	cli_secret_free(pass);
	if (rc != E2E_OK) {
		report_load_error(cfg, "signing key", cfg->sign_path, rc,
				  bad_line);
		return -1;
	}
	cli_warn_unsafe_dir(cfg, "signing key", cfg->sign_path);
	return 0;
}

int cli_keys_load(const struct cli_config *cfg, struct cli_keys *keys)
{
	size_t bad_line = 0;
	int rc;

	memset(keys, 0, sizeof *keys);
	if (cfg->keyring_path) {
		rc = e2e_keyring_load(&keys->keyring, cfg->keyring_path,
				      &bad_line);
		if (rc != E2E_OK) {
			report_load_error(cfg, "keyring", cfg->keyring_path, rc,
					  bad_line);
			goto fail;
		}
		cli_warn_unsafe_dir(cfg, "keyring", cfg->keyring_path);
	}
	if (cfg->trust_path) {
		rc = e2e_trust_load(&keys->trust, cfg->trust_path, &bad_line);
		if (rc != E2E_OK) {
			report_load_error(cfg, "trust file", cfg->trust_path,
					  rc, bad_line);
			goto fail;
		}
		cli_warn_unsafe_dir(cfg, "trust file", cfg->trust_path);
	}
	if (cfg->sign_path && load_signer(cfg, &keys->signer))
		goto fail;
	return 0;
fail:
	cli_keys_free(keys);
	return -1;
}

void cli_keys_free(struct cli_keys *keys)
{
	e2e_keyring_free(keys->keyring);
	e2e_trust_free(keys->trust);
	e2e_signer_free(keys->signer);
	memset(keys, 0, sizeof *keys);
}

/* ------------------------------------------------------------------------ */
/* Signals, time, files                                                     */
/* ------------------------------------------------------------------------ */

static pthread_t main_thread;
/* Only the main thread takes signals, so plain ints do. */
static int hup_pending;
static int stop_requested;

static void signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR1);
}

void cli_signals_block(void)
{
	sigset_t set;
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	main_thread = pthread_self();
}

int cli_signal_wait(long ms)
{
	sigset_t set;
	struct timespec ts;
	int sig;

	signal_set(&set);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	do
		sig = sigtimedwait(&set, NULL, &ts);
	while (sig < 0 && errno == EINTR);
	if (sig == SIGHUP)
		hup_pending = 1;
	else if (sig == SIGINT || sig == SIGTERM)
		stop_requested = 1;
	return sig < 0 ? 0 : sig;
}

int cli_take_hup(void)
{
	int was = hup_pending;
	hup_pending = 0;
	return was;
}

int cli_stop_requested(void)
{
	return stop_requested;
}

void cli_wake_main(void)
{
	pthread_kill(main_thread, SIGUSR1);
}

int64_t cli_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* MQTT                                                                     */
/* ------------------------------------------------------------------------ */

static int is_v5(const struct cli_conn *c)
{
	return c->cfg->mqtt_version >= MQTTVERSION_5;
}

static void signal_cond(struct cli_conn *c)
{
	pthread_cond_broadcast(&c->cv);
	cli_wake_main();
}

static void on_connect_result(struct cli_conn *c, int ok, int code,
			      const char *msg)
{
	pthread_mutex_lock(&c->mu);
	if (!c->connect_done) {
		c->connect_done = 1;
		c->connect_rc = ok ? 0 : (code ? code : -1);
		snprintf(c->connect_err, sizeof c->connect_err, "%s",
			 msg ? msg : "");
	}
	signal_cond(c);
	pthread_mutex_unlock(&c->mu);
}

static void on_connect_ok(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	on_connect_result(ctx, 1, 0, NULL);
}

static void on_connect_fail(void *ctx, MQTTAsync_failureData *resp)
{
	on_connect_result(ctx, 0, resp ? resp->code : -1,
			  resp && resp->message
				  ? resp->message
				  : MQTTAsync_strerror(resp ? resp->code : -1));
}

static void on_connect_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
	(void)resp;
	on_connect_result(ctx, 1, 0, NULL);
}

static void on_connect_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	const char *msg = NULL;
	int code = -1;

	if (resp && resp->reasonCode)
		msg = MQTTReasonCode_toString(resp->reasonCode);
	else if (resp && resp->message)
		msg = resp->message;
	if (resp)
		code = resp->reasonCode ? (int)resp->reasonCode : resp->code;
	on_connect_result(ctx, 0, code, msg ? msg : MQTTAsync_strerror(code));
}

static void on_subscribe_result(struct cli_conn *c, int ok, const char *msg)
{
	pthread_mutex_lock(&c->mu);
	if (ok && c->subscribed)
		cli_debug(c->cfg, "subscribed again after reconnecting");
	if (!ok) {
		if (!c->subscribed) {
			c->subscribe_failed = 1;
			snprintf(c->subscribe_err, sizeof c->subscribe_err,
				 "%s", msg);
		} else {
			cli_err(c->cfg,
				"subscription refused after "
				"reconnecting: %s",
				msg);
		}
	}
	c->subscribed = 1;
	signal_cond(c);
	pthread_mutex_unlock(&c->mu);
}

static void on_subscribe_ok(void *ctx, MQTTAsync_successData *resp)
{
	struct cli_conn *c = ctx;
	int n = c->cfg->topic_count;

	/* A granted QoS of 0x80 is a refusal in MQTT 3.1.1. */
	if (resp && n == 1 && resp->alt.qos == 0x80) {
		on_subscribe_result(c, 0, "not authorized (granted QoS 0x80)");
		return;
	}
	if (resp && n > 1 && resp->alt.qosList) {
		for (int i = 0; i < n; i++) {
			if (resp->alt.qosList[i] == 0x80) {
				char msg[200];
				snprintf(msg, sizeof msg,
					 "refused for %.150s (granted QoS "
					 "0x80)",
					 c->cfg->topics[i]);
				on_subscribe_result(c, 0, msg);
				return;
			}
		}
	}
	on_subscribe_result(c, 1, NULL);
}

static void on_subscribe_fail(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	on_subscribe_result(ctx, 0, "refused by the broker");
}

static void on_subscribe_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
	struct cli_conn *c = ctx;

	/* Paho fills reasonCode for one topic, the array only for more. */
	if (resp && c->cfg->topic_count == 1 && resp->reasonCode >= 0x80) {
		on_subscribe_result(c, 0,
				    MQTTReasonCode_toString(resp->reasonCode));
		return;
	}
	if (resp && c->cfg->topic_count > 1 && resp->alt.sub.reasonCodes) {
		for (int i = 0; i < resp->alt.sub.reasonCodeCount; i++) {
			enum MQTTReasonCodes rc = resp->alt.sub.reasonCodes[i];
			if (rc >= 0x80) {
				char msg[200];
				snprintf(msg, sizeof msg, "%.150s: %s",
					 i < c->cfg->topic_count
						 ? c->cfg->topics[i]
						 : "?",
					 MQTTReasonCode_toString(rc));
				on_subscribe_result(c, 0, msg);
				return;
			}
		}
	}
	on_subscribe_result(c, 1, NULL);
}

static void on_subscribe_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	on_subscribe_result(ctx, 0,
			    resp && resp->reasonCode
				    ? MQTTReasonCode_toString(resp->reasonCode)
				    : "refused by the broker");
}

static void subscribe_all(struct cli_conn *c)
{
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;
	int *qoss = calloc((size_t)c->cfg->topic_count, sizeof *qoss);
	int rc;

	if (!qoss) {
		on_subscribe_result(c, 0, "out of memory");
		return;
	}
	for (int i = 0; i < c->cfg->topic_count; i++)
		qoss[i] = c->cfg->qos;
	ro.context = c;
	if (is_v5(c)) {
		ro.onSuccess5 = on_subscribe_ok5;
		ro.onFailure5 = on_subscribe_fail5;
	} else {
		ro.onSuccess = on_subscribe_ok;
		ro.onFailure = on_subscribe_fail;
	}
	rc = MQTTAsync_subscribeMany(c->client, c->cfg->topic_count,
				     c->cfg->topics, qoss, &ro);
	free(qoss);
	if (rc != MQTTASYNC_SUCCESS)
		on_subscribe_result(c, 0, MQTTAsync_strerror(rc));
}

/* Runs on Paho's thread after every successful connection, the first one
 * and each automatic reconnect: with a clean session the broker forgot our
 * subscriptions, so they are made again every time. */
static void on_connected(void *ctx, char *cause)
{
	struct cli_conn *c = ctx;

	if (cause && strstr(cause, "reconnect") && !c->cfg->quiet)
		cli_err(c->cfg, "reconnected");
	if (c->on_message)
		subscribe_all(c);
}

static void on_connection_lost(void *ctx, char *cause)
{
	struct cli_conn *c = ctx;

	if (!c->cfg->quiet)
		cli_err(c->cfg, "connection lost%s%s; reconnecting",
			cause ? ": " : "", cause ? cause : "");
}

static int on_message_arrived(void *ctx, char *topic, int topic_len,
			      MQTTAsync_message *msg)
{
	struct cli_conn *c = ctx;
	int rc = 1;

	if (c->on_message)
		rc = c->on_message(c->ctx, topic, topic_len, msg);
	MQTTAsync_freeMessage(&msg);
	MQTTAsync_free(topic);
	return rc;
}

static int on_ssl_error(const char *str, size_t len, void *ctx)
{
	struct cli_conn *c = ctx;

	if (c->cfg->debug)
		fprintf(stderr, "%s: TLS: %.*s", c->cfg->prog, (int)len, str);
	return 0;
}

/* Wait on the condition for up to ms milliseconds; mu held. */
static void cond_wait_ms(struct cli_conn *c, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&c->cv, &c->mu, &ts);
}

/* A terminating signal while we wait for the broker: give up. */
static int interrupted(void)
{
	cli_signal_wait(0);
	return cli_stop_requested();
}

static int uses_tls(const struct cli_config *cfg)
{
	return cfg->cafile || cfg->capath || cfg->certfile;
}

static void make_uri(const struct cli_config *cfg, char *uri, size_t cap)
{
	int tls = uses_tls(cfg);
	int port = cfg->port ? cfg->port : (tls ? 8883 : 1883);

	/* IPv6 literals need brackets in a URI. */
	snprintf(uri, cap,
		 strchr(cfg->host, ':') ? "%s://[%.512s]:%d" : "%s://%.512s:%d",
		 tls ? "ssl" : "tcp", cfg->host, port);
}

static void set_tls(struct cli_conn *c, MQTTAsync_SSLOptions *ssl)
{
	const struct cli_config *cfg = c->cfg;

	ssl->trustStore = cfg->cafile;
	ssl->CApath = cfg->capath;
	ssl->keyStore = cfg->certfile;
	ssl->privateKey = cfg->keyfile;
	ssl->enableServerCertAuth = 1; /* the chain, always */
	ssl->verify = !cfg->insecure;  /* the host name */
	ssl->sslVersion = cfg->tls_version;
	ssl->ssl_error_cb = on_ssl_error;
	ssl->ssl_error_context = c;
}

/* The first connection (and subscription): 0, or -1 when it failed or a
 * signal came first. */
static int wait_first_connection(struct cli_conn *c, const char *uri)
{
	const struct cli_config *cfg = c->cfg;
	int result = -1;

	pthread_mutex_lock(&c->mu);
	while (!c->connect_done ||
	       (c->connect_rc == 0 && c->on_message && !c->subscribed)) {
		cond_wait_ms(c, 100);
		if (interrupted()) {
			pthread_mutex_unlock(&c->mu);
			return -1;
		}
	}
	if (c->connect_rc != 0) {
		if (!cfg->quiet)
			cli_err(cfg, "cannot connect to %s: %s", uri,
				c->connect_err);
	} else if (c->subscribe_failed) {
		cli_err(cfg, "subscription refused: %s", c->subscribe_err);
	} else {
		result = 0;
	}
	pthread_mutex_unlock(&c->mu);
	if (result == 0)
		cli_debug(cfg, "connected%s",
			  c->on_message ? " and subscribed" : "");
	return result;
}

static int create_client(struct cli_conn *c, const char *uri)
{
	MQTTAsync_createOptions co = MQTTAsync_createOptions_initializer;
	int rc;

	/* Publications made while the connection is down wait in memory. */
	co.sendWhileDisconnected = 1;
	co.maxBufferedMessages = 100000;
	co.MQTTVersion = c->cfg->mqtt_version >= MQTTVERSION_5
				 ? MQTTVERSION_5
				 : MQTTVERSION_DEFAULT;
	rc = MQTTAsync_createWithOptions(&c->client, uri, c->cfg->id,
					 MQTTCLIENT_PERSISTENCE_NONE, NULL,
					 &co);
	if (rc != MQTTASYNC_SUCCESS) {
		cli_err(c->cfg, "cannot create MQTT client for %s: %s", uri,
			MQTTAsync_strerror(rc));
		c->client = NULL;
		return -1;
	}
	MQTTAsync_setCallbacks(c->client, c, on_connection_lost,
			       on_message_arrived, NULL);
	MQTTAsync_setConnected(c->client, c, on_connected);
	return 0;
}

/* Start connecting the client (Paho copies the options). */
static int start_connect(struct cli_conn *c, const char *uri)
{
	const struct cli_config *cfg = c->cfg;
	MQTTAsync_connectOptions v3 = MQTTAsync_connectOptions_initializer;
	MQTTAsync_connectOptions v5 = MQTTAsync_connectOptions_initializer5;
	MQTTAsync_connectOptions *opts;
	MQTTAsync_SSLOptions ssl = MQTTAsync_SSLOptions_initializer;
	MQTTProperties props = MQTTProperties_initializer;
	int rc;

	if (cfg->mqtt_version >= MQTTVERSION_5) {
		opts = &v5;
		opts->cleanstart = cfg->clean_session;
		opts->onSuccess5 = on_connect_ok5;
		opts->onFailure5 = on_connect_fail5;
		if (!cfg->clean_session) {
			/* As mosquitto's -c: the session never expires. */
			MQTTProperty p;
			memset(&p, 0, sizeof p);
			p.identifier =
				MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
			p.value.integer4 = 0xFFFFFFFFu;
			MQTTProperties_add(&props, &p);
			opts->connectProperties = &props;
		}
	} else {
		opts = &v3;
		opts->cleansession = cfg->clean_session;
		opts->onSuccess = on_connect_ok;
		opts->onFailure = on_connect_fail;
	}
	opts->MQTTVersion = cfg->mqtt_version;
	opts->keepAliveInterval = cfg->keepalive;
	opts->username = cfg->username;
	opts->password = cfg->password;
	opts->connectTimeout = 10;
	opts->automaticReconnect = 1;
	opts->minRetryInterval = 1;
	opts->maxRetryInterval = 8;
	opts->maxInflight = 1024;
	opts->context = c;
	if (uses_tls(cfg)) {
		set_tls(c, &ssl);
		opts->ssl = &ssl;
	}

	cli_debug(cfg, "connecting to %s as %s", uri, cfg->id);
	rc = MQTTAsync_connect(c->client, opts);
	if (rc != MQTTASYNC_SUCCESS)
		cli_err(cfg, "cannot connect to %s: %s", uri,
			MQTTAsync_strerror(rc));
	MQTTProperties_free(&props);
	return rc == MQTTASYNC_SUCCESS ? 0 : -1;
}

int cli_conn_open(struct cli_conn *c, const struct cli_config *cfg,
		  int subscribe, cli_on_message on_message, void *ctx)
{
	char uri[600];

	memset(c, 0, sizeof *c);
	c->cfg = cfg;
	c->on_message = subscribe ? on_message : NULL;
	c->ctx = ctx;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	make_uri(cfg, uri, sizeof uri);
	if (create_client(c, uri))
		return -1;
	if (start_connect(c, uri))
		return -1;
	return wait_first_connection(c, uri);
}

/* refused: the broker said no (an MQTT 5 reason code); otherwise the
 * message was lost on the way. */
static void on_publish_result(struct cli_conn *c, int ok, int refused,
			      const char *msg)
{
	pthread_mutex_lock(&c->mu);
	c->inflight--;
	if (ok) {
		c->published++;
	} else {
		c->publish_failed++;
		if (refused)
			cli_err(c->cfg,
				"publish to %s refused by the broker: %s",
				c->cfg->topics[0], msg);
		else
			cli_err(c->cfg, "publish to %s failed: %s",
				c->cfg->topics[0], msg);
	}
	signal_cond(c);
	pthread_mutex_unlock(&c->mu);
}

/*
 * One publication, kept until the broker acknowledges it. Paho discards
 * what is queued or in flight when a connection breaks (even with a
 * persistent session, for commands not yet written); such a publication is
 * sent again, the same envelope with the same sequence number, so nothing
 * is lost. If the broker did get the first copy, the subscriber refuses
 * the second as a replay: at least once, never twice on its stdout.
 */
struct cli_pending {
	struct cli_conn *c;
	struct cli_pending *next;          /* on c->resend */
	struct cli_pending *older, *newer; /* c->oldest ... c->newest */
	unsigned long order;               /* c->next_order when published */
	int qos;
	int retain;
	int attempts;
	size_t len;
	char *topic; /* points into data, after the payload */
	uint8_t data[];
};

#define CLI_MAX_ATTEMPTS 20

static int send_pending(struct cli_pending *p);

/* A publication leaves the unacknowledged list (mu held). */
static void forget(struct cli_conn *c, struct cli_pending *p)
{
	if (p->older)
		p->older->newer = p->newer;
	else
		c->oldest = p->newer;
	if (p->newer)
		p->newer->older = p->older;
	else
		c->newest = p->older;
}

/* Done with a publication: acknowledged, refused or given up. */
static void release(struct cli_pending *p)
{
	pthread_mutex_lock(&p->c->mu);
	forget(p->c, p);
	signal_cond(p->c); /* a publication may be waiting for room */
	pthread_mutex_unlock(&p->c->mu);
	free(p);
}

/*
 * Runs on Paho's threads, sometimes with Paho's own lock held (a failed
 * write): calling Paho from here would break that lock, so a publication to
 * send again is queued for the main thread (cli_conn_service).
 *
 * MQTTASYNC_FAILURE is a socket error while Paho wrote the PUBLISH: Paho
 * 1.3 has then already stored it for retransmission with the session, but
 * frees its topic and payload, so after the reconnect it sends garbage
 * under that packet id; the broker disconnects it as malformed, and again
 * after every reconnect. That client is made afresh before re-sending.
 */
static void pending_done(struct cli_pending *p, int ok, int refused, int code,
			 const char *msg)
{
	struct cli_conn *c = p->c;

	if (!ok && !refused && p->attempts < CLI_MAX_ATTEMPTS &&
	    (code == MQTTASYNC_OPERATION_INCOMPLETE ||
	     code == MQTTASYNC_DISCONNECTED || code == MQTTASYNC_FAILURE)) {
		cli_debug(c->cfg, "publication discarded by a "
				  "disconnection: sending it again");
		pthread_mutex_lock(&c->mu);
		if (code == MQTTASYNC_FAILURE && p->qos > 0)
			c->poisoned = 1;
		p->next = c->resend;
		c->resend = p;
		signal_cond(c);
		pthread_mutex_unlock(&c->mu);
		return;
	}
	on_publish_result(c, ok, refused, msg);
	release(p);
}

static void on_publish_ok(void *ctx, MQTTAsync_successData *resp)
{
	(void)resp;
	pending_done(ctx, 1, 0, 0, NULL);
}

static void on_publish_fail(void *ctx, MQTTAsync_failureData *resp)
{
	int code = resp ? resp->code : -1;

	pending_done(ctx, 0, 0, code,
		     resp && resp->message ? resp->message
					   : MQTTAsync_strerror(code));
}

static void on_publish_ok5(void *ctx, MQTTAsync_successData5 *resp)
{
	if (resp && resp->reasonCode >= 0x80)
		pending_done(ctx, 0, 1, 0,
			     MQTTReasonCode_toString(resp->reasonCode));
	else
		pending_done(ctx, 1, 0, 0, NULL);
}

static void on_publish_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	int code = resp ? resp->code : -1;

	if (resp && resp->reasonCode >= 0x80)
		pending_done(ctx, 0, 1, code,
			     MQTTReasonCode_toString(resp->reasonCode));
	else
		pending_done(ctx, 0, 0, code, MQTTAsync_strerror(code));
}

/* Hand the publication to Paho (which copies the payload). */
static int send_pending(struct cli_pending *p)
{
	MQTTAsync_message msg = MQTTAsync_message_initializer;
	MQTTAsync_responseOptions ro = MQTTAsync_responseOptions_initializer;

	p->attempts++;
	msg.payload = p->data;
	msg.payloadlen = (int)p->len;
	msg.qos = p->qos;
	msg.retained = p->retain;
	ro.context = p;
	if (is_v5(p->c)) {
		ro.onSuccess5 = on_publish_ok5;
		ro.onFailure5 = on_publish_fail5;
	} else {
		ro.onSuccess = on_publish_ok;
		ro.onFailure = on_publish_fail;
	}
	return MQTTAsync_sendMessage(p->c->client, p->topic, &msg, &ro);
}

/* Replace a client whose session Paho corrupted (see pending_done): what
 * it still held comes back through pending_done, to be sent again. */
static void renew_client(struct cli_conn *c)
{
	char uri[600];

	if (!c->cfg->quiet)
		cli_err(c->cfg, "write failed as the connection broke: "
				"starting the MQTT client afresh");
	MQTTAsync_destroy(&c->client);
	make_uri(c->cfg, uri, sizeof uri);
	if (create_client(c, uri) == 0 && start_connect(c, uri) != 0) {
		MQTTAsync_destroy(&c->client);
		c->client = NULL;
	}
}

void cli_conn_service(struct cli_conn *c)
{
	struct cli_pending *list, *p;
	int poisoned;

	pthread_mutex_lock(&c->mu);
	poisoned = c->poisoned;
	c->poisoned = 0;
	pthread_mutex_unlock(&c->mu);
	if (poisoned && c->client)
		renew_client(c);

	pthread_mutex_lock(&c->mu);
	p = c->resend;
	c->resend = NULL;
	pthread_mutex_unlock(&c->mu);
	/* Queued newest first: sent again in the order Paho gave them back,
	 * the order of their sequence numbers. */
	list = NULL;
	while (p) {
		struct cli_pending *next = p->next;

		p->next = list;
		list = p;
		p = next;
	}
	while ((p = list)) {
		int rc = c->client ? send_pending(p) : MQTTASYNC_FAILURE;

		list = p->next;
		if (rc != MQTTASYNC_SUCCESS) {
			on_publish_result(c, 0, 0, MQTTAsync_strerror(rc));
			release(p);
		}
	}
}

/*
 * A new publication waits while the oldest one not yet acknowledged is this
 * many sequence numbers behind it. After a reconnect Paho 1.3 may
 * retransmit what was in flight after what was queued while disconnected,
 * so an unacknowledged publication can reach the broker after newer ones;
 * a receiver accepts it only inside its replay window (E2E_GUARD_DEFAULT_
 * WINDOW = 256 positions: highest - seq < window). Never letting the
 * newest run 256 or more ahead of the oldest unacknowledged keeps every
 * retransmission inside a default window, so a broker restart loses
 * nothing (docs/HARDENING.md, "Security round 2"). It also bounds memory
 * while the broker is away.
 */
#define CLI_MAX_SPAN E2E_GUARD_DEFAULT_WINDOW

/* How far the next publication would be ahead of the oldest unacknowledged
 * one (mu held). */
static unsigned long span(const struct cli_conn *c)
{
	return c->oldest ? c->next_order - c->oldest->order : 0;
}

int cli_conn_publish(struct cli_conn *c, const char *topic, const void *payload,
		     size_t len, int qos, int retain)
{
	size_t tlen = strlen(topic);
	struct cli_pending *p;
	int rc;

	if (len > INT_MAX || len > SIZE_MAX - sizeof *p - tlen - 1) {
		cli_err(c->cfg, "message too large");
		return -1;
	}
	if (!(p = malloc(sizeof *p + len + tlen + 1))) {
		cli_err(c->cfg, "out of memory");
		return -1;
	}
	p->c = c;
	p->next = NULL;
	p->qos = qos;
	p->retain = retain;
	p->attempts = 0;
	p->len = len;
	memcpy(p->data, payload, len);
	p->topic = (char *)p->data + len;
	memcpy(p->topic, topic, tlen + 1);

	cli_conn_service(c);
	pthread_mutex_lock(&c->mu);
	while (span(c) >= CLI_MAX_SPAN) {
		cond_wait_ms(c, 100);
		if (c->resend) {
			pthread_mutex_unlock(&c->mu);
			cli_conn_service(c);
			pthread_mutex_lock(&c->mu);
		}
		if (interrupted()) {
			pthread_mutex_unlock(&c->mu);
			free(p);
			return -1;
		}
	}
	c->inflight++;
	p->order = c->next_order++;
	p->older = c->newest;
	p->newer = NULL;
	if (c->newest)
		c->newest->newer = p;
	else
		c->oldest = p;
	c->newest = p;
	pthread_mutex_unlock(&c->mu);

	rc = send_pending(p);
	if (rc != MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&c->mu);
		c->inflight--;
		c->publish_failed++;
		forget(c, p);
		pthread_mutex_unlock(&c->mu);
		cli_err(c->cfg, "cannot publish to %s: %s", topic,
			MQTTAsync_strerror(rc));
		free(p);
		return -1;
	}
	return 0;
}

int cli_conn_drain(struct cli_conn *c)
{
	/* After SIGINT/SIGTERM, give what is in flight a short grace period;
	 * otherwise wait until a signal says stop. */
	int64_t deadline = cli_stop_requested() ? cli_now_ms() + 3000 : 0;
	long left;

	pthread_mutex_lock(&c->mu);
	while (c->inflight > 0) {
		if (c->resend) {
			pthread_mutex_unlock(&c->mu);
			cli_conn_service(c);
			pthread_mutex_lock(&c->mu);
			continue;
		}
		cond_wait_ms(c, 100);
		if (deadline ? cli_now_ms() >= deadline : interrupted())
			break;
	}
	left = c->inflight;
	pthread_mutex_unlock(&c->mu);
	if (left)
		cli_err(c->cfg, "%ld message(s) not acknowledged by the broker",
			left);
	return left ? -1 : 0;
}

static void on_disconnect_done(void *ctx, MQTTAsync_successData *resp)
{
	struct cli_conn *c = ctx;

	(void)resp;
	pthread_mutex_lock(&c->mu);
	c->disconnected = 1;
	signal_cond(c);
	pthread_mutex_unlock(&c->mu);
}

static void on_disconnect_done5(void *ctx, MQTTAsync_successData5 *resp)
{
	(void)resp;
	on_disconnect_done(ctx, NULL);
}

static void on_disconnect_fail(void *ctx, MQTTAsync_failureData *resp)
{
	(void)resp;
	on_disconnect_done(ctx, NULL);
}

static void on_disconnect_fail5(void *ctx, MQTTAsync_failureData5 *resp)
{
	(void)resp;
	on_disconnect_done(ctx, NULL);
}

void cli_conn_close(struct cli_conn *c)
{
	MQTTAsync_disconnectOptions d = MQTTAsync_disconnectOptions_initializer;
	int64_t deadline = cli_now_ms() + 3000;

	if (!c->client)
		return;
	d.timeout = 1000;
	d.context = c;
	if (is_v5(c)) {
		d.onSuccess5 = on_disconnect_done5;
		d.onFailure5 = on_disconnect_fail5;
	} else {
		d.onSuccess = on_disconnect_done;
		d.onFailure = on_disconnect_fail;
	}
	if (MQTTAsync_isConnected(c->client) &&
	    MQTTAsync_disconnect(c->client, &d) == MQTTASYNC_SUCCESS) {
		pthread_mutex_lock(&c->mu);
		while (!c->disconnected && cli_now_ms() < deadline)
			cond_wait_ms(c, 100);
		pthread_mutex_unlock(&c->mu);
	}
	MQTTAsync_destroy(&c->client);
	while (c->resend) {
		struct cli_pending *p = c->resend;

		c->resend = p->next;
		free(p);
	}
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
}
