/*
 * test_router - CUnit suite for switch/router.c, table-driven over the
 * example config (fixtures/config/example.xml) and hand-filled struct msg
 * values (no parsing): member, ORI and region destinations, NL fan-out,
 * duplicates, .01/.02/.04 statuses, and the ER refusals; Nlets' regions
 * built in (H1 holds CA and NV, A1 no state of the example) and a DQG,
 * routed as the DQ its states receive.
 *
 * The example has agencies WAAGY (WA0340000, WA0340100) and ORAGY
 * (OR0260000) accepting DR KR DNR AM; DMVs CADMV (member CA, CAOLN0000,
 * DQ KQ DNQ AM) and NVDMV (member NV, NVOLN0000, DQ DNQ AM, KQ removed);
 * region WR = CA NV.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "msg.h"
#include "router.h"
#include "util.h"

int	test_router_register(void);

static struct config	*test_router_cfg;

static int
test_router_init(void)
{
	const char	*root = getenv("NLSWITCH_ROOT");
	char		*path, *schemas, *cause = NULL;
	int		 rc;

	if (root == NULL || *root == '\0')
		root = ".";
	path = xasprintf("%s/fixtures/config/example.xml", root);
	schemas = xasprintf("%s/schemas", root);
	rc = config_load(path, schemas, &test_router_cfg, &cause);
	if (rc != 0) {
		fprintf(stderr, "test_router: %s\n", cause);
		free(cause);
	}
	free(schemas);
	free(path);
	return rc == 0 ? 0 : -1;
}

static int
test_router_cleanup(void)
{
	config_free(test_router_cfg);
	test_router_cfg = NULL;
	return 0;
}

/* Operator service state for one (line, key); the rest are in service. */
struct test_router_svc {
	const char	*line;
	int		 key;
	int		 state;
};

/* router_svc_cb over a {NULL}-terminated override list; counts calls. */
static int	test_router_svc_calls;

static int
test_router_svc_cb(const struct config_line *l, int key, void *arg)
{
	const struct test_router_svc	*s = arg;

	test_router_svc_calls++;
	for (; s != NULL && s->line != NULL; s++)
		if (strcmp(s->line, l->code) == 0 && s->key == key)
			return s->state;
	return CONFIG_SVC_IN;
}

