/*
 * test_dmv - CUnit suite for adapters/dmv.c: determinism, field sanity,
 * OLN encode/decode and rejection, name search.
 */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dmv.h"

int	test_dmv_register(void);

/* Is s a real calendar date "YYYY-MM-DD" between lo and hi (inclusive)? */
static int
test_dmv_is_date(const char *s, const char *lo, const char *hi)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int	 y, m, d, n = 0, leap, i;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return 0;
	for (i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return 0;
	if (m < 1 || m > 12 || d < 1)
		return 0;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return 0;
	return strcmp(s, lo) >= 0 && strcmp(s, hi) <= 0;
}

static void
test_dmv_is_date_helper(void)
{
	static const struct {
		const char	*s;
		int		 ok;
	} t[] = {
		{ "1940-01-01", 1 }, { "2008-12-31", 1 }, { "2000-02-29", 1 },
		{ "1996-02-29", 1 }, { "1900-02-29", 0 }, { "2001-02-29", 0 },
		{ "1999-04-31", 0 }, { "1999-13-01", 0 }, { "1999-00-10", 0 },
		{ "1999-01-00", 0 }, { "1939-12-31", 0 }, { "2009-01-01", 0 },
		{ "1999-1-01", 0 }, { "1999/01/01", 0 }, { "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CU_ASSERT_EQUAL(test_dmv_is_date(t[i].s, "1940-01-01",
		    "2008-12-31"), t[i].ok);
}

static void
test_dmv_determinism(void)
{
	struct dmv_record	a, b;
	uint32_t		i;
	int			same = 0;

	CU_ASSERT_EQUAL_FATAL(dmv_record("NY", 12345, &a), 0);
	CU_ASSERT_EQUAL_FATAL(dmv_record("NY", 12345, &b), 0);
	CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
	/* The state code is case-insensitive. */
	CU_ASSERT_EQUAL_FATAL(dmv_record("ny", 12345, &b), 0);
	CU_ASSERT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
	CU_ASSERT_STRING_EQUAL(b.state, "NY");

	/* Same row of another state: a different person (N/NE share a letter). */
	for (i = 0; i < 200; i++) {
		CU_ASSERT_EQUAL_FATAL(dmv_record("NY", i, &a), 0);
		CU_ASSERT_EQUAL_FATAL(dmv_record("NE", i, &b), 0);
		if (strcmp(a.surname, b.surname) == 0 &&
		    strcmp(a.given, b.given) == 0 && strcmp(a.dob, b.dob) == 0)
			same++;
		CU_ASSERT_STRING_EQUAL(a.oln, b.oln);	/* format is per letter */
		CU_ASSERT_STRING_NOT_EQUAL(a.state, b.state);
	}
	CU_ASSERT_EQUAL(same, 0);

	/* Neighbouring rows differ. */
	CU_ASSERT_EQUAL_FATAL(dmv_record("CA", 0, &a), 0);
	CU_ASSERT_EQUAL_FATAL(dmv_record("CA", 1, &b), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(&a, &b, sizeof(a)), 0);
	CU_ASSERT_NOT_EQUAL(a.photo_seed, b.photo_seed);
}

static void
test_dmv_bad_args(void)
{
	struct dmv_record	r;
	char			buf[16];

	CU_ASSERT_EQUAL(dmv_record(NULL, 0, &r), -1);
	CU_ASSERT_EQUAL(dmv_record("", 0, &r), -1);
	CU_ASSERT_EQUAL(dmv_record("N", 0, &r), -1);
	CU_ASSERT_EQUAL(dmv_record("NYC", 0, &r), -1);
	CU_ASSERT_EQUAL(dmv_record("N1", 0, &r), -1);
	CU_ASSERT_EQUAL(dmv_record("NY", DMV_MAX_RECORDS, &r), -1);
	CU_ASSERT_EQUAL(dmv_record("NY", 0, NULL), -1);
	CU_ASSERT_EQUAL(dmv_record("NY", DMV_MAX_RECORDS - 1, &r), 0);
	CU_ASSERT_STRING_EQUAL(r.oln + 1, "99999997");
	CU_ASSERT_EQUAL(dmv_oln("NY", 0, buf, DMV_OLN_LEN), -1);
	CU_ASSERT_EQUAL(dmv_oln("NY", DMV_MAX_RECORDS, buf, sizeof(buf)), -1);
	CU_ASSERT_EQUAL(dmv_oln("N", 0, buf, sizeof(buf)), -1);
}

