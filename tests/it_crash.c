/*
 * it_crash - "acked means durable", proven with kill -9: an agency streams
 * messages at the switch; the switch is killed with SIGKILL mid-stream and
 * restarted; every message the agency got an ACK for must then be
 * delivered (duplicates allowed, identified by message ID).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "client.h"
#include "it_util.h"
#include "util.h"

#define STREAM_MAX	200000	/* messages at most */
#define STREAM_MS	1500	/* stream this long before the kill */
#define INFLIGHT	256	/* unacked messages the agency keeps going */

static void
test_kill9(void)
{
	struct it_env		*env;
	struct it_client	*a, *ca;
	uint64_t		*acked, *got, end;
	size_t			 nacked = 0, ngot = 0, i, missing = 0, dups = 0;
	unsigned		 sent = 0;
	uint64_t		 tag, next_check = 1;
	char			 buf[1024];

	env = it_env_new("crash", "heartbeat=\"2\"");
	CU_ASSERT_FATAL(env != NULL);
	CU_ASSERT_FATAL(it_switch_start(env) == 0);
	a = it_client_new(env, "waagy", 10000);
	CU_ASSERT_FATAL(a != NULL && a->up);

	/* Stream with a bounded number of unacked messages, then kill -9
	 * while messages are still in flight. */
	end = util_mono_us() + STREAM_MS * 1000ULL;
	while (util_mono_us() < end && sent < STREAM_MAX && !a->closed) {
		while (sent - (next_check - 1) < INFLIGHT && sent < STREAM_MAX) {
			it_client_send(a, it_am_numbered(buf, sizeof buf, "crash test",
			    sent + 1));
			sent++;
		}
		it_pump(env, 2);
		while (next_check <= sent && next_check < a->ntags &&
		    a->state[next_check] != 0)
			next_check++;
	}
	it_switch_stop(env, SIGKILL);
	it_pump(env, 50);

	acked = xcalloc(a->ntags + 1, sizeof *acked);
	for (tag = 1; tag < a->ntags; tag++)
		if (a->state[tag] == 1)
			acked[nacked++] = strtoull(a->reply[tag], NULL, 16);
	CU_ASSERT(a->ntags > 0);
	fprintf(stderr, "\n  it_crash: sent=%u acked=%zu before kill -9\n",
	    sent, nacked);
	CU_ASSERT_FATAL(nacked > 100);	/* the stream really ran */
	it_client_free(a);

	/* Restart: every acked message must reach the CA line. */
	CU_ASSERT_FATAL(it_switch_start(env) == 0);
	ca = it_client_new(env, "cadmv", 10000);
	CU_ASSERT_FATAL(ca != NULL && ca->up);
	end = util_mono_us() + 60 * 1000000ULL;
	while (ca->ndlv < nacked && util_mono_us() < end)
		it_pump(env, 20);
	it_pump(env, 300);	/* a few more, if unacked ones were stored */

	got = xcalloc(ca->ndlv + 1, sizeof *got);
	for (i = 0; i < ca->ndlv; i++)
		got[ngot++] = ca->dlv[i].msgid;
	it_count_lost(acked, nacked, got, ngot, &missing, &dups);
	fprintf(stderr, "  it_crash: delivered=%zu (duplicates %zu) "
	    "acked-but-missing=%zu\n", ngot, dups, missing);
	CU_ASSERT_EQUAL(missing, 0);
	free(acked);
	free(got);
	it_client_free(ca);
	it_env_free(env);
}

int
main(void)
{
	CU_pSuite	s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_crash", NULL, NULL);
	CU_ADD_TEST(s, test_kill9);
	return it_run_suites();
}
