/*
 * The module e2e-pub and e2e-sub share: one option parser and configuration
 * (mosquitto's flags with their meanings, plus ours), key loading, signal
 * handling and the MQTT connection (Paho MQTTAsync).
 *
 * Why MQTTAsync rather than MQTTClient: it reconnects by itself, buffers
 * publications while disconnected, acknowledges in its own thread (so a QoS
 * 1/2 publisher never stalls on a full in-flight window while it reads its
 * input) and may be called from its callbacks. Its callbacks run on Paho's
 * thread; everything they share with the main thread is behind cli_conn.mu.
 */
#ifndef E2E_CLI_COMMON_H
#define E2E_CLI_COMMON_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <MQTTAsync.h>

#include "e2e.h"

/* Exit codes (mosquitto's, plus ours documented in the man pages). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_ERROR 1    /* usage, connection, key or state error */
#define CLI_EXIT_TIMEOUT 27 /* e2e-sub -W elapsed */

enum cli_tool { CLI_PUB, CLI_SUB };

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

	/* Broker connection. */
	char *host;
	int port; /* 0: 1883, or 8883 with TLS */
	char *id;
	char *id_prefix;
	int keepalive;
	int clean_session; /* -c clears it */
	char *username;
	char *password;     /* secret string (passphrase.h), never printed */
	char *env_password; /* E2E_MQTT_PASSWORD, taken out of environ */
	int mqtt_version;   /* MQTTVERSION_3_1_1 or MQTTVERSION_5 ... */
	int debug;
	int quiet;

	/* TLS: any of these turns it on. */
	char *cafile;
	char *capath;
	char *certfile;
	char *keyfile;
	int insecure;    /* skip the server hostname check only */
	int tls_version; /* MQTT_SSL_VERSION_* */

	/* Topics and QoS. */
	char **topics;
	int topic_count;
	int qos;

	/* e2e-pub. */
	enum cli_pub_source source;
	char *message; /* -m: a secret string, wiped from argv */
	char *file;
	int retain;

	/* e2e-sub. */
	int verbose;
	int eol; /* -N clears it */
	int no_stale_retained;
	long msg_count; /* -C, 0: no limit */
	long timeout;   /* -W seconds, 0: none */
	char *format;   /* -F */
	int json;
	int raw_output; /* --raw-output: topics and payloads unescaped */

	/* Payload security. */
	char *keyring_path;
	char *sign_path;
	char *sign_pass_file;
	char *trust_path;
	int require_signature;
	int require_encryption;
	int mode;     /* -1: the primary key's suite; else an e2e_suite */
	long max_age; /* -1: library default */
	long max_skew;
	long max_retained_age; /* 0: no limit */
	long window;
	int accept_no_clock;
	char *state_path;
};

/* Parse argv. Returns -1 to go on, or an exit code (after --help, or a usage
 * error that was already reported). */
int cli_parse(struct cli_config *cfg, enum cli_tool tool, int argc,
	      char **argv);
void cli_config_free(struct cli_config *cfg);

/* "prog: message\n" on stderr. */
void cli_err(const struct cli_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Same, only with -d. */
void cli_debug(const struct cli_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Length of the valid UTF-8 sequence at s (n > 0 bytes), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included);
 * its code point in *cp when cp is not NULL. */
size_t cli_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp);
/* 1 for a code point that must never reach a reader's line or terminal as
 * it is: C0 controls, DEL, C1 controls, U+2028/U+2029 and the bidi
 * embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069). */
int cli_char_unsafe(uint32_t cp);
/*
 * Bytes from the broker or a sender (topics, payloads) may hold anything:
 * write them so that they stay on one line and cannot drive the terminal or
 * reorder what is shown. Backslash becomes \\; newline, carriage return and
 * tab become \n, \r and \t; any other C0 control, DEL, and every byte that
 * is not part of valid UTF-8 become \xHH (one byte); the other unsafe code
 * points become \u{HHHH} (the code point, UTF-8 in the original).
 * Everything else is written as it is, so the original bytes can always be
 * recovered (e2e-sub(1), "OUTPUT").
 */
