/*
 * admin - see admin.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <dirent.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "admin.h"
#include "command.h"
#include "control.h"
#include "history.h"
#include "jsonutil.h"
#include "line.h"
#include "log.h"
#include "server.h"
#include "util.h"

/* An API request's words (a NULL after them): 16 from the path at most. */
#define ADMIN_ARGV_PATH		16
#define ADMIN_ARGV_MAX		24

struct admin {
	struct server		*srv;
	struct evhttp		*http;
};

static void	admin_request_cb(struct evhttp_request *, void *);
static void	admin_send(struct evhttp_request *, int, const char *,
		    const char *, const char *, size_t);

extern const char admin_dashboard_html[];

/*
 * The Prometheus text format, one step per group of families: the
 * process, messages, queues and lines, the store, its budgets,
 * latencies, connections.
 */

static void
admin_family(struct ubuf *b, const char *name, const char *type,
    const char *help)
{
	ubuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A family of one sample without labels. */
static void
admin_sample(struct ubuf *b, const char *name, const char *type,
    const char *help, unsigned long long v)
{
	admin_family(b, name, type, help);
	ubuf_printf(b, "%s %llu\n", name, v);
}

/* A sample per message key, from key `from` (0: unparseable, "NONE"). */
static void
admin_per_key(struct ubuf *b, const char *name, const char *help,
    const uint64_t *v, int from)
{
	int k;

	admin_family(b, name, "counter", help);
	for (k = from; k < MSG_KEY_MAX; k++)
		ubuf_printf(b, "%s{mke=\"%s\"} %llu\n", name,
		    k ? msg_key_name(k) : "NONE", (unsigned long long)v[k]);
}

/* Open file descriptors: the entries of /proc/self/fd; -1 if unknown. */
static long
admin_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;		/* the directory's own descriptor */
}

/*
 * Prometheus' standard process metrics (the names every client library
 * uses), and nlswitch_build_info.
 */
static void
admin_metrics_standard(const struct server_snapshot *sn, struct ubuf *b)
{
	struct rusage	 ru;
	struct rlimit	 rl;
	unsigned long	 vsz = 0, rss = 0;
	long		 fds, page = sysconf(_SC_PAGESIZE);
	FILE		*f;

	admin_family(b, "nlswitch_build_info", "gauge",
	    "The running build: always 1, its version as a label.");
	ubuf_printf(b, "nlswitch_build_info{version=\"%s\"} 1\n",
	    NLSWITCH_VERSION);
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		admin_family(b, "process_cpu_seconds_total", "counter",
		    "Total user and system CPU time spent in seconds.");
		ubuf_printf(b, "process_cpu_seconds_total %.3f\n",
		    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &vsz, &rss) == 2 && page > 0) {
			admin_sample(b, "process_virtual_memory_bytes", "gauge",
			    "Virtual memory size in bytes.",
			    (unsigned long long)vsz * (unsigned long long)page);
			admin_sample(b, "process_resident_memory_bytes",
			    "gauge", "Resident memory size in bytes.",
			    (unsigned long long)rss * (unsigned long long)page);
		}
		fclose(f);
	}
	if ((fds = admin_open_fds()) >= 0)
		admin_sample(b, "process_open_fds", "gauge",
		    "Number of open file descriptors.",
		    (unsigned long long)fds);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		admin_sample(b, "process_max_fds", "gauge",
		    "Maximum number of open file descriptors.",
		    (unsigned long long)rl.rlim_cur);
	admin_sample(b, "process_start_time_seconds", "gauge",
	    "Start time of the process since unix epoch in seconds.",
	    sn->started_us / 1000000);
}

static void
admin_metrics_process(const struct server_snapshot *sn, struct ubuf *b)
{
	admin_metrics_standard(sn, b);
	admin_sample(b, "nlswitch_up", "gauge", "1 while the switch runs.", 1);
	admin_sample(b, "nlswitch_draining", "gauge",
	    "1 while the switch drains.", (unsigned long long)sn->draining);
	admin_sample(b, "nlswitch_start_time_seconds", "gauge",
	    "Start time, unix seconds.", sn->started_us / 1000000);
}

