/*
 * test_parser - the parser thread: jobs come back in submission order with
 * the parser's answer, a schema swap applies to the jobs submitted after
 * it, and parser_free completes what is still queued; a job submitted
 * with nothing else out is parsed in the loop thread, its completion
 * still from the loop's event; the load rule that sends jobs to the
 * thread, table-driven.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "msg.h"
#include "msgparse.h"
#include "parser.h"
#include "util.h"

struct seen {
	int		n;
	uint64_t	tags[256];
	int		codes[256];
};

static char		 dummy_session;		/* jobs need a non-NULL one */
static const char	*valid_dq =
    "<?xml version=\"1.0\"?>\n<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\" "
    "xmlns:nh2=\"" MSG_NS_NH2 "\" xmlns:nc=\"" MSG_NS_NC "\" "
    "xmlns:j=\"" MSG_NS_J "\" n2:version=\"4.00\"><n2:NLETSMessageHeader>"
    "<nh2:MessageKeyCodeText>DQ</nh2:MessageKeyCodeText>"
    "<nh2:OriginatingORIID>WA0340000</nh2:OriginatingORIID>"
    "<nh2:DestinationORIID>CA</nh2:DestinationORIID>"
    "<nh2:DocumentControlFieldText>P1</nh2:DocumentControlFieldText>"
    "</n2:NLETSMessageHeader><n2:NLETSInquiryData><n2:Person>"
    "<j:PersonAugmentation><nc:DriverLicense>"
    "<nc:DriverLicenseIdentification><nc:IdentificationID>C00000018"
    "</nc:IdentificationID></nc:DriverLicenseIdentification>"
    "</nc:DriverLicense></j:PersonAugmentation></n2:Person>"
    "</n2:NLETSInquiryData></n2:NLETS>\n";

static const char *
schema_dir(void)
{
	static char dir[512];
	const char *root = getenv("NLSWITCH_ROOT");

	snprintf(dir, sizeof dir, "%s/schemas", root ? root : ".");
	return dir;
}

static void
done_cb(struct parser_job *j, void *arg)
{
	struct seen *s = arg;

	if (s->n < 256) {
		s->tags[s->n] = j->tag;
		s->codes[s->n] = j->code;
	}
	s->n++;
	free(j->payload);
	ubuf_free(&j->xml);
	free(j);
}

static struct parser_job *
job(uint64_t tag, const char *text)
{
	struct parser_job *j = xcalloc(1, sizeof *j);

	j->sess = (struct session *)&dummy_session;
	j->tag = tag;
	j->payload = xstrdup(text);
	j->len = strlen(text);
	j->maxlen = 1 << 20;
	return j;
}

static void
pump(struct event_base *base, struct seen *s, int want)
{
	uint64_t end = util_mono_us() + 5000000;

	while (s->n < want && util_mono_us() < end)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
}

/* A parser on a new base, its completions counted in s. */
static struct parser *
start(struct event_base **base, struct seen *s)
{
	struct msgparse_schema	*schema;
	char			*cause = NULL;

	memset(s, 0, sizeof *s);
	if (evthread_use_pthreads() != 0 || (*base = event_base_new()) == NULL)
		return NULL;
	if ((schema = msgparse_schema_load(schema_dir(), &cause)) == NULL)
		return NULL;
	return parser_new(*base, schema, done_cb, s);
}

