/*
 * nlbench - closed-loop load generator for nlswitch (make bench).
 *
 *   nlbench -k PKIDIR -P PORTFILE [-H HOST] [-c CONNS] [-r RECEIVERS]
 *           [-b BYTES] [-d SECONDS | -n MESSAGES] [-w WINDOW] [-W WARMUP_S]
 *           [-R RATE] [-I SECONDS] [-p SWITCH_PID] [-j JSON_OUT] [-q]
 *           [-T [-E] | -f FILE] [--series FILE] [--hist FILE]
 *   nlbench -L [-c CONNS] [-r RECEIVERS]     config <line> elements
 *   nlbench -N [-c CONNS] [-r RECEIVERS]     certificate names for nlpki
 *   nlbench --help | --version
 *
 * CONNS sender lines (certificates benchI, line BENCHI, ORI BNxxxxxxx) each
 * keep WINDOW AMs of BYTES bytes unacknowledged; RECEIVERS receiver lines
 * (benchrx / line BENCHRX / member ZZ when there is one, else benchrxJ /
 * BRXJ / member ZA, ZB, ...) acknowledge every delivery at once. Sender I
 * sends to receiver (I - 1) mod RECEIVERS. Every connection runs in this
 * one process and one libevent loop.
 *
 * RECEIVERS defaults to CONNS (at most 26): measured with 4 senders, one
 * receiver line falls behind (2 KB: 46K/s acked but 26K/s delivered, the
 * backlog and the end-to-end latency growing without bound), while one
 * receiver per sender delivers as fast as messages are acked.
 *
 * The CTL of each message is its global sequence number (10 hex digits),
 * which is how a receiver finds the send time of a delivery. Measured
 * after the warm-up, over -d seconds or until -n messages were acked:
 * acked messages/s, ACK latency (send -> ACK), end-to-end latency (send ->
 * DLV at the receiver), deliveries/s, NAKs, this process's CPU and, with
 * -p, the switch's CPU (all threads and the busiest one). Then sending
 * stops and the run drains (every ACK and DLV in, bounded).
 *
 * With -R each sender sends at most RATE messages a second (paced every
 * millisecond, within the window) instead of keeping the window full: an
 * open-loop stream whose rate shows how the switch keeps up. Credit for
 * sends the window or a stalled switch did not allow is not carried
 * beyond 20 ms, so a stall shows as a lower rate, not as a later burst.
 * The pacing timer needs libevent's precise clock: its default on Linux
 * is CLOCK_MONOTONIC_COARSE, which moves once per kernel tick (4 ms at
 * HZ=250), so a 1 ms timer fired every 4 to 8 ms and each sender sent 10
 * to 20 messages at once: the switch saw bursts, not a stream, and the
 * ACK latency measured was the bursts'. The passes' intervals are
 * reported (pace_us in the JSON; a warning when their median is over
 * BENCH_PACE_WARN_US).
 * With -I every interval of that many seconds (warm-up included) prints
 * one line with the wall-clock time, the messages acked and delivered in
 * the interval and the longest ACK latency (tools/hsbench reads them).
 *
 * Latencies go into a log-linear histogram (64 sub-buckets per power of
 * two: +-0.8 %), so memory does not grow with the run (benchstat.h, the
 * same as bin/rmqbench's, the RabbitMQ peer's load generator).
 *
 * For tools/bench's plots: --series FILE writes the messages acked and
 * delivered per second in every 100 ms from the start of the warm-up to
 * the end of the measured window (time 0 = the measurement's start),
 * --hist FILE the non-empty buckets of the ACK and e2e histograms of the
 * measured window (benchstat_write_series, benchstat_write_hist).
 *
 * With -T (round trip) the job is the network's real one: each sender
 * sends DQs by license number with IMQ/Y and an allowed photo purpose to
 * its receiver, which plays the state DMV: it answers every DQ at once
 * with a DR carrying one driver record and its photo (a portrait drawn
 * once, as nlstate sends: adapters/avatar.h), to the sender's ORI with
 * the DQ's control field, then acknowledges the DQ. "dlv" is then the
 * DRs the senders received and "e2e" the round trip (DQ sent -> DR
 * delivered); the window holds round trips (a DQ leaves it when its DR
 * is in, not at its ACK); -b is ignored (the DQ and the DR are what they
 * are).
 *
 * With -E (--nlstate; implies -T) the states are real: nlbench starts one
 * bin/nlstate -q -D process per receiver line (the nlstate next to this
 * nlbench, or $NLBENCH_NLSTATE), on the line's certificate, member code
 * and the ORI MEMBEROLN0000 that -L gives every receiver line, waits until
 * each says it is connected (after drawing its portrait pool, -D), and
 * does not connect its own receivers. Each sender's DQs name, in turn,
 * BENCH_STATE_RECS records on file at its state (OLNs of rows
 * (I - 1) * BENCH_STATE_RECS + k, see adapters/dmv.h), so the answers
 * show many portraits of the pool. The report adds the DRs that carried
 * a photo, what the nlstates answered (their exit line), their CPU in
 * the measured window and per DR. At the end every nlstate is sent
 * SIGTERM and reaped by its pid (SIGKILL after BENCH_STATE_STOP_S).
 *
 * With -f FILE every sender sends that message (NIEM XML, as an endpoint
 * would write it) instead of the generated AM: its control field is
 * replaced by the 10-character sequence slot (the file must have an
 * nh2:DocumentControlFieldText), everything else is sent as it is, so
 * its destinations must be lines of the run (-L's receivers: ZA.., ZZ).
 *
 * An AM's MailMessageText holds at most 10000 characters (nlets.xsd): for
 * larger BYTES the text is 10000 ASCII characters and the rest of the size
 * is an XML comment inside n2:NLETSMailData, which the switch parses,
 * stores and forwards like any other byte of the message.
 *
 * Exit: 0, 1 a connection failed or closed during the run, 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "avatar.h"
#include "benchstat.h"
#include "client.h"
#include "dmv.h"
#include "jsonutil.h"
#include "msg.h"
#include "msgbuild.h"
#include "tls.h"
#include "util.h"
#include "xscan.h"

#define BENCH_MAXCONN		999	/* line codes BENCH1..BENCH999 */
#define BENCH_MAXRX		26	/* members ZA..ZZ */
#define BENCH_TEXT_MAX		10000	/* nlets.xsd MailMessageText maxLength */
#define BENCH_CTL_LEN		10
#define BENCH_PEEK		4096	/* bytes of a delivery looked at */
#define BENCH_CONNECT_S		15
#define BENCH_DRAIN_S		30
#define BENCH_SENDT_SLOTS	(1u << 20)	/* send times by sequence */
#define BENCH_OPT_SERIES	1000		/* --series FILE */
#define BENCH_OPT_HIST		1001		/* --hist FILE */
#define BENCH_STATE_RECS	64	/* -E: records a sender's DQs name */
#define BENCH_STATE_STOP_S	10	/* -E: an nlstate's exit, at most */
#define BENCH_STATE_NREC	"100000"	/* -E: nlstate -n */
#define BENCH_PACE_WARN_US	2000	/* -R: a median pass slower warns */

enum bench_phase {
	BENCH_PH_CONNECT_RX = 0,
	BENCH_PH_CONNECT_TX,
	BENCH_PH_WARMUP,
	BENCH_PH_MEASURE,
	BENCH_PH_DRAIN,
	BENCH_PH_DONE
};

struct bench_slot {
	uint64_t	 key;		/* tag or sequence; 0 = empty */
	uint64_t	 t;		/* send time, monotonic us */
};

struct bench;

/* -E: one nlstate process playing one receiver line's state. */
struct bench_state {
	struct bench		*b;
	char			 member[3];
	pid_t			 pid;		/* 0 once reaped */
	int			 fd;		/* its stdout, -1 at EOF */
	struct event		*ev;
	char			 buf[1024];	/* a line being read */
	size_t			 len;
	int			 up;		/* said "connected" */
	int			 stopping;	/* SIGTERM sent */
	int			 killed;	/* SIGKILL needed */
	int			 status;	/* waitpid's */
	uint64_t		 answered;	/* from its exit line */
	uint64_t		 drawn;
	struct benchstat_cpu	 cpu0;		/* measured window */
	struct benchstat_cpu	 cpu1;
};

