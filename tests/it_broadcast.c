/*
 * it_broadcast - Amber Alerts and administrative broadcasts through the
 * running switch (issue 13, item 4; docs/messages.md "AM", "AML", "AA",
 * docs/policy.md): an AA to a region, to states and to NL; an AA with a
 * picture is a public disclosure, refused without its verifier (ER .94.,
 * P141) or a suspect's warrant (P142) with nothing delivered, and with
 * them delivered, the picture withheld from the states whose rules deny
 * it (the sender told in one SM .10.), also across a restart between
 * accept and delivery; every AML reaches XML and legacy lines with the
 * law-enforcement-only caveat on its first line, once, and one too long
 * for it is refused (ER .22. naming the limit); an AM's picture is
 * decided by the photo policy on its purpose; the audit trail has each
 * destination's decision.
 *
 * The states and agencies are test clients, so the test sees exactly
 * what reached each of them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "msg.h"
#include "msgbuild.h"
#include "util.h"

#define WAIT	15000

static struct it_env	*env;
static struct it_client	*agy, *oragy, *ca, *nv, *tx;

/*
 * Lines: WAAGY (a criminal-justice ORI and a non-criminal-justice one),
 * ORAGY (an agency whose line speaks legacy text), and three states that
 * take AM, AML and AA: CA shares photos freely, NV refuses public
 * disclosure, TX shares no photos. CA and NV are in the built-in region
 * H1, TX in D1.
 */
static const char tb_conf[] =
    "<?xml version=\"1.0\"?>\n"
    "<nlswitch version=\"1\">\n"
    "  <listen address=\"127.0.0.1\" port=\"0\"/>\n"
    "  <portfile>port</portfile>\n"
    "  <datadir>data</datadir>\n"
    "  <pki ca=\"pki/ca.pem\" cert=\"pki/switch.pem\" key=\"pki/switch.key\"/>\n"
    "  <limits heartbeat=\"2\" ack-timeout=\"5\"/>\n"
    "  <admin socket=\"control.sock\" address=\"127.0.0.1\" port=\"0\""
    " portfile=\"admin.port\"/>\n"
    "  <line code=\"WAAGY\" cn=\"waagy\">\n"
    "    <ori>WA0340000</ori><ori>WA034015Y</ori>\n"
    "    <accept>DR KR DNR AM AML AA</accept>\n"
    "  </line>\n"
    "  <line code=\"ORAGY\" cn=\"oragy\" format=\"legacy\">\n"
    "    <ori>OR0260000</ori><accept>AM AML AA</accept>\n"
    "  </line>\n"
    "  <line code=\"CADMV\" cn=\"cadmv\" member=\"CA\">\n"
    "    <ori>CAOLN0000</ori><accept>DQ AM AML AA</accept>\n"
    "  </line>\n"
    "  <line code=\"NVDMV\" cn=\"nvdmv\" member=\"NV\">\n"
    "    <ori>NVOLN0000</ori><accept>DQ AM AML AA</accept>\n"
    "    <photo-policy public-disclosure=\"no\"/>\n"
    "  </line>\n"
    "  <line code=\"TXDMV\" cn=\"txdmv\" member=\"TX\">\n"
    "    <ori>TXOLN0000</ori><accept>DQ AM AML AA</accept>\n"
    "    <photo-policy share=\"no\"/>\n"
    "  </line>\n"
    "  <oridir>oridir.xml</oridir>\n"
    "</nlswitch>\n";

