/*
 * handshake - see handshake.h.
 *
 * Threads and ownership. The handshake thread runs h->base: the
 * listeners, h->conns and every connection on it belong to that thread.
 * A connection whose handshake is done moves to h->ready under h->mu and
 * from then on belongs to the loop thread, which takes it in
 * handshake_ready_cb. Commands from the loop thread (pause, stop) and the
 * context and timeout for new connections are set under h->mu and acted
 * on in the handshake thread (handshake_cmd_cb). No lock is held across an
 * event_active(), which takes the target base's lock.
 *
 * One connection, one state machine (handshake_set_state):
 *
 *   READING <--SSL_accept wants to read/write--> WRITING
 *      \                                          /
 *       +--------SSL_accept done-------> DONE (to the loop thread)
 *       +--refused, closed, timeout----> FAILED (closed here)
 */
#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/queue.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "handshake.h"
#include "log.h"
#include "util.h"

#define HANDSHAKE_MAXLISTEN	8
/* Finished handshakes the loop thread takes per pass of its loop. */
#define HANDSHAKE_BATCH		16
/* Counts alone wait this long for the loop thread (ms): one wake-up per
 * interval, not two per connection of a flood. */
#define HANDSHAKE_COUNT_MS	100
/*
 * The handshake thread's nice value. When the CPUs are busy, the loop
 * thread (and the parser and commit threads) win over handshakes: a
 * flood of ClientHellos costs new connections time, not established
 * lines their throughput. At +10 the thread still gets about a tenth of
 * a CPU against one busy thread: about a hundred handshakes a second.
 */
#define HANDSHAKE_NICE		10

enum handshake_state {
	HANDSHAKE_ST_READING = 0,	/* SSL_accept waits for the socket to read */
	HANDSHAKE_ST_WRITING,		/* ... to write */
	HANDSHAKE_ST_DONE,		/* handed to the loop thread */
	HANDSHAKE_ST_FAILED		/* closed */
};

struct handshake_conn {
	struct handshake	*h;
	uint64_t		 id;		/* for the log */
	evutil_socket_t		 fd;
	SSL			*ssl;
	struct event		*ev;		/* the socket, with the deadline */
	enum handshake_state	 state;
	uint64_t		 deadline_us;	/* monotonic */
	char			 peer[64];
	TAILQ_ENTRY(handshake_conn) entry;	/* h->conns or h->ready */
};

TAILQ_HEAD(handshake_list, handshake_conn);

struct handshake {
	/* Set before the thread starts, read-only after. */
	struct event_base	*loop;		/* the loop thread's base */
	struct event_base	*base;		/* the handshake thread's */
	handshake_done_cb	 done_cb;
	handshake_count_cb	 count_cb;
	void			*arg;
	struct event		*ev_ready;	/* on loop: take h->ready */
	struct event		*ev_more;	/* on loop: the next batch */
	struct event		*ev_cmd;	/* on base: act on commands */
	struct evconnlistener	*listeners[HANDSHAKE_MAXLISTEN];
	int			 nlisteners;
	pthread_t		 thread;
	int			 started;

	/* The handshake thread's. */
	struct handshake_list	 conns;		/* in progress */
	uint64_t		 next_id;
	int			 paused;

	/* Shared, under mu. */
	pthread_mutex_t		 mu;
	SSL_CTX			*ctx;		/* for new connections */
	int			 timeout_s;
	int			 pause;		/* command: stop accepting */
	int			 stop;		/* command: leave the loop */
	struct handshake_list	 ready;		/* done, for the loop thread */
	unsigned		 accepted;	/* since the loop thread's last look */
	unsigned		 refused;
	int			 woken;		/* ev_ready active: the loop will look */
	int			 armed;		/* ev_ready's count timer added */
};

static void	handshake_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);
static void	handshake_accept_error_cb(struct evconnlistener *, void *);
static void	handshake_io_cb(evutil_socket_t, short, void *);
static void	handshake_cmd_cb(evutil_socket_t, short, void *);
static void	handshake_ready_cb(evutil_socket_t, short, void *);

static const char *const handshake_state_names[] = {
	"READING", "WRITING", "DONE", "FAILED"
};

static void
handshake_set_state(struct handshake_conn *c, enum handshake_state st)
{
	static const int ok[4][4] = {
		/* to: READING WRITING DONE FAILED */
		{ 1, 1, 1, 1 },		/* from READING */
		{ 1, 1, 1, 1 },		/* from WRITING */
		{ 0, 0, 0, 0 },		/* from DONE */
		{ 0, 0, 0, 0 }		/* from FAILED */
	};

	if (!ok[c->state][st])
		fatalx("handshake: %llu: bad transition %s -> %s",
		    (unsigned long long)c->id, handshake_state_names[c->state],
		    handshake_state_names[st]);
	if (c->state != st)
		log_trace(TRACE_TLS, "handshake: %llu: %s -> %s",
		    (unsigned long long)c->id,
		    handshake_state_names[c->state],
		    handshake_state_names[st]);
	c->state = st;
}

