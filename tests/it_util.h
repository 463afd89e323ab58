/*
 * it_util - harness for integration tests: a private run directory with a
 * throw-away PKI and config, the real nlswitchd (and simulators) started as
 * processes on 127.0.0.1 port 0, and synchronous test clients on top of
 * adapters/client.c with bounded waits.
 *
 * NLSWITCH_KEEP=1 keeps the run directory for post-mortem.
 */
#ifndef NLSWITCH_IT_UTIL_H
#define NLSWITCH_IT_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "msg.h"

struct event_base;

#define IT_MAXPROC	8

struct it_env {
	char		 dir[256];
	char		 pki[300];
	char		 conf[300];
	char		 portfile[300];
	char		 port[16];
	char		 admin_port[16];	/* admin HTTP */
	char		 sock[300];		/* control socket */
	char		 root[256];	/* repo root */
	pid_t		 switch_pid;
	pid_t		 procs[IT_MAXPROC];
	int		 nprocs;
	struct event_base *base;
};

/**
 * New run directory + PKI (lines waagy oragy cadmv nvdmv; "stranger",
 * issued by the same CA to a name no line has; and a cert from another CA) + config with the given <limits .../> attributes (may be "").
 * Lines: WAAGY (WA0340000) and ORAGY (OR0260000) agencies accepting
 * DR KR DNR AM YR; CADMV (member CA, CAOLN0000) accepting DQ KQ DNQ AM YQ with
 * DNQ held; NVDMV (member NV, NVOLN0000) accepting DQ KQ DNQ with KQ
 * removed from service; region WR = CA NV.
 */
struct it_env	*it_env_new(const char *name, const char *limits);
/** The same, with attributes for the CADMV <line> (" quota=\"1M\"") and
 * elements after the regions ("<audit .../>"); both may be "". */
struct it_env	*it_env_new_conf(const char *name, const char *limits,
		    const char *ca_attrs, const char *tail);
/**
 * Give e the PKI of from (a second switch of one network, or of one
 * cluster: the same CA and certificates). @return 0 or -1.
 */
int		 it_env_share_pki(struct it_env *e, const struct it_env *from);
/** Start nlswitchd and wait for its port file. @return 0 or -1. */
int		 it_switch_start(struct it_env *);
/** The same, waiting up to wait_ms for it to listen (15 s above). */
int		 it_switch_start_wait(struct it_env *, int wait_ms);
/** Send sig to the switch and reap it (bounded wait). */
void		 it_switch_stop(struct it_env *, int sig);
/** Start a helper process (argv[0] relative to the repo root). */
pid_t		 it_spawn(struct it_env *, const char *log, char *const argv[]);
void		 it_kill(struct it_env *, pid_t, int sig);
/** Sanitizer reports found in process logs so far (a failure). */
extern int	 it_log_errors;
/** Stop everything, scan the logs for sanitizer reports, remove the
 * directory. */
void		 it_env_free(struct it_env *);

/* A received delivery. */
struct it_dlv {
	uint64_t	 msgid;
	uint16_t	 copy;
	char		*xml;
	size_t		 len;
};

struct it_client {
	struct it_env	*env;
	struct client	*c;
	SSL_CTX		*ssl;
	int		 up;
	int		 closed;
	char		 why[256];	/* the closed callback's text */
	int		 autodack;
	/* per tag: 0 waiting, 1 acked, 2 nacked */
	int		*state;
	char		**reply;	/* ACK msgid or NAK ER text */
	size_t		 ntags;
	struct it_dlv	*dlv;
	size_t		 ndlv;
};

/**
 * Connect as pki/NAME (cert NULL-able: name "" connects without a
 * certificate; name "other" uses the other CA's cert) and wait until the
 * switch greets or the connection fails.
 */
struct it_client *it_client_new(struct it_env *, const char *name, int wait_ms);
void		 it_client_free(struct it_client *);
uint64_t	 it_client_send(struct it_client *, const char *xml);
/** Wait until tag is ACKed/NAKed. @return 1 acked, 2 nacked, 0 timeout/closed. */
int		 it_client_wait(struct it_client *, uint64_t tag, int wait_ms);
/** Wait until n deliveries have arrived. @return 0 or -1. */
int		 it_client_wait_dlv(struct it_client *, size_t n, int wait_ms);
/** Wait until the connection closes. @return 0 or -1. */
int		 it_client_wait_closed(struct it_client *, int wait_ms);
/** Run the loop for up to ms. */
void		 it_pump(struct it_env *, int ms);
/**
 * Wait until the process log named log (in the run directory, e.g.
 * "nlswitchd.log") contains text, running the loop meanwhile.
 * @return 0, -1 if it did not within wait_ms.
 */
int		 it_log_wait(struct it_env *, const char *log, const char *text,
		    int wait_ms);

/**
 * Run a shell command from the repo root with NLSWITCH_CONTROL set to the
 * switch's control socket, input on stdin (may be NULL); *output gets
 * stdout+stderr (caller frees). @return the exit status, -1 on failure.
 */
int		 it_sh(struct it_env *, const char *cmd, const char *input,
		    char **output);
/**
 * One HTTP/1.0 request to the admin listener. *resp gets the body (caller
 * frees). @return the status code, -1 if the request failed.
 */
