/*
 * rmqbench - nlbench's workload against RabbitMQ, the peer tools/bench
 * compares the switch with (tools/rabbitpeer starts a private node).
 *
 *   rmqbench -P PORT [-H HOST] [-c CONNS] [-r RECEIVERS] [-b BYTES]
 *            [-d SECONDS] [-W WARMUP_S] [-w WINDOW] [-Q classic|quorum]
 *            [-F PREFETCH] [-p BROKER_PID] [-j JSON_OUT] [-q]
 *            [--series FILE] [--hist FILE]
 *   rmqbench -P PORT [-H HOST] -A SECONDS    wait until the broker logs in
 *   rmqbench --help | --version
 *
 * The same job as nlbench's, as closely as AMQP 0-9-1 allows: RECEIVERS
 * durable queues (rmqbench1..N, classic or quorum: x-queue-type), each
 * deleted and declared anew at the start and deleted at the end; CONNS
 * publisher connections, publisher I to queue (I - 1) mod RECEIVERS
 * through the default exchange, each keeping WINDOW persistent messages
 * (delivery_mode 2) of BYTES bytes of body unconfirmed (publisher
 * confirms: the broker's basic.ack is our ACK: the message is on disk,
 * fsynced, in its queue); RECEIVERS consumers, one per queue, with manual
 * acks and a prefetch of PREFETCH, acking every delivery at once as
 * nlbench's receivers DACK theirs. The prefetch is the switch's delivery
 * window per receiver line (limits window), which make bench sets to
 * 1024, the default here: with 64 a quorum queue's consumers fell behind
 * its publishers (9.9K of 11.8K/s delivered at 2 KB, the end-to-end
 * latency growing to 0.5 s), with 256 or 1024 they kept up.
 *
 * Measured after the warm-up over -d seconds: confirmed messages/s, the
 * confirm latency (publish -> basic.ack, nlbench's ACK latency), the
 * end-to-end latency (publish -> delivery at the consumer; the send time
 * travels in the body's first 8 bytes), deliveries/s, nacks, this
 * process's CPU and, with -p, the broker's (all threads, the busiest).
 * Then publishing stops and the run drains (every confirm and delivery
 * in, bounded by 30 s). The text line and the JSON (-j) have nlbench's
 * shape, with "broker":"rabbitmq" and "queue_type", so tools/bench reads
 * both alike; the broker's CPU is in "switch_cpu_pct". --series and
 * --hist write the plot data as nlbench's do (benchstat.h).
 *
 * One thread per connection on the blocking rabbitmq-c API: a publisher
 * sends while its window has room, then waits for a frame (at most 50 ms,
 * amqp_simple_wait_frame_noblock) and counts the confirms in it; a
 * consumer waits in amqp_consume_message (100 ms at a time). Each thread
 * keeps its own histogram and series, merged at the end (no locks); the
 * phase and the totals the drain waits for are atomics.
 *
 * BYTES is the AMQP body; the switch's BYTES is its whole XML message.
 * The broker is told nothing of the content (no parsing, no validation).
 *
 * Exit: 0, 1 the broker refused or closed something, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include) && __has_include(<rabbitmq-c/amqp.h>)
#include <rabbitmq-c/amqp.h>
#include <rabbitmq-c/tcp_socket.h>
#else
#include <amqp.h>
#include <amqp_tcp_socket.h>
#endif

#include "benchstat.h"
#include "jsonutil.h"
#include "util.h"

#define RMQ_MAXCONN	256
#define RMQ_RING	(1u << 16)	/* confirm slots per publisher */
#define RMQ_DRAIN_S	30
#define RMQ_PREFETCH	1024	/* make bench's switch window per line */
#define RMQ_FRAME_MAX	131072
#define RMQ_OPT_SERIES	1000
#define RMQ_OPT_HIST	1001

enum rmq_phase {
	RMQ_PH_WARMUP = 0,
	RMQ_PH_MEASURE,
	RMQ_PH_DRAIN,
	RMQ_PH_DONE
};

struct rmq;