static const char tb_oridir[] =
    "<?xml version=\"1.0\"?>\n"
    "<oridir version=\"1\">\n"
    "  <agency ori=\"WA0340000\" name=\"SEATTLE PD\" type=\"criminal-justice\""
    " auth=\"admin criminal-history dmv\"/>\n"
    "  <agency ori=\"WA034015Y\" name=\"WA LICENSING AUDIT\""
    " type=\"non-criminal-justice\" auth=\"admin dmv\"/>\n"
    "  <agency ori=\"OR0260000\" name=\"PORTLAND PB\" type=\"criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "  <agency ori=\"CAOLN0000\" name=\"CA DMV\" type=\"non-criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "  <agency ori=\"NVOLN0000\" name=\"NV DMV\" type=\"non-criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "  <agency ori=\"TXOLN0000\" name=\"TX DMV\" type=\"non-criminal-justice\""
    " auth=\"admin dmv\"/>\n"
    "</oridir>\n";

/* A synthetic picture (the fixtures' 178-byte JPEG). */
#define TB_B64	"/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEy" \
	"ccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5aYVpQYEpRUk//wAALCAA" \
	"UABABAREA/8QAFQABAQAAAAAAAAAAAAAAAAAAAAX/xAAZEAACAwEAAAAAAAAAAAAA" \
	"AAAAFAITYVH/2gAIAQEAAD8AqNaGtIjWhrSTZLosl0//2Q=="
#define TB_PIC(el) "<nc:" el "><nc:BinaryBase64Object>" TB_B64 \
	"</nc:BinaryBase64Object><nc:BinaryFormatID>image/jpeg" \
	"</nc:BinaryFormatID><nc:BinarySizeValue>0.17</nc:BinarySizeValue>" \
	"</nc:" el ">"
#define TB_TEXT "<n2:MailMessageText>AMBER ALERT - SYNTHETIC TEST\n" \
	"MISSING: SAMPLE, CASEY, F, AGE 8.</n2:MailMessageText>"
#define TB_CAT	"<n2:AmberAlertCategoryText>CHILD ABDUCTION" \
	"</n2:AmberAlertCategoryText>"
#define TB_VERIFIER "<psp:VerifierName>SGT. A. SAMPLE</psp:VerifierName>"

static int
tb_write(const char *name, const char *text)
{
	char	 path[400];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", env->dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(text, f);
	fclose(f);
	return 0;
}

static int
tb_connect(void)
{
	agy = it_client_new(env, "waagy", WAIT);
	oragy = it_client_new(env, "oragy", WAIT);
	ca = it_client_new(env, "cadmv", WAIT);
	nv = it_client_new(env, "nvdmv", WAIT);
	tx = it_client_new(env, "txdmv", WAIT);
	return agy->up && oragy->up && ca->up && nv->up && tx->up ? 0 : -1;
}

static void
tb_disconnect(void)
{
	it_client_free(agy);
	it_client_free(oragy);
	it_client_free(ca);
	it_client_free(nv);
	it_client_free(tx);
	agy = oragy = ca = nv = tx = NULL;
}

static int
suite_init(void)
{
	char cmd[800];

	if ((env = it_env_new("broadcast", "")) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd, "%s/tools/nlpki %s txdmv >/dev/null",
	    env->root, env->pki);
	if (system(cmd) != 0 || tb_write("nlswitch.xml", tb_conf) == -1 ||
	    tb_write("oridir.xml", tb_oridir) == -1)
		return -1;
	if (it_switch_start(env) == -1)
		return -1;
	return tb_connect();
}

static int
suite_clean(void)
{
	tb_disconnect();
	it_env_free(env);
	return 0;
}

/* Deliveries so far, per client. */
struct tb_counts {
	size_t	agy, oragy, ca, nv, tx;
};

static void
tb_counts(struct tb_counts *c)
{
	c->agy = agy->ndlv;
	c->oragy = oragy->ndlv;
	c->ca = ca->ndlv;
	c->nv = nv->ndlv;
	c->tx = tx->ndlv;
}

/*
 * Send xml from WAAGY; expect a NAK with ER er naming code and words,
 * and nothing delivered anywhere (the loop runs a while to be sure).
 */