/* Close and free a connection that is on no list. */
static void
handshake_conn_free(struct handshake_conn *c)
{
	if (c->ev != NULL)
		event_free(c->ev);
	SSL_free(c->ssl);		/* the socket BIO does not close fd */
	evutil_closesocket(c->fd);
	free(c);
}

/*
 * Hand the loop thread a finished handshake (c, or NULL) and counts. A
 * finished handshake wakes it at once, counts alone within
 * HANDSHAKE_COUNT_MS; either unless it is already due to look, so a flood
 * costs the loop thread one wake-up per look, not one per connection.
 * Whoever sets woken or armed schedules ev_ready after unlocking: a
 * handshake_ready_cb that takes the lock after this one takes what was
 * posted here.
 */
static void
handshake_post(struct handshake *h, struct handshake_conn *c,
    unsigned accepted, unsigned refused)
{
	struct timeval	 tv = { 0, HANDSHAKE_COUNT_MS * 1000 };
	int		 wake = 0, arm = 0;

	pthread_mutex_lock(&h->mu);
	if (c != NULL)
		TAILQ_INSERT_TAIL(&h->ready, c, entry);
	h->accepted += accepted;
	h->refused += refused;
	if (c != NULL && !h->woken)
		wake = h->woken = 1;
	else if (!h->woken && !h->armed)
		arm = h->armed = 1;
	pthread_mutex_unlock(&h->mu);
	if (wake)
		event_active(h->ev_ready, EV_READ, 1);
	else if (arm)
		event_add(h->ev_ready, &tv);
}

/*
 * Close a connection whose handshake did not finish. refused: TLS said no
 * (a certificate missing or not from the CA, a protocol error, the peer
 * gone mid-handshake without a close_notify) and the refusal is counted;
 * a timeout or a clean close is logged only, as ever.
 */
static void
handshake_fail(struct handshake_conn *c, const char *why, int refused)
{
	struct handshake *h = c->h;

	log_info("handshake: %llu: %s peer=%s reason=\"%s\"",
	    (unsigned long long)c->id, refused ? "refused" : "dropped",
	    c->peer, why);
	handshake_set_state(c, HANDSHAKE_ST_FAILED);
	TAILQ_REMOVE(&h->conns, c, entry);
	handshake_conn_free(c);
	if (refused)
		handshake_post(h, NULL, 0, 1);
}

static void
handshake_done(struct handshake_conn *c)
{
	struct handshake *h = c->h;

	log_debug("handshake: %llu: done peer=%s %s",
	    (unsigned long long)c->id, c->peer, SSL_get_version(c->ssl));
	handshake_set_state(c, HANDSHAKE_ST_DONE);
	event_free(c->ev);
	c->ev = NULL;
	TAILQ_REMOVE(&h->conns, c, entry);
	handshake_post(h, c, 0, 0);
}

/* Wait for the socket to be readable or writable, until the deadline. */
static void
handshake_wait(struct handshake_conn *c, enum handshake_state st)
{
	short		 what = st == HANDSHAKE_ST_WRITING ? EV_WRITE : EV_READ;
	uint64_t	 now = util_mono_us(), left;
	struct timeval	 tv;

	if (now >= c->deadline_us) {
		handshake_fail(c, "handshake timeout", 0);
		return;
	}
	handshake_set_state(c, st);
	if (c->ev == NULL || event_get_events(c->ev) != what) {
		if (c->ev != NULL)
			event_free(c->ev);
		c->ev = event_new(c->h->base, c->fd, what, handshake_io_cb, c);
		if (c->ev == NULL) {
			handshake_fail(c, "event_new failed", 0);
			return;
		}
	}
	left = c->deadline_us - now;
	tv.tv_sec = (time_t)(left / 1000000);
	tv.tv_usec = (suseconds_t)(left % 1000000);
	if (event_add(c->ev, &tv) == -1)
		handshake_fail(c, "event_add failed", 0);
}

