/*
 * e2e-keygen: create and manage libe2e key files — keyrings of shared keys
 * with rotation, Ed25519 signer keys and trust files. The formats are in
 * docs/KEYFILES.md; every file is read and written through libe2e, so
 * applications and this tool share one implementation.
 *
 * Exit status: 0 on success, 1 on any error (usage, file, key), with one
 * line on stderr naming the file and, when it applies, the line.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "e2e.h"
#include "longopt.h"
#include "passphrase.h"
#include "report.h"
#include "keygen_publish.h"

#define PROG "e2e-keygen"

static const char usage_text[] = PROG
	": create and manage libe2e key files: keyrings, signer keys, "
	"trust files.\n"
	"Usage: " PROG " keyring init -K FILE [--suite aead|mac] [--force]\n"
	"       " PROG
	" keyring add|rotate -K FILE [--suite aead|mac] [--topics F]\n"
	"       " PROG " keyring promote|enable|disable|delete -K FILE ID\n"
	"       " PROG " keyring list -K FILE\n"
	"       " PROG " signer new -s SECRET -p PUBLIC [--no-passphrase]\n"
	"                [--passphrase-file FILE] [--force]\n"
	"       " PROG " signer pub -s SECRET [-p PUBLIC [--force]]\n"
	"       " PROG " signer passwd -s SECRET [--passphrase-file FILE]\n"
	"                [--new-passphrase-file FILE | --no-passphrase]\n"
	"       " PROG " trust add --trust FILE -p PUBLIC --topics FILTERS\n"
	"       " PROG " trust list --trust FILE\n"
	"       " PROG " member init -s SECRET -p PUBLIC [--no-passphrase]\n"
	"                [--passphrase-file FILE] [--force]\n"
	"       " PROG " admin enrol --members FILE [--group NAME] -p PUBLIC\n"
	"                [--topics FILTERS] [--layout member|group] NAME\n"
	"       " PROG " admin list --members FILE\n"
	"       " PROG " admin remove --members FILE [--host H] [--port N]\n"
	"                [--root TOPIC] [--layout member|group] NAME\n"
	"       " PROG
	" admin publish|rotate --members FILE -K FILE -s SECRET\n"
	"                [--passphrase-file FILE] [--host H] [--port N]\n"
	"                [--root TOPIC] [--layout member|group]\n"
	"                [--lead DUR] [--grace DUR]\n"
	"                [--every DUR [--count N]]\n"
	"       " PROG " --help\n"
	"\n"
	"Keyrings hold shared keys (id, suite, state, creation time); exactly\n"
	"one is primary and seals, enabled keys still open, disabled keys are\n"
	"refused as disabled-key. Rotation: add, distribute, promote, "
	"disable,\n"
	"delete; 'rotate' adds and promotes at once and prints the new id.\n"
	"Key ids are 8 hex digits. Secret files are created with mode 0600 "
	"and\n"
	"never overwritten without --force. Passphrases are read from the\n"
	"terminal without echo, or from the first line of --passphrase-file.\n"
	"See e2e-keygen(1).\n"
	"\n"
	"Exit status: 0 success, 1 error (usage, file, key or passphrase).\n";

/* ---------------------------------------------------------------------- */
/* Options                                                                */
/* ---------------------------------------------------------------------- */

enum {
	OPT_KEYRING = 1 << 0,
	OPT_SUITE = 1 << 1,
	OPT_SECRET = 1 << 2,
	OPT_PUBLIC = 1 << 3,
	OPT_TRUST = 1 << 4,
	OPT_TOPICS = 1 << 5,
	OPT_NO_PASS = 1 << 6,
	OPT_PASS_FILE = 1 << 7,
	OPT_NEW_PASS_FILE = 1 << 8,
	OPT_FORCE = 1 << 9,
	/* Members and key updates (docs/KEYDIST.md). */
	OPT_MEMBERS = 1 << 10,
	OPT_GROUP = 1 << 11,
	OPT_HOST = 1 << 12,
	OPT_PORT = 1 << 13,
	OPT_ROOT = 1 << 14,
	OPT_LEAD = 1 << 15,
	OPT_GRACE = 1 << 16,
	OPT_EVERY = 1 << 17,
	OPT_COUNT = 1 << 18,
	OPT_LAYOUT = 1 << 19
};

struct opts {
	unsigned given;
	const char *keyring, *suite, *secret, *public, *trust, *topics;
	const char *pass_file, *new_pass_file;
	int no_pass, force;
	const char *members, *group, *host, *port, *root;
	const char *lead, *grace, *every, *count;
	const char *layout; /* --layout member|group (docs/KEYDIST.md 9) */
	const char *arg;    /* the positional argument (a key id), if any */
};

