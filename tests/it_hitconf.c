/*
 * it_hitconf - hit confirmation (issue 13, item 5) through the running
 * switch with real endpoints, the timers shortened by <limits
 * hit-urgent hit-routine>:
 *   - a YQ without a YR: the switch is killed (SIGKILL, by pid) while
 *     the timer runs and restarted on the same store; the second request
 *     (RNO/2, the requester's ORI and control field) still reaches the
 *     state after the timer, the requester gets SM .11., and after the
 *     second time SM .12.; the record is then gone from the store;
 *   - a YQ answered by a YR in time (XML, and legacy text both ways):
 *     no second request, and the record is cleared from the store in
 *     the YR's transaction;
 *   - a YQ without its priority is refused with ER .14.
 * The store is read with queue_open_rdonly, next to the switch or after
 * it stopped. Every wait is bounded; the only time asserted is a lower
 * bound (the switch cannot send the second request early).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "hitconf.h"
#include "it_util.h"
#include "msg.h"
#include "queue.h"
#include "util.h"

#define WAIT	10000
#define LONG	30000

/* Send and wait for the ACK. @return 1 acked, 2 nacked, 0 neither. */
static int
send_wait(struct it_client *c, const char *msg)
{
	return it_client_wait(c, it_client_send(c, msg), WAIT);
}

/* Deliveries of key with ctl whose request number is rno (0: any). */
static size_t
count_rno(struct it_client *c, const char *mke, const char *ctl, int rno)
{
	size_t	 i, n = 0;
	char	 want[4];

	snprintf(want, sizeof want, "%d", rno);
	for (i = 0; i < c->ndlv; i++) {
		const char *x = c->dlv[i].xml;

		if (strcmp(it_field(x, "MessageKeyCodeText"), mke) != 0 ||
		    strcmp(it_field(x, "DocumentControlFieldText"), ctl) != 0)
			continue;
		if (rno == 0 || strcmp(it_field(x,
		    "QueryRequestSequenceNumber"), want) == 0)
			n++;
	}
	return n;
}

/* The first delivery of key, ctl and rno, waiting up to wait_ms. */
static struct it_dlv *
wait_rno(struct it_env *e, struct it_client *c, const char *mke,
    const char *ctl, int rno, int wait_ms)
{
	uint64_t end = util_mono_us() + (uint64_t)wait_ms * 1000;
	char	 want[4];
	size_t	 i;

	snprintf(want, sizeof want, "%d", rno);
	for (;;) {
		for (i = 0; i < c->ndlv; i++) {
			const char *x = c->dlv[i].xml;

			if (strcmp(it_field(x, "MessageKeyCodeText"), mke) ==
			    0 && strcmp(it_field(x,
			    "DocumentControlFieldText"), ctl) == 0 &&
			    strcmp(it_field(x, "QueryRequestSequenceNumber"),
			    want) == 0)
				return &c->dlv[i];
		}
		if (util_mono_us() >= end)
			return NULL;
		it_pump(e, 100);
	}
}

/* SMs of status to c with ctl. */
static size_t
count_sm(struct it_client *c, const char *ctl, int status)
{
	size_t i, n = 0;

	for (i = 0; i < c->ndlv; i++)
		if (it_sm(c->dlv[i].xml) == status && strcmp(it_field(
		    c->dlv[i].xml, "DocumentControlFieldText"), ctl) == 0)
			n++;
	return n;
}

/* Wait until c has an SM of status with ctl. @return 1 if it came. */
static int
wait_sm(struct it_env *e, struct it_client *c, const char *ctl, int status,
    int wait_ms)
{
	uint64_t end = util_mono_us() + (uint64_t)wait_ms * 1000;

	while (count_sm(c, ctl, status) == 0) {
		if (util_mono_us() >= end)
			return 0;
		it_pump(e, 100);
	}
	return 1;
}

static int
count_cb(const char *key, size_t klen, const void *val, size_t len,
    void *arg)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)len;
	(*(int *)arg)++;
	return 0;
}

/* The hit confirmation records in the switch's store (-1: unreadable). */
static int
stored_records(struct it_env *e)
{
	struct queue	*q;
	char		*dir = xasprintf("%s/data", e->dir), *cause = NULL;
	int		 n = 0;

	q = queue_open_rdonly(&queue_backend_lmdb, dir, &cause);
	free(dir);
	if (q == NULL) {
		fprintf(stderr, "\n  store: %s", cause ? cause : "?");
		free(cause);
		return -1;
	}
	if (queue_walk_state(q, HITCONF_STATE_PREFIX, count_cb, &n) !=
	    QUEUE_E_OK)
		n = -1;
	queue_close(q);
	return n;
}

