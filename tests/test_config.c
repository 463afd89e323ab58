/*
 * test_config - CUnit suite for switch/config.c: the example config loads
 * into the expected struct (defaults, resolved paths, lines, masks,
 * service states, regions), the lookups, and every invalid fixture fails
 * with "FILE:LINE: reason" at the line that is wrong.
 *
 * Files are found under $NLSWITCH_ROOT (default "."): the fixtures in
 * ROOT/fixtures/config, the schema in ROOT/schemas.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "msg.h"
#include "region.h"
#include "util.h"

int	test_config_register(void);

/* Defaults documented in docs/configuration.md (config.c). */
#define TEST_DEF_MAX_FRAME	(1024 * 1024)
#define TEST_DEF_WINDOW		64
#define TEST_DEF_HEARTBEAT	10
#define TEST_DEF_ACK_TIMEOUT	30
#define TEST_DEF_HELD_TTL	(24 * 3600)
#define TEST_DEF_RETRY_MIN	1
#define TEST_DEF_RETRY_MAX	60
#define TEST_DEF_MAP_SIZE	((size_t)1 << 30)

#define K(k)	(1u << (k))

static char	*test_config_root;
static char	*test_config_schemas;
static char	*test_config_tmp;	/* private scratch directory */

static int
test_config_init(void)
{
	const char	*root = getenv("NLSWITCH_ROOT");
	const char	*tmp = getenv("TMPDIR");

	if (root == NULL || *root == '\0')
		root = ".";
	test_config_root = xstrdup(root);
	test_config_schemas = xasprintf("%s/schemas", root);
	test_config_tmp = xasprintf("%s/nlswitch-test-config.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(test_config_tmp) == NULL) {
		free(test_config_tmp);
		test_config_tmp = NULL;
		return -1;
	}
	return 0;
}

static int
test_config_cleanup(void)
{
	if (test_config_tmp != NULL)
		rmdir(test_config_tmp);
	free(test_config_tmp);
	free(test_config_schemas);
	free(test_config_root);
	test_config_tmp = test_config_schemas = test_config_root = NULL;
	return 0;
}

/* ROOT/fixtures/config/<rel>; caller frees. */
static char *
test_config_fixture(const char *rel)
{
	return xasprintf("%s/fixtures/config/%s", test_config_root, rel);
}

/*
 * Write text to a file in the scratch directory and load it.
 * @return config_load's result; the file is removed again.
 */
static int
test_config_load_text(const char *text, struct config **cfgp, char **cause,
    char **pathp)
{
	char	*path = xasprintf("%s/nlswitch.xml", test_config_tmp);
	FILE	*fp;
	int	 rc;

	*cfgp = NULL;
	*cause = NULL;
	if (pathp != NULL)
		*pathp = NULL;
	if ((fp = fopen(path, "w")) == NULL) {
		CU_FAIL("cannot write the scratch config");
		free(path);
		return -2;
	}
	fputs(text, fp);
	fclose(fp);
	rc = config_load(path, test_config_schemas, cfgp, cause);
	unlink(path);
	if (pathp != NULL)
		*pathp = path;
	else
		free(path);
	return rc;
}

/* s equals dir + "/" + rel. */
static int
test_config_is_path(const char *s, const char *dir, const char *rel)
{
	char	*want = xasprintf("%s/%s", dir, rel);
	int	 ok = s != NULL && strcmp(s, want) == 0;

	free(want);
	return ok;
}

/* A ubuf's text ("" when empty). */
static const char *
test_config_str(const struct ubuf *b)
{
	return b->len > 0 ? b->data : "";
}

