/*
 * tls - see tls.h.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tls.h"
#include "util.h"

#define TLS_READ_BUFFER	(64 * 1024)	/* read-ahead buffer per connection */

const char *
tls_error(void)
{
	static char	 buf[256];
	unsigned long	 e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (last == 0)
		return "unknown TLS error";
	ERR_error_string_n(last, buf, sizeof buf);
	return buf;
}

/*
 * Why loading a PEM file failed, in words: the system error of a file
 * that cannot be read (OpenSSL 3 keeps errno as the reason of an
 * ERR_LIB_SYS error), "no PEM data" for a file of something else,
 * OpenSSL's own reason text otherwise. Drains the error queue.
 */
const char *
tls_load_error(void)
{
	static char	 buf[256];
	unsigned long	 e, sys = 0, first = 0;
	const char	*r;

	while ((e = ERR_get_error()) != 0) {
		if (first == 0)
			first = e;
		if (ERR_GET_LIB(e) == ERR_LIB_SYS && sys == 0)
			sys = e;
	}
	if (sys != 0 && ERR_GET_REASON(sys) != 0)
		return strerror(ERR_GET_REASON(sys));
	if (first == 0)
		return "unknown TLS error";
	if (ERR_GET_LIB(first) == ERR_LIB_PEM &&
	    ERR_GET_REASON(first) == PEM_R_NO_START_LINE)
		return "no PEM data in the file";
	if ((r = ERR_reason_error_string(first)) != NULL) {
		snprintf(buf, sizeof buf, "%s", r);
		return buf;
	}
	ERR_error_string_n(first, buf, sizeof buf);
	return buf;
}

