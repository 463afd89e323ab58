/*
 * it_ops - the operator interface against a running switch: every nlctl
 * command (text and --json, exit codes), the admin HTTP endpoints
 * (health, readiness, Prometheus metrics, JSON API, dashboard), reload
 * without dropping connections, and drain.
 */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/wait.h>

#include <CUnit/Basic.h>
#include <jansson.h>

#include "client.h"
#include "it_util.h"
#include "util.h"

#define WAIT	10000

static struct it_env *env;

static const char *
dq(const char *dest, const char *ctl)
{
	return it_dq("WA0340000", dest, ctl, "C00000018", 0);
}

/* The SM status the agency got about ctl, or -1. */
static int
sm_status(struct it_client *a, const char *ctl, int ms)
{
	struct it_dlv *d = it_find(a, "SM", ctl, ms);

	return d != NULL ? it_sm(d->xml) : -1;
}

static int
nlctl(const char *args, const char *input, char **out)
{
	char cmd[2048];

	snprintf(cmd, sizeof cmd, "bin/nlctl %s", args);
	return it_sh(env, cmd, input, out);
}

static int
suite_init(void)
{
	env = it_env_new("ops", "heartbeat=\"2\" held-ttl=\"4\" ack-timeout=\"3\"");
	return env != NULL && it_switch_start(env) == 0 ? 0 : -1;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

static void
test_status_lines_queues(void)
{
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	char			*out = NULL;

	CU_ASSERT_FATAL(ca && ca->up);
	CU_ASSERT_EQUAL(nlctl("status", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "state: running"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "lines_total: 4"));
	free(out);
	CU_ASSERT_EQUAL(nlctl("--json status", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"state\":\"running\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"ok\":true"));
	free(out);
	CU_ASSERT_EQUAL(nlctl("lines", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "line=CADMV cn=cadmv member=CA "
	    "connected=true"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "line=NVDMV cn=nvdmv member=NV "
	    "connected=false"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "KQ=removed"));
	free(out);
	CU_ASSERT_EQUAL(nlctl("--json queues", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"destination\":\"CADMV\",\"depth\":0"));
	free(out);
	/* Usage errors and an unreachable switch have their own codes. */
	CU_ASSERT_EQUAL(nlctl("frobnicate", NULL, &out), 2);
	free(out);
	CU_ASSERT_EQUAL(nlctl("hold NOSUCH", NULL, &out), 3);
	free(out);
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl -s /nonexistent/sock status",
	    NULL, &out), 4);
	free(out);
	it_client_free(ca);
}

