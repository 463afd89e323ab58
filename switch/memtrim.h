/*
 * memtrim - give the C heap's free memory back to the system after a
 * burst of frees (thousands of lines disconnecting, idle lines giving
 * their TLS buffers back), and tell how much of the heap is in use.
 *
 * glibc returns freed memory to the system only from the top of a heap
 * (and never from the handshake thread's arena, whose top is rarely
 * free): after 10,000 lines disconnect the switch would keep their 400 MB
 * for good. malloc_trim(0) hands back every free page of every arena. It
 * walks the whole heap (1 to 3 ms of the loop with 10,000 lines up), so
 * it runs at most once a tick, only after MEMTRIM_MIN frees at least
 * (what fewer free, a few megabytes, malloc hands to the next lines),
 * and only once a burst is over (a tick without new frees) or has grown
 * past MEMTRIM_BURST_MAX: a switch whose lines stay up never trims, and
 * neither does one whose few busy lines give their buffers back between
 * bursts of traffic.
 */
#ifndef NLSWITCH_MEMTRIM_H
#define NLSWITCH_MEMTRIM_H

#include <stdint.h>

/* Frees counted before a trim runs in the middle of a burst. */
#define MEMTRIM_BURST_MAX	4096
/* Frees counted (since the last trim) before one is worth a trim. */
#define MEMTRIM_MIN		64

struct memtrim {
	uint64_t	 pending;	/* frees since the last trim */
	uint64_t	 noted;		/* frees ever */
	uint64_t	 noted_at_tick;	/* noted at the previous tick */
	uint64_t	 ntrims;
	uint64_t	 last_us;	/* how long the last trim took */
};

/** n objects were freed (sessions closed, buffers given back). */
void	 memtrim_note(struct memtrim *, uint64_t n);
/**
 * Once a tick: decide, and trim when the burst is over.
 * @return 1 if malloc_trim ran, else 0.
 */
int	 memtrim_tick(struct memtrim *);
/**
 * The decision alone, for tests: 1 if a tick now would trim (and then
 * the state moves on as if it had), 0 if not.
 */
int	 memtrim_due(struct memtrim *);
/**
 * The heap as malloc sees it, every arena (mallinfo2): bytes allocated
 * and not freed, and bytes free inside the heap (not given back).
 */
void	 memtrim_heap(uint64_t *in_use, uint64_t *free_bytes);

#endif
