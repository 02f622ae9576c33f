/*
 * The options of e2e-pub and e2e-sub (options.h): one table, one parser,
 * one configuration, the rules between options.
 */
#define _GNU_SOURCE /* memrchr */
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
#include "optfile.h"
#include "passphrase.h"
#include "props.h"
#include "psk.h"
#include "report.h"
#include "shared_state.h"
#include "sub_format.h"

/*
 * Every option of e2e-pub and e2e-sub, once:
 *
 *   X(ID, "long", 'c', kind, tools, field, "ARG", "help")
 *   X2(ID, "long", 'c', kind, field, "ARG", "e2e-pub's help", "e2e-sub's")
 *   H(tools, "Heading:")  a heading in --help
 *
 * From it come the OPT_ID enum, getopt's long options and short string,
 * the check that an option is for this tool ("option -C is not for
 * e2e-pub"), the --help lines (in table order, ARG after the names, "\n"
 * in the help continues it on the next line) and the list of strings
 * cli_config_free releases. 'c' is 0 for a long-only option.
 *
 * kind says what the option does with its argument, in `field` of struct
 * cli_config: FLAG sets it to 1, CLEAR to 0, STR keeps a copy, SECRET a
 * secret copy (passphrase.h) wiping the original in argv, NUM(lo, hi) a
 * number in [lo, hi] (int or long, by the field's size). SPECIAL(kind) is
 * handled by hand in special_option() first, then as kind (NONE: nothing
 * more); field then is what cli_config_free releases, if anything.
 *
 * Adding an option touches two places: a row here, and its field in
 * struct cli_config (options.h); a SPECIAL one also its case in
 * special_option(), and a rule between options goes in check_config().
 */
