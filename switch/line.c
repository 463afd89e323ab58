/*
 * line - see line.h.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "audit.h"
#include "counter.h"
#include "frame.h"
#include "legacy.h"
#include "msgbuild.h"
#include "line.h"
#include "log.h"
#include "recorder.h"
#include "session.h"
#include "util.h"

/* Keys delivered ahead of traffic. */
static const int line_prio_keys[] = { MSG_KEY_SM, MSG_KEY_ER };

/* Stop filling a session's output past this many bytes. */
#define LINE_MAX_OUTBUF	(8u << 20)
/* Bodies kept in memory for delivery, at most (the rest is read back). */
#define LINE_BODY_CACHE	((size_t)256 << 20)

struct line_pend {
	TAILQ_ENTRY(line_pend)	 entry;
	struct queue_copy	 c;
	struct line_body	*body;		/* or NULL: read from the store */
	uint64_t		 not_before;	/* monotonic us; backoff */
	uint64_t		 deadline;	/* monotonic us; ack timeout */
	uint32_t		 attempts;
	int			 inflight;
};
TAILQ_HEAD(line_plist, line_pend);

struct line {
	const struct config_line *cfg;
	struct line_host	*host;
	struct session		*sess;		/* connected endpoint or NULL */
	struct line_plist	 pending[MSG_KEY_MAX];	/* msgid order per key */
	struct line_plist	 inflight;
	int			 ninflight;
	uint64_t		 npending;
	/* Copies held for the line (pending + in flight): the quota's. */
	uint64_t		 qmsgs;
	uint64_t		 qbytes;
	/* Copies held anywhere of messages this line sent: its quota as a
	 * sender (queue_copy.from_line). */
	uint64_t		 sqmsgs;
	uint64_t		 sqbytes;
	uint8_t			 svc[MSG_KEY_MAX];	/* enum config_svc */
	struct counter		*in_seq;
	struct counter		*out_seq;
	/* The last deliveries and refusals, for the dashboard; n counts
	 * every one ever, the ring index is n % LINE_NRECENT. Each ring
	 * (1 KB and 8.5 KB) is allocated by the line's first delivery or
	 * refusal: most of 10,000 configured lines never have one. */
	struct line_delivery	*deliv;		/* LINE_NRECENT, or NULL */
	uint64_t		 ndeliv;
	struct line_refusal	*refused;	/* LINE_NRECENT, or NULL */
	uint64_t		 nrefused;
};

struct line_body *
line_body_new(struct line_host *host, char *data, size_t len, uint32_t stamp_off,
    uint64_t recv_us, uint64_t in_seq)
{
	struct line_body *b;

	b = xcalloc(1, sizeof *b);
	b->refs = 1;
	b->data = data;
	b->len = len;
	b->stamp_off = stamp_off;
	b->recv_us = recv_us;
	b->in_seq = in_seq;
	b->host = host;
	host->body_bytes += len;
	return b;
}

void
line_body_ref(struct line_body *b)
{
	b->refs++;
}

void
line_body_unref(struct line_body *b)
{
	if (b == NULL || --b->refs > 0)
		return;
	b->host->body_bytes -= b->len;
	free(b->data);
	free(b);
}

/* evbuffer cleanup of a body sent by reference. */
static void
line_body_release_cb(const void *data, size_t len, void *arg)
{
	(void)data;
	(void)len;
	line_body_unref(arg);
}

static void
line_pend_free(struct line_pend *p)
{
	line_body_unref(p->body);
	free(p);
}

/* The sender's share: the line a held copy's message came from. */
static void
line_charge_sender(struct line *l, const struct queue_copy *c, int sign)
{
	struct line *snd;

	if (c->from_line[0] == '\0' ||
	    (snd = l->host->by_code(l->host->arg, c->from_line)) == NULL)
		return;
	if (sign > 0) {
		snd->sqmsgs++;
		snd->sqbytes += c->size;
	} else if (snd->sqmsgs > 0) {
		snd->sqmsgs--;
		snd->sqbytes -= snd->sqbytes >= c->size ? c->size :
		    snd->sqbytes;
	}
}

static void
line_pend_drop(struct line *l, struct line_pend *p)
{
	l->qmsgs--;
	l->qbytes -= p->c.size;
	line_charge_sender(l, &p->c, -1);
	line_pend_free(p);
}

