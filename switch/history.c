/*
 * history - see history.h.
 *
 * A ring is a fixed array of points plus a fixed [point][line] array of
 * depths; head is the next slot to write. The coarse ring is fed from an
 * accumulator that sums the counts and keeps the greatest depth of the
 * seconds of its interval; both rings take their latency quantiles from
 * the histogram's buckets minus a copy of them taken when their previous
 * point closed.
 */
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "strmap.h"
#include "util.h"

struct history_ring {
	int			 cap;
	int			 head;		/* next slot */
	int			 n;
	struct history_point	*pt;		/* cap */
	uint32_t		*depth;		/* cap * HISTORY_MAXLINE */
	/* The histogram when the last point closed. */
	uint64_t		 lat_bucket[METRICS_NBUCKET];
	uint64_t		 lat_count;
};

struct history {
	struct history_ring	 fine, coarse;
	uint64_t		 last_t;	/* 0: no tick yet */
	uint64_t		 tot[3];	/* received, acked, delivered */
	/* The depths given for the second being closed. */
	uint32_t		 cur[HISTORY_MAXLINE];
	/* The coarse point being built. */
	uint64_t		 acc_slot;	/* t / HISTORY_COARSE_STEP */
	uint32_t		 acc[3];
	uint32_t		 acc_depth[HISTORY_MAXLINE];
	int			 acc_n;		/* seconds in it */
	/* Line codes; pos -> index cache for the first positions. */
	char			 code[HISTORY_MAXLINE][HISTORY_CODE_LEN + 1];
	int			 ncode;
	/* code -> index + 1 (keys are code[]): a line past the cache is
	 * looked up in O(1), not against every code, once a second each
	 * of 10,000 lines (1.3 million strcmp a tick stalled the loop). */
	struct strmap		*bycode;
	int			 untracked;	/* at the last tick */
	int			 untracked_cur;
	int			 poscache[HISTORY_MAXLINE];	/* index + 1 */
};

static void
history_ring_init(struct history_ring *r, int cap)
{
	r->cap = cap;
	r->pt = xcalloc((size_t)cap, sizeof *r->pt);
	r->depth = xcalloc((size_t)cap * HISTORY_MAXLINE, sizeof *r->depth);
}

static void
history_nodepth(uint32_t *d)
{
	int j;

	for (j = 0; j < HISTORY_MAXLINE; j++)
		d[j] = HISTORY_NODEPTH;
}

struct history *
history_new(void)
{
	struct history *h = xcalloc(1, sizeof *h);

	h->bycode = strmap_new(HISTORY_MAXLINE);

	history_ring_init(&h->fine, HISTORY_FINE_N);
	history_ring_init(&h->coarse, HISTORY_COARSE_N);
	history_nodepth(h->cur);
	history_nodepth(h->acc_depth);
	return h;
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	free(h->fine.pt);
	free(h->fine.depth);
	free(h->coarse.pt);
	free(h->coarse.depth);
	strmap_free(h->bycode);
	free(h);
}

/* The series index of a line code: a new one if there is room, or -1. */
static int
history_code_index(struct history *h, const char *code)
{
	intptr_t j;

	if ((j = (intptr_t)strmap_get(h->bycode, code)) > 0)
		return (int)j - 1;
	if (h->ncode == HISTORY_MAXLINE) {
		h->untracked_cur++;
		return -1;
	}
	util_strlcpy(h->code[h->ncode], code, sizeof h->code[0]);
	(void)strmap_add(h->bycode, h->code[h->ncode],
	    (void *)(intptr_t)(h->ncode + 1), NULL);
	return h->ncode++;
}

void
history_depth(struct history *h, int pos, const char *code, uint64_t depth)
{
	int j = -1;

	if (pos >= 0 && pos < HISTORY_MAXLINE && h->poscache[pos] > 0 &&
	    strcmp(h->code[h->poscache[pos] - 1], code) == 0)
		j = h->poscache[pos] - 1;
	else if ((j = history_code_index(h, code)) >= 0 && pos >= 0 &&
	    pos < HISTORY_MAXLINE)
		h->poscache[pos] = j + 1;
	if (j >= 0)
		h->cur[j] = depth > UINT32_MAX - 1 ? UINT32_MAX - 1 :
		    (uint32_t)depth;
}

/*
 * The ACK latency quantiles since the ring's last point, from the
 * histogram's buckets (bucket, count) as they are at the point's end;
 * they become the ring's new base.
 */
static void
history_latency(struct history_ring *r, const double *bounds,
    const uint64_t *bucket, uint64_t count, struct history_point *p)
{
	uint64_t	d[METRICS_NBUCKET];
	int		i;

	for (i = 0; i < METRICS_NBUCKET; i++) {
		d[i] = bucket[i] - r->lat_bucket[i];
		r->lat_bucket[i] = bucket[i];
	}
	p->acks = (uint32_t)(count - r->lat_count);
	r->lat_count = count;
	p->p50 = metrics_quantile(bounds, d, p->acks, 0.50);
	p->p99 = metrics_quantile(bounds, d, p->acks, 0.99);
}

