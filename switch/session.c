/*
 * session - see session.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "frame.h"
#include "log.h"
#include "msg.h"
#include "session.h"
#include "tls.h"
#include "util.h"

/* Stop reading a session while this many of its messages await a commit. */
#define SESSION_MAX_UNCOMMITTED	4096
/*
 * A session that sent ERROR closes when the frame has left for the socket;
 * checked on every emptied output buffer and every SESSION_LINGER_POLL_US,
 * and given up after SESSION_LINGER_US: a peer that does not read cannot
 * keep the connection.
 */
#define SESSION_LINGER_US	(2 * 1000000)
/*
 * A session that has read and written nothing for this long gives back
 * its buffers (tls_bev_release): an idle line costs its socket, its
 * SSL object and its structs, not the 80 KB of record buffers a busy one
 * uses. Checked once a second (session_tick), so a line that talks every
 * second or more often keeps them, and one that goes quiet gives them
 * back within two seconds.
 */
#define SESSION_IDLE_US		(1 * 1000000)
#define SESSION_LINGER_POLL_US	10000

enum session_state {
	SESSION_ST_HANDSHAKE = 0,
	SESSION_ST_ACTIVE,
	SESSION_ST_CLOSING,	/* ERROR queued, waiting for it to leave */
	SESSION_ST_CLOSED
};

struct session {
	uint64_t		 id;
	struct session_host	*host;
	struct bufferevent	*bev;
	enum session_state	 state;
	void			*owner;		/* set in ACTIVE */
	char			 code[16];	/* the owner's line code */
	char			 peer[64];	/* address:port */
	char			 cn[65];
	uint64_t		 last_rx_us;	/* monotonic */
	uint64_t		 last_tx_us;
	uint64_t		 released_us;	/* buffers last given back */
	struct event		*ev_linger;	/* CLOSING: drain check */
	uint64_t		 linger_end_us;	/* CLOSING: close by then */
	char			 error[128];	/* CLOSING: the ERROR's text */
	int			 refs;		/* pending ops + the connection */
	int			 uncommitted;	/* MSGs awaiting their commit */
	int			 read_paused;
	TAILQ_ENTRY(session)	 entry;
};

static void	session_read_cb(struct bufferevent *, void *);
static void	session_write_cb(struct bufferevent *, void *);
static void	session_read_frames(struct session *);
static void	session_event_cb(struct bufferevent *, short, void *);
static void	session_linger_cb(evutil_socket_t, short, void *);
static void	session_error(struct session *, const char *);
static void	session_closing_check(struct session *);
static void	session_identify(struct session *);
static void	session_idle(struct session *, uint64_t);

static const char *const session_state_names[] = {
	"HANDSHAKE", "ACTIVE", "CLOSING", "CLOSED"
};

static void
session_set_state(struct session *s, enum session_state st)
{
	static const int ok[4][4] = {
		/* to: HANDSHAKE ACTIVE CLOSING CLOSED */
		{ 0, 1, 0, 1 },	/* from HANDSHAKE */
		{ 0, 0, 1, 1 },	/* from ACTIVE */
		{ 0, 0, 0, 1 },	/* from CLOSING */
		{ 0, 0, 0, 0 }	/* from CLOSED */
	};

	if (!ok[s->state][st])
		fatalx("session: %llu: bad transition %s -> %s",
		    (unsigned long long)s->id, session_state_names[s->state],
		    session_state_names[st]);
	log_trace(TRACE_SESSION, "session: %llu: %s -> %s",
	    (unsigned long long)s->id, session_state_names[s->state],
	    session_state_names[st]);
	if (s->state == SESSION_ST_ACTIVE)
		s->host->nactive--;
	if (st == SESSION_ST_ACTIVE)
		s->host->nactive++;
	s->state = st;
}

