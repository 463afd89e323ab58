/*
 * nlidle - connect many lines to nlswitchd and hold them idle
 * (tools/linesbench; docs/performance.md, "10,000 lines").
 *
 *   nlidle -k PKIDIR -P PORTFILE [-H HOST] [-n LINES] [-p PREFIX]
 *          [-c PARALLEL] [-t HOLD_S]
 *   nlidle --help | --version
 *
 * Line I (1..LINES) presents a certificate with CN=PREFIX<I> (PREFIX
 * defaults to "idle"): the certificates are issued here, in memory, by
 * PKIDIR/ca.pem + ca.key (tools/nlpki's CA) for one P-256 key made at the
 * start, so 10,000 lines need no 10,000 files. Each connection does a
 * whole TLS handshake and waits for the switch's HELLO frame (the line is
 * then bound), at most PARALLEL (default 32) connections at a time
 * between connect and HELLO. Once up, a line sends nothing (the config's
 * heartbeat must be longer than the hold) and what the switch sends is
 * read and dropped.
 *
 * Prints "nlidle: up ..." when every line is up or has failed, then holds
 * them HOLD_S seconds (default 0: until SIGTERM or SIGINT), closes every
 * one with a close_notify and prints "nlidle: end ...". Each line has the
 * wall-clock time (t=), the counts and the elapsed time.
 *
 * Exit: 0, 1 on set-up failure or when a line did not come up, 2 usage.
 */
#include <sys/resource.h>
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
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "client.h"
#include "tls.h"
#include "util.h"

#define IDLE_MAXLINES	60000
#define IDLE_UP_S	120	/* at most, for all lines to come up */

enum idle_state {
	IDLE_ST_WAITING = 0,	/* not started */
	IDLE_ST_CONNECTING,
	IDLE_ST_HANDSHAKE,
	IDLE_ST_HELLO,		/* handshake done, waiting for HELLO */
	IDLE_ST_UP,
	IDLE_ST_CLOSED
};

struct idle;

struct idle_conn {
	struct idle		*d;
	int			 no;		/* 1..nlines */
	evutil_socket_t		 fd;
	SSL			*ssl;
	struct event		*ev;
	enum idle_state		 state;
};

struct idle {
	const char		*host;		/* -H */
	const char		*portfile;	/* -P */
	const char		*pkidir;	/* -k */
	const char		*prefix;	/* -p */
	int			 nlines;	/* -n */
	int			 parallel;	/* -c */
	double			 hold;		/* -t, 0: until a signal */
	struct event_base	*base;
	struct event		*ev_end;
	struct event		*ev_sig[2];
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	SSL_CTX			*ctx;
	X509			*ca;
	EVP_PKEY		*cakey;
	EVP_PKEY		*key;		/* every line's */
	struct idle_conn	*conns;
	int			 next;		/* next to start */
	int			 opening;	/* between connect and HELLO */
	int			 nup, nfailed, nclosed;
	int			 said_up;
	uint64_t		 t0;
};

static void	idle_conn_cb(evutil_socket_t, short, void *);
static void	idle_end_cb(evutil_socket_t, short, void *);