static void
admin_metrics_messages(const struct server_stats *st, struct ubuf *b)
{
	int k, c;

	admin_per_key(b, "nlswitch_messages_received_total",
	    "Messages received, by message key (NONE: unparseable).",
	    st->received_key, 0);
	admin_per_key(b, "nlswitch_messages_acked_total",
	    "Messages committed and acknowledged, by message key.",
	    st->acked_key, 1);
	admin_per_key(b, "nlswitch_messages_delivered_total",
	    "Deliveries acknowledged by their endpoint, by message key.",
	    st->deliv.delivered_key, 1);
	admin_family(b, "nlswitch_messages_denied_total", "counter",
	    "Messages refused with an ER, by message key, code and reason.");
	for (k = 0; k < MSG_KEY_MAX; k++)
		for (c = 0; c < SERVER_NCODES; c++)
			if (st->nak_key_code[k][c] > 0)
				ubuf_printf(b, "nlswitch_messages_denied_total"
				    "{mke=\"%s\",code=\"%02d\",reason=\"%s\"}"
				    " %llu\n",
				    k ? msg_key_name(k) : "NONE", c,
				    msg_er_reason(c),
				    (unsigned long long)st->nak_key_code[k][c]);
	admin_sample(b, "nlswitch_messages_redelivered_total", "counter",
	    "Deliveries sent again after a timeout or a reconnect.",
	    st->deliv.redelivered);
	admin_sample(b, "nlswitch_messages_expired_total", "counter",
	    "Copies expired after held-ttl into the dead-letter area.",
	    st->expired);
}

/* Per destination line: one pass over the queues, four families. */
static void
admin_metrics_queues(struct server *srv, const struct server_snapshot *sn,
    struct ubuf *b)
{
	static const struct {
		const char	*name, *help;
		int		 prec;		/* decimals */
	} fam[] = {
		{ "nlswitch_queue_depth", "Copies queued or in flight, "
		    "per destination line.", 0 },
		{ "nlswitch_queue_bytes", "Bytes of the copies queued, "
		    "per destination line.", 0 },
		{ "nlswitch_queue_oldest_age_seconds", "Age of the oldest "
		    "queued copy, per destination line.", 3 },
		{ "nlswitch_queue_in_flight", "Deliveries awaiting their "
		    "DACK, per destination line.", 0 },
	};
	int			 nline = server_config(srv)->nline, i;
	size_t			 f;
	struct line_info	*li = xcalloc((size_t)nline, sizeof *li);

	for (i = 0; i < nline; i++)
		line_info(server_line_at(srv, i), &li[i]);
	for (f = 0; f < sizeof fam / sizeof fam[0]; f++) {
		admin_family(b, fam[f].name, "gauge", fam[f].help);
		for (i = 0; i < nline; i++) {
			double v = f == 0 ? (double)li[i].queued :
			    f == 1 ? (double)li[i].bytes : f == 3 ?
			    (double)li[i].in_flight : li[i].oldest_us ?
			    (double)(sn->now_us - li[i].oldest_us) / 1e6 : 0;

			ubuf_printf(b, "%s{destination=\"%s\"} %.*f\n",
			    fam[f].name, li[i].cfg->code, fam[f].prec, v);
		}
	}
	admin_family(b, "nlswitch_line_up", "gauge",
	    "1 when the line's endpoint is connected.");
	for (i = 0; i < nline; i++)
		ubuf_printf(b, "nlswitch_line_up{line=\"%s\"} %d\n",
		    li[i].cfg->code, li[i].connected);
	free(li);
}

/*
 * The store: its use, its health (B-tree damage: the switch is not
 * ready) and the entries found corrupt, per db. The quarantine keeps
 * every entry, so that count never goes down: a counter.
 */
static void
admin_metrics_store(const struct server_snapshot *sn, struct ubuf *b)
{
	int i;

	admin_sample(b, "nlswitch_dead_letters", "gauge",
	    "Copies in the dead-letter area.", sn->dead_letters);
	admin_sample(b, "nlswitch_store_used_bytes", "gauge",
	    "Bytes used in the store.", sn->store_used);
	admin_sample(b, "nlswitch_store_size_bytes", "gauge",
	    "Capacity of the store.", sn->store_size);
	admin_sample(b, "nlswitch_store_damaged", "gauge", "1 when the store's "
	    "B-tree is damaged: not ready, new messages refused (/readyz).",
	    sn->damage != NULL);
	admin_family(b, "nlswitch_store_quarantined_total", "counter",
	    "Stored entries found corrupt and moved to quarantine, by db "
	    "(nlctl quarantine).");
	for (i = 0; i < QUEUE_DB_MAX; i++)
		ubuf_printf(b, "nlswitch_store_quarantined_total{db=\"%s\"} "
		    "%llu\n", queue_db_name(i),
		    (unsigned long long)sn->health.quarantined[i]);
	admin_sample(b, "nlswitch_store_healthy", "gauge",
	    "1 when the store takes messages; 0 when its disk is full or "
	    "the audit trail cannot be written (see /readyz).",
	    sn->qs.space == QUEUE_SPACE_OK);
	admin_sample(b, "nlswitch_store_nospace_total", "counter",
	    "Commits refused by a full file system (deletes retried).",
	    sn->qs.nospace_events);
}

