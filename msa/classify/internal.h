/*
 * internal.h - shared between the files of msa/classify/ only.
 * Everything else uses classify.h.
 */
#ifndef NTAMSA_MSA_CLASSIFY_INTERNAL_H
#define NTAMSA_MSA_CLASSIFY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Limits: all in one place (curl's dynbuf habit). */
#define CLS_MAX_INPUT	(64u << 20)	/* bytes of message given to libetpan */
#define CLS_MAX_TEXT	(32u << 20)	/* bytes of extracted text */
#define CLS_MAX_DEPTH	16		/* MIME nesting levels walked */
#define CLS_MAX_MULTI	64		/* multipart/message headers before we refuse to parse */
#define CLS_MAX_PAREN	64		/* nested '(' in a paragraph (libetpan recurses) */
#define CLS_MAX_HEADER	(256u << 10)	/* bytes of header section scanned */
#define CLS_MAX_SIGS	256		/* signals kept for the explanation */

/* A growable byte buffer with a hard cap. */
struct cls_buf {
	char *p;
	size_t len, cap, max;
};
void cls_buf_init(struct cls_buf *b, size_t max);
/* 0, or -1 when the cap is reached (what fits is kept) or memory runs out. */
int cls_buf_add(struct cls_buf *b, const char *s, size_t n)
	__attribute__((warn_unused_result));
void cls_buf_free(struct cls_buf *b);

/* What reading the message found besides the text. */
struct cls_doc {
	struct cls_buf text;		/* UTF-8, parts separated by "\n\n" */
	struct cls_buf fnames;		/* names of unread attachments, one a line */
	int forced_secure;		/* header or subject tag */
	int forced_normal;		/* X-NTA7516-Classify: normal */
	int limit;			/* a limit stopped reading: unsure */
	int nomem;
	int att_pdf, att_office, att_image, att_other;	/* unread attachments */
	int att_text;			/* text attachments read */
	int att_pdf_read;		/* PDF attachments whose text was read */
	int att_pdf_partial;		/* ... of which a limit cut short (also in att_pdf) */
	int parts;			/* leaf parts seen */
};

/*
 * PDF text (pdf.c).  A hostile attachment must cost no more than a small
 * multiple of its own size, so every loop is bounded; hitting a limit stops
 * extraction and keeps what was found.
 */
#define CLS_PDF_MAX_INFLATE	(32u << 20)	/* inflated bytes per PDF, all streams */
#define CLS_PDF_INFLATE_RATIO	100		/* ... and at most this times the PDF's size */
#define CLS_PDF_MAX_STREAM	(8u << 20)	/* inflated bytes of one stream */
#define CLS_PDF_MAX_OBJS	4096		/* objects indexed (file + object streams) */
#define CLS_PDF_MAX_STREAMS	4096		/* streams decoded */
#define CLS_PDF_MAX_TEXT	(1u << 20)	/* bytes of text out */
#define CLS_PDF_MAX_DEPTH	32		/* nested arrays/dicts, references, /Parent links */
#define CLS_PDF_MAX_CMAP	(1u << 16)	/* ToUnicode entries per PDF */
#define CLS_PDF_MAX_FONTS	256		/* fonts loaded per PDF */
#define CLS_PDF_WORK_RATIO	16		/* dictionary bytes parsed by lookups, times the input */
#define CLS_PDF_WORK_MIN	(1u << 20)	/* ... plus this */
#define CLS_PDF_FONT_CACHE	64		/* font names remembered per content stream */
#define CLS_PDF_MAX_PEND	(64u << 10)	/* text of one showing operator */
#define CLS_PDF_MIN_LETTERS	20		/* letters that make a PDF "read" */

#define CLS_PDF_ENCRYPTED	1		/* cls_pdf_text: /Encrypt, nothing read */
#define CLS_PDF_PARTIAL		2		/* cls_pdf_text: a limit cut the reading short */
/*
 * Append the words of pdf[0..len) to out (UTF-8; cap out->max, e.g.
 * CLS_PDF_MAX_TEXT).  0 (out holds what was found, possibly nothing),
 * CLS_PDF_PARTIAL (out holds what was found before a limit),
 * CLS_PDF_ENCRYPTED (nothing read), or -1 when out of memory.
 */
