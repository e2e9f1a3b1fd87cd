/*
 * keys_int.h - what keys.c and dk.c share; nothing outside keys/ sees it.
 */
#ifndef NTAMSA_KEYS_KEYS_INT_H
#define NTAMSA_KEYS_KEYS_INT_H

#include <sodium.h>
#include <stdint.h>

struct keys_ahead;

struct keys_pub {
	uint32_t id;
	uint8_t pk[crypto_box_PUBLICKEYBYTES];
	struct keys_ahead *ahead;	/* keys_pub_seal_ahead, else NULL */
};

/* Stop p's seal-ahead thread (if any) and wipe what it had sealed. */
void keys_ahead_stop(struct keys_pub *p);

#endif