/* Apply the operator's service states kept in the store. */
static void
line_svc_restore(struct line *l)
{
	char		key[64];
	uint64_t	v;
	int		k;

	for (k = 1; k < MSG_KEY_MAX; k++) {
		snprintf(key, sizeof key, "svc.%s.%s", l->cfg->code,
		    msg_key_name(k));
		if ((v = queue_meta_get(l->host->q, key)) > 0 && v <= 3)
			l->svc[k] = (uint8_t)(v - 1);
	}
}

struct line *
line_new(struct line_host *host, const struct config_line *cl)
{
	struct line	*l = xcalloc(1, sizeof *l);
	int		 k;

	l->cfg = cl;
	l->host = host;
	for (k = 0; k < MSG_KEY_MAX; k++) {
		TAILQ_INIT(&l->pending[k]);
		l->svc[k] = cl->service[k];
	}
	TAILQ_INIT(&l->inflight);
	l->in_seq = counter_new(host->q, "in", cl->code);
	l->out_seq = counter_new(host->q, "out", cl->code);
	line_svc_restore(l);
	return l;
}

void
line_free(struct line *l)
{
	struct line_pend	*p;
	int			 k;

	if (l == NULL)
		return;
	for (k = 0; k < MSG_KEY_MAX; k++)
		while ((p = TAILQ_FIRST(&l->pending[k])) != NULL) {
			TAILQ_REMOVE(&l->pending[k], p, entry);
			line_pend_free(p);
		}
	while ((p = TAILQ_FIRST(&l->inflight)) != NULL) {
		TAILQ_REMOVE(&l->inflight, p, entry);
		line_pend_free(p);
	}
	counter_free(l->in_seq);
	counter_free(l->out_seq);
	free(l->deliv);
	free(l->refused);
	free(l);
}

void
line_adopt(struct line *nl, struct line *ol)
{
	int k;

	for (k = 0; k < MSG_KEY_MAX; k++)
		TAILQ_CONCAT(&nl->pending[k], &ol->pending[k], entry);
	TAILQ_CONCAT(&nl->inflight, &ol->inflight, entry);
	nl->ninflight = ol->ninflight;
	nl->npending = ol->npending;
	nl->qmsgs = ol->qmsgs;
	nl->qbytes = ol->qbytes;
	nl->sqmsgs = ol->sqmsgs;
	nl->sqbytes = ol->sqbytes;
	ol->qmsgs = ol->qbytes = ol->sqmsgs = ol->sqbytes = 0;
	ol->npending = 0;
	ol->ninflight = 0;
	counter_free(nl->in_seq);
	counter_free(nl->out_seq);
	nl->in_seq = ol->in_seq;
	nl->out_seq = ol->out_seq;
	ol->in_seq = ol->out_seq = NULL;
	nl->sess = ol->sess;
	ol->sess = NULL;
	free(nl->deliv);
	nl->deliv = ol->deliv;
	ol->deliv = NULL;
	nl->ndeliv = ol->ndeliv;
	free(nl->refused);
	nl->refused = ol->refused;
	ol->refused = NULL;
	nl->nrefused = ol->nrefused;
	if (nl->sess != NULL)
		session_set_owner(nl->sess, nl);
}

const struct config_line *
line_config(const struct line *l)
{
	return l->cfg;
}

struct session *
line_session(const struct line *l)
{
	return l->sess;
}

void
line_info(const struct line *l, struct line_info *li)
{
	memset(li, 0, sizeof *li);
	li->cfg = l->cfg;
	li->connected = l->sess != NULL;
	if (l->sess != NULL)
		util_strlcpy(li->peer, session_peer(l->sess), sizeof li->peer);
	line_depth(l, &li->queued, &li->bytes, &li->oldest_us);
	li->in_flight = l->ninflight;
	memcpy(li->svc, l->svc, sizeof li->svc);
}

void
line_held(const struct line *l, struct line_held *h)
{
	h->msgs = l->qmsgs;
	h->bytes = l->qbytes;
	h->sent_msgs = l->sqmsgs;
	h->sent_bytes = l->sqbytes;
}

