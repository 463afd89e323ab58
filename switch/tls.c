/*
 * tls - see tls.h.
 */
#include <string.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/event.h>
#include <openssl/err.h>
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

static SSL_CTX *
tls_ctx(const SSL_METHOD *method, const char *ca, const char *cert,
    const char *key, char **cause)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(method)) == NULL) {
		*cause = xasprintf("SSL_CTX_new: %s", tls_error());
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/*
	 * TLS 1.3 suites in this order on both ends: AES-128-GCM first, 15%
	 * faster than AES-256-GCM here, and 128-bit keys are what the CJIS
	 * policy asks of links like these. No SSL_MODE_RELEASE_BUFFERS: a
	 * busy line would free and allocate its 16 KB record buffers on
	 * every record; a few dozen lines keep them for 34 KB each.
	 */
	/*
	 * Read-ahead with a 64 KB buffer: one read(2) takes a whole 50 KB
	 * message instead of two per 16 KB record (header, then body).
	 * tls_bev_pending covers what it needs from the bufferevent users.
	 */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, TLS_READ_BUFFER);
	if (SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256:"
	    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256") != 1) {
		*cause = xasprintf("SSL_CTX_set_ciphersuites: %s",
		    tls_error());
		goto fail;
	}
	if (ca != NULL && SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
		*cause = xasprintf("%s: cannot load CA: %s", ca, tls_error());
		goto fail;
	}
	if (cert != NULL &&
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		*cause = xasprintf("%s: cannot load certificate: %s", cert,
		    tls_error());
		goto fail;
	}
	if (key != NULL &&
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		*cause = xasprintf("%s: cannot load key: %s", key, tls_error());
		goto fail;
	}
	if (cert != NULL && key != NULL && SSL_CTX_check_private_key(ctx) != 1) {
		*cause = xasprintf("%s: key does not match %s", key, cert);
		goto fail;
	}
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
