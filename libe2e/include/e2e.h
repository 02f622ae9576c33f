/*
 * libe2e — end-to-end payload security for MQTT.
 *
 * This is the only public header. The byte format it produces and accepts is
 * specified in docs/ENVELOPE.md; key files in docs/KEYFILES.md.
 *
 * Conventions (as in libsodium and BearSSL):
 *  - every function that can fail returns E2E_OK (0) or a negative e2e_err;
 *    e2e_strerror() and e2e_err_name() turn any value into text, never NULL;
 *  - the library never prints, never exits and never aborts on any input;
 *  - the caller owns every output buffer and passes its capacity; the seal and
 *    open paths never allocate;
 *  - every size is both a macro (E2E_*) and a function (e2e_*()) so bindings
 *    never hard-code numbers;
 *  - objects (keyring, trust set, signer, sender, guard) are opaque, created
 *    by *_new() and released by *_free(), which wipes any secret they hold.
 *    None of them is thread-safe: use one per thread or lock around it.
 *
 * e2e_init() MUST be called once before anything else (it initialises
 * libsodium); it is safe to call it again.
 */
#ifndef E2E_H
#define E2E_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define E2E_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define E2E_WARN_UNUSED
#endif

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * One list gives the enum, e2e_err_name(), e2e_strerror() and e2e_reason().
 * XX(name, value, reason token, message).
 * The reason token is the stable word e2e-sub prints for a rejected message
 * (docs/ENVELOPE.md, "Rejection reasons"); tokens never change meaning.
 * Values never change either; new errors take new values.
 */
#define E2E_ERRNO_MAP(XX)                                                      \
	XX(OK, 0, "ok", "success")                                             \
	XX(ERR_INVAL, -1, "invalid", "invalid argument")                       \
	XX(ERR_NOMEM, -2, "no-memory", "out of memory")                        \
	XX(ERR_BUFFER_TOO_SMALL, -3, "buffer", "output buffer too small")      \
	XX(ERR_TOO_LARGE, -4, "too-large", "payload too large")                \
	XX(ERR_TOPIC, -5, "bad-topic",                                         \
	   "topic is empty, too long or contains a wildcard")                  \
	XX(ERR_NOT_E2E, -6, "not-e2e", "not an e2e envelope")                  \
	XX(ERR_VERSION, -7, "malformed", "unsupported envelope version")       \
	XX(ERR_RESERVED, -8, "malformed", "reserved header bits are set")      \
	XX(ERR_MALFORMED, -9, "malformed",                                     \
	   "malformed envelope (truncated or inconsistent)")                   \
	XX(ERR_UNKNOWN_KEY, -10, "unknown-key", "unknown key id")              \
	XX(ERR_DISABLED_KEY, -11, "disabled-key", "key is disabled")           \
	XX(ERR_SUITE_MISMATCH, -12, "suite-mismatch",                          \
	   "envelope suite does not match the key's suite")                    \
	XX(ERR_UNENCRYPTED, -13, "unencrypted",                                \
	   "encryption required but message is not encrypted")                 \
	XX(ERR_UNSIGNED, -14, "unsigned",                                      \
	   "signature required but message is not signed")                     \
	XX(ERR_UNTRUSTED_SIGNER, -15, "untrusted-signer",                      \
	   "signer is not trusted for this topic")                             \
	XX(ERR_REPLAY, -16, "replay",                                          \
	   "sequence number already seen or below the window")                 \
	XX(ERR_TOO_OLD, -17, "too-old", "message is older than allowed")       \
	XX(ERR_FUTURE, -18, "future",                                          \
	   "message timestamp is too far in the future")                       \
	XX(ERR_NO_TIMESTAMP, -19, "no-timestamp",                              \
	   "first message from a sender without a clock refused")              \
	XX(ERR_NOT_RETAINED, -20, "not-retained",                              \
	   "delivered as retained but not sealed for retention")               \
	XX(ERR_STALE_RETAINED, -21, "stale-retained",                          \
	   "older than the retained message already seen on this topic")       \
	XX(ERR_BAD_TAG, -22, "bad-tag", "authentication tag does not verify")  \
	XX(ERR_BAD_SIGNATURE, -23, "bad-signature",                            \
	   "signature does not verify")                                        \
	XX(ERR_NO_KEY, -24, "no-key", "no primary key to seal with")           \
	XX(ERR_SEQ_EXHAUSTED, -25, "seq-exhausted",                            \
	   "sequence numbers exhausted for this sender")                       \
	XX(ERR_IO, -26, "io", "file input/output error")                       \
	XX(ERR_STATE_CORRUPT, -27, "state-corrupt",                            \
	   "replay state file is corrupt")                                     \
	XX(ERR_KEYFILE, -28, "keyfile", "key file is malformed")               \
	XX(ERR_KEYFILE_VERSION, -29, "keyfile",                                \
	   "key file has an unknown version")                                  \
	XX(ERR_PERMISSIONS, -30, "permissions",                                \
	   "secret file is readable by group or others")                       \
	XX(ERR_PASSPHRASE, -31, "passphrase", "wrong passphrase")              \
	XX(ERR_DUPLICATE_KEY, -32, "duplicate-key", "duplicate key id")        \
	XX(ERR_TWO_PRIMARIES, -33, "keyfile", "more than one primary key")     \
	XX(ERR_EXISTS, -34, "exists", "file already exists")                   \
	XX(ERR_NOT_FOUND, -35, "not-found", "no such key or signer")           \
	XX(ERR_IS_PRIMARY, -36, "is-primary",                                  \
	   "the primary key cannot be disabled or deleted")                    \
	XX(ERR_EMPTY, -37, "keyfile", "file is empty")                         \
	XX(ERR_TRUNCATED, -38, "keyfile", "key file is truncated")             \
	XX(ERR_BASE64, -39, "keyfile",                                         \
	   "key file has corrupt base64 or a value of the wrong length")       \
	XX(ERR_NO_PRIMARY, -40, "keyfile", "keyring file has no primary key")  \
	XX(ERR_NOT_SUBSCRIBED, -41, "not-subscribed",                          \
	   "topic matches none of the subscribed filters")                     \
	XX(ERR_WRITABLE, -42, "permissions",                                   \
	   "file is writable by others or owned by another user")              \
	XX(ERR_LOCKED, -43, "locked", "file is locked by another sender")      \
	XX(ERR_UNSAFE_FILE, -44, "unsafe-file",                                \
	   "file is a symbolic link or owned by another user")                 \
	XX(ERR_BAD_UPDATE, -45, "bad-update", "malformed key update")          \
	XX(ERR_WRONG_GROUP, -46, "wrong-group",                                \
	   "key update is for another group")                                  \
	XX(ERR_ROLLBACK, -47, "rollback",                                      \
	   "key update is older than the one already applied")                 \
	XX(ERR_NOT_RECIPIENT, -48, "not-recipient",                            \
	   "key update holds no keys for this member")                         \
	XX(ERR_BAD_SLOT, -49, "bad-slot",                                      \
	   "this member's keys in the update do not open or do not match")     \
	XX(ERR_KEY_TOPIC, -50, "key-topic",                                    \
	   "the key is not for this topic")                                    \
	XX(ERR_STORE_UNAVAILABLE, -60, "store-unavailable",                    \
	   "the shared replay state store is unreachable")                     \
	XX(ERR_STORE_ERROR, -61, "store-error",                                \
	   "the shared replay state store answered with an error")             \
	XX(ERR_STORE_AUTH, -62, "store-auth",                                  \
	   "the shared replay state store refused the credentials")            \
	XX(ERR_STORE_MISMATCH, -63, "store-mismatch",                          \
	   "the shared replay state was made with other guard sizes")          \
	XX(ERR_STORE_UNSUPPORTED, -64, "store-unsupported",                    \
	   "this build cannot reach that store (rediss:// needs TLS)")         \
	XX(ERR_STORE_TLS, -65, "store-tls",                                    \
	   "the TLS connection to the shared replay state store failed")       \
	XX(ERR_STORE_PROTOCOL, -66, "store-protocol",                          \
	   "the shared replay state is of another protocol version")

