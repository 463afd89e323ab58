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
 * The table lives in memory; its durable copy is a state record per
 * (request, line) in the queue (queue.h, state), written in the
 * transaction of the message that changes it: the request's PUT adds its
 * records, the answer's PUT deletes one. Start-up reads those records
 * back (photo_table_load), so start-up time follows the requests in
 * flight, not the size of the audit trail.
 */
#ifndef NLSWITCH_PHOTO_H
#define NLSWITCH_PHOTO_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "queue.h"

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
/** The records of an allowed photo request (see photo_table_add). */
void		 photo_states_add(struct queue_states *, const char *reqid,
		    const char *ori, const char *ctl, const char *lines,
		    uint64_t until_us);
/** The record deleted when line answered reqid. */
void		 photo_states_del(struct queue_states *, const char *reqid,
		    const char *line);
/**
 * Read the stored records into t (start-up; t may be NULL), and add the
 * expired or unreadable ones to *expired as deletions (may be NULL).
 * @return the number of entries in t.
 */
size_t		 photo_table_load(struct photo_table *, struct queue *,
		    uint64_t now_us, struct queue_states *expired);

/**
 * Decide on a response m (DR KR DNR) from line (code), whose state
 * precludes retention when noretain. Consumes the table entry it answers
 * (also when it carries no photo: the request is answered).
 */
void		 photo_response(struct photo_table *, const struct msg *m,
		    const char *line, int noretain, uint64_t now_us,
		    struct photo_decision *);

#endif
