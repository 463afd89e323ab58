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

#include <openssl/ssl.h>

#include "config.h"
#include "msg.h"
#include "metrics.h"
#include "queue.h"
#include "line.h"

struct event_base;
struct history;
struct server;

/* ER numbers 1..(SERVER_NCODES - 1) are counted per number. */
#define SERVER_NCODES	MSG_ER_CODES
#define SERVER_NDENIAL	32	/* recent refusals kept for the dashboard */

/*
 * A shared store's cluster records (docs/cluster.md), read by every
 * node's nlctl and API:
 *   SERVER_WHERE_PREFIX "LINE/NODE"  where a line is connected (its
 *                                    peer's address)
 *   SERVER_NODE_PREFIX "NODE"        a switch node's state and counters,
 *                                    "t=US state=... received=N ...",
 *                                    rewritten every SERVER_NODE_S
 */
#define SERVER_WHERE_PREFIX	"cluster/line/"
#define SERVER_NODE_PREFIX	"cluster/node/"
#define SERVER_NODE_S		5

struct server_denial {
	uint64_t	t_us;
	char		line[CONFIG_LINE_LEN + 1];
	char		ori[MSG_ORI_LEN + 1];
	char		mke[4];
	int		code;
	char		reason[LINE_REASON_LEN];	/* in full */
};

struct server_stats {
	uint64_t	received;		/* MSG frames */
	uint64_t	acked;
	uint64_t	nacked;
	struct line_stats deliv;		/* DACKs, redeliveries */
	uint64_t	expired;
	uint64_t	tls_failures;
	uint64_t	sessions;		/* accepted connections */
	uint64_t	quota_refused;		/* "queue full for destination" */
	uint64_t	resends;		/* ACKed with the first's id */
	uint64_t	msq_summaries;		/* merged multi-state answers */
	uint64_t	msq_late;		/* answers after the summary */
	uint64_t	photo_withheld;		/* destinations sent a photo
						   request without it (P102) */
	uint64_t	photo_left_out;		/* destinations a photo
						   request was not sent to
						   (P131, P140) */
	uint64_t	notices_expired[MSG_KEY_MAX];	/* SM, ER copies */
	/* By message key (index enum msg_key; 0 = unparseable). */
	uint64_t	received_key[MSG_KEY_MAX];
	uint64_t	acked_key[MSG_KEY_MAX];
	uint64_t	nak_key_code[MSG_KEY_MAX][SERVER_NCODES];
	struct metrics_hist ack_latency;	/* receive -> ACK, seconds */
	struct metrics_hist commit_latency;	/* copied from the queue */
	struct metrics_hist commit_batch;
	struct server_denial denials[SERVER_NDENIAL];	/* ring */
	int		ndenial;		/* total ever, ring index = n % N */
};

/*
 * The switch's figures at one instant: what nlctl status, the metrics and
 * the dashboard show, computed in one place (server_snapshot).
 */
struct server_snapshot {
	uint64_t		 now_us;
	uint64_t		 started_us;
	int			 draining;
	int			 ready;
	char			 not_ready[1024];	/* when !ready */
	char			 warning[300];		/* "" none */
	const char		*damage;	/* server_store_damage, or NULL */
	const char		*recovery;	/* its way out, or NULL */
	int			 connections;	/* authenticated sessions */
	int			 lines_up;
	/* Memory (issue 14, item 5): lines up and idle with their buffers
	 * given back (session_is_idle), buffer releases, heap trims
	 * (memtrim.h), and the heap as malloc sees it. */
	int			 lines_idle;
	uint64_t		 tls_released;
	uint64_t		 mem_trims;
	uint64_t		 mem_trim_last_us;	/* the last one's time */
	uint64_t		 parsed_inline;	/* parser.h: in the loop */
	uint64_t		 parsed_threaded;
	uint64_t		 heap_in_use;	/* bytes allocated */
	uint64_t		 heap_free;	/* bytes free, not given back */
	int			 lines_total;
	uint64_t		 queued;	/* copies pending + in flight */
	uint64_t		 in_flight;
	uint64_t		 dead_letters;
	uint64_t		 msq_open;	/* multi-state queries in flight */
	uint64_t		 quarantined;	/* all dbs */
	uint64_t		 store_used;
	uint64_t		 store_size;
	struct queue_stats	 qs;
	struct queue_health	 health;
	const struct server_stats *stats;	/* live; loop thread only */
};

/**
 * The switch's TLS context for cfg: the <pki> files checked
 * (config_pki_check), then loaded. nlswitchd builds one before it starts
 * (and with -n) so that a certificate or key that does not load is told
 * on its stderr, before it goes into the background.
 * @return the context, or NULL with *cause (caller frees) as
 *	"FILE:LINE: <pki cert>: cannot read PATH: reason".
 */
SSL_CTX		*server_tls_ctx(const struct config *, char **cause);
/**
 * Start everything the config describes but the listeners: TLS, schema,
 * queue, lines (with every stored copy loaded). fatal() on failure: it
 * runs before the loop.
 */
struct server	*server_new(struct event_base *, struct config *);
/**
 * Open the listeners and write the port file, which tells the world the
 * switch is up: call it last, once the control socket and the admin API
 * are up too.
 */
void		 server_start(struct server *);
/** Stop and free everything (the queue commits what is pending first). */
void		 server_free(struct server *);
/** Begin a graceful drain: NAK new messages, deliver for grace seconds. */
void		 server_drain(struct server *, int grace);

/**
 * Is the switch ready to take messages? 1, or 0 with why set (draining,
 * store disk full, audit trail cannot be written). A warning that does
 * not stop it (the audit trail near its budget) goes to warn ("" none).
 */
int		 server_ready(struct server *, char *why, size_t sz, char *warn,
		    size_t wsz);
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
/** The running config (replaced by a reload: do not keep it). */
const struct config *server_config(const struct server *);
struct queue	*server_queue(struct server *);
/** The live counters (loop thread). */
const struct server_stats *server_stats(const struct server *);
/** 1 while draining (server_drain). */
int		 server_draining(const struct server *);
/** The figures of the moment (see struct server_snapshot). */
void		 server_snapshot(struct server *, struct server_snapshot *);
/** The line of a configured line code, or NULL. */
struct line	*server_line_by_code(struct server *, const char *code);
/** The i-th line of the running config (0 <= i < nline). */
struct line	*server_line_at(struct server *, int i);
/** The last hour's figures (history.h), fed by the switch's tick. */
const struct history *server_history(const struct server *);
/**
 * A random id of this run of the switch (32 hex digits): a new one at
 * every start, never shown to another site (the admin API sends no CORS
 * header), so the dashboard can trust a URL that names it.
 */
const char	*server_instance(const struct server *);
/**
 * Swap in the ORI directory: the first time, the one config_load parsed
 * (cfg->directory); after that, the file the config names read anew (or
 * the implicit one rebuilt). On error the running directory stays and
 * *cause says "FILE:LINE: reason" (caller frees). For start-up and the
 * operator's reload of the directory alone.
 */
int		 server_oridir_reload(struct server *, char **cause);
/** How long an allowed photo request awaits its answer (us). */
uint64_t	 server_photo_ttl(struct server *);

#endif
