/*
 * line - see line.h.
 */
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "line.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "util.h"

/* Keys delivered ahead of traffic. */
static const int line_prio_keys[] = { MSG_KEY_SM, MSG_KEY_ER };

/* Stop filling a session's output past this many bytes. */
#define LINE_MAX_OUTBUF	(8u << 20)

void
line_init(struct line *l, struct server *srv, const struct config_line *cl)
{
	int k;

	memset(l, 0, sizeof *l);
	l->cfg = cl;
	l->srv = srv;
	for (k = 0; k < MSG_KEY_MAX; k++) {
		TAILQ_INIT(&l->pending[k]);
		l->svc[k] = cl->service[k];
	}
	TAILQ_INIT(&l->inflight);
}

void
line_free(struct line *l)
{
	struct line_pend	*p;
	int			 k;

	for (k = 0; k < MSG_KEY_MAX; k++)
		while ((p = TAILQ_FIRST(&l->pending[k])) != NULL) {
			TAILQ_REMOVE(&l->pending[k], p, entry);
			free(p);
		}
	while ((p = TAILQ_FIRST(&l->inflight)) != NULL) {
		TAILQ_REMOVE(&l->inflight, p, entry);
		free(p);
	}
	free(l->in_seq);
	free(l->out_seq);
}

int
line_svc_cb(const struct config_line *cl, int key, void *arg)
{
	struct server	*srv = arg;
	struct line	*l = server_line(srv, cl);

	if (l->svc[key] != CONFIG_SVC_IN)
		return l->svc[key];
	if (l->sess == NULL)
		return CONFIG_SVC_HELD;	/* down: stored, forwarded later */
	return CONFIG_SVC_IN;
}

/* Insert in msgid/copy order; new copies almost always go last, returned
 * ones first, so search from the nearer end. */
static void
line_insert(struct line_plist *list, struct line_pend *p)
{
	struct line_pend *q;

	q = TAILQ_LAST(list, line_plist);
	if (q == NULL || q->c.msgid < p->c.msgid ||
	    (q->c.msgid == p->c.msgid && q->c.copy < p->c.copy)) {
		TAILQ_INSERT_TAIL(list, p, entry);
		return;
	}
	TAILQ_FOREACH(q, list, entry)
		if (q->c.msgid > p->c.msgid ||
		    (q->c.msgid == p->c.msgid && q->c.copy > p->c.copy)) {
			TAILQ_INSERT_BEFORE(q, p, entry);
			return;
		}
	TAILQ_INSERT_TAIL(list, p, entry);
}

void
line_add(struct line *l, const struct queue_copy *c)
{
	struct line_pend *p = xcalloc(1, sizeof *p);

	p->c = *c;
	p->attempts = c->attempts;
	line_insert(&l->pending[c->key < MSG_KEY_MAX ? c->key : 0], p);
	l->npending++;
	line_pump(l);
}

void
line_attach(struct line *l, struct session *s)
{
	if (l->sess != NULL && l->sess != s)
		session_close(l->sess, "replaced by a new connection");
	l->sess = s;
	line_pump(l);
}

/* Put an in-flight copy back in front of its list with backoff. */
static void
line_requeue(struct line *l, struct line_pend *p, uint64_t now)
{
	const struct config	*cfg = l->srv->cfg;
	uint64_t		 back;
	uint32_t		 n = p->attempts > 0 ? p->attempts - 1 : 0;

	TAILQ_REMOVE(&l->inflight, p, entry);
	l->ninflight--;
	p->inflight = 0;
	back = (uint64_t)cfg->retry_min * 1000000;
	while (n-- > 0 && back < (uint64_t)cfg->retry_max * 1000000)
		back *= 2;
	if (back > (uint64_t)cfg->retry_max * 1000000)
		back = (uint64_t)cfg->retry_max * 1000000;
	p->not_before = now + back;
	line_insert(&l->pending[p->c.key], p);
	l->npending++;
	l->srv->stats.redelivered++;
}

