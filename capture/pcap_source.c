/* libpcap front ends: a file (pcap or pcapng) or a live interface, packets
 * handed to the flow table. The only place in the capture engine that reads
 * a clock (live idle expiry). */
#include "capture.h"
#include "compressed.h"
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define US_PER_S 1000000ull

/* How late a stop request or an idle expiry can be noticed. */
#define LIVE_TIMEOUT_MS 200
/* The kernel's ring for a live capture. Not immediate mode: there libpcap
 * gives every packet a frame of the snapshot length, so its default 2 MiB
 * held about 30 packets and a one-second stall of ours during a burst of
 * short connections lost most of them. Blocks (TPACKET_V3) pack small
 * packets and are handed over at the latest after LIVE_TIMEOUT_MS; the
 * larger ring leaves room for full-size segments (64 KiB on loopback or
 * with GRO) too. */
#define LIVE_BUFFER_BYTES (32 * 1024 * 1024)
/* The stdio buffer of a capture file being replayed. */
#define READ_BUFFER_BYTES (1024 * 1024)

static uint64_t tv_us(const struct timeval *tv)
{
	if (tv->tv_sec < 0)
		return 0;
	return (uint64_t)tv->tv_sec * US_PER_S + (uint64_t)tv->tv_usec;
}

static int set_filter(pcap_t *p, const char *bpf, const char *what, char *err, size_t errlen)
{
	if (!bpf)
		return 0;
	struct bpf_program prog;
	if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		snprintf(err, errlen, "%s: bad filter '%s': %s", what, bpf, pcap_geterr(p));
		return -1;
	}
	int rc = pcap_setfilter(p, &prog);
	pcap_freecode(&prog);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot set filter '%s': %s", what, bpf, pcap_geterr(p));
		return -1;
	}
	return 0;
}

/* Every packet of an open offline handle into c; closes it. NAME is for
 * messages. A read error after the header is not fatal: the packets before
 * it were delivered, and err says where reading stopped and how much of the
 * file was left unread (a capture still being written, a disk full, or a
 * damaged record: garbage, an impossible length). */
static int replay_handle(pcap_t *p, const char *name, const char *bpf, rw_packet_fn fn, void *arg,
                         bool *truncated, char *err, size_t errlen)
{
	if (set_filter(p, bpf, name, err, errlen) < 0) {
		pcap_close(p);
		return -1;
	}
	int dlt = pcap_datalink(p);
	/* Where the last whole packet ended, for the message when a damaged
	 * record stops the reading. ftello costs a system call (lseek) per
	 * call, so in a classic pcap file the offset is counted instead (a
	 * 24-byte header, then 16 bytes and the frame per record) and ftello
	 * only checks the count now and then, and where libpcap may have
	 * shortened a record (caplen at the snapshot length). A count that
	 * disagrees (a variant with longer record headers) and pcapng (blocks
	 * of any size between packets) use ftello for every packet. */
	FILE *fp = pcap_file(p);
	off_t good_end = fp ? ftello(fp) : -1;
	bool counted = good_end == 24;
	bpf_u_int32 snap = (bpf_u_int32)pcap_snapshot(p);
	/* A regular file's size gives a person at a terminal a progress line
	 * (a pipe or a decompressed stream has no size to go by). */
	struct rw_progress pg;
	struct stat st0;
	int fd0 = fp ? fileno(fp) : -1;
	rw_progress_start(&pg, name,
	                  fd0 >= 0 && good_end >= 0 && fstat(fd0, &st0) == 0 && S_ISREG(st0.st_mode)
	                          ? (uint64_t)st0.st_size
	                          : 0);
	uint64_t n = 0;
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;
	while ((rc = pcap_next_ex(p, &h, &data)) >= 0) {
		if (rc == 0)
			continue; /* only live captures time out */
		fn(arg, dlt, tv_us(&h->ts), data, h->caplen, h->len);
		n++;
		if (good_end < 0)
			continue;
		if (!counted || h->caplen >= snap || n % 4096 == 0) {
			off_t at = ftello(fp);
			if (counted && at != good_end + 16 + (off_t)h->caplen && h->caplen < snap)
				counted = false;
			good_end = at;
			if (n % 4096 == 0)
				rw_progress_update(&pg, (uint64_t)good_end);
		} else {
			good_end += 16 + (off_t)h->caplen;
		}
	}
	rw_progress_end(&pg);
	/* A damaged compressed stream ends like a file cut short, or even
	 * cleanly at a record boundary: its reader knows. */
	const char *zwhy = fp ? rw_compressed_error(fp) : "";
	if (zwhy[0]) {
		*truncated = true;
		snprintf(err, errlen, "%s; read %llu packets", zwhy, (unsigned long long)n);
	} else if (rc == PCAP_ERROR) {
		*truncated = true;
		const char *why = pcap_geterr(p);
		struct stat sb;
		if (fp && good_end >= 0 && fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode) &&
		    sb.st_size > good_end)
			snprintf(err, errlen,
			         "%s; read %llu packets, stopped at byte %lld of %lld: the last "
			         "%lld bytes were skipped",
			         why, (unsigned long long)n, (long long)good_end,
			         (long long)sb.st_size, (long long)(sb.st_size - good_end));
		else
			snprintf(err, errlen, "%s; read %llu packets", why, (unsigned long long)n);
	}
	pcap_close(p);
	return 0;
}