/* Append a point and its depths; the ring's oldest goes. */
static void
history_push(struct history_ring *r, const struct history_point *p,
    const uint32_t *depth)
{
	r->pt[r->head] = *p;
	memcpy(&r->depth[(size_t)r->head * HISTORY_MAXLINE], depth,
	    HISTORY_MAXLINE * sizeof *depth);
	r->head = (r->head + 1) % r->cap;
	if (r->n < r->cap)
		r->n++;
}

/*
 * Close the coarse point being built (it ends at its slot's end). The
 * histogram as the fine ring's last point left it is the one at the
 * interval's end: the second being ticked belongs to the next interval.
 */
static void
history_coarse_close(struct history *h, const double *bounds)
{
	struct history_point p;

	memset(&p, 0, sizeof p);
	p.t = (h->acc_slot + 1) * HISTORY_COARSE_STEP;
	p.received = h->acc[0];
	p.acked = h->acc[1];
	p.delivered = h->acc[2];
	history_latency(&h->coarse, bounds, h->fine.lat_bucket,
	    h->fine.lat_count, &p);
	history_push(&h->coarse, &p, h->acc_depth);
	memset(h->acc, 0, sizeof h->acc);
	history_nodepth(h->acc_depth);
	h->acc_n = 0;
}

void
history_tick(struct history *h, uint64_t t, uint64_t received,
    uint64_t acked, uint64_t delivered, const struct metrics_hist *lat)
{
	struct history_point	p;
	uint64_t		now[3] = { received, acked, delivered };
	uint32_t		d[3];
	int			i, j;

	if (h->last_t == 0) {
		/* The first tick only sets the base the next one counts
		 * from; the histogram's earlier ACKs are not this second's. */
		memcpy(h->tot, now, sizeof now);
		memcpy(h->fine.lat_bucket, lat->bucket, sizeof lat->bucket);
		memcpy(h->coarse.lat_bucket, lat->bucket, sizeof lat->bucket);
		h->fine.lat_count = h->coarse.lat_count = lat->count;
		h->last_t = t;
		h->acc_slot = (t - 1) / HISTORY_COARSE_STEP;
		history_nodepth(h->cur);
		h->untracked_cur = 0;
		return;
	}
	if (t <= h->last_t)
		return;
	h->last_t = t;
	/* The tick at t closes the second (t-1, t]; a coarse interval
	 * (10k, 10k+10] that ended before it closes first. */
	if ((t - 1) / HISTORY_COARSE_STEP != h->acc_slot) {
		if (h->acc_n > 0)
			history_coarse_close(h, lat->bounds);
		h->acc_slot = (t - 1) / HISTORY_COARSE_STEP;
	}
	for (i = 0; i < 3; i++) {
		d[i] = (uint32_t)(now[i] - h->tot[i]);
		h->tot[i] = now[i];
		h->acc[i] += d[i];
	}
	memset(&p, 0, sizeof p);
	p.t = t;
	p.received = d[0];
	p.acked = d[1];
	p.delivered = d[2];
	history_latency(&h->fine, lat->bounds, lat->bucket, lat->count, &p);
	history_push(&h->fine, &p, h->cur);
	for (j = 0; j < h->ncode; j++)
		if (h->cur[j] != HISTORY_NODEPTH && (h->acc_depth[j] ==
		    HISTORY_NODEPTH || h->cur[j] > h->acc_depth[j]))
			h->acc_depth[j] = h->cur[j];
	h->acc_n++;
	history_nodepth(h->cur);
	h->untracked = h->untracked_cur;
	h->untracked_cur = 0;
}

int
history_step(int window)
{
	return window <= HISTORY_FINE_N ? 1 : HISTORY_COARSE_STEP;
}

static const struct history_ring *
history_ring(const struct history *h, int step)
{
	return step == 1 ? &h->fine : &h->coarse;
}

int
history_count(const struct history *h, int step)
{
	return history_ring(h, step)->n;
}

/* The slot of the i-th oldest point. */
static int
history_slot(const struct history_ring *r, int i)
{
	return (r->head - r->n + i + r->cap) % r->cap;
}

const struct history_point *
history_at(const struct history *h, int step, int i)
{
	const struct history_ring *r = history_ring(h, step);

	return &r->pt[history_slot(r, i)];
}

int
history_nline(const struct history *h)
{
	return h->ncode;
}

const char *
history_line(const struct history *h, int j)
{
	return h->code[j];
}

int
history_untracked(const struct history *h)
{
	return h->untracked;
}

uint32_t
history_depth_at(const struct history *h, int step, int j, int i)
{
	const struct history_ring *r = history_ring(h, step);

	return r->depth[(size_t)history_slot(r, i) * HISTORY_MAXLINE + j];
}
