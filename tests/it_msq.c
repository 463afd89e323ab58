/*
 * it_msq - multi-state queries against the running switch (issue 13,
 * item 1), with real processes on 127.0.0.1: nlswitchd and TLS test
 * clients playing an agency and the states, so that each state answers
 * exactly when and how the test says.
 *
 * A DQ to NL over five states - two hits, one NOT ON FILE, one down, one
 * that never answers - gets one merged DR after the response timer,
 * with the right summary; the answers that come after it are delivered
 * one by one, marked late. The merge state survives a kill -9: a hit
 * parked before it is in the merged answer after it. A merged answer
 * stays within max-frame (the hits it has no room for follow, marked
 * continued), and one to a photo request carries the state's photo.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "util.h"

#define WAIT	15000	/* ms: a generous bound for one exchange */

/* Five states, each on its own line, and an agency. */
static const char msq_conf[] =
    "<?xml version=\"1.0\"?>\n"
    "<nlswitch version=\"1\">\n"
    "  <listen address=\"127.0.0.1\" port=\"0\"/>\n"
    "  <portfile>port</portfile>\n"
    "  <datadir>data</datadir>\n"
    "  <pki ca=\"pki/ca.pem\" cert=\"pki/switch.pem\" key=\"pki/switch.key\"/>\n"
    "  <limits %s/>\n"
    "  <admin socket=\"control.sock\" address=\"127.0.0.1\" port=\"0\""
    " portfile=\"admin.port\"/>\n"
    "  <line code=\"WAAGY\" cn=\"waagy\">\n"
    "    <ori>WA0340000</ori><accept>DR KR DNR AM</accept>\n"
    "  </line>\n"
    "  <line code=\"CADMV\" cn=\"cadmv\" member=\"CA\">\n"
    "    <ori>CAOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "  </line>\n"
    "  <line code=\"NVDMV\" cn=\"nvdmv\" member=\"NV\">\n"
    "    <ori>NVOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "  </line>\n"
    "  <line code=\"AZDMV\" cn=\"azdmv\" member=\"AZ\">\n"
    "    <ori>AZOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "  </line>\n"
    "  <line code=\"TXDMV\" cn=\"txdmv\" member=\"TX\">\n"
    "    <ori>TXOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "  </line>\n"
    "  <line code=\"IDDMV\" cn=\"iddmv\" member=\"ID\">\n"
    "    <ori>IDOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
    "    <service mke=\"KQ\" state=\"removed\"/>\n"
    "  </line>\n"
    "</nlswitch>\n";

/* A run directory with the five-state config and its certificates. */
static struct it_env *
msq_env(const char *name, const char *limits)
{
	struct it_env	*e = it_env_new(name, "");
	char		 cmd[1200];
	FILE		*f;

	if (e == NULL)
		return NULL;
	snprintf(cmd, sizeof cmd, "%s/tools/nlpki %s azdmv txdmv iddmv "
	    ">/dev/null", e->root, e->pki);
	if (system(cmd) != 0 || (f = fopen(e->conf, "w")) == NULL) {
		it_env_free(e);
		return NULL;
	}
	fprintf(f, msq_conf, limits);
	fclose(f);
	if (it_switch_start(e) == -1) {
		it_env_free(e);
		return NULL;
	}
	return e;
}

/* The DQ a state's client received with ctl; NULL after WAIT. */
static struct it_dlv *
got_query(struct it_client *st, const char *ctl)
{
	return it_find(st, "DQ", ctl, WAIT);
}

/* A state answers the agency: a hit (text) or NOT ON FILE (NULL). */
static void
answer(struct it_client *st, const char *ori, const char *ctl,
    const char *hit)
{
	CU_ASSERT_EQUAL(it_answer(st, ori, ctl, hit, WAIT), 1);
}

/* The n-th DR (0-based) with ctl the agency received; NULL after WAIT. */
static const char *
nth_dr(struct it_env *e, struct it_client *a, const char *ctl, size_t n)
{
	uint64_t	 end = util_mono_us() + (uint64_t)WAIT * 1000;
	size_t		 i, k;

	while (it_count(a, "DR", ctl) <= n && util_mono_us() < end)
		it_pump(e, 20);
	for (i = 0, k = 0; i < a->ndlv; i++) {
		if (strcmp(it_field(a->dlv[i].xml, "MessageKeyCodeText"),
		    "DR") != 0 || strcmp(it_field(a->dlv[i].xml,
		    "DocumentControlFieldText"), ctl) != 0)
			continue;
		if (k++ == n)
			return a->dlv[i].xml;
	}
	return NULL;
}

