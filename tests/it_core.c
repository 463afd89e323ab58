/*
 * it_core - end-to-end tests of the core switch with real processes on
 * 127.0.0.1: nlswitchd, nlstate simulators and TLS test clients.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <CUnit/Basic.h>
#include <event2/event.h>

#include "avatar.h"
#include "client.h"
#include "dmv.h"
#include "frame.h"
#include "it_util.h"
#include "util.h"
#include "xscan.h"

static struct it_env	*env;
static pid_t		 ca_state;

#define WAIT	15000	/* ms: generous bound for one exchange */

static int
suite_init(void)
{
	char *argv[] = { "bin/nlstate", "-s", "CA", "-k", NULL, "-l", "cadmv",
	    "-P", NULL, "-n", "1000", NULL };

	env = it_env_new("core", "max-frame=\"65536\" heartbeat=\"2\" "
	    "ack-timeout=\"5\" retry-min=\"1\" retry-max=\"2\"");
	if (env == NULL || it_switch_start(env) == -1)
		return -1;
	argv[4] = env->pki;
	argv[8] = env->portfile;
	ca_state = it_spawn(env, "nlstate-ca.log", argv);
	return ca_state > 0 ? 0 : -1;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

static char *
oln(const char *state, uint32_t index)
{
	static char buf[16];

	dmv_oln(state, index, buf, sizeof buf);
	return buf;
}

static void
test_dq_photo(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_dlv		*d;
	struct xscan		 sc;
	struct xscan_tok	 t;
	const char		*p;
	uint8_t			*img;
	size_t			 n;
	int			 w, h;
	uint64_t		 tag;

	CU_ASSERT_FATAL(a != NULL && a->up);
	tag = it_client_send(a, it_dq("WA0340000", "CA", "PHOTO1", oln("CA", 7), 1));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	d = it_find(a, "DR", "PHOTO1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	/* Output header stamped by the switch: the receiving ORI, dates
	 * MM/DD/CCYY, times HH:MM, 5-digit sequence numbers. */
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "DestinationORIID"), "WA0340000");
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "OriginatingORIID"), "CAOLN0000");
	CU_ASSERT_EQUAL(strlen(it_field(d->xml, "SendMessageNumeric")), 5);
	CU_ASSERT(atoi(it_field(d->xml, "SendMessageNumeric")) > 0);
	CU_ASSERT_EQUAL(strlen(it_field(d->xml, "ReceiveMessageNumeric")), 5);
	CU_ASSERT_EQUAL(strlen(it_field(d->xml, "MessageReceiveTime")), 5);
	CU_ASSERT_EQUAL(strlen(it_field(d->xml, "MessageSendDate")), 10);
	CU_ASSERT_EQUAL(it_field(d->xml, "MessageSendDate")[2], '/');
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "IdentificationID"),
	    oln("CA", 7));
	/* The photo decodes as the JPEG the state drew. */
	xscan_init(&sc, d->xml, d->len);
	CU_ASSERT_EQUAL_FATAL(xscan_find(&sc, "BinaryBase64Object", 0, &t), 0);
	p = t.p + t.len;
	CU_ASSERT_EQUAL_FATAL(xscan_find(&sc, "BinaryBase64Object", 1, &t), 0);
	img = util_b64_decode(p, (size_t)(t.p - p), &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	CU_ASSERT_EQUAL(avatar_is_jpeg(img, n, &w, &h), 1);
	CU_ASSERT_EQUAL(w, AVATAR_WIDTH);
	CU_ASSERT_EQUAL(h, AVATAR_HEIGHT);
	/* Its size in kilobytes, as NIEM has it. */
	CU_ASSERT(strtod(it_field(d->xml, "BinarySizeValue"), NULL) * 1024 -
	    (double)n < 10.24);
	CU_ASSERT((double)n - strtod(it_field(d->xml, "BinarySizeValue"),
	    NULL) * 1024 < 10.24);
	free(img);

	/* Unknown license: NOT ON FILE, no photo. */
	tag = it_client_send(a, it_dq("WA0340000", "CAOLN0000", "NOF1", "C99999999", 1));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	d = it_find(a, "DR", "NOF1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "ResponseText"), "NOT ON FILE");
	CU_ASSERT_PTR_NULL(strstr(d->xml, "BinaryBase64Object"));
	it_client_free(a);
}

static void
test_store_and_forward(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_dlv		*d;
	uint64_t		 tag;
	pid_t			 nv;
	char *argv[] = { "bin/nlstate", "-s", "NV", "-k", env->pki, "-l",
	    "nvdmv", "-P", env->portfile, "-n", "1000", NULL };

	CU_ASSERT_FATAL(a != NULL && a->up);
	/* NV is down: the query is stored, the sender gets SM .02. */
	tag = it_client_send(a, it_dq("WA0340000", "NV", "HELD1", oln("NV", 3), 0));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	d = it_find(a, "SM", "HELD1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_EQUAL(it_sm(d->xml), MSG_SM_HELD);
	CU_ASSERT_STRING_EQUAL(it_sm_dest(d->xml), "NV");
	CU_ASSERT_PTR_NULL(it_find(a, "DR", "HELD1", 0));
	/* NV comes up: the held query is delivered and answered. */
	nv = it_spawn(env, "nlstate-nv.log", argv);
	d = it_find(a, "DR", "HELD1", WAIT);
	CU_ASSERT_PTR_NOT_NULL(d);
	if (d != NULL)
		CU_ASSERT_STRING_EQUAL(it_field(d->xml, "IdentificationID"),
		    oln("NV", 3));
	it_kill(env, nv, SIGTERM);
	it_client_free(a);
}

static void
assert_nak(struct it_client *a, uint64_t tag, int code)
{
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 2);
	CU_ASSERT_EQUAL(it_er(a->reply[tag]), code);
	CU_ASSERT_STRING_EQUAL(it_field(it_xml(a->reply[tag]),
	    "OriginatingORIID"), "NL0000000");
}

static void
test_routing_errors(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	uint64_t		 tag;

	CU_ASSERT_FATAL(a != NULL && a->up);
	tag = it_client_send(a, it_dq("WA0340000", "ZZ", "BAD1", "C00000001", 0));
	assert_nak(a, tag, MSG_ER_DEST);
	CU_ASSERT_EQUAL(strncmp(it_er_text(a->reply[tag]),
	    ".19. INVALID DESTINATION ORIs\n", 30), 0);
	CU_ASSERT_STRING_EQUAL(it_field(a->reply[tag],
	    "DocumentControlFieldText"), "BAD1");
	/* An ORI this line is not entitled to. */
	tag = it_client_send(a, it_dq("OR0260000", "CA", "BAD2", "C00000001", 0));
	assert_nak(a, tag, MSG_ER_ORI);
	/* The session is still fine. */
	tag = it_client_send(a, it_dq("WA0340000", "CA", "OK3", oln("CA", 1), 0));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(it_find(a, "DR", "OK3", WAIT));
	it_client_free(a);
}

#define HS_FAILURES	"nlswitch_tls_handshake_failures_total"

static void
test_tls_refusals(void)
{
	struct it_client	*t;
	long long		 f0 = it_metric(env, HS_FAILURES);

	CU_ASSERT(f0 >= 0);
	t = it_client_new(env, "", WAIT);	/* no client certificate */
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	it_client_wait_closed(t, WAIT);
	CU_ASSERT_FALSE(t->up);
	CU_ASSERT_TRUE(t->closed);
	it_client_free(t);

	t = it_client_new(env, "other", WAIT);	/* another CA's certificate */
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	it_client_wait_closed(t, WAIT);
	CU_ASSERT_FALSE(t->up);
	CU_ASSERT_TRUE(t->closed);
	/* Said in words, not as an OpenSSL error code. */
	CU_ASSERT_STRING_EQUAL(t->why, "certificate rejected by the switch "
	    "(alert: unknown CA)");
	it_client_free(t);

	/* Our CA, a name no line has: the handshake succeeds, then the
	 * switch closes the session (under check-asan this also proves the
	 * close does not touch the freed session), and keeps serving. */
	t = it_client_new(env, "stranger", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	it_client_wait_closed(t, WAIT);
	CU_ASSERT_FALSE(t->up);
	CU_ASSERT_TRUE(t->closed);
	it_client_free(t);
	t = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(t != NULL && t->up);
	it_client_free(t);
	/* Each refusal counted once, wherever it was decided (the handshake
	 * thread or the session). */
	CU_ASSERT_EQUAL(it_wait_metric(env, HS_FAILURES, f0 + 3, WAIT), f0 + 3);
}

/* A second session must keep flowing while the first misbehaves. */
static void
check_flowing(struct it_client *b, const char *ctl)
{
	uint64_t tag = it_client_send(b, it_dq("OR0260000", "CA", ctl,
	    oln("CA", 2), 0));

	CU_ASSERT_EQUAL(it_client_wait(b, tag, WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(it_find(b, "DR", ctl, WAIT));
}

/*
 * Handshakes that stall (a connection that says nothing, one that stops
 * half-way through its ClientHello, one that sends a whole ClientHello
 * and never answers) hold nobody up: meanwhile another line connects, its
 * messages are ACKed and answered, and an established line's too. The
 * switch drops the three at the handshake timeout (3 heartbeats, 6 s
 * here); a timeout is no refusal (not counted, as ever), but a peer that
 * leaves half-way through its ClientHello is.
 */
static void
test_handshake_stall(void)
{
	struct it_client	*a, *b;
	long long		 f0 = it_metric(env, HS_FAILURES);
	int			 fd[3], gone, i;

	CU_ASSERT(f0 >= 0);
	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	for (i = 0; i < 3; i++)
		fd[i] = it_tls_stall(env, i);
	gone = it_tls_stall(env, 1);
	CU_ASSERT_FATAL(fd[0] != -1 && fd[1] != -1 && fd[2] != -1 &&
	    gone != -1);
	/* A new line's handshake is not behind the stalled ones. */
	b = it_client_new(env, "oragy", WAIT);
	CU_ASSERT_FATAL(b != NULL && b->up);
	check_flowing(b, "STALL1");
	{
		uint64_t tag = it_client_send(a, it_dq("WA0340000", "CA",
		    "STALL2", oln("CA", 3), 0));

		CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);
		CU_ASSERT_PTR_NOT_NULL(it_find(a, "DR", "STALL2", WAIT));
	}
	close(gone);
	CU_ASSERT_EQUAL(it_wait_metric(env, HS_FAILURES, f0 + 1, WAIT), f0 + 1);
	for (i = 0; i < 3; i++) {
		CU_ASSERT_TRUE(it_wait_eof(env, fd[i], 4 * WAIT));
		close(fd[i]);
	}
	it_pump(env, 300);	/* counts travel within 100 ms */
	CU_ASSERT_EQUAL(it_metric(env, HS_FAILURES), f0 + 1);
	/* Both lines still up. */
	check_flowing(b, "STALL3");
	it_client_free(b);
	it_client_free(a);
}

static void
test_bad_input(void)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	struct it_client	*b = it_client_new(env, "oragy", WAIT);
	char			*big, *fix;
	uint8_t			 hdr[FRAME_HDR_LEN];
	uint64_t		 tag;
	char			 path[512];

	CU_ASSERT_FATAL(a != NULL && a->up && b != NULL && b->up);

	/* Oversize: ER .91., then ERROR and the switch closes (the rest of
	 * the stream cannot be trusted). */
	big = xmalloc(70000);
	memset(big, 'A', 69999);
	big[69999] = '\0';
	tag = it_client_send(a, big);
	free(big);
	assert_nak(a, tag, MSG_ER_TOO_LARGE);
	/* Even this one quotes the input that came with the header (the
	 * first TLS record) and says why. */
	{
		const char		*t = it_er_text(a->reply[tag]);
		struct msg_er_parts	 ep;

		CU_ASSERT_EQUAL_FATAL(msg_er_split(t, strlen(t), &ep), 0);
		CU_ASSERT_EQUAL(ep.inputlen, MSG_ER_INPUT_LEN);
		CU_ASSERT_EQUAL(strncmp(ep.input, "AAAAAAAAAA", 10), 0);
		CU_ASSERT_PTR_NOT_NULL(ep.detail);
		CU_ASSERT_PTR_NOT_NULL(memmem(ep.detail, ep.detaillen,
		    "the limit is 65536", 18));
	}
	CU_ASSERT_EQUAL(it_client_wait_closed(a, WAIT), 0);
	CU_ASSERT_STRING_EQUAL(a->why, "switch closed the connection: "
	    "MSG length 69999 exceeds max-frame 65536");
	it_client_free(a);
	check_flowing(b, "FLOW1");

	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);

	tag = it_client_send(a, "<n2:NLETS><n2:NLETSMessageHeader>");
	assert_nak(a, tag, MSG_ER_MALFORMED);
	tag = it_client_send(a, "");
	assert_nak(a, tag, MSG_ER_MALFORMED);

	snprintf(path, sizeof path, "%s/fixtures/msg/invalid/format-xxe.xml",
	    env->root);
	fix = util_read_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fix);
	tag = it_client_send(a, fix);
	CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 2);
	CU_ASSERT_PTR_NULL(strstr(a->reply[tag], "root:"));
	free(fix);
	snprintf(path, sizeof path,
	    "%s/fixtures/msg/invalid/format-billion-laughs.xml", env->root);
	fix = util_read_file(path, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(fix);
	tag = it_client_send(a, fix);
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 2);
	free(fix);
	CU_ASSERT_TRUE(a->up);
	check_flowing(b, "FLOW2");

	/* Garbage frame: unknown version -> ERROR, the switch disconnects. */
	memset(hdr, 0xEE, sizeof hdr);
	client_send_raw(a->c, hdr, sizeof hdr);
	CU_ASSERT_EQUAL(it_client_wait_closed(a, WAIT), 0);
	CU_ASSERT_STRING_EQUAL(a->why, "switch closed the connection: "
	    "bad protocol version 238, expected 1");
	it_client_free(a);
	check_flowing(b, "FLOW3");

	/* Truncated frame then close: nothing stored, no crash. */
	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	frame_encode(hdr, FRAME_MSG, 0, 99, 1000);
	client_send_raw(a->c, hdr, sizeof hdr);
	client_send_raw(a->c, "<NLETS>", 7);
	it_pump(env, 200);
	it_client_free(a);
	check_flowing(b, "FLOW4");
	it_client_free(b);
	/* The switch is still the same process. */
	CU_ASSERT_EQUAL(kill(env->switch_pid, 0), 0);
}

