/* config.c - table-driven INI parser for ntamsa.conf. */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ctype { C_STR, C_PATH, C_INT, C_BOOL, C_DUR, C_SIZE, C_LIST, C_HOSTPORT };

struct centry {
	const char *section;
	const char *key;
	enum ctype type;
	size_t off;
	const char *def;
	int64_t min, max;
};

#define F(field) offsetof(struct config, field)
#define BIG INT64_MAX

/* Every key ntamsa understands.  Defaults are strings parsed like the file. */
static const struct centry table[] = {
	{"server", "hostname", C_STR, F(hostname), "localhost", 0, 0},
	{"server", "data_dir", C_PATH, F(data_dir), ".", 0, 0},
	{"server", "user", C_STR, F(user), "", 0, 0},
	{"server", "deliver_user", C_STR, F(deliver_user), "", 0, 0},
	{"server", "submission", C_HOSTPORT, F(submission), "127.0.0.1:587", 0, 0},
	{"server", "submissions", C_HOSTPORT, F(submissions), "127.0.0.1:465", 0, 0},
	{"server", "tls_cert", C_PATH, F(tls_cert), "tls/cert.pem", 0, 0},
	{"server", "tls_key", C_PATH, F(tls_key), "tls/key.pem", 0, 0},
	{"server", "max_message_size", C_SIZE, F(max_message_size), "35M", 1024, 1LL << 32},
	{"server", "max_sessions", C_INT, F(max_sessions), "1000", 1, 100000},
	{"server", "max_sessions_per_ip", C_INT, F(max_sessions_per_ip), "50", 1, 100000},
	{"server", "max_recipients", C_INT, F(max_recipients), "100", 1, 100000},
	{"server", "timeout_command", C_DUR, F(timeout_command), "5m", 1, 86400},
	{"server", "timeout_data_block", C_DUR, F(timeout_data_block), "3m", 1, 86400},
	{"server", "timeout_data_end", C_DUR, F(timeout_data_end), "10m", 1, 86400},
	{"server", "received_show_client", C_BOOL, F(received_show_client), "no", 0, 0},
	{"server", "auth_cram_md5", C_BOOL, F(auth_cram_md5), "no", 0, 0},
	{"server", "ocsp_stapling", C_BOOL, F(ocsp_stapling), "yes", 0, 0},
	{"server", "auth_fail_limit", C_INT, F(auth_fail_limit), "5", 1, 1000},
	{"server", "auth_lockout", C_DUR, F(auth_lockout), "15m", 1, 86400 * 7},

	{"log", "syslog", C_BOOL, F(log_syslog), "no", 0, 0},
	{"log", "level", C_STR, F(log_level), "info", 0, 0},

	{"dns", "trust_anchor", C_PATH, F(dns_trust_anchor), "/usr/share/dns/root.key", 0, 0},
	{"dns", "root_hints", C_PATH, F(dns_root_hints), "", 0, 0},
	{"dns", "forwarder", C_STR, F(dns_forwarder), "", 0, 0},
	{"dns", "unbound_option", C_LIST, F(dns_unbound_option), NULL, 0, 0},
	{"dns", "timeout", C_DUR, F(dns_timeout), "20s", 1, 600},

	{"outbound", "ca_file", C_PATH, F(out_ca_file), "", 0, 0},
	{"outbound", "port", C_INT, F(out_port), "25", 1, 65535},
	{"outbound", "helo", C_STR, F(out_helo), "", 0, 0},
	{"outbound", "queue_lifetime", C_DUR, F(out_queue_lifetime), "5d", 60, 86400 * 60},
	{"outbound", "connect_timeout", C_DUR, F(out_connect_timeout), "30s", 1, 600},
	{"outbound", "retention", C_DUR, F(out_retention), "0", 0, 86400 * 365},
	{"outbound", "max_per_domain", C_INT, F(out_max_per_domain), "10", 1, 1000},
	{"outbound", "workers", C_INT, F(out_workers), "8", 1, 64},
	{"outbound", "bind", C_STR, F(out_bind), "", 0, 0},

	{"nta", "provider_id", C_STR, F(nta_provider_id), "", 0, 0},
	{"nta", "ou_markers", C_LIST, F(nta_ou_markers), NULL, 0, 0},
	{"nta", "certified_providers", C_PATH, F(nta_certified_providers), "", 0, 0},
	{"nta", "portal_after", C_DUR, F(nta_portal_after), "4h", 0, 86400 * 30},
	{"nta", "bijlage_b_ca_file", C_PATH, F(nta_bijlage_b_ca_file), "", 0, 0},
	{"nta", "compliant_domain", C_LIST, F(nta_compliant_domain), NULL, 0, 0},
	{"nta", "strip_header", C_LIST, F(nta_strip_header), NULL, 0, 0},

	{"portal", "listen", C_HOSTPORT, F(portal_listen), "127.0.0.1:8443", 0, 0},
	{"portal", "base_url", C_STR, F(portal_base_url), "https://localhost:8443", 0, 0},

	{"dkim", "selector", C_STR, F(dkim_selector), "", 0, 0},
	{"dkim", "key", C_PATH, F(dkim_key), "", 0, 0},
	{"dkim", "domain", C_LIST, F(dkim_domain), NULL, 0, 0},

	{"classify", "allow_downgrade", C_BOOL, F(cls_allow_downgrade), "no", 0, 0},
	{"classify", "threshold", C_INT, F(cls_threshold), "50", 1, 1000},
};

