/*
 * test_queue - the queue contract (queue.h) against both backends: the
 * same behavioural tests run once on queue_backend_ram and once on
 * queue_backend_lmdb (fresh mkdtemp directory per suite, removed after),
 * plus LMDB-only tests for reopen durability, quarantine of corrupt
 * records, rebuilding of damaged copies and B-tree damage (those open
 * the environment directly with <lmdb.h> or flip bytes of data.mdb).
 *
 * Completions need an event loop: each suite makes an event_base after
 * evthread_use_pthreads() and runs it in bounded EVLOOP_ONCE steps until
 * the ops it submitted have completed.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <lmdb.h>
#include <xxhash.h>
#include <zlib.h>

#include "mdbcheck.h"
#include "queue.h"
#include "util.h"

#define TQ_WAIT_US	(5 * 1000000ULL)
#define TQ_MAXOPS	1024
#define TQ_BIG		(50 * 1024)

/* An op with room for its copies and audit text. */
struct tq_op {
	struct queue_op		 op;		/* first: cast from queue_op */
	struct queue_copy	 copies[4];
	char			 audit[64];
	char			*body;
	int			 idx;
};

/* What the completions saw. */
struct tq_run {
	int			 ndone;
	int			 order[TQ_MAXOPS];
	int			 result[TQ_MAXOPS];
};

static const struct queue_backend	*tq_be;
static struct event_base		*tq_base;
static struct event			*tq_tick;
static char				 tq_dir[64];
static char				 tq_path[PATH_MAX];
static int				 tq_npath;

static void
tq_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}

static void
tq_done_cb(struct queue_op *op, void *arg)
{
	struct tq_run	*r = arg;
	struct tq_op	*t = (struct tq_op *)op;

	if (r->ndone < TQ_MAXOPS) {
		r->order[r->ndone] = t->idx;
		r->result[r->ndone] = op->result;
	}
	r->ndone++;
}

static int
tq_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
tq_suite_init(const struct queue_backend *be)
{
	static int threads;

	if (!threads) {
		if (evthread_use_pthreads() != 0)
			return -1;
		threads = 1;
	}
	tq_be = be;
	snprintf(tq_dir, sizeof tq_dir, "/tmp/nlswitch-queue-XXXXXX");
	if (mkdtemp(tq_dir) == NULL)
		return -1;
	if ((tq_base = event_base_new()) == NULL)
		return -1;
	/* A slow tick so EVLOOP_ONCE sleeps instead of spinning when idle. */
	tq_tick = event_new(tq_base, -1, EV_PERSIST, tq_tick_cb, NULL);
	if (tq_tick == NULL)
		return -1;
	event_add(tq_tick, &(struct timeval){ 0, 50000 });
	return 0;
}

static int
tq_suite_init_ram(void)
{
	return tq_suite_init(&queue_backend_ram);
}

static int
tq_suite_init_lmdb(void)
{
	return tq_suite_init(&queue_backend_lmdb);
}

static int
tq_suite_cleanup(void)
{
	if (tq_tick != NULL)
		event_free(tq_tick);
	tq_tick = NULL;
	if (tq_base != NULL)
		event_base_free(tq_base);
	tq_base = NULL;
	if (tq_dir[0] != '\0')
		nftw(tq_dir, tq_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	tq_dir[0] = '\0';
	return 0;
}

/* Open a queue on a fresh path (or the last one again if reopen). */
static struct queue *
tq_open(size_t mapsize, int reopen)
{
	struct queue	*q;
	char		*cause = NULL;

	if (!reopen)
		snprintf(tq_path, sizeof tq_path, "%s/q%d", tq_dir, tq_npath++);
	q = queue_open(tq_be, tq_path, mapsize, tq_base, &cause);
	if (q == NULL) {
		fprintf(stderr, "queue_open: %s\n", cause ? cause : "?");
		free(cause);
	}
	return q;
}

/* Run the loop until every submitted op completed (at most ~5 s). */
static void
tq_wait(struct queue *q)
{
	uint64_t deadline = util_mono_us() + TQ_WAIT_US;

	while (queue_pending(q) > 0 && util_mono_us() < deadline)
		event_base_loop(tq_base, EVLOOP_ONCE);
	CU_ASSERT_EQUAL(queue_pending(q), 0);
}

static void
tq_copy(struct queue_copy *c, const char *line, uint8_t prio, uint64_t msgid,
    uint16_t copy)
{
	memset(c, 0, sizeof *c);
	util_strlcpy(c->line, line, sizeof c->line);
	util_strlcpy(c->dest, line, sizeof c->dest);
	c->prio = prio;
	c->msgid = msgid;
	c->copy = copy;
	c->key = 1;
	c->enq_us = 1000 + msgid;
	c->size = 100;
}

static struct tq_op *
tq_op_new(enum queue_op_type type, int idx, struct tq_run *r)
{
	struct tq_op *t = xcalloc(1, sizeof *t);

	t->op.type = type;
	t->op.copies = t->copies;
	t->op.ncopies = 1;
	t->op.done = tq_done_cb;
	t->op.arg = r;
	t->idx = idx;
	return t;
}

/* A PUT of msgid with nbody bytes and copies on lines[0..n). */
static struct tq_op *
tq_put(uint64_t msgid, size_t nbody, const char **lines, const uint8_t *prio,
    int n, struct tq_run *r)
{
	struct tq_op	*t = tq_op_new(QUEUE_OP_PUT, (int)msgid, r);
	size_t		 i;
	int		 j;

	t->op.msg.msgid = msgid;
	t->op.msg.recv_us = 1700000000000000ULL + msgid;
	t->op.msg.in_seq = msgid * 10;
	t->op.msg.stamp_off = 77;
	t->op.msg.key = 1;
	t->op.msg.flags = 3;
	util_strlcpy(t->op.msg.from_line, "WAAGENCY", sizeof t->op.msg.from_line);
	util_strlcpy(t->op.msg.ori, "WA0340000", sizeof t->op.msg.ori);
	util_strlcpy(t->op.msg.ctl, "CTL12345", sizeof t->op.msg.ctl);
	t->body = xmalloc(nbody + 1);
	for (i = 0; i < nbody; i++)
		t->body[i] = (char)((msgid * 31 + i * 7) & 0xff);
	t->op.body = t->body;
	t->op.bodylen = nbody;
	for (j = 0; j < n; j++)
		tq_copy(&t->copies[j], lines[j], prio ? prio[j] : 1, msgid,
		    (uint16_t)j);
	t->op.ncopies = n;
	return t;
}

static struct tq_op *
tq_one(enum queue_op_type type, const char *line, uint8_t prio,
    uint64_t msgid, uint16_t copy, int idx, struct tq_run *r)
{
	struct tq_op *t = tq_op_new(type, idx, r);

	tq_copy(&t->copies[0], line, prio, msgid, copy);
	return t;
}

static void
tq_free(struct tq_op *t)
{
	free(t->body);
	free(t);
}

/* Submit ops, wait for their completions, free them; return results. */
static void
tq_run(struct queue *q, struct tq_op **ops, int n, struct tq_run *r)
{
	int i;

	memset(r, 0, sizeof *r);
	for (i = 0; i < n; i++) {
		ops[i]->op.arg = r;
		queue_submit(q, &ops[i]->op);
	}
	tq_wait(q);
	CU_ASSERT_EQUAL(r->ndone, n);
	for (i = 0; i < n; i++)
		tq_free(ops[i]);
}

/* Submit one op and return its result. */
static int
tq_run1(struct queue *q, struct tq_op *t)
{
	struct tq_run r;

	tq_run(q, &t, 1, &r);
	return r.ndone == 1 ? r.result[0] : -1;
}

/* Collect copies from load / walk_dead. */
struct tq_list {
	int			n;
	struct queue_copy	c[64];
};

static void
tq_list_cb(const struct queue_copy *c, void *arg)
{
	struct tq_list *l = arg;

	if (l->n < 64)
		l->c[l->n] = *c;
	l->n++;
}

static int
tq_load(struct queue *q, struct tq_list *l)
{
	memset(l, 0, sizeof *l);
	return queue_load(q, tq_list_cb, l);
}

static int
tq_dead(struct queue *q, struct tq_list *l)
{
	memset(l, 0, sizeof *l);
	return queue_walk_dead(q, tq_list_cb, l);
}

static int
tq_cmp_order(const struct queue_copy *a, const struct queue_copy *b)
{
	int c;

	if ((c = strcmp(a->line, b->line)) != 0)
		return c;
	if (a->prio != b->prio)
		return a->prio < b->prio ? -1 : 1;
	if (a->msgid != b->msgid)
		return a->msgid < b->msgid ? -1 : 1;
	return a->copy < b->copy ? -1 : a->copy > b->copy;
}

static void
test_queue_put_load_order(void)
{
	struct queue	*q;
	struct tq_op	*ops[8];
	struct tq_run	 r;
	struct tq_list	 l;
	const char	*l1[] = { "WADMV", "CADMV" };
	const char	*l2[] = { "CADMV" };
	const char	*l3[] = { "CADMV", "WADMV", "ORDMV" };
	uint8_t		 p1[] = { 1, 1 }, p2[] = { 0 }, p3[] = { 1, 0, 1 };
	uint8_t		 plow[] = { QUEUE_PRIO_LOW };
	int		 i;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	/* Submitted out of delivery order on purpose; msg 3 is a DQG's
	 * copy, at the low priority. */
	ops[0] = tq_put(30, 100, l1, p1, 2, &r);
	ops[1] = tq_put(10, 100, l3, p3, 3, &r);
	ops[2] = tq_put(20, 100, l2, p2, 1, &r);
	ops[3] = tq_put(5, 100, l2, NULL, 1, &r);
	ops[4] = tq_put(3, 100, l2, plow, 1, &r);
	tq_run(q, ops, 5, &r);
	for (i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(r.result[i], QUEUE_E_OK);

	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 8);
	for (i = 1; i < l.n; i++)
		CU_ASSERT(tq_cmp_order(&l.c[i - 1], &l.c[i]) < 0);
	/* CADMV: prio 0 first (msg 20), then msg 5, 10, 30, and the low
	 * priority last though it is the oldest (msg 3). */
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "CADMV");
	CU_ASSERT_EQUAL(l.c[0].msgid, 20);
	CU_ASSERT_EQUAL(l.c[0].prio, 0);
	CU_ASSERT_EQUAL(l.c[1].msgid, 5);
	CU_ASSERT_EQUAL(l.c[2].msgid, 10);
	CU_ASSERT_EQUAL(l.c[3].msgid, 30);
	CU_ASSERT_EQUAL(l.c[3].copy, 1);
	CU_ASSERT_EQUAL(l.c[4].msgid, 3);
	CU_ASSERT_EQUAL(l.c[4].prio, QUEUE_PRIO_LOW);
	CU_ASSERT_STRING_EQUAL(l.c[5].line, "ORDMV");
	CU_ASSERT_STRING_EQUAL(l.c[6].line, "WADMV");
	CU_ASSERT_EQUAL(l.c[6].msgid, 10);	/* prio 0 */
	CU_ASSERT_EQUAL(l.c[7].msgid, 30);
	CU_ASSERT_EQUAL(l.c[7].enq_us, 1030);
	CU_ASSERT_STRING_EQUAL(l.c[7].dest, "WADMV");
	queue_close(q);
}

static void
test_queue_get_intact(void)
{
	struct queue		*q;
	struct tq_op		*t;
	struct queue_msgrec	 m;
	struct ubuf		 body;
	struct tq_run		 r;
	const char		*lines[] = { "CADMV" };
	char			*expect;
	uint64_t		 used, size;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	t = tq_put(42, TQ_BIG, lines, NULL, 1, &r);
	t->body[10] = '\0';		/* binary safe */
	expect = xmalloc(TQ_BIG);
	memcpy(expect, t->body, TQ_BIG);
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);

	ubuf_init(&body);
	CU_ASSERT_EQUAL_FATAL(queue_get(q, 42, &m, &body), QUEUE_E_OK);
	CU_ASSERT_EQUAL(m.msgid, 42);
	CU_ASSERT_EQUAL(m.recv_us, 1700000000000042ULL);
	CU_ASSERT_EQUAL(m.in_seq, 420);
	CU_ASSERT_EQUAL(m.stamp_off, 77);
	CU_ASSERT_EQUAL(m.key, 1);
	CU_ASSERT_EQUAL(m.flags, 3);
	CU_ASSERT_STRING_EQUAL(m.from_line, "WAAGENCY");
	CU_ASSERT_STRING_EQUAL(m.ori, "WA0340000");
	CU_ASSERT_STRING_EQUAL(m.ctl, "CTL12345");
	CU_ASSERT_EQUAL_FATAL(body.len, TQ_BIG);
	CU_ASSERT(memcmp(body.data, expect, TQ_BIG) == 0);
	/* Metadata only. */
	CU_ASSERT_EQUAL(queue_get(q, 42, &m, NULL), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_get(q, 43, &m, &body), QUEUE_E_NOTFOUND);

	CU_ASSERT_EQUAL(queue_usage(q, &used, &size), QUEUE_E_OK);
	CU_ASSERT(used >= TQ_BIG);
	CU_ASSERT(used < size);
	ubuf_free(&body);
	free(expect);
	queue_close(q);
}