struct bench_conn {
	struct bench		*b;
	struct client		*c;
	SSL_CTX			*ssl;
	char			 name[24];	/* certificate name */
	int			 rx;		/* receiver */
	int			 up;
	int			 closed;
	char			*msg;		/* sender: template; -T
						   receiver: its DR's */
	size_t			 msglen;
	char			*dqs[BENCH_STATE_RECS];	/* -E: the DQs,
							   in turn */
	int			 dq_next;
	size_t			 ctl_off;
	size_t			 dest_off;	/* -T receiver: the DR's
						   destination ORI */
	uint64_t		 answered;	/* -T receiver: DRs ACKed */
	int			 inflight;
	double			 credit;	/* -R: sends allowed now */
	struct bench_slot	*ring;		/* sender: tag -> send time */
	uint64_t		 ringmask;
	uint64_t		 sent;
	uint64_t		 acked;
	uint64_t		 naks;
	uint64_t		 dlv;
};

struct bench {
	struct event_base	*base;
	struct event		*ev_tick;
	struct event		*ev_phase;
	const char		*pki;
	const char		*host;
	char			 port[16];
	int			 nconn;
	int			 nrx;
	size_t			 bytes;
	double			 duration;
	uint64_t		 nmsg;
	int			 window;
	double			 warmup;
	int			 swpid;
	int			 quiet;
	const char		*json;
	const char		*series_path;	/* --series */
	const char		*hist_path;	/* --hist */
	const char		*portfile;	/* -P */
	int			 print_lines;	/* -L */
	int			 print_names;	/* -N */
	double			 rate;		/* -R, per sender; 0: window-bound */
	int			 rt;		/* -T: DQ -> DR round trips */
	int			 nlstate;	/* -E: states are nlstates */
	struct bench_state	*states;	/* -E: one per receiver */
	const char		*file;		/* -f: the message sent */
	double			 interval;	/* -I seconds; 0: none */
	struct event		*ev_pace;
	struct event		*ev_ival;
	uint64_t		 t_pace;	/* last pacing, mono us */

	struct bench_conn	*tx;
	struct bench_conn	*rx;
	enum bench_phase	 phase;
	int			 failed;
	uint64_t		 deadline;	/* connect / drain, mono us */
	uint64_t		 seq;
	struct bench_slot	*sendt;		/* sequence -> send time */

	uint64_t		 t_meas;
	uint64_t		 t_end;
	struct benchstat_cpu	 cpu0;
	struct benchstat_cpu	 cpu1;

	/* Measurement window. */
	uint64_t		 m_acked;
	uint64_t		 m_naks;
	uint64_t		 m_dlv;
	uint64_t		 m_sm;
	uint64_t		 m_unmatched;	/* DLV without a send time */
	uint64_t		 m_photo;	/* -T: DRs with a photo */
	struct benchstat_hist	 h_ack;
	struct benchstat_hist	 h_e2e;
	struct benchstat_hist	 h_pace;	/* -R: between passes, us */
	struct benchstat_series	 series;	/* from the start, --series */

	/* Whole run. */
	uint64_t		 acked;
	uint64_t		 naks;
	uint64_t		 dlv;
	int			 nak_shown;

	/* Interval report (-I). */
	uint64_t		 i_t0;		/* mono us */
	uint64_t		 i_acked;
	uint64_t		 i_dlv;
	uint64_t		 i_ackmax;	/* us */
};

static void	bench_hello_cb(struct client *, const char *, void *);
static void	bench_ack_cb(struct client *, uint64_t, const char *, void *);
static void	bench_nak_cb(struct client *, uint64_t, const char *, size_t,
		    void *);
static void	bench_deliver_cb(struct client *, uint64_t, uint16_t,
		    const char *, size_t, void *);
static void	bench_closed_cb(struct client *, const char *, void *);
static void	bench_tick_cb(evutil_socket_t, short, void *);
static void	bench_phase_cb(evutil_socket_t, short, void *);
static void	bench_pace_cb(evutil_socket_t, short, void *);
static void	bench_ival_cb(evutil_socket_t, short, void *);
static void	bench_state_read_cb(evutil_socket_t, short, void *);
static void	bench_signal_cb(evutil_socket_t, short, void *);

static const struct client_cb bench_cb = {
	bench_hello_cb, bench_ack_cb, bench_nak_cb, bench_deliver_cb,
	bench_closed_cb
};

/* The usage: on stdout and exit 0 for --help, else stderr and exit 2. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: nlbench -k PKIDIR -P PORTFILE [-H HOST] [-c CONNS] "
	    "[-r RECEIVERS] [-b BYTES]\n"
	    "               [-d SECONDS | -n MESSAGES] [-w WINDOW] "
	    "[-W WARMUP_S] [-R RATE]\n"
	    "               [-I SECONDS] [-p SWITCH_PID] [-j JSON_OUT] [-q] "
	    "[-T [-E] | -f FILE]\n"
	    "               [--series FILE] [--hist FILE]\n"
	    "       nlbench -L | -N [-c CONNS] [-r RECEIVERS]\n"
	    "       nlbench --help | --version\n"
	    "  -T       round trips: DQ with IMQ/Y -> receiver as a state -> DR "
	    "with a photo\n"
	    "  -E, --nlstate  with -T: the states are bin/nlstate processes "
	    "started here\n"
	    "           (one per receiver line, nlstate -q -D), not this "
	    "process's receivers\n"
	    "  -f FILE  send FILE's message (its control field becomes the "
	    "sequence)\n"
	    "  --series FILE  acked/s and delivered/s per 100 ms, for a plot\n"
	    "  --hist FILE    the ACK and e2e latency histograms' buckets\n");
	exit(status);
}

/*
 * Names. Senders: cert benchI, line BENCHI, ORI BN + I in 7 digits.
 * Receivers: one is benchrx / BENCHRX / member ZZ; several are benchrxJ /
 * BRXJ / members ZA, ZB, ... Receiver ORIs are MEMBER0000000.
 */
static void
bench_rx_names(int nrx, int j, char *cn, size_t cnsz, char *code,
    size_t codesz, char *member)
{
	if (nrx == 1) {
		snprintf(cn, cnsz, "benchrx");
		snprintf(code, codesz, "BENCHRX");
		memcpy(member, "ZZ", 3);
	} else {
		snprintf(cn, cnsz, "benchrx%d", j + 1);
		snprintf(code, codesz, "BRX%d", j + 1);
		member[0] = 'Z';
		member[1] = (char)('A' + j);
		member[2] = '\0';
	}
}

static void
bench_print_lines(int nconn, int nrx)
{
	char	 cn[24], code[24], member[3];
	int	 i;

	for (i = 1; i <= nconn; i++)
		printf("  <line code=\"BENCH%d\" cn=\"bench%d\"><ori>BN%07d</ori>"
		    "<accept>AM DR</accept></line>\n", i, i, i);
	for (i = 0; i < nrx; i++) {
		bench_rx_names(nrx, i, cn, sizeof cn, code, sizeof code,
		    member);
		/* MEMBEROLN0000: the ORI nlstate answers from (-E). */
		printf("  <line code=\"%s\" cn=\"%s\" member=\"%s\"><ori>%s0000000"
		    "</ori><ori>%sOLN0000</ori><accept>AM DQ</accept></line>\n",
		    code, cn, member, member, member);
	}
}

static void
bench_print_names(int nconn, int nrx)
{
	char	 cn[24], code[24], member[3];
	int	 i;

	for (i = 1; i <= nconn; i++)
		printf("bench%d\n", i);
	for (i = 0; i < nrx; i++) {
		bench_rx_names(nrx, i, cn, sizeof cn, code, sizeof code,
		    member);
		printf("%s\n", cn);
	}
}

/*
 * Messages.
 */

/*
 * -T: the sender's DQ by license number OLN with IMQ/Y and an allowed
 * photo purpose (docs/policy.md), to its receiver, with a CTL slot.
 */