/* What is bounded: the audit trail's share of the store, the quotas. */
static void
admin_metrics_budgets(const struct server_snapshot *sn, struct ubuf *b)
{
	const struct queue_stats *qs = &sn->qs;

	admin_sample(b, "nlswitch_audit_bytes", "gauge",
	    "Bytes of the store the audit trail uses.", qs->audit_bytes);
	admin_sample(b, "nlswitch_audit_budget_bytes", "gauge",
	    "The audit trail's budget (<audit budget>), 0 if none.",
	    qs->audit_budget);
	admin_sample(b, "nlswitch_audit_records", "gauge",
	    "Audit records in the store.", qs->audit_records);
	admin_sample(b, "nlswitch_audit_pruned_for_size_total", "counter",
	    "Oldest audit records pruned to keep the budget.",
	    qs->audit_pruned_size);
	admin_sample(b, "nlswitch_audit_archived_total", "counter",
	    "Pruned audit records written to the archive directory.",
	    qs->audit_archived);
	admin_sample(b, "nlswitch_quota_refused_total", "counter",
	    "Messages refused because a destination held its quota.",
	    sn->stats->quota_refused);
	admin_sample(b, "nlswitch_resends_total", "counter",
	    "Messages a line sent again within the resend window: ACKed "
	    "with the first message's id, not stored again.",
	    sn->stats->resends);
	admin_family(b, "nlswitch_photo_destinations_denied_total", "counter",
	    "Destinations of accepted photo requests the photo-sharing "
	    "policy withheld the photo from: sent the query without the "
	    "image request (withheld), or not sent it (left-out).");
	ubuf_printf(b, "nlswitch_photo_destinations_denied_total"
	    "{decision=\"withheld\"} %llu\n"
	    "nlswitch_photo_destinations_denied_total"
	    "{decision=\"left-out\"} %llu\n",
	    (unsigned long long)sn->stats->photo_withheld,
	    (unsigned long long)sn->stats->photo_left_out);
	admin_sample(b, "nlswitch_msq_open", "gauge",
	    "Multi-state queries (to NL or a region) awaiting answers or "
	    "their late answers.", sn->msq_open);
	admin_family(b, "nlswitch_msq_answers_total", "counter",
	    "Merged answers to multi-state queries the switch sent: the "
	    "summary with the hits, or one answer that came after it.");
	ubuf_printf(b, "nlswitch_msq_answers_total{kind=\"summary\"} %llu\n"
	    "nlswitch_msq_answers_total{kind=\"late\"} %llu\n",
	    (unsigned long long)sn->stats->msq_summaries,
	    (unsigned long long)sn->stats->msq_late);
	admin_family(b, "nlswitch_notices_expired_total", "counter",
	    "SM and ER notices that expired undelivered (notice-ttl).");
	ubuf_printf(b, "nlswitch_notices_expired_total{mke=\"SM\"} %llu\n"
	    "nlswitch_notices_expired_total{mke=\"ER\"} %llu\n",
	    (unsigned long long)sn->stats->notices_expired[MSG_KEY_SM],
	    (unsigned long long)sn->stats->notices_expired[MSG_KEY_ER]);
}

static void
admin_metrics_latency(const struct server_snapshot *sn, struct ubuf *b)
{
	admin_family(b, "nlswitch_commit_batch_size", "histogram",
	    "Operations per durable commit (group commit).");
	metrics_hist_render(b, "nlswitch_commit_batch_size", "",
	    &sn->qs.commit_batch);
	admin_family(b, "nlswitch_commit_latency_seconds", "histogram",
	    "Time to apply and fsync one batch.");
	metrics_hist_render(b, "nlswitch_commit_latency_seconds", "",
	    &sn->qs.commit_latency);
	admin_family(b, "nlswitch_ack_latency_seconds", "histogram",
	    "From receiving a message to its ACK (durable).");
	metrics_hist_render(b, "nlswitch_ack_latency_seconds", "",
	    &sn->stats->ack_latency);
	admin_family(b, "nlswitch_end_to_end_latency_seconds", "histogram",
	    "From receiving a message to its endpoint's DACK.");
	metrics_hist_render(b, "nlswitch_end_to_end_latency_seconds", "",
	    &sn->stats->deliv.e2e_latency);
}

