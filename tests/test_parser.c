/*
 * test_parser - the parser thread: jobs come back in submission order with
 * the parser's answer, a schema swap applies to the jobs submitted after
 * it, and parser_free completes what is still queued.
 */
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

static void
test_parser_order_and_codes(void)
{
	struct event_base	*base;
	struct parser		*p;
	struct msgparse_schema	*schema;
	struct seen		 s;
	char			*cause = NULL;
	uint64_t		 t;

	memset(&s, 0, sizeof s);
	CU_ASSERT_EQUAL_FATAL(evthread_use_pthreads(), 0);
	base = event_base_new();
	schema = msgparse_schema_load(schema_dir(), &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(schema);
	p = parser_new(base, schema, done_cb, &s);
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

int
test_parser_register(void)
{
	CU_pSuite s = CU_add_suite("parser", NULL, NULL);

	if (s == NULL || CU_ADD_TEST(s, test_parser_order_and_codes) == NULL)
		return -1;
	return 0;
}
