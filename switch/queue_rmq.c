/*
 * queue_rmq - the rabbitmq queue backend (queue.h, docs/cluster.md): the
 * store kept in a RabbitMQ cluster, replicated, so that no one machine
 * holds the only copy of an acknowledged message.
 *
 * What goes where (PREFIX is the store's name, "nl" by default):
 *   PREFIX.line.LINE.P  one durable quorum queue per destination line and
 *                       priority (RabbitMQ 3.10's quorum queues have no
 *                       priorities): a queued copy is one message there,
 *                       carrying its copy record, its message record and
 *                       the body; delivered, it is acked
 *   PREFIX.dead.nN      quorum queue of the copies node N dead-lettered,
 *                       the same messages with their copy record updated
 *   PREFIX.log          stream: the audit trail, state records and
 *                       counters, in commit order
 * Every publish is confirmed (quorum queue and stream: fsynced on a
 * majority of their replicas) before the op completes: a message is
 * acknowledged to its sender only then. Deletes are acks of deliveries,
 * which RabbitMQ does not confirm: a delete that a crash loses means the
 * copy is delivered again, as with LMDB's lazy deletes.
 *
 * The node keeps a view of the store in memory, a queue_backend_ram
 * handle, which answers every read (get, walks, counters). It is built at
 * start-up: open() replays the log stream, load() consumes the line
 * queues (and the dead letters) of the lines this node serves, each up
 * to a marker the node published into it first, so the end of what was
 * stored is known without counting. The consumer then stays open in a
 * thread of its own, which holds each delivery's tag until the copy's
 * DELETE acks it.
 *
 * Connection loss: a batch whose publishes are not all confirmed is
 * published again, whole, on a connection to the next node (so a copy or
 * a record may be stored twice: at-least-once, and the view keeps one of
 * each copy by its key); when no node takes it within the timeout, its
 * ops fail with QUEUE_E_IO and the switch NAKs (the sender sends again).
 */
#include <pthread.h>
#include <search.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <inttypes.h>
#include <unistd.h>

#include "broker.h"
#include "log.h"
#include "queue.h"
#include "util.h"

#define QUEUE_RMQ_PRIOS		3
#define QUEUE_RMQ_MAGIC		0x4e4c5131u	/* "NLQ1" */
#define QUEUE_RMQ_KEY_MAX	64
#define QUEUE_RMQ_RETRY_MS	10000		/* a batch's reconnects */
#define QUEUE_RMQ_DOWN_MS	1000		/* the same, once it is down */
#define QUEUE_RMQ_REFUSED_US	2000000		/* refused on one connection */
#define QUEUE_RMQ_LOAD_MS	60000		/* up to every marker */
#define QUEUE_RMQ_POLL_MS	20		/* consumer: acks' latency */
#define QUEUE_RMQ_GATE_US	2000000		/* a copy waits for its records */
/* Copies of one queue the store hands out unacknowledged at a time (a
 * quorum queue gives a consumer with no limit only 2000). */
#define QUEUE_RMQ_PREFETCH	10000
/* The log stream keeps this much by default (<store log-bytes>); the
 * view keeps at most this much of the audit trail in memory. */
#define QUEUE_RMQ_LOG_BYTES	((uint64_t)1 << 30)
#define QUEUE_RMQ_SEGMENT_MIN	((uint64_t)256 << 10)
#define QUEUE_RMQ_VIEW_AUDIT	((uint64_t)64 << 20)

/* The record in front of the body of a copy's message. */
struct queue_rmq_rec {
	uint32_t		magic;
	uint32_t		reclen;		/* sizeof this struct */
	struct queue_msgrec	msg;
	struct queue_copy	copy;
};

/* A delivery's tag by its copy key, held until the copy is deleted. */
struct queue_rmq_tag {
	char		key[QUEUE_RMQ_KEY_MAX];
	uint64_t	tag;		/* 0: deleted before it arrived;
					   QUEUE_RMQ_STALE: held on a
					   connection that died (it comes
					   again) */
};
#define QUEUE_RMQ_STALE		UINT64_MAX

/*
 * A copy another node stored, delivered before the view has its batch's
 * log records (the line queues and the log reach this node on separate
 * consumers): it waits, in delivery order, until the view has them, or
 * QUEUE_RMQ_GATE_US at most (a batch whose records failed).
 */
struct queue_rmq_wait {
	struct queue_rmq_rec	 rec;
	char			 key[QUEUE_RMQ_KEY_MAX];
	char			*body;
	size_t			 len;
	int			 node;
	uint64_t		 lseq;
	uint64_t		 until_us;	/* util_mono_us */
};

/* What the loop and the commit thread ask of the consumer thread. */
enum queue_rmq_reqtype {
	QUEUE_RMQ_ACK,		/* a copy is deleted: ack its delivery */
	QUEUE_RMQ_SUB,		/* a line came up here: consume its queues */
	QUEUE_RMQ_UNSUB		/* it went down: give its copies back */
};
struct queue_rmq_req {
	int		type;
	char		key[QUEUE_RMQ_KEY_MAX];	/* copy key, or line */
};

struct queue_rmq {
	struct broker_conf	 conf;		/* consumers' */
	struct broker_conf	 pubconf;	/* the same, no heartbeats */
	char			*spec;		/* owns conf's strings */
	char			 prefix[32];
	int			 node;		/* 1..255, msgid's high byte */
	int			 replicas;
	uint64_t		 log_bytes;	/* stream retention */
	void			*view;		/* queue_backend_ram */

	struct broker		*adm;		/* loop thread: depths */
	struct broker		*pub;		/* commit thread */
	int			 addr;		/* next address to try */
	int			 down;		/* commit thread: unreachable */
	uint64_t		 log_next;	/* the log's offset after replay */
	uint64_t		 log_written;	/* bytes since the last snapshot */
	char			 logname[BROKER_NAME_MAX + 1];
	char			 down_cause[BROKER_CAUSE_MAX];
	char			 nonce[40];

	char			**lines;	/* served here */
	int			 nlines;
	char			**qnames;	/* consumed: dead, lines' */
	int			 nq;
	void			*qset;		/* the same names, tsearch'd:
						   a delivery's queue is
						   looked up, not walked to */

	/* Consumer: the thread owns con and tags once it runs. */
	struct broker		*con;
	pthread_t		 thread;
	int			 running;
	pthread_mutex_t		 lock;		/* reqs, stop, expect */
	struct queue_rmq_req	*reqs;		/* for the consumer thread */
	size_t			 nreqs, reqcap;
	int			 stop;
	void			*tags;		/* tsearch root */
	void			*expect;	/* keys our ops publish, until
						   the view has them (lock) */
	void			(*arrive)(void *, const struct queue_copy *);
	void			*arrive_arg;

	/*
	 * Log order. Every record and copy a batch publishes carries the
	 * batch's number (nl-lseq: per node, growing across restarts: the
	 * larger of the last plus one and the time in us); its last record
	 * says so (nl-last). seen[N]: node N's batches the view has whole
	 * (replay, then the consumer thread); this node's, those its
	 * commit thread is done with (a copy can come back from the store
	 * before its batch is confirmed: it waits for its op's end).
	 * Atomic: two threads.
	 */
	uint64_t		 lseq;		/* commit thread: the batch's */
	uint64_t		 seen[256];
	struct queue_rmq_wait	*waits;		/* consumer: FIFO */
	size_t			 wait0, nwaits, waitcap;
};

static int
queue_rmq_tag_cmp(const void *a, const void *b)
{
	return strcmp(((const struct queue_rmq_tag *)a)->key,
	    ((const struct queue_rmq_tag *)b)->key);
}

/* A copy's key: its queue's place, its message and copy number. */
static void
queue_rmq_copy_key(char *buf, const struct queue_copy *c, int dead)
{
	if (dead)
		snprintf(buf, QUEUE_RMQ_KEY_MAX, "dead.%016" PRIx64 ".%u",
		    c->msgid, c->copy);
	else
		snprintf(buf, QUEUE_RMQ_KEY_MAX, "%s.%u.%016" PRIx64 ".%u",
		    c->line, c->prio, c->msgid, c->copy);
}

static void
queue_rmq_qname(const struct queue_rmq *r, char *buf, size_t sz,
    const char *line, unsigned prio)
{
	if (line == NULL)	/* a node's dead letters are its own */
		snprintf(buf, sz, "%s.dead.n%d", r->prefix, r->node);
	else	/* a pseudo line names its node: "=MSQ3" (msq.h) */
		snprintf(buf, sz, "%s.line.%s.%u", r->prefix, line, prio);
}

