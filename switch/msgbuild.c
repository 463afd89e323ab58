/*
 * msgbuild - write Nlets NIEM XML (see msgbuild.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "msg.h"
#include "msgbuild.h"
#include "util.h"
#include "xscan.h"

#define MSGBUILD_ROOT	"<n2:NLETS xmlns:n2=\"" MSG_NS_N2 "\"\n" \
	"    xmlns:nh2=\"" MSG_NS_NH2 "\"\n" \
	"    xmlns:n2c=\"" MSG_NS_N2C "\"\n" \
	"    xmlns:nc=\"" MSG_NS_NC "\"\n" \
	"    xmlns:j=\"" MSG_NS_J "\"\n" \
	"    xmlns:psp=\"" MSG_NS_PSP "\"\n" \
	"    n2:version=\"" MSG_VERSION "\">\n"

/*
 * Length of the valid UTF-8 sequence at s that XML 1.0 may carry (no
 * surrogates, no U+FFFE/U+FFFF, nothing past U+10FFFF), or 0.
 */
static size_t
msgbuild_utf8_len(const unsigned char *s, size_t len)
{
	unsigned char	 c = s[0], lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (c == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf))
		return 0;		/* U+FFFE, U+FFFF */
	return n;
}

/*
 * The control characters msgbuild_clean drops: all but tab and LF (and
 * CR in XML); DEL too in plain text.
 */
static int
msgbuild_is_dropped(unsigned char c, int xml)
{
	if (c == 0x7f)
		return !xml;
	return c < 0x20 && c != '\t' && c != '\n' && !(xml && c == '\r');
}

static void
msgbuild_add(struct ubuf *b, const char *s, size_t len, int xml)
{
	if (xml)
		ubuf_add_xml(b, s, len);
	else
		ubuf_add(b, s, len);
}

/*
 * Append s, the control characters msgbuild_is_dropped names dropped,
 * invalid UTF-8 and characters XML cannot carry replaced by '?': as XML
 * character data (escaped; whatever the input, the output is
 * well-formed) when xml is set, else as plain text for a legacy or
 * free-text body.
 */
static void
msgbuild_clean(struct ubuf *b, const char *s, size_t len, int xml)
{
	size_t	 i = 0, start = 0, n;
	int	 dropped;

	while (i < len) {
		dropped = msgbuild_is_dropped((unsigned char)s[i], xml);
		if (!dropped && (n = msgbuild_utf8_len((const unsigned char *)s
		    + i, len - i)) > 0) {
			i += n;
			continue;
		}
		msgbuild_add(b, s + start, i - start, xml);
		if (!dropped)
			ubuf_add(b, "?", 1);
		start = ++i;
	}
	msgbuild_add(b, s + start, len - start, xml);
}

/*
 * Elements.
 */

void
msgbuild_open(struct ubuf *b, const char *name)
{
	ubuf_add(b, "<", 1);
	ubuf_adds(b, name);
	ubuf_add(b, ">\n", 2);
}

void
msgbuild_close(struct ubuf *b, const char *name)
{
	ubuf_add(b, "</", 2);
	ubuf_adds(b, name);
	ubuf_add(b, ">\n", 2);
}

void
msgbuild_text_len(struct ubuf *b, const char *name, const char *value,
    size_t len)
{
	if (value == NULL || len == 0)
		return;
	ubuf_add(b, "<", 1);
	ubuf_adds(b, name);
	ubuf_add(b, ">", 1);
	msgbuild_clean(b, value, len, 1);
	ubuf_add(b, "</", 2);
	ubuf_adds(b, name);
	ubuf_add(b, ">\n", 2);
}

void
msgbuild_text(struct ubuf *b, const char *name, const char *value)
{
	if (value != NULL)
		msgbuild_text_len(b, name, value, strlen(value));
}

void
msgbuild_date(struct ubuf *b, const char *name, const char *value)
{
	if (value == NULL || value[0] == '\0')
		return;
	ubuf_add(b, "<", 1);
	ubuf_adds(b, name);
	ubuf_adds(b, "><nc:Date>");
	msgbuild_clean(b, value, strlen(value), 1);
	ubuf_adds(b, "</nc:Date></");
	ubuf_adds(b, name);
	ubuf_add(b, ">\n", 2);
}

/*
 * Messages.
 */

