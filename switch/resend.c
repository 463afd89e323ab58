/*
 * resend - see resend.h.
 *
 * Entries live in a ring in the order they were added (so the oldest is
 * always at the tail: expiry and eviction are O(1)), and are found
 * through an open-addressing hash index over the ring slots, with
 * backward-shift deletion. The ring starts small and doubles, up to
 * max, when it is full: its size follows the traffic of one window, not
 * the configured maximum (an index sized for a million entries costs
 * cache misses on every lookup).
 */
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "resend.h"
#include "util.h"

struct resend_ent {
	uint64_t	hash;
	uint64_t	msgid;
	uint64_t	t_us;
	uint64_t	len;
};

struct resend {
	uint64_t		 window_us;
	struct resend_ent	*ring;
	size_t			 max;		/* ring slots now */
	size_t			 limit;		/* the most it may grow to */
	size_t			 head;		/* next slot to fill */
	size_t			 n;		/* entries in the ring */
	uint32_t		*index;		/* ring slot + 1; 0 empty */
	size_t			 nindex;	/* power of two >= 2 max */
};

struct resend *
resend_new(uint64_t window_us, size_t max)
{
	struct resend	*r = xcalloc(1, sizeof *r);

	if (max == 0)
		max = 1;
	r->window_us = window_us;
	r->limit = max;
	r->max = max < RESEND_START ? max : RESEND_START;
	r->ring = xcalloc(r->max, sizeof *r->ring);
	for (r->nindex = 16; r->nindex < 2 * r->max; r->nindex *= 2)
		;
	r->index = xcalloc(r->nindex, sizeof *r->index);
	return r;
}

/* Index ring slot s (its position must be free to find). */
static void
resend_index(struct resend *r, size_t s)
{
	size_t mask = r->nindex - 1, i;

	for (i = (size_t)r->ring[s].hash & mask; r->index[i] != 0;
	    i = (i + 1) & mask)
		;
	r->index[i] = (uint32_t)(s + 1);
}

/* A full ring below its limit doubles: entries in order from slot 0. */
static void
resend_grow(struct resend *r)
{
	struct resend_ent	*ring;
	size_t			 max = r->max * 2 > r->limit ? r->limit :
				    r->max * 2, tail, i;

	ring = xcalloc(max, sizeof *ring);
	tail = (r->head + r->max - r->n) % r->max;
	for (i = 0; i < r->n; i++)
		ring[i] = r->ring[(tail + i) % r->max];
	free(r->ring);
	r->ring = ring;
	r->max = max;
	r->head = r->n % max;
	free(r->index);
	for (r->nindex = 16; r->nindex < 2 * max; r->nindex *= 2)
		;
	r->index = xcalloc(r->nindex, sizeof *r->index);
	for (i = 0; i < r->n; i++)
		resend_index(r, i);
}

size_t
resend_capacity(const struct resend *r)
{
	return r->max;
}

void
resend_free(struct resend *r)
{
	if (r == NULL)
		return;
	free(r->ring);
	free(r->index);
	free(r);
}

void
resend_set_window(struct resend *r, uint64_t window_us)
{
	r->window_us = window_us;
}

uint64_t
resend_hash(const char *line, const void *body, size_t len)
{
	return XXH3_64bits_withSeed(body, len, XXH3_64bits(line,
	    strlen(line)));
}

/* The index position holding ring slot s (which must be indexed). */
static size_t
resend_pos(const struct resend *r, size_t s)
{
	size_t mask = r->nindex - 1, i = (size_t)r->ring[s].hash & mask;

	while (r->index[i] != s + 1)
		i = (i + 1) & mask;
	return i;
}

/* Drop the oldest entry: its index position, shifting back the run. */
static void
resend_drop_oldest(struct resend *r)
{
	size_t	mask = r->nindex - 1, tail, i, j, k;

	tail = (r->head + r->max - r->n) % r->max;
	i = resend_pos(r, tail);
	r->index[i] = 0;
	for (j = (i + 1) & mask; r->index[j] != 0; j = (j + 1) & mask) {
		k = (size_t)r->ring[r->index[j] - 1].hash & mask;
		/* Move j back to i unless its home lies in (i, j]. */
		if ((j > i && (k <= i || k > j)) ||
		    (j < i && (k <= i && k > j))) {
			r->index[i] = r->index[j];
			r->index[j] = 0;
			i = j;
		}
	}
	r->n--;
}

void
resend_add(struct resend *r, uint64_t hash, size_t len, uint64_t msgid,
    uint64_t now_us)
{
	size_t	s;

	if (r->n == r->max && r->max < r->limit)
		resend_grow(r);
	if (r->n == r->max)
		resend_drop_oldest(r);
	s = r->head;
	r->ring[s].hash = hash;
	r->ring[s].len = len;
	r->ring[s].msgid = msgid;
	r->ring[s].t_us = now_us;
	resend_index(r, s);
	r->head = (s + 1) % r->max;
	r->n++;
}

uint64_t
resend_find(struct resend *r, uint64_t hash, size_t len, uint64_t now_us)
{
	const struct resend_ent	*e;
	size_t			 mask = r->nindex - 1, i;
	uint64_t		 found = 0, t = 0;

	/* The newest match wins: a message sent again after its window
	 * (a new one of the same bytes) was added again. */
	for (i = (size_t)hash & mask; r->index[i] != 0; i = (i + 1) & mask) {
		e = &r->ring[r->index[i] - 1];
		if (e->hash == hash && e->len == len && e->t_us >= t &&
		    now_us - e->t_us <= r->window_us) {
			found = e->msgid;
			t = e->t_us;
		}
	}
	return found;
}

void
resend_expire(struct resend *r, uint64_t now_us)
{
	size_t tail;

	while (r->n > 0) {
		tail = (r->head + r->max - r->n) % r->max;
		if (now_us - r->ring[tail].t_us <= r->window_us)
			break;
		resend_drop_oldest(r);
	}
}

size_t
resend_count(const struct resend *r)
{
	return r->n;
}
