/*
 * it_util - see it_util.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <CUnit/Basic.h>

#include "client.h"
#include "legacy.h"
#include "msg.h"
#include "msgbuild.h"
#include "it_util.h"
#include "tls.h"
#include "util.h"
#include "xscan.h"

static void
it_root(char *buf, size_t sz)
{
	const char *r = getenv("NLSWITCH_ROOT");

	if (r != NULL)
		util_strlcpy(buf, r, sz);
	else if (getcwd(buf, sz) == NULL)
		util_strlcpy(buf, ".", sz);
}

static int
it_system(const char *cmd)
{
	return system(cmd);
}

struct it_env *
it_env_new(const char *name, const char *limits)
{
	return it_env_new_conf(name, limits, "", "");
}

struct it_env *
it_env_new_conf(const char *name, const char *limits, const char *ca_attrs,
    const char *tail)
{
	struct it_env	*e = xcalloc(1, sizeof *e);
	char		 tmpl[256], cmd[1024];
	FILE		*f;

	/* A peer killed mid-write must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	it_root(e->root, sizeof e->root);
	snprintf(tmpl, sizeof tmpl, "/tmp/nlswitch-it-%s-XXXXXX", name);
	if (mkdtemp(tmpl) == NULL) {
		free(e);
		return NULL;
	}
	util_strlcpy(e->dir, tmpl, sizeof e->dir);
	snprintf(e->pki, sizeof e->pki, "%s/pki", e->dir);
	snprintf(e->conf, sizeof e->conf, "%s/nlswitch.xml", e->dir);
	snprintf(e->portfile, sizeof e->portfile, "%s/port", e->dir);
	snprintf(e->sock, sizeof e->sock, "%s/control.sock", e->dir);
	snprintf(cmd, sizeof cmd, "%s/tools/nlpki %s -o waagy oragy cadmv nvdmv stranger "
	    ">/dev/null", e->root, e->pki);
	if (it_system(cmd) != 0) {
		free(e);
		return NULL;
	}
	if ((f = fopen(e->conf, "w")) == NULL) {
		free(e);
		return NULL;
	}
	fprintf(f,
	    "<?xml version=\"1.0\"?>\n"
	    "<nlswitch version=\"1\">\n"
	    "  <listen address=\"127.0.0.1\" port=\"0\"/>\n"
	    "  <portfile>port</portfile>\n"
	    "  <datadir>data</datadir>\n"
	    "  <pki ca=\"pki/ca.pem\" cert=\"pki/switch.pem\" key=\"pki/switch.key\"/>\n"
	    "  <limits %s/>\n"
	    "  <admin socket=\"control.sock\" address=\"127.0.0.1\" port=\"0\""
	    " portfile=\"admin.port\"/>\n"
	    "  <line code=\"WAAGY\" cn=\"waagy\">\n"
	    "    <ori>WA0340000</ori><accept>DR KR DNR AM AML AA YR</accept>\n"
	    "  </line>\n"
	    "  <line code=\"ORAGY\" cn=\"oragy\">\n"
	    "    <ori>OR0260000</ori><accept>DR KR DNR AM AML AA YR</accept>\n"
	    "  </line>\n"
	    "  <line code=\"CADMV\" cn=\"cadmv\" member=\"CA\"%s>\n"
	    "    <ori>CAOLN0000</ori><accept>DQ KQ DNQ AM AML AA YQ</accept>\n"
	    "    <service mke=\"DNQ\" state=\"held\"/>\n"
	    "  </line>\n"
	    "  <line code=\"NVDMV\" cn=\"nvdmv\" member=\"NV\">\n"
	    "    <ori>NVOLN0000</ori><accept>DQ KQ DNQ</accept>\n"
	    "    <service mke=\"KQ\" state=\"removed\"/>\n"
	    "  </line>\n"
	    "  <region code=\"WR\">CA NV</region>\n"
	    "%s"
	    "</nlswitch>\n", limits ? limits : "", ca_attrs, tail);
	fclose(f);
	if (evthread_use_pthreads() == -1)
		return NULL;
	e->base = event_base_new();
	return e;
}

pid_t
it_spawn(struct it_env *e, const char *log, char *const argv[])
{
	pid_t	 pid;
	char	 path[PATH_MAX], logpath[PATH_MAX];
	int	 fd;

	snprintf(path, sizeof path, "%s/%s", e->root, argv[0]);
	snprintf(logpath, sizeof logpath, "%s/%s", e->dir, log);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		if ((fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(path, argv);
		_exit(127);
	}
	if (e->nprocs < IT_MAXPROC)
		e->procs[e->nprocs++] = pid;
	return pid;
}

static void
it_reap(pid_t pid, int wait_ms)
{
	int st, waited = 0;

	while (waited < wait_ms) {
		if (waitpid(pid, &st, WNOHANG) != 0)
			return;
		usleep(10000);
		waited += 10;
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

void
it_kill(struct it_env *e, pid_t pid, int sig)
{
	int i;

	if (pid <= 0)
		return;
	kill(pid, sig);
	it_reap(pid, 10000);
	for (i = 0; i < e->nprocs; i++)
		if (e->procs[i] == pid)
			e->procs[i] = 0;
}

int
it_env_share_pki(struct it_env *e, const struct it_env *from)
{
	char	cmd[1024];

	snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", e->pki,
	    from->pki, e->pki);
	return it_system(cmd) == 0 ? 0 : -1;
}

int
it_switch_start(struct it_env *e)
{
	return it_switch_start_wait(e, 15000);
}

int
it_switch_start_wait(struct it_env *e, int wait_ms)
{
	char *argv[] = { "bin/nlswitchd", "-d", "-f", e->conf, NULL };
	char path[400];

	unlink(e->portfile);
	snprintf(path, sizeof path, "%s/admin.port", e->dir);
	unlink(path);
	if ((e->switch_pid = it_spawn(e, "nlswitchd.log", argv)) == -1)
		return -1;
	if (client_read_portfile(e->portfile, wait_ms, e->port,
	    sizeof e->port) == -1) {
		fprintf(stderr, "it: switch did not start (see %s/nlswitchd.log)\n",
		    e->dir);
		/* Stopped by its pid, whatever the test does next. */
		it_switch_stop(e, SIGKILL);
		return -1;
	}
	snprintf(path, sizeof path, "%s/admin.port", e->dir);
	if (client_read_portfile(path, 5000, e->admin_port,
	    sizeof e->admin_port) == -1) {
		it_switch_stop(e, SIGKILL);
		return -1;
	}
	return 0;
}

