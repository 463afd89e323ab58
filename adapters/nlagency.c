/*
 * nlagency - a simulated agency (or state CJIS) line: connects to the
 * switch with its certificate, sends messages from files, prints every ACK,
 * NAK and delivery, acknowledges deliveries, saves received photos, and
 * waits for the replies it expects.
 *
 *   nlagency -k PKIDIR -l NAME (-P PORTFILE | -p PORT) [-H HOST] [-o DIR]
 *            [-r N] [-t SECONDS] [-i MS] [-q] [-v] FILE...
 *
 * Expected replies: one response (DR, KR, DNR) per accepted inquiry (DQ,
 * KQ, DNQ, DQG), unless -r gives the count (a query to NL or a region is
 * answered once per state). SMs are printed, not counted.
 * Exit: 0 all messages ACKed and every expected reply came in; 1 a message
 * was NAKed (its ER printed); 3 replies missing at the timeout; 2 usage or
 * connection failure.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <libxml/parser.h>

#include "client.h"
#include "legacy.h"
#include "log.h"
#include "msg.h"
#include "msgparse.h"
#include "tls.h"
#include "util.h"
#include "xscan.h"

#ifndef NLSWITCH_SCHEMADIR
#define NLSWITCH_SCHEMADIR "schemas"
#endif

struct agency {
	struct event_base	*base;
	struct client		*client;
	struct msgparse_schema	*schema;
	char			**files;
	int			 nfiles;
	int			 sent;
	int			 acked;
	int			 nacked;
	int			 expect;	/* replies expected */
	int			 fixed_expect;	/* -r given */
	int			 replies;
	int			 photos;
	const char		*photodir;
	int			 interval_ms;	/* between sends */
	int			 verbose;
	int			 quiet;
	int			 failed;	/* connection failure */
	int			*file_key;	/* key of each sent file, by tag */
	char			**file_ctl;	/* its control field, by tag */
	int			*answered;	/* reply seen, by tag */
	struct event		*ev_send;
	struct event		*ev_timeout;
};

static void	agency_send_cb(evutil_socket_t, short, void *);
static const char *agency_as_xml(struct agency *, const char *, size_t *,
		    struct ubuf *);
static void	agency_timeout_cb(evutil_socket_t, short, void *);

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: nlagency -k PKIDIR -l NAME (-P PORTFILE | -p PORT) "
	    "[-H HOST] [-o PHOTODIR] [-r N] [-t SECONDS] [-i MS] [-qv] FILE...\n");
	exit(2);
}

/* Leave once our acknowledgements are on the wire (bounded). */
static void
agency_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agency	*a = arg;
	struct timeval	 tv = { 0, 20000 };
	static int	 rounds;

	(void)fd;
	(void)what;
	if (client_outlen(a->client) == 0 || ++rounds > 100) {
		event_base_loopexit(a->base, NULL);
		return;
	}
	event_base_once(a->base, -1, EV_TIMEOUT, agency_flush_cb, a, &tv);
}

static void
agency_check_done(struct agency *a)
{
	struct timeval tv = { 0, 20000 };

	if (a->sent < a->nfiles || a->acked + a->nacked < a->nfiles)
		return;
	if (a->replies < a->expect)
		return;
	event_base_once(a->base, -1, EV_TIMEOUT, agency_flush_cb, a, &tv);
}

/* A reply counts once, for a message we sent with the same CTL. */
static int
agency_match(struct agency *a, const char *ctl)
{
	int i;

	for (i = 1; i <= a->sent; i++)
		if (!a->answered[i] && a->file_ctl[i] != NULL &&
		    strcmp(a->file_ctl[i], ctl ? ctl : "") == 0) {
			a->answered[i] = 1;
			return 1;
		}
	return a->fixed_expect;	/* with -r, count every reply */
}

