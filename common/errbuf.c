/* errbuf.c - formatting of error out-parameters. */
#include "common/errbuf.h"

#include <stdarg.h>
#include <stdio.h>

void
errbuf_set(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);	/* truncation is acceptable */
	va_end(ap);
}
