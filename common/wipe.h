/*
 * wipe.h - buffers that hold message text or secrets.  realloc() may move
 * a block and leave the old copy in the heap, and free() leaves the bytes
 * where they were; these grow and free such buffers with the old bytes
 * wiped first (explicit_bzero: the compiler may not drop it).  Core dumps
 * are off in every worker; this keeps the text out of memory that a later
 * allocation, a swap-out or a heap bug could expose.
 */
#ifndef NTAMSA_COMMON_WIPE_H
#define NTAMSA_COMMON_WIPE_H

#include <stddef.h>

/*
 * A block of newcap bytes holding the first used bytes of old, and old
 * (its used bytes) wiped and freed.  NULL on failure, old untouched.
 */
void *wipe_grow(void *old, size_t used, size_t newcap);

/* Wipe n bytes at p, then free(p).  p may be NULL. */
void wipe_free(void *p, size_t n);

#endif