void
msgbuild_begin(struct ubuf *b, enum msg_key key, const char *ori,
    const char *const *dests, int ndest, const char *ctl)
{
	const char	*name = msg_key_name(key);
	enum msg_body	 body = msg_key_body(key);
	char		 c[MSG_CTL_LEN + 1], t[256];
	const char	*p;
	size_t		 n;
	int		 i;

	if (name == NULL)
		fatalx("msgbuild_begin: bad message key %d", (int)key);
	ubuf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    MSGBUILD_ROOT "<n2:NLETSMessageHeader>\n");
	msgbuild_text(b, "nh2:MessageKeyCodeText", name);
	msgbuild_text(b, "nh2:OriginatingORIID", ori);
	for (i = 0; i < ndest; i++)
		msgbuild_text(b, "nh2:DestinationORIID", dests[i]);
	/* The control field as msgparse reads it back: printable, without
	 * the blanks around it (all blanks would not validate), 10 at most. */
	msg_filter(t, sizeof t, ctl, ' ', '~', sizeof t - 1);
	p = t + strspn(t, " ");
	msg_cpy(c, sizeof c, p, strlen(p));
	for (n = strlen(c); n > 0 && c[n - 1] == ' '; n--)
		c[n - 1] = '\0';
	msgbuild_text(b, "nh2:DocumentControlFieldText", c);
	ubuf_adds(b, "</n2:NLETSMessageHeader>\n<n2:");
	ubuf_adds(b, msg_body_name(body));
	if (body == MSG_BODY_MAIL)
		ubuf_printf(b, " n2:key=\"%s\"", name);
	ubuf_adds(b, ">\n");
}

void
msgbuild_end(struct ubuf *b, enum msg_key key)
{
	const char	*body = msg_body_name(msg_key_body(key));

	if (body == NULL)
		fatalx("msgbuild_end: bad message key %d", (int)key);
	ubuf_printf(b, "</n2:%s>\n</n2:NLETS>\n", body);
}

static int
msgbuild_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

void
msgbuild_person_of(const struct msg_person *p, struct msgbuild_person *out)
{
	out->given = p->given;
	out->middle = p->middle;
	out->surname = p->surname;
	out->suffix = p->suffix;
	out->dob = p->dob;
	out->sex = p->sex;
	out->oln = p->oln;
	out->olstate = p->olstate;
}

/* The license number and its state: j:PersonAugmentation/nc:DriverLicense
 * opened (the caller adds the rest and closes). */
static void
msgbuild_license_open(struct ubuf *b, const struct msgbuild_person *p)
{
	msgbuild_open(b, "j:PersonAugmentation");
	msgbuild_open(b, "nc:DriverLicense");
	if (msgbuild_set(p->oln) || msgbuild_set(p->olstate)) {
		msgbuild_open(b, "nc:DriverLicenseIdentification");
		msgbuild_text(b, "nc:IdentificationID", p->oln);
		msgbuild_text(b, "nc:IdentificationJurisdictionText",
		    p->olstate);
		msgbuild_close(b, "nc:DriverLicenseIdentification");
	}
}

static void
msgbuild_name(struct ubuf *b, const struct msgbuild_person *p)
{
	if (!msgbuild_set(p->given) && !msgbuild_set(p->middle) &&
	    !msgbuild_set(p->surname) && !msgbuild_set(p->suffix))
		return;
	msgbuild_open(b, "nc:PersonName");
	msgbuild_text(b, "nc:PersonGivenName", p->given);
	msgbuild_text(b, "nc:PersonMiddleName", p->middle);
	msgbuild_text(b, "nc:PersonSurName", p->surname);
	msgbuild_text(b, "nc:PersonNameSuffixText", p->suffix);
	msgbuild_close(b, "nc:PersonName");
}

void
msgbuild_person(struct ubuf *b, const char *el,
    const struct msgbuild_person *p)
{
	msgbuild_open(b, el);
	msgbuild_date(b, "nc:PersonBirthDate", p->dob);
	msgbuild_name(b, p);
	msgbuild_text(b, "nc:PersonSexCode", p->sex);
	if (msgbuild_set(p->oln) || msgbuild_set(p->olstate)) {
		msgbuild_license_open(b, p);
		msgbuild_close(b, "nc:DriverLicense");
		msgbuild_close(b, "j:PersonAugmentation");
	}
	msgbuild_close(b, el);
}

static void
msgbuild_photo(struct ubuf *b, const struct msgbuild_driver *d)
{
	char	 kb[32];

	msgbuild_open(b, "nc:PersonDigitalImage");
	ubuf_adds(b, "<nc:BinaryBase64Object>");
	ubuf_add(b, d->photo_b64, d->photo_b64len);
	ubuf_adds(b, "</nc:BinaryBase64Object>\n");
	msgbuild_text(b, "nc:BinaryFormatID", "image/jpeg");
	snprintf(kb, sizeof kb, "%.2f", (double)d->photo_bytes / 1024.0);
	msgbuild_text(b, "nc:BinarySizeValue", kb);
	msgbuild_close(b, "nc:PersonDigitalImage");
	if (d->noretain)
		msgbuild_text(b, "psp:DoNotRetainIndicator", "true");
}

