/* rdpwhy replay: diagnose the connections in capture files. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static void help(FILE *f)
{
	fprintf(f, "usage: rdpwhy replay [OPTIONS] FILE...\n"
	           "\n"
	           "Reads pcap or pcapng files (Ethernet, Linux cooked SLL/SLL2, raw IP,\n"
	           "BSD loopback; IPv4, IPv6, VLAN) and prints one diagnosis per RDP\n"
	           "connection. Files are read in order as one capture.\n"
	           "\n"
	           "options:\n");
	rw_capture_opts_help(f);
	fprintf(f, "  -j, --jobs N            analysis threads (default: the number of\n"
	           "                          cores with 4 or more, else 1): with 2 or\n"
	           "                          more, the connections are analysed by N\n"
	           "                          threads while others read the files and\n"
	           "                          format the records; the output is the same\n"
	           "                          as with -j 1 (which, given a second core,\n"
	           "                          formats the records on it)\n"
	           "  -h, --help              this help\n"
	           "\n"
	           "exit status: 0 when every file was read (whatever the verdicts; a\n"
	           "truncated file gives its records and a warning), 1 when a file could\n"
	           "not be read or a record not written, 2 on a usage error. Records for\n"
	           "tcp:// and tls:// outputs that are not delivered within\n"
	           "siem_flush_timeout stay spooled and go first on the next run.\n");
}

/* A clock that jumped is worth knowing: records around it rest on it. */
static void say_clock(const struct rw_capture_stats *st)
{
	if (st->clock_outliers) {
		time_t t = (time_t)(st->first_outlier_ts_us / 1000000u);
		struct tm tm;
		char when[32] = "?";
		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
		fprintf(stderr,
		        "rdpwhy replay: warning: %llu frame%s stamped more than 60 s away from "
		        "the frames around %s (first: frame %llu, %s): taken as at their "
		        "neighbours' time, so they expired nothing\n",
		        (unsigned long long)st->clock_outliers, st->clock_outliers == 1 ? "" : "s",
		        st->clock_outliers == 1 ? "it" : "them",
		        (unsigned long long)st->first_outlier_frame, when);
	}
	if (st->clock_steps_back)
		fprintf(stderr,
		        "rdpwhy replay: warning: the capture's clock went back more than 60 s %llu "
		        "time%s (frames after it stamped earlier): connections spanning it keep "
		        "one record, their times may be off by the step\n",
		        (unsigned long long)st->clock_steps_back,
		        st->clock_steps_back == 1 ? "" : "s");
}

/* A file with no RDP connection is a finding, not silence: say what it held
 * and which --port to try (a mid-stream capture on another port has no
 * Connection Request for the any-port detection to find). */
static void say_nothing_found(const struct rw_capture_opts *o, const struct rw_capture_stats *st,
                              const char **files, int n_files)
{
	char ports[128] = "";
	size_t off = 0;
	for (size_t i = 0; i < o->cfg.n_ports && off < sizeof(ports); i++) {
		int n = snprintf(ports + off, sizeof(ports) - off, "%s%u", i ? "," : "",
		                 (unsigned)o->cfg.ports[i]);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	fprintf(stderr,
	        "rdpwhy replay: no RDP connection found in %s%s: %llu packets, %llu of them "
	        "TCP%s%s\n",
	        files[0], n_files > 1 ? " and the other files" : "",
	        (unsigned long long)st->packets, (unsigned long long)st->tcp_packets,
	        o->bpf ? " after the filter " : "", o->bpf ? o->bpf : "");
	if (st->tcp_packets == 0 && st->decode_errors == st->packets && st->packets > 0) {
		fprintf(stderr, "rdpwhy replay: none of its packets could be decoded: a link "
		                "type rdpwhy does not read, or damaged frames\n");
		return;
	}
	if (st->tcp_packets == 0) {
		fprintf(stderr, "rdpwhy replay: the capture holds no TCP at all: was it taken on "
		                "the right interface, or with a filter that excluded RDP?\n");
		return;
	}
	const struct rw_port_tally *t = st->syn_ports.total ? &st->syn_ports : &st->data_ports;
	struct rw_port_count top[5];
	size_t n = rw_port_tally_top(t, top, 5);
	if (n == 0)
		return;
	fprintf(stderr, "rdpwhy replay: busiest TCP server ports (%s): ",
	        t == &st->syn_ports ? "connection set-up packets" : "data packets, by lower port");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s%u (%llu)", i ? ", " : "", (unsigned)top[i].port,
		        (unsigned long long)top[i].count);
	fprintf(stderr,
	        "\nrdpwhy replay: analysed: port%s %s, and any port whose first client bytes "
	        "are an X.224 Connection Request%s. If RDP runs on port %u, try: rdpwhy replay "
	        "--port %u %s\n",
	        o->cfg.n_ports == 1 ? "" : "s", ports,
	        o->cfg.detect_any_port ? "" : " (off: --only-ports)", (unsigned)top[0].port,
	        (unsigned)top[0].port, files[0]);
}

