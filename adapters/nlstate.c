/*
 * nlstate - a simulated state DMV line. Connects to the switch as its
 * line, answers DQ (DR), KQ (KR) and DNQ (DNR) from deterministic synthetic
 * driver records (adapters/dmv.c), embeds a drawn avatar JPEG when the
 * query asks for the photo (IMQ/Y), answers NOT ON FILE, and acknowledges
 * each delivery once its answer is acknowledged by the switch (so a crash
 * of either side loses nothing).
 *
 *   nlstate -s STATE -k PKIDIR -l NAME (-P PORTFILE | -p PORT) [-H HOST]
 *           [-n RECORDS] [-d DELAY_MS] [-f FAULTS] [-S SEED] [-q]
 *   nlstate -s STATE -L INDEX      print one synthetic record and exit
 *
 * FAULTS is a comma list: drop=PCT (ignore that share of deliveries: no
 * answer, no ack, so the switch redelivers), delay=MS (extra random delay
 * up to MS), disconnect=N (drop the connection after every N deliveries
 * and reconnect a second later).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <libxml/parser.h>

#include "avatar.h"
#include "client.h"
#include "dmv.h"
#include "log.h"
#include "msg.h"
#include "msgbuild.h"
#include "msgparse.h"
#include "tls.h"
#include "util.h"

#ifndef NLSWITCH_SCHEMADIR
#define NLSWITCH_SCHEMADIR "schemas"
#endif

#define STATE_MAX_NAME_HITS	5

struct state {
	struct event_base	*base;
	struct client		*client;
	struct msgparse_schema	*schema;
	char			 code[3];	/* "CA" */
	char			 ori[MSG_ORI_LEN + 1];
	uint32_t		 nrecords;
	int			 delay_ms;
	int			 fault_drop;	/* percent */
	int			 fault_delay;	/* ms */
	int			 fault_disconnect;
	uint64_t		 rng;
	int			 quiet;
	uint64_t		 handled;
	uint64_t		 deliveries;
	struct event		*ev_reconnect;
	/* answers sent, waiting for their ACK before the request's DACK */
	struct pendack {
		uint64_t	tag;
		uint64_t	msgid;
		uint16_t	copy;
	}			*pend;
	size_t			 npend;
	size_t			 cappend;
};

/* One answer waiting for its delay to pass. */
struct answer {
	struct state	*st;
	char		*xml;
	size_t		 len;
	uint64_t	 msgid;
	uint16_t	 copy;
	struct event	*ev;
};

static void	state_answer_cb(evutil_socket_t, short, void *);
static void	state_reconnect_cb(evutil_socket_t, short, void *);

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: nlstate -s STATE -k PKIDIR -l NAME (-P PORTFILE | "
	    "-p PORT) [-H HOST] [-n RECORDS] [-d DELAY_MS] [-f FAULTS] [-S SEED] "
	    "[-q]\n");
	exit(2);
}

static uint32_t
state_rand(struct state *st)
{
	/* xorshift64*: deterministic per seed, good enough for faults. */
	st->rng ^= st->rng >> 12;
	st->rng ^= st->rng << 25;
	st->rng ^= st->rng >> 27;
	return (uint32_t)((st->rng * 2685821657736338717ULL) >> 32);
}

static void
state_add_record(struct state *st, struct ubuf *b, const struct dmv_record *r,
    int photo, int history)
{
	struct msgbuild_driver	 d;
	struct msgbuild_event	 ev[2];
	char			 dates[2][11];
	uint8_t			*jpg = NULL;
	size_t			 jlen = 0, blen = 0;
	char			*b64 = NULL;
	int			 i;

	memset(&d, 0, sizeof d);
	d.person.given = r->given;
	d.person.middle = r->middle;
	d.person.surname = r->surname;
	d.person.dob = r->dob;
	d.person.sex = r->sex;
	d.person.oln = r->oln;
	d.person.olstate = st->code;
	d.street = r->street;
	d.city = r->city;
	d.state = r->state;
	d.zip = r->zip;
	d.lic_class = r->lic_class;
	d.lic_status = r->status;
	d.lic_expires = r->expires;
	if (photo && avatar_jpeg(r->photo_seed, AVATAR_WIDTH, AVATAR_HEIGHT,
	    AVATAR_QUALITY, &jpg, &jlen) == 0) {
		b64 = util_b64_encode(jpg, jlen, &blen);
		d.photo_b64 = b64;
		d.photo_b64len = blen;
		d.photo_bytes = jlen;
	}
	if (history) {
		/* A short synthetic history derived from the record. */
		d.nevents = (int)(r->index % 3);
		for (i = 0; i < d.nevents; i++) {
			snprintf(dates[i], sizeof dates[i], "%.4s-0%d-1%d",
			    r->issued, 1 + i, i);
			ev[i].date = dates[i];
			ev[i].code = i == 0 ? "SPD" : "FTA";
			ev[i].state = st->code;
			ev[i].text = i == 0 ? "SPEEDING 1-10 OVER" :
			    "FAILURE TO APPEAR";
		}
		d.events = ev;
	}
	msgbuild_driver(b, &d);
	free(b64);
	free(jpg);
}

