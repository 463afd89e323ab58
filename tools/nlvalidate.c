/*
 * nlvalidate - offline validation of nlswitch messages, XML or legacy
 * text, for state integrators.
 *
 *   nlvalidate [-S SCHEMADIR] [--format text|json|junit] [--stamped]
 *              [--max-size BYTES] [--policy CONFIG [--oridir FILE]]
 *              [--to-xml | --to-legacy] FILE... | DIR...
 *   nlvalidate --help | --version
 *
 * Every file gets the checks the switch makes before it accepts a
 * message: XSD, then the header and field rules (msgparse_message), and
 * for legacy text the legacy syntax first (legacy_parse). Every problem
 * is reported, not the first one:
 *
 *   FILE:LINE:COL: XPATH: error: MESSAGE [ER .NN.]
 *
 * then a verdict line per file. The ER number is the one the switch would
 * answer with (the first error in the file decides). A DIR stands for its
 * *.xml and *.txt files, in name order; "-" is stdin. Lines starting with '#' at the top
 * of a legacy file are comments (the fixtures' "# expect: NNN"), skipped
 * here and never by the switch.
 *
 * --to-xml / --to-legacy print the message converted (diagnostics go to
 * stderr). --format json and junit print one document for all files.
 *
 * --policy CONFIG is the dry-run of what the switch decides after a
 * message is valid, against that config (lines, routes, service states,
 * photo rules) and its ORI directory (or --oridir FILE): the sending line
 * (the config line that may originate for the ORI; ER .90. if none),
 * routing (router_route: ER .02., .19.; SM .01. .02. .04. as warnings) and
 * the photo-sharing policy (policy_decide_dests, each destination state
 * on its own: ER .94. when the message is refused whole; a state that
 * gets the query without the image request, or is left out, or gets a
 * mail without its picture, is a warning).
 *
 * Exit: 0 every file valid, 1 some file invalid, 2 usage error, schema,
 * config or ORI directory error, or a file that cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "config.h"
#include "jsonutil.h"
#include "legacy.h"
#include "msg.h"
#include "msgparse.h"
#include "oridir.h"
#include "policy.h"
#include "router.h"
#include "util.h"
#include "xscan.h"

enum nv_format {
	NV_TEXT,
	NV_JSON,
	NV_JUNIT
};

enum nv_convert {
	NV_CONV_NONE,
	NV_CONV_XML,
	NV_CONV_LEGACY
};

#define NV_MAXWARN	4

/* What one file came to. */
struct nv_result {
	char			*path;
	int			 legacy;
	int			 readerr;	/* errno reading it, or 0 */
	int			 code;		/* 0 valid, else the ER */
	enum msg_key		 key;
	struct msg_diags	 diags;
	int			 nwarn;
	struct msg_diag		 warn[NV_MAXWARN];
	double			 secs;
};

struct nv {
	struct msgparse_schema	*schema;
	struct config		*cfg;		/* --policy, else NULL */
	const struct oridir	*dir;		/* the config's, or own_dir */
	enum nv_format		 format;
	enum nv_convert		 convert;
	int			 flags;		/* LEGACY_* */
	size_t			 maxlen;
	struct nv_result	*res;
	size_t			 nres, cap;
};

/* The usage: on stdout and exit 0 for --help, else stderr and exit 2. */
static void __attribute__((noreturn))
nv_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: nlvalidate [-S schemadir] [--format "
	    "text|json|junit] [--stamped]\n"
	    "                  [--max-size bytes] [--policy config "
	    "[--oridir file]]\n"
	    "                  [--to-xml | --to-legacy]\n"
	    "                  file... | dir...\n"
	    "       nlvalidate --help | --version\n");
	exit(status);
}

