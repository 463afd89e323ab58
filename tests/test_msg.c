/*
 * test_msg - CUnit suite for the message model (switch/msg.c), the XML
 * parser (msgparse.c) and the builders (msgbuild.c): the fixtures (valid
 * ones parse with the fields in the table, invalid ones fail with the ER
 * number of their leading "<!-- expect: NN [maxlen: N] -->" comment and
 * of the table, for the reason their name says), multi-error reporting
 * and its order, the rules tables (birth dates, destinations, ORIs, the
 * attention field, what each key needs, the body of each key, sender
 * stamps), builders round-tripping through msgparse (ER and its text
 * split back, SM), the output-header stamp, the header offsets, the
 * response-side photo rewriting, and the cutting of long texts out of
 * what libxml2 parses (which must never change a result).
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
#include <strings.h>
#include <time.h>
#include <sys/types.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "legacy.h"
#include "msg.h"
#include "msgbuild.h"
#include "msgparse.h"
#include "unit.h"
#include "util.h"
#include "xscan.h"
#include "xtree.h"

#define TM_MAXLEN	(256 * 1024)
#define TM_NEL(a)	(sizeof (a) / sizeof (a)[0])

/* The envelope with every prefix the tests use. */
#define TM_ROOT \
	"<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\"\n" \
	"    xmlns:nh2=\"" MSG_NS_NH2 "\"\n" \
	"    xmlns:n2c=\"" MSG_NS_N2C "\"\n" \
	"    xmlns:nc=\"" MSG_NS_NC "\"\n" \
	"    xmlns:j=\"" MSG_NS_J "\"\n" \
	"    xmlns:psp=\"" MSG_NS_PSP "\"\n" \
	"    xmlns:n2-aa=\"" MSG_NS_AA "\"\n" \
	"    n2:version=\"4.00\">\n"
/* A message up to its body: key and ORI are printf arguments. */
#define TM_HEAD \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" TM_ROOT \
	"<n2:NLETSMessageHeader>\n" \
	"<nh2:MessageKeyCodeText>%s</nh2:MessageKeyCodeText>\n" \
	"<nh2:OriginatingORIID>%s</nh2:OriginatingORIID>\n" \
	"<nh2:DestinationORIID>CA</nh2:DestinationORIID>\n" \
	"<nh2:DocumentControlFieldText>T1</nh2:DocumentControlFieldText>\n" \
	"</n2:NLETSMessageHeader>\n"
#define TM_TAIL	"</n2:NLETS>\n"
/* A person (el: n2:Person or n2c:Driver) named by license number. */
#define TM_OLN(el, oln) \
	"<" el "><j:PersonAugmentation><nc:DriverLicense>" \
	"<nc:DriverLicenseIdentification><nc:IdentificationID>" oln \
	"</nc:IdentificationID></nc:DriverLicenseIdentification>" \
	"</nc:DriverLicense></j:PersonAugmentation></" el ">\n"
#define TM_INQ(x)	"<n2:NLETSInquiryData>\n" x "</n2:NLETSInquiryData>\n"
#define TM_RSP(x) \
	"<n2:NLETSResponseData>\n" x "</n2:NLETSResponseData>\n"

static struct msgparse_schema	*tm_schema;

int	test_msg_register(void);

static int
tm_init(void)
{
	tm_schema = unit_schema_load("test_msg");
	return tm_schema == NULL;
}

static int
tm_cleanup(void)
{
	msgparse_schema_free(tm_schema);
	tm_schema = NULL;
	return 0;
}

/* NULL as "" (table cells left out). */
static const char *
tm_s(const char *s)
{
	return s != NULL ? s : "";
}

/* Parse a NUL-terminated string. */
static int
tm_parse(const char *s, struct msg *m, struct msg_diags *d)
{
	return msgparse_message(tm_schema, s, strlen(s), TM_MAXLEN, 0, m, d);
}

/* Parse buf[0..len). */
static int
tm_parse_n(const char *buf, size_t len, struct msg *m, struct msg_diags *d)
{
	return msgparse_message(tm_schema, buf, len, TM_MAXLEN, 0, m, d);
}

/* Print the diags of an unexpected result, to make failures readable. */
static void
tm_dump(const char *what, const struct msg_diags *d)
{
	int	 i;

	for (i = 0; i < d->n; i++)
		fprintf(stderr, "\n  %s: %d:%d .%02d. %s: %s", what,
		    d->d[i].line, d->d[i].col, d->d[i].code, d->d[i].xpath,
		    d->d[i].text);
}

/* Parse s, expecting want; the diags are printed when it is not. */
static int
tm_expect(const char *name, const char *s, int want, struct msg *m)
{
	static struct msg_diags	 d;
	int			 rc;

	rc = tm_parse(s, m, &d);
	if (rc != want) {
		fprintf(stderr, "\n  %s: want .%02d. got .%02d.", name, want,
		    rc);
		tm_dump(name, &d);
	}
	CU_ASSERT_EQUAL(rc, want);
	CU_ASSERT_EQUAL(d.n == 0, want == 0);
	if (d.n > 0)
		CU_ASSERT_EQUAL(d.d[0].code, rc);
	return rc;
}

/* A fixture's bytes (the test stops if it is missing). */
static char *
tm_read(const char *rel, size_t *len)
{
	char	*buf;

	if ((buf = util_read_file(unit_path(rel), len)) == NULL)
		fprintf(stderr, "\n  cannot read %s", rel);
	return buf;
}

/* base with its first "from" replaced by "to"; NULL if from is not in it. */
static char *
tm_sub(const char *base, const char *from, const char *to)
{
	const char	*at;

	if ((at = strstr(base, from)) == NULL)
		return NULL;
	return xasprintf("%.*s%s%s", (int)(at - base), base, to,
	    at + strlen(from));
}

/* The first element named local (any namespace) under n, or NULL. */
static xmlNodePtr
tm_find(xmlNodePtr n, const char *local)
{
	xmlNodePtr	 c, f;

	for (; n != NULL; n = n->next) {
		if (n->type != XML_ELEMENT_NODE)
			continue;
		if (xmlStrEqual(n->name, (const xmlChar *)local))
			return n;
		if ((c = n->children) != NULL &&
		    (f = tm_find(c, local)) != NULL)
			return f;
	}
	return NULL;
}

/*
 * The text of the first element named local in doc, as an XML reader
 * sees it (entities and CDATA resolved), or NULL (no such element, not
 * well-formed). The caller frees it.
 */
static char *
tm_text(const char *doc, size_t len, const char *local)
{
	xmlDocPtr	 x;
	xmlNodePtr	 n;
	xmlChar		*c;
	char		*s = NULL;

	x = xmlReadMemory(doc, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	if (x == NULL)
		return NULL;
	if ((n = tm_find(xmlDocGetRootElement(x), local)) != NULL &&
	    (c = xmlNodeGetContent(n)) != NULL) {
		s = xstrdup((const char *)c);
		xmlFree(c);
	}
	xmlFreeDoc(x);
	return s;
}

/* Start (or empty) tags named local in doc[0..len). */
static int
tm_count(const char *doc, size_t len, const char *local)
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	int			 n = 0;

	xscan_init(&sc, doc, len);
	while (xscan_find(&sc, local, 0, &t) == 0)
		n++;
	return n;
}

/*
 * Valid fixtures: every file parses with 0 and the fields in the table;
 * the header offsets point where the stamps go.
 */

struct tm_valid {
	const char	*file;
	enum msg_key	 key;
	const char	*ori;
	int		 ndest;
	const char	*dest0;
	const char	*destn;		/* the last destination */
	const char	*ctl;
	const char	*surname;
	const char	*given;
	const char	*middle;
	const char	*dob;
	const char	*sex;
	const char	*oln;
	const char	*olstate;
	int		 imq;
	const char	*rsn;
	const char	*pur;
	const char	*atn;
	const char	*use;		/* psp:PurposeUseCode */
	int		 not_on_file;
	int		 nrecords;
	int		 nphotos;
	int		 noretain;	/* photos marked not to be kept */
	size_t		 photo_len;
	int		 status;
	int		 stamped;	/* the sender wrote the stamps */
};

static const struct tm_valid tm_valid[] = {
	{ .file = "yq.xml", .key = MSG_KEY_YQ, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "CAOLN0000", .ctl = "HIT0001",
	    .surname = "EXAMPLE", .given = "JORDAN", .dob = "1975-12-31",
	    .sex = "M" },
	{ .file = "yq-vehicle.xml", .key = MSG_KEY_YQ, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "CAOLN0000", .ctl = "HIT0002" },
	{ .file = "yr.xml", .key = MSG_KEY_YR, .ori = "CAOLN0000",
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "HIT0001" },
	{ .file = "am.xml", .key = MSG_KEY_AM, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "ORPDX0000", .ctl = "A1" },
	{ .file = "dnq.xml", .key = MSG_KEY_DNQ, .ori = "WA0340000",
	    .ndest = 3, .dest0 = "CA", .destn = "NV", .surname = "SAMPLE",
	    .given = "ALEX", .sex = "M" },
	{ .file = "dnr.xml", .key = MSG_KEY_DNR, .ori = "CAOLN0000",
	    .ndest = 1, .dest0 = "WA0340000", .surname = "SAMPLE",
	    .given = "ALEX", .dob = "1980-02-29", .sex = "M",
	    .oln = "S1234567", .olstate = "CA", .nrecords = 3 },
	{ .file = "dq-imq.xml", .key = MSG_KEY_DQ, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "CAOLN0000", .ctl = "IMQ 1",
	    .oln = "S1234567", .imq = 1, .rsn = "T", .use = "TRAFFIC-STOP" },
	{ .file = "dq-name.xml", .key = MSG_KEY_DQ, .ori = "WA0340000",
	    .ndest = 2, .dest0 = "CA", .destn = "OR", .ctl = "T43",
	    .surname = "SAMPLE", .given = "ALEX", .middle = "J",
	    .dob = "1980-02-29", .sex = "F", .atn = "DESK 4" },
	{ .file = "dq-oln.xml", .key = MSG_KEY_DQ, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "CA", .ctl = "T42", .oln = "S1234567",
	    .olstate = "CA", .rsn = "T" },
	{ .file = "dr-notonfile.xml", .key = MSG_KEY_DR, .ori = "CAOLN0000",
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "T42",
	    .not_on_file = 1 },
	{ .file = "dr-photo.xml", .key = MSG_KEY_DR, .ori = "CAOLN0000",
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "IMQ 1",
	    .surname = "SAMPLE", .given = "ALEX", .middle = "J",
	    .dob = "1980-02-29", .sex = "F", .oln = "S1234567",
	    .olstate = "CA", .nrecords = 1, .nphotos = 1, .photo_len = 178 },
	{ .file = "er.xml", .key = MSG_KEY_ER, .ori = MSG_SWITCH_ORI,
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "T42",
	    .status = MSG_ER_DOB },
	{ .file = "kq.xml", .key = MSG_KEY_KQ, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "OR", .ctl = "K1", .oln = "ORX0001",
	    .olstate = "OR", .atn = "HISTORY <REVIEW>" },
	{ .file = "kr.xml", .key = MSG_KEY_KR, .ori = "ORDMV0000",
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "K1",
	    .surname = "EXAMPLE", .given = "JORDAN", .dob = "1975-12-31",
	    .sex = "M", .oln = "ORX0001", .olstate = "OR", .nrecords = 1 },
	{ .file = "sm.xml", .key = MSG_KEY_SM, .ori = MSG_SWITCH_ORI,
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "T42",
	    .status = MSG_SM_HELD },
	{ .file = "nlets-dq-name.xml", .key = MSG_KEY_DQ,
	    .ori = "WA0340000", .ndest = 1, .dest0 = "CA",
	    .ctl = "DQNAME0001", .surname = "SAMPLE", .given = "ALEX",
	    .middle = "JAMIE", .dob = "1980-02-29", .sex = "M", .rsn = "V" },
	{ .file = "nlets-dqg.xml", .key = MSG_KEY_DQG,
	    .ori = "WA0340000", .ndest = 1, .dest0 = "H1",
	    .ctl = "DQGNAME001", .surname = "SAMPLE", .given = "ALEX",
	    .middle = "JAMIE", .dob = "1980-02-29", .sex = "M", .rsn = "V" },
	{ .file = "nlets-dq-oln.xml", .key = MSG_KEY_DQ, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "CA", .ctl = "DQOLN00001",
	    .oln = "S1234567", .olstate = "CA", .rsn = "T" },
	{ .file = "nlets-kq.xml", .key = MSG_KEY_KQ, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "OR", .ctl = "KQNAME0001",
	    .surname = "EXAMPLE", .given = "JORDAN", .dob = "1975-12-31",
	    .sex = "M", .rsn = "T", .pur = "C",
	    .atn = "DET SAMPLE, DESK 4" },
	{ .file = "nlets-dnq.xml", .key = MSG_KEY_DNQ, .ori = "WA0340000",
	    .ndest = 2, .dest0 = "CA", .destn = "OR", .ctl = "DNQ0000001",
	    .surname = "SAMPLE", .given = "ALEX", .middle = "J",
	    .rsn = "I" },
	{ .file = "nlets-sm.xml", .key = MSG_KEY_SM, .ori = "ORDMV0000",
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "SMSTATE001",
	    .stamped = 1 },
	{ .file = "nlets-am.xml", .key = MSG_KEY_AM, .ori = "WA0340000",
	    .ndest = 1, .dest0 = "OR", .ctl = "AMTEST0001" },
	{ .file = "nlets-aml.xml", .key = MSG_KEY_AML, .ori = "WA0340000",
	    .ndest = 3, .dest0 = "E1", .destn = "ID", .ctl = "AMLTEST001",
	    .stamped = 1 },
	{ .file = "nlets-aa-text.xml", .key = MSG_KEY_AA,
	    .ori = "WA0340000", .ndest = 2, .dest0 = "OR", .destn = "ID",
	    .ctl = "AATEXT0001", .use = "MISSING-CHILD", .nphotos = 1,
	    .photo_len = 178 },
	{ .file = "nlets-aa-standard.xml", .key = MSG_KEY_AA,
	    .ori = "WA0340000", .ndest = 1, .dest0 = "OR",
	    .ctl = "AASTD00001", .stamped = 1 },
	{ .file = "nlets-er.xml", .key = MSG_KEY_ER, .ori = MSG_SWITCH_ORI,
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "DQNAME0001",
	    .status = MSG_ER_DOB, .stamped = 1 },
	/* The switch's merged answer to a multi-state query: the members'
	 * records are inside n2:StateResponse, not its own. */
	{ .file = "dr-multistate.xml", .key = MSG_KEY_DR,
	    .ori = MSG_SWITCH_ORI, .ndest = 1, .dest0 = "WA0340000",
	    .ctl = "MSQDEMO1" },
	{ .file = "nlets-dr-notonfile.xml", .key = MSG_KEY_DR,
	    .ori = "CAOLN0000", .ndest = 1, .dest0 = "WA0340000",
	    .ctl = "DQNAME0001", .not_on_file = 1, .stamped = 1 },
	{ .file = "nlets-dr-photo.xml", .key = MSG_KEY_DR,
	    .ori = "CAOLN0000", .ndest = 1, .dest0 = "WA0340000",
	    .ctl = "DQIMQ00001", .surname = "SAMPLE", .given = "ALEX",
	    .middle = "JAMIE", .dob = "1980-02-29", .sex = "M",
	    .oln = "S1234567", .olstate = "CA", .nrecords = 1, .nphotos = 1,
	    .noretain = 1, .photo_len = 178, .stamped = 1 },
	{ .file = "nlets-kr.xml", .key = MSG_KEY_KR, .ori = "ORDMV0000",
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "KQNAME0001",
	    .surname = "EXAMPLE", .given = "JORDAN", .dob = "1975-12-31",
	    .sex = "M", .oln = "ORX0001", .olstate = "OR", .nrecords = 1,
	    .stamped = 1 },
	{ .file = "nlets-dnr.xml", .key = MSG_KEY_DNR, .ori = "CAOLN0000",
	    .ndest = 1, .dest0 = "WA0340000", .ctl = "DNQ0000001",
	    .surname = "SAMPLE", .given = "ALEX", .dob = "1980-02-29",
	    .sex = "M", .oln = "S1234567", .olstate = "CA", .nrecords = 3,
	    .stamped = 1 },
	{ .file = "jxdm40-dq-oln.xml", .key = MSG_KEY_DQ,
	    .ori = "WA0340000", .ndest = 1, .dest0 = "ID", .ctl = "J40",
	    .oln = "ID-S1234567", .olstate = "ID" },
	{ .file = "default-ns-dq.xml", .key = MSG_KEY_DQ,
	    .ori = "WA0340000", .ndest = 1, .dest0 = "NV", .ctl = "DEFNS1",
	    .surname = "SAMPLE", .given = "ALEX", .dob = "1980-02-29",
	    .sex = "U", .rsn = "S" },
	{ .file = "dq-sender-stamps.xml", .key = MSG_KEY_DQ,
	    .ori = "WA0340000", .ndest = 1, .dest0 = "CA", .ctl = "T44",
	    .oln = "S1234567", .stamped = 1 },
	{ .file = "dr-text-photo.xml", .key = MSG_KEY_DR,
	    .ori = "NVDMV0000", .ndest = 1, .dest0 = "WA0340000",
	    .ctl = "IMQ 2", .nphotos = 1, .photo_len = 178 },
};

/* 1 if raw[0..off) ends with an end tag of an element named local. */
static int
tm_ends_with_end_tag(const char *raw, size_t off, const char *local)
{
	size_t	 n = strlen(local), k;

	if (off < n + 3 || raw[off - 1] != '>' ||
	    memcmp(raw + off - 1 - n, local, n) != 0)
		return 0;
	for (k = off - 1 - n; k > 0 && raw[k - 1] != '<'; k--)
		;
	return k > 0 && raw[k] == '/';
}

/* 1 if raw[off..] starts with the end tag of an element named local. */
static int
tm_end_tag_at(const char *raw, size_t len, size_t off, const char *local)
{
	struct xscan		 sc;
	struct xscan_tok	 t;

	xscan_init_at(&sc, raw, len, off);
	return xscan_next(&sc, &t) == XSCAN_END && xscan_is(&t, local) &&
	    t.p == raw + off;
}

