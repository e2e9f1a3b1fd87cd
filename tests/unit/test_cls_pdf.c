/*
 * test_cls_pdf.c - the classifier's PDF text extractor (msa/classify/pdf.c)
 * and its use for attachments (mime.c).  Every PDF is assembled here:
 * pdf_build() writes the objects given (streams compressed with zlib when
 * asked) with an xref table that may be wrong, as real writers' often are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "msa/classify/classify.h"
#include "msa/classify/internal.h"

/* A growable byte string for building PDFs and messages. */
struct bb {
	unsigned char *p;
	size_t len, cap;
};

static void
bb_add(struct bb *b, const void *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 1024;

		while (nc < b->len + n + 1)
			nc *= 2;
		b->p = realloc(b->p, nc);
		assert_non_null(b->p);
		b->cap = nc;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
bb_str(struct bb *b, const char *s)
{
	bb_add(b, s, strlen(s));
}

static void
bb_fmt(struct bb *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	bb_add(b, tmp, (size_t)n);
}

/* One object: a dictionary (or any value), or a stream when data is set. */
struct obj {
	const char *dict;		/* "<< ... >>" without /Length and /Filter for streams */
	const void *data;		/* stream data, or NULL */
	size_t dlen;			/* 0: strlen(data) */
	int flate;			/* compress with compress2 and say /FlateDecode */
	int bad_length;			/* write a /Length that is wrong */
};

/*
 * Objects 1..n, an xref table (offsets shifted by 7 when bad_xref) and a
 * trailer with /Root 1 0 R and trailer_extra.
 */
static unsigned char *
pdf_build(const struct obj *o, size_t n, int bad_xref, const char *trailer_extra, size_t *len)
{
	struct bb b = {0};
	size_t *off = calloc(n + 1, sizeof(*off)), xref;

	assert_non_null(off);
	bb_str(&b, "%PDF-1.5\n%\xe2\xe3\xcf\xd3\n");
	for (size_t i = 0; i < n; i++) {
		off[i] = b.len;
		bb_fmt(&b, "%zu 0 obj\n", i + 1);
		if (o[i].data == NULL) {
			bb_str(&b, o[i].dict);
		} else {
			const unsigned char *d = o[i].data;
			size_t dl = o[i].dlen ? o[i].dlen : strlen(o[i].data);
			unsigned char *z = NULL;
			const char *dict = o[i].dict ? o[i].dict : "<< >>";

			if (o[i].flate) {
				uLongf zl = compressBound(dl);

				z = malloc(zl);
				assert_non_null(z);
				assert_int_equal(compress2(z, &zl, d, dl, 9), Z_OK);
				d = z;
				dl = zl;
			}
			/* The caller's dictionary with /Length and /Filter added at its end. */
			bb_add(&b, dict, strlen(dict) - 2);
			bb_fmt(&b, " /Length %zu%s >>\nstream\r\n", o[i].bad_length ? dl / 2 + 3 : dl,
			    o[i].flate ? " /Filter /FlateDecode" : "");
			bb_add(&b, d, dl);
			bb_str(&b, "\r\nendstream");
			free(z);
		}
		bb_str(&b, "\nendobj\n");
	}
	xref = b.len;
	bb_fmt(&b, "xref\n0 %zu\n0000000000 65535 f \n", n + 1);
	for (size_t i = 0; i < n; i++)
		bb_fmt(&b, "%010zu 00000 n \n", off[i] + (bad_xref ? 7 : 0));
	bb_fmt(&b, "trailer\n<< /Size %zu /Root 1 0 R %s>>\nstartxref\n%zu\n%%%%EOF\n", n + 1,
	    trailer_extra ? trailer_extra : "", bad_xref ? xref + 3 : xref);
	free(off);
	*len = b.len;
	return b.p;
}

/* Catalog, pages, one page with font F1 = object 4 and contents = object 5. */
#define CATALOG "<< /Type /Catalog /Pages 2 0 R >>"
#define PAGES "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
#define PAGE "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] " \
	"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
#define HELV "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"

/* The text of a one-page Helvetica PDF with the given content stream. */
static char *
page_text(const char *content, int flate, int bad_length, int bad_xref, int *rc)
{
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0},
		{HELV, NULL, 0, 0, 0}, {"<< >>", content, 0, flate, bad_length},
	};
	size_t len;
	unsigned char *pdf = pdf_build(o, 5, bad_xref, NULL, &len);
	struct cls_buf out;
	char *s;

	cls_buf_init(&out, CLS_PDF_MAX_TEXT);
	*rc = cls_pdf_text(&out, pdf, len);
	s = strdup(out.p ? out.p : "");
	assert_non_null(s);
	cls_buf_free(&out);
	free(pdf);
	return s;
}