/* Commit thread: the view will have this copy (on) or has it (off). */
static void
queue_rmq_expect(struct queue_rmq *r, const char *key, int on)
{
	struct queue_rmq_tag	*t = xcalloc(1, sizeof *t), **found, *old;
	int			 kept = 0;

	util_strlcpy(t->key, key, sizeof t->key);
	pthread_mutex_lock(&r->lock);
	if (on)
		kept = *(struct queue_rmq_tag **)tsearch(t, &r->expect,
		    queue_rmq_tag_cmp) == t;
	else if ((found = tfind(t, &r->expect, queue_rmq_tag_cmp)) != NULL) {
		old = *found;
		tdelete(old, &r->expect, queue_rmq_tag_cmp);
		free(old);
	}
	pthread_mutex_unlock(&r->lock);
	if (!kept)
		free(t);
}

/*
 * A counter's key in the log: the nodes' counters (message ids, line
 * sequence numbers) are each node's own, "nN/KEY"; the operator's
 * service states ("svc.") are the cluster's.
 */
static void
queue_rmq_meta_key(const struct queue_rmq *r, const char *key, char *buf,
    size_t sz)
{
	if (strncmp(key, "svc.", 4) == 0)
		snprintf(buf, sz, "%s", key);
	else
		snprintf(buf, sz, "n%d/%s", r->node, key);
}

/*
 * The store's spec (what the switch's <store> says): words
 * "amqp=HOST:PORT" (one per node), "prefix=NAME", "replicas=N",
 * "log-bytes=N", "credentials=FILE" (one line "user:password"),
 * "tls-ca=FILE" (AMQP over TLS), "tls-cert=FILE", "tls-key=FILE".
 */
static int
queue_rmq_parse(struct queue_rmq *r, const char *spec, char **cause)
{
	char	*p, *w, *v, *cred = NULL;
	size_t	 len;

	r->spec = xstrdup(spec);
	util_strlcpy(r->prefix, "nl", sizeof r->prefix);
	r->node = 1;
	r->replicas = 3;
	r->log_bytes = QUEUE_RMQ_LOG_BYTES;
	r->conf.timeout_ms = 10000;
	r->conf.heartbeat_s = 10;
	for (p = r->spec; (w = strsep(&p, " \t\n")) != NULL;) {
		if (*w == '\0')
			continue;
		if ((v = strchr(w, '=')) == NULL)
			goto bad;
		*v++ = '\0';
		if (strcmp(w, "amqp") == 0 &&
		    r->conf.naddrs < BROKER_ADDRS_MAX)
			r->conf.addrs[r->conf.naddrs++] = v;
		else if (strcmp(w, "prefix") == 0 && *v != '\0' &&
		    strlen(v) < sizeof r->prefix)
			util_strlcpy(r->prefix, v, sizeof r->prefix);
		else if (strcmp(w, "replicas") == 0)
			r->replicas = atoi(v);
		else if (strcmp(w, "node") == 0 && atoi(v) >= 1 &&
		    atoi(v) <= 255)
			r->node = atoi(v);
		else if (strcmp(w, "log-bytes") == 0)
			r->log_bytes = strtoull(v, NULL, 10);
		else if (strcmp(w, "credentials") == 0)
			cred = v;
		else if (strcmp(w, "tls-ca") == 0)
			r->conf.tls_ca = v;
		else if (strcmp(w, "tls-cert") == 0)
			r->conf.tls_cert = v;
		else if (strcmp(w, "tls-key") == 0)
			r->conf.tls_key = v;
		else
			goto bad;
	}
	if (r->conf.naddrs == 0) {
		*cause = xstrdup("rabbitmq store: no node address (amqp=)");
		return -1;
	}
	if (cred != NULL) {
		char *text = util_read_file(cred, &len), *colon;

		if (text == NULL || (colon = strchr(text, ':')) == NULL) {
			*cause = xasprintf("rabbitmq store: credentials %s: "
			    "cannot read one line user:password", cred);
			free(text);
			return -1;
		}
		*colon = '\0';
		colon[strcspn(colon + 1, "\r\n") + 1] = '\0';
		/* Kept for the store's life, freed with it. */
		r->conf.user = text;
		r->conf.pass = colon + 1;
	}
	r->pubconf = r->conf;
	r->pubconf.heartbeat_s = 0;
	return 0;
bad:
	*cause = xasprintf("rabbitmq store: bad word \"%s\" in the spec", w);
	return -1;
}

/*
 * A connection to the first node that takes one, from r->addr on. A
 * publisher has no heartbeats: it is idle between commits, when nothing
 * would answer them, and a dead node shows as confirms that do not come.
 */
static struct broker *
queue_rmq_connect(struct queue_rmq *r, int mode, char *cause)
{
	struct broker *b;

	if ((b = broker_open(mode == BROKER_PUBLISH ? &r->pubconf : &r->conf,
	    r->addr, mode, cause)) != NULL)
		r->addr = broker_addr(b);
	return b;
}

/*
 * The arguments of a queue: kind QUEUE_RMQ_Q_* below. One consumer at a
 * time takes a line's queue, cluster-wide.
 */
#define QUEUE_RMQ_Q_LINE	0
#define QUEUE_RMQ_Q_DEAD	1
#define QUEUE_RMQ_Q_LOG		2
static const struct broker_qargs *
queue_rmq_qargs(const struct queue_rmq *r, int kind, struct broker_qargs *q)
{
	memset(q, 0, sizeof *q);
	q->type = kind == QUEUE_RMQ_Q_LOG ? BROKER_Q_STREAM : BROKER_Q_QUORUM;
	q->replicas = r->replicas;
	q->single_active = kind == QUEUE_RMQ_Q_LINE;
	q->max_bytes = kind == QUEUE_RMQ_Q_LOG ? r->log_bytes : 0;
	if (kind == QUEUE_RMQ_Q_LOG)
		q->segment_bytes = r->log_bytes / 8 > QUEUE_RMQ_SEGMENT_MIN ?
		    r->log_bytes / 8 : QUEUE_RMQ_SEGMENT_MIN;
	return q;
}

/*
 * Publishing.
 */

struct queue_rmq_out {
	struct broker_msg	 m;
	struct broker_hdr	 h[7];
	char			 id[QUEUE_RMQ_KEY_MAX];
	char			 q[BROKER_NAME_MAX + 1];
	char			 line[QUEUE_LINE_LEN + 1];
	char			*buf;		/* owned body */
	char			*keep;		/* owned string a header names */
	int			 op;		/* index in the batch, -1: none */
	int			 err;		/* enum broker_err */
	uint64_t		 seq;
};

struct queue_rmq_batch {
	struct queue_rmq_out	*out;
	size_t			 n, cap;
};

static struct queue_rmq_out *
queue_rmq_out_new(struct queue_rmq_batch *bt, int op)
{
	struct queue_rmq_out *o;

	if (bt->n == bt->cap) {
		bt->cap = bt->cap ? bt->cap * 2 : 16;
		bt->out = xrealloc(bt->out, bt->cap * sizeof *bt->out);
	}
	o = &bt->out[bt->n++];
	memset(o, 0, sizeof *o);
	o->op = op;
	return o;
}

static void
queue_rmq_batch_free(struct queue_rmq_batch *bt)
{
	size_t i;

	for (i = 0; i < bt->n; i++) {
		free(bt->out[i].buf);
		free(bt->out[i].keep);
	}
	free(bt->out);
}

/* A copy's message, to its line's queue (dead: to the dead letters). */
static void
queue_rmq_out_copy(struct queue_rmq *r, struct queue_rmq_batch *bt, int op,
    const struct queue_msgrec *msg, const struct queue_copy *c,
    const char *body, size_t len, int dead)
{
	struct queue_rmq_out	*o = queue_rmq_out_new(bt, op);
	struct queue_rmq_rec	 rec;

	memset(&rec, 0, sizeof rec);
	rec.magic = QUEUE_RMQ_MAGIC;
	rec.reclen = sizeof rec;
	rec.msg = *msg;
	rec.copy = *c;
	rec.copy.msgid = msg->msgid;
	o->buf = xmalloc(sizeof rec + len);
	memcpy(o->buf, &rec, sizeof rec);
	if (len > 0)
		memcpy(o->buf + sizeof rec, body, len);
	o->m.body = o->buf;
	o->m.len = sizeof rec + len;
	queue_rmq_copy_key(o->id, &rec.copy, dead);
	if (dead)	/* the EXPIRE moves it in the view */
		queue_rmq_expect(r, o->id, 1);
	queue_rmq_qname(r, o->q, sizeof o->q, dead ? NULL : c->line, c->prio);
	o->h[0].key = "nl-msgid";
	o->h[0].num = msg->msgid;
	util_strlcpy(o->line, c->line, sizeof o->line);
	o->h[1].key = "nl-line";	/* str: o->line, when sent */
	o->h[2].key = "nl-node";
	o->h[2].num = (uint64_t)r->node;
	o->h[3].key = "nl-lseq";
	o->h[3].num = r->lseq;
	o->m.nhdrs = 4;
}