static void
tm_check_valid(const struct tm_valid *v, int flags)
{
	struct msg_diags	 d;
	struct msg		 m;
	char			 rel[256], *buf;
	size_t			 len, so, he;
	int			 rc;

	snprintf(rel, sizeof rel, "fixtures/msg/valid/%s", v->file);
	buf = tm_read(rel, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	rc = msgparse_message(tm_schema, buf, len, TM_MAXLEN, flags, &m, &d);
	if (rc != 0) {
		fprintf(stderr, "\n  %s: code %d", v->file, rc);
		tm_dump(v->file, &d);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(d.n, 0);
	CU_ASSERT_EQUAL(m.key, v->key);
	CU_ASSERT_STRING_EQUAL(m.ori, tm_s(v->ori));
	CU_ASSERT_EQUAL(m.ndest, v->ndest);
	CU_ASSERT_STRING_EQUAL(m.dest[0], tm_s(v->dest0));
	CU_ASSERT_STRING_EQUAL(m.dest[m.ndest > 0 ? m.ndest - 1 : 0],
	    v->destn != NULL ? v->destn : tm_s(v->dest0));
	CU_ASSERT_STRING_EQUAL(m.ctl, tm_s(v->ctl));
	CU_ASSERT_STRING_EQUAL(m.person.surname, tm_s(v->surname));
	CU_ASSERT_STRING_EQUAL(m.person.given, tm_s(v->given));
	CU_ASSERT_STRING_EQUAL(m.person.middle, tm_s(v->middle));
	CU_ASSERT_STRING_EQUAL(m.person.dob, tm_s(v->dob));
	CU_ASSERT_STRING_EQUAL(m.person.sex, tm_s(v->sex));
	CU_ASSERT_STRING_EQUAL(m.person.oln, tm_s(v->oln));
	CU_ASSERT_STRING_EQUAL(m.person.olstate, tm_s(v->olstate));
	CU_ASSERT_EQUAL(m.imq, v->imq);
	CU_ASSERT_STRING_EQUAL(m.rsn, tm_s(v->rsn));
	CU_ASSERT_STRING_EQUAL(m.pur, tm_s(v->pur));
	CU_ASSERT_STRING_EQUAL(m.atn, tm_s(v->atn));
	CU_ASSERT_EQUAL(m.purpose.present, v->use != NULL);
	CU_ASSERT_STRING_EQUAL(m.purpose.use, tm_s(v->use));
	CU_ASSERT_EQUAL(m.not_on_file, v->not_on_file);
	CU_ASSERT_EQUAL(m.nrecords, v->nrecords);
	CU_ASSERT_EQUAL(m.has_photo, v->nphotos > 0);
	CU_ASSERT_EQUAL(m.nphotos, v->nphotos);
	CU_ASSERT_EQUAL(m.nphotos_noretain, v->noretain);
	CU_ASSERT_EQUAL(m.photo_len, v->photo_len);
	CU_ASSERT_EQUAL(m.status, v->status);
	CU_ASSERT(m.raw == buf && m.rawlen == len);

	/* The stamps go after the sender's last element (the control
	 * field, else the last destination), up to the header's end tag;
	 * what lies between is the sender's own stamps. */
	CU_ASSERT(m.stamp_off > 0 && m.stamp_off <= m.hdr_end &&
	    m.hdr_end < len);
	CU_ASSERT(tm_ends_with_end_tag(buf, m.stamp_off, v->ctl != NULL ?
	    "DocumentControlFieldText" : "DestinationORIID"));
	CU_ASSERT(tm_end_tag_at(buf, len, m.hdr_end, "NLETSMessageHeader"));
	CU_ASSERT_EQUAL(tm_count(buf + m.stamp_off, m.hdr_end - m.stamp_off,
	    "MessageReceiveDate"), v->stamped);
	CU_ASSERT_EQUAL(tm_count(buf + m.stamp_off, m.hdr_end - m.stamp_off,
	    "SendMessageNumeric"), v->stamped);
	CU_ASSERT_EQUAL(msg_hdr_span(buf, len, 0, &so, &he), 0);
	CU_ASSERT_EQUAL(so, m.stamp_off);
	CU_ASSERT_EQUAL(he, m.hdr_end);
	CU_ASSERT_EQUAL(msg_hdr_span(buf, len, m.stamp_off, &so, &he), 0);
	CU_ASSERT_EQUAL(so, m.stamp_off);
	CU_ASSERT_EQUAL(he, m.hdr_end);
	free(buf);
}

/* 1 if file is in the table of valid fixtures. */
static int
tm_valid_listed(const char *file)
{
	size_t	 i;

	for (i = 0; i < TM_NEL(tm_valid); i++)
		if (strcmp(tm_valid[i].file, file) == 0)
			return 1;
	return 0;
}

/*
 * Every .xml file in fixtures/msg/<kind> is in its table (listed(file)).
 * @return how many there are.
 */
static int
tm_dir_listed(const char *kind, int (*listed)(const char *))
{
	char		 rel[64];
	DIR		*dir;
	struct dirent	*de;
	size_t		 n;
	int		 files = 0, in;

	snprintf(rel, sizeof rel, "fixtures/msg/%s", kind);
	dir = opendir(unit_path(rel));
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	while ((de = readdir(dir)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 4, ".xml") != 0)
			continue;
		files++;
		if (!(in = listed(de->d_name)))
			fprintf(stderr, "\n  %s/%s has no table entry", kind,
			    de->d_name);
		CU_ASSERT(in);
	}
	closedir(dir);
	return files;
}

static void
test_valid_fixtures(void)
{
	size_t		 i;
	int		 keys[MSG_KEY_MAX];

	memset(keys, 0, sizeof keys);
	for (i = 0; i < TM_NEL(tm_valid); i++) {
		tm_check_valid(&tm_valid[i], 0);
		tm_check_valid(&tm_valid[i], MSGPARSE_WHOLE);
		keys[tm_valid[i].key]++;
	}
	/* An example of every key. */
	for (i = MSG_KEY_NONE + 1; i < MSG_KEY_MAX; i++) {
		if (keys[i] == 0)
			fprintf(stderr, "\n  no valid fixture for %s",
			    msg_key_name((enum msg_key)i));
		CU_ASSERT(keys[i] > 0);
	}

	/* Every file in the directory is in the table. */
	CU_ASSERT_EQUAL(tm_dir_listed("valid", tm_valid_listed),
	    (int)TM_NEL(tm_valid));
}

/*
 * Invalid fixtures: the table gives each one's ER number and a part of
 * its first diagnostic ("XPATH: TEXT") that shows the reason its name
 * says; the leading comment must agree with the table.
 */

struct tm_invalid {
	const char	*file;
	int		 code;
	const char	*why;	/* in "xpath: text" of the first diag */
};

static const struct tm_invalid tm_invalid[] = {
	{ "atn-too-long.xml", MSG_ER_ATN, "attention field has 31" },
	{ "dest-four-char.xml", MSG_ER_DEST, "DestinationORIID: " },
	{ "dest-none.xml", MSG_ER_DEST, "no DestinationORIID" },
	{ "dest-one-char.xml", MSG_ER_DEST, "value 'C' is not" },
	{ "dest-too-many.xml", MSG_ER_DEST, "more than 5 destinations" },
	{ "dob-bad-month.xml", MSG_ER_DOB, "no such month" },
	{ "dob-dqg-missing.xml", MSG_ER_DOB,
	    "a DQG by name needs nc:PersonBirthDate" },
	{ "dob-bad-shape.xml", MSG_ER_DOB, "\"19800101\": not a YYYY-MM-DD" },
	{ "dob-future.xml", MSG_ER_DOB, "date in the future" },
	{ "dob-missing.xml", MSG_ER_DOB, "needs nc:PersonBirthDate" },
	{ "dob-not-leap-year.xml", MSG_ER_DOB,
	    "birth date \"1981-02-29\": no such day in that month" },
	{ "format-bad-version.xml", MSG_ER_FORMAT, "version" },
	{ "format-billion-laughs.xml", MSG_ER_FORMAT, "DOCTYPE" },
	{ "format-body-not-key.xml", MSG_ER_FORMAT,
	    "DQ travels in n2:NLETSInquiryData" },
	{ "format-body-wrong-for-key.xml", MSG_ER_FORMAT,
	    "an SM carries n2:StatusMessageText" },
	{ "format-dqg-imq.xml", MSG_ER_FORMAT,
	    "ImageRequestIndicator: n2:ImageRequestIndicator is for a DQ "
	    "only, not for a DQG: " MSG_DQG_HOWTO },
	{ "format-dqg-oln.xml", MSG_ER_FORMAT,
	    "j:PersonAugmentation: the driver license (OLN/ OLS/, "
	    "nc:DriverLicense) is not valid for a DQG" },
	{ "format-encoding-latin1.xml", MSG_ER_FORMAT, "ISO-8859-1" },
	{ "format-mail-key-mismatch.xml", MSG_ER_FORMAT,
	    "n2:key \"AM\" is not the message key AML" },
	{ "format-photo-bad-base64.xml", MSG_ER_FORMAT, "not valid base64" },
	{ "format-photo-size-mismatch.xml", MSG_ER_FORMAT,
	    "BinarySizeValue 1.2 KB is not the 0.17 KB" },
	{ "format-too-deep.xml", MSG_ER_FORMAT, "nested deeper than 32" },
	{ "format-unknown-element.xml", MSG_ER_FORMAT, "n2:ShoeSize: " },
	{ "format-wrong-root.xml", MSG_ER_MALFORMED, "root element is" },
	{ "format-xxe.xml", MSG_ER_FORMAT, "DOCTYPE" },
	{ "header-bad-ori.xml", MSG_ER_HEADER, "OriginatingORIID: " },
	{ "header-ctl-too-long.xml", MSG_ER_HEADER, "control field" },
	{ "header-er-not-from-switch.xml", MSG_ER_HEADER,
	    "only the switch" },
	{ "header-missing.xml", MSG_ER_HEADER, "no n2:NLETSMessageHeader" },
	{ "header-stamps-bad.xml", MSG_ER_HEADER,
	    "MessageReceiveDate: " },
	{ "header-unknown-key.xml", MSG_ER_HEADER, "unknown message key" },
	{ "malformed-not-xml.xml", MSG_ER_MALFORMED, "malformed XML" },
	{ "malformed-old-dialect.xml", MSG_ER_MALFORMED,
	    "has no namespace: a message is n2:NLETS in namespace "
	    MSG_NS_N2 },
	{ "malformed-tags.xml", MSG_ER_MALFORMED, "mismatch" },
	{ "malformed-undeclared-entity.xml", MSG_ER_MALFORMED,
	    "'xxe' not defined" },
	{ "multi-error.xml", MSG_ER_HEADER, "OriginatingORIID: " },
	{ "required-yq-no-priority.xml", MSG_ER_REQUIRED,
	    "n2:QueryRequestActivity: a YQ needs the request type, number, "
	    "priority, case number and NCIC number; missing: "
	    "QueryRequestPriorityCode" },
	{ "dest-yq-member-code.xml", MSG_ER_DEST,
	    "a YQ is addressed to 9-character ORIs, not to \"CA\"" },
	{ "required-dnq-no-given.xml", MSG_ER_REQUIRED,
	    "missing: PersonGivenName" },
	{ "required-dq-empty.xml", MSG_ER_REQUIRED, "needs the license" },
	{ "required-dqg-no-sex.xml", MSG_ER_REQUIRED,
	    "a DQG needs nc:PersonName (surname and given name) with "
	    "nc:PersonBirthDate and nc:PersonSexCode; missing: "
	    "PersonSexCode" },
	{ "required-dr-record-no-oln.xml", MSG_ER_REQUIRED,
	    "record needs its license number" },
	{ "too-large.xml", MSG_ER_TOO_LARGE, "exceeds the limit" },
	{ "txt-missing.xml", MSG_ER_MALFORMED, "TXT missing" },
};

static void
tm_check_invalid(const struct tm_invalid *v)
{
	struct msg_diags d, dw;
	struct msg	 m;
	char		 rel[512], *buf, *p, *at;
	size_t		 len, maxlen;
	int		 want, rc, rw;

	snprintf(rel, sizeof rel, "fixtures/msg/invalid/%s", v->file);
	buf = tm_read(rel, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	/* The expectation is in the first 200 bytes (an XML declaration
	 * has to come before it in some files). */
	p = strstr(buf, "<!-- expect: ");
	if (p == NULL || p - buf > 200) {
		fprintf(stderr, "\n  %s: no expect comment", rel);
		CU_FAIL("fixture without expect comment");
		free(buf);
		return;
	}
	want = atoi(p + 13);
	maxlen = TM_MAXLEN;
	if ((at = strstr(p, "maxlen: ")) != NULL && at - buf < 200)
		maxlen = (size_t)atol(at + 8);
	if (want != v->code)
		fprintf(stderr, "\n  %s: comment says %d, table %d", v->file,
		    want, v->code);
	CU_ASSERT_EQUAL(want, v->code);
	rc = msgparse_message(tm_schema, buf, len, maxlen, 0, &m, &d);
	rw = msgparse_message(tm_schema, buf, len, maxlen, MSGPARSE_WHOLE,
	    &m, &dw);
	if (rc != v->code) {
		fprintf(stderr, "\n  %s: want %d got %d", v->file, v->code,
		    rc);
		tm_dump(v->file, &d);
	}
	CU_ASSERT_EQUAL(rc, v->code);
	CU_ASSERT_EQUAL(rw, v->code);
	CU_ASSERT_EQUAL_FATAL(d.n >= 1, 1);
	CU_ASSERT_EQUAL(d.d[0].code, rc);
	p = xasprintf("%s: %s", d.d[0].xpath, d.d[0].text);
	if (strstr(p, v->why) == NULL)
		fprintf(stderr, "\n  %s: \"%s\" not in \"%s\"", v->file,
		    v->why, p);
	CU_ASSERT_PTR_NOT_NULL(strstr(p, v->why));
	free(p);
	free(buf);
}

/* 1 if file is in the table of invalid fixtures. */
static int
tm_invalid_listed(const char *file)
{
	size_t	 i;

	for (i = 0; i < TM_NEL(tm_invalid); i++)
		if (strcmp(tm_invalid[i].file, file) == 0)
			return 1;
	return 0;
}

static void
test_invalid_fixtures(void)
{
	size_t		 i;
	int		 codes[MSG_ER_CODES];

	memset(codes, 0, sizeof codes);
	for (i = 0; i < TM_NEL(tm_invalid); i++) {
		tm_check_invalid(&tm_invalid[i]);
		codes[tm_invalid[i].code]++;
	}
	CU_ASSERT_EQUAL(tm_dir_listed("invalid", tm_invalid_listed),
	    (int)TM_NEL(tm_invalid));
	/* One fixture at least per number the parser answers with. */
	CU_ASSERT(codes[MSG_ER_HEADER] > 0);
	CU_ASSERT(codes[MSG_ER_MALFORMED] > 0);
	CU_ASSERT(codes[MSG_ER_DOB] > 0);
	CU_ASSERT(codes[MSG_ER_REQUIRED] > 0);
	CU_ASSERT(codes[MSG_ER_ATN] > 0);
	CU_ASSERT(codes[MSG_ER_DEST] > 0);
	CU_ASSERT(codes[MSG_ER_FORMAT] > 0);
	CU_ASSERT(codes[MSG_ER_TOO_LARGE] > 0);
}

/* One file, several distinct errors: all reported, in document order,
 * with lines and XPaths (prefixes as written). */
static void
test_multi_error(void)
{
	static const struct {
		int		 line;
		int		 code;
		const char	*xpath;
	} want[] = {
		{ 11, MSG_ER_HEADER,
		    "/n2:NLETS/n2:NLETSMessageHeader/nh2:OriginatingORIID" },
		{ 12, MSG_ER_DEST,
		    "/n2:NLETS/n2:NLETSMessageHeader/nh2:DestinationORIID" },
		{ 15, MSG_ER_REQUIRED,
		    "/n2:NLETS/n2:NLETSInquiryData/n2:Person" },
		{ 17, MSG_ER_DOB, "/n2:NLETS/n2:NLETSInquiryData/n2:Person/"
		    "nc:PersonBirthDate/nc:Date" },
	};
	struct msg_diags	 d;
	struct msg		 m;
	char			*buf;
	size_t			 len, i;
	int			 rc;

	buf = tm_read("fixtures/msg/invalid/multi-error.xml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	rc = msgparse_message(tm_schema, buf, len, TM_MAXLEN, 0, &m, &d);
	CU_ASSERT_EQUAL(rc, MSG_ER_HEADER);
	if (d.n != (int)TM_NEL(want))
		tm_dump("multi", &d);
	CU_ASSERT_EQUAL_FATAL(d.n, (int)TM_NEL(want));
	CU_ASSERT_EQUAL(d.dropped, 0);
	for (i = 0; i < TM_NEL(want); i++) {
		CU_ASSERT_EQUAL(d.d[i].line, want[i].line);
		CU_ASSERT_EQUAL(d.d[i].code, want[i].code);
		CU_ASSERT_STRING_EQUAL(d.d[i].xpath, want[i].xpath);
		CU_ASSERT(d.d[i].text[0] != '\0');
	}
	/* Still read as far as it goes. */
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DQ);
	CU_ASSERT_STRING_EQUAL(m.ori, "WA034");
	CU_ASSERT_STRING_EQUAL(m.dest[0], "C");
	CU_ASSERT_STRING_EQUAL(m.person.surname, "SAMPLE");
	CU_ASSERT_STRING_EQUAL(m.person.dob, "2999-01-01");
	free(buf);
}

/*
 * The order of the diagnostics is the document's, not the order the
 * checks found them in (the schema's first, then the switch's rules):
 * the first one in the document decides the ER number. Diagnostics on
 * the same line keep the order they were found in.
 */
static void
test_diag_order(void)
{
	static const char body[] = TM_INQ(TM_OLN("n2:Person", "S1234567")
	    "<n2:ShoeSize>11</n2:ShoeSize>\n");
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	const char		*c;
	char			*doc, *p;

	/* The control field (a rule, line 14) comes before the unknown
	 * element (the schema, line 17). */
	doc = xasprintf(TM_HEAD "%s" TM_TAIL, "DQ", "WA0340000", body);
	p = tm_sub(doc, ">T1<", ">CONTROL-FIELD-TOO-LONG<");
	free(doc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(tm_parse(p, &m, &d), MSG_ER_HEADER);
	CU_ASSERT_EQUAL_FATAL(d.n, 2);
	CU_ASSERT_EQUAL(d.d[0].code, MSG_ER_HEADER);
	CU_ASSERT_EQUAL(d.d[1].code, MSG_ER_FORMAT);
	CU_ASSERT(d.d[0].line < d.d[1].line);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.d[1].xpath, "n2:ShoeSize"));

	/* The same on one line: found order, the schema's first. */
	ubuf_init(&b);
	for (c = p; *c != '\0'; c++)
		if (*c != '\n')
			ubuf_add(&b, c, 1);
	free(p);
	p = ubuf_take(&b, NULL);
	CU_ASSERT_EQUAL(tm_parse(p, &m, &d), MSG_ER_FORMAT);
	CU_ASSERT_EQUAL_FATAL(d.n, 2);
	CU_ASSERT_EQUAL(d.d[0].line, d.d[1].line);
	CU_ASSERT_EQUAL(d.d[1].code, MSG_ER_HEADER);
	free(p);
}

/* A DQ by name (SAMPLE, ALEX, M) with dob (NULL or "": none) to dests
 * (NULL: CA), built with the builders. */
static void
tm_build_dq(struct ubuf *b, const char *dob, const char *const *dests,
    int ndest)
{
	static const char *const ca[] = { "CA" };
	struct msgbuild_person	 p;

	memset(&p, 0, sizeof p);
	p.surname = "SAMPLE";
	p.given = "ALEX";
	p.sex = "M";
	p.dob = dob;
	msgbuild_begin(b, MSG_KEY_DQ, "WA0340000", dests != NULL ? dests : ca,
	    dests != NULL ? ndest : 1, "T1");
	msgbuild_person(b, "n2:Person", &p);
	msgbuild_end(b, MSG_KEY_DQ);
}

static void
test_dob_table(void)
{
	static const struct {
		const char	*dob;
		const char	*why;	/* msg_dob_check; NULL: valid */
		int		 want;	/* in a DQ */
	} t[] = {
		{ "1980-02-29", NULL, 0 },		/* leap year */
		{ "2000-02-29", NULL, 0 },		/* divisible by 400 */
		{ "1900-02-29", "no such day in that month", MSG_ER_DOB },
		{ "1981-02-29", "no such day in that month", MSG_ER_DOB },
		{ "1981-02-28", NULL, 0 },
		{ "1980-04-31", "no such day in that month", MSG_ER_DOB },
		{ "1980-12-31", NULL, 0 },
		{ "1800-01-01", NULL, 0 },
		{ "1980-00-10", "no such month", MSG_ER_DOB },
		{ "1980-13-10", "no such month", MSG_ER_DOB },
		{ "1980-01-00", "no such day in that month", MSG_ER_DOB },
		{ "1980-01-32", "no such day in that month", MSG_ER_DOB },
		{ "1799-12-31", "year before 1800", MSG_ER_DOB },
		{ "2999-01-01", "date in the future", MSG_ER_DOB },
		{ "80-01-01", "not a YYYY-MM-DD date", MSG_ER_DOB },
		{ "1980-1-01", "not a YYYY-MM-DD date", MSG_ER_DOB },
		{ "1980/01/01", "not a YYYY-MM-DD date", MSG_ER_DOB },
		{ "19800101", "not a YYYY-MM-DD date", MSG_ER_DOB },
		{ "abcd-ef-gh", "not a YYYY-MM-DD date", MSG_ER_DOB },
		{ "1980-01-01Z", "not a YYYY-MM-DD date", MSG_ER_DOB },
		{ "", "not a YYYY-MM-DD date", MSG_ER_DOB }, /* no DOB */
	};
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	struct tm		 tm;
	time_t			 now = time(NULL);
	char			 today[16], tomorrow[16];
	const char		*why;
	size_t			 i;
	int			 rc;

	ubuf_init(&b);
	for (i = 0; i < TM_NEL(t); i++) {
		why = msg_dob_check(t[i].dob);
		CU_ASSERT_STRING_EQUAL(tm_s(why), tm_s(t[i].why));
		ubuf_reset(&b);
		tm_build_dq(&b, t[i].dob, NULL, 0);
		rc = tm_parse(b.data, &m, &d);
		if (rc != t[i].want) {
			fprintf(stderr, "\n  DOB \"%s\": want %d got %d",
			    t[i].dob, t[i].want, rc);
			tm_dump("dob", &d);
		}
		CU_ASSERT_EQUAL(rc, t[i].want);
		if (rc != 0 && d.n > 0)
			CU_ASSERT(strstr(d.d[0].xpath, "n2:Person") != NULL);
	}

	/* Today is fine, tomorrow is in the future (both UTC). */
	gmtime_r(&now, &tm);
	strftime(today, sizeof today, "%Y-%m-%d", &tm);
	now += 86400;
	gmtime_r(&now, &tm);
	strftime(tomorrow, sizeof tomorrow, "%Y-%m-%d", &tm);
	CU_ASSERT_PTR_NULL(msg_dob_check(today));
	CU_ASSERT_PTR_NOT_NULL(msg_dob_check(tomorrow));
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
		int		 valid;	/* msg_dest_is_valid */
		int		 want;	/* as a DQ's destination */
	} t[] = {
		{ "CA", 1, 0 },
		{ "NL", 1, 0 },
		{ "E1", 1, 0 },			/* a region code */
		{ "W9", 1, 0 },
		{ "CAOLN0000", 1, 0 },
		{ "WA0340000", 1, 0 },
		{ "C", 0, MSG_ER_DEST },
		{ "ca", 0, MSG_ER_DEST },
		{ "cA", 0, MSG_ER_DEST },
		{ "CA1", 0, MSG_ER_DEST },
		{ "1A", 0, MSG_ER_DEST },
		{ "12", 0, MSG_ER_DEST },
		{ "E10000000", 0, MSG_ER_DEST },	/* not an ORI */
		{ "CAOLN000", 0, MSG_ER_DEST },
		{ "CAOLN00000", 0, MSG_ER_DEST },
		{ "CA OLN000", 0, MSG_ER_DEST },
		{ "caoln0000", 0, MSG_ER_DEST },
		{ "", 0, MSG_ER_DEST },	/* no destination at all */
		{ " CA ", 0, 0 },	/* the blanks are not its value */
	};
	static const char *const six[] = { "CA", "E1", "ID", "NV",
	    "AZ0000000", "UT" };
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	size_t			 i;
	int			 rc;

	ubuf_init(&b);
	for (i = 0; i < TM_NEL(t); i++) {
		CU_ASSERT_EQUAL(msg_dest_is_valid(t[i].dest), t[i].valid);
		ubuf_reset(&b);
		tm_build_dq(&b, "1980-01-01", &t[i].dest, 1);
		rc = tm_parse(b.data, &m, &d);
		if (rc != t[i].want) {
			fprintf(stderr, "\n  dest \"%s\": want %d got %d",
			    t[i].dest, t[i].want, rc);
			tm_dump("dest", &d);
		}
		CU_ASSERT_EQUAL(rc, t[i].want);
	}
	CU_ASSERT_EQUAL(msg_dest_is_valid(NULL), 0);
	ubuf_reset(&b);
	tm_build_dq(&b, "1980-01-01", six, 5);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(m.ndest, 5);
	CU_ASSERT_STRING_EQUAL(m.dest[1], "E1");
	CU_ASSERT_STRING_EQUAL(m.dest[4], "AZ0000000");
	ubuf_reset(&b);
	tm_build_dq(&b, "1980-01-01", six, 6);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), MSG_ER_DEST);
	CU_ASSERT_EQUAL(d.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.d[0].xpath, "DestinationORIID[6]"));
	CU_ASSERT_EQUAL(m.ndest, 5);
	ubuf_free(&b);
}

static void
test_ori_table(void)
{
	static const struct {
		const char	*ori;
		int		 valid;
	} t[] = {
		{ "WA0340000", 1 }, { "CAOLN0000", 1 }, { "NL0000000", 1 },
		{ "ZZSIM0001", 1 }, { "WA034000", 0 }, { "WA03400000", 0 },
		{ "wa0340000", 0 }, { "1A0340000", 0 }, { "W10340000", 0 },
		{ "WA034000a", 0 }, { "WA 340000", 0 }, { "CA", 0 }, { "", 0 },
	};
	struct msg	 m;
	char		*doc, name[64];
	size_t		 i;

	for (i = 0; i < TM_NEL(t); i++) {
		CU_ASSERT_EQUAL(msg_ori_is_valid(t[i].ori), t[i].valid);
		doc = xasprintf(TM_HEAD "%s" TM_TAIL, "DQ", t[i].ori,
		    TM_INQ(TM_OLN("n2:Person", "S1234567")));
		snprintf(name, sizeof name, "ORI \"%s\"", t[i].ori);
		tm_expect(name, doc, t[i].valid ? 0 : MSG_ER_HEADER, &m);
		free(doc);
	}
	CU_ASSERT_EQUAL(msg_ori_is_valid(NULL), 0);
}

/*
 * The control field: 1 to 10 printable characters once the blanks
 * around it are dropped (CDATA or not).
 */
static void
test_ctl_table(void)
{
	static const struct {
		const char	*xml;	/* the element's content */
		const char	*value;	/* NULL: refused (.01.) */
	} t[] = {
		{ "T42", "T42" },
		{ "IMQ 1", "IMQ 1" },
		{ "0123456789", "0123456789" },
		{ "01234567890", NULL },
		{ "<![CDATA[ CTL0000001 ]]>", "CTL0000001" },
		{ "\n  <![CDATA[CTL0000001]]>\n  ", "CTL0000001" },
		{ "<![CDATA[<&>\"']]>", "<&>\"'" },
		{ "&lt;&amp;&gt;", "<&>" },
		{ "", NULL },
		{ "   ", NULL },
		{ "T\xc3\xa9", NULL },		/* not ASCII */
		{ "T&#9;1", NULL },		/* a tab inside */
	};
	static const struct {
		const char	*s;
		int		 valid;
	} v[] = {
		{ "T42", 1 }, { "~ !", 1 }, { "0123456789", 1 },
		{ "01234567890", 0 }, { "", 0 }, { "T\t1", 0 },
		{ "T\x7f", 0 }, { "T\xc3\xa9", 0 },
	};
	struct msg	 m;
	char		*doc, *el, *p;
	size_t		 i;
	int		 rc;

	for (i = 0; i < TM_NEL(v); i++)
		CU_ASSERT_EQUAL(msg_ctl_is_valid(v[i].s), v[i].valid);
	CU_ASSERT_EQUAL(msg_ctl_is_valid(NULL), 0);
	doc = xasprintf(TM_HEAD "%s" TM_TAIL, "DQ", "WA0340000",
	    TM_INQ(TM_OLN("n2:Person", "S1234567")));
	for (i = 0; i < TM_NEL(t); i++) {
		el = xasprintf("<nh2:DocumentControlFieldText>%s<", t[i].xml);
		p = tm_sub(doc, "<nh2:DocumentControlFieldText>T1<", el);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		rc = tm_expect(t[i].xml, p, t[i].value != NULL ? 0 :
		    MSG_ER_HEADER, &m);
		if (rc == 0)
			CU_ASSERT_STRING_EQUAL(m.ctl, tm_s(t[i].value));
		free(p);
		free(el);
	}
	free(doc);
}

