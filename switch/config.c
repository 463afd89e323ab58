/*
 * config - load and check the nlswitchd configuration (see config.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "config.h"
#include "log.h"
#include "oridir.h"
#include "region.h"
#include "strmap.h"
#include "util.h"
#include "xmlfile.h"

/* Defaults, documented in docs/configuration.md. */
#define CONFIG_DEF_MAX_FRAME	(1024 * 1024)
#define CONFIG_DEF_WINDOW	64
#define CONFIG_DEF_HEARTBEAT	10
#define CONFIG_DEF_ACK_TIMEOUT	30
#define CONFIG_DEF_HELD_TTL	(24 * 3600)
#define CONFIG_DEF_NOTICE_TTL	(7 * 24 * 3600)
#define CONFIG_DEF_RESEND_WIN	300
#define CONFIG_DEF_MSQ_TIMEOUT	60	/* Nlets MSQ: "waits for up to 60 seconds" */
#define CONFIG_DEF_RESEND_MAX	1000000
#define CONFIG_DEF_HIT_URGENT	600	/* Nlets: urgent, within 10 minutes */
#define CONFIG_DEF_HIT_ROUTINE	3600	/* Nlets: routine, within 1 hour */
#define CONFIG_DEF_RETRY_MIN	1
#define CONFIG_DEF_RETRY_MAX	60
#define CONFIG_DEF_MAP_SIZE	((size_t)1 << 30)
#define CONFIG_DEF_AUDIT_DAYS	365
#define CONFIG_DEF_AUDIT_PRUNE	86400
/* Shares of the store, in thousandths of map-size (docs/configuration.md). */
#define CONFIG_DEF_RESERVE	20	/* 2 % */
#define CONFIG_DEF_DEST_QUOTA	250	/* 25 % */
#define CONFIG_DEF_SENDER_QUOTA	500	/* 50 % */
#define CONFIG_DEF_AUDIT_BUDGET	250	/* 25 % */
#define CONFIG_DEF_AUDIT_ALARM	80	/* percent of the budget */
#define CONFIG_DEF_RECORD_BYTES	((size_t)64 << 20)

struct config_errs {
	const char	*path;
	char		*first;		/* "FILE:LINE: reason" */
};

/* Resolve p against the config file's directory, unless absolute. */
static char *
config_path(const char *dir, const xmlChar *p)
{
	if (p == NULL)
		return NULL;
	if (p[0] == '/' || dir == NULL)
		return xstrdup((const char *)p);
	return xasprintf("%s/%s", dir, (const char *)p);
}

static char *
config_text(xmlNodePtr n)
{
	xmlChar *t = xmlNodeGetContent(n);
	char	*s, *b, *e;

	if (t == NULL)
		return xstrdup("");
	/* Trim surrounding whitespace. */
	for (b = (char *)t; *b == ' ' || *b == '\t' || *b == '\n' || *b == '\r'; b++)
		;
	e = b + strlen(b);
	while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
	    e[-1] == '\r'))
		e--;
	s = xstrndup(b, (size_t)(e - b));
	xmlFree(t);
	return s;
}

static int
config_is(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE &&
	    strcmp((const char *)n->name, name) == 0;
}