void
line_note_refusal(struct line *l, const struct line_refusal *r)
{
	if (l->refused == NULL)
		l->refused = xcalloc(LINE_NRECENT, sizeof *l->refused);
	l->refused[l->nrefused++ % LINE_NRECENT] = *r;
}

const struct line_delivery *
line_delivery_at(const struct line *l, int i)
{
	if (i < 0 || i >= LINE_NRECENT || (uint64_t)i >= l->ndeliv)
		return NULL;
	return &l->deliv[(l->ndeliv - 1 - (uint64_t)i) % LINE_NRECENT];
}

const struct line_refusal *
line_refusal_at(const struct line *l, int i)
{
	if (i < 0 || i >= LINE_NRECENT || (uint64_t)i >= l->nrefused)
		return NULL;
	return &l->refused[(l->nrefused - 1 - (uint64_t)i) % LINE_NRECENT];
}

/* Keep a delivery its endpoint acknowledged (now_us: the DACK). */
static void
line_note_delivery(struct line *l, const struct line_pend *p,
    uint64_t now_us)
{
	struct line_delivery *d;

	if (l->deliv == NULL)
		l->deliv = xcalloc(LINE_NRECENT, sizeof *l->deliv);
	d = &l->deliv[l->ndeliv++ % LINE_NRECENT];
	memset(d, 0, sizeof *d);
	d->t_us = now_us;
	d->msgid = p->c.msgid;
	d->copy = p->c.copy;
	d->key = p->c.key;
	d->attempts = p->attempts;
	d->latency_us = now_us > p->c.enq_us ? now_us - p->c.enq_us : 0;
	if (p->body != NULL)
		util_strlcpy(d->ori, p->body->ori, sizeof d->ori);
	util_strlcpy(d->dest, p->c.dest, sizeof d->dest);
}

uint64_t
line_take_in_seq(struct line *l)
{
	return counter_take(l->in_seq);
}

uint64_t
line_take_out_seq(struct line *l)
{
	return counter_take(l->out_seq);
}

int
line_service(const struct line *l, int key)
{
	if (l->svc[key] != CONFIG_SVC_IN)
		return l->svc[key];
	if (l->sess == NULL)
		return CONFIG_SVC_HELD;	/* down: stored, forwarded later */
	return CONFIG_SVC_IN;
}

/* The recorder's view of a delivery or a session of the line. */
static void
line_who(const struct line *l, const struct session *s,
    struct recorder_who *w)
{
	w->sess = s != NULL ? session_id(s) : 0;
	w->line = l->cfg->code;
	w->cn = s != NULL ? session_cn(s) : l->cfg->cn;
}

/* Insert in delivery order (queue_copy_order: priority, so a DQG's
 * copies come after every other DQ, then the oldest message); new
 * copies almost always go last, returned ones first, so search from the
 * nearer end. */
static void
line_insert(struct line_plist *list, struct line_pend *p)
{
	struct line_pend *q;

	q = TAILQ_LAST(list, line_plist);
	if (q == NULL || queue_copy_order(&q->c, &p->c) < 0) {
		TAILQ_INSERT_TAIL(list, p, entry);
		return;
	}
	TAILQ_FOREACH(q, list, entry)
		if (queue_copy_order(&q->c, &p->c) > 0) {
			TAILQ_INSERT_BEFORE(q, p, entry);
			return;
		}
	TAILQ_INSERT_TAIL(list, p, entry);
}

void
line_add(struct line *l, const struct queue_copy *c)
{
	line_add_body(l, c, NULL);
}

void
line_add_body(struct line *l, const struct queue_copy *c,
    struct line_body *body)
{
	struct line_pend *p = xcalloc(1, sizeof *p);

	p->c = *c;
	/* Keep the body only for a line that can take it soon, and only
	 * up to the cache's size; the store has it anyway. */
	if (body != NULL && l->sess != NULL &&
	    l->host->body_bytes <= LINE_BODY_CACHE) {
		line_body_ref(body);
		p->body = body;
	}
	p->attempts = c->attempts;
	line_insert(&l->pending[c->key < MSG_KEY_MAX ? c->key : 0], p);
	l->npending++;
	l->qmsgs++;
	l->qbytes += c->size;
	line_charge_sender(l, c, 1);
	line_pump(l);
}

