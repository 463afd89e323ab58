/*
 * it_examples - what an integrator writes from the public Nlets pages
 * reaches the running switch as written and gets the network's answer:
 * the fixtures shaped like the Nlets NIEM and legacy examples (DQ, KQ,
 * DNQ, AM, AML, AA, SM), sent byte for byte from one agency line (XML and
 * legacy text on the same line), are accepted, routed to the states named
 * (simulated by bin/nlstate processes), and answered: a DR, KR or DNR per
 * destination state, delivered with Nlets' output header stamps to the
 * sender's ORI; the mail-type messages are delivered to each destination
 * state (its nlstate says so in its log); an SM from a state reaches the
 * agency, and so do responses (DR with a photo, NOT ON FILE, DNR, KR)
 * written as a state's own system would, from the public examples.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "util.h"

#define WAIT	15000

static struct it_env	*env;
static struct it_client	*agy;
static pid_t		 states[4];
static const char *const state_codes[] = { "CA", "OR", "ID", "NV" };

/* The config: the agency WAAGY, an OR administrative line ORADM
 * (ORDMV0000, the ORI of the public SM example) and four member states,
 * regions WR (CA NV) and E1 (ID NV). */
static int
write_conf(struct it_env *e)
{
	FILE	*f;
	char	 cmd[700];
	int	 i;

	snprintf(cmd, sizeof cmd, "%s/tools/nlpki %s ordmv iddmv oradm "
	    ">/dev/null", e->root, e->pki);
	if (system(cmd) != 0 || (f = fopen(e->conf, "w")) == NULL)
		return -1;
	fprintf(f,
	    "<?xml version=\"1.0\"?>\n"
	    "<nlswitch version=\"1\">\n"
	    "  <listen address=\"127.0.0.1\" port=\"0\"/>\n"
	    "  <portfile>port</portfile>\n"
	    "  <datadir>data</datadir>\n"
	    "  <pki ca=\"pki/ca.pem\" cert=\"pki/switch.pem\" "
	    "key=\"pki/switch.key\"/>\n"
	    "  <limits/>\n"
	    "  <admin socket=\"control.sock\" address=\"127.0.0.1\" port=\"0\" "
	    "portfile=\"admin.port\"/>\n"
	    "  <line code=\"WAAGY\" cn=\"waagy\">\n"
	    "    <ori>WA0340000</ori><accept>DR KR DNR AM AML AA</accept>\n"
	    "  </line>\n"
	    "  <line code=\"ORAGY\" cn=\"oragy\">\n"
	    "    <ori>OR0260000</ori><accept>DR KR DNR AM AML AA</accept>\n"
	    "  </line>\n"
	    "  <line code=\"ORADM\" cn=\"oradm\">\n"
	    "    <ori>ORDMV0000</ori><accept>AM</accept>\n"
	    "  </line>\n");
	for (i = 0; i < 4; i++)
		fprintf(f,
		    "  <line code=\"%sDMV\" cn=\"%c%cdmv\" member=\"%s\">\n"
		    "    <ori>%sOLN0000</ori>"
		    "<accept>DQ KQ DNQ AM AML AA</accept>\n"
		    "  </line>\n", state_codes[i],
		    state_codes[i][0] + 'a' - 'A', state_codes[i][1] + 'a' - 'A',
		    state_codes[i], state_codes[i]);
	fprintf(f,
	    "  <region code=\"WR\">CA NV</region>\n"
	    "  <region code=\"E1\">ID NV</region>\n"
	    "</nlswitch>\n");
	return fclose(f) == 0 ? 0 : -1;
}

static pid_t
start_state(int i)
{
	char	 line[8], log[32];
	char	*argv[] = { "bin/nlstate", "-s", NULL, "-k", env->pki, "-l",
		    line, "-P", env->portfile, NULL };

	argv[2] = (char *)state_codes[i];
	snprintf(line, sizeof line, "%c%cdmv", state_codes[i][0] + 'a' - 'A',
	    state_codes[i][1] + 'a' - 'A');
	snprintf(log, sizeof log, "nlstate-%s.log", state_codes[i]);
	return it_spawn(env, log, argv);
}

static int
setup(void)
{
	int	 i;

	if ((env = it_env_new("examples", "")) == NULL || write_conf(env) ||
	    it_switch_start(env) == -1)
		return 1;
	for (i = 0; i < 4; i++)
		if ((states[i] = start_state(i)) <= 0)
			return 1;
	agy = it_client_new(env, "waagy", WAIT);
	if (agy == NULL || !agy->up)
		return 1;
	agy->autodack = 1;
	return 0;
}

static int
teardown(void)
{
	it_client_free(agy);
	it_env_free(env);
	return 0;
}

/* A fixture as an integrator sends it: the file's bytes, without the
 * leading "#" description lines of a legacy fixture. */
static char *
fixture(const char *rel)
{
	char	*path = xasprintf("%s/fixtures/%s", env->root, rel), *buf, *p;
	size_t	 len;

	buf = util_read_file(path, &len);
	free(path);
	if (buf == NULL)
		return NULL;
	p = buf;
	while (*p == '#' && strchr(p, '\n') != NULL)
		p = strchr(p, '\n') + 1;
	memmove(buf, p, len - (size_t)(p - buf) + 1);
	return buf;
}