/* Build the answer to an inquiry; NULL for anything that needs none. */
static char *
state_build(struct state *st, const struct msg *m, size_t *lenp, char *what,
    size_t wsz)
{
	struct dmv_record	 rec, hits[STATE_MAX_NAME_HITS];
	const struct msg_person	*p = &m->person;
	const char		*dest[1] = { m->ori };
	struct ubuf		 b;
	enum msg_key		 rkey;
	int			 n = 0, i;

	switch (m->key) {
	case MSG_KEY_DQ:
		rkey = MSG_KEY_DR;
		break;
	case MSG_KEY_KQ:
		rkey = MSG_KEY_KR;
		break;
	case MSG_KEY_DNQ:
		rkey = MSG_KEY_DNR;
		break;
	default:
		return NULL;
	}
	if (m->key != MSG_KEY_DNQ && p->oln[0] != '\0') {
		if (dmv_find_oln(st->code, st->nrecords, p->oln, &rec) == 0) {
			hits[0] = rec;
			n = 1;
		}
	} else
		n = dmv_find_name(st->code, st->nrecords, p->surname, p->given,
		    m->key == MSG_KEY_DNQ ? p->dob : p->dob,
		    p->sex, hits, m->key == MSG_KEY_DNQ ? STATE_MAX_NAME_HITS : 1);
	if (n < 0)
		n = 0;
	ubuf_init(&b);
	msgbuild_begin(&b, rkey, st->ori, dest, 1, m->ctl);
	if (n == 0) {
		msgbuild_text(&b, "n2:ResponseText", "NOT ON FILE");
		snprintf(what, wsz, "NOT ON FILE");
	} else {
		for (i = 0; i < n; i++)
			state_add_record(st, &b, &hits[i],
			    m->imq && m->key != MSG_KEY_DNQ && i == 0,
			    m->key == MSG_KEY_KQ);
		snprintf(what, wsz, "%d record(s)%s", n,
		    m->imq && m->key != MSG_KEY_DNQ ? " +photo" : "");
	}
	msgbuild_end(&b, rkey);
	return ubuf_take(&b, lenp);
}

static void
state_pend_add(struct state *st, uint64_t tag, uint64_t msgid, uint16_t copy)
{
	if (st->npend == st->cappend) {
		st->cappend = st->cappend ? st->cappend * 2 : 64;
		st->pend = xrealloc(st->pend, st->cappend * sizeof *st->pend);
	}
	st->pend[st->npend].tag = tag;
	st->pend[st->npend].msgid = msgid;
	st->pend[st->npend].copy = copy;
	st->npend++;
}

/* The answer with this tag is durable (or refused): ack the request. */
static void
state_pend_done(struct state *st, uint64_t tag)
{
	size_t i;

	for (i = 0; i < st->npend; i++)
		if (st->pend[i].tag == tag) {
			client_dack(st->client, st->pend[i].msgid,
			    st->pend[i].copy);
			st->pend[i] = st->pend[--st->npend];
			return;
		}
}

static void
state_answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct answer	*a = arg;
	struct state	*st = a->st;
	uint64_t	 tag;

	(void)fd;
	(void)what;
	if (client_is_up(st->client) &&
	    (tag = client_send(st->client, a->xml, a->len)) != 0)
		state_pend_add(st, tag, a->msgid, a->copy);
	/* Not connected: the request stays unacked and is redelivered. */
	event_free(a->ev);
	free(a->xml);
	free(a);
}