/* ---- replay -j: classic pcap records read as they are on disk ----------- */

#define RAW_SNAP_MAX 262144u /* libpcap's largest snapshot for the link types below */

/* Link types libpcap hands over as they are in the file: pcap_post_process
 * changes nothing of theirs (the cooked headers' CAN fix-ups apply only to
 * byte-swapped files). */
static bool raw_dlt(int dlt, bool swapped)
{
	switch (dlt) {
	case DLT_EN10MB:
	case DLT_RAW:
	case DLT_NULL:
	case DLT_LOOP:
#ifdef DLT_IPV4
	case DLT_IPV4:
#endif
#ifdef DLT_IPV6
	case DLT_IPV6:
#endif
		return true;
	case DLT_LINUX_SLL:
#ifdef DLT_LINUX_SLL2
	case DLT_LINUX_SLL2:
#endif
		return !swapped;
	default:
		return false;
	}
}

static uint32_t raw_u32(const uint8_t *p, bool swapped)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return swapped ? __builtin_bswap32(v) : v;
}

static int raw_open(const char *path, const char *bpf, struct rw_pcap_raw *fmt)
{
	/* A regular file only: a pipe's bytes cannot be read twice. */
	struct stat sb;
	if (bpf || strcmp(path, "-") == 0 || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return -1;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return -1;
	uint8_t h[24];
	bool ok = fread(h, 1, sizeof(h), fp) == sizeof(h);
	fclose(fp);
	if (!ok)
		return -1;
	uint32_t magic;
	memcpy(&magic, h, 4);
	bool swapped, nsec;
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
		swapped = false;
	else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
		swapped = true;
	else
		return -1; /* pcapng, compressed, a variant, not a capture: libpcap's */
	nsec = raw_u32(h, swapped) == 0xa1b23c4du;
	uint16_t major, minor;
	memcpy(&major, h + 4, 2);
	memcpy(&minor, h + 6, 2);
	if (swapped) {
		major = __builtin_bswap16(major);
		minor = __builtin_bswap16(minor);
	}
	if (major != 2 || minor != 4)
		return -1;
	/* libpcap's reading of the header: the link type and the snapshot
	 * length as it adjusts them. */
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p =
	        pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!p)
		return -1;
	int dlt = pcap_datalink(p);
	int snap = pcap_snapshot(p);
	pcap_close(p);
	if (!raw_dlt(dlt, swapped) || snap <= 0 || (unsigned)snap > RAW_SNAP_MAX)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (lseek(fd, 24, SEEK_SET) != 24) {
		close(fd);
		return -1;
	}
	*fmt = (struct rw_pcap_raw){dlt, (uint32_t)snap, swapped, nsec};
	return fd;
}

