/*
 * nlreplay - replay a capture recorded at the switch (<record>,
 * docs/capture.md) against a running switch and compare every reply with
 * the recorded one.
 *
 *   nlreplay [-k PKIDIR] (-P PORTFILE | -p PORT) [-H HOST]
 *            [--max-sleep S | --speed N | --rate R] [--line L]...
 *            [--mke K]... [--ori O]... [--ignore XPATH]... [--timeout S]
 *            [--report json|junit FILE] [-q] CAPTURE...
 *   nlreplay --dump CAPTURE...        print every record
 *   nlreplay --help | --version
 *
 * Each replayed line is one connection (certificate PKIDIR/<cn>.pem of the
 * CN recorded for it), opened when the line first came up in the capture
 * and kept to the end. What is sent:
 *
 *  - an originating message (one that answers no delivery) when it
 *    passes the filters (--line, --mke, --ori), at its recorded time
 *    (gaps divided by --speed, capped at --max-sleep) or at a fixed
 *    --rate;
 *  - a response (DR KR DNR) that a line sent after receiving a request
 *    with the same control field: when the replayed request arrives on
 *    that line, after the recorded think time (not at all if it never
 *    arrives).
 *
 * Before a line connects every message sent so far must be answered, so
 * "the destination is not connected" decisions (SM .02.) replay as
 * recorded.
 *
 * Replies compared: the answer to each sent message (ACK, or NAK with its
 * ER), and each delivery to a replayed line that descends from a
 * replayed message (through message IDs: ACK -> DLV -> response -> ...).
 * A live delivery is matched to the recorded one with the same line,
 * control field, message key and originating ORI, in recorded order.
 * Compared as XML (legacy text as the XML it stands for) without the
 * volatile parts (the output header's receive and send dates, times and
 * sequence numbers, the message ID an SM's text names) and without the
 * nodes of every --ignore XPath.
 *
 * Exit: 0 every reply matched; 1 a reply differed, was missing or was
 * unexpected; 2 usage; 3 the capture, the connection or writing a
 * report failed.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "client.h"
#include "jsonutil.h"
#include "legacy.h"
#include "msg.h"
#include "recorder.h"
#include "tls.h"
#include "util.h"
#include "xscan.h"

#define RP_MAXFILTER	32
#define RP_PROGRESS_MS	200
#define RP_PROGRESS_LOG_S 5	/* without a terminal */
#define RP_LINGER_MS	500	/* wait for extras after the last reply */

enum rp_status {
	RP_PENDING = 0,
	RP_MATCHED,
	RP_DIFFERING,
	RP_MISSING,
	RP_UNEXPECTED
};

static const char *const rp_status_name[] = {
	"pending", "matched", "differing", "missing", "unexpected"
};

struct rp_line;
struct rp_dlv;

/* One reply the replay compares (or a live one nobody expected). */
struct rp_result {
	enum rp_status	 status;
	const char	*kind;		/* "answer" or "delivery" */
	char		 line[16];
	char		 mke[4];
	char		 ctl[MSG_CTL_LEN + 1];
	char		 ori[MSG_ORI_LEN + 1];
	char		 recorded[24];	/* ACK, NAK 104, SM 2, DR ... */
	char		 replayed[24];
	char		*detail;
	double		 latency_ms;	/* -1: none */
};

/* A recorded inbound message. */
struct rp_msg {
	struct rp_line	*line;
	uint64_t	 sess, tag, t_us;
	char		*xml;
	size_t		 len;
	int		 redacted;
	char		 mke[4];
	char		 ori[MSG_ORI_LEN + 1];
	char		 ctl[MSG_CTL_LEN + 1];
	int		 ans;		/* 0, RECORDER_ACK, RECORDER_NAK */
	char		*ansdata;
	size_t		 anslen;
	uint64_t	 ans_t_us;
	uint64_t	 msgid;		/* from the recorded ACK */
	struct rp_dlv	*parent;	/* the delivery it answers */
	int		 selected;
	/* Replay. */
	int		 sent;
	int		 answered;
	uint64_t	 sent_us;	/* monotonic */
	struct rp_result *res;
};

/* A recorded delivery. */
struct rp_dlv {
	struct rp_line	*line;
	uint64_t	 t_us, msgid;
	uint16_t	 copy;
	char		*xml;
	size_t		 len;
	int		 redacted;
	char		 mke[4];
	char		 ori[MSG_ORI_LEN + 1];
	char		 ctl[MSG_CTL_LEN + 1];
	uint64_t	 ref;		/* an SM's ReferenceMessageID */
	struct rp_msg	*cause, *root;
	int		 expected;
	int		 arrived;
	struct rp_result *res;
};

struct rp_seen {
	uint64_t	msgid;
	uint16_t	copy;
};

struct rp_line {
	char		 code[16];
	char		 cn[65];
	int		 replay;
	int		 has_up;
	uint64_t	 up_t_us;
	struct client	*c;
	SSL_CTX		*ssl;
	int		 up, connecting, failed;
	struct rp_msg	**bytag;	/* live tag -> message */
	size_t		 ntag;
	struct rp_seen	*seen;		/* deliveries acknowledged */
	size_t		 nseen;
};

/* The schedule: connect a line, or send an originating message. */
struct rp_event {
	uint64_t	 t_us;
	struct rp_line	*line;		/* connect */
	struct rp_msg	*msg;		/* send */
};

struct rp {
	struct event_base *base;
	const char	*pki, *host;
	char		 port[16];
	double		 speed, rate, max_sleep, timeout;
	char		*lines[RP_MAXFILTER], *mkes[RP_MAXFILTER],
			*oris[RP_MAXFILTER], *ignore[RP_MAXFILTER];
	int		 nlines, nmkes, noris, nignore;
	int		 quiet, tty, images;
	struct rp_line	*line;
	int		 nline;
	struct rp_msg	*msg;
	size_t		 nmsg;
	struct rp_dlv	*dlv;
	size_t		 ndlv;
	struct rp_event	*ev;
	size_t		 nev, evi;
	struct rp_result **res;
	size_t		 nres;
	/* Progress of the schedule. */
	uint64_t	 start_us, due_us, prev_t_us;
	int		 have_prev;
	uint64_t	 rate_base_us;
	size_t		 rate_base_n;
	size_t		 nroot, nsent, nroot_sent, nreplies;
	uint64_t	 first_root_us, last_root_us;
	uint64_t	 last_activity_us;
	struct event	*ev_step, *ev_progress;
	int		 done;
	int		 fatal;
	uint64_t	 rec_first_us, rec_last_us;	/* roots, recorded */
};

static void	rp_step_cb(evutil_socket_t, short, void *);
static void	rp_progress_cb(evutil_socket_t, short, void *);
static void	rp_send_cb(evutil_socket_t, short, void *);
static void	rp_hello_cb(struct client *, const char *, void *);
static void	rp_ack_cb(struct client *, uint64_t, const char *, void *);
static void	rp_nak_cb(struct client *, uint64_t, const char *, size_t,
		    void *);
static void	rp_dlv_cb(struct client *, uint64_t, uint16_t, const char *,
		    size_t, void *);
static void	rp_closed_cb(struct client *, const char *, void *);

static struct rp *rpg;	/* for the client callbacks' line -> rp */

/* Prefixes an --ignore XPath may use. */
static const struct {
	const char	*prefix;
	const char	*uri;
} rp_ns[] = {
	{ "n2", MSG_NS_N2 }, { "nh2", MSG_NS_NH2 }, { "n2c", MSG_NS_N2C },
	{ "n2-aa", MSG_NS_AA }, { "nc", MSG_NS_NC }, { "j", MSG_NS_J },
	{ "j40", MSG_NS_J40 }, { "psp", MSG_NS_PSP }, { NULL, NULL }
};

/* The usage: on stdout and exit 0 for --help, else stderr and exit 2. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: nlreplay [-k PKIDIR] (-P PORTFILE | -p PORT) "
	    "[-H HOST]\n"
	    "                [--max-sleep S | --speed N | --rate R] "
	    "[--line L]... [--mke K]...\n"
	    "                [--ori O]... [--ignore XPATH]... [--timeout S]\n"
	    "                [--report json|junit FILE] [-q] CAPTURE...\n"
	    "       nlreplay --dump CAPTURE...\n"
	    "       nlreplay --help | --version\n");
	exit(status);
}

static uint64_t
rp_now(void)
{
	return util_mono_us();
}

static int
rp_in(char *const *set, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcasecmp(set[i], s) == 0)
			return 1;
	return 0;
}

/*
 * Text of the first element with local name name, into buf (trimmed, cut
 * to fit). Legacy text is read as the XML it stands for.
 */
static void
rp_field(const char *xml, size_t len, const char *name, char *buf, size_t sz)
{
	struct ubuf	 x;

	if (!legacy_is_text(xml, len)) {
		xscan_text(xml, len, name, buf, sz);
		return;
	}
	ubuf_init(&x);
	legacy_to_xml(xml, len, LEGACY_STAMPED, &x, NULL);
	xscan_text(x.data, x.len, name, buf, sz);
	ubuf_free(&x);
}