static void
test_hold_release_remove_restore(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	char			*out = NULL;
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up && ca && ca->up);
	CU_ASSERT_EQUAL(nlctl("hold CADMV DQ", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "DQ=held"));
	free(out);
	tag = it_client_send(a, dq("CA", "HOLD1"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_EQUAL(sm_status(a, "HOLD1", WAIT), 2);
	it_pump(env, 800);
	CU_ASSERT_EQUAL(it_count(ca, "DQ", "HOLD1"), 0);
	CU_ASSERT_EQUAL(nlctl("release CADMV DQ", NULL, &out), 0);
	free(out);
	CU_ASSERT_TRUE(it_find(ca, "DQ", "HOLD1", WAIT) != NULL);

	CU_ASSERT_EQUAL(nlctl("remove CADMV DQ", NULL, &out), 0);
	free(out);
	tag = it_client_send(a, dq("CA", "REM1"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_EQUAL(sm_status(a, "REM1", WAIT), 4);
	CU_ASSERT_EQUAL(nlctl("restore CADMV DQ", NULL, &out), 0);
	free(out);
	it_pump(env, 500);
	CU_ASSERT_EQUAL(it_count(ca, "DQ", "REM1"), 0);	/* never stored */
	tag = it_client_send(a, dq("CA", "REST1"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_TRUE(it_find(ca, "DQ", "REST1", WAIT) != NULL);
	it_client_free(ca);
	it_client_free(a);
}

static void
test_hold_survives_restart(void)
{
	char *out = NULL;

	CU_ASSERT_EQUAL(nlctl("hold CADMV KQ", NULL, &out), 0);
	free(out);
	it_pump(env, 200);
	it_switch_stop(env, SIGTERM);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);
	CU_ASSERT_EQUAL(nlctl("lines", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "KQ=held"));
	free(out);
	CU_ASSERT_EQUAL(nlctl("release CADMV", NULL, &out), 0);
	free(out);
}

static void
test_show_purge(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	char			*out = NULL, id[64], arg[128];
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up);
	/* CA is down: the copies wait in its queue. */
	tag = it_client_send(a, dq("CA", "SHOW1"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	util_strlcpy(id, a->reply[tag], sizeof id);
	snprintf(arg, sizeof arg, "show %s", id);
	CU_ASSERT_EQUAL(nlctl(arg, NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "ori: WA0340000"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "ctl: SHOW1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "line=CADMV"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "state=waiting-for-line"));
	CU_ASSERT_PTR_NULL(strstr(out, "NLETS"));	/* never the body */
	free(out);
	CU_ASSERT_EQUAL(nlctl("show ffffffffffff0000", NULL, &out), 3);
	free(out);
	CU_ASSERT_EQUAL(nlctl("--json queues", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"destination\":\"CADMV\",\"depth\":1"));
	free(out);

	tag = it_client_send(a, dq("CA", "SHOW2"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	/* Purge one by ID on stdin, then ALL. */
	snprintf(arg, sizeof arg, "%s.0\n", id);
	CU_ASSERT_EQUAL(nlctl("purge CADMV", arg, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "purged: 1"));
	free(out);
	CU_ASSERT_EQUAL(nlctl("purge CADMV ALL", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "purged: 1"));
	free(out);
	CU_ASSERT_EQUAL(nlctl("purge CADMV", "", &out), 2);
	free(out);
	CU_ASSERT_EQUAL(nlctl("--json queues", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"destination\":\"CADMV\",\"depth\":0"));
	free(out);
	it_client_free(a);
}

/*
 * 1 once nlctl args (a listing of the dead letters) shows one for NVDMV,
 * 0 if none came within 15 s (held-ttl is 4 s).
 */
static int
dead_letter_seen(const char *args)
{
	uint64_t	 end = util_mono_us() + 15000000ULL;
	char		*out = NULL;
	int		 found = 0;

	while (!found && util_mono_us() < end) {
		it_pump(env, 500);
		if (nlctl(args, NULL, &out) == 0 &&
		    strstr(out, "line=NVDMV") != NULL)
			found = 1;
		free(out);
	}
	return found;
}

static void
test_deadletters(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*nv;
	char			*out = NULL;
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up);
	tag = it_client_send(a, dq("NV", "DEAD1"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	/* Wait for the copy to reach the dead letters. */
	CU_ASSERT_TRUE_FATAL(dead_letter_seen("deadletters"));
	CU_ASSERT_EQUAL(nlctl("--json status", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"dead_letters\":1"));
	free(out);
	/* Requeue all: back to NV, delivered when NV connects. */
	CU_ASSERT_EQUAL(nlctl("deadletters requeue ALL", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "requeued: 1"));
	free(out);
	nv = it_client_new(env, "nvdmv", WAIT);
	CU_ASSERT_FATAL(nv && nv->up);
	CU_ASSERT_TRUE(it_find(nv, "DQ", "DEAD1", WAIT) != NULL);
	it_client_free(nv);
	CU_ASSERT_EQUAL(nlctl("deadletters", NULL, &out), 0);
	CU_ASSERT_PTR_NULL(strstr(out, "line=NVDMV"));
	free(out);

	/* Another one, purged for good. */
	tag = it_client_send(a, dq("NV", "DEAD2"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_TRUE_FATAL(dead_letter_seen("deadletters list"));
	CU_ASSERT_EQUAL(nlctl("deadletters purge ALL", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "purged: 1"));
	free(out);
	it_pump(env, 300);
	CU_ASSERT_EQUAL(nlctl("deadletters", NULL, &out), 0);
	CU_ASSERT_PTR_NULL(strstr(out, "line=NVDMV"));
	free(out);
	it_client_free(a);
}

static void
test_audit(void)
{
	char *out = NULL;

	CU_ASSERT_EQUAL(nlctl("audit --mke DQ --limit 500", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"event\":\"accepted\""));
	CU_ASSERT_PTR_NULL(strstr(out, "\"mke\":\"AM\""));
	free(out);
	CU_ASSERT_EQUAL(nlctl("audit --ori ZZ0000000", NULL, &out), 0);
	CU_ASSERT_PTR_NULL(strstr(out, "\"event\""));
	free(out);
	CU_ASSERT_EQUAL(nlctl("audit --since -1d --limit 3 --json", NULL, &out), 2);
	free(out);
	CU_ASSERT_EQUAL(nlctl("--json audit --since -1d --limit 3", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"audit\":[{"));
	free(out);
}

/* The t of the first and the last record of an audit listing. */
static void
audit_span(const char *out, unsigned long long *first,
    unsigned long long *last)
{
	const char *p = out;

	*first = *last = 0;
	while (p != NULL && (p = strstr(p, "{\"t\":")) != NULL) {
		*last = strtoull(p + 5, NULL, 10);
		if (*first == 0)
			*first = *last;
		p += 5;
	}
}

/*
 * What issue 15 found wrong with nlctl and nlaudit: --limit gives the
 * newest records; both tools take the same times (relative, and the
 * records' own RFC 3339 time); IDs that name nothing are an error that
 * names them (exit 3, nothing done); a JSON error goes to stdout; a
 * config that no longer loads still leads nlctl to the switch's socket.
 */
static void
test_nlctl_fixes(void)
{
	char			*all = NULL, *out = NULL, *conf, cmd[1400], t[40];
	unsigned long long	 f0, l0, f1, l1;
	const char		*p;
	FILE			*f;

	CU_ASSERT_EQUAL(nlctl("--json audit --limit 100000", NULL, &all), 0);
	CU_ASSERT_EQUAL(nlctl("--json audit --limit 3", NULL, &out), 0);
	audit_span(all, &f0, &l0);
	audit_span(out, &f1, &l1);
	CU_ASSERT(f0 > 0 && f1 > f0);	/* not the oldest three */
	CU_ASSERT(l1 == l0 || l1 > l0);	/* up to the newest */
	CU_ASSERT(f1 <= l1);		/* oldest of them first */
	free(out);

	/* The same times in both tools: nlaudit takes -1h and the time it
	 * prints. */
	p = strstr(all, "\"time\":\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	snprintf(t, sizeof t, "%.*s", (int)strcspn(p + 8, "\""), p + 8);
	snprintf(cmd, sizeof cmd, "bin/nlaudit -d %s/data --since %s --count",
	    env->dir, t);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, &out), 0);
	CU_ASSERT(atoi(out) > 0);
	free(out);
	snprintf(cmd, sizeof cmd, "bin/nlaudit -d %s/data --since -1h --count",
	    env->dir);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, &out), 0);
	CU_ASSERT(atoi(out) > 0);
	free(out);
	snprintf(cmd, sizeof cmd, "audit --since %s --limit 1", t);
	CU_ASSERT_EQUAL(nlctl(cmd, NULL, &out), 0);
	free(out);
	free(all);

	/* IDs that name nothing: named, exit 3, nothing done. */
	CU_ASSERT_EQUAL(nlctl("deadletters requeue", "bogus\n", &out), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "bogus: not a dead letter"));
	free(out);
	CU_ASSERT_EQUAL(nlctl("purge CADMV", "00000000ffffffff.0\n", &out), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "00000000ffffffff.0: not queued"));
	free(out);
	/* JSON errors on stdout (it_sh merges them: the document is all). */
	snprintf(cmd, sizeof cmd, "bin/nlctl --json deadletters purge "
	    "2>/dev/null");
	CU_ASSERT_EQUAL(it_sh(env, cmd, "bogus\n", &out), 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "{\"error\":"));
	free(out);

	/* A config that does not load: status still answers. */
	conf = util_read_file(env->conf, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	snprintf(cmd, sizeof cmd, "%s/broken.xml", env->dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(cmd, "w"));
	fprintf(f, "%s<oops", conf);
	fclose(f);
	free(conf);
	snprintf(cmd, sizeof cmd, "env -u NLSWITCH_CONTROL bin/nlctl -f "
	    "%s/broken.xml status", env->dir);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "using the control socket"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "state: running"));
	free(out);
}

/* Every non-comment line of the exposition format is NAME{LABELS} VALUE. */
static int
metrics_well_formed(const char *text, int *samples)
{
	const char *p = text;

	*samples = 0;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n'), *q = p;

		if (nl == NULL)
			return 0;
		if (*p != '#') {
			if (!islower((unsigned char)*q))
				return 0;
			while (islower((unsigned char)*q) || *q == '_')
				q++;
			if (*q == '{') {
				q = memchr(q, '}', (size_t)(nl - q));
				if (q == NULL)
					return 0;
				q++;
			}
			if (*q != ' ')
				return 0;
			(*samples)++;
		}
		p = nl + 1;
	}
	return 1;
}

static void
test_http(void)
{
	char	*body = NULL, cmd[600], path[400];
	int	 samples;
	FILE	*f;

	CU_ASSERT_EQUAL(it_http(env, "GET", "/healthz", NULL, &body), 200);
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/readyz", NULL, &body), 200);
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/metrics", NULL, &body), 200);
	CU_ASSERT_TRUE(metrics_well_formed(body, &samples));
	CU_ASSERT(samples > 50);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "nlswitch_messages_acked_total{mke=\"DQ\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "nlswitch_queue_depth{destination=\"CADMV\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "nlswitch_commit_latency_seconds_bucket{le=\"+Inf\"}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "nlswitch_tls_handshake_failures_total"));
	/* Prometheus' conventions: the build, the standard process set. */
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\nnlswitch_build_info{version=\""));
	CU_ASSERT(it_metric(env, "process_resident_memory_bytes") > 1000000);
	CU_ASSERT(it_metric(env, "process_open_fds") > 3);
	CU_ASSERT(it_metric(env, "process_start_time_seconds") > 1700000000);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\nprocess_cpu_seconds_total "));
	/* promtool, when the prometheus package is installed. */
	snprintf(path, sizeof path, "%s/metrics.txt", env->dir);
	if ((f = fopen(path, "w")) != NULL) {
		fputs(body, f);
		fclose(f);
	}
	snprintf(cmd, sizeof cmd, "sh -c 'if command -v promtool >/dev/null; "
	    "then promtool check metrics < \"%s\"; else echo promtool: not "
	    "installed, skipped; fi'", path);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, NULL), 0);
	free(body);

	CU_ASSERT_EQUAL(it_http(env, "GET", "/api/status", NULL, &body), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"state\":\"running\""));
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/api/lines", NULL, &body), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"line\":\"CADMV\""));
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/api/show/ffffffffffff0000", NULL,
	    &body), 404);
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/api/hold/CADMV", NULL, &body), 405);
	free(body);
	CU_ASSERT_EQUAL(it_http_hdr(env, "POST", "/api/hold/NVDMV/DNQ",
	    "X-Nlswitch-Request: 1\r\n", NULL, &body), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"DNQ\":\"held\""));
	free(body);
	CU_ASSERT_EQUAL(it_http_hdr(env, "POST", "/api/release/NVDMV",
	    "X-Nlswitch-Request: 1\r\n", NULL, &body), 200);
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/api/audit?mke=DQ&limit=2", NULL,
	    &body), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "\"audit\":["));
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/api/denials", NULL, &body), 200);
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/", NULL, &body), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "nlswitch dashboard"));
	free(body);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/nope", NULL, &body), 404);
	free(body);
	/* HEAD on every GET endpoint: the status, no body. */
	{
		static const char *const heads[] = { "/healthz", "/readyz",
		    "/metrics", "/api/status", "/api/denials", "/" };
		size_t i;

		for (i = 0; i < sizeof heads / sizeof heads[0]; i++) {
			CU_ASSERT_EQUAL(it_http(env, "HEAD", heads[i], NULL,
			    &body), 200);
			CU_ASSERT_STRING_EQUAL(body, "");
			free(body);
		}
	}
}

