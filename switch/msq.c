/*
 * msq - see msq.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msgbuild.h"
#include "msq.h"

struct msq_table {
	struct msq	*head;		/* oldest first */
	struct msq	*tail;
	size_t		 n;
};

#define MSQ_STATE_PREFIX	"msq/"

struct msq_table *
msq_table_new(void)
{
	return xcalloc(1, sizeof(struct msq_table));
}

void
msq_table_free(struct msq_table *t)
{
	struct msq *q, *nq;

	if (t == NULL)
		return;
	for (q = t->head; q != NULL; q = nq) {
		nq = q->next;
		msq_free(q);
	}
	free(t);
}

size_t
msq_table_count(const struct msq_table *t)
{
	return t->n;
}

void
msq_line(char *buf, size_t sz, int node)
{
	if (node == 0)
		util_strlcpy(buf, MSQ_LINE, sz);
	else
		snprintf(buf, sz, MSQ_LINE "%d", node);
}

int
msq_is_line(const char *line)
{
	return strncmp(line, MSQ_LINE, strlen(MSQ_LINE)) == 0;
}

int
msq_applies(const struct msg *m, int group)
{
	return group && msg_key_answer(m->key) != MSG_KEY_NONE;
}

struct msq *
msq_new(uint64_t id, int key, const char *ori, const char *ctl,
    const char *line, const char *to, uint64_t created_us,
    uint64_t deadline_us, uint64_t forget_us)
{
	struct msq *q = xcalloc(1, sizeof *q);

	q->id = id;
	queue_msgid_fmt(q->idstr, sizeof q->idstr, id);
	q->key = key;
	util_strlcpy(q->ori, ori, sizeof q->ori);
	util_strlcpy(q->ctl, ctl, sizeof q->ctl);
	util_strlcpy(q->line, line, sizeof q->line);
	util_strlcpy(q->to, to, sizeof q->to);
	q->created_us = created_us;
	q->deadline_us = deadline_us;
	q->forget_us = forget_us;
	return q;
}

void
msq_member_add(struct msq *q, const char *line, const char *dest, int st)
{
	struct msq_member *mb;

	q->m = xrealloc(q->m, (size_t)(q->nmember + 1) * sizeof *q->m);
	mb = &q->m[q->nmember++];
	memset(mb, 0, sizeof *mb);
	util_strlcpy(mb->line, line, sizeof mb->line);
	util_strlcpy(mb->dest, dest, sizeof mb->dest);
	mb->st = st;
	mb->ord = q->nmember - 1;
}

void
msq_free(struct msq *q)
{
	if (q == NULL)
		return;
	free(q->m);
	free(q);
}

void
msq_table_add(struct msq_table *t, struct msq *q)
{
	q->next = NULL;
	if (t->tail != NULL)
		t->tail->next = q;
	else
		t->head = q;
	t->tail = q;
	t->n++;
}

void
msq_table_del(struct msq_table *t, struct msq *q)
{
	struct msq **pp, *prev = NULL;

	for (pp = &t->head; *pp != NULL; prev = *pp, pp = &(*pp)->next) {
		if (*pp != q)
			continue;
		*pp = q->next;
		if (t->tail == q)
			t->tail = prev;
		t->n--;
		msq_free(q);
		return;
	}
}

struct msq *
msq_table_first(struct msq_table *t)
{
	return t->head;
}

struct msq *
msq_table_find(struct msq_table *t, uint64_t id)
{
	struct msq *q;

	for (q = t->head; q != NULL; q = q->next)
		if (q->id == id)
			return q;
	return NULL;
}

struct msq *
msq_match(struct msq_table *t, int rkey, const char *ori, const char *ctl,
    const char *line, int *member)
{
	struct msq	*q;
	int		 i;

	for (q = t->head; q != NULL; q = q->next) {
		if ((int)msg_key_answer(q->key) != rkey ||
		    strcmp(q->ori, ori) != 0 || strcmp(q->ctl, ctl) != 0)
			continue;
		for (i = 0; i < q->nmember; i++)
			if ((q->m[i].st == MSQ_PENDING ||
			    q->m[i].st == MSQ_HELD) && !q->m[i].inflight &&
			    strcmp(q->m[i].line, line) == 0) {
				*member = i;
				return q;
			}
	}
	return NULL;
}