/* "N more diagnostics not shown" and friends. */
static void
nv_warn(struct nv_result *r, int line, const char *xpath, int code,
    const char *text)
{
	struct msg_diag	*w;

	if (r->nwarn >= NV_MAXWARN)
		return;
	w = &r->warn[r->nwarn++];
	memset(w, 0, sizeof *w);
	w->line = line;
	w->code = code;
	snprintf(w->xpath, sizeof w->xpath, "%s", xpath);
	snprintf(w->text, sizeof w->text, "%s", text);
}

/* All of stdin ("-" as a FILE), NUL-terminated; NULL + errno. */
static char *
nv_read_stdin(size_t *lenp)
{
	struct ubuf	 b;
	char		 buf[8192];
	size_t		 n;

	ubuf_init(&b);
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
		ubuf_add(&b, buf, n);
	if (ferror(stdin)) {
		ubuf_free(&b);
		return NULL;
	}
	ubuf_add(&b, "", 1);
	*lenp = b.len - 1;
	return ubuf_take(&b, NULL);
}

/* Leading '#' comment lines of a legacy file: bytes and lines skipped. */
static size_t
nv_skip_comments(const char *buf, size_t len, int *lines)
{
	size_t	 off = 0;
	char	*nl;

	*lines = 0;
	while (off < len && buf[off] == '#') {
		nl = memchr(buf + off, '\n', len - off);
		off = nl != NULL ? (size_t)(nl - buf) + 1 : len;
		(*lines)++;
	}
	return off;
}

/* Append one diagnostic to r (line/col found in the file's text). */
static void
nv_add(struct nv_result *r, const char *text, size_t len, int skip,
    const char *xpath, int code, const char *why)
{
	struct msg_diag		*d;
	struct xscan		 sc;
	struct xscan_tok	 t;
	const char		*el, *p;

	if (r->diags.n >= MSG_MAXDIAG) {
		r->diags.dropped++;
		return;
	}
	d = &r->diags.d[r->diags.n++];
	memset(d, 0, sizeof *d);
	d->code = code;
	snprintf(d->xpath, sizeof d->xpath, "%s", xpath);
	snprintf(d->text, sizeof d->text, "%s", why);
	if (r->legacy) {
		legacy_locate(text, len, xpath, &d->line, &d->col);
		d->line += skip;
	} else if ((el = strrchr(xpath, '/')) != NULL) {
		/* The first start tag of that element (by local name). */
		if ((p = strchr(el, ':')) != NULL)
			el = p;
		xscan_init(&sc, text, len);
		if (xscan_find(&sc, el + 1, 0, &t) == 0) {
			p = t.p;
			d->line = 1;
			for (el = text; el < p; el++)
				d->line += *el == '\n';
			d->col = 1;
			for (el = p; el > text && el[-1] != '\n'; el--)
				d->col++;
		}
	}
	if (r->code == 0)
		r->code = code;
}

static int
nv_svc_cb(const struct config_line *l, int key, void *arg)
{
	(void)arg;
	return key > 0 && key < MSG_KEY_MAX ? l->service[key] : CONFIG_SVC_IN;
}

/*
 * The policy dry-run on a valid message m (text: the file as given, for
 * positions).
 */
