/*
 * control - see control.h.
 *
 * Every command builds its answer as one JSON document (jansson), fields
 * in the order written. One renderer turns it into JSON, or into the
 * operator's text: a top-level scalar as a line "key: value", a list (or
 * an object) as a line "key:" followed by one indented line per element
 * with its fields as key=value, deeper values inline as {k=v,...} and
 * [v,...]. A string that would not read as one word is quoted as JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "audit.h"
#include "command.h"
#include "control.h"
#include "hitconf.h"
#include "jsonutil.h"
#include "line.h"
#include "log.h"
#include "msgbuild.h"
#include "msq.h"
#include "server.h"
#include "util.h"

#define CONTROL_MAX_REQUEST	(4u << 20)	/* IDs on stdin included */
#define CONTROL_TIME_NOTE	"  (T: -N[smhd] ago, YYYY-MM-DD[THH:MM[:SS[.f]]][Z|+HH:MM] or epoch seconds)"

static void	control_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	control_read_cb(struct bufferevent *, void *);
static void	control_write_cb(struct bufferevent *, void *);
static void	control_event_cb(struct bufferevent *, short, void *);
static void	control_op_done_cb(struct queue_op *, void *);
static int	control_dump_cb(const char *, size_t, void *);

/* One command being run. */
struct control_req {
	struct server		*srv;
	const struct command	*cmd;		/* its entry in the table */
	int			 argc;
	char			**argv;
	const char		*input;		/* IDs, or NULL */
	json_t			*doc;		/* the answer */
};

/*
 * Building the answer: jsonutil.h's helpers (out of memory is fatal),
 * and these for what they do not have.
 */

/* Put container v under key in object o (key NULL: at the end of array
 * o). @return v, borrowed: o holds it. */
static json_t *
control_add(json_t *o, const char *key, json_t *v)
{
	if (key != NULL)
		jsonutil_set(o, key, v);
	else
		jsonutil_append(o, v);
	return v;
}

/* A real as is (the renderers print six significant digits). */
static void
control_set_dbl(json_t *o, const char *key, double v)
{
	jsonutil_set(o, key, isfinite(v) ? json_real(v) : json_null());
}

static void
control_set_bool(json_t *o, const char *key, int v)
{
	jsonutil_set(o, key, json_boolean(v));
}

static void
control_set_time(json_t *o, const char *key, uint64_t us)
{
	char		buf[32];
	time_t		t = (time_t)(us / 1000000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	jsonutil_set_str(o, key, buf);
}

static void
control_error(struct control_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
control_error(struct control_req *r, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	jsonutil_set_str(r->doc, "error", buf);
}

/* The command's usage from the table, note appended. */
static int
control_usage(struct control_req *r, const char *note)
{
	control_error(r, "usage: %s%s", r->cmd->usage, note);
	return CONTROL_EUSAGE;
}

/*
 * Rendering the answer.
 */

static int
control_dump_cb(const char *buf, size_t len, void *arg)
{
	ubuf_add(arg, buf, len);
	return 0;
}

/* Append v as compact JSON (six significant digits for reals). */
static void
control_dump(const json_t *v, struct ubuf *b)
{
	json_dump_callback(v, control_dump_cb, b, JSON_COMPACT |
	    JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6) | JSON_ENCODE_ANY);
}

static void
control_text_scalar(const json_t *v, struct ubuf *b)
{
	const char *s;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		if (*s == '\0' || strpbrk(s, " \t\"=,") != NULL)
			control_dump(v, b);
		else
			ubuf_adds(b, s);
		break;
	case JSON_REAL:
		ubuf_printf(b, "%.6g", json_real_value(v));
		break;
	default:
		control_dump(v, b);
		break;
	}
}

/* A value inside a line: {k=v,...}, [v,...] or the scalar. */
static void
control_text_inline(json_t *v, struct ubuf *b)
{
	const char	*k;
	json_t		*m;
	size_t		 i = 0;

	if (json_is_object(v)) {
		ubuf_adds(b, "{");
		json_object_foreach(v, k, m) {
			ubuf_printf(b, "%s%s=", i++ > 0 ? "," : "", k);
			control_text_inline(m, b);
		}
		ubuf_adds(b, "}");
	} else if (json_is_array(v)) {
		ubuf_adds(b, "[");
		json_array_foreach(v, i, m) {
			if (i > 0)
				ubuf_adds(b, ",");
			control_text_inline(m, b);
		}
		ubuf_adds(b, "]");
	} else
		control_text_scalar(v, b);
}

/* One indented line: the fields as key=value, blank-separated, or
 * (json_rows) the element as JSON. */
static void
control_text_row(json_t *v, int json_rows, struct ubuf *b)
{
	const char	*k;
	json_t		*m;
	size_t		 i = 0;

	ubuf_adds(b, "  ");
	if (json_rows)
		control_dump(v, b);
	else if (json_is_object(v)) {
		json_object_foreach(v, k, m) {
			ubuf_printf(b, "%s%s=", i++ > 0 ? " " : "", k);
			control_text_inline(m, b);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			if (i > 0)
				ubuf_adds(b, " ");
			control_text_inline(m, b);
		}
	} else
		control_text_scalar(v, b);
	ubuf_adds(b, "\n");
}

static void
control_text(json_t *doc, int json_rows, struct ubuf *b)
{
	const char	*k;
	json_t		*v, *m;
	size_t		 i;

	json_object_foreach(doc, k, v) {
		if (json_is_array(v)) {
			ubuf_printf(b, "%s:\n", k);
			json_array_foreach(v, i, m)
				control_text_row(m, json_rows, b);
		} else if (json_is_object(v)) {
			ubuf_printf(b, "%s:\n", k);
			if (json_object_size(v) > 0)
				control_text_row(v, json_rows, b);
		} else {
			ubuf_printf(b, "%s: ", k);
			control_text_scalar(v, b);
			ubuf_adds(b, "\n");
		}
	}
}

/*
 * The commands.
 */

/* status: the state of the switch. */
static void
control_status_state(json_t *d, const struct server_snapshot *sn)
{
	jsonutil_set_str(d, "version", NLSWITCH_VERSION);
	jsonutil_set_int(d, "pid", getpid());
	control_set_time(d, "started", sn->started_us);
	jsonutil_set_int(d, "uptime_s",
	    (sn->now_us - sn->started_us) / 1000000);
	jsonutil_set_str(d, "state", sn->draining ? "draining" :
	    sn->damage != NULL ? "store-damaged" : sn->ready ? "running" :
	    "not-ready");
	if (!sn->ready && !sn->draining)
		jsonutil_set_str(d, "not_ready", sn->not_ready);
	if (sn->warning[0] != '\0')
		jsonutil_set_str(d, "warning", sn->warning);
	jsonutil_set_str(d, "store_space", queue_space_name(sn->qs.space));
	jsonutil_set_str(d, "recovery", "done");
	jsonutil_set_str(d, "store", sn->damage != NULL ? sn->damage : "ok");
	if (sn->recovery != NULL)
		jsonutil_set_str(d, "store_recovery", sn->recovery);
	jsonutil_set_int(d, "quarantined", sn->quarantined);
}

