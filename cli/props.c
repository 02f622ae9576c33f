/*
 * -D / --property (props.h): mosquitto 2.0.11's property names, its rules
 * on which command takes which (lib/property_mosq.c, client_props.c) and
 * its error words, into Paho's MQTTProperties, one list per packet.
 */
#define _DEFAULT_SOURCE /* strcasecmp */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <MQTTProperties.h>

#include "props.h"
#include "report.h"
#include "sub_output.h"

struct cli_props {
	MQTTProperties list[CLI_PKT_COUNT];
};

/* The commands -D names, as mosquitto's (any case). Those a client never
 * sends properties on are named so that they are refused in mosquitto's
 * words ("not supported"), not as unknown. */
enum {
	C_CONNECT = 1 << 0,
	C_CONNACK = 1 << 1,
	C_PUBLISH = 1 << 2,
	C_PUBACK = 1 << 3,
	C_PUBREC = 1 << 4,
	C_PUBREL = 1 << 5,
	C_PUBCOMP = 1 << 6,
	C_SUBSCRIBE = 1 << 7,
	C_UNSUBSCRIBE = 1 << 8,
	C_DISCONNECT = 1 << 9,
	C_AUTH = 1 << 10,
	C_WILL = 1 << 11,
	C_ALL = (1 << 12) - 1
};

static const struct {
	const char *name;
	int bit;
	int packet; /* enum cli_packet, or -1: not supported */
} commands[] = {
	{"connect", C_CONNECT, CLI_PKT_CONNECT},
	{"connack", C_CONNACK, -1},
	{"publish", C_PUBLISH, CLI_PKT_PUBLISH},
	{"puback", C_PUBACK, -1},
	{"pubrec", C_PUBREC, -1},
	{"pubrel", C_PUBREL, -1},
	{"pubcomp", C_PUBCOMP, -1},
	{"subscribe", C_SUBSCRIBE, CLI_PKT_SUBSCRIBE},
	{"unsubscribe", C_UNSUBSCRIBE, CLI_PKT_UNSUBSCRIBE},
	{"disconnect", C_DISCONNECT, CLI_PKT_DISCONNECT},
	{"auth", C_AUTH, -1},
	{"will", C_WILL, CLI_PKT_WILL},
};

/* Every property by mosquitto's name, with the commands it is allowed on
 * (mosquitto_property_check_command) and the lowest value it takes; Paho
 * knows its type. */
#define PUB_WILL (C_PUBLISH | C_WILL)
#define CONNACK_ONLY C_CONNACK
static const struct {
	const char *name;
	int id;
	int allowed;
	long lo, hi; /* numbers: the range; 0, 0: the type's */
} properties[] = {
	{"payload-format-indicator", 1, PUB_WILL, 0, 0},
	{"message-expiry-interval", 2, PUB_WILL, 0, 0},
	{"content-type", 3, PUB_WILL, 0, 0},
	{"response-topic", 8, PUB_WILL, 0, 0},
	{"correlation-data", 9, PUB_WILL, 0, 0},
	{"subscription-identifier", 11, C_PUBLISH | C_SUBSCRIBE, 1, 268435455},
	{"session-expiry-interval", 17, C_CONNECT | C_CONNACK | C_DISCONNECT, 0,
	 0},
	{"assigned-client-identifier", 18, CONNACK_ONLY, 0, 0},
	{"server-keep-alive", 19, CONNACK_ONLY, 0, 0},
	{"authentication-method", 21, C_CONNECT | C_CONNACK | C_AUTH, 0, 0},
	{"authentication-data", 22, C_CONNECT | C_CONNACK | C_AUTH, 0, 0},
	{"request-problem-information", 23, C_CONNECT, 0, 1},
	{"will-delay-interval", 24, C_WILL, 0, 0},
	{"request-response-information", 25, C_CONNECT, 0, 1},
	{"response-information", 26, CONNACK_ONLY, 0, 0},
	{"server-reference", 28, C_CONNACK | C_DISCONNECT, 0, 0},
	{"reason-string", 31,
	 C_ALL & ~(C_CONNECT | C_PUBLISH | C_SUBSCRIBE | C_UNSUBSCRIBE), 0, 0},
	{"receive-maximum", 33, C_CONNECT | C_CONNACK, 1, 65535},
	{"topic-alias-maximum", 34, C_CONNECT | C_CONNACK, 0, 0},
	{"topic-alias", 35, C_PUBLISH, 1, 65535},
	{"maximum-qos", 36, CONNACK_ONLY, 0, 1},
	{"retain-available", 37, CONNACK_ONLY, 0, 1},
	{"user-property", 38, C_ALL, 0, 0},
	{"maximum-packet-size", 39, C_CONNECT | C_CONNACK, 1, UINT32_MAX},
	{"wildcard-subscription-available", 40, CONNACK_ONLY, 0, 1},
	{"subscription-identifier-available", 41, CONNACK_ONLY, 0, 1},
	{"shared-subscription-available", 42, CONNACK_ONLY, 0, 1},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int find_command(const char *name)
{
	for (size_t i = 0; i < COUNT(commands); i++)
		if (!strcasecmp(name, commands[i].name))
			return (int)i;
	return -1;
}

static int find_property(const char *name)
{
	for (size_t i = 0; i < COUNT(properties); i++)
		if (!strcasecmp(name, properties[i].name))
			return (int)i;
	return -1;
}

/* A number for property p (index into properties) of Paho type type:
 * 0 and *out, or -1 (reported). */
static int parse_number(int p, int type, const char *s, unsigned long *out)
{
	long lo = properties[p].lo, hi = properties[p].hi;
	char *end;
	long long v;

	if (lo == 0 && hi == 0)
		hi = type == MQTTPROPERTY_TYPE_BYTE               ? 255
		     : type == MQTTPROPERTY_TYPE_TWO_BYTE_INTEGER ? 65535
								  : UINT32_MAX;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		cli_err("property value (%s) out of range for property %s: a "
			"whole number from %ld to %ld",
			s, properties[p].name, lo, hi);
		return -1;
	}
	*out = (unsigned long)v;
	return 0;
}