typedef enum e2e_err {
#define E2E__ENUM(name, value, reason, msg) E2E_##name = value,
	E2E_ERRNO_MAP(E2E__ENUM)
#undef E2E__ENUM
} e2e_err;

/* "E2E_ERR_BAD_TAG" for E2E_ERR_BAD_TAG; "E2E_ERR_UNKNOWN" for other values. */
const char *e2e_err_name(int err);
/* A one-line English sentence without a final period. */
const char *e2e_strerror(int err);
/* The stable rejection token ("bad-tag", "replay", ...); "unknown" otherwise. */
const char *e2e_reason(int err);

/* Initialise libsodium. Returns E2E_OK or E2E_ERR_NOMEM. */
int e2e_init(void) E2E_WARN_UNUSED;

/* ------------------------------------------------------------------------ */
/* Sizes (docs/ENVELOPE.md gives the layout)                                */
/* ------------------------------------------------------------------------ */

#define E2E_MAGIC_V1 0xFDu
#define E2E_KEYBYTES 32u         /* a shared key, either suite */
#define E2E_HEADER_BYTES 26u     /* magic .. sequence, every suite */
#define E2E_SALT_BYTES 8u        /* aead only, right after the header */
#define E2E_TAG_BYTES 16u        /* aead and mac */
#define E2E_SIG_BYTES 64u        /* Ed25519, when signed */
#define E2E_SIGN_PUBLICKEYBYTES 32u
#define E2E_SIGN_SECRETKEYBYTES 64u /* libsodium layout: seed || public */
#define E2E_SIGN_SEEDBYTES 32u
#define E2E_TOPIC_MAX 4096u          /* bytes of a topic name, v1 limit */
#define E2E_PAYLOAD_MAX 0x0FF00000u  /* 255 MiB, below MQTT's packet limit */

#define E2E_OVERHEAD_AEAD (E2E_HEADER_BYTES + E2E_SALT_BYTES + E2E_TAG_BYTES)
#define E2E_OVERHEAD_MAC (E2E_HEADER_BYTES + E2E_TAG_BYTES)
#define E2E_OVERHEAD_SIGNONLY (E2E_HEADER_BYTES + E2E_SIG_BYTES)
/* The largest overhead of any mode: signed aead. */
#define E2E_OVERHEAD_MAX (E2E_OVERHEAD_AEAD + E2E_SIG_BYTES)
/* A buffer of E2E_SEALED_MAX(n) bytes holds the envelope of n bytes in any mode. */
#define E2E_SEALED_MAX(n) ((size_t)(n) + E2E_OVERHEAD_MAX)

size_t e2e_keybytes(void);
size_t e2e_header_bytes(void);
size_t e2e_salt_bytes(void);
size_t e2e_tag_bytes(void);
size_t e2e_sig_bytes(void);
size_t e2e_sign_publickeybytes(void);
size_t e2e_sign_secretkeybytes(void);
size_t e2e_sign_seedbytes(void);
size_t e2e_topic_max(void);
size_t e2e_payload_max(void);
size_t e2e_overhead_max(void);

/* ------------------------------------------------------------------------ */
/* Suites, keys and the in-memory keyring                                   */
/* ------------------------------------------------------------------------ */

typedef enum e2e_suite {
	E2E_SUITE_AEAD = 0, /* XChaCha20-Poly1305: payload encrypted */
	E2E_SUITE_MAC = 1,  /* HMAC-SHA-256/128: payload in clear */
	E2E_SUITE_NONE = 2  /* no shared key: Ed25519 signature only */
} e2e_suite;

/* Bytes an envelope adds to a payload: suite overhead, +64 when signed.
 * Returns 0 for an invalid suite or a signature-only envelope that is not
 * signed. */
size_t e2e_overhead(e2e_suite suite, int is_signed);
/* Envelope length for an n-byte payload, 0 when invalid or too large. */
size_t e2e_sealed_len(e2e_suite suite, int is_signed, size_t n);

/* "aead", "mac", "none"; NULL-safe: "invalid" for other values. */
const char *e2e_suite_name(e2e_suite suite);
/* Parse "aead" / "mac" / "none". */
int e2e_suite_parse(const char *s, e2e_suite *out) E2E_WARN_UNUSED;

typedef enum e2e_key_state {
	E2E_KEY_DISABLED = 0, /* kept to give "disabled-key"; never accepted */
	E2E_KEY_ENABLED = 1,  /* accepted when opening */
	E2E_KEY_PRIMARY = 2   /* accepted, and used to seal; at most one */
} e2e_key_state;

const char *e2e_key_state_name(e2e_key_state st);
int e2e_key_state_parse(const char *s, e2e_key_state *out) E2E_WARN_UNUSED;

/* What may be said of a key without revealing it. */
typedef struct e2e_key_info {
	uint32_t id; /* never 0 */
	e2e_suite suite;
	e2e_key_state state;
	int64_t created; /* Unix seconds */
} e2e_key_info;

typedef struct e2e_keyring e2e_keyring;

int e2e_keyring_new(e2e_keyring **out) E2E_WARN_UNUSED;
void e2e_keyring_free(e2e_keyring *kr); /* wipes; NULL-safe */
/* Add a key. Adding a primary demotes the previous primary to enabled.
 * Errors: E2E_ERR_INVAL (id 0, suite NONE), E2E_ERR_DUPLICATE_KEY. */
int e2e_keyring_add(e2e_keyring *kr, const e2e_key_info *info,
		    const uint8_t key[E2E_KEYBYTES]) E2E_WARN_UNUSED;
