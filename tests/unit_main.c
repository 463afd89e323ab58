/*
 * unit_main - CUnit registry and runner for every tests/test_<module>.c.
 *
 * Each suite file exports int test_<module>_register(void). They are
 * declared weak here so a module's suite joins the run by existing; the
 * runner exits non-zero when any assertion failed or a suite could not
 * register. The helpers the suites share (unit.h) are here too.
 */
#include <stdio.h>
#include <stdlib.h>

#include <CUnit/Basic.h>

#include "msgparse.h"
#include "unit.h"

#define SUITES(X) \
	X(util) X(xscan) X(frame) X(msg) X(config) X(router) X(queue) X(dmv) \
	X(avatar) X(policy) X(oridir) X(legacy) X(parser) X(audit) X(resend) \
	X(command) X(help) X(msq) X(hitconf) X(diag) X(history) X(line) \
	X(strmap) X(memtrim)

#define DECLARE(name) int test_##name##_register(void) __attribute__((weak));
SUITES(DECLARE)

struct unit_suite {
	const char	*name;
	int		(*reg)(void);
};

#define ENTRY(name) { #name, test_##name##_register },
static const struct unit_suite unit_suites[] = { SUITES(ENTRY) };

const char *
unit_path(const char *rel)
{
	static char	 buf[2048];
	const char	*r = getenv("NLSWITCH_ROOT");

	snprintf(buf, sizeof buf, "%s/%s", r != NULL && *r ? r : ".", rel);
	return buf;
}

struct msgparse_schema *
unit_schema_load(const char *suite)
{
	struct msgparse_schema	*s;
	char			*cause = NULL;

	if ((s = msgparse_schema_load(unit_path("schemas"), &cause)) == NULL) {
		fprintf(stderr, "%s: %s\n", suite, cause);
		free(cause);
	}
	return s;
}

int
main(int argc, char **argv)
{
	size_t		 i;
	int		 failed;
	unsigned int	 nfail;

	(void)argc;
	(void)argv;
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "unit: %s\n", CU_get_error_msg());
		return 1;
	}
	for (i = 0; i < sizeof unit_suites / sizeof unit_suites[0]; i++) {
		if (unit_suites[i].reg == NULL)
			continue;
		if (unit_suites[i].reg() != 0) {
			fprintf(stderr, "unit: suite %s failed to register: %s\n",
			    unit_suites[i].name, CU_get_error_msg());
			CU_cleanup_registry();
			return 1;
		}
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	nfail = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	failed = nfail != 0 || CU_get_number_of_suites_failed() != 0;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
