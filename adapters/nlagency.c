/*
 * nlagency - a simulated agency (or state CJIS) line: connects to the
 * switch with its certificate, sends messages from files (or N copies of
 * each with varied fields), prints every ACK, NAK and delivery,
 * acknowledges deliveries, saves received photos, and waits for the
 * replies it expects.
 *
 *   nlagency -k PKIDIR -l NAME (-P PORTFILE | -p PORT)... [-H HOST] [-o DIR]
 *            [-f CONF] [-n N] [-r N] [-t SECONDS] [-i MS] [-q] [-v] FILE...
 *   nlagency --help | --version
 *
 * Expected replies: an inquiry (DQ, KQ, DNQ, DQG) the switch ACKs is due
 * one response (DR, KR, DNR) from every place it went to: each
 * destination state (a 2-letter code, or the first two letters of an
 * ORI), or with -f CONF (the switch's configuration) every line the
 * switch routes it to. An inquiry to NL or a region (the configuration's
 * with -f, else Nlets' built-in ones) is a multi-state query: it is due
 * one merged response from the switch (printed "merged:" with its
 * summary); the answers that come after it are printed "late:" and
 * counted apart. A place is settled by its response, or by an SM from
 * the switch naming it and saying that no response comes (.01. .04.
 * .08. .09.); an SM .02. (held) keeps the response due. A reply is
 * matched to the request by control field, message key and the replying
 * place (an SM by the message ID it names), whether it arrives as XML or
 * as legacy text; one that matches nothing due is printed as unexpected
 * and not counted. -r N expects N responses, whatever they answer.
 *
 * -n N sends N copies of each FILE (adapters/tmpl.h): copy k with its own
 * control field and the name, sex, DOB and license number of synthetic
 * record k of the first destination's state. The copies are the same
 * bytes each run: run again within the switch's resend-window they are
 * resends (ACKed with the first ids, not delivered): change the
 * template's control field between runs.
 *
 * Several switch addresses (-P and -p repeated, in the order given: the
 * nodes of a switch cluster sharing one store): when the connection is
 * lost or cannot be made, nlagency connects to the next address, round
 * robin (250 ms later, 1 s after a whole round failed; at most
 * AGENCY_ROUNDS rounds without a HELLO), and sends again, byte for byte,
 * every message that has no ACK or NAK yet (the switch takes a resend it
 * stored as such, docs/protocol.md); a NAK with ER .93. (the switch not
 * accepting messages: its store unavailable, say a RabbitMQ node lost,
 * "RESEND LATER") is not final then: the message is sent again a second
 * later, the delay doubling up to 8 s while ER .93. keeps coming and new
 * messages held back meanwhile (no storm on a switch whose store is
 * down). With one address a lost connection ends the run and an ER .93.
 * is a NAK like any other, as it always was.
 *
 * Exit: 0 all messages ACKed and every expected reply came in; 1 a message
 * was NAKed (its ER printed); 3 replies missing at the timeout; 2 usage or
 * connection failure.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <libxml/parser.h>

#include "client.h"
#include "config.h"
#include "legacy.h"
#include "log.h"
#include "msg.h"
#include "msgparse.h"
#include "region.h"
#include "router.h"
#include "tls.h"
#include "tmpl.h"
#include "util.h"
#include "xscan.h"


#define AGENCY_PLACE_LEN	(CONFIG_LINE_LEN + 1)
#define AGENCY_ROUNDS		3	/* of the address list, without HELLO */

/* A place a request went to: a state, or with -f a line. */
struct agency_dest {
	char	place[AGENCY_PLACE_LEN];
	int	held;		/* SM .02.: held, the response comes later */
	int	done;		/* responded, or an SM said it will not */
};

enum agency_req_state {
	AGENCY_REQ_SENT = 0,
	AGENCY_REQ_ACKED,
	AGENCY_REQ_NAKED
};

/* One message sent, by tag. */
struct agency_req {
	enum msg_key		 key;
	char			 ctl[MSG_CTL_LEN + 1];
	char			 msgid[24];	/* the switch's, from the ACK */
	enum agency_req_state	 state;
	int			 responses;	/* matched to it */
	int			 ndest;
	struct agency_dest	*dest;
	int			 next_ctl;	/* tag of the next in its bucket */
	int			 retry;		/* NAK 93: to send again */
};

