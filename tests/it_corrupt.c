/*
 * it_corrupt - corruption of the store is never silent, through the real
 * switch. A line is down while messages for it are held; the switch is
 * stopped and bytes of data.mdb are flipped where records lie (found by
 * searching the file for their keys), then it starts again:
 *
 *   record damage  a copy record hit: rebuilt from its key and message,
 *                  delivered; a copy record and its message hit: a dead
 *                  letter and SM .09 to the sender; a message hit (its
 *                  copy intact): a dead letter and SM .09 when its line
 *                  comes up; a copy's key and value hit: gone, but its
 *                  message's count says so: SM .09. The rest is
 *                  delivered; the quarantine shows in nlctl quarantine,
 *                  the metrics and the audit trail.
 *   page damage    the copy db's page made the wrong type: the switch
 *                  runs but is not ready (/readyz 503 naming mdb_copy),
 *                  nlctl status says so, new messages get NAK ER .93.
 *                  naming the damage, and an error line is logged.
 *   leaf header    a copy leaf page's mp_lower/mp_upper scrambled (LMDB
 *                  would crash on it): the structure check at start-up
 *                  finds it before LMDB reads the page; the switch runs,
 *                  not ready, naming the page, and refuses new messages.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "client.h"
#include "it_util.h"
#include "util.h"

#define WAIT	10000
#define NMSG	20

/* The copy key the store uses: line[8] prio[1] msgid BE64 copy BE16. */
static void
copy_key(uint8_t *kb, const char *line, uint8_t prio, uint64_t msgid,
    uint16_t copy)
{
	memset(kb, 0, 8);
	memcpy(kb, line, strlen(line));
	kb[8] = prio;
	util_put_be64(kb + 9, msgid);
	util_put_be16(kb + 17, copy);
}

/*
 * Where in data.mdb the record of msgid starts its key: 8 bytes of
 * msgid, then the value's version (2) and at +12 the msgid again
 * (docs/durability.md, queue_lmdb.c). Old page versions count too.
 * match(off) decides; each hit at p gets x XORed at p + delta. Only
 * hits in leaf pages (flags 0x02 at offset 10) count: a copy key that
 * is also a branch page's separator (a copy db of more than one leaf,
 * when the .02 SMs were still held at the stop) is B-tree structure,
 * which the start-up check rightly reports as damage, not a record.
 */
static int
file_flip(const char *path, const void *needle, size_t n, long delta,
    uint8_t x, int msgrec)
{
	char	*data, *p;
	size_t	 len, pg, psize = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t	 byte;
	int	 fd, hits = 0;

	if ((data = util_read_file(path, &len)) == NULL)
		return -1;
	if ((fd = open(path, O_WRONLY)) == -1) {
		free(data);
		return -1;
	}
	for (p = data; (p = memmem(p, len - (size_t)(p - data), needle, n)) !=
	    NULL; p += n) {
		pg = (size_t)(p - data) / psize * psize;
		if (data[pg + 10] != 0x02 || data[pg + 11] != 0)
			continue;
		if (msgrec && (p + 20 > data + len || p[8] != 2 ||
		    memcmp(p + 12, needle, 8) != 0))
			continue;
		byte = (uint8_t)p[delta] ^ x;
		if (pwrite(fd, &byte, 1, (off_t)(p - data) + delta) == 1)
			hits++;
	}
	close(fd);
	free(data);
	return hits;
}

static int
count(const char *s, const char *what)
{
	int n = 0;

	for (; s != NULL && (s = strstr(s, what)) != NULL; s += strlen(what))
		n++;
	return n;
}

/* Wait for an SM with this control field and status. */
static int
sm_seen(struct it_env *env, struct it_client *a, const char *ctl, int status)
{
	uint64_t	end = util_mono_us() + (uint64_t)WAIT * 1000;
	size_t		i;

	for (;;) {
		for (i = 0; i < a->ndlv; i++)
			if (it_sm(a->dlv[i].xml) == status &&
			    strcmp(it_field(a->dlv[i].xml,
			    "DocumentControlFieldText"), ctl) == 0)
				return 1;
		if (util_mono_us() >= end)
			return 0;
		it_pump(env, 20);
	}
}

