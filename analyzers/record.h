/* The connection record: everything the analyzers learned about one
 * connection, and the verdict. Output formatters read only this. */
#ifndef RW_RECORD_H
#define RW_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rw_types.h"
#include "tls_cert.h"
#include "tls_hello.h"
#include "x224.h"

#define RW_MAX_EVIDENCE 12
#define RW_EVIDENCE_LEN 160

struct rw_endpoint {
	int family;       /* AF_INET or AF_INET6 (numeric: 2 or 10 on Linux) */
	uint8_t addr[16]; /* network order; IPv4 in the first 4 bytes */
	uint16_t port;    /* host order */
};

/* One side's TLS alert, the first one seen from that side. */
struct rw_alert {
	bool seen;
	bool encrypted; /* sent after ChangeCipherSpec: level/description unknown */
	uint8_t level;  /* 1 warning, 2 fatal */
	uint8_t description;
	bool inferred;       /* TLS 1.3: an encrypted record of alert size, not a Finished */
	enum rw_phase phase; /* phase when it was sent */
	uint64_t ts_us;
};

/* Per-direction TCP facts that only a capture can see. */
struct rw_tcp_stats {
	uint32_t packets;
	uint32_t retransmits;               /* segments that repeat already-seen bytes */
	uint32_t large_unacked_retransmits; /* full-size segments retransmitted and never ACKed */
	uint16_t max_segment;               /* largest payload seen */
	uint32_t gaps;                      /* holes the capture never filled */
	uint64_t gap_bytes;
	/* Of those, the holes the capture lost for certain: the receiver
	 * acknowledged the bytes, or the snapshot length cut them. Never loss
	 * on the network. */
	uint32_t capture_gaps;
	uint64_t capture_gap_bytes;
	uint64_t retransmitted_bytes; /* bytes sent again (retransmissions, overlaps) */
	uint32_t max_retransmit;      /* largest retransmitted segment's payload */
	uint16_t mss;                 /* full-size payload (rw_reasm_full_size), 0 unknown */
	bool mss_from_syn;            /* mss came from the handshake's MSS options */
};

/* The inline proxy's socket to one side (TCP_INFO, SIOCOUTQ), read when its
 * timer gave up waiting or the kernel gave up on that side. */
struct rw_peer_tcp {
	bool known;
	uint64_t unacked_bytes; /* sent to that side, not acknowledged */
	uint64_t unsent_bytes;  /* queued for it, not sent: its receive window is closed */
	uint32_t last_ack_ms;   /* since that side's last ACK (keepalive answers count) */
	uint32_t silent_ms;     /* since that side's last byte of data */
	uint32_t retransmits;   /* retransmissions of the oldest unacknowledged segment */
	uint32_t probes;        /* keepalive or zero-window probes unanswered */
	int error;              /* the socket's error (ETIMEDOUT...), 0 none */
	char error_name[16];    /* "ETIMEDOUT" */
};

/* What the proxy's sockets tell about a side that stopped: the side the
 * phase timer waited on (the one expected to speak next), or the side whose
 * leg the kernel gave up on (keepalive or TCP_USER_TIMEOUT). */
enum rw_proxy_stop {
	RW_PROXY_STOP_NONE = 0,
	RW_PROXY_STOP_WAITED, /* a phase or idle timer fired */
	RW_PROXY_STOP_LOST,   /* the leg's socket failed: no ACK from that side */
};

#define RW_MAX_ALTERNATIVES 4

/* Where a fact a verdict may rest on was seen, so that an evidence line can
 * point at it: the frame (replay and capture: its file and its number there,
 * from 1 as Wireshark counts) or, in the proxy, the byte offset in that
 * side's stream of the read that carried it; and when. */
struct rw_mark {
	uint64_t ts_us;
	const char *file; /* not owned; NULL when not from a file */
	uint64_t frame;   /* 0: no frame (the proxy) */
	uint64_t offset;  /* bytes that side sent before it */
	uint8_t dir;      /* enum rw_dir of the side that sent it */
};
#define RW_MAX_MARKS 16