static int
bench_build_dq(struct bench *b, struct bench_conn *t, int i, const char *oln,
    char **msgp)
{
	struct ubuf	 u;
	char		 ori[16], member[3], cn[24], code[24];
	const char	*dest = member;
	char		*p;

	bench_rx_names(b->nrx, (i - 1) % b->nrx, cn, sizeof cn, code,
	    sizeof code, member);
	snprintf(ori, sizeof ori, "BN%07d", i);
	ubuf_init(&u);
	msgbuild_begin(&u, MSG_KEY_DQ, ori, &dest, 1, "0000000000");
	ubuf_adds(&u, "<n2:Person><j:PersonAugmentation><nc:DriverLicense>"
	    "<nc:DriverLicenseIdentification><nc:IdentificationID>");
	ubuf_adds(&u, oln);
	ubuf_adds(&u, "</nc:IdentificationID></nc:DriverLicenseIdentification>"
	    "</nc:DriverLicense></j:PersonAugmentation></n2:Person>\n"
	    "<n2:ImageRequestIndicator>true</n2:ImageRequestIndicator>\n"
	    "<psp:PhotoPurpose><psp:PurposeCategoryCode>IDENTIFICATION"
	    "</psp:PurposeCategoryCode><psp:PurposeUseCode>TRAFFIC-STOP"
	    "</psp:PurposeUseCode><psp:CircumstanceText>NO PHOTO ID OFFERED"
	    "</psp:CircumstanceText></psp:PhotoPurpose>\n");
	msgbuild_end(&u, MSG_KEY_DQ);
	*msgp = ubuf_take(&u, &t->msglen);
	if ((p = strstr(*msgp, "0000000000<")) == NULL)
		return -1;
	t->ctl_off = (size_t)(p - *msgp);
	b->bytes = t->msglen;
	return 0;
}

/* -T: the sender's DQ, for the receivers' one driver (B1234567). */
static int
bench_template_dq(struct bench *b, struct bench_conn *t, int i)
{
	return bench_build_dq(b, t, i, "B1234567", &t->msg);
}

/*
 * -E: the sender's BENCH_STATE_RECS DQs, each naming a record on file at
 * its state (rows (i - 1) * BENCH_STATE_RECS + k); sent in turn. Their
 * OLNs have the same length, so their CTL slots are at the same offset.
 */
static int
bench_template_dqs(struct bench *b, struct bench_conn *t, int i)
{
	char		 cn[24], code[24], member[3], oln[DMV_OLN_LEN + 1];
	uint32_t	 row;
	int		 k;

	bench_rx_names(b->nrx, (i - 1) % b->nrx, cn, sizeof cn, code,
	    sizeof code, member);
	for (k = 0; k < BENCH_STATE_RECS; k++) {
		row = (uint32_t)(i - 1) * BENCH_STATE_RECS + (uint32_t)k;
		if (dmv_oln(member, row, oln, sizeof oln) == -1 ||
		    bench_build_dq(b, t, i, oln, &t->dqs[k]) == -1)
			return -1;
	}
	t->msg = t->dqs[0];
	return 0;
}

/*
 * -T: a receiver's DR, a driver record with its photo (a portrait drawn
 * once, as nlstate's), with slots for the destination ORI and the CTL.
 */
static int
bench_template_dr(struct bench_conn *t, const char *member)
{
	struct msgbuild_driver	 d;
	struct ubuf		 u;
	char			 ori[16];
	const char		*dest = "BN0000000";
	uint8_t			*jpg = NULL;
	size_t			 jlen = 0, blen;
	char			*b64, *p;

	if (avatar_jpeg(0x5eed, AVATAR_WIDTH, AVATAR_HEIGHT, AVATAR_QUALITY,
	    &jpg, &jlen) == -1)
		return -1;
	b64 = util_b64_encode(jpg, jlen, &blen);
	snprintf(ori, sizeof ori, "%s0000000", member);
	memset(&d, 0, sizeof d);
	d.person.given = "ALEX";
	d.person.surname = "SAMPLE";
	d.person.dob = "1980-02-29";
	d.person.sex = "M";
	d.person.oln = "B1234567";
	d.person.olstate = member;
	d.photo_b64 = b64;
	d.photo_b64len = blen;
	d.photo_bytes = jlen;
	d.lic_class = "C";
	d.lic_status = "VALID";
	ubuf_init(&u);
	msgbuild_begin(&u, MSG_KEY_DR, ori, &dest, 1, "0000000000");
	msgbuild_driver(&u, &d);
	msgbuild_end(&u, MSG_KEY_DR);
	free(b64);
	free(jpg);
	t->msg = ubuf_take(&u, &t->msglen);
	if ((p = strstr(t->msg, "0000000000<")) == NULL)
		return -1;
	t->ctl_off = (size_t)(p - t->msg);
	if ((p = strstr(t->msg, ">BN0000000<")) == NULL)
		return -1;
	t->dest_off = (size_t)(p + 1 - t->msg);
	return 0;
}

/*
 * -f: the file's message, its control field's content replaced by the
 * 10-character slot.
 */
static int
bench_template_file(struct bench *b, struct bench_conn *t)
{
	static const char	 open_el[] = "DocumentControlFieldText>";
	char			*text, *p, *q, *s;
	size_t			 len;

	if ((text = util_read_file(b->file, &len)) == NULL) {
		fprintf(stderr, "nlbench: %s: %s\n", b->file, strerror(errno));
		return -1;
	}
	if ((p = strstr(text, open_el)) == NULL ||
	    (q = strstr(p, "</")) == NULL) {
		fprintf(stderr, "nlbench: %s: no nh2:DocumentControlFieldText "
		    "to put the sequence number in\n", b->file);
		free(text);
		return -1;
	}
	p += sizeof open_el - 1;
	t->msglen = (size_t)(p - text) + BENCH_CTL_LEN + (len - (size_t)(q -
	    text));
	s = t->msg = xmalloc(t->msglen + 1);
	memcpy(s, text, (size_t)(p - text));
	t->ctl_off = (size_t)(p - text);
	memset(s + t->ctl_off, '0', BENCH_CTL_LEN);
	memcpy(s + t->ctl_off + BENCH_CTL_LEN, q, len - (size_t)(q - text));
	s[t->msglen] = '\0';
	b->bytes = t->msglen;
	free(text);
	return 0;
}

/* The length of "</n2:MailMessageText>", where the comment goes after. */
#define BENCH_TAIL_EL	21

/* The AM sender conn sends, BYTES long, with a 10-character CTL slot. */
static int
bench_template(struct bench *b, struct bench_conn *t, int i)
{
	static const char pattern[] =
	    "NLBENCH ADMINISTRATIVE MESSAGE PADDING TEXT 0123456789 ABCDEFGHIJ";
	char		 ori[16], member[3], cn[24], code[24];
	char		*head = NULL, *tail;
	size_t		 hl, tl, pad, text, comment, k, o;
	int		 n;

	bench_rx_names(b->nrx, (i - 1) % b->nrx, cn, sizeof cn, code,
	    sizeof code, member);
	snprintf(ori, sizeof ori, "BN%07d", i);
	n = asprintf(&head,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\"\n"
	    "    xmlns:nh2=\"" MSG_NS_NH2 "\" n2:version=\"" MSG_VERSION
	    "\">\n"
	    "  <n2:NLETSMessageHeader>\n"
	    "    <nh2:MessageKeyCodeText>AM</nh2:MessageKeyCodeText>\n"
	    "    <nh2:OriginatingORIID>%s</nh2:OriginatingORIID>\n"
	    "    <nh2:DestinationORIID>%s</nh2:DestinationORIID>\n"
	    "    <nh2:DocumentControlFieldText>0000000000"
	    "</nh2:DocumentControlFieldText>\n"
	    "  </n2:NLETSMessageHeader>\n"
	    "  <n2:NLETSMailData n2:key=\"AM\">\n"
	    "    <n2:MailMessageText>", ori, member);
	if (n < 0)
		return -1;
	tail = "</n2:MailMessageText>\n"
	    "  </n2:NLETSMailData>\n"
	    "</n2:NLETS>\n";
	hl = (size_t)n;
	tl = strlen(tail);
	if (b->bytes < hl + tl + 1) {
		fprintf(stderr, "nlbench: -b must be at least %zu\n",
		    hl + tl + 1);
		free(head);
		return -1;
	}
	pad = b->bytes - hl - tl;
	text = pad;
	comment = 0;
	if (pad > BENCH_TEXT_MAX) {
		comment = pad - BENCH_TEXT_MAX < 8 ? 8 : pad - BENCH_TEXT_MAX;
		text = pad - comment;
	}
	t->msglen = b->bytes;
	t->msg = xmalloc(t->msglen + 1);
	memcpy(t->msg, head, hl);
	t->ctl_off = (size_t)(strstr(head, "0000000000<") - head);
	o = hl;
	/* Lines of printable text (no markup characters). */
	for (k = 0; k < text; k++)
		t->msg[o++] = (k % 72 == 71) ? '\n' :
		    pattern[k % 72 % (sizeof pattern - 1)];
	memcpy(t->msg + o, tail, BENCH_TAIL_EL);	/* "</n2:MailMessageText>" */
	o += BENCH_TAIL_EL;
	if (comment > 0) {
		memcpy(t->msg + o, "<!--", 4);
		for (k = 4; k < comment - 3; k++)
			t->msg[o + k] = (k % 72 == 71) ? '\n' :
			    pattern[k % 72 % (sizeof pattern - 1)];
		memcpy(t->msg + o + comment - 3, "-->", 3);
		o += comment;
	}
	memcpy(t->msg + o, tail + BENCH_TAIL_EL, tl - BENCH_TAIL_EL);
	o += tl - BENCH_TAIL_EL;
	t->msg[o] = '\0';
	free(head);
	if (o != b->bytes) {
		fprintf(stderr, "nlbench: template is %zu bytes, not %zu\n", o,
		    b->bytes);
		return -1;
	}
	return 0;
}