static void
msgbuild_address(struct ubuf *b, const struct msgbuild_driver *d)
{
	if (!msgbuild_set(d->street) && !msgbuild_set(d->city) &&
	    !msgbuild_set(d->state) && !msgbuild_set(d->zip))
		return;
	msgbuild_open(b, "nc:ContactInformation");
	msgbuild_open(b, "nc:ContactMailingAddress");
	msgbuild_open(b, "nc:StructuredAddress");
	if (msgbuild_set(d->street)) {
		msgbuild_open(b, "nc:LocationStreet");
		msgbuild_text(b, "nc:StreetFullText", d->street);
		msgbuild_close(b, "nc:LocationStreet");
	}
	msgbuild_text(b, "nc:LocationCityName", d->city);
	msgbuild_text(b, "nc:LocationStateUSPostalServiceCode", d->state);
	msgbuild_text(b, "nc:LocationPostalCode", d->zip);
	msgbuild_close(b, "nc:StructuredAddress");
	msgbuild_close(b, "nc:ContactMailingAddress");
	msgbuild_close(b, "nc:ContactInformation");
}

static void
msgbuild_event(struct ubuf *b, const struct msgbuild_event *e)
{
	msgbuild_open(b, "j:PersonDrivingIncident");
	msgbuild_text(b, "nc:ActivityCategoryText", e->code);
	msgbuild_date(b, "nc:ActivityDate", e->date);
	msgbuild_text(b, "nc:ActivityDescriptionText", e->text);
	if (msgbuild_set(e->state)) {
		msgbuild_open(b, "j:DrivingIncidentJurisdiction");
		msgbuild_text(b, "nc:LocationStateUSPostalServiceCode",
		    e->state);
		msgbuild_close(b, "j:DrivingIncidentJurisdiction");
	}
	msgbuild_close(b, "j:PersonDrivingIncident");
}

void
msgbuild_driver(struct ubuf *b, const struct msgbuild_driver *d)
{
	const struct msgbuild_person	*p = &d->person;
	int				 i;

	msgbuild_open(b, "n2c:Driver");
	msgbuild_date(b, "nc:PersonBirthDate", p->dob);
	if (d->photo_b64 != NULL)
		msgbuild_photo(b, d);
	msgbuild_name(b, p);
	msgbuild_text(b, "nc:PersonSexCode", p->sex);
	msgbuild_address(b, d);
	msgbuild_license_open(b, p);
	msgbuild_date(b, "nc:DriverLicenseExpirationDate", d->lic_expires);
	msgbuild_text(b, "nc:DriverLicenseNonCommercialClassText",
	    d->lic_class);
	msgbuild_text(b, "nc:DriverLicenseNonCommercialStatusText",
	    d->lic_status);
	msgbuild_close(b, "nc:DriverLicense");
	for (i = 0; i < d->nevents; i++)
		msgbuild_event(b, &d->events[i]);
	msgbuild_close(b, "j:PersonAugmentation");
	msgbuild_close(b, "n2c:Driver");
}

/*
 * ER and SM.
 */

/*
 * A text element, as CDATA when the text allows (Nlets' habit): not when
 * it holds "]]>", nor "<!DOCTYPE", which msgparse refuses wherever it
 * stands (an ER quoting such an input would not validate).
 */
static void
msgbuild_cdata(struct ubuf *b, const char *name, const char *text,
    size_t len)
{
	ubuf_printf(b, "<%s>", name);
	if (memmem(text, len, "]]>", 3) == NULL &&
	    memmem(text, len, "<!DOCTYPE", 9) == NULL) {
		ubuf_adds(b, "<![CDATA[");
		ubuf_add(b, text, len);
		ubuf_adds(b, "]]>");
	} else
		msgbuild_clean(b, text, len, 1);
	ubuf_printf(b, "</%s>\n", name);
}

void
msgbuild_er_text(struct ubuf *b, int code, enum msg_key key,
    const char *detail, const char *input, size_t inlen)
{
	const char	*opt = code == MSG_ER_FORMAT ? msg_er_options(key) :
			    NULL;
	size_t		 n, i;

	ubuf_printf(b, ".%02d. %s", code, msg_er_reason(code));
	if (opt != NULL)
		ubuf_printf(b, " - REFER TO %s MKE OPTIONS BELOW\n%s",
		    msg_key_name(key), opt);
	ubuf_adds(b, "\n");
	if (detail != NULL && detail[0] != '\0') {
		n = msg_utf8_cut(detail, strlen(detail), 1000);
		for (i = 0; i < n; i++)
			if (detail[i] == '\n' || detail[i] == '\r')
				break;
		msgbuild_clean(b, detail, i, 0);
		ubuf_adds(b, "\n");
	}
	ubuf_adds(b, "ORIGINAL MESSAGE\n");
	if (input != NULL && inlen > 0) {
		n = msg_utf8_chars(input, inlen, MSG_ER_INPUT_LEN);
		msgbuild_clean(b, input, n, 0);
	}
}

void
msgbuild_er(struct ubuf *b, const char *ori, const char *ctl, int code,
    enum msg_key key, const char *detail, const char *input, size_t inlen)
{
	const char	*dest;
	struct ubuf	 t;

