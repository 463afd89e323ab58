/*
 * mdbcheck - check an LMDB 0.9 data file's structure without LMDB.
 *
 * LMDB checks the type and number of the pages it follows and trusts the
 * rest of every page (node offsets, mp_lower/mp_upper, which tree a root
 * names): damage there crashes it or misleads it. mdbcheck_file() reads
 * data.mdb itself, through a read-only map and with every offset checked
 * against the page and the file, before LMDB walks any page.
 *
 * Layout: LMDB 0.9 (MDB_DATA_VERSION 1), 64-bit, native byte order, no
 * MDB_DUPSORT databases (the switch uses none).
 */
#ifndef MDBCHECK_H
#define MDBCHECK_H

#include <stddef.h>
#include <stdint.h>

/*
 * Check the data file path (data.mdb) as LMDB will open it: both meta
 * pages, then, from the meta LMDB uses (the higher txnid), the free DB,
 * the main DB and every named DB it holds, page by page. names, NULL or
 * NULL-terminated, are named DBs that must exist once the main DB holds
 * any (a new store holds none).
 *
 * @return 0: sound, or no file / an empty one (a new store);
 *	   1: damaged, why says which page and what is wrong, and whether
 *	      the previous snapshot (the other meta page) is sound;
 *	  -1: the file cannot be read, why says why.
 */
int	mdbcheck_file(const char *path, const char *const *names, char *why,
	    size_t sz);

/*
 * What a start-up leaves out of the check, so that it reads what the
 * queue's index needs and no more. names as above; defer: named DBs
 * of which only the pages from the root to the last leaf are walked now
 * (what an append reads; mdbcheck_db() walks the whole tree later);
 * lazy: named DBs whose records' overflow pages
 * are not read (their page numbers and counts are checked against the
 * snapshot; mdbcheck_ovpage() checks a run's first page before LMDB
 * frees it). Lists NULL-terminated, or NULL.
 */
struct mdbcheck_opts {
	const char *const	*names;
	const char *const	*defer;
	const char *const	*lazy;
};

/* mdbcheck_file() with what opts leaves out. Same return values. */
int	mdbcheck_file_opts(const char *path, const struct mdbcheck_opts *opts,
	    char *why, size_t sz);

/*
 * Check one named DB's tree, as mdbcheck_file() checks every tree, from
 * its record rec (the 48-byte MDB_db a read transaction of LMDB found
 * under name in the main DB: the caller keeps that transaction open,
 * so that none of the tree's pages is reused meanwhile), with pages in
 * 2..last (the environment's last page) of page size psize. Pages the
 * tree shares with another go unseen. @return 0 sound, 1 damaged (why
 * says which page and what), -1 unreadable.
 */
int	mdbcheck_db(const char *path, const uint8_t *rec, size_t psize,
	    uint64_t last, const char *name, char *why, size_t sz);

/*
 * A record of mdbcheck_each(): key k (klen bytes) and its data v (vlen
 * bytes), or v NULL when the data is in overflow pages (not read); both
 * valid during the call only. Non-zero stops the walk.
 */
typedef int (*mdbcheck_each_cb)(const uint8_t *k, size_t klen,
    const uint8_t *v, size_t vlen, void *arg);

/*
 * mdbcheck_db() that also hands each record, in key order, to cb: the
 * records of a tree read without LMDB's map (whose first touch of a page
 * costs far more than a read of it on a virtual machine), with the same
 * checks as it reads. The caller holds the read transaction rec came
 * from. @return as mdbcheck_db(); 0 also when cb stopped the walk.
 */
int	mdbcheck_each(const char *path, const uint8_t *rec, size_t psize,
	    uint64_t last, const char *name, mdbcheck_each_cb cb, void *arg,
	    char *why, size_t sz);

/*
 * The first page pg (page number pgno) of an overflow run that holds
 * dsize bytes of data, in a file of page size psize whose last page is
 * last: its number, P_OVERFLOW (not dirty), and mp_pages enough for the
 * data within the file. LMDB frees mp_pages from pgno when it deletes
 * the record: a damaged header would put pages in use on the free list.
 * @return 0 sound, 1 not (why says what).
 */
int	mdbcheck_ovpage(const uint8_t *pg, uint64_t pgno, size_t dsize,
	    size_t psize, uint64_t last, char *why, size_t sz);

#endif /* MDBCHECK_H */
