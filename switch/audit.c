/*
 * audit - see audit.h. A record is a jansson object until audit_end()
 * dumps it; fields keep the order they were added in.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "jsonutil.h"
#include "util.h"

struct audit_rec {
	json_t	*obj;
};

struct audit_rec *
audit_begin(uint64_t t_us, const char *component, const char *event)
{
	struct audit_rec	*r = xmalloc(sizeof *r);
	struct tm		 tm;
	time_t			 t = (time_t)(t_us / 1000000);
	char			 ts[80];

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof tm);
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (unsigned int)(t_us % 1000000));
	r->obj = json_object();
	audit_num(r, "t", t_us);
	audit_str(r, "time", ts);
	audit_str(r, "component", component);
	audit_str(r, "event", event);
	return r;
}

void
audit_str(struct audit_rec *r, const char *name, const char *value)
{
	if (value != NULL)
		jsonutil_set_str(r->obj, name, value);
}

void
audit_num(struct audit_rec *r, const char *name, unsigned long long n)
{
	jsonutil_set_int(r->obj, name, n > LLONG_MAX ? LLONG_MAX :
	    (json_int_t)n);
}

void
audit_dests(struct audit_rec *r, const struct msg *m)
{
	json_t	*a = json_array();
	int	 i;

	for (i = 0; i < m->ndest; i++)
		jsonutil_append(a, jsonutil_str(m->dest[i]));
	jsonutil_set(r->obj, "dest", a);
}

void
audit_purpose(struct audit_rec *r, const struct msg_purpose *p)
{
	static const struct {
		const char	*name;
		size_t		 off;
	} text[] = {
		{ "category", offsetof(struct msg_purpose, category) },
		{ "use", offsetof(struct msg_purpose, use) },
		{ "circumstance", offsetof(struct msg_purpose, circumstance) },
		{ "case", offsetof(struct msg_purpose, case_number) },
		{ "verifier", offsetof(struct msg_purpose, verifier) },
		{ "warrant", offsetof(struct msg_purpose, warrant) },
	};
	json_t	*o;
	size_t	 i;

	if (p == NULL || !p->present)
		return;
	o = json_object();
	for (i = 0; i < sizeof text / sizeof text[0]; i++) {
		const char *v = (const char *)p + text[i].off;

		if (*v != '\0')
			jsonutil_set_str(o, text[i].name, v);
	}
	if (p->suspect >= 0)
		jsonutil_set(o, "suspect", json_boolean(p->suspect));
	jsonutil_set(r->obj, "purpose", o);
}

void
audit_decisions(struct audit_rec *r, const char *name,
    const struct audit_decision *d, int n)
{
	json_t	*a = json_array(), *o;
	int	 i;

	for (i = 0; i < n; i++) {
		o = json_object();
		jsonutil_set_str(o, "dest", d[i].dest ? d[i].dest : "");
		if (d[i].line != NULL)
			jsonutil_set_str(o, "line", d[i].line);
		jsonutil_set_str(o, "decision", d[i].decision);
		jsonutil_set_str(o, "code", d[i].code);
		jsonutil_set_str(o, "rule", d[i].rule);
		jsonutil_append(a, o);
	}
	jsonutil_set(r->obj, name, a);
}

char *
audit_end(struct audit_rec *r)
{
	char *text = jsonutil_dump(r->obj, JSONUTIL_COMPACT);

	json_decref(r->obj);
	free(r);
	return text;
}

/* Copy s into buf of size sz, cut at a UTF-8 character boundary. */
static void
audit_copy(char *buf, size_t sz, const char *s)
{
	size_t n = strlen(s);

	if (n >= sz) {
		n = sz - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
}

int
audit_field(const char *rec, size_t len, const char *name, char *buf,
    size_t sz)
{
	json_t	*root, *v;
	char	*text;
	int	 found = 0;

	if (sz == 0)
		return 0;
	buf[0] = '\0';
	/* JSON_ALLOW_NUL: a "\u0000" in one value spoils only that one. */
	if ((root = json_loadb(rec, len, JSON_ALLOW_NUL, NULL)) == NULL)
		return 0;
	if ((v = json_object_get(root, name)) != NULL) {
		if (json_is_string(v))
			audit_copy(buf, sz, json_string_value(v));
		else {
			text = jsonutil_dump(v, JSONUTIL_COMPACT);
			audit_copy(buf, sz, text);
			free(text);
		}
		found = 1;
	}
	json_decref(root);
	return found;
}
