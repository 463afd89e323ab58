/*
 * hitconf - see hitconf.h. The table is an array of pointers searched
 * linearly: it holds the hit confirmations in flight (a few per agency),
 * and a search costs less than the XML parse of the YR it serves. Ops in
 * flight name their entry by its key, never by pointer: a YR may remove
 * the entry before the op completes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "hitconf.h"
#include "log.h"
#include "msgbuild.h"
#include "queue.h"
#include "util.h"

#define HITCONF_KEY_LEN	64

/* One request awaiting its YR from one destination. */
struct hitconf_entry {
	char			 key[HITCONF_KEY_LEN];
	struct hitconf_rec	 r;
	int			 closing;	/* a YR's PUT is in flight */
	int			 busy;		/* an op of ours is in flight */
	int			 gone;		/* another node's YR deleted its
						   record (shared store) */
};

struct hitconf {
	struct hitconf_host	  host;
	struct hitconf_entry	**e;
	size_t			  n, cap;
};

/* A change waiting for its PUT (hitconf_accept). */
struct hitconf_req {
	struct hitconf_rec	*add;		/* YQ: records to add */
	int			 nadd;
	char			(*del)[HITCONF_KEY_LEN];	/* YR */
	int			 ndel;
};

/* What an op of ours does when it completes. */
enum hitconf_op_kind {
	HITCONF_OP_NOTICE,	/* SM .11.: deliver it, nothing else */
	HITCONF_OP_SECOND,	/* second request: the entry moves on */
	HITCONF_OP_FINAL	/* SM .12.: the entry goes */
};

struct hitconf_op {
	struct queue_op		 op;
	struct queue_copy	 copy;
	struct queue_state	 st;
	struct hitconf		*h;
	enum hitconf_op_kind	 kind;
	char			 key[HITCONF_KEY_LEN];
	struct hitconf_rec	 next;		/* SECOND: the entry after */
	char			*body;
	char			*audit;
	char			*val;
};

static void	hitconf_op_done_cb(struct queue_op *, void *);
static void	hitconf_sweep_done_cb(struct queue_op *, void *);

struct hitconf *
hitconf_new(const struct hitconf_host *host)
{
	struct hitconf *h = xcalloc(1, sizeof *h);

	h->host = *host;
	return h;
}

void
hitconf_free(struct hitconf *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++)
		free(h->e[i]);
	free(h->e);
	free(h);
}

size_t
hitconf_count(const struct hitconf *h)
{
	return h->n;
}

uint64_t
hitconf_time(const struct config *cfg, int pri)
{
	return pri == 'U' ? cfg->hit_urgent : cfg->hit_routine;
}

static void
hitconf_key(char *buf, size_t sz, const char *reqid, const char *dest)
{
	snprintf(buf, sz, HITCONF_STATE_PREFIX "%s/%s", reqid, dest);
}

static struct hitconf_entry *
hitconf_find(struct hitconf *h, const char *key, size_t *idx)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->e[i]->key, key) == 0) {
			if (idx != NULL)
				*idx = i;
			return h->e[i];
		}
	return NULL;
}

/* Add (or replace) the entry of r. */
static void
hitconf_put(struct hitconf *h, const struct hitconf_rec *r)
{
	struct hitconf_entry	*e;
	char			 key[HITCONF_KEY_LEN];

	hitconf_key(key, sizeof key, r->reqid, r->dest);
	if ((e = hitconf_find(h, key, NULL)) == NULL) {
		if (h->n == h->cap) {
			h->cap = h->cap ? h->cap * 2 : 16;
			h->e = xrealloc(h->e, h->cap * sizeof *h->e);
		}
		e = h->e[h->n++] = xcalloc(1, sizeof *e);
		util_strlcpy(e->key, key, sizeof e->key);
	}
	e->r = *r;
}

static void
hitconf_remove(struct hitconf *h, const char *key)
{
	size_t i;

	if (hitconf_find(h, key, &i) == NULL)
		return;
	free(h->e[i]);
	h->e[i] = h->e[--h->n];
}

