/*
 * e2e-bridge's journal (docs/BRIDGE.md section 5): every QoS 1/2 message
 * is appended here on Paho's thread before the callback returns, i.e.
 * before Paho acknowledges it to the broker it came from, and marked done
 * once the other side acknowledged the bridged copy. At start what is not
 * marked done is bridged again.
 *
 * One append-only file: a header line, then records, each followed by a
 * 16-byte BLAKE2b check so that a record torn by a crash is recognised
 * (and ignored: it was never acknowledged). Records: M (a message), O (an
 * "in" message accepted by e2e_open) and D (done). Thread-safe: one mutex.
 */
#ifndef E2E_CLI_BRIDGE_JOURNAL_H
#define E2E_CLI_BRIDGE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct bridge_journal;

struct journal_entry {
	uint64_t id;
	int dir; /* enum bridge_dir */
	int qos, retained, dup;
	int opened;  /* an O record: e2e_open accepted it once */
	int done;    /* a D record */
	char *topic; /* topic_len bytes and a NUL (malloc'd) */
	size_t topic_len;
	uint8_t *payload; /* len bytes (malloc'd) */
	size_t len;
};

/* Called for every message of the journal, done or not, in order; the
 * entry is freed after it returns. */
typedef void (*journal_each)(void *user, const struct journal_entry *e);

/* Open (or create, mode 0600) path; sync: fdatasync after every message
 * (survives a machine crash, else a crash of the bridge only); max: the
 * most messages from the oldest not done to the newest. 0, or -1
 * (reported with the file). Nothing is rewritten until
 * bridge_journal_compact. */
int bridge_journal_open(struct bridge_journal **j, const char *path, int sync,
			long max, journal_each each, void *user);
/* Append a message: its id (> 0), or 0 when the journal is full or cannot
 * be written; *why (enum bridge_drop: DROP_JOURNAL_FULL, DROP_NOMEM,
 * DROP_JOURNAL_FAILED) then says which, *detail the error (or NULL). */
uint64_t bridge_journal_add(struct bridge_journal *j, int dir,
			    const char *topic, size_t topic_len,
			    const void *payload, size_t len, int qos,
			    int retained, int dup, int *why,
			    const char **detail);
/* Mark message id opened ('O') or done ('D'). */
void bridge_journal_mark(struct bridge_journal *j, uint64_t id, char what);
/* Message id read back from the file (a message not kept in memory): 0,
 * or -1. Free with bridge_journal_entry_free. */
int bridge_journal_read(struct bridge_journal *j, uint64_t id,
			struct journal_entry *e);
void bridge_journal_entry_free(struct journal_entry *e);
/* fdatasync, when sync is on: before the replay state is saved, so that
 * no O mark is ever behind the guard that records its message. */
int bridge_journal_sync(struct bridge_journal *j);
/* Rewrite the file with only the messages not done, when done ones take
 * most of it (force: always). Only right after the replay state was
 * saved: the D messages of "in" it drops are in that state. 0 or -1. */
int bridge_journal_compact(struct bridge_journal *j, int force);
/* Messages not done. */
long bridge_journal_pending(struct bridge_journal *j);
void bridge_journal_close(struct bridge_journal *j);

#endif /* E2E_CLI_BRIDGE_JOURNAL_H */