static void
bench_send(struct bench_conn *t)
{
	struct bench		*b = t->b;
	struct bench_slot	*s;
	uint64_t		 seq = ++b->seq, tag, now;
	static const char	 hex[] = "0123456789abcdef";
	int			 i;

	/* -E: the next record's DQ (only its head, up to the CTL, is
	 * written to; the tails sent by reference stay as they are). */
	if (b->nlstate) {
		t->msg = t->dqs[t->dq_next];
		t->dq_next = (t->dq_next + 1) % BENCH_STATE_RECS;
	}
	for (i = 0; i < BENCH_CTL_LEN; i++)
		t->msg[t->ctl_off + i] =
		    hex[(seq >> (4 * (BENCH_CTL_LEN - 1 - i))) & 0xf];
	now = util_mono_us();
	/* Up to the CTL copied, the rest (constant) by reference. */
	if ((tag = client_send_ref(t->c, t->msg, t->ctl_off + BENCH_CTL_LEN,
	    t->msg + t->ctl_off + BENCH_CTL_LEN,
	    t->msglen - t->ctl_off - BENCH_CTL_LEN)) == 0)
		return;
	s = &t->ring[tag & t->ringmask];
	s->key = tag;
	s->t = now;
	s = &b->sendt[seq & (BENCH_SENDT_SLOTS - 1)];
	s->key = seq;
	s->t = now;
	t->inflight++;
	t->sent++;
}

static void
bench_fill(struct bench_conn *t)
{
	while (t->b->phase == BENCH_PH_WARMUP ||
	    t->b->phase == BENCH_PH_MEASURE) {
		if (t->inflight >= t->b->window || !t->up)
			return;
		if (t->b->rate > 0) {
			if (t->credit < 1)
				return;
			t->credit -= 1;
		}
		bench_send(t);
	}
}

/* -R: every millisecond, each sender gets the sends due since the last
 * pass, at most 20 ms worth (see the top of the file). */
static void
bench_pace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;
	uint64_t	 now = util_mono_us();
	double		 add, cap = b->rate * 0.02;
	int		 i;

	if (cap < 1)
		cap = 1;
	add = b->rate * (double)(now - b->t_pace) / 1e6;
	if (b->phase == BENCH_PH_MEASURE)
		benchstat_hist_add(&b->h_pace, now - b->t_pace);
	b->t_pace = now;
	for (i = 0; i < b->nconn; i++) {
		struct bench_conn *t = &b->tx[i];

		t->credit += add;
		if (t->credit > cap)
			t->credit = cap;
		bench_fill(t);
	}
}

/* -I: one line per interval, from the warm-up on. */
static void
bench_ival_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;
	uint64_t	 now = util_mono_us(), wall = util_now_us();
	double		 dt = (double)(now - b->i_t0) / 1e6;

	if (b->phase == BENCH_PH_WARMUP || b->phase == BENCH_PH_MEASURE) {
		if (dt <= 0)
			dt = 1e-6;
		printf("nlbench: interval t=%llu.%03llu acked=%llu "
		    "rate=%.0f/s dlv=%.0f/s ack-max=%.1fms\n",
		    (unsigned long long)(wall / 1000000),
		    (unsigned long long)(wall / 1000 % 1000),
		    (unsigned long long)b->i_acked, (double)b->i_acked / dt,
		    (double)b->i_dlv / dt, (double)b->i_ackmax / 1e3);
		fflush(stdout);
	}
	b->i_t0 = now;
	b->i_acked = b->i_dlv = b->i_ackmax = 0;
}

/*
 * -E: the states' processes.
 */

/* The nlstate to run: $NLBENCH_NLSTATE, else the one next to nlbench. */
static const char *
bench_state_path(void)
{
	static char	 path[PATH_MAX];
	const char	*env = getenv("NLBENCH_NLSTATE");
	char		*slash;
	ssize_t		 n;

	if (env != NULL && *env != '\0')
		return env;
	if ((n = readlink("/proc/self/exe", path, sizeof path - 16)) <= 0)
		return "nlstate";
	path[n] = '\0';
	if ((slash = strrchr(path, '/')) == NULL)
		return "nlstate";
	strcpy(slash + 1, "nlstate");
	return path;
}

/* One line nlstate printed: up, its exit counts, or something to show. */
static void
bench_state_line(struct bench_state *s, const char *line)
{
	const char		*p;
	unsigned long long	 v;

	if (strstr(line, ": connected ") != NULL)
		s->up = 1;
	else if ((p = strstr(line, "stopping, answered ")) != NULL) {
		if (sscanf(p, "stopping, answered %llu", &v) == 1)
			s->answered = v;
		if ((p = strstr(line, "portraits-drawn ")) != NULL &&
		    sscanf(p, "portraits-drawn %llu", &v) == 1)
			s->drawn = v;
	} else if (strstr(line, ": portraits drawn ") == NULL ||
	    !s->b->quiet)
		fprintf(stderr, "nlbench: %s\n", line);
}

/*
 * Read what an nlstate printed (non-blocking), line by line. At EOF its
 * stdout is closed: before nlbench stopped it, that is a failure.
 */
static void
bench_state_read(struct bench_state *s)
{
	char	*nl;
	ssize_t	 n;

	while (s->fd != -1) {
		n = read(s->fd, s->buf + s->len, sizeof s->buf - 1 - s->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return;
		if (n <= 0) {
			if (!s->stopping) {
				fprintf(stderr, "nlbench: nlstate %s (pid %d) "
				    "exited early\n", s->member, (int)s->pid);
				s->b->failed = 1;
			}
			event_del(s->ev);
			close(s->fd);
			s->fd = -1;
			return;
		}
		s->len += (size_t)n;
		s->buf[s->len] = '\0';
		while ((nl = strchr(s->buf, '\n')) != NULL) {
			*nl = '\0';
			bench_state_line(s, s->buf);
			s->len -= (size_t)(nl + 1 - s->buf);
			memmove(s->buf, nl + 1, s->len + 1);
		}
		if (s->len == sizeof s->buf - 1)	/* a line too long */
			s->len = 0;
	}
}

static void
bench_state_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench_state *s = arg;

	(void)fd;
	(void)what;
	bench_state_read(s);
}

/*
 * Start receiver j's nlstate: its state, certificate and the switch's
 * address, its stdout a pipe read in the loop. 0, or -1.
 */
