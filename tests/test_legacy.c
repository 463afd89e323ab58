/*
 * test_legacy - CUnit suite for switch/legacy.c: XML -> legacy -> XML
 * round trips of every valid fixture (both formats), every field prefix,
 * the output header, malformed headers and fields with their positions,
 * the field terminator rule, ER fidelity in the legacy rendering, and
 * mapping msg_parse's xpaths back to the text.
 *
 * The validator's output formats (text, json, junit) are tested on the
 * real binary in tests/it_validate.c.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "legacy.h"
#include "msg.h"
#include "util.h"

int	test_legacy_register(void);

static struct msg_schema	*tl_schema;
static char			 tl_root[1024];

static const char *
tl_path(const char *rel)
{
	static char	 buf[2048];

	snprintf(buf, sizeof buf, "%s/%s", tl_root, rel);
	return buf;
}

static int
tl_init(void)
{
	const char	*r = getenv("NLSWITCH_ROOT");
	char		*cause = NULL;

	snprintf(tl_root, sizeof tl_root, "%s", r != NULL && *r ? r : ".");
	if ((tl_schema = msg_schema_load(tl_path("schemas"), &cause)) == NULL) {
		fprintf(stderr, "test_legacy: %s\n", cause);
		free(cause);
		return 1;
	}
	return 0;
}

static int
tl_cleanup(void)
{
	msg_schema_free(tl_schema);
	tl_schema = NULL;
	return 0;
}

static void
tl_dump(const char *what, const struct msg_diags *d)
{
	int	 i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "\n  %s: %d:%d %s: %s [ER %d]", what,
		    d->d[i].line, d->d[i].col, d->d[i].xpath, d->d[i].text,
		    d->d[i].code);
}

/* The fields both formats carry must agree (the photo purpose is
 * covered by the byte comparisons of the round trips). */
static void
tl_same_msg(const char *what, const struct msg *a, const struct msg *b)
{
	int	 i, same;

	same = a->key == b->key && strcmp(a->ori, b->ori) == 0 &&
	    a->ndest == b->ndest && strcmp(a->ctl, b->ctl) == 0 &&
	    memcmp(&a->person, &b->person, sizeof a->person) == 0 &&
	    a->imq == b->imq && strcmp(a->rsn, b->rsn) == 0 &&
	    strcmp(a->atn, b->atn) == 0 && a->not_on_file == b->not_on_file &&
	    a->nrecords == b->nrecords && a->status == b->status;
	for (i = 0; same && i < a->ndest; i++)
		same = strcmp(a->dest[i], b->dest[i]) == 0;
	if (!same)
		fprintf(stderr, "\n  %s: the round trip changed the message",
		    what);
	CU_ASSERT(same);
}

/* Files of a fixture directory with the given suffix (NULL-terminated). */
static char **
tl_list(const char *rel, const char *suffix)
{
	DIR		*dir;
	struct dirent	*de;
	char		**v = NULL;
	size_t		 n = 0, l;

	if ((dir = opendir(tl_path(rel))) == NULL)
		return xcalloc(1, sizeof *v);
	while ((de = readdir(dir)) != NULL) {
		l = strlen(de->d_name);
		if (l <= strlen(suffix) ||
		    strcmp(de->d_name + l - strlen(suffix), suffix) != 0)
			continue;
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xasprintf("%s/%s", rel, de->d_name);
	}
	closedir(dir);
	if (v == NULL)
		v = xcalloc(1, sizeof *v);
	v[n] = NULL;
	return v;
}