static void
agency_hello_cb(struct client *c, const char *text, void *arg)
{
	struct agency	*a = arg;
	struct timeval	 tv = { 0, 0 };

	(void)c;
	if (!a->quiet)
		printf("CONNECTED %s\n", text);
	fflush(stdout);
	if (a->sent < a->nfiles)
		event_add(a->ev_send, &tv);
	else
		agency_check_done(a);
}

static void
agency_send_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agency	*a = arg;
	struct msg	 m;
	char		*data;
	size_t		 len;
	uint64_t	 tag;
	struct timeval	 tv;

	(void)fd;
	(void)what;
	if (!client_is_up(a->client) || a->sent >= a->nfiles)
		return;
	if ((data = util_read_file(a->files[a->sent], &len)) == NULL) {
		fprintf(stderr, "nlagency: %s: %s\n", a->files[a->sent],
		    strerror(errno));
		a->failed = 1;
		event_base_loopexit(a->base, NULL);
		return;
	}
	tag = client_send(a->client, data, len);
	/* Learn the key to know whether a reply is due (if it parses). */
	memset(&m, 0, sizeof m);
	if (legacy_is_text(data, len)) {
		struct ubuf x;

		ubuf_init(&x);
		legacy_parse(a->schema, data, len, 0, 0, &x, &m, NULL);
		ubuf_free(&x);
	} else
		msgparse_message(a->schema, data, len, 0, 0, &m, NULL);
	a->file_key[tag] = m.key;
	a->file_ctl[tag] = xstrdup(m.ctl);
	if (!a->quiet)
		printf("SENT tag=%llu file=%s mke=%s bytes=%zu\n",
		    (unsigned long long)tag, a->files[a->sent],
		    m.key ? msg_key_name(m.key) : "?", len);
	fflush(stdout);
	free(data);
	a->sent++;
	if (a->sent < a->nfiles) {
		tv.tv_sec = a->interval_ms / 1000;
		tv.tv_usec = (a->interval_ms % 1000) * 1000;
		event_add(a->ev_send, &tv);
	}
}

static void
agency_ack_cb(struct client *c, uint64_t tag, const char *msgid, void *arg)
{
	struct agency	*a = arg;
	int		 k = tag <= (uint64_t)a->nfiles ? a->file_key[tag] : 0;

	(void)c;
	a->acked++;
	/* One reply per query; -r for a query that fans out (NL, a region,
	 * a DQG). */
	if (!a->fixed_expect && msg_key_is_query(k))
		a->expect++;
	if (!a->quiet)
		printf("ACK tag=%llu msgid=%s\n", (unsigned long long)tag, msgid);
	fflush(stdout);
	agency_check_done(a);
}

/* The five predefined XML entities back to characters. */
static char *
agency_unescape(const char *p, size_t n)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' }
	};
	char	*out = xmalloc(n + 1), *o = out;
	size_t	 i, k;

	for (i = 0; i < n; ) {
		for (k = 0; k < sizeof ents / sizeof ents[0]; k++) {
			size_t l = strlen(ents[k].ent);

			if (n - i >= l && strncmp(p + i, ents[k].ent, l) == 0) {
				*o++ = ents[k].c;
				i += l;
				break;
			}
		}
		if (k == sizeof ents / sizeof ents[0])
			*o++ = p[i++];
	}
	*o = '\0';
	return out;
}

/*
 * Pull one element's text out of an XML document (first match, by local
 * name): its character data with the five entities decoded, and its
 * CDATA sections as they are. NULL when there is no such element.
 */
static char *
agency_field(const char *xml, size_t len, const char *name)
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	struct ubuf		 b;
	char			*u, *out;

	xscan_init(&sc, xml, len);
	if (xscan_find(&sc, name, 0, &t) == -1)
		return NULL;
	ubuf_init(&b);
	if (t.kind == XSCAN_START)
		while (xscan_next(&sc, &t) == XSCAN_TEXT ||
		    t.kind == XSCAN_CDATA) {
			if (t.kind == XSCAN_CDATA) {
				ubuf_add(&b, t.data, t.datalen);
				continue;
			}
			u = agency_unescape(t.data, t.datalen);
			ubuf_adds(&b, u);
			free(u);
		}
	out = xstrndup(b.data != NULL ? b.data : "", b.len);
	ubuf_free(&b);
	return out;
}

