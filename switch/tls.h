/*
 * tls - OpenSSL contexts for mutual TLS between the switch and its lines.
 *
 * TLS 1.2 is the floor; both sides present a certificate from the test CA
 * and verify the other's. The switch maps the client certificate's common
 * name to a line (config.c); a client without a certificate, or with one
 * from another CA, fails the handshake.
 */
#ifndef NLSWITCH_TLS_H
#define NLSWITCH_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/**
 * Build a server context that requires and verifies client certificates.
 * @return context, or NULL with *cause set (caller frees).
 */
SSL_CTX	*tls_server_ctx(const char *ca, const char *cert, const char *key,
	    char **cause);
/**
 * Build a client context that presents cert/key (both may be NULL to
 * connect without a certificate, for tests) and verifies the server.
 */
SSL_CTX	*tls_client_ctx(const char *ca, const char *cert, const char *key,
	    char **cause);
/**
 * Common name of the verified peer certificate.
 * @return 0 and buf filled, -1 if there is no verified certificate.
 */
int	 tls_peer_cn(SSL *, char *buf, size_t sz);
/** One line describing the last OpenSSL error (drains the queue). */
const char *tls_error(void);
/**
 * Why loading a certificate or key file failed, in words ("No such file
 * or directory", "no PEM data in the file"); drains the queue.
 */
const char *tls_load_error(void);

struct bufferevent;
/**
 * Read-ahead (set on every context here) lets OpenSSL take all the bytes
 * the socket has in one read, several records at once; but
 * bufferevent_openssl asks OpenSSL for more only when the socket turns
 * readable again, so records already read would wait there. Call this at
 * the end of every read callback, on BEV_EVENT_CONNECTED and whenever
 * reading is enabled again: it schedules a read if OpenSSL holds bytes.
 */
void	 tls_bev_pending(struct bufferevent *);

/**
 * Once the handshake is done (BEV_EVENT_CONNECTED): records go to the
 * socket through a write-combining BIO. Every record OpenSSL makes during
 * one pass of the event loop is kept and written in one write(2) at the
 * end of the pass, instead of one write(2) per record: a 50 KB message is
 * four records, and on loopback four writes cost 1.6 times the CPU of
 * one, sender and receiver together. Up to 1 MB is kept; beyond, OpenSSL
 * is told to retry, as with a full socket. Sets TCP_NODELAY: the
 * combining is done here. @return 0, -1 (the plain socket BIO stays).
 */
int	 tls_bev_combine(struct bufferevent *);
/** Bytes not yet on the socket: the bufferevent's and the BIO's. */
size_t	 tls_bev_outlen(struct bufferevent *);
/**
 * An idle connection gives back OpenSSL's record buffers (64 KB
 * read-ahead, 16 KB write: SSL_free_buffers; OpenSSL allocates them
 * again for the next record in or out). What waits in the bufferevent's
 * output stays there (its write allocates the write buffer again); the
 * bufferevent's evbuffers hold no memory when they are empty.
 * @return 0 released, -1 bytes pending in OpenSSL (read-ahead bytes not
 *	yet read, a record half written): nothing done, call again later.
 */
int	 tls_bev_release(struct bufferevent *);
/**
 * Free the bufferevent (and close its socket), first writing what the
 * BIO keeps as far as the socket takes it without blocking.
 */
void	 tls_bev_free(struct bufferevent *);

#endif
