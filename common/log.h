/*
 * log.h - one line per event, key=value pairs, to stderr or syslog.
 *
 * Callers pass the event name and preformatted key=value pairs.  Values that
 * may hold spaces or come from the network go through log_quote() so a line
 * can always be split back into its pairs.  Nothing of a message's content
 * (Subject, body, attachment names) may ever be passed here.
 */
#ifndef NTAMSA_COMMON_LOG_H
#define NTAMSA_COMMON_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL_ERR };

/* Where lines go: stderr (default) or syslog (facility mail). */
void log_init(const char *ident, int use_syslog, enum log_level min);
void log_set_proc(const char *proc);

void log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_debug(ev, ...) log_msg(LOG_LVL_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_msg(LOG_LVL_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_msg(LOG_LVL_WARN, ev, __VA_ARGS__)
#define log_err(ev, ...)   log_msg(LOG_LVL_ERR, ev, __VA_ARGS__)

/*
 * Copy s into out as a log value: printable ASCII without spaces is kept,
 * anything else is escaped (\xNN) and the whole value quoted if needed.
 * Always NUL-terminates; truncates with "..." when out is too small.
 */
const char *log_quote(char *out, size_t outlen, const char *s);

#endif
