/*
 * server - see server.h.
 *
 * The acceptance path of one message, all in the loop thread:
 *
 *   MSG frame -> msgparse (XSD + header rules) -> router_route
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
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <event2/event.h>

#include "counter.h"
#include "frame.h"
#include "handshake.h"
#include "help.h"
#include "legacy.h"
#include "msgbuild.h"
#include "msgparse.h"
#include "msq.h"
#include "line.h"
#include "memtrim.h"
#include "parser.h"
#include "log.h"
#include "audit.h"
#include "hitconf.h"
#include "history.h"
#include "oridir.h"
#include "photo.h"
#include "policy.h"
#include "recorder.h"
#include "resend.h"
#include "router.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "util.h"
#include "xscan.h"

/*
 * The once-a-second tick runs in this many slices (server_tick_cb), so
 * that no callback walks every session and line at once.
 */
#define SERVER_TICK_SLICES	10

struct server {
	struct event_base	*base;
	struct config		*cfg;
	SSL_CTX			*ssl;
	struct queue		*q;
	struct parser		*parser;	/* the parser thread */
	struct msgparse_schema	*schema;
	struct line		**lines;	/* parallel to cfg->lines */
	struct line_host	 lhost;		/* what the lines share */
	struct session_host	 shost;		/* the sessions */
	struct handshake	*hs;		/* listeners + TLS handshakes */
	struct event		*ev_tick;	/* SERVER_TICK_SLICES a second */
	int			 tick_slice;	/* the next slice, 0: a new round */
	size_t			 tick_squota;	/* sessions per slice this round */
	int			 tick_line;	/* next line of the round */
	/* Heap given back after bursts of frees (memtrim.h): sessions
	 * closed and buffer releases, as counted at the last tick. */
	struct memtrim		 trim;
	uint64_t		 trim_seen;
	struct event		*ev_sig[4];
	struct config		*retired[8];	/* old configs, freed when idle */
	int			 nretired;
	struct counter		*msgid;
	int			 draining;	/* no new messages */
	uint64_t		 drain_deadline_us;
	uint64_t		 started_us;
	struct server_stats	 stats;
	/* Photo-sharing policy (docs/policy.md). */
	struct oridir		*oridir;	/* swapped by server_oridir_reload */
	struct photo_table	*photos;	/* allowed photo requests in flight */
	struct resend		*resend;	/* messages acknowledged lately */
	struct msq_table	*msq;		/* multi-state queries (msq.h) */
	char			 msq_line[QUEUE_LINE_LEN + 1];	/* answers
						   parked for this node's */
	struct queue_copy	*msq_retry;	/* to record again (shared) */
	size_t			 nmsq_retry;
	struct queue_copy	*parked;	/* parked answers found at load */
	int			 nparked;
	int			 loaded;	/* the start-up load is over */
	uint64_t		 node_rec_us;	/* its cluster record, last */
	uint64_t		 learnt_wall_us;	/* server_resend_learn, */
	uint64_t		 learnt_mono_us;	/* last */
	struct hitconf		*hitconf;	/* YQs awaiting their YR */
	uint64_t		 audit_prune_us;	/* next audit pruning */
	int			 audit_alarm;	/* over the alarm level */
	char			 not_ready[512];	/* last reason logged */
	char			*store_damage;	/* server_store_damage, or NULL */
	char			*store_recovery;
	struct history		*hist;		/* the dashboard's hour */
	char			 instance[33];	/* server_instance */
};

static void	server_handshake_done_cb(uint64_t, int, SSL *, const char *,
		    void *);
static void	server_handshake_count_cb(unsigned, unsigned, void *);
static void	server_tick_cb(evutil_socket_t, short, void *);
static void	server_signal_cb(evutil_socket_t, short, void *);
static void	server_put_done_cb(struct queue_op *, void *);
static void	server_parsed_cb(struct parser_job *, void *);
static void	server_accept(struct server *, struct session *,
		    struct parser_job *);
static void	server_sm_done_cb(struct queue_op *, void *);
static void	server_expire_done_cb(struct queue_op *, void *);
static void	server_queue_configure(struct server *);
static size_t	server_photo_load(struct server *, struct photo_table *);
static uint64_t	server_hitconf_msgid_cb(void *);
static void	server_hitconf_committed_cb(void *, const struct queue_copy *);
static void	server_load_quarantined(struct server *, uint64_t);
static void	server_inbound(struct server *, struct session *, uint64_t,
		    char *, size_t);
static void	server_nak(struct server *, struct session *, uint64_t,
		    const char *, const char *, int, const char *, const char *,
		    size_t);
static void	server_expire(struct server *, struct line *,
		    const struct queue_copy *);
static void	server_unreadable(struct server *, struct line *,
		    const struct queue_copy *, int);
struct server_inbound;
static void	server_msq_answered(struct server *, struct server_inbound *,
		    int);
static void	server_msq_run(struct server *);
static void	server_unpark(struct server *, const struct queue_copy *);
static void	server_msq_arrive(struct server *, const struct queue_copy *,
		    int);
static void	server_msq_load(struct server *);

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
	struct server_smreq {
		char	dest[MSG_ORI_LEN + 1];
		int	status;
	}			*sm;		/* nsm entries, or NULL */
	enum msg_key		 key;		/* as the sender sent it */
	int			 regional;	/* server_msgin.regional */
	char			 ori[MSG_ORI_LEN + 1];
	char			 ctl[MSG_CTL_LEN + 1];
	const struct config_line *from;
	char			 msgid[24];
	char			*await;		/* lines owing a photo answer */
	char			*notice;	/* SM .10.'s lines, or NULL */
	uint64_t		 rhash;		/* resend_hash of the input */
	size_t			 rlen;		/* the input's length */
	struct queue_states	 states;	/* their durable records */
	/* A multi-state query: its table entry from the commit on. */
	struct msq		*mq;
	/* An answer to one: the query, its member, what it answered. */
	uint64_t		 mqid;
	int			 mqmember;
	int			 mqst;		/* enum msq_st */
	int			 mqpark;	/* parked for the query's node
						   to record (shared store) */
	struct hitconf_req	*hc;		/* its hit confirmation change */
};

/* A denial on its way into the audit trail; the NAK follows its commit. */
struct server_deny {
	struct queue_op		 op;
	struct server		*srv;
	struct session		*sess;
	uint64_t		 tag;
	int			 er;
	char			 ori[MSG_ORI_LEN + 1];
	char			 ctl[MSG_CTL_LEN + 1];
	char			 detail[600];
	char			*input;		/* the start of it, for the ER */
	size_t			 inlen;
};

/* One SM on its way into the store. */
struct server_sm {
	struct queue_op		 op;
	struct queue_copy	 copy;
	char			*body;
	struct server_inbound	*owner;		/* ACK waits on it, or NULL */
	struct server		*srv;
};

/* A parsed message on its way through the checks (server_accept). */
struct server_msgin {
	struct msg		 m;
	uint64_t		 tag;
	uint64_t		 now;
	char			*payload;	/* the XML that is stored */
	size_t			 len;
	size_t			 inlen;		/* as it came in */
	/* What an ER quotes: the input as the sender wrote it (legacy
	 * text for a legacy message, while payload is its XML). */
	char			*text;		/* legacy input, or NULL */
	const char		*q;
	size_t			 qlen;
	struct router_result	*rr;
	struct policy_decision	 pd;
	struct photo_decision	 ph;
	/* A photo request decided per destination (server_policy_dests):
	 * dd[i] for the routed copy rr->copy[ddcopy[i]]; act[] what each
	 * routed copy gets (enum policy_dest_action); all NULL otherwise. */
	struct policy_dest	*dd;
	struct policy_state	*ddst;
	int			*ddcopy;
	int			 ndd;
	uint8_t			*act;
	/* Handled as a DQG (a DQG, or a legacy DQ to a region): stored and
	 * delivered as a DQ, its copies at QUEUE_PRIO_LOW. */
	int			 regional;
};

/* The outcome of the checks on a message. */
enum server_verdict {
	SERVER_PASS,		/* store it */
	SERVER_HELP,		/* a HELP file query: the switch answers */
	SERVER_NAKED,		/* refused, NAK sent */
	SERVER_DENIED		/* refused by policy, NAK after its audit */
};

static struct line *
server_line(struct server *srv, const struct config_line *cl)
{
	return srv->lines[cl->index];
}

struct line *
server_line_by_code(struct server *srv, const char *code)
{
	const struct config_line *cl = config_line_by_code(srv->cfg, code);

	return cl != NULL ? server_line(srv, cl) : NULL;
}

/* The config line a session serves, or NULL before it is bound. */
static const struct config_line *
server_sess_cfg(const struct session *s)
{
	struct line *l = session_owner(s);

	return l != NULL ? line_config(l) : NULL;
}

/*
 * What sessions and lines ask of the switch (session.h, line.h): they
 * never call up; these are the only ways in.
 */
static void *
server_bind_cb(void *arg, struct session *s, const char *cn, char *code,
    size_t codesz)
{
	struct server			*srv = arg;
	const struct config_line	*cl;

	(void)s;
	if (cn == NULL || (cl = config_line_by_cn(srv->cfg, cn)) == NULL) {
		srv->stats.tls_failures++;
		return NULL;
	}
	util_strlcpy(code, cl->code, codesz);
	return server_line(srv, cl);
}

/* A batch of state records on its own (what: for the log). */
struct server_states {
	struct queue_op		 op;
	struct queue_states	*qs;
	const char		*what;
};

static void
server_states_done_cb(struct queue_op *op, void *arg)
{
	struct server_states *ss = arg;

	if (op->result != QUEUE_E_OK)
		log_warnx("server: %s not stored: %s", ss->what,
		    queue_strerror(op->result));
	queue_states_free(ss->qs);
	free(ss->qs);
	free(ss);
}

/* Commit the state records qs (taken; nothing when empty). */
static void
server_submit_states(struct server *srv, struct queue_states *qs,
    const char *what)
{
	struct server_states *ss;

	if (qs->n == 0) {
		free(qs);
		return;
	}
	ss = xcalloc(1, sizeof *ss);
	ss->qs = qs;
	ss->what = what;
	ss->op.type = QUEUE_OP_STATE;
	ss->op.states = qs->st;
	ss->op.nstates = qs->n;
	ss->op.done = server_states_done_cb;
	ss->op.arg = ss;
	queue_submit(srv->q, &ss->op);
}

/*
 * Where a line is connected, for every node's nlctl: the state record
 * SERVER_WHERE/CODE/NODE, set when it comes up here (to its peer's
 * address), deleted when it goes; with code NULL, delete every record
 * of this node (start-up: those of a node that died are stale).
 */
#define SERVER_WHERE	SERVER_WHERE_PREFIX
struct server_where_walk {
	struct queue_states	*qs;
	const char		*suffix;	/* "/NODE" */
};

static int
server_where_stale_cb(const char *key, size_t klen, const void *val,
    size_t len, void *arg)
{
	struct server_where_walk	*w = arg;
	size_t				 sl = strlen(w->suffix);

	(void)val;
	(void)len;
	if (klen > sl && memcmp(key + klen - sl, w->suffix, sl) == 0)
		queue_states_push(w->qs, xstrndup(key, klen), NULL);
	return 0;
}

static void
server_where(struct server *srv, const char *code, const char *peer)
{
	struct queue_states	*qs;

	if (!queue_is_shared(srv->q))
		return;
	qs = xcalloc(1, sizeof *qs);
	if (code != NULL)
		queue_states_push(qs, xasprintf(SERVER_WHERE "%s/%d", code,
		    srv->cfg->store_node), peer != NULL ? xstrdup(peer) : NULL);
	else {
		struct server_where_walk	w;
		char				suffix[16];

		snprintf(suffix, sizeof suffix, "/%d", srv->cfg->store_node);
		w.qs = qs;
		w.suffix = suffix;
		queue_walk_state(srv->q, SERVER_WHERE, server_where_stale_cb,
		    &w);
	}
	server_submit_states(srv, qs, "where the lines are");
}

/*
 * This node's cluster record (SERVER_NODE_PREFIX, server.h): its state
 * and counters, for every node's nlctl status; rewritten every
 * SERVER_NODE_S, and when it starts to drain.
 */
static void
server_node_record(struct server *srv)
{
	struct server_snapshot	 sn;
	struct queue_states	*qs;

	if (!queue_is_shared(srv->q))
		return;
	server_snapshot(srv, &sn);
	srv->node_rec_us = sn.now_us;
	qs = xcalloc(1, sizeof *qs);
	queue_states_push(qs, xasprintf(SERVER_NODE_PREFIX "%d",
	    srv->cfg->store_node), xasprintf("t=%llu started=%llu pid=%d "
	    "state=%s received=%llu acked=%llu nacked=%llu delivered=%llu "
	    "expired=%llu connections=%d lines_up=%d dead_letters=%llu",
	    (unsigned long long)sn.now_us, (unsigned long long)sn.started_us,
	    (int)getpid(), sn.draining ? "draining" : sn.ready ? "running" :
	    "not-ready", (unsigned long long)srv->stats.received,
	    (unsigned long long)srv->stats.acked,
	    (unsigned long long)srv->stats.nacked,
	    (unsigned long long)srv->stats.deliv.delivered,
	    (unsigned long long)srv->stats.expired, sn.connections,
	    sn.lines_up, (unsigned long long)sn.dead_letters));
	server_submit_states(srv, qs, "this node's cluster record");
}

/*
 * Resends across nodes (docs/cluster.md): a line that comes up here may
 * have moved from another node, and send again what that node
 * acknowledged without the ACK reaching it. The "accepted" audit records
 * carry each message's resend key: when a line comes up, this node's
 * table learns the other nodes' keys, every line's, from its view of the
 * log. Once a second at most, and from where the last time left off
 * (less SERVER_LEARN_LAG_US, for records the log brings late): a node
 * that takes over thousands of lines reads the audit once, not once a
 * line.
 */
#define SERVER_LEARN_GAP_US	1000000
#define SERVER_LEARN_LAG_US	10000000
struct server_learn {
	struct server	*srv;
	uint64_t	 wall_us, mono_us;
	size_t		 n;
};

static int
server_learn_cb(uint64_t t_us, const char *rec, size_t len, void *arg)
{
	static const char	 kk[] = "\"resend_key\":\"", km[] = "\"msgid\":\"";
	struct server_learn	*l = arg;
	const char		*k, *m;
	unsigned long long	 hash, msgid;
	size_t			 rlen;
	uint64_t		 age;

	if ((k = memmem(rec, len, kk, sizeof kk - 1)) == NULL ||
	    (m = memmem(rec, len, km, sizeof km - 1)) == NULL ||
	    sscanf(k + sizeof kk - 1, "%16llx/%zu", &hash, &rlen) != 2 ||
	    sscanf(m + sizeof km - 1, "%16llx", &msgid) != 1)
		return 0;
	/* This node's own are in its table already. */
	if (QUEUE_MSGID_NODE(msgid) == l->srv->cfg->store_node ||
	    t_us > l->wall_us)
		return 0;
	age = l->wall_us - t_us;
	if (age >= l->srv->cfg->resend_window * 1000000ULL ||
	    age >= l->mono_us)
		return 0;
	resend_add(l->srv->resend, hash, rlen, msgid, l->mono_us - age);
	l->n++;
	return 0;
}

static void
server_resend_learn(struct server *srv)
{
	struct server_learn	l;
	uint64_t		since;

	if (!queue_is_shared(srv->q) || srv->cfg->resend_window == 0)
		return;
	memset(&l, 0, sizeof l);
	l.srv = srv;
	l.wall_us = util_now_us();
	l.mono_us = util_mono_us();
	if (srv->learnt_mono_us != 0 &&
	    l.mono_us - srv->learnt_mono_us < SERVER_LEARN_GAP_US)
		return;
	since = l.wall_us - srv->cfg->resend_window * 1000000ULL;
	if (srv->learnt_wall_us > SERVER_LEARN_LAG_US &&
	    srv->learnt_wall_us - SERVER_LEARN_LAG_US > since)
		since = srv->learnt_wall_us - SERVER_LEARN_LAG_US;
	queue_walk_audit(srv->q, since, server_learn_cb, &l);
	srv->learnt_wall_us = l.wall_us;
	srv->learnt_mono_us = l.mono_us;
	if (l.n > 0)
		log_info("server: %zu messages other nodes acknowledged lately "
		    "known as resends", l.n);
}

/*
 * With a shared store (docs/cluster.md) a line's copies are this node's
 * while the line is connected here: the store hands them over when it
 * comes up and takes them back when it goes.
 */
static void
server_attach_cb(void *arg, struct session *s, void *owner)
{
	struct server *srv = arg;

	line_attach(owner, s);
	queue_subscribe(srv->q, line_config(owner)->code, 1);
	server_where(srv, line_config(owner)->code, session_peer(s));
	server_resend_learn(srv);
}

static void
server_detach_cb(void *arg, struct session *s, void *owner)
{
	struct server	*srv = arg;
	uint64_t	 n;

	line_detach(owner, s);
	if (!queue_is_shared(srv->q) || line_session(owner) != NULL)
		return;
	queue_subscribe(srv->q, line_config(owner)->code, 0);
	server_where(srv, line_config(owner)->code, NULL);
	if ((n = line_forget(owner)) > 0)
		log_info("server: line=%s down: %llu copies back to the "
		    "shared store", line_config(owner)->code,
		    (unsigned long long)n);
}

static void
server_message_cb(void *arg, struct session *s, uint64_t tag, char *payload,
    size_t len)
{
	server_inbound(arg, s, tag, payload, len);
}

static void
server_dack_cb(void *arg, struct session *s, void *owner, uint64_t msgid,
    uint16_t copy)
{
	(void)arg;
	(void)s;
	line_dack(owner, msgid, copy);
}

static void
server_too_large_cb(void *arg, struct session *s, uint64_t tag,
    const char *detail, const char *input, size_t inlen)
{
	server_nak(arg, s, tag, NULL, NULL, MSG_ER_TOO_LARGE, detail, input,
	    inlen);
}

static const struct session_cbs server_session_cbs = {
	.bind = server_bind_cb,
	.attach = server_attach_cb,
	.detach = server_detach_cb,
	.message = server_message_cb,
	.dack = server_dack_cb,
	.too_large = server_too_large_cb,
};

static void
server_dead_letter_cb(void *arg, struct line *l, const struct queue_copy *c,
    int err)
{
	if (err == QUEUE_E_OK)
		server_expire(arg, l, c);
	else
		server_unreadable(arg, l, c, err);
}

static struct line *
server_by_code_cb(void *arg, const char *code)
{
	return server_line_by_code(arg, code);
}