/* A publisher or a consumer: one connection, one thread. */
struct rmq_conn {
	struct rmq			*r;
	int				 i;
	int				 rx;		/* consumer */
	char				 queue[32];
	pthread_t			 th;
	amqp_connection_state_t		 conn;
	int				 failed;
	/* publisher */
	char				*body;
	uint64_t			*sendt;		/* tag -> send, mono us */
	uint8_t				*pending;	/* tag -> unconfirmed */
	uint64_t			 next_tag;	/* the next publish's */
	uint64_t			 lowest;	/* lowest unconfirmed */
	int				 inflight;
	/* counts; m_ in the measured window */
	uint64_t			 m_acked;
	uint64_t			 m_naks;
	uint64_t			 m_dlv;
	struct benchstat_hist		 h;		/* ack or e2e */
	struct benchstat_series		 series;
};

struct rmq {
	const char		*host;
	int			 port;
	int			 nconn;
	int			 nrx;
	size_t			 bytes;
	double			 duration;
	double			 warmup;
	int			 window;
	int			 prefetch;
	const char		*qtype;
	int			 brokerpid;
	int			 quiet;
	const char		*json;
	const char		*series_path;
	const char		*hist_path;
	double			 await;		/* -A */

	_Atomic int		 phase;
	_Atomic uint64_t	 confirmed;	/* whole run */
	_Atomic uint64_t	 delivered;
	_Atomic int		 failed;
	uint64_t		 t_start;
	uint64_t		 t_meas;
	uint64_t		 t_end;
	struct benchstat_cpu	 cpu0;
	struct benchstat_cpu	 cpu1;
	struct rmq_conn		*tx;
	struct rmq_conn		*rxs;
};

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: rmqbench -P PORT [-H HOST] [-c CONNS] [-r RECEIVERS] "
	    "[-b BYTES]\n"
	    "                [-d SECONDS] [-W WARMUP_S] [-w WINDOW] "
	    "[-Q classic|quorum]\n"
	    "                [-F PREFETCH] [-p BROKER_PID] [-j JSON_OUT] [-q]\n"
	    "                [--series FILE] [--hist FILE]\n"
	    "       rmqbench -P PORT [-H HOST] -A SECONDS\n"
	    "       rmqbench --help | --version\n");
	exit(status);
}

/*
 * Connections.
 */

/* "what: why" of an RPC reply that is not normal; NULL if it is. */
static const char *
rmq_reply_error(amqp_rpc_reply_t x, char *buf, size_t sz)
{
	switch (x.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return NULL;
	case AMQP_RESPONSE_NONE:
		snprintf(buf, sz, "no reply");
		break;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		snprintf(buf, sz, "%s", amqp_error_string2(x.library_error));
		break;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (x.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = x.reply.decoded;

			snprintf(buf, sz, "connection closed: %d %.*s",
			    m->reply_code, (int)m->reply_text.len,
			    (char *)m->reply_text.bytes);
		} else if (x.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = x.reply.decoded;

			snprintf(buf, sz, "channel closed: %d %.*s",
			    m->reply_code, (int)m->reply_text.len,
			    (char *)m->reply_text.bytes);
		} else
			snprintf(buf, sz, "server exception 0x%08x",
			    x.reply.id);
		break;
	}
	return buf;
}

/*
 * A connection logged in as guest (the broker allows it from the
 * loopback only) with channel 1 open, or NULL with *cause set (static).
 */