int
msq_count(const struct msq *q, int st)
{
	int i, n = 0;

	for (i = 0; i < q->nmember; i++)
		if (q->m[i].st == st)
			n++;
	return n;
}

int
msq_complete(const struct msq *q)
{
	return msq_count(q, MSQ_PENDING) + msq_count(q, MSQ_HELD) == 0;
}

struct msq *
msq_due(struct msq_table *t, uint64_t now_us)
{
	struct msq *q;

	for (q = t->head; q != NULL; q = q->next)
		if (!q->done && !q->busy && (q->deadline_us <= now_us ||
		    msq_complete(q)))
			return q;
	return NULL;
}

struct msq *
msq_late(struct msq_table *t, int *member)
{
	struct msq	*q;
	int		 i;

	for (q = t->head; q != NULL; q = q->next) {
		if (!q->done || q->busy)
			continue;
		for (i = 0; i < q->nmember; i++)
			if (q->m[i].answer != 0 && !q->m[i].inflight) {
				*member = i;
				return q;
			}
	}
	return NULL;
}

int
msq_finished(const struct msq *q, uint64_t now_us)
{
	int i;

	for (i = 0; i < q->nmember; i++)
		if (q->m[i].inflight || ((q->m[i].st == MSQ_PENDING ||
		    q->m[i].st == MSQ_HELD) && q->forget_us > now_us))
			return 0;
	return 1;
}

struct msq *
msq_stale(struct msq_table *t, uint64_t now_us)
{
	struct msq	*q;
	int		 i;

	for (q = t->head; q != NULL; q = q->next) {
		if (!q->done || q->busy || !msq_finished(q, now_us))
			continue;
		for (i = 0; i < q->nmember; i++)
			if (q->m[i].answer != 0)
				break;
		if (i == q->nmember)
			return q;
	}
	return NULL;
}

/*
 * State records.
 */

void
msq_states_head(struct queue_states *qs, const struct msq *q)
{
	queue_states_push(qs, xasprintf(MSQ_STATE_PREFIX "%s", q->idstr),
	    xasprintf("v1 %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %d %s %s %s "
	    "%s", msg_key_name(q->key), q->created_us, q->deadline_us,
	    q->forget_us, q->done, q->ori, q->line, q->ctl[0] != '\0' ?
	    q->ctl : "-", q->to));
}

void
msq_states_member(struct queue_states *qs, const struct msq *q, int i)
{
	msq_states_answer(qs, q, i, q->m[i].st, q->m[i].answer);
}

void
msq_states_answer(struct queue_states *qs, const struct msq *q, int i,
    int st, uint64_t answer)
{
	queue_states_push(qs, xasprintf(MSQ_STATE_PREFIX "%s/%s", q->idstr,
	    q->m[i].line), xasprintf("%c %s %" PRIx64 " %d", st,
	    q->m[i].dest, answer, q->m[i].ord));
}

void
msq_states_all(struct queue_states *qs, const struct msq *q)
{
	int i;

	msq_states_head(qs, q);
	for (i = 0; i < q->nmember; i++)
		msq_states_member(qs, q, i);
}

void
msq_states_del(struct queue_states *qs, const struct msq *q)
{
	int i;

	queue_states_push(qs, xasprintf(MSQ_STATE_PREFIX "%s", q->idstr),
	    NULL);
	for (i = 0; i < q->nmember; i++)
		queue_states_push(qs, xasprintf(MSQ_STATE_PREFIX "%s/%s",
		    q->idstr, q->m[i].line), NULL);
}

struct msq_load {
	struct msq_table	*t;
	int			(*keep)(uint64_t, const struct msq *, void *);
	void			*keeparg;
	uint64_t		 skip;		/* a query left out: its members */
	int			 skipping;
	struct queue_states	*bad;
	struct msq		*cur;	/* the query of the records read last */
};

/* A header's value into a new query; NULL if it does not read. */
static struct msq *
msq_parse_head(uint64_t id, const char *v)
{
	char			 key[8], ori[16], line[16], ctl[16], to[64];
	unsigned long long	 c, d, f;
	int			 done, k;

	if (sscanf(v, "v1 %7s %llu %llu %llu %d %15s %15s %15s %63s", key,
	    &c, &d, &f, &done, ori, line, ctl, to) != 9)
		return NULL;
	if ((k = msg_key_lookup(key)) == MSG_KEY_NONE ||
	    msg_key_answer(k) == MSG_KEY_NONE || strlen(ori) > MSG_ORI_LEN ||
	    strlen(line) > QUEUE_LINE_LEN || strlen(ctl) > MSG_CTL_LEN)
		return NULL;
	{
		struct msq *q = msq_new(id, k, ori, strcmp(ctl, "-") == 0 ?
		    "" : ctl, line, to, c, d, f);

		q->done = done != 0;
		return q;
	}
}