struct agency {
	struct event_base	*base;
	struct client		*client;
	struct msgparse_schema	*schema;
	struct config		*cfg;		/* -f: the switch's routing */
	const struct config_line *from;		/* our line in it */
	char			**files;
	int			 nfiles;
	unsigned		 copies;	/* -n, else 1 */
	int			 vary;		/* -n given: send copies */
	struct tmpl		**tmpls;	/* per file, with -n */
	int			 total;		/* messages to send */
	int			 sent;
	int			 acked;
	int			 nacked;
	int			 expect;	/* responses due */
	int			 fixed_expect;	/* -r given */
	int			 replies;	/* responses matched (or all, -r) */
	int			 late;		/* late answers to multi-state
						   queries */
	int			 unexpected;
	int			 sms;		/* SMs from the switch */
	int			 photos;
	const char		*photodir;
	int			 interval_ms;	/* between sends */
	int			 verbose;
	int			 quiet;
	int			 failed;	/* connection failure */
	int			 finishing;	/* flushing before the exit */
	struct agency_req	*req;		/* [1 .. total], by tag */
	int			*ctl_head;	/* control field hash -> tag */
	unsigned		 ctl_mask;
	struct event		*ev_send;
	struct event		*ev_timeout;
	/* The switch addresses; with more than one, a lost connection
	 * moves to the next. */
	struct client_addrs	 addrs;
	const char		*host;
	int			 tries;		/* connects since a HELLO */
	int			 reconnects;
	int			 resent;	/* messages sent again */
	int			*tagreq;	/* client tag -> request */
	size_t			 ntagreq;
	struct event		*ev_reconnect;
	struct event		*ev_retry;	/* NAK 93: send again */
	int			 retrying;	/* messages waiting for it */
	int			 retry_s;	/* its delay: 1 s, doubled up
						   to 8 s while ER .93. comes */
};

static void	agency_send_cb(evutil_socket_t, short, void *);
static const char *agency_as_xml(struct agency *, const char *, size_t *,
		    struct ubuf *);
static void	agency_timeout_cb(evutil_socket_t, short, void *);
static int	agency_next_msg(struct agency *, int, struct ubuf *, char *,
		    size_t);

/* The help text; exit status 0 when asked for (-h), 2 after a misuse. */
static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: nlagency -k PKIDIR -l NAME (-P PORTFILE | -p PORT)... "
	    "[-H HOST] [-o PHOTODIR]\n"
	    "                [-f CONF] [-n N] [-r N] [-t SECONDS] [-i MS] "
	    "[-qv] FILE...\n"
	    "       nlagency --help | --version\n"
	    "\n"
	    "  -k PKIDIR    ca.pem, NAME.pem and NAME.key\n"
	    "  -l NAME      the line's certificate name\n"
	    "  -P PORTFILE  the switch's port file (or -p PORT, -H HOST); "
	    "repeat -P/-p\n"
	    "               for the nodes of a cluster: a lost connection "
	    "moves to the\n"
	    "               next, round robin, and what has no ACK is sent "
	    "again\n"
	    "  -o PHOTODIR  save the photos of responses there (CTL.jpg)\n"
	    "  -f CONF      the switch's configuration: expect a response from "
	    "every line\n"
	    "               the switch routes an inquiry to (regions and NL "
	    "expanded)\n"
	    "  -n N         send N copies of each FILE, copy k with its own "
	    "control field\n"
	    "               and the name, sex, DOB and license number of "
	    "synthetic\n"
	    "               record k of the first destination's state (sent\n"
	    "               again within the switch's resend-window, the same\n"
	    "               copies are resends: vary the template's CTL)\n"
	    "  -r N         expect N responses, whatever they answer\n"
	    "  -t SECONDS   give up waiting after this long (default 30)\n"
	    "  -i MS        wait this long between two messages\n"
	    "  -q           print only NAKs, unexpected replies and the end\n"
	    "  -v           print every message received in full\n"
	    "\n"
	    "An inquiry (DQ KQ DNQ) is due one response per destination state "
	    "(per line\n"
	    "with -f); an SM .01. .04. .08. .09. naming a place settles it "
	    "without one,\n"
	    "an SM .02. (held) does not. Exit: 0 every reply came, 1 a NAK, 3 "
	    "replies\n"
	    "missing at the timeout, 2 usage or connection failure.\n");
	exit(status);
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

/* 1 when everything was sent and answered and every reply is in. */
static int
agency_is_done(const struct agency *a)
{
	return a->sent == a->total && a->acked + a->nacked == a->total &&
	    a->replies >= a->expect;
}

static void
agency_check_done(struct agency *a)
{
	struct timeval tv = { 0, 20000 };

	if (!a->finishing && agency_is_done(a)) {
		a->finishing = 1;
		event_base_once(a->base, -1, EV_TIMEOUT, agency_flush_cb, a,
		    &tv);
	}
}

/*
 * The place a reply comes from or an SM names (an ORI, a member code):
 * with -f the code of the line the switch routes it to, else the first
 * two letters (the state).
 */
static void
agency_place(const struct agency *a, const char *code, char *place)
{
	const struct config_line	*l = NULL;
	char				 member[3];

	util_strlcpy(member, code, sizeof member);
	if (a->cfg != NULL && strlen(code) == MSG_ORI_LEN)
		l = config_line_by_ori(a->cfg, code);
	if (a->cfg != NULL && l == NULL)
		l = config_line_by_member(a->cfg, member);
	util_strlcpy(place, l != NULL ? l->code : member, AGENCY_PLACE_LEN);
}

