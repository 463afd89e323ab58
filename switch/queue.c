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
 * capped at one op per fsync (docs/durability.md, "Group commit").
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
#include <time.h>

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
/* Between attempts at a batch that failed for lack of disk space, and
 * between space re-checks while the store is not healthy. */
#define QUEUE_RETRY_MS	200
#define QUEUE_RECHECK_MS 1000

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
	int				 pend_eager;	/* of them not DELETEs */
	unsigned int			 lazy_us;	/* queue_set_lazy */
	struct queue_op			*done;		/* applied, not completed */
	struct queue_op		       **done_tail;
	int				 stopping;
	struct queue_stats		 stats;
	struct queue_conf		 conf;		/* strings owned */
	int				 conf_dirty;

	int				 inflight;	/* loop thread only */

	/* Copies the backend delivers after load (queue_backend.attach). */
	struct event			*ev_arrive;
	struct queue_copy		*arrived;	/* under lock */
	size_t				 narrived, arrivedcap;
	queue_load_cb			 load_cb;	/* loop thread */
	void				*load_arg;
};

static void	 queue_complete_cb(evutil_socket_t, short, void *);
static void	 queue_arrive_cb(evutil_socket_t, short, void *);
static void	 queue_arrive(void *, const struct queue_copy *);
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
	q->lazy_us = QUEUE_LAZY_US;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);

	if ((q->bh = be->open(path, mapsize, cause)) == NULL) {
		if (*cause == NULL)
			*cause = xasprintf("%s: cannot open %s", be->name, path);
		goto fail;
	}
	/* Not EV_PERSIST: it is never added, only activated. */
	q->ev_done = event_new(base, -1, 0, queue_complete_cb, q);
	q->ev_arrive = event_new(base, -1, 0, queue_arrive_cb, q);
	if (q->ev_done == NULL || q->ev_arrive == NULL) {
		*cause = xstrdup("queue: event_new failed");
		goto fail;
	}
	if (be->attach != NULL)
		be->attach(q->bh, queue_arrive, q);

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
	if (q->ev_arrive != NULL)
		event_free(q->ev_arrive);
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
	if (q->ev_arrive != NULL)
		event_free(q->ev_arrive);
	free(q->arrived);
	free((char *)q->conf.archive);
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
	q->lazy_us = QUEUE_LAZY_US;
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
	if (op->type != QUEUE_OP_DELETE)
		q->pend_eager++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void
queue_set_lazy(struct queue *q, unsigned int us)
{
	pthread_mutex_lock(&q->lock);
	q->lazy_us = us;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void
queue_configure(struct queue *q, const struct queue_conf *conf)
{
	pthread_mutex_lock(&q->lock);
	free((char *)q->conf.archive);
	q->conf = *conf;
	q->conf.archive = conf->archive != NULL ? xstrdup(conf->archive) :
	    NULL;
	q->conf_dirty = 1;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

int
queue_is_growing(const struct queue_op *op)
{
	return op->type == QUEUE_OP_PUT || op->type == QUEUE_OP_AUDIT;
}

int
queue_pending(struct queue *q)
{
	return q->inflight;
}

/* Wait on q->cond (q->lock held) for at most ms milliseconds. */
static void
queue_timedwait(struct queue *q, int ms)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&q->cond, &q->lock, &ts);
}

/*
 * Commit thread, q->lock held: while only deliveries' DELETEs are
 * pending, wait up to q->lazy_us from now for another op to join them
 * (queue_set_lazy).
 */
static void
queue_lazy_wait(struct queue *q)
{
	struct timespec	ts;
	uint64_t	end;

	if (q->lazy_us == 0 || q->pend_eager > 0 || q->stopping)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	end = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
	    (uint64_t)q->lazy_us * 1000u;
	ts.tv_sec = (time_t)(end / 1000000000u);
	ts.tv_nsec = (long)(end % 1000000000u);
	while (q->pend_eager == 0 && !q->stopping && !q->conf_dirty &&
	    q->lazy_us > 0)
		if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) ==
		    ETIMEDOUT)
			break;
}

