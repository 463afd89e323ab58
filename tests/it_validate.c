/*
 * it_validate - the message catalogue cannot drift from the code:
 * bin/nlvalidate runs, as a process, over every fixture (XML and legacy,
 * valid and invalid, delivered, policy dry-run); every valid one passes,
 * every invalid one fails with the ER code its first-line comment names.
 * docs/messages.md names every fixture and every ER code. The three
 * report formats are checked the way a consumer reads them (JUnit against
 * schemas/junit.xsd with libxml2, JSON with a strict syntax check), and
 * the ERs of a real nlswitchd carry Nlets' number and words, a detail and
 * the first 100 characters of the input, in XML and in their legacy
 * rendering.
 *
 * Fixture expectations: XML "<!-- expect: NN [maxlen: N] -->" in the
 * first 200 bytes, legacy "# expect: NN|valid [maxlen: N]" on line 1
 * (NN: the ER number, e.g. 05).
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "it_util.h"
#include "legacy.h"
#include "msg.h"
#include "msgparse.h"
#include "util.h"

#define WAIT	15000

static char	 root[1024];

/* Run a shell command from the repository root; its stdout (+stderr). */
static int
run(const char *cmd, char **out)
{
	struct ubuf	 b;
	FILE		*p;
	char		 buf[4096], *full;
	size_t		 n;
	int		 st;

	full = xasprintf("cd '%s' && %s", root, cmd);
	ubuf_init(&b);
	if ((p = popen(full, "r")) == NULL) {
		free(full);
		*out = xstrdup("");
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		ubuf_add(&b, buf, n);
	st = pclose(p);
	ubuf_add(&b, "", 1);
	*out = ubuf_take(&b, NULL);
	free(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Sorted files of a fixture directory with the suffix. */
static char **
list(const char *rel, const char *suffix, size_t *np)
{
	struct dirent	**de;
	char		 *dir, **v;
	size_t		  n = 0, l;
	int		  i, nd;

	dir = xasprintf("%s/%s", root, rel);
	nd = scandir(dir, &de, NULL, alphasort);
	free(dir);
	v = xcalloc((size_t)(nd > 0 ? nd : 0) + 1, sizeof *v);
	for (i = 0; i < nd; i++) {
		l = strlen(de[i]->d_name);
		if (l > strlen(suffix) && strcmp(de[i]->d_name + l -
		    strlen(suffix), suffix) == 0)
			v[n++] = xasprintf("%s/%s", rel, de[i]->d_name);
		free(de[i]);
	}
	if (nd > 0)
		free(de);
	*np = n;
	return v;
}

static void
list_free(char **v)
{
	size_t	 i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Expected code of a fixture (0: valid) and its maxlen (0: none). */
static int
expect(const char *rel, size_t *maxlen)
{
	char	*path = xasprintf("%s/%s", root, rel), *buf, *p;
	size_t	 len;
	int	 code = -1;

	*maxlen = 0;
	buf = util_read_file(path, &len);
	free(path);
	if (buf == NULL)
		return -1;
	if ((p = strstr(buf, "expect: ")) != NULL && p - buf < 200) {
		code = strncmp(p + 8, "valid", 5) == 0 ? 0 : atoi(p + 8);
		if ((p = strstr(p, "maxlen: ")) != NULL && p - buf < 200)
			*maxlen = (size_t)atol(p + 8);
	}
	free(buf);
	return code;
}

/* "er": N of the first file in a --format json report. */
static int
json_er(const char *out)
{
	const char	*p = strstr(out, "\"er\": ");

	return p != NULL ? atoi(p + 6) : -1;
}

/* Codes seen across the invalid fixtures. */
static int	 seen_codes[200];

/* Every file of dir, one nlvalidate run each, against its expectation. */
static void
check_dir(const char *dir, const char *opts, int all_valid)
{
	char	**files, *cmd, *out;
	size_t	  n, i, maxlen;
	int	  want, rc, got;

	files = list(dir, strstr(dir, "fixtures/msg/") != NULL ? ".xml" :
	    ".txt", &n);
	CU_ASSERT(n > 0);
	for (i = 0; i < n; i++) {
		maxlen = 0;
		want = all_valid ? 0 : expect(files[i], &maxlen);
		if (want < 0) {
			fprintf(stderr, "\n  %s: no expect comment", files[i]);
			CU_FAIL("fixture without expectation");
			continue;
		}
		if (maxlen)
			cmd = xasprintf("bin/nlvalidate --format json %s "
			    "--max-size %zu '%s'", opts, maxlen, files[i]);
		else
			cmd = xasprintf("bin/nlvalidate --format json %s '%s'",
			    opts, files[i]);
		rc = run(cmd, &out);
		got = json_er(out);
		if (rc != (want ? 1 : 0) || got != want) {
			fprintf(stderr, "\n  %s: want ER %d got %d (exit %d)\n%s",
			    files[i], want, got, rc, out);
			CU_FAIL("fixture verdict");
		}
		if (want > 0 && want < 200)
			seen_codes[want]++;
		free(out);
		free(cmd);
	}
	list_free(files);
}

static void
test_fixtures(void)
{
	check_dir("fixtures/msg/valid", "", 1);
	check_dir("fixtures/legacy/valid", "", 1);
	check_dir("fixtures/legacy/delivered", "--stamped", 1);
	check_dir("fixtures/msg/invalid", "", 0);
	check_dir("fixtures/legacy/invalid", "", 0);
	check_dir("fixtures/legacy/policy",
	    "--policy fixtures/config/policy.xml", 0);
}

/*
 * The catalogue: every fixture is named in docs/messages.md, every ER
 * code is documented and has a fixture (an input that produces it, or an
 * example ER carrying it), every key has an XML and a legacy example.
 */
static void
test_catalogue(void)
{
	static const char *dirs[] = { "fixtures/msg/valid",
	    "fixtures/msg/invalid", "fixtures/legacy/valid",
	    "fixtures/legacy/invalid", "fixtures/legacy/delivered",
	    "fixtures/legacy/policy" };
	static const int codes[] = { MSG_ER_HEADER, MSG_ER_NOT_ALLOWED,
	    MSG_ER_MALFORMED, MSG_ER_DOB, MSG_ER_REQUIRED, MSG_ER_ATN,
	    MSG_ER_DEST, MSG_ER_FORMAT, MSG_ER_ORI, MSG_ER_TOO_LARGE,
	    MSG_ER_QUEUE_FULL, MSG_ER_UNAVAILABLE, MSG_ER_POLICY };
	char	*path, *doc, **files, *name, want[1200];
	size_t	 len, n, i, k;

	path = xasprintf("%s/docs/messages.md", root);
	doc = util_read_file(path, &len);
	free(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	for (k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
		files = list(dirs[k], k < 2 ? ".xml" : ".txt", &n);
		for (i = 0; i < n; i++) {
			name = files[i] + strlen("fixtures/");
			if (strstr(doc, name) == NULL) {
				fprintf(stderr, "\n  docs/messages.md does not "
				    "name %s", name);
				CU_FAIL("fixture missing from the catalogue");
			}
		}
		list_free(files);
	}
	for (i = 0; i < sizeof codes / sizeof codes[0]; i++) {
		snprintf(want, sizeof want, "| .%02d. |", codes[i]);
		if (strstr(doc, want) == NULL) {
			fprintf(stderr, "\n  docs/messages.md: no row %s", want);
			CU_FAIL("ER code missing from the catalogue");
		}
		snprintf(want, sizeof want,
		    "%s/fixtures/legacy/valid/er-%02d.txt", root, codes[i]);
		CU_ASSERT(access(want, R_OK) == 0 || seen_codes[codes[i]] > 0);
		CU_ASSERT(strcmp(msg_er_reason(codes[i]), "UNKNOWN ERROR") != 0);
	}
	for (i = MSG_KEY_NONE + 1; i < MSG_KEY_MAX; i++) {
		snprintf(want, sizeof want, "### %s", msg_key_name(i));
		if (strstr(doc, want) == NULL) {
			fprintf(stderr, "\n  docs/messages.md: no section %s",
			    want);
			CU_FAIL("key missing from the catalogue");
		}
	}
	free(doc);
}

/*
 * A strict JSON syntax check (RFC 8259 grammar, no extensions).
 * @return pointer after the value, or NULL.
 */
static const char *
json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *
json_value(const char *p, int depth)
{
	int	 i;

	p = json_ws(p);
	if (depth > 64)
		return NULL;
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']', obj = *p == '{';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				if (*p != '"' || (p = json_value(p, depth + 1))
				    == NULL)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			if ((p = json_value(p, depth + 1)) == NULL)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
			p = json_ws(p);
		}
	}
	if (*p == '"') {
		for (p++; *p != '"'; p++) {
			if ((unsigned char)*p < 0x20)
				return NULL;
			if (*p == '\\') {
				p++;
				if (*p == 'u') {
					for (i = 1; i <= 4; i++)
						if (!isxdigit((unsigned char)
						    p[i]))
							return NULL;
					p += 4;
				} else if (strchr("\"\\/bfnrt", *p) == NULL ||
				    *p == '\0')
					return NULL;
			}
		}
		return p + 1;
	}
	if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
		return p + 4;
	if (strncmp(p, "false", 5) == 0)
		return p + 5;
	if (*p == '-' || isdigit((unsigned char)*p)) {
		if (*p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p) || *p == '.' || *p == 'e' ||
		    *p == 'E' || *p == '+' || *p == '-')
			p++;
		return p;
	}
	return NULL;
}

static int
json_ok(const char *s)
{
	const char	*p = json_value(s, 0);

	return p != NULL && *json_ws(p) == '\0';
}

/* The report formats, read as their consumers read them. */
static void
test_formats(void)
{
	xmlSchemaParserCtxtPtr	 pc;
	xmlSchemaPtr		 xs;
	xmlSchemaValidCtxtPtr	 vc;
	xmlDocPtr		 doc;
	char			*out, *path, *line;
	int			 rc, ntest;

	/* text: FILE:LINE:COL: XPATH: severity: message [ER .NN.], verdict */
	rc = run("bin/nlvalidate fixtures/legacy/invalid/multi-error.txt "
	    "fixtures/msg/invalid/multi-error.xml fixtures/legacy/valid/dr.txt",
	    &out);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
	    "fixtures/legacy/invalid/multi-error.txt:2:4: /n2:NLETS/"
	    "n2:NLETSMessageHeader/nh2:OriginatingORIID: error: originating "
	    "ORI \"WA034\" is not a 9-character ORI [ER .01.]\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "fixtures/legacy/invalid/"
	    "multi-error.txt:3:12: /n2:NLETS/n2:NLETSInquiryData/n2:Person/"
	    "nc:PersonBirthDate/nc:Date: error: birth date \"1981-02-29\": "
	    "no such day in that month [ER .05.]\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "fixtures/legacy/invalid/"
	    "multi-error.txt: INVALID (DQ, legacy): 8 errors; the switch "
	    "answers ER .01. (INVALID HEADER INFORMATION)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "fixtures/msg/invalid/"
	    "multi-error.xml: INVALID (DQ, xml): "));
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
	    "fixtures/legacy/valid/dr.txt: valid (DR, legacy)\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "nlvalidate: 3 files, 1 valid, "
	    "2 invalid\n"));
	/* every diagnostic line has the shape */
	for (line = out; line != NULL && *line != '\0';
	    line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "fixtures/", 9) != 0 ||
		    strstr(line, ": error: ") == NULL ||
		    strstr(line, ": error: ") > strchr(line, '\n'))
			continue;
		CU_ASSERT(strstr(line, " [ER .") != NULL &&
		    strstr(line, " [ER .") < strchr(line, '\n'));
	}
	free(out);

	/* json over every fixture directory */
	rc = run("bin/nlvalidate --format json fixtures/msg/valid "
	    "fixtures/msg/invalid fixtures/legacy/valid fixtures/legacy/invalid "
	    "2>/dev/null", &out);
	CU_ASSERT_EQUAL(rc, 1);
	CU_ASSERT(json_ok(out));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"severity\": \"error\""));
	CU_ASSERT(!json_ok("{\"a\": [1, 2,]}"));
	CU_ASSERT(!json_ok("{\"a\": \"x\ny\"}"));
	free(out);

	/* junit: valid against schemas/junit.xsd, counts right */
	rc = run("bin/nlvalidate --format junit fixtures/msg/valid "
	    "fixtures/msg/invalid fixtures/legacy/valid fixtures/legacy/invalid "
	    "no-such-file.xml 2>/dev/null", &out);
	CU_ASSERT_EQUAL(rc, 2);		/* an unreadable file */
	path = xasprintf("%s/schemas/junit.xsd", root);
	pc = xmlSchemaNewParserCtxt(path);
	free(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
	xs = xmlSchemaParse(pc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(xs);
	vc = xmlSchemaNewValidCtxt(xs);
	doc = xmlReadMemory(out, (int)strlen(out), NULL, NULL, XML_PARSE_NONET);
	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_EQUAL(xmlSchemaValidateDoc(vc, doc), 0);
	ntest = atoi(strstr(out, "tests=\"") + 7);
	CU_ASSERT(ntest > 80);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "errors=\"1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "type=\"ER05\""));
	xmlFreeDoc(doc);
	xmlSchemaFreeValidCtxt(vc);
	xmlSchemaFree(xs);
	xmlSchemaFreeParserCtxt(pc);
	free(out);

	/* usage and schema errors: exit 2 */
	CU_ASSERT_EQUAL(run("bin/nlvalidate 2>/dev/null", &out), 2);
	free(out);
	CU_ASSERT_EQUAL(run("bin/nlvalidate --format xml x 2>/dev/null", &out),
	    2);
	free(out);
	CU_ASSERT_EQUAL(run("bin/nlvalidate -S /nonexistent "
	    "fixtures/msg/valid/dq-oln.xml 2>/dev/null", &out), 2);
	free(out);
	CU_ASSERT_EQUAL(run("bin/nlvalidate --policy /nonexistent.xml "
	    "fixtures/msg/valid/dq-oln.xml 2>/dev/null", &out), 2);
	free(out);
}