static int
bench_state_start(struct bench *b, struct bench_state *s, int j)
{
	char		 cn[24], code[24];
	const char	*path = bench_state_path();
	pid_t		 parent;
	int		 fds[2];

	s->b = b;
	s->fd = -1;
	bench_rx_names(b->nrx, j, cn, sizeof cn, code, sizeof code,
	    s->member);
	if (pipe2(fds, O_CLOEXEC) == -1) {
		fprintf(stderr, "nlbench: pipe: %s\n", strerror(errno));
		return -1;
	}
	fflush(NULL);
	parent = getpid();
	if ((s->pid = fork()) == -1) {
		fprintf(stderr, "nlbench: fork: %s\n", strerror(errno));
		s->pid = 0;
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (s->pid == 0) {
		/* An nlbench that dies without stopping it (SIGKILL, a
		 * crash) takes it along: no nlstate outlives its bench. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 ||
		    getppid() != parent)
			_exit(127);
		/* dup2 clears close-on-exec on the copy. */
		if (dup2(fds[1], STDOUT_FILENO) == -1)
			_exit(127);
		execl(path, "nlstate", "-q", "-D", "-s", s->member, "-k",
		    b->pki, "-l", cn, "-H", b->host, "-p", b->port, "-n",
		    BENCH_STATE_NREC, (char *)NULL);
		fprintf(stderr, "nlbench: %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	s->fd = fds[0];
	if (evutil_make_socket_nonblocking(s->fd) == -1 ||
	    (s->ev = event_new(b->base, s->fd, EV_READ | EV_PERSIST,
	    bench_state_read_cb, s)) == NULL || event_add(s->ev, NULL) == -1) {
		fprintf(stderr, "nlbench: nlstate %s: cannot watch its "
		    "output\n", s->member);
		return -1;
	}
	return 0;
}

/* Every receiver's nlstate started; -1 (and b->failed) if one was not. */
static int
bench_states_start(struct bench *b)
{
	int	 j;

	for (j = 0; j < b->nrx; j++)
		if (bench_state_start(b, &b->states[j], j) == -1) {
			b->failed = 1;
			return -1;
		}
	return 0;
}

static int
bench_states_up(struct bench *b)
{
	int	 j;

	for (j = 0; j < b->nrx; j++)
		if (!b->states[j].up)
			return 0;
	return 1;
}

/* The nlstates' CPU now: their samples at one end of the window. */
static void
bench_states_sample(struct bench *b, int end)
{
	struct bench_state	*s;
	int			 j;

	for (j = 0; b->nlstate && j < b->nrx; j++) {
		s = &b->states[j];
		benchstat_cpu_sample(s->pid, end ? &s->cpu1 : &s->cpu0);
	}
}

/*
 * Stop every nlstate by its pid: SIGTERM, its output read to the end (its
 * exit line has its counts), reaped; SIGKILL for one still there after
 * BENCH_STATE_STOP_S.
 */
static void
bench_states_stop(struct bench *b)
{
	struct bench_state	*s;
	struct pollfd		 pfd;
	uint64_t		 deadline;
	pid_t			 r = -1;
	int			 j;

	for (j = 0; j < b->nrx; j++) {
		s = &b->states[j];
		s->stopping = 1;
		if (s->pid > 0)
			kill(s->pid, SIGTERM);
	}
	deadline = util_mono_us() + BENCH_STATE_STOP_S * 1000000ull;
	for (j = 0; j < b->nrx; j++) {
		s = &b->states[j];
		while (s->fd != -1 && util_mono_us() < deadline) {
			pfd.fd = s->fd;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, 100) > 0)
				bench_state_read(s);
		}
		while (s->pid > 0 && (r = waitpid(s->pid, &s->status,
		    WNOHANG)) == 0 && util_mono_us() < deadline)
			usleep(10000);
		if (s->pid > 0 && r == 0) {
			fprintf(stderr, "nlbench: nlstate %s (pid %d) still "
			    "there after %d s: killed\n", s->member,
			    (int)s->pid, BENCH_STATE_STOP_S);
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &s->status, 0);
			s->killed = 1;
		}
		s->pid = 0;
		if (s->fd != -1) {
			event_del(s->ev);
			close(s->fd);
			s->fd = -1;
		}
	}
}

/*
 * Phases.
 */

static void
bench_arm(struct bench *b, double seconds)
{
	struct timeval tv;

	tv.tv_sec = (time_t)seconds;
	tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
	evtimer_add(b->ev_phase, &tv);
}

static void
bench_measure_begin(struct bench *b)
{
	b->phase = BENCH_PH_MEASURE;
	b->m_acked = b->m_naks = b->m_dlv = b->m_sm = b->m_unmatched = 0;
	b->m_photo = 0;
	memset(&b->h_ack, 0, sizeof b->h_ack);
	memset(&b->h_e2e, 0, sizeof b->h_e2e);
	memset(&b->h_pace, 0, sizeof b->h_pace);
	bench_states_sample(b, 0);
	benchstat_cpu_sample(b->swpid, &b->cpu0);
	b->t_meas = b->cpu0.wall_us;
	if (b->nmsg == 0)
		bench_arm(b, b->duration);
}

static void
bench_measure_end(struct bench *b)
{
	benchstat_cpu_sample(b->swpid, &b->cpu1);
	bench_states_sample(b, 1);
	b->t_end = b->cpu1.wall_us;
	b->phase = BENCH_PH_DRAIN;
	b->deadline = b->t_end + BENCH_DRAIN_S * 1000000ull;
	evtimer_del(b->ev_phase);
}

static void
bench_start(struct bench *b)
{
	struct timeval	 tv;
	int		 i;

	benchstat_series_init(&b->series, util_mono_us(), BENCHSTAT_STEP_US);
	if (b->rate > 0) {
		tv.tv_sec = 0;
		tv.tv_usec = 1000;
		b->t_pace = util_mono_us();
		event_add(b->ev_pace, &tv);
	}
	if (b->interval > 0) {
		tv.tv_sec = (time_t)b->interval;
		tv.tv_usec = (suseconds_t)((b->interval -
		    (double)tv.tv_sec) * 1e6);
		b->i_t0 = util_mono_us();
		event_add(b->ev_ival, &tv);
	}
	if (b->warmup > 0) {
		b->phase = BENCH_PH_WARMUP;
		bench_arm(b, b->warmup);
	} else
		bench_measure_begin(b);
	for (i = 0; i < b->nconn; i++)
		bench_fill(&b->tx[i]);
}

static void
bench_phase_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	if (b->phase == BENCH_PH_WARMUP)
		bench_measure_begin(b);
	else if (b->phase == BENCH_PH_MEASURE)
		bench_measure_end(b);
}

static int
bench_all_up(struct bench_conn *v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!v[i].up)
			return 0;
	return 1;
}

static void
bench_connect(struct bench *b, struct bench_conn *v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (client_connect(v[i].c) == -1) {
			fprintf(stderr, "nlbench: %s: cannot connect\n",
			    v[i].name);
			b->failed = 1;
		}
}

static void
bench_done(struct bench *b)
{
	b->phase = BENCH_PH_DONE;
	event_base_loopbreak(b->base);
}

/* SIGTERM, SIGINT: the run fails, and ends as any run does (-E: the
 * nlstates are stopped). */
static void
bench_signal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;

	(void)what;
	fprintf(stderr, "nlbench: signal %d: stopping\n", (int)fd);
	b->failed = 1;
	bench_done(b);
}

static void
bench_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bench	*b = arg;
	uint64_t	 now = util_mono_us();
	int		 i, busy = 0;

	if (b->failed) {
		bench_done(b);
		return;
	}
	switch (b->phase) {
	case BENCH_PH_CONNECT_RX:
		if (b->nlstate ? bench_states_up(b) :
		    bench_all_up(b->rx, b->nrx)) {
			b->phase = BENCH_PH_CONNECT_TX;
			bench_connect(b, b->tx, b->nconn);
		}
		break;
	case BENCH_PH_CONNECT_TX:
		if (bench_all_up(b->tx, b->nconn))
			bench_start(b);
		break;
	case BENCH_PH_DRAIN:
		for (i = 0; i < b->nconn; i++)
			busy += b->tx[i].inflight;
		if ((busy == 0 && b->dlv >= b->acked) || now >= b->deadline) {
			if (busy > 0 || b->dlv < b->acked)
				fprintf(stderr, "nlbench: drain timeout: "
				    "unacked=%d undelivered=%llu\n", busy,
				    (unsigned long long)(b->acked - b->dlv));
			bench_done(b);
		}
		return;
	default:
		return;
	}
	if (b->phase <= BENCH_PH_CONNECT_TX && now >= b->deadline) {
		fprintf(stderr, "nlbench: connections not up after %d s\n",
		    BENCH_CONNECT_S);
		b->failed = 1;
		bench_done(b);
	}
}

/*
 * Client callbacks.
 */

static void
bench_hello_cb(struct client *c, const char *text, void *arg)
{
	struct bench_conn	*t = arg;
	const char		*p;

	t->up = 1;
	if (!t->rx && (p = strstr(text, "window=")) != NULL &&
	    atoi(p + 7) < t->b->window && !t->b->quiet)
		fprintf(stderr, "nlbench: %s: switch window %d < -w %d\n",
		    t->name, atoi(p + 7), t->b->window);
}