/* FNV-1a of a control field, for the tag buckets. */
static unsigned
agency_ctl_hash(const char *ctl)
{
	unsigned h = 2166136261u;

	for (; *ctl != '\0'; ctl++)
		h = (h ^ (unsigned char)*ctl) * 16777619u;
	return h;
}

/* The tag of the first request with this control field, 0 if none. */
static int
agency_ctl_first(const struct agency *a, const char *ctl)
{
	int tag = a->ctl_head[agency_ctl_hash(ctl) & a->ctl_mask];

	while (tag != 0 && strcmp(a->req[tag].ctl, ctl) != 0)
		tag = a->req[tag].next_ctl;
	return tag;
}

/* The next request after tag with the same control field, 0 if none. */
static int
agency_ctl_next(const struct agency *a, int tag)
{
	const char *ctl = a->req[tag].ctl;

	for (tag = a->req[tag].next_ctl; tag != 0; tag = a->req[tag].next_ctl)
		if (strcmp(a->req[tag].ctl, ctl) == 0)
			return tag;
	return 0;
}

/* Add a place to r, once. */
static void
agency_dest_add(struct agency_req *r, const char *place)
{
	int i;

	for (i = 0; i < r->ndest; i++)
		if (strcmp(r->dest[i].place, place) == 0)
			return;
	r->dest = xrealloc(r->dest, (size_t)(r->ndest + 1) * sizeof *r->dest);
	memset(&r->dest[r->ndest], 0, sizeof r->dest[0]);
	util_strlcpy(r->dest[r->ndest].place, place, AGENCY_PLACE_LEN);
	r->ndest++;
}

/* -f: the configured service states do not decide; the switch's SMs do. */
static int
agency_svc_cb(const struct config_line *l, int key, void *arg)
{
	(void)l;
	(void)key;
	(void)arg;
	return CONFIG_SVC_IN;
}

/*
 * Is m a multi-state query: a destination NL or a region code (the
 * configuration's with -f, else Nlets' built-in ones)? The switch
 * answers it once, merged (docs/messages.md, "Multi-state answers").
 */
static int
agency_multi_state(const struct agency *a, const struct msg *m)
{
	int i;

	for (i = 0; i < m->ndest && i < MSG_MAXDEST; i++)
		if (strcmp(m->dest[i], "NL") == 0 || (strlen(m->dest[i]) == 2 &&
		    (a->cfg != NULL ? config_region(a->cfg, m->dest[i]) !=
		    NULL : region_builtin_lookup(m->dest[i]) != NULL)))
			return 1;
	return 0;
}

/*
 * Where request r (message m) is due responses from: a multi-state
 * query from the switch (place NL); else with -f the lines the switch
 * routes it to, without it each destination's state.
 */
static void
agency_req_dests(struct agency *a, struct agency_req *r, const struct msg *m)
{
	struct router_result	*rr;
	char			 place[AGENCY_PLACE_LEN];
	int			 i;

	if (agency_multi_state(a, m)) {
		agency_dest_add(r, "NL");
		return;
	}
	if (a->cfg != NULL) {
		rr = xcalloc(1, sizeof *rr);
		if (router_route(a->cfg, m, a->from, agency_svc_cb, NULL,
		    rr) == 0) {
			for (i = 0; i < rr->ncopy; i++)
				agency_dest_add(r, rr->copy[i].line->code);
			free(rr);
			return;
		}
		free(rr);	/* the switch will refuse it too */
	}
	for (i = 0; i < m->ndest; i++) {
		agency_place(a, m->dest[i], place);
		agency_dest_add(r, place);
	}
}

/* Note what was sent with tag: its key, control field and places. */
static void
agency_req_new(struct agency *a, uint64_t tag, const char *data, size_t len)
{
	struct agency_req	*r = &a->req[tag];
	struct msg		 m;
	struct ubuf		 x;
	unsigned		 b;

	memset(&m, 0, sizeof m);
	ubuf_init(&x);
	if (legacy_is_text(data, len))
		legacy_parse(a->schema, data, len, 0, 0, &x, &m, NULL);
	else
		msgparse_message(a->schema, data, len, 0, 0, &m, NULL);
	r->key = m.key;
	util_strlcpy(r->ctl, m.ctl, sizeof r->ctl);
	if (m.key == MSG_KEY_DQ || m.key == MSG_KEY_KQ ||
	    m.key == MSG_KEY_DNQ || m.key == MSG_KEY_DQG)
		agency_req_dests(a, r, &m);
	ubuf_free(&x);
	/* Requests with one control field keep their order in the chain. */
	b = agency_ctl_hash(r->ctl) & a->ctl_mask;
	if (a->ctl_head[b] == 0)
		a->ctl_head[b] = (int)tag;
	else {
		int t = a->ctl_head[b];

		while (a->req[t].next_ctl != 0)
			t = a->req[t].next_ctl;
		a->req[t].next_ctl = (int)tag;
	}
}