/* A member's value added to q; -1 if it does not read. */
static int
msq_parse_member(struct msq *q, const char *line, const char *v)
{
	char			 dest[16];
	char			 st;
	unsigned long long	 ans;
	int			 ord;

	if (sscanf(v, "%c %15s %llx %d", &st, dest, &ans, &ord) != 4 ||
	    strchr("PHNOLWC", st) == NULL || strlen(dest) > MSG_ORI_LEN ||
	    strlen(line) > QUEUE_LINE_LEN)
		return -1;
	msq_member_add(q, line, dest, st);
	q->m[q->nmember - 1].answer = ans;
	q->m[q->nmember - 1].ord = ord;
	return 0;
}

static int
msq_ord_cmp(const void *a, const void *b)
{
	const struct msq_member *x = a, *y = b;

	return (x->ord > y->ord) - (x->ord < y->ord);
}

static int
msq_load_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	struct msq_load		*ml = arg;
	char			 k[QUEUE_META_KEY_MAX + 1], v[QUEUE_STATE_MAX + 1];
	char			*idp, *line, *end;
	unsigned long long	 id;

	if (klen >= sizeof k || len >= sizeof v)
		return 0;
	memcpy(k, key, klen);
	k[klen] = '\0';
	memcpy(v, val, len);
	v[len] = '\0';
	idp = k + strlen(MSQ_STATE_PREFIX);
	if ((line = strchr(idp, '/')) != NULL)
		*line++ = '\0';
	id = strtoull(idp, &end, 16);
	if (*end != '\0' || end == idp)
		goto bad;
	if ((ml->keep != NULL && !ml->keep(id, NULL, ml->keeparg)) ||
	    (line != NULL && ml->skipping && ml->skip == id))
		return 0;
	if (line == NULL) {
		if ((ml->cur = msq_parse_head(id, v)) == NULL)
			goto bad;
		ml->skipping = 0;
		if (ml->keep != NULL && !ml->keep(id, ml->cur, ml->keeparg)) {
			/* Left out by its header: its members go unread. */
			msq_free(ml->cur);
			ml->cur = NULL;
			ml->skip = id;
			ml->skipping = 1;
			return 0;
		}
		msq_table_add(ml->t, ml->cur);
		return 0;
	}
	/* Keys sort a query's header before its members. */
	if (ml->cur != NULL && ml->cur->id == id &&
	    msq_parse_member(ml->cur, line, v) == 0)
		return 0;
	if (line != NULL)
		line[-1] = '/';
bad:
	log_warnx("msq: state record %s unreadable: dropped", k);
	if (ml->bad != NULL)
		queue_states_push(ml->bad, xstrdup(k), NULL);
	return 0;
}

int
msq_table_load(struct msq_table *t, struct queue *q,
    int (*keep)(uint64_t, const struct msq *, void *), void *keeparg,
    struct queue_states *bad)
{
	struct msq_load	 ml = { t, keep, keeparg, 0, 0, bad, NULL };
	struct msq	*e;

	if (queue_walk_state(q, MSQ_STATE_PREFIX, msq_load_cb, &ml) !=
	    QUEUE_E_OK)
		return -1;
	/* The store keeps members by line code: back to routing order. */
	for (e = t->head; e != NULL; e = e->next)
		qsort(e->m, (size_t)e->nmember, sizeof *e->m, msq_ord_cmp);
	return 0;
}

/*
 * The merged answer.
 */

/* One summary line: "WORDS N: A B C", nothing when nobody is in st. */
static void
msq_summary_line(struct ubuf *b, const struct msq *q, const char *words,
    int st, int st2)
{
	int i, n = 0;

	for (i = 0; i < q->nmember; i++)
		if (q->m[i].st == st || q->m[i].st == st2)
			n++;
	if (n == 0)
		return;
	ubuf_printf(b, "\n%s %d:", words, n);
	for (i = 0; i < q->nmember; i++)
		if (q->m[i].st == st || q->m[i].st == st2)
			ubuf_printf(b, " %s", q->m[i].dest);
}