/* The number an ER's or SM's text starts with ("05"), "?" if none. */
static void
rp_number(const char *xml, size_t len, char *buf, size_t sz)
{
	char	 t[64];
	int	 n;

	rp_field(xml, len, "ResponseText", t, sizeof t);
	if (t[0] == '\0')
		rp_field(xml, len, "StatusMessageText", t, sizeof t);
	if ((n = msg_text_number(t)) < 0)
		snprintf(buf, sz, "?");
	else
		snprintf(buf, sz, "%02u", (unsigned)n % 100);
}

/* The message ID an SM's text names ("... MESSAGE 2a.0"), 0 if none. */
static uint64_t
rp_sm_ref(const char *xml, size_t len)
{
	char		 t[512];
	const char	*p;

	rp_field(xml, len, "StatusMessageText", t, sizeof t);
	if ((p = strstr(t, "MESSAGE ")) == NULL)
		return 0;
	return strtoull(p + 8, NULL, 16);
}

static void
rp_header(const char *xml, size_t len, char *mke, char *ori, char *ctl)
{
	rp_field(xml, len, "MessageKeyCodeText", mke, 4);
	rp_field(xml, len, "OriginatingORIID", ori, MSG_ORI_LEN + 1);
	rp_field(xml, len, "DocumentControlFieldText", ctl, MSG_CTL_LEN + 1);
}

static struct rp_line *
rp_line_get(struct rp *rp, const char *code, const char *cn)
{
	int i;

	for (i = 0; i < rp->nline; i++)
		if (strcmp(rp->line[i].code, code) == 0) {
			if (rp->line[i].cn[0] == '\0' && cn[0] != '\0')
				util_strlcpy(rp->line[i].cn, cn,
				    sizeof rp->line[i].cn);
			return &rp->line[i];
		}
	rp->line = xrealloc(rp->line, (size_t)(rp->nline + 1) *
	    sizeof *rp->line);
	memset(&rp->line[rp->nline], 0, sizeof *rp->line);
	util_strlcpy(rp->line[rp->nline].code, code, sizeof rp->line[0].code);
	util_strlcpy(rp->line[rp->nline].cn, cn, sizeof rp->line[0].cn);
	return &rp->line[rp->nline++];
}

/*
 * Loading: every record of every capture, in time order. Lines are
 * referenced by index while the arrays grow, then fixed up.
 */
struct rp_raw {
	struct recorder_rec	 r;
	char			*data;
	int			 file;
	size_t			 seq;
};

