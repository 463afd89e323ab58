/*
 * queue - the durable store-and-forward queue (docs/durability.md: the
 * contract it keeps, and how).
 *
 * The event loop never blocks on fsync. It builds operations (put a
 * message with its queued copies, delete a delivered copy, move an expired
 * copy to the dead-letter area, ...) and hands them to queue_submit(). A
 * commit thread takes everything submitted so far as one batch, applies it
 * in ONE backend transaction and commits it durably (LMDB: fsync); ops
 * submitted while a commit is in flight join the next batch (group commit).
 * When the commit returns, each op's completion callback runs back in the
 * loop thread, in submission order, with op->result set: only then may the
 * switch acknowledge the message to its sender.
 *
 * Storage sits behind struct queue_backend: queue_lmdb.c ships, queue_ram.c
 * is an in-memory backend for unit tests only.
 *
 * Data model (per backend):
 *   message  msgid -> struct queue_msgrec + body bytes, stored once
 *   copy     (line, prio, msgid, copy) -> struct queue_copy: one per
 *            destination; key order is delivery order within a line
 *   dead     (msgid, copy) -> struct queue_copy: expired copies; their
 *            message stays stored until purged
 *   audit    (time, seq) -> one text record (JSON line), same txn as the
 *            change it describes
 *   meta     counters (next message id, per-line sequence numbers)
 *   state    key -> small value: switch state that must survive a restart
 *            with the message that changes it (the photo requests that
 *            await an answer), written in the op's transaction
 * A message is deleted when its last copy (queued or dead) is deleted.
 *
 * Space (queue_conf). The store is shared by three budgets, so that one
 * kind of data never takes the others' room: the audit trail has a budget
 * of its own (when it is over it, the oldest records are pruned in the
 * same transaction, archived first when an archive directory is set);
 * traffic (PUT) may use the rest of the store but a reserve; the reserve
 * is left to notices (a PUT whose copies are all QUEUE_PRIO_HIGH: SM/ER)
 * and to the pages that deletes need. A full file system is a full store:
 * PUTs get QUEUE_E_FULL, deletes still commit, and the queue reports
 * QUEUE_SPACE_NOSPACE until space returns (queue_get_stats).
 */
#ifndef NLSWITCH_QUEUE_H
#define NLSWITCH_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "util.h"

struct event_base;

#define QUEUE_LINE_LEN	8		/* line code, e.g. "CADMV" */
#define QUEUE_DEST_LEN	9
#define QUEUE_CTL_LEN	10
#define QUEUE_ORI_LEN	9

/* Error codes (op->result and return values of queue_* reads). */
enum queue_err {
	QUEUE_E_OK = 0,
	QUEUE_E_FULL,		/* the store is full: NAK "queue full" */
	QUEUE_E_IO,		/* the commit failed (disk error) */
	QUEUE_E_NOTFOUND,	/* no such message / copy */
	QUEUE_E_CORRUPT,	/* stored entry unreadable (quarantined) */
	QUEUE_E_CLOSED,		/* queue shutting down */
	QUEUE_E_INVAL,		/* malformed op (see queue_op_validate) */
	QUEUE_E_EXISTS,		/* PUT of a msgid that is already stored */
	QUEUE_E_AUDIT,		/* the audit record cannot be written */
	QUEUE_E_DAMAGED,	/* the store's structure is damaged (see
				   queue_health): nothing of the op stored */
	QUEUE_E_UNAVAILABLE	/* a shared store cannot be reached (or
				   refuses): nothing of the op stored */
};
const char	*queue_strerror(int);

/*
 * Copy priority: lower is delivered first (SM/ER before traffic, traffic
 * before the regional queries Nlets carries "at a lower priority": the
 * DQ copies of a DQG, docs/messages.md).
 */
#define QUEUE_PRIO_HIGH	0
#define QUEUE_PRIO_NORMAL 1
#define QUEUE_PRIO_LOW	2