struct rw_verdict {
	enum rw_cause cause;
	enum rw_side closed_by;
	enum rw_close_kind close_kind;
	enum rw_phase phase;
	size_t n_evidence;
	char evidence[RW_MAX_EVIDENCE][RW_EVIDENCE_LEN];
	/* The mark (rw_record.marks) each evidence line rests on; -1: none. */
	int8_t evidence_mark[RW_MAX_EVIDENCE];
	const char *remediation;
	enum rw_confidence confidence;
	/* Other causes the same wire fits, most likely first, and what would
	 * tell them apart (one line; NULL when there are none). */
	size_t n_alternatives;
	enum rw_cause alternatives[RW_MAX_ALTERNATIVES];
	const char *tell_apart;
};

/* Which directions of the connection the capture held (the proxy sees both). */
enum rw_directions {
	RW_DIRS_BOTH = 0,
	RW_DIRS_CLIENT_ONLY, /* no packet of the server: a SPAN of one side, asymmetric routing */
	RW_DIRS_SERVER_ONLY,
};

/* Why the front end stopped following the connection. */
enum rw_end_reason {
	RW_END_CLOSED = 0, /* FIN/RST seen both ways, or the proxy closed it */
	RW_END_INPUT,      /* the capture ended */
	RW_END_IDLE,       /* no packet for the idle timeout */
	RW_END_EVICTED,    /* flow table full: reported early */
};

struct rw_record {
	uint64_t id; /* caller-assigned sequence number */
	/* Capture files: where the connection's first and last packets are
	 * (frame numbers count from 1 in each file, as Wireshark's do); NULL
	 * and 0 when it did not come from a file. Not owned. */
	const char *file_first, *file_last;
	uint64_t frame_first, frame_last;
	uint64_t ts_open_us;  /* first event (SYN or first packet) */
	uint64_t ts_close_us; /* last event */
	struct rw_endpoint client, server;
	bool saw_syn; /* capture started before the connection */
	bool saw_synack;
	bool midstream;    /* capture began after the TCP handshake */
	uint64_t bytes[2]; /* payload bytes, indexed by rw_dir */
	/* When each phase began (0 = never reached), relative order = timeline. */
	uint64_t phase_ts_us[RW_PHASE_COUNT];
	bool phase_reached[RW_PHASE_COUNT];

	/* Close facts, as events reported them. */
	bool fin_seen[2];
	uint64_t fin_ts_us[2];
	bool rst_seen[2];
	uint64_t rst_ts_us[2];
	int rst_ttl[2]; /* -1 unknown */
	/* A side's TTL baseline: the range of TTLs of its packets other than
	 * SYN, SYN-ACK and RST (the host's own stack, even behind a SYN proxy),
	 * and apart the TTL of its SYN or SYN-ACK; -1 unknown. */
	int ttl_lo[2], ttl_hi[2];
	int syn_ttl[2];
	/* The first FIN or RST of the connection: who closed, how, and when. */
	bool closed;
	enum rw_dir first_close_dir;
	enum rw_close_kind first_close_kind;
	uint64_t first_close_ts_us;
	enum rw_phase first_close_phase;
	int connect_failed; /* 0 or an rw_close_kind (REFUSED/UNREACHABLE/TIMEOUT) */
	bool timed_out;
	enum rw_phase timeout_phase;
	uint64_t timeout_ts_us;
	struct rw_tcp_stats tcp[2];

	/* X.224 / RDP negotiation. */
	bool cr_seen, cc_seen, dr_seen[2];
	uint64_t cr_ts_us, cc_ts_us;
	enum rw_x224_token_kind token_kind;
	char *token; /* owned copy (raw bytes, NUL-terminated) */
	size_t token_len;
	bool neg_req_present;
	uint8_t neg_req_flags;
	uint32_t requested_protocols; /* 0 = standard RDP security */
	bool neg_rsp_present;
	uint8_t neg_rsp_flags;
	uint32_t selected_protocol;
	bool neg_failure_present;
	uint32_t neg_failure_code;
	bool x224_error[2];           /* a TPKT/X.224 packet did not decode */
	int x224_status[2];           /* its rw_status */
	bool server_tls_before_cc;    /* server answered the CR with TLS bytes */
	bool client_tls_without_x224; /* client started with TLS, no X.224 CR */
	uint64_t bytes_after_cc[2];   /* payload after the Connection Confirm */
	bool not_tpkt[2];             /* first bytes of that direction were not TPKT */
	uint8_t first_bytes[2][8];    /* first bytes of each direction, for evidence */
	size_t first_bytes_len[2];