void
line_attach(struct line *l, struct session *s)
{
	struct recorder_who w;

	/* The old session's close detaches it (line_detach). */
	if (l->sess != NULL && l->sess != s)
		session_close(l->sess, "replaced by a new connection");
	l->sess = s;
	line_who(l, s, &w);
	recorder_line(&w, session_peer(s), 1);
	line_pump(l);
}

/* Put an in-flight copy back in front of its list with backoff. */
static void
line_requeue(struct line *l, struct line_pend *p, uint64_t now)
{
	const struct config	*cfg = l->host->cfg;
	uint64_t		 back;
	uint32_t		 n = p->attempts > 0 ? p->attempts - 1 : 0;

	TAILQ_REMOVE(&l->inflight, p, entry);
	l->ninflight--;
	p->inflight = 0;
	back = (uint64_t)cfg->retry_min * 1000000;
	while (n-- > 0 && back < (uint64_t)cfg->retry_max * 1000000)
		back *= 2;
	if (back > (uint64_t)cfg->retry_max * 1000000)
		back = (uint64_t)cfg->retry_max * 1000000;
	p->not_before = now + back;
	line_insert(&l->pending[p->c.key], p);
	l->npending++;
	l->host->stats->redelivered++;
}

void
line_detach(struct line *l, struct session *s)
{
	struct recorder_who	 w;
	struct line_pend	*p;
	uint64_t		 now = util_mono_us();
	int			 k;

	if (l->sess != s)
		return;
	line_who(l, s, &w);
	recorder_line(&w, session_peer(s), 0);
	l->sess = NULL;
	while ((p = TAILQ_FIRST(&l->inflight)) != NULL) {
		line_requeue(l, p, now);
		/* Reconnect is the retry trigger here, not the timer. */
		p->not_before = 0;
	}
	/* A line that is down may stay down: its copies wait in the store,
	 * not in memory. */
	for (k = 0; k < MSG_KEY_MAX; k++)
		TAILQ_FOREACH(p, &l->pending[k], entry) {
			line_body_unref(p->body);
			p->body = NULL;
		}
}

uint64_t
line_forget(struct line *l)
{
	struct line_pend	*p;
	uint64_t		 n = 0;
	int			 k;

	for (k = 0; k < MSG_KEY_MAX; k++)
		while ((p = TAILQ_FIRST(&l->pending[k])) != NULL) {
			TAILQ_REMOVE(&l->pending[k], p, entry);
			line_pend_drop(l, p);
			n++;
		}
	while ((p = TAILQ_FIRST(&l->inflight)) != NULL) {
		TAILQ_REMOVE(&l->inflight, p, entry);
		line_pend_drop(l, p);
		n++;
	}
	l->npending = 0;
	l->ninflight = 0;
	return n;
}

/* Next deliverable copy: SM/ER first, then among the keys that are in
 * service the oldest message of the highest priority (a DQG's copies
 * wait while any other traffic is ready). */
static struct line_pend *
line_next(struct line *l, uint64_t now)
{
	struct line_pend	*p, *best = NULL;
	size_t			 i;
	int			 k;

	for (i = 0; i < sizeof line_prio_keys / sizeof line_prio_keys[0]; i++) {
		p = TAILQ_FIRST(&l->pending[line_prio_keys[i]]);
		if (p != NULL && p->not_before <= now)
			return p;
	}
	for (k = 1; k < MSG_KEY_MAX; k++) {
		if (k == MSG_KEY_SM || k == MSG_KEY_ER ||
		    l->svc[k] != CONFIG_SVC_IN)
			continue;
		p = TAILQ_FIRST(&l->pending[k]);
		if (p == NULL || p->not_before > now)
			continue;
		if (best == NULL || queue_copy_order(&p->c, &best->c) < 0)
			best = p;
	}
	return best;
}

/* Account a copy as sent and waiting for its DACK. */
static void
line_sent(struct line *l, struct line_pend *p, uint64_t now)
{
	p->attempts++;
	p->inflight = 1;
	p->deadline = now + (uint64_t)l->host->cfg->ack_timeout * 1000000;
	TAILQ_INSERT_TAIL(&l->inflight, p, entry);
	l->ninflight++;
}