int		 it_http(struct it_env *, const char *method, const char *path,
		    const char *body, char **resp);
/**
 * The same with more request headers ("Name: value\r\n" each; NULL:
 * none); headers that start with a Host: replace the default one.
 */
int		 it_http_hdr(struct it_env *, const char *method,
		    const char *path, const char *headers, const char *body,
		    char **resp);
/**
 * bin/nlaudit on the switch's store with args (a failed run fails the
 * test's assertion); its output, stdout and stderr (caller frees).
 */
char		*it_nlaudit(struct it_env *, const char *args);

/**
 * Open a plain TCP connection to the switch's TLS port and send part of a
 * TLS ClientHello (whole: 0 nothing, 1 the first half of one, 2 all of
 * it), then nothing more: a handshake that stalls.
 * @return the socket (caller closes), or -1.
 */
int		 it_tls_stall(struct it_env *, int whole);
/**
 * Wait until the switch closes fd (end of file or reset), reading and
 * dropping what it sends, and running the test's loop meanwhile (its
 * clients keep their heartbeats). @return 1 closed, 0 not within wait_ms.
 */
int		 it_wait_eof(struct it_env *, int fd, int wait_ms);
/**
 * The value of an unlabelled sample in the admin listener's /metrics
 * (e.g. "nlswitch_tls_handshake_failures_total"). @return it, or -1.
 */
long long	 it_metric(struct it_env *, const char *name);
/**
 * Wait until it_metric(name) >= want. @return the last value read.
 */
long long	 it_wait_metric(struct it_env *, const char *name,
		    long long want, int wait_ms);

/**
 * Run the registered CUnit suites (verbose) and clean the registry up.
 * @return the exit status: 1 on any failed assertion, test or suite
 *	set-up, or a sanitizer report in a process log; else 0.
 */
int		 it_run_suites(void);
/** Deliveries t received with this message key and control field. */
size_t		 it_count(struct it_client *, const char *mke, const char *ctl);
/** The first delivery with this key and control field, waiting up to
 * wait_ms for it; NULL if none came. */
struct it_dlv	*it_find(struct it_client *, const char *mke, const char *ctl,
		    int wait_ms);

/**
 * A message of key mke from ori to dests (space-separated) with ctl (may
 * be ""), its body element holding body (inner XML with the prefixes
 * msgbuild declares: n2 nh2 n2c nc j psp). it_msg: static buffer;
 * it_msg_buf appends to b.
 */
const char	*it_msg(const char *mke, const char *ori, const char *dests,
		    const char *ctl, const char *body);
struct ubuf;
void		 it_msg_buf(struct ubuf *b, const char *mke, const char *ori,
		    const char *dests, const char *ctl, const char *body);
/**
 * A big AM from WA0340000 to CAOLN0000: text, then a comment of npad
 * copies of the line pad (heap, caller frees).
 */
char		*it_msg_padded(const char *ctl, const char *text,
		    const char *pad, size_t npad);
/** The n2:Person of a query by license number (static buffer). */
const char	*it_oln(const char *oln);
/** A DQ by OLN from ori to dest with ctl (static buffer); with imq it
 * also states an allowed photo purpose (identification, traffic stop). */
const char	*it_dq(const char *ori, const char *dest, const char *ctl,
		    const char *oln, int imq);
/** An AM from WA0340000 to CA numbered n: control field "K<n>", text
 * "<what> message <n>" (in buf, returned). */
const char	*it_am_numbered(char *buf, size_t sz, const char *what,
		    unsigned n);
/**
 * Acknowledged against delivered message ids (both sorted here): *lost
 * the acknowledged never delivered, *dups the deliveries of an id after
 * its first.
 */
void		 it_count_lost(uint64_t *acked, size_t nacked, uint64_t *got,
		    size_t ngot, size_t *lost, size_t *dups);
/** The body of a wanted-person YQ: priority pri ("U", "R" or "" for
 * none), request number rno (static buffer). */
const char	*it_yq_body(const char *pri, int rno);
/** The body of its YR, confirmation con ("Y", "N", "P") (static). */
const char	*it_yr_body(const char *con);
/**
 * A state's answer to WA0340000's query ctl, sent by st and waited for
 * (wait_ms): a hit (the text of its n2:ResponseText) or, with hit NULL,
 * NOT ON FILE. @return it_client_wait's result (1: ACKed).
 */
int		 it_answer(struct it_client *st, const char *ori,
		    const char *ctl, const char *hit, int wait_ms);
/** Text of the first element with local name name, or "" (static
 * buffer; a NULL xml has none). */
const char	*it_field(const char *xml, const char *name);
/** The XML of a message (legacy text converted; static buffer). */
const char	*it_xml(const char *msg);
/** The ER number of a reply (XML or legacy text), -1 if it is no ER. */
int		 it_er(const char *reply);
/** The text of an ER reply (XML or legacy text; "" if it is no ER;
 * static buffer, split it with msg_er_split). */
const char	*it_er_text(const char *reply);
/** The status number of an SM, -1 if it is no SM. */
int		 it_sm(const char *xml);
/** The destination the switch's SM names ("" if none; static buffer). */
const char	*it_sm_dest(const char *xml);

#endif
