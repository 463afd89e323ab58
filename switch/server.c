/*
 * server - see server.h.
 *
 * The acceptance path of one message, all in the loop thread:
 *
 *   MSG frame -> msg_parse (XSD + header rules) -> router_route
 *     -> one QUEUE_OP_PUT with a copy per stored destination
 *     -> (commit thread: group commit, fsync)
 *     -> server_put_done_cb: ACK to the sender, copies join their lines,
 *        SMs (.01 .02 .04) for the sender are queued in turn.
 *
 * Any error before the commit is a NAK carrying an ER; nothing is stored.
 */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "frame.h"
#include "line.h"
#include "log.h"
#include "router.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "util.h"

/* Numbers reserved per committed block of a counter. */
#define SERVER_CTR_BLOCK	4096

static void	server_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	server_accept_error_cb(struct evconnlistener *, void *);
static void	server_tick_cb(evutil_socket_t, short, void *);
static void	server_signal_cb(evutil_socket_t, short, void *);
static void	server_put_done_cb(struct queue_op *, void *);
static void	server_sm_done_cb(struct queue_op *, void *);
static void	server_meta_done_cb(struct queue_op *, void *);
static void	server_expire_done_cb(struct queue_op *, void *);

/* A message between its arrival and its commit. */
struct server_inbound {
	struct server		*srv;
	struct session		*sess;
	uint64_t		 tag;
	struct queue_op		 op;		/* the PUT, if any copy is stored */
	int			 stored;	/* copies in op */
	int			 waiting;	/* ops to complete before ACK */
	int			 failed;	/* first failing queue result */
	/* SMs owed to the sender, queued after the message committed. */
	int			 nsm;
	struct {
		char	dest[MSG_ORI_LEN + 1];
		int	status;
	}			 sm[ROUTER_MAXCOPY];
	enum msg_key		 key;
	char			 ori[MSG_ORI_LEN + 1];
	char			 ctl[MSG_CTL_LEN + 1];
	const struct config_line *from;
	char			 msgid[24];
};

/* One SM on its way into the store. */
struct server_sm {
	struct queue_op		 op;
	struct queue_copy	 copy;
	char			*body;
	struct server_inbound	*owner;		/* ACK waits on it, or NULL */
	struct server		*srv;
};

struct line *
server_line(struct server *srv, const struct config_line *cl)
{
	return &srv->lines[cl->index];
}

static struct server_ctr *
server_ctr_new(struct server *srv, const char *prefix, const char *code)
{
	struct server_ctr *c = xcalloc(1, sizeof *c);

	snprintf(c->key, sizeof c->key, "%s.%s", prefix, code);
	c->next = c->hi = queue_meta_get(srv->q, c->key);
	return c;
}

uint64_t
server_ctr_take(struct server *srv, struct server_ctr *c)
{
	struct queue_op *op;

	if (c->next == 0)
		c->next = 1;
	if (c->next >= c->hi) {
		/* Commit the new ceiling before using numbers below it: this
		 * op is submitted ahead of any op carrying such a number, so
		 * it lands in the same transaction or an earlier one. */
		c->hi = c->next + SERVER_CTR_BLOCK;
		op = xcalloc(1, sizeof *op);
		op->type = QUEUE_OP_META;
		op->meta_key = c->key;
		op->meta_value = c->hi;
		op->done = server_meta_done_cb;
		queue_submit(srv->q, op);
	}
	return c->next++;
}

static void
server_meta_done_cb(struct queue_op *op, void *arg)
{
	(void)arg;
	if (op->result != QUEUE_E_OK)
		log_warnx("server: counter %s: commit failed: %s", op->meta_key,
		    queue_strerror(op->result));
	free(op);
}

static void
server_load_cb(const struct queue_copy *c, void *arg)
{
	struct server			*srv = arg;
	const struct config_line	*cl;

	if ((cl = config_line_by_code(srv->cfg, c->line)) == NULL) {
		log_warnx("server: stored copy %llx.%u for unknown line %s "
		    "kept in the store", (unsigned long long)c->msgid, c->copy,
		    c->line);
		return;
	}
	line_add(server_line(srv, cl), c);
}