static void
test_queue_delete_refcount(void)
{
	struct queue		*q;
	struct queue_msgrec	 m;
	struct tq_run		 r;
	struct tq_list		 l;
	const char		*lines[] = { "CADMV", "WADMV" };

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(7, 2048, lines, NULL, 2, &r)),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 7, 0,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_get(q, 7, &m, NULL), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 1);
	/* Same copy again: gone already. Wrong prio: not that key. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 7, 0,
	    0, &r)), QUEUE_E_NOTFOUND);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "WADMV", 0, 7, 1,
	    0, &r)), QUEUE_E_NOTFOUND);
	CU_ASSERT_EQUAL(queue_get(q, 7, &m, NULL), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "WADMV", 1, 7, 1,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_get(q, 7, &m, NULL), QUEUE_E_NOTFOUND);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 0);
	queue_close(q);
}

static void
test_queue_expire_requeue_purge(void)
{
	struct queue		*q;
	struct queue_msgrec	 m;
	struct tq_op		*t;
	struct tq_run		 r;
	struct tq_list		 l;
	const char		*lines[] = { "CADMV", "WADMV" };
	uint64_t		 before;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(9, 1000, lines, NULL, 2, &r)),
	    QUEUE_E_OK);

	t = tq_one(QUEUE_OP_EXPIRE, "CADMV", 1, 9, 0, 0, &r);
	t->copies[0].attempts = 5;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "WADMV");
	CU_ASSERT_EQUAL(tq_dead(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "CADMV");
	CU_ASSERT_EQUAL(l.c[0].msgid, 9);
	CU_ASSERT_EQUAL(l.c[0].copy, 0);
	CU_ASSERT_EQUAL(l.c[0].attempts, 5);
	CU_ASSERT_EQUAL(l.c[0].size, 100);

	/* Requeue: back on its line, as a fresh enqueue. */
	before = util_now_us();
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_REQUEUE, "", 0, 9, 0, 0,
	    &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_dead(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "CADMV");
	CU_ASSERT_EQUAL(l.c[0].attempts, 0);
	CU_ASSERT(l.c[0].enq_us >= before);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_REQUEUE, "", 0, 9, 0, 0,
	    &r)), QUEUE_E_NOTFOUND);

	/* Expire + purge one copy: the message stays for the other. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_EXPIRE, "CADMV", 1, 9, 0,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_PURGE, "", 0, 9, 0, 0,
	    &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_dead(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_EQUAL(queue_get(q, 9, &m, NULL), QUEUE_E_OK);
	/* Expire the other: a dead copy keeps the message too. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_EXPIRE, "WADMV", 1, 9, 1,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 0);
	CU_ASSERT_EQUAL(queue_get(q, 9, &m, NULL), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_PURGE, "", 0, 9, 1, 0,
	    &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_get(q, 9, &m, NULL), QUEUE_E_NOTFOUND);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_PURGE, "", 0, 9, 1, 0,
	    &r)), QUEUE_E_NOTFOUND);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_EXPIRE, "WADMV", 1, 9, 1,
	    0, &r)), QUEUE_E_NOTFOUND);
	queue_close(q);
}

/*
 * A copy's flags (QUEUE_COPY_NOIMQ: the photo policy withheld the image
 * request from its destination) are stored with it: load() reports
 * them, they go to the dead letters with the copy and back to its line
 * on requeue; the other copy of the message has none. (LMDB: across a
 * reopen too, test_queue_copy_flags_layout.)
 */
static void
test_queue_copy_flags(void)
{
	struct queue	*q;
	struct tq_op	*t;
	struct tq_run	 r;
	struct tq_list	 l;
	const char	*lines[] = { "CADMV", "TXDMV" };

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	t = tq_put(11, 500, lines, NULL, 2, &r);
	t->op.msg.flags = QUEUE_MSG_IMQ;
	t->copies[1].flags = QUEUE_COPY_NOIMQ;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "CADMV");
	CU_ASSERT_EQUAL(l.c[0].flags, 0);
	CU_ASSERT_STRING_EQUAL(l.c[1].line, "TXDMV");
	CU_ASSERT_EQUAL(l.c[1].flags, QUEUE_COPY_NOIMQ);

	/* Expired: the dead letter keeps them; requeued: the line too. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_EXPIRE, "TXDMV", 1, 11, 1,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_dead(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_EQUAL(l.c[0].flags, QUEUE_COPY_NOIMQ);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_REQUEUE, "", 0, 11, 1, 0,
	    &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_EQUAL(l.c[0].flags, 0);
	CU_ASSERT_STRING_EQUAL(l.c[1].line, "TXDMV");
	CU_ASSERT_EQUAL(l.c[1].flags, QUEUE_COPY_NOIMQ);

	/* A mail whose picture is withheld from one destination. */
	t = tq_put(12, 500, lines, NULL, 2, &r);
	t->op.msg.flags = QUEUE_MSG_PHOTO | QUEUE_MSG_MAILPIC;
	t->copies[0].flags = QUEUE_COPY_NOIMAGE;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 4);
	CU_ASSERT_EQUAL(l.c[1].msgid, 12);
	CU_ASSERT_EQUAL(l.c[1].flags, QUEUE_COPY_NOIMAGE);
	CU_ASSERT_EQUAL(l.c[3].msgid, 12);
	CU_ASSERT_EQUAL(l.c[3].flags, 0);
	queue_close(q);
}

/*
 * A gate in front of the backend's apply(): the first batch waits in the
 * commit thread until the test opens the gate, so whatever the scheduler
 * does, every op submitted meanwhile is pending when that batch ends.
 */
static struct {
	pthread_mutex_t			 lock;
	pthread_cond_t			 cond;
	int				 open;
	const struct queue_backend	*be;
} tq_gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1, NULL };

static int
tq_gate_apply(void *bh, struct queue_op **ops, int n)
{
	pthread_mutex_lock(&tq_gate.lock);
	while (!tq_gate.open)
		pthread_cond_wait(&tq_gate.cond, &tq_gate.lock);
	pthread_mutex_unlock(&tq_gate.lock);
	return tq_gate.be->apply(bh, ops, n);
}

static void
tq_gate_set(int open)
{
	pthread_mutex_lock(&tq_gate.lock);
	tq_gate.open = open;
	pthread_cond_broadcast(&tq_gate.cond);
	pthread_mutex_unlock(&tq_gate.lock);
}

static void
test_queue_group_commit(void)
{
	struct queue		*q;
	struct queue_backend	 gated;
	const struct queue_backend *be = tq_be;
	struct queue_stats	 st;
	struct tq_op		*ops[500];
	struct tq_run		*r;
	struct tq_list		 l;
	const char		*lines[] = { "CADMV" };
	int			 i, n = 500;

	r = xcalloc(1, sizeof *r);
	gated = *be;
	gated.apply = tq_gate_apply;
	tq_gate.be = be;
	tq_gate_set(0);
	tq_be = &gated;
	q = tq_open(0, 0);
	tq_be = be;
	CU_ASSERT_FATAL(q != NULL);
	for (i = 0; i < n; i++) {
		if (i == 250) {
			/* Fails alone; the rest of its batch commits. */
			ops[i] = tq_one(QUEUE_OP_DELETE, "CADMV", 1, 99999, 0,
			    i, r);
			continue;
		}
		ops[i] = tq_put(1000 + i, 2048, lines, NULL, 1, r);
		ops[i]->idx = i;
	}
	/*
	 * Submitted behind the closed gate: the commit thread takes some
	 * first batch (1 to n ops) and waits; the rest queue up and form
	 * one second batch once the gate opens. So 1 or 2 commits, and one
	 * of them holds at least half of the ops.
	 */
	memset(r, 0, sizeof *r);
	for (i = 0; i < n; i++) {
		ops[i]->op.arg = r;
		queue_submit(q, &ops[i]->op);
	}
	tq_gate_set(1);
	tq_wait(q);
	for (i = 0; i < n; i++)
		tq_free(ops[i]);
	CU_ASSERT_EQUAL_FATAL(r->ndone, n);
	for (i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(r->order[i], i);
		CU_ASSERT_EQUAL(r->result[i], i == 250 ? QUEUE_E_NOTFOUND :
		    QUEUE_E_OK);
	}
	queue_get_stats(q, &st);
	CU_ASSERT_EQUAL(st.ops, (uint64_t)n);
	CU_ASSERT(st.commits >= 1);
	CU_ASSERT(st.commits <= 2);
	CU_ASSERT(st.batch_max >= (uint64_t)n / 2);
	CU_ASSERT_EQUAL(st.failed, 1);
	CU_ASSERT_EQUAL(queue_load(q, tq_list_cb, memset(&l, 0, sizeof l)),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, n - 1);
	queue_close(q);
	free(r);
}

struct tq_audit {
	int		 n;
	int		 stop_after;
	uint64_t	 t[8];
	char		 text[8][64];
};

static int
tq_audit_cb(uint64_t t_us, const char *rec, size_t len, void *arg)
{
	struct tq_audit *a = arg;

	if (a->n < 8) {
		a->t[a->n] = t_us;
		snprintf(a->text[a->n], sizeof a->text[a->n], "%.*s", (int)len,
		    rec);
	}
	a->n++;
	return a->stop_after != 0 && a->n >= a->stop_after;
}

static void
test_queue_audit(void)
{
	struct queue	*q;
	struct tq_op	*ops[4], *t;
	struct tq_run	 r;
	struct tq_audit	 a;
	const char	*lines[] = { "CADMV" };
	uint64_t	 t0 = util_now_us();

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	ops[0] = tq_put(1, 10, lines, NULL, 1, &r);
	ops[0]->op.audit = "{\"ev\":\"received\",\"id\":1}";
	ops[1] = tq_one(QUEUE_OP_DELETE, "CADMV", 1, 1, 0, 1, &r);
	ops[1]->op.audit = "{\"ev\":\"delivered\",\"id\":1}";
	ops[2] = tq_one(QUEUE_OP_DELETE, "CADMV", 1, 1, 0, 2, &r);
	ops[2]->op.audit = "{\"ev\":\"not written\"}";
	ops[3] = tq_op_new(QUEUE_OP_AUDIT, 3, &r);
	ops[3]->op.audit = "{\"ev\":\"note\"}";
	tq_run(q, ops, 4, &r);
	CU_ASSERT_EQUAL(r.result[2], QUEUE_E_NOTFOUND);

	t = tq_op_new(QUEUE_OP_AUDIT, 0, &r);
	t->op.audit = NULL;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_INVAL);

	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(a.n, 3);
	CU_ASSERT_STRING_EQUAL(a.text[0], "{\"ev\":\"received\",\"id\":1}");
	CU_ASSERT_STRING_EQUAL(a.text[1], "{\"ev\":\"delivered\",\"id\":1}");
	CU_ASSERT_STRING_EQUAL(a.text[2], "{\"ev\":\"note\"}");
	CU_ASSERT(a.t[0] >= t0);
	CU_ASSERT(a.t[0] <= a.t[1] && a.t[1] <= a.t[2]);

	/* Stop early. */
	memset(&a, 0, sizeof a);
	a.stop_after = 1;
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL(a.n, 1);

	/* From a time: a later record only. */
	usleep(2000);
	t = tq_op_new(QUEUE_OP_AUDIT, 0, &r);
	t->op.audit = "{\"ev\":\"later\"}";
	t0 = util_now_us();
	usleep(1000);
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(q, t0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(a.n, 1);
	CU_ASSERT_STRING_EQUAL(a.text[0], "{\"ev\":\"later\"}");

	/* Newest first (nlctl audit --limit): from the newest, or from
	 * before a time. */
	memset(&a, 0, sizeof a);
	a.stop_after = 2;
	CU_ASSERT_EQUAL(queue_walk_audit_back(q, 0, tq_audit_cb, &a),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(a.n, 2);
	CU_ASSERT_STRING_EQUAL(a.text[0], "{\"ev\":\"later\"}");
	CU_ASSERT_STRING_EQUAL(a.text[1], "{\"ev\":\"note\"}");
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit_back(q, t0, tq_audit_cb, &a),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(a.n, 3);
	CU_ASSERT_STRING_EQUAL(a.text[0], "{\"ev\":\"note\"}");
	CU_ASSERT_STRING_EQUAL(a.text[2], "{\"ev\":\"received\",\"id\":1}");
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit_back(q, util_now_us() + 1000000,
	    tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL(a.n, 4);
	queue_close(q);
}

/* AUDIT_PRUNE: oldest first, before the cutoff only, own record kept. */
static void
test_queue_audit_prune(void)
{
	struct queue	*q;
	struct tq_op	*t;
	struct tq_run	 r;
	struct tq_audit	 a;
	uint64_t	 cut = 0;
	int		 i;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	for (i = 0; i < 3; i++) {
		t = tq_op_new(QUEUE_OP_AUDIT, i, &r);
		t->op.audit = i == 0 ? "{\"n\":0}" : i == 1 ? "{\"n\":1}" :
		    "{\"n\":2}";
		CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
		usleep(2000);
		if (i == 1)
			cut = util_now_us();
		usleep(2000);
	}

	/* Nothing older than the epoch: nothing pruned. */
	memset(&r, 0, sizeof r);
	t = tq_op_new(QUEUE_OP_AUDIT_PRUNE, 0, &r);
	t->op.ncopies = 0;
	t->op.copies = NULL;
	t->op.prune_before_us = 1;
	queue_submit(q, &t->op);
	tq_wait(q);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_OK);
	CU_ASSERT_EQUAL(t->op.pruned, 0);
	tq_free(t);

	/* The two records before the cutoff go; the prune's own stays. */
	memset(&r, 0, sizeof r);
	t = tq_op_new(QUEUE_OP_AUDIT_PRUNE, 0, &r);
	t->op.ncopies = 0;
	t->op.copies = NULL;
	t->op.prune_before_us = cut;
	t->op.audit = "{\"event\":\"audit-pruned\"}";
	queue_submit(q, &t->op);
	tq_wait(q);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_OK);
	CU_ASSERT_EQUAL(t->op.pruned, 2);
	tq_free(t);
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(a.n, 2);
	CU_ASSERT_STRING_EQUAL(a.text[0], "{\"n\":2}");
	CU_ASSERT_STRING_EQUAL(a.text[1], "{\"event\":\"audit-pruned\"}");

	/* Everything up to now, the previous prune record included. */
	memset(&r, 0, sizeof r);
	t = tq_op_new(QUEUE_OP_AUDIT_PRUNE, 0, &r);
	t->op.ncopies = 0;
	t->op.copies = NULL;
	t->op.prune_before_us = UINT64_MAX;
	queue_submit(q, &t->op);
	tq_wait(q);
	CU_ASSERT_EQUAL(t->op.pruned, 2);
	tq_free(t);
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL(a.n, 0);
	queue_close(q);
}

