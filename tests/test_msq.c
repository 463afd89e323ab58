/*
 * test_msq - multi-state queries: the members' states, the timer, what
 * an answer matches, the summary, the merged document (valid, and its
 * legacy rendering), and the state records read back from a store.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>

#include "legacy.h"
#include "msgbuild.h"
#include "msgparse.h"
#include "msq.h"
#include "queue.h"
#include "unit.h"
#include "util.h"

#define S	1000000ULL

static struct msgparse_schema *schema;

static int
suite_init(void)
{
	return (schema = unit_schema_load("msq")) == NULL ? -1 : 0;
}

static int
suite_clean(void)
{
	msgparse_schema_free(schema);
	schema = NULL;
	return 0;
}

/* A DQ from WA0340000 to NL at t=100 s: CA NV AZ sent, OR held, ID
 * removed; 60 s timer, forgotten at 1000 s. */
static struct msq *
five(void)
{
	struct msq *q = msq_new(0x2a, MSG_KEY_DQ, "WA0340000", "C1", "WAAGY",
	    "NL", 100 * S, 160 * S, 1000 * S);

	msq_member_add(q, "CADMV", "CA", MSQ_PENDING);
	msq_member_add(q, "NVDMV", "NV", MSQ_PENDING);
	msq_member_add(q, "AZDMV", "AZ", MSQ_PENDING);
	msq_member_add(q, "ORDMV", "OR", MSQ_HELD);
	msq_member_add(q, "IDDMV", "ID", MSQ_OUT);
	return q;
}

/* Which answers match which query and member. */
static void
test_msq_match(void)
{
	static const struct {
		int		 rkey;
		const char	*ori, *ctl, *line;
		int		 member;	/* -1: no match */
	} rows[] = {
		{ MSG_KEY_DR, "WA0340000", "C1", "CADMV", 0 },
		{ MSG_KEY_DR, "WA0340000", "C1", "ORDMV", 3 },	/* held */
		{ MSG_KEY_DR, "WA0340000", "C1", "IDDMV", -1 },	/* removed */
		{ MSG_KEY_KR, "WA0340000", "C1", "CADMV", -1 },	/* key */
		{ MSG_KEY_DR, "WA0340001", "C1", "CADMV", -1 },	/* ori */
		{ MSG_KEY_DR, "WA0340000", "C2", "CADMV", -1 },	/* ctl */
		{ MSG_KEY_DR, "WA0340000", "C1", "TXDMV", -1 },	/* line */
	};
	struct msq_table	*t = msq_table_new();
	struct msq		*q = five(), *m;
	size_t			 i;
	int			 mi;

	msq_table_add(t, q);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		mi = -1;
		m = msq_match(t, rows[i].rkey, rows[i].ori, rows[i].ctl,
		    rows[i].line, &mi);
		CU_ASSERT_EQUAL(m == NULL ? -1 : mi, rows[i].member);
	}
	/* An answer being committed is not matched twice; an answered
	 * member not again. */
	q->m[1].inflight = 1;
	CU_ASSERT_PTR_NULL(msq_match(t, MSG_KEY_DR, "WA0340000", "C1",
	    "NVDMV", &mi));
	q->m[0].st = MSQ_NOREC;
	CU_ASSERT_PTR_NULL(msq_match(t, MSG_KEY_DR, "WA0340000", "C1",
	    "CADMV", &mi));
	/* A DNQ's answer is a DNR, a DQG's a DR. */
	CU_ASSERT_EQUAL(msg_key_answer(MSG_KEY_DNQ), MSG_KEY_DNR);
	CU_ASSERT_EQUAL(msg_key_answer(MSG_KEY_DQG), MSG_KEY_DR);
	CU_ASSERT_EQUAL(msg_key_answer(MSG_KEY_AM), MSG_KEY_NONE);
	msq_table_free(t);
}

