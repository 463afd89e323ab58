/*
 * mdbcheck - check an LMDB 0.9 data file's structure without LMDB
 * (mdbcheck.h).
 *
 * The layout, from LMDB 0.9.24's mdb.c (64-bit: pgno_t and size_t are 8
 * bytes; native byte order):
 *
 *   MDB_page  0 mp_pgno[8]  8 mp_pad[2]  10 mp_flags[2]  12 mp_lower[2]
 *             14 mp_upper[2] (overflow: 12 mp_pages[4])  16 mp_ptrs[2 n]
 *             PAGEHDRSZ 16; n = (mp_lower - 16) / 2 nodes, each at an
 *             even offset in [mp_upper, psize), packed (EVEN sizes).
 *   MDB_node  0 mn_lo[2]  2 mn_hi[2]  4 mn_flags[2]  6 mn_ksize[2]  8 key,
 *             then (leaf) the data, or its overflow pgno[8] (F_BIGDATA);
 *             a leaf's data size is lo | hi << 16, a branch's child page
 *             is lo | hi << 16 | flags << 32. A branch's node 0 has no key.
 *   MDB_meta  at 16 of pages 0 and 1: 0 mm_magic[4]  4 mm_version[4]
 *             8 mm_address[8]  16 mm_mapsize[8]  24 mm_dbs[2] (free,
 *             main)  120 mm_last_pg[8]  128 mm_txnid[8]
 *   MDB_db    0 md_pad[4] (the free DB's: the page size)  4 md_flags[2]
 *             6 md_depth[2]  8 md_branch_pages  16 md_leaf_pages
 *             24 md_overflow_pages  32 md_entries  40 md_root (8 each);
 *             an empty DB's root is P_INVALID.
 *
 * A named DB is a main DB leaf node with F_SUBDATA whose data is its
 * MDB_db. The free DB maps a txnid (MDB_INTEGERKEY) to an ID list: a
 * count, then that many page numbers.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdbcheck.h"
#include "util.h"

#define MDBCHECK_PAGEHDR	16
#define MDBCHECK_NODEHDR	8
#define MDBCHECK_MAGIC		0xBEEFC0DEu
#define MDBCHECK_VERSION	1
#define MDBCHECK_META		16	/* MDB_meta in its page */
#define MDBCHECK_META_DBS	(MDBCHECK_META + 24)
#define MDBCHECK_DBSIZE		48
#define MDBCHECK_META_LAST	(MDBCHECK_META + 120)
#define MDBCHECK_META_TXNID	(MDBCHECK_META + 128)
#define MDBCHECK_INVALID	UINT64_MAX
#define MDBCHECK_MAXDEPTH	32	/* LMDB's CURSOR_STACK */

/* mp_flags */
#define P_BRANCH	0x01
#define P_LEAF		0x02
#define P_OVERFLOW	0x04
#define P_META		0x08
#define P_DIRTY		0x10
#define P_LEAF2		0x20
#define P_SUBP		0x40
#define P_LOOSE		0x4000
#define P_KEEP		0x8000
#define P_TYPE		(P_BRANCH | P_LEAF | P_OVERFLOW | P_META | P_LEAF2 | \
			 P_SUBP)
#define P_KNOWN		(P_TYPE | P_DIRTY | P_LOOSE | P_KEEP)

/* mn_flags */
#define F_BIGDATA	0x01
#define F_SUBDATA	0x02
#define F_DUPDATA	0x04

/* md_flags */
#define MDBCHECK_REVERSEKEY	0x02
#define MDBCHECK_DUPSORT	0x04
#define MDBCHECK_INTEGERKEY	0x08
#define MDBCHECK_DBFLAGS	0x7e	/* what LMDB persists */

struct mdbcheck_db {
	uint32_t	pad;
	uint16_t	flags;
	uint16_t	depth;
	uint64_t	branch, leaf, overflow, entries, root;
};

/* What a walk found, to compare with the MDB_db. */
struct mdbcheck_count {
	uint64_t	branch, leaf, overflow, entries;
};

struct mdbcheck {
	int			 fd;		/* the file, read with pread */
	size_t			 len;
	uint8_t			*meta;		/* pages 0 and 1 */
	/* A page per level of the walk (0: an overflow page's first):
	 * a parent page stays read while its children are. */
	uint8_t			*lvl[2 * (MDBCHECK_MAXDEPTH + 1)];
	int			 base;		/* slots of the tree walked */
	uint8_t			*ov;		/* a free list's overflow run */
	size_t			 ovcap;
	size_t			 psize;
	uint64_t		 last;		/* mm_last_pg */
	uint8_t			*seen;		/* a bit per page */
	char			*why;
	size_t			 sz;
	char			 db[40];	/* the DB walked, for why */
	const struct mdbcheck_db *cur;		/* its record */
	int			 kind;		/* MDBCHECK_FREE, _MAIN, _NAMED */
	const char *const	*names;		/* required named DBs */
	uint64_t		 found;		/* bit i: names[i] found */
	const char *const	*defer;		/* named DBs not walked */
	const char *const	*lazy;		/* ... whose overflow is not read */
	int			 lazy_ov;	/* the DB walked is lazy */
	int			 edge;		/* last child of each branch only */
	mdbcheck_each_cb	 each;		/* mdbcheck_each(): the records */
	void			*each_arg;
	int			 stopped;	/* each returned non-zero */
};