/*
 * The receiving ORI a delivery names (the legacy output header's third
 * line, the XML DestinationORIID): the ORI it was addressed to, else the
 * line's own first ORI (a copy routed to a member or region code).
 */
static const char *
line_recv_ori(const struct line *l, const struct line_pend *p)
{
	if (msg_ori_is_valid(p->c.dest))
		return p->c.dest;
	return l->cfg->nori > 0 ? l->cfg->ori[0] : NULL;
}

/*
 * A legacy line gets the stamped message rendered as text. A photo cannot
 * travel in text: the rendering carries a note instead of it.
 */
static int
line_deliver_text(struct line *l, struct line_pend *p, struct line_body *b,
    const struct msgbuild_stamp *st, const char *id, uint64_t now)
{
	struct recorder_who w;
	struct ubuf	 xml, text;
	char		*cause = NULL;

	ubuf_init(&xml);
	ubuf_init(&text);
	msgbuild_stamp(&xml, b->data, b->len, b->stamp_off, st);
	if (legacy_from_xml(l->host->schema, xml.data, xml.len, st->recv_ori,
	    &text, &cause) == -1) {
		/* Cannot happen for a message the switch accepted; do not
		 * lose it: it goes to the dead letters for an operator. */
		log_warnx("line: %s: %s: cannot render as text: %s -> dead "
		    "letters", l->cfg->code, id, cause);
		free(cause);
		ubuf_free(&xml);
		l->host->dead_letter(l->host->arg, l, &p->c, QUEUE_E_OK);
		return -1;
	}
	session_send(l->sess, FRAME_DLV, p->c.copy, p->c.msgid, text.data,
	    text.len);
	line_who(l, l->sess, &w);
	recorder_dlv(&w, p->c.msgid, p->c.copy, text.data, text.len, NULL, 0);
	line_sent(l, p, now);
	ubuf_free(&xml);
	ubuf_free(&text);
	return 0;
}

/*
 * What a copy flagged QUEUE_COPY_NOIMQ or QUEUE_COPY_NOIMAGE delivers:
 * its body without the image request and the photo purpose (the photo
 * policy withheld the photo from this destination, docs/policy.md), or
 * the mail without its pictures and their purpose, rendered from the
 * shared body at every delivery, so the store keeps one body per message
 * and a restart changes nothing. One reference, or NULL if it cannot be
 * made.
 */
static struct line_body *
line_body_withheld(struct line_host *host, const struct line_body *b,
    uint8_t cflags)
{
	struct line_body	*nb;
	struct ubuf		 out;
	char			*data;
	size_t			 len;
	int			 rc;

	ubuf_init(&out);
	if (cflags & QUEUE_COPY_NOIMAGE)
		rc = msgbuild_image_strip(&out, b->data, b->len);
	else
		rc = msgbuild_imq_strip(&out, b->data, b->len);
	if (rc < 0) {
		ubuf_free(&out);
		return NULL;
	}
	data = ubuf_take(&out, &len);
	nb = line_body_new(host, data, len, b->stamp_off, b->recv_us,
	    b->in_seq);
	util_strlcpy(nb->ori, b->ori, sizeof nb->ori);
	util_strlcpy(nb->ctl, b->ctl, sizeof nb->ctl);
	nb->flags = b->flags & ~(cflags & QUEUE_COPY_NOIMAGE ?
	    QUEUE_MSG_PHOTO : QUEUE_MSG_IMQ);
	return nb;
}

/* Send one copy: frame header and the stamped head copied, the rest of
 * the body by reference. @return 0, or -1 if it cannot be read (it went
 * to the dead letters). */
