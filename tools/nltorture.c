/*
 * nltorture - the standing reliability suite (make torture): a real
 * nlswitchd on 127.0.0.1 with a real LMDB store, tortured in bounded
 * cycles, and a table of what it did with the messages it ACKed.
 *
 *   nltorture [-v] [-k] [-s SECONDS] [-K KILLS] [-C CORRUPTIONS]
 *             [-S SEED] [CYCLE...]
 *   nltorture --help | --version
 *
 * Cycles (all by default, in this order):
 *   kill9      senders stream AMs to a destination line; the switch is
 *              killed with SIGKILL at random moments and restarted, again
 *              and again; after a final drain every ACKed message must
 *              have been delivered (deduplicated by control field).
 *   diskfull   the data directory on a small tmpfs (root only), the
 *              destination offline until the disk is full, then it drains;
 *              the switch must answer every message, lose nothing and
 *              accept messages again without a restart.
 *   corrupt    with the switch stopped and N messages held, bytes of the
 *              store are flipped (records, LMDB page structure); after the
 *              restart every held message must be delivered or accounted
 *              for (dead letter, SM to the sender, a quarantine listing or
 *              metric).
 *   hostile    classes of hostile input from another process while a good
 *              stream runs: the good stream's rate during each class, the
 *              switch stays up, every attack gets the answer it should.
 *   powerloss  kill9 with LazyFS under the store: unsynced writes are
 *              dropped at each kill (LAZYFS=binary or lazyfs on PATH;
 *              skipped otherwise).
 *
 * SECONDS (default 600, or TORTURE_SECONDS) is shared among the cycles
 * that run; a cycle stops starting new runs when its share is used up.
 * KILLS (TORTURE_KILLS) and CORRUPTIONS (TORTURE_CORRUPTIONS) bound the
 * kill9/powerloss and corrupt runs by count instead. Every process the
 * suite starts is stopped by its pid; mounts are undone; the run
 * directory (/tmp/nltorture-*) is removed unless -k (TORTURE_KEEP=1).
 *
 * Exit: 0 every cycle passed or was skipped, 1 a cycle failed (a lost
 * ACKed message among other things), 2 usage, 3 the suite itself broke.
 */
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "client.h"
#include "frame.h"
#include "msg.h"
#include "msgbuild.h"
#include "tls.h"
#include "util.h"
#include "xscan.h"

#define TORT_DEF_SECONDS	600
#define TORT_MAXROWS		40
#define TORT_MAXPROCS		8
#define TORT_START_MS		20000	/* a switch start, port file written */
#define TORT_CONNECT_MS		10000	/* an endpoint's HELLO */
#define TORT_PEEK		4096	/* bytes of a delivery looked at */
#define TORT_NCODES		(MSG_ER_CODES + 1)	/* [MSG_ER_CODES]: none */

/* Per message (sequence number) in a cycle's book. */
#define TORT_ST_SENT		0x01
#define TORT_ST_ACKED		0x02
#define TORT_ST_NAKED		0x04
#define TORT_ST_ACCOUNTED	0x08	/* SM, dead letter, quarantine listing */

struct tort_row {
	char		 cycle[24];
	long long	 runs, acked, delivered, dups, lost;	/* -1: "-" */
	int		 result;		/* TORT_PASS, ... */
	char		 notes[768];
};
enum { TORT_PASS = 0, TORT_FAIL, TORT_SKIP };

/* What happened to every message a cycle sent, by sequence number. */
struct tort_book {
	char		 pfx;		/* first letter of the control field */
	uint64_t	 n;		/* sequences handed out: 1..n */
	uint64_t	 cap;
	uint8_t		*st;
	uint16_t	*ndlv;		/* deliveries of it (saturating) */
	uint64_t	*msgid;		/* from the ACK or the first DLV */
	uint64_t	 acked, acked_dlv, dlv, dups, naked;
	uint64_t	 naks[TORT_NCODES];
	uint64_t	 sms[TORT_NCODES];	/* SMs to senders, by status */
	uint64_t	 sm_acc;	/* messages an SM accounted for */
	uint64_t	 bad;		/* a delivery whose id or body is wrong */
	uint64_t	 foreign;	/* a delivery of none of our messages */
	uint64_t	 last_dlv_us, max_gap_us;
	int		 sm_accounts;	/* an SM other than .02. accounts */
};

/* One endpoint connection: a sender or a receiver line. */
struct tort_ep {
	struct tort_book	*bk;
	struct client		*c;
	char			 name[16];	/* certificate = line cn */
	char			 ori[16];	/* sender: originating ORI */
	int			 up, closed, sender, streaming;
	char			 why[160];
	char			*tmpl;		/* sender: the message template */
	size_t			 tmpllen, off_ctl, off_tok;
	uint64_t		*tagseq;	/* tag -> sequence */
	size_t			 ntag;
	int			 window, inflight;
	uint64_t		 limit;		/* messages to send, 0: no limit */
	uint64_t		 sent;
};

static struct tort {
	char		 root[PATH_MAX];
	char		 dir[PATH_MAX];	/* the suite's run directory */
	char		 pki[PATH_MAX];
	char		 run[PATH_MAX];	/* the current cycle's directory */
	char		 conf[PATH_MAX];
	char		 data[PATH_MAX];	/* the store */
	char		 sock[PATH_MAX];
	char		 port[16];
	char		 admin_port[16];
	struct event_base *base;
	pid_t		 sw_pid;
	int		 sw_status;	/* wait status once reaped */
	pid_t		 procs[TORT_MAXPROCS];	/* everything else we started */
	char		 mounts[2][PATH_MAX];	/* tmpfs, lazyfs */
	int		 verbose, keep;
	uint64_t	 seed, seed0;
	uint64_t	 deadline;	/* the current cycle's, mono us */
	struct tort_row	 rows[TORT_MAXROWS];
	int		 nrows;
	SSL_CTX		*ssl[8];
	char		 sslname[8][16];
} T;

static void	tort_hello_cb(struct client *, const char *, void *);
static void	tort_ack_cb(struct client *, uint64_t, const char *, void *);
static void	tort_nak_cb(struct client *, uint64_t, const char *, size_t,
		    void *);
static void	tort_deliver_cb(struct client *, uint64_t, uint16_t,
		    const char *, size_t, void *);
static void	tort_closed_cb(struct client *, const char *, void *);

static const struct client_cb tort_cb = {
	tort_hello_cb, tort_ack_cb, tort_nak_cb, tort_deliver_cb,
	tort_closed_cb
};

/* ---- output ---------------------------------------------------------- */

static void __attribute__((format(printf, 1, 2)))
tort_log(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	fprintf(stderr, "torture: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/*
 * snprintf for paths and commands: everything lives under a short
 * /tmp/nltorture-XXXXXX and the tree's root, so truncation is only
 * logged; GCC cannot prove that, hence not snprintf itself.
 */
static int __attribute__((format(printf, 3, 4)))
tort_fmt(char *buf, size_t sz, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sz, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sz)
		tort_log("truncated: %s", buf);
	return n;
}

static void __attribute__((format(printf, 1, 2)))
tort_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!T.verbose)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "torture:   ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static struct tort_row *
tort_row_new(const char *cycle)
{
	struct tort_row *r;

	if (T.nrows == TORT_MAXROWS)
		r = &T.rows[TORT_MAXROWS - 1];	/* overwrite the last one */
	else
		r = &T.rows[T.nrows++];
	memset(r, 0, sizeof *r);
	util_strlcpy(r->cycle, cycle, sizeof r->cycle);
	r->runs = r->acked = r->delivered = r->dups = r->lost = -1;
	return r;
}

/* Append to a row's notes ("; " between items). */
static void __attribute__((format(printf, 2, 3)))
tort_note(struct tort_row *r, const char *fmt, ...)
{
	size_t	 n = strlen(r->notes);
	va_list	 ap;

	if (n > 0 && n + 2 < sizeof r->notes) {
		memcpy(r->notes + n, "; ", 3);
		n += 2;
	}
	va_start(ap, fmt);
	vsnprintf(r->notes + n, sizeof r->notes - n, fmt, ap);
	va_end(ap);
}

/* "92:12 93:1" for the non-zero counts of codes; "" if none. */
static const char *
tort_codes(const uint64_t *c, char *buf, size_t sz)
{
	size_t	 n = 0;
	int	 i;

	buf[0] = '\0';
	for (i = 0; i < TORT_NCODES && n + 1 < sz; i++)
		if (c[i] != 0)
			n += (size_t)snprintf(buf + n, sz - n, "%s%s%02d:%llu",
			    n ? " " : "", i == MSG_ER_CODES ? "?" : ".",
			    i == MSG_ER_CODES ? 0 : i, (unsigned long long)c[i]);
	return buf;
}

/* ---- processes and mounts -------------------------------------------- */

static void
tort_proc_add(pid_t pid)
{
	int i;

	for (i = 0; i < TORT_MAXPROCS; i++)
		if (T.procs[i] == 0) {
			T.procs[i] = pid;
			return;
		}
}

/* A process we started is gone (reaped). */
static void
tort_proc_forget(pid_t pid)
{
	int i;

	for (i = 0; i < TORT_MAXPROCS; i++)
		if (T.procs[i] == pid)
			T.procs[i] = 0;
}

/* Stop one process we started: sig, then SIGKILL after wait_ms. */
static int
tort_proc_stop(pid_t pid, int sig, int wait_ms)
{
	int	 st = 0;
	uint64_t end = util_mono_us() + (uint64_t)wait_ms * 1000;

	if (pid <= 0)
		return 0;
	kill(pid, sig);
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (util_mono_us() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			break;
		}
		usleep(10000);
	}
	tort_proc_forget(pid);
	return st;
}

static int
tort_mount_tmpfs(const char *dir, unsigned mb, char *why, size_t sz)
{
	char	 opts[64];

	snprintf(opts, sizeof opts, "size=%um,mode=0700", mb);
	if (geteuid() != 0) {
		snprintf(why, sz, "not root: cannot mount a tmpfs");
		return -1;
	}
	if (mount("tmpfs", dir, "tmpfs", 0, opts) == -1) {
		tort_fmt(why, sz, "mount -t tmpfs -o %s %s: %s", opts, dir,
		    strerror(errno));
		return -1;
	}
	util_strlcpy(T.mounts[0], dir, sizeof T.mounts[0]);
	return 0;
}

static void
tort_umount(int i)
{
	if (T.mounts[i][0] == '\0')
		return;
	if (umount2(T.mounts[i], 0) == -1 &&
	    umount2(T.mounts[i], MNT_DETACH) == -1)
		tort_log("umount %s: %s", T.mounts[i], strerror(errno));
	T.mounts[i][0] = '\0';
}

/* Everything we started, by pid; every mount. Safe in a signal handler. */
static void
tort_cleanup_now(void)
{
	int i;

	if (T.sw_pid > 0)
		kill(T.sw_pid, SIGKILL);
	for (i = 0; i < TORT_MAXPROCS; i++)
		if (T.procs[i] > 0)
			kill(T.procs[i], SIGKILL);
	for (i = 0; i < 2; i++)
		if (T.mounts[i][0] != '\0')
			umount2(T.mounts[i], MNT_DETACH);
}

static void
tort_signal(int sig)
{
	static const char msg[] = "\ntorture: interrupted or over time; "
	    "processes killed, mounts undone\n";

	tort_cleanup_now();
	if (write(2, msg, sizeof msg - 1) == -1)
		_exit(3);
	_exit(sig == SIGALRM ? 3 : 130);
}

/* ---- the switch ------------------------------------------------------ */

static void
tort_path(char *buf, size_t sz, const char *name)
{
	if ((size_t)snprintf(buf, sz, "%s/%s", T.run, name) >= sz)
		buf[0] = '\0';
}

/*
 * A fresh directory for a cycle, with its config: lines WAAGY and ORAGY
 * (agencies, the senders) and CADMV (member CA, the destination), the
 * limits given; the store in DATA when not NULL (else RUN/data).
 */
static int
tort_setup(const char *name, const char *limits, const char *data)
{
	FILE	*f;

	tort_fmt(T.run, sizeof T.run, "%s/%s", T.dir, name);
	if (mkdir(T.run, 0700) == -1 && errno != EEXIST)
		return -1;
	tort_path(T.conf, sizeof T.conf, "nlswitch.xml");
	tort_path(T.sock, sizeof T.sock, "control.sock");
	if (data != NULL)
		util_strlcpy(T.data, data, sizeof T.data);
	else
		tort_path(T.data, sizeof T.data, "data");
	if ((f = fopen(T.conf, "w")) == NULL)
		return -1;
	fprintf(f,
	    "<?xml version=\"1.0\"?>\n"
	    "<nlswitch version=\"1\">\n"
	    "  <listen address=\"127.0.0.1\" port=\"0\"/>\n"
	    "  <portfile>port</portfile>\n"
	    "  <datadir>%s</datadir>\n"
	    "  <pki ca=\"%s/ca.pem\" cert=\"%s/switch.pem\" key=\"%s/switch.key\"/>\n"
	    "  <limits %s/>\n"
	    "  <admin socket=\"control.sock\" address=\"127.0.0.1\" port=\"0\""
	    " portfile=\"admin.port\"/>\n"
	    "  <line code=\"WAAGY\" cn=\"waagy\">\n"
	    "    <ori>WA0340000</ori><accept>DR KR DNR AM</accept>\n"
	    "  </line>\n"
	    "  <line code=\"ORAGY\" cn=\"oragy\">\n"
	    "    <ori>OR0260000</ori><accept>DR KR DNR AM</accept>\n"
	    "  </line>\n"
	    "  <line code=\"CADMV\" cn=\"cadmv\" member=\"CA\">\n"
	    "    <ori>CAOLN0000</ori><accept>DQ KQ DNQ AM</accept>\n"
	    "  </line>\n"
	    "</nlswitch>\n", T.data, T.pki, T.pki, T.pki, limits);
	return fclose(f);
}

