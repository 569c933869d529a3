/* Opening files without following planted symbolic links. See safe_path.h. */
#include "safe_path.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define PROC_SUPER_MAGIC_ 0x9fa0
#define MAX_LINKS         16 /* links followed in one path, as the kernel's 40, but fewer */

struct walk {
	const char *path; /* as the caller gave it, for messages */
	int links;
	char *err;
	size_t errlen;
};

static int fail(struct walk *w, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct walk *w, int e, const char *fmt, ...)
{
	if (w->errlen) {
		int n = snprintf(w->err, w->errlen, "%s: ", w->path);
		if (n >= 0 && (size_t)n < w->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	errno = e;
	return -1;
}

static bool trusted_uid(uid_t u)
{
	return u == 0 || u == geteuid();
}

/* A directory only root (or our own user) can change. */
static bool dir_trusted(const struct stat *d)
{
	return trusted_uid(d->st_uid) && !(d->st_mode & (S_IWGRP | S_IWOTH));
}

static int walk_open(struct walk *w, int dirfd, const char *path, int flags, mode_t mode);

/* Follows the symbolic link NAME (lst: its lstat) of the directory DIRFD,
 * opening its target with FLAGS, if the rules allow it. */
static int follow(struct walk *w, int dirfd, const char *name, const struct stat *lst, int flags,
                  mode_t mode)
{
	if (++w->links > MAX_LINKS)
		return fail(w, ELOOP, "more than %d symbolic links", MAX_LINKS);
	struct statfs fs;
	if (fstatfs(dirfd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC_) {
		/* /proc/self, /proc/PID/fd/N: the kernel's links, not files anyone
		 * planted (and their targets, pipe:[N], are no paths to walk). */
		int fd = openat(dirfd, name, flags | O_CLOEXEC, mode);
		return fd >= 0 ? fd : fail(w, errno, "%s", strerror(errno));
	}
	struct stat d;
	if (fstat(dirfd, &d) < 0)
		return fail(w, errno, "%s", strerror(errno));
	if (!dir_trusted(&d))
		return fail(
		        w, EPERM,
		        "refusing to follow the symbolic link '%s': its directory (owner uid %u, "
		        "mode %04o) can be written by users other than root%s; rdpwhy follows "
		        "no link that another user could have planted",
		        name, (unsigned)d.st_uid, (unsigned)(d.st_mode & 07777),
		        geteuid() ? " and this one" : "");
	if (!trusted_uid(lst->st_uid))
		return fail(w, EPERM,
		            "refusing to follow the symbolic link '%s': it belongs to uid %u, not "
		            "root%s",
		            name, (unsigned)lst->st_uid, geteuid() ? " nor this user" : "");
	char target[PATH_MAX];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
	if (n < 0)
		return fail(w, errno, "%s", strerror(errno));
	target[n] = '\0';
	return walk_open(w, dirfd, target, flags, mode);
}

/* The directory NAME of DIRFD, as an O_PATH descriptor. */
static int step(struct walk *w, int dirfd, const char *name)
{
	if (!strcmp(name, ".."))
		return openat(dirfd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return fail(w, errno, "%s", strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return fail(w, e, "%s", strerror(e));
	}
	if (S_ISDIR(st.st_mode))
		return fd;
	close(fd);
	if (!S_ISLNK(st.st_mode))
		return fail(w, ENOTDIR, "%s", strerror(ENOTDIR));
	return follow(w, dirfd, name, &st, O_PATH | O_DIRECTORY, 0);
}

/* An existing file just opened for writing in DIRFD: not one with other hard
 * links where others could have made them. */
static int check_opened(struct walk *w, int dirfd, int fd, int flags)
{
	if ((flags & O_ACCMODE) == O_RDONLY || (flags & O_PATH))
		return fd;
	struct stat st, d;
	if (fstat(fd, &st) < 0 || fstat(dirfd, &d) < 0) {
		int e = errno;
		close(fd);
		return fail(w, e, "%s", strerror(e));
	}
	if (S_ISREG(st.st_mode) && st.st_nlink > 1 && !dir_trusted(&d)) {
		close(fd);
		return fail(w, EPERM,
		            "refusing to write to a file with %lu hard links in a directory that "
		            "users other than root can write to (a link to another file?)",
		            (unsigned long)st.st_nlink);
	}
	return fd;
}

static int open_last(struct walk *w, int dirfd, const char *name, int flags, mode_t mode)
{
	bool creat = (flags & O_CREAT) != 0, excl = (flags & O_EXCL) != 0;
	for (int tries = 0; tries < 8; tries++) {
		int f = creat && !excl ? flags & ~O_CREAT : flags;
		int fd = openat(dirfd, name, f | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0)
			return excl ? fd : check_opened(w, dirfd, fd, flags);
		int e = errno;
		if (e == ENOENT && creat && !excl) {
			/* Missing: created, never through a link or over a file. */
			fd = openat(dirfd, name, flags | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
			if (fd >= 0)
				return fd;
			if (errno == EEXIST)
				continue; /* made meanwhile: open it as an existing one */
			e = errno;
		}
		struct stat lst;
		if ((e == ELOOP || e == EEXIST || e == ENOTDIR || e == EMLINK) &&
		    fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode)) {
			if (excl)
				return fail(
				        w, EEXIST,
				        "'%s' is a symbolic link; rdpwhy creates a new file there "
				        "and writes through no link",
				        name);
			return follow(w, dirfd, name, &lst, flags, mode);
		}
		return fail(w, e, "%s", strerror(e));
	}
	return fail(w, EAGAIN, "created and removed again and again meanwhile");
}

/* PATH relative to DIRFD (AT_FDCWD or a directory), every component but the
 * last a directory reached without following a link the rules refuse. With
 * LAST set, *LAST gets a copy of the last component and the parent's O_PATH
 * descriptor is returned instead of opening it. */
static int walk(struct walk *w, int dirfd, const char *path, char *last, size_t lastlen)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);
	if (len == 0)
		return fail(w, ENOENT, "%s", strerror(ENOENT));
	if (len >= sizeof(buf))
		return fail(w, ENAMETOOLONG, "%s", strerror(ENAMETOOLONG));
	memcpy(buf, path, len + 1);
	char *p = buf;
	int cur;
	if (*p == '/') {
		cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		while (*p == '/')
			p++;
	} else {
		cur = openat(dirfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	if (cur < 0)
		return fail(w, errno, "%s", strerror(errno));
	for (char *slash; (slash = strchr(p, '/')) != NULL;) {
		*slash = '\0';
		char *next = slash + 1;
		while (*next == '/')
			next++;
		if (*p && strcmp(p, ".") != 0) {
			int nfd = step(w, cur, p);
			int e = errno;
			close(cur);
			if (nfd < 0) {
				errno = e;
				return -1;
			}
			cur = nfd;
		}
		p = next;
	}
	const char *name = *p ? p : ".";
	if (strlen(name) >= lastlen) {
		close(cur);
		return fail(w, ENAMETOOLONG, "%s", strerror(ENAMETOOLONG));
	}
	strcpy(last, name);
	return cur;
}

static int walk_open(struct walk *w, int dirfd, const char *path, int flags, mode_t mode)
{
	char name[NAME_MAX + 1];
	int parent = walk(w, dirfd, path, name, sizeof(name));
	if (parent < 0)
		return -1;
	int fd = open_last(w, parent, name, flags, mode);
	int e = errno;
	close(parent);
	errno = e;
	return fd;
}

int rw_safe_open(const char *path, int flags, mode_t mode, char *err, size_t errlen)
{
	struct walk w = {path, 0, err, errlen};
	if (errlen)
		err[0] = '\0';
	return walk_open(&w, AT_FDCWD, path, flags, mode);
}

int rw_safe_mkdir(const char *path, mode_t mode, char *err, size_t errlen)
{
	struct walk w = {path, 0, err, errlen};
	if (errlen)
		err[0] = '\0';
	char name[NAME_MAX + 1];
	int parent = walk(&w, AT_FDCWD, path, name, sizeof(name));
	if (parent < 0)
		return -1;
	int rc = mkdirat(parent, name, mode);
	int e = errno;
	close(parent);
	if (rc == 0)
		return 1;
	if (e == EEXIST)
		return 0;
	return fail(&w, e, "%s", strerror(e));
}

char *rw_err_after(char *err, size_t *errlen, const char *prefix)
{
	size_t k = strlen(prefix);
	if (k >= *errlen)
		return err;
	memcpy(err, prefix, k);
	err[k] = '\0';
	*errlen -= k;
	return err + k;
}
