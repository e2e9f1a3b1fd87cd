/*
 * accounts.h - submission accounts: password hashes (Argon2id), the
 * allowed-sender list, client address restrictions.  The rows live in the
 * store (store_account_*); this module holds the rules applied to them.
 */
#ifndef NTAMSA_MSA_ACCOUNTS_H
#define NTAMSA_MSA_ACCOUNTS_H

#include <stddef.h>
#include <sys/socket.h>

#include "store/store.h"

#define ACCT_RATE_DEFAULT 100	/* messages per hour (issue 3) */

/*
 * Hash a password with crypto_pwhash_str (Argon2id, INTERACTIVE limits).
 * Test builds only: $NTAMSA_TEST_PWHASH_FAST=1 uses the minimum limits so
 * a test suite can create accounts quickly; verification reads the limits
 * from the hash string, so it needs no switch.
 */
int acct_hash_password(const char *pw, size_t pwlen, char out[256]);

/* 0 when pw matches the stored hash (constant time inside libsodium). */
int acct_verify_password(const char *hash, const char *pw, size_t pwlen);

/*
 * 1 when addr may be used by the account: equal to an allow-from entry
 * (local part exact, domain case-insensitive) or matched by "*@domain".
 */
int acct_sender_allowed(const struct store_account *a, const char *addr);

/* 1 when the client address is inside one of allow_ip (or the list is empty). */
int acct_ip_allowed(const struct store_account *a, const struct sockaddr *sa);

/* 0 when s is a valid CIDR (or bare address); used to check CLI input. */
int acct_cidr_valid(const char *s);
/* 0 when s is "local@domain" or "*@domain". */
int acct_pattern_valid(const char *s);

#endif