static const struct option long_options[] = {
	{"keyring", required_argument, NULL, 'K'},
	{"suite", required_argument, NULL, 'S'},
	{"secret", required_argument, NULL, 's'},
	{"public", required_argument, NULL, 'p'},
	{"trust", required_argument, NULL, 'T'},
	{"topics", required_argument, NULL, 'O'},
	{"no-passphrase", no_argument, NULL, 'N'},
	{"passphrase-file", required_argument, NULL, 'F'},
	{"new-passphrase-file", required_argument, NULL, 'W'},
	{"force", no_argument, NULL, 'f'},
	{"members", required_argument, NULL, 'M'},
	{"group", required_argument, NULL, 'G'},
	{"host", required_argument, NULL, 'H'},
	{"port", required_argument, NULL, 'P'},
	{"root", required_argument, NULL, 'R'},
	{"lead", required_argument, NULL, 'L'},
	{"grace", required_argument, NULL, 'g'},
	{"every", required_argument, NULL, 'E'},
	{"count", required_argument, NULL, 'C'},
	{"layout", required_argument, NULL, 'Y'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0}};

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static int parse_options(int argc, char **argv, struct opts *o)
{
	int c, longindex;

	memset(o, 0, sizeof *o);
	optind = 3;
	while ((longindex = -1, c = getopt_long(argc, argv, "K:s:p:fh",
						long_options, &longindex)) !=
	       -1) {
		if (longindex >= 0 && c != '?' && c != ':' &&
		    cli_long_option_check(PROG, long_options, argv, longindex))
			return -1;
		switch (c) {
		case 'K':
			o->keyring = optarg, o->given |= OPT_KEYRING;
			break;
		case 'S':
			o->suite = optarg, o->given |= OPT_SUITE;
			break;
		case 's':
			o->secret = optarg, o->given |= OPT_SECRET;
			break;
		case 'p':
			o->public = optarg, o->given |= OPT_PUBLIC;
			break;
		case 'T':
			o->trust = optarg, o->given |= OPT_TRUST;
			break;
		case 'O':
			o->topics = optarg, o->given |= OPT_TOPICS;
			break;
		case 'N':
			o->no_pass = 1, o->given |= OPT_NO_PASS;
			break;
		case 'F':
			o->pass_file = optarg, o->given |= OPT_PASS_FILE;
			break;
		case 'W':
			o->new_pass_file = optarg,
			o->given |= OPT_NEW_PASS_FILE;
			break;
		case 'f':
			o->force = 1, o->given |= OPT_FORCE;
			break;
		case 'M':
			o->members = optarg, o->given |= OPT_MEMBERS;
			break;
		case 'G':
			o->group = optarg, o->given |= OPT_GROUP;
			break;
		case 'H':
			o->host = optarg, o->given |= OPT_HOST;
			break;
		case 'P':
			o->port = optarg, o->given |= OPT_PORT;
			break;
		case 'R':
			o->root = optarg, o->given |= OPT_ROOT;
			break;
		case 'L':
			o->lead = optarg, o->given |= OPT_LEAD;
			break;
		case 'g':
			o->grace = optarg, o->given |= OPT_GRACE;
			break;
		case 'E':
			o->every = optarg, o->given |= OPT_EVERY;
			break;
		case 'C':
			o->count = optarg, o->given |= OPT_COUNT;
			break;
		case 'Y':
			o->layout = optarg, o->given |= OPT_LAYOUT;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1; /* getopt printed why */
		}
	}
	if (optind < argc)
		o->arg = argv[optind++];
	if (optind < argc) {
		cli_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	return 0;
}

/* Every option given must be one the command uses, every required one
 * given. */
static int check_options(const struct opts *o, unsigned allowed,
			 unsigned required, int wants_arg, const char *cmd)
{
	static const char *const names[] = {"-K",
					    "--suite",
					    "-s",
					    "-p",
					    "--trust",
					    "--topics",
					    "--no-passphrase",
					    "--passphrase-file",
					    "--new-passphrase-file",
					    "--force",
					    "--members",
					    "--group",
					    "--host",
					    "--port",
					    "--root",
					    "--lead",
					    "--grace",
					    "--every",
					    "--count",
					    "--layout"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		unsigned bit = 1u << i;

		if ((o->given & bit) && !(allowed & bit)) {
			cli_err("%s does not take %s", cmd, names[i]);
			return -1;
		}
		if ((required & bit) && !(o->given & bit)) {
			cli_err("%s needs %s", cmd, names[i]);
			return -1;
		}
	}
	if (wants_arg && o->arg == NULL) {
		cli_err("%s needs %s", cmd,
			strncmp(cmd, "admin", 5) == 0 ? "a member name"
						      : "a key id");
		return -1;
	}
	if (!wants_arg && o->arg != NULL) {
		cli_err("unexpected argument '%s'", o->arg);
		return -1;
	}
	return 0;
}

/* A key id: 1 to 8 hex digits, not 0. */
static int parse_key_id(const char *s, uint32_t *id)
{
	char *end;
	unsigned long v;

	if (strncmp(s, "0x", 2) == 0)
		s += 2;
	if (*s == '\0' || strlen(s) > 8 ||
	    strspn(s, "0123456789abcdefABCDEF") != strlen(s)) {
		cli_err("invalid key id '%s' (expected 8 hex digits)", s);
		return -1;
	}
	errno = 0;
	v = strtoul(s, &end, 16);
	if (errno != 0 || *end != '\0' || v == 0 || v > 0xFFFFFFFFul) {
		cli_err("invalid key id '%s' (expected 8 hex digits)", s);
		return -1;
	}
	*id = (uint32_t)v;
	return 0;
}

static int parse_suite(const char *s, e2e_suite *suite)
{
	if (e2e_suite_parse(s, suite) != E2E_OK || *suite == E2E_SUITE_NONE) {
		cli_err("invalid suite '%s' (expected aead or mac)", s);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Passphrases: from the terminal without echo, or from a file            */
/* ---------------------------------------------------------------------- */

/* The message for a failed read of a passphrase (from file, or from the
 * terminal when file is NULL). */
static void fail_pass(const char *file, int status)
{
	if (status == CLI_PASS_NO_TTY)
		cli_err("no terminal to read the passphrase from; use "
			"--passphrase-file FILE or --no-passphrase");
	else if (status == CLI_PASS_TOO_LONG)
		cli_err("%s%spassphrase %s", file ? file : "",
			file ? ":1: " : "", cli_pass_strerror(status));
	else
		cli_err("%s: %s", file ? file : "/dev/tty",
			cli_pass_strerror(status));
}

/*
 * Get a passphrase (a secret string in *pass, cli_secret_free): from file
 * when given, otherwise from the terminal, asked twice when confirm is set
 * (a new passphrase). An empty passphrase is refused: --no-passphrase says
 * it explicitly.
 */
static int get_passphrase(const char *file, const char *prompt, int confirm,
			  char **pass, size_t *len)
{
	char *again = NULL;
	size_t again_len = 0;
	int rc;

	rc = file != NULL ? cli_pass_read_file(file, pass, len)
			  : cli_pass_prompt(prompt, pass, len);
	if (rc != CLI_PASS_OK) {
		fail_pass(file, rc);
		return -1;
	}
	if (*len == 0) {
		cli_err("%s%sempty passphrase (use --no-passphrase for an "
			"unencrypted key)",
			file ? file : "", file ? ":1: " : "");
		goto refuse;
	}
	if (file != NULL || !confirm)
		return 0;
	rc = cli_pass_prompt("Passphrase (again): ", &again, &again_len);
	if (rc != CLI_PASS_OK) {
		fail_pass(NULL, rc);
		goto refuse;
	}
	rc = again_len != *len || sodium_memcmp(again, *pass, *len) != 0;
	cli_secret_free(again);
	if (rc == 0)
		return 0;
	cli_err("the passphrases do not match");
refuse:
	cli_secret_free(*pass);
	*pass = NULL;
	*len = 0;
	return -1;
}

/* ---------------------------------------------------------------------- */
/* keyring                                                                */
/* ---------------------------------------------------------------------- */

static int load_keyring(const char *path, e2e_keyring **kr)
{
	size_t line = 0;
	int rc = e2e_keyring_load(kr, path, &line);

	if (rc != E2E_OK) {
		cli_file_err(NULL, path, line, rc, NULL);
		return -1;
	}
	cli_warn_unsafe_dir(NULL, path);
	return 0;
}

static int save_keyring(const e2e_keyring *kr, const char *path, uint32_t flags)
{
	int rc = e2e_keyring_save(kr, path, flags);

	if (rc != E2E_OK) {
		cli_file_err(NULL, path, 0, rc, NULL);
		return -1;
	}
	return 0;
}

static int64_t now(void)
{
	return (int64_t)time(NULL);
}

static int keyring_init(const struct opts *o, int unused)
{
	e2e_keyring *kr = NULL;
	e2e_suite suite = E2E_SUITE_AEAD;
	uint32_t id;
	int rc = -1;

	(void)unused;
	if (o->suite != NULL && parse_suite(o->suite, &suite) != 0)
		return -1;
	if (e2e_keyring_new(&kr) != E2E_OK ||
	    e2e_keyring_generate(kr, suite, E2E_KEY_PRIMARY, now(), &id) !=
		    E2E_OK) {
		cli_err("out of memory");
		goto cleanup;
	}
	if (save_keyring(kr, o->keyring, o->force ? 0 : E2E_SAVE_EXCL) != 0)
		goto cleanup;
	printf("%08" PRIx32 "\n", id);
	rc = 0;
cleanup:
	e2e_keyring_free(kr);
	return rc;
}

/* keyring add (state ENABLED) and rotate (state PRIMARY). */
/* Give key id the topic filters (comma-separated) and then the state. */
static int set_key_topics(e2e_keyring *kr, uint32_t id, const char *topics,
			  int state)
{
	int err = e2e_keyring_set_filters(kr, id, topics);

	if (err == E2E_OK && state == E2E_KEY_PRIMARY)
		err = e2e_keyring_set_state(kr, id, E2E_KEY_PRIMARY);
	if (err == E2E_ERR_INVAL) {
		cli_err("--topics '%s': not MQTT topic filters "
			"(comma-separated, "
			"no blanks)",
			topics);
		return -1;
	}
	if (err != E2E_OK) {
		cli_err("--topics '%s': %s", topics, e2e_strerror(err));
		return -1;
	}
	return 0;
}

static int keyring_new_key(const struct opts *o, int state)
{
	e2e_keyring *kr = NULL;
	e2e_key_info primary;
	e2e_suite suite;
	uint32_t id;
	int rc = -1;

	if (load_keyring(o->keyring, &kr) != 0)
		return -1;
	/* A new key keeps the suite of the keys it replaces unless told. */
	if (e2e_keyring_primary(kr, &primary) != E2E_OK) {
		cli_file_err(NULL, o->keyring, 0, E2E_ERR_NO_PRIMARY, NULL);
		goto cleanup;
	}
	suite = primary.suite;
	if (o->suite != NULL && parse_suite(o->suite, &suite) != 0)
		goto cleanup;
	/* A key for some topics only (--topics) joins the scope of those
	 * filters first, so that becoming primary demotes only that scope's
	 * primary, never the keyring's. */
	if (e2e_keyring_generate(kr, suite,
				 o->topics ? E2E_KEY_ENABLED
					   : (e2e_key_state)state,
				 now(), &id) != E2E_OK) {
		cli_err("out of memory");
		goto cleanup;
	}
	if (o->topics && set_key_topics(kr, id, o->topics, state) != 0)
		goto cleanup;
	if (save_keyring(kr, o->keyring, 0) != 0)
		goto cleanup;
	printf("%08" PRIx32 "\n", id);
	rc = 0;
cleanup:
	e2e_keyring_free(kr);
	return rc;
}

/* promote, enable, disable (state >= 0) and delete (state < 0). */
static int keyring_change(const struct opts *o, int state)
{
	e2e_keyring *kr = NULL;
	uint32_t id;
	int rc = -1, err;

	if (parse_key_id(o->arg, &id) != 0)
		return -1;
	if (load_keyring(o->keyring, &kr) != 0)
		return -1;
	err = state < 0 ? e2e_keyring_remove(kr, id)
			: e2e_keyring_set_state(kr, id, (e2e_key_state)state);
	if (err == E2E_ERR_NOT_FOUND) {
		cli_err("%s: no key with id %08" PRIx32, o->keyring, id);
	} else if (err == E2E_ERR_IS_PRIMARY) {
		cli_err("%s: key %08" PRIx32 " is the primary key; promote "
			"another key first",
			o->keyring, id);
	} else if (err != E2E_OK) {
		cli_err("%s: %s", o->keyring, e2e_strerror(err));
	} else if (save_keyring(kr, o->keyring, 0) == 0) {
		rc = 0;
	}
	e2e_keyring_free(kr);
	return rc;
}

/* " activates=T disables=T topics=F", each only when set. */
static void list_schedule_and_topics(const e2e_keyring *kr, uint32_t id)
{
	uint64_t act = 0, dis = 0;
	const char *filters = NULL;

	if (e2e_keyring_schedule_get(kr, id, &act, &dis) == E2E_OK) {
		if (act)
			printf("  activates=%" PRIu64, act);
		if (dis)
			printf("  disables=%" PRIu64, dis);
	}
	if (e2e_keyring_get_filters(kr, id, &filters) == E2E_OK && filters &&
	    *filters)
		printf("  topics=%s", filters);
}

static int keyring_list(const struct opts *o, int unused)
{
	e2e_keyring *kr = NULL;
	e2e_key_info info;
	size_t i, n;
	char when[32];

	(void)unused;
	if (load_keyring(o->keyring, &kr) != 0)
		return -1;
	n = e2e_keyring_count(kr);
	for (i = 0; i < n; i++) {
		time_t t;
		struct tm tm;

		if (e2e_keyring_get(kr, i, &info) != E2E_OK)
			break;
		t = (time_t)info.created;
		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			snprintf(when, sizeof when, "%" PRId64, info.created);
		printf("%08" PRIx32 "  %-4s  %-8s  %s", info.id,
		       e2e_suite_name(info.suite),
		       e2e_key_state_name(info.state), when);
		list_schedule_and_topics(kr, info.id);
		putchar('\n');
	}
	e2e_keyring_free(kr);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* signer                                                                 */
/* ---------------------------------------------------------------------- */

static int refuse_existing(const char *path)
{
	if (access(path, F_OK) == 0) {
		cli_file_err(NULL, path, 0, E2E_ERR_EXISTS, NULL);
		return -1;
	}
	return 0;
}

/* signer new (member 0) and member init (member 1): a key pair, its
 * secret file and its public file. */
static int signer_new(const struct opts *o, int member)
{
	e2e_signer *s = NULL;
	e2e_member *m = NULL;
	char *pass = NULL;
	size_t pass_len = 0;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	char line[E2E_MEMBER_LINE_MAX + 1];
	uint32_t flags = o->force ? 0 : E2E_SAVE_EXCL;
	int rc = -1, err;

	if (o->no_pass && o->pass_file != NULL) {
		cli_err("--no-passphrase and --passphrase-file exclude each "
			"other");
		return -1;
	}
	if (strcmp(o->secret, o->public) == 0) {
		cli_err("the secret and public key files must differ");
		return -1;
	}
	/* Check before asking for a passphrase, not after. */
	if (!o->force && (refuse_existing(o->secret) != 0 ||
			  refuse_existing(o->public) != 0))
		return -1;
	if (!o->no_pass && get_passphrase(o->pass_file, "Passphrase: ", 1,
					  &pass, &pass_len) != 0)
		goto cleanup;
	if (member ? e2e_member_generate(&m) != E2E_OK
		   : e2e_signer_generate(&s) != E2E_OK) {
		cli_err("out of memory");
		goto cleanup;
	}
	err = member ? e2e_member_save(m, o->secret, pass, pass_len, 0, 0,
				       flags)
		     : e2e_signer_save(s, o->secret, pass, pass_len, 0, 0,
				       flags);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->secret, 0, err, NULL);
		goto cleanup;
	}
	if (member)
		e2e_member_public(m, pk);
	else
		e2e_signer_public(s, pk);
	err = member ? e2e_member_public_save(pk, o->public, flags)
		     : e2e_pubkey_save(pk, o->public, flags);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->public, 0, err, NULL);
		/* Leave nothing behind that was not there before. */
		if (!o->force)
			unlink(o->secret);
		goto cleanup;
	}
	if (!member)
		printf("%016" PRIx64 "\n", e2e_signer_id(s));
	else if (e2e_member_public_format(pk, line, sizeof line) == E2E_OK)
		printf("%s\n", line); /* what goes to the admin */
	rc = 0;
cleanup:
	e2e_signer_free(s);
	e2e_member_free(m);
	cli_secret_free(pass);
	return rc;
}