/* The last non-empty line of a file (for a note). */
static const char *
tort_file_tail(const char *path, char *buf, size_t sz)
{
	char	*data, *end, *p;
	size_t	 len;

	buf[0] = '\0';
	if ((data = util_read_file(path, &len)) == NULL)
		return buf;
	end = data + len;
	while (end > data && (end[-1] == '\n' || end[-1] == '\r'))
		end--;
	*end = '\0';
	p = strrchr(data, '\n');
	util_strlcpy(buf, p != NULL ? p + 1 : data, sz);
	free(data);
	return buf;
}

/* The last line of the switch's log. */
static const char *
tort_log_tail(char *buf, size_t sz)
{
	char	 path[PATH_MAX];

	tort_path(path, sizeof path, "nlswitchd.log");
	return tort_file_tail(path, buf, sz);
}

static const char *
tort_status_str(int st, char *buf, size_t sz)
{
	if (WIFSIGNALED(st))
		snprintf(buf, sz, "killed by signal %d (%s)", WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st))
		snprintf(buf, sz, "exited %d", WEXITSTATUS(st));
	else
		snprintf(buf, sz, "status %d", st);
	return buf;
}

/* 1 while the switch runs; a dead one is reaped (T.sw_status). */
static int
tort_switch_alive(void)
{
	if (T.sw_pid <= 0)
		return 0;
	if (waitpid(T.sw_pid, &T.sw_status, WNOHANG) == T.sw_pid) {
		T.sw_pid = 0;
		return 0;
	}
	return 1;
}

/*
 * Start nlswitchd -d on the current cycle's config, its log appended to
 * RUN/nlswitchd.log, and wait for its port files. @return 0, or -1 with
 * why filled (it exited, or wrote no port file in time).
 */
static int
tort_switch_start(char *why, size_t sz)
{
	char	 bin[PATH_MAX], log[PATH_MAX], pf[PATH_MAX], apf[PATH_MAX];
	char	 tail[200], st[64];
	uint64_t end;
	int	 fd;
	pid_t	 pid;

	tort_fmt(bin, sizeof bin, "%s/bin/nlswitchd", T.root);
	tort_path(log, sizeof log, "nlswitchd.log");
	tort_path(pf, sizeof pf, "port");
	tort_path(apf, sizeof apf, "admin.port");
	unlink(pf);
	unlink(apf);
	if ((pid = fork()) == -1) {
		snprintf(why, sz, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execl(bin, bin, "-d", "-f", T.conf, (char *)NULL);
		_exit(127);
	}
	T.sw_pid = pid;
	end = util_mono_us() + TORT_START_MS * 1000ULL;
	while (client_read_portfile(pf, 0, T.port, sizeof T.port) == -1 ||
	    client_read_portfile(apf, 0, T.admin_port,
	    sizeof T.admin_port) == -1) {
		if (!tort_switch_alive()) {
			snprintf(why, sz, "switch %s at start: %s",
			    tort_status_str(T.sw_status, st, sizeof st),
			    tort_log_tail(tail, sizeof tail));
			return -1;
		}
		if (util_mono_us() >= end) {
			snprintf(why, sz, "switch wrote no port file in %d s: %s",
			    TORT_START_MS / 1000, tort_log_tail(tail,
			    sizeof tail));
			tort_proc_stop(T.sw_pid, SIGKILL, 5000);
			T.sw_pid = 0;
			return -1;
		}
		usleep(10000);
	}
	return 0;
}

/* Stop the switch (SIGTERM drains for up to 5 s; SIGKILL is a crash). */
static void
tort_switch_stop(int sig)
{
	if (T.sw_pid > 0)
		T.sw_status = tort_proc_stop(T.sw_pid, sig, 12000);
	T.sw_pid = 0;
}

/* ---- endpoints ------------------------------------------------------- */

/* The TLS context of a certificate name ("" none, "other" another CA). */
static SSL_CTX *
tort_ssl(const char *name)
{
	char	 ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], *cause = NULL;
	int	 i;

	for (i = 0; i < 8 && T.ssl[i] != NULL; i++)
		if (strcmp(T.sslname[i], name) == 0)
			return T.ssl[i];
	if (i == 8)
		return NULL;
	tort_fmt(ca, sizeof ca, "%s/ca.pem", T.pki);
	tort_fmt(cert, sizeof cert, "%s/%s.pem", T.pki, name);
	tort_fmt(key, sizeof key, "%s/%s.key", T.pki, name);
	T.ssl[i] = tls_client_ctx(ca, *name ? cert : NULL, *name ? key : NULL,
	    &cause);
	if (T.ssl[i] == NULL) {
		tort_log("TLS context %s: %s", name, cause);
		free(cause);
		return NULL;
	}
	util_strlcpy(T.sslname[i], name, sizeof T.sslname[i]);
	return T.ssl[i];
}

/* Run the loop for up to ms. */
static void
tort_pump(int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(T.base, &tv);
	event_base_dispatch(T.base);
}

/* The book grows to hold sequence n. */
static void
tort_book_grow(struct tort_book *bk, uint64_t n)
{
	uint64_t cap = bk->cap;

	if (n < cap)
		return;
	bk->cap = cap ? cap * 2 : 65536;
	while (bk->cap <= n)
		bk->cap *= 2;
	bk->st = xrealloc(bk->st, bk->cap);
	bk->ndlv = xrealloc(bk->ndlv, bk->cap * sizeof *bk->ndlv);
	bk->msgid = xrealloc(bk->msgid, bk->cap * sizeof *bk->msgid);
	memset(bk->st + cap, 0, bk->cap - cap);
	memset(bk->ndlv + cap, 0, (bk->cap - cap) * sizeof *bk->ndlv);
	memset(bk->msgid + cap, 0, (bk->cap - cap) * sizeof *bk->msgid);
}

static void
tort_book_free(struct tort_book *bk)
{
	free(bk->st);
	free(bk->ndlv);
	free(bk->msgid);
	memset(bk, 0, sizeof *bk);
}

/* ACKed messages never delivered. */
static uint64_t
tort_book_lost(const struct tort_book *bk)
{
	return bk->acked - bk->acked_dlv;
}

/* Delivered messages that were never ACKed (sent, the ACK lost). */
static uint64_t
tort_book_unacked_dlv(const struct tort_book *bk)
{
	return bk->dlv - bk->acked_dlv;
}

/*
 * The sender's message: an AM from ori to CA whose control field and
 * text carry the sequence number (PFX + 9 hex digits), text padded to
 * about textlen characters (at most 10000, nlets.xsd).
 */
static void
tort_ep_template(struct tort_ep *ep, size_t textlen)
{
	static const char *const dests[] = { "CA" };
	struct ubuf	 b;
	char		 ctl[12], *p;
	size_t		 i;

	snprintf(ctl, sizeof ctl, "%c000000000", ep->bk->pfx);
	ubuf_init(&b);
	msgbuild_begin(&b, msg_key_lookup("AM"), ep->ori, dests, 1, ctl);
	ubuf_printf(&b, "<n2:MailMessageText>nltorture %s ", ctl);
	for (i = 21; i < textlen && i < 10000; i++)
		ubuf_add(&b, (i % 64) == 63 ? " " : "x", 1);
	ubuf_adds(&b, "</n2:MailMessageText>");
	msgbuild_end(&b, msg_key_lookup("AM"));
	ep->tmpl = ubuf_take(&b, &ep->tmpllen);
	p = strstr(ep->tmpl, ctl);
	ep->off_ctl = p != NULL ? (size_t)(p - ep->tmpl) : 0;
	p = strstr(ep->tmpl, "nltorture ");
	ep->off_tok = p != NULL ? (size_t)(p - ep->tmpl) + 10 : 0;
}

/* Send the next sequence on a sender. @return 0, -1 if not connected. */
static int
tort_ep_send_one(struct tort_ep *ep)
{
	struct tort_book	*bk = ep->bk;
	uint64_t		 seq = bk->n + 1, tag;
	char			 ctl[16];

	snprintf(ctl, sizeof ctl, "%c%09llx", bk->pfx,
	    (unsigned long long)seq);
	memcpy(ep->tmpl + ep->off_ctl, ctl, 10);
	memcpy(ep->tmpl + ep->off_tok, ctl, 10);
	if ((tag = client_send(ep->c, ep->tmpl, ep->tmpllen)) == 0)
		return -1;
	tort_book_grow(bk, seq);
	bk->n = seq;
	bk->st[seq] |= TORT_ST_SENT;
	if (tag >= ep->ntag) {
		size_t n = ep->ntag;

		ep->ntag = tag * 2 + 64;
		ep->tagseq = xrealloc(ep->tagseq, ep->ntag * sizeof *ep->tagseq);
		memset(ep->tagseq + n, 0, (ep->ntag - n) * sizeof *ep->tagseq);
	}
	ep->tagseq[tag] = seq;
	ep->inflight++;
	ep->sent++;
	return 0;
}

/* Keep a streaming sender's window full. */
static void
tort_ep_fill(struct tort_ep *ep)
{
	while (ep->sender && ep->streaming && ep->up &&
	    ep->inflight < ep->window &&
	    (ep->limit == 0 || ep->sent < ep->limit))
		if (tort_ep_send_one(ep) == -1)
			break;
}

/*
 * Connect as line certificate name and wait for HELLO. With ori it is a
 * sender that streams at once: window messages of about textlen
 * characters unanswered, limit messages in all (0: until stopped).
 * @return the endpoint (ep->up tells whether it came up).
 */
static struct tort_ep *
tort_ep_new(struct tort_book *bk, const char *name, const char *ori,
    size_t textlen, int window, uint64_t limit)
{
	struct tort_ep	*ep = xcalloc(1, sizeof *ep);
	uint64_t	 end = util_mono_us() + TORT_CONNECT_MS * 1000ULL;

	ep->bk = bk;
	util_strlcpy(ep->name, name, sizeof ep->name);
	if (ori != NULL) {
		ep->sender = 1;
		util_strlcpy(ep->ori, ori, sizeof ep->ori);
		ep->window = window;
		ep->streaming = 1;
		ep->limit = limit;
		tort_ep_template(ep, textlen);
	}
	ep->c = client_new(T.base, tort_ssl(name), "127.0.0.1", T.port,
	    &tort_cb, ep);
	client_set_peek(ep->c, TORT_PEEK);
	if (client_connect(ep->c) == -1) {
		ep->closed = 1;
		snprintf(ep->why, sizeof ep->why, "connect failed");
		return ep;
	}
	while (!ep->up && !ep->closed && util_mono_us() < end)
		tort_pump(5);
	return ep;
}

static void
tort_ep_free(struct tort_ep *ep)
{
	uint64_t end = util_mono_us() + 500000;

	if (ep == NULL)
		return;
	/* DACKs already queued go out first, as a real endpoint's would. */
	while (ep->up && client_outlen(ep->c) > 0 && util_mono_us() < end)
		tort_pump(5);
	client_free(ep->c);
	free(ep->tmpl);
	free(ep->tagseq);
	free(ep);
}

static void
tort_hello_cb(struct client *c, const char *text, void *arg)
{
	struct tort_ep *ep = arg;

	ep->up = 1;
	tort_ep_fill(ep);
}

static uint64_t
tort_ep_tagseq(struct tort_ep *ep, uint64_t tag)
{
	if (tag >= ep->ntag || ep->tagseq[tag] == 0)
		return 0;
	if (ep->inflight > 0)
		ep->inflight--;
	return ep->tagseq[tag];
}

static void
tort_ack_cb(struct client *c, uint64_t tag, const char *msgid, void *arg)
{
	struct tort_ep		*ep = arg;
	struct tort_book	*bk = ep->bk;
	uint64_t		 seq = tort_ep_tagseq(ep, tag);

	if (seq != 0 && !(bk->st[seq] & TORT_ST_ACKED)) {
		bk->st[seq] |= TORT_ST_ACKED;
		bk->acked++;
		if (bk->ndlv[seq] > 0)
			bk->acked_dlv++;
		bk->msgid[seq] = strtoull(msgid, NULL, 16);
	}
	tort_ep_fill(ep);
}

/* The ER number of a NAK's ER document (TORT_NCODES - 1 if none). */
static int
tort_er_code(const char *er, size_t len)
{
	char	 text[64];
	int	 n;

	xscan_text(er, len, "ResponseText", text, sizeof text);
	n = msg_text_number(text);
	return n >= 0 && n < MSG_ER_CODES ? n : MSG_ER_CODES;
}

static void
tort_nak_cb(struct client *c, uint64_t tag, const char *er, size_t len,
    void *arg)
{
	struct tort_ep		*ep = arg;
	struct tort_book	*bk = ep->bk;
	uint64_t		 seq = tort_ep_tagseq(ep, tag);

	if (seq != 0 && !(bk->st[seq] & TORT_ST_NAKED)) {
		bk->st[seq] |= TORT_ST_NAKED;
		bk->naked++;
		bk->naks[tort_er_code(er, len)]++;
	}
	tort_ep_fill(ep);
}

/* The sequence of a control field of ours, 0 if it is none. */
static uint64_t
tort_ctl_seq(const struct tort_book *bk, const char *ctl)
{
	char	*end;
	uint64_t seq;

	if (ctl[0] != bk->pfx || strlen(ctl) != 10)
		return 0;
	seq = strtoull(ctl + 1, &end, 16);
	return *end == '\0' && seq <= bk->n ? seq : 0;
}

/* An SM to a sender: counted by status; one not .02. accounts for the
 * message it is about (the corrupt cycle). */
static void
tort_sm(struct tort_book *bk, const char *xml, size_t len)
{
	char	 text[64], ctl[16];
	uint64_t seq;
	int	 n;

	xscan_text(xml, len, "StatusMessageText", text, sizeof text);
	n = msg_text_number(text);
	if (n < 0 || n >= MSG_ER_CODES)
		n = MSG_ER_CODES;
	bk->sms[n]++;
	xscan_text(xml, len, "DocumentControlFieldText", ctl, sizeof ctl);
	if (bk->sm_accounts && n != 2 && (seq = tort_ctl_seq(bk, ctl)) != 0 &&
	    !(bk->st[seq] & TORT_ST_ACCOUNTED)) {
		bk->st[seq] |= TORT_ST_ACCOUNTED;
		bk->sm_acc++;
	}
}

