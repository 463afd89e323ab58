/*
 * client - see client.h.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "client.h"
#include "frame.h"
#include "tls.h"
#include "util.h"

#define CLIENT_WHY_MAX	256	/* the closed callback's text */

enum client_state {
	CLIENT_ST_IDLE = 0,
	CLIENT_ST_CONNECTING,	/* TCP + TLS handshake */
	CLIENT_ST_WAIT_HELLO,
	CLIENT_ST_UP,
	CLIENT_ST_CLOSED
};

struct client {
	struct event_base	*base;
	SSL_CTX			*ssl;
	char			 host[64];
	char			 port[16];
	struct client_cb	 cb;
	void			*arg;
	struct bufferevent	*bev;
	struct event		*ev_hb;
	enum client_state	 state;
	uint64_t		 next_tag;
	int			 heartbeat;	/* seconds, from HELLO */
	size_t			 max_frame;
	uint64_t		 last_rx;
	uint64_t		 last_tx;
	char			 line[16];
	size_t			 peek;		/* client_set_peek */
};

static void	client_read_cb(struct bufferevent *, void *);
static void	client_read_frames(struct client *, struct bufferevent *);
static void	client_error_why(const struct frame *, char *, size_t);
static int	client_peek_dlv(struct client *, struct bufferevent *);
static void	client_event_cb(struct bufferevent *, short, void *);
static void	client_hb_cb(evutil_socket_t, short, void *);

struct client *
client_new(struct event_base *base, SSL_CTX *ssl, const char *host,
    const char *port, const struct client_cb *cb, void *arg)
{
	struct client *c = xcalloc(1, sizeof *c);

	c->base = base;
	c->ssl = ssl;
	util_strlcpy(c->host, host, sizeof c->host);
	util_strlcpy(c->port, port, sizeof c->port);
	c->cb = *cb;
	c->arg = arg;
	c->heartbeat = 10;
	c->max_frame = 64u << 20;
	c->ev_hb = event_new(base, -1, EV_PERSIST, client_hb_cb, c);
	return c;
}

void
client_set_addr(struct client *c, const char *host, const char *port)
{
	util_strlcpy(c->host, host, sizeof c->host);
	util_strlcpy(c->port, port, sizeof c->port);
}

static void
client_teardown(struct client *c, const char *why)
{
	enum client_state was = c->state;

	if (c->bev != NULL) {
		tls_bev_free(c->bev);
		c->bev = NULL;
	}
	event_del(c->ev_hb);
	c->state = CLIENT_ST_CLOSED;
	if (was != CLIENT_ST_CLOSED && why != NULL && c->cb.closed != NULL)
		c->cb.closed(c, why, c->arg);
}

