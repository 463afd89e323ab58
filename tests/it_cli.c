/*
 * it_cli - the command line surface (issue 15, item 3):
 *
 *  - every program in bin/ and every script in tools/ (and tests/run-it)
 *    answers --help with exit 0, "usage: NAME ..." on stdout and nothing
 *    on stderr, without touching its working directory, and --version
 *    with "NAME VERSION", VERSION being `make -s print-version`;
 *  - every man page in docs/man/ lints clean (mandoc -T lint -W style,
 *    else groff's warnings through man), and each installed program and
 *    the configuration file have theirs, with the usual sections;
 *  - make install PREFIX=... DESTDIR=... puts the programs, schemas, man
 *    pages, the unit (Exec lines naming PREFIX/sbin) and the example
 *    config in place; the installed nlswitchd checks that config with
 *    the installed schemas (a damaged installed config.xsd makes it
 *    fail), and make uninstall leaves no file behind.
 *
 * Every command runs under timeout(1); the run directory is the test's
 * own mkdtemp and is removed at the end (NLSWITCH_KEEP=1 keeps it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "it_util.h"
#include "util.h"

/* Bound on each command: --help, a lint, a make install. */
#define CLI_TIMEOUT	"timeout -k 5 120 "

/* The make that runs from a test: no jobserver of an outer make. */
#define CLI_MAKE	"env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s " \
			    "--no-print-directory "

static char	 root[1024];
static char	 run_dir[256];
static char	 version[64];

/* The pages `make install` must install: a program's or the config's. */
static const char *const cli_pages[] = {
	"nlswitchd.8", "nlctl.8", "nlvalidate.1", "nlreplay.1", "nlagency.1",
	"nlstate.1", "nlaudit.1", "nlbench.1", "nlswitch.xml.5"
};
#define CLI_NPAGES	(sizeof cli_pages / sizeof cli_pages[0])

/*
 * Run a shell command from the repository root; its standard output into
 * *out and its standard error into *err (either may be NULL: dropped).
 * @return the exit status, -1 if it did not exit.
 */
static int
cli_run(const char *cmd, char **out, char **err)
{
	char	*full, *ofile, *efile, *b;
	int	 st;

	ofile = xasprintf("%s/stdout", run_dir);
	efile = xasprintf("%s/stderr", run_dir);
	full = xasprintf("cd '%s' && { %s ; } </dev/null >'%s' 2>'%s'", root,
	    cmd, ofile, efile);
	st = system(full);
	if (out != NULL)
		*out = (b = util_read_file(ofile, NULL)) ? b : xstrdup("");
	if (err != NULL)
		*err = (b = util_read_file(efile, NULL)) ? b : xstrdup("");
	unlink(ofile);
	unlink(efile);
	free(full);
	free(ofile);
	free(efile);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 1 if path is a regular file with an execute bit. */
static int
cli_is_exec(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_mode & 0111) != 0;
}

/* 1 if dir holds nothing. */
static int
cli_is_empty(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}

/*
 * One program's --help and --version, run with an empty working
 * directory that must stay empty. rel is relative to the repository.
 */
static void
cli_check_program(const char *rel)
{
	const char	*name = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	char		*cwd, *cmd, *out, *err, *want, *usage;
	int		 rc;

	cwd = xasprintf("%s/cwd", run_dir);
	CU_ASSERT_EQUAL_FATAL(mkdir(cwd, 0700), 0);

	cmd = xasprintf("cd '%s' && " CLI_TIMEOUT "'%s/%s' --help", cwd, root,
	    rel);
	rc = cli_run(cmd, &out, &err);
	usage = xasprintf("usage: %s", name);
	if (rc != 0 || strncmp(out, usage, strlen(usage)) != 0 ||
	    err[0] != '\0') {
		fprintf(stderr, "\n  %s --help: exit %d\n  stdout: %.200s\n"
		    "  stderr: %.200s\n", rel, rc, out, err);
		CU_FAIL("--help: exit 0, usage on stdout, nothing on stderr");
	}
	free(usage);
	free(out);
	free(err);
	free(cmd);

	cmd = xasprintf("cd '%s' && " CLI_TIMEOUT "'%s/%s' --version", cwd,
	    root, rel);
	rc = cli_run(cmd, &out, &err);
	want = xasprintf("%s %s\n", name, version);
	if (rc != 0 || strcmp(out, want) != 0 || err[0] != '\0') {
		fprintf(stderr, "\n  %s --version: exit %d\n  stdout: %.200s"
		    "  want: %s  stderr: %.200s\n", rel, rc, out, want, err);
		CU_FAIL("--version: exit 0, NAME VERSION on stdout");
	}
	free(want);
	free(out);
	free(err);
	free(cmd);

	if (!cli_is_empty(cwd)) {
		fprintf(stderr, "\n  %s: --help or --version wrote into its "
		    "working directory\n", rel);
		CU_FAIL("--help/--version left files behind");
	}
	cmd = xasprintf("rm -rf '%s'", cwd);
	CU_ASSERT_EQUAL(system(cmd), 0);
	free(cmd);
	free(cwd);
}

