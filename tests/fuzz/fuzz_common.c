/* The fixed world of the fuzz targets (see fuzz_common.h). */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

#define LONG_TOPIC_LEN 300

static struct fuzz_world world;
static int world_ready;
static char long_topic[LONG_TOPIC_LEN + 1];

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n", file, line, what);
	abort();
}

const char *fuzz_topic(unsigned index)
{
	static const char *const fixed[FUZZ_TOPICS - 1] = {"fuzz/a", "fuzz/b/x",
							   "other/topic"};

	if (index < FUZZ_TOPICS - 1)
		return fixed[index];
	if (long_topic[0] == '\0') {
		memset(long_topic, 'l', LONG_TOPIC_LEN);
		memcpy(long_topic, "fuzz/long/", 10);
		long_topic[LONG_TOPIC_LEN] = '\0';
	}
	return long_topic;
}

int fuzz_signer_allowed(unsigned signer, unsigned topic)
{
	/* rows: signers A, B, C; columns: the topics above. */
	static const unsigned char allowed[FUZZ_SIGNERS][FUZZ_TOPICS] = {
		{1, 1, 0, 1}, /* A: fuzz/# */
		{0, 1, 0, 0}, /* B: fuzz/b/+ */
		{0, 0, 0, 0}, /* C: untrusted */
	};

	if (signer >= FUZZ_SIGNERS || topic >= FUZZ_TOPICS)
		return 0;
	return allowed[signer][topic];
}

static void add_key(uint32_t id, e2e_suite suite, e2e_key_state state,
		    uint8_t key[E2E_KEYBYTES], uint8_t first)
{
	e2e_key_info info;

	for (size_t i = 0; i < E2E_KEYBYTES; i++)
		key[i] = (uint8_t)(first + i);
	info.id = id;
	info.suite = suite;
	info.state = state;
	info.created = FUZZ_NOW - 86400;
	FUZZ_CHECK(e2e_keyring_add(world.keyring, &info, key) == E2E_OK);
}

void fuzz_init(void)
{
	static int done;

	if (!done) {
		FUZZ_CHECK(e2e_init() == E2E_OK);
		done = 1;
	}
}

const struct fuzz_world *fuzz_world_get(void)
{
	uint8_t seed[E2E_SIGN_SEEDBYTES];
	uint8_t pk[E2E_SIGN_PUBLICKEYBYTES];

	if (world_ready)
		return &world;
	fuzz_init();
	FUZZ_CHECK(e2e_keyring_new(&world.keyring) == E2E_OK);
	add_key(FUZZ_KEY_AEAD_ID, E2E_SUITE_AEAD, E2E_KEY_ENABLED,
		world.key_aead, 0x00);
	add_key(FUZZ_KEY_MAC_ID, E2E_SUITE_MAC, E2E_KEY_PRIMARY, world.key_mac,
		0x40);
	add_key(FUZZ_KEY_DISABLED_ID, E2E_SUITE_AEAD, E2E_KEY_DISABLED,
		world.key_disabled, 0x80);
	for (int s = 0; s < FUZZ_SIGNERS; s++) {
		for (size_t i = 0; i < sizeof seed; i++)
			seed[i] = (uint8_t)((0x10 * (s + 1)) ^ i);
		FUZZ_CHECK(e2e_signer_from_seed(&world.signer[s], seed) ==
			   E2E_OK);
	}
	FUZZ_CHECK(e2e_trust_new(&world.trust) == E2E_OK);
	e2e_signer_public(world.signer[0], pk);
	FUZZ_CHECK(e2e_trust_add(world.trust, pk, FUZZ_FILTER_A) == E2E_OK);
	e2e_signer_public(world.signer[1], pk);
	FUZZ_CHECK(e2e_trust_add(world.trust, pk, FUZZ_FILTER_B) == E2E_OK);
	world_ready = 1;
	return &world;
}

size_t fuzz_seal_update(const uint8_t *body, size_t len, uint8_t *out,
			size_t cap)
{
	const struct fuzz_world *w = fuzz_world_get();
	e2e_seal_params p;
	size_t n = 0;

	memset(&p, 0, sizeof p);
	p.suite = E2E_SUITE_NONE;
	p.signer = w->signer[0];
	p.sender_id = e2e_signer_id(w->signer[0]);
	p.seq = 1;
	p.timestamp = FUZZ_NOW;
	p.flags = E2E_SEAL_RETAINED;
	FUZZ_CHECK(e2e_seal_explicit(&p, FUZZ_UPDATE_TOPIC, body, len, out, cap,
				     &n) == E2E_OK);
	return n;
}

/* Scratch files: a private directory, emptied and removed at exit. */
#define MAX_TMP 8
static char tmp_dir[256];
static char tmp_files[MAX_TMP][320];
static int tmp_count;

static void tmp_cleanup(void)
{
	for (int i = 0; i < tmp_count; i++)
		unlink(tmp_files[i]);
	/* Atomic writers may leave nothing else, but be tolerant. */
	if (tmp_dir[0] != '\0')
		rmdir(tmp_dir);
}

const char *fuzz_tmp_path(const char *name)
{
	const char *base = getenv("TMPDIR");
	char want[320];

	if (tmp_dir[0] == '\0') {
		if (base == NULL || base[0] == '\0')
			base = access("/dev/shm", W_OK) == 0 ? "/dev/shm"
							     : "/tmp";
		snprintf(tmp_dir, sizeof tmp_dir, "%s/e2e-fuzz-XXXXXX", base);
		FUZZ_CHECK(mkdtemp(tmp_dir) != NULL);
		atexit(tmp_cleanup);
	}
	snprintf(want, sizeof want, "%s/%s", tmp_dir, name);
	for (int i = 0; i < tmp_count; i++)
		if (strcmp(tmp_files[i], want) == 0)
			return tmp_files[i];
	FUZZ_CHECK(tmp_count < MAX_TMP);
	memcpy(tmp_files[tmp_count], want, sizeof want);
	return tmp_files[tmp_count++];
}

int fuzz_write_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	size_t done = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, data + done, len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	return close(fd) == 0 ? 0 : -1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	FUZZ_CHECK(f != NULL);
	FUZZ_CHECK(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	FUZZ_CHECK(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	FUZZ_CHECK(buf != NULL);
	FUZZ_CHECK(fread(buf, 1, (size_t)n, f) == (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

void fuzz_check_same_file(const char *a, const char *b)
{
	size_t la, lb;
	uint8_t *ba = slurp(a, &la), *bb = slurp(b, &lb);

	FUZZ_CHECK(la == lb && memcmp(ba, bb, la) == 0);
	free(ba);
	free(bb);
}

size_t fuzz_count_lines(const uint8_t *data, size_t size)
{
	size_t lines = 0;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	return lines + 1;
}