static int
rp_raw_cmp(const void *a, const void *b)
{
	const struct rp_raw *x = a, *y = b;

	if (x->r.time_us != y->r.time_us)
		return x->r.time_us < y->r.time_us ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct rp_msg *
rp_msg_by_msgid(struct rp *rp, uint64_t msgid)
{
	size_t i;

	if (msgid == 0)
		return NULL;
	for (i = rp->nmsg; i-- > 0;)
		if (rp->msg[i].msgid == msgid)
			return &rp->msg[i];
	return NULL;
}

static struct rp_msg *
rp_root(struct rp_msg *m)
{
	int depth = 0;

	while (m != NULL && m->parent != NULL && depth++ < 64)
		m = m->parent->cause;
	return m;
}

/* The records read so far, in file order. */
struct rp_raws {
	struct rp_raw	*v;
	size_t		 n, cap;
};

/*
 * Every record of capture path (file number f) appended to rs; *images
 * cleared if it was recorded without images. A torn tail is a warning.
 * @return 0, or -1 (said why) if it cannot be opened.
 */
static int
rp_read_capture(struct rp_raws *rs, const char *path, int f, int *images)
{
	struct recorder_reader	*rd;
	struct rp_raw		*x;
	char			*cause = NULL;
	int			 rc;

	if ((rd = recorder_reader_open(path, &cause)) == NULL) {
		fprintf(stderr, "nlreplay: %s\n", cause);
		free(cause);
		return -1;
	}
	if (!(recorder_reader_flags(rd) & RECORDER_F_IMAGES))
		*images = 0;
	for (;;) {
		if (rs->n == rs->cap) {
			rs->cap = rs->cap ? rs->cap * 2 : 256;
			rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
		}
		x = &rs->v[rs->n];
		if ((rc = recorder_read(rd, &x->r, &cause)) <= 0)
			break;
		x->data = xmalloc(x->r.len + 1);
		memcpy(x->data, x->r.data, x->r.len);
		x->data[x->r.len] = '\0';
		x->file = f;
		x->seq = rs->n;
		rs->n++;
	}
	if (rc == -1) {
		/* A torn tail is what a killed switch leaves: use what came
		 * before it. */
		fprintf(stderr, "nlreplay: warning: %s\n", cause);
		free(cause);
	}
	recorder_reader_close(rd);
	return 0;
}

/*
 * The line of every record, found or added, as an index into rp->line
 * (-1: none), and when each line came up. @return the indexes.
 */
static int *
rp_load_lines(struct rp *rp, const struct rp_raw *raw, size_t nraw)
{
	struct rp_line	*l;
	int		*lidx;
	uint64_t	 rec_start = UINT64_MAX;
	size_t		 i;

	for (i = 0; i < nraw; i++)
		if (raw[i].r.time_us < rec_start)
			rec_start = raw[i].r.time_us;
	lidx = xcalloc(nraw ? nraw : 1, sizeof *lidx);
	for (i = 0; i < nraw; i++) {
		if (strcmp(raw[i].r.line, "-") == 0 || raw[i].r.line[0] == '\0') {
			lidx[i] = -1;
			continue;
		}
		l = rp_line_get(rp, raw[i].r.line, raw[i].r.cn);
		lidx[i] = (int)(l - rp->line);
		if (raw[i].r.type == RECORDER_UP && !l->has_up) {
			l->has_up = 1;
			l->up_t_us = raw[i].r.time_us;
		} else if (!l->has_up && raw[i].r.type != RECORDER_DOWN) {
			/* Active before any UP (a capture a reload started):
			 * up when recording began, its first record. */
			l->has_up = 1;
			l->up_t_us = rec_start;
		}
	}
	return lidx;
}

/* A recorded inbound message on line l; it takes x's data. */
static void
rp_load_msg(struct rp *rp, struct rp_raw *x, struct rp_line *l)
{
	const struct recorder_rec	*r = &x->r;
	struct rp_msg			*m = &rp->msg[rp->nmsg++];

	m->line = l;
	m->sess = r->sess;
	m->tag = r->id;
	m->t_us = r->time_us;
	m->xml = x->data;
	x->data = NULL;
	m->len = r->len;
	m->redacted = r->flags & RECORDER_R_REDACTED;
	rp_header(m->xml, m->len, m->mke, m->ori, m->ctl);
}

/* An ACK or NAK: the answer to the latest unanswered message of that
 * session and tag, which takes x's data. */
static void
rp_load_answer(struct rp *rp, struct rp_raw *x)
{
	const struct recorder_rec	*r = &x->r;
	struct rp_msg			*m;
	size_t				 j;

	for (j = rp->nmsg; j-- > 0;) {
		m = &rp->msg[j];
		if (m->sess != r->sess || m->tag != r->id || m->ans != 0)
			continue;
		m->ans = r->type;
		m->ansdata = x->data;
		x->data = NULL;
		m->anslen = r->len;
		m->ans_t_us = r->time_us;
		if (r->type == RECORDER_ACK)
			m->msgid = strtoull(m->ansdata, NULL, 16);
		break;
	}
}

/* A delivery to line l, unless a redelivery (the same reply again); it
 * takes x's data. */
static void
rp_load_dlv(struct rp *rp, struct rp_raw *x, struct rp_line *l)
{
	const struct recorder_rec	*r = &x->r;
	struct rp_dlv			*d;
	size_t				 j;

	for (j = 0; j < rp->ndlv; j++)
		if (rp->dlv[j].line == l && rp->dlv[j].msgid == r->id &&
		    rp->dlv[j].copy == r->copy)
			return;
	d = &rp->dlv[rp->ndlv++];
	d->line = l;
	d->t_us = r->time_us;
	d->msgid = r->id;
	d->copy = r->copy;
	d->xml = x->data;
	x->data = NULL;
	d->len = r->len;
	d->redacted = r->flags & RECORDER_R_REDACTED;
	rp_header(d->xml, d->len, d->mke, d->ori, d->ctl);
	d->ref = rp_sm_ref(d->xml, d->len);
}

/*
 * Every record of every capture, in time order: lines first (by index,
 * while the array grows), then messages, answers and deliveries.
 * @return 0, or -1 (said why) if a capture cannot be opened.
 */
static int
rp_load(struct rp *rp, char **files, int nfiles)
{
	struct rp_raws	 rs = { NULL, 0, 0 };
	struct rp_raw	*x;
	size_t		 i;
	int		 f, images = 1, rc = -1;
	int		*lidx = NULL;

	for (f = 0; f < nfiles; f++)
		if (rp_read_capture(&rs, files[f], f, &images) == -1)
			goto fail;
	rp->images = images;
	qsort(rs.v, rs.n, sizeof *rs.v, rp_raw_cmp);
	lidx = rp_load_lines(rp, rs.v, rs.n);
	rp->msg = xcalloc(rs.n ? rs.n : 1, sizeof *rp->msg);
	rp->dlv = xcalloc(rs.n ? rs.n : 1, sizeof *rp->dlv);
	for (i = 0; i < rs.n; i++) {
		x = &rs.v[i];
		if (lidx[i] < 0)
			continue;
		if (x->r.type == RECORDER_MSG)
			rp_load_msg(rp, x, &rp->line[lidx[i]]);
		else if (x->r.type == RECORDER_ACK || x->r.type == RECORDER_NAK)
			rp_load_answer(rp, x);
		else if (x->r.type == RECORDER_DLV)
			rp_load_dlv(rp, x, &rp->line[lidx[i]]);
	}
	rc = 0;
fail:
	for (i = 0; i < rs.n; i++)
		free(rs.v[i].data);
	free(rs.v);
	free(lidx);
	return rc;
}

/*
 * Who caused what. The cause of a delivery: the message whose ACK gave
 * its ID (an SM names it in ReferenceMessageID). The delivery a response
 * answers: the latest request with the same control field delivered to
 * its line before it.
 */
static void
rp_plan_causes(struct rp *rp)
{
	struct rp_dlv	*d;
	struct rp_msg	*m;
	size_t		 i, j;

	for (i = 0; i < rp->ndlv; i++) {
		d = &rp->dlv[i];
		if ((d->cause = rp_msg_by_msgid(rp, d->msgid)) == NULL)
			d->cause = rp_msg_by_msgid(rp, d->ref);
	}
	for (i = 0; i < rp->nmsg; i++) {
		m = &rp->msg[i];
		if (!msg_key_is_response(msg_key_lookup(m->mke)))
			continue;
		for (j = rp->ndlv; j-- > 0;) {
			d = &rp->dlv[j];
			if (d->line == m->line && d->t_us <= m->t_us &&
			    strcmp(d->ctl, m->ctl) == 0 &&
			    !msg_key_is_response(msg_key_lookup(d->mke)) &&
			    d->cause != NULL) {
				m->parent = d;
				break;
			}
		}
	}
}

/*
 * What is replayed: the lines --line names, and on them, in time order,
 * a root by the filters, a response when the request it answers is
 * expected; the deliveries that descend from a selected root.
 */
static void
rp_plan_select(struct rp *rp)
{
	struct rp_msg	*m;
	struct rp_dlv	*d;
	size_t		 i;
	int		 n;

	for (n = 0; n < rp->nline; n++)
		rp->line[n].replay = rp->nlines == 0 ||
		    rp_in(rp->lines, rp->nlines, rp->line[n].code);
	for (i = 0; i < rp->nmsg; i++) {
		m = &rp->msg[i];
		if (!m->line->replay)
			continue;
		if (m->parent == NULL)
			m->selected = (rp->nmkes == 0 ||
			    rp_in(rp->mkes, rp->nmkes, m->mke)) &&
			    (rp->noris == 0 || rp_in(rp->oris, rp->noris,
			    m->ori));
		else
			m->selected = m->parent->cause != NULL &&
			    rp_root(m->parent->cause) != NULL &&
			    rp_root(m->parent->cause)->selected;
	}
	for (i = 0; i < rp->ndlv; i++) {
		d = &rp->dlv[i];
		d->root = rp_root(d->cause);
		d->expected = d->line->replay && d->root != NULL &&
		    d->root->selected;
	}
}

/* A new result of kind for a reply on line with header mke, ctl, ori. */
static struct rp_result *
rp_result_new(const char *kind, const struct rp_line *line, const char *mke,
    const char *ctl, const char *ori)
{
	struct rp_result *r = xcalloc(1, sizeof *r);

	r->kind = kind;
	util_strlcpy(r->line, line->code, sizeof r->line);
	util_strlcpy(r->mke, mke, sizeof r->mke);
	util_strlcpy(r->ctl, ctl, sizeof r->ctl);
	util_strlcpy(r->ori, ori, sizeof r->ori);
	r->latency_ms = -1;
	return r;
}

/* The result for m's answer: ACK, or NAK and the ER's number. */
static struct rp_result *
rp_result_answer(struct rp_msg *m)
{
	struct rp_result	*r;
	char			 code[8];

	r = m->res = rp_result_new("answer", m->line, m->mke, m->ctl, m->ori);
	if (m->ans == RECORDER_ACK)
		snprintf(r->recorded, sizeof r->recorded, "ACK");
	else {
		rp_number(m->ansdata, m->anslen, code, sizeof code);
		snprintf(r->recorded, sizeof r->recorded, "NAK %s", code);
	}
	return r;
}

/* The result for delivery d: its message key, an SM's with its number. */
static struct rp_result *
rp_result_delivery(struct rp_dlv *d)
{
	struct rp_result	*r;
	char			 st[8];

	r = d->res = rp_result_new("delivery", d->line, d->mke, d->ctl,
	    d->ori);
	snprintf(r->recorded, sizeof r->recorded, "%s", d->mke);
	if (strcmp(d->mke, "SM") == 0) {
		rp_number(d->xml, d->len, st, sizeof st);
		snprintf(r->recorded, sizeof r->recorded, "SM .%s.", st);
	}
	return r;
}

/* The results to compare, in recorded order: answers to the selected
 * messages, the expected deliveries. */
static void
rp_plan_results(struct rp *rp)
{
	struct rp_msg	*m;
	struct rp_dlv	*d;
	size_t		 i, j, k;
	int		 takemsg;

	rp->res = xcalloc(rp->nmsg + rp->ndlv + 1, sizeof *rp->res);
	for (i = 0, j = 0, k = 0; i < rp->nmsg || j < rp->ndlv;) {
		takemsg = j >= rp->ndlv ||
		    (i < rp->nmsg && rp->msg[i].t_us <= rp->dlv[j].t_us);
		if (takemsg) {
			m = &rp->msg[i++];
			if (m->selected && m->ans != 0)
				rp->res[k++] = rp_result_answer(m);
		} else {
			d = &rp->dlv[j++];
			if (d->expected)
				rp->res[k++] = rp_result_delivery(d);
		}
	}
	rp->nres = k;
}

/* The schedule: line connections and originating messages, in time
 * order; connections sort before messages of the same time. */
static void
rp_plan_schedule(struct rp *rp)
{
	struct rp_event	 e;
	size_t		 i, j;
	int		 n;

	rp->ev = xcalloc((size_t)rp->nline + rp->nmsg + 1, sizeof *rp->ev);
	for (n = 0; n < rp->nline; n++)
		if (rp->line[n].replay) {
			rp->ev[rp->nev].t_us = rp->line[n].up_t_us;
			rp->ev[rp->nev++].line = &rp->line[n];
		}
	for (i = 0; i < rp->nmsg; i++)
		if (rp->msg[i].selected && rp->msg[i].parent == NULL) {
			if (rp->nroot == 0)
				rp->rec_first_us = rp->msg[i].t_us;
			rp->rec_last_us = rp->msg[i].t_us;
			rp->ev[rp->nev].t_us = rp->msg[i].t_us;
			rp->ev[rp->nev++].msg = &rp->msg[i];
			rp->nroot++;
		}
	/* Stable (insertion). */
	for (i = 1; i < rp->nev; i++) {
		e = rp->ev[i];
		for (j = i; j > 0 && (rp->ev[j - 1].t_us > e.t_us ||
		    (rp->ev[j - 1].t_us == e.t_us && rp->ev[j - 1].msg != NULL &&
		    e.line != NULL)); j--)
			rp->ev[j] = rp->ev[j - 1];
		rp->ev[j] = e;
	}
}

/* Who caused what, what is replayed, the results, and the schedule. */
static void
rp_plan(struct rp *rp)
{
	rp_plan_causes(rp);
	rp_plan_select(rp);
	rp_plan_results(rp);
	rp_plan_schedule(rp);
}

/*
 * Comparing two messages as XML.
 */

/* An SM's text without the message ID it names (", MESSAGE ..."). */
static void
rp_strip_ref(xmlNodePtr n)
{
	xmlChar	*c = xmlNodeGetContent(n);
	char	*p, *e;

	if (c == NULL)
		return;
	if ((p = strstr((char *)c, ", MESSAGE ")) != NULL) {
		e = p + strcspn(p, "\n");
		memmove(p, e, strlen(e) + 1);
		xmlNodeSetContent(n, NULL);
		xmlNodeAddContent(n, c);
	}
	xmlFree(c);
}

/* An XPath context on doc that knows the catalogue's prefixes
 * (docs/messages.md), whatever prefixes the message itself used. */
static xmlXPathContextPtr
rp_xpath_ctx(xmlDocPtr doc)
{
	xmlXPathContextPtr	 ctx;
	int			 i;

	if ((ctx = xmlXPathNewContext(doc)) == NULL)
		return NULL;
	for (i = 0; rp_ns[i].prefix != NULL; i++)
		xmlXPathRegisterNs(ctx, (const xmlChar *)rp_ns[i].prefix,
		    (const xmlChar *)rp_ns[i].uri);
	return ctx;
}

/* 0 if xpath evaluates (its syntax and its prefixes), else -1 (libxml2
 * says why on stderr). */
static int
rp_xpath_check(const char *xpath)
{
	xmlDocPtr		 doc;
	xmlXPathContextPtr	 ctx = NULL;
	xmlXPathObjectPtr	 obj = NULL;

	if ((doc = xmlReadMemory("<x/>", 4, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) != NULL &&
	    (ctx = rp_xpath_ctx(doc)) != NULL)
		obj = xmlXPathEvalExpression((const xmlChar *)xpath, ctx);
	xmlXPathFreeObject(obj);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return obj != NULL ? 0 : -1;
}

static void
rp_strip(xmlDocPtr doc, char *const *ignore, int nignore)
{
	xmlXPathContextPtr	 ctx;
	xmlXPathObjectPtr	 obj;
	xmlNodePtr		 n, next, stack[MSG_MAX_DEPTH * 2];
	int			 sp = 0, i, k;

	/* The volatile elements, wherever they are. */
	if ((n = xmlDocGetRootElement(doc)) != NULL)
		stack[sp++] = n;
	while (sp > 0) {
		n = stack[--sp];
		for (n = n->children; n != NULL; n = next) {
			next = n->next;
			if (n->type != XML_ELEMENT_NODE)
				continue;
			/* The output header's stamps: different in every
			 * run. */
			for (k = 0; msg_stamp_name(k) != NULL; k++)
				if (xmlStrcmp(n->name, (const xmlChar *)
				    msg_stamp_name(k)) == 0)
					break;
			if (msg_stamp_name(k) != NULL) {
				xmlUnlinkNode(n);
				xmlFreeNode(n);
			} else if (xmlStrcmp(n->name, (const xmlChar *)
			    "StatusMessageText") == 0)
				rp_strip_ref(n);
			else if (sp < (int)(sizeof stack / sizeof stack[0]))
				stack[sp++] = n;
		}
	}
	if (nignore == 0 || (ctx = rp_xpath_ctx(doc)) == NULL)
		return;
	for (i = 0; i < nignore; i++) {
		if ((obj = xmlXPathEvalExpression((const xmlChar *)ignore[i],
		    ctx)) == NULL)
			continue;
		if (obj->nodesetval != NULL)
			/* Reverse document order: descendants go first. */
			for (k = obj->nodesetval->nodeNr; k-- > 0;) {
				n = obj->nodesetval->nodeTab[k];
				if (n->type == XML_ATTRIBUTE_NODE)
					xmlRemoveProp((xmlAttrPtr)n);
				else if (n->type != XML_DOCUMENT_NODE &&
				    n->type != XML_NAMESPACE_DECL) {
					xmlUnlinkNode(n);
					xmlFreeNode(n);
				}
			}
		xmlXPathFreeObject(obj);
	}
	xmlXPathFreeContext(ctx);
}

/* Trimmed text of a node's own text children. */
static char *
rp_text(xmlNodePtr n)
{
	struct ubuf	 b;
	xmlNodePtr	 c;
	size_t		 s, e;
	char		*t;

	ubuf_init(&b);
	for (c = n->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type ==
		    XML_CDATA_SECTION_NODE) && c->content != NULL)
			ubuf_adds(&b, (const char *)c->content);
	ubuf_add(&b, "", 0);
	t = ubuf_take(&b, NULL);
	if (t == NULL)
		return xstrdup("");
	for (s = 0; t[s] == ' ' || t[s] == '\n' || t[s] == '\t' ||
	    t[s] == '\r'; s++)
		;
	e = strlen(t);
	while (e > s && (t[e - 1] == ' ' || t[e - 1] == '\n' ||
	    t[e - 1] == '\t' || t[e - 1] == '\r'))
		e--;
	memmove(t, t + s, e - s);
	t[e - s] = '\0';
	return t;
}

static xmlNodePtr
rp_next_el(xmlNodePtr n)
{
	while (n != NULL && n->type != XML_ELEMENT_NODE)
		n = n->next;
	return n;
}

static char *
rp_short(const char *s)
{
	if (strlen(s) <= 80)
		return xstrdup(s);
	return xasprintf("%.77s...", s);
}

/* First difference between a and b, as "XPATH: recorded X, replayed Y". */
static char *
rp_cmp_node(xmlNodePtr a, xmlNodePtr b)
{
	xmlNodePtr	 ca, cb;
	xmlAttrPtr	 at;
	xmlChar		*pa, *va, *vb;
	char		*ta, *tb, *r = NULL, *sa, *sb;

	if (xmlStrcmp(a->name, b->name) != 0) {
		pa = xmlGetNodePath(a);
		r = xasprintf("%s: recorded element %s, replayed %s", pa,
		    a->name, b->name);
		xmlFree(pa);
		return r;
	}
	for (at = a->properties; at != NULL && r == NULL; at = at->next) {
		va = xmlGetProp(a, at->name);
		vb = xmlGetProp(b, at->name);
		if (vb == NULL || xmlStrcmp(va, vb) != 0) {
			pa = xmlGetNodePath(a);
			r = xasprintf("%s/@%s: recorded \"%s\", replayed %s%s%s",
			    pa, at->name, va, vb ? "\"" : "", vb ? (char *)vb :
			    "none", vb ? "\"" : "");
			xmlFree(pa);
		}
		xmlFree(va);
		xmlFree(vb);
	}
	for (at = b->properties; at != NULL && r == NULL; at = at->next)
		if (!xmlHasProp(a, at->name)) {
			pa = xmlGetNodePath(b);
			r = xasprintf("%s/@%s: not recorded, replayed", pa,
			    at->name);
			xmlFree(pa);
		}
	if (r != NULL)
		return r;
	ta = rp_text(a);
	tb = rp_text(b);
	if (strcmp(ta, tb) != 0) {
		pa = xmlGetNodePath(a);
		sa = rp_short(ta);
		sb = rp_short(tb);
		r = xasprintf("%s: recorded \"%s\", replayed \"%s\"", pa, sa, sb);
		free(sa);
		free(sb);
		xmlFree(pa);
	}
	free(ta);
	free(tb);
	if (r != NULL)
		return r;
	ca = rp_next_el(a->children);
	cb = rp_next_el(b->children);
	while (ca != NULL && cb != NULL && r == NULL) {
		r = rp_cmp_node(ca, cb);
		ca = rp_next_el(ca->next);
		cb = rp_next_el(cb->next);
	}
	if (r == NULL && ca != NULL) {
		pa = xmlGetNodePath(ca);
		r = xasprintf("%s: recorded, not replayed", pa);
		xmlFree(pa);
	} else if (r == NULL && cb != NULL) {
		pa = xmlGetNodePath(cb);
		r = xasprintf("%s: replayed, not recorded", pa);
		xmlFree(pa);
	}
	return r;
}

/*
 * Compare a recorded message with a live one. @return NULL when they
 * match, else the first difference (caller frees).
 */
static char *
rp_compare(struct rp *rp, const char *rec, size_t rlen, int redacted,
    const char *live, size_t llen)
{
	struct ubuf	 b, lx, rx;
	xmlDocPtr	 da, db;
	xmlNodePtr	 ra, rb;
	char		*r;
	int		 opts = XML_PARSE_NONET | XML_PARSE_NOBLANKS;

	ubuf_init(&b);
	ubuf_init(&lx);
	ubuf_init(&rx);
	/* Legacy text is compared as the XML it stands for, so that its
	 * output header's volatile lines are left out like XML's. */
	if (legacy_is_text(live, llen) && legacy_to_xml(live, llen,
	    LEGACY_STAMPED, &lx, NULL) >= 0 && lx.len > 0) {
		live = lx.data;
		llen = lx.len;
	}
	if (legacy_is_text(rec, rlen) && legacy_to_xml(rec, rlen,
	    LEGACY_STAMPED, &rx, NULL) >= 0 && rx.len > 0) {
		rec = rx.data;
		rlen = rx.len;
	}
	if (redacted || !rp->images)
		recorder_redact(&b, live, llen);
	else
		ubuf_add(&b, live, llen);
	da = xmlReadMemory(rec, (int)rlen, "recorded.xml", NULL, opts);
	db = xmlReadMemory(b.data ? b.data : "", (int)b.len, "replayed.xml",
	    NULL, opts);
	if (da == NULL || db == NULL) {
		r = (da == NULL && db == NULL) ? (rlen == b.len &&
		    memcmp(rec, b.data, rlen) == 0 ? NULL :
		    xstrdup("not XML, and the bytes differ")) :
		    xstrdup(da == NULL ? "the recorded message is not XML" :
		    "the replayed message is not XML");
		goto out;
	}
	rp_strip(da, rp->ignore, rp->nignore);
	rp_strip(db, rp->ignore, rp->nignore);
	ra = xmlDocGetRootElement(da);
	rb = xmlDocGetRootElement(db);
	if (ra == NULL || rb == NULL)
		r = ra == rb ? NULL : xstrdup("one document is empty");
	else
		r = rp_cmp_node(ra, rb);
out:
	if (da != NULL)
		xmlFreeDoc(da);
	if (db != NULL)
		xmlFreeDoc(db);
	ubuf_free(&b);
	ubuf_free(&lx);
	ubuf_free(&rx);
	return r;
}

/*
 * Replay.
 */

static void
rp_finish(struct rp *rp)
{
	int i;

	if (rp->done)
		return;
	rp->done = 1;
	for (i = 0; i < rp->nline; i++)
		if (rp->line[i].c != NULL)
			client_close(rp->line[i].c);
	event_base_loopexit(rp->base, NULL);
}

static void
rp_kick(struct rp *rp, uint64_t after_us)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(after_us / 1000000);
	tv.tv_usec = (suseconds_t)(after_us % 1000000);
	event_add(rp->ev_step, &tv);
}

