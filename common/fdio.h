/*
 * fdio.h - writing a whole buffer to a descriptor with write(2).  Used
 * where stdio must not hold a copy of the data (key files, plaintext
 * shown to an operator): one helper so every caller handles partial
 * writes and signals alike.
 */
#ifndef NTAMSA_COMMON_FDIO_H
#define NTAMSA_COMMON_FDIO_H

#include <stddef.h>

/*
 * Write all len bytes of buf to fd, across partial writes and EINTR.
 * 0 on success; -1 with errno set by the failing write(2) (EIO when
 * write returned 0, which would otherwise loop for ever).
 */
int fd_write_all(int fd, const void *buf, size_t len);

#endif
