/*
 * counter - see counter.h.
 */
#include <stdio.h>
#include <stdlib.h>

#include "counter.h"
#include "log.h"
#include "queue.h"
#include "util.h"

/* Numbers per committed block. */
#define COUNTER_BLOCK	4096

struct counter {
	struct queue	*q;
	char		 key[48];
	uint64_t	 next;
	uint64_t	 hi;		/* the stored ceiling */
};

struct counter *
counter_new(struct queue *q, const char *prefix, const char *name)
{
	struct counter *c = xcalloc(1, sizeof *c);

	c->q = q;
	if (name != NULL)
		snprintf(c->key, sizeof c->key, "%s.%s", prefix, name);
	else
		snprintf(c->key, sizeof c->key, "%s", prefix);
	c->next = c->hi = queue_meta_get(q, c->key);
	return c;
}

void
counter_free(struct counter *c)
{
	free(c);
}

/* The op owns a copy of the key: a line removed by a reload frees its
 * counters while their last op may still wait for its commit. */
static void
counter_meta_done_cb(struct queue_op *op, void *arg)
{
	(void)arg;
	if (op->result != QUEUE_E_OK)
		log_warnx("counter: %s: commit failed: %s", op->meta_key,
		    queue_strerror(op->result));
	free((char *)op->meta_key);
	free(op);
}

uint64_t
counter_take(struct counter *c)
{
	struct queue_op *op;

	if (c->next == 0)
		c->next = 1;
	if (c->next >= c->hi) {
		c->hi = c->next + COUNTER_BLOCK;
		op = xcalloc(1, sizeof *op);
		op->type = QUEUE_OP_META;
		op->meta_key = xstrdup(c->key);
		op->meta_value = c->hi;
		op->done = counter_meta_done_cb;
		queue_submit(c->q, op);
	}
	return c->next++;
}