/* When the summary is due, when a late answer goes, when it is forgotten. */
static void
test_msq_timer(void)
{
	struct msq_table	*t = msq_table_new();
	struct msq		*q = five();
	int			 mi = -1;

	msq_table_add(t, q);
	CU_ASSERT_PTR_NULL(msq_due(t, 159 * S));
	q->m[0].st = MSQ_HIT;
	q->m[0].answer = 0x30;
	q->m[1].st = MSQ_NOREC;
	q->m[2].st = MSQ_HIT;
	q->m[2].answer = 0x31;
	/* OR is held: not complete before the timer. */
	CU_ASSERT_FALSE(msq_complete(q));
	CU_ASSERT_PTR_NULL(msq_due(t, 159 * S));
	CU_ASSERT_PTR_EQUAL(msq_due(t, 160 * S), q);
	q->busy = 1;
	CU_ASSERT_PTR_NULL(msq_due(t, 160 * S));
	/* The summary went: hits merged, OR still awaited. */
	q->busy = 0;
	q->done = 1;
	q->m[0].answer = q->m[2].answer = 0;
	CU_ASSERT_PTR_NULL(msq_due(t, 170 * S));
	CU_ASSERT_PTR_NULL(msq_late(t, &mi));
	CU_ASSERT_PTR_NULL(msq_stale(t, 170 * S));
	/* OR answers late: parked, then delivered, then nothing is left. */
	q->m[3].st = MSQ_HIT;
	q->m[3].answer = 0x40;
	CU_ASSERT_PTR_EQUAL(msq_late(t, &mi), q);
	CU_ASSERT_EQUAL(mi, 3);
	CU_ASSERT_PTR_NULL(msq_stale(t, 2000 * S));
	q->m[3].st = MSQ_LATE;
	q->m[3].answer = 0;
	CU_ASSERT_PTR_EQUAL(msq_stale(t, 170 * S), q);
	msq_table_del(t, q);
	CU_ASSERT_EQUAL(msq_table_count(t), 0);

	/* Every member answered: due before the timer. */
	q = five();
	msq_table_add(t, q);
	q->m[0].st = q->m[1].st = q->m[2].st = q->m[3].st = MSQ_NOREC;
	CU_ASSERT_PTR_EQUAL(msq_due(t, 101 * S), q);
	/* Never answered: forgotten at its forget time, not before. */
	q->m[0].st = MSQ_PENDING;
	q->done = 1;
	CU_ASSERT_PTR_NULL(msq_stale(t, 999 * S));
	CU_ASSERT_PTR_EQUAL(msq_stale(t, 1000 * S), q);
	msq_table_free(t);
}

static void
test_msq_summary(void)
{
	struct msq	*q = five();
	struct ubuf	 b;

	q->m[0].st = MSQ_HIT;
	q->m[1].st = MSQ_NOREC;
	ubuf_init(&b);
	msq_summary(&b, q, -1, 170 * S);
	CU_ASSERT_STRING_EQUAL(b.data,
	    "MULTI-STATE RESPONSE TO DQ FROM WA0340000 CTL C1 TO NL\n"
	    "QUERIED 5: CA NV AZ OR ID\n"
	    "HIT 1: CA\n"
	    "NOT ON FILE 1: NV\n"
	    "OUT OF SERVICE, WILL FORWARD 1: OR\n"
	    "OUT OF SERVICE, NOT FORWARDED 1: ID\n"
	    "NO RESPONSE 1: AZ");
	ubuf_reset(&b);
	msq_summary(&b, q, 2, 175 * S);
	CU_ASSERT_STRING_EQUAL(b.data,
	    "LATE RESPONSE TO MULTI-STATE DQ FROM WA0340000 CTL C1 TO NL\n"
	    "FROM AZ, 75 SECONDS AFTER THE QUERY; THE SUMMARY WAS SENT");
	/* A hit the merged answer had no room for; still a hit. */
	q->m[2].st = MSQ_CONT;
	ubuf_reset(&b);
	msq_summary(&b, q, 2, 175 * S);
	CU_ASSERT_STRING_EQUAL(b.data,
	    "MULTI-STATE RESPONSE TO DQ FROM WA0340000 CTL C1 TO NL, "
	    "CONTINUED\nFROM AZ, A HIT THE SUMMARY LISTS (NO ROOM FOR IT IN "
	    "ONE MESSAGE)");
	ubuf_reset(&b);
	msq_summary(&b, q, -1, 175 * S);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\nHIT 2: CA AZ\n"));
	ubuf_free(&b);
	msq_free(q);
}

/* A state's free-text DR to WA0340000 (caller frees). */
static char *
state_dr(const char *ori, const char *text, size_t *len)
{
	struct ubuf	 b;
	const char	*dest = "WA0340000";

	ubuf_init(&b);
	msgbuild_begin(&b, MSG_KEY_DR, ori, &dest, 1, "C1");
	msgbuild_text(&b, "n2:ResponseText", text);
	msgbuild_end(&b, MSG_KEY_DR);
	return ubuf_take(&b, len);
}

/*
 * The merged answer validates against the schema, is a DR from the
 * switch to the sender with the CTL, carries each hit whole, and renders
 * as legacy text with each state's answer under its own header line.
 */