static void
state_deliver_cb(struct client *c, uint64_t msgid, uint16_t copy,
    const char *xml, size_t len, void *arg)
{
	struct state	*st = arg;
	struct msg	 m;
	struct msg_diags diags;
	struct answer	*a;
	struct timeval	 tv;
	char		 what[64] = "", *out;
	size_t		 olen;
	int		 delay;

	st->deliveries++;
	if (st->fault_drop > 0 && (int)(state_rand(st) % 100) < st->fault_drop) {
		if (!st->quiet)
			printf("nlstate %s: fault: dropped delivery %016llx.%u\n",
			    st->code, (unsigned long long)msgid, copy);
		fflush(stdout);
		return;
	}
	memset(&m, 0, sizeof m);
	if (msgparse_message(st->schema, xml, len, 0, 0, &m, &diags) != 0) {
		printf("nlstate %s: unparseable delivery %016llx.%u: %s\n",
		    st->code, (unsigned long long)msgid, copy,
		    diags.n > 0 ? diags.d[0].text : "?");
		client_dack(c, msgid, copy);
		return;
	}
	if ((out = state_build(st, &m, &olen, what, sizeof what)) == NULL) {
		/* AM, SM, ER: read and acknowledged. */
		if (!st->quiet)
			printf("nlstate %s: %s from %s ctl=%s\n", st->code,
			    msg_key_name(m.key), m.ori, m.ctl);
		fflush(stdout);
		client_dack(c, msgid, copy);
		goto faults;
	}
	st->handled++;
	if (!st->quiet)
		printf("nlstate %s: %s from %s ctl=%s -> %s %s\n", st->code,
		    msg_key_name(m.key), m.ori, m.ctl,
		    msg_key_name(m.key == MSG_KEY_DQ ? MSG_KEY_DR :
		    m.key == MSG_KEY_KQ ? MSG_KEY_KR : MSG_KEY_DNR), what);
	fflush(stdout);
	delay = st->delay_ms;
	if (st->fault_delay > 0)
		delay += (int)(state_rand(st) % (uint32_t)st->fault_delay);
	a = xcalloc(1, sizeof *a);
	a->st = st;
	a->xml = out;
	a->len = olen;
	a->msgid = msgid;
	a->copy = copy;
	a->ev = evtimer_new(st->base, state_answer_cb, a);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(a->ev, &tv);
faults:
	if (st->fault_disconnect > 0 &&
	    st->deliveries % (uint64_t)st->fault_disconnect == 0) {
		struct timeval one = { 1, 0 };

		if (!st->quiet)
			printf("nlstate %s: fault: disconnecting\n", st->code);
		fflush(stdout);
		client_close(c);
		st->npend = 0;
		evtimer_add(st->ev_reconnect, &one);
	}
}

static void
state_ack_cb(struct client *c, uint64_t tag, const char *msgid, void *arg)
{
	(void)c;
	(void)msgid;
	state_pend_done(arg, tag);
}

static void
state_nak_cb(struct client *c, uint64_t tag, const char *er, size_t len,
    void *arg)
{
	struct state *st = arg;

	(void)c;
	printf("nlstate %s: answer refused by the switch: %.*s\n", st->code,
	    (int)(len > 300 ? 300 : len), er);
	fflush(stdout);
	state_pend_done(st, tag);
}

static void
state_hello_cb(struct client *c, const char *text, void *arg)
{
	struct state *st = arg;

	(void)c;
	printf("nlstate %s: connected %s\n", st->code, text);
	fflush(stdout);
}

static void
state_closed_cb(struct client *c, const char *why, void *arg)
{
	struct state	*st = arg;
	struct timeval	 one = { 1, 0 };

	(void)c;
	printf("nlstate %s: disconnected: %s (reconnecting)\n", st->code, why);
	fflush(stdout);
	st->npend = 0;	/* unacked requests will be redelivered */
	evtimer_add(st->ev_reconnect, &one);
}

static void
state_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct state	*st = arg;
	struct timeval	 one = { 1, 0 };

	(void)fd;
	(void)what;
	if (client_connect(st->client) == -1)
		evtimer_add(st->ev_reconnect, &one);
}

static void
state_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct state *st = arg;

	(void)fd;
	(void)what;
	event_base_loopexit(st->base, NULL);
}

/* -L N: print record N of the state (for scripts and integrators). */
static int
state_list(const char *code, uint32_t index)
{
	struct dmv_record r;

	if (dmv_record(code, index, &r) == -1) {
		fprintf(stderr, "nlstate: no record %u\n", index);
		return 1;
	}
	printf("OLN=%s SURNAME=%s GIVEN=%s MIDDLE=%s DOB=%s SEX=%s STATUS=%s "
	    "CLASS=%s\n", r.oln, r.surname, r.given, r.middle, r.dob, r.sex,
	    r.status, r.lic_class);
	return 0;
}

