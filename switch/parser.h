/*
 * parser - message parsing and XSD validation off the event loop.
 *
 * At 50 KB a message costs the loop thread more to parse than anything
 * else it does for it. A parser thread takes inbound messages in arrival
 * order (one thread: per-line order is kept), runs msgparse_message or,
 * for a message in legacy text, legacy_parse, and hands each job back to the loop thread
 * through an event, where the acceptance path goes on (routing, policy,
 * the durable PUT). The thread owns its compiled schema; a reload hands
 * it a new one with parser_set_schema().
 *
 * A job submitted while nothing else is out and the loop is not busy is
 * parsed at once in the loop thread (see parser_load_admit); its
 * completion still comes from the loop's event, never inside
 * parser_submit.
 */
#ifndef NLSWITCH_PARSER_H
#define NLSWITCH_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "util.h"

struct event_base;
struct session;
struct parser;
struct msgparse_schema;

struct parser_job {
	/* In: what arrived. */
	struct session	*sess;		/* referenced while the job lives */
	uint64_t	 tag;
	char		*payload;	/* owned by the job */
	size_t		 len;
	size_t		 maxlen;
	int		 legacy;	/* 1: payload is legacy text */
	uint64_t	 cookie;	/* the submitter's; the parser keeps it */

	/* Out: the parser's answer. For legacy input xml holds the XML made
	 * of the text (m.raw points into it). */
	int		 code;
	struct msg	 m;
	struct msg_diags diags;
	struct ubuf	 xml;

	struct msgparse_schema *swap;	/* internal: a schema swap marker */
	struct parser_job *next;	/* internal */
};

/*
 * When the loop parses itself. A job submitted while the parser has
 * nothing in hand is parsed at once in the loop thread: with one message
 * in flight the two hand-offs to the parser thread and back (a wake-up
 * each) are a good part of its ACK's latency. Under load the parser
 * thread is what keeps parsing off the loop (and parses in batches, one
 * wake-up for many), so the loop parses only while at most
 * PARSER_INLINE_JOBS jobs came in this PARSER_WINDOW_NS and in the one
 * before, and for at most PARSER_INLINE_NS of each window.
 */
#define PARSER_WINDOW_NS	100000000ULL	/* 100 ms */
#define PARSER_INLINE_NS	10000000ULL	/* 10 % of it */
#define PARSER_INLINE_JOBS	300		/* 3,000 a second */

struct parser_load {
	uint64_t	win_start;	/* ns, monotonic */
	uint64_t	win_used;	/* ns parsed in the loop in this window */
	unsigned	win_jobs;	/* jobs submitted in this window */
	unsigned	prev_jobs;	/* and in the one before (0: idle) */
};

/**
 * Count one job submitted at now_ns. @return 1 if the loop may parse it
 * (when nothing else is out), 0 if it goes to the thread. The caller adds
 * the time it spent parsing to win_used.
 */
int		 parser_load_admit(struct parser_load *, uint64_t now_ns);

/** Called in the loop thread for each parsed job, in submission order. */
typedef void (*parser_done_cb)(struct parser_job *, void *arg);

/**
 * Start the parser thread with schema (taken over). Completions arrive on
 * base, which must be thread-aware (evthread_use_pthreads()).
 */
struct parser	*parser_new(struct event_base *, struct msgparse_schema *,
		    parser_done_cb, void *arg);
/** Queue one job (loop thread). */
void		 parser_submit(struct parser *, struct parser_job *);
/** Use this schema (taken over) for the jobs submitted from now on. */
void		 parser_set_schema(struct parser *, struct msgparse_schema *);
/** Jobs parsed in the loop thread, and through the parser thread. */
void		 parser_counts(struct parser *, uint64_t *inl, uint64_t *thr);
/** Jobs submitted and not yet completed. */
int		 parser_pending(struct parser *);
/**
 * Stop: parse what is queued, run the remaining completions in the
 * caller, join the thread, free the schema.
 */
void		 parser_free(struct parser *);

#endif
