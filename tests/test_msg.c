/*
 * test_msg - CUnit suite for switch/msg.c: fixtures (valid ones parse with
 * the right fields, invalid ones give the code named in their leading
 * "<!-- expect: NNN [maxlen: N] -->" comment), multi-error reporting, DOB
 * and destination tables, builders round-tripping through msg_parse, the
 * output header stamp, and the header-end scanner.
 *
 * Fixtures and schemas are found under $NLSWITCH_ROOT, else "." (the tests
 * run from the repository root).
 */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "msg.h"
#include "util.h"

#define TM_MAXLEN	(256 * 1024)

static struct msg_schema	*tm_schema;
static char			 tm_root[1024];

int	test_msg_register(void);

/* Path of a file under the repository root (static buffer). */
static const char *
tm_path(const char *rel)
{
	static char	 buf[2048];

	snprintf(buf, sizeof buf, "%s/%s", tm_root, rel);
	return buf;
}

static int
tm_init(void)
{
	const char	*r = getenv("NLSWITCH_ROOT");
	char		*cause = NULL;

	snprintf(tm_root, sizeof tm_root, "%s", r != NULL && *r ? r : ".");
	tm_schema = msg_schema_load(tm_path("schemas"), &cause);
	if (tm_schema == NULL) {
		fprintf(stderr, "test_msg: %s\n", cause);
		free(cause);
		return 1;
	}
	return 0;
}

static int
tm_cleanup(void)
{
	msg_schema_free(tm_schema);
	tm_schema = NULL;
	return 0;
}

/* Parse a NUL-terminated string. */
static int
tm_parse(const char *s, struct msg *m, struct msg_diags *d)
{
	return msg_parse(tm_schema, s, strlen(s), TM_MAXLEN, m, d);
}

/* Print the diags of an unexpected result, to make failures readable. */
static void
tm_dump(const char *what, const struct msg_diags *d)
{
	int	 i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "\n  %s: %d:%d %d %s: %s", what, d->d[i].line,
		    d->d[i].col, d->d[i].code, d->d[i].xpath, d->d[i].text);
}

/*
 * Valid fixtures: every file parses with 0; the table checks fields.
 */

struct tm_valid {
	const char	*file;
	enum msg_key	 key;
	const char	*ori;
	int		 ndest;
	const char	*dest0;
	const char	*ctl;
	const char	*surname;
	const char	*given;
	const char	*dob;
	const char	*sex;
	const char	*oln;
	int		 imq;
	const char	*rsn;
	int		 not_on_file;
	int		 nrecords;
	int		 has_photo;
	size_t		 photo_len;
	int		 status;
};

static const struct tm_valid tm_valid[] = {
	{ "dq-oln.xml", MSG_KEY_DQ, "WA0340000", 1, "CA", "T42", "", "", "",
	    "", "S1234567", 0, "TRAFFIC STOP", 0, 0, 0, 0, 0 },
	{ "dq-name.xml", MSG_KEY_DQ, "WA0340000", 2, "CA", "T43", "SAMPLE",
	    "ALEX", "1980-02-29", "F", "", 0, "", 0, 0, 0, 0, 0 },
	{ "dq-imq.xml", MSG_KEY_DQ, "WA0340000", 1, "CAOLN0000", "IMQ 1", "",
	    "", "", "", "S1234567", 1, "IDENTITY CHECK", 0, 0, 0, 0, 0 },
	{ "kq.xml", MSG_KEY_KQ, "WA0340000", 1, "OR", "K1", "", "", "", "",
	    "ORX0001", 0, "HISTORY <REVIEW>", 0, 0, 0, 0, 0 },
	{ "dnq.xml", MSG_KEY_DNQ, "WA0340000", 3, "CA", "", "SAMPLE", "ALEX",
	    "", "M", "", 0, "", 0, 0, 0, 0, 0 },
	{ "am.xml", MSG_KEY_AM, "WA0340000", 1, "ORPDX0000", "A1", "", "", "",
	    "", "", 0, "", 0, 0, 0, 0, 0 },
	{ "dr-photo.xml", MSG_KEY_DR, "CAOLN0000", 1, "WA0340000", "IMQ 1",
	    "SAMPLE", "ALEX", "1980-02-29", "F", "S1234567", 0, "", 0, 1, 1,
	    178, 0 },
	{ "dr-notonfile.xml", MSG_KEY_DR, "CAOLN0000", 1, "WA0340000", "T42",
	    "", "", "", "", "", 0, "", 1, 0, 0, 0, 0 },
	{ "kr.xml", MSG_KEY_KR, "ORDMV0000", 1, "WA0340000", "K1", "EXAMPLE",
	    "JORDAN", "1975-12-31", "M", "ORX0001", 0, "", 0, 1, 0, 0, 0 },
	{ "dnr.xml", MSG_KEY_DNR, "CAOLN0000", 1, "WA0340000", "", "SAMPLE",
	    "ALEX", "1980-02-29", "M", "S1234567", 0, "", 0, 3, 0, 0, 0 },
	{ "sm.xml", MSG_KEY_SM, MSG_SWITCH_ORI, 1, "WA0340000", "T42", "", "",
	    "", "", "", 0, "", 0, 0, 0, 0, MSG_SM_HELD },
	{ "er.xml", MSG_KEY_ER, MSG_SWITCH_ORI, 1, "WA0340000", "T42", "", "",
	    "", "", "", 0, "", 0, 0, 0, 0, MSG_ER_DOB },
};

