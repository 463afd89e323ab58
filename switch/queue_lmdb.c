/*
 * queue_lmdb - the LMDB backend of the queue (queue.h); the only file that
 * includes <lmdb.h>.
 *
 * Durability. The environment is opened with LMDB's default sync flags (no
 * MDB_NOSYNC, MDB_NOMETASYNC, MDB_WRITEMAP, MDB_MAPASYNC): mdb_txn_commit()
 * returns only after the data pages and then the new meta page have been
 * written and fdatasync'd. queue.c completes an op (and the switch acks
 * the message) only after that, so an acked message survives kill -9 and
 * power loss. A batch is one write transaction: its ops and their audit
 * records become durable together or not at all.
 *
 * Threads. MDB_NOTLS: the commit thread writes, the loop thread reads, and
 * a read txn belongs to its handle rather than to a thread. get() and
 * meta_get() reuse one read txn (reset after every read, so it never pins
 * an old snapshot and stops page reuse); the walks open their own, so a
 * walk callback may call get().
 *
 * Databases, in one environment (a directory):
 *   msg         msgid BE64                          -> msg record + body
 *   copy        line[8] prio[1] msgid BE64 copy BE16 -> copy record
 *   dead        msgid BE64 copy BE16                -> copy record
 *   ref         msgid BE64                          -> ref record
 *   audit       t_us BE64 seq BE32                  -> audit record
 *   meta        key bytes                           -> meta record
 *   quarantine  t_us BE64 seq BE32                  -> removed corrupt entry
 *               (version, db name length + name, key length BE16 + key,
 *               value length BE32 + value, then reason and action, each a
 *               length byte + text; entries written before those two
 *               end after the value)
 *   state       key bytes                           -> state record
 * A cursor walk over copy gives delivery order per line (prio, msgid,
 * copy). ref holds the number of live copies (queued + dead) of a message:
 * the body (up to ~50 KB) is written once by PUT and deleted with the last
 * copy, and a decrement rewrites 12 bytes instead of the body.
 *
 * Records. Every value starts with a version byte and ends with a 32-bit
 * checksum (big-endian) over the key and the rest of the value: the low
 * half of XXH3-64 in version 2, a CRC-32 in version 1 (still read, never
 * written: XXH3 is 3.7 times faster on a 50 KB body); fields are
 * big-endian at fixed offsets, strings NUL padded. No struct is stored
 * raw, so the files do not depend on the compiler or the CPU, and a torn
 * or scribbled record is detected. A record that does not decode is moved
 * to quarantine (with its db name, key and value, for the operator) and
 * skipped, never fatal. Readers cannot write, so what load() finds is
 * quarantined by a short write txn at the end of load() (start-up), and
 * what get() and the walks find is queued and moved by the next commit.
 *
 * Corruption is never silent. A quarantine entry also says why and what
 * was done instead (struct queue_quar), the same txn writes an audit
 * record of it (event "quarantined"), and health() counts the entries
 * per db. A copy is not just set aside: its key names line, prio,
 * msgid and copy, and the msg record has the message's key, size and
 * receive time, so a copy whose record is damaged is written again from
 * those and delivered (salvage below); if its key was what got hit, the
 * value, intact under the key its own fields name, is the copy. A copy
 * whose message is unreadable or gone goes to the dead letters (its key
 * still names it) for the switch to tell the sender.
 *
 * Damage to the B-tree itself (a page of the wrong type, a page number
 * past the end) is another matter: LMDB reports it on every read or
 * commit that reaches the page, and nothing that page held can be read.
 * Such errors are recorded (sticky, health()) for the switch to stop
 * taking messages; a batch that hits one is applied again op by op so
 * that the ops that do not touch the page (deliveries' deletes) still
 * commit; load() reads every page of every db once (check_tree) so that
 * damage shows at start-up rather than at the first commit that needs
 * the page. LMDB trusts the rest of a page's layout: damage it does not
 * check can end in one of its assertions (logged by the assert callback
 * before LMDB aborts) or worse; the recovery is the same. So open()
 * first checks data.mdb's structure without LMDB (mdbcheck.h): damaged,
 * the store is opened no further (env NULL: every op fails, health()
 * names the page) and the switch runs not ready.
 *
 * Full map. Space is checked before a batch, cheaply: the high-water mark
 * (mdb_env_info last_pgno) is exact enough while it is below the limit;
 * only when a batch could cross it is LMDB's freelist summed (one cursor
 * walk of the free DB, which reads LMDB's documented IDL layout: a count
 * followed by page numbers). The count includes the pages freed by the
 * last commit, which LMDB hands out only from the commit after next (MVCC):
 * a PUT right after a big delete may briefly grow into the headroom, which
 * is bounded by what was freed, and the MAP_FULL path below catches the
 * rest. PUTs and audit-only ops that would take the
 * map above QUEUE_LMDB_FULL_PCT (or into the last QUEUE_LMDB_HEADROOM
 * pages) get QUEUE_E_FULL and are skipped, because deletes need free
 * pages too (copy-on-write of the btree paths and the freelist itself):
 * the headroom is what lets deliveries keep deleting on a full store. If
 * the estimate is wrong and the batch still hits MDB_MAP_FULL, the batch
 * is aborted and re-applied op by op, each op in a nested txn: first the
 * ops that free or keep space (delete, expire, purge, requeue, meta), then
 * the PUTs and audit-only ops; an op that hits MDB_MAP_FULL gets
 * QUEUE_E_FULL and the rest commit. As a last resort the batch is applied
 * without any PUT.
 */
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>
#include <xxhash.h>
#include <zlib.h>

#include "audit.h"
#include "log.h"
#include "mdbcheck.h"
#include "queue.h"
#include "util.h"

#define QUEUE_LMDB_VERSION	2	/* written; see Records above */
#define QUEUE_LMDB_VERSION_CRC	1	/* read: CRC-32 checksums */
#define QUEUE_LMDB_MAPSIZE	((size_t)1 << 30)	/* default: 1 GiB */
#define QUEUE_LMDB_MAXDBS	12
/* Admission limit, percent of the map, and minimum free pages. */
#ifndef QUEUE_LMDB_FULL_PCT
#define QUEUE_LMDB_FULL_PCT	95
#endif
#ifndef QUEUE_LMDB_HEADROOM
#define QUEUE_LMDB_HEADROOM	32
#endif
/* Disk space allocated ahead of the data file (queue_lmdb_allocate),
 * once the file system has less than QUEUE_LMDB_DISK_SLACK free. */
#define QUEUE_LMDB_FALLOC_CHUNK	((uint64_t)8 << 20)
#define QUEUE_LMDB_DISK_SLACK	((uint64_t)256 << 20)
/* An EIO at commit with less than this free is a full disk. */
#define QUEUE_LMDB_NOSPACE_EIO	((uint64_t)16 << 20)
/* Of the reserve, what a full disk keeps for deletes, at most (pages). */
#define QUEUE_LMDB_DISK_RESERVE	256
/* A full disk is reported while less than this many pages fit. */
#define QUEUE_LMDB_NOSPACE_ROOM	16
/* Audit records pruned for size in one transaction, at most. */
#define QUEUE_LMDB_TRIM_MAX	20000

/* LMDB's page header: an overflow run's data starts after it. */
#define QUEUE_LMDB_PAGEHDR	16

/* Key sizes. */
#define QUEUE_LMDB_MSGKEY	8
#define QUEUE_LMDB_COPYKEY	(QUEUE_LINE_LEN + 1 + 8 + 2)
#define QUEUE_LMDB_DEADKEY	(8 + 2)
#define QUEUE_LMDB_STAMPKEY	(8 + 4)

/*
 * msg record: header, body, CRC.
 *   0 version  1 key  2 flags  3 zero  4 msgid  12 recv_us  20 in_seq
 *   28 stamp_off  32 from_line[8]  40 ori[9]  49 ctl[10]  59 zero
 *   60 body length  64 body  64+len CRC
 */
#define QUEUE_LMDB_MSGHDR	64
/*
 * copy record (copy and dead dbs; the key is derived from it):
 *   0 version  1 prio  2 key  3 flags  4 line[8]  12 dest[9]  21 zero
 *   22 copy  24 msgid  32 enq_us  40 attempts  44 size  48 CRC
 * flags (QUEUE_COPY_*) took a byte that was always written zero, so the
 * records of older stores read as flags 0, their meaning then, and the
 * version stays 2. A switch older than the flags ignores them.
 * Since 0.3.1 the record also carries the line its message came from, so
 * that the start-up load reads copies only, never a message's pages:
 *   ... 44 size  48 from_line[8]  56 CRC
 * Records of the old length (52: CRC at 48) still read; their from_line
 * is looked up in the message's header.
 */
#define QUEUE_LMDB_COPYREC	60
#define QUEUE_LMDB_COPYREC_OLD	52
/* ref record: 0 version  1..3 zero  4 count  8 CRC */
#define QUEUE_LMDB_REFREC	12
/* meta record: 0 version  1..3 zero  4 value  12 CRC */
#define QUEUE_LMDB_METAREC	16
/* audit record: 0 version  1 text  n CRC */
/* state record: 0 version  1 value  n CRC */

enum queue_lmdb_db {
	QUEUE_LMDB_MSG,
	QUEUE_LMDB_COPY,
	QUEUE_LMDB_DEAD,
	QUEUE_LMDB_REF,
	QUEUE_LMDB_AUDIT,
	QUEUE_LMDB_META,
	QUEUE_LMDB_QUAR,
	QUEUE_LMDB_STATE,
	QUEUE_LMDB_NDB
};

static const char *const queue_lmdb_dbname[QUEUE_LMDB_NDB] = {
	"msg", "copy", "dead", "ref", "audit", "meta", "quarantine", "state"
};

/* Quarantine entries name their db as queue.h does. */
_Static_assert((int)QUEUE_LMDB_MSG == QUEUE_DB_MSG &&
    (int)QUEUE_LMDB_COPY == QUEUE_DB_COPY &&
    (int)QUEUE_LMDB_DEAD == QUEUE_DB_DEAD &&
    (int)QUEUE_LMDB_REF == QUEUE_DB_REF &&
    (int)QUEUE_LMDB_AUDIT == QUEUE_DB_AUDIT &&
    (int)QUEUE_LMDB_META == QUEUE_DB_META &&
    (int)QUEUE_LMDB_QUAR == QUEUE_DB_MAX,
    "queue_lmdb db numbers are queue.h's");

/* What salvage() could make of a copy entry that does not decode. */
enum queue_lmdb_salvage {
	QUEUE_LMDB_SV_NONE,	/* nothing: quarantined only */
	QUEUE_LMDB_SV_REBUILT,	/* the copy, to be written again */
	QUEUE_LMDB_SV_DEAD	/* the copy the key names, message unreadable */
};

/* Unique increasing (t_us, seq) keys for audit and quarantine. */
struct queue_lmdb_stamp {
	uint64_t	t_us;
	uint32_t	seq;
};

/* A corrupt entry seen by a reader, to be quarantined by a writer. */
struct queue_lmdb_bad {
	struct queue_lmdb_bad	*next;
	int			 db;
	size_t			 klen;
	uint8_t			 key[];
};

struct queue_lmdb {
	MDB_env			*env;
	MDB_dbi			 dbi[QUEUE_LMDB_NDB];
	unsigned int		 psize;
	char			*path;
	int			 rdonly;	/* open_rdonly: never writes */
	const uint8_t		*map;		/* LMDB's map of data.mdb, */
	size_t			 maplen;	/* found by queue_lmdb_map_find */

	pthread_mutex_t		 rlock;		/* rtxn */
	MDB_txn			*rtxn;		/* cached, reset between reads */

	pthread_mutex_t		 badlock;	/* bad */
	struct queue_lmdb_bad	*bad;

	pthread_mutex_t		 healthlock;	/* the four below, audit_ck */
	pthread_cond_t		 audit_cv;	/* audit_ck left 0 */
	int			 audit_ck;	/* 0 checking, 1 sound, -1 not */
	pthread_t		 audit_thr;	/* the audit's check (open) */
	int			 audit_thr_on;
	int			 damage_rc;	/* first B-tree damage, sticky */
	char			 damage[512];
	uint64_t		 quar_count[QUEUE_DB_MAX];
	int			 quar_dirty;	/* quarantined since counted */
	int			 quar_in_txn;	/* writer: this txn quarantined */

	/* Used inside write txns only (serialized by LMDB's writer lock). */
	struct queue_lmdb_stamp	 audit_stamp;
	struct queue_lmdb_stamp	 quar_stamp;

	/* Commit thread only: budgets (configure) and space state. */
	uint64_t		 audit_budget;	/* pages; 0 = none */
	uint64_t		 audit_eff;	/* the same, on this disk */
	uint64_t		 reserve;	/* pages */
	char			*archive;	/* directory or NULL */
	int			 fd;		/* data.mdb, for fallocate */
	int			 falloc;	/* fallocate works here */
	uint64_t		 alloc_end;	/* bytes allocated on disk */
	int			 nospace;	/* disk full (health) */
	int			 audit_blocked;	/* over budget, cannot prune */
	char			 cause[300];	/* of nospace */
	char			 audit_cause[300]; /* of audit_blocked */
	uint64_t		 audit_pages;	/* as of the last commit */
	uint64_t		 audit_records;
	uint64_t		 pruned_size;
	uint64_t		 archived;
};

static int	queue_lmdb_audit_put(struct queue_lmdb *, MDB_txn *,
		    const char *);
static void	*queue_lmdb_audit_check_cb(void *);
static int	queue_lmdb_audit_wait(struct queue_lmdb *);
static int	queue_lmdb_audit_sound(struct queue_lmdb *);
static void	queue_lmdb_copy_from(struct queue_lmdb *, MDB_txn *,
		    const MDB_val *, struct queue_copy *);
static int	queue_lmdb_copy_put(struct queue_lmdb *, MDB_txn *, int,
		    const struct queue_copy *, unsigned int);

/*
 * Space accounting of one batch, in pages. Traffic (PUT) and audit
 * records have budgets of their own (queue.h, Space): used counts every
 * page in use, audit the audit trail's share of it at the batch's start.
 */
struct queue_lmdb_budget {
	uint64_t	used;		/* all pages in use (upper bound) */
	uint64_t	audit;		/* of which the audit trail's */
	uint64_t	traffic;	/* limit of used - audit for a PUT */
	uint64_t	notice;		/* the same for a notice PUT */
	uint64_t	disk;		/* limit of used on a full disk */
	uint64_t	disk_audit;	/* the same for audit records */
};

enum queue_lmdb_mode {
	QUEUE_LMDB_BATCH,	/* all ops in one txn */
	QUEUE_LMDB_EACH,	/* one nested txn per op, space freeing first */
	QUEUE_LMDB_NOGROW	/* as EACH, but every PUT is refused */
};

/* CRC-32 (IEEE, as in zlib and gzip): zlib's is table-sliced and about
 * twice as fast as a plain byte table on 50 KB bodies. */
