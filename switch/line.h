/*
 * line - the runtime side of one configured line: whether an endpoint is
 * connected, the copies waiting for it (in memory, mirrored from the
 * durable queue), the deliveries in flight, sequence numbers and the
 * operator's service state per message key.
 *
 * Copies enter a line only after their commit; they leave it when the
 * endpoint's DACK is committed (at-least-once). Unacknowledged deliveries
 * go back to the front of their list on disconnect or ack timeout, with
 * exponential backoff between retry-min and retry-max.
 *
 * A line never calls up: what it needs from the switch (the running
 * config, the queue, where an expired or unreadable copy goes, the line
 * of a sender) comes through its host, which server.c fills in. The
 * operator's service state per key is the line's, and so is its durable
 * copy (meta "svc.LINE.MKE"). Loop thread only.
 */
#ifndef NLSWITCH_LINE_H
#define NLSWITCH_LINE_H

#include <stdint.h>

#include "config.h"
#include "metrics.h"
#include "msg.h"
#include "queue.h"

struct line;
struct msgparse_schema;
struct session;

/* Delivery figures of all lines (part of the switch's statistics). */
struct line_stats {
	uint64_t		delivered;		/* DACKs */
	uint64_t		redelivered;
	uint64_t		delivered_key[MSG_KEY_MAX];
	struct metrics_hist	e2e_latency;		/* receive -> DACK, s */
};

/*
 * What the lines share and ask of the code above. server.c owns it and
 * keeps cfg and schema current across a reload.
 */
struct line_host {
	const struct config	*cfg;		/* the running config */
	struct msgparse_schema	*schema;	/* for legacy renderings */
	struct queue		*q;
	size_t			 body_bytes;	/* bodies cached, bytes */
	struct line_stats	*stats;
	void			*arg;
	/* A queued copy outlived held-ttl, or (err != QUEUE_E_OK) its
	 * message cannot be read: it goes to the dead letters. The line
	 * drops the copy after the call. */
	void	 (*dead_letter)(void *arg, struct line *,
		    const struct queue_copy *, int err);
	/* The line of a line code (a copy's sender), or NULL. */
	struct line *(*by_code)(void *arg, const char *code);
};

/*
 * A committed message body kept in memory for delivery, shared by the
 * copies of one message (reference counted). Deliveries send it by
 * reference, so it is never copied or read back from the store while the
 * destination is connected; a copy without one is read from the store.
 */
struct line_body {
	int		 refs;
	uint64_t	 recv_us;
	uint64_t	 in_seq;
	uint32_t	 stamp_off;
	size_t		 len;
	char		*data;
	struct line_host *host;
	/* Of the stored message, for the audit record of the delivery. */
	char		 ori[MSG_ORI_LEN + 1];
	char		 ctl[MSG_CTL_LEN + 1];
	uint8_t		 flags;		/* QUEUE_MSG_* */
};

/** Wrap a committed body (takes data); one reference. */
struct line_body *line_body_new(struct line_host *, char *data, size_t len,
	    uint32_t stamp_off, uint64_t recv_us, uint64_t in_seq);
void	 line_body_ref(struct line_body *);
void	 line_body_unref(struct line_body *);

/* What nlctl, the metrics and the dashboard show of a line. */
struct line_info {
	const struct config_line *cfg;
	int		 connected;
	char		 peer[64];		/* "" when down */
	uint64_t	 queued;		/* copies pending + in flight */
	uint64_t	 bytes;
	uint64_t	 oldest_us;		/* oldest enqueue time, 0 none */
	int		 in_flight;
	uint8_t		 svc[MSG_KEY_MAX];	/* enum config_svc */
};

#define LINE_NRECENT	16	/* deliveries and refusals kept per line */
#define LINE_REASON_LEN	512	/* a refusal's reason, in full */

/* A delivery the line's endpoint acknowledged (its DACK). */
struct line_delivery {
	uint64_t	 t_us;			/* the DACK */
	uint64_t	 msgid;
	uint16_t	 copy;
	uint8_t		 key;			/* enum msg_key */
	uint32_t	 attempts;
	uint64_t	 latency_us;		/* enqueued -> DACK */
	char		 ori[MSG_ORI_LEN + 1];	/* sender's, "" unknown */
	char		 dest[QUEUE_DEST_LEN + 1];
};

