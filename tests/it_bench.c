/*
 * it_bench - the load tools do the job they claim, against a real
 * nlswitchd on 127.0.0.1 (no figure is asserted: speed is measured by
 * make bench, not by tests):
 *
 *  - nlbench -T: DQs with IMQ/Y answered by the receivers as states with
 *    DRs carrying a photo; every DR comes back to its sender, none is
 *    unmatched, nothing is refused;
 *  - nlbench -T -E: the same with the states played by real nlstate
 *    processes that nlbench starts: the DRs carry photos of records on
 *    file, the nlstates answered them all and were stopped and reaped;
 *  - nlbench -f FILE: a message of one's own, its control field the
 *    sequence, delivered and matched;
 *  - nlbench --series and --hist: the plot data of make bench's plots.
 *  - nlbench -R: at most the rate asked, and the pacing passes' intervals
 *    reported (pace_us), only when paced;
 *  - nlstorebench: the store's ceiling on a fresh directory.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "util.h"

static struct it_env	*env;

/* What follows a key of a one-line JSON document, NULL if absent; the
 * number it is ("acked"), -1 if absent. */
static const char *
field(const char *json, const char *key)
{
	char		 k[64];
	const char	*p;

	snprintf(k, sizeof k, "\"%s\":", key);
	if (json == NULL || (p = strstr(json, k)) == NULL)
		return NULL;
	return p + strlen(k);
}

static double
num(const char *json, const char *key)
{
	const char *p = field(json, key);

	return p != NULL ? atof(p) : -1;
}

/* A switch with nlbench's lines (2 senders, 2 receivers). */
static int
suite_init(void)
{
	char	 cmd[1400], *lines = NULL;
	FILE	*f;

	if ((env = it_env_new("bench", "")) == NULL)
		return -1;
	snprintf(cmd, sizeof cmd, "tools/nlpki %s $(bin/nlbench -N -c 2 -r 2) "
	    ">/dev/null && bin/nlbench -L -c 2 -r 2", env->pki);
	if (it_sh(env, cmd, NULL, &lines) != 0 || (f = fopen(env->conf,
	    "w")) == NULL) {
		free(lines);
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\"?>\n<nlswitch version=\"1\">\n"
	    "  <listen address=\"127.0.0.1\" port=\"0\"/>\n"
	    "  <portfile>port</portfile>\n  <datadir>data</datadir>\n"
	    "  <pki ca=\"pki/ca.pem\" cert=\"pki/switch.pem\" "
	    "key=\"pki/switch.key\"/>\n  <limits resend-window=\"0\"/>\n"
	    "  <admin socket=\"control.sock\" address=\"127.0.0.1\" "
	    "port=\"0\" portfile=\"admin.port\"/>\n%s</nlswitch>\n", lines);
	fclose(f);
	free(lines);
	return it_switch_start(env) == 0 ? 0 : -1;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

/* Run bin/nlbench with args for a second; its JSON (caller frees). */
static char *
bench(const char *args)
{
	char	cmd[1400], path[400], *json;

	snprintf(path, sizeof path, "%s/b.json", env->dir);
	snprintf(cmd, sizeof cmd, "timeout 120 bin/nlbench -q -k %s -P %s "
	    "-c 2 -r 2 -d 1 -W 0.2 -j %s %s", env->pki, env->portfile, path,
	    args);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, NULL), 0);
	json = util_read_file(path, NULL);
	remove(path);
	return json;
}

static void
test_roundtrip(void)
{
	char *j = bench("-T -w 4");

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"mode\":\"roundtrip\""));
	CU_ASSERT(num(j, "acked") > 0);
	CU_ASSERT(num(j, "delivered") > 0);	/* DRs back at the senders */
	CU_ASSERT_EQUAL(num(j, "naks"), 0);
	CU_ASSERT_EQUAL(num(j, "unmatched"), 0);
	CU_ASSERT_EQUAL(num(j, "sm"), 0);
	CU_ASSERT(num(j, "dr_bytes") > 10000);	/* the photo is in it */
	free(j);
}

/*
 * -E: every DR back is an nlstate's, with a photo (the DQs name records
 * on file); the nlstates answered at least what came back, drew their
 * pool (-D: 128 portraits each) and are gone when nlbench exits.
 */
static void
test_roundtrip_nlstate(void)
{
	char	 cmd[800], *j = bench("-T -E -w 4"), *ps = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT_PTR_NOT_NULL(strstr(j, "\"states\":\"nlstate\""));
	CU_ASSERT(num(j, "acked") > 0);
	CU_ASSERT(num(j, "delivered") > 0);	/* pairs counted */
	CU_ASSERT_EQUAL(num(j, "photos"), num(j, "delivered"));
	CU_ASSERT_EQUAL(num(j, "naks"), 0);
	CU_ASSERT_EQUAL(num(j, "unmatched"), 0);
	CU_ASSERT_EQUAL(num(j, "sm"), 0);
	CU_ASSERT_EQUAL(num(j, "state_procs"), 2);
	CU_ASSERT_EQUAL(num(j, "state_stopped"), 2);
	CU_ASSERT_EQUAL(num(j, "state_killed"), 0);
	CU_ASSERT_EQUAL(num(j, "state_drawn"), 2 * 128);
	CU_ASSERT(num(j, "state_answered") >= num(j, "delivered"));
	CU_ASSERT(num(j, "state_cpu_pct") > 0);
	/* No nlstate of this run is left: none has this run's PKI (the
	 * bracket keeps the shell's own command line from matching). */
	snprintf(cmd, sizeof cmd, "pgrep -a -f '[n]lstate -q -D .*-k %s ' "
	    "|| true", env->pki);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, &ps), 0);
	CU_ASSERT(ps == NULL || ps[0] == '\0');
	free(ps);
	free(j);
}

