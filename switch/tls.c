/*
 * tls - see tls.h.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "tls.h"
#include "util.h"

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
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
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