static uint32_t
queue_lmdb_crc(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char	*p = buf;

	while (len > 0) {
		uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;

		crc = (uint32_t)crc32((uLong)crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

/* The checksum of key + v[0 .. n) for a record of version v[0]. */
static uint32_t
queue_lmdb_sum(const MDB_val *k, const uint8_t *v, size_t n)
{
	uint32_t crc;

	if (v[0] == QUEUE_LMDB_VERSION_CRC) {
		crc = queue_lmdb_crc(0, k->mv_data, k->mv_size);
		return queue_lmdb_crc(crc, v, n);
	}
	return (uint32_t)XXH3_64bits_withSeed(v, n,
	    XXH3_64bits(k->mv_data, k->mv_size));
}

/* Seal a value: checksum of key + value[0 .. len-4) into its last 4
 * bytes; v[0] is the version. */
static void
queue_lmdb_seal(const MDB_val *k, uint8_t *v, size_t len)
{
	util_put_be32(v + len - 4, queue_lmdb_sum(k, v, len - 4));
}

/* Check version, minimum size and CRC of a stored value. */
static int
queue_lmdb_check(const MDB_val *k, const MDB_val *v, size_t minlen)
{
	const uint8_t	*p = v->mv_data;
	uint32_t	 crc;

	if (v->mv_size < minlen || v->mv_size < 5)
		return -1;
	if (p[0] != QUEUE_LMDB_VERSION && p[0] != QUEUE_LMDB_VERSION_CRC)
		return -1;
	crc = queue_lmdb_sum(k, p, v->mv_size - 4);
	if (crc != util_get_be32(p + v->mv_size - 4))
		return -1;
	return 0;
}

/* Fixed-width NUL-padded string field. */
static void
queue_lmdb_put_str(uint8_t *p, const char *s, size_t width)
{
	size_t n = strnlen(s, width);

	memcpy(p, s, n);
	memset(p + n, 0, width - n);
}

static void
queue_lmdb_get_str(char *dst, const uint8_t *p, size_t width)
{
	memcpy(dst, p, width);
	dst[width] = '\0';
}

static void
queue_lmdb_copy_key(uint8_t *k, const struct queue_copy *c)
{
	queue_lmdb_put_str(k, c->line, QUEUE_LINE_LEN);
	k[QUEUE_LINE_LEN] = c->prio;
	util_put_be64(k + QUEUE_LINE_LEN + 1, c->msgid);
	util_put_be16(k + QUEUE_LINE_LEN + 9, c->copy);
}

static void
queue_lmdb_dead_key(uint8_t *k, uint64_t msgid, uint16_t copy)
{
	util_put_be64(k, msgid);
	util_put_be16(k + 8, copy);
}

/* Encode c under key k into v (QUEUE_LMDB_COPYREC bytes). */
static void
queue_lmdb_copy_enc(uint8_t *v, const MDB_val *k, const struct queue_copy *c)
{
	memset(v, 0, QUEUE_LMDB_COPYREC);
	v[0] = QUEUE_LMDB_VERSION;
	v[1] = c->prio;
	v[2] = c->key;
	v[3] = c->flags;
	queue_lmdb_put_str(v + 4, c->line, QUEUE_LINE_LEN);
	queue_lmdb_put_str(v + 12, c->dest, QUEUE_DEST_LEN);
	util_put_be16(v + 22, c->copy);
	util_put_be64(v + 24, c->msgid);
	util_put_be64(v + 32, c->enq_us);
	util_put_be32(v + 40, c->attempts);
	util_put_be32(v + 44, c->size);
	queue_lmdb_put_str(v + 48, c->from_line, QUEUE_LINE_LEN);
	queue_lmdb_seal(k, v, QUEUE_LMDB_COPYREC);
}

/* Decode a copy or dead entry; the key must be the one derived from it. */
static int
queue_lmdb_copy_dec(int db, const MDB_val *k, const MDB_val *v,
    struct queue_copy *c)
{
	const uint8_t	*p = v->mv_data;
	uint8_t		 kk[QUEUE_LMDB_COPYKEY];
	size_t		 klen;

	if ((v->mv_size != QUEUE_LMDB_COPYREC &&
	    v->mv_size != QUEUE_LMDB_COPYREC_OLD) ||
	    queue_lmdb_check(k, v, QUEUE_LMDB_COPYREC_OLD) == -1)
		return -1;
	memset(c, 0, sizeof *c);
	if (v->mv_size == QUEUE_LMDB_COPYREC)
		queue_lmdb_get_str(c->from_line, p + 48, QUEUE_LINE_LEN);
	c->prio = p[1];
	c->key = p[2];
	c->flags = p[3];
	queue_lmdb_get_str(c->line, p + 4, QUEUE_LINE_LEN);
	queue_lmdb_get_str(c->dest, p + 12, QUEUE_DEST_LEN);
	c->copy = util_get_be16(p + 22);
	c->msgid = util_get_be64(p + 24);
	c->enq_us = util_get_be64(p + 32);
	c->attempts = util_get_be32(p + 40);
	c->size = util_get_be32(p + 44);
	if (db == QUEUE_LMDB_COPY) {
		queue_lmdb_copy_key(kk, c);
		klen = QUEUE_LMDB_COPYKEY;
	} else {
		queue_lmdb_dead_key(kk, c->msgid, c->copy);
		klen = QUEUE_LMDB_DEADKEY;
	}
	if (k->mv_size != klen || memcmp(k->mv_data, kk, klen) != 0)
		return -1;
	return 0;
}

/* Decode a msg record; *body and *bodylen point into v. */
static int
queue_lmdb_msg_dec(const MDB_val *k, const MDB_val *v, struct queue_msgrec *m,
    const uint8_t **body, size_t *bodylen)
{
	const uint8_t	*p = v->mv_data;
	uint32_t	 len;

	if (k->mv_size != QUEUE_LMDB_MSGKEY ||
	    queue_lmdb_check(k, v, QUEUE_LMDB_MSGHDR + 4) == -1)
		return -1;
	len = util_get_be32(p + 60);
	if ((size_t)len != v->mv_size - QUEUE_LMDB_MSGHDR - 4)
		return -1;
	memset(m, 0, sizeof *m);
	m->key = p[1];
	m->flags = p[2];
	m->msgid = util_get_be64(p + 4);
	m->recv_us = util_get_be64(p + 12);
	m->in_seq = util_get_be64(p + 20);
	m->stamp_off = util_get_be32(p + 28);
	queue_lmdb_get_str(m->from_line, p + 32, QUEUE_LINE_LEN);
	queue_lmdb_get_str(m->ori, p + 40, QUEUE_ORI_LEN);
	queue_lmdb_get_str(m->ctl, p + 49, QUEUE_CTL_LEN);
	if (m->msgid != util_get_be64(k->mv_data))
		return -1;
	*body = p + QUEUE_LMDB_MSGHDR;
	*bodylen = len;
	return 0;
}

static int
queue_lmdb_ref_dec(const MDB_val *k, const MDB_val *v, uint32_t *count)
{
	if (v->mv_size != QUEUE_LMDB_REFREC ||
	    queue_lmdb_check(k, v, QUEUE_LMDB_REFREC) == -1)
		return -1;
	*count = util_get_be32((const uint8_t *)v->mv_data + 4);
	return 0;
}

static int
queue_lmdb_meta_dec(const MDB_val *k, const MDB_val *v, uint64_t *value)
{
	if (v->mv_size != QUEUE_LMDB_METAREC ||
	    queue_lmdb_check(k, v, QUEUE_LMDB_METAREC) == -1)
		return -1;
	*value = util_get_be64((const uint8_t *)v->mv_data + 4);
	return 0;
}

/* Does the entry decode? (What the quarantine mover re-checks.) */
static int
queue_lmdb_valid(int db, const MDB_val *k, const MDB_val *v)
{
	struct queue_msgrec	 m;
	struct queue_copy	 c;
	const uint8_t		*body;
	size_t			 len;
	uint32_t		 count;
	uint64_t		 value;

	switch (db) {
	case QUEUE_LMDB_MSG:
		return queue_lmdb_msg_dec(k, v, &m, &body, &len);
	case QUEUE_LMDB_COPY:
	case QUEUE_LMDB_DEAD:
		return queue_lmdb_copy_dec(db, k, v, &c);
	case QUEUE_LMDB_REF:
		return queue_lmdb_ref_dec(k, v, &count);
	case QUEUE_LMDB_META:
		return queue_lmdb_meta_dec(k, v, &value);
	case QUEUE_LMDB_AUDIT:
		if (k->mv_size != QUEUE_LMDB_STAMPKEY)
			return -1;
		return queue_lmdb_check(k, v, 5);
	case QUEUE_LMDB_STATE:
		return queue_lmdb_check(k, v, 5);
	}
	return 0;
}

/*
 * Is rc LMDB reporting damage to the B-tree (as opposed to a full map, a
 * missing key or a disk error)? EINVAL counts: every call made here has
 * arguments known good, so only a damaged environment returns it.
 */
static int
queue_lmdb_is_damage(int rc)
{
	switch (rc) {
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_BAD_TXN:
	case MDB_PANIC:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case EINVAL:
		return 1;
	}
	return 0;
}

/* Record the first B-tree damage for health(); returns rc. */
static int
queue_lmdb_damaged(struct queue_lmdb *ql, int rc, const char *where)
{
	if (!queue_lmdb_is_damage(rc))
		return rc;
	pthread_mutex_lock(&ql->healthlock);
	if (ql->damage_rc == 0) {
		ql->damage_rc = rc;
		snprintf(ql->damage, sizeof ql->damage, "%s (%s)",
		    mdb_strerror(rc), where);
	}
	pthread_mutex_unlock(&ql->healthlock);
	return rc;
}

/* Why a value does not decode, for the quarantine entry. */
static const char *
queue_lmdb_why(const MDB_val *k, const MDB_val *v)
{
	const uint8_t	*p = v->mv_data;

	if (v->mv_size < 5)
		return "short";
	if (p[0] != QUEUE_LMDB_VERSION && p[0] != QUEUE_LMDB_VERSION_CRC)
		return "version";
	if (queue_lmdb_sum(k, p, v->mv_size - 4) !=
	    util_get_be32(p + v->mv_size - 4))
		return "checksum";
	return "content";
}

/* Hex of a key, whole up to 64 bytes ("..." after that). */
static void
queue_lmdb_hex(char *buf, size_t sz, const void *key, size_t len)
{
	const uint8_t	*p = key;
	size_t		 i, n = len > 64 ? 64 : len;

	buf[0] = '\0';
	for (i = 0; i < n && 2 * i + 3 <= sz; i++)
		snprintf(buf + 2 * i, 3, "%02x", p[i]);
	if (n < len && 2 * i + 4 <= sz)
		memcpy(buf + 2 * i, "...", 4);
}

/* What a key of db names: msgid (0: none), copy (-1: none), line. */
static void
queue_lmdb_key_ids(int db, const uint8_t *k, size_t len, uint64_t *msgid,
    int *copy, char *line)
{
	size_t i;

	*msgid = 0;
	*copy = -1;
	line[0] = '\0';
	if (db == QUEUE_LMDB_COPY && len == QUEUE_LMDB_COPYKEY) {
		for (i = 0; i < QUEUE_LINE_LEN && k[i] >= 0x21 && k[i] < 0x7f;
		    i++)
			line[i] = (char)k[i];
		line[i] = '\0';
		*msgid = util_get_be64(k + QUEUE_LINE_LEN + 1);
		*copy = util_get_be16(k + QUEUE_LINE_LEN + 9);
	} else if (db == QUEUE_LMDB_DEAD && len == QUEUE_LMDB_DEADKEY) {
		*msgid = util_get_be64(k);
		*copy = util_get_be16(k + 8);
	} else if ((db == QUEUE_LMDB_MSG || db == QUEUE_LMDB_REF) &&
	    len == QUEUE_LMDB_MSGKEY)
		*msgid = util_get_be64(k);
}

/*
 * Is k shaped like a copy key the switch writes: a line code of
 * [A-Z0-9] NUL padded, a QUEUE_PRIO_* prio, a message ID other than 0?
 */
static int
queue_lmdb_copy_key_ok(const MDB_val *k)
{
	const uint8_t	*p = k->mv_data;
	size_t		 i, n;

	if (k->mv_size != QUEUE_LMDB_COPYKEY)
		return 0;
	for (n = 0; n < QUEUE_LINE_LEN && p[n] != 0; n++)
		if (!((p[n] >= 'A' && p[n] <= 'Z') ||
		    (p[n] >= '0' && p[n] <= '9')))
			return 0;
	for (i = n; i < QUEUE_LINE_LEN; i++)
		if (p[i] != 0)
			return 0;
	return n > 0 && p[QUEUE_LINE_LEN] <= QUEUE_PRIO_LOW &&
	    util_get_be64(p + QUEUE_LINE_LEN + 1) != 0;
}

static void
queue_lmdb_stamp_next(struct queue_lmdb_stamp *s, uint8_t *key)
{
	uint64_t now = util_now_us();

	/* Never go back, even if the wall clock does: keys must increase. */
	if (now > s->t_us) {
		s->t_us = now;
		s->seq = 0;
	} else if (s->seq == UINT32_MAX) {
		s->t_us++;
		s->seq = 0;
	} else
		s->seq++;
	util_put_be64(key, s->t_us);
	util_put_be32(key + 8, s->seq);
}

/* Start a stamp generator after the last key of db. */
static int
queue_lmdb_stamp_init(struct queue_lmdb *ql, MDB_txn *txn, int db,
    struct queue_lmdb_stamp *s)
{
	MDB_cursor	*cur;
	MDB_val		 k, v;
	int		 rc;

	memset(s, 0, sizeof *s);
	if ((rc = mdb_cursor_open(txn, ql->dbi[db], &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == QUEUE_LMDB_STAMPKEY) {
		s->t_us = util_get_be64(k.mv_data);
		s->seq = util_get_be32((const uint8_t *)k.mv_data + 8);
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Remember an entry a reader could not decode (deduplicated). */
static void
queue_lmdb_bad_add(struct queue_lmdb *ql, int db, const MDB_val *k)
{
	struct queue_lmdb_bad *b;

	pthread_mutex_lock(&ql->badlock);
	for (b = ql->bad; b != NULL; b = b->next)
		if (b->db == db && b->klen == k->mv_size &&
		    memcmp(b->key, k->mv_data, b->klen) == 0)
			break;
	if (b == NULL) {
		b = xmalloc(sizeof *b + k->mv_size);
		b->db = db;
		b->klen = k->mv_size;
		memcpy(b->key, k->mv_data, k->mv_size);
		b->next = ql->bad;
		ql->bad = b;
	}
	pthread_mutex_unlock(&ql->badlock);
}

static struct queue_lmdb_bad *
queue_lmdb_bad_take(struct queue_lmdb *ql)
{
	struct queue_lmdb_bad *b;

	pthread_mutex_lock(&ql->badlock);
	b = ql->bad;
	ql->bad = NULL;
	pthread_mutex_unlock(&ql->badlock);
	return b;
}

/* Give back a list whose txn failed, to retry with the next one. */
static void
queue_lmdb_bad_return(struct queue_lmdb *ql, struct queue_lmdb_bad *b)
{
	struct queue_lmdb_bad *last;

	if (b == NULL)
		return;
	for (last = b; last->next != NULL; last = last->next)
		;
	pthread_mutex_lock(&ql->badlock);
	last->next = ql->bad;
	ql->bad = b;
	pthread_mutex_unlock(&ql->badlock);
}

static void
queue_lmdb_bad_free(struct queue_lmdb_bad *b)
{
	struct queue_lmdb_bad *next;

	for (; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
}

/*
 * The audit record of a quarantine: which entry, why, what was done.
 * Written in the quarantine's txn, so the two are durable together.
 */
static int
queue_lmdb_quar_audit(struct queue_lmdb *ql, MDB_txn *txn, int db,
    const MDB_val *k, size_t vlen, const char *reason, const char *action)
{
	struct audit_rec *b;
	uint64_t	 msgid;
	char		 hex[2 * 64 + 4], line[QUEUE_LINE_LEN + 1], id[32];
	char		*rec;
	int		 copy, rc;

	queue_lmdb_hex(hex, sizeof hex, k->mv_data, k->mv_size);
	queue_lmdb_key_ids(db, k->mv_data, k->mv_size, &msgid, &copy, line);
	if (copy >= 0)
		queue_copyid_fmt(id, sizeof id, msgid, (uint16_t)copy);
	else
		queue_msgid_fmt(id, sizeof id, msgid);
	b = audit_begin(util_now_us(), "queue", "quarantined");
	audit_str(b, "db", queue_lmdb_dbname[db]);
	audit_str(b, "key", hex);
	if (msgid != 0)
		audit_str(b, "msgid", id);
	if (line[0] != '\0')
		audit_str(b, "line", line);
	audit_str(b, "reason", reason);
	audit_str(b, "action", action);
	audit_num(b, "size", vlen);
	rec = audit_end(b);
	rc = queue_lmdb_audit_put(ql, txn, rec);
	free(rec);
	return rc;
}

/*
 * Move the entry k/v of db to quarantine, in a write txn, saying why
 * (NULL: worked out from the value) and what is done instead (action,
 * struct queue_quar). cur, if not NULL, is a cursor of db on the entry
 * (queue_lmdb_find), else the entry is deleted by key. The value is
 * copied to the heap first: v may point into a page this txn changes.
 */
static int
queue_lmdb_quarantine(struct queue_lmdb *ql, MDB_txn *txn, int db,
    MDB_cursor *cur, const MDB_val *k, const MDB_val *v, const char *reason,
    const char *action)
{
	const char	*name = queue_lmdb_dbname[db];
	uint8_t		 qk[QUEUE_LMDB_STAMPKEY], hdr[4];
	struct ubuf	 b;
	MDB_val		 key, val, dkey;
	char		 hex[2 * 64 + 4];
	size_t		 vlen = v->mv_size;
	int		 rc;

	if (reason == NULL)
		reason = queue_lmdb_why(k, v);
	ubuf_init(&b);
	hdr[0] = QUEUE_LMDB_VERSION;
	hdr[1] = (uint8_t)strlen(name);
	ubuf_add(&b, hdr, 2);
	ubuf_add(&b, name, strlen(name));
	util_put_be16(hdr, (uint16_t)k->mv_size);
	ubuf_add(&b, hdr, 2);
	ubuf_add(&b, k->mv_data, k->mv_size);
	util_put_be32(hdr, (uint32_t)v->mv_size);
	ubuf_add(&b, hdr, 4);
	ubuf_add(&b, v->mv_data, v->mv_size);
	hdr[0] = (uint8_t)strlen(reason);
	ubuf_add(&b, hdr, 1);
	ubuf_add(&b, reason, strlen(reason));
	hdr[0] = (uint8_t)strlen(action);
	ubuf_add(&b, hdr, 1);
	ubuf_add(&b, action, strlen(action));

	/* The key too may point into the page about to change. */
	dkey.mv_size = k->mv_size;
	dkey.mv_data = b.data + 2 + strlen(name) + 2;
	queue_lmdb_hex(hex, sizeof hex, dkey.mv_data, dkey.mv_size);

	queue_lmdb_stamp_next(&ql->quar_stamp, qk);
	key.mv_size = sizeof qk;
	key.mv_data = qk;
	val.mv_size = b.len;
	val.mv_data = b.data;
	if ((rc = mdb_put(txn, ql->dbi[QUEUE_LMDB_QUAR], &key, &val, 0)) != 0)
		goto out;
	if (cur != NULL)
		rc = mdb_cursor_del(cur, 0);
	else if ((rc = mdb_del(txn, ql->dbi[db], &dkey, NULL)) == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0)
		rc = queue_lmdb_quar_audit(ql, txn, db, &dkey, vlen, reason,
		    action);
	if (rc == 0) {
		ql->quar_in_txn = 1;
		log_warnx("queue: %s: entry quarantined key=%s len=%zu "
		    "reason=%s action=%s", name, hex, vlen, reason, action);
	}
out:
	ubuf_free(&b);
	return rc;
}

/*
 * What can be saved of the copy entry k/v that does not decode, in txn.
 * If the value is intact under the key its own fields name, the key was
 * what got hit and the value is the copy (*c, stored under that key from
 * now on). Else, if k is shaped like a copy key, it names the copy and
 * the message record gives the rest: message key, size, and receive
 * time as the enqueue time (the switch enqueues every copy when it
 * receives the message). The receiving ORI (dest) is kept nowhere else:
 * it stays "" for the switch to fill in from the line; attempts starts
 * again at 0. Nor are the copy's flags: a copy of a message that asked
 * for a photo goes without the image request (QUEUE_COPY_NOIMQ), one of
 * a mail with a picture without the picture (QUEUE_COPY_NOIMAGE; fail
 * closed: the photo policy's decision for it is lost). *sv is
 * SV_REBUILT (c is the copy), SV_DEAD (c is what the
 * key names; the message is unreadable or gone) or SV_NONE (the key is
 * unreadable too, or the right key is taken already); *rekeyed is 1 when
 * the key was the damaged part.
 * @return 0, or an LMDB error reading the message or the key.
 */
static int
queue_lmdb_salvage(struct queue_lmdb *ql, MDB_txn *txn, const MDB_val *k,
    const MDB_val *v, struct queue_copy *c, int *sv, int *rekeyed)
{
	const uint8_t		*p = v->mv_data, *body;
	struct queue_msgrec	 m;
	uint8_t			 kb[QUEUE_LMDB_COPYKEY], mk[QUEUE_LMDB_MSGKEY];
	MDB_val			 kk, mv, tmp;
	size_t			 blen;
	int			 rc;

	*sv = QUEUE_LMDB_SV_NONE;
	*rekeyed = 0;
	memset(c, 0, sizeof *c);
	if ((v->mv_size == QUEUE_LMDB_COPYREC ||
	    v->mv_size == QUEUE_LMDB_COPYREC_OLD) &&
	    (p[0] == QUEUE_LMDB_VERSION || p[0] == QUEUE_LMDB_VERSION_CRC)) {
		/* The key as the value's fields spell it, raw. */
		memcpy(kb, p + 4, QUEUE_LINE_LEN);
		kb[QUEUE_LINE_LEN] = p[1];
		memcpy(kb + QUEUE_LINE_LEN + 1, p + 24, 8);
		memcpy(kb + QUEUE_LINE_LEN + 9, p + 22, 2);
		kk.mv_size = sizeof kb;
		kk.mv_data = kb;
		if ((k->mv_size != kk.mv_size ||
		    memcmp(k->mv_data, kb, kk.mv_size) != 0) &&
		    queue_lmdb_copy_dec(QUEUE_LMDB_COPY, &kk, v, c) == 0) {
			rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_COPY], &kk, &tmp);
			if (rc == 0)
				return 0;	/* the real one is there */
			if (rc != MDB_NOTFOUND)
				return rc;
			*rekeyed = 1;
		}
	}
	if (!*rekeyed) {
		if (!queue_lmdb_copy_key_ok(k))
			return 0;
		p = k->mv_data;
		queue_lmdb_get_str(c->line, p, QUEUE_LINE_LEN);
		c->prio = p[QUEUE_LINE_LEN];
		c->msgid = util_get_be64(p + QUEUE_LINE_LEN + 1);
		c->copy = util_get_be16(p + QUEUE_LINE_LEN + 9);
		c->enq_us = util_now_us();
	}

	util_put_be64(mk, c->msgid);
	kk.mv_size = sizeof mk;
	kk.mv_data = mk;
	rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_MSG], &kk, &mv);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc == MDB_NOTFOUND ||
	    queue_lmdb_msg_dec(&kk, &mv, &m, &body, &blen) == -1) {
		if (rc == 0)
			queue_lmdb_bad_add(ql, QUEUE_LMDB_MSG, &kk);
		*sv = QUEUE_LMDB_SV_DEAD;
		return 0;
	}
	util_strlcpy(c->from_line, m.from_line, sizeof c->from_line);
	if (!*rekeyed) {
		c->key = m.key;
		c->size = (uint32_t)blen;
		c->enq_us = m.recv_us;
		if (m.flags & QUEUE_MSG_IMQ)
			c->flags = QUEUE_COPY_NOIMQ;
		if (m.flags & QUEUE_MSG_MAILPIC)
			c->flags |= QUEUE_COPY_NOIMAGE;
	}
	*sv = QUEUE_LMDB_SV_REBUILT;
	return 0;
}

/*
 * Quarantine the copy entry k/v and put what salvage() made of it in its
 * place: the copy again (delivered from the load on) or a dead letter.
 * The message's ref is left alone: it still has as many live copies.
 */
static int
queue_lmdb_copy_quarantine(struct queue_lmdb *ql, MDB_txn *txn,
    MDB_cursor *cur, const MDB_val *k, const MDB_val *v)
{
	struct queue_copy	 c;
	const char		*action;
	int			 rc, sv, rekeyed;

	if ((rc = queue_lmdb_salvage(ql, txn, k, v, &c, &sv, &rekeyed)) != 0)
		return rc;
	action = sv == QUEUE_LMDB_SV_REBUILT ? "rebuilt" :
	    sv == QUEUE_LMDB_SV_DEAD ? "dead-lettered" : "none";
	if ((rc = queue_lmdb_quarantine(ql, txn, QUEUE_LMDB_COPY, cur, k, v,
	    rekeyed ? "key" : NULL, action)) != 0)
		return rc;
	if (sv == QUEUE_LMDB_SV_REBUILT)
		return queue_lmdb_copy_put(ql, txn, QUEUE_LMDB_COPY, &c, 0);
	if (sv == QUEUE_LMDB_SV_DEAD)
		return queue_lmdb_copy_put(ql, txn, QUEUE_LMDB_DEAD, &c, 0);
	return 0;
}

/*
 * Position a new cursor of db on the entry keyed k: a lookup, else a scan
 * (a damaged key can sit out of order in its page, where the lookup's
 * binary search does not look). *v is the value.
 * @return 0 (close *curp), MDB_NOTFOUND or an LMDB error.
 */
static int
queue_lmdb_find(struct queue_lmdb *ql, MDB_txn *txn, int db, const MDB_val *k,
    MDB_cursor **curp, MDB_val *v)
{
	MDB_cursor	*cur;
	MDB_val		 kk = *k;
	int		 rc;

	if ((rc = mdb_cursor_open(txn, ql->dbi[db], &cur)) != 0)
		return rc;
	rc = mdb_cursor_get(cur, &kk, v, MDB_SET_KEY);
	if (rc == MDB_NOTFOUND)
		for (rc = mdb_cursor_get(cur, &kk, v, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(cur, &kk, v, MDB_NEXT))
			if (kk.mv_size == k->mv_size &&
			    memcmp(kk.mv_data, k->mv_data, k->mv_size) == 0)
				break;
	if (rc != 0) {
		mdb_cursor_close(cur);
		return rc;
	}
	*curp = cur;
	return 0;
}

/* Quarantine the listed entries that are still there and still bad. */
static int
queue_lmdb_bad_flush(struct queue_lmdb *ql, MDB_txn *txn,
    struct queue_lmdb_bad *list)
{
	struct queue_lmdb_bad	*b;
	MDB_cursor		*cur;
	MDB_val			 k, v;
	int			 rc;

	for (b = list; b != NULL; b = b->next) {
		k.mv_size = b->klen;
		k.mv_data = b->key;
		rc = queue_lmdb_find(ql, txn, b->db, &k, &cur, &v);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		if (queue_lmdb_valid(b->db, &k, &v) == 0)
			rc = 0;
		else if (b->db == QUEUE_LMDB_COPY)
			rc = queue_lmdb_copy_quarantine(ql, txn, cur, &k, &v);
		else
			rc = queue_lmdb_quarantine(ql, txn, b->db, cur, &k, &v,
			    NULL, "none");
		mdb_cursor_close(cur);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/*
 * Commit a top-level write txn; if it quarantined anything the counts
 * are stale. quar_in_txn is read before the commit, while the writer
 * lock still keeps the next writer from resetting it.
 */
static int
queue_lmdb_commit(struct queue_lmdb *ql, MDB_txn *txn)
{
	int quar = ql->quar_in_txn, rc;

	if ((rc = mdb_txn_commit(txn)) == 0 && quar) {
		pthread_mutex_lock(&ql->healthlock);
		ql->quar_dirty = 1;
		pthread_mutex_unlock(&ql->healthlock);
	}
	return rc;
}

/* Quarantine what readers found, in a write txn of its own. */
static int
queue_lmdb_bad_commit(struct queue_lmdb *ql)
{
	struct queue_lmdb_bad	*list;
	MDB_txn			*txn;
	int			 rc;

	if (ql->rdonly || (list = queue_lmdb_bad_take(ql)) == NULL)
		return 0;
	if ((rc = mdb_txn_begin(ql->env, NULL, 0, &txn)) != 0)
		goto fail;
	ql->quar_in_txn = 0;
	if ((rc = queue_lmdb_bad_flush(ql, txn, list)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = queue_lmdb_commit(ql, txn)) != 0)
		goto fail;
	queue_lmdb_bad_free(list);
	return 0;
fail:
	log_warnx("queue: quarantine failed: %s", mdb_strerror(rc));
	queue_lmdb_damaged(ql, rc, "quarantine");
	queue_lmdb_bad_return(ql, list);
	return -1;
}

/* Pages on LMDB's freelist (sum of the IDL counts of the free DB). */
static int
queue_lmdb_freepages(MDB_txn *txn, uint64_t *nfree)
{
	MDB_cursor	*cur;
	MDB_val		 k, v;
	size_t		 count;
	int		 rc;

	*nfree = 0;
	/* dbi 0 is LMDB's free DB; each value is an IDL: count, pgnos. */
	if ((rc = mdb_cursor_open(txn, 0, &cur)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (v.mv_size < sizeof count)
			continue;
		memcpy(&count, v.mv_data, sizeof count);
		*nfree += count;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Pages an op adds, roughly: body overflow pages + nodes + audit. */
static uint64_t
queue_lmdb_op_pages(struct queue_lmdb *ql, const struct queue_op *op)
{
	uint64_t bytes = 0;

	if (op->type == QUEUE_OP_PUT)
		bytes = QUEUE_LMDB_MSGHDR + op->bodylen + 4 + 16 +
		    (uint64_t)op->ncopies * (QUEUE_LMDB_COPYKEY +
		    QUEUE_LMDB_COPYREC + 8) + 64;
	if (op->audit != NULL)
		bytes += strlen(op->audit) + 32;
	return (bytes + ql->psize - 1) / ql->psize;
}

/* A notice: a PUT whose every copy is QUEUE_PRIO_HIGH (SM, ER). */
static int
queue_lmdb_is_notice(const struct queue_op *op)
{
	int i;

	for (i = 0; i < op->ncopies; i++)
		if (op->copies[i].prio != QUEUE_PRIO_HIGH)
			return 0;
	return op->ncopies > 0;
}

/*
 * Make sure the file system holds the data file up to end bytes:
 * fallocate with FALLOC_FL_KEEP_SIZE allocates the blocks ahead of LMDB
 * (which writes pages with pwrite, past the end of the file as it grows)
 * without changing the file size LMDB sees, QUEUE_LMDB_FALLOC_CHUNK at a
 * time. A commit then never meets ENOSPC in the allocated part, and the
 * store sees a full disk coming as a limit instead of a failed commit.
 * @return 0, or -1 when the file system has no room for end.
 */
static int
queue_lmdb_allocate(struct queue_lmdb *ql, uint64_t end)
{
	struct statvfs	sv;
	uint64_t	want;

	if (!ql->falloc || end <= ql->alloc_end)
		return 0;
	/*
	 * While the file system has plenty of room there is nothing to
	 * secure, and allocating ahead costs: on ext4 every write into an
	 * allocated, never written block converts an unwritten extent, a
	 * journal update in each commit (0.6x the throughput at 50 KB).
	 */
	if (fstatvfs(ql->fd, &sv) == 0 && (uint64_t)sv.f_bavail *
	    sv.f_frsize > end - (end < ql->alloc_end ? end : ql->alloc_end) +
	    QUEUE_LMDB_DISK_SLACK)
		return 0;
	want = end + QUEUE_LMDB_FALLOC_CHUNK;
	if (fallocate(ql->fd, FALLOC_FL_KEEP_SIZE, (off_t)ql->alloc_end,
	    (off_t)(want - ql->alloc_end)) == 0) {
		ql->alloc_end = want;
		return 0;
	}
	if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG) {
		if (fallocate(ql->fd, FALLOC_FL_KEEP_SIZE,
		    (off_t)ql->alloc_end, (off_t)(end - ql->alloc_end)) == 0) {
			ql->alloc_end = end;
			return 0;
		}
		return -1;
	}
	/* Not supported here: a full disk shows as ENOSPC at commit. */
	log_info("queue: %s: fallocate: %s; disk space is not reserved "
	    "ahead", ql->path, strerror(errno));
	ql->falloc = 0;
	return 0;
}

/*
 * Pages the file system can hold for the store: the data file's blocks
 * and what is free (UINT64_MAX if unknown).
 */
static uint64_t
queue_lmdb_capacity(struct queue_lmdb *ql)
{
	struct stat	st;
	struct statvfs	sv;

	if (fstat(ql->fd, &st) == -1 || fstatvfs(ql->fd, &sv) == -1)
		return UINT64_MAX;
	return ((uint64_t)st.st_blocks * 512 + (uint64_t)sv.f_bavail *
	    sv.f_frsize) / ql->psize;
}

/* Pages the audit trail uses, and its records. */
static int
queue_lmdb_audit_stat(struct queue_lmdb *ql, MDB_txn *txn, uint64_t *pages,
    uint64_t *records)
{
	MDB_stat	st;
	int		rc;

	if ((rc = mdb_stat(txn, ql->dbi[QUEUE_LMDB_AUDIT], &st)) != 0)
		return rc;
	*pages = (uint64_t)st.ms_branch_pages + st.ms_leaf_pages +
	    st.ms_overflow_pages;
	if (records != NULL)
		*records = st.ms_entries;
	return 0;
}

/*
 * Measure the space a batch may use, before its write txn begins: LMDB
 * lets only read txns open a cursor on the free DB. The snapshot is the
 * one the write txn will start from (the commit thread is the writer; a
 * concurrent quarantine txn at start-up only frees space). probe is the
 * growth to check for when there are no ops (the space re-check).
 */
static int
queue_lmdb_budget_init(struct queue_lmdb *ql, struct queue_op **ops, int n,
    uint64_t probe, struct queue_lmdb_budget *b)
{
	MDB_envinfo	 info;
	MDB_txn		*rtxn;
	uint64_t	 total, limit, abud, need = probe, nfree, hw, dpages;
	uint64_t	 dres, cap, res;
	int		 i, rc, walked = 0;

	if ((rc = mdb_env_info(ql->env, &info)) != 0)
		return rc;
	total = info.me_mapsize / ql->psize;
	limit = total * QUEUE_LMDB_FULL_PCT / 100;
	if (limit + QUEUE_LMDB_HEADROOM > total)
		limit = total > QUEUE_LMDB_HEADROOM ?
		    total - QUEUE_LMDB_HEADROOM : 0;
	/*
	 * The budgets are shares of the store; on a file system that holds
	 * less than the map they are shares of what it holds, or the audit
	 * trail alone could fill the disk.
	 */
	cap = queue_lmdb_capacity(ql);
	ql->audit_eff = ql->audit_budget;
	res = ql->reserve;
	if (cap < total && total > 0) {
		ql->audit_eff = ql->audit_budget * cap / total;
		res = ql->reserve * cap / total;
	}
	abud = ql->audit_eff < limit / 2 ? ql->audit_eff : limit / 2;
	b->traffic = limit > abud + res ? limit - abud - res : 0;
	b->notice = limit > abud + res / 2 ? limit - abud - res / 2 : 0;
	b->disk = b->disk_audit = UINT64_MAX;
	hw = (uint64_t)info.me_last_pgno + 1;
	b->used = hw;
	for (i = 0; i < n; i++)
		need += queue_lmdb_op_pages(ql, ops[i]);

	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &rtxn)) != 0)
		return rc;
	b->audit = 0;
	if (ql->audit_budget > 0 &&
	    (rc = queue_lmdb_audit_stat(ql, rtxn, &b->audit, NULL)) != 0)
		goto done;
	/* The freelist walk only when the high-water mark says it matters. */
	if (need > 0 && b->used - b->audit + need > b->traffic) {
		if ((rc = queue_lmdb_freepages(rtxn, &nfree)) != 0)
			goto done;
		b->used = nfree < hw ? hw - nfree : 0;
		walked = 1;
	}
	/* The file system: a full one is a limit like the map's. */
	dres = res < QUEUE_LMDB_DISK_RESERVE ? res : QUEUE_LMDB_DISK_RESERVE;
	if (queue_lmdb_allocate(ql, (hw + need + dres) * ql->psize) == 0) {
		ql->nospace = 0;
		goto done;
	}
	if (!walked) {
		if ((rc = queue_lmdb_freepages(rtxn, &nfree)) != 0)
			goto done;
		b->used = nfree < hw ? hw - nfree : 0;
	}
	dpages = ql->alloc_end / ql->psize;
	b->disk = dpages > dres ? dpages - dres : 0;
	b->disk_audit = dpages > dres / 4 ? dpages - dres / 4 : 0;
	ql->nospace = b->used + QUEUE_LMDB_NOSPACE_ROOM > b->disk;
	if (ql->nospace)
		snprintf(ql->cause, sizeof ql->cause, "the file system of %s "
		    "is full (%llu MB allocated to the store): new messages "
		    "are refused until deliveries free space or the disk "
		    "grows", ql->path,
		    (unsigned long long)(ql->alloc_end >> 20));
done:
	mdb_txn_abort(rtxn);
	return rc;
}

static int
queue_lmdb_audit_put(struct queue_lmdb *ql, MDB_txn *txn, const char *text)
{
	uint8_t		 kb[QUEUE_LMDB_STAMPKEY];
	MDB_val		 k, v;
	size_t		 len = strlen(text);
	int		 rc;

	queue_lmdb_stamp_next(&ql->audit_stamp, kb);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	v.mv_size = 1 + len + 4;
	v.mv_data = NULL;
	rc = mdb_put(txn, ql->dbi[QUEUE_LMDB_AUDIT], &k, &v,
	    MDB_RESERVE | MDB_NOOVERWRITE);
	if (rc != 0)
		return rc;
	((uint8_t *)v.mv_data)[0] = QUEUE_LMDB_VERSION;
	memcpy((uint8_t *)v.mv_data + 1, text, len);
	queue_lmdb_seal(&k, v.mv_data, v.mv_size);
	return 0;
}

static int
queue_lmdb_ref_put(struct queue_lmdb *ql, MDB_txn *txn, uint64_t msgid,
    uint32_t count)
{
	uint8_t	kb[QUEUE_LMDB_MSGKEY], vb[QUEUE_LMDB_REFREC];
	MDB_val	k, v;

	util_put_be64(kb, msgid);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	memset(vb, 0, sizeof vb);
	vb[0] = QUEUE_LMDB_VERSION;
	util_put_be32(vb + 4, count);
	queue_lmdb_seal(&k, vb, sizeof vb);
	v.mv_size = sizeof vb;
	v.mv_data = vb;
	return mdb_put(txn, ql->dbi[QUEUE_LMDB_REF], &k, &v, 0);
}

/*
 * Before LMDB frees a message's overflow pages: the first page's header
 * (mdbcheck_ovpage), which the start-up check leaves unread (it reads a
 * page per queued message). LMDB frees mp_pages pages from it: a
 * damaged header would put pages in use on the free list. v is the
 * message's value: in an overflow run when it starts 16 bytes into a
 * page of the map (data on a leaf page starts after its node, further
 * in). @return 0 sound (or not in the map: written by this txn);
 * MDB_CORRUPTED, the store marked damaged with what was found.
 */
static int
queue_lmdb_ovcheck(struct queue_lmdb *ql, const MDB_val *k, const MDB_val *v)
{
	const uint8_t	*p = v->mv_data;
	MDB_envinfo	 info;
	uint64_t	 pgno;
	char		 why[200], id[32], where[400];

	if (ql->map == NULL || p < ql->map + QUEUE_LMDB_PAGEHDR ||
	    p + v->mv_size > ql->map + ql->maplen ||
	    (size_t)(p - ql->map) % ql->psize != QUEUE_LMDB_PAGEHDR)
		return 0;
	pgno = (uint64_t)(p - ql->map) / ql->psize;
	if (mdb_env_info(ql->env, &info) != 0 ||
	    mdbcheck_ovpage(p - QUEUE_LMDB_PAGEHDR, pgno, v->mv_size,
	    ql->psize, (uint64_t)info.me_last_pgno, why, sizeof why) == 0)
		return 0;
	queue_msgid_fmt(id, sizeof id, k->mv_size == QUEUE_LMDB_MSGKEY ?
	    util_get_be64(k->mv_data) : 0);
	snprintf(where, sizeof where, "the structure check of data.mdb "
	    "found page %llu (msg db, the body of message %s): %s",
	    (unsigned long long)pgno, id, why);
	log_errorx("queue: %s: damaged, message not deleted: %s", ql->path,
	    where);
	return queue_lmdb_damaged(ql, MDB_CORRUPTED, where);
}

/*
 * Delete the message record k: its overflow header checked first, and a
 * message carrying a photo overwritten with zeros where it lies.
 * mdb_del only unlinks the value: its pages go to LMDB's freelist with
 * the image still in them, and stay in data.mdb until reused. Without
 * MDB_WRITEMAP the map is read-only, so a page of the last committed
 * snapshot (the usual case: the body was written by an earlier txn) is
 * overwritten through the environment's file descriptor; the commit's
 * fdatasync then makes the wipe durable together with the delete. A page
 * dirty in this txn is LMDB's private copy and is wiped in memory. Crash
 * between the wipe and the commit: the message stays with a zeroed body,
 * fails its CRC at the next read and is quarantined; it had been
 * delivered and acknowledged already. @return 0 (also when it is gone),
 * or LMDB's error.
 */
static int
queue_lmdb_msg_del(struct queue_lmdb *ql, MDB_txn *txn, const MDB_val *k)
{
	MDB_val		 v;
	const uint8_t	*p;
	static const uint8_t zero[4096];
	size_t		 off, n, done;
	ssize_t		 w;
	int		 rc, fd;

	rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_MSG], (MDB_val *)k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if ((rc = queue_lmdb_ovcheck(ql, k, &v)) != 0)
		return rc;
	p = v.mv_data;
	if (v.mv_size < QUEUE_LMDB_MSGHDR || !(p[2] & QUEUE_MSG_PHOTO))
		goto del;
	if (ql->map == NULL) {
		log_warnx("queue: cannot wipe a photo message: map of %s/"
		    "data.mdb not found", ql->path);
		goto del;
	}
	if (p < ql->map || p + v.mv_size > ql->map + ql->maplen) {
		memset(v.mv_data, 0, v.mv_size);	/* dirty: in memory */
		goto del;
	}
	if ((rc = mdb_env_get_fd(ql->env, &fd)) != 0)
		return rc;
	off = (size_t)(p - ql->map);
	for (done = 0; done < v.mv_size; done += (size_t)w) {
		n = v.mv_size - done;
		if (n > sizeof zero)
			n = sizeof zero;
		if ((w = pwrite(fd, zero, n, (off_t)(off + done))) <= 0) {
			if (w == -1 && errno == EINTR) {
				w = 0;
				continue;
			}
			log_warn("queue: wipe of a photo message");
			return EIO;
		}
	}
del:
	rc = mdb_del(txn, ql->dbi[QUEUE_LMDB_MSG], (MDB_val *)k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Where LMDB mapped data.mdb: mdb_env_info reports the map address only
 * for MDB_FIXEDMAP, so look the mapping of the file (same device and
 * inode, offset 0) up in /proc/self/maps. Linux only; elsewhere photo
 * bodies are not wiped (logged at the first delete).
 */
static void
queue_lmdb_map_find(struct queue_lmdb *ql)
{
	struct stat	 st;
	FILE		*f;
	char		 line[512];
	unsigned long long lo, hi, off, ino;
	unsigned int	 maj, min;
	int		 fd;

	if (mdb_env_get_fd(ql->env, &fd) != 0 || fstat(fd, &st) == -1 ||
	    (f = fopen("/proc/self/maps", "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "%llx-%llx %*s %llx %x:%x %llu", &lo, &hi,
		    &off, &maj, &min, &ino) != 6)
			continue;
		if (off == 0 && ino == (unsigned long long)st.st_ino &&
		    makedev(maj, min) == st.st_dev) {
			ql->map = (const uint8_t *)(uintptr_t)lo;
			ql->maplen = (size_t)(hi - lo);
			break;
		}
	}
	fclose(f);
}

/* Count the live copies of msgid the slow way (repairs a lost ref). */
static int
queue_lmdb_recount(struct queue_lmdb *ql, MDB_txn *txn, uint64_t msgid,
    uint32_t *count)
{
	MDB_cursor	*cur;
	MDB_val		 k, v;
	uint8_t		 kb[QUEUE_LMDB_DEADKEY];
	int		 rc;

	*count = 0;
	if ((rc = mdb_cursor_open(txn, ql->dbi[QUEUE_LMDB_COPY], &cur)) != 0)
		return rc;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
		if (k.mv_size == QUEUE_LMDB_COPYKEY && util_get_be64(
		    (const uint8_t *)k.mv_data + QUEUE_LINE_LEN + 1) == msgid)
			(*count)++;
	mdb_cursor_close(cur);
	if (rc != MDB_NOTFOUND)
		return rc;

	if ((rc = mdb_cursor_open(txn, ql->dbi[QUEUE_LMDB_DEAD], &cur)) != 0)
		return rc;
	queue_lmdb_dead_key(kb, msgid, 0);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != QUEUE_LMDB_DEADKEY ||
		    util_get_be64(k.mv_data) != msgid)
			break;
		(*count)++;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * One copy of msgid is gone: decrement its ref and delete the message
 * with the last one. A lost or corrupt ref is recounted from the copy and
 * dead dbs rather than guessed: guessing low would delete a body that a
 * queued copy still needs.
 */
static int
queue_lmdb_unref(struct queue_lmdb *ql, MDB_txn *txn, uint64_t msgid)
{
	uint8_t		kb[QUEUE_LMDB_MSGKEY];
	MDB_val		k, v;
	uint32_t	count;
	char		id[32];
	int		rc;

	util_put_be64(kb, msgid);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_REF], &k, &v);
	if (rc == 0 && queue_lmdb_ref_dec(&k, &v, &count) == 0 && count > 0)
		count--;
	else if (rc == 0 || rc == MDB_NOTFOUND) {
		if (rc == 0 && (rc = queue_lmdb_quarantine(ql, txn,
		    QUEUE_LMDB_REF, NULL, &k, &v, NULL, "recounted")) != 0)
			return rc;
		if ((rc = queue_lmdb_recount(ql, txn, msgid, &count)) != 0)
			return rc;
		queue_msgid_fmt(id, sizeof id, msgid);
		log_warnx("queue: %s: ref lost, recounted copies=%u", id,
		    count);
	} else
		return rc;

	if (count > 0)
		return queue_lmdb_ref_put(ql, txn, msgid, count);
	rc = mdb_del(txn, ql->dbi[QUEUE_LMDB_REF], &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	return queue_lmdb_msg_del(ql, txn, &k);
}

static int
queue_lmdb_copy_put(struct queue_lmdb *ql, MDB_txn *txn, int db,
    const struct queue_copy *c, unsigned int flags)
{
	uint8_t	kb[QUEUE_LMDB_COPYKEY], vb[QUEUE_LMDB_COPYREC];
	MDB_val	k, v;

	if (db == QUEUE_LMDB_COPY) {
		queue_lmdb_copy_key(kb, c);
		k.mv_size = QUEUE_LMDB_COPYKEY;
	} else {
		queue_lmdb_dead_key(kb, c->msgid, c->copy);
		k.mv_size = QUEUE_LMDB_DEADKEY;
	}
	k.mv_data = kb;
	queue_lmdb_copy_enc(vb, &k, c);
	v.mv_size = sizeof vb;
	v.mv_data = vb;
	return mdb_put(txn, ql->dbi[db], &k, &v, flags);
}

static int
queue_lmdb_op_put(struct queue_lmdb *ql, MDB_txn *txn, struct queue_op *op,
    struct queue_lmdb_budget *b)
{
	const struct queue_msgrec	*m = &op->msg;
	struct queue_copy		 c;
	uint8_t				 kb[QUEUE_LMDB_MSGKEY], *p;
	uint64_t			 pages;
	MDB_val				 k, v;
	int				 i, rc;

	util_put_be64(kb, m->msgid);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_MSG], &k, &v);
	if (rc == 0) {
		op->result = QUEUE_E_EXISTS;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	pages = queue_lmdb_op_pages(ql, op);
	if (b->used - b->audit + pages > (queue_lmdb_is_notice(op) ?
	    b->notice : b->traffic)) {
		op->result = QUEUE_E_FULL;
		return 0;
	}
	if (b->used + pages > b->disk) {
		ql->nospace = 1;
		op->result = QUEUE_E_FULL;
		return 0;
	}
	if (op->audit != NULL && ql->audit_blocked) {
		op->result = QUEUE_E_AUDIT;
		return 0;
	}
	b->used += pages;

	/* MDB_RESERVE: encode the 50 KB body straight into its pages. */
	v.mv_size = QUEUE_LMDB_MSGHDR + op->bodylen + 4;
	v.mv_data = NULL;
	rc = mdb_put(txn, ql->dbi[QUEUE_LMDB_MSG], &k, &v,
	    MDB_RESERVE | MDB_NOOVERWRITE);
	if (rc != 0)
		return rc;
	p = v.mv_data;
	memset(p, 0, QUEUE_LMDB_MSGHDR);
	p[0] = QUEUE_LMDB_VERSION;
	p[1] = m->key;
	p[2] = m->flags;
	util_put_be64(p + 4, m->msgid);
	util_put_be64(p + 12, m->recv_us);
	util_put_be64(p + 20, m->in_seq);
	util_put_be32(p + 28, m->stamp_off);
	queue_lmdb_put_str(p + 32, m->from_line, QUEUE_LINE_LEN);
	queue_lmdb_put_str(p + 40, m->ori, QUEUE_ORI_LEN);
	queue_lmdb_put_str(p + 49, m->ctl, QUEUE_CTL_LEN);
	util_put_be32(p + 60, (uint32_t)op->bodylen);
	if (op->bodylen > 0)
		memcpy(p + QUEUE_LMDB_MSGHDR, op->body, op->bodylen);
	queue_lmdb_seal(&k, p, v.mv_size);

	if ((rc = queue_lmdb_ref_put(ql, txn, m->msgid, op->ncopies)) != 0)
		return rc;
	for (i = 0; i < op->ncopies; i++) {
		c = op->copies[i];
		c.msgid = m->msgid;
		util_strlcpy(c.from_line, m->from_line, sizeof c.from_line);
		if ((rc = queue_lmdb_copy_put(ql, txn, QUEUE_LMDB_COPY, &c,
		    0)) != 0)
			return rc;
	}
	return 0;
}

/*
 * The record at key kb (ksz bytes) of db that op names: 0 with *k and *v
 * set; MDB_NOTFOUND, op->result set to QUEUE_E_NOTFOUND, when it is gone
 * (not an error of the batch); or LMDB's error.
 */
static int
queue_lmdb_op_find(struct queue_lmdb *ql, MDB_txn *txn, int db, uint8_t *kb,
    size_t ksz, MDB_val *k, MDB_val *v, struct queue_op *op)
{
	int	 rc;

	k->mv_size = ksz;
	k->mv_data = kb;
	if ((rc = mdb_get(txn, ql->dbi[db], k, v)) == MDB_NOTFOUND)
		op->result = QUEUE_E_NOTFOUND;
	return rc;
}

/* Delete the copy at k of db and drop its message's reference. */
static int
queue_lmdb_del_unref(struct queue_lmdb *ql, MDB_txn *txn, int db, MDB_val *k,
    uint64_t msgid)
{
	int	 rc;

	if ((rc = mdb_del(txn, ql->dbi[db], k, NULL)) != 0)
		return rc;
	return queue_lmdb_unref(ql, txn, msgid);
}

/* DELETE and EXPIRE: the queued copy named by copies[0]. */
static int
queue_lmdb_op_copy(struct queue_lmdb *ql, MDB_txn *txn, struct queue_op *op)
{
	struct queue_copy	c;
	uint8_t			kb[QUEUE_LMDB_COPYKEY];
	MDB_val			k, v;
	int			rc;

	queue_lmdb_copy_key(kb, &op->copies[0]);
	if ((rc = queue_lmdb_op_find(ql, txn, QUEUE_LMDB_COPY, kb, sizeof kb,
	    &k, &v, op)) != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;

	if (op->type == QUEUE_OP_DELETE)
		/* Delivered: the record's content does not matter any more. */
		return queue_lmdb_del_unref(ql, txn, QUEUE_LMDB_COPY, &k,
		    op->copies[0].msgid);

	if (queue_lmdb_copy_dec(QUEUE_LMDB_COPY, &k, &v, &c) == -1) {
		/* The loop has the whole copy: it is what goes to the dead
		 * letters. */
		if ((rc = queue_lmdb_quarantine(ql, txn, QUEUE_LMDB_COPY, NULL,
		    &k, &v, NULL, "dead-lettered")) != 0)
			return rc;
		return queue_lmdb_copy_put(ql, txn, QUEUE_LMDB_DEAD,
		    &op->copies[0], 0);
	}
	c.attempts = op->copies[0].attempts;
	queue_lmdb_copy_from(ql, txn, &v, &c);
	if ((rc = mdb_del(txn, ql->dbi[QUEUE_LMDB_COPY], &k, NULL)) != 0)
		return rc;
	return queue_lmdb_copy_put(ql, txn, QUEUE_LMDB_DEAD, &c, 0);
}

/* REQUEUE and PURGE: the dead copy named by copies[0]. */
static int
queue_lmdb_op_dead(struct queue_lmdb *ql, MDB_txn *txn, struct queue_op *op)
{
	struct queue_copy	c;
	uint8_t			kb[QUEUE_LMDB_DEADKEY];
	MDB_val			k, v;
	int			rc;

	queue_lmdb_dead_key(kb, op->copies[0].msgid, op->copies[0].copy);
	if ((rc = queue_lmdb_op_find(ql, txn, QUEUE_LMDB_DEAD, kb, sizeof kb,
	    &k, &v, op)) != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;

	if (op->type == QUEUE_OP_PURGE)
		return queue_lmdb_del_unref(ql, txn, QUEUE_LMDB_DEAD, &k,
		    op->copies[0].msgid);

	if (queue_lmdb_copy_dec(QUEUE_LMDB_DEAD, &k, &v, &c) == -1) {
		op->result = QUEUE_E_CORRUPT;
		return queue_lmdb_quarantine(ql, txn, QUEUE_LMDB_DEAD, NULL,
		    &k, &v, NULL, "none");
	}
	c.attempts = 0;
	c.enq_us = util_now_us();
	queue_lmdb_copy_from(ql, txn, &v, &c);
	rc = queue_lmdb_copy_put(ql, txn, QUEUE_LMDB_COPY, &c, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		op->result = QUEUE_E_EXISTS;
		return 0;
	}
	if (rc != 0)
		return rc;
	return mdb_del(txn, ql->dbi[QUEUE_LMDB_DEAD], &k, NULL);
}

/*
 * Append pruned audit records to today's archive file (DIR/audit-
 * YYYYMMDD.jsonl, UTC), the JSON lines bin/nlaudit prints, and make them
 * durable before the transaction that deletes them commits. A crash
 * between the two leaves a record in both places (the archive is
 * at-least-once), never in neither.
 */
static int
queue_lmdb_archive(struct queue_lmdb *ql, const struct ubuf *lines)
{
	char		 path[4096];
	struct tm	 tm;
	time_t		 now = time(NULL);
	size_t		 off = 0;
	ssize_t		 w;
	int		 fd, created;

	gmtime_r(&now, &tm);
	snprintf(path, sizeof path, "%s/audit-%04d%02d%02d.jsonl",
	    ql->archive, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	created = access(path, F_OK) == -1;
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0600)) == -1)
		goto fail;
	while (off < lines->len) {
		if ((w = write(fd, lines->data + off, lines->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			goto fail;
		}
		off += (size_t)w;
	}
	if (fdatasync(fd) == -1) {
		close(fd);
		goto fail;
	}
	close(fd);
	if (created && (fd = open(ql->archive, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
	return 0;
fail:
	snprintf(ql->audit_cause, sizeof ql->audit_cause,
	    "audit archive %.200s: %s", path, strerror(errno));
	return -1;
}

/*
 * Delete the oldest audit records before before_us, at most max of them,
 * archiving them first when an archive directory is set; *deleted says
 * how many. In a nested txn, so that an archive that cannot be written
 * deletes nothing: then -1 with ql->cause set. Otherwise an LMDB error.
 */
static int
queue_lmdb_audit_delete(struct queue_lmdb *ql, MDB_txn *parent,
    uint64_t before_us, uint64_t max, uint64_t *deleted)
{
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	struct ubuf	 lines;
	int		 rc;

	*deleted = 0;
	if (!queue_lmdb_audit_sound(ql))
		return 0;	/* its first pages are not checked yet */
	if ((rc = mdb_txn_begin(ql->env, parent, 0, &txn)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(txn, ql->dbi[QUEUE_LMDB_AUDIT], &cur)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	ubuf_init(&lines);
	while (*deleted < max &&
	    (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) == 0) {
		/* A malformed key sorts by its bytes like any other. */
		if (k.mv_size >= 8 && util_get_be64(k.mv_data) >= before_us)
			break;
		if (ql->archive != NULL && v.mv_size >= 5) {
			ubuf_add(&lines, (const char *)v.mv_data + 1,
			    v.mv_size - 5);
			ubuf_add(&lines, "\n", 1);
		}
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*deleted)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		ubuf_free(&lines);
		*deleted = 0;
		return rc;
	}
	if (lines.len > 0 && queue_lmdb_archive(ql, &lines) == -1) {
		mdb_txn_abort(txn);
		ubuf_free(&lines);
		*deleted = 0;
		return -1;
	}
	if (lines.len > 0)
		ql->archived += *deleted;
	ubuf_free(&lines);
	if ((rc = mdb_txn_commit(txn)) != 0)
		*deleted = 0;
	return rc;
}

/* AUDIT_PRUNE: delete the oldest audit records before the cutoff. */
static int
queue_lmdb_op_prune(struct queue_lmdb *ql, MDB_txn *txn, struct queue_op *op)
{
	int	rc;

	rc = queue_lmdb_audit_delete(ql, txn, op->prune_before_us,
	    QUEUE_PRUNE_MAX, &op->pruned);
	if (rc == -1) {
		log_warnx("queue: audit prune: %s", ql->audit_cause);
		op->result = QUEUE_E_AUDIT;
		return 0;
	}
	return rc;
}

/*
 * Keep the audit trail within its budget: when it is over, delete the
 * oldest records (archived first) down to 90 % of it, at most
 * QUEUE_LMDB_TRIM_MAX per transaction. An archive that cannot be written
 * blocks the audit (ql->audit_blocked): the switch must not run without
 * the audit trail, and must not drop records the operator keeps.
 */
static int
queue_lmdb_audit_trim(struct queue_lmdb *ql, MDB_txn *txn)
{
	uint64_t	pages, records, target, want, deleted;
	int		rc;

	if ((rc = queue_lmdb_audit_stat(ql, txn, &pages, &records)) != 0)
		return rc;
	if (ql->audit_budget > 0 && pages > ql->audit_eff &&
	    records > 0) {
		target = ql->audit_eff * 9 / 10;
		want = (pages - target) * records / pages + 1;
		if (want > QUEUE_LMDB_TRIM_MAX)
			want = QUEUE_LMDB_TRIM_MAX;
		rc = queue_lmdb_audit_delete(ql, txn, UINT64_MAX, want,
		    &deleted);
		if (rc == -1) {
			if (!ql->audit_blocked)
				log_warnx("queue: audit over its budget and "
				    "cannot be pruned: %s", ql->audit_cause);
			ql->audit_blocked = 1;
		} else if (rc != 0)
			return rc;
		else {
			ql->audit_blocked = 0;
			ql->pruned_size += deleted;
			if ((rc = queue_lmdb_audit_stat(ql, txn, &pages,
			    &records)) != 0)
				return rc;
		}
	} else
		ql->audit_blocked = 0;
	ql->audit_pages = pages;
	ql->audit_records = records;
	return 0;
}

/* The op's state records: put or delete (deleting nothing is fine). */
static int
queue_lmdb_states_put(struct queue_lmdb *ql, MDB_txn *txn,
    const struct queue_op *op)
{
	const struct queue_state	*st;
	MDB_val				 k, v;
	int				 i, rc;

	for (i = 0; i < op->nstates; i++) {
		st = &op->states[i];
		k.mv_size = strlen(st->key);
		k.mv_data = (void *)(uintptr_t)st->key;
		if (st->val == NULL) {
			rc = mdb_del(txn, ql->dbi[QUEUE_LMDB_STATE], &k, NULL);
			if (rc != 0 && rc != MDB_NOTFOUND)
				return rc;
			continue;
		}
		v.mv_size = 1 + st->len + 4;
		v.mv_data = NULL;
		if ((rc = mdb_put(txn, ql->dbi[QUEUE_LMDB_STATE], &k, &v,
		    MDB_RESERVE)) != 0)
			return rc;
		((uint8_t *)v.mv_data)[0] = QUEUE_LMDB_VERSION;
		if (st->len > 0)
			memcpy((uint8_t *)v.mv_data + 1, st->val, st->len);
		queue_lmdb_seal(&k, v.mv_data, v.mv_size);
	}
	return 0;
}

/* The meta record key = value (a counter), sealed. */
static int
queue_lmdb_meta_put(struct queue_lmdb *ql, MDB_txn *txn, const char *key,
    uint64_t value)
{
	uint8_t	vb[QUEUE_LMDB_METAREC];
	MDB_val	k, v;

	k.mv_size = strlen(key);
	k.mv_data = (void *)(uintptr_t)key;
	memset(vb, 0, sizeof vb);
	vb[0] = QUEUE_LMDB_VERSION;
	util_put_be64(vb + 4, value);
	queue_lmdb_seal(&k, vb, sizeof vb);
	v.mv_size = sizeof vb;
	v.mv_data = vb;
	return mdb_put(txn, ql->dbi[QUEUE_LMDB_META], &k, &v, 0);
}

static int
queue_lmdb_op_meta(struct queue_lmdb *ql, MDB_txn *txn, struct queue_op *op)
{
	return queue_lmdb_meta_put(ql, txn, op->meta_key, op->meta_value);
}

/*
 * Apply one op in txn and set op->result. The return value is an LMDB
 * error that dooms the whole txn (MDB_MAP_FULL included); an op-level
 * outcome (not found, full, ...) is only op->result. Every op checks
 * before it writes, so an op that fails at op level wrote nothing.
 */
static int
queue_lmdb_op(struct queue_lmdb *ql, MDB_txn *txn, struct queue_op *op,
    struct queue_lmdb_budget *b)
{
	uint64_t	pages;
	int		rc = 0;

	if ((op->result = queue_op_validate(op)) != QUEUE_E_OK)
		return 0;
	switch (op->type) {
	case QUEUE_OP_PUT:
		rc = queue_lmdb_op_put(ql, txn, op, b);
		break;
	case QUEUE_OP_DELETE:
	case QUEUE_OP_EXPIRE:
		rc = queue_lmdb_op_copy(ql, txn, op);
		break;
	case QUEUE_OP_REQUEUE:
	case QUEUE_OP_PURGE:
		rc = queue_lmdb_op_dead(ql, txn, op);
		break;
	case QUEUE_OP_AUDIT:
		pages = queue_lmdb_op_pages(ql, op);
		if (ql->audit_blocked)
			op->result = QUEUE_E_AUDIT;
		else if (b->used + pages > b->disk_audit ||
		    (ql->audit_budget == 0 &&
		    b->used + pages > b->notice))
			op->result = QUEUE_E_FULL;
		else
			b->used += pages;
		break;
	case QUEUE_OP_META:
		rc = queue_lmdb_op_meta(ql, txn, op);
		break;
	case QUEUE_OP_AUDIT_PRUNE:
		rc = queue_lmdb_op_prune(ql, txn, op);
		break;
	case QUEUE_OP_STATE:
		break;
	}
	if (rc == 0 && op->result == QUEUE_E_OK && op->audit != NULL)
		rc = queue_lmdb_audit_put(ql, txn, op->audit);
	if (rc == 0 && op->result == QUEUE_E_OK && op->nstates > 0)
		rc = queue_lmdb_states_put(ql, txn, op);
	return rc;
}

/* Has an earlier op of the batch PUT the message this op works on? */
static int
queue_lmdb_after_put(struct queue_op **ops, int i)
{
	uint64_t	msgid;
	int		j;

	if (ops[i]->copies == NULL || ops[i]->type == QUEUE_OP_META ||
	    ops[i]->type == QUEUE_OP_AUDIT ||
	    ops[i]->type == QUEUE_OP_AUDIT_PRUNE)
		return 0;
	msgid = ops[i]->copies[0].msgid;
	for (j = 0; j < i; j++)
		if (ops[j]->type == QUEUE_OP_PUT && ops[j]->msg.msgid == msgid)
			return 1;
	return 0;
}

/* Apply op in a nested txn of parent; MDB_MAP_FULL fails only this op. */
static int
queue_lmdb_op_nested(struct queue_lmdb *ql, MDB_txn *parent,
    struct queue_op *op, struct queue_lmdb_budget *b)
{
	struct queue_lmdb_budget	 saved = *b;
	MDB_txn				*txn;
	int				 rc;

	if ((rc = mdb_txn_begin(ql->env, parent, 0, &txn)) == 0) {
		if ((rc = queue_lmdb_op(ql, txn, op, b)) == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc == MDB_MAP_FULL) {
		*b = saved;
		op->result = QUEUE_E_FULL;
		return 0;
	}
	/* The op reached a damaged page; the others may not. */
	if (queue_lmdb_is_damage(rc) && rc != MDB_BAD_TXN) {
		*b = saved;
		queue_lmdb_damaged(ql, rc, "commit");
		op->result = QUEUE_E_DAMAGED;
		return 0;
	}
	return rc;
}

/* One attempt at the batch, in one write txn; returns an LMDB error. */
static int
queue_lmdb_batch(struct queue_lmdb *ql, struct queue_op **ops, int n,
    enum queue_lmdb_mode mode)
{
	struct queue_lmdb_budget	 b;
	struct queue_lmdb_bad		*bad;
	MDB_txn				*txn, *child;
	char				*late = NULL;
	int				 i, pass, rc;

	bad = queue_lmdb_bad_take(ql);
	if ((rc = queue_lmdb_budget_init(ql, ops, n, 0, &b)) != 0)
		goto fail;
	if ((rc = mdb_txn_begin(ql->env, NULL, 0, &txn)) != 0)
		goto fail;
	ql->quar_in_txn = 0;

	if (mode == QUEUE_LMDB_BATCH) {
		if (bad != NULL &&
		    (rc = queue_lmdb_bad_flush(ql, txn, bad)) != 0)
			goto abort;
		for (i = 0; i < n; i++)
			if ((rc = queue_lmdb_op(ql, txn, ops[i], &b)) != 0)
				goto abort;
	} else {
		/* Quarantining is not worth a lost op: try it, keep going. */
		if (bad != NULL) {
			if ((rc = mdb_txn_begin(ql->env, txn, 0, &child)) != 0)
				goto abort;
			if ((rc = queue_lmdb_bad_flush(ql, child, bad)) == 0)
				rc = mdb_txn_commit(child);
			else
				mdb_txn_abort(child);
			if (rc == MDB_MAP_FULL || (queue_lmdb_is_damage(rc) &&
			    rc != MDB_BAD_TXN)) {
				queue_lmdb_bad_return(ql, bad);
				bad = NULL;
			} else if (rc != 0)
				goto abort;
		}
		/* Ops that free or keep space first, then those that grow. */
		late = xcalloc(n, 1);
		for (i = 0; i < n; i++)
			late[i] = queue_is_growing(ops[i]) ||
			    queue_lmdb_after_put(ops, i);
		for (pass = 0; pass < 2; pass++) {
			for (i = 0; i < n; i++) {
				if (late[i] != pass)
					continue;
				if (mode == QUEUE_LMDB_NOGROW &&
				    queue_is_growing(ops[i])) {
					ops[i]->result = QUEUE_E_FULL;
					continue;
				}
				rc = queue_lmdb_op_nested(ql, txn, ops[i], &b);
				if (rc != 0)
					goto abort;
			}
		}
	}

	/*
	 * The audit trail back within its budget (frees, never fails ops).
	 * The deletion runs in a nested txn of its own, begun only when
	 * the trail is over: LMDB allocates 2 MB of dirty list per nested
	 * txn, not worth paying on every batch.
	 */
	if ((rc = queue_lmdb_audit_trim(ql, txn)) != 0 && rc != MDB_MAP_FULL)
		goto abort;

	/* The durable point: fsync of data, then of the meta page. */
	if ((rc = queue_lmdb_commit(ql, txn)) != 0)
		goto fail;
	free(late);
	queue_lmdb_bad_free(bad);
	return 0;

abort:
	mdb_txn_abort(txn);
fail:
	free(late);
	queue_lmdb_bad_return(ql, bad);
	return rc;
}

/*
 * The errors of a file system without room. LMDB reports a short write
 * (part of the pages fitted) as EIO: on a file system with almost nothing
 * left, that is a full disk too.
 */
static int
queue_lmdb_is_nospace(struct queue_lmdb *ql, int rc)
{
	struct statvfs	sv;

	if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG)
		return 1;
	return rc == EIO && fstatvfs(ql->fd, &sv) == 0 &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < QUEUE_LMDB_NOSPACE_EIO;
}

/*
 * One small commit (the "space-turns" counter in the meta DB), after a
 * batch that did not fit a full file system. LMDB never hands the next
 * write txn the pages the last commit freed: they hold the snapshot it
 * replaced, which a crash could still fall back to. When the last
 * commit that went through freed most of the free pages (a batch of
 * deliveries, a pruning of the audit trail), a delete that needs more
 * new pages than the file system has left cannot commit, and neither
 * can the one after it: the store stays stuck while it holds room. A
 * commit that touches three or four pages moves the snapshot on; from
 * the next txn on those pages are LMDB's to reuse. It may fail too (no
 * room at all): then nothing changed, and the retry tries again.
 */
static void
queue_lmdb_turn(struct queue_lmdb *ql)
{
	static const char	 key[] = "space-turns";
	uint64_t		 turns = 0;
	MDB_txn			*txn;
	MDB_val			 k, v;

	if (mdb_txn_begin(ql->env, NULL, 0, &txn) != 0)
		return;
	k.mv_size = sizeof key - 1;
	k.mv_data = (void *)(uintptr_t)key;
	if (mdb_get(txn, ql->dbi[QUEUE_LMDB_META], &k, &v) == 0)
		(void)queue_lmdb_meta_dec(&k, &v, &turns);
	if (queue_lmdb_meta_put(ql, txn, key, turns + 1) != 0) {
		mdb_txn_abort(txn);
		return;
	}
	if (queue_lmdb_commit(ql, txn) == 0)
		log_info("queue: one small commit so that the pages the "
		    "last one freed can be reused");
}

static int
queue_lmdb_apply(void *arg, struct queue_op **ops, int n)
{
	struct queue_lmdb		*ql = arg;
	struct queue_lmdb_budget	 b;
	int				 rc, i;

	if (ql->env == NULL)	/* the file check found damage */
		return -1;
	if (n == 0)	/* the space re-check of an unhealthy store */
		return queue_lmdb_budget_init(ql, NULL, 0,
		    QUEUE_LMDB_NOSPACE_ROOM, &b) == 0 ? 0 : -1;
	rc = queue_lmdb_batch(ql, ops, n, QUEUE_LMDB_BATCH);
	if (rc == MDB_MAP_FULL) {
		log_info("queue: map full, applying %d ops one by one", n);
		rc = queue_lmdb_batch(ql, ops, n, QUEUE_LMDB_EACH);
	}
	if (rc == MDB_MAP_FULL || queue_lmdb_is_nospace(ql, rc)) {
		if (queue_lmdb_is_nospace(ql, rc)) {
			ql->nospace = 1;
			snprintf(ql->cause, sizeof ql->cause, "the file "
			    "system of %s is full (%s): new messages are "
			    "refused until deliveries free space or the disk "
			    "grows", ql->path, strerror(ENOSPC));
		}
		log_warnx("queue: %s, refusing every PUT of the batch",
		    queue_lmdb_is_nospace(ql, rc) ? strerror(ENOSPC) :
		    mdb_strerror(rc));
		rc = queue_lmdb_batch(ql, ops, n, QUEUE_LMDB_NOGROW);
	}
	if (queue_lmdb_is_nospace(ql, rc)) {
		/* Not even the deletes fit: the caller tries them again. */
		ql->nospace = 1;
		for (i = 0; i < n; i++)
			if (queue_is_growing(ops[i]))
				ops[i]->result = QUEUE_E_FULL;
		log_warnx("queue: commit of %d ops failed: %s; retrying the "
		    "deletes", n, mdb_strerror(rc));
		queue_lmdb_turn(ql);
		return QUEUE_APPLY_RETRY;
	}
	if (queue_lmdb_is_damage(rc)) {
		/* Fail only the ops that reach the damaged page. */
		queue_lmdb_damaged(ql, rc, "commit");
		log_warnx("queue: commit of %d ops: %s, applying them one by "
		    "one", n, mdb_strerror(rc));
		rc = queue_lmdb_batch(ql, ops, n, QUEUE_LMDB_EACH);
	}
	if (rc != 0) {
		log_warnx("queue: commit of %d ops failed: %s", n,
		    mdb_strerror(rc));
		queue_lmdb_damaged(ql, rc, "commit");
		return -1;
	}
	return 0;
}

/* Commit thread: new budgets, in pages. */
static void
queue_lmdb_configure(void *arg, const struct queue_conf *conf)
{
	struct queue_lmdb	*ql = arg;

	ql->audit_budget = (conf->audit_budget + ql->psize - 1) / ql->psize;
	ql->audit_eff = ql->audit_budget;
	ql->reserve = (conf->reserve + ql->psize - 1) / ql->psize;
	free(ql->archive);
	ql->archive = conf->archive != NULL && conf->archive[0] != '\0' ?
	    xstrdup(conf->archive) : NULL;
}

/* Commit thread: the space state after a batch. */
static void
queue_lmdb_space(void *arg, struct queue_stats *st)
{
	struct queue_lmdb	*ql = arg;

	if (ql->nospace)
		st->space = QUEUE_SPACE_NOSPACE;
	else if (ql->audit_blocked)
		st->space = QUEUE_SPACE_AUDIT;
	else
		st->space = QUEUE_SPACE_OK;
	if (st->space == QUEUE_SPACE_OK)
		st->space_cause[0] = '\0';
	else if (st->space == QUEUE_SPACE_AUDIT)
		snprintf(st->space_cause, sizeof st->space_cause,
		    "the audit trail is over its budget and cannot be "
		    "pruned: %s", ql->audit_cause);
	else
		util_strlcpy(st->space_cause, ql->cause,
		    sizeof st->space_cause);
	st->audit_bytes = ql->audit_pages * ql->psize;
	st->audit_records = ql->audit_records;
	st->audit_budget = ql->audit_eff * ql->psize;
	st->audit_pruned_size = ql->pruned_size;
	st->audit_archived = ql->archived;
}

/* The cached read txn, renewed (rlock held). */
static int
queue_lmdb_rbegin(struct queue_lmdb *ql, MDB_txn **txnp)
{
	int rc;

	if (ql->rtxn != NULL) {
		if ((rc = mdb_txn_renew(ql->rtxn)) == 0) {
			*txnp = ql->rtxn;
			return 0;
		}
		mdb_txn_abort(ql->rtxn);
		ql->rtxn = NULL;
	}
	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &ql->rtxn)) != 0) {
		ql->rtxn = NULL;
		return rc;
	}
	*txnp = ql->rtxn;
	return 0;
}

static int
queue_lmdb_get(void *arg, uint64_t msgid, struct queue_msgrec *m,
    struct ubuf *body)
{
	struct queue_lmdb	*ql = arg;
	MDB_txn			*txn;
	MDB_val			 k, v;
	uint8_t			 kb[QUEUE_LMDB_MSGKEY];
	const uint8_t		*p;
	size_t			 len;
	int			 rc, ret;

	if (ql->env == NULL)
		return QUEUE_E_IO;
	pthread_mutex_lock(&ql->rlock);
	if ((rc = queue_lmdb_rbegin(ql, &txn)) != 0) {
		log_warnx("queue: read txn: %s", mdb_strerror(rc));
		queue_lmdb_damaged(ql, rc, "read txn");
		pthread_mutex_unlock(&ql->rlock);
		return QUEUE_E_IO;
	}
	util_put_be64(kb, msgid);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_MSG], &k, &v);
	if (rc == MDB_NOTFOUND)
		ret = QUEUE_E_NOTFOUND;
	else if (rc != 0) {
		log_warnx("queue: get: %s", mdb_strerror(rc));
		queue_lmdb_damaged(ql, rc, "read of a message");
		ret = QUEUE_E_IO;
	} else if (queue_lmdb_msg_dec(&k, &v, m, &p, &len) == -1) {
		queue_lmdb_bad_add(ql, QUEUE_LMDB_MSG, &k);
		ret = QUEUE_E_CORRUPT;
	} else {
		if (body != NULL) {
			ubuf_reset(body);
			ubuf_add(body, p, len);
		}
		ret = QUEUE_E_OK;
	}
	/* Release the snapshot now: a pinned one stops page reuse. */
	mdb_txn_reset(txn);
	pthread_mutex_unlock(&ql->rlock);
	return ret;
}

static uint64_t
queue_lmdb_meta_get(void *arg, const char *key)
{
	struct queue_lmdb	*ql = arg;
	MDB_txn			*txn;
	MDB_val			 k, v;
	uint64_t		 value = 0;
	size_t			 len = strlen(key);
	int			 rc;

	if (ql->env == NULL)
		return 0;
	if (len == 0 || len > QUEUE_META_KEY_MAX)
		return 0;
	pthread_mutex_lock(&ql->rlock);
	if ((rc = queue_lmdb_rbegin(ql, &txn)) != 0) {
		queue_lmdb_damaged(ql, rc, "read txn");
		pthread_mutex_unlock(&ql->rlock);
		return 0;
	}
	k.mv_size = len;
	k.mv_data = (void *)(uintptr_t)key;
	if ((rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_META], &k, &v)) == 0 &&
	    queue_lmdb_meta_dec(&k, &v, &value) == -1) {
		queue_lmdb_bad_add(ql, QUEUE_LMDB_META, &k);
		value = 0;
	} else if (rc != 0 && rc != MDB_NOTFOUND) {
		log_warnx("queue: meta %s: %s", key, mdb_strerror(rc));
		queue_lmdb_damaged(ql, rc, "read of a counter");
	}
	mdb_txn_reset(txn);
	pthread_mutex_unlock(&ql->rlock);
	return value;
}

/*
 * The sender line of a loaded copy, from its message's header (the
 * fixed-offset from_line; no checksum over the body: it only weighs the
 * copy against its sender's quota). *last/from cache the last message:
 * copies of one message often follow each other.
 */
static void
queue_lmdb_from_line(struct queue_lmdb *ql, MDB_txn *txn,
    struct queue_copy *c, uint64_t *last, char *from)
{
	uint8_t	kb[QUEUE_LMDB_MSGKEY];
	MDB_val	k, v;

	if (c->msgid != *last) {
		*last = c->msgid;
		from[0] = '\0';
		util_put_be64(kb, c->msgid);
		k.mv_size = sizeof kb;
		k.mv_data = kb;
		if (mdb_get(txn, ql->dbi[QUEUE_LMDB_MSG], &k, &v) == 0 &&
		    v.mv_size >= QUEUE_LMDB_MSGHDR)
			queue_lmdb_get_str(from, (const uint8_t *)v.mv_data +
			    32, QUEUE_LINE_LEN);
	}
	util_strlcpy(c->from_line, from, sizeof c->from_line);
}

/*
 * A copy decoded from v, a record of the old length, learns its sender
 * line from its message (records written since carry it).
 */
static void
queue_lmdb_copy_from(struct queue_lmdb *ql, MDB_txn *txn, const MDB_val *v,
    struct queue_copy *c)
{
	uint64_t	last = 0;
	char		from[QUEUE_LINE_LEN + 1];

	if (v->mv_size == QUEUE_LMDB_COPYREC_OLD)
		queue_lmdb_from_line(ql, txn, c, &last, from);
}

/* A read-only transaction and a cursor on db; 0, or LMDB's error with
 * nothing left open. */
static int
queue_lmdb_read_cursor(struct queue_lmdb *ql, int db, MDB_txn **txnp,
    MDB_cursor **curp)
{
	int	 rc;

	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, txnp)) != 0)
		return rc;
	if ((rc = mdb_cursor_open(*txnp, ql->dbi[db], curp)) != 0)
		mdb_txn_abort(*txnp);
	return rc;
}

