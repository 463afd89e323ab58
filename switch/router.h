/*
 * router - where an accepted message goes: destinations -> lines, NL and
 * region fan-out, and the per (line, message key) service state that
 * decides between delivering, holding (.02), refusing (.01) and not
 * storing (.04). Pure: no I/O; the runtime service state comes in through
 * a callback so the rules are table-tested in isolation.
 */
#ifndef NLSWITCH_ROUTER_H
#define NLSWITCH_ROUTER_H

#include "config.h"
#include "msg.h"

#define ROUTER_MAXCOPY	256

struct router_copy {
	const struct config_line *line;		/* destination line */
	char	dest[MSG_ORI_LEN + 1];		/* destination as routed */
	int	status;				/* 0: deliver now; MSG_SM_* */
};

struct router_result {
	int			ncopy;
	struct router_copy	copy[ROUTER_MAXCOPY];
	int			nregion;	/* destinations that were region
						   codes (built in or the file's) */
	int			er;		/* enum msg_er, 0 if routable */
	char			detail[160];	/* why, for the ER */
};

/**
 * Effective service state of a line for a key (enum config_svc): the
 * operator's state, or CONFIG_SVC_HELD while the line is disconnected.
 */
typedef int (*router_svc_cb)(const struct config_line *, int key, void *arg);

/**
 * Route m, received on line from. A DQG is routed as the DQ its
 * destinations receive (msg_key_delivered): the DQ accept list and
 * service states decide. A region code reaches every member line that
 * accepts the key; members without a line are skipped; a region that
 * reaches no line is ER .19., one whose lines all refuse the key ER .02.
 * @return 0 with r->copy filled (one entry per destination line, in
 *	destination order; entries with status MSG_SM_NOT_ACCEPTED or
 *	MSG_SM_REMOVED are not to be stored, MSG_SM_HELD are stored and the
 *	sender is told), or the ER code (also in r->er, reason in r->detail).
 */
int	router_route(const struct config *, const struct msg *m,
	    const struct config_line *from, router_svc_cb svc, void *arg,
	    struct router_result *r);

/**
 * The first destination of m that is a region code (the file's or a
 * built-in one), or NULL. A DQ written in legacy text to one is handled
 * as a DQG (docs/messages.md, "DQG").
 */
const char	*router_region_of(const struct config *, const struct msg *m);

#endif