/* " code=NN reason="..." detail="..."" of an ER's text. */
static void
agency_er_line(struct ubuf *line, const char *text)
{
	struct msg_er_parts	 p;

	if (text == NULL || msg_er_split(text, strlen(text), &p) == -1) {
		ubuf_printf(line, " code=? text=\"%s\"", text ? text : "");
		return;
	}
	ubuf_printf(line, " code=%02d reason=\"%.*s\"", p.code,
	    (int)p.reasonlen, p.reason);
	if (p.detail != NULL)
		ubuf_printf(line, " detail=\"%.*s\"", (int)p.detaillen,
		    p.detail);
}

static void
agency_nak_cb(struct client *c, uint64_t tag, const char *er0, size_t len,
    void *arg)
{
	struct agency	*a = arg;
	struct ubuf	 conv;
	const char	*er = agency_as_xml(a, er0, &len, &conv);
	char		*text = agency_field(er, len, "ResponseText");
	struct ubuf	 line;

	(void)c;
	a->nacked++;
	ubuf_init(&line);
	ubuf_printf(&line, "NAK tag=%llu ER", (unsigned long long)tag);
	agency_er_line(&line, text);
	printf("%s\n", line.data);
	if (a->verbose)
		printf("%.*s\n", (int)len, er);
	fflush(stdout);
	ubuf_free(&line);
	free(text);
	ubuf_free(&conv);
	agency_check_done(a);
}

/* Save every photo of a delivery; returns how many were saved. */
static int
agency_save_photos(struct agency *a, const char *xml, size_t len,
    const char *name, struct ubuf *report)
{
	struct xscan	 sc;
	struct xscan_tok t;
	const char	*p, *q;
	int		 n = 0;

	xscan_init(&sc, xml, len);
	while (xscan_find(&sc, "BinaryBase64Object", 0, &t) == 0) {
		uint8_t	*img;
		size_t	 imglen;
		char	*path;

		if (t.kind == XSCAN_EMPTY)
			continue;
		p = t.p + t.len;
		if (xscan_find(&sc, "BinaryBase64Object", 1, &t) == -1)
			break;
		q = t.p;
		if ((img = util_b64_decode(p, (size_t)(q - p), &imglen)) == NULL)
			break;
		if (a->photodir != NULL) {
			path = xasprintf("%s/%s%s%d.jpg", a->photodir, name,
			    n ? "-" : "", n ? n : 0);
			if (n == 0) {
				free(path);
				path = xasprintf("%s/%s.jpg", a->photodir, name);
			}
			if (util_write_file(path, img, imglen) == 0)
				ubuf_printf(report, " photo=%s (%zu bytes)",
				    path, imglen);
			else
				ubuf_printf(report, " photo=unsaved:%s",
				    strerror(errno));
			free(path);
		} else
			ubuf_printf(report, " photo=%zu bytes", imglen);
		free(img);
		n++;
	}
	return n;
}

/*
 * A legacy line receives text: read it through the legacy parser so the
 * rest of nlagency sees the same XML either way. Returns the XML to use
 * (xml itself, or the converted text in *conv).
 */
static const char *
agency_as_xml(struct agency *a, const char *xml, size_t *len,
    struct ubuf *conv)
{
	struct msg m;

	ubuf_init(conv);
	if (!legacy_is_text(xml, *len))
		return xml;
	if (a->verbose)
		printf("%.*s\n", (int)*len, xml);
	memset(&m, 0, sizeof m);
	legacy_parse(a->schema, xml, *len, 0, LEGACY_STAMPED, conv, &m, NULL);
	if (conv->data == NULL)
		return xml;
	*len = conv->len;
	return conv->data;
}