/* Every record's fields are well-formed and mutually consistent. */
static void
test_dmv_fields(void)
{
	struct dmv_record	r;
	char			oln[16], dob16[11];
	uint32_t		i;
	int			nvalid = 0, nexp = 0, nf = 0, y;

	for (i = 0; i < 3000; i++) {
		CU_ASSERT_EQUAL_FATAL(dmv_record("TX", i, &r), 0);
		CU_ASSERT_EQUAL(r.index, i);
		CU_ASSERT_EQUAL(strlen(r.oln), DMV_OLN_LEN);
		CU_ASSERT_EQUAL(dmv_oln("tx", i, oln, sizeof(oln)), 0);
		CU_ASSERT_STRING_EQUAL(oln, r.oln);
		CU_ASSERT(r.surname[0] != '\0' && r.given[0] != '\0');
		CU_ASSERT(strcmp(r.given, r.middle) != 0);
		CU_ASSERT(strcmp(r.sex, "M") == 0 || strcmp(r.sex, "F") == 0);
		nf += r.sex[0] == 'F';
		CU_ASSERT_STRING_EQUAL(r.state, "TX");
		CU_ASSERT(strlen(r.zip) == 5 &&
		    strspn(r.zip, "0123456789") == 5);
		CU_ASSERT(r.street[0] >= '1' && r.street[0] <= '9');
		CU_ASSERT(r.city[0] != '\0');
		CU_ASSERT(strcmp(r.lic_class, "C") == 0 ||
		    strcmp(r.lic_class, "CM") == 0 ||
		    strcmp(r.lic_class, "M") == 0 ||
		    strcmp(r.lic_class, "A") == 0 ||
		    strcmp(r.lic_class, "B") == 0);
		CU_ASSERT(test_dmv_is_date(r.issued, "2010-01-01", DMV_TODAY));
		CU_ASSERT(test_dmv_is_date(r.expires, "2018-01-01",
		    "2034-12-31"));
		CU_ASSERT(strcmp(r.issued, r.expires) < 0);
		/* Licensed at 16 or later; expires on a birthday. */
		y = (r.dob[0] - '0') * 1000 + (r.dob[1] - '0') * 100 +
		    (r.dob[2] - '0') * 10 + (r.dob[3] - '0');
		memcpy(dob16, r.dob, sizeof(dob16));
		y += 16;
		dob16[0] = (char)('0' + y / 1000);
		dob16[1] = (char)('0' + y / 100 % 10);
		dob16[2] = (char)('0' + y / 10 % 10);
		dob16[3] = (char)('0' + y % 10);
		CU_ASSERT(strcmp(r.issued, dob16) >= 0);
		if (strcmp(r.dob + 4, "-02-29") != 0)
			CU_ASSERT_STRING_EQUAL(r.expires + 4, r.dob + 4);
		if (strcmp(r.status, "EXPIRED") == 0) {
			nexp++;
			CU_ASSERT(strcmp(r.expires, DMV_TODAY) < 0);
		} else {
			CU_ASSERT(strcmp(r.expires, DMV_TODAY) > 0);
			CU_ASSERT(strcmp(r.status, "VALID") == 0 ||
			    strcmp(r.status, "SUSPENDED") == 0 ||
			    strcmp(r.status, "REVOKED") == 0);
			nvalid += strcmp(r.status, "VALID") == 0;
		}
	}
	/* Mostly VALID, some of everything else, both sexes. */
	CU_ASSERT(nvalid > 3000 * 80 / 100);
	CU_ASSERT(nexp > 0);
	CU_ASSERT(nf > 1200 && nf < 1800);
}

/* DOBs are real calendar dates inside the documented range, per state. */
static void
test_dmv_dob(void)
{
	static const struct {
		const char	*state;
		uint32_t	 first, count;
	} t[] = {
		{ "NY", 0, 2000 }, { "CA", 1000000, 2000 }, { "tx", 0, 500 },
		{ "FL", DMV_MAX_RECORDS - 1000, 1000 }, { "WA", 4242, 1 },
	};
	struct dmv_record	r;
	size_t			i;
	uint32_t		j;
	int			early = 0, late = 0;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		for (j = 0; j < t[i].count; j++) {
			CU_ASSERT_EQUAL_FATAL(dmv_record(t[i].state,
			    t[i].first + j, &r), 0);
			if (!test_dmv_is_date(r.dob, "1940-01-01",
			    "2008-12-31")) {
				CU_FAIL("bad dob");
				fprintf(stderr, "%s %u: dob %s\n", t[i].state,
				    (unsigned)(t[i].first + j), r.dob);
			}
			early += strncmp(r.dob, "1945", 4) < 0;
			late += strncmp(r.dob, "2004", 4) >= 0;
		}
	}
	/* The whole range is used. */
	CU_ASSERT(early > 0);
	CU_ASSERT(late > 0);
}

