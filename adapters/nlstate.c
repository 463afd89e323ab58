/*
 * nlstate - a simulated state DMV line. Connects to the switch as its
 * line, answers DQ (DR), KQ (KR) and DNQ (DNR) from deterministic synthetic
 * driver records (adapters/dmv.c), embeds a drawn avatar JPEG of the
 * driver's sex and age bracket when the query asks for the photo (IMQ/Y;
 * one of a pool, drawn once: avatar_pool_person), answers NOT ON FILE,
 * confirms a hit confirmation request (YQ) with a YR, and acknowledges
 * each delivery once its answer is acknowledged by the switch (so a
 * crash of either side loses nothing).
 *
 *   nlstate -s STATE -k PKIDIR -l NAME (-P PORTFILE | -p PORT)... [-H HOST]
 *           [-n RECORDS] [-d DELAY_MS] [-f FAULTS] [-S SEED] [-D] [-q]
 *   nlstate -s STATE -L INDEX      print one synthetic record and exit
 *   nlstate -s STATE -B COUNT [-D] [-n RECORDS]   answer COUNT DQs
 *                                  in-process, print answers/s, exit
 *   nlstate --help | --version
 *
 * A delivery is answered once: the switch redelivers what was not
 * DACKed (after a disconnect, or an ack-timeout while the answer is
 * delayed), so nlstate remembers the last STATE_SEEN_MAX deliveries it
 * answered, by (message ID, copy), and DACKs a redelivery of one without
 * a second answer; a redelivery of a query whose answer is still on its
 * way is left to that answer's DACK.
 *
 * Several switch addresses (-P and -p repeated, in the order given: the
 * nodes of a switch cluster sharing one store): when the connection is
 * lost or cannot be made, nlstate connects to the next address, round
 * robin (250 ms later, 1 s after a whole round failed, for as long as it
 * runs), and sends again, byte for byte, every answer that has no ACK
 * yet (kept until its ACK; the query's redelivery waits for it). With
 * one address it reconnects to it every second and forgets the answers
 * without an ACK (the switch redelivers their queries), as it always did.
 *
 * FAULTS is a comma list: drop=PCT (ignore that share of deliveries: no
 * answer, no ack, so the switch redelivers), delay=MS (extra random delay
 * up to MS), disconnect=N (after every N answers: once the N-th answer is
 * ACKed and every other answer sent is too, drop the connection without
 * DACKing the N-th answer's query, and reconnect a second later; the
 * switch redelivers that query, which is DACKed without a second answer).
 *
 * With -D every portrait a record can show (the pool's slots of a known
 * sex and age, avatar_pool_slot) is drawn before the line connects, so no
 * answer waits for a drawing: from the first DQ on, a DR with a photo
 * costs the parse of the query and the build of the answer (and the
 * record's few PRNG draws), never a JPEG encode.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>
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


#define STATE_MAX_NAME_HITS	5
#define STATE_SEEN_MAX		4096	/* answered deliveries remembered */

/* One delivery being answered: from its DLV to its DACK. */
struct state_job {
	TAILQ_ENTRY(state_job)	 entry;
	struct state		*st;
	uint64_t		 msgid;
	uint16_t		 copy;
	uint64_t		 tag;	/* the answer's MSG tag; 0 until sent */
	char			*xml;	/* the answer, until it is sent (with
					   a list of addresses: ACKed) */
	int			 resend; /* sent on a lost connection */
	size_t			 len;
	char			 what[160];	/* "DQ from ORI ctl=C -> DR .." */
	struct event		*ev;	/* the answer's delay; NULL: none */
};
TAILQ_HEAD(state_jobs, state_job);