int cls_pdf_text(struct cls_buf *out, const unsigned char *pdf, size_t len);
/* Letters in UTF-8 text (ASCII letters and non-ASCII characters). */
size_t cls_pdf_letters(const char *s, size_t n);

/* The value of hex digit c (either case), or -1. */
int cls_hexval(int c);
/*
 * Code point cp as UTF-8 into out (4 bytes of room); its length.  A
 * surrogate or a value past U+10FFFF becomes U+FFFD.
 */
size_t cls_utf8_put(unsigned long cp, char *out);
/*
 * A /Differences glyph name (without '/') as UTF-8 into out: its length,
 * 0 for a name that means nothing here (subset names like g31).
 */
size_t cls_pdf_glyph_utf8(const unsigned char *name, size_t n, char out[8]);
/* A byte of a font with /BaseEncoding /MacRomanEncoding, as Unicode. */
uint32_t cls_pdf_macroman(unsigned char c);
/* 1 when the glyph-name table is in strcmp order (a test checks it). */
int cls_pdf_glyphs_sorted(void);

/* Read msg into d (headers, MIME walk).  0, or -1 on out of memory. */
int cls_doc_read(struct cls_doc *d, const char *msg, size_t len);
void cls_doc_free(struct cls_doc *d);

/* HTML to text (tags dropped, script/style dropped, entities decoded). */
int cls_html_to_text(struct cls_buf *out, const char *s, size_t n);

/*
 * Normalised text: one byte per character, lowercase ASCII with Latin
 * diacritics folded (e-acute -> e, mu -> u); other characters become ' '.
 * up[i] is 1 where the original character was an uppercase letter.
 */
struct cls_norm {
	char *s;
	unsigned char *up;
	size_t n;
};
int cls_normalize(struct cls_norm *out, const char *utf8, size_t n);
void cls_norm_free(struct cls_norm *nm);
/* Fold one string (lexicon entries) the same way into out. */
size_t cls_fold(const char *in, char *out, size_t outlen);

/* Lexicon. */
enum cls_cat {
	CAT_CONDITION, CAT_DRUG, CAT_CARE, CAT_DOCS, CAT_MENTAL, CAT_YOUTH,
	CAT_PREGNANCY, CAT_VACCINATION, CAT_WORK, CAT_LAB,
	CAT_PERSON, CAT_GENERAL,
	CAT_LBL_BSN, CAT_LBL_DOB, CAT_LBL_PATID, CAT_TITLE, CAT_GREETING,
	CAT_MONTH, CAT_UNIT, CAT_STREET, CAT_FIRSTNAME, CAT_CLOSING,
	CAT_POSSESSIVE, CAT_STAFF, CAT_PRONOUN,
	CAT__N
};
struct cls_lex_hit {
	int id;				/* entry index, for "seen once" */
	enum cls_cat cat;
	int weight;
	int words;			/* tokens the entry spans */
};
/* Load the compiled-in lexicon once (thread-safe).  0 or -1. */
int cls_lex_init(void);
size_t cls_lex_entries(void);
/*
 * Look up the phrase starting at token t of toks (ntok tokens): the
 * longest entry wins.  Returns the number of hits written (0..max), one per
 * category at most.
 */
struct cls_tok { uint32_t off, len; };
int cls_lex_lookup(const char *s, const struct cls_tok *toks, size_t ntok,
    size_t t, struct cls_lex_hit *hits, int max);
const char *cls_cat_code(enum cls_cat c);
/* The folded entry text into out; prefix entries end in '*'. */
void cls_lex_key(int id, char *out, size_t outlen);

/* The compiled-in data files (lexicon_data.c, generated by lexicon/gen.sh). */
struct cls_lexfile { const char *name; const char *text; };
extern const struct cls_lexfile cls_lexdata[];
extern const size_t cls_lexdata_n;

/*
 * The scanner, shared by classify.c (lexicon hits, the decision),
 * patterns.c (numbers, dates, codes, addresses) and names.c (people).
 */
