/*
 * it_sim - the simulators behave (issue 13, item 9), with real processes
 * on 127.0.0.1: nlswitchd, bin/nlstate and bin/nlagency.
 *
 *  - a state that disconnects after every answer (nlstate -f
 *    disconnect=1) answers each query once, the switch's redelivery of an
 *    answered query is DACKed without a second answer, and the agency
 *    gets exactly one DR per DQ;
 *  - the photo in a DR is the avatar of the record's sex and age bracket.
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

static int
suite_init(void)
{
	env = it_env_new("sim", "heartbeat=\"2\" ack-timeout=\"5\" "
	    "retry-min=\"1\" retry-max=\"2\"");
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

/* bin/nlstate for state code (line cn) with extra arguments (may be
 * NULL), logging to nlstate-<code>.log. */
static pid_t
state_start(const char *code, const char *cn, const char *extra)
{
	char	*argv[16], log[64], *dup = NULL, *w, *p;
	int	 n = 0;
	pid_t	 pid;

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
	snprintf(log, sizeof log, "nlstate-%s.log", code);
	pid = it_spawn(env, log, argv);
	free(dup);
	return pid;
}

/* The log of a state so far; the caller frees it. */
static char *
state_log(const char *code)
{
	char	*path, *log;

	path = xasprintf("%s/nlstate-%s.log", env->dir, code);
	log = util_read_file(path, NULL);
	free(path);
	return log != NULL ? log : xstrdup("");
}

/* Stop a state by pid (SIGTERM: it prints its counters); its log. */
static char *
state_stop(pid_t pid, const char *code)
{
	it_kill(env, pid, SIGTERM);
	return state_log(code);
}

/* How many times needle occurs in hay. */
static int
occurs(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
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
	char			 ctl[16], what[64], *log;
	uint64_t		 tag;
	pid_t			 st;
	int			 i, n;

	CU_ASSERT_FATAL(a != NULL && a->up);
	st = state_start("CA", "cadmv", "-f disconnect=1");
	CU_ASSERT_FATAL(st > 0);
	CU_ASSERT_EQUAL_FATAL(it_log_wait(env, "nlstate-CA.log", "connected",
	    WAIT), 0);
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
		log = state_log("CA");
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
	log = state_stop(st, "CA");
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
 * DR carries the very avatar of the record's sex and age bracket.
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
	char			 ctl[16];
	uint64_t		 tag;
	pid_t			 st;

	CU_ASSERT_FATAL(a != NULL && a->up);
	st = state_start("CA", "cadmv", NULL);
	CU_ASSERT_FATAL(st > 0);
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
		CU_ASSERT_EQUAL_FATAL(avatar_person_jpeg(&who, AVATAR_WIDTH,
		    AVATAR_HEIGHT, AVATAR_QUALITY, &want, &nwant), 0);
		CU_ASSERT(ngot == nwant && memcmp(got, want, ngot) == 0);
		free(got);
		free(want);
	}
	it_kill(env, st, SIGTERM);
	it_client_free(a);
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
	return it_run_suites();
}
