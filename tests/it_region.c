/*
 * it_region - Nlets' regions and the DQG against the running switch
 * (issue 13, item 2), with real processes on 127.0.0.1: nlswitchd, two
 * nlstate simulators and TLS test clients.
 *
 * The it_util config has CADMV (CA) and NVDMV (NV) and defines region WR
 * only; H1, the built-in region that holds CA and NV (switch/region.c),
 * comes from the switch itself. A DQG to H1 reaches each state as a DQ
 * (never a DQG), both answer with a DR to the requester; a DQ written in
 * legacy text to H1 is handled the same way; DQGs that break a DQG's
 * rules get the ER that says what to fix; and a DQ and a DQG waiting for
 * the same line are delivered DQ first, after a restart too.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "dmv.h"
#include "it_util.h"
#include "msg.h"
#include "util.h"

#define WAIT	15000	/* ms: a generous bound for one exchange */

static struct it_env	*env;

static int
suite_init(void)
{
	env = it_env_new("region", "ack-timeout=\"5\" retry-min=\"1\" "
	    "retry-max=\"2\"");
	if (env == NULL || it_switch_start(env) == -1)
		return -1;
	return 0;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

/* A simulated state DMV: bin/nlstate for member st on line name. */
static pid_t
start_state(const char *st, const char *name, const char *log)
{
	char	*argv[] = { "bin/nlstate", "-s", (char *)st, "-k", env->pki,
		    "-l", (char *)name, "-P", env->portfile, "-n", "100",
		    NULL };

	return it_spawn(env, log, argv);
}

/* The n2:Person of a query by name, birth date and sex (static). */
static const char *
person(const struct dmv_record *r)
{
	static char	 buf[512];

	snprintf(buf, sizeof buf, "<n2:Person><nc:PersonBirthDate><nc:Date>"
	    "%s</nc:Date></nc:PersonBirthDate><nc:PersonName>"
	    "<nc:PersonGivenName>%s</nc:PersonGivenName><nc:PersonSurName>"
	    "%s</nc:PersonSurName></nc:PersonName><nc:PersonSexCode>%s"
	    "</nc:PersonSexCode></n2:Person>\n", r->dob, r->given,
	    r->surname, r->sex);
	return buf;
}

/* Wait until c holds n deliveries of mke with ctl; @return how many. */
static size_t
wait_count(struct it_client *c, const char *mke, const char *ctl, size_t n)
{
	uint64_t end = util_mono_us() + (uint64_t)WAIT * 1000;

	while (it_count(c, mke, ctl) < n && util_mono_us() < end)
		it_pump(env, 20);
	return it_count(c, mke, ctl);
}

/*
 * The one merged DR with ctl (a query to a region is a multi-state
 * query, docs/messages.md): from the switch, CA's hit inside it, NV's
 * NOT ON FILE only in its summary.
 */
static void
check_answers(struct it_client *a, const char *ctl)
{
	const char	*xml = NULL;
	size_t		 i;

	CU_ASSERT_EQUAL(wait_count(a, "DR", ctl, 1), 1);
	for (i = 0; i < a->ndlv; i++)
		if (strcmp(it_field(a->dlv[i].xml, "MessageKeyCodeText"),
		    "DR") == 0 && strcmp(it_field(a->dlv[i].xml,
		    "DocumentControlFieldText"), ctl) == 0)
			xml = a->dlv[i].xml;
	CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
	CU_ASSERT_STRING_EQUAL(it_field(xml, "OriginatingORIID"), "NL0000000");
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "QUERIED 2: CA NV"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "HIT 1: CA"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "NOT ON FILE 1: NV"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<n2:StateResponse>"));
	CU_ASSERT_PTR_NOT_NULL(strstr(xml, "CAOLN0000"));
	CU_ASSERT_PTR_NULL(strstr(xml, "NVOLN0000"));
}

/*
 * A DQG to the built-in region H1 with both its states connected: each
 * nlstate receives a DQ (its log names the key it got; a DQG it would
 * not answer), each answers with a DR, and both DRs reach the requester.
 * A DQ in legacy text to H1 is handled as a DQG the same way. The audit
 * trail keeps what was sent and what the states got.
 */
static void
test_dqg_to_region(void)
{
	struct it_client	*a;
	struct dmv_record	 r;
	pid_t			 ca, nv;
	char			*log, *out, legacy[256];
	uint64_t		 tag;

	CU_ASSERT_EQUAL_FATAL(dmv_record("CA", 7, &r), 0);
	ca = start_state("CA", "cadmv", "nlstate-ca.log");
	nv = start_state("NV", "nvdmv", "nlstate-nv.log");
	CU_ASSERT_FATAL(ca > 0 && nv > 0);
	CU_ASSERT_EQUAL_FATAL(it_log_wait(env, "nlstate-ca.log", "connected",
	    WAIT), 0);
	CU_ASSERT_EQUAL_FATAL(it_log_wait(env, "nlstate-nv.log", "connected",
	    WAIT), 0);
	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);

	tag = it_client_send(a, it_msg("DQG", "WA0340000", "H1", "REG1",
	    person(&r)));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	check_answers(a, "REG1");
	CU_ASSERT_EQUAL(it_log_wait(env, "nlstate-ca.log",
	    "nlstate CA: DQ from WA0340000 ctl=REG1 -> DR 1 record(s)", WAIT),
	    0);
	CU_ASSERT_EQUAL(it_log_wait(env, "nlstate-nv.log",
	    "nlstate NV: DQ from WA0340000 ctl=REG1 -> DR NOT ON FILE", WAIT),
	    0);

	/* Legacy text: a DQ to a region code is a DQG (Nlets: "If it is
	 * not, Nlets will change it to DQG"). */
	snprintf(legacy, sizeof legacy, "DQ.WA0340000.H1.*LEG1.TXT\n"
	    "NAM/%s,%s.DOB/%.4s%.2s%.2s.SEX/%s", r.surname, r.given, r.dob,
	    r.dob + 5, r.dob + 8, r.sex);
	tag = it_client_send(a, legacy);
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	check_answers(a, "LEG1");

	/* No state ever saw a DQG. */
	log = xasprintf("%s/nlstate-ca.log", env->dir);
	out = util_read_file(log, NULL);
	CU_ASSERT(out != NULL && strstr(out, "DQG") == NULL);
	free(out);
	free(log);
	log = xasprintf("%s/nlstate-nv.log", env->dir);
	out = util_read_file(log, NULL);
	CU_ASSERT(out != NULL && strstr(out, "DQG") == NULL);
	free(out);
	free(log);

	/* Audited: what came in (DQG, or DQ handled as one), what the
	 * states got (DQ), at which priority; each delivery as a DQ. */
	out = it_nlaudit(env, "--event accepted --mke DQG");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"ctl\":\"REG1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"mke_delivered\":\"DQ\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"priority\":\"low\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"H1\""));
	free(out);
	out = it_nlaudit(env, "--event accepted --mke DQ");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"ctl\":\"LEG1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"handled_as\":\"DQG\""));
	free(out);
	out = it_nlaudit(env, "--event delivered --mke DQ");
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "CADMV"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "NVDMV"));
	free(out);

	it_client_free(a);
	it_kill(env, ca, SIGTERM);
	it_kill(env, nv, SIGTERM);
}

