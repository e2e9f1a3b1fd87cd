/*
 * fsmode.h - the file-mode layout of server.data_dir, decided by the
 * directory itself (no config key).  "Group-shared" (group rwx, nothing for
 * others, e.g. 2770 ntamsa-deliver:ntamsa) is the two-user layout: smtpd
 * and deliver run as different users sharing the directory's group, so the
 * database and the public store keys are group-readable/writable there.
 * Anything else is the owner-only layout (one user for both workers).
 * The store (store/db.c) and the key files (keys/keys.c) both ask here so
 * the two cannot disagree.
 */
#ifndef NTAMSA_COMMON_FSMODE_H
#define NTAMSA_COMMON_FSMODE_H

#include <sys/types.h>

struct fsmode {
	int shared;		/* 1: group-shared layout */
	gid_t gid;		/* the data directory's group (meaningful when shared) */
	mode_t db;		/* ntamsa.db, -wal, -shm: 0660 shared, else 0600 */
	mode_t keydir;		/* keys/: 0750 shared, else 0700 */
	mode_t pub;		/* store-<id>.pub and `current`: 0640 shared, else 0644 */
};

/* 1 when mode is group-shared (group rwx, no bits for others). */
int fsmode_is_group_shared(mode_t mode);

/*
 * The layout of data_dir.  A directory that cannot be stat()ed gets the
 * owner-only layout: the narrower one is the safe default, and the caller
 * reports the missing directory itself when it uses it.
 */
void fsmode_layout(const char *data_dir, struct fsmode *out);

/*
 * Give the open file fd group gid ((gid_t)-1: leave it) and then exactly
 * mode, whatever the umask was when it was made; each only when it
 * differs, so a file already right needs no privilege.  0, or -1 with
 * errno and *step naming what failed: "stat", "group" or "mode".
 */
int fsmode_apply_fd(int fd, gid_t gid, mode_t mode, const char **step);

#endif