/* Wait until the store holds want records. @return the last count. */
static int
wait_records(struct it_env *e, int want, int wait_ms)
{
	uint64_t end = util_mono_us() + (uint64_t)wait_ms * 1000;
	int	 n;

	while ((n = stored_records(e)) != want && util_mono_us() < end)
		it_pump(e, 100);
	return n;
}

static void
test_second_request_restart(void)
{
	struct it_env		*e;
	struct it_client	*wa, *ca;
	struct it_dlv		*d;
	uint64_t		 t0;

	e = it_env_new_conf("hitconf", "hit-urgent=\"4s\" hit-routine=\"60s\"",
	    "", "");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	ca = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(wa && wa->up && ca && ca->up);

	t0 = util_mono_us();
	CU_ASSERT_EQUAL_FATAL(send_wait(wa, it_msg("YQ", "WA0340000",
	    "CAOLN0000", "HC1", it_yq_body("U", 1))), 1);
	CU_ASSERT_PTR_NOT_NULL(wait_rno(e, ca, "YQ", "HC1", 1, WAIT));
	/* Acknowledged: its timer is in the store. */
	CU_ASSERT_EQUAL(stored_records(e), 1);

	/* Killed while the timer runs; restarted on the same store. */
	it_client_free(ca);
	it_client_free(wa);
	it_switch_stop(e, SIGKILL);
	CU_ASSERT_EQUAL(stored_records(e), 1);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	CU_ASSERT_EQUAL(it_log_wait(e, "nlswitchd.log",
	    "hit confirmations awaiting a YR=1", WAIT), 0);
	wa = it_client_new(e, "waagy", WAIT);
	ca = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(wa && wa->up && ca && ca->up);

	/* The second request, as the requester's, after the timer. */
	d = wait_rno(e, ca, "YQ", "HC1", 2, LONG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT(util_mono_us() - t0 >= 4 * 1000000ULL);
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "OriginatingORIID"),
	    "WA0340000");
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "QueryRequestPriorityCode"),
	    "U");
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "NCICNumberText"),
	    "W123456789");
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "PersonSurName"), "EXAMPLE");
	/* The requester is told. */
	CU_ASSERT_TRUE(wait_sm(e, wa, "HC1", MSG_SM_HIT_SECOND, WAIT));
	CU_ASSERT_EQUAL(stored_records(e), 1);

	/* No YR to the second request either: SM .12., record gone. */
	CU_ASSERT_TRUE(wait_sm(e, wa, "HC1", MSG_SM_HIT_NONE, LONG));
	CU_ASSERT_EQUAL(wait_records(e, 0, WAIT), 0);
	CU_ASSERT_EQUAL(count_rno(ca, "YQ", "HC1", 3), 0);
	it_client_free(ca);
	it_client_free(wa);
	it_switch_stop(e, SIGTERM);
	CU_ASSERT_EQUAL(stored_records(e), 0);
	it_env_free(e);
}