static void
tl_list_free(char **v)
{
	size_t	 i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Skip the leading '#' comment lines of a legacy fixture. */
static const char *
tl_skip_comments(const char *s)
{
	while (*s == '#') {
		s = strchr(s, '\n');
		if (s == NULL)
			return "";
		s++;
	}
	return s;
}

/*
 * Every valid XML fixture: XML -> legacy -> XML -> legacy. The second
 * rendering equals the first and both XML documents say the same (a
 * photo aside, which becomes an IMG/ note).
 */
static void
test_roundtrip_xml_fixtures(void)
{
	char		**files = tl_list("fixtures/msg/valid", ".xml"), *buf;
	struct ubuf	 t1, x2, t2;
	struct msg	 m1, m2;
	struct msg_diags d;
	char		*cause = NULL, note[128], *p, *e;
	size_t		 len, i;
	int		 keys = 0;

	for (i = 0; files[i] != NULL; i++) {
		buf = util_read_file(tl_path(files[i]), &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
		ubuf_init(&t1);
		ubuf_init(&x2);
		ubuf_init(&t2);
		CU_ASSERT_EQUAL_FATAL(msg_parse(tl_schema, buf, len, 0, &m1,
		    &d), 0);
		keys |= 1 << m1.key;
		if (legacy_from_xml(tl_schema, buf, len, &t1, &cause) != 0) {
			fprintf(stderr, "\n  %s: %s", files[i], cause);
			free(cause);
			CU_FAIL("legacy_from_xml");
			goto next;
		}
		if (m1.has_photo) {
			snprintf(note, sizeof note, "IMG/NOT AVAILABLE IN TEXT "
			    "FORMAT - %zu BYTES JPEG.", m1.photo_len);
			CU_ASSERT_PTR_NOT_NULL(memmem(t1.data, t1.len, note,
			    strlen(note)));
			CU_ASSERT_PTR_NULL(memmem(t1.data, t1.len, "/9j/", 4));
		}
		if (legacy_parse(tl_schema, t1.data, t1.len, 0, 0, &x2, &m2,
		    &d) != 0) {
			fprintf(stderr, "\n  %s:\n%.*s", files[i], (int)t1.len,
			    t1.data);
			tl_dump(files[i], &d);
			CU_FAIL("legacy_parse");
			goto next;
		}
		tl_same_msg(files[i], &m1, &m2);
		CU_ASSERT_EQUAL(legacy_from_xml(tl_schema, x2.data, x2.len,
		    &t2, &cause), 0);
		if (m1.has_photo) {
			/* The second rendering has no photo to note. */
			if ((p = strstr(t1.data, "IMG/")) != NULL &&
			    (e = strchr(p, '\n')) != NULL)
				memmove(p, e + 1, strlen(e + 1) + 1);
			t1.len = strlen(t1.data);
		}
		CU_ASSERT(t1.len == t2.len && memcmp(t1.data, t2.data,
		    t1.len) == 0);
		if (m1.has_photo)
			CU_ASSERT(!m2.has_photo);
next:
		ubuf_free(&t1);
		ubuf_free(&x2);
		ubuf_free(&t2);
		free(buf);
	}
	/* Every key has an XML fixture that went through. */
	CU_ASSERT_EQUAL(keys, ((1 << MSG_KEY_MAX) - 1) & ~1);
	tl_list_free(files);
}

/*
 * Every valid legacy fixture: legacy -> XML -> legacy -> XML; the two
 * XML documents are identical (the rendering is canonical).
 */
static void
test_roundtrip_legacy_fixtures(void)
{
	static const char *dirs[] = { "fixtures/legacy/valid",
	    "fixtures/legacy/delivered" };
	char		**files, *buf, *cause = NULL;
	const char	*text;
	struct ubuf	 x1, t2, x2;
	struct msg	 m1, m2;
	struct msg_diags d;
	size_t		 len, i, k;
	int		 keys = 0, n = 0, flags;

	for (k = 0; k < 2; k++) {
		files = tl_list(dirs[k], ".txt");
		flags = k == 1 ? MSG_PARSE_STAMPED : 0;
		for (i = 0; files[i] != NULL; i++, n++) {
			buf = util_read_file(tl_path(files[i]), &len);
			CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
			text = tl_skip_comments(buf);
			ubuf_init(&x1);
			ubuf_init(&t2);
			ubuf_init(&x2);
			if (legacy_parse(tl_schema, text, strlen(text), 0,
			    flags, &x1, &m1, &d) != 0) {
				tl_dump(files[i], &d);
				CU_FAIL("valid legacy fixture refused");
				goto next;
			}
			keys |= 1 << m1.key;
			if (legacy_from_xml(tl_schema, x1.data, x1.len, &t2,
			    &cause) != 0) {
				fprintf(stderr, "\n  %s: %s", files[i], cause);
				free(cause);
				CU_FAIL("legacy_from_xml");
				goto next;
			}
			CU_ASSERT_EQUAL(legacy_parse(tl_schema, t2.data, t2.len,
			    0, flags, &x2, &m2, &d), 0);
			tl_same_msg(files[i], &m1, &m2);
			if (x1.len != x2.len || memcmp(x1.data, x2.data,
			    x1.len) != 0) {
				fprintf(stderr, "\n  %s: XML differs:\n%s\n%s",
				    files[i], x1.data, x2.data);
				CU_FAIL("legacy round trip");
			}
next:
			ubuf_free(&x1);
			ubuf_free(&t2);
			ubuf_free(&x2);
			free(buf);
		}
		tl_list_free(files);
	}
	CU_ASSERT(n >= 13);
	CU_ASSERT_EQUAL(keys, ((1 << MSG_KEY_MAX) - 1) & ~1);
}

/*
 * Every field prefix of the table: its value lands in its element and
 * comes back under the same prefix.
 */
static void
test_every_prefix(void)
{
	static const struct {
		const char	*text;		/* a message using the prefixes */
	} msgs[] = {
		{ "DQ.WA0340000.CA.*F1.TXT\n"
		  "NAM/SAMPLE,ALEX J. DOB/19800229. SEX/F.\n"
		  "OLN/S1234567. OLS/CA.\n"
		  "IMQ/Y. PUR/SUSPECT,LOCATE-SUSPECT. CIR/ARMED. CAS/24-1. "
		  "VER/DET. SAMPLE. WAR/W-1. SUS/Y.\n"
		  "RSN/TRAFFIC STOP. ATN/DESK 4.\n" },
		{ "DNQ.WA0340000.CA.TXT\n"
		  "NAM/SAMPLE,ALEX. DOB/19800229. SEX/M.\n"
		  "RSN/LIST. ATN/DESK 5.\n" },
		{ "KR.ORDMV0000.WA0340000.*K1.TXT\n"
		  "NAM/EXAMPLE,JORDAN. DOB/19751231. SEX/M.\n"
		  "OLN/ORX0001. OLS/OR.\n"
		  "ADR/1 MAIN ST. CTY/SALEM. STA/OR. ZIP/97301.\n"
		  "CLS/C. LST/SUSPENDED. EXP/20300101.\n"
		  "HST/20190601,SPD,OR,SPEEDING 15 OVER.\n"
		  "MIS/END OF RECORD\n" },
		{ "SM.NL0000000.WA0340000.*T42.TXT\n"
		  "STS/01. DST/NV. MKE/KQ. REF/000000000000002a.0.\n"
		  "MIS/destination does not accept this message key\n" },
		{ "ER.NL0000000.WA0340000.*T42.TXT\n"
		  "ERR/106. RSN/invalid destination ORI.\n"
		  "DTL/unknown destination ZZ.\n"
		  "INP/DQ.WA0340000.ZZ.TXT OLN/X.\n" },
		/* IMG/ is a note: read, never turned into an image. */
		{ "DR.CAOLN0000.WA0340000.TXT\n"
		  "NAM/A,B. DOB/19800101. SEX/M.\nOLN/1. OLS/CA.\n"
		  "IMG/NOT AVAILABLE IN TEXT FORMAT - 10 BYTES JPEG.\n" },
	};
	const struct legacy_field	*tab;
	struct ubuf			 x, t;
	struct msg			 m;
	struct msg_diags		 d;
	char				 pfx[8], *cause = NULL, *el;
	size_t				 n, i, j;
	int				 seen;

	tab = legacy_field_table(&n);
	CU_ASSERT(n >= 30);
	for (i = 0; i < n; i++) {
		snprintf(pfx, sizeof pfx, "%s/", tab[i].prefix);
		seen = 0;
		for (j = 0; j < sizeof msgs / sizeof msgs[0] && !seen; j++) {
			ubuf_init(&x);
			ubuf_init(&t);
			if (legacy_parse(tl_schema, msgs[j].text,
			    strlen(msgs[j].text), 0, 0, &x, &m, &d) != 0) {
				tl_dump("every-prefix", &d);
				CU_FAIL("every-prefix message refused");
			} else if (tab[i].keys & (1u << m.key) &&
			    strstr(msgs[j].text, pfx) != NULL) {
				seen = 1;
				/* The element is there (IMG/ never makes one). */
				el = strrchr(tab[i].element, '/');
				el = xasprintf("<%s>", el ? el + 1 :
				    tab[i].element);
				if (strcmp(tab[i].prefix, "IMG") != 0)
					CU_ASSERT_PTR_NOT_NULL(strstr(x.data,
					    el));
				free(el);
				CU_ASSERT_EQUAL(legacy_from_xml(tl_schema,
				    x.data, x.len, &t, &cause), 0);
				if (strcmp(tab[i].prefix, "IMG") != 0) {
					CU_ASSERT_PTR_NOT_NULL(strstr(t.data,
					    pfx));
					/* canonical: the text comes back */
					CU_ASSERT_STRING_EQUAL(t.data,
					    msgs[j].text);
				}
			}
			ubuf_free(&x);
			ubuf_free(&t);
		}
		if (!seen)
			fprintf(stderr, "\n  prefix %s not exercised", pfx);
		CU_ASSERT(seen);
	}
}

/* A delivered message: the output header survives both ways. */
static void
test_output_header(void)
{
	const char	*dests[] = { "CA", "NV" };
	struct msg_stamp st = { "000000000000002a.0", 1714572131000000ULL,
			    123, 1714572132000000ULL, 45, "CAOLN0000" };
	struct ubuf	 q, stamped, t, x;
	struct msg	 m;
	struct msg_diags d;
	char		*cause = NULL;
	size_t		 hend;

	ubuf_init(&q);
	ubuf_init(&stamped);
	ubuf_init(&t);
	ubuf_init(&x);
	msg_begin(&q, MSG_KEY_DQ, "WA0340000", dests, 2, "T42");
	msg_add_text(&q, "DriverLicenseID", "S1234567");
	msg_end(&q, MSG_KEY_DQ);
	hend = msg_find_hdr_end(q.data, q.len);
	msg_stamp(&stamped, q.data, q.len, hend, &st);
	CU_ASSERT_EQUAL_FATAL(legacy_from_xml(tl_schema, stamped.data,
	    stamped.len, &t, &cause), 0);
	CU_ASSERT_STRING_EQUAL(t.data,
	    "DQ.WA0340000.CA.NV.*T42\n"
	    "14:02:11 05/01/2024 123\n"
	    "14:02:12 05/01/2024 45 CAOLN0000\n"
	    "MID/000000000000002a.0\n"
	    "TXT\n"
	    "OLN/S1234567.\n");
	/* Back: the same stamped document, accepted as delivered only. */
	CU_ASSERT_EQUAL(legacy_parse(tl_schema, t.data, t.len, 0,
	    MSG_PARSE_STAMPED, &x, &m, &d), 0);
	CU_ASSERT(x.len == stamped.len && memcmp(x.data, stamped.data,
	    x.len) == 0);
	ubuf_reset(&x);
	CU_ASSERT_EQUAL(legacy_parse(tl_schema, t.data, t.len, 0, 0, &x, &m,
	    &d), MSG_ER_HEADER);
	CU_ASSERT(d.n >= 1 && d.d[0].line == 2 && d.d[0].col == 1);
	ubuf_free(&q);
	ubuf_free(&stamped);
	ubuf_free(&t);
	ubuf_free(&x);
}

/* Malformed headers and fields: the code and where it points. */
static void
test_malformed(void)
{
	static const struct {
		const char	*text;
		int		 code, line, col;
	} t[] = {
		/* header */
		{ "DQ.WA0340000.CA.*T1\nOLN/S1.", MSG_ER_MALFORMED, 1, 20 },
		{ "DQ.WA0340000.CA", MSG_ER_MALFORMED, 1, 16 },
		{ "", MSG_ER_MALFORMED, 1, 1 },
		{ "\n  \n", MSG_ER_MALFORMED, 1, 1 },
		{ "DQ.WA034.CA.TXT OLN/S1.", MSG_ER_HEADER, 1, 4 },
		{ "DQ.WA0340000.TXT OLN/S1.", MSG_ER_DEST, 1, 13 },
		{ "DQ.WA0340000.*T.TXT OLN/S1.", MSG_ER_DEST, 1, 13 },
		{ "DQ.WA0340000.CA.OR.ID.NV.AZ.UT.TXT OLN/S1.", MSG_ER_DEST,
		    1, 29 },
		{ "DQ.WA0340000.C.TXT OLN/S1.", MSG_ER_DEST, 1, 14 },
		{ "DQ.WA0340000.CA.*.TXT OLN/S1.", MSG_ER_HEADER, 1, 17 },
		{ "DQ.WA0340000.CA.*12345678901.TXT OLN/S1.", MSG_ER_HEADER,
		    1, 17 },
		{ "DQ.WA0340000.CA.*A.*B.TXT OLN/S1.", MSG_ER_HEADER, 1, 20 },
		{ "ZZ.WA0340000.CA.TXT OLN/S1.", MSG_ER_HEADER, 1, 1 },
		{ "DQX.WA0340000.CA.TXT OLN/S1.", MSG_ER_HEADER, 1, 1 },
		{ "OLN/S1234567.", MSG_ER_HEADER, 1, 1 },
		/* fields */
		{ "DQ.WA0340000.CA.TXT\nOLN/S1234567\n", MSG_ER_FORMAT, 2, 1 },
		{ "DQ.WA0340000.CA.TXT\nRSN/A.\n  OLN/S1", MSG_ER_FORMAT, 3, 3 },
		{ "DQ.WA0340000.CA.TXT OLN/S1. QQQ/1.", MSG_ER_FORMAT, 1, 29 },
		{ "DQ.WA0340000.CA.TXT OLN/S1. OLN/S2.", MSG_ER_FORMAT, 1, 29 },
		{ "DQ.WA0340000.CA.TXT OLN/. RSN/X.", MSG_ER_FORMAT, 1, 21 },
		{ "DQ.WA0340000.CA.TXT\nhello", MSG_ER_FORMAT, 2, 1 },
		{ "DNQ.WA0340000.CA.TXT NAM/A,B. OLN/S1.", MSG_ER_FORMAT, 1,
		    31 },
		{ "DR.CAOLN0000.WA0340000.TXT OLS/CA.", MSG_ER_FORMAT, 1, 28 },
		{ "AM.WA0340000.CA.TXT\n\n", MSG_ER_MALFORMED, 1, 17 },
	};
	struct ubuf	 x;
	struct msg_diags d;
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		rc = legacy_to_xml(t[i].text, strlen(t[i].text), &x, &d);
		if (rc != t[i].code || d.n < 1 || d.d[0].line != t[i].line ||
		    d.d[0].col != t[i].col) {
			fprintf(stderr, "\n  case %zu \"%s\": want %d at %d:%d,"
			    " got %d", i, t[i].text, t[i].code, t[i].line,
			    t[i].col, rc);
			tl_dump("malformed", &d);
		}
		CU_ASSERT_EQUAL(rc, t[i].code);
		CU_ASSERT(d.n >= 1);
		if (d.n >= 1) {
			CU_ASSERT_EQUAL(d.d[0].line, t[i].line);
			CU_ASSERT_EQUAL(d.d[0].col, t[i].col);
			CU_ASSERT(d.d[0].text[0] != '\0');
			CU_ASSERT(d.d[0].xpath[0] == '/');
		}
		ubuf_free(&x);
	}
}

/* Several errors in one message are all reported, in order. */
static void
test_multi_error(void)
{
	const char	*s = "DQ.WA034.C.*ABCDEFGHIJKL.TXT\n"
			    "NAM/SAMPLE. DOB/19810229. SEX/X.\nXYZ/1.\n";
	struct ubuf	 x;
	struct msg	 m;
	struct msg_diags d;
	int		 i, seen[200];

	ubuf_init(&x);
	CU_ASSERT_EQUAL(legacy_parse(tl_schema, s, strlen(s), 0, 0, &x, &m,
	    &d), MSG_ER_HEADER);
	memset(seen, 0, sizeof seen);
	for (i = 0; i < d.n; i++)
		if (d.d[i].code > 0 && d.d[i].code < 200)
			seen[d.d[i].code]++;
	CU_ASSERT(d.n >= 6);
	CU_ASSERT(seen[MSG_ER_HEADER] >= 2);
	CU_ASSERT(seen[MSG_ER_DEST] >= 1);
	CU_ASSERT(seen[MSG_ER_DOB] >= 1);
	CU_ASSERT(seen[MSG_ER_REQUIRED] >= 1);
	CU_ASSERT(seen[MSG_ER_FORMAT] >= 2);
	/* The DOB complaint from msg_parse points at DOB/ in the text. */
	for (i = 0; i < d.n; i++)
		if (d.d[i].code == MSG_ER_DOB) {
			CU_ASSERT_EQUAL(d.d[i].line, 2);
			CU_ASSERT_EQUAL(d.d[i].col, 13);
		}
	ubuf_free(&x);
}

/* The '.' that ends a field, and the one that does not. */
static void
test_terminator(void)
{
	static const struct {
		const char	*field;		/* after the header */
		const char	*elem;		/* expected XML */
	} t[] = {
		{ "OLN/S1.OLS/CA.", "<IssuingStateCode>CA</IssuingStateCode>" },
		{ "OLN/S1. RSN/ST. LOUIS.", "<ReasonText>ST. LOUIS</ReasonText>" },
		{ "OLN/S1. RSN/ST..", "<ReasonText>ST.</ReasonText>" },
		{ "OLN/S1. RSN/A.B.C.", "<ReasonText>A.B.C</ReasonText>" },
		{ "OLN/S1. RSN/1/2 TIME.", "<ReasonText>1/2 TIME</ReasonText>" },
		{ "OLN/S1.   \r\nRSN/X.\r\n", "<ReasonText>X</ReasonText>" },
		{ "NAM/VAN DYKE,MARY ANN LOU. DOB/19800101. SEX/F.",
		    "<PersonMiddleName>ANN LOU</PersonMiddleName>" },
		{ "NAM/VAN DYKE,MARY ANN LOU. DOB/19800101. SEX/F.",
		    "<PersonSurName>VAN DYKE</PersonSurName>" },
		{ "OLN/S1. DOB/1980-01-02.",
		    "<PersonBirthDate>1980-01-02</PersonBirthDate>" },
		/* PUR/ with a use only: the policy infers the category */
		{ "OLN/S1. IMQ/Y. PUR/AMNESIA.", "<PhotoPurpose>\n"
		    "<PurposeUseCode>AMNESIA</PurposeUseCode>" },
		{ "OLN/S1. IMQ/Y. PUR/,AMNESIA.", "<PhotoPurpose>\n"
		    "<PurposeUseCode>AMNESIA</PurposeUseCode>" },
		{ "OLN/S1. IMQ/Y. PUR/SUSPECT.", "<PhotoPurpose>\n"
		    "<PurposeCategoryCode>SUSPECT</PurposeCategoryCode>\n"
		    "</PhotoPurpose>" },
	};
	struct ubuf	 x, t2;
	struct msg	 m;
	struct msg_diags d;
	char		*s, *cause = NULL;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ubuf_init(&x);
		s = xasprintf("DQ.WA0340000.CA.TXT %s", t[i].field);
		CU_ASSERT_EQUAL(legacy_parse(tl_schema, s, strlen(s), 0, 0,
		    &x, &m, &d), 0);
		if (strstr(x.data ? x.data : "", t[i].elem) == NULL)
			fprintf(stderr, "\n  \"%s\": no %s in\n%s", t[i].field,
			    t[i].elem, x.data);
		CU_ASSERT_PTR_NOT_NULL(strstr(x.data ? x.data : "",
		    t[i].elem));
		free(s);
		ubuf_free(&x);
	}
	/* A value the reader would cut is written so that it is not. */
	ubuf_init(&x);
	ubuf_init(&t2);
	msg_begin(&x, MSG_KEY_DQ, "WA0340000", (const char *[]){ "CA" }, 1,
	    NULL);
	msg_add_text(&x, "DriverLicenseID", "S1");
	msg_add_text(&x, "ReasonText", "SEE NOTE. OLN/ IS WRONG\nLINE 2.");
	msg_end(&x, MSG_KEY_DQ);
	CU_ASSERT_EQUAL(legacy_from_xml(tl_schema, x.data, x.len, &t2,
	    &cause), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(t2.data,
	    "RSN/SEE NOTE, OLN/ IS WRONG LINE 2..\n"));
	ubuf_reset(&x);
	CU_ASSERT_EQUAL(legacy_parse(tl_schema, t2.data, t2.len, 0, 0, &x, &m,
	    &d), 0);
	CU_ASSERT_STRING_EQUAL(m.rsn, "SEE NOTE, OLN/ IS WRONG LINE 2.");
	ubuf_free(&x);
	ubuf_free(&t2);
}

