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

#endif /* MDBCHECK_H */