/* The attention field: 30 characters at most (not bytes, not blanks). */
static void
test_atn_table(void)
{
	static const struct {
		const char	*name;
		const char	*text;		/* "%A": 30 'A's */
		int		 want;
		const char	*atn;		/* what m.atn holds */
	} t[] = {
		{ "30", "%A", 0, "%A" },
		{ "31", "%AB", MSG_ER_ATN, NULL },
		{ "empty", "", 0, "" },
		{ "30 with blanks around", "\n      %A\n    ", 0, "%A" },
		{ "30 in CDATA", "<![CDATA[%A]]>", 0, "%A" },
		{ "30 two-byte characters",
		    "\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89"
		    "\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89"
		    "\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89"
		    "\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89\xc3\x89"
		    "\xc3\x89\xc3\x89", 0, NULL },
		{ "31 with a reference", "%A&amp;", MSG_ER_ATN, NULL },
		{ "over the schema's 200", "%A%A%A%A%A%A%A", MSG_ER_ATN,
		    NULL },
	};
	static const char A30[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	struct msg	 m;
	struct ubuf	 b;
	const char	*p;
	char		*doc, *want;
	size_t		 i;

	for (i = 0; i < TM_NEL(t); i++) {
		ubuf_init(&b);
		for (p = t[i].text; *p != '\0'; p++) {
			if (p[0] == '%' && p[1] == 'A') {
				ubuf_adds(&b, A30);
				p++;
			} else
				ubuf_add(&b, p, 1);
		}
		want = xstrdup(t[i].atn != NULL && strcmp(t[i].atn, "%A") ==
		    0 ? A30 : tm_s(t[i].atn));
		p = ubuf_take(&b, NULL);
		doc = xasprintf(TM_HEAD TM_INQ(TM_OLN("n2:Person", "S1")
		    "<n2:ResponseAttentionDescriptionText>%s"
		    "</n2:ResponseAttentionDescriptionText>\n") TM_TAIL, "DQ",
		    "WA0340000", p);
		if (tm_expect(t[i].name, doc, t[i].want, &m) == 0 &&
		    t[i].atn != NULL)
			CU_ASSERT_STRING_EQUAL(m.atn, want);
		free(doc);
		free((char *)p);
		free(want);
	}
}

/*
 * What each query key needs: the license number, or surname and given
 * name with birth date and sex (DQ, KQ; a name without birth date is
 * .05.); a DNQ a surname and a given name.
 */

#define TQ_DOB	0x01
#define TQ_NAME	0x02		/* given and surname */
#define TQ_SUR	0x04		/* surname only */
#define TQ_GIV	0x08		/* given name only */
#define TQ_FULL	0x10	/* nc:PersonFullName "SAMPLE, ALEX J" */
#define TQ_BADF	0x20	/* nc:PersonFullName without a comma */
#define TQ_SEX	0x40
#define TQ_OLN	0x80
#define TQ_OLS	0x100		/* the issuing state alone */

static char *
tm_query_doc(const char *key, const char *el, int parts)
{
	struct ubuf	 b;
	char		*s;

	ubuf_init(&b);
	ubuf_printf(&b, TM_HEAD "<n2:NLETSInquiryData>\n<%s>\n", key,
	    "WA0340000", el);
	if (parts & TQ_DOB)
		ubuf_adds(&b, "<nc:PersonBirthDate><nc:Date>1980-02-29"
		    "</nc:Date></nc:PersonBirthDate>\n");
	if (parts & (TQ_NAME | TQ_SUR | TQ_GIV | TQ_FULL | TQ_BADF)) {
		ubuf_adds(&b, "<nc:PersonName>");
		if (parts & (TQ_NAME | TQ_GIV))
			ubuf_adds(&b, "<nc:PersonGivenName>ALEX"
			    "</nc:PersonGivenName>");
		if (parts & (TQ_NAME | TQ_SUR))
			ubuf_adds(&b, "<nc:PersonSurName>SAMPLE"
			    "</nc:PersonSurName>");
		if (parts & TQ_FULL)
			ubuf_adds(&b, "<nc:PersonFullName>SAMPLE, ALEX J"
			    "</nc:PersonFullName>");
		if (parts & TQ_BADF)
			ubuf_adds(&b, "<nc:PersonFullName>ALEX SAMPLE"
			    "</nc:PersonFullName>");
		ubuf_adds(&b, "</nc:PersonName>\n");
	}
	if (parts & TQ_SEX)
		ubuf_adds(&b, "<nc:PersonSexCode>M</nc:PersonSexCode>\n");
	if (parts & (TQ_OLN | TQ_OLS)) {
		ubuf_adds(&b, "<j:PersonAugmentation><nc:DriverLicense>"
		    "<nc:DriverLicenseIdentification>");
		if (parts & TQ_OLN)
			ubuf_adds(&b, "<nc:IdentificationID>S1234567"
			    "</nc:IdentificationID>");
		ubuf_adds(&b, "<nc:IdentificationJurisdictionText>CA"
		    "</nc:IdentificationJurisdictionText>"
		    "</nc:DriverLicenseIdentification></nc:DriverLicense>"
		    "</j:PersonAugmentation>\n");
	}
	ubuf_printf(&b, "</%s>\n</n2:NLETSInquiryData>\n" TM_TAIL, el);
	s = ubuf_take(&b, NULL);
	return s;
}

static void
test_query_rules(void)
{
	static const struct {
		const char	*key;
		const char	*el;
		int		 parts;
		int		 want;
	} t[] = {
		{ "DQ", "n2:Person", TQ_OLN, 0 },
		{ "DQ", "n2:Person", TQ_OLN | TQ_OLS, 0 },
		{ "DQ", "n2:Person", TQ_DOB | TQ_NAME | TQ_SEX, 0 },
		{ "DQ", "n2:Person", TQ_DOB | TQ_FULL | TQ_SEX, 0 },
		{ "DQ", "n2:Person", TQ_NAME | TQ_SEX | TQ_OLN, 0 },
		{ "DQ", "n2:Person", TQ_NAME | TQ_SEX, MSG_ER_DOB },
		{ "DQ", "n2:Person", TQ_DOB | TQ_SUR | TQ_SEX,
		    MSG_ER_REQUIRED },
		{ "DQ", "n2:Person", TQ_DOB | TQ_GIV | TQ_SEX,
		    MSG_ER_REQUIRED },
		{ "DQ", "n2:Person", TQ_DOB | TQ_NAME, MSG_ER_REQUIRED },
		{ "DQ", "n2:Person", TQ_DOB | TQ_BADF | TQ_SEX,
		    MSG_ER_REQUIRED },
		{ "DQ", "n2:Person", TQ_OLS, MSG_ER_REQUIRED },
		{ "DQ", "n2:Person", 0, MSG_ER_REQUIRED },
		{ "DQ", "n2c:Driver", TQ_OLN, 0 },
		{ "KQ", "n2c:Driver", TQ_OLN, 0 },
		{ "KQ", "n2c:Driver", TQ_DOB | TQ_NAME | TQ_SEX, 0 },
		{ "KQ", "n2:Person", TQ_DOB | TQ_NAME | TQ_SEX, 0 },
		{ "KQ", "n2c:Driver", TQ_NAME | TQ_SEX, MSG_ER_DOB },
		{ "KQ", "n2c:Driver", TQ_DOB | TQ_SUR, MSG_ER_REQUIRED },
		/* A DQG: name, birth date and sex, never a license. */
		{ "DQG", "n2:Person", TQ_DOB | TQ_NAME | TQ_SEX, 0 },
		{ "DQG", "n2:Person", TQ_DOB | TQ_FULL | TQ_SEX, 0 },
		{ "DQG", "n2c:Driver", TQ_DOB | TQ_NAME | TQ_SEX, 0 },
		{ "DQG", "n2:Person", TQ_OLN, MSG_ER_REQUIRED },
		{ "DQG", "n2:Person", TQ_DOB | TQ_NAME | TQ_SEX | TQ_OLN,
		    MSG_ER_FORMAT },
		{ "DQG", "n2:Person", TQ_DOB | TQ_NAME | TQ_SEX | TQ_OLS,
		    MSG_ER_FORMAT },
		{ "DQG", "n2:Person", TQ_NAME | TQ_SEX, MSG_ER_DOB },
		{ "DQG", "n2:Person", TQ_NAME | TQ_SEX | TQ_OLN, MSG_ER_DOB },
		{ "DQG", "n2:Person", TQ_DOB | TQ_NAME, MSG_ER_REQUIRED },
		{ "DQG", "n2:Person", TQ_DOB | TQ_SUR | TQ_SEX,
		    MSG_ER_REQUIRED },
		{ "DQG", "n2:Person", 0, MSG_ER_REQUIRED },
		{ "DNQ", "n2:Person", TQ_NAME, 0 },
		{ "DNQ", "n2:Person", TQ_FULL, 0 },
		{ "DNQ", "n2:Person", TQ_NAME | TQ_DOB | TQ_SEX, 0 },
		{ "DNQ", "n2:Person", TQ_SUR | TQ_DOB | TQ_SEX,
		    MSG_ER_REQUIRED },
		{ "DNQ", "n2:Person", TQ_OLN, MSG_ER_REQUIRED },
		{ "DNQ", "n2:Person", 0, MSG_ER_REQUIRED },
	};
	struct msg	 m;
	char		*doc, name[64];
	size_t		 i;

	for (i = 0; i < TM_NEL(t); i++) {
		doc = tm_query_doc(t[i].key, t[i].el, t[i].parts);
		snprintf(name, sizeof name, "%s %s 0x%x", t[i].key, t[i].el,
		    t[i].parts);
		if (tm_expect(name, doc, t[i].want, &m) == 0 &&
		    (t[i].parts & (TQ_NAME | TQ_FULL))) {
			CU_ASSERT_STRING_EQUAL(m.person.surname, "SAMPLE");
			CU_ASSERT_STRING_EQUAL(m.person.given, "ALEX");
			CU_ASSERT_STRING_EQUAL(m.person.middle,
			    t[i].parts & TQ_FULL ? "J" : "");
		}
		free(doc);
	}
}

/*
 * Each key travels in its own body, and a mail body in the form its
 * key uses (an SM its status text, an AM no Amber Alert content, n2:key
 * the header's key when present).
 */
static void
test_body_table(void)
{
	static const struct {
		const char	*name;
		const char	*key;
		const char	*ori;
		const char	*body;
		int		 want;
	} t[] = {
		{ "AM", "AM", "WA0340000", "<n2:NLETSMailData n2:key=\"AM\">"
		    "<n2:MailMessageText>X</n2:MailMessageText>"
		    "</n2:NLETSMailData>\n", 0 },
		{ "AM without n2:key", "AM", "WA0340000", "<n2:NLETSMailData>"
		    "<n2:MailMessageText>X</n2:MailMessageText>"
		    "</n2:NLETSMailData>\n", 0 },
		{ "AM with an image", "AM", "WA0340000", "<n2:NLETSMailData>"
		    "<n2:MailMessageText>X</n2:MailMessageText><nc:Image>"
		    "<nc:BinaryBase64Object>QUJD</nc:BinaryBase64Object>"
		    "<nc:BinarySizeValue>0.003</nc:BinarySizeValue></nc:Image>"
		    "</n2:NLETSMailData>\n", 0 },
		{ "AM, n2:key AML", "AM", "WA0340000", "<n2:NLETSMailData "
		    "n2:key=\"AML\"><n2:MailMessageText>X</n2:MailMessageText>"
		    "</n2:NLETSMailData>\n", MSG_ER_FORMAT },
		{ "AM, n2:key not a key", "AM", "WA0340000",
		    "<n2:NLETSMailData n2:key=\"am\"><n2:MailMessageText>X"
		    "</n2:MailMessageText></n2:NLETSMailData>\n",
		    MSG_ER_FORMAT },
		{ "AML", "AML", "WA0340000",
		    "<n2:NLETSMailData n2:key=\"AML\">"
		    "<n2:MailMessageText>X</n2:MailMessageText>"
		    "</n2:NLETSMailData>\n", 0 },
		{ "AA free text", "AA", "WA0340000", "<n2:NLETSMailData "
		    "n2:key=\"AA\"><n2:AmberAlertCategoryText>ABDUCTION"
		    "</n2:AmberAlertCategoryText><n2:MailMessageText>X"
		    "</n2:MailMessageText></n2:NLETSMailData>\n", 0 },
		{ "AA standardized, empty", "AA", "WA0340000",
		    "<n2:NLETSMailData n2:key=\"AA\"><n2-aa:AmberAlert/>"
		    "</n2:NLETSMailData>\n", 0 },
		{ "AM with an Amber Alert category", "AM", "WA0340000",
		    "<n2:NLETSMailData><n2:AmberAlertCategoryText>X"
		    "</n2:AmberAlertCategoryText><n2:MailMessageText>X"
		    "</n2:MailMessageText></n2:NLETSMailData>\n",
		    MSG_ER_FORMAT },
		{ "AML with a standardized AA", "AML", "WA0340000",
		    "<n2:NLETSMailData><n2-aa:AmberAlert/>"
		    "</n2:NLETSMailData>\n", MSG_ER_FORMAT },
		{ "SM", "SM", "ORDMV0000", "<n2:NLETSMailData n2:key=\"SM\">"
		    "<n2:StatusMessageText>X</n2:StatusMessageText>"
		    "</n2:NLETSMailData>\n", 0 },
		{ "SM from the switch", "SM", MSG_SWITCH_ORI,
		    "<n2:NLETSMailData><n2:StatusMessageText>.04. X"
		    "</n2:StatusMessageText></n2:NLETSMailData>\n", 0 },
		{ "SM with a mail text", "SM", "ORDMV0000",
		    "<n2:NLETSMailData><n2:MailMessageText>X"
		    "</n2:MailMessageText></n2:NLETSMailData>\n",
		    MSG_ER_FORMAT },
		{ "AM with a status text", "AM", "WA0340000",
		    "<n2:NLETSMailData><n2:StatusMessageText>X"
		    "</n2:StatusMessageText></n2:NLETSMailData>\n",
		    MSG_ER_FORMAT },
		{ "AM in an inquiry", "AM", "WA0340000",
		    TM_INQ(TM_OLN("n2:Person", "S1")), MSG_ER_FORMAT },
		{ "DQ in a response", "DQ", "WA0340000",
		    TM_RSP("<n2:ResponseText>X</n2:ResponseText>\n"),
		    MSG_ER_FORMAT },
		{ "DR in an inquiry", "DR", "CAOLN0000",
		    TM_INQ(TM_OLN("n2:Person", "S1")), MSG_ER_FORMAT },
		{ "ER in mail", "ER", MSG_SWITCH_ORI, "<n2:NLETSMailData>"
		    "<n2:StatusMessageText>.05. X</n2:StatusMessageText>"
		    "</n2:NLETSMailData>\n", MSG_ER_FORMAT },
		{ "ER", "ER", MSG_SWITCH_ORI,
		    TM_RSP("<n2:ResponseText>.93. X</n2:ResponseText>\n"), 0 },
		{ "ER without its number", "ER", MSG_SWITCH_ORI,
		    TM_RSP("<n2:ResponseText>ERROR</n2:ResponseText>\n"),
		    MSG_ER_FORMAT },
		{ "ER numbered 0", "ER", MSG_SWITCH_ORI,
		    TM_RSP("<n2:ResponseText>.00. X</n2:ResponseText>\n"),
		    MSG_ER_FORMAT },
		{ "DR free text and a record", "DR", "CAOLN0000",
		    TM_RSP("<n2:ResponseText>X</n2:ResponseText>\n"
		    TM_OLN("n2c:Driver", "S1")), 0 },
		{ "DR record with a blank license number", "DR", "CAOLN0000",
		    TM_RSP(TM_OLN("n2c:Driver", " ")), MSG_ER_REQUIRED },
		{ "DNR, the second record without one", "DNR", "CAOLN0000",
		    TM_RSP(TM_OLN("n2c:Driver", "S1") "<n2c:Driver><nc:Person"
		    "SexCode>M</nc:PersonSexCode></n2c:Driver>\n"),
		    MSG_ER_REQUIRED },
		{ "empty mail body", "AM", "WA0340000",
		    "<n2:NLETSMailData n2:key=\"AM\"/>\n", MSG_ER_MALFORMED },
		{ "empty inquiry", "DQ", "WA0340000",
		    "<n2:NLETSInquiryData></n2:NLETSInquiryData>\n",
		    MSG_ER_MALFORMED },
		{ "empty response", "DR", "CAOLN0000",
		    "<n2:NLETSResponseData/>\n", MSG_ER_MALFORMED },
		{ "two bodies", "DQ", "WA0340000",
		    TM_INQ(TM_OLN("n2:Person", "S1"))
		    TM_INQ(TM_OLN("n2:Person", "S1")), MSG_ER_FORMAT },
	};
	struct msg	 m;
	char		*doc;
	size_t		 i;

	for (i = 0; i < TM_NEL(t); i++) {
		doc = xasprintf(TM_HEAD "%s" TM_TAIL, t[i].key, t[i].ori,
		    t[i].body);
		tm_expect(t[i].name, doc, t[i].want, &m);
		free(doc);
	}
}

/* Stamps a sender wrote: accepted when well-formed (and then replaced),
 * refused with .01. when not. */
static void
test_sender_stamps(void)
{
	static const struct {
		const char	*stamps;
		int		 want;
	} t[] = {
		{ "<nh2:MessageReceiveDate>12/31/2024</nh2:MessageReceiveDate>"
		    "<nh2:MessageReceiveTime>23:59</nh2:MessageReceiveTime>"
		    "<nh2:MessageSendDate>01/01/2025</nh2:MessageSendDate>"
		    "<nh2:MessageSendTime>00:00</nh2:MessageSendTime>"
		    "<nh2:ReceiveMessageNumeric>99999</nh2:ReceiveMessage"
		    "Numeric><nh2:SendMessageNumeric>00000</nh2:SendMessage"
		    "Numeric>", 0 },
		{ "<nh2:SendMessageNumeric>00885</nh2:SendMessageNumeric>",
		    0 },
		{ "<nh2:MessageReceiveDate>13/01/2024"
		    "</nh2:MessageReceiveDate>",
		    MSG_ER_HEADER },
		{ "<nh2:MessageReceiveDate>2/1/2024</nh2:MessageReceiveDate>",
		    MSG_ER_HEADER },
		{ "<nh2:MessageSendDate>2024-01-02</nh2:MessageSendDate>",
		    MSG_ER_HEADER },
		{ "<nh2:MessageReceiveTime>24:00</nh2:MessageReceiveTime>",
		    MSG_ER_HEADER },
		{ "<nh2:MessageSendTime>9:00</nh2:MessageSendTime>",
		    MSG_ER_HEADER },
		{ "<nh2:ReceiveMessageNumeric>100000</nh2:ReceiveMessage"
		    "Numeric>", MSG_ER_HEADER },
		{ "<nh2:SendMessageNumeric>0001</nh2:SendMessageNumeric>",
		    MSG_ER_HEADER },
		/* Out of order. */
		{ "<nh2:MessageSendDate>01/01/2025</nh2:MessageSendDate>"
		    "<nh2:MessageReceiveDate>12/31/2024</nh2:MessageReceive"
		    "Date>", MSG_ER_HEADER },
		/* Not after the control field. */
		{ "<nh2:MessageSendDate>01/01/2025</nh2:MessageSendDate>"
		    "<nh2:DocumentControlFieldText>T2</nh2:DocumentControl"
		    "FieldText>", MSG_ER_HEADER },
	};
	struct msg	 m;
	char		*doc, *with, *ins;
	size_t		 i;

	doc = xasprintf(TM_HEAD "%s" TM_TAIL, "DQ", "WA0340000",
	    TM_INQ(TM_OLN("n2:Person", "S1")));
	for (i = 0; i < TM_NEL(t); i++) {
		ins = xasprintf("%s</n2:NLETSMessageHeader>", t[i].stamps);
		with = tm_sub(doc, "</n2:NLETSMessageHeader>", ins);
		CU_ASSERT_PTR_NOT_NULL_FATAL(with);
		/* They lie between the two offsets: stamping replaces them. */
		if (tm_expect(t[i].stamps, with, t[i].want, &m) == 0)
			CU_ASSERT(strstr(with + m.stamp_off, t[i].stamps) +
			    strlen(t[i].stamps) == with + m.hdr_end);
		free(with);
		free(ins);
	}
	free(doc);
}

/*
 * The message model's tables and small rules.
 */

static void
test_tables(void)
{
	static const struct {
		enum msg_key	 key;
		const char	*name;
		enum msg_body	 body;
		int		 query, response;
	} k[] = {
		{ MSG_KEY_DQ, "DQ", MSG_BODY_INQUIRY, 1, 0 },
		{ MSG_KEY_DR, "DR", MSG_BODY_RESPONSE, 0, 1 },
		{ MSG_KEY_KQ, "KQ", MSG_BODY_INQUIRY, 1, 0 },
		{ MSG_KEY_KR, "KR", MSG_BODY_RESPONSE, 0, 1 },
		{ MSG_KEY_DNQ, "DNQ", MSG_BODY_INQUIRY, 1, 0 },
		{ MSG_KEY_DNR, "DNR", MSG_BODY_RESPONSE, 0, 1 },
		{ MSG_KEY_AM, "AM", MSG_BODY_MAIL, 0, 0 },
		{ MSG_KEY_AML, "AML", MSG_BODY_MAIL, 0, 0 },
		{ MSG_KEY_AA, "AA", MSG_BODY_MAIL, 0, 0 },
		{ MSG_KEY_SM, "SM", MSG_BODY_MAIL, 0, 0 },
		{ MSG_KEY_ER, "ER", MSG_BODY_RESPONSE, 0, 0 },
		{ MSG_KEY_DQG, "DQG", MSG_BODY_INQUIRY, 1, 0 },
		{ MSG_KEY_YQ, "YQ", MSG_BODY_INQUIRY, 0, 0 },
		{ MSG_KEY_YR, "YR", MSG_BODY_RESPONSE, 0, 0 },
	};
	static const struct {
		int		 code;
		const char	*words;
	} er[] = {
		{ MSG_ER_HEADER, "INVALID HEADER INFORMATION" },
		{ MSG_ER_NOT_ALLOWED,
		    "MESSAGE TYPE NOT ALLOWED TO DESTINATION" },
		{ MSG_ER_MALFORMED, "TXT NOT FOUND OR IMPROPERLY FORMED XML" },
		{ MSG_ER_DOB, "DOB INVALID or MISSING" },
		{ MSG_ER_REQUIRED, "FIELDS MISSING" },
		{ MSG_ER_ATN, "ATN FIELD INVALID" },
		{ MSG_ER_DEST, "INVALID DESTINATION ORIs" },
		{ MSG_ER_FORMAT, "INVALID MESSAGE FORMAT" },
		{ MSG_ER_ORI, "LINE NOT AUTHORIZED FOR ORIGINATING ORI" },
		{ MSG_ER_TOO_LARGE, "MESSAGE TOO LARGE" },
		{ MSG_ER_QUEUE_FULL, "QUEUE FULL, RESEND LATER" },
		{ MSG_ER_UNAVAILABLE,
		    "SWITCH NOT ACCEPTING MESSAGES, RESEND LATER" },
		{ MSG_ER_POLICY, "DENIED BY PHOTO-SHARING POLICY" },
		{ 0, "UNKNOWN ERROR" }, { 4, "UNKNOWN ERROR" },
		{ 101, "UNKNOWN ERROR" }, { -1, "UNKNOWN ERROR" },
	};
	static const struct {
		int		 status;
		const char	*words;
	} sm[] = {
		{ MSG_SM_NOT_ACCEPTED,
		    "USER DOES NOT RESPOND TO MSG TYPE, NLETS WILL NOT "
		    "FORWARD" },
		{ MSG_SM_HELD,
		    "USER OUT OF SERVICE FOR MSG TYPE, NLETS WILL FORWARD" },
		{ MSG_SM_REMOVED,
		    "USER OUT OF SERVICE FOR MSG TYPE, NLETS WILL NOT "
		    "FORWARD" },
		{ MSG_SM_EXPIRED,
		    "HELD MESSAGE EXPIRED, NLETS WILL NOT FORWARD" },
		{ MSG_SM_DAMAGED,
		    "HELD MESSAGE DAMAGED IN STORAGE, NLETS WILL NOT FORWARD" },
		{ MSG_SM_PHOTO_WITHHELD,
		    "PHOTO REQUEST PARTLY DENIED BY PHOTO-SHARING POLICY" },
		{ 3, "UNKNOWN STATUS" }, { 77, "UNKNOWN STATUS" },
	};
	static const struct {
		const char	*uri;
		enum msg_ns	 ns;
	} ns[] = {
		{ MSG_NS_N2, MSG_NS_ID_N2 },
		{ MSG_NS_NH2, MSG_NS_ID_NH2 },
		{ MSG_NS_N2C, MSG_NS_ID_N2C },
		{ MSG_NS_AA, MSG_NS_ID_AA },
		{ MSG_NS_NC, MSG_NS_ID_NC },
		{ MSG_NS_J, MSG_NS_ID_J },
		{ MSG_NS_J40, MSG_NS_ID_J },
		{ MSG_NS_PSP, MSG_NS_ID_PSP },
		{ "http://release.niem.gov/niem/niem-core/3.0/",
		    MSG_NS_OTHER },
		{ "http://niem.gov/niem/domains/jxdm/4.2", MSG_NS_OTHER },
		{ "http://www.nlets.org/niem/1.0/", MSG_NS_OTHER },
		{ "", MSG_NS_OTHER },
	};
	size_t	 i;

	for (i = 0; i < TM_NEL(k); i++) {
		CU_ASSERT_STRING_EQUAL(tm_s(msg_key_name(k[i].key)),
		    k[i].name);
		CU_ASSERT_EQUAL(msg_key_lookup(k[i].name), k[i].key);
		CU_ASSERT_EQUAL(msg_key_body(k[i].key), k[i].body);
		CU_ASSERT_EQUAL(msg_key_is_query(k[i].key), k[i].query);
		CU_ASSERT_EQUAL(msg_key_is_response(k[i].key), k[i].response);
		/* ER .22. lists the options of every key but ER. */
		CU_ASSERT_EQUAL(msg_er_options(k[i].key) != NULL,
		    k[i].key != MSG_KEY_ER);
	}
	CU_ASSERT_EQUAL(TM_NEL(k), MSG_KEY_MAX - 1);
	/* What a destination receives: a DQG's states get a DQ. */
	for (i = 0; i < TM_NEL(k); i++)
		CU_ASSERT_EQUAL(msg_key_delivered(k[i].key),
		    k[i].key == MSG_KEY_DQG ? MSG_KEY_DQ : k[i].key);
	CU_ASSERT_STRING_EQUAL(tm_s(msg_er_options(MSG_KEY_DQG)),
	    "1. NAM, DOB, SEX");
	CU_ASSERT_PTR_NULL(msg_key_name(MSG_KEY_NONE));
	CU_ASSERT_PTR_NULL(msg_key_name(MSG_KEY_MAX));
	CU_ASSERT_EQUAL(msg_key_lookup("XQ"), MSG_KEY_NONE);
	CU_ASSERT_EQUAL(msg_key_lookup("dq"), MSG_KEY_NONE);
	CU_ASSERT_EQUAL(msg_key_lookup("DQ "), MSG_KEY_NONE);
	CU_ASSERT_EQUAL(msg_key_lookup(""), MSG_KEY_NONE);
	CU_ASSERT_EQUAL(msg_key_lookup(NULL), MSG_KEY_NONE);
	CU_ASSERT_EQUAL(msg_key_body(MSG_KEY_NONE), MSG_BODY_NONE);
	CU_ASSERT_EQUAL(msg_key_body(MSG_KEY_MAX), MSG_BODY_NONE);
	CU_ASSERT_STRING_EQUAL(tm_s(msg_body_name(MSG_BODY_INQUIRY)),
	    "NLETSInquiryData");
	CU_ASSERT_STRING_EQUAL(tm_s(msg_body_name(MSG_BODY_RESPONSE)),
	    "NLETSResponseData");
	CU_ASSERT_STRING_EQUAL(tm_s(msg_body_name(MSG_BODY_MAIL)),
	    "NLETSMailData");
	CU_ASSERT_PTR_NULL(msg_body_name(MSG_BODY_NONE));
	CU_ASSERT_PTR_NULL(msg_body_name((enum msg_body)4));
	CU_ASSERT_STRING_EQUAL(tm_s(msg_er_options(MSG_KEY_DQ)),
	    "1. OLN\n2. NAM, DOB, SEX");
	CU_ASSERT_PTR_NULL(msg_er_options(MSG_KEY_NONE));
	CU_ASSERT_PTR_NULL(msg_er_options(MSG_KEY_MAX));

	for (i = 0; i < TM_NEL(er); i++) {
		CU_ASSERT_STRING_EQUAL(msg_er_reason(er[i].code), er[i].words);
		if (er[i].code > 0 && strcmp(er[i].words, "UNKNOWN ERROR"))
			CU_ASSERT(er[i].code < MSG_ER_CODES);
	}
	for (i = 0; i < TM_NEL(sm); i++)
		CU_ASSERT_STRING_EQUAL(msg_sm_text(sm[i].status), sm[i].words);
	for (i = 0; i < TM_NEL(ns); i++)
		CU_ASSERT_EQUAL(msg_ns_lookup(ns[i].uri), ns[i].ns);
	CU_ASSERT_EQUAL(msg_ns_lookup(NULL), MSG_NS_OTHER);
}

static void
test_text_number(void)
{
	static const struct {
		const char	*s;
		int		 want;
	} t[] = {
		{ ".02. USER OUT OF SERVICE", 2 }, { "02 USER", 2 },
		{ " \n.05.", 5 }, { ".5.", 5 }, { "7", 7 }, { ".22.", 22 },
		{ "99 X", 99 }, { ".00.", 0 }, { ".123.", -1 }, { "123", -1 },
		{ "X", -1 }, { "", -1 }, { ".", -1 }, { "..02.", -1 },
		{ ".02X", -1 }, { "02-", -1 }, { "-2", -1 },
	};
	size_t	 i;

	for (i = 0; i < TM_NEL(t); i++) {
		if (msg_text_number(t[i].s) != t[i].want)
			fprintf(stderr, "\n  number \"%s\": want %d got %d",
			    t[i].s, t[i].want, msg_text_number(t[i].s));
		CU_ASSERT_EQUAL(msg_text_number(t[i].s), t[i].want);
	}
	CU_ASSERT_EQUAL(msg_text_number(NULL), -1);
}

static void
test_strings(void)
{
	static const struct {
		const char	*s;
		size_t		 len, n, want;
	} cut[] = {
		{ "abc", 3, 5, 3 },
		{ "abc", 3, 3, 3 },
		{ "abc", 3, 2, 2 },
		{ "abc", 3, 0, 0 },
		{ "a\xc3\xa9", 3, 2, 1 },		/* é across the cut */
		{ "a\xc3\xa9", 3, 3, 3 },
		{ "a\xe2\x82\xac" "b", 5, 2, 1 },	/* € */
		{ "a\xe2\x82\xac" "b", 5, 3, 1 },
		{ "a\xe2\x82\xac" "b", 5, 4, 4 },
		{ "\xf0\x9f\x98\x80" "x", 5, 3, 0 },	/* a 4-byte one */
		{ "\xf0\x9f\x98\x80" "x", 5, 4, 4 },
		{ "\x80\x80\x80\x80\x80", 5, 4, 4 },	/* not UTF-8 */
	};
	char	 buf[8];
	size_t	 i;

	for (i = 0; i < TM_NEL(cut); i++)
		CU_ASSERT_EQUAL(msg_utf8_cut(cut[i].s, cut[i].len, cut[i].n),
		    cut[i].want);

	msg_cpy(buf, 5, "abcdef", 6);
	CU_ASSERT_STRING_EQUAL(buf, "abcd");
	msg_cpy(buf, 4, "ab\xc3\xa9", 4);
	CU_ASSERT_STRING_EQUAL(buf, "ab");
	msg_cpy(buf, sizeof buf, "ab\0cd", 2);
	CU_ASSERT_STRING_EQUAL(buf, "ab");
	memcpy(buf, "xyz", 4);
	msg_cpy(buf, 0, "abc", 3);
	CU_ASSERT_STRING_EQUAL(buf, "xyz");

	msg_filter(buf, sizeof buf, "A\x01" "B\x7f" "C", ' ', '~', 10);
	CU_ASSERT_STRING_EQUAL(buf, "ABC");
	msg_filter(buf, sizeof buf, "A\x01" "B\x7f" "C", ' ', '~', 2);
	CU_ASSERT_STRING_EQUAL(buf, "AB");
	msg_filter(buf, 3, "ABCDEF", ' ', '~', 10);
	CU_ASSERT_STRING_EQUAL(buf, "AB");
	msg_filter(buf, sizeof buf, NULL, ' ', '~', 10);
	CU_ASSERT_STRING_EQUAL(buf, "");
}

/* msg_er_split on texts written by hand: the parts of an ER's text. */
static void
test_er_split(void)
{
	static const struct {
		const char	*text;
		int		 rc, code;
		const char	*reason;	/* NULL: absent */
		const char	*detail;
		const char	*input;
	} t[] = {
		{ ".05. DOB INVALID or MISSING\nORIGINAL MESSAGE\nDQ.X",
		    0, 5, "DOB INVALID or MISSING", NULL, "DQ.X" },
		{ ".05. DOB INVALID or MISSING\nbirth date \"1981-02-29\": no "
		    "such day\nORIGINAL MESSAGE\n<a/>\nmore", 0, 5,
		    "DOB INVALID or MISSING",
		    "birth date \"1981-02-29\": no such day", "<a/>\nmore" },
		{ ".22. INVALID MESSAGE FORMAT - REFER TO DQ MKE OPTIONS BELOW"
		    "\n1. OLN\n2. NAM, DOB, SEX\nORIGINAL MESSAGE\nx", 0, 22,
		    "INVALID MESSAGE FORMAT - REFER TO DQ MKE OPTIONS BELOW",
		    NULL, "x" },
		{ ".22. INVALID MESSAGE FORMAT - REFER TO DQ MKE OPTIONS BELOW"
		    "\n1. OLN\n2. NAM, DOB, SEX\nn2:ShoeSize not expected\n"
		    "ORIGINAL MESSAGE\nx", 0, 22,
		    "INVALID MESSAGE FORMAT - REFER TO DQ MKE OPTIONS BELOW",
		    "n2:ShoeSize not expected", "x" },
		{ ".91. MESSAGE TOO LARGE\r\nover the limit\r\nORIGINAL "
		    "MESSAGE\r\nabc", 0, 91, "MESSAGE TOO LARGE",
		    "over the limit", "abc" },
		{ "  .03. TXT NOT FOUND OR IMPROPERLY FORMED XML\nORIGINAL "
		    "MESSAGE\n", 0, 3,
		    "TXT NOT FOUND OR IMPROPERLY FORMED XML",
		    NULL, "" },
		{ ".19. INVALID DESTINATION ORIs", 0, 19,
		    "INVALID DESTINATION ORIs", NULL, NULL },
		{ "14 FIELDS MISSING\nORIGINAL MESSAGE\nq", 0, 14,
		    "FIELDS MISSING", NULL, "q" },
		{ ".90.", 0, 90, NULL, NULL, NULL },
		/* Only the first ORIGINAL MESSAGE counts. */
		{ ".22. X\nORIGINAL MESSAGE\nORIGINAL MESSAGE\ny", 0, 22, "X",
		    NULL, "ORIGINAL MESSAGE\ny" },
		{ "NOT ON FILE", -1, -1, NULL, NULL, NULL },
		{ ".123. X", -1, -1, NULL, NULL, NULL },
		{ "", -1, -1, NULL, NULL, NULL },
	};
	struct msg_er_parts	 p;
	size_t			 i;
	int			 rc;

	for (i = 0; i < TM_NEL(t); i++) {
		rc = msg_er_split(t[i].text, strlen(t[i].text), &p);
		CU_ASSERT_EQUAL(rc, t[i].rc);
		CU_ASSERT_EQUAL(p.code, t[i].code);
		CU_ASSERT_EQUAL(p.reason != NULL, t[i].reason != NULL);
		if (p.reason != NULL && t[i].reason != NULL)
			CU_ASSERT(p.reasonlen == strlen(t[i].reason) &&
			    memcmp(p.reason, t[i].reason, p.reasonlen) == 0);
		CU_ASSERT_EQUAL(p.detail != NULL, t[i].detail != NULL);
		if (p.detail != NULL && t[i].detail != NULL)
			CU_ASSERT(p.detaillen == strlen(t[i].detail) &&
			    memcmp(p.detail, t[i].detail, p.detaillen) == 0);
		CU_ASSERT_EQUAL(p.input != NULL, t[i].input != NULL);
		if (p.input != NULL && t[i].input != NULL)
			CU_ASSERT(p.inputlen == strlen(t[i].input) &&
			    memcmp(p.input, t[i].input, p.inputlen) == 0);
		if (rc != t[i].rc || (p.detail != NULL) !=
		    (t[i].detail != NULL))
			fprintf(stderr, "\n  er_split #%zu: rc %d detail %.*s",
			    i, rc, (int)p.detaillen, tm_s(p.detail));
	}
	CU_ASSERT_EQUAL(msg_er_split(NULL, 0, &p), -1);
	CU_ASSERT_EQUAL(p.code, -1);
}

/* xtree_text: text and CDATA parts, trimmed, cut on a UTF-8 boundary and
 * then a prefix of the content. */
static void
test_xtree_text(void)
{
	static const struct {
		const char	*xml;
		size_t		 dsz;
		const char	*want;
		size_t		 total;
	} t[] = {
		{ "<a> AB <![CDATA[ CD ]]>\n</a>", 32, "AB  CD", 9 },
		{ "<a><![CDATA[]]></a>", 32, "", 0 },
		{ "<a>ABC<b>x</b>DEF</a>", 32, "ABCDEF", 6 },
		{ "<a>ABCDEFGHIJ</a>", 8, "ABCDEFG", 10 },
		{ "<a>ABCDEF\xc3\xa9<![CDATA[XY]]></a>", 8, "ABCDEF", 10 },
		{ "<a>ABCDE\xe2\x82\xac<![CDATA[XY]]>Z</a>", 8, "ABCDE", 11 },
		{ "<a>AB<![CDATA[CDEFGH]]>IJ</a>", 8, "ABCDEFG", 10 },
	};
	xmlDocPtr	 doc;
	char		 dst[32];
	size_t		 i;

	for (i = 0; i < TM_NEL(t); i++) {
		doc = xmlReadMemory(t[i].xml, (int)strlen(t[i].xml), NULL,
		    NULL, XML_PARSE_NONET);
		CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
		memset(dst, 'Q', sizeof dst);
		CU_ASSERT_EQUAL(xtree_text(xmlDocGetRootElement(doc), dst,
		    t[i].dsz), t[i].total);
		CU_ASSERT_STRING_EQUAL(dst, t[i].want);
		xmlFreeDoc(doc);
	}
	CU_ASSERT_EQUAL(xtree_text(NULL, dst, sizeof dst), 0);
	CU_ASSERT_STRING_EQUAL(dst, "");
}

/*
 * Builders: what they write parses back to what they were given.
 */

static void
test_build_query(void)
{
	static const char *const dests[] = { "CA", "ORDMV0000", "E1" };
	struct msgbuild_person	 p;
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	char			*s;

	memset(&p, 0, sizeof p);
	p.surname = "O'SAMPLE";
	p.given = "ALEX";
	p.middle = "J";
	p.suffix = "JR";
	p.dob = "1980-02-29";
	p.sex = "F";
	ubuf_init(&b);
	msgbuild_begin(&b, MSG_KEY_DQ, "WA0340000", dests, 3, "<&>\"'");
	msgbuild_person(&b, "n2:Person", &p);
	msgbuild_text(&b, "n2:ImageRequestIndicator", "true");
	msgbuild_text(&b, "n2:ReasonCode", "T");
	msgbuild_text(&b, "n2:ResponseAttentionDescriptionText", "A & B <C>");
	msgbuild_text(&b, "n2:PurposeCode", NULL);	/* left out */
	msgbuild_text(&b, "n2:PurposeCode", "");	/* left out */
	msgbuild_end(&b, MSG_KEY_DQ);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	tm_dump("build dq", &d);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DQ);
	CU_ASSERT_STRING_EQUAL(m.ori, "WA0340000");
	CU_ASSERT_STRING_EQUAL(m.ctl, "<&>\"'");
	CU_ASSERT_EQUAL(m.ndest, 3);
	CU_ASSERT_STRING_EQUAL(m.dest[1], "ORDMV0000");
	CU_ASSERT_STRING_EQUAL(m.dest[2], "E1");
	CU_ASSERT_STRING_EQUAL(m.person.surname, "O'SAMPLE");
	CU_ASSERT_STRING_EQUAL(m.person.given, "ALEX");
	CU_ASSERT_STRING_EQUAL(m.person.middle, "J");
	CU_ASSERT_STRING_EQUAL(m.person.suffix, "JR");
	CU_ASSERT_STRING_EQUAL(m.person.dob, "1980-02-29");
	CU_ASSERT_STRING_EQUAL(m.person.sex, "F");
	CU_ASSERT_STRING_EQUAL(m.rsn, "T");
	CU_ASSERT_STRING_EQUAL(m.atn, "A & B <C>");
	CU_ASSERT_EQUAL(m.imq, 1);
	CU_ASSERT_PTR_NULL(strstr(b.data, "PurposeCode"));
	CU_ASSERT(tm_end_tag_at(b.data, b.len, m.hdr_end,
	    "NLETSMessageHeader"));
	/* The envelope of every message nlswitch writes. */
	CU_ASSERT(strncmp(b.data, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
	    "\n<n2:NLETS ", 48) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "n2:version=\"4.00\""));

	/* A KQ by license number in n2c:Driver, with its state. */
	memset(&p, 0, sizeof p);
	p.oln = "ORX0001";
	p.olstate = "OR";
	ubuf_reset(&b);
	msgbuild_begin(&b, MSG_KEY_KQ, "WA0340000", dests, 1, "K1");
	msgbuild_person(&b, "n2c:Driver", &p);
	msgbuild_text(&b, "n2:PurposeCode", "C");
	msgbuild_end(&b, MSG_KEY_KQ);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_KQ);
	CU_ASSERT_STRING_EQUAL(m.person.oln, "ORX0001");
	CU_ASSERT_STRING_EQUAL(m.person.olstate, "OR");
	CU_ASSERT_STRING_EQUAL(m.pur, "C");
	CU_ASSERT_PTR_NULL(strstr(b.data, "PersonName"));

	/* A DNQ by name and no control field. */
	memset(&p, 0, sizeof p);
	p.surname = "SAMPLE";
	p.given = "ALEX";
	ubuf_reset(&b);
	msgbuild_begin(&b, MSG_KEY_DNQ, "WA0340000", dests, 1, NULL);
	msgbuild_person(&b, "n2:Person", &p);
	msgbuild_end(&b, MSG_KEY_DNQ);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DNQ);
	CU_ASSERT_STRING_EQUAL(m.ctl, "");
	CU_ASSERT_PTR_NULL(strstr(b.data, "DocumentControlFieldText"));

	/* Mail carries n2:key; text bytes XML cannot carry become '?',
	 * control characters other than tab, LF and CR are dropped. */
	ubuf_reset(&b);
	msgbuild_begin(&b, MSG_KEY_AML, "WA0340000", dests, 1, "A");
	msgbuild_text(&b, "n2:MailMessageText",
	    "HELLO \xc3\xa9 \xff \x01WORLD\t\xef\xbf\xbf <&>");
	msgbuild_end(&b, MSG_KEY_AML);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_AML);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data,
	    "<n2:NLETSMailData n2:key=\"AML\">"));
	s = tm_text(b.data, b.len, "MailMessageText");
	CU_ASSERT_STRING_EQUAL(tm_s(s), "HELLO \xc3\xa9 ? WORLD\t??? <&>");
	free(s);

	/* msgbuild_text_len: not NUL-terminated, NULs dropped. */
	ubuf_reset(&b);
	msgbuild_begin(&b, MSG_KEY_SM, "ORDMV0000", dests, 1, "S");
	msgbuild_text_len(&b, "n2:StatusMessageText", ".04. AB\0CDEF", 10);
	msgbuild_end(&b, MSG_KEY_SM);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(m.status, 4);
	s = tm_text(b.data, b.len, "StatusMessageText");
	CU_ASSERT_STRING_EQUAL(tm_s(s), ".04. ABCD");
	free(s);
	ubuf_free(&b);
}

