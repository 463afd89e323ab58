/*
 * it_demo - the scripted demo (tools/demo, what `make demo` runs) from
 * start to end with real processes on 127.0.0.1, and what it leaves
 * behind: every step behaves (the script checks each one and exits
 * non-zero otherwise), the multi-state query gets one merged answer,
 * and the photo, the store and the log the summary points to are there
 * after it exited (issue 15, item 6), with the way to remove them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "util.h"

/* The path after "label" up to the end of its line (static buffer). */
static const char *
path_after(const char *out, const char *label)
{
	static char	 p[512];
	const char	*s = strstr(out, label);

	p[0] = '\0';
	if (s != NULL)
		snprintf(p, sizeof p, "%.*s", (int)strcspn(s + strlen(label),
		    " \n("), s + strlen(label));
	return p;
}

static void
test_demo(void)
{
	struct it_env	*e = it_env_new("demo", "");
	struct stat	 st;
	char		 cmd[1200], *out = NULL, *n = NULL;
	const char	*photo;

	CU_ASSERT_PTR_NOT_NULL_FATAL(e);
	snprintf(cmd, sizeof cmd, "NLSWITCH_DEMO_DIR='%s/run' timeout 300 "
	    "tools/demo", e->dir);
	CU_ASSERT_EQUAL(it_sh(e, cmd, NULL, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "demo: OK"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "5. DQ to NL answered once, merged: "
	    "QUERIED 2: CA NV / HIT 1: CA / NOT ON FILE 1: NV"));
	/* What the summary points to is there. */
	photo = path_after(out, "saved in ");
	snprintf(cmd, sizeof cmd, "%s/run/photos", e->dir);
	CU_ASSERT_STRING_EQUAL(photo, cmd);
	snprintf(cmd, sizeof cmd, "%s/run/photos/DEMO1.jpg", e->dir);
	CU_ASSERT(stat(cmd, &st) == 0 && st.st_size > 1000);
	snprintf(cmd, sizeof cmd, "%s/run/nlswitchd.log", e->dir);
	CU_ASSERT_EQUAL(stat(cmd, &st), 0);
	snprintf(cmd, sizeof cmd, "bin/nlaudit -d '%s/run/data' --count",
	    e->dir);
	CU_ASSERT_EQUAL(it_sh(e, cmd, NULL, &n), 0);
	CU_ASSERT(n != NULL && atoi(n) > 10);
	snprintf(cmd, sizeof cmd, "remove it with: rm -rf %s/run", e->dir);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, cmd));
	if (strstr(out, "demo: OK") == NULL)
		fprintf(stderr, "\n%s\n", out);
	free(n);
	free(out);
	it_env_free(e);
}

int
main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS ||
	    (s = CU_add_suite("it_demo", NULL, NULL)) == NULL ||
	    CU_ADD_TEST(s, test_demo) == NULL)
		return 1;
	return it_run_suites();
}