/*
 * A response (key, control field, from ORI): settle the first request
 * with that control field and key that is due one from that place, or
 * count it for one to NL without -f. Appends to line what it was.
 */
static void
agency_response(struct agency *a, enum msg_key key, const char *ctl,
    const char *ori, struct ubuf *line)
{
	struct agency_req	*r;
	char			 place[AGENCY_PLACE_LEN];
	int			 tag, i;

	if (a->fixed_expect) {
		a->replies++;
		return;
	}
	agency_place(a, ori, place);
	for (tag = agency_ctl_first(a, ctl); tag != 0;
	    tag = agency_ctl_next(a, tag)) {
		r = &a->req[tag];
		if (r->state == AGENCY_REQ_NAKED || (key != MSG_KEY_ER &&
		    msg_key_answer(r->key) != key))
			continue;
		for (i = 0; i < r->ndest; i++)
			if (!r->dest[i].done && (key == MSG_KEY_ER ||
			    strcmp(r->dest[i].place, place) == 0)) {
				r->dest[i].done = 1;
				r->responses++;
				a->replies++;
				ubuf_printf(line, " reply=%d/%d", a->replies,
				    a->expect);
				return;
			}
	}
	a->unexpected++;
	ubuf_printf(line, " unexpected (nothing due from %s with this control "
	    "field%s)", place, a->cfg == NULL ? "; a region? give -f CONF" :
	    "");
}

/*
 * An SM from the switch (text as the sender reads it): .02. marks the
 * place it names held; .01. .04. .08. .09. settle it, no response comes.
 * The request is the one with the message ID the SM names.
 */
static void
agency_sm(struct agency *a, const char *ctl, const char *text,
    struct ubuf *line)
{
	struct agency_req	*r;
	const char		*p;
	char			 dest[MSG_ORI_LEN + 1] = "", id[24] = "";
	char			 place[AGENCY_PLACE_LEN];
	int			 tag, i, n = msg_text_number(text);

	a->sms++;
	if ((p = strstr(text, "DESTINATION ")) != NULL)
		sscanf(p + 12, "%9[A-Z0-9]", dest);
	if ((p = strstr(text, "MESSAGE ")) != NULL)
		sscanf(p + 8, "%23[0-9a-f]", id);
	if (a->fixed_expect || dest[0] == '\0')
		return;
	agency_place(a, dest, place);
	for (tag = agency_ctl_first(a, ctl); tag != 0;
	    tag = agency_ctl_next(a, tag)) {
		r = &a->req[tag];
		/* An SM may overtake our reading of the ACK. */
		if (id[0] != '\0' && r->msgid[0] != '\0' &&
		    strcmp(r->msgid, id) != 0)
			continue;
		for (i = 0; i < r->ndest; i++) {
			if (strcmp(r->dest[i].place, place) != 0 ||
			    r->dest[i].done)
				continue;
			if (n == MSG_SM_HELD) {
				r->dest[i].held = 1;
				ubuf_printf(line, " (%s held: its response is "
				    "still due)", place);
			} else if (n == MSG_SM_NOT_ACCEPTED ||
			    n == MSG_SM_REMOVED || n == MSG_SM_EXPIRED ||
			    n == MSG_SM_DAMAGED) {
				r->dest[i].done = 1;
				a->expect--;
				ubuf_printf(line, " (no response from %s: "
				    "expecting %d)", place, a->expect);
			}
			return;
		}
	}
}

/* Note that the client's tag carries request idx (1 .. total). */
static void
agency_tag_set(struct agency *a, uint64_t tag, int idx)
{
	size_t n = a->ntagreq;

	if (tag >= n) {
		while (n <= tag)
			n = n < 16 ? 16 : 2 * n;
		a->tagreq = xrealloc(a->tagreq, n * sizeof *a->tagreq);
		memset(a->tagreq + a->ntagreq, 0,
		    (n - a->ntagreq) * sizeof *a->tagreq);
		a->ntagreq = n;
	}
	a->tagreq[tag] = idx;
}

/* The request a client tag carries, 0 if none. */
static int
agency_tag_req(const struct agency *a, uint64_t tag)
{
	return tag < a->ntagreq ? a->tagreq[tag] : 0;
}

/*
 * A new connection (after a lost one): send again, byte for byte, every
 * message sent that has no ACK or NAK yet.
 */
