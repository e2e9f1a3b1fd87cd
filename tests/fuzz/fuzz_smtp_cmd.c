/* fuzz_smtp_cmd - the SMTP command-line reader and parser (msa/smtpd_parse.h). */
#include "msa/smtpd_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct smtp_cmd c;

	/* Split the input into lines the way a session does, parse each. */
	while (size > 0) {
		size_t ll = 0, used = 0;
		int r = smtp_line_take(buf, size, SMTP_CMD_MAX, &ll, &used);
		if (r == 0)
			break;
		if (used == 0 || used > size)
			abort();
		if (r == 1) {
			if (ll + 2 != used)
				abort();
			int rc = smtp_parse_cmd(buf, ll, &c);
			if (rc == SMTP_P_OK && (c.verb == SMTP_V_MAIL || c.verb == SMTP_V_RCPT) &&
			    memchr(c.path, '\0', sizeof(c.path)) == NULL)
				abort();
			if (rc == SMTP_P_OK && c.verb == SMTP_V_RCPT && c.path[0] == '\0')
				abort();
		}
		buf += used;
		size -= used;
	}
	return 0;
}
