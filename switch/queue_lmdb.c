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

#include "log.h"
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
 *   0 version  1 prio  2 key  3 zero  4 line[8]  12 dest[9]  21 zero
 *   22 copy  24 msgid  32 enq_us  40 attempts  44 size  48 CRC
 */
#define QUEUE_LMDB_COPYREC	52
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
	queue_lmdb_put_str(v + 4, c->line, QUEUE_LINE_LEN);
	queue_lmdb_put_str(v + 12, c->dest, QUEUE_DEST_LEN);
	util_put_be16(v + 22, c->copy);
	util_put_be64(v + 24, c->msgid);
	util_put_be64(v + 32, c->enq_us);
	util_put_be32(v + 40, c->attempts);
	util_put_be32(v + 44, c->size);
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

	if (v->mv_size != QUEUE_LMDB_COPYREC ||
	    queue_lmdb_check(k, v, QUEUE_LMDB_COPYREC) == -1)
		return -1;
	memset(c, 0, sizeof *c);
	c->prio = p[1];
	c->key = p[2];
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
 * Move the entry k/v of db to quarantine, in a write txn. The value is
 * copied to the heap first: v may point into a page this txn changes.
 * Quarantine value: version, db name length, db name, key length BE16,
 * key, value length BE32, value.
 */
static int
queue_lmdb_quarantine(struct queue_lmdb *ql, MDB_txn *txn, int db,
    const MDB_val *k, const MDB_val *v)
{
	const char	*name = queue_lmdb_dbname[db];
	uint8_t		 qk[QUEUE_LMDB_STAMPKEY], hdr[4];
	struct ubuf	 b;
	MDB_val		 key, val, dkey;
	char		 hex[2 * 16 + 1];
	size_t		 i;
	int		 rc;

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

	/* The key too may point into the page about to change. */
	dkey.mv_size = k->mv_size;
	dkey.mv_data = b.data + 2 + strlen(name) + 2;

	for (i = 0; i < k->mv_size && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", ((const uint8_t *)k->mv_data)[i]);
	hex[2 * i] = '\0';

	queue_lmdb_stamp_next(&ql->quar_stamp, qk);
	key.mv_size = sizeof qk;
	key.mv_data = qk;
	val.mv_size = b.len;
	val.mv_data = b.data;
	if ((rc = mdb_put(txn, ql->dbi[QUEUE_LMDB_QUAR], &key, &val, 0)) != 0)
		goto out;
	rc = mdb_del(txn, ql->dbi[db], &dkey, NULL);
	if (rc == MDB_NOTFOUND)
		rc = 0;
	if (rc == 0)
		log_warnx("queue: %s: corrupt entry quarantined key=%s len=%zu",
		    name, hex, (size_t)v->mv_size);
out:
	ubuf_free(&b);
	return rc;
}

/* Quarantine the listed entries that are still there and still bad. */
static int
queue_lmdb_bad_flush(struct queue_lmdb *ql, MDB_txn *txn,
    struct queue_lmdb_bad *list)
{
	struct queue_lmdb_bad	*b;
	MDB_val			 k, v;
	int			 rc;

	for (b = list; b != NULL; b = b->next) {
		k.mv_size = b->klen;
		k.mv_data = b->key;
		rc = mdb_get(txn, ql->dbi[b->db], &k, &v);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		if (queue_lmdb_valid(b->db, &k, &v) == 0)
			continue;
		if ((rc = queue_lmdb_quarantine(ql, txn, b->db, &k, &v)) != 0)
			return rc;
	}
	return 0;
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
	if ((rc = queue_lmdb_bad_flush(ql, txn, list)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		goto fail;
	queue_lmdb_bad_free(list);
	return 0;
fail:
	log_warnx("queue: quarantine failed: %s", mdb_strerror(rc));
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
 * Before a message carrying a photo is deleted, overwrite its stored
 * value with zeros where it lies. mdb_del only unlinks the value: its
 * pages go to LMDB's freelist with the image still in them, and stay in
 * data.mdb until reused. Without MDB_WRITEMAP the map is read-only, so
 * a page of the last committed snapshot (the usual case: the body was
 * written by an earlier txn) is overwritten through the environment's
 * file descriptor; the commit's fdatasync then makes the wipe durable
 * together with the delete. A page dirty in this txn is LMDB's private
 * copy and is wiped in memory. Crash between the wipe and the commit:
 * the message stays with a zeroed body, fails its CRC at the next read
 * and is quarantined; it had been delivered and acknowledged already.
 */
static int
queue_lmdb_wipe(struct queue_lmdb *ql, MDB_txn *txn, const MDB_val *k)
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
	p = v.mv_data;
	if (v.mv_size < QUEUE_LMDB_MSGHDR || !(p[2] & QUEUE_MSG_PHOTO))
		return 0;
	if (ql->map == NULL) {
		log_warnx("queue: cannot wipe a photo message: map of %s/"
		    "data.mdb not found", ql->path);
		return 0;
	}
	if (p < ql->map || p + v.mv_size > ql->map + ql->maplen) {
		memset(v.mv_data, 0, v.mv_size);	/* dirty: in memory */
		return 0;
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
	return 0;
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
		    QUEUE_LMDB_REF, &k, &v)) != 0)
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
	if ((rc = queue_lmdb_wipe(ql, txn, &k)) != 0)
		return rc;
	rc = mdb_del(txn, ql->dbi[QUEUE_LMDB_MSG], &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
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
		if ((rc = queue_lmdb_copy_put(ql, txn, QUEUE_LMDB_COPY, &c,
		    0)) != 0)
			return rc;
	}
	return 0;
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
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_COPY], &k, &v);
	if (rc == MDB_NOTFOUND) {
		op->result = QUEUE_E_NOTFOUND;
		return 0;
	}
	if (rc != 0)
		return rc;

	if (op->type == QUEUE_OP_DELETE) {
		/* Delivered: the record's content does not matter any more. */
		if ((rc = mdb_del(txn, ql->dbi[QUEUE_LMDB_COPY], &k, NULL)) != 0)
			return rc;
		return queue_lmdb_unref(ql, txn, op->copies[0].msgid);
	}

	if (queue_lmdb_copy_dec(QUEUE_LMDB_COPY, &k, &v, &c) == -1) {
		op->result = QUEUE_E_CORRUPT;
		return queue_lmdb_quarantine(ql, txn, QUEUE_LMDB_COPY, &k, &v);
	}
	c.attempts = op->copies[0].attempts;
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
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	rc = mdb_get(txn, ql->dbi[QUEUE_LMDB_DEAD], &k, &v);
	if (rc == MDB_NOTFOUND) {
		op->result = QUEUE_E_NOTFOUND;
		return 0;
	}
	if (rc != 0)
		return rc;

	if (op->type == QUEUE_OP_PURGE) {
		if ((rc = mdb_del(txn, ql->dbi[QUEUE_LMDB_DEAD], &k, NULL)) != 0)
			return rc;
		return queue_lmdb_unref(ql, txn, op->copies[0].msgid);
	}

	if (queue_lmdb_copy_dec(QUEUE_LMDB_DEAD, &k, &v, &c) == -1) {
		op->result = QUEUE_E_CORRUPT;
		return queue_lmdb_quarantine(ql, txn, QUEUE_LMDB_DEAD, &k, &v);
	}
	c.attempts = 0;
	c.enq_us = util_now_us();
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

