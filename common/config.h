/*
 * config.h - the INI configuration every ntamsa command reads.
 *
 * One table (config.c) names every section.key with its type, default and
 * bounds, as Postfix's mail_conf and Redis's config.c do; parsing and
 * bounds-checking happen there only.  Unknown keys and bad values are
 * refused with "file:line: what is wrong".  Relative paths are taken
 * relative to the directory of the config file.
 *
 * The struct is public: modules read the fields they need from a
 * const struct config *.  Repeatable keys are string lists.
 */
#ifndef NTAMSA_COMMON_CONFIG_H
#define NTAMSA_COMMON_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_LIST_MAX 64

struct config_list {
	size_t n;
	char *v[CONFIG_LIST_MAX];
};

struct config {
	char *path;			/* the file read */
	char *dir;			/* its directory */

	/* [server] */
	char *hostname;
	char *data_dir;
	char *user;			/* smtpd (and deliver, unless deliver_user) */
	char *deliver_user;		/* deliver's own user; "" = server.user */
	char *submission;		/* host:port, STARTTLS; "" = off */
	char *submissions;		/* host:port, implicit TLS; "" = off */
	char *tls_cert;
	char *tls_key;
	int64_t max_message_size;	/* bytes */
	int64_t max_sessions;
	int64_t max_sessions_per_ip;
	int64_t max_recipients;
	int64_t timeout_command;	/* seconds, RFC 5321 4.5.3.2: 5 min */
	int64_t timeout_data_block;	/* 3 min */
	int64_t timeout_data_end;	/* 10 min */
	int received_show_client;	/* bool: client IP/name in Received */
	int auth_cram_md5;		/* bool: off by default (spec R-AUTH-1) */
	int ocsp_stapling;		/* bool: staple when the cert names a responder */
	int64_t auth_fail_limit;	/* failures before lock-out */
	int64_t auth_lockout;		/* seconds */

	/* [log] */
	int log_syslog;
	char *log_level;

	/* [dns] */
	char *dns_trust_anchor;
	char *dns_root_hints;
	char *dns_forwarder;
	struct config_list dns_unbound_option;
	int64_t dns_timeout;		/* seconds per lookup */

	/* [outbound] */
	char *out_ca_file;
	int64_t out_port;
	char *out_helo;
	int64_t out_queue_lifetime;	/* seconds, default 5 days */
	int64_t out_connect_timeout;
	int64_t out_retention;		/* seconds to keep DK after done; 0 = shred */
	int64_t out_max_per_domain;
	int64_t out_workers;		/* deliver threads (destinations in parallel) */
	char *out_bind;			/* source address for outbound connections */

	/* [nta] */
	char *nta_provider_id;
	struct config_list nta_ou_markers;
	char *nta_certified_providers;
	int64_t nta_portal_after;	/* seconds, default 4 h */
	char *nta_bijlage_b_ca_file;
	struct config_list nta_compliant_domain;
	struct config_list nta_strip_header;	/* operator additions to Bijlage A */

	/* [portal] */
	char *portal_listen;
	char *portal_base_url;

	/* [dkim] */
	char *dkim_selector;
	char *dkim_key;
	struct config_list dkim_domain;	/* "DOMAIN SELECTOR KEYFILE" */

	/* [classify] */
	int cls_allow_downgrade;
	int64_t cls_threshold;		/* score at or above which mail is health */
};

/* Fill c with the defaults of every key. */
int config_defaults(struct config *c);

/*
 * Read path over the defaults.  On error returns -1 and writes
 * "file:line: what is wrong" into err.
 */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* Parse one "section.key = value" for tests and -o overrides. */
int config_set(struct config *c, const char *section, const char *key,
    const char *value, char *err, size_t errlen);

void config_free(struct config *c);

/* Helpers for values of the same forms elsewhere (CLI flags). */
int config_parse_duration(const char *s, int64_t *out);	/* 30, 30s, 5m, 4h, 2d */
int config_parse_size(const char *s, int64_t *out);	/* 100, 10k, 35M, 1G */
int config_parse_bool(const char *s, int *out);

/* Resolve a path from the config relative to its directory (malloc'd). */
char *config_path(const struct config *c, const char *p);

#endif