static void
test_msq_build(void)
{
	struct msq		*q = five();
	struct msg		 m;
	struct msg_diags	 md;
	struct ubuf		 b, text;
	const char		*bodies[2];
	size_t			 lens[2];
	char			*ca, *az, *cause = NULL;

	q->m[0].st = q->m[2].st = MSQ_HIT;
	q->m[1].st = MSQ_NOREC;
	ca = state_dr("CAOLN0000", "SAMPLE RECORD CA", &lens[0]);
	az = state_dr("AZOLN0000", "SAMPLE RECORD AZ", &lens[1]);
	bodies[0] = ca;
	bodies[1] = az;
	ubuf_init(&b);
	CU_ASSERT_EQUAL_FATAL(msq_build(&b, q, -1, bodies, lens, 2, 170 * S),
	    0);
	CU_ASSERT_EQUAL(msgparse_message(schema, b.data, b.len, 0, 0, &m,
	    &md), 0);
	if (md.n > 0)
		fprintf(stderr, "\n  %d:%d %s", md.d[0].line, md.d[0].col,
		    md.d[0].text);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_DR);
	CU_ASSERT_STRING_EQUAL(m.ori, MSG_SWITCH_ORI);
	CU_ASSERT_STRING_EQUAL(m.ctl, "C1");
	CU_ASSERT_EQUAL(m.ndest, 1);
	CU_ASSERT_STRING_EQUAL(m.dest[0], "WA0340000");
	/* The XML declarations of the answers stay out. */
	CU_ASSERT_PTR_NULL(strstr(strstr(b.data, "StateResponse"), "<?xml"));
	ubuf_init(&text);
	CU_ASSERT_EQUAL(legacy_from_xml(schema, b.data, b.len, NULL, &text,
	    &cause), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text.data,
	    "DR.NL0000000.WA0340000.*C1.TXT\nMULTI-STATE RESPONSE TO DQ"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text.data,
	    "\nDR.CAOLN0000.WA0340000.*C1.TXT\nSAMPLE RECORD CA\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text.data,
	    "\nDR.AZOLN0000.WA0340000.*C1.TXT\nSAMPLE RECORD AZ"));
	/* A body that is no XML: nothing is appended. */
	bodies[1] = "no xml";
	lens[1] = 6;
	ubuf_reset(&b);
	CU_ASSERT_EQUAL(msq_build(&b, q, -1, bodies, lens, 2, 170 * S), -1);
	CU_ASSERT_EQUAL(b.len, 0);
	free(cause);
	ubuf_free(&text);
	ubuf_free(&b);
	free(ca);
	free(az);
	msq_free(q);
}