#define CLI_OPTIONS(X, X2, H)                                                  \
	H(CLI_PUB, "Message:")                                                 \
	H(CLI_SUB, "Output (accepted messages on stdout, as mosquitto_sub):")  \
	X2(TOPIC, "topic", 't', SPECIAL(K_NONE), topics, "TOPIC",              \
	   "topic to publish to (once)",                                       \
	   "subscribe to TOPIC, a filter (repeatable)")                        \
	X(MESSAGE, "message", 'm', SPECIAL(K_SECRET), CLI_PUB, message, "MSG", \
	  "the message (wiped from the command line at start; other\n"         \
	  "users can read it until then: -f, -s and -l keep it out\n"          \
	  "of argv entirely)")                                                 \
	X(FILE, "file", 'f', SPECIAL(K_STR), CLI_PUB, file, "FILE",            \
	  "the contents of FILE as one message")                               \
	X(STDIN_FILE, "stdin-file", 's', SPECIAL(K_NONE), CLI_PUB, source,     \
	  NULL, "all of stdin as one message")                                 \
	X(STDIN_LINE, "stdin-line", 'l', SPECIAL(K_NONE), CLI_PUB, source,     \
	  NULL, "each line of stdin as a message")                             \
	X(NULL_MESSAGE, "null-message", 'n', SPECIAL(K_NONE), CLI_PUB, source, \
	  NULL,                                                                \
	  "an empty message (with -r: clear the retained message,\n"           \
	  "unsealed: no key needed)")                                          \
	X(RETAIN, "retain", 'r', FLAG, CLI_PUB, retain, NULL,                  \
	  "retain (sealed with retained intent)")                              \
	X(MAX_INFLIGHT, "max-inflight", 'M', NUM(1, 65535), CLI_PUB,           \
	  broker.max_inflight, "N",                                            \
	  "at most N QoS 1/2 messages in flight (default 1024)")               \
	X(REPEAT, "repeat", 0, NUM(1, INT_MAX), CLI_PUB, repeat, "N",          \
	  "with -m, -f or -s: publish N times, each sealed anew")              \
	X(REPEAT_DELAY, "repeat-delay", 0, SPECIAL(K_NONE), CLI_PUB,           \
	  repeat_delay_ms, "SECONDS",                                          \
	  "wait between repeats (decimals allowed)")                           \
	X(VERBOSE, "verbose", 'v', FLAG, CLI_SUB, verbose, NULL,               \
	  "print the topic before the payload")                                \
	X(NO_EOL, "no-eol", 'N', CLEAR, CLI_SUB, eol, NULL,                    \
	  "no newline after the payload")                                      \
	X(FORMAT, "format", 'F', STR, CLI_SUB, format, "FORMAT",               \
	  "mosquitto_sub's format: %t topic, %p payload, %l length,\n"         \
	  "%x/%X hex, %q qos, %r retained, %m message id, %I ISO\n"            \
	  "time, %U Unix time, %j JSON, %J JSON with the payload\n"            \
	  "as JSON, %A %C %D %E %F %P %R %S MQTT 5 properties (not\n"          \
	  "authenticated), %% percent; %-08.3t: flags, width,\n"               \
	  "precision; @H... strftime, @N ns, @@; \\n \\t \\e... escapes")      \
	X(JSON, "json", 0, FLAG, CLI_SUB, json, NULL,                          \
	  "one JSON object per accepted message")                              \
	X(PRETTY, "pretty", 0, FLAG, CLI_SUB, pretty, NULL,                    \
	  "JSON (--json, %j, %J) laid out on several lines")                   \
	X(RAW_OUTPUT, "raw-output", 0, FLAG, CLI_SUB, raw_output, NULL,        \
	  "topics and payloads byte for byte; by default \\ and\n"             \
	  "control, bidi and non-UTF-8 bytes are escaped\n"                    \
	  "(\\\\ \\n \\r \\t \\xHH \\u{HHHH}), one line per message")          \
	X(LINE_BUFFERED, "line-buffered", 0, FLAG, CLI_SUB, line_buffered,     \
	  NULL,                                                                \
	  "write each accepted message out at once (the default on\n"          \
	  "a terminal; otherwise stdout is written when no message\n"          \
	  "is waiting, whole messages only)")                                  \
	X(COUNT, "count", 'C', NUM(1, LONG_MAX), CLI_SUB, msg_count, "COUNT",  \
	  "exit after COUNT accepted messages")                                \
	X(TIMEOUT, "timeout", 'W', NUM(1, 86400L * 365), CLI_SUB, timeout,     \
	  "SECONDS", "exit with code 27 after SECONDS")                        \
	X(NO_STALE, "remove-retained-stale", 'R', FLAG, CLI_SUB,               \
	  no_stale_retained, NULL, "skip stale (retained) messages")           \
	X(FILTER_OUT, "filter-out", 'T', SPECIAL(K_NONE), CLI_SUB, filter_out, \
	  "FILTER", "ignore messages on topics matching FILTER (repeatable)")  \
	X(RETAINED_ONLY, "retained-only", 0, FLAG, CLI_SUB, retained_only,     \
	  NULL, "only retained messages; exit at the first live one")          \
	X(UNSUBSCRIBE, "unsubscribe", 'U', SPECIAL(K_NONE), CLI_SUB, unsub,    \
	  "FILTER",                                                            \
	  "unsubscribe from FILTER once connected (repeatable;\n"              \
	  "a persistent session's, -c)")                                       \
	X(REMOVE_RETAINED, "remove-retained", 0, FLAG, CLI_SUB,                \
	  remove_retained, NULL,                                               \
	  "clear every retained message received (not -T's)")                  \
	X(EXIT_SUBSCRIBED, "exit-subscribed", 'E', FLAG, CLI_SUB,              \
	  exit_subscribed, NULL, "exit once subscribed")                       \
	X(RANDOM_FILTER, "random-filter", 0, SPECIAL(K_NONE), CLI_SUB,         \
	  random_filter, "PERCENT",                                            \
	  "print only PERCENT (0.1 to 100) of the accepted\n"                  \
	  "messages, chosen at random (-C counts them all)")                   \
	H(CLI_PUB | CLI_SUB, "Payload security:")                              \
	X2(KEYRING, "keyring", 'K', STR, keyring_path, "FILE",                 \
	   "shared keys; seals with the primary key", "shared keys accepted")  \
	X(MODE, "mode", 0, SPECIAL(K_NONE), CLI_PUB, mode, "aead|mac",         \
	  "refuse to run unless the primary key has this suite")               \
	X(SIGN, "sign", 0, STR, CLI_PUB, sign_path, "FILE",                    \
	  "also sign with this Ed25519 secret key (alone:\n"                   \
	  "signature-only messages)")                                          \
	X(SIGN_PASS_FILE, "sign-pass-file", 0, STR, CLI_PUB, sign_pass_file,   \
	  "F",                                                                 \
	  "passphrase of the signing key (else E2E_SIGN_PASSPHRASE,\n"         \
	  "else asked on the terminal)")                                       \
	X(TRUST, "trust", 0, STR, CLI_SUB, trust_path, "FILE",                 \
	  "signers accepted and their topics")                                 \
	X(REQUIRE_SIGNATURE, "require-signature", 0, FLAG, CLI_SUB,            \
	  require_signature, NULL, "refuse unsigned messages")                 \
	X(REQUIRE_ENCRYPTION, "require-encryption", 0, FLAG, CLI_SUB,          \
	  require_encryption, NULL, "refuse mac (clear) messages")             \
	X(MAX_AGE, "max-age", 0, NUM(0, UINT32_MAX), CLI_SUB, max_age,         \
	  "SECONDS", "oldest message accepted (default 300, 0: no limit)")     \
	X(MAX_SKEW, "max-skew", 0, NUM(0, UINT32_MAX), CLI_SUB, max_skew,      \
	  "SECONDS", "clock skew allowed (default 30)")                        \
	X(MAX_RETAINED_AGE, "max-retained-age", 0, NUM(0, UINT32_MAX),         \
	  CLI_SUB, max_retained_age, "SECONDS",                                \
	  "oldest retained message accepted (default 0: no limit)")            \
	X(WINDOW, "window", 0, SPECIAL(K_NONE), CLI_SUB, window, "N",          \
	  "replay window per sender (multiple of 64)")                         \
	X(ACCEPT_NO_CLOCK, "accept-no-clock", 0, FLAG, CLI_SUB,                \
	  accept_no_clock, NULL,                                               \
	  "accept senders without a clock on first contact")                   \
	X2(STATE, "state", 0, SPECIAL(K_STR), state_path, "FILE",              \
	   "keep the sequence epoch across restarts (signed, without\n"        \
	   "it: in $XDG_STATE_HOME/libe2e)",                                   \
	   "keep the replay state across restarts; FILE may be\n"              \
	   "redis[s]://[USER@]HOST[:PORT]/PREFIX: the replay state\n"          \
	   "of a group ($share/GROUP/...) shared in Redis (rediss://:\n"       \
	   "TLS)")                                                             \
	X(STATE_PASSWORD_FILE, "state-password-file", 0, STR, CLI_SUB,         \
	  state_password_file, "FILE",                                         \
	  "password for --state redis://... (first line of FILE;\n"            \
	  "else E2E_STATE_PASSWORD)")                                          \
	X(STATE_CACERT, "state-cacert", 0, STR, CLI_SUB, state_cacert, "FILE", \
	  "--state rediss://: CA certificates (PEM) that sign\n"               \
	  "Redis's certificate (default: the system's)")                       \
	X(STATE_CACERTDIR, "state-cacertdir", 0, STR, CLI_SUB,                 \
	  state_cacertdir, "DIR",                                              \
	  "--state rediss://: a directory of hashed CA\n"                      \
	  "certificates (c_rehash)")                                           \
	X(STATE_CERT, "state-cert", 0, STR, CLI_SUB, state_cert, "FILE",       \
	  "--state rediss://: client certificate (PEM), for a\n"               \
	  "Redis with tls-auth-clients")                                       \
	X(STATE_KEY, "state-key", 0, STR, CLI_SUB, state_key, "FILE",          \
	  "--state rediss://: the client certificate's key\n"                  \
	  "(PEM, a file only its owner may read)")                             \
	X(STATE_SNI, "state-sni", 0, STR, CLI_SUB, state_sni, "NAME",          \
	  "--state rediss://: the name Redis's certificate must\n"             \
	  "hold (sent as SNI; default: the URL's host)")                       \
	H(CLI_PUB | CLI_SUB,                                                   \
	  "Last will (sealed, docs/ENVELOPE.md section 10):")                  \
	X(WILL_TOPIC, "will-topic", 0, STR, CLI_PUB | CLI_SUB, will_topic,     \
	  "TOPIC",                                                             \
	  "the broker publishes the Will there if the connection\n"            \
	  "ends without a disconnect (needs -K; e2e-pub: or --sign)")          \
	X(WILL_PAYLOAD, "will-payload", 0, SECRET, CLI_PUB | CLI_SUB,          \
	  will_payload, "MSG",                                                 \
	  "the Will's message, sealed (wiped from the command\n"               \
	  "line at start; default: empty)")                                    \
	X(WILL_QOS, "will-qos", 0, NUM(0, 2), CLI_PUB | CLI_SUB, will_qos,     \
	  "QOS", "the Will's QoS (default 0)")                                 \
	X(WILL_RETAIN, "will-retain", 0, FLAG, CLI_PUB | CLI_SUB, will_retain, \
	  NULL, "the Will is retained (sealed with retained intent)")          \
	H(CLI_PUB | CLI_SUB, "Key updates (docs/KEYDIST.md):")                 \
	X(MEMBER_KEY, "member-key", 0, STR, CLI_PUB | CLI_SUB,                 \
	  member_key_path, "FILE",                                             \
	  "this member's key pair: apply the admin's key updates\n"            \
	  "to the keyring (-K), rewriting it")                                 \
	X(MEMBER_PASS_FILE, "member-pass-file", 0, STR, CLI_PUB | CLI_SUB,     \
	  member_pass_file, "F", "passphrase of the member key")               \
	X(ADMIN_KEY, "admin-key", 0, STR, CLI_PUB | CLI_SUB, admin_key_path,   \
	  "FILE", "the admin's signer public key")                             \
	X(GROUP, "group", 0, STR, CLI_PUB | CLI_SUB, group, "NAME",            \
	  "the group the updates are for")                                     \
	X(UPDATE_TOPIC, "update-topic", 0, STR, CLI_PUB | CLI_SUB,             \
	  update_topic, "TOPIC",                                               \
	  "where they come (default e2e/keys/GROUP/MEMBER-ID; the\n"           \
	  "group topic e2e/keys/GROUP for the per-group layout)")              \
	H(CLI_PUB | CLI_SUB, "Broker:")                                        \
	X(HOST, "host", 'h', STR, CLI_PUB | CLI_SUB, broker.host, "HOST",      \
	  "broker host (default localhost)")                                   \
	X(PORT, "port", 'p', NUM(1, 65535), CLI_PUB | CLI_SUB, broker.port,    \
	  "PORT", "broker port (default 1883, 8883 with TLS)")                 \
	X(URL, "url", 'L', SPECIAL(K_NONE), CLI_PUB | CLI_SUB, tool, "URL",    \
	  "mqtt(s)://[USER[:PASSWORD]@]HOST[:PORT]/TOPIC (the\n"               \
	  "password is wiped from the command line at start)")                 \
	X(ID, "id", 'i', STR, CLI_PUB | CLI_SUB, broker.id, "ID",              \
	  "client id (default: PROG-PID-RANDOM)")                              \
	X(ID_PREFIX, "id-prefix", 'I', STR, CLI_PUB | CLI_SUB, id_prefix,      \
	  "PREFIX", "client id prefix (the PID is appended)")                  \
	X(KEEPALIVE, "keepalive", 'k', NUM(5, 65535), CLI_PUB | CLI_SUB,       \
	  broker.keepalive, "SECONDS", "keepalive (default 60)")               \
	X(SESSION_EXPIRY, "session-expiry", 'x', SPECIAL(K_NONE),              \
	  CLI_PUB | CLI_SUB, broker.session_expiry, "SECONDS",                 \
	  "MQTT 5 session expiry (-1: never; default 0, -1 with -c)")          \
	X(PERSISTENT, "disable-clean-session", 'c', CLEAR, CLI_PUB | CLI_SUB,  \
	  broker.clean_session, NULL,                                          \
	  "persistent session (clean session off; needs -i)")                  \
	X(PROTOCOL_VERSION, "protocol-version", 'V', SPECIAL(K_NONE),          \
	  CLI_PUB | CLI_SUB, broker.mqtt_version, "VERSION",                   \
	  "mqttv31, mqttv311 (default) or mqttv5")                             \
	X(USERNAME, "username", 'u', STR, CLI_PUB | CLI_SUB, broker.username,  \
	  "USER", "username")                                                  \
	X(PW, "pw", 'P', SECRET, CLI_PUB | CLI_SUB, broker.password,           \
	  "PASSWORD",                                                          \
	  "password (visible to other local users: prefer\n"                   \
	  "--pw-file or E2E_MQTT_PASSWORD)")                                   \
	X(PW_FILE, "pw-file", 0, SPECIAL(K_NONE), CLI_PUB | CLI_SUB,           \
	  broker.password, "FILE",                                             \
	  "read the password from the first line of FILE")                     \
	X(CAFILE, "cafile", 0, STR, CLI_PUB | CLI_SUB, broker.cafile, "FILE",  \
	  "trust the CA certificates in FILE (enables TLS)")                   \
	X(CAPATH, "capath", 0, STR, CLI_PUB | CLI_SUB, broker.capath, "DIR",   \
	  "trust the CA certificates in DIR (enables TLS)")                    \
	X(CERT, "cert", 0, STR, CLI_PUB | CLI_SUB, broker.certfile, "FILE",    \
	  "client certificate (with --key)")                                   \
	X(KEY, "key", 0, STR, CLI_PUB | CLI_SUB, broker.keyfile, "FILE",       \
	  "client private key")                                                \
	X(INSECURE, "insecure", 0, FLAG, CLI_PUB | CLI_SUB, broker.insecure,   \
	  NULL,                                                                \
	  "do not check the server's hostname against its\n"                   \
	  "certificate (the chain is still verified)")                         \
	X(TLS_VERSION, "tls-version", 0, SPECIAL(K_NONE), CLI_PUB | CLI_SUB,   \
	  broker.tls_version, "V",                                             \
	  "lowest TLS version: tlsv1.2, tlsv1.1 or tlsv1\n"                    \
	  "(default and tlsv1.3: the highest both ends support)")              \
	X(CIPHERS, "ciphers", 0, STR, CLI_PUB | CLI_SUB, broker.ciphers,       \
	  "LIST", "OpenSSL cipher list (TLS 1.2 and below)")                   \
	X(TLS_ALPN, "tls-alpn", 0, STR, CLI_PUB | CLI_SUB, broker.alpn,        \
	  "PROTOCOL", "ALPN protocol name to offer")                           \
	X(TLS_USE_OS_CERTS, "tls-use-os-certs", 0, FLAG, CLI_PUB | CLI_SUB,    \
	  broker.os_certs, NULL, "trust the system's CAs (enables TLS)")       \
	X(PSK, "psk", 0, SPECIAL(K_SECRET), CLI_PUB | CLI_SUB, broker.psk,     \
	  "HEX",                                                               \
	  "TLS-PSK: the pre-shared key in hex (enables TLS; wiped\n"           \
	  "from the command line at start)")                                   \
	X(PSK_IDENTITY, "psk-identity", 0, STR, CLI_PUB | CLI_SUB,             \
	  broker.psk_identity, "ID", "the identity of the --psk key")          \
	X(PROPERTY, "property", 'D', SPECIAL(K_NONE), CLI_PUB | CLI_SUB,       \
	  broker.props, "CMD NAME VALUE",                                      \
	  "an MQTT 5 property of packet CMD (connect, publish,\n"              \
	  "subscribe, unsubscribe, disconnect, will), by mosquitto's\n"        \
	  "names (user-property: KEY VALUE); turns on MQTT 5; never\n"         \
	  "encrypted or authenticated (the broker may change it)")             \
	X(QOS, "qos", 'q', NUM(0, 2), CLI_PUB | CLI_SUB, qos, "QOS",           \
	  "0, 1 or 2 (default 0)")                                             \
	X(DEBUG, "debug", 'd', FLAG, CLI_PUB | CLI_SUB, debug, NULL,           \
	  "debug messages on stderr")                                          \
	X(QUIET, "quiet", 0, FLAG, CLI_PUB | CLI_SUB, broker.quiet, NULL,      \
	  "no connection error messages")                                      \
	X(HELP, "help", 0, SPECIAL(K_NONE), CLI_PUB | CLI_SUB, tool, NULL,     \
	  "this text (exit status 1, as mosquitto's)")                         \
	X(PRINT_VERSION, "version", 0, SPECIAL(K_NONE), CLI_PUB | CLI_SUB,     \
	  tool, NULL, "the version (exit status 1, as mosquitto's)")           \
	CLI_REFUSED(X)

