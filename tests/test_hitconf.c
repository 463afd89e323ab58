/*
 * test_hitconf - hit confirmation pairing and timers (hitconf.h) on a
 * real LMDB store in a fresh mkdtemp directory (removed after): the
 * records a YQ and a YR write, the second request and SM .11. when the
 * priority's time runs out, SM .12. after the second request's time,
 * the timers read back by a new table ("restart"), a YR that clears
 * them, a YR whose PUT failed, unreadable records.
 *
 * Time is passed in (now_us): the tests step it; nothing sleeps.
 */
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "config.h"
#include "hitconf.h"
#include "msgparse.h"
#include "queue.h"
#include "unit.h"
#include "util.h"

int	test_hitconf_register(void);

#define TH_WAIT_US	(5 * 1000000ULL)
#define TH_T0		(1800000000ULL * 1000000ULL)	/* a fixed "now" */
#define TH_S		1000000ULL

static struct event_base	*th_base;
static struct event		*th_tick;
static struct msgparse_schema	*th_schema;
static char			 th_dir[64];
static struct queue		*th_q;
static struct config		 th_cfg;

/* What the host callbacks saw. */
static uint64_t			 th_msgid = 1000;
static int			 th_ncommitted;
static struct queue_copy	 th_copies[16];

static uint64_t
th_msgid_cb(void *arg)
{
	(void)arg;
	return th_msgid++;
}

static void
th_committed_cb(void *arg, const struct queue_copy *c)
{
	(void)arg;
	if (th_ncommitted < 16)
		th_copies[th_ncommitted] = *c;
	th_ncommitted++;
}

static void
th_tick_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
}

static int
th_rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
th_init(void)
{
	char *cause = NULL;

	if (evthread_use_pthreads() != 0)
		return -1;
	snprintf(th_dir, sizeof th_dir, "/tmp/nlswitch-hitconf-XXXXXX");
	if (mkdtemp(th_dir) == NULL)
		return -1;
	if ((th_base = event_base_new()) == NULL)
		return -1;
	th_tick = event_new(th_base, -1, EV_PERSIST, th_tick_cb, NULL);
	if (th_tick == NULL)
		return -1;
	event_add(th_tick, &(struct timeval){ 0, 50000 });
	if ((th_q = queue_open(&queue_backend_lmdb, th_dir, 16 << 20, th_base,
	    &cause)) == NULL) {
		fprintf(stderr, "hitconf: %s\n", cause ? cause : "?");
		free(cause);
		return -1;
	}
	if ((th_schema = unit_schema_load("hitconf")) == NULL)
		return -1;
	th_cfg.hit_urgent = 600;
	th_cfg.hit_routine = 3600;
	return 0;
}

static int
th_cleanup(void)
{
	if (th_q != NULL)
		queue_close(th_q);
	th_q = NULL;
	msgparse_schema_free(th_schema);
	th_schema = NULL;
	if (th_tick != NULL)
		event_free(th_tick);
	th_tick = NULL;
	if (th_base != NULL)
		event_base_free(th_base);
	th_base = NULL;
	if (th_dir[0] != '\0')
		nftw(th_dir, th_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	th_dir[0] = '\0';
	return 0;
}

/* Run the loop until every submitted op completed (bounded). */
static void
th_wait(void)
{
	uint64_t deadline = util_mono_us() + TH_WAIT_US;

	while (queue_pending(th_q) > 0 && util_mono_us() < deadline)
		event_base_loop(th_base, EVLOOP_ONCE);
	CU_ASSERT_EQUAL(queue_pending(th_q), 0);
}

/* The table of switch node node (0: a switch of its own). */
static struct hitconf *
th_new_node(int node)
{
	struct hitconf_host h = { th_q, NULL, th_msgid_cb, th_committed_cb,
	    node };

	return hitconf_new(&h);
}

static struct hitconf *
th_new(void)
{
	return th_new_node(0);
}

/* Commit state records as a PUT would carry them; free them. */
static int
th_commit_states(struct queue_state *st, int n)
{
	struct queue_op	 op;
	int		 i;

	memset(&op, 0, sizeof op);
	op.type = QUEUE_OP_STATE;
	op.states = st;
	op.nstates = n;
	queue_submit(th_q, &op);
	th_wait();
	for (i = 0; i < n; i++) {
		free((char *)st[i].key);
		free((char *)st[i].val);
	}
	free(st);
	return op.result;
}

/* The stored records, by walk_state. */
struct th_walk {
	int			 n;
	struct hitconf_rec	 r;
	int			 bad;
};

static int
th_walk_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	struct th_walk *w = arg;

	if (hitconf_record_parse(key, klen, val, len, &w->r) != 0)
		w->bad++;
	w->n++;
	return 0;
}