/*
 * A delivery: to a sender line it is an SM; to the destination one of
 * our AMs, checked (its control field, the same sequence in its text, the
 * message ID its ACK gave) and counted once per sequence.
 */
static void
tort_deliver_cb(struct client *c, uint64_t msgid, uint16_t copy,
    const char *xml, size_t len, void *arg)
{
	struct tort_ep		*ep = arg;
	struct tort_book	*bk = ep->bk;
	char			 key[8], ctl[16], tok[32];
	const char		*p;
	uint64_t		 seq, now = util_mono_us();

	xscan_text(xml, len, "MessageKeyCodeText", key, sizeof key);
	if (strcmp(key, "SM") == 0) {
		tort_sm(bk, xml, len);
		goto dack;
	}
	xscan_text(xml, len, "DocumentControlFieldText", ctl, sizeof ctl);
	if ((seq = tort_ctl_seq(bk, ctl)) == 0) {
		bk->foreign++;
		goto dack;
	}
	snprintf(tok, sizeof tok, "nltorture %s ", ctl);
	p = memmem(xml, len, tok, strlen(tok));
	if (p == NULL || (bk->msgid[seq] != 0 && bk->msgid[seq] != msgid))
		bk->bad++;
	if (bk->msgid[seq] == 0)
		bk->msgid[seq] = msgid;
	if (bk->ndlv[seq] == 0) {
		bk->dlv++;
		if (bk->st[seq] & TORT_ST_ACKED)
			bk->acked_dlv++;
	} else
		bk->dups++;
	if (bk->ndlv[seq] < UINT16_MAX)
		bk->ndlv[seq]++;
	if (bk->last_dlv_us != 0 && now - bk->last_dlv_us > bk->max_gap_us)
		bk->max_gap_us = now - bk->last_dlv_us;
	bk->last_dlv_us = now;
dack:
	client_dack(c, msgid, copy);
}

static void
tort_closed_cb(struct client *c, const char *why, void *arg)
{
	struct tort_ep *ep = arg;

	ep->up = 0;
	ep->closed = 1;
	ep->inflight = 0;
	util_strlcpy(ep->why, why, sizeof ep->why);
}

/*
 * Pump until every ACKed message is delivered, or nothing new arrived for
 * idle_ms, or cap_ms passed. @return the ACKed messages still missing.
 */
static uint64_t
tort_drain(struct tort_book *bk, int idle_ms, int cap_ms)
{
	uint64_t end = util_mono_us() + (uint64_t)cap_ms * 1000;
	uint64_t last = util_mono_us(), seen = bk->dlv + bk->dups;

	while (tort_book_lost(bk) > 0 && util_mono_us() < end) {
		tort_pump(50);
		if (bk->dlv + bk->dups != seen) {
			seen = bk->dlv + bk->dups;
			last = util_mono_us();
		} else if (util_mono_us() - last > (uint64_t)idle_ms * 1000)
			break;
	}
	return tort_book_lost(bk);
}

/* ---- randomness and time --------------------------------------------- */

static uint64_t
tort_rand(void)
{
	/* xorshift64*: reproducible from -S SEED (the kill moments are
	 * chosen from it; what the switch does at them is not). */
	T.seed ^= T.seed >> 12;
	T.seed ^= T.seed << 25;
	T.seed ^= T.seed >> 27;
	return T.seed * 0x2545F4914F6CDD1DULL;
}

static uint64_t
tort_left_ms(void)
{
	uint64_t now = util_mono_us();

	return T.deadline > now ? (T.deadline - now) / 1000 : 0;
}

/* ---- kill9 and powerloss --------------------------------------------- */

/* LazyFS drops every write not yet fsynced: the power went off. */
static int
tort_lazyfs_clear(const char *fifo)
{
	static const char cmd[] = "lazyfs::clear-cache\n";
	int fd, rc;

	if ((fd = open(fifo, O_WRONLY | O_NONBLOCK)) == -1)
		return -1;
	rc = write(fd, cmd, sizeof cmd - 1) == (ssize_t)(sizeof cmd - 1) ?
	    0 : -1;
	close(fd);
	usleep(300000);	/* LazyFS applies it asynchronously */
	return rc;
}

/* One run of kill9: stream (or not, a kill during recovery), SIGKILL. */
static void
tort_kill_run(struct tort_book *bk, int run, uint64_t *streamed_ms)
{
	struct tort_ep	*rx, *tx[2] = { NULL, NULL };
	uint64_t	 ms, t0;
	int		 recovery = tort_rand() % 8 == 0, i;

	t0 = util_mono_us();
	rx = tort_ep_new(bk, "cadmv", NULL, 0, 0, 0);
	if (recovery)
		ms = tort_rand() % 300;
	else {
		tx[0] = tort_ep_new(bk, "waagy", "WA0340000", 300, 128, 0);
		tx[1] = tort_ep_new(bk, "oragy", "OR0260000", 300, 128, 0);
		t0 = util_mono_us();
		ms = 100 + tort_rand() % 2400;
	}
	tort_pump((int)ms);
	kill(T.sw_pid, SIGKILL);
	*streamed_ms += (util_mono_us() - t0) / 1000;
	tort_debug("run %d: SIGKILL after %llu ms%s; acked %llu, delivered "
	    "%llu", run, (unsigned long long)ms, recovery ?
	    " (connecting, no stream)" : " of streaming",
	    (unsigned long long)bk->acked, (unsigned long long)bk->dlv);
	tort_pump(30);		/* the connections close */
	tort_switch_stop(SIGKILL);
	for (i = 0; i < 2; i++)
		tort_ep_free(tx[i]);
	tort_ep_free(rx);
}

/*
 * kill -9 under load, runs until the cycle's time (less a reserve for the
 * final drain) or max_kills; with fifo (LazyFS) the unsynced writes are
 * dropped after every kill.
 */
static void
tort_cycle_kill(struct tort_row *r, const char *fifo, int max_kills)
{
	struct tort_book bk = { .pfx = fifo ? 'P' : 'K' };
	struct tort_ep	*rx;
	uint64_t	 reserve, streamed = 0, t0 = util_mono_us();
	char		 why[400], codes[200];
	int		 kills = 0, bad_clear = 0;

	reserve = tort_left_ms() / 4;
	if (reserve > 45000)
		reserve = 45000;
	if (tort_switch_start(why, sizeof why) == -1) {
		r->result = TORT_FAIL;
		tort_note(r, "%s", why);
		return;
	}
	while (tort_left_ms() > reserve && (max_kills == 0 ||
	    kills < max_kills)) {
		tort_kill_run(&bk, kills + 1, &streamed);
		kills++;
		if (fifo != NULL && tort_lazyfs_clear(fifo) == -1)
			bad_clear++;
		if (tort_switch_start(why, sizeof why) == -1) {
			r->result = TORT_FAIL;
			tort_note(r, "no restart after kill %d: %s", kills, why);
			break;
		}
	}
	/* The final drain: every ACKed message must come now. */
	if (T.sw_pid > 0) {
		rx = tort_ep_new(&bk, "cadmv", NULL, 0, 0, 0);
		tort_drain(&bk, 10000, (int)(reserve > 20000 ? reserve : 20000));
		tort_ep_free(rx);
		if (!tort_switch_alive())
			tort_note(r, "the switch died in the final drain");
		tort_switch_stop(SIGTERM);
	}
	r->runs = kills;
	r->acked = (long long)bk.acked;
	r->delivered = (long long)bk.dlv;
	r->dups = (long long)bk.dups;
	r->lost = (long long)tort_book_lost(&bk);
	tort_note(r, "sent %llu in %.0f s streamed (%.0f/s); %llu delivered "
	    "without an ACK (in flight at a kill)",
	    (unsigned long long)bk.n, streamed / 1000.0,
	    streamed ? bk.n * 1000.0 / streamed : 0.0,
	    (unsigned long long)tort_book_unacked_dlv(&bk));
	if (bk.naked)
		tort_note(r, "NAK %s", tort_codes(bk.naks, codes,
		    sizeof codes));
	if (bk.bad)
		tort_note(r, "%llu deliveries with a wrong id or body",
		    (unsigned long long)bk.bad);
	if (fifo != NULL)
		tort_note(r, "unsynced writes dropped by LazyFS after %d of "
		    "%d kills", kills - bad_clear, kills);
	if (r->lost > 0 || bk.bad > 0 || bk.acked == 0)
		r->result = TORT_FAIL;
	if (bk.acked == 0)
		tort_note(r, "nothing was ACKed: the stream never ran");
	tort_log("%s: %d kills in %.0f s", r->cycle, kills,
	    (util_mono_us() - t0) / 1e6);
	tort_book_free(&bk);
}

static const char *
tort_lazyfs_bin(void)
{
	static char	 path[PATH_MAX];
	const char	*env = getenv("LAZYFS"), *p, *e;

	if (env != NULL && *env != '\0')
		return access(env, X_OK) == 0 ? env : NULL;
	for (p = getenv("PATH"); p != NULL && *p != '\0'; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (e == NULL)
			e = p + strlen(p);
		snprintf(path, sizeof path, "%.*s/lazyfs", (int)(e - p), p);
		if (access(path, X_OK) == 0)
			return path;
	}
	return NULL;
}

/* 1 when dir is a mount point in /proc/self/mountinfo (read line by
 * line: a /proc file has no size to read by). */
static int
tort_is_mounted(const char *dir)
{
	FILE	*f = fopen("/proc/self/mountinfo", "r");
	char	 line[PATH_MAX * 2], pat[PATH_MAX + 4];
	int	 yes = 0;

	if (f == NULL)
		return 0;
	tort_fmt(pat, sizeof pat, " %s ", dir);
	while (!yes && fgets(line, sizeof line, f) != NULL)
		yes = strstr(line, pat) != NULL;
	fclose(f);
	return yes;
}

/* The power-loss cycle: kill9 on a LazyFS mount (skipped without it). */
static void
tort_cycle_powerloss(struct tort_row *r, int max_kills)
{
	const char	*bin = tort_lazyfs_bin();
	char		 root[PATH_MAX], mnt[PATH_MAX], fifo[PATH_MAX];
	char		 cfg[PATH_MAX], data[PATH_MAX + 8], log[PATH_MAX];
	char		 subdir[PATH_MAX + 8], tail[200];
	uint64_t	 end;
	pid_t		 pid;
	FILE		*f;
	int		 fd, st, exited = 0;

	if (bin == NULL) {
		r->result = TORT_SKIP;
		tort_note(r, "skipped: no LazyFS (set LAZYFS=/path/to/lazyfs "
		    "or put lazyfs on PATH)");
		return;
	}
	tort_fmt(T.run, sizeof T.run, "%s/powerloss", T.dir);
	mkdir(T.run, 0700);
	tort_path(root, sizeof root, "lazyfs.root");
	tort_path(mnt, sizeof mnt, "lazyfs.mnt");
	tort_path(fifo, sizeof fifo, "lazyfs.fifo");
	tort_path(cfg, sizeof cfg, "lazyfs.toml");
	tort_path(log, sizeof log, "lazyfs.out");
	mkdir(root, 0700);
	mkdir(mnt, 0700);
	if ((f = fopen(cfg, "w")) == NULL)
		return;
	fprintf(f, "[faults]\nfifo_path=\"%s\"\n\n[cache]\n"
	    "apply_eviction=false\n\n[cache.simple]\ncustom_size=\"512MB\"\n"
	    "blocks_per_page=1\n\n[filesystem]\nlog_all_operations=false\n"
	    "logfile=\"%s/lazyfs.log\"\n", fifo, T.run);
	fclose(f);
	snprintf(subdir, sizeof subdir, "subdir=%s", root);
	if ((pid = fork()) == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, bin, mnt, "--config-path", cfg, "-o", "allow_other",
		    "-o", "modules=subdir", "-o", subdir, "-f",
		    (char *)NULL);
		_exit(127);
	}
	tort_proc_add(pid);
	/* LazyFS allocates its whole cache before it mounts. */
	end = util_mono_us() + 60000000;
	while (!tort_is_mounted(mnt) && util_mono_us() < end &&
	    (exited = waitpid(pid, &st, WNOHANG) == pid) == 0)
		usleep(50000);
	if (!tort_is_mounted(mnt)) {
		r->result = TORT_FAIL;
		tort_note(r, "%s did not mount %s%s: %s", bin, mnt, exited ?
		    " (it exited)" : " in 60 s", tort_file_tail(log, tail,
		    sizeof tail));
		if (exited)
			tort_proc_forget(pid);
		else
			tort_proc_stop(pid, SIGTERM, 5000);
		return;
	}
	util_strlcpy(T.mounts[1], mnt, sizeof T.mounts[1]);
	snprintf(data, sizeof data, "%s/data", mnt);
	if (tort_setup("powerloss", "heartbeat=\"5\"", data) == -1)
		r->result = TORT_FAIL;
	else
		tort_cycle_kill(r, fifo, max_kills);
	tort_switch_stop(SIGKILL);
	tort_umount(1);
	tort_proc_stop(pid, SIGTERM, 5000);
}

/* ---- diskfull -------------------------------------------------------- */

/* Wait until a sender has an answer for every message it sent. */
static void
tort_wait_answers(struct tort_ep *ep, int ms)
{
	uint64_t end = util_mono_us() + (uint64_t)ms * 1000;

	while (ep->up && ep->inflight > 0 && util_mono_us() < end)
		tort_pump(20);
}

/*
 * Fill the store until the disk is full: stream big AMs with the
 * destination offline until the switch has refused messages for 3 s, has
 * answered nothing for 10 s (wedged), died, or the fill time is up.
 */
static void
tort_disk_fill(struct tort_row *r, struct tort_book *bk, struct tort_ep *tx,
    uint64_t fill_ms)
{
	uint64_t	 end = util_mono_us() + fill_ms * 1000, now;
	uint64_t	 last = util_mono_us(), first_nak = 0, answers = 0;

	while ((now = util_mono_us()) < end) {
		tort_pump(100);
		if (bk->acked + bk->naked != answers) {
			answers = bk->acked + bk->naked;
			last = now;
		}
		if (bk->naked > 0 && first_nak == 0)
			first_nak = now;
		if (first_nak != 0 && now - first_nak > 3000000)
			break;
		if (tx->closed) {
			tort_note(r, "the sender's connection closed in the "
			    "fill: %s", tx->why);
			break;
		}
		if (!tort_switch_alive())
			break;
		if (now - last > 10000000) {
			tort_note(r, "WEDGED: no ACK or NAK for 10 s with %d "
			    "messages waiting", tx->inflight);
			break;
		}
	}
	tx->streaming = 0;
	tort_wait_answers(tx, 5000);
}

