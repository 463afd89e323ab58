/*
 * it_legacy - a line configured as legacy sends and receives legacy text
 * through the running switch: its queries are converted and routed like
 * XML, its ERs come back as text quoting its own input, and a photo
 * response reaches it without the image, with a note saying so.
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
	    "<ori>TX0000000</ori><accept>DR KR DNR AM</accept></line>\n");
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
	    "OLN/%s.\nIMQ/Y. PUR/IDENTIFICATION,TRAFFIC-STOP. "
	    "CIR/NO PHOTO ID OFFERED. CAS/24-000777.\n", oln);
	tag = it_client_send(t, msg);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(t, tag, WAIT), 1);
	/* The DR arrives as text: the record, a note for the photo, and
	 * none of the image's bytes. */
	d = wait_text(t, "DR.", "LEG1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, oln));
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, "IMG/NOT AVAILABLE IN TEXT FORMAT"));
	CU_ASSERT_PTR_NULL(strstr(d->xml, "/9j/"));	/* base64 JPEG start */
	CU_ASSERT_PTR_NULL(strstr(d->xml, "<NLETS"));
	it_client_free(t);
}

static void
test_legacy_er_is_text(void)
{
	struct it_client	*t = it_client_new(env, "txleg", WAIT);
	const char		*bad = "DQ.TX0000000.CA.*LEG2.TXT\n"
	    "NAM/SAMPLE,ALEX. DOB/19900230. SEX/M.\n";
	uint64_t		 tag;

	CU_ASSERT_FATAL(t && t->up);
	tag = it_client_send(t, bad);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(t, tag, WAIT), 2);
	CU_ASSERT_EQUAL(strncmp(t->reply[tag], "ER.NL0000000.TX0000000", 22), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(t->reply[tag], "ERR/104."));
	/* The ER quotes the sender's own text, not the XML made of it. */
	CU_ASSERT_PTR_NOT_NULL(strstr(t->reply[tag], "INP/DQ.TX0000000.CA.*LEG2"));
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
	tag = it_client_send(a, "<?xml version=\"1.0\"?>\n<NLETS version=\"1.0\">"
	    "<NLETSMessageHeader><MessageKeyCodeText>AM</MessageKeyCodeText>"
	    "<OriginatingORIID>WA0340000</OriginatingORIID><DestinationORIID>"
	    "TX0000000</DestinationORIID><DocumentControlFieldText>LEG3"
	    "</DocumentControlFieldText></NLETSMessageHeader><NLETSInquiryData>"
	    "<AdministrativeMessage><MessageText>HELLO FROM AN XML LINE"
	    "</MessageText></AdministrativeMessage></NLETSInquiryData></NLETS>\n");
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	d = wait_text(t, "AM.", "HELLO FROM AN XML LINE", WAIT);
	CU_ASSERT_PTR_NOT_NULL(d);
	if (d != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, "*LEG3"));
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
	CU_ADD_TEST(s, test_legacy_er_is_text);
	CU_ADD_TEST(s, test_xml_to_legacy);
	return it_run_suites();
}
