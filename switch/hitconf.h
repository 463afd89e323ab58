/*
 * hitconf - hit confirmation (docs/messages.md, "YQ", "YR"): the table of
 * hit confirmation requests (YQ) that await their response (YR), and the
 * timers that send the second request when none comes in time.
 *
 * Pairing. A YQ goes to up to three 9-character ORIs; each destination
 * its copy is stored for owes one YR. A YR answers the YQs it is paired
 * with: addressed to the YQ's originating ORI, sent by the ORI the YQ
 * went to, with the same control field (Nlets echoes the control field
 * so a requester can match answers; the ORIs make the pair). One YR
 * clears every open request of that pair (a requester's own second
 * request included).
 *
 * Timers. Nlets: the entering agency answers "within 10 minutes" an
 * urgent request (PRI/U) and "within 1 hour" a routine one (PRI/R); a
 * response confirms the record or gives the time it will be confirmed
 * (a YR with CON/P counts). The times are <limits hit-urgent hit-routine>.
 *   - a first request (RNO/1) with no YR in its time: the switch sends
 *     the second request (the same YQ, RNO/2, from the requester's ORI
 *     and control field) to the destination, and SM .11. to the
 *     requester; the second request gets the priority's time again;
 *   - a second or third request (the switch's or the requester's own)
 *     with no YR in its time: SM .12. to the requester, and the switch
 *     forgets the request; a third request is the requester's decision
 *     (NCIC has it contact the entering agency by other means).
 *
 * Durability. The table lives in memory; its durable copy is one state
 * record per (request, destination) in the queue (queue.h, "state"),
 * key "yq/REQID/DEST", written in the transaction of the message that
 * changes it: the YQ's PUT adds it, the YR's PUT deletes it, the second
 * request's PUT rewrites it (its number and new deadline), the SM .12.'s
 * PUT deletes it. A record holds what the second request is built from
 * (a YQ's copy leaves the store once delivered). At start-up
 * hitconf_load reads the records back: timers that ran out while the
 * switch was down fire at the first tick.
 */
#ifndef NLSWITCH_HITCONF_H
#define NLSWITCH_HITCONF_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "queue.h"

struct config;
struct hitconf;
struct hitconf_req;

/* The key prefix of the state records. */
#define HITCONF_STATE_PREFIX	"yq/"

/* What hitconf needs from the switch: its store, and two callbacks. */
struct hitconf_host {
	struct queue	*q;
	void		*arg;
	/** A message ID for a message of the switch's own. */
	uint64_t	(*take_msgid)(void *arg);
	/** A copy of a message the switch made committed: deliver it. */
	void		(*committed)(void *arg, const struct queue_copy *c);
	/**
	 * The switch node whose requests this table holds (docs/cluster.md):
	 * those whose YQ's message ID has it as its high byte; 0 on a switch
	 * of its own. In a shared store, the other nodes' records are read
	 * from the view: a YR taken here deletes the records it answers
	 * whatever node took the YQ, and a timer whose record another
	 * node's YR deleted is dropped when it runs out.
	 */
	int		  node;
};

/** A table bound to host (copied). Never fails (fatal on OOM). */
struct hitconf	*hitconf_new(const struct hitconf_host *host);
/**
 * Free the table. Call it after the queue is closed: ops hitconf
 * submitted complete into it until then.
 */
void		 hitconf_free(struct hitconf *);
/**
 * Read the stored records back (start-up). An unreadable record is
 * logged and deleted.
 * @return the number of requests awaiting a YR.
 */
size_t		 hitconf_load(struct hitconf *);
/** Requests (request, destination) awaiting a YR. */
size_t		 hitconf_count(const struct hitconf *);

/**
 * An accepted YQ or YR (m) about to be stored: the state records its PUT
 * carries are appended to (*st, *nst) (a realloc'd array; keys and
 * values are allocated, the caller frees them with the array), and the
 * change to the table waits for hitconf_done.
 *   YQ: a record per stored copy (copies[0..ncopies): line, dest).
 *   YR: a deletion per open request it answers; those requests send no
 *       second request from now on, whatever the PUT's fate.
 * @param reqid the message ID text of m's PUT.
 * @param from_line the line m came from (the requester's, for a YQ).
 * @param cfg the times of the priorities (hit_urgent, hit_routine).
 * @return the pending change, or NULL when m changes nothing (another
 *	key, nothing stored, a YR that answers no open request).
 */
struct hitconf_req *hitconf_accept(struct hitconf *, const struct config *cfg,
		    const struct msg *m, const char *reqid,
		    const char *from_line, const struct queue_copy *copies,
		    int ncopies, uint64_t now_us, struct queue_state **st,
		    int *nst);
/**
 * The PUT of req completed: apply the change when committed (1), undo
 * its marks when not (0). Frees req; req may be NULL.
 */
void		 hitconf_done(struct hitconf *, struct hitconf_req *req,
		    int committed);

/**
 * Send what is due by now_us (second requests, SM .11. and .12.):
 * called from the switch's one-second tick. Each request has at most one
 * op in flight; a failed commit is retried HITCONF_RETRY_S later.
 */
void		 hitconf_tick(struct hitconf *, const struct config *cfg,
		    uint64_t now_us);
#define HITCONF_RETRY_S		10

/**
 * The time a request of priority pri ('U' or 'R') gets, in seconds:
 * cfg's hit_urgent or hit_routine (routine for anything but 'U').
 */
uint64_t	 hitconf_time(const struct config *cfg, int pri);

/*
 * A record's value (for tests and nlctl): the request as text lines
 * "name=value", see hitconf.c. hitconf_record_parse reads one back.
 */
struct hitconf_rec {
	uint64_t	due_us;		/* when its time runs out */
	int		rno;		/* the last request's number, 1..3 */
	int		by_switch;	/* 1: that request is the switch's */
	char		reqid[24];	/* the first YQ's message ID */
	char		ori[MSG_ORI_LEN + 1];	/* the requester */
	char		dest[MSG_ORI_LEN + 1];	/* the ORI asked */
	char		ctl[MSG_CTL_LEN + 1];
	char		from_line[QUEUE_LINE_LEN + 1];	/* requester's */
	char		to_line[QUEUE_LINE_LEN + 1];	/* dest's */
	struct msg_hit	hit;
	struct msg_person person;
};
/** The value of r (allocated). */
char		*hitconf_record_fmt(const struct hitconf_rec *r);
/**
 * Read a value (len bytes) into r; reqid and dest come from key.
 * @return 0, or -1 if it is not a record.
 */
int		 hitconf_record_parse(const char *key, size_t klen,
		    const char *val, size_t len, struct hitconf_rec *r);
/**
 * The XML of the request r describes, numbered rno (the second request
 * the switch sends): a YQ from r->ori to r->dest with r->ctl.
 */
void		 hitconf_build_yq(struct ubuf *b, const struct hitconf_rec *r,
		    int rno);

#endif