void cli_put_safe(FILE *f, const char *s, size_t len);

/* The key material a tool works with; any member may be NULL. */
struct cli_keys {
	e2e_keyring *keyring;
	e2e_trust *trust;
	e2e_signer *signer;
};

/* Load what cfg names (keyring, trust file, signing key). Reports errors
 * itself; returns 0 or -1. On success *keys owns everything. */
int cli_keys_load(const struct cli_config *cfg, struct cli_keys *keys);
void cli_keys_free(struct cli_keys *keys);
/* Warn (on stderr) when another user could replace the file at path
 * through a directory above it (e2e_path_check); what: "trust file"... */
void cli_warn_unsafe_dir(const struct cli_config *cfg, const char *what,
			 const char *path);

/* Block SIGINT, SIGTERM, SIGHUP and SIGUSR1 in this thread (and in every
 * thread created after, Paho's included), ignore SIGPIPE. The main thread
 * then takes them with cli_signal_wait(), outside any handler. */
void cli_signals_block(void);
/* Wait up to ms milliseconds (0: just poll) for one of them; returns the
 * signal number or 0. SIGHUP and SIGINT/SIGTERM are also remembered for
 * cli_take_hup() and cli_stop_requested(), so that none is lost while a
 * helper below waits for the broker. */
int cli_signal_wait(long ms);
/* 1 once after each SIGHUP (reload the keys). */
int cli_take_hup(void);
/* 1 after SIGINT or SIGTERM. */
int cli_stop_requested(void);
/* Wake the main thread (from a Paho callback). */
void cli_wake_main(void);

/* Monotonic milliseconds. */
int64_t cli_now_ms(void);

/*
 * The MQTT connection. on_message runs on Paho's thread (NULL for e2e-pub).
 */
typedef int (*cli_on_message)(void *ctx, char *topic, int topic_len,
			      MQTTAsync_message *msg);

struct cli_pending;

struct cli_conn {
	const struct cli_config *cfg;
	MQTTAsync client;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	int connect_done; /* the first connect finished, well or not */
	int connect_rc;   /* its result: 0 or a Paho/MQTT code */
	char connect_err[256];
	int subscribed; /* the first subscription finished */
	int subscribe_failed;
	char subscribe_err[256];
	long inflight;  /* publications not yet acknowledged */
	long published; /* acknowledged */
	long publish_failed;
	int disconnected; /* our disconnect finished */
	/* Publications Paho gave back unacknowledged, to send again from the
	 * main thread (never from a Paho callback); poisoned: Paho's own copy
	 * of one is corrupt, the client must be made afresh first. */
	struct cli_pending *resend;
	int poisoned;
	/* Every publication not yet acknowledged, oldest first, numbered in
	 * publication order (= the order of the sequence numbers). */
	struct cli_pending *oldest, *newest;
	unsigned long next_order;
	cli_on_message on_message;
	void *ctx;
};

/* Create the client and connect; returns when the first connection is up
 * (0) or has failed (reported; -1). With subscribe set, also subscribes to
 * cfg->topics, now and after every automatic reconnect. */
int cli_conn_open(struct cli_conn *c, const struct cli_config *cfg,
		  int subscribe, cli_on_message on_message, void *ctx);
/* Publish one payload (copied by Paho) to topic. Counts it in flight until
 * the broker acknowledges it. Returns 0 or -1 (reported). */
int cli_conn_publish(struct cli_conn *c, const char *topic, const void *payload,
		     size_t len, int qos, int retain);
/* Send again what Paho gave back unacknowledged (main thread only; also
 * done by cli_conn_publish and cli_conn_drain). */
void cli_conn_service(struct cli_conn *c);
/* Wait until every publication is acknowledged: 0, or -1 when SIGINT or
 * SIGTERM came first. */
int cli_conn_drain(struct cli_conn *c);
/* Disconnect cleanly (bounded wait) and destroy the client. */
void cli_conn_close(struct cli_conn *c);

#endif /* E2E_CLI_COMMON_H */