static int signer_pub(const struct opts *o, int unused)
{
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	char b64[sodium_base64_ENCODED_LEN(E2E_SIGN_PUBLICKEYBYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	size_t line = 0;
	int err;

	(void)unused;
	err = e2e_signer_inspect(o->secret, pk, NULL, &line);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->secret, line, err, NULL);
		return -1;
	}
	if (o->public == NULL) {
		sodium_bin2base64(b64, sizeof b64, pk, sizeof pk,
				  sodium_base64_VARIANT_ORIGINAL);
		printf("%016" PRIx64 " %s\n", e2e_signer_id_from_public(pk),
		       b64);
		return 0;
	}
	err = e2e_pubkey_save(pk, o->public, o->force ? 0 : E2E_SAVE_EXCL);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->public, 0, err, NULL);
		return -1;
	}
	printf("%016" PRIx64 "\n", e2e_signer_id_from_public(pk));
	return 0;
}

static int signer_passwd(const struct opts *o, int unused)
{
	e2e_signer *s = NULL;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	char *pass = NULL;
	size_t pass_len = 0, line = 0;
	int rc = -1, err, encrypted = 0;

	(void)unused;
	if (o->no_pass && o->new_pass_file != NULL) {
		cli_err("--no-passphrase and --new-passphrase-file exclude "
			"each "
			"other");
		return -1;
	}
	err = e2e_signer_inspect(o->secret, pk, &encrypted, &line);
	if (err == E2E_OK && encrypted &&
	    get_passphrase(o->pass_file, "Old passphrase: ", 0, &pass,
			   &pass_len) != 0)
		goto cleanup;
	if (err == E2E_OK)
		err = e2e_signer_load(&s, o->secret, encrypted ? pass : NULL,
				      pass_len, &line);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->secret, line, err, NULL);
		goto cleanup;
	}
	cli_secret_free(pass);
	pass = NULL;
	pass_len = 0;
	if (!o->no_pass && get_passphrase(o->new_pass_file, "New passphrase: ",
					  1, &pass, &pass_len) != 0)
		goto cleanup;
	err = e2e_signer_save(s, o->secret, o->no_pass ? NULL : pass, pass_len,
			      0, 0, 0);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->secret, 0, err, NULL);
		goto cleanup;
	}
	rc = 0;
