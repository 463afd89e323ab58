/*
 * it_replay - record and replay (docs/capture.md), with real processes:
 *
 *  - the committed demo capture (fixtures/capture/, tools/record-demo)
 *    replayed by bin/nlreplay against this build: zero differences;
 *  - the same capture against a switch whose CA line has DQ removed from
 *    service: exactly the changed replies are reported (JSON), and the
 *    JUnit report validates against schemas/junit.xsd;
 *  - live traffic recorded by this build (rotation by size, photos
 *    redacted), replayed with timing against a state that adds latency
 *    (nlstate -d), then at a fixed --rate (the tool reports the achieved
 *    rate; printed here, not asserted);
 *  - a damaged capture is refused with the offset of the bad record.
 */
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "it_util.h"
#include "util.h"

#define WAIT	15000
#define NLIVE	60	/* messages in the live recording */

/* The config the fixture was recorded with, plus the harness's admin
 * listener (it_switch_start waits for its port) and extra, a string put
 * before </nlswitch>; with removed, CADMV has DQ removed from service. */
static int
write_fixture_conf(struct it_env *e, int removed, const char *extra)
{
	char	*src, *conf, *p, *path;
	struct ubuf b;
	const char *cadmv = "<accept>DQ KQ DNQ AM</accept></line>";
	int	 rc;

	path = xasprintf("%s/fixtures/capture/nlswitch.xml", e->root);
	src = util_read_file(path, NULL);
	free(path);
	if (src == NULL)
		return -1;
	ubuf_init(&b);
	p = strstr(src, "  <line code=\"WAAGY\"");
	if (p == NULL || strstr(src, cadmv) == NULL) {
		free(src);
		return -1;
	}
	ubuf_add(&b, src, (size_t)(p - src));
	ubuf_adds(&b, "  <admin socket=\"control.sock\" address=\"127.0.0.1\" "
	    "port=\"0\" portfile=\"admin.port\"/>\n");
	for (; *p != '\0'; p++) {
		if (removed && strncmp(p, cadmv, strlen(cadmv)) == 0) {
			ubuf_adds(&b, "<accept>DQ KQ DNQ AM</accept><service "
			    "mke=\"DQ\" state=\"removed\"/></line>");
			p += strlen(cadmv) - 1;
			continue;
		}
		if (extra != NULL && strncmp(p, "</nlswitch>", 11) == 0)
			ubuf_adds(&b, extra);
		ubuf_add(&b, p, 1);
	}
	conf = ubuf_take(&b, NULL);
	rc = util_write_file(e->conf, conf, strlen(conf));
	free(conf);
	free(src);
	path = xasprintf("cp '%s/fixtures/capture/oridir.xml' '%s/'", e->root,
	    e->dir);
	if (rc == 0 && system(path) != 0)
		rc = -1;
	free(path);
	return rc;
}

static char *
slurp(struct it_env *e, const char *name)
{
	char *path = xasprintf("%s/%s", e->dir, name), *d;

	d = util_read_file(path, NULL);
	free(path);
	return d != NULL ? d : xstrdup("");
}

static int
count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static int
junit_valid(struct it_env *e, const char *file)
{
	xmlSchemaParserCtxtPtr	pc;
	xmlSchemaPtr		xs;
	xmlSchemaValidCtxtPtr	vc;
	xmlDocPtr		doc;
	char			*path, *xsd;
	int			 rc = -1;

	xsd = xasprintf("%s/schemas/junit.xsd", e->root);
	if (access(xsd, R_OK) != 0) {
		free(xsd);
		return 0;	/* no schema in this tree: well-formed is all */
	}
	pc = xmlSchemaNewParserCtxt(xsd);
	free(xsd);
	xs = pc ? xmlSchemaParse(pc) : NULL;
	vc = xs ? xmlSchemaNewValidCtxt(xs) : NULL;
	path = xasprintf("%s/%s", e->dir, file);
	doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
	free(path);
	if (vc != NULL && doc != NULL)
		rc = xmlSchemaValidateDoc(vc, doc);
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (vc != NULL)
		xmlSchemaFreeValidCtxt(vc);
	if (xs != NULL)
		xmlSchemaFree(xs);
	if (pc != NULL)
		xmlSchemaFreeParserCtxt(pc);
	return rc;
}

