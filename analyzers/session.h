/* A session consumes the flow events of one TCP connection (from the proxy,
 * a capture or a probe) and produces its record and verdict. It never reads
 * a clock, a socket or a file: timestamps come in the events. Bytes may be
 * split anywhere; the result does not depend on the split. */
#ifndef RW_SESSION_H
#define RW_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct rw_session;

struct rw_session_config {
	/* Largest handshake message buffered (certificate chains); beyond it the
	 * message is skipped and reported. 0 = default (64 KiB). */
	size_t max_handshake_msg;
	/* Reference time for certificate expiry when the event timestamps are
	 * the capture's own (0 = use the timestamp of the Certificate message). */
	int64_t now_override;
	/* The host certificate's expected SHA-256, lower-case hex ("" = none). */
	char expected_cert_sha256[65];
};

struct rw_session *rw_session_new(const struct rw_session_config *cfg);
void rw_session_free(struct rw_session *s);
/* An idle session kept small (the proxy's idle connections): pack returns
 * a malloc'd image of *len bytes and frees s (NULL, s untouched, when out of
 * memory); unpack gives the same session back from it (NULL when out of
 * memory; the image is the caller's to free). */
void *rw_session_pack(struct rw_session *s, size_t *len);
struct rw_session *rw_session_unpack(const void *img, size_t len);

/* Sessions' memory: page-aligned slots in mmap'd regions, shared by all
 * threads (a session may be freed or packed in another thread than the one
 * that made it). A freed session's slot is zeroed and kept for the next
 * one (no more are kept than there were live sessions at the peak). A
 * packed session's slot goes back to the kernel (in batches of 64, unless
 * fewer than 32 are kept), and with it the kept ones beyond as many as
 * there are live sessions (64 at least): packed sessions cost no memory but
 * their image, whatever the heap holds. */
struct rw_session_pool_stats {
	size_t session_bytes;   /* sizeof(struct rw_session) */
	size_t slot_bytes;      /* whole pages (0 before the first session) */
	size_t live;            /* sessions allocated and not freed or packed */
	size_t warm;            /* free slots kept resident (zeroed; in replay, when taken) */
	size_t dirty;           /* packed sessions' slots not yet given back */
	size_t clean;           /* free slots whose pages were given back (or never used) */
	size_t mapped_bytes;    /* address space the slots take */
	uint64_t reused;        /* sessions made in a kept slot */
	uint64_t fresh;         /* sessions made in a clean slot (its pages fault in) */
	uint64_t released;      /* slots given back to the kernel */
	uint64_t release_calls; /* madvise calls that did it (one per run of adjacent slots) */
};
void rw_session_pool_stats(struct rw_session_pool_stats *st);
/* Gives the pages of every free slot back to the kernel, the warm ones too
 * (for a caller that knows no session will come for a while). */
void rw_session_pool_trim(void);
/* For replay, which makes sessions by the thousand: the pool's new regions
 * come with their pages faulted in at once (on a huge page when the kernel
 * gives one) instead of one page fault per page of each new slot, and freed
 * and packed sessions' slots are all kept, each zeroed by the thread that
 * makes the next session in it rather than by the one that frees it. */
void rw_session_pool_prefault(bool on);
/* Anonymous memory of that many bytes, every page faulted in now (a 2 MiB
 * region on a huge page when the kernel gives one); NULL when out of
 * memory. Never unmapped by the pool: the caller munmaps it. */
void *rw_map_prefaulted(size_t bytes);

/* Events. */
/* The frame the next events come from (replay and capture; the proxy has
 * none and its marks carry stream offsets). file is not copied. */
void rw_session_at(struct rw_session *s, const char *file, uint64_t frame);
void rw_session_open(struct rw_session *s, uint64_t ts_us, const struct rw_endpoint *client,
                     const struct rw_endpoint *server);
/* The capture saw (or did not see) the TCP handshake. */
void rw_session_syn(struct rw_session *s, enum rw_dir dir, uint64_t ts_us);
void rw_session_data(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, const uint8_t *p,
                     size_t n);
