/* The set of open record outputs — files and stdout, the local syslog,
 * syslog streams (sender.h) and Kafka (kafka.h) — and the formatted record they all take. The
 * set belongs to the output thread (outputs.c): it runs on that thread's
 * event loop and is never touched from anywhere else. */
#ifndef RW_OUTSET_H
#define RW_OUTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "record.h"
#include "syslog5424.h"

/* The formats a record is rendered in, one slot each. */
enum rw_slot {
	RW_SLOT_TEXT,      /* files: the text report */
	RW_SLOT_TEXT_TTY,  /* stdout on a terminal that wants colour */
	RW_SLOT_JSON,      /* files: a JSON line */
	RW_SLOT_JSON_FLAT, /* the same, json_style=flat */
	RW_SLOT_SIEM_JSON, /* syslog and streams: RFC 5424 messages */
	RW_SLOT_SIEM_JSON_FLAT,
	RW_SLOT_SIEM_RFC5424,
	RW_SLOT_SIEM_CEF,
	RW_SLOT_COUNT,
};

/* One record in every format the outputs need, formatted by the thread
 * that made the record (so that the output thread needs no copy of it). */
struct rw_formatted {
	uint64_t conn_id;
	char id[RW_RECORD_ID_HEX + 1]; /* the record id (kafka://'s message key) */
	bool warning;                  /* not a normal close: syslog severity */
	struct rw_buf buf;             /* the slots, one after the other */
	size_t off[RW_SLOT_COUNT];     /* where each slot starts in buf */
	size_t len[RW_SLOT_COUNT];     /* 0: not formatted */
	size_t sd_off[RW_SLOT_COUNT];  /* SIEM slots: structured data and MSG, */
	size_t msg_off[RW_SLOT_COUNT]; /*   relative to off (for syslog(3)) */
};

/* Whether text on stdout is coloured (cli/colour.c decides: --color,
 * NO_COLOR, a terminal); off unless set. Files are never coloured. */
enum { RW_COLOUR_AUTO, RW_COLOUR_ALWAYS, RW_COLOUR_NEVER };
void rw_outset_set_colour(bool on);

/* The slots cfg's outputs use (a bit mask of 1 << enum rw_slot). */
unsigned rw_outset_slots(const struct rw_proxy_config *cfg);
/* Formats rec into f for the slots in mask. f->buf is the caller's:
 * rw_buf_init'ed, or kept from an earlier record (emptied here, its
 * allocation reused); rw_buf_free(&f->buf) after, and on failure it is
 * freed here. host and id go into the JSON and SIEM formats, pid
 * into syslog's PROCID. 0 or -1 (out of memory). */
int rw_format_record(const struct rw_record *rec, unsigned mask, const char *host, long pid,
                     const char *id, struct rw_formatted *f);

struct rw_outset;
/* Opens every output of cfg (files 0640 in append mode, spools, TLS
 * contexts; stream connections start on base). NULL with a message. */
struct rw_outset *rw_outset_open(const struct rw_proxy_config *cfg, struct event_base *base,
                                 struct rw_log *log, char *err, size_t errlen);
/* Files and stdout are buffered until rw_outset_flush (once per batch:
 * one write(2) for many records); syslog and streams take it at once. */
void rw_outset_write(struct rw_outset *s, const struct rw_formatted *f);
void rw_outset_flush(struct rw_outset *s);
/* SIGHUP: the outputs of cfg. One whose spec (with its inherited options)
 * is unchanged carries over — a stream keeps its connection — and a file is
 * reopened (logrotate); new ones are opened, removed ones closed (a spool
 * stays on disk). If a new output cannot be opened, the error is logged and
 * the old set stays, with its files reopened. Returns the set in use. */
struct rw_outset *rw_outset_reload(struct rw_outset *old, const struct rw_proxy_config *cfg);
/* One line per output: what it wrote, or emitted/sent/spooled/dropped/
 * reconnects/in spool for streams. */
void rw_outset_log_counters(const struct rw_outset *s);
/* Records in the spools of tcp://, tls:// and kafka:// outputs (not yet
 * delivered). */
uint64_t rw_outset_pending(const struct rw_outset *s);
/* A record could not be written to a file or stdout. */
bool rw_outset_failed(const struct rw_outset *s);
void rw_outset_close(struct rw_outset *s);

#endif