static void
tb_refused(const char *xml, int er, const char *code, const char *words)
{
	struct tb_counts	 c;
	uint64_t		 tag;
	const char		*reply;

	tb_counts(&c);
	tag = it_client_send(agy, xml);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(agy, tag, WAIT), 2);
	reply = agy->reply[tag];
	CU_ASSERT_PTR_NOT_NULL_FATAL(reply);
	if (it_er(reply) != er || strstr(reply, code) == NULL ||
	    strstr(reply, words) == NULL)
		fprintf(stderr, "\nER for %s: %s\n", code, reply);
	CU_ASSERT_EQUAL(it_er(reply), er);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, code));
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, words));
	it_pump(env, 300);
	CU_ASSERT_EQUAL(oragy->ndlv, c.oragy);
	CU_ASSERT_EQUAL(ca->ndlv, c.ca);
	CU_ASSERT_EQUAL(nv->ndlv, c.nv);
	CU_ASSERT_EQUAL(tx->ndlv, c.tx);
}

/* Send xml from WAAGY and expect its ACK. */
static void
tb_accepted(const char *xml)
{
	uint64_t	 tag = it_client_send(agy, xml);
	int		 rc = it_client_wait(agy, tag, WAIT);

	if (rc != 1)
		fprintf(stderr, "\nrefused: %s\n", agy->reply[tag] != NULL ?
		    agy->reply[tag] : "(no reply)");
	CU_ASSERT_EQUAL_FATAL(rc, 1);
}

/* The delivery of key with ctl st got, waiting for it; NULL (and a
 * failure) if none came. */
static const char *
tb_got(struct it_client *st, const char *mke, const char *ctl)
{
	struct it_dlv *d = it_find(st, mke, ctl, WAIT);

	if (d == NULL) {
		fprintf(stderr, "\n%s %s not delivered\n", mke, ctl);
		CU_FAIL("not delivered");
		return NULL;
	}
	return d->xml;
}

/* The SM of number code with ctl the agency got, waiting for it; its
 * text, or "" (and a failure) if none came. */
static const char *
tb_sm(const char *ctl, int code)
{
	static char	 text[4096];
	uint64_t	 end = util_mono_us() + (uint64_t)WAIT * 1000;
	size_t		 i;

	for (;;) {
		for (i = 0; i < agy->ndlv; i++)
			if (it_sm(agy->dlv[i].xml) == code &&
			    strcmp(it_field(agy->dlv[i].xml,
			    "DocumentControlFieldText"), ctl) == 0) {
				util_strlcpy(text, it_field(agy->dlv[i].xml,
				    "StatusMessageText"), sizeof text);
				return text;
			}
		if (util_mono_us() >= end)
			break;
		it_pump(env, 20);
	}
	CU_FAIL("no SM");
	return "";
}

/* How many SMs of number code with ctl the agency got so far. */
static int
tb_count_sm(const char *ctl, int code)
{
	size_t	 i;
	int	 n = 0;

	for (i = 0; i < agy->ndlv; i++)
		n += it_sm(agy->dlv[i].xml) == code && strcmp(it_field(
		    agy->dlv[i].xml, "DocumentControlFieldText"), ctl) == 0;
	return n;
}

/* 1 if xml carries the picture (and its purpose), 0 if neither; a
 * failure for one without the other. */
static int
tb_has_picture(const char *xml)
{
	int pic = xml != NULL && strstr(xml, TB_B64) != NULL;
	int pur = xml != NULL && strstr(xml, "PhotoPurpose") != NULL;

	CU_ASSERT_EQUAL(pic, pur);
	return pic;
}

/* Occurrences of s in text. */
static int
tb_occurs(const char *text, const char *s)
{
	int n = 0;

	while (text != NULL && (text = strstr(text, s)) != NULL) {
		n++;
		text += strlen(s);
	}
	return n;
}