static void
server_listen(struct server *srv)
{
	struct evutil_addrinfo	 hints, *res, *ai;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct ubuf		 ports;
	char			 port[16];
	int			 i, e;

	ubuf_init(&ports);
	for (i = 0; i < srv->cfg->nlisten; i++) {
		struct config_listen	*ls = &srv->cfg->listen[i];
		struct evconnlistener	*lev = NULL;

		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICHOST;
		if ((e = evutil_getaddrinfo(ls->address, ls->port, &hints,
		    &res)) != 0)
			fatalx("server: listen %s port %s: %s", ls->address,
			    ls->port, evutil_gai_strerror(e));
		for (ai = res; ai != NULL && lev == NULL; ai = ai->ai_next)
			lev = evconnlistener_new_bind(srv->base,
			    server_accept_cb, srv, LEV_OPT_CLOSE_ON_FREE |
			    LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 512,
			    ai->ai_addr, (int)ai->ai_addrlen);
		evutil_freeaddrinfo(res);
		if (lev == NULL)
			fatal("server: cannot listen on %s port %s",
			    ls->address, ls->port);
		evconnlistener_set_error_cb(lev, server_accept_error_cb);
		srv->listeners[srv->nlisteners++] = lev;
		sl = sizeof ss;
		if (getsockname(evconnlistener_get_fd(lev),
		    (struct sockaddr *)&ss, &sl) == -1)
			fatal("getsockname");
		if (ss.ss_family == AF_INET6)
			snprintf(port, sizeof port, "%u", ntohs(((struct
			    sockaddr_in6 *)&ss)->sin6_port));
		else
			snprintf(port, sizeof port, "%u", ntohs(((struct
			    sockaddr_in *)&ss)->sin_port));
		ubuf_printf(&ports, "%s\n", port);
		log_info("server: listening address=%s port=%s", ls->address,
		    port);
	}
	/* Written last, once everything is up: tests wait for this file. */
	if (srv->cfg->portfile != NULL) {
		char *dir = xstrdup(srv->cfg->portfile), *slash;

		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0755) == -1 && errno != EEXIST)
				fatal("server: %s", dir);
		}
		free(dir);
		if (util_write_file(srv->cfg->portfile, ports.data,
		    ports.len) == -1)
			fatal("server: %s", srv->cfg->portfile);
	}
	ubuf_free(&ports);
}

struct server *
server_new(struct event_base *base, struct config *cfg)
{
	struct server	*srv;
	char		*cause = NULL;
	int		 i;
	static const int sigs[] = { SIGTERM, SIGINT };

	srv = xcalloc(1, sizeof *srv);
	srv->base = base;
	srv->cfg = cfg;
	srv->started_us = util_now_us();
	TAILQ_INIT(&srv->sessions);

	if ((srv->ssl = tls_server_ctx(cfg->ca, cfg->cert, cfg->key,
	    &cause)) == NULL)
		fatalx("server: %s", cause);
	if ((srv->schema = msg_schema_load(cfg->schemadir, &cause)) == NULL)
		fatalx("server: %s", cause);
	if ((srv->q = queue_open(&queue_backend_lmdb, cfg->datadir,
	    cfg->map_size, base, &cause)) == NULL)
		fatalx("server: queue %s: %s", cfg->datadir, cause);

	snprintf(srv->msgid.key, sizeof srv->msgid.key, "msgid");
	srv->msgid.next = srv->msgid.hi = queue_meta_get(srv->q, "msgid");
	srv->lines = xcalloc((size_t)cfg->nline, sizeof *srv->lines);
	for (i = 0; i < cfg->nline; i++) {
		struct line *l = &srv->lines[i];

		line_init(l, srv, &cfg->lines[i]);
		l->in_seq = server_ctr_new(srv, "in", cfg->lines[i].code);
		l->out_seq = server_ctr_new(srv, "out", cfg->lines[i].code);
	}
	if (queue_load(srv->q, server_load_cb, srv) != QUEUE_E_OK)
		log_warnx("server: queue load reported errors (see above)");
	for (i = 0; i < cfg->nline; i++)
		if (srv->lines[i].npending > 0)
			log_info("server: recovered line=%s queued=%llu",
			    cfg->lines[i].code,
			    (unsigned long long)srv->lines[i].npending);

	for (i = 0; i < 2; i++) {
		srv->ev_sig[i] = evsignal_new(base, sigs[i], server_signal_cb,
		    srv);
		evsignal_add(srv->ev_sig[i], NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	srv->ev_tick = event_new(base, -1, EV_PERSIST, server_tick_cb, srv);
	{
		struct timeval tv = { 1, 0 };
		event_add(srv->ev_tick, &tv);
	}
	server_listen(srv);
	return srv;
}

void
server_free(struct server *srv)
{
	struct session	*s;
	int		 i;

	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_free(srv->listeners[i]);
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL)
		session_close(s, "switch stopping");
	queue_close(srv->q);	/* commits what is pending, runs completions */
	for (i = 0; i < srv->cfg->nline; i++)
		line_free(&srv->lines[i]);
	free(srv->lines);
	for (i = 0; i < 2; i++)
		event_free(srv->ev_sig[i]);
	event_free(srv->ev_tick);
	msg_schema_free(srv->schema);
	SSL_CTX_free(srv->ssl);
	free(srv);
}

static void
server_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server	*srv = arg;
	char		 host[64], peer[80];

	(void)lev;
	(void)salen;
	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    host, sizeof host);
		snprintf(peer, sizeof peer, "[%s]:%u", host,
		    ntohs(((struct sockaddr_in6 *)sa)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, host,
		    sizeof host);
		snprintf(peer, sizeof peer, "%s:%u", host,
		    ntohs(((struct sockaddr_in *)sa)->sin_port));
	}
	session_new(srv, fd, peer);
}