/*
 * A DQG that breaks a DQG's rules gets the ER that names what to fix,
 * and so does a legacy DQ to a region (handled as a DQG); a region none
 * of whose members has a line is no destination.
 */
static void
test_dqg_refused(void)
{
	static const struct {
		const char	*name;
		int		 xml;	/* 1: body is an XML body */
		const char	*dests;
		const char	*msg;	/* body, or the legacy text */
		int		 er;
		const char	*why;	/* in the ER text */
	} t[] = {
		{ "DQG by license number", 1, "H1",
		  "<n2:Person><nc:PersonBirthDate><nc:Date>1980-02-29"
		  "</nc:Date></nc:PersonBirthDate><nc:PersonName>"
		  "<nc:PersonGivenName>ALEX</nc:PersonGivenName>"
		  "<nc:PersonSurName>SAMPLE</nc:PersonSurName></nc:PersonName>"
		  "<nc:PersonSexCode>M</nc:PersonSexCode>"
		  "<j:PersonAugmentation><nc:DriverLicense>"
		  "<nc:DriverLicenseIdentification><nc:IdentificationID>"
		  "S1234567</nc:IdentificationID>"
		  "</nc:DriverLicenseIdentification></nc:DriverLicense>"
		  "</j:PersonAugmentation></n2:Person>",
		  MSG_ER_FORMAT, "is not valid for a DQG" },
		{ "DQG without a sex", 1, "WR",
		  "<n2:Person><nc:PersonBirthDate><nc:Date>1980-02-29"
		  "</nc:Date></nc:PersonBirthDate><nc:PersonName>"
		  "<nc:PersonGivenName>ALEX</nc:PersonGivenName>"
		  "<nc:PersonSurName>SAMPLE</nc:PersonSurName></nc:PersonName>"
		  "</n2:Person>", MSG_ER_REQUIRED, "missing: PersonSexCode" },
		{ "DQG to a region without lines", 1, "A1",
		  "<n2:Person><nc:PersonBirthDate><nc:Date>1980-02-29"
		  "</nc:Date></nc:PersonBirthDate><nc:PersonName>"
		  "<nc:PersonGivenName>ALEX</nc:PersonGivenName>"
		  "<nc:PersonSurName>SAMPLE</nc:PersonSurName></nc:PersonName>"
		  "<nc:PersonSexCode>M</nc:PersonSexCode></n2:Person>",
		  MSG_ER_DEST, "no line serves a member of region A1" },
		{ "legacy DQG with IMQ/", 0, NULL,
		  "DQG.WA0340000.H1.*R4.TXT\n"
		  "NAM/SAMPLE,ALEX.DOB/19800229.SEX/M.IMQ/Y",
		  MSG_ER_FORMAT, "field IMQ/ is not valid for a DQG" },
		{ "legacy DQ by OLN/ to a region", 0, NULL,
		  "DQ.WA0340000.H1.*R5.TXT\nOLN/S1234567", MSG_ER_FORMAT,
		  "a DQ to region H1 is handled as a DQG; OLN/ and OLS/ are "
		  "not valid for a DQG" },
	};
	struct it_client	*a;
	uint64_t		 tag;
	size_t			 i;
	char			 ctl[8];

	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		snprintf(ctl, sizeof ctl, "R%zu", i + 1);
		tag = it_client_send(a, t[i].xml ? it_msg("DQG", "WA0340000",
		    t[i].dests, ctl, t[i].msg) : t[i].msg);
		CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 2);
		if (tag >= a->ntags || a->reply[tag] == NULL) {
			CU_FAIL("no reply");
			continue;
		}
		if (it_er(a->reply[tag]) != t[i].er ||
		    strstr(it_er_text(a->reply[tag]), t[i].why) == NULL) {
			fprintf(stderr, "\n  %s: want ER .%02d. \"%s\", got %s",
			    t[i].name, t[i].er, t[i].why, a->reply[tag]);
			CU_FAIL("wrong ER");
		}
	}
	it_client_free(a);
}