/* The usage: on stdout and exit 0 for --help, else stderr and exit 2. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: nlidle -k PKIDIR "
	    "-P PORTFILE [-H HOST] [-n LINES] [-p PREFIX] [-c PARALLEL] "
	    "[-t HOLD_S]\n"
	    "       nlidle --help | --version\n");
	exit(status);
}

static void
idle_say(const char *what, const struct idle *d)
{
	uint64_t wall = util_now_us();

	printf("nlidle: %s t=%llu.%03llu lines=%d up=%d failed=%d "
	    "closed-by-switch=%d elapsed=%.3fs\n", what,
	    (unsigned long long)(wall / 1000000),
	    (unsigned long long)(wall / 1000 % 1000), d->nlines, d->nup,
	    d->nfailed, d->nclosed, (double)(util_mono_us() - d->t0) / 1e6);
	fflush(stdout);
}

/* A certificate for CN=cn on d->key, issued by the CA. @return or NULL. */
static X509 *
idle_cert(struct idle *d, const char *cn, long serial)
{
	X509		*x;
	X509_NAME	*name;
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;

	if ((x = X509_new()) == NULL)
		return NULL;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	    (const unsigned char *)"nlswitch test", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(d->ca));
	X509_set_pubkey(x, d->key);
	X509V3_set_ctx(&v3, d->ca, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage,
	    "clientAuth")) == NULL)
		goto fail;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (X509_sign(x, d->cakey, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static void
idle_close(struct idle_conn *c, int clean)
{
	struct idle *d = c->d;

	if (c->state == IDLE_ST_CLOSED || c->state == IDLE_ST_WAITING)
		return;
	if (c->state == IDLE_ST_UP) {
		if (!clean)
			d->nclosed++;
	} else {
		d->nfailed++;
		d->opening--;
	}
	if (clean && c->ssl != NULL)
		(void)SSL_shutdown(c->ssl);	/* close_notify, best effort */
	c->state = IDLE_ST_CLOSED;
	if (c->ev != NULL)
		event_free(c->ev);
	c->ev = NULL;
	SSL_free(c->ssl);
	c->ssl = NULL;
	evutil_closesocket(c->fd);
	c->fd = -1;
}

/* Open connections while fewer than -c are opening. */
static void
idle_start_more(struct idle *d)
{
	struct idle_conn	*c;
	X509			*x;
	char			 cn[64];

	while (d->opening < d->parallel && d->next < d->nlines) {
		c = &d->conns[d->next++];
		c->d = d;
		c->no = d->next;
		snprintf(cn, sizeof cn, "%s%d", d->prefix, c->no);
		if ((x = idle_cert(d, cn, c->no)) == NULL ||
		    (c->ssl = SSL_new(d->ctx)) == NULL ||
		    SSL_use_certificate(c->ssl, x) != 1 ||
		    SSL_use_PrivateKey(c->ssl, d->key) != 1) {
			fprintf(stderr, "nlidle: %s: certificate: %s\n", cn,
			    tls_error());
			exit(1);
		}
		X509_free(x);
		if ((c->fd = socket(d->ss.ss_family, SOCK_STREAM, 0)) == -1) {
			fprintf(stderr, "nlidle: socket: %s\n", strerror(errno));
			exit(1);
		}
		evutil_make_socket_nonblocking(c->fd);
		c->state = IDLE_ST_CONNECTING;
		d->opening++;
		if ((c->ev = event_new(d->base, c->fd, EV_READ | EV_WRITE,
		    idle_conn_cb, c)) == NULL) {
			fprintf(stderr, "nlidle: event_new failed\n");
			exit(1);
		}
		if (connect(c->fd, (struct sockaddr *)&d->ss, d->sslen) == -1 &&
		    errno != EINPROGRESS) {
			idle_close(c, 0);
			continue;
		}
		event_assign(c->ev, d->base, c->fd, EV_WRITE, idle_conn_cb, c);
		event_add(c->ev, NULL);
	}
	if (!d->said_up && d->nup + d->nfailed == d->nlines) {
		d->said_up = 1;
		idle_say("up", d);
		if (d->hold > 0) {
			struct timeval tv;

			tv.tv_sec = (time_t)d->hold;
			tv.tv_usec = (suseconds_t)((d->hold -
			    (double)tv.tv_sec) * 1e6);
			evtimer_add(d->ev_end, &tv);
		} else
			evtimer_del(d->ev_end);
	}
}

/* Wait for the socket as OpenSSL asks (want: SSL_get_error's). */
static void
idle_wait(struct idle_conn *c, int want)
{
	short what = want == SSL_ERROR_WANT_WRITE ? EV_WRITE : EV_READ;

	event_del(c->ev);
	event_assign(c->ev, c->d->base, c->fd, what | (c->state == IDLE_ST_UP ?
	    EV_PERSIST : 0), idle_conn_cb, c);
	event_add(c->ev, NULL);
}

/* Read what there is; the first bytes after the handshake are HELLO. */
static void
idle_read(struct idle_conn *c)
{
	struct idle	*d = c->d;
	char		 buf[4096];
	int		 n, e;

	for (;;) {
		n = SSL_read(c->ssl, buf, sizeof buf);
		if (n > 0) {
			if (c->state == IDLE_ST_HELLO) {
				c->state = IDLE_ST_UP;
				d->nup++;
				d->opening--;
				idle_wait(c, SSL_ERROR_WANT_READ);
				idle_start_more(d);
			}
			continue;
		}
		e = SSL_get_error(c->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (c->state != IDLE_ST_UP || e == SSL_ERROR_WANT_WRITE)
				idle_wait(c, e);
			return;
		}
		ERR_clear_error();
		idle_close(c, 0);
		idle_start_more(d);
		return;
	}
}

static void
idle_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct idle_conn	*c = arg;
	int			 err = 0, r, one = 1;
	socklen_t		 len = sizeof err;

	(void)what;
	switch (c->state) {
	case IDLE_ST_CONNECTING:
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 ||
		    err != 0) {
			idle_close(c, 0);
			idle_start_more(c->d);
			return;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
		SSL_set_fd(c->ssl, fd);
		SSL_set_connect_state(c->ssl);
		c->state = IDLE_ST_HANDSHAKE;
		/* FALLTHROUGH */
	case IDLE_ST_HANDSHAKE:
		if ((r = SSL_do_handshake(c->ssl)) != 1) {
			r = SSL_get_error(c->ssl, r);
			if (r == SSL_ERROR_WANT_READ ||
			    r == SSL_ERROR_WANT_WRITE) {
				idle_wait(c, r);
				return;
			}
			ERR_clear_error();
			idle_close(c, 0);
			idle_start_more(c->d);
			return;
		}
		c->state = IDLE_ST_HELLO;
		/* FALLTHROUGH */
	case IDLE_ST_HELLO:
	case IDLE_ST_UP:
		idle_read(c);
		return;
	default:
		return;
	}
}

static void
idle_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct idle *d = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(d->base);
}

