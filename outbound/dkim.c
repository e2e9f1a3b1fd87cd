/*
 * dkim.c - DKIM signing (RFC 6376): rsa-sha256, simple/simple, no l=.
 *
 * Header fields are hashed exactly as they are (simple canonicalization,
 * RFC 6376 3.4.1), which is why rewrite.c never re-folds anything.  The
 * body is hashed as it streams past; only a run of trailing CRLFs is held
 * back (as a count), because simple canonicalization drops empty lines at
 * the end of the body (3.4.3).
 */
#include "common/fdio.h"
#include "outbound/dkim.h"
#include "outbound/rewrite.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>

#define DKIM_KEYS_MAX (CONFIG_LIST_MAX + 1)
#define DOMAIN_MAX 254
#define SELECTOR_MAX 64
#define SIG_BYTES_MAX (OUT_DKIM_MAX_BITS / 8)

#define KEY_FILE_MAX (64 * 1024)		/* an 8192-bit RSA PEM is about 6.5 KB */
#define KEYS_PER_MSG 4			/* signatures per message (rotation, Ed25519) */

struct dkim_key {
	char domain[DOMAIN_MAX];	/* "" = the default key */
	char selector[SELECTOR_MAX];
	int ed25519;			/* RFC 8463 ed25519-sha256, else rsa-sha256 */
	EVP_PKEY *pkey;
};

struct out_dkim {
	size_t n;
	struct dkim_key k[DKIM_KEYS_MAX];
};

struct out_dkim_sig {
	size_t nkeys;
	const struct dkim_key *key[KEYS_PER_MSG];
	char domain[DOMAIN_MAX];
	EVP_MD_CTX *body;
	size_t pend_crlf;		/* trailing CRLFs not hashed yet */
	int have_cr;			/* a CR not hashed yet */
	char *hdr;			/* copy of the header block */
	size_t hdr_len;
};

/*
 * Header fields signed (R-DKIM-1), each over-signed (listed once more than
 * it occurs, RFC 6376 8.15): a field added later, above the signed ones,
 * breaks the signature.  Readers tend to show the first Subject or From,
 * and an X-NTA7516 added in transit to mail that left without one (the
 * regular channel) must not verify as ours.
 */
static const char *const signed_names[] = {
	"From", "To", "Cc", "Subject", "Date", "Message-ID", "MIME-Version",
	"Content-Type", "X-NTA7516",
};
#define NSIGNED (sizeof(signed_names) / sizeof(signed_names[0]))

/* ------------------------------------------------------------ keys */

static int
label_ok(const char *s, size_t max, int underscore)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= max || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!isalnum(c) && c != '-' && c != '.' && !(underscore && c == '_'))
			return 0;
	}
	return 1;
}

/* Refuse what is not a small private regular file (fd open on path). */
static int
key_file_check(int fd, const char *path, size_t *size, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "dkim: %s: %s", path, strerror(errno));
		return OUT_DKIM_ERR;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "dkim: %s: not a regular file", path);
		return OUT_DKIM_ERR;
	}
	/* Like ssh: a key others may read is not secret, one others may write not ours. */
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "dkim: %s: mode %04o, must not be readable by "
		    "others (group or world); chmod 600", path, (unsigned)(st.st_mode & 07777));
		return OUT_DKIM_ERR;
	}
	if (st.st_size <= 0 || st.st_size > KEY_FILE_MAX) {
		snprintf(err, errlen, "dkim: %s: size %lld, want 1..%d bytes", path,
		    (long long)st.st_size, KEY_FILE_MAX);
		return OUT_DKIM_ERR;
	}
	*size = (size_t)st.st_size;
	return OUT_DKIM_OK;
}

/* Read exactly len bytes (the size fstat saw; a file that changed is refused). */
static int
read_exact(int fd, char *buf, size_t len)
{
	size_t got = 0;
	char extra;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	for (;;) {
		ssize_t r = read(fd, &extra, 1);
		if (r < 0 && errno == EINTR)
			continue;
		return r == 0 ? 0 : -1;
	}
}

