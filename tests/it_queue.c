/*
 * it_queue - store-and-forward behaviour through the running switch:
 * redelivery after ack timeout and after reconnect, per (destination,
 * message key) service states (.01 .02 .04), NL and region fan-out, held
 * message expiry into the dead-letter area, and a full store answered with
 * NAK "queue full" while the switch keeps serving.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <event2/event.h>

#include "client.h"
#include "it_util.h"
#include "queue.h"
#include "util.h"

#define WAIT	10000

static struct it_env *env;

static const char *
dq(const char *dest, const char *ctl)
{
	return it_dq("WA0340000", dest, ctl, "C00000018", 0);
}

static int
suite_init(void)
{
	env = it_env_new("queue", "window=\"256\" heartbeat=\"2\" ack-timeout=\"2\" "
	    "held-ttl=\"7\" retry-min=\"1\" retry-max=\"2\"");
	return env != NULL && it_switch_start(env) == 0 ? 0 : -1;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

static void
test_redeliver_after_timeout(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up && ca && ca->up);
	ca->autodack = 0;
	tag = it_client_send(a, dq("CA", "TMO1"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(ca, 1, WAIT), 0);
	/* No DACK: after ack-timeout (2 s) plus backoff it comes again,
	 * with the same message ID so the receiver can drop it. */
	CU_ASSERT_EQUAL_FATAL(it_client_wait_dlv(ca, 2, WAIT), 0);
	CU_ASSERT_EQUAL(ca->dlv[0].msgid, ca->dlv[1].msgid);
	CU_ASSERT_EQUAL(ca->dlv[0].copy, ca->dlv[1].copy);
	CU_ASSERT_EQUAL(it_count(ca, "DQ", "TMO1"), 2);
	/* Acknowledged: no further delivery. */
	client_dack(ca->c, ca->dlv[1].msgid, ca->dlv[1].copy);
	it_pump(env, 5000);
	CU_ASSERT_EQUAL(it_count(ca, "DQ", "TMO1"), 2);
	it_client_free(ca);
	it_client_free(a);
}

