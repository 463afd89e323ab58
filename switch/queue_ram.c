/*
 * queue_ram - an in-memory queue backend (queue.h) for unit tests, and
 * the view the rabbitmq backend (queue_rmq.c) keeps of what it stored:
 * the same op semantics as queue_lmdb.c, no durability at all.
 *
 * Sorted arrays under one mutex (apply runs in the commit thread, reads in
 * the loop thread); correctness over speed. The capacity (mapsize, 1 GiB
 * if 0) counts bodies, copies and audit text, so tests can provoke
 * QUEUE_E_FULL. Unlike LMDB, deletes need no space here, so there is no
 * headroom: a PUT is refused only when it does not fit.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queue.h"
#include "util.h"

#define QUEUE_RAM_MAPSIZE	((size_t)1 << 30)
#define QUEUE_RAM_MSGCOST	(sizeof(struct queue_ram_msg))
#define QUEUE_RAM_COPYCOST	(sizeof(struct queue_copy))
#define QUEUE_RAM_AUDITCOST	32

struct queue_ram_msg {
	struct queue_msgrec	 rec;
	char			*body;
	size_t			 bodylen;
	uint32_t		 ref;		/* queued + dead copies */
};

struct queue_ram_audit {
	uint64_t		 t_us;
	uint32_t		 seq;
	char			*text;
	size_t			 len;
};

struct queue_ram_meta {
	char			*key;
	uint64_t		 value;
};

struct queue_ram_state {
	char			*key;
	char			*val;
	size_t			 len;
};

struct queue_ram {
	pthread_mutex_t		 lock;
	uint64_t		 cap;
	uint64_t		 used;

	struct queue_ram_msg	*msgs;		/* by msgid */
	size_t			 nmsgs, msgcap;
	struct queue_copy	*copies;	/* by line, prio, msgid, copy */
	size_t			 ncopies, copycap;
	struct queue_copy	*dead;		/* by msgid, copy */
	size_t			 ndead, deadcap;
	struct queue_ram_audit	*audit;		/* by t_us, seq (appended) */
	size_t			 naudit, auditcap;
	uint64_t		 audit_bytes;	/* their text */
	uint64_t		 audit_cap;	/* queue_ram_audit_cap; 0: none */
	struct queue_ram_meta	*meta;		/* unsorted */
	size_t			 nmeta, metacap;
	struct queue_ram_state	*state;		/* unsorted */
	size_t			 nstate;
};

static int
queue_ram_cmp_copy(const struct queue_copy *a, const struct queue_copy *b)
{
	int c;

	if ((c = strncmp(a->line, b->line, QUEUE_LINE_LEN)) != 0)
		return c;
	return queue_copy_order(a, b);
}

static int
queue_ram_cmp_dead(const struct queue_copy *a, const struct queue_copy *b)
{
	if (a->msgid != b->msgid)
		return a->msgid < b->msgid ? -1 : 1;
	if (a->copy != b->copy)
		return a->copy < b->copy ? -1 : 1;
	return 0;
}

/* Lower bound of c in a sorted copy array; 1 if found at *pos. */
static int
queue_ram_find_copy(const struct queue_copy *arr, size_t n,
    const struct queue_copy *c,
    int (*cmp)(const struct queue_copy *, const struct queue_copy *),
    size_t *pos)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (cmp(&arr[mid], c) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return lo < n && cmp(&arr[lo], c) == 0;
}

static int
queue_ram_find_msg(struct queue_ram *qr, uint64_t msgid, size_t *pos)
{
	size_t	lo = 0, hi = qr->nmsgs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (qr->msgs[mid].rec.msgid < msgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return lo < qr->nmsgs && qr->msgs[lo].rec.msgid == msgid;
}

/* Grow arr (n elements of sz) by one, opening a hole at pos; new arr. */
static void *
queue_ram_hole(void *arr, size_t *n, size_t *cap, size_t sz, size_t pos)
{
	char	*a = arr;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		a = xrealloc(a, *cap * sz);
	}
	memmove(a + (pos + 1) * sz, a + pos * sz, (*n - pos) * sz);
	(*n)++;
	return a;
}

static void
queue_ram_remove(void *arr, size_t *n, size_t sz, size_t pos)
{
	char *a = arr;

	memmove(a + pos * sz, a + (pos + 1) * sz, (*n - pos - 1) * sz);
	(*n)--;
}

