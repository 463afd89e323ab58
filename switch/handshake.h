/*
 * handshake - inbound TLS handshakes, in a thread of their own, so that no
 * handshake ever holds the event loop (issue 12; docs/performance.md).
 *
 * A server-side handshake costs about a millisecond of CPU (OpenSSL 3.0:
 * the key exchange, the signature, the client certificate's verification
 * and much bookkeeping around them); run in the loop thread, 2,000
 * ClientHellos arriving together held every established line for a
 * second or more. So the handshake thread owns the listeners and its own
 * event_base: it accepts, drives SSL_accept() on the non-blocking socket
 * within the handshake timeout, and refuses what OpenSSL refuses (no
 * client certificate, one that does not verify against the CA). Each
 * finished handshake (socket + SSL, the handshake done, nothing read
 * beyond it but what OpenSSL keeps) is handed to the loop thread through
 * a mutex-protected list and an event_active() on the loop's base; there
 * the done callback decides what the connection is (session.c maps the
 * certificate's common name to a line). The loop thread takes at most a
 * small batch per pass of its loop, so a burst of finished handshakes
 * cannot hold it either.
 *
 * Requires libevent's thread support (evthread_use_pthreads()) before any
 * event_base exists. All functions are called from the loop thread; the
 * callbacks run in the loop thread.
 */
#ifndef NLSWITCH_HANDSHAKE_H
#define NLSWITCH_HANDSHAKE_H

#include <sys/socket.h>

#include <stdint.h>

#include <openssl/ssl.h>

struct event_base;
struct handshake;

/**
 * A handshake finished: fd and ssl (its handshake done, the socket BIO on
 * fd) now belong to the callee. id numbers the connection from its accept
 * on (1, 2, ...: the "handshake: ID:" of the log); peer is "address:port".
 */
typedef void	(*handshake_done_cb)(uint64_t id, int fd, SSL *ssl,
		    const char *peer, void *arg);
/**
 * Connections accepted and handshakes refused since the last call (within
 * 100 ms; before the done callbacks of a batch). Refused: TLS said no (no
 * client certificate, one not from the CA, a protocol error, a peer gone
 * mid-handshake without close_notify); a handshake timeout or a clean
 * close is logged, not counted, as before the thread existed.
 */
typedef void	(*handshake_count_cb)(unsigned accepted, unsigned refused,
		    void *arg);

/**
 * Create the handshake machinery (the thread does not run yet).
 * @param loop the loop thread's base, where the callbacks run.
 * @param ctx server context; the handshake thread keeps a reference.
 * @param timeout_s a handshake not done this long after its accept is
 *	dropped.
 * @return the object; fatal() on failure (start-up only).
 */
struct handshake *handshake_new(struct event_base *loop, SSL_CTX *ctx,
		    int timeout_s, handshake_done_cb done,
		    handshake_count_cb count, void *arg);
/**
 * Listen on an address (before handshake_start). backlog as listen(2).
 * @return the listening socket (owned by the handshake object: for
 *	getsockname), or -1 with errno set.
 */
int		 handshake_listen(struct handshake *, const struct sockaddr *,
		    socklen_t, int backlog);
/** Start the handshake thread. fatal() if it cannot start. */
void		 handshake_start(struct handshake *);
/**
 * A new context and timeout for connections accepted from now on
 * (reload); handshakes in progress keep theirs.
 */
void		 handshake_set_ctx(struct handshake *, SSL_CTX *, int timeout_s);
/**
 * Stop accepting (drain). Handshakes in progress go on and are handed
 * over as usual.
 */
void		 handshake_pause(struct handshake *);
/**
 * Stop the thread, close the listeners and every connection not handed
 * over yet, free everything. No callback runs afterwards.
 */
void		 handshake_free(struct handshake *);

#endif