static void
tm_check_valid(const struct tm_valid *v)
{
	struct msg_diags	 d;
	struct msg		 m;
	char			 rel[256], *buf;
	size_t			 len;
	int			 rc;

	snprintf(rel, sizeof rel, "fixtures/msg/valid/%s", v->file);
	buf = util_read_file(tm_path(rel), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	rc = msg_parse(tm_schema, buf, len, TM_MAXLEN, &m, &d);
	if (rc != 0) {
		fprintf(stderr, "\n  %s: code %d", v->file, rc);
		tm_dump(v->file, &d);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL(m.key, v->key);
	CU_ASSERT_STRING_EQUAL(m.ori, v->ori);
	CU_ASSERT_EQUAL(m.ndest, v->ndest);
	CU_ASSERT_STRING_EQUAL(m.dest[0], v->dest0);
	CU_ASSERT_STRING_EQUAL(m.ctl, v->ctl);
	CU_ASSERT_STRING_EQUAL(m.person.surname, v->surname);
	CU_ASSERT_STRING_EQUAL(m.person.given, v->given);
	CU_ASSERT_STRING_EQUAL(m.person.dob, v->dob);
	CU_ASSERT_STRING_EQUAL(m.person.sex, v->sex);
	CU_ASSERT_STRING_EQUAL(m.person.oln, v->oln);
	CU_ASSERT_EQUAL(m.imq, v->imq);
	CU_ASSERT_STRING_EQUAL(m.rsn, v->rsn);
	CU_ASSERT_EQUAL(m.not_on_file, v->not_on_file);
	CU_ASSERT_EQUAL(m.nrecords, v->nrecords);
	CU_ASSERT_EQUAL(m.has_photo, v->has_photo);
	CU_ASSERT_EQUAL(m.photo_len, v->photo_len);
	CU_ASSERT_EQUAL(m.status, v->status);
	CU_ASSERT(m.raw == buf && m.rawlen == len);
	CU_ASSERT(m.hdr_end > 0 && m.hdr_end < len);
	CU_ASSERT(strncmp(buf + m.hdr_end, "</NLETSMessageHeader>", 21) == 0);
	CU_ASSERT_EQUAL(msg_find_hdr_end(buf, len), m.hdr_end);
	free(buf);
}

static void
test_valid_fixtures(void)
{
	DIR		*dir;
	struct dirent	*de;
	size_t		 i, n;
	int		 seen = 0;

	for (i = 0; i < sizeof tm_valid / sizeof tm_valid[0]; i++)
		tm_check_valid(&tm_valid[i]);

	/* Every file in the directory is valid and in the table. */
	dir = opendir(tm_path("fixtures/msg/valid"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	while ((de = readdir(dir)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".xml") != 0)
			continue;
		seen++;
		for (i = 0; i < sizeof tm_valid / sizeof tm_valid[0]; i++)
			if (strcmp(tm_valid[i].file, de->d_name) == 0)
				break;
		if (i == sizeof tm_valid / sizeof tm_valid[0])
			fprintf(stderr, "\n  valid/%s has no table entry",
			    de->d_name);
		CU_ASSERT(i < sizeof tm_valid / sizeof tm_valid[0]);
	}
	closedir(dir);
	CU_ASSERT(seen >= 12);
}

/*
 * Invalid fixtures: each names its expected code.
 */

static void
test_invalid_fixtures(void)
{
	DIR		*dir;
	struct dirent	*de;
	struct msg_diags d;
	struct msg	 m;
	char		 rel[512], *buf, *p;
	size_t		 len, n, maxlen;
	int		 want, rc, files = 0, codes[200];

	memset(codes, 0, sizeof codes);
	dir = opendir(tm_path("fixtures/msg/invalid"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	while ((de = readdir(dir)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".xml") != 0)
			continue;
		snprintf(rel, sizeof rel, "fixtures/msg/invalid/%s",
		    de->d_name);
		buf = util_read_file(tm_path(rel), &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		files++;
		/* The expectation is in the first lines (an XML declaration
		 * has to come before it in one file). */
		p = strstr(buf, "<!-- expect: ");
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p == NULL || p - buf > 200) {
			fprintf(stderr, "\n  %s: no expect comment", rel);
			free(buf);
			continue;
		}
		want = atoi(p + 13);
		maxlen = TM_MAXLEN;
		p = strstr(p, "maxlen: ");
		if (p != NULL && p - buf < 200)
			maxlen = (size_t)atol(p + 8);
		rc = msg_parse(tm_schema, buf, len, maxlen, &m, &d);
		if (rc != want) {
			fprintf(stderr, "\n  %s: want %d got %d", de->d_name,
			    want, rc);
			tm_dump(de->d_name, &d);
		}
		CU_ASSERT_EQUAL(rc, want);
		CU_ASSERT(d.n >= 1);
		if (d.n >= 1)
			CU_ASSERT_EQUAL(d.d[0].code, rc);
		if (rc > 0 && rc < 200)
			codes[rc]++;
		free(buf);
	}
	closedir(dir);
	CU_ASSERT(files >= 9);
	/* One fixture at least per code the parser produces. */
	CU_ASSERT(codes[MSG_ER_HEADER] > 0);
	CU_ASSERT(codes[MSG_ER_MALFORMED] > 0);
	CU_ASSERT(codes[MSG_ER_DOB] > 0);
	CU_ASSERT(codes[MSG_ER_REQUIRED] > 0);
	CU_ASSERT(codes[MSG_ER_DEST] > 0);
	CU_ASSERT(codes[MSG_ER_FORMAT] > 0);
	CU_ASSERT(codes[MSG_ER_TOO_LARGE] > 0);
}

/* One file, several distinct errors: all reported, with lines and xpaths. */
static void
test_multi_error(void)
{
	struct msg_diags	 d;
	struct msg		 m;
	char			*buf;
	size_t			 len;
	int			 i, rc, seen[200];

	buf = util_read_file(tm_path("fixtures/msg/invalid/multi-error.xml"),
	    &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	rc = msg_parse(tm_schema, buf, len, TM_MAXLEN, &m, &d);
	CU_ASSERT_EQUAL(rc, MSG_ER_HEADER);
	CU_ASSERT(d.n >= 4);
	memset(seen, 0, sizeof seen);
	for (i = 0; i < d.n; i++) {
		CU_ASSERT(d.d[i].line > 0);
		CU_ASSERT(d.d[i].xpath[0] == '/');
		CU_ASSERT(d.d[i].text[0] != '\0');
		if (i > 0)
			CU_ASSERT(d.d[i].line >= d.d[i - 1].line);
		if (d.d[i].code > 0 && d.d[i].code < 200)
			seen[d.d[i].code]++;
		if (d.d[i].code == MSG_ER_HEADER) {
			CU_ASSERT_EQUAL(d.d[i].line, 5);
			CU_ASSERT_STRING_EQUAL(d.d[i].xpath,
			    "/NLETS/NLETSMessageHeader/OriginatingORIID");
		}
		if (d.d[i].code == MSG_ER_DOB) {
			CU_ASSERT_EQUAL(d.d[i].line, 13);
			CU_ASSERT_STRING_EQUAL(d.d[i].xpath, "/NLETS/"
			    "NLETSInquiryData/DriverQuery/PersonBirthDate");
		}
	}
	/* Bad ORI, bad destination, bad DOB, missing given name; once each. */
	CU_ASSERT_EQUAL(seen[MSG_ER_HEADER], 1);
	CU_ASSERT_EQUAL(seen[MSG_ER_DEST], 1);
	CU_ASSERT_EQUAL(seen[MSG_ER_DOB], 1);
	CU_ASSERT_EQUAL(seen[MSG_ER_REQUIRED], 1);
	/* Still parsed as far as possible. */
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DQ);
	CU_ASSERT_STRING_EQUAL(m.person.surname, "SAMPLE");
	free(buf);
}

/*
 * Builders and tables.
 */

/* A DQ by name with the given DOB (NULL: none), built with the builders. */
static void
tm_build_dq(struct ubuf *b, const char *dob, const char *const *dests,
    int ndest)
{
	struct msg_person	 p;
	static const char *const ca[] = { "CA" };

	memset(&p, 0, sizeof p);
	strcpy(p.surname, "SAMPLE");
	strcpy(p.given, "ALEX");
	strcpy(p.sex, "M");
	if (dob != NULL)
		util_strlcpy(p.dob, dob, sizeof p.dob);
	msg_begin(b, MSG_KEY_DQ, "WA0340000", dests != NULL ? dests : ca,
	    dests != NULL ? ndest : 1, "T1");
	msg_add_person(b, &p);
	msg_end(b, MSG_KEY_DQ);
}

static void
test_dob_table(void)
{
	static const struct {
		const char	*dob;
		int		 want;
	} t[] = {
		{ "1980-02-29", 0 },		/* leap year */
		{ "2000-02-29", 0 },		/* divisible by 400 */
		{ "1900-02-29", MSG_ER_DOB },	/* divisible by 100 only */
		{ "1981-02-29", MSG_ER_DOB },
		{ "1981-02-28", 0 },
		{ "1980-04-31", MSG_ER_DOB },
		{ "1980-12-31", 0 },
		{ "1980-00-10", MSG_ER_DOB },
		{ "1980-13-10", MSG_ER_DOB },
		{ "1980-01-00", MSG_ER_DOB },
		{ "1980-01-32", MSG_ER_DOB },
		{ "1799-12-31", MSG_ER_DOB },
		{ "2999-01-01", MSG_ER_DOB },	/* future */
		{ "80-01-01", MSG_ER_DOB },	/* malformed */
		{ "1980-1-01", MSG_ER_DOB },
		{ "1980/01/01", MSG_ER_DOB },
		{ "19800101", MSG_ER_DOB },
		{ "abcd-ef-gh", MSG_ER_DOB },
		{ "", MSG_ER_DOB },		/* no DOB in a name query */
		{ NULL, 0 }
	};
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	struct tm		 tm;
	time_t			 now = time(NULL);
	char			 today[16], tomorrow[16];
	int			 i, rc;

	ubuf_init(&b);
	for (i = 0; t[i].dob != NULL; i++) {
		ubuf_reset(&b);
		tm_build_dq(&b, t[i].dob, NULL, 0);
		rc = tm_parse(b.data, &m, &d);
		if (rc != t[i].want) {
			fprintf(stderr, "\n  DOB \"%s\": want %d got %d",
			    t[i].dob, t[i].want, rc);
			tm_dump("dob", &d);
		}
		CU_ASSERT_EQUAL(rc, t[i].want);
	}

	/* Today is fine, tomorrow is in the future (both UTC). */
	gmtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	now += 86400;
	gmtime_r(&now, &tm);
	strftime(tomorrow, sizeof tomorrow, "%Y-%m-%d", &tm);
	ubuf_reset(&b);
	tm_build_dq(&b, today, NULL, 0);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	ubuf_reset(&b);
	tm_build_dq(&b, tomorrow, NULL, 0);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), MSG_ER_DOB);
	ubuf_free(&b);
}

static void
test_dest_table(void)
{
	static const struct {
		const char	*dest;
		int		 want;
	} t[] = {
		{ "CA", 0 },
		{ "NL", 0 },
		{ "CAOLN0000", 0 },
		{ "WA0340000", 0 },
		{ "C", MSG_ER_DEST },
		{ "ca", MSG_ER_DEST },
		{ "CA1", MSG_ER_DEST },
		{ "C1", MSG_ER_DEST },
		{ "12", MSG_ER_DEST },
		{ "CAOLN000", MSG_ER_DEST },
		{ "CAOLN00000", MSG_ER_DEST },
		{ "CA OLN000", MSG_ER_DEST },
		{ "caoln0000", MSG_ER_DEST },
		{ "", MSG_ER_DEST },
		{ NULL, 0 }
	};
	static const char *const five[] = { "CA", "OR", "ID", "NV",
	    "AZ0000000", "UT" };
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	int			 i, rc;

	ubuf_init(&b);
	for (i = 0; t[i].dest != NULL; i++) {
		ubuf_reset(&b);
		tm_build_dq(&b, "1980-01-01", &t[i].dest, 1);
		rc = tm_parse(b.data, &m, &d);
		if (rc != t[i].want) {
			fprintf(stderr, "\n  dest \"%s\": want %d got %d",
			    t[i].dest, t[i].want, rc);
			tm_dump("dest", &d);
		}
		CU_ASSERT_EQUAL(rc, t[i].want);
		CU_ASSERT_EQUAL(msg_dest_is_valid(t[i].dest), t[i].want == 0);
	}
	ubuf_reset(&b);
	tm_build_dq(&b, "1980-01-01", five, 5);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(m.ndest, 5);
	CU_ASSERT_STRING_EQUAL(m.dest[4], "AZ0000000");
	ubuf_reset(&b);
	tm_build_dq(&b, "1980-01-01", five, 6);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), MSG_ER_DEST);
	CU_ASSERT_EQUAL(m.ndest, 5);
	ubuf_free(&b);
}