cleanup:
	e2e_signer_free(s);
	cli_secret_free(pass);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* trust                                                                  */
/* ---------------------------------------------------------------------- */

static int trust_add(const struct opts *o, int unused)
{
	e2e_trust *t = NULL;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	size_t line = 0;
	uint32_t flags = 0;
	uint64_t id;
	int rc = -1, err;

	(void)unused;
	err = e2e_pubkey_load(pk, o->public, &line);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->public, line, err, NULL);
		return -1;
	}
	cli_warn_unsafe_dir(NULL, o->public);
	id = e2e_signer_id_from_public(pk);
	err = e2e_trust_load(&t, o->trust, &line);
	if (err == E2E_ERR_IO && errno == ENOENT) {
		/* The first signer creates the file. */
		flags = E2E_SAVE_EXCL;
		err = e2e_trust_new(&t);
	}
	if (err != E2E_OK) {
		cli_file_err(NULL, o->trust, line, err, NULL);
		goto cleanup;
	}
	if (flags == 0)
		cli_warn_unsafe_dir(NULL, o->trust);
	err = e2e_trust_add(t, pk, o->topics);
	if (err == E2E_ERR_INVAL) {
		cli_err("invalid topic filters '%s' (MQTT filters separated by "
			"commas; '+' and '#' only as whole levels, '#' last)",
			o->topics);
		goto cleanup;
	}
	if (err == E2E_ERR_DUPLICATE_KEY) {
		cli_err("%s: signer %016" PRIx64 " is already trusted",
			o->trust, id);
		goto cleanup;
	}
	if (err == E2E_OK)
		err = e2e_trust_save(t, o->trust, flags);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->trust, 0, err, NULL);
		goto cleanup;
	}
	printf("%016" PRIx64 "\n", id);
	rc = 0;
cleanup:
	e2e_trust_free(t);
	return rc;
}

static int trust_list(const struct opts *o, int unused)
{
	e2e_trust *t = NULL;
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	const char *filters;
	size_t i, line = 0;
	int err;

	(void)unused;
	err = e2e_trust_load(&t, o->trust, &line);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->trust, line, err, NULL);
		return -1;
	}
	cli_warn_unsafe_dir(NULL, o->trust);
	for (i = 0; i < e2e_trust_count(t); i++) {
		if (e2e_trust_get(t, i, pk, &filters) != E2E_OK)
			break;
		printf("%016" PRIx64 "  %s\n", e2e_signer_id_from_public(pk),
		       filters);
	}
	e2e_trust_free(t);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* member and admin: key updates through the broker (docs/KEYDIST.md)     */
/* ---------------------------------------------------------------------- */

static int load_members(const char *path, e2e_members **ms)
{
	size_t line = 0;
	int rc = e2e_members_load(ms, path, &line);

	if (rc != E2E_OK) {
		cli_file_err(NULL, path, line, rc, NULL);
		return -1;
	}
	cli_warn_unsafe_dir(NULL, path);
	return 0;
}

static int save_members(const e2e_members *ms, const char *path, uint32_t flags)
{
	int rc = e2e_members_save(ms, path, flags);

	if (rc != E2E_OK) {
		cli_file_err(NULL, path, 0, rc, NULL);
		return -1;
	}
	return 0;
}

static const char *layout_name(e2e_update_layout l)
{
	return l == E2E_UPDATE_LAYOUT_GROUP ? "group" : "member";
}

/* The layout to use: --layout, else the one stored in the member list
 * (docs/KEYDIST.md section 9). 0, or -1 (reported). */
