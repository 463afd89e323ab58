/*
 * queue - the generic half of the store-and-forward queue (queue.h): the
 * group-commit thread and the completion path back into the event loop.
 * Storage is a struct queue_backend (queue_lmdb.c, queue_ram.c).
 *
 * Threads. The loop thread submits ops, runs completions and does the
 * synchronous reads. One commit thread applies batches. The two share the
 * pending list, the done list, the stopping flag and the stats, all under
 * q->lock; nothing else.
 *
 * Why group commit: a durable commit costs the same fsyncs whether it
 * holds one op or a thousand. The thread takes everything that queued up
 * while the previous commit was in flight as the next batch, so the
 * number of ops per second grows with the offered load instead of being
 * capped at one op per fsync (DESIGN.md 5.2).
 *
 * Why completions go through the loop: the completion is what lets the
 * switch ack a message to its sender, and everything a completion touches
 * (sessions, bufferevents) belongs to the loop thread. The commit thread
 * only moves the batch to the done list and wakes the loop with
 * event_active(), which libevent makes thread-safe once
 * evthread_use_pthreads() was called before the base was created.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "queue.h"
#include "util.h"

/*
 * Largest batch. One batch is one LMDB write transaction, whose dirty page
 * list is bounded (about 128K pages, MDB_TXN_FULL beyond): 1024 PUTs of
 * 50 KB bodies use about 13K pages. What is left over joins the next batch
 * immediately, so the bound costs nothing under normal load.
 */
#define QUEUE_BATCH_MAX	1024

struct queue {
	const struct queue_backend	*be;
	void				*bh;		/* backend handle */
	struct event_base		*base;
	struct event			*ev_done;
	pthread_t			 thread;
	int				 thread_started;

	pthread_mutex_t			 lock;		/* protects below */
	pthread_cond_t			 cond;		/* pending or stopping */
	struct queue_op			*pend;		/* submitted, not taken */
	struct queue_op		       **pend_tail;
	struct queue_op			*done;		/* applied, not completed */
	struct queue_op		       **done_tail;
	int				 stopping;
	struct queue_stats		 stats;

	int				 inflight;	/* loop thread only */
};

static void	 queue_complete_cb(evutil_socket_t, short, void *);
static void	*queue_commit_main(void *);
static void	 queue_run_done(struct queue *);

struct queue *
queue_open(const struct queue_backend *be, const char *path, size_t mapsize,
    struct event_base *base, char **cause)
{
	struct queue	*q;
	sigset_t	 all, old;
	int		 rc;

	*cause = NULL;
	q = xcalloc(1, sizeof *q);
	metrics_hist_init(&q->stats.commit_latency, metrics_seconds);
	metrics_hist_init(&q->stats.commit_batch, metrics_sizes);
	q->be = be;
	q->base = base;
	q->pend_tail = &q->pend;
	q->done_tail = &q->done;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);

	if ((q->bh = be->open(path, mapsize, cause)) == NULL) {
		if (*cause == NULL)
			*cause = xasprintf("%s: cannot open %s", be->name, path);
		goto fail;
	}
	/* Not EV_PERSIST: it is never added, only activated. */
	q->ev_done = event_new(base, -1, 0, queue_complete_cb, q);
	if (q->ev_done == NULL) {
		*cause = xstrdup("queue: event_new failed");
		goto fail;
	}

	/*
	 * The commit thread takes no signals: libevent delivers them to the
	 * loop, and an fsync interrupted for nothing helps no one.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&q->thread, NULL, queue_commit_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		*cause = xasprintf("queue: pthread_create: %s", strerror(rc));
		goto fail;
	}
	q->thread_started = 1;
	log_debug("queue: open backend=%s path=%s", be->name, path);
	return q;

fail:
	if (q->ev_done != NULL)
		event_free(q->ev_done);
	if (q->bh != NULL)
		be->close(q->bh);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q);
	return NULL;
}

void
queue_close(struct queue *q)
{
	if (q == NULL)
		return;

	/* The thread commits what is pending, then exits. */
	pthread_mutex_lock(&q->lock);
	q->stopping = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	if (q->thread_started)
		pthread_join(q->thread, NULL);

	/* The thread is gone: nobody activates ev_done any more. */
	if (q->ev_done != NULL)
		event_free(q->ev_done);
	q->ev_done = NULL;

	/* Completions may submit more; those come back QUEUE_E_CLOSED. */
	while (q->done != NULL)
		queue_run_done(q);

	q->be->close(q->bh);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	log_debug("queue: closed commits=%llu ops=%llu",
	    (unsigned long long)q->stats.commits,
	    (unsigned long long)q->stats.ops);
	free(q);
}