static struct th_walk
th_stored(void)
{
	struct th_walk w;

	memset(&w, 0, sizeof w);
	CU_ASSERT_EQUAL(queue_walk_state(th_q, HITCONF_STATE_PREFIX,
	    th_walk_cb, &w), QUEUE_E_OK);
	return w;
}

/* An urgent WP YQ from WA0340000 to CAOLN0000 with ctl. */
static void
th_yq(struct msg *m, const char *ctl, int rno)
{
	memset(m, 0, sizeof *m);
	m->key = MSG_KEY_YQ;
	util_strlcpy(m->ori, "WA0340000", sizeof m->ori);
	m->ndest = 1;
	util_strlcpy(m->dest[0], "CAOLN0000", sizeof m->dest[0]);
	util_strlcpy(m->ctl, ctl, sizeof m->ctl);
	m->hit.present = 1;
	util_strlcpy(m->hit.rty, "WP", sizeof m->hit.rty);
	m->hit.rno = rno;
	util_strlcpy(m->hit.pri, "U", sizeof m->hit.pri);
	util_strlcpy(m->hit.oca, "2026-000123", sizeof m->hit.oca);
	util_strlcpy(m->hit.nic, "W123456789", sizeof m->hit.nic);
	util_strlcpy(m->person.surname, "EXAMPLE", sizeof m->person.surname);
	util_strlcpy(m->person.given, "JORDAN", sizeof m->person.given);
	util_strlcpy(m->person.dob, "1975-12-31", sizeof m->person.dob);
	util_strlcpy(m->person.sex, "M", sizeof m->person.sex);
}

/* The YR from (ori) to (dest) with ctl. */
static void
th_yr(struct msg *m, const char *ori, const char *dest, const char *ctl)
{
	memset(m, 0, sizeof *m);
	m->key = MSG_KEY_YR;
	util_strlcpy(m->ori, ori, sizeof m->ori);
	m->ndest = 1;
	util_strlcpy(m->dest[0], dest, sizeof m->dest[0]);
	util_strlcpy(m->ctl, ctl, sizeof m->ctl);
	util_strlcpy(m->hit.con, "Y", sizeof m->hit.con);
}

static const struct queue_copy th_ca = { .line = "CADMV",
    .dest = "CAOLN0000" };
static const struct queue_copy th_wa = { .line = "WAAGY",
    .dest = "WA0340000" };

/* Accept m as committed at now (its records stored). */
static void
th_accept(struct hitconf *h, const struct msg *m, const char *reqid,
    const char *from, const struct queue_copy *c, uint64_t now, int ok)
{
	struct queue_state	*st = NULL;
	int			 n = 0;
	struct hitconf_req	*req;

	req = hitconf_accept(h, &th_cfg, m, reqid, from, c, 1, now, &st, &n);
	CU_ASSERT_PTR_NOT_NULL(req);
	if (ok) {
		CU_ASSERT_EQUAL(th_commit_states(st, n), QUEUE_E_OK);
	} else {
		while (n-- > 0)
			free((char *)st[n].key);
		free(st);
	}
	hitconf_done(h, req, ok);
}