static amqp_connection_state_t
rmq_open(const char *host, int port, const char **cause)
{
	static __thread char	 buf[256];
	amqp_connection_state_t	 c;
	amqp_socket_t		*s;
	struct timeval		 tv = { 10, 0 };
	int			 rc;

	if ((c = amqp_new_connection()) == NULL ||
	    (s = amqp_tcp_socket_new(c)) == NULL) {
		*cause = "out of memory";
		if (c != NULL)
			amqp_destroy_connection(c);
		return NULL;
	}
	if ((rc = amqp_socket_open_noblock(s, host, port, &tv)) != 0) {
		snprintf(buf, sizeof buf, "cannot connect to %s:%d: %s", host,
		    port, amqp_error_string2(rc));
		goto fail;
	}
	if (rmq_reply_error(amqp_login(c, "/", 0, RMQ_FRAME_MAX, 0,
	    AMQP_SASL_METHOD_PLAIN, "guest", "guest"), buf,
	    sizeof buf) != NULL)
		goto fail;
	amqp_channel_open(c, 1);
	if (rmq_reply_error(amqp_get_rpc_reply(c), buf, sizeof buf) != NULL)
		goto fail;
	return c;
fail:
	*cause = buf;
	amqp_destroy_connection(c);
	return NULL;
}

static void
rmq_close(amqp_connection_state_t c)
{
	if (c == NULL)
		return;
	amqp_channel_close(c, 1, AMQP_REPLY_SUCCESS);
	amqp_connection_close(c, AMQP_REPLY_SUCCESS);
	amqp_destroy_connection(c);
}

/* -A: log in until it works or SECONDS pass; 0 or 1. */
static int
rmq_await(struct rmq *r)
{
	uint64_t		 end = util_mono_us() +
			    (uint64_t)(r->await * 1e6);
	const char		*cause = "";
	amqp_connection_state_t	 c;

	do {
		if ((c = rmq_open(r->host, r->port, &cause)) != NULL) {
			rmq_close(c);
			return 0;
		}
		usleep(200000);
	} while (util_mono_us() < end);
	fprintf(stderr, "rmqbench: broker not up after %g s: %s\n",
	    r->await, cause);
	return 1;
}

/*
 * The queues, anew (delete, declare) or gone (declare == 0), on a
 * connection of their own; 0 or -1.
 */
static int
rmq_queues(struct rmq *r, int declare)
{
	amqp_connection_state_t	 c;
	amqp_table_entry_t	 arg;
	amqp_table_t		 args = { 1, &arg };
	const char		*cause;
	char			 buf[256], name[32];
	int			 j;

	if ((c = rmq_open(r->host, r->port, &cause)) == NULL) {
		fprintf(stderr, "rmqbench: %s\n", cause);
		return -1;
	}
	arg.key = amqp_cstring_bytes("x-queue-type");
	arg.value.kind = AMQP_FIELD_KIND_UTF8;
	arg.value.value.bytes = amqp_cstring_bytes(r->qtype);
	for (j = 0; j < r->nrx; j++) {
		snprintf(name, sizeof name, "rmqbench%d", j + 1);
		amqp_queue_delete(c, 1, amqp_cstring_bytes(name), 0, 0);
		if (rmq_reply_error(amqp_get_rpc_reply(c), buf,
		    sizeof buf) != NULL)
			goto fail;
		if (!declare)
			continue;
		amqp_queue_declare(c, 1, amqp_cstring_bytes(name), 0, 1, 0, 0,
		    args);
		if (rmq_reply_error(amqp_get_rpc_reply(c), buf,
		    sizeof buf) != NULL)
			goto fail;
	}
	rmq_close(c);
	return 0;
fail:
	fprintf(stderr, "rmqbench: queue %s: %s\n", name, buf);
	amqp_destroy_connection(c);
	return -1;
}

/*
 * Publishers.
 */

static void
rmq_publish(struct rmq_conn *t)
{
	amqp_basic_properties_t	 props;
	uint64_t		 now = util_mono_us(), tag = t->next_tag;
	amqp_bytes_t		 body = { t->r->bytes, t->body };

	memset(&props, 0, sizeof props);
	props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
	props.delivery_mode = 2;			/* persistent */
	memcpy(t->body, &now, sizeof now);
	if (amqp_basic_publish(t->conn, 1, amqp_empty_bytes,
	    amqp_cstring_bytes(t->queue), 0, 0, &props, body) != 0) {
		t->failed = 1;
		return;
	}
	t->sendt[tag & (RMQ_RING - 1)] = now;
	t->pending[tag & (RMQ_RING - 1)] = 1;
	t->next_tag++;
	t->inflight++;
}