static void
test_dmv_oln_roundtrip(void)
{
	struct dmv_record	r, want;
	char			oln[16];
	uint32_t		i, idx;

	for (i = 0; i < 3000; i++) {
		/* Small rows, then a spread over the whole 7-digit range. */
		idx = i < 1500 ? i : (i * 2654435761u) % DMV_MAX_RECORDS;
		CU_ASSERT_EQUAL_FATAL(dmv_oln("NY", idx, oln, sizeof(oln)), 0);
		CU_ASSERT_EQUAL_FATAL(dmv_find_oln("NY", DMV_MAX_RECORDS, oln,
		    &r), 0);
		CU_ASSERT_EQUAL(r.index, idx);
		CU_ASSERT_EQUAL_FATAL(dmv_record("NY", idx, &want), 0);
		CU_ASSERT_EQUAL(memcmp(&r, &want, sizeof(r)), 0);
	}
	/* Documented examples; lower-case prefix accepted; r may be NULL. */
	CU_ASSERT_EQUAL(dmv_oln("NY", 0, oln, sizeof(oln)), 0);
	CU_ASSERT_STRING_EQUAL(oln, "N00000000");
	CU_ASSERT_EQUAL(dmv_oln("NY", 42, oln, sizeof(oln)), 0);
	CU_ASSERT_STRING_EQUAL(oln, "N00000422");
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 100, "n00000422", &r), 0);
	CU_ASSERT_EQUAL(r.index, 42);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 100, "N00000422", NULL), 0);
}

static void
test_dmv_oln_bad_check(void)
{
	struct dmv_record	r;
	char			oln[16], bad[16];
	uint32_t		idx;
	int			pos, d, rejected, tried;

	for (idx = 0; idx < 2000; idx += 37) {
		CU_ASSERT_EQUAL_FATAL(dmv_oln("NY", idx, oln, sizeof(oln)), 0);
		/* Every other check digit is refused. */
		for (d = 0; d < 10; d++) {
			if (d == oln[8] - '0')
				continue;
			memcpy(bad, oln, sizeof(bad));
			bad[8] = (char)('0' + d);
			CU_ASSERT_EQUAL(dmv_find_oln("NY", DMV_MAX_RECORDS, bad,
			    &r), -1);
		}
		/* Luhn catches every single-digit typo in the index. */
		rejected = tried = 0;
		for (pos = 1; pos < 8; pos++) {
			memcpy(bad, oln, sizeof(bad));
			bad[pos] = (char)('0' + (bad[pos] - '0' + 3) % 10);
			tried++;
			rejected += dmv_find_oln("NY", DMV_MAX_RECORDS, bad,
			    &r) == -1;
		}
		CU_ASSERT_EQUAL(rejected, tried);
	}
}

static void
test_dmv_oln_not_on_file(void)
{
	struct dmv_record	r;
	char			oln[16];

	/* index >= nrecords */
	CU_ASSERT_EQUAL_FATAL(dmv_oln("NY", 999, oln, sizeof(oln)), 0);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, oln, &r), 0);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 999, oln, &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 0, oln, &r), -1);
	CU_ASSERT_EQUAL_FATAL(dmv_oln("NY", 1000, oln, sizeof(oln)), 0);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, oln, &r), -1);
	/* Another state's letter. */
	CU_ASSERT_EQUAL_FATAL(dmv_oln("CA", 5, oln, sizeof(oln)), 0);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, oln, &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("CA", 1000, oln, &r), 0);
	/* Malformed. */
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, NULL, &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, "", &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, "N0000000", &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, "N000000000", &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, "N00000000 ", &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, "N0000A000", &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, "100000000", &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("N", 1000, "N00000000", &r), -1);
	CU_ASSERT_EQUAL(dmv_find_oln("NY", 1000, "N00000000", &r), 0);
}