/* A record of the log stream: kind, key (or ""), number, text. */
static void
queue_rmq_out_log(struct queue_rmq *r, struct queue_rmq_batch *bt, int op,
    const char *kind, const char *key, uint64_t num, const void *val,
    size_t len)
{
	struct queue_rmq_out *o = queue_rmq_out_new(bt, op);

	snprintf(o->q, sizeof o->q, "%s.log", r->prefix);
	snprintf(o->id, sizeof o->id, "%s", kind);
	r->log_written += len + 128;	/* with its headers, about */
	o->buf = xmalloc(len + 1);
	if (len > 0)
		memcpy(o->buf, val, len);
	o->buf[len] = '\0';
	o->m.body = o->buf;
	o->m.len = len;
	o->h[0].key = "nl-kind";
	o->h[0].str = kind;
	o->keep = xstrdup(key != NULL ? key : "");
	o->h[1].key = "nl-key";
	o->h[1].str = o->keep;
	o->h[2].key = "nl-num";
	o->h[2].num = num;
	o->h[3].key = "nl-del";
	o->h[3].num = val == NULL;
	o->h[4].key = "nl-node";
	o->h[4].num = (uint64_t)r->node;
	o->h[5].key = "nl-lseq";
	o->h[5].num = r->lseq;
	o->h[6].key = "nl-last";	/* on the batch's last only, when sent */
	o->h[6].num = 1;
	o->m.nhdrs = 6;
}

static void
queue_rmq_settled_cb(void *arg, uint64_t seq, int err)
{
	struct queue_rmq_batch	*bt = arg;
	size_t			 i;

	for (i = 0; i < bt->n; i++)
		if (bt->out[i].seq == seq) {
			bt->out[i].err = err;
			return;
		}
}

/*
 * Publish the batch and wait for every confirm. What is not confirmed is
 * published again until it is or the retry time is over: what a queue
 * refused (it refuses while it elects a leader, the line queues having no
 * length limit) on the same connection, what a lost connection left
 * unsettled on a connection to the next node that takes one.
 * @return 0 (each out's err set: OK, or NOROUTE), -1: not all of it
 * was confirmed in time (the others' err says why: CONN, REFUSED).
 */
static int
queue_rmq_send(struct queue_rmq *r, struct broker **pub,
    struct queue_rmq_batch *bt, int retry_ms, char *cause)
{
	uint64_t		 deadline = util_mono_us() +
				    (uint64_t)retry_ms * 1000;
	struct queue_rmq_out	*o;
	uint64_t		 refused_since = 0;
	size_t			 i, left;
	int			 rc;

	for (i = 0; i < bt->n; i++) {
		/* The array is final now: point into it. */
		o = &bt->out[i];
		o->m.hdrs = o->h;
		o->m.id = o->id;
		o->m.queue = o->q;
		if (o->line[0] != '\0')
			o->h[1].str = o->line;
		o->err = BROKER_E_CONN;
	}
	for (i = bt->n; i > 0; i--)
		if (strcmp(bt->out[i - 1].q, r->logname) == 0) {
			bt->out[i - 1].m.nhdrs = 7;	/* nl-last */
			break;
		}
	for (;;) {
		if (*pub == NULL &&
		    (*pub = queue_rmq_connect(r, BROKER_PUBLISH,
		    cause)) == NULL)
			goto retry;
		/* A store that is down answers quickly, or is still down. */
		broker_set_timeout(*pub, retry_ms < QUEUE_RMQ_RETRY_MS ?
		    retry_ms : 0);
		rc = BROKER_E_OK;
		for (i = 0; i < bt->n && rc == BROKER_E_OK; i++) {
			o = &bt->out[i];
			o->seq = 0;
			if (o->err == BROKER_E_OK || o->err == BROKER_E_NOROUTE)
				continue;
			o->err = BROKER_E_CONN;
			rc = broker_publish(*pub, &o->m, &o->seq, cause);
		}
		if (rc == BROKER_E_OK)
			rc = broker_settle(*pub, queue_rmq_settled_cb, bt,
			    cause);
		if (rc == BROKER_E_OK) {
			for (i = left = 0; i < bt->n; i++)
				left += bt->out[i].err == BROKER_E_REFUSED;
			if (left == 0)
				return 0;
			snprintf(cause, BROKER_CAUSE_MAX, "%zu publishes "
			    "refused (a queue without a leader?)", left);
			/*
			 * A queue elects a leader in seconds. A channel that
			 * goes on being refused longer may hold on to the
			 * old one: publish again on a new connection.
			 */
			if (refused_since == 0)
				refused_since = util_mono_us();
			else if (util_mono_us() - refused_since >
			    QUEUE_RMQ_REFUSED_US) {
				broker_close(*pub);
				*pub = NULL;
				r->addr++;
				refused_since = 0;
			}
		} else {
			broker_close(*pub);
			*pub = NULL;
			r->addr++;
		}
retry:
		if (util_mono_us() >= deadline)
			return -1;
		log_debug("queue: rabbitmq: %s; again", cause);
		usleep(100000);
	}
}

/*
 * The consumer's side: deliveries' tags, acks.
 */

/*
 * A record of the log into the view: at start-up (replay) every record
 * of the cluster, this node's counters and the cluster's; afterwards
 * (follow) the records the other nodes write: their state records
 * (photo requests, merges ...), audit records and service states.
 * @return 1 if applied.
 */
static int
queue_rmq_log_apply(struct queue_rmq *r, const struct broker_delivery *d,
    int follow)
{
	struct queue_op		 op, *opp = &op;
	struct queue_state	 st;
	char			 kind[16], key[QUEUE_META_KEY_MAX + 16], npfx[8];
	uint64_t		 node = broker_hdr_num(d, "nl-node");
	uint64_t		 lseq = broker_hdr_num(d, "nl-lseq");

	/* Written whole up to the batch before this one's, or this one's
	 * with its last record. This node's own: when they were written
	 * (queue_rmq_apply), not when they come back. */
	if (node < 256 && lseq > 0 && !(follow && node == (uint64_t)r->node)) {
		if (!broker_hdr_num(d, "nl-last"))
			lseq--;
		if (lseq > r->seen[node])
			__atomic_store_n(&r->seen[node], lseq,
			    __ATOMIC_RELEASE);
	}
	broker_hdr_str(d, "nl-kind", kind, sizeof kind);
	broker_hdr_str(d, "nl-key", key, sizeof key);
	if (follow && node == (uint64_t)r->node)
		return 0;	/* applied when it was written */
	snprintf(npfx, sizeof npfx, "n%d/", r->node);
	memset(&op, 0, sizeof op);
	if (strcmp(kind, "audit") == 0) {
		char *text = xstrndup(d->body, d->len);

		queue_ram_audit_at(r->view, broker_hdr_num(d, "nl-num"), text);
		free(text);
		return 1;
	}
	if (strcmp(kind, "meta") == 0) {
		/* This node's counters, and the cluster's. */
		if (!follow && strncmp(key, npfx, strlen(npfx)) == 0)
			op.meta_key = key + strlen(npfx);
		else	/* svc., or another node's: kept for snapshots */
			op.meta_key = key;
		op.type = QUEUE_OP_META;
		op.meta_value = broker_hdr_num(d, "nl-num");
	} else if (strcmp(kind, "state") == 0) {
		op.type = QUEUE_OP_STATE;
		st.key = key;
		st.val = broker_hdr_num(d, "nl-del") ? NULL : d->body;
		st.len = d->len;
		op.states = &st;
		op.nstates = 1;
	} else
		return 0;
	queue_backend_ram.apply(r->view, &opp, 1);
	return 1;
}

/* Consumer thread (or load): follow the log from where it was left. */
static int
queue_rmq_follow(struct queue_rmq *r, char *cause)
{
	char off[24];

	snprintf(off, sizeof off, "%" PRIu64, r->log_next);
	return broker_consume(r->con, r->logname, QUEUE_RMQ_PREFETCH, off,
	    cause);
}

/*
 * Consumer thread (or load, before it runs): a delivery of a copy, held
 * by its key until the copy is deleted.
 * @return 1: the view is to take it (it may be new to it); 0: acked at
 * once (deleted before it came, or a second delivery of one copy).
 */