/* After the drain: does the switch take messages again, no restart? */
static int
tort_disk_again(struct tort_row *r, struct tort_book *bk, struct tort_ep **txp,
    int n)
{
	struct tort_ep	*tx = *txp;
	uint64_t	 acked = bk->acked, naked = bk->naked, dlv = bk->dlv;
	uint64_t	 end;

	if (!tx->up) {
		tort_ep_free(tx);
		*txp = tx = tort_ep_new(bk, "waagy", "WA0340000", 8000, 64, 0);
		if (!tx->up) {
			tort_note(r, "no new connection after the drain: %s",
			    tx->why);
			return -1;
		}
	}
	tx->limit = tx->sent + (uint64_t)n;
	tx->streaming = 1;
	tort_ep_fill(tx);
	tort_wait_answers(tx, 15000);
	end = util_mono_us() + 10000000;
	while (bk->dlv - dlv < bk->acked - acked && util_mono_us() < end)
		tort_pump(50);
	tx->limit = 0;
	if (bk->acked - acked == (uint64_t)n && bk->dlv - dlv == (uint64_t)n) {
		tort_note(r, "then %d/%d new ACKed and delivered", n, n);
		return 0;
	}
	tort_note(r, "NOT ACCEPTING after the drain: of %d new messages "
	    "%llu ACKed, %llu NAKed, %d unanswered in 15 s, %llu delivered",
	    n, (unsigned long long)(bk->acked - acked),
	    (unsigned long long)(bk->naked - naked), tx->inflight,
	    (unsigned long long)(bk->dlv - dlv));
	return -1;
}

/* One round: fill the disk, drain it, send again. @return 0 or -1. */
static int
tort_disk_round(struct tort_row *r, struct tort_book *bk, struct tort_ep **txp,
    int round)
{
	struct tort_ep	*rx, *tx = *txp;
	struct statvfs	 vfs;
	uint64_t	 acked = bk->acked, naked = bk->naked, left;
	double		 used = 0;
	char		 why[300], st[64];
	int		 rc = 0;

	if (tx == NULL || !tx->up) {
		tort_ep_free(tx);
		*txp = tx = tort_ep_new(bk, "waagy", "WA0340000", 8000, 64, 0);
	}
	tx->streaming = 1;
	tort_ep_fill(tx);
	left = tort_left_ms();
	tort_disk_fill(r, bk, tx, left / 4 > 90000 ? 90000 : left / 4);
	if (statvfs(T.data, &vfs) == 0 && vfs.f_blocks > 0)
		used = 100.0 * (double)(vfs.f_blocks - vfs.f_bfree) /
		    (double)vfs.f_blocks;
	tort_note(r, "round %d: %llu ACKed, %llu NAKed, %d unanswered, disk "
	    "%.0f %% full", round, (unsigned long long)(bk->acked - acked),
	    (unsigned long long)(bk->naked - naked), tx->inflight, used);
	if (bk->naked == naked)
		tort_note(r, "the disk never filled up (no NAK)");
	if (tx->inflight > 0)
		rc = -1;
	/* Drain: the destination comes, and for 5 s the sender keeps
	 * sending, as senders do: deletes compete with new messages for the
	 * space the deliveries free. */
	rx = tort_ep_new(bk, "cadmv", NULL, 0, 0, 0);
	if (!rx->up)
		tort_note(r, "the destination could not connect: %s", rx->why);
	tx->streaming = 1;
	tort_ep_fill(tx);
	tort_pump(5000);
	tx->streaming = 0;
	tort_wait_answers(tx, 5000);
	left = tort_left_ms();
	tort_drain(bk, 15000, left / 3 > 120000 ? 120000 :
	    (int)(left / 3 > 20000 ? left / 3 : 20000));
	tort_note(r, "drained %llu/%llu", (unsigned long long)bk->acked_dlv,
	    (unsigned long long)bk->acked);
	if (tort_switch_alive()) {
		if (tort_disk_again(r, bk, txp, 20) == -1)
			rc = -1;
	} else {
		rc = -1;
		tort_note(r, "SWITCH DIED: %s; %s", tort_status_str(T.sw_status,
		    st, sizeof st), tort_log_tail(why, sizeof why));
	}
	tort_ep_free(rx);	/* offline again for the next round */
	return rc;
}

static void
tort_cycle_diskfull(struct tort_row *r, unsigned mb)
{
	struct tort_book bk = { .pfx = 'D' };
	struct tort_ep	*tx = NULL, *rx;
	char		 why[400], codes[200];
	int		 round;

	if (tort_setup("diskfull", "heartbeat=\"5\" map-size=\"1073741824\"",
	    NULL) == -1 || (mkdir(T.data, 0700) == -1 && errno != EEXIST)) {
		r->result = TORT_FAIL;
		tort_note(r, "cannot set up %s", T.run);
		return;
	}
	if (tort_mount_tmpfs(T.data, mb, why, sizeof why) == -1) {
		r->result = TORT_SKIP;
		tort_note(r, "skipped: %s", why);
		return;
	}
	tort_note(r, "store on a %u MB tmpfs, map 1 GiB", mb);
	if (tort_switch_start(why, sizeof why) == -1) {
		r->result = TORT_FAIL;
		tort_note(r, "%s", why);
		goto out;
	}
	/* Up to 3 rounds of fill + drain on one switch process. */
	for (round = 1; round <= 3; round++) {
		if (round > 1 && tort_left_ms() < 20000)
			break;
		r->runs = round;
		if (tort_disk_round(r, &bk, &tx, round) == -1) {
			r->result = TORT_FAIL;
			break;
		}
	}
	if (bk.naked)
		tort_note(r, "NAK %s", tort_codes(bk.naks, codes,
		    sizeof codes));
	tort_note(r, "SM .02. to the sender: %llu",
	    (unsigned long long)bk.sms[2]);
	/* Still missing: does a restart bring them back? */
	if (tort_book_lost(&bk) > 0) {
		uint64_t before = bk.acked_dlv;

		tort_switch_stop(SIGKILL);
		if (tort_switch_start(why, sizeof why) == -1)
			tort_note(r, "no restart: %s", why);
		rx = tort_ep_new(&bk, "cadmv", NULL, 0, 0, 0);
		tort_drain(&bk, 10000, 60000);
		tort_ep_free(rx);
		tort_note(r, "after kill -9 and a restart %llu more delivered",
		    (unsigned long long)(bk.acked_dlv - before));
	}
	tort_ep_free(tx);
out:
	tort_switch_stop(SIGTERM);
	tort_umount(0);
	r->acked = (long long)bk.acked;
	r->delivered = (long long)bk.dlv;
	r->dups = (long long)bk.dups;
	r->lost = (long long)tort_book_lost(&bk);
	if (r->lost > 0 || bk.bad > 0)
		r->result = TORT_FAIL;
	tort_book_free(&bk);
}

/* ---- corrupt: LMDB's on-disk layout ----------------------------------- */

/*
 * Just enough of LMDB's documented file layout (lmdb.h, mdb.c: MDB_page,
 * MDB_node, MDB_meta, MDB_db; native byte order) to find the live pages of
 * a named database from the newest meta page. Every offset is checked
 * against the file: a corrupt file is what this is for.
 */
#define LM_PAGEHDR	16
#define LM_P_BRANCH	0x01
#define LM_P_LEAF	0x02
#define LM_P_META	0x08
#define LM_F_BIGDATA	0x01
#define LM_MAGIC	0xBEEFC0DEu
#define LM_META_DBS	40	/* mm_dbs[2]: free, main; 48 bytes each */
#define LM_DB_SIZE	48
#define LM_DB_ROOT	40	/* md_root in MDB_db */
#define LM_META_TXNID	144
#define LM_MAXSET	4096

struct tort_lm {
	uint8_t		*m;
	size_t		 len;
	size_t		 psize;
	size_t		 meta;		/* offset of the newest meta page */
};

/* Live pages and records of one database. */
struct tort_lmset {
	uint64_t	 leaf[LM_MAXSET], branch[LM_MAXSET];
	size_t		 nleaf, nbranch;
	size_t		 rec[LM_MAXSET], reclen[LM_MAXSET];	/* value offsets */
	size_t		 nrec;
	uint64_t	 root;
	int		 depth;
};

static uint8_t *
tort_lm_page(struct tort_lm *lm, uint64_t pgno)
{
	if (pgno >= lm->len / lm->psize)
		return NULL;
	return lm->m + pgno * lm->psize;
}

static int
tort_lm_open(struct tort_lm *lm, const char *path)
{
	uint32_t magic, psize;

	memset(lm, 0, sizeof *lm);
	if ((lm->m = (uint8_t *)util_read_file(path, &lm->len)) == NULL ||
	    lm->len < 2 * 4096)
		return -1;
	memcpy(&magic, lm->m + LM_PAGEHDR, 4);
	memcpy(&psize, lm->m + LM_META_DBS, 4);	/* free db's md_pad */
	if (magic != LM_MAGIC || psize < 512 || psize > 65536 ||
	    lm->len < 2 * (size_t)psize)
		return -1;
	lm->psize = psize;
	lm->meta = util_get_ne64(lm->m + psize + LM_META_TXNID) >
	    util_get_ne64(lm->m + LM_META_TXNID) ? psize : 0;
	return 0;
}

static int
tort_lm_save(struct tort_lm *lm, const char *path)
{
	int rc = util_write_file(path, lm->m, lm->len);

	free(lm->m);
	lm->m = NULL;
	return rc;
}

/* Node i of a page, NULL when the page says something impossible. */
static uint8_t *
tort_lm_node(struct tort_lm *lm, uint8_t *pg, unsigned i)
{
	uint16_t off;

	if (LM_PAGEHDR + 2 * (size_t)i + 2 > lm->psize)
		return NULL;
	off = util_get_ne16(pg + LM_PAGEHDR + 2 * i);
	if (off < LM_PAGEHDR || (size_t)off + 8 > lm->psize)
		return NULL;
	return pg + off;
}

static unsigned
tort_lm_nkeys(struct tort_lm *lm, const uint8_t *pg)
{
	uint16_t lower = util_get_ne16(pg + 12);

	if (lower < LM_PAGEHDR || lower > lm->psize)
		return 0;
	return (lower - LM_PAGEHDR) / 2;
}

/* Collect the live pages and inline records under pgno. */
static void
tort_lm_walk(struct tort_lm *lm, uint64_t pgno, int depth,
    struct tort_lmset *s)
{
	uint8_t		*pg = tort_lm_page(lm, pgno), *nd;
	uint16_t	 flags;
	unsigned	 i, n;
	size_t		 dsz;

	if (pg == NULL || depth > 12)
		return;
	if (depth + 1 > s->depth)
		s->depth = depth + 1;
	flags = util_get_ne16(pg + 10);
	n = tort_lm_nkeys(lm, pg);
	if (flags & LM_P_BRANCH) {
		if (s->nbranch < LM_MAXSET)
			s->branch[s->nbranch++] = pgno;
		for (i = 0; i < n; i++)
			if ((nd = tort_lm_node(lm, pg, i)) != NULL)
				tort_lm_walk(lm, util_get_ne16(nd) |
				    (uint64_t)util_get_ne16(nd + 2) << 16 |
				    (uint64_t)util_get_ne16(nd + 4) << 32,
				    depth + 1, s);
		return;
	}
	if (!(flags & LM_P_LEAF))
		return;
	if (s->nleaf < LM_MAXSET)
		s->leaf[s->nleaf++] = pgno;
	for (i = 0; i < n && s->nrec < LM_MAXSET; i++) {
		if ((nd = tort_lm_node(lm, pg, i)) == NULL ||
		    (util_get_ne16(nd + 4) & LM_F_BIGDATA))
			continue;
		dsz = util_get_ne16(nd) | (size_t)util_get_ne16(nd + 2) << 16;
		if ((size_t)(nd - pg) + 8 + util_get_ne16(nd + 6) + dsz >
		    lm->psize)
			continue;
		s->rec[s->nrec] = (size_t)(nd - lm->m) + 8 +
		    util_get_ne16(nd + 6);
		s->reclen[s->nrec++] = dsz;
	}
}

/*
 * A named database: its MDB_db record (offset in the file, in the main
 * database's leaf) and its live pages. @return the record's offset, 0.
 */
static size_t
tort_lm_db(struct tort_lm *lm, const char *name, struct tort_lmset *s)
{
	struct tort_lmset	*mainset = xcalloc(1, sizeof *mainset);
	size_t			 i, off = 0, klen = strlen(name);
	const uint8_t		*nd;

	memset(s, 0, sizeof *s);
	tort_lm_walk(lm, util_get_ne64(lm->m + lm->meta + LM_META_DBS +
	    LM_DB_SIZE + LM_DB_ROOT), 0, mainset);
	for (i = 0; i < mainset->nrec; i++) {
		nd = lm->m + mainset->rec[i] - 8 - klen;
		if (mainset->reclen[i] == LM_DB_SIZE &&
		    util_get_ne16(lm->m + mainset->rec[i] - klen - 2) == klen &&
		    memcmp(nd + 8, name, klen) == 0) {
			off = mainset->rec[i];
			break;
		}
	}
	free(mainset);
	if (off == 0)
		return 0;
	s->root = util_get_ne64(lm->m + off + LM_DB_ROOT);
	tort_lm_walk(lm, s->root, 0, s);
	return off;
}

/* ---- corrupt --------------------------------------------------------- */

