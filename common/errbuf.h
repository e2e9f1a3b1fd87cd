/*
 * errbuf.h - the "char *err, size_t errlen" out-parameter that commands
 * print for an operator.  One helper so every module formats it alike.
 */
#ifndef NTAMSA_COMMON_ERRBUF_H
#define NTAMSA_COMMON_ERRBUF_H

#include <stddef.h>

/* Format into err (truncating); a NULL or empty buffer is ignored. */
void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