static int
line_deliver(struct line *l, struct line_pend *p, uint64_t now)
{
	struct line_host	*host = l->host;
	struct recorder_who	 w;
	struct queue_msgrec	 rec;
	struct line_body	*b = p->body, *own = NULL;
	struct ubuf		 raw, stamp;
	struct msgbuild_stamp	 st;
	struct evbuffer		*out;
	uint8_t			 hdr[FRAME_HDR_LEN];
	char			 id[32];
	size_t			 resume;
	int			 rc;

	queue_copyid_fmt(id, sizeof id, p->c.msgid, p->c.copy);
	if (b == NULL) {
		ubuf_init(&raw);
		if ((rc = queue_get(host->q, p->c.msgid, &rec, &raw)) !=
		    QUEUE_E_OK) {
			/* Unreadable (quarantined) or missing: the copy goes
			 * to the dead-letter area where an operator can see
			 * it, instead of coming back at every start, and its
			 * sender is told (SM .09). */
			host->dead_letter(host->arg, l, &p->c, rc);
			ubuf_free(&raw);
			return -1;
		}
		b = line_body_new(host, NULL, 0, rec.stamp_off, rec.recv_us,
		    rec.in_seq);
		b->data = ubuf_take(&raw, &b->len);
		util_strlcpy(b->ori, rec.ori, sizeof b->ori);
		util_strlcpy(b->ctl, rec.ctl, sizeof b->ctl);
		b->flags = rec.flags;
		host->body_bytes += b->len;
		p->body = b;
	}
	if (p->c.flags & (QUEUE_COPY_NOIMQ | QUEUE_COPY_NOIMAGE)) {
		if ((own = line_body_withheld(host, b, p->c.flags)) == NULL) {
			/* Never the photo request or the picture instead:
			 * the copy goes to the dead letters for an
			 * operator. */
			log_warnx("line: %s: %s: cannot remove the %s -> dead "
			    "letters", l->cfg->code, id, p->c.flags &
			    QUEUE_COPY_NOIMAGE ? "picture" : "image request");
			host->dead_letter(host->arg, l, &p->c, QUEUE_E_OK);
			return -1;
		}
		b = own;
	}
	memset(&st, 0, sizeof st);
	st.recv_us = b->recv_us;
	st.in_seq = b->in_seq;
	st.send_us = util_now_us();
	st.out_seq = counter_take(l->out_seq);
	st.recv_ori = line_recv_ori(l, p);
	if (l->cfg->format == CONFIG_FMT_LEGACY) {
		rc = line_deliver_text(l, p, b, &st, id, now);
		line_body_unref(own);
		return rc;
	}
	ubuf_init(&stamp);
	msgbuild_stamp_head(&stamp, b->data, b->len, b->stamp_off, &st,
	    &resume);

	/* Frame header and the stamped message header are copied into one
	 * piece of a few hundred bytes, one TLS record; the body goes by
	 * reference. */
	out = session_outbuf(l->sess);
	frame_encode(hdr, FRAME_DLV, p->c.copy, p->c.msgid,
	    (uint32_t)(stamp.len + (b->len - resume)));
	evbuffer_add(out, hdr, sizeof hdr);
	evbuffer_add(out, stamp.data, stamp.len);
	line_body_ref(b);
	evbuffer_add_reference(out, b->data + resume, b->len - resume,
	    line_body_release_cb, b);
	session_sent(l->sess);
	line_who(l, l->sess, &w);
	recorder_dlv(&w, p->c.msgid, p->c.copy, stamp.data, stamp.len,
	    b->data + resume, b->len - resume);
	/* Delivered once from memory; a redelivery reads the store again
	 * only if the line went down meanwhile (line_detach). */
	line_sent(l, p, now);
	log_trace(TRACE_QUEUE, "line: %s: deliver %s attempt=%u size=%zu%s",
	    l->cfg->code, id, p->attempts, stamp.len + (b->len - resume),
	    own == NULL ? "" : p->c.flags & QUEUE_COPY_NOIMAGE ?
	    " picture=withheld" : " image-request=withheld");
	ubuf_free(&stamp);
	line_body_unref(own);
	return 0;
}

void
line_pump(struct line *l)
{
	struct line_pend	*p;
	uint64_t		 now;

	/* Nothing pending: the session, its SSL object and its buffers
	 * are not touched (each tick pumps every line: 10,000 idle ones
	 * cost the loop 8 ms a second of cache misses through
	 * session_outlen). */
	if (l->npending == 0 || l->sess == NULL ||
	    !session_is_active(l->sess))
		return;
	now = util_mono_us();
	while (l->ninflight < l->host->cfg->window &&
	    session_outlen(l->sess) < LINE_MAX_OUTBUF &&
	    (p = line_next(l, now)) != NULL) {
		TAILQ_REMOVE(&l->pending[p->c.key], p, entry);
		l->npending--;
		if (line_deliver(l, p, now) == -1)
			line_pend_drop(l, p);
		if (l->sess == NULL)
			break;
	}
}

