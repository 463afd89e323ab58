/*
 * it_sim - the simulators behave (issue 13, item 9), with real processes
 * on 127.0.0.1: nlswitchd, bin/nlstate and bin/nlagency.
 *
 *  - a state that disconnects after every answer (nlstate -f
 *    disconnect=1) answers each query once, the switch's redelivery of an
 *    answered query is DACKed without a second answer, and the agency
 *    gets exactly one DR per DQ;
 *  - the photo in a DR is the avatar of the record's sex and age bracket;
 *  - nlagency matches and counts replies on a legacy-text line, and
 *    waits for one reply per state of a DQ to several states, a region or
 *    NL (SMs settling the states that will not answer);
 *  - nlagency -n N sends N valid copies with distinct control fields and
 *    the fields of synthetic record k, and every copy is answered;
 *  - given two switches' addresses, nlagency and nlstate move to the
 *    second when the first is killed, and the DQ sent to the first
 *    without an ACK is sent again and answered (test_failover), and so
 *    is a state's answer sent to the first without an ACK
 *    (test_failover_answer).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "avatar.h"
#include "dmv.h"
#include "it_util.h"
#include "util.h"
#include "xscan.h"

#define WAIT	15000	/* ms: bound for one exchange */
#define NFAULT	4	/* queries through the disconnecting state */

static struct it_env	*env;

/* The harness's config and PKI, plus TXLEG: a line speaking legacy text
 * for TX0000000 (what it receives is text). */