/*
 * mosquitto_pub's and mosquitto_sub's options these tools do not take
 * (docs/PARITY.md): each is refused with its reason, one line, exit 1,
 * and listed with it in --help.
 */
#define CLI_REFUSED(X)                                                         \
	H(CLI_PUB | CLI_SUB,                                                   \
	  "mosquitto's options refused (exit 1, one line why):")               \
	X(BIND, "bind-address", 'A', REFUSED, CLI_PUB | CLI_SUB, tool, "ADDR", \
	  "Paho MQTT C cannot bind its socket to an address")                  \
	X(UNIX, "unix", 0, REFUSED, CLI_PUB | CLI_SUB, tool, "PATH",           \
	  "Paho MQTT C 1.3 cannot connect through a Unix socket")              \
	X(NODELAY, "nodelay", 0, REFUSED, CLI_PUB | CLI_SUB, tool, NULL,       \
	  "Paho MQTT C has no switch for Nagle's algorithm")                   \
	X(PROXY, "proxy", 0, REFUSED, CLI_PUB | CLI_SUB, tool, "URL",          \
	  "Paho MQTT C has HTTP proxies only, no SOCKS5")                      \
	X(TLS_ENGINE, "tls-engine", 0, REFUSED, CLI_PUB | CLI_SUB, tool,       \
	  "ENGINE", "Paho MQTT C cannot use OpenSSL engines")                  \
	X(KEYFORM, "keyform", 0, REFUSED, CLI_PUB | CLI_SUB, tool, "FORM",     \
	  "Paho MQTT C cannot use OpenSSL engines")                            \
	X(TLS_ENGINE_KPASS, "tls-engine-kpass-sha1", 0, REFUSED,               \
	  CLI_PUB | CLI_SUB, tool, "SHA1",                                     \
	  "Paho MQTT C cannot use OpenSSL engines")

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

	if (rc == CLI_PASS_OK && cfg->tool == CLI_SUB) {
		rc = cli_secret_getenv("E2E_STATE_PASSWORD",
				       &cfg->env_state_password, &len);
		if (rc != CLI_PASS_OK)
			cli_err("E2E_STATE_PASSWORD: password %s",
				cli_pass_strerror(rc));
	} else if (rc == CLI_PASS_OK && cfg->tool == CLI_PUB) {
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

enum cli_opt_id {
#define X(id, ...) OPT_##id,
#define H(...)
	CLI_OPTIONS(X, X, H)
#undef X
#undef H
		OPT__END
};

enum opt_kind { K_NONE, K_FLAG, K_CLEAR, K_STR, K_SECRET, K_NUM, K_REFUSED };

struct opt {
	const char *name;    /* long name; NULL: a heading */
	int letter;          /* short option, 0: none */
	enum opt_kind kind;  /* what the generic part stores */
	int special;         /* special_option() first */
	long lo, hi;         /* K_NUM */
	unsigned tools;      /* CLI_PUB | CLI_SUB */
	size_t offset, size; /* the field in struct cli_config */
	const char *arg;
	const char *help, *sub_help; /* sub_help: e2e-sub's, if its own */
	int id;                      /* enum cli_opt_id, -1: a heading */
};

#define FLAG .kind = K_FLAG
#define CLEAR .kind = K_CLEAR
#define STR .kind = K_STR
#define SECRET .kind = K_SECRET
#define NUM(l, h) .kind = K_NUM, .lo = (l), .hi = (h)
#define SPECIAL(k) .kind = k, .special = 1
#define REFUSED .kind = K_REFUSED
#define FIELD(f)                                  \
	.offset = offsetof(struct cli_config, f), \
	.size = sizeof(((struct cli_config *)0)->f)
/* The kind last: NUM(lo, hi) expands to several designators. */
#define ROW(i, n, c, t, f, a, h, sh, ...) \
	{.name = n,                       \
	 .letter = c,                     \
	 .tools = t,                      \
	 FIELD(f),                        \
	 .arg = a,                        \
	 .help = h,                       \
	 .sub_help = sh,                  \
	 .id = OPT_##i,                   \
	 __VA_ARGS__},
#define X(i, n, c, k, t, f, a, h) ROW(i, n, c, t, f, a, h, NULL, k)
#define X2(i, n, c, k, f, a, h, sh) \
	ROW(i, n, c, CLI_PUB | CLI_SUB, f, a, h, sh, k)
#define H(t, h) {.tools = t, .help = h, .id = -1},
static const struct opt table[] = {CLI_OPTIONS(X, X2, H)};
#undef ROW
#undef X
#undef X2
#undef H
#undef FLAG
#undef CLEAR
#undef STR
#undef SECRET
#undef NUM
#undef SPECIAL
#undef REFUSED
#undef FIELD

#define TABLE_LEN (sizeof table / sizeof table[0])

/* getopt_long's view of the table: long options (val: 256 + the row) and
 * the short string, made once. */
static struct option long_options[TABLE_LEN + 1];
static char short_options[2 * TABLE_LEN + 2];

static void make_getopt_tables(void)
{
	size_t n = 0, s = 0;

	if (long_options[0].name)
		return;
	for (size_t i = 0; i < TABLE_LEN; i++) {
		const struct opt *o = &table[i];
		int has_arg = o->arg ? required_argument : no_argument;

		if (!o->name)
			continue;
		long_options[n++] =
			(struct option){o->name, has_arg, NULL, 256 + (int)i};
		if (o->letter) {
			short_options[s++] = (char)o->letter;
			if (has_arg)
				short_options[s++] = ':';
		}
	}
}

/* The row of what getopt_long returned, or NULL. */
static const struct opt *find_option(int val)
{
	if (val >= 256 && val < 256 + (int)TABLE_LEN)
		return &table[val - 256];
	for (size_t i = 0; i < TABLE_LEN; i++)
		if (table[i].name && table[i].letter == val)
			return &table[i];
	return NULL;
}

static void *field_of(struct cli_config *cfg, const struct opt *o)
{
	return (char *)cfg + o->offset;
}

/* --help: the tool's own part, the options it takes (the table, in order,
 * with its headings), the exit status. */
static void usage(enum cli_tool tool, const struct cli_help *help)
{
	fputs(help->intro, stdout);
	for (size_t i = 0; i < TABLE_LEN; i++) {
		const struct opt *o = &table[i];
		const char *h =
			tool == CLI_SUB && o->sub_help ? o->sub_help : o->help;
		char names[64];
		int w;

		if (!(o->tools & tool))
			continue;
		if (!o->name) {
			printf("%s\n", h);
			continue;
		}
		if (o->letter)
			w = snprintf(names, sizeof names, "-%c, --%s%s%s",
				     o->letter, o->name, o->arg ? " " : "",
				     o->arg ? o->arg : "");
		else
			w = snprintf(names, sizeof names, "--%s%s%s", o->name,
				     o->arg ? " " : "", o->arg ? o->arg : "");
		/* The help column starts 21 characters in, at least two spaces
		 * after the names (so that a reader can tell them apart). */
		if (w > 17)
			printf("  %s\n%21s", names, "");
		else
			printf("  %-19s", names);
		for (; *h; h++) {
			putchar(*h);
			if (*h == '\n')
				printf("%21s", "");
		}
		putchar('\n');
	}
	fputs(help->outro, stdout);
}

/* A NUM option: 0, or -1 after reporting. name: the option as given. */
static int store_number(struct cli_config *cfg, const struct opt *o,
			const char *name, const char *arg)
{
	long v;

	if (parse_long(arg, o->lo, o->hi, &v)) {
		cli_err("invalid %s '%s': a whole number from %ld to %ld", name,
			arg, o->lo, o->hi);
		return -1;
	}
	if (o->size == sizeof(int))
		*(int *)field_of(cfg, o) = (int)v;
	else
		*(long *)field_of(cfg, o) = v;
	return 0;
}

/* What the kind says, once special_option() let it through. */
static int store(struct cli_config *cfg, const struct opt *o, const char *name,
		 char *arg)
{
	char **s = field_of(cfg, o);

	switch (o->kind) {
	case K_FLAG:
	case K_CLEAR:
		*(int *)field_of(cfg, o) = o->kind == K_FLAG;
		return 0;
	case K_STR:
		return set_string(s, arg);
	case K_SECRET:
		cli_secret_free(*s);
		*s = take_secret(arg);
		return *s ? 0 : -1;
	case K_NUM:
		return store_number(cfg, o, name, arg);
	default:
		return 0;
	}
}

/* Append a copy of arg to a list of strings (-t, -T). */
static int add_string(char ***list, int *count, const char *arg)
{
	char **t = realloc(*list, (size_t)(*count + 1) * sizeof *t);

	if (!t)
		return -1;
	*list = t;
	if (!(t[*count] = strdup(arg)))
		return -1;
	(*count)++;
	return 0;
}

static void free_strings(char ***list, int *count)
{
	for (int i = 0; i < *count; i++)
		free((*list)[i]);
	free(*list);
	*list = NULL;
	*count = 0;
}

/* -L's host[:port] part, at most n bytes of s. */
static int url_host(struct cli_config *cfg, const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	char port[8];
	long v;

	if (colon) {
		size_t pl = n - (size_t)(colon - s) - 1;

		if (pl == 0 || pl >= sizeof port)
			return -1;
		memcpy(port, colon + 1, pl);
		port[pl] = '\0';
		if (parse_long(port, 1, 65535, &v))
			return -1;
		cfg->broker.port = (int)v;
		n = (size_t)(colon - s);
	}
	if (n == 0)
		return -1;
	free(cfg->broker.host);
	cfg->broker.host = strndup(s, n);
	return cfg->broker.host ? 0 : -1;
}

/* -L's user[:password] part; the password is taken as a secret and wiped
 * from argv. */
static int url_user(struct cli_config *cfg, char *s, size_t n)
{
	char *colon = memchr(s, ':', n);
	size_t ul = colon ? (size_t)(colon - s) : n;

	free(cfg->broker.username);
	if (!(cfg->broker.username = strndup(s, ul)))
		return -1;
	if (!colon)
		return 0;
	cli_secret_free(cfg->broker.password);
	cfg->broker.password = cli_secret_dup(colon + 1, n - ul - 1);
	if (!cfg->broker.password)
		return -1;
	sodium_memzero(colon + 1, n - ul - 1);
	return 0;
}

/* -L mqtt(s)://[user[:password]@]host[:port]/topic, as mosquitto's. */
static int parse_url(struct cli_config *cfg, char *url)
{
	char *p, *slash, *at;
	int tls = !strncmp(url, "mqtts://", 8);

	if (strncmp(url, "mqtt://", 7) && !tls) {
		cli_err("-L: unsupported URL scheme (mqtt:// or mqtts://)");
		return -1;
	}
	p = url + (tls ? 8 : 7);
	slash = strchr(p, '/');
	if (!slash || !slash[1]) {
		cli_err("-L: invalid URL, the topic is missing");
		return -1;
	}
	at = memrchr(p, '@', (size_t)(slash - p));
	if ((at && url_user(cfg, p, (size_t)(at - p))) ||
	    url_host(cfg, at ? at + 1 : p,
		     (size_t)(slash - (at ? at + 1 : p)))) {
		if (errno != ENOMEM)
			cli_err("-L: invalid host or port in the URL");
		return -1;
	}
	/* mqtts:// with no CA given trusts the system's (mosquitto's port
	 * 8883 comes with TLS on). */
	if (tls && !cfg->broker.cafile && !cfg->broker.capath)
		cfg->broker.os_certs = 1;
	return add_string(&cfg->topics, &cfg->topic_count, slash + 1);
}

/* A decimal number in [lo, hi], times scale and rounded, in *out: 0, or
 * -1 (not reported). */
static int parse_scaled(const char *arg, double lo, double hi, double scale,
			long *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= lo && v <= hi))
		return -1;
	*out = (long)(v * scale + 0.5);
	return 0;
}

