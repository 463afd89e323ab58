/*
 * log - diagnostics for nlswitch processes (not the audit trail).
 *
 * One line per event, shaped "module: id: event key=value ...". stderr when
 * running in the foreground (log_init(1, ...)), syslog otherwise. Message
 * bodies, DMV record fields and image bytes never go to info level.
 */
#ifndef NLSWITCH_LOG_H
#define NLSWITCH_LOG_H

#include <stdarg.h>

#define TRACE_SESSION	0x01
#define TRACE_QUEUE	0x02
#define TRACE_ROUTER	0x04
#define TRACE_TLS	0x08
#define TRACE_FRAME	0x10

/**
 * Start logging.
 * @param foreground 1: write to stderr; 0: write to syslog.
 * @param verbose 0 info, 1 debug.
 * @param ident program name used as prefix / syslog ident.
 */
void	log_init(int foreground, int verbose, const char *ident);
/** Enable trace categories (TRACE_* bits), as set by -T. */
void	log_set_trace(int mask);
/** Route libevent's internal messages to log_debug/log_warnx. */
void	log_libevent(void);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/** An error the switch keeps running with but an operator must act on
 * (syslog LOG_ERR): a damaged store. */
void	log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_trace(int mask, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Log the OpenSSL error queue (draining it) with a prefix. */
void	log_ssl(const char *what);
/** Fatal errors: only at start-up, on OOM, or for impossible states. */
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
