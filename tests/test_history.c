/*
 * test_history - the dashboard's rings: per-interval counts, per-interval
 * ACK latency quantiles from histogram deltas, queue depth per line, the
 * coarse ring's sums and peaks, wrap-around and the line table's bound;
 * and metrics_quantile, which they rest on.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "history.h"
#include "metrics.h"

#define T0	1800000000ULL		/* a multiple of 10 */

static void
test_history_quantile(void)
{
	uint64_t	b[METRICS_NBUCKET];

	memset(b, 0, sizeof b);
	CU_ASSERT_EQUAL(metrics_quantile(metrics_seconds, b, 0, 0.5), -1);
	/* 100 in (0.001, 0.0025]: the median halfway through it. */
	b[4] = 100;
	CU_ASSERT_DOUBLE_EQUAL(metrics_quantile(metrics_seconds, b, 100, 0.5),
	    0.00175, 1e-9);
	/* 98 fast, 2 in (1, 2.5]: p50 fast, p99 in the slow bucket. */
	memset(b, 0, sizeof b);
	b[0] = 98;
	b[13] = 2;
	CU_ASSERT(metrics_quantile(metrics_seconds, b, 100, 0.5) <= 0.0001);
	CU_ASSERT(metrics_quantile(metrics_seconds, b, 100, 0.99) > 1);
	CU_ASSERT(metrics_quantile(metrics_seconds, b, 100, 0.99) <= 2.5);
	/* Above the last bound: the last bound. */
	memset(b, 0, sizeof b);
	CU_ASSERT_EQUAL(metrics_quantile(metrics_seconds, b, 3, 0.99), 10);
}

/* Each 1-second point has that second's counts and latencies only. */
static void
test_history_fine(void)
{
	struct history			*h = history_new();
	struct metrics_hist		 lat;
	const struct history_point	*p;
	int				 i;

	metrics_hist_init(&lat, metrics_seconds);
	metrics_hist_add(&lat, 5);	/* before the first tick: not counted */
	history_tick(h, T0, 7, 7, 3, &lat);
	CU_ASSERT_EQUAL(history_count(h, 1), 0);
	for (i = 0; i < 10; i++)
		metrics_hist_add(&lat, 0.002);
	history_depth(h, 0, "CADMV", 4);
	history_depth(h, 1, "NVDMV", 0);
	history_tick(h, T0 + 1, 17, 17, 5, &lat);
	history_tick(h, T0 + 1, 99, 99, 99, &lat);	/* same second: ignored */
	metrics_hist_add(&lat, 0.2);
	history_depth(h, 0, "CADMV", 9);
	history_tick(h, T0 + 2, 18, 18, 5, &lat);
	CU_ASSERT_EQUAL_FATAL(history_count(h, 1), 2);
	p = history_at(h, 1, 0);
	CU_ASSERT_EQUAL(p->t, T0 + 1);
	CU_ASSERT_EQUAL(p->received, 10);
	CU_ASSERT_EQUAL(p->acked, 10);
	CU_ASSERT_EQUAL(p->delivered, 2);
	CU_ASSERT_EQUAL(p->acks, 10);
	CU_ASSERT(p->p50 > 0.001 && p->p50 <= 0.0025);
	CU_ASSERT(p->p99 > 0.001 && p->p99 <= 0.0025);
	p = history_at(h, 1, 1);
	CU_ASSERT_EQUAL(p->received, 1);
	CU_ASSERT_EQUAL(p->acks, 1);
	CU_ASSERT(p->p50 > 0.1 && p->p50 <= 0.25);
	CU_ASSERT_EQUAL_FATAL(history_nline(h), 2);
	CU_ASSERT_STRING_EQUAL(history_line(h, 0), "CADMV");
	CU_ASSERT_STRING_EQUAL(history_line(h, 1), "NVDMV");
	CU_ASSERT_EQUAL(history_depth_at(h, 1, 0, 0), 4);
	CU_ASSERT_EQUAL(history_depth_at(h, 1, 1, 0), 0);
	CU_ASSERT_EQUAL(history_depth_at(h, 1, 0, 1), 9);
	/* NVDMV not reported for the second: no value, not 0. */
	CU_ASSERT_EQUAL(history_depth_at(h, 1, 1, 1), HISTORY_NODEPTH);
	/* A second without ACKs has no quantiles. */
	history_tick(h, T0 + 3, 18, 18, 5, &lat);
	CU_ASSERT(history_at(h, 1, 2)->p50 < 0);
	history_free(h);
}

/*
 * Coarse points: sums of their ten seconds, the greatest depth, the
 * quantiles of their own ACKs; the fine ring keeps 5 minutes.
 */
