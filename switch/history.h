/*
 * history - the switch's own figures over the last hour, for the
 * dashboard's charts (GET /api/history): messages received, ACKed and
 * delivered per interval, the ACK latency's p50 and p99 in each interval
 * (from the latency histogram's bucket deltas) and the queue depth of each
 * destination line.
 *
 * Two rings, allocated once: 1-second points for the last 5 minutes and
 * 10-second points for the last hour. The loop thread feeds them once a
 * second (history_depth for each line, then history_tick); that costs a
 * constant amount per series and allocates nothing. Depth is kept for the
 * first HISTORY_MAXLINE line codes seen (lines a reload removed keep
 * theirs for the hour); a 10-second point holds the greatest depth of its
 * ten seconds, so a short peak still shows. Loop thread only.
 */
#ifndef NLSWITCH_HISTORY_H
#define NLSWITCH_HISTORY_H

#include <stdint.h>

#include "metrics.h"

#define HISTORY_FINE_N		300	/* 1-second points: 5 minutes */
#define HISTORY_COARSE_STEP	10	/* seconds per coarse point */
#define HISTORY_COARSE_N	360	/* coarse points: one hour */
#define HISTORY_WINDOW_MAX	(HISTORY_COARSE_STEP * HISTORY_COARSE_N)
#define HISTORY_MAXLINE		128	/* line codes with a depth series */
#define HISTORY_CODE_LEN	16
#define HISTORY_NODEPTH		UINT32_MAX	/* line not seen at that point */

struct history;

/* One interval: counts in it, the ACK latency quantiles of its ACKs. */
struct history_point {
	uint64_t	t;		/* unix seconds, the interval's end */
	uint32_t	received;
	uint32_t	acked;
	uint32_t	delivered;
	uint32_t	acks;		/* ACKs in the latency histogram */
	double		p50;		/* seconds; < 0 without ACKs */
	double		p99;
};

/** Empty rings (xcalloc: cannot fail). */
struct history	*history_new(void);
void		 history_free(struct history *);
/**
 * The queue depth of the line at config position pos, called code, for
 * the second history_tick closes next. Constant time while a line keeps
 * its position (a reload that moves it costs one search).
 */
void		 history_depth(struct history *, int pos, const char *code,
		    uint64_t depth);
/**
 * Close the second ending at unix second t: the counters' totals so far
 * and the ACK latency histogram as it is now (the point gets the
 * differences since the previous tick). Every HISTORY_COARSE_STEP
 * seconds of wall clock this closes a coarse point too. A t not after
 * the previous tick's is ignored.
 */
void		 history_tick(struct history *, uint64_t t, uint64_t received,
		    uint64_t acked, uint64_t delivered,
		    const struct metrics_hist *ack_latency);
/**
 * The step (1 or HISTORY_COARSE_STEP seconds) of the ring that covers
 * the last window seconds.
 */
int		 history_step(int window);
/** Points the ring of that step holds, oldest first. */
int		 history_count(const struct history *, int step);
/** Its i-th point (0 <= i < history_count), oldest first. */
const struct history_point *history_at(const struct history *, int step,
		    int i);
/** Line codes with a depth series (0 <= j < history_nline). */
int		 history_nline(const struct history *);
const char	*history_line(const struct history *, int j);
/** Lines seen without room for a series (beyond HISTORY_MAXLINE). */
int		 history_untracked(const struct history *);
/** Depth of line j at point i of that step, or HISTORY_NODEPTH. */
uint32_t	 history_depth_at(const struct history *, int step, int j,
		    int i);

#endif