void
line_detach(struct line *l, struct session *s)
{
	struct line_pend	*p;
	uint64_t		 now = util_mono_us();

	if (l->sess != s)
		return;
	l->sess = NULL;
	while ((p = TAILQ_FIRST(&l->inflight)) != NULL) {
		line_requeue(l, p, now);
		/* Reconnect is the retry trigger here, not the timer. */
		p->not_before = 0;
	}
}

/* Next deliverable copy: SM/ER first, then the oldest message among the
 * keys that are in service. */
static struct line_pend *
line_next(struct line *l, uint64_t now)
{
	struct line_pend	*p, *best = NULL;
	size_t			 i;
	int			 k;

	for (i = 0; i < sizeof line_prio_keys / sizeof line_prio_keys[0]; i++) {
		p = TAILQ_FIRST(&l->pending[line_prio_keys[i]]);
		if (p != NULL && p->not_before <= now)
			return p;
	}
	for (k = 1; k < MSG_KEY_MAX; k++) {
		if (k == MSG_KEY_SM || k == MSG_KEY_ER ||
		    l->svc[k] != CONFIG_SVC_IN)
			continue;
		p = TAILQ_FIRST(&l->pending[k]);
		if (p == NULL || p->not_before > now)
			continue;
		if (best == NULL || p->c.msgid < best->c.msgid)
			best = p;
	}
	return best;
}

/* Send one copy. @return 0, or -1 if it cannot be read (it is dropped
 * from memory; the store keeps or has quarantined it). */
static int
line_deliver(struct line *l, struct line_pend *p, uint64_t now)
{
	struct server		*srv = l->srv;
	struct queue_msgrec	 rec;
	struct ubuf		 body, out;
	struct msg_stamp	 st;
	char			 id[32];
	int			 rc;

	ubuf_init(&body);
	ubuf_init(&out);
	if ((rc = queue_get(srv->q, p->c.msgid, &rec, &body)) != QUEUE_E_OK) {
		/* Unreadable (quarantined) or missing: the copy goes to the
		 * dead-letter area where an operator can see it, instead of
		 * coming back at every start. */
		queue_copyid_fmt(id, sizeof id, p->c.msgid, p->c.copy);
		log_warnx("line: %s: %s: cannot read message: %s -> dead letters",
		    l->cfg->code, id, queue_strerror(rc));
		server_expire(srv, l, &p->c);
		ubuf_free(&body);
		return -1;
	}
	queue_copyid_fmt(id, sizeof id, p->c.msgid, p->c.copy);
	memset(&st, 0, sizeof st);
	st.msgid = id;
	st.recv_us = rec.recv_us;
	st.in_seq = rec.in_seq;
	st.send_us = util_now_us();
	st.out_seq = server_ctr_take(srv, l->out_seq);
	st.recv_ori = p->c.dest;
	msg_stamp(&out, body.data, body.len, rec.hdr_end, &st);
	session_send(l->sess, FRAME_DLV, p->c.copy, p->c.msgid, out.data,
	    out.len);
	p->attempts++;
	p->inflight = 1;
	p->deadline = now + (uint64_t)srv->cfg->ack_timeout * 1000000;
	TAILQ_INSERT_TAIL(&l->inflight, p, entry);
	l->ninflight++;
	log_trace(TRACE_QUEUE, "line: %s: deliver %s attempt=%u size=%zu",
	    l->cfg->code, id, p->attempts, out.len);
	ubuf_free(&body);
	ubuf_free(&out);
	return 0;
}

