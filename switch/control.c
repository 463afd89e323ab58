/*
 * control - see control.h.
 */
#include <errno.h>
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

#include "audit.h"
#include "control.h"
#include "line.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define CONTROL_MAX_REQUEST	(4u << 20)	/* IDs on stdin included */
#define CONTROL_VERSION		"0.1"

static void	control_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	control_read_cb(struct bufferevent *, void *);
static void	control_write_cb(struct bufferevent *, void *);
static void	control_event_cb(struct bufferevent *, short, void *);
static void	control_op_done_cb(struct queue_op *, void *);

/*
 * A small emitter that writes the same structure as JSON or as text:
 * top-level fields as "key: value" lines, array elements as one line of
 * key=value pairs, deeper objects inline.
 */
#define EMIT_DEPTH	8
struct emit {
	struct ubuf	*b;
	int		 json;
	int		 depth;
	int		 count[EMIT_DEPTH];
	int		 isarr[EMIT_DEPTH];
};

static void
emit_sep(struct emit *e, const char *key)
{
	int d = e->depth;

	if (e->json) {
		if (e->count[d]++ > 0)
			ubuf_adds(e->b, ",");
		if (key != NULL && !e->isarr[d]) {
			ubuf_add_json(e->b, key);
			ubuf_adds(e->b, ":");
		}
		return;
	}
	if (d <= 1) {
		if (key != NULL)
			ubuf_printf(e->b, "%s: ", key);
		return;
	}
	if (d == 2 && e->isarr[2]) {
		/* An element of a top-level list: one line each. */
		e->count[d]++;
		ubuf_adds(e->b, "  ");
		return;
	}
	if (e->count[d]++ > 0)
		ubuf_adds(e->b, d == 3 && e->isarr[2] ? " " : ",");
	if (key != NULL && !e->isarr[d])
		ubuf_printf(e->b, "%s=", key);
}

static void
emit_text_value(struct emit *e, const char *v)
{
	if (strpbrk(v, " \t\"=,") != NULL || *v == '\0') {
		ubuf_add_json(e->b, v);
	} else
		ubuf_adds(e->b, v);
}

static void
emit_endline(struct emit *e)
{
	if (!e->json && (e->depth <= 1 || (e->depth == 2 && e->isarr[2])))
		ubuf_adds(e->b, "\n");
}

static void
emit_str(struct emit *e, const char *key, const char *v)
{
	emit_sep(e, key);
	if (e->json)
		ubuf_add_json(e->b, v ? v : "");
	else
		emit_text_value(e, v ? v : "");
	emit_endline(e);
}

static void
emit_u64(struct emit *e, const char *key, uint64_t v)
{
	emit_sep(e, key);
	ubuf_printf(e->b, "%llu", (unsigned long long)v);
	emit_endline(e);
}

static void
emit_dbl(struct emit *e, const char *key, double v)
{
	emit_sep(e, key);
	ubuf_printf(e->b, "%.6g", v);
	emit_endline(e);
}

static void
emit_bool(struct emit *e, const char *key, int v)
{
	emit_sep(e, key);
	ubuf_adds(e->b, v ? "true" : "false");
	emit_endline(e);
}

/* Embed a JSON text as is (audit records); as a line in text mode. */
static void
emit_raw(struct emit *e, const char *json, size_t len)
{
	emit_sep(e, NULL);
	ubuf_add(e->b, json, len);
	if (!e->json)
		ubuf_adds(e->b, "\n");
}

static void
emit_open(struct emit *e, const char *key, int arr)
{
	int d = e->depth;

	if (d == 1 && !e->json && key != NULL) {
		e->count[d]++;
		ubuf_printf(e->b, "%s:", key);
	} else if (d > 0)
		emit_sep(e, key);
	if (e->json)
		ubuf_adds(e->b, arr ? "[" : "{");
	else if (d == 1)
		ubuf_adds(e->b, "\n");
	else if (d >= 2 && !(d == 2 && e->isarr[2]))
		ubuf_adds(e->b, arr ? "[" : "{");
	if (d + 1 >= EMIT_DEPTH)
		fatalx("control: emitter too deep");
	e->depth++;
	e->count[e->depth] = 0;
	e->isarr[e->depth] = arr;
}