/* The service state of key on line in GET /api/lines ("in", "held", ...;
 * "" if not found; static buffer). */
static const char *
svc_of(const char *line, const char *key)
{
	static char	 st[16];
	char		*body = NULL, want[64];
	const char	*p, *q;

	st[0] = '\0';
	snprintf(want, sizeof want, "\"line\":\"%s\"", line);
	if (it_http(env, "GET", "/api/lines", NULL, &body) == 200 &&
	    (p = strstr(body, want)) != NULL) {
		snprintf(want, sizeof want, "\"%s\":\"", key);
		if ((q = strstr(p, want)) != NULL)
			sscanf(q + strlen(want), "%15[a-z]", st);
	}
	free(body);
	return st;
}

/*
 * The admin API refuses what a web page of another site could make the
 * operator's browser send (issue 15): the attack of the issue (a POST
 * from another Origin, as text/plain), a forged form post, a request the
 * browser marks cross-site, one without the custom header, a name
 * rebound to 127.0.0.1 - each 403, and the line is not held. The
 * dashboard's way (same origin, the header) works.
 */
static void
test_admin_cross_origin(void)
{
	char	host[64], origin[96], ok[256], rebind[96];
	const struct {
		const char	*why, *method, *path, *headers, *body;
		int		 code;
	} rows[] = {
		{ "the issue's attack", "POST", "/api/hold/CADMV/AM",
		  "Origin: http://evil.example\r\n"
		  "Content-Type: text/plain\r\n", "x", 403 },
		{ "a forged form post", "POST", "/api/hold/CADMV/AM",
		  "Origin: null\r\nContent-Type: "
		  "application/x-www-form-urlencoded\r\n", "mke=AM", 403 },
		{ "marked cross-site, with the header", "POST",
		  "/api/hold/CADMV/AM", "X-Nlswitch-Request: 1\r\n"
		  "Sec-Fetch-Site: cross-site\r\n", NULL, 403 },
		{ "another origin, with the header", "POST",
		  "/api/hold/CADMV/AM", "X-Nlswitch-Request: 1\r\n"
		  "Origin: http://127.0.0.1:1\r\n", NULL, 403 },
		{ "no custom header", "POST", "/api/hold/CADMV/AM", NULL, NULL,
		  403 },
		{ "a rebound name, even a read", "GET", "/api/status", rebind,
		  NULL, 403 },
		{ "the dashboard's way", "POST", "/api/hold/CADMV/AM", ok, NULL,
		  200 },
	};
	char	*body = NULL;
	size_t	 i;

	snprintf(host, sizeof host, "127.0.0.1:%s", env->admin_port);
	snprintf(origin, sizeof origin, "http://%s", host);
	snprintf(ok, sizeof ok, "Host: %s\r\nOrigin: %s\r\n"
	    "Sec-Fetch-Site: same-origin\r\nX-Nlswitch-Request: 1\r\n", host,
	    origin);
	snprintf(rebind, sizeof rebind, "Host: evil.example:%s\r\n",
	    env->admin_port);
	CU_ASSERT_STRING_EQUAL(svc_of("CADMV", "AM"), "in");
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		int code = it_http_hdr(env, rows[i].method, rows[i].path,
		    rows[i].headers, rows[i].body, &body);

		if (code != rows[i].code)
			fprintf(stderr, "\n  %s: %d, want %d: %s", rows[i].why,
			    code, rows[i].code, body);
		CU_ASSERT_EQUAL(code, rows[i].code);
		if (rows[i].code == 403)
			CU_ASSERT_PTR_NOT_NULL(strstr(body, "refused"));
		free(body);
		/* Nothing refused changed the switch. */
		if (rows[i].code == 403)
			CU_ASSERT_STRING_EQUAL(svc_of("CADMV", "AM"), "in");
	}
	CU_ASSERT_STRING_EQUAL(svc_of("CADMV", "AM"), "held");
	CU_ASSERT_EQUAL(it_http_hdr(env, "POST", "/api/release/CADMV/AM", ok,
	    NULL, &body), 200);
	free(body);
	CU_ASSERT_STRING_EQUAL(svc_of("CADMV", "AM"), "in");
}

/*
 * With <admin token-file>: every call but the dashboard page needs the
 * token (401 without it or with another), a write still needs the custom
 * header; a token file too short to be one is a config error naming it.
 */
