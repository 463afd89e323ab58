/*
 * nlstorebench - the physical ceiling of the switch's store: the same
 * store operations a message costs the switch, on the same disk, with
 * nothing else (no TLS, no XML, no sessions), through the real queue
 * (switch/queue.c, group commit, the LMDB backend).
 *
 *   nlstorebench -d DIR [-b BYTES] [-w WINDOW] [-s SECONDS] [-W WARMUP_S]
 *                [-j JSON_OUT] [-q]
 *   nlstorebench -d DIR -k COUNT [-l LINE] [-b BYTES] [-w WINDOW] [-q]
 *
 * A message is what the switch does for one single-hop message: a PUT
 * (the body of BYTES bytes, one queued copy, an "accepted" audit record
 * of the switch's size) and, when it committed, the DELETE of that copy
 * (a "delivered" audit record; the message goes with its last copy, its
 * body wiped when it has the photo flag: -p). WINDOW messages are in
 * flight at once (the switch's many senders), so the commit thread
 * batches them as it batches real traffic. Measured after the warm-up
 * for SECONDS: messages per second (PUT + DELETE committed), commits per
 * second and ops per commit. make bench prints every workload as a
 * fraction of this figure (tools/bench). Also the time from a PUT's
 * submission to its commit (p50, p99): with -w 1, one durable commit.
 *
 * -k COUNT fills instead: COUNT messages PUT and left queued, their
 * copies on LINE (default BRX1, make bench's first receiver), to measure
 * what a deep queue costs (start-up, memory), in a map of 16 GB. It
 * prints the time taken.
 *
 * DIR must not exist or be empty (a fresh store); it is left behind.
 * Exit: 0, 1 the store failed, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "queue.h"
#include "util.h"

#define SB_AUDIT_PUT	380	/* bytes: an "accepted" record of the switch */
#define SB_AUDIT_DEL	220	/* a "delivered" one */

struct sb_msg;

struct sb {
	struct event_base	*base;
	struct queue		*q;
	char			*body;
	size_t			 bytes;
	int			 photo;
	int			 window;
	uint64_t		 next_id;
	uint64_t		 t_start, t_measure, t_end;	/* mono us */
	uint64_t		 done;		/* messages deleted, measured */
	uint64_t		 keep;		/* -k: PUTs to leave queued */
	uint32_t		*lat;		/* PUT latencies (us), measured */
	size_t			 nlat, latcap;
	const char		*line;		/* -l: their copies' line */
	uint64_t		 commits0, ops0, commits1, ops1;
	int			 measuring, ended;
	int			 failed;
	int			 stopping;
	int			 inflight;
	char			 audit_put[SB_AUDIT_PUT + 1];
	char			 audit_del[SB_AUDIT_DEL + 1];
};

/* One message's two ops, one after the other. */
struct sb_msg {
	struct sb		*sb;
	struct queue_op		 op;
	struct queue_copy	 copy;
	uint64_t		 t_put;		/* mono us, submitted */
};

static void	sb_send(struct sb *);

static void
sb_usage(FILE *f, int rc)
{
	fprintf(f, "usage: nlstorebench -d DIR [-b BYTES] [-w WINDOW] "
	    "[-s SECONDS] [-W WARMUP_S] [-p] [-j JSON_OUT] [-q]\n"
	    "  the switch's store operations per message (PUT, then DELETE "
	    "of its copy,\n  each with its audit record) on DIR, WINDOW "
	    "messages in flight: the ceiling\n  make bench compares the "
	    "switch with. -p: bodies carry the photo flag (wiped\n  on "
	    "delete, as a DR with a photo).\n");
	exit(rc);
}

static void
sb_del_done_cb(struct queue_op *op, void *arg)
{
	struct sb_msg	*m = arg;
	struct sb	*sb = m->sb;
	uint64_t	 now = util_mono_us();

	if (op->result != QUEUE_E_OK) {
		if (!sb->failed)
			fprintf(stderr, "nlstorebench: delete: %s\n",
			    queue_strerror(op->result));
		sb->failed = 1;
	} else if (now >= sb->t_measure && now < sb->t_end)
		sb->done++;
	sb->inflight--;
	free(m);
	sb_send(sb);
}