/* --repeat-delay: seconds, decimals allowed (as mosquitto's), to ms. */
static int parse_delay(struct cli_config *cfg, const char *arg)
{
	if (parse_scaled(arg, 0, 86400, 1000, &cfg->repeat_delay_ms)) {
		cli_err("invalid --repeat-delay '%s': seconds from 0 to 86400",
			arg);
		return -1;
	}
	return 0;
}

/* --random-filter: a percentage from 0.1 to 100 (mosquitto_sub's
 * range), kept as parts per million. */
static int parse_random_filter(struct cli_config *cfg, const char *arg)
{
	if (parse_scaled(arg, 0.1, 100, 10000, &cfg->random_filter)) {
		cli_err("invalid --random-filter '%s': a chance in percent "
			"from 0.1 to 100.0",
			arg);
		return -1;
	}
	return 0;
}

/* -x: seconds, or -1 / 4294967295 / ∞ for never (mosquitto's words). */
static int parse_session_expiry(struct cli_config *cfg, const char *arg)
{
	long v;

	if (!strcmp(arg, "-1") || !strcmp(arg, "\u221e"))
		v = UINT32_MAX;
	else if (parse_long(arg, 0, UINT32_MAX, &v)) {
		cli_err("invalid -x '%s': seconds from 0 to 4294967295, or -1 "
			"for never",
			arg);
		return -1;
	}
	cfg->broker.session_expiry = v;
	return 0;
}