static const char *const tort_corrupt_kinds[] = {
	"copy-record",	/* a byte in 5 copy records: checksums fail */
	"leaf-header",	/* mp_lower/mp_upper of a copy leaf page */
	"branch-child",	/* a copy branch points to a msg leaf page */
	"msg-record",	/* a byte in 5 message bodies */
	"db-root",	/* the copy database's root names the msg tree */
	"leaf-ptrs",	/* node offsets of a copy leaf page */
	"meta-root",	/* the newest meta page's main root */
	"random-bytes"	/* 16 random bytes in live copy pages */
};
#define TORT_NKINDS (sizeof tort_corrupt_kinds / sizeof tort_corrupt_kinds[0])

static void
tort_flip(uint8_t *p, uint8_t x)
{
	*p ^= x ? x : 0xff;
}

/* Set a branch node's child page number. */
static void
tort_lm_set_child(uint8_t *nd, uint64_t pgno)
{
	uint16_t lo = (uint16_t)pgno, hi = (uint16_t)(pgno >> 16);
	uint16_t fl = (uint16_t)(pgno >> 32);

	memcpy(nd, &lo, 2);
	memcpy(nd + 2, &hi, 2);
	memcpy(nd + 4, &fl, 2);
}

/* A stopped switch's store, read to be damaged. */
struct tort_victim {
	struct tort_lm		 lm;		/* the file, in memory */
	struct tort_lmset	*cp;		/* the copy database */
	struct tort_lmset	*ms;		/* the msg database */
	size_t			 dbrec;		/* the copy db's MDB_db record */
};

/*
 * copy-record: a byte in 5 copy records; msg-record: a byte in 5 message
 * bodies. Each damage function says what it did in what and returns 0,
 * or -1 when the store has nothing to damage that way.
 */
static int
tort_damage_records(struct tort_victim *v, const char *kind, char *what,
    size_t sz)
{
	const struct tort_lmset	*cp = v->cp, *ms = v->ms;
	size_t			 i, j;

	if (strcmp(kind, "copy-record") == 0) {
		for (i = 0; i < 5 && i < cp->nrec; i++)
			tort_flip(v->lm.m + cp->rec[tort_rand() % cp->nrec] + 32,
			    0x80);
		snprintf(what, sz, "; 5 copy records: enq_us flipped");
		return 0;
	}
	for (i = 0; i < 5 && i < ms->nrec; i++) {
		j = tort_rand() % ms->nrec;
		if (ms->reclen[j] > 80)
			tort_flip(v->lm.m + ms->rec[j] + 64 +
			    (ms->reclen[j] - 68) / 2, 0x20);
	}
	snprintf(what, sz, "; 5 msg bodies: a byte flipped");
	return 0;
}

/* leaf-header: mp_lower/mp_upper of a copy leaf; leaf-ptrs: its mp_ptrs. */
static int
tort_damage_leaf(struct tort_victim *v, const char *kind, char *what,
    size_t sz)
{
	uint64_t	 pgno;
	uint8_t		*pg;
	size_t		 i;

	pgno = v->cp->leaf[tort_rand() % v->cp->nleaf];
	pg = tort_lm_page(&v->lm, pgno);
	if (kind[5] == 'h') {
		tort_flip(pg + 13, 0x0f);	/* mp_lower */
		tort_flip(pg + 15, 0x0f);	/* mp_upper */
	} else
		for (i = 1; i < 4; i++)
			tort_flip(pg + LM_PAGEHDR + 2 * i, 0x55);
	snprintf(what, sz, "; page %llu %s", (unsigned long long)pgno,
	    kind[5] == 'h' ? "mp_lower/mp_upper ^ 0x0f00" :
	    "mp_ptrs[1..3] ^ 0x55");
	return 0;
}

/* branch-child: a copy branch's child 1 becomes a msg leaf page. */
static int
tort_damage_branch(struct tort_victim *v, const char *kind, char *what,
    size_t sz)
{
	const struct tort_lmset	*cp = v->cp, *ms = v->ms;
	uint64_t		 pgno;
	uint8_t			*pg, *nd;

	if (cp->nbranch == 0 || (pg = tort_lm_page(&v->lm,
	    cp->branch[0])) == NULL || tort_lm_nkeys(&v->lm, pg) < 2 ||
	    (nd = tort_lm_node(&v->lm, pg, 1)) == NULL)
		return -1;
	pgno = ms->leaf[tort_rand() % ms->nleaf];
	tort_lm_set_child(nd, pgno);
	snprintf(what, sz, "; branch page %llu child 1 -> msg leaf page %llu",
	    (unsigned long long)cp->branch[0], (unsigned long long)pgno);
	return 0;
}

/* db-root: the copy db's root names the msg tree; meta-root: the newest
 * meta page's main root names the copy tree. */
static int
tort_damage_root(struct tort_victim *v, const char *kind, char *what,
    size_t sz)
{
	struct tort_lm	*lm = &v->lm;

	if (strcmp(kind, "db-root") == 0) {
		memcpy(lm->m + v->dbrec + LM_DB_ROOT, &v->ms->root, 8);
		snprintf(what, sz, "; copy md_root %llu -> msg root %llu",
		    (unsigned long long)v->cp->root,
		    (unsigned long long)v->ms->root);
		return 0;
	}
	memcpy(lm->m + lm->meta + LM_META_DBS + LM_DB_SIZE + LM_DB_ROOT,
	    &v->cp->root, 8);
	snprintf(what, sz, "; meta page %zu main root -> copy root %llu",
	    lm->meta / lm->psize, (unsigned long long)v->cp->root);
	return 0;
}

/* random-bytes: 16 random bytes in live copy pages. */
static int
tort_damage_random(struct tort_victim *v, const char *kind, char *what,
    size_t sz)
{
	const struct tort_lmset	*cp = v->cp;
	uint64_t		 pgno;
	uint8_t			*pg;
	size_t			 i;

	for (i = 0; i < 16; i++) {
		pgno = i % 2 && cp->nbranch ?
		    cp->branch[tort_rand() % cp->nbranch] :
		    cp->leaf[tort_rand() % cp->nleaf];
		pg = tort_lm_page(&v->lm, pgno);
		tort_flip(pg + tort_rand() % v->lm.psize, (uint8_t)tort_rand());
	}
	snprintf(what, sz, "; 16 random bytes in live copy pages");
	return 0;
}

/*
 * Damage the stopped switch's store as kind says. @return 0 with what
 * was done in what, -1 when the store has nothing to damage that way.
 */
static int
tort_corrupt(const char *path, const char *kind, char *what, size_t sz)
{
	struct tort_victim	 v;
	size_t			 k;
	int			 rc = -1;

	memset(&v, 0, sizeof v);
	v.cp = xcalloc(1, sizeof *v.cp);
	v.ms = xcalloc(1, sizeof *v.ms);
	if (tort_lm_open(&v.lm, path) == -1) {
		tort_fmt(what, sz, "%s: not an LMDB file", path);
		goto fail;
	}
	v.dbrec = tort_lm_db(&v.lm, "copy", v.cp);
	tort_lm_db(&v.lm, "msg", v.ms);
	snprintf(what, sz, "copy db %zu records in %zu+%zu pages", v.cp->nrec,
	    v.cp->nleaf, v.cp->nbranch);
	k = strlen(what);
	if (v.dbrec == 0 || v.cp->nrec == 0 || v.ms->nleaf == 0)
		goto fail;
	if (strcmp(kind, "copy-record") == 0 ||
	    strcmp(kind, "msg-record") == 0)
		rc = tort_damage_records(&v, kind, what + k, sz - k);
	else if (strcmp(kind, "leaf-header") == 0 ||
	    strcmp(kind, "leaf-ptrs") == 0)
		rc = tort_damage_leaf(&v, kind, what + k, sz - k);
	else if (strcmp(kind, "branch-child") == 0)
		rc = tort_damage_branch(&v, kind, what + k, sz - k);
	else if (strcmp(kind, "db-root") == 0 ||
	    strcmp(kind, "meta-root") == 0)
		rc = tort_damage_root(&v, kind, what + k, sz - k);
	else if (strcmp(kind, "random-bytes") == 0)
		rc = tort_damage_random(&v, kind, what + k, sz - k);
	if (rc == 0)
		rc = tort_lm_save(&v.lm, path);
fail:
	free(v.lm.m);
	free(v.cp);
	free(v.ms);
	return rc;
}

/* Run a shell command; its output (stdout + stderr) into out. */
static int
tort_sh(const char *cmd, struct ubuf *out)
{
	FILE	*p;
	char	 buf[4096];
	size_t	 n;
	int	 st;

	ubuf_reset(out);
	if ((p = popen(cmd, "r")) == NULL)
		return -1;
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		ubuf_add(out, buf, n);
	ubuf_add(out, "", 1);
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* GET path from the admin listener into out. @return 0, -1. */
static int
tort_http_get(const char *path, struct ubuf *out)
{
	struct sockaddr_in	 sin;
	char			 buf[8192];
	ssize_t			 n;
	int			 fd;

	ubuf_reset(out);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(T.admin_port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof buf, "GET %s HTTP/1.0\r\nHost: 127.0.0.1"
	    "\r\n\r\n", path);
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0)
		ubuf_add(out, buf, (size_t)n);
	ubuf_add(out, "", 1);
	close(fd);
	return 0;
}

/* Mark the ACKed message with ID id; @return how many were not yet. */
static uint64_t
tort_mark_id(struct tort_book *bk, uint64_t id)
{
	uint64_t seq, n = 0;

	for (seq = 1; seq <= bk->n; seq++)
		if (bk->msgid[seq] == id && !(bk->st[seq] & TORT_ST_ACCOUNTED)) {
			bk->st[seq] |= TORT_ST_ACCOUNTED;
			n++;
		}
	return n;
}

/*
 * Mark the ACKed messages a listing of nlctl -j names: every string in
 * the document that is a message ID (16 hex digits) or a copy ID (one
 * and ".N"), wherever it stands, so a listing may change its shape.
 */
static uint64_t
tort_mark_json(struct tort_book *bk, const json_t *v)
{
	const char	*s, *key;
	json_t		*e;
	size_t		 i, len;
	uint64_t	 n = 0;

	if (json_is_string(v)) {
		s = json_string_value(v);
		len = strspn(s, "0123456789abcdefABCDEF");
		if (len == 16 && (s[16] == '\0' || s[16] == '.'))
			n += tort_mark_id(bk, strtoull(s, NULL, 16));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			n += tort_mark_json(bk, e);
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, e)
			n += tort_mark_json(bk, e);
	}
	return n;
}

/* The same for the text of the listing; 0 when it is not JSON. */
static uint64_t
tort_mark_ids(struct tort_book *bk, const char *text)
{
	json_t		*doc;
	uint64_t	 n;

	if (text == NULL || (doc = json_loads(text, 0, NULL)) == NULL)
		return 0;
	n = tort_mark_json(bk, doc);
	json_decref(doc);
	return n;
}

/* Sum of the metric samples whose name mentions quarantine, -1: none. */
static long long
tort_quarantine_metric(void)
{
	struct ubuf	 b;
	const char	*p, *sp;
	long long	 sum = -1;

	ubuf_init(&b);
	if (tort_http_get("/metrics", &b) == 0 && b.data != NULL)
		for (p = b.data; (p = strstr(p, "quarantin")) != NULL; p++) {
			const char *bol = p;

			while (bol > b.data && bol[-1] != '\n')
				bol--;
			if (*bol == '#' || (sp = strchr(p, ' ')) == NULL ||
			    memchr(bol, '\n', (size_t)(sp - bol)) != NULL)
				continue;
			sum = (sum < 0 ? 0 : sum) + atoll(sp + 1);
		}
	ubuf_free(&b);
	return sum;
}

/*
 * After the restart on a damaged store: what became of the held
 * messages. Delivered, or accounted for by an SM, a dead letter, a
 * quarantine listing (nlctl) or metric, or still held in a store the
 * switch reports damaged (/readyz 503 "store damaged", new messages
 * refused, the recovery named: loud, the operator restores it); the
 * rest are silent losses.
 */
static void
tort_corrupt_account(struct tort_row *r, struct tort_book *bk)
{
	struct ubuf	 b;
	char		 cmd[PATH_MAX * 2];
	uint64_t	 dead, quar = 0, seq, lost = 0, bymetric = 0, held = 0;
	long long	 qm, qm0;
	int		 damaged;

	ubuf_init(&b);
	damaged = tort_http_get("/readyz", &b) == 0 && b.data != NULL &&
	    strstr(b.data, " 503 ") != NULL &&
	    strstr(b.data, "store damaged") != NULL;
	if (damaged) {
		const char *d = strstr(b.data, "store damaged");

		tort_note(r, "%.*s", (int)strcspn(d, "\r\n"), d);
	}
	tort_fmt(cmd, sizeof cmd, "'%s/bin/nlctl' -j -s '%s' deadletters "
	    "2>/dev/null", T.root, T.sock);
	tort_sh(cmd, &b);
	dead = tort_mark_ids(bk, b.data);
	tort_fmt(cmd, sizeof cmd, "'%s/bin/nlctl' -j -s '%s' quarantine "
	    "2>/dev/null", T.root, T.sock);
	if (tort_sh(cmd, &b) == 0)
		quar = tort_mark_ids(bk, b.data);
	qm = qm0 = tort_quarantine_metric();
	ubuf_free(&b);
	for (seq = 1; seq <= bk->n; seq++) {
		if (!(bk->st[seq] & TORT_ST_ACKED) || bk->ndlv[seq] > 0)
			continue;
		if (bk->st[seq] & TORT_ST_ACCOUNTED)
			continue;
		if (qm > 0) {
			qm--;		/* counted, if not named */
			bymetric++;
		} else if (damaged)
			held++;
		else
			lost++;
	}
	r->lost = (long long)lost;
	if (bk->sm_acc + dead + quar + bymetric + held > 0)
		tort_note(r, "accounted for: %llu by an SM, %llu dead letters, "
		    "%llu in a quarantine listing, %llu by a quarantine metric, "
		    "%llu held in a store reported damaged",
		    (unsigned long long)bk->sm_acc, (unsigned long long)dead,
		    (unsigned long long)quar, (unsigned long long)bymetric,
		    (unsigned long long)held);
	if (lost > 0)
		tort_note(r, "SILENT LOSS: %llu held messages neither delivered "
		    "nor accounted for%s", (unsigned long long)lost, qm0 < 0 ?
		    " (no quarantine metric or listing exists)" : "");
}