/*
 * Records. The value is text, a "name=value" line per field, so that a
 * field added later leaves older records readable; values never hold a
 * newline (hitconf_line_add replaces control characters).
 */

static void
hitconf_line_add(struct ubuf *b, const char *name, const char *v)
{
	ubuf_printf(b, "%s=", name);
	for (; *v != '\0'; v++)
		ubuf_add(b, (unsigned char)*v < ' ' ? " " : v, 1);
	ubuf_adds(b, "\n");
}

/* The text fields of a record, by name. */
#define HR(n, f) { n, offsetof(struct hitconf_rec, f), \
		    sizeof ((struct hitconf_rec *)0)->f }
static const struct {
	const char	*name;
	size_t		 off, sz;
} hitconf_fields[] = {
	HR("ori", ori), HR("ctl", ctl), HR("from", from_line),
	HR("to", to_line), HR("pri", hit.pri), HR("rty", hit.rty),
	HR("oca", hit.oca), HR("nic", hit.nic), HR("lic", hit.lic),
	HR("lis", hit.lis), HR("vin", hit.vin), HR("ser", hit.ser),
	HR("sur", person.surname), HR("giv", person.given),
	HR("mid", person.middle), HR("sfx", person.suffix),
	HR("dob", person.dob), HR("sex", person.sex),
};
#undef HR
#define HITCONF_NFIELDS	(sizeof hitconf_fields / sizeof hitconf_fields[0])

char *
hitconf_record_fmt(const struct hitconf_rec *r)
{
	struct ubuf	 b;
	size_t		 i;

	ubuf_init(&b);
	ubuf_printf(&b, "due=%llu\nrno=%d\nby=%d\n",
	    (unsigned long long)r->due_us, r->rno, r->by_switch);
	for (i = 0; i < HITCONF_NFIELDS; i++)
		hitconf_line_add(&b, hitconf_fields[i].name,
		    (const char *)r + hitconf_fields[i].off);
	return ubuf_take(&b, NULL);
}

/* One "name=value" line into r. */
static void
hitconf_record_field(struct hitconf_rec *r, const char *name, size_t nlen,
    const char *v, size_t vlen, int *have)
{
	char	 num[24];
	size_t	 i;

	if (nlen == 3 && (memcmp(name, "due", 3) == 0 ||
	    memcmp(name, "rno", 3) == 0) && vlen < sizeof num) {
		memcpy(num, v, vlen);
		num[vlen] = '\0';
		if (name[0] == 'd') {
			r->due_us = strtoull(num, NULL, 10);
			*have |= 1;
		} else {
			r->rno = atoi(num);
			*have |= 2;
		}
		return;
	}
	if (nlen == 2 && memcmp(name, "by", 2) == 0) {
		r->by_switch = vlen == 1 && v[0] == '1';
		return;
	}
	for (i = 0; i < HITCONF_NFIELDS; i++)
		if (strlen(hitconf_fields[i].name) == nlen &&
		    memcmp(hitconf_fields[i].name, name, nlen) == 0) {
			msg_cpy((char *)r + hitconf_fields[i].off,
			    hitconf_fields[i].sz, v, vlen);
			if (i < 4)
				*have |= 4 << i;
		}
}

int
hitconf_record_parse(const char *key, size_t klen, const char *val,
    size_t len, struct hitconf_rec *r)
{
	const char	*p = val, *end = val + len, *eol, *eq, *slash;
	size_t		 plen = strlen(HITCONF_STATE_PREFIX);
	int		 have = 0;

	memset(r, 0, sizeof *r);
	if (klen <= plen || memcmp(key, HITCONF_STATE_PREFIX, plen) != 0 ||
	    (slash = memchr(key + plen, '/', klen - plen)) == NULL)
		return -1;
	msg_cpy(r->reqid, sizeof r->reqid, key + plen,
	    (size_t)(slash - (key + plen)));
	msg_cpy(r->dest, sizeof r->dest, slash + 1,
	    (size_t)(key + klen - slash - 1));
	while (p < end) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((eq = memchr(p, '=', (size_t)(eol - p))) != NULL)
			hitconf_record_field(r, p, (size_t)(eq - p), eq + 1,
			    (size_t)(eol - eq - 1), &have);
		p = eol + 1;
	}
	/* due, rno, ori, from and to are what a timer needs. */
	if ((have & (1 | 2 | 4 | 16 | 32)) != (1 | 2 | 4 | 16 | 32) ||
	    r->rno < 1 || r->rno > 3 || !msg_ori_is_valid(r->ori) ||
	    !msg_ori_is_valid(r->dest) || r->reqid[0] == '\0')
		return -1;
	return 0;
}