/* Stored message metadata; the body follows it in the store. */
struct queue_msgrec {
	uint64_t	msgid;
	uint64_t	recv_us;		/* receive time, us since epoch */
	uint64_t	in_seq;			/* input sequence on from_line */
	uint32_t	stamp_off;		/* msg.stamp_off of the body */
	uint8_t		key;			/* enum msg_key */
	uint8_t		flags;			/* QUEUE_MSG_* */
	char		from_line[QUEUE_LINE_LEN + 1];
	char		ori[QUEUE_ORI_LEN + 1];	/* originating ORI */
	char		ctl[QUEUE_CTL_LEN + 1];
};
/* The switch node a message ID was given by (docs/cluster.md): its high
 * byte, a rabbitmq store's node-id; 0 on a switch of its own. */
#define QUEUE_MSGID_NODE(id)	((int)((uint64_t)(id) >> 56))
#define QUEUE_MSG_IMQ		0x01	/* request asked for a photo */
#define QUEUE_MSG_PHOTO		0x02	/* body carries a photo */
#define QUEUE_MSG_MAILPIC	0x04	/* a mail (AM AML AA) whose picture
					   the photo policy decided on */
#define QUEUE_MSG_NOREC		0x08	/* an answer that found no record,
					   parked for a multi-state merge
					   (msq.h): counted, not merged */

/*
 * What a copy gets of its message, stored with the copy (a copy of a
 * photo request the destination's photo rules withhold the photo from,
 * docs/policy.md): the line renders the body accordingly at delivery.
 * A copy that had to be rebuilt from its key (its record damaged) cannot
 * know its flags; one of a message that asked for a photo is rebuilt
 * with QUEUE_COPY_NOIMQ, so that damage never sends a photo request a
 * state was not meant to get.
 */
#define QUEUE_COPY_NOIMQ	0x01	/* without the image request */
/* A copy of a mail (AM, AML, AA) whose picture the photo policy
 * withholds from the destination: delivered without its pictures and
 * photo purpose (msgbuild_image_strip). Rebuilt from its key, a copy of
 * a message flagged QUEUE_MSG_MAILPIC gets it (fail closed, as above). */
#define QUEUE_COPY_NOIMAGE	0x02

/* One queued (or dead) delivery copy. */
struct queue_copy {
	char		line[QUEUE_LINE_LEN + 1];	/* destination line */
	uint8_t		prio;
	uint64_t	msgid;
	uint16_t	copy;				/* index within msgid */
	char		dest[QUEUE_DEST_LEN + 1];	/* receiving ORI / code */
	uint8_t		key;				/* enum msg_key (copied) */
	uint64_t	enq_us;				/* enqueue time */
	uint32_t	attempts;			/* deliveries tried */
	uint32_t	size;				/* body bytes */
	uint8_t		flags;				/* QUEUE_COPY_* */
	/* The line the message came from, for its sender's share of the
	 * store: stored with the copy (the PUT takes its message's), read
	 * back by load() without reading the message; "" for the switch's
	 * own notices and in the other walks. */
	char		from_line[QUEUE_LINE_LEN + 1];
};

/**
 * The delivery order of two copies of one line, which is the store's key
 * order after the line: priority, then message ID, then copy number.
 * @return <0 when a goes first, >0 when b does, 0 for the same key.
 */
int		 queue_copy_order(const struct queue_copy *a,
		    const struct queue_copy *b);