/*
 * Each record of db, in key order, as it is in txn's snapshot (before
 * txn writes to db), read with mdbcheck_each(): pread, not LMDB's map.
 * @return 0, cb's non-zero, or LMDB's error (MDB_CORRUPTED: the store
 * marked damaged with what was found).
 */
struct queue_lmdb_each {
	struct queue_lmdb	*ql;
	MDB_txn			*txn;
	int			 db;
	int			(*cb)(const MDB_val *, const MDB_val *, void *);
	void			*arg;
	int			 rc;
};

static int
queue_lmdb_each_cb(const uint8_t *k, size_t klen, const uint8_t *v,
    size_t vlen, void *arg)
{
	struct queue_lmdb_each	*e = arg;
	MDB_val			 kv, vv;

	kv.mv_size = klen;
	kv.mv_data = (void *)k;
	vv.mv_size = vlen;
	vv.mv_data = (void *)v;
	/* In overflow pages (no record of ours is): LMDB's pointer. */
	if (v == NULL && (e->rc = mdb_get(e->txn, e->ql->dbi[e->db], &kv,
	    &vv)) != 0)
		return 1;
	return (e->rc = e->cb(&kv, &vv, e->arg));
}

static int
queue_lmdb_each(struct queue_lmdb *ql, MDB_txn *txn, int db,
    int (*cb)(const MDB_val *, const MDB_val *, void *), void *arg)
{
	struct queue_lmdb_each	 e;
	MDB_envinfo		 info;
	MDB_val			 k, v;
	char			 file[PATH_MAX], why[380], where[440];
	int			 rc;

	k.mv_size = strlen(queue_lmdb_dbname[db]);
	k.mv_data = (void *)queue_lmdb_dbname[db];
	if ((rc = mdb_env_info(ql->env, &info)) != 0 ||
	    (rc = mdb_get(txn, 1, &k, &v)) != 0)	/* 1: the main DB */
		return rc;
	if (v.mv_size != 48)
		return MDB_INCOMPATIBLE;
	memset(&e, 0, sizeof e);
	e.ql = ql;
	e.txn = txn;
	e.db = db;
	e.cb = cb;
	e.arg = arg;
	snprintf(file, sizeof file, "%s/data.mdb", ql->path);
	rc = mdbcheck_each(file, v.mv_data, ql->psize,
	    (uint64_t)info.me_last_pgno, queue_lmdb_dbname[db],
	    queue_lmdb_each_cb, &e, why, sizeof why);
	if (rc == -1) {
		log_warnx("queue: read of %s: %s", queue_lmdb_dbname[db], why);
		return EIO;
	}
	if (rc == 1) {
		snprintf(where, sizeof where, "the structure check of "
		    "data.mdb found %s", why);
		log_errorx("queue: %s: damaged: %s", ql->path, where);
		return queue_lmdb_damaged(ql, MDB_CORRUPTED, where);
	}
	return e.rc;
}