	/* TLS. */
	bool tls_seen[2]; /* a TLS record arrived from that side */
	bool sslv2_client_hello;
	bool client_hello_seen, server_hello_seen, certificate_seen;
	uint64_t ch_ts_us; /* when the ClientHello arrived */
	uint64_t sh_ts_us; /* when the ServerHello arrived */
	struct rw_tls_client_hello ch;
	struct rw_tls_server_hello sh;
	struct rw_cert cert; /* leaf (TLS <= 1.2 only) */
	bool cert_parse_failed;
	uint64_t cert_ts_us;    /* when the Certificate message arrived */
	uint32_t client_hellos; /* 2 after a HelloRetryRequest */
	bool hrr_seen;
	bool tls13;
	uint32_t client_first_encrypted_len; /* TLS 1.3: Finished or an encrypted alert */
	size_t cert_chain_len;
	bool ccs_seen[2];
	uint32_t encrypted_records[2]; /* records after CCS / TLS 1.3 encrypted */
	uint32_t handshake_records[2];
	bool tls_established;
	uint64_t tls_done_ts_us;
	struct rw_alert alert[2]; /* indexed by rw_dir of the sender */
	bool tls_framing_error[2];
	int tls_framing_status[2]; /* rw_status of the first framing error */
	uint64_t tls_framing_ts_us[2];
	/* No JA3/JA3S/JA4 here: they are functions of ch and sh, hashed where
	 * the record is formatted (output/record_json.c), which is off the
	 * capture thread and the proxy's event loop. */

	/* NLA / RDP. */
	uint32_t nla_flights[2]; /* direction changes counted as flights */
	uint32_t rdp_flights[2];
	uint64_t rdp_bytes[2];
	uint32_t server_last_flight_records; /* records in the server's latest NLA/RDP flight */
	uint32_t server_last_record_len;
	/* The host's clock, read by a front end that decrypts CredSSP (the
	 * probe, inspection) from the NTLM CHALLENGE's MsvAvTimestamp, minus
	 * that front end's own clock at the time: Kerberos refuses more than
	 * 5 minutes either way. */
	bool host_clock_seen;
	int64_t host_clock_offset_us;

	/* Inspection with the host's key (analyzers/inspect.c): what the
	 * plaintext inside TLS said. Codes and message types only: never a
	 * credential, a hash, a ticket or a key. */
	struct rw_inspect_facts {
		bool inspected; /* the proxy terminated TLS with the host's key */
		bool credssp;   /* a TSRequest was decoded */
		uint32_t tsrequests[2];
		uint32_t credssp_version; /* the server's TSRequest.version */
		uint8_t ntlm_seen[2];     /* bit k: NTLM message type k (1..3) from that side */
		bool kerberos;            /* a Kerberos token was exchanged */
		bool auth_then_silence; /* the client's NTLM AUTHENTICATE got no server TSRequest */
		bool credentials_sent;  /* the client's TSRequest with authInfo (never kept) */
		bool has_ntstatus;      /* the server's TSRequest.errorCode */
		uint32_t ntstatus;
		uint64_t ntstatus_ts_us;
		bool has_krb_error; /* a KRB-ERROR in the server's token */
		int32_t krb_error;  /* -1: cut off before its error-code */
		bool has_krb_stime;
		int64_t krb_stime_us;     /* the server's time in it (us since 1970) */
		uint64_t krb_error_ts_us; /* when it arrived (event clock) */
		bool has_early_auth;      /* HYBRID_EX Early User Authorization Result */
		uint32_t early_auth;
		bool rdp_seen[2];    /* TPKT (MCS) after CredSSP from that side */
		bool demand_active;  /* the server's Demand Active PDU */
		bool has_error_info; /* the server's Set Error Info PDU (the last non-zero one) */
		uint32_t error_info;
		uint64_t error_info_ts_us;
		bool logon_seen; /* Save Session Info: a logon notification */
		uint32_t logon_info_type;
		bool has_logon_error; /* ... with Logon Errors Info */
		uint32_t logon_error_type, logon_error_data;
		bool ultimatum[2]; /* MCS Disconnect Provider Ultimatum from that side */
		uint8_t ultimatum_reason[2];
		int decode_error[2]; /* rw_status of the first undecodable bytes, 0 none */
	} inspect;

