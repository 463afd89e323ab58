/*
 * test_diag - diagnostics that say how to fix a message (issue 15, item
 * 5): the real line and column of every XML error, libxml2's "This
 * element is not expected. Expected is ( ... )" in plain words, its raw
 * text kept with MSGPARSE_RAW, and the client's words for TLS errors.
 * Table-driven.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client.h"
#include "msg.h"
#include "msgparse.h"
#include "unit.h"
#include "util.h"

static struct msgparse_schema	*td_schema;

static int
td_init(void)
{
	/* client_tls_why's words use OpenSSL's reason strings. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS |
	    OPENSSL_INIT_LOAD_CRYPTO_STRINGS, NULL);
	td_schema = unit_schema_load("test_diag");
	return td_schema == NULL;
}

static int
td_clean(void)
{
	msgparse_schema_free(td_schema);
	td_schema = NULL;
	return 0;
}

/* A DQ by name; BODY is the n2:Person's content, one element a line. */
#define TD_HEAD \
	"<?xml version=\"1.0\"?>\n" \
	"<n2:NLETS xmlns:n2=\"http://www.nlets.org/niem/1.0\"\n" \
	"    xmlns:nh2=\"http://www.nlets.org/niem/nlets-hdr/1.0\"\n" \
	"    xmlns:nc=\"http://niem.gov/niem/niem-core/2.0\"\n" \
	"    xmlns:j=\"http://niem.gov/niem/domains/jxdm/4.1\"\n" \
	"    n2:version=\"4.00\">\n" \
	"  <n2:NLETSMessageHeader>\n" \
	"    <nh2:MessageKeyCodeText>DQ</nh2:MessageKeyCodeText>\n" \
	"    <nh2:OriginatingORIID>WA0340000</nh2:OriginatingORIID>\n" \
	"    <nh2:DestinationORIID>CA</nh2:DestinationORIID>\n" \
	"  </n2:NLETSMessageHeader>\n" \
	"  <n2:NLETSInquiryData>\n" \
	"    <n2:Person>\n"		/* line 13 */
#define TD_TAIL \
	"    </n2:Person>\n" \
	"  </n2:NLETSInquiryData>\n" \
	"</n2:NLETS>\n"
#define TD_DOB	"<nc:PersonBirthDate><nc:Date>1980-02-28</nc:Date>" \
		"</nc:PersonBirthDate>\n"
#define TD_SEX	"<nc:PersonSexCode>F</nc:PersonSexCode>\n"
#define TD_GIVEN "<nc:PersonGivenName>ALEX</nc:PersonGivenName>"
#define TD_SUR	"<nc:PersonSurName>SAMPLE</nc:PersonSurName>"

/*
 * Whole messages: the first diagnostic's line, column and words. The
 * column is the '<' of the element's start tag, counted in characters
 * (the 'é' of line 14 in the last rows is two bytes, one column).
 */