/* Does xml contain s? (A NULL xml contains nothing.) */
static int
has(const char *xml, const char *s)
{
	return xml != NULL && strstr(xml, s) != NULL;
}

/*
 * The case: CA and NV hit, AZ is not on file, TX is down (its
 * line not connected: held, the query waits for it), ID is connected and
 * never answers. One merged DR after the 3 s timer: from the switch,
 * CA's and NV's answers whole, AZ only in the summary, TX out of service
 * (will forward), ID no response. Then ID answers, and TX comes back and
 * answers: each is delivered on its own, marked late. No SM at all.
 */
static void
test_msq_five_states(void)
{
	struct it_env		*e = msq_env("msq", "msq-timeout=\"3\"");
	struct it_client	*a, *ca, *nv, *az, *id, *tx;
	const char		*dr;
	char			*out = NULL, cmd[600];
	uint64_t		 tag;
	size_t			 i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	a = it_client_new(e, "waagy", WAIT);
	ca = it_client_new(e, "cadmv", WAIT);
	nv = it_client_new(e, "nvdmv", WAIT);
	az = it_client_new(e, "azdmv", WAIT);
	id = it_client_new(e, "iddmv", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up && ca != NULL && ca->up &&
	    nv != NULL && nv->up && az != NULL && az->up && id != NULL &&
	    id->up);

	tag = it_client_send(a, it_dq("WA0340000", "NL", "MSQ1", "D1234567",
	    0));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(got_query(ca, "MSQ1"));
	CU_ASSERT_PTR_NOT_NULL(got_query(nv, "MSQ1"));
	CU_ASSERT_PTR_NOT_NULL(got_query(az, "MSQ1"));
	CU_ASSERT_PTR_NOT_NULL(got_query(id, "MSQ1"));
	answer(ca, "CAOLN0000", "MSQ1", "CA SAMPLE RECORD ONE");
	answer(nv, "NVOLN0000", "MSQ1", "NV SAMPLE RECORD TWO");
	answer(az, "AZOLN0000", "MSQ1", NULL);

	dr = nth_dr(e, a, "MSQ1", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dr);
	CU_ASSERT_STRING_EQUAL(it_field(dr, "OriginatingORIID"), "NL0000000");
	CU_ASSERT(has(dr, "MULTI-STATE RESPONSE TO DQ FROM WA0340000 CTL "
	    "MSQ1 TO NL"));
	CU_ASSERT(has(dr, "QUERIED 5: CA NV AZ TX ID"));
	CU_ASSERT(has(dr, "HIT 2: CA NV"));
	CU_ASSERT(has(dr, "NOT ON FILE 1: AZ"));
	CU_ASSERT(has(dr, "OUT OF SERVICE, WILL FORWARD 1: TX"));
	CU_ASSERT(has(dr, "NO RESPONSE 1: ID"));
	CU_ASSERT(has(dr, "CA SAMPLE RECORD ONE"));
	CU_ASSERT(has(dr, "NV SAMPLE RECORD TWO"));
	CU_ASSERT(has(dr, "<nh2:OriginatingORIID>CAOLN0000"));
	CU_ASSERT_FALSE(has(dr, "AZOLN0000"));
	/* One answer only, and no SM for TX or anyone. */
	it_pump(e, 200);
	CU_ASSERT_EQUAL(it_count(a, "DR", "MSQ1"), 1);
	for (i = 0; i < a->ndlv; i++)
		CU_ASSERT_STRING_NOT_EQUAL(it_field(a->dlv[i].xml,
		    "MessageKeyCodeText"), "SM");

	/* Late: ID now, then TX once its line is back. */
	answer(id, "IDOLN0000", "MSQ1", "ID SAMPLE RECORD LATE");
	dr = nth_dr(e, a, "MSQ1", 1);
	CU_ASSERT(has(dr, "LATE RESPONSE TO MULTI-STATE DQ FROM WA0340000 "
	    "CTL MSQ1 TO NL\nFROM ID, "));
	CU_ASSERT(has(dr, "ID SAMPLE RECORD LATE"));
	tx = it_client_new(e, "txdmv", WAIT);
	CU_ASSERT_FATAL(tx != NULL && tx->up);
	CU_ASSERT_PTR_NOT_NULL(got_query(tx, "MSQ1"));
	answer(tx, "TXOLN0000", "MSQ1", NULL);
	dr = nth_dr(e, a, "MSQ1", 2);
	CU_ASSERT(has(dr, "FROM TX, "));
	CU_ASSERT(has(dr, "NOT ON FILE"));

	/* Audited; the metrics count it; nothing is left in flight. */
	CU_ASSERT(it_wait_metric(e, "nlswitch_msq_answers_total{kind=\"late\"}",
	    2, WAIT) == 2);
	CU_ASSERT_EQUAL(it_metric(e,
	    "nlswitch_msq_answers_total{kind=\"summary\"}"), 1);
	CU_ASSERT_EQUAL(it_metric(e, "nlswitch_msq_open"), 0);
	snprintf(cmd, sizeof cmd, "bin/nlaudit -d %s/data --event msq-summary",
	    e->dir);
	CU_ASSERT_EQUAL(it_sh(e, cmd, NULL, &out), 0);
	CU_ASSERT(has(out, "\"queried\":5") && has(out, "\"hit\":2") &&
	    has(out, "\"not_on_file\":1") && has(out, "\"held\":1") &&
	    has(out, "\"no_response\":1"));
	free(out);
	it_client_free(tx);
	it_client_free(id);
	it_client_free(az);
	it_client_free(nv);
	it_client_free(ca);
	it_client_free(a);
	it_env_free(e);
}