/* The load's walk of the copy db: each copy to cb, what can be rebuilt
 * of a damaged one too. */
struct queue_lmdb_ids;

struct queue_lmdb_load {
	struct queue_lmdb	*ql;
	MDB_txn			*txn;
	queue_load_cb		 cb;
	void			*arg;
	uint64_t		 last;
	char			 from[QUEUE_LINE_LEN + 1];
	struct queue_lmdb_ids	*ids;	/* the copies' msgids, for refcheck */
};

static int	queue_lmdb_ids_cb(const MDB_val *, const MDB_val *, void *);

static int
queue_lmdb_load_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct queue_lmdb_load	*ld = arg;
	struct queue_copy	 c;
	int			 rc, sv, rekeyed;

	queue_lmdb_ids_cb(k, v, ld->ids);
	if (queue_lmdb_copy_dec(QUEUE_LMDB_COPY, k, v, &c) == -1) {
		queue_lmdb_bad_add(ld->ql, QUEUE_LMDB_COPY, k);
		/* Deliver what can be rebuilt; the quarantine writes the
		 * same copy back (bad_flush). */
		if ((rc = queue_lmdb_salvage(ld->ql, ld->txn, k, v, &c, &sv,
		    &rekeyed)) != 0)
			return rc;
		if (sv != QUEUE_LMDB_SV_REBUILT)
			return 0;
	}
	/* Older records lack it: from the message's header. */
	if (v->mv_size == QUEUE_LMDB_COPYREC_OLD)
		queue_lmdb_from_line(ld->ql, ld->txn, &c, &ld->last, ld->from);
	ld->cb(&c, ld->arg);
	return 0;
}