static void
test_history_coarse(void)
{
	struct history			*h = history_new();
	struct metrics_hist		 lat;
	const struct history_point	*p;
	uint64_t			 t, n = 0;

	metrics_hist_init(&lat, metrics_seconds);
	history_tick(h, T0, 0, 0, 0, &lat);
	for (t = T0 + 1; t <= T0 + 20; t++) {
		n += t - T0;		/* 1, 2, ... a second */
		if (t <= T0 + 10)
			metrics_hist_add(&lat, 0.0002);
		else
			metrics_hist_add(&lat, 3);
		history_depth(h, 0, "CADMV", t == T0 + 4 ? 50 : 1);
		history_tick(h, t, n, n, 0, &lat);
	}
	/* (T0, T0+10] closed; (T0+10, T0+20] only at the next tick. */
	CU_ASSERT_EQUAL_FATAL(history_count(h, HISTORY_COARSE_STEP), 1);
	p = history_at(h, HISTORY_COARSE_STEP, 0);
	CU_ASSERT_EQUAL(p->t, T0 + 10);
	CU_ASSERT_EQUAL(p->received, 55);
	CU_ASSERT_EQUAL(p->acks, 10);
	CU_ASSERT(p->p99 <= 0.00025);
	CU_ASSERT_EQUAL(history_depth_at(h, HISTORY_COARSE_STEP, 0, 0), 50);
	history_tick(h, T0 + 21, n, n, 0, &lat);
	CU_ASSERT_EQUAL_FATAL(history_count(h, HISTORY_COARSE_STEP), 2);
	p = history_at(h, HISTORY_COARSE_STEP, 1);
	CU_ASSERT_EQUAL(p->t, T0 + 20);
	CU_ASSERT_EQUAL(p->received, 155);
	CU_ASSERT_EQUAL(p->acks, 10);
	CU_ASSERT(p->p50 > 2.5 && p->p50 <= 5);
	CU_ASSERT_EQUAL(history_depth_at(h, HISTORY_COARSE_STEP, 0, 1), 1);

	/* An hour and more: both rings full, oldest first, in order. */
	for (t = T0 + 22; t <= T0 + 4000; t++)
		history_tick(h, t, n, n, 0, &lat);
	CU_ASSERT_EQUAL(history_count(h, 1), HISTORY_FINE_N);
	CU_ASSERT_EQUAL(history_at(h, 1, 0)->t, T0 + 4000 - HISTORY_FINE_N + 1);
	CU_ASSERT_EQUAL(history_at(h, 1, HISTORY_FINE_N - 1)->t, T0 + 4000);
	CU_ASSERT_EQUAL(history_count(h, HISTORY_COARSE_STEP),
	    HISTORY_COARSE_N);
	CU_ASSERT_EQUAL(history_at(h, HISTORY_COARSE_STEP,
	    HISTORY_COARSE_N - 1)->t, T0 + 3990);
	CU_ASSERT_EQUAL(history_at(h, HISTORY_COARSE_STEP, 0)->t,
	    T0 + 3990 - (HISTORY_COARSE_N - 1) * HISTORY_COARSE_STEP);
	CU_ASSERT_EQUAL(history_step(300), 1);
	CU_ASSERT_EQUAL(history_step(301), HISTORY_COARSE_STEP);
	history_free(h);
}

/* Lines beyond the table's bound are counted, not kept; moved lines
 * keep their series. */
static void
test_history_lines(void)
{
	struct history		*h = history_new();
	struct metrics_hist	 lat;
	char			 code[16];
	int			 i;

	metrics_hist_init(&lat, metrics_seconds);
	history_tick(h, T0, 0, 0, 0, &lat);
	for (i = 0; i < HISTORY_MAXLINE + 5; i++) {
		snprintf(code, sizeof code, "L%03d", i);
		history_depth(h, i, code, (uint64_t)i);
	}
	history_tick(h, T0 + 1, 0, 0, 0, &lat);
	CU_ASSERT_EQUAL(history_nline(h), HISTORY_MAXLINE);
	CU_ASSERT_EQUAL(history_untracked(h), 5);
	CU_ASSERT_EQUAL(history_depth_at(h, 1, 7, 0), 7);
	/* A reload put L007 first: same series. */
	history_depth(h, 0, "L007", 70);
	history_tick(h, T0 + 2, 0, 0, 0, &lat);
	CU_ASSERT_EQUAL(history_depth_at(h, 1, 7, 1), 70);
	CU_ASSERT_EQUAL(history_depth_at(h, 1, 0, 1), HISTORY_NODEPTH);
	CU_ASSERT_EQUAL(history_untracked(h), 0);
	history_free(h);
}

int
test_history_register(void)
{
	CU_pSuite s = CU_add_suite("history", NULL, NULL);

	if (s == NULL ||
	    CU_add_test(s, "quantile", test_history_quantile) == NULL ||
	    CU_add_test(s, "fine", test_history_fine) == NULL ||
	    CU_add_test(s, "coarse", test_history_coarse) == NULL ||
	    CU_add_test(s, "lines", test_history_lines) == NULL)
		return -1;
	return 0;
}
