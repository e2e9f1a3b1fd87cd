/* log.c - key=value event lines to stderr or syslog. */
#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int log_syslog;
static enum log_level log_min = LOG_LVL_INFO;
static char log_ident[32] = "ntamsa";
static char log_proc[32] = "main";

void
log_init(const char *ident, int use_syslog, enum log_level min)
{
	if (ident != NULL)
		snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_syslog = use_syslog;
	log_min = min;
	if (log_syslog)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_proc(const char *proc)
{
	snprintf(log_proc, sizeof(log_proc), "%s", proc);
}

static const char *
level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG: return "debug";
	case LOG_LVL_INFO:  return "info";
	case LOG_LVL_WARN:  return "warn";
	default:            return "err";
	}
}

static int
level_prio(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_DEBUG: return LOG_DEBUG;
	case LOG_LVL_INFO:  return LOG_INFO;
	case LOG_LVL_WARN:  return LOG_WARNING;
	default:            return LOG_ERR;
	}
}

void
log_msg(enum log_level lvl, const char *event, const char *fmt, ...)
{
	char body[2048];
	va_list ap;

	if (lvl < log_min)
		return;
	va_start(ap, fmt);
	if (vsnprintf(body, sizeof(body), fmt, ap) < 0)
		body[0] = '\0';
	va_end(ap);

	if (log_syslog) {
		syslog(level_prio(lvl), "proc=%s level=%s event=%s %s",
		    log_proc, level_name(lvl), event, body);
		return;
	}
	char ts[32];
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	/* One write per line, so lines of concurrent processes never interleave. */
	char line[2300];
	int n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d] proc=%s level=%s event=%s %s\n",
	    ts, now.tv_nsec / 1000000, log_ident, (int)getpid(), log_proc,
	    level_name(lvl), event, body);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;	/* nowhere left to report a failed log write */
}

const char *
log_quote(char *out, size_t outlen, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	int quote = 0;

	if (outlen == 0)
		return out;
	if (s == NULL)
		s = "";
	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=')
			quote = 1;
	if (*s == '\0')
		quote = 1;
	if (quote && o + 1 < outlen)
		out[o++] = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		char tmp[4];
		size_t tl;
		if (*p >= 0x21 && *p < 0x7f && *p != '"' && *p != '\\') {
			tmp[0] = (char)*p; tl = 1;
		} else if (*p == ' ') {
			tmp[0] = ' '; tl = 1;
		} else {
			tmp[0] = '\\'; tmp[1] = 'x';
			tmp[2] = hex[*p >> 4]; tmp[3] = hex[*p & 15]; tl = 4;
		}
		if (o + tl + 5 > outlen) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, tmp, tl);
		o += tl;
	}
	if (quote && o + 1 < outlen)
		out[o++] = '"';
	out[o] = '\0';
	return out;
}