/* A delivery answered (and its answer ACKed or refused by the switch). */
struct state_seen {
	uint64_t	msgid;
	uint16_t	copy;
};

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
	int			 fault_disconnect;	/* every N answers */
	int			 closing;	/* a fault disconnect is due */
	uint64_t		 rng;
	int			 quiet;
	uint64_t		 deliveries;
	uint64_t		 answered;	/* answers ACKed by the switch */
	uint64_t		 refused;	/* answers NAKed */
	uint64_t		 duplicates;	/* redeliveries of answered ones */
	uint64_t		 fault_closes;
	struct event		*ev_reconnect;
	struct event		*ev_fault;
	struct client_addrs	 addrs;		/* -P/-p, in order */
	const char		*host;
	int			 tries;		/* connects since a HELLO */
	uint64_t		 reconnects;	/* to another address */
	uint64_t		 resent;	/* answers sent again */
	struct state_jobs	 jobs;
	struct state_seen	*seen;		/* ring of STATE_SEEN_MAX */
	size_t			 nseen;
	size_t			 seen_next;
	/* The portraits drawn so far (avatar.h, the pool), base64: each is
	 * drawn once, then every answer that shows it is a copy. */
	struct state_photo {
		char	*b64;
		size_t	 b64len;
		size_t	 bytes;
	}			 photos[AVATAR_POOL_SLOTS];
	uint64_t		 drawn;
	int			 predraw;	/* -D */
};

static void	state_answer_cb(evutil_socket_t, short, void *);
static void	state_fault_cb(evutil_socket_t, short, void *);
static void	state_reconnect_cb(evutil_socket_t, short, void *);

