/*
 * pdf_enc.c - simple-font encodings for the PDF reader (pdf.c): glyph
 * names of a font's /Differences array (the Adobe Glyph List's Latin part,
 * which is what Dutch text uses, plus uniXXXX and uXXXX[XX] names), and
 * the MacRoman base encoding.  A glyph name outside this list is dropped
 * by the caller: a subset font's private names (g31, cid12) mean nothing.
 */
#include "msa/classify/internal.h"

#include <stdlib.h>
#include <string.h>

/* Sorted by strcmp of the name (bsearch); test_cls_pdf checks the order. */
static const struct glyph {
	const char *name;
	const char *utf8;
} glyphs[] = {
	{"AE", "\xc3\x86"},
	{"Aacute", "\xc3\x81"},
	{"Acircumflex", "\xc3\x82"},
	{"Adieresis", "\xc3\x84"},
	{"Agrave", "\xc3\x80"},
	{"Aring", "\xc3\x85"},
	{"Atilde", "\xc3\x83"},
	{"Ccedilla", "\xc3\x87"},
	{"Eacute", "\xc3\x89"},
	{"Ecircumflex", "\xc3\x8a"},
	{"Edieresis", "\xc3\x8b"},
	{"Egrave", "\xc3\x88"},
	{"Eth", "\xc3\x90"},
	{"Euro", "\xe2\x82\xac"},
	{"IJ", "IJ"},
	{"Iacute", "\xc3\x8d"},
	{"Icircumflex", "\xc3\x8e"},
	{"Idieresis", "\xc3\x8f"},
	{"Igrave", "\xc3\x8c"},
	{"Lslash", "\xc5\x81"},
	{"Ntilde", "\xc3\x91"},
	{"OE", "\xc5\x92"},
	{"Oacute", "\xc3\x93"},
	{"Ocircumflex", "\xc3\x94"},
	{"Odieresis", "\xc3\x96"},
	{"Ograve", "\xc3\x92"},
	{"Oslash", "\xc3\x98"},
	{"Otilde", "\xc3\x95"},
	{"Scaron", "\xc5\xa0"},
	{"Thorn", "\xc3\x9e"},
	{"Uacute", "\xc3\x9a"},
	{"Ucircumflex", "\xc3\x9b"},
	{"Udieresis", "\xc3\x9c"},
	{"Ugrave", "\xc3\x99"},
	{"Yacute", "\xc3\x9d"},
	{"Ydieresis", "\xc5\xb8"},
	{"Zcaron", "\xc5\xbd"},
	{"aacute", "\xc3\xa1"},
	{"acircumflex", "\xc3\xa2"},
	{"acute", "\xc2\xb4"},
	{"adieresis", "\xc3\xa4"},
	{"ae", "\xc3\xa6"},
	{"agrave", "\xc3\xa0"},
	{"ampersand", "&"},
	{"aring", "\xc3\xa5"},
	{"asciicircum", "^"},
	{"asciitilde", "~"},
	{"asterisk", "*"},
	{"at", "@"},
	{"atilde", "\xc3\xa3"},
	{"backslash", "\x5c"},
	{"bar", "|"},
	{"braceleft", "{"},
	{"braceright", "}"},
	{"bracketleft", "["},
	{"bracketright", "]"},
	{"breve", "\xcb\x98"},
	{"brokenbar", "\xc2\xa6"},
	{"bullet", "\xe2\x80\xa2"},
	{"caron", "\xcb\x87"},
	{"ccedilla", "\xc3\xa7"},
	{"cedilla", "\xc2\xb8"},
	{"cent", "\xc2\xa2"},
	{"circumflex", "\xcb\x86"},
	{"colon", ":"},
	{"comma", ","},
	{"copyright", "\xc2\xa9"},
	{"currency", "\xc2\xa4"},
	{"dagger", "\xe2\x80\xa0"},
	{"daggerdbl", "\xe2\x80\xa1"},
	{"degree", "\xc2\xb0"},
	{"dieresis", "\xc2\xa8"},
	{"divide", "\xc3\xb7"},
	{"dollar", "$"},
	{"dotaccent", "\xcb\x99"},
	{"dotlessi", "\xc4\xb1"},
	{"eacute", "\xc3\xa9"},
	{"ecircumflex", "\xc3\xaa"},
	{"edieresis", "\xc3\xab"},
	{"egrave", "\xc3\xa8"},
	{"eight", "8"},
	{"ellipsis", "\xe2\x80\xa6"},
	{"emdash", "\xe2\x80\x94"},
	{"endash", "\xe2\x80\x93"},
	{"equal", "="},
	{"eth", "\xc3\xb0"},
	{"exclam", "!"},
	{"exclamdown", "\xc2\xa1"},
	{"ff", "ff"},
	{"ffi", "ffi"},
	{"ffl", "ffl"},
	{"fi", "fi"},
	{"five", "5"},
	{"fl", "fl"},
	{"florin", "\xc6\x92"},
	{"four", "4"},
	{"fraction", "\xe2\x81\x84"},
	{"germandbls", "\xc3\x9f"},
	{"grave", "`"},
	{"greater", ">"},
	{"guillemotleft", "\xc2\xab"},
	{"guillemotright", "\xc2\xbb"},
	{"guilsinglleft", "\xe2\x80\xb9"},
	{"guilsinglright", "\xe2\x80\xba"},
	{"hungarumlaut", "\xcb\x9d"},
	{"hyphen", "-"},
	{"iacute", "\xc3\xad"},
	{"icircumflex", "\xc3\xae"},
	{"idieresis", "\xc3\xaf"},
	{"igrave", "\xc3\xac"},
	{"ij", "ij"},
	{"less", "<"},
	{"logicalnot", "\xc2\xac"},
	{"lslash", "\xc5\x82"},
	{"macron", "\xc2\xaf"},
	{"minus", "\xe2\x88\x92"},
	{"mu", "\xc2\xb5"},
	{"multiply", "\xc3\x97"},
	{"nbspace", " "},
	{"nine", "9"},
	{"nonbreakingspace", " "},
	{"ntilde", "\xc3\xb1"},
	{"numbersign", "#"},
	{"oacute", "\xc3\xb3"},
	{"ocircumflex", "\xc3\xb4"},
	{"odieresis", "\xc3\xb6"},
	{"oe", "\xc5\x93"},
	{"ogonek", "\xcb\x9b"},
	{"ograve", "\xc3\xb2"},
	{"one", "1"},
	{"onehalf", "\xc2\xbd"},
	{"onequarter", "\xc2\xbc"},
	{"onesuperior", "\xc2\xb9"},
	{"ordfeminine", "\xc2\xaa"},
	{"ordmasculine", "\xc2\xba"},
	{"oslash", "\xc3\xb8"},
	{"otilde", "\xc3\xb5"},
	{"paragraph", "\xc2\xb6"},
	{"parenleft", "("},
	{"parenright", ")"},
	{"percent", "%"},
	{"period", "."},
	{"periodcentered", "\xc2\xb7"},
	{"perthousand", "\xe2\x80\xb0"},
	{"plus", "+"},
	{"plusminus", "\xc2\xb1"},
	{"question", "?"},
	{"questiondown", "\xc2\xbf"},
	{"quotedbl", "\x22"},
	{"quotedblbase", "\xe2\x80\x9e"},
	{"quotedblleft", "\xe2\x80\x9c"},
	{"quotedblright", "\xe2\x80\x9d"},
	{"quoteleft", "\xe2\x80\x98"},
	{"quoteright", "\xe2\x80\x99"},
	{"quotesinglbase", "\xe2\x80\x9a"},
	{"quotesingle", "'"},
	{"registered", "\xc2\xae"},
	{"ring", "\xcb\x9a"},
	{"scaron", "\xc5\xa1"},
	{"section", "\xc2\xa7"},
	{"semicolon", ";"},
	{"seven", "7"},
	{"sfthyphen", "-"},
	{"six", "6"},
	{"slash", "/"},
	{"space", " "},
	{"sterling", "\xc2\xa3"},
	{"thorn", "\xc3\xbe"},
	{"three", "3"},
	{"threequarters", "\xc2\xbe"},
	{"threesuperior", "\xc2\xb3"},
	{"tilde", "\xcb\x9c"},
	{"trademark", "\xe2\x84\xa2"},
	{"two", "2"},
	{"twosuperior", "\xc2\xb2"},
	{"uacute", "\xc3\xba"},
	{"ucircumflex", "\xc3\xbb"},
	{"udieresis", "\xc3\xbc"},
	{"ugrave", "\xc3\xb9"},
	{"underscore", "_"},
	{"yacute", "\xc3\xbd"},
	{"ydieresis", "\xc3\xbf"},
	{"yen", "\xc2\xa5"},
	{"zcaron", "\xc5\xbe"},
	{"zero", "0"},
};

