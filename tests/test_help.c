/*
 * test_help - the HELP files the switch answers from its configuration
 * (fixtures/config/example.xml: CA answers DQ KQ DNQ, NV DQ DNQ).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "config.h"
#include "help.h"
#include "msg.h"
#include "unit.h"
#include "util.h"

static struct config	*test_help_cfg;

static int
test_help_init(void)
{
	char	*cause = NULL, *path;
	int	 rc;

	/* unit_path's buffer is static: one call at a time. */
	path = xstrdup(unit_path("fixtures/config/example.xml"));
	rc = config_load(path, unit_path("schemas"), &test_help_cfg, &cause);
	free(path);
	if (rc == 0)
		return 0;
	fprintf(stderr, "test_help: %s\n", cause);
	free(cause);
	return -1;
}

static int
test_help_cleanup(void)
{
	config_free(test_help_cfg);
	return 0;
}

static void
test_help_dest(void)
{
	static const struct {
		const char	*dest;
		int		 want;
	} rows[] = {
		{ "NLOLNHELP", HELP_QUERY },
		{ "CANOQHELP", HELP_QUERY },
		{ "AZLICHELP", HELP_QUERY },
		{ "CAOLNUPDT", HELP_UPDATE },
		{ "NLNLEAPND", HELP_UPDATE },
		{ "NLNLECNCL", HELP_UPDATE },
		{ "CAOLN0000", HELP_NONE },	/* an agency's ORI */
		{ "NLOLNHEL", HELP_NONE },	/* 8 characters */
		{ "NLOLNHELPS", HELP_NONE },
		{ "nlolnhelp", HELP_NONE },
		{ "NL0LNHELP", HELP_NONE },	/* a digit in the file */
		{ "CA", HELP_NONE },
	};
	size_t i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		CU_ASSERT_EQUAL(help_dest(rows[i].dest), rows[i].want);
}

/* NV holds DNQ (the operator held it); the rest are in service. */
static int
test_help_svc(const struct config_line *cl, int key, void *arg)
{
	(void)arg;
	if (strcmp(cl->code, "NVDMV") == 0 && key == MSG_KEY_DNQ)
		return CONFIG_SVC_HELD;
	return CONFIG_SVC_IN;
}

/* Each file: what it must say and what it must not. */
static void
test_help_files(void)
{
	static const struct {
		const char	*dest;
		const char	*has[4];
		const char	*hasnot[2];
	} rows[] = {
		{ "NLOLNHELP", { "CA  LINE CADMV  ORI CAOLN0000",
		    "    KQ  IN SERVICE", "NV  LINE NVDMV",
		    "    DNQ HELD" }, { "WAAGY", NULL } },
		{ "CAOLNHELP", { "CA  LINE CADMV", "    DNQ IN SERVICE", NULL },
		    { "NVDMV", NULL } },
		{ "NLNOQHELP", { "CA  IN SERVICE", "NV  HELD", NULL },
		    { NULL } },
		{ "NVNOQHELP", { "NV  HELD", NULL }, { "CA ", NULL } },
		{ "AZOLNHELP", { "NO MEMBER LINE", NULL }, { NULL } },
		{ "NLBASHELP", { "NO BAS HELP INFORMATION AVAILABLE FOR THIS "
		    "USER", NULL }, { NULL } },
	};
	struct ubuf	b;
	size_t		i, j;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		ubuf_init(&b);
		help_file(test_help_cfg, rows[i].dest, test_help_svc, NULL,
		    &b);
		ubuf_adds(&b, "");
		for (j = 0; j < 4 && rows[i].has[j] != NULL; j++)
			if (strstr(b.data, rows[i].has[j]) == NULL) {
				fprintf(stderr, "\n%s lacks \"%s\":\n%s",
				    rows[i].dest, rows[i].has[j], b.data);
				CU_FAIL("help file lacks a line");
			}
		for (j = 0; j < 2 && rows[i].hasnot[j] != NULL; j++)
			CU_ASSERT_PTR_NULL(strstr(b.data, rows[i].hasnot[j]));
		ubuf_free(&b);
	}
}

int
test_help_register(void)
{
	CU_pSuite s = CU_add_suite("help", test_help_init, test_help_cleanup);

	if (s == NULL ||
	    CU_add_test(s, "dest", test_help_dest) == NULL ||
	    CU_add_test(s, "files", test_help_files) == NULL)
		return -1;
	return 0;
}
