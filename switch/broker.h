/*
 * broker - the switch's client of a RabbitMQ cluster, the replicated
 * store of a clustered switch (docs/cluster.md).
 *
 * One struct broker is one AMQP 0-9-1 connection with one channel, on
 * rabbitmq-c's blocking API. It is used by one thread at a time, and
 * either to publish or to consume, never both (their frames would
 * interleave on one channel):
 *   - a publisher (BROKER_PUBLISH) has publisher confirms on: a publish
 *     is settled when the broker's basic.ack for it arrives (for a quorum
 *     queue: the message is written and fsynced on a majority of the
 *     queue's replicas), refused on a basic.nack (the queue is full:
 *     overflow reject-publish), unroutable when the broker returns it
 *     (publishes are mandatory: a message for a queue that does not exist
 *     is never dropped silently);
 *   - a consumer (BROKER_CONSUME) takes deliveries from one or more
 *     queues with manual acknowledgement and a prefetch window.
 *
 * Addresses: the connection goes to the first address of the list that
 * accepts a login, trying them in turn from a given index. Once a call
 * fails with BROKER_E_CONN (the node died, a timeout, the broker closed
 * the connection), the connection is dead: every later call fails the
 * same way, and the caller closes it and opens another (from the next
 * address). A publish not yet settled when the connection died has an
 * unknown fate: the caller publishes it again, so consumers may see a
 * message twice (at-least-once), with the same message id.
 *
 * Errors are enum broker_err (broker_strerror); calls that can fail take
 * a cause buffer of BROKER_CAUSE_MAX bytes that says what failed and
 * where, in the broker's words when it has them.
 */
#ifndef NLSWITCH_BROKER_H
#define NLSWITCH_BROKER_H

#include <stddef.h>
#include <stdint.h>

#define BROKER_CAUSE_MAX	256
#define BROKER_ADDRS_MAX	16
#define BROKER_NAME_MAX		255	/* queue names, AMQP's limit */

enum broker_err {
	BROKER_E_OK = 0,
	BROKER_E_CONN,		/* connection unreachable, lost or timed out */
	BROKER_E_AUTH,		/* login refused */
	BROKER_E_REFUSED,	/* nacked: the queue refused the message */
	BROKER_E_NOROUTE,	/* returned: no such queue */
	BROKER_E_CHANNEL,	/* the broker closed the channel (an error of
				   ours: PRECONDITION_FAILED, NOT_FOUND ...) */
	BROKER_E_INVAL		/* a bad argument (too long a name ...) */
};
const char	*broker_strerror(int);

/* Where and how to connect. The strings are the caller's. */
struct broker_conf {
	const char	*addrs[BROKER_ADDRS_MAX];	/* "host:port" */
	int		 naddrs;
	const char	*user;		/* NULL: "guest" */
	const char	*pass;		/* NULL: "guest" */
	const char	*vhost;		/* NULL: "/" */
	int		 timeout_ms;	/* connect, login, each RPC, and how
					   long broker_settle waits; 0: 5000 */
	int		 heartbeat_s;	/* 0: none */
	/* TLS (AMQPS): the CA that issued the nodes' certificates, and
	 * this client's certificate and key; tls_ca NULL: plain AMQP. The
	 * node's certificate must name the address's host. */
	const char	*tls_ca;
	const char	*tls_cert;
	const char	*tls_key;
};

#define BROKER_PUBLISH	1
#define BROKER_CONSUME	2

struct broker;

/**
 * Connect to the first address, from addrs[first % naddrs] on, that
 * accepts a login; open the channel (with confirms for BROKER_PUBLISH).
 * @return the connection, or NULL with cause set (the last address's
 * failure, and how many were tried).
 */
struct broker	*broker_open(const struct broker_conf *, int first, int mode,
		    char *cause);
/** Close (politely if the connection is alive) and free; NULL is fine. */
void		 broker_close(struct broker *);
/** The index in conf.addrs of the address connected to. */
int		 broker_addr(const struct broker *);
/** How long broker_settle waits from now on (0: conf.timeout_ms). */
void		 broker_set_timeout(struct broker *, int ms);
/** Is the connection dead (a call failed with BROKER_E_CONN)? */
int		 broker_dead(const struct broker *);

/* A queue's kind and arguments, fixed when it is first declared. */
enum broker_qtype {
	BROKER_Q_QUORUM,	/* replicated (Raft), fsync before confirm */
	BROKER_Q_STREAM		/* replicated append-only log, read from any
				   offset without removing anything */
};
struct broker_qargs {
	int		 type;		/* enum broker_qtype */
	int		 single_active;	/* one consumer at a time (quorum) */
	const char	*dead_letter;	/* quorum: expired and rejected
					   messages go to this queue (through
					   the default exchange, at-least-once
					   dead-lettering); NULL: dropped */
	uint64_t	 max_bytes;	/* 0: unbounded. quorum: publishes
					   over it are nacked; stream: the
					   oldest segments are removed */
	int		 replicas;	/* initial group size, 0: every node */
	uint64_t	 segment_bytes;	/* stream: segment files' size (what
					   max_bytes removes at a time); 0:
					   RabbitMQ's (500 MB) */
};