static void
test_admin_token(void)
{
	static const char token[] = "s3cr3t-t0ken-for-the-test-0001";
	struct it_env	*e = it_env_new("opstoken", "");
	char		 path[600], hdr[200], cmd[700], *conf, *p, *body = NULL;
	char		*out = NULL;
	FILE		*f;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	snprintf(path, sizeof path, "%s/admin.token", e->dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));
	fprintf(f, "%s\n", token);
	fclose(f);
	conf = util_read_file(e->conf, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p = strstr(conf, "portfile=\"admin.port\""));
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(e->conf, "w"));
	fprintf(f, "%.*s token-file=\"admin.token\"%s", (int)(p - conf +
	    strlen("portfile=\"admin.port\"")), conf, p +
	    strlen("portfile=\"admin.port\""));
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);

	CU_ASSERT_EQUAL(it_http(e, "GET", "/metrics", NULL, &body), 401);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "token"));
	free(body);
	CU_ASSERT_EQUAL(it_http_hdr(e, "GET", "/api/status",
	    "Authorization: Bearer s3cr3t-t0ken-for-the-test-0002\r\n", NULL,
	    &body), 401);
	free(body);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n", token);
	CU_ASSERT_EQUAL(it_http_hdr(e, "GET", "/metrics", hdr, NULL, &body),
	    200);
	free(body);
	CU_ASSERT_EQUAL(it_http(e, "GET", "/", NULL, &body), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(body, "nlswitch dashboard"));
	free(body);
	CU_ASSERT_EQUAL(it_http_hdr(e, "POST", "/api/hold/CADMV/AM", hdr, NULL,
	    &body), 403);
	free(body);
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s\r\n"
	    "X-Nlswitch-Request: 1\r\n", token);
	CU_ASSERT_EQUAL(it_http_hdr(e, "POST", "/api/hold/CADMV/AM", hdr, NULL,
	    &body), 200);
	free(body);

	/* A token that is no token: the config check names the file. */
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(path, "w"));
	fprintf(f, "short\n");
	fclose(f);
	snprintf(cmd, sizeof cmd, "bin/nlswitchd -n -f %s", e->conf);
	CU_ASSERT_NOT_EQUAL(it_sh(e, cmd, NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "admin.token"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "16 to 256 printable"));
	free(out);
	free(conf);
	it_env_free(e);
}

