/*
 * benchstat - histogram, series, CPU and plot data of the load
 * generators (benchstat.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "benchstat.h"
#include "jsonutil.h"
#include "util.h"

static unsigned
benchstat_hist_idx(uint64_t v)
{
	unsigned msb, shift;

	if (v < 2 * BENCHSTAT_HIST_SUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);	/* >= 7 */
	shift = msb - 6;
	if (msb - 7 >= BENCHSTAT_HIST_OCT)
		return BENCHSTAT_HIST_N - 1;
	return 2 * BENCHSTAT_HIST_SUB + (msb - 7) * BENCHSTAT_HIST_SUB +
	    (unsigned)((v >> shift) & (BENCHSTAT_HIST_SUB - 1));
}

/* Middle of bucket i. */
static uint64_t
benchstat_hist_val(unsigned i)
{
	unsigned	oct, sub;
	uint64_t	lo;

	if (i < 2 * BENCHSTAT_HIST_SUB)
		return i;
	oct = (i - 2 * BENCHSTAT_HIST_SUB) / BENCHSTAT_HIST_SUB;
	sub = (i - 2 * BENCHSTAT_HIST_SUB) % BENCHSTAT_HIST_SUB;
	lo = (uint64_t)(BENCHSTAT_HIST_SUB + sub) << (oct + 1);
	return lo + ((1ull << (oct + 1)) >> 1);
}