static void
admin_metrics_connections(const struct server_snapshot *sn, struct ubuf *b)
{
	admin_sample(b, "nlswitch_connections", "gauge",
	    "Authenticated endpoint connections.",
	    (unsigned long long)sn->connections);
	admin_sample(b, "nlswitch_connections_accepted_total", "counter",
	    "TCP connections accepted.", sn->stats->sessions);
	admin_sample(b, "nlswitch_tls_handshake_failures_total", "counter",
	    "Handshakes refused (no or bad certificate, unknown line).",
	    sn->stats->tls_failures);
}

void
admin_metrics(struct server *srv, struct ubuf *b)
{
	struct server_snapshot sn;

	server_snapshot(srv, &sn);
	admin_metrics_process(&sn, b);
	admin_metrics_messages(sn.stats, b);
	admin_metrics_queues(srv, &sn, b);
	admin_metrics_store(&sn, b);
	admin_metrics_budgets(&sn, b);
	admin_metrics_latency(&sn, b);
	admin_metrics_connections(&sn, b);
}

static void
admin_send(struct evhttp_request *req, int code, const char *reason,
    const char *type, const char *body, size_t len)
{
	struct evbuffer *out = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", type);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		/* The length GET would send, and no body. */
		char n[24];

		snprintf(n, sizeof n, "%zu", len);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Length", n);
	} else
		evbuffer_add(out, body, len);
	evhttp_send_reply(req, code, reason, out);
	evbuffer_free(out);
}

/*
 * /readyz: 200 "ready", or 503 "draining" or "not ready: REASON" (the
 * store's disk full, its audit trail not writable, its structure damaged
 * with the recovery on a line of its own); a warning that does not stop
 * the switch (the audit trail near its budget) follows on a line
 * "warning: ...".
 */
static void
admin_readyz(struct server *srv, struct evhttp_request *req, struct ubuf *b)
{
	char	why[1024], warn[300];
	int	ready;

	ready = server_ready(srv, why, sizeof why, warn, sizeof warn);
	if (ready)
		ubuf_printf(b, "ready\n");
	else if (server_draining(srv))
		ubuf_printf(b, "draining\n");
	else
		ubuf_printf(b, "not ready: %s\n", why);
	if (warn[0] != '\0')
		ubuf_printf(b, "warning: %s\n", warn);
	if (ready)
		admin_send(req, 200, "OK", "text/plain", b->data, b->len);
	else
		admin_send(req, 503, "Service Unavailable", "text/plain",
		    b->data, b->len);
}

/* Answer with a JSON document and a newline; doc is released. */
static void
admin_send_json(struct evhttp_request *req, int code, const char *reason,
    json_t *doc)
{
	char	*text = jsonutil_dump(doc, JSONUTIL_COMPACT);
	char	*body = xasprintf("%s\n", text);

	admin_send(req, code, reason, "application/json", body, strlen(body));
	free(body);
	free(text);
	json_decref(doc);
}

/* /api/denials: the recent refusals, newest first. */
static json_t *
admin_denials(struct server *srv)
{
	const struct server_stats	*st = server_stats(srv);
	json_t				*doc = json_object();
	json_t				*list = json_array(), *o;
	int				 i, n = st->ndenial < SERVER_NDENIAL ?
					    st->ndenial : SERVER_NDENIAL;

	jsonutil_set(doc, "denials", list);
	for (i = 0; i < n; i++) {
		const struct server_denial *d =
		    &st->denials[(st->ndenial - 1 - i) % SERVER_NDENIAL];

		jsonutil_append(list, o = json_object());
		jsonutil_set_int(o, "t", (json_int_t)(d->t_us / 1000));
		jsonutil_set_str(o, "line", d->line);
		jsonutil_set_str(o, "ori", d->ori);
		jsonutil_set_str(o, "mke", d->mke);
		jsonutil_set_int(o, "code", d->code);
		jsonutil_set_str(o, "reason", d->reason);
	}
	return doc;
}

/*
 * /api/throughput: per second, [time, received, acked, delivered], the
 * 1-second points of the history (the last 5 minutes).
 */
