/*
 * it_errors - errors that say how to fix them (issue 15, item 5), with
 * real processes on 127.0.0.1: nlswitchd refusing a certificate file
 * that does not load (file, config line and reason on its stderr, with
 * and without -n, before it goes into the background), and nlstate
 * telling a refused certificate, a switch that went away and a switch
 * that is not there in words rather than OpenSSL codes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "util.h"

#define WAIT	15000	/* ms: generous bound for one exchange */

static struct it_env	*env;

static int
suite_init(void)
{
	env = it_env_new("errors", "");
	return env != NULL ? 0 : -1;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

/*
 * Write NAME in the run directory: the run's config with its first
 * "from" replaced by "to". @return the line of the <pki> element, or -1.
 */
static int
conf_variant(const char *name, const char *from, const char *to)
{
	char	 path[400], *text, *at, *p;
	FILE	*f;
	int	 line = 1;

	if ((text = util_read_file(env->conf, NULL)) == NULL ||
	    (at = strstr(text, from)) == NULL) {
		free(text);
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", env->dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		free(text);
		return -1;
	}
	fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	fclose(f);
	if ((at = strstr(text, "<pki ")) == NULL)
		line = -1;
	for (p = text; at != NULL && p < at; p++)
		line += *p == '\n';
	free(text);
	return line;
}

/*
 * Run nlswitchd on config NAME (args before -f), bounded by timeout(1).
 * @return its exit status, -1 if it did not exit by itself; *out gets
 *	its stdout+stderr.
 */
static int
switchd_run(const char *args, const char *name, char **out)
{
	char	 cmd[700];
	int	 rc;

	snprintf(cmd, sizeof cmd, "timeout -k 2 20 bin/nlswitchd %s -f '%s/%s'",
	    args, env->dir, name);
	rc = it_sh(env, cmd, NULL, out);
	return rc == 124 || rc == 137 ? -1 : rc;
}

/* A missing certificate: named with its file, the line and the errno. */
static void
test_missing_cert(void)
{
	static const char *modes[] = { "-n", "-d", "" };
	char	 want[700], *out = NULL;
	size_t	 i;
	int	 line, rc;

	line = conf_variant("missing.xml", "pki/switch.pem", "pki/nosuch.pem");
	CU_ASSERT_FATAL(line > 0);
	snprintf(want, sizeof want, "%s/missing.xml:%d: <pki cert>: cannot "
	    "read %s/pki/nosuch.pem: No such file or directory", env->dir,
	    line, env->dir);
	/* -n checks; -d and the daemon say it on stderr before starting. */
	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		rc = switchd_run(modes[i], "missing.xml", &out);
		if (rc != 1 || out == NULL || strstr(out, want) == NULL)
			fprintf(stderr, "\n  nlswitchd %s: rc %d, \"%s\"",
			    modes[i], rc, out ? out : "");
		CU_ASSERT_EQUAL(rc, 1);
		CU_ASSERT_PTR_NOT_NULL(out != NULL ? strstr(out, want) : NULL);
		CU_ASSERT_PTR_NULL(out != NULL ? strstr(out, "error:0") : NULL);
		free(out);
		out = NULL;
	}
}

/* A key that is no PEM file, a key of another certificate: in words. */
static void
test_bad_key(void)
{
	char	 want[1200], *out = NULL;
	int	 line, rc;

	line = conf_variant("notpem.xml", "pki/switch.key", "nlswitch.xml");
	CU_ASSERT_FATAL(line > 0);
	rc = switchd_run("-n", "notpem.xml", &out);
	CU_ASSERT_EQUAL(rc, 1);
	snprintf(want, sizeof want, "%s/notpem.xml:%d: <pki>: cannot load the "
	    "private key %s/nlswitch.xml: ", env->dir, line, env->dir);
	CU_ASSERT_PTR_NOT_NULL(out != NULL ? strstr(out, want) : NULL);
	free(out);
	out = NULL;

	line = conf_variant("otherkey.xml", "pki/switch.key", "pki/waagy.key");
	CU_ASSERT_FATAL(line > 0);
	rc = switchd_run("-n", "otherkey.xml", &out);
	CU_ASSERT_EQUAL(rc, 1);
	snprintf(want, sizeof want, "%s/otherkey.xml:%d: <pki>: the private "
	    "key %s/pki/waagy.key does not match the certificate %s/pki/"
	    "switch.pem", env->dir, line, env->dir, env->dir);
	CU_ASSERT_PTR_NOT_NULL(out != NULL ? strstr(out, want) : NULL);
	free(out);
}

/* Start nlstate for CA as pki/NAME, its output to LOG. */
static pid_t
state_start(const char *name, const char *log)
{
	char *argv[] = { "bin/nlstate", "-s", "CA", "-k", env->pki, "-l",
	    (char *)name, "-P", env->portfile, "-n", "1000", NULL };

	return it_spawn(env, log, argv);
}

/* 1 if the log has text in it. */
static int
log_has(const char *log, const char *text)
{
	char	 path[400], *data;
	int	 r;

	snprintf(path, sizeof path, "%s/%s", env->dir, log);
	data = util_read_file(path, NULL);
	r = data != NULL && strstr(data, text) != NULL;
	free(data);
	return r;
}

/*
 * nlstate with another CA's certificate, then one whose switch stops:
 * the log says what happened in words, never "TLS: error:...".
 */
static void
test_state_words(void)
{
	char	 want[200];
	pid_t	 pid;

	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);

	pid = state_start("other", "nlstate-other.log");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(it_log_wait(env, "nlstate-other.log",
	    "disconnected: certificate rejected by the switch (alert: "
	    "unknown CA)", WAIT), 0);
	it_kill(env, pid, SIGTERM);
	CU_ASSERT_FALSE(log_has("nlstate-other.log", "error:"));

	pid = state_start("cadmv", "nlstate-ca.log");
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(it_log_wait(env, "nlstate-ca.log", "connected line=",
	    WAIT), 0);
	it_switch_stop(env, SIGTERM);
	CU_ASSERT_EQUAL(it_log_wait(env, "nlstate-ca.log",
	    "disconnected: the switch closed the connection (reconnecting)",
	    WAIT), 0);
	/* Reconnecting to a switch that is not there. */
	snprintf(want, sizeof want, "disconnected: cannot connect to "
	    "127.0.0.1:%s: Connection refused", env->port);
	CU_ASSERT_EQUAL(it_log_wait(env, "nlstate-ca.log", want, WAIT), 0);
	it_kill(env, pid, SIGTERM);
	CU_ASSERT_FALSE(log_has("nlstate-ca.log", "error:"));
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_errors", suite_init, suite_clean);
	CU_ADD_TEST(s, test_missing_cert);
	CU_ADD_TEST(s, test_bad_key);
	CU_ADD_TEST(s, test_state_words);
	return it_run_suites();
}