struct tcase {
	const char *name;
	const char *content;
	int flate, bad_length, bad_xref;
	const char *want;		/* must appear */
	const char *not;		/* must not appear */
};

static const struct tcase text_cases[] = {
	{"WinAnsi: Dutch accents as raw bytes and octal escapes",
	 "BT /F1 11 Tf 72 720 Td (Pati\xebnt ge\\357nformeerd, r\\366ntgen \xe9\xe9n keer) Tj ET",
	 0, 0, 0, "Pati\xc3\xabnt ge\xc3\xafnformeerd, r\xc3\xb6ntgen \xc3\xa9\xc3\xa9n keer", NULL},
	{"WinAnsi: 0x80..0x9f are Windows-1252 (euro, quotes)",
	 "BT /F1 11 Tf (\x80 5 \x93zorg\x94) Tj ET",
	 0, 0, 0, "\xe2\x82\xac 5 \xe2\x80\x9czorg\xe2\x80\x9d", NULL},
	{"escapes: \\( \\) \\\\ \\n, balanced parentheses, line continuation",
	 "BT /F1 11 Tf (a\\(b\\)c\\\\d (e) f\\\ng\\ny) Tj ET",
	 0, 0, 0, "a(b)c\\d (e) fg y", NULL},
	{"FlateDecode",
	 "BT /F1 11 Tf (uitslag bloedonderzoek mevrouw Jansen) Tj ET",
	 1, 0, 0, "uitslag bloedonderzoek mevrouw Jansen", "x\x9c"},
	{"FlateDecode with a wrong /Length and a wrong xref",
	 "BT /F1 11 Tf (ontslagbrief cardiologie) Tj ET",
	 1, 1, 1, "ontslagbrief cardiologie", NULL},
	{"raw stream with a wrong /Length",
	 "BT /F1 11 Tf (verwijzing longarts) Tj ET",
	 0, 1, 1, "verwijzing longarts", NULL},
	{"TJ: kerning joins, a gap below -200 is a space",
	 "BT /F1 11 Tf [(Uit) -30 (slag) 12 (en) -250 (bloed) -199.5 (waarden)] TJ ET",
	 0, 0, 0, "Uitslagen bloedwaarden", NULL},
	{"' and \" and T* start new lines; Td with a y move too",
	 "BT /F1 11 Tf 14 TL (regel een) Tj (regel twee) ' 1 2 (regel drie) \" T* (vier) Tj "
	 "0 -14 Td (vijf) Tj 30 0 Td (zes) Tj ET",
	 0, 0, 0, "regel een\nregel twee\nregel drie\nvier\nvijf zes", NULL},
	{"Tm: same line is a space, a new line a newline",
	 "BT /F1 11 Tf 1 0 0 1 72 700 Tm (naam) Tj 1 0 0 1 140 700 Tm (Jansen) Tj "
	 "1 0 0 1 72 686 Tm (geboren) Tj ET",
	 0, 0, 0, "naam Jansen\ngeboren", NULL},
	{"ET ends a run; hex strings",
	 "BT /F1 11 Tf <48656c6c6f> Tj ET BT /F1 11 Tf <576f726c64> Tj ET",
	 0, 0, 0, "Hello\nWorld", NULL},
	{"strings of other operators are not text; inline images skipped",
	 "/Span << /ActualText (verborgen) >> BDC BI /W 4 /H 1 /BPC 8 /CS /G ID (\x01\xff) Tj EI "
	 "BT /F1 11 Tf (zichtbaar) Tj ET EMC",
	 0, 0, 0, "zichtbaar", "verborgen"},
	{"control bytes are dropped",
	 "BT /F1 11 Tf (a\\001\\002b\x7f\x81" "c) Tj ET",
	 0, 0, 0, "abc", "\x01"},
};