static void
test_diag_messages(void)
{
	static const struct {
		const char	*body;		/* between TD_HEAD and TD_TAIL */
		int		 code, line, col;
		const char	*text;		/* the whole diagnostic text */
	} t[] = {
		/* Given name after the surname: the probe finds its place. */
		{ "      " TD_DOB "      <nc:PersonName>" TD_SUR TD_GIVEN
		    "</nc:PersonName>\n      " TD_SEX, MSG_ER_FORMAT, 15, 65,
		    "nc:PersonGivenName must come before nc:PersonSurName" },
		/* The birth date after the sex code. */
		{ "      <nc:PersonName>" TD_GIVEN TD_SUR "</nc:PersonName>\n"
		    "      " TD_SEX "      " TD_DOB, MSG_ER_DOB, 16, 7,
		    "nc:PersonBirthDate must come before nc:PersonName" },
		/* Not an element of NIEM's person name at all. */
		{ "      " TD_DOB "      <nc:PersonName>" TD_GIVEN
		    "<nc:ShoeSize>11</nc:ShoeSize>" TD_SUR "</nc:PersonName>\n"
		    "      " TD_SEX, MSG_ER_FORMAT, 15, 67,
		    "nc:ShoeSize is not allowed in nc:PersonName" },
		/* Blanks and a two-byte character before it on the line. */
		{ "      <!-- é -->\t<n2:ShoeSize>1</n2:ShoeSize>\n      "
		    TD_DOB "      <nc:PersonName>" TD_GIVEN TD_SUR
		    "</nc:PersonName>\n      " TD_SEX, MSG_ER_FORMAT, 14, 18,
		    "n2:ShoeSize is not allowed in n2:Person" },
		/* A start tag over two lines: where its '<' is. */
		{ "      " TD_DOB "      <nc:PersonName>" TD_GIVEN TD_SUR
		    "</nc:PersonName>\n      " TD_SEX "      <n2:ShoeSize\n"
		    "        a=\"1\">1</n2:ShoeSize>\n", MSG_ER_FORMAT, 17, 7,
		    "n2:ShoeSize is not allowed in n2:Person" },
		/* A rule of the switch's own (no schema error): a column too. */
		{ "      " TD_DOB "      <nc:PersonName>" TD_SUR
		    "</nc:PersonName>\n      " TD_SEX, MSG_ER_REQUIRED, 13, 5,
		    NULL },
		/* Not well-formed: libxml2's own column, as before. */
		{ "      <nc:PersonName>" TD_GIVEN "</nc:PersonNme>\n",
		    MSG_ER_MALFORMED, 14, 82, NULL },
	};
	struct msg_diags	 d;
	struct msg		 m;
	char			*xml;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		xml = xasprintf("%s%s%s", TD_HEAD, t[i].body, TD_TAIL);
		rc = msgparse_message(td_schema, xml, strlen(xml), 0, 0, &m,
		    &d);
		if (rc != t[i].code || d.n < 1 || d.d[0].line != t[i].line ||
		    d.d[0].col != t[i].col || (t[i].text != NULL &&
		    strcmp(d.d[0].text, t[i].text) != 0))
			fprintf(stderr, "\n  row %zu: rc %d, %d:%d \"%s\"", i, rc,
			    d.n > 0 ? d.d[0].line : -1,
			    d.n > 0 ? d.d[0].col : -1,
			    d.n > 0 ? d.d[0].text : "");
		CU_ASSERT_EQUAL(rc, t[i].code);
		CU_ASSERT_EQUAL_FATAL(d.n >= 1, 1);
		CU_ASSERT_EQUAL(d.d[0].line, t[i].line);
		CU_ASSERT_EQUAL(d.d[0].col, t[i].col);
		if (t[i].text != NULL)
			CU_ASSERT_STRING_EQUAL(d.d[0].text, t[i].text);
		/* The whole-input parse says the same. */
		rc = msgparse_message(td_schema, xml, strlen(xml), 0,
		    MSGPARSE_WHOLE, &m, &d);
		CU_ASSERT_EQUAL(rc, t[i].code);
		CU_ASSERT(d.n >= 1 && d.d[0].col == t[i].col);
		free(xml);
	}
}

/*
 * A message on one line (no line breaks at all): every diagnostic on
 * line 1, each at its own element's column.
 */