static json_t *
admin_throughput(struct server *srv)
{
	const struct history		*h = server_history(srv);
	const struct history_point	*p;
	json_t				*doc = json_object();
	json_t				*series = json_array();
	int				 i;

	jsonutil_set(doc, "series", series);
	for (i = 0; i < history_count(h, 1); i++) {
		p = history_at(h, 1, i);
		jsonutil_append(series, json_pack("[I,I,I,I]",
		    (json_int_t)p->t, (json_int_t)p->received,
		    (json_int_t)p->acked, (json_int_t)p->delivered));
	}
	return doc;
}

/* The value of query parameter name, as an int within [lo, hi], or def. */
static int
admin_query_int(struct evhttp_request *req, const char *name, int def,
    int lo, int hi)
{
	const char		*query = evhttp_uri_get_query(
				    evhttp_request_get_evhttp_uri(req));
	const char		*v;
	struct evkeyvalq	 params;
	long			 n = def;
	char			*end;

	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) == 0 &&
	    (v = evhttp_find_header(&params, name)) != NULL) {
		n = strtol(v, &end, 10);
		if (end == v || *end != '\0')
			n = def;
	}
	evhttp_clear_headers(&params);
	return n < lo ? lo : n > hi ? hi : (int)n;
}

/* An ACK latency quantile in milliseconds, null without ACKs. */
static json_t *
admin_ms(double s)
{
	return s < 0 ? json_null() : jsonutil_real(s * 1000, 3);
}

/*
 * /api/history?window=S: the last S seconds (at most an hour) from the
 * history rings, one array per series, oldest first, parallel to "t"
 * (docs/operations.md, "The dashboard").
 */
static json_t *
admin_history(struct server *srv, int window)
{
	const struct history		*h = server_history(srv);
	const struct history_point	*p;
	json_t				*doc = json_object(), *a[7], *depth;
	json_t				*d;
	static const char *const	 name[7] = { "t", "received", "acked",
					    "delivered", "acks", "ack_p50_ms",
					    "ack_p99_ms" };
	uint64_t			 now = util_now_us() / 1000000;
	int				 step = history_step(window);
	int				 n = history_count(h, step), first, i, j;
	uint32_t			 v;

	/* The points that end inside the window. */
	for (first = 0; first < n && history_at(h, step, first)->t +
	    (uint64_t)window <= now; first++)
		;
	jsonutil_set_str(doc, "instance", server_instance(srv));
	jsonutil_set_int(doc, "now", (json_int_t)now);
	jsonutil_set_int(doc, "window", window);
	jsonutil_set_int(doc, "step", step);
	for (j = 0; j < 7; j++)
		jsonutil_set(doc, name[j], a[j] = json_array());
	for (i = first; i < n; i++) {
		p = history_at(h, step, i);
		jsonutil_append(a[0], json_integer((json_int_t)p->t));
		jsonutil_append(a[1], json_integer(p->received));
		jsonutil_append(a[2], json_integer(p->acked));
		jsonutil_append(a[3], json_integer(p->delivered));
		jsonutil_append(a[4], json_integer(p->acks));
		jsonutil_append(a[5], admin_ms(p->p50));
		jsonutil_append(a[6], admin_ms(p->p99));
	}
	jsonutil_set(doc, "depth", depth = json_object());
	for (j = 0; j < history_nline(h); j++) {
		d = json_array();
		for (i = first; i < n; i++) {
			v = history_depth_at(h, step, j, i);
			jsonutil_append(d, v == HISTORY_NODEPTH ? json_null() :
			    json_integer(v));
		}
		jsonutil_set(depth, history_line(h, j), d);
	}
	jsonutil_set_int(doc, "lines_untracked", history_untracked(h));
	return doc;
}

/*
 * /api/line/CODE: one line as its page shows it: state, queue, service
 * per key, its last deliveries and refusals (newest first); NULL if no
 * line has that code.
 */