/* status: the figures. */
static void
control_status_counts(json_t *d, const struct server_snapshot *sn)
{
	const struct server_stats	*st = sn->stats;
	const struct queue_stats	*qs = &sn->qs;
	double				 up_s;

	up_s = (double)(sn->now_us - sn->started_us) / 1e6;
	jsonutil_set_int(d, "connections", sn->connections);
	jsonutil_set_int(d, "lines_up", sn->lines_up);
	jsonutil_set_int(d, "lines_total", sn->lines_total);
	jsonutil_set_int(d, "lines_idle", sn->lines_idle);
	jsonutil_set_int(d, "tls_buffers_released", sn->tls_released);
	jsonutil_set_int(d, "mem_trims", sn->mem_trims);
	jsonutil_set_int(d, "mem_trim_last_us", sn->mem_trim_last_us);
	jsonutil_set_int(d, "parsed_inline", sn->parsed_inline);
	jsonutil_set_int(d, "parsed_threaded", sn->parsed_threaded);
	jsonutil_set_int(d, "heap_in_use_bytes", sn->heap_in_use);
	jsonutil_set_int(d, "heap_free_bytes", sn->heap_free);
	jsonutil_set_int(d, "queued", sn->queued);
	jsonutil_set_int(d, "in_flight", sn->in_flight);
	jsonutil_set_int(d, "dead_letters", sn->dead_letters);
	jsonutil_set_int(d, "received", st->received);
	jsonutil_set_int(d, "acked", st->acked);
	jsonutil_set_int(d, "nacked", st->nacked);
	jsonutil_set_int(d, "delivered", st->deliv.delivered);
	jsonutil_set_int(d, "redelivered", st->deliv.redelivered);
	jsonutil_set_int(d, "expired", st->expired);
	jsonutil_set_int(d, "tls_failures", st->tls_failures);
	jsonutil_set_int(d, "commits", qs->commits);
	control_set_dbl(d, "commit_rate_per_s", (double)qs->commits /
	    (up_s + 1e-9));
	control_set_dbl(d, "ops_per_commit", qs->commits ?
	    (double)qs->ops / (double)qs->commits : 0);
	control_set_dbl(d, "commit_ms_avg", qs->commits ?
	    (double)qs->commit_us_total / (double)qs->commits / 1000 : 0);
	jsonutil_set_int(d, "store_used_bytes", sn->store_used);
	jsonutil_set_int(d, "store_size_bytes", sn->store_size);
	jsonutil_set_int(d, "audit_bytes", qs->audit_bytes);
	jsonutil_set_int(d, "audit_budget_bytes", qs->audit_budget);
	jsonutil_set_int(d, "audit_records", qs->audit_records);
	jsonutil_set_int(d, "audit_pruned_for_size", qs->audit_pruned_size);
	jsonutil_set_int(d, "quota_refused", st->quota_refused);
	jsonutil_set_int(d, "resends", st->resends);
	jsonutil_set_int(d, "msq_open", sn->msq_open);
	jsonutil_set_int(d, "msq_summaries", st->msq_summaries);
	jsonutil_set_int(d, "msq_late", st->msq_late);
	jsonutil_set_int(d, "photo_withheld", st->photo_withheld);
	jsonutil_set_int(d, "photo_left_out", st->photo_left_out);
	jsonutil_set_int(d, "notices_expired",
	    st->notices_expired[MSG_KEY_SM] + st->notices_expired[MSG_KEY_ER]);
}

/* The counters a node's cluster record holds, summed in the totals. */
static const char *const control_node_counts[] = {
	"received", "acked", "nacked", "delivered", "expired", "connections",
	"lines_up", "dead_letters"
};

struct control_nodes {
	json_t		*list;
	json_t		*totals;
	uint64_t	 now_us;
};

/* One node's cluster record (SERVER_NODE_PREFIX "N": "k=v ..."). */
static int
control_node_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	struct control_nodes	*cn = arg;
	json_t			*o = control_add(cn->list, NULL, json_object());
	char			*v = xstrndup(val, len), *w, *eq, *save = NULL;
	char			 state[32] = "unknown";
	uint64_t		 t = 0, n, age;
	json_t			*tot;
	size_t			 i;

	jsonutil_set_int(o, "node", strtoull(key + strlen(SERVER_NODE_PREFIX),
	    NULL, 10));
	for (w = strtok_r(v, " ", &save); w != NULL;
	    w = strtok_r(NULL, " ", &save)) {
		if ((eq = strchr(w, '=')) == NULL)
			continue;
		*eq++ = '\0';
		if (strcmp(w, "state") == 0)
			util_strlcpy(state, eq, sizeof state);
		else if (strcmp(w, "t") == 0)
			t = strtoull(eq, NULL, 10);
		else if (strcmp(w, "started") == 0)
			control_set_time(o, "started", strtoull(eq, NULL, 10));
		else if (strcmp(w, "pid") == 0)
			jsonutil_set_int(o, "pid", strtoull(eq, NULL, 10));
		for (i = 0; i < sizeof control_node_counts /
		    sizeof control_node_counts[0]; i++) {
			if (strcmp(w, control_node_counts[i]) != 0)
				continue;
			n = strtoull(eq, NULL, 10);
			jsonutil_set_int(o, w, n);
			tot = json_object_get(cn->totals, w);
			jsonutil_set_int(cn->totals, w, n + (tot != NULL ?
			    (uint64_t)json_integer_value(tot) : 0));
		}
	}
	/* A node that stopped writing it (killed, or its machine gone). */
	age = cn->now_us > t ? (cn->now_us - t) / 1000000 : 0;
	if (age > 3 * SERVER_NODE_S)
		snprintf(state, sizeof state, "gone");
	jsonutil_set_str(o, "state", state);
	control_set_time(o, "updated", t);
	jsonutil_set_int(o, "updated_s_ago", age);
	free(v);
	return 0;
}

/*
 * A shared store: every switch node's state and counters, from the
 * records each writes every SERVER_NODE_S (docs/cluster.md), and their
 * sums over the nodes' current processes.
 */