const struct config *
server_config(const struct server *srv)
{
	return srv->cfg;
}

struct queue *
server_queue(struct server *srv)
{
	return srv->q;
}

const struct server_stats *
server_stats(const struct server *srv)
{
	return &srv->stats;
}

int
server_draining(const struct server *srv)
{
	return srv->draining;
}

struct line *
server_line_at(struct server *srv, int i)
{
	return srv->lines[i];
}

const struct history *
server_history(const struct server *srv)
{
	return srv->hist;
}

const char *
server_instance(const struct server *srv)
{
	return srv->instance;
}

/* 16 random bytes in hex; the kernel's pool (fatal at start-up only). */
static void
server_new_instance(struct server *srv)
{
	unsigned char	r[16];
	size_t		i;

	if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
		fatal("server: getrandom");
	for (i = 0; i < sizeof r; i++)
		snprintf(srv->instance + 2 * i, 3, "%02x", r[i]);
}

static void
server_count_dead_cb(const struct queue_copy *c, void *arg)
{
	(void)c;
	(*(uint64_t *)arg)++;
}

void
server_snapshot(struct server *srv, struct server_snapshot *sn)
{
	struct line_info	li;
	struct session		*s;
	int			i;

	memset(sn, 0, sizeof *sn);
	sn->now_us = util_now_us();
	sn->started_us = srv->started_us;
	sn->draining = srv->draining;
	sn->ready = server_ready(srv, sn->not_ready, sizeof sn->not_ready,
	    sn->warning, sizeof sn->warning);
	sn->damage = server_store_damage(srv, &sn->recovery);
	sn->connections = srv->shost.nactive;
	for (s = session_first(&srv->shost); s != NULL; s = session_next(s))
		sn->lines_idle += session_is_idle(s);
	sn->tls_released = srv->shost.nreleased;
	sn->mem_trims = srv->trim.ntrims;
	sn->mem_trim_last_us = srv->trim.last_us;
	parser_counts(srv->parser, &sn->parsed_inline, &sn->parsed_threaded);
	memtrim_heap(&sn->heap_in_use, &sn->heap_free);
	sn->lines_total = srv->cfg->nline;
	sn->msq_open = msq_table_count(srv->msq);
	for (i = 0; i < srv->cfg->nline; i++) {
		line_info(srv->lines[i], &li);
		sn->queued += li.queued;
		sn->in_flight += (uint64_t)li.in_flight;
		sn->lines_up += li.connected;
	}
	queue_walk_dead(srv->q, server_count_dead_cb, &sn->dead_letters);
	queue_usage(srv->q, &sn->store_used, &sn->store_size);
	queue_get_stats(srv->q, &sn->qs);
	queue_health(srv->q, &sn->health);
	for (i = 0; i < QUEUE_DB_MAX; i++)
		sn->quarantined += sn->health.quarantined[i];
	sn->stats = &srv->stats;
}

/* Effective service state of a line for routing (router_svc_cb). */
static int
server_svc_cb(const struct config_line *cl, int key, void *arg)
{
	return line_service(server_line(arg, cl), key);
}

/* The recorder's view of a session. */
static void
server_who(const struct session *s, struct recorder_who *w)
{
	w->sess = session_id(s);
	w->line = session_code(s);
	w->cn = session_cn(s);
}

/*
 * The destination a copy of the line names when nothing else does (a
 * copy rebuilt from its key): the member code it serves, else its ORI.
 */
static const char *
server_line_dest(const struct config_line *cl)
{
	if (cl == NULL)
		return "";
	if (cl->member[0] != '\0')
		return cl->member;
	return cl->nori > 0 ? cl->ori[0] : "";
}

static void
server_load_cb(const struct queue_copy *c, void *arg)
{
	struct server			*srv = arg;
	const struct config_line	*cl;
	struct queue_copy		 rc;

	if (msq_is_line(c->line)) {
		/* A shared store hands over an answer parked for this
		 * node's query since: recorded now. */
		if (srv->loaded) {
			server_msq_arrive(srv, c, 0);
			return;
		}
		/* An answer parked for a merge (server_msq_load). */
		srv->parked = xrealloc(srv->parked, (size_t)(srv->nparked +
		    1) * sizeof *srv->parked);
		srv->parked[srv->nparked++] = *c;
		return;
	}
	if ((cl = config_line_by_code(srv->cfg, c->line)) == NULL) {
		log_warnx("server: stored copy %llx.%u for unknown line %s "
		    "kept in the store", (unsigned long long)c->msgid, c->copy,
		    c->line);
		return;
	}
	if (c->dest[0] == '\0') {
		/* Rebuilt from its key: the receiving ORI was lost. */
		rc = *c;
		util_strlcpy(rc.dest, server_line_dest(cl), sizeof rc.dest);
		c = &rc;
	}
	/* A shared store's copy handed over before the line went down. */
	if (queue_is_shared(srv->q) && line_session(server_line(srv, cl)) ==
	    NULL)
		return;
	line_add(server_line(srv, cl), c);
}

/* A handshake not done this long after its accept is dropped. */
static int
server_handshake_timeout(const struct config *cfg)
{
	return 3 * cfg->heartbeat;
}

/*
 * The listeners are the handshake thread's (handshake.h): the loop
 * thread sees a connection only once its TLS handshake is done.
 */
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
		int			 fd = -1;

		memset(&hints, 0, sizeof hints);
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = EVUTIL_AI_PASSIVE | EVUTIL_AI_NUMERICHOST;
		if ((e = evutil_getaddrinfo(ls->address, ls->port, &hints,
		    &res)) != 0)
			fatalx("server: listen %s port %s: %s", ls->address,
			    ls->port, evutil_gai_strerror(e));
		for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
			fd = handshake_listen(srv->hs, ai->ai_addr,
			    (socklen_t)ai->ai_addrlen, 512);
		evutil_freeaddrinfo(res);
		if (fd == -1)
			fatal("server: cannot listen on %s port %s",
			    ls->address, ls->port);
		sl = sizeof ss;
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
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
	handshake_start(srv->hs);
	/* Written last, once everything is up: tests wait for this file. */
	if (srv->cfg->portfile != NULL &&
	    (util_mkdir_parent(srv->cfg->portfile) == -1 ||
	    util_write_file(srv->cfg->portfile, ports.data, ports.len) == -1))
		fatal("server: %s", srv->cfg->portfile);
	ubuf_free(&ports);
}

SSL_CTX *
server_tls_ctx(const struct config *cfg, char **cause)
{
	SSL_CTX	*ctx;
	char	*why = NULL;

	if (config_pki_check(cfg, cause) == -1)
		return NULL;
	if ((ctx = tls_server_ctx(cfg->ca, cfg->cert, cfg->key, &why)) == NULL) {
		*cause = xasprintf("%s:%d: <pki>: %s", cfg->path,
		    cfg->pki_lineno, why);
		free(why);
	}
	return ctx;
}