/* Delivery tag tag confirmed (ok) or nacked. */
static void
rmq_confirm_one(struct rmq_conn *t, uint64_t tag, int ok, int measuring,
    uint64_t now)
{
	unsigned slot = (unsigned)(tag & (RMQ_RING - 1));

	if (!t->pending[slot])
		return;
	t->pending[slot] = 0;
	t->inflight--;
	if (ok) {
		atomic_fetch_add(&t->r->confirmed, 1);
		benchstat_series_add(&t->series, now, 1, 0);
	}
	if (!measuring)
		return;
	if (ok) {
		t->m_acked++;
		benchstat_hist_add(&t->h, now - t->sendt[slot]);
	} else
		t->m_naks++;
}

/* A basic.ack or basic.nack: one tag, or every one up to it. */
static void
rmq_confirm(struct rmq_conn *t, uint64_t tag, int multiple, int ok)
{
	int		 measuring = atomic_load(&t->r->phase) == RMQ_PH_MEASURE;
	uint64_t	 now = util_mono_us(), k;

	if (multiple) {
		if (tag == 0)
			tag = t->next_tag - 1;
		for (k = t->lowest; k <= tag; k++)
			rmq_confirm_one(t, k, ok, measuring, now);
	} else
		rmq_confirm_one(t, tag, ok, measuring, now);
	while (t->lowest < t->next_tag &&
	    !t->pending[t->lowest & (RMQ_RING - 1)])
		t->lowest++;
}

static void *
rmq_pub_main(void *arg)
{
	struct rmq_conn	*t = arg;
	struct rmq	*r = t->r;
	amqp_frame_t	 f;
	struct timeval	 tv;
	uint64_t	 deadline = 0;
	int		 ph, rc;

	for (;;) {
		ph = atomic_load(&r->phase);
		if (ph >= RMQ_PH_DRAIN) {
			if (deadline == 0)
				deadline = util_mono_us() +
				    RMQ_DRAIN_S * 1000000ull;
			if (t->inflight == 0 || util_mono_us() > deadline)
				break;
		} else
			while (t->inflight < r->window && !t->failed &&
			    t->next_tag - t->lowest < RMQ_RING)
				rmq_publish(t);
		if (t->failed)
			break;
		amqp_maybe_release_buffers(t->conn);
		tv.tv_sec = 0;
		tv.tv_usec = 50000;
		rc = amqp_simple_wait_frame_noblock(t->conn, &f, &tv);
		if (rc == AMQP_STATUS_TIMEOUT)
			continue;
		if (rc != AMQP_STATUS_OK) {
			fprintf(stderr, "rmqbench: publisher %d: %s\n", t->i,
			    amqp_error_string2(rc));
			t->failed = 1;
			break;
		}
		if (f.frame_type != AMQP_FRAME_METHOD)
			continue;
		if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *a = f.payload.method.decoded;

			rmq_confirm(t, a->delivery_tag, a->multiple, 1);
		} else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
			amqp_basic_nack_t *n = f.payload.method.decoded;

			rmq_confirm(t, n->delivery_tag, n->multiple, 0);
		} else if (f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
		    f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_channel_close_t *m = f.payload.method.decoded;

			fprintf(stderr, "rmqbench: publisher %d: closed by the "
			    "broker: %d %.*s\n", t->i, m->reply_code,
			    (int)m->reply_text.len,
			    (char *)m->reply_text.bytes);
			t->failed = 1;
			break;
		}
	}
	if (t->failed)
		atomic_store(&r->failed, 1);
	return NULL;
}

/*
 * Consumers.
 */