/*
 * kill -9 with a hit parked and two members still to answer: after the
 * restart the merge goes on from the store, and the merged answer (sent
 * when the last member answers, long before the default 60 s timer)
 * holds the hit from before the crash.
 */
static void
test_msq_restart(void)
{
	struct it_env		*e = msq_env("msqkill", "");
	struct it_client	*a, *ca, *st;
	const char		*dr;
	static const char *const late[][2] = {
		{ "nvdmv", "NVOLN0000" }, { "azdmv", "AZOLN0000" },
		{ "txdmv", "TXOLN0000" }, { "iddmv", "IDOLN0000" },
	};
	char			*out = NULL;
	uint64_t		 tag;
	size_t			 i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	a = it_client_new(e, "waagy", WAIT);
	ca = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up && ca != NULL && ca->up);
	tag = it_client_send(a, it_dq("WA0340000", "NL", "MSQ2", "D7654321",
	    0));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(got_query(ca, "MSQ2"));
	answer(ca, "CAOLN0000", "MSQ2", "CA RECORD BEFORE THE CRASH");
	it_client_free(ca);
	it_client_free(a);

	it_switch_stop(e, SIGKILL);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	/* What the operator sees waiting, read back from the store. */
	CU_ASSERT_EQUAL(it_sh(e, "bin/nlctl --json pending", NULL, &out), 0);
	CU_ASSERT(has(out, "\"ctl\":\"MSQ2\"") && has(out,
	    "\"summary\":\"waiting\"") && has(out, "\"CA\":\"hit\"") &&
	    has(out, "\"NV\":\"held\""));
	free(out);
	a = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	for (i = 0; i < sizeof late / sizeof late[0]; i++) {
		st = it_client_new(e, late[i][0], WAIT);
		CU_ASSERT_FATAL(st != NULL && st->up);
		CU_ASSERT_PTR_NOT_NULL(got_query(st, "MSQ2"));
		answer(st, late[i][1], "MSQ2", NULL);
		it_client_free(st);
	}
	dr = nth_dr(e, a, "MSQ2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dr);
	CU_ASSERT(has(dr, "HIT 1: CA"));
	CU_ASSERT(has(dr, "NOT ON FILE 4: NV AZ TX ID"));
	CU_ASSERT(has(dr, "CA RECORD BEFORE THE CRASH"));
	CU_ASSERT_FALSE(has(dr, "NO RESPONSE"));
	it_pump(e, 200);
	CU_ASSERT_EQUAL(it_count(a, "DR", "MSQ2"), 1);
	it_client_free(a);
	it_env_free(e);
}

/*
 * A merged answer stays within max-frame: with a 3000-byte frame the
 * summary takes CA's hit, and NV's (600 more characters) follows on its
 * own, marked continued; both are listed as hits in the summary.
 */
