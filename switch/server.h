/*
 * server - the nlswitchd core: owns the event loop's state (config, TLS
 * context, listeners, sessions, lines, the queue) and implements the
 * acceptance path of a message: parse, route, commit, ACK/NAK.
 *
 * Everything here runs in the loop thread. The other threads: the
 * parser's (parser.c), the queue's commit thread (queue.c) and the
 * handshake thread (handshake.c), which owns the listeners and hands over
 * connections whose TLS handshake is done.
 */
#ifndef NLSWITCH_SERVER_H
#define NLSWITCH_SERVER_H

#include <stdint.h>
#include <sys/queue.h>

#include <openssl/ssl.h>

#include "config.h"
#include "msg.h"
#include "metrics.h"
#include "queue.h"

struct event_base;
struct event;
struct handshake;
struct session;
struct line;
struct parser;
struct oridir;
struct photo_table;

/* A persistent counter handed out in blocks (hi/lo): a block reservation
 * is committed before any number from it is used, so numbers never repeat
 * across a crash (gaps are allowed). */
struct server_ctr {
	char		key[32];
	uint64_t	next;
	uint64_t	hi;
};

/* ER numbers 1..(SERVER_NCODES - 1) are counted per number. */
#define SERVER_NCODES	MSG_ER_CODES
#define SERVER_NDENIAL	32	/* recent refusals kept for the dashboard */

struct server_denial {
	uint64_t	t_us;
	char		line[CONFIG_LINE_LEN + 1];
	char		ori[MSG_ORI_LEN + 1];
	char		mke[4];
	int		code;
	char		reason[120];
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
	uint64_t	quota_refused;		/* "queue full for destination" */
	/* By message key (index enum msg_key; 0 = unparseable). */
	uint64_t	received_key[MSG_KEY_MAX];
	uint64_t	acked_key[MSG_KEY_MAX];
	uint64_t	delivered_key[MSG_KEY_MAX];
	uint64_t	nak_key_code[MSG_KEY_MAX][SERVER_NCODES];
	struct metrics_hist ack_latency;	/* receive -> ACK, seconds */
	struct metrics_hist e2e_latency;	/* receive -> DACK, seconds */
	struct metrics_hist commit_latency;	/* copied from the queue */
	struct metrics_hist commit_batch;
	struct server_denial denials[SERVER_NDENIAL];	/* ring */
	int		ndenial;		/* total ever, ring index = n % N */
	struct metrics_ring ring;		/* per-second totals */
};

struct server {
	struct event_base	*base;
	struct config		*cfg;
	SSL_CTX			*ssl;
	struct queue		*q;
	struct parser		*parser;	/* the parser thread */
	struct msgparse_schema	*schema;
	struct line		*lines;		/* parallel to cfg->lines */
	struct handshake	*hs;		/* listeners + TLS handshakes */
	struct event		*ev_tick;
	struct event		*ev_sig[4];
	struct config		*retired[8];	/* old configs, freed when idle */
	int			 nretired;
	struct admin		*admin;		/* admin HTTP, or NULL */
	TAILQ_HEAD(, session)	 sessions;
	struct server_ctr	 msgid;
	int			 draining;	/* no new messages */
	uint64_t		 drain_deadline_us;
	uint64_t		 started_us;
	size_t			 body_bytes;	/* line_body cache, bytes */
	struct server_stats	 stats;
	/* Photo-sharing policy (docs/policy.md). */
	struct oridir		*oridir;	/* swapped by server_oridir_reload */
	struct photo_table	*photos;	/* allowed photo requests in flight */
	uint64_t		 audit_prune_us;	/* next audit pruning */
	int			 audit_alarm;	/* over the alarm level */
	char			 not_ready[512];	/* last reason logged */
	char			*store_damage;	/* server_store_damage, or NULL */
	char			*store_recovery;
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
/**
 * Is the switch ready to take messages? 1, or 0 with why set (draining,
 * store disk full, audit trail cannot be written). A warning that does
 * not stop it (the audit trail near its budget) goes to warn ("" none).
 */
int		 server_ready(struct server *, char *why, size_t sz, char *warn,
		    size_t wsz);
/** Take the next number of a counter (loop thread). */
uint64_t	 server_ctr_take(struct server *, struct server_ctr *);
/**
 * A queued copy outlived held-ttl: move it to the dead-letter area and
 * tell the sender with an SM (not for SM/ER copies).
 */
void		 server_expire(struct server *, struct line *,
		    const struct queue_copy *);
/**
 * A queued copy's message cannot be read (err: the queue_get result;
 * quarantined or gone): move the copy to the dead-letter area and tell
 * the sender with SM .09 (not for SM/ER copies). The sender comes from
 * the message's "accepted" audit record.
 */
void		 server_unreadable(struct server *, struct line *,
		    const struct queue_copy *, int err);
/**
 * Why the store cannot take messages: B-tree damage the queue reported
 * (queue_health), "store damaged: ..." in LMDB's words; NULL while it is
 * fine. Sticky: the store is not repaired while the switch runs. The
 * first time it is seen it is logged at error level with *recovery, the
 * operator's way out (both owned by srv; recovery may be NULL).
 */
const char	*server_store_damage(struct server *, const char **recovery);
/**
 * Re-read the config file (and the certificates it names) without dropping
 * connections: lines keep their sessions and queues by line code, new
 * lines appear, removed lines are closed (their stored copies stay in the
 * store). On any error the running configuration stays and *cause says
 * "FILE:LINE: reason". *notes (may stay NULL) lists what needs a restart.
 */
int		 server_reload(struct server *, char **cause, char **notes);
/** Line runtime state by config line. */
struct line	*server_line(struct server *, const struct config_line *);
/**
 * Load the ORI directory the config names (or build the implicit one)
 * and swap it in; on error the running directory stays and *cause says
 * "FILE:LINE: reason" (caller frees). For the operator's reload.
 */
int		 server_oridir_reload(struct server *, char **cause);
/** How long an allowed photo request awaits its answer (us). */
uint64_t	 server_photo_ttl(struct server *);

#endif