#define NTABLE (sizeof(table) / sizeof(table[0]))

int
config_parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") || !strcmp(s, "1"))
		*out = 1;
	else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_scaled(const char *s, int64_t *out, const char *units, const int64_t *mult)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (end == s || errno != 0 || v < 0)
		return -1;
	int64_t m = 1;
	if (*end != '\0') {
		const char *u = strchr(units, *end);
		if (u == NULL || end[1] != '\0')
			return -1;
		m = mult[u - units];
	}
	if (v > INT64_MAX / m)
		return -1;
	*out = (int64_t)v * m;
	return 0;
}

int
config_parse_duration(const char *s, int64_t *out)
{
	static const int64_t mult[] = {1, 60, 3600, 86400};
	return parse_scaled(s, out, "smhd", mult);
}

int
config_parse_size(const char *s, int64_t *out)
{
	static const int64_t mult[] = {1024, 1024, 1048576, 1048576, 1073741824, 1073741824};
	return parse_scaled(s, out, "kKmMgG", mult);
}

static int
valid_hostport(const char *s)
{
	if (*s == '\0')
		return 1;	/* empty = listener off */
	const char *colon = strrchr(s, ':');
	if (colon == NULL || colon == s || colon[1] == '\0')
		return 0;
	if (s[0] == '[' && colon[-1] != ']')
		return 0;
	for (const char *p = colon + 1; *p; p++)
		if (!isdigit((unsigned char)*p))
			return 0;
	long port = strtol(colon + 1, NULL, 10);
	return port > 0 && port <= 65535;
}

char *
config_path(const struct config *c, const char *p)
{
	if (p == NULL || *p == '\0' || *p == '/' || c->dir == NULL)
		return strdup(p ? p : "");
	size_t n = strlen(c->dir) + strlen(p) + 2;
	char *r = malloc(n);
	if (r != NULL)
		snprintf(r, n, "%s/%s", c->dir, p);
	return r;
}