static void
test_text_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct tcase *c = &text_cases[i];
		int rc = -2;
		char *got = page_text(c->content, c->flate, c->bad_length, c->bad_xref, &rc);

		if (rc != 0 || strstr(got, c->want) == NULL ||
		    (c->not != NULL && strstr(got, c->not) != NULL))
			fail_msg("%s: got rc %d text \"%s\", want \"%s\"%s%s", c->name, rc, got,
			    c->want, c->not ? " without " : "", c->not ? c->not : "");
		free(got);
	}
}

/* The extracted text of objects o[0..n). */
static char *
objs_text(const struct obj *o, size_t n, const char *trailer, int *rc, size_t cap)
{
	size_t len;
	unsigned char *pdf = pdf_build(o, n, 0, trailer, &len);
	struct cls_buf out;
	char *s;

	cls_buf_init(&out, cap);
	*rc = cls_pdf_text(&out, pdf, len);
	assert_true(out.len <= cap);
	s = strdup(out.p ? out.p : "");
	assert_non_null(s);
	cls_buf_free(&out);
	free(pdf);
	return s;
}

/*
 * A Type0 font whose glyph codes are not Unicode: the ToUnicode CMap maps
 * them (bfchar and bfrange, the array form too); without it they drop.
 */
static const char type0_cmap[] =
    "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
    "/CMapName /Adobe-Identity-UCS def\n"
    "1 begincodespacerange <0000> <FFFF> endcodespacerange\n"
    "3 beginbfchar\n<0003> <0020>\n<0010> <00E8>\n<0011> <00EB>\nendbfchar\n"
    "2 beginbfrange\n<0024> <003D> <0061>\n<0050> <0052> [<0048> <0062> <FB01>]\nendbfrange\n"
    "endcmap CMapName currentdict /CMap defineresource pop end end\n";

static void
test_type0_tounicode(void **state)
{
	/* "diab" "è" "te" space "patiënt" space "Hb" "fi" : codes = letter - 'a' + 0x24. */
	static const char content[] =
	    "BT /F2 12 Tf 1 0 0 1 72 700 Tm <0027002C002400250010003700280003003300240037002C0011003100370003> Tj "
	    "<00500051 0052> Tj ET";
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0},
		{"<< /Type /Page /Parent 2 0 R /Resources 8 0 R /Contents 5 0 R >>", NULL, 0, 0, 0},
		{"<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri /Encoding /Identity-H "
		 "/DescendantFonts [6 0 R] /ToUnicode 7 0 R >>", NULL, 0, 0, 0},
		{"<< >>", content, 0, 1, 0},
		{"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /ABCDEF+Calibri >>", NULL, 0, 0, 0},
		{"<< >>", type0_cmap, 0, 1, 0},
		{"<< /Font << /F2 4 0 R >> >>", NULL, 0, 0, 0},
	};
	int rc;
	char *got = objs_text(o, 8, NULL, &rc, CLS_PDF_MAX_TEXT);

	(void)state;
	assert_int_equal(rc, 0);
	if (strstr(got, "diab\xc3\xa8te pati\xc3\xabnt Hb\xef\xac\x81") == NULL)
		fail_msg("got \"%s\"", got);
	free(got);
	/* The same font without /ToUnicode: glyph ids mean nothing, nothing comes out. */
	o[3].dict = "<< /Type /Font /Subtype /Type0 /BaseFont /ABCDEF+Calibri "
	    "/Encoding /Identity-H /DescendantFonts [6 0 R] >>";
	got = objs_text(o, 8, NULL, &rc, CLS_PDF_MAX_TEXT);
	assert_int_equal(rc, 0);
	for (const char *p = got; *p; p++)
		if (*p != ' ' && *p != '\n')
			fail_msg("unmapped glyphs gave \"%s\"", got);
	free(got);
}