static int layout_of(const struct opts *o, const e2e_members *ms,
		     e2e_update_layout *l)
{
	*l = e2e_members_layout(ms);
	if (o->layout == NULL)
		return 0;
	if (strcmp(o->layout, "member") == 0)
		*l = E2E_UPDATE_LAYOUT_MEMBER;
	else if (strcmp(o->layout, "group") == 0)
		*l = E2E_UPDATE_LAYOUT_GROUP;
	else {
		cli_err("invalid --layout '%s' (member or group)", o->layout);
		return -1;
	}
	return 0;
}

/* -p PUBLIC: a member public key file, or the line itself. */
static int read_member_public(const char *arg, uint8_t pk[32])
{
	size_t line = 0;
	int rc;

	if (strncmp(arg, "libe2e-member ", 14) == 0) {
		rc = e2e_member_public_parse(arg, pk);
		if (rc != E2E_OK)
			cli_err("invalid member public key line: %s",
				e2e_strerror(rc));
		return rc == E2E_OK ? 0 : -1;
	}
	rc = e2e_member_public_load(pk, arg, &line);
	if (rc != E2E_OK) {
		cli_file_err(NULL, arg, line, rc, NULL);
		return -1;
	}
	return 0;
}

/*
 * --layout on enrol and remove: the layout of a list the enrol creates
 * (fresh); for an existing list only its own (publish and rotate switch
 * layouts, with an update under the new one).
 */
static int check_layout(const struct opts *o, e2e_members *ms, int fresh)
{
	e2e_update_layout l;

	if (layout_of(o, ms, &l) != 0)
		return -1;
	if (fresh)
		return e2e_members_set_layout(ms, l) == E2E_OK ? 0 : -1;
	if (l != e2e_members_layout(ms)) {
		cli_err("%s: the group's layout is %s; switch it with admin "
			"publish --layout %s",
			o->members, layout_name(e2e_members_layout(ms)),
			layout_name(l));
		return -1;
	}
	return 0;
}

static int admin_enrol(const struct opts *o, int unused)
{
	e2e_members *ms = NULL;
	uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES];
	uint32_t flags = 0;
	size_t line = 0;
	int rc = -1, err;

	(void)unused;
	if (read_member_public(o->public, pk) != 0)
		return -1;
	err = e2e_members_load(&ms, o->members, &line);
	if (err == E2E_ERR_IO && errno == ENOENT && o->group != NULL) {
		/* The first member creates the list, for this group. */
		flags = E2E_SAVE_EXCL;
		err = e2e_members_new(&ms, o->group);
		if (err == E2E_ERR_INVAL) {
			cli_err("invalid group '%s' (1-64 of A-Z a-z 0-9 . _ "
				"-)",
				o->group);
			return -1;
		}
	} else if (err == E2E_ERR_IO && errno == ENOENT) {
		cli_err("%s: no member list yet (the first enrol needs "
			"--group NAME)",
			o->members);
		return -1;
	} else if (err == E2E_OK && o->group != NULL &&
		   strcmp(o->group, e2e_members_group(ms)) != 0) {
		cli_err("%s is the list of group '%s', not '%s'", o->members,
			e2e_members_group(ms), o->group);
		goto cleanup;
	}
	if (err != E2E_OK) {
		cli_file_err(NULL, o->members, line, err, NULL);
		goto cleanup;
	}
	if (check_layout(o, ms, flags == E2E_SAVE_EXCL) != 0)
		goto cleanup;
	err = e2e_members_add(ms, pk, o->arg, o->topics);
	if (err == E2E_ERR_EXISTS) {
		cli_err("%s: member '%s' or its key is already enrolled",
			o->members, o->arg);
		goto cleanup;
	}
	if (err == E2E_ERR_INVAL) {
		cli_err("invalid member name '%s' (1-64 of A-Z a-z 0-9 . _ - "
			"@) "
			"or topic filters",
			o->arg);
		goto cleanup;
	}
	if (err != E2E_OK || save_members(ms, o->members, flags) != 0)
		goto cleanup;
	printf("%016" PRIx64 "\n", e2e_member_id_from_public(pk));
	rc = 0;
cleanup:
	e2e_members_free(ms);
	return rc;
}

static int admin_list(const struct opts *o, int unused)
{
	e2e_members *ms = NULL;
	e2e_member_entry e;
	size_t i;

	(void)unused;
	if (load_members(o->members, &ms) != 0)
		return -1;
	printf("# group %s, counter %" PRIu64 ", layout %s\n",
	       e2e_members_group(ms), e2e_members_counter(ms),
	       layout_name(e2e_members_layout(ms)));
	for (i = 0; e2e_members_get(ms, i, &e) == E2E_OK; i++)
		printf("%016" PRIx64 "  %s%s%s\n", e.id, e.name,
		       e.filters[0] ? "  " : "", e.filters);
	e2e_members_free(ms);
	return 0;
}

/* A duration: a number of seconds, or with a unit s, m, h, d. */
static int parse_duration(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t unit = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end == 'm')
		unit = 60, end++;
	else if (*end == 'h')
		unit = 3600, end++;
	else if (*end == 'd')
		unit = 86400, end++;
	else if (*end == 's')
		end++;
	if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
	    v > (1ull << 40) / unit) {
		cli_err("invalid %s '%s' (seconds, or a number with s, m, h, "
			"d)",
			opt, s);
		return -1;
	}
	*out = v * unit;
	return 0;
}

/* The admin's signer, asking for its passphrase when it has one. */
static int load_admin(const struct opts *o, e2e_signer **s)
{
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];
	char *pass = NULL;
	size_t pass_len = 0, line = 0;
	int encrypted = 0, err;

	err = e2e_signer_inspect(o->secret, pk, &encrypted, &line);
	if (err == E2E_OK && encrypted &&
	    get_passphrase(o->pass_file, "Admin passphrase: ", 0, &pass,
			   &pass_len) != 0)
		return -1;
	if (err == E2E_OK)
		err = e2e_signer_load(s, o->secret, pass, pass_len, &line);
	cli_secret_free(pass);
	if (err != E2E_OK) {
		cli_file_err(NULL, o->secret, line, err, NULL);
		return -1;
	}
	return 0;
}

/* The root of the update topics: --root, else e2e/keys/GROUP. */
static void update_root(const struct opts *o, const e2e_members *ms, char *root,
			size_t cap)
{
	if (o->root != NULL)
		snprintf(root, cap, "%s", o->root);
	else
		snprintf(root, cap, "e2e/keys/%s", e2e_members_group(ms));
}

/* Seal body as the admin's retained update on u->topic. */
static int seal_update(e2e_sender *snd, struct keygen_update *u,
		       const uint8_t *body, size_t len)
{
	u->cap = E2E_SEALED_MAX(len);
	u->env = malloc(u->cap);
	if (u->env == NULL)
		return E2E_ERR_NOMEM;
	return e2e_seal(snd, NULL, u->topic, body, len, E2E_SEAL_RETAINED,
			u->env, u->cap, &u->len);
}

