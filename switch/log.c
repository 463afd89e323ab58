/*
 * log - stderr/syslog diagnostics with trace bits (see log.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>

#include <event2/event.h>
#include <openssl/err.h>

#include "log.h"

static int	 log_foreground = 1;
static int	 log_verbose;
static int	 log_tracemask;
static const char *log_ident = "nlswitch";

void
log_init(int foreground, int verbose, const char *ident)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (ident != NULL)
		log_ident = ident;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_set_trace(int mask)
{
	log_tracemask = mask;
}

static void
log_vwrite(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char		 buf[2048];
	struct timeval	 tv;
	struct tm	 tm;

	vsnprintf(buf, sizeof buf, fmt, ap);
	if (!log_foreground) {
		if (suffix != NULL)
			syslog(pri, "%s: %s", buf, suffix);
		else
			syslog(pri, "%s", buf);
		return;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%d]: %s%s%s\n", tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (long)tv.tv_usec / 1000, log_ident,
	    (int)getpid(), buf, suffix ? ": " : "", suffix ? suffix : "");
}

#define LOG_BODY(pri, suffix) do {		\
	va_list ap;				\
	va_start(ap, fmt);			\
	log_vwrite(pri, fmt, ap, suffix);	\
	va_end(ap);				\
} while (0)

void
log_warn(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_WARNING, strerror(saved));
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_WARNING, NULL);
}

void
log_errorx(const char *fmt, ...)
{
	LOG_BODY(LOG_ERR, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	if (!log_verbose && !log_tracemask)
		return;
	LOG_BODY(LOG_DEBUG, NULL);
}

void
log_trace(int mask, const char *fmt, ...)
{
	if ((log_tracemask & mask) == 0)
		return;
	LOG_BODY(LOG_DEBUG, NULL);
}

void
log_ssl(const char *what)
{
	unsigned long	 e;
	char		 buf[256];
	int		 n = 0;

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof buf);
		log_warnx("tls: %s: %s", what, buf);
		n++;
	}
	if (n == 0)
		log_debug("tls: %s: no OpenSSL error queued", what);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;

	LOG_BODY(LOG_CRIT, strerror(saved));
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_CRIT, NULL);
	exit(1);
}

static void
log_event_cb(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

void
log_libevent(void)
{
	event_set_log_callback(log_event_cb);
}