static void *
rmq_con_main(void *arg)
{
	struct rmq_conn		*t = arg;
	struct rmq		*r = t->r;
	amqp_envelope_t		 env;
	amqp_rpc_reply_t	 x;
	struct timeval		 tv;
	uint64_t		 sent, now;
	char			 buf[256];

	while (atomic_load(&r->phase) != RMQ_PH_DONE) {
		amqp_maybe_release_buffers(t->conn);
		tv.tv_sec = 0;
		tv.tv_usec = 100000;
		x = amqp_consume_message(t->conn, &env, &tv, 0);
		if (x.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
		    x.library_error == AMQP_STATUS_TIMEOUT)
			continue;
		if (x.reply_type != AMQP_RESPONSE_NORMAL) {
			fprintf(stderr, "rmqbench: consumer %d: %s\n", t->i,
			    rmq_reply_error(x, buf, sizeof buf));
			t->failed = 1;
			break;
		}
		now = util_mono_us();
		if (amqp_basic_ack(t->conn, 1, env.delivery_tag, 0) != 0) {
			t->failed = 1;
			amqp_destroy_envelope(&env);
			break;
		}
		atomic_fetch_add(&r->delivered, 1);
		benchstat_series_add(&t->series, now, 0, 1);
		if (atomic_load(&r->phase) == RMQ_PH_MEASURE &&
		    env.message.body.len >= sizeof sent) {
			memcpy(&sent, env.message.body.bytes, sizeof sent);
			t->m_dlv++;
			benchstat_hist_add(&t->h, now - sent);
		}
		amqp_destroy_envelope(&env);
	}
	if (t->failed)
		atomic_store(&r->failed, 1);
	return NULL;
}

/*
 * Set-up, run, report.
 */

/* Connection i (publisher or consumer) open and set up; 0 or -1. */
static int
rmq_conn_init(struct rmq *r, struct rmq_conn *t, int i, int rx)
{
	const char	*cause;
	char		 buf[256];
	size_t		 k;

	t->r = r;
	t->i = i;
	t->rx = rx;
	snprintf(t->queue, sizeof t->queue, "rmqbench%d",
	    rx ? i : (i - 1) % r->nrx + 1);
	benchstat_series_init(&t->series, r->t_start, BENCHSTAT_STEP_US);
	if ((t->conn = rmq_open(r->host, r->port, &cause)) == NULL) {
		fprintf(stderr, "rmqbench: %s\n", cause);
		return -1;
	}
	if (rx) {
		amqp_basic_qos(t->conn, 1, 0, (uint16_t)r->prefetch, 0);
		if (rmq_reply_error(amqp_get_rpc_reply(t->conn), buf,
		    sizeof buf) == NULL) {
			amqp_basic_consume(t->conn, 1,
			    amqp_cstring_bytes(t->queue), amqp_empty_bytes, 0,
			    0, 0, amqp_empty_table);
			rmq_reply_error(amqp_get_rpc_reply(t->conn), buf,
			    sizeof buf);
		}
	} else {
		amqp_confirm_select(t->conn, 1);
		rmq_reply_error(amqp_get_rpc_reply(t->conn), buf, sizeof buf);
		t->body = xmalloc(r->bytes < 8 ? 8 : r->bytes);
		for (k = 0; k < r->bytes; k++)
			t->body[k] = (char)('A' + k % 26);
		t->sendt = xcalloc(RMQ_RING, sizeof *t->sendt);
		t->pending = xcalloc(RMQ_RING, 1);
		t->next_tag = t->lowest = 1;
	}
	if (amqp_get_rpc_reply(t->conn).reply_type != AMQP_RESPONSE_NORMAL) {
		fprintf(stderr, "rmqbench: %s %d: %s\n", rx ? "consumer" :
		    "publisher", i, buf);
		return -1;
	}
	return 0;
}

static void
rmq_conn_free(struct rmq_conn *t)
{
	rmq_close(t->conn);
	free(t->body);
	free(t->sendt);
	free(t->pending);
	benchstat_series_free(&t->series);
}

/* Sleep s seconds, or less if a thread failed. */
static void
rmq_sleep(struct rmq *r, double s)
{
	uint64_t end = util_mono_us() + (uint64_t)(s * 1e6);

	while (util_mono_us() < end && !atomic_load(&r->failed))
		usleep(20000);
}