/* A simple (TrueType subset) font with a 1-byte ToUnicode CMap. */
static void
test_simple_tounicode(void **state)
{
	static const char cmap[] =
	    "begincmap 1 begincodespacerange <00> <FF> endcodespacerange\n"
	    "2 beginbfchar <01> <0068> <02> <0075> endbfchar\n"
	    "1 beginbfrange <03> <05> <0069> endbfrange endcmap";
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0},
		{"<< /Type /Font /Subtype /TrueType /BaseFont /XYZ+Arial /ToUnicode 6 0 R >>", NULL, 0, 0, 0},
		{"<< >>", "BT /F1 10 Tf <0102040403> Tj ET", 0, 0, 0},
		{"<< >>", cmap, 0, 0, 0},
	};
	int rc;
	char *got = objs_text(o, 6, NULL, &rc, CLS_PDF_MAX_TEXT);

	(void)state;
	assert_int_equal(rc, 0);
	if (strstr(got, "hujji") == NULL)
		fail_msg("got \"%s\"", got);
	free(got);
}

/*
 * A subset Type1 font (as pdfTeX and Ghostscript write them) whose codes
 * are given meaning by /Differences glyph names, in an indirect /Encoding:
 * plain, suffixed (a.sc), uniXXXX and uXXXX names, ligatures; a private
 * name (g31, here on code 'A') is dropped; codes not listed keep WinAnsi.
 */
static void
test_differences(void **state)
{
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0},
		{"<< /Type /Font /Subtype /Type1 /BaseFont /ABCDEF+CMR10 /Encoding 6 0 R >>", NULL, 0, 0, 0},
		{"<< >>", "BT /F1 10 Tf <0102030405060708> Tj 0 -12 Td <0A0B0C0D0E0F10> Tj"
		    " 0 -12 Td <1112> Tj 0 -12 Td (BAC) Tj ET", 0, 0, 0},
		{"<< /Type /Encoding /BaseEncoding /WinAnsiEncoding /Differences [1 /h /u /i /s"
		    " /a /r /t /s 10 /p /a.sc /t /i /uni00EB /n /t /ffi /u00E9 65 /g31] >>",
		    NULL, 0, 0, 0},
	};
	int rc;
	char *got = objs_text(o, 6, NULL, &rc, CLS_PDF_MAX_TEXT);

	(void)state;
	assert_int_equal(rc, 0);
	if (strstr(got, "huisarts") == NULL || strstr(got, "pati\xc3\xabnt") == NULL ||
	    strstr(got, "ffi\xc3\xa9") == NULL || strstr(got, "BC") == NULL || strchr(got, 'A') != NULL)
		fail_msg("got \"%s\"", got);
	free(got);
}

/* /MacRomanEncoding, by name and as a /BaseEncoding: 0x8E is e-acute there. */
static void
test_macroman(void **state)
{
	static const char *const fonts[] = {
		"<< /Type /Font /Subtype /TrueType /BaseFont /Geneva /Encoding /MacRomanEncoding >>",
		"<< /Type /Font /Subtype /TrueType /BaseFont /Geneva /Encoding"
		" << /BaseEncoding /MacRomanEncoding /Differences [1 /d] >> >>",
	};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct obj o[] = {
			{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0},
			{fonts[i], NULL, 0, 0, 0}, {"<< >>", "BT /F1 10 Tf (caf\\216 r\\212sum\\216) Tj ET", 0, 0, 0},
		};
		int rc;
		char *got = objs_text(o, 5, NULL, &rc, CLS_PDF_MAX_TEXT);

		assert_int_equal(rc, 0);
		if (strstr(got, "caf\xc3\xa9 r\xc3\xa4sum\xc3\xa9") == NULL)
			fail_msg("font %zu: got \"%s\"", i, got);
		free(got);
	}
}