/* --to-legacy and --to-xml, and the photo note. */
static void
test_convert(void)
{
	char	*out;

	CU_ASSERT_EQUAL(run("bin/nlvalidate --to-legacy "
	    "fixtures/msg/valid/dr-photo.xml 2>/dev/null", &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "DR.CAOLN0000.WA0340000.*IMQ 1.TXT\n"
	    "NAM/SAMPLE,ALEX J. DOB/19800229. SEX/F.\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\nIMG/NOT AVAILABLE IN TEXT FORMAT"
	    " - 178 BYTES JPEG.\n"));
	CU_ASSERT_PTR_NULL(strstr(out, "/9j/"));
	free(out);
	/* Text to XML and back: the same text, without the period Nlets
	 * does not want at the end. */
	CU_ASSERT_EQUAL(run("bin/nlvalidate --to-xml "
	    "fixtures/legacy/valid/dq-imq.txt 2>/dev/null | bin/nlvalidate "
	    "--to-legacy - 2>/dev/null", &out), 0);
	CU_ASSERT_STRING_EQUAL(out, "DQ.WA0340000.CAOLN0000.*IMQ 1.TXT\n"
	    "OLN/S1234567.\n"
	    "IMQ/Y. IPU/IDENTIFICATION,TRAFFIC-STOP. ICI/NO PHOTO ID OFFERED. "
	    "ICN/24-000123.\n"
	    "RSN/T\n");
	free(out);
	/* an invalid input converts to nothing and exits 1 */
	CU_ASSERT_EQUAL(run("bin/nlvalidate --to-legacy "
	    "fixtures/msg/invalid/dob-future.xml 2>/dev/null", &out), 1);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
}