/* Hold NMSG AMs for CA (down) from the WA agency; their msgids. */
static void
hold_messages(struct it_env *env, uint64_t *ids)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	char			 ctl[16], text[96];
	uint64_t		 tag;
	int			 i;

	CU_ASSERT_FATAL(a != NULL && a->up);
	for (i = 0; i < NMSG; i++) {
		snprintf(ctl, sizeof ctl, "R%d", i);
		snprintf(text, sizeof text, "<n2:MailMessageText>held message "
		    "%d</n2:MailMessageText>", i);
		tag = it_client_send(a, it_msg("AM", "WA0340000", "CA", ctl,
		    text));
		CU_ASSERT_EQUAL_FATAL(it_client_wait(a, tag, WAIT), 1);
		ids[i] = strtoull(a->reply[tag], NULL, 16);
	}
	/* The .02 SMs reach the agency before it goes. */
	CU_ASSERT(sm_seen(env, a, "R19", 2));
	it_client_free(a);
}

/* Leaf to overflow page (flags 0x04): B-tree damage. */
static int
damage_type(int fd, const char *data, size_t pg)
{
	static const uint8_t	 flags[2] = { 0x04, 0 };

	(void)data;
	return pwrite(fd, flags, 2, (off_t)pg + 10) == 2;
}

/* mp_lower and mp_upper (offsets 12 and 14) ^ 0x0f00, as nltorture's
 * corrupt cycle does; LMDB itself crashed on this at start-up. */
static int
damage_bounds(int fd, const char *data, size_t pg)
{
	uint8_t	 hdr[4];

	memcpy(hdr, data + pg + 12, 4);
	hdr[1] ^= 0x0f;
	hdr[3] ^= 0x0f;
	return pwrite(fd, hdr, 4, (off_t)pg + 12) == 4;
}

/*
 * In the stopped switch's data.mdb, damage(fd, file, page offset) each
 * leaf page (flags 0x02 at offset 10 of its header) holding the copy key
 * of msgid for CADMV; at least one must be hit.
 */
static void
damage_copy_leaves(struct it_env *env, uint64_t msgid,
    int (*damage)(int, const char *, size_t))
{
	uint8_t		 kb[19];
	char		 path[400], *data, *p;
	long		 psize = sysconf(_SC_PAGESIZE);
	size_t		 len, pg;
	int		 fd, hits = 0;

	snprintf(path, sizeof path, "%s/data/data.mdb", env->dir);
	CU_ASSERT_FATAL((data = util_read_file(path, &len)) != NULL);
	CU_ASSERT_FATAL((fd = open(path, O_WRONLY)) != -1);
	copy_key(kb, "CADMV", 1, msgid, 0);
	for (p = data; (p = memmem(p, len - (size_t)(p - data), kb,
	    sizeof kb)) != NULL; p += sizeof kb) {
		pg = (size_t)(p - data) / (size_t)psize * (size_t)psize;
		if (data[pg + 10] == 0x02 && data[pg + 11] == 0 &&
		    damage(fd, data, pg))
			hits++;
	}
	close(fd);
	free(data);
	CU_ASSERT_FATAL(hits >= 1);
}

/*
 * A new message to a damaged store: NAK ER .93., the switch running on.
 * @return the ER's text (caller frees).
 */
static char *
refused_after_damage(struct it_env *env)
{
	struct it_client	*a = it_client_new(env, "waagy", WAIT);
	uint64_t		 tag;
	char			*text;

	CU_ASSERT_FATAL(a != NULL && a->up);
	tag = it_client_send(a, it_msg("AM", "WA0340000", "CA", "AFTER",
	    "<n2:MailMessageText>after the damage</n2:MailMessageText>"));
	CU_ASSERT_EQUAL(it_client_wait(a, tag, WAIT), 2);
	CU_ASSERT_EQUAL(it_er(a->reply[tag]), 93);
	text = xstrdup(it_er_text(a->reply[tag]));
	it_client_free(a);
	CU_ASSERT_EQUAL(kill(env->switch_pid, 0), 0);
	return text;
}