static void
test_queue_meta(void)
{
	struct queue	*q;
	struct tq_op	*t;
	struct tq_run	 r;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	CU_ASSERT_EQUAL(queue_meta_get(q, "msgid"), 0);
	t = tq_op_new(QUEUE_OP_META, 0, &r);
	t->op.meta_key = "msgid";
	t->op.meta_value = 42;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	t = tq_op_new(QUEUE_OP_META, 0, &r);
	t->op.meta_key = "seq.out.CADMV";
	t->op.meta_value = UINT64_MAX - 1;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_meta_get(q, "msgid"), 42);
	CU_ASSERT_EQUAL(queue_meta_get(q, "seq.out.CADMV"), UINT64_MAX - 1);
	CU_ASSERT_EQUAL(queue_meta_get(q, "seq.out"), 0);

	t = tq_op_new(QUEUE_OP_META, 0, &r);
	t->op.meta_key = "msgid";
	t->op.meta_value = 43;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_meta_get(q, "msgid"), 43);
	t = tq_op_new(QUEUE_OP_META, 0, &r);
	t->op.meta_key = "";
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_INVAL);
	queue_close(q);
}

static void
test_queue_invalid(void)
{
	struct queue	*q;
	struct tq_op	*t;
	struct tq_run	 r;
	const char	*lines[] = { "CADMV", "WADMV" };

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(1, 10, lines, NULL, 2, &r)),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(1, 10, lines, NULL, 1, &r)),
	    QUEUE_E_EXISTS);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(2, 10, lines, NULL, 0, &r)),
	    QUEUE_E_INVAL);
	t = tq_put(3, 10, lines, NULL, 2, &r);
	t->copies[1].copy = 0;		/* duplicate copy number */
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_INVAL);
	t = tq_put(4, 10, lines, NULL, 1, &r);
	memset(t->copies[0].line, 'X', sizeof t->copies[0].line);
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_INVAL);
	t = tq_op_new(QUEUE_OP_DELETE, 0, &r);
	t->op.copies = NULL;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_INVAL);
	CU_ASSERT_STRING_EQUAL(queue_strerror(QUEUE_E_FULL), "queue full");
	CU_ASSERT_PTR_NOT_NULL(queue_strerror(12345));
	queue_close(q);
}

static void
test_queue_ids(void)
{
	char buf[64];

	queue_msgid_fmt(buf, sizeof buf, 0xbadc0ffeeULL);
	CU_ASSERT_STRING_EQUAL(buf, "0000000badc0ffee");
	queue_copyid_fmt(buf, sizeof buf, 42, 3);
	CU_ASSERT_STRING_EQUAL(buf, "000000000000002a.3");
}

/* A completion that submits during queue_close gets QUEUE_E_CLOSED. */
struct tq_chain {
	struct queue	*q;
	struct tq_op	*next;
	struct tq_run	*r;
};

static void
tq_chain_cb(struct queue_op *op, void *arg)
{
	struct tq_chain *c = arg;

	c->r->order[c->r->ndone] = op->result;
	c->r->ndone++;
	if (c->next != NULL) {
		queue_submit(c->q, &c->next->op);
		c->next = NULL;
	}
}

static void
test_queue_close_pending(void)
{
	struct queue		*q;
	struct queue_msgrec	 m;
	struct tq_op		*ops[20], *late;
	struct tq_run		 r, r2;
	struct tq_chain		 chain;
	const char		*lines[] = { "CADMV" };
	int			 i;

	memset(&r, 0, sizeof r);
	memset(&r2, 0, sizeof r2);
	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	for (i = 0; i < 20; i++) {
		ops[i] = tq_put(100 + i, 4096, lines, NULL, 1, &r);
		ops[i]->idx = i;
		queue_submit(q, &ops[i]->op);
	}
	late = tq_put(200, 10, lines, NULL, 1, &r2);
	chain.q = q;
	chain.next = late;
	chain.r = &r2;
	ops[19]->op.done = tq_chain_cb;
	ops[19]->op.arg = &chain;
	CU_ASSERT(queue_pending(q) == 20);
	/* No loop run: close commits them and completes them itself. */
	queue_close(q);
	CU_ASSERT_EQUAL(r.ndone, 19);
	for (i = 0; i < 19; i++) {
		CU_ASSERT_EQUAL(r.order[i], i);
		CU_ASSERT_EQUAL(r.result[i], QUEUE_E_OK);
	}
	CU_ASSERT_EQUAL(r2.ndone, 2);
	CU_ASSERT_EQUAL(r2.order[0], QUEUE_E_OK);	/* ops[19] */
	CU_ASSERT_EQUAL(r2.result[1], QUEUE_E_CLOSED);	/* late */
	for (i = 0; i < 20; i++)
		tq_free(ops[i]);
	tq_free(late);

	if (tq_be == &queue_backend_lmdb) {
		CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
		CU_ASSERT_EQUAL(queue_get(q, 119, &m, NULL), QUEUE_E_OK);
		CU_ASSERT_EQUAL(queue_get(q, 200, &m, NULL), QUEUE_E_NOTFOUND);
		queue_close(q);
	}
}

/*
 * A full store: PUTs get QUEUE_E_FULL, deletes in the same batch still
 * succeed, and after them PUTs fit again.
 */
static void
test_queue_full(void)
{
	struct queue	*q;
	struct tq_op	*ops[8];
	struct tq_run	 r;
	struct tq_list	 l;
	const char	*lines[] = { "CADMV" };
	uint64_t	 id, used, size;
	int		 res = QUEUE_E_OK, i, nstored;

	CU_ASSERT_FATAL((q = tq_open(1 << 20, 0)) != NULL);
	for (id = 1; id < 100; id++) {
		res = tq_run1(q, tq_put(id, TQ_BIG, lines, NULL, 1, &r));
		if (res != QUEUE_E_OK)
			break;
	}
	CU_ASSERT_EQUAL_FATAL(res, QUEUE_E_FULL);
	nstored = (int)id - 1;
	CU_ASSERT(nstored >= 8);
	CU_ASSERT(nstored < 21);
	CU_ASSERT_EQUAL(queue_usage(q, &used, &size), QUEUE_E_OK);
	CU_ASSERT(used <= size);
	CU_ASSERT_EQUAL(size, 1 << 20);

	/* Full: the PUT fails, the deletes of the same batch succeed. */
	ops[0] = tq_put(500, TQ_BIG, lines, NULL, 1, &r);
	ops[0]->idx = 0;
	for (i = 1; i <= 4; i++)
		ops[i] = tq_one(QUEUE_OP_DELETE, "CADMV", 1, (uint64_t)i, 0, i,
		    &r);
	ops[5] = tq_op_new(QUEUE_OP_META, 5, &r);
	ops[5]->op.meta_key = "msgid";
	ops[5]->op.meta_value = 501;
	tq_run(q, ops, 6, &r);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_FULL);
	for (i = 1; i <= 5; i++)
		CU_ASSERT_EQUAL(r.result[i], QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_meta_get(q, "msgid"), 501);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, nstored - 4);

	/* Space is back. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(500, TQ_BIG, lines, NULL, 1, &r)),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(501, TQ_BIG, lines, NULL, 1, &r)),
	    QUEUE_E_OK);
	/* Draining everything works on a full store. */
	for (id = 5; id <= (uint64_t)nstored; id++)
		CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1,
		    id, 0, 0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 2);
	queue_close(q);
}

/* LMDB: everything committed survives close + reopen. */
static void
test_queue_reopen(void)
{
	struct queue		*q;
	struct queue_msgrec	 m;
	struct tq_op		*t;
	struct tq_run		 r;
	struct tq_list		 l;
	struct tq_audit		 a;
	struct ubuf		 body;
	const char		*lines[] = { "CADMV", "WADMV" };
	char			*expect;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	t = tq_put(77, TQ_BIG, lines, NULL, 2, &r);
	t->op.audit = "{\"ev\":\"received\",\"id\":77}";
	expect = xmalloc(TQ_BIG);
	memcpy(expect, t->body, TQ_BIG);
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_EXPIRE, "WADMV", 1, 77, 1,
	    0, &r)), QUEUE_E_OK);
	t = tq_op_new(QUEUE_OP_META, 0, &r);
	t->op.meta_key = "msgid";
	t->op.meta_value = 78;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	queue_close(q);

	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	ubuf_init(&body);
	CU_ASSERT_EQUAL(queue_get(q, 77, &m, &body), QUEUE_E_OK);
	CU_ASSERT_EQUAL(body.len, TQ_BIG);
	CU_ASSERT(body.len == TQ_BIG && memcmp(body.data, expect, TQ_BIG) == 0);
	CU_ASSERT_STRING_EQUAL(m.ctl, "CTL12345");
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "CADMV");
	CU_ASSERT_EQUAL(tq_dead(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "WADMV");
	CU_ASSERT_EQUAL(queue_meta_get(q, "msgid"), 78);
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL(a.n, 1);

	/* Audit keys keep increasing across a reopen. */
	t = tq_op_new(QUEUE_OP_AUDIT, 0, &r);
	t->op.audit = "{\"ev\":\"after reopen\"}";
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(a.n, 2);
	CU_ASSERT_STRING_EQUAL(a.text[1], "{\"ev\":\"after reopen\"}");

	/* The last copy after the reopen deletes the message. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 77, 0,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_get(q, 77, &m, NULL), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_PURGE, "", 0, 77, 1, 0,
	    &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_get(q, 77, &m, NULL), QUEUE_E_NOTFOUND);
	ubuf_free(&body);
	free(expect);
	queue_close(q);
}

/* Open the env directly (the queue must be closed); returns dbi of name. */
static int
tq_lmdb_open(MDB_env **env, MDB_txn **txn, const char *name, MDB_dbi *dbi)
{
	if (mdb_env_create(env) != 0)
		return -1;
	mdb_env_set_maxdbs(*env, 8);
	if (mdb_env_open(*env, tq_path, 0, 0600) != 0 ||
	    mdb_txn_begin(*env, NULL, 0, txn) != 0 ||
	    mdb_dbi_open(*txn, name, 0, dbi) != 0) {
		mdb_env_close(*env);
		return -1;
	}
	return 0;
}

/*
 * Rewrite the stored msg record of msgid in place (the queue must be
 * closed): edit gets a copy of the record and its 8-byte key.
 */
static void
tq_msg_rewrite(uint64_t msgid, void (*edit)(uint8_t *, size_t,
    const uint8_t *))
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k, v;
	uint8_t		 kb[8], *copy;

	CU_ASSERT_FATAL(tq_lmdb_open(&env, &txn, "msg", &dbi) == 0);
	util_put_be64(kb, msgid);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	CU_ASSERT_FATAL(mdb_get(txn, dbi, &k, &v) == 0);
	copy = xmalloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	edit(copy, v.mv_size, kb);
	v.mv_data = copy;
	CU_ASSERT(mdb_put(txn, dbi, &k, &v, 0) == 0);
	free(copy);
	CU_ASSERT_FATAL(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
}

static int
tq_lmdb_count(const char *name)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_stat	 st;
	int		 n = -1;

	if (tq_lmdb_open(&env, &txn, name, &dbi) != 0)
		return -1;
	if (mdb_stat(txn, dbi, &st) == 0)
		n = (int)st.ms_entries;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return n;
}

/* LMDB: garbage in the copy and msg dbs is quarantined, never fatal. */
/* tq_msg_rewrite edits: one body byte flipped; version 1 resealed with
 * its CRC-32; the version byte alone changed. */
static void
tq_edit_flip(uint8_t *rec, size_t len, const uint8_t *key)
{
	(void)len;
	(void)key;
	rec[100] ^= 1;
}

static void
tq_edit_v1(uint8_t *rec, size_t len, const uint8_t *key)
{
	uint32_t	crc;

	CU_ASSERT_EQUAL(rec[0], 2);
	rec[0] = 1;
	crc = (uint32_t)crc32(0L, key, 8);
	crc = (uint32_t)crc32(crc, rec, (uInt)len - 4);
	util_put_be32(rec + len - 4, crc);
}

static void
tq_edit_version(uint8_t *rec, size_t len, const uint8_t *key)
{
	(void)len;
	(void)key;
	CU_ASSERT_EQUAL(rec[0], 2);
	rec[0] = 1;
}

static void
test_queue_corrupt(void)
{
	struct queue		*q;
	struct queue_msgrec	 m;
	struct tq_run		 r;
	struct tq_list		 l;
	struct tq_op		*ops[3];
	const char		*lines[] = { "CADMV" };
	MDB_env			*env;
	MDB_txn			*txn;
	MDB_cursor		*cur;
	MDB_dbi			 dbi;
	MDB_val			 k, v;
	uint8_t			 junk[52];
	int			 i;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	for (i = 0; i < 3; i++)
		ops[i] = tq_put(i + 1, 3000, lines, NULL, 1, &r);
	tq_run(q, ops, 3, &r);
	queue_close(q);

	/* Scribble over the copy of message 2 (second key of the line). */
	CU_ASSERT_FATAL(tq_lmdb_open(&env, &txn, "copy", &dbi) == 0);
	CU_ASSERT_FATAL(mdb_cursor_open(txn, dbi, &cur) == 0);
	CU_ASSERT_FATAL(mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0);
	CU_ASSERT_FATAL(mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0);
	memset(junk, 0xa5, sizeof junk);
	v.mv_size = sizeof junk;
	v.mv_data = junk;
	CU_ASSERT(mdb_cursor_put(cur, &k, &v, MDB_CURRENT) == 0);
	/* And a key of the wrong shape. */
	k.mv_size = 3;
	k.mv_data = "bad";
	CU_ASSERT(mdb_put(txn, dbi, &k, &v, 0) == 0);
	mdb_cursor_close(cur);
	CU_ASSERT_FATAL(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);

	/* Flip one body byte of message 3. */
	tq_msg_rewrite(3, tq_edit_flip);

	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 3);
	CU_ASSERT_EQUAL(l.c[0].msgid, 1);
	/* Message 2's copy, rebuilt from its key and its message. */
	CU_ASSERT_EQUAL(l.c[1].msgid, 2);
	CU_ASSERT_STRING_EQUAL(l.c[1].line, "CADMV");
	CU_ASSERT_EQUAL(l.c[1].size, 3000);
	CU_ASSERT_EQUAL(l.c[1].key, 1);
	CU_ASSERT_EQUAL(l.c[1].enq_us, 1700000000000000ULL + 2);
	CU_ASSERT_EQUAL(l.c[2].msgid, 3);
	/* Loading again: the junk key is gone, copy 2 is whole again. */
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 3);
	CU_ASSERT_EQUAL(queue_get(q, 1, &m, NULL), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_get(q, 3, &m, NULL), QUEUE_E_CORRUPT);
	/* The next commit moves the msg to quarantine; deletes still work. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 1, 0,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(queue_get(q, 3, &m, NULL), QUEUE_E_NOTFOUND);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 2, 0,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 3, 0,
	    0, &r)), QUEUE_E_OK);
	{
		struct queue_health h;

		CU_ASSERT_EQUAL(queue_health(q, &h), 0);
		CU_ASSERT_EQUAL(h.quarantined[QUEUE_DB_COPY], 2);
		CU_ASSERT_EQUAL(h.quarantined[QUEUE_DB_MSG], 1);
	}
	queue_close(q);

	CU_ASSERT_EQUAL(tq_lmdb_count("quarantine"), 3);
	CU_ASSERT_EQUAL(tq_lmdb_count("copy"), 0);
	CU_ASSERT_EQUAL(tq_lmdb_count("msg"), 0);
}

/* The copy key the LMDB backend stores (line[8] prio msgid copy). */
static void
tq_copy_key(uint8_t *kb, const char *line, uint8_t prio, uint64_t msgid,
    uint16_t copy)
{
	memset(kb, 0, 8);
	memcpy(kb, line, strlen(line));
	kb[8] = prio;
	util_put_be64(kb + 9, msgid);
	util_put_be16(kb + 17, copy);
}