/* Wait until the agency holds n deliveries of mke with ctl. */
static int
wait_count(const char *mke, const char *ctl, size_t n)
{
	uint64_t end = util_mono_us() + (uint64_t)WAIT * 1000;

	while (it_count(agy, mke, ctl) < n) {
		if (util_mono_us() >= end)
			return -1;
		it_pump(env, 20);
	}
	return 0;
}

/* Nlets' output header on a delivery to the agency. */
static void
check_stamps(const char *xml)
{
	const char	*v;

	CU_ASSERT_STRING_EQUAL(it_field(xml, "DestinationORIID"),
	    "WA0340000");
	v = it_field(xml, "MessageReceiveDate");
	CU_ASSERT(strlen(v) == 10 && v[2] == '/' && v[5] == '/');
	v = it_field(xml, "MessageSendTime");
	CU_ASSERT(strlen(v) == 5 && v[2] == ':');
	CU_ASSERT_EQUAL(strlen(it_field(xml, "ReceiveMessageNumeric")), 5);
	CU_ASSERT_EQUAL(strlen(it_field(xml, "SendMessageNumeric")), 5);
}

/* Wait until a state's nlstate log shows what. */
static int
state_saw(const char *code, const char *what)
{
	uint64_t	 end = util_mono_us() + (uint64_t)WAIT * 1000;
	char		*path, *log;
	int		 found;

	path = xasprintf("%s/nlstate-%s.log", env->dir, code);
	for (;;) {
		log = util_read_file(path, NULL);
		found = log != NULL && strstr(log, what) != NULL;
		free(log);
		if (found || util_mono_us() >= end)
			break;
		it_pump(env, 50);
	}
	free(path);
	return found ? 0 : -1;
}

/* Queries: accepted, and one answer per destination state. */
static void
test_queries(void)
{
	static const struct {
		const char	*file;
		const char	*rkey;	/* the answer's key */
		const char	*ctl;
		size_t		 answers;
	} t[] = {
		{ "msg/valid/nlets-dq-name.xml", "DR", "DQNAME0001", 1 },
		{ "msg/valid/nlets-dq-oln.xml", "DR", "DQOLN00001", 1 },
		{ "msg/valid/default-ns-dq.xml", "DR", "DEFNS1", 1 },
		{ "msg/valid/nlets-kq.xml", "KR", "KQNAME0001", 1 },
		{ "msg/valid/nlets-dnq.xml", "DNR", "DNQ0000001", 2 },
		{ "legacy/valid/dq-nlets-example.txt", "DR", "", 1 },
		{ "legacy/valid/dq-imq.txt", "DR", "IMQ 1", 1 },
		{ "legacy/valid/dq-name.txt", "DR", "T43", 2 },
		{ "legacy/valid/kq.txt", "KR", "K1", 1 },
		{ "legacy/valid/kq-pur-atn.txt", "KR", "K2", 1 },
		{ "legacy/valid/dnq.txt", "DNR", "", 3 },
	};
	size_t		 i, k, before;
	uint64_t	 tag;
	char		*msg;
	int		 rc;

	CU_ASSERT_FATAL(agy != NULL && agy->up);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		msg = fixture(t[i].file);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		before = it_count(agy, t[i].rkey, t[i].ctl);
		tag = it_client_send(agy, msg);
		rc = it_client_wait(agy, tag, WAIT);
		if (rc != 1)
			fprintf(stderr, "\n  %s: %s", t[i].file,
			    agy->reply[tag] ? agy->reply[tag] : "no reply");
		CU_ASSERT_EQUAL(rc, 1);
		if (wait_count(t[i].rkey, t[i].ctl, before + t[i].answers)) {
			fprintf(stderr, "\n  %s: %zu of %zu answers", t[i].file,
			    it_count(agy, t[i].rkey, t[i].ctl) - before,
			    t[i].answers);
			CU_FAIL("answers missing");
		}
		for (k = 0; k < agy->ndlv; k++)
			if (strcmp(it_field(agy->dlv[k].xml,
			    "MessageKeyCodeText"), t[i].rkey) == 0)
				check_stamps(agy->dlv[k].xml);
		free(msg);
	}
}

