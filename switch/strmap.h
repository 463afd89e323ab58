/*
 * strmap - a string-keyed hash table of pointers, for lookups that must
 * not grow with the number of entries (the config's lines by certificate
 * name, line code, ORI and member code: config.h).
 *
 * Open addressing with linear probing, FNV-1a hashes, at most half full
 * (it doubles when an add would pass that). Keys are not copied: each
 * must stay valid and unchanged while it is in the table (the config's
 * strings live as long as the config). Nothing is ever removed: a table
 * is built once and then only read, and reading needs no lock.
 */
#ifndef NLSWITCH_STRMAP_H
#define NLSWITCH_STRMAP_H

#include <stddef.h>

struct strmap;

/**
 * An empty table sized for about n entries (it grows past them).
 * @return the table (fatal on out of memory, as every x*alloc).
 */
struct strmap	*strmap_new(size_t n);
/** Free the table (not the keys nor the values); NULL is a no-op. */
void		 strmap_free(struct strmap *);
/**
 * Add key -> val (val must not be NULL).
 * @return 0 added, or -1 when the key is already there: nothing changed
 *	and *prev (if prev is not NULL) set to the value it has.
 */
int		 strmap_add(struct strmap *, const char *key, void *val,
		    void **prev);
/** @return the value of key, or NULL when it is not there. */
void		*strmap_get(const struct strmap *, const char *key);
/** @return the number of entries. */
size_t		 strmap_count(const struct strmap *);

#endif