static void
test_msq_max_frame(void)
{
	struct it_env		*e = msq_env("msqframe", "max-frame=\"3000\"");
	struct it_client	*a, *st[5];
	static const char *const names[][2] = {
		{ "cadmv", "CAOLN0000" }, { "nvdmv", "NVOLN0000" },
		{ "azdmv", "AZOLN0000" }, { "txdmv", "TXOLN0000" },
		{ "iddmv", "IDOLN0000" },
	};
	const char		*dr;
	char			 hit[700];
	uint64_t		 tag;
	size_t			 i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	a = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	for (i = 0; i < 5; i++) {
		st[i] = it_client_new(e, names[i][0], WAIT);
		CU_ASSERT_FATAL(st[i] != NULL && st[i]->up);
	}
	tag = it_client_send(a, it_dq("WA0340000", "NL", "MSQ3", "D1112223",
	    0));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	for (i = 0; i < 5; i++) {
		CU_ASSERT_PTR_NOT_NULL(got_query(st[i], "MSQ3"));
		memset(hit, 'A' + (int)i, 600);
		snprintf(hit + 600, sizeof hit - 600, " %s HIT", names[i][1]);
		answer(st[i], names[i][1], "MSQ3", i < 2 ? hit : NULL);
	}
	dr = nth_dr(e, a, "MSQ3", 0);
	CU_ASSERT(has(dr, "HIT 2: CA NV"));
	CU_ASSERT(has(dr, "CAOLN0000 HIT"));
	CU_ASSERT_FALSE(has(dr, "NVOLN0000 HIT"));
	CU_ASSERT(dr != NULL && strlen(dr) <= 3000);
	dr = nth_dr(e, a, "MSQ3", 1);
	CU_ASSERT(has(dr, "MULTI-STATE RESPONSE TO DQ FROM WA0340000 CTL MSQ3 "
	    "TO NL, CONTINUED\nFROM NV"));
	CU_ASSERT(has(dr, "NVOLN0000 HIT"));
	it_pump(e, 200);
	CU_ASSERT_EQUAL(it_count(a, "DR", "MSQ3"), 2);
	for (i = 0; i < 5; i++)
		it_client_free(st[i]);
	it_client_free(a);
	it_env_free(e);
}

/*
 * A photo request to NL, answered by real nlstate processes: the merged
 * answer carries CA's record with its photo (and the do-not-retain mark
 * the photo policy adds) inside CA's n2:StateResponse; NV is not on file.
 */
static void
test_msq_photo(void)
{
	struct it_env		*e = it_env_new("msqphoto", "");
	struct it_client	*a;
	char			*out = NULL;
	char			*argv[] = { "bin/nlstate", "-s", NULL, "-k", NULL,
				    "-l", NULL, "-P", NULL, "-n", "100", NULL };
	const char		*dr, *ca;
	char			 oln[32];
	uint64_t		 tag;
	pid_t			 pca, pnv;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	argv[4] = e->pki;
	argv[8] = e->portfile;
	argv[2] = "CA";
	argv[6] = "cadmv";
	pca = it_spawn(e, "nlstate-ca.log", argv);
	argv[2] = "NV";
	argv[6] = "nvdmv";
	pnv = it_spawn(e, "nlstate-nv.log", argv);
	CU_ASSERT_FATAL(pca > 0 && pnv > 0);
	CU_ASSERT_EQUAL_FATAL(it_log_wait(e, "nlstate-ca.log", "connected",
	    WAIT), 0);
	CU_ASSERT_EQUAL_FATAL(it_log_wait(e, "nlstate-nv.log", "connected",
	    WAIT), 0);
	CU_ASSERT_EQUAL_FATAL(it_sh(e, "bin/nlstate -s CA -L 5", NULL, &out),
	    0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(out, "OLN="));
	snprintf(oln, sizeof oln, "%.*s", (int)strcspn(strstr(out, "OLN=") +
	    4, " \n"), strstr(out, "OLN=") + 4);
	free(out);

	a = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	tag = it_client_send(a, it_dq("WA0340000", "NL", "MSQP1", oln, 1));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	dr = nth_dr(e, a, "MSQP1", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dr);
	CU_ASSERT(has(dr, "HIT 1: CA"));
	CU_ASSERT(has(dr, "NOT ON FILE 1: NV"));
	ca = dr != NULL ? strstr(dr, "<n2:StateResponse>") : NULL;
	CU_ASSERT(has(ca, "CAOLN0000"));
	CU_ASSERT(has(ca, "PersonDigitalImage"));
	CU_ASSERT(has(ca, "BinaryBase64Object"));
	it_client_free(a);
	it_kill(e, pca, SIGTERM);
	it_kill(e, pnv, SIGTERM);
	it_env_free(e);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS ||
	    (s = CU_add_suite("it_msq", NULL, NULL)) == NULL ||
	    CU_ADD_TEST(s, test_msq_five_states) == NULL ||
	    CU_ADD_TEST(s, test_msq_restart) == NULL ||
	    CU_ADD_TEST(s, test_msq_max_frame) == NULL ||
	    CU_ADD_TEST(s, test_msq_photo) == NULL)
		return 1;
	return it_run_suites();
}