static void
queue_ram_copy_insert(struct queue_copy **arr, size_t *n, size_t *cap,
    const struct queue_copy *c,
    int (*cmp)(const struct queue_copy *, const struct queue_copy *))
{
	size_t	pos;

	if (!queue_ram_find_copy(*arr, *n, c, cmp, &pos))
		*arr = queue_ram_hole(*arr, n, cap, sizeof **arr, pos);
	(*arr)[pos] = *c;
}

/* One copy of msgid is gone; drop the message with the last one. */
static void
queue_ram_unref(struct queue_ram *qr, uint64_t msgid)
{
	struct queue_ram_msg	*m;
	size_t			 pos;

	if (!queue_ram_find_msg(qr, msgid, &pos))
		return;
	m = &qr->msgs[pos];
	if (m->ref > 0)
		m->ref--;
	if (m->ref > 0)
		return;
	qr->used -= QUEUE_RAM_MSGCOST + m->bodylen;
	if (m->rec.flags & QUEUE_MSG_PHOTO)
		explicit_bzero(m->body, m->bodylen);	/* as queue_lmdb */
	free(m->body);
	queue_ram_remove(qr->msgs, &qr->nmsgs, sizeof *qr->msgs, pos);
}

static uint64_t
queue_ram_op_cost(const struct queue_op *op)
{
	uint64_t cost = 0;

	if (op->type == QUEUE_OP_PUT)
		cost = QUEUE_RAM_MSGCOST + op->bodylen +
		    (uint64_t)op->ncopies * QUEUE_RAM_COPYCOST;
	if (op->audit != NULL)
		cost += strlen(op->audit) + QUEUE_RAM_AUDITCOST;
	return cost;
}

static void
queue_ram_audit_put(struct queue_ram *qr, const char *text, uint64_t now)
{
	struct queue_ram_audit	*a, *last;

	qr->audit = queue_ram_hole(qr->audit, &qr->naudit, &qr->auditcap,
	    sizeof *qr->audit, qr->naudit);
	a = &qr->audit[qr->naudit - 1];
	a->len = strlen(text);
	a->text = xstrndup(text, a->len);
	a->t_us = now;
	a->seq = 0;
	if (qr->naudit > 1) {
		/* Keys never go back, as in LMDB. */
		last = a - 1;
		if (now <= last->t_us) {
			a->t_us = last->t_us;
			a->seq = last->seq + 1;
		}
	}
	qr->used += a->len + QUEUE_RAM_AUDITCOST;
	qr->audit_bytes += a->len;
}

/* Drop the oldest n audit records. */
static void
queue_ram_audit_drop(struct queue_ram *qr, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		qr->used -= qr->audit[i].len + QUEUE_RAM_AUDITCOST;
		qr->audit_bytes -= qr->audit[i].len;
		free(qr->audit[i].text);
	}
	if (n > 0) {
		memmove(qr->audit, qr->audit + n, (qr->naudit - n) *
		    sizeof *qr->audit);
		qr->naudit -= n;
	}
}

static void
queue_ram_op_put(struct queue_ram *qr, struct queue_op *op)
{
	struct queue_ram_msg	*m;
	struct queue_copy	 c;
	uint64_t		 cost;
	size_t			 pos;
	int			 i;

	if (queue_ram_find_msg(qr, op->msg.msgid, &pos)) {
		op->result = QUEUE_E_EXISTS;
		return;
	}
	cost = queue_ram_op_cost(op);
	if (qr->used + cost > qr->cap) {
		op->result = QUEUE_E_FULL;
		return;
	}
	qr->msgs = queue_ram_hole(qr->msgs, &qr->nmsgs, &qr->msgcap,
	    sizeof *qr->msgs, pos);
	m = &qr->msgs[pos];
	m->rec = op->msg;
	m->bodylen = op->bodylen;
	m->body = xmalloc(op->bodylen);
	if (op->bodylen > 0)
		memcpy(m->body, op->body, op->bodylen);
	m->ref = op->ncopies;
	qr->used += QUEUE_RAM_MSGCOST + op->bodylen;
	for (i = 0; i < op->ncopies; i++) {
		c = op->copies[i];
		c.msgid = op->msg.msgid;
		queue_ram_copy_insert(&qr->copies, &qr->ncopies, &qr->copycap,
		    &c, queue_ram_cmp_copy);
		qr->used += QUEUE_RAM_COPYCOST;
	}
}

