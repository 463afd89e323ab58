/*
 * server - the nlswitchd core: owns the event loop's state (config, TLS
 * context, listeners, sessions, lines, the queue) and implements the
 * acceptance path of a message: parse, route, commit, ACK/NAK.
 *
 * Everything here runs in the loop thread; the only other thread is the
 * queue's commit thread (queue.c).
 */
#ifndef NLSWITCH_SERVER_H
#define NLSWITCH_SERVER_H

#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "config.h"
#include "msg.h"
#include "queue.h"

struct event_base;
struct event;
struct evconnlistener;
struct session;
struct line;

/* A persistent counter handed out in blocks (hi/lo): a block reservation
 * is committed before any number from it is used, so numbers never repeat
 * across a crash (gaps are allowed). */
struct server_ctr {
	char		key[32];
	uint64_t	next;
	uint64_t	hi;
};

struct server_stats {
	uint64_t	received;		/* MSG frames */
	uint64_t	acked;
	uint64_t	nacked;
	uint64_t	delivered;		/* DACKs */
	uint64_t	redelivered;
	uint64_t	expired;
	uint64_t	tls_failures;
	uint64_t	sessions;		/* accepted connections */
};

struct server {
	struct event_base	*base;
	struct config		*cfg;
	SSL_CTX			*ssl;
	struct queue		*q;
	struct msg_schema	*schema;
	struct line		*lines;		/* parallel to cfg->lines */
	struct evconnlistener	*listeners[CONFIG_MAXLISTEN];
	int			 nlisteners;
	struct event		*ev_tick;
	struct event		*ev_sig[4];
	TAILQ_HEAD(, session)	 sessions;
	uint64_t		 next_sessid;
	struct server_ctr	 msgid;
	int			 draining;	/* no new messages */
	uint64_t		 drain_deadline_us;
	uint64_t		 started_us;
	struct server_stats	 stats;
};

/**
 * Start everything the config describes: TLS, schema, queue, lines (with
 * every stored copy loaded), listeners and the port file. fatal() on
 * failure: it runs before the loop.
 */
struct server	*server_new(struct event_base *, struct config *);
/** Stop and free everything (the queue commits what is pending first). */
void		 server_free(struct server *);
/** Begin a graceful drain: NAK new messages, deliver for grace seconds. */
void		 server_drain(struct server *, int grace);

/**
 * A MSG frame arrived on an active session. Takes ownership of payload.
 */
void		 server_inbound(struct server *, struct session *, uint64_t tag,
		    char *payload, size_t len);
/** Send a NAK carrying an ER for input the switch could not take. */
void		 server_nak(struct server *, struct session *, uint64_t tag,
		    const char *ori, const char *ctl, int code,
		    const char *detail, const char *input, size_t inlen);
/** Take the next number of a counter (loop thread). */
uint64_t	 server_ctr_take(struct server *, struct server_ctr *);
/**
 * A queued copy outlived held-ttl: move it to the dead-letter area and
 * tell the sender with an SM (not for SM/ER copies).
 */
void		 server_expire(struct server *, struct line *,
		    const struct queue_copy *);
/** Line runtime state by config line. */
struct line	*server_line(struct server *, const struct config_line *);

#endif