/*
 * Op semantics, identical in every backend. copies[0] names the copy for
 * DELETE/EXPIRE (line, prio, msgid, copy: the queued key) and for
 * REQUEUE/PURGE (msgid, copy: the dead key).
 *   PUT      ncopies >= 1 distinct copy numbers; copies[i].msgid is taken
 *            from msg.msgid. QUEUE_E_EXISTS if msgid is stored already,
 *            QUEUE_E_FULL if it does not fit (nothing of it is written).
 *   DELETE   QUEUE_E_NOTFOUND if the copy is not queued.
 *   EXPIRE   moves the stored copy to the dead area; attempts is taken
 *            from copies[0] (the loop holds the live count).
 *   REQUEUE  moves the dead copy back to its line with attempts = 0 and
 *            enq_us = now (a fresh enqueue, so expiry starts again).
 *   PURGE    deletes the dead copy (and the message at its last copy).
 *   AUDIT    requires audit != NULL; refused with QUEUE_E_FULL like a PUT.
 *   META     meta_key of 1..QUEUE_META_KEY_MAX bytes.
 *   AUDIT_PRUNE deletes the audit records older than prune_before_us
 *            (oldest first, at most QUEUE_PRUNE_MAX of them) and sets
 *            pruned to how many it deleted; pruned == QUEUE_PRUNE_MAX
 *            means there may be more (submit another). It frees space,
 *            so it is never refused as full; its own audit record, if
 *            any, is written after the deletion and survives it.
 *   STATE    only writes op->states (which any op may carry).
 * Any op may carry state records (op->states, nstates): each sets key to
 * val (len bytes) or, with val NULL, deletes key; they are written in the
 * op's transaction only when the op itself succeeded.
 * A message body is wiped (overwritten with zeros in place) in the
 * transaction that deletes it when its QUEUE_MSG_PHOTO flag is set: no
 * image bytes stay behind in the store's free pages (docs/policy.md).
 * The op's audit record is written, in the same transaction, only when the
 * op itself succeeded.
 */
enum queue_op_type {
	QUEUE_OP_PUT,		/* store msg + body + ncopies copies */
	QUEUE_OP_DELETE,	/* delivered: delete copy, drop msg at ref 0 */
	QUEUE_OP_EXPIRE,	/* copy -> dead-letter area */
	QUEUE_OP_REQUEUE,	/* dead-letter -> queue (same line/copy) */
	QUEUE_OP_PURGE,		/* delete a dead-letter copy */
	QUEUE_OP_AUDIT,		/* audit record only */
	QUEUE_OP_META,		/* set a counter: meta_key = meta_value */
	QUEUE_OP_AUDIT_PRUNE,	/* delete audit records before a time */
	QUEUE_OP_STATE		/* state records only (op->states) */
};
#define QUEUE_PRUNE_MAX		10000	/* audit records per AUDIT_PRUNE op */
#define QUEUE_META_KEY_MAX	256	/* bytes, without the NUL */

/* One state record of an op: key = val, or delete key (val NULL). */
struct queue_state {
	const char	*key;		/* 1..QUEUE_META_KEY_MAX bytes */
	const void	*val;
	size_t		 len;		/* at most QUEUE_STATE_MAX */
};
#define QUEUE_STATE_MAX		1024

/* A list of state records an op carries, whose strings it owns. */
struct queue_states {
	struct queue_state	*st;
	int			 n;
};
/** Append key = val (NUL-terminated; NULL: delete key); takes both. */
void		 queue_states_push(struct queue_states *, char *key,
		    char *val);
/** Free the records and their strings; the list is empty again. */
void		 queue_states_free(struct queue_states *);

/*
 * Space budgets (see Space above), set with queue_configure. Bytes; the
 * backend rounds to pages.
 */
struct queue_conf {
	uint64_t	audit_budget;	/* 0: the audit shares traffic's room */
	uint64_t	reserve;	/* left to notices and deletes */
	const char	*archive;	/* directory for pruned audit records,
					   or NULL: pruned records are gone */
};

/* What the store says of itself (queue_stats.health). */
enum queue_space {
	QUEUE_SPACE_OK = 0,
	QUEUE_SPACE_NOSPACE,	/* file system full: PUTs refused */
	QUEUE_SPACE_AUDIT,	/* audit over budget, cannot be pruned */
	QUEUE_SPACE_UNAVAILABLE	/* a shared store cannot be reached */
};
const char	*queue_space_name(int);

struct queue_op;
/** Completion, called in the loop thread after the op's batch committed. */
typedef void (*queue_done_cb)(struct queue_op *, void *arg);

/*
 * One operation. The submitter owns the struct and everything it points
 * to until the completion callback runs (the callback may free it).
 * done may be NULL (nobody waits for the result).
 */
struct queue_op {
	enum queue_op_type	 type;
	int			 result;	/* enum queue_err, set on completion */