/* A record survives its text form; what is not one is refused. */
static void
test_record(void)
{
	struct hitconf_rec	 r, back;
	const char		*key = "yq/00000000000000a1/CAOLN0000";
	char			*v;

	memset(&r, 0, sizeof r);
	r.due_us = TH_T0;
	r.rno = 2;
	r.by_switch = 1;
	util_strlcpy(r.reqid, "00000000000000a1", sizeof r.reqid);
	util_strlcpy(r.ori, "WA0340000", sizeof r.ori);
	util_strlcpy(r.dest, "CAOLN0000", sizeof r.dest);
	util_strlcpy(r.ctl, "A B=C", sizeof r.ctl);
	util_strlcpy(r.from_line, "WAAGY", sizeof r.from_line);
	util_strlcpy(r.to_line, "CADMV", sizeof r.to_line);
	util_strlcpy(r.hit.pri, "R", sizeof r.hit.pri);
	util_strlcpy(r.hit.rty, "SV", sizeof r.hit.rty);
	util_strlcpy(r.hit.oca, "CASE\nTWO", sizeof r.hit.oca);
	util_strlcpy(r.hit.lic, "EXA1234", sizeof r.hit.lic);
	v = hitconf_record_fmt(&r);
	CU_ASSERT(strlen(v) < QUEUE_STATE_MAX);
	CU_ASSERT_EQUAL_FATAL(hitconf_record_parse(key, strlen(key), v,
	    strlen(v), &back), 0);
	CU_ASSERT_EQUAL(back.due_us, TH_T0);
	CU_ASSERT_EQUAL(back.rno, 2);
	CU_ASSERT_EQUAL(back.by_switch, 1);
	CU_ASSERT_STRING_EQUAL(back.reqid, "00000000000000a1");
	CU_ASSERT_STRING_EQUAL(back.dest, "CAOLN0000");
	CU_ASSERT_STRING_EQUAL(back.ctl, "A B=C");
	CU_ASSERT_STRING_EQUAL(back.to_line, "CADMV");
	CU_ASSERT_STRING_EQUAL(back.hit.lic, "EXA1234");
	/* A newline in a value cannot split the record. */
	CU_ASSERT_STRING_EQUAL(back.hit.oca, "CASE TWO");
	free(v);

	CU_ASSERT_EQUAL(hitconf_record_parse(key, strlen(key), "junk", 4,
	    &back), -1);
	CU_ASSERT_EQUAL(hitconf_record_parse("yq/nodest", 9, "due=1\nrno=1",
	    11, &back), -1);
	v = xstrdup("due=5\nrno=4\nori=WA0340000\nfrom=WAAGY\nto=CADMV\n");
	CU_ASSERT_EQUAL(hitconf_record_parse(key, strlen(key), v, strlen(v),
	    &back), -1);	/* no request number 4 */
	free(v);
	CU_ASSERT_EQUAL(hitconf_time(&th_cfg, 'U'), 600);
	CU_ASSERT_EQUAL(hitconf_time(&th_cfg, 'R'), 3600);
}

/* The second request is a valid YQ, RNO/2, with the first's fields. */
static void
test_build(void)
{
	struct hitconf_rec	 r;
	struct msg		 m;
	struct msg_diags	 d;
	struct ubuf		 b;

	memset(&r, 0, sizeof r);
	util_strlcpy(r.ori, "WA0340000", sizeof r.ori);
	util_strlcpy(r.dest, "CAOLN0000", sizeof r.dest);
	util_strlcpy(r.ctl, "HIT1", sizeof r.ctl);
	util_strlcpy(r.hit.pri, "U", sizeof r.hit.pri);
	util_strlcpy(r.hit.rty, "WP", sizeof r.hit.rty);
	util_strlcpy(r.hit.oca, "2026-000123", sizeof r.hit.oca);
	util_strlcpy(r.hit.nic, "W123456789", sizeof r.hit.nic);
	util_strlcpy(r.person.surname, "EXAMPLE", sizeof r.person.surname);
	util_strlcpy(r.person.given, "JORDAN", sizeof r.person.given);
	util_strlcpy(r.person.dob, "1975-12-31", sizeof r.person.dob);
	ubuf_init(&b);
	hitconf_build_yq(&b, &r, 2);
	CU_ASSERT_EQUAL(msgparse_message(th_schema, b.data, b.len, 0, 0, &m,
	    &d), 0);
	CU_ASSERT_EQUAL(m.key, MSG_KEY_YQ);
	CU_ASSERT_STRING_EQUAL(m.ori, "WA0340000");
	CU_ASSERT_STRING_EQUAL(m.dest[0], "CAOLN0000");
	CU_ASSERT_STRING_EQUAL(m.ctl, "HIT1");
	CU_ASSERT_EQUAL(m.hit.rno, 2);
	CU_ASSERT_STRING_EQUAL(m.hit.pri, "U");
	CU_ASSERT_STRING_EQUAL(m.hit.nic, "W123456789");
	CU_ASSERT_STRING_EQUAL(m.person.surname, "EXAMPLE");
	ubuf_free(&b);

	/* A vehicle request carries its plate, no person. */
	memset(&r.person, 0, sizeof r.person);
	util_strlcpy(r.hit.rty, "SL", sizeof r.hit.rty);
	util_strlcpy(r.hit.lic, "EXA1234", sizeof r.hit.lic);
	util_strlcpy(r.hit.lis, "CA", sizeof r.hit.lis);
	ubuf_init(&b);
	hitconf_build_yq(&b, &r, 2);
	CU_ASSERT_EQUAL(msgparse_message(th_schema, b.data, b.len, 0, 0, &m,
	    &d), 0);
	CU_ASSERT_STRING_EQUAL(m.hit.lic, "EXA1234");
	ubuf_free(&b);
}

