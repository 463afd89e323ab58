/*
 * it_legacy - a line configured as legacy sends and receives legacy text
 * through the running switch: its queries are converted and routed like
 * XML, what it receives carries Nlets' output header, its ERs come back
 * as text in Nlets' words quoting its own input, a photo response reaches
 * it without the image, with a note saying so, and XML it sends on the
 * same line is read and answered as XML.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "dmv.h"
#include "it_util.h"
#include "util.h"

#define WAIT	15000

static struct it_env	*env;

static int
suite_init(void)
{
	char	*conf, *p, cmd[1024];
	char	*argv[] = { "bin/nlstate", "-s", "CA", "-k", NULL, "-l", "cadmv",
	    "-P", NULL, "-n", "1000", NULL };
	struct ubuf b;
	FILE	*f;

	if ((env = it_env_new("legacy", "heartbeat=\"2\"")) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd, "%s/tools/nlpki %s txleg >/dev/null",
	    env->root, env->pki);
	if (system(cmd) != 0)
		return -1;
	/* One more line, speaking legacy text. */
	if ((conf = util_read_file(env->conf, NULL)) == NULL ||
	    (p = strstr(conf, "  <region")) == NULL)
		return -1;
	ubuf_init(&b);
	ubuf_add(&b, conf, (size_t)(p - conf));
	ubuf_adds(&b, "  <line code=\"TXLEG\" cn=\"txleg\" format=\"legacy\">"
	    "<ori>TX0000000</ori><accept>DR KR DNR AM AML AA</accept></line>\n");
	ubuf_adds(&b, p);
	free(conf);
	if ((f = fopen(env->conf, "w")) == NULL)
		return -1;
	fputs(b.data, f);
	fclose(f);
	ubuf_free(&b);
	if (it_switch_start(env) == -1)
		return -1;
	argv[4] = env->pki;
	argv[8] = env->portfile;
	return it_spawn(env, "nlstate-ca.log", argv) > 0 ? 0 : -1;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

static struct it_dlv *
wait_text(struct it_client *t, const char *prefix, const char *needle, int ms)
{
	uint64_t	end = util_mono_us() + (uint64_t)ms * 1000;
	size_t		i;

	for (;;) {
		for (i = 0; i < t->ndlv; i++)
			if (strncmp(t->dlv[i].xml, prefix, strlen(prefix)) == 0 &&
			    strstr(t->dlv[i].xml, needle) != NULL)
				return &t->dlv[i];
		if (util_mono_us() >= end)
			return NULL;
		it_pump(env, 20);
	}
}

/* 1 if line is "HH:MM MM/DD/CCYY NNNNN" (with " ORI" when ori). */
static int
stamp_line(const char *line, size_t n, const char *ori)
{
	static const char	 shape[] = "99:99 99/99/9999 99999";
	size_t			 i;

	if (n != sizeof shape - 1 + (ori ? 1 + strlen(ori) : 0))
		return 0;
	for (i = 0; i < sizeof shape - 1; i++)
		if (shape[i] == '9' ? line[i] < '0' || line[i] > '9' :
		    line[i] != shape[i])
			return 0;
	return ori == NULL || (line[i] == ' ' &&
	    strncmp(line + i + 1, ori, strlen(ori)) == 0);
}

/*
 * The output header Nlets prints: MKE.ORI[.*CTL], receive time, date and
 * input sequence, send time, date, output sequence and receiving ORI,
 * then TXT.
 */
static void
check_output_header(const char *text, const char *first, const char *rori)
{
	const char	*l[4], *e;
	int		 i;

	l[0] = text;
	for (i = 1; i < 4; i++) {
		e = strchr(l[i - 1], '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(e);
		l[i] = e + 1;
	}
	CU_ASSERT_EQUAL(strncmp(l[0], first, strlen(first)), 0);
	CU_ASSERT_EQUAL((size_t)(l[1] - l[0] - 1), strlen(first));
	CU_ASSERT_TRUE(stamp_line(l[1], (size_t)(l[2] - l[1] - 1), NULL));
	CU_ASSERT_TRUE(stamp_line(l[2], (size_t)(l[3] - l[2] - 1), rori));
	CU_ASSERT_EQUAL(strncmp(l[3], "TXT\n", 4), 0);
}

static void
test_legacy_query_and_photo_note(void)
{
	struct it_client	*t = it_client_new(env, "txleg", WAIT);
	struct it_dlv		*d;
	char			 oln[16], msg[1024];
	uint64_t		 tag;

	CU_ASSERT_FATAL(t && t->up);
	dmv_oln("CA", 7, oln, sizeof oln);
	snprintf(msg, sizeof msg, "DQ.TX0000000.CA.*LEG1.TXT\n"
	    "OLN/%s.RSN/T.\nIMQ/Y.IPU/IDENTIFICATION,TRAFFIC-STOP."
	    "ICI/NO PHOTO ID OFFERED.ICN/24-000777", oln);
	tag = it_client_send(t, msg);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(t, tag, WAIT), 1);
	/* The DR arrives as text with Nlets' output header: the record, a
	 * note for the photo, and none of the image's bytes. */
	d = wait_text(t, "DR.", "LEG1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	check_output_header(d->xml, "DR.CAOLN0000.*LEG1", "TX0000000");
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, oln));
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, "IMG/NOT AVAILABLE IN TEXT FORMAT"));
	CU_ASSERT_PTR_NULL(strstr(d->xml, "/9j/"));	/* base64 JPEG start */
	CU_ASSERT_PTR_NULL(strstr(d->xml, "NLETS"));
	CU_ASSERT_PTR_NULL(strstr(d->xml, "MID/"));
	it_client_free(t);
}