/* Add a fresh random key under a fresh random id; *id_out gets the id. */
int e2e_keyring_generate(e2e_keyring *kr, e2e_suite suite,
			 e2e_key_state state, int64_t created,
			 uint32_t *id_out) E2E_WARN_UNUSED;
/* Promoting to primary demotes the old primary to enabled. The primary
 * cannot be disabled (E2E_ERR_IS_PRIMARY): promote another key first. */
int e2e_keyring_set_state(e2e_keyring *kr, uint32_t id,
			  e2e_key_state state) E2E_WARN_UNUSED;
/* Refuses the primary (E2E_ERR_IS_PRIMARY). */
int e2e_keyring_remove(e2e_keyring *kr, uint32_t id) E2E_WARN_UNUSED;
size_t e2e_keyring_count(const e2e_keyring *kr);
/* Keys in increasing id order, index 0 .. count-1. */
int e2e_keyring_get(const e2e_keyring *kr, size_t index,
		    e2e_key_info *info) E2E_WARN_UNUSED;
/* O(log n). E2E_ERR_NOT_FOUND when absent. */
int e2e_keyring_find(const e2e_keyring *kr, uint32_t id,
		     e2e_key_info *info) E2E_WARN_UNUSED;
/* E2E_ERR_NO_KEY when the keyring has no primary. */
int e2e_keyring_primary(const e2e_keyring *kr,
			e2e_key_info *info) E2E_WARN_UNUSED;

/* ------------------------------------------------------------------------ */
/* Signers (Ed25519) and the trust set                                      */
/* ------------------------------------------------------------------------ */

/* A signer id is the first 8 bytes, big-endian, of BLAKE2b-256(public key). */
uint64_t e2e_signer_id_from_public(const uint8_t pk[E2E_SIGN_PUBLICKEYBYTES]);

typedef struct e2e_signer e2e_signer; /* secret key in sodium_malloc memory */

int e2e_signer_generate(e2e_signer **out) E2E_WARN_UNUSED;
int e2e_signer_from_seed(e2e_signer **out,
			 const uint8_t seed[E2E_SIGN_SEEDBYTES]) E2E_WARN_UNUSED;
int e2e_signer_from_secret(e2e_signer **out,
			   const uint8_t sk[E2E_SIGN_SECRETKEYBYTES])
	E2E_WARN_UNUSED;
void e2e_signer_free(e2e_signer *s); /* wipes; NULL-safe */
void e2e_signer_public(const e2e_signer *s,
		       uint8_t pk[E2E_SIGN_PUBLICKEYBYTES]);
uint64_t e2e_signer_id(const e2e_signer *s);

/*
 * The signers a receiver accepts, each with the MQTT topic filters it may
 * publish on. Filters use MQTT wildcards: '+' one level, '#' the rest.
 */
typedef struct e2e_trust e2e_trust;

int e2e_trust_new(e2e_trust **out) E2E_WARN_UNUSED;
void e2e_trust_free(e2e_trust *t); /* NULL-safe */
/* filters: comma-separated list, e.g. "sensors/+/temp,alerts/#".
 * E2E_ERR_INVAL for an invalid filter, E2E_ERR_DUPLICATE_KEY when a signer
 * with the same id (or a colliding id) is already present. */
int e2e_trust_add(e2e_trust *t, const uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
		  const char *filters) E2E_WARN_UNUSED;
size_t e2e_trust_count(const e2e_trust *t);
/* The index-th signer (in insertion order): its public key and filters
 * (the string stays valid until the trust set changes or is freed). */
int e2e_trust_get(const e2e_trust *t, size_t index,
		  uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
		  const char **filters) E2E_WARN_UNUSED;

/* 1 when the topic name matches the filter under MQTT rules, else 0. */
int e2e_topic_matches(const char *filter, const char *topic);
/* E2E_OK for a valid filter ('+' and '#' only as whole levels, '#' last). */
int e2e_filter_check(const char *filter) E2E_WARN_UNUSED;
/*
 * 1 when a message on topic can be a delivery for the subscription, else 0.
 * A subscription is a filter as given to SUBSCRIBE: an MQTT 5 shared
 * subscription "$share/GROUP/FILTER" is matched by its FILTER, other
 * filters as e2e_topic_matches() does. A malformed subscription matches
 * nothing.
 */
int e2e_subscription_matches(const char *subscription, const char *topic);

/* ------------------------------------------------------------------------ */
/* Sealing                                                                  */
/* ------------------------------------------------------------------------ */

/* Flags for sealing: mark the message as meant to be retained by the broker
 * (set it exactly when the PUBLISH has the retain flag). */
#define E2E_SEAL_RETAINED 0x1u

/*
 * The explicit form: every input given, including the randomness (salt).
 * For test vectors, bindings and other implementations; applications use a
 * sender (below), which manages sequence numbers and salts.
 *
 * key is NULL exactly when suite is E2E_SUITE_NONE; key_id is then 0.
 * When signer is set, sender_id MUST equal its signer id (E2E_ERR_INVAL).
 * salt (8 bytes) is read for the aead suite only.
 */
typedef struct e2e_seal_params {
	e2e_suite suite;
	uint32_t key_id;
	const uint8_t *key;       /* E2E_KEYBYTES, or NULL */
	const e2e_signer *signer; /* NULL: not signed */
	uint64_t sender_id;
	uint64_t seq;       /* epoch (high 32 bits) || counter (low 32) */
	uint32_t timestamp; /* Unix seconds, 0 when the sender has no clock */
	uint32_t flags;     /* E2E_SEAL_RETAINED */
	const uint8_t *salt; /* E2E_SALT_BYTES, aead only */
} e2e_seal_params;

/* On error *out_len is 0 and out is zeroed up to out_cap bytes. */
int e2e_seal_explicit(const e2e_seal_params *p, const char *topic,
		      const uint8_t *msg, size_t msg_len, uint8_t *out,
		      size_t out_cap, size_t *out_len) E2E_WARN_UNUSED;

typedef struct e2e_sender e2e_sender;

typedef struct e2e_sender_opts {
	/* 0: a random sender id. Ignored with a signer: its id is used. */
	uint64_t sender_id;
	/* First epoch (the counter starts at 0). 0: the clock, in units of
	 * 2^-32 s (the epoch is the Unix second, the counter starts at its
	 * fraction), which later starts exceed as long as the clock does not
	 * go back. A sender that restarts MUST start above every sequence
	 * number it used before (a signer's id never changes): persist them
	 * with e2e_epoch_reserve, or rely on the clock. */
	uint32_t epoch;
	const e2e_signer *signer; /* borrowed; NULL: unsigned */
	int no_clock;             /* 1: timestamps are 0 */
} e2e_sender_opts;