/* The glyph-name table is sorted (it is searched by halves) and its forms. */
static void
test_glyph_names(void **state)
{
	static const struct {
		const char *name, *want;
	} c[] = {
		{"eacute", "\xc3\xa9"}, {"Eacute", "\xc3\x89"}, {"z", "z"}, {"fi", "fi"},
		{"quoteright", "\xe2\x80\x99"}, {"one.oldstyle", "1"}, {"uni20AC", "\xe2\x82\xac"},
		{"u1F600", "\xf0\x9f\x98\x80"}, {"g31", ""}, {"uni00e9", ""}, {"uniD800", ""},
		{"u110000", ""}, {".notdef", ""}, {"", ""},
	};
	char out[8];

	(void)state;
	assert_true(cls_pdf_glyphs_sorted());
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		size_t k = cls_pdf_glyph_utf8((const unsigned char *)c[i].name, strlen(c[i].name), out);

		if (k != strlen(c[i].want) || memcmp(out, c[i].want, k) != 0)
			fail_msg("%s: got %zu bytes", c[i].name, k);
	}
}

/* PDF 1.5: the font dictionary and the resources live in a compressed object stream. */
static void
test_object_stream(void **state)
{
	static const char font[] = "<< /Type /Font /Subtype /Type0 /Encoding /Identity-H /ToUnicode 7 0 R >>";
	static const char res[] = "<< /Font << /F2 4 0 R >> >>";
	char objstm[512], dict[128];
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0},
		{"<< /Type /Page /Parent 2 0 R /Resources 9 0 R /Contents 5 0 R >>", NULL, 0, 0, 0},
		{dict, objstm, 0, 1, 0},
		{"<< >>", "BT /F2 9 Tf <002700100032002F> Tj ( ) Tj <003700280024> Tj ET", 0, 1, 0},
		{"null", NULL, 0, 0, 0},
		{"<< >>", type0_cmap, 0, 1, 0},
	};
	int rc, hl;
	char *got;

	(void)state;
	/* "4 0 9 <offset of the second>" then the objects from /First. */
	hl = snprintf(objstm, sizeof(objstm), "4 0 9 %zu ", sizeof(font));
	snprintf(objstm + hl, sizeof(objstm) - (size_t)hl, "%s %s", font, res);
	snprintf(dict, sizeof(dict), "<< /Type /ObjStm /N 2 /First %d >>", hl);
	got = objs_text(o, 7, NULL, &rc, CLS_PDF_MAX_TEXT);
	assert_int_equal(rc, 0);
	if (strstr(got, "d\xc3\xa8ol") == NULL || strstr(got, "tea") == NULL)
		fail_msg("got \"%s\"", got);
	free(got);
}

/* Images (by /Subtype or filter) are not read as text, nor are other filters. */
static void
test_images_skipped(void **state)
{
	static const char fake[] = "BT /F1 9 Tf (beeldtekst) Tj ET";
	struct obj o[] = {
		/* No page tree: every untyped stream is a content candidate. */
		{"<< /Type /Catalog >>", NULL, 0, 0, 0},
		{"<< /Type /XObject /Subtype /Image /Width 1 /Height 1 >>", fake, 0, 0, 0},
		{"<< /Filter /DCTDecode >>", fake, 0, 0, 0},
		{"<< /Filter [/FlateDecode /DCTDecode] >>", fake, 0, 0, 0},
		{"<< /Filter /ASCII85Decode >>", fake, 0, 0, 0},
		{"<< >>", "BT /F1 9 Tf (echte tekst) Tj ET", 0, 1, 0},
	};
	int rc;
	char *got = objs_text(o, 6, NULL, &rc, CLS_PDF_MAX_TEXT);

	(void)state;
	assert_int_equal(rc, 0);
	if (strstr(got, "echte tekst") == NULL || strstr(got, "beeldtekst") != NULL)
		fail_msg("got \"%s\"", got);
	free(got);
}

static void
test_encrypted(void **state)
{
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0}, {HELV, NULL, 0, 0, 0},
		{"<< >>", "BT /F1 9 Tf (geheime tekst) Tj ET", 0, 0, 0},
		{"<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>", NULL, 0, 0, 0},
	};
	int rc;
	char *got = objs_text(o, 6, "/Encrypt 6 0 R /ID [<01> <01>] ", &rc, CLS_PDF_MAX_TEXT);

	(void)state;
	assert_int_equal(rc, CLS_PDF_ENCRYPTED);
	assert_string_equal(got, "");
	free(got);
}