static int	config_fail(struct config_errs *, xmlNodePtr, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	config_size(struct config_errs *, xmlNodePtr, const char *,
		    uint64_t *, int *);
static uint64_t	config_share(const struct config *, uint64_t, int);

/*
 * Read attribute attr of n into *val if present, checking lo <= value <=
 * hi (the schema only says "positive integer", which may not fit the
 * field). *val is left alone when the attribute is absent.
 */
static int
config_num(struct config_errs *errs, xmlNodePtr n, const char *attr,
    long long lo, long long hi, long long *val)
{
	xmlChar		*v = xmlGetProp(n, (const xmlChar *)attr);
	long long	 r;
	char		*end;

	if (v == NULL)
		return 0;
	errno = 0;
	r = strtoll((const char *)v, &end, 10);
	while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
		end++;			/* xs:positiveInteger collapses */
	if (errno != 0 || end == (char *)v || *end != '\0' || r < lo ||
	    r > hi) {
		config_fail(errs, n, "%s must be between %lld and %lld",
		    attr, lo, hi);
		xmlFree(v);
		return -1;
	}
	xmlFree(v);
	*val = r;
	return 0;
}

/* Parse a space-separated key list into a bit mask. */
static uint32_t
config_keys(const char *s)
{
	char		*dup = xstrdup(s), *tok, *save = NULL;
	uint32_t	 mask = 0;
	enum msg_key	 k;

	for (tok = strtok_r(dup, " \t\r\n", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n", &save))
		if ((k = msg_key_lookup(tok)) != MSG_KEY_NONE)
			mask |= 1u << k;
	free(dup);
	return mask;
}

static int
config_fail(struct config_errs *errs, xmlNodePtr n, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (errs->first != NULL)
		return -1;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	errs->first = xasprintf("%s:%ld: %s", errs->path,
	    n ? xmlGetLineNo(n) : 0L, msg);
	free(msg);
	return -1;
}

/*
 * Whether attribute attr of n is word: 1 if it is, 0 if it is something
 * else, -1 if it is absent.
 */
static int
config_prop_is(xmlNodePtr n, const char *attr, const char *word)
{
	xmlChar	*v = xmlGetProp(n, (const xmlChar *)attr);
	int	 r;

	if (v == NULL)
		return -1;
	r = strcmp((const char *)v, word) == 0;
	xmlFree(v);
	return r;
}

/* A byte and a message quota of a line (<line quota= quota-msgs=>). */
static int
config_line_quota(struct config *cfg, xmlNodePtr n, const char *battr,
    const char *mattr, uint64_t *bytesp, uint64_t *msgsp,
    struct config_errs *errs)
{
	uint64_t	 bytes = 0;
	int		 pm = -1;
	long long	 msgs = 0;

	if (config_size(errs, n, battr, &bytes, &pm) == -1 ||
	    config_num(errs, n, mattr, 0, LLONG_MAX, &msgs) == -1)
		return -1;
	*bytesp = config_share(cfg, bytes, pm);
	*msgsp = (uint64_t)msgs;
	return 0;
}

/* The attributes of <line>: code, cn, member, format and the quotas. */
static int
config_parse_line_attrs(struct config *cfg, struct config_line *l,
    xmlNodePtr n, struct config_errs *errs)
{
	xmlChar	*v;
	int	 legacy;

	v = xmlGetProp(n, (const xmlChar *)"code");
	util_strlcpy(l->code, v ? (const char *)v : "", sizeof l->code);
	xmlFree(v);
	v = xmlGetProp(n, (const xmlChar *)"cn");
	l->cn = xstrdup(v ? (const char *)v : "");
	xmlFree(v);
	if ((v = xmlGetProp(n, (const xmlChar *)"member")) != NULL) {
		util_strlcpy(l->member, (const char *)v, sizeof l->member);
		xmlFree(v);
	}
	if ((legacy = config_prop_is(n, "format", "legacy")) != -1)
		l->format = legacy ? CONFIG_FMT_LEGACY : CONFIG_FMT_XML;
	if (config_line_quota(cfg, n, "quota", "quota-msgs", &l->quota_bytes,
	    &l->quota_msgs, errs) == -1 ||
	    config_line_quota(cfg, n, "send-quota", "send-quota-msgs",
	    &l->send_quota_bytes, &l->send_quota_msgs, errs) == -1)
		return -1;
	return 0;
}

/* <service mke= state=>: the service state of the keys named (or all). */
static void
config_parse_service(struct config_line *l, xmlNodePtr c)
{
	uint32_t	 mask = ~0u;
	uint8_t		 st = CONFIG_SVC_IN;
	xmlChar		*v;
	int		 k;

	if ((v = xmlGetProp(c, (const xmlChar *)"mke")) != NULL) {
		mask = config_keys((const char *)v);
		xmlFree(v);
	}
	if (config_prop_is(c, "state", "held") == 1)
		st = CONFIG_SVC_HELD;
	else if (config_prop_is(c, "state", "removed") == 1)
		st = CONFIG_SVC_REMOVED;
	for (k = 1; k < MSG_KEY_MAX; k++)
		if (mask & (1u << k))
			l->service[k] = st;
}

/* <photo-policy>: the photo rules of the state a member line serves. */
static int
config_parse_photo_policy(struct config_line *l, xmlNodePtr c,
    struct config_errs *errs)
{
	int	 r;

	if (l->member[0] == '\0')
		return config_fail(errs, c, "line %s: photo-policy needs a "
		    "line that serves a member (state)", l->code);
	if ((r = config_prop_is(c, "share", "no")) != -1)
		l->photo_share = !r;
	if ((r = config_prop_is(c, "public-disclosure", "no")) != -1)
		l->photo_public = !r;
	if ((r = config_prop_is(c, "retention", "precluded")) != -1)
		l->photo_noretain = r;
	return 0;
}

/* <line>: its attributes, then <ori>, <accept>, <service>, <photo-policy>. */
static int
config_parse_line(struct config *cfg, struct config_line *l, xmlNodePtr n,
    struct config_errs *errs)
{
	xmlNodePtr	 c;
	char		*t;

	l->lineno = (int)xmlGetLineNo(n);
	l->photo_share = 1;
	l->photo_public = 1;
	if (config_parse_line_attrs(cfg, l, n, errs) == -1)
		return -1;
	for (c = n->children; c != NULL; c = c->next) {
		if (config_is(c, "ori")) {
			t = config_text(c);
			l->ori = xrealloc(l->ori, sizeof *l->ori *
			    (size_t)(l->nori + 1));
			util_strlcpy(l->ori[l->nori++], t, sizeof *l->ori);
			free(t);
		} else if (config_is(c, "accept")) {
			t = config_text(c);
			l->accept = config_keys(t);
			free(t);
		} else if (config_is(c, "service"))
			config_parse_service(l, c);
		else if (config_is(c, "photo-policy") &&
		    config_parse_photo_policy(l, c, errs) == -1)
			return -1;
	}
	return 0;
}

/*
 * Index line l (cn, code, member, ORIs) into the lookup tables, checking
 * that no earlier line has any of them: one pass over the lines, O(1)
 * each, where comparing every pair took seconds at 10,000 lines.
 */
static int
config_index_line(struct config *cfg, struct config_line *l,
    struct config_errs *errs)
{
	void				*prev;
	const struct config_line	*o;
	int				 a;

	if (strmap_add(cfg->by_code, l->code, l, &prev) == -1) {
		o = prev;
		errs->first = xasprintf("%s:%d: duplicate line code %s (first "
		    "defined at line %d)", errs->path, l->lineno, l->code,
		    o->lineno);
		return -1;
	}
	if (strmap_add(cfg->by_cn, l->cn, l, &prev) == -1) {
		o = prev;
		errs->first = xasprintf("%s:%d: certificate name \"%s\" "
		    "already used by line %s", errs->path, l->lineno, l->cn,
		    o->code);
		return -1;
	}
	if (l->member[0] != '\0' &&
	    strmap_add(cfg->by_member, l->member, l, &prev) == -1) {
		o = prev;
		errs->first = xasprintf("%s:%d: member %s already served by "
		    "line %s", errs->path, l->lineno, l->member, o->code);
		return -1;
	}
	for (a = 0; a < l->nori; a++)
		if (strmap_add(cfg->by_ori, l->ori[a], l, &prev) == -1 &&
		    (o = prev) != l) {	/* the same ORI twice in a line: once */
			errs->first = xasprintf("%s:%d: ORI %s already "
			    "belongs to line %s", errs->path, l->lineno,
			    l->ori[a], o->code);
			return -1;
		}
	return 0;
}

/* A line may not be, nor speak for, the switch itself. */
static int
config_check_not_switch(const struct config_line *l, struct config_errs *errs)
{
	int	 a;

	if (strcmp(l->code, "NL") == 0 || strcmp(l->member, "NL") == 0) {
		errs->first = xasprintf("%s:%d: NL is the switch itself",
		    errs->path, l->lineno);
		return -1;
	}
	for (a = 0; a < l->nori; a++)
		if (strcmp(l->ori[a], MSG_SWITCH_ORI) == 0) {
			errs->first = xasprintf("%s:%d: %s is the switch's own "
			    "ORI", errs->path, l->lineno, MSG_SWITCH_ORI);
			return -1;
		}
	return 0;
}

/*
 * Each region once, not a member code, and every member served (a
 * region of the file; a built-in one skips members without a line).
 */
static int
config_check_regions(struct config *cfg, xmlNodePtr root,
    struct config_errs *errs)
{
	struct config_region	*r;
	xmlNodePtr		 n;
	int			 i = 0, j;

	for (n = root->children; n != NULL; n = n->next) {
		if (!config_is(n, "region"))
			continue;
		r = &cfg->regions[i++];
		if (config_region(cfg, r->code) != r)
			return config_fail(errs, n, "region %s defined twice",
			    r->code);
		if (strcmp(r->code, "NL") == 0 ||
		    config_line_by_member(cfg, r->code) != NULL)
			return config_fail(errs, n, "region code %s is also a "
			    "member code", r->code);
		for (j = 0; j < r->nmember; j++)
			if (config_line_by_member(cfg, r->member[j]) == NULL)
				return config_fail(errs, n, "region %s: no line "
				    "serves member %s", r->code, r->member[j]);
	}
	return 0;
}

/* Cross-checks the schema cannot express. */
static int
config_check(struct config *cfg, xmlNodePtr root, struct config_errs *errs)
{
	size_t	 nori = 0;
	int	 i;

	for (i = 0; i < cfg->nline; i++)
		nori += (size_t)cfg->lines[i].nori;
	cfg->by_cn = strmap_new((size_t)cfg->nline);
	cfg->by_code = strmap_new((size_t)cfg->nline);
	cfg->by_member = strmap_new(64);
	cfg->by_ori = strmap_new(nori);
	for (i = 0; i < cfg->nline; i++) {
		if (config_index_line(cfg, &cfg->lines[i], errs) == -1 ||
		    config_check_not_switch(&cfg->lines[i], errs) == -1)
			return -1;
	}
	return config_check_regions(cfg, root, errs);
}

/*
 * A size attribute: bytes ("1048576", "64M", "2G", K M G binary) or a
 * share of the store ("25%", "2.5%"). A share is returned in *permille
 * (thousandths of map-size, resolved once map-size is known) and *val is
 * left alone; bytes go to *val and *permille is set to -1. Nothing set
 * when the attribute is absent.
 */
static int
config_size(struct config_errs *errs, xmlNodePtr n, const char *attr,
    uint64_t *val, int *permille)
{
	xmlChar			*v = xmlGetProp(n, (const xmlChar *)attr);
	char			*end;
	double			 d;
	unsigned long long	 r;
	int			 shift = 0;

	if (v == NULL)
		return 0;
	errno = 0;
	if (strchr((const char *)v, '%') != NULL) {
		d = strtod((const char *)v, &end);
		if (errno != 0 || end == (char *)v || strcmp(end, "%") != 0 ||
		    d < 0 || d > 100)
			goto bad;
		*permille = (int)(d * 10 + 0.5);
		xmlFree(v);
		return 0;
	}
	r = strtoull((const char *)v, &end, 10);
	if (*end == 'K')
		shift = 10;
	else if (*end == 'M')
		shift = 20;
	else if (*end == 'G')
		shift = 30;
	if (shift != 0)
		end++;
	if (errno != 0 || end == (char *)v || *end != '\0' ||
	    r > (UINT64_MAX >> shift))
		goto bad;
	*val = (uint64_t)r << shift;
	*permille = -1;
	xmlFree(v);
	return 0;
bad:
	config_fail(errs, n, "%s must be a size (bytes, or with K, M or G) or "
	    "a share of the store (for example 25%%), not \"%s\"", attr,
	    (const char *)v);
	xmlFree(v);
	return -1;
}

/* A duration attribute: seconds, or with s, m, h or d ("36h", "90d"). */
static int
config_duration(struct config_errs *errs, xmlNodePtr n, const char *attr,
    uint64_t lo, uint64_t *val)
{
	xmlChar			*v = xmlGetProp(n, (const xmlChar *)attr);
	char			*end;
	unsigned long long	 r, mul = 1;

	if (v == NULL)
		return 0;
	errno = 0;
	r = strtoull((const char *)v, &end, 10);
	switch (*end) {
	case 's':
		end++;
		break;
	case 'm':
		mul = 60;
		end++;
		break;
	case 'h':
		mul = 3600;
		end++;
		break;
	case 'd':
		mul = 86400;
		end++;
		break;
	}
	if (errno != 0 || end == (char *)v || *end != '\0' ||
	    r > 100ULL * 365 * 86400 / mul || r * mul < lo) {
		config_fail(errs, n, "%s must be a duration of at least %llu "
		    "seconds (seconds, or with s, m, h or d: \"36h\"), not "
		    "\"%s\"", attr, (unsigned long long)lo, (const char *)v);
		xmlFree(v);
		return -1;
	}
	*val = r * mul;
	xmlFree(v);
	return 0;
}

/* A size that config_size() read: bytes, or permille of the store. */
static uint64_t
config_share(const struct config *cfg, uint64_t bytes, int permille)
{
	if (permille < 0)
		return bytes;
	return (uint64_t)cfg->map_size / 1000 * (uint64_t)permille;
}

/* The <limits> shares of the store (defaults when n is NULL). */
static int
config_shares(struct config *cfg, xmlNodePtr n, struct config_errs *errs)
{
	uint64_t	 res = 0, qb = 0, qm = 0, sb = 0;
	int		 pres = CONFIG_DEF_RESERVE, pq = CONFIG_DEF_DEST_QUOTA;
	int		 ps = CONFIG_DEF_SENDER_QUOTA;
	long long	 msgs = 0, smsgs = 0;

	if (n != NULL && (config_size(errs, n, "reserve", &res, &pres) == -1 ||
	    config_size(errs, n, "dest-quota", &qb, &pq) == -1 ||
	    config_num(errs, n, "dest-quota-msgs", 0, LLONG_MAX, &msgs) == -1 ||
	    config_size(errs, n, "sender-quota", &sb, &ps) == -1 ||
	    config_num(errs, n, "sender-quota-msgs", 0, LLONG_MAX,
	    &smsgs) == -1))
		return -1;
	qm = (uint64_t)msgs;
	cfg->reserve = config_share(cfg, res, pres);
	cfg->dest_quota_bytes = config_share(cfg, qb, pq);
	cfg->dest_quota_msgs = qm;
	cfg->sender_quota_bytes = config_share(cfg, sb, ps);
	cfg->sender_quota_msgs = (uint64_t)smsgs;
	if (n != NULL && cfg->reserve * 2 > cfg->map_size)
		return config_fail(errs, n, "reserve must be at most half of "
		    "map-size");
	return 0;
}

/*
 * <audit>: retention (a duration; retention-days is the older spelling),
 * prune-interval, the budget, its alarm and the archive directory.
 */
static int
config_parse_audit(struct config *cfg, xmlNodePtr n, const char *dir,
    struct config_errs *errs)
{
	long long	 days = 0, every = cfg->audit_prune_interval;
	long long	 alarm = cfg->audit_alarm_pct;
	uint64_t	 bytes = 0;
	int		 pm = CONFIG_DEF_AUDIT_BUDGET;
	xmlChar		*a;

	if (config_num(errs, n, "retention-days", 1, 36500, &days) == -1 ||
	    config_duration(errs, n, "retention", 3600,
	    &cfg->audit_retention) == -1 ||
	    config_num(errs, n, "prune-interval", 60, INT_MAX, &every) == -1 ||
	    config_num(errs, n, "alarm", 1, 100, &alarm) == -1 ||
	    config_size(errs, n, "budget", &bytes, &pm) == -1)
		return -1;
	if (days > 0)
		cfg->audit_retention = (uint64_t)days * 86400;
	cfg->audit_prune_interval = (int)every;
	cfg->audit_alarm_pct = (int)alarm;
	cfg->audit_budget = config_share(cfg, bytes, pm);
	if (cfg->audit_budget > 0 && cfg->audit_budget < (1 << 20))
		return config_fail(errs, n, "budget must be at least 1M (or "
		    "0 for none)");
	if (cfg->audit_budget * 2 > cfg->map_size)
		return config_fail(errs, n, "budget must be at most half of "
		    "map-size");
	if ((a = xmlGetProp(n, (const xmlChar *)"archive")) != NULL) {
		cfg->audit_archive = config_path(dir, a);
		xmlFree(a);
	}
	return 0;
}

/*
 * <limits notice-ttl resend-window resend-max msq-timeout>: how long
 * notices wait for an offline sender (never less than held-ttl: a
 * notice outlives the traffic it is about), what counts as a resend, and
 * how long a multi-state query waits for its states' answers.
 */
static int
config_parse_notices(struct config *cfg, xmlNodePtr n,
    struct config_errs *errs, long long held_ttl)
{
	long long max = (long long)cfg->resend_max;

	if (config_duration(errs, n, "notice-ttl", 1, &cfg->notice_ttl) == -1 ||
	    config_duration(errs, n, "resend-window", 0,
	    &cfg->resend_window) == -1 ||
	    config_duration(errs, n, "msq-timeout", 1, &cfg->msq_timeout) ==
	    -1 ||
	    config_num(errs, n, "resend-max", 1, 1LL << 28, &max) == -1)
		return -1;
	if (cfg->notice_ttl < (uint64_t)held_ttl) {
		if (xmlHasProp(n, (const xmlChar *)"notice-ttl"))
			return config_fail(errs, n, "notice-ttl %llu is less "
			    "than held-ttl %lld: a notice must outlive the "
			    "traffic it is about",
			    (unsigned long long)cfg->notice_ttl, held_ttl);
		cfg->notice_ttl = (uint64_t)held_ttl;
	}
	cfg->resend_max = (uint64_t)max;
	return 0;
}

/* <limits>: every attribute range-checked, then retry-min <= retry-max. */
static int
config_parse_limits(struct config *cfg, xmlNodePtr n, struct config_errs *errs)
{
	long long	 mf = (long long)cfg->max_frame;
	long long	 ms = (long long)cfg->map_size;
	long long	 win = cfg->window, hb = cfg->heartbeat;
	long long	 at = cfg->ack_timeout, ttl = cfg->held_ttl;
	long long	 rmin = cfg->retry_min, rmax = cfg->retry_max;

	if (config_num(errs, n, "max-frame", 1024, 64LL << 20, &mf) == -1 ||
	    config_num(errs, n, "window", 1, 65536, &win) == -1 ||
	    config_num(errs, n, "heartbeat", 1, INT_MAX, &hb) == -1 ||
	    config_num(errs, n, "ack-timeout", 1, INT_MAX, &at) == -1 ||
	    config_num(errs, n, "held-ttl", 1, INT_MAX, &ttl) == -1 ||
	    config_num(errs, n, "retry-min", 1, INT_MAX, &rmin) == -1 ||
	    config_num(errs, n, "retry-max", 1, INT_MAX, &rmax) == -1 ||
	    config_num(errs, n, "map-size", 1LL << 20,
	    SIZE_MAX < LLONG_MAX ? (long long)SIZE_MAX : LLONG_MAX, &ms) == -1)
		return -1;
	if (rmin > rmax)
		return config_fail(errs, n, "retry-min %lld exceeds retry-max "
		    "%lld", rmin, rmax);
	if (config_parse_notices(cfg, n, errs, ttl) == -1)
		return -1;
	/* Hit confirmation times: seconds, settable short for tests. */
	if (config_duration(errs, n, "hit-urgent", 1, &cfg->hit_urgent) ==
	    -1 || config_duration(errs, n, "hit-routine", 1,
	    &cfg->hit_routine) == -1)
		return -1;
	cfg->max_frame = (size_t)mf;
	cfg->map_size = (size_t)ms;
	if (config_shares(cfg, n, errs) == -1)
		return -1;
	cfg->window = (int)win;
	cfg->heartbeat = (int)hb;
	cfg->ack_timeout = (int)at;
	cfg->held_ttl = (int)ttl;
	cfg->retry_min = (int)rmin;
	cfg->retry_max = (int)rmax;
	return 0;
}

/*
 * The member codes of a region's text (blanks or commas between them)
 * into r. @return 0, or -1 with the first one that is no member code
 * in *bad (a pointer into t).
 */
static int
config_region_members(struct config_region *r, char *t, const char **bad)
{
	char	*tok, *save = NULL;

	for (tok = strtok_r(t, " \t\r\n,", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t\r\n,", &save)) {
		/* The text is xs:string: check each member here, or a
		 * "NVX" would be cut to "NV" and silently accepted. */
		if (strlen(tok) != 2 || tok[0] < 'A' || tok[0] > 'Z' ||
		    tok[1] < 'A' || tok[1] > 'Z') {
			*bad = tok;
			return -1;
		}
		r->member = xrealloc(r->member, sizeof *r->member *
		    (size_t)(r->nmember + 1));
		util_strlcpy(r->member[r->nmember++], tok, sizeof *r->member);
	}
	return 0;
}

static int
config_parse_region(struct config_region *r, xmlNodePtr n,
    struct config_errs *errs)
{
	xmlChar		*v = xmlGetProp(n, (const xmlChar *)"code");
	char		*t = config_text(n);
	const char	*bad;
	int		 rc = 0;

	util_strlcpy(r->code, v ? (const char *)v : "", sizeof r->code);
	xmlFree(v);
	if (config_region_members(r, t, &bad) == -1)
		rc = config_fail(errs, n, "region %s: \"%s\" is not a member "
		    "code", r->code, bad);
	else if (r->nmember == 0)
		rc = config_fail(errs, n, "region %s has no members", r->code);
	free(t);
	return rc;
}

/*
 * Nlets' regions built in (region.h), but those the file redefines: a
 * <region> of the same code replaces the members, it does not add to
 * them.
 */
static void
config_add_builtin_regions(struct config *cfg)
{
	const struct region_builtin	*rb;
	struct config_region		*r;
	const char			*bad;
	char				*t;
	int				 i, j, n = 0;

	while (region_builtin_at(n) != NULL)
		n++;
	cfg->builtin = xcalloc((size_t)n ? (size_t)n : 1, sizeof *cfg->builtin);
	for (i = 0; (rb = region_builtin_at(i)) != NULL; i++) {
		for (j = 0; j < cfg->nregion; j++)
			if (strcmp(cfg->regions[j].code, rb->code) == 0)
				break;
		if (j < cfg->nregion)
			continue;
		r = &cfg->builtin[cfg->nbuiltin++];
		util_strlcpy(r->code, rb->code, sizeof r->code);
		r->builtin = 1;
		t = xstrdup(rb->members);
		if (config_region_members(r, t, &bad) == -1)
			fatalx("config: built-in region %s: \"%s\" is not a "
			    "member code", rb->code, bad);
		free(t);
	}
}

/* A config holding the defaults of docs/configuration.md. */
static struct config *
config_new(const char *path)
{
	struct config	*cfg = xcalloc(1, sizeof *cfg);

	cfg->path = xstrdup(path);
	cfg->max_frame = CONFIG_DEF_MAX_FRAME;
	cfg->window = CONFIG_DEF_WINDOW;
	cfg->heartbeat = CONFIG_DEF_HEARTBEAT;
	cfg->ack_timeout = CONFIG_DEF_ACK_TIMEOUT;
	cfg->held_ttl = CONFIG_DEF_HELD_TTL;
	cfg->notice_ttl = CONFIG_DEF_NOTICE_TTL;
	cfg->resend_window = CONFIG_DEF_RESEND_WIN;
	cfg->msq_timeout = CONFIG_DEF_MSQ_TIMEOUT;
	cfg->resend_max = CONFIG_DEF_RESEND_MAX;
	cfg->hit_urgent = CONFIG_DEF_HIT_URGENT;
	cfg->hit_routine = CONFIG_DEF_HIT_ROUTINE;
	cfg->retry_min = CONFIG_DEF_RETRY_MIN;
	cfg->retry_max = CONFIG_DEF_RETRY_MAX;
	cfg->map_size = CONFIG_DEF_MAP_SIZE;
	cfg->audit_retention = (uint64_t)CONFIG_DEF_AUDIT_DAYS * 86400;
	cfg->audit_prune_interval = CONFIG_DEF_AUDIT_PRUNE;
	cfg->audit_alarm_pct = CONFIG_DEF_AUDIT_ALARM;
	config_shares(cfg, NULL, NULL);
	cfg->audit_budget = config_share(cfg, 0, CONFIG_DEF_AUDIT_BUDGET);
	return cfg;
}

/* Room for every <line> and <region> of the document. */
static void
config_alloc_lists(struct config *cfg, xmlNodePtr root)
{
	xmlNodePtr	 n;
	int		 nl = 0, nr = 0;

	for (n = root->children; n != NULL; n = n->next) {
		if (config_is(n, "line"))
			nl++;
		else if (config_is(n, "region"))
			nr++;
	}
	cfg->lines = xcalloc((size_t)nl, sizeof *cfg->lines);
	cfg->regions = xcalloc((size_t)nr ? (size_t)nr : 1, sizeof *cfg->regions);
}

/* The text of n as a path resolved against dir. */
static char *
config_text_path(const char *dir, xmlNodePtr n)
{
	char	*t = config_text(n), *p;

	p = config_path(dir, (xmlChar *)t);
	free(t);
	return p;
}

/* Attribute attr of n as a path resolved against dir; NULL if absent. */
static char *
config_prop_path(const char *dir, xmlNodePtr n, const char *attr)
{
	xmlChar	*a = xmlGetProp(n, (const xmlChar *)attr);
	char	*p;

	p = config_path(dir, a);
	xmlFree(a);
	return p;
}

/* <listen address= port=>. */
static int
config_parse_listen(struct config *cfg, xmlNodePtr n, struct config_errs *errs)
{
	struct config_listen	*ls = &cfg->listen[cfg->nlisten++];
	xmlChar			*a, *p;

	a = xmlGetProp(n, (const xmlChar *)"address");
	p = xmlGetProp(n, (const xmlChar *)"port");
	if (util_strlcpy(ls->address, (const char *)a,
	    sizeof ls->address) >= sizeof ls->address)
		config_fail(errs, n, "listen address longer than %zu bytes",
		    sizeof ls->address - 1);
	util_strlcpy(ls->port, (const char *)p, sizeof ls->port);
	xmlFree(a);
	xmlFree(p);
	return errs->first != NULL ? -1 : 0;
}

/*
 * <admin token-file>: the admin HTTP's bearer token, the first line of
 * that file (a secret belongs in a file of its own, not in the config):
 * 16 to 256 printable characters without blanks.
 */
static int
config_admin_token(struct config *cfg, xmlNodePtr n, const char *dir,
    struct config_errs *errs)
{
	char	*path, *text, *nl;
	size_t	 len, i;

	if ((path = config_prop_path(dir, n, "token-file")) == NULL)
		return 0;
	if ((text = util_read_file(path, &len)) == NULL) {
		config_fail(errs, n, "admin token-file %s: %s", path,
		    strerror(errno));
		free(path);
		return -1;
	}
	if ((nl = strpbrk(text, "\r\n")) != NULL)
		*nl = '\0';
	len = strlen(text);
	for (i = 0; i < len; i++)
		if (text[i] <= ' ' || text[i] > '~')
			break;
	if (len < 16 || len > 256 || i < len) {
		config_fail(errs, n, "admin token-file %s: the token (its first "
		    "line) must be 16 to 256 printable characters without "
		    "blanks", path);
		explicit_bzero(text, strlen(text));
		free(text);
		free(path);
		return -1;
	}
	cfg->admin_token = text;
	free(path);
	return 0;
}

/* <admin>: the control socket, and the admin HTTP on loopback only. */
static int
config_parse_admin(struct config *cfg, xmlNodePtr n, const char *dir,
    struct config_errs *errs)
{
	xmlChar	*a, *p;

	cfg->control_socket = config_prop_path(dir, n, "socket");
	cfg->admin_portfile = config_prop_path(dir, n, "portfile");
	if ((a = xmlGetProp(n, (const xmlChar *)"address")) != NULL) {
		cfg->admin_address = xstrdup((const char *)a);
		xmlFree(a);
		if (strcmp(cfg->admin_address, "127.0.0.1") != 0 &&
		    strcmp(cfg->admin_address, "::1") != 0 &&
		    strcmp(cfg->admin_address, "localhost") != 0)
			return config_fail(errs, n, "admin address %s is not a "
			    "loopback address", cfg->admin_address);
	}
	p = xmlGetProp(n, (const xmlChar *)"port");
	util_strlcpy(cfg->admin_port, p ? (const char *)p : "0",
	    sizeof cfg->admin_port);
	xmlFree(p);
	return config_admin_token(cfg, n, dir, errs);
}

/* <record>: the traffic capture (docs/capture.md). */
static int
config_parse_record(struct config *cfg, xmlNodePtr n, const char *dir,
    struct config_errs *errs)
{
	long long	 bytes = CONFIG_DEF_RECORD_BYTES, files = 0;

	cfg->record_path = config_prop_path(dir, n, "path");
	cfg->record_images = config_prop_is(n, "images", "yes") == 1;
	if (config_num(errs, n, "max-bytes", 4096, LLONG_MAX, &bytes) == -1 ||
	    config_num(errs, n, "max-files", 0, 100000, &files) == -1)
		return -1;
	cfg->record_max_bytes = (size_t)bytes;
	cfg->record_max_files = (int)files;
	return 0;
}

/* <line>: the next slot of cfg->lines. */
static int
config_add_line(struct config *cfg, xmlNodePtr n, struct config_errs *errs)
{
	struct config_line	*l = &cfg->lines[cfg->nline];

	l->index = cfg->nline++;
	return config_parse_line(cfg, l, n, errs);
}

/*
 * <store backend="lmdb|rabbitmq" prefix= replicas= credentials=> with one
 * <node>HOST:PORT</node> per RabbitMQ node (docs/cluster.md). LMDB, the
 * default, takes nothing more.
 */
static int
config_parse_store(struct config *cfg, xmlNodePtr n, const char *dir,
    struct config_errs *errs)
{
	struct ubuf	 spec;
	xmlNodePtr	 c;
	xmlChar		*a;
	char		*t, *cred;
	long long	 replicas = 3, node = 1;
	uint64_t	 log_bytes = 0;
	int		 nodes = 0, pm = 0;

	if (config_prop_is(n, "backend", "rabbitmq") != 1)
		return 0;
	if (config_num(errs, n, "replicas", 1, 7, &replicas) == -1 ||
	    config_num(errs, n, "node-id", 1, 255, &node) == -1)
		return -1;
	ubuf_init(&spec);
	ubuf_printf(&spec, "replicas=%lld node=%lld", replicas, node);
	if ((a = xmlGetProp(n, (const xmlChar *)"prefix")) != NULL) {
		ubuf_printf(&spec, " prefix=%s", (const char *)a);
		xmlFree(a);
	}
	if ((cred = config_prop_path(dir, n, "credentials")) != NULL) {
		ubuf_printf(&spec, " credentials=%s", cred);
		free(cred);
	}
	if (config_size(errs, n, "log-bytes", &log_bytes, &pm) == -1) {
		ubuf_free(&spec);
		return -1;
	}
	if (pm > 0) {
		ubuf_free(&spec);
		return config_fail(errs, n, "log-bytes is bytes (K, M or G), "
		    "not a share of map-size");
	}
	if (log_bytes > 0)
		ubuf_printf(&spec, " log-bytes=%llu",
		    (unsigned long long)log_bytes);
	if ((cred = config_prop_path(dir, n, "tls-ca")) != NULL) {
		ubuf_printf(&spec, " tls-ca=%s", cred);
		free(cred);
	}
	if ((cred = config_prop_path(dir, n, "tls-cert")) != NULL) {
		ubuf_printf(&spec, " tls-cert=%s", cred);
		free(cred);
	}
	if ((cred = config_prop_path(dir, n, "tls-key")) != NULL) {
		ubuf_printf(&spec, " tls-key=%s", cred);
		free(cred);
	}
	for (c = n->children; c != NULL; c = c->next)
		if (c->type == XML_ELEMENT_NODE && config_is(c, "node")) {
			t = config_text(c);
			ubuf_printf(&spec, " amqp=%s", t);
			free(t);
			nodes++;
		}
	if (nodes == 0) {
		ubuf_free(&spec);
		return config_fail(errs, n, "a rabbitmq store needs its "
		    "nodes: <node>HOST:PORT</node>");
	}
	ubuf_add(&spec, "", 1);
	cfg->store_spec = ubuf_take(&spec, NULL);
	cfg->store_node = (int)node;
	return 0;
}

/* One element under <nlswitch>; paths are resolved against dir. */
static int
config_parse_element(struct config *cfg, xmlNodePtr n, const char *dir,
    struct config_errs *errs)
{
	if (config_is(n, "listen"))
		return config_parse_listen(cfg, n, errs);
	else if (config_is(n, "portfile"))
		cfg->portfile = config_text_path(dir, n);
	else if (config_is(n, "datadir"))
		cfg->datadir = config_text_path(dir, n);
	else if (config_is(n, "store"))
		return config_parse_store(cfg, n, dir, errs);
	else if (config_is(n, "schemas"))
		cfg->schemadir = config_text_path(dir, n);
	else if (config_is(n, "pki")) {
		cfg->ca = config_prop_path(dir, n, "ca");
		cfg->cert = config_prop_path(dir, n, "cert");
		cfg->key = config_prop_path(dir, n, "key");
		cfg->pki_lineno = (int)xmlGetLineNo(n);
	} else if (config_is(n, "admin"))
		return config_parse_admin(cfg, n, dir, errs);
	else if (config_is(n, "limits"))
		return config_parse_limits(cfg, n, errs);
	else if (config_is(n, "line"))
		return config_add_line(cfg, n, errs);
	else if (config_is(n, "region"))
		return config_parse_region(&cfg->regions[cfg->nregion++], n,
		    errs);
	else if (config_is(n, "oridir"))
		cfg->oridir = config_text_path(dir, n);
	else if (config_is(n, "audit"))
		return config_parse_audit(cfg, n, dir, errs);
	else if (config_is(n, "record"))
		return config_parse_record(cfg, n, dir, errs);
	return 0;
}

/* What is left unset takes its default: schemas, the control socket. */
static void
config_fill_defaults(struct config *cfg, const char *schemadir)
{
	if (cfg->schemadir == NULL)
		cfg->schemadir = xstrdup(schemadir);
	if (cfg->control_socket == NULL)
		cfg->control_socket = xasprintf("%s/control.sock", cfg->datadir);
}

struct oridir *
config_directory_implicit(const struct config *cfg)
{
	struct oridir_entry	*ents, *e;
	int			 i, j, k, total = 0, n = 0;

	for (i = 0; i < cfg->nline; i++)
		total += cfg->lines[i].nori;
	ents = xcalloc(total > 0 ? (size_t)total : 1, sizeof *ents);
	for (i = 0; i < cfg->nline; i++) {
		const struct config_line *l = &cfg->lines[i];

		for (j = 0; j < l->nori; j++) {
			/* config_load refuses an ORI on two lines. */
			for (k = 0; k < n; k++)
				if (strcmp(ents[k].ori, l->ori[j]) == 0)
					break;
			if (k < n)
				continue;
			e = &ents[n++];
			util_strlcpy(e->ori, l->ori[j], sizeof e->ori);
			snprintf(e->name, sizeof e->name, "line %s", l->code);
			memcpy(e->state, e->ori, 2);
			if (l->member[0] == '\0') {
				e->type = ORIDIR_CJ;
				e->auth = ORIDIR_AUTH_ADMIN | ORIDIR_AUTH_CHRI |
				    ORIDIR_AUTH_DMV;
			} else {
				e->type = ORIDIR_NONCJ;
				e->auth = ORIDIR_AUTH_ADMIN | ORIDIR_AUTH_DMV;
			}
		}
	}
	return oridir_new(ents, n);
}

/*
 * The ORI directory, parsed here once: the file <oridir> names (so that
 * nlswitchd -n reports its errors too), or the implicit one of the lines.
 */
static int
config_load_oridir(struct config *cfg, struct config_errs *errs)
{
	if (cfg->oridir == NULL) {
		cfg->directory = config_directory_implicit(cfg);
		return 0;
	}
	return oridir_load(cfg->oridir, cfg->schemadir, &cfg->directory,
	    &errs->first);
}

int
config_load(const char *path, const char *schemadir, struct config **cfgp,
    char **cause)
{
	struct config_errs	 errs = { path, NULL };
	struct config		*cfg = NULL;
	xmlDocPtr		 doc;
	xmlNodePtr		 root, n;
	char			*xsd, *dirbuf, *dir;

	*cfgp = NULL;
	xsd = xasprintf("%s/config.xsd", schemadir);
	doc = xmlfile_load(path, xsd, "config file", cause);
	free(xsd);
	if (doc == NULL)
		return -1;

	cfg = config_new(path);
	dirbuf = xstrdup(path);
	dir = dirname(dirbuf);
	root = xmlDocGetRootElement(doc);
	config_alloc_lists(cfg, root);
	for (n = root->children; n != NULL; n = n->next)
		if (config_parse_element(cfg, n, dir, &errs) == -1)
			goto fail;
	config_fill_defaults(cfg, schemadir);
	if (config_check(cfg, root, &errs) == -1 ||
	    config_load_oridir(cfg, &errs) == -1)
		goto fail;
	config_add_builtin_regions(cfg);

	xmlFreeDoc(doc);
	free(dirbuf);
	*cfgp = cfg;
	return 0;
fail:
	*cause = errs.first ? errs.first : xasprintf("%s:0: invalid", path);
	xmlFreeDoc(doc);
	config_free(cfg);
	free(dirbuf);
	return -1;
}

int
config_pki_check(const struct config *cfg, char **cause)
{
	static const char	*attr[] = { "ca", "cert", "key" };
	const char		*path[] = { cfg->ca, cfg->cert, cfg->key };
	struct stat		 st;
	size_t			 i;
	int			 fd;

	for (i = 0; i < sizeof attr / sizeof attr[0]; i++) {
		if (path[i] == NULL)
			continue;
		/* open(2), not access(2): the daemon reads it as who it is,
		 * and a directory opens but is not a PEM file. */
		if ((fd = open(path[i], O_RDONLY | O_CLOEXEC)) == -1) {
			*cause = xasprintf("%s:%d: <pki %s>: cannot read %s: %s",
			    cfg->path, cfg->pki_lineno, attr[i], path[i],
			    strerror(errno));
			return -1;
		}
		if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
			close(fd);
			*cause = xasprintf("%s:%d: <pki %s>: cannot read %s: "
			    "not a regular file", cfg->path, cfg->pki_lineno,
			    attr[i], path[i]);
			return -1;
		}
		close(fd);
	}
	return 0;
}

char *
config_control_socket(const char *path)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 root, n;
	char		*dirbuf, *dir, *sock = NULL, *data = NULL;

	/* An edit in progress may not even be well-formed: recover. */
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING | XML_PARSE_RECOVER);
	if (doc == NULL || (root = xmlDocGetRootElement(doc)) == NULL) {
		if (doc != NULL)
			xmlFreeDoc(doc);
		return NULL;
	}
	dirbuf = xstrdup(path);
	dir = dirname(dirbuf);
	for (n = root->children; n != NULL; n = n->next) {
		if (config_is(n, "admin") && sock == NULL)
			sock = config_prop_path(dir, n, "socket");
		else if (config_is(n, "datadir") && data == NULL)
			data = config_text_path(dir, n);
	}
	if (sock == NULL && data != NULL)
		sock = xasprintf("%s/control.sock", data);
	free(data);
	free(dirbuf);
	xmlFreeDoc(doc);
	return sock;
}

void
config_free(struct config *cfg)
{
	int i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nline; i++) {
		free(cfg->lines[i].cn);
		free(cfg->lines[i].ori);
	}
	for (i = 0; i < cfg->nregion; i++)
		free(cfg->regions[i].member);
	for (i = 0; i < cfg->nbuiltin; i++)
		free(cfg->builtin[i].member);
	strmap_free(cfg->by_cn);
	strmap_free(cfg->by_code);
	strmap_free(cfg->by_ori);
	strmap_free(cfg->by_member);
	free(cfg->lines);
	free(cfg->regions);
	free(cfg->builtin);
	free(cfg->oridir);
	oridir_free(cfg->directory);
	free(cfg->record_path);
	free(cfg->audit_archive);
	free(cfg->path);
	free(cfg->portfile);
	free(cfg->datadir);
	free(cfg->store_spec);
	free(cfg->schemadir);
	free(cfg->ca);
	free(cfg->cert);
	free(cfg->key);
	free(cfg->control_socket);
	free(cfg->admin_address);
	free(cfg->admin_portfile);
	if (cfg->admin_token != NULL)
		explicit_bzero(cfg->admin_token, strlen(cfg->admin_token));
	free(cfg->admin_token);
	free(cfg);
}