/* A photo of n bytes, base64. */
static char *
tm_photo_b64(size_t n, size_t *b64len)
{
	uint8_t	*raw = xmalloc(n);
	char	*s;
	size_t	 i;

	for (i = 0; i < n; i++)
		raw[i] = (uint8_t)(i * 7);
	s = util_b64_encode(raw, n, b64len);
	free(raw);
	return s;
}

/* Standardized responses: msgbuild_driver records read back. */
static void
test_build_driver(void)
{
	static const struct msgbuild_event ev[] = {
		{ "2019-06-01", "SPD", "OR", "SPEEDING 15 OVER" },
		{ "2021-03-15", "SUSP", "", "" },
		{ "2022-01-02", "FTA", NULL, NULL },
	};
	static const char *const to[] = { "WA0340000" };
	struct msgbuild_driver	 dr[3];
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	char			*b64;
	size_t			 b64len, i;

	b64 = tm_photo_b64(5000, &b64len);
	memset(dr, 0, sizeof dr);
	dr[0].person.given = "ALEX";
	dr[0].person.surname = "SAMPLE";
	dr[0].person.dob = "1980-02-29";
	dr[0].person.sex = "M";
	dr[0].person.oln = "S1234567";
	dr[0].person.olstate = "CA";
	dr[0].street = "100 EXAMPLE ST";
	dr[0].city = "SAMPLEVILLE";
	dr[0].state = "CA";
	dr[0].zip = "90000";
	dr[0].lic_class = "C";
	dr[0].lic_status = "VALID";
	dr[0].lic_expires = "2029-02-28";
	dr[0].photo_b64 = b64;
	dr[0].photo_b64len = b64len;
	dr[0].photo_bytes = 5000;
	dr[1] = dr[0];
	dr[1].person.given = "ALEXANDER";
	dr[1].person.oln = "S7777777";
	dr[1].noretain = 1;
	dr[1].events = ev;
	dr[1].nevents = 3;
	dr[2] = dr[1];
	dr[2].photo_b64 = NULL;
	dr[2].street = dr[2].city = dr[2].state = dr[2].zip = NULL;

	ubuf_init(&b);
	msgbuild_begin(&b, MSG_KEY_DNR, "CAOLN0000", to, 1, "DNQ1");
	for (i = 0; i < 3; i++)
		msgbuild_driver(&b, &dr[i]);
	msgbuild_end(&b, MSG_KEY_DNR);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	tm_dump("build dnr", &d);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DNR);
	CU_ASSERT_EQUAL(m.nrecords, 3);
	CU_ASSERT_EQUAL(m.nphotos, 2);
	CU_ASSERT_EQUAL(m.nphotos_noretain, 1);
	CU_ASSERT_EQUAL(m.photo_len, 5000);
	CU_ASSERT_STRING_EQUAL(m.person.given, "ALEX");
	CU_ASSERT_STRING_EQUAL(m.person.oln, "S1234567");
	CU_ASSERT_STRING_EQUAL(m.person.olstate, "CA");
	CU_ASSERT_EQUAL(tm_count(b.data, b.len, "PersonDrivingIncident"), 6);
	CU_ASSERT_EQUAL(tm_count(b.data, b.len,
	    "DrivingIncidentJurisdiction"), 2);
	CU_ASSERT_EQUAL(tm_count(b.data, b.len, "ContactInformation"), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data,
	    "<nc:BinarySizeValue>4.88</nc:BinarySizeValue>"));

	/* A KR of the same record; a stated size 1 KB off is refused. */
	ubuf_reset(&b);
	msgbuild_begin(&b, MSG_KEY_KR, "CAOLN0000", to, 1, "K");
	dr[1].photo_bytes = 5000 + 1100;
	msgbuild_driver(&b, &dr[1]);
	msgbuild_end(&b, MSG_KEY_KR);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), MSG_ER_FORMAT);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.d[0].xpath, "BinarySizeValue"));
	ubuf_reset(&b);
	msgbuild_begin(&b, MSG_KEY_KR, "CAOLN0000", to, 1, "K");
	dr[1].photo_bytes = 5000 + 1000;
	msgbuild_driver(&b, &dr[1]);
	msgbuild_end(&b, MSG_KEY_KR);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_KR);
	CU_ASSERT_STRING_EQUAL(m.person.given, "ALEXANDER");
	CU_ASSERT_EQUAL(m.photo_len, 5000);
	CU_ASSERT_EQUAL(m.nphotos_noretain, 1);

	/* A record without a license number is not a record. */
	ubuf_reset(&b);
	msgbuild_begin(&b, MSG_KEY_DR, "CAOLN0000", to, 1, "K");
	dr[2].person.oln = NULL;
	dr[2].person.olstate = NULL;
	msgbuild_driver(&b, &dr[2]);
	msgbuild_end(&b, MSG_KEY_DR);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), MSG_ER_REQUIRED);
	ubuf_free(&b);
	free(b64);
}

/* The n2:ResponseText of an ER document, split (the text is freed by
 * the caller through *textp). */
static int
tm_er_parts(const struct ubuf *b, struct msg_er_parts *p, char **textp)
{
	*textp = tm_text(b->data, b->len, "ResponseText");
	if (*textp == NULL)
		return -1;
	return msg_er_split(*textp, strlen(*textp), p);
}

static int
tm_part_is(const char *s, size_t len, const char *want)
{
	return s != NULL && len == strlen(want) && memcmp(s, want, len) == 0;
}

static void
test_build_er(void)
{
	static const struct {
		const char	*ori;
		const char	*ctl;
		int		 code;
		enum msg_key	 key;
		const char	*detail;
		const char	*input;
		size_t		 inlen;		/* 0: strlen */
		const char	*want_dest;
		const char	*want_ctl;
		const char	*want_detail;	/* NULL: none */
		const char	*want_input;
	} t[] = {
		{ "WA0340000", "T42", MSG_ER_DOB, MSG_KEY_DQ,
		    "birth date: no such day", "<n2:NLETS/>", 0, "WA0340000",
		    "T42", "birth date: no such day", "<n2:NLETS/>" },
		{ "WA0340000", NULL, MSG_ER_MALFORMED, MSG_KEY_NONE, NULL, "",
		    0, "WA0340000", "", NULL, "" },
		{ "CA", "\x01T\x7f" "42", MSG_ER_FORMAT, MSG_KEY_NONE,
		    "ctl with junk", "a", 1, "CA", "T42", "ctl with junk",
		    "a" },
		{ "E1", "   ", MSG_ER_DEST, MSG_KEY_AM, "", "b", 0, "E1", "",
		    NULL, "b" },
		{ "", " T42  ", MSG_ER_MALFORMED, MSG_KEY_NONE, "no ORI",
		    "garbage \x01\x02\x1b", 0, MSG_SWITCH_ORI, "T42", "no ORI",
		    "garbage " },
		{ NULL, "CONTROL-FIELD-LONG", MSG_ER_TOO_LARGE, MSG_KEY_DQ,
		    NULL, NULL, 0, MSG_SWITCH_ORI, "CONTROL-FI", NULL, "" },
		{ "bad<ori>", "T", MSG_ER_POLICY, MSG_KEY_DQ,
		    "denied: no purpose\nsecond line", "\xff\xfe<\0N\0", 6,
		    MSG_SWITCH_ORI, "T", "denied: no purpose", "??" "<N" },
		{ "WA0340000", "T", MSG_ER_ATN, MSG_KEY_KQ, "CR\rLF",
		    "A\r\nB\tC]]>D", 0, "WA0340000", "T", "CR",
		    "A\nB\tC]]>D" },
	};
	struct msg_er_parts	 p;
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	char			*text, want[256];
	size_t			 i, inlen;
	int			 rc;

	ubuf_init(&b);
	for (i = 0; i < TM_NEL(t); i++) {
		ubuf_reset(&b);
		inlen = t[i].inlen != 0 ? t[i].inlen :
		    t[i].input != NULL ? strlen(t[i].input) : 0;
		msgbuild_er(&b, t[i].ori, t[i].ctl, t[i].code, t[i].key,
		    t[i].detail, t[i].input, inlen);
		rc = tm_parse(b.data, &m, &d);
		if (rc != 0) {
			fprintf(stderr, "\n  ER #%zu: %s", i, b.data);
			tm_dump("er", &d);
		}
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(m.key, MSG_KEY_ER);
		CU_ASSERT_EQUAL(m.status, t[i].code);
		CU_ASSERT_STRING_EQUAL(m.ori, MSG_SWITCH_ORI);
		CU_ASSERT_STRING_EQUAL(m.dest[0], t[i].want_dest);
		CU_ASSERT_STRING_EQUAL(m.ctl, t[i].want_ctl);

		/* The text splits back into what was given. */
		CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
		CU_ASSERT_EQUAL(p.code, t[i].code);
		CU_ASSERT(tm_part_is(p.reason, p.reasonlen,
		    msg_er_reason(t[i].code)));
		CU_ASSERT_EQUAL(p.detail != NULL, t[i].want_detail != NULL);
		if (t[i].want_detail != NULL)
			CU_ASSERT(tm_part_is(p.detail, p.detaillen,
			    t[i].want_detail));
		CU_ASSERT(tm_part_is(p.input, p.inputlen, t[i].want_input));
		snprintf(want, sizeof want, ".%02d. %s\n", t[i].code,
		    msg_er_reason(t[i].code));
		CU_ASSERT(strncmp(tm_s(text), want, strlen(want)) == 0);
		free(text);
	}

	/* .22. refers to the key's options, listed before the detail. */
	ubuf_reset(&b);
	msgbuild_er(&b, "WA0340000", "T", MSG_ER_FORMAT, MSG_KEY_DQ,
	    "n2:ShoeSize is not expected", "<x/>", 4);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
	CU_ASSERT_STRING_EQUAL(tm_s(text), ".22. INVALID MESSAGE FORMAT - "
	    "REFER TO DQ MKE OPTIONS BELOW\n1. OLN\n2. NAM, DOB, SEX\n"
	    "n2:ShoeSize is not expected\nORIGINAL MESSAGE\n<x/>");
	CU_ASSERT(tm_part_is(p.reason, p.reasonlen, "INVALID MESSAGE FORMAT - "
	    "REFER TO DQ MKE OPTIONS BELOW"));
	CU_ASSERT(tm_part_is(p.detail, p.detaillen,
	    "n2:ShoeSize is not expected"));
	free(text);
	/* Without a detail, the last option is not taken for one. */
	ubuf_reset(&b);
	msgbuild_er(&b, "WA0340000", "T", MSG_ER_FORMAT, MSG_KEY_AA, NULL,
	    "x", 1);
	CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
	CU_ASSERT_PTR_NULL(p.detail);
	CU_ASSERT_PTR_NOT_NULL(strstr(tm_s(text),
	    "\n3. STANDARDIZED AMBER ALERT\nORIGINAL MESSAGE\nx"));
	free(text);
	/* No key (the input was too broken to say): no options. */
	ubuf_reset(&b);
	msgbuild_er(&b, "WA0340000", "T", MSG_ER_FORMAT, MSG_KEY_NONE, NULL,
	    "x", 1);
	CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
	CU_ASSERT_STRING_EQUAL(tm_s(text), ".22. INVALID MESSAGE FORMAT\n"
	    "ORIGINAL MESSAGE\nx");
	free(text);
	ubuf_free(&b);
}