static int
suite_init(void)
{
	char	*conf, *p, *cmd;
	struct ubuf b;
	int	 rc;

	env = it_env_new("sim", "heartbeat=\"2\" ack-timeout=\"5\" "
	    "retry-min=\"1\" retry-max=\"2\"");
	if (env == NULL)
		return -1;
	cmd = xasprintf("%s/tools/nlpki %s txleg >/dev/null", env->root,
	    env->pki);
	rc = system(cmd);
	free(cmd);
	if (rc != 0 || (conf = util_read_file(env->conf, NULL)) == NULL)
		return -1;
	if ((p = strstr(conf, "  <region")) == NULL) {
		free(conf);
		return -1;
	}
	ubuf_init(&b);
	ubuf_add(&b, conf, (size_t)(p - conf));
	ubuf_printf(&b, "  <line code=\"TXLEG\" cn=\"txleg\" format=\"legacy\">"
	    "<ori>TX0000000</ori><accept>DR KR DNR AM</accept></line>\n%s", p);
	rc = util_write_file(env->conf, b.data, b.len);
	ubuf_free(&b);
	free(conf);
	if (rc == -1 || it_switch_start(env) == -1)
		return -1;
	return 0;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

/* A bin/nlstate process and its log (one per start: tests count lines). */
struct sim_state {
	pid_t	pid;
	char	log[64];
};

/* Start bin/nlstate for state code (line cn) with extra arguments (may
 * be NULL) and wait until it is connected. @return 0 or -1. */
static int
state_start(struct sim_state *st, const char *code, const char *cn,
    const char *extra)
{
	static int	 nstarts;
	char		*argv[16], *dup = NULL, *w, *p;
	int		 n = 0;

	argv[n++] = "bin/nlstate";
	argv[n++] = "-s";
	argv[n++] = (char *)code;
	argv[n++] = "-k";
	argv[n++] = env->pki;
	argv[n++] = "-l";
	argv[n++] = (char *)cn;
	argv[n++] = "-P";
	argv[n++] = env->portfile;
	argv[n++] = "-n";
	argv[n++] = "1000";
	if (extra != NULL) {
		dup = xstrdup(extra);
		for (p = dup; n < 15 && (w = strsep(&p, " ")) != NULL;)
			if (*w != '\0')
				argv[n++] = w;
	}
	argv[n] = NULL;
	snprintf(st->log, sizeof st->log, "nlstate-%s-%d.log", code,
	    ++nstarts);
	st->pid = it_spawn(env, st->log, argv);
	free(dup);
	if (st->pid > 0 && it_log_wait(env, st->log, "connected", WAIT) == 0)
		return 0;
	it_kill(env, st->pid, SIGTERM);
	st->pid = 0;
	return -1;
}

/* The log of a state so far; the caller frees it. */
static char *
state_log(const struct sim_state *st)
{
	char	*path, *log;

	path = xasprintf("%s/%s", env->dir, st->log);
	log = util_read_file(path, NULL);
	free(path);
	return log != NULL ? log : xstrdup("");
}

/* Stop a state by pid (SIGTERM: it prints its counters); its log. */
static char *
state_stop(struct sim_state *st)
{
	it_kill(env, st->pid, SIGTERM);
	st->pid = 0;
	return state_log(st);
}

/* How many times needle occurs in hay. */
static int
occurs(const char *hay, const char *needle)
{
	int n = 0;

	for (; (hay = strstr(hay, needle)) != NULL; hay++)
		n++;
	return n;
}

/* A number after key in the state's "stopping," line, -1 if none. */
static long
state_counter(const char *log, const char *key)
{
	const char	*p = strstr(log, "stopping, ");

	if (p == NULL || (p = strstr(p, key)) == NULL)
		return -1;
	return strtol(p + strlen(key), NULL, 10);
}

static const char *
oln(const char *state, uint32_t index)
{
	static char buf[16];

	dmv_oln(state, index, buf, sizeof buf);
	return buf;
}

/*
 * nlstate -f disconnect=1: after each answer is ACKed it hangs up before
 * the query's DACK leaves, so the switch redelivers every query once. The
 * queries go one at a time, each after the previous DR, so every one of
 * them meets a fresh disconnect.
 */
static void
test_disconnect_answers_once(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct sim_state	 st;
	char			 ctl[24], what[64], *log;
	uint64_t		 tag;
	int			 i, n;

	CU_ASSERT_FATAL(a != NULL && a->up);
	CU_ASSERT_EQUAL_FATAL(state_start(&st, "CA", "cadmv",
	    "-f disconnect=1"), 0);
	for (i = 0; i < NFAULT; i++) {
		snprintf(ctl, sizeof ctl, "FAULT%d", i);
		tag = it_client_send(a, it_dq("WA0340000", "CA", ctl,
		    oln("CA", (uint32_t)i + 1), 0));
		CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
		CU_ASSERT_PTR_NOT_NULL(it_find(a, "DR", ctl, WAIT));
	}
	/* Every answered query comes back once and is DACKed without an
	 * answer (bounded wait); then nothing more arrives. */
	for (i = 0; i < WAIT / 100; i++) {
		log = state_log(&st);
		n = occurs(log, "already answered: DACK");
		free(log);
		if (n >= NFAULT)
			break;
		it_pump(env, 100);
	}
	it_pump(env, 1500);
	for (i = 0; i < NFAULT; i++) {
		snprintf(ctl, sizeof ctl, "FAULT%d", i);
		CU_ASSERT_EQUAL(it_count(a, "DR", ctl), 1);
	}
	log = state_stop(&st);
	for (i = 0; i < NFAULT; i++) {
		snprintf(what, sizeof what, "ctl=FAULT%d -> DR", i);
		CU_ASSERT_EQUAL(occurs(log, what), 1);
	}
	CU_ASSERT_EQUAL(state_counter(log, "answered "), NFAULT);
	CU_ASSERT_EQUAL(state_counter(log, "duplicates "), NFAULT);
	CU_ASSERT_EQUAL(state_counter(log, "refused "), 0);
	CU_ASSERT_EQUAL(state_counter(log, "fault-disconnects "), NFAULT);
	if (state_counter(log, "answered ") != NFAULT)
		fprintf(stderr, "\n%s\n", log);
	free(log);
	it_client_free(a);
}

/* The first record of CA (of 1000) of this sex and age bracket. */
static int
record_of(const char *sex, enum avatar_age age, struct dmv_record *r)
{
	uint32_t i;

	for (i = 0; i < 1000; i++)
		if (dmv_record("CA", i, r) == 0 && strcmp(r->sex, sex) == 0 &&
		    avatar_age_bracket(dmv_age(r->dob)) == age)
			return 0;
	return -1;
}

/*
 * A DQ with IMQ/Y for a girl, a young man, a woman and an old man: each
 * DR carries the very avatar of the record's sex and age bracket (the
 * pool's portrait for the record, avatar_pool_person).
 */
static void
test_photo_fits_record(void)
{
	static const struct {
		const char	*sex;
		enum avatar_age	 age;
	} t[] = {
		{ "F", AVATAR_AGE_CHILD }, { "M", AVATAR_AGE_YOUNG },
		{ "F", AVATAR_AGE_ADULT }, { "M", AVATAR_AGE_SENIOR },
	};
	static char		 b64[64 * 1024];
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct dmv_record	 r;
	struct avatar_person	 who;
	struct it_dlv		*d;
	uint8_t			*got, *want;
	size_t			 i, ngot, nwant;
	struct sim_state	 st;
	char			 ctl[16];
	uint64_t		 tag;

	CU_ASSERT_FATAL(a != NULL && a->up);
	CU_ASSERT_EQUAL_FATAL(state_start(&st, "CA", "cadmv", NULL), 0);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		CU_ASSERT_EQUAL_FATAL(record_of(t[i].sex, t[i].age, &r), 0);
		snprintf(ctl, sizeof ctl, "FACE%zu", i);
		tag = it_client_send(a, it_dq("WA0340000", "CA", ctl, r.oln, 1));
		CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
		d = it_find(a, "DR", ctl, WAIT);
		CU_ASSERT_PTR_NOT_NULL_FATAL(d);
		xscan_text(d->xml, d->len, "BinaryBase64Object", b64,
		    sizeof b64);
		got = util_b64_decode(b64, strlen(b64), &ngot);
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		avatar_person_init(&who, r.photo_seed, r.sex, dmv_age(r.dob));
		CU_ASSERT_EQUAL(who.age, t[i].age);
		/* The pool's portrait of that sex and age (avatar.h). */
		avatar_pool_person(&who, &who, NULL);
		CU_ASSERT_EQUAL(who.age, t[i].age);
		CU_ASSERT_EQUAL_FATAL(avatar_person_jpeg(&who, AVATAR_WIDTH,
		    AVATAR_HEIGHT, AVATAR_QUALITY, &want, &nwant), 0);
		CU_ASSERT(ngot == nwant && memcmp(got, want, ngot) == 0);
		free(got);
		free(want);
	}
	free(state_stop(&st));
	it_client_free(a);
}

