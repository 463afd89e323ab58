/*
 * nlctl - the operator's command line for a running nlswitchd, over its
 * control socket.
 *
 *   nlctl [-j|--json] [-s SOCKET | -f CONFIG] COMMAND [ARGS...]
 *   nlctl --help | --version
 *
 * The commands, their usage and which read IDs from standard input come
 * from the command table (switch/command.h); nlctl --help lists them.
 *
 * Exit codes: 0 ok, 1 the command failed, 2 usage, 3 not found, 4 the
 * switch cannot be reached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "command.h"
#include "config.h"
#include "control.h"
#include "util.h"

/*
 * The usage, from the command table (command.h): every command's usage
 * line; with help, what each does, to stdout and exit 0.
 */
static void __attribute__((noreturn))
nlctl_usage(int help)
{
	const struct command	*c = NULL;
	FILE			*f = help ? stdout : stderr;

	fprintf(f, "usage: nlctl [-j|--json] [-s SOCKET | -f CONFIG] COMMAND "
	    "[ARGS...]\n       nlctl --help | --version\n");
	if (help)
		fprintf(f, "\ncommands (* changes the switch):\n");
	while ((c = command_next(c, NULL)) != NULL) {
		if (help)
			fprintf(f, "  %c %s\n        %s\n", c->mutates ? '*' : ' ',
			    c->usage, c->help);
		else
			fprintf(f, "  %s\n", c->usage);
	}
	if (help)
		fprintf(f, "\nIDS: message or copy IDs on standard input, one "
		    "per line.\nThe socket: -s SOCKET, the config's control "
		    "socket (-f CONFIG) or $NLSWITCH_CONTROL.\nExit codes: 0 ok, "
		    "1 the command failed, 2 usage, 3 not found, 4 the switch "
		    "cannot be reached.\n");
	exit(help ? CONTROL_OK : CONTROL_EUSAGE);
}

/* The socket: -f CONFIG's, else -s SOCKET or $NLSWITCH_CONTROL. */
static char *
nlctl_socket(const char *sock, const char *conf)
{
	struct config	*cfg;
	char		*cause = NULL, *path;

	if (conf == NULL && sock == NULL) {
		fprintf(stderr, "nlctl: give the control socket (-s SOCKET, -f "
		    "CONFIG or NLSWITCH_CONTROL)\n");
		return NULL;
	}
	if (conf == NULL)
		return xstrdup(sock);
	if (config_load(conf, util_schemadir(), &cfg,
	    &cause) == -1) {
		/* The running switch still serves the socket the file names
		 * (status, and a reload once the file is fixed). */
		if ((path = config_control_socket(conf)) != NULL) {
			fprintf(stderr, "nlctl: warning: %s\nnlctl: using the "
			    "control socket it names: %s\n", cause, path);
			free(cause);
			return path;
		}
		fprintf(stderr, "nlctl: %s\n", cause);
		free(cause);
		return NULL;
	}
	path = xstrdup(cfg->control_socket);
	config_free(cfg);
	return path;
}

/* "NLCTL/1 json|text", the words, an empty line, IDs if it reads them. */
static void
nlctl_request(struct ubuf *req, int json, int argc, char **argv)
{
	char	buf[65536];
	ssize_t	n;
	int	i;

	ubuf_printf(req, "NLCTL/1 %s\n", json ? "json" : "text");
	for (i = 0; i < argc; i++) {
		if (strchr(argv[i], '\n') != NULL)
			nlctl_usage(0);
		ubuf_printf(req, "%s\n", argv[i]);
	}
	ubuf_adds(req, "\n");
	if (!command_is_reading_ids(argc, argv))
		return;
	if (isatty(0))
		fprintf(stderr, "nlctl: reading IDs from standard input "
		    "(one per line, end with ^D)\n");
	while ((n = read(0, buf, sizeof buf)) > 0)
		ubuf_add(req, buf, (size_t)n);
}

/*
 * Send the request, copy the answer to stdout (a text answer to stderr
 * when the command failed). @return the switch's exit code, or
 * CONTROL_ECONNECT.
 */
static int
nlctl_exchange(const char *sock, const struct ubuf *req, int json)
{
	struct sockaddr_un	 sun;
	struct ubuf		 resp;
	char			 buf[65536], *p;
	int			 fd = -1, rc = CONTROL_ECONNECT;
	ssize_t			 n;

	ubuf_init(&resp);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof sun.sun_path) {
		fprintf(stderr, "nlctl: socket path too long\n");
		rc = CONTROL_EUSAGE;
		goto out;
	}
	memcpy(sun.sun_path, sock, strlen(sock));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		fprintf(stderr, "nlctl: cannot reach the switch at %s: %s\n",
		    sock, strerror(errno));
		goto out;
	}
	for (p = req->data; p < req->data + req->len; p += n)
		if ((n = write(fd, p, (size_t)(req->data + req->len - p))) <= 0) {
			fprintf(stderr, "nlctl: write: %s\n", strerror(errno));
			goto out;
		}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		ubuf_add(&resp, buf, (size_t)n);
	if (resp.len < 6 || strncmp(resp.data, "EXIT ", 5) != 0 ||
	    (p = strchr(resp.data, '\n')) == NULL) {
		fprintf(stderr, "nlctl: no answer from the switch\n");
		goto out;
	}
	rc = atoi(resp.data + 5);
	/* A JSON answer is a document for a program: stdout whatever
	 * the exit code says. */
	fwrite(p + 1, 1, resp.len - (size_t)(p + 1 - resp.data),
	    rc == CONTROL_OK || json ? stdout : stderr);
out:
	if (fd != -1)
		close(fd);
	ubuf_free(&resp);
	return rc;
}

int
main(int argc, char **argv)
{
	struct ubuf	 req;
	const char	*sock = getenv("NLSWITCH_CONTROL"), *conf = NULL;
	char		*path;
	int		 i, json = 0, rc;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-j") == 0 || strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
			sock = argv[++i];
		else if (strcmp(argv[i], "-f") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			nlctl_usage(1);
		else if (strcmp(argv[i], "--version") == 0)
			util_version_exit("nlctl");
		else
			break;
	}
	argc -= i;
	argv += i;
	if (argc < 1)
		nlctl_usage(0);
	if ((path = nlctl_socket(sock, conf)) == NULL)
		return CONTROL_EUSAGE;
	ubuf_init(&req);
	nlctl_request(&req, json, argc, argv);
	rc = nlctl_exchange(path, &req, json);
	ubuf_free(&req);
	free(path);
	return rc;
}