static void
sb_put_done_cb(struct queue_op *op, void *arg)
{
	struct sb_msg	*m = arg;
	struct sb	*sb = m->sb;

	if (op->result != QUEUE_E_OK) {
		if (!sb->failed)
			fprintf(stderr, "nlstorebench: put: %s\n",
			    queue_strerror(op->result));
		sb->failed = 1;
		sb->inflight--;
		free(m);
		sb_send(sb);
		return;
	}
	{
		uint64_t now = util_mono_us();

		if (now >= sb->t_measure && now < sb->t_end) {
			if (sb->nlat == sb->latcap) {
				sb->latcap = sb->latcap ? 2 * sb->latcap : 4096;
				sb->lat = xrealloc(sb->lat, sb->latcap *
				    sizeof *sb->lat);
			}
			sb->lat[sb->nlat++] = (uint32_t)(now - m->t_put);
		}
	}
	if (sb->keep > 0) {		/* -k: it stays queued */
		sb->done++;
		sb->inflight--;
		free(m);
		sb_send(sb);
		return;
	}
	/* Delivered: the copy goes, and the message with it. */
	memset(&m->op, 0, sizeof m->op);
	m->op.type = QUEUE_OP_DELETE;
	m->op.copies = &m->copy;
	m->op.ncopies = 1;
	m->op.audit = sb->audit_del;
	m->op.done = sb_del_done_cb;
	m->op.arg = m;
	queue_submit(sb->q, &m->op);
}

/* Keep the window full until the measured time is over. */
static void
sb_send(struct sb *sb)
{
	struct sb_msg	*m;
	uint64_t	 now = util_mono_us();

	if (sb->failed || now >= sb->t_end)
		return;		/* sb_tick_cb ends the loop */
	while (sb->inflight < sb->window &&
	    (sb->keep == 0 || sb->next_id < sb->keep)) {
		m = xcalloc(1, sizeof *m);
		m->sb = sb;
		m->op.type = QUEUE_OP_PUT;
		m->op.msg.msgid = ++sb->next_id;
		m->op.msg.recv_us = util_now_us();
		m->op.msg.key = 7;		/* AM */
		m->op.msg.flags = sb->photo ? QUEUE_MSG_PHOTO : 0;
		util_strlcpy(m->op.msg.from_line, "BENCH1",
		    sizeof m->op.msg.from_line);
		util_strlcpy(m->op.msg.ori, "BN0000001", sizeof m->op.msg.ori);
		util_strlcpy(m->copy.line, sb->line, sizeof m->copy.line);
		m->copy.prio = QUEUE_PRIO_NORMAL;
		m->copy.msgid = m->op.msg.msgid;
		util_strlcpy(m->copy.dest, "ZZ", sizeof m->copy.dest);
		m->copy.key = 7;
		m->copy.enq_us = m->op.msg.recv_us;
		m->copy.size = (uint32_t)sb->bytes;
		m->op.body = sb->body;
		m->op.bodylen = sb->bytes;
		m->op.copies = &m->copy;
		m->op.ncopies = 1;
		m->op.audit = sb->audit_put;
		m->op.done = sb_put_done_cb;
		m->op.arg = m;
		sb->inflight++;
		m->t_put = util_mono_us();
		queue_submit(sb->q, &m->op);
	}
}

/*
 * Every 50 ms (it also keeps the loop alive between completions, which
 * the commit thread signals): the counters' base when the measured
 * window starts, the end once it is over and nothing is in flight.
 */
static void
sb_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sb		*sb = arg;
	struct queue_stats	 st;
	uint64_t		 now = util_mono_us();

	(void)fd;
	(void)what;
	if (!sb->measuring && now >= sb->t_measure) {
		sb->measuring = 1;
		queue_get_stats(sb->q, &st);
		sb->commits0 = st.commits;
		sb->ops0 = st.ops;
	}
	if (sb->keep > 0) {
		if (sb->failed || (sb->done == sb->keep && sb->inflight == 0))
			event_base_loopexit(sb->base, NULL);
		return;
	}
	if (!sb->ended && now >= sb->t_end) {
		sb->ended = 1;
		queue_get_stats(sb->q, &st);
		sb->commits1 = st.commits;
		sb->ops1 = st.ops;
	}
	if ((sb->failed || now >= sb->t_end) && sb->inflight == 0)
		event_base_loopexit(sb->base, NULL);
}

static int
sb_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* An audit record of n bytes, shaped as one (JSON, one line). */
static void
sb_audit(char *buf, size_t n, const char *event)
{
	int k = snprintf(buf, n + 1, "{\"t\":0,\"component\":\"server\","
	    "\"event\":\"%s\",\"pad\":\"", event);

	memset(buf + k, 'x', n - (size_t)k - 2);
	memcpy(buf + n - 2, "\"}", 2);
	buf[n] = '\0';
}