void
msq_summary(struct ubuf *b, const struct msq *q, int late, uint64_t now_us)
{
	const char	*ctl = q->ctl[0] != '\0' ? q->ctl : "NONE";
	uint64_t	 secs;
	int		 i;

	if (late >= 0 && late < q->nmember && q->m[late].st == MSQ_CONT) {
		ubuf_printf(b, "MULTI-STATE RESPONSE TO %s FROM %s CTL %s TO %s, "
		    "CONTINUED\nFROM %s, A HIT THE SUMMARY LISTS (NO ROOM FOR IT "
		    "IN ONE MESSAGE)", msg_key_name(q->key), q->ori, ctl, q->to,
		    q->m[late].dest);
		return;
	}
	if (late >= 0 && late < q->nmember) {
		secs = now_us > q->created_us ? (now_us - q->created_us) /
		    1000000 : 0;
		ubuf_printf(b, "LATE RESPONSE TO MULTI-STATE %s FROM %s CTL %s "
		    "TO %s\nFROM %s, %" PRIu64 " SECONDS AFTER THE QUERY; THE "
		    "SUMMARY WAS SENT", msg_key_name(q->key), q->ori, ctl,
		    q->to, q->m[late].dest, secs);
		return;
	}
	ubuf_printf(b, "MULTI-STATE RESPONSE TO %s FROM %s CTL %s TO %s",
	    msg_key_name(q->key), q->ori, ctl, q->to);
	ubuf_printf(b, "\nQUERIED %d:", q->nmember);
	for (i = 0; i < q->nmember; i++)
		ubuf_printf(b, " %s", q->m[i].dest);
	msq_summary_line(b, q, "HIT", MSQ_HIT, MSQ_CONT);
	msq_summary_line(b, q, "NOT ON FILE", MSQ_NOREC, MSQ_NOREC);
	msq_summary_line(b, q, "OUT OF SERVICE, WILL FORWARD", MSQ_HELD,
	    MSQ_HELD);
	msq_summary_line(b, q, "OUT OF SERVICE, NOT FORWARDED", MSQ_OUT,
	    MSQ_OUT);
	msq_summary_line(b, q, "NO RESPONSE", MSQ_PENDING, MSQ_PENDING);
}

/* Where the root element of an XML document starts; NULL if none. */
static const char *
msq_root(const char *x, size_t len, size_t *rlen)
{
	const char	*p = x, *e = x + len, *q;

	while (p < e) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
			p++;
			continue;
		}
		if (*p != '<' || p + 1 >= e)
			return NULL;
		if (p[1] == '?')
			q = memmem(p, (size_t)(e - p), "?>", 2);
		else if (e - p >= 4 && memcmp(p, "<!--", 4) == 0)
			q = memmem(p, (size_t)(e - p), "-->", 3);
		else
			break;
		if (q == NULL)
			return NULL;
		p = q + (p[1] == '?' ? 2 : 3);
	}
	if (p >= e)
		return NULL;
	/* Trailing blanks and comments stay out too. */
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		e--;
	*rlen = (size_t)(e - p);
	return p;
}

int
msq_build(struct ubuf *b, const struct msq *q, int late,
    const char *const *bodies, const size_t *lens, int n, uint64_t now_us)
{
	struct ubuf	 sum;
	const char	*dest = q->ori, *root;
	size_t		 rlen, start = b->len;
	enum msg_key	 rkey = msg_key_answer(q->key);
	int		 i;

	msgbuild_begin(b, rkey, MSG_SWITCH_ORI, &dest, 1, q->ctl);
	ubuf_init(&sum);
	msq_summary(&sum, q, late, now_us);
	msgbuild_text_len(b, "n2:ResponseText", sum.data, sum.len);
	ubuf_free(&sum);
	for (i = 0; i < n; i++) {
		if ((root = msq_root(bodies[i], lens[i], &rlen)) == NULL) {
			b->len = start;
			if (b->data != NULL)
				b->data[start] = '\0';
			return -1;
		}
		ubuf_adds(b, "<n2:StateResponse>");
		ubuf_add(b, root, rlen);
		ubuf_adds(b, "</n2:StateResponse>\n");
	}
	msgbuild_end(b, rkey);
	return 0;
}