/*
 * Send bytes on a new session of WAAGY and nothing more: the switch must
 * answer an ERROR frame with this reason before it closes (the client
 * reports "switch closed the connection: " and the ERROR's text only for
 * an ERROR frame; a bare close is an EOF or TLS error).
 * @return the client, closed, for more checks (caller frees).
 */
static struct it_client *
assert_refused(const void *bytes, size_t len, const char *reason)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	char			 want[256];

	CU_ASSERT_FATAL(a != NULL && a->up);
	client_send_raw(a->c, bytes, len);
	CU_ASSERT_EQUAL(it_client_wait_closed(a, WAIT), 0);
	CU_ASSERT_FALSE(a->up);
	snprintf(want, sizeof want, "switch closed the connection: %s",
	    reason);
	CU_ASSERT_STRING_EQUAL(a->why, want);
	return a;
}

/* A raw frame header: any type, version and length. */
static const uint8_t *
raw_hdr(uint8_t type, uint8_t version, uint64_t id, uint32_t len)
{
	static uint8_t hdr[FRAME_HDR_LEN];

	frame_encode(hdr, type, 0, id, len);
	hdr[5] = version;
	return hdr;
}

/*
 * Protocol errors end the session with an ERROR frame naming the fault
 * (docs/protocol.md), sent before the close; the switch keeps serving.
 */