static void
state_faults(struct state *st, const char *spec)
{
	char *dup = xstrdup(spec), *tok, *save = NULL;

	for (tok = strtok_r(dup, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "drop=", 5) == 0)
			st->fault_drop = atoi(tok + 5);
		else if (strncmp(tok, "delay=", 6) == 0)
			st->fault_delay = atoi(tok + 6);
		else if (strncmp(tok, "disconnect=", 11) == 0)
			st->fault_disconnect = atoi(tok + 11);
		else {
			fprintf(stderr, "nlstate: unknown fault %s\n", tok);
			exit(2);
		}
	}
	free(dup);
}

int
main(int argc, char **argv)
{
	struct state	 st;
	struct client_cb cb = { state_hello_cb, state_ack_cb, state_nak_cb,
	    state_deliver_cb, state_closed_cb };
	const char	*pki = NULL, *name = NULL, *portfile = NULL;
	const char	*host = "127.0.0.1", *sdir;
	char		 port[16] = "", *ca, *cert, *key, *cause = NULL;
	SSL_CTX		*ctx;
	struct event	*sig1, *sig2;
	long		 list = -1;
	int		 ch;

	memset(&st, 0, sizeof st);
	st.nrecords = 100000;
	st.rng = 0x9e3779b97f4a7c15ULL;
	while ((ch = getopt(argc, argv, "d:f:H:k:L:l:n:P:p:qS:s:")) != -1) {
		switch (ch) {
		case 'L': list = atol(optarg); break;
		case 'd': st.delay_ms = atoi(optarg); break;
		case 'f': state_faults(&st, optarg); break;
		case 'H': host = optarg; break;
		case 'k': pki = optarg; break;
		case 'l': name = optarg; break;
		case 'n': st.nrecords = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'P': portfile = optarg; break;
		case 'p': util_strlcpy(port, optarg, sizeof port); break;
		case 'q': st.quiet = 1; break;
		case 'S': st.rng = strtoull(optarg, NULL, 10) | 1; break;
		case 's':
			if (strlen(optarg) != 2)
				usage();
			st.code[0] = optarg[0] & ~0x20;
			st.code[1] = optarg[1] & ~0x20;
			break;
		default: usage();
		}
	}
	if (st.code[0] != '\0' && list >= 0)
		return state_list(st.code, (uint32_t)list);
	if (st.code[0] == '\0' || pki == NULL || name == NULL ||
	    (portfile == NULL && port[0] == '\0') || optind != argc)
		usage();
	snprintf(st.ori, sizeof st.ori, "%sOLN0000", st.code);
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(1, 0, "nlstate");
	if (portfile != NULL && client_read_portfile(portfile, 10000, port,
	    sizeof port) == -1) {
		fprintf(stderr, "nlstate: %s: no port\n", portfile);
		return 2;
	}
	if ((sdir = getenv("NLSWITCH_SCHEMADIR")) == NULL)
		sdir = NLSWITCH_SCHEMADIR;
	if ((st.schema = msgparse_schema_load(sdir, &cause)) == NULL) {
		fprintf(stderr, "nlstate: %s\n", cause);
		return 2;
	}
	ca = xasprintf("%s/ca.pem", pki);
	cert = xasprintf("%s/%s.pem", pki, name);
	key = xasprintf("%s/%s.key", pki, name);
	if ((ctx = tls_client_ctx(ca, cert, key, &cause)) == NULL) {
		fprintf(stderr, "nlstate: %s\n", cause);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	st.base = event_base_new();
	st.ev_reconnect = evtimer_new(st.base, state_reconnect_cb, &st);
	sig1 = evsignal_new(st.base, SIGTERM, state_signal_cb, &st);
	sig2 = evsignal_new(st.base, SIGINT, state_signal_cb, &st);
	evsignal_add(sig1, NULL);
	evsignal_add(sig2, NULL);
	st.client = client_new(st.base, ctx, host, port, &cb, &st);
	if (client_connect(st.client) == -1) {
		struct timeval one = { 1, 0 };
		evtimer_add(st.ev_reconnect, &one);
	}
	event_base_dispatch(st.base);
	printf("nlstate %s: stopping, answered %llu\n", st.code,
	    (unsigned long long)st.handled);
	client_free(st.client);
	event_free(st.ev_reconnect);
	event_free(sig1);
	event_free(sig2);
	event_base_free(st.base);
	SSL_CTX_free(ctx);
	msgparse_schema_free(st.schema);
	free(st.pend);
	free(ca);
	free(cert);
	free(key);
	return 0;
}