	dest = msg_dest_is_valid(ori) ? ori : MSG_SWITCH_ORI;
	msgbuild_begin(b, MSG_KEY_ER, MSG_SWITCH_ORI, &dest, 1, ctl);
	ubuf_init(&t);
	msgbuild_er_text(&t, code, key, detail, input, inlen);
	msgbuild_cdata(b, "n2:ResponseText", t.data, t.len);
	ubuf_free(&t);
	msgbuild_end(b, MSG_KEY_ER);
}

void
msgbuild_sm_text(struct ubuf *b, int status, const char *about_dest,
    enum msg_key about_key, const char *msgid)
{
	const char	*sep = "\n";
	char		 id[41];

	/* The second line lists the parts there are, ", " between them. */
	ubuf_printf(b, ".%02d. %s", status, msg_sm_text(status));
	if (msg_dest_is_valid(about_dest)) {
		ubuf_printf(b, "%sDESTINATION %s", sep, about_dest);
		sep = ", ";
	}
	if (msg_key_name(about_key) != NULL) {
		ubuf_printf(b, "%sMSG TYPE %s", sep, msg_key_name(about_key));
		sep = ", ";
	}
	msg_filter(id, sizeof id, msgid, '!', '~', sizeof id - 1);
	if (id[0] != '\0')
		ubuf_printf(b, "%sMESSAGE %s", sep, id);
}

void
msgbuild_sm(struct ubuf *b, const char *ori, const char *ctl, int status,
    const char *about_dest, enum msg_key about_key, const char *msgid)
{
	msgbuild_sm_more(b, ori, ctl, status, about_dest, about_key, msgid,
	    NULL);
}

void
msgbuild_sm_more(struct ubuf *b, const char *ori, const char *ctl,
    int status, const char *about_dest, enum msg_key about_key,
    const char *msgid, const char *more)
{
	const char	*dest;
	struct ubuf	 t;

	dest = msg_dest_is_valid(ori) ? ori : MSG_SWITCH_ORI;
	msgbuild_begin(b, MSG_KEY_SM, MSG_SWITCH_ORI, &dest, 1, ctl);
	ubuf_init(&t);
	msgbuild_sm_text(&t, status, about_dest, about_key, msgid);
	if (more != NULL && more[0] != '\0') {
		ubuf_adds(&t, "\n");
		msgbuild_clean(&t, more, strlen(more), 0);
	}
	msgbuild_cdata(b, "n2:StatusMessageText", t.data, t.len);
	ubuf_free(&t);
	msgbuild_end(b, MSG_KEY_SM);
}

/*
 * Stamping.
 */