/* A string or binary value: at most 65535 bytes; a string in UTF-8. */
static int check_text(int p, int type, const char *s, MQTTLenString *out)
{
	size_t n = strlen(s);

	if (n > 65535) {
		cli_err("property value too long for property %s",
			properties[p].name);
		return -1;
	}
	for (size_t i = 0, l; type != MQTTPROPERTY_TYPE_BINARY_DATA && i < n;
	     i += l) {
		if (!(l = cli_utf8_seq((const uint8_t *)s + i, n - i, NULL))) {
			cli_err("property value of %s is not valid UTF-8",
				properties[p].name);
			return -1;
		}
	}
	out->data = (char *)s; /* Paho copies it */
	out->len = (int)n;
	return 0;
}

/* The value(s) of property p into prop: 0, or -1 (reported). */
static int make_value(int p, char *const *words, MQTTProperty *prop)
{
	int type =
		MQTTProperty_getType((enum MQTTPropertyCodes)prop->identifier);
	unsigned long v;

	switch (type) {
	case MQTTPROPERTY_TYPE_BYTE:
	case MQTTPROPERTY_TYPE_TWO_BYTE_INTEGER:
	case MQTTPROPERTY_TYPE_FOUR_BYTE_INTEGER:
	case MQTTPROPERTY_TYPE_VARIABLE_BYTE_INTEGER:
		if (parse_number(p, type, words[1], &v))
			return -1;
		if (type == MQTTPROPERTY_TYPE_BYTE)
			prop->value.byte = (unsigned char)v;
		else if (type == MQTTPROPERTY_TYPE_TWO_BYTE_INTEGER)
			prop->value.integer2 = (unsigned short)v;
		else
			prop->value.integer4 = (unsigned int)v;
		return 0;
	case MQTTPROPERTY_TYPE_UTF_8_STRING_PAIR:
		return check_text(p, type, words[1], &prop->value.data) ||
		       check_text(p, type, words[2], &prop->value.value);
	default:
		return check_text(p, type, words[1], &prop->value.data);
	}
}

/* mosquitto's rules between a command and a property beyond the allow
 * list, and no duplicates (but user properties). */
static int check_pair(const struct cli_props *props, int c, int p,
		      const char *cmd, const char *name)
{
	int id = properties[p].id;

	if (!(properties[p].allowed & commands[c].bit)) {
		cli_err("%s property not allowed for %s in --property argument",
			name, cmd);
		return -1;
	}
	if (commands[c].packet < 0 ||
	    (commands[c].bit == C_PUBLISH && id == 11)) {
		cli_err("%s property not supported for %s in --property "
			"argument",
			name, cmd);
		return -1;
	}
	if (id != 38 && cli_props_has(props, commands[c].packet, id)) {
		cli_err("duplicate property in property list: %s for %s", name,
			cmd);
		return -1;
	}
	return 0;
}