static int
rp_line_connect(struct rp *rp, struct rp_line *l)
{
	static const struct client_cb cb = {
		rp_hello_cb, rp_ack_cb, rp_nak_cb, rp_dlv_cb, rp_closed_cb
	};
	char	*ca, *cert, *key, *cause = NULL;

	ca = xasprintf("%s/ca.pem", rp->pki);
	cert = xasprintf("%s/%s.pem", rp->pki, l->cn);
	key = xasprintf("%s/%s.key", rp->pki, l->cn);
	l->ssl = tls_client_ctx(ca, cert, key, &cause);
	free(ca);
	free(cert);
	free(key);
	if (l->ssl == NULL) {
		fprintf(stderr, "nlreplay: line %s (cn %s): %s\n", l->code,
		    l->cn, cause);
		free(cause);
		return -1;
	}
	l->c = client_new(rp->base, l->ssl, rp->host, rp->port, &cb, l);
	l->connecting = 1;
	if (client_connect(l->c) == -1) {
		fprintf(stderr, "nlreplay: line %s: cannot connect to %s:%s\n",
		    l->code, rp->host, rp->port);
		return -1;
	}
	return 0;
}

/* Messages sent and not answered yet. */
static size_t
rp_outstanding(struct rp *rp)
{
	size_t i, n = 0;

	for (i = 0; i < rp->nmsg; i++)
		if (rp->msg[i].sent && !rp->msg[i].answered)
			n++;
	return n;
}