static void
server_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	(void)arg;
	/* EMFILE and friends: keep the listener, the next tick retries. */
	log_warn("server: accept");
}

void
server_nak(struct server *srv, struct session *s, uint64_t tag,
    const char *ori, const char *ctl, int code, const char *detail,
    const char *input, size_t inlen)
{
	struct ubuf b;

	if (ori == NULL || !msg_ori_is_valid(ori))
		ori = (s->line != NULL && s->line->cfg->nori > 0) ?
		    s->line->cfg->ori[0] : MSG_SWITCH_ORI;
	ubuf_init(&b);
	msg_build_er(&b, ori, ctl ? ctl : "", code, detail, input, inlen);
	session_send(s, FRAME_NAK, 0, tag, b.data, b.len);
	ubuf_free(&b);
	srv->stats.nacked++;
	log_info("server: %llu: nak line=%s code=%d reason=\"%s\"%s%s",
	    (unsigned long long)s->id, s->line ? s->line->cfg->code : "-",
	    code, msg_er_reason(code), detail ? " detail=" : "",
	    detail ? detail : "");
}

static void
server_audit(struct ubuf *b, const char *event, const struct server_inbound *in,
    const struct msg *m, size_t size)
{
	int i;

	ubuf_printf(b, "{\"t\":%llu,\"event\":\"%s\",\"msgid\":\"%s\","
	    "\"line\":", (unsigned long long)util_now_us(), event, in->msgid);
	ubuf_add_json(b, in->from->code);
	ubuf_printf(b, ",\"ori\":\"%s\",\"mke\":\"%s\",\"dest\":[", m->ori,
	    msg_key_name(m->key));
	for (i = 0; i < m->ndest; i++)
		ubuf_printf(b, "%s\"%s\"", i ? "," : "", m->dest[i]);
	ubuf_printf(b, "],\"size\":%zu}", size);
}

/* Build and submit one SM to the sender of a message. */
static void
server_submit_sm(struct server *srv, const struct config_line *to,
    const char *ori, const char *ctl, int status, const char *about_dest,
    enum msg_key about_key, const char *msgid, struct server_inbound *owner)
{
	struct server_sm	*sm = xcalloc(1, sizeof *sm);
	struct ubuf		 b;
	size_t			 len;