static void
test_parser_order_and_codes(void)
{
	struct event_base	*base;
	struct parser		*p;
	struct msgparse_schema	*schema;
	struct seen		 s;
	char			*cause = NULL;
	uint64_t		 t;

	p = start(&base, &s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (t = 1; t <= 100; t++)
		parser_submit(p, job(t, t % 3 == 0 ? "<NLETS" : valid_dq));
	CU_ASSERT_EQUAL(parser_pending(p), 100);
	pump(base, &s, 100);
	CU_ASSERT_EQUAL_FATAL(s.n, 100);
	CU_ASSERT_EQUAL(parser_pending(p), 0);
	for (t = 1; t <= 100; t++) {
		CU_ASSERT_EQUAL(s.tags[t - 1], t);
		CU_ASSERT_EQUAL(s.codes[t - 1], t % 3 == 0 ? MSG_ER_MALFORMED : 0);
	}

	/* A new schema: later jobs parse with it, nothing is lost. */
	schema = msgparse_schema_load(schema_dir(), &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
	parser_submit(p, job(101, valid_dq));
	parser_set_schema(p, schema);
	parser_submit(p, job(102, valid_dq));
	pump(base, &s, 102);
	CU_ASSERT_EQUAL(s.n, 102);
	CU_ASSERT_EQUAL(s.codes[101], 0);
	CU_ASSERT_EQUAL(parser_pending(p), 0);

	/* Stopping with jobs queued still completes them. */
	for (t = 103; t <= 110; t++)
		parser_submit(p, job(t, valid_dq));
	parser_free(p);
	CU_ASSERT_EQUAL(s.n, 110);
	CU_ASSERT_EQUAL(s.tags[109], 110);
	event_base_free(base);
}

/* Parsed in the caller's thread while nothing is out in the parser
 * thread, completed from the loop, never inside submit; behind a job out
 * in the thread (here a schema swap) jobs go there too; the order holds
 * across both. */
static void
test_parser_inline(void)
{
	struct event_base	*base;
	struct parser		*p;
	struct msgparse_schema	*schema;
	struct seen		 s;
	char			*cause = NULL;
	uint64_t		 inl, thr;

	p = start(&base, &s);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);

	parser_submit(p, job(1, valid_dq));
	parser_counts(p, &inl, &thr);
	CU_ASSERT_EQUAL(inl, 1);
	CU_ASSERT_EQUAL(thr, 0);
	CU_ASSERT_EQUAL(s.n, 0);		/* not completed inside submit */
	CU_ASSERT_EQUAL(parser_pending(p), 1);
	parser_submit(p, job(2, "<NLETS"));	/* behind it, in the loop too */
	parser_counts(p, &inl, &thr);
	CU_ASSERT_EQUAL(inl, 2);
	CU_ASSERT_EQUAL(thr, 0);
	pump(base, &s, 2);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_EQUAL(s.tags[0], 1);
	CU_ASSERT_EQUAL(s.codes[0], 0);
	CU_ASSERT_EQUAL(s.tags[1], 2);
	CU_ASSERT_EQUAL(s.codes[1], MSG_ER_MALFORMED);
	CU_ASSERT_EQUAL(parser_pending(p), 0);

	/* A schema swap is out in the thread: the jobs after it wait
	 * behind it there, and come back after it, in order. */
	schema = msgparse_schema_load(schema_dir(), &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
	parser_submit(p, job(3, valid_dq));	/* in the loop */
	parser_set_schema(p, schema);
	parser_submit(p, job(4, valid_dq));
	parser_submit(p, job(5, "<NLETS"));
	parser_counts(p, &inl, &thr);
	CU_ASSERT_EQUAL(inl, 3);
	CU_ASSERT_EQUAL(thr, 2);
	pump(base, &s, 5);
	CU_ASSERT_EQUAL_FATAL(s.n, 5);
	CU_ASSERT_EQUAL(s.tags[2], 3);
	CU_ASSERT_EQUAL(s.tags[3], 4);
	CU_ASSERT_EQUAL(s.codes[3], 0);
	CU_ASSERT_EQUAL(s.tags[4], 5);
	CU_ASSERT_EQUAL(s.codes[4], MSG_ER_MALFORMED);

	/* Nothing in the thread again: in the loop. */
	parser_submit(p, job(6, "<NLETS"));
	parser_counts(p, &inl, &thr);
	CU_ASSERT_EQUAL(inl, 4);
	pump(base, &s, 6);
	CU_ASSERT_EQUAL_FATAL(s.n, 6);
	CU_ASSERT_EQUAL(s.codes[5], MSG_ER_MALFORMED);
	parser_free(p);
	event_base_free(base);
}

/* The load rule: each row submits a job at t ms, the loop thread having
 * used cpu ms of CPU by then (read only when a window is over), that took
 * cost us to parse if it was admitted, and says whether it was. */
static void
test_parser_load_rule(void)
{
	static const struct {
		const char	*what;
		uint64_t	 t_ms, cpu_ms, cost_us;
		int		 admit;
	} rows[] = {
		{ "the first job", 1000, 500, 50, 1 },
		{ "in the same window", 1050, 0, 50, 1 },
		{ "a window 10 % busy", 1100, 510, 50, 1 },
		{ "a window 60 % busy", 1200, 570, 50, 0 },
		{ "still busy in the window", 1250, 0, 50, 0 },
		{ "a quiet window after", 1300, 580, 50, 1 },
		{ "25 ms parsed in the loop", 1310, 0, 25000, 1 },
		{ "25 ms: past the share", 1320, 0, 50, 0 },
		{ "a new window, 40 % busy", 1400, 620, 50, 1 },
		{ "exactly half busy is not busy", 1500, 670, 50, 1 },
		{ "busy again", 1600, 730, 50, 0 },
		{ "a silent window between", 1900, 790, 50, 1 },
	};
	struct parser_load	l;
	size_t			i;
	int			ok;

	memset(&l, 0, sizeof l);
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (parser_load_due(&l, rows[i].t_ms * 1000ULL))
			parser_load_roll(&l, rows[i].t_ms * 1000ULL,
			    rows[i].cpu_ms * 1000ULL);
		ok = parser_load_admit(&l);
		if (ok)
			l.win_used += rows[i].cost_us;
		if (ok != rows[i].admit)
			fprintf(stderr, "\nload rule: %s: %d, want %d\n",
			    rows[i].what, ok, rows[i].admit);
		CU_ASSERT_EQUAL(ok, rows[i].admit);
	}
}

int
test_parser_register(void)
{
	CU_pSuite s = CU_add_suite("parser", NULL, NULL);

	if (s == NULL || CU_ADD_TEST(s, test_parser_order_and_codes) == NULL ||
	    CU_ADD_TEST(s, test_parser_inline) == NULL ||
	    CU_ADD_TEST(s, test_parser_load_rule) == NULL)
		return -1;
	return 0;
}