static json_t *
admin_line(struct server *srv, const char *code)
{
	struct line			*l = server_line_by_code(srv, code);
	const struct line_delivery	*dv;
	const struct line_refusal	*rf;
	struct line_info		 li;
	json_t				*doc, *svc, *list, *o;
	uint64_t			 now = util_now_us();
	int				 i, k;

	if (l == NULL)
		return NULL;
	line_info(l, &li);
	doc = json_object();
	jsonutil_set_str(doc, "line", li.cfg->code);
	jsonutil_set_str(doc, "cn", li.cfg->cn);
	jsonutil_set_str(doc, "member", li.cfg->member);
	jsonutil_set(doc, "connected", json_boolean(li.connected));
	jsonutil_set_str(doc, "peer", li.peer);
	jsonutil_set_int(doc, "queued", (json_int_t)li.queued);
	jsonutil_set_int(doc, "bytes", (json_int_t)li.bytes);
	jsonutil_set(doc, "oldest_age_s", li.oldest_us && now > li.oldest_us ?
	    jsonutil_real((double)(now - li.oldest_us) / 1e6, 3) :
	    json_integer(0));
	jsonutil_set_int(doc, "in_flight", li.in_flight);
	jsonutil_set(doc, "service", svc = json_object());
	for (k = 1; k < MSG_KEY_MAX; k++)
		if (config_line_accepts(li.cfg, k) && k != MSG_KEY_SM &&
		    k != MSG_KEY_ER)
			jsonutil_set_str(svc, msg_key_name(k),
			    line_svc_name(li.svc[k]));
	jsonutil_set(doc, "deliveries", list = json_array());
	for (i = 0; (dv = line_delivery_at(l, i)) != NULL; i++) {
		jsonutil_append(list, o = json_object());
		jsonutil_set_int(o, "t", (json_int_t)(dv->t_us / 1000));
		jsonutil_set(o, "msgid", json_sprintf("%016llx",
		    (unsigned long long)dv->msgid));
		jsonutil_set_int(o, "copy", dv->copy);
		jsonutil_set_str(o, "mke", dv->key > 0 && dv->key < MSG_KEY_MAX ?
		    msg_key_name(dv->key) : "?");
		jsonutil_set_str(o, "ori", dv->ori);
		jsonutil_set_str(o, "dest", dv->dest);
		jsonutil_set_int(o, "attempts", dv->attempts);
		jsonutil_set(o, "latency_ms",
		    jsonutil_real((double)dv->latency_us / 1000, 3));
	}
	jsonutil_set(doc, "refusals", list = json_array());
	for (i = 0; (rf = line_refusal_at(l, i)) != NULL; i++) {
		jsonutil_append(list, o = json_object());
		jsonutil_set_int(o, "t", (json_int_t)(rf->t_us / 1000));
		jsonutil_set_str(o, "ori", rf->ori);
		jsonutil_set_str(o, "mke", rf->mke);
		jsonutil_set_int(o, "code", rf->code);
		jsonutil_set_str(o, "reason", rf->reason);
	}
	return doc;
}

/*
 * Map /api/a/b/c?x=y to argv (path is the part after /api/, cut up in
 * place); query parameters become --x y. @return argc.
 */
static int
admin_api_argv(struct evhttp_request *req, char *path, char **argv)
{
	const char		*query = evhttp_uri_get_query(
				    evhttp_request_get_evhttp_uri(req));
	struct evkeyvalq	 params;
	struct evkeyval		*kv;
	char			*tok, *save = NULL;
	int			 argc = 0;

	for (tok = strtok_r(path, "/", &save); tok != NULL &&
	    argc < ADMIN_ARGV_PATH; tok = strtok_r(NULL, "/", &save))
		argv[argc++] = evhttp_decode_uri(tok);
	TAILQ_INIT(&params);
	if (query != NULL && evhttp_parse_query_str(query, &params) == 0)
		TAILQ_FOREACH(kv, &params, next) {
			if (argc + 2 >= ADMIN_ARGV_MAX)
				break;
			argv[argc++] = xasprintf("--%s", kv->key);
			argv[argc++] = xstrdup(kv->value);
		}
	argv[argc] = NULL;
	evhttp_clear_headers(&params);
	return argc;
}

/*
 * Who may call (docs/operations.md, "The admin API's safety").
 *
 * The listener is on loopback, so the danger is a web browser on the
 * same machine: any page the operator opens can make it send requests
 * to 127.0.0.1. It cannot read the answers (no CORS header is ever
 * sent), but a write needs no answer. So: the Host must be a loopback
 * name (a page that rebinds its own name to 127.0.0.1 is refused); a
 * call that changes the switch must carry X-Nlswitch-Request, a header
 * no cross-site form or simple request can set (a script setting it
 * needs a preflight, which is never granted), and is refused when the
 * browser says it comes from another site (Origin, Sec-Fetch-Site);
 * with a token in the config every call but the dashboard page needs
 * it as a bearer token.
 */