static void
emit_close(struct emit *e)
{
	int arr = e->isarr[e->depth];

	e->depth--;
	if (e->json) {
		ubuf_adds(e->b, arr ? "]" : "}");
		if (e->depth == 0)
			ubuf_adds(e->b, "\n");
		return;
	}
	if (e->depth == 2 && e->isarr[2])
		ubuf_adds(e->b, "\n");
	else if (e->depth >= 2)
		ubuf_adds(e->b, arr ? "]" : "}");
}

static void
emit_error(struct emit *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
emit_error(struct emit *e, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	emit_str(e, "error", buf);
}

static void
emit_time(struct emit *e, const char *key, uint64_t us)
{
	char		buf[32];
	time_t		t = (time_t)(us / 1000000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
	emit_str(e, key, buf);
}



static int
control_status(struct server *srv, struct emit *e)
{
	struct server_snapshot		 sn;
	const struct server_stats	*st;
	const struct queue_stats	*qs = &sn.qs;
	double				 up_s;

	server_snapshot(srv, &sn);
	st = sn.stats;
	up_s = (double)(sn.now_us - sn.started_us) / 1e6;
	emit_str(e, "version", CONTROL_VERSION);
	emit_u64(e, "pid", (uint64_t)getpid());
	emit_time(e, "started", sn.started_us);
	emit_u64(e, "uptime_s", (sn.now_us - sn.started_us) / 1000000);
	emit_str(e, "state", sn.draining ? "draining" : sn.damage != NULL ?
	    "store-damaged" : sn.ready ? "running" : "not-ready");
	if (!sn.ready && !sn.draining)
		emit_str(e, "not_ready", sn.not_ready);
	if (sn.warning[0] != '\0')
		emit_str(e, "warning", sn.warning);
	emit_str(e, "store_space", queue_space_name(qs->space));
	emit_str(e, "recovery", "done");
	emit_str(e, "store", sn.damage != NULL ? sn.damage : "ok");
	if (sn.recovery != NULL)
		emit_str(e, "store_recovery", sn.recovery);
	emit_u64(e, "quarantined", sn.quarantined);
	emit_u64(e, "connections", (uint64_t)sn.connections);
	emit_u64(e, "lines_up", (uint64_t)sn.lines_up);
	emit_u64(e, "lines_total", (uint64_t)sn.lines_total);
	emit_u64(e, "queued", sn.queued);
	emit_u64(e, "in_flight", sn.in_flight);
	emit_u64(e, "dead_letters", sn.dead_letters);
	emit_u64(e, "received", st->received);
	emit_u64(e, "acked", st->acked);
	emit_u64(e, "nacked", st->nacked);
	emit_u64(e, "delivered", st->deliv.delivered);
	emit_u64(e, "redelivered", st->deliv.redelivered);
	emit_u64(e, "expired", st->expired);
	emit_u64(e, "tls_failures", st->tls_failures);
	emit_u64(e, "commits", qs->commits);
	emit_dbl(e, "commit_rate_per_s", (double)qs->commits / (up_s + 1e-9));
	emit_dbl(e, "ops_per_commit", qs->commits ?
	    (double)qs->ops / (double)qs->commits : 0);
	emit_dbl(e, "commit_ms_avg", qs->commits ?
	    (double)qs->commit_us_total / (double)qs->commits / 1000 : 0);
	emit_u64(e, "store_used_bytes", sn.store_used);
	emit_u64(e, "store_size_bytes", sn.store_size);
	emit_u64(e, "audit_bytes", qs->audit_bytes);
	emit_u64(e, "audit_budget_bytes", qs->audit_budget);
	emit_u64(e, "audit_records", qs->audit_records);
	emit_u64(e, "audit_pruned_for_size", qs->audit_pruned_size);
	emit_u64(e, "quota_refused", st->quota_refused);
	return CONTROL_OK;
}

static int
control_lines(struct server *srv, struct emit *e)
{
	int i, k;

	emit_open(e, "lines", 1);
	for (i = 0; i < server_config(srv)->nline; i++) {
		struct line_info li;

		line_info(server_line_at(srv, i), &li);
		emit_open(e, NULL, 0);
		emit_str(e, "line", li.cfg->code);
		emit_str(e, "cn", li.cfg->cn);
		emit_str(e, "member", li.cfg->member);
		emit_bool(e, "connected", li.connected);
		emit_str(e, "peer", li.peer);
		emit_u64(e, "queued", li.queued);
		emit_u64(e, "in_flight", (uint64_t)li.in_flight);
		emit_open(e, "service", 0);
		for (k = 1; k < MSG_KEY_MAX; k++)
			if (config_line_accepts(li.cfg, k) && k != MSG_KEY_SM &&
			    k != MSG_KEY_ER)
				emit_str(e, msg_key_name(k),
				    line_svc_name(li.svc[k]));
		emit_close(e);
		emit_close(e);
	}
	emit_close(e);
	return CONTROL_OK;
}

static int
control_queues(struct server *srv, struct emit *e)
{
	uint64_t	now = util_now_us();
	int		i;

	emit_open(e, "queues", 1);
	for (i = 0; i < server_config(srv)->nline; i++) {
		struct line_info li;

		line_info(server_line_at(srv, i), &li);
		emit_open(e, NULL, 0);
		emit_str(e, "destination", li.cfg->code);
		emit_u64(e, "depth", li.queued);
		emit_u64(e, "bytes", li.bytes);
		emit_dbl(e, "oldest_age_s", li.oldest_us ?
		    (double)(now - li.oldest_us) / 1e6 : 0);
		emit_u64(e, "in_flight", (uint64_t)li.in_flight);
		emit_close(e);
	}
	emit_close(e);
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
	struct emit	*e;
	uint64_t	 msgid;		/* 0: all */
	int		 n;
};

static void
control_emit_copy(struct emit *e, const struct queue_copy *c, const char *state,
    uint32_t attempts)
{
	char id[32];

	queue_copyid_fmt(id, sizeof id, c->msgid, c->copy);
	emit_open(e, NULL, 0);
	emit_str(e, "id", id);
	emit_str(e, "line", c->line);
	emit_str(e, "dest", c->dest);
	emit_str(e, "mke", msg_key_name(c->key));
	emit_str(e, "state", state);
	emit_time(e, "queued_at", c->enq_us);
	emit_u64(e, "attempts", attempts);
	emit_u64(e, "size", c->size);
	emit_close(e);
}

static void
control_dead_cb(const struct queue_copy *c, void *arg)
{
	struct control_dead_walk *w = arg;

	if (w->msgid != 0 && c->msgid != w->msgid)
		return;
	control_emit_copy(w->e, c, "dead", c->attempts);
	w->n++;
}

static void
control_show_cb(void *arg, const struct queue_copy *c, const char *state,
    uint32_t attempts)
{
	struct control_dead_walk *w = arg;

	if (c->msgid != w->msgid)
		return;
	control_emit_copy(w->e, c, state, attempts);
	w->n++;
}

static int
control_show(struct server *srv, struct emit *e, int argc, char **argv)
{
	struct queue_msgrec		 rec;
	struct control_dead_walk	 w;
	uint64_t			 msgid;
	int				 copy, rc, i;

	if (argc != 2 || control_parse_id(argv[1], &msgid, &copy) == -1) {
		emit_error(e, "usage: show MSGID");
		return CONTROL_EUSAGE;
	}
	if ((rc = queue_get(server_queue(srv), msgid, &rec, NULL)) !=
	    QUEUE_E_OK) {
		emit_error(e, "%s: %s", argv[1], queue_strerror(rc));
		return rc == QUEUE_E_NOTFOUND ? CONTROL_ENOTFOUND : CONTROL_EFAIL;
	}
	/* Metadata only: the body (and any photo in it) is never shown. */
	emit_str(e, "msgid", argv[1]);
	emit_str(e, "mke", msg_key_name(rec.key));
	emit_str(e, "ori", rec.ori);
	emit_str(e, "ctl", rec.ctl);
	emit_str(e, "from_line", rec.from_line);
	emit_time(e, "received", rec.recv_us);
	emit_u64(e, "input_sequence", rec.in_seq);
	emit_bool(e, "photo_requested", (rec.flags & QUEUE_MSG_IMQ) != 0);
	emit_bool(e, "carries_photo", (rec.flags & QUEUE_MSG_PHOTO) != 0);
	emit_open(e, "copies", 1);
	w.e = e;
	w.msgid = msgid;
	w.n = 0;
	for (i = 0; i < server_config(srv)->nline; i++)
		line_walk(server_line_at(srv, i), control_show_cb, &w);
	queue_walk_dead(server_queue(srv), control_dead_cb, &w);
	emit_close(e);
	return CONTROL_OK;
}

/* hold / release / remove / restore LINE [MKE...] */
static int
control_service(struct server *srv, struct emit *e, int argc, char **argv)
{
	const struct config_line	*cl;
	struct line			*l;
	uint32_t			 mask = 0;
	int				 st, k, i;

	if (argc < 2) {
		emit_error(e, "usage: %s LINE [MKE...]", argv[0]);
		return CONTROL_EUSAGE;
	}
	if ((l = server_line_by_code(srv, argv[1])) == NULL) {
		emit_error(e, "%s: no such line", argv[1]);
		return CONTROL_ENOTFOUND;
	}
	cl = line_config(l);
	for (i = 2; i < argc; i++) {
		if ((k = msg_key_lookup(argv[i])) == MSG_KEY_NONE ||
		    k == MSG_KEY_SM || k == MSG_KEY_ER) {
			emit_error(e, "%s: not a message key a line can "
			    "hold", argv[i]);
			return CONTROL_EUSAGE;
		}
		mask |= 1u << k;
	}
	if (mask == 0)
		for (k = 1; k < MSG_KEY_MAX; k++)
			if (k != MSG_KEY_SM && k != MSG_KEY_ER)
				mask |= 1u << k;
	if (strcmp(argv[0], "hold") == 0)
		st = CONFIG_SVC_HELD;
	else if (strcmp(argv[0], "remove") == 0)
		st = CONFIG_SVC_REMOVED;
	else
		st = CONFIG_SVC_IN;
	emit_str(e, "line", cl->code);
	emit_open(e, "service", 0);
	for (k = 1; k < MSG_KEY_MAX; k++)
		if ((mask & (1u << k)) && config_line_accepts(cl, k))
			emit_str(e, msg_key_name(k), line_svc_name(st));
	emit_close(e);
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
	struct queue_op	*op = xcalloc(1, sizeof *op);
	struct audit_rec *a;
	char		 id[32];

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

/* purge LINE (ALL | IDs on input): drop queued copies (not in flight). */
static int
control_purge(struct server *srv, struct emit *e, int argc, char **argv,
    const char *input)
{
	struct control_purge	 cp;
	struct line		*l;
	int			 n;

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "ALL") != 0)) {
		emit_error(e, "usage: purge LINE ALL | purge LINE < IDS");
		return CONTROL_EUSAGE;
	}
	cp.srv = srv;
	cp.all = argc == 3;
	cp.input = input;
	if (!cp.all && (input == NULL || *input == '\0')) {
		emit_error(e, "purge: give IDs on standard input, or ALL");
		return CONTROL_EUSAGE;
	}
	if ((l = server_line_by_code(srv, argv[1])) == NULL) {
		emit_error(e, "%s: no such line", argv[1]);
		return CONTROL_ENOTFOUND;
	}
	n = line_purge(l, control_purge_select_cb, control_purge_drop_cb, &cp);
	log_info("control: purge line=%s copies=%d", line_config(l)->code, n);
	emit_str(e, "line", line_config(l)->code);
	emit_u64(e, "purged", (uint64_t)n);
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

	if (op->result == QUEUE_E_OK &&
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

static int
control_deadletters(struct server *srv, struct emit *e, int argc, char **argv,
    const char *input)
{
	struct control_dead_walk	w;
	struct control_dead_sel		d;

	if (argc < 2 || strcmp(argv[1], "list") == 0) {
		w.e = e;
		w.msgid = 0;
		w.n = 0;
		emit_open(e, "deadletters", 1);
		queue_walk_dead(server_queue(srv), control_dead_cb, &w);
		emit_close(e);
		return CONTROL_OK;
	}
	if ((strcmp(argv[1], "requeue") != 0 && strcmp(argv[1], "purge") != 0) ||
	    argc > 3 || (argc == 3 && strcmp(argv[2], "ALL") != 0)) {
		emit_error(e, "usage: deadletters [list] | deadletters "
		    "requeue|purge ALL | ... < IDS");
		return CONTROL_EUSAGE;
	}
	memset(&d, 0, sizeof d);
	d.srv = srv;
	d.all = argc == 3;
	d.input = input;
	d.requeue = strcmp(argv[1], "requeue") == 0;
	if (!d.all && (input == NULL || *input == '\0')) {
		emit_error(e, "deadletters %s: give IDs on standard input, or "
		    "ALL", argv[1]);
		return CONTROL_EUSAGE;
	}
	queue_walk_dead(server_queue(srv), control_dead_sel_cb, &d);
	log_info("control: deadletters %s copies=%d", argv[1], d.n);
	emit_u64(e, d.requeue ? "requeued" : "purged", (uint64_t)d.n);
	if (d.unreadable > 0)
		emit_u64(e, "unreadable_not_requeued", (uint64_t)d.unreadable);
	return CONTROL_OK;
}

/* Time argument: seconds since the epoch, or -N[smhd] ago. */
static int
control_parse_time(const char *s, uint64_t *us)
{
	char		*end;
	long long	 v;
	uint64_t	 mult = 1;

	v = strtoll(s, &end, 10);
	if (end == s)
		return -1;
	switch (*end) {
	case 'd': mult = 86400; end++; break;
	case 'h': mult = 3600; end++; break;
	case 'm': mult = 60; end++; break;
	case 's': end++; break;
	}
	if (*end != '\0')
		return -1;
	if (v < 0)
		*us = util_now_us() - (uint64_t)(-v) * mult * 1000000;
	else
		*us = (uint64_t)v * mult * 1000000;
	return 0;
}

struct control_audit {
	struct emit	*e;
	const char	*want[3][2];	/* field, value */
	uint64_t	 until;
	int		 limit;
	int		 n;
};

static int
control_audit_has(const char *rec, size_t len, const char *field,
    const char *value)
{
	char	pat[160];

	snprintf(pat, sizeof pat, "\"%s\":\"%s\"", field, value);
	return memmem(rec, len, pat, strlen(pat)) != NULL;
}

static int
control_audit_cb(uint64_t t, const char *rec, size_t len, void *arg)
{
	struct control_audit	*a = arg;
	int			 i;

	if (a->until != 0 && t > a->until)
		return 1;
	for (i = 0; i < 3; i++)
		if (a->want[i][0] != NULL &&
		    !control_audit_has(rec, len, a->want[i][0], a->want[i][1]))
			return 0;
	emit_raw(a->e, rec, len);
	return ++a->n >= a->limit;
}

static int
control_audit(struct server *srv, struct emit *e, int argc, char **argv)
{
	struct control_audit	a;
	uint64_t		since = 0;
	int			i;

	memset(&a, 0, sizeof a);
	a.e = e;
	a.limit = 1000;
	for (i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (val == NULL)
			goto usage;
		if (strcmp(opt, "--ori") == 0) {
			a.want[0][0] = "ori";
			a.want[0][1] = val;
		} else if (strcmp(opt, "--mke") == 0) {
			a.want[1][0] = "mke";
			a.want[1][1] = val;
		} else if (strcmp(opt, "--decision") == 0) {
			a.want[2][0] = "decision";
			a.want[2][1] = val;
		} else if (strcmp(opt, "--since") == 0) {
			if (control_parse_time(val, &since) == -1)
				goto usage;
		} else if (strcmp(opt, "--until") == 0) {
			if (control_parse_time(val, &a.until) == -1)
				goto usage;
		} else if (strcmp(opt, "--limit") == 0) {
			if ((a.limit = atoi(val)) <= 0)
				goto usage;
		} else
			goto usage;
		i++;
	}
	emit_open(e, "audit", 1);
	queue_walk_audit(server_queue(srv), since, control_audit_cb, &a);
	emit_close(e);
	return CONTROL_OK;
usage:
	emit_error(e, "usage: audit [--ori ORI] [--mke MKE] [--decision D] "
	    "[--since T] [--until T] [--limit N]  (T: epoch seconds or -N[smhd])");
	return CONTROL_EUSAGE;
}

struct control_quar {
	struct emit	*e;
	int		 limit;
	int		 n;
};

static int
control_quar_cb(const struct queue_quar *q, void *arg)
{
	struct control_quar	*cq = arg;
	struct emit		*e = cq->e;
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
	emit_open(e, NULL, 0);
	emit_time(e, "time", q->t_us);
	emit_str(e, "db", q->db >= 0 ? queue_db_name(q->db) : "?");
	emit_str(e, "key", hex);
	emit_str(e, "msgid", q->msgid != 0 ? id : "");
	emit_str(e, "line", q->line);
	emit_str(e, "reason", q->reason);
	emit_str(e, "action", q->action);
	emit_u64(e, "size", q->vallen);
	emit_close(e);
	return ++cq->n >= cq->limit;
}

/*
 * The store's quarantine: every entry found corrupt, when, why and what
 * the switch did instead (queue.h struct queue_quar); read only.
 */
static int
control_quarantine(struct server *srv, struct emit *e, int argc, char **argv)
{
	struct control_quar	cq;
	uint64_t		since = 0;
	int			i;

	memset(&cq, 0, sizeof cq);
	cq.e = e;
	cq.limit = 1000;
	for (i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			goto usage;
		if (strcmp(argv[i], "--since") == 0) {
			if (control_parse_time(argv[i + 1], &since) == -1)
				goto usage;
		} else if (strcmp(argv[i], "--limit") == 0) {
			if ((cq.limit = atoi(argv[i + 1])) <= 0)
				goto usage;
		} else
			goto usage;
		i++;
	}
	emit_open(e, "quarantine", 1);
	i = queue_walk_quarantine(server_queue(srv), since, control_quar_cb, &cq);
	emit_close(e);
	if (i != QUEUE_E_OK) {
		emit_error(e, "quarantine: %s", queue_strerror(i));
		return CONTROL_EFAIL;
	}
	return CONTROL_OK;
usage:
	emit_error(e, "usage: quarantine [--since T] [--limit N]  "
	    "(T: epoch seconds or -N[smhd])");
	return CONTROL_EUSAGE;
}

static int
control_reload(struct server *srv, struct emit *e)
{
	char	*cause = NULL, *notes = NULL;

	if (server_reload(srv, &cause, &notes) == -1) {
		emit_str(e, "result", "kept the running configuration");
		emit_error(e, "%s", cause);
		free(cause);
		return CONTROL_EFAIL;
	}
	emit_str(e, "result", "reloaded");
	emit_str(e, "config", server_config(srv)->path);
	if (notes != NULL)
		emit_str(e, "notes", notes);
	free(notes);
	return CONTROL_OK;
}

static int
control_drain(struct server *srv, struct emit *e, int argc, char **argv)
{
	int grace = argc > 1 ? atoi(argv[1]) : 30;

	if (grace <= 0 || argc > 2) {
		emit_error(e, "usage: drain [GRACE_SECONDS]");
		return CONTROL_EUSAGE;
	}
	server_drain(srv, grace);
	emit_str(e, "result", "draining");
	emit_u64(e, "grace_s", (uint64_t)grace);
	return CONTROL_OK;
}

int
control_exec(struct server *srv, int argc, char **argv, const char *input,
    int json, struct ubuf *out)
{
	struct emit	e;
	int		rc;

	memset(&e, 0, sizeof e);
	e.b = out;
	e.json = json;
	emit_open(&e, NULL, 0);
	if (argc < 1) {
		emit_error(&e, "no command");
		rc = CONTROL_EUSAGE;
	} else if (strcmp(argv[0], "status") == 0)
		rc = control_status(srv, &e);
	else if (strcmp(argv[0], "lines") == 0)
		rc = control_lines(srv, &e);
	else if (strcmp(argv[0], "queues") == 0)
		rc = control_queues(srv, &e);
	else if (strcmp(argv[0], "show") == 0)
		rc = control_show(srv, &e, argc, argv);
	else if (strcmp(argv[0], "hold") == 0 || strcmp(argv[0], "release") == 0 ||
	    strcmp(argv[0], "remove") == 0 || strcmp(argv[0], "restore") == 0)
		rc = control_service(srv, &e, argc, argv);
	else if (strcmp(argv[0], "purge") == 0)
		rc = control_purge(srv, &e, argc, argv, input);
	else if (strcmp(argv[0], "deadletters") == 0)
		rc = control_deadletters(srv, &e, argc, argv, input);
	else if (strcmp(argv[0], "audit") == 0)
		rc = control_audit(srv, &e, argc, argv);
	else if (strcmp(argv[0], "quarantine") == 0)
		rc = control_quarantine(srv, &e, argc, argv);
	else if (strcmp(argv[0], "reload") == 0)
		rc = control_reload(srv, &e);
	else if (strcmp(argv[0], "drain") == 0)
		rc = control_drain(srv, &e, argc, argv);
	else {
		emit_error(&e, "%s: unknown command", argv[0]);
		rc = CONTROL_EUSAGE;
	}
	emit_bool(&e, "ok", rc == CONTROL_OK);
	emit_close(&e);
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