static void
rmq_report(struct rmq *r)
{
	struct benchstat_hist	*ack, *e2e;
	struct benchstat_series	 series;
	double			 dt = (double)(r->t_end - r->t_meas) / 1e6;
	double			 rate, dlvrate, mbs, self, bk = 0, bkmax = 0;
	uint64_t		 acked = 0, naks = 0, dlv = 0;
	char			 bkbuf[64] = "", *cause = NULL;
	json_t			*doc;
	FILE			*f;
	int			 i;

	ack = xcalloc(1, sizeof *ack);
	e2e = xcalloc(1, sizeof *e2e);
	benchstat_series_init(&series, r->t_start, BENCHSTAT_STEP_US);
	for (i = 0; i < r->nconn; i++) {
		benchstat_hist_merge(ack, &r->tx[i].h);
		benchstat_series_merge(&series, &r->tx[i].series);
		acked += r->tx[i].m_acked;
		naks += r->tx[i].m_naks;
	}
	for (i = 0; i < r->nrx; i++) {
		benchstat_hist_merge(e2e, &r->rxs[i].h);
		benchstat_series_merge(&series, &r->rxs[i].series);
		dlv += r->rxs[i].m_dlv;
	}
	if (dt <= 0)
		dt = 1e-6;
	rate = (double)acked / dt;
	dlvrate = (double)dlv / dt;
	mbs = rate * (double)r->bytes / 1e6;
	self = 100.0 * (double)(r->cpu1.self_us - r->cpu0.self_us) /
	    (double)(r->t_end - r->t_meas);
	if (r->brokerpid > 0) {
		bk = 100.0 * (double)(r->cpu1.other_us - r->cpu0.other_us) /
		    (double)(r->t_end - r->t_meas);
		bkmax = 100.0 * (double)benchstat_cpu_max_thread(&r->cpu0,
		    &r->cpu1) / (double)(r->t_end - r->t_meas);
		snprintf(bkbuf, sizeof bkbuf, " broker-cpu=%.0f%%(max-thread "
		    "%.0f%%)", bk, bkmax);
	}
	printf("rmqbench: %s conns=%d rx=%d bytes=%zu window=%d time=%.2fs "
	    "acked=%llu rate=%.0f/s (%.1f MB/s) naks=%llu dlv=%.0f/s "
	    "ack-lat p50=%.3fms p99=%.3fms p99.9=%.3fms "
	    "e2e-lat p50=%.3fms p99=%.3fms cpu=%.0f%%%s\n", r->qtype,
	    r->nconn, r->nrx, r->bytes, r->window, dt,
	    (unsigned long long)acked, rate, mbs, (unsigned long long)naks,
	    dlvrate, benchstat_hist_q(ack, 0.50) / 1e3,
	    benchstat_hist_q(ack, 0.99) / 1e3,
	    benchstat_hist_q(ack, 0.999) / 1e3,
	    benchstat_hist_q(e2e, 0.50) / 1e3,
	    benchstat_hist_q(e2e, 0.99) / 1e3, self, bkbuf);
	if ((r->series_path != NULL && benchstat_write_series(r->series_path,
	    &series, r->t_meas, r->t_end, &cause) == -1) ||
	    (r->hist_path != NULL && benchstat_write_hist(r->hist_path, ack,
	    e2e, &cause) == -1)) {
		fprintf(stderr, "rmqbench: %s\n", cause);
		free(cause);
	}
	if (r->json != NULL) {
		doc = json_object();
		jsonutil_set_str(doc, "broker", "rabbitmq");
		jsonutil_set_str(doc, "queue_type", r->qtype);
		jsonutil_set_int(doc, "conns", r->nconn);
		jsonutil_set_int(doc, "receivers", r->nrx);
		jsonutil_set_int(doc, "bytes", (json_int_t)r->bytes);
		jsonutil_set_int(doc, "window", r->window);
		jsonutil_set_int(doc, "prefetch", r->prefetch);
		jsonutil_set_real(doc, "warmup_s", r->warmup, 3);
		jsonutil_set_real(doc, "duration_s", dt, 3);
		jsonutil_set_int(doc, "acked", (json_int_t)acked);
		jsonutil_set_int(doc, "naks", (json_int_t)naks);
		jsonutil_set_int(doc, "delivered", (json_int_t)dlv);
		jsonutil_set_real(doc, "acked_per_s", rate, 1);
		jsonutil_set_real(doc, "delivered_per_s", dlvrate, 1);
		jsonutil_set_real(doc, "mb_per_s", mbs, 2);
		jsonutil_set(doc, "ack_us", benchstat_hist_json(ack));
		jsonutil_set(doc, "e2e_us", benchstat_hist_json(e2e));
		jsonutil_set_real(doc, "cpu_pct", self, 1);
		jsonutil_set_real(doc, "switch_cpu_pct", bk, 1);
		jsonutil_set_real(doc, "switch_thread_max_pct", bkmax, 1);
		if (strcmp(r->json, "-") == 0)
			f = stdout;
		else if ((f = fopen(r->json, "w")) == NULL)
			fprintf(stderr, "rmqbench: %s: %s\n", r->json,
			    strerror(errno));
		if (f != NULL && jsonutil_write(doc, JSONUTIL_COMPACT,
		    f) == -1)
			fprintf(stderr, "rmqbench: %s: %s\n", r->json,
			    strerror(errno));
		if (f != NULL && f != stdout)
			fclose(f);
		json_decref(doc);
	}
	benchstat_series_free(&series);
	free(ack);
	free(e2e);
}