static void
test_diag_one_line(void)
{
	struct msg_diags	 d;
	struct msg		 m;
	char			*xml, *p;
	int			 want;

	xml = xasprintf("%s      <n2:ShoeSize>1</n2:ShoeSize>\n      "
	    TD_DOB "%s", TD_HEAD, TD_TAIL);
	for (p = xml; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	want = (int)(strstr(xml, "<n2:ShoeSize") - xml) + 1;
	CU_ASSERT_EQUAL(msgparse_message(td_schema, xml, strlen(xml), 0, 0,
	    &m, &d), MSG_ER_FORMAT);
	CU_ASSERT_EQUAL_FATAL(d.n >= 1, 1);
	CU_ASSERT_EQUAL(d.d[0].line, 1);
	CU_ASSERT_EQUAL(d.d[0].col, want);
	free(xml);
}

/* MSGPARSE_RAW: libxml2's own message follows the words. */
static void
test_diag_raw(void)
{
	struct msg_diags	 d;
	struct msg		 m;
	const char		*want;
	char			*xml;

	xml = xasprintf("%s      <n2:ShoeSize>1</n2:ShoeSize>\n%s", TD_HEAD,
	    TD_TAIL);
	CU_ASSERT_EQUAL(msgparse_message(td_schema, xml, strlen(xml), 0,
	    MSGPARSE_RAW, &m, &d), MSG_ER_FORMAT);
	CU_ASSERT_EQUAL_FATAL(d.n >= 1, 1);
	/* d.text holds 255 bytes: the end of libxml2's list is cut. */
	want = "n2:ShoeSize is not allowed in n2:Person [libxml2: Element "
	    "'{http://www.nlets.org/niem/1.0}ShoeSize': This element is not "
	    "expected. Expected is one of ( ";
	if (strncmp(d.d[0].text, want, strlen(want)) != 0)
		fprintf(stderr, "\n  \"%s\"", d.d[0].text);
	CU_ASSERT_EQUAL(strncmp(d.d[0].text, want, strlen(want)), 0);
	free(xml);
}

/* libxml2's "Expected is" lists as prefixed names. */
static void
test_diag_expected_names(void)
{
	static const struct {
		const char	*msg;
		const char	*names;
	} t[] = {
		{ "Element '{http://niem.gov/niem/niem-core/2.0}PersonSurName': "
		    "This element is not expected. Expected is ( {http://niem."
		    "gov/niem/niem-core/2.0}PersonGivenName ).",
		    "nc:PersonGivenName" },
		{ "Element 'x': This element is not expected. Expected is one "
		    "of ( {http://www.nlets.org/niem/1.0}ReasonCode, {http://"
		    "niem.gov/niem/domains/jxdm/4.0}PersonAugmentation, {urn:"
		    "other}Thing, ##other{urn:x}*, Plain ).",
		    "n2:ReasonCode j:PersonAugmentation Thing Plain" },
		/* libxml2 cuts long lists: no ')' at the end. */
		{ "Element 'x': This element is not expected. Expected is one "
		    "of ( {http://www.nlets.org/niem/nlets-hdr/1.0}A, {urn:"
		    "psp}B", "nh2:A B" },
		{ "Element 'x': This element is not expected.", "" },
		{ "Element 'x': [facet 'pattern'] The value 'C' is not "
		    "accepted by the pattern '[A-Z]'.", "" },
	};
	char	 out[256];
	size_t	 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		msgparse_expected_names(t[i].msg, out, sizeof out);
		if (strcmp(out, t[i].names) != 0)
			fprintf(stderr, "\n  row %zu: \"%s\"", i, out);
		CU_ASSERT_STRING_EQUAL(out, t[i].names);
	}
}