/* A message from the line that the switch refused with an ER. */
struct line_refusal {
	uint64_t	 t_us;
	char		 ori[MSG_ORI_LEN + 1];
	char		 mke[4];
	int		 code;			/* ER number */
	char		 reason[LINE_REASON_LEN];
};

/* What a line holds, for the quotas: copies for it, and copies anywhere
 * of messages it sent. */
struct line_held {
	uint64_t	 msgs, bytes;
	uint64_t	 sent_msgs, sent_bytes;
};

/**
 * The runtime side of cl: no copies, its sequence counters and the
 * operator's service states as the store last had them.
 */
struct line	*line_new(struct line_host *, const struct config_line *);
/** Free the line and the copies it holds in memory (they stay stored). */
void		 line_free(struct line *);
/**
 * A reload replaced old's config line by nl's: nl takes over old's
 * copies, counters, quota counts and session (old is left empty, to be
 * freed). The operator's service states stay nl's, read from the store.
 */
void		 line_adopt(struct line *nl, struct line *old);
const struct config_line *line_config(const struct line *);
/** The connected endpoint's session, or NULL. */
struct session	*line_session(const struct line *);
/** Its figures; walks its copies (not for the message path). */
void		 line_info(const struct line *, struct line_info *);
/** Its held counts (constant time). */
void		 line_held(const struct line *, struct line_held *);
/** Keep a refusal of one of the line's messages (the oldest goes). */
void		 line_note_refusal(struct line *, const struct line_refusal *);
/**
 * The i-th most recent delivery / refusal kept (i = 0 the newest), or
 * NULL past the last: LINE_NRECENT at most.
 */
const struct line_delivery *line_delivery_at(const struct line *, int i);
const struct line_refusal *line_refusal_at(const struct line *, int i);
/** The next number of the line's input (received) / output sequence. */
uint64_t	 line_take_in_seq(struct line *);
uint64_t	 line_take_out_seq(struct line *);
/** Effective service state of key for routing (enum config_svc): a
 * line that is down holds. */
int		 line_service(const struct line *, int key);
/**
 * The operator sets the service state of the keys in mask (bit k for key
 * k): kept in the store (meta and an audit record), in force at once.
 */
void		 line_set_service(struct line *, uint32_t mask, int state);
/** "in", "held" or "removed" (enum config_svc), as nlctl shows it. */
const char	*line_svc_name(int state);
/** A committed copy is ready for this line (body may be NULL). */
void		 line_add(struct line *, const struct queue_copy *);
void		 line_add_body(struct line *, const struct queue_copy *,
		    struct line_body *);
/** An endpoint authenticated as this line (replaces an older one). */
void		 line_attach(struct line *, struct session *);
/** The line's session went away: in-flight copies go back to pending. */
void		 line_detach(struct line *, struct session *);
/**
 * Forget every copy the line holds, without a store op: a store shared
 * by several nodes (queue_is_shared) took them back when the line went
 * down here, and delivers them where it comes up next.
 * @return the copies forgotten.
 */
uint64_t	 line_forget(struct line *);
/** Deliver as much as the window allows. */
void		 line_pump(struct line *);
/** The endpoint acknowledged a delivery. */
void		 line_dack(struct line *, uint64_t msgid, uint16_t copy);
/** Copies queued or in flight: count, bytes, oldest enqueue time (us). */
void		 line_depth(const struct line *, uint64_t *n, uint64_t *bytes,
		    uint64_t *oldest);
/** 1 if a copy is waiting in a key that is in service. */
int		 line_has_deliverable(const struct line *);
/** Periodic (1 s): ack timeouts and TTL expiry. */
void		 line_tick(struct line *, uint64_t now_mono, uint64_t now_us);
/**
 * Every copy the line holds, with its state ("held", "queued",
 * "waiting-for-line", "in-flight") and delivery attempts.
 */
void		 line_walk(const struct line *, void (*cb)(void *,
		    const struct queue_copy *, const char *state,
		    uint32_t attempts), void *arg);
/**
 * Drop the pending (not in-flight) copies select accepts; dropped is
 * called for each before it is freed (to delete it from the store).
 * @return the copies dropped.
 */
int		 line_purge(struct line *, int (*select)(void *,
		    const struct queue_copy *), void (*dropped)(void *,
		    const struct queue_copy *), void *arg);

#endif