/* MacRoman 0x80..0xff as Unicode. */
static const uint16_t macroman[128] = {
	0x00c4, 0x00c5, 0x00c7, 0x00c9, 0x00d1, 0x00d6, 0x00dc, 0x00e1,
	0x00e0, 0x00e2, 0x00e4, 0x00e3, 0x00e5, 0x00e7, 0x00e9, 0x00e8,
	0x00ea, 0x00eb, 0x00ed, 0x00ec, 0x00ee, 0x00ef, 0x00f1, 0x00f3,
	0x00f2, 0x00f4, 0x00f6, 0x00f5, 0x00fa, 0x00f9, 0x00fb, 0x00fc,
	0x2020, 0x00b0, 0x00a2, 0x00a3, 0x00a7, 0x2022, 0x00b6, 0x00df,
	0x00ae, 0x00a9, 0x2122, 0x00b4, 0x00a8, 0x2260, 0x00c6, 0x00d8,
	0x221e, 0x00b1, 0x2264, 0x2265, 0x00a5, 0x00b5, 0x2202, 0x2211,
	0x220f, 0x03c0, 0x222b, 0x00aa, 0x00ba, 0x03a9, 0x00e6, 0x00f8,
	0x00bf, 0x00a1, 0x00ac, 0x221a, 0x0192, 0x2248, 0x2206, 0x00ab,
	0x00bb, 0x2026, 0x00a0, 0x00c0, 0x00c3, 0x00d5, 0x0152, 0x0153,
	0x2013, 0x2014, 0x201c, 0x201d, 0x2018, 0x2019, 0x00f7, 0x25ca,
	0x00ff, 0x0178, 0x2044, 0x20ac, 0x2039, 0x203a, 0xfb01, 0xfb02,
	0x2021, 0x00b7, 0x201a, 0x201e, 0x2030, 0x00c2, 0x00ca, 0x00c1,
	0x00cb, 0x00c8, 0x00cd, 0x00ce, 0x00cf, 0x00cc, 0x00d3, 0x00d4,
	0xf8ff, 0x00d2, 0x00da, 0x00db, 0x00d9, 0x0131, 0x02c6, 0x02dc,
	0x00af, 0x02d8, 0x02d9, 0x02da, 0x00b8, 0x02dd, 0x02db, 0x02c7,
};