int
client_connect(struct client *c)
{
	struct timeval	 tv = { 1, 0 };
	SSL		*ssl;
	int		 port = atoi(c->port);

	if (c->bev != NULL)
		client_teardown(c, NULL);
	if ((ssl = SSL_new(c->ssl)) == NULL)
		return -1;
	SSL_set_tlsext_host_name(ssl, "localhost");
	c->bev = bufferevent_openssl_socket_new(c->base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		SSL_free(ssl);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	bufferevent_setcb(c->bev, client_read_cb, NULL, client_event_cb, c);
	c->state = CLIENT_ST_CONNECTING;
	c->line[0] = '\0';
	if (bufferevent_socket_connect_hostname(c->bev, NULL, AF_UNSPEC,
	    c->host, port) == -1) {
		client_teardown(c, NULL);
		return -1;
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	c->last_rx = c->last_tx = util_mono_us();
	event_add(c->ev_hb, &tv);
	return 0;
}

void
client_close(struct client *c)
{
	client_teardown(c, NULL);
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	client_teardown(c, NULL);
	event_free(c->ev_hb);
	free(c);
}

int
client_is_up(const struct client *c)
{
	return c->state == CLIENT_ST_UP;
}

static void
client_frame_out(struct client *c, uint8_t type, uint16_t copy, uint64_t id,
    const void *p, size_t len)
{
	if (c->bev == NULL)
		return;
	frame_add(bufferevent_get_output(c->bev), type, copy, id, p, len);
	c->last_tx = util_mono_us();
}

uint64_t
client_send(struct client *c, const char *xml, size_t len)
{
	if (c->state != CLIENT_ST_UP)
		return 0;
	client_frame_out(c, FRAME_MSG, 0, ++c->next_tag, xml, len);
	return c->next_tag;
}

uint64_t
client_send_ref(struct client *c, const char *head, size_t headlen,
    const char *tail, size_t taillen)
{
	struct evbuffer	*out;
	uint8_t		 hdr[FRAME_HDR_LEN];

	if (c->state != CLIENT_ST_UP || c->bev == NULL ||
	    headlen + taillen > UINT32_MAX)
		return 0;
	out = bufferevent_get_output(c->bev);
	frame_encode(hdr, FRAME_MSG, 0, ++c->next_tag,
	    (uint32_t)(headlen + taillen));
	evbuffer_add(out, hdr, sizeof hdr);
	evbuffer_add(out, head, headlen);
	if (taillen > 0)
		evbuffer_add_reference(out, tail, taillen, NULL, NULL);
	c->last_tx = util_mono_us();
	return c->next_tag;
}

void
client_send_raw(struct client *c, const void *p, size_t len)
{
	if (c->bev != NULL)
		bufferevent_write(c->bev, p, len);
}

void
client_dack(struct client *c, uint64_t msgid, uint16_t copy)
{
	if (c->state == CLIENT_ST_UP)
		client_frame_out(c, FRAME_DACK, copy, msgid, NULL, 0);
}

size_t
client_outlen(const struct client *c)
{
	if (c->bev == NULL)
		return 0;
	return tls_bev_outlen(c->bev);
}

static void
client_hello(struct client *c, const char *text)
{
	const char *p;

	if ((p = strstr(text, "line=")) != NULL)
		sscanf(p, "line=%15s", c->line);
	if ((p = strstr(text, "heartbeat=")) != NULL)
		c->heartbeat = atoi(p + 10) > 0 ? atoi(p + 10) : 10;
	c->state = CLIENT_ST_UP;
	if (c->cb.hello != NULL)
		c->cb.hello(c, text, c->arg);
}

static void
client_read_cb(struct bufferevent *bev, void *arg)
{
	struct client	*c = arg;

	client_read_frames(c, bev);
	if (c->bev == bev)
		tls_bev_pending(bev);
}

/*
 * With client_set_peek: a whole DLV longer than c->peek at the head of
 * the input goes to the deliver callback cut to its first c->peek bytes,
 * the rest dropped without a copy. @return 1 if one was, else 0 (the
 * caller pulls the frame as usual).
 */
static int
client_peek_dlv(struct client *c, struct bufferevent *bev)
{
	struct evbuffer	*in = bufferevent_get_input(bev);
	struct frame	 f;
	uint8_t		 hdr[FRAME_HDR_LEN];
	char		*head;

	if (evbuffer_copyout(in, hdr, sizeof hdr) != (ev_ssize_t)sizeof hdr ||
	    frame_decode(hdr, c->max_frame, &f) != FRAME_E_OK ||
	    f.type != FRAME_DLV || f.len <= c->peek ||
	    evbuffer_get_length(in) < FRAME_HDR_LEN + (size_t)f.len)
		return 0;
	evbuffer_drain(in, FRAME_HDR_LEN);
	head = xmalloc(c->peek + 1);
	evbuffer_remove(in, head, c->peek);
	head[c->peek] = '\0';
	evbuffer_drain(in, f.len - c->peek);
	if (c->cb.deliver != NULL)
		c->cb.deliver(c, f.id, f.copy, head, c->peek, c->arg);
	free(head);
	return 1;
}

void
client_set_peek(struct client *c, size_t n)
{
	c->peek = n;
}

/*
 * The closed callback's text for an ERROR frame: "switch closed the
 * connection: " and the switch's reason, cut to fit, with anything but
 * printable ASCII shown as '?' (the text goes to terminals and logs).
 */
static void
client_error_why(const struct frame *f, char *why, size_t sz)
{
	static const char	 prefix[] = "switch closed the connection: ";
	size_t			 n = sizeof prefix - 1, i;

	util_strlcpy(why, prefix, sz);
	if (f->len == 0 || f->payload == NULL) {
		util_strlcpy(why + n, "(no reason given)", sz - n);
		return;
	}
	for (i = 0; i < f->len && n + 1 < sz; i++, n++)
		why[n] = f->payload[i] >= 0x20 && f->payload[i] < 0x7f ?
		    f->payload[i] : '?';
	why[n] = '\0';
}

/* Every whole frame in the input; stops when the client is torn down. */
static void
client_read_frames(struct client *c, struct bufferevent *bev)
{
	struct frame	 f;
	int		 r, err, n;
	char		 why[CLIENT_WHY_MAX];

	c->last_rx = util_mono_us();
	while (c->bev == bev) {
		if (c->peek > 0 && client_peek_dlv(c, bev) == 1)
			continue;
		r = frame_pull(bufferevent_get_input(bev), c->max_frame, &f,
		    &err);
		if (r == 0)
			return;
		if (r == -1) {
			n = snprintf(why, sizeof why, "bad frame from switch: ");
			frame_reason(err, &f, c->max_frame, why + n,
			    sizeof why - n);
			client_teardown(c, why);
			return;
		}
		switch (f.type) {
		case FRAME_HELLO:
			client_hello(c, f.payload ? f.payload : "");
			break;
		case FRAME_ACK:
			if (c->cb.ack != NULL)
				c->cb.ack(c, f.id, f.payload ? f.payload : "",
				    c->arg);
			break;
		case FRAME_NAK:
			if (c->cb.nak != NULL)
				c->cb.nak(c, f.id, f.payload ? f.payload : "",
				    f.len, c->arg);
			break;
		case FRAME_DLV:
			if (c->cb.deliver != NULL)
				c->cb.deliver(c, f.id, f.copy,
				    f.payload ? f.payload : "", f.len, c->arg);
			break;
		case FRAME_HB:
			break;
		case FRAME_ERROR:
			client_error_why(&f, why, sizeof why);
			frame_clear(&f);
			client_teardown(c, why);
			return;
		default:
			break;
		}
		frame_clear(&f);
	}
}

/* 1 if a TLS alert the peer sent (alert code a) is about our certificate. */
static int
client_alert_is_cert(int a)
{
	switch (a) {
	case SSL_AD_BAD_CERTIFICATE:
	case SSL_AD_UNSUPPORTED_CERTIFICATE:
	case SSL_AD_CERTIFICATE_REVOKED:
	case SSL_AD_CERTIFICATE_EXPIRED:
	case SSL_AD_CERTIFICATE_UNKNOWN:
	case SSL_AD_UNKNOWN_CA:
	case SSL_AD_ACCESS_DENIED:
	case SSL_AD_CERTIFICATE_REQUIRED:
		return 1;
	default:
		return 0;
	}
}

/*
 * Why a TLS connection failed, in words, from the OpenSSL error e (not 0;
 * ERR_LIB_SSL codes) and the connection's SSL.
 */
void
client_tls_why(unsigned long e, SSL *ssl, char *why, size_t sz)
{
	const char	*r;
	int		 reason = ERR_GET_REASON(e), alert;
	long		 v;

	if (ERR_GET_LIB(e) == ERR_LIB_SSL && reason >= SSL_AD_REASON_OFFSET) {
		/* An alert the switch sent: OpenSSL's reason is the offset
		 * plus the alert's code. */
		alert = reason - SSL_AD_REASON_OFFSET;
		snprintf(why, sz, "%s (alert: %s)", client_alert_is_cert(alert) ?
		    "certificate rejected by the switch" :
		    "the switch ended the TLS handshake",
		    alert == SSL_AD_CERTIFICATE_REQUIRED ?
		    "certificate required" :	/* OpenSSL 3.0 says "unknown" */
		    SSL_alert_desc_string_long(alert));
		return;
	}
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		snprintf(why, sz, "the switch closed the connection");
		return;
	}
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
		v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
		snprintf(why, sz, "the switch's certificate is not trusted: %s",
		    v != X509_V_OK ? X509_verify_cert_error_string(v) :
		    "verification failed");
		return;
	}
	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    (reason == SSL_R_WRONG_VERSION_NUMBER ||
	    reason == SSL_R_PACKET_LENGTH_TOO_LONG))
		snprintf(why, sz, "the peer does not speak TLS (%s)",
		    ERR_reason_error_string(e) ? ERR_reason_error_string(e) :
		    "bad record");
	else if ((r = ERR_reason_error_string(e)) != NULL)
		snprintf(why, sz, "TLS error: %s", r);
	else {
		snprintf(why, sz, "TLS error: ");
		ERR_error_string_n(e, why + strlen(why), sz - strlen(why));
	}
}