/* The copy db to cb, with a read txn of its own; the msgids of its keys
 * into ids (queue_lmdb_ids_init'ed). */
static int
queue_lmdb_load_copies(struct queue_lmdb *ql, queue_load_cb cb, void *arg,
    struct queue_lmdb_ids *ids)
{
	struct queue_lmdb_load	 ld;
	int			 rc;

	memset(&ld, 0, sizeof ld);
	ld.ql = ql;
	ld.cb = cb;
	ld.arg = arg;
	ld.ids = ids;
	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &ld.txn)) == 0) {
		rc = queue_lmdb_each(ql, ld.txn, QUEUE_LMDB_COPY,
		    queue_lmdb_load_cb, &ld);
		mdb_txn_abort(ld.txn);
	}
	if (rc == 0)
		return QUEUE_E_OK;
	log_warnx("queue: load of copy: %s", mdb_strerror(rc));
	queue_lmdb_damaged(ql, rc, "load of copy");
	return QUEUE_E_IO;
}

/* Walk the dead db in key order with a read txn of its own. */
static int
queue_lmdb_walk_dead(void *arg, queue_load_cb cb, void *arg2)
{
	struct queue_lmdb	*ql = arg;
	struct queue_copy	 c;
	MDB_txn			*txn;
	MDB_cursor		*cur = NULL;
	MDB_val			 k, v;
	int			 rc;

	if (ql->env == NULL)
		return QUEUE_E_IO;
	if ((rc = queue_lmdb_read_cursor(ql, QUEUE_LMDB_DEAD, &txn,
	    &cur)) != 0)
		goto fail;
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (queue_lmdb_copy_dec(QUEUE_LMDB_DEAD, &k, &v, &c) == -1) {
			queue_lmdb_bad_add(ql, QUEUE_LMDB_DEAD, &k);
			continue;
		}
		c.from_line[0] = '\0';
		cb(&c, arg2);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND)
		goto fail;
	return QUEUE_E_OK;