/* The keys a page may hold: [lo, hi), NULL for no bound. */
struct mdbcheck_bounds {
	const uint8_t	*lo;
	size_t		 lolen;
	const uint8_t	*hi;
	size_t		 hilen;
};

enum { MDBCHECK_FREE, MDBCHECK_MAIN, MDBCHECK_NAMED };

static int	mdbcheck_tree(struct mdbcheck *, const struct mdbcheck_db *);
static int	mdbcheck_walk(struct mdbcheck *, uint64_t, uint64_t, int,
		    const struct mdbcheck_bounds *, struct mdbcheck_count *);

static size_t
mdbcheck_even(size_t n)
{
	return (n + 1) & ~(size_t)1;
}

/* Record the damage (the first only). @return -1. */
static int __attribute__((format(printf, 2, 3)))
mdbcheck_bad(struct mdbcheck *ck, const char *fmt, ...)
{
	va_list ap;

	if (ck->why[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(ck->why, ck->sz, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void
mdbcheck_db_dec(const uint8_t *p, struct mdbcheck_db *db)
{
	db->pad = util_get_ne32(p);
	db->flags = util_get_ne16(p + 4);
	db->depth = util_get_ne16(p + 6);
	db->branch = util_get_ne64(p + 8);
	db->leaf = util_get_ne64(p + 16);
	db->overflow = util_get_ne64(p + 24);
	db->entries = util_get_ne64(p + 32);
	db->root = util_get_ne64(p + 40);
}

/* Pages pgno .. pgno + n - 1 into buf. @return 0, -1 (why set). */
static int
mdbcheck_read(struct mdbcheck *ck, uint64_t pgno, uint64_t n, uint8_t *buf)
{
	size_t	 want = (size_t)n * ck->psize, done = 0;
	off_t	 off = (off_t)(pgno * ck->psize);
	ssize_t	 r;

	if (pgno * ck->psize + want > ck->len)
		return mdbcheck_bad(ck, "page %llu (%s db): past the end of "
		    "the file (%zu bytes)", (unsigned long long)pgno, ck->db,
		    ck->len);
	while (done < want) {
		r = pread(ck->fd, buf + done, want - done, off + (off_t)done);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			return mdbcheck_bad(ck, "page %llu: read: %s",
			    (unsigned long long)pgno, r == 0 ? "end of file" :
			    strerror(errno));
		done += (size_t)r;
	}
	return 0;
}

/*
 * Page pgno, reached from page from as what: within the file and the
 * snapshot, not a meta page, not reached before, read into the buffer
 * of slot (a level of the walk; 0 for an overflow page). @return it,
 * NULL.
 */
static const uint8_t *
mdbcheck_page(struct mdbcheck *ck, uint64_t pgno, uint64_t from,
    const char *what, int slot)
{
	uint8_t *pg;

	if (pgno < 2 || pgno > ck->last) {
		mdbcheck_bad(ck, "page %llu (%s db, %s of page %llu): page "
		    "number outside 2..%llu", (unsigned long long)pgno, ck->db,
		    what, (unsigned long long)from,
		    (unsigned long long)ck->last);
		return NULL;
	}
	if (ck->seen[pgno / 8] & (1u << (pgno % 8))) {
		mdbcheck_bad(ck, "page %llu (%s db, %s of page %llu): reached "
		    "twice (a cycle, or a page of another tree)",
		    (unsigned long long)pgno, ck->db, what,
		    (unsigned long long)from);
		return NULL;
	}
	ck->seen[pgno / 8] |= (uint8_t)(1u << (pgno % 8));
	slot += ck->base;
	if (ck->lvl[slot] == NULL && (ck->lvl[slot] = malloc(ck->psize)) ==
	    NULL) {
		mdbcheck_bad(ck, "out of memory");
		return NULL;
	}
	pg = ck->lvl[slot];
	if (mdbcheck_read(ck, pgno, 1, pg) == -1)
		return NULL;
	if (util_get_ne64(pg) != pgno) {
		mdbcheck_bad(ck, "page %llu (%s db, %s of page %llu): its "
		    "header says page %llu", (unsigned long long)pgno, ck->db,
		    what, (unsigned long long)from,
		    (unsigned long long)util_get_ne64(pg));
		return NULL;
	}
	return pg;
}

/* Compare two keys as the DB does; 0 when it cannot say (REVERSEKEY). */
static int
mdbcheck_cmp(const struct mdbcheck *ck, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen)
{
	uint64_t	x, y;
	int		c;

	if (ck->cur->flags & MDBCHECK_REVERSEKEY)
		return -1;
	if ((ck->cur->flags & MDBCHECK_INTEGERKEY) && alen == blen &&
	    (alen == 8 || alen == 4)) {
		x = alen == 8 ? util_get_ne64(a) : util_get_ne32(a);
		y = alen == 8 ? util_get_ne64(b) : util_get_ne32(b);
		return x < y ? -1 : x > y;
	}
	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/*
 * The pages of an overflow run of a lazy DB, not read: within the
 * snapshot and not reached before, as many as LMDB gives the data.
 * @return 0, -1.
 */
static int
mdbcheck_overflow_unread(struct mdbcheck *ck, uint64_t pgno, uint64_t from,
    size_t dsize, struct mdbcheck_count *cnt)
{
	uint64_t	need, i;

	need = (MDBCHECK_PAGEHDR - 1 + (uint64_t)dsize) / ck->psize + 1;
	if (pgno < 2 || pgno > ck->last || need - 1 > ck->last - pgno)
		return mdbcheck_bad(ck, "page %llu (%s db, overflow data of "
		    "page %llu): %llu pages, outside 2..%llu",
		    (unsigned long long)pgno, ck->db, (unsigned long long)from,
		    (unsigned long long)need, (unsigned long long)ck->last);
	for (i = 0; i < need; i++) {
		if (ck->seen[(pgno + i) / 8] & (1u << ((pgno + i) % 8)))
			return mdbcheck_bad(ck, "page %llu (%s db, overflow "
			    "data of page %llu): page %llu reached twice",
			    (unsigned long long)pgno, ck->db,
			    (unsigned long long)from,
			    (unsigned long long)(pgno + i));
		ck->seen[(pgno + i) / 8] |= (uint8_t)(1u << ((pgno + i) % 8));
	}
	cnt->overflow += need;
	return 0;
}

/* An overflow chain of data from leaf page from. @return it, NULL. */
static const uint8_t *
mdbcheck_overflow(struct mdbcheck *ck, uint64_t pgno, uint64_t from,
    size_t dsize, struct mdbcheck_count *cnt)
{
	const uint8_t	*pg;
	uint64_t	 n, i;
	char		 why[200];

	if ((pg = mdbcheck_page(ck, pgno, from, "overflow data", 0)) == NULL)
		return NULL;
	if (mdbcheck_ovpage(pg, pgno, dsize, ck->psize, ck->last, why,
	    sizeof why) != 0) {
		mdbcheck_bad(ck, "page %llu (%s db, overflow data of page "
		    "%llu): %s", (unsigned long long)pgno, ck->db,
		    (unsigned long long)from, why);
		return NULL;
	}
	n = util_get_ne32(pg + 12);
	for (i = 1; i < n; i++) {
		if (ck->seen[(pgno + i) / 8] & (1u << ((pgno + i) % 8))) {
			mdbcheck_bad(ck, "page %llu (%s db): page %llu of its "
			    "overflow data is also in use elsewhere",
			    (unsigned long long)pgno, ck->db,
			    (unsigned long long)(pgno + i));
			return NULL;
		}
		ck->seen[(pgno + i) / 8] |= (uint8_t)(1u << ((pgno + i) % 8));
	}
	cnt->overflow += n;
	/* Only a free list's data is read (a named DB's is its records';
	 * the main DB holds none): the run, whole. */
	if (ck->kind != MDBCHECK_FREE || n == 1)
		return pg + MDBCHECK_PAGEHDR;
	if (n * ck->psize > ck->ovcap) {
		free(ck->ov);
		ck->ovcap = (size_t)n * ck->psize;
		if ((ck->ov = malloc(ck->ovcap)) == NULL) {
			ck->ovcap = 0;
			mdbcheck_bad(ck, "out of memory");
			return NULL;
		}
	}
	if (mdbcheck_read(ck, pgno, n, ck->ov) == -1)
		return NULL;
	return ck->ov + MDBCHECK_PAGEHDR;
}

int
mdbcheck_ovpage(const uint8_t *pg, uint64_t pgno, size_t dsize, size_t psize,
    uint64_t last, char *why, size_t sz)
{
	uint64_t	n, need;

	if (util_get_ne64(pg) != pgno) {
		snprintf(why, sz, "its header says page %llu",
		    (unsigned long long)util_get_ne64(pg));
		return 1;
	}
	if ((util_get_ne16(pg + 10) & (P_TYPE | ~P_KNOWN | P_DIRTY)) !=
	    P_OVERFLOW) {
		snprintf(why, sz, "flags 0x%04x, not an overflow page",
		    util_get_ne16(pg + 10));
		return 1;
	}
	n = util_get_ne32(pg + 12);
	need = (MDBCHECK_PAGEHDR - 1 + (uint64_t)dsize) / psize + 1;
	if (n < need || pgno > last || n - 1 > last - pgno) {
		snprintf(why, sz, "mp_pages %llu, need %llu, last page %llu",
		    (unsigned long long)n, (unsigned long long)need,
		    (unsigned long long)last);
		return 1;
	}
	return 0;
}

/* Is the named DB name[0 .. len) in list (NULL-terminated, or NULL)? */
static int
mdbcheck_listed(const char *const *list, const uint8_t *name, size_t len)
{
	size_t j;

	for (j = 0; list != NULL && list[j] != NULL; j++)
		if (strlen(list[j]) == len && memcmp(list[j], name, len) == 0)
			return 1;
	return 0;
}

/* A leaf node's data in the main or free DB. */
static int
mdbcheck_leaf_data(struct mdbcheck *ck, uint64_t pgno, unsigned i,
    const uint8_t *nd, const uint8_t *data, size_t dsize)
{
	struct mdbcheck_db	 sub;
	const struct mdbcheck_db *save = ck->cur;
	char			 name[sizeof ck->db], savedb[sizeof ck->db];
	size_t			 ksize = util_get_ne16(nd + 6), j, n;
	uint64_t		 count, k, id;
	int			 savekind = ck->kind, rc;

	if (ck->kind == MDBCHECK_FREE) {
		if (dsize < 8 || dsize % 8 != 0)
			return mdbcheck_bad(ck, "page %llu (free db, leaf) "
			    "node %u: a free list of %zu bytes",
			    (unsigned long long)pgno, i, dsize);
		count = util_get_ne64(data);
		if (count > dsize / 8 - 1)
			return mdbcheck_bad(ck, "page %llu (free db, leaf) "
			    "node %u: a free list of %llu pages in %zu bytes",
			    (unsigned long long)pgno, i,
			    (unsigned long long)count, dsize);
		for (k = 1; k <= count; k++)
			if ((id = util_get_ne64(data + 8 * k)) < 2 ||
			    id > ck->last)
				return mdbcheck_bad(ck, "page %llu (free db, "
				    "leaf) node %u: free page %llu outside "
				    "2..%llu", (unsigned long long)pgno, i,
				    (unsigned long long)id,
				    (unsigned long long)ck->last);
		return 0;
	}
	if (ck->kind != MDBCHECK_MAIN)
		return 0;
	/* The main DB holds named DBs and nothing else. */
	for (j = 0, n = 0; j < ksize && n + 4 < sizeof name; j++)
		name[n++] = nd[8 + j] >= 0x20 && nd[8 + j] < 0x7f ?
		    (char)nd[8 + j] : '?';
	name[n] = '\0';
	if (!(util_get_ne16(nd + 4) & F_SUBDATA) ||
	    (util_get_ne16(nd + 4) & F_BIGDATA) || dsize != MDBCHECK_DBSIZE)
		return mdbcheck_bad(ck, "page %llu (main db, leaf) node %u "
		    "(\"%s\"): not a database record (flags 0x%x, %zu bytes): "
		    "the main db's root names a page of another tree",
		    (unsigned long long)pgno, i, name, util_get_ne16(nd + 4),
		    dsize);
	mdbcheck_db_dec(data, &sub);
	if (sub.flags & ~MDBCHECK_DBFLAGS || sub.flags & MDBCHECK_DUPSORT)
		return mdbcheck_bad(ck, "page %llu (main db, leaf) node %u: "
		    "db \"%s\" has flags 0x%x", (unsigned long long)pgno, i,
		    name, sub.flags);
	if (ck->names != NULL)
		for (j = 0; ck->names[j] != NULL && j < 64; j++)
			if (strlen(ck->names[j]) == ksize &&
			    memcmp(ck->names[j], nd + 8, ksize) == 0)
				ck->found |= (uint64_t)1 << j;
	memcpy(savedb, ck->db, sizeof savedb);
	snprintf(ck->db, sizeof ck->db, "%s", name);
	ck->kind = MDBCHECK_NAMED;
	ck->lazy_ov = mdbcheck_listed(ck->lazy, nd + 8, ksize);
	/* Deferred (mdbcheck_db walks it later): now only the pages from
	 * its root to its last leaf, which appends read and write. */
	ck->edge = mdbcheck_listed(ck->defer, nd + 8, ksize);
	/* The main DB's pages stay read beneath: other buffers. */
	ck->base = MDBCHECK_MAXDEPTH + 1;
	rc = mdbcheck_tree(ck, &sub);
	ck->base = 0;
	ck->lazy_ov = 0;
	ck->edge = 0;
	ck->kind = savekind;
	ck->cur = save;
	memcpy(ck->db, savedb, sizeof ck->db);
	return rc;
}

/* Sort node extents by offset. */
static int
mdbcheck_ext_cmp(const void *a, const void *b)
{
	const uint32_t *x = a, *y = b;

	return (x[0] > y[0]) - (x[0] < y[0]);
}

/*
 * Page pgno's header at level (the root is 1) of the current DB: the type
 * the depth asks for, mp_lower and mp_upper possible in the page.
 * @return the number of nodes (at least 1) and *upper, or -1.
 */
static int
mdbcheck_page_header(struct mdbcheck *ck, const uint8_t *pg, uint64_t pgno,
    int level, int branch, uint16_t *upper)
{
	uint16_t	 flags, lower;

	flags = util_get_ne16(pg + 10);
	if ((flags & (P_TYPE | ~P_KNOWN)) != (branch ? P_BRANCH : P_LEAF))
		return mdbcheck_bad(ck, "page %llu (%s db, level %d of %d): "
		    "flags 0x%04x, expected a %s page",
		    (unsigned long long)pgno, ck->db, level, ck->cur->depth,
		    flags, branch ? "branch" : "leaf");
	lower = util_get_ne16(pg + 12);
	*upper = util_get_ne16(pg + 14);
	if (lower < MDBCHECK_PAGEHDR || lower > *upper || *upper > ck->psize ||
	    (lower - MDBCHECK_PAGEHDR) % 2 != 0 || lower == MDBCHECK_PAGEHDR)
		return mdbcheck_bad(ck, "page %llu (%s db, %s): mp_lower %u "
		    "mp_upper %u impossible in a page of %zu",
		    (unsigned long long)pgno, ck->db, branch ? "branch" : "leaf",
		    lower, *upper, ck->psize);
	return (lower - MDBCHECK_PAGEHDR) / 2;
}

/*
 * Every one of the n nodes of page pgno within the page, at or above
 * upper; ext[2 i], ext[2 i + 1] the offset and even size of node i.
 */
static int
mdbcheck_node_extents(struct mdbcheck *ck, const uint8_t *pg, uint64_t pgno,
    unsigned n, uint16_t upper, int branch, uint32_t *ext)
{
	const uint8_t	*nd;
	uint16_t	 off, nflags;
	size_t		 size, dsize;
	unsigned	 i;

	for (i = 0; i < n; i++) {
		off = util_get_ne16(pg + MDBCHECK_PAGEHDR + 2 * i);
		if (off < upper || off % 2 != 0 ||
		    (size_t)off + MDBCHECK_NODEHDR > ck->psize)
			return mdbcheck_bad(ck, "page %llu (%s db, %s): "
			    "mp_ptrs[%u] %u outside %u..%zu",
			    (unsigned long long)pgno, ck->db,
			    branch ? "branch" : "leaf", i, off, upper,
			    ck->psize);
		nd = pg + off;
		nflags = util_get_ne16(nd + 4);
		size = MDBCHECK_NODEHDR + util_get_ne16(nd + 6);
		if (!branch) {
			dsize = util_get_ne16(nd) |
			    (size_t)util_get_ne16(nd + 2) << 16;
			if (nflags & ~(F_BIGDATA | F_SUBDATA) || ((nflags &
			    F_SUBDATA) && ck->kind != MDBCHECK_MAIN))
				return mdbcheck_bad(ck, "page %llu (%s db, "
				    "leaf) node %u: flags 0x%x",
				    (unsigned long long)pgno, ck->db, i,
				    nflags);
			size += nflags & F_BIGDATA ? 8 : dsize;
		}
		if ((size_t)off + size > ck->psize)
			return mdbcheck_bad(ck, "page %llu (%s db, %s) node %u "
			    "at %u: %zu bytes run past the page end",
			    (unsigned long long)pgno, ck->db, branch ?
			    "branch" : "leaf", i, off, size);
		ext[2 * i] = off;
		ext[2 * i + 1] = (uint32_t)mdbcheck_even(size);
	}
	return 0;
}

/* The n extents (sorted here) packed in [upper, psize): no overlap, no gap. */
static int
mdbcheck_nodes_packed(struct mdbcheck *ck, uint64_t pgno, unsigned n,
    uint16_t upper, uint32_t *ext)
{
	size_t		 used;
	unsigned	 i;

	qsort(ext, n, 2 * sizeof *ext, mdbcheck_ext_cmp);
	for (i = 0, used = 0; i < n; i++) {
		if (i + 1 < n && ext[2 * i] + ext[2 * i + 1] > ext[2 * i + 2])
			return mdbcheck_bad(ck, "page %llu (%s db): nodes at "
			    "%u and %u overlap", (unsigned long long)pgno,
			    ck->db, ext[2 * i], ext[2 * i + 2]);
		used += ext[2 * i + 1];
	}
	if (used != ck->psize - upper)
		return mdbcheck_bad(ck, "page %llu (%s db): nodes fill %zu "
		    "bytes, mp_upper %u says %zu", (unsigned long long)pgno,
		    ck->db, used, upper, ck->psize - upper);
	return 0;
}

/* Node i of page pg. */
static const uint8_t *
mdbcheck_node(const uint8_t *pg, unsigned i)
{
	return pg + util_get_ne16(pg + MDBCHECK_PAGEHDR + 2 * i);
}

/*
 * The n keys of branch page pgno in order, within what its parent says
 * (bd): they steer every search. A leaf key out of order misleads no page
 * walk and is a record's damage, for the caller's checksums to find.
 */
static int
mdbcheck_branch_keys(struct mdbcheck *ck, const uint8_t *pg, uint64_t pgno,
    unsigned n, const struct mdbcheck_bounds *bd)
{
	const uint8_t	*nd, *key, *pkey = NULL;
	size_t		 ksize, pklen = 0;
	unsigned	 i;

	for (i = 1; i < n; i++) {
		nd = mdbcheck_node(pg, i);
		key = nd + MDBCHECK_NODEHDR;
		ksize = util_get_ne16(nd + 6);
		if ((pkey != NULL && mdbcheck_cmp(ck, pkey, pklen, key,
		    ksize) >= 0) || (bd->lo != NULL && mdbcheck_cmp(ck, bd->lo,
		    bd->lolen, key, ksize) > 0) || (bd->hi != NULL &&
		    mdbcheck_cmp(ck, key, ksize, bd->hi, bd->hilen) >= 0))
			return mdbcheck_bad(ck, "page %llu (%s db, branch) "
			    "node %u: key out of order",
			    (unsigned long long)pgno, ck->db, i);
		pkey = key;
		pklen = ksize;
	}
	return 0;
}

/* The child of each of the n nodes of branch page pgno, at level + 1. */
static int
mdbcheck_branch_children(struct mdbcheck *ck, const uint8_t *pg,
    uint64_t pgno, unsigned n, int level, const struct mdbcheck_bounds *bd,
    struct mdbcheck_count *cnt)
{
	struct mdbcheck_bounds	 cbd;
	const uint8_t		*nd, *next;
	uint64_t		 child;
	unsigned		 i;

	cnt->branch++;
	for (i = ck->edge ? n - 1 : 0; i < n; i++) {
		nd = mdbcheck_node(pg, i);
		child = util_get_ne16(nd) |
		    (uint64_t)util_get_ne16(nd + 2) << 16 |
		    (uint64_t)util_get_ne16(nd + 4) << 32;
		cbd = *bd;
		if (i > 0) {
			cbd.lo = nd + MDBCHECK_NODEHDR;
			cbd.lolen = util_get_ne16(nd + 6);
		}
		if (i + 1 < n) {
			next = mdbcheck_node(pg, i + 1);
			cbd.hi = next + MDBCHECK_NODEHDR;
			cbd.hilen = util_get_ne16(next + 6);
		}
		if (mdbcheck_walk(ck, child, pgno, level + 1, &cbd, cnt) == -1)
			return -1;
	}
	return 0;
}

/* The data of each of the n nodes of leaf page pgno. */
static int
mdbcheck_leaf_nodes(struct mdbcheck *ck, const uint8_t *pg, uint64_t pgno,
    unsigned n, struct mdbcheck_count *cnt)
{
	const uint8_t	*nd, *data;
	size_t		 ksize, dsize;
	unsigned	 i;

	cnt->leaf++;
	cnt->entries += n;
	for (i = 0; i < n; i++) {
		nd = mdbcheck_node(pg, i);
		ksize = util_get_ne16(nd + 6);
		dsize = util_get_ne16(nd) | (size_t)util_get_ne16(nd + 2) << 16;
		data = nd + MDBCHECK_NODEHDR + ksize;
		if ((util_get_ne16(nd + 4) & F_BIGDATA) && ck->lazy_ov &&
		    ck->kind == MDBCHECK_NAMED) {
			/* Its data is the records', not the tree's. */
			if (mdbcheck_overflow_unread(ck, util_get_ne64(data),
			    pgno, dsize, cnt) == -1)
				return -1;
			data = NULL;
		}
		if (ck->each != NULL && ck->kind == MDBCHECK_NAMED) {
			if (ck->each(nd + MDBCHECK_NODEHDR, ksize, data, dsize,
			    ck->each_arg) != 0) {
				ck->stopped = 1;
				return -1;
			}
			continue;
		}
		if (data == NULL)
			continue;
		if ((util_get_ne16(nd + 4) & F_BIGDATA) && (data =
		    mdbcheck_overflow(ck, util_get_ne64(data), pgno, dsize,
		    cnt)) == NULL)
			return -1;
		if (mdbcheck_leaf_data(ck, pgno, i, nd, data, dsize) == -1)
			return -1;
	}
	return 0;
}

/*
 * Page pgno at level (the root is 1) of the current DB, reached from
 * page from; its keys must lie in bd (NULL bounds: unbounded). The
 * steps are static and called once each, for the compiler to inline:
 * this runs on every page of the store at every start-up.
 */
static int
mdbcheck_walk(struct mdbcheck *ck, uint64_t pgno, uint64_t from, int level,
    const struct mdbcheck_bounds *bd, struct mdbcheck_count *cnt)
{
	const uint8_t	*pg;
	uint32_t	*ext;
	uint16_t	 upper = 0;
	unsigned	 n;
	int		 branch = level < ck->cur->depth, rc = -1, nodes;

	if ((pg = mdbcheck_page(ck, pgno, from, level == 1 ? "root" :
	    "child", level)) == NULL)
		return -1;
	if ((nodes = mdbcheck_page_header(ck, pg, pgno, level, branch,
	    &upper)) == -1)
		return -1;
	n = (unsigned)nodes;
	if ((ext = malloc(2 * sizeof *ext * n)) == NULL)
		return mdbcheck_bad(ck, "out of memory");
	if (mdbcheck_node_extents(ck, pg, pgno, n, upper, branch, ext) == -1 ||
	    mdbcheck_nodes_packed(ck, pgno, n, upper, ext) == -1)
		goto fail;
	if (branch) {
		if (mdbcheck_branch_keys(ck, pg, pgno, n, bd) == -1 ||
		    mdbcheck_branch_children(ck, pg, pgno, n, level, bd,
		    cnt) == -1)
			goto fail;
	} else if (mdbcheck_leaf_nodes(ck, pg, pgno, n, cnt) == -1)
		goto fail;
	rc = 0;
fail:
	free(ext);
	return rc;
}

/* The tree of db, its counts against its record. */
static int
mdbcheck_tree(struct mdbcheck *ck, const struct mdbcheck_db *db)
{
	static const struct mdbcheck_bounds unbounded;
	struct mdbcheck_count cnt;

	ck->cur = db;
	memset(&cnt, 0, sizeof cnt);
	if (db->root == MDBCHECK_INVALID) {
		if (db->depth != 0 || db->entries != 0 || db->branch != 0 ||
		    db->leaf != 0 || db->overflow != 0)
			return mdbcheck_bad(ck, "%s db: empty, but depth %u, "
			    "%llu entries", ck->db, db->depth,
			    (unsigned long long)db->entries);
		return 0;
	}
	if (db->depth < 1 || db->depth > MDBCHECK_MAXDEPTH)
		return mdbcheck_bad(ck, "%s db: root page %llu, depth %u",
		    ck->db, (unsigned long long)db->root, db->depth);
	if (mdbcheck_walk(ck, db->root, 0, 1, &unbounded, &cnt) == -1)
		return -1;
	ck->cur = db;
	/* Unread, a run counts the pages its data needs: LMDB may have
	 * kept a longer one for data rewritten shorter. */
	if (ck->edge)
		return 0;	/* a path, not the tree */
	if (cnt.branch != db->branch || cnt.leaf != db->leaf ||
	    (ck->lazy_ov ? cnt.overflow > db->overflow :
	    cnt.overflow != db->overflow) || cnt.entries != db->entries)
		return mdbcheck_bad(ck, "%s db (root page %llu): holds %llu "
		    "branch, %llu leaf, %llu overflow pages and %llu entries; "
		    "its record says %llu, %llu, %llu, %llu", ck->db,
		    (unsigned long long)db->root,
		    (unsigned long long)cnt.branch,
		    (unsigned long long)cnt.leaf,
		    (unsigned long long)cnt.overflow,
		    (unsigned long long)cnt.entries,
		    (unsigned long long)db->branch,
		    (unsigned long long)db->leaf,
		    (unsigned long long)db->overflow,
		    (unsigned long long)db->entries);
	return 0;
}

/* Meta page i: sound enough for LMDB to open? */
static int
mdbcheck_meta_ok(struct mdbcheck *ck, int i)
{
	const uint8_t *pg = ck->meta + (size_t)i * ck->psize;

	if (util_get_ne64(pg) != (uint64_t)i ||
	    (util_get_ne16(pg + 10) & P_TYPE) != P_META ||
	    util_get_ne32(pg + MDBCHECK_META) != MDBCHECK_MAGIC ||
	    util_get_ne32(pg + MDBCHECK_META + 4) != MDBCHECK_VERSION ||
	    util_get_ne32(pg + MDBCHECK_META_DBS) != ck->psize)
		return mdbcheck_bad(ck, "meta page %d: not an LMDB 0.9 meta "
		    "page of page size %zu (number %llu, flags 0x%04x, magic "
		    "0x%08x, version %u)", i, ck->psize,
		    (unsigned long long)util_get_ne64(pg),
		    util_get_ne16(pg + 10),
		    util_get_ne32(pg + MDBCHECK_META),
		    util_get_ne32(pg + MDBCHECK_META + 4));
	return 0;
}

/* Every tree of the snapshot meta page i names. */
static int
mdbcheck_snapshot(struct mdbcheck *ck, int i)
{
	const uint8_t		*meta = ck->meta + (size_t)i * ck->psize;
	struct mdbcheck_db	 freedb, maindb;
	size_t			 j;

	ck->last = util_get_ne64(meta + MDBCHECK_META_LAST);
	if (ck->last < 1 || ck->last >= ck->len / ck->psize)
		return mdbcheck_bad(ck, "meta page %d: last page %llu, the "
		    "file has %zu", i, (unsigned long long)ck->last,
		    ck->len / ck->psize);
	free(ck->seen);
	if ((ck->seen = calloc(1, ck->last / 8 + 1)) == NULL)
		return mdbcheck_bad(ck, "out of memory");
	ck->seen[0] = 0x03;	/* the meta pages */
	ck->found = 0;
	mdbcheck_db_dec(meta + MDBCHECK_META_DBS, &freedb);
	mdbcheck_db_dec(meta + MDBCHECK_META_DBS + MDBCHECK_DBSIZE, &maindb);
	if (maindb.flags & ~MDBCHECK_DBFLAGS || maindb.flags &
	    MDBCHECK_DUPSORT)
		return mdbcheck_bad(ck, "meta page %d: main db flags 0x%x", i,
		    maindb.flags);
	freedb.flags |= MDBCHECK_INTEGERKEY;
	snprintf(ck->db, sizeof ck->db, "free");
	ck->kind = MDBCHECK_FREE;
	if (mdbcheck_tree(ck, &freedb) == -1)
		return -1;
	snprintf(ck->db, sizeof ck->db, "main");
	ck->kind = MDBCHECK_MAIN;
	if (mdbcheck_tree(ck, &maindb) == -1)
		return -1;
	if (maindb.root == MDBCHECK_INVALID || ck->names == NULL)
		return 0;	/* new */
	for (j = 0; ck->names[j] != NULL && j < 64; j++)
		if (!(ck->found & (uint64_t)1 << j))
			return mdbcheck_bad(ck, "main db (root page %llu, meta "
			    "page %d): no db \"%s\" among its %llu: the root "
			    "is not the switch's main db",
			    (unsigned long long)maindb.root, i, ck->names[j],
			    (unsigned long long)maindb.entries);
	return 0;
}

/*
 * Open path read-only: *fd, *len. @return 1 open; 0 no file or an
 * empty one; -1 why says why. Pages are read with pread, not through a
 * map: on a virtual machine a first touch of a mapped page costs ten
 * times a pread of it here, and a check reads each page once.
 */
static int
mdbcheck_open(const char *path, int *fd, size_t *len, char *why, size_t sz)
{
	struct stat	 st;

	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, sz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(*fd, &st) == -1) {
		snprintf(why, sz, "%s: %s", path, strerror(errno));
		close(*fd);
		return -1;
	}
	if (st.st_size == 0) {
		close(*fd);
		return 0;
	}
	*len = (size_t)st.st_size;
	return 1;
}

/* What a check holds, freed. */
static void
mdbcheck_done(struct mdbcheck *ck)
{
	int i;

	for (i = 0; i < 2 * (MDBCHECK_MAXDEPTH + 1); i++)
		free(ck->lvl[i]);
	free(ck->ov);
	free(ck->meta);
	free(ck->seen);
	close(ck->fd);
}

int
mdbcheck_file(const char *path, const char *const *names, char *why,
    size_t sz)
{
	struct mdbcheck_opts o;

	memset(&o, 0, sizeof o);
	o.names = names;
	return mdbcheck_file_opts(path, &o, why, sz);
}

int
mdbcheck_db(const char *path, const uint8_t *rec, size_t psize,
    uint64_t last, const char *name, char *why, size_t sz)
{
	return mdbcheck_each(path, rec, psize, last, name, NULL, NULL, why,
	    sz);
}

int
mdbcheck_each(const char *path, const uint8_t *rec, size_t psize,
    uint64_t last, const char *name, mdbcheck_each_cb cb, void *arg,
    char *why, size_t sz)
{
	struct mdbcheck		 ck;
	struct mdbcheck_db	 db;
	size_t			 len = 0;
	int			 rc, fd;

	why[0] = '\0';
	if ((rc = mdbcheck_open(path, &fd, &len, why, sz)) != 1)
		return rc == 0 ? 0 : -1;
	memset(&ck, 0, sizeof ck);
	ck.fd = fd;
	ck.len = len;
	ck.why = why;
	ck.sz = sz;
	ck.psize = psize;
	ck.last = last;
	ck.kind = MDBCHECK_NAMED;
	ck.each = cb;
	ck.each_arg = arg;
	ck.lazy_ov = cb != NULL;
	snprintf(ck.db, sizeof ck.db, "%s", name);
	mdbcheck_db_dec(rec, &db);
	rc = 1;
	if (psize < 512 || last < 2 || last >= len / psize)
		mdbcheck_bad(&ck, "%s db: page size %zu, last page %llu, the "
		    "file has %zu bytes", name, psize,
		    (unsigned long long)last, len);
	else if ((ck.seen = calloc(1, last / 8 + 1)) == NULL)
		mdbcheck_bad(&ck, "out of memory");
	else if (db.flags & ~MDBCHECK_DBFLAGS || db.flags & MDBCHECK_DUPSORT)
		mdbcheck_bad(&ck, "%s db: flags 0x%x", name, db.flags);
	else {
		ck.seen[0] = 0x03;	/* the meta pages */
		rc = mdbcheck_tree(&ck, &db) == 0 || ck.stopped ? 0 : 1;
	}
	mdbcheck_done(&ck);
	return rc;
}

int
mdbcheck_file_opts(const char *path, const struct mdbcheck_opts *o,
    char *why, size_t sz)
{
	struct mdbcheck	 ck;
	size_t		 len = 0;
	char		 prev[256];
	uint8_t		 head[MDBCHECK_META_TXNID + 8];
	uint64_t	 t0, t1;
	uint32_t	 psize;
	int		 use, rc, fd;

	why[0] = '\0';
	if ((rc = mdbcheck_open(path, &fd, &len, why, sz)) != 1)
		return rc;
	memset(&ck, 0, sizeof ck);
	ck.fd = fd;
	ck.len = len;
	ck.why = why;
	ck.sz = sz;
	ck.names = o->names;
	ck.defer = o->defer;
	ck.lazy = o->lazy;
	rc = 1;
	if (ck.len < MDBCHECK_META_TXNID + 8) {
		mdbcheck_bad(&ck, "meta page 0: the file has only %zu bytes",
		    ck.len);
		goto out;
	}
	ck.psize = sizeof head;
	if (mdbcheck_read(&ck, 0, 1, head) == -1)
		goto out;
	psize = util_get_ne32(head + MDBCHECK_META_DBS);
	if (psize < 512 || psize > 65536 || (psize & (psize - 1)) != 0 ||
	    ck.len < 2 * (size_t)psize) {
		mdbcheck_bad(&ck, "meta page 0: page size %u, file size %zu",
		    psize, ck.len);
		goto out;
	}
	ck.psize = psize;
	if ((ck.meta = malloc(2 * (size_t)psize)) == NULL) {
		mdbcheck_bad(&ck, "out of memory");
		goto out;
	}
	if (mdbcheck_read(&ck, 0, 2, ck.meta) == -1)
		goto out;
	if (mdbcheck_meta_ok(&ck, 0) == -1 || mdbcheck_meta_ok(&ck, 1) == -1)
		goto out;
	/* LMDB uses the meta of the higher txnid, page 0 on a tie. */
	t0 = util_get_ne64(ck.meta + MDBCHECK_META_TXNID);
	t1 = util_get_ne64(ck.meta + psize + MDBCHECK_META_TXNID);
	use = t1 > t0 ? 1 : 0;
	if (mdbcheck_snapshot(&ck, use) == 0) {
		rc = 0;
		goto out;
	}
	/* Damaged: is the previous snapshot (MDB_PREVSNAPSHOT) sound? */
	snprintf(prev, sizeof prev, "%s", why);
	why[0] = '\0';
	if (mdbcheck_snapshot(&ck, !use) == 0)
		snprintf(why, sz, "meta page %d (txn %llu): %s; the previous "
		    "snapshot (meta page %d, txn %llu) is sound", use,
		    (unsigned long long)(use ? t1 : t0), prev, !use,
		    (unsigned long long)(use ? t0 : t1));
	else
		snprintf(why, sz, "meta page %d (txn %llu): %s", use,
		    (unsigned long long)(use ? t1 : t0), prev);
out:
	mdbcheck_done(&ck);
	return rc;
}