struct queue *
queue_open_rdonly(const struct queue_backend *be, const char *path,
    char **cause)
{
	struct queue	*q;

	*cause = NULL;
	if (be->open_rdonly == NULL) {
		*cause = xasprintf("%s: no read-only open", be->name);
		return NULL;
	}
	q = xcalloc(1, sizeof *q);
	q->be = be;
	q->pend_tail = &q->pend;
	q->done_tail = &q->done;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->stopping = 1;	/* a submit completes QUEUE_E_CLOSED at close */
	if ((q->bh = be->open_rdonly(path, cause)) == NULL) {
		if (*cause == NULL)
			*cause = xasprintf("%s: cannot open %s", be->name, path);
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->lock);
		free(q);
		return NULL;
	}
	return q;
}

void
queue_submit(struct queue *q, struct queue_op *op)
{
	op->next = NULL;
	op->result = QUEUE_E_OK;
	q->inflight++;

	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		/* Closing: complete without touching the store. */
		op->result = QUEUE_E_CLOSED;
		q->stats.failed++;
		*q->done_tail = op;
		q->done_tail = &op->next;
		pthread_mutex_unlock(&q->lock);
		return;
	}
	*q->pend_tail = op;
	q->pend_tail = &op->next;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

int
queue_pending(struct queue *q)
{
	return q->inflight;
}

/*
 * The commit thread: take the pending list (up to QUEUE_BATCH_MAX ops) as
 * one batch, apply it in one backend transaction, hand it to the loop.
 */
static void *
queue_commit_main(void *arg)
{
	struct queue	 *q = arg;
	struct queue_op	**ops = NULL, *batch, *last, *op;
	int		  n, i, cap = 0, nfail, err;
	uint64_t	  t0, us;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->pend == NULL && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->pend == NULL)
			break;		/* stopping, and everything committed */

		/* Detach the head of the pending list as the batch. */
		batch = last = q->pend;
		for (n = 1; n < QUEUE_BATCH_MAX && last->next != NULL; n++)
			last = last->next;
		q->pend = last->next;
		if (q->pend == NULL)
			q->pend_tail = &q->pend;
		last->next = NULL;
		pthread_mutex_unlock(&q->lock);

		if (n > cap) {
			cap = n;
			ops = xrealloc(ops, cap * sizeof *ops);
		}
		for (i = 0, op = batch; op != NULL; op = op->next)
			ops[i++] = op;

		t0 = util_mono_us();
		if (q->be->apply(q->bh, ops, n) == -1) {
			/* Nothing of the batch is stored: fail every op, with
			 * the reason the switch must stop taking messages
			 * for if the store is damaged. */
			err = queue_health(q, NULL) ? QUEUE_E_DAMAGED :
			    QUEUE_E_IO;
			for (i = 0; i < n; i++)
				ops[i]->result = err;
		}
		us = util_mono_us() - t0;
		for (i = nfail = 0; i < n; i++)
			if (ops[i]->result != QUEUE_E_OK)
				nfail++;
		log_trace(TRACE_QUEUE, "queue: commit ops=%d failed=%d us=%llu",
		    n, nfail, (unsigned long long)us);

		pthread_mutex_lock(&q->lock);
		q->stats.commits++;
		q->stats.ops += n;
		if ((uint64_t)n > q->stats.batch_max)
			q->stats.batch_max = n;
		q->stats.commit_us_total += us;
		metrics_hist_add(&q->stats.commit_latency, (double)us / 1e6);
		metrics_hist_add(&q->stats.commit_batch, (double)n);
		q->stats.failed += nfail;
		*q->done_tail = batch;
		q->done_tail = &last->next;
		pthread_mutex_unlock(&q->lock);

		/* Outside q->lock: event_active takes the base lock. */
		event_active(q->ev_done, EV_READ, 0);

		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	free(ops);
	return NULL;
}

/* Loop thread: the commit thread has put ops on the done list. */
static void
queue_complete_cb(evutil_socket_t fd, short events, void *arg)
{
	struct queue	*q = arg;

	(void)fd;
	(void)events;
	queue_run_done(q);
}

/* Run the completions of the done list, in submission order. */
static void
queue_run_done(struct queue *q)
{
	struct queue_op	*op, *next;

	pthread_mutex_lock(&q->lock);
	op = q->done;
	q->done = NULL;
	q->done_tail = &q->done;
	pthread_mutex_unlock(&q->lock);

	for (; op != NULL; op = next) {
		next = op->next;	/* the callback may free op */
		op->next = NULL;
		q->inflight--;
		if (op->done != NULL)
			op->done(op, op->arg);
	}
}

