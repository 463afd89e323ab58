/*
 * tmpl - see tmpl.h.
 *
 * The template is kept as XML (legacy text converted once); a copy is
 * that XML with the text of a few elements replaced, found with xscan by
 * local name so that any prefixes work, then checked with msgparse (XML)
 * or rendered with legacy_from_xml and checked with legacy_parse (text).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmv.h"
#include "legacy.h"
#include "msg.h"
#include "msgparse.h"
#include "tmpl.h"
#include "util.h"
#include "xscan.h"

struct tmpl {
	struct msgparse_schema	*schema;
	char			*xml;		/* the template as XML */
	size_t			 len;
	int			 legacy;	/* copies are legacy text */
	char			 state[3];	/* whose records */
	char			 base[MSG_CTL_LEN + 1];	/* control field stem */
	int			 digits;	/* of the copy number */
	unsigned		 n;
};

/* A cause naming what failed, its ER number and the first diagnostic. */
static char *
tmpl_cause(const char *what, int er, const struct msg_diags *d)
{
	return xasprintf("%s: ER .%02d.: %s", what, er,
	    d->n > 0 ? d->d[0].text : "not a valid message");
}

struct tmpl *
tmpl_new(struct msgparse_schema *schema, const char *data, size_t len,
    unsigned n, char **cause)
{
	struct tmpl		*t;
	struct msg		 m;
	struct msg_diags	 d;
	struct ubuf		 x;
	int			 er;
	unsigned		 last;

	if (n < 1 || n > TMPL_MAX_COPIES) {
		*cause = xasprintf("%u copies: 1 to %u allowed", n,
		    TMPL_MAX_COPIES);
		return NULL;
	}
	memset(&m, 0, sizeof m);
	memset(&d, 0, sizeof d);
	ubuf_init(&x);
	if (legacy_is_text(data, len))
		er = legacy_parse(schema, data, len, 0, 0, &x, &m, &d);
	else {
		ubuf_add(&x, data, len);
		er = msgparse_message(schema, x.data, x.len, 0, 0, &m, &d);
	}
	if (er != 0 || m.ndest < 1) {
		*cause = tmpl_cause("template", er, &d);
		ubuf_free(&x);
		return NULL;
	}
	t = xcalloc(1, sizeof *t);
	t->schema = schema;
	t->legacy = legacy_is_text(data, len);
	t->len = x.len;
	t->xml = ubuf_take(&x, NULL);
	t->state[0] = m.dest[0][0];
	t->state[1] = m.dest[0][1];
	t->n = n;
	for (t->digits = 1, last = n - 1; last >= 10; last /= 10)
		t->digits++;
	if (t->digits < 4)
		t->digits = 4;
	/* The stem keeps what room the number leaves of the template's. */
	snprintf(t->base, sizeof t->base, "%.*s", MSG_CTL_LEN - t->digits,
	    m.ctl[0] != '\0' ? m.ctl : "N");
	return t;
}

void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;
	free(t->xml);
	free(t);
}

void
tmpl_ctl(const struct tmpl *t, unsigned k, char *ctl, size_t sz)
{
	int n = snprintf(ctl, sz, "%s%0*u", t->base, t->digits, k);

	if (n < 0 || (size_t)n >= sz)	/* not for sz > MSG_CTL_LEN */
		ctl[0] = '\0';
}

/*
 * Replace the text of the first element named local (after the first
 * element named outer, when outer is not NULL) with value, escaped; with
 * value NULL, remove the element. Nothing when there is no such element.
 */
static void
tmpl_set(struct ubuf *x, const char *outer, const char *local,
    const char *value)
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	struct ubuf		 out;
	size_t			 start, from, to, end;

	xscan_init(&sc, x->data, x->len);
	if ((outer != NULL && xscan_find(&sc, outer, 0, &t) == -1) ||
	    xscan_find(&sc, local, 0, &t) == -1 || t.kind != XSCAN_START)
		return;
	start = xscan_off(&sc, &t);
	from = start + t.len;
	if (xscan_find(&sc, local, 1, &t) == -1)
		return;
	to = xscan_off(&sc, &t);
	end = to + t.len;
	ubuf_init(&out);
	if (value != NULL) {
		ubuf_add(&out, x->data, from);
		ubuf_add_xml(&out, value, strlen(value));
		ubuf_add(&out, x->data + to, x->len - to);
	} else {
		ubuf_add(&out, x->data, start);
		ubuf_add(&out, x->data + end, x->len - end);
	}
	ubuf_free(x);
	*x = out;
}