/* The dashboard in headless Chromium shows the live numbers. */
static void
test_dashboard_browser(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	char			*status = NULL, *dom = NULL, cmd[1600], want[64];
	const char		*p;
	uint64_t		 tag;
	int			 rc;

	CU_ASSERT_FATAL(a && a->up);
	/* A refusal, so the denials table has a row. */
	tag = it_client_send(a, dq("ZZ", "DASH1"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 2);
	it_client_free(a);
	it_pump(env, 1200);	/* a tick: quiet counters, throughput point */
	if (it_sh(env, "command -v chromium", NULL, NULL) != 0) {
		fprintf(stderr, "\n  dashboard: chromium not installed, "
		    "browser test skipped\n");
		CU_FAIL("chromium is required for the dashboard test "
		    "(tools/install-deps installs it)");
		return;
	}
	CU_ASSERT_EQUAL(it_http(env, "GET", "/api/status", NULL, &status), 200);
	snprintf(cmd, sizeof cmd, "mkdir -p tests/artifacts && "
	    "timeout 60 chromium --headless --no-sandbox --disable-gpu "
	    "--disable-quic --no-first-run --disable-background-networking "
	    "--disable-component-update --disable-sync --user-data-dir=%s/chrome "
	    "--virtual-time-budget=4000 --window-size=1280,900 "
	    "--screenshot=tests/artifacts/dashboard.png "
	    "http://127.0.0.1:%s/ >/dev/null 2>&1; "
	    "timeout 60 chromium --headless --no-sandbox --disable-gpu "
	    "--disable-quic --no-first-run --disable-background-networking "
	    "--disable-component-update --disable-sync --user-data-dir=%s/chrome "
	    "--virtual-time-budget=4000 --dump-dom http://127.0.0.1:%s/ "
	    "2>/dev/null", env->dir, env->admin_port, env->dir, env->admin_port);
	rc = it_sh(env, cmd, NULL, &dom);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-loaded=\"1\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-line=\"CADMV\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-dest=\"NVDMV\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, msg_er_reason(MSG_ER_DEST)));
	/* The page shows the same received count as the API. */
	if ((p = strstr(status, "\"received\":")) != NULL) {
		snprintf(want, sizeof want, "id=\"stat-received\">%d<",
		    atoi(p + 11));
		CU_ASSERT_PTR_NOT_NULL(strstr(dom, want));
	}
	CU_ASSERT_EQUAL(access("tests/artifacts/dashboard.png", R_OK), 0);
	free(status);
	free(dom);
}

/* GET path as JSON (NULL unless 200 and JSON). */
static json_t *
api_json(const char *path)
{
	char	*body = NULL;
	json_t	*doc = NULL;

	if (it_http(env, "GET", path, NULL, &body) == 200)
		doc = json_loads(body, 0, NULL);
	free(body);
	return doc;
}

/* The sum of the numbers of array key in doc (nulls count 0). */
static double
api_sum(const json_t *doc, const char *key)
{
	const json_t	*a = json_object_get(doc, key), *v;
	size_t		 i;
	double		 sum = 0;

	json_array_foreach(a, i, v)
		sum += json_number_value(v);
	return sum;
}

/* The DOM headless Chromium makes of the dashboard at path (NULL: failed). */
static char *
browser_dom(const char *path)
{
	char	cmd[2048], *dom = NULL;

	snprintf(cmd, sizeof cmd, "timeout 60 chromium --headless --no-sandbox "
	    "--disable-gpu --disable-quic --no-first-run "
	    "--disable-background-networking --disable-component-update "
	    "--disable-sync --user-data-dir=%s/chrome "
	    "--virtual-time-budget=4000 --dump-dom 'http://127.0.0.1:%s%s' "
	    "2>/dev/null", env->dir, env->admin_port, path);
	if (it_sh(env, cmd, NULL, &dom) != 0) {
		free(dom);
		return NULL;
	}
	return dom;
}

/* A screenshot of the dashboard at path in tests/artifacts/file, for a
 * person to look at (CI keeps the directory). @return 0 if written. */
static int
browser_shot(const char *path, const char *file)
{
	char cmd[2048];

	snprintf(cmd, sizeof cmd, "mkdir -p tests/artifacts && rm -f "
	    "tests/artifacts/%s && timeout 60 chromium --headless --no-sandbox "
	    "--disable-gpu --disable-quic --no-first-run "
	    "--disable-background-networking --disable-component-update "
	    "--disable-sync --user-data-dir=%s/chrome "
	    "--virtual-time-budget=4000 --window-size=1400,1000 "
	    "--screenshot=tests/artifacts/%s 'http://127.0.0.1:%s%s' "
	    ">/dev/null 2>&1", file, env->dir, file, env->admin_port, path);
	it_sh(env, cmd, NULL, NULL);
	snprintf(cmd, sizeof cmd, "tests/artifacts/%s", file);
	return access(cmd, R_OK);
}

/* The value of attribute name (name="...") after p, before the next '>';
 * a new string, or NULL. */
static char *
dom_attr(const char *p, const char *name)
{
	const char	*end = strchr(p, '>'), *q;
	char		 want[64];

	snprintf(want, sizeof want, " %s=\"", name);
	if ((q = strstr(p, want)) == NULL || (end != NULL && q > end))
		return NULL;
	q += strlen(want);
	return xstrndup(q, strcspn(q, "\""));
}

/*
 * Compare what the chart svg (id) drew for series with the API's array
 * key of h (values divided by div): every point drawn whose time the API
 * still has must have its value. @return the points matched (-1: a value
 * differs or the series is not drawn); *nonzero counts those not 0.
 */
static int
chart_matches(const char *dom, const char *svg, const char *series,
    const json_t *h, const json_t *vals, double div, int *nonzero)
{
	const json_t	*ts = json_object_get(h, "t");
	const char	*p;
	char		 want[96], *t = NULL, *v = NULL, *tp, *vp, *end;
	long long	 pt;
	double		 pv, av;
	size_t		 i;
	int		 matched = 0;

	*nonzero = 0;
	snprintf(want, sizeof want, "id=\"%s\"", svg);
	if ((p = strstr(dom, want)) == NULL)
		return -1;
	snprintf(want, sizeof want, "data-series=\"%s\"", series);
	if ((p = strstr(p, want)) == NULL || (t = dom_attr(p, "data-t")) ==
	    NULL || (v = dom_attr(p, "data-v")) == NULL) {
		free(t);
		return -1;
	}
	for (tp = t, vp = v; *tp != '\0'; tp = end) {
		pt = strtoll(tp, &end, 10);
		if (end == tp)
			break;
		pv = strtod(vp, &vp);
		for (i = 0; i < json_array_size(ts); i++)
			if (json_integer_value(json_array_get(ts, i)) == pt)
				break;
		if (i == json_array_size(ts))
			continue;	/* gone from the API's window since */
		av = json_number_value(json_array_get(vals, i)) / div;
		if (json_is_null(json_array_get(vals, i)) ||
		    pv < av - 1e-6 || pv > av + 1e-6) {
			matched = -1;
			break;
		}
		matched++;
		*nonzero += pv != 0;
	}
	free(t);
	free(v);
	return matched;
}

/*
 * /api/throughput's [t, received, acked, delivered] are the 1-second
 * points of h (window 300): @return the points both have (-1 if one
 * differs).
 */
static int
throughput_matches(const json_t *h)
{
	json_t		*tp = api_json("/api/throughput"), *e;
	const json_t	*ts = json_object_get(h, "t");
	static const char *const key[] = { "received", "acked", "delivered" };
	size_t		 i, j;
	int		 k, n = 0;

	json_array_foreach(json_object_get(tp, "series"), i, e) {
		for (j = 0; j < json_array_size(ts); j++)
			if (json_integer_value(json_array_get(ts, j)) ==
			    json_integer_value(json_array_get(e, 0)))
				break;
		if (j == json_array_size(ts))
			continue;
		for (k = 0; k < 3; k++)
			if (json_integer_value(json_array_get(e, k + 1)) !=
			    json_integer_value(json_array_get(
			    json_object_get(h, key[k]), j)))
				n = -1;
		if (n < 0)
			break;
		n++;
	}
	json_decref(tp);
	return n;
}

/*
 * The history charts draw the API's points (GET /api/history): the
 * throughput, the queue depth of a destination and the ACK latency
 * quantiles, with time axes (HH:MM ticks) and gridlines.
 */
static void
test_dashboard_history(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	json_t			*h = NULL;
	char			*dom, ctl[16];
	const char		*p;
	uint64_t		 tag;
	int			 i, n, nz, ticks;

	CU_ASSERT_FATAL(a && a->up && ca && ca->up);
	for (i = 0; i < 5; i++) {
		snprintf(ctl, sizeof ctl, "HIST%d", i);
		tag = it_client_send(a, dq("CA", ctl));
		CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
		CU_ASSERT_PTR_NOT_NULL(it_find(ca, "DQ", ctl, WAIT));
	}
	/* Until the last 5 minutes' points hold them (a tick a second). */
	for (i = 0; i < WAIT / 200; i++) {
		json_decref(h);
		h = api_json("/api/history?window=300");
		if (h != NULL && api_sum(h, "acked") >= 5 &&
		    api_sum(h, "delivered") >= 5)
			break;
		it_pump(env, 200);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(h, "step")), 1);
	CU_ASSERT(api_sum(h, "acked") >= 5);
	CU_ASSERT(json_is_array(json_object_get(json_object_get(h, "depth"),
	    "CADMV")));
	CU_ASSERT_EQUAL(strlen(json_string_value(json_object_get(h,
	    "instance"))), 32);
	CU_ASSERT(throughput_matches(h) > 0);
	it_client_free(ca);
	it_client_free(a);
	json_decref(h);

	if (it_sh(env, "command -v chromium", NULL, NULL) != 0) {
		CU_FAIL("chromium is required for the dashboard test "
		    "(tools/install-deps installs it)");
		return;
	}
	dom = browser_dom("/?window=300");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-loaded=\"1\""));
	/* Fetched after the page: the points the page drew are there. */
	h = api_json("/api/history?window=300");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	n = chart_matches(dom, "chart-throughput", "acked", h,
	    json_object_get(h, "acked"), 1, &nz);
	CU_ASSERT(n > 0);
	CU_ASSERT(nz > 0);		/* the messages above */
	n = chart_matches(dom, "chart-throughput", "received", h,
	    json_object_get(h, "received"), 1, &nz);
	CU_ASSERT(n > 0 && nz > 0);
	n = chart_matches(dom, "chart-throughput", "delivered", h,
	    json_object_get(h, "delivered"), 1, &nz);
	CU_ASSERT(n > 0 && nz > 0);
	n = chart_matches(dom, "chart-depth", "CADMV", h, json_object_get(
	    json_object_get(h, "depth"), "CADMV"), 1, &nz);
	CU_ASSERT(n > 0);
	n = chart_matches(dom, "chart-latency", "p99", h,
	    json_object_get(h, "ack_p99_ms"), 1, &nz);
	CU_ASSERT(n > 0 && nz > 0);
	n = chart_matches(dom, "chart-latency", "p50", h,
	    json_object_get(h, "ack_p50_ms"), 1, &nz);
	CU_ASSERT(n > 0);
	/* A time axis: a tick a minute over 5 minutes, HH:MM; gridlines. */
	ticks = 0;
	for (p = strstr(dom, "id=\"chart-throughput\""); p != NULL &&
	    (p = strstr(p, "class=\"tick\"")) != NULL &&
	    p < strstr(dom, "id=\"chart-depth\""); p++) {
		const char *txt = strchr(p, '>') + 1;

		CU_ASSERT(isdigit((unsigned char)txt[0]) &&
		    isdigit((unsigned char)txt[1]) && txt[2] == ':' &&
		    isdigit((unsigned char)txt[3]) &&
		    isdigit((unsigned char)txt[4]) && txt[5] == '<');
		ticks++;
	}
	CU_ASSERT(ticks >= 4 && ticks <= 6);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "class=\"grid\""));
	json_decref(h);
	free(dom);
	CU_ASSERT_EQUAL(browser_shot("/?window=300", "dashboard-history.png"),
	    0);
}