/* Write text to the run directory as name; its path (static buffer). */
static const char *
put(const char *name, const char *text)
{
	static char path[512];

	snprintf(path, sizeof path, "%s/%s", env->dir, name);
	if (util_write_file(path, text, strlen(text)) == -1)
		CU_FAIL("cannot write a message file");
	return path;
}

/* 1 if the agency's DONE line says this. */
static int
done_says(const char *out, const char *what)
{
	const char *p = strncmp(out, "DONE ", 5) == 0 ? out :
	    strstr(out, "\nDONE ");

	return p != NULL && strstr(p, what) != NULL;
}

/*
 * Run bin/nlagency as line cn with args, where "@" stands for the run
 * directory (its -t bounds it); check that it exits 0 and that its DONE
 * line says each of done (NULL-terminated). @return its output (caller
 * frees).
 */
static char *
agency_ok(const char *cn, const char *const *done, const char *args)
{
	struct ubuf	 cmd;
	char		*out = NULL;
	int		 rc, ok;

	ubuf_init(&cmd);
	ubuf_printf(&cmd, "bin/nlagency -k '%s' -P '%s' -l %s ", env->pki,
	    env->portfile, cn);
	for (; *args != '\0'; args++)
		if (*args == '@')
			ubuf_adds(&cmd, env->dir);
		else
			ubuf_add(&cmd, args, 1);
	ubuf_add(&cmd, "", 1);
	rc = it_sh(env, cmd.data, NULL, &out);
	CU_ASSERT_EQUAL(rc, 0);
	/* Its output is no log the harness scans (check-asan). */
	if (strstr(out, "Sanitizer") != NULL ||
	    strstr(out, "runtime error:") != NULL) {
		CU_FAIL("a sanitizer report from nlagency");
		rc = -1;
	}
	for (ok = rc == 0; *done != NULL; done++)
		if (!done_says(out, *done)) {
			CU_FAIL("nlagency's DONE line");
			ok = 0;
		}
	if (!ok)
		fprintf(stderr, "\n%s\n%s\n", cmd.data, out);
	ubuf_free(&cmd);
	return out;
}