static void
control_status_cluster(struct control_req *r, uint64_t now_us)
{
	struct control_nodes cn;

	if (!queue_is_shared(server_queue(r->srv)))
		return;
	cn.list = control_add(r->doc, "cluster_nodes", json_array());
	cn.totals = control_add(r->doc, "cluster_totals", json_object());
	cn.now_us = now_us;
	queue_walk_state(server_queue(r->srv), SERVER_NODE_PREFIX,
	    control_node_cb, &cn);
}

static int
control_status(struct control_req *r)
{
	struct server_snapshot sn;

	server_snapshot(r->srv, &sn);
	control_status_state(r->doc, &sn);
	control_status_counts(r->doc, &sn);
	control_status_cluster(r, sn.now_us);
	return CONTROL_OK;
}

/* A line's record of where it is connected: {"node": N, "peer": ...}. */
static int
control_where_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	const char	*slash = memrchr(key, '/', klen);
	json_t		*o;
	char		*peer;

	if (slash == NULL)
		return 0;
	o = control_add(arg, NULL, json_object());
	jsonutil_set_int(o, "node", strtoull(slash + 1, NULL, 10));
	peer = xstrndup(val, len);
	jsonutil_set_str(o, "peer", peer);
	free(peer);
	return 0;
}

/*
 * A shared store (docs/cluster.md): which switch nodes the line is
 * connected to, and the copies the store holds for it that no node has
 * taken yet.
 */
static void
control_line_cluster(struct control_req *r, json_t *o, const char *code)
{
	struct queue	*q = server_queue(r->srv);
	uint64_t	 waiting;
	char		 prefix[64];

	if (!queue_is_shared(q))
		return;
	snprintf(prefix, sizeof prefix, SERVER_WHERE_PREFIX "%s/", code);
	queue_walk_state(q, prefix, control_where_cb,
	    control_add(o, "connected_at", json_array()));
	if (queue_depth(q, code, &waiting) == QUEUE_E_OK)
		jsonutil_set_int(o, "waiting_in_store", waiting);
}

static int
control_lines(struct control_req *r)
{
	json_t	*list, *o, *svc;
	int	 i, k;

	list = control_add(r->doc, "lines", json_array());
	for (i = 0; i < server_config(r->srv)->nline; i++) {
		struct line_info li;

		line_info(server_line_at(r->srv, i), &li);
		o = control_add(list, NULL, json_object());
		jsonutil_set_str(o, "line", li.cfg->code);
		jsonutil_set_str(o, "cn", li.cfg->cn);
		jsonutil_set_str(o, "member", li.cfg->member);
		control_set_bool(o, "connected", li.connected);
		jsonutil_set_str(o, "peer", li.peer);
		jsonutil_set_int(o, "queued", li.queued);
		jsonutil_set_int(o, "in_flight", li.in_flight);
		control_line_cluster(r, o, li.cfg->code);
		svc = control_add(o, "service", json_object());
		for (k = 1; k < MSG_KEY_MAX; k++)
			if (config_line_accepts(li.cfg, k) && k != MSG_KEY_SM &&
			    k != MSG_KEY_ER)
				jsonutil_set_str(svc, msg_key_name(k),
				    line_svc_name(li.svc[k]));
	}
	return CONTROL_OK;
}

static int
control_queues(struct control_req *r)
{
	uint64_t	 now = util_now_us();
	json_t		*list, *o;
	int		 i;

	list = control_add(r->doc, "queues", json_array());
	for (i = 0; i < server_config(r->srv)->nline; i++) {
		struct line_info li;

		line_info(server_line_at(r->srv, i), &li);
		o = control_add(list, NULL, json_object());
		jsonutil_set_str(o, "destination", li.cfg->code);
		jsonutil_set_int(o, "depth", li.queued);
		jsonutil_set_int(o, "bytes", li.bytes);
		control_set_dbl(o, "oldest_age_s", li.oldest_us ?
		    (double)(now - li.oldest_us) / 1e6 : 0);
		jsonutil_set_int(o, "in_flight", li.in_flight);
		control_line_cluster(r, o, li.cfg->code);
	}
	return CONTROL_OK;
}

/* Parse "0000000000000001" or "0000000000000001.2". */
static int
control_parse_id(const char *s, uint64_t *msgid, int *copy)
{
	char		*end;
	unsigned long	 c;

	errno = 0;
	*msgid = strtoull(s, &end, 16);
	if (errno != 0 || end == s)
		return -1;
	*copy = -1;
	if (*end == '.') {
		c = strtoul(end + 1, &end, 10);
		if (c > 65535)
			return -1;
		*copy = (int)c;
	}
	return *end == '\0' ? 0 : -1;
}

struct control_dead_walk {
	struct queue	*q;
	json_t		*list;
	uint64_t	 msgid;		/* 0: all */
	int		 n;
};

/* A notice's kind ("SM .08"): what an operator needs to see of a copy
 * that never reached its sender. */
static void
control_set_notice(json_t *o, struct queue *q, const struct queue_copy *c)
{
	struct queue_msgrec	rec;
	struct ubuf		body;
	char			kind[16];
	int			code = -1;

	ubuf_init(&body);
	if (queue_get(q, c->msgid, &rec, &body) == QUEUE_E_OK)
		code = msgbuild_notice_code(body.data, body.len);
	ubuf_free(&body);
	snprintf(kind, sizeof kind, code >= 0 ? "%s .%02d" : "%s",
	    msg_key_name(c->key), code);
	jsonutil_set_str(o, "notice", kind);
}

static void
control_add_copy(struct control_dead_walk *w, const struct queue_copy *c,
    const char *state, uint32_t attempts)
{
	json_t	*o = control_add(w->list, NULL, json_object());
	char	 id[32];

	queue_copyid_fmt(id, sizeof id, c->msgid, c->copy);
	jsonutil_set_str(o, "id", id);
	jsonutil_set_str(o, "line", c->line);
	jsonutil_set_str(o, "dest", c->dest);
	jsonutil_set_str(o, "mke", msg_key_name(c->key));
	if (c->flags & QUEUE_COPY_NOIMQ)
		jsonutil_set_str(o, "image_request", "withheld");
	if (c->flags & QUEUE_COPY_NOIMAGE)
		jsonutil_set_str(o, "picture", "withheld");
	if (c->key == MSG_KEY_SM || c->key == MSG_KEY_ER)
		control_set_notice(o, w->q, c);
	jsonutil_set_str(o, "state", state);
	control_set_time(o, "queued_at", c->enq_us);
	jsonutil_set_int(o, "attempts", attempts);
	jsonutil_set_int(o, "size", c->size);
}