/*
 * ER fidelity: the legacy rendering of an ER shows the code, the reason,
 * the detail and exactly the first 100 characters of the input, and
 * reads back to the same ER.
 */
static void
test_er_fidelity(void)
{
	const char	*in = "DQ.WA0340000.CA.*T4.TXT\nNAM/SAMPLE,ALEX. "
			    "DOB/19810229. SEX/M. RSN/A REASONS LONG ENOUGH TO "
			    "PUSH THIS INPUT PAST ONE HUNDRED CHARACTERS.";
	const char	*detail = "birth date \"1981-02-29\": no such day "
			    "in that month";
	struct ubuf	 er, t, x;
	struct msg	 m;
	struct msg_diags d;
	char		*cause = NULL, *want;

	CU_ASSERT(strlen(in) > MSG_ER_INPUT_LEN);
	ubuf_init(&er);
	ubuf_init(&t);
	ubuf_init(&x);
	msg_build_er(&er, "WA0340000", "T4", MSG_ER_DOB, detail, in,
	    strlen(in));
	CU_ASSERT_EQUAL_FATAL(legacy_from_xml(tl_schema, er.data, er.len, &t,
	    &cause), 0);
	want = xasprintf("ER.NL0000000.WA0340000.*T4.TXT\n"
	    "ERR/104. RSN/invalid or missing DOB.\n"
	    "DTL/%s.\n"
	    "INP/%.*s\n", detail, MSG_ER_INPUT_LEN, in);
	CU_ASSERT_STRING_EQUAL(t.data, want);
	free(want);
	CU_ASSERT_EQUAL(legacy_parse(tl_schema, t.data, t.len, 0, 0, &x, &m,
	    &d), 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_ER);
	CU_ASSERT_EQUAL(m.status, MSG_ER_DOB);
	CU_ASSERT_STRING_EQUAL(m.ctl, "T4");
	CU_ASSERT_PTR_NOT_NULL(strstr(x.data,
	    "<OffendingInputText>DQ.WA0340000.CA.*T4.TXT\nNAM/SAMPLE,ALEX."));
	CU_ASSERT_PTR_NOT_NULL(strstr(x.data, "PUSH THIS"
	    "</OffendingInputText>"));
	ubuf_free(&er);
	ubuf_free(&t);
	ubuf_free(&x);
}