/* Hold nmsg messages for an offline destination; stop the switch. */
static uint64_t
tort_corrupt_hold(struct tort_book *bk, int nmsg)
{
	struct tort_ep	*tx;
	uint64_t	 end = util_mono_us() + 30000000;

	tx = tort_ep_new(bk, "waagy", "WA0340000", 200, 32, (uint64_t)nmsg);
	while (tx->up && (tx->sent < (uint64_t)nmsg || tx->inflight > 0) &&
	    util_mono_us() < end)
		tort_pump(20);
	/* The SM .02. of every message comes to the sender and leaves the
	 * store with its DACK: then only the held messages are in it. */
	end = util_mono_us() + 10000000;
	while (tx->up && bk->sms[2] < bk->acked && util_mono_us() < end)
		tort_pump(20);
	tort_pump(300);
	tort_ep_free(tx);
	tort_switch_stop(SIGTERM);
	return bk->acked;
}

static void
tort_corrupt_run(struct tort_row *r, const char *kind, int nmsg)
{
	struct tort_book bk = { .pfx = 'C' };
	struct tort_ep	*tx, *rx;
	char		 name[64], why[400], what[400], st[64];
	char		 path[PATH_MAX + 16];
	uint64_t	 held;

	r->runs = 1;
	snprintf(name, sizeof name, "corrupt-%s", kind);
	if (tort_setup(name, "heartbeat=\"5\"", NULL) == -1 ||
	    tort_switch_start(why, sizeof why) == -1) {
		r->result = TORT_FAIL;
		tort_note(r, "before the damage: %s", why);
		return;
	}
	if ((held = tort_corrupt_hold(&bk, nmsg)) == 0) {
		r->result = TORT_FAIL;
		tort_note(r, "no message was held (nothing ACKed)");
		goto out;
	}
	snprintf(path, sizeof path, "%s/data.mdb", T.data);
	if (tort_corrupt(path, kind, what, sizeof what) == -1) {
		r->result = TORT_SKIP;
		tort_note(r, "skipped, nothing to damage: %s", what);
		goto out;
	}
	tort_note(r, "%llu held; %s", (unsigned long long)held, what);
	bk.sm_accounts = 1;
	if (tort_switch_start(why, sizeof why) == -1) {
		r->lost = (long long)held;
		tort_note(r, "NO START on the damaged store (loud, but nothing "
		    "delivered): %s", why);
		goto out;
	}
	tx = tort_ep_new(&bk, "waagy", NULL, 0, 0, 0);	/* SMs come here */
	rx = tort_ep_new(&bk, "cadmv", NULL, 0, 0, 0);
	tort_drain(&bk, 5000, 30000);
	tort_pump(500);
	if (tort_switch_alive())
		tort_corrupt_account(r, &bk);
	if (!tort_switch_alive()) {
		r->lost = (long long)tort_book_lost(&bk);
		tort_note(r, "SWITCH DIED after the restart: %s; %s",
		    tort_status_str(T.sw_status, st, sizeof st),
		    tort_log_tail(why, sizeof why));
		r->result = TORT_FAIL;
	}
	tort_ep_free(tx);
	tort_ep_free(rx);
	if (bk.foreign)
		tort_note(r, "%llu deliveries of messages never sent",
		    (unsigned long long)bk.foreign);
	if (bk.bad)
		tort_note(r, "%llu deliveries with a wrong id or body",
		    (unsigned long long)bk.bad);
out:
	tort_switch_stop(SIGTERM);
	r->acked = (long long)held;
	r->delivered = (long long)bk.dlv;
	r->dups = (long long)bk.dups;
	if (r->lost > 0 || bk.bad > 0)
		r->result = TORT_FAIL;
	tort_book_free(&bk);
}

/* One run per kind of damage, while time (or max_runs) allows. */
static void
tort_cycle_corrupt(int max_runs, int nmsg)
{
	struct tort_row	*r;
	char		 name[32];
	int		 i, n = max_runs > 0 ? max_runs : (int)TORT_NKINDS;

	for (i = 0; i < n; i++) {
		if (i > 0 && tort_left_ms() < 10000)
			break;
		snprintf(name, sizeof name, "corrupt/%s",
		    tort_corrupt_kinds[i % TORT_NKINDS]);
		r = tort_row_new(name);
		tort_corrupt_run(r, tort_corrupt_kinds[i % TORT_NKINDS], nmsg);
		tort_log("%s: %s", name, r->result == TORT_PASS ? "pass" :
		    r->result == TORT_SKIP ? "skipped" : "FAIL");
	}
	if (i < n) {
		r = tort_row_new("corrupt/...");
		r->result = TORT_SKIP;
		tort_note(r, "%d of %d kinds of damage not run: out of time "
		    "(TORTURE_SECONDS)", n - i, n);
	}
}

/* ---- hostile: the attacker, a child process with blocking I/O --------- */

/* What one class of attack got, sent from the attacker to the suite. */
struct tort_hres {
	uint64_t	 attempts, expected, unexpected;
	uint64_t	 nak, error, closed, timeout, ack, refused, hello;
	uint64_t	 dropped, kept;	/* slowloris */
	char		 first[160];	/* the first unexpected answer */
};

enum tort_answer {
	TORT_A_ACK, TORT_A_NAK, TORT_A_ERROR, TORT_A_CLOSED, TORT_A_TIMEOUT
};