/*
 * Parse the PEM key at path.  The file is read with read(2) into guarded
 * memory that sodium_free wipes: stdio (fopen + PEM_read_PrivateKey) left
 * the PEM in buffers freed without wiping.  No symlinks (O_NOFOLLOW), no
 * FIFOs or devices (O_NONBLOCK so opening one does not hang, then fstat).
 */
static EVP_PKEY *
key_file_parse(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	EVP_PKEY *pk = NULL;
	char *buf = NULL;
	size_t len = 0;
	BIO *bio;

	if (fd < 0) {
		if (errno == ELOOP)
			snprintf(err, errlen, "dkim: %s: a symbolic link; name the key file itself",
			    path);
		else
			snprintf(err, errlen, "dkim: %s: %s", path, strerror(errno));
		return NULL;
	}
	if (key_file_check(fd, path, &len, err, errlen) != OUT_DKIM_OK)
		goto out;
	/* sodium_malloc needs sodium_init (idempotent), which a caller may not have run. */
	if (sodium_init() < 0 || (buf = sodium_malloc(len)) == NULL) {
		snprintf(err, errlen, "dkim: out of memory");
		goto out;
	}
	if (read_exact(fd, buf, len) != 0) {
		snprintf(err, errlen, "dkim: %s: read failed or the file changed", path);
		goto out;
	}
	/* A read-only memory BIO reads buf in place: no copy to wipe. */
	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL) {
		snprintf(err, errlen, "dkim: out of memory");
		goto out;
	}
	pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pk == NULL)
		snprintf(err, errlen, "dkim: %s: not a PEM private key", path);
out:
	sodium_free(buf);
	(void)close(fd);
	return pk;
}

static int
key_load(struct dkim_key *k, const struct config *c, const char *domain,
    const char *selector, const char *file, char *err, size_t errlen)
{
	char *path = config_path(c, file);
	int bits;

	if (path == NULL) {
		snprintf(err, errlen, "dkim: out of memory");
		return OUT_DKIM_ERR;
	}
	if (!label_ok(selector, SELECTOR_MAX, 1) ||
	    (domain[0] != '\0' && !label_ok(domain, DOMAIN_MAX, 0))) {
		snprintf(err, errlen, "dkim: bad domain or selector for key %s", path);
		free(path);
		return OUT_DKIM_ERR;
	}
	if ((k->pkey = key_file_parse(path, err, errlen)) == NULL) {
		free(path);
		return OUT_DKIM_ERR;
	}
	bits = EVP_PKEY_get_bits(k->pkey);
	k->ed25519 = EVP_PKEY_is_a(k->pkey, "ED25519");
	if (!k->ed25519 && (!EVP_PKEY_is_a(k->pkey, "RSA") || bits < OUT_DKIM_MIN_BITS ||
	    bits > OUT_DKIM_MAX_BITS)) {
		snprintf(err, errlen, "dkim: %s: need an RSA key of %d..%d bits "
		    "(R-DKIM-1) or an Ed25519 key", path, OUT_DKIM_MIN_BITS,
		    OUT_DKIM_MAX_BITS);
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
		free(path);
		return OUT_DKIM_WEAK;
	}
	free(path);
	snprintf(k->selector, sizeof(k->selector), "%s", selector);
	for (size_t i = 0; domain[i] != '\0' && i + 1 < sizeof(k->domain); i++) {
		k->domain[i] = (char)tolower((unsigned char)domain[i]);
		k->domain[i + 1] = '\0';
	}
	return OUT_DKIM_OK;
}