/*
 * No YR: at the priority's time the second request and SM .11.; the
 * record moves on in the second request's transaction; a new table
 * reads it back; at the second time SM .12. and the record is gone.
 */
static void
test_timers(void)
{
	struct hitconf	*h = th_new();
	struct th_walk	 w;
	struct msg	 m;
	int		 i, second = -1, sm11 = -1;

	th_ncommitted = 0;
	th_yq(&m, "HIT1", 1);
	th_accept(h, &m, "00000000000000b1", "WAAGY", &th_ca, TH_T0, 1);
	CU_ASSERT_EQUAL(hitconf_count(h), 1);
	w = th_stored();
	CU_ASSERT_EQUAL(w.n, 1);
	CU_ASSERT_EQUAL(w.r.rno, 1);
	CU_ASSERT_EQUAL(w.r.due_us, TH_T0 + 600 * TH_S);

	/* Not before its time. */
	hitconf_tick(h, &th_cfg, TH_T0 + 599 * TH_S);
	CU_ASSERT_EQUAL(queue_pending(th_q), 0);

	hitconf_tick(h, &th_cfg, TH_T0 + 600 * TH_S);
	/* One op each, not one per tick while they are in flight. */
	hitconf_tick(h, &th_cfg, TH_T0 + 600 * TH_S);
	th_wait();
	CU_ASSERT_EQUAL_FATAL(th_ncommitted, 2);
	for (i = 0; i < 2; i++) {
		if (th_copies[i].key == MSG_KEY_YQ)
			second = i;
		if (th_copies[i].key == MSG_KEY_SM)
			sm11 = i;
	}
	CU_ASSERT_FATAL(second >= 0 && sm11 >= 0);
	CU_ASSERT_STRING_EQUAL(th_copies[second].line, "CADMV");
	CU_ASSERT_STRING_EQUAL(th_copies[second].dest, "CAOLN0000");
	CU_ASSERT_STRING_EQUAL(th_copies[sm11].line, "WAAGY");
	CU_ASSERT_STRING_EQUAL(th_copies[sm11].dest, "WA0340000");
	w = th_stored();
	CU_ASSERT_EQUAL(w.n, 1);
	CU_ASSERT_EQUAL(w.r.rno, 2);
	CU_ASSERT_EQUAL(w.r.by_switch, 1);
	CU_ASSERT(w.r.due_us >= TH_T0 + 1200 * TH_S);

	/* Its new time is not yet. */
	hitconf_tick(h, &th_cfg, TH_T0 + 700 * TH_S);
	CU_ASSERT_EQUAL(queue_pending(th_q), 0);

	/* "Restart": a new table from the store. */
	hitconf_free(h);
	h = th_new();
	CU_ASSERT_EQUAL(hitconf_load(h), 1);
	th_ncommitted = 0;
	hitconf_tick(h, &th_cfg, TH_T0 + 1300 * TH_S);
	th_wait();
	CU_ASSERT_EQUAL(th_ncommitted, 1);
	CU_ASSERT_EQUAL(th_copies[0].key, MSG_KEY_SM);
	CU_ASSERT_STRING_EQUAL(th_copies[0].line, "WAAGY");
	CU_ASSERT_EQUAL(hitconf_count(h), 0);
	CU_ASSERT_EQUAL(th_stored().n, 0);

	/* Nothing more, ever. */
	hitconf_tick(h, &th_cfg, TH_T0 + 99999 * TH_S);
	CU_ASSERT_EQUAL(queue_pending(th_q), 0);
	hitconf_free(h);
}