static void no_key_err(const e2e_members *ms, size_t i, int err)
{
	e2e_member_entry e;

	if (e2e_members_get(ms, i, &e) != E2E_OK)
		e.name = "?";
	cli_err("member %s: %s", e.name,
		err == E2E_ERR_NO_KEY ? "no key in the keyring is for it"
				      : e2e_strerror(err));
}

/* The per-group layout: one update on the root with every member's slot. */
static int build_group_update(const e2e_members *ms, const e2e_keyring *kr,
			      e2e_sender *snd, uint64_t counter,
			      struct keygen_update *u)
{
	uint8_t *body = NULL;
	size_t len = 0, bad = 0;
	int err;

	err = e2e_members_group_update_build(ms, kr, counter, (uint64_t)now(),
					     NULL, 0, &len, &bad);
	if (err == E2E_ERR_BUFFER_TOO_SMALL) {
		body = malloc(len);
		err = body == NULL ? E2E_ERR_NOMEM
				   : e2e_members_group_update_build(
					     ms, kr, counter, (uint64_t)now(),
					     body, len, &len, &bad);
	}
	if (err == E2E_OK)
		err = seal_update(snd, u, body, len);
	free(body);
	if (err == E2E_ERR_NO_KEY)
		no_key_err(ms, bad, err);
	else if (err != E2E_OK)
		cli_err("group update: %s", e2e_strerror(err));
	return err == E2E_OK ? 0 : -1;
}

/* The per-member layout: update i on ROOT/MEMBER-ID with member i's slot. */
static int build_member_update(const e2e_members *ms, size_t i,
			       const e2e_keyring *kr, e2e_sender *snd,
			       uint64_t counter, const char *root,
			       uint8_t *body, struct keygen_update *u)
{
	e2e_member_entry e;
	size_t len = 0;
	int err = e2e_members_get(ms, i, &e);

	if (err == E2E_OK) {
		snprintf(u->topic, sizeof u->topic, "%s/%016" PRIx64, root,
			 e.id);
		err = e2e_members_update_build(
			ms, i, kr, counter, (uint64_t)now(), body,
			E2E_UPDATE_MEMBER_BODY_MAX, &len);
	}
	if (err == E2E_OK)
		err = seal_update(snd, u, body, len);
	if (err != E2E_OK)
		no_key_err(ms, i, err);
	return err == E2E_OK ? 0 : -1;
}

/*
 * A deliberate switch of the group's layout (--layout other than the
 * stored one), once the broker has acknowledged the update under the new
 * layout: store the new layout, then clear the old layout's retained
 * updates (per member: each ROOT/MEMBER-ID; per group: ROOT), if there
 * were any (first: the group's first update, nothing to clear). In this
 * order the list never names a layout whose topic lacks the current keys:
 * a crash or a broker lost after the save leaves only stale retained
 * updates under the old layout, reported, never a group without keys.
 */