/*
 * An AA with a picture is a public disclosure: without a verifier (no
 * purpose at all, or one without psp:VerifierName) it is refused with
 * the policy's ER and code, and no state, region member or agency gets
 * anything; a suspect's picture needs the arrest warrant; another
 * purpose than public disclosure is refused; a non-criminal-justice
 * agency may not send one.
 */
static void
test_aa_picture_refused(void)
{
	tb_refused(it_msg("AA", "WA0340000", "H1 TX OR0260000", "AAP1",
	    TB_CAT TB_TEXT TB_PIC("PersonDigitalImage")), MSG_ER_POLICY,
	    "P141 verifier-required", "name the verifier");
	tb_refused(it_msg("AA", "WA0340000", "NL", "AAP2",
	    TB_CAT TB_TEXT TB_PIC("Image") "<psp:PhotoPurpose>"
	    "<psp:PurposeCategoryCode>PUBLIC-DISCLOSURE"
	    "</psp:PurposeCategoryCode></psp:PhotoPurpose>"), MSG_ER_POLICY,
	    "P141", "public disclosure");
	tb_refused(it_msg("AA", "WA0340000", "CA", "AAP3",
	    TB_TEXT TB_PIC("PersonDigitalImage") "<psp:PhotoPurpose>"
	    TB_VERIFIER "<psp:SubjectSuspectIndicator>true"
	    "</psp:SubjectSuspectIndicator></psp:PhotoPurpose>"),
	    MSG_ER_POLICY, "P142 warrant-required", "arrest warrant");
	tb_refused(it_msg("AA", "WA0340000", "CA", "AAP4",
	    TB_TEXT TB_PIC("PersonDigitalImage") "<psp:PhotoPurpose>"
	    "<psp:PurposeCategoryCode>SUSPECT</psp:PurposeCategoryCode>"
	    "<psp:PurposeUseCode>LOCATE-SUSPECT</psp:PurposeUseCode>"
	    "<psp:CaseNumberText>24-1</psp:CaseNumberText>" TB_VERIFIER
	    "</psp:PhotoPurpose>"), MSG_ER_POLICY, "P143 amber-alert-public",
	    "not SUSPECT");
	tb_refused(it_msg("AA", "WA034015Y", "CA", "AAP5",
	    TB_TEXT TB_PIC("PersonDigitalImage") "<psp:PhotoPurpose>"
	    TB_VERIFIER "</psp:PhotoPurpose>"), MSG_ER_POLICY, "P101",
	    "non-criminal-justice");
}

/*
 * With its verifier the AA goes to NL (every member): CA gets it with the
 * picture and its purpose, NV (refuses public disclosure) and TX (shares
 * no photos) the alert without them, and the agency one SM .10. naming
 * those two; the audit record lists every destination's decision.
 */