/* Each of want (NULL-terminated) occurs exactly once in out. */
static void
assert_once(const char *out, const char *const *want)
{
	for (; *want != NULL; want++)
		if (occurs(out, *want) != 1) {
			fprintf(stderr, "\n  %d times: \"%s\"", occurs(out, *want),
			    *want);
			CU_FAIL("a reply missing or repeated");
		}
}

/* CA and NV up, for the tests that query both. @return 0 or -1. */
static int
states_up(struct sim_state *ca, struct sim_state *nv)
{
	if (state_start(ca, "CA", "cadmv", NULL) == -1)
		return -1;
	if (state_start(nv, "NV", "nvdmv", NULL) == -1) {
		free(state_stop(ca));
		return -1;
	}
	return 0;
}

static void
states_down(struct sim_state *ca, struct sim_state *nv)
{
	free(state_stop(nv));
	free(state_stop(ca));
}

/*
 * nlagency counts every reply, once: on a legacy line (what it receives
 * is text) legacy DQs with and without a control field, one to two
 * states, an XML DQ, and a legacy DQ to NL (one merged answer, as text);
 * from an XML line a DQ to two states, and with the switch's config a DQ
 * to a region, one to NL and a KQ to a region where NV has KQ removed
 * (each one merged answer, whose summary counts NV out of service), and
 * without the config a DQ to NL.
 */