/* Split "DOMAIN SELECTOR KEYFILE" into three words (in place). */
static int
split3(char *s, char **w)
{
	int n = 0;
	char *save = NULL, *t;

	for (t = strtok_r(s, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
		if (n == 3)
			return -1;
		w[n++] = t;
	}
	return n == 3 ? 0 : -1;
}

/*
 * R-DKIM-1: every message carries an rsa-sha256 signature, so each domain
 * (and the default) with keys needs an RSA one; Ed25519 only comes extra.
 */
static int
check_rsa_per_domain(const struct out_dkim *d, char *err, size_t errlen)
{
	size_t i, j, per;

	for (i = 0; i < d->n; i++) {
		int rsa = 0;

		per = 0;
		for (j = 0; j < d->n; j++) {
			if (strcmp(d->k[i].domain, d->k[j].domain) != 0)
				continue;
			per++;
			rsa |= !d->k[j].ed25519;
		}
		if (!rsa) {
			snprintf(err, errlen, "dkim: %s has no RSA key; rsa-sha256 is "
			    "required, Ed25519 only in addition (R-DKIM-1)",
			    d->k[i].domain[0] ? d->k[i].domain : "dkim.key");
			return OUT_DKIM_WEAK;
		}
		if (per > KEYS_PER_MSG) {
			snprintf(err, errlen, "dkim: more than %d keys for %s",
			    KEYS_PER_MSG, d->k[i].domain[0] ? d->k[i].domain : "dkim.key");
			return OUT_DKIM_ERR;
		}
	}
	return OUT_DKIM_OK;
}

int
out_dkim_load(const struct config *c, struct out_dkim **out, char *err,
    size_t errlen)
{
	struct out_dkim *d;
	size_t i;
	int rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "dkim: out of memory");
		return OUT_DKIM_ERR;
	}
	for (i = 0; i < c->dkim_domain.n; i++) {
		char line[1024], *w[3];

		if (snprintf(line, sizeof(line), "%s", c->dkim_domain.v[i]) >=
		    (int)sizeof(line) || split3(line, w) < 0) {
			snprintf(err, errlen, "dkim.domain: want \"DOMAIN SELECTOR "
			    "KEYFILE\", got \"%s\"", c->dkim_domain.v[i]);
			out_dkim_free(d);
			return OUT_DKIM_ERR;
		}
		rc = key_load(&d->k[d->n], c, w[0], w[1], w[2], err, errlen);
		if (rc < 0) {
			out_dkim_free(d);
			return rc;
		}
		d->n++;
	}
	if (c->dkim_key != NULL && c->dkim_key[0] != '\0') {
		if (c->dkim_selector == NULL || c->dkim_selector[0] == '\0') {
			snprintf(err, errlen, "dkim.key is set but dkim.selector is not");
			out_dkim_free(d);
			return OUT_DKIM_ERR;
		}
		rc = key_load(&d->k[d->n], c, "", c->dkim_selector, c->dkim_key,
		    err, errlen);
		if (rc < 0) {
			out_dkim_free(d);
			return rc;
		}
		d->n++;
	}
	if ((rc = check_rsa_per_domain(d, err, errlen)) < 0) {
		out_dkim_free(d);
		return rc;
	}
	*out = d;
	return OUT_DKIM_OK;
}

void
out_dkim_free(struct out_dkim *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		EVP_PKEY_free(d->k[i].pkey);
	free(d);
}

/* The keys for a From: domain: its own lines, else the default. */
static size_t
keys_for(const struct out_dkim *d, const char *domain,
    const struct dkim_key **out)
{
	size_t i, n = 0;

	for (i = 0; i < d->n && n < KEYS_PER_MSG; i++)
		if (d->k[i].domain[0] != '\0' && strcmp(d->k[i].domain, domain) == 0)
			out[n++] = &d->k[i];
	for (i = 0; i < d->n && n == 0; i++)
		if (d->k[i].domain[0] == '\0')
			out[n++] = &d->k[i];
	return n;
}

/* ------------------------------------------------------------ body */