static void
test_protocol_errors(void)
{
	static const char	 http[] = "GET / HTTP/1.1\r\nHost: nlswitch\r\n\r\n";
	struct it_client	*a, *b = it_client_new(env, "oragy", WAIT);
	struct msg_er_parts	 ep;
	const char		*t;

	CU_ASSERT_FATAL(b != NULL && b->up);

	/* (a) Garbage: an HTTP request is no frame ("GET " a length, '/'
	 * a type, ' ' a version). */
	it_client_free(assert_refused(http, sizeof http - 1,
	    "bad protocol version 32, expected 1"));
	/* (b) A version this switch does not speak. */
	it_client_free(assert_refused(raw_hdr(FRAME_MSG, 7, 1, 10),
	    FRAME_HDR_LEN, "bad protocol version 7, expected 1"));
	/* (c) An unknown type; a known one only the switch sends. */
	it_client_free(assert_refused(raw_hdr(42, FRAME_VERSION, 0, 0),
	    FRAME_HDR_LEN, "unknown frame type 42"));
	it_client_free(assert_refused(raw_hdr(FRAME_ACK, FRAME_VERSION, 1, 0),
	    FRAME_HDR_LEN, "unexpected frame type 3 (ACK) from an endpoint"));
	check_flowing(b, "PROTO1");

	/*
	 * (d) A MSG header declaring 4 GB, and not one byte more: refused
	 * at once (the switch does not wait for a payload it would refuse),
	 * with a NAK for its tag, ER .91. quoting nothing, then ERROR.
	 */
	a = assert_refused(raw_hdr(FRAME_MSG, FRAME_VERSION, 1, UINT32_MAX),
	    FRAME_HDR_LEN, "MSG length 4294967295 exceeds max-frame 65536");
	CU_ASSERT_FATAL(a->ntags > 1 && a->state[1] == 2);
	CU_ASSERT_EQUAL(it_er(a->reply[1]), MSG_ER_TOO_LARGE);
	t = it_er_text(a->reply[1]);
	CU_ASSERT_EQUAL_FATAL(msg_er_split(t, strlen(t), &ep), 0);
	CU_ASSERT_EQUAL(ep.inputlen, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ep.detail);
	CU_ASSERT_PTR_NOT_NULL(memmem(ep.detail, ep.detaillen,
	    "message of 4294967295 bytes, the limit is 65536", 47));
	it_client_free(a);
	/* A new connection of the same line is served. */
	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	CU_ASSERT_EQUAL(it_client_wait(a, it_client_send(a, it_dq("WA0340000",
	    "CA", "PROTO2", oln("CA", 4), 0)), WAIT), 1);
	CU_ASSERT_PTR_NOT_NULL(it_find(a, "DR", "PROTO2", WAIT));
	it_client_free(a);

	/* The peer's own ERROR: the switch closes without answering. */
	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	client_send_raw(a->c, raw_hdr(FRAME_ERROR, FRAME_VERSION, 0, 3),
	    FRAME_HDR_LEN);
	client_send_raw(a->c, "bye", 3);
	CU_ASSERT_EQUAL(it_client_wait_closed(a, WAIT), 0);
	/* No ERROR frame: the close is told without a reason. */
	CU_ASSERT_PTR_NULL(strstr(a->why, "closed the connection: "));
	it_client_free(a);

	check_flowing(b, "PROTO3");
	it_client_free(b);
	CU_ASSERT_EQUAL(kill(env->switch_pid, 0), 0);
}