/* Every executable in dir (relative to the repository) but skip; how many. */
static int
cli_check_dir(const char *dir, const char *skip)
{
	struct dirent	**de;
	char		 *path, *rel;
	int		  i, nd, n = 0;

	path = xasprintf("%s/%s", root, dir);
	nd = scandir(path, &de, NULL, alphasort);
	free(path);
	for (i = 0; i < nd; i++) {
		rel = xasprintf("%s/%s", dir, de[i]->d_name);
		path = xasprintf("%s/%s", root, rel);
		if (de[i]->d_name[0] != '.' && cli_is_exec(path) &&
		    (skip == NULL || strstr(de[i]->d_name, skip) == NULL)) {
			cli_check_program(rel);
			n++;
		}
		free(path);
		free(rel);
		free(de[i]);
	}
	if (nd > 0)
		free(de);
	return n;
}

static void
test_help_version(void)
{
	/* The programs of the Makefile (ten), the scripts of tools/. */
	CU_ASSERT(cli_check_dir("bin", NULL) >= 10);
	CU_ASSERT(cli_check_dir("tools", NULL) >= 8);
	cli_check_program("tests/run-it");
}

/* Every page lints clean; the required ones exist with their sections. */
static void
test_man_pages(void)
{
	static const char *const sections[] = { ".SH NAME", ".SH SYNOPSIS",
	    ".SH DESCRIPTION", ".SH SEE ALSO" };
	char	*out, *err, *path, *page;
	size_t	 i, j;
	int	 rc;

	if (cli_run("command -v mandoc", NULL, NULL) == 0)
		rc = cli_run(CLI_TIMEOUT "mandoc -T lint -W style docs/man/*",
		    &out, &err);
	else
		rc = cli_run("for m in docs/man/*; do LC_ALL=C.UTF-8 "
		    "MANWIDTH=80 " CLI_TIMEOUT "man --warnings -l \"$m\" "
		    ">/dev/null || exit 1; done", &out, &err);
	if (rc != 0 || out[0] != '\0' || err[0] != '\0') {
		fprintf(stderr, "\n  man page lint: exit %d\n%s%s", rc, out,
		    err);
		CU_FAIL("man pages lint clean");
	}
	free(out);
	free(err);

	for (i = 0; i < CLI_NPAGES; i++) {
		path = xasprintf("%s/docs/man/%s", root, cli_pages[i]);
		page = util_read_file(path, NULL);
		if (page == NULL) {
			fprintf(stderr, "\n  missing %s\n", path);
			CU_FAIL("a man page per installed program");
			free(path);
			continue;
		}
		for (j = 0; j < sizeof sections / sizeof sections[0]; j++)
			if (strstr(page, sections[j]) == NULL) {
				fprintf(stderr, "\n  %s: no %s\n", path,
				    sections[j]);
				CU_FAIL("man page sections");
			}
		/* A program's page: its options and exit status, the two
		 * options every program has. */
		if (strstr(cli_pages[i], ".xml.") == NULL &&
		    (strstr(page, ".SH OPTIONS") == NULL ||
		    strstr(page, ".SH EXIT STATUS") == NULL ||
		    strstr(page, "\\-\\-version") == NULL ||
		    strstr(page, "\\-\\-help") == NULL)) {
			fprintf(stderr, "\n  %s: OPTIONS, EXIT STATUS, --help "
			    "or --version missing\n", path);
			CU_FAIL("program man page");
		}
		free(page);
		free(path);
	}
}

