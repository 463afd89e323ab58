/*
 * nlhsflood - open many TLS connections to nlswitchd that never finish
 * their handshake (tools/hsbench; docs/performance.md).
 *
 *   nlhsflood -P PORTFILE [-H HOST] [-n CONNS] [-m hello|half|silent]
 *             [-t HOLD_S]
 *   nlhsflood --help | --version
 *
 * Opens CONNS TCP connections to the switch at once (non-blocking
 * connects, one libevent loop) and on each, once connected, sends a whole
 * TLS ClientHello (-m hello, the default: the switch then does the
 * expensive part of its handshake, the key exchange and the signature,
 * and waits for a client Finished that never comes), the first half of
 * one (-m half: the switch waits for the rest) or nothing (-m silent).
 * The ClientHello is made once, by OpenSSL into a memory BIO, and the
 * same bytes are sent on every connection, so the flood costs this
 * process little CPU. What the switch sends back is read and dropped.
 * The connections are held HOLD_S seconds (default 10) after the last one
 * connected (or 30 s after the start if some never connect), then closed.
 *
 * Prints one line when the flood starts, when every connection is up, and
 * at the end, each with the wall-clock time (t=seconds.millis) so that a
 * script can line them up with nlbench -I intervals, and a count of the
 * connections the switch closed.
 *
 * Exit: 0, 1 on set-up failure, 2 usage.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client.h"
#include "util.h"

#define FLOOD_MAXCONN	60000
#define FLOOD_CONNECT_S	30	/* at most, for all to connect */

enum flood_mode {
	FLOOD_M_HELLO = 0,
	FLOOD_M_HALF,
	FLOOD_M_SILENT
};

enum flood_state {
	FLOOD_ST_CONNECTING = 0,
	FLOOD_ST_HOLDING,	/* sent what the mode sends */
	FLOOD_ST_CLOSED		/* by the switch, or the connect failed */
};

struct flood;

struct flood_conn {
	struct flood		*f;
	evutil_socket_t		 fd;
	struct event		*ev;
	enum flood_state	 state;
};

struct flood {
	const char		*host;		/* -H */
	const char		*portfile;	/* -P */
	struct event_base	*base;
	struct event		*ev_end;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	enum flood_mode		 mode;
	int			 nconn;
	double			 hold;
	unsigned char		*hello;		/* the ClientHello record(s) */
	size_t			 hellolen;
	struct flood_conn	*conns;
	int			 nup;		/* connected */
	int			 nfailed;	/* connect failed */
	int			 nclosed;	/* closed by the switch */
	uint64_t		 rxbytes;
	uint64_t		 t0;		/* mono us */
};

static void	flood_conn_cb(evutil_socket_t, short, void *);
static void	flood_end_cb(evutil_socket_t, short, void *);