/* The example config, field by field. */
static void
test_config_example(void)
{
	static const struct {
		const char	*code, *cn, *member;
		int		 lineno, nori;
		const char	*ori[2];
		uint32_t	 accept;
	} lines[] = {
		{ "WAAGY", "waagy", "", 20, 2, { "WA0340000", "WA0340100" },
		    K(MSG_KEY_DR) | K(MSG_KEY_KR) | K(MSG_KEY_DNR) |
		    K(MSG_KEY_AM) | K(MSG_KEY_AML) | K(MSG_KEY_AA) |
		    K(MSG_KEY_YR) },
		{ "ORAGY", "oragy", "", 25, 1, { "OR0260000", NULL },
		    K(MSG_KEY_DR) | K(MSG_KEY_KR) | K(MSG_KEY_DNR) |
		    K(MSG_KEY_AM) | K(MSG_KEY_AML) | K(MSG_KEY_AA) |
		    K(MSG_KEY_YR) },
		{ "CADMV", "cadmv", "CA", 31, 1, { "CAOLN0000", NULL },
		    K(MSG_KEY_DQ) | K(MSG_KEY_KQ) | K(MSG_KEY_DNQ) |
		    K(MSG_KEY_AM) | K(MSG_KEY_AML) | K(MSG_KEY_AA) |
		    K(MSG_KEY_YQ) },
		{ "NVDMV", "nvdmv", "NV", 35, 1, { "NVOLN0000", NULL },
		    K(MSG_KEY_DQ) | K(MSG_KEY_DNQ) | K(MSG_KEY_AM) },
	};
	struct config		*cfg;
	const struct config_line *l;
	char			*path = test_config_fixture("example.xml");
	char			*dir = test_config_fixture("");
	char			*cause = NULL;
	size_t			 i;
	int			 k, j;

	dir[strlen(dir) - 1] = '\0';	/* no trailing slash */
	if (config_load(path, test_config_schemas, &cfg, &cause) != 0) {
		fprintf(stderr, "\n%s\n", cause);
		free(cause);
		free(dir);
		free(path);
		CU_FAIL_FATAL("example.xml does not load");
	}
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_STRING_EQUAL(cfg->path, path);

	CU_ASSERT_EQUAL(cfg->nlisten, 1);
	CU_ASSERT_STRING_EQUAL(cfg->listen[0].address, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(cfg->listen[0].port, "0");

	/* Relative paths resolve against the file's directory. */
	CU_ASSERT(test_config_is_path(cfg->portfile, dir,
	    "run/nlswitchd.port"));
	CU_ASSERT(test_config_is_path(cfg->datadir, dir, "data"));
	CU_ASSERT(test_config_is_path(cfg->ca, dir, "pki/ca.pem"));
	CU_ASSERT(test_config_is_path(cfg->cert, dir, "pki/switch.pem"));
	CU_ASSERT(test_config_is_path(cfg->key, dir, "pki/switch.key"));
	/* No <schemas>: the directory the caller gave. */
	CU_ASSERT_STRING_EQUAL(cfg->schemadir, test_config_schemas);

	/* Given limits, and defaults for the rest. */
	CU_ASSERT_EQUAL(cfg->max_frame, 2097152);
	CU_ASSERT_EQUAL(cfg->window, 32);
	CU_ASSERT_EQUAL(cfg->heartbeat, 5);
	CU_ASSERT_EQUAL(cfg->ack_timeout, 15);
	CU_ASSERT_EQUAL(cfg->held_ttl, 3600);
	CU_ASSERT_EQUAL(cfg->retry_min, TEST_DEF_RETRY_MIN);
	CU_ASSERT_EQUAL(cfg->retry_max, TEST_DEF_RETRY_MAX);
	CU_ASSERT_EQUAL(cfg->map_size, TEST_DEF_MAP_SIZE);

	CU_ASSERT_EQUAL_FATAL(cfg->nline,
	    (int)(sizeof lines / sizeof lines[0]));
	for (i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		l = &cfg->lines[i];
		CU_ASSERT_STRING_EQUAL(l->code, lines[i].code);
		CU_ASSERT_STRING_EQUAL(l->cn, lines[i].cn);
		CU_ASSERT_STRING_EQUAL(l->member, lines[i].member);
		CU_ASSERT_EQUAL(l->index, (int)i);
		CU_ASSERT_EQUAL(l->lineno, lines[i].lineno);
		CU_ASSERT_EQUAL(l->format, CONFIG_FMT_XML);
		CU_ASSERT_EQUAL(l->accept, lines[i].accept);
		CU_ASSERT_EQUAL_FATAL(l->nori, lines[i].nori);
		for (j = 0; j < l->nori; j++)
			CU_ASSERT_STRING_EQUAL(l->ori[j], lines[i].ori[j]);
		/* Every key in service, except KQ on NVDMV. */
		for (k = MSG_KEY_NONE + 1; k < MSG_KEY_MAX; k++)
			CU_ASSERT_EQUAL(l->service[k],
			    strcmp(l->code, "NVDMV") == 0 && k == MSG_KEY_KQ ?
			    CONFIG_SVC_REMOVED : CONFIG_SVC_IN);
	}

	CU_ASSERT_EQUAL_FATAL(cfg->nregion, 1);
	CU_ASSERT_STRING_EQUAL(cfg->regions[0].code, "WR");
	CU_ASSERT_EQUAL_FATAL(cfg->regions[0].nmember, 2);
	CU_ASSERT_STRING_EQUAL(cfg->regions[0].member[0], "CA");
	CU_ASSERT_STRING_EQUAL(cfg->regions[0].member[1], "NV");

	config_free(cfg);
	free(dir);
	free(path);
}

/* A minimal config: all defaults, absolute paths kept, <schemas> resolved,
 * format, service without mke (every key), later service wins. */
static void
test_config_defaults(void)
{
	static const char text[] =
	    "<?xml version=\"1.0\"?>\n"
	    "<nlswitch>\n"
	    "  <listen address=\"127.0.0.1\" port=\"7000\"/>\n"
	    "  <listen address=\"::1\" port=\"65535\"/>\n"
	    "  <datadir>/var/lib/nlswitch</datadir>\n"
	    "  <schemas>xsd</schemas>\n"
	    "  <pki ca=\"/etc/pki/ca.pem\" cert=\"c.pem\" key=\"/k.key\"/>\n"
	    "  <line code=\"TX01\" cn=\"tx line\" member=\"TX\"\n"
	    "        format=\"legacy\">\n"
	    "    <ori>TXOLN0000</ori>\n"
	    "    <accept>DQ KQ</accept>\n"
	    "    <service state=\"held\"/>\n"
	    "    <service mke=\"KQ DQ\" state=\"removed\"/>\n"
	    "    <service mke=\"DQ\" state=\"in\"/>\n"
	    "  </line>\n"
	    "</nlswitch>\n";
	struct config		*cfg;
	const struct config_line *l;
	char			*cause, *path;
	int			 k;

	if (test_config_load_text(text, &cfg, &cause, &path) != 0) {
		fprintf(stderr, "\n%s\n", cause ? cause : "?");
		free(cause);
		free(path);
		CU_FAIL_FATAL("minimal config does not load");
	}
	CU_ASSERT_EQUAL(cfg->nlisten, 2);
	CU_ASSERT_STRING_EQUAL(cfg->listen[0].port, "7000");
	CU_ASSERT_STRING_EQUAL(cfg->listen[1].address, "::1");
	CU_ASSERT_STRING_EQUAL(cfg->listen[1].port, "65535");
	CU_ASSERT_PTR_NULL(cfg->portfile);
	CU_ASSERT_STRING_EQUAL(cfg->datadir, "/var/lib/nlswitch");
	CU_ASSERT_STRING_EQUAL(cfg->ca, "/etc/pki/ca.pem");
	CU_ASSERT(test_config_is_path(cfg->cert, test_config_tmp, "c.pem"));
	CU_ASSERT_STRING_EQUAL(cfg->key, "/k.key");
	CU_ASSERT(test_config_is_path(cfg->schemadir, test_config_tmp, "xsd"));

	CU_ASSERT_EQUAL(cfg->max_frame, TEST_DEF_MAX_FRAME);
	CU_ASSERT_EQUAL(cfg->window, TEST_DEF_WINDOW);
	CU_ASSERT_EQUAL(cfg->heartbeat, TEST_DEF_HEARTBEAT);
	CU_ASSERT_EQUAL(cfg->ack_timeout, TEST_DEF_ACK_TIMEOUT);
	CU_ASSERT_EQUAL(cfg->held_ttl, TEST_DEF_HELD_TTL);
	CU_ASSERT_EQUAL(cfg->retry_min, TEST_DEF_RETRY_MIN);
	CU_ASSERT_EQUAL(cfg->retry_max, TEST_DEF_RETRY_MAX);
	CU_ASSERT_EQUAL(cfg->map_size, TEST_DEF_MAP_SIZE);
	/* Nlets' hit confirmation times: 10 minutes, 1 hour. */
	CU_ASSERT_EQUAL(cfg->hit_urgent, 600);
	CU_ASSERT_EQUAL(cfg->hit_routine, 3600);
	CU_ASSERT_EQUAL(cfg->nregion, 0);

	CU_ASSERT_EQUAL_FATAL(cfg->nline, 1);
	l = &cfg->lines[0];
	CU_ASSERT_STRING_EQUAL(l->cn, "tx line");
	CU_ASSERT_EQUAL(l->format, CONFIG_FMT_LEGACY);
	CU_ASSERT_EQUAL(l->accept, K(MSG_KEY_DQ) | K(MSG_KEY_KQ));
	for (k = MSG_KEY_NONE + 1; k < MSG_KEY_MAX; k++) {
		int want = CONFIG_SVC_HELD;

		if (k == MSG_KEY_DQ)
			want = CONFIG_SVC_IN;
		else if (k == MSG_KEY_KQ)
			want = CONFIG_SVC_REMOVED;
		CU_ASSERT_EQUAL(l->service[k], want);
	}
	config_free(cfg);
	free(path);
}

/* Limits at the edges of their ranges load. */
static void
test_config_limit_bounds(void)
{
	static const struct {
		const char	*limits;
		size_t		 max_frame;
		int		 window, retry_min, retry_max;
	} t[] = {
		{ "max-frame=\"1024\" window=\"1\"", 1024, 1, 1, 60 },
		{ "max-frame=\"67108864\" window=\"65536\"", 67108864, 65536,
		    1, 60 },
		{ "retry-min=\"60\"", TEST_DEF_MAX_FRAME, TEST_DEF_WINDOW,
		    60, 60 },
		{ "window=\" 7 \"", TEST_DEF_MAX_FRAME, 7, 1, 60 },
		{ "retry-min=\"5\" retry-max=\"5\"", TEST_DEF_MAX_FRAME,
		    TEST_DEF_WINDOW, 5, 5 },
		{ "retry-max=\"2147483647\" held-ttl=\"2147483647\"",
		    TEST_DEF_MAX_FRAME, TEST_DEF_WINDOW, 1, 2147483647 },
	};
	struct config	*cfg;
	char		*text, *cause;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		text = xasprintf("<nlswitch>\n"
		    "<listen address=\"127.0.0.1\" port=\"0\"/>\n"
		    "<datadir>d</datadir>\n"
		    "<pki ca=\"a\" cert=\"b\" key=\"c\"/>\n"
		    "<limits %s/>\n"
		    "<line code=\"AA\" cn=\"a\"><ori>WA0340000</ori>"
		    "<accept>DR</accept></line>\n"
		    "</nlswitch>\n", t[i].limits);
		if (test_config_load_text(text, &cfg, &cause, NULL) != 0) {
			fprintf(stderr, "\n%s: %s\n", t[i].limits,
			    cause ? cause : "?");
			CU_FAIL("valid limits refused");
			free(cause);
			free(text);
			continue;
		}
		CU_ASSERT_EQUAL(cfg->max_frame, t[i].max_frame);
		CU_ASSERT_EQUAL(cfg->window, t[i].window);
		CU_ASSERT_EQUAL(cfg->retry_min, t[i].retry_min);
		CU_ASSERT_EQUAL(cfg->retry_max, t[i].retry_max);
		config_free(cfg);
		free(text);
	}
}