static int read_password_file(struct cli_config *cfg, const char *path)
{
	size_t len;
	int rc;

	cli_secret_free(cfg->broker.password);
	rc = cli_pass_read_file(path, &cfg->broker.password, &len);
	if (rc == CLI_PASS_TOO_LONG)
		cli_file_msg(NULL, path, 1, "password %s",
			     cli_pass_strerror(rc));
	else if (rc != CLI_PASS_OK)
		cli_err("cannot read password file %s: %s", path,
			cli_pass_strerror(rc));
	return rc == CLI_PASS_OK ? 0 : -1;
}

/* The argv parse_args() is reading, for -D, whose words follow its
 * argument (mosquitto's syntax). In an option file a line holds one
 * argument: -D there has no words after it (as in mosquitto's). */
static struct {
	int argc;
	char **argv;
} parsing;

/* -D COMMAND NAME VALUE: the words after COMMAND taken from argv. */
static int parse_property(struct cli_config *cfg, const char *cmd)
{
	int n = cli_props_parse(&cfg->broker.props, cmd, parsing.argv + optind,
				parsing.argc - optind);

	if (n < 0)
		return -1;
	optind += n;
	cfg->broker.mqtt_version = CLI_MQTT_V5; /* as mosquitto's -D */
	return 0;
}