void
it_switch_stop(struct it_env *e, int sig)
{
	it_kill(e, e->switch_pid, sig);
	e->switch_pid = 0;
}

int	it_log_errors;

/* Sanitizer reports in any process log fail the run (check-asan). */
static void
it_scan_logs(struct it_env *e)
{
	char cmd[700];

	snprintf(cmd, sizeof cmd, "grep -l -E 'Sanitizer|runtime error:' "
	    "'%s'/*.log >/dev/null 2>&1", e->dir);
	if (system(cmd) == 0) {
		snprintf(cmd, sizeof cmd, "grep -h -B2 -A20 -E "
		    "'Sanitizer|runtime error:' '%s'/*.log >&2", e->dir);
		fprintf(stderr, "it: sanitizer report in %s:\n", e->dir);
		if (system(cmd) == -1)
			perror("system");
		it_log_errors++;
	}
}

void
it_env_free(struct it_env *e)
{
	int i;

	if (e == NULL)
		return;
	if (e->switch_pid > 0)
		it_switch_stop(e, SIGTERM);
	for (i = 0; i < e->nprocs; i++)
		if (e->procs[i] > 0)
			it_kill(e, e->procs[i], SIGTERM);
	it_scan_logs(e);
	{
		char cmd[600];

		/* A test that mounted a small file system on the data
		 * directory and failed before it unmounted it. */
		snprintf(cmd, sizeof cmd, "mountpoint -q '%s/data' && "
		    "umount '%s/data'", e->dir, e->dir);
		it_system(cmd);
	}
	if (getenv("NLSWITCH_KEEP") == NULL) {
		char cmd[512];

		snprintf(cmd, sizeof cmd, "rm -rf '%s'", e->dir);
		it_system(cmd);
	}
	else
		fprintf(stderr, "it: kept %s\n", e->dir);
	event_base_free(e->base);
	free(e);
}

