/* rdpwhy capture -Z: giving up root once the capture handle is open, as
 * tcpdump does. See cli.h. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cli.h"

int rw_runas_resolve(const char *name, struct rw_runas *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	bool given = name != NULL;
	if (!given)
		name = RW_RUNAS_DEFAULT;
	if (!*name || strlen(name) >= sizeof(r->name)) {
		snprintf(err, errlen, "-Z needs a user name");
		return -1;
	}
	if (!given && geteuid() != 0)
		return 0; /* not root: nothing to give up but capabilities */
	errno = 0;
	struct passwd *pw = getpwnam(name);
	if (!pw) {
		if (!given) {
			snprintf(r->note, sizeof(r->note),
			         "note: no user '%s' to drop root to: capturing as root (create "
			         "it, or pass -Z USER, e.g. -Z nobody)",
			         name);
			return 0;
		}
		int e = errno;
		snprintf(err, errlen, "-Z %s: %s", name,
		         e && e != ENOENT && e != ESRCH ? strerror(e) : "no such user");
		return -1;
	}
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->uid = pw->pw_uid;
	r->gid = pw->pw_gid;
	if (r->uid == geteuid())
		return 0; /* already that user (-Z root as root: stays root) */
	if (geteuid() != 0) {
		snprintf(err, errlen,
		         "-Z %s: cannot become another user without root (running as "
		         "uid %u)",
		         name, (unsigned)geteuid());
		return -1;
	}
	r->drop = true;
	return 0;
}

/* The process's permitted capabilities, or -1. */
static int caps_permitted(unsigned long long *out)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*out = d[0].permitted | (unsigned long long)d[1].permitted << 32;
	return 0;
}

static int caps_clear(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

int rw_runas_drop(const struct rw_runas *r, char *err, size_t errlen)
{
	unsigned long long caps = 0;
	if (!r->drop) {
		/* Not root (or staying root): a capture started with file
		 * capabilities (setcap cap_net_raw,cap_net_admin+ep) gives them up. */
		if (geteuid() != 0 && caps_permitted(&caps) == 0 && caps && caps_clear() < 0) {
			snprintf(err, errlen, "cannot give up capabilities: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	/* Groups first (it takes root), then the group, then the user. */
	if (initgroups(r->name, r->gid) < 0) {
		snprintf(err, errlen, "cannot set the groups of %s: %s", r->name, strerror(errno));
		return -1;
	}
	if (setresgid(r->gid, r->gid, r->gid) < 0 || setresuid(r->uid, r->uid, r->uid) < 0) {
		snprintf(err, errlen, "cannot become %s: %s", r->name, strerror(errno));
		return -1;
	}
	/* Check, do not trust: no way back to root, no capability left. */
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != r->uid ||
	    eu != r->uid || su != r->uid || rg != r->gid || eg != r->gid || sg != r->gid) {
		snprintf(err, errlen, "became %s only in part", r->name);
		return -1;
	}
	if (setuid(0) == 0 || seteuid(0) == 0 || (r->gid != 0 && setgid(0) == 0)) {
		snprintf(err, errlen, "still able to regain root after becoming %s", r->name);
		return -1;
	}
	if (caps_permitted(&caps) < 0 || caps != 0) {
		snprintf(err, errlen, "capabilities left after becoming %s", r->name);
		return -1;
	}
	/* Nor through an exec of a set-user-ID program. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}