void
hitconf_build_yq(struct ubuf *b, const struct hitconf_rec *r, int rno)
{
	struct msgbuild_person	 p;
	const char		*dest = r->dest;
	char			 n[4];

	snprintf(n, sizeof n, "%d", rno);
	msgbuild_begin(b, MSG_KEY_YQ, r->ori, &dest, 1, r->ctl);
	msgbuild_open(b, "n2:QueryRequestActivity");
	msgbuild_text(b, "n2:QueryRequestSequenceNumber", n);
	msgbuild_text(b, "n2:QueryRequestPriorityCode", r->hit.pri);
	msgbuild_text(b, "n2:QueryRequestTypeCode", r->hit.rty);
	msgbuild_text(b, "n2:CaseNumberText", r->hit.oca);
	msgbuild_text(b, "n2:NCICNumberText", r->hit.nic);
	msgbuild_text(b, "n2:LicensePlateNumberText", r->hit.lic);
	msgbuild_text(b, "n2:LicensePlateStateCode", r->hit.lis);
	msgbuild_text(b, "n2:VehicleIdentificationNumberText", r->hit.vin);
	msgbuild_text(b, "n2:ItemSerialNumberText", r->hit.ser);
	msgbuild_close(b, "n2:QueryRequestActivity");
	if (r->person.surname[0] != '\0' || r->person.dob[0] != '\0') {
		msgbuild_person_of(&r->person, &p);
		msgbuild_person(b, "n2:Person", &p);
	}
	msgbuild_end(b, MSG_KEY_YQ);
}

/* Append the state record key = val (val NULL: delete); takes both. */
static void
hitconf_state_push(struct queue_state **st, int *nst, char *key, char *val)
{
	struct queue_state *s;

	*st = xrealloc(*st, (size_t)(*nst + 1) * sizeof **st);
	s = &(*st)[(*nst)++];
	s->key = key;
	s->val = val;
	s->len = val != NULL ? strlen(val) : 0;
}

/*
 * Accepting.
 */

/* A YQ: a record per stored copy to a 9-character ORI. */
static struct hitconf_req *
hitconf_accept_yq(const struct config *cfg, const struct msg *m,
    const char *reqid, const char *from_line, const struct queue_copy *copies,
    int ncopies, uint64_t now_us, struct queue_state **st, int *nst)
{
	struct hitconf_req	*req;
	struct hitconf_rec	*r;
	char			 key[HITCONF_KEY_LEN];
	int			 i;

	req = xcalloc(1, sizeof *req);
	req->add = xcalloc((size_t)ncopies, sizeof *req->add);
	for (i = 0; i < ncopies; i++) {
		if (!msg_ori_is_valid(copies[i].dest))
			continue;
		r = &req->add[req->nadd++];
		r->due_us = now_us + hitconf_time(cfg, m->hit.pri[0]) *
		    1000000ULL;
		r->rno = m->hit.rno;
		util_strlcpy(r->reqid, reqid, sizeof r->reqid);
		util_strlcpy(r->ori, m->ori, sizeof r->ori);
		util_strlcpy(r->dest, copies[i].dest, sizeof r->dest);
		util_strlcpy(r->ctl, m->ctl, sizeof r->ctl);
		util_strlcpy(r->from_line, from_line, sizeof r->from_line);
		util_strlcpy(r->to_line, copies[i].line, sizeof r->to_line);
		r->hit = m->hit;
		r->person = m->person;
		hitconf_key(key, sizeof key, r->reqid, r->dest);
		hitconf_state_push(st, nst, xstrdup(key),
		    hitconf_record_fmt(r));
	}
	if (req->nadd == 0) {
		free(req->add);
		free(req);
		return NULL;
	}
	return req;
}

