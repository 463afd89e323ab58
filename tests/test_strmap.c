/*
 * test_strmap - the string-keyed hash table (strmap.h): table-driven
 * adds and lookups, duplicates, growth past the first size, many keys.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "strmap.h"
#include "util.h"

/* Adds in order, then every lookup, each with what it must give. */
static void
test_strmap_table(void)
{
	static const struct {
		const char	*key;
		int		 val;	/* stored as &vals[val] */
		int		 rc;	/* strmap_add's */
		int		 prev;	/* the value kept, when rc is -1 */
	} add[] = {
		{ "bench1", 1, 0, 0 },
		{ "bench2", 2, 0, 0 },
		{ "BENCH1", 3, 0, 0 },		/* case matters */
		{ "bench1", 4, -1, 1 },		/* duplicate: first kept */
		{ "", 5, 0, 0 },		/* the empty key is a key */
		{ "WA0340000", 6, 0, 0 },
		{ "WA034000", 7, 0, 0 },	/* a prefix is another key */
		{ "", 8, -1, 5 },
	};
	static const struct {
		const char	*key;
		int		 val;	/* -1: not there */
	} get[] = {
		{ "bench1", 1 }, { "bench2", 2 }, { "BENCH1", 3 }, { "", 5 },
		{ "WA0340000", 6 }, { "WA034000", 7 }, { "bench", -1 },
		{ "bench10", -1 }, { "WA03400000", -1 },
	};
	int		 vals[16];
	struct strmap	*m = strmap_new(0);
	void		*prev;
	size_t		 i;

	for (i = 0; i < sizeof add / sizeof add[0]; i++) {
		prev = NULL;
		CU_ASSERT_EQUAL(strmap_add(m, add[i].key, &vals[add[i].val],
		    &prev), add[i].rc);
		if (add[i].rc == -1)
			CU_ASSERT_PTR_EQUAL(prev, &vals[add[i].prev]);
	}
	CU_ASSERT_EQUAL(strmap_count(m), 6);
	for (i = 0; i < sizeof get / sizeof get[0]; i++) {
		if (get[i].val == -1) {
			CU_ASSERT_PTR_NULL(strmap_get(m, get[i].key));
		} else {
			CU_ASSERT_PTR_EQUAL(strmap_get(m, get[i].key),
			    &vals[get[i].val]);
		}
	}
	strmap_free(m);
	CU_ASSERT_PTR_NULL(strmap_get(NULL, "x"));
	CU_ASSERT_EQUAL(strmap_count(NULL), 0);
	strmap_free(NULL);
}

/* 20,000 keys into a table sized for 10: every one found after the
 * table grew, none that was not added, duplicates refused. */
static void
test_strmap_many(void)
{
	enum { N = 20000 };
	char		(*key)[16] = xcalloc(N, sizeof *key);
	char		 probe[16];
	struct strmap	*m = strmap_new(10);
	void		*prev;
	int		 i, bad = 0;

	for (i = 0; i < N; i++) {
		snprintf(key[i], sizeof key[i], "idle%d", i);
		if (strmap_add(m, key[i], key[i], NULL) != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(strmap_count(m), N);
	for (i = 0; i < N; i++) {
		snprintf(probe, sizeof probe, "idle%d", i);	/* a copy */
		if (strmap_get(m, probe) != key[i])
			bad++;
		snprintf(probe, sizeof probe, "idle%d", i + N);
		if (strmap_get(m, probe) != NULL)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	snprintf(probe, sizeof probe, "idle%d", 5);
	CU_ASSERT_EQUAL(strmap_add(m, probe, probe, &prev), -1);
	CU_ASSERT_PTR_EQUAL(prev, key[5]);
	strmap_free(m);
	free(key);
}

int
test_strmap_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("strmap", NULL, NULL)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_strmap_table) == NULL ||
	    CU_ADD_TEST(s, test_strmap_many) == NULL)
		return -1;
	return 0;
}
