/*
 * it_network - how the switch behaves as a network (issue 13), through
 * the running switch with real endpoints:
 *   - resends: a message its line sends again within the resend window
 *     is acknowledged with the first message's id and delivered once; a
 *     new control field is a new message; past the window the same bytes
 *     are new again;
 *   - HELP files: an AM to ssfffHELP is answered by the switch with an
 *     AM from that address, generated from the configuration; the update
 *     functions are refused;
 *   - notices: an SM to a sender that stays offline waits notice-ttl
 *     (longer than the traffic's held-ttl), then goes to the dead letters
 *     with its kind, counted and audited.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "msg.h"
#include "util.h"

#define WAIT	10000

static const char *
am(const char *ctl)
{
	return it_msg("AM", "WA0340000", "CA", ctl,
	    "<n2:MailMessageText>THE SAME BYTES</n2:MailMessageText>");
}

/* Send xml on c and wait for its ACK: the msgid, or NULL. */
static char *
send_acked(struct it_client *c, const char *xml)
{
	uint64_t tag = it_client_send(c, xml);

	if (it_client_wait(c, tag, WAIT) != 1)
		return NULL;
	return xstrdup(c->reply[tag]);
}

static void
test_resend(void)
{
	struct it_env		*e;
	struct it_client	*wa, *ca;
	char			*id1, *id2, *id3, *id4, *out = NULL;
	int			 i;

	e = it_env_new_conf("resend", "resend-window=\"3s\"", "", "");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up);

	id1 = send_acked(wa, am("R1"));
	id2 = send_acked(wa, am("R1"));		/* resent: the same bytes */
	id3 = send_acked(wa, am("R2"));		/* a new control field */
	CU_ASSERT_FATAL(id1 != NULL && id2 != NULL && id3 != NULL);
	CU_ASSERT_STRING_EQUAL(id2, id1);
	CU_ASSERT_STRING_NOT_EQUAL(id3, id1);
	CU_ASSERT_EQUAL(it_wait_metric(e, "nlswitch_resends_total", 1, WAIT),
	    1);

	/* Delivered once each. */
	ca = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca && ca->up);
	ca->autodack = 1;
	CU_ASSERT_EQUAL(it_client_wait_dlv(ca, 2, WAIT), 0);
	it_pump(e, 300);
	CU_ASSERT_EQUAL(it_count(ca, "AM", "R1"), 1);
	CU_ASSERT_EQUAL(it_count(ca, "AM", "R2"), 1);

	/* Past the window the same bytes are a new message. */
	for (i = 0; i < 60; i++)
		it_pump(e, 100);
	id4 = send_acked(wa, am("R1"));
	CU_ASSERT_PTR_NOT_NULL(id4);
	if (id4 != NULL)
		CU_ASSERT_STRING_NOT_EQUAL(id4, id1);
	CU_ASSERT_EQUAL(it_client_wait_dlv(ca, 3, WAIT), 0);
	CU_ASSERT_EQUAL(it_count(ca, "AM", "R1"), 2);

	/* Audited, and in nlctl status. */
	CU_ASSERT_EQUAL(it_sh(e, "bin/nlctl audit --limit 100000", NULL,
	    &out), 0);
	CU_ASSERT(out != NULL && strstr(out, "\"event\":\"resend\"") != NULL);
	free(out);
	out = NULL;
	CU_ASSERT_EQUAL(it_sh(e, "bin/nlctl status", NULL, &out), 0);
	CU_ASSERT(out != NULL && strstr(out, "resends: 1") != NULL);
	free(out);
	free(id1);
	free(id2);
	free(id3);
	free(id4);
	it_client_free(ca);
	it_client_free(wa);
	it_switch_stop(e, SIGTERM);
	it_env_free(e);
}

/* Wait until `nlctl ARGS` shows text. @return 1 if it did. */
static int
nlctl_shows(struct it_env *e, const char *args, const char *text,
    int wait_ms)
{
	uint64_t	 end = util_mono_us() + (uint64_t)wait_ms * 1000;
	char		*cmd = xasprintf("bin/nlctl %s", args), *out;
	int		 found = 0;

	do {
		out = NULL;
		if (it_sh(e, cmd, NULL, &out) == 0 && out != NULL &&
		    strstr(out, text) != NULL)
			found = 1;
		free(out);
		if (!found)
			it_pump(e, 200);
	} while (!found && util_mono_us() < end);
	free(cmd);
	return found;
}