static int
tort_tcp(int ms)
{
	struct sockaddr_in	 sin;
	struct timeval		 tv = { ms / 1000, (ms % 1000) * 1000 };
	int			 fd;

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(T.port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
tort_ssl_read(SSL *ssl, void *buf, size_t n)
{
	size_t	 got = 0;
	int	 k;

	while (got < n) {
		if ((k = SSL_read(ssl, (char *)buf + got, (int)(n - got))) <= 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? -2 : -1;
		got += (size_t)k;
	}
	return 0;
}

static int
tort_ssl_write(SSL *ssl, const void *buf, size_t n)
{
	size_t	 done = 0;
	int	 k;

	while (done < n) {
		k = SSL_write(ssl, (const char *)buf + done,
		    (int)(n - done > 65536 ? 65536 : n - done));
		if (k <= 0)
			return -1;
		done += (size_t)k;
	}
	return 0;
}

/* Read one frame (payload up to 16 MB). @return 0, -1 closed, -2 timeout. */
static int
tort_ssl_frame(SSL *ssl, struct frame *f)
{
	uint8_t	 hdr[FRAME_HDR_LEN];
	int	 rc;

	memset(f, 0, sizeof *f);
	errno = 0;
	if ((rc = tort_ssl_read(ssl, hdr, sizeof hdr)) != 0)
		return rc;
	if (frame_decode(hdr, 16u << 20, f) != FRAME_E_OK)
		return -1;
	if (f->len > 0) {
		f->payload = xmalloc(f->len + 1);
		if ((rc = tort_ssl_read(ssl, f->payload, f->len)) != 0) {
			frame_clear(f);
			return rc;
		}
		f->payload[f->len] = '\0';
	}
	return 0;
}

/* The attacker's TLS connection as name; *hello: the switch said HELLO. */
static SSL *
tort_ssl_connect(const char *name, int *hello)
{
	SSL_CTX		*ctx = tort_ssl(name);
	SSL		*ssl;
	struct frame	 f;
	int		 fd;

	*hello = 0;
	if (ctx == NULL || (fd = tort_tcp(5000)) == -1)
		return NULL;
	if ((ssl = SSL_new(ctx)) == NULL) {
		close(fd);
		return NULL;
	}
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	if (SSL_connect(ssl) == 1 && tort_ssl_frame(ssl, &f) == 0) {
		*hello = f.type == FRAME_HELLO;
		frame_clear(&f);
	}
	ERR_clear_error();
	return ssl;
}

static void
tort_ssl_close(SSL **sslp)
{
	int fd;

	if (*sslp == NULL)
		return;
	fd = SSL_get_fd(*sslp);
	SSL_free(*sslp);
	close(fd);
	*sslp = NULL;
}

/* Wait for the answer to what was sent (HB and deliveries skipped). */
static enum tort_answer
tort_ssl_answer(SSL *ssl, int *code, int *root_seen)
{
	struct frame		 f;
	enum tort_answer	 a;
	int			 rc;

	*code = -1;
	for (;;) {
		if ((rc = tort_ssl_frame(ssl, &f)) != 0)
			return rc == -2 ? TORT_A_TIMEOUT : TORT_A_CLOSED;
		if (f.type == FRAME_ACK || f.type == FRAME_NAK ||
		    f.type == FRAME_ERROR)
			break;
		frame_clear(&f);
	}
	a = f.type == FRAME_ACK ? TORT_A_ACK : f.type == FRAME_NAK ?
	    TORT_A_NAK : TORT_A_ERROR;
	if (a == TORT_A_NAK) {
		*code = tort_er_code(f.payload, f.len);
		if (root_seen != NULL && memmem(f.payload, f.len, "root:", 5))
			*root_seen = 1;
	}
	frame_clear(&f);
	return a;
}

static void
tort_hres_count(struct tort_hres *h, enum tort_answer a, int ok,
    const char *what)
{
	static const char *const names[] = { "ACK", "NAK", "ERROR frame",
	    "closed", "no answer in time" };

	h->attempts++;
	switch (a) {
	case TORT_A_ACK:	h->ack++; break;
	case TORT_A_NAK:	h->nak++; break;
	case TORT_A_ERROR:	h->error++; break;
	case TORT_A_CLOSED:	h->closed++; break;
	case TORT_A_TIMEOUT:	h->timeout++; break;
	}
	if (ok)
		h->expected++;
	else if (h->unexpected++ == 0)
		snprintf(h->first, sizeof h->first, "%s: %s", what, names[a]);
}

/* Random bytes before any TLS: the switch must close. */
static void
tort_atk_garbage_tcp(struct tort_hres *h)
{
	uint8_t	 buf[2048];
	ssize_t	 n;
	size_t	 i;
	int	 fd, closed;

	for (i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)tort_rand();
	/* Bytes that look like the start of a long record are waited for
	 * until the handshake times out: three heartbeats (2 s here). */
	if ((fd = tort_tcp(9000)) == -1)
		return;
	n = write(fd, buf, sizeof buf);
	while (n >= 0 && (n = read(fd, buf, sizeof buf)) > 0)
		;
	closed = n == 0 || errno == ECONNRESET || errno == EPIPE;
	tort_hres_count(h, closed ? TORT_A_CLOSED : TORT_A_TIMEOUT, closed,
	    "garbage");
	close(fd);
}

/*
 * Send one frame header (and payload) on the attacker's session and
 * check the answer against the expectation: ok_mask of TORT_A_* bits,
 * NAKs also by code (want_code, -1 any).
 */
static void
tort_atk_frame(struct tort_hres *h, const char *what, uint8_t type,
    uint8_t version, uint32_t len, const void *payload, size_t plen,
    unsigned ok_mask, int want_code)
{
	static SSL	*ssl;
	uint8_t		 hdr[FRAME_HDR_LEN];
	enum tort_answer a;
	int		 hello, code, root = 0;

	if (ssl == NULL) {
		ssl = tort_ssl_connect("waagy", &hello);
		if (!hello) {
			tort_ssl_close(&ssl);
			tort_hres_count(h, TORT_A_CLOSED, 0, "waagy refused");
			usleep(100000);
			return;
		}
	}
	frame_encode(hdr, type, 0, h->attempts + 1, len);
	hdr[5] = version;
	if (tort_ssl_write(ssl, hdr, sizeof hdr) == -1 ||
	    (plen > 0 && tort_ssl_write(ssl, payload, plen) == -1))
		a = TORT_A_CLOSED;
	else
		a = tort_ssl_answer(ssl, &code, &root);
	tort_hres_count(h, a, ((1u << a) & ok_mask) && !root &&
	    (a != TORT_A_NAK || want_code < 0 || code == want_code), what);
	if (root && h->unexpected == 1)
		snprintf(h->first, sizeof h->first, "%s: the ER quotes a "
		    "local file", what);
	/* A session the switch closed, or one left mid-frame, is done; so
	 * is one after a MSG above max-frame (NAK .91., then ERROR and
	 * close: docs/protocol.md). */
	if (a != TORT_A_NAK && a != TORT_A_ACK)
		tort_ssl_close(&ssl);
	else if (a == TORT_A_NAK && code == MSG_ER_TOO_LARGE)
		tort_ssl_close(&ssl);
	else if (len > plen)
		tort_ssl_close(&ssl);
}

#define TORT_OK(a)	(1u << (a))

static char *
tort_fixture(const char *name, size_t *len)
{
	char	 path[PATH_MAX];

	tort_fmt(path, sizeof path, "%s/fixtures/msg/invalid/%s", T.root, name);
	return util_read_file(path, len);
}

/* An AM whose mail data nests depth elements (libxml2 refuses 256+). */
static char *
tort_deep(size_t depth, size_t *len)
{
	static const char *const dests[] = { "CA" };
	struct ubuf	 b;
	size_t		 i;

	ubuf_init(&b);
	msgbuild_begin(&b, msg_key_lookup("AM"), "WA0340000", dests, 1, "DEEP");
	for (i = 0; i < depth; i++)
		ubuf_add(&b, "<n2:a>", 6);
	for (i = 0; i < depth; i++)
		ubuf_add(&b, "</n2:a>", 7);
	msgbuild_end(&b, msg_key_lookup("AM"));
	return ubuf_take(&b, len);
}

/*
 * An AM of 9 KB to the attacker's own line (WAAGY), which is connected
 * and reads but never acknowledges a delivery: everything past the
 * window stays queued for it, the way a state line that stopped reading
 * fills the store.
 */
static char *
tort_flood_msg(size_t *len)
{
	static const char *const dests[] = { "WA0340000" };
	struct ubuf	 b;
	size_t		 i;

	ubuf_init(&b);
	msgbuild_begin(&b, msg_key_lookup("AM"), "WA0340000", dests, 1,
	    "FLOOD");
	ubuf_adds(&b, "<n2:MailMessageText>");
	for (i = 0; i < 9000; i++)
		ubuf_add(&b, (i % 64) == 63 ? " " : "f", 1);
	ubuf_adds(&b, "</n2:MailMessageText>");
	msgbuild_end(&b, msg_key_lookup("AM"));
	return ubuf_take(&b, len);
}

/* A certificate the switch must refuse: none, another CA's, no line's. */
static void
tort_atk_cert(struct tort_hres *h)
{
	static const char *const names[] = { "", "other", "stranger" };
	const char	*name = names[h->attempts % 3];
	SSL		*ssl;
	int		 hello;

	ssl = tort_ssl_connect(name, &hello);
	h->attempts++;
	if (hello) {
		h->hello++;
		if (h->unexpected++ == 0)
			snprintf(h->first, sizeof h->first, "certificate \"%s\""
			    " got HELLO", *name ? name : "(none)");
	} else {
		h->refused++;
		h->expected++;
	}
	tort_ssl_close(&ssl);
}

/*
 * Slowloris: hold many half-open connections (silent TCP, a TLS
 * ClientHello trickled a byte at a time) for the whole phase. The switch
 * must drop a handshake that does not complete in three heartbeats.
 */
static void
tort_atk_slowloris(struct tort_hres *h, uint64_t end, int n, int hb)
{
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x00, 0xc8, 0x01,
	    0x00, 0x00, 0xc4, 0x03, 0x03 };
	struct pollfd	*pf = xcalloc((size_t)n, sizeof *pf);
	uint64_t	*t0 = xcalloc((size_t)n, sizeof *t0), now;
	uint64_t	 limit = (uint64_t)(3 * hb + 4) * 1000000;
	uint8_t		 b;
	int		 i, k;

	for (i = 0; i < n; i++) {
		pf[i].fd = tort_tcp(1000);
		pf[i].events = POLLIN;
		t0[i] = util_mono_us();
		if (pf[i].fd != -1)
			h->attempts++;
		if (pf[i].fd != -1 && i % 2 &&
		    write(pf[i].fd, hello, 5) == -1)
			pf[i].fd = -1;
	}
	while ((now = util_mono_us()) < end) {
		poll(pf, (nfds_t)n, 500);
		for (i = 0; i < n; i++) {
			if (pf[i].fd < 0)
				continue;
			if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				k = (int)read(pf[i].fd, &b, 1);
				if (k <= 0) {
					close(pf[i].fd);
					pf[i].fd = -1;
					h->dropped++;
					continue;
				}
			}
			if (i % 2) {	/* the next byte of the hello */
				b = (uint8_t)tort_rand();
				if (write(pf[i].fd, &b, 1) == -1) {
					close(pf[i].fd);
					pf[i].fd = -1;
					h->dropped++;
				}
			}
		}
	}
	for (i = 0; i < n; i++) {
		if (pf[i].fd < 0)
			continue;
		h->kept++;
		if (util_mono_us() - t0[i] > limit && h->unexpected++ == 0)
			snprintf(h->first, sizeof h->first, "a half-open "
			    "connection still open after %d s",
			    (int)((util_mono_us() - t0[i]) / 1000000));
		close(pf[i].fd);
	}
	h->expected = h->dropped;
	free(pf);
	free(t0);
}

static const char *const tort_hostile_classes[] = {
	"garbage-tcp", "garbage-frames", "bad-version", "bad-type",
	"len-ffffffff", "xxe", "billion-laughs", "deep-nesting", "oversized",
	"bad-certs", "slowloris", "flood-nonreader"
};
#define TORT_NCLASSES \
	(sizeof tort_hostile_classes / sizeof tort_hostile_classes[0])

/* The attacker: class cls until end (monotonic us). */
static void
tort_attack(int cls, uint64_t end, int hb, struct tort_hres *h)
{
	const char	*name = tort_hostile_classes[cls];
	char		*fix = NULL, *junk = NULL;
	size_t		 len = 0, i;
	unsigned	 closes = TORT_OK(TORT_A_ERROR) | TORT_OK(TORT_A_CLOSED);

	if (strcmp(name, "slowloris") == 0) {
		tort_atk_slowloris(h, end, 200, hb);
		return;
	}
	if (strcmp(name, "xxe") == 0)
		fix = tort_fixture("format-xxe.xml", &len);
	else if (strcmp(name, "billion-laughs") == 0)
		fix = tort_fixture("format-billion-laughs.xml", &len);
	else if (strcmp(name, "deep-nesting") == 0)
		fix = tort_deep(100000, &len);
	else if (strcmp(name, "flood-nonreader") == 0)
		fix = tort_flood_msg(&len);
	else if (strcmp(name, "oversized") == 0 ||
	    strcmp(name, "garbage-frames") == 0 ||
	    strcmp(name, "len-ffffffff") == 0) {
		len = strcmp(name, "oversized") == 0 ? 2u << 20 : 4096;
		junk = xmalloc(len);
		memset(junk, '<', len);
	}
	while (util_mono_us() < end) {
		if (strcmp(name, "garbage-tcp") == 0)
			tort_atk_garbage_tcp(h);
		else if (strcmp(name, "garbage-frames") == 0) {
			for (i = 0; i < len; i++)
				junk[i] = (char)tort_rand();
			/* Random, except that it is not protocol version 1. */
			tort_atk_frame(h, name, (uint8_t)junk[0],
			    (uint8_t)(2 + (uint8_t)junk[1] % 250),
			    (uint32_t)len, junk, len, closes, -1);
		} else if (strcmp(name, "bad-version") == 0)
			tort_atk_frame(h, name, FRAME_MSG, 2, 0, NULL, 0,
			    closes, -1);
		else if (strcmp(name, "bad-type") == 0)
			tort_atk_frame(h, name, 99, FRAME_VERSION, 0, NULL, 0,
			    closes, -1);
		else if (strcmp(name, "len-ffffffff") == 0)
			tort_atk_frame(h, name, FRAME_MSG, FRAME_VERSION,
			    0xFFFFFFFFu, junk, len, TORT_OK(TORT_A_NAK) | closes,
			    MSG_ER_TOO_LARGE);
		else if (strcmp(name, "oversized") == 0)
			/* Refused at the header: NAK .91., ERROR, close;
			 * the rest of the payload may meet the close. */
			tort_atk_frame(h, name, FRAME_MSG, FRAME_VERSION,
			    (uint32_t)len, junk, len, TORT_OK(TORT_A_NAK) |
			    closes, MSG_ER_TOO_LARGE);
		else if (strcmp(name, "flood-nonreader") == 0)
			/* ACKed until the line holds its quota, then
			 * "queue full for destination" (.92.). */
			tort_atk_frame(h, name, FRAME_MSG, FRAME_VERSION,
			    (uint32_t)len, fix, len, TORT_OK(TORT_A_ACK) |
			    TORT_OK(TORT_A_NAK), MSG_ER_QUEUE_FULL);
		else if (fix != NULL)
			tort_atk_frame(h, name, FRAME_MSG, FRAME_VERSION,
			    (uint32_t)len, fix, len, TORT_OK(TORT_A_NAK) |
			    (len > (1u << 20) ? closes : 0), -1);
		else if (strcmp(name, "bad-certs") == 0)
			tort_atk_cert(h);
		else
			break;
	}
	free(fix);
	free(junk);
}

/* ---- hostile: the suite's side --------------------------------------- */

struct tort_good {
	struct tort_book	 bk;
	struct tort_ep		*tx, *rx;
	double			 base_rate;
	int			 restarts;
	pid_t			 first_pid;
};

/* The good stream: ORAGY -> CA, CADMV receiving; (re)connected. */
static void
tort_good_connect(struct tort_good *g)
{
	if (g->rx == NULL || !g->rx->up) {
		tort_ep_free(g->rx);
		g->rx = tort_ep_new(&g->bk, "cadmv", NULL, 0, 0, 0);
	}
	if (g->tx == NULL || !g->tx->up) {
		tort_ep_free(g->tx);
		g->tx = tort_ep_new(&g->bk, "oragy", "OR0260000", 300, 32, 0);
	}
}

/*
 * The attacker: a child process running class cls (-1: none) until end,
 * which writes its tort_hres into a pipe. @return its pid (0 or -1: none
 * running), *rfd the pipe's read end (-1: none).
 */
static pid_t
tort_attacker_start(int cls, uint64_t end, int *rfd)
{
	struct tort_hres h;
	int		 pfd[2] = { -1, -1 };
	pid_t		 pid = 0;

	if (cls >= 0 && pipe(pfd) == 0 && (pid = fork()) == 0) {
		close(pfd[0]);
		memset(&h, 0, sizeof h);
		T.seed ^= (uint64_t)getpid() << 17;
		tort_attack(cls, end, 2, &h);
		if (write(pfd[1], &h, sizeof h) != (ssize_t)sizeof h)
			_exit(1);
		_exit(0);
	}
	if (pid > 0)
		tort_proc_add(pid);
	if (pfd[1] != -1)
		close(pfd[1]);
	*rfd = pfd[0];
	return pid;
}

/* What attacker pid reported on rfd into h (a note in r if nothing);
 * then it is stopped and rfd closed. */
static void
tort_attacker_end(struct tort_row *r, pid_t pid, int rfd,
    struct tort_hres *h)
{
	struct pollfd	 p = { rfd, POLLIN, 0 };

	if (pid > 0) {
		if (poll(&p, 1, 15000) != 1 ||
		    read(rfd, h, sizeof *h) != (ssize_t)sizeof *h)
			tort_note(r, "the attacker reported nothing");
		tort_proc_stop(pid, SIGKILL, 2000);
	}
	if (rfd != -1)
		close(rfd);
}

/*
 * The good stream, started at t0, until end or the switch dies,
 * reconnected when a side drops; the longest gap between deliveries
 * into g->bk.max_gap_us. @return the seconds it ran.
 */
static double
tort_good_run(struct tort_good *g, uint64_t t0, uint64_t end)
{
	double	 secs;

	while (util_mono_us() < end && tort_switch_alive()) {
		tort_pump(100);
		if (!g->tx->up || !g->rx->up)
			tort_good_connect(g);
	}
	secs = (util_mono_us() - t0) / 1e6;
	if (g->bk.last_dlv_us != 0 &&
	    util_mono_us() - g->bk.last_dlv_us > g->bk.max_gap_us)
		g->bk.max_gap_us = util_mono_us() - g->bk.last_dlv_us;
	return secs;
}

/* A phase's figures into r's notes: the good stream's rate (and its
 * share of the baseline), its longest gap, the attack's answers. */
static void
tort_hostile_notes(struct tort_row *r, const struct tort_good *g, int cls,
    const struct tort_hres *h, double rate)
{
	tort_note(r, "good stream %.0f msg/s", rate);
	if (cls >= 0 && g->base_rate > 0)
		tort_note(r, "%.0f %% of the baseline", 100 * rate /
		    g->base_rate);
	tort_note(r, "longest gap %.0f ms", g->bk.max_gap_us / 1000.0);
	if (cls >= 0 && strcmp(tort_hostile_classes[cls], "slowloris") == 0)
		tort_note(r, "%llu half-open connections: %llu dropped by the "
		    "switch, %llu still open at the end",
		    (unsigned long long)h->attempts,
		    (unsigned long long)h->dropped,
		    (unsigned long long)h->kept);
	else if (cls >= 0)
		tort_note(r, "answers: %llu NAK, %llu ERROR, %llu closed, %llu "
		    "refused, %llu ACK, %llu none", (unsigned long long)h->nak,
		    (unsigned long long)h->error,
		    (unsigned long long)h->closed,
		    (unsigned long long)h->refused,
		    (unsigned long long)h->ack + h->hello,
		    (unsigned long long)h->timeout);
}

/*
 * A phase's verdict: r fails on a NAK to the good stream under the flood
 * (naked: its NAKs before the phase), an unexpected answer, an attack
 * that never got going, a stalled stream or a dead switch, which is
 * restarted for the next phase.
 */
static void
tort_hostile_verdict(struct tort_row *r, struct tort_good *g, int cls,
    const struct tort_hres *h, uint64_t naked)
{
	char	 why[300], st[64];

	if (g->bk.naked > naked) {
		tort_note(r, "the good stream got %llu NAK",
		    (unsigned long long)(g->bk.naked - naked));
		/* One flooded line must not cost the others anything. */
		if (cls >= 0 &&
		    strcmp(tort_hostile_classes[cls], "flood-nonreader") == 0)
			r->result = TORT_FAIL;
	}
	if (h->unexpected > 0) {
		r->result = TORT_FAIL;
		tort_note(r, "%llu UNEXPECTED, first: %s",
		    (unsigned long long)h->unexpected, h->first);
	}
	if (cls >= 0 && h->attempts == 0) {
		r->result = TORT_FAIL;
		tort_note(r, "the attack never got going");
	}
	if (r->delivered == 0) {
		r->result = TORT_FAIL;
		tort_note(r, "GOOD STREAM STALLED");
	}
	if (!tort_switch_alive()) {
		r->result = TORT_FAIL;
		tort_note(r, "SWITCH DIED: %s; %s", tort_status_str(T.sw_status,
		    st, sizeof st), tort_log_tail(why, sizeof why));
		if (tort_switch_start(why, sizeof why) == 0)
			g->restarts++;
		else
			tort_note(r, "no restart: %s", why);
	} else
		tort_note(r, "switch up");
}

/* Run the good stream for ms with attack class cls (-1: none) going. */
static void
tort_hostile_phase(struct tort_row *r, struct tort_good *g, int cls,
    uint64_t ms)
{
	struct tort_hres h;
	uint64_t	 t0 = util_mono_us(), end = t0 + ms * 1000, acked, dlv;
	uint64_t	 naked;
	double		 secs, rate;
	int		 rfd;
	pid_t		 pid;

	memset(&h, 0, sizeof h);
	tort_good_connect(g);
	acked = g->bk.acked;
	naked = g->bk.naked;
	dlv = g->bk.dlv;
	g->bk.max_gap_us = 0;
	g->bk.last_dlv_us = t0;
	pid = tort_attacker_start(cls, end, &rfd);
	secs = tort_good_run(g, t0, end);
	tort_attacker_end(r, pid, rfd, &h);
	rate = (double)(g->bk.dlv - dlv) / secs;
	if (cls < 0)
		g->base_rate = rate;
	r->runs = cls < 0 ? -1 : (long long)h.attempts;
	r->acked = (long long)(g->bk.acked - acked);
	r->delivered = (long long)(g->bk.dlv - dlv);
	tort_hostile_notes(r, g, cls, &h, rate);
	tort_hostile_verdict(r, g, cls, &h, naked);
}

static void
tort_cycle_hostile(void)
{
	struct tort_good g;
	struct tort_row	*r, *sum;
	uint64_t	 phase;
	char		 why[400], name[32];
	size_t		 i;

	memset(&g, 0, sizeof g);
	g.bk.pfx = 'G';
	/* A destination quota the flood reaches within its phase. */
	if (tort_setup("hostile", "heartbeat=\"2\" dest-quota=\"600K\"",
	    NULL) == -1 ||
	    tort_switch_start(why, sizeof why) == -1) {
		sum = tort_row_new("hostile/good-stream");
		sum->result = TORT_FAIL;
		tort_note(sum, "%s", why);
		return;
	}
	g.first_pid = T.sw_pid;
	/* Phases of equal length (slowloris needs 3 heartbeats + margin). */
	phase = tort_left_ms() / (TORT_NCLASSES + 2);
	if (phase < 4000)
		phase = 4000;
	if (phase > 30000)
		phase = 30000;
	r = tort_row_new("hostile/baseline");
	tort_hostile_phase(r, &g, -1, phase);
	for (i = 0; i < TORT_NCLASSES; i++) {
		snprintf(name, sizeof name, "hostile/%s",
		    tort_hostile_classes[i]);
		r = tort_row_new(name);
		tort_hostile_phase(r, &g, (int)i,
		    strcmp(tort_hostile_classes[i], "slowloris") == 0 &&
		    phase < 12000 ? 12000 : phase);
		tort_log("%s: %s", name, r->result == TORT_PASS ? "pass" :
		    "FAIL");
	}
	/* Every good message ACKed must be delivered. */
	g.tx->streaming = 0;
	tort_wait_answers(g.tx, 5000);
	tort_drain(&g.bk, 5000, 20000);
	sum = tort_row_new("hostile/good-stream");
	sum->runs = (long long)TORT_NCLASSES;
	sum->acked = (long long)g.bk.acked;
	sum->delivered = (long long)g.bk.dlv;
	sum->dups = (long long)g.bk.dups;
	sum->lost = (long long)tort_book_lost(&g.bk);
	if (g.first_pid == T.sw_pid && tort_switch_alive())
		tort_note(sum, "one switch process all along");
	else
		tort_note(sum, "the switch was restarted %d times",
		    g.restarts);
	if (g.bk.bad || g.bk.foreign)
		tort_note(sum, "%llu wrong deliveries, %llu of messages never "
		    "sent", (unsigned long long)g.bk.bad,
		    (unsigned long long)g.bk.foreign);
	if (sum->lost > 0 || g.bk.bad > 0 || g.restarts > 0 ||
	    g.first_pid != T.sw_pid)
		sum->result = TORT_FAIL;
	tort_ep_free(g.tx);
	tort_ep_free(g.rx);
	tort_switch_stop(SIGTERM);
	tort_book_free(&g.bk);
}

/* ---- main ------------------------------------------------------------ */

static void
tort_print(double took)
{
	const struct tort_row	*r;
	char			 num[5][24];
	long long		 x;
	int			 i, k, pass = 0, fail = 0, skip = 0;

	printf("\nnltorture: seed %llu, %.0f s\n\n",
	    (unsigned long long)T.seed0, took);
	printf("%-24s | %5s | %9s | %9s | %10s | %6s | %-6s | notes\n",
	    "cycle", "runs", "acked", "delivered", "duplicates", "lost",
	    "result");
	printf("%.24s-+-------+-----------+-----------+------------+--------+"
	    "--------+------\n", "------------------------------");
	for (i = 0; i < T.nrows; i++) {
		r = &T.rows[i];
		for (k = 0; k < 5; k++) {
			x = k == 0 ? r->runs : k == 1 ? r->acked : k == 2 ?
			    r->delivered : k == 3 ? r->dups : r->lost;
			if (x < 0)
				util_strlcpy(num[k], "-", sizeof num[k]);
			else
				snprintf(num[k], sizeof num[k], "%lld", x);
		}
		printf("%-24s | %5s | %9s | %9s | %10s | %6s | %-6s | %s\n",
		    r->cycle, num[0], num[1], num[2], num[3], num[4],
		    r->result == TORT_PASS ? "PASS" : r->result == TORT_FAIL ?
		    "FAIL" : "skip", r->notes);
		pass += r->result == TORT_PASS;
		fail += r->result == TORT_FAIL;
		skip += r->result == TORT_SKIP;
	}
	printf("\ntorture: %d passed, %d failed, %d skipped\n", pass, fail, skip);
	printf("torture: %s\n", fail ? "FAIL" : "PASS");
	fflush(stdout);
}

/* The usage: on stdout and exit 0 for --help, else stderr and exit 2. */
static void __attribute__((noreturn))
tort_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: nltorture [-v] [-k] "
	    "[-s SECONDS] [-K KILLS] [-C CORRUPTIONS] [-S SEED]\n"
	    "                 [kill9 diskfull corrupt hostile powerloss]\n"
	    "       nltorture --help | --version\n");
	exit(status);
}

