/*
 * it_proto - a protocol error of a peer that does not read: the switch's
 * ERROR frame cannot leave, queued behind megabytes of deliveries, and the
 * switch still closes the connection once its linger is over
 * (docs/protocol.md, "Protocol errors"). The ordinary cases (garbage, bad
 * version or type, oversize MSG, heartbeat timeout) are in it_core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <CUnit/Basic.h>
#include <openssl/ssl.h>

#include "frame.h"
#include "it_util.h"
#include "tls.h"
#include "util.h"

#define WAIT	15000	/* ms: generous bound for one exchange */

/*
 * STUCK_N messages of about STUCK_PAD bytes are 9 MB: more than the
 * switch's socket (tcp_wmem's maximum, 4 MB on Linux by default) and its
 * write-combining BIO (1 MB) take when the receiver's window is a few KB.
 */
#define STUCK_N		200
#define STUCK_PAD	48000
#define RAW_RCVBUF	4096

static struct it_env	*env;

static int
suite_init(void)
{
	/* A window of 256 lets the switch push all STUCK_N at once. */
	env = it_env_new("proto", "window=\"256\"");
	return env != NULL && it_switch_start(env) == 0 ? 0 : -1;
}

static int
suite_clean(void)
{
	it_env_free(env);
	return 0;
}

/* An AM of about STUCK_PAD bytes from WAAGY to CAOLN0000 (heap). */
static char *
stuck_msg(size_t i)
{
	char		 ctl[16];

	snprintf(ctl, sizeof ctl, "STUCK%03zu", i);
	return it_msg_padded(ctl, "PEER THAT DOES NOT READ",
	    "PADDING FOR THE NON-READING PEER 0123456789 XY\n", STUCK_PAD / 48);
}

/* A TLS endpoint on a blocking socket, without the client library. */
struct raw {
	SSL_CTX	*ctx;
	SSL	*ssl;
	int	 fd;
};

static void
raw_free(struct raw *r)
{
	if (r->ssl != NULL)
		SSL_free(r->ssl);
	if (r->fd != -1)
		close(r->fd);
	if (r->ctx != NULL)
		SSL_CTX_free(r->ctx);
}

/* Read exactly n bytes. @return 0, -1 on EOF, error or timeout. */
static int
raw_read(struct raw *r, void *buf, size_t n)
{
	size_t	got = 0;
	int	k;

	while (got < n) {
		if ((k = SSL_read(r->ssl, (char *)buf + got,
		    (int)(n - got))) <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

/*
 * Connect as pki/NAME over blocking TLS with a receive buffer of
 * RAW_RCVBUF bytes (set before connect: the kernel then does not grow
 * it), reads bounded by SO_RCVTIMEO, and read the switch's HELLO.
 * @return 0, -1.
 */
static int
raw_connect(struct raw *r, const char *name)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { WAIT / 1000, 0 };
	struct frame		 f;
	uint8_t			 hdr[FRAME_HDR_LEN];
	char			 ca[400], cert[400], key[400], *cause = NULL;
	char			 hello[256];
	int			 sz = RAW_RCVBUF;

	r->ssl = NULL;
	r->fd = -1;
	snprintf(ca, sizeof ca, "%s/ca.pem", env->pki);
	snprintf(cert, sizeof cert, "%s/%s.pem", env->pki, name);
	snprintf(key, sizeof key, "%s/%s.key", env->pki, name);
	if ((r->ctx = tls_client_ctx(ca, cert, key, &cause)) == NULL) {
		fprintf(stderr, "it: %s\n", cause);
		free(cause);
		return -1;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(env->port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz) == -1 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == -1 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) == -1 ||
	    connect(r->fd, (struct sockaddr *)&sin, sizeof sin) == -1)
		return -1;
	if ((r->ssl = SSL_new(r->ctx)) == NULL ||
	    SSL_set_fd(r->ssl, r->fd) != 1 || SSL_connect(r->ssl) != 1)
		return -1;
	if (raw_read(r, hdr, sizeof hdr) == -1 ||
	    frame_decode(hdr, sizeof hello - 1, &f) != FRAME_E_OK ||
	    f.type != FRAME_HELLO || raw_read(r, hello, f.len) == -1)
		return -1;
	return 0;
}

/*
 * CADMV's endpoint reads nothing while 9 MB of deliveries come for it,
 * then sends a bad header. The switch queues ERROR behind them, cannot
 * get it out, and closes the connection anyway after its linger; it goes
 * on serving the others.
 */
static void
test_error_peer_not_reading(void)
{
	struct it_client	*a;
	struct raw		 ca;
	uint8_t			 hdr[FRAME_HDR_LEN];
	char			 buf[16384], *doc;
	uint64_t		 tag = 0;
	size_t			 i;
	int			 acked = 1, n = 1, k;

	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	CU_ASSERT_EQUAL_FATAL(raw_connect(&ca, "cadmv"), 0);

	for (i = 0; i < STUCK_N; i++) {
		doc = stuck_msg(i);
		tag = it_client_send(a, doc);
		free(doc);
		if (i % 16 == 15)
			it_pump(env, 20);
	}
	for (i = 1; i <= tag; i++)
		if (it_client_wait(a, i, WAIT) != 1)
			acked = 0;
	CU_ASSERT_TRUE_FATAL(acked);

	memset(hdr, 0xee, sizeof hdr);
	CU_ASSERT_EQUAL_FATAL(SSL_write(ca.ssl, hdr, sizeof hdr),
	    (int)sizeof hdr);
	CU_ASSERT_EQUAL(it_log_wait(env, "nlswitchd.log",
	    "ERROR not taken by the peer", WAIT), 0);

	/* The switch serves on: a new message is ACKed. */
	doc = stuck_msg(STUCK_N);
	tag = it_client_send(a, doc);
	free(doc);
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 1);

	/* The receiver reads what reached its socket, then the end (not a
	 * read timeout: the bound on the count only stops a runaway). */
	for (k = 0; k < 100000 && n > 0; k++)
		n = SSL_read(ca.ssl, buf, sizeof buf);
	CU_ASSERT(n <= 0);
	CU_ASSERT_NOT_EQUAL(SSL_get_error(ca.ssl, n), SSL_ERROR_WANT_READ);
	raw_free(&ca);
	it_client_free(a);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_proto", suite_init, suite_clean);
	if (s == NULL ||
	    CU_ADD_TEST(s, test_error_peer_not_reading) == NULL)
		return 1;
	return it_run_suites();
}