void
msgbuild_stamp_time(uint64_t us, char date[11], char hhmm[6])
{
	/* The last second's text, per thread: every delivery stamps two
	 * times, nearly always within the same second. */
	static __thread time_t	 last = (time_t)-1;
	static __thread char	 ldate[11], lhhmm[6];
	struct tm		 tm;
	time_t			 t = (time_t)(us / 1000000);

	if (t != last) {
		if (localtime_r(&t, &tm) == NULL)
			memset(&tm, 0, sizeof tm);
		snprintf(ldate, sizeof ldate, "%02u/%02u/%04u",
		    (unsigned)(tm.tm_mon + 1) % 100, (unsigned)tm.tm_mday % 100,
		    (unsigned)(tm.tm_year + 1900) % 10000);
		snprintf(lhhmm, sizeof lhhmm, "%02u:%02u",
		    (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100);
		last = t;
	}
	memcpy(date, ldate, sizeof ldate);
	memcpy(hhmm, lhhmm, sizeof lhhmm);
}

/*
 * The prefix the header's elements use, taken from the sender's element
 * t ("nh2:" in "<nh2:...>"). *local is set when that element carried
 * attributes (perhaps its own namespace declaration): the elements the
 * switch writes then declare theirs.
 */
static void
msgbuild_hdr_prefix(const struct xscan_tok *t, char *pfx, size_t psz,
    int *local)
{
	/* No prefix: the default namespace in scope is the header's. */
	*local = t == NULL || t->attrs;
	if (*local)
		snprintf(pfx, psz, "nh2:");
	else
		msg_cpy(pfx, psz, t->name, (size_t)(t->local - t->name));
}

/* <PFX:name[ xmlns:nh2=...]>value</PFX:name> */
static void
msgbuild_hdr_el(struct ubuf *out, const char *pfx, int local,
    const char *name, const char *value)
{
	/* Every delivery writes eight: plain appends, not printf. */
	ubuf_adds(out, "<");
	ubuf_adds(out, pfx);
	ubuf_adds(out, name);
	if (local)
		ubuf_adds(out, " xmlns:nh2=\"" MSG_NS_NH2 "\"");
	ubuf_adds(out, ">");
	ubuf_adds(out, value);
	ubuf_adds(out, "</");
	ubuf_adds(out, pfx);
	ubuf_adds(out, name);
	ubuf_adds(out, ">");
}

/*
 * raw[0..stamp_off) into out with the destinations replaced by one naming
 * recv_ori. The last sender element's token goes to *last (for the
 * prefix of the stamps).
 */
static void
msgbuild_head_dests(struct ubuf *out, const char *raw, size_t stamp_off,
    const char *recv_ori, struct xscan_tok *last, int *havelast)
{
	struct xscan		 sc;
	struct xscan_tok	 t, first;
	size_t			 from = 0, to = 0;
	char			 pfx[64];
	int			 local, n = 0;

	memset(&first, 0, sizeof first);
	*havelast = 0;
	xscan_init(&sc, raw, stamp_off);
	while (xscan_next(&sc, &t) != XSCAN_EOF) {
		if (t.kind == XSCAN_START || t.kind == XSCAN_EMPTY) {
			*last = t;
			*havelast = 1;
		}
		if (!xscan_is(&t, "DestinationORIID"))
			continue;
		if (t.kind != XSCAN_END && n++ == 0) {
			first = t;
			from = xscan_off(&sc, &t);
		}
		if (t.kind != XSCAN_START)
			to = xscan_off(&sc, &t) + t.len;
	}
	if (recv_ori == NULL || !msg_ori_is_valid(recv_ori) || n == 0 ||
	    to <= from) {
		ubuf_add(out, raw, stamp_off);
		return;
	}
	msgbuild_hdr_prefix(&first, pfx, sizeof pfx, &local);
	ubuf_add(out, raw, from);
	msgbuild_hdr_el(out, pfx, local, "DestinationORIID", recv_ori);
	ubuf_add(out, raw + to, stamp_off - to);
}

int
msgbuild_stamp_head(struct ubuf *out, const char *raw, size_t len,
    size_t stamp_off, const struct msgbuild_stamp *st, size_t *resume)
{
	struct xscan_tok last;
	char		 v[MSG_NSTAMPS][16], pfx[64], sep[64];
	size_t		 hdr_end, so, i, nl, k;
	int		 local, havelast;

	memset(&last, 0, sizeof last);
	if (stamp_off > len)
		stamp_off = len;
	*resume = stamp_off;
	if (msg_hdr_span(raw, len, stamp_off, &so, &hdr_end) == -1) {
		ubuf_add(out, raw, stamp_off);
		return -1;
	}
	msgbuild_stamp_time(st->recv_us, v[0], v[1]);
	msgbuild_stamp_time(st->send_us, v[2], v[3]);
	snprintf(v[4], sizeof v[4], "%05llu",
	    (unsigned long long)(st->in_seq % 100000));
	snprintf(v[5], sizeof v[5], "%05llu",
	    (unsigned long long)(st->out_seq % 100000));
	msgbuild_head_dests(out, raw, stamp_off, st->recv_ori, &last,
	    &havelast);
	msgbuild_hdr_prefix(havelast ? &last : NULL, pfx, sizeof pfx, &local);
	/* Each element on a line of its own when the header is laid out
	 * so: the blanks that follow the sender's part, repeated. */
	for (i = stamp_off, k = 0; i < hdr_end && k + 1 < sizeof sep &&
	    (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' ||
	    raw[i] == '\r'); i++)
		sep[k++] = raw[i];
	sep[k] = '\0';
	if (memchr(sep, '\n', k) == NULL)
		sep[0] = '\0';
	for (nl = hdr_end; nl > stamp_off && raw[nl - 1] != '\n'; nl--)
		;
	*resume = sep[0] != '\0' && nl > stamp_off ? nl - 1 : hdr_end;
	for (i = 0; i < MSG_NSTAMPS; i++) {
		ubuf_adds(out, sep);
		msgbuild_hdr_el(out, pfx, local, msg_stamp_name((int)i), v[i]);
	}
	return 0;
}

void
msgbuild_stamp(struct ubuf *b, const char *raw, size_t len, size_t stamp_off,
    const struct msgbuild_stamp *st)
{
	size_t	 resume;

	msgbuild_stamp_head(b, raw, len, stamp_off, st, &resume);
	ubuf_add(b, raw + resume, len - resume);
}

/*
 * The message key rewritten (a DQG becomes a DQ).
 */

int
msgbuild_rekey(struct ubuf *out, const char *raw, size_t len,
    enum msg_key key)
{
	static const char	 el[] = "MessageKeyCodeText";
	const char		*name = msg_key_name(key);
	struct xscan		 sc;
	struct xscan_tok	 t;
	size_t			 cs, ce;

	ubuf_reset(out);
	if (name == NULL)
		return -1;
	xscan_init(&sc, raw, len);
	if (xscan_find(&sc, el, 0, &t) == -1 || t.kind != XSCAN_START)
		return -1;
	cs = xscan_off(&sc, &t) + t.len;
	if (xscan_find(&sc, el, 1, &t) == -1)
		return -1;
	ce = xscan_off(&sc, &t);
	ubuf_add(out, raw, cs);
	ubuf_adds(out, name);
	ubuf_add(out, raw + ce, len - ce);
	return 0;
}

/*
 * Photo rewriting (response side of the photo-sharing policy).
 */

/*
 * After the end tag of a photo at off: the psp:DoNotRetainIndicator
 * that follows it, if any (only blanks and comments between). *s and
 * *e get its start and end (after its end tag), *vs and *ve its value.
 * @return 1 found, 0 none.
 */
static int
msgbuild_noretain_after(const char *raw, size_t len, size_t off, size_t *s,
    size_t *e, size_t *vs, size_t *ve)
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	size_t			 i;

	xscan_init_at(&sc, raw, len, off);
	for (;;) {
		switch (xscan_next(&sc, &t)) {
		case XSCAN_TEXT:
			for (i = 0; i < t.datalen; i++)
				if (strchr(" \t\r\n", t.data[i]) == NULL)
					return 0;
			continue;
		case XSCAN_COMMENT:
			continue;
		case XSCAN_START:
			if (!xscan_is(&t, "DoNotRetainIndicator"))
				return 0;
			*s = xscan_off(&sc, &t);
			*vs = *s + t.len;
			if (xscan_find(&sc, "DoNotRetainIndicator", 1, &t) == -1)
				return 0;
			*ve = xscan_off(&sc, &t);
			*e = *ve + t.len;
			return 1;
		default:
			return 0;
		}
	}
}

