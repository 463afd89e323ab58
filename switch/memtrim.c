/*
 * memtrim - see memtrim.h.
 */
#include <malloc.h>

#include "memtrim.h"
#include "util.h"

void
memtrim_note(struct memtrim *m, uint64_t n)
{
	m->pending += n;
	m->noted += n;
}

int
memtrim_due(struct memtrim *m)
{
	int quiet = m->noted == m->noted_at_tick;

	m->noted_at_tick = m->noted;
	if (m->pending < MEMTRIM_MIN ||
	    (!quiet && m->pending < MEMTRIM_BURST_MAX))
		return 0;
	m->pending = 0;
	m->ntrims++;
	return 1;
}

int
memtrim_tick(struct memtrim *m)
{
	uint64_t t0;

	if (!memtrim_due(m))
		return 0;
	t0 = util_mono_us();
	(void)malloc_trim(0);
	m->last_us = util_mono_us() - t0;
	return 1;
}

void
memtrim_heap(uint64_t *in_use, uint64_t *free_bytes)
{
	struct mallinfo2 mi = mallinfo2();

	*in_use = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
	*free_bytes = (uint64_t)mi.fordblks;
}