/* The op's state records (see queue.h). */
static void
queue_ram_states_put(struct queue_ram *qr, const struct queue_op *op)
{
	const struct queue_state	*st;
	size_t				 j;
	int				 i;

	for (i = 0; i < op->nstates; i++) {
		st = &op->states[i];
		for (j = 0; j < qr->nstate; j++)
			if (strcmp(qr->state[j].key, st->key) == 0)
				break;
		if (j < qr->nstate) {
			free(qr->state[j].key);
			free(qr->state[j].val);
			qr->state[j] = qr->state[--qr->nstate];
		}
		if (st->val == NULL)
			continue;
		qr->state = xrealloc(qr->state, (qr->nstate + 1) *
		    sizeof *qr->state);
		qr->state[qr->nstate].key = xstrdup(st->key);
		qr->state[qr->nstate].val = xmalloc(st->len + 1);
		memcpy(qr->state[qr->nstate].val, st->val, st->len);
		qr->state[qr->nstate].len = st->len;
		qr->nstate++;
	}
}

static void
queue_ram_op(struct queue_ram *qr, struct queue_op *op)
{
	struct queue_copy	 c;
	size_t			 pos;

	if ((op->result = queue_op_validate(op)) != QUEUE_E_OK)
		return;
	switch (op->type) {
	case QUEUE_OP_PUT:
		queue_ram_op_put(qr, op);
		break;
	case QUEUE_OP_DELETE:
	case QUEUE_OP_EXPIRE:
		if (!queue_ram_find_copy(qr->copies, qr->ncopies,
		    &op->copies[0], queue_ram_cmp_copy, &pos)) {
			op->result = QUEUE_E_NOTFOUND;
			break;
		}
		c = qr->copies[pos];
		queue_ram_remove(qr->copies, &qr->ncopies, sizeof c, pos);
		if (op->type == QUEUE_OP_DELETE) {
			qr->used -= QUEUE_RAM_COPYCOST;
			queue_ram_unref(qr, c.msgid);
			break;
		}
		c.attempts = op->copies[0].attempts;
		queue_ram_copy_insert(&qr->dead, &qr->ndead, &qr->deadcap, &c,
		    queue_ram_cmp_dead);
		break;
	case QUEUE_OP_REQUEUE:
	case QUEUE_OP_PURGE:
		if (!queue_ram_find_copy(qr->dead, qr->ndead, &op->copies[0],
		    queue_ram_cmp_dead, &pos)) {
			op->result = QUEUE_E_NOTFOUND;
			break;
		}
		c = qr->dead[pos];
		if (op->type == QUEUE_OP_PURGE) {
			queue_ram_remove(qr->dead, &qr->ndead, sizeof c, pos);
			qr->used -= QUEUE_RAM_COPYCOST;
			queue_ram_unref(qr, c.msgid);
			break;
		}
		c.attempts = 0;
		c.enq_us = util_now_us();
		if (queue_ram_find_copy(qr->copies, qr->ncopies, &c,
		    queue_ram_cmp_copy, &pos)) {
			op->result = QUEUE_E_EXISTS;
			break;
		}
		queue_ram_find_copy(qr->dead, qr->ndead, &op->copies[0],
		    queue_ram_cmp_dead, &pos);
		queue_ram_remove(qr->dead, &qr->ndead, sizeof c, pos);
		queue_ram_copy_insert(&qr->copies, &qr->ncopies, &qr->copycap,
		    &c, queue_ram_cmp_copy);
		break;
	case QUEUE_OP_AUDIT:
		if (qr->used + queue_ram_op_cost(op) > qr->cap)
			op->result = QUEUE_E_FULL;
		break;
	case QUEUE_OP_AUDIT_PRUNE:
		op->pruned = 0;
		while (op->pruned < QUEUE_PRUNE_MAX &&
		    op->pruned < qr->naudit &&
		    qr->audit[op->pruned].t_us < op->prune_before_us)
			op->pruned++;
		queue_ram_audit_drop(qr, op->pruned);
		break;
	case QUEUE_OP_STATE:
		break;
	case QUEUE_OP_META:
		for (pos = 0; pos < qr->nmeta; pos++)
			if (strcmp(qr->meta[pos].key, op->meta_key) == 0)
				break;
		if (pos == qr->nmeta) {
			qr->meta = queue_ram_hole(qr->meta, &qr->nmeta,
			    &qr->metacap, sizeof *qr->meta, pos);
			qr->meta[pos].key = xstrdup(op->meta_key);
		}
		qr->meta[pos].value = op->meta_value;
		break;
	}
	if (op->result == QUEUE_E_OK && op->audit != NULL)
		queue_ram_audit_put(qr, op->audit, util_now_us());
	if (op->result == QUEUE_E_OK)
		queue_ram_states_put(qr, op);
}