static void
test_tables(void)
{
	static const struct {
		const char	*ori;
		int		 valid;
	} ori[] = {
		{ "WA0340000", 1 }, { "CAOLN0000", 1 }, { "NL0000000", 1 },
		{ "WA034000", 0 }, { "WA03400000", 0 }, { "wa0340000", 0 },
		{ "1A0340000", 0 }, { "WA034000a", 0 }, { "WA 340000", 0 },
		{ "", 0 }, { NULL, 0 }
	};
	int	 k, i;

	for (k = MSG_KEY_NONE + 1; k < MSG_KEY_MAX; k++) {
		CU_ASSERT_PTR_NOT_NULL(msg_key_name((enum msg_key)k));
		CU_ASSERT_EQUAL(msg_key_lookup(msg_key_name((enum msg_key)k)),
		    k);
	}
	CU_ASSERT_PTR_NULL(msg_key_name(MSG_KEY_NONE));
	CU_ASSERT_PTR_NULL(msg_key_name(MSG_KEY_MAX));
	CU_ASSERT_STRING_EQUAL(msg_key_name(MSG_KEY_DNQ), "DNQ");
	CU_ASSERT_EQUAL(msg_key_lookup("XQ"), MSG_KEY_NONE);
	CU_ASSERT_EQUAL(msg_key_lookup("dq"), MSG_KEY_NONE);
	CU_ASSERT_EQUAL(msg_key_lookup(NULL), MSG_KEY_NONE);
	CU_ASSERT(msg_key_is_response(MSG_KEY_DR));
	CU_ASSERT(msg_key_is_response(MSG_KEY_KR));
	CU_ASSERT(msg_key_is_response(MSG_KEY_DNR));
	CU_ASSERT(!msg_key_is_response(MSG_KEY_DQ));
	CU_ASSERT(!msg_key_is_response(MSG_KEY_SM));
	CU_ASSERT(!msg_key_is_response(MSG_KEY_ER));

	CU_ASSERT_STRING_EQUAL(msg_er_reason(101), "invalid header");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(102),
	    "message type not allowed to destination");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(103),
	    "TXT missing or malformed XML");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(104), "invalid or missing DOB");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(105), "required fields missing");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(106), "invalid destination ORI");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(107), "invalid message format");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(108),
	    "originating ORI not authorized for this line");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(109), "message too large");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(110), "queue full");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(111),
	    "switch not accepting messages");
	CU_ASSERT_STRING_EQUAL(msg_er_reason(120),
	    "denied by photo-sharing policy");
	CU_ASSERT_PTR_NOT_NULL(msg_er_reason(0));
	CU_ASSERT_STRING_EQUAL(msg_sm_text(MSG_SM_HELD),
	    "destination out of service, message held");
	CU_ASSERT_PTR_NOT_NULL(msg_sm_text(MSG_SM_NOT_ACCEPTED));
	CU_ASSERT_PTR_NOT_NULL(msg_sm_text(MSG_SM_REMOVED));
	CU_ASSERT_PTR_NOT_NULL(msg_sm_text(MSG_SM_EXPIRED));
	CU_ASSERT_PTR_NOT_NULL(msg_sm_text(77));

	for (i = 0; ori[i].ori != NULL; i++)
		CU_ASSERT_EQUAL(msg_ori_is_valid(ori[i].ori), ori[i].valid);
	CU_ASSERT_EQUAL(msg_ori_is_valid(NULL), 0);
}

/* Text of the first <name> element in s (static buffer). */
static const char *
tm_elem(const char *s, const char *name)
{
	static char	 buf[2048];
	char		 open[64], close[64];
	const char	*a, *e;

	snprintf(open, sizeof open, "<%s>", name);
	snprintf(close, sizeof close, "</%s>", name);
	buf[0] = '\0';
	if ((a = strstr(s, open)) == NULL ||
	    (e = strstr(a, close)) == NULL)
		return NULL;
	a += strlen(open);
	snprintf(buf, sizeof buf, "%.*s", (int)(e - a), a);
	return buf;
}

static void
test_build_query(void)
{
	struct msg_person	 p;
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	static const char *const dests[] = { "CA", "ORDMV0000" };

	memset(&p, 0, sizeof p);
	strcpy(p.surname, "O'SAMPLE");
	strcpy(p.given, "ALEX");
	strcpy(p.middle, "J");
	strcpy(p.dob, "1980-02-29");
	strcpy(p.sex, "F");
	ubuf_init(&b);
	msg_begin(&b, MSG_KEY_DQ, "WA0340000", dests, 2, "<&>\"'");
	msg_add_person(&b, &p);
	msg_add_text(&b, "ImageRequestIndicator", "Y");
	msg_add_text(&b, "ReasonText", "A & B <C>");
	msg_add_text(&b, "AttentionText", NULL);	/* left out */
	msg_end(&b, MSG_KEY_DQ);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	tm_dump("build dq", &d);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DQ);
	CU_ASSERT_STRING_EQUAL(m.ctl, "<&>\"'");
	CU_ASSERT_EQUAL(m.ndest, 2);
	CU_ASSERT_STRING_EQUAL(m.dest[1], "ORDMV0000");
	CU_ASSERT_STRING_EQUAL(m.person.surname, "O'SAMPLE");
	CU_ASSERT_STRING_EQUAL(m.person.middle, "J");
	CU_ASSERT_STRING_EQUAL(m.rsn, "A & B <C>");
	CU_ASSERT_EQUAL(m.imq, 1);
	CU_ASSERT_PTR_NULL(strstr(b.data, "AttentionText"));
	CU_ASSERT(strncmp(b.data + m.hdr_end, "</NLETSMessageHeader>", 21) ==
	    0);

	/* Each key's body opens and closes; DNQ by name and AM. */
	memset(&p, 0, sizeof p);
	strcpy(p.surname, "SAMPLE");
	strcpy(p.given, "ALEX");
	ubuf_reset(&b);
	msg_begin(&b, MSG_KEY_DNQ, "WA0340000", dests, 1, NULL);
	msg_add_person(&b, &p);
	msg_end(&b, MSG_KEY_DNQ);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DNQ);
	CU_ASSERT_STRING_EQUAL(m.ctl, "");
	ubuf_reset(&b);
	msg_begin(&b, MSG_KEY_AM, "WA0340000", dests, 1, "A");
	msg_add_text(&b, "MessageText", "HELLO \xc3\xa9 \xff WORLD");
	msg_end(&b, MSG_KEY_AM);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "MessageText"),
	    "HELLO \xc3\xa9 ? WORLD");
	ubuf_free(&b);
}

static void
test_build_er(void)
{
	static const struct {
		const char	*ori;
		const char	*ctl;
		int		 code;
		const char	*detail;
		const char	*input;
		size_t		 inlen;
		const char	*want_dest;
		const char	*want_ctl;
	} t[] = {
		{ "WA0340000", "T42", MSG_ER_DOB, "birth date: no such day",
		    "<NLETS version=\"1.0\"><x/></NLETS>", 0, "WA0340000",
		    "T42" },
		{ "WA0340000", NULL, MSG_ER_MALFORMED, NULL, "", 0,
		    "WA0340000", "" },
		{ "CA", "\x01T\x7f" "42", MSG_ER_FORMAT, "ctl with junk", "a",
		    1, "CA", "T42" },
		{ "", "", MSG_ER_MALFORMED, "no ORI", "garbage \x01\x02\x1b",
		    0, MSG_SWITCH_ORI, "" },
		{ NULL, "CONTROL-FIELD-LONG", MSG_ER_TOO_LARGE, NULL, NULL, 0,
		    MSG_SWITCH_ORI, "CONTROL-FI" },
		{ "bad<ori>", "T", MSG_ER_POLICY, "denied: no purpose",
		    "\xff\xfe<\0N\0", 6, MSG_SWITCH_ORI, "T" },
		{ NULL, NULL, 0, NULL, NULL, 0, NULL, NULL }
	};
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	char			 in[256];
	size_t			 inlen;
	const char		*q;
	int			 i, rc;

	ubuf_init(&b);
	for (i = 0; t[i].code != 0; i++) {
		ubuf_reset(&b);
		inlen = t[i].inlen != 0 ? t[i].inlen :
		    t[i].input != NULL ? strlen(t[i].input) : 0;
		msg_build_er(&b, t[i].ori, t[i].ctl, t[i].code, t[i].detail,
		    t[i].input, inlen);
		rc = tm_parse(b.data, &m, &d);
		if (rc != 0) {
			fprintf(stderr, "\n  ER %d: %s", i, b.data);
			tm_dump("er", &d);
		}
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(m.key, MSG_KEY_ER);
		CU_ASSERT_EQUAL(m.status, t[i].code);
		CU_ASSERT_STRING_EQUAL(m.ori, MSG_SWITCH_ORI);
		CU_ASSERT_STRING_EQUAL(m.dest[0], t[i].want_dest);
		CU_ASSERT_STRING_EQUAL(m.ctl, t[i].want_ctl);
		CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "ErrorReasonText"),
		    msg_er_reason(t[i].code));
	}

	/* Quote = first MSG_ER_INPUT_LEN bytes, never half a character. */
	memset(in, 'A', sizeof in);
	memcpy(in + MSG_ER_INPUT_LEN - 1, "\xc3\xa9", 2);	/* cut here */
	ubuf_reset(&b);
	msg_build_er(&b, "WA0340000", "T", MSG_ER_FORMAT, NULL, in,
	    sizeof in);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	q = tm_elem(b.data, "OffendingInputText");
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	CU_ASSERT_EQUAL(strlen(q), MSG_ER_INPUT_LEN - 1);
	CU_ASSERT_EQUAL(strspn(q, "A"), MSG_ER_INPUT_LEN - 1);

	/* A 3-byte character across the cut, and one that fits. */
	memset(in, 'B', sizeof in);
	memcpy(in + MSG_ER_INPUT_LEN - 2, "\xe2\x82\xac", 3);
	ubuf_reset(&b);
	msg_build_er(&b, "WA0340000", "T", MSG_ER_FORMAT, NULL, in,
	    sizeof in);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(strlen(tm_elem(b.data, "OffendingInputText")),
	    MSG_ER_INPUT_LEN - 2);
	memset(in, 'C', sizeof in);
	memcpy(in + MSG_ER_INPUT_LEN - 3, "\xe2\x82\xac", 3);
	ubuf_reset(&b);
	msg_build_er(&b, "WA0340000", "T", MSG_ER_FORMAT, NULL, in,
	    sizeof in);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(strlen(tm_elem(b.data, "OffendingInputText")),
	    MSG_ER_INPUT_LEN);

	/* Control characters, surrogates, U+FFFF and markup in the quote. */
	snprintf(in, sizeof in, "<a>&\x01\x08\x0b\x1f\t%s%s%s</a>",
	    "\xed\xa0\x80", "\xef\xbf\xbf", "\xc0\xaf");
	ubuf_reset(&b);
	msg_build_er(&b, "WA0340000", "T", MSG_ER_FORMAT, "detail \x02 <x>",
	    in, strlen(in));
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	tm_dump("er ctl", &d);

	/* A long detail is cut to fit the schema. */
	{
		char	 det[3000];

		memset(det, 'D', sizeof det - 1);
		det[sizeof det - 1] = '\0';
		ubuf_reset(&b);
		msg_build_er(&b, "WA0340000", "T", MSG_ER_FORMAT, det, "x", 1);
		CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	}
	ubuf_free(&b);
}