static void
bench_complete(struct bench_conn *t, uint64_t tag, int ok)
{
	struct bench		*b = t->b;
	struct bench_slot	*s = &t->ring[tag & t->ringmask];

	/* -T: a DQ stays in the window until its DR is in. */
	if (!b->rt || !ok)
		t->inflight--;
	if (ok) {
		t->acked++;
		b->acked++;
		b->i_acked++;
		if (b->series_path != NULL)
			benchstat_series_add(&b->series, util_mono_us(), 1, 0);
		if (s->key == tag && util_mono_us() - s->t > b->i_ackmax)
			b->i_ackmax = util_mono_us() - s->t;
	} else {
		t->naks++;
		b->naks++;
	}
	if (b->phase == BENCH_PH_MEASURE) {
		if (ok)
			b->m_acked++;
		else
			b->m_naks++;
		if (ok && s->key == tag)
			benchstat_hist_add(&b->h_ack, util_mono_us() - s->t);
		if (b->nmsg > 0 && b->m_acked >= b->nmsg)
			bench_measure_end(b);
	}
	bench_fill(t);
}

static void
bench_ack_cb(struct client *c, uint64_t tag, const char *msgid, void *arg)
{
	struct bench_conn *t = arg;

	if (t->rx) {		/* -T: a DR the receiver sent */
		t->answered++;
		return;
	}
	bench_complete(t, tag, 1);
}

static void
bench_nak_cb(struct client *c, uint64_t tag, const char *er, size_t len,
    void *arg)
{
	struct bench_conn *t = arg;

	if (!t->b->nak_shown) {
		t->b->nak_shown = 1;
		fprintf(stderr, "nlbench: %s: first NAK: %.*s\n", t->name,
		    (int)(len > 400 ? 400 : len), er);
	}
	if (t->rx) {
		t->naks++;
		t->b->naks++;
		return;
	}
	bench_complete(t, tag, 0);
}

/*
 * -T: the receiver answers a DQ delivered to it: its DR to the DQ's
 * originating ORI with the DQ's control field.
 */
static void
bench_rt_answer(struct bench_conn *t, const char *xml, size_t len)
{
	char	key[8], ori[MSG_ORI_LEN + 2], ctl[BENCH_CTL_LEN + 2];

	if (strcmp(xscan_text(xml, len, "MessageKeyCodeText", key,
	    sizeof key), "DQ") != 0 ||
	    strlen(xscan_text(xml, len, "OriginatingORIID", ori,
	    sizeof ori)) != MSG_ORI_LEN ||
	    strlen(xscan_text(xml, len, "DocumentControlFieldText", ctl,
	    sizeof ctl)) != BENCH_CTL_LEN)
		return;
	memcpy(t->msg + t->dest_off, ori, MSG_ORI_LEN);
	memcpy(t->msg + t->ctl_off, ctl, BENCH_CTL_LEN);
	client_send(t->c, t->msg, t->msglen);
}

static void
bench_deliver_cb(struct client *c, uint64_t msgid, uint16_t copy,
    const char *xml, size_t len, void *arg)
{
	struct bench_conn	*t = arg;
	struct bench		*b = t->b;
	struct bench_slot	*s;
	char			 p[BENCH_CTL_LEN + 2];
	uint64_t		 seq = 0;
	size_t			 lim = len < BENCH_PEEK ? len : BENCH_PEEK;
	char			 key[8];
	int			 i, ok = 1;

	if (b->rt && t->rx) {
		bench_rt_answer(t, xml, lim);
		client_dack(c, msgid, copy);
		return;
	}
	client_dack(c, msgid, copy);
	if (!t->rx && (!b->rt || strcmp(xscan_text(xml, lim,
	    "MessageKeyCodeText", key, sizeof key), "DR") != 0)) {
		/* An SM back to a sender (e.g. receiver not connected). */
		if (b->phase == BENCH_PH_MEASURE)
			b->m_sm++;
		return;
	}
	if (b->rt && !t->rx && t->inflight > 0) {
		/* The round trip is over: room in the window. */
		t->inflight--;
		bench_fill(t);
	}
	t->dlv++;
	b->dlv++;
	b->i_dlv++;
	if (b->series_path != NULL)
		benchstat_series_add(&b->series, util_mono_us(), 0, 1);
	if (b->phase != BENCH_PH_MEASURE)
		return;
	b->m_dlv++;
	/* The photo comes first in the driver (msgbuild_driver): within
	 * the peek. */
	if (b->rt && memmem(xml, lim, "<nc:BinaryBase64Object>", 23) != NULL)
		b->m_photo++;
	if (strlen(xscan_text(xml, lim, "DocumentControlFieldText", p,
	    sizeof p)) != BENCH_CTL_LEN) {
		b->m_unmatched++;
		return;
	}
	for (i = 0; i < BENCH_CTL_LEN; i++) {
		int ch = (unsigned char)p[i], v;

		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else {
			ok = 0;
			break;
		}
		seq = (seq << 4) | (uint64_t)v;
	}
	s = &b->sendt[seq & (BENCH_SENDT_SLOTS - 1)];
	if (!ok || seq == 0 || s->key != seq) {
		b->m_unmatched++;
		return;
	}
	benchstat_hist_add(&b->h_e2e, util_mono_us() - s->t);
}

static void
bench_closed_cb(struct client *c, const char *why, void *arg)
{
	struct bench_conn *t = arg;

	t->up = 0;
	t->closed = 1;
	if (t->b->phase != BENCH_PH_DONE) {
		fprintf(stderr, "nlbench: %s: connection closed: %s\n",
		    t->name, why);
		t->b->failed = 1;
	}
}

/*
 * Set-up and report.
 */

static int
bench_conn_init(struct bench *b, struct bench_conn *t, const char *name,
    int rx)
{
	char	 ca[512], cert[512], key[512], *cause = NULL;
	size_t	 ring = 256;

	t->b = b;
	t->rx = rx;
	util_strlcpy(t->name, name, sizeof t->name);
	snprintf(ca, sizeof ca, "%s/ca.pem", b->pki);
	snprintf(cert, sizeof cert, "%s/%s.pem", b->pki, name);
	snprintf(key, sizeof key, "%s/%s.key", b->pki, name);
	if ((t->ssl = tls_client_ctx(ca, cert, key, &cause)) == NULL) {
		fprintf(stderr, "nlbench: %s: %s\n", name, cause);
		free(cause);
		return -1;
	}
	if ((t->c = client_new(b->base, t->ssl, b->host, b->port, &bench_cb,
	    t)) == NULL)
		return -1;
	/* Only the CTL near the start of a delivery is read (see
	 * bench_deliver_cb): the rest is not copied out. */
	client_set_peek(t->c, BENCH_PEEK);
	if (!rx) {
		while (ring < 4 * (size_t)b->window)
			ring *= 2;
		t->ring = xcalloc(ring, sizeof *t->ring);
		t->ringmask = ring - 1;
	}
	return 0;
}

/* --series and --hist: the plot data files (benchstat.h), if asked. */
static void
bench_plot_data(struct bench *b)
{
	char	*cause = NULL;

	if ((b->series_path != NULL && benchstat_write_series(b->series_path,
	    &b->series, b->t_meas, b->t_end, &cause) == -1) ||
	    (b->hist_path != NULL && benchstat_write_hist(b->hist_path,
	    &b->h_ack, &b->h_e2e, &cause) == -1)) {
		fprintf(stderr, "nlbench: %s\n", cause);
		free(cause);
	}
}

/* -E: what the nlstates did, all of them. */
struct bench_states_total {
	int		 stopped;	/* reaped (SIGTERM or SIGKILL) */
	int		 killed;	/* SIGKILL needed */
	uint64_t	 answered;	/* their exit lines' */
	uint64_t	 drawn;
	double		 cpu_pct;	/* measured window, all of them */
	double		 max_pct;	/* the busiest one */
	double		 us_per_dr;	/* their CPU per DR delivered */
};