/* The control field: replaced, or added after the last destination
 * with the destination's prefix. */
static void
tmpl_set_ctl(struct ubuf *x, const char *ctl)
{
	struct xscan		 sc;
	struct xscan_tok	 t, last;
	struct ubuf		 out;
	size_t			 at, plen;

	xscan_init(&sc, x->data, x->len);
	if (xscan_find(&sc, "DocumentControlFieldText", 0, &t) == 0) {
		tmpl_set(x, NULL, "DocumentControlFieldText", ctl);
		return;
	}
	xscan_init(&sc, x->data, x->len);
	memset(&last, 0, sizeof last);
	while (xscan_find(&sc, "DestinationORIID", 1, &t) == 0)
		last = t;
	if (last.p == NULL)
		return;
	at = (size_t)(last.p - x->data) + last.len;
	plen = last.namelen - last.locallen;	/* "nh2:" or "" */
	ubuf_init(&out);
	ubuf_add(&out, x->data, at);
	ubuf_printf(&out, "<%.*sDocumentControlFieldText>", (int)plen,
	    last.name);
	ubuf_add_xml(&out, ctl, strlen(ctl));
	ubuf_printf(&out, "</%.*sDocumentControlFieldText>", (int)plen,
	    last.name);
	ubuf_add(&out, x->data + at, x->len - at);
	ubuf_free(x);
	*x = out;
}

/* Check copy x (XML) and append it to out as the template's format. */
static int
tmpl_emit(const struct tmpl *t, struct ubuf *x, struct ubuf *out,
    char **cause)
{
	struct msg		 m;
	struct msg_diags	 d;
	struct ubuf		 text, back;
	int			 er;

	memset(&m, 0, sizeof m);
	memset(&d, 0, sizeof d);
	if ((er = msgparse_message(t->schema, x->data, x->len, 0, 0, &m,
	    &d)) != 0) {
		*cause = tmpl_cause("copy", er, &d);
		return -1;
	}
	if (!t->legacy) {
		ubuf_add(out, x->data, x->len);
		return 0;
	}
	ubuf_init(&text);
	ubuf_init(&back);
	if (legacy_from_xml(t->schema, x->data, x->len, NULL, &text,
	    cause) == -1) {
		ubuf_free(&text);
		return -1;
	}
	memset(&m, 0, sizeof m);
	if ((er = legacy_parse(t->schema, text.data, text.len, 0, 0, &back,
	    &m, &d)) != 0)
		*cause = tmpl_cause("copy as legacy text", er, &d);
	else
		ubuf_add(out, text.data, text.len);
	ubuf_free(&text);
	ubuf_free(&back);
	return er != 0 ? -1 : 0;
}

int
tmpl_copy(const struct tmpl *t, unsigned k, struct ubuf *out, char **cause)
{
	struct dmv_record	 r;
	struct ubuf		 x;
	char			 ctl[MSG_CTL_LEN + 1];
	int			 rc;

	if (k >= t->n) {
		*cause = xasprintf("copy %u of %u", k, t->n);
		return -1;
	}
	if (dmv_record(t->state, k % DMV_MAX_RECORDS, &r) == -1) {
		*cause = xasprintf("no synthetic records for %s", t->state);
		return -1;
	}
	ubuf_init(&x);
	ubuf_add(&x, t->xml, t->len);
	tmpl_ctl(t, k, ctl, sizeof ctl);
	tmpl_set_ctl(&x, ctl);
	tmpl_set(&x, NULL, "PersonSurName", r.surname);
	tmpl_set(&x, NULL, "PersonGivenName", r.given);
	tmpl_set(&x, NULL, "PersonMiddleName", r.middle[0] ? r.middle : NULL);
	tmpl_set(&x, "PersonBirthDate", "Date", r.dob);
	tmpl_set(&x, NULL, "PersonSexCode", r.sex);
	tmpl_set(&x, "DriverLicenseIdentification", "IdentificationID", r.oln);
	rc = tmpl_emit(t, &x, out, cause);
	ubuf_free(&x);
	return rc;
}