static void
test_replies_counted(void)
{
	static const struct {
		const char	*cn;
		const char	*args;		/* "@": the run directory */
		const char	*done[4];	/* in the DONE line */
		const char	*want[9];	/* once each in the output */
	} t[] = {
		{ "txleg", "-v -t 20 @/leg1.txt @/leg2.txt @/leg3.txt "
		  "@/leg4.xml @/leg5.txt", { " replies=6/6 ",
		  " unexpected=0 " },
		  { "DR from=CAOLN0000 ctl=LEG1 ", "DR from=CAOLN0000 ctl= ",
		    "DR from=CAOLN0000 ctl=LEG3 ", "DR from=NVOLN0000 ctl=LEG3 ",
		    "DR from=CAOLN0000 ctl=LEG4 ",
		    /* Text arrived: the output header's first line; the
		     * merged answer to NL with CA's answer inside. */
		    "\nDR.CAOLN0000.*LEG1\n", "\nDR.CAOLN0000.*LEG4\n",
		    "DR from=NL0000000 ctl=LEG5 merged: QUERIED 2: CA NV / "
		    "HIT 1: CA / NOT ON FILE 1: NV" } },
		{ "waagy", "-t 20 @/ms1.xml", { " replies=2/2 " },
		  { "DR from=CAOLN0000 ctl=MS1 ",
		    "DR from=NVOLN0000 ctl=MS1 " } },
		{ "waagy", "-t 20 -f @/nlswitch.xml @/ms2.xml @/ms3.xml "
		  "@/ms4.xml", { " replies=3/3 ", " sms=0 ", " unexpected=0 " },
		  { "DR from=NL0000000 ctl=MS2 merged: QUERIED 2: CA NV / "
		    "HIT 1: NV / NOT ON FILE 1: CA",
		    "DR from=NL0000000 ctl=MS3 merged: QUERIED 2: CA NV / "
		    "HIT 1: CA / NOT ON FILE 1: NV",
		    "KR from=NL0000000 ctl=MS4 merged: QUERIED 2: CA NV / "
		    "HIT 1: CA / OUT OF SERVICE, NOT FORWARDED 1: NV" } },
		/* Without the config, NL is known to be multi-state too. */
		{ "waagy", "-t 20 @/ms5.xml", { " replies=1/1 ",
		  " unexpected=0 " },
		  { "DR from=NL0000000 ctl=MS5 merged: QUERIED 2: CA NV" } },
	};
	struct sim_state	 ca, nv;
	char			 text[256], *out;
	size_t			 i;

	CU_ASSERT_EQUAL_FATAL(states_up(&ca, &nv), 0);
	snprintf(text, sizeof text, "DQ.TX0000000.CA.*LEG1.TXT\nOLN/%s.\n",
	    oln("CA", 5));
	put("leg1.txt", text);
	snprintf(text, sizeof text, "DQ.TX0000000.CA.TXT\nOLN/%s.\n",
	    oln("CA", 6));
	put("leg2.txt", text);
	snprintf(text, sizeof text, "DQ.TX0000000.CA.NV.*LEG3.TXT\n"
	    "OLN/%s.\n", oln("CA", 7));
	put("leg3.txt", text);
	put("leg4.xml", it_dq("TX0000000", "CA", "LEG4", oln("CA", 8), 0));
	put("ms1.xml", it_dq("WA0340000", "CA NV", "MS1", oln("CA", 9), 0));
	put("ms2.xml", it_dq("WA0340000", "WR", "MS2", oln("NV", 9), 0));
	put("ms3.xml", it_dq("WA0340000", "NL", "MS3", oln("CA", 10), 0));
	put("ms4.xml", it_msg("KQ", "WA0340000", "WR", "MS4",
	    it_oln(oln("CA", 11))));
	put("ms5.xml", it_dq("WA0340000", "NL", "MS5", oln("CA", 13), 0));
	snprintf(text, sizeof text, "DQ.TX0000000.NL.*LEG5.TXT\nOLN/%s.\n",
	    oln("CA", 14));
	put("leg5.txt", text);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		out = agency_ok(t[i].cn, t[i].done, t[i].args);
		assert_once(out, t[i].want);
		free(out);
	}
	states_down(&ca, &nv);
}

/*
 * A DQ to CA and NV while NV is down: CA's DR and NV's SM .02. come, and
 * nlagency keeps waiting; NV starts, answers, and nlagency ends with both.
 */
static void
test_multi_state_held(void)
{
	struct sim_state	 ca, nv;
	char			*argv[12], *log, *path, *file;
	pid_t			 ag;

	CU_ASSERT_EQUAL_FATAL(state_start(&ca, "CA", "cadmv", NULL), 0);
	file = xstrdup(put("held.xml", it_dq("WA0340000", "CA NV", "HELD2",
	    oln("CA", 12), 0)));
	argv[0] = "bin/nlagency";
	argv[1] = "-k";
	argv[2] = env->pki;
	argv[3] = "-P";
	argv[4] = env->portfile;
	argv[5] = "-l";
	argv[6] = "waagy";
	argv[7] = "-t";
	argv[8] = "30";
	argv[9] = file;
	argv[10] = NULL;
	ag = it_spawn(env, "agency-held.log", argv);
	free(file);
	CU_ASSERT_FATAL(ag > 0);
	CU_ASSERT_EQUAL(it_log_wait(env, "agency-held.log",
	    "DR from=CAOLN0000 ctl=HELD2 ", WAIT), 0);
	CU_ASSERT_EQUAL(it_log_wait(env, "agency-held.log", "status=.02.",
	    WAIT), 0);
	it_pump(env, 500);
	CU_ASSERT_EQUAL(it_log_wait(env, "agency-held.log", "DONE", 0), -1);
	CU_ASSERT_EQUAL(state_start(&nv, "NV", "nvdmv", NULL), 0);
	CU_ASSERT_EQUAL(it_log_wait(env, "agency-held.log", "DONE", WAIT), 0);
	it_kill(env, ag, SIGTERM);
	path = xasprintf("%s/agency-held.log", env->dir);
	log = util_read_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(log);
	CU_ASSERT_EQUAL(occurs(log, "DR from=NVOLN0000 ctl=HELD2 "), 1);
	CU_ASSERT(done_says(log, " replies=2/2 "));
	CU_ASSERT(done_says(log, " exit=0"));
	free(log);
	free(path);
	free(state_stop(&nv));
	free(state_stop(&ca));
}