static const char crlfs[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";

static int
flush_crlf(struct out_dkim_sig *s)
{
	while (s->pend_crlf > 0) {
		size_t n = s->pend_crlf < 16 ? s->pend_crlf : 16;

		if (EVP_DigestUpdate(s->body, crlfs, 2 * n) != 1)
			return OUT_DKIM_ERR;
		s->pend_crlf -= n;
	}
	return OUT_DKIM_OK;
}

int
out_dkim_body(struct out_dkim_sig *s, const void *buf, size_t len)
{
	const char *p = buf;
	size_t i = 0;

	if (s == NULL || (buf == NULL && len > 0))
		return OUT_DKIM_ERR;
	while (i < len) {
		const char *cr;
		size_t run;

		if (s->have_cr) {
			s->have_cr = 0;
			if (p[i] == '\n') {
				s->pend_crlf++;
				i++;
				continue;
			}
			/* A CR not followed by LF is content. */
			if (flush_crlf(s) < 0 || EVP_DigestUpdate(s->body, "\r", 1) != 1)
				return OUT_DKIM_ERR;
		}
		if (p[i] == '\r') {
			s->have_cr = 1;
			i++;
			continue;
		}
		/* Content up to the next CR goes straight into the hash. */
		if (flush_crlf(s) < 0)
			return OUT_DKIM_ERR;
		cr = memchr(p + i, '\r', len - i);
		run = cr != NULL ? (size_t)(cr - (p + i)) : len - i;
		if (EVP_DigestUpdate(s->body, p + i, run) != 1)
			return OUT_DKIM_ERR;
		i += run;
	}
	return OUT_DKIM_OK;
}

/* ---------------------------------------------------------- header */

int
out_dkim_begin(const struct out_dkim *d, const char *hdr, size_t len,
    struct out_dkim_sig **out)
{
	struct out_dkim_sig *s;
	const struct dkim_key *k[KEYS_PER_MSG];
	size_t nk;
	char domain[DOMAIN_MAX];

	*out = NULL;
	if (d == NULL || hdr == NULL || len == 0 || len > OUT_HDR_MAX)
		return OUT_DKIM_ERR;
	if (out_rw_from_domain(hdr, len, domain, sizeof(domain)) < 0)
		return OUT_DKIM_ERR;
	if ((nk = keys_for(d, domain, k)) == 0)
		return OUT_DKIM_NOKEY;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return OUT_DKIM_ERR;
	memcpy(s->key, k, nk * sizeof(k[0]));
	s->nkeys = nk;
	memcpy(s->domain, domain, sizeof(domain));
	s->hdr = malloc(len);
	s->hdr_len = s->hdr != NULL ? len : 0;
	s->body = EVP_MD_CTX_new();
	if (s->hdr == NULL || s->body == NULL ||
	    EVP_DigestInit_ex(s->body, EVP_sha256(), NULL) != 1) {
		out_dkim_abort(s);
		return OUT_DKIM_ERR;
	}
	memcpy(s->hdr, hdr, len);
	*out = s;
	return OUT_DKIM_OK;
}

void
out_dkim_abort(struct out_dkim_sig *s)
{
	if (s == NULL)
		return;
	EVP_MD_CTX_free(s->body);
	if (s->hdr != NULL)	/* the header holds Subject: wipe, not just free */
		OPENSSL_cleanse(s->hdr, s->hdr_len);
	free(s->hdr);
	free(s);
}

/* The last max fields of this name, in header order: offsets and lengths. */
struct span {
	size_t off, len;
};

static size_t
fields_named(const char *h, size_t len, const char *name, struct span *sp,
    size_t max, size_t *total)
{
	size_t off = 0, n = 0, k = strlen(name);

	*total = 0;

	while (off < len) {
		const char *nl = memchr(h + off, '\n', len - off);
		size_t l = nl != NULL ? (size_t)(nl - (h + off)) + 1 : len - off;
		size_t start = off;

		if (l <= 2 && (h[off] == '\r' || h[off] == '\n'))
			break;		/* the empty line */
		off += l;
		while (off < len && (h[off] == ' ' || h[off] == '\t')) {
			nl = memchr(h + off, '\n', len - off);
			off = nl != NULL ? (size_t)(nl - h) + 1 : len;
		}
		if (off - start > k && strncasecmp(h + start, name, k) == 0) {
			size_t j = start + k;

			while (j < off && (h[j] == ' ' || h[j] == '\t'))
				j++;
			if (j < off && h[j] == ':') {
				/* Keep the last max instances: verifiers take
				 * instances from the bottom up (RFC 6376 5.4.2). */
				(*total)++;
				if (n == max) {
					memmove(sp, sp + 1, (max - 1) * sizeof(*sp));
					n--;
				}
				sp[n].off = start;
				sp[n].len = off - start;
				n++;
			}
		}
	}
	return n;
}

/* Bounded appender for the signature field. */
struct sbuf {
	char *p;
	size_t cap, len;
	int err;
};

static void
sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->err || n > b->cap - b->len) {
		b->err = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

#define FIELDS_MAX 16

/*
 * Hash the signed header fields (RFC 6376 5.4.2: several instances are
 * taken from the bottom up) and build the h= list into b.
 */
static int
hash_headers(struct out_dkim_sig *s, EVP_MD_CTX *md, struct sbuf *b)
{
	size_t i, j, first = 1;

	for (i = 0; i < NSIGNED; i++) {
		struct span sp[FIELDS_MAX];
		size_t total;
		size_t n = fields_named(s->hdr, s->hdr_len, signed_names[i], sp,
		    FIELDS_MAX, &total);
		/* Over-sign: one more h= entry than instances; not when more
		 * instances exist than we sign (the extra entry would select
		 * an unsigned one and break the signature). */
		size_t listed = total > n ? n : n + 1;

		for (j = 0; j < listed; j++) {
			if (!first)
				sb_str(b, ":");
			first = 0;
			sb_str(b, signed_names[i]);
			if (j < n && EVP_DigestUpdate(md, s->hdr + sp[n - 1 - j].off,
			    sp[n - 1 - j].len) != 1)
				return OUT_DKIM_ERR;
		}
	}
	return b->err ? OUT_DKIM_SPACE : OUT_DKIM_OK;
}

static int
b64(const unsigned char *in, size_t n, char *out, size_t cap)
{
	if (cap < 4 * ((n + 2) / 3) + 1)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* Append v folded into lines of at most 72 characters. */
static void
sb_folded(struct sbuf *b, const char *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 72) {
		if (i > 0)
			sb_str(b, "\r\n\t ");
		sb_put(b, v + i, n - i < 72 ? n - i : 72);
	}
}

/* Sign the SHA-256 header hash h with key k (RFC 6376 3.3, RFC 8463 3). */
static int
sign_hash(const struct dkim_key *k, const unsigned char *h, size_t hl,
    unsigned char *sig, size_t *sigl)
{
	int ok = 0;

	if (k->ed25519) {
		/* ed25519-sha256: PureEdDSA over the SHA-256 hash itself. */
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		ok = c != NULL && EVP_DigestSignInit(c, NULL, NULL, NULL, k->pkey) == 1 &&
		    EVP_DigestSign(c, sig, sigl, h, hl) == 1;
		EVP_MD_CTX_free(c);
	} else {
		/* rsa-sha256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 3.3.1). */
		EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(k->pkey, NULL);

		ok = pc != NULL && EVP_PKEY_sign_init(pc) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		    EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(pc, sig, sigl, h, hl) == 1;
		EVP_PKEY_CTX_free(pc);
	}
	return ok ? OUT_DKIM_OK : OUT_DKIM_ERR;
}

/* Append one complete DKIM-Signature field for key k to b. */
static int
sign_one(struct out_dkim_sig *s, const struct dkim_key *k, const char *bh64,
    time_t now, struct sbuf *b)
{
	unsigned char h[EVP_MAX_MD_SIZE], sig[SIG_BYTES_MAX];
	unsigned int hl = 0;
	char sig64[4 * (SIG_BYTES_MAX / 3 + 1) + 1], num[32];
	size_t sigl = sizeof(sig), start = b->len;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = OUT_DKIM_ERR, n64;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto done;
	sb_str(b, k->ed25519 ? "DKIM-Signature: v=1; a=ed25519-sha256;" :
	    "DKIM-Signature: v=1; a=rsa-sha256;");
	sb_str(b, " c=simple/simple; d=");
	sb_str(b, s->domain);
	sb_str(b, "; s=");
	sb_str(b, k->selector);
	snprintf(num, sizeof(num), ";\r\n\tt=%lld; h=", (long long)now);
	sb_str(b, num);
	if ((rc = hash_headers(s, md, b)) < 0)
		goto done;
	rc = OUT_DKIM_ERR;
	sb_str(b, ";\r\n\tbh=");
	sb_str(b, bh64);
	sb_str(b, ";\r\n\tb=");
	if (b->err) {
		rc = OUT_DKIM_SPACE;
		goto done;
	}
	/* The signature field itself, b= empty, without its CRLF (3.7). */
	if (EVP_DigestUpdate(md, b->p + start, b->len - start) != 1 ||
	    EVP_DigestFinal_ex(md, h, &hl) != 1 ||
	    sign_hash(k, h, hl, sig, &sigl) != OUT_DKIM_OK ||
	    (n64 = b64(sig, sigl, sig64, sizeof(sig64))) < 0)
		goto done;
	sb_folded(b, sig64, (size_t)n64);
	sb_str(b, "\r\n");
	rc = b->err ? OUT_DKIM_SPACE : OUT_DKIM_OK;
done:
	EVP_MD_CTX_free(md);
	return rc;
}

int
out_dkim_end(struct out_dkim_sig *s, time_t now, char *out, size_t cap,
    size_t *out_len)
{
	unsigned char bh[EVP_MAX_MD_SIZE];
	unsigned int bhl = 0;
	char bh64[64];
	struct sbuf b = {.p = out, .cap = cap};
	int rc = OUT_DKIM_ERR;
	size_t i;

	if (s == NULL || out == NULL || out_len == NULL)
		goto done;
	/* RFC 6376 3.4.3: trailing empty lines dropped, one CRLF ends the body. */
	if (s->have_cr && (flush_crlf(s) < 0 ||
	    EVP_DigestUpdate(s->body, "\r", 1) != 1))
		goto done;	/* a final bare CR is content: CRLFs before it count */
	if (EVP_DigestUpdate(s->body, "\r\n", 2) != 1 ||
	    EVP_DigestFinal_ex(s->body, bh, &bhl) != 1 ||
	    b64(bh, bhl, bh64, sizeof(bh64)) < 0)
		goto done;
	/* One body hash, one signature per key; no signature covers another. */
	for (i = 0; i < s->nkeys; i++)
		if ((rc = sign_one(s, s->key[i], bh64, now, &b)) < 0)
			goto done;
	*out_len = b.len;
	rc = OUT_DKIM_OK;
done:
	out_dkim_abort(s);
	return rc;
}

/* ---------------------------------------------------------- keygen */

/*
 * The PEM goes through a secure-memory BIO (its buffer is cleared when
 * freed) and write(2): a stdio FILE would keep a copy in a buffer freed
 * without wiping, as reading it once did.
 */
static int
write_key(EVP_PKEY *pk, const char *path, char *err, size_t errlen)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	char *pem = NULL;
	long len = 0;
	int fd, ok;

	if (bio == NULL || PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(bio, &pem)) <= 0) {
		BIO_free(bio);
		snprintf(err, errlen, "%s: cannot encode the key", path);
		return OUT_DKIM_ERR;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		BIO_free(bio);
		return OUT_DKIM_ERR;
	}
	ok = fd_write_all(fd, pem, (size_t)len) == 0;
	ok = fsync(fd) == 0 && ok;
	ok = close(fd) == 0 && ok;
	BIO_free(bio);
	if (!ok) {
		(void)unlink(path);
		snprintf(err, errlen, "%s: write failed", path);
		return OUT_DKIM_ERR;
	}
	return OUT_DKIM_OK;
}