/*
 * Decompression bombs.  One: a few KB of "(a) Tj " repeated stops at
 * CLS_PDF_INFLATE_RATIO times its size.  Two: about 1 MB that inflates to
 * 1 GiB (1 MiB of zeros deflated once, its sync-flushed blocks repeated)
 * stops at the per-stream cap (CLS_PDF_MAX_STREAM).
 */
static void
test_bombs(void **state)
{
	const size_t reps = 1u << 20;
	char *content = malloc(reps * 7 + 64);
	size_t k = 0, len;
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0}, {HELV, NULL, 0, 0, 0},
		{"<< >>", NULL, 0, 1, 0},
	};
	unsigned char *pdf, *zeros, *chunk, *bomb;
	struct cls_buf out;
	z_stream z;
	size_t chunklen, hdr = 2, nrep = 1024;
	struct bb b = {0};

	(void)state;
	assert_non_null(content);
	k += (size_t)snprintf(content, 64, "BT /F1 9 Tf ");
	for (size_t i = 0; i < reps; i++, k += 7)
		memcpy(content + k, "(a) Tj ", 7);
	o[4].data = content;
	o[4].dlen = k;
	pdf = pdf_build(o, 5, 0, NULL, &len);
	assert_true(len < 16u << 10);
	cls_buf_init(&out, CLS_PDF_MAX_TEXT);
	assert_int_equal(cls_pdf_text(&out, pdf, len), CLS_PDF_PARTIAL);
	/* One 'a' per 7 inflated bytes, and no more bytes than the ratio allows. */
	assert_true(out.len > 1000);
	assert_true(out.len <= len * CLS_PDF_INFLATE_RATIO / 7 + 16);
	cls_buf_free(&out);
	free(pdf);
	free(content);

	/* 1 MiB of zeros, deflated and sync-flushed: blocks that can be repeated. */
	zeros = calloc(1, 1u << 20);
	chunk = malloc(1u << 20);
	assert_non_null(zeros);
	assert_non_null(chunk);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit(&z, 9), Z_OK);
	z.next_in = zeros;
	z.avail_in = 1u << 20;
	z.next_out = chunk;
	z.avail_out = 1u << 20;
	assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	chunklen = (1u << 20) - z.avail_out;
	assert_int_equal(deflateEnd(&z), Z_DATA_ERROR);	/* unfinished on purpose */
	bb_str(&b, "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
	    "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
	    "3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n");
	bb_fmt(&b, "4 0 obj << /Length %zu /Filter /FlateDecode >>\nstream\n", chunklen + (chunklen - hdr) * (nrep - 1));
	bb_add(&b, chunk, chunklen);
	for (size_t i = 1; i < nrep; i++)
		bb_add(&b, chunk + hdr, chunklen - hdr);
	bb_str(&b, "\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
	bomb = b.p;
	assert_true(b.len < 2u << 20);
	cls_buf_init(&out, CLS_PDF_MAX_TEXT);
	assert_int_equal(cls_pdf_text(&out, bomb, b.len), CLS_PDF_PARTIAL);
	assert_int_equal(out.len, 0);		/* zeros are no text */
	cls_buf_free(&out);
	free(bomb);
	free(zeros);
	free(chunk);
}

