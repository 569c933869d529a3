/* Where an evidence line's fact was seen, said the same way by every
 * format: "frame 12" (Wireshark's numbering, in the record's file), "other.pcap
 * frame 3" when the connection spans files, or, from the proxy, which side's
 * stream and at which byte, with the time since the connection opened. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "record_format.h"

const struct rw_mark *rw_evidence_mark(const struct rw_record *rec, size_t i)
{
	const struct rw_verdict *v = &rec->verdict;
	if (i >= v->n_evidence || i >= RW_MAX_EVIDENCE)
		return NULL;
	int m = v->evidence_mark[i];
	if (m < 0 || (size_t)m >= rec->n_marks || m >= RW_MAX_MARKS)
		return NULL;
	return &rec->marks[m];
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

int rw_format_mark(const struct rw_record *rec, const struct rw_mark *m, char *out, size_t n)
{
	uint64_t since = m->ts_us > rec->ts_open_us ? m->ts_us - rec->ts_open_us : 0;
	if (m->frame && m->file && rec->file_first && strcmp(m->file, rec->file_first) != 0) {
		int k = snprintf(out, n, "%s frame %" PRIu64, base_name(m->file), m->frame);
		return k < 0 || (size_t)k >= n ? -1 : 0;
	}
	/* The common cases by hand (every evidence line of every record):
	 * "frame %" PRIu64, and "%s byte %" PRIu64 ", +%" PRIu64 ".%03u ms". */
	char d[80];
	size_t len;
	if (m->frame) {
		memcpy(d, "frame ", 6);
		len = 6 + rw_format_u64(d + 6, m->frame);
	} else {
		memcpy(d, m->dir == RW_C2S ? "client byte " : "server byte ", 12);
		len = 12 + rw_format_u64(d + 12, m->offset);
		memcpy(d + len, ", ", 2);
		len += 2;
		len += rw_format_plus_ms(since, true, d + len);
	}
	if (len >= n)
		return -1;
	memcpy(out, d, len);
	out[len] = '\0';
	return 0;
}