/* 1 if bev's socket is connected to a peer (getpeername works). */
static int
client_has_peer(struct bufferevent *bev)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	evutil_socket_t		 fd = bufferevent_getfd(bev);

	return fd != -1 && getpeername(fd, (struct sockaddr *)&ss, &len) == 0;
}

/*
 * Why the connection ended, in words. bufferevent_openssl reports errors
 * as a list of OpenSSL codes, with the SSL_get_error() value (5,
 * SSL_ERROR_SYSCALL: the socket) among them: the real TLS error is the
 * one that has a library; none means the socket or the switch ended it.
 */
static void
client_close_why(struct client *c, struct bufferevent *bev, short what,
    int err, char *why, size_t sz)
{
	unsigned long	 e, tls = 0;
	int		 dns;

	while ((e = bufferevent_get_openssl_error(bev)) != 0)
		if (ERR_GET_LIB(e) != 0 && (tls == 0 ||
		    ERR_GET_REASON(e) >= SSL_AD_REASON_OFFSET))
			tls = e;
	if (tls != 0) {
		client_tls_why(tls, bufferevent_openssl_get_ssl(bev), why, sz);
		return;
	}
	if ((dns = bufferevent_socket_get_dns_error(bev)) != 0) {
		snprintf(why, sz, "cannot resolve %s: %s", c->host,
		    evutil_gai_strerror(dns));
		return;
	}
	/* A refused connect shows as an EOF during the handshake, errno
	 * set: the socket never had a peer. */
	if (c->state == CLIENT_ST_CONNECTING && !client_has_peer(bev)) {
		snprintf(why, sz, "cannot connect to %s:%s: %s", c->host,
		    c->port, err != 0 ? strerror(err) : "no connection");
		return;
	}
	/* errno as the event left it: one of a read or write that failed
	 * for good, not of one that would have blocked. */
	if (err != 0 && err != ECONNRESET && err != EPIPE && err != EAGAIN &&
	    err != EWOULDBLOCK && err != EINTR && !(what & BEV_EVENT_EOF))
		snprintf(why, sz, "connection to the switch failed: %s",
		    strerror(err));
	else if (c->state == CLIENT_ST_CONNECTING)
		snprintf(why, sz, "the switch closed the connection during "
		    "the TLS handshake");
	else
		snprintf(why, sz, "the switch closed the connection");
}