/* "127.0.0.1", "localhost" or "[::1]", with or without a port. */
static int
admin_host_ok(struct evhttp_request *req)
{
	const char	*h = evhttp_find_header(
			    evhttp_request_get_input_headers(req), "Host");
	static const char *const names[] = { "127.0.0.1", "localhost",
			    "[::1]" };
	size_t		 i, n;

	if (h == NULL)		/* HTTP/1.0 without one: not a browser */
		return 1;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		n = strlen(names[i]);
		if (strncasecmp(h, names[i], n) == 0 && (h[n] == '\0' ||
		    (h[n] == ':' && strspn(h + n + 1, "0123456789") ==
		    strlen(h + n + 1))))
			return 1;
	}
	return 0;
}

/* Does the request carry the configured token? (Constant time.) */
static int
admin_token_ok(const char *token, struct evhttp_request *req)
{
	const char	*h = evhttp_find_header(
			    evhttp_request_get_input_headers(req),
			    "Authorization");
	size_t		 n = strlen(token), i;
	unsigned char	 d = 0;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return 0;
	h += 7;
	if (strlen(h) != n)
		return 0;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(h[i] ^ token[i]);
	return d == 0;
}

/*
 * Why a call that changes the switch is refused as possibly
 * cross-site, or NULL if it is not.
 */
static const char *
admin_cross_site(struct evhttp_request *req)
{
	struct evkeyvalq	*hd = evhttp_request_get_input_headers(req);
	const char		*origin = evhttp_find_header(hd, "Origin");
	const char		*host = evhttp_find_header(hd, "Host");
	const char		*site = evhttp_find_header(hd,
				    "Sec-Fetch-Site");

	if (site != NULL && strcmp(site, "same-origin") != 0 &&
	    strcmp(site, "none") != 0)
		return "refused: the browser says this request comes from "
		    "another site (Sec-Fetch-Site)";
	if (origin != NULL && (host == NULL ||
	    strncmp(origin, "http://", 7) != 0 ||
	    strcmp(origin + 7, host) != 0))
		return "refused: the request's Origin is not this listener";
	if (evhttp_find_header(hd, "X-Nlswitch-Request") == NULL)
		return "refused: a call that changes the switch needs the "
		    "header X-Nlswitch-Request: 1 (nlctl needs none: it "
		    "uses the control socket)";
	return NULL;
}

/* {"ok":false,"error":why} */
static json_t *
admin_api_error(const char *why)
{
	json_t *doc = json_object();

	jsonutil_set(doc, "ok", json_false());
	jsonutil_set_str(doc, "error", why);
	return doc;
}

/*
 * /api/CMD...: run the command (control.c) and answer its JSON, 200,
 * 404 (not found) or 400; one that changes the switch (command.h) wants
 * POST, a GET gets 405.
 */
static void
admin_api(struct server *srv, struct evhttp_request *req, const char *path)
{
	struct evbuffer	*inbuf = evhttp_request_get_input_buffer(req);
	struct ubuf	 out;
	char		*copy = xstrdup(path), *argv[ADMIN_ARGV_MAX];
	char		*input = NULL;
	const char	*why;
	int		 argc, i, mut, rc;
	size_t		 inlen;

	ubuf_init(&out);
	argc = admin_api_argv(req, copy, argv);
	mut = command_is_mutating(argc, argv);
	if (mut && evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		admin_send_json(req, 405, "Error",
		    admin_api_error("use POST for this command"));
		goto out;
	}
	if (mut && (why = admin_cross_site(req)) != NULL) {
		log_warnx("admin: %s via HTTP %s", argv[0], why);
		admin_send_json(req, 403, "Forbidden", admin_api_error(why));
		goto out;
	}
	if ((inlen = evbuffer_get_length(inbuf)) > 0) {
		input = xmalloc(inlen + 1);
		evbuffer_remove(inbuf, input, inlen);
		input[inlen] = '\0';
	}
	rc = control_exec(srv, argc, argv, input, 1, &out);
	if (mut)
		log_info("admin: %s via HTTP exit=%d", argv[0], rc);
	admin_send(req, rc == CONTROL_OK ? 200 : rc == CONTROL_ENOTFOUND ? 404 :
	    400, rc == CONTROL_OK ? "OK" : "Error", "application/json",
	    out.data, out.len);
out:
	for (i = 0; i < argc; i++)
		free(argv[i]);
	ubuf_free(&out);
	free(copy);
	free(input);
}