fail:
	log_warnx("queue: walk dead: %s", mdb_strerror(rc));
	queue_lmdb_damaged(ql, rc, "walk of dead");
	return QUEUE_E_IO;
}

/*
 * Read every page of every database once (cursor walks: branch and leaf
 * pages; bodies in overflow pages are checked by their checksums when
 * read), so that damage to the B-tree shows at start-up, not at the
 * first commit that needs the page. copy is walked by load() itself,
 * ref by the count check, audit by its own check
 * (queue_lmdb_audit_check_cb); msg's branch and leaf pages were read by
 * the structure check (mdbcheck_file_opts) and are not again.
 */
static int
queue_lmdb_check_tree(struct queue_lmdb *ql)
{
	MDB_txn		*txn;
	MDB_cursor	*cur;
	MDB_val		 k, v;
	MDB_dbi		 dbi;
	char		 where[64];
	int		 i, rc;

	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &txn)) != 0) {
		snprintf(where, sizeof where, "check: read txn");
		goto fail;
	}
	/* -2: LMDB's free DB (0), -1: its main DB (1), then ours. */
	for (i = -2; i < QUEUE_LMDB_NDB; i++) {
		if (i == QUEUE_LMDB_COPY || i == QUEUE_LMDB_AUDIT ||
		    i == QUEUE_LMDB_MSG || i == QUEUE_LMDB_REF)
			continue;
		dbi = i < 0 ? (MDB_dbi)(i + 2) : ql->dbi[i];
		snprintf(where, sizeof where, "check of %s", i == -2 ?
		    "the free list" : i == -1 ? "the db list" :
		    queue_lmdb_dbname[i]);
		if ((rc = mdb_cursor_open(txn, dbi, &cur)) != 0)
			break;
		while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
			;
		mdb_cursor_close(cur);
		if (rc != MDB_NOTFOUND)
			break;
		rc = 0;
	}
	mdb_txn_abort(txn);
	if (rc == 0)
		return 0;