/* Is the request reqid (a message ID's text) this node's? */
static int
hitconf_mine(const struct hitconf *h, const char *reqid)
{
	return QUEUE_MSGID_NODE(strtoull(reqid, NULL, 16)) == h->host.node;
}

/* The other nodes' open requests a YR answers (shared store). */
struct hitconf_theirs {
	const struct hitconf	*h;
	const struct msg	*m;
	struct queue_state	**st;
	int			*nst;
};

static int
hitconf_theirs_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	struct hitconf_theirs	*t = arg;
	struct hitconf_rec	 r;

	if (hitconf_record_parse(key, klen, val, len, &r) != 0 ||
	    hitconf_mine(t->h, r.reqid) || strcmp(r.ori, t->m->dest[0]) != 0 ||
	    strcmp(r.dest, t->m->ori) != 0 || strcmp(r.ctl, t->m->ctl) != 0)
		return 0;
	hitconf_state_push(t->st, t->nst, xstrndup(key, klen), NULL);
	return 0;
}

/* A YR: the open requests of its pair (from its ORI to its addressee,
 * with its control field) close with its PUT; in a shared store, the
 * other nodes' too (their records only: their timers see it). */
static struct hitconf_req *
hitconf_accept_yr(struct hitconf *h, const struct msg *m,
    struct queue_state **st, int *nst)
{
	struct hitconf_req	*req = NULL;
	struct hitconf_entry	*e;
	size_t			 i;

	if (m->ndest != 1)
		return NULL;
	for (i = 0; i < h->n; i++) {
		e = h->e[i];
		if (e->closing || strcmp(e->r.ori, m->dest[0]) != 0 ||
		    strcmp(e->r.dest, m->ori) != 0 ||
		    strcmp(e->r.ctl, m->ctl) != 0)
			continue;
		if (req == NULL)
			req = xcalloc(1, sizeof *req);
		req->del = xrealloc(req->del, (size_t)(req->ndel + 1) *
		    sizeof *req->del);
		util_strlcpy(req->del[req->ndel++], e->key, HITCONF_KEY_LEN);
		/* No second request for it from now on: the YR is on its
		 * way (hitconf_done undoes this if its PUT fails). */
		e->closing = 1;
		hitconf_state_push(st, nst, xstrdup(e->key), NULL);
	}
	if (queue_is_shared(h->host.q)) {
		struct hitconf_theirs t = { h, m, st, nst };

		(void)queue_walk_state(h->host.q, HITCONF_STATE_PREFIX,
		    hitconf_theirs_cb, &t);
	}
	return req;
}

struct hitconf_req *
hitconf_accept(struct hitconf *h, const struct config *cfg,
    const struct msg *m, const char *reqid, const char *from_line,
    const struct queue_copy *copies, int ncopies, uint64_t now_us,
    struct queue_state **st, int *nst)
{
	if (ncopies <= 0)
		return NULL;	/* nothing stored: nothing to pair */
	if (m->key == MSG_KEY_YQ)
		return hitconf_accept_yq(cfg, m, reqid, from_line, copies,
		    ncopies, now_us, st, nst);
	if (m->key == MSG_KEY_YR)
		return hitconf_accept_yr(h, m, st, nst);
	return NULL;
}

void
hitconf_done(struct hitconf *h, struct hitconf_req *req, int committed)
{
	struct hitconf_entry	*e;
	int			 i;

	if (req == NULL)
		return;
	for (i = 0; i < req->nadd && committed; i++)
		hitconf_put(h, &req->add[i]);
	for (i = 0; i < req->ndel; i++) {
		if (committed) {
			log_info("hitconf: %s: answered by its YR, timer "
			    "cleared", req->del[i]);
			hitconf_remove(h, req->del[i]);
		} else if ((e = hitconf_find(h, req->del[i], NULL)) != NULL)
			e->closing = 0;
	}
	free(req->add);
	free(req->del);
	free(req);
}

