/*
 * test_audit - the audit record writer and reader: the fixed head of
 * every record, the exact text of a full record (the trail's format),
 * values that need escaping round-tripping through audit_field, \u
 * escapes decoded, missing and nested fields; and jsonutil's strings
 * and numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "audit.h"
#include "jsonutil.h"
#include "util.h"

/* 2023-11-14T22:13:20.123456Z */
#define T_US	1700000000123456ULL

/* audit_field finds name in rec, with the value want. */
static void
check_field(const char *rec, const char *name, const char *want)
{
	char buf[256];

	CU_ASSERT_EQUAL(audit_field(rec, strlen(rec), name, buf, sizeof buf),
	    1);
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void
test_audit_head(void)
{
	struct audit_rec	*r;
	char			*text;
	const char		*want = "{\"t\":1700000000123456,"
	    "\"time\":\"2023-11-14T22:13:20.123456Z\",\"component\":\"line\","
	    "\"event\":\"delivered\",";

	/* Fields added first in the call order still come after the head. */
	r = audit_begin(T_US, "line", "delivered");
	audit_str(r, "a", "1");
	audit_num(r, "b", 2);
	text = audit_end(r);
	CU_ASSERT_NSTRING_EQUAL(text, want, strlen(want));
	CU_ASSERT_STRING_EQUAL(text + strlen(want), "\"a\":\"1\",\"b\":2}");
	free(text);

	/* Nothing but the head. */
	text = audit_end(audit_begin(0, "server", "audit-pruned"));
	CU_ASSERT_STRING_EQUAL(text, "{\"t\":0,\"time\":"
	    "\"1970-01-01T00:00:00.000000Z\",\"component\":\"server\","
	    "\"event\":\"audit-pruned\"}");
	free(text);
}

/* A full "accepted"-like record: the format the trail has always had. */
static void
test_audit_full_record(void)
{
	struct msg		*m = xcalloc(1, sizeof *m);
	struct audit_rec	*r;
	char			*text;

	m->ndest = 2;
	util_strlcpy(m->dest[0], "CA", sizeof m->dest[0]);
	util_strlcpy(m->dest[1], "OR0000000", sizeof m->dest[1]);
	m->purpose.present = 1;
	m->purpose.suspect = 0;
	util_strlcpy(m->purpose.category, "SUSPECT",
	    sizeof m->purpose.category);
	util_strlcpy(m->purpose.case_number, "C-1",
	    sizeof m->purpose.case_number);
	r = audit_begin(T_US, "server", "accepted");
	audit_str(r, "msgid", "0123456789abcdef");
	audit_str(r, "ori", NULL);		/* absent */
	audit_dests(r, m);
	audit_purpose(r, &m->purpose);
	audit_num(r, "size", 1234);
	text = audit_end(r);
	CU_ASSERT_STRING_EQUAL(text, "{\"t\":1700000000123456,"
	    "\"time\":\"2023-11-14T22:13:20.123456Z\",\"component\":\"server\","
	    "\"event\":\"accepted\",\"msgid\":\"0123456789abcdef\","
	    "\"dest\":[\"CA\",\"OR0000000\"],\"purpose\":{\"category\":"
	    "\"SUSPECT\",\"case\":\"C-1\",\"suspect\":false},\"size\":1234}");
	free(text);

	/* A purpose element with nothing in it; no purpose at all. */
	memset(&m->purpose, 0, sizeof m->purpose);
	m->purpose.suspect = -1;
	m->purpose.present = 1;
	m->ndest = 0;
	r = audit_begin(T_US, "server", "denied");
	audit_dests(r, m);
	audit_purpose(r, &m->purpose);
	m->purpose.present = 0;
	audit_purpose(r, &m->purpose);
	audit_purpose(r, NULL);
	text = audit_end(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ",\"dest\":[],\"purpose\":{}}"));
	free(text);
	free(m);
}

/* Quotes, backslashes, control characters and UTF-8 survive. */
/* One decision per destination, as an array of objects. */
static void
test_audit_decisions(void)
{
	static const struct audit_decision d[] = {
		{ "CA", "CADMV", "allow", "P000", "allowed" },
		{ "TX", "TXDMV", "withheld", "P102", "state-no-photos" },
		{ "NV", NULL, "left-out", "P140", "public-disclosure-refused" },
	};
	struct audit_rec	*r;
	char			*text, v[400];

	r = audit_begin(T_US, "server", "accepted");
	audit_decisions(r, "decisions", d, 3);
	audit_num(r, "copies", 2);
	text = audit_end(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"decisions\":[{\"dest\":\"CA\","
	    "\"line\":\"CADMV\",\"decision\":\"allow\",\"code\":\"P000\","
	    "\"rule\":\"allowed\"},{\"dest\":\"TX\",\"line\":\"TXDMV\","
	    "\"decision\":\"withheld\",\"code\":\"P102\",\"rule\":"
	    "\"state-no-photos\"},{\"dest\":\"NV\",\"decision\":\"left-out\","
	    "\"code\":\"P140\",\"rule\":\"public-disclosure-refused\"}],"
	    "\"copies\":2}"));
	CU_ASSERT(audit_field(text, strlen(text), "decisions", v, sizeof v));
	CU_ASSERT_EQUAL(v[0], '[');
	free(text);

	r = audit_begin(T_US, "server", "accepted");
	audit_decisions(r, "decisions", NULL, 0);
	text = audit_end(r);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"decisions\":[]"));
	free(text);
}