/*
 * The public key for p=: RSA as DER SubjectPublicKeyInfo (RFC 6376 3.6.1),
 * Ed25519 as the raw 32-byte key (RFC 8463 4.2).  Returns its base64 length.
 */
static int
pub_b64(EVP_PKEY *pk, int ed, char *out, size_t cap)
{
	unsigned char *der = NULL, raw[32];
	size_t rl = sizeof(raw);
	int dl, n;

	if (ed) {
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rl) != 1)
			return -1;
		return b64(raw, rl, out, cap);
	}
	if ((dl = i2d_PUBKEY(pk, &der)) <= 0)
		return -1;
	n = b64(der, (size_t)dl, out, cap);
	OPENSSL_free(der);
	return n;
}

/* "SEL._domainkey.DOMAIN. IN TXT ( "v=DKIM1; k=rsa; p=" "..." ... )" */
static int
txt_record(EVP_PKEY *pk, int ed, const char *domain, const char *selector,
    char *txt, size_t cap)
{
	char p64[4 * (OUT_DKIM_MAX_BITS / 8 + 100) / 3 + 8];
	struct sbuf b = {.p = txt, .cap = cap};
	int n64 = pub_b64(pk, ed, p64, sizeof(p64));
	size_t i;

	if (n64 < 0)
		return OUT_DKIM_ERR;
	sb_str(&b, selector);
	sb_str(&b, "._domainkey.");
	sb_str(&b, domain);
	sb_str(&b, ed ? ". IN TXT ( \"v=DKIM1; k=ed25519; p=\"" :
	    ". IN TXT ( \"v=DKIM1; k=rsa; p=\"");
	/* A TXT character-string holds at most 255 octets (RFC 1035). */
	for (i = 0; i < (size_t)n64; i += 250) {
		sb_str(&b, "\n\t\"");
		sb_put(&b, p64 + i, (size_t)n64 - i < 250 ? (size_t)n64 - i : 250);
		sb_str(&b, "\"");
	}
	sb_str(&b, " )");
	sb_put(&b, "", 1);
	return b.err ? OUT_DKIM_SPACE : OUT_DKIM_OK;
}