static void
it_grow(struct it_client *t, uint64_t tag)
{
	size_t n = t->ntags;

	if (tag < n)
		return;
	t->ntags = tag + 64;
	t->state = xrealloc(t->state, t->ntags * sizeof *t->state);
	t->reply = xrealloc(t->reply, t->ntags * sizeof *t->reply);
	memset(t->state + n, 0, (t->ntags - n) * sizeof *t->state);
	memset(t->reply + n, 0, (t->ntags - n) * sizeof *t->reply);
}

static void
it_hello_cb(struct client *c, const char *text, void *arg)
{
	struct it_client *t = arg;

	(void)c;
	(void)text;
	t->up = 1;
}

static void
it_ack_cb(struct client *c, uint64_t tag, const char *msgid, void *arg)
{
	struct it_client *t = arg;

	(void)c;
	it_grow(t, tag);
	t->state[tag] = 1;
	free(t->reply[tag]);
	t->reply[tag] = xstrdup(msgid);
}

static void
it_nak_cb(struct client *c, uint64_t tag, const char *er, size_t len, void *arg)
{
	struct it_client *t = arg;

	(void)c;
	(void)len;
	it_grow(t, tag);
	t->state[tag] = 2;
	free(t->reply[tag]);
	t->reply[tag] = xstrdup(er);
}

static void
it_deliver_cb(struct client *c, uint64_t msgid, uint16_t copy, const char *xml,
    size_t len, void *arg)
{
	struct it_client	*t = arg;
	struct it_dlv		*d;

	t->dlv = xrealloc(t->dlv, (t->ndlv + 1) * sizeof *t->dlv);
	d = &t->dlv[t->ndlv++];
	d->msgid = msgid;
	d->copy = copy;
	d->xml = xstrndup(xml, len);
	d->len = len;
	if (t->autodack)
		client_dack(c, msgid, copy);
}

static void
it_closed_cb(struct client *c, const char *why, void *arg)
{
	struct it_client *t = arg;

	(void)c;
	t->closed = 1;
	t->up = 0;
	util_strlcpy(t->why, why, sizeof t->why);
}

void
it_pump(struct it_env *e, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	event_base_loopexit(e->base, &tv);
	event_base_dispatch(e->base);
}

/* Run the loop in small steps until *flag or the time is up. */
static int
it_until(struct it_env *e, int (*cond)(void *), void *arg, int wait_ms)
{
	uint64_t end = util_mono_us() + (uint64_t)wait_ms * 1000;

	while (!cond(arg)) {
		if (util_mono_us() >= end)
			return -1;
		it_pump(e, 5);
	}
	return 0;
}

struct it_logw {
	char		 path[PATH_MAX];
	const char	*text;
};

static int
it_cond_log(void *arg)
{
	struct it_logw	*w = arg;
	char		*data;
	int		 found;

	if ((data = util_read_file(w->path, NULL)) == NULL)
		return 0;
	found = strstr(data, w->text) != NULL;
	free(data);
	return found;
}

int
it_log_wait(struct it_env *e, const char *log, const char *text, int wait_ms)
{
	struct it_logw w;

	snprintf(w.path, sizeof w.path, "%s/%s", e->dir, log);
	w.text = text;
	return it_until(e, it_cond_log, &w, wait_ms);
}