static void
agency_resend(struct agency *a)
{
	struct ubuf	 b;
	char		 name[512];
	uint64_t	 tag;
	int		 i;

	for (i = 1; i <= a->sent; i++) {
		if (a->req[i].state != AGENCY_REQ_SENT)
			continue;
		if (a->req[i].retry)
			a->retrying--;
		a->req[i].retry = 0;
		ubuf_init(&b);
		if (agency_next_msg(a, i - 1, &b, name, sizeof name) == 0 &&
		    (tag = client_send(a->client, b.data, b.len)) != 0) {
			agency_tag_set(a, tag, i);
			a->resent++;
			if (!a->quiet)
				printf("RESENT tag=%llu file=%s ctl=%s (no ACK "
				    "on the lost connection)\n",
				    (unsigned long long)tag, name,
				    a->req[i].ctl);
			fflush(stdout);
		}
		ubuf_free(&b);
	}
}

/*
 * ER .93. came: send those messages again, retry_s after (new messages
 * wait until they are out).
 */
static void
agency_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agency	*a = arg;
	struct ubuf	 b;
	struct timeval	 now = { 0, 0 };
	char		 name[512];
	uint64_t	 tag;
	int		 i;

	(void)fd;
	(void)what;
	if (!client_is_up(a->client))
		return;		/* the next HELLO sends them */
	for (i = 1; i <= a->sent; i++) {
		if (!a->req[i].retry || a->req[i].state != AGENCY_REQ_SENT)
			continue;
		ubuf_init(&b);
		if (agency_next_msg(a, i - 1, &b, name, sizeof name) == 0 &&
		    (tag = client_send(a->client, b.data, b.len)) != 0) {
			agency_tag_set(a, tag, i);
			a->req[i].retry = 0;
			a->retrying--;
			a->resent++;
			if (!a->quiet)
				printf("RESENT tag=%llu file=%s ctl=%s (ER .93. "
				    "%d s ago)\n", (unsigned long long)tag,
				    name, a->req[i].ctl, a->retry_s);
		}
		ubuf_free(&b);
	}
	fflush(stdout);
	/* ER .93. again before an ACK: wait longer next time. */
	if (a->retry_s < 8)
		a->retry_s *= 2;
	if (a->retrying == 0 && a->sent < a->total)
		event_add(a->ev_send, &now);
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
	a->tries = 0;
	agency_resend(a);
	if (a->sent < a->total)
		event_add(a->ev_send, &tv);
	else
		agency_check_done(a);
}

/*
 * Message i (0 .. total - 1) into b: file i / copies, or its copy
 * i % copies with -n. Its name (for the SENT line) into name.
 * @return 0, -1 after printing why (the run ends).
 */
static int
agency_next_msg(struct agency *a, int i, struct ubuf *b, char *name,
    size_t sz)
{
	int		 f = i / (int)a->copies;
	unsigned	 k = (unsigned)i % a->copies;
	char		*data, *cause = NULL;
	size_t		 len;

	if (a->tmpls != NULL) {
		snprintf(name, sz, "%s#%u", a->files[f], k);
		if (tmpl_copy(a->tmpls[f], k, b, &cause) == 0)
			return 0;
		fprintf(stderr, "nlagency: %s: %s\n", name, cause);
		free(cause);
		return -1;
	}
	util_strlcpy(name, a->files[f], sz);
	if ((data = util_read_file(a->files[f], &len)) == NULL) {
		fprintf(stderr, "nlagency: %s: %s\n", a->files[f],
		    strerror(errno));
		return -1;
	}
	ubuf_add(b, data, len);
	free(data);
	return 0;
}

static void
agency_send_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agency	*a = arg;
	struct ubuf	 b;
	char		 name[512];
	uint64_t	 tag;
	struct timeval	 tv;
	int		 idx;

	(void)fd;
	(void)what;
	if (!client_is_up(a->client) || a->sent >= a->total)
		return;
	if (a->retrying > 0)
		return;		/* agency_retry_cb goes on */
	ubuf_init(&b);
	idx = a->sent + 1;
	if (agency_next_msg(a, a->sent, &b, name, sizeof name) == -1) {
		ubuf_free(&b);
		a->failed = 1;
		event_base_loopexit(a->base, NULL);
		return;
	}
	if ((tag = client_send(a->client, b.data, b.len)) == 0) {
		ubuf_free(&b);
		return;		/* not connected: the close ends the run */
	}
	agency_tag_set(a, tag, idx);
	/* What it is decides which replies are due (if it parses). */
	agency_req_new(a, (uint64_t)idx, b.data, b.len);
	if (!a->quiet)
		printf("SENT tag=%llu file=%s mke=%s ctl=%s bytes=%zu\n",
		    (unsigned long long)tag, name, a->req[idx].key ?
		    msg_key_name(a->req[idx].key) : "?", a->req[idx].ctl,
		    b.len);
	fflush(stdout);
	ubuf_free(&b);
	a->sent++;
	if (a->sent < a->total) {
		tv.tv_sec = a->interval_ms / 1000;
		tv.tv_usec = (a->interval_ms % 1000) * 1000;
		event_add(a->ev_send, &tv);
	}
}