	ubuf_init(&b);
	msg_build_sm(&b, ori, ctl, status, about_dest, about_key, msgid);
	sm->body = ubuf_take(&b, &len);
	sm->srv = srv;
	sm->owner = owner;
	sm->op.type = QUEUE_OP_PUT;
	sm->op.msg.msgid = server_ctr_take(srv, &srv->msgid);
	sm->op.msg.recv_us = util_now_us();
	sm->op.msg.hdr_end = (uint32_t)msg_find_hdr_end(sm->body, len);
	sm->op.msg.key = MSG_KEY_SM;
	util_strlcpy(sm->op.msg.from_line, "NL", sizeof sm->op.msg.from_line);
	util_strlcpy(sm->op.msg.ori, MSG_SWITCH_ORI, sizeof sm->op.msg.ori);
	util_strlcpy(sm->op.msg.ctl, ctl, sizeof sm->op.msg.ctl);
	sm->op.body = sm->body;
	sm->op.bodylen = len;
	util_strlcpy(sm->copy.line, to->code, sizeof sm->copy.line);
	sm->copy.prio = QUEUE_PRIO_HIGH;
	sm->copy.msgid = sm->op.msg.msgid;
	sm->copy.copy = 0;
	util_strlcpy(sm->copy.dest, ori, sizeof sm->copy.dest);
	sm->copy.key = MSG_KEY_SM;
	sm->copy.enq_us = sm->op.msg.recv_us;
	sm->copy.size = (uint32_t)len;
	sm->op.copies = &sm->copy;
	sm->op.ncopies = 1;
	sm->op.done = server_sm_done_cb;
	sm->op.arg = sm;
	if (owner != NULL)
		owner->waiting++;
	queue_submit(srv->q, &sm->op);
}

static void
server_inbound_finish(struct server_inbound *in)
{
	struct server	*srv = in->srv;
	struct session	*s = in->sess;
	int		 code;

	if (in->failed == QUEUE_E_OK) {
		session_send(s, FRAME_ACK, 0, in->tag, in->msgid,
		    strlen(in->msgid));
		srv->stats.acked++;
	} else {
		code = in->failed == QUEUE_E_FULL ? MSG_ER_QUEUE_FULL :
		    MSG_ER_UNAVAILABLE;
		server_nak(srv, s, in->tag, in->ori, in->ctl, code,
		    queue_strerror(in->failed), NULL, 0);
	}
	session_committed(s);
	session_unref(s);
	free(in->op.copies);
	free((char *)in->op.body);
	free((char *)in->op.audit);
	free(in);
}

static void
server_sm_done_cb(struct queue_op *op, void *arg)
{
	struct server_sm		*sm = arg;
	struct server_inbound		*in = sm->owner;
	const struct config_line	*cl;

	if (op->result == QUEUE_E_OK) {
		if ((cl = config_line_by_code(sm->srv->cfg, sm->copy.line)) != NULL)
			line_add(server_line(sm->srv, cl), &sm->copy);
	} else
		log_warnx("server: SM for %s not stored: %s", sm->copy.dest,
		    queue_strerror(op->result));
	if (in != NULL) {
		if (op->result != QUEUE_E_OK && in->failed == QUEUE_E_OK)
			in->failed = op->result;
		if (--in->waiting == 0)
			server_inbound_finish(in);
	}
	free(sm->body);
	free(sm);
}

static void
server_put_done_cb(struct queue_op *op, void *arg)
{
	struct server_inbound	*in = arg;
	struct server		*srv = in->srv;
	const struct config_line *cl;
	int			 i;

	if (op->result != QUEUE_E_OK) {
		in->failed = op->result;
		in->nsm = 0;		/* nothing stored: no SM either */
	} else {
		for (i = 0; i < op->ncopies; i++)
			if ((cl = config_line_by_code(srv->cfg,
			    op->copies[i].line)) != NULL)
				line_add(server_line(srv, cl), &op->copies[i]);
	}
	/* The message is durable: SMs follow; the ACK does not wait. */
	for (i = 0; i < in->nsm; i++)
		server_submit_sm(srv, in->from, in->ori, in->ctl,
		    in->sm[i].status, in->sm[i].dest, in->key, in->msgid, NULL);
	if (--in->waiting == 0)
		server_inbound_finish(in);
}