static int
it_cond_up(void *arg)
{
	struct it_client *t = arg;

	return t->up || t->closed;
}

struct it_client *
it_client_new(struct it_env *e, const char *name, int wait_ms)
{
	struct it_client	*t = xcalloc(1, sizeof *t);
	struct client_cb	 cb = { it_hello_cb, it_ack_cb, it_nak_cb,
	    it_deliver_cb, it_closed_cb };
	char			 ca[400], cert[400], key[400], *cause = NULL;

	t->env = e;
	t->autodack = 1;
	snprintf(ca, sizeof ca, "%s/ca.pem", e->pki);
	snprintf(cert, sizeof cert, "%s/%s.pem", e->pki, name);
	snprintf(key, sizeof key, "%s/%s.key", e->pki, name);
	t->ssl = tls_client_ctx(ca, *name ? cert : NULL, *name ? key : NULL,
	    &cause);
	if (t->ssl == NULL) {
		fprintf(stderr, "it: %s\n", cause);
		free(cause);
		free(t);
		return NULL;
	}
	t->c = client_new(e->base, t->ssl, "127.0.0.1", e->port, &cb, t);
	if (client_connect(t->c) == -1) {
		t->closed = 1;
		return t;
	}
	it_until(e, it_cond_up, t, wait_ms);
	return t;
}

void
it_client_free(struct it_client *t)
{
	uint64_t	end;
	size_t		i;

	if (t == NULL)
		return;
	/* What the client queued (the DACK of the delivery just found)
	 * goes out first, as a real endpoint's would: bounded to 1 s. */
	end = util_mono_us() + 1000000;
	while (client_outlen(t->c) > 0 && util_mono_us() < end)
		it_pump(t->env, 5);
	client_free(t->c);
	SSL_CTX_free(t->ssl);
	for (i = 0; i < t->ntags; i++)
		free(t->reply[i]);
	for (i = 0; i < t->ndlv; i++)
		free(t->dlv[i].xml);
	free(t->state);
	free(t->reply);
	free(t->dlv);
	free(t);
}

uint64_t
it_client_send(struct it_client *t, const char *xml)
{
	uint64_t tag = client_send(t->c, xml, strlen(xml));

	it_grow(t, tag);
	return tag;
}

struct it_wait {
	struct it_client	*t;
	uint64_t		 tag;
	size_t			 n;
};

static int
it_cond_tag(void *arg)
{
	struct it_wait *w = arg;

	return w->t->closed || (w->tag < w->t->ntags && w->t->state[w->tag]);
}

int
it_client_wait(struct it_client *t, uint64_t tag, int wait_ms)
{
	struct it_wait w = { t, tag, 0 };

	if (tag == 0)
		return 0;
	it_until(t->env, it_cond_tag, &w, wait_ms);
	return tag < t->ntags ? t->state[tag] : 0;
}

static int
it_cond_dlv(void *arg)
{
	struct it_wait *w = arg;

	return w->t->ndlv >= w->n;
}

int
it_client_wait_dlv(struct it_client *t, size_t n, int wait_ms)
{
	struct it_wait w = { t, 0, n };

	return it_until(t->env, it_cond_dlv, &w, wait_ms);
}

static int
it_cond_closed(void *arg)
{
	struct it_client *t = arg;

	return t->closed;
}

int
it_client_wait_closed(struct it_client *t, int wait_ms)
{
	return it_until(t->env, it_cond_closed, t, wait_ms);
}