/* The hit confirmation times: durations, at least a second. */
static void
test_config_hit_times(void)
{
	static const struct {
		const char	*limits;
		int		 ok;
		uint64_t	 urgent, routine;
	} t[] = {
		{ "hit-urgent=\"3\" hit-routine=\"5s\"", 1, 3, 5 },
		{ "hit-urgent=\"15m\" hit-routine=\"2h\"", 1, 900, 7200 },
		{ "hit-routine=\"1d\"", 1, 600, 86400 },
		{ "hit-urgent=\"0\"", 0, 0, 0 },
		{ "hit-routine=\"soon\"", 0, 0, 0 },
	};
	struct config	*cfg;
	char		*text, *cause = NULL;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		text = xasprintf("<nlswitch>\n"
		    "<listen address=\"127.0.0.1\" port=\"0\"/>\n"
		    "<datadir>d</datadir>\n"
		    "<pki ca=\"a\" cert=\"b\" key=\"c\"/>\n"
		    "<limits %s/>\n"
		    "<line code=\"AA\" cn=\"a\"><ori>WA0340000</ori>"
		    "<accept>YQ YR</accept></line>\n"
		    "</nlswitch>\n", t[i].limits);
		if (test_config_load_text(text, &cfg, &cause, NULL) != 0) {
			if (t[i].ok)
				fprintf(stderr, "\n%s: %s\n", t[i].limits,
				    cause ? cause : "?");
			CU_ASSERT(!t[i].ok);
			free(cause);
			cause = NULL;
			free(text);
			continue;
		}
		CU_ASSERT(t[i].ok);
		CU_ASSERT_EQUAL(cfg->hit_urgent, t[i].urgent);
		CU_ASSERT_EQUAL(cfg->hit_routine, t[i].routine);
		CU_ASSERT_EQUAL(cfg->lines[0].accept, K(MSG_KEY_YQ) |
		    K(MSG_KEY_YR));
		config_free(cfg);
		free(text);
	}
}

static void
test_config_lookups(void)
{
	struct config		*cfg;
	const struct config_line *wa, *or, *ca, *nv;
	const struct config_region *reg;
	char			*path = test_config_fixture("example.xml");
	char			*cause = NULL;

	if (config_load(path, test_config_schemas, &cfg, &cause) != 0) {
		fprintf(stderr, "\n%s\n", cause);
		free(cause);
		free(path);
		CU_FAIL_FATAL("example.xml does not load");
	}
	wa = &cfg->lines[0];
	or = &cfg->lines[1];
	ca = &cfg->lines[2];
	nv = &cfg->lines[3];

	CU_ASSERT_PTR_EQUAL(config_line_by_cn(cfg, "waagy"), wa);
	CU_ASSERT_PTR_EQUAL(config_line_by_cn(cfg, "nvdmv"), nv);
	CU_ASSERT_PTR_NULL(config_line_by_cn(cfg, "WAAGY"));	/* exact */
	CU_ASSERT_PTR_NULL(config_line_by_cn(cfg, "waag"));
	CU_ASSERT_PTR_NULL(config_line_by_cn(cfg, ""));

	CU_ASSERT_PTR_EQUAL(config_line_by_code(cfg, "ORAGY"), or);
	CU_ASSERT_PTR_EQUAL(config_line_by_code(cfg, "CADMV"), ca);
	CU_ASSERT_PTR_NULL(config_line_by_code(cfg, "cadmv"));
	CU_ASSERT_PTR_NULL(config_line_by_code(cfg, "CA"));

	CU_ASSERT_PTR_EQUAL(config_line_by_ori(cfg, "WA0340000"), wa);
	CU_ASSERT_PTR_EQUAL(config_line_by_ori(cfg, "WA0340100"), wa);
	CU_ASSERT_PTR_EQUAL(config_line_by_ori(cfg, "OR0260000"), or);
	CU_ASSERT_PTR_EQUAL(config_line_by_ori(cfg, "CAOLN0000"), ca);
	CU_ASSERT_PTR_EQUAL(config_line_by_ori(cfg, "NVOLN0000"), nv);
	CU_ASSERT_PTR_NULL(config_line_by_ori(cfg, "CA1234567"));
	CU_ASSERT_PTR_NULL(config_line_by_ori(cfg, "WA034000"));
	CU_ASSERT_PTR_NULL(config_line_by_ori(cfg, MSG_SWITCH_ORI));

	CU_ASSERT_PTR_EQUAL(config_line_by_member(cfg, "CA"), ca);
	CU_ASSERT_PTR_EQUAL(config_line_by_member(cfg, "NV"), nv);
	CU_ASSERT_PTR_NULL(config_line_by_member(cfg, "WA"));	/* agency */
	CU_ASSERT_PTR_NULL(config_line_by_member(cfg, "OR"));
	CU_ASSERT_PTR_NULL(config_line_by_member(cfg, ""));	/* no member */
	CU_ASSERT_PTR_NULL(config_line_by_member(cfg, "NL"));

	reg = config_region(cfg, "WR");
	CU_ASSERT_PTR_NOT_NULL(reg);
	CU_ASSERT_PTR_EQUAL(reg, &cfg->regions[0]);
	CU_ASSERT_PTR_NULL(config_region(cfg, "CA"));
	CU_ASSERT_PTR_NULL(config_region(cfg, "NL"));
	CU_ASSERT_PTR_NULL(config_region(cfg, ""));

	CU_ASSERT_EQUAL(config_line_has_ori(wa, "WA0340000"), 1);
	CU_ASSERT_EQUAL(config_line_has_ori(wa, "WA0340100"), 1);
	CU_ASSERT_EQUAL(config_line_has_ori(wa, "WA0340200"), 0);
	CU_ASSERT_EQUAL(config_line_has_ori(wa, "OR0260000"), 0);
	CU_ASSERT_EQUAL(config_line_has_ori(ca, "CAOLN0000"), 1);
	CU_ASSERT_EQUAL(config_line_has_ori(ca, "CA1234567"), 0);

	config_free(cfg);
	free(path);
}