/* opts may be NULL for defaults. */
int e2e_sender_new(e2e_sender **out,
		   const e2e_sender_opts *opts) E2E_WARN_UNUSED;
void e2e_sender_free(e2e_sender *s); /* NULL-safe */
uint64_t e2e_sender_id(const e2e_sender *s);
/* The sequence number the next seal will use. */
uint64_t e2e_sender_next_seq(const e2e_sender *s);
/* Move the next sequence number forward to seq (e2e_epoch_reserve's
 * first_seq); a smaller seq changes nothing: a sender never goes back. */
void e2e_sender_advance(e2e_sender *s, uint64_t seq);

/*
 * Epoch files: sequence numbers that never repeat across restarts
 * (docs/ENVELOPE.md section 9). The file records a bound above every
 * sequence number its sender has used; a new start takes the larger of that
 * bound and the clock (Unix time in units of 2^-32 s: the epoch is the
 * second, the counter starts at its fraction), so that the sender never runs
 * ahead of its clock and a start that lost the file is still above every
 * earlier one.
 *
 * e2e_epoch_reserve locks path (through path.lock, which records the
 * holder's PID) for as long as the caller holds *out, reads the bound
 * (E2E_ERR_STATE_CORRUPT if the file is not an epoch file), waits up to one
 * second for the clock when the bound is ahead of it (a longer lead, a clock
 * stepped back, is kept: *first_seq is then ahead of the clock), writes a
 * new bound atomically and only then returns the first sequence number to
 * use. A second holder of the same path, in any process, gets E2E_ERR_LOCKED
 * with *holder_pid (if not NULL) set to the first one's PID (0 if unknown).
 * The file, the lock file and the atomic writer's temporary file are never
 * followed through a symbolic link, and files owned by another user are
 * refused: E2E_ERR_UNSAFE_FILE with errno ELOOP or EPERM. E2E_ERR_IO sets
 * errno; E2E_ERR_SEQ_EXHAUSTED when the bound is the last sequence number.
 *
 * Before each seal, e2e_epoch_renew(lock, e2e_sender_next_seq(s)): E2E_OK at
 * once while next_seq is covered, otherwise one more file write; do not seal
 * when it fails. e2e_epoch_release records next_seq (0: leaves the file as
 * it is), unlocks and frees; NULL-safe.
 */
typedef struct e2e_epoch_lock e2e_epoch_lock;
int e2e_epoch_reserve(e2e_epoch_lock **out, const char *path,
		      uint64_t *first_seq, long *holder_pid) E2E_WARN_UNUSED;
int e2e_epoch_renew(e2e_epoch_lock *lock, uint64_t next_seq) E2E_WARN_UNUSED;
int e2e_epoch_release(e2e_epoch_lock *lock, uint64_t next_seq);

/*
 * Seal msg for topic with the keyring's primary key (and the sender's signer
 * if it has one). kr NULL: signature only (the sender needs a signer).
 * Uses one sequence number per successful call.
 */
int e2e_seal(e2e_sender *s, const e2e_keyring *kr, const char *topic,
	     const uint8_t *msg, size_t msg_len, uint32_t flags, uint8_t *out,
	     size_t out_cap, size_t *out_len) E2E_WARN_UNUSED;

/* ------------------------------------------------------------------------ */
/* Parsing and opening                                                      */
/* ------------------------------------------------------------------------ */

/* What the header of an envelope says. Authentic only after e2e_open()
 * returned E2E_OK. */
typedef struct e2e_info {
	e2e_suite suite;
	int is_signed;
	int retained; /* retained intent, from the header */
	uint32_t key_id;
	uint64_t sender_id; /* the signer id when signed */
	uint64_t seq;
	uint32_t timestamp;
	size_t payload_len;
} e2e_info;

size_t e2e_info_sizeof(void);

/* Check the structure of an envelope and fill info; no key needed, nothing
 * verified. Errors: NOT_E2E, VERSION, RESERVED, MALFORMED. */
int e2e_parse(const uint8_t *env, size_t env_len,
	      e2e_info *info) E2E_WARN_UNUSED;

/* Receiver requirements. Signature requirement is a receiver decision, never
 * a header flag. */
#define E2E_REQUIRE_ENCRYPTION 0x1u
#define E2E_REQUIRE_SIGNATURE 0x2u

/* How the broker delivered the message. */
#define E2E_DELIVERY_RETAINED 0x1u /* the PUBLISH had the retain flag */

typedef struct e2e_guard e2e_guard;

/*
 * Everything a receiver decides with. Fill it in; the library only reads
 * it (and updates *guard after a message is accepted). The policy steps
 * (require flags, trust, and refusing a retained delivery of a message not
 * sealed for retention) apply with or without a guard.
 */
typedef struct e2e_receiver {
	const e2e_keyring *keyring; /* NULL: only signature-only accepted */
	const e2e_trust *trust;     /* NULL: no signed message accepted */
	e2e_guard *guard;  /* NULL: no replay or freshness checks */
	uint32_t require;  /* E2E_REQUIRE_* */
	uint64_t now;      /* Unix seconds; 0: read the system clock */
	/*
	 * The subscriptions this receiver made (filters as given to SUBSCRIBE,
	 * "$share/GROUP/" prefixes included). A subscriber SHOULD set them: a
	 * broker can deliver a genuine envelope sealed for a topic nobody
	 * subscribed to, and it verifies, being authentic for that topic.
	 * With filter_count > 0, e2e_open() refuses every topic that matches
	 * none of them (E2E_ERR_NOT_SUBSCRIBED) before anything else.
	 * filter_count 0: every topic is taken (the caller checks).
	 */
	const char *const *filters;
	size_t filter_count;
} e2e_receiver;

/*
 * Verify and open an envelope received on topic. Processing order (see
 * docs/ENVELOPE.md): subscription check, parse, key lookup, policy, replay
 * pre-check, time window, tag, signature, and only then update the guard.
 *
 * out needs room for info.payload_len bytes (env_len is always enough).
 * out must not overlap env; env is never written.
 * On error nothing is delivered: *out_len is 0, out is zeroed (up to the
 * smaller of out_cap and the payload length), and info, if not NULL, holds
 * the parsed header when parsing got that far (for diagnostics only).
 */
int e2e_open(const e2e_receiver *r, const char *topic, const uint8_t *env,
	     size_t env_len, uint32_t delivery, uint8_t *out, size_t out_cap,
	     size_t *out_len, e2e_info *info) E2E_WARN_UNUSED;

/* ------------------------------------------------------------------------ */
/* Replay guard                                                             */
/* ------------------------------------------------------------------------ */

/* Accept the first message of an unknown sender whose timestamp is 0
 * (a sender without a clock): trust on first use. A signer evicted from the
 * guard is not a first contact again: it must resume above the highest
 * sequence accepted from it (docs/ENVELOPE.md section 7). */