/*
 * The run: queues anew, consumers then publishers connected, the
 * threads started, warm-up, measure, drain, threads joined, queues
 * deleted, report. 0 or 1.
 */
static int
rmq_run(struct rmq *r)
{
	int	 i, status = 1, started_rx = 0, started_tx = 0;
	uint64_t deadline;

	if (rmq_queues(r, 1) == -1)
		return 1;
	r->tx = xcalloc((size_t)r->nconn, sizeof *r->tx);
	r->rxs = xcalloc((size_t)r->nrx, sizeof *r->rxs);
	r->t_start = util_mono_us();
	for (i = 0; i < r->nrx; i++)
		if (rmq_conn_init(r, &r->rxs[i], i + 1, 1) == -1)
			goto out;
	for (i = 0; i < r->nconn; i++)
		if (rmq_conn_init(r, &r->tx[i], i + 1, 0) == -1)
			goto out;
	/* Step 0 of the series is the warm-up's start. */
	r->t_start = util_mono_us();
	for (i = 0; i < r->nrx; i++)
		r->rxs[i].series.t0 = r->t_start;
	for (i = 0; i < r->nconn; i++)
		r->tx[i].series.t0 = r->t_start;
	atomic_store(&r->phase, r->warmup > 0 ? RMQ_PH_WARMUP :
	    RMQ_PH_MEASURE);
	for (; started_rx < r->nrx; started_rx++)
		if (pthread_create(&r->rxs[started_rx].th, NULL, rmq_con_main,
		    &r->rxs[started_rx]) != 0)
			goto stop;
	for (; started_tx < r->nconn; started_tx++)
		if (pthread_create(&r->tx[started_tx].th, NULL, rmq_pub_main,
		    &r->tx[started_tx]) != 0)
			goto stop;
	rmq_sleep(r, r->warmup);
	benchstat_cpu_sample(r->brokerpid, &r->cpu0);
	r->t_meas = r->cpu0.wall_us;
	atomic_store(&r->phase, RMQ_PH_MEASURE);
	rmq_sleep(r, r->duration);
	benchstat_cpu_sample(r->brokerpid, &r->cpu1);
	r->t_end = r->cpu1.wall_us;
	atomic_store(&r->phase, RMQ_PH_DRAIN);
stop:
	if (atomic_load(&r->phase) != RMQ_PH_DRAIN)
		atomic_store(&r->phase, RMQ_PH_DRAIN);
	for (i = 0; i < started_tx; i++)
		pthread_join(r->tx[i].th, NULL);
	/* Every confirmed message delivered, or the drain's bound. */
	deadline = util_mono_us() + RMQ_DRAIN_S * 1000000ull;
	while (atomic_load(&r->delivered) < atomic_load(&r->confirmed) &&
	    util_mono_us() < deadline && !atomic_load(&r->failed))
		usleep(20000);
	if (atomic_load(&r->delivered) < atomic_load(&r->confirmed))
		fprintf(stderr, "rmqbench: drain timeout: undelivered=%llu\n",
		    (unsigned long long)(atomic_load(&r->confirmed) -
		    atomic_load(&r->delivered)));
	atomic_store(&r->phase, RMQ_PH_DONE);
	for (i = 0; i < started_rx; i++)
		pthread_join(r->rxs[i].th, NULL);
	if (started_tx == r->nconn && r->t_end > r->t_meas) {
		rmq_report(r);
		status = atomic_load(&r->failed) ? 1 : 0;
	}
out:
	for (i = 0; i < r->nconn; i++)
		rmq_conn_free(&r->tx[i]);
	for (i = 0; i < r->nrx; i++)
		rmq_conn_free(&r->rxs[i]);
	free(r->tx);
	free(r->rxs);
	if (rmq_queues(r, 0) == -1)
		status = 1;
	return status;
}