/* Every "ctl=" value of the agency's SENT lines, distinct, n of them. */
static int
sent_ctls_distinct(const char *out, int n)
{
	char	 ctls[64][MSG_CTL_LEN + 1];
	const char *p;
	int	 k = 0, i;

	for (p = out; (p = strstr(p, "\nSENT ")) != NULL; p++) {
		if (k == 64 || (p = strstr(p, " ctl=")) == NULL)
			return 0;
		sscanf(p + 5, "%10[^ ]", ctls[k]);
		for (i = 0; i < k; i++)
			if (strcmp(ctls[i], ctls[k]) == 0)
				return 0;
		k++;
	}
	return k == n;
}

/*
 * The n copies in nlagency's output went out with distinct control
 * fields (stem, then the copy number) and copy k was answered once, with
 * the surname of CA's synthetic record k.
 */
static void
copies_answered(const char *out, const char *stem, int n)
{
	struct dmv_record	 r;
	char			 what[96];
	int			 k;

	CU_ASSERT(sent_ctls_distinct(out, n));
	for (k = 0; k < n; k++) {
		CU_ASSERT_EQUAL_FATAL(dmv_record("CA", (uint32_t)k, &r), 0);
		snprintf(what, sizeof what, "ctl=%s%04d record=%s ", stem, k,
		    r.surname);
		CU_ASSERT_EQUAL(occurs(out, what), 1);
	}
}

/*
 * nlagency -n: 20 copies of an XML DQ by license number and 5 of a
 * legacy DQ by name: distinct control fields, each the license or the
 * name of synthetic record k, every copy valid (ACKed) and answered.
 */
static void
test_copies(void)
{
	static const char *const done20[] = { "sent=20 acked=20 nacked=0 "
	    "replies=20/20 ", NULL };
	static const char *const done5[] = { " replies=5/5 ", NULL };
	struct sim_state	 ca;
	char			*out, *log;

	CU_ASSERT_EQUAL_FATAL(state_start(&ca, "CA", "cadmv", NULL), 0);
	put("copy.xml", it_dq("WA0340000", "CA", "CP", oln("CA", 999), 0));
	free(agency_ok("waagy", done20, "-q -t 30 -n 20 @/copy.xml"));
	/* Another stem: the same copies again would be resends, ACKed
	 * with their first ids and not delivered (docs/protocol.md). */
	put("copy2.xml", it_dq("WA0340000", "CA", "CQ", oln("CA", 999), 0));
	out = agency_ok("waagy", done20, "-t 30 -n 20 @/copy2.xml");
	copies_answered(out, "CQ", 20);
	free(out);

	put("copy.txt", "DQ.TX0000000.CA.*LC.TXT\n"
	    "NAM/SAMPLE,ALEX J. DOB/19800229. SEX/F.\n");
	out = agency_ok("txleg", done5, "-t 30 -n 5 @/copy.txt");
	copies_answered(out, "LC", 5);
	free(out);
	/* The state answered each copy once. */
	log = state_stop(&ca);
	CU_ASSERT_EQUAL(occurs(log, "ctl=CP0007 -> DR"), 1);
	CU_ASSERT_EQUAL(occurs(log, "ctl=CQ0007 -> DR"), 1);
	CU_ASSERT_EQUAL(occurs(log, "ctl=LC0003 -> DR"), 1);
	CU_ASSERT_EQUAL(state_counter(log, "answered "), 45);
	free(log);
}