/* The rows marked SPECIAL, before their kind's generic part: 0 to go on,
 * -1 after reporting a usage error. */
static int special_option(struct cli_config *cfg, const struct opt *o,
			  char *arg)
{
	e2e_suite suite;
	long v;

	switch (o->id) {
	case OPT_TOPIC:
		return add_string(&cfg->topics, &cfg->topic_count, arg);
	case OPT_FILTER_OUT:
		if (e2e_filter_check(arg) != E2E_OK) {
			cli_err("invalid topic filter: %s", arg);
			return -1;
		}
		return add_string(&cfg->filter_out, &cfg->filter_out_count,
				  arg);
	case OPT_UNSUBSCRIBE:
		if (e2e_filter_check(arg) != E2E_OK) {
			cli_err("invalid topic filter: %s", arg);
			return -1;
		}
		return add_string(&cfg->unsub, &cfg->unsub_count, arg);
	case OPT_SESSION_EXPIRY:
		return parse_session_expiry(cfg, arg);
	case OPT_URL:
		return parse_url(cfg, arg);
	case OPT_REPEAT_DELAY:
		return parse_delay(cfg, arg);
	case OPT_RANDOM_FILTER:
		return parse_random_filter(cfg, arg);
	case OPT_PROPERTY:
		return parse_property(cfg, arg);
	case OPT_PSK:
		if (cli_psk_check(arg) == 0)
			return 0;
		sodium_memzero(arg, strlen(arg));
		cli_err("invalid --psk: the key in hexadecimal digits (at most "
			"%d)",
			CLI_PSK_MAX_HEX);
		return -1;
	case OPT_MESSAGE:
		return set_source(cfg, CLI_SRC_ARG);
	case OPT_FILE:
		return set_source(cfg, CLI_SRC_FILE);
	case OPT_STDIN_FILE:
		return set_source(cfg, CLI_SRC_STDIN);
	case OPT_STDIN_LINE:
		return set_source(cfg, CLI_SRC_LINES);
	case OPT_NULL_MESSAGE:
		return set_source(cfg, CLI_SRC_NULL);
	case OPT_PW_FILE:
		return read_password_file(cfg, arg);
	case OPT_PROTOCOL_VERSION:
		if (parse_version(arg, &cfg->broker.mqtt_version) == 0)
			return 0;
		cli_err("unknown protocol version '%s' (mqttv31, mqttv311 or "
			"mqttv5)",
			arg);
		return -1;
	case OPT_TLS_VERSION:
		if (parse_tls_version(arg, &cfg->broker.tls_version) == 0)
			return 0;
		cli_err("unknown TLS version '%s' (tlsv1.3, tlsv1.2, tlsv1.1 "
			"or tlsv1)",
			arg);
		return -1;
	case OPT_MODE:
		if (e2e_suite_parse(arg, &suite) != E2E_OK ||
		    suite == E2E_SUITE_NONE) {
			cli_err("--mode must be aead or mac, not '%s'", arg);
			return -1;
		}
		cfg->mode = (int)suite;
		return 0;
	case OPT_STATE:
		if (cfg->tool != CLI_SUB || !cli_state_url_has_password(arg))
			return 0;
		cli_state_url_wipe_password(arg);
		cli_err("--state: a password in the URL is visible to every "
			"local user (ps); give it in --state-password-file "
			"FILE "
			"or E2E_STATE_PASSWORD, and the URL as "
			"redis://[USER@]HOST[:PORT]/PREFIX");
		return -1;
	case OPT_WINDOW:
		if (parse_long(arg, 64, 1L << 20, &v) || v % 64) {
			cli_err("--window must be a multiple of 64");
			return -1;
		}
		cfg->window = v;
		return 0;
	default:
		return 0;
	}
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
	/* -r -n sends an unsealed empty payload (MQTT's way to clear a
	 * retained message): no key is needed for it. */
	if (!cfg->keyring_path && !cfg->sign_path &&
	    !(cfg->source == CLI_SRC_NULL && cfg->retain)) {
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
	if (cfg->state_password_file && !cli_state_is_url(cfg->state_path)) {
		cli_err("--state-password-file goes with --state "
			"redis://...");
		return -1;
	}
	if (cli_state_tls_check(cfg))
		return -1;
	if (cfg->json && cfg->format) {
		cli_err("--json and -F exclude each other");
		return -1;
	}
	if (cfg->format && cli_format_check(cfg->format))
		return -1;
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

/* Key updates: --member-key needs the admin key, the group and -K. */
static int check_member(const struct cli_config *cfg)
{
	if (!cfg->member_key_path) {
		if (cfg->admin_key_path || cfg->group || cfg->update_topic ||
		    cfg->member_pass_file) {
			cli_err("--admin-key, --group, --update-topic and "
				"--member-pass-file need --member-key");
			return -1;
		}
		return 0;
	}
	if (!cfg->admin_key_path || !cfg->group || !cfg->keyring_path) {
		cli_err("--member-key needs --admin-key, --group and a "
			"keyring (-K) to keep the keys in");
		return -1;
	}
	return 0;
}

/* --will-*: mosquitto's rules, and a key to seal the Will with. */
static int check_will(const struct cli_config *cfg)
{
	if (!cfg->will_topic) {
		if (cfg->will_payload || cfg->will_retain || cfg->will_qos) {
			cli_err("--will-payload, --will-qos and --will-retain "
				"need --will-topic");
			return -1;
		}
		return 0;
	}
	if (!*cfg->will_topic || strpbrk(cfg->will_topic, "+#")) {
		cli_err("invalid will topic '%s', does it contain '+' or '#'?",
			cfg->will_topic);
		return -1;
	}
	if (!cfg->keyring_path && !(cfg->tool == CLI_PUB && cfg->sign_path)) {
		cli_err("--will-topic needs a keyring (-K)%s: the Will is "
			"sealed",
			cfg->tool == CLI_PUB ? " or a signing key (--sign)"
					     : "");
		return -1;
	}
	return 0;
}

/* -D needs MQTT 5 (a later -V may have changed it); the session expiry
 * goes once in CONNECT: from -D, or from -x / -c (as mosquitto's). */
static int check_props(const struct cli_config *cfg)
{
	const struct cli_conn_settings *b = &cfg->broker;

	if (!b->props)
		return 0;
	if (b->mqtt_version != CLI_MQTT_V5) {
		cli_err("-D: MQTT 5 properties need -V mqttv5");
		return -1;
	}
	if (cli_props_has(b->props, CLI_PKT_CONNECT, 17) &&
	    (!b->clean_session || b->session_expiry > 0)) {
		cli_err("duplicate property in property list: "
			"session-expiry-interval for connect, and -x or -c");
		return -1;
	}
	return 0;
}

/* --psk, as mosquitto's: with its identity, without a CA (the key is what
 * authenticates the server). */
static int check_psk(const struct cli_config *cfg)
{
	const struct cli_conn_settings *b = &cfg->broker;

	if (!b->psk) {
		if (b->psk_identity) {
			cli_err("--psk-identity goes with --psk");
			return -1;
		}
		return 0;
	}
	if (!b->psk_identity) {
		cli_err("--psk-identity required if --psk used");
		return -1;
	}
	if (b->cafile || b->capath || b->os_certs) {
		cli_err("only one of --psk or --cafile/--capath/"
			"--tls-use-os-certs may be used at once");
		return -1;
	}
	return 0;
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
	if (check_psk(cfg))
		return -1;
	if (check_props(cfg))
		return -1;
	if (check_member(cfg) || check_will(cfg))
		return -1;
	if (fill_defaults(cfg))
		return -1;
	if (cfg->broker.password && !cfg->broker.username) {
		cli_err("a password needs a username (-u)");
		return -1;
	}
	return 0;
}

/* getopt_long's complaint: an unknown option or a missing argument. */
static void report_getopt_error(char **argv)
{
	if (optopt && optopt < 256)
		cli_err("unknown option or missing argument: -%c (see --help)",
			optopt);
	else
		cli_err("unknown option or missing argument: %s (see --help)",
			argv[optind - 1]);
}

/* One option from getopt_long: 0, 1 after --help, or -1 (reported). */
static int apply_option(struct cli_config *cfg, const struct cli_help *help,
			int val, int longindex, char **argv)
{
	const struct opt *o = find_option(val);
	char name[64];

	if (val == '?' || val == ':' || !o) {
		report_getopt_error(argv);
		return -1;
	}
	if (longindex >= 0 &&
	    cli_long_option_check(cfg->prog, long_options, argv, longindex))
		return -1;
	if (o->id == OPT_HELP) {
		usage(cfg->tool, help);
		return 1;
	}
	if (o->id == OPT_PRINT_VERSION) {
		printf("%s version %s.\n", cfg->prog, PACKAGE_VERSION);
		return 1;
	}
	/* Named as given, not by its argument. */
	if (longindex >= 0)
		snprintf(name, sizeof name, "--%s", o->name);
	else
		snprintf(name, sizeof name, "-%c", o->letter);
	if (!(o->tools & cfg->tool)) {
		cli_err("option %s is not for %s (see --help)", name,
			cfg->prog);
		return -1;
	}
	if (o->kind == K_REFUSED) {
		cli_err("%s is not supported: %s", name, o->help);
		return -1;
	}
	errno = 0;
	if ((o->special && special_option(cfg, o, optarg)) ||
	    store(cfg, o, name, optarg)) {
		if (errno == ENOMEM)
			cli_err("out of memory");
		return -1;
	}
	return 0;
}

static void set_defaults(struct cli_config *cfg, enum cli_tool tool)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->tool = tool;
	cfg->prog = tool == CLI_PUB ? "e2e-pub" : "e2e-sub";
	cfg->broker.keepalive = 60;
	cfg->broker.clean_session = 1;
	cfg->broker.mqtt_version = CLI_MQTT_V311;
	cfg->broker.tls_version = CLI_TLS_DEFAULT;
	cfg->eol = 1;
	cfg->mode = -1;
	cfg->max_age = -1;
	cfg->max_skew = -1;
	cfg->broker.session_expiry = -1;
	cfg->repeat = 1;
}

/* Every option of argv: 0, or -1 (reported; after --help too). from:
 * the option file they come from, or NULL. */
static int parse_args(struct cli_config *cfg, const struct cli_help *help,
		      int argc, char **argv, const char *from)
{
	int val, longindex;

	optind = 0; /* glibc: start afresh, also on a second argv */
	parsing.argc = from ? 0 : argc;
	parsing.argv = argv;
	while ((longindex = -1, val = getopt_long(argc, argv, short_options,
						  long_options, &longindex)) !=
	       -1) {
		if (apply_option(cfg, help, val, longindex, argv)) {
			if (from)
				cli_err("(in the option file %s)", from);
			return -1;
		}
	}
	if (optind < argc) {
		cli_err("unexpected argument '%s'%s%s (see --help)",
			argv[optind], from ? " in " : "", from ? from : "");
		return -1;
	}
	return 0;
}

int cli_parse(struct cli_config *cfg, enum cli_tool tool,
	      const struct cli_help *help, int argc, char **argv)
{
	struct cli_optfile file;
	int rc;

	set_defaults(cfg, tool);
	cli_report_init(cfg->prog);
	make_getopt_tables();
	opterr = 0;
	/* The default option file first, as mosquitto's, then argv. */
	if (cli_optfile_read(cfg->prog, tool == CLI_PUB ? "e2e_pub" : "e2e_sub",
			     &file))
		return CLI_EXIT_ERROR;
	rc = file.argc > 1
		     ? parse_args(cfg, help, file.argc, file.argv, file.path)
		     : 0;
	cli_optfile_free(&file);
	/* --help exits 1, as mosquitto's. */
	if (rc || parse_args(cfg, help, argc, argv, NULL))
		return CLI_EXIT_ERROR;
	cli_report_debug(cfg->debug);
	if (take_environment(cfg) || check_config(cfg))
		return CLI_EXIT_ERROR;
	return -1;
}

void cli_config_free(struct cli_config *cfg)
{
	for (size_t i = 0; i < TABLE_LEN; i++) {
		char **s = field_of(cfg, &table[i]);

		if (!table[i].name)
			continue;
		if (table[i].kind == K_STR)
			free(*s);
		else if (table[i].kind == K_SECRET)
			cli_secret_free(*s);
		else
			continue;
		*s = NULL;
	}
	cli_secret_free(cfg->env_password);
	cli_secret_free(cfg->env_sign_pass);
	cli_secret_free(cfg->env_state_password);
	cfg->env_password = cfg->env_sign_pass = NULL;
	cfg->env_state_password = NULL;
	free_strings(&cfg->topics, &cfg->topic_count);
	free_strings(&cfg->filter_out, &cfg->filter_out_count);
	free_strings(&cfg->unsub, &cfg->unsub_count);
	cli_props_free(cfg->broker.props);
	cfg->broker.props = NULL;
}