static void
nv_policy(struct nv *nv, struct nv_result *r, const struct msg *m,
    const char *text, size_t len, int skip)
{
	static const char	*ori_xp = "/n2:NLETS/n2:NLETSMessageHeader/"
				    "nh2:OriginatingORIID";
	static const char	*dst_xp = "/n2:NLETS/n2:NLETSMessageHeader/"
				    "nh2:DestinationORIID";
	const struct config_line *from = NULL, *l;
	struct router_result	*rr;
	struct policy_request	 req;
	struct policy_decision	 pd;
	struct policy_state	*ps;
	struct policy_dest	*dd;
	char			 why[700], xp[128], dqg[400];
	int			 i, n, regional;

	for (i = 0; i < nv->cfg->nline && from == NULL; i++)
		if (config_line_has_ori(&nv->cfg->lines[i], m->ori))
			from = &nv->cfg->lines[i];
	if (from == NULL) {
		snprintf(why, sizeof why, "policy dry-run: no line of %s may "
		    "originate for %s", nv->cfg->path ? nv->cfg->path :
		    "the config", m->ori);
		nv_add(r, text, len, skip, ori_xp, MSG_ER_ORI, why);
		return;
	}
	/* A legacy DQ to a region is a DQG, with a DQG's rules (the switch
	 * checks them before it routes). */
	regional = m->key == MSG_KEY_DQG;
	if (r->legacy && m->key == MSG_KEY_DQ &&
	    router_region_of(nv->cfg, m) != NULL) {
		regional = 1;
		if (msg_dqg_check(m, dqg, sizeof dqg) != 0) {
			snprintf(why, sizeof why, "policy dry-run: a DQ to "
			    "region %s is handled as a DQG; %s",
			    router_region_of(nv->cfg, m), dqg);
			nv_add(r, text, len, skip, dst_xp, MSG_ER_FORMAT, why);
			return;
		}
	}
	rr = xcalloc(1, sizeof *rr);
	if (router_route(nv->cfg, m, from, nv_svc_cb, NULL, rr) != 0) {
		snprintf(why, sizeof why, "policy dry-run: routing from line "
		    "%s: %s", from->code, rr->detail);
		nv_add(r, text, len, skip, dst_xp, rr->er, why);
		free(rr);
		return;
	}
	if (regional) {
		/* What the switch makes of a DQG (a legacy DQ to a region
		 * is one): the states get a DQ, at a lower priority. */
		snprintf(why, sizeof why, "policy dry-run: handled as a DQG: "
		    "the states receive a DQ, queued after their other "
		    "traffic");
		nv_warn(r, 0, dst_xp, 0, why);
	}
	for (i = 0; i < rr->ncopy; i++)
		if (rr->copy[i].status != 0) {
			snprintf(why, sizeof why, "policy dry-run: %s on line "
			    "%s: SM .%02d. %s", rr->copy[i].dest,
			    rr->copy[i].line->code, rr->copy[i].status,
			    msg_sm_text(rr->copy[i].status));
			nv_warn(r, 0, dst_xp, 0, why);
		}

	memset(&req, 0, sizeof req);
	req.line_entitled = 1;
	req.agency = oridir_lookup(nv->dir, m->ori);
	req.ori = m->ori;
	req.key = m->key;
	req.imq = m->imq;
	req.image = m->has_photo;
	req.purpose = m->purpose.present ? &m->purpose : NULL;
	/* One decision per destination the message reaches (docs/policy.md:
	 * not the SM .01./.04. ones); the sender's rule, or no destination
	 * that may get the photo request, refuses it whole. */
	ps = xcalloc((size_t)rr->ncopy + 1, sizeof *ps);
	dd = xcalloc((size_t)rr->ncopy + 1, sizeof *dd);
	for (i = n = 0; i < rr->ncopy; i++) {
		if (rr->copy[i].status != 0 &&
		    rr->copy[i].status != MSG_SM_HELD)
			continue;
		l = rr->copy[i].line;
		snprintf(ps[n].member, sizeof ps[n].member, "%s", l->member);
		ps[n].share = l->photo_share;
		ps[n].public_ok = l->photo_public;
		ps[n].noretain = l->photo_noretain;
		dd[n].state = &ps[n];
		dd[n].dest = rr->copy[i].dest;
		n++;
	}
	if (policy_decide_dests(&req, dd, n, &pd) != 0) {
		if (strncmp(pd.code, "P00", 3) == 0)
			snprintf(xp, sizeof xp, "%s", ori_xp);
		else if (policy_is_photo_mail(m->key, m->has_photo))
			snprintf(xp, sizeof xp, "/n2:NLETS/n2:NLETSMailData%s",
			    m->purpose.present ? "/psp:PhotoPurpose" : "");
		else
			snprintf(xp, sizeof xp, "/n2:NLETS/"
			    "n2:NLETSInquiryData/%s",
			    m->purpose.present && strcmp(pd.code, "P114") != 0 ?
			    "psp:PhotoPurpose" : "n2:ImageRequestIndicator");
		snprintf(why, sizeof why, "policy dry-run: %s", pd.reason);
		nv_add(r, text, len, skip, xp, pd.er, why);
		n = 0;
	}
	for (i = 0; i < n; i++) {
		const struct policy_decision *d = &dd[i].d;

		if (!d->allow)
			snprintf(why, sizeof why, "policy dry-run: %s %s: %s",
			    dd[i].dest, d->dest_action == POLICY_DEST_NOIMQ ?
			    "gets the query without the image request" :
			    d->dest_action == POLICY_DEST_NOIMAGE ?
			    "gets the message without the picture" :
			    "is left out", d->reason);
		else if (d->noretain)
			snprintf(why, sizeof why, "policy dry-run: %s %s "
			    "allowed; %s precludes retention, the answer "
			    "carries psp:DoNotRetainIndicator", dd[i].dest,
			    d->code, ps[i].member[0] ? ps[i].member :
			    "the state");
		else
			continue;
		nv_warn(r, 0, "", 0, why);
	}
	free(dd);
	free(ps);
	free(rr);
}

