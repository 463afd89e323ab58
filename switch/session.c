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

#include "frame.h"
#include "line.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "tls.h"
#include "util.h"

/* Stop reading a session while this many of its messages await a commit. */
#define SESSION_MAX_UNCOMMITTED	4096

static void	session_read_cb(struct bufferevent *, void *);
static void	session_read_frames(struct session *);
static void	session_event_cb(struct bufferevent *, short, void *);
static void	session_identify(struct session *);

static const char *const session_state_names[] = {
	"HANDSHAKE", "ACTIVE", "CLOSED"
};

static void
session_set_state(struct session *s, enum session_state st)
{
	static const int ok[3][3] = {
		/* to: HANDSHAKE ACTIVE CLOSED */
		{ 0, 1, 1 },	/* from HANDSHAKE */
		{ 0, 0, 1 },	/* from ACTIVE */
		{ 0, 0, 0 }	/* from CLOSED */
	};

	if (!ok[s->state][st])
		fatalx("session: %llu: bad transition %s -> %s",
		    (unsigned long long)s->id, session_state_names[s->state],
		    session_state_names[st]);
	log_trace(TRACE_SESSION, "session: %llu: %s -> %s",
	    (unsigned long long)s->id, session_state_names[s->state],
	    session_state_names[st]);
	s->state = st;
}

struct session *
session_new(struct server *srv, uint64_t id, int fd, SSL *ssl,
    const char *peer)
{
	struct session	*s;
	int		 up;

	s = xcalloc(1, sizeof *s);
	s->id = id;
	s->srv = srv;
	s->state = SESSION_ST_HANDSHAKE;
	s->refs = 1;
	util_strlcpy(s->peer, peer, sizeof s->peer);
	s->last_rx_us = s->last_tx_us = util_mono_us();
	/* The handshake is done (handshake.c): the bufferevent starts open. */
	s->bev = bufferevent_openssl_socket_new(srv->base, fd, ssl,
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
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
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
	}
	session_unref(s);
	return up ? s : NULL;
}

int
session_is_active(const struct session *s)
{
	return s->state == SESSION_ST_ACTIVE;
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
	log_info("session: %llu: closed line=%s peer=%s reason=\"%s\"",
	    (unsigned long long)s->id, s->line ? s->line->cfg->code : "-",
	    s->peer, why);
	session_set_state(s, SESSION_ST_CLOSED);
	if (s->line != NULL)
		line_detach(s->line, s);
	s->line = NULL;
	if (s->bev != NULL) {
		SSL *ssl = bufferevent_openssl_get_ssl(s->bev);

		/* Best effort close_notify; the socket closes with the bev. */
		if (ssl != NULL)
			SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN);
		tls_bev_free(s->bev);
		s->bev = NULL;
	}
	TAILQ_REMOVE(&s->srv->sessions, s, entry);
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

