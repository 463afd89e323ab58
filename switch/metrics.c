/*
 * metrics - see metrics.h.
 */
#include <stdio.h>
#include <string.h>

#include "metrics.h"

const double metrics_seconds[METRICS_NBUCKET] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

const double metrics_sizes[METRICS_NBUCKET] = {
	1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192,
	16384, 32768
};

void
metrics_hist_init(struct metrics_hist *h, const double *bounds)
{
	memset(h, 0, sizeof *h);
	h->bounds = bounds;
}

void
metrics_hist_add(struct metrics_hist *h, double v)
{
	int i;

	for (i = 0; i < METRICS_NBUCKET; i++)
		if (v <= h->bounds[i]) {
			h->bucket[i]++;
			break;
		}
	/* Above the last bound: only in +Inf (count). */
	h->count++;
	h->sum += v;
}

double
metrics_quantile(const double *bounds, const uint64_t *bucket,
    uint64_t count, double q)
{
	double		rank = q * (double)count, lo = 0;
	uint64_t	cum = 0;
	int		i;

	if (count == 0)
		return -1;
	for (i = 0; i < METRICS_NBUCKET; i++) {
		if (bucket[i] > 0 && (double)(cum + bucket[i]) >= rank)
			return lo + (bounds[i] - lo) *
			    (rank - (double)cum) / (double)bucket[i];
		cum += bucket[i];
		lo = bounds[i];
	}
	return bounds[METRICS_NBUCKET - 1];
}

void
metrics_hist_render(struct ubuf *b, const char *name, const char *labels,
    const struct metrics_hist *h)
{
	uint64_t	cum = 0;
	int		i;
	const char	*sep = labels[0] ? "," : "";

	for (i = 0; i < METRICS_NBUCKET; i++) {
		cum += h->bucket[i];
		ubuf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels,
		    sep, h->bounds[i], (unsigned long long)cum);
	}
	ubuf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
	    (unsigned long long)h->count);
	if (labels[0]) {
		ubuf_printf(b, "%s_sum{%s} %.6f\n", name, labels, h->sum);
		ubuf_printf(b, "%s_count{%s} %llu\n", name, labels,
		    (unsigned long long)h->count);
	} else {
		ubuf_printf(b, "%s_sum %.6f\n", name, h->sum);
		ubuf_printf(b, "%s_count %llu\n", name,
		    (unsigned long long)h->count);
	}
}