static void
rp_send(struct rp *rp, struct rp_msg *m)
{
	struct ubuf	 b;
	struct rp_line	*l = m->line;
	uint64_t	 tag;

	ubuf_init(&b);
	if (m->redacted)
		recorder_placeholder(&b, m->xml, m->len);
	else
		ubuf_add(&b, m->xml, m->len);
	tag = client_send(l->c, b.data, b.len);
	ubuf_free(&b);
	if (tag == 0) {
		if (m->res != NULL) {
			m->res->status = RP_MISSING;
			m->res->detail = xasprintf("not sent: line %s is not "
			    "connected", l->code);
		}
		return;
	}
	if (tag >= l->ntag) {
		size_t n = tag * 2 + 16;

		l->bytag = xrealloc(l->bytag, n * sizeof *l->bytag);
		memset(l->bytag + l->ntag, 0, (n - l->ntag) * sizeof *l->bytag);
		l->ntag = n;
	}
	l->bytag[tag] = m;
	m->sent = 1;
	m->sent_us = rp_now();
	rp->nsent++;
	rp->last_activity_us = m->sent_us;
}

static uint64_t
rp_gap_us(struct rp *rp, uint64_t from_us, uint64_t to_us)
{
	double gap = to_us > from_us ? (double)(to_us - from_us) : 0;

	gap /= rp->speed;
	if (rp->max_sleep >= 0 && gap > rp->max_sleep * 1e6)
		gap = rp->max_sleep * 1e6;
	return (uint64_t)gap;
}

static int
rp_all_in(struct rp *rp)
{
	size_t i;

	for (i = 0; i < rp->nres; i++)
		if (rp->res[i]->status == RP_PENDING)
			return 0;
	return 1;
}

/* When the head of the schedule is due (monotonic us). */
static uint64_t
rp_due(struct rp *rp, const struct rp_event *e)
{
	if (rp->rate > 0)
		return e->line != NULL ? 0 : rp->rate_base_us +
		    (uint64_t)((double)(rp->nroot_sent - rp->rate_base_n) *
		    1e6 / rp->rate);
	if (!rp->have_prev)
		return 0;
	return rp->due_us + rp_gap_us(rp, rp->prev_t_us, e->t_us);
}

static void
rp_step_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rp	*rp = arg;
	struct rp_event	*e;
	uint64_t	 now = rp_now(), due;

	(void)fd;
	(void)what;
	if (rp->done)
		return;
	while (rp->evi < rp->nev) {
		e = &rp->ev[rp->evi];
		if ((due = rp_due(rp, e)) > now) {
			rp_kick(rp, due - now);
			return;
		}
		if (e->line != NULL && !e->line->up && !e->line->failed) {
			if (e->line->connecting) {
				rp_kick(rp, 100000);	/* hello wakes us */
				return;
			}
			/* Barrier: what was sent is decided first. */
			if (rp_outstanding(rp) > 0) {
				rp_kick(rp, 2000);
				return;
			}
			if (rp_line_connect(rp, e->line) == -1) {
				rp->fatal = 1;
				rp_finish(rp);
				return;
			}
			rp_kick(rp, 100000);
			return;
		}
		if (e->line != NULL) {
			/* Connected: the schedule goes on from now. */
			now = rp_now();
			rp->due_us = due > now ? due : now;
			rp->rate_base_us = now;
			rp->rate_base_n = rp->nroot_sent;
		} else {
			rp->due_us = due > 0 ? due : now;
			if (rp->nroot_sent == 0)
				rp->first_root_us = now;
			rp->last_root_us = now;
			rp->nroot_sent++;
			rp_send(rp, e->msg);
			now = rp_now();
		}
		rp->prev_t_us = e->t_us;
		rp->have_prev = 1;
		rp->evi++;
	}
	/* Everything is sent: wait for the replies, then a little more for
	 * unexpected ones, or give up after --timeout of silence. */
	if (rp_all_in(rp) && now - rp->last_activity_us >= RP_LINGER_MS * 1000) {
		rp_finish(rp);
		return;
	}
	if (now - rp->last_activity_us >= (uint64_t)(rp->timeout * 1e6)) {
		rp_finish(rp);
		return;
	}
	rp_kick(rp, 50000);
}

static void
rp_hello_cb(struct client *c, const char *text, void *arg)
{
	struct rp_line	*l = arg;

	(void)c;
	(void)text;
	l->up = 1;
	l->connecting = 0;
	rp_kick(rpg, 0);
}

static void
rp_closed_cb(struct client *c, const char *why, void *arg)
{
	struct rp_line	*l = arg;

	(void)c;
	if (rpg->done)
		return;
	fprintf(stderr, "\nnlreplay: line %s: connection closed: %s%s\n",
	    l->code, why, l->up ? " (is another endpoint using this line? "
	    "a second connection replaces the first; see --line)" : "");
	if (!l->up)
		rpg->fatal = 1;
	l->up = 0;
	l->connecting = 0;
	l->failed = 1;
	rp_kick(rpg, 0);
}

static void
rp_answer(struct rp_line *l, uint64_t tag, int ack, const char *data,
    size_t len)
{
	struct rp	*rp = rpg;
	struct rp_msg	*m;
	struct rp_result *r;
	char		 code[8];

	if (tag >= l->ntag || (m = l->bytag[tag]) == NULL || m->answered)
		return;
	m->answered = 1;
	rp->nreplies++;
	rp->last_activity_us = rp_now();
	if ((r = m->res) == NULL)
		return;
	r->latency_ms = (double)(rp->last_activity_us - m->sent_us) / 1000.0;
	if (ack)
		snprintf(r->replayed, sizeof r->replayed, "ACK");
	else {
		rp_number(data, len, code, sizeof code);
		snprintf(r->replayed, sizeof r->replayed, "NAK %s", code);
	}
	if (ack && m->ans == RECORDER_ACK)
		r->status = RP_MATCHED;
	else if (!ack && m->ans == RECORDER_NAK) {
		r->detail = rp_compare(rp, m->ansdata, m->anslen, 0, data, len);
		r->status = r->detail == NULL ? RP_MATCHED : RP_DIFFERING;
	} else {
		r->status = RP_DIFFERING;
		if (ack)
			r->detail = xasprintf("recorded %s, replayed ACK",
			    r->recorded);
		else {
			char reason[120];

			rp_field(data, len, "ResponseText", reason,
			    sizeof reason);
			r->detail = xasprintf("recorded ACK, replayed NAK ER %s%s%s",
			    code, reason[0] ? ": " : "", reason);
		}
	}
}

static void
rp_ack_cb(struct client *c, uint64_t tag, const char *msgid, void *arg)
{
	(void)c;
	(void)msgid;
	rp_answer(arg, tag, 1, NULL, 0);
}

static void
rp_nak_cb(struct client *c, uint64_t tag, const char *er, size_t len,
    void *arg)
{
	(void)c;
	rp_answer(arg, tag, 0, er, len);
}

static void
rp_send_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rp_msg *m = arg;

	(void)fd;
	(void)what;
	if (!rpg->done)
		rp_send(rpg, m);
}

/* The responses recorded after d arrived on its line: due now. */
static void
rp_children(struct rp *rp, struct rp_dlv *d)
{
	struct timeval	 tv;
	uint64_t	 think;
	size_t		 i;

	for (i = 0; i < rp->nmsg; i++) {
		struct rp_msg *m = &rp->msg[i];

		if (m->parent != d || !m->selected || m->sent)
			continue;
		think = rp->rate > 0 ? 0 : rp_gap_us(rp, d->t_us, m->t_us);
		tv.tv_sec = (time_t)(think / 1000000);
		tv.tv_usec = (suseconds_t)(think % 1000000);
		event_base_once(rp->base, -1, EV_TIMEOUT, rp_send_cb, m, &tv);
	}
}

