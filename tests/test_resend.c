/*
 * test_resend - the table that recognises a message sent again.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "resend.h"

#define S	1000000ULL

/* A scripted history: add (msgid != 0) or find (expect) at a time. */
struct resend_step {
	const char	*line;
	const char	*body;
	uint64_t	 t_s;
	uint64_t	 add;		/* msgid to add, or 0: find */
	uint64_t	 expect;	/* find: msgid expected, 0 none */
};

static void
test_resend_table(void)
{
	static const struct resend_step steps[] = {
		{ "WAAGY", "DQ 1", 0, 11, 0 },
		{ "WAAGY", "DQ 1", 5, 0, 11 },	/* resent: first id */
		{ "ORAGY", "DQ 1", 5, 0, 0 },	/* other line: new */
		{ "WAAGY", "DQ 2", 5, 0, 0 },	/* other body: new */
		{ "WAAGY", "DQ 1", 60, 0, 11 },	/* at the window's end */
		{ "WAAGY", "DQ 1", 61, 0, 0 },	/* past it: new */
		{ "WAAGY", "DQ 1", 61, 12, 0 },	/* accepted again */
		{ "WAAGY", "DQ 1", 62, 0, 12 },	/* the newer id */
	};
	struct resend	*r = resend_new(60 * S, 100);
	size_t		 i;

	for (i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		const struct resend_step *st = &steps[i];
		uint64_t h = resend_hash(st->line, st->body, strlen(st->body));

		if (st->add != 0)
			resend_add(r, h, strlen(st->body), st->add,
			    st->t_s * S);
		else
			CU_ASSERT_EQUAL(resend_find(r, h, strlen(st->body),
			    st->t_s * S), st->expect);
	}
	resend_free(r);
}

/* The length is a second check: the same hash with another length is
 * another message. */
static void
test_resend_length(void)
{
	struct resend	*r = resend_new(60 * S, 10);
	uint64_t	 h = resend_hash("CADMV", "x", 1);

	resend_add(r, h, 1, 7, 0);
	CU_ASSERT_EQUAL(resend_find(r, h, 1, S), 7);
	CU_ASSERT_EQUAL(resend_find(r, h, 2, S), 0);
	resend_free(r);
}

/* Bounded: past max entries the oldest are forgotten, every kept one
 * stays findable (the index survives many deletions and wraps). */
static void
test_resend_bounded(void)
{
	struct resend	*r = resend_new(3600 * S, 64);
	char		 body[32];
	uint64_t	 i, j, miss;

	for (i = 1; i <= 5000; i++) {
		snprintf(body, sizeof body, "message %llu",
		    (unsigned long long)i);
		resend_add(r, resend_hash("L", body, strlen(body)),
		    strlen(body), i, i);
		CU_ASSERT_TRUE(resend_count(r) <= 64);
		if (i % 97 != 0)
			continue;
		for (j = i > 63 ? i - 63 : 1, miss = 0; j <= i; j++) {
			snprintf(body, sizeof body, "message %llu",
			    (unsigned long long)j);
			miss += resend_find(r, resend_hash("L", body,
			    strlen(body)), strlen(body), i) != j;
		}
		CU_ASSERT_EQUAL(miss, 0);
	}
	snprintf(body, sizeof body, "message 1");
	CU_ASSERT_EQUAL(resend_find(r, resend_hash("L", body, strlen(body)),
	    strlen(body), 5000), 0);
	resend_free(r);
}

/*
 * The table grows with the traffic, not to its maximum at once: it
 * starts at RESEND_START, doubles when full (after wrapping and expiry
 * too), every entry stays findable across each growth, and it never
 * passes max.
 */
static void
test_resend_grows(void)
{
	const size_t	 max = 5 * RESEND_START;
	struct resend	*r = resend_new(3600 * S, max);
	char		 body[32];
	uint64_t	 i, j, miss;

	CU_ASSERT_EQUAL(resend_capacity(r), RESEND_START);
	/* A few wrap-arounds at the start size: expiry keeps it small. */
	for (i = 1; i <= 3 * RESEND_START; i++) {
		snprintf(body, sizeof body, "m%llu", (unsigned long long)i);
		resend_add(r, resend_hash("L", body, strlen(body)),
		    strlen(body), i, i * S);
		resend_expire(r, i * S + 3600 * S - 100 * S);
	}
	CU_ASSERT_EQUAL(resend_capacity(r), RESEND_START);
	/* Then more than fit: it doubles, up to max and no further. */
	for (; i <= 3 * RESEND_START + 2 * max; i++) {
		snprintf(body, sizeof body, "m%llu", (unsigned long long)i);
		resend_add(r, resend_hash("L", body, strlen(body)),
		    strlen(body), i, 4000 * S);
		CU_ASSERT_TRUE(resend_count(r) <= resend_capacity(r));
	}
	CU_ASSERT_EQUAL(resend_capacity(r), max);
	CU_ASSERT_EQUAL(resend_count(r), max);
	for (j = i - max, miss = 0; j < i; j++) {
		snprintf(body, sizeof body, "m%llu", (unsigned long long)j);
		miss += resend_find(r, resend_hash("L", body, strlen(body)),
		    strlen(body), 4000 * S) != j;
	}
	CU_ASSERT_EQUAL(miss, 0);
	resend_free(r);
}

static void
test_resend_expire(void)
{
	struct resend	*r = resend_new(10 * S, 100);
	int		 i;

	for (i = 0; i < 20; i++)
		resend_add(r, (uint64_t)i * 7919, 4, (uint64_t)i + 1,
		    (uint64_t)i * S);
	resend_expire(r, 19 * S);	/* keeps t >= 9 s */
	CU_ASSERT_EQUAL(resend_count(r), 11);
	CU_ASSERT_EQUAL(resend_find(r, 9 * 7919, 4, 19 * S), 10);
	CU_ASSERT_EQUAL(resend_find(r, 8 * 7919, 4, 19 * S), 0);
	resend_expire(r, 100 * S);
	CU_ASSERT_EQUAL(resend_count(r), 0);
	resend_free(r);
}

int
test_resend_register(void)
{
	CU_pSuite s = CU_add_suite("resend", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "table", test_resend_table) == NULL ||
	    CU_add_test(s, "length", test_resend_length) == NULL ||
	    CU_add_test(s, "bounded", test_resend_bounded) == NULL ||
	    CU_add_test(s, "expire", test_resend_expire) == NULL ||
	    CU_add_test(s, "grows", test_resend_grows) == NULL)
		return -1;
	return 0;
}
