/*
 * nlaudit - export the switch's audit trail as JSON lines.
 *
 *   nlaudit (-d DATADIR | -f CONFIG) [--since TIME] [--until TIME]
 *           [--ori ORI] [--mke KEY]
 *           [--decision allow|deny|strip|withheld|left-out]
 *           [--event EVENT] [--count] [--archive[=DIR]]
 *
 * With --archive the records pruned into the archive directory (DIR, or
 * the config's <audit archive>) come first, in time order, then the
 * store's; a record in both (archived, then the switch stopped before
 * the prune committed) is printed once.
 *
 * Reads the LMDB store read-only (queue_open_rdonly): it works while
 * nlswitchd runs, and never changes anything. Every record is one JSON
 * object on one line (docs/policy.md lists the events and fields); the
 * filters select on the record's top-level fields, and --decision also
 * on the decision of each destination of a photo request ("decisions").
 * TIME is what nlctl takes too (util_parse_time): -N[smhd] ago, RFC 3339
 * (YYYY-MM-DD[THH:MM[:SS[.frac]]], Z or +HH:MM, UTC when none: the
 * records' own "time" is one), or seconds since the epoch;
 * --since is inclusive, --until exclusive.
 *
 * Exit: 0 (records printed, possibly none), 1 store unreadable, 2 usage.
 */
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "queue.h"
#include "util.h"

struct nlaudit {
	uint64_t	 until_us;
	const char	*ori;
	const char	*mke;
	const char	*decision;
	const char	*event;
	int		 count_only;
	unsigned long	 n;
	uint64_t	 archived_to;	/* last archived record's time */
	int		 stop;
};

/* The usage: on stdout and exit 0 for --help, else stderr and exit 2. */
static void __attribute__((noreturn))
nlaudit_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr, "usage: nlaudit (-d DATADIR | -f CONFIG) "
	    "[--since TIME] [--until TIME]\n"
	    "               [--ori ORI] [--mke KEY] [--decision "
	    "allow|deny|strip|withheld|left-out]\n"
	    "               [--event EVENT] [--count]\n"
	    "               [--archive[=DIR]]\n"
	    "       nlaudit --help | --version\n"
	    UTIL_TIME_HELP "\n");
	exit(status);
}

/* TIME -> us since the epoch (util_parse_time, as nlctl); exits on a
 * bad value. */
static uint64_t
nlaudit_time(const char *s)
{
	uint64_t us;

	if (util_parse_time(s, util_now_us(), &us) == 0)
		return us;
	fprintf(stderr, "nlaudit: bad time \"%s\": %s\n", s, UTIL_TIME_HELP);
	exit(2);
}

/* 1 if the record's field name equals want (no filter: 1). */
static int
nlaudit_match(const char *rec, size_t len, const char *name,
    const char *want)
{
	char v[64];

	if (want == NULL)
		return 1;
	return audit_field(rec, len, name, v, sizeof v) &&
	    strcmp(v, want) == 0;
}

/*
 * --decision: the record's decision, or the decision of one of its
 * destinations (the "decisions" of a photo request decided per
 * destination: allow, withheld, left-out, deny).
 */
static int
nlaudit_match_decision(const char *rec, size_t len, const char *want)
{
	char	*v, needle[80];
	size_t	 sz = len + 1;
	int	 found;

	if (nlaudit_match(rec, len, "decision", want))
		return 1;
	if (memmem(rec, len, "\"decisions\"", 11) == NULL)
		return 0;
	v = xmalloc(sz);
	snprintf(needle, sizeof needle, "\"decision\":\"%s\"", want);
	found = audit_field(rec, len, "decisions", v, sz) &&
	    strstr(v, needle) != NULL;
	free(v);
	return found;
}

static int
nlaudit_cb(uint64_t t_us, const char *rec, size_t len, void *arg)
{
	struct nlaudit *a = arg;

	if (a->until_us != 0 && t_us >= a->until_us) {
		a->stop = 1;
		return 1;		/* records come in time order */
	}
	if (t_us <= a->archived_to)
		return 0;		/* printed from the archive */
	if (!nlaudit_match(rec, len, "ori", a->ori) ||
	    !nlaudit_match(rec, len, "mke", a->mke) ||
	    (a->decision != NULL &&
	    !nlaudit_match_decision(rec, len, a->decision)) ||
	    !nlaudit_match(rec, len, "event", a->event))
		return 0;
	a->n++;
	if (!a->count_only) {
		fwrite(rec, 1, len, stdout);
		putchar('\n');
	}
	return 0;
}

