/*
 * The options of e2e-pub and e2e-sub: mosquitto's flags with their
 * meanings, plus ours, parsed into one configuration.
 */
#ifndef E2E_CLI_OPTIONS_H
#define E2E_CLI_OPTIONS_H

#include <stddef.h>

#include "conn.h"

/* Exit codes (mosquitto's, plus ours documented in the man pages). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1    /* usage, connection, key or state error */
#define CLI_EXIT_TIMEOUT 27 /* e2e-sub -W elapsed */

enum cli_tool { CLI_PUB = 1, CLI_SUB = 2 };

/* Where e2e-pub takes its message from. */
enum cli_pub_source {
	CLI_SRC_NONE,
	CLI_SRC_ARG,   /* -m */
	CLI_SRC_FILE,  /* -f */
	CLI_SRC_STDIN, /* -s: all of stdin, one message */
	CLI_SRC_LINES, /* -l: one message per line */
	CLI_SRC_NULL   /* -n: an empty message */
};

struct cli_config {
	enum cli_tool tool;
	const char *prog;

	/* Broker connection and TLS (conn.h). */
	struct cli_conn_settings broker;
	char *id_prefix;
	char *env_password; /* E2E_MQTT_PASSWORD, taken out of environ */
	int debug;

	/* Topics and QoS. */
	char **topics;
	int topic_count;
	int qos;

	/* e2e-pub. */
	enum cli_pub_source source;
	char *message; /* -m: a secret string, wiped from argv */
	char *file;
	int retain;
	int repeat;           /* --repeat, default 1 */
	long repeat_delay_ms; /* --repeat-delay */

	/* e2e-sub. */
	int verbose;
	int eol; /* -N clears it */
	int no_stale_retained;
	long msg_count; /* -C, 0: no limit */
	long timeout;   /* -W seconds, 0: none */
	char *format;   /* -F */
	int json;
	int pretty; /* --pretty */
	int raw_output; /* --raw-output: topics and payloads unescaped */
	int line_buffered; /* --line-buffered: stdout written per message */
	char **filter_out; /* -T: topics matching these are ignored */
	int filter_out_count;
	char **unsub; /* -U */
	int unsub_count;
	int retained_only;   /* --retained-only */
	int remove_retained; /* --remove-retained */
	int exit_subscribed; /* -E */
	long random_filter;  /* --random-filter: printed per million, 0: all */

	/* Payload security. */
	char *keyring_path;
	char *sign_path;
	char *sign_pass_file;
	char *env_sign_pass; /* E2E_SIGN_PASSPHRASE, used once (keys.c) */
	size_t env_sign_pass_len;
	char *trust_path;
	int require_signature;
	int require_encryption;
	int mode;     /* -1: the primary key's suite; else an e2e_suite */
	long max_age; /* -1: library default */
	long max_skew;
	long max_retained_age; /* 0: no limit */
	long window;
	int accept_no_clock;
	char *state_path; /* e2e-sub: a file, or redis://... (shared_state.h) */
	char *state_password_file; /* --state-password-file */
	char *env_state_password; /* E2E_STATE_PASSWORD, taken out of environ */
	/* --state rediss://: as redis-cli's --cacert, --cacertdir, --cert,
	 * --key, --sni (docs/GROUPS.md section 4). */
	char *state_cacert, *state_cacertdir, *state_cert, *state_key,
		*state_sni;

	/* The Last Will (will.h). */
	char *will_topic;
	char *will_payload; /* a secret string, wiped from argv, as -m */
	int will_qos;
	int will_retain;

	/* Key updates (keyupdate.h). */
	char *member_key_path;
	char *member_pass_file;
	char *admin_key_path;
	char *group;
	char *update_topic;
};

/* What --help prints around the options the tool takes (options.c):
 * first its description and usage line, after them the notes and the
 * exit status. */
struct cli_help {
	const char *intro;
	const char *outro;
};

/* Parse argv. Returns -1 to go on, or an exit code (after --help, or a usage
 * error that was already reported). Sets the reporter's program name and
 * debug switch (report.h). */
int cli_parse(struct cli_config *cfg, enum cli_tool tool,
	      const struct cli_help *help, int argc, char **argv);
void cli_config_free(struct cli_config *cfg);

#endif /* E2E_CLI_OPTIONS_H */