static void
test_dmv_name(void)
{
	struct dmv_record	r0, out[8];
	char			sur[41], giv[41];
	size_t			i;
	int			n, k;

	CU_ASSERT_EQUAL_FATAL(dmv_record("NY", 0, &r0), 0);
	n = dmv_find_name("NY", 10000, r0.surname, r0.given, r0.dob, r0.sex,
	    out, 8);
	CU_ASSERT_FATAL(n >= 1);
	CU_ASSERT_EQUAL(out[0].index, 0);
	CU_ASSERT_EQUAL(memcmp(&out[0], &r0, sizeof(r0)), 0);
	for (k = 0; k < n; k++) {
		CU_ASSERT_STRING_EQUAL(out[k].surname, r0.surname);
		CU_ASSERT_STRING_EQUAL(out[k].dob, r0.dob);
	}

	/* Case-insensitive, for names and sex alike. */
	for (i = 0; r0.surname[i] != '\0'; i++)
		sur[i] = (char)(r0.surname[i] - 'A' + 'a');
	sur[i] = '\0';
	memcpy(giv, r0.given, sizeof(giv));
	giv[1] = (char)(giv[1] - 'A' + 'a');
	n = dmv_find_name("ny", 10000, sur, giv, r0.dob,
	    r0.sex[0] == 'M' ? "m" : "f", out, 8);
	CU_ASSERT_FATAL(n >= 1);
	CU_ASSERT_EQUAL(out[0].index, 0);

	/* Optional fields: NULL and "" are wildcards. */
	n = dmv_find_name("NY", 10000, r0.surname, r0.given, NULL, NULL, out,
	    8);
	CU_ASSERT(n >= 1 && out[0].index == 0);
	n = dmv_find_name("NY", 10000, r0.surname, r0.given, "", "", out, 8);
	CU_ASSERT(n >= 1 && out[0].index == 0);
	/* A common surname alone fills the output, in index order. */
	n = dmv_find_name("NY", 10000, r0.surname, NULL, NULL, NULL, out, 8);
	CU_ASSERT_EQUAL(n, 8);
	for (k = 1; k < n; k++)
		CU_ASSERT(out[k].index > out[k - 1].index);

	/* Not on file. */
	CU_ASSERT_EQUAL(dmv_find_name("NY", 10000, "ZZYZX", NULL, NULL, NULL,
	    out, 8), 0);
	CU_ASSERT_EQUAL(dmv_find_name("NY", 10000, r0.surname, r0.given,
	    "1939-01-01", NULL, out, 8), 0);
	n = dmv_find_name("NY", 10000, r0.surname, r0.given, r0.dob,
	    r0.sex[0] == 'M' ? "F" : "M", out, 8);
	for (k = 0; k < n; k++)
		CU_ASSERT_NOT_EQUAL(out[k].index, 0);
	CU_ASSERT_EQUAL(dmv_find_name("NY", 0, r0.surname, NULL, NULL, NULL,
	    out, 8), 0);
	CU_ASSERT_EQUAL(dmv_find_name("NY", 10000, r0.surname, NULL, NULL,
	    NULL, out, 0), 0);

	/* Bad arguments. */
	CU_ASSERT_EQUAL(dmv_find_name("NY", 10, "", NULL, NULL, NULL, out, 8),
	    -1);
	CU_ASSERT_EQUAL(dmv_find_name("NY", 10, NULL, NULL, NULL, NULL, out,
	    8), -1);
	CU_ASSERT_EQUAL(dmv_find_name("N", 10, "SMITH", NULL, NULL, NULL, out,
	    8), -1);
	CU_ASSERT_EQUAL(dmv_find_name("NY", 10, "SMITH", NULL, NULL, NULL,
	    NULL, 8), -1);
	CU_ASSERT_EQUAL(dmv_find_name("NY", 10, "SMITH", NULL, NULL, NULL, out,
	    -1), -1);
}

int
test_dmv_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("dmv", NULL, NULL)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_dmv_is_date_helper) == NULL ||
	    CU_ADD_TEST(s, test_dmv_determinism) == NULL ||
	    CU_ADD_TEST(s, test_dmv_bad_args) == NULL ||
	    CU_ADD_TEST(s, test_dmv_fields) == NULL ||
	    CU_ADD_TEST(s, test_dmv_dob) == NULL ||
	    CU_ADD_TEST(s, test_dmv_oln_roundtrip) == NULL ||
	    CU_ADD_TEST(s, test_dmv_oln_bad_check) == NULL ||
	    CU_ADD_TEST(s, test_dmv_oln_not_on_file) == NULL ||
	    CU_ADD_TEST(s, test_dmv_name) == NULL)
		return -1;
	return 0;
}