/* ---- -j N: a pipeline, sessions sharded ----------------------------------
 *
 * A reader thread (libpcap, decompression) hands packets over in batches of
 * copied bytes to this thread, which runs the capture engine: decoding, the
 * flow table and its bound, expiry, reassembly, scan tallies and record ids
 * stay sequential here, and the sessions' analysis runs in N workers, each
 * flow's always in the same one (rw_capture_shard). Each record carries its
 * place in -j 1's output; a sink thread takes them back in that order (a
 * reorder window of N_RECS: this thread waits when the sink is that far
 * behind), formats and writes them, and frees the sessions. Every queue is
 * bounded: memory does not grow with the file. */

#define BATCH_BYTES (1024 * 1024)
#define N_BATCHES   8
#define N_RECS      1024

/* ENT_RAW: caplen bytes of whole pcap records as they are in the file
 * (rw_pcap_raw_block), the link type in dlt, RAW_SWAPPED / RAW_NSEC in
 * wirelen: the reader does not copy them packet by packet, it reads them
 * into the batch. */
enum { ENT_PACKET, ENT_SOURCE, ENT_RAW };
enum { RAW_SWAPPED = 1, RAW_NSEC = 2 };

struct ent { /* in a batch, followed by caplen bytes, padded to 8 */
	uint64_t ts_us;
	uint32_t caplen, wirelen;
	int32_t dlt;
	uint32_t kind; /* ENT_PACKET, ENT_RAW, or ENT_SOURCE: file index in wirelen */
};

struct batch {
	size_t used;
	bool last; /* the end of the input */
	uint8_t data[BATCH_BYTES];
};

/* A bounded queue of batch pointers, one producer, one consumer. */
struct pq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *items[N_BATCHES];
	size_t head, n;
};

static void pq_push(struct pq *q, struct batch *b)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == N_BATCHES)
		pthread_cond_wait(&q->cv, &q->mu);
	q->items[(q->head + q->n++) % N_BATCHES] = b;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static struct batch *pq_pop(struct pq *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->n == 0)
		pthread_cond_wait(&q->cv, &q->mu);
	struct batch *b = q->items[q->head];
	q->head = (q->head + 1) % N_BATCHES;
	q->n--;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return b;
}

/* What the sink thread gets, in order: a record with the session it lives
 * in, a copy of a summary record, a new file's name (for --summary), the
 * end, or nothing (a summary written in its place without the sink). */
enum { REC_SESSION, REC_COPY, REC_SOURCE, REC_END, REC_SKIP };
struct rec_item {
	int kind;
	struct rw_record *rec;
	struct rw_session *s;
	const char *source;
	bool decided;               /* REC_SESSION: its verdict is in rec */
	struct rw_outputs_msg *msg; /* REC_SESSION: formatted ahead (rw_outputs_format) */
};

/* The records put back in order: each item comes with its sequence number
 * (its place in -j 1's output), from the capture thread or a worker, in any
 * order; the sink takes them in sequence. Bounded: the capture thread asks
 * for room before handing out a number N_RECS past the sink's. */
struct rq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rec_item items[N_RECS];
	bool full[N_RECS];
	uint64_t next;    /* the sink's next sequence number */
	uint64_t handled; /* items the sink is done with */
};

