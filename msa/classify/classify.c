/*
 * classify.c - signals and the decision.
 *
 * The message is read (mime.c), normalised (text.c) and split into word
 * tokens.  One pass over the tokens finds lexicon entries and the patterned
 * signals (BSN, dates of birth, patient numbers, doses, lab values, codes,
 * addresses, names after titles).  Signals fall into "person" (P),
 * "medical" (M) and "general information" (G).  The score needs both P
 * and M (R-CLS-1: jargon together with a person), a geometric mean, and G
 * lowers it unless a hard identifier is present.
 */
#include "msa/classify/classify.h"
#include "msa/classify/internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Weights: person side. */
#define W_BSN_KW	10	/* 11-proof number next to "BSN" */
#define W_BSN		5	/* 11-proof 9-digit number alone */
#define W_DOB		8
#define W_PATID		8
#define W_NAME		3	/* title + capitalised word: "mevrouw Jansen" */
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
#define W_CAPNAME	2
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

struct cls_explain {
	size_t n;
	char **line;
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

static uint32_t
hash_str(const char *s, size_t n, uint32_t seed)
{
	uint32_t h = 2166136261u ^ seed;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

/* Record a signal once per (code, match). */
static void
add_sig(struct scan *sc, const char *code, int w, enum sig_side side,
    const char *shown, const char *match, size_t mlen)
{
	uint32_t h = hash_str(match, mlen, hash_str(code, strlen(code), 0));
	struct sig *s;

	for (size_t i = 0; i < sc->nsig; i++)
		if (sc->sig[i].h == h && strcmp(sc->sig[i].code, code) == 0)
			return;
	if (side == SIDE_PERSON)
		sc->p += w;
	else if (side == SIDE_MED)
		sc->m += w;
	else if (side == SIDE_GENERAL)
		sc->g += w;
	if (sc->nsig >= CLS_MAX_SIGS)
		return;
	s = &sc->sig[sc->nsig++];
	s->code = code;
	s->weight = w;
	s->side = side;
	s->h = h;
	snprintf(s->shown, sizeof(s->shown), "%s", shown);
}

int
cls_bsn_valid(const char *s)
{
	int sum = 0, nonzero = 0;

	for (int i = 0; i < 9; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		nonzero |= s[i] != '0';
		sum += (i < 8 ? 9 - i : -1) * (s[i] - '0');
	}
	if (s[9] != '\0' && s[9] >= '0' && s[9] <= '9')
		return 0;
	return nonzero && sum % 11 == 0;
}

void
cls_mask(const char *in, size_t len, char *out, size_t outlen)
{
	size_t alnum = 0, k = 0, seen = 0;

	if (outlen == 0)
		return;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		alnum += (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z');
	}
	for (size_t i = 0; i < len && k + 1 < outlen; i++) {
		char c = in[i];
		int an = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z');

		if (!an)
			continue;	/* separators are dropped: *****1234 */
		seen++;
		out[k++] = alnum - seen < 4 && alnum > 4 ? c : '*';
	}
	out[k] = '\0';
}

static int
tok_digits(const struct scan *sc, size_t t)
{
	const struct cls_tok *x = &sc->tok[t];

	for (uint32_t i = 0; i < x->len; i++)
		if (sc->nm->s[x->off + i] < '0' || sc->nm->s[x->off + i] > '9')
			return 0;
	return 1;
}

static int
tok_eq(const struct scan *sc, size_t t, const char *w)
{
	size_t n = strlen(w);

	return t < sc->ntok && sc->tok[t].len == n &&
	    memcmp(sc->nm->s + sc->tok[t].off, w, n) == 0;
}

/* Tokens t and t+1 joined by exactly one of the separator characters seps. */
static int
joined(const struct scan *sc, size_t t, const char *seps)
{
	uint32_t e;

	if (t + 1 >= sc->ntok)
		return 0;
	e = sc->tok[t].off + sc->tok[t].len;
	if (sc->tok[t + 1].off == e)
		return 1;
	return sc->tok[t + 1].off == e + 1 && strchr(seps, sc->nm->s[e]) != NULL;
}

/*
 * BSN: a maximal group of digit tokens joined by single spaces, dots or
 * dashes holding exactly nine digits that pass the 11-test.  Returns the
 * tokens consumed by the group.
 */
static size_t
scan_bsn(struct scan *sc, size_t t)
{
	char d[16];
	size_t nd = 0, u = t, ok = 1;
	char shown[16];

	for (;;) {
		const struct cls_tok *x = &sc->tok[u];

		if (!tok_digits(sc, u))
			break;
		for (uint32_t i = 0; i < x->len; i++) {
			if (nd < 10)
				d[nd] = sc->nm->s[x->off + i];
			nd++;
		}
		if (!joined(sc, u, " .-") || !tok_digits(sc, u + 1))
			break;
		u++;
	}
	if (nd != 9)
		ok = 0;
	d[nd < 10 ? nd : 10] = '\0';
	if (ok && cls_bsn_valid(d)) {
		uint32_t off = sc->tok[t].off;
		int kw = sc->bsn_label_end > 0 && off < sc->bsn_label_end + 60;

		cls_mask(d, 9, shown, sizeof(shown));
		add_sig(sc, kw ? "bsn-kw" : "bsn", kw ? W_BSN_KW : W_BSN,
		    SIDE_PERSON, shown, d, 9);
		if (kw)
			sc->strong = 1;
	}
	return u - t + 1;
}

static int
month_token(const struct scan *sc, size_t t)
{
	char c;

	static const char *const m[] = {"januari", "februari", "maart", "april",
	    "mei", "juni", "juli", "augustus", "september", "oktober", "november",
	    "december", "jan", "feb", "mrt", "apr", "jun", "jul", "aug", "sep",
	    "sept", "okt", "nov", "dec", "january", "february", "march", "may",
	    "june", "july", "august", "october", "mar", "oct", NULL};

	if (t >= sc->ntok || sc->tok[t].len < 3 || sc->tok[t].len > 9)
		return 0;
	c = sc->nm->s[sc->tok[t].off];
	if (strchr("jfmasond", c) == NULL)
		return 0;
	for (size_t i = 0; m[i] != NULL; i++)
		if (tok_eq(sc, t, m[i]))
			return 1;
	return 0;
}

/* A date starting at token t: d-m-yyyy, yyyy-mm-dd, "12 maart 1980", "March 12, 1980". */
static int
date_at(const struct scan *sc, size_t t)
{
	if (t + 2 >= sc->ntok)
		return 0;
	if (tok_digits(sc, t) && tok_digits(sc, t + 1) && tok_digits(sc, t + 2) &&
	    joined(sc, t, "-/.") && joined(sc, t + 1, "-/.")) {
		uint32_t a = sc->tok[t].len, c = sc->tok[t + 2].len;

		return (a <= 2 && (c == 4 || c == 2)) || (a == 4 && c <= 2);
	}
	if (tok_digits(sc, t) && sc->tok[t].len <= 2 && month_token(sc, t + 1) &&
	    tok_digits(sc, t + 2) && sc->tok[t + 2].len == 4)
		return 1;
	if (month_token(sc, t) && tok_digits(sc, t + 1) && sc->tok[t + 1].len <= 2 &&
	    tok_digits(sc, t + 2) && sc->tok[t + 2].len == 4)
		return 1;
	return 0;
}

/* The year of the date at t (date_at true), or 0. */
static int
date_year(const struct scan *sc, size_t t)
{
	size_t u = sc->tok[t].len == 4 && tok_digits(sc, t) ? t : t + 2;
	const char *s = sc->nm->s + sc->tok[u].off;

	if (sc->tok[u].len != 4)
		return 0;
	return (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
}

/*
 * Dates that look like birth dates (years 1900..2020), remembered for
 * tables where the "geboortedatum" label heads a column, not each value.
 */
static void
note_birthdate(struct scan *sc, size_t t)
{
	int y;

	if (!date_at(sc, t))
		return;
	y = date_year(sc, t);
	if (y < 1900 || y > 2020)
		return;
	if (sc->birthdates++ == 0) {
		uint32_t off = sc->tok[t].off;
		uint32_t end = sc->tok[t + 2].off + sc->tok[t + 2].len;

		cls_mask(sc->nm->s + off, end - off, sc->birth_shown, sizeof(sc->birth_shown));
	}
}

/* After a date-of-birth label: a date within the next few tokens. */
static void
scan_dob(struct scan *sc, size_t t, int words)
{
	for (size_t u = t + (size_t)words; u < sc->ntok && u < t + (size_t)words + 4; u++) {
		if (date_at(sc, u)) {
			uint32_t off = sc->tok[u].off;
			uint32_t end = sc->tok[u + 2].off + sc->tok[u + 2].len;
			char shown[32];

			cls_mask(sc->nm->s + off, end - off, shown, sizeof(shown));
			add_sig(sc, "dob", W_DOB, SIDE_PERSON, shown, sc->nm->s + off, end - off);
			sc->strong = 1;
			sc->dob_found = 1;
			return;
		}
	}
}

/* After a patient/client/dossier number label: a token with 4+ digits. */
static void
scan_patid(struct scan *sc, size_t t, int words)
{
	for (size_t u = t + (size_t)words; u < sc->ntok && u < t + (size_t)words + 3; u++) {
		const struct cls_tok *x = &sc->tok[u];
		int digits = 0;

		for (uint32_t i = 0; i < x->len; i++)
			digits += sc->nm->s[x->off + i] >= '0' && sc->nm->s[x->off + i] <= '9';
		if (digits >= 4 || (digits >= 1 && tok_digits(sc, u) && joined(sc, u, " .-") &&
		    tok_digits(sc, u + 1))) {
			char shown[32];

			cls_mask(sc->nm->s + x->off, x->len, shown, sizeof(shown));
			add_sig(sc, "patient-id", W_PATID, SIDE_PERSON, shown,
			    sc->nm->s + x->off, x->len);
			sc->strong = 1;
			return;
		}
	}
}

static int
is_infix(const struct scan *sc, size_t t)
{
	static const char *const inf[] = {"de", "van", "der", "den", "ten", "ter",
	    "het", "in", "t", "v", "vd", "d", NULL};

	for (size_t i = 0; inf[i] != NULL; i++)
		if (tok_eq(sc, t, inf[i]))
			return 1;
	return 0;
}

static int street_token(const struct scan *sc, size_t t);

static int
in_signature(const struct scan *sc, size_t t)
{
	return sc->close_at >= 0 && (long)t - sc->close_at <= SIG_ZONE;
}

/*
 * A capitalised word that can be a surname: not a number and not one of
 * our words ("Geachte Heer", "Uitslag") except first names.  In file
 * names ("wondfoto_dhr_verhagen.jpg") case says nothing: '_' before counts.
 */
static int
surname_at(const struct scan *sc, size_t u)
{
	const struct cls_tok *x;
	struct cls_lex_hit h[4];
	int nh;

	if (u >= sc->ntok)
		return 0;
	x = &sc->tok[u];
	if (x->len < 2 || tok_digits(sc, u))
		return 0;
	if (!sc->nm->up[x->off] && !(x->off > 0 && sc->nm->s[x->off - 1] == '_'))
		return 0;
	nh = cls_lex_lookup(sc->nm->s, sc->tok, sc->ntok, u, h, 4);
	for (int i = 0; i < nh; i++)
		if (h[i].cat != CAT_FIRSTNAME)
			return 0;
	return 1;
}

/* Skip initials ("P.") and infixes ("van der") from u; returns the next token. */
static size_t
skip_initials(const struct scan *sc, size_t u, int *initials)
{
	*initials = 0;
	for (int k = 0; k < 4 && u < sc->ntok; k++, u++) {
		const struct cls_tok *x = &sc->tok[u];

		if (x->len == 1 && sc->nm->up[x->off] && !tok_digits(sc, u))
			(*initials)++;
		else if (!is_infix(sc, u))
			break;
	}
	return u;
}

static void
add_name(struct scan *sc, size_t u, const char *code, int w)
{
	const struct cls_tok *x = &sc->tok[u];
	char shown[8];

	if (sc->names + w > CAP_NAMES)
		w = CAP_NAMES - sc->names;
	if (w <= 0)
		return;
	shown[0] = (char)(sc->nm->s[x->off] - 32);
	memcpy(shown + 1, "***", 4);
	sc->names += w;
	add_sig(sc, code, w, SIDE_PERSON, shown, sc->nm->s + x->off, x->len);
}

/* Tokens close together on one line: a name follows its title directly. */
static int
near(const struct scan *sc, size_t a, size_t b)
{
	return b < sc->ntok && sc->tok[b].off <= sc->tok[a].off + sc->tok[a].len + 3 + 4 * (b - a - 1);
}

/* "mevrouw Jansen", "dhr. P. de Vries", "Ms Lindqvist". */
static void
on_title(struct scan *sc, size_t t, int words)
{
	int ini;
	size_t u = skip_initials(sc, t + (size_t)words, &ini);

	if (in_signature(sc, t) || (long)u <= sc->skip_until ||
	    !near(sc, t + (size_t)words - 1, u))
		return;
	if (surname_at(sc, u)) {
		add_name(sc, u, "name", W_NAME);
		sc->skip_until = (long)u;
	}
}

/* "Beste R. Peeters" is formal (a patient, a client); "Hoi Lars" is anyone. */
static void
on_greeting(struct scan *sc, size_t t, int words)
{
	int ini;
	size_t first = t + (size_t)words;
	size_t u = skip_initials(sc, first, &ini);

	if (!near(sc, t + (size_t)words - 1, u) || !surname_at(sc, u))
		return;
	if (ini > 0) {
		add_name(sc, u, "name", W_NAME);
	} else {
		add_name(sc, u, "greeting-name", W_GREET_NAME);
		if (u + 1 < sc->ntok && near(sc, u, u + 1) && surname_at(sc, u + 1))
			sc->skip_until = (long)u;
	}
	sc->skip_until = (long)u;
}

/* "dr. Peter Jansen", "collega Anna": staff, not the person mail is about. */
static void
on_staff(struct scan *sc, size_t t, int words)
{
	int ini;
	size_t u = skip_initials(sc, t + (size_t)words, &ini);

	if (!near(sc, t + (size_t)words - 1, u) || !surname_at(sc, u))
		return;
	u++;
	while (u < sc->ntok && near(sc, u - 1, u) && (is_infix(sc, u) || surname_at(sc, u)))
		u++;
	sc->skip_until = (long)u - 1;
}

/* Tokens a and a+1 separated by one or two spaces (or '_' in file names) only. */
static int
spaced(const struct scan *sc, size_t a, size_t b)
{
	uint32_t e = sc->tok[a].off + sc->tok[a].len;

	if (b >= sc->ntok || sc->tok[b].off - e > 2 || sc->tok[b].off == e)
		return 0;
	for (uint32_t i = e; i < sc->tok[b].off; i++)
		if (sc->nm->s[i] != ' ' && sc->nm->s[i] != '_')
			return 0;
	return 1;
}

/* Capitalised then lower case letters only: "Bennett", not "MRI" or "iPad". */
static int
proper_word(const struct scan *sc, size_t u)
{
	const struct cls_tok *x = &sc->tok[u];

	if (x->len < 3 || !sc->nm->up[x->off])
		return 0;
	for (uint32_t i = 1; i < x->len; i++) {
		char c = sc->nm->s[x->off + i];

		if (sc->nm->up[x->off + i] || c < 'a' || c > 'z')
			return 0;
	}
	return 1;
}

/*
 * Two proper words in a row ("Ollie Bennett", "Jolien van den Heuvel"),
 * neither of them one of our words: likely a person's name.  Returns the
 * tokens consumed.
 */
static size_t
scan_capname(struct scan *sc, size_t t)
{
	size_t u = t + 1;

	if ((long)t <= sc->skip_until || in_signature(sc, t) || !proper_word(sc, t))
		return 1;
	while (u < sc->ntok && u < t + 3 && near(sc, u - 1, u) && is_infix(sc, u))
		u++;
	if (u >= sc->ntok || !spaced(sc, u - 1, u) || !proper_word(sc, u) || is_infix(sc, u))
		return 1;
	if (!surname_at(sc, u))
		return 1;
	/* Title Case runs are headings and organisations, not people. */
	if ((t > 0 && spaced(sc, t - 1, t) && proper_word(sc, t - 1)) ||
	    (u + 1 < sc->ntok && spaced(sc, u, u + 1) && proper_word(sc, u + 1)))
		return u - t + 1;
	/* Street names and organisations end in words like "straat", "praktijk". */
	if (street_token(sc, u))
		return 1;
	add_name(sc, t, "capname", W_CAPNAME);
	sc->skip_until = (long)u;
	return u - t + 1;
}

/* "J. de Vries", "A.M. Bakker": initials then a surname, outside a signature. */
static size_t
scan_initials(struct scan *sc, size_t t)
{
	int ini;
	size_t u;
	uint32_t e = sc->tok[t].off + 1;

	if ((long)t <= sc->skip_until || in_signature(sc, t) || !sc->nm->up[sc->tok[t].off] ||
	    e >= sc->nm->n || sc->nm->s[e] != '.')
		return 1;
	u = skip_initials(sc, t, &ini);
	if (!near(sc, u - 1, u) || !proper_word(sc, u) || !surname_at(sc, u))
		return 1;
	add_name(sc, u, "name", W_NAME);
	sc->skip_until = (long)u;
	return u - t + 1;
}

/* A known first name, capitalised, outside greeting and signature. */
static void
on_firstname(struct scan *sc, size_t t)
{
	int ini;
	size_t u;

	if (!sc->nm->up[sc->tok[t].off] || (long)t <= sc->skip_until || in_signature(sc, t))
		return;
	u = skip_initials(sc, t + 1, &ini);
	if (near(sc, t, u) && surname_at(sc, u)) {
		add_name(sc, t, "name", W_NAME);
		sc->skip_until = (long)u;
		return;
	}
	add_name(sc, t, "firstname", W_FIRSTNAME);
}

/* Doses and lab values: a number followed by a unit, or "500mg" in one token. */
static const char *
unit_kind(const char *s, size_t n)
{
	static const struct { const char *u; const char *kind; } units[] = {
		{"mg", "dose"}, {"mcg", "dose"}, {"ug", "dose"}, {"microgram", "dose"},
		{"milligram", "dose"}, {"ie", "dose"}, {"eh", "dose"}, {"iu", "dose"},
		{"mmol", "lab"}, {"umol", "lab"}, {"nmol", "lab"}, {"pmol", "lab"},
		{"mmhg", "lab"}, {"mgl", "lab"}, {"meq", "lab"}, {"gdl", "lab"},
		{"bpm", "lab"}, {"mg/l", "lab"},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].u) == n && memcmp(units[i].u, s, n) == 0)
			return units[i].kind;
	return NULL;
}

static void
add_measure(struct scan *sc, const char *kind, const char *s, size_t n)
{
	sc->med_extra++;
	if (strcmp(kind, "dose") == 0)
		add_sig(sc, "med-dose", W_DOSE, SIDE_MED, "<number> <unit>", s, n);
	else
		add_sig(sc, "med-labvalue", W_LABVAL, SIDE_MED, "<number> <unit>", s, n);
}

static void
scan_number(struct scan *sc, size_t t)
{
	const struct cls_tok *x = &sc->tok[t];
	const char *s = sc->nm->s + x->off;
	uint32_t i = 0;
	const char *kind;

	while (i < x->len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == 0)
		return;
	if (i < x->len) {
		/* "2dd1", "3dd", "500mg" */
		if (x->len - i >= 2 && s[i] == 'd' && s[i + 1] == 'd') {
			sc->med_extra++;
			add_sig(sc, "med-schedule", W_SCHEDULE, SIDE_MED, "<n>dd<n>", s, x->len);
			return;
		}
		if (x->len - i == 1 && s[i] == 'x' && (tok_eq(sc, t + 1, "daags") ||
		    (tok_eq(sc, t + 1, "per") && (tok_eq(sc, t + 2, "dag") ||
		    tok_eq(sc, t + 2, "day") || tok_eq(sc, t + 2, "week"))))) {
			add_sig(sc, "med-schedule", W_SCHEDULE, SIDE_MED, "<n>x per dag", s, x->len);
			return;
		}
		kind = unit_kind(s + i, x->len - i);
		if (kind != NULL)
			add_measure(sc, kind, s, x->len);
		return;
	}
	/* "2 dd 1" */
	if (tok_eq(sc, t + 1, "dd")) {
		add_sig(sc, "med-schedule", W_SCHEDULE, SIDE_MED, "<n>dd<n>", "dd", 2);
		return;
	}
	/* decimal "2,5 mg": skip the fraction token */
	if (t + 2 < sc->ntok && joined(sc, t, ",.") && tok_digits(sc, t + 1))
		t++;
	if (t + 1 < sc->ntok && sc->tok[t + 1].off <= sc->tok[t].off + sc->tok[t].len + 1) {
		const struct cls_tok *y = &sc->tok[t + 1];
		char unit[16];
		size_t ul = y->len < 8 ? y->len : 8;

		memcpy(unit, sc->nm->s + y->off, ul);
		/* "mmol/l", "mg/dl": take the unit with its denominator */
		if (t + 2 < sc->ntok && sc->nm->s[y->off + y->len] == '/' &&
		    sc->tok[t + 2].len <= 3 && ul + sc->tok[t + 2].len < sizeof(unit)) {
			memcpy(unit + ul, sc->nm->s + sc->tok[t + 2].off, sc->tok[t + 2].len);
			ul += sc->tok[t + 2].len;
			if (unit_kind(unit, ul) == NULL)
				ul = y->len < 8 ? y->len : 8;
		}
		kind = unit_kind(unit, ul);
		if (kind != NULL)
			add_measure(sc, kind, unit, ul);
	}
}

/* ICD-10 "E11.9" and ATC "N02BE01": upper case in the original. */
static void
scan_code(struct scan *sc, size_t t)
{
	const struct cls_tok *x = &sc->tok[t];
	const char *s = sc->nm->s + x->off;
	const unsigned char *up = sc->nm->up + x->off;
	char shown[16];

#define AL(i) (s[i] >= 'a' && s[i] <= 'z' && up[i])
#define DG(i) (s[i] >= '0' && s[i] <= '9')
	if (x->len == 7 && AL(0) && DG(1) && DG(2) && AL(3) && AL(4) && DG(5) && DG(6)) {
		snprintf(shown, sizeof(shown), "%.7s", s);
		sc->med_extra++;
		add_sig(sc, "med-atc", W_ATC, SIDE_MED, "<ATC code>", s, 7);
		return;
	}
	if (x->len == 3 && AL(0) && s[0] != 'u' && DG(1) && DG(2) &&
	    joined(sc, t, ".") && tok_digits(sc, t + 1) && sc->tok[t + 1].len <= 2) {
		sc->med_extra++;
		add_sig(sc, "med-icd10", W_ICD, SIDE_MED, "<ICD-10 code>", s, 3);
	}
#undef AL
#undef DG
}

static int
street_token(const struct scan *sc, size_t t)
{
	static const char *const suf[] = {"straat", "laan", "weg", "plein",
	    "gracht", "kade", "singel", "dijk", "dreef", "hof", "pad", "steeg",
	    "markt", "park", "baan", "wal", "erf", "hoek", "ring", "veld", NULL};
	const struct cls_tok *x = &sc->tok[t];

	for (size_t i = 0; suf[i] != NULL; i++) {
		size_t n = strlen(suf[i]);

		if (x->len >= n + 2 && memcmp(sc->nm->s + x->off + x->len - n, suf[i], n) == 0)
			return 1;
	}
	return 0;
}

/* Dutch postcode "1234 AB" after a street and house number within a few tokens. */
static void
scan_postcode(struct scan *sc, size_t t)
{
	const struct cls_tok *x = &sc->tok[t];
	const char *s = sc->nm->s + x->off;
	const unsigned char *up = sc->nm->up + x->off;
	int pc = 0;

	if (x->len == 4 && s[0] >= '1' && tok_digits(sc, t) && t + 1 < sc->ntok &&
	    sc->tok[t + 1].len == 2 && joined(sc, t, " ")) {
		const unsigned char *u2 = sc->nm->up + sc->tok[t + 1].off;
		const char *l = sc->nm->s + sc->tok[t + 1].off;

		pc = u2[0] && u2[1] && l[0] >= 'a' && l[1] >= 'a';
	} else if (x->len == 6 && s[0] >= '1' && s[3] <= '9' && s[4] >= 'a' &&
	    s[5] >= 'a' && up[4] && up[5]) {
		pc = s[1] <= '9' && s[2] <= '9' && s[3] >= '0';
	}
	if (!pc)
		return;
	for (size_t b = 1; b <= 6 && b <= t; b++) {
		char c = sc->nm->s[sc->tok[t - b + 1].off];

		if (street_token(sc, t - b) && t - b + 1 < t && c >= '0' && c <= '9') {
			add_sig(sc, "address", W_ADDRESS, SIDE_PERSON, "<street> <nr> ****",
			    s, x->len);
			return;
		}
	}
}

/*
 * "ik" next to a condition is the writer's own health ("ik moet bestraald
 * worden"); next to a drug or a lab test it is mostly a professional at
 * work ("ik heb metformine voorgeschreven"), so first person (weight 3)
 * pairs with conditions only.
 */
static int
pron_fits(int w, enum cls_cat c)
{
	return w < 3 || c == CAT_CONDITION || c == CAT_MENTAL || c == CAT_PREGNANCY ||
	    c == CAT_WORK;
}

/* A personal pronoun close to a medical word: someone's own matter. */
static void
add_pron(struct scan *sc, size_t t, int w)
{
	const struct cls_tok *x = &sc->tok[t];
	char shown[16];

	if (sc->pron + w > CAP_PRON)
		return;
	snprintf(shown, sizeof(shown), "%.*s", (int)(x->len < 8 ? x->len : 8), sc->nm->s + x->off);
	/* Count each pronoun once, so "he ... he ... he" is not three people. */
	for (size_t i = 0; i < sc->nsig; i++)
		if (strcmp(sc->sig[i].code, "pronoun-med") == 0 && strcmp(sc->sig[i].shown, shown) == 0)
			return;
	sc->pron += w;
	add_sig(sc, "pronoun-med", w, SIDE_PERSON, shown, shown, strlen(shown));
}

/* A lexicon hit: count it on its side, or start a labelled pattern. */
static void
on_hit(struct scan *sc, size_t t, const struct cls_lex_hit *h)
{
	const char *code = cls_cat_code(h->cat);
	char shown[64];
	uint32_t end = sc->tok[t + (size_t)h->words - 1].off + sc->tok[t + (size_t)h->words - 1].len;

	switch (h->cat) {
	case CAT_LBL_BSN:
		sc->bsn_label_end = end + 1;
		return;
	case CAT_LBL_DOB:
		sc->dob_label = 1;
		scan_dob(sc, t, h->words);
		return;
	case CAT_LBL_PATID:
		scan_patid(sc, t, h->words);
		return;
	case CAT_TITLE:
		on_title(sc, t, h->words);
		return;
	case CAT_GREETING:
		on_greeting(sc, t, h->words);
		return;
	case CAT_FIRSTNAME:
		on_firstname(sc, t);
		return;
	case CAT_STAFF:
		on_staff(sc, t, h->words);
		return;
	case CAT_CLOSING:
		sc->close_at = (long)t;
		return;
	case CAT_POSSESSIVE:
		sc->poss_at = (long)t;
		sc->poss_w = h->weight;
		return;
	case CAT_PRONOUN:
		sc->pron_at = (long)t;
		sc->pron_w = h->weight;
		if (sc->med_at >= 0 && (long)t - sc->med_at <= PRON_NEAR &&
		    pron_fits(h->weight, sc->med_cat))
			add_pron(sc, t, h->weight);
		return;
	case CAT_MONTH: case CAT_UNIT: case CAT_STREET: case CAT__N:
		return;
	default:
		break;
	}
	if (h->cat != CAT_GENERAL && h->cat != CAT_PERSON && h->cat != CAT_CARE) {
		sc->med_at = (long)t;
		sc->med_cat = h->cat;
		if (sc->pron_at >= 0 && (long)t - sc->pron_at <= PRON_NEAR &&
		    pron_fits(sc->pron_w, h->cat))
			add_pron(sc, (size_t)sc->pron_at, sc->pron_w);
	}
	if (h->cat != CAT_GENERAL && h->cat != CAT_PERSON && h->cat != CAT_CARE &&
	    sc->poss_at >= 0 && (long)t - sc->poss_at <= 2 && sc->poss + sc->poss_w <= CAP_POSS) {
		/* "uw herhaalmedicatie", "je sportkeuring": medical and about someone. */
		cls_lex_key(h->id, shown, sizeof(shown));
		sc->poss += sc->poss_w;
		add_sig(sc, "possessive-med", sc->poss_w, SIDE_PERSON, shown, shown, strlen(shown));
	}
	if (sc->seen[h->id])
		return;
	sc->seen[h->id] = 1;
	/* Show the lexicon's entry, not the message's words. */
	cls_lex_key(h->id, shown, sizeof(shown));
	if (h->cat == CAT_GENERAL) {
		add_sig(sc, code, h->weight, SIDE_GENERAL, shown, shown, strlen(shown));
	} else if (h->cat == CAT_PERSON) {
		int w = h->weight;

		if (sc->personref + w > CAP_PERSONREF)
			w = CAP_PERSONREF - sc->personref;
		if (w <= 0)
			return;
		sc->personref += w;
		add_sig(sc, code, w, SIDE_PERSON, shown, shown, strlen(shown));
	} else {
		int w = h->weight;

		if (h->cat == CAT_CARE) {
			if (sc->care + w > CAP_CARE)
				w = CAP_CARE - sc->care;
			if (w <= 0)
				return;
			sc->care += w;
		}
		sc->fams[h->cat]++;
		add_sig(sc, code, w, SIDE_MED, shown, shown, strlen(shown));
	}
}

/* Split the normalised text into word tokens; the array grows as needed. */
static int
tokenize(struct scan *sc)
{
	const char *s = sc->nm->s;
	size_t n = sc->nm->n, cap = n / 16 + 64;

	sc->tok = malloc(cap * sizeof(*sc->tok));
	if (sc->tok == NULL)
		return -1;
	for (size_t i = 0; i < n;) {
		size_t st;

		while (i < n && !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			i++;
		if (i >= n)
			break;
		st = i;
		while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
			i++;
		if (i - st > 64)
			continue;		/* base64 runs and the like: not words */
		if (sc->ntok == cap) {
			struct cls_tok *nt = realloc(sc->tok, cap * 2 * sizeof(*nt));

			if (nt == NULL)
				return -1;
			sc->tok = nt;
			cap *= 2;
		}
		sc->tok[sc->ntok].off = (uint32_t)st;
		sc->tok[sc->ntok].len = (uint32_t)(i - st);
		sc->ntok++;
	}
	return 0;
}

static void
scan_tokens(struct scan *sc)
{
	for (size_t t = 0; t < sc->ntok;) {
		struct cls_lex_hit h[4];
		int nh = cls_lex_lookup(sc->nm->s, sc->tok, sc->ntok, t, h, 4);
		size_t adv = 1;
		char c0 = sc->nm->s[sc->tok[t].off];

		for (int i = 0; i < nh; i++) {
			on_hit(sc, t, &h[i]);
			if ((size_t)h[i].words > adv)
				adv = (size_t)h[i].words;
		}
		if (nh == 0 && c0 >= '0' && c0 <= '9') {
			note_birthdate(sc, t);
			if (tok_digits(sc, t))
				adv = scan_bsn(sc, t);
			scan_number(sc, t);
			scan_postcode(sc, t);
		} else if (nh == 0) {
			scan_code(sc, t);
			adv = sc->tok[t].len == 1 ? scan_initials(sc, t) : scan_capname(sc, t);
		}
		t += adv;
	}
}

/*
 * Names of attachments we cannot read: in "Verbeek N - 30061987.pdf" the
 * name and a birth date are all there is to see, so a capitalised word
 * that is none of ours, or a date with a birth year, counts as a person.
 */
static void
scan_filenames(struct scan *sc, const struct cls_doc *d)
{
	struct cls_norm nm = {0}, *save_nm = (struct cls_norm *)sc->nm;
	struct cls_tok *save_tok = sc->tok;
	size_t save_n = sc->ntok;
	int named = 0, dated = 0;

	if (d->fnames.len == 0 || cls_normalize(&nm, d->fnames.p, d->fnames.len) != 0)
		return;
	sc->nm = &nm;
	sc->tok = NULL;
	sc->ntok = 0;
	if (tokenize(sc) == 0) {
		for (size_t t = 0; t < sc->ntok; t++) {
			const struct cls_tok *x = &sc->tok[t];
			const char *s = nm.s + x->off;

			if (!named && surname_at(sc, t) && proper_word(sc, t)) {
				add_name(sc, t, "file-name", W_CAPNAME);
				named = 1;
			} else if (!dated && x->len == 8 && tok_digits(sc, t)) {
				int y1 = (s[4] - '0') * 1000 + (s[5] - '0') * 100 + (s[6] - '0') * 10 + (s[7] - '0');
				int y0 = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');

				if ((y1 >= 1900 && y1 <= 2020) || (y0 >= 1900 && y0 <= 2020)) {
					char shown[16];

					cls_mask(s, 8, shown, sizeof(shown));
					add_sig(sc, "file-date", W_FILEDATE, SIDE_PERSON, shown, s, 8);
					dated = 1;
				}
			}
		}
	}
	free(sc->tok);
	sc->tok = save_tok;
	sc->ntok = save_n;
	sc->nm = save_nm;
	cls_norm_free(&nm);
}

static void
add_attachments(struct scan *sc, const struct cls_doc *d)
{
	static const struct { const char *what; size_t off; } kinds[] = {
		{"pdf", offsetof(struct cls_doc, att_pdf)},
		{"office", offsetof(struct cls_doc, att_office)},
		{"image", offsetof(struct cls_doc, att_image)},
		{"other", offsetof(struct cls_doc, att_other)},
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int n = *(const int *)((const char *)d + kinds[i].off);
		char shown[64];

		if (n == 0)
			continue;
		snprintf(shown, sizeof(shown), "%d %s attachment(s), not read", n, kinds[i].what);
		add_sig(sc, "attachment-unread", W_UNREAD, SIDE_MED, shown,
		    kinds[i].what, strlen(kinds[i].what));
	}
}

/* Square root by Newton's method: keeps libm out of the link. */
static double
root(double x)
{
	double r = x > 1 ? x : 1;

	if (x <= 0)
		return 0;
	for (int i = 0; i < 40; i++)
		r = 0.5 * (r + x / r);
	return r;
}

/* The decision: both sides needed; context lowers; fail safe when unsure. */
static int
decide(const struct scan *sc, const struct cls_doc *d)
{
	double pn = sc->p / P_FULL, mn = sc->m / M_FULL, score;
	int fams = 0, unread = d->att_pdf + d->att_office + d->att_image;

	for (int c = 0; c < CAT__N; c++)
		fams += c != CAT_CARE && sc->fams[c] > 0;
	/* Only care words (huisarts, afspraak): an organisation talking, not a condition. */
	if (fams == 0 && sc->med_extra == 0 && unread == 0)
		mn *= 0.35;

	if (pn > 1)
		pn = 1;
	if (mn > 1)
		mn = 1;
	/*
	 * R-CLS-3: an attachment we cannot read, in a message about medical
	 * matters, may well be about a person: unsure, so lean to health.
	 */
	if (unread > 0 && sc->m >= 3 && sc->p >= 1 && pn < 0.5)
		pn = 0.5;
	if (unread > 0 && sc->p >= 2 && sc->m >= 2 && mn < 0.5)
		mn = 0.5;
	score = 100.0 * root(pn * mn);
	/* Without a clear pointer to a person, medical talk alone stays below. */
	if (pn < 3 / P_FULL)
		score *= 0.85;
	if (sc->g > 0 && !sc->strong) {
		double f = 1.0 - 0.1 * sc->g;

		score *= f < 0.3 ? 0.3 : f;
	}
	return (int)(score + 0.5);
}

static void
join_reasons(struct cls_result *r, const struct scan *sc, const char *extra)
{
	size_t k = 0;

	r->reasons[0] = '\0';
	if (extra != NULL && extra[0] != '\0')
		k += (size_t)snprintf(r->reasons, sizeof(r->reasons), "%s", extra);
	for (size_t i = 0; sc != NULL && i < sc->nsig; i++) {
		const char *c = sc->sig[i].code;
		size_t cl = strlen(c);
		int dup = 0;

		/* Each code once, in order of first appearance. */
		for (size_t j = 0; j < i && !dup; j++)
			dup = strcmp(sc->sig[j].code, c) == 0;
		if (dup || k + cl + 2 >= sizeof(r->reasons))
			continue;
		if (k > 0)
			r->reasons[k++] = ',';
		memcpy(r->reasons + k, c, cl + 1);
		k += cl;
	}
	if (k == 0)
		snprintf(r->reasons, sizeof(r->reasons), "none");
}

static int
explain_add(struct cls_explain *ex, const char *line)
{
	char **nl = realloc(ex->line, (ex->n + 1) * sizeof(*nl));

	if (nl == NULL)
		return -1;
	ex->line = nl;
	ex->line[ex->n] = strdup(line);
	if (ex->line[ex->n] == NULL)
		return -1;
	ex->n++;
	return 0;
}

static int
fill_explain(struct cls_explain *ex, const struct scan *sc, const struct cls_doc *d,
    const struct cls_result *r)
{
	char line[160];

	for (size_t i = 0; i < sc->nsig; i++) {
		const struct sig *s = &sc->sig[i];
		const char *side = s->side == SIDE_PERSON ? "person" :
		    s->side == SIDE_MED ? "medical" : "context";

		snprintf(line, sizeof(line), "%-18s %s %+d  %s", s->code, side,
		    s->side == SIDE_GENERAL ? -s->weight : s->weight, s->shown);
		if (explain_add(ex, line) != 0)
			return -1;
	}
	snprintf(line, sizeof(line), "totals             person %d/%.0f medical %d/%.0f context -%d%s",
	    sc->p, P_FULL, sc->m, M_FULL, sc->g, sc->strong ? " (hard identifier)" : "");
	if (explain_add(ex, line) != 0)
		return -1;
	if (d->limit && explain_add(ex, "limit              a parsing limit stopped reading: unsure, counted as health") != 0)
		return -1;
	if (r->forced == CLS_FORCED_SECURE &&
	    explain_add(ex, "forced-secure      sender asked for secure handling") != 0)
		return -1;
	if (r->forced == CLS_FORCED_NORMAL &&
	    explain_add(ex, "forced-normal      sender declared not health (allowed by config)") != 0)
		return -1;
	return 0;
}

void
cls_options_default(struct cls_options *o)
{
	o->allow_downgrade = 0;
	o->threshold = 50;
}

void
cls_options_from_config(struct cls_options *o, const struct config *c)
{
	cls_options_default(o);
	o->allow_downgrade = c->cls_allow_downgrade;
	o->threshold = (int)c->cls_threshold;
}

static void
fail_safe(struct cls_result *r, const char *why)
{
	r->verdict = CLS_HEALTH;
	r->score = 100;
	r->forced = CLS_FORCED_NONE;
	snprintf(r->reasons, sizeof(r->reasons), "%s", why);
}

/* Run the scan over a read document; fills r (and ex when given). */
static int
run(const struct cls_doc *d, const struct cls_options *o, struct cls_result *r,
    struct cls_explain *ex)
{
	struct cls_norm nm = {0};
	struct scan sc;
	int rc = -1;
	const char *extra = "";

	memset(&sc, 0, sizeof(sc));
	if (cls_normalize(&nm, d->text.p ? d->text.p : "", d->text.len) != 0)
		return -1;
	sc.nm = &nm;
	sc.seen = calloc(cls_lex_entries() + 1, 1);
	sc.sig = calloc(CLS_MAX_SIGS, sizeof(*sc.sig));
	if (sc.seen == NULL || sc.sig == NULL || tokenize(&sc) != 0)
		goto out;
	sc.close_at = sc.poss_at = sc.skip_until = sc.pron_at = sc.med_at = -1;
	scan_tokens(&sc);
	if (sc.dob_label && sc.birthdates > 0 && !sc.dob_found) {
		/* A "geboortedatum" column over birth-year dates. */
		add_sig(&sc, "dob", W_DOB, SIDE_PERSON, sc.birth_shown, "table", 5);
		sc.strong = 1;
	}
	scan_filenames(&sc, d);
	add_attachments(&sc, d);
	r->score = decide(&sc, d);
	r->forced = CLS_FORCED_NONE;
	if (d->limit) {
		/* R-CLS-3: what we could not read may be health information. */
		extra = "unread-limit";
		if (r->score < o->threshold)
			r->score = o->threshold;
	}
	r->verdict = r->score >= o->threshold ? CLS_HEALTH : CLS_CLEAN;
	if (d->forced_secure) {
		r->forced = CLS_FORCED_SECURE;
		r->verdict = CLS_HEALTH;
		extra = d->limit ? "forced-secure,unread-limit" : "forced-secure";
	} else if (d->forced_normal && o->allow_downgrade) {
		r->forced = CLS_FORCED_NORMAL;
		r->verdict = CLS_CLEAN;
		extra = "forced-normal";
	}
	join_reasons(r, &sc, extra);
	rc = ex != NULL ? fill_explain(ex, &sc, d, r) : 0;
out:
	free(sc.tok);
	free(sc.seen);
	free(sc.sig);
	cls_norm_free(&nm);
	return rc;
}

int
cls_classify_explain(const char *msg, size_t len, const struct cls_options *o,
    struct cls_result *r, struct cls_explain **exp)
{
	struct cls_options def;
	struct cls_doc d;
	struct cls_explain *ex = NULL;
	int rc;

	if (o == NULL) {
		cls_options_default(&def);
		o = &def;
	}
	if (exp != NULL) {
		*exp = NULL;
		ex = calloc(1, sizeof(*ex));
		if (ex == NULL) {
			fail_safe(r, "error");
			return -1;
		}
	}
	if (cls_lex_init() != 0) {
		cls_explain_free(ex);
		fail_safe(r, "error");
		return -1;
	}
	rc = cls_doc_read(&d, msg, len);
	if (rc == 0)
		rc = run(&d, o, r, ex);
	cls_doc_free(&d);
	if (rc != 0) {
		cls_explain_free(ex);
		fail_safe(r, "error");
		return -1;
	}
	if (exp != NULL)
		*exp = ex;
	return 0;
}

int
cls_classify(const char *msg, size_t len, const struct cls_options *o,
    struct cls_result *r)
{
	return cls_classify_explain(msg, len, o, r, NULL);
}

size_t
cls_explain_count(const struct cls_explain *ex)
{
	return ex != NULL ? ex->n : 0;
}

const char *
cls_explain_line(const struct cls_explain *ex, size_t i)
{
	return ex != NULL && i < ex->n ? ex->line[i] : NULL;
}

void
cls_explain_free(struct cls_explain *ex)
{
	if (ex == NULL)
		return;
	for (size_t i = 0; i < ex->n; i++)
		free(ex->line[i]);
	free(ex->line);
	free(ex);
}

int
cls_extract_text(const char *msg, size_t len, char **out, size_t *outlen)
{
	struct cls_doc d;

	*out = NULL;
	*outlen = 0;
	if (cls_doc_read(&d, msg, len) != 0) {
		cls_doc_free(&d);
		return -1;
	}
	cls_buf_free(&d.fnames);
	*out = d.text.p ? d.text.p : strdup("");
	*outlen = d.text.len;
	return *out != NULL ? 0 : -1;
}