/*
 * Nlets' regions built in: eight codes (A1 ... H1: region.h says what
 * is Nlets' and what the simulator's choice), six or seven states each,
 * every member state, DC and the territories in exactly one, known to a
 * config that defines no region at all.
 */
static void
test_config_builtin_regions(void)
{
	static const struct {
		const char	*code, *members;
	} want[] = {
		{ "A1", "CT MA ME NH RI VT" },
		{ "B1", "DC DE MD NJ NY PA" },
		{ "C1", "FL GA NC SC VA WV PR VI" },
		{ "D1", "AL AR KY LA MS TN TX" },
		{ "E1", "IL IN MI MN OH WI" },
		{ "F1", "IA KS MO ND NE OK SD" },
		{ "G1", "AZ CO ID MT NM UT WY" },
		{ "H1", "AK CA HI NV OR WA GU" },
	};
	/* The 50 states, DC, Puerto Rico, the Virgin Islands, Guam. */
	static const char all[] = "AK AL AR AZ CA CO CT DC DE FL GA GU HI IA "
	    "ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ NM NV "
	    "NY OH OK OR PA PR RI SC SD TN TX UT VA VI VT WA WI WV WY";
	static const char text[] =
	    "<nlswitch>\n"
	    "<listen address=\"127.0.0.1\" port=\"0\"/>\n"
	    "<datadir>d</datadir>\n"
	    "<pki ca=\"a\" cert=\"b\" key=\"c\"/>\n"
	    "<line code=\"WAAGY\" cn=\"w\"><ori>WA0340000</ori>"
	    "<accept>DR</accept></line>\n"
	    "</nlswitch>\n";
	const struct config_region	*r;
	const struct region_builtin	*rb;
	struct config			*cfg;
	struct ubuf			 got;
	char				*cause, seen[sizeof all];
	size_t				 i;
	int				 j, states;

	if (test_config_load_text(text, &cfg, &cause, NULL) != 0) {
		fprintf(stderr, "\n%s\n", cause ? cause : "?");
		free(cause);
		CU_FAIL_FATAL("config without regions does not load");
	}
	CU_ASSERT_EQUAL(cfg->nregion, 0);
	CU_ASSERT_EQUAL(cfg->nbuiltin, (int)(sizeof want / sizeof want[0]));
	memset(seen, 0, sizeof seen);
	ubuf_init(&got);
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		r = config_region(cfg, want[i].code);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_PTR_EQUAL(config_region_at(cfg, (int)i), r);
		CU_ASSERT_EQUAL(r->builtin, 1);
		rb = region_builtin_at((int)i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(rb);
		CU_ASSERT_PTR_EQUAL(region_builtin_lookup(want[i].code), rb);
		CU_ASSERT_STRING_EQUAL(rb->code, want[i].code);
		ubuf_reset(&got);
		for (j = states = 0; j < r->nmember; j++) {
			const char *at = strstr(all, r->member[j]);

			ubuf_printf(&got, "%s%s", j ? " " : "", r->member[j]);
			/* A member code, and in no other region. */
			CU_ASSERT_PTR_NOT_NULL_FATAL(at);
			CU_ASSERT_EQUAL(seen[at - all], 0);
			seen[at - all] = 1;
			if (strstr("DC PR VI GU", r->member[j]) == NULL)
				states++;
		}
		if (strcmp(test_config_str(&got), want[i].members) != 0)
			fprintf(stderr, "\n  region %s: \"%s\"", want[i].code,
			    test_config_str(&got));
		CU_ASSERT_STRING_EQUAL(test_config_str(&got), want[i].members);
		/* Nlets: "Each region represents six or seven states";
		 * DC counts as one in B1. */
		CU_ASSERT(states + (strcmp(r->code, "B1") == 0) >= 6 &&
		    states <= 7);
	}
	for (i = 0; i < sizeof all - 1; i += 3)
		CU_ASSERT_EQUAL(seen[i], 1);	/* every one has a region */
	CU_ASSERT_PTR_NULL(config_region_at(cfg, (int)(sizeof want /
	    sizeof want[0])));
	CU_ASSERT_PTR_NULL(config_region_at(cfg, -1));
	CU_ASSERT_PTR_NULL(region_builtin_at((int)(sizeof want /
	    sizeof want[0])));
	CU_ASSERT_PTR_NULL(region_builtin_lookup("WR"));
	CU_ASSERT_PTR_NULL(region_builtin_lookup(NULL));
	/* Not regions: members, NL, nothing. */
	CU_ASSERT_PTR_NULL(config_region(cfg, "WA"));
	CU_ASSERT_PTR_NULL(config_region(cfg, "NL"));
	CU_ASSERT_PTR_NULL(config_region(cfg, "I1"));
	CU_ASSERT_PTR_NULL(config_region(cfg, ""));
	ubuf_free(&got);
	config_free(cfg);
}

/*
 * The file's <region>s: one of a built-in code replaces its members (it
 * is not added to them), a new code extends the set; the file's come
 * first. A region of the file must name served members, as before; a
 * built-in one need not.
 */