static void
test_record_damage(void)
{
	struct it_env		*env = it_env_new("corrupt", "heartbeat=\"2\"");
	struct it_client	*a, *ca;
	uint64_t		 ids[NMSG], end;
	uint8_t			 kb[19], mk[8];
	char			 path[400], *out = NULL, want[64], cmd[500];
	size_t			 i, j, got;
	int			 seen[NMSG];

	CU_ASSERT_FATAL(env != NULL);
	CU_ASSERT_FATAL(it_switch_start(env) == 0);
	hold_messages(env, ids);
	it_switch_stop(env, SIGTERM);

	snprintf(path, sizeof path, "%s/data/data.mdb", env->dir);
	/* R3: a byte of its copy record (enq_us): rebuilt. */
	copy_key(kb, "CADMV", 1, ids[3], 0);
	CU_ASSERT(file_flip(path, kb, sizeof kb, 19 + 35, 0x10, 0) >= 1);
	/* R7: its copy record and its message: a dead letter at start. */
	copy_key(kb, "CADMV", 1, ids[7], 0);
	CU_ASSERT(file_flip(path, kb, sizeof kb, 19 + 35, 0x10, 0) >= 1);
	util_put_be64(mk, ids[7]);
	CU_ASSERT(file_flip(path, mk, sizeof mk, 8 + 64 + 10, 0x01, 1) >= 1);
	/* R5: its message only: a dead letter when CA comes up. */
	util_put_be64(mk, ids[5]);
	CU_ASSERT(file_flip(path, mk, sizeof mk, 8 + 64 + 10, 0x01, 1) >= 1);
	/* R11: its copy's key (the line code) and value: nothing names it
	 * any more but its message's count. */
	copy_key(kb, "CADMV", 1, ids[11], 0);
	CU_ASSERT(file_flip(path, kb, sizeof kb, 19 + 35, 0x10, 0) >= 1);
	CU_ASSERT(file_flip(path, kb, sizeof kb, 0, 0x80, 0) >= 1);

	CU_ASSERT_FATAL(it_switch_start(env) == 0);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/readyz", NULL, &out), 200);
	free(out);
	a = it_client_new(env, "waagy", WAIT);
	CU_ASSERT_FATAL(a != NULL && a->up);
	/* R7's and R11's sender hears at once; R5's when delivery finds
	 * it. */
	CU_ASSERT(sm_seen(env, a, "R7", 9));
	CU_ASSERT(sm_seen(env, a, "R11", 9));

	ca = it_client_new(env, "cadmv", WAIT);
	CU_ASSERT_FATAL(ca != NULL && ca->up);
	end = util_mono_us() + (uint64_t)WAIT * 1000;
	while (ca->ndlv < NMSG - 3 && util_mono_us() < end)
		it_pump(env, 20);
	CU_ASSERT(sm_seen(env, a, "R5", 9));
	memset(seen, 0, sizeof seen);
	for (i = 0; i < ca->ndlv; i++)
		for (j = 0; j < NMSG; j++)
			if (ca->dlv[i].msgid == ids[j])
				seen[j]++;
	for (j = 0, got = 0; j < NMSG; j++) {
		if (j == 5 || j == 7 || j == 11) {
			CU_ASSERT_EQUAL(seen[j], 0);
		} else {
			CU_ASSERT_EQUAL(seen[j], 1);
			got += seen[j] == 1;
		}
	}
	CU_ASSERT_EQUAL(got, NMSG - 3);
	CU_ASSERT_PTR_NOT_NULL(it_find(ca, "AM", "R3", 0));

	/* The two lost ones are dead letters an operator can see. */
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl --json deadletters", NULL,
	    &out), 0);
	snprintf(want, sizeof want, "\"id\":\"%016llx.0\"",
	    (unsigned long long)ids[5]);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	snprintf(want, sizeof want, "\"id\":\"%016llx.0\"",
	    (unsigned long long)ids[7]);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	free(out);
	/* Their messages are gone: requeueing them would only bring them
	 * back to the dead letters. */
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl deadletters requeue ALL", NULL,
	    &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "requeued: 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "unreadable_not_requeued: 2"));
	free(out);

	/* nlctl quarantine: three copy records, two messages, a count. */
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl quarantine", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "db=copy"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "action=rebuilt"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "action=dead-lettered"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "reason=copies-lost"));
	free(out);
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl --json quarantine", NULL, &out),
	    0);
	CU_ASSERT_EQUAL(count(out, "\"db\":\"copy\""), 3);
	CU_ASSERT_EQUAL(count(out, "\"db\":\"msg\""), 2);
	CU_ASSERT_EQUAL(count(out, "\"db\":\"ref\""), 1);
	snprintf(want, sizeof want, "\"msgid\":\"%016llx.0\"",
	    (unsigned long long)ids[3]);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	free(out);

	/* The metric, promtool-clean. */
	CU_ASSERT_EQUAL(it_http(env, "GET", "/metrics", NULL, &out), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
	    "nlswitch_store_quarantined_total{db=\"copy\"} 3\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
	    "nlswitch_store_quarantined_total{db=\"ref\"} 1\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out,
	    "nlswitch_store_quarantined_total{db=\"msg\"} 2\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "nlswitch_store_damaged 0\n"));
	snprintf(path, sizeof path, "%s/metrics.txt", env->dir);
	CU_ASSERT_EQUAL(util_write_file(path, out, strlen(out)), 0);
	free(out);
	snprintf(cmd, sizeof cmd, "if command -v promtool >/dev/null; then "
	    "promtool check metrics < '%s'; fi", path);
	CU_ASSERT_EQUAL(it_sh(env, cmd, NULL, NULL), 0);

	/* And the audit trail: one record per quarantined entry. */
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl --json audit --limit 100000",
	    NULL, &out), 0);
	CU_ASSERT_EQUAL(count(out, "\"event\":\"quarantined\""), 6);
	CU_ASSERT(count(out, "\"event\":\"dead-lettered\"") >= 1);
	free(out);

	it_client_free(ca);
	it_client_free(a);
	it_env_free(env);
}