/* Commit thread, q->lock held: hand new budgets to the backend. */
static void
queue_apply_conf(struct queue *q)
{
	struct queue_conf	conf;

	if (!q->conf_dirty)
		return;
	q->conf_dirty = 0;
	if (q->be->configure == NULL)
		return;
	conf = q->conf;
	conf.archive = conf.archive != NULL ? xstrdup(conf.archive) : NULL;
	pthread_mutex_unlock(&q->lock);
	q->be->configure(q->bh, &conf);
	free((char *)conf.archive);
	pthread_mutex_lock(&q->lock);
}

/* Commit thread, q->lock held: the backend's space report into stats. */
static void
queue_update_space(struct queue *q)
{
	struct queue_stats	st;

	if (q->be->space == NULL)
		return;
	st = q->stats;
	pthread_mutex_unlock(&q->lock);
	q->be->space(q->bh, &st);
	pthread_mutex_lock(&q->lock);
	q->stats.space = st.space;
	memcpy(q->stats.space_cause, st.space_cause,
	    sizeof st.space_cause);
	q->stats.audit_bytes = st.audit_bytes;
	q->stats.audit_records = st.audit_records;
	q->stats.audit_budget = st.audit_budget;
	q->stats.audit_pruned_size = st.audit_pruned_size;
	q->stats.audit_archived = st.audit_archived;
}

/* Commit thread, q->lock held: ops[0..n) to the done list, in order. */
static void
queue_done_add(struct queue *q, struct queue_op **ops, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		ops[i]->next = NULL;
		*q->done_tail = ops[i];
		q->done_tail = &ops[i]->next;
		if (ops[i]->result != QUEUE_E_OK)
			q->stats.failed++;
	}
}

/*
 * Apply one batch (q->lock not held) and move it to the done list. A
 * batch refused for lack of disk space (QUEUE_APPLY_RETRY) completes its
 * growing ops at once (QUEUE_E_FULL: the sender gets "queue full" now)
 * and is applied again with the others: a delete must never be lost, or
 * the copy it removes is delivered again after the next restart. If they
 * still do not fit, they are applied in halves down to one at a time
 * (each commit's new pages must fit the room that is left), completing
 * what committed; a single op that does not fit is tried again after a
 * pause. While the queue is stopping it gives up after a few attempts
 * (QUEUE_E_IO). Returns the number of ops that did not succeed; the ops
 * still to complete are ops[0..*left).
 */
static int
queue_apply_batch(struct queue *q, struct queue_op **ops, int n, int *left)
{
	int	i, m, k, rc, err, tries = 0, nfail = 0;

	/* ops[0..k) are applied together; k shrinks while they do not fit. */
	for (k = n;;) {
		rc = q->be->apply(q->bh, ops, k);
		if (rc == 0 && k < n) {
			/* A part committed: complete it, go on with the rest. */
			pthread_mutex_lock(&q->lock);
			for (i = 0; i < k; i++)
				if (ops[i]->result != QUEUE_E_OK)
					nfail++;
			queue_done_add(q, ops, k);
			pthread_mutex_unlock(&q->lock);
			event_active(q->ev_done, EV_READ, 0);
			memmove(ops, ops + k, (size_t)(n - k) * sizeof *ops);
			n -= k;
			k = k < n ? k : n;
			continue;
		}
		if (rc != QUEUE_APPLY_RETRY)
			break;
		pthread_mutex_lock(&q->lock);
		q->stats.nospace_events++;
		q->stats.retries++;
		/* The growing ops complete now, in order, as FULL. */
		for (i = 0; i < n; i++)
			if (queue_is_growing(ops[i])) {
				if (ops[i]->result == QUEUE_E_OK)
					ops[i]->result = QUEUE_E_FULL;
				nfail++;
				queue_done_add(q, &ops[i], 1);
			}
		queue_update_space(q);
		pthread_mutex_unlock(&q->lock);
		event_active(q->ev_done, EV_READ, 0);
		for (i = m = 0; i < n; i++)
			if (!queue_is_growing(ops[i]))
				ops[m++] = ops[i];
		n = m;
		if (n == 0) {
			*left = 0;
			return nfail;
		}
		/* Fewer at a time: each commit's new pages must fit. */
		if (k > 1) {
			k = k < n ? k : n;
			k = k > 1 ? k / 2 : 1;
			continue;
		}
		pthread_mutex_lock(&q->lock);
		if (q->stopping && ++tries >= 5) {
			pthread_mutex_unlock(&q->lock);
			rc = -1;
			break;
		}
		queue_timedwait(q, QUEUE_RETRY_MS);
		pthread_mutex_unlock(&q->lock);
	}
	/* Nothing of the batch is stored: fail every op, with the reason
	 * the switch must stop taking messages for if the store is
	 * damaged. */
	err = rc == -1 && queue_health(q, NULL) ? QUEUE_E_DAMAGED : QUEUE_E_IO;
	for (i = 0; i < n; i++) {
		if (rc == -1)
			ops[i]->result = err;
		if (ops[i]->result != QUEUE_E_OK)
			nfail++;
	}
	*left = n;
	return nfail;
}