/*
 * XOR x into the byte off bytes past every place data.mdb holds needle
 * (the queue must be closed): old versions of a page sit in free pages
 * and are flipped too, harmlessly. @return the places.
 */
static int
tq_file_flip(const void *needle, size_t n, long off, uint8_t x)
{
	char		 path[PATH_MAX + 16];
	char		*data, *p;
	size_t		 len;
	uint8_t		 byte;
	int		 fd, hits = 0;

	snprintf(path, sizeof path, "%s/data.mdb", tq_path);
	if ((data = util_read_file(path, &len)) == NULL)
		return -1;
	if ((fd = open(path, O_WRONLY)) == -1) {
		free(data);
		return -1;
	}
	for (p = data; (p = memmem(p, len - (size_t)(p - data), needle, n)) !=
	    NULL; p += n) {
		byte = (uint8_t)p[off] ^ x;
		if (pwrite(fd, &byte, 1, (off_t)(p - data) + off) == 1)
			hits++;
	}
	close(fd);
	free(data);
	return hits;
}

/* Quarantine entries as queue_walk_quarantine reports them. */
struct tq_quar {
	int		n;
	int		db[8];
	uint64_t	msgid[8];
	int		copy[8];
	char		line[8][QUEUE_LINE_LEN + 1];
	char		reason[8][16];
	char		action[8][16];
};

static int
tq_quar_cb(const struct queue_quar *e, void *arg)
{
	struct tq_quar *l = arg;

	if (l->n < 8) {
		l->db[l->n] = e->db;
		l->msgid[l->n] = e->msgid;
		l->copy[l->n] = e->copy;
		util_strlcpy(l->line[l->n], e->line, sizeof l->line[0]);
		util_strlcpy(l->reason[l->n], e->reason, sizeof l->reason[0]);
		util_strlcpy(l->action[l->n], e->action, sizeof l->action[0]);
	}
	l->n++;
	return 0;
}

/* The quarantine entry of db and msgid, or -1. */
static int
tq_quar_find(const struct tq_quar *l, int db, uint64_t msgid)
{
	int i;

	for (i = 0; i < l->n && i < 8; i++)
		if (l->db[i] == db && l->msgid[i] == msgid)
			return i;
	return -1;
}

/* Audit records of an event. */
static int
tq_audit_event_cb(uint64_t t, const char *rec, size_t len, void *arg)
{
	(void)t;
	if (memmem(rec, len, "\"event\":\"quarantined\"", 21) != NULL)
		(*(int *)arg)++;
	return 0;
}

/*
 * LMDB: bytes flipped in data.mdb where copy records lie. Nothing is
 * lost without a trace: a copy whose record is hit is rebuilt from its
 * key and its message and loaded (1); one whose message is damaged too
 * goes to the dead letters (2); one whose key is hit is stored again
 * under the key its intact value names (3). Each is quarantined,
 * counted and audited once; afterwards every copy can be delivered or
 * purged and nothing stays behind.
 */
static void
test_queue_salvage(void)
{
	struct queue		*q;
	struct queue_health	 h;
	struct tq_run		 r;
	struct tq_list		 l, d;
	struct tq_quar		 qu;
	struct tq_op		*ops[5];
	const char		*one[] = { "CADMV" }, *two[] = { "CADMV", "WADMV" };
	uint8_t			 kb[19];
	uint64_t		 id;
	int			 i, n, nq = 0;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	for (id = 1; id <= 4; id++)
		ops[id - 1] = tq_put(id, 3000, one, NULL, 1, &r);
	ops[4] = tq_put(5, 3000, two, NULL, 2, &r);
	tq_run(q, ops, 5, &r);
	queue_close(q);

	/* 2: its message's body is damaged as well. */
	tq_msg_rewrite(2, tq_edit_flip);
	/* 1, 2: a byte of the value (enq_us), past the 19-byte key. */
	tq_copy_key(kb, "CADMV", 1, 1, 0);
	CU_ASSERT(tq_file_flip(kb, sizeof kb, 19 + 35, 0x10) >= 1);
	tq_copy_key(kb, "CADMV", 1, 2, 0);
	CU_ASSERT(tq_file_flip(kb, sizeof kb, 19 + 35, 0x10) >= 1);
	/* 3: a byte of the key (msgid 3 -> 0x43). */
	tq_copy_key(kb, "CADMV", 1, 3, 0);
	CU_ASSERT(tq_file_flip(kb, sizeof kb, 16, 0x40) >= 1);

	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 5);
	/* Key order, except 3, reported where its damaged key sorted. */
	for (i = 0, n = 0; i < l.n; i++) {
		CU_ASSERT(l.c[i].msgid != 2);
		if (l.c[i].msgid == 1) {
			n++;
			CU_ASSERT_STRING_EQUAL(l.c[i].line, "CADMV");
			CU_ASSERT_EQUAL(l.c[i].key, 1);
			CU_ASSERT_EQUAL(l.c[i].size, 3000);
			CU_ASSERT_EQUAL(l.c[i].enq_us, 1700000000000000ULL + 1);
			CU_ASSERT_STRING_EQUAL(l.c[i].dest, "");
			/* Its message asked for a photo (tq_put's flags):
			 * rebuilt without the image request, fail closed. */
			CU_ASSERT_EQUAL(l.c[i].flags, QUEUE_COPY_NOIMQ);
		} else if (l.c[i].msgid == 3) {
			n++;
			CU_ASSERT_STRING_EQUAL(l.c[i].line, "CADMV");
			CU_ASSERT_EQUAL(l.c[i].enq_us, 1000 + 3);
			CU_ASSERT_STRING_EQUAL(l.c[i].dest, "CADMV");
			/* Its own intact value, under the right key. */
			CU_ASSERT_EQUAL(l.c[i].flags, 0);
		}
	}
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(tq_dead(q, &d), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_EQUAL(d.c[0].msgid, 2);
	CU_ASSERT_STRING_EQUAL(d.c[0].line, "CADMV");

	memset(&qu, 0, sizeof qu);
	CU_ASSERT_EQUAL(queue_walk_quarantine(q, 0, tq_quar_cb, &qu),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(qu.n, 4);
	CU_ASSERT_FATAL((i = tq_quar_find(&qu, QUEUE_DB_COPY, 1)) >= 0);
	CU_ASSERT_STRING_EQUAL(qu.action[i], "rebuilt");
	CU_ASSERT_STRING_EQUAL(qu.reason[i], "checksum");
	CU_ASSERT_STRING_EQUAL(qu.line[i], "CADMV");
	CU_ASSERT_EQUAL(qu.copy[i], 0);
	CU_ASSERT_FATAL((i = tq_quar_find(&qu, QUEUE_DB_COPY, 2)) >= 0);
	CU_ASSERT_STRING_EQUAL(qu.action[i], "dead-lettered");
	CU_ASSERT_FATAL((i = tq_quar_find(&qu, QUEUE_DB_COPY, 0x43)) >= 0);
	CU_ASSERT_STRING_EQUAL(qu.action[i], "rebuilt");
	CU_ASSERT_STRING_EQUAL(qu.reason[i], "key");
	CU_ASSERT(tq_quar_find(&qu, QUEUE_DB_MSG, 2) >= 0);
	CU_ASSERT_EQUAL(queue_health(q, &h), 0);
	CU_ASSERT_EQUAL(h.quarantined[QUEUE_DB_COPY], 3);
	CU_ASSERT_EQUAL(h.quarantined[QUEUE_DB_MSG], 1);
	CU_ASSERT_EQUAL(h.quarantined[QUEUE_DB_DEAD], 0);
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_event_cb, &nq),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL(nq, 4);

	/* What was written back loads as it is, without a new entry. */
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 5);
	CU_ASSERT_EQUAL(queue_health(q, &h), 0);
	CU_ASSERT_EQUAL(h.quarantined[QUEUE_DB_COPY], 3);

	/* Deliver everything, purge the dead letter: nothing stays. */
	for (i = 0; i < l.n; i++)
		CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, l.c[i].line,
		    1, l.c[i].msgid, l.c[i].copy, 0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_PURGE, "", 0, 2, 0, 0, &r)),
	    QUEUE_E_OK);
	queue_close(q);
	CU_ASSERT_EQUAL(tq_lmdb_count("copy"), 0);
	CU_ASSERT_EQUAL(tq_lmdb_count("dead"), 0);
	CU_ASSERT_EQUAL(tq_lmdb_count("msg"), 0);
	CU_ASSERT_EQUAL(tq_lmdb_count("ref"), 0);
	CU_ASSERT_EQUAL(tq_lmdb_count("quarantine"), 4);
}

/*
 * LMDB: copies gone without a trace in their message (a page a salvage
 * could not copy; a copy quarantined with its key unreadable). The load
 * finds their messages' counts too high: each ref is quarantined as
 * copies-lost, the count set to what is there, a message left with no
 * copy deleted.
 */