static int
queue_ram_apply(void *arg, struct queue_op **ops, int n)
{
	struct queue_ram	*qr = arg;
	int			 i;

	pthread_mutex_lock(&qr->lock);
	for (i = 0; i < n; i++)
		queue_ram_op(qr, ops[i]);
	pthread_mutex_unlock(&qr->lock);
	return 0;
}

/*
 * The walks hand out a snapshot, so a callback may call back into the
 * queue (get, submit) without the lock held.
 */
static int
queue_ram_walk(struct queue_ram *qr, int dead, queue_load_cb cb, void *arg)
{
	struct queue_copy	*snap;
	size_t			 i, n;

	pthread_mutex_lock(&qr->lock);
	n = dead ? qr->ndead : qr->ncopies;
	snap = xcalloc(n, sizeof *snap);
	if (n > 0)
		memcpy(snap, dead ? qr->dead : qr->copies, n * sizeof *snap);
	pthread_mutex_unlock(&qr->lock);
	for (i = 0; i < n; i++)
		cb(&snap[i], arg);
	free(snap);
	return QUEUE_E_OK;
}

static int
queue_ram_load(void *arg, queue_load_cb cb, void *arg2)
{
	return queue_ram_walk(arg, 0, cb, arg2);
}

static int
queue_ram_walk_dead(void *arg, queue_load_cb cb, void *arg2)
{
	return queue_ram_walk(arg, 1, cb, arg2);
}

static int
queue_ram_get(void *arg, uint64_t msgid, struct queue_msgrec *m,
    struct ubuf *body)
{
	struct queue_ram	*qr = arg;
	size_t			 pos;
	int			 ret = QUEUE_E_NOTFOUND;

	pthread_mutex_lock(&qr->lock);
	if (queue_ram_find_msg(qr, msgid, &pos)) {
		*m = qr->msgs[pos].rec;
		if (body != NULL) {
			ubuf_reset(body);
			ubuf_add(body, qr->msgs[pos].body,
			    qr->msgs[pos].bodylen);
		}
		ret = QUEUE_E_OK;
	}
	pthread_mutex_unlock(&qr->lock);
	return ret;
}

static uint64_t
queue_ram_meta_get(void *arg, const char *key)
{
	struct queue_ram	*qr = arg;
	uint64_t		 value = 0;
	size_t			 i;

	pthread_mutex_lock(&qr->lock);
	for (i = 0; i < qr->nmeta; i++)
		if (strcmp(qr->meta[i].key, key) == 0) {
			value = qr->meta[i].value;
			break;
		}
	pthread_mutex_unlock(&qr->lock);
	return value;
}

static int
queue_ram_walk_audit(void *arg, uint64_t since_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *arg2)
{
	struct queue_ram	*qr = arg;
	struct queue_ram_audit	 a;
	size_t			 i;
	char			*text;
	int			 stop = 0;

	/* One record at a time, copied out: the callback runs unlocked. */
	for (i = 0; !stop; i++) {
		pthread_mutex_lock(&qr->lock);
		while (i < qr->naudit && qr->audit[i].t_us < since_us)
			i++;
		if (i >= qr->naudit) {
			pthread_mutex_unlock(&qr->lock);
			break;
		}
		a = qr->audit[i];
		text = xstrndup(a.text, a.len);
		pthread_mutex_unlock(&qr->lock);
		stop = cb(a.t_us, text, a.len, arg2) != 0;
		free(text);
	}
	return QUEUE_E_OK;
}