/* The length of the whole records that begin p, counted into *records;
 * *odd when it stops at one libpcap must read. */
static size_t raw_whole(const struct rw_pcap_raw *fmt, const uint8_t *p, size_t n,
                        uint64_t *records, bool *odd)
{
	size_t off = 0;
	*odd = false;
	while (n - off >= 16) {
		uint32_t caplen = raw_u32(p + off + 8, fmt->swapped);
		if (caplen > fmt->snap) {
			/* libpcap cuts it, or finds it damaged: its words. */
			*odd = true;
			break;
		}
		if (n - off - 16 < caplen)
			break;
		off += 16 + (size_t)caplen;
		(*records)++;
	}
	return off;
}

void rw_pcap_raw_each(const struct rw_pcap_raw *fmt, const uint8_t *p, size_t n, rw_packet_fn fn,
                      void *arg)
{
	for (size_t off = 0; off + 16 <= n;) {
		const uint8_t *h = p + off;
		/* As libpcap 1.10 reads them and tv_us takes them: in a file of
		 * the host's byte order, signed 32-bit seconds and fraction; in a
		 * swapped one, unsigned (its byte swap yields an unsigned int), so
		 * that a damaged fraction of 0xffd7fe30 is 4292345392 there and
		 * -2621904 here. Then nanoseconds divided down. */
		uint32_t sec = raw_u32(h, fmt->swapped), frac = raw_u32(h + 4, fmt->swapped);
		struct timeval tv;
		if (fmt->swapped) {
			tv.tv_sec = (time_t)sec;
			tv.tv_usec = (suseconds_t)frac;
		} else {
			tv.tv_sec = (int32_t)sec;
			tv.tv_usec = (int32_t)frac;
		}
		if (fmt->nsec)
			tv.tv_usec = tv.tv_usec / 1000;
		uint32_t caplen = raw_u32(h + 8, fmt->swapped), len = raw_u32(h + 12, fmt->swapped);
		fn(arg, fmt->dlt, tv_us(&tv), h + 16, caplen, len);
		off += 16 + (size_t)caplen;
	}
}

/* read(2) until n bytes, the end of the file or an error (*bad). */
static size_t raw_read(int fd, uint8_t *buf, size_t n, bool *bad)
{
	size_t have = 0;
	*bad = false;
	while (have < n) {
		ssize_t k = read(fd, buf + have, n - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			*bad = k < 0;
			break;
		}
		have += (size_t)k;
	}
	return have;
}

