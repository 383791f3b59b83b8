/* SPDX-License-Identifier: MIT */
#include "history.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "proto.h"
#include "util.h"

/* The events the helper writes; anything else in the file is malformed. */
static const char *const history_events[] = {
	"deploy", "switch", "rollback", "auto-rollback", "failed", "refused", "unhealthy",
};

bool history_event_name_valid(const char *event)
{
	for (size_t i = 0; i < ELEMENTSOF(history_events); i++)
		if (strcmp(event, history_events[i]) == 0)
			return true;
	return false;
}

bool history_entry_is_rollback(const struct history_entry *e)
{
	return strcmp(e->verb, "rollback") == 0 || strcmp(e->event, "rollback") == 0 ||
	       strcmp(e->event, "auto-rollback") == 0;
}

bool history_entry_is_switch(const struct history_entry *e)
{
	if (!e->to[0])
		return false;
	return !e->event[0] || strcmp(e->event, "deploy") == 0 || strcmp(e->event, "switch") == 0 ||
	       history_entry_is_rollback(e);
}

/* ---- reading: a flat JSON object ------------------------------------ */

static const char *skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Reads the JSON string at *p (on its opening quote) into out, cut at n - 1
 * bytes; control characters a \u escape names become '?', so nothing read
 * here can carry a terminal escape. Moves *p past the closing quote.
 */
static int read_string(const char **p, char *out, size_t n)
{
	const char *s = *p + 1;
	size_t o = 0;

	for (;;) {
		unsigned char c = (unsigned char)*s++;

		if (c == '\0' || c < 0x20)
			return -EINVAL;
		if (c == '"')
			break;
		if (c == '\\') {
			char e = *s++;
			int v = 0;

			switch (e) {
			case '"': case '\\': case '/': c = (unsigned char)e; break;
			case 'n': case 't': case 'r': case 'b': case 'f': c = '?'; break;
			case 'u':
				for (int i = 0; i < 4; i++) {
					int d = hex_digit(s[i]);

					if (d < 0)
						return -EINVAL;
					v = v * 16 + d;
				}
				s += 4;
				c = v >= 0x20 && v < 0x7f ? (unsigned char)v : '?';
				break;
			default:
				return -EINVAL;
			}
		}
		if (o + 1 < n)
			out[o++] = (char)c;
	}
	if (n)
		out[o] = '\0';
	*p = s;
	return 0;
}

/* A bare value: a number, true, false or null, copied into out. */
static int read_bare(const char **p, char *out, size_t n)
{
	size_t len = strspn(*p, "0123456789-+.eEtrufalsn");

	if (len == 0 || len >= n)
		return -EINVAL;
	memcpy(out, *p, len);
	out[len] = '\0';
	*p += len;
	return 0;
}

/* Where a key's value goes. null leaves the field empty. */
struct history_slot {
	const char *key;
	char *dst;
	size_t n;
	bool seen;
};

static struct history_slot *slot_find(struct history_slot *slots, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(slots[i].key, key) == 0)
			return &slots[i];
	return NULL;
}

/* Fills the slots from the line; other keys are read and dropped. A key
 * seen twice makes the line malformed (which of them would count?). */
static int parse_object(const char *line, struct history_slot *slots, size_t n_slots)
{
	const char *p = skip_space(line);

	if (*p++ != '{')
		return -EINVAL;
	p = skip_space(p);
	if (*p == '}')
		return *skip_space(p + 1) ? -EINVAL : 0;
	for (;;) {
		char key[32], value[HISTORY_REASON_MAX + 1], *dst = value;
		size_t dn = sizeof(value);
		struct history_slot *s;
		int r;

		if (*p != '"' || read_string(&p, key, sizeof(key)) < 0)
			return -EINVAL;
		p = skip_space(p);
		if (*p++ != ':')
			return -EINVAL;
		p = skip_space(p);
		s = slot_find(slots, n_slots, key);
		if (s) {
			if (s->seen)
				return -EINVAL;
			s->seen = true;
			dst = s->dst;
			dn = s->n;
		}
		if (*p == '"')
			r = read_string(&p, dst, dn);
		else {
			r = read_bare(&p, value, sizeof(value));
			if (r == 0 && s && strcmp(value, "null") == 0)
				dst[0] = '\0';
			else if (r == 0 && s)
				r = str_copy(dst, dn, value) < 0 ? -EINVAL : 0;
		}
		if (r < 0)
			return r;
		p = skip_space(p);
		if (*p == '}')
			break;
		if (*p++ != ',')
			return -EINVAL;
		p = skip_space(p);
	}
	p = skip_space(p + 1);
	return *p == '\0' || *p == '\n' || *p == '\r' ? 0 : -EINVAL;
}

static bool id_ok(const char *id)
{
	return !id[0] || release_id_valid(id);
}