static void
line_delete_done_cb(struct queue_op *op, void *arg)
{
	char id[32];

	(void)arg;
	if (op->result != QUEUE_E_OK) {
		queue_copyid_fmt(id, sizeof id, op->copies[0].msgid,
		    op->copies[0].copy);
		log_warnx("line: %s: delete of delivered %s failed: %s "
		    "(it will be redelivered after a restart)",
		    op->copies[0].line, id, queue_strerror(op->result));
	}
	free(op->copies);
	free((char *)op->audit);
	free(op);
}

/* The "delivered" record, committed with the delete of the copy. */
static char *
line_audit_delivered(struct line *l, const struct line_pend *p)
{
	struct audit_rec *b;
	char		 id[32];

	queue_copyid_fmt(id, sizeof id, p->c.msgid, p->c.copy);
	b = audit_begin(util_now_us(), "line", "delivered");
	audit_str(b, "msgid", id);
	audit_str(b, "line", l->cfg->code);
	audit_str(b, "ori", p->body != NULL ? p->body->ori : NULL);
	audit_str(b, "ctl", p->body != NULL ? p->body->ctl : NULL);
	audit_str(b, "mke", msg_key_name((enum msg_key)p->c.key));
	audit_str(b, "dest", p->c.dest);
	if (p->c.flags & QUEUE_COPY_NOIMAGE)
		audit_str(b, "photo", "withheld");
	else if (p->body != NULL && (p->body->flags & QUEUE_MSG_PHOTO))
		audit_str(b, "photo", "delivered; the switch keeps no copy");
	if (p->c.flags & QUEUE_COPY_NOIMQ)
		audit_str(b, "imq", "withheld");
	audit_num(b, "attempts", p->attempts);
	audit_str(b, "outcome", "acknowledged");
	audit_num(b, "size", p->c.size);
	return audit_end(b);
}

void
line_dack(struct line *l, uint64_t msgid, uint16_t copy)
{
	struct line_pend	*p;
	struct queue_op		*op;
	uint64_t		 now_us = util_now_us();

	TAILQ_FOREACH(p, &l->inflight, entry)
		if (p->c.msgid == msgid && p->c.copy == copy)
			break;
	if (p == NULL) {
		/* Late ack of a copy already redelivered or deleted. */
		log_debug("line: %s: ack for unknown delivery %llx.%u",
		    l->cfg->code, (unsigned long long)msgid, copy);
		return;
	}
	TAILQ_REMOVE(&l->inflight, p, entry);
	l->ninflight--;
	l->host->stats->delivered++;
	if (p->c.key < MSG_KEY_MAX)
		l->host->stats->delivered_key[p->c.key]++;
	metrics_hist_add(&l->host->stats->e2e_latency,
	    (double)(now_us - p->c.enq_us) / 1e6);
	line_note_delivery(l, p, now_us);

	op = xcalloc(1, sizeof *op);
	op->type = QUEUE_OP_DELETE;
	op->copies = xmalloc(sizeof *op->copies);
	op->copies[0] = p->c;
	op->ncopies = 1;
	op->audit = line_audit_delivered(l, p);
	op->done = line_delete_done_cb;
	queue_submit(l->host->q, op);
	line_pend_drop(l, p);
	line_pump(l);
}

void
line_depth(const struct line *l, uint64_t *n, uint64_t *bytes, uint64_t *oldest)
{
	struct line_pend	*p;
	int			 k;

	*n = *bytes = *oldest = 0;
	for (k = 0; k < MSG_KEY_MAX; k++)
		TAILQ_FOREACH(p, &l->pending[k], entry) {
			(*n)++;
			*bytes += p->c.size;
			if (*oldest == 0 || p->c.enq_us < *oldest)
				*oldest = p->c.enq_us;
		}
	TAILQ_FOREACH(p, &l->inflight, entry) {
		(*n)++;
		*bytes += p->c.size;
		if (*oldest == 0 || p->c.enq_us < *oldest)
			*oldest = p->c.enq_us;
	}
}

