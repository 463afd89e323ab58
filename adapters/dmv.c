/*
 * dmv - see dmv.h.
 *
 * Every row is drawn from a splitmix64 stream seeded by (state, index), in a
 * fixed order: sex, given, middle, surname, DOB, then address, licence and
 * photo seed. Keeping the name fields first lets dmv_find_name() reject a
 * row after a handful of draws instead of building the whole record.
 * Changing the order or the tables changes every state's file, so both are
 * part of the format: treat them as frozen once fixtures depend on them.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dmv.h"
#include "util.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const char *const dmv_given_m[] = {
	"JAMES", "JOHN", "ROBERT", "MICHAEL", "WILLIAM", "DAVID", "RICHARD",
	"JOSEPH", "THOMAS", "CHARLES", "CHRISTOPHER", "DANIEL", "MATTHEW",
	"ANTHONY", "MARK", "DONALD", "STEVEN", "PAUL", "ANDREW", "JOSHUA",
	"KENNETH", "KEVIN", "BRIAN", "GEORGE", "TIMOTHY", "RONALD", "EDWARD",
	"JASON", "JEFFREY", "RYAN", "JACOB", "GARY", "NICHOLAS", "ERIC",
	"JONATHAN", "STEPHEN", "LARRY", "JUSTIN", "SCOTT", "BRANDON", "BENJAMIN",
	"SAMUEL", "GREGORY", "ALEXANDER", "PATRICK", "FRANK", "RAYMOND", "JACK",
	"DENNIS", "JERRY", "CARLOS", "LUIS", "MIGUEL", "ANDRE", "OMAR",
};

static const char *const dmv_given_f[] = {
	"MARY", "PATRICIA", "JENNIFER", "LINDA", "ELIZABETH", "BARBARA", "SUSAN",
	"JESSICA", "SARAH", "KAREN", "LISA", "NANCY", "BETTY", "MARGARET",
	"SANDRA", "ASHLEY", "KIMBERLY", "EMILY", "DONNA", "MICHELLE", "CAROL",
	"AMANDA", "DOROTHY", "MELISSA", "DEBORAH", "STEPHANIE", "REBECCA",
	"SHARON", "LAURA", "CYNTHIA", "KATHLEEN", "AMY", "ANGELA", "SHIRLEY",
	"ANNA", "BRENDA", "PAMELA", "EMMA", "NICOLE", "HELEN", "SAMANTHA",
	"KATHERINE", "CHRISTINE", "DEBRA", "RACHEL", "CAROLYN", "JANET", "MARIA",
	"ROSA", "ANA", "GRACE", "JULIA", "ALICE", "RUTH", "DIANA",
};

static const char *const dmv_surnames[] = {
	"SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER",
	"DAVIS", "RODRIGUEZ", "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ",
	"WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE", "JACKSON", "MARTIN",
	"LEE", "PEREZ", "THOMPSON", "WHITE", "HARRIS", "SANCHEZ", "CLARK",
	"RAMIREZ", "LEWIS", "ROBINSON", "WALKER", "YOUNG", "ALLEN", "KING",
	"WRIGHT", "SCOTT", "TORRES", "NGUYEN", "HILL", "FLORES", "GREEN",
	"ADAMS", "NELSON", "BAKER", "HALL", "RIVERA", "CAMPBELL", "MITCHELL",
	"CARTER", "ROBERTS", "GOMEZ", "PHILLIPS", "EVANS", "TURNER", "DIAZ",
	"PARKER", "CRUZ", "EDWARDS", "COLLINS", "REYES", "STEWART", "MORRIS",
	"MORALES", "MURPHY", "COOK", "ROGERS", "GUTIERREZ", "ORTIZ", "MORGAN",
	"COOPER", "PETERSON", "BAILEY", "REED", "KELLY", "HOWARD", "RAMOS",
	"KIM", "COX", "WARD", "RICHARDSON", "WATSON", "BROOKS", "CHAVEZ",
	"WOOD", "JAMES", "BENNETT", "GRAY", "MENDOZA", "RUIZ", "HUGHES",
	"PRICE", "ALVAREZ", "CASTILLO", "SANDERS", "PATEL", "MYERS", "LONG",
	"ROSS", "FOSTER", "CHEN",
};

static const char *const dmv_streets[] = {
	"OAK", "MAPLE", "PINE", "CEDAR", "ELM", "WASHINGTON", "LAKE", "HILL",
	"PARK", "MAIN", "CHURCH", "HIGH", "RIVER", "SPRING", "MILL", "WALNUT",
	"CHESTNUT", "SUNSET", "FOREST", "MEADOW", "RIDGE", "VALLEY", "FRANKLIN",
	"LINCOLN", "JEFFERSON", "BIRCH", "WILLOW", "HICKORY", "ORCHARD", "GROVE",
	"FIRST", "SECOND", "THIRD", "FOURTH", "FIFTH",
};

static const char *const dmv_suffixes[] = {
	"ST", "AVE", "RD", "DR", "LN", "CT", "WAY", "BLVD", "PL", "TER",
};

static const char *const dmv_cities[] = {
	"SPRINGFIELD", "RIVERSIDE", "FAIRVIEW", "FRANKLIN", "GREENVILLE",
	"BRISTOL", "CLINTON", "SALEM", "MADISON", "GEORGETOWN", "ARLINGTON",
	"ASHLAND", "BURLINGTON", "CLAYTON", "DAYTON", "DOVER", "HUDSON",
	"KINGSTON", "LEBANON", "MARION", "MILFORD", "NEWPORT", "OXFORD",
	"PLEASANTVILLE", "RICHMOND", "SHELBYVILLE", "WINCHESTER", "CENTERVILLE",
	"LAKEWOOD", "OAKDALE",
};

/* Size-limited, always-NUL-terminated copy of a table entry. */
#define DMV_SET(dst, src)	util_strlcpy((dst), (src), sizeof(dst))