static void
rp_dlv_cb(struct client *c, uint64_t msgid, uint16_t copy, const char *xml,
    size_t len, void *arg)
{
	struct rp_line		*l = arg;
	struct rp		*rp = rpg;
	struct rp_result	*r;
	struct rp_dlv		*d = NULL;
	struct rp_msg		*m;
	char			 mke[4], ori[MSG_ORI_LEN + 1], ctl[MSG_CTL_LEN + 1];
	size_t			 i;

	client_dack(c, msgid, copy);
	for (i = 0; i < l->nseen; i++)
		if (l->seen[i].msgid == msgid && l->seen[i].copy == copy)
			return;		/* a redelivery */
	l->seen = xrealloc(l->seen, (l->nseen + 1) * sizeof *l->seen);
	l->seen[l->nseen].msgid = msgid;
	l->seen[l->nseen++].copy = copy;
	rp->last_activity_us = rp_now();
	rp->nreplies++;
	rp_header(xml, len, mke, ori, ctl);
	for (i = 0; i < rp->ndlv; i++) {
		struct rp_dlv *x = &rp->dlv[i];

		if (x->expected && !x->arrived && x->line == l &&
		    strcmp(x->ctl, ctl) == 0 && strcmp(x->mke, mke) == 0 &&
		    strcmp(x->ori, ori) == 0) {
			d = x;
			break;
		}
	}
	if (d == NULL) {
		r = xcalloc(1, sizeof *r);
		r->kind = "delivery";
		r->status = RP_UNEXPECTED;
		util_strlcpy(r->line, l->code, sizeof r->line);
		util_strlcpy(r->mke, mke, sizeof r->mke);
		util_strlcpy(r->ctl, ctl, sizeof r->ctl);
		util_strlcpy(r->ori, ori, sizeof r->ori);
		snprintf(r->replayed, sizeof r->replayed, "%s", mke);
		if (strcmp(mke, "SM") == 0) {
			char st[8];

			rp_number(xml, len, st, sizeof st);
			snprintf(r->replayed, sizeof r->replayed, "SM .%s.",
			    st);
		}
		{
			char text[120];

			rp_field(xml, len, "StatusMessageText", text,
			    sizeof text);
			if (text[0] == '\0')
				rp_field(xml, len, "ResponseText", text,
				    sizeof text);
			r->detail = xasprintf("not recorded: %s%s%s",
			    r->replayed, text[0] ? " " : "", text);
		}
		r->latency_ms = -1;
		rp->res = xrealloc(rp->res, (rp->nres + 1) * sizeof *rp->res);
		rp->res[rp->nres++] = r;
		return;
	}
	d->arrived = 1;
	r = d->res;
	snprintf(r->replayed, sizeof r->replayed, "%s", r->recorded);
	if ((m = d->root) != NULL && m->sent)
		r->latency_ms = (double)(rp->last_activity_us - m->sent_us) /
		    1000.0;
	r->detail = rp_compare(rp, d->xml, d->len, d->redacted, xml, len);
	r->status = r->detail == NULL ? RP_MATCHED : RP_DIFFERING;
	if (r->status == RP_DIFFERING && strcmp(mke, "SM") == 0) {
		char st[8];

		rp_number(xml, len, st, sizeof st);
		snprintf(r->replayed, sizeof r->replayed, "SM .%s.", st);
	}
	rp_children(rp, d);
}

static void
rp_progress_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rp	*rp = arg;
	size_t		 i, total = rp->nroot, done = rp->nroot_sent, ndiff = 0;
	int		 w = 30, k, fill;

	(void)fd;
	(void)what;
	for (i = 0; i < rp->nres; i++)
		if (rp->res[i]->status >= RP_DIFFERING &&
		    rp->res[i]->status != RP_MISSING)
			ndiff++;
	if (!rp->tty) {
		/* A log, not a terminal: one line now and then. */
		double el = (double)(rp_now() - rp->start_us) / 1e6;

		printf("progress: %zu/%zu sent, %zu replies, %zu differing, "
		    "%.1f msg/s\n", done, total, rp->nreplies, ndiff,
		    el > 0 ? (double)done / el : 0.0);
		fflush(stdout);
		return;
	}
	fill = total ? (int)((double)done / (double)total * w) : w;
	printf("\r[");
	for (k = 0; k < w; k++)
		putchar(k < fill ? '#' : '.');
	printf("] %zu/%zu sent  %zu replies  %zu differing ", done, total,
	    rp->nreplies, ndiff);
	fflush(stdout);
}

/*
 * Reporting.
 */

static int
rp_dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
rp_pct(const double *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)ceil(p / 100.0 * (double)n);
	if (i > 0)
		i--;
	return v[i < n ? i : n - 1];
}

struct rp_lat {
	double	*v;
	size_t	 n;
};

static void
rp_lat_collect(struct rp *rp, const char *kind, struct rp_lat *l)
{
	size_t i;

	l->v = xcalloc(rp->nres + 1, sizeof *l->v);
	l->n = 0;
	for (i = 0; i < rp->nres; i++)
		if (rp->res[i]->latency_ms >= 0 &&
		    strcmp(rp->res[i]->kind, kind) == 0)
			l->v[l->n++] = rp->res[i]->latency_ms;
	qsort(l->v, l->n, sizeof *l->v, rp_dcmp);
}

/* {"n","p50","p90","p99","max"} of a latency set, in ms. */
static json_t *
rp_json_lat(const struct rp_lat *l)
{
	json_t *o = json_object();

	jsonutil_set_int(o, "n", (json_int_t)l->n);
	jsonutil_set_real(o, "p50", rp_pct(l->v, l->n, 50), 3);
	jsonutil_set_real(o, "p90", rp_pct(l->v, l->n, 90), 3);
	jsonutil_set_real(o, "p99", rp_pct(l->v, l->n, 99), 3);
	jsonutil_set_real(o, "max", l->n ? l->v[l->n - 1] : 0.0, 3);
	return o;
}

/* One compared reply of the JSON report. */
static json_t *
rp_json_result(const struct rp_result *r)
{
	json_t *o = json_object();

	jsonutil_set_str(o, "status", rp_status_name[r->status]);
	jsonutil_set_str(o, "kind", r->kind);
	jsonutil_set_str(o, "line", r->line);
	jsonutil_set_str(o, "mke", r->mke);
	jsonutil_set_str(o, "ctl", r->ctl);
	jsonutil_set_str(o, "ori", r->ori);
	jsonutil_set_str(o, "recorded", r->recorded);
	jsonutil_set_str(o, "replayed", r->replayed);
	if (r->detail != NULL)
		jsonutil_set_str(o, "detail", r->detail);
	if (r->latency_ms >= 0)
		jsonutil_set_real(o, "latency_ms", r->latency_ms, 3);
	return o;
}

struct rp_sum {
	size_t	 n[5];
	double	 elapsed_s, achieved, requested;
	struct rp_lat ans, dlv;
};

/* --report json: the counts, the rate, the latencies, every reply. */
static int
rp_report_json(struct rp *rp, const struct rp_sum *s, FILE *f)
{
	json_t	*doc = json_object(), *o;
	size_t	 i;
	int	 rc;

	jsonutil_set_str(doc, "tool", "nlreplay");
	jsonutil_set_int(doc, "sent", (json_int_t)rp->nsent);
	jsonutil_set_int(doc, "expected", (json_int_t)(s->n[RP_MATCHED] +
	    s->n[RP_DIFFERING] + s->n[RP_MISSING]));
	jsonutil_set_int(doc, "matched", (json_int_t)s->n[RP_MATCHED]);
	jsonutil_set_int(doc, "differing", (json_int_t)s->n[RP_DIFFERING]);
	jsonutil_set_int(doc, "missing", (json_int_t)s->n[RP_MISSING]);
	jsonutil_set_int(doc, "unexpected", (json_int_t)s->n[RP_UNEXPECTED]);
	jsonutil_set_real(doc, "elapsed_s", s->elapsed_s, 3);
	o = json_object();
	jsonutil_set_str(o, "mode", rp->rate > 0 ? "rate" : "timing");
	jsonutil_set_real(o, "requested", s->requested, 3);
	jsonutil_set_real(o, "achieved", s->achieved, 3);
	jsonutil_set_real(o, "error_pct", s->requested > 0 ? (s->achieved -
	    s->requested) / s->requested * 100 : 0.0, 2);
	jsonutil_set(doc, "rate", o);
	o = json_object();
	jsonutil_set(o, "answer", rp_json_lat(&s->ans));
	jsonutil_set(o, "delivery", rp_json_lat(&s->dlv));
	jsonutil_set(doc, "latency_ms", o);
	o = json_array();
	for (i = 0; i < rp->nres; i++)
		jsonutil_append(o, rp_json_result(rp->res[i]));
	jsonutil_set(doc, "replies", o);
	rc = jsonutil_write(doc, JSONUTIL_COMPACT, f);
	json_decref(doc);
	return rc;
}

static void
rp_xml_attr(FILE *f, const char *s)
{
	struct ubuf b;

	ubuf_init(&b);
	ubuf_add_xml(&b, s ? s : "", s ? strlen(s) : 0);
	fwrite(b.data, 1, b.len, f);
	ubuf_free(&b);
}

