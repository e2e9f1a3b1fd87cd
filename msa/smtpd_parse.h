/*
 * smtpd_parse.h - the SMTP submission server's pure parsers: command lines
 * and the DATA state machine.  No I/O, no globals: both work over caller
 * buffers so they can be unit-tested and fuzzed (tests/fuzz/fuzz_smtp_*).
 *
 * Limits (RFC 5321 4.5.3.1): a command line is at most 512 octets with its
 * CRLF, a text line at most 1000 octets with its CRLF.
 */
#ifndef NTAMSA_MSA_SMTPD_PARSE_H
#define NTAMSA_MSA_SMTPD_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_CMD_MAX 512		/* octets, CRLF included */
#define SMTP_TEXT_MAX 1000		/* octets, CRLF included */
#define SMTP_PATH_MAX 320		/* == STORE_ADDR_MAX */

enum smtp_verb {
	SMTP_V_UNKNOWN = 0,
	SMTP_V_HELO, SMTP_V_EHLO, SMTP_V_MAIL, SMTP_V_RCPT, SMTP_V_DATA,
	SMTP_V_RSET, SMTP_V_NOOP, SMTP_V_QUIT, SMTP_V_STARTTLS, SMTP_V_AUTH,
	SMTP_V_VRFY, SMTP_V_HELP,
};

/* Results of smtp_parse_cmd (negative: the reply the session gives). */
enum smtp_perr {
	SMTP_P_OK = 0,
	SMTP_P_UNKNOWN = -1,	/* 500 5.5.1 unrecognised command */
	SMTP_P_SYNTAX = -2,	/* 501 5.5.4 syntax error in arguments */
	SMTP_P_PARAM = -3,	/* 555 5.5.4 unknown MAIL/RCPT parameter */
	SMTP_P_PATH = -4,	/* 501 5.1.7 / 5.1.3 bad address */
	SMTP_P_NUL = -5,	/* 500 5.5.2 NUL or 8-bit byte in a command */
};

enum smtp_body { SMTP_BODY_NONE = 0, SMTP_BODY_7BIT, SMTP_BODY_8BITMIME };

struct smtp_cmd {
	enum smtp_verb verb;
	char arg[SMTP_CMD_MAX];		/* the rest of the line (HELO name, AUTH args) */
	char path[SMTP_PATH_MAX];	/* MAIL/RCPT: the address without <> ("" = null) */
	int has_size;
	uint64_t size;			/* MAIL SIZE= */
	enum smtp_body body;		/* MAIL BODY= */
};

/*
 * Parse one command line (without its CRLF).  Verbs are case-insensitive;
 * MAIL takes SIZE= and BODY=7BIT|8BITMIME, RCPT no parameters.  Paths may
 * carry a source route (RFC 5321 4.1.2, ignored), and must be
 * local@domain (or empty for MAIL).
 */
int smtp_parse_cmd(const char *line, size_t len, struct smtp_cmd *out);

/*
 * Find one line in buf[0..len).  Returns 1 with *linelen (without CRLF) and
 * *used (with it) when a CRLF-terminated line is there, 0 when more bytes
 * are needed, or -1 when the line is bad: longer than max octets, ends in a
 * bare LF, or holds a NUL/CR inside; *used then counts the bytes to discard
 * (through the LF, or everything so far when no LF came yet).
 */
int smtp_line_take(const char *buf, size_t len, size_t max, size_t *linelen,
    size_t *used);

/* ---- DATA ---- */

enum smtp_derr {
	SMTP_D_OK = 0,
	SMTP_D_BARE_LF = 1,	/* 550 5.6.0: LF not preceded by CR */
	SMTP_D_BARE_CR = 2,	/* 550 5.6.0: CR not followed by LF */
	SMTP_D_NUL = 3,		/* 550 5.6.0 */
	SMTP_D_LONG = 4,	/* 550 5.6.0: text line over 1000 octets */
	SMTP_D_SIZE = 5,	/* 552 5.3.4: message over the limit */
};

/*
 * DATA reader state.  Only CRLF "." CRLF ends the data (the closing CRLF of
 * the previous line counts, and the data start counts as a line start):
 * LF.LF, LF.CRLF, CR.CR, CRLF.LF and every other variant do not, which
 * closes SMTP smuggling.  After the first error the reader keeps looking
 * for the real end so the session stays in step, but stores nothing more.
 */
struct smtp_data {
	int state;
	int err;			/* first enum smtp_derr seen */
	int done;			/* CRLF.CRLF seen */
	int eightbit;			/* a byte >= 0x80 was seen */
	size_t line;			/* octets in the current line so far */
	size_t max;			/* message size limit (unstuffed) */
	size_t total;			/* unstuffed octets seen */
	/* Output: unstuffed message, CRLF line ends, bounded by max. */
	char *out;
	size_t out_len, out_cap;
};

/* Prepare d with output buffer out (capacity cap >= max is not needed). */
void smtp_data_init(struct smtp_data *d, size_t max);
/*
 * Feed bytes; returns how many were consumed (stops right after the
 * terminating CRLF.CRLF, leaving pipelined commands in the caller's buffer).
 * Grows d->out up to d->max octets; -1 on out of memory.
 */
long smtp_data_feed(struct smtp_data *d, const char *in, size_t n);
void smtp_data_free(struct smtp_data *d);

#endif