/* Wait (bounded) until the switch says line is not connected; 1 if so. */
static int
line_down(const char *line)
{
	json_t	*l;
	char	 path[64];
	int	 i, down = 0;

	snprintf(path, sizeof path, "/api/line/%s", line);
	for (i = 0; i < WAIT / 100 && !down; i++) {
		if ((l = api_json(path)) != NULL)
			down = json_is_false(json_object_get(l, "connected"));
		json_decref(l);
		if (!down)
			it_pump(env, 100);
	}
	return down;
}

/*
 * A line's page: its state, service per key, deliveries and refusals in
 * full; its hold button holds the line (the same POST, with the same
 * protection, as a click). The page clicks it itself when the URL names
 * this switch's instance, and only then.
 */
static void
test_dashboard_line(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	json_t			*h, *l, *d;
	char			*dom, *out = NULL, url[256], want[1200];
	const char		*inst, *reason;
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up);
	tag = it_client_send(a, dq("ZZ", "LINEPG1"));	/* refused */
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 2);
	it_client_free(a);
	CU_ASSERT_EQUAL(nlctl("release CADMV DQ", NULL, &out), 0);
	free(out);
	CU_ASSERT_STRING_EQUAL(svc_of("CADMV", "DQ"), "in");

	/* The API: deliveries to CADMV (test_dashboard_history's), the
	 * refusal of WAAGY's message in full; 404 for no line. */
	l = api_json("/api/line/CADMV");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT(json_array_size(json_object_get(l, "deliveries")) > 0);
	d = json_array_get(json_object_get(l, "deliveries"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(d, "ori")),
	    "WA0340000");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(l, "service"), "DQ")), "in");
	json_decref(l);
	l = api_json("/api/line/WAAGY");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	d = json_array_get(json_object_get(l, "refusals"), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(d, "code")),
	    MSG_ER_DEST);
	reason = json_string_value(json_object_get(d, "reason"));
	CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
	CU_ASSERT(strncmp(reason, msg_er_reason(MSG_ER_DEST),
	    strlen(msg_er_reason(MSG_ER_DEST))) == 0);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/api/line/NOSUCH", NULL, &out),
	    404);
	free(out);

	if (it_sh(env, "command -v chromium", NULL, NULL) != 0) {
		CU_FAIL("chromium is required for the dashboard test "
		    "(tools/install-deps installs it)");
		json_decref(l);
		return;
	}
	/* WAAGY's page: down (once the switch has seen the client go), the
	 * refusal's reason whole, on hover too. */
	CU_ASSERT_TRUE(line_down("WAAGY"));
	dom = browser_dom("/#line/WAAGY");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-line-state=\"down\""));
	snprintf(want, sizeof want, "title=\"%s\">%s</td>", reason, reason);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-act=\"hold\" "
	    "data-line=\"WAAGY\""));
	free(dom);
	json_decref(l);

	/* A URL naming another instance does nothing. */
	dom = browser_dom("/?test=hold:CADMV:DQ:0123456789abcdef0123456789abcdef"
	    "#line/CADMV");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-test=\"refused"));
	CU_ASSERT_STRING_EQUAL(svc_of("CADMV", "DQ"), "in");
	free(dom);

	h = api_json("/api/history?window=60");
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	inst = json_string_value(json_object_get(h, "instance"));
	snprintf(url, sizeof url, "/?test=hold:CADMV:DQ:%s#line/CADMV", inst);
	json_decref(h);
	CU_ASSERT_TRUE(line_down("CADMV"));
	dom = browser_dom(url);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dom);
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-line-state=\"down\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-test=\"hold CADMV DQ: 200\""));
	/* Redrawn after the click: DQ held, its buttons still there. */
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-key=\"DQ\" "
	    "data-svc=\"held\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "data-act=\"release\" "
	    "data-line=\"CADMV\" data-key=\"DQ\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(dom, "WA0340000"));	/* deliveries */
	free(dom);
	CU_ASSERT_STRING_EQUAL(svc_of("CADMV", "DQ"), "held");
	CU_ASSERT_EQUAL(browser_shot("/?window=300#line/CADMV",
	    "dashboard-line.png"), 0);
	CU_ASSERT_EQUAL(nlctl("release CADMV DQ", NULL, &out), 0);
	free(out);
}

/* s with the first from replaced by to (new string). */
static char *
replace(const char *s, const char *from, const char *to)
{
	const char	*p = strstr(s, from);
	struct ubuf	 b;

	ubuf_init(&b);
	if (p == NULL) {
		ubuf_adds(&b, s);
		return ubuf_take(&b, NULL);
	}
	ubuf_add(&b, s, (size_t)(p - s));
	ubuf_adds(&b, to);
	ubuf_adds(&b, p + strlen(from));
	return ubuf_take(&b, NULL);
}