static void
bench_states_sum(struct bench *b, struct bench_states_total *st)
{
	struct bench_state	*s;
	double			 win = (double)(b->t_end - b->t_meas), pct;
	uint64_t		 us = 0;
	int			 j;

	memset(st, 0, sizeof *st);
	for (j = 0; j < b->nrx; j++) {
		s = &b->states[j];
		/* Reaped: pid 0 and a status; killed ones count too. */
		st->stopped += s->b != NULL && s->pid == 0 && s->fd == -1 &&
		    (WIFEXITED(s->status) || WIFSIGNALED(s->status));
		st->killed += s->killed;
		st->answered += s->answered;
		st->drawn += s->drawn;
		us += s->cpu1.other_us - s->cpu0.other_us;
		pct = win > 0 ? 100.0 * (double)(s->cpu1.other_us -
		    s->cpu0.other_us) / win : 0;
		if (pct > st->max_pct)
			st->max_pct = pct;
	}
	st->cpu_pct = win > 0 ? 100.0 * (double)us / win : 0;
	st->us_per_dr = b->m_dlv > 0 ? (double)us / (double)b->m_dlv : 0;
}

static void
bench_report(struct bench *b)
{
	double		 dt = (double)(b->t_end - b->t_meas) / 1e6;
	double		 rate, dlvrate, mbs, self, sw = 0, swmax = 0;
	uint64_t	 a50, a99, a999, e50, e99;
	FILE		*f;
	json_t		*doc;
	char		 swbuf[64] = "";
	struct bench_states_total st;

	if (dt <= 0)
		dt = 1e-6;
	rate = (double)b->m_acked / dt;
	dlvrate = (double)b->m_dlv / dt;
	mbs = rate * (double)b->bytes / 1e6;
	self = 100.0 * (double)(b->cpu1.self_us - b->cpu0.self_us) /
	    (double)(b->t_end - b->t_meas);
	if (b->swpid > 0) {
		sw = 100.0 * (double)(b->cpu1.other_us - b->cpu0.other_us) /
		    (double)(b->t_end - b->t_meas);
		swmax = 100.0 * (double)benchstat_cpu_max_thread(&b->cpu0, &b->cpu1) /
		    (double)(b->t_end - b->t_meas);
		snprintf(swbuf, sizeof swbuf, " switch-cpu=%.0f%%(max-thread "
		    "%.0f%%)", sw, swmax);
	}
	a50 = benchstat_hist_q(&b->h_ack, 0.50);
	a99 = benchstat_hist_q(&b->h_ack, 0.99);
	a999 = benchstat_hist_q(&b->h_ack, 0.999);
	e50 = benchstat_hist_q(&b->h_e2e, 0.50);
	e99 = benchstat_hist_q(&b->h_e2e, 0.99);

	if (b->nlstate)
		bench_states_sum(b, &st);
	printf("nlbench: conns=%d rx=%d bytes=%zu window=%d time=%.2fs "
	    "acked=%llu rate=%.0f/s (%.1f MB/s) naks=%llu dlv=%.0f/s "
	    "ack-lat p50=%.3fms p99=%.3fms p99.9=%.3fms "
	    "e2e-lat p50=%.3fms p99=%.3fms cpu=%.0f%%%s\n",
	    b->nconn, b->nrx, b->bytes, b->window, dt,
	    (unsigned long long)b->m_acked, rate, mbs,
	    (unsigned long long)b->m_naks, dlvrate, a50 / 1e3, a99 / 1e3,
	    a999 / 1e3, e50 / 1e3, e99 / 1e3, self, swbuf);
	if (b->nlstate)
		printf("nlbench: states=nlstate procs=%d stopped=%d killed=%d "
		    "answered=%llu photos=%llu/%llu state-cpu=%.0f%% "
		    "(max-proc %.0f%%) state-us/DR=%.1f\n", b->nrx,
		    st.stopped, st.killed, (unsigned long long)st.answered,
		    (unsigned long long)b->m_photo,
		    (unsigned long long)b->m_dlv, st.cpu_pct, st.max_pct,
		    st.us_per_dr);
	if (b->rate > 0 && benchstat_hist_q(&b->h_pace, 0.50) >
	    BENCH_PACE_WARN_US)
		fprintf(stderr, "nlbench: pacing: a pass every %.1f ms (median), "
		    "not every 1 ms: the sends went in bursts\n",
		    (double)benchstat_hist_q(&b->h_pace, 0.50) / 1e3);
	bench_plot_data(b);
	if (b->json == NULL)
		return;
	if (strcmp(b->json, "-") == 0)
		f = stdout;
	else if ((f = fopen(b->json, "w")) == NULL) {
		fprintf(stderr, "nlbench: %s: %s\n", b->json, strerror(errno));
		return;
	}
	doc = json_object();
	jsonutil_set_int(doc, "conns", b->nconn);
	jsonutil_set_int(doc, "receivers", b->nrx);
	jsonutil_set_int(doc, "bytes", (json_int_t)b->bytes);
	jsonutil_set_int(doc, "window", b->window);
	if (b->rt) {
		jsonutil_set_str(doc, "mode", "roundtrip");
		jsonutil_set_str(doc, "states", b->nlstate ? "nlstate" :
		    "nlbench");
		jsonutil_set_int(doc, "photos", (json_int_t)b->m_photo);
	}
	if (b->rt && !b->nlstate)
		jsonutil_set_int(doc, "dr_bytes", (json_int_t)b->rx[0].msglen);
	if (b->nlstate) {
		jsonutil_set_int(doc, "state_procs", b->nrx);
		jsonutil_set_int(doc, "state_stopped", st.stopped);
		jsonutil_set_int(doc, "state_killed", st.killed);
		jsonutil_set_int(doc, "state_answered",
		    (json_int_t)st.answered);
		jsonutil_set_int(doc, "state_drawn", (json_int_t)st.drawn);
		jsonutil_set_real(doc, "state_cpu_pct", st.cpu_pct, 1);
		jsonutil_set_real(doc, "state_proc_max_pct", st.max_pct, 1);
		jsonutil_set_real(doc, "state_us_per_dr", st.us_per_dr, 1);
	}
	jsonutil_set_real(doc, "warmup_s", b->warmup, 3);
	jsonutil_set_real(doc, "duration_s", dt, 3);
	jsonutil_set_int(doc, "acked", (json_int_t)b->m_acked);
	jsonutil_set_int(doc, "naks", (json_int_t)b->m_naks);
	jsonutil_set_int(doc, "delivered", (json_int_t)b->m_dlv);
	jsonutil_set_int(doc, "sm", (json_int_t)b->m_sm);
	jsonutil_set_int(doc, "unmatched", (json_int_t)b->m_unmatched);
	jsonutil_set_real(doc, "acked_per_s", rate, 1);
	jsonutil_set_real(doc, "delivered_per_s", dlvrate, 1);
	jsonutil_set_real(doc, "mb_per_s", mbs, 2);
	jsonutil_set(doc, "ack_us", benchstat_hist_json(&b->h_ack));
	jsonutil_set(doc, "e2e_us", benchstat_hist_json(&b->h_e2e));
	if (b->rate > 0)
		jsonutil_set(doc, "pace_us", benchstat_hist_json(&b->h_pace));
	jsonutil_set_real(doc, "cpu_pct", self, 1);
	jsonutil_set_real(doc, "switch_cpu_pct", sw, 1);
	jsonutil_set_real(doc, "switch_thread_max_pct", swmax, 1);
	/* One line: tools/bench reads the fields with sed. */
	if (jsonutil_write(doc, JSONUTIL_COMPACT, f) == -1)
		fprintf(stderr, "nlbench: %s: %s\n", b->json, strerror(errno));
	json_decref(doc);
	if (f != stdout)
		fclose(f);
}

/* The number S, between LO and HI; anything else is a usage error. */
static long long
bench_count(const char *s, long long lo, long long hi)
{
	char		*end;
	long long	 v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage(2);
	return v;
}

static double
bench_seconds(const char *s)
{
	char	*end;
	double	 v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 86400)
		usage(2);
	return v;
}