	/* PUT */
	struct queue_msgrec	 msg;
	const char		*body;
	size_t			 bodylen;
	struct queue_copy	*copies;	/* PUT: ncopies; other ops: 1 */
	int			 ncopies;

	/* AUDIT (any op may carry one; NULL = none), NUL-terminated. */
	const char		*audit;

	/* META */
	const char		*meta_key;
	uint64_t		 meta_value;

	/* AUDIT_PRUNE: cutoff (us since the epoch); records deleted. */
	uint64_t		 prune_before_us;
	uint64_t		 pruned;

	/* State records (any op; see above). */
	const struct queue_state *states;
	int			 nstates;

	queue_done_cb		 done;
	void			*arg;
	struct queue_op		*next;		/* internal list link */
};

struct queue_stats;

/* What queue_load() reports for each stored copy at start-up. */
typedef void (*queue_load_cb)(const struct queue_copy *, void *arg);

/* The parts of the store, as quarantine entries name them. */
enum queue_db {
	QUEUE_DB_MSG,
	QUEUE_DB_COPY,
	QUEUE_DB_DEAD,
	QUEUE_DB_REF,
	QUEUE_DB_AUDIT,
	QUEUE_DB_META,
	QUEUE_DB_MAX
};
/** "msg", "copy", "dead", "ref", "audit", "meta"; NULL if out of range. */
const char	*queue_db_name(int);

/*
 * A stored entry that did not decode, as it sits in quarantine: moved
 * there whole (key and value, for an operator or a salvage) by the
 * transaction that found it, with why and what the store did instead.
 *   reason  "short", "version", "checksum" (the key and value do not
 *           match their checksum), "content" (sealed right, but fields
 *           or key do not agree), "key" (the key was damaged and the
 *           value was intact); for a ref that load() found counting
 *           more copies than there are, "copies-lost" (the sender must
 *           be told), or fewer, "count"
 *   action  "rebuilt" (a copy written again from its key and message,
 *           or under its right key; it is delivered), "dead-lettered" (a
 *           copy whose message is unreadable or gone: its key names it,
 *           it goes to the dead letters and the sender gets SM .09),
 *           "recounted" (a ref), "deleted" (a ref whose message has
 *           no copy left: the message went too), "none" (nothing more
 *           could be done: the key is unreadable too - load() then finds
 *           the message's copies lost - or the entry is a dead letter, a
 *           message - its copies are dead-lettered when delivered - an
 *           audit record or a counter)
 * msgid is 0 and copy -1 where the key does not name them; line is ""
 * unless the key names one (copy db).
 */
struct queue_quar {
	uint64_t	 t_us;		/* when it was quarantined */
	int		 db;		/* enum queue_db, -1 if unknown */
	const uint8_t	*key;
	size_t		 keylen;
	size_t		 vallen;	/* bytes of the value kept */
	const char	*reason;
	const char	*action;
	uint64_t	 msgid;
	int		 copy;
	char		 line[QUEUE_LINE_LEN + 1];
};
/* A quarantine walk's callback; a non-zero return stops the walk. */
typedef int (*queue_quar_cb)(const struct queue_quar *, void *arg);

/*
 * The store's health, read in the loop thread. damaged is set (and
 * stays set until the store is reopened) when LMDB reports damage to the
 * B-tree itself on a read or a commit - MDB_CORRUPTED, MDB_PAGE_NOTFOUND,
 * MDB_BAD_TXN, MDB_PANIC, MDB_INVALID, EINVAL from a call whose
 * arguments are known good - as opposed to one record failing its
 * checksum (quarantined, counted below). What the page held cannot be
 * read any more, and commits that touch it fail: the switch must stop
 * taking messages and an operator must rebuild the store
 * (docs/durability.md).
 */
struct queue_health {
	int		damaged;
	char		damage[512];	/* LMDB's words and where */
	uint64_t	quarantined[QUEUE_DB_MAX];	/* entries, per db */
};

/*
 * A storage backend. apply() runs in the commit thread; the read
 * functions run in the loop thread concurrently with apply() and must be
 * safe for that (LMDB: read transactions; RAM: a mutex).
 */