static void
test_aa_picture_verified(void)
{
	const char	*got, *text;
	char		*out;

	tb_accepted(it_msg("AA", "WA0340000", "NL", "AAV1",
	    TB_CAT TB_TEXT TB_PIC("PersonDigitalImage") "<psp:PhotoPurpose>"
	    "<psp:PurposeCategoryCode>PUBLIC-DISCLOSURE"
	    "</psp:PurposeCategoryCode><psp:PurposeUseCode>MISSING-CHILD"
	    "</psp:PurposeUseCode>" TB_VERIFIER "</psp:PhotoPurpose>"));
	got = tb_got(ca, "AA", "AAV1");
	CU_ASSERT_EQUAL(tb_has_picture(got), 1);
	CU_ASSERT_PTR_NOT_NULL(got != NULL ? strstr(got, "SGT. A. SAMPLE") :
	    NULL);
	got = tb_got(nv, "AA", "AAV1");
	CU_ASSERT_EQUAL(tb_has_picture(got), 0);
	CU_ASSERT_PTR_NOT_NULL(got != NULL ? strstr(got, "CHILD ABDUCTION") :
	    NULL);
	CU_ASSERT_PTR_NOT_NULL(got != NULL ? strstr(got,
	    "MISSING: SAMPLE, CASEY") : NULL);
	got = tb_got(tx, "AA", "AAV1");
	CU_ASSERT_EQUAL(tb_has_picture(got), 0);
	CU_ASSERT_PTR_NOT_NULL(got != NULL ? strstr(got, "AMBER ALERT") :
	    NULL);

	text = tb_sm("AAV1", MSG_SM_PHOTO_WITHHELD);
	if (strstr(text, "NV SENT WITHOUT THE PICTURE: P140") == NULL ||
	    strstr(text, "TX SENT WITHOUT THE PICTURE: P102") == NULL)
		fprintf(stderr, "\nSM .10.: %s\n", text);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "MSG TYPE AA"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "NV SENT WITHOUT THE PICTURE: P140"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "TX SENT WITHOUT THE PICTURE: P102"));
	CU_ASSERT_PTR_NULL(strstr(text, "CA "));
	it_pump(env, 200);
	CU_ASSERT_EQUAL(tb_count_sm("AAV1", MSG_SM_PHOTO_WITHHELD), 1);

	out = it_nlaudit(env, "--mke AA --event accepted");
	if (strstr(out, "\"ctl\":\"AAV1\"") == NULL ||
	    strstr(out, "\"dest\":\"NV\"") == NULL)
		fprintf(stderr, "\nnlaudit: %s\n", out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"ctl\":\"AAV1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"decision\":\"withheld\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"code\":\"P140\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"code\":\"P102\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "picture allowed for"));
	free(out);
}

/*
 * An AA without a picture needs no purpose: to a region (H1: CA and NV)
 * and a state, every member with a line that takes AA gets it as sent,
 * no SM .10.
 */
static void
test_aa_text_region(void)
{
	const char *got;

	tb_accepted(it_msg("AA", "WA0340000", "H1 TX", "AAT1",
	    TB_CAT TB_TEXT));
	got = tb_got(ca, "AA", "AAT1");
	CU_ASSERT_PTR_NOT_NULL(got != NULL ? strstr(got, "CHILD ABDUCTION") :
	    NULL);
	CU_ASSERT_PTR_NOT_NULL(tb_got(nv, "AA", "AAT1"));
	CU_ASSERT_PTR_NOT_NULL(tb_got(tx, "AA", "AAT1"));
	it_pump(env, 200);
	CU_ASSERT_EQUAL(tb_count_sm("AAT1", MSG_SM_PHOTO_WITHHELD), 0);
	CU_ASSERT_EQUAL(it_count(oragy, "AA", "AAT1"), 0);
}

/* The MailMessageText of xml, "" if none (static buffer). */
static const char *
tb_text(const char *xml)
{
	static char	 text[12000];
	const char	*p, *e;

	text[0] = '\0';
	if (xml == NULL ||
	    (p = strstr(xml, "<n2:MailMessageText>")) == NULL ||
	    (e = strstr(p, "</n2:MailMessageText>")) == NULL)
		return text;
	p += strlen("<n2:MailMessageText>");
	snprintf(text, sizeof text, "%.*s", (int)(e - p), p);
	return text;
}

/*
 * Every AML goes out with the caveat on its first line: to a state (XML)
 * and to a legacy agency line (the first line after TXT), inserted once,
 * not again when the sender wrote it; an AML the caveat would make
 * longer than MailMessageText's 10000 characters is refused, naming the
 * limit.
 */