struct session *
session_new(struct session_host *host, uint64_t id, int fd, SSL *ssl,
    const char *peer)
{
	struct session	*s;
	int		 up;

	s = xcalloc(1, sizeof *s);
	s->id = id;
	s->host = host;
	s->state = SESSION_ST_HANDSHAKE;
	util_strlcpy(s->code, "-", sizeof s->code);
	s->refs = 1;
	util_strlcpy(s->peer, peer, sizeof s->peer);
	s->last_rx_us = s->last_tx_us = util_mono_us();
	/* The handshake is done (handshake.c): the bufferevent starts open. */
	s->bev = bufferevent_openssl_socket_new(host->base, fd, ssl,
	    BUFFEREVENT_SSL_OPEN, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		log_warnx("session: %llu: cannot create bufferevent",
		    (unsigned long long)s->id);
		SSL_free(ssl);
		evutil_closesocket(fd);
		free(s);
		return NULL;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	bufferevent_setcb(s->bev, session_read_cb, NULL, session_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&host->list, s, entry);
	host->nlist++;
	log_debug("session: %llu: handshake done peer=%s",
	    (unsigned long long)s->id, peer);
	/* session_identify may close (and so free) the session. */
	session_ref(s);
	session_identify(s);
	if ((up = s->state == SESSION_ST_ACTIVE)) {
		if (tls_bev_combine(s->bev) == -1)
			log_debug("session: %llu: records written one by one",
			    (unsigned long long)s->id);
		/* Frames that came with the handshake's last flight wait in
		 * OpenSSL's read-ahead buffer. */
		tls_bev_pending(s->bev);
		/* Else the 64 KB read-ahead buffer the handshake filled goes
		 * back now, for the next handshake of a burst to reuse (the
		 * write buffer, busy with HELLO, goes at the first tick the
		 * line is idle: session_idle). */
		if (tls_bev_release(s->bev) == 0)
			s->host->nreleased++;
	}
	session_unref(s);
	return up ? s : NULL;
}

int
session_is_active(const struct session *s)
{
	return s->state == SESSION_ST_ACTIVE;
}

void *
session_owner(const struct session *s)
{
	return s->owner;
}

void
session_set_owner(struct session *s, void *owner)
{
	s->owner = owner;
}

uint64_t
session_id(const struct session *s)
{
	return s->id;
}

const char *
session_cn(const struct session *s)
{
	return s->cn;
}

const char *
session_peer(const struct session *s)
{
	return s->peer;
}

const char *
session_code(const struct session *s)
{
	return s->code;
}

/* The session stops serving its owner. */
static void
session_release(struct session *s)
{
	void *owner = s->owner;

	s->owner = NULL;
	if (owner != NULL)
		s->host->cbs->detach(s->host->arg, s, owner);
}

void
session_host_init(struct session_host *h, struct event_base *base,
    const struct config *cfg, const struct session_cbs *cbs, void *arg)
{
	memset(h, 0, sizeof *h);
	h->base = base;
	h->cfg = cfg;
	h->cbs = cbs;
	h->arg = arg;
	TAILQ_INIT(&h->list);
}

void
session_host_close(struct session_host *h, const char *why)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&h->list)) != NULL)
		session_close(s, why);
}

struct session *
session_first(struct session_host *h)
{
	return TAILQ_FIRST(&h->list);
}

struct session *
session_next(struct session *s)
{
	return TAILQ_NEXT(s, entry);
}

void
session_ref(struct session *s)
{
	s->refs++;
}

void
session_unref(struct session *s)
{
	if (--s->refs > 0)
		return;
	free(s);
}

void
session_close(struct session *s, const char *why)
{
	if (s->state == SESSION_ST_CLOSED)
		return;
	/* A CLOSING session's error was logged when it was found. */
	if (s->state == SESSION_ST_CLOSING)
		log_debug("session: %llu: closed peer=%s reason=\"%s\"",
		    (unsigned long long)s->id, s->peer, why);
	else
		log_info("session: %llu: closed line=%s peer=%s "
		    "reason=\"%s\"", (unsigned long long)s->id,
		    s->code, s->peer, why);
	session_set_state(s, SESSION_ST_CLOSED);
	if (s->ev_linger != NULL) {
		event_free(s->ev_linger);
		s->ev_linger = NULL;
	}
	session_release(s);
	if (s->bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

		/* Best effort close_notify; the socket closes with the bev. */
		if (ssl != NULL)
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
		tls_bev_free(s->bev);
		s->bev = NULL;
	}
	s->host->nclosed++;
	/* The tick round's cursor moves past a session that leaves. */
	if (s->host->tick_next == s)
		s->host->tick_next = TAILQ_NEXT(s, entry);
	TAILQ_REMOVE(&s->host->list, s, entry);
	s->host->nlist--;
	session_unref(s);
}