static void
test_queue_copies_lost(void)
{
	struct queue		*q;
	struct queue_health	 h;
	struct tq_run		 r;
	struct tq_list		 l;
	struct tq_quar		 qu;
	struct tq_op		*ops[3];
	const char		*one[] = { "CADMV" }, *two[] = { "CADMV", "WADMV" };
	MDB_env			*env;
	MDB_txn			*txn;
	MDB_dbi			 dbi;
	MDB_val			 k, v;
	uint8_t			 kb[19], junk[52];
	int			 i;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	ops[0] = tq_put(1, 300, two, NULL, 2, &r);
	ops[1] = tq_put(2, 300, one, NULL, 1, &r);
	ops[2] = tq_put(3, 300, one, NULL, 1, &r);
	tq_run(q, ops, 3, &r);
	queue_close(q);

	/* 1's CADMV copy and 2's copy are gone; 3's has a junk key. */
	CU_ASSERT_FATAL(tq_lmdb_open(&env, &txn, "copy", &dbi) == 0);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	tq_copy_key(kb, "CADMV", 1, 1, 0);
	CU_ASSERT(mdb_del(txn, dbi, &k, NULL) == 0);
	tq_copy_key(kb, "CADMV", 1, 2, 0);
	CU_ASSERT(mdb_del(txn, dbi, &k, NULL) == 0);
	tq_copy_key(kb, "CADMV", 1, 3, 0);
	CU_ASSERT(mdb_del(txn, dbi, &k, NULL) == 0);
	kb[0] = 0xc3;
	memset(junk, 0x5a, sizeof junk);
	v.mv_size = sizeof junk;
	v.mv_data = junk;
	CU_ASSERT(mdb_put(txn, dbi, &k, &v, 0) == 0);
	CU_ASSERT_FATAL(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);

	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 1);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "WADMV");
	memset(&qu, 0, sizeof qu);
	CU_ASSERT_EQUAL(queue_walk_quarantine(q, 0, tq_quar_cb, &qu),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(qu.n, 4);
	CU_ASSERT_FATAL((i = tq_quar_find(&qu, QUEUE_DB_COPY, 3)) >= 0);
	CU_ASSERT_STRING_EQUAL(qu.action[i], "none");
	CU_ASSERT_FATAL((i = tq_quar_find(&qu, QUEUE_DB_REF, 1)) >= 0);
	CU_ASSERT_STRING_EQUAL(qu.reason[i], "copies-lost");
	CU_ASSERT_STRING_EQUAL(qu.action[i], "recounted");
	for (i = 2; i <= 3; i++) {
		int j = tq_quar_find(&qu, QUEUE_DB_REF, (uint64_t)i);

		CU_ASSERT_FATAL(j >= 0);
		CU_ASSERT_STRING_EQUAL(qu.reason[j], "copies-lost");
		CU_ASSERT_STRING_EQUAL(qu.action[j], "deleted");
	}
	CU_ASSERT_EQUAL(queue_health(q, &h), 0);
	CU_ASSERT_EQUAL(h.quarantined[QUEUE_DB_REF], 3);
	CU_ASSERT_EQUAL(h.quarantined[QUEUE_DB_COPY], 1);
	/* Consistent now: a second load finds nothing more. */
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	memset(&qu, 0, sizeof qu);
	CU_ASSERT_EQUAL(queue_walk_quarantine(q, 0, tq_quar_cb, &qu),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL(qu.n, 4);
	/* The last copy of 1 takes its message with it. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "WADMV", 1, 1, 1,
	    0, &r)), QUEUE_E_OK);
	queue_close(q);
	CU_ASSERT_EQUAL(tq_lmdb_count("msg"), 0);
	CU_ASSERT_EQUAL(tq_lmdb_count("ref"), 0);
}

/*
 * LMDB: an EXPIRE that finds its copy's record damaged moves the copy
 * the loop holds to the dead letters (and quarantines the record).
 */
static void
test_queue_expire_damaged(void)
{
	struct queue		*q;
	struct tq_op		*t;
	struct tq_run		 r;
	struct tq_list		 d;
	struct tq_quar		 qu;
	const char		*one[] = { "CADMV" };
	uint8_t			 kb[19];

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(9, 500, one, NULL, 1, &r)),
	    QUEUE_E_OK);
	queue_close(q);
	tq_copy_key(kb, "CADMV", 1, 9, 0);
	CU_ASSERT(tq_file_flip(kb, sizeof kb, 19 + 46, 0x01) >= 1);

	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	t = tq_one(QUEUE_OP_EXPIRE, "CADMV", 1, 9, 0, 0, &r);
	t->copies[0].attempts = 3;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_dead(q, &d), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_EQUAL(d.c[0].msgid, 9);
	CU_ASSERT_EQUAL(d.c[0].attempts, 3);
	CU_ASSERT_EQUAL(d.c[0].size, 100);	/* as the loop had it */
	memset(&qu, 0, sizeof qu);
	CU_ASSERT_EQUAL(queue_walk_quarantine(q, 0, tq_quar_cb, &qu),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(qu.n, 1);
	CU_ASSERT_STRING_EQUAL(qu.action[0], "dead-lettered");
	queue_close(q);
}

/*
 * LMDB: the copy db's page made the wrong type (B-tree damage, not a
 * record). The load says so, health() reports it with LMDB's words,
 * ops that reach the page fail QUEUE_E_DAMAGED and the others commit.
 */
static void
test_queue_damage(void)
{
	struct queue		*q;
	struct queue_health	 h;
	struct tq_op		*ops[3];
	struct tq_run		 r;
	struct tq_list		 l;
	const char		*one[] = { "CADMV" };
	MDB_env			*env;
	MDB_txn			*txn;
	MDB_dbi			 dbi;
	MDB_stat		 st;
	char			 path[PATH_MAX + 16], *data, *p;
	uint8_t			 kb[19], flags[2];
	size_t			 len, pg;
	int			 fd, hits = 0;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	ops[0] = tq_put(1, 300, one, NULL, 1, &r);
	ops[1] = tq_put(2, 300, one, NULL, 1, &r);
	tq_run(q, ops, 2, &r);
	CU_ASSERT_EQUAL(queue_health(q, &h), 0);
	queue_close(q);

	CU_ASSERT_FATAL(tq_lmdb_open(&env, &txn, "copy", &dbi) == 0);
	CU_ASSERT_FATAL(mdb_stat(txn, dbi, &st) == 0);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	/* Damage that appears while the switch runs: the file check at
	 * open passes, LMDB finds it. Every leaf page holding copy 1's key
	 * becomes an overflow page (flags at offset 10 of the page header);
	 * LMDB's map shows the write. */
	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(queue_health(q, &h), 0);
	snprintf(path, sizeof path, "%s/data.mdb", tq_path);
	CU_ASSERT_FATAL((data = util_read_file(path, &len)) != NULL);
	CU_ASSERT_FATAL((fd = open(path, O_WRONLY)) != -1);
	tq_copy_key(kb, "CADMV", 1, 1, 0);
	for (p = data; (p = memmem(p, len - (size_t)(p - data), kb,
	    sizeof kb)) != NULL; p += sizeof kb) {
		pg = (size_t)(p - data) / st.ms_psize * st.ms_psize;
		if (data[pg + 10] != 0x02 || data[pg + 11] != 0)
			continue;
		flags[0] = 0x04;
		flags[1] = 0;
		CU_ASSERT(pwrite(fd, flags, 2, (off_t)pg + 10) == 2);
		hits++;
	}
	close(fd);
	free(data);
	CU_ASSERT_FATAL(hits >= 1);

	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_IO);
	CU_ASSERT_EQUAL(queue_health(q, &h), 1);
	CU_ASSERT(strstr(h.damage, "MDB_CORRUPTED") != NULL);
	CU_ASSERT(strstr(h.damage, "copy") != NULL);
	/* A delivery's delete reaches the page; a counter does not. */
	ops[0] = tq_one(QUEUE_OP_DELETE, "CADMV", 1, 1, 0, 0, &r);
	ops[1] = tq_op_new(QUEUE_OP_META, 1, &r);
	ops[1]->op.meta_key = "msgid";
	ops[1]->op.meta_value = 4096;
	ops[2] = tq_put(3, 300, one, NULL, 1, &r);
	ops[2]->idx = 2;
	tq_run(q, ops, 3, &r);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_DAMAGED);
	CU_ASSERT_EQUAL(r.result[1], QUEUE_E_OK);
	CU_ASSERT_EQUAL(r.result[2], QUEUE_E_DAMAGED);
	CU_ASSERT_EQUAL(queue_meta_get(q, "msgid"), 4096);
	CU_ASSERT_EQUAL(queue_health(q, &h), 1);
	queue_close(q);

	/* Opened again, the file check finds the page before LMDB reads
	 * it: the store is not opened further, nothing is read or written. */
	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(queue_health(q, &h), 1);
	CU_ASSERT(strstr(h.damage, "MDB_CORRUPTED") != NULL);
	CU_ASSERT(strstr(h.damage, "structure check") != NULL);
	CU_ASSERT(strstr(h.damage, "copy db") != NULL);
	CU_ASSERT(strstr(h.damage, "expected a leaf page") != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_IO);
	CU_ASSERT_EQUAL(queue_meta_get(q, "msgid"), 0);
	memset(&r, 0, sizeof r);
	ops[0] = tq_op_new(QUEUE_OP_META, 0, &r);
	ops[0]->op.meta_key = "msgid";
	ops[0]->op.meta_value = 8192;
	ops[1] = tq_put(4, 300, one, NULL, 1, &r);
	ops[1]->idx = 1;
	tq_run(q, ops, 2, &r);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_DAMAGED);
	CU_ASSERT_EQUAL(r.result[1], QUEUE_E_DAMAGED);
	queue_close(q);
}

/*
 * mdbcheck (mdbcheck.h) on a real store: a minimal reader of LMDB 0.9's
 * layout (64-bit, native order; see mdbcheck.c) finds the pages to damage.
 */
struct tq_lm {
	uint8_t		*m;
	size_t		 len, psize, meta;	/* meta: the newest's offset */
};

static uint8_t *
tq_lm_page(struct tq_lm *lm, uint64_t pgno)
{
	CU_ASSERT_FATAL((pgno + 1) * lm->psize <= lm->len);
	return lm->m + pgno * lm->psize;
}

/* Node i of page pg. */
static uint8_t *
tq_lm_node(uint8_t *pg, unsigned i)
{
	return pg + util_get_ne16(pg + 16 + 2 * i);
}

/* The MDB_db record of a named db in the newest snapshot. */
static uint8_t *
tq_lm_db(struct tq_lm *lm, const char *name)
{
	uint8_t		*pg, *nd;
	unsigned	 i, n;
	size_t		 klen = strlen(name);

	/* The main db of the switch's 8 dbs is one leaf. */
	pg = tq_lm_page(lm, util_get_ne64(lm->m + lm->meta + 40 + 48 + 40));
	CU_ASSERT_FATAL(util_get_ne16(pg + 10) == 0x02);
	n = (util_get_ne16(pg + 12) - 16u) / 2;
	for (i = 0; i < n; i++) {
		nd = tq_lm_node(pg, i);
		if (util_get_ne16(nd + 6) == klen &&
		    memcmp(nd + 8, name, klen) == 0)
			return nd + 8 + klen;
	}
	CU_FAIL_FATAL("named db not found");
	return NULL;
}

/* The first leaf page of a db, and its root. */
static uint64_t
tq_lm_leaf(struct tq_lm *lm, const char *name, uint64_t *root)
{
	uint8_t		*pg;
	uint64_t	 pgno;

	pgno = *root = util_get_ne64(tq_lm_db(lm, name) + 40);
	while (util_get_ne16((pg = tq_lm_page(lm, pgno)) + 10) == 0x01)
		pgno = util_get_ne16(tq_lm_node(pg, 0)) |
		    (uint64_t)util_get_ne16(tq_lm_node(pg, 0) + 2) << 16;
	return pgno;
}

enum tq_dmg {
	TQ_DMG_LEAF_HEADER, TQ_DMG_LEAF_PTRS, TQ_DMG_META_ROOT,
	TQ_DMG_BRANCH_CHILD, TQ_DMG_PGNO, TQ_DMG_OVERFLOW, TQ_DMG_DB_ROOT,
	TQ_DMG_NODE_SIZE
};

static const struct {
	enum tq_dmg	 dmg;
	const char	*name;
	const char	*why;		/* in what mdbcheck says */
} tq_dmgs[] = {
	{ TQ_DMG_LEAF_HEADER, "leaf mp_lower/mp_upper ^ 0x0f00", "mp_" },
	{ TQ_DMG_LEAF_PTRS, "leaf mp_ptrs[1..3] ^ 0x55", "" },
	{ TQ_DMG_META_ROOT, "main root -> copy root", "main db" },
	{ TQ_DMG_BRANCH_CHILD, "branch child past the end", "outside" },
	{ TQ_DMG_PGNO, "page number in a leaf header", "header says" },
	{ TQ_DMG_OVERFLOW, "overflow page made a leaf", "not an overflow" },
	{ TQ_DMG_DB_ROOT, "copy root -> msg root", "copy db" },
	{ TQ_DMG_NODE_SIZE, "leaf node data size", "" }
};

static void
test_queue_mdbcheck(void)
{
	static const char *const need[] = { "msg", "copy", "dead", "ref",
	    "audit", "meta", NULL };
	struct queue	*q;
	struct tq_op	*ops[300];
	struct tq_run	 r;
	struct tq_lm	 lm;
	const char	*one[] = { "CADMV" };
	char		 path[PATH_MAX + 16], why[400];
	uint8_t		*orig, *pg, *nd, *dbrec;
	uint64_t	 leaf, root, mroot, pgno;
	size_t		 i, j;
	unsigned	 n;

	/* No file, and a store with its dbs but no record: new, sound. */
	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	snprintf(path, sizeof path, "%s/data.mdb", tq_path);
	queue_close(q);
	CU_ASSERT_EQUAL(mdbcheck_file(path, need, why, sizeof why), 0);
	snprintf(path, sizeof path, "%s/none/data.mdb", tq_path);
	CU_ASSERT_EQUAL(mdbcheck_file(path, need, why, sizeof why), 0);

	/* 300 copies (a branch over leaves), bodies in overflow pages. */
	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	for (i = 0; i < 300; i++)
		ops[i] = tq_put(i + 1, i % 10 == 0 ? 9000 : 200, one, NULL, 1,
		    &r);
	tq_run(q, ops, 300, &r);
	queue_close(q);
	snprintf(path, sizeof path, "%s/data.mdb", tq_path);
	CU_ASSERT_EQUAL(mdbcheck_file(path, need, why, sizeof why), 0);
	if (why[0] != '\0')
		fprintf(stderr, "mdbcheck: %s\n", why);

	CU_ASSERT_FATAL((orig = (uint8_t *)util_read_file(path, &lm.len)) !=
	    NULL);
	for (i = 0; i < sizeof tq_dmgs / sizeof tq_dmgs[0]; i++) {
		lm.m = xmalloc(lm.len);
		memcpy(lm.m, orig, lm.len);
		lm.psize = (size_t)util_get_ne64(lm.m + 40) & 0xffffffff;
		lm.meta = util_get_ne64(lm.m + lm.psize + 144) >
		    util_get_ne64(lm.m + 144) ? lm.psize : 0;
		leaf = tq_lm_leaf(&lm, "copy", &root);
		CU_ASSERT_FATAL(leaf != root);		/* a branch above */
		pg = tq_lm_page(&lm, leaf);
		switch (tq_dmgs[i].dmg) {
		case TQ_DMG_LEAF_HEADER:
			pg[13] ^= 0x0f;
			pg[15] ^= 0x0f;
			break;
		case TQ_DMG_LEAF_PTRS:
			for (j = 1; j < 4; j++)
				pg[16 + 2 * j] ^= 0x55;
			break;
		case TQ_DMG_META_ROOT:
			memcpy(lm.m + lm.meta + 40 + 48 + 40, &root, 8);
			break;
		case TQ_DMG_BRANCH_CHILD:
			nd = tq_lm_node(tq_lm_page(&lm, root), 1);
			pgno = util_get_ne64(lm.m + lm.meta + 136) + 100;
			util_put_ne16(nd, (uint16_t)pgno);
			util_put_ne16(nd + 2, (uint16_t)(pgno >> 16));
			break;
		case TQ_DMG_PGNO:
			pg[0] ^= 0x01;
			break;
		case TQ_DMG_OVERFLOW:
			/* Message 1's body (9000 bytes) is in overflow pages. */
			pg = tq_lm_page(&lm, tq_lm_leaf(&lm, "msg", &mroot));
			nd = tq_lm_node(pg, 0);
			CU_ASSERT_FATAL(util_get_ne16(nd + 4) & 0x01);
			pg = tq_lm_page(&lm, util_get_ne64(nd + 8 +
			    util_get_ne16(nd + 6)));
			util_put_ne16(pg + 10, 0x02);
			break;
		case TQ_DMG_DB_ROOT:
			dbrec = tq_lm_db(&lm, "copy");
			tq_lm_leaf(&lm, "msg", &mroot);
			memcpy(dbrec + 40, &mroot, 8);
			break;
		case TQ_DMG_NODE_SIZE:
			n = (util_get_ne16(pg + 12) - 16u) / 2;
			nd = tq_lm_node(pg, n / 2);
			nd[0] ^= 0x40;
			break;
		}
		CU_ASSERT_FATAL(util_write_file(path, lm.m, lm.len) == 0);
		CU_ASSERT_EQUAL(mdbcheck_file(path, need, why, sizeof why), 1);
		CU_ASSERT(strstr(why, "page ") != NULL);
		CU_ASSERT(strstr(why, tq_dmgs[i].why) != NULL);
		if (strstr(why, "page ") == NULL ||
		    strstr(why, tq_dmgs[i].why) == NULL)
			fprintf(stderr, "mdbcheck: %s: %s\n", tq_dmgs[i].name,
			    why);
		/* Only the newest snapshot was hit: the other is sound. */
		if (tq_dmgs[i].dmg == TQ_DMG_META_ROOT)
			CU_ASSERT(strstr(why, "previous snapshot") != NULL);
		free(lm.m);
	}
	/* Sound again, and the queue opens it. */
	CU_ASSERT_FATAL(util_write_file(path, orig, lm.len) == 0);
	CU_ASSERT_EQUAL(mdbcheck_file(path, need, why, sizeof why), 0);
	free(orig);
}

/*
 * A delivery's DELETE waits (queue_set_lazy) for another op to share its
 * commit: submitted with the next PUT, the two make one commit; alone,
 * it still commits; a close does not wait for the time to run out.
 */