/*
 * An endpoint that falls silent (here: its loop does not run, so it sends
 * no heartbeat) is refused after three heartbeat intervals, with an ERROR
 * saying so, which it reads when it wakes.
 */
static void
test_heartbeat_timeout(void)
{
	struct it_env		 quiet = *env;
	struct it_client	*t;
	int			 k;

	quiet.base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(quiet.base);
	t = it_client_new(&quiet, "oragy", WAIT);
	CU_ASSERT_FATAL(t != NULL && t->up);
	CU_ASSERT_EQUAL(it_log_wait(env, "nlswitchd.log", "reason=\""
	    "heartbeat timeout", WAIT), 0);
	for (k = 0; k < WAIT / 20 && !t->closed; k++)
		it_pump(&quiet, 20);
	CU_ASSERT_STRING_EQUAL(t->why, "switch closed the connection: "
	    "heartbeat timeout: no frame read for 6 s");
	it_client_free(t);
	event_base_free(quiet.base);
}

/* How many sessions the switch's log says it timed out. */
static int
hb_timeouts(struct it_env *e)
{
	char	 path[600], *data, *p;
	int	 n = 0;

	snprintf(path, sizeof path, "%s/nlswitchd.log", e->dir);
	if ((data = util_read_file(path, NULL)) == NULL)
		return 0;
	for (p = data; (p = strstr(p, "reason=\"heartbeat timeout")) != NULL;
	    p++)
		n++;
	free(data);
	return n;
}