/* A pipeline from the repository root; *out (may be NULL) its stdout. */
static int
run(struct it_env *e, const char *cmd, char **out)
{
	struct ubuf	 b;
	FILE		*p;
	char		 buf[4096], *full;
	size_t		 n;
	int		 st;

	full = xasprintf("cd '%s' && %s", e->root, cmd);
	ubuf_init(&b);
	if ((p = popen(full, "r")) == NULL) {
		free(full);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		ubuf_add(&b, buf, n);
	st = pclose(p);
	ubuf_add(&b, "", 1);
	if (out != NULL)
		*out = ubuf_take(&b, NULL);
	ubuf_free(&b);
	free(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* bin/nlreplay with args as the harness's PKI and port file. */
static int
replay(struct it_env *e, const char *args, char **out)
{
	char	*cmd;
	int	 rc;

	cmd = xasprintf("bin/nlreplay -k '%s' -P '%s' %s", e->pki, e->portfile,
	    args);
	rc = it_sh(e, cmd, NULL, out);
	free(cmd);
	return rc;
}

static void
test_fixture_zero_diff(void)
{
	struct it_env	*e = it_env_new("replay", "");
	char		*out = NULL, *json, *args;
	int		 rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(write_fixture_conf(e, 0, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	args = xasprintf("--max-sleep 0.5 --report json '%s/r.json' "
	    "--report junit '%s/r.xml' fixtures/capture/demo.nlcap", e->dir,
	    e->dir);
	rc = replay(e, args, &out);
	free(args);
	if (rc != 0)
		fprintf(stderr, "%s\n", out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "0 differing, 0 missing; 0 unexpected"));
	json = slurp(e, "r.json");
	/* 6 answers (4 WAAGY queries, 2 state responses) + 5 deliveries. */
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"expected\":11,\"matched\":11,"
	    "\"differing\":0,\"missing\":0,\"unexpected\":0"));
	CU_ASSERT_EQUAL(count(json, "\"status\":\"matched\""), 11);
	/* The DR with the photo matched (by length and hash). */
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"kind\":\"delivery\",\"line\":"
	    "\"WAAGY\",\"mke\":\"DR\",\"ctl\":\"DEMO1\""));
	CU_ASSERT_EQUAL(junit_valid(e, "r.xml"), 0);
	free(json);
	free(out);
	it_env_free(e);
}