/*
 * The quote: the first MSG_ER_INPUT_LEN characters of the input (a
 * multi-byte character counts once, is never cut in half); the detail
 * one line of at most 1000 bytes, never half a character either.
 */
static void
test_build_er_cut(void)
{
	static const struct {
		size_t		 at;	/* where the character goes */
		const char	*c;
		size_t		 want;		/* bytes quoted */
	} t[] = {
		{ MSG_ER_INPUT_LEN - 1, "\xc3\xa9", MSG_ER_INPUT_LEN + 1 },
		{ MSG_ER_INPUT_LEN - 2, "\xc3\xa9", MSG_ER_INPUT_LEN + 1 },
		{ MSG_ER_INPUT_LEN, "\xc3\xa9", MSG_ER_INPUT_LEN },
		{ 0, "\xe2\x82\xac", MSG_ER_INPUT_LEN + 2 },
		{ MSG_ER_INPUT_LEN - 1, "\xe2\x82\xac", MSG_ER_INPUT_LEN + 2 },
		{ MSG_ER_INPUT_LEN - 1, "\xf0\x9f\x98\x80",
		    MSG_ER_INPUT_LEN + 3 },
		{ MSG_ER_INPUT_LEN, "\xf0\x9f\x98\x80", MSG_ER_INPUT_LEN },
	};
	struct msg_er_parts	 p;
	struct msg		 m;
	struct ubuf		 b;
	char			 in[256], det[3000], *text;
	size_t			 i;

	ubuf_init(&b);
	for (i = 0; i < TM_NEL(t); i++) {
		memset(in, 'A', sizeof in);
		memcpy(in + t[i].at, t[i].c, strlen(t[i].c));
		ubuf_reset(&b);
		msgbuild_er(&b, "WA0340000", "T", MSG_ER_FORMAT, MSG_KEY_NONE,
		    NULL, in, sizeof in);
		CU_ASSERT_EQUAL(tm_parse(b.data, &m, NULL), 0);
		CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
		CU_ASSERT_EQUAL(p.inputlen, t[i].want);
		CU_ASSERT(p.input != NULL && memcmp(p.input, in, t[i].want) ==
		    0);
		free(text);
	}
	/* A lead byte with nothing after it counts alone. */
	CU_ASSERT_EQUAL(msg_utf8_chars("AB\xe2" "CD", 5, 3), 3);
	CU_ASSERT_EQUAL(msg_utf8_chars("\xe2\x82", 2, 1), 2);
	CU_ASSERT_EQUAL(msg_utf8_chars("\xe2\x82\xac", 3, 5), 3);
	CU_ASSERT_EQUAL(msg_utf8_chars("AB", 2, 0), 0);
	/* A short input is quoted whole. */
	ubuf_reset(&b);
	msgbuild_er(&b, "WA0340000", "T", MSG_ER_FORMAT, MSG_KEY_NONE, NULL,
	    in, MSG_ER_INPUT_LEN - 10);
	CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
	CU_ASSERT_EQUAL(p.inputlen, MSG_ER_INPUT_LEN - 10);
	free(text);

	/* A long detail: 1000 bytes, not half of the 'é' at 999. */
	memset(det, 'D', sizeof det - 1);
	det[sizeof det - 1] = '\0';
	memcpy(det + 999, "\xc3\xa9", 2);
	ubuf_reset(&b);
	msgbuild_er(&b, "WA0340000", "T", MSG_ER_FORMAT, MSG_KEY_NONE, det,
	    "x", 1);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, NULL), 0);
	CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
	CU_ASSERT_EQUAL(p.detaillen, 999);
	free(text);
	det[999] = det[1000] = 'D';
	ubuf_reset(&b);
	msgbuild_er(&b, "WA0340000", "T", MSG_ER_FORMAT, MSG_KEY_NONE, det,
	    "x", 1);
	CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
	CU_ASSERT_EQUAL(p.detaillen, 1000);
	free(text);

	/* Control characters, surrogates, U+FFFF and markup in the quote:
	 * still well-formed and valid. */
	snprintf(in, sizeof in, "<a>&\x01\x08\x0b\x1f\t%s%s%s</a>",
	    "\xed\xa0\x80", "\xef\xbf\xbf", "\xc0\xaf");
	ubuf_reset(&b);
	msgbuild_er(&b, "WA0340000", "T", MSG_ER_FORMAT, MSG_KEY_NONE,
	    "detail \x02 <x>", in, strlen(in));
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, NULL), 0);
	CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
	CU_ASSERT(tm_part_is(p.input, p.inputlen, "<a>&\t????????" "</a>"));
	CU_ASSERT(tm_part_is(p.detail, p.detaillen, "detail  <x>"));
	free(text);
	ubuf_free(&b);
}

static void
test_build_er_from_parse(void)
{
	static const char *const inputs[] = {
		"", "not xml at all", "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\">",
		"<NLETS version=\"1.0\"><NLETSMessageHeader/></NLETS>",
		"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>",
		"\xc3\x28\xa0\xa1 <x/>",
		"DQ.WA0340000.CA.TXT\nOLN/S1234567",
	};
	struct msg_er_parts	 p;
	struct msg_diags	 d, d2;
	struct msg		 m, m2;
	struct ubuf		 b;
	char			*text;
	size_t			 i;
	int			 rc;

	/* The session's path: the parse fails, the answer is an ER built
	 * from whatever was read and the first diagnostic. */
	ubuf_init(&b);
	for (i = 0; i < TM_NEL(inputs); i++) {
		rc = tm_parse(inputs[i], &m, &d);
		CU_ASSERT(rc != 0);
		CU_ASSERT(d.n >= 1);
		ubuf_reset(&b);
		msgbuild_er(&b, m.ori, m.ctl, rc, m.key, d.n > 0 ?
		    d.d[0].text : NULL, inputs[i], strlen(inputs[i]));
		CU_ASSERT_EQUAL(tm_parse(b.data, &m2, &d2), 0);
		CU_ASSERT_EQUAL(m2.status, rc);
		CU_ASSERT_EQUAL(tm_er_parts(&b, &p, &text), 0);
		CU_ASSERT_EQUAL(p.code, rc);
		free(text);
	}
	ubuf_free(&b);
}

static void
test_build_sm(void)
{
	static const int	 st[] = { MSG_SM_NOT_ACCEPTED, MSG_SM_HELD,
	    MSG_SM_REMOVED, MSG_SM_EXPIRED, MSG_SM_DAMAGED,
	    MSG_SM_PHOTO_WITHHELD };
	static const struct {
		const char	*dest;
		enum msg_key	 key;
		const char	*id;
		const char	*line2;		/* NULL: one line */
	} parts[] = {
		{ "CA", MSG_KEY_DQ, "000000000000002a.0",
		    "DESTINATION CA, MSG TYPE DQ, MESSAGE "
		    "000000000000002a.0" },
		{ "E1", MSG_KEY_AM, NULL, "DESTINATION E1, MSG TYPE AM" },
		{ "bad dest", MSG_KEY_KQ, "id with spaces",
		    "MSG TYPE KQ, MESSAGE idwithspaces" },
		{ NULL, MSG_KEY_NONE, "x1", "MESSAGE x1" },
		{ "ORDMV0000", MSG_KEY_NONE, NULL, "DESTINATION ORDMV0000" },
		{ "", MSG_KEY_NONE, "\x01 ", NULL },
	};
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b, t;
	char			*s, *want;
	size_t			 i;

	ubuf_init(&b);
	ubuf_init(&t);
	for (i = 0; i < TM_NEL(st); i++) {
		ubuf_reset(&b);
		msgbuild_sm(&b, "WA0340000", "T42", st[i], "CA", MSG_KEY_DQ,
		    "000000000000002a.0");
		CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
		tm_dump("sm", &d);
		CU_ASSERT_EQUAL(m.key, MSG_KEY_SM);
		CU_ASSERT_EQUAL(m.status, st[i]);
		CU_ASSERT_STRING_EQUAL(m.ori, MSG_SWITCH_ORI);
		CU_ASSERT_STRING_EQUAL(m.dest[0], "WA0340000");
		CU_ASSERT_STRING_EQUAL(m.ctl, "T42");
		CU_ASSERT_PTR_NOT_NULL(strstr(b.data,
		    "<n2:NLETSMailData n2:key=\"SM\">"));
		s = tm_text(b.data, b.len, "StatusMessageText");
		want = xasprintf(".%02d. %s\nDESTINATION CA, MSG TYPE DQ, "
		    "MESSAGE 000000000000002a.0", st[i], msg_sm_text(st[i]));
		CU_ASSERT_STRING_EQUAL(tm_s(s), want);
		CU_ASSERT_EQUAL(msg_text_number(tm_s(s)), st[i]);
		free(want);
		free(s);
	}
	/* The second line names the parts there are. */
	for (i = 0; i < TM_NEL(parts); i++) {
		ubuf_reset(&t);
		msgbuild_sm_text(&t, MSG_SM_REMOVED, parts[i].dest,
		    parts[i].key, parts[i].id);
		ubuf_add(&t, "", 1);
		want = xasprintf(".04. %s%s%s", msg_sm_text(MSG_SM_REMOVED),
		    parts[i].line2 != NULL ? "\n" : "", tm_s(parts[i].line2));
		CU_ASSERT_STRING_EQUAL(t.data, want);
		free(want);
		ubuf_reset(&b);
		msgbuild_sm(&b, "CAOLN0000", NULL, MSG_SM_REMOVED,
		    parts[i].dest, parts[i].key, parts[i].id);
		CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
		CU_ASSERT_EQUAL(m.status, MSG_SM_REMOVED);
		s = tm_text(b.data, b.len, "StatusMessageText");
		CU_ASSERT_STRING_EQUAL(tm_s(s), t.data);
		free(s);
	}
	/* Addressed to the switch itself when the ORI is not one. */
	ubuf_reset(&b);
	msgbuild_sm(&b, "junk", "", MSG_SM_HELD, "CA", MSG_KEY_DQ, NULL);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	CU_ASSERT_STRING_EQUAL(m.dest[0], MSG_SWITCH_ORI);
	/* More lines after its own (SM .10.): kept, control characters
	 * blanked, "]]>" safe inside the CDATA. */
	ubuf_reset(&b);
	msgbuild_sm_more(&b, "WA0340000", "PD1", MSG_SM_PHOTO_WITHHELD, NULL,
	    MSG_KEY_DQ, "0000000000000010", "TX SENT WITHOUT THE IMAGE "
	    "REQUEST: P102 state-no-photos\nNV NOT SENT: P140 ]]> \x01x");
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), 0);
	tm_dump("sm .10.", &d);
	CU_ASSERT_EQUAL(m.status, MSG_SM_PHOTO_WITHHELD);
	s = tm_text(b.data, b.len, "StatusMessageText");
	CU_ASSERT_STRING_EQUAL(tm_s(s), ".10. PHOTO REQUEST PARTLY DENIED BY "
	    "PHOTO-SHARING POLICY\nMSG TYPE DQ, MESSAGE 0000000000000010\n"
	    "TX SENT WITHOUT THE IMAGE REQUEST: P102 state-no-photos\n"
	    "NV NOT SENT: P140 ]]> x");
	free(s);
	ubuf_free(&t);
	ubuf_free(&b);
}

/*
 * The output header: the six stamps after the sender's part of the
 * header, in the header's own prefix, dates MM/DD/CCYY and times HH:MM
 * in the switch's local time, sequence numbers in 5 digits modulo 100000;
 * a sender's own stamps are replaced, and the result validates.
 */

static char	*tm_tz_saved;
static int	 tm_tz_was_set;

/* Run in time zone tz (a POSIX TZ string) until tm_tz_restore. */
static void
tm_tz_set(const char *tz)
{
	const char	*old = getenv("TZ");

	if (!tm_tz_was_set) {
		tm_tz_saved = old != NULL ? xstrdup(old) : NULL;
		tm_tz_was_set = 1;
	}
	setenv("TZ", tz, 1);
	tzset();
}

static void
tm_tz_restore(void)
{
	if (tm_tz_saved != NULL)
		setenv("TZ", tm_tz_saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(tm_tz_saved);
	tm_tz_saved = NULL;
	tm_tz_was_set = 0;
}

#define TM_RECV_US	(1709251199ULL * 1000000 + 999999) /* 2024-02-29
							      23:59:59 UTC */
#define TM_SEND_US	(1709251200ULL * 1000000) /* 2024-03-01 00:00 */

static const struct {
	const char	*local;
	const char	*value;	/* with TZ=UTC0 and tm_stamp_st */
} tm_stamps[] = {
	{ "MessageReceiveDate", "02/29/2024" },
	{ "MessageReceiveTime", "23:59" },
	{ "MessageSendDate", "03/01/2024" },
	{ "MessageSendTime", "00:00" },
	{ "ReceiveMessageNumeric", "00007" },
	{ "SendMessageNumeric", "51615" },	/* 2^64 - 1 mod 100000 */
};

static void
tm_stamp_st(struct msgbuild_stamp *st)
{
	memset(st, 0, sizeof *st);
	st->recv_us = TM_RECV_US;
	st->in_seq = 7;
	st->send_us = TM_SEND_US;
	st->out_seq = UINT64_MAX;
}

/*
 * Stamp raw and check the result: pfx is the prefix the stamps must use
 * ("nh2", "h", "" for the default namespace), decl whether each must
 * declare it.
 */
static void
tm_check_stamp(const char *name, const char *raw, size_t len,
    const char *pfx, int decl)
{
	struct msgbuild_stamp	 st;
	struct msg_diags	 d;
	struct msg		 m, m2;
	struct ubuf		 b, b2, e;
	struct xscan		 sc;
	struct xscan_tok	 t;
	size_t			 i, resume;
	char			*v;
	int			 rc;

	rc = msgparse_message(tm_schema, raw, len, TM_MAXLEN, 0, &m, &d);
	if (rc != 0)
		tm_dump(name, &d);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	tm_stamp_st(&st);
	ubuf_init(&b);
	msgbuild_stamp(&b, raw, len, m.stamp_off, &st);

	/* Valid, and the same message. */
	rc = msgparse_message(tm_schema, b.data, b.len, TM_MAXLEN, 0, &m2,
	    &d);
	if (rc != 0) {
		fprintf(stderr, "\n  %s stamped:\n%s", name, b.data);
		tm_dump("stamp", &d);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(m2.key, m.key);
	CU_ASSERT_STRING_EQUAL(m2.ori, m.ori);
	CU_ASSERT_EQUAL(m2.ndest, m.ndest);
	CU_ASSERT_STRING_EQUAL(m2.dest[0], m.dest[0]);
	CU_ASSERT_STRING_EQUAL(m2.ctl, m.ctl);
	CU_ASSERT_STRING_EQUAL(m2.person.oln, m.person.oln);
	CU_ASSERT_EQUAL(m2.nphotos, m.nphotos);
	CU_ASSERT_EQUAL(m2.status, m.status);

	/* Each stamp once, with its value, in the header's prefix. */
	for (i = 0; i < TM_NEL(tm_stamps); i++) {
		CU_ASSERT_EQUAL(tm_count(b.data, b.len, tm_stamps[i].local),
		    1);
		v = tm_text(b.data, b.len, tm_stamps[i].local);
		if (v == NULL || strcmp(v, tm_stamps[i].value) != 0)
			fprintf(stderr, "\n  %s: %s is %s", name,
			    tm_stamps[i].local, tm_s(v));
		CU_ASSERT_STRING_EQUAL(tm_s(v), tm_stamps[i].value);
		free(v);
		xscan_init(&sc, b.data, b.len);
		CU_ASSERT_EQUAL_FATAL(xscan_find(&sc, tm_stamps[i].local, 0,
		    &t), 0);
		CU_ASSERT(t.local - t.name == (ptrdiff_t)(pfx[0] != '\0' ?
		    strlen(pfx) + 1 : 0) && strncmp(t.name, pfx,
		    strlen(pfx)) == 0);
		CU_ASSERT_EQUAL(t.attrs, decl);
	}

	/* The sender's part and what follows the header are unchanged. */
	CU_ASSERT_EQUAL(m2.stamp_off, m.stamp_off);
	CU_ASSERT(memcmp(b.data, raw, m.stamp_off) == 0);
	CU_ASSERT_EQUAL(b.len - m2.hdr_end, len - m.hdr_end);
	CU_ASSERT(memcmp(b.data + m2.hdr_end, raw + m.hdr_end,
	    len - m.hdr_end) == 0);

	/* The stamped head is what msgbuild_stamp_head makes, the rest the
	 * stored bytes; stamping the stamped message again changes
	 * nothing. */
	ubuf_init(&e);
	CU_ASSERT_EQUAL(msgbuild_stamp_head(&e, raw, len, m.stamp_off,
	    &st, &resume), 0);
	CU_ASSERT(resume >= m.stamp_off && resume <= m.hdr_end);
	CU_ASSERT(b.len == e.len + (len - resume) &&
	    memcmp(b.data, e.data, e.len) == 0 &&
	    memcmp(b.data + e.len, raw + resume, len - resume) == 0);
	ubuf_init(&b2);
	msgbuild_stamp(&b2, b.data, b.len, m2.stamp_off, &st);
	CU_ASSERT(b2.len == b.len && memcmp(b2.data, b.data, b.len) == 0);
	ubuf_free(&e);
	ubuf_free(&b2);
	ubuf_free(&b);
}

static void
tm_check_stamp_file(const char *file, const char *pfx, int decl)
{
	char	 rel[256], *buf;
	size_t	 len;

	snprintf(rel, sizeof rel, "fixtures/msg/valid/%s", file);
	buf = tm_read(rel, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	tm_check_stamp(file, buf, len, pfx, decl);
	free(buf);
}

/*
 * With a receiving ORI, the stamped message names it as its only
 * destination (the legacy output header's third line), written with the
 * prefix of the sender's own destinations (pfx).
 */
static void
tm_check_recv(const char *raw, const char *pfx)
{
	struct msgbuild_stamp	 st;
	struct msg		 m, m2;
	struct msg_diags	 d;
	struct ubuf		 b;
	char			 want[64];
	int			 rc;

	CU_ASSERT_EQUAL_FATAL(msgparse_message(tm_schema, raw, strlen(raw),
	    TM_MAXLEN, 0, &m, NULL), 0);
	tm_stamp_st(&st);
	st.recv_ori = "CAOLN0000";
	ubuf_init(&b);
	msgbuild_stamp(&b, raw, strlen(raw), m.stamp_off, &st);
	rc = msgparse_message(tm_schema, b.data, b.len, TM_MAXLEN, 0, &m2,
	    &d);
	if (rc != 0)
		tm_dump("recv", &d);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(m2.ndest, 1);
	CU_ASSERT_STRING_EQUAL(m2.dest[0], "CAOLN0000");
	CU_ASSERT_STRING_EQUAL(m2.ori, m.ori);
	CU_ASSERT_STRING_EQUAL(m2.ctl, m.ctl);
	snprintf(want, sizeof want, "<%s%sDestinationORIID", pfx,
	    pfx[0] ? ":" : "");
	CU_ASSERT_PTR_NOT_NULL(memmem(b.data, b.len, want, strlen(want)));
	/* A bad ORI is no receiving ORI: the destinations stay. */
	st.recv_ori = "CA";
	ubuf_reset(&b);
	msgbuild_stamp(&b, raw, strlen(raw), m.stamp_off, &st);
	CU_ASSERT_EQUAL(msgparse_message(tm_schema, b.data, b.len, TM_MAXLEN,
	    0, &m2, NULL), 0);
	CU_ASSERT_EQUAL(m2.ndest, m.ndest);
	CU_ASSERT_STRING_EQUAL(m2.dest[0], m.dest[0]);
	ubuf_free(&b);
}

static void
test_stamp(void)
{
	static const struct {
		const char	*file;
		const char	*pfx;
		int		 decl;
	} files[] = {
		{ "dq-oln.xml", "nh2", 0 },
		{ "dr-photo.xml", "nh2", 0 },
		{ "sm.xml", "nh2", 0 },
		{ "dnq.xml", "nh2", 0 },		/* no control field */
		{ "dq-sender-stamps.xml", "nh2", 0 },	/* replaced */
		{ "nlets-sm.xml", "nh2", 0 },		/* replaced */
		{ "nlets-dq-name.xml", "nh2", 0 },
		{ "default-ns-dq.xml", "nh2", 1 },	/* declared each */
	};
	/* The sender's prefix for the header namespace is "h". */
	static const char hpfx[] = "<?xml version=\"1.0\"?>\n"
	    "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" xmlns:h=\"" MSG_NS_NH2 "\"\n"
	    " xmlns:nc=\"" MSG_NS_NC "\" xmlns:j=\"" MSG_NS_J "\" "
	    "n2:version=\"4.00\">\n<n2:NLETSMessageHeader>\n"
	    "\t<h:MessageKeyCodeText>DQ</h:MessageKeyCodeText>\n"
	    "\t<h:OriginatingORIID>WA0340000</h:OriginatingORIID>\n"
	    "\t<h:DestinationORIID>CA</h:DestinationORIID>\n"
	    "\t<h:MessageSendTime>10:00</h:MessageSendTime>\n"
	    "</n2:NLETSMessageHeader>\n"
	    TM_INQ(TM_OLN("n2:Person", "S1")) TM_TAIL;
	/* The header's children in a default namespace declared on it. */
	static const char hdef[] = "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" "
	    "xmlns:nc=\"" MSG_NS_NC "\" xmlns:j=\"" MSG_NS_J "\" "
	    "n2:version=\"4.00\"><n2:NLETSMessageHeader xmlns=\"" MSG_NS_NH2
	    "\"><MessageKeyCodeText>DQ</MessageKeyCodeText>"
	    "<OriginatingORIID>WA0340000</OriginatingORIID>"
	    "<DestinationORIID>CA</DestinationORIID>"
	    "<DocumentControlFieldText><![CDATA[ T1 ]]>"
	    "</DocumentControlFieldText></n2:NLETSMessageHeader>"
	    TM_INQ(TM_OLN("n2:Person", "S1")) TM_TAIL;
	/* nh2 declared on the sender's last element only. */
	static const char hown[] = "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" "
	    "xmlns:nh2=\"urn:not-the-header\" xmlns:h=\"" MSG_NS_NH2 "\" "
	    "xmlns:nc=\"" MSG_NS_NC "\" xmlns:j=\"" MSG_NS_J "\" "
	    "n2:version=\"4.00\"><n2:NLETSMessageHeader>"
	    "<h:MessageKeyCodeText>DQ</h:MessageKeyCodeText>"
	    "<h:OriginatingORIID>WA0340000</h:OriginatingORIID>"
	    "<x:DestinationORIID xmlns:x=\"" MSG_NS_NH2 "\">CA"
	    "</x:DestinationORIID></n2:NLETSMessageHeader>"
	    TM_INQ(TM_OLN("n2:Person", "S1")) TM_TAIL;
	struct ubuf	 b;
	char		*buf;
	size_t		 i, len;

	tm_tz_set("UTC0");
	for (i = 0; i < TM_NEL(files); i++)
		tm_check_stamp_file(files[i].file, files[i].pfx,
		    files[i].decl);
	tm_check_stamp("h prefix", hpfx, sizeof hpfx - 1, "h", 0);
	tm_check_stamp("default namespace", hdef, sizeof hdef - 1, "", 0);
	tm_check_stamp("own declaration", hown, sizeof hown - 1, "nh2", 1);
	tm_check_recv(hpfx, "h");
	tm_check_recv(hown, "nh2");	/* x is declared on its element */
	tm_check_recv(hdef, "");
	ubuf_init(&b);
	msgbuild_er(&b, "WA0340000", "T42", MSG_ER_DEST, MSG_KEY_DQ, NULL,
	    "x", 1);
	tm_check_stamp("ER", b.data, b.len, "nh2", 0);

	/* The layout: one stamp a line, indented as the sender's part. */
	buf = tm_read("fixtures/msg/valid/dq-sender-stamps.xml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	{
		struct msgbuild_stamp	 st;
		struct msg		 m;

		CU_ASSERT_EQUAL_FATAL(msgparse_message(tm_schema, buf, len,
		    TM_MAXLEN, 0, &m, NULL), 0);
		tm_stamp_st(&st);
		ubuf_reset(&b);
		msgbuild_stamp(&b, buf, len, m.stamp_off, &st);
		ubuf_add(&b, "", 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "T44"
		    "</nh2:DocumentControlFieldText>\n"
		    "    <nh2:MessageReceiveDate>02/29/2024"
		    "</nh2:MessageReceiveDate>\n"
		    "    <nh2:MessageReceiveTime>23:59"
		    "</nh2:MessageReceiveTime>\n"));
		CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "<nh2:SendMessage"
		    "Numeric>51615</nh2:SendMessageNumeric>\n"
		    "  </n2:NLETSMessageHeader>\n"));
		/* The sender's 11111 and 22222 are gone. */
		CU_ASSERT_PTR_NULL(strstr(b.data, "11111"));
		CU_ASSERT_PTR_NULL(strstr(b.data, "22222"));
	}
	free(buf);
	ubuf_free(&b);
	tm_tz_restore();
}