static int switch_layout(const struct opts *o, e2e_members *ms,
			 e2e_update_layout old, e2e_update_layout layout,
			 const char *root, int first)
{
	static const uint8_t empty[1];
	struct keygen_update *c;
	e2e_member_entry e;
	int per_member = old == E2E_UPDATE_LAYOUT_MEMBER;
	size_t i, n = per_member ? e2e_members_count(ms) : 1;
	int rc = -1;

	if (e2e_members_set_layout(ms, layout) != E2E_OK ||
	    save_members(ms, o->members, 0) != 0)
		return -1;
	if (first)
		return 0;
	c = calloc(n, sizeof *c);
	if (c == NULL) {
		cli_err("out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		c[i].env = (uint8_t *)empty;
		if (!per_member)
			snprintf(c[i].topic, sizeof c[i].topic, "%s", root);
		else if (e2e_members_get(ms, i, &e) == E2E_OK)
			snprintf(c[i].topic, sizeof c[i].topic,
				 "%s/%016" PRIx64, root, e.id);
	}
	if (keygen_publish(o->host, o->port, c, n) == 0) {
		printf("layout %s saved (was %s): cleared %zu retained "
		       "update%s on %s%s\n",
		       layout_name(layout), layout_name(old), n,
		       n == 1 ? "" : "s", root, per_member ? "/MEMBER-ID" : "");
		rc = 0;
	} else {
		cli_err("%s: layout %s saved, but the %s layout's retained "
			"updates on %s%s could not be cleared (publish an "
			"empty retained message on each)",
			o->members, layout_name(layout), layout_name(old), root,
			per_member ? "/MEMBER-ID" : "");
	}
	free(c);
	return rc;
}

/*
 * Publish the updates (docs/KEYDIST.md section 9) with the next counter:
 * one per member on ROOT/MEMBER-ID, or under the per-group layout one on
 * ROOT with every member's slot (the layout stored in the list, or
 * --layout, which switches it: switch_layout). Every update is built first
 * (nothing is saved when one fails), then the counter is saved in the
 * member list, then the updates are sent (a crash never reuses a counter).
 */
static int publish_updates(const struct opts *o, e2e_members *ms,
			   const e2e_keyring *kr, const e2e_signer *admin)
{
	e2e_sender_opts so = {0};
	e2e_sender *snd = NULL;
	e2e_member_entry e;
	struct keygen_update *u = NULL;
	uint8_t *body = NULL;
	size_t i, n = e2e_members_count(ms), nu;
	uint64_t counter = e2e_members_counter(ms) + 1;
	char root[256];
	e2e_update_layout layout, old = e2e_members_layout(ms);
	int rc = -1, group;

	if (layout_of(o, ms, &layout) != 0)
		return -1;
	group = layout == E2E_UPDATE_LAYOUT_GROUP;
	if (n == 0) {
		cli_err("%s: no members to publish to", o->members);
		return -1;
	}
	update_root(o, ms, root, sizeof root);
	nu = group ? 1 : n;
	so.signer = admin;
	body = group ? NULL : malloc(E2E_UPDATE_MEMBER_BODY_MAX);
	u = calloc(nu, sizeof *u);
	if ((body == NULL && !group) || u == NULL ||
	    e2e_sender_new(&snd, &so) != E2E_OK) {
		cli_err("out of memory");
		goto cleanup;
	}
	if (e2e_members_set_counter(ms, counter) != E2E_OK)
		goto cleanup;
	if (group)
		snprintf(u[0].topic, sizeof u[0].topic, "%s", root);
	for (i = 0; i < nu; i++)
		if (group ? build_group_update(ms, kr, snd, counter, &u[0])
			  : build_member_update(ms, i, kr, snd, counter, root,
						body, &u[i]))
			goto cleanup;
	if (save_members(ms, o->members, 0) != 0 ||
	    keygen_publish(o->host, o->port, u, nu) != 0)
		goto cleanup;
	if (group)
		printf("%s %zu members counter %" PRIu64 "\n", u[0].topic, n,
		       counter);
	for (i = 0; !group && i < n; i++)
		if (e2e_members_get(ms, i, &e) == E2E_OK)
			printf("%s %s counter %" PRIu64 "\n", u[i].topic,
			       e.name, counter);
	rc = layout != old
		     ? switch_layout(o, ms, old, layout, root, counter == 1)
		     : 0;
cleanup:
	for (i = 0; u != NULL && i < nu; i++)
		free(u[i].env);
	free(u);
	free(body);
	e2e_sender_free(snd);
	return rc;
}

/*
 * Remove a member. Per member, its retained update is cleared first (an
 * empty retained message on ROOT/MEMBER-ID): it holds only keys the member
 * had, but it is stale and tells who was in the group. Only once the
 * broker has acknowledged it is the list saved, so a broker out of reach
 * changes nothing. Per group there is nothing of its own to clear: the
 * next update leaves its slot out.
 */
static int admin_remove(const struct opts *o, int unused)
{
	static const uint8_t empty[1];
	struct keygen_update clear = {{0}, (uint8_t *)empty, 0, 0};
	e2e_members *ms = NULL;
	e2e_member_entry e;
	char root[256], name[E2E_MEMBER_NAME_MAX + 1];
	size_t i;
	int rc = -1, group;

	(void)unused;
	if (load_members(o->members, &ms) != 0)
		return -1;
	if (check_layout(o, ms, 0) != 0)
		goto cleanup;
	group = e2e_members_layout(ms) == E2E_UPDATE_LAYOUT_GROUP;
	if (e2e_members_find(ms, o->arg, &i) != E2E_OK ||
	    e2e_members_get(ms, i, &e) != E2E_OK) {
		cli_err("%s: no member '%s'", o->members, o->arg);
		goto cleanup;
	}
	update_root(o, ms, root, sizeof root);
	snprintf(clear.topic, sizeof clear.topic, "%s/%016" PRIx64, root, e.id);
	if (!group && keygen_publish(o->host, o->port, &clear, 1) != 0) {
		cli_err("member '%s' not removed: its retained update on %s "
			"could not be cleared",
			o->arg, clear.topic);
		goto cleanup;
	}
	snprintf(name, sizeof name, "%s", e.name); /* e goes with the entry */
	if (e2e_members_remove(ms, i) != E2E_OK ||
	    save_members(ms, o->members, 0) != 0)
		goto cleanup;
	if (group)
		printf("removed %s (%016" PRIx64 "); the next update on %s "
		       "has no slot for it\n",
		       name, e.id, root);
	else
		printf("removed %s (%016" PRIx64 "); its retained update on "
		       "%s cleared\n",
		       name, e.id, clear.topic);
	rc = 0;
cleanup:
	e2e_members_free(ms);
	return rc;
}

static int admin_load_all(const struct opts *o, e2e_members **ms,
			  e2e_keyring **kr, e2e_signer **admin)
{
	if (load_members(o->members, ms) != 0 ||
	    load_keyring(o->keyring, kr) != 0 || load_admin(o, admin) != 0)
		return -1;
	/* Passed schedule times become states: what members would compute. */
	if (e2e_keyring_advance(*kr, (uint64_t)now()) != E2E_OK) {
		cli_err("%s: cannot advance the keyring", o->keyring);
		return -1;
	}
	return 0;
}

static int admin_publish(const struct opts *o, int unused)
{
	e2e_members *ms = NULL;
	e2e_keyring *kr = NULL;
	e2e_signer *admin = NULL;
	int rc = -1;

	(void)unused;
	if (admin_load_all(o, &ms, &kr, &admin) == 0)
		rc = publish_updates(o, ms, kr, admin);
	e2e_members_free(ms);
	e2e_keyring_free(kr);
	e2e_signer_free(admin);
	return rc;
}

/* One scope's plan (plan_rotation): after the latest primary of the scope
 * of key primary, count keys, every apart. */
static int plan_scope(const struct opts *o, e2e_keyring *kr, e2e_suite suite,
		      uint32_t primary, uint64_t t0, uint64_t lead,
		      uint64_t grace, uint64_t every, uint64_t count)
{
	const char *f = "";
	char *scope = NULL;
	uint32_t last = primary, id;
	uint64_t last_t = 0, act, dis, t, j;
	size_t i, n = e2e_keyring_count(kr);
	e2e_key_info k;
	int rc = -1;

	if (e2e_keyring_get_filters(kr, primary, &f) != E2E_OK ||
	    (scope = strdup(f)) == NULL)
		goto cleanup;
	for (i = 0; i < n; i++)
		if (e2e_keyring_get(kr, i, &k) == E2E_OK &&
		    e2e_keyring_get_filters(kr, k.id, &f) == E2E_OK &&
		    strcmp(f, scope) == 0 &&
		    e2e_keyring_schedule_get(kr, k.id, &act, &dis) == E2E_OK &&
		    act > last_t)
			last = k.id, last_t = act;
	t = last_t != 0 ? last_t + (every ? every : lead) : t0 + lead;
	for (j = 0; j < count; j++, t += every) {
		if (e2e_keyring_generate(kr, suite, E2E_KEY_ENABLED,
					 (int64_t)t0, &id) != E2E_OK ||
		    e2e_keyring_schedule(kr, id, t, 0) != E2E_OK ||
		    e2e_keyring_set_filters(kr, id, scope) != E2E_OK ||
		    e2e_keyring_schedule_get(kr, last, &act, &dis) != E2E_OK ||
		    e2e_keyring_schedule(kr, last, act, t + grace) != E2E_OK)
			goto cleanup;
		printf("key %08" PRIx32 " primary at %" PRIu64 ", %08" PRIx32
		       " disabled at %" PRIu64 "\n",
		       id, t, last, t + grace);
		last = id;
	}
	rc = 0;
cleanup:
	if (rc != 0)
		cli_err("%s: cannot add a key", o->keyring);
	free(scope);
	return rc;
}

/*
 * Tink's order for every scope (keys with the same filters) that has a
 * primary now or later: delete the keys already disabled (an earlier
 * update listed them so), add count new keys, each primary at its time
 * T_i = T_1 + (i-1) every, and give the key each one replaces disables
 * T_i + grace. T_1 is now + lead, or, when a primary is already pending,
 * its time + every (or + lead), so a cron job chains plans.
 */
static int plan_rotation(const struct opts *o, e2e_keyring *kr, e2e_suite suite)
{
	uint64_t lead = 3600, grace = 3600, every = 0, count = 1;
	uint64_t t0 = (uint64_t)now();
	uint32_t primaries[E2E_UPDATE_KEYS_MAX];
	size_t i, n, np;
	e2e_key_info info;

	if ((o->lead && parse_duration("--lead", o->lead, &lead) != 0) ||
	    (o->grace && parse_duration("--grace", o->grace, &grace) != 0) ||
	    (o->every && parse_duration("--every", o->every, &every) != 0))
		return -1;
	if (o->every != NULL)
		count = 3;
	if (o->count != NULL) {
		char *end;
		errno = 0;
		count = strtoull(o->count, &end, 10);
		if (errno != 0 || *end != '\0' || count < 1 || count > 16 ||
		    (count > 1 && o->every == NULL)) {
			cli_err("invalid --count '%s' (1 to 16, more than 1 "
				"needs --every)",
				o->count);
			return -1;
		}
	}
	if (every == 0 && count > 1)
		return -1;
	/* Delete what is disabled: the last step of the previous round. */
	for (i = e2e_keyring_count(kr); i-- > 0;)
		if (e2e_keyring_get(kr, i, &info) == E2E_OK &&
		    info.state == E2E_KEY_DISABLED &&
		    e2e_keyring_remove(kr, info.id) != E2E_OK)
			return -1;
	/* The stored primaries, one per scope, before keys are added. */
	n = e2e_keyring_count(kr);
	for (i = 0, np = 0; i < n && np < E2E_UPDATE_KEYS_MAX; i++)
		if (e2e_keyring_get(kr, i, &info) == E2E_OK &&
		    info.state == E2E_KEY_PRIMARY)
			primaries[np++] = info.id;
	for (i = 0; i < np; i++)
		if (plan_scope(o, kr, suite, primaries[i], t0, lead, grace,
			       every, count) != 0)
			return -1;
	return 0;
}

static int admin_rotate(const struct opts *o, int unused)
{
	e2e_members *ms = NULL;
	e2e_keyring *kr = NULL;
	e2e_signer *admin = NULL;
	e2e_suite suite = E2E_SUITE_AEAD;
	int rc = -1;

	(void)unused;
	if (o->suite != NULL && parse_suite(o->suite, &suite) != 0)
		return -1;
	if (admin_load_all(o, &ms, &kr, &admin) == 0 &&
	    plan_rotation(o, kr, suite) == 0 &&
	    save_keyring(kr, o->keyring, 0) == 0)
		rc = publish_updates(o, ms, kr, admin);
	e2e_members_free(ms);
	e2e_keyring_free(kr);
	e2e_signer_free(admin);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Commands                                                               */
/* ---------------------------------------------------------------------- */

struct command {
	const char *object, *verb;
	unsigned allowed, required; /* OPT_* */
	int wants_id;
	int (*run)(const struct opts *o, int param);
	int param;
};

#define K OPT_KEYRING
#define SP (OPT_SECRET | OPT_PUBLIC)
#define ADMIN_REQ (OPT_MEMBERS | K | OPT_SECRET)
#define ADMIN                                                         \
	(ADMIN_REQ | OPT_PASS_FILE | OPT_HOST | OPT_PORT | OPT_ROOT | \
	 OPT_LAYOUT)
static const struct command commands[] = {
	{"keyring", "init", K | OPT_SUITE | OPT_FORCE, K, 0, keyring_init, 0},
	{"keyring", "add", K | OPT_SUITE | OPT_TOPICS, K, 0, keyring_new_key,
	 E2E_KEY_ENABLED},
	{"keyring", "rotate", K | OPT_SUITE | OPT_TOPICS, K, 0, keyring_new_key,
	 E2E_KEY_PRIMARY},
	{"keyring", "promote", K, K, 1, keyring_change, E2E_KEY_PRIMARY},
	{"keyring", "enable", K, K, 1, keyring_change, E2E_KEY_ENABLED},
	{"keyring", "disable", K, K, 1, keyring_change, E2E_KEY_DISABLED},
	{"keyring", "delete", K, K, 1, keyring_change, -1},
	{"keyring", "list", K, K, 0, keyring_list, 0},
	{"signer", "new", SP | OPT_NO_PASS | OPT_PASS_FILE | OPT_FORCE, SP, 0,
	 signer_new, 0},
	{"signer", "pub", SP | OPT_FORCE, OPT_SECRET, 0, signer_pub, 0},
	{"signer", "passwd",
	 OPT_SECRET | OPT_PASS_FILE | OPT_NEW_PASS_FILE | OPT_NO_PASS,
	 OPT_SECRET, 0, signer_passwd, 0},
	{"trust", "add", OPT_TRUST | OPT_PUBLIC | OPT_TOPICS,
	 OPT_TRUST | OPT_PUBLIC | OPT_TOPICS, 0, trust_add, 0},
	{"trust", "list", OPT_TRUST, OPT_TRUST, 0, trust_list, 0},
	{"member", "init", SP | OPT_NO_PASS | OPT_PASS_FILE | OPT_FORCE, SP, 0,
	 signer_new, 1},
	{"admin", "enrol",
	 OPT_MEMBERS | OPT_GROUP | OPT_PUBLIC | OPT_TOPICS | OPT_LAYOUT,
	 OPT_MEMBERS | OPT_PUBLIC, 1, admin_enrol, 0},
	{"admin", "remove",
	 OPT_MEMBERS | OPT_HOST | OPT_PORT | OPT_ROOT | OPT_LAYOUT, OPT_MEMBERS,
	 1, admin_remove, 0},
	{"admin", "list", OPT_MEMBERS, OPT_MEMBERS, 0, admin_list, 0},
	{"admin", "publish", ADMIN, ADMIN_REQ, 0, admin_publish, 0},
	{"admin", "rotate",
	 ADMIN | OPT_LEAD | OPT_GRACE | OPT_EVERY | OPT_COUNT | OPT_SUITE,
	 ADMIN_REQ, 0, admin_rotate, 0},
};
#undef K
#undef SP
#undef ADMIN
#undef ADMIN_REQ

static int is_help(const char *s)
{
	return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0;
}

int main(int argc, char **argv)
{
	const struct command *c = NULL;
	struct opts o;
	char name[64];
	size_t i;
	int rc;

	cli_protect_process();
	cli_report_init(PROG);
	if ((argc >= 2 && is_help(argv[1])) ||
	    (argc >= 3 && is_help(argv[2]))) {
		usage(stdout);
		return 0;
	}
	if (argc < 3) {
		usage(stderr);
		return 1;
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].object, argv[1]) == 0 &&
		    strcmp(commands[i].verb, argv[2]) == 0)
			c = &commands[i];
	if (c == NULL) {
		cli_err("unknown command '%s %s' (see --help)", argv[1],
			argv[2]);
		return 1;
	}
	if (e2e_init() != E2E_OK) {
		cli_err("cannot initialise libsodium");
		return 1;
	}
	snprintf(name, sizeof name, "%s %s", c->object, c->verb);
	if (parse_options(argc, argv, &o) != 0 ||
	    check_options(&o, c->allowed, c->required, c->wants_id, name) != 0)
		return 1;
	rc = c->run(&o, c->param);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_err("standard output: %s", strerror(errno));
		rc = -1;
	}
	return rc == 0 ? 0 : 1;
}