/*
 * Failover: switches A (the suite's) and B (a second run directory with
 * A's PKI, its own LMDB store). CA runs with -P A -P B, nlagency with
 * -P A -P B -i 1500 and three DQs to CA. Once the first DQ is answered A
 * is stopped (SIGSTOP), so the second DQ reaches A's socket and gets no
 * ACK, then killed (SIGKILL): both simulators move to B, nlagency sends
 * the second DQ again, and every DQ is ACKed and answered once.
 */
static void
test_failover(void)
{
	struct it_env		*b;
	struct sim_state	 ca;
	char			*argv[24], *out, *path, *log;
	const char		*f[3];
	pid_t			 pid;
	int			 n = 0, i;

	b = it_env_new("sim-b", "heartbeat=\"2\" ack-timeout=\"5\" "
	    "retry-min=\"1\" retry-max=\"2\"");
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(it_env_share_pki(b, env) == 0 &&
	    it_switch_start(b) == 0);
	path = xasprintf("-P %s", b->portfile);
	i = state_start(&ca, "CA", "cadmv", path);
	free(path);
	if (i == -1) {
		CU_FAIL("nlstate with two addresses did not connect");
		it_env_free(b);
		return;
	}
	f[0] = xstrdup(put("fo1.xml", it_dq("WA0340000", "CA", "FO1",
	    oln("CA", 31), 0)));
	f[1] = xstrdup(put("fo2.xml", it_dq("WA0340000", "CA", "FO2",
	    oln("CA", 32), 0)));
	f[2] = xstrdup(put("fo3.xml", it_dq("WA0340000", "CA", "FO3",
	    oln("CA", 33), 0)));
	argv[n++] = "bin/nlagency";
	argv[n++] = "-k";
	argv[n++] = env->pki;
	argv[n++] = "-l";
	argv[n++] = "waagy";
	argv[n++] = "-P";
	argv[n++] = env->portfile;
	argv[n++] = "-P";
	argv[n++] = b->portfile;
	argv[n++] = "-i";
	argv[n++] = "1500";
	argv[n++] = "-t";
	argv[n++] = "40";
	for (i = 0; i < 3; i++)
		argv[n++] = (char *)f[i];
	argv[n] = NULL;
	pid = it_spawn(env, "agency-failover.log", argv);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(it_log_wait(env, "agency-failover.log", " reply=1/1",
	    WAIT) == 0);
	kill(env->switch_pid, SIGSTOP);
	CU_ASSERT(it_log_wait(env, "agency-failover.log", "SENT tag=2 ",
	    WAIT) == 0);
	it_switch_stop(env, SIGKILL);
	CU_ASSERT(it_log_wait(env, "agency-failover.log", "DONE ", 40000) ==
	    0);
	path = xasprintf("%s/agency-failover.log", env->dir);
	out = util_read_file(path, NULL);
	free(path);
	if (out == NULL)
		out = xstrdup("");
	CU_ASSERT(strstr(out, "RECONNECT ") != NULL);
	CU_ASSERT(strstr(out, "RESENT ") != NULL && strstr(out,
	    "ctl=FO2 (no ACK") != NULL);
	CU_ASSERT(done_says(out, " sent=3 acked=3 nacked=0 replies=3/3 "));
	CU_ASSERT(done_says(out, " exit=0"));
	CU_ASSERT_EQUAL(occurs(out, "DR from=CAOLN0000 ctl=FO1 "), 1);
	CU_ASSERT_EQUAL(occurs(out, "DR from=CAOLN0000 ctl=FO2 "), 1);
	CU_ASSERT_EQUAL(occurs(out, "DR from=CAOLN0000 ctl=FO3 "), 1);
	if (!done_says(out, " exit=0"))
		fprintf(stderr, "\n%s\n", out);
	free(out);
	it_kill(env, pid, SIGTERM);
	log = state_stop(&ca);
	CU_ASSERT(strstr(log, "reconnecting to ") != NULL);
	CU_ASSERT(strstr(log, "reconnects ") != NULL);
	free(log);
	for (i = 0; i < 3; i++)
		free((char *)f[i]);
	it_env_free(b);
	CU_ASSERT(it_switch_start(env) == 0);	/* for the next test */
}