/* The stamp's values: local time, sequence numbers modulo 100000. */
static void
test_stamp_values(void)
{
	static const struct {
		const char	*tz;
		uint64_t	 us;
		const char	*date, *hhmm;
	} tv[] = {
		{ "UTC0", 0, "01/01/1970", "00:00" },
		{ "UTC0", TM_RECV_US, "02/29/2024", "23:59" },
		{ "UTC0", TM_SEND_US, "03/01/2024", "00:00" },
		{ "UTC0", 4102444799ULL * 1000000, "12/31/2099", "23:59" },
		{ "XST5", TM_SEND_US, "02/29/2024", "19:00" }, /* UTC-5 */
		{ "XST-9", TM_RECV_US, "03/01/2024", "08:59" }, /* UTC+9 */
	};
	static const struct {
		uint64_t	 seq;
		const char	*want;
	} sv[] = {
		{ 0, "00000" }, { 7, "00007" }, { 99999, "99999" },
		{ 100000, "00000" }, { 123456, "23456" },
		{ UINT64_MAX, "51615" },
	};
	struct msgbuild_stamp	 st;
	struct ubuf		 e;
	char			 date[11], hhmm[6], *doc, *v;
	size_t			 i, resume;

	for (i = 0; i < TM_NEL(tv); i++) {
		tm_tz_set(tv[i].tz);
		msgbuild_stamp_time(tv[i].us, date, hhmm);
		CU_ASSERT_STRING_EQUAL(date, tv[i].date);
		CU_ASSERT_STRING_EQUAL(hhmm, tv[i].hhmm);
	}
	tm_tz_restore();

	doc = xasprintf(TM_HEAD "%s" TM_TAIL, "DQ", "WA0340000",
	    TM_INQ(TM_OLN("n2:Person", "S1")));
	ubuf_init(&e);
	for (i = 0; i < TM_NEL(sv); i++) {
		tm_stamp_st(&st);
		st.in_seq = sv[i].seq;
		st.out_seq = sv[i].seq;
		ubuf_reset(&e);
		CU_ASSERT_EQUAL(msgbuild_stamp_head(&e, doc, strlen(doc),
		    strstr(doc, "</n2:NLETSMessageHeader>") - doc, &st,
		    &resume), 0);
		ubuf_add(&e, "", 1);
		v = xasprintf("<nh2:ReceiveMessageNumeric>%s</nh2:Receive"
		    "MessageNumeric><nh2:SendMessageNumeric>%s</nh2:Send"
		    "MessageNumeric>", sv[i].want, sv[i].want);
		CU_ASSERT_PTR_NOT_NULL(strstr(e.data, v));
		free(v);
	}

	/* No header end after the offset: no stamps, and the message goes
	 * unchanged. */
	ubuf_reset(&e);
	CU_ASSERT_EQUAL(msgbuild_stamp_head(&e, "<a><b>", 6, 3, &st,
	    &resume), -1);
	CU_ASSERT(e.len == 3 && memcmp(e.data, "<a>", 3) == 0);
	CU_ASSERT_EQUAL(resume, 3);
	ubuf_reset(&e);
	msgbuild_stamp(&e, "<a><b>", 6, 3, &st);
	CU_ASSERT(e.len == 6 && memcmp(e.data, "<a><b>", 6) == 0);
	ubuf_reset(&e);
	msgbuild_stamp(&e, doc, strlen(doc), strlen(doc) + 10, &st);
	CU_ASSERT(e.len == strlen(doc) && memcmp(e.data, doc, e.len) == 0);
	ubuf_free(&e);
	free(doc);
}

/*
 * msg_hdr_span: '|' marks where stamp_off must be, '^' hdr_end (both are
 * removed); without them the answer is -1.
 */
static void
test_hdr_span(void)
{
	static const char *const t[] = {
		"<n2:NLETS><n2:NLETSMessageHeader><nh2:MessageKeyCodeText>DQ"
		    "</nh2:MessageKeyCodeText>|^</n2:NLETSMessageHeader>"
		    "</n2:NLETS>",
		"<n2:NLETSMessageHeader><h:OriginatingORIID>X"
		    "</h:OriginatingORIID><h:DestinationORIID>CA"
		    "</h:DestinationORIID><h:DocumentControlFieldText>T"
		    "</h:DocumentControlFieldText>|<h:MessageReceiveDate>"
		    "01/01/2024</h:MessageReceiveDate>\n^"
		    "</n2:NLETSMessageHeader>",
		/* An empty control field counts. */
		"<NLETSMessageHeader><DestinationORIID>CA</DestinationORIID>"
		    "<DocumentControlFieldText/>|\n  ^</NLETSMessageHeader>",
		/* Only the header's own children count. */
		"<NLETSMessageHeader><OriginatingORIID>X</OriginatingORIID>|"
		    "<x:Other><DestinationORIID>CA</DestinationORIID>"
		    "</x:Other>^</NLETSMessageHeader>",
		"<NLETSMessageHeader>|^</NLETSMessageHeader>",
		/* Markup in comments, CDATA and PIs is not markup. */
		"<NLETSMessageHeader><DestinationORIID>CA</DestinationORIID>|"
		    "<!-- </NLETSMessageHeader> -->^</NLETSMessageHeader>",
		"<NLETSMessageHeader><DocumentControlFieldText><![CDATA["
		    "</DocumentControlFieldText></NLETSMessageHeader>]]>"
		    "</DocumentControlFieldText>|^</NLETSMessageHeader>",
		"<?pi </NLETSMessageHeader> ?><n2:NLETS><NLETSMessageHeader>"
		    "<MessageKeyCodeText>DQ</MessageKeyCodeText>|<?pi x?>^"
		    "</NLETSMessageHeader></n2:NLETS>",
		"<!-- <NLETSMessageHeader><DestinationORIID>XX"
		    "</DestinationORIID></NLETSMessageHeader> -->"
		    "<NLETSMessageHeader><DestinationORIID>CA"
		    "</DestinationORIID>|^</NLETSMessageHeader>",
		"<NLETSMessageHeader><DestinationORIID a=\"</x>\">CA"
		    "</DestinationORIID>|^</NLETSMessageHeader \n\t>",
		"<NLETSMessageHeaderX><DestinationORIID>XX</DestinationORIID>"
		    "</NLETSMessageHeaderX><NLETSMessageHeader>|^"
		    "</NLETSMessageHeader>",
		/* -1: no header, no end tag, or what xscan cannot follow. */
		"<n2:NLETS><n2:NLETSMessageHeader/></n2:NLETS>",
		"<n2:NLETS></n2:NLETS>",
		"<NLETSMessageHeader><DestinationORIID>CA</DestinationORIID>",
		"<NLETSMessageHeader><DestinationORIID>CA</NLETS>",
		"<NLETSMessageHeader><!-- </NLETSMessageHeader>",
		"<NLETSMessageHeader><![CDATA[</NLETSMessageHeader>",
		"<NLETSMessageHeader></NLETSMessageHeader",
		"<!DOCTYPE x><NLETSMessageHeader></NLETSMessageHeader>",
		"",
		"</",
	};
	char	 buf[512], *bar;
	size_t	 so_want, he_want, so, he, len, i;
	int	 rc, want_rc;

	for (i = 0; i < TM_NEL(t); i++) {
		snprintf(buf, sizeof buf, "%s", t[i]);
		so_want = he_want = (size_t)-1;
		if ((bar = strchr(buf, '|')) != NULL) {
			so_want = (size_t)(bar - buf);
			memmove(bar, bar + 1, strlen(bar));
		}
		if ((bar = strchr(buf, '^')) != NULL) {
			he_want = (size_t)(bar - buf);
			memmove(bar, bar + 1, strlen(bar));
		}
		want_rc = so_want == (size_t)-1 ? -1 : 0;
		len = strlen(buf);
		so = he = 12345;
		rc = msg_hdr_span(buf, len, 0, &so, &he);
		if (rc != want_rc || (rc == 0 && (so != so_want ||
		    he != he_want)))
			fprintf(stderr, "\n  hdr_span #%zu: rc %d, %zu %zu, "
			    "want %zu %zu", i, rc, so, he, so_want, he_want);
		CU_ASSERT_EQUAL(rc, want_rc);
		if (rc != 0 || want_rc != 0)
			continue;
		CU_ASSERT_EQUAL(so, so_want);
		CU_ASSERT_EQUAL(he, he_want);
		/* From the stamp offset, only the end tag is looked for. */
		he = 0;
		CU_ASSERT_EQUAL(msg_hdr_span(buf, len, so_want, &so, &he), 0);
		CU_ASSERT_EQUAL(so, so_want);
		CU_ASSERT_EQUAL(he, he_want);
	}
	CU_ASSERT_EQUAL(msg_hdr_span(NULL, 0, 0, &so, &he), -1);
}

/*
 * Response-side photo rewriting: STRIP removes every nc:PersonDigitalImage
 * and the psp:DoNotRetainIndicator after it; NORETAIN makes each photo
 * followed by a true one (inserted with its own namespace declaration,
 * or a false one set). The rest is kept byte for byte and the result
 * validates.
 */

/* Rewrite doc with mode, check the count and that the result validates
 * with the header unchanged; the result is left in out. */
