/*
 * test_oridir - the ORI directory (switch/oridir.c) and the policy parts
 * of the config: loading fixtures/oridir/example.xml, lookups, every
 * invalid directory failing with "FILE:LINE: reason", the implicit
 * directory of a config without <oridir>, the directory a config carries
 * (parsed once, with it), and <photo-policy> / <audit> / <oridir> in
 * fixtures/config/policy.xml.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "oridir.h"
#include "util.h"

static char	*to_root;
static char	*to_schemas;

static int
to_init(void)
{
	const char *r = getenv("NLSWITCH_ROOT");

	to_root = xstrdup(r != NULL ? r : ".");
	to_schemas = xasprintf("%s/schemas", to_root);
	return 0;
}

static int
to_cleanup(void)
{
	free(to_root);
	free(to_schemas);
	to_root = to_schemas = NULL;
	return 0;
}

static void
test_oridir_load(void)
{
	struct oridir			*dir = NULL;
	const struct oridir_entry	*e;
	char				*path, *cause = NULL, buf[64];

	path = xasprintf("%s/fixtures/oridir/example.xml", to_root);
	if (oridir_load(path, to_schemas, &dir, &cause) == -1) {
		fprintf(stderr, "\n%s\n", cause);
		free(cause);
		free(path);
		CU_FAIL_FATAL("example directory does not load");
	}
	CU_ASSERT_EQUAL(dir->n, 6);
	CU_ASSERT_STRING_EQUAL(dir->path, path);
	e = oridir_lookup(dir, "WA0340000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_STRING_EQUAL(e->name, "SEATTLE POLICE DEPARTMENT");
	CU_ASSERT_STRING_EQUAL(e->state, "WA");
	CU_ASSERT_EQUAL(e->type, ORIDIR_CJ);
	CU_ASSERT_EQUAL(e->auth, ORIDIR_AUTH_ADMIN | ORIDIR_AUTH_CHRI |
	    ORIDIR_AUTH_DMV);
	CU_ASSERT_STRING_EQUAL(oridir_auth_text(e->auth, buf, sizeof buf),
	    "admin criminal-history dmv");
	/* state defaults to the ORI's first two characters */
	e = oridir_lookup(dir, "OR0260000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_STRING_EQUAL(e->state, "OR");
	e = oridir_lookup(dir, "WA034015Y");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->type, ORIDIR_NONCJ);
	CU_ASSERT_STRING_EQUAL(oridir_type_name(e->type),
	    "non-criminal-justice");
	CU_ASSERT_STRING_EQUAL(oridir_auth_text(e->auth, buf, sizeof buf),
	    "admin dmv");
	e = oridir_lookup(dir, "WA0340P00");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->auth, ORIDIR_AUTH_ADMIN | ORIDIR_AUTH_CHRI);
	CU_ASSERT_PTR_NULL(oridir_lookup(dir, "WA0349999"));
	CU_ASSERT_PTR_NULL(oridir_lookup(dir, "WA03400000000"));
	CU_ASSERT_PTR_NULL(oridir_lookup(NULL, "WA0340000"));
	oridir_free(dir);
	free(path);
}

/* Every invalid directory: FILE:LINE: and the words of the reason. */
static const struct {
	const char	*file;
	int		 line;
	const char	*words;
} to_bad[] = {
	{ "dup-ori.xml", 5, "ORI WA0340000 listed twice (first at line 3)" },
	{ "state-mismatch.xml", 4, "state OR is not the ORI's state WA" },
	{ "bad-type.xml", 4, "police" },
	{ "bad-auth.xml", 4, "photos" },
	{ "bad-ori.xml", 4, "wa0340000" },
	{ "not-well-formed.xml", 4, "" },
	{ "doctype.xml", 2, "DOCTYPE is not allowed" },
	{ "no-such-file.xml", 0, "cannot read the ORI directory" },
};

static void
test_oridir_invalid(void)
{
	struct oridir	*dir;
	char		*path, *cause, *want;
	size_t		 i;

	for (i = 0; i < sizeof to_bad / sizeof to_bad[0]; i++) {
		path = xasprintf("%s/fixtures/oridir/invalid/%s", to_root,
		    to_bad[i].file);
		want = xasprintf("%s:%d: ", path, to_bad[i].line);
		dir = NULL;
		cause = NULL;
		CU_ASSERT_EQUAL(oridir_load(path, to_schemas, &dir, &cause),
		    -1);
		CU_ASSERT_PTR_NULL(dir);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
		if (strncmp(cause, want, strlen(want)) != 0 ||
		    strstr(cause, to_bad[i].words) == NULL)
			fprintf(stderr, "\n%s: got \"%s\"\n", to_bad[i].file,
			    cause);
		CU_ASSERT_EQUAL(strncmp(cause, want, strlen(want)), 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, to_bad[i].words));
		free(cause);
		free(want);
		free(path);
	}
}