void
it_msg_buf(struct ubuf *b, const char *mke, const char *ori,
    const char *dests, const char *ctl, const char *body)
{
	enum msg_key	 key = msg_key_lookup(mke);
	const char	*dv[MSG_MAXDEST + 2];
	char		 list[128], *p, *w;
	int		 n = 0;

	util_strlcpy(list, dests, sizeof list);
	for (p = list; n < MSG_MAXDEST + 2 && (w = strsep(&p, " ")) != NULL;)
		if (*w != '\0')
			dv[n++] = w;
	msgbuild_begin(b, key, ori, dv, n, ctl);
	ubuf_adds(b, body);
	msgbuild_end(b, key);
}

char *
it_msg_padded(const char *ctl, const char *text, const char *pad, size_t npad)
{
	struct ubuf	 b, body;
	size_t		 k;

	ubuf_init(&b);
	ubuf_init(&body);
	ubuf_printf(&body, "<n2:MailMessageText>%s</n2:MailMessageText><!--\n",
	    text);
	for (k = 0; k < npad; k++)
		ubuf_adds(&body, pad);
	ubuf_adds(&body, "-->");
	it_msg_buf(&b, "AM", "WA0340000", "CAOLN0000", ctl, body.data);
	ubuf_free(&body);
	return ubuf_take(&b, NULL);
}

const char *
it_msg(const char *mke, const char *ori, const char *dests, const char *ctl,
    const char *body)
{
	static struct ubuf	 b;

	ubuf_reset(&b);
	it_msg_buf(&b, mke, ori, dests, ctl, body);
	return b.data;
}

const char *
it_oln(const char *oln)
{
	static char	 buf[512];

	snprintf(buf, sizeof buf, "<n2:Person><j:PersonAugmentation>"
	    "<nc:DriverLicense><nc:DriverLicenseIdentification>"
	    "<nc:IdentificationID>%s</nc:IdentificationID>"
	    "</nc:DriverLicenseIdentification></nc:DriverLicense>"
	    "</j:PersonAugmentation></n2:Person>\n", oln);
	return buf;
}

/* A wanted-person YQ (pri U or R, request number rno) body. */
const char *
it_am_numbered(char *buf, size_t sz, const char *what, unsigned n)
{
	char ctl[16], text[128];

	snprintf(ctl, sizeof ctl, "K%u", n);
	snprintf(text, sizeof text, "<n2:MailMessageText>%s message %u"
	    "</n2:MailMessageText>", what, n);
	util_strlcpy(buf, it_msg("AM", "WA0340000", "CA", ctl, text), sz);
	return buf;
}

static int
it_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
it_count_lost(uint64_t *acked, size_t nacked, uint64_t *got, size_t ngot,
    size_t *lost, size_t *dups)
{
	size_t i, j;

	qsort(acked, nacked, sizeof *acked, it_cmp_u64);
	qsort(got, ngot, sizeof *got, it_cmp_u64);
	*lost = *dups = 0;
	for (i = 1; i < ngot; i++)
		*dups += got[i] == got[i - 1];
	for (i = 0, j = 0; i < nacked; i++) {
		while (j < ngot && got[j] < acked[i])
			j++;
		*lost += j == ngot || got[j] != acked[i];
	}
}

const char *
it_yq_body(const char *pri, int rno)
{
	static char b[1024];

	snprintf(b, sizeof b,
	    "<n2:QueryRequestActivity>"
	    "<n2:QueryRequestSequenceNumber>%d</n2:QueryRequestSequenceNumber>"
	    "%s%s%s"
	    "<n2:QueryRequestTypeCode>WP</n2:QueryRequestTypeCode>"
	    "<n2:CaseNumberText>2026-000123</n2:CaseNumberText>"
	    "<n2:NCICNumberText>W123456789</n2:NCICNumberText>"
	    "</n2:QueryRequestActivity>"
	    "<n2:Person><nc:PersonBirthDate><nc:Date>1975-12-31</nc:Date>"
	    "</nc:PersonBirthDate><nc:PersonName>"
	    "<nc:PersonGivenName>JORDAN</nc:PersonGivenName>"
	    "<nc:PersonSurName>EXAMPLE</nc:PersonSurName></nc:PersonName>"
	    "</n2:Person>", rno, *pri ? "<n2:QueryRequestPriorityCode>" : "",
	    pri, *pri ? "</n2:QueryRequestPriorityCode>" : "");
	return b;
}