#define E2E_GUARD_ACCEPT_NO_CLOCK 0x1u

typedef struct e2e_guard_opts {
	uint32_t window; /* positions per sender: multiple of 64, 64..65536 */
	uint32_t max_senders; /* tracked senders before eviction, 1..2^24 */
	uint32_t max_retained_topics; /* tracked retained topics, 1..2^24 */
	uint32_t max_age;  /* seconds; 0: no age limit */
	uint32_t max_skew; /* seconds a timestamp may be ahead of now */
	uint32_t flags;    /* E2E_GUARD_* */
	/* Seconds a retained delivery may be old (its timestamp before now),
	 * else too-old; 0: no limit. Appended last: keep it last. */
	uint32_t max_retained_age;
} e2e_guard_opts;

#define E2E_GUARD_DEFAULT_WINDOW 256u
#define E2E_GUARD_DEFAULT_MAX_SENDERS 4096u
#define E2E_GUARD_DEFAULT_MAX_RETAINED 4096u
#define E2E_GUARD_DEFAULT_MAX_AGE 300u
#define E2E_GUARD_DEFAULT_MAX_SKEW 30u
#define E2E_GUARD_DEFAULT_MAX_RETAINED_AGE 0u

void e2e_guard_opts_default(e2e_guard_opts *o);
/* opts NULL: defaults. Allocates everything up front. */
int e2e_guard_new(e2e_guard **out,
		  const e2e_guard_opts *opts) E2E_WARN_UNUSED;
void e2e_guard_free(e2e_guard *g); /* NULL-safe */

/*
 * The replay pre-check and time window, without changing state: E2E_OK or
 * REPLAY, TOO_OLD, FUTURE, NO_TIMESTAMP, NOT_RETAINED, STALE_RETAINED.
 * info must come from an envelope already parsed; now in Unix seconds.
 */
int e2e_guard_check(const e2e_guard *g, const e2e_info *info,
		    const char *topic, uint32_t delivery,
		    uint64_t now) E2E_WARN_UNUSED;
/* Record an accepted message. Call only after e2e_guard_check() and full
 * verification succeeded (e2e_open does both). */
void e2e_guard_commit(e2e_guard *g, const e2e_info *info, const char *topic,
		      uint32_t delivery, uint64_t now);
size_t e2e_guard_sender_count(const e2e_guard *g);
/* Bytes of memory per tracked sender, for sizing. */
size_t e2e_guard_bytes_per_sender(const e2e_guard *g);

/* Save atomically (temporary file in the same directory, fsync, rename,
 * fsync of the directory), mode 0600. */
int e2e_guard_save(const e2e_guard *g, const char *path) E2E_WARN_UNUSED;
/*
 * Replace the guard's state with the file's. E2E_ERR_IO (see errno) when it
 * cannot be read, E2E_ERR_WRITABLE when group or others may write it or
 * another user than the effective user or root owns it (as key files),
 * E2E_ERR_STATE_CORRUPT when it is not a valid state file; then *bad_line (if
 * not NULL) is the 1-based line at fault (0: the file as a whole) and the
 * guard is unchanged.
 */
int e2e_guard_load(e2e_guard *g, const char *path,
		   size_t *bad_line) E2E_WARN_UNUSED;

/* ------------------------------------------------------------------------ */
/* Key schedules and key updates (docs/KEYDIST.md)                          */
/* ------------------------------------------------------------------------ */

/* E2E_KEYDIST_BEGIN — declarations for key distribution, kept together. */

/*
 * A key's schedule: the time it becomes primary (activates) and the time it
 * is disabled (disables), Unix seconds, 0 for none. A keyring's state at a
 * time t is (docs/KEYDIST.md section 8):
 *  - a key whose disable time has come (disables != 0, t >= disables) is
 *    disabled, as is a key stored disabled;
 *  - the key that became primary last is, among keys whose activation time
 *    has come (activates != 0, activates <= t), the one with the latest
 *    activation time (the larger id on a tie), else the stored primary; it
 *    is the primary unless it is disabled at t (then there is none: the key
 *    it replaced is never revived);
 *  - every other key has its stored state (a stored primary that another
 *    key superseded is enabled).
 * e2e_seal picks the primary at the clock's time, e2e_open judges a key's
 * state at the receiver's now, so a keyring switches at T by itself.
 * e2e_keyring_get, _find and _primary report the stored states;
 * e2e_keyring_state_at and _primary_at the states at a time.
 */
int e2e_keyring_schedule(e2e_keyring *kr, uint32_t id, uint64_t activates,
			 uint64_t disables) E2E_WARN_UNUSED;
/* E2E_ERR_NOT_FOUND when the key is absent. */
int e2e_keyring_schedule_get(const e2e_keyring *kr, uint32_t id,
			     uint64_t *activates,
			     uint64_t *disables) E2E_WARN_UNUSED;
/* The state of key id at time now (0: the clock). */
int e2e_keyring_state_at(const e2e_keyring *kr, uint32_t id, uint64_t now,
			 e2e_key_state *state) E2E_WARN_UNUSED;
/* The primary of the keys without topic filters at time now (0: the
 * clock); E2E_ERR_NO_KEY when none. */
int e2e_keyring_primary_at(const e2e_keyring *kr, uint64_t now,
			   e2e_key_info *info) E2E_WARN_UNUSED;
/* Store the states at time now (0: the clock) and forget the schedule
 * times that have passed; the state at now and later does not change. */
int e2e_keyring_advance(e2e_keyring *kr, uint64_t now) E2E_WARN_UNUSED;

/*
 * Per-topic keys. A key may carry MQTT topic filters ("tenant-a/#,+/x");
 * keys with the same filters (none for most keys) form a scope, each with
 * at most one primary and its own schedule: adding or promoting a primary
 * demotes only the primary of its scope. e2e_seal seals with the primary
 * of the first scope (in increasing key id order) whose filters match the
 * topic, else with the primary of the keys without filters; e2e_open
 * refuses a key used on a topic its filters do not match
 * (E2E_ERR_KEY_TOPIC, after the key's state and suite).
 * e2e_keyring_set_filters: filters NULL or "" removes them; E2E_ERR_INVAL
 * for invalid filters or filters with blanks (the keyring file separates
 * fields with blanks), E2E_ERR_TWO_PRIMARIES when a primary would join a
 * scope that has one. e2e_keyring_get_filters gives "" for none (the
 * string stays valid until the key changes or the keyring is freed).
 */
int e2e_keyring_set_filters(e2e_keyring *kr, uint32_t id,
			    const char *filters) E2E_WARN_UNUSED;
int e2e_keyring_get_filters(const e2e_keyring *kr, uint32_t id,
			    const char **filters) E2E_WARN_UNUSED;

