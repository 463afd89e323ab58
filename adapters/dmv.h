/*
 * dmv - deterministic synthetic driver records for a simulated state DMV.
 *
 * A state's file is a virtual table of nrecords rows; row i is computed on
 * demand from (state, i) by a seeded PRNG, so nothing is stored and every
 * process that asks for the same row gets the same bytes. Names are random
 * combinations of common given names and surnames drawn from small embedded
 * tables; every person is fictional. Dates are relative to a fixed
 * simulated "today" (DMV_TODAY), never the wall clock, so a record's status
 * does not change as real time passes.
 *
 * Operator licence number (OLN) format, 9 characters:
 *
 *	S NNNNNNN C
 *
 *	S	first letter of the state code (upper case)
 *	NNNNNNN	row index, 7 decimal digits, zero padded
 *	C	Luhn check digit computed over the 7 index digits
 *
 * e.g. row 0 of "NY" is "N00000000", row 42 is "N00000422". The OLN
 * decodes back to the row, so dmv_find_oln() is O(1); a file therefore
 * holds at most DMV_MAX_RECORDS rows.
 *
 * Text fields are upper case, as DMV systems keep them; searches compare
 * case-insensitively. Record 0 of any state always exists (for nrecords >=
 * 1) and is the canonical "known good" subject for tests and demos:
 * searching its surname, given name, DOB and sex returns it first.
 */
#ifndef NLSWITCH_DMV_H
#define NLSWITCH_DMV_H

#include <stddef.h>
#include <stdint.h>

/** Rows addressable through the 7-digit OLN index. */
#define DMV_MAX_RECORDS	10000000u
/** OLN length without the NUL. */
#define DMV_OLN_LEN	9
/** The simulated "today"; statuses and expiry dates are relative to it. */
#define DMV_TODAY	"2025-01-01"
/** Oldest and youngest birth years generated (inclusive). */
#define DMV_DOB_YEAR_MIN	1940
#define DMV_DOB_YEAR_MAX	2008

struct dmv_record {
	char		oln[16];	/* DMV_OLN_LEN chars, see above */
	char		surname[41];
	char		given[41];
	char		middle[41];	/* may be "" */
	char		dob[11];	/* YYYY-MM-DD */
	char		sex[2];		/* "M" or "F" */
	char		street[64];	/* "1234 OAK ST" */
	char		city[41];
	char		state[3];	/* upper-case two-letter code */
	char		zip[11];	/* 5 digits */
	char		lic_class[4];	/* "C", "M", "CM", "A", "B" */
	char		status[16];	/* VALID SUSPENDED REVOKED EXPIRED */
	char		issued[11];	/* YYYY-MM-DD, on or after the 16th birthday */
	char		expires[11];	/* YYYY-MM-DD, a birthday 8 years after issue */
	uint32_t	index;		/* row number, as encoded in the OLN */
	uint32_t	photo_seed;	/* seed for avatar_jpeg() */
};

/**
 * Compute a row of a state's file. A pure function of (state, index).
 * @param state two ASCII letters, either case ("NY", "ny").
 * @param index row number, < DMV_MAX_RECORDS.
 * @param r filled on success.
 * @return 0, or -1 for a malformed state or an index out of range.
 */
int	dmv_record(const char *state, uint32_t index, struct dmv_record *r);

/**
 * Age in whole years on DMV_TODAY of someone born on dob (what decides
 * the age bracket of a record's photo).
 * @param dob "YYYY-MM-DD".
 * @return the age, or -1 for a malformed date or one after DMV_TODAY.
 */
int	dmv_age(const char *dob);

/**
 * Format the OLN of a row without computing the rest of the record.
 * @param buf receives DMV_OLN_LEN chars and a NUL.
 * @param bufsz size of buf, at least DMV_OLN_LEN + 1.
 * @return 0, or -1 for a malformed state, index or a short buffer.
 */
int	dmv_oln(const char *state, uint32_t index, char *buf, size_t bufsz);

/**
 * Look a licence up by OLN in a file of nrecords rows (O(1)).
 * Leading/trailing characters are not tolerated; the prefix letter is
 * compared case-insensitively.
 * @param r filled when found (may be NULL to test existence only).
 * @return 0 when found; -1 when not on file: malformed OLN, wrong state
 * letter, bad check digit, index >= nrecords, or a malformed state.
 */
int	dmv_find_oln(const char *state, uint32_t nrecords, const char *oln,
	    struct dmv_record *r);

/**
 * Search a file of nrecords rows by name (linear scan, case-insensitive,
 * exact field match; rows returned in index order).
 * @param surname required, non-empty.
 * @param given given name, or NULL / "" to match any.
 * @param dob "YYYY-MM-DD", or NULL / "" to match any.
 * @param sex "M" / "F", or NULL / "" to match any.
 * @param out array of max records receiving the first matches.
 * @param max capacity of out (>= 0).
 * @return number of matches written (0 = not on file), or -1 for a
 * malformed state, an empty surname, or out == NULL with max > 0.
 */
int	dmv_find_name(const char *state, uint32_t nrecords, const char *surname,
	    const char *given, const char *dob, const char *sex,
	    struct dmv_record *out, int max);

#endif