/* The defaults, then the command line, into d; a usage error exits 2. */
static void
idle_options(struct idle *d, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	char	*end;
	int	 ch;

	memset(d, 0, sizeof *d);
	d->host = "127.0.0.1";
	d->prefix = "idle";
	d->nlines = 100;
	d->parallel = 32;
	while ((ch = getopt_long(argc, argv, "c:H:hk:n:p:P:t:", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			d->parallel = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || d->parallel < 1 ||
			    d->parallel > 4096)
				usage(2);
			break;
		case 'H':
			d->host = optarg;
			break;
		case 'k':
			d->pkidir = optarg;
			break;
		case 'n':
			d->nlines = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || d->nlines < 1 ||
			    d->nlines > IDLE_MAXLINES)
				usage(2);
			break;
		case 'p':
			d->prefix = optarg;
			if (strlen(d->prefix) > 40)
				usage(2);
			break;
		case 'P':
			d->portfile = optarg;
			break;
		case 't':
			d->hold = strtod(optarg, &end);
			if (*end != '\0' || d->hold < 0 || d->hold > 86400)
				usage(2);
			break;
		case 'h':
			usage(0);
		case 'V':
			util_version_exit("nlidle");
		default:
			usage(2);
		}
	}
	if (d->portfile == NULL || d->pkidir == NULL || optind != argc)
		usage(2);
}

/* A PEM file's certificate (key NULL) or private key. @return 0, -1. */
static int
idle_load(const char *dir, const char *file, X509 **x, EVP_PKEY **key)
{
	char	 path[4096];
	FILE	*fp;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "nlidle: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (x != NULL)
		*x = PEM_read_X509(fp, NULL, NULL, NULL);
	else
		*key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (x != NULL ? *x == NULL : *key == NULL) {
		fprintf(stderr, "nlidle: %s: no PEM data\n", path);
		return -1;
	}
	return 0;
}