void
server_inbound(struct server *srv, struct session *s, uint64_t tag,
    char *payload, size_t len)
{
	struct server_inbound	*in;
	struct msg		 m;
	struct msg_diags	 diags;
	struct router_result	*rr = NULL;
	struct ubuf		 audit;
	uint64_t		 now = util_now_us();
	int			 code, i;

	srv->stats.received++;
	if (srv->draining) {
		server_nak(srv, s, tag, NULL, NULL, MSG_ER_UNAVAILABLE,
		    "switch is draining", payload, len);
		goto drop;
	}
	memset(&m, 0, sizeof m);
	diags.n = 0;
	if ((code = msg_parse(srv->schema, payload, len, srv->cfg->max_frame,
	    &m, &diags)) != 0) {
		server_nak(srv, s, tag, m.ori, m.ctl, code,
		    diags.n > 0 ? diags.d[0].text : NULL, payload, len);
		goto drop;
	}
	rr = xmalloc(sizeof *rr);
	if ((code = router_route(srv->cfg, &m, s->line->cfg, line_svc_cb, srv,
	    rr)) != 0) {
		server_nak(srv, s, tag, m.ori, m.ctl, code, rr->detail,
		    payload, len);
		goto drop;
	}

	in = xcalloc(1, sizeof *in);
	in->srv = srv;
	in->sess = s;
	in->tag = tag;
	in->key = m.key;
	in->from = s->line->cfg;
	util_strlcpy(in->ori, m.ori, sizeof in->ori);
	util_strlcpy(in->ctl, m.ctl, sizeof in->ctl);
	session_ref(s);

	in->op.type = QUEUE_OP_PUT;
	in->op.msg.msgid = server_ctr_take(srv, &srv->msgid);
	queue_msgid_fmt(in->msgid, sizeof in->msgid, in->op.msg.msgid);
	in->op.msg.recv_us = now;
	in->op.msg.in_seq = server_ctr_take(srv, s->line->in_seq);
	in->op.msg.hdr_end = (uint32_t)m.hdr_end;
	in->op.msg.key = (uint8_t)m.key;
	in->op.msg.flags = (m.imq ? QUEUE_MSG_IMQ : 0) |
	    (m.has_photo ? QUEUE_MSG_PHOTO : 0);
	util_strlcpy(in->op.msg.from_line, s->line->cfg->code,
	    sizeof in->op.msg.from_line);
	util_strlcpy(in->op.msg.ori, m.ori, sizeof in->op.msg.ori);
	util_strlcpy(in->op.msg.ctl, m.ctl, sizeof in->op.msg.ctl);
	in->op.copies = xcalloc((size_t)rr->ncopy, sizeof *in->op.copies);
	for (i = 0; i < rr->ncopy; i++) {
		struct router_copy	*rc = &rr->copy[i];
		struct queue_copy	*qc;

		if (rc->status != 0) {
			util_strlcpy(in->sm[in->nsm].dest, rc->dest,
			    sizeof in->sm[0].dest);
			in->sm[in->nsm++].status = rc->status;
		}
		if (rc->status != 0 && rc->status != MSG_SM_HELD)
			continue;	/* .01 / .04: not stored */
		qc = &in->op.copies[in->stored++];
		util_strlcpy(qc->line, rc->line->code, sizeof qc->line);
		qc->prio = QUEUE_PRIO_NORMAL;
		qc->msgid = in->op.msg.msgid;
		qc->copy = (uint16_t)i;
		util_strlcpy(qc->dest, rc->dest, sizeof qc->dest);
		qc->key = (uint8_t)m.key;
		qc->enq_us = now;
		qc->size = (uint32_t)len;
	}
	in->op.ncopies = in->stored;
	log_trace(TRACE_ROUTER, "server: %s: accepted line=%s mke=%s copies=%d "
	    "sm=%d size=%zu", in->msgid, in->from->code, msg_key_name(m.key),
	    in->stored, in->nsm, len);
	free(rr);

	if (in->stored == 0) {
		/* Nothing to store (.01/.04 everywhere): the SMs are what
		 * must be durable before the ACK. */
		free(in->op.copies);
		in->op.copies = NULL;
		free(payload);
		for (i = 0; i < in->nsm; i++)
			server_submit_sm(srv, in->from, in->ori, in->ctl,
			    in->sm[i].status, in->sm[i].dest, in->key,
			    in->msgid, in);
		in->nsm = 0;
		return;
	}
	ubuf_init(&audit);
	server_audit(&audit, "accepted", in, &m, len);
	in->op.audit = ubuf_take(&audit, NULL);
	in->op.body = payload;
	in->op.bodylen = len;
	in->op.done = server_put_done_cb;
	in->op.arg = in;
	in->waiting = 1;
	queue_submit(srv->q, &in->op);
	return;
drop:
	free(rr);
	free(payload);
	session_committed(s);
}