/* Every prefix and many mutations of a valid PDF, each in a buffer of its exact size. */
static void
test_truncated_garbage(void **state)
{
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0},
		{"<< /Type /Font /Subtype /Type0 /ToUnicode 6 0 R >>", NULL, 0, 0, 0},
		{"<< >>", "BT /F1 9 Tf [(pati) -300 <0027002C> (\\351nt\\(\\)] TJ ' T* ET", 0, 1, 0},
		{"<< >>", type0_cmap, 0, 1, 0},
	};
	size_t len;
	unsigned char *pdf = pdf_build(o, 6, 0, NULL, &len);
	uint32_t seed = 12345;

	(void)state;
	for (size_t n = 0; n <= len; n++) {
		unsigned char *cp = malloc(n ? n : 1);
		struct cls_buf out;

		assert_non_null(cp);
		memcpy(cp, pdf, n);
		cls_buf_init(&out, CLS_PDF_MAX_TEXT);
		assert_true(cls_pdf_text(&out, cp, n) >= 0);
		cls_buf_free(&out);
		free(cp);
	}
	for (int round = 0; round < 2000; round++) {
		unsigned char *cp = malloc(len);
		struct cls_buf out;

		assert_non_null(cp);
		memcpy(cp, pdf, len);
		for (int m = 0; m < 8; m++) {
			seed = seed * 1103515245u + 12345u;
			cp[(seed >> 8) % len] = (unsigned char)(seed >> 24);
		}
		cls_buf_init(&out, CLS_PDF_MAX_TEXT);
		assert_true(cls_pdf_text(&out, cp, len) >= 0);
		cls_buf_free(&out);
		free(cp);
	}
	/* Pure garbage and syntax fragments. */
	{
		static const char *const frags[] = {"", "obj", "1 0 obj", "1 0 obj <<", "1 0 obj [[[[[[",
		    "1 0 obj << /Length 99999999999 >> stream\n", "1 0 obj (((((\\", "0 0 obj <</Type/Page/Contents 0 0 R>> endobj",
		    "1 0 obj <</Type/Page/Parent 1 0 R>> endobj", "stream endstream obj endobj"};

		for (size_t i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
			size_t n = strlen(frags[i]);
			unsigned char *cp = malloc(n ? n : 1);
			struct cls_buf out;

			assert_non_null(cp);
			memcpy(cp, frags[i], n);
			cls_buf_init(&out, CLS_PDF_MAX_TEXT);
			assert_true(cls_pdf_text(&out, cp, n) >= 0);
			cls_buf_free(&out);
			free(cp);
		}
	}
	free(pdf);
}

/* The text cap: what fits is kept, never more. */
static void
test_text_cap(void **state)
{
	struct bb c = {0};
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0}, {HELV, NULL, 0, 0, 0},
		{"<< >>", NULL, 0, 1, 0},
	};
	int rc;
	char *got;

	(void)state;
	bb_str(&c, "BT /F1 9 Tf ");
	for (int i = 0; i < 5000; i++)
		bb_str(&c, "(woord woord woord) ' ");
	bb_str(&c, "ET");
	o[4].data = c.p;
	o[4].dlen = c.len;
	got = objs_text(o, 5, NULL, &rc, 100);
	assert_int_equal(rc, CLS_PDF_PARTIAL);
	assert_int_equal(strlen(got), 100);
	assert_int_equal(strncmp(got, "woord woord woord\nwoord", 23), 0);
	free(got);
	free(c.p);
}

static char *
b64(const unsigned char *s, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc(n / 3 * 4 + n / 57 * 2 + 8), *p = o;

	assert_non_null(o);
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
		    (i + 2 < n ? s[i + 2] : 0);

		*p++ = al[v >> 18];
		*p++ = al[(v >> 12) & 63];
		*p++ = i + 1 < n ? al[(v >> 6) & 63] : '=';
		*p++ = i + 2 < n ? al[v & 63] : '=';
		if ((i / 3 + 1) % 19 == 0) {
			*p++ = '\r';
			*p++ = '\n';
		}
	}
	*p = '\0';
	return o;
}