int
main(int argc, char **argv)
{
	struct sb		 sb;
	struct event		*ev;
	struct timeval		 tv;
	const char		*dir = NULL, *json = NULL;
	char			*cause = NULL;
	double			 secs = 10, warm = 2, el, rate;
	uint32_t		 p50, p99;
	int			 c, quiet = 0;
	FILE			*f;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};

	memset(&sb, 0, sizeof sb);
	sb.bytes = 2048;
	sb.window = 256;
	sb.line = "BRX1";
	while ((c = getopt_long(argc, argv, "b:d:hj:k:l:pqs:Vw:W:", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'b': sb.bytes = (size_t)strtoul(optarg, NULL, 10); break;
		case 'd': dir = optarg; break;
		case 'j': json = optarg; break;
		case 'k': sb.keep = strtoull(optarg, NULL, 10);
			if (sb.keep == 0)
				sb_usage(stderr, 2);
			break;
		case 'l': sb.line = optarg;
			if (strlen(optarg) < 1 || strlen(optarg) > QUEUE_LINE_LEN)
				sb_usage(stderr, 2);
			break;
		case 'p': sb.photo = 1; break;
		case 'q': quiet = 1; break;
		case 's': secs = atof(optarg); break;
		case 'w': sb.window = atoi(optarg); break;
		case 'W': warm = atof(optarg); break;
		case 'V': printf("nlstorebench %s\n", NLSWITCH_VERSION);
			return 0;
		case 'h': sb_usage(stdout, 0); break;
		default: sb_usage(stderr, 2);
		}
	}
	if (dir == NULL || sb.bytes < 1 || sb.bytes > 16 << 20 ||
	    sb.window < 1 || secs <= 0 || warm < 0 || optind != argc)
		sb_usage(stderr, 2);
	if (evthread_use_pthreads() == -1 ||
	    (sb.base = event_base_new()) == NULL) {
		fprintf(stderr, "nlstorebench: libevent\n");
		return 1;
	}
	/* A deep queue of 2 KB bodies takes a page each, plus the rest. */
	if ((sb.q = queue_open(&queue_backend_lmdb, dir, sb.keep > 0 ?
	    (size_t)1 << 34 : (size_t)1 << 32,
	    sb.base, &cause)) == NULL) {
		fprintf(stderr, "nlstorebench: %s: %s\n", dir, cause);
		return 1;
	}
	sb.body = xmalloc(sb.bytes);
	memset(sb.body, 'A', sb.bytes);
	sb_audit(sb.audit_put, SB_AUDIT_PUT, "accepted");
	sb_audit(sb.audit_del, SB_AUDIT_DEL, "delivered");
	sb.t_start = util_mono_us();
	sb.t_measure = sb.t_start + (uint64_t)(warm * 1e6);
	sb.t_end = sb.t_measure + (uint64_t)(secs * 1e6);
	if (sb.keep > 0)
		sb.t_end = UINT64_MAX;
	tv.tv_sec = 0;
	tv.tv_usec = 50000;
	ev = event_new(sb.base, -1, EV_PERSIST, sb_tick_cb, &sb);
	event_add(ev, &tv);
	sb_send(&sb);
	event_base_dispatch(sb.base);
	event_free(ev);
	queue_close(sb.q);
	event_base_free(sb.base);
	free(sb.body);
	if (sb.failed)
		return 1;
	if (sb.keep > 0) {
		if (!quiet)
			printf("filled: %llu messages of %zu B queued on %s in "
			    "%.1f s\n", (unsigned long long)sb.done, sb.bytes,
			    sb.line, (double)(util_mono_us() - sb.t_start) / 1e6);
		return 0;
	}
	el = secs;
	rate = (double)sb.done / el;
	if (sb.nlat > 0)
		qsort(sb.lat, sb.nlat, sizeof *sb.lat, sb_cmp_u32);
	p50 = sb.nlat ? sb.lat[sb.nlat / 2] : 0;
	p99 = sb.nlat ? sb.lat[sb.nlat * 99 / 100] : 0;
	free(sb.lat);
	if (!quiet)
		printf("store ceiling: %.0f msg/s (PUT + DELETE, %zu B%s, "
		    "window %d), %.0f commits/s, %.1f ops per commit, PUT "
		    "committed p50 %.2f / p99 %.2f ms\n", rate,
		    sb.bytes, sb.photo ? ", photo flag" : "", sb.window,
		    (double)(sb.commits1 - sb.commits0) / el,
		    sb.commits1 > sb.commits0 ? (double)(sb.ops1 - sb.ops0) /
		    (double)(sb.commits1 - sb.commits0) : 0, p50 / 1e3,
		    p99 / 1e3);
	if (json != NULL) {
		if ((f = fopen(json, "w")) == NULL) {
			fprintf(stderr, "nlstorebench: %s: %s\n", json,
			    strerror(errno));
			return 1;
		}
		fprintf(f, "{\"bytes\":%zu,\"window\":%d,\"photo\":%d,"
		    "\"msgs_per_s\":%.1f,\"commits_per_s\":%.1f,"
		    "\"put_p50_us\":%u,\"put_p99_us\":%u}\n", sb.bytes,
		    sb.window, sb.photo, rate,
		    (double)(sb.commits1 - sb.commits0) / el, p50, p99);
		fclose(f);
	}
	return 0;
}