static void
control_dead_cb(const struct queue_copy *c, void *arg)
{
	struct control_dead_walk *w = arg;

	if (w->msgid != 0 && c->msgid != w->msgid)
		return;
	control_add_copy(w, c, "dead", c->attempts);
	w->n++;
}

static void
control_show_cb(void *arg, const struct queue_copy *c, const char *state,
    uint32_t attempts)
{
	struct control_dead_walk *w = arg;

	if (c->msgid != w->msgid)
		return;
	control_add_copy(w, c, state, attempts);
	w->n++;
}

static int
control_show(struct control_req *r)
{
	struct queue_msgrec		 rec;
	struct control_dead_walk	 w;
	json_t				*d = r->doc;
	uint64_t			 msgid;
	int				 copy, rc, i;

	if (r->argc != 2 || control_parse_id(r->argv[1], &msgid, &copy) == -1)
		return control_usage(r, "");
	if ((rc = queue_get(server_queue(r->srv), msgid, &rec, NULL)) !=
	    QUEUE_E_OK) {
		control_error(r, "%s: %s", r->argv[1], queue_strerror(rc));
		return rc == QUEUE_E_NOTFOUND ? CONTROL_ENOTFOUND : CONTROL_EFAIL;
	}
	/* Metadata only: the body (and any photo in it) is never shown. */
	jsonutil_set_str(d, "msgid", r->argv[1]);
	jsonutil_set_str(d, "mke", msg_key_name(rec.key));
	jsonutil_set_str(d, "ori", rec.ori);
	jsonutil_set_str(d, "ctl", rec.ctl);
	jsonutil_set_str(d, "from_line", rec.from_line);
	control_set_time(d, "received", rec.recv_us);
	jsonutil_set_int(d, "input_sequence", rec.in_seq);
	control_set_bool(d, "photo_requested",
	    (rec.flags & QUEUE_MSG_IMQ) != 0);
	control_set_bool(d, "carries_photo",
	    (rec.flags & QUEUE_MSG_PHOTO) != 0);
	w.q = server_queue(r->srv);
	w.list = control_add(d, "copies", json_array());
	w.msgid = msgid;
	w.n = 0;
	for (i = 0; i < server_config(r->srv)->nline; i++)
		line_walk(server_line_at(r->srv, i), control_show_cb, &w);
	queue_walk_dead(server_queue(r->srv), control_dead_cb, &w);
	return CONTROL_OK;
}

/* hold / release / remove / restore LINE [MKE...] */
static int
control_service(struct control_req *r)
{
	const struct config_line	*cl;
	struct line			*l;
	json_t				*svc;
	uint32_t			 mask = 0;
	int				 st, k, i;

	if (r->argc < 2)
		return control_usage(r, "");
	if ((l = server_line_by_code(r->srv, r->argv[1])) == NULL) {
		control_error(r, "%s: no such line", r->argv[1]);
		return CONTROL_ENOTFOUND;
	}
	cl = line_config(l);
	for (i = 2; i < r->argc; i++) {
		/* A DQG reaches a line as a DQ: hold DQ. */
		if ((k = msg_key_lookup(r->argv[i])) == MSG_KEY_NONE ||
		    k == MSG_KEY_SM || k == MSG_KEY_ER ||
		    (int)msg_key_delivered(k) != k) {
			control_error(r, "%s: not a message key a line can "
			    "hold", r->argv[i]);
			return CONTROL_EUSAGE;
		}
		mask |= 1u << k;
	}
	if (mask == 0)
		for (k = 1; k < MSG_KEY_MAX; k++)
			if (k != MSG_KEY_SM && k != MSG_KEY_ER &&
			    (int)msg_key_delivered(k) == k)
				mask |= 1u << k;
	st = r->cmd->id == COMMAND_HOLD ? CONFIG_SVC_HELD :
	    r->cmd->id == COMMAND_REMOVE ? CONFIG_SVC_REMOVED : CONFIG_SVC_IN;
	jsonutil_set_str(r->doc, "line", cl->code);
	svc = control_add(r->doc, "service", json_object());
	for (k = 1; k < MSG_KEY_MAX; k++)
		if ((mask & (1u << k)) && config_line_accepts(cl, k))
			jsonutil_set_str(svc, msg_key_name(k),
			    line_svc_name(st));
	log_info("control: service line=%s state=%s", cl->code,
	    line_svc_name(st));
	line_set_service(l, mask, st);
	return CONTROL_OK;
}

static void
control_op_done_cb(struct queue_op *op, void *arg)
{
	(void)arg;
	if (op->result != QUEUE_E_OK)
		log_warnx("control: operation not committed: %s",
		    queue_strerror(op->result));
	free((char *)op->audit);
	free(op->copies);
	free(op);
}

/*
 * The IDs of input (one per line, blanks around them dropped) that no
 * copy walked so far matched: control_ids_new, control_ids_hit for each
 * copy, control_ids_missing.
 */
struct control_ids {
	char	**id;
	int	 *hit;
	int	  n;
};

static void
control_ids_new(struct control_ids *ids, const char *input)
{
	const char	*p;
	size_t		 n;

	memset(ids, 0, sizeof *ids);
	for (p = input != NULL ? input : ""; *p != '\0';
	    p += n + (p[n] != '\0')) {
		n = strcspn(p, "\r\n");
		while (n > 0 && (*p == ' ' || *p == '\t'))
			p++, n--;
		{
			size_t m = n;

			while (m > 0 && (p[m - 1] == ' ' || p[m - 1] == '\t'))
				m--;
			if (m == 0)
				continue;
			ids->id = xrealloc(ids->id, (size_t)(ids->n + 1) *
			    sizeof *ids->id);
			ids->hit = xrealloc(ids->hit, (size_t)(ids->n + 1) *
			    sizeof *ids->hit);
			ids->id[ids->n] = xstrndup(p, m);
			ids->hit[ids->n++] = 0;
		}
	}
}

/* Mark the IDs that name this copy (its copy ID or message ID). */
static void
control_ids_hit(struct control_ids *ids, uint64_t msgid, uint16_t copy)
{
	char	id[32], mid[24];
	int	i;

	queue_copyid_fmt(id, sizeof id, msgid, copy);
	queue_msgid_fmt(mid, sizeof mid, msgid);
	for (i = 0; i < ids->n; i++)
		if (strcmp(ids->id[i], id) == 0 || strcmp(ids->id[i], mid) == 0)
			ids->hit[i] = 1;
}

/*
 * "ID ID: not a dead letter"-style error for the IDs nothing matched.
 * @return how many there are.
 */
