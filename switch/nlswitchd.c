/*
 * nlswitchd - the nlswitch message switch daemon.
 *
 *   nlswitchd [-dnv] [-T trace] -f config.xml
 *
 * -n checks the configuration and exits (0, or 1 with FILE:LINE: reason);
 * -d stays in the foreground and logs to stderr; -v logs debug; -T enables
 * trace categories (session,queue,router,tls,frame or all).
 */
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

#ifndef NLSWITCH_SCHEMADIR
#define NLSWITCH_SCHEMADIR "schemas"
#endif

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: nlswitchd [-dnv] [-T trace] -f config.xml\n");
	exit(2);
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
	const char		*path = NULL, *schemadir;
	char			*cause = NULL;
	int			 ch, check = 0, fg = 0, verbose = 0, trace = 0;

	util_malloc_tune();
	while ((ch = getopt(argc, argv, "df:nT:v")) != -1) {
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
		default:
			usage();
		}
	}
	if (path == NULL || optind != argc)
		usage();
	if ((schemadir = getenv("NLSWITCH_SCHEMADIR")) == NULL)
		schemadir = NLSWITCH_SCHEMADIR;
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