static int
queue_lmdb_op_meta(struct queue_lmdb *ql, MDB_txn *txn, struct queue_op *op)
{
	uint8_t	vb[QUEUE_LMDB_METAREC];
	MDB_val	k, v;

	k.mv_size = strlen(op->meta_key);
	k.mv_data = (void *)(uintptr_t)op->meta_key;
	memset(vb, 0, sizeof vb);
	vb[0] = QUEUE_LMDB_VERSION;
	util_put_be64(vb + 4, op->meta_value);
	queue_lmdb_seal(&k, vb, sizeof vb);
	v.mv_size = sizeof vb;
	v.mv_data = vb;
	return mdb_put(txn, ql->dbi[QUEUE_LMDB_META], &k, &v, 0);
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

	if ((rc = mdb_txn_begin(ql->env, parent, 0, &txn)) != 0)
		return rc;
	if ((rc = queue_lmdb_op(ql, txn, op, b)) == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc == MDB_MAP_FULL) {
		*b = saved;
		op->result = QUEUE_E_FULL;
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
			if (rc == MDB_MAP_FULL) {
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

	/* The audit trail back within its budget (frees, never fails ops). */
	if ((rc = mdb_txn_begin(ql->env, txn, 0, &child)) != 0)
		goto abort;
	if ((rc = queue_lmdb_audit_trim(ql, child)) == 0)
		rc = mdb_txn_commit(child);
	else
		mdb_txn_abort(child);
	if (rc != 0 && rc != MDB_MAP_FULL)
		goto abort;

	/* The durable point: fsync of data, then of the meta page. */
	if ((rc = mdb_txn_commit(txn)) != 0)
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

static int
queue_lmdb_apply(void *arg, struct queue_op **ops, int n)
{
	struct queue_lmdb		*ql = arg;
	struct queue_lmdb_budget	 b;
	int				 rc, i;

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
		return QUEUE_APPLY_RETRY;
	}
	if (rc != 0) {
		log_warnx("queue: commit of %d ops failed: %s", n,
		    mdb_strerror(rc));
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
		st->health = QUEUE_HEALTH_NOSPACE;
	else if (ql->audit_blocked)
		st->health = QUEUE_HEALTH_AUDIT;
	else
		st->health = QUEUE_HEALTH_OK;
	if (st->health == QUEUE_HEALTH_OK)
		st->health_cause[0] = '\0';
	else if (st->health == QUEUE_HEALTH_AUDIT)
		snprintf(st->health_cause, sizeof st->health_cause,
		    "the audit trail is over its budget and cannot be "
		    "pruned: %s", ql->audit_cause);
	else
		util_strlcpy(st->health_cause, ql->cause,
		    sizeof st->health_cause);
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

	pthread_mutex_lock(&ql->rlock);
	if ((rc = queue_lmdb_rbegin(ql, &txn)) != 0) {
		log_warnx("queue: read txn: %s", mdb_strerror(rc));
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

	if (len == 0 || len > QUEUE_META_KEY_MAX)
		return 0;
	pthread_mutex_lock(&ql->rlock);
	if (queue_lmdb_rbegin(ql, &txn) != 0) {
		pthread_mutex_unlock(&ql->rlock);
		return 0;
	}
	k.mv_size = len;
	k.mv_data = (void *)(uintptr_t)key;
	if (mdb_get(txn, ql->dbi[QUEUE_LMDB_META], &k, &v) == 0 &&
	    queue_lmdb_meta_dec(&k, &v, &value) == -1) {
		queue_lmdb_bad_add(ql, QUEUE_LMDB_META, &k);
		value = 0;
	}
	mdb_txn_reset(txn);
	pthread_mutex_unlock(&ql->rlock);
	return value;
}

/* Walk the copy or dead db in key order with a read txn of its own. */
static int
queue_lmdb_walk(struct queue_lmdb *ql, int db, queue_load_cb cb, void *arg)
{
	struct queue_copy	 c;
	MDB_txn			*txn;
	MDB_cursor		*cur = NULL;
	MDB_val			 k, v;
	int			 rc;

	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	if ((rc = mdb_cursor_open(txn, ql->dbi[db], &cur)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
		if (queue_lmdb_copy_dec(db, &k, &v, &c) == -1) {
			queue_lmdb_bad_add(ql, db, &k);
			continue;
		}
		cb(&c, arg);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (rc != MDB_NOTFOUND)
		goto fail;
	return QUEUE_E_OK;
fail:
	log_warnx("queue: walk %s: %s", queue_lmdb_dbname[db],
	    mdb_strerror(rc));
	return QUEUE_E_IO;
}

static int
queue_lmdb_load(void *arg, queue_load_cb cb, void *arg2)
{
	struct queue_lmdb	*ql = arg;
	int			 ret;

	ret = queue_lmdb_walk(ql, QUEUE_LMDB_COPY, cb, arg2);
	/* Start-up: quarantine now, nothing else waits for the writer. */
	queue_lmdb_bad_commit(ql);
	return ret;
}

static int
queue_lmdb_walk_dead(void *arg, queue_load_cb cb, void *arg2)
{
	return queue_lmdb_walk(arg, QUEUE_LMDB_DEAD, cb, arg2);
}

static int
queue_lmdb_walk_audit(void *arg, uint64_t since_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *arg2)
{
	struct queue_lmdb	*ql = arg;
	MDB_txn			*txn;
	MDB_cursor		*cur = NULL;
	MDB_val			 k, v;
	uint8_t			 kb[QUEUE_LMDB_STAMPKEY];
	int			 rc;

	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	if ((rc = mdb_cursor_open(txn, ql->dbi[QUEUE_LMDB_AUDIT], &cur)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
	util_put_be64(kb, since_us);
	util_put_be32(kb + 8, 0);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
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
	return QUEUE_E_IO;
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

	if (ql->dbi[QUEUE_LMDB_STATE] == 0)
		return QUEUE_E_OK;	/* read-only, a store from before */
	if ((rc = mdb_txn_begin(ql->env, NULL, MDB_RDONLY, &txn)) != 0)
		goto fail;
	if ((rc = mdb_cursor_open(txn, ql->dbi[QUEUE_LMDB_STATE], &cur)) != 0) {
		mdb_txn_abort(txn);
		goto fail;
	}
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
	return QUEUE_E_IO;
}

static void
queue_lmdb_close(void *arg)
{
	struct queue_lmdb *ql = arg;

	if (ql == NULL)
		return;
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
	free(ql->path);
	free(ql);
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
	.usage = queue_lmdb_usage,
	.open_rdonly = queue_lmdb_open_rdonly,
	.walk_state = queue_lmdb_walk_state,
	.configure = queue_lmdb_configure,
	.space = queue_lmdb_space
};