/*
 * The commit thread: take the pending list (up to QUEUE_BATCH_MAX ops) as
 * one batch, apply it in one backend transaction, hand it to the loop.
 * While the store is not healthy it re-checks the space every
 * QUEUE_RECHECK_MS, so that it turns healthy again without traffic.
 */
static void *
queue_commit_main(void *arg)
{
	struct queue	 *q = arg;
	struct queue_op	**ops = NULL, *op;
	int		  n, i, cap = 0, nfail, left;
	uint64_t	  t0, us;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		queue_apply_conf(q);
		while (q->pend == NULL && !q->stopping && !q->conf_dirty) {
			if (q->stats.space == QUEUE_SPACE_OK) {
				pthread_cond_wait(&q->cond, &q->lock);
				continue;
			}
			queue_timedwait(q, QUEUE_RECHECK_MS);
			if (q->pend != NULL || q->stopping || q->conf_dirty)
				break;
			pthread_mutex_unlock(&q->lock);
			q->be->apply(q->bh, NULL, 0);	/* space re-check */
			pthread_mutex_lock(&q->lock);
			queue_update_space(q);
		}
		if (q->conf_dirty)
			continue;
		if (q->pend == NULL)
			break;		/* stopping, and everything committed */
		queue_lazy_wait(q);
		if (q->conf_dirty)
			continue;

		/* Detach the head of the pending list as the batch. */
		for (n = 0, op = q->pend; op != NULL && n < QUEUE_BATCH_MAX;
		    op = op->next)
			n++;
		if (n > cap) {
			cap = n;
			ops = xrealloc(ops, cap * sizeof *ops);
		}
		for (i = 0; i < n; i++) {
			ops[i] = q->pend;
			q->pend = q->pend->next;
			if (ops[i]->type != QUEUE_OP_DELETE)
				q->pend_eager--;
		}
		if (q->pend == NULL)
			q->pend_tail = &q->pend;
		pthread_mutex_unlock(&q->lock);

		t0 = util_mono_us();
		nfail = queue_apply_batch(q, ops, n, &left);
		us = util_mono_us() - t0;
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
		/* Stats first: a completion may read them. */
		queue_update_space(q);
		queue_done_add(q, ops, left);
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

/* Any thread: a copy the backend delivered; the loop takes it. */
static void
queue_arrive(void *arg, const struct queue_copy *c)
{
	struct queue *q = arg;

	pthread_mutex_lock(&q->lock);
	if (q->narrived == q->arrivedcap) {
		q->arrivedcap = q->arrivedcap ? q->arrivedcap * 2 : 64;
		q->arrived = xrealloc(q->arrived, q->arrivedcap *
		    sizeof *q->arrived);
	}
	q->arrived[q->narrived++] = *c;
	pthread_mutex_unlock(&q->lock);
	event_active(q->ev_arrive, EV_READ, 0);
}

/* Loop thread: hand the arrived copies to load's callback. */
static void
queue_arrive_cb(evutil_socket_t fd, short events, void *arg)
{
	struct queue		*q = arg;
	struct queue_copy	*c;
	size_t			 n, i;

	(void)fd;
	(void)events;
	pthread_mutex_lock(&q->lock);
	c = q->arrived;
	n = q->narrived;
	q->arrived = NULL;
	q->narrived = q->arrivedcap = 0;
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < n && q->load_cb != NULL; i++)
		q->load_cb(&c[i], q->load_arg);
	free(c);
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
queue_copy_order(const struct queue_copy *a, const struct queue_copy *b)
{
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	if (a->msgid != b->msgid)
		return a->msgid < b->msgid ? -1 : 1;
	if (a->copy != b->copy)
		return a->copy < b->copy ? -1 : 1;
	return 0;
}

void
queue_states_push(struct queue_states *qs, char *key, char *val)
{
	struct queue_state *st;

	qs->st = xrealloc(qs->st, (size_t)(qs->n + 1) * sizeof *qs->st);
	st = &qs->st[qs->n++];
	st->key = key;
	st->val = val;
	st->len = val != NULL ? strlen(val) : 0;
}

void
queue_states_free(struct queue_states *qs)
{
	int i;

	for (i = 0; i < qs->n; i++) {
		free((char *)qs->st[i].key);
		free((char *)qs->st[i].val);
	}
	free(qs->st);
	qs->st = NULL;
	qs->n = 0;
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
	case QUEUE_OP_STATE:
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
	if (op->nstates < 0 || (op->nstates > 0 && op->states == NULL))
		return QUEUE_E_INVAL;
	for (i = 0; i < op->nstates; i++) {
		len = op->states[i].key != NULL ? strlen(op->states[i].key) : 0;
		if (len == 0 || len > QUEUE_META_KEY_MAX ||
		    op->states[i].len > QUEUE_STATE_MAX ||
		    (op->states[i].val == NULL && op->states[i].len != 0))
			return QUEUE_E_INVAL;
	}
	return QUEUE_E_OK;
}

int
queue_serve(struct queue *q, const char *const *lines, int n, char **cause)
{
	*cause = NULL;
	if (q->be->serve == NULL)
		return 0;
	return q->be->serve(q->bh, lines, n, cause);
}

int
queue_is_shared(const struct queue *q)
{
	return q->be->subscribe != NULL;
}

void
queue_subscribe(struct queue *q, const char *line, int on)
{
	if (q->be->subscribe != NULL)
		q->be->subscribe(q->bh, line, on);
}

int
queue_depth(struct queue *q, const char *line, uint64_t *waiting)
{
	*waiting = 0;
	if (q->be->depth == NULL)
		return QUEUE_E_INVAL;
	return q->be->depth(q->bh, line, waiting);
}

int
queue_load(struct queue *q, queue_load_cb cb, void *arg)
{
	q->load_cb = cb;
	q->load_arg = arg;
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
queue_walk_audit_back(struct queue *q, uint64_t until_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *arg)
{
	return q->be->walk_audit_back(q->bh, until_us, cb, arg);
}

int
queue_usage(struct queue *q, uint64_t *used, uint64_t *size)
{
	return q->be->usage(q->bh, used, size);
}

int
queue_walk_state(struct queue *q, const char *prefix,
    int (*cb)(const char *, size_t, const void *, size_t, void *), void *arg)
{
	if (q->be->walk_state == NULL)
		return QUEUE_E_OK;
	return q->be->walk_state(q->bh, prefix, cb, arg);
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
	case QUEUE_E_AUDIT:
		return "audit trail cannot be written";
	case QUEUE_E_DAMAGED:
		return "store damaged";
	case QUEUE_E_UNAVAILABLE:
		return "store unavailable";
	}
	return "unknown queue error";
}

const char *
queue_space_name(int h)
{
	switch (h) {
	case QUEUE_SPACE_OK:
		return "ok";
	case QUEUE_SPACE_NOSPACE:
		return "no-space";
	case QUEUE_SPACE_AUDIT:
		return "audit-full";
	case QUEUE_SPACE_UNAVAILABLE:
		return "unavailable";
	}
	return "unknown";
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