static int
queue_ram_walk_audit_back(void *arg, uint64_t until_us,
    int (*cb)(uint64_t, const char *, size_t, void *), void *arg2)
{
	struct queue_ram	*qr = arg;
	struct queue_ram_audit	 a;
	size_t			 i;
	char			*text;
	int			 stop = 0;

	pthread_mutex_lock(&qr->lock);
	i = qr->naudit;
	pthread_mutex_unlock(&qr->lock);
	while (!stop && i > 0) {
		pthread_mutex_lock(&qr->lock);
		if (i > qr->naudit)
			i = qr->naudit;
		while (i > 0 && until_us != 0 &&
		    qr->audit[i - 1].t_us >= until_us)
			i--;
		if (i == 0) {
			pthread_mutex_unlock(&qr->lock);
			break;
		}
		a = qr->audit[--i];
		text = xstrndup(a.text, a.len);
		pthread_mutex_unlock(&qr->lock);
		stop = cb(a.t_us, text, a.len, arg2) != 0;
		free(text);
	}
	return QUEUE_E_OK;
}

/* A snapshot of the matching records; the callback runs unlocked. */
static int
queue_ram_walk_state(void *arg, const char *prefix,
    int (*cb)(const char *, size_t, const void *, size_t, void *),
    void *arg2)
{
	struct queue_ram	*qr = arg;
	struct queue_ram_state	*snap;
	size_t			 i, n = 0, plen = strlen(prefix);

	pthread_mutex_lock(&qr->lock);
	snap = xcalloc(qr->nstate + 1, sizeof *snap);
	for (i = 0; i < qr->nstate; i++)
		if (strncmp(qr->state[i].key, prefix, plen) == 0) {
			snap[n].key = xstrdup(qr->state[i].key);
			snap[n].val = xmalloc(qr->state[i].len + 1);
			memcpy(snap[n].val, qr->state[i].val, qr->state[i].len);
			snap[n].len = qr->state[i].len;
			n++;
		}
	pthread_mutex_unlock(&qr->lock);
	for (i = 0; i < n; i++)
		if (cb(snap[i].key, strlen(snap[i].key), snap[i].val,
		    snap[i].len, arg2) != 0)
			break;
	for (i = 0; i < n; i++) {
		free(snap[i].key);
		free(snap[i].val);
	}
	free(snap);
	return QUEUE_E_OK;
}

static int
queue_ram_usage(void *arg, uint64_t *used, uint64_t *size)
{
	struct queue_ram *qr = arg;

	pthread_mutex_lock(&qr->lock);
	*used = qr->used;
	*size = qr->cap;
	pthread_mutex_unlock(&qr->lock);
	return QUEUE_E_OK;
}

static void *
queue_ram_open(const char *path, size_t mapsize, char **cause)
{
	struct queue_ram *qr;

	(void)path;
	(void)cause;
	qr = xcalloc(1, sizeof *qr);
	pthread_mutex_init(&qr->lock, NULL);
	qr->cap = mapsize ? mapsize : QUEUE_RAM_MAPSIZE;
	return qr;
}

static void
queue_ram_close(void *arg)
{
	struct queue_ram	*qr = arg;
	size_t			 i;

	if (qr == NULL)
		return;
	for (i = 0; i < qr->nmsgs; i++)
		free(qr->msgs[i].body);
	for (i = 0; i < qr->naudit; i++)
		free(qr->audit[i].text);
	for (i = 0; i < qr->nmeta; i++)
		free(qr->meta[i].key);
	for (i = 0; i < qr->nstate; i++) {
		free(qr->state[i].key);
		free(qr->state[i].val);
	}
	free(qr->state);
	free(qr->msgs);
	free(qr->copies);
	free(qr->dead);
	free(qr->audit);
	free(qr->meta);
	pthread_mutex_destroy(&qr->lock);
	free(qr);
}