static void
agency_ack_cb(struct client *c, uint64_t tag, const char *msgid, void *arg)
{
	struct agency		*a = arg;
	struct agency_req	*r;
	int			 idx = agency_tag_req(a, tag);

	(void)c;
	a->acked++;
	a->retry_s = 1;
	if (idx != 0) {
		r = &a->req[idx];
		r->state = AGENCY_REQ_ACKED;
		util_strlcpy(r->msgid, msgid, sizeof r->msgid);
		if (!a->fixed_expect)
			a->expect += r->ndest;
	}
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
	struct msg_er_parts p;
	struct timeval	 tv = { 0, 0 };
	int		 idx = agency_tag_req(a, tag), again;

	(void)c;
	/* With a list, ER .93. is "resend later": not final. */
	again = a->addrs.n > 1 && idx != 0 && text != NULL &&
	    msg_er_split(text, strlen(text), &p) == 0 &&
	    p.code == MSG_ER_UNAVAILABLE;
	if (again) {
		if (!a->req[idx].retry)
			a->retrying++;
		a->req[idx].retry = 1;
		if (a->retry_s == 0)
			a->retry_s = 1;
		tv.tv_sec = a->retry_s;
		if (!evtimer_pending(a->ev_retry, NULL))
			evtimer_add(a->ev_retry, &tv);
	} else {
		a->nacked++;
		if (idx != 0)
			a->req[idx].state = AGENCY_REQ_NAKED;
	}
	ubuf_init(&line);
	ubuf_printf(&line, "NAK tag=%llu ER", (unsigned long long)tag);
	agency_er_line(&line, text);
	if (again)
		ubuf_printf(&line, " (sending it again in %d s)", a->retry_s);
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

/*
 * " merged: QUERIED 2: CA NV / HIT 1: CA" of a merged multi-state
 * answer, " late: FROM NV, 75 SECONDS ..." of a late one.
 */
static void
agency_merged_line(struct ubuf *line, const char *txt)
{
	const char *p = strchr(txt, '\n');

	ubuf_adds(line, strncmp(txt, "LATE", 4) == 0 ? " late:" :
	    strstr(txt, ", CONTINUED\n") != NULL ? " continued:" :
	    " merged:");
	for (; p != NULL && *p != '\0'; p++)
		if (*p == '\n')
			ubuf_adds(line, p == strchr(txt, '\n') ? " " : " / ");
		else if (*p != '\r')
			ubuf_add(line, p, 1);
}

/* " status=.NN. text="..."" of an SM, its line breaks shown as " / ". */
static void
agency_sm_line(struct ubuf *line, const char *stext)
{
	const char *p;

	ubuf_printf(line, " status=.%02d. text=\"",
	    stext ? msg_text_number(stext) : 0);
	for (p = stext; p != NULL && *p != '\0'; p++)
		if (*p == '\n')
			ubuf_adds(line, " / ");
		else if (*p != '\r')
			ubuf_add(line, p, 1);
	ubuf_adds(line, "\"");
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
	char		*mke, *ori, *ctl, *stext, *txt, *sur;
	enum msg_key	 key;
	int		 late;

	ubuf_init(&line);
	snprintf(id, sizeof id, "%016llx.%u", (unsigned long long)msgid, copy);
	mke = agency_field(xml, len, "MessageKeyCodeText");
	ori = agency_field(xml, len, "OriginatingORIID");
	ctl = agency_field(xml, len, "DocumentControlFieldText");
	if (ctl == NULL)
		ctl = xstrdup("");
	key = mke ? msg_key_lookup(mke) : MSG_KEY_NONE;
	ubuf_printf(&line, "DLV %s %s from=%s ctl=%s", id, mke ? mke : "?",
	    ori ? ori : "?", ctl);
	if (key == MSG_KEY_SM) {
		stext = agency_field(xml, len, "StatusMessageText");
		agency_sm_line(&line, stext);
		if (ori != NULL && strcmp(ori, MSG_SWITCH_ORI) == 0)
			agency_sm(a, ctl, stext ? stext : "", &line);
		free(stext);
	} else if (key == MSG_KEY_ER) {
		stext = agency_field(xml, len, "ResponseText");
		agency_er_line(&line, stext);
		free(stext);
		agency_response(a, key, ctl, ori ? ori : "", &line);
	} else if (msg_key_is_response(key)) {
		txt = agency_field(xml, len, "ResponseText");
		sur = agency_field(xml, len, "PersonSurName");
		/* After a merged answer: a late one, or a hit it had no
		 * room for ("..., CONTINUED"). */
		late = txt != NULL && (strncmp(txt, "LATE RESPONSE", 13) == 0 ||
		    (strncmp(txt, "MULTI-STATE", 11) == 0 &&
		    strstr(txt, ", CONTINUED\n") != NULL));
		if (txt != NULL && (late || strncmp(txt, "MULTI-STATE", 11) ==
		    0))
			agency_merged_line(&line, txt);
		else if (txt != NULL && strncmp(txt, "NOT ON FILE", 11) == 0)
			ubuf_printf(&line, " NOT-ON-FILE");
		else if (sur != NULL)
			ubuf_printf(&line, " record=%s", sur);
		free(txt);
		free(sur);
		a->photos += agency_save_photos(a, xml, len, *ctl ? ctl : id,
		    &line);
		/* A late answer to a multi-state query follows its merged
		 * answer, which settled the request. */
		if (late)
			a->late++;
		else
			agency_response(a, key, ctl, ori ? ori : "", &line);
	}
	if (!a->quiet || strstr(line.data, " unexpected") != NULL)
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

/* Connect to the next address of the list; a failure closes at once. */
static void
agency_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agency	*a = arg;
	const char	*port = client_addrs_next(&a->addrs);

	(void)fd;
	(void)what;
	a->tries++;
	a->reconnects++;
	printf("RECONNECT %s:%s (address %d of %d)\n", a->host, port,
	    a->addrs.cur + 1, a->addrs.n);
	fflush(stdout);
	client_set_addr(a->client, a->host, port);
	if (client_connect(a->client) == -1) {
		struct timeval one = { 1, 0 };

		evtimer_add(a->ev_reconnect, &one);
	}
}

static void
agency_closed_cb(struct client *c, const char *why, void *arg)
{
	struct agency	*a = arg;
	struct timeval	 tv = { 0, 250000 };

	(void)c;
	fprintf(stderr, "nlagency: %s\n", why);
	/* With a list: the next address, unless every one failed
	 * AGENCY_ROUNDS times over without a HELLO. */
	if (a->addrs.n > 1 && !a->finishing &&
	    a->tries < AGENCY_ROUNDS * a->addrs.n) {
		if (a->tries > 0 && a->tries % a->addrs.n == 0)
			tv.tv_sec = 1, tv.tv_usec = 0;
		evtimer_add(a->ev_reconnect, &tv);
		return;
	}
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
	    a->replies, a->expect, a->acked, a->nacked, a->total);
	fflush(stdout);
	event_base_loopexit(a->base, NULL);
}

