/*
 * sensor_mac: a constrained sensor's publisher, mac suite, no heap at all.
 *
 *   sensor_mac [-k HEXKEY -i KEYID] [-s SENDERID] [-e BOOTCOUNT] [-n COUNT]
 *
 * The whole state is static: a provisioned key, a sender id, a boot counter
 * (the epoch, which MUST grow at every boot: keep it in flash or an RTC
 * backup register) and a message counter. There is no clock, so timestamps
 * are 0: receivers accept such a sender on first contact only if they opted
 * into trust on first use (E2E_GUARD_ACCEPT_NO_CLOCK).
 * The mac suite authenticates but does not encrypt: readings are public.
 *
 * Each envelope is printed as "TOPIC HEX" where a device would hand it to
 * its MQTT stack.
 */
#include <e2e.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOPIC "sensors/greenhouse/temp"
#define READING_MAX 16

/* Provisioned at manufacture. This demo key is public: never use it. */
static uint8_t key[E2E_KEYBYTES] = {0xde, 0x30};
static uint32_t key_id = 0x5e4503;
static uint64_t sender_id = 0x0000000000c0ffee;
static uint32_t boot_count = 1;
static uint32_t counter;

/* The only buffer an envelope needs: payload + the mac overhead. */
static uint8_t envelope[READING_MAX + E2E_OVERHEAD_MAC];

static int hex_key(const char *s)
{
	if (strlen(s) != 2 * E2E_KEYBYTES)
		return -1;
	for (size_t i = 0; i < E2E_KEYBYTES; i++)
		if (sscanf(s + 2 * i, "%2hhx", &key[i]) != 1)
			return -1;
	return 0;
}

/* Seal one reading with every input explicit: no sender object needed. */
static int publish_reading(int centi_degrees)
{
	char reading[READING_MAX];
	int n = snprintf(reading, sizeof reading, "%d.%02d",
			 centi_degrees / 100, abs(centi_degrees % 100));
	e2e_seal_params p = {
		.suite = E2E_SUITE_MAC,
		.key_id = key_id,
		.key = key,
		.sender_id = sender_id,
		.seq = ((uint64_t)boot_count << 32) | counter,
		.timestamp = 0, /* no clock */
	};
	size_t len;
	int rc = e2e_seal_explicit(&p, TOPIC, (const uint8_t *)reading,
				   (size_t)n, envelope, sizeof envelope, &len);
	if (rc != E2E_OK)
		return rc;
	counter++; /* never reuse a sequence number */
	printf("%s ", TOPIC);
	for (size_t i = 0; i < len; i++)
		printf("%02x", envelope[i]);
	printf("\n");
	return E2E_OK;
}

int main(int argc, char **argv)
{
	int count = 3;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-k") == 0 && hex_key(argv[i + 1]) == 0)
			continue;
		else if (strcmp(argv[i], "-i") == 0)
			key_id = (uint32_t)strtoul(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "-s") == 0)
			sender_id = strtoull(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "-e") == 0)
			boot_count = (uint32_t)strtoul(argv[i + 1], NULL, 0);
		else if (strcmp(argv[i], "-n") == 0)
			count = atoi(argv[i + 1]);
		else {
			fprintf(stderr, "sensor_mac: bad option %s\n", argv[i]);
			return 1;
		}
	}
	if (e2e_init() != E2E_OK)
		return 1;
	for (int i = 0; i < count; i++) {
		int rc = publish_reading(2150 +
					 5 * i); /* a warming greenhouse */
		if (rc != E2E_OK) {
			fprintf(stderr, "sensor_mac: %s\n", e2e_strerror(rc));
			return 1;
		}
	}
	return 0;
}