/* The usage: on stdout and exit 0 for --help, else stderr and exit 2. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: nlhsflood -P PORTFILE "
	    "[-H HOST] [-n CONNS] [-m hello|half|silent] [-t HOLD_S]\n"
	    "       nlhsflood --help | --version\n");
	exit(status);
}

static void
flood_say(const char *what, const struct flood *f)
{
	uint64_t wall = util_now_us();

	printf("nlhsflood: %s t=%llu.%03llu conns=%d up=%d failed=%d "
	    "closed-by-switch=%d rx-bytes=%llu elapsed=%.3fs\n", what,
	    (unsigned long long)(wall / 1000000),
	    (unsigned long long)(wall / 1000 % 1000), f->nconn, f->nup,
	    f->nfailed, f->nclosed, (unsigned long long)f->rxbytes,
	    (double)(util_mono_us() - f->t0) / 1e6);
	fflush(stdout);
}

/* A ClientHello as OpenSSL's default client sends it, into f->hello. */
static int
flood_make_hello(struct flood *f)
{
	SSL_CTX	*ctx;
	SSL	*ssl = NULL;
	BIO	*rb, *wb;
	char	*p;
	long	 n;
	int	 rc = -1;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if ((ssl = SSL_new(ctx)) == NULL ||
	    (rb = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if ((wb = BIO_new(BIO_s_mem())) == NULL) {
		BIO_free(rb);
		goto out;
	}
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	if (SSL_do_handshake(ssl) == 1 ||
	    SSL_get_error(ssl, -1) != SSL_ERROR_WANT_READ)
		goto out;
	if ((n = BIO_get_mem_data(wb, &p)) <= 0)
		goto out;
	f->hello = xmalloc((size_t)n);
	memcpy(f->hello, p, (size_t)n);
	f->hellolen = (size_t)n;
	rc = 0;
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return rc;
}

static void
flood_close(struct flood_conn *c, int by_switch)
{
	struct flood *f = c->f;

	if (c->state == FLOOD_ST_CLOSED)
		return;
	if (c->state == FLOOD_ST_CONNECTING)
		f->nfailed++;
	else if (by_switch)
		f->nclosed++;
	c->state = FLOOD_ST_CLOSED;
	event_free(c->ev);
	c->ev = NULL;
	evutil_closesocket(c->fd);
	c->fd = -1;
}

/* Connected: send what the mode sends, then read until the switch closes. */
static void
flood_connected(struct flood_conn *c)
{
	struct flood	*f = c->f;
	size_t		 n = 0;
	int		 one = 1;

	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (f->mode == FLOOD_M_HELLO)
		n = f->hellolen;
	else if (f->mode == FLOOD_M_HALF)
		n = f->hellolen / 2;
	/* A few hundred bytes into an empty socket buffer: all or error. */
	if (n > 0 && send(c->fd, f->hello, n, MSG_NOSIGNAL) != (ssize_t)n) {
		flood_close(c, 1);
		return;
	}
	c->state = FLOOD_ST_HOLDING;
	f->nup++;
	event_free(c->ev);
	c->ev = event_new(f->base, c->fd, EV_READ | EV_PERSIST, flood_conn_cb,
	    c);
	if (c->ev == NULL || event_add(c->ev, NULL) == -1) {
		fprintf(stderr, "nlhsflood: event_add failed\n");
		exit(1);
	}
	if (f->nup + f->nfailed + f->nclosed == f->nconn) {
		struct timeval tv;

		flood_say("connected", f);
		tv.tv_sec = (time_t)f->hold;
		tv.tv_usec = (suseconds_t)((f->hold - (double)tv.tv_sec) * 1e6);
		evtimer_add(f->ev_end, &tv);
	}
}

static void
flood_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flood_conn	*c = arg;
	char			 buf[4096];
	ssize_t			 n;
	int			 err = 0;
	socklen_t		 len = sizeof err;

	switch (c->state) {
	case FLOOD_ST_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			flood_close(c, 0);
			return;
		}
		flood_connected(c);
		return;
	case FLOOD_ST_HOLDING:
		while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
			c->f->rxbytes += (uint64_t)n;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR))
			flood_close(c, 1);
		return;
	default:
		return;
	}
}

static void
flood_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct flood *f = arg;

	event_base_loopbreak(f->base);
}

static int
flood_start(struct flood *f)
{
	struct flood_conn	*c;
	int			 i;

	struct timeval		 tv = { FLOOD_CONNECT_S, 0 };

	f->t0 = util_mono_us();
	flood_say("start", f);
	/* Connections that never come up end the run after a while. */
	tv.tv_sec += (time_t)f->hold;
	evtimer_add(f->ev_end, &tv);
	for (i = 0; i < f->nconn; i++) {
		c = &f->conns[i];
		c->f = f;
		c->state = FLOOD_ST_CONNECTING;
		if ((c->fd = socket(f->ss.ss_family, SOCK_STREAM, 0)) == -1) {
			fprintf(stderr, "nlhsflood: socket: %s\n",
			    strerror(errno));
			return -1;
		}
		evutil_make_socket_nonblocking(c->fd);
		if ((c->ev = event_new(f->base, c->fd, EV_WRITE, flood_conn_cb,
		    c)) == NULL)
			return -1;
		if (connect(c->fd, (struct sockaddr *)&f->ss, f->sslen) == 0)
			flood_connected(c);
		else if (errno == EINPROGRESS)
			event_add(c->ev, NULL);
		else
			flood_close(c, 0);
	}
	return 0;
}