static int
set_entry(struct config *c, const struct centry *e, const char *val,
    char *err, size_t errlen)
{
	void *field = (char *)c + e->off;
	int64_t v;

	switch (e->type) {
	case C_STR:
	case C_PATH:
	case C_HOSTPORT: {
		if (e->type == C_HOSTPORT && !valid_hostport(val)) {
			snprintf(err, errlen, "%s.%s: expected HOST:PORT, got '%s'",
			    e->section, e->key, val);
			return -1;
		}
		char *s = e->type == C_PATH ? config_path(c, val) : strdup(val);
		if (s == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(*(char **)field);
		*(char **)field = s;
		return 0;
	}
	case C_LIST: {
		struct config_list *l = field;
		if (l->n >= CONFIG_LIST_MAX) {
			snprintf(err, errlen, "%s.%s: more than %d values",
			    e->section, e->key, CONFIG_LIST_MAX);
			return -1;
		}
		if ((l->v[l->n] = strdup(val)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		l->n++;
		return 0;
	}
	case C_BOOL:
		if (config_parse_bool(val, (int *)field) != 0) {
			snprintf(err, errlen, "%s.%s: expected yes or no, got '%s'",
			    e->section, e->key, val);
			return -1;
		}
		return 0;
	case C_INT:
	case C_DUR:
	case C_SIZE: {
		int rc;
		const char *what;
		if (e->type == C_INT) {
			char *end;
			errno = 0;
			long long ll = strtoll(val, &end, 10);
			rc = (end == val || *end || errno) ? -1 : 0;
			v = ll;
			what = "a whole number";
		} else if (e->type == C_DUR) {
			rc = config_parse_duration(val, &v);
			what = "a duration like 30s, 5m, 4h or 2d";
		} else {
			rc = config_parse_size(val, &v);
			what = "a size like 512k or 35M";
		}
		if (rc != 0) {
			snprintf(err, errlen, "%s.%s: expected %s, got '%s'",
			    e->section, e->key, what, val);
			return -1;
		}
		if (v < e->min || v > e->max) {
			snprintf(err, errlen, "%s.%s: %lld is out of range %lld..%lld",
			    e->section, e->key, (long long)v, (long long)e->min,
			    (long long)e->max);
			return -1;
		}
		*(int64_t *)field = v;
		return 0;
	}
	}
	return -1;
}

static const struct centry *
find_entry(const char *section, const char *key)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (!strcmp(table[i].section, section) && !strcmp(table[i].key, key))
			return &table[i];
	return NULL;
}

int
config_set(struct config *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen)
{
	const struct centry *e = find_entry(section, key);
	if (e == NULL) {
		snprintf(err, errlen, "unknown key '%s' in section [%s]", key, section);
		return -1;
	}
	return set_entry(c, e, value, err, errlen);
}

int
config_defaults(struct config *c)
{
	char err[256];
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NTABLE; i++) {
		if (table[i].def == NULL)
			continue;
		if (set_entry(c, &table[i], table[i].def, err, sizeof(err)) != 0)
			return -1;
	}
	return 0;
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/*
 * A comment starts at '#' at the start of a line or after white space, so
 * a value such as a provider id may still contain '#'.
 */
static void
strip_comment(char *line)
{
	for (char *p = line; *p; p++)
		if (*p == '#' && (p == line || *(p - 1) == ' ' || *(p - 1) == '\t')) {
			*p = '\0';
			return;
		}
}

/* Paths set before config_load knew the directory are re-resolved. */
static int
set_dir(struct config *c, const char *path)
{
	const char *slash = strrchr(path, '/');
	char *d = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
	if (d == NULL)
		return -1;
	if (slash == path) {
		free(d);
		d = strdup("/");
	}
	/*
	 * Absolute, so that resolved paths stay right after a chdir and
	 * resolving one twice changes nothing.
	 */
	char *abs = d ? realpath(d, NULL) : NULL;
	free(d);
	if (abs == NULL)
		return -1;
	free(c->path);
	free(c->dir);
	c->path = strdup(path);
	c->dir = abs;
	return c->path ? 0 : -1;
}

static int
reresolve_defaults(struct config *c)
{
	char err[64];
	for (size_t i = 0; i < NTABLE; i++)
		if (table[i].type == C_PATH && table[i].def != NULL &&
		    set_entry(c, &table[i], table[i].def, err, sizeof(err)) != 0)
			return -1;
	return 0;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	char line[4096], section[64] = "", msg[512];
	int lineno = 0, rc = 0;

	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (set_dir(c, path) != 0 || reresolve_defaults(c) != 0) {
		fclose(f);
		snprintf(err, errlen, "%s: cannot resolve its directory: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		size_t len = strlen(line);
		if (len == sizeof(line) - 1 && line[len - 1] != '\n') {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		strip_comment(line);
		char *s = trim(line);
		if (*s == '\0' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');
			if (end == NULL || end[1] != '\0' || end - s - 1 <= 0 ||
			    (size_t)(end - s - 1) >= sizeof(section)) {
				snprintf(err, errlen, "%s:%d: bad section header", path, lineno);
				rc = -1;
				break;
			}
			*end = '\0';
			snprintf(section, sizeof(section), "%s", trim(s + 1));
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		if (*section == '\0') {
			snprintf(err, errlen, "%s:%d: key '%s' outside a [section]",
			    path, lineno, key);
			rc = -1;
			break;
		}
		if (config_set(c, section, key, val, msg, sizeof(msg)) != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno, msg);
			rc = -1;
			break;
		}
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

void
config_free(struct config *c)
{
	for (size_t i = 0; i < NTABLE; i++) {
		void *field = (char *)c + table[i].off;
		if (table[i].type == C_LIST) {
			struct config_list *l = field;
			for (size_t j = 0; j < l->n; j++)
				free(l->v[j]);
			l->n = 0;
		} else if (table[i].type == C_STR || table[i].type == C_PATH ||
		    table[i].type == C_HOSTPORT) {
			free(*(char **)field);
			*(char **)field = NULL;
		}
	}
	free(c->path);
	free(c->dir);
	c->path = c->dir = NULL;
}