const struct config_line *
config_line_by_cn(const struct config *cfg, const char *cn)
{
	return strmap_get(cfg->by_cn, cn);
}

const struct config_line *
config_line_by_code(const struct config *cfg, const char *code)
{
	return strmap_get(cfg->by_code, code);
}

int
config_line_has_ori(const struct config_line *l, const char *ori)
{
	int i;

	for (i = 0; i < l->nori; i++)
		if (strcmp(l->ori[i], ori) == 0)
			return 1;
	return 0;
}

const struct config_line *
config_line_by_ori(const struct config *cfg, const char *ori)
{
	return strmap_get(cfg->by_ori, ori);
}

const struct config_line *
config_line_by_member(const struct config *cfg, const char *member)
{
	if (member[0] == '\0')
		return NULL;
	return strmap_get(cfg->by_member, member);
}

const struct config_region *
config_region(const struct config *cfg, const char *code)
{
	int i;

	for (i = 0; i < cfg->nregion; i++)
		if (strcmp(cfg->regions[i].code, code) == 0)
			return &cfg->regions[i];
	for (i = 0; i < cfg->nbuiltin; i++)
		if (strcmp(cfg->builtin[i].code, code) == 0)
			return &cfg->builtin[i];
	return NULL;
}

const struct config_region *
config_region_at(const struct config *cfg, int i)
{
	if (i < 0)
		return NULL;
	if (i < cfg->nregion)
		return &cfg->regions[i];
	i -= cfg->nregion;
	return i < cfg->nbuiltin ? &cfg->builtin[i] : NULL;
}

int
config_line_accepts(const struct config_line *l, int key)
{
	if (key == MSG_KEY_SM || key == MSG_KEY_ER)
		return 1;
	return (l->accept & (1u << key)) != 0;
}