int history_parse_event(const char *line, struct history_entry *ret)
{
	struct history_entry e = { 0 };
	char ms[32] = "", reported[8] = "", verb[32] = "", event[32] = "";
	char from[RELEASE_ID_MAX + 2] = "", to[RELEASE_ID_MAX + 2] = "", rel[RELEASE_ID_MAX + 2] = "";
	struct history_slot slots[] = {
		{ "time", e.time, sizeof(e.time), false }, { "verb", verb, sizeof(verb), false },
		{ "event", event, sizeof(event), false }, { "from", from, sizeof(from), false },
		{ "to", to, sizeof(to), false }, { "who", e.who, sizeof(e.who), false },
		{ "duration_ms", ms, sizeof(ms), false }, { "source", e.source, sizeof(e.source), false },
		{ "release", rel, sizeof(rel), false }, { "reason", e.reason, sizeof(e.reason), false },
		{ "client", e.client, sizeof(e.client), false }, { "reported", reported, sizeof(reported), false },
	};
	unsigned long long v;

	if (parse_object(line, slots, ELEMENTSOF(slots)) < 0)
		return -EINVAL;
	/* Ids and names are checked whole: a cut one must not pass as valid. */
	if (!e.time[0] || !verb[0] || str_copy(e.verb, sizeof(e.verb), verb) < 0 ||
	    str_copy(e.event, sizeof(e.event), event) < 0 ||
	    (e.event[0] && !history_event_name_valid(e.event)) ||
	    !id_ok(from) || !id_ok(to) || !id_ok(rel) || !slots[3].seen)
		return -EINVAL;
	str_copy(e.from, sizeof(e.from), from);
	str_copy(e.to, sizeof(e.to), to);
	str_copy(e.release, sizeof(e.release), rel);
	/* Lines older than events are switches: "to" is what they record. */
	if (!e.event[0] && (!slots[4].seen || !e.to[0]))
		return -EINVAL;
	if (parse_uint(ms, 0, UINT64_MAX, &v) == 0)
		e.duration_ms = v;
	e.reported = strcmp(reported, "true") == 0;
	*ret = e;
	return 0;
}

int history_parse_line(const char *line, struct history_entry *ret)
{
	struct history_entry e;

	if (history_parse_event(line, &e) < 0 || !history_entry_is_switch(&e))
		return -EINVAL;
	*ret = e;
	return 0;
}

/* ---- writing --------------------------------------------------------- */

struct line_buf {
	char *p;
	size_t o, n;
};

static void put_raw(struct line_buf *b, const char *s)
{
	size_t len = strlen(s);

	if (b->o + len < b->n)
		memcpy(b->p + b->o, s, len);
	b->o += len;
}

/* key and a JSON string (null for ""), cut at max bytes. */
static void put_str(struct line_buf *b, const char *key, const char *s, size_t max)
{
	char esc[8];

	put_raw(b, key);
	if (!s || !*s) {
		put_raw(b, "null");
		return;
	}
	put_raw(b, "\"");
	for (size_t i = 0; i < max && s[i]; ) {
		const unsigned char *p = (const unsigned char *)s + i;
		size_t l = utf8_len(p);

		/* Readers of the file want UTF-8, and terminals that show it
		 * must not meet C1 controls (U+0080-U+009F: 0xc2 0x80-0x9f). */
		if (l == 0 || i + l > max || (l == 2 && p[0] == 0xc2 && p[1] <= 0x9f)) {
			put_raw(b, "?");
			i += l ? l : 1;
			continue;
		}
		if (l == 1)
			esc[json_escape_char(p[0], esc)] = '\0';
		else {
			memcpy(esc, p, l);
			esc[l] = '\0';
		}
		put_raw(b, esc);
		i += l;
	}
	put_raw(b, "\"");
}

int history_format(char *buf, size_t n, const struct history_entry *e)
{
	struct line_buf b = { .p = buf, .n = n };
	char num[32];
	bool event_line = e->event[0] && !history_entry_is_switch(e);

	if (proto_verb_from_name(e->verb) == PV_NONE || (e->event[0] && !history_event_name_valid(e->event)) ||
	    !id_ok(e->from) || !id_ok(e->to) || !id_ok(e->release) || !e->time[0] ||
	    (!e->event[0] && !e->to[0]))
		return -EINVAL;
	put_str(&b, "{\"time\":", e->time, sizeof(e->time));
	put_str(&b, ",\"verb\":", e->verb, sizeof(e->verb));
	if (e->event[0])
		put_str(&b, ",\"event\":", e->event, sizeof(e->event));
	put_str(&b, ",\"from\":", e->from, sizeof(e->from));
	put_str(&b, ",\"to\":", e->to, sizeof(e->to));
	put_str(&b, ",\"who\":", e->who, sizeof(e->who) - 1);
	snprintf(num, sizeof(num), ",\"duration_ms\":%llu", e->duration_ms);
	put_raw(&b, num);
	put_str(&b, ",\"source\":", e->source, sizeof(e->source) - 1);
	if (event_line || e->release[0])
		put_str(&b, ",\"release\":", e->release, sizeof(e->release));
	if (e->reason[0])
		put_str(&b, ",\"reason\":", e->reason, HISTORY_REASON_MAX);
	if (e->client[0])
		put_str(&b, ",\"client\":", e->client, sizeof(e->client) - 1);
	if (e->reported)
		put_raw(&b, ",\"reported\":true");
	put_raw(&b, "}\n");
	if (b.o >= n)
		return -ENOBUFS;
	buf[b.o] = '\0';
	return (int)b.o;
}