	/* A scan_or_flood summary (capture/scan_tally.c): the connection
	 * attempts it stands for, never one connection. */
	struct {
		bool on;
		bool by_target; /* counted per target: many sources (a spoofed flood) */
		uint32_t attempts, refused, unanswered, half_open, client_reset;
		uint32_t others; /* about how many distinct targets (sources when by_target) */
		uint32_t ports;  /* distinct analysed ports */
	} scan;

	/* One-direction captures: what the seen side's sequence and acknowledgement
	 * numbers told about the side never captured (capture only). */
	enum rw_directions directions;
	bool inferred_syn[2];           /* its SYN / SYN-ACK, from the peer's first ACK */
	uint64_t inferred_bytes[2];     /* bytes the peer acknowledged, content unknown */
	bool inferred_fin[2];           /* an ACK one past its last byte */
	bool inferred_alert[2];         /* its last bytes were of a TLS alert's size, then FIN */
	bool inferred_rst[2];           /* the seen side stopped retransmitting: its peer's RST */
	uint64_t inferred_rst_quiet_us; /* how long the seen side stayed silent after */
	bool cc_inferred;               /* the server answered the CR (bytes acknowledged) */
	bool cr_inferred;               /* the client's first bytes, unseen, taken as its CR */
	uint64_t inferred_answer_len;   /* client-only: the server's first stretch after the
	                                   ClientHello */
	bool client_hello_inferred;     /* server-only: the client's bytes after a CC that
	                                   selected TLS, taken as its ClientHello (ch_ts_us) */
	uint64_t cc_inferred_ts_us;
	uint64_t cc_inferred_len;    /* client-only: the bytes of that first answer */
	uint64_t last_data_ts_us[2]; /* each side's latest bytes (seen or inferred) */

	/* Facts the caller (proxy, capture config) adds. */
	enum rw_end_reason end_reason;
	bool proxy; /* record made by the inline proxy */
	uint64_t proxy_connect_ms;
	bool has_original_dst;
	struct rw_endpoint original_dst;
	enum rw_proxy_stop proxy_stop;
	enum rw_dir proxy_side;          /* the side waited on or lost: RW_C2S = client */
	struct rw_peer_tcp proxy_tcp[2]; /* each side's leg, indexed by its rw_dir */
	uint64_t proxy_prompt_wait_ms;   /* a silent client that acknowledged everything
	                                    was waited for this much past the phase timeout */
	/* The host certificate's expected SHA-256 (lower-case hex), "" = none:
	 * another certificate means something re-originates TLS. */
	char expected_cert_sha256[65];

	/* The session's notable events (CR, CC, ClientHello, certificate,
	 * alerts, FIN, RST, ...) in order; a full table keeps its last slot for
	 * the latest, so that the close is always there. */
	struct rw_mark marks[RW_MAX_MARKS];
	size_t n_marks;

	struct rw_verdict verdict;
};

/* verdict.c. What a record reports, so that its fields agree with its verdict: the
 * timeline holds the phases entered before the connection closed (a peer's
 * bytes after the other side's FIN do not move it on), and TLS counts as
 * established once the handshake finished and the client went on to send
 * data in it (never when the handshake itself is what failed). */
bool rw_record_shows_phase(const struct rw_record *rec, enum rw_phase p);
bool rw_record_tls_established(const struct rw_record *rec);

#endif