/* -f CONF: the switch's lines, regions and our line (by our cn). */
static int
agency_load_config(struct agency *a, const char *path, const char *sdir,
    const char *name)
{
	char *cause = NULL;

	if (config_load(path, sdir, &a->cfg, &cause) == -1) {
		fprintf(stderr, "nlagency: %s\n", cause);
		free(cause);
		return -1;
	}
	if ((a->from = config_line_by_cn(a->cfg, name)) == NULL)
		fprintf(stderr, "nlagency: %s: no line for %s; routing as if "
		    "from any line\n", path, name);
	return 0;
}

/* -n N: every FILE read as a template (checked before anything is sent). */
static int
agency_load_templates(struct agency *a)
{
	char	*data, *cause = NULL;
	size_t	 len;
	int	 i;

	a->tmpls = xcalloc((size_t)a->nfiles, sizeof *a->tmpls);
	for (i = 0; i < a->nfiles; i++) {
		if ((data = util_read_file(a->files[i], &len)) == NULL) {
			fprintf(stderr, "nlagency: %s: %s\n", a->files[i],
			    strerror(errno));
			return -1;
		}
		a->tmpls[i] = tmpl_new(a->schema, data, len, a->copies,
		    &cause);
		free(data);
		if (a->tmpls[i] == NULL) {
			fprintf(stderr, "nlagency: %s: %s\n", a->files[i],
			    cause);
			free(cause);
			return -1;
		}
	}
	return 0;
}

/* The requests' table and the control field buckets, for a->total. */
static void
agency_alloc(struct agency *a)
{
	unsigned n = 16;

	while (n < 2 * (unsigned)a->total)
		n *= 2;
	a->ctl_mask = n - 1;
	a->ctl_head = xcalloc(n, sizeof *a->ctl_head);
	a->req = xcalloc((size_t)a->total + 1, sizeof *a->req);
}

static void
agency_free(struct agency *a)
{
	int i;

	for (i = 0; i <= a->total; i++)
		free(a->req[i].dest);
	free(a->req);
	free(a->ctl_head);
	for (i = 0; a->tmpls != NULL && i < a->nfiles; i++)
		tmpl_free(a->tmpls[i]);
	free(a->tmpls);
	config_free(a->cfg);
}

