/*
 * jsonutil - the few things every JSON document nlswitch writes needs on
 * top of jansson: strings that are always valid (C strings from the wire
 * or the file system may not be UTF-8), numbers printed with the
 * decimals a report promises, and building and dumping that cannot fail
 * half-way (out of memory is fatal, as in util.h's allocators).
 *
 * Reading JSON needs nothing more than jansson itself (json_loadb).
 * Escaping is jansson's alone: no module writes JSON text by hand.
 */
#ifndef NLSWITCH_JSONUTIL_H
#define NLSWITCH_JSONUTIL_H

#include <stdio.h>

#include <jansson.h>

/*
 * Dump flags. Fields keep the order they were set in; a real is printed
 * with at most 15 significant digits, so a value rounded by
 * jsonutil_real() prints as the decimal it was rounded to (12.3, not
 * 12.300000000000001).
 */
#define JSONUTIL_COMPACT	(JSON_COMPACT | JSON_PRESERVE_ORDER | \
				    JSON_REAL_PRECISION(15))
#define JSONUTIL_PRETTY		(JSON_INDENT(2) | JSON_PRESERVE_ORDER | \
				    JSON_REAL_PRECISION(15))

/**
 * A JSON string of s.
 * @param s any C string; NULL is taken as "". Bytes that are not UTF-8
 *	are each replaced by U+FFFD, so the result is always a valid string.
 * @return a new reference, never NULL (out of memory is fatal).
 */
json_t	*jsonutil_str(const char *s);

/**
 * s with every byte that does not start or continue a UTF-8 sequence
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF)
 * replaced by U+FFFD: what jsonutil_str() does, for writers that are
 * not jansson (audit.c's).
 * @return a new C string (caller frees), never NULL.
 */
char	*jsonutil_utf8_clean(const char *s);

/**
 * A JSON number of v rounded to decimals places (what "%.Nf" printed).
 * @return a new reference, never NULL; null for a NaN or an infinity
 *	(JSON has no such numbers).
 */
json_t	*jsonutil_real(double v, int decimals);

/**
 * Set obj[key] to v, taking over the reference to v. obj and v may be
 * straight from json_object(), json_array() or json_integer(): a NULL
 * one (out of memory) is fatal here.
 */
void	 jsonutil_set(json_t *obj, const char *key, json_t *v);
/** obj[key] = jsonutil_str(s). */
void	 jsonutil_set_str(json_t *obj, const char *key, const char *s);
/** obj[key] = n, an integer. */
void	 jsonutil_set_int(json_t *obj, const char *key, json_int_t n);
/** obj[key] = jsonutil_real(v, decimals). */
void	 jsonutil_set_real(json_t *obj, const char *key, double v,
	    int decimals);
/** Append v to arr, taking over the reference; NULL is fatal. */
void	 jsonutil_append(json_t *arr, json_t *v);

/**
 * The text of v (JSONUTIL_COMPACT or JSONUTIL_PRETTY, or other jansson
 * dump flags). v is not released.
 * @return the NUL-terminated text (caller frees), never NULL.
 */
char	*jsonutil_dump(const json_t *v, size_t flags);

/**
 * Write the text of v and a newline to f.
 * @return 0, or -1 with errno set when f could not be written.
 */
int	 jsonutil_write(const json_t *v, size_t flags, FILE *f);

#endif