/* A hole of `missing` bytes the capture will never fill. */
void rw_session_gap(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, uint64_t missing);
void rw_session_fin(struct rw_session *s, enum rw_dir dir, uint64_t ts_us);
/* ttl: IP TTL / hop limit of the RST, -1 when unknown (proxy). */
void rw_session_rst(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, int ttl);
/* Per-packet IP TTL / hop limit of a non-RST packet (capture only). */
/* The IP TTL of a packet of that side: rw_session_syn_ttl for its SYN or
 * SYN-ACK, rw_session_ttl for the others (not RST: rw_session_rst). */
void rw_session_ttl(struct rw_session *s, enum rw_dir dir, int ttl);
/* and rw_session_data_ttl as well for one that carries data: once a side
 * sent data, those packets alone are its TTL baseline (ttl_lo..ttl_hi). */
void rw_session_data_ttl(struct rw_session *s, enum rw_dir dir, int ttl);
void rw_session_syn_ttl(struct rw_session *s, enum rw_dir dir, int ttl);
/* What the seen side's acknowledgements tell about a side the capture never
 * held (one-direction captures): its SYN, n bytes of unknown content sent
 * before ts_us, a TLS alert-sized last stretch of n bytes, or its FIN. A FIN
 * may be inferred after later events (at the end of the flow): it then
 * counts as the first close when it came before the one recorded. */
enum rw_infer { RW_INFER_SYN, RW_INFER_DATA, RW_INFER_ALERT, RW_INFER_FIN };
void rw_session_inferred(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, enum rw_infer what,
                         uint64_t n);
/* The seen side stopped retransmitting at ts_us and stayed silent for
 * quiet_us while the capture went on: its peer, never captured, reset. */
void rw_session_inferred_reset(struct rw_session *s, enum rw_dir dir, uint64_t ts_us,
                               uint64_t quiet_us);
void rw_session_set_directions(struct rw_session *s, enum rw_directions d);
/* kind: RW_CLOSE_REFUSED, RW_CLOSE_UNREACHABLE or RW_CLOSE_TIMEOUT. */
void rw_session_connect_failed(struct rw_session *s, uint64_t ts_us, enum rw_close_kind kind);
/* The front end gave up waiting (idle timeout) in the current phase. */
void rw_session_timeout(struct rw_session *s, uint64_t ts_us);
void rw_session_tcp_stats(struct rw_session *s, enum rw_dir dir, const struct rw_tcp_stats *st);
/* A front end that decrypts CredSSP read the host's clock (microseconds
 * since 1970, from the NTLM CHALLENGE's MsvAvTimestamp) in a message that
 * arrived at ts_us, on the same clock as the event timestamps. */
void rw_session_host_clock(struct rw_session *s, uint64_t ts_us, int64_t host_unix_us);
/* End of the connection (or of the capture): computes the verdict. */
void rw_session_close(struct rw_session *s, uint64_t ts_us);
/* The same without the verdict, which is a function of the record alone:
 * whoever the record is handed to decides it (rw_verdict_decide) before
 * using it, possibly in another thread (replay -j 1's formatting thread). */
void rw_session_close_undecided(struct rw_session *s, uint64_t ts_us);

/* False once payload no longer needs inspecting (the front end may then
 * only report byte counts with rw_session_count). A front end checks it
 * between its reads or segments; the bytes of one rw_session_data call
 * after the point where inspecting ended are counted as rw_session_count
 * would count them, so the record does not depend on where the front end
 * checked. */
bool rw_session_inspecting(const struct rw_session *s);
void rw_session_count(struct rw_session *s, enum rw_dir dir, uint64_t ts_us, size_t n);

enum rw_phase rw_session_phase(const struct rw_session *s);
struct rw_record *rw_session_record(struct rw_session *s);

/* verdict.c: fill rec->verdict from the facts in rec. Pure. */
void rw_verdict_decide(struct rw_record *rec);
const char *rw_cause_remediation(enum rw_cause c);

#endif
