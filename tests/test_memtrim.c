/*
 * test_memtrim - when the heap is trimmed (memtrim.h): not without
 * frees, not for fewer than MEMTRIM_MIN of them, not while a burst goes
 * on, once it is over, and in the middle of one that passes
 * MEMTRIM_BURST_MAX.
 */
#include <stdint.h>

#include <CUnit/CUnit.h>

#include "memtrim.h"

static void
test_memtrim_due(void)
{
	/* Per tick: frees noted during it, then whether the tick trims. */
	static const struct {
		uint64_t	 noted;
		int		 due;
	} t[] = {
		{ 0, 0 },			/* nothing freed */
		{ 0, 0 },
		{ 100, 0 },			/* a burst starts */
		{ 200, 0 },			/* ... goes on */
		{ 0, 1 },			/* ... is over: trim */
		{ 0, 0 },			/* once */
		{ 1, 0 },
		{ 0, 0 },			/* one close: not worth it */
		{ MEMTRIM_MIN - 2, 0 },		/* one short of the minimum */
		{ 0, 0 },
		{ 1, 0 },			/* the minimum, in a tick... */
		{ 0, 1 },			/* ... then quiet: trim */
		{ MEMTRIM_BURST_MAX, 1 },	/* a long burst: at the max */
		{ 10, 0 },
		{ MEMTRIM_BURST_MAX - 11, 0 },
		{ 1, 1 },			/* 10 + MAX - 11 + 1 = MAX */
		{ 0, 0 },
	};
	struct memtrim	 m = { 0 };
	uint64_t	 trims = 0;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memtrim_note(&m, t[i].noted);
		CU_ASSERT_EQUAL(memtrim_due(&m), t[i].due);
		trims += (uint64_t)t[i].due;
	}
	CU_ASSERT_EQUAL(m.ntrims, trims);
	CU_ASSERT_EQUAL(m.pending, 0);
}

/* A real trim runs and the heap figures are there. */
static void
test_memtrim_tick(void)
{
	struct memtrim	 m = { 0 };
	uint64_t	 in_use = 0, free_bytes = 0;

	CU_ASSERT_EQUAL(memtrim_tick(&m), 0);
	memtrim_note(&m, MEMTRIM_MIN);
	CU_ASSERT_EQUAL(memtrim_tick(&m), 0);	/* noted this tick */
	CU_ASSERT_EQUAL(memtrim_tick(&m), 1);
	CU_ASSERT_EQUAL(m.ntrims, 1);
	memtrim_heap(&in_use, &free_bytes);
	(void)in_use;	/* 0 under a sanitizer's allocator */
	(void)free_bytes;
}

int
test_memtrim_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("memtrim", NULL, NULL)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_memtrim_due) == NULL ||
	    CU_ADD_TEST(s, test_memtrim_tick) == NULL)
		return -1;
	return 0;
}