/* One step of SSL_accept on what the socket has now. */
static void
handshake_step(struct handshake_conn *c)
{
	unsigned long	 e;
	char		 why[160];
	int		 r, err, refused = 1;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_accept(c->ssl)) == 1) {
		handshake_done(c);
		return;
	}
	switch ((err = SSL_get_error(c->ssl, r))) {
	case SSL_ERROR_WANT_READ:
		handshake_wait(c, HANDSHAKE_ST_READING);
		return;
	case SSL_ERROR_WANT_WRITE:
		handshake_wait(c, HANDSHAKE_ST_WRITING);
		return;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(why, sizeof why, "peer closed");
		refused = 0;
		break;
	case SSL_ERROR_SYSCALL:
		if ((e = ERR_peek_last_error()) != 0)
			ERR_error_string_n(e, why, sizeof why);
		else if (errno != 0)
			snprintf(why, sizeof why, "%s", strerror(errno));
		else {
			snprintf(why, sizeof why, "peer closed");
			refused = 0;
		}
		break;
	default:
		/* The last error is the reason (a certificate that does
		 * not verify, no certificate, a protocol error). */
		if ((e = ERR_peek_last_error()) != 0)
			ERR_error_string_n(e, why, sizeof why);
		else
			snprintf(why, sizeof why, "SSL_accept error %d", err);
		break;
	}
	ERR_clear_error();
	handshake_fail(c, why, refused);
}

static void
handshake_io_cb(evutil_socket_t fd, short what, void *arg)
{
	struct handshake_conn *c = arg;

	(void)fd;
	if (what & EV_TIMEOUT) {
		handshake_fail(c, "handshake timeout", 0);
		return;
	}
	handshake_step(c);
}

static void
handshake_peer_fmt(const struct sockaddr *sa, char *buf, size_t sz)
{
	char	host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		    host, sizeof host);
		snprintf(buf, sz, "[%s]:%u", host,
		    ntohs(((const struct sockaddr_in6 *)sa)->sin6_port));
	} else {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    host, sizeof host);
		snprintf(buf, sz, "%s:%u", host,
		    ntohs(((const struct sockaddr_in *)sa)->sin_port));
	}
}

/* A new connection: an SSL from the current context, then wait for the
 * ClientHello. */
static void
handshake_accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct handshake	*h = arg;
	struct handshake_conn	*c;
	SSL_CTX			*ctx;
	SSL			*ssl;
	int			 timeout_s;

	(void)lev;
	(void)salen;
	pthread_mutex_lock(&h->mu);
	ctx = h->ctx;
	SSL_CTX_up_ref(ctx);	/* a reload may drop h->ctx meanwhile */
	timeout_s = h->timeout_s;
	pthread_mutex_unlock(&h->mu);
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* ssl holds its own reference */
	handshake_post(h, NULL, 1, 0);
	if (ssl == NULL || SSL_set_fd(ssl, (int)fd) != 1) {
		log_ssl("SSL_new");
		SSL_free(ssl);
		evutil_closesocket(fd);
		return;
	}
	SSL_set_accept_state(ssl);
	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->id = ++h->next_id;
	c->fd = fd;
	c->ssl = ssl;
	c->state = HANDSHAKE_ST_READING;
	c->deadline_us = util_mono_us() + (uint64_t)timeout_s * 1000000;
	handshake_peer_fmt(sa, c->peer, sizeof c->peer);
	TAILQ_INSERT_TAIL(&h->conns, c, entry);
	log_debug("handshake: %llu: accepted peer=%s",
	    (unsigned long long)c->id, c->peer);
	handshake_wait(c, HANDSHAKE_ST_READING);
}

static void
handshake_accept_error_cb(struct evconnlistener *lev, void *arg)
{
	(void)lev;
	(void)arg;
	/* EMFILE and friends: the listener stays; the next accept retries. */
	log_warn("handshake: accept");
}

/* In the handshake thread: act on pause and stop. */
static void
handshake_cmd_cb(evutil_socket_t fd, short what, void *arg)
{
	struct handshake	*h = arg;
	int			 pause, stop, i;

	(void)fd;
	(void)what;
	pthread_mutex_lock(&h->mu);
	pause = h->pause;
	stop = h->stop;
	pthread_mutex_unlock(&h->mu);
	if (pause && !h->paused) {
		for (i = 0; i < h->nlisteners; i++)
			evconnlistener_disable(h->listeners[i]);
		h->paused = 1;
	}
	if (stop)
		event_base_loopbreak(h->base);
}

/* In the loop thread: the counts, then a batch of finished handshakes. */
static void
handshake_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct handshake	*h = arg;
	struct handshake_list	 batch;
	struct handshake_conn	*c;
	struct timeval		 now = { 0, 0 };
	unsigned		 accepted, refused;
	int			 n = 0, more;

	(void)fd;
	(void)what;
	TAILQ_INIT(&batch);
	pthread_mutex_lock(&h->mu);
	accepted = h->accepted;
	refused = h->refused;
	h->accepted = h->refused = 0;
	while (n < HANDSHAKE_BATCH && (c = TAILQ_FIRST(&h->ready)) != NULL) {
		TAILQ_REMOVE(&h->ready, c, entry);
		TAILQ_INSERT_TAIL(&batch, c, entry);
		n++;
	}
	more = !TAILQ_EMPTY(&h->ready);
	h->woken = more;	/* if more, ev_more below is the wake-up */
	h->armed = 0;
	pthread_mutex_unlock(&h->mu);
	if (accepted > 0 || refused > 0)
		h->count_cb(accepted, refused, h->arg);
	while ((c = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, c, entry);
		h->done_cb(c->id, c->fd, c->ssl, c->peer, h->arg);
		free(c);
	}
	/* The rest after the loop has looked at its sockets again: a timer
	 * of 0, not event_active, which would run before that (and not
	 * ev_ready, whose count timer may be re-added meanwhile). */
	if (more)
		event_add(h->ev_more, &now);
}