static void
client_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct client	*c = arg;
	char		 why[CLIENT_WHY_MAX];
	int		 err = EVUTIL_SOCKET_ERROR();

	if (what & BEV_EVENT_CONNECTED) {
		c->state = CLIENT_ST_WAIT_HELLO;
		tls_bev_combine(bev);
		tls_bev_pending(bev);
		return;
	}
	if (what & (BEV_EVENT_ERROR | BEV_EVENT_EOF)) {
		/* What arrived before the close is still read (the switch's
		 * ERROR frame says why it closed). */
		if (c->state != CLIENT_ST_CONNECTING) {
			client_read_frames(c, bev);
			if (c->bev != bev)
				return;		/* torn down meanwhile */
		}
		client_close_why(c, bev, what, err, why, sizeof why);
		client_teardown(c, why);
	}
}

static void
client_hb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	uint64_t	 now = util_mono_us();
	uint64_t	 hb = (uint64_t)c->heartbeat * 1000000;

	(void)fd;
	(void)what;
	if (c->state == CLIENT_ST_CONNECTING || c->state == CLIENT_ST_WAIT_HELLO) {
		if (now - c->last_rx > 3 * hb)
			client_teardown(c, "timeout connecting to the switch");
		return;
	}
	if (c->state != CLIENT_ST_UP)
		return;
	if (now - c->last_rx > 3 * hb) {
		client_teardown(c, "heartbeat timeout");
		return;
	}
	if (now - c->last_tx >= hb)
		client_frame_out(c, FRAME_HB, 0, 0, NULL, 0);
}

int
client_read_portfile(const char *path, int wait_ms, char *port, size_t sz)
{
	char	*data;
	int	 waited = 0;

	for (;;) {
		if ((data = util_read_file(path, NULL)) != NULL) {
			size_t n = strcspn(data, "\r\n");

			if (n > 0 && n < sz) {
				memcpy(port, data, n);
				port[n] = '\0';
				free(data);
				return 0;
			}
			free(data);
		}
		if (waited >= wait_ms)
			return -1;
		usleep(20000);
		waited += 20;
	}
}

int
client_addrs_add(struct client_addrs *as, const char *file, const char *port)
{
	if (as->n >= CLIENT_ADDRS_MAX)
		return -1;
	as->file[as->n] = file;
	util_strlcpy(as->port[as->n], port != NULL ? port : "",
	    sizeof as->port[as->n]);
	as->n++;
	return 0;
}

int
client_addrs_read(struct client_addrs *as, int wait_ms, char **cause)
{
	int i;

	for (i = 0; i < as->n; i++)
		if (as->file[i] != NULL && client_read_portfile(as->file[i],
		    wait_ms, as->port[i], sizeof as->port[i]) == -1) {
			*cause = xasprintf("%s: no port", as->file[i]);
			return -1;
		}
	return 0;
}

const char *
client_addrs_port(const struct client_addrs *as)
{
	return as->port[as->cur];
}

const char *
client_addrs_next(struct client_addrs *as)
{
	char port[16];

	if (as->n == 0)
		return "";
	as->cur = (as->cur + 1) % as->n;
	if (as->file[as->cur] != NULL && client_read_portfile(
	    as->file[as->cur], 0, port, sizeof port) == 0)
		util_strlcpy(as->port[as->cur], port, sizeof as->port[as->cur]);
	return as->port[as->cur];
}