const char *
it_yr_body(const char *con)
{
	static char b[512];

	snprintf(b, sizeof b,
	    "<n2:QueryRequestActivity>"
	    "<n2:QueryRequestSequenceNumber>1</n2:QueryRequestSequenceNumber>"
	    "<n2:QueryRequestTypeCode>WP</n2:QueryRequestTypeCode>"
	    "<n2:CaseNumberText>2026-000123</n2:CaseNumberText>"
	    "<n2:NCICNumberText>W123456789</n2:NCICNumberText>"
	    "</n2:QueryRequestActivity>"
	    "<n2:HitConfirmationStatusCode>%s</n2:HitConfirmationStatusCode>"
	    "<n2:ResponseText>CONFIRMED BY DISPATCHER SAMPLE</n2:ResponseText>",
	    con);
	return b;
}

int
it_answer(struct it_client *st, const char *ori, const char *ctl,
    const char *hit, int wait_ms)
{
	char		 body[1024];
	uint64_t	 tag;

	snprintf(body, sizeof body, "<n2:ResponseText>%s</n2:ResponseText>",
	    hit != NULL ? hit : "NOT ON FILE");
	tag = it_client_send(st, it_msg("DR", ori, "WA0340000", ctl, body));
	return it_client_wait(st, tag, wait_ms);
}

const char *
it_dq(const char *ori, const char *dest, const char *ctl, const char *oln,
    int imq)
{
	static char	 body[2048];

	snprintf(body, sizeof body, "%s%s", it_oln(oln),
	    /* A photo request states an allowed purpose (docs/policy.md). */
	    imq ? "<n2:ImageRequestIndicator>true</n2:ImageRequestIndicator>\n"
	    "<psp:PhotoPurpose>\n"
	    "<psp:PurposeCategoryCode>IDENTIFICATION</psp:PurposeCategoryCode>\n"
	    "<psp:PurposeUseCode>TRAFFIC-STOP</psp:PurposeUseCode>\n"
	    "<psp:CircumstanceText>NO PHOTO ID OFFERED</psp:CircumstanceText>\n"
	    "</psp:PhotoPurpose>\n" : "");
	return it_msg("DQ", ori, dest, ctl, body);
}

const char *
it_xml(const char *msg)
{
	static struct ubuf	 x;

	if (msg == NULL || !legacy_is_text(msg, strlen(msg)))
		return msg;
	ubuf_reset(&x);
	legacy_to_xml(msg, strlen(msg), LEGACY_STAMPED, &x, NULL);
	ubuf_add(&x, "", 1);
	return x.data;
}

const char *
it_er_text(const char *reply)
{
	if ((reply = it_xml(reply)) == NULL ||
	    strcmp(it_field(reply, "MessageKeyCodeText"), "ER") != 0)
		return "";
	return it_field(reply, "ResponseText");
}

int
it_er(const char *reply)
{
	return msg_text_number(it_er_text(reply));
}

int
it_sm(const char *xml)
{
	char	 t[16];

	if (xml == NULL || strcmp(it_field(xml, "MessageKeyCodeText"),
	    "SM") != 0)
		return -1;
	util_strlcpy(t, it_field(xml, "StatusMessageText"), sizeof t);
	return msg_text_number(t);
}

const char *
it_sm_dest(const char *xml)
{
	static char	 buf[16];
	char		 t[512];
	const char	*p;

	buf[0] = '\0';
	xscan_text(xml, xml != NULL ? strlen(xml) : 0, "StatusMessageText", t,
	    sizeof t);
	if ((p = strstr(t, "DESTINATION ")) != NULL)
		sscanf(p + 12, "%9[A-Z0-9]", buf);
	return buf;
}