static void
test_answered_in_time(void)
{
	struct it_env		*e;
	struct it_client	*wa, *ca;
	struct it_dlv		*d;
	int			 i;

	e = it_env_new_conf("hitconf-yr", "hit-urgent=\"3s\" "
	    "hit-routine=\"3s\"", "", "");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	wa = it_client_new(e, "waagy", WAIT);
	ca = it_client_new(e, "cadmv", WAIT);
	CU_ASSERT_FATAL(wa && wa->up && ca && ca->up);

	/* XML: YQ, then its YR. */
	CU_ASSERT_EQUAL_FATAL(send_wait(wa, it_msg("YQ", "WA0340000",
	    "CAOLN0000", "HC2", it_yq_body("R", 1))), 1);
	CU_ASSERT_PTR_NOT_NULL(wait_rno(e, ca, "YQ", "HC2", 1, WAIT));
	/* Legacy text: a vehicle YQ. */
	CU_ASSERT_EQUAL_FATAL(send_wait(wa, "YQ.WA0340000.CAOLN0000.*HC3.TXT\n"
	    "RTY/SV.RNO/1.PRI/R.OCA/2026-000124.NIC/V000012345.LIC/EXA1234."
	    "LIS/CA"), 1);
	d = wait_rno(e, ca, "YQ", "HC3", 1, WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "LicensePlateNumberText"),
	    "EXA1234");
	CU_ASSERT_EQUAL(stored_records(e), 2);

	/* The answers: one in XML, one in legacy text. */
	CU_ASSERT_EQUAL(send_wait(ca, it_msg("YR", "CAOLN0000", "WA0340000",
	    "HC2", it_yr_body("Y"))), 1);
	CU_ASSERT_EQUAL(send_wait(ca, "YR.CAOLN0000.WA0340000.*HC3.TXT\n"
	    "RTY/SV.RNO/1.OCA/2026-000124.NIC/V000012345.CON/P.\n"
	    "MIS/CONFIRMATION BY 1430"), 1);
	d = it_find(wa, "YR", "HC2", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "HitConfirmationStatusCode"),
	    "Y");
	d = it_find(wa, "YR", "HC3", WAIT);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "HitConfirmationStatusCode"),
	    "P");
	/* Cleared in the YRs' transactions, acknowledged above. */
	CU_ASSERT_EQUAL(stored_records(e), 0);

	/* Well past the time: no second request, no SM. */
	for (i = 0; i < 70; i++)
		it_pump(e, 100);
	CU_ASSERT_EQUAL(count_rno(ca, "YQ", "HC2", 2), 0);
	CU_ASSERT_EQUAL(count_rno(ca, "YQ", "HC3", 2), 0);
	CU_ASSERT_EQUAL(count_sm(wa, "HC2", MSG_SM_HIT_SECOND), 0);
	CU_ASSERT_EQUAL(count_sm(wa, "HC3", MSG_SM_HIT_SECOND), 0);

	/* Not a YQ without its priority: ER .14. */
	i = (int)it_client_send(wa, it_msg("YQ", "WA0340000", "CAOLN0000",
	    "HC4", it_yq_body("", 1)));
	CU_ASSERT_EQUAL_FATAL(it_client_wait(wa, (uint64_t)i, WAIT), 2);
	CU_ASSERT(wa->reply[i] != NULL && it_er(wa->reply[i]) ==
	    MSG_ER_REQUIRED);
	CU_ASSERT_EQUAL(stored_records(e), 0);
	it_client_free(ca);
	it_client_free(wa);
	it_switch_stop(e, SIGTERM);
	it_env_free(e);
}

/*
 * A simulated state answers a YQ itself: nlstate sends the YR (from the
 * ORI the request went to, its number and identifiers echoed, confirmed),
 * the requester gets it, and the timer is cleared.
 */
static void
test_nlstate_confirms(void)
{
	struct it_env		*e;
	struct it_client	*wa;
	struct it_dlv		*d;
	char			*argv[] = { "bin/nlstate", "-s", "CA", "-k", NULL,
				    "-l", "cadmv", "-P", NULL, NULL };
	pid_t			 st;

	e = it_env_new_conf("hitconf-sim", "hit-urgent=\"60s\" "
	    "hit-routine=\"60s\"", "", "");
	CU_ASSERT_FATAL(e != NULL);
	CU_ASSERT_FATAL(it_switch_start(e) == 0);
	argv[4] = e->pki;
	argv[8] = e->portfile;
	st = it_spawn(e, "nlstate.log", argv);
	CU_ASSERT_FATAL(st > 0);
	CU_ASSERT_EQUAL_FATAL(it_log_wait(e, "nlstate.log", "connected",
	    WAIT), 0);
	wa = it_client_new(e, "waagy", WAIT);
	CU_ASSERT_FATAL(wa && wa->up);
	CU_ASSERT_EQUAL_FATAL(send_wait(wa, it_msg("YQ", "WA0340000",
	    "CAOLN0000", "HC9", it_yq_body("U", 1))), 1);
	d = it_find(wa, "YR", "HC9", LONG);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "OriginatingORIID"),
	    "CAOLN0000");
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "HitConfirmationStatusCode"),
	    "Y");
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "QueryRequestTypeCode"), "WP");
	CU_ASSERT_STRING_EQUAL(it_field(d->xml, "CaseNumberText"),
	    "2026-000123");
	CU_ASSERT_EQUAL(wait_records(e, 0, WAIT), 0);
	it_client_free(wa);
	it_kill(e, st, SIGTERM);
	it_switch_stop(e, SIGTERM);
	it_env_free(e);
}

int
main(void)
{
	CU_pSuite	s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_hitconf", NULL, NULL);
	CU_ADD_TEST(s, test_second_request_restart);
	CU_ADD_TEST(s, test_answered_in_time);
	CU_ADD_TEST(s, test_nlstate_confirms);
	return it_run_suites();
}