/* Weights: person side. */
#define W_BSN_KW	10	/* 11-proof number next to "BSN" */
#define W_BSN		5	/* 11-proof 9-digit number alone */
#define W_DOB		8
#define W_PATID		8
#define W_NAME		3	/* title + capitalised word: "mevrouw Jansen" */
#define W_NAME_LC	2	/* title + lower-case word: "dhr jansen" */
#define W_GREET_NAME	1	/* "Beste Jan": everyone is greeted */
#define W_ADDRESS	3	/* street + number + postcode */
/* Weights: medical side. */
#define W_DOSE		3
#define W_SCHEDULE	4
#define W_LABVAL	3
#define W_ICD		4
#define W_ATC		5
#define W_UNREAD	1	/* a PDF/Office/image we could not read */

#define P_FULL		8.0
#define M_FULL		8.0
#define CAP_NAMES	6
#define CAP_PERSONREF	6
#define CAP_CARE	4
#define CAP_POSS	6
#define W_FIRSTNAME	1
#define W_CAPNAME	1	/* two capitalised words: as often a heading as a person */
#define W_FILENAME	2	/* a name in an unread attachment's file name */
#define W_FILEDATE	2	/* "30061987" in an attachment's name */
#define CAP_PRON	4
#define PRON_NEAR	10	/* tokens between a pronoun and a medical word */
#define SIG_ZONE	12	/* tokens after a closing that form the signature */

enum sig_side { SIDE_PERSON, SIDE_MED, SIDE_GENERAL, SIDE_NONE };

struct sig {
	const char *code;
	int weight;
	enum sig_side side;
	char shown[64];			/* masked match or lexicon entry */
	uint32_t h;			/* for counting a match once */
};

struct scan {
	const struct cls_norm *nm;
	struct cls_tok *tok;
	size_t ntok;
	unsigned char *seen;		/* lexicon entries already counted */
	struct sig *sig;
	size_t nsig;
	int strong;			/* a hard identifier was found */
	size_t bsn_label_end;		/* end of the last "BSN" label, +1 */
	int p, m, g;			/* side totals */
	int names, personref, care, poss;	/* capped groups */
	int fams[CAT__N];		/* medical categories seen */
	long pron_at, med_at;		/* last pronoun, last medical word */
	int pron;			/* capped pronoun-near-medical weight */
	int pron_w;			/* weight of the last pronoun */
	enum cls_cat med_cat;		/* category of the last medical word */
	int med_extra;			/* medical patterns: doses, lab values, codes */
	long close_at;			/* token of the last "groet"/"regards" */
	long poss_at;			/* token of the last "uw"/"mijn"/"your" */
	int poss_w;			/* its weight: first/third person more than "uw" */
	long skip_until;		/* names up to this token are counted or staff */
	int dob_label;			/* a date-of-birth label somewhere */
	int dob_found;			/* a date right after such a label */
	int birthdates;			/* dates with a plausible birth year */
	char birth_shown[32];
};

/* Record a signal once per (code, match); adds its weight to its side. */
void cls_add_sig(struct scan *sc, const char *code, int w, enum sig_side side,
    const char *shown, const char *match, size_t mlen);

/* patterns.c */
int cls_street_token(const struct scan *sc, size_t t);
int cls_tok_digits(const struct scan *sc, size_t t);
int cls_tok_eq(const struct scan *sc, size_t t, const char *w);
size_t cls_scan_bsn(struct scan *sc, size_t t);
void cls_note_birthdate(struct scan *sc, size_t t);
void cls_scan_code(struct scan *sc, size_t t);
void cls_scan_dob(struct scan *sc, size_t t, int words);
void cls_scan_number(struct scan *sc, size_t t);
void cls_scan_patid(struct scan *sc, size_t t, int words);
void cls_scan_postcode(struct scan *sc, size_t t);

/* names.c */
int cls_proper_word(const struct scan *sc, size_t u);
int cls_surname_at(const struct scan *sc, size_t u);
size_t cls_scan_capname(struct scan *sc, size_t t);
size_t cls_scan_initials(struct scan *sc, size_t t);
void cls_add_name(struct scan *sc, size_t u, const char *code, int w);
void cls_on_firstname(struct scan *sc, size_t t);
void cls_on_greeting(struct scan *sc, size_t t, int words);
void cls_on_staff(struct scan *sc, size_t t, int words);
void cls_on_title(struct scan *sc, size_t t, int words);

#endif