/* Whether a Paho property type holds bytes (in value.data). */
static int is_text(int type)
{
	return type == MQTTPROPERTY_TYPE_BINARY_DATA ||
	       type == MQTTPROPERTY_TYPE_UTF_8_ENCODED_STRING ||
	       type == MQTTPROPERTY_TYPE_UTF_8_STRING_PAIR;
}

/* A copy of s (n bytes), with malloc: see add(). */
static int copy_text(MQTTLenString *s)
{
	char *d = malloc(s->len ? (size_t)s->len : 1);

	if (!d)
		return -1;
	memcpy(d, s->data, (size_t)s->len);
	s->data = d;
	return 0;
}

/*
 * Append prop to list with our own allocations, not MQTTProperties_add's:
 * Paho allocates through its own heap, which it tears down when the last
 * client is destroyed, and a later MQTTProperties_free then frees nothing.
 * Our lists live until the configuration is freed, after the connections;
 * Paho only ever reads them to make its own copies (MQTTProperties_copy,
 * which also computes the encoded length: ours stays 0).
 */
static int add(MQTTProperties *list, MQTTProperty *prop)
{
	int type = MQTTProperty_getType(prop->identifier);
	MQTTProperty *a = list->array;

	if (list->count == list->max_count) {
		a = realloc(a, (size_t)(list->max_count + 8) * sizeof *a);
		if (!a)
			return -1;
		list->array = a;
		list->max_count += 8;
	}
	if (is_text(type)) {
		if (copy_text(&prop->value.data))
			return -1;
		if (type == MQTTPROPERTY_TYPE_UTF_8_STRING_PAIR &&
		    copy_text(&prop->value.value)) {
			free(prop->value.data.data);
			return -1;
		}
	}
	a[list->count++] = *prop;
	return 0;
}

static int not_enough(void)
{
	cli_err("--property argument given but not enough arguments "
		"specified");
	return -1;
}

int cli_props_parse(struct cli_props **props, const char *cmd,
		    char *const *words, int n)
{
	MQTTProperty prop;
	int c, p, used;

	if (n < 2)
		return not_enough();
	if ((c = find_command(cmd)) < 0) {
		cli_err("invalid command given in --property argument: %s "
			"(connect, publish, subscribe, unsubscribe, disconnect "
			"or will)",
			cmd);
		return -1;
	}
	if ((p = find_property(words[0])) < 0) {
		cli_err("invalid property name given in --property argument: "
			"%s",
			words[0]);
		return -1;
	}
	if (!*props && !(*props = calloc(1, sizeof **props))) {
		cli_err("out of memory");
		return -1;
	}
	if (check_pair(*props, c, p, cmd, words[0]))
		return -1;
	used = properties[p].id == 38 ? 3 : 2;
	if (n < used)
		return not_enough();
	memset(&prop, 0, sizeof prop);
	prop.identifier = (enum MQTTPropertyCodes)properties[p].id;
	if (make_value(p, words, &prop))
		return -1;
	if (add(&(*props)->list[commands[c].packet], &prop)) {
		cli_err("out of memory");
		return -1;
	}
	return used;
}

const struct MQTTProperties *cli_props_for(const struct cli_props *props,
					   enum cli_packet packet)
{
	if (!props || props->list[packet].count == 0)
		return NULL;
	return &props->list[packet];
}

int cli_props_has(const struct cli_props *props, enum cli_packet packet, int id)
{
	const MQTTProperties *l = cli_props_for(props, packet);

	return l && MQTTProperties_hasProperty((MQTTProperties *)l,
					       (enum MQTTPropertyCodes)id);
}

void cli_props_free(struct cli_props *props)
{
	if (!props)
		return;
	for (int i = 0; i < CLI_PKT_COUNT; i++) {
		MQTTProperties *l = &props->list[i];

		/* Our own allocations (add()); user properties hold two. */
		for (int j = 0; j < l->count; j++) {
			int type = MQTTProperty_getType(l->array[j].identifier);

			if (is_text(type))
				free(l->array[j].value.data.data);
			if (type == MQTTPROPERTY_TYPE_UTF_8_STRING_PAIR)
				free(l->array[j].value.value.data);
		}
		free(l->array);
	}
	free(props);
}