static SSL_CTX *
tls_ctx(const SSL_METHOD *method, const char *ca, const char *cert,
    const char *key, char **cause)
{
	SSL_CTX		*ctx;
	unsigned long	 e;

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		*cause = xasprintf("SSL_CTX_new: %s", tls_error());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * Read-ahead with a 64 KB buffer: one read(2) takes a whole 50 KB
	 * message instead of two per 16 KB record (header, then body);
	 * tls_bev_pending covers what it asks of the bufferevent users. No
	 * SSL_MODE_RELEASE_BUFFERS: a busy line would free and allocate its
	 * record buffers on every record.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER);
	/*
	 * TLS 1.3 suites in this order on both ends: AES-128-GCM first, 15%
	 * faster than AES-256-GCM here, and 128-bit keys are what the CJIS
	 * policy asks of links like these.
	 */
	if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:"
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1) {
		*cause = xasprintf("SSL_CTX_set_ciphersuites: %s",
		    tls_error());
		goto fail;
	}
	if (ca != NULL && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		*cause = xasprintf("cannot load the CA certificates %s: %s",
		    ca, tls_load_error());
		goto fail;
	}
	if (cert != NULL &&
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*cause = xasprintf("cannot load the certificate %s: %s", cert,
		    tls_load_error());
		goto fail;
	}
	if (key != NULL &&
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		e = ERR_peek_last_error();
		if (cert != NULL && ERR_GET_LIB(e) == ERR_LIB_X509 &&
		    ERR_GET_REASON(e) == X509_R_KEY_VALUES_MISMATCH) {
			ERR_clear_error();
			*cause = xasprintf("the private key %s does not match "
			    "the certificate %s", key, cert);
		} else
			*cause = xasprintf("cannot load the private key %s: %s",
			    key, tls_load_error());
		goto fail;
	}
	if (cert != NULL && key != NULL && SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		*cause = xasprintf("the private key %s does not match the "
		    "certificate %s", key, cert);
		goto fail;
	}
	/*
	 * The chain sent with the certificate, built once here: without it
	 * OpenSSL builds it again on every handshake (a whole
	 * X509_verify_cert of our own certificate, its signature checked,
	 * about a tenth of a handshake's CPU). The root is left out (RFC
	 * 8446 4.4.2: the peer has it): a peer parses one certificate less,
	 * and with OpenSSL 3.0 parsing one (its key decoder) costs the
	 * switch as much as a signature. A chain that cannot be completed
	 * is sent as far as it goes, as before.
	 */
	if (cert != NULL && SSL_CTX_build_cert_chain(ctx,
	    SSL_BUILD_CHAIN_FLAG_NO_ROOT | SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR) == 0)
		ERR_clear_error();
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_server_ctx(const char *ca, const char *cert, const char *key,
    char **cause)
{
	SSL_CTX *ctx;

	if ((ctx = tls_ctx(TLS_server_method(), ca, cert, key, cause)) == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	/* Sessions are short-lived test lines; resumption saves nothing and
	 * would skip the client certificate check on resumed sessions. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	return ctx;
}

SSL_CTX *
tls_client_ctx(const char *ca, const char *cert, const char *key,
    char **cause)
{
	SSL_CTX *ctx;

	if ((ctx = tls_ctx(TLS_client_method(), ca, cert, key, cause)) == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

int
tls_peer_cn(SSL *ssl, char *buf, size_t sz)
{
	X509	*peer;
	int	 n;

	if (SSL_get_verify_result(ssl) != X509_V_OK)
		return -1;
	if ((peer = SSL_get1_peer_certificate(ssl)) == NULL)
		return -1;
	n = X509_NAME_get_text_by_NID(X509_get_subject_name(peer),
	    NID_commonName, buf, (int)sz);
	X509_free(peer);
	return n > 0 ? 0 : -1;
}

void
tls_bev_pending(struct bufferevent *bev)
{
	SSL	*ssl;

	if (bev == NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return;
	/* ev_read is the bufferevent's own socket event: activating it runs
	 * bufferevent_openssl's read path as if the socket were readable. */
	if (SSL_has_pending(ssl) && (bufferevent_get_enabled(bev) & EV_READ))
		event_active(&bev->ev_read, EV_READ, 1);
}

/*
 * The write-combining BIO (tls_bev_combine). Writes are copied into buf.
 * They go to the socket when the bufferevent's output buffer has been
 * emptied (everything queued is encrypted: an evbuffer callback), in one
 * write(2); a write that does not come from the output buffer (an alert)
 * makes the flush event active, which runs later in the same loop pass.
 * A socket that takes less keeps the rest in buf and the event waits for
 * it to be writable. A failed write is remembered: every later write
 * fails with it, and the bufferevent reports the error.
 */
#define TLS_WCOMB_MAX	(1024 * 1024)

struct tls_wcomb {
	evutil_socket_t	 fd;
	struct evbuffer	*buf;
	struct event	*ev;
	int		 err;		/* errno of a failed write, or 0 */
	int		 dead;		/* tls_bev_free: drop what comes */
	struct evbuffer_cb_entry *outcb;	/* on the bufferevent's output */
};

static BIO_METHOD	*tls_wcomb_meth;
static int		 tls_wcomb_type;
static pthread_once_t	 tls_wcomb_once = PTHREAD_ONCE_INIT;

/* Write what fits now. @return -1 on a write error (buf emptied). */
static int
tls_wcomb_flush(struct tls_wcomb *w)
{
	int	n;

	while (evbuffer_get_length(w->buf) > 0) {
		if ((n = evbuffer_write(w->buf, w->fd)) > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return 0;
		w->err = n < 0 ? errno : EPIPE;
		evbuffer_drain(w->buf, evbuffer_get_length(w->buf));
		return -1;
	}
	return 0;
}

static void
tls_wcomb_cb(evutil_socket_t fd, short what, void *arg)
{
	struct tls_wcomb	*w = arg;

	(void)fd;
	(void)what;
	if (w->dead)
		return;
	if (tls_wcomb_flush(w) == 0 && evbuffer_get_length(w->buf) > 0)
		event_add(w->ev, NULL);		/* until writable */
}

/* The bufferevent's output buffer: emptied into the BIO, flush now. */
static void
tls_wcomb_outbuf_cb(struct evbuffer *out, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct tls_wcomb	*w = arg;

	if (info->n_deleted > 0 && evbuffer_get_length(out) == 0 &&
	    evbuffer_get_length(w->buf) > 0)
		tls_wcomb_cb(w->fd, EV_WRITE, w);
}

static int
tls_wcomb_write(BIO *b, const char *data, int n)
{
	struct tls_wcomb	*w = BIO_get_data(b);

	BIO_clear_retry_flags(b);
	if (w->dead)
		return n;
	if (w->err != 0) {
		errno = w->err;
		return -1;
	}
	if (evbuffer_get_length(w->buf) >= TLS_WCOMB_MAX) {
		if (tls_wcomb_flush(w) == -1) {
			errno = w->err;
			return -1;
		}
		if (evbuffer_get_length(w->buf) >= TLS_WCOMB_MAX) {
			BIO_set_retry_write(b);
			return -1;
		}
	}
	if (n <= 0)
		return 0;
	if (evbuffer_add(w->buf, data, (size_t)n) == -1)
		return -1;
	if (!event_pending(w->ev, EV_WRITE, NULL))
		event_active(w->ev, EV_WRITE, 1);
	return n;
}

static int
tls_wcomb_puts(BIO *b, const char *s)
{
	return tls_wcomb_write(b, s, (int)strlen(s));
}

static long
tls_wcomb_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	struct tls_wcomb	*w = BIO_get_data(b);

	switch (cmd) {
	case BIO_C_GET_FD:
		if (ptr != NULL)
			*(int *)ptr = w->fd;
		return w->fd;
	case BIO_CTRL_FLUSH:
		/* What the socket does not take now follows from the event. */
		if (!w->dead)
			tls_wcomb_flush(w);
		return w->err == 0;
	case BIO_CTRL_WPENDING:
		return (long)evbuffer_get_length(w->buf);
	case BIO_CTRL_PENDING:
		return 0;
	case BIO_CTRL_GET_CLOSE:
		return BIO_get_shutdown(b);
	case BIO_CTRL_SET_CLOSE:
		BIO_set_shutdown(b, (int)num);
		return 1;
	case BIO_CTRL_DUP:
		return 1;
	default:
		return 0;
	}
}

static int
tls_wcomb_destroy(BIO *b)
{
	struct tls_wcomb	*w = BIO_get_data(b);

	if (w == NULL)
		return 1;
	event_free(w->ev);
	evbuffer_free(w->buf);
	free(w);
	BIO_set_data(b, NULL);
	return 1;
}

static void
tls_wcomb_init_meth(void)
{
	BIO_METHOD	*m;

	tls_wcomb_type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK |
	    BIO_TYPE_DESCRIPTOR;
	if ((m = BIO_meth_new(tls_wcomb_type,
	    "nlswitch write-combining socket")) == NULL)
		return;
	BIO_meth_set_write(m, tls_wcomb_write);
	BIO_meth_set_puts(m, tls_wcomb_puts);
	BIO_meth_set_ctrl(m, tls_wcomb_ctrl);
	BIO_meth_set_destroy(m, tls_wcomb_destroy);
	tls_wcomb_meth = m;
}

int
tls_bev_combine(struct bufferevent *bev)
{
	struct tls_wcomb	*w;
	SSL			*ssl;
	BIO			*b;
	evutil_socket_t		 fd;
	int			 one = 1;

	pthread_once(&tls_wcomb_once, tls_wcomb_init_meth);
	if ((fd = bufferevent_getfd(bev)) == -1)
		return -1;
	/* Writes are combined here: Nagle's algorithm would only hold the
	 * last small one (an ACK) until the peer's delayed ACK, 40 ms. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (tls_wcomb_meth == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    BIO_wpending(SSL_get_wbio(ssl)) != 0)
		return -1;
	w = xcalloc(1, sizeof *w);
	w->fd = fd;
	if ((w->buf = evbuffer_new()) == NULL ||
	    (w->ev = event_new(bufferevent_get_base(bev), fd, EV_WRITE,
	    tls_wcomb_cb, w)) == NULL ||
	    (b = BIO_new(tls_wcomb_meth)) == NULL)
		goto fail;
	if ((w->outcb = evbuffer_add_cb(bufferevent_get_output(bev),
	    tls_wcomb_outbuf_cb, w)) == NULL) {
		BIO_free(b);	/* no data set yet: frees nothing of w */
		goto fail;
	}
	BIO_set_data(b, w);
	BIO_set_init(b, 1);
	BIO_set_shutdown(b, BIO_NOCLOSE);	/* the bufferevent closes fd */
	/* Same read BIO, new write BIO: one reference taken, for b. */
	SSL_set_bio(ssl, SSL_get_rbio(ssl), b);
	return 0;
fail:
	if (w->buf != NULL)
		evbuffer_free(w->buf);
	if (w->ev != NULL)
		event_free(w->ev);
	free(w);
	return -1;
}

