/*
 * classify.h - the health-information classifier (spec R-CLS-1..3).
 *
 * cls_classify() reads one whole message (headers + body) from memory,
 * walks its MIME tree on a bounded private copy, and decides whether it
 * carries personal health information: medical content AND something that
 * points at a person (R-CLS-1).  It never writes anything of the message
 * anywhere; the result holds a verdict, a score and reason codes only.
 *
 * The sender's choice (R-CLS-2) is honoured: X-NTA7516-Classify: secure or a
 * Subject tag [veilig] / [secure] forces health; X-NTA7516-Classify: normal
 * downgrades only when the options allow it.  An unsure verdict counts as
 * health (R-CLS-3): the score is biased that way and parsing limits that
 * stop the reader from seeing everything make the verdict health.
 */
#ifndef NTAMSA_MSA_CLASSIFY_H
#define NTAMSA_MSA_CLASSIFY_H

#include <stddef.h>

#include "common/config.h"

enum cls_verdict { CLS_CLEAN = 0, CLS_HEALTH = 1 };

enum cls_forced {
	CLS_FORCED_NONE = 0,
	CLS_FORCED_SECURE = 1,		/* sender asked for secure handling */
	CLS_FORCED_NORMAL = 2,		/* sender declared "not health", allowed */
};

/* Room for every reason code joined with ','. */
#define CLS_REASONS_LEN 512

struct cls_options {
	int allow_downgrade;		/* honour X-NTA7516-Classify: normal */
	int threshold;			/* score (0..100) at or above: health */
};

struct cls_result {
	enum cls_verdict verdict;
	int score;			/* 0..100 */
	enum cls_forced forced;
	char reasons[CLS_REASONS_LEN];	/* codes like "bsn-kw,med-drug"; no content */
};

/* Defaults: no downgrade, threshold 50. */
void cls_options_default(struct cls_options *o);
void cls_options_from_config(struct cls_options *o, const struct config *c);

/*
 * Classify msg[0..len).  Returns 0 and fills r, or -1 when out of memory
 * (r then says health with reason "error", the fail-safe answer).
 */
int cls_classify(const char *msg, size_t len, const struct cls_options *o,
    struct cls_result *r);

/*
 * The explanation: one line per signal, "code weight masked-text".
 * Matched identifiers and names are masked (BSN as *****1234).
 */
struct cls_explain;
int cls_classify_explain(const char *msg, size_t len,
    const struct cls_options *o, struct cls_result *r,
    struct cls_explain **ex);
size_t cls_explain_count(const struct cls_explain *ex);
const char *cls_explain_line(const struct cls_explain *ex, size_t i);
void cls_explain_free(struct cls_explain *ex);

/*
 * Helpers, public for tests and other modules.
 * cls_bsn_valid: s holds exactly 9 ASCII digits; 1 when they pass the
 * 11-test (9*d1+8*d2+...+2*d8-1*d9 = 0 mod 11) and are not all zeros.
 * cls_mask: copy the letters and digits of in[0..len) to out with all but
 * the last few replaced by '*' (4 of 8 or more, 2 of 6 or 7, none of
 * shorter ones); separators are dropped; always NUL-terminated.
 */
int cls_bsn_valid(const char *s);
void cls_mask(const char *in, size_t len, char *out, size_t outlen);

/*
 * The text the classifier reads, decoded to UTF-8 (subject, bodies, text
 * attachments, the text of PDF attachments, attachment names; alternatives
 * once).  For tests and
 * debugging; the caller frees *out with free().  Returns 0 or -1.
 */
int cls_extract_text(const char *msg, size_t len, char **out, size_t *outlen);

/* The number of lexicon files compiled in and one of them (for the sync test). */
size_t cls_lexicon_files(void);
int cls_lexicon_file(size_t i, const char **name, const char **text);

#endif
