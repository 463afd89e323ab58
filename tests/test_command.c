/*
 * test_command - the operator's command table: lookup by name and
 * subcommand, which command lines change the switch (table-driven), which
 * read IDs from standard input, unknown commands, and the table's own
 * consistency (one entry per handler identifier, every field filled).
 */
#include <string.h>

#include <CUnit/CUnit.h>

#include "command.h"

#define TEST_ARGV_MAX	6

/* A command line as words, NULL-terminated. */
struct test_cmdline {
	const char	*argv[TEST_ARGV_MAX];
	int		 id;		/* expected entry, -1: none */
	int		 mutates;
	int		 reads_ids;
};

static const struct test_cmdline test_cmdlines[] = {
	{ { "status" }, COMMAND_STATUS, 0, 0 },
	{ { "status", "extra" }, COMMAND_STATUS, 0, 0 },
	{ { "lines" }, COMMAND_LINES, 0, 0 },
	{ { "queues" }, COMMAND_QUEUES, 0, 0 },
	{ { "show", "000000000000002a" }, COMMAND_SHOW, 0, 0 },
	{ { "hold", "CADMV" }, COMMAND_HOLD, 1, 0 },
	{ { "hold", "CADMV", "DQ" }, COMMAND_HOLD, 1, 0 },
	{ { "release", "CADMV" }, COMMAND_RELEASE, 1, 0 },
	{ { "remove", "NVDMV", "KQ" }, COMMAND_REMOVE, 1, 0 },
	{ { "restore", "NVDMV", "KQ" }, COMMAND_RESTORE, 1, 0 },
	{ { "purge", "CADMV" }, COMMAND_PURGE, 1, 1 },
	{ { "purge", "CADMV", "ALL" }, COMMAND_PURGE, 1, 0 },
	{ { "purge" }, COMMAND_PURGE, 1, 0 },
	{ { "deadletters" }, COMMAND_DEAD_LIST, 0, 0 },
	{ { "deadletters", "list" }, COMMAND_DEAD_LIST, 0, 0 },
	{ { "deadletters", "requeue" }, COMMAND_DEAD_REQUEUE, 1, 1 },
	{ { "deadletters", "requeue", "ALL" }, COMMAND_DEAD_REQUEUE, 1, 0 },
	{ { "deadletters", "purge" }, COMMAND_DEAD_PURGE, 1, 1 },
	{ { "deadletters", "purge", "ALL" }, COMMAND_DEAD_PURGE, 1, 0 },
	{ { "audit", "--mke", "DQ" }, COMMAND_AUDIT, 0, 0 },
	{ { "quarantine" }, COMMAND_QUARANTINE, 0, 0 },
	{ { "reload" }, COMMAND_RELOAD, 1, 0 },
	{ { "drain", "30" }, COMMAND_DRAIN, 1, 0 },
	/* Unknown: a subcommand of a changing name asks for POST. */
	{ { "deadletters", "bogus" }, -1, 1, 0 },
	{ { "frobnicate" }, -1, 0, 0 },
	{ { "frobnicate", "ALL" }, -1, 0, 0 },
	{ { "Status" }, -1, 0, 0 },
	{ { "" }, -1, 0, 0 },
};

static int
test_argc(const struct test_cmdline *t)
{
	int n = 0;

	while (n < TEST_ARGV_MAX && t->argv[n] != NULL)
		n++;
	return n;
}

static void
test_command_lines(void)
{
	size_t i;

	for (i = 0; i < sizeof test_cmdlines / sizeof test_cmdlines[0]; i++) {
		const struct test_cmdline	*t = &test_cmdlines[i];
		char *const			*argv = (char *const *)t->argv;
		int				 argc = test_argc(t);
		const struct command		*c = command_lookup(argc, argv);

		int				 id = c ? (int)c->id : -1;

		/* The row's first words name it in a failure. */
		if (id != t->id || command_is_mutating(argc, argv) !=
		    t->mutates || command_is_reading_ids(argc, argv) !=
		    t->reads_ids)
			CU_FAIL(argc > 1 ? t->argv[1] : t->argv[0]);
		CU_ASSERT_EQUAL(id, t->id);
		CU_ASSERT_EQUAL(command_is_mutating(argc, argv), t->mutates);
		CU_ASSERT_EQUAL(command_is_reading_ids(argc, argv),
		    t->reads_ids);
		if (c != NULL) {
			CU_ASSERT_STRING_EQUAL(c->name, t->argv[0]);
			CU_ASSERT_EQUAL(c->mutates, t->mutates);
		}
	}
}

static void
test_command_subcommand(void)
{
	char			*list[] = { "deadletters", "list", NULL };
	char			*requeue[] = { "deadletters", "requeue", NULL };
	const struct command	*c;

	c = command_lookup(2, list);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->sub, "list");
	CU_ASSERT_TRUE(c->sub_default);
	c = command_lookup(2, requeue);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_STRING_EQUAL(c->sub, "requeue");
	CU_ASSERT_EQUAL(c->all_at, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(c->usage, "requeue"));
}

static void
test_command_unknown(void)
{
	char *frob[] = { "frobnicate", NULL };

	CU_ASSERT_PTR_NULL(command_lookup(1, frob));
	CU_ASSERT_PTR_NULL(command_lookup(0, frob));
	CU_ASSERT_PTR_NULL(command_next(NULL, "frobnicate"));
	CU_ASSERT_FALSE(command_is_mutating(0, frob));
	CU_ASSERT_FALSE(command_is_reading_ids(0, frob));
}

/* Each identifier once, every entry described, names walk together. */
static void
test_command_table(void)
{
	const struct command	*c = NULL;
	int			 seen[COMMAND_MAX] = { 0 }, n = 0, i;

	while ((c = command_next(c, NULL)) != NULL) {
		CU_ASSERT_FATAL((int)c->id >= 0 && c->id < COMMAND_MAX);
		seen[c->id]++;
		n++;
		CU_ASSERT_PTR_NOT_NULL(c->name);
		CU_ASSERT_PTR_NOT_NULL(c->help);
		CU_ASSERT_PTR_NOT_NULL(c->usage);
		CU_ASSERT_EQUAL(strncmp(c->usage, c->name, strlen(c->name)), 0);
		CU_ASSERT(c->all_at == 0 || c->mutates);
	}
	CU_ASSERT_EQUAL(n, COMMAND_MAX);
	for (i = 0; i < COMMAND_MAX; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
	n = 0;
	for (c = command_next(NULL, "deadletters"); c != NULL;
	    c = command_next(c, "deadletters"))
		n++;
	CU_ASSERT_EQUAL(n, 3);
}

int
test_command_register(void)
{
	CU_pSuite s = CU_add_suite("command", NULL, NULL);

	if (s == NULL ||
	    CU_ADD_TEST(s, test_command_lines) == NULL ||
	    CU_ADD_TEST(s, test_command_subcommand) == NULL ||
	    CU_ADD_TEST(s, test_command_unknown) == NULL ||
	    CU_ADD_TEST(s, test_command_table) == NULL)
		return -1;
	return 0;
}
