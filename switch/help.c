/*
 * help - see help.h.
 */
#include <string.h>

#include "help.h"
#include "msg.h"

/* The driver-license keys the OLN file describes. */
static const int help_oln_keys[] = { MSG_KEY_DQ, MSG_KEY_KQ, MSG_KEY_DNQ };

static int
help_upper(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	return 1;
}

int
help_dest(const char *dest)
{
	if (strlen(dest) != 9 || !help_upper(dest, 5))
		return HELP_NONE;
	if (strcmp(dest + 5, "HELP") == 0)
		return HELP_QUERY;
	if (strcmp(dest + 5, "UPDT") == 0 || strcmp(dest + 5, "APND") == 0 ||
	    strcmp(dest + 5, "CNCL") == 0)
		return HELP_UPDATE;
	return HELP_NONE;
}

static const char *
help_svc_name(int st)
{
	switch (st) {
	case CONFIG_SVC_HELD:
		return "HELD (STORED, FORWARDED LATER)";
	case CONFIG_SVC_REMOVED:
		return "REMOVED (NOT STORED)";
	}
	return "IN SERVICE";
}

/* One member's line in the OLN file: keys, service, photo rules. */
static void
help_oln_member(const struct config_line *cl, help_svc_cb svc, void *arg,
    struct ubuf *out)
{
	size_t	i;
	int	k, any = 0;

	ubuf_printf(out, "%s  LINE %s  ORI %s\n", cl->member, cl->code,
	    cl->nori > 0 ? cl->ori[0] : "-");
	for (i = 0; i < sizeof help_oln_keys / sizeof help_oln_keys[0]; i++) {
		k = help_oln_keys[i];
		if (!config_line_accepts(cl, k))
			continue;
		ubuf_printf(out, "    %-3s %s\n", msg_key_name(k),
		    help_svc_name(svc(cl, k, arg)));
		any = 1;
	}
	if (!any)
		ubuf_adds(out, "    NO DRIVER LICENSE QUERIES\n");
	ubuf_printf(out, "    PHOTOS (IMQ/Y): %s", cl->photo_share ?
	    "SHARED" : "NOT SHARED");
	if (cl->photo_share)
		ubuf_printf(out, "; PUBLIC DISCLOSURE %s; RETENTION %s",
		    cl->photo_public ? "ALLOWED" : "REFUSED",
		    cl->photo_noretain ? "PRECLUDED" : "ALLOWED");
	ubuf_adds(out, "\n");
}

/* OLN: every member (or the one named) and its driver-license keys. */
static void
help_oln(const struct config *cfg, const char *member, help_svc_cb svc,
    void *arg, struct ubuf *out)
{
	int i, n = 0;

	ubuf_adds(out, "OPERATOR'S LICENSE (DQ/DR, KQ/KR, DNQ/DNR) - "
	    "GENERATED FROM THE SWITCH CONFIGURATION\n");
	for (i = 0; i < cfg->nline; i++) {
		const struct config_line *cl = &cfg->lines[i];

		if (cl->member[0] == '\0' || (member != NULL &&
		    strcmp(cl->member, member) != 0))
			continue;
		help_oln_member(cl, svc, arg, out);
		n++;
	}
	if (n == 0)
		ubuf_adds(out, "NO MEMBER LINE\n");
}

/* NOQ: the members that answer name-only driver queries (DNQ). */
static void
help_noq(const struct config *cfg, const char *member, help_svc_cb svc,
    void *arg, struct ubuf *out)
{
	int i, n = 0;

	ubuf_adds(out, "NAME ONLY QUERIES (DNQ/DNR) - MEMBERS THAT ANSWER\n");
	for (i = 0; i < cfg->nline; i++) {
		const struct config_line *cl = &cfg->lines[i];

		if (cl->member[0] == '\0' || (member != NULL &&
		    strcmp(cl->member, member) != 0) ||
		    !config_line_accepts(cl, MSG_KEY_DNQ))
			continue;
		ubuf_printf(out, "%s  %s\n", cl->member,
		    help_svc_name(svc(cl, MSG_KEY_DNQ, arg)));
		n++;
	}
	if (n == 0)
		ubuf_adds(out, "NONE\n");
}

/* MailMessageText's limit in the schema, with room for the note. */
#define HELP_MAX_TEXT	(10000 - 100)

void
help_file(const struct config *cfg, const char *dest, help_svc_cb svc,
    void *arg, struct ubuf *out)
{
	char		 ss[3], fff[4];
	const char	*member;
	size_t		 start = out->len, cut;

	memcpy(ss, dest, 2);
	ss[2] = '\0';
	memcpy(fff, dest + 2, 3);
	fff[3] = '\0';
	member = strcmp(ss, "NL") == 0 ? NULL : ss;
	if (strcmp(fff, "OLN") == 0)
		help_oln(cfg, member, svc, arg, out);
	else if (strcmp(fff, "NOQ") == 0)
		help_noq(cfg, member, svc, arg, out);
	else
		ubuf_printf(out, "NO %s HELP INFORMATION AVAILABLE FOR THIS "
		    "USER\n", fff);
	if (out->len - start <= HELP_MAX_TEXT)
		return;
	/* A whole network's file can outgrow an AM: cut at a line. */
	for (cut = start + HELP_MAX_TEXT; cut > start &&
	    out->data[cut - 1] != '\n'; cut--)
		;
	out->len = cut;
	ubuf_printf(out, "MORE MEMBERS FOLLOW: ASK ssfffHELP FOR ONE MEMBER "
	    "(ss ITS CODE)\n");
}
