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
 * A job submitted while nothing is out in the thread and the loop is not
 * busy is parsed at once in the loop thread (see struct parser_load); its
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
	int		 inl;		/* internal: parsed in the loop */
	struct parser_job *next;	/* internal */
};

/*
 * When the loop parses itself. A job submitted while nothing is out in the
 * parser thread is parsed at once in the loop thread: a hand-off to the
 * parser thread and back costs two wake-ups, and on a virtual machine a
 * sleeping thread takes a quarter of a millisecond to wake, 25 times what
 * parsing a 2 KB message takes. The parser thread is there for a loop
 * that is busy: the loop parses only while its own CPU time over the last
 * PARSER_WINDOW_US was under PARSER_LOOP_BUSY_PCT of it, and for at most
 * PARSER_INLINE_US of each window (a run of large messages).
 */
#define PARSER_WINDOW_US	100000ULL	/* 100 ms */
#define PARSER_INLINE_US	25000ULL	/* a quarter of it */
#define PARSER_LOOP_BUSY_PCT	50

struct parser_load {
	uint64_t	win_start;	/* us, monotonic (util_mono_us) */
	uint64_t	win_cpu;	/* the loop thread's CPU us then */
	uint64_t	win_used;	/* us parsed in the loop in this window */
	int		busy;		/* the last window's loop was busy */
};

/**
 * The rule, apart from the clocks (so that it can be tested): a job comes
 * at now_us; when parser_load_due() says a window is over,
 * parser_load_roll() starts the next with cpu_us, the loop thread's CPU
 * time then. parser_load_admit() is 1 if the loop may parse the job (when
 * nothing is out in the thread), 0 if it goes to the thread; the caller
 * adds the time it spent parsing to win_used.
 */
int		 parser_load_due(const struct parser_load *, uint64_t now_us);
void		 parser_load_roll(struct parser_load *, uint64_t now_us,
		    uint64_t cpu_us);
int		 parser_load_admit(const struct parser_load *);

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