static int
control_ids_missing(struct control_req *r, struct control_ids *ids,
    const char *what)
{
	struct ubuf	b;
	int		i, n = 0;

	ubuf_init(&b);
	for (i = 0; i < ids->n; i++)
		if (!ids->hit[i]) {
			ubuf_printf(&b, "%s%s", n++ > 0 ? " " : "", ids->id[i]);
			if (n == 20 && i + 1 < ids->n) {
				ubuf_adds(&b, " ...");
				break;
			}
		}
	if (n > 0)
		control_error(r, "%s: %s (nothing done)", b.data, what);
	ubuf_free(&b);
	return n;
}

static void
control_ids_free(struct control_ids *ids)
{
	int i;

	for (i = 0; i < ids->n; i++)
		free(ids->id[i]);
	free(ids->id);
	free(ids->hit);
}

/* Does input (one ID per line) or "ALL" select this copy? */
static int
control_selects(int all, const char *input, uint64_t msgid, uint16_t copy)
{
	char		 id[32], mid[24];
	const char	*p;
	size_t		 n;

	if (all)
		return 1;
	if (input == NULL)
		return 0;
	queue_copyid_fmt(id, sizeof id, msgid, copy);
	queue_msgid_fmt(mid, sizeof mid, msgid);
	for (p = input; *p != '\0'; p += n + (p[n] != '\0')) {
		n = strcspn(p, "\r\n");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if ((n == strlen(id) && strncmp(p, id, n) == 0) ||
		    (n == strlen(mid) && strncmp(p, mid, n) == 0))
			return 1;
		n = strcspn(p, "\r\n");
	}
	return 0;
}

static struct queue_op *
control_copy_op(enum queue_op_type type, const struct queue_copy *c,
    const char *event)
{
	struct queue_op		*op = xcalloc(1, sizeof *op);
	struct audit_rec	*a;
	char			 id[32];

	queue_copyid_fmt(id, sizeof id, c->msgid, c->copy);
	op->type = type;
	op->copies = xmalloc(sizeof *op->copies);
	op->copies[0] = *c;
	op->ncopies = 1;
	a = audit_begin(util_now_us(), "control", event);
	audit_str(a, "msgid", id);
	audit_str(a, "line", c->line);
	audit_str(a, "dest", c->dest);
	audit_str(a, "mke", msg_key_name(c->key));
	audit_num(a, "size", c->size);
	op->audit = audit_end(a);
	op->done = control_op_done_cb;
	return op;
}

/*
 * The arguments of a mass operation: "... ALL" (*all = 1) or IDs on
 * the input. @return CONTROL_OK, or CONTROL_EUSAGE with the error set.
 */
static int
control_mass_args(struct control_req *r, int *all)
{
	const struct command	*c = r->cmd;
	int			 at = c->all_at;

	if (r->argc != at && (r->argc != at + 1 || strcmp(r->argv[at],
	    "ALL") != 0))
		return control_usage(r, "");
	*all = r->argc == at + 1;
	if (!*all && (r->input == NULL || *r->input == '\0')) {
		control_error(r, "%s%s%s: give IDs on standard input, or ALL",
		    c->name, c->sub ? " " : "", c->sub ? c->sub : "");
		return CONTROL_EUSAGE;
	}
	return CONTROL_OK;
}

struct control_purge {
	struct server	*srv;
	int		 all;
	const char	*input;
};

static int
control_purge_select_cb(void *arg, const struct queue_copy *c)
{
	struct control_purge *cp = arg;

	return control_selects(cp->all, cp->input, c->msgid, c->copy);
}

static void
control_purge_drop_cb(void *arg, const struct queue_copy *c)
{
	struct control_purge *cp = arg;

	queue_submit(server_queue(cp->srv), control_copy_op(QUEUE_OP_DELETE,
	    c, "purged"));
}

/* A dry walk: mark the IDs a queued copy of the line answers to. */
static int
control_purge_mark_cb(void *arg, const struct queue_copy *c)
{
	control_ids_hit(arg, c->msgid, c->copy);
	return 0;
}

/* purge LINE (ALL | IDs on input): drop queued copies (not in flight). */
static int
control_purge(struct control_req *r)
{
	struct control_purge	 cp;
	struct line		*l;
	int			 n, rc;

	if ((rc = control_mass_args(r, &cp.all)) != CONTROL_OK)
		return rc;
	cp.srv = r->srv;
	cp.input = r->input;
	if ((l = server_line_by_code(r->srv, r->argv[1])) == NULL) {
		control_error(r, "%s: no such line", r->argv[1]);
		return CONTROL_ENOTFOUND;
	}
	if (!cp.all) {
		/* Every ID must name a copy queued on the line, or nothing
		 * is done: a typo is not a silent "purged: 0". */
		struct control_ids ids;

		control_ids_new(&ids, r->input);
		line_purge(l, control_purge_mark_cb, control_purge_drop_cb,
		    &ids);
		n = control_ids_missing(r, &ids, "not queued on this line (in "
		    "flight, delivered, or no such copy)");
		control_ids_free(&ids);
		if (n > 0)
			return CONTROL_ENOTFOUND;
	}
	n = line_purge(l, control_purge_select_cb, control_purge_drop_cb, &cp);
	log_info("control: purge line=%s copies=%d", line_config(l)->code, n);
	jsonutil_set_str(r->doc, "line", line_config(l)->code);
	jsonutil_set_int(r->doc, "purged", n);
	return CONTROL_OK;
}

struct control_dead_sel {
	struct server	*srv;
	int		 all;
	const char	*input;
	int		 requeue;
	int		 n;
	int		 unreadable;	/* not requeued: message unreadable */
};

static void
control_requeue_done_cb(struct queue_op *op, void *arg)
{
	struct server	*srv = arg;
	struct line	*l;

	/* A shared store hands the copy to where its line is up. */
	if (op->result == QUEUE_E_OK && !queue_is_shared(server_queue(srv)) &&
	    (l = server_line_by_code(srv, op->copies[0].line)) != NULL) {
		op->copies[0].enq_us = util_now_us();
		op->copies[0].attempts = 0;
		line_add(l, &op->copies[0]);
	}
	control_op_done_cb(op, NULL);
}

static void
control_dead_sel_cb(const struct queue_copy *c, void *arg)
{
	struct control_dead_sel	*d = arg;
	struct queue_msgrec	 rec;
	struct queue_op		*op;

	if (!control_selects(d->all, d->input, c->msgid, c->copy))
		return;
	/* A copy dead-lettered because its message is damaged or gone
	 * would only come back here (its sender had SM .09). */
	if (d->requeue && queue_get(server_queue(d->srv), c->msgid, &rec, NULL) !=
	    QUEUE_E_OK) {
		d->unreadable++;
		return;
	}
	op = control_copy_op(d->requeue ? QUEUE_OP_REQUEUE : QUEUE_OP_PURGE, c,
	    d->requeue ? "requeued" : "dead-letter-purged");
	if (d->requeue) {
		op->done = control_requeue_done_cb;
		op->arg = d->srv;
	}
	queue_submit(server_queue(d->srv), op);
	d->n++;
}