static void
test_config_region_override(void)
{
	static const struct {
		const char	*name;
		const char	*regions;	/* <region> elements */
		int		 nregion;	/* the file's */
		const char	*code;		/* looked up ... */
		const char	*members;	/* ... has these */
		int		 builtin;
		const char	*error;		/* or NULL: loads */
	} t[] = {
		{ "none: built in", "", 0, "H1", "AK CA HI NV OR WA GU", 1,
		  NULL },
		{ "override H1", "<region code=\"H1\">CA NV</region>", 1,
		  "H1", "CA NV", 0, NULL },
		{ "override keeps the others", "<region code=\"H1\">CA</region>",
		  1, "G1", "AZ CO ID MT NM UT WY", 1, NULL },
		{ "override to other states",
		  "<region code=\"E1\">NV,CA</region>", 1, "E1", "NV CA", 0,
		  NULL },
		{ "extend WR", "<region code=\"WR\">CA NV</region>", 1, "WR",
		  "CA NV", 0, NULL },
		{ "extend: built-in still there",
		  "<region code=\"WR\">CA NV</region>", 1, "A1",
		  "CT MA ME NH RI VT", 1, NULL },
		{ "extend and override",
		  "<region code=\"Z9\">NV</region>"
		  "<region code=\"A1\">CA</region>", 2, "A1", "CA", 0, NULL },
		{ "override names an unserved member",
		  "<region code=\"H1\">CA OR</region>", 0, NULL, NULL, 0,
		  "region H1: no line serves member OR" },
		{ "override twice", "<region code=\"H1\">CA</region>"
		  "<region code=\"H1\">NV</region>", 0, NULL, NULL, 0,
		  "region H1 defined twice" },
		{ "override empty", "<region code=\"H1\"> </region>", 0, NULL,
		  NULL, 0, "region H1 has no members" },
	};
	const struct config_region	*r;
	struct config			*cfg;
	struct ubuf			 got;
	char				*text, *cause;
	size_t				 i;
	int				 j, rc, n;

	ubuf_init(&got);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		text = xasprintf("<nlswitch>\n"
		    "<listen address=\"127.0.0.1\" port=\"0\"/>\n"
		    "<datadir>d</datadir>\n"
		    "<pki ca=\"a\" cert=\"b\" key=\"c\"/>\n"
		    "<line code=\"CADMV\" cn=\"c\" member=\"CA\">"
		    "<ori>CAOLN0000</ori><accept>DQ</accept></line>\n"
		    "<line code=\"NVDMV\" cn=\"n\" member=\"NV\">"
		    "<ori>NVOLN0000</ori><accept>DQ</accept></line>\n"
		    "%s\n</nlswitch>\n", t[i].regions);
		rc = test_config_load_text(text, &cfg, &cause, NULL);
		free(text);
		if (t[i].error != NULL) {
			if (rc == 0 || cause == NULL ||
			    strstr(cause, t[i].error) == NULL) {
				fprintf(stderr, "\n  %s: want \"%s\", got %s",
				    t[i].name, t[i].error, cause ? cause :
				    "a config");
				CU_FAIL("region config not refused");
			}
			if (rc == 0)
				config_free(cfg);
			free(cause);
			continue;
		}
		if (rc != 0) {
			fprintf(stderr, "\n  %s: %s", t[i].name, cause);
			free(cause);
			CU_FAIL("region config refused");
			continue;
		}
		CU_ASSERT_EQUAL(cfg->nregion, t[i].nregion);
		/* Eight built-in codes in all, the overridden ones once. */
		for (n = 0; config_region_at(cfg, n) != NULL; n++)
			;
		CU_ASSERT_EQUAL(n, cfg->nregion + cfg->nbuiltin);
		CU_ASSERT(cfg->nbuiltin >= 6 && cfg->nbuiltin <= 8);
		r = config_region(cfg, t[i].code);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		ubuf_reset(&got);
		for (j = 0; j < r->nmember; j++)
			ubuf_printf(&got, "%s%s", j ? " " : "", r->member[j]);
		if (strcmp(test_config_str(&got), t[i].members) != 0 ||
		    r->builtin != t[i].builtin)
			fprintf(stderr, "\n  %s: %s = \"%s\" builtin %d",
			    t[i].name, t[i].code, test_config_str(&got), r->builtin);
		CU_ASSERT_STRING_EQUAL(test_config_str(&got), t[i].members);
		CU_ASSERT_EQUAL(r->builtin, t[i].builtin);
		/* The file's region comes first when it has one. */
		if (!t[i].builtin)
			CU_ASSERT(r >= cfg->regions &&
			    r < cfg->regions + cfg->nregion);
		config_free(cfg);
	}
	ubuf_free(&got);
}

/* config_line_accepts over every line and key: SM and ER always. */
static void
test_config_accepts(void)
{
	/* Columns: NONE DQ DR KQ KR DNQ DNR AM AML AA SM ER DQG YQ YR. */
	static const struct {
		const char	*code;
		int		 acc[MSG_KEY_MAX];
	} t[] = {
		{ "WAAGY", { 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1 } },
		{ "ORAGY", { 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 1 } },
		{ "CADMV", { 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0 } },
		{ "NVDMV", { 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0 } },
	};
	struct config		*cfg;
	const struct config_line *l;
	char			*path = test_config_fixture("example.xml");
	char			*cause = NULL;
	size_t			 i;
	int			 k;

	if (config_load(path, test_config_schemas, &cfg, &cause) != 0) {
		fprintf(stderr, "\n%s\n", cause);
		free(cause);
		free(path);
		CU_FAIL_FATAL("example.xml does not load");
	}
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		l = config_line_by_code(cfg, t[i].code);
		CU_ASSERT_PTR_NOT_NULL_FATAL(l);
		for (k = MSG_KEY_DQ; k < MSG_KEY_MAX; k++)
			if (config_line_accepts(l, k) != t[i].acc[k]) {
				fprintf(stderr, "\n%s %s: want %d\n", t[i].code,
				    msg_key_name((enum msg_key)k), t[i].acc[k]);
				CU_FAIL("config_line_accepts");
			}
	}
	config_free(cfg);
	free(path);
}

/*
 * Every invalid fixture: "FILE:LINE: reason". The line is where the
 * problem is (the element; for cross-checks, the second of the two).
 */