const char *
it_field(const char *xml, const char *name)
{
	static char	 buf[8192];

	/* A reply that never came (NULL) has no field. */
	return xscan_text(xml, xml != NULL ? strlen(xml) : 0, name, buf,
	    sizeof buf);
}

int
it_sh(struct it_env *e, const char *cmd, const char *input, char **output)
{
	char	 in[400], out[400], full[4096];
	FILE	*f;
	int	 rc;

	snprintf(in, sizeof in, "%s/sh.in", e->dir);
	snprintf(out, sizeof out, "%s/sh.out", e->dir);
	if ((f = fopen(in, "w")) == NULL)
		return -1;
	if (input != NULL)
		fputs(input, f);
	fclose(f);
	snprintf(full, sizeof full, "cd '%s' && export NLSWITCH_CONTROL='%s' && "
	    "{ %s\n} <'%s' >'%s' 2>&1", e->root, e->sock, cmd, in, out);
	rc = system(full);
	if (output != NULL) {
		*output = util_read_file(out, NULL);
		if (*output == NULL)
			*output = xstrdup("");
	}
	if (rc == -1 || !WIFEXITED(rc))
		return -1;
	return WEXITSTATUS(rc);
}

char *
it_nlaudit(struct it_env *e, const char *args)
{
	char	 cmd[1200], *out, path[400];

	snprintf(path, sizeof path, "%s/nlaudit.out", e->dir);
	snprintf(cmd, sizeof cmd, "%s/bin/nlaudit -d %s/data %s >%s 2>&1",
	    e->root, e->dir, args, path);
	CU_ASSERT_EQUAL(system(cmd), 0);
	out = util_read_file(path, NULL);
	return out != NULL ? out : xstrdup("");
}

int
it_http(struct it_env *e, const char *method, const char *path,
    const char *body, char **resp)
{
	return it_http_hdr(e, method, path, NULL, body, resp);
}

int
it_http_hdr(struct it_env *e, const char *method, const char *path,
    const char *headers, const char *body, char **resp)
{
	struct sockaddr_in	 sin;
	struct ubuf		 b;
	char			 buf[8192], *p;
	ssize_t			 n;
	int			 fd, status = -1;

	*resp = xstrdup("");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(e->admin_port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	ubuf_init(&b);
	ubuf_printf(&b, "%s %s HTTP/1.0\r\n%s%s"
	    "Content-Length: %zu\r\n\r\n%s", method, path,
	    headers != NULL && strncasecmp(headers, "Host:", 5) == 0 ? "" :
	    "Host: 127.0.0.1\r\n", headers != NULL ? headers : "",
	    body ? strlen(body) : 0, body ? body : "");
	if (write(fd, b.data, b.len) != (ssize_t)b.len) {
		close(fd);
		ubuf_free(&b);
		return -1;
	}
	ubuf_reset(&b);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		ubuf_add(&b, buf, (size_t)n);
	close(fd);
	if (b.len > 12 && strncmp(b.data, "HTTP/1.", 7) == 0)
		status = atoi(b.data + 9);
	if (b.data != NULL && (p = strstr(b.data, "\r\n\r\n")) != NULL) {
		free(*resp);
		*resp = xstrdup(p + 4);
	}
	ubuf_free(&b);
	return status;
}

/* A ClientHello as OpenSSL's default client makes it, into *out. */
static int
it_client_hello(unsigned char **out, size_t *len)
{
	SSL_CTX	*ctx;
	SSL	*ssl = NULL;
	BIO	*rb, *wb;
	char	*p;
	long	 n;
	int	 rc = -1;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	if ((ssl = SSL_new(ctx)) == NULL || (rb = BIO_new(BIO_s_mem())) == NULL)
		goto out;
	if ((wb = BIO_new(BIO_s_mem())) == NULL) {
		BIO_free(rb);
		goto out;
	}
	SSL_set_bio(ssl, rb, wb);
	SSL_set_connect_state(ssl);
	if (SSL_do_handshake(ssl) == 1 || (n = BIO_get_mem_data(wb, &p)) <= 0)
		goto out;
	*out = xmalloc((size_t)n);
	memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	rc = 0;
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	return rc;
}

int
it_tls_stall(struct it_env *e, int whole)
{
	struct sockaddr_in	 sin;
	unsigned char		*hello = NULL;
	size_t			 len = 0, n;
	int			 fd;

	if (whole > 0 && it_client_hello(&hello, &len) == -1)
		return -1;
	n = whole == 1 ? len / 2 : len;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)atoi(e->port));
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    (n > 0 && write(fd, hello, n) != (ssize_t)n)) {
		if (fd != -1)
			close(fd);
		free(hello);
		return -1;
	}
	free(hello);
	return fd;
}