/*
 * Timers.
 */

/* Fill op's PUT of body (a message of key to line for dest). */
static void
hitconf_op_put(struct hitconf *h, struct hitconf_op *o, enum msg_key key,
    const char *ori, const char *ctl, const char *line, const char *dest,
    uint64_t now_us)
{
	size_t	 len = strlen(o->body), so, he;

	o->h = h;
	o->op.type = QUEUE_OP_PUT;
	o->op.msg.msgid = h->host.take_msgid(h->host.arg);
	o->op.msg.recv_us = now_us;
	if (msg_hdr_span(o->body, len, 0, &so, &he) == 0)
		o->op.msg.stamp_off = (uint32_t)so;
	o->op.msg.key = (uint8_t)key;
	util_strlcpy(o->op.msg.from_line, "NL", sizeof o->op.msg.from_line);
	util_strlcpy(o->op.msg.ori, ori, sizeof o->op.msg.ori);
	util_strlcpy(o->op.msg.ctl, ctl, sizeof o->op.msg.ctl);
	o->op.body = o->body;
	o->op.bodylen = len;
	util_strlcpy(o->copy.line, line, sizeof o->copy.line);
	/* Notices may use the store's reserve (queue.h, "Space"). */
	o->copy.prio = key == MSG_KEY_SM ? QUEUE_PRIO_HIGH : QUEUE_PRIO_NORMAL;
	o->copy.msgid = o->op.msg.msgid;
	util_strlcpy(o->copy.dest, dest, sizeof o->copy.dest);
	o->copy.key = (uint8_t)key;
	o->copy.enq_us = now_us;
	o->copy.size = (uint32_t)len;
	o->op.copies = &o->copy;
	o->op.ncopies = 1;
	o->op.audit = o->audit;
	o->op.done = hitconf_op_done_cb;
	o->op.arg = o;
}

/* The SM (.11. or .12.) to the requester of e, with more lines. */
static struct hitconf_op *
hitconf_sm(struct hitconf *h, const struct hitconf_entry *e, int status,
    const char *more, uint64_t now_us)
{
	struct hitconf_op	*o = xcalloc(1, sizeof *o);
	struct audit_rec	*a;
	struct ubuf		 b;

	ubuf_init(&b);
	msgbuild_sm_more(&b, e->r.ori, e->r.ctl, status, e->r.dest,
	    MSG_KEY_YQ, e->r.reqid, more);
	o->body = ubuf_take(&b, NULL);
	a = audit_begin(now_us, "hitconf", status == MSG_SM_HIT_SECOND ?
	    "hit-no-response" : "hit-expired");
	audit_str(a, "msgid", e->r.reqid);
	audit_str(a, "line", e->r.from_line);
	audit_str(a, "ori", e->r.ori);
	audit_str(a, "ctl", e->r.ctl);
	audit_str(a, "mke", "YQ");
	audit_str(a, "about_dest", e->r.dest);
	audit_num(a, "rno", (unsigned long long)e->r.rno);
	audit_num(a, "sm", (unsigned long long)status);
	audit_str(a, "reason", msg_sm_text(status));
	audit_str(a, "outcome", status == MSG_SM_HIT_SECOND ?
	    "second request sent" : "forgotten");
	o->audit = audit_end(a);
	util_strlcpy(o->key, e->key, sizeof o->key);
	hitconf_op_put(h, o, MSG_KEY_SM, MSG_SWITCH_ORI, e->r.ctl,
	    e->r.from_line, e->r.ori, now_us);
	return o;
}

/*
 * No YR to a first request in its time: SM .11. to the requester, then
 * the second request to the destination with the entry's new record in
 * its transaction. The SM goes first: a crash between the two commits
 * sends the SM again at restart, never a second request without one.
 */