static void
test_queue_lazy_delete(void)
{
	struct queue		*q;
	struct queue_stats	 st0, st1;
	struct tq_op		*ops[2];
	struct tq_run		 r;
	struct tq_list		 l;
	const char		*one[] = { "CADMV" };

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(1, 200, one, NULL, 1, &r)),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(2, 200, one, NULL, 1, &r)),
	    QUEUE_E_OK);
	/* Long enough that only the PUT can end the wait. */
	queue_set_lazy(q, 60 * 1000000u);
	queue_get_stats(q, &st0);
	ops[0] = tq_one(QUEUE_OP_DELETE, "CADMV", 1, 1, 0, 0, &r);
	ops[1] = tq_put(3, 200, one, NULL, 1, &r);
	tq_run(q, ops, 2, &r);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_OK);
	CU_ASSERT_EQUAL(r.result[1], QUEUE_E_OK);
	queue_get_stats(q, &st1);
	CU_ASSERT_EQUAL(st1.commits - st0.commits, 1);
	CU_ASSERT_EQUAL(st1.ops - st0.ops, 2);
	/* Alone, it commits when the (short) wait is over. */
	queue_set_lazy(q, 1000);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 2, 0,
	    0, &r)), QUEUE_E_OK);
	/* A close commits a waiting DELETE at once. */
	queue_set_lazy(q, 60 * 1000000u);
	ops[0] = tq_one(QUEUE_OP_DELETE, "CADMV", 1, 3, 0, 0, &r);
	memset(&r, 0, sizeof r);
	ops[0]->op.arg = &r;
	queue_submit(q, &ops[0]->op);
	queue_close(q);
	CU_ASSERT_EQUAL(r.ndone, 1);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_OK);
	tq_free(ops[0]);
	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 0);
	queue_close(q);
}

/* The newest snapshot of data.mdb at tq_path, read into *lm. */
static void
tq_lm_read(struct tq_lm *lm, char *path, size_t pathsz)
{
	snprintf(path, pathsz, "%s/data.mdb", tq_path);
	CU_ASSERT_FATAL((lm->m = (uint8_t *)util_read_file(path, &lm->len)) !=
	    NULL);
	lm->psize = (size_t)util_get_ne64(lm->m + 40) & 0xffffffff;
	lm->meta = util_get_ne64(lm->m + lm->psize + 144) >
	    util_get_ne64(lm->m + 144) ? lm->psize : 0;
}

/*
 * LMDB: start-up does not read the bodies' overflow pages (it reads what
 * the queue's index needs); a damaged first page of a body is found when
 * the message is to be deleted, before LMDB frees its pages by that
 * header: the delete fails QUEUE_E_DAMAGED and the store says which
 * page, instead of LMDB putting pages in use on its free list.
 */
static void
test_queue_lazy_overflow(void)
{
	static const char *const need[] = { "msg", "copy", "dead", "ref",
	    "audit", "meta", NULL };
	struct queue		*q;
	struct queue_health	 h;
	struct queue_msgrec	 m;
	struct tq_run		 r;
	struct tq_list		 l;
	struct tq_lm		 lm;
	struct ubuf		 body;
	const char		*one[] = { "CADMV" };
	char			 path[PATH_MAX + 16], why[400];
	uint64_t		 root;
	uint8_t			*pg, *nd;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(1, 9000, one, NULL, 1, &r)),
	    QUEUE_E_OK);
	queue_close(q);
	tq_lm_read(&lm, path, sizeof path);
	pg = tq_lm_page(&lm, tq_lm_leaf(&lm, "msg", &root));
	nd = tq_lm_node(pg, 0);
	CU_ASSERT_FATAL(util_get_ne16(nd + 4) & 0x01);	/* F_BIGDATA */
	pg = tq_lm_page(&lm, util_get_ne64(nd + 8 + util_get_ne16(nd + 6)));
	CU_ASSERT_FATAL(util_get_ne16(pg + 10) == 0x04);
	util_put_ne16(pg + 12, 0);		/* mp_pages: 1 << 20 */
	util_put_ne16(pg + 14, 0x10);
	CU_ASSERT_FATAL(util_write_file(path, lm.m, lm.len) == 0);
	free(lm.m);
	/* The whole check finds it; the start-up's leaves it. */
	CU_ASSERT_EQUAL(mdbcheck_file(path, need, why, sizeof why), 1);
	CU_ASSERT(strstr(why, "mp_pages 1048576") != NULL);

	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(queue_health(q, &h), 0);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 1);
	ubuf_init(&body);
	CU_ASSERT_EQUAL(queue_get(q, 1, &m, &body), QUEUE_E_OK);
	CU_ASSERT_EQUAL(body.len, 9000);
	ubuf_free(&body);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 1, 0,
	    0, &r)), QUEUE_E_DAMAGED);
	CU_ASSERT_EQUAL(queue_health(q, &h), 1);
	CU_ASSERT(strstr(h.damage, "msg db, the body of message") != NULL);
	CU_ASSERT(strstr(h.damage, "mp_pages 1048576") != NULL);
	queue_close(q);
	/* Nothing was freed by the damaged header: the copy is still
	 * there, and LMDB's own tree is as it was. */
	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 1);
	queue_close(q);
}

/*
 * LMDB: the audit trail's tree is checked by a thread of its own after
 * the open (start-up walks only its last pages, where appends go): its
 * readers wait for that check, and damage it finds (here on the first
 * leaf, which no append reads) marks the store damaged as at start-up,
 * while the queue itself loaded and appends to the trail go on.
 */
static void
test_queue_audit_check(void)
{
	struct queue		*q;
	struct queue_health	 h;
	struct tq_op		*ops[400];
	struct tq_run		 r;
	struct tq_list		 l;
	struct tq_audit		 a;
	struct tq_lm		 lm;
	const char		*one[] = { "CADMV" };
	char			 path[PATH_MAX + 16], rec[300];
	uint64_t		 root, leaf;
	uint8_t			*pg;
	int			 i;

	memset(rec, 'a', sizeof rec - 1);
	rec[sizeof rec - 1] = '\0';
	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	for (i = 0; i < 400; i++) {
		ops[i] = tq_put((uint64_t)i + 1, 100, one, NULL, 1, &r);
		ops[i]->op.audit = rec;
	}
	tq_run(q, ops, 400, &r);
	queue_close(q);

	/* Sound: readers see the whole trail. */
	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL(a.n, 400);
	CU_ASSERT_EQUAL(queue_health(q, &h), 0);
	queue_close(q);

	tq_lm_read(&lm, path, sizeof path);
	leaf = tq_lm_leaf(&lm, "audit", &root);
	CU_ASSERT_FATAL(leaf != root);		/* a branch above */
	pg = tq_lm_page(&lm, leaf);
	pg[16 + 2] ^= 0x55;			/* a node offset */
	CU_ASSERT_FATAL(util_write_file(path, lm.m, lm.len) == 0);
	free(lm.m);

	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL(l.n, 400);
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(q, 0, tq_audit_cb, &a), QUEUE_E_IO);
	CU_ASSERT_EQUAL(a.n, 0);
	CU_ASSERT_EQUAL(queue_health(q, &h), 1);
	CU_ASSERT(strstr(h.damage, "audit db") != NULL);
	queue_close(q);
}

/* The raw copy record of (line, prio, msgid, copy), into v (52 bytes). */
static int
tq_copy_raw(const char *line, uint8_t prio, uint64_t msgid, uint16_t copy,
    uint8_t *out, size_t outsz)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k, v;
	uint8_t		 kb[19];
	int		 rc = -1;

	if (tq_lmdb_open(&env, &txn, "copy", &dbi) != 0)
		return -1;
	tq_copy_key(kb, line, prio, msgid, copy);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	if (mdb_get(txn, dbi, &k, &v) == 0 && v.mv_size <= outsz) {
		memcpy(out, v.mv_data, v.mv_size);
		rc = (int)v.mv_size;
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return rc;
}

/*
 * LMDB: the copy flags are byte 3 of the copy record, a byte every
 * record written before them has zero, so old stores read as "no
 * flags"; the record carries its message's sender line at 48 (60 bytes
 * since 0.3.1), which load() reports without reading the message.
 */
static void
test_queue_copy_flags_layout(void)
{
	struct queue	*q;
	struct tq_op	*t;
	struct tq_run	 r;
	struct tq_list	 l;
	const char	*lines[] = { "CADMV", "TXDMV" };
	uint8_t		 v[64];

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	t = tq_put(12, 500, lines, NULL, 2, &r);
	t->copies[1].flags = QUEUE_COPY_NOIMQ;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	queue_close(q);
	CU_ASSERT_EQUAL_FATAL(tq_copy_raw("CADMV", 1, 12, 0, v, sizeof v), 60);
	CU_ASSERT_EQUAL(v[0], 2);
	CU_ASSERT_EQUAL(v[3], 0);
	CU_ASSERT_EQUAL(v[21], 0);
	CU_ASSERT(memcmp(v + 48, "WAAGENCY", 8) == 0);
	CU_ASSERT_EQUAL_FATAL(tq_copy_raw("TXDMV", 1, 12, 1, v, sizeof v), 60);
	CU_ASSERT_EQUAL(v[0], 2);
	CU_ASSERT_EQUAL(v[3], QUEUE_COPY_NOIMQ);
	/* Reopened: what load() reports. */
	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_EQUAL(l.c[0].flags, 0);
	CU_ASSERT_EQUAL(l.c[1].flags, QUEUE_COPY_NOIMQ);
	CU_ASSERT_STRING_EQUAL(l.c[0].from_line, "WAAGENCY");
	CU_ASSERT_STRING_EQUAL(l.c[1].from_line, "WAAGENCY");
	queue_close(q);
}

/* Cut the copy record of (line, 1, msgid, copy) back to the layout of
 * stores before 0.3.1: 52 bytes, sealed at 48 (XXH3, as now). */
static void
tq_copy_to_old(const char *line, uint64_t msgid, uint16_t copy)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k, v;
	uint8_t		 kb[19], rec[52];

	memset(kb, 0, sizeof kb);
	memcpy(kb, line, strlen(line));
	kb[8] = 1;
	util_put_be64(kb + 9, msgid);
	util_put_be16(kb + 17, copy);
	CU_ASSERT_FATAL(tq_lmdb_open(&env, &txn, "copy", &dbi) == 0);
	k.mv_size = sizeof kb;
	k.mv_data = kb;
	CU_ASSERT_FATAL(mdb_get(txn, dbi, &k, &v) == 0);
	CU_ASSERT_FATAL(v.mv_size == 60);
	memcpy(rec, v.mv_data, 48);
	util_put_be32(rec + 48, (uint32_t)XXH3_64bits_withSeed(rec, 48,
	    XXH3_64bits(kb, sizeof kb)));
	v.mv_size = sizeof rec;
	v.mv_data = rec;
	CU_ASSERT(mdb_put(txn, dbi, &k, &v, 0) == 0);
	CU_ASSERT_FATAL(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
}

/*
 * LMDB: a copy record of the old length still loads, its sender line
 * read from its message; dead-lettered and requeued, it is written
 * whole again with the line.
 */
static void
test_queue_copy_old_layout(void)
{
	struct queue	*q;
	struct tq_op	*t;
	struct tq_run	 r;
	struct tq_list	 l;
	const char	*lines[] = { "CADMV", "TXDMV" };
	uint8_t		 v[64];

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	t = tq_put(12, 500, lines, NULL, 2, &r);
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	queue_close(q);
	tq_copy_to_old("CADMV", 12, 0);
	CU_ASSERT_EQUAL_FATAL(tq_copy_raw("CADMV", 1, 12, 0, v, sizeof v), 52);
	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	CU_ASSERT_EQUAL(tq_load(q, &l), QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "CADMV");
	CU_ASSERT_STRING_EQUAL(l.c[0].from_line, "WAAGENCY");
	CU_ASSERT_STRING_EQUAL(l.c[1].from_line, "WAAGENCY");
	/* Through the dead letters and back: the new length. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_EXPIRE, "CADMV", 1, 12, 0,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_REQUEUE, "", 0, 12, 0, 0,
	    &r)), QUEUE_E_OK);
	queue_close(q);
	CU_ASSERT_EQUAL_FATAL(tq_copy_raw("CADMV", 1, 12, 0, v, sizeof v), 60);
	CU_ASSERT(memcmp(v + 48, "WAAGENCY", 8) == 0);
}

/*
 * Records of version 1 (CRC-32 checksums, older stores) are still read;
 * a version byte changed without its checksum is caught either way.
 */
static void
test_queue_v1(void)
{
	struct queue		*q;
	struct queue_msgrec	 m;
	struct tq_run		 r;
	struct tq_op		*ops[3];
	struct ubuf		 body1, body2;
	const char		*lines[] = { "CADMV" };
	uint64_t		 id;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	for (id = 1; id <= 3; id++)
		ops[id - 1] = tq_put(id, 3000, lines, NULL, 1, &r);
	tq_run(q, ops, 3, &r);
	ubuf_init(&body1);
	CU_ASSERT_EQUAL(queue_get(q, 1, &m, &body1), QUEUE_E_OK);
	queue_close(q);

	/* 1: rewritten as version 1 would have sealed it; 2: the version
	 * byte only. */
	tq_msg_rewrite(1, tq_edit_v1);
	tq_msg_rewrite(2, tq_edit_version);

	CU_ASSERT_FATAL((q = tq_open(0, 1)) != NULL);
	ubuf_init(&body2);
	CU_ASSERT_EQUAL(queue_get(q, 1, &m, &body2), QUEUE_E_OK);
	CU_ASSERT_EQUAL(m.msgid, 1);
	CU_ASSERT_EQUAL_FATAL(body2.len, body1.len);
	CU_ASSERT(memcmp(body1.data, body2.data, body1.len) == 0);
	CU_ASSERT_EQUAL(queue_get(q, 2, &m, NULL), QUEUE_E_CORRUPT);
	CU_ASSERT_EQUAL(queue_get(q, 3, &m, NULL), QUEUE_E_OK);
	queue_close(q);
	ubuf_free(&body1);
	ubuf_free(&body2);
}

/* 1 if the file at path contains needle[0..n). */
static int
tq_file_has(const char *path, const void *needle, size_t n)
{
	size_t	 len;
	char	*data = util_read_file(path, &len);
	int	 found;

	if (data == NULL)
		return -1;
	found = memmem(data, len, needle, n) != NULL;
	free(data);
	return found;
}

/*
 * LMDB: the body of a photo message does not survive its deletion in
 * data.mdb (not even in free pages), and a read-only open next to the
 * writer sees the audit trail.
 */
static void
test_queue_wipe_rdonly(void)
{
	struct queue	*q, *ro;
	struct tq_op	*t;
	struct tq_run	 r;
	struct tq_audit	 a;
	const char	*lines[] = { "CADMV", "ORAGY" };
	char		 file[PATH_MAX + 16], *cause = NULL;
	uint8_t		 needle[64];
	size_t		 i;

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	snprintf(file, sizeof file, "%s/data.mdb", tq_path);
	t = tq_put(5, TQ_BIG, lines, NULL, 2, &r);
	t->op.msg.flags = QUEUE_MSG_PHOTO;
	t->op.audit = "{\"event\":\"accepted\"}";
	for (i = 0; i < sizeof needle; i++)
		needle[i] = (uint8_t)t->body[TQ_BIG / 2 + i];
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_file_has(file, needle, sizeof needle), 1);

	/* A tool opens it read-only while the writer keeps it open. */
	ro = queue_open_rdonly(tq_be, tq_path, &cause);
	CU_ASSERT_FATAL(ro != NULL);
	memset(&a, 0, sizeof a);
	CU_ASSERT_EQUAL(queue_walk_audit(ro, 0, tq_audit_cb, &a), QUEUE_E_OK);
	CU_ASSERT_EQUAL(a.n, 1);
	queue_close(ro);

	/* One copy delivered: the body is still needed. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 5, 0,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_file_has(file, needle, sizeof needle), 1);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "ORAGY", 1, 5, 1,
	    0, &r)), QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_file_has(file, needle, sizeof needle), 0);
	queue_close(q);
	CU_ASSERT_EQUAL(tq_file_has(file, needle, sizeof needle), 0);
}

/* Collect state records. */
struct tq_state {
	int	n;
	char	key[8][64];
	char	val[8][64];
};

static int
tq_state_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	struct tq_state *st = arg;

	if (st->n < 8) {
		snprintf(st->key[st->n], sizeof st->key[0], "%.*s", (int)klen,
		    key);
		snprintf(st->val[st->n], sizeof st->val[0], "%.*s", (int)len,
		    (const char *)val);
	}
	st->n++;
	return 0;
}