struct server *
server_new(struct event_base *base, struct config *cfg)
{
	struct server	*srv;
	char		*cause = NULL;
	uint64_t	 load_us;
	int		 i;
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };

	srv = xcalloc(1, sizeof *srv);
	srv->base = base;
	srv->cfg = cfg;
	srv->started_us = util_now_us();
	srv->hist = history_new();
	server_new_instance(srv);
	session_host_init(&srv->shost, base, cfg, &server_session_cbs, srv);
	metrics_hist_init(&srv->stats.ack_latency, metrics_seconds);
	metrics_hist_init(&srv->stats.deliv.e2e_latency, metrics_seconds);

	if ((srv->ssl = server_tls_ctx(cfg, &cause)) == NULL)
		fatalx("server: %s", cause);
	if ((srv->schema = msgparse_schema_load(cfg->schemadir, &cause)) == NULL)
		fatalx("server: %s", cause);
	{
		/* The parser thread compiles its own copy of the schema. */
		struct msgparse_schema *ps = msgparse_schema_load(cfg->schemadir, &cause);

		if (ps == NULL)
			fatalx("server: %s", cause);
		srv->parser = parser_new(base, ps, server_parsed_cb, srv);
	}
	if (cfg->store_spec != NULL)
		srv->q = queue_open(&queue_backend_rabbitmq, cfg->store_spec,
		    cfg->map_size, base, &cause);
	else
		srv->q = queue_open(&queue_backend_lmdb, cfg->datadir,
		    cfg->map_size, base, &cause);
	if (srv->q == NULL)
		fatalx("server: queue %s: %s", cfg->store_spec != NULL ?
		    "rabbitmq" : cfg->datadir, cause);
	server_queue_configure(srv);
	if (server_oridir_reload(srv, &cause) == -1)
		fatalx("server: %s", cause);
	/* Photo requests in flight survive a restart through their state
	 * records (photo.h); they live held-ttl + 1 hour. */
	srv->photos = photo_table_new();
	if (server_photo_load(srv, srv->photos) > 0)
		log_info("server: photo requests awaiting an answer=%zu",
		    photo_table_count(srv->photos));

	srv->msgid = counter_new(srv->q, "msgid", NULL);
	{
		/* Hit confirmations in flight: their timers are state
		 * records (hitconf.h), rearmed here. */
		struct hitconf_host hh = { srv->q, srv,
		    server_hitconf_msgid_cb, server_hitconf_committed_cb,
		    cfg->store_node };

		srv->hitconf = hitconf_new(&hh);
		if (hitconf_load(srv->hitconf) > 0)
			log_info("server: hit confirmations awaiting a YR=%zu",
			    hitconf_count(srv->hitconf));
	}
	srv->resend = resend_new(cfg->resend_window * 1000000,
	    (size_t)cfg->resend_max);
	srv->msq = msq_table_new();
	msq_line(srv->msq_line, sizeof srv->msq_line, cfg->store_node);
	srv->lhost.cfg = cfg;
	srv->lhost.schema = srv->schema;
	srv->lhost.q = srv->q;
	srv->lhost.stats = &srv->stats.deliv;
	srv->lhost.arg = srv;
	srv->lhost.dead_letter = server_dead_letter_cb;
	srv->lhost.by_code = server_by_code_cb;
	srv->lines = xcalloc((size_t)cfg->nline, sizeof *srv->lines);
	for (i = 0; i < cfg->nline; i++)
		srv->lines[i] = line_new(&srv->lhost, &cfg->lines[i]);
	{
		/* The lines, and the answers parked for merges. */
		const char **codes = xcalloc((size_t)cfg->nline + 1,
		    sizeof *codes);

		for (i = 0; i < cfg->nline; i++)
			codes[i] = cfg->lines[i].code;
		codes[i] = srv->msq_line;
		if (queue_serve(srv->q, codes, cfg->nline + 1, &cause) == -1)
			fatalx("server: queue: %s", cause);
		free(codes);
	}
	load_us = util_now_us();
	if (queue_load(srv->q, server_load_cb, srv) != QUEUE_E_OK) {
		/* A shared store that cannot be loaded cannot be served. */
		if (queue_is_shared(srv->q))
			fatalx("server: the shared store could not be loaded "
			    "(see above)");
		log_warnx("server: queue load reported errors (see above)");
	}
	server_load_quarantined(srv, load_us);
	server_where(srv, NULL, NULL);		/* what a crash left behind */
	server_msq_load(srv);
	srv->loaded = 1;
	server_store_damage(srv, NULL);		/* logged before "started" */
	for (i = 0; i < cfg->nline; i++) {
		uint64_t n, bytes, oldest;

		line_depth(srv->lines[i], &n, &bytes, &oldest);
		if (n > 0)
			log_info("server: recovered line=%s queued=%llu",
			    cfg->lines[i].code, (unsigned long long)n);
	}

	for (i = 0; i < 3; i++) {
		srv->ev_sig[i] = evsignal_new(base, sigs[i], server_signal_cb,
		    srv);
		evsignal_add(srv->ev_sig[i], NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	srv->ev_tick = event_new(base, -1, EV_PERSIST, server_tick_cb, srv);
	{
		struct timeval tv = { 0, 1000000 / SERVER_TICK_SLICES };
		event_add(srv->ev_tick, &tv);
	}
	if (recorder_configure(base, cfg, &cause) == -1)
		fatalx("server: %s", cause);
	return srv;
}

void
server_start(struct server *srv)
{
	srv->hs = handshake_new(srv->base, srv->ssl,
	    server_handshake_timeout(srv->cfg), server_handshake_done_cb,
	    server_handshake_count_cb, srv);
	server_listen(srv);	/* last: its port file says "ready" */
}

void
server_free(struct server *srv)
{
	int i;

	if (srv->hs != NULL)
		handshake_free(srv->hs);	/* no new sessions from here on */
	session_host_close(&srv->shost, "switch stopping");
	parser_free(srv->parser);	/* their sessions are closed: dropped */
	queue_close(srv->q);	/* commits what is pending, runs completions */
	hitconf_free(srv->hitconf);	/* after its ops' completions */
	for (i = 0; i < srv->cfg->nline; i++)
		line_free(srv->lines[i]);
	free(srv->lines);
	counter_free(srv->msgid);
	resend_free(srv->resend);
	recorder_shutdown();
	for (i = 0; i < 3; i++)
		event_free(srv->ev_sig[i]);
	event_free(srv->ev_tick);
	msgparse_schema_free(srv->schema);
	oridir_free(srv->oridir);
	photo_table_free(srv->photos);
	msq_table_free(srv->msq);
	free(srv->msq_retry);
	SSL_CTX_free(srv->ssl);
	for (i = 0; i < srv->nretired; i++)
		config_free(srv->retired[i]);
	config_free(srv->cfg);
	free(srv->store_damage);
	free(srv->store_recovery);
	history_free(srv->hist);
	free(srv);
}

/* A TLS handshake finished in the handshake thread: the session decides
 * whether the certificate names a line. */
static void
server_handshake_done_cb(uint64_t id, int fd, SSL *ssl, const char *peer,
    void *arg)
{
	struct server *srv = arg;

	session_new(&srv->shost, id, fd, ssl, peer);
}

static void
server_handshake_count_cb(unsigned accepted, unsigned refused, void *arg)
{
	struct server *srv = arg;

	srv->stats.sessions += accepted;
	srv->stats.tls_failures += refused;
}

/*
 * The message key a (perhaps refused) input names: the first token of
 * legacy text, MessageKeyCodeText of XML; MSG_KEY_NONE if none.
 */
static int
server_input_key(const char *input, size_t inlen)
{
	char	 mke[8];
	size_t	 i = 0, n;

	if (input == NULL || inlen == 0)
		return MSG_KEY_NONE;
	if (inlen > 2048)
		inlen = 2048;
	if (!legacy_is_text(input, inlen)) {
		xscan_text(input, inlen, "MessageKeyCodeText", mke, sizeof mke);
		return msg_key_lookup(mke);
	}
	while (i < inlen && strchr(" \t\r\n", input[i]) != NULL)
		i++;
	for (n = 0; i + n < inlen && n + 1 < sizeof mke && input[i + n] >= 'A'
	    && input[i + n] <= 'Z'; n++)
		mke[n] = input[i + n];
	mke[n] = '\0';
	return msg_key_lookup(mke);
}

/* Count a refusal by key and code, and keep it for the dashboard. key
 * is the one the input names (server_input_key). */
static void
server_count_nak(struct server *srv, struct session *s, const char *ori,
    int key, int code, const char *detail)
{
	struct server_denial	*d;
	struct line_refusal	 r;
	struct line		*l;

	srv->stats.nacked++;
	if (code > 0 && code < SERVER_NCODES)
		srv->stats.nak_key_code[key][code]++;
	d = &srv->stats.denials[srv->stats.ndenial++ % SERVER_NDENIAL];
	memset(d, 0, sizeof *d);
	d->t_us = util_now_us();
	util_strlcpy(d->line, session_code(s), sizeof d->line);
	util_strlcpy(d->ori, ori, sizeof d->ori);
	util_strlcpy(d->mke, key ? msg_key_name(key) : "?", sizeof d->mke);
	d->code = code;
	snprintf(d->reason, sizeof d->reason, "%s%s%s", msg_er_reason(code),
	    detail ? ": " : "", detail ? detail : "");
	if ((l = server_line_by_code(srv, d->line)) != NULL) {
		memset(&r, 0, sizeof r);
		r.t_us = d->t_us;
		util_strlcpy(r.ori, d->ori, sizeof r.ori);
		util_strlcpy(r.mke, d->mke, sizeof r.mke);
		r.code = code;
		util_strlcpy(r.reason, d->reason, sizeof r.reason);
		line_note_refusal(l, &r);
	}
}

static void
server_nak(struct server *srv, struct session *s, uint64_t tag,
    const char *ori, const char *ctl, int code, const char *detail,
    const char *input, size_t inlen)
{
	struct msgbuild_stamp	 st;
	struct recorder_who	 who;
	struct ubuf		 b, x;
	size_t			 so, he;
	int			 legacy, key = server_input_key(input, inlen);

	if (ori == NULL || !msg_ori_is_valid(ori))
		ori = (server_sess_cfg(s) != NULL &&
		    server_sess_cfg(s)->nori > 0) ?
		    server_sess_cfg(s)->ori[0] : MSG_SWITCH_ORI;
	/* The ER comes in the format the offending message came in (the
	 * line's own format when nothing of it could be read). */
	legacy = input != NULL && inlen > 0 ? legacy_is_text(input, inlen) :
	    server_sess_cfg(s) != NULL &&
	    server_sess_cfg(s)->format == CONFIG_FMT_LEGACY;
	ubuf_init(&x);
	msgbuild_er(&x, ori, ctl ? ctl : "", code, key, detail, input, inlen);
	/* The standard output header: sent now, on the sender's line. */
	memset(&st, 0, sizeof st);
	st.recv_us = st.send_us = util_now_us();
	if (session_owner(s) != NULL)
		st.out_seq = line_take_out_seq(session_owner(s));
	ubuf_init(&b);
	if (msg_hdr_span(x.data, x.len, 0, &so, &he) == 0)
		msgbuild_stamp(&b, x.data, x.len, so, &st);
	else
		ubuf_add(&b, x.data, x.len);
	ubuf_free(&x);
	if (legacy) {
		struct ubuf	 t;
		char		*cause = NULL;

		ubuf_init(&t);
		if (legacy_from_xml(srv->schema, b.data, b.len, ori, &t,
		    &cause) == 0) {
			ubuf_free(&b);
			b = t;
		} else {
			log_warnx("server: %llu: ER not renderable as text: %s",
			    (unsigned long long)session_id(s), cause);
			free(cause);
			ubuf_free(&t);
		}
	}
	session_send(s, FRAME_NAK, 0, tag, b.data, b.len);
	server_who(s, &who);
	recorder_nak(&who, tag, b.data, b.len);
	ubuf_free(&b);
	server_count_nak(srv, s, ori, key, code, detail);
	/* The detail can quote field values (a DOB, a name): debug only. */
	log_info("server: %llu: nak line=%s code=%d reason=\"%s\"",
	    (unsigned long long)session_id(s), session_code(s),
	    code, msg_er_reason(code));
	if (detail != NULL)
		log_debug("server: %llu: nak detail=\"%s\"",
		    (unsigned long long)session_id(s), detail);
}

/* ORI directory, photo reply lifetime. */
uint64_t
server_photo_ttl(struct server *srv)
{
	return ((uint64_t)srv->cfg->held_ttl + 3600) * 1000000;
}

/* The space budgets of the config, to the queue (start-up, reload). */
static void
server_queue_configure(struct server *srv)
{
	struct queue_conf	qc;

	memset(&qc, 0, sizeof qc);
	qc.audit_budget = srv->cfg->audit_budget;
	qc.reserve = srv->cfg->reserve;
	qc.archive = srv->cfg->audit_archive;
	queue_configure(srv->q, &qc);
}


/*
 * Read the photo requests in flight into t (NULL: only sweep) and delete
 * the expired ones from the store. @return entries in t.
 */
static size_t
server_photo_load(struct server *srv, struct photo_table *t)
{
	struct queue_states	*ps = xcalloc(1, sizeof *ps);
	size_t			 n;

	n = photo_table_load(t, srv->q, util_now_us(), ps);
	server_submit_states(srv, ps, "deletions of expired photo requests");
	return n;
}

int
server_oridir_reload(struct server *srv, char **cause)
{
	struct oridir *dir;

	*cause = NULL;
	/* The first time, the directory config_load parsed; after that the
	 * file is read anew. */
	if (srv->cfg->directory != NULL) {
		dir = srv->cfg->directory;
		srv->cfg->directory = NULL;
	} else if (srv->cfg->oridir == NULL)
		dir = config_directory_implicit(srv->cfg);
	else if (oridir_load(srv->cfg->oridir, srv->cfg->schemadir, &dir,
	    cause) == -1)
		return -1;
	if (srv->cfg->oridir == NULL)
		log_info("server: no ORI directory configured: the %d ORIs of "
		    "the lines are the directory (docs/policy.md)", dir->n);
	else
		log_info("server: ORI directory %s agencies=%d",
		    srv->cfg->oridir, dir->n);
	oridir_free(srv->oridir);
	srv->oridir = dir;
	return 0;
}

/*
 * The photo decision of every destination of a, for the audit: what
 * each gets (allow, withheld, left-out) or, in a denial, deny. Caller
 * frees. @return the array (a->ndd entries), NULL when none.
 */
static struct audit_decision *
server_audit_decisions(const struct server_msgin *a, int denied)
{
	struct audit_decision	*ad;
	int			 i;

	if (a->ndd == 0)
		return NULL;
	ad = xcalloc((size_t)a->ndd, sizeof *ad);
	for (i = 0; i < a->ndd; i++) {
		const struct policy_decision *d = &a->dd[i].d;

		ad[i].dest = a->dd[i].dest;
		ad[i].line = a->rr->copy[a->ddcopy[i]].line->code;
		ad[i].decision = denied ? "deny" : d->allow ? "allow" :
		    policy_dest_action_name(d->dest_action);
		ad[i].code = d->code;
		ad[i].rule = d->rule;
	}
	return ad;
}

/* The reason of an allowed photo request's "accepted" record. */
static void
server_audit_photo_reason(const struct server_msgin *a, char *buf,
    size_t sz)
{
	struct ubuf	 b;
	const char	*what;
	int		 i, allowed = 0, noretain = 0;

	for (i = 0; i < a->ndd; i++) {
		allowed += a->dd[i].d.allow;
		noretain |= a->dd[i].d.allow && a->dd[i].d.noretain;
	}
	ubuf_init(&b);
	what = a->pd.photo ? "photo request" : "picture";
	if (allowed == a->ndd)
		ubuf_printf(&b, "%s allowed", what);
	else
		ubuf_printf(&b, "%s allowed for %d of %d destinations", what,
		    allowed, a->ndd);
	for (i = 0; i < a->ndd; i++)
		if (!a->dd[i].d.allow)
			ubuf_printf(&b, "; %s %s (%s)", a->dd[i].dest,
			    a->dd[i].d.dest_action == POLICY_DEST_NOIMQ ?
			    "without the image request" :
			    a->dd[i].d.dest_action == POLICY_DEST_NOIMAGE ?
			    "without the picture" : "left out",
			    a->dd[i].d.code);
	if (noretain)
		ubuf_adds(&b, allowed == 1 && a->ndd == 1 ?
		    "; the state precludes retention" :
		    "; a state precludes retention");
	util_strlcpy(buf, b.data != NULL ? b.data : "", sz);
	ubuf_free(&b);
}

/*
 * The audit record of a message entering the store (docs/policy.md):
 * who sent what where, the policy decision (per destination for a photo
 * request) and what became of it.
 */
static struct audit_rec *
server_audit(const char *event, const struct server_inbound *in,
    const struct server_msgin *a)
{
	const struct msg		*m = &a->m;
	const struct photo_decision	*ph = a->ph.code != NULL ? &a->ph :
					    NULL;
	struct audit_rec		*b;
	struct audit_decision		*ad;
	const char			*outcome = "queued";
	char				 why[600];
	int				 i, held = 0;

	for (i = 0; i < in->nsm; i++)
		if (in->sm[i].status == MSG_SM_HELD)
			held = 1;
	if (held)
		outcome = in->stored > 1 ? "queued, held" : "held";
	b = audit_begin(util_now_us(), "server", event);
	audit_str(b, "msgid", in->msgid);
	audit_str(b, "line", in->from->code);
	audit_str(b, "ori", m->ori);
	audit_str(b, "ctl", m->ctl);
	audit_str(b, "mke", msg_key_name(m->key));
	if (in->regional) {
		/* What the sender sent, and what the states get. */
		if (m->key != MSG_KEY_DQG)
			audit_str(b, "handled_as", msg_key_name(MSG_KEY_DQG));
		audit_str(b, "mke_delivered",
		    msg_key_name(msg_key_delivered(MSG_KEY_DQG)));
		audit_str(b, "priority", "low");
	}
	audit_dests(b, m);
	if (m->imq)
		audit_str(b, "imq", "Y");
	audit_purpose(b, &m->purpose);
	if (ph != NULL) {
		audit_str(b, "decision", ph->action == PHOTO_STRIP ? "strip" :
		    "allow");
		audit_str(b, "code", ph->code);
		audit_str(b, "reason", ph->reason);
	} else {
		audit_str(b, "decision", "allow");
		audit_str(b, "code", a->pd.code);
		if (a->pd.photo || a->ndd > 0) {
			server_audit_photo_reason(a, why, sizeof why);
			audit_str(b, "reason", why);
		}
	}
	if ((ad = server_audit_decisions(a, 0)) != NULL) {
		audit_decisions(b, "decisions", ad, a->ndd);
		free(ad);
	}
	if (in->notice != NULL)
		audit_str(b, "notice", "SM .10.");
	if (in->await != NULL)
		audit_str(b, "await", in->await);
	if (ph != NULL && ph->answers[0] != '\0')
		audit_str(b, "answers", ph->answers);
	if (m->has_photo)
		audit_str(b, "photo", ph == NULL ? "present" :
		    ph->action == PHOTO_STRIP ? "removed" :
		    ph->action == PHOTO_NORETAIN ? "delivered, do-not-retain "
		    "added" : "delivered");
	audit_num(b, "copies", (unsigned long long)in->stored);
	audit_str(b, "outcome", outcome);
	audit_num(b, "size", a->inlen);
	if (a->len != a->inlen)
		audit_num(b, "size_stored", a->len);
	if (m->has_photo)
		audit_num(b, "photo_bytes", m->photo_len);
	return b;
}

static void
server_deny_done_cb(struct queue_op *op, void *arg)
{
	struct server_deny *d = arg;

	/* The denial is durable (or the store refused it): answer now. A
	 * denial stands even when its record could not be written. */
	if (op->result != QUEUE_E_OK)
		log_warnx("server: audit of a denial not stored: %s",
		    queue_strerror(op->result));
	if (session_is_active(d->sess))
		server_nak(d->srv, d->sess, d->tag, d->ori, d->ctl, d->er,
		    d->detail, d->input, d->inlen);
	session_committed(d->sess);
	session_unref(d->sess);
	free((char *)op->audit);
	free(d->input);
	free(d);
}

/*
 * Refuse a by policy (a->pd): the denial is audited (a QUEUE_OP_AUDIT,
 * durable like an ACK), then the NAK carries the ER with the policy code
 * and reason. dest is the state that refused, when a state's rule did
 * (every destination's decision is in the record then). Nothing of the
 * message is stored. Takes nothing over.
 */
static void
server_deny(struct server *srv, struct session *s,
    const struct server_msgin *a, const char *dest)
{
	struct server_deny	*d = xcalloc(1, sizeof *d);
	const struct msg	*m = &a->m;
	const struct policy_decision *pd = &a->pd;
	struct audit_rec	*b;
	struct audit_decision	*ad;

	d->srv = srv;
	d->sess = s;
	d->tag = a->tag;
	d->er = pd->er;
	util_strlcpy(d->ori, m->ori, sizeof d->ori);
	util_strlcpy(d->ctl, m->ctl, sizeof d->ctl);
	util_strlcpy(d->detail, pd->reason, sizeof d->detail);
	/* Enough for the ER's quote and the NAK statistics; a request
	 * carries no photo. */
	d->inlen = a->qlen < 2048 ? a->qlen : 2048;
	d->input = xmalloc(d->inlen + 1);
	memcpy(d->input, a->q, d->inlen);
	d->input[d->inlen] = '\0';

	b = audit_begin(util_now_us(), "server", "denied");
	audit_str(b, "line", session_code(s));
	audit_str(b, "ori", m->ori);
	audit_str(b, "ctl", m->ctl);
	audit_str(b, "mke", msg_key_name(m->key));
	audit_dests(b, m);
	if (dest != NULL)
		audit_str(b, "denied_dest", dest);
	if (m->imq)
		audit_str(b, "imq", "Y");
	audit_purpose(b, &m->purpose);
	audit_str(b, "decision", "deny");
	audit_str(b, "code", pd->code);
	audit_num(b, "er", (unsigned long long)pd->er);
	audit_str(b, "reason", pd->reason);
	if (dest != NULL && (ad = server_audit_decisions(a, 1)) != NULL) {
		audit_decisions(b, "decisions", ad, a->ndd);
		free(ad);
	}
	audit_str(b, "outcome", "nak");
	audit_num(b, "size", a->qlen);
	d->op.type = QUEUE_OP_AUDIT;
	d->op.audit = audit_end(b);
	d->op.done = server_deny_done_cb;
	d->op.arg = d;
	session_ref(s);
	log_info("server: policy deny line=%s ori=%s mke=%s code=%s",
	    session_code(s), m->ori, msg_key_name(m->key), pd->code);
	queue_submit(srv->q, &d->op);
}

/* The policy request of m from line from. */
static void
server_policy_request(struct server *srv, const struct config_line *from,
    const struct msg *m, struct policy_request *r)
{
	memset(r, 0, sizeof *r);
	r->line_entitled = config_line_has_ori(from, m->ori);
	r->agency = oridir_lookup(srv->oridir, m->ori);
	r->ori = m->ori;
	r->key = m->key;
	r->imq = m->imq;
	r->image = m->has_photo;
	r->purpose = m->purpose.present ? &m->purpose : NULL;
}

/* Does a routed copy reach its state (stored, or held for it)? */
static int
server_copy_reaches(const struct router_copy *rc)
{
	return rc->status == 0 || rc->status == MSG_SM_HELD;
}

/* Is routed copy i of a stored (it reaches its state and the photo
 * policy does not leave it out)? */
static int
server_copy_stored(const struct server_msgin *a, int i)
{
	return server_copy_reaches(&a->rr->copy[i]) &&
	    (a->act == NULL || a->act[i] != POLICY_DEST_OMIT);
}

/*
 * The photo rules of every state a photo request reaches, each decided
 * on its own (docs/policy.md): a->dd, a->act, and a->pd for the whole.
 * @return 0, or the ER code when no state may receive the request (*dest
 *	the first that refused).
 */
static int
server_policy_dests(struct server *srv, const struct config_line *from,
    struct server_msgin *a, const char **dest)
{
	const struct router_result	*rr = a->rr;
	const struct config_line	*l;
	struct policy_request		 r;
	int				 i, n, er;

	*dest = NULL;
	if (!policy_is_photo_request(a->m.key, a->m.imq) &&
	    !policy_is_photo_mail(a->m.key, a->m.has_photo))
		return 0;	/* decided before routing: no state's rule */
	server_policy_request(srv, from, &a->m, &r);
	a->dd = xcalloc((size_t)rr->ncopy + 1, sizeof *a->dd);
	a->ddst = xcalloc((size_t)rr->ncopy + 1, sizeof *a->ddst);
	a->ddcopy = xcalloc((size_t)rr->ncopy + 1, sizeof *a->ddcopy);
	a->act = xcalloc((size_t)rr->ncopy + 1, sizeof *a->act);
	for (i = n = 0; i < rr->ncopy; i++) {
		if (!server_copy_reaches(&rr->copy[i]))
			continue;	/* never reaches the state */
		l = rr->copy[i].line;
		util_strlcpy(a->ddst[n].member, l->member,
		    sizeof a->ddst[n].member);
		a->ddst[n].share = l->photo_share;
		a->ddst[n].public_ok = l->photo_public;
		a->ddst[n].noretain = l->photo_noretain;
		a->dd[n].state = &a->ddst[n];
		a->dd[n].dest = rr->copy[i].dest;
		a->ddcopy[n++] = i;
	}
	a->ndd = n;
	er = policy_decide_dests(&r, a->dd, n, &a->pd);
	for (i = 0; i < n; i++) {
		a->act[a->ddcopy[i]] = (uint8_t)(a->dd[i].d.allow ?
		    POLICY_DEST_SEND : a->dd[i].d.dest_action);
		if (er != 0 && *dest == NULL && !a->dd[i].d.allow)
			*dest = a->dd[i].dest;
	}
	return er;
}

/*
 * The SM .10. text of a photo request withheld from some destinations:
 * a line per destination, what it gets and why. @return it (caller
 * frees), or NULL when every destination gets the request as sent.
 */
static char *
server_photo_notice(const struct server_msgin *a)
{
	struct ubuf	 b;
	int		 i;

	ubuf_init(&b);
	for (i = 0; i < a->ndd; i++) {
		const struct policy_decision *d = &a->dd[i].d;

		if (d->allow)
			continue;
		ubuf_printf(&b, "%s%s %s: %s", b.len > 0 ? "\n" : "",
		    a->dd[i].dest, d->dest_action == POLICY_DEST_NOIMQ ?
		    "SENT WITHOUT THE IMAGE REQUEST" : d->dest_action ==
		    POLICY_DEST_NOIMAGE ? "SENT WITHOUT THE PICTURE" :
		    "NOT SENT", d->reason);
	}
	if (b.len == 0) {
		ubuf_free(&b);
		return NULL;
	}
	return ubuf_take(&b, NULL);
}

/*
 * Queue a message of the switch's own (body, key) to line to, for ori:
 * the ACK of owner (may be NULL) waits for its commit. Takes body and
 * audit (may be NULL).
 */
static void
server_submit_notice(struct server *srv, const struct config_line *to,
    enum msg_key key, char *body, size_t len, const char *ori,
    const char *ctl, char *audit, struct server_inbound *owner)
{
	struct server_sm	*sm = xcalloc(1, sizeof *sm);
	size_t			 so, he;

	sm->body = body;
	sm->srv = srv;
	sm->owner = owner;
	sm->op.type = QUEUE_OP_PUT;
	sm->op.msg.msgid = counter_take(srv->msgid);
	sm->op.msg.recv_us = util_now_us();
	if (msg_hdr_span(sm->body, len, 0, &so, &he) == 0)
		sm->op.msg.stamp_off = (uint32_t)so;
	sm->op.msg.key = (uint8_t)key;
	util_strlcpy(sm->op.msg.from_line, "NL", sizeof sm->op.msg.from_line);
	util_strlcpy(sm->op.msg.ori, MSG_SWITCH_ORI, sizeof sm->op.msg.ori);
	util_strlcpy(sm->op.msg.ctl, ctl, sizeof sm->op.msg.ctl);
	sm->op.body = sm->body;
	sm->op.bodylen = len;
	util_strlcpy(sm->copy.line, to->code, sizeof sm->copy.line);
	/* Notices may use the store's reserve (queue.h, "Space"). */
	sm->copy.prio = key == MSG_KEY_SM || key == MSG_KEY_ER ?
	    QUEUE_PRIO_HIGH : QUEUE_PRIO_NORMAL;
	sm->copy.msgid = sm->op.msg.msgid;
	sm->copy.copy = 0;
	util_strlcpy(sm->copy.dest, ori, sizeof sm->copy.dest);
	sm->copy.key = (uint8_t)key;
	sm->copy.enq_us = sm->op.msg.recv_us;
	sm->copy.size = (uint32_t)len;
	sm->op.copies = &sm->copy;
	sm->op.ncopies = 1;
	sm->op.audit = audit;
	sm->op.done = server_sm_done_cb;
	sm->op.arg = sm;
	if (owner != NULL)
		owner->waiting++;
	queue_submit(srv->q, &sm->op);
}

/* Build and submit one SM to the sender of a message; more: lines of
 * text after the SM's own (msgbuild_sm_more), or NULL. */
static void
server_submit_sm(struct server *srv, const struct config_line *to,
    const char *ori, const char *ctl, int status, const char *about_dest,
    enum msg_key about_key, const char *msgid, struct server_inbound *owner,
    const char *more)
{
	struct ubuf		 b;
	struct audit_rec	*a;
	char			*audit = NULL, *body;
	size_t			 len;

	ubuf_init(&b);
	msgbuild_sm_more(&b, ori, ctl, status, about_dest, about_key, msgid,
	    more);
	body = ubuf_take(&b, &len);
	if (status != MSG_SM_EXPIRED && status != MSG_SM_DAMAGED &&
	    status != MSG_SM_PHOTO_WITHHELD) {
		/* The disposition of that destination, with the SM that
		 * tells the sender (the expiry op audits .08 itself, the
		 * dead-lettering or the quarantine .09, the message's
		 * "accepted" record .10 and its destinations). */
		a = audit_begin(util_now_us(), "server",
		    status == MSG_SM_HELD ? "held" : "not-forwarded");
		audit_str(a, "msgid", msgid);
		audit_str(a, "line", to->code);
		audit_str(a, "ori", ori);
		audit_str(a, "ctl", ctl);
		audit_str(a, "mke", msg_key_name(about_key));
		audit_str(a, "about_dest", about_dest);
		audit_num(a, "sm", (unsigned long long)status);
		audit_str(a, "reason", msg_sm_text(status));
		audit_str(a, "outcome", status == MSG_SM_HELD ? "held" :
		    "not stored");
		audit = audit_end(a);
	}
	server_submit_notice(srv, to, MSG_KEY_SM, body, len, ori, ctl, audit,
	    owner);
}

static void
server_inbound_finish(struct server_inbound *in)
{
	struct server		*srv = in->srv;
	struct session		*s = in->sess;
	struct recorder_who	 who;
	int			 code;

	if (in->failed == QUEUE_E_OK) {
		session_send(s, FRAME_ACK, 0, in->tag, in->msgid,
		    strlen(in->msgid));
		server_who(s, &who);
		recorder_ack(&who, in->tag, in->msgid);
		srv->stats.acked++;
		srv->stats.acked_key[in->key]++;
		if (srv->cfg->resend_window > 0)
			resend_add(srv->resend, in->rhash, in->rlen,
			    in->op.msg.msgid, util_mono_us());
		metrics_hist_add(&srv->stats.ack_latency,
		    (double)(util_now_us() - in->op.msg.recv_us) / 1e6);
	} else {
		code = in->failed == QUEUE_E_FULL ? MSG_ER_QUEUE_FULL :
		    MSG_ER_UNAVAILABLE;
		if (in->failed == QUEUE_E_AUDIT)
			log_warnx("server: message refused: %s",
			    queue_strerror(in->failed));
		/* Not stored: the body is still ours to quote. */
		server_nak(srv, s, in->tag, in->ori, in->ctl, code,
		    in->failed == QUEUE_E_DAMAGED &&
		    server_store_damage(srv, NULL) != NULL ?
		    server_store_damage(srv, NULL) :
		    queue_strerror(in->failed), in->op.body, in->op.bodylen);
	}
	session_committed(s);
	session_unref(s);
	free(in->op.copies);
	free((char *)in->op.body);
	free((char *)in->op.audit);
	free(in->await);
	free(in->notice);
	queue_states_free(&in->states);
	msq_free(in->mq);
	hitconf_done(srv->hitconf, in->hc, 0);	/* a PUT never submitted */
	free(in->sm);
	free(in);
}

static void
server_sm_done_cb(struct queue_op *op, void *arg)
{
	struct server_sm		*sm = arg;
	struct server_inbound		*in = sm->owner;
	const struct config_line	*cl;

	if (op->result == QUEUE_E_OK) {
		if (!queue_is_shared(sm->srv->q) && (cl = config_line_by_code(
		    sm->srv->cfg, sm->copy.line)) != NULL)
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
	free((char *)sm->op.audit);
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

	if (in->mqid != 0 && !in->mqpark)
		server_msq_answered(srv, in, op->result);
	if (op->result != QUEUE_E_OK) {
		in->failed = op->result;
		in->nsm = 0;		/* nothing stored: no SM either */
	} else if (op->type == QUEUE_OP_PUT) {
		/* The committed body goes to the lines in memory: delivery
		 * sends it by reference instead of reading it back. */
		struct line_body *body = line_body_new(&srv->lhost, (char *)op->body,
		    op->bodylen, op->msg.stamp_off, op->msg.recv_us,
		    op->msg.in_seq);

		util_strlcpy(body->ori, op->msg.ori, sizeof body->ori);
		util_strlcpy(body->ctl, op->msg.ctl, sizeof body->ctl);
		body->flags = op->msg.flags;
		op->body = NULL;
		for (i = 0; i < op->ncopies && !queue_is_shared(srv->q); i++)
			if ((cl = config_line_by_code(srv->cfg,
			    op->copies[i].line)) != NULL)
				line_add_body(server_line(srv, cl),
				    &op->copies[i], body);
		line_body_unref(body);
		/* Committed: the answers may carry the photo. */
		if (in->await != NULL)
			photo_table_add(srv->photos, in->msgid, in->ori,
			    in->ctl, in->await, op->msg.recv_us +
			    server_photo_ttl(srv));
		if (in->mq != NULL) {
			msq_table_add(srv->msq, in->mq);
			in->mq = NULL;
		}
	}
	hitconf_done(srv->hitconf, in->hc, op->result == QUEUE_E_OK);
	in->hc = NULL;
	/* The message is durable: SMs follow, and the one notice of the
	 * destinations its photo request was withheld from; the ACK does
	 * not wait. An SM names the key the destination's service is for
	 * (a DQG's states receive, hold or refuse a DQ). */
	for (i = 0; i < in->nsm; i++)
		server_submit_sm(srv, in->from, in->ori, in->ctl,
		    in->sm[i].status, in->sm[i].dest,
		    msg_key_delivered(in->key), in->msgid, NULL, NULL);
	if (op->result == QUEUE_E_OK && in->notice != NULL)
		server_submit_sm(srv, in->from, in->ori, in->ctl,
		    MSG_SM_PHOTO_WITHHELD, NULL, in->key, in->msgid, NULL,
		    in->notice);
	if (--in->waiting == 0)
		server_inbound_finish(in);
}

static void
server_resend_done_cb(struct queue_op *op, void *arg)
{
	(void)arg;
	if (op->result != QUEUE_E_OK)
		log_warnx("server: audit of a resend not stored: %s",
		    queue_strerror(op->result));
	free((char *)op->audit);
	free(op);
}

/*
 * A message its line sent again within the resend window after it was
 * acknowledged (docs/protocol.md, "Resends"): ACK it with the first
 * message's id and store nothing. The audit record is informational:
 * what the ACK promises is the first message's, committed long ago.
 * @return 0 if it was a resend (ACK sent), -1 if not.
 */
static int
server_resent(struct server *srv, struct session *s, uint64_t tag,
    uint64_t hash, size_t len)
{
	struct recorder_who	 who;
	struct queue_op		*op;
	struct audit_rec	*a;
	uint64_t		 msgid;
	char			 id[24];

	if (srv->cfg->resend_window == 0 || (msgid = resend_find(srv->resend,
	    hash, len, util_mono_us())) == 0)
		return -1;
	queue_msgid_fmt(id, sizeof id, msgid);
	session_send(s, FRAME_ACK, 0, tag, id, strlen(id));
	server_who(s, &who);
	recorder_ack(&who, tag, id);
	srv->stats.resends++;
	log_info("server: %llu: resend of %s line=%s: acknowledged with its "
	    "id, not stored again", (unsigned long long)session_id(s), id,
	    session_code(s));
	op = xcalloc(1, sizeof *op);
	op->type = QUEUE_OP_AUDIT;
	a = audit_begin(util_now_us(), "server", "resend");
	audit_str(a, "msgid", id);
	audit_str(a, "line", session_code(s));
	audit_num(a, "size", len);
	audit_str(a, "outcome", "acked-as-original");
	op->audit = audit_end(a);
	op->done = server_resend_done_cb;
	queue_submit(srv->q, op);
	return 0;
}

static void
server_inbound(struct server *srv, struct session *s, uint64_t tag,
    char *payload, size_t len)
{
	struct parser_job	*j;
	struct recorder_who	 who;
	uint64_t		 hash;

	srv->stats.received++;
	server_who(s, &who);
	recorder_msg(&who, tag, payload, len);
	/* The resend check hashes every message: not when it is off. */
	hash = srv->cfg->resend_window > 0 ?
	    resend_hash(session_code(s), payload, len) : 0;
	if (server_resent(srv, s, tag, hash, len) == 0) {
		free(payload);
		session_committed(s);
		return;
	}
	if (srv->draining) {
		server_nak(srv, s, tag, NULL, NULL, MSG_ER_UNAVAILABLE,
		    "switch is draining", payload, len);
		free(payload);
		session_committed(s);
		return;
	}
	if (server_store_damage(srv, NULL) != NULL) {
		/* Nothing new goes into a damaged store. */
		server_nak(srv, s, tag, NULL, NULL, MSG_ER_UNAVAILABLE,
		    server_store_damage(srv, NULL), payload, len);
		free(payload);
		session_committed(s);
		return;
	}
	/* Parsing and validation happen in the parser thread; the rest of
	 * the acceptance path goes on in server_parsed_cb, in order. */
	/* Not calloc: the job's diagnostics are 16 KB that the parser
	 * resets itself (parser_run_job); only the inputs are set here. */
	j = xmalloc(sizeof *j);
	j->swap = NULL;
	j->next = NULL;
	j->sess = s;
	session_ref(s);
	j->tag = tag;
	j->payload = payload;
	j->len = len;
	j->maxlen = srv->cfg->max_frame;
	/* XML or legacy text, message by message, whatever the line. */
	j->legacy = legacy_is_text(payload, len);
	j->cookie = hash;
	parser_submit(srv->parser, j);
}

static void
server_parsed_cb(struct parser_job *j, void *arg)
{
	struct server	*srv = arg;
	struct session	*s = j->sess;

	if (session_is_active(s))
		server_accept(srv, s, j);
	else {
		/* The sender is gone: no ACK could reach it, so nothing is
		 * stored (it sends again when it reconnects). */
		free(j->payload);
		ubuf_free(&j->xml);
		session_committed(s);
	}
	session_unref(s);
	free(j);
}

/*
 * Fair share of the store: a message is refused with "queue full for
 * destination" when a line it would be stored for already holds its
 * quota (<line quota quota-msgs>, else <limits dest-quota
 * dest-quota-msgs>), so that one destination that is down or does not
 * read cannot take the room of every other line; and with "queue full
 * for sender" when the copies of what its sender sent, not yet
 * delivered, hold the sender's quota (<line send-quota send-quota-msgs>,
 * else <limits sender-quota sender-quota-msgs>), so that one sender
 * cannot either. Copies not stored (.01/.04, left out by the photo
 * policy) do not count. @return 0, or -1 with why set.
 */
static int
server_quota_check(struct server *srv, const struct config_line *from,
    const struct server_msgin *a, char *why, size_t sz)
{
	const struct router_result	*rr = a->rr;
	const struct config_line	*cl;
	struct line_held		 h;
	uint64_t			 qb, qm, n = 0;
	size_t				 len = a->len;
	int				 i;

	/* The sender: every copy it would add counts. */
	for (i = 0; i < rr->ncopy; i++)
		if (server_copy_stored(a, i))
			n++;
	line_held(server_line(srv, from), &h);
	qb = from->send_quota_bytes ? from->send_quota_bytes :
	    srv->cfg->sender_quota_bytes;
	qm = from->send_quota_msgs ? from->send_quota_msgs :
	    srv->cfg->sender_quota_msgs;
	if (n > 0 && ((qb > 0 && h.sent_bytes + n * len > qb) ||
	    (qm > 0 && h.sent_msgs + n > qm))) {
		srv->stats.quota_refused++;
		snprintf(why, sz, "queue full for sender %s: its messages not "
		    "yet delivered hold %llu copies, %llu KB, its quota is "
		    "%llu KB%s", from->code, (unsigned long long)h.sent_msgs,
		    (unsigned long long)(h.sent_bytes >> 10),
		    (unsigned long long)(qb >> 10),
		    qm > 0 ? " or the message count" : "");
		return -1;
	}
	for (i = 0; i < rr->ncopy; i++) {
		if (!server_copy_stored(a, i))
			continue;
		cl = rr->copy[i].line;
		line_held(server_line(srv, cl), &h);
		qb = cl->quota_bytes ? cl->quota_bytes :
		    srv->cfg->dest_quota_bytes;
		qm = cl->quota_msgs ? cl->quota_msgs :
		    srv->cfg->dest_quota_msgs;
		if ((qb > 0 && h.bytes + len > qb) ||
		    (qm > 0 && h.msgs + 1 > qm)) {
			srv->stats.quota_refused++;
			snprintf(why, sz, "queue full for destination %s: "
			    "it holds %llu messages, %llu KB, its quota is "
			    "%llu KB%s", cl->code,
			    (unsigned long long)h.msgs,
			    (unsigned long long)(h.bytes >> 10),
			    (unsigned long long)(qb >> 10),
			    qm > 0 ? " or the message count" : "");
			return -1;
		}
	}
	return 0;
}

static void
server_msgin_free(struct server_msgin *a)
{
	free(a->dd);
	free(a->ddst);
	free(a->ddcopy);
	free(a->act);
	free(a->rr);
	free(a->payload);
	free(a->text);
}

/*
 * A response's photo goes only to the ORI that asked for it: strip it or
 * mark it do-not-retain as photo_response decides (the input quoted in
 * an ER becomes the rewritten XML unless the sender wrote legacy text).
 */
static enum server_verdict
server_accept_photo(struct server *srv, struct session *s,
    struct server_msgin *a)
{
	struct ubuf	 nb;
	size_t		 nlen;
	int		 strip;

	photo_response(srv->photos, &a->m, session_code(s),
	    server_sess_cfg(s)->photo_noretain, a->now, &a->ph);
	if (a->ph.action == PHOTO_STRIP && strcmp(a->ph.code, "P201") == 0 &&
	    queue_is_shared(srv->q)) {
		/* The request may have come in through another switch node:
		 * its record is in the shared store (docs/cluster.md). */
		photo_table_free(srv->photos);
		srv->photos = photo_table_new();
		server_photo_load(srv, srv->photos);
		photo_response(srv->photos, &a->m, session_code(s),
		    server_sess_cfg(s)->photo_noretain, a->now, &a->ph);
	}
	if (a->ph.action != PHOTO_STRIP && a->ph.action != PHOTO_NORETAIN)
		return SERVER_PASS;
	strip = a->ph.action == PHOTO_STRIP;
	ubuf_init(&nb);
	if (msgbuild_photo_rewrite(&nb, a->payload, a->len, strip ?
	    MSGBUILD_PHOTO_STRIP : MSGBUILD_PHOTO_NORETAIN) < 0) {
		ubuf_free(&nb);
		server_nak(srv, s, a->tag, a->m.ori, a->m.ctl, MSG_ER_FORMAT,
		    "photo not found in the response", a->q, a->qlen);
		return SERVER_NAKED;
	}
	/* The photo must not linger in freed memory. */
	explicit_bzero(a->payload, a->len);
	free(a->payload);
	a->payload = ubuf_take(&nb, &nlen);
	a->len = nlen;
	if (a->text == NULL) {
		a->q = a->payload;
		a->qlen = a->len;
	}
	log_info("server: photo %s line=%s ori=%s to=%s code=%s", strip ?
	    "removed" : "marked do-not-retain", session_code(s), a->m.ori,
	    a->m.ndest > 0 ? a->m.dest[0] : "-", a->ph.code);
	return SERVER_PASS;
}

/*
 * Is a handled as a DQG, and does it keep a DQG's rules? A DQG is one,
 * its rules checked by the parser. A DQ written in legacy text to a
 * region code is one too (Nlets, legacy text: "If a regional code is
 * used, the message type should be DQG. If it is not, Nlets will change
 * it to DQG and handle it at a lower priority"), checked here, before
 * the photo policy could judge a photo request it may not make.
 */
static enum server_verdict
server_accept_regional(struct server *srv, struct session *s,
    struct server_msgin *a)
{
	const char	*reg;
	char		 why[400], detail[480];
	int		 code;

	if (a->m.key == MSG_KEY_DQG) {
		a->regional = 1;
		return SERVER_PASS;
	}
	if (a->m.key != MSG_KEY_DQ || a->text == NULL ||
	    (reg = router_region_of(srv->cfg, &a->m)) == NULL)
		return SERVER_PASS;
	if ((code = msg_dqg_check(&a->m, why, sizeof why)) != 0) {
		snprintf(detail, sizeof detail, "a DQ to region %s is handled "
		    "as a DQG; %s", reg, why);
		server_nak(srv, s, a->tag, a->m.ori, a->m.ctl, code, detail,
		    a->q, a->qlen);
		return SERVER_NAKED;
	}
	a->regional = 1;
	return SERVER_PASS;
}

/*
 * An AML goes out with Nlets' law-enforcement-only caveat on the first
 * line of its text (msgbuild_caveat; not twice when the sender wrote
 * it): what is stored, so every destination and every rendering has it.
 * A text the caveat would make longer than MailMessageText may be is
 * refused (ER .22. naming the limit).
 */
static enum server_verdict
server_accept_caveat(struct server *srv, struct session *s,
    struct server_msgin *a)
{
	struct ubuf	 nb;
	size_t		 nlen, chars, max = msgparse_text_max(srv->schema);
	char		 why[300];

	ubuf_init(&nb);
	if (msgbuild_caveat(&nb, a->payload, a->len, MSGBUILD_AML_CAVEAT, max,
	    &chars) == -1) {
		if (chars > max)
			snprintf(why, sizeof why, "with the caveat %s, which "
			    "the switch puts on the first line of an AML, "
			    "MailMessageText would have %zu characters, %zu at "
			    "most: shorten the text by %zu", MSGBUILD_AML_CAVEAT,
			    chars, max, chars - max);
		else
			snprintf(why, sizeof why, "an AML's caveat goes on the "
			    "first line of n2:MailMessageText, which this "
			    "message does not have");
		server_nak(srv, s, a->tag, a->m.ori, a->m.ctl, MSG_ER_FORMAT,
		    why, a->q, a->qlen);
		return SERVER_NAKED;
	}
	free(a->payload);
	a->payload = ubuf_take(&nb, &nlen);
	a->len = nlen;
	a->m.raw = a->payload;
	a->m.rawlen = nlen;
	if (a->text == NULL) {
		a->q = a->payload;
		a->qlen = a->len;
	}
	return SERVER_PASS;
}

/*
 * Everything that can refuse a message, in order: the parser's verdict,
 * a DQG's rules for a DQ handled as one, who may send what (ORI
 * directory, before routing says where), the route, the photo policy per
 * state, the photo of a response, an AML's caveat, quotas.
 */
static enum server_verdict
server_accept_check(struct server *srv, struct session *s, int code,
    const struct msg_diags *dg, struct server_msgin *a)
{
	const struct config_line	*from = server_sess_cfg(s);
	const char			*pdest;
	struct policy_request		 pr;
	char				 why[200];

	if (code != 0) {
		server_nak(srv, s, a->tag, a->m.ori, a->m.ctl, code,
		    dg->n > 0 ? dg->d[0].text : NULL, a->q, a->qlen);
		return SERVER_NAKED;
	}
	if (server_accept_regional(srv, s, a) != SERVER_PASS)
		return SERVER_NAKED;
	/* Who may send what: the sender's rules, before routing. */
	server_policy_request(srv, from, &a->m, &pr);
	if (policy_decide(&pr, &a->pd) != 0) {
		server_deny(srv, s, a, NULL);
		return SERVER_DENIED;
	}
	if (a->m.key == MSG_KEY_AM && a->m.ndest == 1 &&
	    help_dest(a->m.dest[0]) != HELP_NONE) {
		if (help_dest(a->m.dest[0]) == HELP_QUERY)
			return SERVER_HELP;
		server_nak(srv, s, a->tag, a->m.ori, a->m.ctl, MSG_ER_DEST,
		    "the switch's HELP files are generated from its "
		    "configuration: UPDT, APND and CNCL are not available",
		    a->q, a->qlen);
		return SERVER_NAKED;
	}
	a->rr = xmalloc(sizeof *a->rr);
	if ((code = router_route(srv->cfg, &a->m, from, server_svc_cb, srv,
	    a->rr)) != 0) {
		server_nak(srv, s, a->tag, a->m.ori, a->m.ctl, code,
		    a->rr->detail, a->q, a->qlen);
		return SERVER_NAKED;
	}
	/* A photo request is decided per state before it reaches one. */
	if (server_policy_dests(srv, from, a, &pdest) != 0) {
		server_deny(srv, s, a, pdest);
		return SERVER_DENIED;
	}
	if (msg_key_is_response(a->m.key) &&
	    server_accept_photo(srv, s, a) != SERVER_PASS)
		return SERVER_NAKED;
	if (a->m.key == MSG_KEY_AML &&
	    server_accept_caveat(srv, s, a) != SERVER_PASS)
		return SERVER_NAKED;
	if (server_quota_check(srv, from, a, why, sizeof why) == -1) {
		server_nak(srv, s, a->tag, a->m.ori, a->m.ctl,
		    MSG_ER_QUEUE_FULL, why, a->q, a->qlen);
		return SERVER_NAKED;
	}
	return SERVER_PASS;
}

/*
 * Multi-state queries (msq.h): a query to NL or a region is answered once,
 * merged. The table entry is added when the query commits; an answer is
 * parked (a copy on MSQ_LINE) or, NOT ON FILE, recorded as its member's
 * state; the merge is one PUT of the switch's answer to the sender that
 * also rewrites the query's state records, then the parked copies are
 * deleted. A crash between the two leaves parked copies nobody refers
 * to: start-up deletes them.
 */

/* A message id as the audit writes it (one at a time: loop thread). */
static const char *
server_msq_idstr(uint64_t id)
{
	static char	buf[24];

	queue_msgid_fmt(buf, sizeof buf, id);
	return buf;
}

/* Is a destination of m NL or a region code? */
static int
server_msq_group(struct server *srv, const struct msg *m)
{
	int i;

	for (i = 0; i < m->ndest && i < MSG_MAXDEST; i++)
		if (strcmp(m->dest[i], "NL") == 0)
			return 1;
	return router_region_of(srv->cfg, m) != NULL;
}

/* The table entry of a multi-state query, before its copies are made. */
static struct msq *
server_msq_new(struct server *srv, const struct server_inbound *in,
    const struct server_msgin *a)
{
	char	to[64];
	size_t	n = 0;
	int	i;

	to[0] = '\0';
	for (i = 0; i < a->m.ndest && i < MSG_MAXDEST; i++)
		n += (size_t)snprintf(to + n, n < sizeof to ? sizeof to - n : 0,
		    "%s%s", i > 0 ? "," : "", a->m.dest[i]);
	return msq_new(in->op.msg.msgid, a->m.key, a->m.ori, a->m.ctl,
	    in->from->code, to, a->now, a->now + srv->cfg->msq_timeout *
	    1000000, a->now + server_photo_ttl(srv));
}

/* The one copy of an answer parked on pseudo line line. */
static void
server_msq_copy(struct server_inbound *in, const struct server_msgin *a,
    const char *line)
{
	struct queue_copy *qc;

	in->op.copies = xcalloc(1, sizeof *in->op.copies);
	qc = &in->op.copies[0];
	util_strlcpy(qc->line, line, sizeof qc->line);
	qc->prio = QUEUE_PRIO_NORMAL;
	qc->msgid = in->op.msg.msgid;
	util_strlcpy(qc->dest, a->m.dest[0], sizeof qc->dest);
	qc->key = (uint8_t)a->m.key;
	qc->enq_us = a->now;
	qc->size = (uint32_t)a->len;
	util_strlcpy(qc->from_line, in->from->code, sizeof qc->from_line);
	in->op.ncopies = in->stored = 1;
}

/* Load filter: another switch node's query (shared store). */
static int
server_msq_theirs(uint64_t id, const struct msq *head, void *arg)
{
	(void)head;
	return MSQ_NODE(id) != ((struct server *)arg)->cfg->store_node;
}

/* What an answer can belong to: another node's query of its pair. */
struct server_msq_want {
	struct server		*srv;
	const struct msg	*m;
};

/* Load filter: only the queries an answer could match are read whole
 * (the others' headers are read, their members not). */
static int
server_msq_pair(uint64_t id, const struct msq *head, void *arg)
{
	const struct server_msq_want *w = arg;

	return server_msq_theirs(id, NULL, w->srv) && (head == NULL ||
	    ((int)msg_key_answer(head->key) == (int)w->m->key &&
	    strcmp(head->ori, w->m->dest[0]) == 0 &&
	    strcmp(head->ctl, w->m->ctl) == 0));
}

/*
 * A shared store (docs/cluster.md): an answer to a query that awaits it,
 * this node's or another's (the others' queries are read from the view,
 * which follows their records), is parked on the pseudo line of the node
 * that took the query, hit or NOT ON FILE alike (flagged). That node
 * records it when the store hands it over (server_msq_arrive): each node
 * alone writes its queries' records, and merges only answers its view
 * holds. @return 0, or -1 if a answers no query.
 */
static int
server_msq_park(struct server *srv, struct server_inbound *in,
    const struct server_msgin *a)
{
	struct server_msq_want	 want = { srv, &a->m };
	struct msq_table	*t = NULL;
	struct msq		*q;
	char			 line[QUEUE_LINE_LEN + 1];
	int			 mi;

	if ((q = msq_match(srv->msq, a->m.key, a->m.dest[0], a->m.ctl,
	    in->from->code, &mi)) == NULL) {
		t = msq_table_new();
		if (msq_table_load(t, srv->q, server_msq_pair, &want,
		    NULL) == 0)
			q = msq_match(t, a->m.key, a->m.dest[0], a->m.ctl,
			    in->from->code, &mi);
	}
	if (q != NULL) {
		in->mqid = q->id;
		in->mqpark = 1;
		msq_line(line, sizeof line, MSQ_NODE(q->id));
		server_msq_copy(in, a, line);
		if (a->m.not_on_file && a->m.nrecords == 0)
			in->op.msg.flags |= QUEUE_MSG_NOREC;
		log_info("server: %s: answer from line=%s to multi-state "
		    "query %s parked for node %d", in->msgid, in->from->code,
		    q->idstr, MSQ_NODE(q->id));
	}
	msq_table_free(t);
	return q != NULL ? 0 : -1;
}

/* An answer parked for one of this node's queries, being recorded. */
struct server_msqrec {
	struct server		*srv;
	struct queue_op		 op;
	struct queue_copy	 copy;
	struct queue_states	 states;
	uint64_t		 qid;
	int			 member;
	int			 st;		/* enum msq_st */
	char			*body;		/* delivered alone: owned */
};

static void
server_msqrec_free(struct server_msqrec *r)
{
	queue_states_free(&r->states);
	free(r->body);
	free(r);
}

static void
server_msq_recorded_cb(struct queue_op *op, void *arg)
{
	struct server_msqrec	*r = arg;
	struct server		*srv = r->srv;
	struct msq		*q = msq_table_find(srv->msq, r->qid);
	int			 ok = op->result == QUEUE_E_OK;

	if (q != NULL) {
		q->m[r->member].inflight = 0;
		if (ok) {
			q->m[r->member].st = r->st;
			q->m[r->member].answer = r->st == MSQ_HIT ?
			    r->copy.msgid : 0;
		}
	}
	if (!ok) {
		/* Recorded again at the next tick (server_msq_run). */
		log_warnx("server: answer %llx to multi-state query %s not "
		    "recorded: %s (tried again)",
		    (unsigned long long)r->copy.msgid,
		    server_msq_idstr(r->qid), queue_strerror(op->result));
		srv->msq_retry = xrealloc(srv->msq_retry,
		    (srv->nmsq_retry + 1) * sizeof *srv->msq_retry);
		srv->msq_retry[srv->nmsq_retry++] = r->copy;
	}
	server_msqrec_free(r);
	if (ok)
		server_msq_run(srv);
}

/* The answer no query awaits any more, delivered alone, then unparked. */
static void
server_msq_alone_cb(struct queue_op *op, void *arg)
{
	struct server_msqrec	*r = arg;

	if (op->result == QUEUE_E_OK)
		server_unpark(r->srv, &r->copy);
	else
		log_warnx("server: parked answer %llx not delivered: %s "
		    "(it stays parked)", (unsigned long long)r->copy.msgid,
		    queue_strerror(op->result));
	free(r->op.copies);
	server_msqrec_free(r);
}

/*
 * A shared store: the answer c, parked for one of this node's queries by
 * whichever node took it (server_msq_park), recorded as its member's
 * state in the query's records: a hit stays parked for the merge; NOT ON
 * FILE before the summary is deleted in the same op. An answer no query
 * awaits (the member answered twice, or the query is forgotten) goes to
 * its ORI on its own, as on a switch of its own; at start-up (load) it
 * is what a crash between a merge and the deletion of its answers left,
 * and is deleted.
 */
static void
server_msq_arrive(struct server *srv, const struct queue_copy *c, int load)
{
	struct server_msqrec		*r;
	const struct config_line	*cl;
	struct queue_msgrec		 rec;
	struct ubuf			 body;
	struct queue_copy		*oc;
	struct msq			*q;
	size_t				 len;
	int				 mi;

	ubuf_init(&body);
	if (queue_get(srv->q, c->msgid, &rec, &body) != QUEUE_E_OK) {
		log_warnx("server: parked answer %llx has no message in the "
		    "store: deleted", (unsigned long long)c->msgid);
		ubuf_free(&body);
		server_unpark(srv, c);
		return;
	}
	r = xcalloc(1, sizeof *r);
	r->srv = srv;
	r->copy = *c;
	q = msq_match(srv->msq, c->key, c->dest, rec.ctl, c->from_line, &mi);
	if (q == NULL && load) {
		ubuf_free(&body);
		server_msqrec_free(r);
		server_unpark(srv, c);
		return;
	}
	if (q == NULL) {
		if ((cl = config_line_by_ori(srv->cfg, c->dest)) == NULL) {
			log_warnx("server: parked answer %llx: no line serves "
			    "ORI %s (it stays parked)",
			    (unsigned long long)c->msgid, c->dest);
			ubuf_free(&body);
			server_msqrec_free(r);
			return;
		}
		r->body = ubuf_take(&body, &len);
		r->op.type = QUEUE_OP_PUT;
		r->op.msg = rec;
		r->op.msg.msgid = counter_take(srv->msgid);
		r->op.msg.flags &= (uint8_t)~QUEUE_MSG_NOREC;
		r->op.body = r->body;
		r->op.bodylen = len;
		oc = r->op.copies = xcalloc(1, sizeof *oc);
		*oc = *c;
		util_strlcpy(oc->line, cl->code, sizeof oc->line);
		oc->msgid = r->op.msg.msgid;
		oc->enq_us = util_now_us();
		r->op.ncopies = 1;
		r->op.done = server_msq_alone_cb;
		r->op.arg = r;
		log_info("server: parked answer %016llx from line=%s awaited by "
		    "no query: delivered alone as %016llx",
		    (unsigned long long)c->msgid, c->from_line,
		    (unsigned long long)r->op.msg.msgid);
		queue_submit(srv->q, &r->op);
		return;
	}
	ubuf_free(&body);
	r->qid = q->id;
	r->member = mi;
	q->m[mi].inflight = 1;
	if (!q->done && (rec.flags & QUEUE_MSG_NOREC)) {
		r->st = MSQ_NOREC;
		r->op.type = QUEUE_OP_DELETE;
		r->op.copies = &r->copy;
		r->op.ncopies = 1;
		msq_states_answer(&r->states, q, mi, MSQ_NOREC, 0);
	} else {
		r->st = MSQ_HIT;
		r->op.type = QUEUE_OP_STATE;
		msq_states_answer(&r->states, q, mi, MSQ_HIT, c->msgid);
	}
	r->op.states = r->states.st;
	r->op.nstates = r->states.n;
	r->op.done = server_msq_recorded_cb;
	r->op.arg = r;
	log_info("server: answer %016llx from line=%s to multi-state query %s "
	    "recorded (%s)", (unsigned long long)c->msgid, c->from_line,
	    q->idstr, r->st == MSQ_NOREC ? "not on file" : q->done ? "late" :
	    "parked");
	queue_submit(srv->q, &r->op);
}

/*
 * An answer to a multi-state query that awaits it: parked for the
 * merge (or, after the summary, for its late delivery), or, NOT ON
 * FILE before the summary, recorded as its member's state and not
 * stored. @return 0, or -1 if a answers no such query.
 */
static int
server_msq_answer(struct server *srv, struct server_inbound *in,
    const struct server_msgin *a)
{
	struct msq		*q;
	int			 mi;

	if (!msg_key_is_response(a->m.key) || a->m.ndest != 1)
		return -1;
	if (queue_is_shared(srv->q))
		return server_msq_park(srv, in, a);
	if ((q = msq_match(srv->msq, a->m.key, a->m.dest[0], a->m.ctl,
	    in->from->code, &mi)) == NULL)
		return -1;
	in->mqid = q->id;
	in->mqmember = mi;
	q->m[mi].inflight = 1;
	if (!q->done && a->m.not_on_file && a->m.nrecords == 0) {
		in->mqst = MSQ_NOREC;
		msq_states_answer(&in->states, q, mi, MSQ_NOREC, 0);
		return 0;
	}
	in->mqst = MSQ_HIT;
	server_msq_copy(in, a, srv->msq_line);
	msq_states_answer(&in->states, q, mi, MSQ_HIT, in->op.msg.msgid);
	log_info("server: %s: answer from line=%s to multi-state query %s "
	    "(%s)", in->msgid, in->from->code, q->idstr, q->done ? "late" :
	    "parked");
	return 0;
}

/* The answer committed (or not): its member's state in the table. */
static void
server_msq_answered(struct server *srv, struct server_inbound *in,
    int result)
{
	struct msq		*q;
	struct msq_member	*mb;

	if ((q = msq_table_find(srv->msq, in->mqid)) == NULL)
		return;
	mb = &q->m[in->mqmember];
	mb->inflight = 0;
	if (result != QUEUE_E_OK)
		return;
	mb->st = in->mqst;
	mb->answer = in->mqst == MSQ_HIT ? in->op.msg.msgid : 0;
	server_msq_run(srv);
}

/* A multi-state query no member is in service for: the summary at once,
 * committed before the query's ACK. */
static void
server_msq_none(struct server *srv, struct server_inbound *in)
{
	struct audit_rec	*rec;
	struct ubuf		 b;
	char			*body;
	size_t			 len;

	ubuf_init(&b);
	msq_build(&b, in->mq, -1, NULL, NULL, 0, util_now_us());
	body = ubuf_take(&b, &len);
	rec = audit_begin(util_now_us(), "server", "msq-summary");
	audit_str(rec, "query", in->msgid);
	audit_str(rec, "line", in->from->code);
	audit_str(rec, "ori", in->ori);
	audit_str(rec, "ctl", in->ctl);
	audit_num(rec, "queried", (unsigned long long)in->mq->nmember);
	audit_num(rec, "removed", (unsigned long long)msq_count(in->mq,
	    MSQ_OUT));
	audit_str(rec, "outcome", "no member in service");
	srv->stats.msq_summaries++;
	server_submit_notice(srv, in->from, msg_key_answer(in->mq->key), body,
	    len, in->ori, in->ctl, audit_end(rec), in);
	msq_free(in->mq);
	in->mq = NULL;
}

/* A merge on its way into the store. */
struct server_merge {
	struct queue_op		 op;
	struct queue_copy	 copy;		/* to the sender's line */
	struct server		*srv;
	uint64_t		 qid;
	int			 late;		/* member, or -1: the summary */
	int			 cont_answer;	/* late is a hit continued */
	int			 forget;	/* the query's records deleted */
	int			*incl;		/* members merged */
	int			 nincl;
	int			*cont;		/* hits left for later: no room */
	int			 ncont;
	struct queue_copy	*parked;	/* their copies, deleted after */
	int			 nparked;
	struct queue_states	 states;
};

/* One parked copy being deleted. */
struct server_unpark {
	struct queue_op		 op;
	struct queue_copy	 copy;
};

static void
server_unpark_done_cb(struct queue_op *op, void *arg)
{
	if (op->result != QUEUE_E_OK && op->result != QUEUE_E_NOTFOUND)
		log_warnx("server: parked answer %llx not deleted: %s",
		    (unsigned long long)op->copies[0].msgid,
		    queue_strerror(op->result));
	free(arg);
}

static void
server_unpark(struct server *srv, const struct queue_copy *c)
{
	struct server_unpark *u = xcalloc(1, sizeof *u);

	u->copy = *c;
	u->op.type = QUEUE_OP_DELETE;
	u->op.copies = &u->copy;
	u->op.ncopies = 1;
	u->op.done = server_unpark_done_cb;
	u->op.arg = u;
	queue_submit(srv->q, &u->op);
}

/* What the merge changes in q: applied at its commit. */
static void
server_merge_apply(struct msq *q, const struct server_merge *mg)
{
	int i;

	q->done = 1;
	for (i = 0; i < mg->nincl; i++) {
		struct msq_member *mb = &q->m[mg->incl[i]];

		mb->answer = 0;
		if (mg->late >= 0)
			mb->st = mb->st == MSQ_CONT ? MSQ_HIT : MSQ_LATE;
	}
	for (i = 0; i < mg->ncont; i++)
		q->m[mg->cont[i]].st = MSQ_CONT;
}

/*
 * The state records the merge writes: q as it will be, or, when nothing
 * remains to wait for, the deletion of them all (mg->forget).
 */
static void
server_merge_states(struct server_merge *mg, struct msq *q)
{
	struct msq_member	*saved;
	int			 i, done = q->done, parked = 0;

	saved = xcalloc((size_t)q->nmember, sizeof *saved);
	memcpy(saved, q->m, (size_t)q->nmember * sizeof *saved);
	server_merge_apply(q, mg);
	for (i = 0; i < q->nmember; i++)
		if (q->m[i].answer != 0)
			parked = 1;
	mg->forget = !parked && msq_finished(q, util_now_us());
	if (mg->forget)
		msq_states_del(&mg->states, q);
	else {
		msq_states_head(&mg->states, q);
		for (i = 0; i < mg->nincl; i++)
			msq_states_member(&mg->states, q, mg->incl[i]);
		for (i = 0; i < mg->ncont; i++)
			msq_states_member(&mg->states, q, mg->cont[i]);
	}
	memcpy(q->m, saved, (size_t)q->nmember * sizeof *saved);
	q->done = done;
	free(saved);
}

static void
server_merge_done_cb(struct queue_op *op, void *arg)
{
	struct server_merge		*mg = arg;
	struct server			*srv = mg->srv;
	const struct config_line	*cl;
	struct msq			*q = msq_table_find(srv->msq, mg->qid);
	int				 i, ok = op->result == QUEUE_E_OK;

	if (ok) {
		if (op->type == QUEUE_OP_PUT && !queue_is_shared(srv->q) &&
		    (cl = config_line_by_code(srv->cfg, mg->copy.line)) !=
		    NULL)
			line_add(server_line(srv, cl), &mg->copy);
		for (i = 0; i < mg->nparked; i++)
			server_unpark(srv, &mg->parked[i]);
		if (mg->late < 0)
			srv->stats.msq_summaries++;
		else if (!mg->cont_answer)
			srv->stats.msq_late++;
	} else
		log_warnx("server: merged answer to %s not stored: %s "
		    "(tried again)", server_msq_idstr(mg->qid),
		    queue_strerror(op->result));
	if (q != NULL) {
		q->busy = 0;
		if (ok) {
			server_merge_apply(q, mg);
			if (mg->forget)
				msq_table_del(srv->msq, q);
		}
	}
	free((char *)op->body);
	free((char *)op->audit);
	queue_states_free(&mg->states);
	free(mg->incl);
	free(mg->cont);
	free(mg->parked);
	free(mg);
	if (ok)
		server_msq_run(srv);
}

/* The audit record of a merge. */
static char *
server_merge_audit(const struct server_merge *mg, const struct msq *q,
    int nbody)
{
	struct audit_rec	*rec;
	char			 id[24];

	rec = audit_begin(util_now_us(), "server", mg->late < 0 ?
	    "msq-summary" : mg->cont_answer ? "msq-continued" : "msq-late");
	queue_msgid_fmt(id, sizeof id, mg->op.msg.msgid);
	if (mg->op.type == QUEUE_OP_PUT)
		audit_str(rec, "msgid", id);
	audit_str(rec, "query", q->idstr);
	audit_str(rec, "line", q->line);
	audit_str(rec, "ori", q->ori);
	audit_str(rec, "ctl", q->ctl);
	if (mg->late >= 0)
		audit_str(rec, "member", q->m[mg->late].dest);
	else {
		audit_num(rec, "queried", (unsigned long long)q->nmember);
		audit_num(rec, "hit", (unsigned long long)msq_count(q,
		    MSQ_HIT));
		audit_num(rec, "not_on_file", (unsigned long long)msq_count(q,
		    MSQ_NOREC));
		audit_num(rec, "held", (unsigned long long)msq_count(q,
		    MSQ_HELD));
		audit_num(rec, "removed", (unsigned long long)msq_count(q,
		    MSQ_OUT));
		audit_num(rec, "no_response", (unsigned long long)msq_count(q,
		    MSQ_PENDING));
	}
	audit_num(rec, "answers", (unsigned long long)nbody);
	audit_str(rec, "outcome", mg->op.type == QUEUE_OP_PUT ? "queued" :
	    "dropped: the sender's line is no longer configured");
	return audit_end(rec);
}

/*
 * Read the parked answers mg merges into bodies, as many as the merged
 * answer has room for within max-frame (the first always): the others
 * stay parked, sent after it on their own (mg->cont). @return how many.
 */
static int
server_merge_bodies(struct server *srv, struct server_merge *mg,
    const struct msq *q, struct ubuf *bb, int *photo)
{
	struct queue_msgrec	 rec;
	struct ubuf		 env;
	size_t			 room, used;
	int			 i, n = 0;

	/* The envelope and summary, and room for the delivery's stamps. */
	ubuf_init(&env);
	msq_build(&env, q, mg->late, NULL, NULL, 0, util_now_us());
	used = env.len + 512;
	ubuf_free(&env);
	room = srv->cfg->max_frame;
	for (i = 0; i < q->nmember; i++) {
		const struct msq_member *mb = &q->m[i];
		struct queue_copy	*pc;

		if (mb->answer == 0 || mb->inflight ||
		    (mg->late >= 0 && i != mg->late))
			continue;
		ubuf_init(&bb[n]);
		if (queue_get(srv->q, mb->answer, &rec, &bb[n]) !=
		    QUEUE_E_OK) {
			log_warnx("server: %s: the answer of %s (%llx) is "
			    "not in the store: merged without it", q->idstr,
			    mb->dest, (unsigned long long)mb->answer);
			ubuf_free(&bb[n]);
		} else if (n > 0 && used + bb[n].len + 64 > room) {
			mg->cont[mg->ncont++] = i;
			ubuf_free(&bb[n]);
			continue;
		} else {
			used += bb[n].len + 64;
			if (rec.flags & QUEUE_MSG_PHOTO)
				*photo = 1;
			n++;
		}
		mg->incl[mg->nincl++] = i;
		pc = &mg->parked[mg->nparked++];
		util_strlcpy(pc->line, srv->msq_line, sizeof pc->line);
		pc->prio = QUEUE_PRIO_NORMAL;
		pc->msgid = mb->answer;
		util_strlcpy(pc->dest, q->ori, sizeof pc->dest);
	}
	return n;
}

/*
 * Merge q: its summary with every answer parked (late < 0), or the late
 * answer of member late. q stays busy until the commit.
 */
static void
server_msq_merge(struct server *srv, struct msq *q, int late)
{
	const struct config_line *to = config_line_by_code(srv->cfg, q->line);
	struct server_merge	*mg = xcalloc(1, sizeof *mg);
	struct ubuf		*bb, out;
	const char		**bodies;
	size_t			*lens, len, so, he;
	int			 i, n, photo = 0;
	enum msg_key		 rkey = msg_key_answer(q->key);

	q->busy = 1;
	mg->srv = srv;
	mg->qid = q->id;
	mg->late = late;
	mg->cont_answer = late >= 0 && q->m[late].st == MSQ_CONT;
	mg->incl = xcalloc((size_t)q->nmember, sizeof *mg->incl);
	mg->cont = xcalloc((size_t)q->nmember, sizeof *mg->cont);
	mg->parked = xcalloc((size_t)q->nmember, sizeof *mg->parked);
	bb = xcalloc((size_t)q->nmember, sizeof *bb);
	bodies = xcalloc((size_t)q->nmember, sizeof *bodies);
	lens = xcalloc((size_t)q->nmember, sizeof *lens);
	n = server_merge_bodies(srv, mg, q, bb, &photo);
	for (i = 0; i < n; i++) {
		bodies[i] = bb[i].data;
		lens[i] = bb[i].len;
	}
	ubuf_init(&out);
	if (msq_build(&out, q, late, bodies, lens, n, util_now_us()) != 0)
		msq_build(&out, q, late, NULL, NULL, 0, util_now_us());
	for (i = 0; i < n; i++) {
		if (photo)
			explicit_bzero(bb[i].data, bb[i].len);
		ubuf_free(&bb[i]);
	}
	free(bb);
	free(bodies);
	free(lens);
	server_merge_states(mg, q);
	mg->op.type = to != NULL ? QUEUE_OP_PUT : QUEUE_OP_STATE;
	mg->op.msg.msgid = counter_take(srv->msgid);
	mg->op.msg.recv_us = util_now_us();
	mg->op.body = ubuf_take(&out, &len);
	mg->op.bodylen = len;
	if (msg_hdr_span(mg->op.body, len, 0, &so, &he) == 0)
		mg->op.msg.stamp_off = (uint32_t)so;
	mg->op.msg.key = (uint8_t)rkey;
	mg->op.msg.flags = photo ? QUEUE_MSG_PHOTO : 0;
	util_strlcpy(mg->op.msg.from_line, "NL", sizeof mg->op.msg.from_line);
	util_strlcpy(mg->op.msg.ori, MSG_SWITCH_ORI, sizeof mg->op.msg.ori);
	util_strlcpy(mg->op.msg.ctl, q->ctl, sizeof mg->op.msg.ctl);
	if (to != NULL) {
		util_strlcpy(mg->copy.line, to->code, sizeof mg->copy.line);
		mg->copy.prio = QUEUE_PRIO_NORMAL;
		mg->copy.msgid = mg->op.msg.msgid;
		util_strlcpy(mg->copy.dest, q->ori, sizeof mg->copy.dest);
		mg->copy.key = (uint8_t)rkey;
		mg->copy.enq_us = mg->op.msg.recv_us;
		mg->copy.size = (uint32_t)len;
		mg->op.copies = &mg->copy;
		mg->op.ncopies = 1;
	}
	mg->op.audit = server_merge_audit(mg, q, n);
	mg->op.states = mg->states.st;
	mg->op.nstates = mg->states.n;
	mg->op.done = server_merge_done_cb;
	mg->op.arg = mg;
	log_info("server: %s: multi-state %s to line=%s ori=%s answers=%d",
	    q->idstr, late >= 0 ? "late answer" : "summary", q->line, q->ori,
	    n);
	queue_submit(srv->q, &mg->op);
}


/* Delete state records (forgotten queries, unreadable records). */
static void
server_msq_sweep(struct server *srv, struct queue_states *qs)
{
	server_submit_states(srv, qs, "deletions of multi-state query "
	    "records");
}

/* Summaries due, late answers parked, queries to forget. */
static void
server_msq_run(struct server *srv)
{
	struct queue_states	*qs;
	struct msq		*q;
	uint64_t		 now = util_now_us();
	int			 mi;

	if (srv->nmsq_retry > 0) {
		struct queue_copy	*rc = srv->msq_retry;
		size_t			 i, n = srv->nmsq_retry;

		srv->msq_retry = NULL;
		srv->nmsq_retry = 0;
		for (i = 0; i < n; i++)
			server_msq_arrive(srv, &rc[i], 0);
		free(rc);
	}
	while ((q = msq_due(srv->msq, now)) != NULL)
		server_msq_merge(srv, q, -1);
	while ((q = msq_late(srv->msq, &mi)) != NULL)
		server_msq_merge(srv, q, mi);
	while ((q = msq_stale(srv->msq, now)) != NULL) {
		qs = xcalloc(1, sizeof *qs);
		msq_states_del(qs, q);
		server_msq_sweep(srv, qs);
		msq_table_del(srv->msq, q);
	}
}

/* Load filter: this switch node's query (shared store). */
static int
server_msq_mine(uint64_t id, const struct msq *head, void *arg)
{
	return !server_msq_theirs(id, head, arg);
}

/*
 * Start-up: the queries in flight from their records; the parked copies
 * load() found that no query refers to any more (a crash between a
 * merge and the deletion of its answers) are deleted. Overdue summaries
 * go at the first tick.
 */
static void
server_msq_load(struct server *srv)
{
	struct queue_states	*bad = xcalloc(1, sizeof *bad);
	struct msq		*q;
	int			 i, j, orphans = 0;

	if (msq_table_load(srv->msq, srv->q, queue_is_shared(srv->q) ?
	    server_msq_mine : NULL, srv, bad) != 0)
		log_warnx("server: the store's multi-state queries are "
		    "unreadable; those in flight before the restart are "
		    "answered by each state alone");
	server_msq_sweep(srv, bad);
	for (i = 0; i < srv->nparked; i++) {
		const struct queue_copy *c = &srv->parked[i];
		int			 used = 0;

		for (q = msq_table_first(srv->msq); q != NULL && !used;
		    q = q->next)
			for (j = 0; j < q->nmember; j++)
				if (q->m[j].answer == c->msgid)
					used = 1;
		if (used)
			continue;
		if (queue_is_shared(srv->q))	/* may be new to the query */
			server_msq_arrive(srv, c, 1);
		else {
			server_unpark(srv, c);
			orphans++;
		}
	}
	if (msq_table_count(srv->msq) > 0 || orphans > 0)
		log_info("server: multi-state queries in flight=%zu, merged "
		    "answers deleted=%d", msq_table_count(srv->msq), orphans);
	free(srv->parked);
	srv->parked = NULL;
	srv->nparked = 0;
}

/* The inbound record of an accepted message and its PUT's header. */
static struct server_inbound *
server_inbound_new(struct server *srv, struct session *s,
    const struct server_msgin *a)
{
	struct server_inbound	*in = xcalloc(1, sizeof *in);
	const struct msg	*m = &a->m;

	in->srv = srv;
	in->sess = s;
	in->tag = a->tag;
	in->key = m->key;
	in->regional = a->regional;
	in->from = server_sess_cfg(s);
	util_strlcpy(in->ori, m->ori, sizeof in->ori);
	util_strlcpy(in->ctl, m->ctl, sizeof in->ctl);
	session_ref(s);
	in->op.type = QUEUE_OP_PUT;
	in->op.msg.msgid = counter_take(srv->msgid);
	queue_msgid_fmt(in->msgid, sizeof in->msgid, in->op.msg.msgid);
	in->op.msg.recv_us = a->now;
	in->op.msg.in_seq = line_take_in_seq(session_owner(s));
	in->op.msg.stamp_off = (uint32_t)m->stamp_off;
	in->op.msg.key = (uint8_t)msg_key_delivered(m->key);
	in->op.msg.flags = (m->imq ? QUEUE_MSG_IMQ : 0) | (m->has_photo &&
	    a->ph.action != PHOTO_STRIP ? QUEUE_MSG_PHOTO : 0) |
	    (policy_is_photo_mail(m->key, m->has_photo) ? QUEUE_MSG_MAILPIC :
	    0);
	util_strlcpy(in->op.msg.from_line, session_code(s),
	    sizeof in->op.msg.from_line);
	util_strlcpy(in->op.msg.ori, m->ori, sizeof in->op.msg.ori);
	util_strlcpy(in->op.msg.ctl, m->ctl, sizeof in->op.msg.ctl);
	return in;
}

/*
 * A stored copy per route that stores (in service, or held), and the SM
 * each route owes the sender (.01, .02, .04), sent after the commit. A
 * destination the photo policy leaves out gets neither (the sender's
 * SM .10. names it); one it withholds the photo from gets its copy
 * flagged QUEUE_COPY_NOIMQ, which the line applies at every delivery.
 */
static void
server_inbound_copies(struct server_inbound *in, const struct server_msgin *a)
{
	const struct router_result	*rr = a->rr;
	int				 i;

	in->op.copies = xcalloc((size_t)rr->ncopy, sizeof *in->op.copies);
	for (i = 0; i < rr->ncopy; i++) {
		const struct router_copy	*rc = &rr->copy[i];
		struct queue_copy		*qc;

		if (a->act != NULL && a->act[i] == POLICY_DEST_OMIT)
			continue;
		/* A multi-state query counts the members out of service in
		 * its summary, with no SM each (msq.h): held ones get
		 * their copy, removed ones not. */
		if (in->mq != NULL && rc->status == MSG_SM_REMOVED) {
			msq_member_add(in->mq, rc->line->code, rc->dest,
			    MSQ_OUT);
			continue;
		}
		if (rc->status != 0 && (in->mq == NULL ||
		    rc->status != MSG_SM_HELD)) {
			/* Allocated on first need: most messages owe none. */
			if (in->sm == NULL)
				in->sm = xcalloc((size_t)rr->ncopy,
				    sizeof *in->sm);
			util_strlcpy(in->sm[in->nsm].dest, rc->dest,
			    sizeof in->sm[0].dest);
			in->sm[in->nsm++].status = rc->status;
		}
		if (rc->status != 0 && rc->status != MSG_SM_HELD)
			continue;	/* .01 / .04: not stored */
		qc = &in->op.copies[in->stored++];
		util_strlcpy(qc->line, rc->line->code, sizeof qc->line);
		qc->prio = a->regional ? QUEUE_PRIO_LOW : QUEUE_PRIO_NORMAL;
		qc->msgid = in->op.msg.msgid;
		qc->copy = (uint16_t)i;
		util_strlcpy(qc->dest, rc->dest, sizeof qc->dest);
		qc->key = (uint8_t)msg_key_delivered(a->m.key);
		qc->enq_us = a->now;
		qc->size = (uint32_t)a->len;
		if (a->act != NULL && a->act[i] == POLICY_DEST_NOIMQ)
			qc->flags = QUEUE_COPY_NOIMQ;
		else if (a->act != NULL && a->act[i] == POLICY_DEST_NOIMAGE)
			qc->flags = QUEUE_COPY_NOIMAGE;
		util_strlcpy(qc->from_line, in->from->code,
		    sizeof qc->from_line);
		if (in->mq != NULL)
			msq_member_add(in->mq, rc->line->code, rc->dest,
			    rc->status == MSG_SM_HELD ? MSQ_HELD : MSQ_PENDING);
	}
	in->op.ncopies = in->stored;
	if (in->mq != NULL && in->stored > 0)
		msq_states_all(&in->states, in->mq);
}

/*
 * The photo-request state the PUT carries: an allowed photo request
 * awaits an answer from each line it is stored for with the image
 * request (not those the policy withheld it from); a response that
 * answers one closes its line's entry.
 */
static void
server_inbound_photo_states(struct server *srv, struct server_inbound *in,
    const struct server_msgin *a)
{
	struct ubuf	await;
	int		i;

	if (a->pd.photo && in->stored > 0) {
		ubuf_init(&await);
		for (i = 0; i < in->stored; i++)
			if (!(in->op.copies[i].flags & QUEUE_COPY_NOIMQ))
				ubuf_printf(&await, "%s%s", await.len > 0 ?
				    " " : "", in->op.copies[i].line);
		in->await = ubuf_take(&await, NULL);
		photo_states_add(&in->states, in->msgid, in->ori, in->ctl,
		    in->await, a->now + server_photo_ttl(srv));
	}
	if (a->ph.answers[0] != '\0')
		photo_states_del(&in->states, a->ph.answers, in->from->code);
	in->op.states = in->states.st;
	in->op.nstates = in->states.n;
}

/*
 * The hit confirmation state the PUT carries (hitconf.h): a YQ's timers,
 * the requests a YR answers.
 */
static void
server_inbound_hitconf(struct server *srv, struct server_inbound *in,
    const struct server_msgin *a)
{
	in->hc = hitconf_accept(srv->hitconf, srv->cfg, &a->m, in->msgid,
	    in->from->code, in->op.copies, in->stored, a->now,
	    &in->states.st, &in->states.n);
	in->op.states = in->states.st;
	in->op.nstates = in->states.n;
}

/* A message ID for the hit confirmation's own messages. */
static uint64_t
server_hitconf_msgid_cb(void *arg)
{
	struct server *srv = arg;

	return counter_take(srv->msgid);
}

/* A second request or an SM of hitconf's committed: to its line. */
static void
server_hitconf_committed_cb(void *arg, const struct queue_copy *c)
{
	struct server			*srv = arg;
	const struct config_line	*cl;

	if ((cl = config_line_by_code(srv->cfg, c->line)) == NULL)
		log_warnx("server: line %s is gone; message %016llx stays "
		    "stored", c->line, (unsigned long long)c->msgid);
	else if (!queue_is_shared(srv->q))
		line_add(server_line(srv, cl), c);
}

/*
 * The destinations the photo request is withheld from: the one SM .10.
 * that tells the sender after the ACK (server_put_done_cb), counted.
 */
static void
server_inbound_withheld(struct server *srv, struct server_inbound *in,
    const struct server_msgin *a)
{
	int i;

	if ((in->notice = server_photo_notice(a)) == NULL)
		return;
	for (i = 0; i < a->ndd; i++) {
		if (a->dd[i].d.allow)
			continue;
		if (a->dd[i].d.dest_action == POLICY_DEST_OMIT)
			srv->stats.photo_left_out++;
		else
			srv->stats.photo_withheld++;
		log_info("server: %s: %s %s dest=%s line=%s code=%s",
		    in->msgid, a->pd.photo ? "photo request" : "picture",
		    policy_dest_action_name(
		    a->dd[i].d.dest_action), a->dd[i].dest,
		    a->rr->copy[a->ddcopy[i]].line->code, a->dd[i].d.code);
	}
}

/*
 * Commit an accepted message: one PUT with its copies, its audit record
 * and its photo state (ACK when it is durable), or, with nothing to
 * store (.01/.04 everywhere), the SMs, which are then what must be
 * durable before the ACK. Takes a's payload.
 */
static void
server_inbound_submit(struct server *srv, struct server_inbound *in,
    struct server_msgin *a)
{
	struct audit_rec *rec;
	int		i;

	if (in->stored == 0 && in->mqid != 0) {
		/* A NOT ON FILE answer to a multi-state query: stored as
		 * its member's state only. */
		free(in->op.copies);
		in->op.copies = NULL;
		in->op.type = QUEUE_OP_STATE;
		rec = server_audit("accepted", in, a);
		audit_str(rec, "msq", server_msq_idstr(in->mqid));
		audit_str(rec, "msq_answer", "not-on-file, suppressed");
		in->op.audit = audit_end(rec);
		in->op.done = server_put_done_cb;
		in->op.arg = in;
		in->waiting = 1;
		queue_submit(srv->q, &in->op);
		return;
	}
	if (in->stored == 0) {
		free(in->op.copies);
		in->op.copies = NULL;
		if (in->mq != NULL)
			server_msq_none(srv, in);
		for (i = 0; i < in->nsm; i++)
			server_submit_sm(srv, in->from, in->ori, in->ctl,
			    in->sm[i].status, in->sm[i].dest,
			    msg_key_delivered(in->key), in->msgid, in, NULL);
		in->nsm = 0;
		return;
	}
	rec = server_audit(a->ph.action == PHOTO_STRIP ? "photo-stripped" :
	    "accepted", in, a);
	if (in->mqid != 0) {
		audit_str(rec, "msq", server_msq_idstr(in->mqid));
		audit_str(rec, "msq_answer", "parked for the merged answer");
	}
	if (in->mq != NULL)
		audit_str(rec, "msq", "multi-state query");
	if (in->rhash != 0 && queue_is_shared(srv->q)) {
		/* For the other nodes' resend tables (server_resend_learn). */
		char key[48];

		snprintf(key, sizeof key, "%016llx/%zu",
		    (unsigned long long)in->rhash, in->rlen);
		audit_str(rec, "resend_key", key);
	}
	in->op.audit = audit_end(rec);
	in->op.body = a->payload;
	in->op.bodylen = a->len;
	a->payload = NULL;
	in->op.done = server_put_done_cb;
	in->op.arg = in;
	in->waiting = 1;
	queue_submit(srv->q, &in->op);
}

/*
 * A HELP file query (help.h): the answer, an AM from the switch to the
 * sender, is committed before the query's ACK; the query itself is
 * not stored.
 */
static void
server_help(struct server *srv, struct session *s, struct server_msgin *a)
{
	struct server_inbound	*in = server_inbound_new(srv, s, a);
	struct audit_rec	*rec;
	struct ubuf		 text, b;
	const char		*dest = a->m.ori;
	char			*body;
	size_t			 len;

	ubuf_init(&text);
	help_file(srv->cfg, a->m.dest[0], server_svc_cb, srv, &text);
	ubuf_init(&b);
	msgbuild_am(&b, a->m.dest[0], &dest, 1, a->m.ctl, text.data,
	    text.len);
	ubuf_free(&text);
	body = ubuf_take(&b, &len);
	rec = audit_begin(util_now_us(), "server", "help");
	audit_str(rec, "msgid", in->msgid);
	audit_str(rec, "line", in->from->code);
	audit_str(rec, "ori", a->m.ori);
	audit_str(rec, "ctl", a->m.ctl);
	audit_str(rec, "file", a->m.dest[0]);
	audit_str(rec, "outcome", "answered");
	log_info("server: %s: HELP %s line=%s ori=%s", in->msgid,
	    a->m.dest[0], in->from->code, a->m.ori);
	server_submit_notice(srv, in->from, MSG_KEY_AM, body, len, a->m.ori,
	    a->m.ctl, audit_end(rec), in);
}

/*
 * The states never see a DQG: what is stored and delivered is the DQ
 * Nlets makes of it, the key element rewritten and the rest as sent.
 * @return 0, or -1 with the NAK sent.
 */
static int
server_accept_rekey(struct server *srv, struct session *s,
    struct server_msgin *a)
{
	struct ubuf	 nb;
	size_t		 nlen, so, he;

	ubuf_init(&nb);
	if (msgbuild_rekey(&nb, a->payload, a->len, MSG_KEY_DQ) == -1 ||
	    msg_hdr_span(nb.data, nb.len, 0, &so, &he) == -1) {
		ubuf_free(&nb);
		server_nak(srv, s, a->tag, a->m.ori, a->m.ctl, MSG_ER_FORMAT,
		    "the DQG's message key could not be changed to DQ", a->q,
		    a->qlen);
		return -1;
	}
	free(a->payload);
	a->payload = ubuf_take(&nb, &nlen);
	a->len = nlen;
	a->m.raw = a->payload;
	a->m.rawlen = nlen;
	a->m.stamp_off = so;
	a->m.hdr_end = he;
	if (a->text == NULL) {
		a->q = a->payload;
		a->qlen = a->len;
	}
	return 0;
}

/* A message the parser thread read: check it, then store it or NAK it. */
static void
server_accept(struct server *srv, struct session *s, struct parser_job *j)
{
	struct server_inbound	*in;
	struct server_msgin	 a;

	memset(&a, 0, sizeof a);
	a.m = j->m;
	a.tag = j->tag;
	a.now = util_now_us();
	a.payload = j->payload;
	a.len = a.inlen = j->len;
	if (j->legacy) {
		a.text = a.payload;
		a.payload = ubuf_take(&j->xml, &a.len);	/* m.raw points here */
	}
	a.q = a.text != NULL ? a.text : a.payload;
	a.qlen = a.inlen;
	srv->stats.received_key[a.m.key < MSG_KEY_MAX ? a.m.key : 0]++;
	switch (server_accept_check(srv, s, j->code, &j->diags, &a)) {
	case SERVER_PASS:
		break;
	case SERVER_HELP:
		server_help(srv, s, &a);
		server_msgin_free(&a);
		return;
	case SERVER_DENIED:
		/* Committed when the NAK follows the denial's audit. */
		server_msgin_free(&a);
		return;
	case SERVER_NAKED:
		server_msgin_free(&a);
		session_committed(s);
		return;
	}
	if (a.m.key == MSG_KEY_DQG && server_accept_rekey(srv, s, &a) != 0) {
		server_msgin_free(&a);
		session_committed(s);
		return;
	}
	in = server_inbound_new(srv, s, &a);
	in->rhash = j->cookie;
	in->rlen = a.inlen;
	if (server_msq_answer(srv, in, &a) != 0) {
		if (msq_applies(&a.m, server_msq_group(srv, &a.m)))
			in->mq = server_msq_new(srv, in, &a);
		server_inbound_copies(in, &a);
	}
	server_inbound_photo_states(srv, in, &a);
	server_inbound_hitconf(srv, in, &a);
	server_inbound_withheld(srv, in, &a);
	log_trace(TRACE_ROUTER, "server: %s: accepted line=%s mke=%s copies=%d "
	    "sm=%d size=%zu", in->msgid, in->from->code,
	    msg_key_name(a.m.key), in->stored, in->nsm, a.len);
	server_inbound_submit(srv, in, &a);
	server_msgin_free(&a);
}

/* A message's sender, as its stored record or audit record names it. */
struct server_sender {
	char		msgid[24];	/* looked for: "%016llx" */
	int		found;
	char		line[CONFIG_LINE_LEN + 1];
	char		ori[MSG_ORI_LEN + 1];
	char		ctl[MSG_CTL_LEN + 1];
	char		mke[8];
};

/* The "accepted" record of the message s looks for. */
static int
server_sender_cb(uint64_t t_us, const char *rec, size_t len, void *arg)
{
	struct server_sender	*s = arg;
	char			 v[32];

	(void)t_us;
	if (memmem(rec, len, s->msgid, strlen(s->msgid)) == NULL ||
	    !audit_field(rec, len, "msgid", v, sizeof v) ||
	    strcmp(v, s->msgid) != 0 ||
	    !audit_field(rec, len, "event", v, sizeof v) ||
	    (strcmp(v, "accepted") != 0 && strcmp(v, "photo-stripped") != 0))
		return 0;
	audit_field(rec, len, "line", s->line, sizeof s->line);
	audit_field(rec, len, "ori", s->ori, sizeof s->ori);
	audit_field(rec, len, "ctl", s->ctl, sizeof s->ctl);
	audit_field(rec, len, "mke", s->mke, sizeof s->mke);
	s->found = 1;
	return 1;
}

/*
 * Who sent msgid, for an SM about it: the stored message says; when
 * that is what cannot be read, its "accepted" audit record does, looked
 * for from a minute before enq_us (a copy is enqueued when its message
 * is received), then in the whole trail (a requeued dead letter was
 * enqueued later). The walks read the audit trail, so they are for the
 * rare message the store lost, never for traffic.
 * @return the line to send the SM on, or NULL (*s says who, if found).
 */
static const struct config_line *
server_sender(struct server *srv, uint64_t msgid, uint64_t enq_us,
    struct server_sender *s)
{
	struct queue_msgrec		 rec;
	const struct config_line	*to;
	uint64_t			 since = enq_us > 60000000 ?
					    enq_us - 60000000 : 0;

	memset(s, 0, sizeof *s);
	queue_msgid_fmt(s->msgid, sizeof s->msgid, msgid);
	if (queue_get(srv->q, msgid, &rec, NULL) == QUEUE_E_OK) {
		util_strlcpy(s->line, rec.from_line, sizeof s->line);
		util_strlcpy(s->ori, rec.ori, sizeof s->ori);
		util_strlcpy(s->ctl, rec.ctl, sizeof s->ctl);
		s->found = 1;
	} else {
		queue_walk_audit(srv->q, since, server_sender_cb, s);
		if (!s->found && since > 0)
			queue_walk_audit(srv->q, 0, server_sender_cb, s);
	}
	if (!s->found)
		return NULL;
	if ((to = config_line_by_ori(srv->cfg, s->ori)) == NULL)
		to = config_line_by_code(srv->cfg, s->line);
	return to;
}

/*
 * SM .09 to the sender of the copy c (of line cl, NULL if the line is
 * gone) whose message the store lost; none for an SM or ER copy.
 */
static void
server_sm_damaged(struct server *srv, const struct config_line *cl,
    const struct queue_copy *c)
{
	struct server_sender		 snd;
	const struct config_line	*to;
	enum msg_key			 key = (enum msg_key)c->key;
	char				 id[24];

	if (c->prio == QUEUE_PRIO_HIGH || key == MSG_KEY_SM ||
	    key == MSG_KEY_ER)
		return;
	queue_msgid_fmt(id, sizeof id, c->msgid);
	if ((to = server_sender(srv, c->msgid, c->enq_us, &snd)) == NULL) {
		log_errorx("server: %s: sender not found (neither the message "
		    "nor its audit record can be read): no SM", id);
		return;
	}
	if (msg_key_name(key) == NULL)
		key = msg_key_lookup(snd.mke);
	server_submit_sm(srv, to, snd.ori, snd.ctl, MSG_SM_DAMAGED,
	    msg_dest_is_valid(c->dest) ? c->dest : server_line_dest(cl), key,
	    id, NULL, NULL);
	log_info("server: %s: SM .09 to %s line=%s", id, snd.ori, to->code);
}

/*
 * Move copy c of line l to the dead letters, audited as event (with
 * reason, if any); the completion only logs a failure.
 */
static void
server_dead_letter(struct server *srv, struct line *l,
    const struct queue_copy *c, const char *event, const char *reason,
    const char *notice)
{
	struct queue_op	*op = xcalloc(1, sizeof *op);
	struct audit_rec *audit;
	char		 id[32];

	queue_copyid_fmt(id, sizeof id, c->msgid, c->copy);
	op->type = QUEUE_OP_EXPIRE;
	op->copies = xmalloc(sizeof *op->copies);
	op->copies[0] = *c;
	op->ncopies = 1;
	audit = audit_begin(util_now_us(), "server", event);
	audit_str(audit, "msgid", id);
	audit_str(audit, "line", line_config(l)->code);
	audit_str(audit, "dest", c->dest);
	audit_str(audit, "mke", msg_key_name((enum msg_key)c->key));
	audit_str(audit, "notice", notice);
	audit_num(audit, "attempts", c->attempts);
	audit_num(audit, "size", c->size);
	audit_str(audit, "reason", reason);
	audit_str(audit, "outcome", "dead-lettered");
	op->audit = audit_end(audit);
	op->done = server_expire_done_cb;
	queue_submit(srv->q, op);
}

static void
server_unreadable(struct server *srv, struct line *l, const struct queue_copy *c,
    int err)
{
	char		 id[32], why[80];

	queue_copyid_fmt(id, sizeof id, c->msgid, c->copy);
	snprintf(why, sizeof why, "message unreadable: %s",
	    queue_strerror(err));
	server_dead_letter(srv, l, c, "dead-lettered", why, NULL);
	log_errorx("server: %s: %s line=%s dest=%s -> dead letters", id, why,
	    line_config(l)->code, c->dest);
	server_sm_damaged(srv, line_config(l), c);
}

/* Copies load() quarantined: how many of each, those dead-lettered. */
struct server_lost {
	struct queue_copy	*c;		/* dead-lettered */
	size_t			 n, cap;
	uint64_t		 rebuilt, other;
};

static int
server_lost_cb(const struct queue_quar *e, void *arg)
{
	struct server_lost	*lost = arg;
	struct queue_copy	*c;

	if (e->db == QUEUE_DB_COPY && strcmp(e->action, "rebuilt") == 0) {
		lost->rebuilt++;
		return 0;
	}
	/* A copy dead-lettered, or copies gone that only the message's
	 * count remembered (for those the destination is not known). */
	if (!(e->db == QUEUE_DB_COPY &&
	    strcmp(e->action, "dead-lettered") == 0) &&
	    !(e->db == QUEUE_DB_REF && strcmp(e->reason, "copies-lost") == 0)) {
		lost->other++;
		return 0;
	}
	if (lost->n == lost->cap) {
		lost->cap = lost->cap ? 2 * lost->cap : 16;
		lost->c = xrealloc(lost->c, lost->cap * sizeof *lost->c);
	}
	c = &lost->c[lost->n++];
	memset(c, 0, sizeof *c);
	util_strlcpy(c->line, e->line, sizeof c->line);
	c->prio = e->keylen > QUEUE_LINE_LEN ? e->key[QUEUE_LINE_LEN] :
	    QUEUE_PRIO_NORMAL;
	c->msgid = e->msgid;
	c->copy = e->copy >= 0 ? (uint16_t)e->copy : 0;
	return 0;
}

/*
 * After the load: what it quarantined (entries from since_us on). The
 * copies it could not rebuild went to the dead letters because their
 * message is unreadable, or are gone with nothing but their message's
 * count to show for them (reason copies-lost); each sender gets SM .09,
 * as for one found at delivery (server_unreadable). Their audit records
 * the queue wrote.
 */
static void
server_load_quarantined(struct server *srv, uint64_t since_us)
{
	struct server_lost	 lost;
	size_t			 i;

	memset(&lost, 0, sizeof lost);
	if (queue_walk_quarantine(srv->q, since_us, server_lost_cb, &lost) !=
	    QUEUE_E_OK)
		log_errorx("server: quarantine unreadable (see above)");
	if (lost.rebuilt + lost.n + lost.other == 0)
		return;
	log_errorx("server: store: corrupt entries quarantined at start-up: "
	    "copies rebuilt=%llu lost=%zu other=%llu (nlctl quarantine)",
	    (unsigned long long)lost.rebuilt, lost.n,
	    (unsigned long long)lost.other);
	for (i = 0; i < lost.n; i++)
		server_sm_damaged(srv, config_line_by_code(srv->cfg,
		    lost.c[i].line), &lost.c[i]);
	free(lost.c);
}

const char *
server_store_damage(struct server *srv, const char **recovery)
{
	struct queue_health	h;

	if (srv->store_damage == NULL && queue_health(srv->q, &h)) {
		srv->store_damage = xasprintf("store damaged: %s", h.damage);
		srv->store_recovery = xasprintf("stop the switch, then rebuild "
		    "the store with mdb_copy -c %s NEWDIR and start on NEWDIR, "
		    "or restore it from a backup (docs/durability.md)",
		    srv->cfg->datadir);
		log_errorx("server: %s: not ready, new messages refused; %s",
		    srv->store_damage, srv->store_recovery);
	}
	if (recovery != NULL)
		*recovery = srv->store_recovery;
	return srv->store_damage;
}

/* "SM .08" / "ER .94" for a stored notice; "SM" when it cannot be read. */
static void
server_notice_kind(struct server *srv, const struct queue_copy *c, char *buf,
    size_t sz)
{
	struct queue_msgrec	rec;
	struct ubuf		body;
	int			code = -1;

	ubuf_init(&body);
	if (queue_get(srv->q, c->msgid, &rec, &body) == QUEUE_E_OK)
		code = msgbuild_notice_code(body.data, body.len);
	ubuf_free(&body);
	if (code >= 0)
		snprintf(buf, sz, "%s .%02d", msg_key_name((enum msg_key)c->key),
		    code);
	else
		snprintf(buf, sz, "%s", msg_key_name((enum msg_key)c->key));
}

/*
 * A notice (SM, ER) outlived notice-ttl waiting for its offline sender:
 * it goes to the dead letters like traffic, but counted apart, audited
 * with its kind, and logged as a warning - a notice lost unseen is a
 * sender that never learns what became of its message.
 */
static void
server_notice_expired(struct server *srv, struct line *l,
    const struct queue_copy *c)
{
	char	kind[16], id[32];

	server_notice_kind(srv, c, kind, sizeof kind);
	queue_copyid_fmt(id, sizeof id, c->msgid, c->copy);
	server_dead_letter(srv, l, c, "expired", "notice-ttl: the sender "
	    "did not connect", kind);
	srv->stats.expired++;
	srv->stats.notices_expired[c->key]++;
	log_warnx("server: %s: %s to line=%s expired undelivered after "
	    "notice-ttl -> dead letters", id, kind, line_config(l)->code);
}

static void
server_expire(struct server *srv, struct line *l, const struct queue_copy *c)
{
	struct server_sender		 snd;
	const struct config_line	*to;
	char				 id[32];

	queue_copyid_fmt(id, sizeof id, c->msgid, c->copy);
	if (c->key == MSG_KEY_SM || c->key == MSG_KEY_ER) {
		server_notice_expired(srv, l, c);
		return;
	}
	server_dead_letter(srv, l, c, "expired", NULL, NULL);
	srv->stats.expired++;
	log_info("server: %s: expired line=%s dest=%s -> dead letters", id,
	    line_config(l)->code, c->dest);

	/* The sender: from the message, else from its audit record. */
	if ((to = server_sender(srv, c->msgid, c->enq_us, &snd)) != NULL) {
		queue_msgid_fmt(id, sizeof id, c->msgid);
		server_submit_sm(srv, to, snd.ori, snd.ctl, MSG_SM_EXPIRED,
		    c->dest, (enum msg_key)c->key, id, NULL, NULL);
	}
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
	if (srv->draining)
		return;
	log_info("server: draining grace=%ds", grace);
	srv->draining = 1;
	srv->drain_deadline_us = util_mono_us() + (uint64_t)grace * 1000000;
	handshake_pause(srv->hs);
	server_node_record(srv);
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server	*srv = arg;
	char		*cause = NULL, *notes = NULL;

	(void)what;
	log_info("server: signal %d", (int)sig);
	if (sig == SIGHUP) {
		if (server_reload(srv, &cause, &notes) == -1) {
			log_warnx("server: reload failed, running configuration "
			    "kept: %s", cause);
			free(cause);
		}
		free(notes);
		return;
	}
	if (srv->draining)
		event_base_loopexit(srv->base, NULL);	/* second signal */
	else
		server_drain(srv, 5);
}

static void
server_prune_done_cb(struct queue_op *op, void *arg)
{
	struct server *srv = arg;

	if (op->result != QUEUE_E_OK)
		log_warnx("server: audit pruning failed: %s",
		    queue_strerror(op->result));
	else if (op->pruned > 0)
		log_info("server: audit pruned records=%llu",
		    (unsigned long long)op->pruned);
	/* A full batch: there may be more, go on at the next tick. */
	if (op->result == QUEUE_E_OK && op->pruned == QUEUE_PRUNE_MAX)
		srv->audit_prune_us = 0;
	free((char *)op->audit);
	free(op);
}

/*
 * Delete audit records older than the retention (<audit retention-days>)
 * in batches; at start-up (the first tick) and every prune-interval.
 * The pruning itself is audited.
 */
static void
server_audit_prune(struct server *srv, uint64_t now_us)
{
	struct queue_op	*op = xcalloc(1, sizeof *op);
	struct audit_rec *b;
	uint64_t	 keep = srv->cfg->audit_retention * 1000000;

	srv->audit_prune_us = now_us +
	    (uint64_t)srv->cfg->audit_prune_interval * 1000000;
	op->type = QUEUE_OP_AUDIT_PRUNE;
	op->prune_before_us = now_us > keep ? now_us - keep : 0;
	b = audit_begin(now_us, "server", "audit-pruned");
	audit_num(b, "before", op->prune_before_us);
	audit_num(b, "retention_s",
	    (unsigned long long)srv->cfg->audit_retention);
	op->audit = audit_end(b);
	op->done = server_prune_done_cb;
	op->arg = srv;
	queue_submit(srv->q, op);
	/* And the photo requests that will never be answered. */
	server_photo_load(srv, NULL);
}

int
server_ready(struct server *srv, char *why, size_t sz, char *warn,
    size_t wsz)
{
	struct queue_stats	qs;
	const char		*damage, *fix;

	queue_get_stats(srv->q, &qs);
	warn[0] = '\0';
	if (qs.audit_budget > 0 && qs.audit_bytes * 100 >=
	    qs.audit_budget * (uint64_t)srv->cfg->audit_alarm_pct)
		snprintf(warn, wsz, "audit trail at %llu%% of its budget "
		    "(%llu of %llu MB): the oldest records are pruned at "
		    "100%%%s", (unsigned long long)(qs.audit_bytes * 100 /
		    qs.audit_budget), (unsigned long long)(qs.audit_bytes >> 20),
		    (unsigned long long)(qs.audit_budget >> 20),
		    srv->cfg->audit_archive != NULL ? " into the archive" :
		    " (no archive directory: they are gone)");
	if (srv->draining) {
		snprintf(why, sz, "draining");
		return 0;
	}
	if ((damage = server_store_damage(srv, &fix)) != NULL) {
		snprintf(why, sz, "%s\nrecovery: %s", damage, fix);
		return 0;
	}
	if (qs.space != QUEUE_SPACE_OK) {
		snprintf(why, sz, "store %s: %s", queue_space_name(qs.space),
		    qs.space_cause);
		return 0;
	}
	why[0] = '\0';
	return 1;
}

/* Log the audit alarm and the store's health when they change. */
static void
server_watch_space(struct server *srv)
{
	char	why[512], warn[300];
	int	alarm;

	server_ready(srv, why, sizeof why, warn, sizeof warn);
	alarm = warn[0] != '\0';
	if (alarm && !srv->audit_alarm)
		log_warnx("server: %s", warn);
	else if (!alarm && srv->audit_alarm)
		log_info("server: audit trail back under its alarm level");
	srv->audit_alarm = alarm;
	if (strcmp(why, srv->not_ready) != 0) {
		if (why[0] != '\0' && !srv->draining)
			log_warnx("server: not ready: %.*s",
			    (int)strcspn(why, "\n"), why);
		else if (why[0] == '\0')
			log_info("server: ready again");
		util_strlcpy(srv->not_ready, why, sizeof srv->not_ready);
	}
}

/*
 * Once a tick, after the sessions': what they freed since the last tick
 * (closes, buffer releases) goes to memtrim, which gives the heap's free
 * pages back once the burst is over.
 */
static void
server_trim(struct server *srv)
{
	uint64_t n = srv->shost.nclosed + srv->shost.nreleased;

	memtrim_note(&srv->trim, n - srv->trim_seen);
	srv->trim_seen = n;
	if (memtrim_tick(&srv->trim))
		log_debug("server: heap trimmed in %llu us (trim %llu)",
		    (unsigned long long)srv->trim.last_us,
		    (unsigned long long)srv->trim.ntrims);
}

/*
 * Tick lines [srv->tick_line, end) of the round: timeouts, expiry and
 * pumping (line_tick), and each line's depth for the second's history
 * point.
 */
static void
server_tick_lines(struct server *srv, int end, uint64_t now, uint64_t now_us)
{
	struct line_held held;
	struct line	*l;
	int		 i;

	if (end > srv->cfg->nline)
		end = srv->cfg->nline;
	for (i = srv->tick_line; i < end; i++) {
		l = srv->lines[i];
		line_tick(l, now, now_us);
		line_held(l, &held);
		history_depth(srv->hist, i, line_config(l)->code, held.msgs);
	}
	if (end > srv->tick_line)
		srv->tick_line = end;
}

/*
 * Draining waits for deliveries in flight and for what a connected line
 * can still take; the rest stays queued.
 */
static int
server_drain_busy(struct server *srv)
{
	struct line_info li;
	int		 i, busy = 0;

	for (i = 0; i < srv->cfg->nline; i++) {
		line_info(srv->lines[i], &li);
		busy += li.in_flight;
		if (li.connected)
			busy += line_has_deliverable(srv->lines[i]);
	}
	return busy;
}

/*
 * The tick: every second each session gets session_tick and each line
 * line_tick, plus the once-a-second work of the whole switch (expiry,
 * pruning, memtrim, the history point, the drain check).
 *
 * Why in slices: walking 10,000 lines and their sessions in one callback
 * costs milliseconds of cache misses, which every ACK queued behind it
 * waits for (issue 14, item 5). So the timer fires SERVER_TICK_SLICES
 * times a second and each firing walks about 1/SERVER_TICK_SLICES of the
 * sessions and lines from where the previous one stopped; the last slice
 * of a round finishes both walks (sessions opened during the round
 * included) and then does the once-a-second work, in the order the
 * single tick had: sessions, trim..space, lines, retired configs,
 * history, drain. Each session and line is ticked once per round, never
 * skipped, never twice; session_host_tick keeps its cursor valid across
 * closes and server_reload finishes the round's lines before it swaps
 * them.
 */
static void
server_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;
	uint64_t	 now = util_mono_us(), now_us = util_now_us();
	int		 i, last, busy = 0, per;

	(void)fd;
	(void)what;
	if (srv->tick_slice == 0) {
		srv->tick_squota = (session_host_tick_begin(&srv->shost) +
		    SERVER_TICK_SLICES - 1) / SERVER_TICK_SLICES;
		srv->tick_line = 0;
	}
	last = srv->tick_slice == SERVER_TICK_SLICES - 1;
	srv->tick_slice = last ? 0 : srv->tick_slice + 1;
	per = (srv->cfg->nline + SERVER_TICK_SLICES - 1) / SERVER_TICK_SLICES;
	session_host_tick(&srv->shost, now, last ? SIZE_MAX : srv->tick_squota);
	if (!last) {
		server_tick_lines(srv, srv->tick_line + per, now, now_us);
		return;
	}
	server_trim(srv);
	photo_table_expire(srv->photos, now_us);
	hitconf_tick(srv->hitconf, srv->cfg, now_us);
	resend_expire(srv->resend, now);
	server_msq_run(srv);
	if (now_us - srv->node_rec_us >= SERVER_NODE_S * 1000000ULL)
		server_node_record(srv);
	server_store_damage(srv, NULL);		/* logs it when it appears */
	if (now_us >= srv->audit_prune_us && !srv->draining)
		server_audit_prune(srv, now_us);
	server_watch_space(srv);
	server_tick_lines(srv, srv->cfg->nline, now, now_us);
	if (srv->draining)
		busy = server_drain_busy(srv);
	/* Retired configs may still be referenced by operations in flight. */
	if (srv->nretired > 0 && queue_pending(srv->q) == 0) {
		for (i = 0; i < srv->nretired; i++)
			config_free(srv->retired[i]);
		srv->nretired = 0;
	}
	history_tick(srv->hist, now_us / 1000000, srv->stats.received,
	    srv->stats.acked, srv->stats.deliv.delivered,
	    &srv->stats.ack_latency);
	if (srv->draining && ((busy == 0 && queue_pending(srv->q) == 0 &&
	    parser_pending(srv->parser) == 0) ||
	    now >= srv->drain_deadline_us)) {
		log_info("server: drained in-flight=%d", busy);
		event_base_loopexit(srv->base, NULL);
	}
}

static int
server_same_listen(const struct config *a, const struct config *b)
{
	int i;

	if (a->nlisten != b->nlisten)
		return 0;
	for (i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i].address, b->listen[i].address) != 0 ||
		    strcmp(a->listen[i].port, b->listen[i].port) != 0)
			return 0;
	return 1;
}