/* A number in `nlctl status` (-1 if absent). */
static long long
status_value(struct it_env *e, const char *name)
{
	char		*out = NULL, *p, pat[64];
	long long	 v = -1;

	snprintf(pat, sizeof pat, "\n%s: ", name);
	if (it_sh(e, "bin/nlctl status", NULL, &out) == 0 && out != NULL &&
	    (p = strstr(out, pat)) != NULL)
		v = strtoll(p + strlen(pat), NULL, 10);
	free(out);
	return v;
}

static int
dead_shows(struct it_env *e, const char *text, int wait_ms)
{
	return nlctl_shows(e, "deadletters", text, wait_ms);
}

static void
test_notice_offline_sender(void)
{
	struct it_env		*e;
	struct it_client	*wa;
	char			*id;

	/* Traffic lives 1 s, notices 8 s. */
	e = it_env_new_conf("notice", "held-ttl=\"1\" notice-ttl=\"8s\"", "",
	    "");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up);
	id = send_acked(wa, am("N1"));		/* CA is down */
	CU_ASSERT_PTR_NOT_NULL_FATAL(id);
	it_client_free(wa);			/* and now so is the sender */

	/*
	 * The AM expires into the dead letters; the sender's SM .08 about
	 * it waits longer. (An SM .02, "held", may come first: whether the
	 * sender saw it before it left is the scheduler's business.)
	 */
	CU_ASSERT_TRUE(dead_shows(e, "mke=AM", 15000));
	CU_ASSERT_FALSE(dead_shows(e, "SM .08", 200));

	/* Then it expires too: dead-lettered with its kind, counted. */
	CU_ASSERT_TRUE(dead_shows(e, "SM .08", 20000));
	CU_ASSERT_TRUE(nlctl_shows(e, "audit --limit 100000",
	    "\"notice\":\"SM .08\"", WAIT));
	CU_ASSERT_TRUE(status_value(e, "notices_expired") >= 1);
	CU_ASSERT_EQUAL(it_log_wait(e, "nlswitchd.log", "SM .08 to "
	    "line=WAAGY expired undelivered", WAIT), 0);
	free(id);
	it_switch_stop(e, SIGTERM);
	it_env_free(e);
}

static void
test_help(void)
{
	struct it_env		*e;
	struct it_client	*wa;
	struct it_dlv		*d;
	const char		*text;
	uint64_t		 tag;
	char			*id;

	e = it_env_new_conf("help", "", "", "");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up);
	wa->autodack = 1;

	id = send_acked(wa, it_msg("AM", "WA0340000", "NLOLNHELP", "H1",
	    "<n2:MailMessageText>OLN HELP</n2:MailMessageText>"));
	CU_ASSERT_PTR_NOT_NULL(id);
	d = it_find(wa, "AM", "H1", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "OriginatingORIID"),
	    "NLOLNHELP");
	text = it_field(d->xml, "MailMessageText");
	CU_ASSERT(text != NULL && strstr(text, "CA  LINE CADMV") != NULL &&
	    strstr(text, "NV  LINE NVDMV") != NULL &&
	    strstr(text, "PHOTOS (IMQ/Y)") != NULL);
	free(id);

	/* Who answers name-only queries. */
	id = send_acked(wa, it_msg("AM", "WA0340000", "NLNOQHELP", "H2",
	    "<n2:MailMessageText>NOQ</n2:MailMessageText>"));
	d = it_find(wa, "AM", "H2", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	text = it_field(d->xml, "MailMessageText");
	CU_ASSERT(text != NULL && strstr(text, "NAME ONLY QUERIES") != NULL);
	free(id);

	/* Generated files cannot be updated. */
	tag = it_client_send(wa, it_msg("AM", "WA0340000", "NLOLNUPDT", "H3",
	    "<n2:MailMessageText>NEW TEXT</n2:MailMessageText>"));
	CU_ASSERT_EQUAL(it_client_wait(wa, tag, WAIT), 2);
	CU_ASSERT_EQUAL(it_er(wa->reply[tag]), MSG_ER_DEST);
	it_client_free(wa);
	it_switch_stop(e, SIGTERM);
	it_env_free(e);
}

int
main(void)
{
	CU_pSuite	s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_network", NULL, NULL);
	CU_ADD_TEST(s, test_resend);
	CU_ADD_TEST(s, test_help);
	CU_ADD_TEST(s, test_notice_offline_sender);
	return it_run_suites();
}