/*
 * Nlets carries a DQG "at a lower priority": a DQ and a DQG waiting for
 * the same line are delivered DQ first, whatever order they came in,
 * and so after a restart (the priority is part of the stored copy).
 * The states are down, so the copies wait; each delivery is a DQ.
 */
static void
test_dq_before_dqg(void)
{
	static const struct {
		const char	*mke, *dests, *ctl;
	} sent[] = {
		{ "DQG", "H1", "ORDG1" },
		{ "DQ", "CA", "ORDQ1" },
		{ "DQG", "WR", "ORDG2" },
		{ "DQ", "CAOLN0000", "ORDQ2" },
	};
	static const char *const want[] = {
		"ORDQ1", "ORDQ2", "ORDG1", "ORDG2"
	};
	struct it_client	*a, *ca;
	struct dmv_record	 r;
	uint64_t		 tag;
	size_t			 i;

	CU_ASSERT_EQUAL_FATAL(dmv_record("CA", 3, &r), 0);
	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	for (i = 0; i < sizeof sent / sizeof sent[0]; i++) {
		tag = it_client_send(a, it_msg(sent[i].mke, "WA0340000",
		    sent[i].dests, sent[i].ctl, person(&r)));
		/* ACKed: committed, and its copies wait on their lines. */
		CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	}
	it_client_free(a);

	/* The order is kept in the store. */
	it_switch_stop(env, SIGTERM);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);

	ca = it_client_new(env, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca != NULL && ca->up);
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(ca, 4, WAIT), 0);
	for (i = 0; i < 4; i++) {
		const char *xml = ca->dlv[i].xml;

		if (strcmp(it_field(xml, "DocumentControlFieldText"),
		    want[i]) != 0)
			fprintf(stderr, "\n  delivery %zu: %s, want %s", i,
			    it_field(xml, "DocumentControlFieldText"), want[i]);
		CU_ASSERT_STRING_EQUAL(it_field(xml,
		    "DocumentControlFieldText"), want[i]);
		/* Every one a DQ, to the state's own ORI. */
		CU_ASSERT_STRING_EQUAL(it_field(xml, "MessageKeyCodeText"),
		    "DQ");
		CU_ASSERT_STRING_EQUAL(it_field(xml, "DestinationORIID"),
		    "CAOLN0000");
		CU_ASSERT_STRING_EQUAL(it_field(xml, "PersonSurName"),
		    r.surname);
	}
	it_client_free(ca);
}

int
main(void)
{
	CU_pSuite s;

	/* A registry that cannot be built fails the run (exit 1). */
	if (CU_initialize_registry() != CUE_SUCCESS ||
	    (s = CU_add_suite("it_region", suite_init, suite_clean)) == NULL ||
	    CU_ADD_TEST(s, test_dqg_to_region) == NULL ||
	    CU_ADD_TEST(s, test_dqg_refused) == NULL ||
	    CU_ADD_TEST(s, test_dq_before_dqg) == NULL)
		return 1;
	return it_run_suites();
}