/* What a reload builds before anything changes: all or nothing. */
struct server_reload {
	struct config		*cfg;
	SSL_CTX			*ssl;
	struct msgparse_schema	*schema;
	struct oridir		*dir;
};

static void
server_reload_discard(struct server_reload *r)
{
	oridir_free(r->dir);
	msgparse_schema_free(r->schema);
	if (r->ssl != NULL)
		SSL_CTX_free(r->ssl);
	config_free(r->cfg);
}

/* Load the config file and everything it names; *cause on error. */
static int
server_reload_prepare(struct server *srv, struct server_reload *r,
    char **cause)
{
	const struct config *ocfg = srv->cfg;

	memset(r, 0, sizeof *r);
	if (srv->nretired == (int)(sizeof srv->retired /
	    sizeof srv->retired[0])) {
		*cause = xasprintf("%s:0: too many reloads while operations "
		    "are in flight; try again", ocfg->path);
		return -1;
	}
	if (config_load(ocfg->path, ocfg->schemadir, &r->cfg, cause) == -1)
		goto fail;
	if ((r->ssl = server_tls_ctx(r->cfg, cause)) == NULL)
		goto fail;
	if ((r->schema = msgparse_schema_load(r->cfg->schemadir,
	    cause)) == NULL)
		goto fail;
	/* The ORI directory is part of the configuration: config_load
	 * parsed it; the reload takes it over. */
	r->dir = r->cfg->directory;
	r->cfg->directory = NULL;
	return 0;
fail:
	server_reload_discard(r);
	return -1;
}