/* A member (device) key pair: X25519, the secret in sodium_malloc memory. */
#define E2E_MEMBER_PUBLICKEYBYTES 32u
#define E2E_MEMBER_SECRETKEYBYTES 32u
typedef struct e2e_member e2e_member;

int e2e_member_generate(e2e_member **out) E2E_WARN_UNUSED;
int e2e_member_from_secret(e2e_member **out,
			   const uint8_t sk[E2E_MEMBER_SECRETKEYBYTES])
	E2E_WARN_UNUSED;
void e2e_member_free(e2e_member *m); /* wipes; NULL-safe */
void e2e_member_public(const e2e_member *m,
		       uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES]);
/* For saving it to a key file; wipe the copy after use. */
void e2e_member_secret(const e2e_member *m,
		       uint8_t sk[E2E_MEMBER_SECRETKEYBYTES]);
/* A member id: the first 8 bytes, big-endian, of BLAKE2b-256(public key). */
uint64_t e2e_member_id(const e2e_member *m);
uint64_t e2e_member_id_from_public(const uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES]);

/* Limits of a key update (docs/KEYDIST.md section 4). */
#define E2E_UPDATE_GROUP_MAX 64u    /* bytes of a group name */
#define E2E_UPDATE_KEYS_MAX 64u     /* keys in one update */
#define E2E_UPDATE_FILTERS_MAX 4096u /* bytes of one key's filters */
#define E2E_UPDATE_RECIPIENTS_MAX 65535u
/* Bytes of one recipient's slot holding n keys. */
#define E2E_UPDATE_SLOT_BYTES(n) (8u + 1u + 48u + 36u * (size_t)(n))

/* One key of an update's key table. */
typedef struct e2e_update_key {
	uint32_t id;
	e2e_suite suite;     /* aead or mac */
	e2e_key_state state; /* primary: from activates on */
	uint64_t activates;  /* Unix seconds; 0: now */
	uint64_t disables;   /* Unix seconds; 0: never */
	const char *filters; /* "a/+,b/#", "" for none; NULL counts as "" */
	/* Building: the key (NULL for a disabled key). Opening: NULL; then
	 * in_slot says whether the member's slot gave the key. */
	const uint8_t *key;
	int in_slot;
} e2e_update_key;

/* One recipient of an update, for building: its public key and the ids
 * of the table's keys it gets (none disabled). */
typedef struct e2e_update_recipient {
	const uint8_t *public_key; /* E2E_MEMBER_PUBLICKEYBYTES */
	const uint32_t *key_ids;
	size_t key_id_count;
} e2e_update_recipient;

typedef struct e2e_update_params {
	const char *group;  /* 1..64 bytes of [A-Za-z0-9._-] */
	uint64_t counter;   /* > 0, larger than every earlier update's */
	uint64_t issued;    /* Unix seconds */
	const e2e_update_key *keys; /* any order, distinct ids */
	size_t key_count;           /* 1..E2E_UPDATE_KEYS_MAX */
	const e2e_update_recipient *recipients; /* any order */
	size_t recipient_count;
} e2e_update_params;

/* Bytes of the update body for p, 0 when p is invalid. */
size_t e2e_update_body_len(const e2e_update_params *p);
/*
 * Build the body of an update (docs/KEYDIST.md section 4): keys sorted by
 * id, recipients by member id, each slot sealed with crypto_box_seal to its
 * recipient. The admin then seals the body as a retained suite-none
 * envelope signed by its signer on the update topic (e2e_seal with kr NULL,
 * or e2e_seal_explicit). E2E_ERR_INVAL for invalid parameters,
 * E2E_ERR_BUFFER_TOO_SMALL.
 */
int e2e_update_build(const e2e_update_params *p, uint8_t *out, size_t out_cap,
		     size_t *out_len) E2E_WARN_UNUSED;

/* An opened update: its table and the keys of one member's slot, in
 * sodium_malloc memory. */
typedef struct e2e_update e2e_update;

int e2e_update_new(e2e_update **out) E2E_WARN_UNUSED;
void e2e_update_free(e2e_update *u); /* wipes; NULL-safe */

/* What a member checks an update against. */
typedef struct e2e_update_opener {
	const uint8_t *admin_public_key; /* E2E_SIGN_PUBLICKEYBYTES */
	const char *group;
	const e2e_member *member;
	/* The counter of the last update applied; 0: none yet. */
	uint64_t last_counter;
} e2e_update_opener;

/*
 * Verify and open an update received on topic (docs/KEYDIST.md section 7):
 * an envelope that is not suite none gives E2E_ERR_BAD_UPDATE; then the
 * envelope's checks (e2e_open: signed by the admin, for this topic, not
 * retained unless sealed so; no replay guard: the counter does that job),
 * the body (BAD_UPDATE), the group (WRONG_GROUP), the counter (ROLLBACK
 * when below last_counter, REPLAY when equal), the member's slot
 * (NOT_RECIPIENT), the sealed box and its key ids (BAD_SLOT). On error u
 * holds nothing.
 */
int e2e_update_open(e2e_update *u, const e2e_update_opener *o,
		    const char *topic, const uint8_t *env, size_t env_len,
		    uint32_t delivery) E2E_WARN_UNUSED;
/* Of an opened update; 0 or "" otherwise. */
uint64_t e2e_update_counter(const e2e_update *u);
uint64_t e2e_update_issued(const e2e_update *u);
const char *e2e_update_group(const e2e_update *u);
size_t e2e_update_key_count(const e2e_update *u);
/* The index-th key of the table (increasing ids); filters stays valid
 * until u is opened again or freed; key is NULL. */
int e2e_update_key_get(const e2e_update *u, size_t index,
		       e2e_update_key *key) E2E_WARN_UNUSED;

/*
 * Make kr hold what the update gives this member (docs/KEYDIST.md
 * section 8): every key of its slot, and every key kr already holds that
 * the table lists (same id and suite), with the table's state and schedule,
 * stored as of now (0: the clock); every key the table does not list is
 * removed. The update is the whole key set, so a member that missed
 * updates converges. Keys keep the table's topic filters; E2E_ERR_INVAL
 * when a filter holds a blank (keyring files cannot store it). On error kr
 * is unchanged.
 */
int e2e_update_apply(const e2e_update *u, e2e_keyring *kr,
		     uint64_t now) E2E_WARN_UNUSED;

/*
 * Member key files (docs/KEYFILES.md). A member secret key file is a
 * signer secret key file with "member" for "signer" (0600, the X25519
 * secret optionally encrypted with a passphrase, the same Argon2id costs
 * and rules as e2e_signer_save/_load/_inspect). A member public key is one
 * line of text, "libe2e-member 1 <id> <base64 key>" (77 characters: fits
 * a QR code), in a file or given as a string (e2e_member_public_parse,
 * which ignores a trailing newline); the id is checked against the key.
 */
