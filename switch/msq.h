/*
 * msq - multi-state queries: one merged answer for a query to NL or a
 * region (Nlets' Multi-State Query service; docs/messages.md,
 * "Multi-state answers").
 *
 * A DQ, KQ, DNQ or DQG addressed to NL or to a region code is a
 * multi-state query: the switch sends it to every member that accepts
 * the key and is in service, counts the others out of service, and
 * answers the sender once, when every member answered or the response
 * timer ran out: the hits (each state's answer whole, in an
 * n2:StateResponse), NOT ON FILE answers left out, and a summary of the
 * members queried, hit, not on file, out of service (held: the query
 * waits for them, as SM .02 says; removed: it does not, SM .04) and not
 * responding. No SM is sent per member.
 * An answer after the summary goes to the sender as it comes, in the
 * same shape, marked late.
 *
 * This module is the bookkeeping, without I/O: the table of queries
 * awaiting answers, the state records that are their durable copy
 * (written in the transaction of the message that changes them, like
 * photo.h's), the summary and the merged document. A hit waits for the
 * merge as a stored message whose one copy is parked on the pseudo line
 * MSQ_LINE, which no session serves; the merge deletes it.
 */
#ifndef NLSWITCH_MSQ_H
#define NLSWITCH_MSQ_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "queue.h"
#include "util.h"

/*
 * The pseudo line of parked answers (no configured line can be named so):
 * MSQ_LINE on a switch of its own; in a cluster (docs/cluster.md) each
 * switch node parks the answers to its own queries on "=MSQ<node-id>",
 * and a node that takes an answer to another node's query parks it on
 * that node's (msq_line).
 */
#define MSQ_LINE	"=MSQ"
/* The switch node that took a query: its message id's high byte. */
#define MSQ_NODE(id)	QUEUE_MSGID_NODE(id)

/** The pseudo line of node node's parked answers (0: MSQ_LINE). */
void		 msq_line(char *buf, size_t sz, int node);
/** Is line a pseudo line of parked answers (any node's)? */
int		 msq_is_line(const char *line);

/* A member's state (the letter is what its state record stores). */
enum msq_st {
	MSQ_PENDING = 'P',	/* sent, no answer yet */
	MSQ_HIT = 'H',		/* answered with a record: parked */
	MSQ_NOREC = 'N',	/* answered NOT ON FILE */
	MSQ_HELD = 'W',		/* out of service for the key, held: the
				   query is stored, forwarded when back */
	MSQ_OUT = 'O',		/* removed for the key: not stored */
	MSQ_LATE = 'L',		/* answered after the summary: delivered */
	MSQ_CONT = 'C'		/* a hit the merged answer had no room for
				   (max-frame): parked, sent after it */
};

struct msq_member {
	char		 line[QUEUE_LINE_LEN + 1];
	char		 dest[MSG_ORI_LEN + 1];	/* as routed: "CA" or an ORI */
	int		 st;			/* enum msq_st */
	uint64_t	 answer;		/* a parked answer's message id:
						   0 once merged */
	int		 inflight;		/* its answer is being committed */
	int		 ord;			/* its place in the routing */
};

struct msq {
	uint64_t		 id;		/* the query's message id */
	char			 idstr[24];
	int			 key;		/* the query's enum msg_key */
	char			 ori[MSG_ORI_LEN + 1];	/* the sender */
	char			 ctl[MSG_CTL_LEN + 1];
	char			 line[QUEUE_LINE_LEN + 1];	/* its line */
	char			 to[64];	/* destinations as addressed */
	uint64_t		 created_us;
	uint64_t		 deadline_us;	/* the response timer */
	uint64_t		 forget_us;	/* late answers until then */
	int			 done;		/* the summary was sent */
	int			 busy;		/* its merge is being committed */
	int			 nmember;
	struct msq_member	*m;
	struct msq		*next;
};

struct msq_table;

struct msq_table	*msq_table_new(void);
void			 msq_table_free(struct msq_table *);
/** Queries in the table. */
size_t			 msq_table_count(const struct msq_table *);

/**
 * Is m a multi-state query: key DQ, KQ, DNQ or DQG, and group set (a
 * destination is NL or a region code)?
 */
int		 msq_applies(const struct msg *m, int group);

/** A new query (not in a table); members are added with msq_member_add. */
struct msq	*msq_new(uint64_t id, int key, const char *ori, const char *ctl,
		    const char *line, const char *to, uint64_t created_us,
		    uint64_t deadline_us, uint64_t forget_us);
void		 msq_member_add(struct msq *, const char *line,
		    const char *dest, int st);
void		 msq_free(struct msq *);
/** Add q to t, which owns it from then on. */
void		 msq_table_add(struct msq_table *, struct msq *q);
/** Remove q from t and free it. */
void		 msq_table_del(struct msq_table *, struct msq *q);
/** The oldest query (the others follow through ->next), or NULL. */
struct msq	*msq_table_first(struct msq_table *);
/** The query with message id id, or NULL. */
struct msq	*msq_table_find(struct msq_table *, uint64_t id);