/* The config side: <photo-policy>, <oridir>, <audit>, and the implicit
 * directory of a config without <oridir>. */
static void
test_oridir_config(void)
{
	struct config			*cfg = NULL;
	const struct config_line	*l;
	struct oridir			*dir;
	const struct oridir_entry	*e;
	char				*path, *cause = NULL;

	path = xasprintf("%s/fixtures/config/policy.xml", to_root);
	if (config_load(path, to_schemas, &cfg, &cause) == -1) {
		fprintf(stderr, "\n%s\n", cause);
		free(cause);
		free(path);
		CU_FAIL_FATAL("policy.xml does not load");
	}
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->oridir);
	CU_ASSERT_PTR_NOT_NULL(strstr(cfg->oridir,
	    "fixtures/config/../oridir/example.xml"));
	CU_ASSERT_EQUAL(cfg->audit_retention, 90ULL * 86400);
	CU_ASSERT_EQUAL(cfg->audit_prune_interval, 86400);
	l = config_line_by_code(cfg, "CADMV");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT(l->photo_share && l->photo_public && !l->photo_noretain);
	l = config_line_by_code(cfg, "NVDMV");
	CU_ASSERT_PTR_NOT_NULL_FATAL(l);
	CU_ASSERT(l->photo_share && !l->photo_public && l->photo_noretain);
	config_free(cfg);
	free(path);

	/* example.xml has no <oridir>: the implicit directory. */
	path = xasprintf("%s/fixtures/config/example.xml", to_root);
	CU_ASSERT_EQUAL_FATAL(config_load(path, to_schemas, &cfg, &cause), 0);
	CU_ASSERT_PTR_NULL(cfg->oridir);
	CU_ASSERT_EQUAL(cfg->audit_retention, 365ULL * 86400);
	/* The shares of the store, by default (docs/configuration.md). */
	CU_ASSERT_EQUAL(cfg->audit_budget, (uint64_t)cfg->map_size / 1000 * 250);
	CU_ASSERT_EQUAL(cfg->reserve, (uint64_t)cfg->map_size / 1000 * 20);
	CU_ASSERT_EQUAL(cfg->dest_quota_bytes, (uint64_t)cfg->map_size / 1000 * 250);
	CU_ASSERT_EQUAL(cfg->dest_quota_msgs, 0);
	dir = config_directory_implicit(cfg);
	CU_ASSERT_EQUAL(dir->n, 5);
	CU_ASSERT_PTR_NULL(dir->path);
	e = oridir_lookup(dir, "WA0340100");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->type, ORIDIR_CJ);
	CU_ASSERT(e->auth & ORIDIR_AUTH_DMV);
	e = oridir_lookup(dir, "NVOLN0000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->type, ORIDIR_NONCJ);
	oridir_free(dir);
	config_free(cfg);
	free(path);
}

/*
 * The config carries the directory it names, parsed once by config_load
 * (the server takes it from there), or the implicit one; a broken
 * directory file fails config_load with its own FILE:LINE.
 */
