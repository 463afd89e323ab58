/*
 * it_space - the store's space under the worst a network does to it,
 * through the running switch (docs/operations.md, "Space"):
 *   - fair share: a destination that is down and flooded reaches its
 *     quota and gets "queue full for destination" while another stream
 *     keeps flowing with no NAK at all; a sender flooding stops at its
 *     own quota, also after a restart, while another sender to the same
 *     line is taken;
 *   - the audit trail stays within its own budget: thousands of messages
 *     later the oldest records were pruned into the archive and no
 *     message was refused for it;
 *   - a full file system (a small tmpfs, root only) refuses new messages
 *     with "queue full", says why on /readyz and nlctl status, loses no
 *     delete while the destination drains, and heals without a restart
 *     and without duplicates.
 */
#include <sys/stat.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "client.h"
#include "it_util.h"
#include "msg.h"
#include "util.h"

#define WAIT	10000

/* An AM of about 10 KB (its text at the schema's limit) from WAAGY. */
static const char *
big_am(const char *dest, const char *ctl)
{
	static char	body[11000];
	char		text[9001];

	memset(text, 'X', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	snprintf(body, sizeof body, "<n2:MailMessageText>%s"
	    "</n2:MailMessageText>", text);
	return it_msg("AM", "WA0340000", dest, ctl, body);
}

/* A metric's value from /metrics (-1 if absent). */
static double
metric(struct it_env *e, const char *name)
{
	char	*resp = NULL, *p, pat[128];
	double	 v = -1;

	if (it_http(e, "GET", "/metrics", NULL, &resp) == 200 && resp != NULL) {
		snprintf(pat, sizeof pat, "\n%s ", name);
		if ((p = strstr(resp, pat)) != NULL)
			v = strtod(p + strlen(pat), NULL);
	}
	free(resp);
	return v;
}

/* Send n messages from c (made by mk) in windows of 50; count answers. */
static void
stream(struct it_client *c, int n, const char *(*mk)(int),
    int *acked, int *nacked)
{
	uint64_t	tags[50];
	int		i, j, w, r;

	for (i = 0; i < n; i += w) {
		w = n - i < 50 ? n - i : 50;
		for (j = 0; j < w; j++)
			tags[j] = it_client_send(c, mk(i + j));
		for (j = 0; j < w; j++) {
			r = it_client_wait(c, tags[j], WAIT);
			*acked += r == 1;
			*nacked += r == 2;
		}
	}
}

static const char *
mk_to_or(int i)
{
	char	ctl[16];

	snprintf(ctl, sizeof ctl, "OR%d", i);
	return it_msg("AM", "WA0340000", "OR0260000", ctl,
	    "<n2:MailMessageText>to Oregon</n2:MailMessageText>");
}

static const char *
mk_big_to_or(int i)
{
	char	ctl[16];

	snprintf(ctl, sizeof ctl, "B%d", i);
	return big_am("OR0260000", ctl);
}

/*
 * A counter once it stopped moving: the same value 500 ms apart (at most
 * 15 s of waiting; the last value read then).
 */
static double
metric_settled(struct it_env *e, const char *name)
{
	double	v = metric(e, name), w;
	int	i;

	for (i = 0; i < 30; i++) {
		it_pump(e, 500);
		if ((w = metric(e, name)) == v)
			break;
		v = w;
	}
	return v;
}

/* The next flood message's number: F0, F1, ... from each test's start. */
static int flood_next;

/* Flood dest (down) from c until a NAK; @return the messages ACKed. */
static int
flood(struct it_client *c, const char *dest, int max, char **why)
{
	char		ctl[16];
	uint64_t	tag;
	int		i, r, acked = 0;

	*why = NULL;
	for (i = 0; i < max; i++) {
		/* Each message new: the same bytes again would be a resend. */
		snprintf(ctl, sizeof ctl, "F%d", flood_next++);
		tag = it_client_send(c, big_am(dest, ctl));
		if ((r = it_client_wait(c, tag, WAIT)) == 1)
			acked++;
		else {
			if (r == 2)
				*why = xstrdup(c->reply[tag]);
			break;
		}
	}
	return acked;
}

/* One destination down and flooded; another stream loses nothing. */
static void
test_fair_share(void)
{
	struct it_env		*e;
	struct it_client	*wa, *or, *ca;
	char			*why;
	int			 flooded, acked = 0, nacked = 0, i;

	flood_next = 0;

	e = it_env_new_conf("share", "map-size=\"33554432\" heartbeat=\"2\"",
	    " quota=\"2M\"", "");
	CU_ASSERT_FATAL(e != NULL && it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	or = it_client_new(e, "oragy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up && or && or->up);
	or->autodack = 1;

	/* CA is down: its queue fills to its 2 MB quota, no further. */
	flooded = flood(wa, "CA", 400, &why);
	if (flooded <= 150 || flooded >= 250 || why == NULL)
		fprintf(stderr, "\nflooded %d: %s\n", flooded, why ? why : "-");
	CU_ASSERT(flooded > 150 && flooded < 250);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_EQUAL(it_er(why), MSG_ER_QUEUE_FULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(it_er_text(why),
	    "queue full for destination CADMV"));
	free(why);
	CU_ASSERT(metric(e, "nlswitch_quota_refused_total") >= 1);

	/* Every other line keeps flowing: 600 messages, big and small, to
	 * Oregon, not one NAK; and CA keeps refusing. */
	stream(wa, 300, mk_to_or, &acked, &nacked);
	stream(wa, 300, mk_big_to_or, &acked, &nacked);
	CU_ASSERT_EQUAL(acked, 600);
	CU_ASSERT_EQUAL(nacked, 0);
	CU_ASSERT_EQUAL(it_client_wait_dlv(or, 600, 30000), 0);
	CU_ASSERT_EQUAL(flood(wa, "CA", 5, &why), 0);
	CU_ASSERT(why != NULL && it_er(why) == MSG_ER_QUEUE_FULL);
	free(why);

	/* CA comes back: everything ACKed arrives, then it takes more. */
	ca = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca && ca->up);
	ca->autodack = 1;
	CU_ASSERT_EQUAL(it_client_wait_dlv(ca, (size_t)flooded, 30000), 0);
	for (i = 0; i < 50 && it_count(ca, "AM", "F0") == 0; i++)
		it_pump(e, 100);
	CU_ASSERT_EQUAL(it_count(ca, "AM", "F0"), 1);
	it_pump(e, 500);
	CU_ASSERT(flood(wa, "CA", 5, &why) == 5);
	free(why);
	it_client_free(ca);
	it_client_free(or);
	it_client_free(wa);
	it_env_free(e);
}

/* One sender flooding a down line stops at its sender quota; another
 * sender to the same line is still taken. */
static void
test_sender_share(void)
{
	struct it_env		*e;
	struct it_client	*wa, *or;
	char			*why;
	uint64_t		 tag;
	int			 flooded, i, acked = 0;

	flood_next = 0;

	e = it_env_new_conf("sender", "map-size=\"33554432\" heartbeat=\"2\" "
	    "dest-quota=\"100%\" sender-quota=\"1M\"", "", "");
	CU_ASSERT_FATAL(e != NULL && it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	or = it_client_new(e, "oragy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up && or && or->up);
	flooded = flood(wa, "CA", 400, &why);
	if (flooded <= 60 || flooded >= 120 || why == NULL)
		fprintf(stderr, "\nflooded %d: %s\n", flooded, why ? why : "-");
	CU_ASSERT(flooded > 60 && flooded < 120);
	CU_ASSERT(why != NULL && it_er(why) == MSG_ER_QUEUE_FULL);
	CU_ASSERT(why != NULL && strstr(it_er_text(why),
	    "queue full for sender WAAGY") != NULL);
	free(why);
	/* Oregon's messages to the same line are not WAAGY's. */
	for (i = 0; i < 20; i++) {
		tag = it_client_send(or, it_msg("AM", "OR0260000", "CA",
		    "ORSHARE", "<n2:MailMessageText>mine</n2:MailMessageText>"));
		acked += it_client_wait(or, tag, WAIT) == 1;
	}
	CU_ASSERT_EQUAL(acked, 20);
	/* After a restart the held copies still count against WAAGY. */
	it_client_free(or);
	it_client_free(wa);
	it_switch_stop(e, SIGTERM);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up);
	CU_ASSERT_EQUAL(flood(wa, "CA", 5, &why), 0);
	CU_ASSERT(why != NULL && strstr(it_er_text(why),
	    "queue full for sender WAAGY") != NULL);
	free(why);
	it_client_free(wa);
	it_env_free(e);
}

/* Far more audit than its budget: pruned into the archive, no refusal. */
static void
test_audit_budget(void)
{
	struct it_env		*e;
	struct it_client	*wa, *or;
	char			*resp = NULL, *out = NULL, cmd[512];
	double			 pruned, archived, records;
	int			 acked = 0, nacked = 0, rc;

	e = it_env_new_conf("audit", "map-size=\"16777216\" heartbeat=\"2\"",
	    "", "  <audit budget=\"1M\" alarm=\"50\" archive=\"archive\"/>\n");
	CU_ASSERT_FATAL(e != NULL);
	snprintf(cmd, sizeof cmd, "%s/archive", e->dir);
	CU_ASSERT_FATAL(mkdir(cmd, 0700) == 0);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	or = it_client_new(e, "oragy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up && or && or->up);
	or->autodack = 1;

	/* ~2 records of ~400 bytes per message: 4,000 messages are about
	 * three times the budget. */
	stream(wa, 4000, mk_to_or, &acked, &nacked);
	CU_ASSERT_EQUAL(acked, 4000);
	CU_ASSERT_EQUAL(nacked, 0);
	CU_ASSERT_EQUAL(it_client_wait_dlv(or, 4000, 30000), 0);
	/* The last DACKs' deletes (and their records) commit after the
	 * deliveries came: read the figures once the trail is still. */
	archived = metric_settled(e, "nlswitch_audit_archived_total");
	pruned = metric(e, "nlswitch_audit_pruned_for_size_total");
	CU_ASSERT(pruned > 1000);
	CU_ASSERT_EQUAL(archived, pruned);
	CU_ASSERT(metric(e, "nlswitch_audit_bytes") <=
	    metric(e, "nlswitch_audit_budget_bytes") + 65536);
	CU_ASSERT_EQUAL(metric(e, "nlswitch_store_healthy"), 1);

	/* Ready, with the alarm (50 %) as a warning. */
	CU_ASSERT_EQUAL(it_http(e, "GET", "/readyz", NULL, &resp), 200);
	CU_ASSERT(resp != NULL && strncmp(resp, "ready\n", 6) == 0);
	CU_ASSERT(resp != NULL && strstr(resp, "warning: audit trail at") !=
	    NULL);
	free(resp);

	/* The archive holds the pruned records, in nlaudit's JSON lines. */
	snprintf(cmd, sizeof cmd, "cat %s/archive/audit-*.jsonl | wc -l",
	    e->dir);
	rc = it_sh(e, cmd, NULL, &out);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(out != NULL && (double)atol(out) == archived);
	free(out);
	/* nlaudit reads the archive and the store as one trail. */
	snprintf(cmd, sizeof cmd, "bin/nlaudit -f %s --archive --count",
	    e->conf);
	rc = it_sh(e, cmd, NULL, &out);
	CU_ASSERT_EQUAL(rc, 0);
	records = metric(e, "nlswitch_audit_records");
	CU_ASSERT(out != NULL && (double)atol(out) >= archived + records -
	    10 && (double)atol(out) <= archived + records + 10);
	free(out);
	snprintf(cmd, sizeof cmd, "head -1 %s/archive/audit-*.jsonl", e->dir);
	rc = it_sh(e, cmd, NULL, &out);
	CU_ASSERT(out != NULL && strncmp(out, "{\"t\":", 5) == 0 &&
	    strstr(out, "\"event\":") != NULL);
	free(out);
	it_client_free(or);
	it_client_free(wa);
	it_env_free(e);
}

/* A full disk refuses, reports, loses nothing, and heals by itself. */
static void
test_disk_full(void)
{
	struct it_env		*e;
	struct it_client	*wa, *ca;
	char			 cmd[600], ctl[16], *why, *resp = NULL;
	char			*out = NULL;
	int			 flooded, i, dup = 0, missing = 0, ok;

	flood_next = 0;

	e = it_env_new_conf("disk", "heartbeat=\"2\" dest-quota=\"100%\"", "",
	    "");
	CU_ASSERT_FATAL(e != NULL);
	snprintf(cmd, sizeof cmd, "mkdir -p %s/data && mount -t tmpfs -o "
	    "size=6m tmpfs %s/data 2>/dev/null", e->dir, e->dir);
	if (geteuid() != 0 || system(cmd) != 0) {
		fprintf(stderr, "\n  skipped: cannot mount a small tmpfs "
		    "(needs root)\n");
		it_env_free(e);
		return;
	}
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up);

	/* CA down; the 6 MB file system fills long before the 1 GB map. */
	flooded = flood(wa, "CA", 2000, &why);
	if (flooded <= 100 || flooded >= 500 || why == NULL)
		fprintf(stderr, "\nflooded %d: %s\n", flooded, why ? why : "-");
	CU_ASSERT(flooded > 100 && flooded < 500);
	CU_ASSERT_PTR_NOT_NULL_FATAL(why);
	CU_ASSERT_EQUAL(it_er(why), MSG_ER_QUEUE_FULL);
	free(why);
	CU_ASSERT_EQUAL(it_http(e, "GET", "/readyz", NULL, &resp), 503);
	CU_ASSERT(resp != NULL && strstr(resp, "no-space") != NULL &&
	    strstr(resp, "file system") != NULL);
	free(resp);
	resp = NULL;
	CU_ASSERT_EQUAL(it_sh(e, "bin/nlctl status", NULL, &out), 0);
	CU_ASSERT(out != NULL && strstr(out, "not-ready") != NULL);
	free(out);
	CU_ASSERT_EQUAL(metric(e, "nlswitch_store_healthy"), 0);

	/* CA drains: every ACKed message once, the deletes all commit. */
	ca = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca && ca->up);
	ca->autodack = 1;
	CU_ASSERT_EQUAL(it_client_wait_dlv(ca, (size_t)flooded, 60000), 0);
	for (i = 0; i < flooded; i++) {
		size_t n;

		snprintf(ctl, sizeof ctl, "F%d", i);
		n = it_count(ca, "AM", ctl);
		dup += n > 1;
		missing += n == 0;
	}
	CU_ASSERT_EQUAL(missing, 0);
	CU_ASSERT_EQUAL(dup, 0);

	/* Ready again without a restart, and taking messages. */
	for (i = 0, ok = 0; i < 100 && !ok; i++) {
		free(resp);
		resp = NULL;
		ok = it_http(e, "GET", "/readyz", NULL, &resp) == 200;
		if (!ok)
			it_pump(e, 100);
	}
	free(resp);
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_EQUAL(flood(wa, "CA", 20, &why), 20);
	free(why);
	CU_ASSERT_EQUAL(it_client_wait_dlv(ca, (size_t)flooded + 20, 30000),
	    0);
	CU_ASSERT_EQUAL(kill(e->switch_pid, 0), 0);
	it_client_free(ca);
	it_client_free(wa);
	it_switch_stop(e, SIGTERM);
	snprintf(cmd, sizeof cmd, "umount %s/data", e->dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
	it_env_free(e);
}

int
main(void)
{
	CU_pSuite	s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_space", NULL, NULL);
	CU_ADD_TEST(s, test_fair_share);
	CU_ADD_TEST(s, test_sender_share);
	CU_ADD_TEST(s, test_audit_budget);
	CU_ADD_TEST(s, test_disk_full);
	return it_run_suites();
}