int
it_wait_eof(struct it_env *e, int fd, int wait_ms)
{
	uint64_t	 end = util_mono_us() + (uint64_t)wait_ms * 1000;
	char		 buf[4096];
	ssize_t		 n;

	while (util_mono_us() < end) {
		if ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) == 0)
			return 1;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return 1;	/* reset */
		if (n < 0)
			it_pump(e, 20);	/* the test's clients live meanwhile */
	}
	return 0;
}

long long
it_metric(struct it_env *e, const char *name)
{
	char		*body = NULL, *p;
	size_t		 nl = strlen(name);
	long long	 v = -1;

	if (it_http(e, "GET", "/metrics", NULL, &body) != 200) {
		free(body);
		return -1;
	}
	for (p = body; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
			v = strtoll(p + nl + 1, NULL, 10);
			break;
		}
	}
	free(body);
	return v;
}

long long
it_wait_metric(struct it_env *e, const char *name, long long want,
    int wait_ms)
{
	uint64_t	 end = util_mono_us() + (uint64_t)wait_ms * 1000;
	long long	 v;

	while ((v = it_metric(e, name)) < want && util_mono_us() < end)
		usleep(20000);
	return v;
}

int
it_run_suites(void)
{
	unsigned int	 nfail;

	CU_pSuite	 su;
	CU_pTest	 t;
	const char	*only = getenv("IT_ONLY");

	/* IT_ONLY="words": only the tests whose name holds them. */
	for (su = CU_get_registry()->pSuite; only != NULL && su != NULL;
	    su = su->pNext)
		for (t = su->pTest; t != NULL; t = t->pNext)
			CU_set_test_active(t, strstr(t->pName, only) != NULL ?
			    CU_TRUE : CU_FALSE);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	nfail = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
	    CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return nfail != 0 || it_log_errors != 0;
}

static int
it_dlv_is(const struct it_dlv *d, const char *mke, const char *ctl)
{
	char key[8];

	util_strlcpy(key, it_field(d->xml, "MessageKeyCodeText"), sizeof key);
	return strcmp(key, mke) == 0 &&
	    strcmp(it_field(d->xml, "DocumentControlFieldText"), ctl) == 0;
}

size_t
it_count(struct it_client *t, const char *mke, const char *ctl)
{
	size_t i, n = 0;

	for (i = 0; i < t->ndlv; i++)
		n += it_dlv_is(&t->dlv[i], mke, ctl);
	return n;
}

struct it_dlv *
it_find(struct it_client *t, const char *mke, const char *ctl, int wait_ms)
{
	uint64_t	end = util_mono_us() + (uint64_t)wait_ms * 1000;
	size_t		i;

	for (;;) {
		for (i = 0; i < t->ndlv; i++)
			if (it_dlv_is(&t->dlv[i], mke, ctl))
				return &t->dlv[i];
		if (util_mono_us() >= end)
			return NULL;
		it_pump(t->env, 20);
	}
}
