/*
 * benchstat - the measuring half of the load generators (bin/nlbench for
 * the switch, bin/rmqbench for the RabbitMQ peer), so that both count
 * the same way and tools/bench can put their figures, and their plots,
 * side by side.
 *
 *  - a latency histogram, log-linear: values below 128 us exact, then 64
 *    sub-buckets per power of two (+-0.8 %), fixed size whatever the run;
 *    the same buckets in both tools, so their dumps merge and overlay;
 *  - a throughput series: messages acked and delivered per step (100 ms
 *    by default) from a start time, grown as the run goes on;
 *  - CPU: this process (getrusage) and every thread of another one
 *    (/proc/PID/task), for the switch's or the broker's CPU per message;
 *  - the plot data files tools/bench hands to gnuplot.
 *
 * None of it locks: a threaded tool keeps one histogram and one series
 * per thread and merges them at the end.
 */
#ifndef NLSWITCH_BENCHSTAT_H
#define NLSWITCH_BENCHSTAT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define BENCHSTAT_HIST_SUB	64
#define BENCHSTAT_HIST_OCT	40
#define BENCHSTAT_HIST_N	(2 * BENCHSTAT_HIST_SUB + \
				 BENCHSTAT_HIST_OCT * BENCHSTAT_HIST_SUB)
#define BENCHSTAT_STEP_US	100000	/* the series' default step */
#define BENCHSTAT_MAXTASK	256	/* threads of another process sampled */

/* Zeroed is empty. */
struct benchstat_hist {
	uint64_t	 n;
	uint64_t	 max;
	uint64_t	 b[BENCHSTAT_HIST_N];
};

/* benchstat_series_init() before use, benchstat_series_free() after. */
struct benchstat_series {
	uint64_t	 t0;		/* mono us of step 0 */
	uint64_t	 step;		/* us */
	size_t		 n;		/* steps with room */
	uint64_t	*acked;
	uint64_t	*dlv;
};

struct benchstat_cpu {
	uint64_t	 wall_us;	/* monotonic */
	uint64_t	 self_us;	/* this process, user + sys */
	uint64_t	 other_us;	/* the other process, all threads */
	int		 ntask;
	int		 tid[BENCHSTAT_MAXTASK];
	uint64_t	 task_us[BENCHSTAT_MAXTASK];
};

/** Count one value (us). */
void		 benchstat_hist_add(struct benchstat_hist *, uint64_t v);
/** Add every count of from into into. */
void		 benchstat_hist_merge(struct benchstat_hist *into,
		    const struct benchstat_hist *from);
/** The q-quantile (0 < q <= 1) in us, a bucket's middle; 0 if empty. */
uint64_t	 benchstat_hist_q(const struct benchstat_hist *, double q);
/** {"p50","p99","p999","max"} in us: a new reference, never NULL. */
json_t		*benchstat_hist_json(const struct benchstat_hist *);

/** An empty series whose step 0 starts at t0 (mono us), step us long. */
void		 benchstat_series_init(struct benchstat_series *, uint64_t t0,
		    uint64_t step);
void		 benchstat_series_free(struct benchstat_series *);
/** Count acked and delivered messages at now (mono us >= t0). */
void		 benchstat_series_add(struct benchstat_series *, uint64_t now,
		    uint64_t acked, uint64_t dlv);
/** Add from's counts into into (same t0 and step). */
void		 benchstat_series_merge(struct benchstat_series *into,
		    const struct benchstat_series *from);

/**
 * Sample the CPU: this process's, and with pid > 0 that of each thread
 * of process pid (0 where /proc cannot tell).
 */
void		 benchstat_cpu_sample(int pid, struct benchstat_cpu *);
/** The busiest thread of the other process between two samples (us). */
uint64_t	 benchstat_cpu_max_thread(const struct benchstat_cpu *a,
		    const struct benchstat_cpu *z);

/**
 * Write the plot data, text for gnuplot, to path. The series: a "#"
 * header, then "t_s acked_per_s delivered_per_s" per step up to t_end
 * (mono us), t_s the step's end relative to t_meas (the warm-up is
 * negative). The histograms: "kind value_us count" per non-empty bucket,
 * kind "ack" then "e2e", value_us the bucket's middle.
 * @return 0, or -1 with *cause set (caller frees).
 */
int		 benchstat_write_series(const char *path,
		    const struct benchstat_series *, uint64_t t_meas,
		    uint64_t t_end, char **cause);
int		 benchstat_write_hist(const char *path,
		    const struct benchstat_hist *ack,
		    const struct benchstat_hist *e2e, char **cause);

#endif