/* Enough descriptors for every line, the port, the CA, the key. */
static int
idle_setup(struct idle *d)
{
	struct evutil_addrinfo	 hints, *res = NULL;
	struct rlimit		 rl;
	char			 port[16], ca[4096], *cause = NULL;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur < (rlim_t)d->nlines + 64) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)d->nlines + 64) {
			fprintf(stderr, "nlidle: %d lines need more file "
			    "descriptors than the hard limit (%llu)\n",
			    d->nlines, (unsigned long long)rl.rlim_max);
			return -1;
		}
	}
	if (client_read_portfile(d->portfile, 15000, port, sizeof port) ==
	    -1) {
		fprintf(stderr, "nlidle: no port in %s\n", d->portfile);
		return -1;
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (evutil_getaddrinfo(d->host, port, &hints, &res) != 0 ||
	    res == NULL) {
		fprintf(stderr, "nlidle: cannot resolve %s\n", d->host);
		return -1;
	}
	memcpy(&d->ss, res->ai_addr, res->ai_addrlen);
	d->sslen = (socklen_t)res->ai_addrlen;
	evutil_freeaddrinfo(res);
	if (idle_load(d->pkidir, "ca.pem", &d->ca, NULL) == -1 ||
	    idle_load(d->pkidir, "ca.key", NULL, &d->cakey) == -1)
		return -1;
	if ((d->key = EVP_EC_gen("P-256")) == NULL) {
		fprintf(stderr, "nlidle: key: %s\n", tls_error());
		return -1;
	}
	snprintf(ca, sizeof ca, "%s/ca.pem", d->pkidir);
	if ((d->ctx = tls_client_ctx(ca, NULL, NULL, &cause)) == NULL) {
		fprintf(stderr, "nlidle: %s\n", cause);
		free(cause);
		return -1;
	}
	/* Thousands of idle lines here too: no buffers while idle. And
	 * the certificate alone, as tls_client_ctx's endpoints send theirs
	 * (the CA is the switch's already). */
	SSL_CTX_set_mode(d->ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_read_ahead(d->ctx, 0);
	if ((d->base = event_base_new()) == NULL ||
	    (d->ev_end = evtimer_new(d->base, idle_end_cb, d)) == NULL ||
	    (d->ev_sig[0] = evsignal_new(d->base, SIGTERM, idle_end_cb,
	    d)) == NULL ||
	    (d->ev_sig[1] = evsignal_new(d->base, SIGINT, idle_end_cb,
	    d)) == NULL) {
		fprintf(stderr, "nlidle: libevent set-up failed\n");
		return -1;
	}
	evsignal_add(d->ev_sig[0], NULL);
	evsignal_add(d->ev_sig[1], NULL);
	return 0;
}

int
main(int argc, char **argv)
{
	struct idle	 d;
	struct timeval	 tv = { IDLE_UP_S, 0 };
	int		 i, rc = 1;

	idle_options(&d, argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (idle_setup(&d) == -1)
		goto out;
	d.conns = xcalloc((size_t)d.nlines, sizeof *d.conns);
	d.t0 = util_mono_us();
	idle_say("start", &d);
	evtimer_add(d.ev_end, &tv);	/* lines that never come up */
	idle_start_more(&d);
	event_base_dispatch(d.base);
	rc = d.nup == d.nlines ? 0 : 1;
	for (i = 0; i < d.next; i++)
		idle_close(&d.conns[i], 1);
	idle_say("end", &d);
out:
	free(d.conns);
	for (i = 0; i < 2; i++)
		if (d.ev_sig[i] != NULL)
			event_free(d.ev_sig[i]);
	if (d.ev_end != NULL)
		event_free(d.ev_end);
	if (d.base != NULL)
		event_base_free(d.base);
	SSL_CTX_free(d.ctx);
	EVP_PKEY_free(d.key);
	EVP_PKEY_free(d.cakey);
	X509_free(d.ca);
	return rc;
}