static void
hitconf_fire_second(struct hitconf *h, const struct config *cfg,
    struct hitconf_entry *e, uint64_t now_us)
{
	struct hitconf_op	*sm, *yq = xcalloc(1, sizeof *yq);
	struct audit_rec	*a;
	struct ubuf		 b;
	char			 id[24], *more;

	yq->next = e->r;
	yq->next.rno = 2;
	yq->next.by_switch = 1;
	yq->next.due_us = now_us + hitconf_time(cfg, e->r.hit.pri[0]) *
	    1000000ULL;
	ubuf_init(&b);
	hitconf_build_yq(&b, &e->r, 2);
	yq->body = ubuf_take(&b, NULL);
	a = audit_begin(now_us, "hitconf", "hit-second-request");
	yq->kind = HITCONF_OP_SECOND;
	util_strlcpy(yq->key, e->key, sizeof yq->key);
	hitconf_op_put(h, yq, MSG_KEY_YQ, e->r.ori, e->r.ctl, e->r.to_line,
	    e->r.dest, now_us);
	queue_msgid_fmt(id, sizeof id, yq->op.msg.msgid);
	audit_str(a, "msgid", id);
	audit_str(a, "about", e->r.reqid);
	audit_str(a, "line", e->r.to_line);
	audit_str(a, "ori", e->r.ori);
	audit_str(a, "dest", e->r.dest);
	audit_str(a, "ctl", e->r.ctl);
	audit_str(a, "mke", "YQ");
	audit_num(a, "rno", 2);
	audit_str(a, "pri", e->r.hit.pri);
	audit_str(a, "outcome", "queued");
	yq->audit = audit_end(a);
	yq->op.audit = yq->audit;
	yq->val = hitconf_record_fmt(&yq->next);
	yq->st.key = yq->key;
	yq->st.val = yq->val;
	yq->st.len = strlen(yq->val);
	yq->op.states = &yq->st;
	yq->op.nstates = 1;

	more = xasprintf("SECOND REQUEST SENT TO %s, MESSAGE %s, RNO/2 "
	    "RTY/%s OCA/%s NIC/%s", e->r.dest, id, e->r.hit.rty,
	    e->r.hit.oca, e->r.hit.nic);
	sm = hitconf_sm(h, e, MSG_SM_HIT_SECOND, more, now_us);
	free(more);
	e->busy = 1;
	log_info("hitconf: %s: no YR in time, second request %s to %s "
	    "line=%s", e->key, id, e->r.dest, e->r.to_line);
	queue_submit(h->host.q, &sm->op);
	queue_submit(h->host.q, &yq->op);
}

/* No YR to a second (or third) request either: SM .12., record gone. */
static void
hitconf_fire_final(struct hitconf *h, struct hitconf_entry *e,
    uint64_t now_us)
{
	struct hitconf_op	*sm;
	char			*more;

	more = xasprintf("NO RESPONSE FROM %s TO REQUEST %d, RTY/%s OCA/%s "
	    "NIC/%s; CONFIRM WITH THE ENTERING AGENCY BY OTHER MEANS",
	    e->r.dest, e->r.rno, e->r.hit.rty, e->r.hit.oca, e->r.hit.nic);
	sm = hitconf_sm(h, e, MSG_SM_HIT_NONE, more, now_us);
	free(more);
	sm->kind = HITCONF_OP_FINAL;
	sm->st.key = sm->key;
	sm->st.val = NULL;
	sm->op.states = &sm->st;
	sm->op.nstates = 1;
	e->busy = 1;
	log_info("hitconf: %s: no YR to request %d from %s, requester told",
	    e->key, e->r.rno, e->r.dest);
	queue_submit(h->host.q, &sm->op);
}

/* Does the view still hold the record key? */
static int
hitconf_stored_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	const char **want = arg;

	(void)val;
	(void)len;
	if (klen == strlen(*want) && memcmp(key, *want, klen) == 0)
		*want = NULL;
	return 0;
}

static int
hitconf_stored(struct hitconf *h, const char *key)
{
	const char *want = key;

	if (queue_walk_state(h->host.q, key, hitconf_stored_cb, &want) !=
	    QUEUE_E_OK)
		return 1;	/* unreadable: the timer stands */
	return want == NULL;
}