static void
agency_deliver_cb(struct client *c, uint64_t msgid, uint16_t copy,
    const char *xml0, size_t len, void *arg)
{
	struct agency	*a = arg;
	struct ubuf	 conv;
	const char	*xml = agency_as_xml(a, xml0, &len, &conv);
	struct ubuf	 line;
	char		 id[32];
	char		*mke, *ori, *ctl, *stext, *p;
	int		 key;

	ubuf_init(&line);
	snprintf(id, sizeof id, "%016llx.%u", (unsigned long long)msgid, copy);
	mke = agency_field(xml, len, "MessageKeyCodeText");
	ori = agency_field(xml, len, "OriginatingORIID");
	ctl = agency_field(xml, len, "DocumentControlFieldText");
	key = mke ? msg_key_lookup(mke) : MSG_KEY_NONE;
	ubuf_printf(&line, "DLV %s %s from=%s ctl=%s", id, mke ? mke : "?",
	    ori ? ori : "?", ctl ? ctl : "");
	if (key == MSG_KEY_SM) {
		stext = agency_field(xml, len, "StatusMessageText");
		/* One output line: the text's line breaks become " / ". */
		ubuf_printf(&line, " status=.%02d. text=\"",
		    stext ? msg_text_number(stext) : 0);
		for (p = stext; p != NULL && *p != '\0'; p++)
			if (*p == '\n')
				ubuf_adds(&line, " / ");
			else if (*p != '\r')
				ubuf_add(&line, p, 1);
		ubuf_adds(&line, "\"");
		free(stext);
	} else if (key == MSG_KEY_ER) {
		stext = agency_field(xml, len, "ResponseText");
		agency_er_line(&line, stext);
		free(stext);
		a->replies += agency_match(a, ctl);
	} else if (msg_key_is_response(key)) {
		char *txt = agency_field(xml, len, "ResponseText");
		char *sur = agency_field(xml, len, "PersonSurName");

		if (txt != NULL && strncmp(txt, "NOT ON FILE", 11) == 0)
			ubuf_printf(&line, " NOT-ON-FILE");
		else if (sur != NULL)
			ubuf_printf(&line, " record=%s", sur);
		free(txt);
		free(sur);
		a->photos += agency_save_photos(a, xml, len,
		    ctl && *ctl ? ctl : id, &line);
		a->replies += agency_match(a, ctl);
	}
	printf("%s\n", line.data);
	if (a->verbose)
		printf("%.*s\n", (int)(len > 4096 ? 4096 : len), xml);
	fflush(stdout);
	ubuf_free(&line);
	free(mke);
	free(ori);
	free(ctl);
	client_dack(c, msgid, copy);
	ubuf_free(&conv);
	agency_check_done(a);
}

static void
agency_closed_cb(struct client *c, const char *why, void *arg)
{
	struct agency *a = arg;

	(void)c;
	fprintf(stderr, "nlagency: %s\n", why);
	a->failed = 1;
	event_base_loopexit(a->base, NULL);
}

static void
agency_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agency *a = arg;

	(void)fd;
	(void)what;
	printf("TIMEOUT replies=%d expected=%d acked=%d nacked=%d of %d\n",
	    a->replies, a->expect, a->acked, a->nacked, a->nfiles);
	fflush(stdout);
	event_base_loopexit(a->base, NULL);
}