static void
test_oridir_config_directory(void)
{
	struct config			*cfg = NULL;
	const struct oridir_entry	*e;
	char				*root, *tmp, *path, *odir, *text;
	char				*prefix, *cause = NULL;
	FILE				*fp;

	path = xasprintf("%s/fixtures/config/policy.xml", to_root);
	CU_ASSERT_EQUAL_FATAL(config_load(path, to_schemas, &cfg, &cause), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->directory);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->directory->path);
	CU_ASSERT_STRING_EQUAL(cfg->directory->path, cfg->oridir);
	CU_ASSERT_EQUAL(cfg->directory->n, 6);
	e = oridir_lookup(cfg->directory, "WA0340000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_STRING_EQUAL(e->name, "SEATTLE POLICE DEPARTMENT");
	config_free(cfg);
	free(path);

	/* No <oridir>: the implicit directory of the lines. */
	path = xasprintf("%s/fixtures/config/example.xml", to_root);
	CU_ASSERT_EQUAL_FATAL(config_load(path, to_schemas, &cfg, &cause), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->directory);
	CU_ASSERT_PTR_NULL(cfg->directory->path);
	CU_ASSERT_EQUAL(cfg->directory->n, 5);
	e = oridir_lookup(cfg->directory, "NVOLN0000");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	CU_ASSERT_EQUAL(e->type, ORIDIR_NONCJ);
	config_free(cfg);
	free(path);

	/* A broken directory: no config, the directory file's FILE:LINE. */
	root = realpath(to_root, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(root);
	tmp = xasprintf("%s/nlswitch-test-oridir.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(tmp));
	path = xasprintf("%s/nlswitch.xml", tmp);
	odir = xasprintf("%s/fixtures/oridir/invalid/dup-ori.xml", root);
	text = xasprintf("<?xml version=\"1.0\"?>\n<nlswitch>"
	    "<listen address=\"127.0.0.1\" port=\"0\"/><datadir>d</datadir>"
	    "<pki ca=\"a\" cert=\"b\" key=\"c\"/>\n<line code=\"CADMV\" "
	    "cn=\"cadmv\" member=\"CA\"><ori>CAOLN0000</ori><accept>DQ"
	    "</accept></line>\n<oridir>%s</oridir>\n</nlswitch>\n", odir);
	fp = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
	fputs(text, fp);
	fclose(fp);
	cfg = NULL;
	CU_ASSERT_EQUAL(config_load(path, to_schemas, &cfg, &cause), -1);
	CU_ASSERT_PTR_NULL(cfg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	prefix = xasprintf("%s:5: ORI WA0340000 listed twice", odir);
	if (strncmp(cause, prefix, strlen(prefix)) != 0)
		fprintf(stderr, "\ngot \"%s\"\n", cause);
	CU_ASSERT_EQUAL(strncmp(cause, prefix, strlen(prefix)), 0);
	free(prefix);
	free(cause);
	unlink(path);
	rmdir(tmp);
	free(text);
	free(odir);
	free(path);
	free(tmp);
	free(root);
}

/* A config whose directory or photo rules are wrong does not load. */
static void
test_oridir_config_invalid(void)
{
	static const struct {
		const char	*body;
		const char	*words;
	} bad[] = {
		{ "<line code=\"WAAGY\" cn=\"waagy\"><ori>WA0340000</ori>"
		  "<accept>DR</accept><photo-policy share=\"no\"/></line>",
		  ":3: line WAAGY: photo-policy needs a line that serves a "
		  "member" },
		{ "<line code=\"CADMV\" cn=\"cadmv\" member=\"CA\"><ori>"
		  "CAOLN0000</ori><accept>DQ</accept><photo-policy "
		  "retention=\"forever\"/></line>", ":3: " },
		{ "<line code=\"CADMV\" cn=\"cadmv\" member=\"CA\"><ori>"
		  "CAOLN0000</ori><accept>DQ</accept></line>\n"
		  "<oridir>../fixtures/oridir/invalid/dup-ori.xml</oridir>",
		  "dup-ori.xml:5: ORI WA0340000 listed twice" },
		{ "<line code=\"CADMV\" cn=\"cadmv\" member=\"CA\"><ori>"
		  "CAOLN0000</ori><accept>DQ</accept></line>\n"
		  "<audit retention-days=\"0\"/>", ":4: " },
	};
	struct config	*cfg;
	char		*dir, *path, *text, *cause;
	FILE		*fp;
	size_t		 i;

	/* Written inside the repo's tests/ so the relative oridir path of
	 * the third case resolves. */
	dir = xasprintf("%s/tests", to_root);
	path = xasprintf("%s/.test_oridir.%d.xml", dir, (int)getpid());
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		text = xasprintf("<?xml version=\"1.0\"?>\n<nlswitch>"
		    "<listen address=\"127.0.0.1\" port=\"0\"/><datadir>d"
		    "</datadir><pki ca=\"a\" cert=\"b\" key=\"c\"/>\n%s\n"
		    "</nlswitch>\n", bad[i].body);
		fp = fopen(path, "w");
		CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
		fputs(text, fp);
		fclose(fp);
		cfg = NULL;
		cause = NULL;
		CU_ASSERT_EQUAL(config_load(path, to_schemas, &cfg, &cause),
		    -1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
		if (strstr(cause, bad[i].words) == NULL)
			fprintf(stderr, "\nconfig case %zu: got \"%s\"\n", i,
			    cause);
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, bad[i].words));
		free(cause);
		free(text);
	}
	unlink(path);
	free(path);
	free(dir);
}

int
test_oridir_register(void)
{
	CU_pSuite s;

	if ((s = CU_add_suite("oridir", to_init, to_cleanup)) == NULL ||
	    CU_ADD_TEST(s, test_oridir_load) == NULL ||
	    CU_ADD_TEST(s, test_oridir_invalid) == NULL ||
	    CU_ADD_TEST(s, test_oridir_config) == NULL ||
	    CU_ADD_TEST(s, test_oridir_config_directory) == NULL ||
	    CU_ADD_TEST(s, test_oridir_config_invalid) == NULL)
		return -1;
	return 0;
}