/* Overdue at start-up: it fires at the first tick. */
static void
test_overdue(void)
{
	struct hitconf	*h = th_new();
	struct msg	 m;

	th_yq(&m, "HIT2", 1);
	th_accept(h, &m, "00000000000000b2", "WAAGY", &th_ca, TH_T0, 1);
	hitconf_free(h);		/* the switch was down ... */
	h = th_new();
	CU_ASSERT_EQUAL(hitconf_load(h), 1);
	th_ncommitted = 0;
	hitconf_tick(h, &th_cfg, TH_T0 + 86400 * TH_S);	/* ... a day */
	th_wait();
	CU_ASSERT_EQUAL(th_ncommitted, 2);
	CU_ASSERT_EQUAL(th_stored().r.rno, 2);
	/* Clean up through a YR (below). */
	th_yr(&m, "CAOLN0000", "WA0340000", "HIT2");
	th_accept(h, &m, "00000000000000c2", "CADMV", &th_wa,
	    TH_T0 + 86401 * TH_S, 1);
	CU_ASSERT_EQUAL(hitconf_count(h), 0);
	CU_ASSERT_EQUAL(th_stored().n, 0);
	hitconf_free(h);
}

/*
 * Pairing: only the YR from the ORI asked, to the requester, with the
 * control field clears; it clears in its own transaction; a YR whose
 * PUT failed leaves the timer running.
 */