/* Fill m: key, originating ORI, space-separated destinations. */
static void
test_router_msg(struct msg *m, int key, const char *ori, const char *dests)
{
	char	*dup = xstrdup(dests), *tok, *save = NULL;

	memset(m, 0, sizeof *m);
	m->key = (enum msg_key)key;
	util_strlcpy(m->ori, ori, sizeof m->ori);
	util_strlcpy(m->ctl, "T1", sizeof m->ctl);
	for (tok = strtok_r(dup, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		if (m->ndest < MSG_MAXDEST)
			util_strlcpy(m->dest[m->ndest], tok,
			    sizeof m->dest[m->ndest]);
		m->ndest++;		/* more than 5 on purpose, see table */
	}
	free(dup);
}

/* The copies as "LINE/dest/status ...", for one comparison per case. */
static void
test_router_render(const struct router_result *r, char *buf, size_t sz)
{
	size_t	 o = 0;
	int	 i, n;

	buf[0] = '\0';
	for (i = 0; i < r->ncopy && o < sz; i++) {
		n = snprintf(buf + o, sz - o, "%s%s/%s/%d", i ? " " : "",
		    r->copy[i].line->code, r->copy[i].dest, r->copy[i].status);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

#define S_IN	0
#define S_HELD	MSG_SM_HELD
#define S_REM	MSG_SM_REMOVED

static const struct test_router_svc test_router_ca_dq_held[] = {
	{ "CADMV", MSG_KEY_DQ, CONFIG_SVC_HELD }, { NULL, 0, 0 }
};
static const struct test_router_svc test_router_ca_dq_removed[] = {
	{ "CADMV", MSG_KEY_DQ, CONFIG_SVC_REMOVED }, { NULL, 0, 0 }
};
static const struct test_router_svc test_router_nv_held[] = {
	{ "NVDMV", MSG_KEY_DQ, CONFIG_SVC_HELD },
	{ "NVDMV", MSG_KEY_KQ, CONFIG_SVC_HELD },
	{ "CADMV", MSG_KEY_KQ, CONFIG_SVC_REMOVED },	/* other key */
	{ NULL, 0, 0 }
};
/* A service state for "DQG" is never asked: its states receive a DQ. */
static const struct test_router_svc test_router_ca_dqg_removed[] = {
	{ "CADMV", MSG_KEY_DQG, CONFIG_SVC_REMOVED }, { NULL, 0, 0 }
};
/* Not accepted wins over any service state. */
static const struct test_router_svc test_router_wa_removed[] = {
	{ "WAAGY", MSG_KEY_DQ, CONFIG_SVC_REMOVED }, { NULL, 0, 0 }
};

static const struct test_router_case {
	const char	*name;
	const char	*from;		/* line code; NULL: no line check */
	int		 key;
	const char	*ori;
	const char	*dests;
	const struct test_router_svc *svc;
	int		 nosvc;		/* 1: no callback at all */
	int		 rc;		/* 0 or enum msg_er */
	const char	*copies;	/* LINE/dest/status ..., or detail */
} test_router_cases[] = {
	/* Member codes and ORIs. */
	{ "member CA", "WAAGY", MSG_KEY_DQ, "WA0340000", "CA", NULL, 0,
	    0, "CADMV/CA/0" },
	{ "member NV", "ORAGY", MSG_KEY_DNQ, "OR0260000", "NV", NULL, 0,
	    0, "NVDMV/NV/0" },
	{ "no callback", "WAAGY", MSG_KEY_DQ, "WA0340100", "NV", NULL, 1,
	    0, "NVDMV/NV/0" },
	{ "ORI served exactly", "CADMV", MSG_KEY_DR, "CAOLN0000",
	    "WA0340100", NULL, 0, 0, "WAAGY/WA0340100/0" },
	{ "ORI of the other agency", "NVDMV", MSG_KEY_KR, "NVOLN0000",
	    "OR0260000", NULL, 0, 0, "ORAGY/OR0260000/0" },
	{ "state service ORI", "WAAGY", MSG_KEY_DQ, "WA0340000",
	    "NVOLN0000", NULL, 0, 0, "NVDMV/NVOLN0000/0" },
	{ "unlisted ORI of a member", "WAAGY", MSG_KEY_DQ, "WA0340000",
	    "CA1234567", NULL, 0, 0, "CADMV/CA1234567/0" },
	{ "unknown member", "WAAGY", MSG_KEY_DQ, "WA0340000", "TX", NULL, 0,
	    MSG_ER_DEST, "TX" },
	{ "unknown ORI", "WAAGY", MSG_KEY_DQ, "WA0340000", "TX1234567",
	    NULL, 0, MSG_ER_DEST, "TX1234567" },
	{ "unlisted ORI, state without a member line", "CADMV", MSG_KEY_DR,
	    "CAOLN0000", "WA9999999", NULL, 0, MSG_ER_DEST, "WA9999999" },
	{ "the switch ORI", "WAAGY", MSG_KEY_AM, "WA0340000",
	    MSG_SWITCH_ORI, NULL, 0, MSG_ER_DEST, MSG_SWITCH_ORI },
	{ "neither member nor ORI", "WAAGY", MSG_KEY_DQ, "WA0340000",
	    "CAOLN", NULL, 0, MSG_ER_DEST, "CAOLN" },
	{ "line code is no destination", "WAAGY", MSG_KEY_DQ, "WA0340000",
	    "CADMV", NULL, 0, MSG_ER_DEST, "CADMV" },
	{ "one bad destination refuses all", "WAAGY", MSG_KEY_DQ,
	    "WA0340000", "CA NV TX", NULL, 0, MSG_ER_DEST, "TX" },

	/* NL fan-out: every member line that accepts the key. */
	{ "NL DQ", "WAAGY", MSG_KEY_DQ, "WA0340000", "NL", NULL, 0,
	    0, "CADMV/CA/0 NVDMV/NV/0" },
	{ "NL KQ: NV does not accept KQ", "WAAGY", MSG_KEY_KQ, "WA0340000",
	    "NL", NULL, 0, 0, "CADMV/CA/0" },
	{ "NL AM", "ORAGY", MSG_KEY_AM, "OR0260000", "NL", NULL, 0,
	    0, "CADMV/CA/0 NVDMV/NV/0" },
	{ "NL DR: no member accepts", "CADMV", MSG_KEY_DR, "CAOLN0000",
	    "NL", NULL, 0, MSG_ER_NOT_ALLOWED, "DR" },
	{ "NL with NV held", "WAAGY", MSG_KEY_DQ, "WA0340000", "NL",
	    test_router_nv_held, 0, 0, "CADMV/CA/0 NVDMV/NV/2" },

	/* Regions. */
	{ "region WR DQ", "WAAGY", MSG_KEY_DQ, "WA0340000", "WR", NULL, 0,
	    0, "CADMV/CA/0 NVDMV/NV/0" },
	{ "region WR KQ: NV skipped", "WAAGY", MSG_KEY_KQ, "WA0340000", "WR",
	    NULL, 0, 0, "CADMV/CA/0" },

	/* Regions built in: members without a line are skipped, and so
	 * are lines that do not take the key (as for NL). */
	{ "built-in H1 DQ", "WAAGY", MSG_KEY_DQ, "WA0340000", "H1", NULL, 0,
	    0, "CADMV/CA/0 NVDMV/NV/0" },
	{ "built-in H1 KQ: NV skipped", "WAAGY", MSG_KEY_KQ, "WA0340000",
	    "H1", NULL, 0, 0, "CADMV/CA/0" },
	{ "built-in H1 with NV held", "WAAGY", MSG_KEY_DQ, "WA0340000", "H1",
	    test_router_nv_held, 0, 0, "CADMV/CA/0 NVDMV/NV/2" },
	{ "built-in A1: no line serves a member", "WAAGY", MSG_KEY_DQ,
	    "WA0340000", "A1", NULL, 0, MSG_ER_DEST,
	    "no line serves a member of region A1" },
	{ "a region that reaches nobody refuses all", "WAAGY", MSG_KEY_AM,
	    "WA0340000", "CA A1", NULL, 0, MSG_ER_DEST, "region A1" },
	{ "built-in H1: no member takes DR", "CADMV", MSG_KEY_DR,
	    "CAOLN0000", "H1", NULL, 0, MSG_ER_NOT_ALLOWED,
	    "no member of region H1 accepts DR" },
	{ "WR: no member takes KR", "NVDMV", MSG_KEY_KR, "NVOLN0000",
	    "OR0260000 WR", NULL, 0, MSG_ER_NOT_ALLOWED,
	    "no member of region WR accepts KR" },
	{ "H1 and WR: one copy per line", "ORAGY", MSG_KEY_AM, "OR0260000",
	    "WR H1 NV", NULL, 0, 0, "CADMV/CA/0 NVDMV/NV/0" },

	/* A DQG: routed as the DQ its states receive. */
	{ "DQG to H1", "WAAGY", MSG_KEY_DQG, "WA0340000", "H1", NULL, 0,
	    0, "CADMV/CA/0 NVDMV/NV/0" },
	{ "DQG to NL", "WAAGY", MSG_KEY_DQG, "WA0340000", "NL", NULL, 0,
	    0, "CADMV/CA/0 NVDMV/NV/0" },
	{ "DQG to a state", "ORAGY", MSG_KEY_DQG, "OR0260000", "NV", NULL, 0,
	    0, "NVDMV/NV/0" },
	{ "DQG: the DQ service state applies", "WAAGY", MSG_KEY_DQG,
	    "WA0340000", "WR", test_router_nv_held, 0,
	    0, "CADMV/CA/0 NVDMV/NV/2" },
	{ "DQG: DQ removed", "WAAGY", MSG_KEY_DQG, "WA0340000", "H1",
	    test_router_ca_dq_removed, 0, 0, "CADMV/CA/4 NVDMV/NV/0" },
	{ "DQG: no state for DQG itself", "WAAGY", MSG_KEY_DQG, "WA0340000",
	    "CA", test_router_ca_dqg_removed, 0, 0, "CADMV/CA/0" },
	{ "DQG to an agency: does not take DQ", "CADMV", MSG_KEY_DQG,
	    "CAOLN0000", "WA0340000", NULL, 0, 0, "WAAGY/WA0340000/1" },
	{ "DQG to A1", "WAAGY", MSG_KEY_DQG, "WA0340000", "A1", NULL, 0,
	    MSG_ER_DEST, "region A1" },

	/* Duplicates collapse to the first copy per line. */
	{ "duplicates", "WAAGY", MSG_KEY_DQ, "WA0340000",
	    "CA CAOLN0000 CA1234567 NL WR", NULL, 0,
	    0, "CADMV/CA/0 NVDMV/NV/0" },
	{ "same member twice", "ORAGY", MSG_KEY_DNQ, "OR0260000", "NV NV",
	    NULL, 0, 0, "NVDMV/NV/0" },
	{ "ORI first, then member", "WAAGY", MSG_KEY_DQ, "WA0340000",
	    "CA7654321 CA", NULL, 0, 0, "CADMV/CA7654321/0" },

	/* .01 not accepted, .02 held, .04 removed. */
	{ "DQ to an agency", "CADMV", MSG_KEY_DQ, "CAOLN0000", "WA0340000",
	    NULL, 0, 0, "WAAGY/WA0340000/1" },
	{ "KQ to NV: not accepted before removed", "WAAGY", MSG_KEY_KQ,
	    "WA0340000", "NV", NULL, 0, 0, "NVDMV/NV/1" },
	{ "not accepted beats the service state", "CADMV", MSG_KEY_DQ,
	    "CAOLN0000", "WA0340100", test_router_wa_removed, 0,
	    0, "WAAGY/WA0340100/1" },
	{ "held", "WAAGY", MSG_KEY_DQ, "WA0340000", "CA",
	    test_router_ca_dq_held, 0, 0, "CADMV/CA/2" },
	{ "removed", "WAAGY", MSG_KEY_DQ, "WA0340000", "CA",
	    test_router_ca_dq_removed, 0, 0, "CADMV/CA/4" },
	{ "state is per key", "WAAGY", MSG_KEY_DNQ, "WA0340000", "CA",
	    test_router_ca_dq_removed, 0, 0, "CADMV/CA/0" },

	/* Originating ORI and key. */
	{ "ORI of another line", "WAAGY", MSG_KEY_DQ, "OR0260000", "CA",
	    NULL, 0, MSG_ER_ORI, "OR0260000" },
	{ "ORI of the same state", "WAAGY", MSG_KEY_DQ, "WA0340200", "CA",
	    NULL, 0, MSG_ER_ORI, "WA0340200" },
	{ "the switch ORI from a line", "WAAGY", MSG_KEY_AM, MSG_SWITCH_ORI,
	    "CA", NULL, 0, MSG_ER_ORI, MSG_SWITCH_ORI },
	{ "no line: no ORI check", NULL, MSG_KEY_DQ, "OR0260000", "CA", NULL,
	    0, 0, "CADMV/CA/0" },
	/* A state's own SM (Nlets' example is one) goes like an AM. */
	{ "SM from an endpoint", "CADMV", MSG_KEY_SM, "CAOLN0000",
	    "WA0340000", NULL, 0, 0, "WAAGY/WA0340000/0" },
	{ "ER from an endpoint", "WAAGY", MSG_KEY_ER, "WA0340000", "CA",
	    NULL, 0, MSG_ER_NOT_ALLOWED, "ER" },
	{ "ER checked before the ORI", "WAAGY", MSG_KEY_ER, MSG_SWITCH_ORI,
	    "CA", NULL, 0, MSG_ER_NOT_ALLOWED, "ER" },
	{ "no key", "WAAGY", MSG_KEY_NONE, "WA0340000", "CA", NULL, 0,
	    MSG_ER_HEADER, "key" },
	{ "no destination", "WAAGY", MSG_KEY_DQ, "WA0340000", "", NULL, 0,
	    MSG_ER_DEST, "0 destinations" },
	{ "six destinations", "WAAGY", MSG_KEY_AM, "WA0340000",
	    "CA NV CA NV CA NV", NULL, 0, MSG_ER_DEST, "6 destinations" },

	/* Five destinations, every kind, mixed statuses. */
	{ "five mixed", "WAAGY", MSG_KEY_DQ, "WA0340100",
	    "CA NVOLN0000 WA0340000 OR0260000 WR", test_router_nv_held, 0,
	    0, "CADMV/CA/0 NVDMV/NVOLN0000/2 WAAGY/WA0340000/1 "
	    "ORAGY/OR0260000/1" },
	{ "five AM", "NVDMV", MSG_KEY_AM, "NVOLN0000",
	    "OR0260000 WR WA0340100 CA1111111 NL", NULL, 0,
	    0, "ORAGY/OR0260000/0 CADMV/CA/0 NVDMV/NV/0 WAAGY/WA0340100/0" },
};

static void
test_router_table(void)
{
	const struct config		*cfg = test_router_cfg;
	const struct config_line	*from;
	struct router_result		 r;
	struct msg			 m;
	char				 got[512];
	size_t				 i;
	int				 rc, j, bad;

	for (i = 0; i < sizeof test_router_cases / sizeof test_router_cases[0];
	    i++) {
		const struct test_router_case *t = &test_router_cases[i];

		from = NULL;
		if (t->from != NULL) {
			from = config_line_by_code(cfg, t->from);
			CU_ASSERT_PTR_NOT_NULL_FATAL(from);
		}
		test_router_msg(&m, t->key, t->ori, t->dests);
		memset(&r, 0xa5, sizeof r);	/* router_route must reset */
		rc = router_route(cfg, &m, from, t->nosvc ? NULL :
		    test_router_svc_cb, (void *)t->svc, &r);
		test_router_render(&r, got, sizeof got);

		bad = rc != t->rc || r.er != t->rc;
		if (t->rc == 0)
			bad |= strcmp(got, t->copies) != 0 ||
			    r.detail[0] != '\0';
		else
			bad |= r.ncopy != 0 ||
			    strstr(r.detail, t->copies) == NULL;
		for (j = 0; j < r.ncopy; j++)	/* copies point into cfg */
			bad |= r.copy[j].line !=
			    &cfg->lines[r.copy[j].line->index];
		if (bad) {
			fprintf(stderr, "\nrouter case \"%s\": want rc %d %s\n"
			    "  got rc %d er %d copies \"%s\" detail \"%s\"\n",
			    t->name, t->rc, t->copies, rc, r.er, got, r.detail);
			CU_FAIL("router_route");
		}
	}
}

/* The callback is asked only for lines that accept the key, once each. */
static void
test_router_svc_asked(void)
{
	struct router_result	r;
	struct msg		m;
	const struct config_line *wa;

	wa = config_line_by_code(test_router_cfg, "WAAGY");
	CU_ASSERT_PTR_NOT_NULL_FATAL(wa);

	test_router_msg(&m, MSG_KEY_DQ, "WA0340000", "CA CAOLN0000 NL WR NV");
	test_router_svc_calls = 0;
	CU_ASSERT_EQUAL(router_route(test_router_cfg, &m, wa,
	    test_router_svc_cb, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.ncopy, 2);
	CU_ASSERT_EQUAL(test_router_svc_calls, 2);

	test_router_msg(&m, MSG_KEY_KQ, "WA0340000", "NV");
	test_router_svc_calls = 0;
	CU_ASSERT_EQUAL(router_route(test_router_cfg, &m, wa,
	    test_router_svc_cb, NULL, &r), 0);
	CU_ASSERT_EQUAL(r.ncopy, 1);
	CU_ASSERT_EQUAL(r.copy[0].status, MSG_SM_NOT_ACCEPTED);
	CU_ASSERT_EQUAL(test_router_svc_calls, 0);

	/* Refused messages never reach the callback. */
	test_router_msg(&m, MSG_KEY_DQ, "OR0260000", "CA");
	test_router_svc_calls = 0;
	CU_ASSERT_EQUAL(router_route(test_router_cfg, &m, wa,
	    test_router_svc_cb, NULL, &r), MSG_ER_ORI);
	CU_ASSERT_EQUAL(test_router_svc_calls, 0);
}

/* The callback's arg is passed through untouched. */
static int
test_router_arg_cb(const struct config_line *l, int key, void *arg)
{
	(void)l;
	(void)key;
	(*(int *)arg)++;
	return CONFIG_SVC_HELD;
}

static void
test_router_svc_arg(void)
{
	struct router_result	r;
	struct msg		m;
	int			n = 0;

	test_router_msg(&m, MSG_KEY_AM, "CAOLN0000", "NL");
	CU_ASSERT_EQUAL(router_route(test_router_cfg, &m,
	    config_line_by_code(test_router_cfg, "CADMV"), test_router_arg_cb,
	    &n, &r), 0);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(r.ncopy, 2);
	CU_ASSERT_EQUAL(r.copy[0].status, MSG_SM_HELD);
	CU_ASSERT_EQUAL(r.copy[1].status, MSG_SM_HELD);
}

/*
 * Which destination is a region (a legacy DQ to one is handled as a
 * DQG), and how many region codes a route met.
 */
static void
test_router_region_of(void)
{
	static const struct {
		const char	*dests;
		const char	*region;	/* NULL: none */
		int		 nregion;	/* after router_route */
	} t[] = {
		{ "CA", NULL, 0 },
		{ "NL", NULL, 0 },
		{ "CAOLN0000", NULL, 0 },
		{ "H1", "H1", 1 },
		{ "CA WR", "WR", 1 },
		{ "NV E1", "E1", 0 },		/* E1 reaches no line: ER */
		{ "WR H1 CA", "WR", 2 },
		{ "TX", NULL, 0 },
	};
	const struct config_line	*wa;
	struct router_result		 r;
	struct msg			 m;
	const char			*got;
	size_t				 i;

	wa = config_line_by_code(test_router_cfg, "WAAGY");
	CU_ASSERT_PTR_NOT_NULL_FATAL(wa);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		test_router_msg(&m, MSG_KEY_DQ, "WA0340000", t[i].dests);
		got = router_region_of(test_router_cfg, &m);
		CU_ASSERT(t[i].region == NULL ? got == NULL :
		    got != NULL && strcmp(got, t[i].region) == 0);
		(void)router_route(test_router_cfg, &m, wa, NULL, NULL, &r);
		if (t[i].nregion > 0)
			CU_ASSERT_EQUAL(r.nregion, t[i].nregion);
	}
}

int
test_router_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("router", test_router_init,
	    test_router_cleanup)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_router_table) == NULL ||
	    CU_ADD_TEST(s, test_router_svc_asked) == NULL ||
	    CU_ADD_TEST(s, test_router_svc_arg) == NULL ||
	    CU_ADD_TEST(s, test_router_region_of) == NULL)
		return -1;
	return 0;
}