/* State records go with their op: written when it succeeds, not else. */
static void
test_queue_state(void)
{
	struct queue		*q;
	struct tq_op		*t;
	struct tq_run		 r;
	struct tq_state		 st;
	const char		*lines[] = { "CADMV" };
	struct queue_state	 put[] = {
		{ "photo/1/CADMV", "100 WA0340000 C1", 16 },
		{ "photo/1/NVDMV", "100 WA0340000 C1", 16 },
		{ "other/x", "y", 1 }
	};
	struct queue_state	 del[] = { { "photo/1/CADMV", NULL, 0 } };

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	t = tq_put(1, 10, lines, NULL, 1, &r);
	t->op.states = put;
	t->op.nstates = 3;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	memset(&st, 0, sizeof st);
	CU_ASSERT_EQUAL(queue_walk_state(q, "photo/", tq_state_cb, &st),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL_FATAL(st.n, 2);
	CU_ASSERT_STRING_EQUAL(st.val[0], "100 WA0340000 C1");

	/* A DELETE that finds nothing writes no state either. */
	t = tq_one(QUEUE_OP_DELETE, "CADMV", 1, 99, 0, 0, &r);
	t->op.states = del;
	t->op.nstates = 1;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_NOTFOUND);
	memset(&st, 0, sizeof st);
	queue_walk_state(q, "photo/", tq_state_cb, &st);
	CU_ASSERT_EQUAL(st.n, 2);

	t = tq_op_new(QUEUE_OP_STATE, 0, &r);
	t->op.ncopies = 0;
	t->op.copies = NULL;
	t->op.states = del;
	t->op.nstates = 1;
	CU_ASSERT_EQUAL(tq_run1(q, t), QUEUE_E_OK);
	memset(&st, 0, sizeof st);
	queue_walk_state(q, "photo/", tq_state_cb, &st);
	CU_ASSERT_EQUAL_FATAL(st.n, 1);
	CU_ASSERT_STRING_EQUAL(st.key[0], "photo/1/NVDMV");
	memset(&st, 0, sizeof st);
	queue_walk_state(q, "", tq_state_cb, &st);
	CU_ASSERT_EQUAL(st.n, 2);
	queue_close(q);
}

/* Lines in a file (0 if it cannot be read). */
static int
tq_count_lines(const char *path)
{
	FILE	*fp = fopen(path, "r");
	int	 c, n = 0;

	if (fp == NULL)
		return 0;
	while ((c = fgetc(fp)) != EOF)
		n += c == '\n';
	fclose(fp);
	return n;
}

/* The archive file of today (UTC), as queue_lmdb names it. */
static void
tq_archive_path(char *buf, size_t sz, const char *dir)
{
	struct tm	tm;
	time_t		now = time(NULL);

	gmtime_r(&now, &tm);
	snprintf(buf, sz, "%s/audit-%04d%02d%02d.jsonl", dir,
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/*
 * The audit trail has a budget of its own: far more audit than the store
 * holds is written, the oldest records are pruned (into the archive) and
 * traffic is never refused for it; an archive that cannot be written
 * stops the audit (QUEUE_E_AUDIT, health audit-full) but not deletes.
 */
static void
test_queue_audit_budget(void)
{
	struct queue		*q;
	struct queue_conf	 qc;
	struct queue_stats	 qs;
	struct tq_op		*ops[64];
	struct tq_run		 r;
	const char		*lines[] = { "CADMV" };
	char			 archive[PATH_MAX - 64], file[PATH_MAX];
	char			 rec[300];
	int			 i, j, round, bad = 0;

	snprintf(archive, sizeof archive, "%s/archive", tq_dir);
	CU_ASSERT_FATAL(mkdir(archive, 0700) == 0);
	CU_ASSERT_FATAL((q = tq_open(4 << 20, 0)) != NULL);
	memset(&qc, 0, sizeof qc);
	qc.audit_budget = 1 << 20;
	qc.archive = archive;
	queue_configure(q, &qc);
	memset(rec, 'a', sizeof rec);
	rec[sizeof rec - 1] = '\0';

	/* 48,000 records of 300 bytes: 14 MB of audit in a 4 MB store. */
	for (round = 0; round < 750; round++) {
		for (j = 0; j < 64; j++) {
			ops[j] = tq_op_new(QUEUE_OP_AUDIT, j, &r);
			ops[j]->op.audit = rec;
		}
		tq_run(q, ops, 64, &r);
		for (j = 0; j < 64; j++)
			bad += r.result[j] != QUEUE_E_OK;
	}
	CU_ASSERT_EQUAL(bad, 0);
	queue_get_stats(q, &qs);
	CU_ASSERT_EQUAL(qs.space, QUEUE_SPACE_OK);
	CU_ASSERT(qs.audit_bytes <= qs.audit_budget + (64 << 10));
	CU_ASSERT(qs.audit_budget == 1 << 20);
	CU_ASSERT(qs.audit_pruned_size > 40000);
	CU_ASSERT_EQUAL(qs.audit_archived, qs.audit_pruned_size);
	tq_archive_path(file, sizeof file, archive);
	CU_ASSERT_EQUAL((uint64_t)tq_count_lines(file), qs.audit_archived);
	CU_ASSERT_EQUAL(qs.audit_pruned_size + qs.audit_records, 48000);

	/* Traffic still has its room: 2 MB of 50 KB bodies. */
	for (i = 1; i <= 40; i++)
		CU_ASSERT_EQUAL(tq_run1(q, tq_put((uint64_t)i, TQ_BIG, lines,
		    NULL, 1, &r)), QUEUE_E_OK);

	/* An archive that cannot be written: the audit stops. */
	snprintf(file, sizeof file, "%s/not-a-dir", tq_dir);
	fclose(fopen(file, "w"));
	qc.archive = file;
	queue_configure(q, &qc);
	for (round = 0, bad = 0; round < 100 && !bad; round++) {
		for (j = 0; j < 64; j++) {
			ops[j] = tq_op_new(QUEUE_OP_AUDIT, j, &r);
			ops[j]->op.audit = rec;
		}
		tq_run(q, ops, 64, &r);
		bad = r.result[63] == QUEUE_E_AUDIT;
	}
	CU_ASSERT_EQUAL(bad, 1);
	queue_get_stats(q, &qs);
	CU_ASSERT_EQUAL(qs.space, QUEUE_SPACE_AUDIT);
	CU_ASSERT_PTR_NOT_NULL(strstr(qs.space_cause, "not-a-dir"));
	ops[0] = tq_put(100, 10, lines, NULL, 1, &r);
	ops[0]->op.audit = "{\"ev\":\"put\"}";
	tq_run(q, ops, 1, &r);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_AUDIT);
	/* Deletes (with their audit) still commit. */
	ops[0] = tq_one(QUEUE_OP_DELETE, "CADMV", 1, 1, 0, 0, &r);
	ops[0]->op.audit = "{\"ev\":\"delivered\"}";
	tq_run(q, ops, 1, &r);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_OK);

	/* No archive: pruning resumes, the audit is back. */
	qc.archive = NULL;
	queue_configure(q, &qc);
	ops[0] = tq_op_new(QUEUE_OP_AUDIT, 0, &r);
	ops[0]->op.audit = rec;
	tq_run(q, ops, 1, &r);
	ops[0] = tq_op_new(QUEUE_OP_AUDIT, 0, &r);
	ops[0]->op.audit = rec;
	tq_run(q, ops, 1, &r);
	CU_ASSERT_EQUAL(r.result[0], QUEUE_E_OK);
	queue_get_stats(q, &qs);
	CU_ASSERT_EQUAL(qs.space, QUEUE_SPACE_OK);
	queue_close(q);
}

/* The reserve is left to notices (SM/ER: QUEUE_PRIO_HIGH copies). */
static void
test_queue_reserve(void)
{
	struct queue		*q;
	struct queue_conf	 qc;
	struct tq_run		 r;
	const char		*lines[] = { "CADMV" };
	const uint8_t		 high[] = { QUEUE_PRIO_HIGH };
	uint64_t		 id;
	int			 res = QUEUE_E_OK;

	CU_ASSERT_FATAL((q = tq_open(2 << 20, 0)) != NULL);
	memset(&qc, 0, sizeof qc);
	qc.reserve = 256 << 10;
	queue_configure(q, &qc);
	for (id = 1; id < 100 && res == QUEUE_E_OK; id++)
		res = tq_run1(q, tq_put(id, TQ_BIG, lines, NULL, 1, &r));
	CU_ASSERT_EQUAL_FATAL(res, QUEUE_E_FULL);
	CU_ASSERT(id > 20);
	for (res = QUEUE_E_OK; id < 1000 && res == QUEUE_E_OK; id++)
		res = tq_run1(q, tq_put(id, 2000, lines, NULL, 1, &r));
	CU_ASSERT_EQUAL_FATAL(res, QUEUE_E_FULL);
	/* Traffic is full; notices still fit, a few of them. */
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(1000, 2000, lines, NULL, 1, &r)),
	    QUEUE_E_FULL);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(1001, 2000, lines, high, 1, &r)),
	    QUEUE_E_OK);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(1002, 2000, lines, high, 1, &r)),
	    QUEUE_E_OK);
	queue_close(q);
}

/*
 * A queue in a tmpfs of mb MB mounted at tq_dir/name (its path into mnt),
 * with a 256 KB reserve; NULL when no tmpfs can be mounted (not root):
 * the caller skips its test.
 */
static struct queue *
tq_open_tmpfs(const char *name, int mb, char *mnt, size_t mntsz)
{
	struct queue		*q;
	struct queue_conf	 qc;
	char			 cmd[PATH_MAX];

	snprintf(mnt, mntsz, "%s/%s", tq_dir, name);
	CU_ASSERT_FATAL(mkdir(mnt, 0700) == 0);
	snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=%dm tmpfs %s "
	    "2>/dev/null", mb, mnt);
	if (geteuid() != 0 || system(cmd) != 0) {
		fprintf(stderr, "\n  skipped: cannot mount a small tmpfs "
		    "(needs root)\n");
		return NULL;
	}
	snprintf(tq_path, sizeof tq_path, "%s/q", mnt);
	q = queue_open(tq_be, tq_path, 64 << 20, tq_base, &(char *){ NULL });
	CU_ASSERT_FATAL(q != NULL);
	memset(&qc, 0, sizeof qc);
	qc.reserve = 256 << 10;
	queue_configure(q, &qc);
	return q;
}

/* Run the loop until the store finds its space again (or TQ_WAIT_US). */
static void
tq_wait_space_ok(struct queue *q, struct queue_stats *qs)
{
	uint64_t	 deadline = util_mono_us() + TQ_WAIT_US;

	do {
		event_base_loop(tq_base, EVLOOP_ONCE);
		queue_get_stats(q, qs);
	} while (qs->space != QUEUE_SPACE_OK && util_mono_us() < deadline);
}

/*
 * A full file system is a full store, and heals: a tmpfs of 3 MB under a
 * 64 MB map fills with 50 KB messages; PUTs are refused (QUEUE_E_FULL,
 * health no-space), deletes still commit, and once they freed space the
 * store is healthy and takes messages again, with nothing failed as I/O.
 * Needs root for the mount; skipped with a message otherwise.
 */