/* Upper-case a two-letter state code into st[3]; -1 unless exactly 2 letters. */
static int
dmv_state_norm(const char *state, char st[3])
{
	int i;

	if (state == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		char c = state[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return -1;
		st[i] = c;
	}
	if (state[2] != '\0')
		return -1;
	st[2] = '\0';
	return 0;
}

/* PRNG state for a row: the state code and the index, mixed. */
static uint64_t
dmv_seed(const char st[3], uint32_t index)
{
	uint64_t s;

	s = 0x6e6c737769746368ULL;	/* "nlswitch" */
	s ^= (uint64_t)(unsigned char)st[0] << 40 |
	    (uint64_t)(unsigned char)st[1] << 32 | index;
	(void)util_rand_next(&s);	/* decorrelate neighbouring rows */
	return s;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int32_t
dmv_days(int y, int m, int d)
{
	int	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Inverse of dmv_days(). */
static void
dmv_civil(int32_t z, int *yp, int *mp, int *dp)
{
	int	 era, doe, yoe, doy, mp_, y;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp_ = (5 * doy + 2) / 153;
	*dp = doy - (153 * mp_ + 2) / 5 + 1;
	*mp = mp_ < 10 ? mp_ + 3 : mp_ - 9;
	*yp = y + (*mp <= 2);
}

static int
dmv_is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* The day of a birthday (month, day) in year y; Feb 29 falls on Feb 28. */
static int32_t
dmv_birthday(int y, int m, int d)
{
	if (m == 2 && d == 29 && !dmv_is_leap(y))
		d = 28;
	return dmv_days(y, m, d);
}

static void
dmv_fmt_date(char *buf, size_t sz, int32_t z)
{
	int y, m, d;

	dmv_civil(z, &y, &m, &d);
	snprintf(buf, sz, "%04d-%02d-%02d", y, m, d);
}

/* Luhn check digit over a string of decimal digits. */
static int
dmv_luhn(const char *digits, size_t n)
{
	size_t	 i;
	int	 sum = 0, dbl = 1, v;

	/* Rightmost payload digit is doubled, as when the check digit follows. */
	for (i = n; i-- > 0;) {
		v = digits[i] - '0';
		if (dbl) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
		dbl = !dbl;
	}
	return (10 - sum % 10) % 10;
}

static void
dmv_oln_fmt(const char st[3], uint32_t index, char *buf, size_t sz)
{
	char digits[8];

	snprintf(digits, sizeof(digits), "%07u", (unsigned)index);
	snprintf(buf, sz, "%c%s%d", st[0], digits, dmv_luhn(digits, 7));
}

/* Draw the name fields (first in the stream) into r. */
static void
dmv_gen_names(uint64_t *s, struct dmv_record *r)
{
	const char *const	*tab;
	size_t			 n;
	uint32_t		 g, m;

	if (util_rand_below(s, 2) == 0) {
		DMV_SET(r->sex, "M");
		tab = dmv_given_m;
		n = NELEM(dmv_given_m);
	} else {
		DMV_SET(r->sex, "F");
		tab = dmv_given_f;
		n = NELEM(dmv_given_f);
	}
	g = util_rand_below(s, (uint32_t)n);
	DMV_SET(r->given, tab[g]);
	/* 85% have a middle name, never the same as the given name. */
	m = util_rand_below(s, (uint32_t)n - 1);
	if (m >= g)
		m++;
	if (util_rand_below(s, 100) < 85)
		DMV_SET(r->middle, tab[m]);
	else
		r->middle[0] = '\0';
	DMV_SET(r->surname,
	    dmv_surnames[util_rand_below(s, NELEM(dmv_surnames))]);
}

/* Draw the date of birth (second in the stream); returns its day number. */
static int32_t
dmv_gen_dob(uint64_t *s, struct dmv_record *r)
{
	int32_t lo, hi, z;

	lo = dmv_days(DMV_DOB_YEAR_MIN, 1, 1);
	hi = dmv_days(DMV_DOB_YEAR_MAX, 12, 31);
	z = lo + (int32_t)util_rand_below(s, (uint32_t)(hi - lo + 1));
	dmv_fmt_date(r->dob, sizeof(r->dob), z);
	return z;
}

/*
 * Draw the licence: class, status, and issue/expiry dates consistent with
 * the status relative to DMV_TODAY. A licence is issued on or after the
 * 16th birthday and expires on the birthday 8 years later; non-expired ones
 * were issued within the last 7 years, expired ones 9-11 years ago.
 */
static void
dmv_gen_licence(uint64_t *s, struct dmv_record *r, int32_t dob)
{
	int32_t	 today, dob16, lo, hi, iss;
	uint32_t v;
	int	 by, bm, bd, iy, im, id, expired = 0;

	v = util_rand_below(s, 100);
	DMV_SET(r->lic_class, v < 85 ? "C" : v < 91 ? "CM" : v < 94 ? "M" :
	    v < 97 ? "B" : "A");

	dmv_civil(dob, &by, &bm, &bd);
	today = dmv_days(2025, 1, 1);	/* keep in step with DMV_TODAY */
	dob16 = dmv_birthday(by + 16, bm, bd);

	v = util_rand_below(s, 100);
	if (v < 88)
		DMV_SET(r->status, "VALID");
	else if (v < 93)
		DMV_SET(r->status, "SUSPENDED");
	else if (v < 95)
		DMV_SET(r->status, "REVOKED");
	else
		expired = 1;

	lo = dmv_days(2014, 1, 1);
	hi = dmv_days(2016, 12, 31);
	if (lo < dob16)
		lo = dob16;
	if (expired && lo > hi) {
		/* Too young to hold a licence that long: a valid one instead. */
		expired = 0;
		DMV_SET(r->status, "VALID");
	}
	if (expired)
		DMV_SET(r->status, "EXPIRED");
	else {
		lo = dmv_days(2018, 1, 1);
		hi = today - 1;
		if (lo < dob16)
			lo = dob16;
	}
	iss = lo + (int32_t)util_rand_below(s, (uint32_t)(hi - lo + 1));
	dmv_fmt_date(r->issued, sizeof(r->issued), iss);
	dmv_civil(iss, &iy, &im, &id);
	dmv_fmt_date(r->expires, sizeof(r->expires),
	    dmv_birthday(iy + 8, bm, bd));
}

int
dmv_record(const char *state, uint32_t index, struct dmv_record *r)
{
	char		 st[3];
	uint64_t	 s;
	int32_t		 dob;
	uint32_t	 zip3, h;

	if (r == NULL || dmv_state_norm(state, st) == -1 ||
	    index >= DMV_MAX_RECORDS)
		return -1;
	memset(r, 0, sizeof(*r));
	s = dmv_seed(st, index);

	dmv_gen_names(&s, r);
	dob = dmv_gen_dob(&s, r);

	snprintf(r->street, sizeof(r->street), "%u %s %s",
	    (unsigned)(1 + util_rand_below(&s, 9899)),
	    dmv_streets[util_rand_below(&s, NELEM(dmv_streets))],
	    dmv_suffixes[util_rand_below(&s, NELEM(dmv_suffixes))]);
	DMV_SET(r->city, dmv_cities[util_rand_below(&s, NELEM(dmv_cities))]);
	DMV_SET(r->state, st);
	/* A stable 3-digit ZIP prefix per state, random last two digits. */
	h = (uint32_t)(unsigned char)st[0] * 31u + (unsigned char)st[1];
	zip3 = 100 + (h * 2654435761u >> 8) % 890;
	snprintf(r->zip, sizeof(r->zip), "%03u%02u", (unsigned)zip3,
	    (unsigned)util_rand_below(&s, 100));

	dmv_gen_licence(&s, r, dob);

	r->photo_seed = (uint32_t)(util_rand_next(&s) >> 32);
	r->index = index;
	dmv_oln_fmt(st, index, r->oln, sizeof(r->oln));
	return 0;
}

/* Year, month, day of "YYYY-MM-DD"; -1 unless it is a real date. */
static int
dmv_parse_date(const char *s, int *y, int *m, int *d)
{
	int yy, mm, dd;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d", &yy, &mm, &dd) != 3 || mm < 1 ||
	    mm > 12 || dd < 1 || dd > 31)
		return -1;
	dmv_civil(dmv_days(yy, mm, dd), y, m, d);
	return *y == yy && *m == mm && *d == dd ? 0 : -1;
}

int
dmv_age(const char *dob)
{
	int	 by, bm, bd, ty, tm, td, age;

	if (dmv_parse_date(dob, &by, &bm, &bd) == -1 ||
	    dmv_parse_date(DMV_TODAY, &ty, &tm, &td) == -1)
		return -1;
	age = ty - by - (tm < bm || (tm == bm && td < bd));
	return age < 0 ? -1 : age;
}

int
dmv_oln(const char *state, uint32_t index, char *buf, size_t bufsz)
{
	char st[3];

	if (buf == NULL || bufsz < DMV_OLN_LEN + 1 ||
	    dmv_state_norm(state, st) == -1 || index >= DMV_MAX_RECORDS)
		return -1;
	dmv_oln_fmt(st, index, buf, bufsz);
	return 0;
}

int
dmv_find_oln(const char *state, uint32_t nrecords, const char *oln,
    struct dmv_record *r)
{
	char		 st[3], c;
	uint32_t	 index = 0;
	int		 i;

	if (oln == NULL || dmv_state_norm(state, st) == -1)
		return -1;
	if (strlen(oln) != DMV_OLN_LEN)
		return -1;
	c = oln[0];
	if (c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	if (c != st[0])
		return -1;
	for (i = 1; i < DMV_OLN_LEN; i++)
		if (oln[i] < '0' || oln[i] > '9')
			return -1;
	if (dmv_luhn(oln + 1, 7) != oln[8] - '0')
		return -1;
	for (i = 1; i < 8; i++)
		index = index * 10 + (uint32_t)(oln[i] - '0');
	if (index >= nrecords)
		return -1;
	if (r == NULL)
		return 0;
	return dmv_record(st, index, r);
}

/* NULL and "" are wildcards; otherwise a case-insensitive exact match. */
static int
dmv_field_is_match(const char *want, const char *have)
{
	return want == NULL || *want == '\0' || strcasecmp(want, have) == 0;
}

int
dmv_find_name(const char *state, uint32_t nrecords, const char *surname,
    const char *given, const char *dob, const char *sex,
    struct dmv_record *out, int max)
{
	struct dmv_record	 r;
	char			 st[3];
	uint64_t		 s;
	uint32_t		 i;
	int			 n = 0;

	if (dmv_state_norm(state, st) == -1 || surname == NULL ||
	    *surname == '\0' || max < 0 || (out == NULL && max > 0))
		return -1;
	if (nrecords > DMV_MAX_RECORDS)
		nrecords = DMV_MAX_RECORDS;
	for (i = 0; i < nrecords && n < max; i++) {
		/* Cheap reject on the leading name draws before the full row. */
		s = dmv_seed(st, i);
		dmv_gen_names(&s, &r);
		if (strcasecmp(surname, r.surname) != 0 ||
		    !dmv_field_is_match(given, r.given) ||
		    !dmv_field_is_match(sex, r.sex))
			continue;
		if (dob != NULL && *dob != '\0') {
			(void)dmv_gen_dob(&s, &r);
			if (strcmp(dob, r.dob) != 0)
				continue;
		}
		if (dmv_record(st, i, &out[n]) == -1)
			return -1;	/* not reached: st and i are valid */
		n++;
	}
	return n;
}