static void
test_pairing(void)
{
	struct hitconf		*h = th_new();
	struct hitconf_req	*req;
	struct queue_state	*st = NULL;
	struct msg		 m;
	int			 n = 0;

	th_yq(&m, "HIT3", 1);
	th_accept(h, &m, "00000000000000b3", "WAAGY", &th_ca, TH_T0, 1);
	/* A requester's own second request for the same pair. */
	th_yq(&m, "HIT3", 2);
	th_accept(h, &m, "00000000000000b4", "WAAGY", &th_ca, TH_T0, 1);
	CU_ASSERT_EQUAL(hitconf_count(h), 2);

	/* Not its pair: another control field, another ORI, reversed. */
	th_yr(&m, "CAOLN0000", "WA0340000", "HIT4");
	CU_ASSERT_PTR_NULL(hitconf_accept(h, &th_cfg, &m, "c1", "CADMV",
	    &th_wa, 1, TH_T0, &st, &n));
	th_yr(&m, "NVOLN0000", "WA0340000", "HIT3");
	CU_ASSERT_PTR_NULL(hitconf_accept(h, &th_cfg, &m, "c2", "NVDMV",
	    &th_wa, 1, TH_T0, &st, &n));
	th_yr(&m, "WA0340000", "CAOLN0000", "HIT3");
	CU_ASSERT_PTR_NULL(hitconf_accept(h, &th_cfg, &m, "c3", "WAAGY",
	    &th_ca, 1, TH_T0, &st, &n));
	/* Its pair, but not stored for delivery: nothing. */
	th_yr(&m, "CAOLN0000", "WA0340000", "HIT3");
	CU_ASSERT_PTR_NULL(hitconf_accept(h, &th_cfg, &m, "c4", "CADMV",
	    &th_wa, 0, TH_T0, &st, &n));
	CU_ASSERT_EQUAL(n, 0);

	/* Its pair, the PUT fails: the timers still run. */
	req = hitconf_accept(h, &th_cfg, &m, "c5", "CADMV", &th_wa, 1, TH_T0,
	    &st, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_EQUAL(n, 2);		/* both requests of the pair */
	CU_ASSERT_PTR_NULL(st[0].val);
	/* While it is in flight, no second request. */
	hitconf_tick(h, &th_cfg, TH_T0 + 601 * TH_S);
	CU_ASSERT_EQUAL(queue_pending(th_q), 0);
	hitconf_done(h, req, 0);
	while (n-- > 0)
		free((char *)st[n].key);
	free(st);
	st = NULL;
	n = 0;
	CU_ASSERT_EQUAL(hitconf_count(h), 2);

	/* Its pair, committed: both gone, from the store too. */
	th_accept(h, &m, "c6", "CADMV", &th_wa, TH_T0 + 10 * TH_S, 1);
	CU_ASSERT_EQUAL(hitconf_count(h), 0);
	CU_ASSERT_EQUAL(th_stored().n, 0);
	th_ncommitted = 0;
	hitconf_tick(h, &th_cfg, TH_T0 + 99999 * TH_S);
	CU_ASSERT_EQUAL(queue_pending(th_q), 0);
	CU_ASSERT_EQUAL(th_ncommitted, 0);

	/* Another key changes nothing. */
	m.key = MSG_KEY_DR;
	CU_ASSERT_PTR_NULL(hitconf_accept(h, &th_cfg, &m, "c7", "CADMV",
	    &th_wa, 1, TH_T0, &st, &n));
	hitconf_free(h);
}

/* A record that does not read is dropped (and deleted) at start-up. */
static void
test_unreadable(void)
{
	struct hitconf		*h = th_new();
	struct queue_state	*st = xcalloc(1, sizeof *st);

	st->key = xstrdup("yq/00000000000000d1/CAOLN0000");
	st->val = xstrdup("not a record");
	st->len = strlen(st->val);
	CU_ASSERT_EQUAL(th_commit_states(st, 1), QUEUE_E_OK);
	CU_ASSERT_EQUAL(th_stored().bad, 1);
	CU_ASSERT_EQUAL(hitconf_load(h), 0);
	th_wait();
	CU_ASSERT_EQUAL(th_stored().n, 0);
	hitconf_free(h);
}

/*
 * Cluster nodes share one store: each node's table takes back only the
 * requests whose YQ it took (the message ID's high byte), so that one
 * timer runs per request, on its node.
 */
static void
test_nodes(void)
{
	static const struct { int node; size_t n; } t[] = {
		{ 1, 1 }, { 2, 2 }, { 3, 0 }, { 0, 0 },
	};
	struct hitconf	*h;
	struct msg	 m;
	size_t		 i;

	h = th_new_node(1);
	th_yq(&m, "HIT5", 1);
	th_accept(h, &m, "01000000000000e1", "WAAGY", &th_ca, TH_T0, 1);
	hitconf_free(h);
	h = th_new_node(2);
	th_yq(&m, "HIT6", 1);
	th_accept(h, &m, "02000000000000e2", "WAAGY", &th_ca, TH_T0, 1);
	th_yq(&m, "HIT7", 1);
	th_accept(h, &m, "02000000000000e3", "WAAGY", &th_ca, TH_T0, 1);
	hitconf_free(h);
	CU_ASSERT_EQUAL(th_stored().n, 3);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		h = th_new_node(t[i].node);
		CU_ASSERT_EQUAL(hitconf_load(h), t[i].n);
		hitconf_free(h);
	}
	/* Clean up through the YRs, each by its node. */
	h = th_new_node(1);
	hitconf_load(h);
	th_yr(&m, "CAOLN0000", "WA0340000", "HIT5");
	th_accept(h, &m, "01000000000000f1", "CADMV", &th_wa, TH_T0, 1);
	hitconf_free(h);
	h = th_new_node(2);
	hitconf_load(h);
	th_yr(&m, "CAOLN0000", "WA0340000", "HIT6");
	th_accept(h, &m, "02000000000000f2", "CADMV", &th_wa, TH_T0, 1);
	th_yr(&m, "CAOLN0000", "WA0340000", "HIT7");
	th_accept(h, &m, "02000000000000f3", "CADMV", &th_wa, TH_T0, 1);
	hitconf_free(h);
	CU_ASSERT_EQUAL(th_stored().n, 0);
}

int
test_hitconf_register(void)
{
	CU_pSuite s = CU_add_suite("hitconf", th_init, th_cleanup);

	if (s == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_record) == NULL ||
	    CU_ADD_TEST(s, test_build) == NULL ||
	    CU_ADD_TEST(s, test_timers) == NULL ||
	    CU_ADD_TEST(s, test_overdue) == NULL ||
	    CU_ADD_TEST(s, test_pairing) == NULL ||
	    CU_ADD_TEST(s, test_unreadable) == NULL ||
	    CU_ADD_TEST(s, test_nodes) == NULL)
		return -1;
	return 0;
}