/* 1 if raw[vs..ve) says true. */
static int
msgbuild_is_true(const char *raw, size_t vs, size_t ve)
{
	while (vs < ve && strchr(" \t\r\n", raw[vs]) != NULL)
		vs++;
	while (ve > vs && strchr(" \t\r\n", raw[ve - 1]) != NULL)
		ve--;
	return (ve - vs == 4 && memcmp(raw + vs, "true", 4) == 0) ||
	    (ve - vs == 1 && raw[vs] == '1');
}

int
msgbuild_photo_rewrite(struct ubuf *out, const char *raw, size_t len,
    int mode)
{
	static const char	 img[] = "PersonDigitalImage";
	struct xscan		 sc;
	struct xscan_tok	 t;
	size_t			 at = 0, s, gt, ds, de, vs, ve, so, he;
	int			 changed = 0, dnr;

	ubuf_reset(out);
	if (msg_hdr_span(raw, len, 0, &so, &he) == -1)
		return -1;
	xscan_init_at(&sc, raw, len, he);
	while (xscan_find(&sc, img, 0, &t) == 0) {
		s = xscan_off(&sc, &t);
		if (t.kind == XSCAN_EMPTY)
			gt = s + t.len;
		else if (xscan_find(&sc, img, 1, &t) == -1) {
			ubuf_reset(out);
			return -1;
		} else
			gt = xscan_off(&sc, &t) + t.len;
		dnr = msgbuild_noretain_after(raw, len, gt, &ds, &de, &vs, &ve);
		if (mode == MSGBUILD_PHOTO_STRIP) {
			ubuf_add(out, raw + at, s - at);
			at = dnr ? de : gt;
			changed++;
		} else if (!dnr) {
			ubuf_add(out, raw + at, gt - at);
			ubuf_adds(out, "<psp:DoNotRetainIndicator xmlns:psp=\""
			    MSG_NS_PSP "\">true</psp:DoNotRetainIndicator>");
			at = gt;
			changed++;
		} else if (!msgbuild_is_true(raw, vs, ve)) {
			ubuf_add(out, raw + at, vs - at);
			ubuf_adds(out, "true");
			at = ve;
			changed++;
		}
		if (dnr)
			xscan_init_at(&sc, raw, len, de);
	}
	ubuf_add(out, raw + at, len - at);
	return changed;
}

void
msgbuild_am(struct ubuf *b, const char *ori, const char *const *dests,
    int ndest, const char *ctl, const char *text, size_t len)
{
	msgbuild_begin(b, MSG_KEY_AM, ori, dests, ndest, ctl);
	msgbuild_cdata(b, "n2:MailMessageText", text, len);
	msgbuild_end(b, MSG_KEY_AM);
}