#define E2E_MEMBER_LINE_MAX 96u
int e2e_member_save(const e2e_member *m, const char *path, const char *pass,
		    size_t pass_len, unsigned long long opslimit,
		    size_t memlimit, uint32_t flags) E2E_WARN_UNUSED;
int e2e_member_load(e2e_member **out, const char *path, const char *pass,
		    size_t pass_len, size_t *bad_line) E2E_WARN_UNUSED;
int e2e_member_inspect(const char *path,
		       uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES], int *is_encrypted,
		       size_t *bad_line) E2E_WARN_UNUSED;
/* The public line without newline into out (E2E_MEMBER_LINE_MAX + 1). */
int e2e_member_public_format(const uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES],
			     char *out, size_t cap) E2E_WARN_UNUSED;
int e2e_member_public_parse(const char *line,
			    uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES])
	E2E_WARN_UNUSED;
int e2e_member_public_load(uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES],
			   const char *path, size_t *bad_line) E2E_WARN_UNUSED;
/* Not secret: 0644 (a replaced file keeps its mode). */
int e2e_member_public_save(const uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES],
			   const char *path, uint32_t flags) E2E_WARN_UNUSED;

/*
 * The admin's member list (docs/KEYFILES.md "Member list"): the group, the
 * counter of the last update published (it only goes up:
 * e2e_members_set_counter refuses a value not above it), and the members
 * in increasing id order, each with its public key, a unique name
 * ([A-Za-z0-9._@-], 1..E2E_MEMBER_NAME_MAX) and optional topic filters
 * (the member gets the keys whose filters are exactly these; without
 * filters, the keys without filters). Saved 0600, atomically.
 */
#define E2E_MEMBER_NAME_MAX 64u
typedef struct e2e_members e2e_members;
typedef struct e2e_member_entry {
	uint64_t id;
	uint8_t public_key[E2E_MEMBER_PUBLICKEYBYTES];
	const char *name;    /* valid until the list changes */
	const char *filters; /* "" for none */
} e2e_member_entry;

int e2e_members_new(e2e_members **out, const char *group) E2E_WARN_UNUSED;
void e2e_members_free(e2e_members *ms); /* NULL-safe */
int e2e_members_load(e2e_members **out, const char *path,
		     size_t *bad_line) E2E_WARN_UNUSED;
int e2e_members_save(const e2e_members *ms, const char *path,
		     uint32_t flags) E2E_WARN_UNUSED;
const char *e2e_members_group(const e2e_members *ms);
uint64_t e2e_members_counter(const e2e_members *ms);
int e2e_members_set_counter(e2e_members *ms,
			    uint64_t counter) E2E_WARN_UNUSED;
/*
 * The group's update layout (docs/KEYDIST.md section 9, stored in the list
 * as the optional "layout" line, docs/KEYFILES.md "Member list"): per
 * member (the default, and what a list without the line has) or per group.
 * Every command of the group uses it, so it cannot differ between them.
 * e2e_members_set_layout: E2E_ERR_INVAL for a value not in the enum.
 */
typedef enum e2e_update_layout {
	E2E_UPDATE_LAYOUT_MEMBER = 0,
	E2E_UPDATE_LAYOUT_GROUP = 1
} e2e_update_layout;
e2e_update_layout e2e_members_layout(const e2e_members *ms);
int e2e_members_set_layout(e2e_members *ms,
			   e2e_update_layout layout) E2E_WARN_UNUSED;
size_t e2e_members_count(const e2e_members *ms);
int e2e_members_get(const e2e_members *ms, size_t index,
		    e2e_member_entry *out) E2E_WARN_UNUSED;
/* E2E_ERR_EXISTS for a key or a name already listed, E2E_ERR_INVAL for a
 * bad name or filters. */
int e2e_members_add(e2e_members *ms,
		    const uint8_t pk[E2E_MEMBER_PUBLICKEYBYTES],
		    const char *name, const char *filters) E2E_WARN_UNUSED;
/* By name or by id (16 hex digits); E2E_ERR_NOT_FOUND. */
int e2e_members_find(const e2e_members *ms, const char *name_or_id,
		     size_t *index) E2E_WARN_UNUSED;
int e2e_members_remove(e2e_members *ms, size_t index) E2E_WARN_UNUSED;
/*
 * The body of the per-member update (docs/KEYDIST.md section 9) for
 * member index: the keys of the admin's keyring kr meant for it (the keys
 * whose filters equal the member's, none for none), with their stored
 * state and schedule: the stored primary as primary now, an enabled key
 * with an activation time as primary from then on, other enabled keys
 * enabled, disabled keys listed without their bytes; one slot, sealed to
 * the member. Call e2e_keyring_advance first so that passed schedule
 * times are states. E2E_ERR_NO_KEY when no usable key is for the member,
 * E2E_ERR_INVAL for more than E2E_UPDATE_KEYS_MAX keys; out as for
 * e2e_update_build (E2E_UPDATE_MEMBER_BODY_MAX always suffices).
 */
#define E2E_UPDATE_MEMBER_BODY_MAX                                             \
	(96u + E2E_UPDATE_KEYS_MAX * (24u + E2E_UPDATE_FILTERS_MAX) +          \
	 E2E_UPDATE_SLOT_BYTES(E2E_UPDATE_KEYS_MAX))
int e2e_members_update_build(const e2e_members *ms, size_t index,
			     const e2e_keyring *kr, uint64_t counter,
			     uint64_t issued, uint8_t *out, size_t out_cap,
			     size_t *out_len) E2E_WARN_UNUSED;
/*
 * The body of the per-group update (docs/KEYDIST.md section 9): one update
 * with a slot for every member of ms, whose table lists the keys of kr
 * meant for at least one member (as e2e_members_update_build chooses them
 * for each) and whose slot gives each member only the keys with its own
 * filters. E2E_ERR_NO_KEY when a member has no usable key (*no_key, if not
 * NULL, is its index); E2E_ERR_BUFFER_TOO_SMALL when out is NULL or
 * out_cap too small, *out_len then being the size needed.
 */
int e2e_members_group_update_build(const e2e_members *ms,
				   const e2e_keyring *kr, uint64_t counter,
				   uint64_t issued, uint8_t *out,
				   size_t out_cap, size_t *out_len,
				   size_t *no_key) E2E_WARN_UNUSED;

/*
 * A member's update counter file (docs/KEYFILES.md "Update counter"): the
 * group and the counter of the last update applied, written atomically
 * with mode 0600 after the keyring it goes with. Loading gives
 * E2E_ERR_WRONG_GROUP for another group's file (and *counter 0).
 */
int e2e_update_counter_load(const char *path, const char *group,
			    uint64_t *counter,
			    size_t *bad_line) E2E_WARN_UNUSED;
int e2e_update_counter_save(const char *path, const char *group,
			    uint64_t counter, uint32_t flags) E2E_WARN_UNUSED;