/*
 * Refuse the peer for a protocol error (docs/protocol.md): queue an ERROR
 * frame with the reason and go to CLOSING. The line is released at once
 * (its deliveries wait for the next connection); nothing else is sent;
 * the connection closes once the ERROR has left (session_write_cb,
 * session_linger_cb), at the latest SESSION_LINGER_US later.
 */
static void
session_error(struct session *s, const char *why)
{
	struct timeval	tv = { 0, SESSION_LINGER_POLL_US };

	if (s->state != SESSION_ST_ACTIVE) {
		session_close(s, why);
		return;
	}
	log_info("session: %llu: protocol error line=%s peer=%s "
	    "reason=\"%s\"", (unsigned long long)s->id,
	    s->code, s->peer, why);
	util_strlcpy(s->error, why, sizeof s->error);
	if ((s->ev_linger = evtimer_new(s->host->base, session_linger_cb,
	    s)) == NULL || frame_add(bufferevent_get_output(s->bev),
	    FRAME_ERROR, 0, 0, why, strlen(why)) == -1) {
		session_close(s, why);
		return;
	}
	s->last_tx_us = util_mono_us();
	session_set_state(s, SESSION_ST_CLOSING);
	session_release(s);
	s->linger_end_us = util_mono_us() + SESSION_LINGER_US;
	/* Reading goes on only to drop what comes (a close with unread
	 * input would reset the connection and could lose the ERROR). */
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb,
	    session_event_cb, s);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->read_paused = 0;
	evtimer_add(s->ev_linger, &tv);
}

/* CLOSING: close as soon as the ERROR is on the socket, or at the end of
 * the linger (what is still queued, the ERROR with it, is dropped). */
static void
session_closing_check(struct session *s)
{
	size_t	left = tls_bev_outlen(s->bev);

	if (left == 0) {
		session_close(s, s->error);
		return;
	}
	if (util_mono_us() >= s->linger_end_us) {
		log_info("session: %llu: ERROR not taken by the peer, closing "
		    "peer=%s unsent=%zu", (unsigned long long)s->id, s->peer,
		    left);
		session_close(s, s->error);
	}
}

/* The output buffer emptied (only set in CLOSING). */
static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	(void)bev;
	if (s->state == SESSION_ST_CLOSING)
		session_closing_check(s);
}

static void
session_linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session	*s = arg;
	struct timeval	 tv = { 0, SESSION_LINGER_POLL_US };

	(void)fd;
	(void)what;
	session_ref(s);		/* the check may close the session */
	session_closing_check(s);
	if (s->state == SESSION_ST_CLOSING)
		evtimer_add(s->ev_linger, &tv);
	session_unref(s);
}

void
session_send(struct session *s, uint8_t type, uint16_t copy, uint64_t id,
    const void *payload, size_t len)
{
	if (s->state != SESSION_ST_ACTIVE || s->bev == NULL)
		return;
	if (frame_add(bufferevent_get_output(s->bev), type, copy, id, payload,
	    len) == -1) {
		session_close(s, "output buffer allocation failed");
		return;
	}
	s->last_tx_us = util_mono_us();
}

struct evbuffer *
session_outbuf(struct session *s)
{
	return bufferevent_get_output(s->bev);
}

void
session_sent(struct session *s)
{
	s->last_tx_us = util_mono_us();
}

size_t
session_outlen(const struct session *s)
{
	if (s->bev == NULL)
		return 0;
	return tls_bev_outlen(s->bev);
}