int
msgbuild_imq_strip(struct ubuf *out, const char *raw, size_t len)
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	enum xscan_kind		 k;
	const char		*el;
	size_t			 at, s, e, so, he;
	int			 n = 0;

	ubuf_reset(out);
	if (msg_hdr_span(raw, len, 0, &so, &he) == -1)
		return -1;
	at = he;
	ubuf_add(out, raw, he);
	xscan_init_at(&sc, raw, len, he);
	while ((k = xscan_next(&sc, &t)) != XSCAN_EOF) {
		if (k == XSCAN_BAD || k == XSCAN_DECL) {
			ubuf_reset(out);
			return -1;
		}
		if (k != XSCAN_START && k != XSCAN_EMPTY)
			continue;
		if (xscan_is(&t, "ImageRequestIndicator"))
			el = "ImageRequestIndicator";
		else if (xscan_is(&t, "PhotoPurpose"))
			el = "PhotoPurpose";
		else
			continue;
		s = xscan_off(&sc, &t);
		if (k == XSCAN_EMPTY)
			e = s + t.len;
		else if (xscan_find(&sc, el, 1, &t) == -1) {
			ubuf_reset(out);
			return -1;
		} else
			e = xscan_off(&sc, &t) + t.len;
		/* The element's own line goes with it. */
		while (s > at && strchr(" \t\r\n", raw[s - 1]) != NULL)
			s--;
		ubuf_add(out, raw + at, s - at);
		at = e;
		n++;
	}
	ubuf_add(out, raw + at, len - at);
	return n;
}

int
msgbuild_notice_code(const char *xml, size_t len)
{
	static const char *const el[] = { "<n2:StatusMessageText>",
	    "<n2:ResponseText>" };
	const char	*p, *end = xml + len;
	size_t		 i;

	for (i = 0; i < sizeof el / sizeof el[0]; i++) {
		if ((p = memmem(xml, len, el[i], strlen(el[i]))) == NULL)
			continue;
		p += strlen(el[i]);
		if ((size_t)(end - p) >= 9 && memcmp(p, "<![CDATA[", 9) == 0)
			p += 9;
		if (end - p >= 4 && p[0] == '.' && p[1] >= '0' && p[1] <= '9' &&
		    p[2] >= '0' && p[2] <= '9' && p[3] == '.')
			return (p[1] - '0') * 10 + (p[2] - '0');
	}
	return -1;
}

/*
 * The law-enforcement-only caveat of an AML (msgbuild_caveat).
 */

/* Bytes of the character reference or entity at p[0..n) ("&amp;"), 0 if
 * it is none (no ';' within 12 bytes). *c gets its character, '?' for
 * one beyond ASCII or unknown (enough to compare with ASCII words). */
static size_t
msgbuild_entity(const char *p, size_t n, char *c)
{
	static const struct {
		const char	*name;
		char		 c;
	} ent[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' },
	    { "quot", '"' }, { "apos", '\'' } };
	const char	*semi;
	unsigned long	 v;
	size_t		 i, k;

	if (n < 3 || (semi = memchr(p, ';', n < 12 ? n : 12)) == NULL)
		return 0;
	k = (size_t)(semi - p) + 1;
	*c = '?';
	if (p[1] == '#') {
		v = p[2] == 'x' ? strtoul(p + 3, NULL, 16) :
		    strtoul(p + 2, NULL, 10);
		if (v > 0 && v < 0x80)
			*c = (char)v;
		return k;
	}
	for (i = 0; i < sizeof ent / sizeof ent[0]; i++)
		if (k - 2 == strlen(ent[i].name) &&
		    memcmp(p + 1, ent[i].name, k - 2) == 0)
			*c = ent[i].c;
	return k;
}

/*
 * Count the characters of a text's bytes as XML reads them (a CR LF
 * pair is one newline, a reference one character, UTF-8 sequences one
 * each) and keep the first of them, decoded, in head[hsz] (NUL-ended).
 */