static const struct {
	const char	*file;
	int		 line;
	const char	*reason;
} test_config_bad[] = {
	{ "not-well-formed.xml", 9, "mismatch" },
	{ "doctype.xml", 3, "DOCTYPE" },
	{ "unknown-element.xml", 7, "'colour'" },
	{ "bad-ori.xml", 8, "'WA034'" },
	{ "bad-line-code.xml", 7, "'wa-agy'" },
	{ "dup-line-code.xml", 11, "duplicate line code WAAGY" },
	{ "dup-cn.xml", 11, "\"waagy\" already used by line WAAGY" },
	{ "ori-two-lines.xml", 11, "WA0340000 already belongs to line WAAGY" },
	{ "same-member.xml", 15, "member CA already served by line CADMV" },
	{ "region-unknown-member.xml", 15, "no line serves member NV" },
	{ "region-is-member.xml", 19, "region code CA is also a member" },
	{ "region-bad-member.xml", 19, "\"NVX\" is not a member code" },
	{ "region-bad-code.xml", 19, "The value '1W' is not accepted" },
	{ "region-empty.xml", 19, "region WR has no members" },
	{ "region-dup.xml", 20, "region WR defined twice" },
	{ "line-nl-ori.xml", 7, "NL0000000 is the switch's own ORI" },
	{ "line-nl-code.xml", 7, "NL is the switch" },
	{ "max-frame-small.xml", 7,
	    "max-frame must be between 1024 and 67108864" },
	{ "max-frame-large.xml", 7,
	    "max-frame must be between 1024 and 67108864" },
	{ "max-frame-zero.xml", 7, "positiveInteger" },
	{ "window-overflow.xml", 7, "window must be between 1 and 65536" },
	{ "retry-order.xml", 7, "retry-min 120 exceeds retry-max 60" },
	{ "retry-min-default-max.xml", 7, "retry-min 61 exceeds retry-max 60" },
	{ "listen-long.xml", 4, "listen address longer than 63" },
};
#define NTEST_CONFIG_BAD (sizeof test_config_bad / sizeof test_config_bad[0])

static void
test_config_invalid(void)
{
	struct config	*cfg;
	char		*path, *rel, *prefix, *cause;
	size_t		 i;
	int		 rc;

	for (i = 0; i < NTEST_CONFIG_BAD; i++) {
		rel = xasprintf("invalid/%s", test_config_bad[i].file);
		path = test_config_fixture(rel);
		prefix = xasprintf("%s:%d: ", path, test_config_bad[i].line);
		cfg = (struct config *)&cfg;	/* must be reset */
		cause = NULL;
		rc = config_load(path, test_config_schemas, &cfg, &cause);
		CU_ASSERT_EQUAL(rc, -1);
		CU_ASSERT_PTR_NULL(cfg);
		if (rc == 0)
			config_free(cfg);
		if (cause == NULL) {
			fprintf(stderr, "\n%s: no cause\n",
			    test_config_bad[i].file);
			CU_FAIL("invalid config without a cause");
		} else if (strncmp(cause, prefix, strlen(prefix)) != 0 ||
		    strstr(cause + strlen(prefix),
		    test_config_bad[i].reason) == NULL) {
			fprintf(stderr, "\nwant \"%s...%s...\"\ngot  \"%s\"\n",
			    prefix, test_config_bad[i].reason, cause);
			CU_FAIL("wrong FILE:LINE: reason");
		}
		free(cause);
		free(prefix);
		free(path);
		free(rel);
	}
}

/* Every file in fixtures/config/invalid has a row in the table. */
static void
test_config_invalid_all_listed(void)
{
	char		*dir = test_config_fixture("invalid");
	DIR		*d;
	struct dirent	*de;
	size_t		 i, n = 0;

	d = opendir(dir);
	free(dir);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n++;
		for (i = 0; i < NTEST_CONFIG_BAD; i++)
			if (strcmp(de->d_name, test_config_bad[i].file) == 0)
				break;
		if (i == NTEST_CONFIG_BAD) {
			fprintf(stderr, "\ninvalid/%s: not in the table\n",
			    de->d_name);
			CU_FAIL("fixture without a table row");
		}
	}
	closedir(d);
	CU_ASSERT_EQUAL(n, NTEST_CONFIG_BAD);
}

static void
test_config_missing(void)
{
	struct config	*cfg = (struct config *)&cfg;
	char		*path = test_config_fixture("no-such-file.xml");
	char		*cause = NULL, *prefix = xasprintf("%s:", path);
	char		*bad = xasprintf("%s/no-such-dir", test_config_tmp);

	CU_ASSERT_EQUAL(config_load(path, test_config_schemas, &cfg, &cause),
	    -1);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_EQUAL(strncmp(cause, prefix, strlen(prefix)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, strerror(ENOENT)));
	free(cause);
	free(path);

	/* A good file with no schema next to it: the schema is named. */
	path = test_config_fixture("example.xml");
	cause = NULL;
	cfg = (struct config *)&cfg;
	CU_ASSERT_EQUAL(config_load(path, bad, &cfg, &cause), -1);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "config.xsd"));
	free(cause);
	free(path);
	free(prefix);
	free(bad);
}

/*
 * The shares of the store (<limits reserve dest-quota>, <line quota>,
 * <audit budget retention archive>): sizes in bytes, K/M/G or percent of
 * map-size, durations in s/m/h/d, and the errors that name what to fix.
 */
/* Table of <store>: LMDB by default, the rabbitmq backend's spec. */
static void
test_config_store(void)
{
	static const struct {
		const char	*store;		/* the element, or "" */
		const char	*spec;		/* words in store_spec; NULL:
						   none (LMDB) */
		int		 node;
		const char	*error;		/* substring, or NULL: loads */
	} t[] = {
		{ "", NULL, 0, NULL },
		{ "<store backend=\"lmdb\"/>", NULL, 0, NULL },
		{ "<store backend=\"rabbitmq\" node-id=\"7\"><node>r1:5672"
		  "</node><node>r2:5673</node></store>",
		  "replicas=3 node=7 amqp=r1:5672 amqp=r2:5673", 7, NULL },
		{ "<store backend=\"rabbitmq\" prefix=\"east\" replicas=\"5\""
		  " credentials=\"amqp.cred\" tls-ca=\"/p/ca.pem\"><node>"
		  "r1:5671</node></store>",
		  "credentials", 1, NULL },	/* checked word by word */
		{ "<store backend=\"rabbitmq\"/>", NULL, 0,
		  "a rabbitmq store needs its nodes" },
		{ "<store backend=\"rabbitmq\" node-id=\"0\"><node>r:1</node>"
		  "</store>", NULL, 0, "node-id" },
		{ "<store backend=\"kafka\"/>", NULL, 0, "backend" },
		{ "<store backend=\"rabbitmq\" prefix=\"Bad Name\"><node>r:1"
		  "</node></store>", NULL, 0, "prefix" },
	};
	struct config	*cfg;
	char		*text, *cause;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		text = xasprintf("<?xml version=\"1.0\"?>\n<nlswitch>\n"
		    "  <listen address=\"127.0.0.1\" port=\"7000\"/>\n"
		    "  <datadir>/var/lib/nlswitch</datadir>\n  %s\n"
		    "  <pki ca=\"ca.pem\" cert=\"c.pem\" key=\"k.key\"/>\n"
		    "  <line code=\"TX01\" cn=\"tx\" member=\"TX\">\n"
		    "    <ori>TXOLN0000</ori><accept>DQ</accept>\n"
		    "  </line>\n</nlswitch>\n", t[i].store);
		if (test_config_load_text(text, &cfg, &cause, NULL) != 0) {
			CU_ASSERT_PTR_NOT_NULL(t[i].error);
			CU_ASSERT(cause != NULL && t[i].error != NULL &&
			    strstr(cause, t[i].error) != NULL);
			if (t[i].error == NULL || cause == NULL ||
			    strstr(cause, t[i].error) == NULL)
				fprintf(stderr, "\nrow %zu: %s\n", i,
				    cause ? cause : "?");
			free(cause);
			free(text);
			continue;
		}
		CU_ASSERT_PTR_NULL(t[i].error);
		if (t[i].spec == NULL) {
			CU_ASSERT_PTR_NULL(cfg->store_spec);
		} else if (strstr(t[i].spec, "credentials") != NULL) {
			/* The credentials file is resolved against the
			 * config's directory. */
			CU_ASSERT_PTR_NOT_NULL(cfg->store_spec);
			CU_ASSERT(cfg->store_spec != NULL &&
			    strstr(cfg->store_spec, "/amqp.cred") != NULL &&
			    strstr(cfg->store_spec, "prefix=east") != NULL &&
			    strstr(cfg->store_spec, "amqp=r1:5671") != NULL &&
			    strstr(cfg->store_spec, "tls-ca=/p/ca.pem") !=
			    NULL);
		} else {
			CU_ASSERT(cfg->store_spec != NULL &&
			    strcmp(cfg->store_spec, t[i].spec) == 0);
		}
		CU_ASSERT_EQUAL(cfg->store_node, t[i].node);
		config_free(cfg);
		free(text);
	}
}