static int
queue_rmq_hold(struct queue_rmq *r, const char *key, uint64_t tag)
{
	struct queue_rmq_tag	*t = xcalloc(1, sizeof *t), **found;
	char			 cause[BROKER_CAUSE_MAX];

	util_strlcpy(t->key, key, sizeof t->key);
	t->tag = tag;
	found = tsearch(t, &r->tags, queue_rmq_tag_cmp);
	if (*found == t)
		return 1;
	free(t);
	t = *found;
	if (t->tag == QUEUE_RMQ_STALE) {
		/* Again, on the new connection. */
		t->tag = tag;
		return 1;
	}
	if (t->tag == 0) {
		/* Deleted before it came. */
		tdelete(t, &r->tags, queue_rmq_tag_cmp);
		free(t);
	}
	if (r->con != NULL && broker_ack(r->con, tag, cause) != 0)
		log_warnx("queue: rabbitmq: %s", cause);
	return 0;
}

/* Consumer thread: ack the copy of key, now or when it arrives. */
static void
queue_rmq_release(struct queue_rmq *r, const char *key)
{
	struct queue_rmq_tag	 k, **found, *t;
	char			 cause[BROKER_CAUSE_MAX];

	util_strlcpy(k.key, key, sizeof k.key);
	if ((found = tfind(&k, &r->tags, queue_rmq_tag_cmp)) == NULL) {
		t = xcalloc(1, sizeof *t);
		util_strlcpy(t->key, key, sizeof t->key);
		tsearch(t, &r->tags, queue_rmq_tag_cmp);
		return;
	}
	t = *found;
	if (t->tag == QUEUE_RMQ_STALE) {
		t->tag = 0;	/* ack it when it comes again */
		return;
	}
	if (t->tag != 0 && r->con != NULL &&
	    broker_ack(r->con, t->tag, cause) != 0)
		log_warnx("queue: rabbitmq: %s", cause);
	tdelete(t, &r->tags, queue_rmq_tag_cmp);
	free(t);
}

/* Any thread: ask the consumer thread for something. */
static void
queue_rmq_request(struct queue_rmq *r, int type, const char *key)
{
	pthread_mutex_lock(&r->lock);
	if (r->nreqs == r->reqcap) {
		r->reqcap = r->reqcap ? r->reqcap * 2 : 64;
		r->reqs = xrealloc(r->reqs, r->reqcap * sizeof *r->reqs);
	}
	r->reqs[r->nreqs].type = type;
	util_strlcpy(r->reqs[r->nreqs].key, key, sizeof r->reqs->key);
	r->nreqs++;
	pthread_mutex_unlock(&r->lock);
}

/* Commit thread: have the consumer ack this copy. */
static void
queue_rmq_ack(struct queue_rmq *r, const struct queue_copy *c, int dead)
{
	char key[QUEUE_RMQ_KEY_MAX];

	queue_rmq_copy_key(key, c, dead);
	queue_rmq_request(r, QUEUE_RMQ_ACK, key);
}

/*
 * A delivery's copy record and the key it is held by.
 * @return 0, or -1 when it is no copy (a marker, or not ours).
 */
static int
queue_rmq_delivery(const struct queue_rmq *r, const struct broker_delivery *d,
    struct queue_rmq_rec *rec, char *key)
{
	char dead[BROKER_NAME_MAX + 1];

	key[0] = '\0';
	if (d->len < sizeof *rec)
		return -1;
	memcpy(rec, d->body, sizeof *rec);
	if (rec->magic != QUEUE_RMQ_MAGIC || rec->reclen != sizeof *rec)
		return -1;
	queue_rmq_qname(r, dead, sizeof dead, NULL, 0);
	queue_rmq_copy_key(key, &rec->copy, strcmp(d->queue, dead) == 0);
	return 0;
}

/*
 * Load and consumer: a delivered copy into the view, unless the view has
 * it or will have it (a dead copy an EXPIRE of ours published: the
 * EXPIRE moves it when confirmed). A line's copy new to the view is
 * reported to the loop (report: once load is over).
 */
static void
queue_rmq_take(struct queue_rmq *r, const struct queue_rmq_rec *rec,
    const void *body, size_t len, const char *key, int report)
{
	struct queue_rmq_tag	 k;
	int			 dead = strncmp(key, "dead.", 5) == 0, ours;

	util_strlcpy(k.key, key, sizeof k.key);
	pthread_mutex_lock(&r->lock);
	ours = tfind(&k, &r->expect, queue_rmq_tag_cmp) != NULL;
	pthread_mutex_unlock(&r->lock);
	if (ours || queue_ram_add_copy(r->view, &rec->msg, body, len,
	    &rec->copy, dead) != 0)
		return;
	if (report && !dead && r->arrive != NULL)
		r->arrive(r->arrive_arg, &rec->copy);
}

/*
 * Consumer thread: a line's copy, to the view once the view has its
 * batch's records (struct queue_rmq_wait), so that a state never gets a
 * query before this node knows what the query's node wrote with it (the
 * photo it may answer with, the merge its answer goes to).
 */
static void
queue_rmq_gate(struct queue_rmq *r, const struct broker_delivery *d,
    const struct queue_rmq_rec *rec, const char *key)
{
	const void		*body = (const char *)d->body + sizeof *rec;
	size_t			 len = d->len - sizeof *rec;
	uint64_t		 node = broker_hdr_num(d, "nl-node");
	uint64_t		 lseq = broker_hdr_num(d, "nl-lseq");
	struct queue_rmq_wait	*w;

	if (r->nwaits == r->wait0 && (node == 0 || node >= 256 ||
	    lseq <= __atomic_load_n(&r->seen[node], __ATOMIC_ACQUIRE))) {
		queue_rmq_take(r, rec, body, len, key, 1);
		return;
	}
	if (r->nwaits == r->waitcap) {
		r->waitcap = r->waitcap ? r->waitcap * 2 : 64;
		r->waits = xrealloc(r->waits, r->waitcap * sizeof *r->waits);
	}
	w = &r->waits[r->nwaits++];
	w->rec = *rec;
	util_strlcpy(w->key, key, sizeof w->key);
	w->body = xmalloc(len + 1);
	memcpy(w->body, body, len);
	w->len = len;
	w->node = node < 256 ? (int)node : 0;
	w->lseq = lseq;
	w->until_us = util_mono_us() + QUEUE_RMQ_GATE_US;
}

/* Consumer thread: the waiting copies whose records came, in order. */
static void
queue_rmq_ungate(struct queue_rmq *r)
{
	struct queue_rmq_wait	*w;
	uint64_t		 now = util_mono_us();

	while (r->wait0 < r->nwaits) {
		w = &r->waits[r->wait0];
		if (w->node != 0 && w->lseq > __atomic_load_n(&r->seen[w->node],
		    __ATOMIC_ACQUIRE)) {
			if (now < w->until_us)
				break;
			log_warnx("queue: rabbitmq: copy %s: node %d's "
			    "records of its batch did not come in %d ms: "
			    "delivered without them", w->key, w->node,
			    QUEUE_RMQ_GATE_US / 1000);
		}
		queue_rmq_take(r, &w->rec, w->body, w->len, w->key, 1);
		free(w->body);
		r->wait0++;
	}
	if (r->wait0 == r->nwaits)
		r->wait0 = r->nwaits = 0;
}

/* Consumer thread: forget the waiting copies of line (NULL: all). */
static void
queue_rmq_ungate_drop(struct queue_rmq *r, const char *line)
{
	size_t i, n = r->wait0;

	for (i = r->wait0; i < r->nwaits; i++) {
		if (line == NULL || strcmp(r->waits[i].rec.copy.line,
		    line) == 0)
			free(r->waits[i].body);
		else
			r->waits[n++] = r->waits[i];
	}
	r->nwaits = n;
	if (r->wait0 == r->nwaits)
		r->wait0 = r->nwaits = 0;
}

static int
queue_rmq_strcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
queue_rmq_nofree(void *p)
{
	(void)p;
}

/* Is queue name q among those consumed? */
static int
queue_rmq_consumed(const struct queue_rmq *r, const char *q)
{
	return tfind(q, &r->qset, queue_rmq_strcmp) != NULL;
}

/* The index of queue name q among those consumed, or -1. */
static int
queue_rmq_qindex(const struct queue_rmq *r, const char *q)
{
	int i;

	if (!queue_rmq_consumed(r, q))
		return -1;
	for (i = 0; i < r->nq; i++)
		if (strcmp(r->qnames[i], q) == 0)
			return i;
	return -1;
}

/* Forget the names consumed (with free_names, free them too). */
static void
queue_rmq_qclear(struct queue_rmq *r, int free_names)
{
	int i;

	tdestroy(r->qset, queue_rmq_nofree);
	r->qset = NULL;
	if (free_names) {
		for (i = 0; i < r->nq; i++)
			free(r->qnames[i]);
		free(r->qnames);
	}
	r->qnames = NULL;
	r->nq = 0;
}

