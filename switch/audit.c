/*
 * audit - see audit.h. A record is written as it is built, field by
 * field, by yajl's streaming generator (yajl_gen): no tree of values,
 * one output buffer, so a record costs about a tenth of what building
 * and dumping a jansson object did (docs/performance.md, "Audit
 * records"). Reading one back (audit_field) parses it with jansson,
 * the project's JSON reader.
 */
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <yajl/yajl_gen.h>

#include "audit.h"
#include "jsonutil.h"
#include "log.h"
#include "util.h"

struct audit_rec {
	yajl_gen	 g;
};

/* Out of memory is the one way a well-formed generator call can fail. */
static void
audit_check(yajl_gen_status st)
{
	if (st != yajl_gen_status_ok)
		fatalx("audit: cannot write a record (yajl status %d)",
		    (int)st);
}

/* A string value or key: as it is when it is UTF-8, else with every
 * byte that is not (RFC 3629) as U+FFFD. */
static void
audit_string(yajl_gen g, const char *s)
{
	yajl_gen_status	 st;
	char		*clean;

	st = yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	if (st == yajl_gen_invalid_string) {
		clean = jsonutil_utf8_clean(s);
		st = yajl_gen_string(g, (const unsigned char *)clean,
		    strlen(clean));
		free(clean);
	}
	audit_check(st);
}

static void
audit_key_str(yajl_gen g, const char *key, const char *value)
{
	audit_string(g, key);
	audit_string(g, value);
}

struct audit_rec *
audit_begin(uint64_t t_us, const char *component, const char *event)
{
	/* The time to the second, per thread: most records of a busy
	 * switch share their second with the one before. */
	static __thread time_t	 last = (time_t)-1;
	static __thread char	 secs[64];
	struct audit_rec	*r = xmalloc(sizeof *r);
	struct tm		 tm;
	time_t			 t = (time_t)(t_us / 1000000);
	char			 ts[80];
	size_t			 n;
	unsigned int		 us = (unsigned int)(t_us % 1000000), i;

	if ((r->g = yajl_gen_alloc(NULL)) == NULL)
		fatalx("audit: out of memory");
	/* Compact, "/" as it is, strings checked for UTF-8. */
	yajl_gen_config(r->g, yajl_gen_validate_utf8, 1);
	audit_check(yajl_gen_map_open(r->g));
	if (t != last) {
		if (gmtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof tm);
		snprintf(secs, sizeof secs, "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		last = t;
	}
	/* secs, then ".uuuuuuZ" */
	n = strlen(secs);
	memcpy(ts, secs, n);
	ts[n++] = '.';
	for (i = 6; i-- > 0; us /= 10)
		ts[n + i] = (char)('0' + us % 10);
	n += 6;
	ts[n++] = 'Z';
	ts[n] = '\0';
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
		audit_key_str(r->g, name, value);
}

void
audit_num(struct audit_rec *r, const char *name, unsigned long long n)
{
	audit_string(r->g, name);
	audit_check(yajl_gen_integer(r->g, n > LLONG_MAX ? LLONG_MAX :
	    (long long)n));
}

void
audit_dests(struct audit_rec *r, const struct msg *m)
{
	int	 i;

	audit_string(r->g, "dest");
	audit_check(yajl_gen_array_open(r->g));
	for (i = 0; i < m->ndest; i++)
		audit_string(r->g, m->dest[i]);
	audit_check(yajl_gen_array_close(r->g));
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
	size_t	 i;

	if (p == NULL || !p->present)
		return;
	audit_string(r->g, "purpose");
	audit_check(yajl_gen_map_open(r->g));
	for (i = 0; i < sizeof text / sizeof text[0]; i++) {
		const char *v = (const char *)p + text[i].off;

		if (*v != '\0')
			audit_key_str(r->g, text[i].name, v);
	}
	if (p->suspect >= 0) {
		audit_string(r->g, "suspect");
		audit_check(yajl_gen_bool(r->g, p->suspect));
	}
	audit_check(yajl_gen_map_close(r->g));
}

void
audit_decisions(struct audit_rec *r, const char *name,
    const struct audit_decision *d, int n)
{
	int	 i;

	audit_string(r->g, name);
	audit_check(yajl_gen_array_open(r->g));
	for (i = 0; i < n; i++) {
		audit_check(yajl_gen_map_open(r->g));
		audit_key_str(r->g, "dest", d[i].dest ? d[i].dest : "");
		if (d[i].line != NULL)
			audit_key_str(r->g, "line", d[i].line);
		audit_key_str(r->g, "decision", d[i].decision);
		audit_key_str(r->g, "code", d[i].code);
		audit_key_str(r->g, "rule", d[i].rule);
		audit_check(yajl_gen_map_close(r->g));
	}
	audit_check(yajl_gen_array_close(r->g));
}

char *
audit_end(struct audit_rec *r)
{
	const unsigned char	*buf;
	size_t			 len;
	char			*text;

	audit_check(yajl_gen_map_close(r->g));
	audit_check(yajl_gen_get_buf(r->g, &buf, &len));
	text = xmalloc(len + 1);
	memcpy(text, buf, len);
	text[len] = '\0';
	yajl_gen_free(r->g);
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