static void
test_config_space(void)
{
	static const struct {
		const char	*limits, *line, *audit;
		uint64_t	 reserve, quota, quota_msgs, budget, retention;
		uint64_t	 line_quota;
		const char	*error;		/* substring, or NULL: loads */
	} t[] = {
		/* Defaults: 2 %, 25 %, 25 % of a 64 MB map, 365 days. */
		{ "map-size=\"67108864\"", "", "",
		  67108864 / 1000 * 20, 67108864 / 1000 * 250, 0,
		  67108864 / 1000 * 250, 365ULL * 86400, 0, NULL },
		{ "map-size=\"67108864\" reserve=\"1M\" dest-quota=\"10%\" "
		  "dest-quota-msgs=\"5000\" sender-quota=\"3M\"",
		  "quota=\"2M\" quota-msgs=\"7\" send-quota=\"4M\"",
		  "budget=\"8M\" retention=\"36h\"",
		  1 << 20, 67108864 / 1000 * 100, 5000, 8 << 20,
		  36 * 3600, 2 << 20, NULL },
		{ "map-size=\"67108864\" dest-quota=\"2.5%\"", "quota=\"50%\"",
		  "retention-days=\"2\" budget=\"0\"",
		  67108864 / 1000 * 20, 67108864 / 1000 * 25, 0, 0,
		  2 * 86400, 67108864 / 1000 * 500, NULL },
		{ "", "", "retention=\"90d\" budget=\"1G\"", 0, 0, 0, 0, 0, 0,
		  "budget must be at most half of map-size" },
		{ "", "", "retention=\"30m\"", 0, 0, 0, 0, 0, 0,
		  "retention must be a duration of at least 3600 seconds" },
		{ "", "", "budget=\"512K\"", 0, 0, 0, 0, 0, 0,
		  "budget must be at least 1M" },
		{ "reserve=\"60%\"", "", "", 0, 0, 0, 0, 0, 0,
		  "reserve must be at most half of map-size" },
		{ "", "quota=\"12X\"", "", 0, 0, 0, 0, 0, 0,
		  "attribute 'quota'" },
		{ "", "", "retention=\"1w\"", 0, 0, 0, 0, 0, 0,
		  "attribute 'retention'" },
	};
	struct config	*cfg;
	char		*text, *cause;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		text = xasprintf("<?xml version=\"1.0\"?>\n<nlswitch>\n"
		    "  <listen address=\"127.0.0.1\" port=\"7000\"/>\n"
		    "  <datadir>/var/lib/nlswitch</datadir>\n"
		    "  <pki ca=\"ca.pem\" cert=\"c.pem\" key=\"k.key\"/>\n"
		    "  <limits %s/>\n"
		    "  <line code=\"TX01\" cn=\"tx\" member=\"TX\" %s>\n"
		    "    <ori>TXOLN0000</ori><accept>DQ</accept>\n"
		    "  </line>\n"
		    "  <audit %s/>\n</nlswitch>\n", t[i].limits, t[i].line,
		    t[i].audit);
		if (test_config_load_text(text, &cfg, &cause, NULL) != 0) {
			if (t[i].error == NULL || cause == NULL ||
			    strstr(cause, t[i].error) == NULL)
				fprintf(stderr, "\nrow %zu: %s\n", i,
				    cause ? cause : "?");
			CU_ASSERT_PTR_NOT_NULL(t[i].error);
			CU_ASSERT(cause != NULL && t[i].error != NULL &&
			    strstr(cause, t[i].error) != NULL);
			free(cause);
			free(text);
			continue;
		}
		CU_ASSERT_PTR_NULL(t[i].error);
		if (t[i].error != NULL)
			fprintf(stderr, "\nrow %zu loaded\n", i);
		CU_ASSERT_EQUAL(cfg->reserve, t[i].reserve);
		CU_ASSERT_EQUAL(cfg->dest_quota_bytes, t[i].quota);
		CU_ASSERT_EQUAL(cfg->dest_quota_msgs, t[i].quota_msgs);
		CU_ASSERT_EQUAL(cfg->audit_budget, t[i].budget);
		CU_ASSERT_EQUAL(cfg->audit_retention, t[i].retention);
		CU_ASSERT_EQUAL(cfg->lines[0].quota_bytes, t[i].line_quota);
		if (i == 0)
			CU_ASSERT_EQUAL(cfg->sender_quota_bytes,
			    67108864 / 1000 * 500);
		if (i == 1) {
			CU_ASSERT_EQUAL(cfg->sender_quota_bytes, 3 << 20);
			CU_ASSERT_EQUAL(cfg->lines[0].send_quota_bytes, 4 << 20);
		}
		config_free(cfg);
		free(text);
	}
}

/*
 * Many lines (strmap.h behind the lookups): 3,000 lines, two ORIs each,
 * one in 120 a member line; each lookup, table-driven, finds its
 * line or nothing. Then the same lines with one name shared: the load
 * fails and says which, as it did when every pair was compared.
 */
#define TEST_CONFIG_MANY	3000

