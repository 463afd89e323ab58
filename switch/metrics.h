/*
 * metrics - latency/size histograms with Prometheus-style cumulative
 * buckets, and quantiles from their buckets (the dashboard's history.c
 * keeps the rings). Loop thread only (the commit thread's figures are
 * copied in by the caller).
 */
#ifndef NLSWITCH_METRICS_H
#define NLSWITCH_METRICS_H

#include <stdint.h>

#include "util.h"

#define METRICS_NBUCKET	16

struct metrics_hist {
	const double	*bounds;		/* METRICS_NBUCKET upper bounds */
	uint64_t	 bucket[METRICS_NBUCKET];	/* non-cumulative */
	uint64_t	 count;
	double		 sum;
};

/* Bucket sets: seconds (latencies) and counts (batch sizes). */
extern const double metrics_seconds[METRICS_NBUCKET];
extern const double metrics_sizes[METRICS_NBUCKET];

void	 metrics_hist_init(struct metrics_hist *, const double *bounds);
void	 metrics_hist_add(struct metrics_hist *, double v);
/**
 * Append a histogram in the Prometheus text format: name_bucket{le=...},
 * name_sum, name_count; labels ("" or `key="v"`) go into every sample.
 */
/**
 * The q-quantile (0 < q < 1) of count observations in non-cumulative
 * buckets with these upper bounds (a histogram, or the difference of two
 * of its states), interpolated linearly inside the bucket it falls in,
 * as Prometheus' histogram_quantile does; the last bound when it falls
 * above it. @return the value, or -1 when count is 0.
 */
double	 metrics_quantile(const double *bounds, const uint64_t *bucket,
	    uint64_t count, double q);
void	 metrics_hist_render(struct ubuf *, const char *name,
	    const char *labels, const struct metrics_hist *);

#endif