static void
test_fixture_changed_policy(void)
{
	struct it_env	*e = it_env_new("replay", "");
	char		*out = NULL, *json, *junit, *args;
	int		 rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(write_fixture_conf(e, 1, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	args = xasprintf("--speed 4 --timeout 2 --report json '%s/r.json' "
	    "--report junit '%s/r.xml' fixtures/capture/demo.nlcap", e->dir,
	    e->dir);
	rc = replay(e, args, &out);
	free(args);
	CU_ASSERT_EQUAL(rc, 1);
	json = slurp(e, "r.json");
	/* Exactly what DQ removed from service at CA changes for DEMO1: the
	 * query is not delivered to CA, so CA's DR is never sent nor
	 * delivered, and the sender gets SM .04 instead. Nothing else. */
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "\"expected\":11,\"matched\":8,"
	    "\"differing\":0,\"missing\":3,\"unexpected\":1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "{\"status\":\"missing\",\"kind\":"
	    "\"delivery\",\"line\":\"CADMV\",\"mke\":\"DQ\",\"ctl\":\"DEMO1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "{\"status\":\"missing\",\"kind\":"
	    "\"answer\",\"line\":\"CADMV\",\"mke\":\"DR\",\"ctl\":\"DEMO1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "{\"status\":\"missing\",\"kind\":"
	    "\"delivery\",\"line\":\"WAAGY\",\"mke\":\"DR\",\"ctl\":\"DEMO1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(json, "{\"status\":\"unexpected\","
	    "\"kind\":\"delivery\",\"line\":\"WAAGY\",\"mke\":\"SM\","
	    "\"ctl\":\"DEMO1\",\"ori\":\"NL0000000\",\"recorded\":\"\","
	    "\"replayed\":\"SM .04.\""));
	CU_ASSERT_EQUAL(count(json, "\"ctl\":\"DEMO2\""), 5);
	CU_ASSERT_EQUAL(count(json, "\"status\":\"matched\""), 8);
	junit = slurp(e, "r.xml");
	CU_ASSERT_PTR_NOT_NULL(strstr(junit, "failures=\"4\""));
	CU_ASSERT_EQUAL(count(junit, "<failure "), 4);
	CU_ASSERT_EQUAL(junit_valid(e, "r.xml"), 0);
	/* The text summary names the changed replies too. */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "8 matched, 0 differing, 3 missing; "
	    "1 unexpected"));
	free(junit);
	free(json);
	free(out);
	it_env_free(e);
}

/* The live recording: NLIVE queries from WAAGY to CA (every third one
 * asks for the photo), answered by nlstate with 150 ms of latency. */
static void
test_live_latency_rate(void)
{
	struct it_env		*e = it_env_new("replay", "");
	struct it_client	*a;
	char			*out = NULL, *args, oln[16][32], ctl[16];
	char			*argv[] = { "bin/nlstate", "-s", "CA", "-k", NULL,
				    "-l", "cadmv", "-P", NULL, "-d", "150",
				    NULL };
	uint64_t		 tags[NLIVE];
	glob_t			 g;
	pid_t			 st;
	int			 i, rc, nfiles;
	size_t			 k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(write_fixture_conf(e, 0, "  <record path=\"cap/"
	    "live.nlcap\" max-bytes=\"65536\"/>\n"), 0);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	argv[4] = e->pki;
	argv[8] = e->portfile;
	st = it_spawn(e, "nlstate.log", argv);
	CU_ASSERT_FATAL(st > 0);
	for (i = 0; i < 16; i++) {
		char cmd[64];

		snprintf(cmd, sizeof cmd, "bin/nlstate -s CA -L %d", i + 1);
		CU_ASSERT_EQUAL_FATAL(it_sh(e, cmd, NULL, &out), 0);
		{
			char *p = strstr(out, "OLN=");

			CU_ASSERT_PTR_NOT_NULL_FATAL(p);
			p += 4;
			k = strcspn(p, " \n");
			memcpy(oln[i], p, k < sizeof oln[i] ? k : 0);
			oln[i][k < sizeof oln[i] ? k : 0] = '\0';
		}
		free(out);
	}
	a = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	a->autodack = 1;
	usleep(300000);		/* nlstate connected */
	for (i = 0; i < NLIVE; i++) {
		snprintf(ctl, sizeof ctl, "LIVE%d", i);
		tags[i] = it_client_send(a, it_dq("WA0340000", "CA", ctl,
		    oln[i % 16], i % 3 == 0));
		it_pump(e, 10);
	}
	for (i = 0; i < NLIVE; i++)
		CU_ASSERT_EQUAL(it_client_wait(a, tags[i], WAIT), 1);
	CU_ASSERT_EQUAL(it_client_wait_dlv(a, NLIVE, WAIT), 0);
	it_client_free(a);
	it_switch_stop(e, SIGTERM);

	/* Rotated by size: several files, oldest first, all redacted. */
	args = xasprintf("%s/cap/live.nlcap*", e->dir);
	CU_ASSERT_EQUAL_FATAL(glob(args, 0, NULL, &g), 0);
	free(args);
	nfiles = (int)g.gl_pathc;
	CU_ASSERT(nfiles >= 2);
	globfree(&g);
	args = xasprintf("bin/nlreplay --dump '%s'/cap/live.nlcap* | grep -c "
	    "'^[0-9].* DLV .*redacted'", e->dir);
	CU_ASSERT_EQUAL(run(e, args, &out), 0);
	free(args);
	CU_ASSERT_EQUAL(atoi(out), NLIVE / 3);	/* the DRs with a photo */
	free(out);

	/* A fresh store, the same config without recording; the state keeps
	 * its latency and reconnects by itself. */
	CU_ASSERT_EQUAL_FATAL(write_fixture_conf(e, 0, NULL), 0);
	args = xasprintf("rm -rf '%s/data'", e->dir);
	CU_ASSERT_EQUAL_FATAL(it_sh(e, args, NULL, NULL), 0);
	free(args);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	it_kill(e, st, SIGTERM);	/* it knows the old port */
	st = it_spawn(e, "nlstate.log", argv);
	CU_ASSERT_FATAL(st > 0);
	usleep(800000);

	/* Recorded timing (capped) with the live state answering: only the
	 * agency line is replayed. */
	args = xasprintf("--line WAAGY --max-sleep 0.05 --report json "
	    "'%s/t.json' '%s'/cap/live.nlcap*", e->dir, e->dir);
	rc = replay(e, args, &out);
	free(args);
	if (rc != 0)
		fprintf(stderr, "%s\n", out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "120 expected: 120 matched, 0 "
	    "differing, 0 missing; 0 unexpected"));
	free(out);

	/* A fixed rate: the tool says how close it came. */
	args = xasprintf("--line WAAGY --rate 40 '%s'/cap/live.nlcap*",
	    e->dir);
	rc = replay(e, args, &out);
	free(args);
	CU_ASSERT_EQUAL(rc, 0);
	{
		char *p = strstr(out, "rate: requested");

		CU_ASSERT_PTR_NOT_NULL(p);
		if (p != NULL)
			printf("\n    nlreplay %.*s ", (int)strcspn(p, "\n"), p);
	}
	free(out);
	it_kill(e, st, SIGTERM);
	it_env_free(e);
}

/*
 * A capture a reload started, as docs/capture.md says to take one: the
 * lines were connected before it, so it holds no UP record for them.
 * Replayed at --speed 1 it runs in about its recorded time (it used to
 * wait decades for its first message: the bound below only catches such
 * a hang), and without a terminal nlreplay prints progress lines.
 */
static void
test_reload_started_capture(void)
{
	struct it_env		*e = it_env_new("replay", "");
	struct it_client	*a;
	char			*out = NULL, *args, ctl[16], oln[32];
	char			*argv[] = { "bin/nlstate", "-s", "CA", "-k", NULL,
				    "-l", "cadmv", "-P", NULL, NULL };
	uint64_t		 tag;
	pid_t			 st;
	int			 i, rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(write_fixture_conf(e, 0, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	argv[4] = e->pki;
	argv[8] = e->portfile;
	st = it_spawn(e, "nlstate.log", argv);
	CU_ASSERT_FATAL(st > 0);
	CU_ASSERT_EQUAL_FATAL(it_log_wait(e, "nlstate.log", "connected",
	    WAIT), 0);
	a = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	a->autodack = 1;
	CU_ASSERT_EQUAL_FATAL(it_sh(e, "bin/nlstate -s CA -L 3", NULL, &out),
	    0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(strstr(out, "OLN="));
	snprintf(oln, sizeof oln, "%.*s", (int)strcspn(strstr(out, "OLN=") +
	    4, " \n"), strstr(out, "OLN=") + 4);
	free(out);

	/* Recording starts with a reload, both lines up. */
	CU_ASSERT_EQUAL_FATAL(write_fixture_conf(e, 0, "  <record path=\"cap/"
	    "reload.nlcap\"/>\n"), 0);
	CU_ASSERT_EQUAL_FATAL(it_sh(e, "bin/nlctl reload", NULL, NULL), 0);
	for (i = 0; i < 3; i++) {
		it_pump(e, 300);
		snprintf(ctl, sizeof ctl, "RLD%d", i);
		tag = it_client_send(a, it_dq("WA0340000", "CA", ctl, oln, 0));
		CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	}
	CU_ASSERT_EQUAL(it_client_wait_dlv(a, 3, WAIT), 0);
	it_client_free(a);
	it_switch_stop(e, SIGTERM);

	/* A fresh store without recording; the state reconnects. */
	CU_ASSERT_EQUAL_FATAL(write_fixture_conf(e, 0, NULL), 0);
	args = xasprintf("rm -rf '%s/data'", e->dir);
	CU_ASSERT_EQUAL_FATAL(it_sh(e, args, NULL, NULL), 0);
	free(args);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	it_kill(e, st, SIGTERM);
	st = it_spawn(e, "nlstate2.log", argv);
	CU_ASSERT_FATAL(st > 0);
	CU_ASSERT_EQUAL_FATAL(it_log_wait(e, "nlstate2.log", "connected",
	    WAIT), 0);

	args = xasprintf("timeout 120 bin/nlreplay -k '%s' -P '%s' --line "
	    "WAAGY --speed 1 '%s'/cap/reload.nlcap*", e->pki, e->portfile,
	    e->dir);
	rc = it_sh(e, args, NULL, &out);
	free(args);
	if (rc != 0)
		fprintf(stderr, "%s\n", out);
	CU_ASSERT_NOT_EQUAL(rc, 124);		/* timeout(1): it hung */
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "6 expected: 6 matched"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "progress: 3/3 sent"));
	free(out);
	it_kill(e, st, SIGTERM);
	it_env_free(e);
}

static void
test_damaged_capture(void)
{
	struct it_env	*e = it_env_new("replay", "");
	char		*out = NULL, *cmd;
	int		 rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	/* Flip one byte inside the third record's message. */
	cmd = xasprintf("cp fixtures/capture/demo.nlcap '%s/bad.nlcap' && "
	    "printf 'X' | dd of='%s/bad.nlcap' bs=1 seek=300 conv=notrunc "
	    "2>/dev/null", e->dir, e->dir);
	CU_ASSERT_EQUAL_FATAL(run(e, cmd, NULL), 0);
	free(cmd);
	cmd = xasprintf("bin/nlreplay --dump '%s/bad.nlcap'", e->dir);
	rc = it_sh(e, cmd, NULL, &out);
	free(cmd);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "checksum mismatch"));
	free(out);
	rc = it_sh(e, "bin/nlreplay --dump README.md", NULL, &out);
	CU_ASSERT_EQUAL(rc, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "not an nlswitch capture"));
	free(out);
	/* An --ignore XPath uses the catalogue's prefixes; another prefix
	 * is a usage error, before anything is sent. */
	rc = it_sh(e, "bin/nlreplay -p 1 --ignore '//x:DriverLicense' "
	    "fixtures/capture/demo.nlcap", NULL, &out);
	CU_ASSERT_EQUAL(rc, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "--ignore //x:DriverLicense: not "
	    "an XPath over the prefixes n2 nh2 n2c n2-aa nc j j40 psp"));
	free(out);
	it_env_free(e);
}

int
main(void)
{
	CU_pSuite	su;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	su = CU_add_suite("replay", NULL, NULL);
	if (su == NULL || CU_ADD_TEST(su, test_fixture_zero_diff) == NULL ||
	    CU_ADD_TEST(su, test_fixture_changed_policy) == NULL ||
	    CU_ADD_TEST(su, test_live_latency_rate) == NULL ||
	    CU_ADD_TEST(su, test_reload_started_capture) == NULL ||
	    CU_ADD_TEST(su, test_damaged_capture) == NULL)
		return 1;
	return it_run_suites();
}