static void
test_queue_nospace(void)
{
	struct queue		*q;
	struct queue_stats	 qs;
	struct tq_run		 r;
	const char		*lines[] = { "CADMV" };
	char			 mnt[PATH_MAX - 64], cmd[PATH_MAX];
	uint64_t		 id, n, stored = 0;
	int			 res = QUEUE_E_OK;

	if ((q = tq_open_tmpfs("small", 3, mnt, sizeof mnt)) == NULL)
		return;
	for (id = 1; id < 200 && res == QUEUE_E_OK; id++) {
		res = tq_run1(q, tq_put(id, TQ_BIG, lines, NULL, 1, &r));
		if (res == QUEUE_E_OK)
			stored++;
	}
	CU_ASSERT_EQUAL(res, QUEUE_E_FULL);
	CU_ASSERT(stored >= 10 && stored < 60);
	queue_get_stats(q, &qs);
	CU_ASSERT_EQUAL(qs.space, QUEUE_SPACE_NOSPACE);
	CU_ASSERT_PTR_NOT_NULL(strstr(qs.space_cause, "file system"));
	/* Deliveries free the space: every delete commits. */
	for (n = 1; n <= stored; n++)
		CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1,
		    n, 0, 0, &r)), QUEUE_E_OK);
	/* Healthy again on its own (the re-check), then takes messages. */
	tq_wait_space_ok(q, &qs);
	CU_ASSERT_EQUAL(qs.space, QUEUE_SPACE_OK);
	for (n = 0; n < stored / 2; n++)
		CU_ASSERT_EQUAL(tq_run1(q, tq_put(1000 + n, TQ_BIG, lines, NULL,
		    1, &r)), QUEUE_E_OK);
	queue_get_stats(q, &qs);
	CU_ASSERT_EQUAL(qs.space, QUEUE_SPACE_OK);
	queue_close(q);
	snprintf(cmd, sizeof cmd, "umount %s", mnt);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

/*
 * Fill and drain a full file system again and again, with new messages
 * arriving while the destination drains (as senders do): every round
 * must find its room again. 8 MB tmpfs, 8 KB messages, batches of 32.
 */
static void
test_queue_nospace_rounds(void)
{
	struct queue		*q;
	struct queue_stats	 qs;
	struct tq_op		*ops[64];
	struct tq_run		 r;
	const char		*lines[] = { "CADMV" };
	char			 mnt[PATH_MAX - 64], cmd[PATH_MAX];
	uint64_t		 next = 1, lo = 1;
	int			 round, i, n, stored, full, io = 0;

	if ((q = tq_open_tmpfs("rounds", 8, mnt, sizeof mnt)) == NULL)
		return;
	for (round = 0; round < 5; round++) {
		/* Fill until a whole batch is refused. */
		for (stored = 0, full = 0; !full && next < 100000; ) {
			for (n = 0; n < 32; n++)
				ops[n] = tq_put(next + n, 9500, lines, NULL, 1,
				    &r);
			tq_run(q, ops, 32, &r);
			for (n = 0, full = 1; n < 32; n++) {
				io += r.result[n] == QUEUE_E_IO;
				if (r.result[n] == QUEUE_E_OK) {
					stored++;
					full = 0;
				}
			}
			/* Refused ones leave a gap in the ids: fine. */
			next += 32;
		}
		if (stored < 50)
			fprintf(stderr, "\nround %d: only %d stored\n", round,
			    stored);
		CU_ASSERT(stored >= 50);
		/* Drain everything, 32 deletes and 8 new PUTs a batch. */
		for (; lo < next; lo += 32) {
			for (i = 0; i < 32; i++)
				ops[i] = tq_one(QUEUE_OP_DELETE, "CADMV", 1,
				    lo + (uint64_t)i, 0, i, &r);
			for (i = 32; i < 64; i++)
				ops[i] = tq_put(1000000 * (uint64_t)(round + 1)
				    + lo + (uint64_t)i, 9500, lines, NULL, 1,
				    &r);
			tq_run(q, ops, 64, &r);
			for (i = 0; i < 64; i++)
				io += r.result[i] == QUEUE_E_IO;
		}
		/* The drain's own PUTs: delete what got in, then 20 new
		 * messages must all be taken. */
		{
			struct tq_list l;
			int k, ok = 0;

			for (k = 0; k < 100; k++) {
				tq_load(q, &l);
				if (l.n == 0)
					break;
				for (i = 0; i < l.n && i < 64; i++)
					tq_run1(q, tq_one(QUEUE_OP_DELETE,
					    "CADMV", 1, l.c[i].msgid, 0, 0,
					    &r));
			}
			for (i = 0; i < 20; i++)
				ops[i] = tq_put(5000000 * (uint64_t)(round + 1)
				    + (uint64_t)i, 9500, lines, NULL, 1, &r);
			tq_run(q, ops, 20, &r);
			for (i = 0; i < 20; i++)
				ok += r.result[i] == QUEUE_E_OK;
			if (ok != 20)
				fprintf(stderr, "\nround %d: after the drain "
				    "%d of 20 taken\n", round, ok);
			CU_ASSERT_EQUAL(ok, 20);
			for (i = 0; i < 20; i++)
				tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1,
				    5000000 * (uint64_t)(round + 1) +
				    (uint64_t)i, 0, 0, &r));
		}
		tq_wait_space_ok(q, &qs);
		{
			struct tq_list l;

			tq_load(q, &l);
			for (i = 0; i < l.n && i < 64; i++)
				CU_ASSERT_EQUAL(tq_run1(q, tq_one(
				    QUEUE_OP_DELETE, "CADMV", 1, l.c[i].msgid,
				    0, 0, &r)), QUEUE_E_OK);
		}
	}
	CU_ASSERT_EQUAL(io, 0);
	queue_close(q);
	if (getenv("TQ_KEEP_MOUNT") == NULL) {
		snprintf(cmd, sizeof cmd, "umount %s", mnt);
		CU_ASSERT_EQUAL(system(cmd), 0);
	} else
		fprintf(stderr, "\nkept %s\n", mnt);
}

/*
 * Budgets set on a backend that takes none (ram, rabbitmq) are kept by
 * the queue and change nothing: ops still commit (the commit thread used
 * to spin on the unapplied budgets, holding the queue's lock).
 */
static void
test_queue_configure(void)
{
	struct queue		*q;
	struct queue_conf	 conf = { 4 << 20, 1 << 20, NULL };
	struct tq_run		 r;
	const char		*lines[] = { "CADMV" };

	CU_ASSERT_FATAL((q = tq_open(0, 0)) != NULL);
	queue_configure(q, &conf);
	CU_ASSERT_EQUAL(tq_run1(q, tq_put(1, 100, lines, NULL, 1, &r)),
	    QUEUE_E_OK);
	queue_configure(q, &conf);
	CU_ASSERT_EQUAL(tq_run1(q, tq_one(QUEUE_OP_DELETE, "CADMV", 1, 1, 0,
	    0, &r)), QUEUE_E_OK);
	queue_close(q);
}

/* Table of queue_ram_add_copy: the rabbitmq backend's view of deliveries. */
static void
test_queue_ram_add_copy(void)
{
	static const struct {
		uint64_t	msgid;
		uint16_t	copy;
		const char	*line;
		int		dead;
		int		want;		/* 0 added, 1 there already */
		size_t		nmsgs_after;	/* queue_usage counts them */
	} t[] = {
		{ 7, 0, "CADMV", 0, 0, 1 },	/* new message */
		{ 7, 1, "NVDMV", 0, 0, 1 },	/* its second copy */
		{ 7, 0, "CADMV", 0, 1, 1 },	/* the same again */
		{ 7, 2, "ORAGY", 1, 0, 1 },	/* a dead copy of it */
		{ 7, 2, "ORAGY", 0, 1, 1 },	/* ... is not queued too */
		{ 8, 0, "CADMV", 1, 0, 2 },	/* a message only dead */
	};
	void			*v;
	char			*cause = NULL;
	struct queue_msgrec	 rec, got;
	struct queue_copy	 c;
	struct tq_list		 l;
	struct ubuf		 body;
	size_t			 i;

	CU_ASSERT_FATAL((v = queue_backend_ram.open(NULL, 0, &cause)) != NULL);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&rec, 0, sizeof rec);
		rec.msgid = t[i].msgid;
		util_strlcpy(rec.ctl, "C1", sizeof rec.ctl);
		tq_copy(&c, t[i].line, 1, t[i].msgid, t[i].copy);
		CU_ASSERT_EQUAL(queue_ram_add_copy(v, &rec, "body", 4, &c,
		    t[i].dead), t[i].want);
	}
	memset(&l, 0, sizeof l);
	queue_backend_ram.load(v, tq_list_cb, &l);
	CU_ASSERT_EQUAL(l.n, 2);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "CADMV");
	CU_ASSERT_STRING_EQUAL(l.c[1].line, "NVDMV");
	memset(&l, 0, sizeof l);
	queue_backend_ram.walk_dead(v, tq_list_cb, &l);
	CU_ASSERT_EQUAL(l.n, 2);
	ubuf_init(&body);
	CU_ASSERT_EQUAL(queue_backend_ram.get(v, 8, &got, &body), QUEUE_E_OK);
	CU_ASSERT(body.len == 4 && memcmp(body.data, "body", 4) == 0);
	ubuf_free(&body);
	queue_backend_ram.close(v);
}

/*
 * A line that goes down at a cluster node leaves its view: every copy of
 * that line goes, the others stay in their order, and a message goes
 * with its last copy.
 */
static void
test_queue_ram_drop_line(void)
{
	static const struct {
		uint64_t	msgid;
		uint16_t	copy;
		const char	*line;
	} t[] = {
		{ 1, 0, "CADMV" }, { 2, 0, "NVDMV" }, { 3, 0, "CADMV" },
		{ 3, 1, "ORAGY" }, { 4, 0, "CADMV" }, { 5, 0, "WAAGY" },
	};
	static const uint64_t kept[] = { 2, 3, 5 }, gone[] = { 1, 4 };
	void			*v;
	char			*cause = NULL;
	struct queue_msgrec	 rec;
	struct queue_copy	 c;
	struct tq_list		 l;
	size_t			 i;

	CU_ASSERT_FATAL((v = queue_backend_ram.open(NULL, 0, &cause)) != NULL);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		memset(&rec, 0, sizeof rec);
		rec.msgid = t[i].msgid;
		tq_copy(&c, t[i].line, 1, t[i].msgid, t[i].copy);
		CU_ASSERT_EQUAL(queue_ram_add_copy(v, &rec, "body", 4, &c, 0),
		    0);
	}
	CU_ASSERT_EQUAL(queue_ram_drop_line(v, "CADMV"), 3);
	CU_ASSERT_EQUAL(queue_ram_drop_line(v, "CADMV"), 0);
	memset(&l, 0, sizeof l);
	queue_backend_ram.load(v, tq_list_cb, &l);
	CU_ASSERT_EQUAL_FATAL(l.n, 3);
	CU_ASSERT_STRING_EQUAL(l.c[0].line, "NVDMV");
	CU_ASSERT_STRING_EQUAL(l.c[1].line, "ORAGY");
	CU_ASSERT_STRING_EQUAL(l.c[2].line, "WAAGY");
	for (i = 0; i < sizeof kept / sizeof kept[0]; i++)
		CU_ASSERT_EQUAL(queue_backend_ram.get(v, kept[i], &rec, NULL),
		    QUEUE_E_OK);
	for (i = 0; i < sizeof gone / sizeof gone[0]; i++)
		CU_ASSERT_EQUAL(queue_backend_ram.get(v, gone[i], &rec, NULL),
		    QUEUE_E_NOTFOUND);
	queue_backend_ram.close(v);
}

#define TQ_COMMON(s) \
	(CU_ADD_TEST(s, test_queue_put_load_order) == NULL || \
	CU_ADD_TEST(s, test_queue_get_intact) == NULL || \
	CU_ADD_TEST(s, test_queue_delete_refcount) == NULL || \
	CU_ADD_TEST(s, test_queue_expire_requeue_purge) == NULL || \
	CU_ADD_TEST(s, test_queue_copy_flags) == NULL || \
	CU_ADD_TEST(s, test_queue_group_commit) == NULL || \
	CU_ADD_TEST(s, test_queue_audit) == NULL || \
	CU_ADD_TEST(s, test_queue_audit_prune) == NULL || \
	CU_ADD_TEST(s, test_queue_meta) == NULL || \
	CU_ADD_TEST(s, test_queue_invalid) == NULL || \
	CU_ADD_TEST(s, test_queue_ids) == NULL || \
	CU_ADD_TEST(s, test_queue_close_pending) == NULL || \
	CU_ADD_TEST(s, test_queue_full) == NULL || \
	CU_ADD_TEST(s, test_queue_configure) == NULL || \
	CU_ADD_TEST(s, test_queue_state) == NULL)

int
test_queue_register(void)
{
	CU_pSuite s;

	s = CU_add_suite("queue_ram", tq_suite_init_ram, tq_suite_cleanup);
	if (s == NULL || TQ_COMMON(s) ||
	    CU_ADD_TEST(s, test_queue_ram_add_copy) == NULL ||
	    CU_ADD_TEST(s, test_queue_ram_drop_line) == NULL)
		return -1;
	s = CU_add_suite("queue_lmdb", tq_suite_init_lmdb, tq_suite_cleanup);
	if (s == NULL || TQ_COMMON(s))
		return -1;
	if (CU_ADD_TEST(s, test_queue_reopen) == NULL ||
	    CU_ADD_TEST(s, test_queue_corrupt) == NULL ||
	    CU_ADD_TEST(s, test_queue_salvage) == NULL ||
	    CU_ADD_TEST(s, test_queue_copies_lost) == NULL ||
	    CU_ADD_TEST(s, test_queue_expire_damaged) == NULL ||
	    CU_ADD_TEST(s, test_queue_damage) == NULL ||
	    CU_ADD_TEST(s, test_queue_mdbcheck) == NULL ||
	    CU_ADD_TEST(s, test_queue_v1) == NULL ||
	    CU_ADD_TEST(s, test_queue_copy_flags_layout) == NULL ||
	    CU_ADD_TEST(s, test_queue_copy_old_layout) == NULL ||
	    CU_ADD_TEST(s, test_queue_lazy_overflow) == NULL ||
	    CU_ADD_TEST(s, test_queue_audit_check) == NULL ||
	    CU_ADD_TEST(s, test_queue_lazy_delete) == NULL ||
	    CU_ADD_TEST(s, test_queue_wipe_rdonly) == NULL ||
	    CU_ADD_TEST(s, test_queue_audit_budget) == NULL ||
	    CU_ADD_TEST(s, test_queue_reserve) == NULL ||
	    CU_ADD_TEST(s, test_queue_nospace) == NULL ||
	    CU_ADD_TEST(s, test_queue_nospace_rounds) == NULL)
		return -1;
	return 0;
}