/* --report junit; @return 0, or -1 when f could not be written. */
static int
rp_report_junit(struct rp *rp, const struct rp_sum *s, FILE *f)
{
	size_t	i, tests = rp->nres;
	size_t	fails = s->n[RP_DIFFERING] + s->n[RP_MISSING] +
		    s->n[RP_UNEXPECTED];

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites name=\"nlreplay\" tests=\"%zu\" failures=\"%zu\" "
	    "errors=\"0\" time=\"%.3f\">\n"
	    "  <testsuite name=\"nlreplay\" tests=\"%zu\" failures=\"%zu\" "
	    "errors=\"0\" skipped=\"0\" time=\"%.3f\">\n", tests, fails,
	    s->elapsed_s, tests, fails, s->elapsed_s);
	fprintf(f, "    <properties>\n"
	    "      <property name=\"mode\" value=\"%s\"/>\n"
	    "      <property name=\"rate.requested\" value=\"%.3f\"/>\n"
	    "      <property name=\"rate.achieved\" value=\"%.3f\"/>\n"
	    "    </properties>\n", rp->rate > 0 ? "rate" : "timing",
	    s->requested, s->achieved);
	for (i = 0; i < rp->nres; i++) {
		struct rp_result *r = rp->res[i];
		char name[160];

		snprintf(name, sizeof name, "%s %s %s %s -> %s", r->kind,
		    r->mke, r->ctl, r->ori, r->recorded[0] ? r->recorded :
		    r->replayed);
		fprintf(f, "    <testcase classname=\"nlreplay.");
		rp_xml_attr(f, r->line);
		fprintf(f, "\" name=\"");
		rp_xml_attr(f, name);
		fprintf(f, "\" time=\"%.3f\"", r->latency_ms >= 0 ?
		    r->latency_ms / 1000.0 : 0.0);
		if (r->status == RP_MATCHED) {
			fprintf(f, "/>\n");
			continue;
		}
		fprintf(f, ">\n      <failure type=\"%s\" message=\"",
		    rp_status_name[r->status]);
		rp_xml_attr(f, r->detail ? r->detail :
		    rp_status_name[r->status]);
		fprintf(f, "\">recorded: ");
		rp_xml_attr(f, r->recorded[0] ? r->recorded : "-");
		fprintf(f, "\nreplayed: ");
		rp_xml_attr(f, r->replayed[0] ? r->replayed : "-");
		fprintf(f, "</failure>\n    </testcase>\n");
	}
	fprintf(f, "  </testsuite>\n</testsuites>\n");
	return ferror(f) ? -1 : 0;
}

static void
rp_print_lat(const char *name, const struct rp_lat *l)
{
	if (l->n == 0)
		return;
	printf("latency %-9s (ms, n=%zu): p50 %.2f  p90 %.2f  p99 %.2f  "
	    "max %.2f\n", name, l->n, rp_pct(l->v, l->n, 50),
	    rp_pct(l->v, l->n, 90), rp_pct(l->v, l->n, 99), l->v[l->n - 1]);
}

/* Everything the replay allocated (LeakSanitizer runs in the tests). */
static void
rp_free(struct rp *rp)
{
	size_t	i;
	int	n;

	for (i = 0; i < rp->nmsg; i++) {
		free(rp->msg[i].xml);
		free(rp->msg[i].ansdata);
	}
	for (i = 0; i < rp->ndlv; i++)
		free(rp->dlv[i].xml);
	for (i = 0; i < rp->nres; i++) {
		free(rp->res[i]->detail);
		free(rp->res[i]);
	}
	for (n = 0; n < rp->nline; n++) {
		if (rp->line[n].c != NULL)
			client_free(rp->line[n].c);
		if (rp->line[n].ssl != NULL)
			SSL_CTX_free(rp->line[n].ssl);
		free(rp->line[n].bytag);
		free(rp->line[n].seen);
	}
	free(rp->msg);
	free(rp->dlv);
	free(rp->res);
	free(rp->ev);
	free(rp->line);
	if (rp->ev_step != NULL)
		event_free(rp->ev_step);
	if (rp->ev_progress != NULL)
		event_free(rp->ev_progress);
	if (rp->base != NULL)
		event_base_free(rp->base);
	xmlCleanupParser();
}

/* --dump: every record, one line each, then the message. */
static int
rp_dump(char **files, int n)
{
	struct recorder_reader	*rd;
	struct recorder_rec	 r;
	char			*cause = NULL, ts[32];
	time_t			 t;
	struct tm		 tm;
	int			 f, rc, bad = 0;

	for (f = 0; f < n; f++) {
		if ((rd = recorder_reader_open(files[f], &cause)) == NULL) {
			fprintf(stderr, "nlreplay: %s\n", cause);
			free(cause);
			return 3;
		}
		printf("# %s: version %d, images %s\n", files[f],
		    RECORDER_VERSION, recorder_reader_flags(rd) &
		    RECORDER_F_IMAGES ? "yes" : "no (redacted)");
		while ((rc = recorder_read(rd, &r, &cause)) == 1) {
			t = (time_t)(r.time_us / 1000000);
			gmtime_r(&t, &tm);
			strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
			printf("%s.%06uZ %-4s line=%s cn=%s sess=%llu ",
			    ts, (unsigned)(r.time_us % 1000000),
			    recorder_type_name(r.type), r.line, r.cn,
			    (unsigned long long)r.sess);
			if (r.type == RECORDER_DLV)
				printf("msgid=%016llx.%u",
				    (unsigned long long)r.id, r.copy);
			else if (r.type != RECORDER_UP &&
			    r.type != RECORDER_DOWN)
				printf("tag=%llu", (unsigned long long)r.id);
			printf(" len=%zu%s\n", r.len, r.flags &
			    RECORDER_R_REDACTED ? " redacted" : "");
			if (r.type == RECORDER_ACK || r.type == RECORDER_UP ||
			    r.type == RECORDER_DOWN)
				printf("  %s\n", r.data);
			else if (r.len > 0)
				printf("%s%s", r.data, r.data[r.len - 1] ==
				    '\n' ? "" : "\n");
		}
		if (rc == -1) {
			fprintf(stderr, "nlreplay: %s\n", cause);
			free(cause);
			bad = 1;
		}
		recorder_reader_close(rd);
	}
	return bad ? 3 : 0;
}

/* What main takes from the command line besides struct rp's settings. */
struct rp_opts {
	const char	*portfile;
	const char	*report_fmt[2];		/* "json" or "junit" */
	const char	*report_file[2];
	int		 nreport;
	int		 dump;
	int		 nmodes;		/* --speed and --rate given */
	char		**files;		/* the captures */
	int		 nfiles;
};

/* A --line, --mke, --ori (ch 'l', 'K', 'o') or --ignore ('i') more. */
static void
rp_filter_add(struct rp *rp, int ch, char *arg)
{
	char	**set = ch == 'l' ? rp->lines : ch == 'K' ? rp->mkes :
		    ch == 'o' ? rp->oris : rp->ignore;
	int	 *n = ch == 'l' ? &rp->nlines : ch == 'K' ? &rp->nmkes :
		    ch == 'o' ? &rp->noris : &rp->nignore;

	if (*n == RP_MAXFILTER)
		usage(2);
	set[(*n)++] = arg;
}

/* Option ch of the command line into rp and o (--report takes the next
 * argument too); a usage error exits 2. */
static void
rp_option(struct rp *rp, struct rp_opts *o, int ch, int argc, char *argv[])
{
	switch (ch) {
	case 'H':
		rp->host = optarg;
		break;
	case 'k':
		rp->pki = optarg;
		break;
	case 'P':
		o->portfile = optarg;
		break;
	case 'p':
		util_strlcpy(rp->port, optarg, sizeof rp->port);
		break;
	case 'q':
		rp->quiet = 1;
		break;
	case 'D':
		o->dump = 1;
		break;
	case 'm':
		rp->max_sleep = atof(optarg);
		if (rp->max_sleep < 0)
			usage(2);
		break;
	case 's':
		if ((rp->speed = atof(optarg)) <= 0)
			usage(2);
		o->nmodes++;
		break;
	case 'r':
		if ((rp->rate = atof(optarg)) <= 0)
			usage(2);
		o->nmodes++;
		break;
	case 't':
		if ((rp->timeout = atof(optarg)) <= 0)
			usage(2);
		break;
	case 'l':
	case 'K':
	case 'o':
	case 'i':
		rp_filter_add(rp, ch, optarg);
		break;
	case 'R':
		if (o->nreport == 2 || optind >= argc ||
		    (strcmp(optarg, "json") != 0 &&
		    strcmp(optarg, "junit") != 0))
			usage(2);
		o->report_fmt[o->nreport] = optarg;
		o->report_file[o->nreport++] = argv[optind++];
		break;
	case 'h':
		usage(0);
	case 'V':
		util_version_exit("nlreplay");
	default:
		usage(2);
	}
}