static void
test_page_damage(void)
{
	struct it_env		*env = it_env_new("damage", "heartbeat=\"2\"");
	uint64_t		 ids[NMSG];
	char			 path[400], *out = NULL;

	CU_ASSERT_FATAL(env != NULL);
	CU_ASSERT_FATAL(it_switch_start(env) == 0);
	hold_messages(env, ids);
	it_switch_stop(env, SIGTERM);
	/* R0's copy leaves become overflow pages: B-tree damage. */
	damage_copy_leaves(env, ids[0], damage_type);

	/* It starts, and says it is not ready, and why, and what to do. */
	CU_ASSERT_FATAL(it_switch_start(env) == 0);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/healthz", NULL, &out), 200);
	free(out);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/readyz", NULL, &out), 503);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "store damaged"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "MDB_CORRUPTED"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mdb_copy -c"));
	free(out);
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl --json status", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"state\":\"store-damaged\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"store_recovery\":"));
	free(out);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/metrics", NULL, &out), 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "nlswitch_store_damaged 1\n"));
	free(out);

	/* New messages are refused, naming it; the switch keeps running. */
	out = refused_after_damage(env);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "store damaged"));
	free(out);
	snprintf(path, sizeof path, "grep -q 'not ready, new messages refused' "
	    "'%s/nlswitchd.log'", env->dir);
	CU_ASSERT_EQUAL(it_sh(env, path, NULL, NULL), 0);
	it_env_free(env);
}

static void
test_leaf_header(void)
{
	struct it_env		*env = it_env_new("leafhdr", "heartbeat=\"2\"");
	uint64_t		 ids[NMSG];
	char			*out = NULL;

	CU_ASSERT_FATAL(env != NULL);
	CU_ASSERT_FATAL(it_switch_start(env) == 0);
	hold_messages(env, ids);
	it_switch_stop(env, SIGTERM);
	/* R0's copy leaves get their mp_lower and mp_upper scrambled. */
	damage_copy_leaves(env, ids[0], damage_bounds);

	CU_ASSERT_FATAL(it_switch_start(env) == 0);
	CU_ASSERT_EQUAL(it_http(env, "GET", "/readyz", NULL, &out), 503);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "store damaged"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "structure check"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mp_lower"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "copy db"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "mdb_copy -c"));
	free(out);
	CU_ASSERT_EQUAL(it_sh(env, "bin/nlctl --json status", NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"state\":\"store-damaged\""));
	free(out);

	free(refused_after_damage(env));
	it_env_free(env);
}

int
main(void)
{
	CU_pSuite	s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	s = CU_add_suite("it_corrupt", NULL, NULL);
	CU_ADD_TEST(s, test_record_damage);
	CU_ADD_TEST(s, test_page_damage);
	CU_ADD_TEST(s, test_leaf_header);
	return it_run_suites();
}