/*
 * The once-a-second tick runs in slices (server_tick_cb), and sessions
 * come and go between slices: every session is still ticked. Two silent
 * endpoints are both timed out (the slices reach every session, each
 * with the whole reason), one that answers gets the switch's heartbeats
 * and stays up (its client gives up after three heartbeats without a
 * frame), and the connections that open and close meanwhile (each
 * between slices) neither break the walk nor get timed out.
 */
static void
test_tick_slices(void)
{
	struct it_env		*e = it_env_new("slices", "heartbeat=\"1\"");
	struct it_env		 quiet;
	struct it_client	*q[2], *live, *churn;
	int			 i, k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL_FATAL(it_switch_start(e), 0);
	quiet = *e;
	quiet.base = event_base_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(quiet.base);
	q[0] = it_client_new(&quiet, "waagy", WAIT);
	q[1] = it_client_new(&quiet, "nvdmv", WAIT);
	live = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(q[0] != NULL && q[0]->up && q[1] != NULL &&
	    q[1]->up && live != NULL && live->up);
	/* Sessions come and go while the silent ones wait for their end. */
	for (k = 0; k < WAIT / 50 && hb_timeouts(e) < 2; k++) {
		churn = it_client_new(e, "oragy", WAIT);
		CU_ASSERT(churn != NULL && churn->up);
		it_pump(e, 50);
		it_client_free(churn);
	}
	CU_ASSERT_EQUAL(hb_timeouts(e), 2);
	/* Three more heartbeats for the live one, churning still. */
	for (k = 0; k < 30; k++) {
		churn = it_client_new(e, "oragy", WAIT);
		CU_ASSERT(churn != NULL && churn->up);
		it_pump(e, 100);
		it_client_free(churn);
	}
	CU_ASSERT_EQUAL(hb_timeouts(e), 2);
	CU_ASSERT(live->up && !live->closed);
	for (i = 0; i < 2; i++) {
		for (k = 0; k < WAIT / 20 && !q[i]->closed; k++)
			it_pump(&quiet, 20);
		CU_ASSERT_STRING_EQUAL(q[i]->why, "switch closed the "
		    "connection: heartbeat timeout: no frame read for 3 s");
		it_client_free(q[i]);
	}
	it_client_free(live);
	event_base_free(quiet.base);
	it_env_free(e);
}