/* A message with the PDF as a base64 attachment. */
static char *
pdf_message(const unsigned char *pdf, size_t len)
{
	struct bb m = {0};
	char *enc = b64(pdf, len);

	bb_str(&m, "Subject: uitslag\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n"
	    "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nzie bijlage\r\n"
	    "--B\r\nContent-Type: application/octet-stream; name=\"brief.PDF\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	bb_str(&m, enc);
	bb_str(&m, "\r\n--B--\r\n");
	free(enc);
	return (char *)m.p;
}

static int
explained(const struct cls_explain *ex, const char *what)
{
	for (size_t i = 0; i < cls_explain_count(ex); i++)
		if (strstr(cls_explain_line(ex, i), what) != NULL)
			return 1;
	return 0;
}

/* mime.c: a text PDF is read like a text part; encrypted or textless ones stay unread. */
static void
test_message(void **state)
{
	static const char letter[] =
	    "BT /F1 10 Tf 50 800 Td 13 TL (Ontslagbrief) ' (Patient: mevrouw C.M. Jansen, geboren 12-05-1944) ' "
	    "(Opname wegens COPD exacerbatie; prednisolon 30 mg 1dd1) ' ET";
	struct obj o[] = {
		{CATALOG, NULL, 0, 0, 0}, {PAGES, NULL, 0, 0, 0}, {PAGE, NULL, 0, 0, 0}, {HELV, NULL, 0, 0, 0},
		{"<< >>", letter, 0, 1, 0},
		{"<< /Filter /Standard >>", NULL, 0, 0, 0},
	};
	struct bb big = {0};
	const struct { const char *name, *trailer, *content; int read; } cases[] = {
		{"text PDF", NULL, letter, 1},
		{"encrypted PDF", "/Encrypt 6 0 R ", letter, 0},
		{"scan: too few letters", NULL, "q 595 0 0 842 0 0 cm /Im1 Do Q BT /F1 9 Tf (p. 1) Tj ET", 0},
		{"cut short by the inflate ratio: read and unread", NULL, NULL, 2},
	};

	(void)state;
	bb_add(&big, letter, strlen(letter) - 2);
	for (int i = 0; i < 200000; i++)
		bb_str(&big, "(Opname wegens COPD exacerbatie) ' ");
	bb_str(&big, "ET");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		unsigned char *pdf;
		char *msg, *text = NULL;
		size_t tl = 0;
		struct cls_result r;
		struct cls_explain *ex = NULL;

		o[4].data = cases[i].content ? cases[i].content : (const char *)big.p;
		pdf = pdf_build(o, 6, 0, cases[i].trailer, &len);
		msg = pdf_message(pdf, len);
		assert_int_equal(cls_extract_text(msg, strlen(msg), &text, &tl), 0);
		assert_int_equal(cls_classify_explain(msg, strlen(msg), NULL, &r, &ex), 0);
		if (cases[i].read == 2) {
			if (strstr(text, "mevrouw C.M. Jansen, geboren 12-05-1944\nOpname") == NULL ||
			    !explained(ex, "pdf attachment read (1), partly") ||
			    strstr(r.reasons, "attachment-unread") == NULL || r.verdict != CLS_HEALTH)
				fail_msg("%s: reasons %s", cases[i].name, r.reasons);
		} else if (cases[i].read) {
			if (strstr(text, "mevrouw C.M. Jansen, geboren 12-05-1944\nOpname") == NULL ||
			    !explained(ex, "pdf attachment read") || strstr(r.reasons, "attachment-unread") != NULL ||
			    explained(ex, "partly") || r.verdict != CLS_HEALTH)
				fail_msg("%s: text \"%s\" reasons %s", cases[i].name, text, r.reasons);
		} else if (strstr(text, "Jansen") != NULL || explained(ex, "pdf attachment read") ||
		    !explained(ex, "1 pdf attachment(s), not read")) {
			fail_msg("%s: text \"%s\" reasons %s", cases[i].name, text, r.reasons);
		}
		free(text);
		cls_explain_free(ex);
		free(msg);
		free(pdf);
	}
	free(big.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_table),
		cmocka_unit_test(test_type0_tounicode),
		cmocka_unit_test(test_simple_tounicode),
		cmocka_unit_test(test_differences),
		cmocka_unit_test(test_macroman),
		cmocka_unit_test(test_glyph_names),
		cmocka_unit_test(test_object_stream),
		cmocka_unit_test(test_images_skipped),
		cmocka_unit_test(test_encrypted),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_truncated_garbage),
		cmocka_unit_test(test_text_cap),
		cmocka_unit_test(test_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