static void rq_put(struct rq *q, uint64_t seq, struct rec_item it)
{
	pthread_mutex_lock(&q->mu);
	q->items[seq % N_RECS] = it;
	q->full[seq % N_RECS] = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

static bool rq_room(struct rq *q, uint64_t seq, bool wait)
{
	pthread_mutex_lock(&q->mu);
	while (seq >= q->next + N_RECS) {
		if (!wait) {
			pthread_mutex_unlock(&q->mu);
			return false;
		}
		pthread_cond_wait(&q->cv, &q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	return true;
}

static struct rec_item rq_pop(struct rq *q)
{
	pthread_mutex_lock(&q->mu);
	q->handled = q->next;
	pthread_cond_broadcast(&q->cv);
	while (!q->full[q->next % N_RECS])
		pthread_cond_wait(&q->cv, &q->mu);
	struct rec_item it = q->items[q->next % N_RECS];
	q->full[q->next % N_RECS] = false;
	q->next++;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return it;
}

/* Until the sink handled every item before seq. */
static void rq_wait_handled(struct rq *q, uint64_t seq)
{
	pthread_mutex_lock(&q->mu);
	while (q->handled < seq)
		pthread_cond_wait(&q->cv, &q->mu);
	pthread_mutex_unlock(&q->mu);
}

struct pipe {
	const char **files;
	int n_files;
	const char *bpf;
	struct pq full, empty; /* batches */
	struct rq recs;
	struct batch *cur; /* the reader's */
	struct rw_capture_sink *sink;
	int status; /* the reader's: 1 when a file could not be read */
};

static const char *source_name(const char *file)
{
	return strcmp(file, "-") != 0 ? file : "(stdin)";
}

static void put_ent(struct pipe *pp, uint32_t kind, int dlt, uint64_t ts_us, const uint8_t *p,
                    size_t caplen, size_t wirelen)
{
	size_t need = sizeof(struct ent) + ((caplen + 7) & ~(size_t)7);
	if (pp->cur && pp->cur->used + need > BATCH_BYTES) {
		pq_push(&pp->full, pp->cur);
		pp->cur = NULL;
	}
	if (!pp->cur) {
		pp->cur = pq_pop(&pp->empty);
		pp->cur->used = 0;
		pp->cur->last = false;
	}
	struct ent e = {ts_us, (uint32_t)caplen, (uint32_t)wirelen, dlt, kind};
	memcpy(pp->cur->data + pp->cur->used, &e, sizeof(e));
	if (caplen)
		memcpy(pp->cur->data + pp->cur->used + sizeof(e), p, caplen);
	pp->cur->used += need;
}

static void reader_packet(void *arg, int dlt, uint64_t ts_us, const uint8_t *p, size_t caplen,
                          size_t wirelen)
{
	/* A frame larger than a batch (libpcap allows 256 KiB) keeps what fits,
	 * as a shorter snapshot length would. */
	size_t max = BATCH_BYTES - sizeof(struct ent);
	put_ent(arg, ENT_PACKET, dlt, ts_us, p, caplen < max ? caplen : max, wirelen);
}

/* A classic pcap file read into the batches as it is (ENT_RAW), whole
 * records in each. Returns the records so read, or -1 when the file is not
 * one to read so (nothing was read). *rest says that libpcap must read what
 * follows them (a record longer than the snapshot length, the end of a file
 * cut short, a read error): it says how, as it would have from the start. */
static int64_t read_raw(struct pipe *pp, const char *path, bool *rest)
{
	struct rw_pcap_raw_file r;
	if (rw_pcap_raw_begin(&r, path, pp->bpf) < 0)
		return -1;
	uint32_t flags = (r.fmt.swapped ? RAW_SWAPPED : 0) | (r.fmt.nsec ? RAW_NSEC : 0);
	uint8_t *carry = NULL; /* the start of a record the last block did not hold */
	size_t n_carry = 0;
	for (bool more = true; more;) {
		/* A batch with room for a whole block (the batch being filled if
		 * it has, else the next one), the carried bytes first. */
		struct batch *b = pp->cur;
		if (b && b->used + sizeof(struct ent) + (2u << 18) + 16 > BATCH_BYTES)
			b = NULL;
		if (!b) {
			b = pq_pop(&pp->empty);
			b->used = 0;
			b->last = false;
		}
		uint8_t *base = b->data + b->used + sizeof(struct ent);
		size_t room = (BATCH_BYTES - b->used - sizeof(struct ent)) & ~(size_t)7;
		if (n_carry)
			memmove(base, carry, n_carry);
		if (b != pp->cur) {
			if (pp->cur)
				pq_push(&pp->full, pp->cur);
			pp->cur = b;
		}
		size_t whole;
		more = rw_pcap_raw_block(&r, base, room, n_carry, &whole, &n_carry);
		if (whole) {
			struct ent e = {0, (uint32_t)whole, flags, r.fmt.dlt, ENT_RAW};
			memcpy(b->data + b->used, &e, sizeof(e));
			b->used += sizeof(e) + ((whole + 7) & ~(size_t)7);
		}
		carry = base + whole;
	}
	rw_pcap_raw_end(&r);
	*rest = r.rest;
	return (int64_t)r.records;
}

static void *reader_main(void *arg)
{
	struct pipe *pp = arg;
	for (int f = 0; f < pp->n_files; f++) {
		put_ent(pp, ENT_SOURCE, 0, 0, NULL, 0, (size_t)f);
		char err[512];
		bool truncated = false, rest = false;
		int64_t raw = read_raw(pp, pp->files[f], &rest);
		if (raw >= 0 && !rest)
			continue;
		if (rw_pcap_read_skip(pp->files[f], pp->bpf, raw > 0 ? (uint64_t)raw : 0,
		                      reader_packet, pp, &truncated, err, sizeof(err)) < 0) {
			fprintf(stderr, "rdpwhy replay: %s\n", err);
			pp->status = 1;
			continue;
		}
		if (truncated)
			fprintf(stderr,
			        "rdpwhy replay: warning: %s is truncated or damaged (%s); the "
			        "connections in the packets before it are reported\n",
			        pp->files[f], err[0] ? err : "last packet incomplete");
	}
	if (!pp->cur) {
		pp->cur = pq_pop(&pp->empty);
		pp->cur->used = 0;
	}
	pp->cur->last = true;
	pq_push(&pp->full, pp->cur);
	pp->cur = NULL;
	return NULL;
}

static bool room(uint64_t seq, bool wait, void *arg)
{
	struct pipe *pp = arg;
	return rq_room(&pp->recs, seq, wait);
}

/* A record handed over for another thread to write: with its session
 * (which that thread frees), or a copy (a summary record, valid only during
 * the call); REC_SKIP when there is no memory for the copy (the caller then
 * writes it itself, in its place). */
static struct rec_item handed_over(struct rw_record *rec, struct rw_session *s)
{
	if (s)
		return (struct rec_item){.kind = REC_SESSION, .rec = rec, .s = s};
	struct rw_record *copy = malloc(sizeof(*copy));
	if (!copy)
		return (struct rec_item){.kind = REC_SKIP};
	*copy = *rec;
	return (struct rec_item){.kind = REC_COPY, .rec = copy};
}

/* What the writing thread does with an item; false at the end. */
static bool write_item(struct rw_capture_sink *sink, struct rec_item it)
{
	switch (it.kind) {
	case REC_END:
		return false;
	case REC_SKIP:
		return true;
	case REC_SOURCE:
		if (sink->sum)
			rw_summary_source(sink->sum, it.source);
		return true;
	default:
		rw_capture_on_formatted(it.rec, sink, it.msg);
		if (it.kind == REC_SESSION)
			rw_session_free(it.s);
		else
			free(it.rec);
		return true;
	}
}

static void take_record(uint64_t seq, struct rw_record *rec, struct rw_session *s, void *arg)
{
	struct pipe *pp = arg;
	struct rec_item it = rec ? handed_over(rec, s) : (struct rec_item){.kind = REC_SKIP};
	if (rec && it.kind == REC_SKIP) {
		/* No memory for the copy: once the sink handled everything before
		 * it, this one is written from here, still in its place. */
		rq_wait_handled(&pp->recs, seq);
		rw_capture_on_record(rec, pp->sink);
	}
	rq_put(&pp->recs, seq, it);
}

static void *sink_main(void *arg)
{
	struct pipe *pp = arg;
	while (write_item(pp->sink, rq_pop(&pp->recs)))
		;
	return NULL;
}

/* Replays the files with a reader thread, jobs analysis workers and a sink
 * thread; the capture runs here. 0 or 1 (a file could not be read), like
 * the sequential loop; -1 when the threads could not be started (nothing
 * was read: the caller falls back). */
static int replay_pipeline(const char **files, int n_files, const char *bpf, struct rw_capture *c,
                           struct rw_capture_sink *sink, int jobs)
{
	struct pipe *pp = calloc(1, sizeof(*pp));
	struct batch *batches = malloc(N_BATCHES * sizeof(*batches));
	if (!pp || !batches) {
		free(pp);
		free(batches);
		return -1;
	}
	pp->files = files;
	pp->n_files = n_files;
	pp->bpf = bpf;
	pp->sink = sink;
	pthread_mutex_init(&pp->full.mu, NULL);
	pthread_cond_init(&pp->full.cv, NULL);
	pthread_mutex_init(&pp->empty.mu, NULL);
	pthread_cond_init(&pp->empty.cv, NULL);
	pthread_mutex_init(&pp->recs.mu, NULL);
	pthread_cond_init(&pp->recs.cv, NULL);
	for (int i = 0; i < N_BATCHES; i++)
		pq_push(&pp->empty, &batches[i]);
	pthread_t reader, writer;
	int rc = -1;
	if (rw_capture_shard(c, jobs, take_record, room, pp) < 0)
		goto out;
	if (pthread_create(&writer, NULL, sink_main, pp) != 0) {
		rw_capture_shard_stop(c);
		goto out;
	}
	pthread_setname_np(writer, "rdpwhy-sink");
	if (pthread_create(&reader, NULL, reader_main, pp) != 0) {
		rw_capture_shard_stop(c);
		uint64_t seq = rw_capture_seq(c);
		rq_room(&pp->recs, seq, true);
		rq_put(&pp->recs, seq, (struct rec_item){.kind = REC_END});
		pthread_join(writer, NULL);
		goto out;
	}
	pthread_setname_np(reader, "rdpwhy-read");
	for (bool last = false; !last;) {
		struct batch *b = pq_pop(&pp->full);
		for (size_t off = 0; off < b->used;) {
			struct ent e;
			memcpy(&e, b->data + off, sizeof(e));
			const uint8_t *data = b->data + off + sizeof(e);
			off += sizeof(e) + ((e.caplen + 7) & ~(size_t)7);
			if (e.kind == ENT_RAW) {
				struct rw_pcap_raw fmt = {e.dlt, 0, (e.wirelen & RAW_SWAPPED) != 0,
				                          (e.wirelen & RAW_NSEC) != 0};
				rw_pcap_raw_each(&fmt, data, e.caplen, rw_capture_packet_cb, c);
				continue;
			}
			if (e.kind == ENT_SOURCE) {
				const char *name = source_name(files[e.wirelen]);
				rq_put(&pp->recs, rw_capture_seq(c),
				       (struct rec_item){.kind = REC_SOURCE,
				                         .source = files[e.wirelen]});
				rw_capture_set_source(c, name);
				continue;
			}
			rw_capture_packet(c, e.dlt, e.ts_us, data, e.caplen, e.wirelen);
		}
		last = b->last;
		pq_push(&pp->empty, b);
	}
	pthread_join(reader, NULL);
	rw_capture_finish(c);
	rw_capture_shard_stop(c); /* every record handed over */
	uint64_t seq = rw_capture_seq(c);
	rq_room(&pp->recs, seq, true);
	rq_put(&pp->recs, seq, (struct rec_item){.kind = REC_END});
	pthread_join(writer, NULL);
	rc = pp->status;
out:
	pthread_mutex_destroy(&pp->full.mu);
	pthread_cond_destroy(&pp->full.cv);
	pthread_mutex_destroy(&pp->empty.mu);
	pthread_cond_destroy(&pp->empty.cv);
	pthread_mutex_destroy(&pp->recs.mu);
	pthread_cond_destroy(&pp->recs.cv);
	free(batches);
	free(pp);
	return rc;
}

/* The threaded pipeline keeps four threads busy (reader, flow table, an
 * analysis worker, formatting) and costs 1.5-2x -j 1's CPU: on 2 cores it
 * was 11 % (handshakes) to 45 % (bulk) slower than -j 1 (docs/benchmarks.md),
 * so by default it runs only where each of those threads has a core. */
#define PIPELINE_MIN_CORES 4

static long cores(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return sysconf(_SC_NPROCESSORS_ONLN);
}

static int default_jobs(void)
{
	long n = cores();
	return n >= PIPELINE_MIN_CORES ? (int)n : 1;
}

/* ---- -j 1 with a second core: records written on a thread of their own --
 *
 * Formatting a record and freeing its session is a fifth of a replay of
 * short connections; on a second core it runs while this thread reads and
 * analyses the next ones (rw_capture_set_take). One queue, in -j 1's
 * order, so the output is the same; bounded, so a slow output holds the
 * replay back rather than piling up sessions. */
#define FMT_QUEUE 256
/* The writer is woken for this many: a wake per record cost more than the
 * formatting. */
#define FMT_BATCH 32
/* A full queue's producer is woken when the writer has brought it down to
 * this: once per FMT_QUEUE - FMT_LOW records, not once per batch (each
 * wake is a futex call on both sides, a tenth of the writer's time when
 * it was the slower thread). */
#define FMT_LOW (FMT_QUEUE / 2)

struct fmt {
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	struct rec_item items[FMT_QUEUE];
	size_t head, n;
	uint64_t put, done; /* items queued, items written */
	bool idle;          /* the writer waits for items */
	bool ahead;   /* RDPWHY_FORMAT_AHEAD (tests): every record formatted by the producer */
	bool waiting; /* the producer waits for room (or for done == put) */
	struct rw_capture_sink *sink;
	pthread_t th;
};

/* The record decided and formatted by the thread that hands it over; it
 * keeps its turn in the queue, where the writer only queues its message. */
static void format_ahead(struct fmt *q, struct rec_item *it)
{
	rw_verdict_decide(it->rec);
	it->decided = true;
	it->msg = rw_outputs_format(q->sink->out, it->rec);
}

static void fmt_put(struct fmt *q, struct rec_item it)
{
	bool can = it.kind == REC_SESSION && q->sink->out;
	pthread_mutex_lock(&q->mu);
	for (;;) {
		if (can && !it.decided && (q->ahead || q->n >= FMT_LOW)) {
			/* The writer is behind (the end of a capture reports every
			 * connection still open at once; the output thread took the
			 * writer's core; a second output to format for): this thread
			 * formats rather than waits, and goes on reading while the
			 * writer catches up. */
			pthread_mutex_unlock(&q->mu);
			format_ahead(q, &it);
			pthread_mutex_lock(&q->mu);
			continue;
		}
		if (q->n < FMT_QUEUE)
			break;
		q->waiting = true;
		pthread_cond_wait(&q->room, &q->mu);
	}
	q->items[(q->head + q->n++) % FMT_QUEUE] = it;
	q->put++;
	if (q->idle && (q->n >= FMT_BATCH || it.kind == REC_END))
		pthread_cond_signal(&q->more);
	pthread_mutex_unlock(&q->mu);
}

static void *fmt_main(void *arg)
{
	struct fmt *q = arg;
	struct rec_item got[FMT_BATCH];
	for (bool more = true; more;) {
		pthread_mutex_lock(&q->mu);
		while (q->n == 0) {
			q->idle = true;
			pthread_cond_wait(&q->more, &q->mu);
		}
		q->idle = false;
		size_t k = q->n < FMT_BATCH ? q->n : FMT_BATCH;
		for (size_t i = 0; i < k; i++)
			got[i] = q->items[(q->head + i) % FMT_QUEUE];
		q->head = (q->head + k) % FMT_QUEUE;
		q->n -= k;
		pthread_mutex_unlock(&q->mu);
		for (size_t i = 0; i < k && more; i++) {
			/* rw_capture_set_take hands sessions over undecided. */
			if (got[i].kind == REC_SESSION && !got[i].decided)
				rw_verdict_decide(got[i].rec);
			more = write_item(q->sink, got[i]);
		}
		pthread_mutex_lock(&q->mu);
		q->done += k;
		if (q->waiting && (q->n <= FMT_LOW || q->done == q->put || !more)) {
			q->waiting = false;
			pthread_cond_broadcast(&q->room);
		}
		pthread_mutex_unlock(&q->mu);
	}
	return NULL;
}

static void fmt_take(struct rw_record *rec, struct rw_session *s, void *arg)
{
	struct fmt *q = arg;
	struct rec_item it = handed_over(rec, s);
	if (it.kind != REC_SKIP) {
		fmt_put(q, it);
		return;
	}
	/* No memory for the copy: written from here once the writer is done
	 * with everything before it. */
	pthread_mutex_lock(&q->mu);
	if (q->idle)
		pthread_cond_signal(&q->more);
	while (q->done != q->put) {
		q->waiting = true;
		pthread_cond_wait(&q->room, &q->mu);
	}
	pthread_mutex_unlock(&q->mu);
	rw_capture_on_record(rec, q->sink);
}

/* NULL (records written by this thread, as before) on one core, or when
 * the thread cannot be started. */
static struct fmt *fmt_start(struct rw_capture *c, struct rw_capture_sink *sink)
{
	if (cores() < 2)
		return NULL;
	struct fmt *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->sink = sink;
	const char *ahead = getenv("RDPWHY_FORMAT_AHEAD");
	q->ahead = ahead && *ahead && strcmp(ahead, "0") != 0;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->more, NULL);
	pthread_cond_init(&q->room, NULL);
	if (pthread_create(&q->th, NULL, fmt_main, q) != 0) {
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->more);
		pthread_cond_destroy(&q->room);
		free(q);
		return NULL;
	}
	pthread_setname_np(q->th, "rdpwhy-fmt");
	rw_capture_set_take(c, fmt_take, q);
	return q;
}

/* Every record written: the writer ends. */
static void fmt_stop(struct rw_capture *c, struct fmt *q)
{
	if (!q)
		return;
	fmt_put(q, (struct rec_item){.kind = REC_END});
	pthread_join(q->th, NULL);
	rw_capture_set_take(c, NULL, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->more);
	pthread_cond_destroy(&q->room);
	free(q);
}

static int parse_jobs(const char *v, int *jobs)
{
	char *end;
	long n = v ? strtol(v, &end, 10) : 0;
	if (!v || !*v || *end || n < 1 || n > 1024) {
		fprintf(stderr, "rdpwhy replay: -j needs a number of threads from 1 to 1024\n");
		return -1;
	}
	*jobs = (int)n;
	return 0;
}

/* The formatting thread allocates each record's messages and the output
 * thread frees them once written, so its malloc arena (glibc's, per thread)
 * sees its memory come back in bursts: it gave the top of its heap back to
 * the kernel after each and grew it again, page by page, for the next
 * records (700 to 1,200 mprotect calls and their page faults for 20,000
 * short connections, a tenth of the formatting thread). Growing by 4 MiB at
 * a time, and keeping that much, makes it 25. A replay is a batch job; the
 * proxy keeps the defaults, which give memory back sooner. */
static void heap_padding(void)
{
#if defined(__GLIBC__) && defined(M_TOP_PAD)
	(void)mallopt(M_TOP_PAD, 4 << 20);
#endif
}

int cmd_replay(int argc, char **argv)
{
	static const char *const flags[] = {"--only-ports", "--help", "--summary", "--fix", NULL};
	if (rw_cli_expand_eq("replay", &argc, &argv, flags) < 0)
		return 2;
	struct rw_capture_opts o;
	rw_capture_opts_init(&o);
	const char *files[argc > 0 ? argc : 1];
	int n_files = 0;
	int jobs = default_jobs();
	bool opts_done = false;
	for (int i = 1; i < argc; i++) {
		if (!opts_done && argv[i][0] == '-' && argv[i][1]) {
			if (!strcmp(argv[i], "--")) {
				opts_done = true;
				continue;
			}
			if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
				help(stdout);
				return 0;
			}
			if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--jobs")) {
				if (parse_jobs(i + 1 < argc ? argv[++i] : NULL, &jobs) < 0)
					return 2;
				continue;
			}
			if (!strncmp(argv[i], "-j", 2)) {
				if (parse_jobs(argv[i] + 2, &jobs) < 0)
					return 2;
				continue;
			}
			int r = rw_capture_opt(&o, argc, argv, &i);
			if (r < 0)
				return 2;
			if (r == 0) {
				fprintf(stderr, "rdpwhy replay: unknown option '%s'\n", argv[i]);
				help(stderr);
				return 2;
			}
			continue;
		}
		files[n_files++] = argv[i];
	}
	if (n_files == 0) {
		fprintf(stderr, "rdpwhy replay: no capture file given\n");
		help(stderr);
		return 2;
	}

	if (o.bpf && rw_capture_check_filter("replay", o.bpf) < 0)
		return 2;

	heap_padding();
	struct rw_log log = {0};
	rw_log_open(&log, false, 0);
	struct rw_capture_sink sink = {0};
	int status = 0;
	/* --summary alone prints only the summary; -o (or a config file's
	 * outputs) still get every record. */
	bool html = rw_capture_html_wanted(&o);
	if (html && o.fix && !o.output_given) {
		/* The pages would follow the HTML on stdout: the page carries each
		 * failure's fix already; the full pages need their own stream. */
		fprintf(stderr,
		        "rdpwhy replay: --fix with --format html needs -o FILE for the page\n");
		return 2;
	}
	if (html && (status = rw_capture_html_open(&o, &sink, "replay")) != 0)
		return status;
	if (!html && (!o.summary || o.output_given || o.config_path)) {
		sink.out = rw_capture_outputs_open(&o, true, &log, &status);
		if (!sink.out)
			return status;
	}
	if (o.summary && !sink.sum && !(sink.sum = rw_summary_new())) {
		fprintf(stderr, "rdpwhy replay: out of memory\n");
		rw_outputs_close(sink.out);
		return 1;
	}
	/* Sessions by the thousand, none packed: their memory faulted in by
	 * the region, not by the page. */
	rw_session_pool_prefault(true);
	o.cfg.flow_regions = true;
	struct rw_capture *c = rw_capture_new(&o.cfg, rw_capture_on_record, &sink);
	if (!c) {
		fprintf(stderr, "rdpwhy replay: out of memory\n");
		rw_outputs_close(sink.out);
		rw_summary_free(sink.sum);
		return 1;
	}
	int piped = jobs > 1 ? replay_pipeline(files, n_files, o.bpf, c, &sink, jobs) : -1;
	if (piped > 0)
		status = piped;
	struct fmt *fq = piped < 0 ? fmt_start(c, &sink) : NULL;
	for (int f = 0; piped < 0 && f < n_files; f++) {
		if (sink.sum && fq)
			fmt_put(fq, (struct rec_item){.kind = REC_SOURCE, .source = files[f]});
		else if (sink.sum)
			rw_summary_source(sink.sum, files[f]);
		rw_capture_set_source(c, source_name(files[f]));
		char err[512];
		bool truncated = false;
		if (rw_pcap_replay(files[f], o.bpf, c, &truncated, err, sizeof(err)) < 0) {
			fprintf(stderr, "rdpwhy replay: %s\n", err);
			status = 1;
			continue;
		}
		if (truncated)
			fprintf(stderr,
			        "rdpwhy replay: warning: %s is truncated or damaged (%s); the "
			        "connections in the packets before it are reported\n",
			        files[f], err[0] ? err : "last packet incomplete");
	}
	if (piped < 0)
		rw_capture_finish(c);
	fmt_stop(c, fq);
	const struct rw_capture_stats *st = rw_capture_stats(c);
	if (st->decode_errors || st->evicted)
		fprintf(stderr,
		        "rdpwhy replay: %llu packets, %llu undecodable, %llu connections "
		        "reported early (flow table full)\n",
		        (unsigned long long)st->packets, (unsigned long long)st->decode_errors,
		        (unsigned long long)st->evicted);
	say_clock(st);
	rw_capture_warn_cut("replay", st);
	if (st->records == 0 && status == 0)
		say_nothing_found(&o, st, files, n_files);
	rw_capture_free(c);
	if ((sink.out && rw_outputs_close(sink.out) < 0) || fflush(stdout) != 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the output\n");
		status = 1;
	}
	if (o.fix && rw_capture_print_fixes(&sink) < 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the fix pages\n");
		status = 1;
	}
	if (html && rw_capture_html_write(&sink) < 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the HTML page\n");
		status = 1;
	}
	rw_capture_html_close(&sink);
	if (!html && sink.sum && rw_capture_print_summary(&o, sink.sum) < 0) {
		fprintf(stderr, "rdpwhy replay: cannot write the summary\n");
		status = 1;
	}
	rw_summary_free(sink.sum);
	return status;
}