/* The combining BIO of bev, or NULL. */
static struct tls_wcomb *
tls_bev_wcomb(struct bufferevent *bev)
{
	SSL	*ssl;
	BIO	*b;

	if (tls_wcomb_meth == NULL ||
	    (ssl = bufferevent_openssl_get_ssl(bev)) == NULL ||
	    (b = SSL_get_wbio(ssl)) == NULL ||
	    BIO_method_type(b) != tls_wcomb_type)
		return NULL;
	return BIO_get_data(b);
}

size_t
tls_bev_outlen(struct bufferevent *bev)
{
	struct tls_wcomb	*w = tls_bev_wcomb(bev);
	size_t			 n;

	n = evbuffer_get_length(bufferevent_get_output(bev));
	if (w != NULL)
		n += evbuffer_get_length(w->buf);
	return n;
}

int
tls_bev_release(struct bufferevent *bev)
{
	SSL	*ssl;

	if (bev == NULL || (ssl = bufferevent_openssl_get_ssl(bev)) == NULL)
		return -1;
	/* 0: read-ahead bytes or a record half written (the buffer stays). */
	if (SSL_has_pending(ssl) || SSL_free_buffers(ssl) != 1)
		return -1;
	return 0;
}

void
tls_bev_free(struct bufferevent *bev)
{
	struct tls_wcomb	*w;

	if (bev == NULL)
		return;
	if ((w = tls_bev_wcomb(bev)) != NULL) {
		if (!w->dead)
			tls_wcomb_flush(w);
		w->dead = 1;
		event_del(w->ev);
		evbuffer_remove_cb_entry(bufferevent_get_output(bev), w->outcb);
	}
	bufferevent_free(bev);
}