/* 1 if DESTDIR/PREFIX/rel exists as a regular file (with x when exec). */
static int
cli_installed(const char *stage, const char *rel, int exec)
{
	struct stat	 sb;
	char		*path = xasprintf("%s/opt/nlsw/%s", stage, rel);
	int		 ok;

	ok = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (!exec || (sb.st_mode & 0111) != 0);
	if (!ok)
		fprintf(stderr, "\n  not installed: %s\n", path);
	free(path);
	return ok;
}

static void
test_install(void)
{
	static const char *const sbin[] = { "nlswitchd", "nlctl" };
	static const char *const bin[] = { "nlvalidate", "nlreplay",
	    "nlagency", "nlstate", "nlaudit", "nlbench" };
	char	*stage, *vars, *cmd, *out, *err, *rel, *unit, *want;
	size_t	 i;
	int	 rc;

	stage = xasprintf("%s/stage", run_dir);
	vars = xasprintf("PREFIX=/opt/nlsw DESTDIR='%s'", stage);
	cmd = xasprintf(CLI_TIMEOUT CLI_MAKE "install %s", vars);
	rc = cli_run(cmd, &out, &err);
	if (rc != 0)
		fprintf(stderr, "\n  make install: exit %d\n%s%s", rc, out, err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	free(out);
	free(err);
	free(cmd);

	for (i = 0; i < sizeof sbin / sizeof sbin[0]; i++) {
		rel = xasprintf("sbin/%s", sbin[i]);
		CU_ASSERT(cli_installed(stage, rel, 1));
		free(rel);
	}
	for (i = 0; i < sizeof bin / sizeof bin[0]; i++) {
		rel = xasprintf("bin/%s", bin[i]);
		CU_ASSERT(cli_installed(stage, rel, 1));
		free(rel);
	}
	for (i = 0; i < CLI_NPAGES; i++) {
		rel = xasprintf("share/man/man%c/%s",
		    cli_pages[i][strlen(cli_pages[i]) - 1], cli_pages[i]);
		CU_ASSERT(cli_installed(stage, rel, 0));
		free(rel);
	}
	CU_ASSERT(cli_installed(stage, "share/nlswitch/schemas/config.xsd", 0));
	CU_ASSERT(cli_installed(stage, "share/nlswitch/schemas/nlets.xsd", 0));
	CU_ASSERT(cli_installed(stage, "share/doc/nlswitch/nlswitch.xml.example",
	    0));
	CU_ASSERT(cli_installed(stage, "lib/systemd/system/nlswitchd.service",
	    0));

	/* The unit runs the installed daemon. */
	rel = xasprintf("%s/opt/nlsw/lib/systemd/system/nlswitchd.service",
	    stage);
	unit = util_read_file(rel, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(unit);
	CU_ASSERT_PTR_NOT_NULL(strstr(unit,
	    "\nExecStart=/opt/nlsw/sbin/nlswitchd -d -f "));
	CU_ASSERT_PTR_NOT_NULL(strstr(unit,
	    "\nExecStartPre=/opt/nlsw/sbin/nlswitchd -n -f "));
	CU_ASSERT_PTR_NULL(strstr(unit, "/usr/local/sbin/"));
	free(unit);
	free(rel);

	/* The installed daemon checks the example with the installed
	 * schemas: it says where they are, and a damaged config.xsd
	 * there makes the check fail. The check loads <pki> too: the
	 * example's /etc/nlswitch/pki becomes a test PKI of the run. */
	rel = xasprintf("tools/nlpki '%1$s/pki' waagy >/dev/null && sed "
	    "'s|/etc/nlswitch/pki|%1$s/pki|g' "
	    "'%2$s/opt/nlsw/share/doc/nlswitch/nlswitch.xml.example' "
	    "> '%1$s/example.xml'", run_dir, stage);
	CU_ASSERT_EQUAL(cli_run(rel, NULL, NULL), 0);
	free(rel);
	cmd = xasprintf("env -u NLSWITCH_SCHEMADIR " CLI_TIMEOUT
	    "'%s/opt/nlsw/sbin/nlswitchd' -n -f '%s/example.xml'", stage,
	    run_dir);
	rc = cli_run(cmd, &out, &err);
	if (rc != 0)
		fprintf(stderr, "\n  installed nlswitchd -n: %d\n%s", rc, err);
	CU_ASSERT_EQUAL(rc, 0);
	free(out);
	free(err);
	rel = xasprintf("env -u NLSWITCH_SCHEMADIR '%s/opt/nlsw/sbin/"
	    "nlswitchd' --help", stage);
	CU_ASSERT_EQUAL(cli_run(rel, &out, NULL), 0);
	want = xasprintf("Schemas: %s/opt/nlsw/share/nlswitch/schemas\n",
	    stage);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	free(want);
	free(out);
	free(rel);
	rel = xasprintf("cp '%1$s/opt/nlsw/share/nlswitch/schemas/config.xsd' "
	    "'%2$s/config.xsd' && echo '<broken' > "
	    "'%1$s/opt/nlsw/share/nlswitch/schemas/config.xsd'", stage,
	    run_dir);
	CU_ASSERT_EQUAL(cli_run(rel, NULL, NULL), 0);
	free(rel);
	CU_ASSERT_NOT_EQUAL(cli_run(cmd, NULL, NULL), 0);
	rel = xasprintf("cp '%2$s/config.xsd' "
	    "'%1$s/opt/nlsw/share/nlswitch/schemas/config.xsd'", stage,
	    run_dir);
	CU_ASSERT_EQUAL(cli_run(rel, NULL, NULL), 0);
	free(rel);
	CU_ASSERT_EQUAL(cli_run(cmd, NULL, NULL), 0);
	free(cmd);

	/* An installed tool validates a message with them too. */
	cmd = xasprintf("env -u NLSWITCH_SCHEMADIR " CLI_TIMEOUT
	    "'%s/opt/nlsw/bin/nlvalidate' fixtures/msg/valid/dq-oln.xml",
	    stage);
	CU_ASSERT_EQUAL(cli_run(cmd, NULL, NULL), 0);
	free(cmd);

	/* uninstall: no file left, nlswitch's own directories gone. */
	cmd = xasprintf(CLI_TIMEOUT CLI_MAKE "uninstall %s", vars);
	rc = cli_run(cmd, &out, &err);
	if (rc != 0)
		fprintf(stderr, "\n  make uninstall: exit %d\n%s%s", rc, out,
		    err);
	CU_ASSERT_EQUAL(rc, 0);
	free(out);
	free(err);
	free(cmd);
	cmd = xasprintf("find '%s' ! -type d", stage);
	CU_ASSERT_EQUAL(cli_run(cmd, &out, NULL), 0);
	if (out[0] != '\0')
		fprintf(stderr, "\n  left after make uninstall:\n%s", out);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	free(cmd);
	cmd = xasprintf("find '%s' -name '*nlswitch*'", stage);
	CU_ASSERT_EQUAL(cli_run(cmd, &out, NULL), 0);
	CU_ASSERT_STRING_EQUAL(out, "");
	free(out);
	free(cmd);
	/* Twice is harmless. */
	cmd = xasprintf(CLI_TIMEOUT CLI_MAKE "uninstall %s", vars);
	CU_ASSERT_EQUAL(cli_run(cmd, NULL, NULL), 0);
	free(cmd);
	free(vars);
	free(stage);
}

int
main(void)
{
	CU_pSuite	 su;
	const char	*r = getenv("NLSWITCH_ROOT");
	char		*out, *cmd;
	int		 rc;

	snprintf(root, sizeof root, "%s", r != NULL && *r ? r : ".");
	snprintf(run_dir, sizeof run_dir, "/tmp/nlswitch-it-cli-XXXXXX");
	if (mkdtemp(run_dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	/* The version, from the one place it is kept. */
	if (cli_run(CLI_TIMEOUT CLI_MAKE "print-version", &out, NULL) != 0 ||
	    out[0] == '\0' || strlen(out) >= sizeof version) {
		fprintf(stderr, "it_cli: make print-version failed\n");
		return 1;
	}
	out[strcspn(out, "\n")] = '\0';
	util_strlcpy(version, out, sizeof version);
	free(out);

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	su = CU_add_suite("cli", NULL, NULL);
	if (su == NULL || CU_ADD_TEST(su, test_help_version) == NULL ||
	    CU_ADD_TEST(su, test_man_pages) == NULL ||
	    CU_ADD_TEST(su, test_install) == NULL)
		return 1;
	rc = it_run_suites();
	if (getenv("NLSWITCH_KEEP") == NULL) {
		cmd = xasprintf("rm -rf '%s'", run_dir);
		if (system(cmd) != 0)
			rc = 1;
		free(cmd);
	} else
		fprintf(stderr, "it_cli: kept %s\n", run_dir);
	return rc;
}