/* One option of the command line; usage() on a bad one. */
static void
bench_option(struct bench *b, int ch, const char *arg)
{
	switch (ch) {
	case 'b':
		b->bytes = (size_t)bench_count(arg, 1, 64 << 20);
		break;
	case 'c':
		b->nconn = (int)bench_count(arg, 1, BENCH_MAXCONN);
		break;
	case 'd':
		b->duration = bench_seconds(arg);
		break;
	case 'H':
		b->host = arg;
		break;
	case 'I':
		b->interval = bench_seconds(arg);
		break;
	case 'j':
		b->json = arg;
		break;
	case 'k':
		b->pki = arg;
		break;
	case 'L':
		b->print_lines = 1;
		break;
	case 'N':
		b->print_names = 1;
		break;
	case 'n':
		b->nmsg = (uint64_t)bench_count(arg, 1, 1LL << 40);
		break;
	case 'P':
		b->portfile = arg;
		break;
	case 'p':
		b->swpid = (int)bench_count(arg, 1, 1 << 30);
		break;
	case 'q':
		b->quiet = 1;
		break;
	case 'R':
		b->rate = (double)bench_count(arg, 1, 10000000);
		break;
	case 'T':
		b->rt = 1;
		break;
	case 'E':
		b->rt = 1;
		b->nlstate = 1;
		break;
	case 'f':
		b->file = arg;
		break;
	case 'r':
		b->nrx = (int)bench_count(arg, 1, BENCH_MAXRX);
		break;
	case 'W':
		b->warmup = bench_seconds(arg);
		break;
	case 'w':
		b->window = (int)bench_count(arg, 1, 65536);
		break;
	case BENCH_OPT_SERIES:
		b->series_path = arg;
		break;
	case BENCH_OPT_HIST:
		b->hist_path = arg;
		break;
	case 'h':
		usage(0);
	case 'V':
		util_version_exit("nlbench");
	default:
		usage(2);
	}
}

/* The defaults, then the options of the command line; usage() on an error. */
static void
bench_options(struct bench *b, int argc, char **argv)
{
	static const struct option bench_longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "series",	required_argument, NULL, BENCH_OPT_SERIES },
		{ "hist",	required_argument, NULL, BENCH_OPT_HIST },
		{ "nlstate",	no_argument,	NULL, 'E' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	int	 ch;

	memset(b, 0, sizeof *b);
	b->host = "127.0.0.1";
	b->nconn = 4;
	b->bytes = 2048;
	b->duration = 10;
	b->window = 64;
	b->warmup = 2;
	while ((ch = getopt_long(argc, argv, "b:c:d:Ef:H:hI:j:k:LNn:P:p:qR:r:TW:w:",
	    bench_longopts, NULL)) != -1)
		bench_option(b, ch, optarg);
	if (optind != argc || (b->rt && b->file != NULL))
		usage(2);
	if (b->nrx == 0)
		b->nrx = b->nconn < BENCH_MAXRX ? b->nconn : BENCH_MAXRX;
}

/* Every receiver and sender connection set up (not yet connected). */
static int
bench_conns_init(struct bench *b)
{
	char	 cn[24], code[24], member[3], name[24];
	int	 i;

	for (i = 0; i < b->nrx; i++) {
		bench_rx_names(b->nrx, i, cn, sizeof cn, code, sizeof code,
		    member);
		/* -E: the nlstates play the receivers' lines. */
		if (b->nlstate)
			continue;
		if (bench_conn_init(b, &b->rx[i], cn, 1) == -1 ||
		    (b->rt && bench_template_dr(&b->rx[i], member) == -1))
			return -1;
	}
	for (i = 0; i < b->nconn; i++) {
		snprintf(name, sizeof name, "bench%d", i + 1);
		if (bench_conn_init(b, &b->tx[i], name, 0) == -1 ||
		    (b->nlstate ? bench_template_dqs(b, &b->tx[i], i + 1) :
		    b->rt ? bench_template_dq(b, &b->tx[i], i + 1) :
		    b->file != NULL ? bench_template_file(b, &b->tx[i]) :
		    bench_template(b, &b->tx[i], i + 1)) == -1)
			return -1;
	}
	return 0;
}

/*
 * The run: connect the receivers (the tick takes it on from there), loop
 * until done, report the measurement if there was one. 1 if it failed.
 */
static int
bench_run(struct bench *b)
{
	struct timeval	 tick = { 0, 20000 };
	struct event	*sigterm, *sigint;
	int		 status = 0;

	b->ev_tick = event_new(b->base, -1, EV_PERSIST, bench_tick_cb, b);
	b->ev_phase = evtimer_new(b->base, bench_phase_cb, b);
	b->ev_pace = event_new(b->base, -1, EV_PERSIST, bench_pace_cb, b);
	b->ev_ival = event_new(b->base, -1, EV_PERSIST, bench_ival_cb, b);
	sigterm = evsignal_new(b->base, SIGTERM, bench_signal_cb, b);
	sigint = evsignal_new(b->base, SIGINT, bench_signal_cb, b);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	event_add(b->ev_tick, &tick);
	b->deadline = util_mono_us() + BENCH_CONNECT_S * 1000000ull;
	b->phase = BENCH_PH_CONNECT_RX;
	/* Receivers first: a sender's AM to a line that is down would be
	 * held (and answered with an SM). -E: the nlstates, which connect
	 * once their portraits are drawn. */
	if (b->nlstate)
		bench_states_start(b);
	else
		bench_connect(b, b->rx, b->nrx);
	event_base_dispatch(b->base);
	/* The DQs are all answered (drained): the states can go. */
	if (b->nlstate)
		bench_states_stop(b);
	if (b->failed)
		status = 1;
	if (b->t_end > b->t_meas)
		bench_report(b);
	event_free(b->ev_tick);
	event_free(b->ev_phase);
	event_free(b->ev_pace);
	event_free(b->ev_ival);
	event_free(sigterm);
	event_free(sigint);
	return status;
}

/* The connections, their templates and rings, and the event base. */
static void
bench_free(struct bench *b)
{
	int	 i, k;

	for (i = 0; i < b->nconn; i++) {
		client_free(b->tx[i].c);
		SSL_CTX_free(b->tx[i].ssl);
		if (b->nlstate)
			for (k = 0; k < BENCH_STATE_RECS; k++)
				free(b->tx[i].dqs[k]);
		else
			free(b->tx[i].msg);
		free(b->tx[i].ring);
	}
	for (i = 0; i < b->nrx; i++) {
		client_free(b->rx[i].c);
		SSL_CTX_free(b->rx[i].ssl);
		free(b->rx[i].msg);		/* -T: its DR */
	}
	for (i = 0; b->states != NULL && i < b->nrx; i++)
		if (b->states[i].ev != NULL)
			event_free(b->states[i].ev);
	free(b->states);
	free(b->tx);
	free(b->rx);
	free(b->sendt);
	benchstat_series_free(&b->series);
	event_base_free(b->base);
}

int
main(int argc, char **argv)
{
	struct bench		 b;
	struct event_config	*ecfg = NULL;
	int			 status = 1, i;

	util_malloc_tune();
	bench_options(&b, argc, argv);
	if (b.print_lines || b.print_names) {
		if (b.print_lines)
			bench_print_lines(b.nconn, b.nrx);
		if (b.print_names)
			bench_print_names(b.nconn, b.nrx);
		return 0;
	}
	if (b.pki == NULL || b.portfile == NULL || (b.nmsg == 0 &&
	    b.duration <= 0))
		usage(2);

	/* A switch that goes away mid-write must not kill the report. */
	signal(SIGPIPE, SIG_IGN);
	if (client_read_portfile(b.portfile, 15000, b.port,
	    sizeof b.port) == -1) {
		fprintf(stderr, "nlbench: no port in %s\n", b.portfile);
		return 1;
	}
	/* The precise clock: -R's pacing (see the top of the file). */
	if ((ecfg = event_config_new()) == NULL ||
	    event_config_set_flag(ecfg, EVENT_BASE_FLAG_PRECISE_TIMER) != 0 ||
	    (b.base = event_base_new_with_config(ecfg)) == NULL) {
		fprintf(stderr, "nlbench: cannot make the event base\n");
		if (ecfg != NULL)
			event_config_free(ecfg);
		return 1;
	}
	event_config_free(ecfg);
	b.sendt = xcalloc(BENCH_SENDT_SLOTS, sizeof *b.sendt);
	b.tx = xcalloc((size_t)b.nconn, sizeof *b.tx);
	b.rx = xcalloc((size_t)b.nrx, sizeof *b.rx);
	if (b.nlstate) {
		b.states = xcalloc((size_t)b.nrx, sizeof *b.states);
		for (i = 0; i < b.nrx; i++)
			b.states[i].fd = -1;	/* none started yet */
	}
	if (bench_conns_init(&b) == -1)
		goto out;
	status = bench_run(&b);
out:
	bench_free(&b);
	return status;
}
