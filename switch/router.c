/*
 * router - see router.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "router.h"
#include "util.h"

/* Add one copy unless the line already has one for this message. */
static void
router_add(struct router_result *r, const struct config_line *l,
    const char *dest, int key, router_svc_cb svc, void *arg)
{
	struct router_copy	*c;
	int			 i, st;

	for (i = 0; i < r->ncopy; i++)
		if (r->copy[i].line == l)
			return;
	if (r->ncopy == ROUTER_MAXCOPY)
		return;
	c = &r->copy[r->ncopy++];
	c->line = l;
	util_strlcpy(c->dest, dest, sizeof c->dest);
	if (!config_line_accepts(l, key)) {
		c->status = MSG_SM_NOT_ACCEPTED;
		return;
	}
	st = svc != NULL ? svc(l, key, arg) : CONFIG_SVC_IN;
	if (st == CONFIG_SVC_REMOVED)
		c->status = MSG_SM_REMOVED;
	else if (st == CONFIG_SVC_HELD)
		c->status = MSG_SM_HELD;
	else
		c->status = 0;
}

static int	router_fail(struct router_result *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* Refuse the whole message with ER code er; no copies. */
static int
router_fail(struct router_result *r, int er, const char *fmt, ...)
{
	va_list	ap;

	r->er = er;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof r->detail, fmt, ap);
	va_end(ap);
	r->ncopy = 0;
	return er;
}

/*
 * A region: every member whose line accepts the key, as NL does. A
 * member without a line is skipped (a built-in region names every
 * member state; a simulated network serves a few), and so is one whose
 * line does not take the key (no SM .01, as for NL); a member held or
 * removed gets its .02 or .04 like any destination. @return 0, or the
 * ER when the region reaches nobody.
 */
static int
router_region(const struct config *cfg, const struct config_region *reg,
    int key, router_svc_cb svc, void *arg, struct router_result *r)
{
	const struct config_line	*l;
	int				 j, served = 0, fanout = 0;

	for (j = 0; j < reg->nmember; j++) {
		if ((l = config_line_by_member(cfg, reg->member[j])) == NULL)
			continue;
		served++;
		if (!config_line_accepts(l, key))
			continue;
		router_add(r, l, l->member, key, svc, arg);
		fanout++;
	}
	r->nregion++;
	if (served == 0)
		return router_fail(r, MSG_ER_DEST, "no line serves a member of "
		    "region %s", reg->code);
	if (fanout == 0)
		return router_fail(r, MSG_ER_NOT_ALLOWED, "no member of region "
		    "%s accepts %s", reg->code, msg_key_name(key));
	return 0;
}

int
router_route(const struct config *cfg, const struct msg *m,
    const struct config_line *from, router_svc_cb svc, void *arg,
    struct router_result *r)
{
	const struct config_line	*l;
	const struct config_region	*reg;
	int				 i, j, fanout, key;

	memset(r, 0, sizeof *r);
	if (m->key <= MSG_KEY_NONE || m->key >= MSG_KEY_MAX)
		return router_fail(r, MSG_ER_HEADER, "unknown message key %d",
		    (int)m->key);
	if (m->key == MSG_KEY_ER)
		return router_fail(r, MSG_ER_NOT_ALLOWED, "%s messages come "
		    "from the switch only", msg_key_name(m->key));
	if (from != NULL && !config_line_has_ori(from, m->ori))
		return router_fail(r, MSG_ER_ORI, "line may not originate "
		    "for %s", m->ori);
	/* A DQG goes to the states as a DQ: their DQ accept and service. */
	key = msg_key_delivered(m->key);

	if (m->ndest < 1 || m->ndest > MSG_MAXDEST)
		return router_fail(r, MSG_ER_DEST, "%d destinations (1 to %d "
		    "allowed)", m->ndest, MSG_MAXDEST);
	for (i = 0; i < m->ndest; i++) {
		const char *d = m->dest[i];

		if (strlen(d) == MSG_ORI_LEN) {
			/* A full ORI: the line serving it, else the line of
			 * its state (the state network delivers inside). */
			char member[3] = { d[0], d[1], '\0' };

			if ((l = config_line_by_ori(cfg, d)) == NULL &&
			    (l = config_line_by_member(cfg, member)) == NULL)
				return router_fail(r, MSG_ER_DEST,
				    "no route to ORI %s", d);
			router_add(r, l, d, key, svc, arg);
		} else if (strcmp(d, "NL") == 0) {
			/* Every member that accepts this key. */
			fanout = 0;
			for (j = 0; j < cfg->nline; j++) {
				l = &cfg->lines[j];
				if (l->member[0] == '\0' ||
				    !config_line_accepts(l, key))
					continue;
				router_add(r, l, l->member, key, svc, arg);
				fanout++;
			}
			if (fanout == 0)
				return router_fail(r, MSG_ER_NOT_ALLOWED,
				    "no member accepts %s", msg_key_name(key));
		} else if ((l = config_line_by_member(cfg, d)) != NULL) {
			router_add(r, l, d, key, svc, arg);
		} else if ((reg = config_region(cfg, d)) != NULL) {
			if (router_region(cfg, reg, key, svc, arg, r) != 0)
				return r->er;
		} else
			return router_fail(r, MSG_ER_DEST,
			    "unknown destination %s", d);
	}
	if (r->ncopy == 0)
		return router_fail(r, MSG_ER_DEST, "%s", "no destination");
	return 0;
}

const char *
router_region_of(const struct config *cfg, const struct msg *m)
{
	int	 i;

	for (i = 0; i < m->ndest && i < MSG_MAXDEST; i++)
		if (strlen(m->dest[i]) == 2 && strcmp(m->dest[i], "NL") != 0 &&
		    config_region(cfg, m->dest[i]) != NULL)
			return m->dest[i];
	return NULL;
}