static void
msgbuild_text_chars(const char *p, size_t n, int refs, size_t *chars,
    char *head, size_t hsz, size_t *hlen)
{
	size_t	 i, k;
	char	 c;

	for (i = 0; i < n; i += k) {
		k = 1;
		c = p[i];
		if (c == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;	/* counted with the LF */
		if (c == '\r')
			c = '\n';
		if (refs && c == '&' && (k = msgbuild_entity(p + i, n - i,
		    &c)) == 0)
			k = 1;
		if (((unsigned char)p[i] & 0xc0) == 0x80)
			continue;	/* inside a UTF-8 sequence */
		(*chars)++;
		if (*hlen + 1 < hsz)
			head[(*hlen)++] = ((unsigned char)c & 0x80) ? '?' : c;
	}
	head[*hlen] = '\0';
}

/* 1 if text's first line that is not blank is caveat (any case,
 * trailing blanks allowed). */
static int
msgbuild_starts_with(const char *text, const char *caveat)
{
	size_t	 n = strlen(caveat);

	text += strspn(text, " \t\n");
	if (strncasecmp(text, caveat, n) != 0)
		return 0;
	text += n;
	text += strspn(text, " \t");
	return *text == '\n' || *text == '\0';
}

int
msgbuild_caveat(struct ubuf *out, const char *raw, size_t len,
    const char *caveat, size_t max, size_t *chars)
{
	static const char	 el[] = "MailMessageText";
	struct xscan		 sc;
	struct xscan_tok	 t;
	enum xscan_kind		 k;
	char			 head[256];
	size_t			 at, so, he, hlen = 0, n = 0, b;
	int			 first = 1;

	ubuf_reset(out);
	*chars = 0;
	if (msg_hdr_span(raw, len, 0, &so, &he) == -1)
		return -1;
	xscan_init_at(&sc, raw, len, he);
	if (xscan_find(&sc, el, 0, &t) == -1 || t.kind != XSCAN_START)
		return -1;
	at = xscan_off(&sc, &t) + t.len;
	for (;;) {
		k = xscan_next(&sc, &t);
		if (k == XSCAN_END && xscan_is(&t, el))
			break;
		if (k == XSCAN_TEXT) {
			/* Insert after the blanks the text starts with. */
			if (first)
				for (b = 0; b < t.datalen &&
				    strchr(" \t\r\n", t.data[b]) != NULL; b++)
					at++;
			msgbuild_text_chars(t.data, t.datalen, 1, &n, head,
			    sizeof head, &hlen);
		} else if (k == XSCAN_CDATA)
			msgbuild_text_chars(t.data, t.datalen, 0, &n, head,
			    sizeof head, &hlen);
		else if (k != XSCAN_COMMENT && k != XSCAN_PI)
			return -1;	/* markup a text cannot have */
		first = 0;
	}
	head[hlen] = '\0';
	if (msgbuild_starts_with(head, caveat)) {
		*chars = n;
		ubuf_add(out, raw, len);
		return 0;
	}
	*chars = n + strlen(caveat) + 1;
	if (*chars > max)
		return -1;
	ubuf_add(out, raw, at);
	ubuf_adds(out, caveat);
	ubuf_adds(out, "\n");
	ubuf_add(out, raw + at, len - at);
	return 1;
}

/*
 * A mail without its pictures (msgbuild_image_strip).
 */

/* Add [s, e) to the ranges to remove, dropping those it contains (an
 * inner element closes, and is added, before its parent). */
static void
msgbuild_range_add(size_t **r, size_t *n, size_t *cap, size_t s, size_t e)
{
	while (*n > 0 && (*r)[2 * (*n - 1)] >= s)
		(*n)--;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*r = xrealloc(*r, *cap * 2 * sizeof **r);
	}
	(*r)[2 * *n] = s;
	(*r)[2 * *n + 1] = e;
	(*n)++;
}

int
msgbuild_image_strip(struct ubuf *out, const char *raw, size_t len)
{
	struct xscan		 sc;
	struct xscan_tok	 t;
	enum xscan_kind		 k;
	size_t			 stack[MSG_MAX_DEPTH + 2];
	unsigned char		 mark[MSG_MAX_DEPTH + 2];
	size_t			*r = NULL, nr = 0, cap = 0, i, at, s, e;
	size_t			 so, he, ds, de, vs, ve;
	int			 depth = 0, pictures = 0, rc = -1;

	ubuf_reset(out);
	if (msg_hdr_span(raw, len, 0, &so, &he) == -1)
		return -1;
	xscan_init_at(&sc, raw, len, he);
	while ((k = xscan_next(&sc, &t)) != XSCAN_EOF) {
		if (k == XSCAN_BAD || k == XSCAN_DECL)
			goto out;
		s = xscan_off(&sc, &t);
		if ((k == XSCAN_START || k == XSCAN_EMPTY) &&
		    xscan_is(&t, "BinaryBase64Object") && depth > 0)
			mark[depth - 1] = 1;	/* its parent is a picture */
		if (k == XSCAN_EMPTY && xscan_is(&t, "PhotoPurpose"))
			msgbuild_range_add(&r, &nr, &cap, s, s + t.len);
		if (k == XSCAN_START) {
			if (depth == (int)(sizeof stack / sizeof stack[0]))
				goto out;
			stack[depth] = s;
			mark[depth++] = xscan_is(&t, "PhotoPurpose") ? 2 : 0;
		} else if (k == XSCAN_END && depth > 0) {
			e = s + t.len;
			depth--;
			if (mark[depth] == 1) {
				pictures++;
				if (msgbuild_noretain_after(raw, len, e, &ds, &de,
				    &vs, &ve))
					e = de;
			}
			if (mark[depth] != 0)
				msgbuild_range_add(&r, &nr, &cap, stack[depth],
				    e);
		}
	}
	/* The removed elements' own lines go with them. */
	for (i = 0, at = 0; i < nr; i++) {
		s = r[2 * i];
		while (s > at && strchr(" \t\r\n", raw[s - 1]) != NULL)
			s--;
		ubuf_add(out, raw + at, s - at);
		at = r[2 * i + 1];
	}
	ubuf_add(out, raw + at, len - at);
	rc = pictures;
out:
	if (rc == -1)
		ubuf_reset(out);
	free(r);
	return rc;
}