void
benchstat_hist_add(struct benchstat_hist *h, uint64_t v)
{
	h->b[benchstat_hist_idx(v)]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

void
benchstat_hist_merge(struct benchstat_hist *into,
    const struct benchstat_hist *from)
{
	unsigned i;

	for (i = 0; i < BENCHSTAT_HIST_N; i++)
		into->b[i] += from->b[i];
	into->n += from->n;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t
benchstat_hist_q(const struct benchstat_hist *h, double q)
{
	uint64_t	 want, seen = 0, v;
	unsigned	 i;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(q * (double)h->n + 0.5);
	if (want < 1)
		want = 1;
	for (i = 0; i < BENCHSTAT_HIST_N; i++) {
		seen += h->b[i];
		if (seen >= want) {
			v = benchstat_hist_val(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

json_t *
benchstat_hist_json(const struct benchstat_hist *h)
{
	json_t *o = json_object();

	jsonutil_set_int(o, "p50", (json_int_t)benchstat_hist_q(h, 0.50));
	jsonutil_set_int(o, "p99", (json_int_t)benchstat_hist_q(h, 0.99));
	jsonutil_set_int(o, "p999", (json_int_t)benchstat_hist_q(h, 0.999));
	jsonutil_set_int(o, "max", (json_int_t)h->max);
	return o;
}

void
benchstat_series_init(struct benchstat_series *s, uint64_t t0, uint64_t step)
{
	memset(s, 0, sizeof *s);
	s->t0 = t0;
	s->step = step > 0 ? step : BENCHSTAT_STEP_US;
}

void
benchstat_series_free(struct benchstat_series *s)
{
	free(s->acked);
	free(s->dlv);
	memset(s, 0, sizeof *s);
}

/* Room for step i (zeroed), doubling. */
static void
benchstat_series_grow(struct benchstat_series *s, size_t i)
{
	size_t n = s->n > 0 ? s->n : 64;

	while (n <= i)
		n *= 2;
	s->acked = xrealloc(s->acked, n * sizeof *s->acked);
	s->dlv = xrealloc(s->dlv, n * sizeof *s->dlv);
	memset(s->acked + s->n, 0, (n - s->n) * sizeof *s->acked);
	memset(s->dlv + s->n, 0, (n - s->n) * sizeof *s->dlv);
	s->n = n;
}

void
benchstat_series_add(struct benchstat_series *s, uint64_t now,
    uint64_t acked, uint64_t dlv)
{
	size_t i = now > s->t0 ? (size_t)((now - s->t0) / s->step) : 0;

	if (i >= s->n)
		benchstat_series_grow(s, i);
	s->acked[i] += acked;
	s->dlv[i] += dlv;
}

void
benchstat_series_merge(struct benchstat_series *into,
    const struct benchstat_series *from)
{
	size_t i;

	if (from->n > into->n)
		benchstat_series_grow(into, from->n - 1);
	for (i = 0; i < from->n; i++) {
		into->acked[i] += from->acked[i];
		into->dlv[i] += from->dlv[i];
	}
}

/* utime + stime of a /proc/.../stat file, in us; 0 if unreadable. */
static uint64_t
benchstat_proc_stat_us(const char *path)
{
	char			 buf[1024], *p;
	unsigned long long	 ut = 0, st = 0;
	FILE			*f;
	size_t			 n;
	long			 hz = sysconf(_SC_CLK_TCK);

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after "(comm)": state is field 3, utime 14, stime 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
	    "%llu", &ut, &st) != 2)
		return 0;
	if (hz <= 0)
		hz = 100;
	return (ut + st) * 1000000ull / (unsigned long long)hz;
}

void
benchstat_cpu_sample(int pid, struct benchstat_cpu *c)
{
	struct rusage	 ru;
	struct dirent	*de;
	DIR		*d;
	char		 path[64];

	memset(c, 0, sizeof *c);
	c->wall_us = util_mono_us();
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		c->self_us = (uint64_t)ru.ru_utime.tv_sec * 1000000 +
		    (uint64_t)ru.ru_utime.tv_usec +
		    (uint64_t)ru.ru_stime.tv_sec * 1000000 +
		    (uint64_t)ru.ru_stime.tv_usec;
	if (pid <= 0)
		return;
	snprintf(path, sizeof path, "/proc/%d/task", pid);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL && c->ntask < BENCHSTAT_MAXTASK) {
		int tid = atoi(de->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, tid);
		c->tid[c->ntask] = tid;
		c->task_us[c->ntask] = benchstat_proc_stat_us(path);
		c->other_us += c->task_us[c->ntask];
		c->ntask++;
	}
	closedir(d);
}

uint64_t
benchstat_cpu_max_thread(const struct benchstat_cpu *a,
    const struct benchstat_cpu *z)
{
	uint64_t	 best = 0, d;
	int		 i, j;

	for (j = 0; j < z->ntask; j++)
		for (i = 0; i < a->ntask; i++)
			if (a->tid[i] == z->tid[j]) {
				d = z->task_us[j] - a->task_us[i];
				if (d > best)
					best = d;
			}
	return best;
}

/* Close f, which was written to path; -1 with *cause if anything failed. */
static int
benchstat_close(FILE *f, const char *path, char **cause)
{
	int bad = ferror(f);

	if (fclose(f) != 0 || bad) {
		*cause = xasprintf("%s: %s", path, strerror(errno ? errno :
		    EIO));
		return -1;
	}
	return 0;
}

int
benchstat_write_series(const char *path, const struct benchstat_series *s,
    uint64_t t_meas, uint64_t t_end, char **cause)
{
	FILE	*f;
	double	 sec = (double)s->step / 1e6;
	size_t	 i;

	if ((f = fopen(path, "w")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# t_s acked_per_s delivered_per_s (step %.3f s; t_s is "
	    "the step's end, 0 = start of the measured window)\n", sec);
	for (i = 0; i < s->n; i++) {
		uint64_t end = s->t0 + (uint64_t)(i + 1) * s->step;

		if (end > t_end + s->step / 2)
			break;
		fprintf(f, "%.3f %.1f %.1f\n",
		    ((double)end - (double)t_meas) / 1e6,
		    (double)s->acked[i] / sec, (double)s->dlv[i] / sec);
	}
	return benchstat_close(f, path, cause);
}

int
benchstat_write_hist(const char *path, const struct benchstat_hist *ack,
    const struct benchstat_hist *e2e, char **cause)
{
	const struct benchstat_hist	*h[2] = { ack, e2e };
	static const char		*kind[2] = { "ack", "e2e" };
	FILE				*f;
	unsigned			 i, k;

	if ((f = fopen(path, "w")) == NULL) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "# kind value_us count (log-linear buckets, value = the "
	    "bucket's middle)\n");
	for (k = 0; k < 2; k++)
		for (i = 0; i < BENCHSTAT_HIST_N; i++)
			if (h[k]->b[i] > 0)
				fprintf(f, "%s %llu %llu\n", kind[k],
				    (unsigned long long)benchstat_hist_val(i),
				    (unsigned long long)h[k]->b[i]);
	return benchstat_close(f, path, cause);
}
