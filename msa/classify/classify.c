/*
 * classify.c - lexicon hits, the decision, the public API.
 *
 * The message is read (mime.c), normalised (text.c) and split into word
 * tokens.  One pass over the tokens finds lexicon entries (lexicon.c) and
 * the patterned signals (patterns.c: BSN, dates of birth, patient numbers,
 * doses, lab values, codes, addresses; names.c: people).  Every signal is
 * on one side: "person" P, "medical" M or "general information" G.
 *
 * The decision (R-CLS-1: medical jargon together with a person) is the
 * geometric mean of P and M, each scaled to 0..1 (full at 8 points), so
 * either side alone scores 0; G (newsletters, job postings, menus, pets)
 * lowers it unless a hard identifier (labelled BSN, date of birth, patient
 * number) is present.  R-CLS-3 (unsure counts as health): attachments we
 * cannot read lift the side that is missing when the other is present,
 * and a parsing limit or an error makes the verdict health.
 */
#include "msa/classify/classify.h"
#include "msa/classify/internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cls_explain {
	size_t n;
	char **line;
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
void
cls_add_sig(struct scan *sc, const char *code, int w, enum sig_side side,
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
	cls_add_sig(sc, "pronoun-med", w, SIDE_PERSON, shown, shown, strlen(shown));
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
		cls_scan_dob(sc, t, h->words);
		return;
	case CAT_LBL_PATID:
		cls_scan_patid(sc, t, h->words);
		return;
	case CAT_TITLE:
		cls_on_title(sc, t, h->words);
		return;
	case CAT_GREETING:
		cls_on_greeting(sc, t, h->words);
		return;
	case CAT_FIRSTNAME:
		cls_on_firstname(sc, t);
		return;
	case CAT_STAFF:
		cls_on_staff(sc, t, h->words);
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
		cls_add_sig(sc, "possessive-med", sc->poss_w, SIDE_PERSON, shown, shown, strlen(shown));
	}
	if (sc->seen[h->id])
		return;
	sc->seen[h->id] = 1;
	/* Show the lexicon's entry, not the message's words. */
	cls_lex_key(h->id, shown, sizeof(shown));
	if (h->cat == CAT_GENERAL) {
		cls_add_sig(sc, code, h->weight, SIDE_GENERAL, shown, shown, strlen(shown));
	} else if (h->cat == CAT_PERSON) {
		int w = h->weight;

		if (sc->personref + w > CAP_PERSONREF)
			w = CAP_PERSONREF - sc->personref;
		if (w <= 0)
			return;
		sc->personref += w;
		cls_add_sig(sc, code, w, SIDE_PERSON, shown, shown, strlen(shown));
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
		cls_add_sig(sc, code, w, SIDE_MED, shown, shown, strlen(shown));
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
			cls_note_birthdate(sc, t);
			if (cls_tok_digits(sc, t))
				adv = cls_scan_bsn(sc, t);
			cls_scan_number(sc, t);
			cls_scan_postcode(sc, t);
		} else if (nh == 0) {
			cls_scan_code(sc, t);
			adv = sc->tok[t].len == 1 ? cls_scan_initials(sc, t) : cls_scan_capname(sc, t);
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

			if (!named && cls_surname_at(sc, t) && cls_proper_word(sc, t)) {
				cls_add_name(sc, t, "file-name", W_FILENAME);
				named = 1;
			} else if (!dated && x->len == 8 && cls_tok_digits(sc, t)) {
				int y1 = (s[4] - '0') * 1000 + (s[5] - '0') * 100 + (s[6] - '0') * 10 + (s[7] - '0');
				int y0 = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');

				if ((y1 >= 1900 && y1 <= 2020) || (y0 >= 1900 && y0 <= 2020)) {
					char shown[16];

					cls_mask(s, 8, shown, sizeof(shown));
					cls_add_sig(sc, "file-date", W_FILEDATE, SIDE_PERSON, shown, s, 8);
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
		cls_add_sig(sc, "attachment-unread", W_UNREAD, SIDE_MED, shown,
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
	if (d->att_pdf_read > 0) {
		snprintf(line, sizeof(line), "pdf-read           pdf attachment read (%d)%s", d->att_pdf_read,
		    d->att_pdf_partial > 0 ? ", partly: a limit stopped reading" : "");
		if (explain_add(ex, line) != 0)
			return -1;
	}
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
	sc.sig = malloc(CLS_MAX_SIGS * sizeof(*sc.sig));	/* filled as signals come */
	if (sc.seen == NULL || sc.sig == NULL || tokenize(&sc) != 0)
		goto out;
	sc.close_at = sc.poss_at = sc.skip_until = sc.pron_at = sc.med_at = -1;
	scan_tokens(&sc);
	if (sc.dob_label && sc.birthdates > 0 && !sc.dob_found) {
		/* A "geboortedatum" column over birth-year dates. */
		cls_add_sig(&sc, "dob", W_DOB, SIDE_PERSON, sc.birth_shown, "table", 5);
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