/*
 * The lines of ncfg, each taking over the runtime (copies, counters,
 * session) of the running line of its code. The running lines are freed;
 * the sessions of removed lines are closed, and a removed line's copies
 * stay in the store (noted in nb).
 */
static struct line **
server_reload_lines(struct server *srv, const struct config *ncfg,
    struct ubuf *nb)
{
	struct line	**nlines, *ol;
	struct session	 *s;
	uint64_t	  n, bytes, oldest;
	int		  i;

	nlines = xcalloc((size_t)ncfg->nline, sizeof *nlines);
	for (i = 0; i < ncfg->nline; i++) {
		nlines[i] = line_new(&srv->lhost, &ncfg->lines[i]);
		if ((ol = server_line_by_code(srv, ncfg->lines[i].code)) != NULL)
			line_adopt(nlines[i], ol);
	}
	for (i = 0; i < srv->cfg->nline; i++) {
		ol = srv->lines[i];
		if ((s = line_session(ol)) != NULL)
			session_close(s, "line removed by reload");
		line_depth(ol, &n, &bytes, &oldest);
		if (n > 0)
			ubuf_printf(nb, "line %s removed with %llu copies kept "
			    "in the store; ", line_config(ol)->code,
			    (unsigned long long)n);
		line_free(ol);
	}
	free(srv->lines);
	return nlines;
}