int
out_dkim_keygen_type(const char *domain, const char *selector, const char *type,
    int bits, const char *path, char *txt, size_t txtcap, char *err, size_t errlen)
{
	EVP_PKEY *pk;
	int rc, ed = type != NULL && strcmp(type, "ed25519") == 0;

	if (!label_ok(domain, DOMAIN_MAX, 0) || !label_ok(selector, SELECTOR_MAX, 1)) {
		snprintf(err, errlen, "bad domain or selector");
		return OUT_DKIM_ERR;
	}
	if (!ed && type != NULL && strcmp(type, "rsa") != 0) {
		snprintf(err, errlen, "--type must be rsa or ed25519");
		return OUT_DKIM_ERR;
	}
	if (!ed && (bits < OUT_DKIM_MIN_BITS || bits > OUT_DKIM_MAX_BITS)) {
		snprintf(err, errlen, "--bits must be %d..%d (R-DKIM-1)",
		    OUT_DKIM_MIN_BITS, OUT_DKIM_MAX_BITS);
		return OUT_DKIM_WEAK;
	}
	pk = ed ? EVP_PKEY_Q_keygen(NULL, NULL, "ED25519") :
	    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (pk == NULL) {
		snprintf(err, errlen, "key generation failed");
		return OUT_DKIM_ERR;
	}
	rc = txt_record(pk, ed, domain, selector, txt, txtcap);
	if (rc < 0)
		snprintf(err, errlen, "DNS record does not fit");
	else
		rc = write_key(pk, path, err, errlen);
	EVP_PKEY_free(pk);
	return rc;
}

int
out_dkim_keygen(const char *domain, const char *selector, int bits,
    const char *path, char *txt, size_t txtcap, char *err, size_t errlen)
{
	return out_dkim_keygen_type(domain, selector, "rsa", bits, path, txt,
	    txtcap, err, errlen);
}