/* Format detection, xpath location, refusal of invalid XML. */
static void
test_misc(void)
{
	const char	*s = "DR.CAOLN0000.WA0340000.TXT\n"
			    "NAM/A,B. DOB/19800101. SEX/M. OLN/1. OLS/CA.\n\n"
			    "NAM/C,D. DOB/19800101. SEX/M. OLN/2. OLS/CA.\n"
			    "EXP/20300101.\n";
	struct ubuf	 t;
	char		*cause = NULL;
	int		 line, col;

	CU_ASSERT(legacy_is_text("DQ.X", 4));
	CU_ASSERT(!legacy_is_text("  \n<NLETS/>", 11));
	CU_ASSERT(!legacy_is_text("\xef\xbb\xbf<NLETS/>", 11));
	CU_ASSERT(legacy_is_text("", 0));

	legacy_locate(s, strlen(s), "/NLETS/NLETSResponseData/DriverResponse/"
	    "DriverRecord[2]/LicenseExpirationDate", &line, &col);
	CU_ASSERT(line == 5 && col == 1);
	legacy_locate(s, strlen(s), "/NLETS/NLETSResponseData/DriverResponse/"
	    "DriverRecord[2]/PersonName/PersonSurName", &line, &col);
	CU_ASSERT(line == 4 && col == 1);
	legacy_locate(s, strlen(s), "/NLETS/NLETSResponseData/DriverResponse/"
	    "DriverRecord[1]/IssuingStateCode", &line, &col);
	CU_ASSERT(line == 2 && col == 38);
	legacy_locate(s, strlen(s), "/NLETS/NLETSMessageHeader/"
	    "DestinationORIID", &line, &col);
	CU_ASSERT(line == 1 && col == 14);
	legacy_locate(s, strlen(s), "/NLETS/NLETSResponseData/DriverResponse",
	    &line, &col);
	CU_ASSERT(line == 1 && col == 24);

	ubuf_init(&t);
	CU_ASSERT_EQUAL(legacy_from_xml(tl_schema, "<NLETS/>", 8, &t, &cause),
	    -1);
	CU_ASSERT_PTR_NOT_NULL(cause);
	CU_ASSERT_EQUAL(t.len, 0);
	free(cause);
	ubuf_free(&t);
}

int
test_legacy_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("legacy", tl_init, tl_cleanup)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_roundtrip_xml_fixtures) == NULL ||
	    CU_ADD_TEST(s, test_roundtrip_legacy_fixtures) == NULL ||
	    CU_ADD_TEST(s, test_every_prefix) == NULL ||
	    CU_ADD_TEST(s, test_output_header) == NULL ||
	    CU_ADD_TEST(s, test_malformed) == NULL ||
	    CU_ADD_TEST(s, test_multi_error) == NULL ||
	    CU_ADD_TEST(s, test_terminator) == NULL ||
	    CU_ADD_TEST(s, test_er_fidelity) == NULL ||
	    CU_ADD_TEST(s, test_misc) == NULL)
		return -1;
	return 0;
}