/* Consumer thread (or load): consume queue q from now on. */
static int
queue_rmq_consume(struct queue_rmq *r, const char *q, int kind, char *cause)
{
	struct broker_qargs qa;

	if (queue_rmq_consumed(r, q))
		return 0;
	if (broker_declare(r->con, q, queue_rmq_qargs(r, kind, &qa),
	    cause) != 0 || broker_consume(r->con, q, QUEUE_RMQ_PREFETCH, NULL,
	    cause) != 0)
		return -1;
	r->qnames = xrealloc(r->qnames, (size_t)(r->nq + 1) *
	    sizeof *r->qnames);
	r->qnames[r->nq] = xstrdup(q);
	(void)tsearch(r->qnames[r->nq++], &r->qset, queue_rmq_strcmp);
	return 0;
}

/* Collect the held deliveries of one line (twalk has no argument). */
static __thread struct {
	const char		 *prefix;
	size_t			  len;
	struct queue_rmq_tag	**t;
	size_t			  n, cap;
} queue_rmq_coll;

static void
queue_rmq_collect_cb(const void *node, VISIT v, int depth)
{
	struct queue_rmq_tag *t = *(struct queue_rmq_tag *const *)node;

	(void)depth;
	if ((v != postorder && v != leaf) ||
	    strncmp(t->key, queue_rmq_coll.prefix, queue_rmq_coll.len) != 0)
		return;
	if (queue_rmq_coll.n == queue_rmq_coll.cap) {
		queue_rmq_coll.cap = queue_rmq_coll.cap ?
		    queue_rmq_coll.cap * 2 : 64;
		queue_rmq_coll.t = xrealloc(queue_rmq_coll.t,
		    queue_rmq_coll.cap * sizeof *queue_rmq_coll.t);
	}
	queue_rmq_coll.t[queue_rmq_coll.n++] = t;
}

/*
 * Consumer thread: the line went down here. Stop consuming its queues,
 * give back what was held (RabbitMQ hands it to the next consumer, where
 * the line comes up), and forget its copies.
 */
static void
queue_rmq_unsub(struct queue_rmq *r, const char *line)
{
	char		 q[BROKER_NAME_MAX + 1], cause[BROKER_CAUSE_MAX];
	char		 prefix[QUEUE_RMQ_KEY_MAX];
	size_t		 i;
	int		 p, qi;

	for (p = 0; p < QUEUE_RMQ_PRIOS; p++) {
		queue_rmq_qname(r, q, sizeof q, line, (unsigned)p);
		if ((qi = queue_rmq_qindex(r, q)) == -1)
			continue;
		if (r->con != NULL && broker_cancel(r->con, q, cause) != 0)
			log_warnx("queue: rabbitmq: %s", cause);
		(void)tdelete(r->qnames[qi], &r->qset, queue_rmq_strcmp);
		free(r->qnames[qi]);
		r->qnames[qi] = r->qnames[--r->nq];
	}
	snprintf(prefix, sizeof prefix, "%s.", line);
	queue_rmq_coll.prefix = prefix;
	queue_rmq_coll.len = strlen(prefix);
	queue_rmq_coll.n = 0;
	twalk(r->tags, queue_rmq_collect_cb);
	for (i = 0; i < queue_rmq_coll.n; i++) {
		struct queue_rmq_tag *t = queue_rmq_coll.t[i];

		if (t->tag != 0 && t->tag != QUEUE_RMQ_STALE &&
		    r->con != NULL && broker_reject(r->con, t->tag, 1,
		    cause) != 0)
			log_warnx("queue: rabbitmq: %s", cause);
		tdelete(t, &r->tags, queue_rmq_tag_cmp);
		free(t);
	}
	free(queue_rmq_coll.t);
	memset(&queue_rmq_coll, 0, sizeof queue_rmq_coll);
	queue_rmq_ungate_drop(r, line);
	queue_ram_drop_line(r->view, line);
}

/* Consumer thread: what was asked of it. */
static void
queue_rmq_requests(struct queue_rmq *r)
{
	struct queue_rmq_req	*reqs;
	char			 q[BROKER_NAME_MAX + 1];
	char			 cause[BROKER_CAUSE_MAX];
	size_t			 n, i;
	int			 p;

	pthread_mutex_lock(&r->lock);
	reqs = r->reqs;
	n = r->nreqs;
	r->reqs = NULL;
	r->nreqs = r->reqcap = 0;
	pthread_mutex_unlock(&r->lock);
	for (i = 0; i < n; i++)
		switch (reqs[i].type) {
		case QUEUE_RMQ_ACK:
			queue_rmq_release(r, reqs[i].key);
			break;
		case QUEUE_RMQ_SUB:
			for (p = 0; p < QUEUE_RMQ_PRIOS && r->con != NULL;
			    p++) {
				queue_rmq_qname(r, q, sizeof q, reqs[i].key,
				    (unsigned)p);
				if (queue_rmq_consume(r, q, QUEUE_RMQ_Q_LINE,
				    cause) != 0)
					log_warnx("queue: rabbitmq: %s", cause);
			}
			break;
		case QUEUE_RMQ_UNSUB:
			queue_rmq_unsub(r, reqs[i].key);
			break;
		}
	free(reqs);
}

static void
queue_rmq_forget_cb(const void *node, VISIT v, int depth)
{
	struct queue_rmq_tag *t = *(struct queue_rmq_tag *const *)node;

	(void)depth;
	if ((v == postorder || v == leaf) && t->tag != 0)
		t->tag = QUEUE_RMQ_STALE;
}

/*
 * Consumer thread: the connection died. What it held went back to the
 * queues and comes again on a new one: the tags held are forgotten (a
 * copy deleted meanwhile is acked when it comes again), then the queues
 * are consumed again from the next node that takes the connection.
 */