/*
 * ER fidelity through a real switch: code, English reason, detail and
 * the first 100 characters of the input, in the XML ER and in its legacy
 * rendering.
 */
static void
test_er_fidelity(void)
{
	static const struct {
		const char	*body;
		const char	*dest;
		int		 code;
	} t[] = {
		{ "<n2:Person><nc:PersonBirthDate><nc:Date>1981-02-29</nc:Date>"
		  "</nc:PersonBirthDate><nc:PersonName><nc:PersonGivenName>ALEX"
		  "</nc:PersonGivenName><nc:PersonSurName>SAMPLE"
		  "</nc:PersonSurName></nc:PersonName><nc:PersonSexCode>M"
		  "</nc:PersonSexCode></n2:Person>", "CA", MSG_ER_DOB },
		{ "<n2:Person><j:PersonAugmentation><nc:DriverLicense>"
		  "<nc:DriverLicenseIdentification><nc:IdentificationID>S1234567"
		  "</nc:IdentificationID></nc:DriverLicenseIdentification>"
		  "</nc:DriverLicense></j:PersonAugmentation></n2:Person>", "ZZ",
		  MSG_ER_DEST },
		{ "<n2:Person><nc:PersonName><nc:PersonGivenName>ALEX"
		  "</nc:PersonGivenName></nc:PersonName></n2:Person>", "CA",
		  MSG_ER_REQUIRED },
	};
	struct it_env		*env;
	struct it_client	*a;
	struct msgparse_schema	*s;
	struct ubuf		 txt;
	char			*cause = NULL, *path, want[160];
	uint64_t		 tag;
	size_t			 i;

	path = xasprintf("%s/schemas", root);
	s = msgparse_schema_load(path, &cause);
	free(path);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	env = it_env_new("validate", "max-frame=\"65536\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(env);
	if (it_switch_start(env) == -1) {
		CU_FAIL("switch did not start");
		goto out;
	}
	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		const char		*xml, *text;
		struct msg_er_parts	 p;
		char			 ctl[8];

		snprintf(ctl, sizeof ctl, "FID%zu", i);
		xml = it_msg("DQ", "WA0340000", t[i].dest, ctl, t[i].body);
		CU_ASSERT(strlen(xml) > MSG_ER_INPUT_LEN);
		tag = it_client_send(a, xml);
		CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 2);
		/* The XML ER: Nlets' header from NL0000000, the CTL echoed,
		 * the output header stamped, then the text. */
		CU_ASSERT_STRING_EQUAL(it_field(a->reply[tag],
		    "OriginatingORIID"), MSG_SWITCH_ORI);
		CU_ASSERT_STRING_EQUAL(it_field(a->reply[tag],
		    "DocumentControlFieldText"), ctl);
		CU_ASSERT_EQUAL(strlen(it_field(a->reply[tag],
		    "SendMessageNumeric")), 5);
		text = it_er_text(a->reply[tag]);
		CU_ASSERT_EQUAL_FATAL(msg_er_split(text, strlen(text), &p), 0);
		CU_ASSERT_EQUAL(p.code, t[i].code);
		CU_ASSERT_EQUAL(p.reasonlen, strlen(msg_er_reason(t[i].code)));
		CU_ASSERT_EQUAL(strncmp(p.reason, msg_er_reason(t[i].code),
		    p.reasonlen), 0);
		CU_ASSERT(p.detail != NULL && p.detaillen > 0);
		CU_ASSERT_EQUAL(p.inputlen, MSG_ER_INPUT_LEN);
		CU_ASSERT_EQUAL(memcmp(p.input, xml, MSG_ER_INPUT_LEN), 0);
		/* The legacy rendering: the output header and the same
		 * text, the input quoted verbatim. */
		ubuf_init(&txt);
		CU_ASSERT_EQUAL_FATAL(legacy_from_xml(s, a->reply[tag],
		    strlen(a->reply[tag]), NULL, &txt, &cause), 0);
		snprintf(want, sizeof want, "ER.NL0000000.*%s\n", ctl);
		CU_ASSERT_EQUAL(strncmp(txt.data, want, strlen(want)), 0);
		snprintf(want, sizeof want, "TXT\n.%02d. %s", t[i].code,
		    msg_er_reason(t[i].code));
		CU_ASSERT_PTR_NOT_NULL(strstr(txt.data, want));
		snprintf(want, sizeof want, "\nORIGINAL MESSAGE\n%.*s",
		    MSG_ER_INPUT_LEN, xml);
		if (strstr(txt.data, want) == NULL)
			fprintf(stderr, "\n  ER without the input quote:\n%s",
			    txt.data);
		CU_ASSERT_PTR_NOT_NULL(strstr(txt.data, want));
		ubuf_free(&txt);
	}
	it_client_free(a);
out:
	it_env_free(env);
	msgparse_schema_free(s);
}

int
main(void)
{
	CU_pSuite	 su;
	const char	*r = getenv("NLSWITCH_ROOT");

	snprintf(root, sizeof root, "%s", r != NULL && *r ? r : ".");
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	su = CU_add_suite("validate", NULL, NULL);
	if (su == NULL || CU_ADD_TEST(su, test_fixtures) == NULL ||
	    CU_ADD_TEST(su, test_catalogue) == NULL ||
	    CU_ADD_TEST(su, test_formats) == NULL ||
	    CU_ADD_TEST(su, test_convert) == NULL ||
	    CU_ADD_TEST(su, test_er_fidelity) == NULL)
		return 1;
	return it_run_suites();
}