int
line_has_deliverable(const struct line *l)
{
	int k;

	for (k = 1; k < MSG_KEY_MAX; k++)
		if (l->svc[k] == CONFIG_SVC_IN && !TAILQ_EMPTY(&l->pending[k]))
			return 1;
	return 0;
}

void
line_tick(struct line *l, uint64_t now, uint64_t now_us)
{
	struct line_pend	*p, *next;
	int			 k;
	uint64_t		 ttl;

	for (p = TAILQ_FIRST(&l->inflight); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (p->deadline <= now)
			line_requeue(l, p, now);
	}
	for (k = 1; k < MSG_KEY_MAX; k++) {
		/* Notices wait longer for their offline sender. */
		ttl = (k == MSG_KEY_SM || k == MSG_KEY_ER ?
		    l->host->cfg->notice_ttl :
		    (uint64_t)l->host->cfg->held_ttl) * 1000000;
		while ((p = TAILQ_FIRST(&l->pending[k])) != NULL &&
		    p->c.enq_us + ttl <= now_us) {
			TAILQ_REMOVE(&l->pending[k], p, entry);
			l->npending--;
			l->host->dead_letter(l->host->arg, l, &p->c,
			    QUEUE_E_OK);
			line_pend_drop(l, p);
		}
	}
	line_pump(l);
}

void
line_walk(const struct line *l, void (*cb)(void *, const struct queue_copy *,
    const char *, uint32_t), void *arg)
{
	const struct line_pend	*p;
	int			 k;

	for (k = 0; k < MSG_KEY_MAX; k++)
		TAILQ_FOREACH(p, &l->pending[k], entry)
			cb(arg, &p->c, l->svc[k] != CONFIG_SVC_IN ? "held" :
			    l->sess != NULL ? "queued" : "waiting-for-line",
			    p->attempts);
	TAILQ_FOREACH(p, &l->inflight, entry)
		cb(arg, &p->c, "in-flight", p->attempts);
}

int
line_purge(struct line *l, int (*select)(void *, const struct queue_copy *),
    void (*dropped)(void *, const struct queue_copy *), void *arg)
{
	struct line_pend	*p, *next;
	int			 k, n = 0;

	for (k = 0; k < MSG_KEY_MAX; k++)
		for (p = TAILQ_FIRST(&l->pending[k]); p != NULL; p = next) {
			next = TAILQ_NEXT(p, entry);
			if (!select(arg, &p->c))
				continue;
			TAILQ_REMOVE(&l->pending[k], p, entry);
			l->npending--;
			dropped(arg, &p->c);
			line_pend_drop(l, p);
			n++;
		}
	return n;
}

const char *
line_svc_name(int st)
{
	switch (st) {
	case CONFIG_SVC_HELD:
		return "held";
	case CONFIG_SVC_REMOVED:
		return "removed";
	}
	return "in";
}

static void
line_svc_done_cb(struct queue_op *op, void *arg)
{
	(void)arg;
	if (op->result != QUEUE_E_OK)
		log_warnx("line: service state %s not committed: %s",
		    op->meta_key, queue_strerror(op->result));
	free((char *)op->meta_key);
	free((char *)op->audit);
	free(op);
}

void
line_set_service(struct line *l, uint32_t mask, int st)
{
	struct queue_op		*op;
	struct audit_rec	*a;
	int			 k;

	for (k = 1; k < MSG_KEY_MAX; k++) {
		if (!(mask & (1u << k)))
			continue;
		l->svc[k] = (uint8_t)st;
		/* The operator's word survives a restart (and wins over the
		 * config file until the operator changes it again). */
		op = xcalloc(1, sizeof *op);
		op->type = QUEUE_OP_META;
		op->meta_key = xasprintf("svc.%s.%s", l->cfg->code,
		    msg_key_name(k));
		op->meta_value = (uint64_t)st + 1;
		a = audit_begin(util_now_us(), "control", "service");
		audit_str(a, "line", l->cfg->code);
		audit_str(a, "mke", msg_key_name(k));
		audit_str(a, "state", line_svc_name(st));
		op->audit = audit_end(a);
		op->done = line_svc_done_cb;
		queue_submit(l->host->q, op);
	}
	line_pump(l);
}
