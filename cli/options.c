/*
 * The options of e2e-pub and e2e-sub (options.h): one parser, one
 * configuration, the rules between options.
 */
#define _POSIX_C_SOURCE 200809L
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "e2e.h"
#include "longopt.h"
#include "options.h"
#include "passphrase.h"
#include "report.h"

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

static void usage(const struct cli_help *help)
{
	fputs(help->intro, stdout);
	fputs(usage_common, stdout);
	fputs(help->outro, stdout);
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

/* Take the variables this tool reads out of the environment, whether it
 * uses them or not, once the options are read: 0, or -1 (reported). */
static int take_environment(struct cli_config *cfg)
{
	size_t len;
	int rc = cli_secret_getenv("E2E_MQTT_PASSWORD", &cfg->env_password,
				   &len);

	if (rc == CLI_PASS_OK && cfg->tool == CLI_PUB) {
		rc = cli_secret_getenv("E2E_SIGN_PASSPHRASE",
				       &cfg->env_sign_pass,
				       &cfg->env_sign_pass_len);
		if (rc != CLI_PASS_OK)
			cli_err("E2E_SIGN_PASSPHRASE: passphrase %s",
				cli_pass_strerror(rc));
	} else if (rc != CLI_PASS_OK) {
		cli_err("E2E_MQTT_PASSWORD: password %s",
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
		cli_err("only one of -m, -f, -s, -l and -n may be given");
		return -1;
	}
	cfg->source = src;
	return 0;
}

static int parse_version(const char *s, int *out)
{
	if (!strcmp(s, "mqttv31") || !strcmp(s, "31"))
		*out = CLI_MQTT_V31;
	else if (!strcmp(s, "mqttv311") || !strcmp(s, "311"))
		*out = CLI_MQTT_V311;
	else if (!strcmp(s, "mqttv5") || !strcmp(s, "5"))
		*out = CLI_MQTT_V5;
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
		*out = CLI_TLS_DEFAULT;
	else if (!strcmp(s, "tlsv1.2"))
		*out = CLI_TLS_1_2;
	else if (!strcmp(s, "tlsv1.1"))
		*out = CLI_TLS_1_1;
	else if (!strcmp(s, "tlsv1"))
		*out = CLI_TLS_1_0;
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
		return set_string(&cfg->broker.host, arg);
	case 'p':
		if (parse_long(arg, 1, 65535, &v)) {
			cli_err("invalid port '%s'", arg);
			return -1;
		}
		cfg->broker.port = (int)v;
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
			cli_err("QoS must be 0, 1 or 2, not '%s'", arg);
			return -1;
		}
		cfg->qos = (int)v;
		return 0;
	case 'r':
		cfg->retain = 1;
		return 0;
	case 'i':
		return set_string(&cfg->broker.id, arg);
	case 'I':
		return set_string(&cfg->id_prefix, arg);
	case 'u':
		return set_string(&cfg->broker.username, arg);
	case 'P':
		cli_secret_free(cfg->broker.password);
		cfg->broker.password = take_secret(arg);
		return cfg->broker.password ? 0 : -1;
	case OPT_PW_FILE: {
		size_t len;
		int rc;

		cli_secret_free(cfg->broker.password);
		rc = cli_pass_read_file(arg, &cfg->broker.password, &len);
		if (rc == CLI_PASS_TOO_LONG)
			cli_err("%s:1: password %s", arg,
				cli_pass_strerror(rc));
		else if (rc != CLI_PASS_OK)
			cli_err("cannot read password file %s: %s", arg,
				cli_pass_strerror(rc));
		return rc == CLI_PASS_OK ? 0 : -1;
	}
	case 'V':
		if (parse_version(arg, &cfg->broker.mqtt_version)) {
			cli_err("unknown protocol version '%s' (mqttv31, "
				"mqttv311 or mqttv5)",
				arg);
			return -1;
		}
		return 0;
	case 'c':
		cfg->broker.clean_session = 0;
		return 0;
	case 'd':
		cfg->debug = 1;
		return 0;
	case 'k':
		if (parse_long(arg, 0, 65535, &v)) {
			cli_err("invalid keepalive '%s'", arg);
			return -1;
		}
		cfg->broker.keepalive = (int)v;
		return 0;
	case OPT_QUIET:
		cfg->broker.quiet = 1;
		return 0;
	case 'C':
		if (parse_long(arg, 1, LONG_MAX, &cfg->msg_count)) {
			cli_err("invalid message count '%s'", arg);
			return -1;
		}
		return 0;
	case 'W':
		if (parse_long(arg, 1, 86400L * 365, &cfg->timeout)) {
			cli_err("invalid timeout '%s'", arg);
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
		return set_string(&cfg->broker.cafile, arg);
	case OPT_CAPATH:
		return set_string(&cfg->broker.capath, arg);
	case OPT_CERT:
		return set_string(&cfg->broker.certfile, arg);
	case OPT_KEY:
		return set_string(&cfg->broker.keyfile, arg);
	case OPT_INSECURE:
		cfg->broker.insecure = 1;
		return 0;
	case OPT_TLS_VERSION:
		if (parse_tls_version(arg, &cfg->broker.tls_version)) {
			cli_err("unknown TLS version '%s' (tlsv1.3, tlsv1.2, "
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
			cli_err("--mode must be aead or mac, not '%s'", arg);
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
			cli_err("invalid --max-age '%s'", arg);
			return -1;
		}
		return 0;
	case OPT_MAX_SKEW:
		if (parse_long(arg, 0, UINT32_MAX, &cfg->max_skew)) {
			cli_err("invalid --max-skew '%s'", arg);
			return -1;
		}
		return 0;
	case OPT_MAX_RETAINED_AGE:
		if (parse_long(arg, 0, UINT32_MAX, &cfg->max_retained_age)) {
			cli_err("invalid --max-retained-age '%s'", arg);
			return -1;
		}
		return 0;
	case OPT_WINDOW:
		if (parse_long(arg, 64, 1L << 20, &cfg->window) ||
		    cfg->window % 64) {
			cli_err("--window must be a multiple of 64");
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
		cli_err("only one topic (-t) may be given");
		return -1;
	}
	if (strpbrk(cfg->topics[0], "+#")) {
		cli_err("cannot publish to a topic filter: %s", cfg->topics[0]);
		return -1;
	}
	if (cfg->source == CLI_SRC_NONE) {
		cli_err("a message is needed (-m, -f, -s, -l or -n)");
		return -1;
	}
	if (!cfg->keyring_path && !cfg->sign_path) {
		cli_err("a keyring (-K) or a signing key (--sign) is "
			"needed");
		return -1;
	}
	if (cfg->mode >= 0 && !cfg->keyring_path) {
		cli_err("--mode needs a keyring (-K)");
		return -1;
	}
	return 0;
}

static int check_sub(struct cli_config *cfg)
{
	for (int i = 0; i < cfg->topic_count; i++) {
		if (e2e_filter_check(cfg->topics[i]) != E2E_OK) {
			cli_err("invalid topic filter: %s", cfg->topics[i]);
			return -1;
		}
	}
	if (!cfg->keyring_path && !cfg->trust_path) {
		cli_err("a keyring (-K) or a trust file (--trust) is "
			"needed");
		return -1;
	}
	if (cfg->require_signature && !cfg->trust_path) {
		cli_err("--require-signature needs --trust");
		return -1;
	}
	if (cfg->json && cfg->format) {
		cli_err("--json and -F exclude each other");
		return -1;
	}
	return 0;
}

/* Defaults that depend on other options: host, client id, password from
 * the environment. */
static int fill_defaults(struct cli_config *cfg)
{
	char buf[64];

	if (!cfg->broker.password && cfg->broker.username) {
		cfg->broker.password = cfg->env_password;
		cfg->env_password = NULL;
	}
	if (!cfg->broker.host && set_string(&cfg->broker.host, "localhost"))
		return -1;
	if (cfg->broker.id)
		return 0;
	if (cfg->id_prefix)
		snprintf(buf, sizeof buf, "%.40s%ld", cfg->id_prefix,
			 (long)getpid());
	else
		snprintf(buf, sizeof buf, "%s-%ld-%08x", cfg->prog,
			 (long)getpid(), (unsigned)randombytes_random());
	return set_string(&cfg->broker.id, buf);
}

/* Cross-option rules, after every option is known. */
static int check_config(struct cli_config *cfg)
{
	if (cfg->topic_count == 0) {
		cli_err("a topic is needed (-t)");
		return -1;
	}
	if (cfg->tool == CLI_PUB ? check_pub(cfg) : check_sub(cfg))
		return -1;
	if (!cfg->broker.clean_session && !cfg->broker.id) {
		cli_err("a persistent session (-c) needs a client id "
			"(-i)");
		return -1;
	}
	if ((cfg->broker.certfile != NULL) != (cfg->broker.keyfile != NULL)) {
		cli_err("--cert and --key go together");
		return -1;
	}
	if (fill_defaults(cfg))
		return -1;
	if (cfg->broker.password && !cfg->broker.username) {
		cli_err("a password needs a username (-u)");
		return -1;
	}
	return 0;
}

int cli_parse(struct cli_config *cfg, enum cli_tool tool,
	      const struct cli_help *help, int argc, char **argv)
{
	int opt, longindex;
	char name[64];

	memset(cfg, 0, sizeof *cfg);
	cfg->tool = tool;
	cfg->prog = tool == CLI_PUB ? "e2e-pub" : "e2e-sub";
	cli_report_init(cfg->prog);
	cfg->broker.keepalive = 60;
	cfg->broker.clean_session = 1;
	cfg->broker.mqtt_version = CLI_MQTT_V311;
	cfg->broker.tls_version = CLI_TLS_DEFAULT;
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
			usage(help);
			return CLI_EXIT_OK;
		}
		if (opt == '?' || opt == ':') {
			if (optopt && optopt < 256)
				cli_err("unknown option or missing "
					"argument: -%c (see --help)",
					optopt);
			else
				cli_err("unknown option or missing "
					"argument: %s (see --help)",
					argv[optind - 1]);
			return CLI_EXIT_ERROR;
		}
		if ((tool == CLI_PUB &&
		     is_only(sub_only, sub_only_long, opt)) ||
		    (tool == CLI_SUB &&
		     is_only(pub_only, pub_only_long, opt))) {
			cli_err("option %s is not for %s (see --help)", name,
				cfg->prog);
			return CLI_EXIT_ERROR;
		}
		if (apply_option(cfg, opt, optarg)) {
			if (errno == ENOMEM)
				cli_err("out of memory");
			return CLI_EXIT_ERROR;
		}
	}
	if (optind < argc) {
		cli_err("unexpected argument '%s' (see --help)", argv[optind]);
		return CLI_EXIT_ERROR;
	}
	cli_report_debug(cfg->debug);
	if (take_environment(cfg) || check_config(cfg))
		return CLI_EXIT_ERROR;
	return -1;
}

void cli_config_free(struct cli_config *cfg)
{
	char **strings[] = {&cfg->broker.host,
			    &cfg->broker.id,
			    &cfg->id_prefix,
			    &cfg->broker.username,
			    &cfg->broker.cafile,
			    &cfg->broker.capath,
			    &cfg->broker.certfile,
			    &cfg->broker.keyfile,
			    &cfg->file,
			    &cfg->format,
			    &cfg->keyring_path,
			    &cfg->sign_path,
			    &cfg->sign_pass_file,
			    &cfg->trust_path,
			    &cfg->state_path};

	cli_secret_free(cfg->broker.password);
	cli_secret_free(cfg->env_password);
	cli_secret_free(cfg->message);
	cli_secret_free(cfg->env_sign_pass);
	cfg->broker.password = cfg->env_password = cfg->message = NULL;
	cfg->env_sign_pass = NULL;
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