static void
test_build_er_from_parse(void)
{
	static const char *const inputs[] = {
		"", "not xml at all", "<NLETS version=\"1.0\">",
		"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
		"\xc3\x28\xa0\xa1 <x/>", NULL
	};
	struct msg_diags	 d;
	struct msg		 m, m2;
	struct ubuf		 b;
	int			 i, rc;

	/* The session's path: parse fails, answer with an ER built from
	 * whatever was parsed and the first diagnostic. */
	ubuf_init(&b);
	for (i = 0; inputs[i] != NULL; i++) {
		rc = tm_parse(inputs[i], &m, &d);
		CU_ASSERT(rc != 0);
		CU_ASSERT(d.n >= 1);
		ubuf_reset(&b);
		msg_build_er(&b, m.ori, m.ctl, rc, d.n > 0 ? d.d[0].text :
		    NULL, inputs[i], strlen(inputs[i]));
		CU_ASSERT_EQUAL(tm_parse(b.data, &m2, &d), 0);
		CU_ASSERT_EQUAL(m2.status, rc);
	}
	ubuf_free(&b);
}

static void
test_build_sm(void)
{
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	static const int	 st[] = { MSG_SM_NOT_ACCEPTED, MSG_SM_HELD,
	    MSG_SM_REMOVED, MSG_SM_EXPIRED };
	size_t			 i;

	ubuf_init(&b);
	for (i = 0; i < sizeof st / sizeof st[0]; i++) {
		ubuf_reset(&b);
		msg_build_sm(&b, "WA0340000", "T42", st[i], "CA", MSG_KEY_DQ,
		    "000000000000002a.0");
		CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
		tm_dump("sm", &d);
		CU_ASSERT_EQUAL(m.key, MSG_KEY_SM);
		CU_ASSERT_EQUAL(m.status, st[i]);
		CU_ASSERT_STRING_EQUAL(m.ctl, "T42");
		CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "StatusText"),
		    msg_sm_text(st[i]));
		CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "ReferenceMessageID"),
		    "000000000000002a.0");
		CU_ASSERT_STRING_EQUAL(tm_elem(b.data,
		    "AboutMessageKeyCodeText"), "DQ");
	}
	/* Optional parts left out, junk filtered. */
	ubuf_reset(&b);
	msg_build_sm(&b, "CAOLN0000", NULL, MSG_SM_REMOVED, "bad dest",
	    MSG_KEY_NONE, "id with spaces");
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	tm_dump("sm2", &d);
	CU_ASSERT_PTR_NULL(strstr(b.data, "AboutDestinationORIID"));
	CU_ASSERT_PTR_NULL(strstr(b.data, "AboutMessageKeyCodeText"));
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "ReferenceMessageID"),
	    "idwithspaces");
	ubuf_free(&b);
}

/*
 * Stamping.
 */

static void
tm_check_stamp(const char *raw, size_t len)
{
	struct msg_stamp	 st;
	struct msg_diags	 d;
	struct msg		 m, m2;
	struct ubuf		 b;
	int			 rc;

	rc = msg_parse(tm_schema, raw, len, TM_MAXLEN, &m, &d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	memset(&st, 0, sizeof st);
	st.msgid = "000000000000002a.0";
	st.recv_us = 1709251199ULL * 1000000 + 999999;	/* 2024-02-29 23:59:59 */
	st.in_seq = 7;
	st.send_us = 1709251200ULL * 1000000;		/* 2024-03-01 00:00:00 */
	st.out_seq = 18446744073709551615ULL;
	st.recv_ori = "CAOLN0000";
	ubuf_init(&b);
	msg_stamp(&b, raw, len, m.hdr_end, &st);

	/* Valid for the schema and for an endpoint; refused from a sender. */
	rc = msg_parse_flags(tm_schema, b.data, b.len, TM_MAXLEN,
	    MSG_PARSE_STAMPED, &m2, &d);
	if (rc != 0) {
		fprintf(stderr, "\n%s", b.data);
		tm_dump("stamp", &d);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(m2.key, m.key);
	CU_ASSERT_STRING_EQUAL(m2.ori, m.ori);
	CU_ASSERT_EQUAL(msg_parse(tm_schema, b.data, b.len, TM_MAXLEN, &m2,
	    &d), MSG_ER_HEADER);

	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "SwitchMessageID"),
	    "000000000000002a.0");
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "NLETSReceiveDate"),
	    "2024-02-29");
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "NLETSReceiveTime"), "23:59:59");
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "NLETSInputSequenceNumeric"),
	    "7");
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "NLETSSendDate"), "2024-03-01");
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "NLETSSendTime"), "00:00:00");
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "NLETSOutputSequenceNumeric"),
	    "18446744073709551615");
	CU_ASSERT_STRING_EQUAL(tm_elem(b.data, "ReceivingORIID"), "CAOLN0000");
	/* Everything else is unchanged. */
	CU_ASSERT(memcmp(b.data, raw, m.hdr_end) == 0);
	CU_ASSERT(memcmp(b.data + b.len - (len - m.hdr_end), raw + m.hdr_end,
	    len - m.hdr_end) == 0);
	CU_ASSERT_EQUAL(msg_find_hdr_end(b.data, b.len),
	    b.len - (len - m.hdr_end));

	/* Without the optional parts. */
	st.msgid = NULL;
	st.recv_ori = NULL;
	ubuf_reset(&b);
	msg_stamp(&b, raw, len, m.hdr_end, &st);
	CU_ASSERT_EQUAL(msg_parse_flags(tm_schema, b.data, b.len, TM_MAXLEN,
	    MSG_PARSE_STAMPED, &m2, &d), 0);
	CU_ASSERT_PTR_NULL(strstr(b.data, "SwitchMessageID"));
	ubuf_free(&b);
}