static long long
rmq_count(const char *s, long long lo, long long hi)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage(2);
	return v;
}

static double
rmq_seconds(const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 86400)
		usage(2);
	return v;
}

static void
rmq_options(struct rmq *r, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ "series",	required_argument, NULL, RMQ_OPT_SERIES },
		{ "hist",	required_argument, NULL, RMQ_OPT_HIST },
		{ NULL,		0,		   NULL, 0 }
	};
	int	 ch;

	memset(r, 0, sizeof *r);
	r->host = "127.0.0.1";
	r->nconn = 4;
	r->bytes = 2048;
	r->duration = 10;
	r->warmup = 2;
	r->window = 64;
	r->qtype = "classic";
	while ((ch = getopt_long(argc, argv, "A:b:c:d:F:H:hj:P:p:Q:qr:W:w:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'A':
			r->await = rmq_seconds(optarg);
			break;
		case 'b':
			r->bytes = (size_t)rmq_count(optarg, 8, 64 << 20);
			break;
		case 'c':
			r->nconn = (int)rmq_count(optarg, 1, RMQ_MAXCONN);
			break;
		case 'd':
			r->duration = rmq_seconds(optarg);
			break;
		case 'F':
			r->prefetch = (int)rmq_count(optarg, 1, 65535);
			break;
		case 'H':
			r->host = optarg;
			break;
		case 'j':
			r->json = optarg;
			break;
		case 'P':
			r->port = (int)rmq_count(optarg, 1, 65535);
			break;
		case 'p':
			r->brokerpid = (int)rmq_count(optarg, 1, 1 << 30);
			break;
		case 'Q':
			if (strcmp(optarg, "classic") != 0 &&
			    strcmp(optarg, "quorum") != 0)
				usage(2);
			r->qtype = optarg;
			break;
		case 'q':
			r->quiet = 1;
			break;
		case 'r':
			r->nrx = (int)rmq_count(optarg, 1, RMQ_MAXCONN);
			break;
		case 'W':
			r->warmup = rmq_seconds(optarg);
			break;
		case 'w':
			r->window = (int)rmq_count(optarg, 1, RMQ_RING / 2);
			break;
		case RMQ_OPT_SERIES:
			r->series_path = optarg;
			break;
		case RMQ_OPT_HIST:
			r->hist_path = optarg;
			break;
		case 'h':
			usage(0);
		case 'V':
			util_version_exit("rmqbench");
		default:
			usage(2);
		}
	}
	if (optind != argc || r->port == 0 || (r->await == 0 &&
	    r->duration <= 0))
		usage(2);
	if (r->nrx == 0)
		r->nrx = r->nconn;
	if (r->prefetch == 0)
		r->prefetch = RMQ_PREFETCH;
}

int
main(int argc, char **argv)
{
	struct rmq	 r;

	rmq_options(&r, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (r.await > 0)
		return rmq_await(&r);
	return rmq_run(&r);
}
