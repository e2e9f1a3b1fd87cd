/*
 * fuzz_smtp_data - the DATA state machine.  Checks its promises: fed whole or
 * in two pieces it gives the same result; output never exceeds the limit;
 * accepted output holds no bare CR/LF or NUL and no line over 998 octets.
 */
#include "msa/smtpd_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_output(const struct smtp_data *d)
{
	size_t line = 0;
	if (d->out_len > d->max)
		abort();
	if (d->err != SMTP_D_OK || !d->done)
		return;
	for (size_t i = 0; i < d->out_len; i++) {
		char ch = d->out[i];
		if (ch == '\0')
			abort();
		if (ch == '\r') {
			if (i + 1 >= d->out_len || d->out[i + 1] != '\n')
				abort();
			i++;
			line = 0;
			continue;
		}
		if (ch == '\n' || ++line > 998)
			abort();
	}
	if (d->out_len > 0 && (d->out_len < 2 || d->out[d->out_len - 1] != '\n'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = data[0] % (size);
	const char *in = (const char *)data + 1;
	size_t n = size - 1;
	struct smtp_data a, b;

	smtp_data_init(&a, 4096);
	smtp_data_init(&b, 4096);
	long ua = smtp_data_feed(&a, in, n);
	if (cut > n)
		cut = n;
	long ub1 = smtp_data_feed(&b, in, cut);
	long ub2 = ub1 >= 0 && !b.done ? smtp_data_feed(&b, in + ub1, n - (size_t)ub1) : 0;
	if (ua < 0 || ub1 < 0 || ub2 < 0)
		abort();		/* 4 KB never runs out of memory */
	if (a.done != b.done || a.err != b.err || ua != ub1 + ub2 ||
	    a.out_len != b.out_len || (a.out_len && memcmp(a.out, b.out, a.out_len)))
		abort();
	check_output(&a);
	smtp_data_free(&a);
	smtp_data_free(&b);
	return 0;
}