/* The new TLS context and schemas take over. */
static void
server_reload_swap(struct server *srv, struct server_reload *r)
{
	struct msgparse_schema	*ps;
	char			*cause = NULL;

	SSL_CTX_free(srv->ssl);
	srv->ssl = r->ssl;
	handshake_set_ctx(srv->hs, r->ssl, server_handshake_timeout(r->cfg));
	msgparse_schema_free(srv->schema);
	srv->schema = srv->lhost.schema = r->schema;
	if ((ps = msgparse_schema_load(r->cfg->schemadir, &cause)) != NULL)
		parser_set_schema(srv->parser, ps);
	else {
		/* The same files just compiled; keep the thread's schema. */
		log_warnx("server: parser schema not reloaded: %s", cause);
		free(cause);
	}
	oridir_free(srv->oridir);
	srv->oridir = r->dir;
	if (recorder_configure(srv->base, r->cfg, &cause) == -1) {
		log_warnx("server: %s", cause);
		free(cause);
	}
}

int
server_reload(struct server *srv, char **cause, char **notes)
{
	struct server_reload	 r;
	struct config		*ocfg = srv->cfg, *ncfg;
	struct session		*s;
	struct ubuf		 nb;
	int			 i;

	*notes = NULL;
	if (server_reload_prepare(srv, &r, cause) == -1)
		return -1;
	ncfg = r.cfg;
	ubuf_init(&nb);
	/* The tick round's line cursor indexes srv->lines: the round's
	 * remaining lines get their tick now, and the new lines wait for
	 * the next round (none skipped, none ticked twice). */
	server_tick_lines(srv, srv->cfg->nline, util_mono_us(), util_now_us());
	srv->lines = server_reload_lines(srv, ncfg, &nb);
	srv->tick_line = ncfg->nline;
	srv->retired[srv->nretired++] = ocfg;
	srv->cfg = ncfg;
	srv->lhost.cfg = srv->shost.cfg = ncfg;
	resend_set_window(srv->resend, ncfg->resend_window * 1000000);
	server_queue_configure(srv);
	server_reload_swap(srv, &r);
	for (i = 0; i < ncfg->nline; i++) {
		s = line_session(srv->lines[i]);
		if (s != NULL && strcmp(session_cn(s), ncfg->lines[i].cn) != 0)
			session_close(s, "certificate no longer names this line");
	}
	if (!server_same_listen(ocfg, ncfg))
		ubuf_adds(&nb, "listen addresses change at the next restart; ");
	if (strcmp(ocfg->datadir, ncfg->datadir) != 0)
		ubuf_adds(&nb, "datadir changes at the next restart; ");
	if (nb.len > 0)
		*notes = ubuf_take(&nb, NULL);
	ubuf_free(&nb);
	log_info("server: reloaded config=%s lines=%d%s%s", ncfg->path,
	    ncfg->nline, *notes ? " notes=" : "", *notes ? *notes : "");
	for (i = 0; i < ncfg->nline; i++)
		line_pump(srv->lines[i]);
	return 0;
}