struct queue_backend {
	const char	*name;
	void		*(*open)(const char *path, size_t mapsize, char **cause);
	void		 (*close)(void *);
	/* Apply ops[0..n) in one durable transaction; set each op->result.
	 * A full store fails only the ops that did not fit (PUTs), never
	 * the deletes. Return -1 if the whole transaction failed, and
	 * QUEUE_APPLY_RETRY if it failed for lack of disk space even
	 * without the growing ops: queue_is_growing() ops then have their
	 * result set, the others are to be applied again later. */
	int		 (*apply)(void *, struct queue_op **ops, int n);
	/* Walk every queued copy in key order (start-up). A copy whose
	 * record is corrupt is quarantined and rebuilt (reported) or
	 * dead-lettered (not reported): see struct queue_quar. */
	int		 (*load)(void *, queue_load_cb, void *arg);
	/* Read a message (metadata + body into *body; body may be NULL). */
	int		 (*get)(void *, uint64_t msgid, struct queue_msgrec *,
			    struct ubuf *body);
	/* Walk dead-letter copies. */
	int		 (*walk_dead)(void *, queue_load_cb, void *arg);
	/* Read a counter (0 if never set). */
	uint64_t	 (*meta_get)(void *, const char *key);
	/* Walk audit records with time >= since_us; stops when cb != 0. */
	int		 (*walk_audit)(void *, uint64_t since_us,
			    int (*cb)(uint64_t t_us, const char *rec, size_t len,
			    void *arg), void *arg);
	/* The same newest first, from the records with time < until_us
	 * (0: from the newest). */
	int		 (*walk_audit_back)(void *, uint64_t until_us,
			    int (*cb)(uint64_t t_us, const char *rec, size_t len,
			    void *arg), void *arg);
	/* Space: bytes used and bytes available in the store. */
	int		 (*usage)(void *, uint64_t *used, uint64_t *size);
	/* Walk state records whose key starts with prefix; stops when
	 * cb != 0. */
	int		 (*walk_state)(void *, const char *prefix,
			    int (*cb)(const char *key, size_t klen,
			    const void *val, size_t len, void *arg), void *arg);
	/* Commit thread, before a batch: the budgets to apply from now. */
	void		 (*configure)(void *, const struct queue_conf *);
	/* Commit thread, after a batch: fill the space fields of st
	 * (audit_*, health, cause). */
	void		 (*space)(void *, struct queue_stats *st);
	/* Open an existing store for reading only, next to a running
	 * writer (another process); NULL: not supported. */
	void		*(*open_rdonly)(const char *path, char **cause);
	/* Health and quarantine counts; NULL: always healthy, none. */
	int		 (*health)(void *, struct queue_health *);
	/* Walk quarantine entries with time >= since_us in time order;
	 * stops when cb != 0. NULL: there is no quarantine. */
	int		 (*walk_quarantine)(void *, uint64_t since_us,
			    queue_quar_cb, void *arg);
	/* Loop thread, before load: the destination lines this node
	 * delivers to. A store shared by several nodes (rabbitmq) loads
	 * and consumes only their copies; NULL: every copy is this node's. */
	int		 (*serve)(void *, const char *const *lines, int n,
			    char **cause);
	/* Right after open: how to report copies that arrive later, from
	 * the store itself (any thread; the queue hands them to the loop
	 * thread's load callback). NULL: copies only come from this
	 * node's ops and load(). */
	void		 (*attach)(void *, void (*arrive)(void *qarg,
			    const struct queue_copy *), void *qarg);
	/* Loop thread: a line came up here (on) or went down (off). A
	 * shared store hands a line's copies to the node that holds its
	 * connection, and takes them back when it goes. NULL: the store
	 * is this node's alone, every copy is loaded. */
	void		 (*subscribe)(void *, const char *line, int on);
	/* Loop thread: copies of line the store holds for no node yet
	 * (a shared store's own count; NULL: none apart from the loop's). */
	int		 (*depth)(void *, const char *line, uint64_t *waiting);
};

#define QUEUE_APPLY_RETRY	1

/** Does op add data to the store (PUT, AUDIT) rather than free or keep? */
int		 queue_is_growing(const struct queue_op *);