int
queue_ram_add_copy(void *arg, const struct queue_msgrec *rec,
    const void *body, size_t len, const struct queue_copy *c, int dead)
{
	struct queue_ram	*qr = arg;
	struct queue_ram_msg	*m;
	size_t			 pos, i;
	int			 ret = 0;

	pthread_mutex_lock(&qr->lock);
	if (queue_ram_find_msg(qr, rec->msgid, &pos)) {
		/* A copy's line and priority are its own: its key. */
		ret = queue_ram_find_copy(qr->copies, qr->ncopies, c,
		    queue_ram_cmp_copy, &i) || queue_ram_find_copy(qr->dead,
		    qr->ndead, c, queue_ram_cmp_dead, &i);
		if (ret) {
			pthread_mutex_unlock(&qr->lock);
			return 1;
		}
		qr->msgs[pos].ref++;
	} else {
		qr->msgs = queue_ram_hole(qr->msgs, &qr->nmsgs, &qr->msgcap,
		    sizeof *qr->msgs, pos);
		m = &qr->msgs[pos];
		m->rec = *rec;
		m->bodylen = len;
		m->body = xmalloc(len + 1);
		if (len > 0)
			memcpy(m->body, body, len);
		m->ref = 1;
		qr->used += QUEUE_RAM_MSGCOST + len;
	}
	if (dead)
		queue_ram_copy_insert(&qr->dead, &qr->ndead, &qr->deadcap, c,
		    queue_ram_cmp_dead);
	else
		queue_ram_copy_insert(&qr->copies, &qr->ncopies,
		    &qr->copycap, c, queue_ram_cmp_copy);
	qr->used += QUEUE_RAM_COPYCOST;
	pthread_mutex_unlock(&qr->lock);
	return 0;
}

size_t
queue_ram_drop_line(void *arg, const char *line)
{
	struct queue_ram	*qr = arg;
	size_t			 i, kept = 0, n = 0;

	/* One pass that keeps the others in their order (a removal at a
	 * time moved the array's tail once per copy). */
	pthread_mutex_lock(&qr->lock);
	for (i = 0; i < qr->ncopies; i++)
		if (strncmp(qr->copies[i].line, line, QUEUE_LINE_LEN) == 0) {
			qr->used -= QUEUE_RAM_COPYCOST;
			queue_ram_unref(qr, qr->copies[i].msgid);
			n++;
		} else
			qr->copies[kept++] = qr->copies[i];
	qr->ncopies = kept;
	pthread_mutex_unlock(&qr->lock);
	return n;
}

void
queue_ram_audit_at(void *arg, uint64_t t_us, const char *text)
{
	struct queue_ram	*qr = arg;
	size_t			 n = 0;
	uint64_t		 b = 0;

	pthread_mutex_lock(&qr->lock);
	queue_ram_audit_put(qr, text, t_us);
	if (qr->audit_cap > 0 && qr->audit_bytes > qr->audit_cap) {
		/* An eighth at a time: the move is paid rarely. */
		while (n < qr->naudit && qr->audit_bytes - b >
		    qr->audit_cap / 8 * 7)
			b += qr->audit[n++].len;
		queue_ram_audit_drop(qr, n);
	}
	pthread_mutex_unlock(&qr->lock);
}

void
queue_ram_audit_cap(void *arg, uint64_t bytes)
{
	struct queue_ram *qr = arg;

	pthread_mutex_lock(&qr->lock);
	qr->audit_cap = bytes;
	pthread_mutex_unlock(&qr->lock);
}

void
queue_ram_walk_meta(void *arg, void (*cb)(const char *, uint64_t, void *),
    void *cbarg)
{
	struct queue_ram	*qr = arg;
	struct queue_ram_meta	*snap;
	size_t			 i, n;

	pthread_mutex_lock(&qr->lock);
	n = qr->nmeta;
	snap = xcalloc(n + 1, sizeof *snap);
	for (i = 0; i < n; i++) {
		snap[i].key = xstrdup(qr->meta[i].key);
		snap[i].value = qr->meta[i].value;
	}
	pthread_mutex_unlock(&qr->lock);
	for (i = 0; i < n; i++) {
		cb(snap[i].key, snap[i].value, cbarg);
		free(snap[i].key);
	}
	free(snap);
}

const struct queue_backend queue_backend_ram = {
	.name = "ram",
	.open = queue_ram_open,
	.close = queue_ram_close,
	.apply = queue_ram_apply,
	.load = queue_ram_load,
	.get = queue_ram_get,
	.walk_dead = queue_ram_walk_dead,
	.meta_get = queue_ram_meta_get,
	.walk_audit = queue_ram_walk_audit,
	.walk_audit_back = queue_ram_walk_audit_back,
	.usage = queue_ram_usage,
	.walk_state = queue_ram_walk_state
};
