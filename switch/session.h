/*
 * session - one TLS connection from a line endpoint, as an explicit state
 * machine:
 *
 *   HANDSHAKE --verified cert names a line--> ACTIVE --close/error--> CLOSED
 *        \--no verified cert, unknown CN-----------------------------^
 *                                  ACTIVE --protocol error--> CLOSING --^
 *                                         (ERROR queued)  (ERROR sent or
 *                                                          linger timeout)
 *
 * The TLS handshake itself, its timeout, and the refusal of clients
 * without a certificate or with one from another CA, are handshake.c's,
 * in the handshake thread. A session starts on a connection whose
 * handshake is done; HANDSHAKE lasts only inside session_new(), where the
 * certificate's common name is mapped to a configured line (or the
 * connection refused). Sessions live in the loop thread.
 *
 * In ACTIVE the session reads frames (MSG, DACK, HB), hands messages to
 * server_inbound(), and carries ACK/NAK/DLV/HB frames out. A protocol error
 * of the peer (a header that cannot be read on from, a frame an endpoint
 * does not send, no heartbeat) queues an ERROR frame naming it; in CLOSING
 * the line is released, nothing else is sent, input is discarded, and the
 * connection closes once the ERROR has left or after a short linger. A
 * session that is closed but still referenced by uncommitted operations
 * stays allocated (refs) until the last completion releases it.
 */
#ifndef NLSWITCH_SESSION_H
#define NLSWITCH_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

struct server;
struct line;
struct bufferevent;
struct evbuffer;
struct event;

enum session_state {
	SESSION_ST_HANDSHAKE = 0,
	SESSION_ST_ACTIVE,
	SESSION_ST_CLOSING,	/* ERROR queued, waiting for it to leave */
	SESSION_ST_CLOSED
};

struct session {
	uint64_t		 id;
	struct server		*srv;
	struct bufferevent	*bev;
	enum session_state	 state;
	struct line		*line;		/* set in ACTIVE */
	char			 peer[64];	/* address:port */
	char			 cn[65];
	uint64_t		 last_rx_us;	/* monotonic */
	uint64_t		 last_tx_us;
	struct event		*ev_linger;	/* CLOSING: drain check */
	uint64_t		 linger_end_us;	/* CLOSING: close by then */
	char			 error[128];	/* CLOSING: the ERROR's text */
	int			 refs;		/* pending ops + the connection */
	int			 uncommitted;	/* MSGs awaiting their commit */
	int			 read_paused;
	TAILQ_ENTRY(session)	 entry;
};

/**
 * Start a session on a connection whose TLS handshake is done (takes fd
 * and ssl, whose socket BIO is on fd); id, the connection's number in the
 * handshake thread's log, is the session's. The verified certificate's
 * common name must name a configured line; if not the connection is
 * closed and counted as a handshake failure.
 * @return the session (ACTIVE, HELLO sent), or NULL if it was refused or
 *	could not be set up.
 */
struct session	*session_new(struct server *, uint64_t id, int fd,
		    SSL *ssl, const char *peer);
/** Close the connection (idempotent); frees once refs drop to zero. */
void		 session_close(struct session *, const char *why);
/** Keep a session allocated across an asynchronous operation. */
void		 session_ref(struct session *);
void		 session_unref(struct session *);
/** 1 if frames can still be sent (ACTIVE; not once CLOSING). */
int		 session_is_active(const struct session *);
/** Queue one frame for output. */
void		 session_send(struct session *, uint8_t type, uint16_t copy,
		    uint64_t id, const void *payload, size_t len);
/** The output buffer, for writers that add by reference (deliveries);
 * call session_sent() after adding a frame. */
struct evbuffer	*session_outbuf(struct session *);
void		 session_sent(struct session *);
/** Bytes waiting in the output buffer. */
size_t		 session_outlen(const struct session *);
/** Periodic check (1 s): heartbeats out, dead peers closed. */
void		 session_tick(struct session *, uint64_t now_mono);
/** A commit for one of this session's messages finished. */
void		 session_committed(struct session *);

#endif