/* The help text; exit status 0 when asked for (-h), 2 after a misuse. */
static void __attribute__((noreturn))
usage(int status)
{
	FILE *f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: nlstate -s STATE -k PKIDIR -l NAME (-P PORTFILE | "
	    "-p PORT)... [-H HOST]\n"
	    "               [-n RECORDS] [-d DELAY_MS] [-f FAULTS] [-S SEED] "
	    "[-D] [-q]\n"
	    "       nlstate -s STATE -L INDEX\n"
	    "       nlstate -s STATE -B COUNT [-D] [-n RECORDS]\n"
	    "       nlstate --help | --version\n"
	    "\n"
	    "  -s STATE     the member state served (two letters)\n"
	    "  -k PKIDIR    ca.pem, NAME.pem and NAME.key\n"
	    "  -l NAME      the line's certificate name\n"
	    "  -P PORTFILE  the switch's port file (or -p PORT, -H HOST); "
	    "repeat -P/-p\n"
	    "               for the nodes of a cluster: a lost connection "
	    "moves to the\n"
	    "               next, round robin, and answers without an ACK "
	    "are sent again\n"
	    "  -n RECORDS   records on file (default 100000)\n"
	    "  -d DELAY_MS  answer after this delay\n"
	    "  -S SEED      seed of the fault injection's random draws\n"
	    "  -D           draw every portrait before connecting (else each "
	    "on first use)\n"
	    "  -q           no line per message\n"
	    "  -L INDEX     print synthetic record INDEX and exit\n"
	    "  -B COUNT     answer COUNT DQs (IMQ/Y) in-process, no switch, "
	    "no TLS: print\n"
	    "               answers/s and CPU per answer (parse + build), "
	    "and exit\n"
	    "  -f FAULTS    comma list:\n"
	    "     drop=PCT      ignore that share of deliveries (no answer, no "
	    "DACK)\n"
	    "     delay=MS      add a random delay up to MS to each answer\n"
	    "     disconnect=N  after every N answers: once the N-th is ACKed, "
	    "drop the\n"
	    "                   connection before its query's DACK, reconnect "
	    "1 s later;\n"
	    "                   the switch redelivers that query, which is "
	    "DACKed without\n"
	    "                   a second answer\n"
	    "\n"
	    "A delivery already answered (the last %d remembered) is DACKed "
	    "again without\n"
	    "a second answer. At exit: \"stopping, answered N refused N "
	    "duplicates N\n"
	    "deliveries N fault-disconnects N\".\n", STATE_SEEN_MAX);
	exit(status);
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

/*
 * Draw the portrait of pool slot slot (who) and keep it as base64: done
 * once per slot, on first use or, with -D, at start-up. 0, or -1 if it
 * could not be drawn (the answer then goes without a photo).
 */
static int
state_photo_draw(struct state *st, int slot, const struct avatar_person *who)
{
	struct state_photo	*ph = &st->photos[slot];
	uint8_t			*jpg = NULL;
	size_t			 jlen = 0;

	if (avatar_person_jpeg(who, AVATAR_WIDTH, AVATAR_HEIGHT,
	    AVATAR_QUALITY, &jpg, &jlen) == -1)
		return -1;
	ph->b64 = util_b64_encode(jpg, jlen, &ph->b64len);
	ph->bytes = jlen;
	st->drawn++;
	free(jpg);
	return 0;
}

/*
 * -D: draw every portrait a record can show before connecting, so that
 * no answer waits for a drawing (each costs milliseconds). Records have
 * a sex (M or F) and an age, so the slots of an unknown sex or age are
 * left out. 0, or -1 if one could not be drawn.
 */
static int
state_pool_draw(struct state *st)
{
	struct avatar_person	 who;
	int			 slot;

	for (slot = 0; slot < AVATAR_POOL_SLOTS; slot++) {
		if (avatar_pool_slot(slot, &who) == -1 ||
		    who.sex == AVATAR_SEX_ANY || who.age == AVATAR_AGE_ANY ||
		    st->photos[slot].b64 != NULL)
			continue;
		if (state_photo_draw(st, slot, &who) == -1)
			return -1;
	}
	return 0;
}

static void
state_add_record(struct state *st, struct ubuf *b, const struct dmv_record *r,
    int photo, int history)
{
	struct msgbuild_driver	 d;
	struct msgbuild_event	 ev[2];
	struct avatar_person	 who;
	struct state_photo	*ph;
	char			 dates[2][11];
	int			 i, slot;

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
	/* The photo shows the driver's sex and age bracket: the pool's
	 * portrait for the record, drawn the first time it is asked for. */
	avatar_person_init(&who, r->photo_seed, r->sex, dmv_age(r->dob));
	avatar_pool_person(&who, &who, &slot);
	ph = &st->photos[slot];
	if (photo && ph->b64 == NULL)
		state_photo_draw(st, slot, &who);
	if (photo && ph->b64 != NULL) {
		d.photo_b64 = ph->b64;
		d.photo_b64len = ph->b64len;
		d.photo_bytes = ph->bytes;
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
}

/*
 * The answer to a hit confirmation request (YQ): a YR from the ORI the
 * request went to, back to its sender with its control field, echoing
 * the request's number, type, case and NCIC numbers, confirmed (the
 * simulated records section always finds its record).
 */
static char *
state_build_yr(const struct msg *m, size_t *lenp, char *what, size_t wsz)
{
	const char	*dest[1] = { m->ori };
	const char	*from = m->ndest > 0 ? m->dest[0] : "";
	struct ubuf	 b;
	char		 rno[12];

	snprintf(rno, sizeof rno, "%d", m->hit.rno > 0 ? m->hit.rno : 1);
	ubuf_init(&b);
	msgbuild_begin(&b, MSG_KEY_YR, from, dest, 1, m->ctl);
	msgbuild_open(&b, "n2:QueryRequestActivity");
	msgbuild_text(&b, "n2:QueryRequestSequenceNumber", rno);
	msgbuild_text(&b, "n2:QueryRequestTypeCode", m->hit.rty);
	msgbuild_text(&b, "n2:CaseNumberText", m->hit.oca);
	msgbuild_text(&b, "n2:NCICNumberText", m->hit.nic);
	msgbuild_close(&b, "n2:QueryRequestActivity");
	msgbuild_text(&b, "n2:HitConfirmationStatusCode", "Y");
	msgbuild_text(&b, "n2:ResponseText", "CONFIRMED BY THE SIMULATED "
	    "RECORDS SECTION");
	msgbuild_end(&b, MSG_KEY_YR);
	snprintf(what, wsz, "confirmed %s RNO/%s", m->hit.rty, rno);
	return ubuf_take(&b, lenp);
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
	case MSG_KEY_YQ:
		return state_build_yr(m, lenp, what, wsz);
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

/* 1 if the delivery (msgid, copy) was answered already. */
static int
state_seen_has(const struct state *st, uint64_t msgid, uint16_t copy)
{
	size_t i;

	/* A linear scan: 4096 compares per delivery cost microseconds. */
	for (i = 0; i < st->nseen; i++)
		if (st->seen[i].msgid == msgid && st->seen[i].copy == copy)
			return 1;
	return 0;
}

/* Remember an answered delivery; the oldest one goes when full. */
static void
state_seen_add(struct state *st, uint64_t msgid, uint16_t copy)
{
	st->seen[st->seen_next].msgid = msgid;
	st->seen[st->seen_next].copy = copy;
	st->seen_next = (st->seen_next + 1) % STATE_SEEN_MAX;
	if (st->nseen < STATE_SEEN_MAX)
		st->nseen++;
}

static struct state_job *
state_job_find(struct state *st, uint64_t msgid, uint16_t copy)
{
	struct state_job *j;

	TAILQ_FOREACH(j, &st->jobs, entry)
		if (j->msgid == msgid && j->copy == copy)
			return j;
	return NULL;
}

static struct state_job *
state_job_by_tag(struct state *st, uint64_t tag)
{
	struct state_job *j;

	TAILQ_FOREACH(j, &st->jobs, entry)
		if (j->tag == tag)
			return j;
	return NULL;
}

static void
state_job_free(struct state_job *j)
{
	TAILQ_REMOVE(&j->st->jobs, j, entry);
	if (j->ev != NULL)		/* only an answer delayed has one */
		event_free(j->ev);
	free(j->xml);
	free(j);
}

/*
 * The connection is gone: answers sent and not ACKed may or may not be
 * stored, and their queries come again; answers still waiting for their
 * delay stay (a redelivery waits for them).
 */
static void
state_jobs_lost(struct state *st)
{
	struct state_job *j, *next;

	for (j = TAILQ_FIRST(&st->jobs); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (j->tag == 0)
			continue;
		/* With a list: kept, sent again on the next connection. */
		if (st->addrs.n > 1 && j->xml != NULL) {
			j->tag = 0;
			j->resend = 1;
		} else
			state_job_free(j);
	}
}

/* A new connection: every answer sent on a lost one, sent again. */
static void
state_jobs_resend(struct state *st)
{
	struct state_job *j;

	TAILQ_FOREACH(j, &st->jobs, entry) {
		if (!j->resend ||
		    (j->tag = client_send(st->client, j->xml, j->len)) == 0)
			continue;
		j->resend = 0;
		st->resent++;
		printf("nlstate %s: %016llx.%u: answer sent again (no ACK on "
		    "the lost connection)\n", st->code,
		    (unsigned long long)j->msgid, j->copy);
	}
}

/* A fault disconnect is due once no answer sent waits for its ACK. */
static void
state_fault_check(struct state *st)
{
	struct state_job	*j;
	struct timeval		 now = { 0, 0 };

	if (!st->closing)
		return;
	TAILQ_FOREACH(j, &st->jobs, entry)
		if (j->tag != 0)
			return;
	evtimer_add(st->ev_fault, &now);
}

/* The answer's delay passed: send it, or leave the query to come again. */
static void
state_answer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct state_job	*j = arg;
	struct state		*st = j->st;

	(void)fd;
	(void)what;
	if (st->closing || !client_is_up(st->client) ||
	    (j->tag = client_send(st->client, j->xml, j->len)) == 0) {
		printf("nlstate %s: %016llx.%u: answer not sent (%s): the "
		    "switch redelivers the query\n", st->code,
		    (unsigned long long)j->msgid, j->copy, st->closing ?
		    "disconnect under way" : "not connected");
		state_job_free(j);
		return;
	}
	if (st->addrs.n <= 1) {
		free(j->xml);
		j->xml = NULL;
	}
	if (!st->quiet)
		printf("nlstate %s: %s\n", st->code, j->what);
}

/*
 * The answer of job j is durable (ACK) or refused (NAK): the query is
 * dealt with. Remember it, then DACK it - except for the answer that
 * completes a disconnect=N fault, whose query the switch is to redeliver.
 */
static void
state_job_done(struct state *st, struct state_job *j, int acked)
{
	state_seen_add(st, j->msgid, j->copy);
	if (acked)
		st->answered++;
	else
		st->refused++;
	if (acked && st->fault_disconnect > 0 &&
	    st->answered % (uint64_t)st->fault_disconnect == 0) {
		printf("nlstate %s: fault: %s after answer %llu, before "
		    "the DACK of %016llx.%u\n", st->code, st->closing ?
		    "joins the disconnect due" : "disconnect due",
		    (unsigned long long)st->answered,
		    (unsigned long long)j->msgid, j->copy);
		st->closing = 1;
	} else
		client_dack(st->client, j->msgid, j->copy);
	state_job_free(j);
	state_fault_check(st);
}

/*
 * What a delivery needs before it is parsed: nothing (0), or it is dealt
 * with here (1): a fault disconnect is under way or drops it, it was
 * answered already, or its answer is on the way.
 */
static int
state_deliver_early(struct state *st, uint64_t msgid, uint16_t copy)
{
	if (st->closing) {
		printf("nlstate %s: %016llx.%u: fault: disconnect under way, "
		    "left for redelivery\n", st->code,
		    (unsigned long long)msgid, copy);
		return 1;
	}
	if (st->fault_drop > 0 && (int)(state_rand(st) % 100) < st->fault_drop) {
		if (!st->quiet)
			printf("nlstate %s: fault: dropped delivery %016llx.%u\n",
			    st->code, (unsigned long long)msgid, copy);
		return 1;
	}
	if (state_seen_has(st, msgid, copy)) {
		st->duplicates++;
		printf("nlstate %s: %016llx.%u: redelivery of a query already "
		    "answered: DACK, no second answer\n", st->code,
		    (unsigned long long)msgid, copy);
		client_dack(st->client, msgid, copy);
		return 1;
	}
	if (state_job_find(st, msgid, copy) != NULL) {
		printf("nlstate %s: %016llx.%u: redelivery of a query being "
		    "answered: its answer's ACK DACKs it\n", st->code,
		    (unsigned long long)msgid, copy);
		return 1;
	}
	return 0;
}

static void
state_deliver_cb(struct client *c, uint64_t msgid, uint16_t copy,
    const char *xml, size_t len, void *arg)
{
	struct state		*st = arg;
	struct msg		 m;
	struct msg_diags	 diags;
	struct state_job	*j;
	struct timeval		 tv;
	char			 what[64] = "", *out;
	size_t			 olen;
	int			 delay;

	st->deliveries++;
	if (state_deliver_early(st, msgid, copy))
		return;
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
		client_dack(c, msgid, copy);
		return;
	}
	j = xcalloc(1, sizeof *j);
	j->st = st;
	j->msgid = msgid;
	j->copy = copy;
	j->xml = out;
	j->len = olen;
	/* The line printed per answer: not built at all with -q. */
	if (!st->quiet)
		snprintf(j->what, sizeof j->what, "%s from %s ctl=%s -> %s %s "
		    "delivery=%016llx.%u", msg_key_name(m.key), m.ori, m.ctl,
		    msg_key_name(m.key == MSG_KEY_DQ ? MSG_KEY_DR :
		    m.key == MSG_KEY_KQ ? MSG_KEY_KR : MSG_KEY_DNR), what,
		    (unsigned long long)msgid, copy);
	TAILQ_INSERT_TAIL(&st->jobs, j, entry);
	delay = st->delay_ms;
	if (st->fault_delay > 0)
		delay += (int)(state_rand(st) % (uint32_t)st->fault_delay);
	if (delay == 0) {
		/* No delay: answer now, not through a timer and another
		 * pass of the loop (may free j). */
		state_answer_cb(-1, 0, j);
		return;
	}
	j->ev = evtimer_new(st->base, state_answer_cb, j);
	tv.tv_sec = delay / 1000;
	tv.tv_usec = (delay % 1000) * 1000;
	evtimer_add(j->ev, &tv);
}

static void
state_ack_cb(struct client *c, uint64_t tag, const char *msgid, void *arg)
{
	struct state		*st = arg;
	struct state_job	*j;

	(void)c;
	(void)msgid;
	if ((j = state_job_by_tag(st, tag)) != NULL)
		state_job_done(st, j, 1);
}

static void
state_nak_cb(struct client *c, uint64_t tag, const char *er, size_t len,
    void *arg)
{
	struct state		*st = arg;
	struct state_job	*j;

	(void)c;
	printf("nlstate %s: answer refused by the switch: %.*s\n", st->code,
	    (int)(len > 300 ? 300 : len), er);
	if ((j = state_job_by_tag(st, tag)) != NULL)
		state_job_done(st, j, 0);
}

static void
state_hello_cb(struct client *c, const char *text, void *arg)
{
	struct state *st = arg;

	(void)c;
	printf("nlstate %s: connected %s\n", st->code, text);
	st->tries = 0;
	state_jobs_resend(st);
}

/*
 * The connection is gone (closed_cb) or hung up on purpose (fault_cb):
 * no fault is due any more, what was sent and not ACKed is forgotten,
 * and a new connection is tried a second later.
 */
static void
state_connection_lost(struct state *st)
{
	struct timeval tv = { 1, 0 };

	st->closing = 0;
	evtimer_del(st->ev_fault);
	state_jobs_lost(st);
	/* With a list: the next address soon, 1 s after a whole round. */
	if (st->addrs.n > 1 && (st->tries == 0 || st->tries % st->addrs.n !=
	    0)) {
		tv.tv_sec = 0;
		tv.tv_usec = 250000;
	}
	evtimer_add(st->ev_reconnect, &tv);
}

static void
state_closed_cb(struct client *c, const char *why, void *arg)
{
	struct state *st = arg;

	(void)c;
	printf("nlstate %s: disconnected: %s (reconnecting)\n", st->code, why);
	state_connection_lost(st);
}

/* The disconnect=N fault: every answer sent is ACKed; hang up. */
static void
state_fault_cb(evutil_socket_t fd, short what, void *arg)
{
	struct state *st = arg;

	(void)fd;
	(void)what;
	if (!st->closing)
		return;
	printf("nlstate %s: fault: disconnecting\n", st->code);
	st->fault_closes++;
	client_close(st->client);
	state_connection_lost(st);
}

static void
state_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct state	*st = arg;
	struct timeval	 one = { 1, 0 };

	(void)fd;
	(void)what;
	if (st->addrs.n > 1) {
		const char *port = client_addrs_next(&st->addrs);

		st->tries++;
		st->reconnects++;
		printf("nlstate %s: reconnecting to %s:%s (address %d of %d)\n",
		    st->code, st->host, port, st->addrs.cur + 1, st->addrs.n);
		client_set_addr(st->client, st->host, port);
	}
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

/*
 * -B COUNT: answer COUNT DQs in this process, no switch and no TLS: the
 * parse of each DQ (schema-validated, as a delivery) and the build of
 * its DR with the photo, from records 0, 1, ... (mod the file). Prints
 * answers per second and the CPU per answer. 0, or 1 if one failed.
 */
static int
state_selfbench(struct state *st, long count)
{
	struct msg		 m;
	struct msg_diags	 diags;
	struct ubuf		 u;
	struct rusage		 r0, r1;
	const char		*dest = st->code;
	char			 oln[DMV_OLN_LEN + 1], what[64], *dq, *dr;
	size_t			 dqlen, drlen, bytes = 0;
	uint64_t		 t0, t, cpu;
	long			 i;

	getrusage(RUSAGE_SELF, &r0);
	t0 = util_mono_us();
	for (i = 0; i < count; i++) {
		if (dmv_oln(st->code, (uint32_t)(i % st->nrecords), oln,
		    sizeof oln) == -1)
			return 1;
		ubuf_init(&u);
		msgbuild_begin(&u, MSG_KEY_DQ, "BN0000001", &dest, 1,
		    "0000000001");
		ubuf_adds(&u, "<n2:Person><j:PersonAugmentation>"
		    "<nc:DriverLicense><nc:DriverLicenseIdentification>"
		    "<nc:IdentificationID>");
		ubuf_adds(&u, oln);
		ubuf_adds(&u, "</nc:IdentificationID>"
		    "</nc:DriverLicenseIdentification></nc:DriverLicense>"
		    "</j:PersonAugmentation></n2:Person>\n"
		    "<n2:ImageRequestIndicator>true</n2:ImageRequestIndicator>"
		    "\n<psp:PhotoPurpose><psp:PurposeCategoryCode>"
		    "IDENTIFICATION</psp:PurposeCategoryCode>"
		    "<psp:PurposeUseCode>TRAFFIC-STOP</psp:PurposeUseCode>"
		    "</psp:PhotoPurpose>\n");
		msgbuild_end(&u, MSG_KEY_DQ);
		dq = ubuf_take(&u, &dqlen);
		memset(&m, 0, sizeof m);
		if (msgparse_message(st->schema, dq, dqlen, 0, 0, &m,
		    &diags) != 0 || (dr = state_build(st, &m, &drlen, what,
		    sizeof what)) == NULL) {
			fprintf(stderr, "nlstate: -B: DQ %ld not answered: "
			    "%s\n", i, diags.n > 0 ? diags.d[0].text : what);
			free(dq);
			return 1;
		}
		bytes += drlen;
		free(dq);
		free(dr);
	}
	t = util_mono_us() - t0;
	getrusage(RUSAGE_SELF, &r1);
	cpu = (uint64_t)((r1.ru_utime.tv_sec - r0.ru_utime.tv_sec +
	    r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1000000L +
	    r1.ru_utime.tv_usec - r0.ru_utime.tv_usec +
	    r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
	printf("nlstate %s: -B: %ld DQ -> DR with photo in %.3f s: %.0f/s, "
	    "cpu %.1f us per answer, DR %zu bytes on average, portraits "
	    "drawn %llu\n", st->code, count, (double)t / 1e6,
	    t > 0 ? (double)count * 1e6 / (double)t : 0,
	    count > 0 ? (double)cpu / (double)count : 0,
	    count > 0 ? bytes / (size_t)count : 0,
	    (unsigned long long)st->drawn);
	return 0;
}

/* -B: the schema, the pool if -D, the answers; the exit status. */
static int
state_selfbench_main(struct state *st, long count)
{
	char	*cause = NULL;
	int	 rc, i;

	snprintf(st->ori, sizeof st->ori, "%sOLN0000", st->code);
	if ((st->schema = msgparse_schema_load(util_schemadir(),
	    &cause)) == NULL) {
		fprintf(stderr, "nlstate: %s\n", cause);
		free(cause);
		return 2;
	}
	if (st->predraw && state_pool_draw(st) == -1)
		return 2;
	rc = state_selfbench(st, count);
	msgparse_schema_free(st->schema);
	for (i = 0; i < AVATAR_POOL_SLOTS; i++)
		free(st->photos[i].b64);
	return rc;
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
	const char	*pki = NULL, *name = NULL;
	const char	*host = "127.0.0.1", *sdir;
	char		*ca, *cert, *key, *cause = NULL;
	SSL_CTX		*ctx;
	struct event	*sig1, *sig2;
	struct state_job *j;
	int		 i;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	long		 list = -1, selfbench = 0;
	int		 ch;

	/* Answers of ~25 KB come and go: no trimming of the heap between. */
	util_malloc_tune();
	memset(&st, 0, sizeof st);
	st.nrecords = 100000;
	st.rng = 0x9e3779b97f4a7c15ULL;
	while ((ch = getopt_long(argc, argv, "B:Dd:f:H:hk:L:l:n:P:p:qS:s:",
	    longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': usage(0);
		case 'V': util_version_exit("nlstate");
		case 'L': list = atol(optarg); break;
		case 'B': selfbench = atol(optarg); break;
		case 'D': st.predraw = 1; break;
		case 'd': st.delay_ms = atoi(optarg); break;
		case 'f': state_faults(&st, optarg); break;
		case 'H': host = optarg; break;
		case 'k': pki = optarg; break;
		case 'l': name = optarg; break;
		case 'n': st.nrecords = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'P':
		case 'p':
			if (client_addrs_add(&st.addrs, ch == 'P' ? optarg :
			    NULL, ch == 'p' ? optarg : NULL) == -1) {
				fprintf(stderr, "nlstate: more than %d "
				    "addresses\n", CLIENT_ADDRS_MAX);
				return 2;
			}
			break;
		case 'q': st.quiet = 1; break;
		case 'S': st.rng = strtoull(optarg, NULL, 10) | 1; break;
		case 's':
			if (strlen(optarg) != 2)
				usage(2);
			st.code[0] = optarg[0] & ~0x20;
			st.code[1] = optarg[1] & ~0x20;
			break;
		default: usage(2);
		}
	}
	if (st.code[0] != '\0' && list >= 0)
		return state_list(st.code, (uint32_t)list);
	if (st.code[0] != '\0' && selfbench > 0)
		return state_selfbench_main(&st, selfbench);
	if (st.code[0] == '\0' || pki == NULL || name == NULL ||
	    st.addrs.n == 0 || optind != argc)
		usage(2);
	snprintf(st.ori, sizeof st.ori, "%sOLN0000", st.code);
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init(1, 0, "nlstate");
	if (client_addrs_read(&st.addrs, 10000, &cause) == -1) {
		fprintf(stderr, "nlstate: %s\n", cause);
		return 2;
	}
	st.host = host;
	sdir = util_schemadir();
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
	if (st.predraw) {
		uint64_t t0 = util_mono_us();

		if (state_pool_draw(&st) == -1) {
			fprintf(stderr, "nlstate: a portrait could not be "
			    "drawn\n");
			return 2;
		}
		printf("nlstate %s: portraits drawn %llu in %.0f ms\n",
		    st.code, (unsigned long long)st.drawn,
		    (double)(util_mono_us() - t0) / 1e3);
	}
	signal(SIGPIPE, SIG_IGN);
	st.base = event_base_new();
	st.ev_reconnect = evtimer_new(st.base, state_reconnect_cb, &st);
	st.ev_fault = evtimer_new(st.base, state_fault_cb, &st);
	TAILQ_INIT(&st.jobs);
	st.seen = xcalloc(STATE_SEEN_MAX, sizeof *st.seen);
	sig1 = evsignal_new(st.base, SIGTERM, state_signal_cb, &st);
	sig2 = evsignal_new(st.base, SIGINT, state_signal_cb, &st);
	evsignal_add(sig1, NULL);
	evsignal_add(sig2, NULL);
	st.client = client_new(st.base, ctx, host, client_addrs_port(&st.addrs),
	    &cb, &st);
	st.tries = 1;
	if (client_connect(st.client) == -1) {
		struct timeval one = { 1, 0 };
		evtimer_add(st.ev_reconnect, &one);
	}
	event_base_dispatch(st.base);
	printf("nlstate %s: stopping, answered %llu refused %llu duplicates "
	    "%llu deliveries %llu fault-disconnects %llu portraits-drawn "
	    "%llu\n", st.code,
	    (unsigned long long)st.answered, (unsigned long long)st.refused,
	    (unsigned long long)st.duplicates,
	    (unsigned long long)st.deliveries,
	    (unsigned long long)st.fault_closes,
	    (unsigned long long)st.drawn);
	if (st.addrs.n > 1)
		printf("nlstate %s: reconnects %llu answers-resent %llu\n",
		    st.code, (unsigned long long)st.reconnects,
		    (unsigned long long)st.resent);
	while ((j = TAILQ_FIRST(&st.jobs)) != NULL)
		state_job_free(j);
	client_free(st.client);
	event_free(st.ev_reconnect);
	event_free(st.ev_fault);
	event_free(sig1);
	event_free(sig2);
	event_base_free(st.base);
	SSL_CTX_free(ctx);
	msgparse_schema_free(st.schema);
	for (i = 0; i < AVATAR_POOL_SLOTS; i++)
		free(st.photos[i].b64);
	free(st.seen);
	free(ca);
	free(cert);
	free(key);
	return 0;
}