static void
test_reload(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	char			*conf, *bad, *out = NULL, cmd[2048];
	size_t			 len;
	uint64_t		 tag;
	int			 i;
	FILE			*f;

	CU_ASSERT_FATAL(a && a->up && ca && ca->up);
	conf = util_read_file(env->conf, &len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);

	/* A broken file: the running config stays, FILE:LINE: reason. */
	bad = xstrdup(conf);
	memcpy(strstr(bad, "<ori>OR0260000</ori>"), "<ori>OR02600!0</ori>", 20);
	f = fopen(env->conf, "w");
	fputs(bad, f);
	fclose(f);
	CU_ASSERT_EQUAL(nlctl("reload", NULL, &out), 1);
	snprintf(cmd, sizeof cmd, "%s:", env->conf);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, cmd));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "kept the running configuration"));
	free(out);
	/* ... and the switch's log says so too. */
	CU_ASSERT_EQUAL(it_log_wait(env, "nlswitchd.log", "control: reload "
	    "refused, the running configuration is kept: ", WAIT), 0);
	free(bad);

	/* A new line: added without dropping the connected ones. */
	bad = xstrdup(conf);
	{
		char *p = strstr(bad, "  <region");
		struct ubuf b;

		ubuf_init(&b);
		ubuf_add(&b, bad, (size_t)(p - bad));
		ubuf_adds(&b, "  <line code=\"TXAGY\" cn=\"txagy\"><ori>TX0000000"
		    "</ori><accept>DR</accept></line>\n");
		ubuf_adds(&b, p);
		f = fopen(env->conf, "w");
		fputs(b.data, f);
		fclose(f);
		ubuf_free(&b);
	}
	free(bad);
	/* SIGHUP reloads as well as nlctl reload. */
	kill(env->switch_pid, SIGHUP);
	/* The signal is handled when the switch's loop gets to it. */
	for (i = 0; i < 100; i++) {
		CU_ASSERT_EQUAL(nlctl("lines", NULL, &out), 0);
		if (out != NULL && strstr(out, "line=TXAGY") != NULL)
			break;
		free(out);
		out = NULL;
		it_pump(env, 100);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "line=TXAGY"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "line=CADMV cn=cadmv member=CA "
	    "connected=true"));
	free(out);
	CU_ASSERT_EQUAL(nlctl("reload", NULL, &out), 0);
	free(out);
	CU_ASSERT_TRUE(a->up);
	CU_ASSERT_TRUE(ca->up);
	tag = it_client_send(a, dq("CA", "RELOAD1"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_TRUE(it_find(ca, "DQ", "RELOAD1", WAIT) != NULL);

	/* A renewed switch certificate: new connections get it, the
	 * connected lines keep their sessions. */
	snprintf(cmd, sizeof cmd, "cd '%s' && openssl ecparam -name prime256v1 "
	    "-genkey -noout -out renewed.key && openssl req -new -key renewed.key "
	    "-subj '/O=nlswitch test/CN=nlswitch-renewed' -out renewed.csr && "
	    "printf 'subjectAltName=IP:127.0.0.1\\n' > renewed.ext && "
	    "openssl x509 -req -in renewed.csr -CA ca.pem -CAkey ca.key "
	    "-CAcreateserial -days 2 -extfile renewed.ext -out renewed.pem",
	    env->pki);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, NULL), 0);
	bad = replace(conf, "pki/switch.pem", "pki/renewed.pem");
	{
		char *twice = replace(bad, "pki/switch.key", "pki/renewed.key");

		free(bad);
		bad = twice;
	}
	f = fopen(env->conf, "w");
	fputs(bad, f);
	fclose(f);
	free(bad);
	CU_ASSERT_EQUAL(nlctl("reload", NULL, &out), 0);
	free(out);
	snprintf(cmd, sizeof cmd, "echo | timeout 10 openssl s_client -connect "
	    "127.0.0.1:%s -CAfile %s/ca.pem -cert %s/oragy.pem -key %s/oragy.key "
	    "2>/dev/null | grep -c 'CN = nlswitch-renewed'", env->port, env->pki,
	    env->pki, env->pki);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, &out), 0);
	free(out);
	CU_ASSERT_TRUE(a->up);
	CU_ASSERT_TRUE(ca->up);

	f = fopen(env->conf, "w");
	fputs(conf, f);
	fclose(f);
	CU_ASSERT_EQUAL(nlctl("reload", NULL, &out), 0);
	free(out);
	free(conf);
	it_client_free(ca);
	it_client_free(a);
}

/* Wait (bounded) for the switch to exit by itself; 1 if it exited 0. */
static int
switch_exits(int wait_ms)
{
	uint64_t	end = util_mono_us() + (uint64_t)wait_ms * 1000;
	int		st;

	while (util_mono_us() < end) {
		if (waitpid(env->switch_pid, &st, WNOHANG) == env->switch_pid) {
			env->switch_pid = 0;
			return WIFEXITED(st) && WEXITSTATUS(st) == 0;
		}
		it_pump(env, 100);
	}
	return 0;
}

/*
 * Drain: refuse new messages with ER .93., wait for what is in flight, exit
 * 0; keep what is queued. Nothing here depends on timing: a delivery the
 * line never acknowledges holds the drain open (grace 600 s) for as long
 * as the checks take, and ends only when the test lets it.
 */