extern const struct queue_backend queue_backend_lmdb;
extern const struct queue_backend queue_backend_ram;
extern const struct queue_backend queue_backend_rabbitmq;

/**
 * Append an audit record with its time (a queue_backend_ram handle): the
 * rabbitmq backend's view takes a record's time from the replicated log.
 */
void		 queue_ram_audit_at(void *, uint64_t t_us, const char *text);
/**
 * Add a copy and, unless it is there, its message (a queue_backend_ram
 * handle): the rabbitmq backend's view of a copy delivered from the
 * store. dead: a dead-lettered copy.
 * @return 0 added, 1 the copy (msgid, copy) is there already.
 */
int		 queue_ram_add_copy(void *, const struct queue_msgrec *,
		    const void *body, size_t len, const struct queue_copy *,
		    int dead);
/** Keep at most about bytes of audit text, the oldest dropped first
 * (a queue_backend_ram handle; 0: no limit, the default). */
void		 queue_ram_audit_cap(void *, uint64_t bytes);
/** Every counter, key and value (a queue_backend_ram handle). */
void		 queue_ram_walk_meta(void *, void (*cb)(const char *key,
		    uint64_t value, void *arg), void *arg);
/** Forget a line's queued copies (and messages left without one).
 * @return the copies forgotten. */
size_t		 queue_ram_drop_line(void *, const char *line);

struct queue;

/* Counters, read in the loop thread. */
struct queue_stats {
	uint64_t	commits;		/* transactions committed */
	uint64_t	ops;			/* ops applied */
	uint64_t	batch_max;		/* largest batch */
	uint64_t	commit_us_total;	/* time spent in apply+commit */
	uint64_t	failed;			/* ops completed with an error */
	struct metrics_hist commit_latency;	/* seconds per apply+commit */
	struct metrics_hist commit_batch;	/* ops per commit */

	/* Space, as of the last commit (backend's space()). */
	int		 space;			/* enum queue_space */
	char		 space_cause[400];	/* why, when not OK */
	uint64_t	 audit_bytes;		/* the audit trail's pages */
	uint64_t	 audit_records;
	uint64_t	 audit_budget;		/* bytes; 0 = none */
	uint64_t	 audit_pruned_size;	/* records pruned for size */
	uint64_t	 audit_archived;	/* records written to archive */
	uint64_t	 nospace_events;	/* commits refused for ENOSPC */
	uint64_t	 retries;		/* batches retried (ENOSPC) */
};

/**
 * Open the store and start the commit thread. Completions are delivered
 * on base (which must have been created after evthread_use_pthreads()).
 * @return queue, or NULL with *cause set (caller frees).
 */
struct queue	*queue_open(const struct queue_backend *, const char *path,
		    size_t mapsize, struct event_base *base, char **cause);
/**
 * Stop accepting ops, commit what is pending, run the remaining
 * completions, stop the thread and close the store. Call it from the loop
 * thread, never from a completion callback; ops that completions submit
 * meanwhile complete with QUEUE_E_CLOSED.
 */
void		 queue_close(struct queue *);
/**
 * Open an existing store read-only, without a commit thread or an event
 * loop: for tools (bin/nlaudit) that read while nlswitchd runs. Only the
 * reads below work; queue_submit must not be called. Close it with
 * queue_close.
 * @return queue, or NULL with *cause set (caller frees).
 */
struct queue	*queue_open_rdonly(const struct queue_backend *,
		    const char *path, char **cause);
/**
 * Set the space budgets (loop thread, any time): the commit thread takes
 * them from its next batch. The strings are copied.
 */
void		 queue_configure(struct queue *, const struct queue_conf *);
/**
 * How long a batch of deliveries' DELETEs alone waits for another op to
 * share its commit (QUEUE_LAZY_US by default, 0: it commits at once).
 * A DELETE's commit proves nothing to anyone (a copy whose delete a
 * crash loses is delivered again, as ever), while every commit costs the
 * disk its flushes: when a delivery's delete and the next message's PUT
 * arrive together, as with one message in flight, they share one commit
 * instead of the PUT waiting for the delete's. Loop thread, any time.
 */