static void *
handshake_main(void *arg)
{
	struct handshake *h = arg;

	/* Linux: a thread is a task, with a nice value of its own. */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), HANDSHAKE_NICE) == -1)
		log_debug("handshake: setpriority: %s", strerror(errno));
	event_base_loop(h->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

struct handshake *
handshake_new(struct event_base *loop, SSL_CTX *ctx, int timeout_s,
    handshake_done_cb done, handshake_count_cb count, void *arg)
{
	struct handshake *h = xcalloc(1, sizeof *h);

	h->loop = loop;
	h->done_cb = done;
	h->count_cb = count;
	h->arg = arg;
	TAILQ_INIT(&h->conns);
	TAILQ_INIT(&h->ready);
	pthread_mutex_init(&h->mu, NULL);
	SSL_CTX_up_ref(ctx);
	h->ctx = ctx;
	h->timeout_s = timeout_s;
	if ((h->base = event_base_new()) == NULL)
		fatalx("handshake: event_base_new");
	/* Made active, or added as timers (handshake_post,
	 * handshake_ready_cb). */
	if ((h->ev_ready = event_new(loop, -1, 0, handshake_ready_cb,
	    h)) == NULL ||
	    (h->ev_more = evtimer_new(loop, handshake_ready_cb, h)) == NULL ||
	    (h->ev_cmd = event_new(h->base, -1, 0, handshake_cmd_cb,
	    h)) == NULL)
		fatalx("handshake: event_new");
	return h;
}

int
handshake_listen(struct handshake *h, const struct sockaddr *sa,
    socklen_t salen, int backlog)
{
	struct evconnlistener *lev;

	if (h->nlisteners == HANDSHAKE_MAXLISTEN) {
		errno = ENOSPC;
		return -1;
	}
	lev = evconnlistener_new_bind(h->base, handshake_accept_cb, h,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	    backlog, sa, (int)salen);
	if (lev == NULL)
		return -1;
	evconnlistener_set_error_cb(lev, handshake_accept_error_cb);
	h->listeners[h->nlisteners++] = lev;
	return evconnlistener_get_fd(lev);
}

void
handshake_start(struct handshake *h)
{
	sigset_t	 all, old;
	int		 rc;

	/* Signals are the loop thread's (libevent delivers them there). */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&h->thread, NULL, handshake_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		fatalx("handshake: pthread_create: %s", strerror(rc));
	(void)pthread_setname_np(h->thread, "nlsw-handshake");	/* top -H */
	h->started = 1;
}

void
handshake_set_ctx(struct handshake *h, SSL_CTX *ctx, int timeout_s)
{
	SSL_CTX *old;

	SSL_CTX_up_ref(ctx);
	pthread_mutex_lock(&h->mu);
	old = h->ctx;
	h->ctx = ctx;
	h->timeout_s = timeout_s;
	pthread_mutex_unlock(&h->mu);
	SSL_CTX_free(old);	/* connections made from it keep a reference */
}

void
handshake_pause(struct handshake *h)
{
	pthread_mutex_lock(&h->mu);
	h->pause = 1;
	pthread_mutex_unlock(&h->mu);
	event_active(h->ev_cmd, EV_READ, 1);
}

void
handshake_free(struct handshake *h)
{
	struct handshake_conn	*c;
	int			 i;

	if (h == NULL)
		return;
	if (h->started) {
		pthread_mutex_lock(&h->mu);
		h->stop = 1;
		pthread_mutex_unlock(&h->mu);
		event_active(h->ev_cmd, EV_READ, 1);
		pthread_join(h->thread, NULL);
	}
	/* The thread is gone: all of it is this thread's now. */
	for (i = 0; i < h->nlisteners; i++)
		evconnlistener_free(h->listeners[i]);
	while ((c = TAILQ_FIRST(&h->conns)) != NULL) {
		TAILQ_REMOVE(&h->conns, c, entry);
		handshake_conn_free(c);
	}
	while ((c = TAILQ_FIRST(&h->ready)) != NULL) {
		TAILQ_REMOVE(&h->ready, c, entry);
		handshake_conn_free(c);
	}
	event_free(h->ev_cmd);
	event_free(h->ev_ready);
	event_free(h->ev_more);
	event_base_free(h->base);
	SSL_CTX_free(h->ctx);
	pthread_mutex_destroy(&h->mu);
	free(h);
}