void
line_pump(struct line *l)
{
	struct line_pend	*p;
	uint64_t		 now;

	if (l->sess == NULL || !session_is_active(l->sess))
		return;
	now = util_mono_us();
	while (l->ninflight < l->srv->cfg->window &&
	    session_outlen(l->sess) < LINE_MAX_OUTBUF &&
	    (p = line_next(l, now)) != NULL) {
		TAILQ_REMOVE(&l->pending[p->c.key], p, entry);
		l->npending--;
		if (line_deliver(l, p, now) == -1)
			free(p);
		if (l->sess == NULL)
			break;
	}
}

static void
line_delete_done_cb(struct queue_op *op, void *arg)
{
	char id[32];

	(void)arg;
	if (op->result != QUEUE_E_OK) {
		queue_copyid_fmt(id, sizeof id, op->copies[0].msgid,
		    op->copies[0].copy);
		log_warnx("line: %s: delete of delivered %s failed: %s "
		    "(it will be redelivered after a restart)",
		    op->copies[0].line, id, queue_strerror(op->result));
	}
	free(op->copies);
	free(op);
}

void
line_dack(struct line *l, uint64_t msgid, uint16_t copy)
{
	struct line_pend	*p;
	struct queue_op		*op;

	TAILQ_FOREACH(p, &l->inflight, entry)
		if (p->c.msgid == msgid && p->c.copy == copy)
			break;
	if (p == NULL) {
		/* Late ack of a copy already redelivered or deleted. */
		log_debug("line: %s: ack for unknown delivery %llx.%u",
		    l->cfg->code, (unsigned long long)msgid, copy);
		return;
	}
	TAILQ_REMOVE(&l->inflight, p, entry);
	l->ninflight--;
	l->srv->stats.delivered++;
	if (p->c.key < MSG_KEY_MAX)
		l->srv->stats.delivered_key[p->c.key]++;
	metrics_hist_add(&l->srv->stats.e2e_latency,
	    (double)(util_now_us() - p->c.enq_us) / 1e6);

	op = xcalloc(1, sizeof *op);
	op->type = QUEUE_OP_DELETE;
	op->copies = xmalloc(sizeof *op->copies);
	op->copies[0] = p->c;
	op->ncopies = 1;
	op->done = line_delete_done_cb;
	queue_submit(l->srv->q, op);
	free(p);
	line_pump(l);
}

void
line_depth(struct line *l, uint64_t *n, uint64_t *bytes, uint64_t *oldest)
{
	struct line_pend	*p;
	int			 k;

	*n = *bytes = *oldest = 0;
	for (k = 0; k < MSG_KEY_MAX; k++)
		TAILQ_FOREACH(p, &l->pending[k], entry) {
			(*n)++;
			*bytes += p->c.size;
			if (*oldest == 0 || p->c.enq_us < *oldest)
				*oldest = p->c.enq_us;
		}
	TAILQ_FOREACH(p, &l->inflight, entry) {
		(*n)++;
		*bytes += p->c.size;
		if (*oldest == 0 || p->c.enq_us < *oldest)
			*oldest = p->c.enq_us;
	}
}

int
line_has_deliverable(struct line *l)
{
	int k;

	for (k = 1; k < MSG_KEY_MAX; k++)
		if (l->svc[k] == CONFIG_SVC_IN && !TAILQ_EMPTY(&l->pending[k]))
			return 1;
	return 0;
}

void
line_tick(struct line *l, uint64_t now, uint64_t now_us)
{
	struct line_pend	*p, *next;
	int			 k;
	uint64_t		 ttl = (uint64_t)l->srv->cfg->held_ttl * 1000000;

	for (p = TAILQ_FIRST(&l->inflight); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->deadline <= now)
			line_requeue(l, p, now);
	}
	for (k = 1; k < MSG_KEY_MAX; k++) {
		while ((p = TAILQ_FIRST(&l->pending[k])) != NULL &&
		    p->c.enq_us + ttl <= now_us) {
			TAILQ_REMOVE(&l->pending[k], p, entry);
			l->npending--;
			server_expire(l->srv, l, &p->c);
			free(p);
		}
	}
	line_pump(l);
}