int
main(int argc, char **argv)
{
	struct agency	 a;
	struct client_cb cb = { agency_hello_cb, agency_ack_cb, agency_nak_cb,
	    agency_deliver_cb, agency_closed_cb };
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*pki = NULL, *name = NULL, *host = "127.0.0.1";
	const char	*sdir, *conf = NULL;
	char		*ca, *cert, *key, *cause = NULL, *end;
	SSL_CTX		*ctx;
	struct timeval	 tv;
	unsigned long	 n;
	int		 ch, timeout = 30, rc;

	memset(&a, 0, sizeof a);
	a.copies = 1;
	while ((ch = getopt_long(argc, argv, "f:H:hi:k:l:n:o:P:p:qr:t:v",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'f': conf = optarg; break;
		case 'H': host = optarg; break;
		case 'h': usage(0);
		case 'i': a.interval_ms = atoi(optarg); break;
		case 'k': pki = optarg; break;
		case 'l': name = optarg; break;
		case 'n':
			n = strtoul(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > TMPL_MAX_COPIES)
				usage(2);
			a.copies = (unsigned)n;
			a.vary = 1;
			break;
		case 'o': a.photodir = optarg; break;
		case 'P':
		case 'p':
			if (client_addrs_add(&a.addrs, ch == 'P' ? optarg :
			    NULL, ch == 'p' ? optarg : NULL) == -1) {
				fprintf(stderr, "nlagency: more than %d "
				    "addresses\n", CLIENT_ADDRS_MAX);
				return 2;
			}
			break;
		case 'q': a.quiet = 1; break;
		case 'r': a.expect = atoi(optarg); a.fixed_expect = 1; break;
		case 't': timeout = atoi(optarg); break;
		case 'v': a.verbose = 1; break;
		case 'V': util_version_exit("nlagency");
		default: usage(2);
		}
	}
	a.files = argv + optind;
	a.nfiles = argc - optind;
	if (pki == NULL || name == NULL || a.addrs.n == 0)
		usage(2);
	if ((unsigned long)a.nfiles * a.copies > TMPL_MAX_COPIES) {
		fprintf(stderr, "nlagency: more than %u messages\n",
		    TMPL_MAX_COPIES);
		return 2;
	}
	a.total = a.nfiles * (int)a.copies;
	if (client_addrs_read(&a.addrs, 10000, &cause) == -1) {
		fprintf(stderr, "nlagency: %s\n", cause);
		return 2;
	}
	a.host = host;
	log_init(1, 0, "nlagency");
	signal(SIGPIPE, SIG_IGN);
	sdir = util_schemadir();
	if ((a.schema = msgparse_schema_load(sdir, &cause)) == NULL) {
		fprintf(stderr, "nlagency: %s\n", cause);
		return 2;
	}
	if ((conf != NULL && agency_load_config(&a, conf, sdir, name) == -1) ||
	    (a.vary && agency_load_templates(&a) == -1))
		return 2;
	if (a.photodir != NULL)
		mkdir(a.photodir, 0755);
	ca = xasprintf("%s/ca.pem", pki);
	cert = xasprintf("%s/%s.pem", pki, name);
	key = xasprintf("%s/%s.key", pki, name);
	if ((ctx = tls_client_ctx(ca, cert, key, &cause)) == NULL) {
		fprintf(stderr, "nlagency: %s\n", cause);
		return 2;
	}
	agency_alloc(&a);
	a.base = event_base_new();
	a.ev_send = evtimer_new(a.base, agency_send_cb, &a);
	a.ev_timeout = evtimer_new(a.base, agency_timeout_cb, &a);
	tv.tv_sec = timeout;
	tv.tv_usec = 0;
	evtimer_add(a.ev_timeout, &tv);
	a.ev_reconnect = evtimer_new(a.base, agency_reconnect_cb, &a);
	a.ev_retry = evtimer_new(a.base, agency_retry_cb, &a);
	a.client = client_new(a.base, ctx, host, client_addrs_port(&a.addrs),
	    &cb, &a);
	a.tries = 1;
	if (client_connect(a.client) == -1) {
		if (a.addrs.n == 1) {
			fprintf(stderr, "nlagency: cannot connect to %s port "
			    "%s\n", host, client_addrs_port(&a.addrs));
			return 2;
		}
		tv.tv_sec = 0;
		tv.tv_usec = 250000;
		evtimer_add(a.ev_reconnect, &tv);
	}
	event_base_dispatch(a.base);

	if (a.failed && a.acked + a.nacked < a.total)
		rc = 2;
	else if (a.nacked > 0)
		rc = 1;
	else if (a.replies < a.expect || a.acked < a.total)
		rc = 3;
	else
		rc = 0;
	printf("DONE sent=%d acked=%d nacked=%d replies=%d/%d late=%d sms=%d "
	    "unexpected=%d photos=%d ", a.sent, a.acked, a.nacked,
	    a.replies, a.expect, a.late, a.sms, a.unexpected, a.photos);
	if (a.addrs.n > 1)
		printf("resent=%d reconnects=%d ", a.resent, a.reconnects);
	printf("exit=%d\n", rc);
	client_free(a.client);
	event_free(a.ev_send);
	event_free(a.ev_timeout);
	event_free(a.ev_reconnect);
	event_free(a.ev_retry);
	free(a.tagreq);
	event_base_free(a.base);
	SSL_CTX_free(ctx);
	msgparse_schema_free(a.schema);
	agency_free(&a);
	free(ca);
	free(cert);
	free(key);
	return rc;
}