fail:
	log_warnx("queue: %s: %s", where, mdb_strerror(rc));
	queue_lmdb_damaged(ql, rc, where);
	return -1;
}

static int
queue_lmdb_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The msgids of a walk of the copy or dead db. */
struct queue_lmdb_ids {
	uint64_t	*ids;
	size_t		 n, cap;
	size_t		 off, klen;	/* of the msgid in the key */
};

static int
queue_lmdb_ids_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct queue_lmdb_ids *x = arg;

	(void)v;
	if (k->mv_size != x->klen)
		return 0;
	if (x->n == x->cap) {
		x->cap = x->cap ? 2 * x->cap : 1024;
		x->ids = xrealloc(x->ids, x->cap * sizeof *x->ids);
	}
	x->ids[x->n++] = util_get_be64((const uint8_t *)k->mv_data + x->off);
	return 0;
}

/* Where the msgid is in the keys of db (copy or dead). */
static void
queue_lmdb_ids_init(struct queue_lmdb_ids *x, int db)
{
	x->off = db == QUEUE_LMDB_COPY ? QUEUE_LINE_LEN + 1 : 0;
	x->klen = db == QUEUE_LMDB_COPY ? QUEUE_LMDB_COPYKEY :
	    QUEUE_LMDB_DEADKEY;
}

/* Append the msgid of every key of db (copy or dead) to x->ids. */
static int
queue_lmdb_ids(struct queue_lmdb *ql, MDB_txn *txn, int db,
    struct queue_lmdb_ids *x)
{
	queue_lmdb_ids_init(x, db);
	return queue_lmdb_each(ql, txn, db, queue_lmdb_ids_cb, x);
}

/* How many times msgid is in the sorted ids[0 .. n). */
static uint32_t
queue_lmdb_ids_count(const uint64_t *ids, size_t n, uint64_t msgid)
{
	size_t		lo = 0, hi = n, mid;
	uint32_t	c = 0;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ids[mid] < msgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && ids[lo] == msgid; lo++)
		c++;
	return c;
}

/*
 * Does every message's ref count the copies, queued and dead, that are
 * there? A copy can be gone without its message knowing: quarantined
 * with a key too damaged to name it, or lost with a page a salvage of
 * the store could not copy. Such a message would never be delivered nor
 * expire: its ref goes to quarantine (reason "copies-lost", for the
 * switch to tell the sender) and the count is set to what is there; at
 * 0 the message is deleted (a photo wiped) - its copies are gone. A ref
 * that is damaged or counts too few (the body would go too early) is set
 * right the same way without a word to anyone.
 */
/* The ref walk of the count check: the msgids whose ref is wrong. */
struct queue_lmdb_refs {
	const struct queue_lmdb_ids *found;
	uint64_t	*fix;
	size_t		 nfix, fcap;
};

static int
queue_lmdb_refs_cb(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct queue_lmdb_refs	*r = arg;
	uint64_t		 msgid;
	uint32_t		 count;

	if (k->mv_size != QUEUE_LMDB_MSGKEY)
		return 0;
	msgid = util_get_be64(k->mv_data);
	if (queue_lmdb_ref_dec(k, v, &count) == 0 && count ==
	    queue_lmdb_ids_count(r->found->ids, r->found->n, msgid))
		return 0;
	if (r->nfix == r->fcap) {
		r->fcap = r->fcap ? 2 * r->fcap : 64;
		r->fix = xrealloc(r->fix, r->fcap * sizeof *r->fix);
	}
	r->fix[r->nfix++] = msgid;
	return 0;
}

static int
queue_lmdb_refcheck(struct queue_lmdb *ql, MDB_txn *txn,
    struct queue_lmdb_ids *copies)
{
	struct queue_lmdb_ids	 x;
	struct queue_lmdb_refs	 r;
	MDB_val			 k, v;
	uint32_t		 count, found;
	uint8_t			 kb[QUEUE_LMDB_MSGKEY];
	const char		*reason;
	size_t			 i;
	int			 rc;

	memset(&r, 0, sizeof r);
	/* Read before this txn writes: the snapshot it began on. The
	 * load's walk of copy is that snapshot's when nothing was written
	 * since (copies, else NULL). */
	if (copies != NULL) {
		x = *copies;
		memset(copies, 0, sizeof *copies);
	} else {
		memset(&x, 0, sizeof x);
		if ((rc = queue_lmdb_ids(ql, txn, QUEUE_LMDB_COPY, &x)) != 0)
			goto out;
	}
	if ((rc = queue_lmdb_ids(ql, txn, QUEUE_LMDB_DEAD, &x)) != 0)
		goto out;
	if (x.n > 1)
		qsort(x.ids, x.n, sizeof *x.ids, queue_lmdb_cmp_u64);
	r.found = &x;
	if ((rc = queue_lmdb_each(ql, txn, QUEUE_LMDB_REF, queue_lmdb_refs_cb,
	    &r)) != 0)
		goto out;
	for (i = 0; i < r.nfix && rc == 0; i++) {
		util_put_be64(kb, r.fix[i]);
		k.mv_size = sizeof kb;
		k.mv_data = kb;
		if ((rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_REF], &k, &v)) != 0)
			break;
		found = queue_lmdb_ids_count(x.ids, x.n, r.fix[i]);
		if (queue_lmdb_ref_dec(&k, &v, &count) == -1)
			reason = NULL;		/* queue_lmdb_why's */
		else
			reason = count > found ? "copies-lost" : "count";
		if ((rc = queue_lmdb_quarantine(ql, txn, QUEUE_LMDB_REF, NULL,
		    &k, &v, reason, found > 0 ? "recounted" : "deleted")) != 0)
			break;
		if (found > 0)
			rc = queue_lmdb_ref_put(ql, txn, r.fix[i], found);
		else
			rc = queue_lmdb_msg_del(ql, txn, &k);
	}
out:
	free(x.ids);
	free(r.fix);
	return rc;
}

/* The ref check in a write txn of its own (start-up). */
static int
queue_lmdb_refcheck_commit(struct queue_lmdb *ql,
    struct queue_lmdb_ids *copies)
{
	MDB_txn	*txn;
	int	 rc;

	if ((rc = mdb_txn_begin(ql->env, NULL, 0, &txn)) != 0)
		goto fail;
	ql->quar_in_txn = 0;
	if ((rc = queue_lmdb_refcheck(ql, txn, copies)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = queue_lmdb_commit(ql, txn)) != 0)
		goto fail;
	return 0;
fail:
	log_warnx("queue: check of the copy counts failed: %s",
	    mdb_strerror(rc));
	queue_lmdb_damaged(ql, rc, "check of the copy counts");
	return -1;
}

static int
queue_lmdb_load(void *arg, queue_load_cb cb, void *arg2)
{
	struct queue_lmdb	*ql = arg;
	struct queue_lmdb_ids	 ids;
	uint64_t		 t0, t1, t2;
	int			 ret, clean;

	if (ql->env == NULL)	/* the file check found damage */
		return QUEUE_E_IO;
	memset(&ids, 0, sizeof ids);
	queue_lmdb_ids_init(&ids, QUEUE_LMDB_COPY);
	t0 = util_mono_us();
	ret = queue_lmdb_load_copies(ql, cb, arg2, &ids);
	t1 = util_mono_us();
	if (queue_lmdb_check_tree(ql) == -1)
		ret = QUEUE_E_IO;
	t2 = util_mono_us();
	/* Nothing to quarantine: no write before the count check, whose
	 * snapshot is then the load's. */
	pthread_mutex_lock(&ql->badlock);
	clean = ql->bad == NULL;
	pthread_mutex_unlock(&ql->badlock);
	/* Start-up: quarantine now, nothing else waits for the writer. */
	if (queue_lmdb_bad_commit(ql) == 0 && ret == QUEUE_E_OK &&
	    queue_lmdb_refcheck_commit(ql, clean ? &ids : NULL) == -1)
		ret = QUEUE_E_IO;
	free(ids.ids);
	log_info("queue: loaded in %.0f ms (copies %.0f, tree walk %.0f, "
	    "copy counts %.0f)", (double)(util_mono_us() - t0) / 1e3,
	    (double)(t1 - t0) / 1e3, (double)(t2 - t1) / 1e3,
	    (double)(util_mono_us() - t2) / 1e3);
	return ret;
}

/*
 * Decode a quarantine entry k/v into *e; its strings go to name, reason
 * and action (NUL-terminated, at least 256 bytes each).
 */
static int
queue_lmdb_quar_dec(const MDB_val *k, const MDB_val *v, struct queue_quar *e,
    char *name, char *reason, char *action)
{
	const uint8_t	*p = v->mv_data, *end = p + v->mv_size;
	size_t		 n;
	int		 i;

	memset(e, 0, sizeof *e);
	if (k->mv_size != QUEUE_LMDB_STAMPKEY || v->mv_size < 2 ||
	    (size_t)(end - p) < 2u + p[1])
		return -1;
	e->t_us = util_get_be64(k->mv_data);
	n = p[1];
	memcpy(name, p + 2, n);
	name[n] = '\0';
	p += 2 + n;
	if (end - p < 2 || (size_t)(end - p) < 2u + util_get_be16(p))
		return -1;
	e->keylen = util_get_be16(p);
	e->key = p + 2;
	p += 2 + e->keylen;
	if (end - p < 4 || (size_t)(end - p) < 4u + util_get_be32(p))
		return -1;
	e->vallen = util_get_be32(p);
	p += 4 + e->vallen;
	reason[0] = action[0] = '\0';
	if (end - p >= 1 && (size_t)(end - p) >= 1u + p[0]) {
		memcpy(reason, p + 1, p[0]);
		reason[p[0]] = '\0';
		p += 1 + p[0];
		if (end - p >= 1 && (size_t)(end - p) >= 1u + p[0]) {
			memcpy(action, p + 1, p[0]);
			action[p[0]] = '\0';
		}
	}
	e->reason = reason[0] != '\0' ? reason : "checksum";
	e->action = action[0] != '\0' ? action : "none";
	e->db = -1;
	for (i = 0; i < QUEUE_DB_MAX; i++)
		if (strcmp(name, queue_lmdb_dbname[i]) == 0)
			e->db = i;
	queue_lmdb_key_ids(e->db, e->key, e->keylen, &e->msgid, &e->copy,
	    e->line);
	return 0;
}

static int
queue_lmdb_walk_quar(void *arg, uint64_t since_us, queue_quar_cb cb,
    void *arg2)
{
	struct queue_lmdb	*ql = arg;
	struct queue_quar	 e;
	MDB_txn			*txn;
	MDB_cursor		*cur;
	MDB_val			 k, v;
	uint8_t			 kb[QUEUE_LMDB_STAMPKEY];
	char			 name[256], reason[256], action[256];
	int			 rc;

	if (ql->env == NULL)
		return QUEUE_E_IO;
	if ((rc = queue_lmdb_read_cursor(ql, QUEUE_LMDB_QUAR, &txn, &cur)) != 0)
		goto fail;
	util_put_be64(kb, since_us);
	util_put_be32(kb + 8, 0);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
		if (queue_lmdb_quar_dec(&k, &v, &e, name, reason, action) == 0 &&
		    cb(&e, arg2) != 0)
			break;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto fail;
	return QUEUE_E_OK;
fail:
	log_warnx("queue: walk quarantine: %s", mdb_strerror(rc));
	queue_lmdb_damaged(ql, rc, "walk of quarantine");
	return QUEUE_E_IO;
}

/* Count the quarantine's entries per db (health). */
static int
queue_lmdb_quar_count_cb(const struct queue_quar *e, void *arg)
{
	uint64_t *count = arg;

	if (e->db >= 0 && e->db < QUEUE_DB_MAX)
		count[e->db]++;
	return 0;
}

/*
 * Health: the damage recorded, and the quarantine's entries per db,
 * counted again only after a commit added to it (rare).
 */
static int
queue_lmdb_health(void *arg, struct queue_health *h)
{
	struct queue_lmdb	*ql = arg;
	uint64_t		 count[QUEUE_DB_MAX];
	int			 dirty;

	pthread_mutex_lock(&ql->healthlock);
	dirty = ql->quar_dirty;
	ql->quar_dirty = 0;
	pthread_mutex_unlock(&ql->healthlock);
	if (dirty) {
		memset(count, 0, sizeof count);
		if (queue_lmdb_walk_quar(ql, 0, queue_lmdb_quar_count_cb,
		    count) != QUEUE_E_OK)
			dirty = -1;
	}
	pthread_mutex_lock(&ql->healthlock);
	if (dirty == 1)
		memcpy(ql->quar_count, count, sizeof count);
	else if (dirty == -1)
		ql->quar_dirty = 1;
	h->damaged = ql->damage_rc != 0;
	util_strlcpy(h->damage, ql->damage, sizeof h->damage);
	memcpy(h->quarantined, ql->quar_count, sizeof h->quarantined);
	pthread_mutex_unlock(&ql->healthlock);
	return 0;
}

/*
 * LMDB found its structure broken where it asserts instead of returning
 * an error, and aborts after this returns: say what to do first.
 */
static void
queue_lmdb_assert_cb(MDB_env *env, const char *msg)
{
	const char *path = NULL;

	mdb_env_get_path(env, &path);
	log_errorx("queue: LMDB assertion failed (%s): the store %s is "
	    "damaged and LMDB aborts the switch; before it starts again, "
	    "rebuild the store with mdb_copy -c or restore it from a backup "
	    "(docs/durability.md)", msg, path != NULL ? path : "?");
}


/*
 * Walk the audit records from from_us on (back: the records before it,
 * newest first; from_us 0 then means from the newest) until cb says
 * stop.
 */