/* Run the loop until q committed everything (bounded). */
static void
run_until_idle(struct event_base *base, struct queue *q)
{
	uint64_t end = util_mono_us() + 5 * S;

	while (queue_pending(q) > 0 && util_mono_us() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	CU_ASSERT_EQUAL(queue_pending(q), 0);
}

/* The state records of a query and of an answer, read back. */
/* Load filter: queries from the ORI arg only (by their header). */
static int
keep_ori(uint64_t id, const struct msq *head, void *arg)
{
	(void)id;
	return head == NULL || strcmp(head->ori, arg) == 0;
}

/* Load filter: queries of node (intptr_t)arg only. */
static int
keep_node(uint64_t id, const struct msq *head, void *arg)
{
	(void)head;
	return MSQ_NODE(id) == (int)(intptr_t)arg;
}

static void
test_msq_states(void)
{
	struct event_base	*base = event_base_new();
	struct queue		*qu;
	struct queue_states	 qs, bad;
	struct queue_op		 op;
	struct msq_table	*t = msq_table_new();
	struct msq		*q = five(), *r;
	char			*cause = NULL;

	qu = queue_open(&queue_backend_ram, "msq", 1 << 20, base, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(qu);
	memset(&qs, 0, sizeof qs);
	msq_states_all(&qs, q);
	msq_states_answer(&qs, q, 0, MSQ_HIT, 0x30);
	queue_states_push(&qs, xstrdup("msq/00000000000000ff/CADMV"),
	    xstrdup("H CA 31 0"));	/* a member without its header */
	memset(&op, 0, sizeof op);
	op.type = QUEUE_OP_STATE;
	op.states = qs.st;
	op.nstates = qs.n;
	queue_submit(qu, &op);
	run_until_idle(base, qu);
	CU_ASSERT_EQUAL(op.result, QUEUE_E_OK);

	memset(&bad, 0, sizeof bad);
	CU_ASSERT_EQUAL(msq_table_load(t, qu, NULL, NULL, &bad), 0);
	CU_ASSERT_EQUAL(msq_table_count(t), 1);
	CU_ASSERT_EQUAL(bad.n, 1);
	r = msq_table_find(t, 0x2a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(r->key, MSG_KEY_DQ);
	CU_ASSERT_STRING_EQUAL(r->ori, "WA0340000");
	CU_ASSERT_STRING_EQUAL(r->ctl, "C1");
	CU_ASSERT_STRING_EQUAL(r->line, "WAAGY");
	CU_ASSERT_STRING_EQUAL(r->to, "NL");
	CU_ASSERT_EQUAL(r->deadline_us, 160 * S);
	CU_ASSERT_EQUAL(r->nmember, 5);
	if (r->nmember == 5) {
		/* In routing order again (the store sorts them by line). */
		CU_ASSERT_STRING_EQUAL(r->m[0].line, "CADMV");
		CU_ASSERT_EQUAL(r->m[0].st, MSQ_HIT);
		CU_ASSERT_EQUAL(r->m[0].answer, 0x30);
		CU_ASSERT_STRING_EQUAL(r->m[3].dest, "OR");
		CU_ASSERT_EQUAL(r->m[3].st, MSQ_HELD);
		CU_ASSERT_STRING_EQUAL(r->m[4].dest, "ID");
		CU_ASSERT_EQUAL(r->m[4].st, MSQ_OUT);
	}
	/* A node's own queries, or the others': by the id's high byte. */
	msq_table_free(t);
	t = msq_table_new();
	CU_ASSERT_EQUAL(msq_table_load(t, qu, keep_node, (void *)1, NULL), 0);
	CU_ASSERT_EQUAL(msq_table_count(t), 0);
	msq_table_free(t);
	t = msq_table_new();
	CU_ASSERT_EQUAL(msq_table_load(t, qu, keep_node, (void *)0, NULL), 0);
	CU_ASSERT_EQUAL(msq_table_count(t), 1);
	/* By the header: another ORI's query is left out, members and all,
	 * and none of its records counts as unreadable. */
	msq_table_free(t);
	t = msq_table_new();
	queue_states_free(&bad);
	memset(&bad, 0, sizeof bad);
	CU_ASSERT_EQUAL(msq_table_load(t, qu, keep_ori, "OR0260000", &bad), 0);
	CU_ASSERT_EQUAL(msq_table_count(t), 0);
	CU_ASSERT_EQUAL(bad.n, 1);	/* the member without a header only */
	msq_table_free(t);
	t = msq_table_new();
	CU_ASSERT_EQUAL(msq_table_load(t, qu, keep_ori, "WA0340000", NULL), 0);
	CU_ASSERT_EQUAL(msq_table_count(t), 1);
	r = msq_table_find(t, 0x2a);
	CU_ASSERT(r != NULL && r->nmember == 5);
	/* Deleted, nothing is read back. */
	queue_states_free(&qs);
	msq_states_del(&qs, q);
	memset(&op, 0, sizeof op);
	op.type = QUEUE_OP_STATE;
	op.states = qs.st;
	op.nstates = qs.n;
	queue_submit(qu, &op);
	run_until_idle(base, qu);
	msq_table_free(t);
	t = msq_table_new();
	CU_ASSERT_EQUAL(msq_table_load(t, qu, NULL, NULL, NULL), 0);
	CU_ASSERT_EQUAL(msq_table_count(t), 0);
	queue_states_free(&qs);
	queue_states_free(&bad);
	msq_table_free(t);
	msq_free(q);
	queue_close(qu);
	event_base_free(base);
	free(cause);
}

/* Each switch node parks on a pseudo line of its own. */
static void
test_msq_lines(void)
{
	static const struct { int node; const char *line; } t[] = {
		{ 0, "=MSQ" }, { 1, "=MSQ1" }, { 42, "=MSQ42" },
		{ 255, "=MSQ255" },
	};
	char	buf[QUEUE_LINE_LEN + 1];
	size_t	i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		msq_line(buf, sizeof buf, t[i].node);
		CU_ASSERT_STRING_EQUAL(buf, t[i].line);
		CU_ASSERT(msq_is_line(buf));
	}
	CU_ASSERT_FALSE(msq_is_line("CADMV"));
	CU_ASSERT_FALSE(msq_is_line("=MS"));
	CU_ASSERT_EQUAL(MSQ_NODE(0x2a), 0);
	CU_ASSERT_EQUAL(MSQ_NODE(0xff0000000000002aULL), 255);
	CU_ASSERT_EQUAL(MSQ_NODE(0x0300000000000001ULL), 3);
}

int
test_msq_register(void)
{
	CU_pSuite s = CU_add_suite("msq", suite_init, suite_clean);

	if (s == NULL ||
	    CU_add_test(s, "match", test_msq_match) == NULL ||
	    CU_add_test(s, "timer", test_msq_timer) == NULL ||
	    CU_add_test(s, "summary", test_msq_summary) == NULL ||
	    CU_add_test(s, "build", test_msq_build) == NULL ||
	    CU_add_test(s, "states", test_msq_states) == NULL ||
	    CU_add_test(s, "lines", test_msq_lines) == NULL)
		return -1;
	return 0;
}