int
main(int argc, char **argv)
{
	struct agency	 a;
	struct client_cb cb = { agency_hello_cb, agency_ack_cb, agency_nak_cb,
	    agency_deliver_cb, agency_closed_cb };
	const char	*pki = NULL, *name = NULL, *portfile = NULL, *host = "127.0.0.1";
	const char	*sdir;
	char		 port[16] = "", *ca, *cert, *key, *cause = NULL;
	SSL_CTX		*ctx;
	struct timeval	 tv;
	int		 ch, timeout = 30, rc;

	memset(&a, 0, sizeof a);
	while ((ch = getopt(argc, argv, "H:i:k:l:o:P:p:qr:t:v")) != -1) {
		switch (ch) {
		case 'H': host = optarg; break;
		case 'i': a.interval_ms = atoi(optarg); break;
		case 'k': pki = optarg; break;
		case 'l': name = optarg; break;
		case 'o': a.photodir = optarg; break;
		case 'P': portfile = optarg; break;
		case 'p': util_strlcpy(port, optarg, sizeof port); break;
		case 'q': a.quiet = 1; break;
		case 'r': a.expect = atoi(optarg); a.fixed_expect = 1; break;
		case 't': timeout = atoi(optarg); break;
		case 'v': a.verbose = 1; break;
		default: usage();
		}
	}
	a.files = argv + optind;
	a.nfiles = argc - optind;
	if (pki == NULL || name == NULL || (portfile == NULL && port[0] == '\0'))
		usage();
	if (portfile != NULL && client_read_portfile(portfile, 10000, port,
	    sizeof port) == -1) {
		fprintf(stderr, "nlagency: %s: no port\n", portfile);
		return 2;
	}
	log_init(1, 0, "nlagency");
	signal(SIGPIPE, SIG_IGN);
	if ((sdir = getenv("NLSWITCH_SCHEMADIR")) == NULL)
		sdir = NLSWITCH_SCHEMADIR;
	if ((a.schema = msgparse_schema_load(sdir, &cause)) == NULL) {
		fprintf(stderr, "nlagency: %s\n", cause);
		return 2;
	}
	if (a.photodir != NULL)
		mkdir(a.photodir, 0755);
	ca = xasprintf("%s/ca.pem", pki);
	cert = xasprintf("%s/%s.pem", pki, name);
	key = xasprintf("%s/%s.key", pki, name);
	if ((ctx = tls_client_ctx(ca, cert, key, &cause)) == NULL) {
		fprintf(stderr, "nlagency: %s\n", cause);
		return 2;
	}
	a.file_key = xcalloc((size_t)a.nfiles + 2, sizeof *a.file_key);
	a.file_ctl = xcalloc((size_t)a.nfiles + 2, sizeof *a.file_ctl);
	a.answered = xcalloc((size_t)a.nfiles + 2, sizeof *a.answered);
	a.base = event_base_new();
	a.ev_send = evtimer_new(a.base, agency_send_cb, &a);
	a.ev_timeout = evtimer_new(a.base, agency_timeout_cb, &a);
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	evtimer_add(a.ev_timeout, &tv);
	a.client = client_new(a.base, ctx, host, port, &cb, &a);
	if (client_connect(a.client) == -1) {
		fprintf(stderr, "nlagency: cannot connect to %s port %s\n", host,
		    port);
		return 2;
	}
	event_base_dispatch(a.base);

	if (a.failed && a.acked + a.nacked < a.nfiles)
		rc = 2;
	else if (a.nacked > 0)
		rc = 1;
	else if (a.replies < a.expect || a.acked < a.nfiles)
		rc = 3;
	else
		rc = 0;
	if (!a.quiet)
		printf("DONE sent=%d acked=%d nacked=%d replies=%d/%d photos=%d "
		    "exit=%d\n", a.sent, a.acked, a.nacked, a.replies, a.expect,
		    a.photos, rc);
	client_free(a.client);
	event_free(a.ev_send);
	event_free(a.ev_timeout);
	event_base_free(a.base);
	SSL_CTX_free(ctx);
	msgparse_schema_free(a.schema);
	for (ch = 0; ch < a.nfiles + 2; ch++)
		free(a.file_ctl[ch]);
	free(a.file_ctl);
	free(a.answered);
	free(a.file_key);
	free(ca);
	free(cert);
	free(key);
	return rc;
}