int rw_pcap_raw_begin(struct rw_pcap_raw_file *r, const char *path, const char *bpf)
{
	int fd = raw_open(path, bpf, &r->fmt);
	if (fd < 0)
		return -1;
	r->fd = fd;
	r->records = 0;
	r->offset = 24;
	r->next_progress = 4096;
	r->rest = false;
	struct stat st;
	rw_progress_start(&r->pg, path,
	                  fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
	return 0;
}

bool rw_pcap_raw_block(struct rw_pcap_raw_file *r, uint8_t *buf, size_t room, size_t n_carry,
                       size_t *whole, size_t *left)
{
	bool bad, odd;
	size_t have = n_carry + raw_read(r->fd, buf + n_carry, room - n_carry, &bad);
	*whole = raw_whole(&r->fmt, buf, have, &r->records, &odd);
	*left = have - *whole;
	r->offset += *whole;
	if (r->records >= r->next_progress) {
		rw_progress_update(&r->pg, r->offset);
		r->next_progress = r->records + 4096;
	}
	bool end = have < room; /* the end of the file, or an error */
	if (odd || bad || (end && *left)) {
		r->rest = true;
		return false;
	}
	return !end;
}

void rw_pcap_raw_end(struct rw_pcap_raw_file *r)
{
	rw_progress_end(&r->pg);
	close(r->fd);
}

struct skip_ctx {
	rw_packet_fn fn;
	void *arg;
	uint64_t left;
};

static void skip_packet(void *arg, int dlt, uint64_t ts_us, const uint8_t *p, size_t caplen,
                        size_t wirelen)
{
	struct skip_ctx *sc = arg;
	if (sc->left) {
		sc->left--;
		return;
	}
	sc->fn(sc->arg, dlt, ts_us, p, caplen, wirelen);
}

int rw_pcap_read_skip(const char *path, const char *bpf, uint64_t skip, rw_packet_fn fn, void *arg,
                      bool *truncated, char *err, size_t errlen)
{
	struct skip_ctx sc = {fn, arg, skip};
	return rw_pcap_read(path, bpf, skip_packet, &sc, truncated, err, errlen);
}

/* A gzip or zstd capture: libpcap reads the decompressed stream; a damaged
 * stream ends it early, reported as a truncated file with the reason. */
static int replay_compressed(FILE *zf, const char *path, enum rw_compression kind, const char *bpf,
                             rw_packet_fn fn, void *arg, bool *truncated, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(zf, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!p) {
		const char *why = rw_compressed_error(zf);
		snprintf(err, errlen, "%s: %s-compressed, %s", path, rw_compression_name(kind),
		         why[0]    ? why
		         : ebuf[0] ? ebuf
		                   : "not a capture inside");
		fclose(zf);
		return -1;
	}
	return replay_handle(p, path, bpf, fn, arg, truncated, err, errlen);
}

void rw_capture_packet_cb(void *arg, int dlt, uint64_t ts_us, const uint8_t *p, size_t caplen,
                          size_t wirelen)
{
	rw_capture_packet(arg, dlt, ts_us, p, caplen, wirelen);
}

/* A classic pcap file's records handed over where they were read
 * (rw_pcap_raw_block), a block at a time: libpcap would copy each packet
 * out of its stream's buffer first. What libpcap must read (r.rest) it
 * reads, from there on. */
#define RAW_BLOCK_BYTES (1024 * 1024) /* at least twice the largest record */

int rw_pcap_read_fast(const char *path, const char *bpf, rw_packet_fn fn, void *arg,
                      bool *truncated, char *err, size_t errlen)
{
	struct rw_pcap_raw_file r;
	if (rw_pcap_raw_begin(&r, path, bpf) < 0)
		return rw_pcap_read(path, bpf, fn, arg, truncated, err, errlen);
	uint8_t *buf = malloc(RAW_BLOCK_BYTES);
	if (!buf) {
		rw_pcap_raw_end(&r);
		return rw_pcap_read(path, bpf, fn, arg, truncated, err, errlen);
	}
	*truncated = false;
	if (errlen)
		err[0] = '\0';
	size_t n_carry = 0;
	for (bool more = true; more;) {
		size_t whole;
		more = rw_pcap_raw_block(&r, buf, RAW_BLOCK_BYTES, n_carry, &whole, &n_carry);
		rw_pcap_raw_each(&r.fmt, buf, whole, fn, arg);
		memmove(buf, buf + whole, n_carry);
	}
	rw_pcap_raw_end(&r);
	free(buf);
	if (!r.rest)
		return 0;
	return rw_pcap_read_skip(path, bpf, r.records, fn, arg, truncated, err, errlen);
}

int rw_pcap_replay(const char *path, const char *bpf, struct rw_capture *c, bool *truncated,
                   char *err, size_t errlen)
{
	return rw_pcap_read_fast(path, bpf, rw_capture_packet_cb, c, truncated, err, errlen);
}

int rw_pcap_read(const char *path, const char *bpf, rw_packet_fn fn, void *arg, bool *truncated,
                 char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	*truncated = false;
	if (errlen)
		err[0] = '\0';
	if (strcmp(path, "-") != 0) {
		enum rw_compression kind;
		FILE *zf = rw_compressed_open(path, &kind, err, errlen);
		if (zf)
			return replay_compressed(zf, path, kind, bpf, fn, arg, truncated, err,
			                         errlen);
		if (kind != RW_COMP_NONE)
			return -1;
	}
	/* Microseconds whatever the file holds: nanosecond pcaps and pcapng
	 * interfaces with other resolutions are scaled by libpcap. A file is
	 * opened here, not by libpcap, to give its stream a large buffer:
	 * stdio's default (the block size, 4 KiB) costs a read(2) per 4 KiB,
	 * a quarter of a bulk capture's replay time on a virtual machine. */
	pcap_t *p = NULL;
	FILE *fp = strcmp(path, "-") != 0 ? fopen(path, "rb") : NULL;
	if (fp) {
		setvbuf(fp, NULL, _IOFBF, READ_BUFFER_BYTES);
		p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
		if (!p)
			fclose(fp);
	} else {
		p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO,
		                                            ebuf);
	}
	if (!p) {
		/* libpcap's words for these two are about a dump file's bytes. */
		struct stat sb;
		if (strcmp(path, "-") != 0 && stat(path, &sb) != 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		else if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			snprintf(err, errlen, "%s: is a directory, not a capture file", path);
		else if (strcmp(path, "-") != 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		         sb.st_size == 0)
			snprintf(err, errlen, "%s: is empty (0 bytes), not a capture file", path);
		else
			snprintf(err, errlen, "%s: %s", path, ebuf[0] ? ebuf : "cannot open");
		return -1;
	}
	return replay_handle(p, path, bpf, fn, arg, truncated, err, errlen);
}

int rw_pcap_replay_fp(FILE *fp, const char *name, const char *bpf, struct rw_capture *c,
                      bool *truncated, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	*truncated = false;
	if (errlen)
		err[0] = '\0';
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
	if (!p) {
		snprintf(err, errlen, "%s: %s", name, ebuf[0] ? ebuf : "cannot open");
		fclose(fp);
		return -1;
	}
	return replay_handle(p, name, bpf, rw_capture_packet_cb, c, truncated, err, errlen);
}

struct live_ctx {
	struct rw_capture *c;
	int dlt;
	uint64_t last_ts;
};

static void live_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct live_ctx *lc = (struct live_ctx *)user;
	lc->last_ts = tv_us(&h->ts);
	rw_capture_packet(lc->c, lc->dlt, lc->last_ts, data, h->caplen, h->len);
}

