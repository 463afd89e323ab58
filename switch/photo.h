/*
 * photo - the response side of the photo-sharing policy (docs/policy.md):
 * the table of photo requests the switch allowed and that await an
 * answer, and the decision on a response that carries a photo.
 *
 * A photo is delivered only to the ORI whose request asked for it with
 * IMQ/Y and was allowed. The switch correlates a response with a request
 * by (requesting ORI, control field, answering line): the response is
 * addressed to exactly that ORI, echoes the CTL, and comes from the line
 * the request was delivered to. Each allowed request awaits one answer
 * per destination line, for held-ttl + 1 hour. Anything else that
 * carries a photo - unsolicited, answering a request without IMQ/Y, or
 * addressed to several destinations - has its photo removed before it is
 * stored; the rest of the response is delivered.
 *
 * The table lives in memory and is rebuilt at start-up from the audit
 * trail (the "accepted" records of allowed photo requests name the lines
 * that owe an answer, the records of responses name the request they
 * answered), so it survives a restart without a store of its own.
 */
#ifndef NLSWITCH_PHOTO_H
#define NLSWITCH_PHOTO_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"

struct queue;
struct photo_table;

/* What to do with a response (photo_response). */
enum photo_action {
	PHOTO_NONE = 0,		/* no photo, nothing to do */
	PHOTO_KEEP,		/* photo answers an allowed request */
	PHOTO_NORETAIN,		/* keep, and insert DoNotRetainIndicator */
	PHOTO_STRIP		/* remove every PersonDigitalImage */
};

struct photo_decision {
	int		 action;	/* enum photo_action */
	const char	*code;		/* "P201".. or NULL */
	const char	*rule;
	char		 reason[200];
	char		 answers[24];	/* msgid of the request answered */
};

struct photo_table	*photo_table_new(void);
void		 photo_table_free(struct photo_table *);
/**
 * An allowed photo request committed: one answer is expected from each
 * line in lines (space-separated codes) for (ori, ctl) until until_us.
 */
void		 photo_table_add(struct photo_table *, const char *reqid,
		    const char *ori, const char *ctl, const char *lines,
		    uint64_t until_us);
/** Drop entries past their time. */
void		 photo_table_expire(struct photo_table *, uint64_t now_us);
/** Entries awaiting an answer. */
size_t		 photo_table_count(const struct photo_table *);
/**
 * Rebuild from the audit trail of the last ttl_us (start-up).
 * @return the number of entries restored.
 */
size_t		 photo_table_rebuild(struct photo_table *, struct queue *,
		    uint64_t now_us, uint64_t ttl_us);

/**
 * Decide on a response m (DR KR DNR) from line (code), whose state
 * precludes retention when noretain. Consumes the table entry it answers
 * (also when it carries no photo: the request is answered).
 */
void		 photo_response(struct photo_table *, const struct msg *m,
		    const char *line, int noretain, uint64_t now_us,
		    struct photo_decision *);

#endif