/*
 * The documented Nlets example, as an integrator copies it: fields with
 * no blanks between them and no period after the last one.
 */
static void
test_documented_example(void)
{
	struct it_client	*t = it_client_new(env, "txleg", WAIT);
	struct dmv_record	 r;
	struct it_dlv		*d;
	char			 msg[512];
	uint64_t		 tag;

	CU_ASSERT_FATAL(t && t->up);
	CU_ASSERT_EQUAL_FATAL(dmv_record("CA", 0, &r), 0);
	snprintf(msg, sizeof msg, "DQ.TX0000000.CA.*DOC1.TXT\n"
	    "NAM/%s,%s.DOB/%.4s%.2s%.2s.SEX/%s", r.surname, r.given, r.dob,
	    r.dob + 5, r.dob + 8, r.sex);
	tag = it_client_send(t, msg);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(t, tag, WAIT), 1);
	d = wait_text(t, "DR.", "DOC1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, r.oln));
	it_client_free(t);
}

/* ERs in Nlets' words, as text, quoting the sender's own text. */
static void
test_legacy_er_is_text(void)
{
	struct it_client	*t = it_client_new(env, "txleg", WAIT);
	const char		*bad = "DQ.TX0000000.CA.*LEG2.TXT\n"
	    "NAM/SAMPLE,ALEX.DOB/19900230.SEX/M";
	const char		*r;
	uint64_t		 tag;

	CU_ASSERT_FATAL(t && t->up);
	tag = it_client_send(t, bad);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(t, tag, WAIT), 2);
	r = t->reply[tag];
	check_output_header(r, "ER.NL0000000.*LEG2", "TX0000000");
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "TXT\n.05. DOB INVALID or MISSING\n"));
	/* The ER quotes the sender's own text, not the XML made of it. */
	CU_ASSERT_PTR_NOT_NULL(strstr(r, "ORIGINAL MESSAGE\n"
	    "DQ.TX0000000.CA.*LEG2.TXT\nNAM/SAMPLE"));
	CU_ASSERT_EQUAL(it_er(r), MSG_ER_DOB);
	it_client_free(t);
}

/*
 * One line, both formats: each message is read in the format it came in
 * and answered in it, whatever the line's configured format.
 */
static void
test_one_line_both_formats(void)
{
	struct it_client	*t = it_client_new(env, "txleg", WAIT);
	uint64_t		 tx, tl;

	CU_ASSERT_FATAL(t && t->up);
	/* An XML query with an unknown destination: an XML ER. */
	tx = it_client_send(t, it_dq("TX0000000", "ZZ", "BOTH1", "C00000001",
	    0));
	/* The same mistake in text: a text ER. */
	tl = it_client_send(t, "DQ.TX0000000.ZZ.*BOTH2.TXT\nOLN/C00000001");
	CU_ASSERT_EQUAL_FATAL(it_client_wait(t, tx, WAIT), 2);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(t, tl, WAIT), 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(t->reply[tx], "<n2:NLETS"));
	CU_ASSERT_EQUAL(it_er(t->reply[tx]), MSG_ER_DEST);
	CU_ASSERT_EQUAL(strncmp(t->reply[tl], "ER.NL0000000.*BOTH2\n", 20), 0);
	CU_ASSERT_EQUAL(it_er(t->reply[tl]), MSG_ER_DEST);
	/* And both kinds are accepted and routed. */
	tx = it_client_send(t, it_msg("AM", "TX0000000", "CA", "BOTH3",
	    "<n2:MailMessageText>XML FROM A LEGACY LINE</n2:MailMessageText>"));
	tl = it_client_send(t, "AM.TX0000000.CA.*BOTH4.TXT\nTEXT FROM IT");
	CU_ASSERT_EQUAL(it_client_wait(t, tx, WAIT), 1);
	CU_ASSERT_EQUAL(it_client_wait(t, tl, WAIT), 1);
	it_client_free(t);
}

static void
test_xml_to_legacy(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*t = it_client_new(env, "txleg", WAIT);
	struct it_dlv		*d;
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up && t && t->up);
	tag = it_client_send(a, it_msg("AM", "WA0340000", "TX0000000", "LEG3",
	    "<n2:MailMessageText>HELLO FROM AN XML LINE</n2:MailMessageText>"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	d = wait_text(t, "AM.", "HELLO FROM AN XML LINE", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	check_output_header(d->xml, "AM.WA0340000.*LEG3", "TX0000000");
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, "TXT\nHELLO FROM AN XML LINE"));
	it_client_free(t);
	it_client_free(a);
}

int
main(void)
{
	CU_pSuite	s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_legacy", suite_init, suite_clean);
	CU_ADD_TEST(s, test_legacy_query_and_photo_note);
	CU_ADD_TEST(s, test_documented_example);
	CU_ADD_TEST(s, test_legacy_er_is_text);
	CU_ADD_TEST(s, test_one_line_both_formats);
	CU_ADD_TEST(s, test_xml_to_legacy);
	return it_run_suites();
}
