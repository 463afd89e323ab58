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
 * In ACTIVE the session reads frames (MSG, DACK, HB), hands them to its
 * owner through the callbacks of its host (struct session_cbs, filled in
 * by server.c: the session never calls up), and carries ACK/NAK/DLV/HB
 * frames out. A protocol error
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

struct bufferevent;
struct config;
struct event_base;
struct evbuffer;
struct session;

/*
 * What a session asks of the code above it. owner is what bind returned
 * for the session (server.c: its line); arg is the host's.
 */
struct session_cbs {
	/*
	 * The handshake is done: the verified certificate's common name
	 * (NULL: none) must name a line. Return its owner and copy the
	 * line's code into code (for HELLO and the logs), or NULL to refuse
	 * the connection (the callee counts the refusal).
	 */
	void	*(*bind)(void *arg, struct session *, const char *cn,
		    char *code, size_t codesz);
	/* HELLO is out: the session serves owner from now on. */
	void	 (*attach)(void *arg, struct session *, void *owner);
	/* The session stops serving owner (closed, or CLOSING). */
	void	 (*detach)(void *arg, struct session *, void *owner);
	/* A MSG frame (payload now the callee's). */
	void	 (*message)(void *arg, struct session *, uint64_t tag,
		    char *payload, size_t len);
	/* A DACK frame. */
	void	 (*dack)(void *arg, struct session *, void *owner,
		    uint64_t msgid, uint16_t copy);
	/* A MSG over max-frame: NAK it with ER .91 quoting input (the
	 * session then ends with ERROR). */
	void	 (*too_large)(void *arg, struct session *, uint64_t tag,
		    const char *detail, const char *input, size_t inlen);
};

/*
 * The sessions of one switch. The owner sets cfg (and keeps it current
 * across a reload: window, heartbeat and max-frame are read from it),
 * base, cbs and arg; the list is session.c's.
 */
struct session_host {
	struct event_base		*base;
	const struct config		*cfg;
	const struct session_cbs	*cbs;
	void				*arg;
	TAILQ_HEAD(, session)		 list;
	int				 nactive;	/* ACTIVE sessions */
	uint64_t			 nreleased;	/* buffer releases (tls_bev_release) */
	uint64_t			 nclosed;	/* sessions closed */
	size_t				 nlist;		/* sessions in list */
	struct session			*tick_next;	/* the round's cursor (NULL: done) */
};

void		 session_host_init(struct session_host *, struct event_base *,
		    const struct config *, const struct session_cbs *, void *);
/** Close every session (switch stopping). */
void		 session_host_close(struct session_host *, const char *why);
/** Iterate the sessions (a closed one leaves the list). */
/**
 * 1 if the session is up and has been idle since it last gave its
 * buffers back (a second without a frame in or out, then a tick): what
 * it costs then is its socket, its SSL object and its structs.
 */
int		 session_is_idle(const struct session *);
struct session	*session_first(struct session_host *);
struct session	*session_next(struct session *);

/**
 * Start a session on a connection whose TLS handshake is done (takes fd
 * and ssl, whose socket BIO is on fd); id, the connection's number in the
 * handshake thread's log, is the session's. The verified certificate's
 * common name must name a line (cbs->bind); if not the connection is
 * closed.
 * @return the session (ACTIVE, HELLO sent), or NULL if it was refused or
 *	could not be set up.
 */
struct session	*session_new(struct session_host *, uint64_t id, int fd,
		    SSL *ssl, const char *peer);
/** Close the connection (idempotent); frees once refs drop to zero. */
void		 session_close(struct session *, const char *why);
/** Keep a session allocated across an asynchronous operation. */
void		 session_ref(struct session *);
void		 session_unref(struct session *);
/** 1 if frames can still be sent (ACTIVE; not once CLOSING). */
int		 session_is_active(const struct session *);
/** What the session serves (bind's result; NULL once detached). */
void		*session_owner(const struct session *);
/** Hand the session to another owner (a line replaced by a reload);
 * NULL releases it without a detach callback. */
void		 session_set_owner(struct session *, void *owner);
uint64_t	 session_id(const struct session *);
/** The verified certificate's common name ("" before bind). */
const char	*session_cn(const struct session *);
/** The peer's address:port. */
const char	*session_peer(const struct session *);
/** The line code bind gave ("-" before). */
const char	*session_code(const struct session *);
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
/**
 * Start a round of session_tick over every session, to be walked in
 * slices by session_host_tick (the server spreads one round over a
 * second so that no single callback walks every session).
 * @return the number of sessions the round starts with.
 */
size_t		 session_host_tick_begin(struct session_host *);
/**
 * Tick up to max sessions from where the round's walk stopped. The
 * cursor survives closes: a session closed during the round (by its tick
 * or anything else) leaves the walk without disturbing it; a session
 * opened during the round joins its end. So each session that stays in
 * the list is ticked once per round, never twice.
 * @return the number ticked; less than max once the round is done.
 */
size_t		 session_host_tick(struct session_host *, uint64_t now_mono,
		    size_t max);
/** A commit for one of this session's messages finished. */
void		 session_committed(struct session *);

#endif