/* E2E_KEYDIST_END */

/* ------------------------------------------------------------------------ */
/* Key files (docs/KEYFILES.md)                                             */
/* ------------------------------------------------------------------------ */

/* E2E_KEYFILES_BEGIN — declarations for key files, maintained with them. */

/*
 * Every loader reads a text file (docs/KEYFILES.md) and, on error, sets
 * *bad_line (if not NULL) to the 1-based line at fault, or 0 when the error
 * concerns the file as a whole (cannot be read, permissions, empty, no
 * primary key). E2E_ERR_IO leaves errno set. Nothing is returned on error
 * (*out is NULL).
 *
 * Secret files (keyrings, signer secret keys) are refused with
 * E2E_ERR_PERMISSIONS when their mode gives group or others any access, as
 * ssh refuses private keys; they are written with mode 0600.
 *
 * Every file the library loads (these, trust files, public keys, the replay
 * state of e2e_guard_load) is refused with E2E_ERR_WRITABLE when group or
 * others may write it, or when a user other than the effective user and
 * root owns it: whoever can change it could add a signer or a key, or make
 * a receiver forget what it has seen. e2e_path_check looks at the
 * directories above.
 *
 * Every saver writes a whole new file: with E2E_SAVE_EXCL it creates path
 * and fails with E2E_ERR_EXISTS when path exists; without it, it replaces
 * path atomically (temporary file in the same directory, fsync, rename,
 * fsync of the directory), so a crash leaves the old file or the new one,
 * never a mix. On any error path is left as it was.
 */
#define E2E_SAVE_EXCL 0x1u

/* Largest key file the loaders read, in bytes. */
#define E2E_KEYFILE_MAX (4u << 20)
size_t e2e_keyfile_max(void);

/*
 * Keyring files hold at least one key that is not disabled and at most one
 * primary per scope: loading fails with E2E_ERR_NO_PRIMARY or
 * E2E_ERR_TWO_PRIMARIES otherwise (and E2E_ERR_DUPLICATE_KEY,
 * E2E_ERR_BASE64, E2E_ERR_KEYFILE, E2E_ERR_KEYFILE_VERSION,
 * E2E_ERR_TRUNCATED, E2E_ERR_EMPTY), and saving a keyring whose keys are
 * all disabled (or that has none) fails with E2E_ERR_NO_PRIMARY. A keyring
 * without a primary (enabled keys only: a receive-only member, or one
 * whose primary activates later) loads and saves; e2e_seal gives
 * E2E_ERR_NO_KEY with it until a primary activates.
 */
int e2e_keyring_load(e2e_keyring **out, const char *path,
		     size_t *bad_line) E2E_WARN_UNUSED;
int e2e_keyring_save(const e2e_keyring *kr, const char *path,
		     uint32_t flags) E2E_WARN_UNUSED;

/*
 * Signer secret key files. The seed is encrypted with XChaCha20-Poly1305
 * under a key derived from the passphrase with Argon2id; the costs are
 * stored in the file. E2E_SIGNER_OPSLIMIT / E2E_SIGNER_MEMLIMIT are the
 * defaults (libsodium's MODERATE: 3 passes over 256 MiB, about 0.4 s on
 * a 2020s x86-64 core); a loader refuses costs above
 * E2E_SIGNER_OPSLIMIT_MAX / E2E_SIGNER_MEMLIMIT_MAX so that a crafted file
 * cannot make it hang.
 */
#define E2E_SIGNER_OPSLIMIT 3u
#define E2E_SIGNER_MEMLIMIT (256u << 20)
#define E2E_SIGNER_OPSLIMIT_MAX 32u
#define E2E_SIGNER_MEMLIMIT_MAX (1u << 30)
unsigned long long e2e_signer_opslimit(void);
size_t e2e_signer_memlimit(void);

/*
 * Save s to path. pass NULL: the seed is stored unencrypted and the file says
 * so (e2e-keygen --no-passphrase). Otherwise pass (pass_len bytes, at least
 * one) protects it; opslimit and memlimit 0 select the defaults above, other
 * values must lie within libsodium's Argon2id limits and the maxima above
 * (weaker costs are for tests). E2E_ERR_INVAL for an empty passphrase.
 */
int e2e_signer_save(const e2e_signer *s, const char *path, const char *pass,
		    size_t pass_len, unsigned long long opslimit,
		    size_t memlimit, uint32_t flags) E2E_WARN_UNUSED;
/*
 * Load a signer. pass is ignored for an unencrypted file; for an encrypted
 * one, pass NULL or a wrong passphrase gives E2E_ERR_PASSPHRASE (as does a
 * damaged ciphertext: the two cannot be told apart).
 */
int e2e_signer_load(e2e_signer **out, const char *path, const char *pass,
		    size_t pass_len, size_t *bad_line) E2E_WARN_UNUSED;
/* Read the public part of a signer secret key file without the passphrase:
 * its public key and whether the seed is encrypted (is_encrypted may be
 * NULL). */
int e2e_signer_inspect(const char *path, uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
		       int *is_encrypted, size_t *bad_line) E2E_WARN_UNUSED;

/* Signer public key files: the key and its signer id, which loading checks.
 * Not secret: written with mode 0644 (a replaced file keeps its mode). */
int e2e_pubkey_load(uint8_t pk[E2E_SIGN_PUBLICKEYBYTES], const char *path,
		    size_t *bad_line) E2E_WARN_UNUSED;
int e2e_pubkey_save(const uint8_t pk[E2E_SIGN_PUBLICKEYBYTES],
		    const char *path, uint32_t flags) E2E_WARN_UNUSED;

/* Trust files: one signer per line with its topic filters. A trust file
 * with no signer is valid (it trusts nobody). Not secret, but it decides
 * who may publish: keep it writable by its owner only. */
int e2e_trust_load(e2e_trust **out, const char *path,
		   size_t *bad_line) E2E_WARN_UNUSED;
int e2e_trust_save(const e2e_trust *t, const char *path,
		   uint32_t flags) E2E_WARN_UNUSED;

/*
 * Whether the directories above path (symlinks resolved) let another user
 * replace the file: E2E_OK when each one up to / is owned by the effective
 * user or root and is writable by group or others only with the sticky bit
 * (as /tmp); E2E_ERR_WRITABLE otherwise, with the offending directory
 * nearest to the file in dir (when dir_cap > 0; cut to fit). E2E_ERR_IO
 * (see errno) when path cannot be resolved. The loaders do not refuse
 * such files: this is a warning for the application to give, since the
 * library never prints (the e2e tools print it).
 */
int e2e_path_check(const char *path, char *dir, size_t dir_cap);

/* E2E_KEYFILES_END */

#ifdef __cplusplus
}
#endif
#endif /* E2E_H */