/* deadletters [list] */
static int
control_dead_list(struct control_req *r)
{
	struct control_dead_walk w;

	w.q = server_queue(r->srv);
	w.list = control_add(r->doc, "deadletters", json_array());
	w.msgid = 0;
	w.n = 0;
	queue_walk_dead(server_queue(r->srv), control_dead_cb, &w);
	return CONTROL_OK;
}

static void
control_dead_mark_cb(const struct queue_copy *c, void *arg)
{
	control_ids_hit(arg, c->msgid, c->copy);
}

/* deadletters requeue|purge (ALL | IDs on input) */
static int
control_dead_change(struct control_req *r)
{
	struct control_dead_sel	d;
	int			rc;

	memset(&d, 0, sizeof d);
	if ((rc = control_mass_args(r, &d.all)) != CONTROL_OK)
		return rc;
	d.srv = r->srv;
	d.input = r->input;
	d.requeue = r->cmd->id == COMMAND_DEAD_REQUEUE;
	if (!d.all) {
		/* Every ID must name a dead letter, or nothing is done. */
		struct control_ids ids;

		control_ids_new(&ids, r->input);
		queue_walk_dead(server_queue(r->srv), control_dead_mark_cb,
		    &ids);
		rc = control_ids_missing(r, &ids, "not a dead letter");
		control_ids_free(&ids);
		if (rc > 0)
			return CONTROL_ENOTFOUND;
	}
	queue_walk_dead(server_queue(r->srv), control_dead_sel_cb, &d);
	log_info("control: deadletters %s copies=%d", r->cmd->sub, d.n);
	jsonutil_set_int(r->doc, d.requeue ? "requeued" : "purged",
	    d.n);
	if (d.unreadable > 0)
		jsonutil_set_int(r->doc, "unreadable_not_requeued",
		    d.unreadable);
	return CONTROL_OK;
}

/* A time argument (util_parse_time: the same as nlaudit's). */
static int
control_parse_time(const char *s, uint64_t *us)
{
	return util_parse_time(s, util_now_us(), us);
}

struct control_audit {
	json_t		*list;
	const char	*want[3][2];	/* field, value */
	uint64_t	 since;
	uint64_t	 until;
	int		 limit;
	int		 n;
};

/*
 * Could the record match? A look at its text before it is parsed: a
 * value JSON writes as is (printable ASCII, no quote or backslash) must
 * appear in it.
 */
static int
control_audit_may_match(const struct control_audit *a, const char *rec,
    size_t len)
{
	const char	*v, *p;
	int		 i;

	for (i = 0; i < 3; i++) {
		if ((v = a->want[i][1]) == NULL)
			continue;
		for (p = v; *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\';
		    p++)
			;
		if (*p == '\0' && memmem(rec, len, v, strlen(v)) == NULL)
			return 0;
	}
	return 1;
}

/* Does the record have every field the options ask for? */
static int
control_audit_match(const struct control_audit *a, json_t *rec)
{
	const char	*v;
	int		 i;

	for (i = 0; i < 3; i++) {
		if (a->want[i][0] == NULL)
			continue;
		v = json_string_value(json_object_get(rec, a->want[i][0]));
		if (v == NULL || strcmp(v, a->want[i][1]) != 0)
			return 0;
	}
	return 1;
}

static int
control_audit_cb(uint64_t t, const char *rec, size_t len, void *arg)
{
	struct control_audit	*a = arg;
	json_error_t		 err;
	json_t			*o;

	/* Walked newest first, from --until: stop below --since. */
	if (t < a->since)
		return 1;
	if (!control_audit_may_match(a, rec, len))
		return 0;
	/* The stored record is JSON: embedded as the object it is. */
	if ((o = json_loadb(rec, len, 0, &err)) == NULL) {
		log_warnx("control: audit record t=%llu unreadable: %s",
		    (unsigned long long)t, err.text);
		return 0;
	}
	if (!control_audit_match(a, o)) {
		json_decref(o);
		return 0;
	}
	jsonutil_append(a->list, o);
	return ++a->n >= a->limit;
}

/* audit's options into a. @return 0, or -1 for a bad option. */
static int
control_audit_opts(struct control_req *r, struct control_audit *a)
{
	static const char *const match[3] = { "--ori", "--mke", "--decision" };
	const char	*opt, *val;
	int		 i, f;

	for (i = 1; i < r->argc; i += 2) {
		opt = r->argv[i];
		if ((val = i + 1 < r->argc ? r->argv[i + 1] : NULL) == NULL)
			return -1;
		for (f = 0; f < 3 && strcmp(opt, match[f]) != 0; f++)
			;
		if (f < 3) {
			a->want[f][0] = match[f] + 2;	/* the field */
			a->want[f][1] = val;
		} else if (strcmp(opt, "--since") == 0) {
			if (control_parse_time(val, &a->since) == -1)
				return -1;
		} else if (strcmp(opt, "--until") == 0) {
			if (control_parse_time(val, &a->until) == -1)
				return -1;
		} else if (strcmp(opt, "--limit") != 0 ||
		    (a->limit = atoi(val)) <= 0)
			return -1;
	}
	return 0;
}

static int
control_audit(struct control_req *r)
{
	struct control_audit a;

	memset(&a, 0, sizeof a);
	a.limit = 1000;
	if (control_audit_opts(r, &a) == -1)
		return control_usage(r, CONTROL_TIME_NOTE);
	/* The newest --limit records (oldest of them first): what an
	 * operator looking at the trail wants. */
	a.list = json_array();
	queue_walk_audit_back(server_queue(r->srv), a.until, control_audit_cb,
	    &a);
	{
		json_t	*list = control_add(r->doc, "audit", json_array());
		size_t	 i = json_array_size(a.list);

		while (i-- > 0)
			json_array_append(list, json_array_get(a.list, i));
		json_decref(a.list);
	}
	return CONTROL_OK;
}

struct control_quar {
	json_t		*list;
	int		 limit;
	int		 n;
};

