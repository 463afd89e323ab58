/*
 * counter - persistent sequence numbers (message ids, each line's input
 * and output sequence) kept in the queue's meta records.
 *
 * Numbers are handed out in blocks: before any number of a block is used,
 * an op that raises the stored ceiling past it is submitted to the queue,
 * ahead of every op that could carry such a number, so the ceiling lands
 * in the same commit or an earlier one. After a crash the counter resumes
 * at the stored ceiling: numbers never repeat; gaps are allowed.
 *
 * Loop thread only.
 */
#ifndef NLSWITCH_COUNTER_H
#define NLSWITCH_COUNTER_H

#include <stdint.h>

struct queue;
struct counter;

/** The counter stored under meta key "PREFIX.NAME" (or "PREFIX" when
 * name is NULL), resuming where the store says. */
struct counter	*counter_new(struct queue *, const char *prefix,
		    const char *name);
void		 counter_free(struct counter *);
/** The next number (1 for a new counter). */
uint64_t	 counter_take(struct counter *);

#endif