static void
tm_check_rewrite(const char *name, const char *doc, size_t len, int mode,
    int want, struct ubuf *out, struct msg *m)
{
	struct msg_diags	 d;
	struct msg		 m0;
	int			 rc;

	CU_ASSERT_EQUAL_FATAL(msgparse_message(tm_schema, doc, len, TM_MAXLEN,
	    0, &m0, &d), 0);
	rc = msgbuild_photo_rewrite(out, doc, len, mode);
	if (rc != want)
		fprintf(stderr, "\n  %s: %d photos changed, want %d", name, rc,
		    want);
	CU_ASSERT_EQUAL(rc, want);
	rc = msgparse_message(tm_schema, out->data, out->len, TM_MAXLEN, 0, m,
	    &d);
	if (rc != 0) {
		fprintf(stderr, "\n  %s rewritten:\n%.*s", name,
		    (int)out->len, out->data);
		tm_dump(name, &d);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(out->len >= m0.hdr_end &&
	    memcmp(out->data, doc, m0.hdr_end) == 0);
	CU_ASSERT_EQUAL(m->hdr_end, m0.hdr_end);
	CU_ASSERT_EQUAL(m->nrecords, m0.nrecords);
	CU_ASSERT_STRING_EQUAL(m->person.oln, m0.person.oln);
	if (want == 0)
		CU_ASSERT(out->len == len && memcmp(out->data, doc, len) == 0);
}

static void
test_photo_rewrite_files(void)
{
	static const struct {
		const char	*file;
		int		 strip;		/* photos removed */
		int		 noretain; /* indicators inserted or set */
	} t[] = {
		{ "dr-photo.xml", 1, 1 },		/* false set */
		{ "dr-text-photo.xml", 1, 1 },		/* body level */
		{ "nlets-dr-photo.xml", 1, 0 },	/* already true */
		{ "dr-notonfile.xml", 0, 0 },
		{ "nlets-dnr.xml", 0, 0 },
	};
	struct msg	 m;
	struct ubuf	 out;
	char		 rel[256], *buf;
	size_t		 i, len;

	ubuf_init(&out);
	for (i = 0; i < TM_NEL(t); i++) {
		snprintf(rel, sizeof rel, "fixtures/msg/valid/%s", t[i].file);
		buf = tm_read(rel, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(buf);

		tm_check_rewrite(t[i].file, buf, len, MSGBUILD_PHOTO_STRIP,
		    t[i].strip, &out, &m);
		CU_ASSERT_EQUAL(m.nphotos, 0);
		CU_ASSERT_EQUAL(m.has_photo, 0);
		CU_ASSERT_EQUAL(tm_count(out.data, out.len,
		    "PersonDigitalImage"), 0);
		CU_ASSERT_EQUAL(tm_count(out.data, out.len,
		    "DoNotRetainIndicator"), 0);
		CU_ASSERT_EQUAL(tm_count(out.data, out.len,
		    "BinaryBase64Object"), 0);

		tm_check_rewrite(t[i].file, buf, len,
		    MSGBUILD_PHOTO_NORETAIN, t[i].noretain, &out, &m);
		CU_ASSERT_EQUAL(m.nphotos, t[i].strip);
		CU_ASSERT_EQUAL(m.nphotos_noretain, t[i].strip);
		CU_ASSERT_EQUAL(tm_count(out.data, out.len,
		    "DoNotRetainIndicator"), t[i].strip);
		/* "false" became "true": one byte less. */
		if (strcmp(t[i].file, "dr-photo.xml") == 0)
			CU_ASSERT_EQUAL(out.len, len - 1);
		free(buf);
	}
	ubuf_free(&out);
}

/*
 * The query a destination gets when the photo policy withholds the photo
 * from it (msgbuild_imq_strip): no n2:ImageRequestIndicator, no
 * psp:PhotoPurpose, in XML and in its legacy rendering; the header and
 * the rest byte for byte; a comment that names the element is left.
 */
static void
test_imq_strip(void)
{
	static const char	 note[] = "<!-- <n2:ImageRequestIndicator>true"
				    "</n2:ImageRequestIndicator> -->";
	static const char	 tail[] = "</n2:Person>\n"
				    "  </n2:NLETSInquiryData>";
	struct msg_diags	 d;
	struct msg		 m0, m;
	struct ubuf		 out, doc, text;
	char			*buf, *cause = NULL, *p;
	size_t			 len;
	int			 rc, pass;

	ubuf_init(&out);
	ubuf_init(&doc);
	ubuf_init(&text);
	buf = tm_read("fixtures/msg/valid/dq-imq.xml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (pass = 0; pass < 2; pass++) {
		/* Pass 1: with a comment naming the element, in the body. */
		ubuf_reset(&doc);
		p = strstr(buf, "<n2:ReasonCode>");
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		ubuf_add(&doc, buf, (size_t)(p - buf));
		if (pass == 1)
			ubuf_adds(&doc, note);
		ubuf_add(&doc, p, len - (size_t)(p - buf));
		CU_ASSERT_EQUAL_FATAL(msgparse_message(tm_schema, doc.data,
		    doc.len, TM_MAXLEN, 0, &m0, &d), 0);
		CU_ASSERT_EQUAL(m0.imq, 1);
		CU_ASSERT_EQUAL(m0.purpose.present, 1);
		CU_ASSERT_EQUAL(msgbuild_imq_strip(&out, doc.data, doc.len), 2);
		rc = msgparse_message(tm_schema, out.data, out.len, TM_MAXLEN,
		    0, &m, &d);
		if (rc != 0) {
			fprintf(stderr, "\n  stripped:\n%.*s", (int)out.len,
			    out.data);
			tm_dump("dq-imq.xml stripped", &d);
		}
		CU_ASSERT_EQUAL_FATAL(rc, 0);
		CU_ASSERT_EQUAL(m.imq, 0);
		CU_ASSERT_EQUAL(m.purpose.present, 0);
		CU_ASSERT_STRING_EQUAL(m.person.oln, m0.person.oln);
		CU_ASSERT_STRING_EQUAL(m.rsn, m0.rsn);
		CU_ASSERT_EQUAL(m.stamp_off, m0.stamp_off);
		CU_ASSERT(memcmp(out.data, doc.data, m0.hdr_end) == 0);
		CU_ASSERT_EQUAL(tm_count(out.data, out.len, "PhotoPurpose"), 0);
		CU_ASSERT_EQUAL(tm_count(out.data, out.len,
		    "CaseNumberText"), 0);
		CU_ASSERT_EQUAL(memmem(out.data, out.len, note,
		    strlen(note)) != NULL, pass == 1);
		/* Its lines are gone with it: the rest is as it was. */
		CU_ASSERT_PTR_NOT_NULL(memmem(out.data, out.len, tail,
		    strlen(tail)));

		/* Rendered for a legacy line: no IMQ/, no purpose. */
		ubuf_reset(&text);
		CU_ASSERT_EQUAL_FATAL(legacy_from_xml(tm_schema, out.data,
		    out.len, "CAOLN0000", &text, &cause), 0);
		ubuf_add(&text, "", 1);
		CU_ASSERT_PTR_NULL(strstr(text.data, "IMQ/"));
		CU_ASSERT_PTR_NULL(strstr(text.data, "IPU/"));
		CU_ASSERT_PTR_NULL(strstr(text.data, "ICN/"));
		CU_ASSERT_PTR_NOT_NULL(strstr(text.data, "OLN/S1234567"));
	}

	/* Nothing to remove: a plain copy. */
	free(buf);
	buf = tm_read("fixtures/msg/valid/dq-oln.xml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(msgbuild_imq_strip(&out, buf, len), 0);
	CU_ASSERT(out.len == len && memcmp(out.data, buf, len) == 0);
	CU_ASSERT_EQUAL(msgbuild_imq_strip(&out, "<a/>", 4), -1);
	CU_ASSERT_EQUAL(out.len, 0);
	free(buf);
	ubuf_free(&out);
	ubuf_free(&doc);
	ubuf_free(&text);
}

/* An AML as a sender writes it, its text text (any markup) in place. */
static char *
tm_aml(const char *text)
{
	return xasprintf("<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" "
	    "xmlns:nh2=\"" MSG_NS_NH2 "\" n2:version=\"4.00\">\n"
	    "<n2:NLETSMessageHeader>\n"
	    "<nh2:MessageKeyCodeText>AML</nh2:MessageKeyCodeText>\n"
	    "<nh2:OriginatingORIID>WA0340000</nh2:OriginatingORIID>\n"
	    "<nh2:DestinationORIID>OR</nh2:DestinationORIID>\n"
	    "</n2:NLETSMessageHeader>\n"
	    "<n2:NLETSMailData n2:key=\"AML\">\n"
	    "<n2:MailMessageText>%s</n2:MailMessageText>\n"
	    "</n2:NLETSMailData>\n</n2:NLETS>\n", text);
}

/*
 * The AML caveat (msgbuild_caveat): inserted once, as the text's first
 * line, byte for byte elsewhere, in XML and in the legacy rendering; not
 * again when the sender wrote it; refused past the schema's limit.
 */
static void
test_caveat(void)
{
	static const struct {
		const char	*text;
		int		 rc;	/* 1 inserted, 0 there already */
		const char	*starts;	/* the delivered text's start */
	} t[] = {
		{ "OFFICER SAFETY: ARMED.\nSECOND LINE", 1,
		  MSGBUILD_AML_CAVEAT "\nOFFICER SAFETY" },
		{ "<![CDATA[A < B & C]]>", 1,
		  MSGBUILD_AML_CAVEAT "\n<![CDATA[A < B" },
		{ "\n  <![CDATA[FOR LAW ENFORCEMENT DISSEMINATION ONLY\nX]]>",
		  0, "\n  <![CDATA[FOR LAW" },
		{ "for law enforcement dissemination only  \r\nX", 0, "for law" },
		{ "FOR LAW ENFORCEMENT DISSEMINATION ONLY", 0, "FOR LAW" },
		{ "\n\tX &amp; Y", 1, "\n\t" MSGBUILD_AML_CAVEAT "\nX &amp;" },
		{ "X\nFOR LAW ENFORCEMENT DISSEMINATION ONLY", 1,
		  MSGBUILD_AML_CAVEAT "\nX\n" },
		{ "FOR LAW ENFORCEMENT DISSEMINATION ONLY, NOT THE PRESS", 1,
		  MSGBUILD_AML_CAVEAT "\nFOR LAW" },
		{ "<!-- note -->TEXT", 1, MSGBUILD_AML_CAVEAT "\n<!-- note" },
	};
	struct msg_diags	 d;
	struct msg		 m0, m;
	struct ubuf		 out, again, text;
	char			*doc, *cause = NULL, *p;
	size_t			 i, n, chars, max;

	ubuf_init(&out);
	ubuf_init(&again);
	ubuf_init(&text);
	max = msgparse_text_max(tm_schema);
	CU_ASSERT_EQUAL(max, MSG_TEXT_MAX);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		doc = tm_aml(t[i].text);
		CU_ASSERT_EQUAL_FATAL(tm_expect(t[i].text, doc, 0, &m0), 0);
		CU_ASSERT_EQUAL(msgbuild_caveat(&out, doc, strlen(doc),
		    MSGBUILD_AML_CAVEAT, max, &chars), t[i].rc);
		CU_ASSERT_EQUAL_FATAL(tm_parse_n(out.data, out.len, &m, &d), 0);
		CU_ASSERT_EQUAL(m.stamp_off, m0.stamp_off);
		CU_ASSERT_EQUAL(m.hdr_end, m0.hdr_end);
		CU_ASSERT(memcmp(out.data, doc, m0.hdr_end) == 0);
		p = memmem(out.data, out.len, "<n2:MailMessageText>", 20);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		p += 20;
		if (strncmp(p, t[i].starts, strlen(t[i].starts)) != 0) {
			fprintf(stderr, "\n  caveat %zu: %.80s", i, p);
			CU_FAIL("caveat not where expected");
		}
		/* Byte for byte but the inserted line. */
		n = t[i].rc == 1 ? strlen(MSGBUILD_AML_CAVEAT) + 1 : 0;
		CU_ASSERT_EQUAL(out.len, strlen(doc) + n);
		/* Never twice. */
		CU_ASSERT_EQUAL(msgbuild_caveat(&again, out.data, out.len,
		    MSGBUILD_AML_CAVEAT, max, &chars), 0);
		CU_ASSERT(again.len == out.len &&
		    memcmp(again.data, out.data, out.len) == 0);
		/* A legacy line reads it first after TXT. */
		ubuf_reset(&text);
		CU_ASSERT_EQUAL_FATAL(legacy_from_xml(tm_schema, out.data,
		    out.len, "ORPDX0000", &text, &cause), 0);
		ubuf_add(&text, "", 1);
		p = strstr(text.data, "TXT\n");
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		CU_ASSERT_EQUAL(strncasecmp(p + 4, MSGBUILD_AML_CAVEAT,
		    strlen(MSGBUILD_AML_CAVEAT)), 0);
		free(doc);
	}

	/* The limit: a text of max - 39 characters takes the caveat, one
	 * more does not (a reference counts one character). */
	for (n = 0; n < 2; n++) {
		struct ubuf	 big;

		ubuf_init(&big);
		ubuf_adds(&big, "&amp;");
		for (i = 1; i < max - strlen(MSGBUILD_AML_CAVEAT) - 1 + n; i++)
			ubuf_add(&big, (i % 70) ? "X" : "\n", 1);
		ubuf_add(&big, "", 1);
		doc = tm_aml(big.data);
		CU_ASSERT_EQUAL(tm_expect("long text", doc, 0, &m0), 0);
		CU_ASSERT_EQUAL(msgbuild_caveat(&out, doc, strlen(doc),
		    MSGBUILD_AML_CAVEAT, max, &chars), n == 0 ? 1 : -1);
		CU_ASSERT_EQUAL(chars, max + n);
		if (n == 0) {
			CU_ASSERT_EQUAL(tm_parse_n(out.data, out.len, &m, &d),
			    0);
		} else {
			CU_ASSERT_EQUAL(out.len, 0);
		}
		free(doc);
		ubuf_free(&big);
	}

	/* No MailMessageText: nothing to do it to. */
	doc = tm_read("fixtures/msg/valid/sm.xml", &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(msgbuild_caveat(&out, doc, n, MSGBUILD_AML_CAVEAT,
	    max, &chars), -1);
	CU_ASSERT_EQUAL(chars, 0);
	CU_ASSERT_EQUAL(out.len, 0);
	free(doc);
	ubuf_free(&out);
	ubuf_free(&again);
	ubuf_free(&text);
}

/* A picture of NIEM 3.0 in a standardized AA's missing person. */
static const char tm_aa_pic[] = "<nc:PersonDigitalImage "
    "xmlns:nc=\"http://release.niem.gov/niem/niem-core/3.0/\">\n"
    "<nc:BinaryBase64Object>/9j/4AAQSkZJRgABAQAAAQABAAD/2w==</nc:BinaryBase64Object>\n"
    "</nc:PersonDigitalImage>\n";

/*
 * A mail without its pictures (msgbuild_image_strip): the free-text
 * AA's nc:Image and its psp:PhotoPurpose, a standardized AA's binary
 * whatever its namespace; the header and the rest byte for byte, valid.
 */
static void
test_image_strip(void)
{
	struct msg_diags	 d;
	struct msg		 m0, m;
	struct ubuf		 out, doc, text;
	char			*buf, *cause = NULL, *p;
	size_t			 len;

	ubuf_init(&out);
	ubuf_init(&doc);
	ubuf_init(&text);
	buf = tm_read("fixtures/msg/valid/nlets-aa-text.xml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL_FATAL(tm_parse_n(buf, len, &m0, &d), 0);
	CU_ASSERT_EQUAL(m0.has_photo, 1);
	CU_ASSERT_EQUAL(m0.purpose.present, 1);
	CU_ASSERT_STRING_EQUAL(m0.purpose.verifier,
	    "SGT. A. SAMPLE, CASE OFFICER");
	CU_ASSERT_EQUAL(msgbuild_image_strip(&out, buf, len), 1);
	CU_ASSERT_EQUAL_FATAL(tm_parse_n(out.data, out.len, &m, &d), 0);
	CU_ASSERT_EQUAL(m.has_photo, 0);
	CU_ASSERT_EQUAL(m.purpose.present, 0);
	CU_ASSERT_EQUAL(m.stamp_off, m0.stamp_off);
	CU_ASSERT(memcmp(out.data, buf, m0.hdr_end) == 0);
	CU_ASSERT_EQUAL(tm_count(out.data, out.len, "Image"), 0);
	CU_ASSERT_EQUAL(tm_count(out.data, out.len, "VerifierName"), 0);
	p = "PLATE TEST123.]]></n2:MailMessageText>\n</n2:NLETSMailData>";
	CU_ASSERT_PTR_NOT_NULL(memmem(out.data, out.len, p, strlen(p)));
	/* Rendered for a legacy line: the text, no picture note. */
	CU_ASSERT_EQUAL_FATAL(legacy_from_xml(tm_schema, out.data, out.len,
	    "ORPDX0000", &text, &cause), 0);
	ubuf_add(&text, "", 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(text.data, "CHILD ABDUCTION"));
	CU_ASSERT_PTR_NULL(strstr(text.data, "IMG/"));
	free(buf);

	/* A standardized AA: the binary inside is a picture too. */
	buf = tm_read("fixtures/msg/valid/nlets-aa-standard.xml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	p = strstr(buf, "<j:MissingPersonCircumstanceText>");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	ubuf_add(&doc, buf, (size_t)(p - buf));
	ubuf_adds(&doc, tm_aa_pic);
	ubuf_adds(&doc, p);
	CU_ASSERT_EQUAL_FATAL(tm_parse_n(doc.data, doc.len, &m0, &d), 0);
	CU_ASSERT_EQUAL(m0.has_photo, 1);
	CU_ASSERT_EQUAL(m0.nphotos, 1);
	CU_ASSERT_EQUAL(msgbuild_image_strip(&out, doc.data, doc.len), 1);
	CU_ASSERT_EQUAL_FATAL(tm_parse_n(out.data, out.len, &m, &d), 0);
	CU_ASSERT_EQUAL(m.has_photo, 0);
	CU_ASSERT_EQUAL(tm_count(out.data, out.len, "BinaryBase64Object"), 0);
	CU_ASSERT(out.len == len - 1 || out.len == len);
	CU_ASSERT_PTR_NOT_NULL(memmem(out.data, out.len,
	    "<j:MissingPersonCircumstanceText>", 33));
	/* The whole parse (no cut) reads the same picture. */
	CU_ASSERT_EQUAL(msgparse_message(tm_schema, doc.data, doc.len,
	    TM_MAXLEN, MSGPARSE_WHOLE, &m, &d), 0);
	CU_ASSERT_EQUAL(m.nphotos, 1);
	free(buf);

	/* Nothing to remove: a plain copy. */
	buf = tm_read("fixtures/msg/valid/nlets-am.xml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(msgbuild_image_strip(&out, buf, len), 0);
	CU_ASSERT(out.len == len && memcmp(out.data, buf, len) == 0);
	CU_ASSERT_EQUAL(msgbuild_image_strip(&out, "<a/>", 4), -1);
	CU_ASSERT_EQUAL(out.len, 0);
	free(buf);
	ubuf_free(&out);
	ubuf_free(&doc);
	ubuf_free(&text);
}

static const char tm_ins[] = "</nc:PersonDigitalImage>"
    "<psp:DoNotRetainIndicator xmlns:psp=\"" MSG_NS_PSP "\">true"
    "</psp:DoNotRetainIndicator>";

static void
test_photo_rewrite_built(void)
{
	static const char *const to[] = { "WA0340000" };
	struct msgbuild_driver	 dr;
	struct msg		 m;
	struct ubuf		 b, out;
	char			*b64, *doc;
	size_t			 b64len, i;

	b64 = tm_photo_b64(3000, &b64len);
	memset(&dr, 0, sizeof dr);
	dr.person.surname = "SAMPLE";
	dr.person.given = "ALEX";
	dr.person.oln = "S1234567";
	dr.person.olstate = "CA";
	dr.photo_b64 = b64;
	dr.photo_b64len = b64len;
	dr.photo_bytes = 3000;

	/* Three records: a photo without indicator, none, a photo marked
	 * not to be kept. */
	ubuf_init(&b);
	ubuf_init(&out);
	msgbuild_begin(&b, MSG_KEY_DNR, "CAOLN0000", to, 1, "D1");
	msgbuild_driver(&b, &dr);
	dr.photo_b64 = NULL;
	msgbuild_driver(&b, &dr);
	dr.photo_b64 = b64;
	dr.noretain = 1;
	msgbuild_driver(&b, &dr);
	msgbuild_end(&b, MSG_KEY_DNR);

	tm_check_rewrite("dnr", b.data, b.len, MSGBUILD_PHOTO_NORETAIN, 1,
	    &out, &m);
	CU_ASSERT_EQUAL(m.nphotos, 2);
	CU_ASSERT_EQUAL(m.nphotos_noretain, 2);
	CU_ASSERT_PTR_NOT_NULL(memmem(out.data, out.len, tm_ins,
	    sizeof tm_ins - 1));
	/* Done again, nothing left to do. */
	doc = xstrndup(out.data, out.len);
	tm_check_rewrite("dnr again", doc, strlen(doc),
	    MSGBUILD_PHOTO_NORETAIN, 0, &out, &m);
	free(doc);

	tm_check_rewrite("dnr strip", b.data, b.len, MSGBUILD_PHOTO_STRIP, 2,
	    &out, &m);
	CU_ASSERT_EQUAL(m.nphotos, 0);
	CU_ASSERT_EQUAL(m.nrecords, 3);

	/* Indicators as a state may write them: another prefix, blanks,
	 * "1", a comment before, "0". */
	{
		static const struct {
			const char	*from, *to;
			int		 changed;
		} v[] = {
			{ "<psp:DoNotRetainIndicator>true</psp:DoNotRetain"
			    "Indicator>", "<p:DoNotRetainIndicator xmlns:p=\""
			    MSG_NS_PSP "\"> false </p:DoNotRetainIndicator>",
			    1 },
			{ "<psp:DoNotRetainIndicator>true<", "<psp:DoNotRetain"
			    "Indicator> 1 <", 0 },
			{ "<psp:DoNotRetainIndicator>true<", "<!-- state -->\n"
			    "<psp:DoNotRetainIndicator>0<", 1 },
		};
		char	*base = xstrndup(b.data, b.len), *w;

		for (i = 0; i < TM_NEL(v); i++) {
			w = tm_sub(base, v[i].from, v[i].to);
			CU_ASSERT_PTR_NOT_NULL_FATAL(w);
			/* Records 1 and 3 have photos; record 1 none yet. */
			tm_check_rewrite(v[i].to, w, strlen(w),
			    MSGBUILD_PHOTO_NORETAIN, 1 + v[i].changed, &out,
			    &m);
			CU_ASSERT_EQUAL(m.nphotos_noretain, 2);
			tm_check_rewrite(v[i].to, w, strlen(w),
			    MSGBUILD_PHOTO_STRIP, 2, &out, &m);
			CU_ASSERT_EQUAL(tm_count(out.data, out.len,
			    "DoNotRetainIndicator"), 0);
			free(w);
		}
		free(base);
	}

	/* A state that binds psp to something else (or not at all): the
	 * inserted indicator declares its own namespace. */
	{
		char	*f, *w, *w2;
		size_t	 flen;

		f = tm_read("fixtures/msg/valid/nlets-dr-photo.xml", &flen);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		w = tm_sub(f, "<psp:DoNotRetainIndicator>true</psp:DoNotRetain"
		    "Indicator>\n", "");
		CU_ASSERT_PTR_NOT_NULL_FATAL(w);
		w2 = tm_sub(w, "xmlns:psp=\"" MSG_NS_PSP "\"",
		    "xmlns:psp=\"urn:other\"");
		CU_ASSERT_PTR_NOT_NULL_FATAL(w2);
		tm_check_rewrite("psp elsewhere", w2, strlen(w2),
		    MSGBUILD_PHOTO_NORETAIN, 1, &out, &m);
		CU_ASSERT_EQUAL(m.nphotos_noretain, 1);
		free(w2);
		w2 = tm_sub(w, " xmlns:psp=\"" MSG_NS_PSP "\"", "");
		CU_ASSERT_PTR_NOT_NULL_FATAL(w2);
		tm_check_rewrite("no psp", w2, strlen(w2),
		    MSGBUILD_PHOTO_NORETAIN, 1, &out, &m);
		CU_ASSERT_EQUAL(m.nphotos_noretain, 1);
		free(w2);
		free(w);
		free(f);
	}

	/* Not a parsed message: -1, nothing written. */
	ubuf_adds(&out, "junk");
	CU_ASSERT_EQUAL(msgbuild_photo_rewrite(&out, "<a/>", 4,
	    MSGBUILD_PHOTO_STRIP), -1);
	CU_ASSERT_EQUAL(out.len, 0);
	doc = xasprintf(TM_HEAD TM_RSP("<nc:PersonDigitalImage>"
	    "<nc:BinaryBase64Object>QUJD</nc:BinaryBase64Object>\n"), "DR",
	    "CAOLN0000");
	CU_ASSERT_EQUAL(msgbuild_photo_rewrite(&out, doc, strlen(doc),
	    MSGBUILD_PHOTO_STRIP), -1);
	CU_ASSERT_EQUAL(out.len, 0);
	free(doc);
	ubuf_free(&out);
	ubuf_free(&b);
	free(b64);
}

/*
 * Cutting long comments, photo texts and a long MailMessageText out of
 * what libxml2 parses must never change a result: each case is parsed
 * as is and with MSGPARSE_WHOLE, and the code, every diagnostic (line,
 * column, code, XPath, text) and the photo fields must agree, and the
 * code must be the one the table expects.
 */

struct tm_elide {
	const char	*name;
	const char	*sub[6];	/* in dr-photo.xml, each sub[2k] by
					   sub[2k + 1]; "%C" is 600 bytes of
					   plain comment text */
	int		 code;
	size_t		 photo_len;	/* when code is 0 */
};

#define TM_PHOTO1 \
	"/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0P" \
	"EyAVExISEyccHhcgLikxMC4p"
#define TM_B64OPEN	"<nc:BinaryBase64Object>\n        " TM_PHOTO1
#define TM_B64LAST	"ZLosl0//2Q==\n        </nc:BinaryBase64Object>"

static const struct tm_elide tm_elide[] = {
	{ "as is", { NULL }, 0, 178 },
	{ "long comment in the body", { "<n2c:Driver>",
	    "<n2c:Driver><!--%C-->" }, 0, 178 },
	{ "long comment before the root", { "<n2:NLETS xmlns",
	    "<!--%C-->\n<n2:NLETS xmlns" }, 0, 178 },
	{ "long comment with --", { "<n2c:Driver>",
	    "<n2c:Driver><!--%C -- %C-->" }, MSG_ER_MALFORMED, 0 },
	{ "long comment ending in -", { "<n2c:Driver>",
	    "<n2c:Driver><!--%C--->" }, MSG_ER_MALFORMED, 0 },
	{ "long comment with UTF-8", { "<n2c:Driver>",
	    "<n2c:Driver><!--%C \xc3\xa9 %C-->" }, 0, 178 },
	{ "long comment with a bad byte", { "<n2c:Driver>",
	    "<n2c:Driver><!--%C \xff %C-->" }, MSG_ER_MALFORMED, 0 },
	{ "unterminated long comment", { "<n2c:Driver>",
	    "<n2c:Driver><!--%C" }, MSG_ER_MALFORMED, 0 },
	{ "photo not base64", { "ZLosl0//2Q==", "ZLosl0*/2Q==" },
	    MSG_ER_FORMAT, 0 },
	{ "photo with a character reference", { "ZLosl0//2Q==",
	    "ZLosl0/&#47;2Q==" }, 0, 178 },
	{ "photo with CDATA", { "ZLosl0//2Q==",
	    "<![CDATA[ZLosl0//2Q==]]>" }, 0, 178 },
	{ "photo with a bad byte", { "ZLosl0//2Q==", "ZLosl0//2Q==\xc3" },
	    MSG_ER_MALFORMED, 0 },
	{ "photo with an attribute", { "<nc:BinaryBase64Object>",
	    "<nc:BinaryBase64Object a=\"1\">" }, MSG_ER_FORMAT, 0 },
	{ "photo size wrong", { "<nc:BinarySizeValue>0.17<",
	    "<nc:BinarySizeValue>1.2<" }, MSG_ER_FORMAT, 0 },
	{ "photo size within 1 KB", { "<nc:BinarySizeValue>0.17<",
	    "<nc:BinarySizeValue>1.16<" }, 0, 178 },
	{ "photo size not a decimal", { "<nc:BinarySizeValue>0.17<",
	    "<nc:BinarySizeValue>0x1p3<" }, MSG_ER_FORMAT, 0 },
	{ "photo text starts like a placeholder", { TM_B64OPEN,
	    "<nc:BinaryBase64Object>#0" }, MSG_ER_FORMAT, 0 },
	{ "photo text is a placeholder", { TM_B64OPEN,
	    "<nc:BinaryBase64Object>#0</nc:BinaryBase64Object><!--",
	    TM_B64LAST, "-->" }, MSG_ER_FORMAT, 0 },
	{ "photo then a bad element", {
	    "<nc:BinaryFormatID>image/jpeg</nc:BinaryFormatID>",
	    "<nc:BinaryFormat>image/jpeg</nc:BinaryFormat>" },
	    MSG_ER_FORMAT, 0 },
	{ "photo then a long comment and a bad indicator", {
	    "<psp:DoNotRetainIndicator>false",
	    "<!--%C--><psp:DoNotRetainIndicator>maybe" }, MSG_ER_FORMAT,
	    0 },
	{ "comment-like text in CDATA", { "<n2:ResponseText>SYNTHETIC",
	    "<n2:ResponseText><![CDATA[<!--%C-->]]>SYNTHETIC" }, 0, 178 },
	{ "comment-like text in an attribute", { "<n2c:Driver>",
	    "<n2c:Driver x=\"<!--%C-->\">" }, MSG_ER_MALFORMED, 0 },
	{ "photo-like text in a PI", { "<n2c:Driver>", "<n2c:Driver><?pi "
	    "<nc:BinaryBase64Object>AAAA</nc:BinaryBase64Object>?>" }, 0,
	    178 },
	{ "photo element with an undeclared prefix", {
	    "<nc:BinaryBase64Object>",
	    "<x:BinaryBase64Object xmlns:x=\"urn:x\">" }, MSG_ER_MALFORMED,
	    0 },
	{ "photo element in the default namespace", {
	    "<nc:BinaryBase64Object>",
	    "<BinaryBase64Object xmlns=\"" MSG_NS_NC "\">",
	    "</nc:BinaryBase64Object>", "</BinaryBase64Object>" }, 0, 178 },
	{ "photo element in another namespace, bare", {
	    "n2:version=\"4.00\">", "xmlns:x=\"urn:x\" n2:version=\"4.00\">",
	    "<nc:BinaryBase64Object>", "<x:BinaryBase64Object>",
	    "</nc:BinaryBase64Object>", "</x:BinaryBase64Object>" },
	    MSG_ER_FORMAT, 0 },
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
				ubuf_adds(&b, "PADDING TEXT FOR A LONG "
				    "COMMENT, LINE OF SIXTY CHARACTERS "
				    "0123\n");
			p++;
		} else
			ubuf_add(&b, p, 1);
	}
	ubuf_add(&b, "", 0);
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

	r1 = msgparse_message(tm_schema, doc, len, TM_MAXLEN, 0, &m1, &d1);
	r2 = msgparse_message(tm_schema, doc, len, TM_MAXLEN, MSGPARSE_WHOLE,
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
	CU_ASSERT_EQUAL(m1.stamp_off, m2.stamp_off);
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
	char		*base, *doc, *from, *to, *next;
	size_t		 blen, i, k, cut;

	base = tm_read("fixtures/msg/valid/dr-photo.xml", &blen);
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	for (i = 0; i < TM_NEL(tm_elide); i++) {
		doc = xstrdup(base);
		for (k = 0; k < 6 && tm_elide[i].sub[k] != NULL; k += 2) {
			from = tm_elide_expand(tm_elide[i].sub[k]);
			to = tm_elide_expand(tm_elide[i].sub[k + 1]);
			next = tm_sub(doc, from, to);
			if (next == NULL)
				fprintf(stderr, "\n  %s: no \"%s\"",
				    tm_elide[i].name, from);
			CU_ASSERT_PTR_NOT_NULL_FATAL(next);
			free(doc);
			doc = next;
			free(from);
			free(to);
		}
		cut = tm_elide_compare(tm_elide[i].name, doc, strlen(doc),
		    tm_elide[i].code, tm_elide[i].photo_len, 1);
		/* A valid photo written plainly is kept out of libxml2. */
		if (tm_elide[i].code == 0 && strstr(doc, TM_B64OPEN) !=
		    NULL && strstr(doc, TM_B64LAST) != NULL)
			CU_ASSERT(cut >= 240);
		free(doc);
	}
	free(base);
}

/* The cases with the plain-text scan in both of its forms. */
static void
test_elide(void)
{
	msgparse_plain_simd = 1;
	tm_elide_all();
	msgparse_plain_simd = 0;
	tm_elide_all();
	msgparse_plain_simd = 1;
}

/*
 * Two records with photos (the second one broken in several ways), and a
 * 40 KB comment in an AM: the comment is cut, the MailMessageText limit
 * still holds.
 */
static void
test_elide_more(void)
{
	static const char rec[] =
	    "<n2c:Driver><nc:PersonBirthDate><nc:Date>1980-01-01</nc:Date>"
	    "</nc:PersonBirthDate>\n<nc:PersonDigitalImage>"
	    "<nc:BinaryBase64Object>\n%s\n</nc:BinaryBase64Object>\n"
	    "<nc:BinaryFormatID>image/jpeg</nc:BinaryFormatID>"
	    "<nc:BinarySizeValue>%s</nc:BinarySizeValue>"
	    "</nc:PersonDigitalImage>%s\n<nc:PersonName><nc:PersonGivenName>"
	    "A</nc:PersonGivenName><nc:PersonSurName>B</nc:PersonSurName>"
	    "</nc:PersonName><nc:PersonSexCode>F</nc:PersonSexCode>\n"
	    "<j:PersonAugmentation><nc:DriverLicense>"
	    "<nc:DriverLicenseIdentification><nc:IdentificationID>X1"
	    "</nc:IdentificationID></nc:DriverLicenseIdentification>"
	    "</nc:DriverLicense></j:PersonAugmentation></n2c:Driver>\n";
	static const struct {
		const char	*b64, *size, *nr;
		int		 code;
	} second[] = {
		{ "AAAA\nAAAA", "0.006", "", 0 },
		{ "AAAA\nAA=A", "0.006", "", MSG_ER_FORMAT },
		{ "AAAA\nAAAA", "1.1", "", MSG_ER_FORMAT },
		{ "AAAA\nAAAA", "0.006", "<psp:DoNotRetainIndicator>true"
		    "</psp:DoNotRetainIndicator>", 0 },
		{ "AAAA&amp;", "0.003", "", MSG_ER_FORMAT },
		{ "", "0", "", MSG_ER_FORMAT },	/* no image at all */
	};
	struct ubuf	 b;
	char		*doc, name[64];
	size_t		 i, k;

	for (i = 0; i < TM_NEL(second); i++) {
		ubuf_init(&b);
		ubuf_printf(&b, TM_HEAD "<n2:NLETSResponseData>\n", "DR",
		    "CAOLN0000");
		ubuf_printf(&b, rec, "QUJD", "0.003", "");
		ubuf_printf(&b, rec, second[i].b64, second[i].size,
		    second[i].nr);
		ubuf_adds(&b, "</n2:NLETSResponseData>\n" TM_TAIL);
		doc = ubuf_take(&b, NULL);
		snprintf(name, sizeof name, "second photo #%zu", i);
		tm_elide_compare(name, doc, strlen(doc), second[i].code, 3, 2);
		free(doc);
	}

	/* An AM of 50 KB: 9000 characters of text and a 40 KB comment. */
	for (k = 0; k < 2; k++) {
		ubuf_init(&b);
		ubuf_printf(&b, TM_HEAD "<n2:NLETSMailData n2:key=\"AM\">"
		    "<n2:MailMessageText>", "AM", "WA0340000");
		/* k = 1: 11000 characters, over the schema's 10000 */
		for (i = 0; i < (k == 0 ? 9000u : 11000u) / 50; i++)
			ubuf_adds(&b, "ADMINISTRATIVE MESSAGE TEXT 0123456789 "
			    "ABCDEFGHIJ\n");
		ubuf_adds(&b, "</n2:MailMessageText><!--");
		for (i = 0; i < 40000 / 50; i++)
			ubuf_adds(&b, "A LONG COMMENT, NOTHING BUT PLAIN "
			    "TEXT 0123456789\n");
		ubuf_adds(&b, "--></n2:NLETSMailData>\n" TM_TAIL);
		doc = ubuf_take(&b, NULL);
		CU_ASSERT(tm_elide_compare(k == 0 ? "AM 50 KB" :
		    "AM text too long", doc, strlen(doc), k == 0 ? 0 :
		    MSG_ER_FORMAT, 0, 0) >= (k == 0 ? 49000u : 0u));
		free(doc);
	}
}

/*
 * The MailMessageText of an AM: a long plain text is cut and its length
 * checked against the schema's facets on the input bytes; anything else
 * is left to libxml2. Each case is compared with MSGPARSE_WHOLE
 * (tm_elide_compare), and the table says whether the text was cut.
 */

#define TM_AM_HEAD \
	"<?xml version=\"1.0\"?>\n" \
	"<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" xmlns:nh2=\"" MSG_NS_NH2 "\"\n" \
	" xmlns:nc=\"" MSG_NS_NC "\" xmlns:j=\"" MSG_NS_J "\"\n" \
	" xmlns:n2-aa=\"" MSG_NS_AA "\" xmlns:x=\"urn:x\" " \
	"n2:version=\"4.00\">\n" \
	"<n2:NLETSMessageHeader><nh2:MessageKeyCodeText>%s" \
	"</nh2:MessageKeyCodeText>\n" \
	"<nh2:OriginatingORIID>WA0340000</nh2:OriginatingORIID>\n" \
	"<nh2:DestinationORIID>ORPDX0000</nh2:DestinationORIID>\n" \
	"</n2:NLETSMessageHeader>\n"
#define TM_AM_TAIL	"\n</n2:NLETS>\n"

struct tm_text {
	const char	*name;
	const char	*key;	/* "AM", or another for a wrong place */
	const char	*pre;	/* before the text; "%T": 400 bytes */
	size_t		 n;	/* bytes of generated plain text */
	const char	*mid;	/* put in the middle of the text */
	const char	*post;		/* after the text */
	int		 code;
	int		 cut;	/* 1: the text is kept out of libxml2 */
};

#define TM_AMO	"<n2:NLETSMailData n2:key=\"AM\"><n2:MailMessageText>"
#define TM_AMC	"</n2:MailMessageText></n2:NLETSMailData>"

static const struct tm_text tm_texts[] = {
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
	{ "a child element", "AM", TM_AMO, 9000, "<n2:B>x</n2:B>", TM_AMC,
	    MSG_ER_FORMAT, 0 },
	{ "CDATA in the text", "AM", TM_AMO, 9000, "<![CDATA[x]]>", TM_AMC, 0,
	    0 },
	{ "a comment in the text", "AM", TM_AMO, 9000, "<!--x-->", TM_AMC, 0,
	    0 },
	{ "an attribute", "AM", "<n2:NLETSMailData><n2:MailMessageText "
	    "a=\"1\">", 9000, "", TM_AMC, MSG_ER_FORMAT, 0 },
	{ "a space in the start tag", "AM",
	    "<n2:NLETSMailData><n2:MailMessageText >", 9000, "", TM_AMC, 0,
	    0 },
	{ "the default namespace, declared on the body", "AM",
	    "<n2:NLETSMailData xmlns=\"" MSG_NS_N2 "\"><MailMessageText>",
	    9000,
	    "", "</MailMessageText></n2:NLETSMailData>", 0, 1 },
	{ "the default namespace, declared on the text", "AM",
	    "<n2:NLETSMailData><MailMessageText xmlns=\"" MSG_NS_N2 "\">",
	    9000,
	    "", "</MailMessageText></n2:NLETSMailData>", 0, 0 },
	{ "another namespace, declared on the text", "AM",
	    "<n2:NLETSMailData><y:MailMessageText xmlns:y=\"urn:y\">", 9000,
	    "", "</y:MailMessageText></n2:NLETSMailData>", MSG_ER_FORMAT, 0 },
	{ "another namespace, declared on the root", "AM",
	    "<n2:NLETSMailData><x:MailMessageText>", 9000, "",
	    "</x:MailMessageText></n2:NLETSMailData>", MSG_ER_FORMAT, 0 },
	{ "inside a standardized AA (not checked)", "AA",
	    "<n2:NLETSMailData><n2-aa:AmberAlert><n2:MailMessageText>", 9000,
	    "", "</n2:MailMessageText></n2-aa:AmberAlert></n2:NLETSMailData>",
	    0, 0 },
	{ "two MailMessageTexts", "AM", TM_AMO, 9000, "",
	    "</n2:MailMessageText><n2:MailMessageText>x" TM_AMC,
	    MSG_ER_FORMAT, 0 },
	{ "two long MailMessageTexts", "AM", TM_AMO "%T</n2:MailMessageText>"
	    "<n2:MailMessageText>", 9000, "", TM_AMC, MSG_ER_FORMAT, 0 },
	{ "text that is the placeholder", "AM", TM_AMO, 0, "#0", TM_AMC, 0,
	    0 },
	{ "placeholder after a long comment", "AM", "<!--%T-->" TM_AMO, 0,
	    "#0", TM_AMC, 0, 0 },
	{ "empty", "AM", TM_AMO, 0, "", TM_AMC, MSG_ER_FORMAT, 0 },
	{ "in a DQ body", "DQ", "<n2:NLETSInquiryData>"
	    TM_OLN("n2:Person", "X1") "<n2:MailMessageText>", 9000, "",
	    "</n2:MailMessageText></n2:NLETSInquiryData>", MSG_ER_FORMAT, 0 },
	{ "AM key, DQ body", "AM", "<n2:NLETSInquiryData>"
	    "<n2:MailMessageText>", 9000, "",
	    "</n2:MailMessageText></n2:NLETSInquiryData>", MSG_ER_FORMAT, 0 },
	{ "in an SM", "SM", "<n2:NLETSMailData><n2:MailMessageText>", 9000,
	    "", TM_AMC, MSG_ER_FORMAT, 0 },
	{ "in a comment (the comment is cut)", "AM", "<!--<n2:MailMessage"
	    "Text>", 9000, "", "</n2:MailMessageText>-->" TM_AMO "x" TM_AMC,
	    0, 1 },
	{ "unterminated", "AM", TM_AMO, 9000, "", "</n2:NLETSMailData>",
	    MSG_ER_MALFORMED, 0 },
	{ "then a long comment", "AM", TM_AMO, 9000, "", TM_AMC "<!--%T-->",
	    0, 1 },
	{ "AML", "AML", "<n2:NLETSMailData><n2:MailMessageText>", 9000, "",
	    TM_AMC, 0, 1 },
	{ "free-text AA", "AA", "<n2:NLETSMailData><n2:AmberAlertCategory"
	    "Text>C</n2:AmberAlertCategoryText><n2:MailMessageText>", 9000,
	    "", TM_AMC, 0, 1 },
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
	ubuf_printf(&b, TM_AM_HEAD, c->key);
	tm_text_add(&b, c->pre, 0, "");
	tm_text_add(&b, NULL, c->n, c->mid);
	tm_text_add(&b, c->post, 0, "");
	ubuf_adds(&b, TM_AM_TAIL);
	return ubuf_take(&b, NULL);
}

static void
tm_text_all(struct msgparse_schema *schema, const struct tm_text *tab,
    size_t n)
{
	struct msgparse_schema	*keep = tm_schema;
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
	msgparse_plain_simd = 1;
	tm_text_all(tm_schema, tm_texts, TM_NEL(tm_texts));
	msgparse_plain_simd = 0;
	tm_text_all(tm_schema, tm_texts, TM_NEL(tm_texts));
	msgparse_plain_simd = 1;
}

/*
 * The AVX2 and the byte-at-a-time scans of plain text must agree on
 * every byte: 3000 comments and MailMessageTexts of 250 to 700 bytes
 * with up to three odd bytes at random places (a fixed seed), each
 * parsed with both scans and whole; verdicts agree, and the two scans
 * cut the same.
 */
static void
test_elide_random(void)
{
	static const char *const odd[] = { "\x01", "\t", "\n", "\r", "-",
	    "--", "<", "&", ">", "]", "]]>", "\x7f", "\x80", "\xc3\xa9",
	    "\xff", "\x1f", " " };
	static struct msg_diags	 d;
	struct msg	 m;
	struct ubuf	 b, t;
	uint32_t	 x = 2463534242u;
	size_t		 len, cut[2], pos, j, n;
	char		*doc;
	int		 i, r[3], text, nodds, bad = 0, ncut = 0;

#define TM_RAND()	(x ^= x << 13, x ^= x >> 17, x ^= x << 5, x)
	for (i = 0; i < 3000; i++) {
		text = i % 2;
		len = 250 + TM_RAND() % 451;
		ubuf_init(&t);
		tm_text_add(&t, NULL, len, "");
		nodds = (int)(TM_RAND() % 4);
		while (nodds-- > 0) {
			pos = TM_RAND() % t.len;
			j = TM_RAND() % TM_NEL(odd);
			n = strlen(odd[j]) <= t.len - pos ? strlen(odd[j]) :
			    t.len - pos;
			memcpy(t.data + pos, odd[j], n);
		}
		ubuf_init(&b);
		ubuf_printf(&b, TM_AM_HEAD, "AM");
		if (text) {
			ubuf_adds(&b, TM_AMO);
			ubuf_add(&b, t.data, t.len);
			ubuf_adds(&b, TM_AMC);
		} else {
			ubuf_adds(&b, TM_AMO "A</n2:MailMessageText><!--");
			ubuf_add(&b, t.data, t.len);
			ubuf_adds(&b, "--></n2:NLETSMailData>");
		}
		ubuf_adds(&b, TM_AM_TAIL);
		ubuf_free(&t);
		doc = ubuf_take(&b, &len);
		for (j = 0; j < 2; j++) {
			msgparse_plain_simd = j == 0;
			r[j] = msgparse_message(tm_schema, doc, len, TM_MAXLEN,
			    0, &m, &d);
			cut[j] = m.cut;
		}
		msgparse_plain_simd = 1;
		r[2] = msgparse_message(tm_schema, doc, len, TM_MAXLEN,
		    MSGPARSE_WHOLE, &m, &d);
		if (cut[0] > 0)
			ncut++;
		if (r[0] != r[1] || r[0] != r[2] || cut[0] != cut[1]) {
			if (bad++ < 5)
				fprintf(stderr, "\n  case %d: codes %d %d "
				    "%d, cut %zu %zu", i, r[0], r[1], r[2],
				    cut[0], cut[1]);
		}
		free(doc);
	}
#undef TM_RAND
	CU_ASSERT_EQUAL(bad, 0);
	/* Both kinds of case happen: cut and not cut. */
	CU_ASSERT(ncut > 300 && ncut < 2700);
}

/*
 * A copy of the whole schemas directory with "from" replaced by "to" in
 * nlets.xsd (the file that declares MailMessageText), loaded. dir (a
 * mkdtemp template) is left for tm_schema_rm.
 */
static struct msgparse_schema *
tm_schema_variant(char *dir, const char *from, const char *to)
{
	struct msgparse_schema	*s;
	struct dirent		*de;
	DIR			*d;
	char			 sdir[2048], src[2560], dst[2560];
	char			*data, *mod;
	char			*cause = NULL;
	size_t			 len;
	int			 files = 0;

	snprintf(sdir, sizeof sdir, "%s", unit_path("schemas"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	CU_ASSERT_PTR_NOT_NULL_FATAL(d = opendir(sdir));
	while ((de = readdir(d)) != NULL) {
		if (strstr(de->d_name, ".xsd") == NULL)
			continue;
		snprintf(src, sizeof src, "%s/%s", sdir, de->d_name);
		snprintf(dst, sizeof dst, "%s/%s", dir, de->d_name);
		CU_ASSERT_PTR_NOT_NULL_FATAL(data = util_read_file(src, &len));
		if (strcmp(de->d_name, "nlets.xsd") == 0) {
			mod = tm_sub(data, from, to);
			if (mod == NULL)
				fprintf(stderr, "\n  nlets.xsd has no %s",
				    from);
			CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
			CU_ASSERT_EQUAL(util_write_file(dst, mod, strlen(mod)),
			    0);
			free(mod);
		} else
			CU_ASSERT_EQUAL(util_write_file(dst, data, len), 0);
		files++;
		free(data);
	}
	closedir(d);
	CU_ASSERT(files >= 9);
	s = msgparse_schema_load(dir, &cause);
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
 * The limits of a cut MailMessageText come from the schema: with
 * maxLength 500, 501 characters are refused and 400 are cut; with
 * minLength 300, 299 are refused and 300 cut (the placeholder is long
 * enough for the schema); with a maxLength too small to cut, another
 * facet, another base type, nillable, a default, or a second
 * declaration, nothing is cut and libxml2 judges the whole text.
 */
static void
test_elide_text_schema(void)
{
	static const struct tm_text max500[] = {
		{ "400 under maxLength 500", "AM", TM_AMO, 400, "", TM_AMC, 0,
		    1 },
		{ "500 under maxLength 500", "AM", TM_AMO, 500, "", TM_AMC, 0,
		    1 },
		{ "501 under maxLength 500", "AM", TM_AMO, 501, "", TM_AMC,
		    MSG_ER_FORMAT, 0 },
	};
	static const struct tm_text max200[] = {
		{ "200 under maxLength 200", "AM", TM_AMO, 200, "", TM_AMC, 0,
		    0 },
		{ "300 under maxLength 200", "AM", TM_AMO, 300, "", TM_AMC,
		    MSG_ER_FORMAT, 0 },
	};
	static const struct tm_text min300[] = {
		{ "299 under minLength 300", "AM", TM_AMO, 299, "", TM_AMC,
		    MSG_ER_FORMAT, 0 },
		{ "300 under minLength 300", "AM", TM_AMO, 300, "", TM_AMC, 0,
		    1 },
	};
	static const struct tm_text pattern[] = {
		{ "pattern facet, valid", "AM", TM_AMO, 9000, "", TM_AMC, 0,
		    0 },
		{ "pattern facet, invalid", "AM", TM_AMO, 9000, "\t", TM_AMC,
		    MSG_ER_FORMAT, 0 },
	};
	static const struct tm_text plain[] = {
		{ "not cut", "AM", TM_AMO, 9000, "", TM_AMC, 0, 0 },
		{ "not cut, too long", "AM", TM_AMO, 10001, "", TM_AMC,
		    MSG_ER_FORMAT, 0 },
	};
	static const struct {
		const char		*from, *to;
		const struct tm_text	*tab;
		size_t			 n;
	} v[] = {
		{ "<xs:maxLength value=\"10000\"/>",
		    "<xs:maxLength value=\"500\"/>", max500, TM_NEL(max500) },
		{ "<xs:maxLength value=\"10000\"/>",
		    "<xs:maxLength value=\"200\"/>", max200, TM_NEL(max200) },
		{ "<xs:minLength value=\"1\"/>",
		    "<xs:minLength value=\"300\"/>",
		    min300, TM_NEL(min300) },
		{ "<xs:maxLength value=\"10000\"/>", "<xs:maxLength value="
		    "\"10000\"/><xs:pattern value=\"[ -~\\n]*\"/>", pattern,
		    TM_NEL(pattern) },
		{ "<xs:minLength value=\"1\"/>", "<xs:minLength value=\"1\"/>"
		    "<xs:whiteSpace value=\"preserve\"/>", plain,
		    TM_NEL(plain) },
		{ "<xs:restriction base=\"xs:string\">\n      <xs:minLength",
		    "<xs:restriction base=\"xs:normalizedString\">\n      "
		    "<xs:minLength", plain, TM_NEL(plain) },
		{ "<xs:element name=\"MailMessageText\">", "<xs:element "
		    "name=\"MailMessageText\" nillable=\"true\">", plain,
		    TM_NEL(plain) },
		{ "<xs:element name=\"MailMessageText\">", "<xs:element "
		    "name=\"MailMessageText\" default=\"NONE\">", plain,
		    TM_NEL(plain) },
		{ "</xs:schema>",
		    "<xs:complexType name=\"Other\"><xs:sequence>"
		    "<xs:element name=\"MailMessageText\" type=\"xs:string\"/>"
		    "</xs:sequence></xs:complexType></xs:schema>", plain,
		    TM_NEL(plain) },
	};
	struct msgparse_schema	*s;
	char			 dir[64];
	size_t			 i;

	for (i = 0; i < TM_NEL(v); i++) {
		snprintf(dir, sizeof dir, "/tmp/test_msg.XXXXXX");
		s = tm_schema_variant(dir, v[i].from, v[i].to);
		tm_text_all(s, v[i].tab, v[i].n);
		msgparse_schema_free(s);
		tm_schema_rm(dir);
	}
}

/*
 * Byte-level refusals and limits, before libxml2.
 */
static void
test_prescan(void)
{
	static const char ok[] = "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" "
	    "n2:version=\"4.00\"/>";
	static const struct {
		const char	*in;
		size_t		 len;		/* 0: strlen */
		size_t		 maxlen;
		int		 want;
	} t[] = {
		{ "", 0, TM_MAXLEN, MSG_ER_MALFORMED },
		{ " \n\t ", 0, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "\xef\xbb\xbf", 0, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "<n2:NLETS/>\0", 12, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "\xff\xfe<\0N\0", 6, TM_MAXLEN, MSG_ER_MALFORMED },
		{ "DQ.WA0340000.CA.TXT\nOLN/X1", 0, TM_MAXLEN,
		    MSG_ER_MALFORMED },
		{ ok, 0, 10, MSG_ER_TOO_LARGE },
		{ ok, 0, sizeof ok - 1, MSG_ER_HEADER }, /* at the limit */
		{ "<!DOCTYPE n2:NLETS><n2:NLETS/>", 0, TM_MAXLEN,
		    MSG_ER_FORMAT },
		{ "<n2:NLETS><!DOCTYPE x></n2:NLETS>", 0, TM_MAXLEN,
		    MSG_ER_FORMAT },
		{ "<?xml version=\"1.0\" encoding=\"UTF-16\"?><n2:NLETS/>", 0,
		    TM_MAXLEN, MSG_ER_FORMAT },
		{ "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-!DOCTYPE"
		    " x+AD4-<n2:NLETS/>", 0, TM_MAXLEN, MSG_ER_FORMAT },
		{ "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><n2:NLETS "
		    "xmlns:n2=\"" MSG_NS_N2 "\" n2:version=\"4.00\">\xe9"
		    "</n2:NLETS>", 0, TM_MAXLEN, MSG_ER_FORMAT },
		{ "\x4c\x6f\xa7\x94\x89\x94\x93", 0, TM_MAXLEN,
		    MSG_ER_MALFORMED },		/* EBCDIC "<?xml" */
		{ "\xef\xbb\xbf<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" "
		    "n2:version=\"4.00\">\xe9</n2:NLETS>", 0, TM_MAXLEN,
		    MSG_ER_MALFORMED },			/* not UTF-8 */
		{ "<?xml version='1.0' encoding='utf-8'?>\n<n2:NLETS xmlns:n2="
		    "\"" MSG_NS_N2 "\" n2:version=\"4.00\"/>", 0, TM_MAXLEN,
		    MSG_ER_HEADER },
		{ "<a:NLETS version=\"1.0\"/>", 0, TM_MAXLEN,
		    MSG_ER_MALFORMED },		/* unbound prefix */
		{ "<NLETS version=\"4.00\"/>", 0, TM_MAXLEN,
		    MSG_ER_MALFORMED },		/* the old dialect */
		{ "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "/\" "
		    "n2:version=\"4.00\"/>",
		    0, TM_MAXLEN, MSG_ER_MALFORMED },	/* another URI */
		{ "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\"/>", 0, TM_MAXLEN,
		    MSG_ER_FORMAT },			/* no version */
		{ "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" version=\"4.00\"/>", 0,
		    TM_MAXLEN, MSG_ER_FORMAT },	/* not qualified */
	};
	struct msg_diags	 d;
	struct msg		 m;
	size_t			 i;
	int			 rc;

	for (i = 0; i < TM_NEL(t); i++) {
		rc = msgparse_message(tm_schema, t[i].in, t[i].len ? t[i].len :
		    strlen(t[i].in), t[i].maxlen, 0, &m, &d);
		if (rc != t[i].want) {
			fprintf(stderr, "\n  prescan #%zu: want %d got %d", i,
			    t[i].want, rc);
			tm_dump("prescan", &d);
		}
		CU_ASSERT_EQUAL(rc, t[i].want);
		CU_ASSERT(d.n >= 1);
	}
	/* NULL diags: same answer; maxlen 0 is no limit of ours. */
	CU_ASSERT_EQUAL(msgparse_message(tm_schema, "", 0, TM_MAXLEN, 0, &m,
	    NULL), MSG_ER_MALFORMED);
	CU_ASSERT_EQUAL(msgparse_message(tm_schema, NULL, 0, TM_MAXLEN, 0, &m,
	    NULL), MSG_ER_MALFORMED);
	CU_ASSERT_EQUAL(msgparse_message(tm_schema, "x", 1, 0, 0, &m, NULL),
	    MSG_ER_MALFORMED);
	CU_ASSERT_EQUAL(msgparse_message(tm_schema, ok, sizeof ok - 1, 0, 0,
	    &m, NULL), MSG_ER_HEADER);
}

/* Many errors: MSG_MAXDIAG kept, the rest counted. */
static void
test_many_errors(void)
{
	static const char *const to[] = { "WA0340000" };
	struct msgbuild_driver	 dr;
	struct msg_diags	 d;
	struct msg		 m;
	struct ubuf		 b;
	int			 i;

	memset(&dr, 0, sizeof dr);
	dr.person.dob = "1981-02-29";
	dr.person.oln = "X";
	ubuf_init(&b);
	msgbuild_begin(&b, MSG_KEY_DR, "CAOLN0000", to, 1, NULL);
	for (i = 0; i < 50; i++)
		msgbuild_driver(&b, &dr);
	msgbuild_end(&b, MSG_KEY_DR);
	CU_ASSERT_EQUAL(tm_parse(b.data, &m, &d), MSG_ER_DOB);
	CU_ASSERT_EQUAL(d.n, MSG_MAXDIAG);
	CU_ASSERT_EQUAL(d.dropped, 50 - MSG_MAXDIAG);
	CU_ASSERT_EQUAL(m.nrecords, 50);
	for (i = 1; i < d.n; i++)
		CU_ASSERT(d.d[i].line >= d.d[i - 1].line);
	ubuf_free(&b);
}

/* Three threads on one schema: the busy contexts fall back to private
 * ones, every verdict stays right. */
struct tm_thr {
	const char	*doc;
	int		 want;
	long		 bad;
};

static void *
tm_thread(void *arg)
{
	struct tm_thr	*t = arg;
	struct msg	 m;
	int		 i;

	for (i = 0; i < 300; i++)
		if (msgparse_message(tm_schema, t->doc, strlen(t->doc),
		    TM_MAXLEN, 0, &m, NULL) != t->want)
			t->bad++;
	return NULL;
}

static void
test_threads(void)
{
	pthread_t	 th[3];
	struct tm_thr	 arg[3];
	char		*ok, *photo, *bad;
	int		 i;

	ok = tm_read("fixtures/msg/valid/dq-name.xml", NULL);
	photo = tm_read("fixtures/msg/valid/dr-photo.xml", NULL);
	bad = tm_read("fixtures/msg/invalid/multi-error.xml", NULL);
	CU_ASSERT_FATAL(ok != NULL && photo != NULL && bad != NULL);
	arg[0] = (struct tm_thr){ ok, 0, 0 };
	arg[1] = (struct tm_thr){ photo, 0, 0 };
	arg[2] = (struct tm_thr){ bad, MSG_ER_HEADER, 0 };
	for (i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(pthread_create(&th[i], NULL, tm_thread,
		    &arg[i]), 0);
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(arg[i].bad, 0);
	}
	free(ok);
	free(photo);
	free(bad);
}

static void
test_schema_load_errors(void)
{
	struct msgparse_schema	*s;
	char			*cause = NULL;
	char			 dir[] = "/tmp/test_msg.XXXXXX", path[64];
	static const char	 broken[] = "<xs:schema xmlns:xs="
	    "\"http://www.w3.org/2001/XMLSchema\">\n<xs:element name=\"A\" "
	    "type=\"NoSuchType\"/>\n</xs:schema>\n";

	s = msgparse_schema_load("/nonexistent-nlswitch-dir", &cause);
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
	s = msgparse_schema_load(dir, &cause);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL) {
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "nlets.xsd:2:"));
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "NoSuchType"));
	}
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(util_write_file(path, "<xs:schema", 10), 0);
	s = msgparse_schema_load(dir, &cause);
	CU_ASSERT_PTR_NULL(s);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	unlink(path);
	rmdir(dir);
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

	buf = tm_read("fixtures/msg/valid/dq-oln.xml", &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	for (i = 0; i < 6000; i++) {
		snprintf(doc, sizeof doc, "<n2:NLETS xmlns:n2=\"" MSG_NS_N2
		    "\" xmlns:nh2=\"" MSG_NS_NH2 "\" n2:version=\"4.00\">"
		    "<n2:NLETSMessageHeader><nh2:Invented%dName/>"
		    "</n2:NLETSMessageHeader></n2:NLETS>", i);
		if (msgparse_message(tm_schema, doc, strlen(doc), TM_MAXLEN, 0,
		    &m, d) != MSG_ER_HEADER)
			bad++;
		if (i % 1000 == 999 && msgparse_message(tm_schema, buf, len,
		    TM_MAXLEN, 0, &m, d) != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(msgparse_message(tm_schema, buf, len, TM_MAXLEN, 0,
	    &m, d), 0);
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
	    CU_ADD_TEST(s, test_text_number) == NULL ||
	    CU_ADD_TEST(s, test_strings) == NULL ||
	    CU_ADD_TEST(s, test_er_split) == NULL ||
	    CU_ADD_TEST(s, test_xtree_text) == NULL ||
	    CU_ADD_TEST(s, test_valid_fixtures) == NULL ||
	    CU_ADD_TEST(s, test_invalid_fixtures) == NULL ||
	    CU_ADD_TEST(s, test_multi_error) == NULL ||
	    CU_ADD_TEST(s, test_diag_order) == NULL ||
	    CU_ADD_TEST(s, test_dob_table) == NULL ||
	    CU_ADD_TEST(s, test_dest_table) == NULL ||
	    CU_ADD_TEST(s, test_ori_table) == NULL ||
	    CU_ADD_TEST(s, test_ctl_table) == NULL ||
	    CU_ADD_TEST(s, test_atn_table) == NULL ||
	    CU_ADD_TEST(s, test_query_rules) == NULL ||
	    CU_ADD_TEST(s, test_body_table) == NULL ||
	    CU_ADD_TEST(s, test_sender_stamps) == NULL ||
	    CU_ADD_TEST(s, test_build_query) == NULL ||
	    CU_ADD_TEST(s, test_build_driver) == NULL ||
	    CU_ADD_TEST(s, test_build_er) == NULL ||
	    CU_ADD_TEST(s, test_build_er_cut) == NULL ||
	    CU_ADD_TEST(s, test_build_er_from_parse) == NULL ||
	    CU_ADD_TEST(s, test_build_sm) == NULL ||
	    CU_ADD_TEST(s, test_stamp) == NULL ||
	    CU_ADD_TEST(s, test_stamp_values) == NULL ||
	    CU_ADD_TEST(s, test_hdr_span) == NULL ||
	    CU_ADD_TEST(s, test_photo_rewrite_files) == NULL ||
	    CU_ADD_TEST(s, test_photo_rewrite_built) == NULL ||
	    CU_ADD_TEST(s, test_imq_strip) == NULL ||
	    CU_ADD_TEST(s, test_caveat) == NULL ||
	    CU_ADD_TEST(s, test_image_strip) == NULL ||
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