/* AM, AML, AA: accepted and delivered to every destination state. */
static void
test_mail(void)
{
	static const struct {
		const char	*file;
		const char	*seen;	/* the nlstate log line */
		const char	*states[3];
	} t[] = {
		{ "msg/valid/nlets-am.xml", "AM from WA0340000 ctl=AMTEST0001",
		  { "OR" } },
		{ "msg/valid/nlets-aml.xml",
		  "AML from WA0340000 ctl=AMLTEST001", { "OR", "ID", "NV" } },
		{ "msg/valid/nlets-aa-text.xml",
		  "AA from WA0340000 ctl=AATEXT0001", { "OR", "ID" } },
		{ "msg/valid/nlets-aa-standard.xml",
		  "AA from WA0340000 ctl=AASTD00001", { "OR" } },
		{ "legacy/valid/aa.txt", "AA from WA0340000 ctl=AA1",
		  { "CA", "NV" } },
		{ "legacy/valid/aml.txt", "AML from WA0340000 ctl=\n",
		  { "CA", "OR" } },
	};
	size_t		 i, k;
	uint64_t	 tag;
	char		*msg;

	CU_ASSERT_FATAL(agy != NULL && agy->up);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		msg = fixture(t[i].file);
		CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
		tag = it_client_send(agy, msg);
		CU_ASSERT_EQUAL(it_client_wait(agy, tag, WAIT), 1);
		for (k = 0; k < 3 && t[i].states[k] != NULL; k++)
			if (state_saw(t[i].states[k], t[i].seen) == -1) {
				fprintf(stderr, "\n  %s: not delivered to %s",
				    t[i].file, t[i].states[k]);
				CU_FAIL("mail not delivered");
			}
		free(msg);
	}
}

/* A response fixture sent by a state's line: ACKed, and delivered to
 * the agency with Nlets' stamps. 0, or -1 with a CUnit failure. */
static int
send_answer(struct it_client *st, const char *file, const char *mke,
    const char *ctl)
{
	size_t		 before = it_count(agy, mke, ctl);
	uint64_t	 tag;
	char		*msg;
	int		 rc;

	if ((msg = fixture(file)) == NULL)
		return -1;
	tag = it_client_send(st, msg);
	free(msg);
	if ((rc = it_client_wait(st, tag, WAIT)) != 1) {
		fprintf(stderr, "\n  %s: %s", file, st->reply[tag] ?
		    st->reply[tag] : "no reply");
		return -1;
	}
	if (wait_count(mke, ctl, before + 1) == -1) {
		fprintf(stderr, "\n  %s: not delivered", file);
		return -1;
	}
	check_stamps(agy->dlv[agy->ndlv - 1].xml);
	return 0;
}

/* SMs from a state, as the public SM example: routed like an AM to the
 * agency, which receives them stamped; then the responses shaped like
 * the public examples, from the states' lines. */
static void
test_from_states(void)
{
	struct it_client	*oradm, *ca;
	struct it_dlv		*d;
	uint64_t		 tag;
	char			*msg;
	size_t			 before;

	oradm = it_client_new(env, "oradm", WAIT);
	CU_ASSERT_FATAL(oradm != NULL && oradm->up);
	msg = fixture("msg/valid/nlets-sm.xml");
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	tag = it_client_send(oradm, msg);
	CU_ASSERT_EQUAL(it_client_wait(oradm, tag, WAIT), 1);
	free(msg);
	d = it_find(agy, "SM", "SMSTATE001", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	check_stamps(d->xml);
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, "OREGON DRIVER FILE "
	    "TEMPORARILY OUT OF SERVICE"));
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "OriginatingORIID"),
	    "ORDMV0000");
	/* The public KR example's shape, from the same ORI. */
	CU_ASSERT_EQUAL(send_answer(oradm, "msg/valid/nlets-kr.xml", "KR",
	    "KQNAME0001"), 0);
	it_client_free(oradm);

	/* The legacy one comes from CA's own ORI: CA's line, so its nlstate
	 * makes way first. */
	it_kill(env, states[0], SIGTERM);
	ca = it_client_new(env, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca != NULL && ca->up);
	before = it_count(agy, "SM", "");
	msg = fixture("legacy/valid/sm-from-state.txt");
	CU_ASSERT_PTR_NOT_NULL_FATAL(msg);
	tag = it_client_send(ca, msg);
	CU_ASSERT_EQUAL(it_client_wait(ca, tag, WAIT), 1);
	free(msg);
	CU_ASSERT_EQUAL(wait_count("SM", "", before + 1), 0);
	d = &agy->dlv[agy->ndlv - 1];
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "OriginatingORIID"),
	    "CAOLN0000");
	CU_ASSERT_PTR_NOT_NULL(strstr(d->xml, "CA DMV DRIVER FILES OUT OF "
	    "SERVICE"));
	/* And the responses shaped like the public DR and DNR examples,
	 * as a state's own system would write them. */
	CU_ASSERT_EQUAL(send_answer(ca, "msg/valid/nlets-dr-photo.xml", "DR",
	    "DQIMQ00001"), 0);
	CU_ASSERT_EQUAL(send_answer(ca, "msg/valid/nlets-dr-notonfile.xml",
	    "DR", "DQNAME0001"), 0);
	CU_ASSERT_EQUAL(send_answer(ca, "msg/valid/nlets-dnr.xml", "DNR",
	    "DNQ0000001"), 0);
	it_client_free(ca);
}

int
main(void)
{
	CU_pSuite	 su;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	su = CU_add_suite("examples", setup, teardown);
	if (su == NULL || CU_ADD_TEST(su, test_queries) == NULL ||
	    CU_ADD_TEST(su, test_mail) == NULL ||
	    CU_ADD_TEST(su, test_from_states) == NULL)
		return 1;
	return it_run_suites();
}