/* The sentences, from names alone (no probe). */
static void
test_diag_words(void)
{
	static const struct {
		const char	*name, *parent, *prev, *later, *expected;
		const char	*before;
		const char	*words;
	} t[] = {
		/* The example: what is expected comes later. */
		{ "n2:ReasonText", "n2:Query", NULL, "n2:DriverLicenseID",
		    "n2:DriverLicenseID", NULL,
		    "n2:DriverLicenseID must come before n2:ReasonText" },
		{ "nc:B", "nc:P", "nc:A", "nc:X nc:C", "nc:Q nc:C", NULL,
		    "nc:C must come before nc:B" },
		/* The probe found its place. */
		{ "nc:B", "nc:P", "nc:C", "", "nc:D", "nc:C",
		    "nc:B must come before nc:C" },
		{ "nc:B", "nc:P", "nc:A", NULL, "nc:C", NULL,
		    "nc:B may not follow nc:A in nc:P; expected there: nc:C" },
		{ "nc:B", "nc:P", "nc:A", "", "nc:C nc:D", NULL,
		    "nc:B may not follow nc:A in nc:P; expected there: nc:C or "
		    "nc:D" },
		{ "nc:B", "nc:P", NULL, "", "nc:C nc:D nc:E nc:F nc:G", NULL,
		    "nc:B may not come first in nc:P; expected there: nc:C, "
		    "nc:D, nc:E or 2 more" },
		{ "nc:B", "nc:P", NULL, "", "nc:C nc:D nc:E", NULL,
		    "nc:B may not come first in nc:P; expected there: nc:C, "
		    "nc:D or nc:E" },
		{ "n2:ShoeSize", "n2:NLETSInquiryData", NULL, NULL, "", NULL,
		    "n2:ShoeSize is not allowed in n2:NLETSInquiryData" },
		{ "n2:ShoeSize", "n2:Person", "nc:PersonSexCode", "", NULL,
		    NULL, "n2:ShoeSize is not allowed in n2:Person after "
		    "nc:PersonSexCode" },
		/* A name that only starts like an expected one is another. */
		{ "nc:B", "nc:P", "nc:A", "nc:CC", "nc:C", NULL,
		    "nc:B may not follow nc:A in nc:P; expected there: nc:C" },
	};
	char	 out[256];
	size_t	 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		msgparse_unexpected_words(t[i].name, t[i].parent, t[i].prev,
		    t[i].later, t[i].expected, t[i].before, out, sizeof out);
		if (strcmp(out, t[i].words) != 0)
			fprintf(stderr, "\n  row %zu: \"%s\"", i, out);
		CU_ASSERT_STRING_EQUAL(out, t[i].words);
	}
}

/* The simulators' words for OpenSSL errors (client_tls_why). */
static void
test_diag_tls_words(void)
{
	static const struct {
		unsigned long	 e;
		const char	*words;
	} t[] = {
		{ ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET +
		    SSL_AD_UNKNOWN_CA), "certificate rejected by the switch "
		    "(alert: unknown CA)" },
		{ ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET +
		    SSL_AD_BAD_CERTIFICATE), "certificate rejected by the "
		    "switch (alert: bad certificate)" },
		{ ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET +
		    SSL_AD_CERTIFICATE_REQUIRED), "certificate rejected by "
		    "the switch (alert: certificate required)" },
		{ ERR_PACK(ERR_LIB_SSL, 0, SSL_AD_REASON_OFFSET +
		    SSL_AD_PROTOCOL_VERSION), "the switch ended the TLS "
		    "handshake (alert: protocol version)" },
		{ ERR_PACK(ERR_LIB_SSL, 0, SSL_R_UNEXPECTED_EOF_WHILE_READING),
		    "the switch closed the connection" },
		{ ERR_PACK(ERR_LIB_SSL, 0, SSL_R_CERTIFICATE_VERIFY_FAILED),
		    "the switch's certificate is not trusted: verification "
		    "failed" },
		{ ERR_PACK(ERR_LIB_SSL, 0, SSL_R_WRONG_VERSION_NUMBER),
		    "the peer does not speak TLS (wrong version number)" },
	};
	char	 why[256];
	size_t	 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		client_tls_why(t[i].e, NULL, why, sizeof why);
		if (strcmp(why, t[i].words) != 0)
			fprintf(stderr, "\n  row %zu: \"%s\"", i, why);
		CU_ASSERT_STRING_EQUAL(why, t[i].words);
	}
}

int
test_diag_register(void)
{
	CU_pSuite	 s;

	if ((s = CU_add_suite("diag", td_init, td_clean)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_diag_messages) == NULL ||
	    CU_ADD_TEST(s, test_diag_one_line) == NULL ||
	    CU_ADD_TEST(s, test_diag_raw) == NULL ||
	    CU_ADD_TEST(s, test_diag_expected_names) == NULL ||
	    CU_ADD_TEST(s, test_diag_words) == NULL ||
	    CU_ADD_TEST(s, test_diag_tls_words) == NULL)
		return -1;
	return 0;
}
