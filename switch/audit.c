/*
 * audit - see audit.h.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "audit.h"

void
audit_begin(struct ubuf *b, uint64_t t_us, const char *component,
    const char *event)
{
	struct tm	tm;
	time_t		t = (time_t)(t_us / 1000000);

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	ubuf_printf(b, "{\"t\":%llu,\"time\":\"%04d-%02d-%02dT%02d:%02d:"
	    "%02d.%06uZ\"", (unsigned long long)t_us, tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (unsigned int)(t_us % 1000000));
	audit_str(b, "component", component);
	audit_str(b, "event", event);
}

void
audit_str(struct ubuf *b, const char *name, const char *value)
{
	if (value == NULL)
		return;
	ubuf_printf(b, ",\"%s\":", name);
	ubuf_add_json(b, value);
}

void
audit_num(struct ubuf *b, const char *name, unsigned long long n)
{
	ubuf_printf(b, ",\"%s\":%llu", name, n);
}

void
audit_dests(struct ubuf *b, const struct msg *m)
{
	int i;

	ubuf_adds(b, ",\"dest\":[");
	for (i = 0; i < m->ndest; i++) {
		if (i > 0)
			ubuf_adds(b, ",");
		ubuf_add_json(b, m->dest[i]);
	}
	ubuf_adds(b, "]");
}

void
audit_purpose(struct ubuf *b, const struct msg_purpose *p)
{
	size_t n;

	if (p == NULL || !p->present)
		return;
	ubuf_adds(b, ",\"purpose\":{");
	n = b->len;
	if (p->category[0] != '\0')
		audit_str(b, "category", p->category);
	if (p->use[0] != '\0')
		audit_str(b, "use", p->use);
	if (p->circumstance[0] != '\0')
		audit_str(b, "circumstance", p->circumstance);
	if (p->case_number[0] != '\0')
		audit_str(b, "case", p->case_number);
	if (p->verifier[0] != '\0')
		audit_str(b, "verifier", p->verifier);
	if (p->warrant[0] != '\0')
		audit_str(b, "warrant", p->warrant);
	if (p->suspect >= 0)
		ubuf_printf(b, ",\"suspect\":%s", p->suspect ? "true" :
		    "false");
	/* Drop the comma the first field wrote after the brace. */
	if (b->len > n && b->data[n] == ',') {
		memmove(b->data + n, b->data + n + 1, b->len - n - 1);
		b->len--;
		b->data[b->len] = '\0';
	}
	ubuf_adds(b, "}");
}

char *
audit_end(struct ubuf *b)
{
	ubuf_adds(b, "}");
	return ubuf_take(b, NULL);
}

/* End of the JSON string starting after the opening quote at p. */
static const char *
audit_str_end(const char *p, const char *end)
{
	for (; p < end; p++) {
		if (*p == '\\')
			p++;
		else if (*p == '"')
			return p;
	}
	return end;
}

int
audit_field(const char *rec, size_t len, const char *name, char *buf,
    size_t sz)
{
	const char	*p = rec, *end = rec + len, *k, *ke, *v;
	size_t		 nl = strlen(name), o;
	int		 depth = 0;

	if (sz == 0)
		return 0;
	buf[0] = '\0';
	for (; p < end; p++) {
		if (*p == '{' || *p == '[') {
			depth++;
			continue;
		}
		if (*p == '}' || *p == ']') {
			depth--;
			continue;
		}
		if (*p != '"')
			continue;
		k = p + 1;
		ke = audit_str_end(k, end);
		p = ke;
		if (depth != 1 || ke + 1 >= end || ke[1] != ':')
			continue;		/* a value, or nested */
		if ((size_t)(ke - k) != nl || memcmp(k, name, nl) != 0)
			continue;
		v = ke + 2;
		o = 0;
		if (v < end && *v == '"') {
			for (v++; v < end && *v != '"'; v++) {
				if (*v == '\\' && v + 1 < end)
					v++;
				if (o + 1 < sz)
					buf[o++] = *v;
			}
		} else {
			for (; v < end && *v != ',' && *v != '}' && *v != ']';
			    v++)
				if (o + 1 < sz)
					buf[o++] = *v;
		}
		buf[o] = '\0';
		return 1;
	}
	return 0;
}