static void
test_audit_roundtrip(void)
{
	static const char *const values[] = {
		"plain",
		"",
		"say \"hi\"",
		"back\\slash \\\" \\\\",
		"ctl \x01\x02\x1f\x7f tab\t nl\n cr\r",
		"M\xc3\xbcller \xe2\x82\xac \xf0\x9d\x84\x9e \xe6\x97\xa5",
		"{\"not\":\"a field\",\"event\":\"x\"}",
		"\\u0041 stays as written",
	};
	struct audit_rec	*r;
	char			*text;
	size_t			 i;

	for (i = 0; i < sizeof values / sizeof values[0]; i++) {
		r = audit_begin(T_US, "server", "accepted");
		audit_str(r, "reason", values[i]);
		audit_str(r, "after", "z");
		text = audit_end(r);
		CU_ASSERT_PTR_NULL(strchr(text, '\n'));	/* one line */
		check_field(text, "reason", values[i]);
		check_field(text, "event", "accepted");
		check_field(text, "after", "z");
		free(text);
	}

	/* Bytes that are not UTF-8 still make a valid record. */
	r = audit_begin(T_US, "server", "accepted");
	audit_str(r, "reason", "a\xff" "b\xc3");
	text = audit_end(r);
	check_field(text, "reason", "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	free(text);
}

/* A reader decodes what any JSON writer may have escaped. */
static void
test_audit_field_escapes(void)
{
	const char	*rec = "{\"t\":17, \"component\" : \"server\","
	    "\"reason\":\"a\\u00e9\\u20ac\\ud834\\udd1e\\n\\\"\\/\\u0041\","
	    "\"purpose\":{\"use\":\"inner\"},\"suspect\":true,"
	    "\"dest\":[\"CA\",\"OR\"],\"nul\":\"x\\u0000y\"}";
	char		 small[5];

	check_field(rec, "reason",
	    "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e\n\"/A");
	/* Not a string: its JSON text. */
	check_field(rec, "t", "17");
	check_field(rec, "suspect", "true");
	check_field(rec, "dest", "[\"CA\",\"OR\"]");
	check_field(rec, "component", "server");
	/* A NUL in a value cuts that value only. */
	check_field(rec, "nul", "x");
	/* Cut to the buffer at a character boundary: "a" + 2-byte e-acute
	 * fits in 4 bytes, the 3-byte euro sign does not. */
	CU_ASSERT_EQUAL(audit_field(rec, strlen(rec), "reason", small,
	    sizeof small), 1);
	CU_ASSERT_STRING_EQUAL(small, "a\xc3\xa9");
}

static void
test_audit_field_missing(void)
{
	const char	*rec = "{\"t\":1,\"event\":\"accepted\","
	    "\"purpose\":{\"use\":\"inner\"}}";
	char		 buf[32];

	strcpy(buf, "junk");
	CU_ASSERT_EQUAL(audit_field(rec, strlen(rec), "ori", buf, sizeof buf),
	    0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	/* Only top-level fields count. */
	CU_ASSERT_EQUAL(audit_field(rec, strlen(rec), "use", buf, sizeof buf),
	    0);
	/* The name as a value is not a field. */
	CU_ASSERT_EQUAL(audit_field(rec, strlen(rec), "accepted", buf,
	    sizeof buf), 0);
	/* Not JSON, not an object, cut short, empty, no room. */
	CU_ASSERT_EQUAL(audit_field("event", 5, "event", buf, sizeof buf), 0);
	CU_ASSERT_EQUAL(audit_field("[1,2]", 5, "event", buf, sizeof buf), 0);
	CU_ASSERT_EQUAL(audit_field(rec, strlen(rec) - 1, "event", buf,
	    sizeof buf), 0);
	CU_ASSERT_EQUAL(audit_field("", 0, "event", buf, sizeof buf), 0);
	CU_ASSERT_EQUAL(audit_field(rec, strlen(rec), "event", buf, 0), 0);
	/* len bounds the record: what follows it is not read. */
	CU_ASSERT_EQUAL(audit_field("{\"t\":1}{\"x\":2}", 7, "t", buf,
	    sizeof buf), 1);
	CU_ASSERT_STRING_EQUAL(buf, "1");
}

/* jsonutil: reals print as the decimals they were rounded to. */
static void
test_jsonutil_numbers(void)
{
	json_t	*o = json_object();
	char	*text;

	jsonutil_set_real(o, "a", 39.899999, 1);
	jsonutil_set_real(o, "b", 0.1 + 0.2, 3);
	jsonutil_set_real(o, "c", 3, 1);
	jsonutil_set_real(o, "d", INFINITY, 2);
	jsonutil_set_real(o, "e", 12345.678, 2);
	jsonutil_set_int(o, "f", -5);
	jsonutil_set_str(o, "g", NULL);
	text = jsonutil_dump(o, JSONUTIL_COMPACT);
	CU_ASSERT_STRING_EQUAL(text, "{\"a\":39.9,\"b\":0.3,\"c\":3.0,"
	    "\"d\":null,\"e\":12345.68,\"f\":-5,\"g\":\"\"}");
	free(text);
	text = jsonutil_dump(o, JSONUTIL_PRETTY);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n  \"a\": 39.9,\n"));
	free(text);
	json_decref(o);
}

int
test_audit_register(void)
{
	CU_pSuite s = CU_add_suite("audit", NULL, NULL);

	if (s == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_audit_head) == NULL ||
	    CU_ADD_TEST(s, test_audit_full_record) == NULL ||
	    CU_ADD_TEST(s, test_audit_decisions) == NULL ||
	    CU_ADD_TEST(s, test_audit_roundtrip) == NULL ||
	    CU_ADD_TEST(s, test_audit_field_escapes) == NULL ||
	    CU_ADD_TEST(s, test_audit_field_missing) == NULL ||
	    CU_ADD_TEST(s, test_jsonutil_numbers) == NULL)
		return -1;
	return 0;
}