/*
 * A state's answer without an ACK: CA (-P A -P B, answers 1.5 s after a
 * delivery) gets a DQ through A; A is stopped before the answer goes, so
 * the answer reaches A's socket and gets no ACK, then killed: CA moves
 * to B and sends the answer again, B takes it, and nlagency (-P A -P B)
 * gets it there.
 */
static void
test_failover_answer(void)
{
	struct it_env		*b;
	struct sim_state	 ca;
	char			*argv[24], *out, *path, *log, *msg;
	pid_t			 pid;
	int			 n = 0, i;

	b = it_env_new("sim-b", "heartbeat=\"2\"");
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_FATAL(it_env_share_pki(b, env) == 0 &&
	    it_switch_start(b) == 0);
	path = xasprintf("-P %s -d 1500", b->portfile);
	i = state_start(&ca, "CA", "cadmv", path);
	free(path);
	if (i == -1) {
		CU_FAIL("nlstate with two addresses did not connect");
		it_env_free(b);
		return;
	}
	msg = xstrdup(put("fa1.xml", it_dq("WA0340000", "CA", "FA1",
	    oln("CA", 41), 0)));
	argv[n++] = "bin/nlagency";
	argv[n++] = "-k";
	argv[n++] = env->pki;
	argv[n++] = "-l";
	argv[n++] = "waagy";
	argv[n++] = "-P";
	argv[n++] = env->portfile;
	argv[n++] = "-P";
	argv[n++] = b->portfile;
	argv[n++] = "-t";
	argv[n++] = "30";
	argv[n++] = msg;
	argv[n] = NULL;
	pid = it_spawn(env, "agency-failover2.log", argv);
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT(it_log_wait(env, "agency-failover2.log", "ACK tag=1 ",
	    WAIT) == 0);
	usleep(300000);		/* the DQ reaches CA; its answer waits */
	kill(env->switch_pid, SIGSTOP);
	CU_ASSERT(it_log_wait(env, ca.log, "ctl=FA1 -> DR", WAIT) == 0);
	it_switch_stop(env, SIGKILL);
	CU_ASSERT(it_log_wait(env, "agency-failover2.log", "DONE ", 30000) ==
	    0);
	path = xasprintf("%s/agency-failover2.log", env->dir);
	out = util_read_file(path, NULL);
	free(path);
	if (out == NULL)
		out = xstrdup("");
	CU_ASSERT(done_says(out, " sent=1 acked=1 nacked=0 replies=1/1 "));
	CU_ASSERT(done_says(out, " exit=0"));
	CU_ASSERT_EQUAL(occurs(out, "DR from=CAOLN0000 ctl=FA1 "), 1);
	it_kill(env, pid, SIGTERM);
	log = state_stop(&ca);
	/* FA1's answer; A may also have redelivered test_failover's FO1,
	 * whose DACK the stopped A never read: its answer is resent too. */
	CU_ASSERT(occurs(log, "answer sent again (no ACK on the lost "
	    "connection)") >= 1);
	CU_ASSERT(state_counter(log, "answers-resent ") >= 1);
	if (!done_says(out, " exit=0") ||
	    state_counter(log, "answers-resent ") < 1)
		fprintf(stderr, "\n%s\n%s\n", out, log);
	free(out);
	free(log);
	free(msg);
	it_env_free(b);
	CU_ASSERT(it_switch_start(env) == 0);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_sim", suite_init, suite_clean);
	CU_ADD_TEST(s, test_disconnect_answers_once);
	CU_ADD_TEST(s, test_photo_fits_record);
	CU_ADD_TEST(s, test_replies_counted);
	CU_ADD_TEST(s, test_multi_state_held);
	CU_ADD_TEST(s, test_copies);
	CU_ADD_TEST(s, test_failover);
	CU_ADD_TEST(s, test_failover_answer);
	return it_run_suites();
}