static uint64_t wall_us(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return tv_us(&tv);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * US_PER_S + (uint64_t)ts.tv_nsec / 1000u;
}

static int live_error(pcap_t *p, int rc, const char *iface, const char *what, char *err,
                      size_t errlen)
{
	const char *detail = pcap_geterr(p);
	/* pcap_activate leaves the message empty for some codes. */
	if (!detail || !detail[0])
		detail = pcap_statustostr(rc);
	snprintf(err, errlen, "%s: %s: %s", iface, what, detail);
	return -1;
}

int rw_pcap_live(const char *iface, const char *bpf, int snaplen, bool promisc,
                 struct rw_capture *c, volatile int *stop, int (*on_ready)(const char *iface),
                 char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	if (errlen)
		err[0] = '\0';
	pcap_t *p = pcap_create(iface, ebuf);
	if (!p) {
		snprintf(err, errlen, "%s: %s", iface, ebuf[0] ? ebuf : "cannot open");
		return -1;
	}
	int rc = 0;
	if ((rc = pcap_set_snaplen(p, snaplen > 0 ? snaplen : 262144)) != 0 ||
	    (rc = pcap_set_promisc(p, promisc ? 1 : 0)) != 0 ||
	    (rc = pcap_set_timeout(p, LIVE_TIMEOUT_MS)) != 0 ||
	    (rc = pcap_set_buffer_size(p, LIVE_BUFFER_BYTES)) != 0 ||
	    (rc = pcap_set_immediate_mode(p, 0)) != 0) {
		live_error(p, rc, iface, "cannot configure", err, errlen);
		pcap_close(p);
		return -1;
	}
	rc = pcap_activate(p);
	if (rc < 0) {
		live_error(p, rc, iface, "cannot start capture", err, errlen);
		pcap_close(p);
		return -1;
	}
	/* rc > 0 is a warning (e.g. promiscuous mode refused): capture anyway. */
	if (set_filter(p, bpf, iface, err, errlen) < 0) {
		pcap_close(p);
		return -1;
	}
	/* libpcap's own read timeout does not make pcap_dispatch return on an
	 * idle Linux interface (it polls again): wait here instead, so a stop
	 * request and idle expiry are seen within LIVE_TIMEOUT_MS. */
	if (pcap_setnonblock(p, 1, ebuf) < 0) {
		snprintf(err, errlen, "%s: cannot set non-blocking mode: %s", iface, ebuf);
		pcap_close(p);
		return -1;
	}
	if (on_ready && on_ready(iface) < 0) {
		pcap_close(p);
		return -1;
	}
	int fd = pcap_get_selectable_fd(p);
	struct live_ctx lc = {c, pcap_datalink(p), 0};
	uint64_t last_expire = wall_us();
	int status = 0;
	while (!*stop) {
		if (fd >= 0) {
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			if (poll(&pfd, 1, LIVE_TIMEOUT_MS) < 0 && errno != EINTR) {
				snprintf(err, errlen, "%s: poll: %s", iface, strerror(errno));
				status = -1;
				break;
			}
		}
		rc = pcap_dispatch(p, -1, live_packet, (u_char *)&lc);
		if (rc == PCAP_ERROR_BREAK)
			break;
		if (rc < 0) {
			live_error(p, rc, iface, "capture failed", err, errlen);
			status = -1;
			break;
		}
		if (rc == 0 && fd < 0) {
			/* No descriptor to wait on (not Linux/BSD): sleep a little. */
			struct timespec ts = {0, 50 * 1000000L};
			nanosleep(&ts, NULL);
		}
		/* A quiet link still has connections to expire: the flow table
		 * only sees time pass through packets, so give it the clock. */
		uint64_t now = wall_us();
		if (now < last_expire) /* the clock was set back */
			last_expire = now;
		if (now - last_expire >= US_PER_S) {
			rw_capture_expire(c, now > lc.last_ts ? now : lc.last_ts);
			last_expire = now;
		}
	}
	/* Packets the kernel already holds belong to the capture: read them
	 * before reporting, or a stop right after a burst loses its end. In
	 * block mode the kernel hands a block over only when it is full or
	 * when its timer (LIVE_TIMEOUT_MS) retires it, so a read right now
	 * misses the block still open: wait for that timer (twice its period,
	 * for slack) and read what it brings. */
	uint64_t drain_end = mono_us() + 2ull * LIVE_TIMEOUT_MS * 1000ull;
	for (int i = 0; status == 0 && i < 1000; i++) {
		if (fd >= 0) {
			uint64_t now = mono_us();
			if (now >= drain_end)
				break;
			struct pollfd pfd = {.fd = fd, .events = POLLIN};
			int pr = poll(&pfd, 1, (int)((drain_end - now + 999) / 1000));
			if (pr == 0 || (pr < 0 && errno != EINTR))
				break;
		}
		rc = pcap_dispatch(p, -1, live_packet, (u_char *)&lc);
		if (rc < 0 || (rc == 0 && fd < 0))
			break;
	}
	struct pcap_stat ps;
	if (pcap_stats(p, &ps) == 0 && ps.ps_drop > 0)
		rw_capture_note_drops(c, ps.ps_drop);
	rw_capture_finish(c);
	pcap_close(p);
	return status;
}