/**
 * The query an answer belongs to: response key rkey from line, addressed
 * to ori with control field ctl, answering a query whose member on that
 * line has not answered yet. The oldest such query; *member is set to
 * the member's index. Members whose answer is being committed are
 * skipped; a query being merged is not (the answer comes late).
 * @return the query, or NULL.
 */
struct msq	*msq_match(struct msq_table *, int rkey, const char *ori,
		    const char *ctl, const char *line, int *member);
/** Has every member that was sent the query answered? */
int		 msq_complete(const struct msq *);
/** A query whose summary is due at now (timer ran out or complete). */
struct msq	*msq_due(struct msq_table *, uint64_t now_us);
/**
 * A query whose summary was sent with an answer still parked (a late
 * answer, or a hit the merged answer had no room for, to deliver on its
 * own): *member its index; NULL if none.
 */
struct msq	*msq_late(struct msq_table *, int *member);
/**
 * A query to forget: its summary sent, no late answer parked, and every
 * member answered or its forget time past. NULL if none.
 */
struct msq	*msq_stale(struct msq_table *, uint64_t now_us);
/** Would q be forgotten (msq_stale) once its parked answers are merged? */
int		 msq_finished(const struct msq *, uint64_t now_us);
/** How many members are in state st. */
int		 msq_count(const struct msq *, int st);

/*
 * The durable copy: one state record per query, key "msq/ID", value
 * "v1 KEY CREATED DEADLINE FORGET DONE ORI LINE CTL|- TO", and one per
 * member, key "msq/ID/LINE", value "ST DEST ANSWER ORD" (ANSWER: the
 * parked answer's message id in hex, 0 for none; ORD: its place in the
 * summary, the order the query was routed in).
 */
/** All the records of q (a new query, or its header after a change). */
void		 msq_states_all(struct queue_states *, const struct msq *);
/** The header record of q. */
void		 msq_states_head(struct queue_states *, const struct msq *);
/** The record of member i of q. */
void		 msq_states_member(struct queue_states *, const struct msq *,
		    int i);
/** The record of member i of q as it will be: state st, answer answer. */
void		 msq_states_answer(struct queue_states *, const struct msq *,
		    int i, int st, uint64_t answer);
/** Deletions of every record of q. */
void		 msq_states_del(struct queue_states *, const struct msq *);
/**
 * Read the stored records into t (start-up). With keep, only the queries
 * it keeps (returns 1 for) are read: asked first by id alone (head NULL:
 * in a cluster, a node's own queries, or the others'), then with the
 * query's header read (head: its key, ORI, control field), before any
 * of its members is. Records that do not make a query (a member without
 * its header, unreadable values) of an id kept are added to *bad as
 * deletions.
 * @return 0, or -1 if the store could not be read.
 */
int		 msq_table_load(struct msq_table *, struct queue *,
		    int (*keep)(uint64_t id, const struct msq *head, void *),
		    void *keeparg, struct queue_states *bad);

/**
 * The summary, the same in XML and legacy text:
 *
 *   MULTI-STATE RESPONSE TO DQ FROM WA0340000 CTL C1 TO NL
 *   QUERIED 5: AZ CA NV OR TX
 *   HIT 2: CA NV
 *   NOT ON FILE 1: AZ
 *   OUT OF SERVICE, WILL FORWARD 1: OR
 *   OUT OF SERVICE, NOT FORWARDED 1: ID
 *   NO RESPONSE 1: TX
 *
 * (lines with nobody left out, members in the order they were routed),
 * or for a late answer of member late (>= 0):
 *
 *   LATE RESPONSE TO MULTI-STATE DQ FROM WA0340000 CTL C1 TO NL
 *   FROM CA, 75 SECONDS AFTER THE QUERY; THE SUMMARY WAS SENT
 *
 * or, for a hit the merged answer had no room for (MSQ_CONT):
 *
 *   MULTI-STATE RESPONSE TO DQ FROM WA0340000 CTL C1 TO NL, CONTINUED
 *   FROM CA, A HIT THE SUMMARY LISTS (NO ROOM FOR IT IN ONE MESSAGE)
 */
void		 msq_summary(struct ubuf *, const struct msq *, int late,
		    uint64_t now_us);

/**
 * The merged answer to q: key msg_key_answer, from MSG_SWITCH_ORI to
 * the sender with its control field, n2:ResponseText the summary, then
 * one n2:StateResponse per answer in bodies (each a stored message's
 * XML: its n2:NLETS element is copied whole; an XML declaration,
 * comments or blanks before it are dropped).
 * @return 0, or -1 if a body has no element (nothing is appended then).
 */
int		 msq_build(struct ubuf *, const struct msq *, int late,
		    const char *const *bodies, const size_t *lens, int n,
		    uint64_t now_us);

#endif
