/*
 * nlswitchd - the nlswitch message switch daemon.
 *
 *   nlswitchd [-dnv] [-T trace] -f config.xml
 *   nlswitchd --help | --version
 *
 * -n checks the configuration and exits (0, or 1 with FILE:LINE: reason);
 * -d stays in the foreground and logs to stderr; -v logs debug; -T enables
 * trace categories (session,queue,router,tls,frame or all).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>
#include <libxml/parser.h>
#include <openssl/ssl.h>

#include "admin.h"
#include "config.h"
#include "control.h"
#include "log.h"
#include "server.h"
#include "util.h"

/* The usage; with status 0 (--help) the options too, on stdout. */
static void __attribute__((noreturn))
usage(int status)
{
	FILE	*f = status == 0 ? stdout : stderr;

	fprintf(f, "usage: nlswitchd [-dnv] [-T trace] -f config.xml\n"
	    "       nlswitchd --help | --version\n");
	if (status == 0)
		fprintf(f, "\n"
		    "  -f config.xml  the configuration (nlswitch.xml(5))\n"
		    "  -n             check the configuration and exit (0, or "
		    "1 with FILE:LINE: reason)\n"
		    "  -d             stay in the foreground, log to stderr\n"
		    "  -v             log debug lines\n"
		    "  -T trace       trace categories: session,queue,router,"
		    "tls,frame or all\n"
		    "  -h, --help     this text\n"
		    "  --version      the version\n"
		    "\nSIGHUP reloads the configuration, SIGTERM drains and "
		    "exits. Schemas: %s\n", util_schemadir());
	exit(status);
}

static int
parse_trace(const char *s)
{
	int	 mask = 0;
	char	*dup = strdup(s), *tok, *save = NULL;

	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "session") == 0) mask |= TRACE_SESSION;
		else if (strcmp(tok, "queue") == 0) mask |= TRACE_QUEUE;
		else if (strcmp(tok, "router") == 0) mask |= TRACE_ROUTER;
		else if (strcmp(tok, "tls") == 0) mask |= TRACE_TLS;
		else if (strcmp(tok, "frame") == 0) mask |= TRACE_FRAME;
		else if (strcmp(tok, "all") == 0) mask |= ~0;
		else {
			fprintf(stderr, "nlswitchd: unknown trace %s\n", tok);
			exit(2);
		}
	}
	free(dup);
	return mask;
}

int
main(int argc, char **argv)
{
	struct config		*cfg;
	struct event_base	*base;
	struct server		*srv;
	struct admin		*admin = NULL;
	SSL_CTX			*ssl;
	static const struct option longopts[] = {
		{ "help",	no_argument,	NULL, 'h' },
		{ "version",	no_argument,	NULL, 'V' },
		{ NULL,		0,		NULL, 0 }
	};
	const char		*path = NULL, *schemadir;
	char			*cause = NULL;
	int			 ch, check = 0, fg = 0, verbose = 0, trace = 0;

	util_malloc_tune();
	while ((ch = getopt_long(argc, argv, "df:hnT:v", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			fg = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		case 'T':
			trace = parse_trace(optarg);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'h':
			usage(0);
		case 'V':
			util_version_exit("nlswitchd");
		default:
			usage(2);
		}
	}
	if (path == NULL || optind != argc)
		usage(2);
	schemadir = util_schemadir();
	log_init(fg || check, verbose, "nlswitchd");
	log_set_trace(trace);
	xmlInitParser();
	if (config_load(path, schemadir, &cfg, &cause) == -1) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		return 1;
	}
	/* The certificate and key are loaded here too, with -n and before
	 * daemon(): what does not load is told on stderr, file and line. */
	if ((ssl = server_tls_ctx(cfg, &cause)) == NULL) {
		fprintf(stderr, "%s\n", cause);
		free(cause);
		config_free(cfg);
		return 1;
	}
	SSL_CTX_free(ssl);
	if (check) {
		fprintf(stderr, "%s: configuration OK (%d lines)\n", path,
		    cfg->nline);
		config_free(cfg);
		xmlCleanupParser();
		return 0;
	}
	if (!fg && daemon(0, 0) == -1)
		fatal("daemon");

	/* The commit thread wakes the loop: libevent must be thread-aware
	 * before the base exists. */
	if (evthread_use_pthreads() == -1)
		fatalx("evthread_use_pthreads");
	log_libevent();
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	srv = server_new(base, cfg);
	control_init(base, srv, cfg->control_socket);
	if (cfg->admin_address != NULL)
		admin = admin_new(base, srv, cfg->admin_address, cfg->admin_port,
		    cfg->admin_portfile);
	server_start(srv);	/* last: its port file says "up" */
	log_info("nlswitchd: started config=%s lines=%d", path, cfg->nline);
	event_base_dispatch(base);
	control_shutdown();
	admin_free(admin);
	server_free(srv);	/* frees the (possibly reloaded) config too */
	event_base_free(base);
	xmlCleanupParser();
	log_info("nlswitchd: stopped");
	return 0;
}