/**
 * Declare a durable queue, or check that it exists with these arguments
 * (BROKER_E_CHANNEL, and the channel reopened, when it exists with
 * others). Either mode.
 */
int		 broker_declare(struct broker *, const char *queue,
		    const struct broker_qargs *, char *cause);
/**
 * The messages of queue waiting for a consumer (not those delivered and
 * unacknowledged), and its consumers (passive declare; either mode).
 */
int		 broker_depth(struct broker *, const char *queue,
		    uint64_t *ready, uint64_t *consumers, char *cause);
/** Delete a queue and what it holds (tests, tools). */
int		 broker_delete(struct broker *, const char *queue,
		    char *cause);

/* A header of a published message: a string or an unsigned number. */
struct broker_hdr {
	const char	*key;
	const char	*str;		/* NULL: num */
	uint64_t	 num;
};
#define BROKER_HDRS_MAX	24

/* One message to publish, persistent, mandatory. */
struct broker_msg {
	const char		*queue;	/* through the default exchange */
	const void		*body;
	size_t			 len;
	const char		*id;	/* message_id property, or NULL */
	const struct broker_hdr	*hdrs;
	int			 nhdrs;	/* at most BROKER_HDRS_MAX */
	uint64_t		 ttl_ms; /* expiration; 0: none */
};

/**
 * Publish (BROKER_PUBLISH); *seq is its number on this connection
 * (1, 2, ...), which broker_settle reports it by. Does not wait.
 */
int		 broker_publish(struct broker *, const struct broker_msg *,
		    uint64_t *seq, char *cause);
/** Publishes not yet settled. */
uint64_t	 broker_unsettled(const struct broker *);
/**
 * Wait until every publish so far is settled, at most conf.timeout_ms,
 * calling cb(arg, seq, err) once for each as it settles (BROKER_E_OK,
 * BROKER_E_REFUSED, BROKER_E_NOROUTE), in any order.
 * @return BROKER_E_OK when all are settled; else the error (the
 * connection is then dead: the unsettled publishes' fate is unknown).
 */
int		 broker_settle(struct broker *,
		    void (*cb)(void *arg, uint64_t seq, int err), void *arg,
		    char *cause);

/**
 * Start consuming queue (BROKER_CONSUME) with manual acks. prefetch
 * bounds the unacknowledged deliveries of each consumer of the channel
 * (the first call sets it; at most 65535, or BROKER_UNLIMITED). offset: a stream's first record to read, "first",
 * "last", "next" or a number; NULL for a quorum queue.
 */
#define BROKER_UNLIMITED	0xffffffffu
int		 broker_consume(struct broker *, const char *queue,
		    unsigned prefetch, const char *offset, char *cause);
/** Stop consuming queue; its unacknowledged deliveries stay ours
 * until acked or the connection closes (then they are requeued). */
int		 broker_cancel(struct broker *, const char *queue,
		    char *cause);

/* One delivery; valid until the next broker_next or broker_close. */
struct broker_delivery {
	uint64_t	 tag;		/* for broker_ack / broker_reject */
	char		 queue[BROKER_NAME_MAX + 1];
	const void	*body;
	size_t		 len;
	char		 id[128];	/* message_id, "" if none */
	int		 redelivered;
	uint64_t	 offset;	/* stream: the record's offset */
	uint64_t	 deaths;	/* x-death count, 0 if never dead-lettered */
	char		 death_reason[32];	/* "expired", "rejected" ... */
	char		 death_queue[BROKER_NAME_MAX + 1];
	void		*priv;
};

/**
 * Wait up to wait_ms for the next delivery.
 * @return 1 with d filled, 0 when none came in time, -1 with cause set
 * (the connection is dead).
 */
int		 broker_next(struct broker *, struct broker_delivery *d,
		    int wait_ms, char *cause);
/** A header of d: number (0 if absent or not a number) or string
 * (copied into buf, "" if absent). */
uint64_t	 broker_hdr_num(const struct broker_delivery *, const char *key);
const char	*broker_hdr_str(const struct broker_delivery *, const char *key,
		    char *buf, size_t sz);
/** Acknowledge (the broker forgets it) or reject a delivery: requeue
 * puts it back at its queue's head, else it is dead-lettered. */
int		 broker_ack(struct broker *, uint64_t tag, char *cause);
int		 broker_reject(struct broker *, uint64_t tag, int requeue,
		    char *cause);

#endif