static int
control_quar_cb(const struct queue_quar *q, void *arg)
{
	struct control_quar	*cq = arg;
	json_t			*o;
	char			 hex[2 * 64 + 4], id[32];
	size_t			 i;

	for (i = 0; i < q->keylen && i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", q->key[i]);
	hex[2 * i] = '\0';
	if (i < q->keylen)
		util_strlcpy(hex + 2 * i, "...", 4);
	if (q->copy >= 0)
		queue_copyid_fmt(id, sizeof id, q->msgid, (uint16_t)q->copy);
	else
		queue_msgid_fmt(id, sizeof id, q->msgid);
	o = control_add(cq->list, NULL, json_object());
	control_set_time(o, "time", q->t_us);
	jsonutil_set_str(o, "db", q->db >= 0 ? queue_db_name(q->db) : "?");
	jsonutil_set_str(o, "key", hex);
	jsonutil_set_str(o, "msgid", q->msgid != 0 ? id : "");
	jsonutil_set_str(o, "line", q->line);
	jsonutil_set_str(o, "reason", q->reason);
	jsonutil_set_str(o, "action", q->action);
	jsonutil_set_int(o, "size", q->vallen);
	return ++cq->n >= cq->limit;
}

/*
 * The store's quarantine: every entry found corrupt, when, why and what
 * the switch did instead (queue.h struct queue_quar); read only.
 */
static int
control_quarantine(struct control_req *r)
{
	struct control_quar	cq;
	uint64_t		since = 0;
	int			i;

	memset(&cq, 0, sizeof cq);
	cq.limit = 1000;
	for (i = 1; i < r->argc; i += 2) {
		if (i + 1 >= r->argc)
			return control_usage(r, CONTROL_TIME_NOTE);
		if (strcmp(r->argv[i], "--since") == 0) {
			if (control_parse_time(r->argv[i + 1], &since) == -1)
				return control_usage(r, CONTROL_TIME_NOTE);
		} else if (strcmp(r->argv[i], "--limit") != 0 ||
		    (cq.limit = atoi(r->argv[i + 1])) <= 0)
			return control_usage(r, CONTROL_TIME_NOTE);
	}
	cq.list = control_add(r->doc, "quarantine", json_array());
	i = queue_walk_quarantine(server_queue(r->srv), since, control_quar_cb,
	    &cq);
	if (i != QUEUE_E_OK) {
		control_error(r, "quarantine: %s", queue_strerror(i));
		return CONTROL_EFAIL;
	}
	return CONTROL_OK;
}

/* A member's state as nlctl shows it. */
static const char *
control_msq_st(int st)
{
	switch (st) {
	case MSQ_PENDING:	return "waiting";
	case MSQ_HIT:		return "hit";
	case MSQ_NOREC:		return "not-on-file";
	case MSQ_HELD:		return "held";
	case MSQ_OUT:		return "removed";
	case MSQ_LATE:		return "late";
	case MSQ_CONT:		return "hit-continued";
	default:		return "?";
	}
}

static int
control_yq_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	json_t			*list = arg, *o;
	struct hitconf_rec	 rec;

	if (hitconf_record_parse(key, klen, val, len, &rec) != 0)
		return 0;
	o = control_add(list, NULL, json_object());
	jsonutil_set_str(o, "request", rec.reqid);
	jsonutil_set_str(o, "ori", rec.ori);
	jsonutil_set_str(o, "dest", rec.dest);
	jsonutil_set_str(o, "ctl", rec.ctl);
	jsonutil_set_str(o, "rty", rec.hit.rty);
	jsonutil_set_int(o, "rno", rec.rno);
	jsonutil_set_str(o, "sent_by", rec.by_switch ? "switch" : "requester");
	control_set_time(o, "due", rec.due_us);
	return 0;
}

/*
 * pending: what waits for an answer, as the store says (the state
 * records the switch keeps for it): multi-state queries with each
 * member's state, hit confirmations with when the next step is due.
 */
static int
control_pending(struct control_req *r)
{
	struct msq_table	*t = msq_table_new();
	struct msq		*q;
	json_t			*list, *o, *m;
	int			 i;

	list = control_add(r->doc, "multistate", json_array());
	if (msq_table_load(t, server_queue(r->srv), NULL, NULL, NULL) != 0) {
		msq_table_free(t);
		control_error(r, "the store's multi-state queries are "
		    "unreadable");
		return CONTROL_EFAIL;
	}
	for (q = msq_table_first(t); q != NULL; q = q->next) {
		o = control_add(list, NULL, json_object());
		jsonutil_set_str(o, "query", q->idstr);
		jsonutil_set_str(o, "mke", msg_key_name(q->key));
		jsonutil_set_str(o, "ori", q->ori);
		jsonutil_set_str(o, "ctl", q->ctl);
		jsonutil_set_str(o, "to", q->to);
		control_set_time(o, "received", q->created_us);
		control_set_time(o, "summary_due", q->deadline_us);
		jsonutil_set_str(o, "summary", q->done ? "sent" : "waiting");
		m = control_add(o, "members", json_object());
		for (i = 0; i < q->nmember; i++)
			jsonutil_set_str(m, q->m[i].dest,
			    control_msq_st(q->m[i].st));
	}
	msq_table_free(t);
	list = control_add(r->doc, "confirmations", json_array());
	if (queue_walk_state(server_queue(r->srv), HITCONF_STATE_PREFIX,
	    control_yq_cb, list) != QUEUE_E_OK) {
		control_error(r, "the store's hit confirmations are "
		    "unreadable");
		return CONTROL_EFAIL;
	}
	return CONTROL_OK;
}

static int
control_reload(struct control_req *r)
{
	char	*cause = NULL, *notes = NULL;

	if (server_reload(r->srv, &cause, &notes) == -1) {
		/* The operator's terminal is not the only record of it. */
		log_warnx("control: reload refused, the running configuration "
		    "is kept: %s", cause);
		jsonutil_set_str(r->doc, "result",
		    "kept the running configuration");
		control_error(r, "%s", cause);
		free(cause);
		return CONTROL_EFAIL;
	}
	jsonutil_set_str(r->doc, "result", "reloaded");
	jsonutil_set_str(r->doc, "config", server_config(r->srv)->path);
	if (notes != NULL)
		jsonutil_set_str(r->doc, "notes", notes);
	free(notes);
	return CONTROL_OK;
}

static int
control_drain(struct control_req *r)
{
	int grace = r->argc > 1 ? atoi(r->argv[1]) : 30;

	if (grace <= 0 || r->argc > 2)
		return control_usage(r, "");
	server_drain(r->srv, grace);
	jsonutil_set_str(r->doc, "result", "draining");
	jsonutil_set_int(r->doc, "grace_s", grace);
	return CONTROL_OK;
}

/*
 * The handlers of the command table (command.h), by identifier. json_rows:
 * in text, a list's elements are shown as JSON (stored audit records),
 * not as key=value.
 */
