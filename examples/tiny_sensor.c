/*
 * tiny_sensor: a sensor node without clock and without flash writes, built
 * on the tiny profile (libe2e/tiny), emulated on a host.
 *
 * The part above the line "host emulation" is what firmware looks like:
 * static buffers only, no heap, no libsodium, and four board hooks (boot
 * counter, unique id, sensor, MQTT publish). Below it, the hooks are emulated
 * with a file standing for the RTC backup register and envelope files (or hex
 * lines) standing for the MQTT client.
 *
 * Replay safety without a clock (libe2e/tiny/README.md): the sender id is the
 * chip's fixed unique id; the epoch is a boot counter that hardware keeps
 * across resets (RTC backup register, monotonic counter) and the boot code
 * increments; the timestamp is 0. The subscriber runs with --accept-no-clock
 * and --state FILE, so it trusts the sensor on first contact and from then on
 * refuses every sequence number it has already passed, across its own
 * restarts too.
 *
 *   tiny_sensor -k KEYHEX -i KEYID -b BOOTFILE [-s SENDERID] [-t TOPIC]
 *               [-n COUNT] [-o DIR]
 *
 * Each reading becomes one envelope: written to DIR/NNNN.env (publish it
 * with mosquitto_pub -f), or without -o printed as "TOPIC HEX" lines.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e_tiny.h"

#define READING_MAX 48 /* bytes of one JSON reading */

/* Board hooks: a real board implements these. */
static int board_boot_counter(uint32_t *count);
static uint64_t board_unique_id(void);
static int32_t board_read_centidegrees(uint32_t n);
static int board_publish(const char *topic, const uint8_t *msg, size_t len);

/* Provisioned with the shared key of the subscribers' keyring (mac suite). */
static uint8_t device_key[E2E_TINY_KEYBYTES];
static uint32_t device_key_id;
static const char *device_topic = "sensors/tiny/temp";

/* The only buffer: the payload is formatted in place, behind the header. */
static uint8_t envelope[E2E_TINY_SEALED_LEN(READING_MAX)];
static e2e_tiny_sender sender;

/* One boot: n readings, each sealed and published. */
static int device_run(uint32_t n)
{
	uint8_t *payload = envelope + E2E_TINY_HEADER_BYTES;
	uint32_t boots, i;
	size_t len;
	int rc;

	if (board_boot_counter(&boots) != 0)
		return -1;
	e2e_tiny_sender_init(&sender, device_key, device_key_id,
			     board_unique_id(), boots);
	for (i = 0; i < n; i++) {
		int32_t c = board_read_centidegrees(i);
		int plen = snprintf((char *)payload, READING_MAX,
				    "{\"t\":%s%ld.%02ld,\"boot\":%lu}",
				    c < 0 ? "-" : "", labs((long)c / 100),
				    labs((long)c % 100), (unsigned long)boots);

		if (plen < 0 || plen >= READING_MAX)
			return -1;
		/* timestamp 0: this device has no clock. */
		rc = e2e_tiny_seal(&sender, device_topic, payload, (size_t)plen,
				   0, 0, envelope, sizeof envelope, &len);
		if (rc != E2E_TINY_OK) {
			fprintf(stderr, "tiny_sensor: seal failed (%d)\n", rc);
			return -1;
		}
		if (board_publish(device_topic, envelope, len) != 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Host emulation of the board                                              */
/* ------------------------------------------------------------------------ */

static const char *boot_file; /* stands for the RTC backup register */
static uint64_t unique_id = 0x7e57000000000001ULL;
static const char *out_dir; /* NULL: hex lines on stdout */
static unsigned long published;

/* The boot ROM increments the counter at every reset; the application reads
 * it. A file emulates the register here (a real one needs no flash). */
static int board_boot_counter(uint32_t *count)
{
	unsigned long v = 0;
	FILE *f = fopen(boot_file, "r");

	if (f != NULL) {
		if (fscanf(f, "%lu", &v) != 1)
			v = 0;
		fclose(f);
	} else if (errno != ENOENT) {
		perror(boot_file);
		return -1;
	}
	if (v >= 0xFFFFFFFFul) {
		fprintf(stderr, "tiny_sensor: boot counter exhausted\n");
		return -1;
	}
	v++;
	f = fopen(boot_file, "w");
	if (f == NULL || fprintf(f, "%lu\n", v) < 0 || fclose(f) != 0) {
		perror(boot_file);
		return -1;
	}
	*count = (uint32_t)v;
	return 0;
}

static uint64_t board_unique_id(void)
{
	return unique_id;
}

/* A slowly rising temperature, the same at every run. */
static int32_t board_read_centidegrees(uint32_t n)
{
	return 2150 + 25 * (int32_t)n;
}

static int board_publish(const char *topic, const uint8_t *msg, size_t len)
{
	char path[4096];
	size_t i;
	FILE *f;

	if (out_dir == NULL) {
		printf("%s ", topic);
		for (i = 0; i < len; i++)
			printf("%02x", msg[i]);
		putchar('\n');
		return ferror(stdout) ? -1 : 0;
	}
	snprintf(path, sizeof path, "%s/%04lu.env", out_dir, published++);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(msg, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static int parse_hex(const char *s, uint8_t *out, size_t n)
{
	size_t i;
	unsigned b;

	if (strlen(s) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	return 0;
}

static void usage(void)
{
	fputs("usage: tiny_sensor -k KEYHEX -i KEYID -b BOOTFILE "
	      "[-s SENDERID] [-t TOPIC] [-n COUNT] [-o DIR]\n"
	      "  -k KEYHEX   the 32-byte mac key, 64 hex digits\n"
	      "  -i KEYID    its key id, 8 hex digits\n"
	      "  -b BOOTFILE the emulated boot counter (incremented per run)\n"
	      "  -s SENDERID the device's unique id, 16 hex digits\n"
	      "  -t TOPIC    topic (default sensors/tiny/temp)\n"
	      "  -n COUNT    readings to send (default 3)\n"
	      "  -o DIR      write DIR/NNNN.env files (default: hex lines)\n",
	      stderr);
}

int main(int argc, char **argv)
{
	uint8_t idb[4], sid[8];
	unsigned long n = 3;
	int c, have_key = 0;

	while ((c = getopt(argc, argv, "k:i:b:s:t:n:o:")) != -1) {
		switch (c) {
		case 'k':
			if (parse_hex(optarg, device_key, sizeof device_key))
				goto bad;
			have_key = 1;
			break;
		case 'i':
			if (parse_hex(optarg, idb, sizeof idb))
				goto bad;
			device_key_id = (uint32_t)idb[0] << 24 |
					(uint32_t)idb[1] << 16 |
					(uint32_t)idb[2] << 8 | idb[3];
			break;
		case 'b':
			boot_file = optarg;
			break;
		case 's':
			if (parse_hex(optarg, sid, sizeof sid))
				goto bad;
			for (unique_id = 0, c = 0; c < 8; c++)
				unique_id = unique_id << 8 | sid[c];
			break;
		case 't':
			device_topic = optarg;
			break;
		case 'n':
			n = strtoul(optarg, NULL, 10);
			break;
		case 'o':
			out_dir = optarg;
			break;
		default:
			goto bad;
		}
	}
	if (!have_key || device_key_id == 0 || boot_file == NULL ||
	    optind != argc || n > 0xFFFFFFFFul)
		goto bad;
	return device_run((uint32_t)n) == 0 ? 0 : 1;
bad:
	usage();
	return 1;
}