/* The mode -m names; usage() if it names none. */
static enum flood_mode
flood_mode_arg(const char *name)
{
	/* In the order of enum flood_mode. */
	static const char *const names[] = { "hello", "half", "silent" };
	size_t	 i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(name, names[i]) == 0)
			return (enum flood_mode)i;
	usage(2);
}

/* The defaults, then the command line, into f; a usage error exits 2. */
static void
flood_options(struct flood *f, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	char	*end;
	int	 ch;

	memset(f, 0, sizeof *f);
	f->host = "127.0.0.1";
	f->nconn = 2000;
	f->hold = 10;
	while ((ch = getopt_long(argc, argv, "H:hm:n:P:t:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'H':
			f->host = optarg;
			break;
		case 'm':
			f->mode = flood_mode_arg(optarg);
			break;
		case 'n':
			f->nconn = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || f->nconn < 1 ||
			    f->nconn > FLOOD_MAXCONN)
				usage(2);
			break;
		case 'P':
			f->portfile = optarg;
			break;
		case 't':
			f->hold = strtod(optarg, &end);
			if (*end != '\0' || f->hold < 0 || f->hold > 86400)
				usage(2);
			break;
		case 'h':
			usage(0);
		case 'V':
			util_version_exit("nlhsflood");
		default:
			usage(2);
		}
	}
	if (f->portfile == NULL || optind != argc)
		usage(2);
}

/*
 * The switch's address (its port from the port file), the ClientHello,
 * the event base and the end timer. @return 0, or -1 (said why).
 */
static int
flood_setup(struct flood *f)
{
	struct evutil_addrinfo	 hints, *res = NULL;
	char			 port[16];

	if (client_read_portfile(f->portfile, 15000, port, sizeof port) ==
	    -1) {
		fprintf(stderr, "nlhsflood: no port in %s\n", f->portfile);
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (evutil_getaddrinfo(f->host, port, &hints, &res) != 0 ||
	    res == NULL) {
		fprintf(stderr, "nlhsflood: cannot resolve %s\n", f->host);
		return -1;
	}
	memcpy(&f->ss, res->ai_addr, res->ai_addrlen);
	f->sslen = (socklen_t)res->ai_addrlen;
	evutil_freeaddrinfo(res);
	if (flood_make_hello(f) == -1) {
		fprintf(stderr, "nlhsflood: cannot make a ClientHello\n");
		return -1;
	}
	if ((f->base = event_base_new()) == NULL ||
	    (f->ev_end = evtimer_new(f->base, flood_end_cb, f)) == NULL) {
		fprintf(stderr, "nlhsflood: libevent set-up failed\n");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct flood	 f;
	int		 i, rc = 1;

	flood_options(&f, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (flood_setup(&f) == -1)
		goto fail;
	f.conns = xcalloc((size_t)f.nconn, sizeof *f.conns);
	if (flood_start(&f) == -1)
		goto fail;
	event_base_dispatch(f.base);
	flood_say("end", &f);
	for (i = 0; i < f.nconn; i++)
		flood_close(&f.conns[i], 0);
	rc = 0;
	/* Success comes this way too: the one unwind path (a failed start
	 * leaves its sockets to the exit). */
fail:
	free(f.conns);
	free(f.hello);
	if (f.ev_end != NULL)
		event_free(f.ev_end);
	if (f.base != NULL)
		event_base_free(f.base);
	return rc;
}