static const struct control_handler {
	int	(*exec)(struct control_req *);
	int	  json_rows;
} control_handlers[COMMAND_MAX] = {
	[COMMAND_STATUS] =		{ control_status, 0 },
	[COMMAND_LINES] =		{ control_lines, 0 },
	[COMMAND_QUEUES] =		{ control_queues, 0 },
	[COMMAND_SHOW] =		{ control_show, 0 },
	[COMMAND_HOLD] =		{ control_service, 0 },
	[COMMAND_RELEASE] =		{ control_service, 0 },
	[COMMAND_REMOVE] =		{ control_service, 0 },
	[COMMAND_RESTORE] =		{ control_service, 0 },
	[COMMAND_PURGE] =		{ control_purge, 0 },
	[COMMAND_DEAD_LIST] =		{ control_dead_list, 0 },
	[COMMAND_DEAD_REQUEUE] =	{ control_dead_change, 0 },
	[COMMAND_DEAD_PURGE] =		{ control_dead_change, 0 },
	[COMMAND_AUDIT] =		{ control_audit, 1 },
	[COMMAND_QUARANTINE] =		{ control_quarantine, 0 },
	[COMMAND_RELOAD] =		{ control_reload, 0 },
	[COMMAND_DRAIN] =		{ control_drain, 0 },
	[COMMAND_PENDING] =		{ control_pending, 0 },
};

/* An unknown command, or a known name with an unknown subcommand. */
static int
control_unknown(struct control_req *r)
{
	const struct command	*c = NULL;
	struct ubuf		 u;

	if (r->argc < 1) {
		control_error(r, "no command");
		return CONTROL_EUSAGE;
	}
	if ((c = command_next(NULL, r->argv[0])) == NULL) {
		control_error(r, "%s: unknown command", r->argv[0]);
		return CONTROL_EUSAGE;
	}
	ubuf_init(&u);
	for (; c != NULL; c = command_next(c, r->argv[0]))
		ubuf_printf(&u, "%s%s", u.len > 0 ? " | " : "usage: ",
		    c->usage);
	jsonutil_set_str(r->doc, "error", u.data);
	ubuf_free(&u);
	return CONTROL_EUSAGE;
}

int
control_exec(struct server *srv, int argc, char **argv, const char *input,
    int json, struct ubuf *out)
{
	const struct control_handler	*h = NULL;
	struct control_req		 r;
	int				 rc;

	memset(&r, 0, sizeof r);
	r.srv = srv;
	r.argc = argc;
	r.argv = argv;
	r.input = input;
	r.doc = json_object();
	if ((r.cmd = command_lookup(argc, argv)) == NULL)
		rc = control_unknown(&r);
	else {
		h = &control_handlers[r.cmd->id];
		rc = h->exec(&r);
	}
	control_set_bool(r.doc, "ok", rc == CONTROL_OK);
	if (json) {
		control_dump(r.doc, out);
		ubuf_adds(out, "\n");
	} else
		control_text(r.doc, h != NULL && h->json_rows, out);
	json_decref(r.doc);
	return rc;
}

/*
 * The Unix socket.
 */

struct control_conn {
	struct server		*srv;
	struct bufferevent	*bev;
	int			 done;
};

static struct evconnlistener	*control_listener;
static char			*control_path;

void
control_init(struct event_base *base, struct server *srv, const char *path)
{
	struct sockaddr_un	 sun;
	mode_t			 old;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		fatalx("control: socket path too long: %s", path);
	memcpy(sun.sun_path, path, strlen(path));
	if (util_mkdir_parent(path) == -1)
		fatal("control: %s", path);
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("control: unlink %s", path);
	old = umask(0117);	/* 0660 */
	control_listener = evconnlistener_new_bind(base, control_accept_cb,
	    srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 16,
	    (struct sockaddr *)&sun, sizeof sun);
	umask(old);
	if (control_listener == NULL)
		fatal("control: cannot listen on %s", path);
	if (chmod(path, 0660) == -1)
		fatal("control: chmod %s", path);
	control_path = xstrdup(path);
	log_info("control: socket %s", path);
}

void
control_shutdown(void)
{
	if (control_listener != NULL) {
		evconnlistener_free(control_listener);
		control_listener = NULL;
	}
	if (control_path != NULL) {
		unlink(control_path);
		free(control_path);
		control_path = NULL;
	}
}

static void
control_conn_free(struct control_conn *c)
{
	bufferevent_free(c->bev);
	free(c);
}

static void
control_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct control_conn *c = xcalloc(1, sizeof *c);

	(void)sa;
	(void)salen;
	c->srv = arg;
	c->bev = bufferevent_socket_new(evconnlistener_get_base(lev), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c->bev, control_read_cb, NULL, control_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* The whole request is in (the client shut down its side): run it. */
static void
control_run(struct control_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 len = evbuffer_get_length(in);
	char		*req, *p, *nl, *argv[32], *input = NULL;
	struct ubuf	 out;
	int		 argc = 0, json, rc;

	req = xmalloc(len + 1);
	evbuffer_remove(in, req, len);
	req[len] = '\0';
	ubuf_init(&out);
	if (strncmp(req, "NLCTL/1 ", 8) != 0 || (nl = strchr(req, '\n')) == NULL) {
		ubuf_adds(&out, "EXIT 2\nbad control request\n");
		goto reply;
	}
	json = strncmp(req + 8, "json", 4) == 0;
	p = nl + 1;
	while (*p != '\0' && *p != '\n' && argc < 31) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		*nl = '\0';
		argv[argc++] = p;
		p = nl + 1;
	}
	argv[argc] = NULL;
	if (*p == '\n')
		input = p + 1;
	{
		struct ubuf body;

		ubuf_init(&body);
		rc = control_exec(c->srv, argc, argv, input, json, &body);
		ubuf_printf(&out, "EXIT %d\n", rc);
		ubuf_add(&out, body.data, body.len);
		ubuf_free(&body);
	}
reply:
	bufferevent_write(c->bev, out.data, out.len);
	ubuf_free(&out);
	free(req);
	c->done = 1;
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, control_write_cb, control_event_cb, c);
}

static void
control_read_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_input(bev)) > CONTROL_MAX_REQUEST) {
		control_conn_free(c);
		return;
	}
}

static void
control_write_cb(struct bufferevent *bev, void *arg)
{
	struct control_conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		control_conn_free(c);
}

static void
control_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct control_conn *c = arg;

	(void)bev;
	if ((what & BEV_EVENT_EOF) && !c->done) {
		control_run(c);
		return;
	}
	control_conn_free(c);
}
