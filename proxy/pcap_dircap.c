/* pcap_max_total (pcap_dircap.h). The directory is the truth: whenever the
 * cap would be passed it is scanned again (files removed by an operator or a
 * cron job, files of an earlier run), so a count that drifted can only cause
 * one extra scan, never a removal too many. "Oldest" is by name, which starts
 * with the connection's open time (rdpwhy-YYYYmmddTHHMMSS.uuuuuuZ-...), so
 * the order does not change when a file is touched or copied. */
#include "pcap_dircap.h"
#include "safe_path.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

struct entry {
	char *name;
	uint64_t size;
};

static bool is_pcap_name(const char *n)
{
	size_t len = strlen(n);
	return len > 12 && !strncmp(n, "rdpwhy-", 7) && !strcmp(n + len - 5, ".pcap");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void free_entries(struct entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Every rdpwhy-*.pcap regular file of the open directory dfd: *total their
 * sizes, *out those is_open does not claim (malloc'd, sorted by name).
 * 0, or -1 with errno (the directory could not be read, out of memory). */
static int scan(int dfd, rw_pcapdir_open_fn is_open, void *arg, uint64_t *total, struct entry **out,
                size_t *nout)
{
	int fd = dup(dfd);
	DIR *dp = fd >= 0 ? fdopendir(fd) : NULL;
	if (!dp) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	*total = 0;
	struct dirent *de;
	while ((errno = 0, de = readdir(dp)) != NULL) {
		struct stat st;
		if (!is_pcap_name(de->d_name) ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		*total += (uint64_t)st.st_size;
		if (is_open && is_open(de->d_name, arg))
			continue;
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 64;
			struct entry *nv = realloc(v, ncap * sizeof(*v));
			if (!nv)
				goto oom;
			v = nv;
			cap = ncap;
		}
		v[n].name = strdup(de->d_name);
		if (!v[n].name)
			goto oom;
		v[n++].size = (uint64_t)st.st_size;
	}
	int e = errno;
	closedir(dp);
	if (e) {
		free_entries(v, n);
		errno = e;
		return -1;
	}
	if (n)
		qsort(v, n, sizeof(*v), by_name);
	*out = v;
	*nout = n;
	return 0;
oom:
	closedir(dp);
	free_entries(v, n);
	errno = ENOMEM;
	return -1;
}

/* Scans dir again and removes the oldest closed files
 * until n more bytes fit. 0 if they fit, -1 if not. */
static int rescan(struct rw_pcapdir *d, uint64_t n, uint64_t max, rw_pcapdir_open_fn is_open,
                  void *arg, struct rw_log *log)
{
	char why[PATH_MAX + 256] = "";
	int dfd = rw_safe_open(d->dir, O_RDONLY | O_DIRECTORY, 0, why, sizeof(why));
	if (dfd < 0) {
		/* The writer cannot create files there either: it says why. */
		d->known = false;
		return n > max ? -1 : 0;
	}
	struct entry *v = NULL;
	size_t nv = 0;
	uint64_t total;
	if (scan(dfd, is_open, arg, &total, &v, &nv) < 0) {
		rw_logerr(log, LOG_WARNING, "pcap_max_total: cannot read %s", d->dir);
		close(dfd);
		d->known = false;
		return -1;
	}
	d->known = true;
	d->total = total;
	for (size_t i = 0; i < nv && d->total + n > max; i++) {
		if (unlinkat(dfd, v[i].name, 0) < 0) {
			if (errno != ENOENT)
				rw_logerr(log, LOG_WARNING, "pcap_max_total: cannot remove %s/%s",
				          d->dir, v[i].name);
			else
				d->total -= v[i].size; /* someone else removed it */
			continue;
		}
		d->total -= v[i].size;
		d->removed_files++;
		d->removed_bytes += v[i].size;
		rw_logx(log, LOG_INFO, "pcap_max_total (%llu bytes): removed %s/%s (%llu bytes)",
		        (unsigned long long)max, d->dir, v[i].name, (unsigned long long)v[i].size);
	}
	free_entries(v, nv);
	close(dfd);
	return d->total + n > max ? -1 : 0;
}

static void select_dir(struct rw_pcapdir *d, const char *dir)
{
	if (d->known && !strcmp(d->dir, dir))
		return;
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	d->known = false;
	d->stuck = false;
	d->total = 0;
}

int rw_pcapdir_reserve(struct rw_pcapdir *d, const char *dir, uint64_t n, uint64_t max,
                       rw_pcapdir_open_fn is_open, void *arg, struct rw_log *log)
{
	if (!max) {
		d->known = false; /* no cap, no count: scan again if one is set */
		return 0;
	}
	select_dir(d, dir);
	if (!d->known || (max && d->total + n > max)) {
		/* Nothing closed since the last attempt found nothing to remove:
		 * do not read the directory again for every record. */
		if (d->known && d->stuck)
			return -1;
		if (rescan(d, n, max, is_open, arg, log) < 0) {
			d->stuck = d->known;
			return -1;
		}
		d->stuck = false;
	}
	d->total += n;
	return 0;
}

void rw_pcapdir_unwritten(struct rw_pcapdir *d, const char *dir, uint64_t n)
{
	if (d->known && !strcmp(d->dir, dir))
		d->total = d->total > n ? d->total - n : 0;
}

void rw_pcapdir_released(struct rw_pcapdir *d)
{
	d->stuck = false;
}
