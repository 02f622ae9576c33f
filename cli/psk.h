/*
 * TLS-PSK (--psk, --psk-identity), as mosquitto's clients: the key in hex,
 * given to OpenSSL through Paho's ssl_psk_cb when the handshake asks.
 */
#ifndef E2E_CLI_PSK_H
#define E2E_CLI_PSK_H

/* Longest key, in hex digits: OpenSSL's PSK_MAX_PSK_LEN, 512 bytes. */
#define CLI_PSK_MAX_HEX 1024

/* 0 when hex is a key --psk takes (1 to CLI_PSK_MAX_HEX hex digits; an
 * odd count has a leading zero digit, as mosquitto reads it), else -1. */
int cli_psk_check(const char *hex);

/* Paho's ssl_psk_cb (OpenSSL's PSK client callback): ctx is the
 * connection's struct cli_conn_settings, whose psk and psk_identity it
 * copies into OpenSSL's buffers. Returns the key's length, 0 when it does
 * not fit (the handshake then fails). */
unsigned int cli_psk_cb(const char *hint, char *identity,
			unsigned int max_identity_len, unsigned char *psk,
			unsigned int max_psk_len, void *ctx);

#endif /* E2E_CLI_PSK_H */
