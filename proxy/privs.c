/* The proxy's privileges: it gives up root for `user =` once its listeners
 * are open, but keeps, in its permitted set only, the capabilities that
 * opening a listener may need again on SIGHUP — CAP_NET_BIND_SERVICE for a
 * port below 1024, and for TPROXY CAP_NET_RAW (or CAP_NET_ADMIN when only
 * that one is held) for IP_TRANSPARENT. They are raised into the effective
 * set around socket()/setsockopt()/bind()/listen() and lowered right after,
 * so the process runs with no effective capability. A process started
 * without root but with capabilities (systemd's AmbientCapabilities, file
 * capabilities) is trimmed the same way.
 *
 * Capabilities are per thread: everything here runs on the event loop's
 * thread, the one that opens listeners. setresuid() in glibc changes every
 * thread's ids; the other threads (the output thread) lose all their
 * capabilities with root, as they have no PR_SET_KEEPCAPS. */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proxy.h"

#define BIT(cap) (1ULL << (cap))

static int caps_get(uint64_t *permitted, uint64_t *effective)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*permitted = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*effective = d[0].effective | (uint64_t)d[1].effective << 32;
	return 0;
}

/* This thread's sets; inheritable always empty (which empties the ambient
 * set too: nothing is passed on). */
static int caps_set(uint64_t permitted, uint64_t effective)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	memset(d, 0, sizeof(d));
	d[0].permitted = (uint32_t)permitted;
	d[1].permitted = (uint32_t)(permitted >> 32);
	d[0].effective = (uint32_t)effective;
	d[1].effective = (uint32_t)(effective >> 32);
	return (int)syscall(SYS_capset, &h, d);
}

/* What listeners may need, among what the process holds. */
static uint64_t caps_wanted(uint64_t held, bool tproxy)
{
	uint64_t want = held & BIT(CAP_NET_BIND_SERVICE);
	if (tproxy) {
		/* The kernel grants IP_TRANSPARENT with either; NET_RAW is the
		 * narrower one. */
		if (held & BIT(CAP_NET_RAW))
			want |= BIT(CAP_NET_RAW);
		else
			want |= held & BIT(CAP_NET_ADMIN);
	}
	return want;
}

static void caps_names(uint64_t caps, char *out, size_t outlen)
{
	static const struct {
		int cap;
		const char *name;
	} names[] = {{CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"},
	             {CAP_NET_RAW, "CAP_NET_RAW"},
	             {CAP_NET_ADMIN, "CAP_NET_ADMIN"}};
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && off < outlen; i++)
		if (caps & BIT(names[i].cap)) {
			int n = snprintf(out + off, outlen - off, "%s%s", off ? " " : "",
			                 names[i].name);
			if (n < 0)
				break;
			off += (size_t)n;
		}
	if (!out[0])
		snprintf(out, outlen, "none");
}

int rw_privs_drop(struct rw_privs *p, const char *user, bool tproxy, char *note, size_t notelen,
                  char *err, size_t errlen)
{
	memset(p, 0, sizeof(*p));
	note[0] = '\0';
	uint64_t held = 0, eff = 0;
	if (caps_get(&held, &eff) < 0) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -1;
	}
	struct passwd *pw = NULL;
	if (user && user[0]) {
		errno = 0;
		pw = getpwnam(user);
		if (!pw) {
			snprintf(err, errlen, "user %s: %s", user,
			         errno ? strerror(errno) : "no such user");
			return -1;
		}
		if (pw->pw_uid == geteuid())
			pw = NULL; /* already that user (under systemd's User=) */
		else if (geteuid() != 0) {
			snprintf(err, errlen,
			         "user %s: cannot switch users without root (running as "
			         "uid %u)",
			         user, (unsigned)geteuid());
			return -1;
		}
	}
	if (!pw && (geteuid() == 0 || !held))
		return 0; /* root stays root; an ordinary user holds nothing to trim */
	uint64_t keep = caps_wanted(held, tproxy);
	if (pw) {
		uid_t uid = pw->pw_uid;
		gid_t gid = pw->pw_gid;
		/* Keep the permitted set across the switch from root. */
		if (keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
			snprintf(err, errlen, "PR_SET_KEEPCAPS: %s", strerror(errno));
			return -1;
		}
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0) {
			snprintf(err, errlen, "cannot become %s: %s", user, strerror(errno));
			return -1;
		}
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}
	if (caps_set(keep, 0) < 0) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	/* Check, do not trust: no way back to root, only what we kept. */
	if (pw && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "still able to regain root after becoming %s", user);
		return -1;
	}
	uint64_t now = 0;
	if (caps_get(&now, &eff) < 0 || now != keep || eff != 0) {
		snprintf(err, errlen,
		         "capabilities not as set (permitted %#llx, effective %#llx, "
		         "wanted %#llx, none effective)",
		         (unsigned long long)now, (unsigned long long)eff,
		         (unsigned long long)keep);
		return -1;
	}
	/* Nor through an exec of a set-user-ID program. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	p->managed = true;
	p->kept = keep;
	char names[96];
	caps_names(keep, names, sizeof(names));
	snprintf(note, notelen, "kept for opening listeners on reload: %s (none effective)", names);
	return 0;
}

void rw_privs_raise(const struct rw_privs *p)
{
	if (p->managed && p->kept)
		caps_set(p->kept, p->kept);
}

void rw_privs_lower(const struct rw_privs *p)
{
	if (p->managed && p->kept)
		caps_set(p->kept, 0);
}

const char *rw_privs_hint(const struct rw_privs *p, const struct rw_listen *where, bool transparent,
                          int err)
{
	if (err != EACCES && err != EPERM)
		return "";
	if (transparent && !(p->kept & (BIT(CAP_NET_RAW) | BIT(CAP_NET_ADMIN))))
		return p->managed ? " (IP_TRANSPARENT needs CAP_NET_RAW or CAP_NET_ADMIN, which "
		                    "this process does not hold: it started without tproxy, or "
		                    "without the capability; restart it)"
		                  : " (IP_TRANSPARENT needs CAP_NET_RAW or CAP_NET_ADMIN)";
	uint16_t port = 0;
	if (where->addr.ss_family == AF_INET)
		port = ntohs(((const struct sockaddr_in *)&where->addr)->sin_port);
	else if (where->addr.ss_family == AF_INET6)
		port = ntohs(((const struct sockaddr_in6 *)&where->addr)->sin6_port);
	if (port && port < 1024 && !(p->kept & BIT(CAP_NET_BIND_SERVICE)))
		return " (ports below 1024 need CAP_NET_BIND_SERVICE, which this process does "
		       "not hold: start it as root or with the capability)";
	return "";
}