#define QUEUE_LAZY_US	2000
void		 queue_set_lazy(struct queue *, unsigned int us);
/** Submit one op (loop thread). Its completion runs after its commit. */
void		 queue_submit(struct queue *, struct queue_op *);
/** Ops submitted and not yet completed. */
int		 queue_pending(struct queue *);

/*
 * Reads, loop thread, synchronous (no fsync involved). They return an
 * enum queue_err (0 = QUEUE_E_OK); load and the walks return QUEUE_E_IO
 * if the store cannot be read, and skip (and quarantine) corrupt entries.
 * queue_load quarantines what it found before it returns: a caller
 * that walks the quarantine from just before the load on sees every
 * copy the load rebuilt or dead-lettered.
 */
/**
 * Name the destination lines this node delivers to, before queue_load
 * (the backend's serve; a no-op for a store of this node alone).
 * @return 0, or -1 with *cause set (caller frees).
 *
 * queue_load reports every copy stored now. With a shared store
 * (rabbitmq) more copies arrive later - the part of a long line queue
 * the store hands out as earlier copies are deleted - and load's
 * callback is called again for each, in the loop thread, for as long
 * as the queue is open.
 */
int		 queue_serve(struct queue *, const char *const *lines, int n,
		    char **cause);
int		 queue_load(struct queue *, queue_load_cb, void *arg);
/**
 * Is the store shared by several nodes? Then a line's copies come from
 * the store (load's callback) only while the line is up here
 * (queue_subscribe), and a copy an op stores is not this node's to
 * deliver unless the store hands it back.
 */
int		 queue_is_shared(const struct queue *);
/** A line came up here (on = 1) or went down (0); see above. */
void		 queue_subscribe(struct queue *, const char *line, int on);
/**
 * A shared store's copies for line that wait for the node it comes up
 * on (counted by the store itself; a line up here holds the rest).
 * @return QUEUE_E_OK, QUEUE_E_UNAVAILABLE, or QUEUE_E_INVAL when the
 * store is not shared.
 */
int		 queue_depth(struct queue *, const char *line, uint64_t *waiting);
int		 queue_get(struct queue *, uint64_t msgid, struct queue_msgrec *,
		    struct ubuf *body);
int		 queue_walk_dead(struct queue *, queue_load_cb, void *arg);
uint64_t	 queue_meta_get(struct queue *, const char *key);
int		 queue_walk_audit(struct queue *, uint64_t since_us,
		    int (*cb)(uint64_t, const char *, size_t, void *), void *arg);
/** Newest first: records with time < until_us (0: every record). */
int		 queue_walk_audit_back(struct queue *, uint64_t until_us,
		    int (*cb)(uint64_t, const char *, size_t, void *), void *arg);
int		 queue_usage(struct queue *, uint64_t *used, uint64_t *size);
int		 queue_walk_state(struct queue *, const char *prefix,
		    int (*cb)(const char *, size_t, const void *, size_t,
		    void *), void *arg);
void		 queue_get_stats(struct queue *, struct queue_stats *);
/**
 * The store's health (queue_health above); cheap enough for every
 * message (a lock, and a short quarantine count after a quarantine).
 * @return 1 if the store is damaged, else 0.
 */
int		 queue_health(struct queue *, struct queue_health *);
/**
 * Walk the quarantine (struct queue_quar) from since_us on.
 * @return QUEUE_E_OK, or QUEUE_E_IO if the store cannot be read.
 */
int		 queue_walk_quarantine(struct queue *, uint64_t since_us,
		    queue_quar_cb, void *arg);

/**
 * Check the parts of an op every backend relies on (used by backends).
 * @return QUEUE_E_OK or QUEUE_E_INVAL.
 */
int		 queue_op_validate(const struct queue_op *);

/** Message ID text "%016llx" and copy ID text "%016llx.%u". */
void		 queue_msgid_fmt(char *buf, size_t sz, uint64_t msgid);
void		 queue_copyid_fmt(char *buf, size_t sz, uint64_t msgid,
		    uint16_t copy);

#endif
