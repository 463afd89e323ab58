/*
 * test_line - what a line keeps for its page (GET /api/line/CODE): its
 * last refusals, newest first, bounded, whole, and kept across a reload
 * (line_adopt).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "line.h"
#include "queue.h"

static struct event_base	*tl_base;
static struct queue		*tl_q;
static struct line_stats	 tl_stats;
static struct line_host		 tl_host;

static int
tl_init(void)
{
	char *cause = NULL;

	if (evthread_use_pthreads() != 0 ||
	    (tl_base = event_base_new()) == NULL)
		return -1;
	if ((tl_q = queue_open(&queue_backend_ram, "ram", 16 << 20, tl_base,
	    &cause)) == NULL) {
		fprintf(stderr, "line: %s\n", cause ? cause : "?");
		free(cause);
		return -1;
	}
	tl_host.q = tl_q;
	tl_host.stats = &tl_stats;
	return 0;
}

static int
tl_cleanup(void)
{
	if (tl_q != NULL)
		queue_close(tl_q);
	if (tl_base != NULL)
		event_base_free(tl_base);
	return 0;
}

static void
test_line_refusals(void)
{
	struct config_line	 cl;
	struct line		*l, *nl;
	struct line_refusal	 r;
	const struct line_refusal *got;
	int			 i;

	memset(&cl, 0, sizeof cl);
	snprintf(cl.code, sizeof cl.code, "WAAGY");
	l = line_new(&tl_host, &cl);
	CU_ASSERT_PTR_NULL(line_refusal_at(l, 0));
	CU_ASSERT_PTR_NULL(line_delivery_at(l, 0));
	for (i = 0; i < LINE_NRECENT + 4; i++) {
		memset(&r, 0, sizeof r);
		r.t_us = (uint64_t)i;
		r.code = 19;
		/* A reason longer than the old 120 bytes: kept whole. */
		memset(r.reason, 'x', 400);
		snprintf(r.reason + 400, sizeof r.reason - 400, " #%d", i);
		line_note_refusal(l, &r);
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(got = line_refusal_at(l, 0));
	CU_ASSERT_EQUAL(got->t_us, LINE_NRECENT + 3);
	CU_ASSERT_EQUAL(strlen(got->reason), 404);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got = line_refusal_at(l, LINE_NRECENT - 1));
	CU_ASSERT_EQUAL(got->t_us, 4);		/* the oldest kept */
	CU_ASSERT_PTR_NULL(line_refusal_at(l, LINE_NRECENT));
	CU_ASSERT_PTR_NULL(line_refusal_at(l, -1));

	/* A reload's new line has them. */
	nl = line_new(&tl_host, &cl);
	line_adopt(nl, l);
	CU_ASSERT_PTR_NOT_NULL_FATAL(got = line_refusal_at(nl, 0));
	CU_ASSERT_EQUAL(got->t_us, LINE_NRECENT + 3);
	line_free(l);
	line_free(nl);
}

int
test_line_register(void)
{
	CU_pSuite s = CU_add_suite("line", tl_init, tl_cleanup);

	if (s == NULL ||
	    CU_add_test(s, "refusals", test_line_refusals) == NULL)
		return -1;
	return 0;
}