static void
admin_request_cb(struct evhttp_request *req, void *arg)
{
	struct admin		*a = arg;
	struct server		*srv = a->srv;
	const char		*path = evhttp_uri_get_path(
				    evhttp_request_get_evhttp_uri(req));
	const char		*token = server_config(srv)->admin_token;
	struct ubuf		 b;
	json_t			*doc;
	int			 get, dash;

	/* HEAD is GET without the body (libevent leaves it out). */
	get = evhttp_request_get_command(req) == EVHTTP_REQ_GET ||
	    evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	ubuf_init(&b);
	if (path == NULL)
		path = "/";
	dash = strcmp(path, "/") == 0 || strcmp(path, "/dashboard") == 0;
	if (!admin_host_ok(req)) {
		admin_send_json(req, 403, "Forbidden", admin_api_error(
		    "refused: the Host is not a loopback name (127.0.0.1, "
		    "localhost, [::1])"));
	} else if (token != NULL && !dash && !admin_token_ok(token, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer realm=\"nlswitch\"");
		admin_send_json(req, 401, "Unauthorized", admin_api_error(
		    "this switch's admin API needs its token: Authorization: "
		    "Bearer <the first line of the admin token-file>"));
	} else if (strcmp(path, "/healthz") == 0 && get) {
		admin_send(req, 200, "OK", "text/plain", "ok\n", 3);
	} else if (strcmp(path, "/readyz") == 0 && get) {
		admin_readyz(srv, req, &b);
	} else if (strcmp(path, "/metrics") == 0 && get) {
		admin_metrics(srv, &b);
		admin_send(req, 200, "OK", "text/plain; version=0.0.4", b.data,
		    b.len);
	} else if (strcmp(path, "/api/denials") == 0 && get) {
		admin_send_json(req, 200, "OK", admin_denials(srv));
	} else if (strcmp(path, "/api/throughput") == 0 && get) {
		admin_send_json(req, 200, "OK", admin_throughput(srv));
	} else if (strcmp(path, "/api/history") == 0 && get) {
		admin_send_json(req, 200, "OK", admin_history(srv,
		    admin_query_int(req, "window", HISTORY_WINDOW_MAX, 1,
		    HISTORY_WINDOW_MAX)));
	} else if (strncmp(path, "/api/line/", 10) == 0 && get) {
		if ((doc = admin_line(srv, path + 10)) != NULL)
			admin_send_json(req, 200, "OK", doc);
		else
			admin_send_json(req, 404, "Not Found",
			    admin_api_error("no such line"));
	} else if (strncmp(path, "/api/", 5) == 0) {
		admin_api(srv, req, path + 5);
	} else if (dash && get) {
		admin_send(req, 200, "OK", "text/html; charset=utf-8",
		    admin_dashboard_html, strlen(admin_dashboard_html));
	} else
		admin_send(req, 404, "Not Found", "text/plain", "not found\n", 10);
	ubuf_free(&b);
}

struct admin *
admin_new(struct event_base *base, struct server *srv, const char *address,
    const char *port, const char *portfile)
{
	struct admin			*a = xcalloc(1, sizeof *a);
	struct evhttp_bound_socket	*h;
	struct sockaddr_storage		 ss;
	socklen_t			 sl = sizeof ss;
	char				 buf[16];
	unsigned			 p;

	a->srv = srv;
	if ((a->http = evhttp_new(base)) == NULL)
		fatalx("admin: evhttp_new");
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST);
	evhttp_set_max_body_size(a->http, 4 << 20);
	evhttp_set_timeout(a->http, 30);
	evhttp_set_gencb(a->http, admin_request_cb, a);
	if ((h = evhttp_bind_socket_with_handle(a->http, address,
	    (ev_uint16_t)atoi(port))) == NULL)
		fatal("admin: cannot listen on %s port %s", address, port);
	if (getsockname(evhttp_bound_socket_get_fd(h), (struct sockaddr *)&ss,
	    &sl) == -1)
		fatal("admin: getsockname");
	p = ss.ss_family == AF_INET6 ?
	    ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
	snprintf(buf, sizeof buf, "%u\n", p);
	if (portfile != NULL && (util_mkdir_parent(portfile) == -1 ||
	    util_write_file(portfile, buf, strlen(buf)) == -1))
		fatal("admin: %s", portfile);
	log_info("admin: http listening address=%s port=%u", address, p);
	return a;
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	evhttp_free(a->http);
	free(a);
}