static void
test_redeliver_after_reconnect(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	uint64_t		 tag, id;

	CU_ASSERT_FATAL(a && a->up && ca && ca->up);
	ca->autodack = 0;
	tag = it_client_send(a, dq("CA", "RECON1"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(it_find(ca, "DQ", "RECON1", WAIT));
	id = it_find(ca, "DQ", "RECON1", 0)->msgid;
	it_client_free(ca);		/* gone without acknowledging */
	ca = it_client_new(env, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca && ca->up);
	CU_ASSERT_PTR_NOT_NULL_FATAL(it_find(ca, "DQ", "RECON1", WAIT));
	CU_ASSERT_EQUAL(it_find(ca, "DQ", "RECON1", 0)->msgid, id);
	it_client_free(ca);
	it_client_free(a);
}

static int
sm_status(struct it_client *a, const char *ctl, const char *dest, int ms)
{
	uint64_t	end = util_mono_us() + (uint64_t)ms * 1000;
	size_t		i;

	for (;;) {
		for (i = 0; i < a->ndlv; i++) {
			const char *x = a->dlv[i].xml;
			char c[16], d[16];

			if (it_sm(x) < 0)
				continue;
			util_strlcpy(c, it_field(x, "DocumentControlFieldText"),
			    sizeof c);
			util_strlcpy(d, it_sm_dest(x), sizeof d);
			if (strcmp(c, ctl) == 0 && strcmp(d, dest) == 0)
				return it_sm(x);
		}
		if (util_mono_us() >= end)
			return -1;
		it_pump(env, 20);
	}
}

static void
test_service_states(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	struct it_client	*nv = it_client_new(env, "nvdmv", WAIT);
	uint64_t		 tag;
	static const struct {
		const char	*mke, *dest, *ctl, *body;
		int		 status;
	} cases[] = {
		/* NV does not accept AM: .01, not stored. */
		{ "AM", "NV", "SVC01",
		    "<n2:MailMessageText>HELLO</n2:MailMessageText>", 1 },
		/* NV's KQ service is removed: .04, not stored. */
		{ "KQ", "NV", "SVC04", "<n2c:Driver><j:PersonAugmentation>"
		    "<nc:DriverLicense><nc:DriverLicenseIdentification>"
		    "<nc:IdentificationID>N00000018</nc:IdentificationID>"
		    "</nc:DriverLicenseIdentification></nc:DriverLicense>"
		    "</j:PersonAugmentation></n2c:Driver>", 4 },
		/* CA's DNQ service is held: .02, stored, not delivered. */
		{ "DNQ", "CA", "SVC02", "<n2:Person><nc:PersonName>"
		    "<nc:PersonGivenName>ALEX</nc:PersonGivenName>"
		    "<nc:PersonSurName>SAMPLE</nc:PersonSurName>"
		    "</nc:PersonName></n2:Person>", 2 },
	};
	size_t i;

	CU_ASSERT_FATAL(a && a->up && ca && ca->up && nv && nv->up);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		tag = it_client_send(a, it_msg(cases[i].mke, "WA0340000",
		    cases[i].dest, cases[i].ctl, cases[i].body));
		CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
		CU_ASSERT_EQUAL(sm_status(a, cases[i].ctl, cases[i].dest, WAIT),
		    cases[i].status);
	}
	it_pump(env, 1000);
	CU_ASSERT_EQUAL(it_count(nv, "AM", "SVC01"), 0);
	CU_ASSERT_EQUAL(it_count(nv, "KQ", "SVC04"), 0);
	CU_ASSERT_EQUAL(it_count(ca, "DNQ", "SVC02"), 0);
	it_client_free(nv);
	it_client_free(ca);
	it_client_free(a);
}

static void
test_fanout(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*ca = it_client_new(env, "cadmv", WAIT);
	struct it_client	*nv = it_client_new(env, "nvdmv", WAIT);
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up && ca && ca->up && nv && nv->up);
	tag = it_client_send(a, dq("NL", "FAN1"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(it_find(ca, "DQ", "FAN1", WAIT));
	CU_ASSERT_PTR_NOT_NULL(it_find(nv, "DQ", "FAN1", WAIT));
	tag = it_client_send(a, dq("WR", "FAN2"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(it_find(ca, "DQ", "FAN2", WAIT));
	CU_ASSERT_PTR_NOT_NULL(it_find(nv, "DQ", "FAN2", WAIT));
	/* Each copy names its own receiving ORI: the line's ORI for a copy
	 * routed to a member or region code. */
	if (it_find(nv, "DQ", "FAN2", 0) != NULL)
		CU_ASSERT_STRING_EQUAL(it_field(it_find(nv, "DQ", "FAN2", 0)->xml,
		    "DestinationORIID"), "NVOLN0000");
	/* Five destinations, one copy per line. */
	tag = it_client_send(a, it_msg("DQ", "WA0340000",
	    "CA NV CAOLN0000 NVOLN0000 CA1234567", "FAN5",
	    it_oln("C00000018")));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(it_find(nv, "DQ", "FAN5", WAIT));
	CU_ASSERT_PTR_NOT_NULL(it_find(ca, "DQ", "FAN5", WAIT));
	it_pump(env, 500);
	CU_ASSERT_EQUAL(it_count(ca, "DQ", "FAN5"), 1);
	CU_ASSERT_EQUAL(it_count(nv, "DQ", "FAN5"), 1);
	it_client_free(nv);
	it_client_free(ca);
	it_client_free(a);
}

/*
 * A receiver that does not read while 10 MB are sent to it (this suite's
 * window of 256 lets the switch push them): the switch's write path fills
 * the socket, keeps what does not fit (the combining BIO up to 1 MB, then
 * the bufferevent), waits for the socket, and once the receiver reads
 * again every message arrives whole. The receiver runs on its own event
 * base, which is not run while it "sleeps".
 */
#define SLOW_N		200
#define SLOW_PAD	48000

static void
test_slow_receiver(void)
{
	struct it_env		 slow = *env;
	struct it_client	*a, *ca;
	char			 ctl[16], *doc;
	uint64_t		 tag = 0;
	size_t			 i, k, whole = 0;
	int			 seen[SLOW_N], nseen = 0, acked = 1;

	slow.base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(slow.base);
	a = it_client_new(env, "waagy", WAIT);
	ca = it_client_new(&slow, "cadmv", WAIT);
	CU_ASSERT_FATAL(a && a->up && ca && ca->up);

	for (i = 0; i < SLOW_N; i++) {
		snprintf(ctl, sizeof ctl, "SLOW%03zu", i);
		doc = it_msg_padded(ctl, "SLOW RECEIVER TEST", "PADDING FOR "
		    "THE SLOW RECEIVER TEST 0123456789 XYZ\n", SLOW_PAD / 50);
		tag = it_client_send(a, doc);
		free(doc);
		if (i % 16 == 15)
			it_pump(env, 20);
	}
	for (i = 1; i <= tag; i++)
		if (it_client_wait(a, i, WAIT) != 1)
			acked = 0;
	CU_ASSERT_TRUE(acked);
	/* The switch keeps trying while the receiver sleeps. */
	it_pump(env, 800);
	CU_ASSERT_TRUE(ca->ndlv < SLOW_N);

	/* Awake: everything arrives, each message whole (duplicates from
	 * redelivery allowed). */
	memset(seen, 0, sizeof seen);
	for (k = 0; k < 2000 && nseen < SLOW_N; k++) {
		it_pump(&slow, 20);
		it_pump(env, 1);
		for (; whole < ca->ndlv; whole++) {
			const char *x = ca->dlv[whole].xml;
			const char *c = it_field(x, "DocumentControlFieldText");
			unsigned n;

			CU_ASSERT(ca->dlv[whole].len > SLOW_PAD);
			CU_ASSERT_PTR_NOT_NULL(strstr(x, "</n2:NLETS>"));
			if (c != NULL && sscanf(c, "SLOW%u", &n) == 1 &&
			    n < SLOW_N && !seen[n]) {
				seen[n] = 1;
				nseen++;
			}
		}
	}
	CU_ASSERT_EQUAL(nseen, SLOW_N);
	it_client_free(ca);
	it_client_free(a);
	event_base_free(slow.base);
}

struct dead {
	uint64_t	msgid;
	int		found;
};

static void
dead_cb(const struct queue_copy *c, void *arg)
{
	struct dead *d = arg;

	if (c->msgid == d->msgid && strcmp(c->line, "NVDMV") == 0)
		d->found++;
}

static void
test_held_expiry(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct event_base	*base;
	struct queue		*q;
	struct dead		 d = { 0, 0 };
	char			 path[400], *cause = NULL;
	uint64_t		 tag;

	CU_ASSERT_FATAL(a && a->up);
	/* NV is down: held (.02), then expired after held-ttl (.08). */
	tag = it_client_send(a, dq("NV", "TTL1"));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
	d.msgid = strtoull(a->reply[tag], NULL, 16);
	CU_ASSERT_EQUAL(sm_status(a, "TTL1", "NV", WAIT), 2);
	CU_ASSERT_PTR_NOT_NULL(it_find(a, "SM", "TTL1", WAIT));
	{
		uint64_t end = util_mono_us() + 20000000ULL;
		size_t n;

		while ((n = it_count(a, "SM", "TTL1")) < 2 && util_mono_us() < end)
			it_pump(env, 50);
		CU_ASSERT_EQUAL(n, 2);
		if (n == 2)
			CU_ASSERT_EQUAL(it_sm(a->dlv[a->ndlv - 1].xml), 8);
	}
	it_client_free(a);

	/* The copy is in the dead-letter area of the store, and NV gets
	 * nothing when it comes up. */
	it_switch_stop(env, SIGTERM);
	snprintf(path, sizeof path, "%s/data", env->dir);
	base = event_base_new();
	q = queue_open(&queue_backend_lmdb, path, 0, base, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	queue_walk_dead(q, dead_cb, &d);
	CU_ASSERT_EQUAL(d.found, 1);
	queue_close(q);
	event_base_free(base);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(env), 0);
	{
		struct it_client *nv = it_client_new(env, "nvdmv", WAIT);

		CU_ASSERT_FATAL(nv && nv->up);
		it_pump(env, 1500);
		CU_ASSERT_EQUAL(it_count(nv, "DQ", "TTL1"), 0);
		it_client_free(nv);
	}
}

/* A tiny store: fill it until ER .92., then drain it and go on. */
static void
test_queue_full(void)
{
	struct it_env		*e = it_env_new("full", "map-size=\"2097152\" "
	    "heartbeat=\"2\"");
	struct it_client	*a, *ca, *b;
	char			 body[12000], text[9001];
	uint64_t		 tag;
	int			 i, r, full = 0, acked = 0, later = 0;

	CU_ASSERT_FATAL(e != NULL && it_switch_start(e) == 0);
	a = it_client_new(e, "waagy", WAIT);
	b = it_client_new(e, "oragy", WAIT);
	CU_ASSERT_FATAL(a && a->up && b && b->up);
	memset(text, 'X', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	snprintf(body, sizeof body, "<n2:MailMessageText>%s"
	    "</n2:MailMessageText>", text);
	for (i = 0; i < 2000 && !full; i++) {
		char ctl[16];

		snprintf(ctl, sizeof ctl, "F%d", i);
		tag = it_client_send(a, it_msg("AM", "WA0340000", "CA", ctl,
		    body));
		r = it_client_wait(a, tag, WAIT);
		if (r == 1)
			acked++;
		else if (r == 2) {
			CU_ASSERT_EQUAL(it_er(a->reply[tag]), MSG_ER_QUEUE_FULL);
			CU_ASSERT_PTR_NOT_NULL(strstr(it_field(a->reply[tag],
			    "ResponseText"), msg_er_reason(MSG_ER_QUEUE_FULL)));
			full = 1;
		} else
			break;
	}
	CU_ASSERT_TRUE_FATAL(full);
	CU_ASSERT(acked > 10);
	/* Still serving: the other session gets a clear answer too. */
	tag = it_client_send(b, it_msg("AM", "OR0260000", "CA", "B1", body));
	CU_ASSERT(it_client_wait(b, tag, WAIT) != 0);
	CU_ASSERT_EQUAL(kill(e->switch_pid, 0), 0);

	/* CA drains the store: every acked message arrives... */
	ca = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca && ca->up);
	{
		uint64_t end = util_mono_us() + 30000000ULL;

		while (ca->ndlv < (size_t)acked && util_mono_us() < end)
			it_pump(e, 20);
	}
	CU_ASSERT(ca->ndlv >= (size_t)acked);
	/* ...and new messages are accepted again. */
	for (i = 0; i < 50 && !later; i++) {
		tag = it_client_send(a, it_msg("AM", "WA0340000", "CA", "AGAIN",
		    body));
		if (it_client_wait(a, tag, WAIT) == 1)
			later = 1;
		else
			it_pump(e, 200);
	}
	CU_ASSERT_TRUE(later);
	it_client_free(ca);
	it_client_free(b);
	it_client_free(a);
	it_env_free(e);
}

int
main(void)
{
	CU_pSuite	s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_queue", suite_init, suite_clean);
	CU_ADD_TEST(s, test_redeliver_after_timeout);
	CU_ADD_TEST(s, test_redeliver_after_reconnect);
	CU_ADD_TEST(s, test_service_states);
	CU_ADD_TEST(s, test_fanout);
	CU_ADD_TEST(s, test_slow_receiver);
	CU_ADD_TEST(s, test_held_expiry);
	s = CU_add_suite("it_queue_full", NULL, NULL);
	CU_ADD_TEST(s, test_queue_full);
	return it_run_suites();
}
