/*
 * parser - see parser.h.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "legacy.h"
#include "msgparse.h"
#include "log.h"
#include "parser.h"
#include "util.h"

struct parser {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct parser_job	*inbox, **inbox_tail;	/* submitted */
	struct parser_job	*done, **done_tail;	/* parsed, to complete */
	struct msgparse_schema	*schema;		/* the thread's own */
	int			 stopping;
	int			 pending;		/* loop thread only */
	int			 in_thread;		/* of them, sent there */
	struct event		*ev_done;
	parser_done_cb		 cb;
	void			*arg;
	/* Parsing in the loop thread (loop thread only). */
	struct parser_load	 load;
	uint64_t		 n_inline, n_thread;
};

static void	parser_done_cb_ev(evutil_socket_t, short, void *);

static void
parser_run_job(struct msgparse_schema *schema, struct parser_job *j)
{
	memset(&j->m, 0, sizeof j->m);
	j->diags.n = 0;
	j->diags.dropped = 0;
	ubuf_init(&j->xml);
	if (j->legacy)
		j->code = legacy_parse(schema, j->payload, j->len, j->maxlen, 0,
		    &j->xml, &j->m, &j->diags);
	else
		j->code = msgparse_message(schema, j->payload, j->len,
		    j->maxlen, 0, &j->m, &j->diags);
}

static void *
parser_thread(void *arg)
{
	struct parser		*p = arg;
	struct parser_job	*batch, *j;

	pthread_mutex_lock(&p->mtx);
	for (;;) {
		while (p->inbox == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->mtx);
		if (p->inbox == NULL && p->stopping)
			break;
		batch = p->inbox;
		p->inbox = NULL;
		p->inbox_tail = &p->inbox;
		pthread_mutex_unlock(&p->mtx);

		for (j = batch; j != NULL; j = j->next) {
			if (j->swap != NULL) {
				/* Only this thread uses its schema: the old one
				 * can go at once. */
				msgparse_schema_free(p->schema);
				p->schema = j->swap;
				j->swap = NULL;
				continue;
			}
			parser_run_job(p->schema, j);
		}

		pthread_mutex_lock(&p->mtx);
		*p->done_tail = batch;
		for (j = batch; j->next != NULL; j = j->next)
			;
		p->done_tail = &j->next;
		event_active(p->ev_done, EV_READ, 0);
	}
	pthread_mutex_unlock(&p->mtx);
	return NULL;
}

struct parser *
parser_new(struct event_base *base, struct msgparse_schema *schema,
    parser_done_cb cb, void *arg)
{
	struct parser *p = xcalloc(1, sizeof *p);

	p->schema = schema;
	p->cb = cb;
	p->arg = arg;
	p->inbox_tail = &p->inbox;
	p->done_tail = &p->done;
	pthread_mutex_init(&p->mtx, NULL);
	pthread_cond_init(&p->cond, NULL);
	if ((p->ev_done = event_new(base, -1, EV_PERSIST, parser_done_cb_ev,
	    p)) == NULL)
		fatalx("parser: event_new");
	event_add(p->ev_done, NULL);
	if (pthread_create(&p->thread, NULL, parser_thread, p) != 0)
		fatalx("parser: cannot start the parser thread");
	return p;
}

static void
parser_enqueue(struct parser *p, struct parser_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&p->mtx);
	*p->inbox_tail = j;
	p->inbox_tail = &j->next;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mtx);
}

/* The calling thread's CPU time, in microseconds. */
static uint64_t
parser_thread_cpu_us(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int
parser_load_due(const struct parser_load *l, uint64_t now_us)
{
	return now_us - l->win_start >= PARSER_WINDOW_US;
}

void
parser_load_roll(struct parser_load *l, uint64_t now_us, uint64_t cpu_us)
{
	uint64_t wall = now_us - l->win_start;

	/* A window with no job at all between: the loop was not busy
	 * parsing (its CPU then is not this rule's business). */
	l->busy = wall < 2 * PARSER_WINDOW_US && cpu_us > l->win_cpu &&
	    (cpu_us - l->win_cpu) * 100 > wall * PARSER_LOOP_BUSY_PCT;
	l->win_start = now_us;
	l->win_cpu = cpu_us;
	l->win_used = 0;
}

int
parser_load_admit(const struct parser_load *l)
{
	return !l->busy && l->win_used < PARSER_INLINE_US;
}

void
parser_submit(struct parser *p, struct parser_job *j)
{
	uint64_t t0;

	p->pending++;
	j->inl = 0;
	t0 = util_mono_us();
	if (parser_load_due(&p->load, t0))
		parser_load_roll(&p->load, t0, parser_thread_cpu_us());
	/* Jobs ahead of it in the thread, or a busy loop: in order, through
	 * the thread. */
	if (p->in_thread > 0 || !parser_load_admit(&p->load)) {
		p->n_thread++;
		p->in_thread++;
		parser_enqueue(p, j);
		return;
	}
	/*
	 * Nothing sent to the thread is still out, so the thread is waiting
	 * and will not touch its schema until the next job reaches it
	 * through the mutex; the last completion, taken under that mutex,
	 * made its schema visible here. Jobs parsed here before it wait in
	 * the done list, in order. The completion still runs from the
	 * loop's event, as a thread-parsed job's does: never inside the
	 * caller.
	 */
	j->inl = 1;
	parser_run_job(p->schema, j);
	p->load.win_used += util_mono_us() - t0;
	p->n_inline++;
	j->next = NULL;
	pthread_mutex_lock(&p->mtx);
	*p->done_tail = j;
	p->done_tail = &j->next;
	pthread_mutex_unlock(&p->mtx);
	event_active(p->ev_done, EV_READ, 0);
}

void
parser_counts(struct parser *p, uint64_t *inl, uint64_t *thr)
{
	*inl = p->n_inline;
	*thr = p->n_thread;
}

void
parser_set_schema(struct parser *p, struct msgparse_schema *schema)
{
	struct parser_job *marker = xcalloc(1, sizeof *marker);

	/* The swap travels in the job list, so jobs submitted before it
	 * are parsed with the old schema and later ones with the new. */
	marker->swap = schema;
	p->pending++;
	p->in_thread++;
	parser_enqueue(p, marker);
}

int
parser_pending(struct parser *p)
{
	return p->pending;
}

/* Run the completions of everything parsed so far (loop thread). */
static void
parser_complete(struct parser *p)
{
	struct parser_job	*list, *j, *next;

	pthread_mutex_lock(&p->mtx);
	list = p->done;
	p->done = NULL;
	p->done_tail = &p->done;
	pthread_mutex_unlock(&p->mtx);
	for (j = list; j != NULL; j = next) {
		next = j->next;
		p->pending--;
		if (!j->inl)
			p->in_thread--;
		if (j->sess == NULL) {
			free(j);	/* a schema swap marker, done */
			continue;
		}
		p->cb(j, p->arg);
	}
}

static void
parser_done_cb_ev(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	parser_complete(arg);
}

void
parser_free(struct parser *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mtx);
	p->stopping = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->mtx);
	pthread_join(p->thread, NULL);
	parser_complete(p);
	event_free(p->ev_done);
	msgparse_schema_free(p->schema);
	pthread_mutex_destroy(&p->mtx);
	pthread_cond_destroy(&p->cond);
	free(p);
}