static void
queue_rmq_reconsume(struct queue_rmq *r)
{
	char			 cause[BROKER_CAUSE_MAX];
	char			**names = r->qnames;
	int			 i, n = r->nq, stop = 0;

	twalk(r->tags, queue_rmq_forget_cb);
	queue_rmq_ungate_drop(r, NULL);		/* they come again */
	broker_close(r->con);
	r->con = NULL;
	r->addr++;
	queue_rmq_qclear(r, 0);		/* names: what to consume again */
	while (!stop) {
		if ((r->con = queue_rmq_connect(r, BROKER_CONSUME,
		    cause)) != NULL) {
			for (i = 0; i < n; i++)
				if (queue_rmq_consume(r, names[i],
				    strstr(names[i], ".line.") != NULL ?
				    QUEUE_RMQ_Q_LINE : QUEUE_RMQ_Q_DEAD,
				    cause) != 0)
					break;
			if (i == n && queue_rmq_follow(r, cause) == 0) {
				log_info("queue: rabbitmq consumer back on "
				    "%s", r->conf.addrs[r->addr %
				    r->conf.naddrs]);
				break;
			}
			queue_rmq_qclear(r, 1);
			broker_close(r->con);
			r->con = NULL;
			r->addr++;
		}
		log_warnx("queue: rabbitmq consumer: %s", cause);
		usleep(500000);
		pthread_mutex_lock(&r->lock);
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void *
queue_rmq_consumer_main(void *arg)
{
	struct queue_rmq	*r = arg;
	struct broker_delivery	 d;
	struct queue_rmq_rec	 rec;
	char			 cause[BROKER_CAUSE_MAX], key[QUEUE_RMQ_KEY_MAX];
	int			 rc, stop;

	for (;;) {
		queue_rmq_requests(r);
		pthread_mutex_lock(&r->lock);
		stop = r->stop;
		pthread_mutex_unlock(&r->lock);
		if (stop || r->con == NULL)
			break;
		rc = broker_next(r->con, &d, QUEUE_RMQ_POLL_MS, cause);
		if (rc == 1 && strcmp(d.queue, r->logname) == 0) {
			queue_rmq_log_apply(r, &d, 1);
			r->log_next = d.offset + 1;
			if (broker_ack(r->con, d.tag, cause) != 0)
				log_warnx("queue: rabbitmq: %s", cause);
		} else if (rc == 1) {
			if (!queue_rmq_consumed(r, d.queue)) {
				/* Of a line that went down here. */
				if (broker_reject(r->con, d.tag, 1, cause) != 0)
					log_warnx("queue: rabbitmq: %s", cause);
			} else if (queue_rmq_delivery(r, &d, &rec, key) == -1) {
				if (broker_ack(r->con, d.tag, cause) != 0)
					log_warnx("queue: rabbitmq: %s", cause);
			} else if (queue_rmq_hold(r, key, d.tag))
				queue_rmq_gate(r, &d, &rec, key);
		} else if (rc == -1) {
			log_warnx("queue: rabbitmq consumer: %s", cause);
			queue_rmq_reconsume(r);
		}
		queue_rmq_ungate(r);
	}
	return NULL;
}

/*
 * The backend.
 */

/* Replay the log stream into the view, up to the marker published now. */
static int
queue_rmq_replay(struct queue_rmq *r, char **cause)
{
	struct queue_rmq_batch	 bt = { 0 };
	struct broker		*c;
	struct broker_delivery	 d;
	char			 why[BROKER_CAUSE_MAX], log[BROKER_NAME_MAX + 1];
	char			 kind[16], key[QUEUE_META_KEY_MAX + 16];
	uint64_t		 deadline, n = 0;
	int			 rc;

	snprintf(log, sizeof log, "%s.log", r->prefix);
	queue_rmq_out_log(r, &bt, 0, "sync", r->nonce, 0, "", 0);
	rc = queue_rmq_send(r, &r->pub, &bt, QUEUE_RMQ_LOAD_MS, why);
	queue_rmq_batch_free(&bt);
	if (rc == -1) {
		*cause = xstrdup("rabbitmq store: no node confirmed the log's "
		    "marker");
		return -1;
	}
	if ((c = queue_rmq_connect(r, BROKER_CONSUME, why)) == NULL ||
	    broker_consume(c, log, 1000, "first", why) != 0) {
		*cause = xasprintf("rabbitmq store: %s", why);
		broker_close(c);
		return -1;
	}
	deadline = util_mono_us() + (uint64_t)QUEUE_RMQ_LOAD_MS * 1000;
	for (;;) {
		if (util_mono_us() > deadline ||
		    (rc = broker_next(c, &d, 1000, why)) == -1) {
			*cause = xasprintf("rabbitmq store: replaying %s: %s",
			    log, rc == -1 ? why : "its marker never came");
			broker_close(c);
			return -1;
		}
		if (rc == 0)
			continue;
		broker_hdr_str(&d, "nl-kind", kind, sizeof kind);
		broker_hdr_str(&d, "nl-key", key, sizeof key);
		broker_ack(c, d.tag, why);
		if (strcmp(kind, "sync") == 0) {
			if (strcmp(key, r->nonce) == 0) {
				r->log_next = d.offset + 1;
				break;
			}
			continue;
		}
		n += queue_rmq_log_apply(r, &d, 0);
	}
	broker_close(c);
	log_info("queue: rabbitmq log %s replayed, records=%" PRIu64, log, n);
	return 0;
}

static void *
queue_rmq_open(const char *spec, size_t mapsize, char **cause)
{
	struct queue_rmq	*r = xcalloc(1, sizeof *r);
	char			 why[BROKER_CAUSE_MAX], q[BROKER_NAME_MAX + 1];
	struct broker_qargs	 qa;
	uint64_t		 seed = util_now_us() ^ (uint64_t)getpid();

	pthread_mutex_init(&r->lock, NULL);
	r->view = queue_backend_ram.open(NULL, mapsize, cause);
	queue_ram_audit_cap(r->view, QUEUE_RMQ_VIEW_AUDIT);
	if (queue_rmq_parse(r, spec, cause) == -1)
		goto fail;
	/* This node's batches before this process: all done. */
	r->seen[r->node] = util_now_us();
	snprintf(r->nonce, sizeof r->nonce, "%016" PRIx64 "%08" PRIx32,
	    util_now_us(), (uint32_t)util_rand_next(&seed));
	if ((r->pub = queue_rmq_connect(r, BROKER_PUBLISH, why)) == NULL)
		goto failwhy;
	snprintf(q, sizeof q, "%s.log", r->prefix);
	util_strlcpy(r->logname, q, sizeof r->logname);
	if (broker_declare(r->pub, q, queue_rmq_qargs(r, QUEUE_RMQ_Q_LOG,
	    &qa), why) != 0)
		goto failwhy;
	queue_rmq_qname(r, q, sizeof q, NULL, 0);
	if (broker_declare(r->pub, q, queue_rmq_qargs(r, QUEUE_RMQ_Q_DEAD,
	    &qa), why) != 0)
		goto failwhy;
	if (queue_rmq_replay(r, cause) == -1)
		goto fail;
	r->log_written = r->log_bytes;	/* a snapshot with the first batch */
	return r;
failwhy:
	*cause = xasprintf("rabbitmq store: %s", why);
fail:
	broker_close(r->pub);
	queue_backend_ram.close(r->view);
	free(r->spec);
	free((char *)r->conf.user);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return NULL;
}

static void
queue_rmq_tag_free(void *p)
{
	free(p);
}

static void
queue_rmq_close(void *arg)
{
	struct queue_rmq	*r = arg;
	int			 i;

	if (r == NULL)
		return;
	if (r->running) {
		pthread_mutex_lock(&r->lock);
		r->stop = 1;
		pthread_mutex_unlock(&r->lock);
		pthread_join(r->thread, NULL);
	}
	tdestroy(r->tags, queue_rmq_tag_free);
	tdestroy(r->expect, queue_rmq_tag_free);
	queue_rmq_ungate_drop(r, NULL);
	free(r->waits);
	broker_close(r->con);
	broker_close(r->pub);
	broker_close(r->adm);
	queue_backend_ram.close(r->view);
	for (i = 0; i < r->nlines; i++)
		free(r->lines[i]);
	free(r->lines);
	queue_rmq_qclear(r, 1);
	free(r->reqs);
	free(r->spec);
	free((char *)r->conf.user);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/* Loop thread, before load: the lines whose queues this node consumes. */
static int
queue_rmq_serve(void *arg, const char *const *lines, int n, char **cause)
{
	struct queue_rmq	*r = arg;
	int			 i;

	r->lines = xcalloc((size_t)n, sizeof *r->lines);
	for (i = 0; i < n; i++)
		r->lines[i] = xstrdup(lines[i]);
	r->nlines = n;
	(void)cause;
	return 0;
}

/*
 * Start-up: the dead letters and the node's own pseudo-lines ("=MSQn",
 * msq.h) are loaded, each up to a marker published into it first (or as much
 * of it as the prefetch window lets the store hand out: the rest comes
 * as those are deleted). A line's copies come when it is up here.
 */
static int
queue_rmq_load(void *arg, queue_load_cb cb, void *cbarg)
{
	struct queue_rmq	*r = arg;
	struct queue_rmq_batch	 bt = { 0 };
	struct queue_rmq_rec	 rec;
	struct queue_rmq_out	*o;
	struct broker_qargs	 qa;
	struct broker		*mk;
	struct broker_delivery	 d;
	char			 why[BROKER_CAUSE_MAX], key[QUEUE_RMQ_KEY_MAX];
	char			 qn[BROKER_NAME_MAX + 1];
	unsigned		*held = NULL;
	uint64_t		 deadline, ncopies = 0;
	size_t			 i;
	int			 done = 0, l, p, qi, rc;
	sigset_t		 all, old;

	if ((mk = queue_rmq_connect(r, BROKER_PUBLISH, why)) == NULL)
		goto failwhy;
	for (l = -1; l < r->nlines; l++) {
		if (l >= 0 && r->lines[l][0] != '=') {
			/* There for the copies any node stores. */
			for (p = 0; p < QUEUE_RMQ_PRIOS; p++) {
				queue_rmq_qname(r, qn, sizeof qn,
				    r->lines[l], (unsigned)p);
				if (broker_declare(mk, qn, queue_rmq_qargs(r,
				    QUEUE_RMQ_Q_LINE, &qa), why) != 0)
					goto failwhy;
			}
			continue;
		}
		for (p = 0; p < (l < 0 ? 1 : QUEUE_RMQ_PRIOS); p++) {
			o = queue_rmq_out_new(&bt, 0);
			queue_rmq_qname(r, o->q, sizeof o->q,
			    l < 0 ? NULL : r->lines[l], (unsigned)p);
			if (broker_declare(mk, o->q, queue_rmq_qargs(r, l < 0 ?
			    QUEUE_RMQ_Q_DEAD : QUEUE_RMQ_Q_LINE, &qa),
			    why) != 0)
				goto failwhy;
			snprintf(o->id, sizeof o->id, "sync.%s", r->nonce);
			o->buf = xstrdup("");
			o->m.body = o->buf;
		}
	}
	/* Right after a RabbitMQ node died, its queues elect leaders. */
	if (queue_rmq_send(r, &mk, &bt, QUEUE_RMQ_LOAD_MS, why) == -1)
		goto failwhy;
	broker_close(mk);
	mk = NULL;

	if ((r->con = queue_rmq_connect(r, BROKER_CONSUME, why)) == NULL)
		goto failwhy;
	held = xcalloc(bt.n, sizeof *held);
	for (i = 0; i < bt.n; i++)
		if (queue_rmq_consume(r, bt.out[i].q, i == 0 ?
		    QUEUE_RMQ_Q_DEAD : QUEUE_RMQ_Q_LINE, why) != 0)
			goto failwhy;
	deadline = util_mono_us() + (uint64_t)QUEUE_RMQ_LOAD_MS * 1000;
	while (done < r->nq) {
		if (util_mono_us() > deadline) {
			snprintf(why, sizeof why, "%d of %d queues loaded "
			    "within %d ms", done, r->nq, QUEUE_RMQ_LOAD_MS);
			goto failwhy;
		}
		if ((rc = broker_next(r->con, &d, 1000, why)) == -1)
			goto failwhy;
		if (rc == 0 || (qi = queue_rmq_qindex(r, d.queue)) == -1)
			continue;
		if (strncmp(d.id, "sync.", 5) == 0) {
			broker_ack(r->con, d.tag, why);
			if (strcmp(d.id + 5, r->nonce) == 0 &&
			    held[qi] < QUEUE_RMQ_PREFETCH) {
				held[qi] = QUEUE_RMQ_PREFETCH;
				done++;
			}
			continue;
		}
		if (queue_rmq_delivery(r, &d, &rec, key) == -1) {
			log_warnx("queue: rabbitmq: %s: a message that is no "
			    "copy (%zu bytes), dropped", d.queue, d.len);
			broker_ack(r->con, d.tag, why);
			continue;
		}
		if (queue_rmq_hold(r, key, d.tag))
			queue_rmq_take(r, &rec, (const char *)d.body +
			    sizeof rec, d.len - sizeof rec, key, 0);
		ncopies++;
		if (held[qi] < QUEUE_RMQ_PREFETCH &&
		    ++held[qi] == QUEUE_RMQ_PREFETCH)
			done++;
	}
	if (queue_rmq_follow(r, why) != 0)
		goto failwhy;
	free(held);
	queue_rmq_batch_free(&bt);
	log_info("queue: rabbitmq node=%d queues=%d copies held=%" PRIu64,
	    r->node, r->nq, ncopies);

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&r->thread, NULL, queue_rmq_consumer_main, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		fatalx("queue: rabbitmq: pthread_create: %s", strerror(rc));
	r->running = 1;
	return queue_backend_ram.load(r->view, cb, cbarg);

failwhy:
	log_warnx("queue: rabbitmq load: %s", why);
	broker_close(mk);
	queue_rmq_batch_free(&bt);
	free(held);
	return QUEUE_E_IO;
}

/* Loop thread: what RabbitMQ holds of a line for no consumer yet. */
static int
queue_rmq_depth(void *arg, const char *line, uint64_t *waiting)
{
	struct queue_rmq	*r = arg;
	char			 q[BROKER_NAME_MAX + 1], why[BROKER_CAUSE_MAX];
	uint64_t		 ready, consumers;
	int			 p;

	*waiting = 0;
	if (r->adm != NULL && broker_dead(r->adm)) {
		broker_close(r->adm);
		r->adm = NULL;
	}
	if (r->adm == NULL &&
	    (r->adm = broker_open(&r->pubconf, r->addr, BROKER_PUBLISH,
	    why)) == NULL)
		return QUEUE_E_UNAVAILABLE;
	for (p = 0; p < QUEUE_RMQ_PRIOS; p++) {
		queue_rmq_qname(r, q, sizeof q, line, (unsigned)p);
		if (broker_depth(r->adm, q, &ready, &consumers, why) != 0)
			return QUEUE_E_UNAVAILABLE;
		*waiting += ready;
	}
	return QUEUE_E_OK;
}

/* Loop thread: a line came up here, or went down. */
static void
queue_rmq_subscribe(void *arg, const char *line, int on)
{
	queue_rmq_request(arg, on ? QUEUE_RMQ_SUB : QUEUE_RMQ_UNSUB, line);
}

/* The view's copy that an op names (REQUEUE, PURGE: a dead one). */
struct queue_rmq_find {
	const struct queue_copy	*want;
	struct queue_copy	 found;
	int			 ok;
};

static void
queue_rmq_find_cb(const struct queue_copy *c, void *arg)
{
	struct queue_rmq_find *fd = arg;

	if (c->msgid == fd->want->msgid && c->copy == fd->want->copy) {
		fd->found = *c;
		fd->ok = 1;
	}
}

/*
 * The log keeps log-bytes, its oldest segments removed first: what is
 * still true must stay in it. Every so often (a quarter of log-bytes
 * written, and first after start-up) a node writes again every state
 * record and counter its view has - its own counters and, as it saw
 * them, the other nodes' and the cluster's - so that a replay finds
 * them whatever was removed before. Writing them twice is harmless.
 */
struct queue_rmq_snap {
	struct queue_rmq	*r;
	struct queue_rmq_batch	*bt;
	size_t			 n;
};

static int
queue_rmq_snap_state_cb(const char *key, size_t klen, const void *val,
    size_t len, void *arg)
{
	struct queue_rmq_snap	*sn = arg;
	char			*k = xstrndup(key, klen);

	queue_rmq_out_log(sn->r, sn->bt, -1, "state", k, 0, val, len);
	free(k);
	sn->n++;
	return 0;
}

static void
queue_rmq_snap_meta_cb(const char *key, uint64_t v, void *arg)
{
	struct queue_rmq_snap	*sn = arg;
	char			 k[QUEUE_META_KEY_MAX + 16];

	if (strchr(key, '/') != NULL)		/* another node's */
		snprintf(k, sizeof k, "%s", key);
	else
		queue_rmq_meta_key(sn->r, key, k, sizeof k);
	queue_rmq_out_log(sn->r, sn->bt, -1, "meta", k, v, "", 0);
	sn->n++;
}

static void
queue_rmq_snapshot(struct queue_rmq *r, struct queue_rmq_batch *bt)
{
	struct queue_rmq_snap sn = { r, bt, 0 };

	queue_backend_ram.walk_state(r->view, "", queue_rmq_snap_state_cb,
	    &sn);
	queue_ram_walk_meta(r->view, queue_rmq_snap_meta_cb, &sn);
	r->log_written = 0;
	log_debug("queue: rabbitmq log snapshot records=%zu", sn.n);
}

/*
 * Commit thread: publish a batch (with nothing in it: a probe of the
 * log), and keep the store's state: once it could not be reached, it is
 * down (the queue reports it, the switch refuses messages) until a
 * publish is confirmed again.
 * @return 1 if the batch was not confirmed.
 */
static int
queue_rmq_sent(struct queue_rmq *r, struct queue_rmq_batch *bt)
{
	char	cause[BROKER_CAUSE_MAX];
	int	failed;

	if (bt->n == 0)
		queue_rmq_out_log(r, bt, -1, "sync", r->nonce, 0, "", 0);
	failed = queue_rmq_send(r, &r->pub, bt, r->down ? QUEUE_RMQ_DOWN_MS :
	    QUEUE_RMQ_RETRY_MS, cause) == -1;
	if (failed && !r->down) {
		util_strlcpy(r->down_cause, cause, sizeof r->down_cause);
		log_warnx("queue: rabbitmq store unavailable: %s", cause);
	} else if (!failed && r->down)
		log_info("queue: rabbitmq store available again on %s",
		    r->conf.addrs[r->addr % r->conf.naddrs]);
	r->down = failed;
	return failed;
}

/* Commit thread, after a batch: the store's state, for /readyz. */
static void
queue_rmq_space(void *arg, struct queue_stats *st)
{
	struct queue_rmq *r = arg;

	st->space = r->down ? QUEUE_SPACE_UNAVAILABLE : QUEUE_SPACE_OK;
	if (r->down)
		snprintf(st->space_cause, sizeof st->space_cause, "rabbitmq: "
		    "%s", r->down_cause);
	else
		st->space_cause[0] = '\0';
}

/*
 * Commit thread. The durable part of each op is published (and
 * confirmed) first; the view then applies the op as queue_ram does, and
 * the deliveries it deletes are acked.
 */
static int
queue_rmq_apply(void *arg, struct queue_op **ops, int n)
{
	struct queue_rmq	*r = arg;
	struct queue_rmq_batch	 bt = { 0 };
	struct queue_op		*op;
	struct queue_rmq_find	 fd;
	struct queue_msgrec	 rec;
	struct ubuf		 body;
	uint64_t		*audit_t = xcalloc((size_t)n, sizeof *audit_t);
	const char		*audit;
	uint64_t		 used, size;
	char			 mkey[QUEUE_META_KEY_MAX + 16];
	size_t			 k;
	int			 i, j, failed;

	ubuf_init(&body);
	r->lseq = r->lseq + 1 > util_now_us() ? r->lseq + 1 : util_now_us();
	/* The view before this batch: first, so that a replay ends with
	 * what the batch changes (after it, a counter the batch raises or
	 * a record it deletes came back old). */
	if (r->log_written >= r->log_bytes / 4)
		queue_rmq_snapshot(r, &bt);
	for (i = 0; i < n; i++) {
		op = ops[i];
		if ((op->result = queue_op_validate(op)) != QUEUE_E_OK)
			continue;
		switch (op->type) {
		case QUEUE_OP_PUT:
			/* Refused here, not after its copies are stored. */
			if (queue_backend_ram.get(r->view, op->msg.msgid,
			    &rec, NULL) == QUEUE_E_OK) {
				op->result = QUEUE_E_EXISTS;
				break;
			}
			queue_backend_ram.usage(r->view, &used, &size);
			if (used + op->bodylen + 1024 * (uint64_t)op->ncopies >
			    size) {
				op->result = QUEUE_E_FULL;
				break;
			}
			for (j = 0; j < op->ncopies; j++)
				queue_rmq_out_copy(r, &bt, i, &op->msg,
				    &op->copies[j], op->body, op->bodylen, 0);
			break;
		case QUEUE_OP_EXPIRE:
		case QUEUE_OP_REQUEUE:
			/* The copy's message travels with it. */
			if (queue_backend_ram.get(r->view, op->copies[0].msgid,
			    &rec, &body) != QUEUE_E_OK) {
				op->result = QUEUE_E_NOTFOUND;
				break;
			}
			memset(&fd, 0, sizeof fd);
			fd.want = &op->copies[0];
			if (op->type == QUEUE_OP_EXPIRE)
				queue_backend_ram.load(r->view,
				    queue_rmq_find_cb, &fd);
			else
				queue_backend_ram.walk_dead(r->view,
				    queue_rmq_find_cb, &fd);
			if (!fd.ok) {
				op->result = QUEUE_E_NOTFOUND;
				break;
			}
			if (op->type == QUEUE_OP_EXPIRE)
				fd.found.attempts = op->copies[0].attempts;
			else {
				fd.found.attempts = 0;
				fd.found.enq_us = util_now_us();
			}
			queue_rmq_out_copy(r, &bt, i, &rec, &fd.found,
			    body.data, body.len, op->type == QUEUE_OP_EXPIRE);
			break;
		case QUEUE_OP_META:
			queue_rmq_meta_key(r, op->meta_key, mkey, sizeof mkey);
			queue_rmq_out_log(r, &bt, i, "meta", mkey,
			    op->meta_value, "", 0);
			break;
		default:
			break;
		}
		if (op->result != QUEUE_E_OK)
			continue;
		for (j = 0; j < op->nstates; j++)
			queue_rmq_out_log(r, &bt, i, "state",
			    op->states[j].key, 0, op->states[j].val,
			    op->states[j].val != NULL ? op->states[j].len : 0);
		if (op->audit != NULL) {
			audit_t[i] = util_now_us();
			queue_rmq_out_log(r, &bt, i, "audit", NULL, audit_t[i],
			    op->audit, strlen(op->audit));
		}
	}
	ubuf_free(&body);

	/* Nothing to publish: only a store that is down is probed. */
	failed = bt.n > 0 || r->down ? queue_rmq_sent(r, &bt) : 0;
	for (k = 0; k < bt.n; k++) {
		if (bt.out[k].op < 0)
			continue;	/* the probe */
		op = ops[bt.out[k].op];
		if (op->result != QUEUE_E_OK)
			continue;
		if (bt.out[k].err == BROKER_E_NOROUTE)
			op->result = QUEUE_E_IO;	/* no such queue */
		else if (failed)
			op->result = QUEUE_E_UNAVAILABLE;
	}

	/*
	 * The view. A PUT's copies are not this node's until the store
	 * hands them over (their line up here): only its state records and
	 * audit go in. A REQUEUE's copy, the same: the dead one goes.
	 */
	for (i = 0; i < n; i++) {
		enum queue_op_type type;

		op = ops[i];
		if (op->result != QUEUE_E_OK)
			continue;
		type = op->type;
		fd.want = &op->copies[0];
		fd.ok = 0;
		if (type == QUEUE_OP_PURGE || type == QUEUE_OP_REQUEUE)
			queue_backend_ram.walk_dead(r->view, queue_rmq_find_cb,
			    &fd);
		if (type == QUEUE_OP_PUT)
			op->type = QUEUE_OP_STATE;
		else if (type == QUEUE_OP_REQUEUE)
			op->type = QUEUE_OP_PURGE;
		/* The view writes the audit with the log's time. */
		audit = op->audit;
		if (type != QUEUE_OP_AUDIT) {
			op->audit = NULL;
			queue_backend_ram.apply(r->view, &op, 1);
			op->audit = audit;
		}
		op->type = type;
		/* Deleted, but gone from the view: its line went down. */
		if (type == QUEUE_OP_DELETE && op->result == QUEUE_E_NOTFOUND)
			op->result = QUEUE_E_OK;
		if (op->result != QUEUE_E_OK)
			continue;
		if (audit != NULL)
			queue_ram_audit_at(r->view, audit_t[i], audit);
		if (type == QUEUE_OP_DELETE || type == QUEUE_OP_EXPIRE)
			queue_rmq_ack(r, &op->copies[0], 0);
		else if (fd.ok)
			queue_rmq_ack(r, &fd.found, 1);
	}
	for (k = 0; k < bt.n; k++)
		if (strncmp(bt.out[k].id, "dead.", 5) == 0)
			queue_rmq_expect(r, bt.out[k].id, 0);
	__atomic_store_n(&r->seen[r->node], r->lseq, __ATOMIC_RELEASE);
	queue_rmq_batch_free(&bt);
	free(audit_t);
	return 0;
}

static int
queue_rmq_get(void *arg, uint64_t msgid, struct queue_msgrec *m,
    struct ubuf *body)
{
	return queue_backend_ram.get(((struct queue_rmq *)arg)->view, msgid, m,
	    body);
}

static int
queue_rmq_walk_dead(void *arg, queue_load_cb cb, void *cbarg)
{
	return queue_backend_ram.walk_dead(((struct queue_rmq *)arg)->view, cb,
	    cbarg);
}

/* Message ids carry the node in their high byte: unique cluster-wide. */
static uint64_t
queue_rmq_meta_get(void *arg, const char *key)
{
	struct queue_rmq	*r = arg;
	uint64_t		 v = queue_backend_ram.meta_get(r->view, key);

	if (strcmp(key, "msgid") == 0 && v < ((uint64_t)r->node << 56))
		v = (uint64_t)r->node << 56;
	return v;
}

static int
queue_rmq_walk_audit(void *arg, uint64_t since_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *cbarg)
{
	return queue_backend_ram.walk_audit(((struct queue_rmq *)arg)->view,
	    since_us, cb, cbarg);
}

static int
queue_rmq_walk_audit_back(void *arg, uint64_t until_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *cbarg)
{
	return queue_backend_ram.walk_audit_back(
	    ((struct queue_rmq *)arg)->view, until_us, cb, cbarg);
}

static int
queue_rmq_usage(void *arg, uint64_t *used, uint64_t *size)
{
	return queue_backend_ram.usage(((struct queue_rmq *)arg)->view, used,
	    size);
}

static int
queue_rmq_walk_state(void *arg, const char *prefix,
    int (*cb)(const char *, size_t, const void *, size_t, void *),
    void *cbarg)
{
	return queue_backend_ram.walk_state(((struct queue_rmq *)arg)->view,
	    prefix, cb, cbarg);
}

static void
queue_rmq_attach(void *arg, void (*arrive)(void *, const struct queue_copy *),
    void *qarg)
{
	struct queue_rmq *r = arg;

	r->arrive = arrive;
	r->arrive_arg = qarg;
}

const struct queue_backend queue_backend_rabbitmq = {
	.name = "rabbitmq",
	.open = queue_rmq_open,
	.close = queue_rmq_close,
	.apply = queue_rmq_apply,
	.load = queue_rmq_load,
	.get = queue_rmq_get,
	.walk_dead = queue_rmq_walk_dead,
	.meta_get = queue_rmq_meta_get,
	.walk_audit = queue_rmq_walk_audit,
	.walk_audit_back = queue_rmq_walk_audit_back,
	.usage = queue_rmq_usage,
	.walk_state = queue_rmq_walk_state,
	.serve = queue_rmq_serve,
	.attach = queue_rmq_attach,
	.subscribe = queue_rmq_subscribe,
	.space = queue_rmq_space,
	.depth = queue_rmq_depth
};