static void
test_aml_caveat(void)
{
	struct ubuf	 b, body;
	const char	*got, *legacy, *text;
	size_t		 i;

	tb_accepted(it_msg("AML", "WA0340000", "CA OR0260000", "AML1",
	    "<n2:MailMessageText>OFFICER SAFETY: SUBJECT MAY BE ARMED.\n"
	    "SYNTHETIC TEXT.</n2:MailMessageText>"));
	got = tb_got(ca, "AML", "AML1");
	text = tb_text(got);
	if (strstr(text, MSGBUILD_AML_CAVEAT "\nOFFICER SAFETY") != text)
		fprintf(stderr, "\nAML text: %s\n", text);
	CU_ASSERT_PTR_EQUAL(strstr(text, MSGBUILD_AML_CAVEAT
	    "\nOFFICER SAFETY"), text);
	CU_ASSERT_EQUAL(tb_occurs(got, MSGBUILD_AML_CAVEAT), 1);
	/* The legacy line: TXT, then the caveat, then the sender's text. */
	CU_ASSERT_EQUAL(it_client_wait_dlv(oragy, 1, WAIT), 0);
	legacy = NULL;
	for (i = 0; i < oragy->ndlv; i++)
		if (strncmp(oragy->dlv[i].xml, "AML.WA0340000.*AML1", 19) == 0)
			legacy = oragy->dlv[i].xml;
	CU_ASSERT_PTR_NOT_NULL_FATAL(legacy);
	if (strstr(legacy, "\nTXT\n" MSGBUILD_AML_CAVEAT "\nOFFICER") == NULL)
		fprintf(stderr, "\nlegacy AML:\n%s\n", legacy);
	CU_ASSERT_PTR_NOT_NULL(strstr(legacy,
	    "\nTXT\n" MSGBUILD_AML_CAVEAT "\nOFFICER SAFETY"));
	CU_ASSERT_EQUAL(tb_occurs(legacy, MSGBUILD_AML_CAVEAT), 1);

	/* The sender wrote it: not twice (to a region, in CDATA). */
	tb_accepted(it_msg("AML", "WA0340000", "H1", "AML2",
	    "<n2:MailMessageText><![CDATA[FOR LAW ENFORCEMENT DISSEMINATION "
	    "ONLY\nSURVEILLANCE DETAIL, SYNTHETIC.]]></n2:MailMessageText>"));
	got = tb_got(nv, "AML", "AML2");
	CU_ASSERT_EQUAL(tb_occurs(got, MSGBUILD_AML_CAVEAT), 1);
	got = tb_got(ca, "AML", "AML2");
	CU_ASSERT_EQUAL(tb_occurs(got, MSGBUILD_AML_CAVEAT), 1);

	/* 9962 characters: with the caveat's 39, one too many. */
	ubuf_init(&body);
	ubuf_adds(&body, "<n2:MailMessageText>");
	for (i = 0; i < MSG_TEXT_MAX - strlen(MSGBUILD_AML_CAVEAT); i++)
		ubuf_add(&body, (i % 64) == 63 ? "\n" : "X", 1);
	ubuf_adds(&body, "</n2:MailMessageText>");
	ubuf_add(&body, "", 1);
	ubuf_init(&b);
	it_msg_buf(&b, "AML", "WA0340000", "CA", "AML3", body.data);
	ubuf_add(&b, "", 1);
	tb_refused(b.data, MSG_ER_FORMAT, "10001 characters, 10000 at most",
	    MSGBUILD_AML_CAVEAT);
	/* An AM of the same length goes: no caveat for an AM. */
	ubuf_reset(&b);
	it_msg_buf(&b, "AM", "WA0340000", "CA", "AM3", body.data);
	ubuf_add(&b, "", 1);
	tb_accepted(b.data);
	got = tb_got(ca, "AM", "AM3");
	CU_ASSERT_EQUAL(tb_occurs(got, MSGBUILD_AML_CAVEAT), 0);
	ubuf_free(&b);
	ubuf_free(&body);
}

/*
 * An AM may carry a picture, then decided by the photo policy on its
 * purpose: without one a fishing expedition (P110), with one CA gets the
 * picture and TX (shares no photos) the text alone; an AM without a
 * picture needs no purpose.
 */
