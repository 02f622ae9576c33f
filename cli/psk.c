/*
 * TLS-PSK for e2e-pub and e2e-sub (psk.h). The key stays the secret string
 * --psk was copied into (passphrase.h: wiped from argv at start, wiped at
 * exit); it is decoded straight into OpenSSL's buffer on each handshake
 * (automatic reconnects need it again), which OpenSSL cleanses after use.
 */
#include <string.h>

#include <sodium.h>

#include "conn.h"
#include "psk.h"

static const char hex_digits[] = "0123456789abcdefABCDEF";

int cli_psk_check(const char *hex)
{
	size_t n = strlen(hex);

	return n > 0 && n <= CLI_PSK_MAX_HEX && strspn(hex, hex_digits) == n
		       ? 0
		       : -1;
}

unsigned int cli_psk_cb(const char *hint, char *identity,
			unsigned int max_identity_len, unsigned char *psk,
			unsigned int max_psk_len, void *ctx)
{
	const struct cli_conn_settings *s = ctx;
	size_t n = strlen(s->psk), odd = n % 2,
	       id_len = strlen(s->psk_identity);
	size_t len = 0;

	(void)hint;
	if (id_len >= max_identity_len || (n + 1) / 2 > max_psk_len)
		return 0;
	memcpy(identity, s->psk_identity, id_len + 1);
	/* An odd count of digits: the first is a byte of its own (0x0X). */
	if (odd) {
		const char *at = strchr(hex_digits, s->psk[0]);
		psk[0] = (unsigned char)(at - hex_digits < 16
						 ? at - hex_digits
						 : at - hex_digits - 6);
	}
	if (sodium_hex2bin(psk + odd, max_psk_len - odd, s->psk + odd, n - odd,
			   NULL, &len, NULL) != 0)
		return 0;
	return (unsigned int)(len + odd);
}