/* Step 1: the command line into rp and o; a usage error exits 2. */
static void
rp_options(struct rp *rp, struct rp_opts *o, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "max-sleep",	required_argument, NULL, 'm' },
		{ "speed",	required_argument, NULL, 's' },
		{ "rate",	required_argument, NULL, 'r' },
		{ "line",	required_argument, NULL, 'l' },
		{ "mke",	required_argument, NULL, 'K' },
		{ "ori",	required_argument, NULL, 'o' },
		{ "ignore",	required_argument, NULL, 'i' },
		{ "report",	required_argument, NULL, 'R' },
		{ "timeout",	required_argument, NULL, 't' },
		{ "quiet",	no_argument,	   NULL, 'q' },
		{ "dump",	no_argument,	   NULL, 'D' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ "version",	no_argument,	   NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	memset(o, 0, sizeof *o);
	rp->pki = "pki";
	rp->host = "127.0.0.1";
	rp->speed = 1;
	rp->max_sleep = -1;
	rp->timeout = 10;
	while ((ch = getopt_long(argc, argv, "H:hk:P:p:q", longopts,
	    NULL)) != -1)
		rp_option(rp, o, ch, argc, argv);
	o->files = argv + optind;
	o->nfiles = argc - optind;
	if (o->dump && o->nfiles >= 1)
		return;
	o->dump = 0;
	if (o->nfiles < 1 || o->nmodes > 1 || (rp->rate > 0 &&
	    rp->max_sleep >= 0) || (o->portfile == NULL && rp->port[0] == '\0'))
		usage(2);
}

/*
 * Step 2: check the --ignore XPaths, find the switch's port.
 * @return 0, or the exit status (2 a bad XPath, 3 no port).
 */
static int
rp_prepare(struct rp *rp, const struct rp_opts *o)
{
	int i;

	for (i = 0; i < rp->nignore; i++)
		if (rp_xpath_check(rp->ignore[i]) == -1) {
			fprintf(stderr, "nlreplay: --ignore %s: not an XPath "
			    "over the prefixes n2 nh2 n2c n2-aa nc j j40 psp\n",
			    rp->ignore[i]);
			return 2;
		}
	if (o->portfile != NULL && client_read_portfile(o->portfile, 5000,
	    rp->port, sizeof rp->port) == -1) {
		fprintf(stderr, "nlreplay: %s: no port\n", o->portfile);
		return 3;
	}
	rp->tty = !rp->quiet && isatty(1);
	return 0;
}

/* Step 3: load the captures and plan what to send; @return 0 or -1. */
static int
rp_open(struct rp *rp, const struct rp_opts *o)
{
	int n;

	xmlInitParser();
	if (rp_load(rp, o->files, o->nfiles) == -1)
		return -1;
	rp_plan(rp);
	if (rp->quiet)
		return 0;
	printf("nlreplay: %zu messages, %zu deliveries recorded; replaying "
	    "%zu originating messages on", rp->nmsg, rp->ndlv, rp->nroot);
	for (n = 0; n < rp->nline; n++)
		if (rp->line[n].replay)
			printf(" %s", rp->line[n].code);
	printf(" (%s)\n", rp->rate > 0 ? "fixed rate" : rp->speed != 1 ?
	    "recorded timing, faster" : "recorded timing");
	return 0;
}

/* Step 4: the replay loop, until everything is answered or timed out. */
static void
rp_run(struct rp *rp)
{
	struct timeval pt = { 0, RP_PROGRESS_MS * 1000 };

	rpg = rp;
	signal(SIGPIPE, SIG_IGN);
	rp->base = event_base_new();
	rp->ev_step = evtimer_new(rp->base, rp_step_cb, rp);
	if (rp->tty || !rp->quiet) {
		/* Without a terminal, a line every RP_PROGRESS_LOG_S. */
		if (!rp->tty)
			pt.tv_sec = RP_PROGRESS_LOG_S, pt.tv_usec = 0;
		rp->ev_progress = event_new(rp->base, -1, EV_PERSIST,
		    rp_progress_cb, rp);
		event_add(rp->ev_progress, &pt);
	}
	rp->start_us = rp->due_us = rp->last_activity_us = rp_now();
	rp->rate_base_us = rp->start_us;
	rp_kick(rp, 0);
	event_base_dispatch(rp->base);
	if (rp->tty) {
		rp_progress_cb(-1, 0, rp);
		printf("\n");
	} else if (!rp->quiet)
		rp_progress_cb(-1, 0, rp);	/* the last line of progress */
}

/* Step 5: whatever did not come is missing; count, rate, latencies. */
static void
rp_tally(struct rp *rp, struct rp_sum *s)
{
	size_t i;

	for (i = 0; i < rp->nmsg; i++) {
		struct rp_msg *m = &rp->msg[i];

		if (m->res != NULL && m->res->status == RP_PENDING) {
			m->res->status = RP_MISSING;
			if (m->res->detail == NULL)
				m->res->detail = m->sent ? xstrdup("no answer") :
				    m->parent != NULL ? xasprintf("not sent: "
				    "the %s it answers did not arrive",
				    m->parent->mke) : xstrdup("not sent");
		}
	}
	for (i = 0; i < rp->nres; i++) {
		if (rp->res[i]->status == RP_PENDING) {
			rp->res[i]->status = RP_MISSING;
			if (rp->res[i]->detail == NULL)
				rp->res[i]->detail = xstrdup("not delivered");
		}
		s->n[rp->res[i]->status]++;
	}
	s->elapsed_s = (double)(rp_now() - rp->start_us) / 1e6;
	if (rp->rate > 0)
		s->requested = rp->rate;
	else if (rp->nroot > 1 && rp->rec_last_us > rp->rec_first_us)
		s->requested = (double)(rp->nroot - 1) * 1e6 /
		    ((double)(rp->rec_last_us - rp->rec_first_us) /
		    rp->speed);
	if (rp->nroot_sent > 1 && rp->last_root_us > rp->first_root_us)
		s->achieved = (double)(rp->nroot_sent - 1) * 1e6 /
		    (double)(rp->last_root_us - rp->first_root_us);
	rp_lat_collect(rp, "answer", &s->ans);
	rp_lat_collect(rp, "delivery", &s->dlv);
}

/* Step 6: the text summary on stdout (not with -q). */
static void
rp_print_summary(const struct rp *rp, const struct rp_sum *s)
{
	size_t i;

	for (i = 0; i < rp->nres; i++) {
		const struct rp_result *r = rp->res[i];

		if (r->status == RP_MATCHED)
			continue;
		printf("%-10s %-8s %-5s %-3s ctl=%-10s ori=%s "
		    "recorded=%s replayed=%s\n           %s\n",
		    rp_status_name[r->status], r->kind, r->line, r->mke,
		    r->ctl, r->ori, r->recorded[0] ? r->recorded : "-",
		    r->replayed[0] ? r->replayed : "-",
		    r->detail ? r->detail : "");
	}
	printf("replies: %zu expected: %zu matched, %zu differing, "
	    "%zu missing; %zu unexpected\n", s->n[RP_MATCHED] +
	    s->n[RP_DIFFERING] + s->n[RP_MISSING], s->n[RP_MATCHED],
	    s->n[RP_DIFFERING], s->n[RP_MISSING], s->n[RP_UNEXPECTED]);
	rp_print_lat("answer", &s->ans);
	rp_print_lat("delivery", &s->dlv);
	if (rp->rate > 0)
		printf("rate: requested %.2f msg/s, achieved %.2f msg/s "
		    "(%+.2f %%) over %zu originating messages\n",
		    s->requested, s->achieved, s->requested > 0 ?
		    (s->achieved - s->requested) / s->requested * 100 : 0,
		    rp->nroot_sent);
	else
		printf("rate: recorded timing%s gives %.2f msg/s, "
		    "achieved %.2f msg/s over %zu originating "
		    "messages\n", rp->max_sleep >= 0 ? " (capped)" : "",
		    s->requested, s->achieved, rp->nroot_sent);
	printf("sent %zu messages in %.2f s\n", rp->nsent, s->elapsed_s);
}

/*
 * Step 7: the --report files, in order.
 * @return 0, or -1 (said why) when one cannot be opened or written.
 */
static int
rp_reports(struct rp *rp, const struct rp_sum *s, const struct rp_opts *o)
{
	FILE	*f;
	int	 k, rc;

	for (k = 0; k < o->nreport; k++) {
		if ((f = fopen(o->report_file[k], "w")) == NULL) {
			fprintf(stderr, "nlreplay: %s: %s\n", o->report_file[k],
			    strerror(errno));
			return -1;
		}
		if (strcmp(o->report_fmt[k], "json") == 0)
			rc = rp_report_json(rp, s, f);
		else
			rc = rp_report_junit(rp, s, f);
		if (fclose(f) == EOF)
			rc = -1;
		if (rc == -1) {
			fprintf(stderr, "nlreplay: %s: cannot write the "
			    "report\n", o->report_file[k]);
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	static struct rp	 rpv;
	struct rp		*rp = &rpv;
	struct rp_opts		 o;
	struct rp_sum		 s;
	int			 rc;

	memset(&s, 0, sizeof s);
	rp_options(rp, &o, argc, argv);
	if (o.dump) {
		rc = rp_dump(o.files, o.nfiles);
		goto fail;
	}
	if ((rc = rp_prepare(rp, &o)) != 0)
		goto fail;
	rc = 3;
	if (rp_open(rp, &o) == -1)
		goto fail;
	rp_run(rp);
	rp_tally(rp, &s);
	if (!rp->quiet)
		rp_print_summary(rp, &s);
	if (rp_reports(rp, &s, &o) == -1)
		goto fail;
	rc = rp->fatal ? 3 : (s.n[RP_DIFFERING] + s.n[RP_MISSING] +
	    s.n[RP_UNEXPECTED]) > 0 ? 1 : 0;
	/* Success comes this way too: the one unwind path. */
fail:
	free(s.ans.v);
	free(s.dlv.v);
	rp_free(rp);
	return rc;
}
