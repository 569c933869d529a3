/* Opening the files rdpwhy writes without being led elsewhere by a symbolic
 * link (output files, the syslog spool, the proxy's pcap_dir).
 *
 * rdpwhy often starts as root and writes into directories that an
 * unprivileged user owns (the one it drops to, a log shipper's). Such a user
 * could plant a symbolic link where rdpwhy is about to write (out.json ->
 * /etc/shadow) or swap a directory of the path for one. So the path is walked
 * one component at a time, each opened with O_NOFOLLOW, and a symbolic link
 * is followed only where nobody but root or this process's own user could
 * have put it:
 *
 *   - the directory holding the link is owned by root (or by this process's
 *     user) and is writable by no group or other (a sticky /tmp is not), and
 *   - the link itself is owned by root (or by this process's user);
 *   - links in /proc (/dev/stdout -> /proc/self/fd/1) are the kernel's own.
 *
 * Every other link is refused with a message that names it. A new file is
 * created with O_EXCL (never through a link, never an existing file), an
 * existing one is opened with O_NOFOLLOW; one that has other hard links in a
 * directory others can write to is refused too (a link to a file of root's). */
#ifndef RW_SAFE_PATH_H
#define RW_SAFE_PATH_H

#include <stddef.h>
#include <sys/types.h>

/* open(2) of PATH with FLAGS (O_CLOEXEC and O_NOFOLLOW are added) and MODE
 * under the rules above. With O_CREAT and without O_EXCL, an existing file is
 * opened as it is and a missing one created with O_EXCL. The fd, or -1 with
 * errno set and ERR holding a message that starts with PATH. */
int rw_safe_open(const char *path, int flags, mode_t mode, char *err, size_t errlen);

/* mkdir(2) of PATH with MODE, its parent reached under the rules above: 1 if
 * it was made, 0 if something is there already (a directory or not: open it
 * with rw_safe_open(O_DIRECTORY) to know), -1 with errno and ERR. */
int rw_safe_mkdir(const char *path, mode_t mode, char *err, size_t errlen);

/* Messages with a prefix, written in place (no copy of a message into a
 * buffer of its own size to cut): copies PREFIX to the start of ERR when it
 * fits and returns where the rest goes, *ERRLEN reduced to what is left. */
char *rw_err_after(char *err, size_t *errlen, const char *prefix);

#endif