static void
test_stamp(void)
{
	static const char *const files[] = {
		"fixtures/msg/valid/dq-oln.xml",
		"fixtures/msg/valid/dr-photo.xml",
		"fixtures/msg/valid/sm.xml", NULL
	};
	static const char compact[] = "<NLETS version=\"1.0\">"
	    "<NLETSMessageHeader><MessageKeyCodeText>DQ</MessageKeyCodeText>"
	    "<OriginatingORIID>WA0340000</OriginatingORIID>"
	    "<DestinationORIID>CA</DestinationORIID></NLETSMessageHeader>"
	    "<NLETSInquiryData><DriverQuery><DriverLicenseID>X1"
	    "</DriverLicenseID></DriverQuery></NLETSInquiryData></NLETS>";
	struct ubuf	 b;
	char		*buf;
	size_t		 len;
	int		 i;

	for (i = 0; files[i] != NULL; i++) {
		buf = util_read_file(tm_path(files[i]), &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		tm_check_stamp(buf, len);
		free(buf);
	}
	tm_check_stamp(compact, sizeof compact - 1);
	ubuf_init(&b);
	msg_build_er(&b, "WA0340000", "T42", MSG_ER_DEST, NULL, "x", 1);
	tm_check_stamp(b.data, b.len);
	ubuf_free(&b);
}

/*
 * Header end scanner. '|' marks the expected offset (and is removed).
 */
static void
test_hdr_end(void)
{
	static const char *const t[] = {
		"<NLETS><NLETSMessageHeader><A/>|</NLETSMessageHeader></NLETS>",
		"<NLETS><NLETSMessageHeader><!-- </NLETSMessageHeader> -->"
		    "|</NLETSMessageHeader></NLETS>",
		"<NLETS><NLETSMessageHeader><![CDATA[</NLETSMessageHeader>]]>"
		    "|</NLETSMessageHeader></NLETS>",
		"<?pi </NLETSMessageHeader> ?><NLETS><NLETSMessageHeader>"
		    "|</NLETSMessageHeader></NLETS>",
		"<n:NLETS xmlns:n=\"urn:x\"><n:NLETSMessageHeader>"
		    "|</n:NLETSMessageHeader></n:NLETS>",
		"<NLETS><NLETSMessageHeader>|</NLETSMessageHeader \n\t></NLETS>",
		"<NLETS><NLETSMessageHeader></NLETSMessageHeaderX>"
		    "</NLETSMessageHeade>|</NLETSMessageHeader></NLETS>",
		"<!-- <!-- --><NLETS><NLETSMessageHeader>-->"
		    "|</NLETSMessageHeader></NLETS>",
		"<!-- </NLETSMessageHeader>",		/* unterminated */
		"<![CDATA[</NLETSMessageHeader>",
		"<?pi </NLETSMessageHeader>",
		"<NLETS><NLETSMessageHeader></NLETSMessageHeader",
		"<NLETS></NLETS>",
		"",
		"</",
		NULL
	};
	char	 buf[512], *bar;
	size_t	 want, got, len;
	int	 i;

	for (i = 0; t[i] != NULL; i++) {
		snprintf(buf, sizeof buf, "%s", t[i]);
		if ((bar = strchr(buf, '|')) != NULL) {
			want = (size_t)(bar - buf);
			memmove(bar, bar + 1, strlen(bar));
		} else
			want = (size_t)-1;
		len = strlen(buf);
		got = msg_find_hdr_end(buf, len);
		if (got != want)
			fprintf(stderr, "\n  hdr_end #%d: want %zd got %zd", i,
			    (ssize_t)want, (ssize_t)got);
		CU_ASSERT_EQUAL(got, want);
	}
	CU_ASSERT_EQUAL(msg_find_hdr_end(NULL, 0), (size_t)-1);
}

/*
 * Byte-level refusals and limits.
 */
static void
test_prescan(void)
{
	static const struct {
		const char	*in;
		size_t		 len;		/* 0: strlen */
		size_t		 maxlen;
		int		 want;
	} t[] = {
		{ "", 0, TM_MAXLEN, MSG_ER_MALFORMED },
		{ " \n\t ", 0, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "\xef\xbb\xbf", 0, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "<NLETS/>\0", 9, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "\xff\xfe<\0N\0", 6, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "DQ.WA0340000.CA.OLN/X1.", 0, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "<NLETS version=\"1.0\"/>", 0, 10, MSG_ER_TOO_LARGE },
		{ "<!DOCTYPE NLETS><NLETS/>", 0, TM_MAXLEN, MSG_ER_FORMAT },
		{ "<NLETS><!DOCTYPE x></NLETS>", 0, TM_MAXLEN, MSG_ER_FORMAT },
		{ "<?xml version=\"1.0\" encoding=\"UTF-16\"?><NLETS/>", 0,
		    TM_MAXLEN, MSG_ER_FORMAT },
		{ "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-!DOCTYPE"
		    " x+AD4-<NLETS/>", 0, TM_MAXLEN, MSG_ER_FORMAT },
		{ "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><NLETS "
		    "version=\"1.0\">\xe9</NLETS>", 0, TM_MAXLEN,
		    MSG_ER_FORMAT },
		{ "\x4c\x6f\xa7\x94\x89\x94\x93", 0, TM_MAXLEN,
		    MSG_ER_MALFORMED },			/* EBCDIC "<?xml" */
		{ "\xef\xbb\xbf<NLETS version=\"1.0\">\xe9</NLETS>", 0,
		    TM_MAXLEN, MSG_ER_MALFORMED },	/* not UTF-8 */
		{ "<?xml version='1.0' encoding='utf-8'?><NLETS version="
		    "\"1.0\"/>", 0, TM_MAXLEN, MSG_ER_HEADER },
		{ "<NLETS version=\"1.0\">\xc3\x28</NLETS>", 0, TM_MAXLEN,
		    MSG_ER_MALFORMED },
		{ "<a:NLETS version=\"1.0\"/>", 0, TM_MAXLEN, MSG_ER_MALFORMED },
		{ NULL, 0, 0, 0 }
	};
	struct msg_diags	 d;
	struct msg		 m;
	int			 i, rc;

	for (i = 0; t[i].in != NULL; i++) {
		rc = msg_parse(tm_schema, t[i].in, t[i].len ? t[i].len :
		    strlen(t[i].in), t[i].maxlen, &m, &d);
		if (rc != t[i].want) {
			fprintf(stderr, "\n  prescan #%d: want %d got %d", i,
			    t[i].want, rc);
			tm_dump("prescan", &d);
		}
		CU_ASSERT_EQUAL(rc, t[i].want);
		CU_ASSERT(d.n >= 1);
	}
	/* NULL diags: same answer. */
	CU_ASSERT_EQUAL(msg_parse(tm_schema, "", 0, TM_MAXLEN, &m, NULL),
	    MSG_ER_MALFORMED);
	CU_ASSERT_EQUAL(msg_parse(tm_schema, "x", 1, 0, &m, NULL),
	    MSG_ER_MALFORMED);
}

/* Many errors: MSG_MAXDIAG kept, the rest counted. */
static void
test_many_errors(void)
{
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	int			 i;

	ubuf_init(&b);
	msg_begin(&b, MSG_KEY_DR, "CAOLN0000", (const char *const[]){ "CA" },
	    1, NULL);
	for (i = 0; i < 50; i++)
		ubuf_adds(&b, "<DriverRecord><PersonName/><PersonBirthDate>"
		    "1981-02-29</PersonBirthDate><PersonSexCode>M"
		    "</PersonSexCode><DriverLicenseID>X</DriverLicenseID>"
		    "<IssuingStateCode>CA</IssuingStateCode></DriverRecord>\n");
	msg_end(&b, MSG_KEY_DR);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), MSG_ER_DOB);
	CU_ASSERT_EQUAL(d.n, MSG_MAXDIAG);
	CU_ASSERT_EQUAL(d.dropped, 50 - MSG_MAXDIAG);
	CU_ASSERT_EQUAL(m.nrecords, 50);
	ubuf_free(&b);
}

/* Two threads on one schema: the busy context falls back to a private one. */
static void *
tm_thread(void *arg)
{
	const char	*s = arg;
	struct msg	 m;
	long		 bad = 0;
	int		 i;

	for (i = 0; i < 300; i++)
		if (msg_parse(tm_schema, s, strlen(s), TM_MAXLEN, &m, NULL) != 0)
			bad++;
	return (void *)bad;
}

static void
test_threads(void)
{
	pthread_t	 th[3];
	char		*buf;
	void		*rv;
	int		 i;

	buf = util_read_file(tm_path("fixtures/msg/valid/dq-name.xml"), NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(pthread_create(&th[i], NULL, tm_thread, buf), 0);
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], &rv);
		CU_ASSERT_PTR_NULL(rv);
	}
	free(buf);
}

static void
test_schema_load_errors(void)
{
	struct msg_schema	*s;
	char			*cause = NULL;

	char			 dir[] = "/tmp/test_msg.XXXXXX", path[64];
	static const char	 broken[] = "<xs:schema xmlns:xs="
	    "\"http://www.w3.org/2001/XMLSchema\">\n<xs:element name=\"A\" "
	    "type=\"NoSuchType\"/>\n</xs:schema>\n";

	s = msg_schema_load("/nonexistent-nlswitch-dir", &cause);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "nlets.xsd"));
	free(cause);
	cause = NULL;

	/* A schema that does not compile: the reason names file and line. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/nlets.xsd", dir);
	CU_ASSERT_EQUAL(util_write_file(path, broken, sizeof broken - 1), 0);
	s = msg_schema_load(dir, &cause);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL) {
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "nlets.xsd:2:"));
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "NoSuchType"));
	}
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(util_write_file(path, "<xs:schema", 10), 0);
	s = msg_schema_load(dir, &cause);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	unlink(path);
	rmdir(dir);
}

/*
 * Cutting long comments and photo texts out of what libxml2 parses must
 * never change a result: each case is parsed as is and with
 * MSG_PARSE_WHOLE, and code, every diagnostic (line, column, code, XPath,
 * text) and the photo fields must agree, and the code must be the one
 * the table expects.
 */

struct tm_elide {
	const char	*name;
	const char	*from;		/* replace this in dr-photo.xml ... */
	const char	*to;		/* ... by this; "%C" is a 600-byte
					   plain comment text */
	int		 code;
	size_t		 photo_len;	/* when code is 0 */
};

#define TM_PHOTO	"/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4p"
#define TM_B64OPEN	"<BinaryBase64Object>\n          " TM_PHOTO

static const struct tm_elide tm_elide[] = {
	{ "as is", "", "", 0, 178 },
	{ "long comment in the body", "<DriverRecord>",
	    "<DriverRecord><!--%C-->", 0, 178 },
	{ "long comment before the root", "<NLETS version",
	    "<!--%C-->\n<NLETS version", 0, 178 },
	{ "long comment with --", "<DriverRecord>",
	    "<DriverRecord><!--%C -- %C-->", MSG_ER_MALFORMED, 0 },
	{ "long comment ending in -", "<DriverRecord>",
	    "<DriverRecord><!--%C--->", MSG_ER_MALFORMED, 0 },
	{ "long comment with UTF-8", "<DriverRecord>",
	    "<DriverRecord><!--%C \xc3\xa9 %C-->", 0, 178 },
	{ "long comment with a bad byte", "<DriverRecord>",
	    "<DriverRecord><!--%C \xff %C-->", MSG_ER_MALFORMED, 0 },
	{ "unterminated long comment", "<DriverRecord>",
	    "<DriverRecord><!--%C", MSG_ER_MALFORMED, 0 },
	{ "photo not base64", "ZLosl0//2Q==", "ZLosl0*/2Q==", MSG_ER_FORMAT,
	    0 },
	{ "photo with a character reference", "ZLosl0//2Q==",
	    "ZLosl0/&#47;2Q==", 0, 178 },
	{ "photo with CDATA", "ZLosl0//2Q==", "<![CDATA[ZLosl0//2Q==]]>", 0,
	    178 },
	{ "photo with an attribute", "<BinaryBase64Object>",
	    "<BinaryBase64Object a=\"1\">", MSG_ER_FORMAT, 0 },
	{ "photo size wrong", "<BinarySizeValue>178<",
	    "<BinarySizeValue>179<", MSG_ER_FORMAT, 0 },
	{ "photo text is a placeholder", TM_B64OPEN, "<BinaryBase64Object>#0",
	    MSG_ER_FORMAT, 0 },
	{ "photo then a bad element", "<BinaryFormatID>jpeg",
	    "<BinaryFormatID>gif", MSG_ER_FORMAT, 0 },
	{ "photo then a long comment and a bad date", "<DoNotRetainIndicator>"
	    "false", "<!--%C--><DoNotRetainIndicator>maybe", MSG_ER_FORMAT,
	    0 },
	{ "comment-like text in CDATA", "<ResponseText>SYNTHETIC",
	    "<ResponseText><![CDATA[<!--%C-->]]>SYNTHETIC", 0, 178 },
	{ "comment-like text in an attribute", "<DriverRecord>",
	    "<DriverRecord x=\"<!--%C-->\">", MSG_ER_MALFORMED, 0 },
	{ "photo-like text in a PI", "<DriverRecord>",
	    "<DriverRecord><?pi <BinaryBase64Object>AAAA</BinaryBase64Object>"
	    "?>", 0, 178 },
	{ "prefixed photo element", "<BinaryBase64Object>",
	    "<x:BinaryBase64Object xmlns:x=\"urn:x\">", MSG_ER_MALFORMED, 0 },
};