/* The archive files, oldest first; @return 0, or -1 if unreadable. */
static int
nlaudit_archive(const char *dir, uint64_t since, struct nlaudit *a)
{
	glob_t		 g;
	FILE		*fp;
	char		*line = NULL, *pat, v[32];
	size_t		 cap = 0, i;
	ssize_t		 len;
	uint64_t	 t, last = 0;
	int		 rc;

	pat = xasprintf("%s/audit-*.jsonl", dir);
	rc = glob(pat, 0, NULL, &g);
	free(pat);
	if (rc == GLOB_NOMATCH)
		return 0;
	if (rc != 0) {
		fprintf(stderr, "nlaudit: %s: cannot list the archive\n", dir);
		return -1;
	}
	for (i = 0; i < g.gl_pathc && !a->stop; i++) {
		if ((fp = fopen(g.gl_pathv[i], "r")) == NULL) {
			fprintf(stderr, "nlaudit: %s: cannot read\n",
			    g.gl_pathv[i]);
			globfree(&g);
			free(line);
			return -1;
		}
		while (!a->stop && (len = getline(&line, &cap, fp)) > 0) {
			if (line[len - 1] == '\n')
				line[--len] = '\0';
			if (!audit_field(line, (size_t)len, "t", v, sizeof v))
				continue;
			t = strtoull(v, NULL, 10);
			if (t < since || t <= last)
				continue;
			nlaudit_cb(t, line, (size_t)len, a);
			last = t;
		}
		fclose(fp);
	}
	globfree(&g);
	free(line);
	a->archived_to = last;
	return 0;
}

/* What main takes from the command line besides the filters. */
struct nlaudit_opts {
	const char	*datadir;	/* -d */
	const char	*conf;		/* -f */
	const char	*archive;	/* --archive=DIR */
	int		 want_archive;	/* --archive */
	uint64_t	 since;		/* --since, us */
};

/* The command line into the filters of a and o; a usage error exits 2. */
static void
nlaudit_options(struct nlaudit *a, struct nlaudit_opts *o, int argc,
    char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "ori", required_argument, NULL, 'o' },
		{ "mke", required_argument, NULL, 'm' },
		{ "decision", required_argument, NULL, 'D' },
		{ "event", required_argument, NULL, 'e' },
		{ "count", no_argument, NULL, 'c' },
		{ "archive", optional_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	memset(a, 0, sizeof *a);
	memset(o, 0, sizeof *o);
	while ((ch = getopt_long(argc, argv, "d:f:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': o->datadir = optarg; break;
		case 'f': o->conf = optarg; break;
		case 's': o->since = nlaudit_time(optarg); break;
		case 'u': a->until_us = nlaudit_time(optarg); break;
		case 'o': a->ori = optarg; break;
		case 'm': a->mke = optarg; break;
		case 'D':
			if (strcmp(optarg, "allow") != 0 &&
			    strcmp(optarg, "deny") != 0 &&
			    strcmp(optarg, "strip") != 0 &&
			    strcmp(optarg, "withheld") != 0 &&
			    strcmp(optarg, "left-out") != 0)
				nlaudit_usage(2);
			a->decision = optarg;
			break;
		case 'e': a->event = optarg; break;
		case 'c': a->count_only = 1; break;
		case 'A':
			o->want_archive = 1;
			o->archive = optarg;
			break;
		case 'h': nlaudit_usage(0);
		case 'V': util_version_exit("nlaudit");
		default: nlaudit_usage(2);
		}
	}
	if ((o->datadir == NULL) == (o->conf == NULL) || optind != argc)
		nlaudit_usage(2);
}

/*
 * The store's directory (-d, or the config's datadir) into *dir, the
 * archive's (--archive=DIR, or the config's <audit archive>; else NULL)
 * into *adir; the caller frees both. @return 0, or the exit status (1 the
 * config cannot be loaded, 2 --archive and no directory for it).
 */
static int
nlaudit_dirs(const struct nlaudit_opts *o, char **dir, char **adir)
{
	struct config	*cfg = NULL;
	char		*cause = NULL;

	if (o->conf != NULL) {
		if (config_load(o->conf, util_schemadir(), &cfg,
		    &cause) == -1) {
			fprintf(stderr, "nlaudit: %s\n", cause);
			free(cause);
			return 1;
		}
		*dir = xstrdup(cfg->datadir);
		if (cfg->audit_archive != NULL)
			*adir = xstrdup(cfg->audit_archive);
		config_free(cfg);
	} else
		*dir = xstrdup(o->datadir);
	if (o->archive != NULL) {
		free(*adir);
		*adir = xstrdup(o->archive);
	}
	if (o->want_archive && *adir == NULL) {
		fprintf(stderr, "nlaudit: --archive needs a directory (or a "
		    "config with <audit archive>)\n");
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct nlaudit		 a;
	struct nlaudit_opts	 o;
	struct queue		*q;
	char			*cause = NULL, *dir = NULL, *adir = NULL;
	int			 rc;

	nlaudit_options(&a, &o, argc, argv);
	if ((rc = nlaudit_dirs(&o, &dir, &adir)) != 0)
		goto fail;
	rc = 1;
	if (o.want_archive && nlaudit_archive(adir, o.since, &a) == -1)
		goto fail;
	if ((q = queue_open_rdonly(&queue_backend_lmdb, dir, &cause)) == NULL) {
		fprintf(stderr, "nlaudit: %s\n", cause);
		free(cause);
		goto fail;
	}
	rc = a.stop ? QUEUE_E_OK : queue_walk_audit(q, o.since, nlaudit_cb,
	    &a);
	queue_close(q);
	if (a.count_only)
		printf("%lu\n", a.n);
	fflush(stdout);
	rc = rc == QUEUE_E_OK ? 0 : 1;
	/* Success comes this way too: the one unwind path. */
fail:
	free(adir);
	free(dir);
	return rc;
}