static int
queue_lmdb_walk_audit_dir(struct queue_lmdb *ql, uint64_t from_us, int back,
    int (*cb)(uint64_t, const char *, size_t, void *), void *arg2)
{
	MDB_txn			*txn;
	MDB_cursor		*cur = NULL;
	MDB_val			 k, v;
	MDB_cursor_op		 step = back ? MDB_PREV : MDB_NEXT;
	uint8_t			 kb[QUEUE_LMDB_STAMPKEY];
	int			 rc;

	if (ql->env == NULL || !queue_lmdb_audit_wait(ql))
		return QUEUE_E_IO;
	if ((rc = queue_lmdb_read_cursor(ql, QUEUE_LMDB_AUDIT, &txn, &cur)) != 0)
		goto fail;
	util_put_be64(kb, from_us);
	util_put_be32(kb + 8, 0);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	if (back && from_us == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	else {
		/* The first record at from_us or after (back: the one
		 * before it, or the last when there is none after). */
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (back)
			rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV :
			    MDB_LAST);
	}
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, step)) {
		if (queue_lmdb_valid(QUEUE_LMDB_AUDIT, &k, &v) == -1) {
			queue_lmdb_bad_add(ql, QUEUE_LMDB_AUDIT, &k);
			continue;
		}
		if (cb(util_get_be64(k.mv_data), (const char *)v.mv_data + 1,
		    v.mv_size - 5, arg2) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto fail;
	return QUEUE_E_OK;
fail:
	log_warnx("queue: walk audit: %s", mdb_strerror(rc));
	queue_lmdb_damaged(ql, rc, "walk of audit");
	return QUEUE_E_IO;
}

static int
queue_lmdb_walk_audit(void *arg, uint64_t since_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *arg2)
{
	return queue_lmdb_walk_audit_dir(arg, since_us, 0, cb, arg2);
}

static int
queue_lmdb_walk_audit_back(void *arg, uint64_t until_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *arg2)
{
	return queue_lmdb_walk_audit_dir(arg, until_us, 1, cb, arg2);
}

static int
queue_lmdb_walk_state(void *arg, const char *prefix,
    int (*cb)(const char *, size_t, const void *, size_t, void *),
    void *arg2)
{
	struct queue_lmdb	*ql = arg;
	MDB_txn			*txn;
	MDB_cursor		*cur = NULL;
	MDB_val			 k, v;
	size_t			 plen = strlen(prefix);
	int			 rc;

	if (ql->env == NULL)
		return QUEUE_E_IO;
	if (ql->dbi[QUEUE_LMDB_STATE] == 0)
		return QUEUE_E_OK;	/* read-only, a store from before */
	if ((rc = queue_lmdb_read_cursor(ql, QUEUE_LMDB_STATE, &txn, &cur)) != 0)
		goto fail;
	k.mv_size = plen;
	k.mv_data = (void *)(uintptr_t)prefix;
	for (rc = plen > 0 ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) :
	    mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if (queue_lmdb_valid(QUEUE_LMDB_STATE, &k, &v) == -1) {
			queue_lmdb_bad_add(ql, QUEUE_LMDB_STATE, &k);
			continue;
		}
		if (cb(k.mv_data, k.mv_size, (const uint8_t *)v.mv_data + 1,
		    v.mv_size - 5, arg2) != 0)
			break;
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto fail;
	return QUEUE_E_OK;
fail:
	log_warnx("queue: walk state: %s", mdb_strerror(rc));
	return QUEUE_E_IO;
}

/* Used = pages below the high-water mark that are not on the freelist. */
static int
queue_lmdb_usage(void *arg, uint64_t *used, uint64_t *size)
{
	struct queue_lmdb	*ql = arg;
	MDB_envinfo		 info;
	MDB_txn			*txn;
	uint64_t		 nfree, pages;
	int			 rc;

	if (ql->env == NULL)
		return QUEUE_E_IO;
	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	rc = mdb_env_info(ql->env, &info);
	if (rc == 0)
		rc = queue_lmdb_freepages(txn, &nfree);
	mdb_txn_abort(txn);
	if (rc != 0)
		goto fail;
	pages = (uint64_t)info.me_last_pgno + 1;
	pages = nfree < pages ? pages - nfree : 0;
	*used = pages * ql->psize;
	*size = info.me_mapsize;
	return QUEUE_E_OK;
fail:
	log_warnx("queue: usage: %s", mdb_strerror(rc));
	queue_lmdb_damaged(ql, rc, "free list");
	return QUEUE_E_IO;
}

static void
queue_lmdb_close(void *arg)
{
	struct queue_lmdb *ql = arg;

	if (ql == NULL)
		return;
	if (ql->audit_thr_on)
		pthread_join(ql->audit_thr, NULL);
	if (ql->env != NULL) {
		queue_lmdb_bad_commit(ql);
		if (ql->rtxn != NULL)
			mdb_txn_abort(ql->rtxn);
		mdb_env_close(ql->env);
	}
	queue_lmdb_bad_free(ql->bad);
	free(ql->archive);
	pthread_mutex_destroy(&ql->rlock);
	pthread_mutex_destroy(&ql->badlock);
	pthread_mutex_destroy(&ql->healthlock);
	pthread_cond_destroy(&ql->audit_cv);
	free(ql->path);
	free(ql);
}

/*
 * The audit trail's structure check, in a thread of its own from the
 * open on: the start-up check walked only the pages an append reads
 * (mdbcheck_opts.defer), so that start-up does not follow the trail's
 * length. A read txn keeps the tree it checks from being reused. Until
 * it is done, readers of the trail wait (queue_lmdb_audit_wait) and the
 * trim deletes nothing; damage found marks the store damaged, as at
 * start-up.
 */
static void *
queue_lmdb_audit_check_cb(void *arg)
{
	struct queue_lmdb	*ql = arg;
	MDB_txn			*txn = NULL;
	MDB_envinfo		 info;
	MDB_val			 k, v;
	char			 file[PATH_MAX], why[380], where[440];
	uint64_t		 t0 = util_mono_us();
	int			 rc, ok = 1;

	/* Background work: the load and the traffic go first. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 10) == -1)
		log_debug("queue: audit check: setpriority: %s",
		    strerror(errno));
	snprintf(file, sizeof file, "%s/data.mdb", ql->path);
	k.mv_size = strlen(queue_lmdb_dbname[QUEUE_LMDB_AUDIT]);
	k.mv_data = (void *)queue_lmdb_dbname[QUEUE_LMDB_AUDIT];
	where[0] = '\0';
	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &txn)) != 0 ||
	    (rc = mdb_env_info(ql->env, &info)) != 0 ||
	    (rc = mdb_get(txn, 1, &k, &v)) != 0) {	/* 1: the main DB */
		log_warnx("queue: check of audit: %s", mdb_strerror(rc));
		queue_lmdb_damaged(ql, rc, "check of audit");
		ok = 0;
	} else if (v.mv_size != 48) {
		snprintf(where, sizeof where, "the main db's record of "
		    "audit has %zu bytes", v.mv_size);
		ok = 0;
	} else if ((rc = mdbcheck_db(file, v.mv_data, ql->psize,
	    (uint64_t)info.me_last_pgno, "audit", why, sizeof why)) == 1) {
		snprintf(where, sizeof where, "the structure check of "
		    "data.mdb found %s", why);
		ok = 0;
	} else if (rc == -1) {
		log_warnx("queue: check of audit: %s", why);
		ok = 0;
	}
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (where[0] != '\0') {
		log_errorx("queue: %s: damaged: %s", ql->path, where);
		queue_lmdb_damaged(ql, MDB_CORRUPTED, where);
	}
	log_debug("queue: audit trail checked in %.0f ms: %s",
	    (double)(util_mono_us() - t0) / 1e3, ok ? "sound" : "damaged");
	pthread_mutex_lock(&ql->healthlock);
	ql->audit_ck = ok ? 1 : -1;
	pthread_cond_broadcast(&ql->audit_cv);
	pthread_mutex_unlock(&ql->healthlock);
	return NULL;
}

/* Wait for the audit's check (a read-only open has none). @return 1
 * sound, 0 damaged. */
static int
queue_lmdb_audit_wait(struct queue_lmdb *ql)
{
	int ck;

	if (!ql->audit_thr_on)
		return 1;
	pthread_mutex_lock(&ql->healthlock);
	while (ql->audit_ck == 0)
		pthread_cond_wait(&ql->audit_cv, &ql->healthlock);
	ck = ql->audit_ck;
	pthread_mutex_unlock(&ql->healthlock);
	return ck == 1;
}

/* Has the audit's check passed (no wait)? */
static int
queue_lmdb_audit_sound(struct queue_lmdb *ql)
{
	int ck;

	if (!ql->audit_thr_on)
		return 1;
	pthread_mutex_lock(&ql->healthlock);
	ck = ql->audit_ck;
	pthread_mutex_unlock(&ql->healthlock);
	return ck == 1;
}

/*
 * The structure check of data.mdb (mdbcheck.h), before LMDB opens it.
 * @return 0: sound or new; 1: damaged, recorded for health() as
 * MDB_CORRUPTED with the page and what is wrong; -1: unreadable, *cause.
 */
static int
queue_lmdb_file_check(struct queue_lmdb *ql, char **cause)
{
	/* A store written by an older switch may lack the newer dbs. */
	static const char *const need[] = {
		"msg", "copy", "dead", "ref", "audit", "meta", NULL
	};
	/* What start-up reads follows the queue, not the audit trail nor
	 * the bodies: the audit's tree is checked by a thread of its own
	 * (queue_lmdb_audit_check_cb), a body's overflow header before
	 * LMDB frees it (queue_lmdb_ovcheck). */
	static const char *const defer[] = { "audit", NULL };
	static const char *const lazy[] = { "msg", NULL };
	struct mdbcheck_opts o;
	char	 file[PATH_MAX], why[380];
	uint64_t t0;
	int	 rc;

	snprintf(file, sizeof file, "%s/data.mdb", ql->path);
	memset(&o, 0, sizeof o);
	o.names = need;
	o.defer = defer;
	o.lazy = lazy;
	t0 = util_mono_us();
	rc = mdbcheck_file_opts(file, &o, why, sizeof why);
	log_debug("queue: structure check of data.mdb in %.0f ms",
	    (double)(util_mono_us() - t0) / 1e3);
	if (rc == -1) {
		*cause = xasprintf("queue: %s", why);
		return -1;
	}
	if (rc == 0)
		return 0;
	pthread_mutex_lock(&ql->healthlock);
	ql->damage_rc = MDB_CORRUPTED;
	snprintf(ql->damage, sizeof ql->damage, "MDB_CORRUPTED: the "
	    "structure check of data.mdb found %s%s", why,
	    strstr(why, "previous snapshot") != NULL ? " (LMDB's "
	    "MDB_PREVSNAPSHOT opens it, without the last commit)" : "");
	ql->quar_dirty = 0;
	pthread_mutex_unlock(&ql->healthlock);
	log_errorx("queue: %s: damaged, not opened: %s", ql->path,
	    ql->damage);
	return 1;
}

static void *
queue_lmdb_open(const char *path, size_t mapsize, char **cause)
{
	struct queue_lmdb	*ql;
	MDB_txn			*txn = NULL;
	MDB_stat		 st;
	const char		*what;
	int			 rc, i, dead;

	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		*cause = xasprintf("queue: mkdir %s: %s", path,
		    strerror(errno));
		return NULL;
	}

	ql = xcalloc(1, sizeof *ql);
	ql->path = xstrdup(path);
	pthread_mutex_init(&ql->rlock, NULL);
	pthread_mutex_init(&ql->badlock, NULL);
	pthread_mutex_init(&ql->healthlock, NULL);
	pthread_cond_init(&ql->audit_cv, NULL);
	ql->quar_dirty = 1;
	ql->psize = (unsigned int)sysconf(_SC_PAGESIZE);

	/*
	 * Before LMDB reads a page of the trees: a damaged file would crash
	 * it or mislead it. Damaged, the store is opened no further (no
	 * write, no walk): health() says so and every op fails.
	 */
	switch (queue_lmdb_file_check(ql, cause)) {
	case -1:
		queue_lmdb_close(ql);
		return NULL;
	case 1:
		return ql;
	}

	what = "mdb_env_create";
	if ((rc = mdb_env_create(&ql->env)) != 0) {
		ql->env = NULL;
		goto fail;
	}
	what = "mdb_env_set_mapsize";
	if ((rc = mdb_env_set_mapsize(ql->env,
	    mapsize ? mapsize : QUEUE_LMDB_MAPSIZE)) != 0)
		goto fail;
	what = "mdb_env_set_maxdbs";
	if ((rc = mdb_env_set_maxdbs(ql->env, QUEUE_LMDB_MAXDBS)) != 0)
		goto fail;
	mdb_env_set_assert(ql->env, queue_lmdb_assert_cb);
	/*
	 * No MDB_NOSYNC / MDB_NOMETASYNC: commits must be durable. MDB_NOTLS:
	 * read txns are used by a thread that is not the writer.
	 */
	what = "mdb_env_open";
	if ((rc = mdb_env_open(ql->env, path, MDB_NOTLS, 0600)) != 0)
		goto fail;
	/* Free reader slots left behind by a killed predecessor. */
	what = "mdb_reader_check";
	if ((rc = mdb_reader_check(ql->env, &dead)) != 0)
		goto fail;
	if (dead > 0)
		log_info("queue: %s: cleared %d stale readers", path, dead);
	queue_lmdb_map_find(ql);
	what = "mdb_env_stat";
	if ((rc = mdb_env_stat(ql->env, &st)) != 0)
		goto fail;
	ql->psize = st.ms_psize;

	what = "mdb_txn_begin";
	if ((rc = mdb_txn_begin(ql->env, NULL, 0, &txn)) != 0)
		goto fail;
	what = "mdb_dbi_open";
	for (i = 0; i < QUEUE_LMDB_NDB; i++)
		if ((rc = mdb_dbi_open(txn, queue_lmdb_dbname[i], MDB_CREATE,
		    &ql->dbi[i])) != 0)
			goto fail;
	what = "mdb_cursor_get";
	if ((rc = queue_lmdb_stamp_init(ql, txn, QUEUE_LMDB_AUDIT,
	    &ql->audit_stamp)) != 0 ||
	    (rc = queue_lmdb_stamp_init(ql, txn, QUEUE_LMDB_QUAR,
	    &ql->quar_stamp)) != 0)
		goto fail;
	if ((rc = queue_lmdb_audit_stat(ql, txn, &ql->audit_pages,
	    &ql->audit_records)) != 0)
		goto fail;
	what = "mdb_txn_commit";
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	what = "mdb_env_get_fd";
	if ((rc = mdb_env_get_fd(ql->env, &ql->fd)) != 0)
		goto fail;
	ql->falloc = 1;
	what = "pthread_create";
	if ((rc = pthread_create(&ql->audit_thr, NULL,
	    queue_lmdb_audit_check_cb, ql)) != 0)
		goto fail;
	ql->audit_thr_on = 1;
	return ql;

fail:
	*cause = xasprintf("queue: %s: %s: %s", path, what, mdb_strerror(rc));
	if (txn != NULL)
		mdb_txn_abort(txn);
	queue_lmdb_close(ql);
	return NULL;
}

/*
 * Read-only open for tools: the environment must exist (nothing is
 * created), MDB_RDONLY takes no writer lock, so nlswitchd keeps running;
 * the map size comes from the environment itself.
 */
static void *
queue_lmdb_open_rdonly(const char *path, char **cause)
{
	struct queue_lmdb	*ql;
	MDB_txn			*txn = NULL;
	MDB_stat		 st;
	const char		*what;
	int			 rc, i;

	ql = xcalloc(1, sizeof *ql);
	ql->path = xstrdup(path);
	ql->rdonly = 1;
	pthread_mutex_init(&ql->rlock, NULL);
	pthread_mutex_init(&ql->badlock, NULL);
	pthread_mutex_init(&ql->healthlock, NULL);
	pthread_cond_init(&ql->audit_cv, NULL);
	ql->quar_dirty = 1;

	what = "mdb_env_create";
	if ((rc = mdb_env_create(&ql->env)) != 0) {
		ql->env = NULL;
		goto fail;
	}
	what = "mdb_env_set_maxdbs";
	if ((rc = mdb_env_set_maxdbs(ql->env, QUEUE_LMDB_MAXDBS)) != 0)
		goto fail;
	what = "mdb_env_open";
	if ((rc = mdb_env_open(ql->env, path, MDB_RDONLY | MDB_NOTLS,
	    0600)) != 0)
		goto fail;
	what = "mdb_env_stat";
	if ((rc = mdb_env_stat(ql->env, &st)) != 0)
		goto fail;
	ql->psize = st.ms_psize;
	what = "mdb_txn_begin";
	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	what = "mdb_dbi_open";
	for (i = 0; i < QUEUE_LMDB_NDB; i++)
		if ((rc = mdb_dbi_open(txn, queue_lmdb_dbname[i], 0,
		    &ql->dbi[i])) != 0) {
			/* A store from before the state db: none to read. */
			if (rc == MDB_NOTFOUND && i == QUEUE_LMDB_STATE) {
				ql->dbi[i] = 0;
				continue;
			}
			goto fail;
		}
	/* Handles opened in a read txn stay valid after it commits. */
	what = "mdb_txn_commit";
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	return ql;

fail:
	*cause = xasprintf("queue: %s: %s: %s", path, what, mdb_strerror(rc));
	if (txn != NULL)
		mdb_txn_abort(txn);
	queue_lmdb_close(ql);
	return NULL;
}

const struct queue_backend queue_backend_lmdb = {
	.name = "lmdb",
	.open = queue_lmdb_open,
	.close = queue_lmdb_close,
	.apply = queue_lmdb_apply,
	.load = queue_lmdb_load,
	.get = queue_lmdb_get,
	.walk_dead = queue_lmdb_walk_dead,
	.meta_get = queue_lmdb_meta_get,
	.walk_audit = queue_lmdb_walk_audit,
	.walk_audit_back = queue_lmdb_walk_audit_back,
	.usage = queue_lmdb_usage,
	.open_rdonly = queue_lmdb_open_rdonly,
	.walk_state = queue_lmdb_walk_state,
	.configure = queue_lmdb_configure,
	.space = queue_lmdb_space,
	.health = queue_lmdb_health,
	.walk_quarantine = queue_lmdb_walk_quar
};