static void
test_am_picture(void)
{
	const char *got, *text;

	tb_refused(it_msg("AM", "WA0340000", "CA TX", "AMP1",
	    "<n2:MailMessageText>UNIDENTIFIED MALE, SEE PICTURE"
	    "</n2:MailMessageText>" TB_PIC("Image")), MSG_ER_POLICY,
	    "P110 fishing-expedition", "a picture in an AM");
	tb_accepted(it_msg("AM", "WA0340000", "CA TX", "AMP2",
	    "<n2:MailMessageText>UNIDENTIFIED MALE, SEE PICTURE"
	    "</n2:MailMessageText>" TB_PIC("Image") "<psp:PhotoPurpose>"
	    "<psp:PurposeCategoryCode>IDENTIFICATION</psp:PurposeCategoryCode>"
	    "<psp:PurposeUseCode>UNIDENTIFIED-BODY</psp:PurposeUseCode>"
	    "<psp:CircumstanceText>FOUND AT MP 12</psp:CircumstanceText>"
	    "</psp:PhotoPurpose>"));
	got = tb_got(ca, "AM", "AMP2");
	CU_ASSERT_EQUAL(tb_has_picture(got), 1);
	got = tb_got(tx, "AM", "AMP2");
	CU_ASSERT_EQUAL(tb_has_picture(got), 0);
	CU_ASSERT_PTR_NOT_NULL(got != NULL ? strstr(got, "UNIDENTIFIED MALE") :
	    NULL);
	text = tb_sm("AMP2", MSG_SM_PHOTO_WITHHELD);
	CU_ASSERT_PTR_NOT_NULL(strstr(text,
	    "TX SENT WITHOUT THE PICTURE: P102"));
	CU_ASSERT_PTR_NULL(strstr(text, "CA "));

	tb_accepted(it_msg("AM", "WA0340000", "CA TX", "AMP3",
	    "<n2:MailMessageText>NO PICTURE HERE</n2:MailMessageText>"));
	CU_ASSERT_PTR_NOT_NULL(tb_got(tx, "AM", "AMP3"));
	it_pump(env, 200);
	CU_ASSERT_EQUAL(tb_count_sm("AMP3", MSG_SM_PHOTO_WITHHELD), 0);
}

/*
 * The decision is made once and delivered as made: an AA accepted while
 * NV and TX are down and delivered after a restart of the switch still
 * reaches them without the picture (the copy's durable flag), CA with.
 */
static void
test_aa_picture_restart(void)
{
	struct it_dlv	*d;

	it_client_free(nv);
	it_client_free(tx);
	nv = tx = NULL;
	tb_accepted(it_msg("AA", "WA0340000", "CA NV TX", "AAR1",
	    TB_TEXT TB_PIC("PersonDigitalImage") "<psp:PhotoPurpose>"
	    TB_VERIFIER "</psp:PhotoPurpose>"));
	CU_ASSERT_EQUAL(tb_has_picture(tb_got(ca, "AA", "AAR1")), 1);
	tb_disconnect();
	it_switch_stop(env, SIGKILL);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);
	CU_ASSERT_EQUAL_FATAL(tb_connect(), 0);
	d = it_find(nv, "AA", "AAR1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(tb_has_picture(d->xml), 0);
	d = it_find(tx, "AA", "AAR1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(tb_has_picture(d->xml), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, "MISSING: SAMPLE, CASEY"));
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("broadcast", suite_init, suite_clean);
	if (s == NULL ||
	    CU_ADD_TEST(s, test_aa_picture_refused) == NULL ||
	    CU_ADD_TEST(s, test_aa_picture_verified) == NULL ||
	    CU_ADD_TEST(s, test_aa_text_region) == NULL ||
	    CU_ADD_TEST(s, test_aml_caveat) == NULL ||
	    CU_ADD_TEST(s, test_am_picture) == NULL ||
	    CU_ADD_TEST(s, test_aa_picture_restart) == NULL)
		return 1;
	return it_run_suites();
}