/* s with every "%C" replaced by a 600-byte plain comment text. */
static char *
tm_elide_expand(const char *s)
{
	struct ubuf	 b;
	const char	*p;
	int		 i;

	ubuf_init(&b);
	for (p = s; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'C') {
			for (i = 0; i < 10; i++)
				ubuf_adds(&b, "PADDING TEXT FOR A LONG COMMENT, "
				    "LINE OF SIXTY CHARACTERS 0123\n");
			p++;
		} else
			ubuf_add(&b, p, 1);
	}
	return ubuf_take(&b, NULL);
}

/* Returns the bytes the first parse kept out of libxml2 (struct msg cut). */
static size_t
tm_elide_compare(const char *name, const char *doc, size_t len, int want,
    size_t photo_len, int nphotos)
{
	static struct msg_diags	 d1, d2;
	struct msg		 m1, m2;
	int			 r1, r2, i;

	r1 = msg_parse_flags(tm_schema, doc, len, TM_MAXLEN, 0, &m1, &d1);
	r2 = msg_parse_flags(tm_schema, doc, len, TM_MAXLEN, MSG_PARSE_WHOLE,
	    &m2, &d2);
	if (r1 != want || r2 != want || d1.n != d2.n) {
		fprintf(stderr, "\n  %s: code %d/%d, want %d", name, r1, r2,
		    want);
		tm_dump("cut", &d1);
		tm_dump("whole", &d2);
	}
	CU_ASSERT_EQUAL(r1, want);
	CU_ASSERT_EQUAL(r2, want);
	CU_ASSERT_EQUAL_FATAL(d1.n, d2.n);
	CU_ASSERT_EQUAL(d1.dropped, d2.dropped);
	for (i = 0; i < d1.n; i++) {
		CU_ASSERT_EQUAL(d1.d[i].line, d2.d[i].line);
		CU_ASSERT_EQUAL(d1.d[i].col, d2.d[i].col);
		CU_ASSERT_EQUAL(d1.d[i].code, d2.d[i].code);
		CU_ASSERT_STRING_EQUAL(d1.d[i].xpath, d2.d[i].xpath);
		CU_ASSERT_STRING_EQUAL(d1.d[i].text, d2.d[i].text);
	}
	CU_ASSERT_EQUAL(m1.has_photo, m2.has_photo);
	CU_ASSERT_EQUAL(m1.photo_len, m2.photo_len);
	CU_ASSERT_EQUAL(m1.nphotos, m2.nphotos);
	CU_ASSERT_EQUAL(m1.nphotos_noretain, m2.nphotos_noretain);
	CU_ASSERT_EQUAL(m1.hdr_end, m2.hdr_end);
	CU_ASSERT(m1.raw == doc && m2.raw == doc);
	CU_ASSERT_EQUAL(m2.cut, 0);
	if (want == 0) {
		CU_ASSERT_EQUAL(m1.photo_len, photo_len);
		CU_ASSERT_EQUAL(m1.nphotos, nphotos);
		CU_ASSERT_STRING_EQUAL(m1.ori, m2.ori);
		CU_ASSERT_STRING_EQUAL(m1.person.oln, m2.person.oln);
	} else
		CU_ASSERT_EQUAL(m1.cut, 0);
	return m1.cut;
}