/* Validate (and maybe convert) one file. */
static void
nv_file(struct nv *nv, const char *path)
{
	struct nv_result	*r;
	struct msg		 m;
	struct ubuf		 xml, out;
	struct timespec		 t0, t1;
	char			*buf, *cause = NULL, num[64];
	const char		*doc;
	size_t			 len, skip = 0, doclen;
	int			 i, nskip = 0;

	if (nv->nres == nv->cap) {
		nv->cap = nv->cap ? nv->cap * 2 : 16;
		nv->res = xrealloc(nv->res, nv->cap * sizeof *nv->res);
	}
	r = &nv->res[nv->nres++];
	memset(r, 0, sizeof *r);
	r->path = xstrdup(path);
	ubuf_init(&xml);
	ubuf_init(&out);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((buf = strcmp(path, "-") == 0 ? nv_read_stdin(&len) :
	    util_read_file(path, &len)) == NULL) {
		r->readerr = errno != 0 ? errno : EIO;
		return;
	}
	r->legacy = legacy_is_text(buf, len);
	if (r->legacy) {
		skip = nv_skip_comments(buf, len, &nskip);
		r->code = legacy_parse(nv->schema, buf + skip, len - skip,
		    nv->maxlen, nv->flags, &xml, &m, &r->diags);
		for (i = 0; i < r->diags.n; i++)
			if (r->diags.d[i].line > 0)
				r->diags.d[i].line += nskip;
		doc = xml.data;
		doclen = xml.len;
	} else {
		/* NLVALIDATE_RAW=1: libxml2's own words after ours. */
		r->code = msgparse_message(nv->schema, buf, len, nv->maxlen,
		    getenv("NLVALIDATE_RAW") != NULL ? MSGPARSE_RAW : 0, &m,
		    &r->diags);
		doc = buf;
		doclen = len;
	}
	r->key = m.key;
	if (r->code == 0 && nv->cfg != NULL)
		nv_policy(nv, r, &m, buf + skip, len - skip, nskip);
	if (r->diags.dropped > 0) {
		snprintf(num, sizeof num, "%d more errors not shown",
		    r->diags.dropped);
		nv_warn(r, 0, "", 0, num);
	}
	/* The photo policy denies a name-only query asking for images and
	 * a photo request without a purpose. */
	if (r->code == 0 && nv->cfg == NULL && m.imq &&
	    policy_is_list_query(m.key))
		nv_warn(r, r->legacy ? 1 + nskip : 0, "", MSG_ER_POLICY,
		    "a name-only query asking for images (IMQ/Y): the "
		    "switch's photo-sharing policy will deny it (P114)");
	else if (r->code == 0 && nv->cfg == NULL && m.imq &&
	    !m.purpose.present)
		nv_warn(r, r->legacy ? 1 + nskip : 0, "", MSG_ER_POLICY,
		    "photo requested (IMQ/Y) without a photo purpose: "
		    "the switch's photo-sharing policy will deny it");

	if (nv->convert == NV_CONV_XML && doc != NULL && doclen > 0)
		fwrite(doc, 1, doclen, stdout);
	else if (nv->convert == NV_CONV_LEGACY && r->legacy)
		fwrite(buf + skip, 1, len - skip, stdout);
	else if (nv->convert == NV_CONV_LEGACY && r->code == 0) {
		if (legacy_from_xml(nv->schema, doc, doclen, NULL, &out,
		    &cause) == 0)
			fwrite(out.data, 1, out.len, stdout);
		else {
			fprintf(stderr, "%s: %s\n", path, cause);
			free(cause);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ubuf_free(&out);
	ubuf_free(&xml);
	free(buf);
}

static int
nv_is_msg_file(const struct dirent *de)
{
	size_t	 n = strlen(de->d_name);

	if (de->d_name[0] == '.' || n < 5)
		return 0;
	return strcmp(de->d_name + n - 4, ".xml") == 0 ||
	    strcmp(de->d_name + n - 4, ".txt") == 0;
}

/* A file, or every *.xml and *.txt of a directory. */
static void
nv_path(struct nv *nv, const char *path)
{
	struct dirent	**list;
	struct stat	  st;
	char		 *p;
	int		  n, i;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if ((n = scandir(path, &list, nv_is_msg_file, alphasort)) < 0) {
			nv_file(nv, path);	/* reported as unreadable */
			return;
		}
		for (i = 0; i < n; i++) {
			p = xasprintf("%s%s%s", path,
			    path[strlen(path) - 1] == '/' ? "" : "/",
			    list[i]->d_name);
			nv_file(nv, p);
			free(p);
			free(list[i]);
		}
		free(list);
		return;
	}
	nv_file(nv, path);
}

/*
 * Output.
 */

static const char *
nv_fmt_name(const struct nv_result *r)
{
	return r->legacy ? "legacy" : "xml";
}

static const char *
nv_key_name(const struct nv_result *r)
{
	const char	*k = msg_key_name(r->key);

	return k != NULL ? k : "?";
}

/* One diagnostic line of the text format. */
static void
nv_diag_line(FILE *f, const char *path, const struct msg_diag *d,
    const char *severity)
{
	fprintf(f, "%s:%d:%d: %s: %s: %s", path, d->line, d->col,
	    d->xpath[0] != '\0' ? d->xpath : "-", severity, d->text);
	if (d->code != 0)
		fprintf(f, " [ER .%02d.]", d->code);
	fputc('\n', f);
}

static void
nv_out_text(struct nv *nv, FILE *f)
{
	struct nv_result	*r;
	size_t			 i, nvalid = 0;
	int			 j;

	for (i = 0; i < nv->nres; i++) {
		r = &nv->res[i];
		if (r->readerr) {
			fprintf(f, "%s: cannot read: %s\n", r->path,
			    strerror(r->readerr));
			continue;
		}
		for (j = 0; j < r->diags.n; j++)
			nv_diag_line(f, r->path, &r->diags.d[j], "error");
		for (j = 0; j < r->nwarn; j++)
			nv_diag_line(f, r->path, &r->warn[j], "warning");
		if (r->code == 0) {
			nvalid++;
			fprintf(f, "%s: valid (%s, %s)\n", r->path,
			    nv_key_name(r), nv_fmt_name(r));
		} else
			fprintf(f, "%s: INVALID (%s, %s): %d error%s; the "
			    "switch answers ER .%02d. (%s)\n", r->path,
			    nv_key_name(r), nv_fmt_name(r),
			    r->diags.n + r->diags.dropped,
			    r->diags.n + r->diags.dropped == 1 ? "" : "s",
			    r->code, msg_er_reason(r->code));
	}
	if (nv->nres > 1)
		fprintf(f, "nlvalidate: %zu files, %zu valid, %zu invalid\n",
		    nv->nres, nvalid, nv->nres - nvalid);
}

/* One diagnostic of a file, for --format json. */
static json_t *
nv_json_diag(const struct msg_diag *d, const char *sev)
{
	json_t *o = json_object();

	jsonutil_set_int(o, "line", d->line);
	jsonutil_set_int(o, "col", d->col);
	jsonutil_set_str(o, "xpath", d->xpath);
	jsonutil_set_str(o, "severity", sev);
	jsonutil_set_int(o, "code", d->code);
	jsonutil_set_str(o, "reason", d->code ? msg_er_reason(d->code) : "");
	jsonutil_set_str(o, "message", d->text);
	return o;
}

/* One file's result, for --format json. */
static json_t *
nv_json_file(const struct nv_result *r)
{
	json_t	*o = json_object(), *diags;
	int	 j;

	jsonutil_set_str(o, "file", r->path);
	if (r->readerr) {
		jsonutil_set(o, "valid", json_false());
		jsonutil_set_str(o, "error", strerror(r->readerr));
		return o;
	}
	jsonutil_set_str(o, "format", nv_fmt_name(r));
	jsonutil_set_str(o, "key", msg_key_name(r->key));
	jsonutil_set(o, "valid", json_boolean(r->code == 0));
	jsonutil_set_int(o, "er", r->code);
	jsonutil_set_str(o, "reason", r->code ? msg_er_reason(r->code) : "");
	jsonutil_set_int(o, "errors", r->diags.n + r->diags.dropped);
	jsonutil_set_int(o, "warnings", r->nwarn);
	diags = json_array();
	for (j = 0; j < r->diags.n; j++)
		jsonutil_append(diags, nv_json_diag(&r->diags.d[j], "error"));
	for (j = 0; j < r->nwarn; j++)
		jsonutil_append(diags, nv_json_diag(&r->warn[j], "warning"));
	jsonutil_set(o, "diagnostics", diags);
	return o;
}

/* --format json: one document for all files (docs/messages.md). */
static void
nv_out_json(struct nv *nv, FILE *f)
{
	json_t	*doc = json_object(), *files = json_array();
	size_t	 i, nvalid = 0;

	for (i = 0; i < nv->nres; i++) {
		jsonutil_append(files, nv_json_file(&nv->res[i]));
		nvalid += !nv->res[i].readerr && nv->res[i].code == 0;
	}
	jsonutil_set(doc, "files", files);
	jsonutil_set_int(doc, "total", (json_int_t)nv->nres);
	jsonutil_set_int(doc, "valid", (json_int_t)nvalid);
	jsonutil_set_int(doc, "invalid", (json_int_t)(nv->nres - nvalid));
	if (jsonutil_write(doc, JSONUTIL_PRETTY, f) == -1)
		fprintf(stderr, "nlvalidate: writing the report: %s\n",
		    strerror(errno));
	json_decref(doc);
}

/* Append s as XML text/attribute content. */
static void
nv_xml(struct ubuf *b, const char *s)
{
	ubuf_add_xml(b, s, strlen(s));
}

/*
 * JUnit XML (the de-facto Ant/Jenkins shape; schemas/junit.xsd): one
 * testsuite "nlvalidate", one testcase per file; an invalid file is a
 * <failure>, an unreadable one an <error>.
 */
static void
nv_out_junit(struct nv *nv, FILE *f)
{
	struct ubuf		 b, t;
	struct nv_result	*r;
	size_t			 i, nfail = 0, nerr = 0;
	double			 total = 0;
	char			 stamp[32];
	time_t			 now = time(NULL);
	struct tm		 tm;
	int			 j;
	const char		*name;

	for (i = 0; i < nv->nres; i++) {
		nerr += nv->res[i].readerr != 0;
		nfail += !nv->res[i].readerr && nv->res[i].code != 0;
		total += nv->res[i].secs;
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
	ubuf_init(&b);
	ubuf_init(&t);
	ubuf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<testsuites name=\"nlvalidate\" tests=\"%zu\" failures=\"%zu\" "
	    "errors=\"%zu\" time=\"%.3f\">\n"
	    "  <testsuite name=\"nlvalidate\" tests=\"%zu\" failures=\"%zu\" "
	    "errors=\"%zu\" skipped=\"0\" time=\"%.3f\" timestamp=\"%s\" "
	    "hostname=\"localhost\">\n", nv->nres, nfail, nerr, total,
	    nv->nres, nfail, nerr, total, stamp);
	for (i = 0; i < nv->nres; i++) {
		r = &nv->res[i];
		name = r->readerr ? "unreadable" : nv_fmt_name(r);
		ubuf_adds(&b, "    <testcase name=\"");
		nv_xml(&b, r->path);
		ubuf_printf(&b, "\" classname=\"nlvalidate.%s\" time=\"%.3f\"",
		    name, r->secs);
		if (r->readerr) {
			ubuf_adds(&b, ">\n      <error message=\"cannot read: ");
			nv_xml(&b, strerror(r->readerr));
			ubuf_adds(&b, "\" type=\"io\"/>\n    </testcase>\n");
			continue;
		}
		if (r->code == 0 && r->nwarn == 0) {
			ubuf_adds(&b, "/>\n");
			continue;
		}
		ubuf_adds(&b, ">\n");
		ubuf_reset(&t);
		for (j = 0; j < r->diags.n; j++) {
			const struct msg_diag *d = &r->diags.d[j];

			ubuf_printf(&t, "%s:%d:%d: %s: error: %s [ER .%02d.]\n",
			    r->path, d->line, d->col, d->xpath[0] ? d->xpath :
			    "-", d->text, d->code);
		}
		if (r->code != 0) {
			ubuf_printf(&b, "      <failure message=\"ER .%02d.: ",
			    r->code);
			nv_xml(&b, msg_er_reason(r->code));
			ubuf_printf(&b, "\" type=\"ER%02d\">", r->code);
			ubuf_add_xml(&b, t.data ? t.data : "", t.len);
			ubuf_adds(&b, "</failure>\n");
		}
		if (r->nwarn > 0) {
			ubuf_adds(&b, "      <system-out>");
			for (j = 0; j < r->nwarn; j++) {
				ubuf_printf(&b, "warning: ");
				nv_xml(&b, r->warn[j].text);
				ubuf_adds(&b, "\n");
			}
			ubuf_adds(&b, "</system-out>\n");
		}
		ubuf_adds(&b, "    </testcase>\n");
	}
	ubuf_adds(&b, "  </testsuite>\n</testsuites>\n");
	fwrite(b.data, 1, b.len, f);
	ubuf_free(&t);
	ubuf_free(&b);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format",	required_argument,	NULL, 'f' },
		{ "policy",	required_argument,	NULL, 'p' },
		{ "oridir",	required_argument,	NULL, 'o' },
		{ "stamped",	no_argument,		NULL, 's' },
		{ "max-size",	required_argument,	NULL, 'm' },
		{ "to-xml",	no_argument,		NULL, 'X' },
		{ "to-legacy",	no_argument,		NULL, 'L' },
		{ "help",	no_argument,		NULL, 'h' },
		{ "version",	no_argument,		NULL, 'V' },
		{ NULL,		0,			NULL, 0 }
	};
	struct nv	 nv;
	const char	*schemadir = util_schemadir(), *policy = NULL;
	const char	*oridir = NULL;
	struct oridir	*own_dir = NULL;
	char		*cause = NULL, *ep;
	size_t		 i;
	int		 ch, rc = 0;

	memset(&nv, 0, sizeof nv);
	while ((ch = getopt_long(argc, argv, "S:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'S':
			schemadir = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "text") == 0)
				nv.format = NV_TEXT;
			else if (strcmp(optarg, "json") == 0)
				nv.format = NV_JSON;
			else if (strcmp(optarg, "junit") == 0)
				nv.format = NV_JUNIT;
			else {
				fprintf(stderr, "nlvalidate: unknown format "
				    "\"%s\" (text, json, junit)\n", optarg);
				nv_usage(2);
			}
			break;
		case 'p':
			policy = optarg;
			break;
		case 'o':
			oridir = optarg;
			break;
		case 's':
			nv.flags |= LEGACY_STAMPED;
			break;
		case 'm':
			errno = 0;
			nv.maxlen = strtoul(optarg, &ep, 10);
			if (errno != 0 || *ep != '\0' || optarg[0] == '-') {
				fprintf(stderr, "nlvalidate: bad --max-size "
				    "\"%s\"\n", optarg);
				nv_usage(2);
			}
			break;
		case 'X':
		case 'L':
			if (nv.convert != NV_CONV_NONE)
				nv_usage(2);
			nv.convert = ch == 'X' ? NV_CONV_XML : NV_CONV_LEGACY;
			break;
		case 'h':
			nv_usage(0);
		case 'V':
			util_version_exit("nlvalidate");
		default:
			nv_usage(2);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		nv_usage(2);
	if (nv.convert != NV_CONV_NONE && nv.format != NV_TEXT) {
		fprintf(stderr, "nlvalidate: --to-xml/--to-legacy print the "
		    "message; --format applies to reports only\n");
		nv_usage(2);
	}
	if (oridir != NULL && policy == NULL) {
		fprintf(stderr, "nlvalidate: --oridir goes with --policy\n");
		nv_usage(2);
	}
	if (policy != NULL) {
		if (config_load(policy, schemadir, &nv.cfg, &cause) == -1) {
			fprintf(stderr, "nlvalidate: --policy: %s\n", cause);
			free(cause);
			return 2;
		}
		/* The config's own directory was loaded with it. */
		if (oridir == NULL)
			nv.dir = nv.cfg->directory;
		else if (oridir_load(oridir, schemadir, &own_dir,
		    &cause) == 0)
			nv.dir = own_dir;
		else {
			fprintf(stderr, "nlvalidate: ORI directory: %s\n",
			    cause);
			free(cause);
			config_free(nv.cfg);
			return 2;
		}
	}
	if ((nv.schema = msgparse_schema_load(schemadir, &cause)) == NULL) {
		fprintf(stderr, "nlvalidate: schema: %s\n", cause);
		free(cause);
		return 2;
	}
	for (i = 0; i < (size_t)argc; i++)
		nv_path(&nv, argv[i]);

	switch (nv.format) {
	case NV_TEXT:
		nv_out_text(&nv, nv.convert != NV_CONV_NONE ? stderr : stdout);
		break;
	case NV_JSON:
		nv_out_json(&nv, stdout);
		break;
	case NV_JUNIT:
		nv_out_junit(&nv, stdout);
		break;
	}
	for (i = 0; i < nv.nres; i++) {
		if (nv.res[i].readerr)
			rc = 2;
		else if (nv.res[i].code != 0 && rc == 0)
			rc = 1;
		free(nv.res[i].path);
	}
	free(nv.res);
	msgparse_schema_free(nv.schema);
	oridir_free(own_dir);
	if (nv.cfg != NULL)
		config_free(nv.cfg);
	return rc;
}