uint32_t
cls_pdf_macroman(unsigned char c)
{
	return c < 0x80 ? c : macroman[c - 0x80];
}

int
cls_pdf_glyphs_sorted(void)
{
	for (size_t i = 1; i < sizeof(glyphs) / sizeof(glyphs[0]); i++)
		if (strcmp(glyphs[i - 1].name, glyphs[i].name) >= 0)
			return 0;
	return 1;
}

/* "uniXXXX" (the first code of a ligature name) or "uXXXX".."uXXXXXX". */
static uint32_t
uni_name(const char *s, size_t n)
{
	size_t start, len;
	uint32_t u = 0;

	if (n >= 7 && !strncmp(s, "uni", 3))
		start = 3, len = 4;
	else if (n >= 5 && n <= 7 && s[0] == 'u')
		start = 1, len = n - 1;
	else
		return 0;
	for (size_t i = start; i < start + len; i++) {
		char c = s[i];
		/* The list's hex is upper case. */
		int d = c >= 'a' && c <= 'f' ? -1 : cls_hexval(c);

		if (d < 0)
			return 0;
		u = u << 4 | (uint32_t)d;
	}
	return u <= 0x10ffff && (u < 0xd800 || u > 0xdfff) ? u : 0;
}

size_t
cls_pdf_glyph_utf8(const unsigned char *name, size_t n, char out[8])
{
	char key[32];
	size_t lo = 0, hi = sizeof(glyphs) / sizeof(glyphs[0]);

	const unsigned char *dot = memchr(name, '.', n);

	if (dot != NULL && dot > name)
		n = (size_t)(dot - name);	/* "a.sc", "one.oldstyle": the base glyph */
	if (n == 0 || n >= sizeof(key))
		return 0;
	memcpy(key, name, n);
	key[n] = '\0';
	if (n == 1 && ((key[0] >= 'A' && key[0] <= 'Z') || (key[0] >= 'a' && key[0] <= 'z'))) {
		out[0] = key[0];
		return 1;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, glyphs[mid].name);

		if (c == 0) {
			size_t k = strlen(glyphs[mid].utf8);
			memcpy(out, glyphs[mid].utf8, k);
			return k;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	uint32_t u = uni_name(key, n);
	return u >= 0x20 ? cls_utf8_put(u, out) : 0;
}