static void
test_file(void)
{
	char	 path[400], args[1200], *j;
	FILE	*f;

	snprintf(path, sizeof path, "%s/am.xml", env->dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));
	fputs(it_msg("AM", "BN0000001", "ZA", "X", "<n2:MailMessageText>A "
	    "MESSAGE FROM A FILE</n2:MailMessageText>"), f);
	fclose(f);
	/* One sender: the file names its originating ORI, BN0000001. */
	snprintf(args, sizeof args, "-c 1 -f %s", path);
	j = bench(args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(num(j, "acked") > 0);
	CU_ASSERT(num(j, "delivered") > 0);
	CU_ASSERT_EQUAL(num(j, "naks"), 0);
	CU_ASSERT_EQUAL(num(j, "unmatched"), 0);
	free(j);
	/* A file without a control field cannot carry the sequence. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));
	fputs("<n2:NLETS/>\n", f);
	fclose(f);
	snprintf(args, sizeof args, "timeout 60 bin/nlbench -q -k %s -P %s "
	    "-c 1 -r 2 -d 1 -f %s", env->pki, env->portfile, path);
	j = NULL;
	CU_ASSERT_NOT_EQUAL(it_sh(env, args, NULL, &j), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(j, "DocumentControlFieldText"));
	free(j);
}

/*
 * --series and --hist, the plot data of make bench: a line per 100 ms
 * (from the warm-up on: 1.2 s is about 12) with messages acked, and the
 * buckets of both histograms adding up to what was measured.
 */
static void
test_plotdata(void)
{
	char		 args[1200], path[400], *j, *s, *h, *p, kind[8];
	unsigned long	 v, c, nack = 0, ne2e = 0;
	int		 lines = 0, acked = 0;
	double		 t, a, d;

	snprintf(args, sizeof args, "--series %s/b.series --hist %s/b.hist",
	    env->dir, env->dir);
	j = bench(args);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	snprintf(path, sizeof path, "%s/b.series", env->dir);
	s = util_read_file(path, NULL);
	snprintf(path, sizeof path, "%s/b.hist", env->dir);
	h = util_read_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	for (p = s; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL) {
		if (*p == '#')
			continue;
		if (sscanf(p, "%lf %lf %lf", &t, &a, &d) == 3) {
			lines++;
			acked += a > 0;
		}
	}
	CU_ASSERT(lines >= 8 && lines <= 16);
	CU_ASSERT(acked >= lines / 2);
	for (p = h; p != NULL && *p != '\0'; p = strchr(p, '\n'),
	    p = p != NULL ? p + 1 : NULL) {
		if (sscanf(p, "%7s %lu %lu", kind, &v, &c) != 3)
			continue;
		if (strcmp(kind, "ack") == 0)
			nack += c;
		else if (strcmp(kind, "e2e") == 0)
			ne2e += c;
	}
	CU_ASSERT_EQUAL((double)nack, num(j, "acked"));
	CU_ASSERT(ne2e > 0 && (double)ne2e <= num(j, "delivered"));
	free(s);
	free(h);
	free(j);
}

/* The p50 of one of the JSON's histograms ("pace_us"), -1 if absent. */
static double
hist_p50(const char *json, const char *key)
{
	const char *p = field(json, key);

	return p != NULL && *p == '{' ? num(p, "p50") : -1;
}

/*
 * -R 200 per sender: no more acked in the measured second than the rate
 * allows (plus the 20 ms of credit and a window in flight at each end),
 * and the passes that paced them told; an unpaced run tells none.
 */
static void
test_paced(void)
{
	char	*j = bench("-R 200 -w 16");
	double	 most;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(num(j, "acked") > 0);
	CU_ASSERT_EQUAL(num(j, "naks"), 0);
	most = 2 * 200 * num(j, "duration_s") + 2 * (200 * 0.02 + 1) + 2 * 16;
	CU_ASSERT(num(j, "acked") <= most);
	CU_ASSERT(hist_p50(j, "pace_us") > 0);
	free(j);
	j = bench("-w 4");
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(num(j, "acked") > 0);
	CU_ASSERT_EQUAL(hist_p50(j, "pace_us"), -1);
	free(j);
}

static void
test_storebench(void)
{
	char	cmd[800], *j;

	snprintf(cmd, sizeof cmd, "timeout 120 bin/nlstorebench -q -d "
	    "%s/sb -s 1 -W 0.2 -w 16 -j %s/sb.json", env->dir, env->dir);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, NULL), 0);
	snprintf(cmd, sizeof cmd, "%s/sb.json", env->dir);
	j = util_read_file(cmd, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	CU_ASSERT(num(j, "msgs_per_s") > 0);
	CU_ASSERT(num(j, "commits_per_s") > 0);
	free(j);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS ||
	    (s = CU_add_suite("it_bench", suite_init, suite_clean)) == NULL ||
	    CU_ADD_TEST(s, test_roundtrip) == NULL ||
	    CU_ADD_TEST(s, test_roundtrip_nlstate) == NULL ||
	    CU_ADD_TEST(s, test_file) == NULL ||
	    CU_ADD_TEST(s, test_plotdata) == NULL ||
	    CU_ADD_TEST(s, test_paced) == NULL ||
	    CU_ADD_TEST(s, test_storebench) == NULL)
		return 1;
	return it_run_suites();
}