/* Handshake done: the verified certificate must name a configured line. */
static void
session_identify(struct session *s)
{
	const struct config_line	*cl;
	struct line			*l;
	SSL				*ssl = bufferevent_openssl_get_ssl(s->bev);
	char				 hello[256];

	if (tls_peer_cn(ssl, s->cn, sizeof s->cn) == -1) {
		s->srv->stats.tls_failures++;
		session_close(s, "no verified client certificate");
		return;
	}
	if ((cl = config_line_by_cn(s->srv->cfg, s->cn)) == NULL) {
		s->srv->stats.tls_failures++;
		session_close(s, "certificate names no configured line");
		return;
	}
	l = server_line(s->srv, cl);
	session_set_state(s, SESSION_ST_ACTIVE);
	s->line = l;
	snprintf(hello, sizeof hello, "line=%s window=%d heartbeat=%d "
	    "max-frame=%zu", cl->code, s->srv->cfg->window,
	    s->srv->cfg->heartbeat, s->srv->cfg->max_frame);
	session_send(s, FRAME_HELLO, 0, 0, hello, strlen(hello));
	log_info("session: %llu: line up line=%s cn=%s peer=%s %s",
	    (unsigned long long)s->id, cl->code, s->cn, s->peer,
	    SSL_get_version(ssl));
	line_attach(l, s);
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

static void
session_frame(struct session *s, struct frame *f)
{
	switch (f->type) {
	case FRAME_MSG:
		s->uncommitted++;
		server_inbound(s->srv, s, f->id, f->payload, f->len);
		f->payload = NULL;	/* now owned by the server */
		break;
	case FRAME_DACK:
		if (s->line != NULL)
			line_dack(s->line, f->id, f->copy);
		break;
	case FRAME_HB:
		break;
	case FRAME_ERROR:
		session_close(s, "peer sent ERROR");
		break;
	default:
		session_send(s, FRAME_ERROR, 0, 0, "unexpected frame type",
		    strlen("unexpected frame type"));
		session_close(s, "unexpected frame type");
		break;
	}
}

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session	*s = arg;

	session_ref(s);
	session_read_frames(s);
	if (s->state == SESSION_ST_ACTIVE && !s->read_paused)
		tls_bev_pending(bev);
	session_unref(s);
}

/* Every whole frame in the input, while the session is active. */
static void
session_read_frames(struct session *s)
{
	struct bufferevent *bev = s->bev;
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 f;
	uint8_t		 hdr[FRAME_HDR_LEN];
	int		 r, err;
	char		 why[128];

	s->last_rx_us = util_mono_us();
	session_ref(s);		/* a frame may close the session */
	while (s->state == SESSION_ST_ACTIVE) {
		if (s->discard > 0) {
			size_t n = evbuffer_get_length(in);

			if (n == 0)
				goto out;
			if (n > s->discard)
				n = s->discard;
			evbuffer_drain(in, n);
			s->discard -= n;
			continue;
		}
		if (s->uncommitted >= SESSION_MAX_UNCOMMITTED) {
			/* Back-pressure: the commit thread is behind. */
			s->read_paused = 1;
			bufferevent_disable(bev, EV_READ);
			goto out;
		}
		r = frame_pull(in, s->srv->cfg->max_frame, &f, &err);
		if (r == 0)
			goto out;
		if (r == -1 && err == FRAME_E_SIZE && f.type == FRAME_MSG) {
			/* Oversize message: NAK it quoting its start, skip
			 * the rest of its payload, and keep the session. */
			char	quote[MSG_ER_INPUT_LEN], detail[96];
			size_t	n = f.len < sizeof quote ? f.len : sizeof quote;

			if (evbuffer_get_length(in) < FRAME_HDR_LEN + n)
				goto out;	/* wait for the part to quote */
			evbuffer_remove(in, hdr, sizeof hdr);
			evbuffer_remove(in, quote, n);
			s->discard = f.len - n;
			snprintf(detail, sizeof detail, "message of %u bytes, the "
			    "limit is %zu", f.len, s->srv->cfg->max_frame);
			server_nak(s->srv, s, f.id, NULL, NULL,
			    MSG_ER_TOO_LARGE, detail, quote, n);
			continue;
		}
		if (r == -1) {
			snprintf(why, sizeof why, "bad frame: %s",
			    frame_strerror(err));
			session_send(s, FRAME_ERROR, 0, 0, why, strlen(why));
			if (s->bev != NULL)
				bufferevent_flush(s->bev, EV_WRITE, BEV_FLUSH);
			session_close(s, why);
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
	uint64_t hb = (uint64_t)s->srv->cfg->heartbeat * 1000000;

	if (s->state != SESSION_ST_ACTIVE)
		return;
	if (now - s->last_rx_us > 3 * hb) {
		session_close(s, "heartbeat timeout");
		return;
	}
	if (now - s->last_tx_us >= hb)
		session_send(s, FRAME_HB, 0, 0, NULL, 0);
}