/* Every tm_elide case. */
static void
tm_elide_all(void)
{
	char		*base, *from, *to, *doc;
	const char	*at;
	size_t		 blen, i, n = sizeof tm_elide / sizeof tm_elide[0];
	struct ubuf	 b;

	base = util_read_file(tm_path("fixtures/msg/valid/dr-photo.xml"),
	    &blen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	for (i = 0; i < n; i++) {
		from = tm_elide_expand(tm_elide[i].from);
		to = tm_elide_expand(tm_elide[i].to);
		ubuf_init(&b);
		if (from[0] == '\0')
			ubuf_add(&b, base, blen);
		else {
			at = strstr(base, from);
			CU_ASSERT_PTR_NOT_NULL_FATAL(at);
			ubuf_add(&b, base, (size_t)(at - base));
			ubuf_adds(&b, to);
			ubuf_adds(&b, at + strlen(from));
		}
		doc = ubuf_take(&b, &blen);
		tm_elide_compare(tm_elide[i].name, doc, strlen(doc),
		    tm_elide[i].code, tm_elide[i].photo_len, 1);
		free(doc);
		free(from);
		free(to);
		free(base);
		base = util_read_file(
		    tm_path("fixtures/msg/valid/dr-photo.xml"), &blen);
	}
	free(base);
}

/* The cases with the comment scan in both of its forms. */
static void
test_elide(void)
{
	msg_plain_simd = 1;
	tm_elide_all();
	msg_plain_simd = 0;
	tm_elide_all();
	msg_plain_simd = 1;
}

/*
 * Two records with photos (the second one broken in several ways), and a
 * 40 KB comment in an AM: the comment is cut, the MessageText limit still
 * holds.
 */
static void
test_elide_more(void)
{
	static const char head[] =
	    "<?xml version=\"1.0\"?>\n<NLETS version=\"1.0\">\n"
	    "<NLETSMessageHeader>\n<MessageKeyCodeText>DR</MessageKeyCodeText>\n"
	    "<OriginatingORIID>CAOLN0000</OriginatingORIID>\n"
	    "<DestinationORIID>WA0340000</DestinationORIID>\n"
	    "</NLETSMessageHeader>\n<NLETSResponseData><DriverResponse>\n";
	static const char rec[] =
	    "<DriverRecord><PersonName><PersonGivenName>A</PersonGivenName>"
	    "<PersonSurName>B</PersonSurName></PersonName>\n"
	    "<PersonBirthDate>1980-01-01</PersonBirthDate>"
	    "<PersonSexCode>F</PersonSexCode>"
	    "<DriverLicenseID>X1</DriverLicenseID>"
	    "<IssuingStateCode>CA</IssuingStateCode>\n"
	    "<LicenseClassCode>C</LicenseClassCode>"
	    "<LicenseStatusCode>VALID</LicenseStatusCode>\n"
	    "<PersonDigitalImage><BinaryBase64Object>\n%s\n"
	    "</BinaryBase64Object>\n<BinaryFormatID>jpeg</BinaryFormatID>"
	    "<BinarySizeValue>%s</BinarySizeValue>%s"
	    "</PersonDigitalImage></DriverRecord>\n";
	static const char tail[] =
	    "</DriverResponse></NLETSResponseData>\n</NLETS>\n";
	static const struct {
		const char	*b64, *size, *nr;
		int		 code;
	} second[] = {
		{ "AAAA\nAAAA", "6", "", 0 },
		{ "AAAA\nAA=A", "6", "", MSG_ER_FORMAT },
		{ "AAAA\nAAAA", "7", "", MSG_ER_FORMAT },
		{ "AAAA\nAAAA", "6", "<DoNotRetainIndicator>true"
		    "</DoNotRetainIndicator>", 0 },
		{ "AAAA&amp;", "3", "", MSG_ER_FORMAT },
		{ "", "0", "", MSG_ER_FORMAT },	/* no image at all */
	};
	struct ubuf	 b;
	char		*doc, name[64];
	size_t		 i, k;

	for (i = 0; i < sizeof second / sizeof second[0]; i++) {
		ubuf_init(&b);
		ubuf_adds(&b, head);
		ubuf_printf(&b, rec, "QUJD", "3", "");
		ubuf_printf(&b, rec, second[i].b64, second[i].size,
		    second[i].nr);
		ubuf_adds(&b, tail);
		doc = ubuf_take(&b, NULL);
		snprintf(name, sizeof name, "second photo #%zu", i);
		tm_elide_compare(name, doc, strlen(doc), second[i].code, 3, 2);
		free(doc);
	}

	/* An AM of 50 KB: 9000 characters of text and a 40 KB comment. */
	for (k = 0; k < 2; k++) {
		ubuf_init(&b);
		ubuf_adds(&b, "<?xml version=\"1.0\"?>\n<NLETS version=\"1.0\">\n"
		    "<NLETSMessageHeader><MessageKeyCodeText>AM"
		    "</MessageKeyCodeText>\n<OriginatingORIID>WA0340000"
		    "</OriginatingORIID><DestinationORIID>ORPDX0000"
		    "</DestinationORIID></NLETSMessageHeader>\n"
		    "<NLETSInquiryData><AdministrativeMessage><MessageText>");
		/* k = 1: 11000 characters, over the schema's 10000 */
		for (i = 0; i < (k == 0 ? 9000u : 11000u) / 50; i++)
			ubuf_adds(&b, "ADMINISTRATIVE MESSAGE TEXT 0123456789 "
			    "ABCDEFGHIJ\n");
		ubuf_adds(&b, "</MessageText><!--");
		for (i = 0; i < 40000 / 50; i++)
			ubuf_adds(&b, "A LONG COMMENT, NOTHING BUT PLAIN TEXT 012"
			    "3456789\n");
		ubuf_adds(&b, "--></AdministrativeMessage></NLETSInquiryData>"
		    "</NLETS>\n");
		doc = ubuf_take(&b, NULL);
		tm_elide_compare(k == 0 ? "AM 50 KB" : "AM text too long", doc,
		    strlen(doc), k == 0 ? 0 : MSG_ER_FORMAT, 0, 0);
		free(doc);
	}
}

/*
 * The MessageText of an AM: a long plain text is cut and its length
 * checked against the schema's facets on the input bytes; anything else
 * is left to libxml2. Each case is compared with MSG_PARSE_WHOLE
 * (tm_elide_compare), and the table says whether the text was cut.
 */

#define TM_AM_HEAD \
	"<?xml version=\"1.0\"?>\n<NLETS version=\"1.0\">\n" \
	"<NLETSMessageHeader><MessageKeyCodeText>%s</MessageKeyCodeText>\n" \
	"<OriginatingORIID>WA0340000</OriginatingORIID>\n" \
	"<DestinationORIID>ORPDX0000</DestinationORIID>\n" \
	"</NLETSMessageHeader>\n<NLETSInquiryData>%s\n"
#define TM_AM_TAIL \
	"\n%s</NLETSInquiryData>\n</NLETS>\n"

struct tm_text {
	const char	*name;
	const char	*key;		/* "AM", or "DQ" for a wrong place */
	const char	*pre;		/* before the text */
	size_t		 n;		/* bytes of generated plain text */
	const char	*mid;		/* put in the middle of the text */
	const char	*post;		/* after the text */
	int		 code;
	int		 cut;		/* 1: the text is kept out of libxml2 */
};

#define TM_AMO	"<AdministrativeMessage><MessageText>"
#define TM_AMC	"</MessageText></AdministrativeMessage>"

static const struct tm_text tm_text[] = {
	{ "300 characters", "AM", TM_AMO, 300, "", TM_AMC, 0, 1 },
	{ "255 characters", "AM", TM_AMO, 255, "", TM_AMC, 0, 0 },
	{ "256 characters", "AM", TM_AMO, 256, "", TM_AMC, 0, 1 },
	{ "10000 characters", "AM", TM_AMO, 10000, "", TM_AMC, 0, 1 },
	{ "10001 characters", "AM", TM_AMO, 10001, "", TM_AMC,
	    MSG_ER_FORMAT, 0 },
	{ "30000 characters", "AM", TM_AMO, 30000, "", TM_AMC,
	    MSG_ER_FORMAT, 0 },
	{ "9995 characters and a 6-byte reference", "AM", TM_AMO, 9995,
	    "&amp;", TM_AMC, 0, 0 },
	{ "9995 characters and 6 of UTF-8", "AM", TM_AMO, 9994,
	    "\xc3\xa9\xc3\xa9\xc3\xa9", TM_AMC, 0, 0 },
	{ "10001 bytes, 9998 characters of UTF-8", "AM", TM_AMO, 9995,
	    "\xc3\xa9\xc3\xa9\xc3\xa9", TM_AMC, 0, 0 },
	{ "CR LF counted as one", "AM", TM_AMO, 9998, "\r\n\r\n", TM_AMC, 0,
	    0 },
	{ "tab and '>'", "AM", TM_AMO, 9000, "\t> ]>]]", TM_AMC, 0, 1 },
	{ "]]> in the text", "AM", TM_AMO, 9000, "]]>", TM_AMC,
	    MSG_ER_MALFORMED, 0 },
	{ "a control character", "AM", TM_AMO, 9000, "\x01", TM_AMC,
	    MSG_ER_MALFORMED, 0 },
	{ "DEL (allowed in XML)", "AM", TM_AMO, 9000, "\x7f", TM_AMC, 0, 0 },
	{ "a child element", "AM", TM_AMO, 9000, "<B>x</B>", TM_AMC,
	    MSG_ER_FORMAT, 0 },
	{ "CDATA in the text", "AM", TM_AMO, 9000, "<![CDATA[x]]>", TM_AMC, 0,
	    0 },
	{ "a comment in the text", "AM", TM_AMO, 9000, "<!--x-->", TM_AMC, 0,
	    0 },
	{ "an attribute", "AM", "<AdministrativeMessage><MessageText a=\"1\">",
	    9000, "", TM_AMC, MSG_ER_FORMAT, 0 },
	{ "a space in the start tag", "AM",
	    "<AdministrativeMessage><MessageText >", 9000, "", TM_AMC, 0, 0 },
	{ "a prefix", "AM", "<AdministrativeMessage><x:MessageText "
	    "xmlns:x=\"urn:x\">", 9000, "", "</x:MessageText>"
	    "</AdministrativeMessage>", MSG_ER_FORMAT, 0 },
	{ "two MessageTexts", "AM", TM_AMO, 9000, "",
	    "</MessageText><MessageText>x" TM_AMC, MSG_ER_FORMAT, 0 },
	{ "two long MessageTexts", "AM", TM_AMO "%T</MessageText>"
	    "<MessageText>", 9000, "", TM_AMC, MSG_ER_FORMAT, 0 },
	{ "text that is the placeholder", "AM", TM_AMO, 0, "#0", TM_AMC, 0,
	    0 },
	{ "placeholder after a long comment", "AM", "<!--%T-->" TM_AMO, 0,
	    "#0", TM_AMC, 0, 0 },
	{ "empty", "AM", TM_AMO, 0, "", TM_AMC, MSG_ER_FORMAT, 0 },
	{ "in a DQ body", "DQ", "<DriverQuery><DriverLicenseID>X1"
	    "</DriverLicenseID><IssuingStateCode>OR</IssuingStateCode>"
	    "<MessageText>", 9000, "", "</MessageText></DriverQuery>",
	    MSG_ER_FORMAT, 0 },
	{ "AM key, DQ body", "AM", "<DriverQuery><MessageText>", 9000, "",
	    "</MessageText></DriverQuery>", MSG_ER_FORMAT, 0 },
	{ "in a comment (the comment is cut)", "AM", "<!--<MessageText>",
	    9000, "", "</MessageText>-->" TM_AMO "x" TM_AMC, 0, 1 },
	{ "unterminated", "AM", TM_AMO, 9000, "", "</AdministrativeMessage>",
	    MSG_ER_MALFORMED, 0 },
	{ "then a long comment", "AM", TM_AMO, 9000, "", TM_AMC "<!--%T-->", 0,
	    1 },
};

/* Plain text of n bytes with mid in its middle; "%T" in s is 400 bytes
 * of it. */
static void
tm_text_add(struct ubuf *b, const char *s, size_t n, const char *mid)
{
	static const char	 unit[] = "ADMINISTRATIVE MESSAGE TEXT 0123 "
	    "abcdefghij !\"#$%'()*+,-./:;=?@[\\]^_`{|}~\n";
	const char		*p;
	size_t			 i, half = n / 2;

	if (s != NULL) {
		for (p = s; *p != '\0'; p++) {
			if (p[0] == '%' && p[1] == 'T') {
				tm_text_add(b, NULL, 400, "");
				p++;
			} else
				ubuf_add(b, p, 1);
		}
		return;
	}
	for (i = 0; i < n; i++) {
		if (i == half)
			ubuf_adds(b, mid);
		ubuf_add(b, &unit[i % (sizeof unit - 1)], 1);
	}
	if (n == 0)
		ubuf_adds(b, mid);
}

static char *
tm_text_doc(const struct tm_text *c)
{
	struct ubuf	 b;

	ubuf_init(&b);
	ubuf_printf(&b, TM_AM_HEAD, c->key, "");
	tm_text_add(&b, c->pre, 0, "");
	tm_text_add(&b, NULL, c->n, c->mid);
	tm_text_add(&b, c->post, 0, "");
	ubuf_printf(&b, TM_AM_TAIL, "");
	return ubuf_take(&b, NULL);
}

static void
tm_text_all(struct msg_schema *schema, const struct tm_text *tab, size_t n)
{
	struct msg_schema	*keep = tm_schema;
	char			*doc;
	size_t			 i, cut;

	tm_schema = schema;
	for (i = 0; i < n; i++) {
		doc = tm_text_doc(&tab[i]);
		cut = tm_elide_compare(tab[i].name, doc, strlen(doc),
		    tab[i].code, 0, 0);
		if ((cut >= tab[i].n && tab[i].n > 0) != tab[i].cut)
			fprintf(stderr, "\n  %s: cut %zu bytes", tab[i].name,
			    cut);
		CU_ASSERT_EQUAL(cut >= tab[i].n && tab[i].n > 0, tab[i].cut);
		free(doc);
	}
	tm_schema = keep;
}

static void
test_elide_text(void)
{
	size_t	n = sizeof tm_text / sizeof tm_text[0];

	msg_plain_simd = 1;
	tm_text_all(tm_schema, tm_text, n);
	msg_plain_simd = 0;
	tm_text_all(tm_schema, tm_text, n);
	msg_plain_simd = 1;
}

/*
 * The AVX2 and the byte-at-a-time scans of plain text must agree on
 * every byte: 3000 comments and MessageTexts of 250 to 700 bytes with up
 * to three odd bytes at random places (a fixed seed), each parsed with
 * both scans and whole; verdicts agree, and the two scans cut the same.
 */
static void
test_elide_random(void)
{
	static const char *const odd[] = { "\x01", "\t", "\n", "\r", "-",
	    "--", "<", "&", ">", "]", "]]>", "\x7f", "\x80", "\xc3\xa9",
	    "\xff", "\x1f", " " };
	const size_t	 nodd = sizeof odd / sizeof odd[0];
	static struct msg_diags	 d;
	struct msg	 m;
	struct ubuf	 b, t;
	uint32_t	 x = 2463534242u;
	size_t		 len, cut[2], pos, j;
	char		*doc;
	int		 i, r[3], text, nodds, bad = 0;

#define TM_RAND()	(x ^= x << 13, x ^= x >> 17, x ^= x << 5, x)
	for (i = 0; i < 3000; i++) {
		text = i % 2;
		len = 250 + TM_RAND() % 451;
		ubuf_init(&t);
		tm_text_add(&t, NULL, len, "");
		nodds = (int)(TM_RAND() % 4);
		while (nodds-- > 0) {
			pos = TM_RAND() % t.len;
			j = TM_RAND() % nodd;
			memcpy(t.data + pos, odd[j], strlen(odd[j]) <= t.len - pos ?
			    strlen(odd[j]) : t.len - pos);
		}
		ubuf_init(&b);
		ubuf_printf(&b, TM_AM_HEAD, "AM", "<AdministrativeMessage>");
		if (text) {
			ubuf_adds(&b, "<MessageText>");
			ubuf_add(&b, t.data, t.len);
			ubuf_adds(&b, "</MessageText>");
		} else {
			ubuf_adds(&b, "<MessageText>A</MessageText><!--");
			ubuf_add(&b, t.data, t.len);
			ubuf_adds(&b, "-->");
		}
		ubuf_printf(&b, TM_AM_TAIL, "</AdministrativeMessage>");
		ubuf_free(&t);
		doc = ubuf_take(&b, &len);
		for (j = 0; j < 2; j++) {
			msg_plain_simd = j == 0;
			r[j] = msg_parse_flags(tm_schema, doc, len, TM_MAXLEN, 0,
			    &m, &d);
			cut[j] = m.cut;
		}
		msg_plain_simd = 1;
		r[2] = msg_parse_flags(tm_schema, doc, len, TM_MAXLEN,
		    MSG_PARSE_WHOLE, &m, &d);
		if (r[0] != r[1] || r[0] != r[2] || cut[0] != cut[1]) {
			if (bad++ < 5)
				fprintf(stderr, "\n  case %d: codes %d %d %d, cut "
				    "%zu %zu", i, r[0], r[1], r[2], cut[0],
				    cut[1]);
		}
		free(doc);
	}
#undef TM_RAND
	CU_ASSERT_EQUAL(bad, 0);
}

/*
 * A copy of schemas/ with "from" replaced by "to" in am.xsd, loaded.
 * dir (a mkdtemp template) is left for tm_schema_rm.
 */
static struct msg_schema *
tm_schema_variant(char *dir, const char *from, const char *to)
{
	struct msg_schema	*s;
	struct dirent		*de;
	struct ubuf		 b;
	DIR			*d;
	char			 sdir[2048], src[2560], dst[2560], *data, *at;
	char			*cause = NULL;
	size_t			 len;

	snprintf(sdir, sizeof sdir, "%s", tm_path("schemas"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d = opendir(sdir));
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".xsd") == NULL)
			continue;
		snprintf(src, sizeof src, "%s/%s", sdir, de->d_name);
		snprintf(dst, sizeof dst, "%s/%s", dir, de->d_name);
		CU_ASSERT_PTR_NOT_NULL_FATAL(data = util_read_file(src, &len));
		ubuf_init(&b);
		if (strcmp(de->d_name, "am.xsd") == 0) {
			CU_ASSERT_PTR_NOT_NULL_FATAL(at = strstr(data, from));
			ubuf_add(&b, data, (size_t)(at - data));
			ubuf_adds(&b, to);
			ubuf_adds(&b, at + strlen(from));
		} else
			ubuf_add(&b, data, len);
		CU_ASSERT_EQUAL(util_write_file(dst, b.data, b.len), 0);
		ubuf_free(&b);
		free(data);
	}
	closedir(d);
	s = msg_schema_load(dir, &cause);
	if (s == NULL)
		fprintf(stderr, "\n  schema variant: %s", cause);
	free(cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static void
tm_schema_rm(const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	char		 p[2048];

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (de->d_name[0] != '.')
			unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

/*
 * The limits of a cut MessageText come from the schema: with maxLength
 * 500 in am.xsd, 501 characters are refused and 400 are cut; with
 * minLength 300, 299 are refused and 300 cut (the placeholder is long
 * enough for the schema); with another facet, nillable, or a second
 * declaration, nothing is cut and libxml2 judges the whole text.
 */
static void
test_elide_text_schema(void)
{
	static const struct tm_text max500[] = {
		{ "400 under maxLength 500", "AM", TM_AMO, 400, "", TM_AMC, 0, 1 },
		{ "500 under maxLength 500", "AM", TM_AMO, 500, "", TM_AMC, 0, 1 },
		{ "501 under maxLength 500", "AM", TM_AMO, 501, "", TM_AMC,
		    MSG_ER_FORMAT, 0 },
	};
	static const struct tm_text min300[] = {
		{ "299 under minLength 300", "AM", TM_AMO, 299, "", TM_AMC,
		    MSG_ER_FORMAT, 0 },
		{ "300 under minLength 300", "AM", TM_AMO, 300, "", TM_AMC, 0, 1 },
	};
	static const struct tm_text pattern[] = {
		{ "pattern facet, valid", "AM", TM_AMO, 9000, "", TM_AMC, 0, 0 },
		{ "pattern facet, invalid", "AM", TM_AMO, 9000, "\t", TM_AMC,
		    MSG_ER_FORMAT, 0 },
	};
	static const struct tm_text plain[] = {
		{ "not cut", "AM", TM_AMO, 9000, "", TM_AMC, 0, 0 },
	};
	static const struct {
		const char		*from, *to;
		const struct tm_text	*tab;
		size_t			 n;
	} v[] = {
		{ "\"10000\"", "\"500\"", max500, 3 },
		{ "<xs:minLength value=\"1\"/>", "<xs:minLength value=\"300\"/>",
		    min300, 2 },
		{ "<xs:maxLength value=\"10000\"/>", "<xs:maxLength value="
		    "\"10000\"/><xs:pattern value=\"[ -~\\n]*\"/>", pattern, 2 },
		{ "<xs:minLength value=\"1\"/>", "<xs:whiteSpace "
		    "value=\"preserve\"/>", plain, 1 },
		{ "<xs:element name=\"MessageText\">", "<xs:element "
		    "name=\"MessageText\" nillable=\"true\">", plain, 1 },
		{ "</xs:schema>", "<xs:complexType name=\"Other\"><xs:sequence>"
		    "<xs:element name=\"MessageText\" type=\"xs:string\"/>"
		    "</xs:sequence></xs:complexType></xs:schema>", plain, 1 },
	};
	struct msg_schema	*s;
	char			 dir[64];
	size_t			 i;

	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		snprintf(dir, sizeof dir, "/tmp/test_msg.XXXXXX");
		s = tm_schema_variant(dir, v[i].from, v[i].to);
		tm_text_all(s, v[i].tab, v[i].n);
		msg_schema_free(s);
		tm_schema_rm(dir);
	}
}

/*
 * The parser context is reused from message to message: 6000 messages
 * with element names nobody else uses (each one a schema error) go
 * through the replacement of a context whose dictionary grew, and every
 * verdict stays what it is on a fresh context.
 */
static void
test_parser_reuse(void)
{
	struct msg_diags	*d = xmalloc(sizeof *d);
	struct msg		 m;
	char			 doc[512], *buf;
	size_t			 len;
	int			 i, bad = 0;

	buf = util_read_file(tm_path("fixtures/msg/valid/dq-oln.xml"), &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (i = 0; i < 6000; i++) {
		snprintf(doc, sizeof doc, "<NLETS version=\"1.0\">"
		    "<NLETSMessageHeader><Invented%dName/>"
		    "</NLETSMessageHeader></NLETS>", i);
		if (msg_parse(tm_schema, doc, strlen(doc), TM_MAXLEN, &m,
		    d) == 0)
			bad++;
		if (i % 1000 == 999 &&
		    msg_parse(tm_schema, buf, len, TM_MAXLEN, &m, d) != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(msg_parse(tm_schema, buf, len, TM_MAXLEN, &m, d), 0);
	CU_ASSERT_STRING_EQUAL(m.ori, "WA0340000");
	free(buf);
	free(d);
}

int
test_msg_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("msg", tm_init, tm_cleanup)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_tables) == NULL ||
	    CU_ADD_TEST(s, test_valid_fixtures) == NULL ||
	    CU_ADD_TEST(s, test_invalid_fixtures) == NULL ||
	    CU_ADD_TEST(s, test_multi_error) == NULL ||
	    CU_ADD_TEST(s, test_dob_table) == NULL ||
	    CU_ADD_TEST(s, test_dest_table) == NULL ||
	    CU_ADD_TEST(s, test_build_query) == NULL ||
	    CU_ADD_TEST(s, test_build_er) == NULL ||
	    CU_ADD_TEST(s, test_build_er_from_parse) == NULL ||
	    CU_ADD_TEST(s, test_build_sm) == NULL ||
	    CU_ADD_TEST(s, test_stamp) == NULL ||
	    CU_ADD_TEST(s, test_hdr_end) == NULL ||
	    CU_ADD_TEST(s, test_prescan) == NULL ||
	    CU_ADD_TEST(s, test_many_errors) == NULL ||
	    CU_ADD_TEST(s, test_threads) == NULL ||
	    CU_ADD_TEST(s, test_schema_load_errors) == NULL ||
	    CU_ADD_TEST(s, test_elide) == NULL ||
	    CU_ADD_TEST(s, test_elide_more) == NULL ||
	    CU_ADD_TEST(s, test_elide_text) == NULL ||
	    CU_ADD_TEST(s, test_elide_random) == NULL ||
	    CU_ADD_TEST(s, test_elide_text_schema) == NULL ||
	    CU_ADD_TEST(s, test_parser_reuse) == NULL)
		return -1;
	return 0;
}