/* nlswitchd -n: the config check operators run before a start/reload. */
static void
test_config_check(void)
{
	char	cmd[1200], bad[400], out[400], *text;
	FILE	*f;
	int	rc;

	snprintf(cmd, sizeof cmd, "%s/bin/nlswitchd -n -f %s 2>/dev/null",
	    env->root, env->conf);
	CU_ASSERT_EQUAL(system(cmd), 0);

	snprintf(bad, sizeof bad, "%s/bad.xml", env->dir);
	snprintf(out, sizeof out, "%s/check.out", env->dir);
	f = fopen(bad, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fprintf(f, "<?xml version=\"1.0\"?>\n<nlswitch>\n"
	    "  <listen address=\"127.0.0.1\" port=\"0\"/>\n"
	    "  <datadir>d</datadir>\n"
	    "  <pki ca=\"a\" cert=\"b\" key=\"c\"/>\n"
	    "  <line code=\"WAAGY\" cn=\"x\"><ori>WA034</ori>"
	    "<accept>DR</accept></line>\n</nlswitch>\n");
	fclose(f);
	snprintf(cmd, sizeof cmd, "%s/bin/nlswitchd -n -f %s 2>%s", env->root,
	    bad, out);
	rc = system(cmd);
	CU_ASSERT(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
	text = util_read_file(out, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	snprintf(cmd, sizeof cmd, "%s:6: ", bad);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, cmd));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "WA034"));
	free(text);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_core", suite_init, suite_clean);
	CU_ADD_TEST(s, test_dq_photo);
	CU_ADD_TEST(s, test_store_and_forward);
	CU_ADD_TEST(s, test_routing_errors);
	CU_ADD_TEST(s, test_tls_refusals);
	CU_ADD_TEST(s, test_handshake_stall);
	CU_ADD_TEST(s, test_bad_input);
	CU_ADD_TEST(s, test_protocol_errors);
	CU_ADD_TEST(s, test_heartbeat_timeout);
	CU_ADD_TEST(s, test_tick_slices);
	CU_ADD_TEST(s, test_config_check);
	return it_run_suites();
}