/* The many-lines config, dup (if not NULL) added as its last line. */
static char *
test_config_many_text(const char *dup)
{
	struct ubuf	 u;
	int		 i;

	ubuf_init(&u);
	ubuf_adds(&u, "<nlswitch>\n"
	    "<listen address=\"127.0.0.1\" port=\"0\"/>\n"
	    "<datadir>d</datadir>\n"
	    "<pki ca=\"a\" cert=\"b\" key=\"c\"/>\n");
	for (i = 0; i < TEST_CONFIG_MANY; i++) {
		char member[24] = "";

		if (i % 120 == 0)
			snprintf(member, sizeof member, " member=\"Q%c\"",
			    'A' + i / 120);
		ubuf_printf(&u, "<line code=\"L%d\" cn=\"cn%d\"%s>"
		    "<ori>XA%07d</ori><ori>XB%07d</ori>"
		    "<accept>AM</accept></line>\n", i, i, member, i, i);
	}
	if (dup != NULL)
		ubuf_adds(&u, dup);
	ubuf_adds(&u, "</nlswitch>\n");
	return u.data;
}

static void
test_config_many_lines(void)
{
	static const struct {
		char		 by;	/* c cn, l code, o ORI, m member */
		const char	*key;
		int		 line;	/* index in cfg->lines, -1: none */
	} t[] = {
		{ 'c', "cn0", 0 }, { 'c', "cn1", 1 }, { 'c', "cn2999", 2999 },
		{ 'c', "cn1234", 1234 }, { 'c', "cn3000", -1 },
		{ 'c', "CN1", -1 }, { 'c', "cn", -1 }, { 'c', "", -1 },
		{ 'l', "L0", 0 }, { 'l', "L2999", 2999 }, { 'l', "L777", 777 },
		{ 'l', "L3000", -1 }, { 'l', "l1", -1 }, { 'l', "cn1", -1 },
		{ 'o', "XA0000000", 0 }, { 'o', "XB0000000", 0 },
		{ 'o', "XA0002999", 2999 }, { 'o', "XB0001500", 1500 },
		{ 'o', "XA0003000", -1 }, { 'o', "XC0000001", -1 },
		{ 'o', "XA000000", -1 },
		{ 'm', "QA", 0 }, { 'm', "QB", 120 }, { 'm', "QY", 2880 },
		{ 'm', "QD", 360 }, { 'm', "QZ", -1 }, { 'm', "", -1 },
		{ 'm', "NL", -1 },
	};
	static const struct {
		const char	*line;
		const char	*cause;
	} dup[] = {
		{ "<line code=\"L5\" cn=\"new\"><ori>XC0000001</ori>"
		    "<accept>AM</accept></line>\n", "duplicate line code L5" },
		{ "<line code=\"NEW\" cn=\"cn2999\"><ori>XC0000001</ori>"
		    "<accept>AM</accept></line>\n", "certificate name \"cn2999\" "
		    "already used by line L2999" },
		{ "<line code=\"NEW\" cn=\"new\"><ori>XB0000042</ori>"
		    "<accept>AM</accept></line>\n", "ORI XB0000042 already "
		    "belongs to line L42" },
		{ "<line code=\"NEW\" cn=\"new\" member=\"QC\"><ori>"
		    "XC0000001</ori><accept>AM</accept></line>\n",
		    "member QC already served by line L240" },
		{ "<line code=\"NEW\" cn=\"new\"><ori>XC0000001</ori>"
		    "<ori>XC0000001</ori><accept>AM</accept></line>\n", NULL },
	};
	const struct config_line *l = NULL;
	struct config	*cfg;
	char		*text, *cause = NULL;
	size_t		 i;

	text = test_config_many_text(NULL);
	if (test_config_load_text(text, &cfg, &cause, NULL) != 0) {
		fprintf(stderr, "\n%s\n", cause ? cause : "?");
		free(cause);
		free(text);
		CU_FAIL_FATAL("the many-lines config does not load");
	}
	free(text);
	CU_ASSERT_EQUAL(cfg->nline, TEST_CONFIG_MANY);
	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		switch (t[i].by) {
		case 'c':
			l = config_line_by_cn(cfg, t[i].key);
			break;
		case 'l':
			l = config_line_by_code(cfg, t[i].key);
			break;
		case 'o':
			l = config_line_by_ori(cfg, t[i].key);
			break;
		case 'm':
			l = config_line_by_member(cfg, t[i].key);
			break;
		}
		if (t[i].line == -1 ? l != NULL : l != &cfg->lines[t[i].line])
			fprintf(stderr, "\nby %c %s: line %d, want %d\n",
			    t[i].by, t[i].key, l ? l->index : -1, t[i].line);
		if (t[i].line == -1) {
			CU_ASSERT_PTR_NULL(l);
		} else {
			CU_ASSERT_PTR_EQUAL(l, &cfg->lines[t[i].line]);
		}
	}
	config_free(cfg);

	for (i = 0; i < sizeof dup / sizeof dup[0]; i++) {
		text = test_config_many_text(dup[i].line);
		if (test_config_load_text(text, &cfg, &cause, NULL) == 0) {
			CU_ASSERT_PTR_NULL(dup[i].cause);	/* ORI twice */
			CU_ASSERT_PTR_EQUAL(config_line_by_ori(cfg,
			    "XC0000001"), config_line_by_code(cfg, "NEW"));
			config_free(cfg);
		} else {
			CU_ASSERT_PTR_NOT_NULL(dup[i].cause);
			if (dup[i].cause != NULL && (cause == NULL ||
			    strstr(cause, dup[i].cause) == NULL))
				fprintf(stderr, "\ngot %s\nwant %s\n",
				    cause ? cause : "?", dup[i].cause);
			CU_ASSERT(dup[i].cause != NULL && cause != NULL &&
			    strstr(cause, dup[i].cause) != NULL);
		}
		free(cause);
		cause = NULL;
		free(text);
	}
}

int
test_config_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("config", test_config_init,
	    test_config_cleanup)) == NULL)
		return -1;
	if (CU_ADD_TEST(s, test_config_example) == NULL ||
	    CU_ADD_TEST(s, test_config_defaults) == NULL ||
	    CU_ADD_TEST(s, test_config_limit_bounds) == NULL ||
	    CU_ADD_TEST(s, test_config_hit_times) == NULL ||
	    CU_ADD_TEST(s, test_config_space) == NULL ||
	    CU_ADD_TEST(s, test_config_store) == NULL ||
	    CU_ADD_TEST(s, test_config_lookups) == NULL ||
	    CU_ADD_TEST(s, test_config_many_lines) == NULL ||
	    CU_ADD_TEST(s, test_config_builtin_regions) == NULL ||
	    CU_ADD_TEST(s, test_config_region_override) == NULL ||
	    CU_ADD_TEST(s, test_config_accepts) == NULL ||
	    CU_ADD_TEST(s, test_config_invalid) == NULL ||
	    CU_ADD_TEST(s, test_config_invalid_all_listed) == NULL ||
	    CU_ADD_TEST(s, test_config_missing) == NULL)
		return -1;
	return 0;
}