/* Handshake done: the verified certificate must name a line. */
static void
session_identify(struct session *s)
{
	const struct session_host	*h = s->host;
	SSL				*ssl = bufferevent_openssl_get_ssl(s->bev);
	void				*owner;
	char				 hello[256];
	int				 verified;

	verified = tls_peer_cn(ssl, s->cn, sizeof s->cn) == 0;
	if ((owner = h->cbs->bind(h->arg, s, verified ? s->cn : NULL, s->code,
	    sizeof s->code)) == NULL) {
		session_close(s, verified ? "certificate names no configured "
		    "line" : "no verified client certificate");
		return;
	}
	session_set_state(s, SESSION_ST_ACTIVE);
	s->owner = owner;
	snprintf(hello, sizeof hello, "line=%s window=%d heartbeat=%d "
	    "max-frame=%zu", s->code, h->cfg->window, h->cfg->heartbeat,
	    h->cfg->max_frame);
	session_send(s, FRAME_HELLO, 0, 0, hello, strlen(hello));
	log_info("session: %llu: line up line=%s cn=%s peer=%s %s",
	    (unsigned long long)s->id, s->code, s->cn, s->peer,
	    SSL_get_version(ssl));
	h->cbs->attach(h->arg, s, owner);
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session	*s = arg;
	int		 closed;

	(void)bev;
	/* Frames that arrived before the close or the error (OpenSSL may
	 * have read them in the same read as the alert) still count: the
	 * last DACK of a peer that hangs up must not cause a redelivery. */
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) &&
	    s->state == SESSION_ST_ACTIVE && !s->read_paused) {
		session_ref(s);
		session_read_frames(s);
		closed = s->state == SESSION_ST_CLOSED;
		session_unref(s);
		if (closed)
			return;
	}
	if (s->state == SESSION_ST_CLOSING) {
		/* The peer broke after our ERROR, or stopped sending: then
		 * the ERROR may still reach it (bounded by the linger). */
		if (what & BEV_EVENT_ERROR) {
			session_close(s, s->error);
			return;
		}
		bufferevent_disable(bev, EV_READ);	/* EOF stays readable */
		session_closing_check(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		session_close(s, "connection error");
		return;
	}
	if (what & BEV_EVENT_EOF)
		session_close(s, "peer closed");
}

/* Reading resumes when the commit backlog of this session drains. */
void
session_committed(struct session *s)
{
	s->uncommitted--;
	if (s->read_paused && s->uncommitted < SESSION_MAX_UNCOMMITTED / 2 &&
	    s->state == SESSION_ST_ACTIVE) {
		s->read_paused = 0;
		bufferevent_enable(s->bev, EV_READ);
		session_read_cb(s->bev, s);
	}
}

/* The peer closes after its ERROR (docs/protocol.md): so do we, no reply. */
static void
session_peer_error(struct session *s, const struct frame *f)
{
	char	why[128];
	size_t	i, n;

	/* Its text goes to the log: printable ASCII only, cut to fit. */
	n = (size_t)snprintf(why, sizeof why, "peer sent ERROR: ");
	for (i = 0; i < f->len && n + 1 < sizeof why; i++, n++)
		why[n] = f->payload[i] >= 0x20 && f->payload[i] < 0x7f &&
		    f->payload[i] != '"' ? f->payload[i] : '?';
	why[n] = '\0';
	session_close(s, why);
}

static void
session_frame(struct session *s, struct frame *f)
{
	char	why[96];

	switch (f->type) {
	case FRAME_MSG:
		s->uncommitted++;
		s->host->cbs->message(s->host->arg, s, f->id, f->payload,
		    f->len);
		f->payload = NULL;	/* now the owner's */
		break;
	case FRAME_DACK:
		if (s->owner != NULL)
			s->host->cbs->dack(s->host->arg, s, s->owner, f->id,
			    f->copy);
		break;
	case FRAME_HB:
		break;
	case FRAME_ERROR:
		session_peer_error(s, f);
		break;
	default:
		/* HELLO, ACK, NAK, DLV: only the switch sends those. */
		snprintf(why, sizeof why, "unexpected frame type %u (%s) from "
		    "an endpoint", (unsigned)f->type, frame_type_name(f->type));
		session_error(s, why);
		break;
	}
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);

	if (s->state == SESSION_ST_CLOSING) {
		/* The stream is lost: what still comes is dropped. */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	session_ref(s);
	session_read_frames(s);
	if (s->state == SESSION_ST_ACTIVE && !s->read_paused)
		tls_bev_pending(bev);
	session_unref(s);
}

