/*
 * -D / --property: MQTT 5 properties by mosquitto's names, for the packets
 * the tools send (props.c). They are neither encrypted nor authenticated by
 * the envelope (docs/ENVELOPE.md seals the payload and binds the topic): a
 * broker can read, change, add or drop any of them.
 */
#ifndef E2E_CLI_PROPS_H
#define E2E_CLI_PROPS_H

struct MQTTProperties; /* Paho's; only conn.c looks inside */

/* The packets -D names that a tool sends. */
enum cli_packet {
	CLI_PKT_CONNECT,
	CLI_PKT_PUBLISH,
	CLI_PKT_SUBSCRIBE,
	CLI_PKT_UNSUBSCRIBE,
	CLI_PKT_DISCONNECT,
	CLI_PKT_WILL, /* the Will message's properties */
	CLI_PKT_COUNT
};

struct cli_props;

/*
 * One -D COMMAND NAME VALUE (NAME user-property: KEY VALUE), checked as
 * mosquitto 2.0.11 checks it (the names, which command takes which
 * property, the value's range, no duplicates): cmd is -D's argument, words
 * the n arguments after it. Returns how many of words it took (2 or 3), or
 * -1 (reported). *props is made on first use.
 */
int cli_props_parse(struct cli_props **props, const char *cmd,
		    char *const *words, int n);
/* The properties -D gave for packet, or NULL (none; props may be NULL). */
const struct MQTTProperties *cli_props_for(const struct cli_props *props,
					   enum cli_packet packet);
/* 1 when -D gave property id (MQTT's number) for packet. */
int cli_props_has(const struct cli_props *props, enum cli_packet packet,
		  int id);
void cli_props_free(struct cli_props *props);

#endif /* E2E_CLI_PROPS_H */