int
queue_op_validate(const struct queue_op *op)
{
	const struct queue_copy	*c;
	size_t			 len;
	int			 i, j;

	switch (op->type) {
	case QUEUE_OP_PUT:
		if (op->ncopies < 1 || op->copies == NULL)
			return QUEUE_E_INVAL;
		if (op->body == NULL && op->bodylen != 0)
			return QUEUE_E_INVAL;
		if (op->bodylen > UINT32_MAX - 4096)
			return QUEUE_E_INVAL;
		if (strnlen(op->msg.from_line, sizeof op->msg.from_line) ==
		    sizeof op->msg.from_line ||
		    strnlen(op->msg.ori, sizeof op->msg.ori) ==
		    sizeof op->msg.ori ||
		    strnlen(op->msg.ctl, sizeof op->msg.ctl) ==
		    sizeof op->msg.ctl)
			return QUEUE_E_INVAL;
		for (i = 0; i < op->ncopies; i++) {
			c = &op->copies[i];
			len = strnlen(c->line, sizeof c->line);
			if (len == 0 || len == sizeof c->line)
				return QUEUE_E_INVAL;
			if (strnlen(c->dest, sizeof c->dest) == sizeof c->dest)
				return QUEUE_E_INVAL;
			for (j = 0; j < i; j++)
				if (op->copies[j].copy == c->copy)
					return QUEUE_E_INVAL;
		}
		break;
	case QUEUE_OP_DELETE:
	case QUEUE_OP_EXPIRE:
		if (op->copies == NULL)
			return QUEUE_E_INVAL;
		c = &op->copies[0];
		len = strnlen(c->line, sizeof c->line);
		if (len == 0 || len == sizeof c->line)
			return QUEUE_E_INVAL;
		if (strnlen(c->dest, sizeof c->dest) == sizeof c->dest)
			return QUEUE_E_INVAL;
		break;
	case QUEUE_OP_REQUEUE:
	case QUEUE_OP_PURGE:
		if (op->copies == NULL)
			return QUEUE_E_INVAL;
		break;
	case QUEUE_OP_AUDIT:
		if (op->audit == NULL)
			return QUEUE_E_INVAL;
		break;
	case QUEUE_OP_AUDIT_PRUNE:
		break;
	case QUEUE_OP_META:
		if (op->meta_key == NULL)
			return QUEUE_E_INVAL;
		len = strlen(op->meta_key);
		if (len == 0 || len > QUEUE_META_KEY_MAX)
			return QUEUE_E_INVAL;
		break;
	default:
		return QUEUE_E_INVAL;
	}
	return QUEUE_E_OK;
}

int
queue_load(struct queue *q, queue_load_cb cb, void *arg)
{
	return q->be->load(q->bh, cb, arg);
}

int
queue_get(struct queue *q, uint64_t msgid, struct queue_msgrec *m,
    struct ubuf *body)
{
	return q->be->get(q->bh, msgid, m, body);
}

int
queue_walk_dead(struct queue *q, queue_load_cb cb, void *arg)
{
	return q->be->walk_dead(q->bh, cb, arg);
}

uint64_t
queue_meta_get(struct queue *q, const char *key)
{
	return q->be->meta_get(q->bh, key);
}

int
queue_walk_audit(struct queue *q, uint64_t since_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *arg)
{
	return q->be->walk_audit(q->bh, since_us, cb, arg);
}

int
queue_usage(struct queue *q, uint64_t *used, uint64_t *size)
{
	return q->be->usage(q->bh, used, size);
}

void
queue_get_stats(struct queue *q, struct queue_stats *st)
{
	pthread_mutex_lock(&q->lock);
	*st = q->stats;
	pthread_mutex_unlock(&q->lock);
}

/* Any thread: the backend guards its own health state. */
int
queue_health(struct queue *q, struct queue_health *h)
{
	struct queue_health	tmp;

	if (h == NULL)
		h = &tmp;
	memset(h, 0, sizeof *h);
	if (q->be->health == NULL)
		return 0;
	q->be->health(q->bh, h);
	return h->damaged != 0;
}

int
queue_walk_quarantine(struct queue *q, uint64_t since_us, queue_quar_cb cb,
    void *arg)
{
	if (q->be->walk_quarantine == NULL)
		return QUEUE_E_OK;
	return q->be->walk_quarantine(q->bh, since_us, cb, arg);
}

const char *
queue_db_name(int db)
{
	static const char *const names[QUEUE_DB_MAX] = {
		"msg", "copy", "dead", "ref", "audit", "meta"
	};

	return db >= 0 && db < QUEUE_DB_MAX ? names[db] : NULL;
}

const char *
queue_strerror(int e)
{
	switch (e) {
	case QUEUE_E_OK:
		return "ok";
	case QUEUE_E_FULL:
		return "queue full";
	case QUEUE_E_IO:
		return "queue commit failed";
	case QUEUE_E_NOTFOUND:
		return "not found";
	case QUEUE_E_CORRUPT:
		return "stored entry corrupt (quarantined)";
	case QUEUE_E_CLOSED:
		return "queue closed";
	case QUEUE_E_INVAL:
		return "invalid queue operation";
	case QUEUE_E_EXISTS:
		return "message id already stored";
	case QUEUE_E_DAMAGED:
		return "store damaged";
	}
	return "unknown queue error";
}

void
queue_msgid_fmt(char *buf, size_t sz, uint64_t msgid)
{
	snprintf(buf, sz, "%016llx", (unsigned long long)msgid);
}

void
queue_copyid_fmt(char *buf, size_t sz, uint64_t msgid, uint16_t copy)
{
	snprintf(buf, sz, "%016llx.%u", (unsigned long long)msgid,
	    (unsigned int)copy);
}