void
server_expire(struct server *srv, struct line *l, const struct queue_copy *c)
{
	struct queue_op			*op = xcalloc(1, sizeof *op);
	struct queue_msgrec		 rec;
	struct ubuf			 body, audit;
	const struct config_line	*to;
	char				 id[32];

	queue_copyid_fmt(id, sizeof id, c->msgid, c->copy);
	op->type = QUEUE_OP_EXPIRE;
	op->copies = xmalloc(sizeof *op->copies);
	op->copies[0] = *c;
	op->ncopies = 1;
	ubuf_init(&audit);
	ubuf_printf(&audit, "{\"t\":%llu,\"event\":\"expired\",\"msgid\":\"%s\","
	    "\"line\":\"%s\",\"dest\":\"%s\"}", (unsigned long long)util_now_us(),
	    id, l->cfg->code, c->dest);
	op->audit = ubuf_take(&audit, NULL);
	op->done = server_expire_done_cb;
	queue_submit(srv->q, op);
	srv->stats.expired++;
	log_info("server: %s: expired line=%s dest=%s -> dead letters", id,
	    l->cfg->code, c->dest);

	if (c->key == MSG_KEY_SM || c->key == MSG_KEY_ER)
		return;
	ubuf_init(&body);
	if (queue_get(srv->q, c->msgid, &rec, &body) == QUEUE_E_OK &&
	    (to = config_line_by_ori(srv->cfg, rec.ori)) != NULL) {
		queue_msgid_fmt(id, sizeof id, c->msgid);
		server_submit_sm(srv, to, rec.ori, rec.ctl, MSG_SM_EXPIRED,
		    c->dest, (enum msg_key)c->key, id, NULL);
	}
	ubuf_free(&body);
}

static void
server_expire_done_cb(struct queue_op *op, void *arg)
{
	(void)arg;
	if (op->result != QUEUE_E_OK)
		log_warnx("server: expiry of %llx.%u not committed: %s",
		    (unsigned long long)op->copies[0].msgid, op->copies[0].copy,
		    queue_strerror(op->result));
	free(op->copies);
	free((char *)op->audit);
	free(op);
}

void
server_drain(struct server *srv, int grace)
{
	int i;

	if (srv->draining)
		return;
	log_info("server: draining grace=%ds", grace);
	srv->draining = 1;
	srv->drain_deadline_us = util_mono_us() + (uint64_t)grace * 1000000;
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;

	(void)what;
	log_info("server: signal %d", (int)sig);
	if (srv->draining)
		event_base_loopexit(srv->base, NULL);	/* second signal */
	else
		server_drain(srv, 5);
}

static void
server_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	struct session	*s, *next;
	uint64_t	 now = util_mono_us(), now_us = util_now_us();
	int		 i, busy = 0;

	(void)fd;
	(void)what;
	for (s = TAILQ_FIRST(&srv->sessions); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		session_tick(s, now);
	}
	for (i = 0; i < srv->cfg->nline; i++) {
		struct line *l = &srv->lines[i];

		line_tick(l, now, now_us);
		/* Draining waits for deliveries in flight and for what a
		 * connected line can still take; the rest stays queued. */
		busy += l->ninflight;
		if (l->sess != NULL)
			busy += line_has_deliverable(l);
	}
	if (srv->draining && ((busy == 0 && queue_pending(srv->q) == 0) ||
	    now >= srv->drain_deadline_us)) {
		log_info("server: drained in-flight=%d", busy);
		event_base_loopexit(srv->base, NULL);
	}
}