void
hitconf_tick(struct hitconf *h, const struct config *cfg, uint64_t now_us)
{
	struct hitconf_entry	*e;
	size_t			 i;

	/* The final SM removes its entry only when it completes, so the
	 * array does not change under this loop. */
	for (i = 0; i < h->n; i++) {
		e = h->e[i];
		if (e->closing || e->busy || e->r.due_us > now_us)
			continue;
		if (queue_is_shared(h->host.q) && !hitconf_stored(h, e->key)) {
			/* Another node's YR answered it: forgotten below. */
			e->gone = 1;
			log_info("hitconf: %s answered through another switch "
			    "node", e->key);
			continue;
		}
		if (e->r.rno == 1)
			hitconf_fire_second(h, cfg, e, now_us);
		else
			hitconf_fire_final(h, e, now_us);
	}
	for (i = h->n; i > 0; i--)
		if (h->e[i - 1]->gone)
			hitconf_remove(h, h->e[i - 1]->key);
}

static void
hitconf_op_done_cb(struct queue_op *op, void *arg)
{
	struct hitconf_op	*o = arg;
	struct hitconf		*h = o->h;
	struct hitconf_entry	*e = hitconf_find(h, o->key, NULL);

	if (op->result == QUEUE_E_OK)
		h->host.committed(h->host.arg, &o->copy);
	else
		log_warnx("hitconf: %s: %s not stored: %s", o->key,
		    o->kind == HITCONF_OP_SECOND ? "second request" : "SM",
		    queue_strerror(op->result));
	if (e != NULL && o->kind != HITCONF_OP_NOTICE) {
		e->busy = 0;
		if (op->result != QUEUE_E_OK)
			e->r.due_us = util_now_us() + HITCONF_RETRY_S *
			    1000000ULL;
		else if (o->kind == HITCONF_OP_SECOND)
			e->r = o->next;
		else
			hitconf_remove(h, o->key);
	}
	free(o->body);
	free(o->audit);
	free(o->val);
	free(o);
}

/*
 * Start-up.
 */

struct hitconf_load {
	struct hitconf		*h;
	struct queue_state	*bad;
	int			 nbad;
};

static int
hitconf_load_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	struct hitconf_load	*hl = arg;
	struct hitconf_rec	 r;

	if (hitconf_record_parse(key, klen, val, len, &r) == 0) {
		if (hitconf_mine(hl->h, r.reqid))	/* else another node's */
			hitconf_put(hl->h, &r);
		return 0;
	}
	log_warnx("hitconf: unreadable state record %.*s, dropped",
	    (int)(klen > 80 ? 80 : klen), key);
	hitconf_state_push(&hl->bad, &hl->nbad, xstrndup(key, klen), NULL);
	return 0;
}

static void
hitconf_sweep_done_cb(struct queue_op *op, void *arg)
{
	int i;

	(void)arg;
	if (op->result != QUEUE_E_OK)
		log_warnx("hitconf: unreadable records not deleted: %s",
		    queue_strerror(op->result));
	for (i = 0; i < op->nstates; i++)
		free((char *)op->states[i].key);
	free((struct queue_state *)op->states);
	free(op);
}

size_t
hitconf_load(struct hitconf *h)
{
	struct hitconf_load	 hl = { h, NULL, 0 };
	struct queue_op		*op;

	if (queue_walk_state(h->host.q, HITCONF_STATE_PREFIX, hitconf_load_cb,
	    &hl) != QUEUE_E_OK)
		log_warnx("hitconf: the store's hit confirmations are "
		    "unreadable; those in flight before the restart get no "
		    "second request");
	if (hl.nbad > 0) {
		op = xcalloc(1, sizeof *op);
		op->type = QUEUE_OP_STATE;
		op->states = hl.bad;
		op->nstates = hl.nbad;
		op->done = hitconf_sweep_done_cb;
		queue_submit(h->host.q, op);
	}
	return h->n;
}