/*
 * A header that cannot be read on from (bad version, unknown type, too
 * long): where the next frame starts is unknown, so the session ends with
 * ERROR. An oversize MSG is refused as soon as its header is in, not when
 * its payload is: it is first NAKed with ER .91. quoting what of it has
 * arrived, so that its sender knows not to send it again.
 */
static void
session_refuse(struct session *s, const struct frame *f, int err)
{
	struct evbuffer	*in = bufferevent_get_input(s->bev);
	size_t		 max = s->host->cfg->max_frame;
	char		 why[128], detail[96], quote[MSG_ER_INPUT_LEN];
	ev_ssize_t	 n = 0;

	frame_reason(err, f, max, why, sizeof why);
	if (err == FRAME_E_SIZE && f->type == FRAME_MSG) {
		evbuffer_drain(in, FRAME_HDR_LEN);
		n = evbuffer_copyout(in, quote,
		    f->len < sizeof quote ? f->len : sizeof quote);
		snprintf(detail, sizeof detail, "message of %lu bytes, the "
		    "limit is %zu", (unsigned long)f->len, max);
		s->host->cbs->too_large(s->host->arg, s, f->id, detail, quote,
		    n > 0 ? (size_t)n : 0);
	}
	session_error(s, why);
}

/* Every whole frame in the input, while the session is active. */
static void
session_read_frames(struct session *s)
{
	struct bufferevent *bev = s->bev;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 f;
	int		 r, err;

	s->last_rx_us = util_mono_us();
	session_ref(s);		/* a frame may close the session */
	while (s->state == SESSION_ST_ACTIVE) {
		if (s->uncommitted >= SESSION_MAX_UNCOMMITTED) {
			/* Back-pressure: the commit thread is behind. */
			s->read_paused = 1;
			bufferevent_disable(bev, EV_READ);
			goto out;
		}
		r = frame_pull(in, s->host->cfg->max_frame, &f, &err);
		if (r == 0)
			goto out;
		if (r == -1) {
			session_refuse(s, &f, err);
			goto out;
		}
		session_frame(s, &f);
		frame_clear(&f);
	}
out:
	session_unref(s);
}

void
session_tick(struct session *s, uint64_t now)
{
	uint64_t hb = (uint64_t)s->host->cfg->heartbeat * 1000000;

	if (s->state != SESSION_ST_ACTIVE)
		return;
	if (now - s->last_rx_us > 3 * hb) {
		char why[96];

		snprintf(why, sizeof why, "heartbeat timeout: no frame read "
		    "for %d s", 3 * s->host->cfg->heartbeat);
		session_error(s, why);
		return;
	}
	if (now - s->last_tx_us >= hb) {
		session_send(s, FRAME_HB, 0, 0, NULL, 0);
		return;
	}
	session_idle(s, now);
}

size_t
session_host_tick_begin(struct session_host *h)
{
	h->tick_next = TAILQ_FIRST(&h->list);
	return h->nlist;
}

size_t
session_host_tick(struct session_host *h, uint64_t now, size_t max)
{
	struct session	*s;
	size_t		 n = 0;

	while (n < max && (s = h->tick_next) != NULL) {
		/* Moved on first: the tick may close s, or close others
		 * (session_close keeps the cursor valid). */
		h->tick_next = TAILQ_NEXT(s, entry);
		session_tick(s, now);
		n++;
	}
	return n;
}

int
session_is_idle(const struct session *s)
{
	return s->state == SESSION_ST_ACTIVE &&
	    s->released_us > s->last_rx_us && s->released_us > s->last_tx_us;
}

/* Idle since its last release (or ever): the buffers go back. */
static void
session_idle(struct session *s, uint64_t now)
{
	uint64_t last = s->last_rx_us > s->last_tx_us ? s->last_rx_us :
	    s->last_tx_us;

	if (s->released_us > last || now - last < SESSION_IDLE_US)
		return;
	if (tls_bev_release(s->bev) == 0) {
		s->released_us = now;
		s->host->nreleased++;
	}
}