static void
test_drain(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	char			*out = NULL, *body = NULL;
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up && ca && ca->up);
	ca->autodack = 0;
	tag = it_client_send(a, dq("CA", "KEEP1"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(it_find(ca, "DQ", "KEEP1", WAIT));
	CU_ASSERT_EQUAL(nlctl("drain 600", NULL, &out), 0);
	free(out);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/readyz", NULL, &body), 503);
	free(body);
	tag = it_client_send(a, dq("CA", "LATE1"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 2);
	CU_ASSERT_EQUAL(it_er(a->reply[tag]), MSG_ER_UNAVAILABLE);
	/* The line goes without acknowledging: KEEP1 is queued again, nothing
	 * is in flight, and the switch exits 0 by itself. */
	it_client_free(ca);
	CU_ASSERT_TRUE_FATAL(switch_exits(15000));
	it_client_free(a);

	/* What was queued is there after the restart, and LATE1 is not. */
	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);
	a = it_client_new(env, "waagy", WAIT);
	ca = it_client_new(env, "cadmv", WAIT);
	CU_ASSERT_FATAL(a && a->up && ca && ca->up);
	CU_ASSERT_TRUE(it_find(ca, "DQ", "KEEP1", WAIT) != NULL);
	CU_ASSERT_EQUAL(it_count(ca, "DQ", "LATE1"), 0);

	/* The grace period bounds a drain: a delivery that is never
	 * acknowledged does not keep the switch up past it. */
	ca->autodack = 0;
	tag = it_client_send(a, dq("CA", "HOLD1"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(it_find(ca, "DQ", "HOLD1", WAIT));
	CU_ASSERT_EQUAL(nlctl("drain 1", NULL, &out), 0);
	free(out);
	CU_ASSERT_TRUE_FATAL(switch_exits(15000));
	it_client_free(ca);
	it_client_free(a);

	/* ... and the unacknowledged delivery is still queued. */
	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);
	ca = it_client_new(env, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca && ca->up);
	CU_ASSERT_TRUE(it_find(ca, "DQ", "HOLD1", WAIT) != NULL);
	it_client_free(ca);
}

/*
 * Idle lines in little memory (issue 14, item 5; docs/performance.md):
 * IDLE_LINES lines (bin/nlidle: certificates idle1.. issued from the
 * test CA) connect and sit idle until the switch says every one has
 * given its TLS buffers back (lines_idle); then the heap the switch has
 * in use per line (mallinfo2, through nlctl status) and its RssAnon per
 * line are under generous bounds; the lines disconnect and, once the
 * switch has trimmed its heap (mem_trims), what they took is back. The
 * same is done twice and the second round is the one measured, from
 * where the first left the switch (its arenas and tables made once).
 * Every wait is for a state, bounded; nothing is timed. Under a
 * sanitizer's allocator the figures mean nothing and are not checked.
 */
#define IDLE_LINES		300
/* Bound on each wait for a state (a loaded machine, a sanitizer). */
#define IDLE_WAIT		60000
/* Per idle line: what the heap may hold (OpenSSL's SSL object, session,
 * peer certificate and cipher contexts, about 21 KB measured; with the
 * record buffers kept it was over 100 KB) and RssAnon (20 KB measured,
 * 35 to 39 KB before the buffers were given back). */
#define IDLE_HEAP_PER_LINE	(40 * 1024)
#define IDLE_RSS_PER_LINE	(36 * 1024)
/* What may stay after they all left (measured: under 1 MB). */
#define IDLE_HEAP_LEFT		(1024 * 1024)
#define IDLE_RSS_LEFT		(4 * 1024 * 1024)

/* A figure of nlctl --json status on e (whatever its exit status: a
 * switch with a warning still answers), -1 if it has none. */
static long long
idle_status(struct it_env *e, const char *key)
{
	char		*out = NULL, pat[64], *p;
	long long	 v = -1;

	snprintf(pat, sizeof pat, "\"%s\":", key);
	if (it_sh(e, "bin/nlctl --json status", NULL, &out) != -1 &&
	    out != NULL && (p = strstr(out, pat)) != NULL)
		v = strtoll(p + strlen(pat), NULL, 10);
	else
		fprintf(stderr, "\n  nlctl status (%s): %.300s\n", key,
		    out != NULL ? out : "(nothing)");
	free(out);
	return v;
}

/* Poll until status key of e is want (cmp 0) or at least want (cmp 1),
 * for at most wait_ms. @return its last value. */
static long long
idle_status_wait(struct it_env *e, const char *key, long long want, int cmp,
    int wait_ms)
{
	long long	 v = -1;
	int		 waited;

	for (waited = 0; waited <= wait_ms; waited += 100) {
		v = idle_status(e, key);
		if (cmp == 0 ? v == want : v >= want)
			break;
		it_pump(e, 100);
	}
	return v;
}

/* RssAnon of process pid, bytes (-1 unreadable). */
static long long
idle_rss(pid_t pid)
{
	char		 path[64], line[256];
	long long	 kb = -1;
	FILE		*f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "RssAnon: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* One round: IDLE_LINES up and idle, figures in *heap and *rss, then
 * down and trimmed (what fails is asserted). */
static void
idle_round(struct it_env *e, int round, long long *heap, long long *rss)
{
	char		 log[32], want[64], n[16], path[600], *argv[10];
	char		*text;
	long long	 trims;
	pid_t		 pid;

	snprintf(log, sizeof log, "nlidle%d.log", round);
	snprintf(n, sizeof n, "%d", IDLE_LINES);
	argv[0] = "bin/nlidle";
	argv[1] = "-k";
	argv[2] = e->pki;
	argv[3] = "-P";
	argv[4] = e->portfile;
	argv[5] = "-n";
	argv[6] = n;
	argv[7] = NULL;
	pid = it_spawn(e, log, argv);
	CU_ASSERT_FATAL(pid > 0);
	snprintf(want, sizeof want, "up=%d failed=0", IDLE_LINES);
	CU_ASSERT_EQUAL(it_log_wait(e, log, "nlidle: up", 60000), 0);
	snprintf(path, sizeof path, "%s/%s", e->dir, log);
	text = util_read_file(path, NULL);
	CU_ASSERT(text != NULL && strstr(text, want) != NULL);
	free(text);
	CU_ASSERT_EQUAL(idle_status_wait(e, "lines_idle", IDLE_LINES, 0,
	    IDLE_WAIT), IDLE_LINES);
	*heap = idle_status(e, "heap_in_use_bytes");
	*rss = idle_rss(e->switch_pid);
	trims = idle_status(e, "mem_trims");
	it_kill(e, pid, SIGTERM);	/* close_notify on every line */
	CU_ASSERT_EQUAL(idle_status_wait(e, "connections", 0, 0, IDLE_WAIT),
	    0);
	CU_ASSERT(idle_status_wait(e, "mem_trims", trims + 1, 1, IDLE_WAIT) >
	    trims);
	/* How long the last trim held the loop: told, for an operator. */
	CU_ASSERT(idle_status(e, "mem_trim_last_us") >= 0);
}

static void
test_idle_lines_memory(void)
{
	struct it_env	*e = it_env_new("lines", "heartbeat=\"600\"");
	struct ubuf	 u;
	long long	 heap0, rss0, heap1, rss1, heap2, rss2, h, r;
	char		*conf, *p;
	FILE		*f;
	int		 i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	/* The idle lines go after the file's lines, before its regions. */
	conf = util_read_file(e->conf, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p = strstr(conf, "  <region"));
	ubuf_init(&u);
	for (i = 1; i <= IDLE_LINES; i++)
		ubuf_printf(&u, "  <line code=\"I%d\" cn=\"idle%d\"><ori>"
		    "IL%07d</ori><accept>AM</accept></line>\n", i, i, i);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f = fopen(e->conf, "w"));
	fprintf(f, "%.*s%s%s", (int)(p - conf), conf, u.data, p);
	fclose(f);
	ubuf_free(&u);
	free(conf);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);

	idle_round(e, 1, &h, &r);
	heap0 = idle_status(e, "heap_in_use_bytes");
	rss0 = idle_rss(e->switch_pid);
	idle_round(e, 2, &heap1, &rss1);
	heap2 = idle_status(e, "heap_in_use_bytes");
	rss2 = idle_rss(e->switch_pid);
	fprintf(stderr, "\n  idle lines: %d; heap per line %lld B, RssAnon "
	    "per line %lld B; after they left: heap %+lld B, RssAnon %+lld B "
	    "(first round: heap %lld, RssAnon %lld)\n", IDLE_LINES,
	    (heap1 - heap0) / IDLE_LINES, (rss1 - rss0) / IDLE_LINES,
	    heap2 - heap0, rss2 - rss0, h, r);
#ifndef __SANITIZE_ADDRESS__
	CU_ASSERT(heap0 > 0 && rss0 > 0);
	CU_ASSERT(heap1 - heap0 <= (long long)IDLE_LINES * IDLE_HEAP_PER_LINE);
	CU_ASSERT(rss1 - rss0 <= (long long)IDLE_LINES * IDLE_RSS_PER_LINE);
	CU_ASSERT(heap2 - heap0 <= IDLE_HEAP_LEFT);
	CU_ASSERT(rss2 - rss0 <= IDLE_RSS_LEFT);
#endif
	it_env_free(e);
}

int
main(void)
{
	CU_pSuite	s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_ops", suite_init, suite_clean);
	CU_ADD_TEST(s, test_status_lines_queues);
	CU_ADD_TEST(s, test_hold_release_remove_restore);
	CU_ADD_TEST(s, test_hold_survives_restart);
	CU_ADD_TEST(s, test_show_purge);
	CU_ADD_TEST(s, test_deadletters);
	CU_ADD_TEST(s, test_audit);
	CU_ADD_TEST(s, test_nlctl_fixes);
	CU_ADD_TEST(s, test_http);
	CU_ADD_TEST(s, test_admin_cross_origin);
	CU_ADD_TEST(s, test_admin_token);
	CU_ADD_TEST(s, test_dashboard_browser);
	CU_ADD_TEST(s, test_dashboard_history);
	CU_ADD_TEST(s, test_dashboard_line);
	CU_ADD_TEST(s, test_reload);
	CU_ADD_TEST(s, test_drain);
	CU_ADD_TEST(s, test_idle_lines_memory);
	return it_run_suites();
}