/* The repository: NLSWITCH_ROOT, else the directory above bin/. */
static void
tort_root(const char *argv0)
{
	const char	*env = getenv("NLSWITCH_ROOT");
	char		 exe[PATH_MAX], *p;
	ssize_t		 n;

	if (env != NULL) {
		util_strlcpy(T.root, env, sizeof T.root);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		if ((p = strrchr(exe, '/')) != NULL)
			*p = '\0';
		if ((p = strrchr(exe, '/')) != NULL)
			*p = '\0';
		util_strlcpy(T.root, exe, sizeof T.root);
	} else if (getcwd(T.root, sizeof T.root) == NULL)
		util_strlcpy(T.root, ".", sizeof T.root);
	(void)argv0;
}

static long
tort_env_num(const char *name, long def)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? strtol(v, NULL, 10) : def;
}

/* Can a tmpfs be mounted here? (Decides the diskfull share up front.) */
static int
tort_can_mount(void)
{
	char	 dir[PATH_MAX + 8];
	int	 ok;

	snprintf(dir, sizeof dir, "%s/probe", T.dir);
	if (geteuid() != 0 || mkdir(dir, 0700) == -1)
		return 0;
	ok = mount("tmpfs", dir, "tmpfs", 0, "size=1m") == 0;
	if (ok)
		umount2(dir, 0);
	rmdir(dir);
	return ok;
}

enum { TORT_C_KILL, TORT_C_DISK, TORT_C_CORRUPT, TORT_C_HOSTILE,
    TORT_C_POWER, TORT_C_N };
static const char *const tort_cycles[TORT_C_N] = {
	"kill9", "diskfull", "corrupt", "hostile", "powerloss"
};
/* Shares of the time, relative. */
static const int tort_weight[TORT_C_N] = { 35, 15, 20, 25, 15 };

/* What main takes from the command line and the environment. */
struct tort_opts {
	long	 secs;			/* -s, TORTURE_SECONDS */
	long	 kills;			/* -K, TORTURE_KILLS */
	long	 corr;			/* -C, TORTURE_CORRUPTIONS */
	int	 want[TORT_C_N];	/* the cycles asked for */
};

/* The environment, then the command line, into o and T; usage() on an
 * error. */
static void
tort_options(struct tort_opts *o, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	int	 ch, i, j;

	o->secs = tort_env_num("TORTURE_SECONDS", TORT_DEF_SECONDS);
	o->kills = tort_env_num("TORTURE_KILLS", 0);
	o->corr = tort_env_num("TORTURE_CORRUPTIONS", 0);
	T.keep = tort_env_num("TORTURE_KEEP", 0) != 0;
	T.seed = (uint64_t)tort_env_num("TORTURE_SEED", 0);
	while ((ch = getopt_long(argc, argv, "C:hkK:s:S:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'C': o->corr = strtol(optarg, NULL, 10); break;
		case 'k': T.keep = 1; break;
		case 'K': o->kills = strtol(optarg, NULL, 10); break;
		case 's': o->secs = strtol(optarg, NULL, 10); break;
		case 'S': T.seed = strtoull(optarg, NULL, 10); break;
		case 'v': T.verbose = 1; break;
		case 'h': tort_usage(0);
		case 'V': util_version_exit("nltorture");
		default: tort_usage(2);
		}
	}
	if (o->secs < 30 || o->kills < 0 || o->corr < 0)
		tort_usage(2);
	for (i = 0; i < TORT_C_N; i++)
		o->want[i] = optind == argc;
	for (j = optind; j < argc; j++) {
		for (i = 0; i < TORT_C_N; i++)
			if (strcmp(argv[j], tort_cycles[i]) == 0)
				o->want[i] = 1;
		for (i = 0; i < TORT_C_N && strcmp(argv[j], tort_cycles[i]); i++)
			;
		if (i == TORT_C_N)
			tort_usage(2);
	}
}

/*
 * The suite's run directory, signals and watchdog, PKI and event base.
 * @return 0, or -1 (said why).
 */
static int
tort_init(const struct tort_opts *o, const char *argv0)
{
	char	 cmd[PATH_MAX * 2];

	if (T.seed == 0)
		T.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
	T.seed0 = T.seed;
	tort_root(argv0);
	snprintf(T.dir, sizeof T.dir, "/tmp/nltorture-XXXXXX");
	if (mkdtemp(T.dir) == NULL) {
		perror("nltorture: mkdtemp");
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, tort_signal);
	signal(SIGTERM, tort_signal);
	signal(SIGALRM, tort_signal);
	alarm((unsigned)(o->secs + o->secs / 2 + 300));	/* the watchdog */
	tort_fmt(T.pki, sizeof T.pki, "%s/pki", T.dir);
	tort_fmt(cmd, sizeof cmd, "'%s/tools/nlpki' '%s' -o waagy oragy cadmv "
	    "stranger >/dev/null", T.root, T.pki);
	if (system(cmd) != 0 || (T.base = event_base_new()) == NULL) {
		tort_log("cannot make the PKI or the event base (%s)", cmd);
		return -1;
	}
	tort_log("%ld s, seed %llu, in %s (root %s)", o->secs,
	    (unsigned long long)T.seed, T.dir, T.root);
	return 0;
}

/* Cycle i (TORT_C_*), its rows added; the switch killed after it. */
static void
tort_cycle_run(int i, const struct tort_opts *o)
{
	struct tort_row	*r;

	switch (i) {
	case TORT_C_KILL:
		r = tort_row_new("kill9");
		if (tort_setup("kill9", "heartbeat=\"5\"", NULL) == -1)
			r->result = TORT_FAIL;
		else
			tort_cycle_kill(r, NULL, (int)o->kills);
		break;
	case TORT_C_DISK:
		r = tort_row_new("diskfull");
		tort_cycle_diskfull(r, (unsigned)tort_env_num(
		    "TORTURE_DISK_MB", 64));
		tort_log("diskfull: %s", r->result == TORT_PASS ?
		    "pass" : r->result == TORT_SKIP ? "skipped" : "FAIL");
		break;
	case TORT_C_CORRUPT:
		tort_cycle_corrupt((int)o->corr, (int)tort_env_num(
		    "TORTURE_HELD", 200));
		break;
	case TORT_C_HOSTILE:
		tort_cycle_hostile();
		break;
	case TORT_C_POWER:
		r = tort_row_new("powerloss");
		tort_cycle_powerloss(r, (int)o->kills);
		break;
	}
	tort_switch_stop(SIGKILL);
}

/*
 * The cycles asked for, in order, each with its share of what is left
 * of the time since t0; cycles that will be skipped take no share.
 */
static void
tort_cycles_run(const struct tort_opts *o, uint64_t t0)
{
	uint64_t	 now, left, end = t0 + (uint64_t)o->secs * 1000000;
	int		 w[TORT_C_N], i, j, wsum;

	for (i = 0; i < TORT_C_N; i++)
		w[i] = o->want[i] ? tort_weight[i] : 0;
	if (o->want[TORT_C_DISK] && !tort_can_mount())
		w[TORT_C_DISK] = 0;
	if (o->want[TORT_C_POWER] && tort_lazyfs_bin() == NULL)
		w[TORT_C_POWER] = 0;
	for (i = 0; i < TORT_C_N; i++) {
		if (!o->want[i])
			continue;
		now = util_mono_us();
		left = end > now ? end - now : 0;
		for (wsum = 0, j = i; j < TORT_C_N; j++)
			wsum += w[j];
		T.deadline = now + (wsum ? left * (uint64_t)w[i] / wsum : 0);
		tort_log("%s: %.0f s", tort_cycles[i], tort_left_ms() / 1000.0);
		tort_cycle_run(i, o);
	}
}

/*
 * Everything stopped and freed, the table printed, the run directory
 * removed (unless kept). @return the exit status: 1 a cycle failed, 0.
 */
static int
tort_finish(uint64_t t0)
{
	char	 cmd[PATH_MAX * 2];
	int	 i;

	tort_cleanup_now();
	for (i = 0; i < 8 && T.ssl[i] != NULL; i++)
		SSL_CTX_free(T.ssl[i]);
	event_base_free(T.base);
	tort_print((util_mono_us() - t0) / 1e6);
	if (T.keep)
		tort_log("kept %s", T.dir);
	else {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.dir);
		if (system(cmd) != 0)
			tort_log("could not remove %s", T.dir);
	}
	for (i = 0; i < T.nrows; i++)
		if (T.rows[i].result == TORT_FAIL)
			return 1;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct tort_opts o;
	uint64_t	 t0 = util_mono_us();

	tort_options(&o, argc, argv);
	if (tort_init(&o, argv[0]) == -1)
		return 3;
	tort_cycles_run(&o, t0);
	return tort_finish(t0);
}
