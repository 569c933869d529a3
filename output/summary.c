/* Counting records by cause, server, client and cookie. See summary.h. */
#include "summary.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "record_format.h"

#define KEY_MAX     160 /* a cookie is cut here: enough to tell users apart */
#define MAX_SOURCES 64
#define MAX_ROWS    50000 /* per table (servers, clients, cookies) */
#define OTHERS      "(others)"

struct row {
	char *key;
	uint64_t total, failed;
	uint32_t causes[RW_CAUSE_COUNT];
};

/* One table: an open-addressing hash of rows by key. */
struct table {
	struct row *rows;
	size_t n, cap;
};

enum { T_SERVER, T_CLIENT, T_COOKIE, T_COUNT };
static const char *const table_name[T_COUNT] = {"servers", "clients", "cookies"};

struct rw_summary {
	uint64_t records, failed, scans, nomem;
	uint64_t causes[RW_CAUSE_COUNT];
	uint64_t first_us, last_us;
	struct table t[T_COUNT];
	const char *sources[MAX_SOURCES];
	size_t n_sources, more_sources;
};

bool rw_summary_is_failure(enum rw_cause c)
{
	return c != RW_CAUSE_NORMAL_CLOSE && c != RW_CAUSE_STILL_OPEN;
}

struct rw_summary *rw_summary_new(void)
{
	return calloc(1, sizeof(struct rw_summary));
}

void rw_summary_free(struct rw_summary *s)
{
	if (!s)
		return;
	for (int t = 0; t < T_COUNT; t++) {
		for (size_t i = 0; i < s->t[t].cap; i++)
			free(s->t[t].rows[i].key);
		free(s->t[t].rows);
	}
	free(s);
}

void rw_summary_source(struct rw_summary *s, const char *name)
{
	if (s->n_sources < MAX_SOURCES)
		s->sources[s->n_sources++] = name;
	else
		s->more_sources++;
}

static uint64_t hash(const char *k)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 1099511628211ull;
	return h;
}

static int grow(struct table *t)
{
	size_t cap = t->cap ? 2 * t->cap : 64;
	struct row *rows = calloc(cap, sizeof(*rows));
	if (!rows)
		return -1;
	for (size_t i = 0; i < t->cap; i++) {
		if (!t->rows[i].key)
			continue;
		size_t j = hash(t->rows[i].key) & (cap - 1);
		while (rows[j].key)
			j = (j + 1) & (cap - 1);
		rows[j] = t->rows[i];
	}
	free(t->rows);
	t->rows = rows;
	t->cap = cap;
	return 0;
}

static struct row *find(struct table *t, const char *key)
{
	if ((t->n + 1) * 4 > t->cap * 3 && grow(t) < 0)
		return NULL;
	size_t j = hash(key) & (t->cap - 1);
	while (t->rows[j].key) {
		if (!strcmp(t->rows[j].key, key))
			return &t->rows[j];
		j = (j + 1) & (t->cap - 1);
	}
	/* A proxy that runs for months meets more clients than a summary needs
	 * to name: past MAX_ROWS, new ones are counted together. */
	if (t->n >= MAX_ROWS && strcmp(key, OTHERS) != 0)
		return find(t, OTHERS);
	char *k = strdup(key);
	if (!k)
		return NULL;
	t->rows[j].key = k;
	t->n++;
	return &t->rows[j];
}

static int count(struct rw_summary *s, int t, const char *key, enum rw_cause c, bool failed)
{
	struct row *r = find(&s->t[t], key);
	if (!r) {
		s->nomem++;
		return -1;
	}
	r->total++;
	r->failed += failed;
	r->causes[c]++;
	return 0;
}

_Static_assert(KEY_MAX >= RW_IP_PORT_STR_MAX, "an address and port fit a key");

static void endpoint_key(const struct rw_endpoint *ep, bool port, char out[KEY_MAX])
{
	if (!(port ? rw_format_ip_port(ep, out) : rw_format_ip(ep, out)))
		snprintf(out, KEY_MAX, port ? "?:%u" : "?", (unsigned)ep->port);
}

int rw_summary_add(struct rw_summary *s, const struct rw_record *rec)
{
	enum rw_cause c = rec->verdict.cause;
	if ((unsigned)c >= RW_CAUSE_COUNT)
		c = RW_CAUSE_UNKNOWN;
	if (c == RW_CAUSE_SCAN_OR_FLOOD) {
		/* Aggregates already: counted apart, never as a server's failure. */
		s->scans++;
		s->causes[c]++;
		return 0;
	}
	s->records++;
	s->causes[c]++;
	bool failed = rw_summary_is_failure(c);
	s->failed += failed;
	if (rec->ts_open_us && (!s->first_us || rec->ts_open_us < s->first_us))
		s->first_us = rec->ts_open_us;
	uint64_t end = rec->ts_close_us > rec->ts_open_us ? rec->ts_close_us : rec->ts_open_us;
	if (end > s->last_us)
		s->last_us = end;
	char key[KEY_MAX];
	int rc = 0;
	endpoint_key(&rec->server, true, key);
	rc |= count(s, T_SERVER, key, c, failed);
	endpoint_key(&rec->client, false, key);
	rc |= count(s, T_CLIENT, key, c, failed);
	if (rec->token_kind == RW_TOKEN_COOKIE && rec->token && rec->token_len) {
		size_t n = rec->token_len < sizeof(key) - 1 ? rec->token_len : sizeof(key) - 1;
		memcpy(key, rec->token, n);
		key[n] = '\0';
		if (strlen(key) == n) /* a NUL inside: not a cookie to count by */
			rc |= count(s, T_COOKIE, key, c, failed);
	}
	return rc ? -1 : 0;
}

/* ---- ranking -------------------------------------------------------------- */

/* Worst first: most failures, then most connections, then the key. */
static int worse(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;
	if (x->failed != y->failed)
		return x->failed > y->failed ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	return strcmp(x->key, y->key);
}

static const struct row **ranked(const struct table *t)
{
	const struct row **v = malloc((t->n ? t->n : 1) * sizeof(*v));
	if (!v)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->rows[i].key)
			v[k++] = &t->rows[i];
	qsort(v, k, sizeof(*v), worse);
	return v;
}

/* The row's most frequent failure cause; UNKNOWN's count 0 when none. */
static enum rw_cause top_failure(const struct row *r)
{
	enum rw_cause best = RW_CAUSE_COUNT;
	for (int c = 0; c < RW_CAUSE_COUNT; c++)
		if (rw_summary_is_failure((enum rw_cause)c) && r->causes[c] &&
		    (best == RW_CAUSE_COUNT || r->causes[c] > r->causes[best]))
			best = (enum rw_cause)c;
	return best;
}

static size_t ranked_causes(const struct rw_summary *s, enum rw_cause out[RW_CAUSE_COUNT])
{
	size_t n = 0;
	for (int c = 0; c < RW_CAUSE_COUNT; c++)
		if (s->causes[c])
			out[n++] = (enum rw_cause)c;
	/* by count, failures before normal closes at a tie; stable by code */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && s->causes[out[j]] > s->causes[out[j - 1]]; j--) {
			enum rw_cause t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static void utc(uint64_t us, char *out, size_t n)
{
	time_t t = (time_t)(us / 1000000u);
	struct tm tm;
	if (!us || !gmtime_r(&t, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "-");
}

/* ---- text ------------------------------------------------------------------ */

int rw_summary_text(const struct rw_summary *s, struct rw_buf *out, size_t top)
{
	char a[32], b[32];
	utc(s->first_us, a, sizeof(a));
	utc(s->last_us, b, sizeof(b));
	int rc = rw_buf_printf(out, "summary    %llu connection%s, %llu failed",
	                       (unsigned long long)s->records, s->records == 1 ? "" : "s",
	                       (unsigned long long)s->failed);
	if (s->records) {
		double d = (double)(s->last_us - s->first_us) / 1e6;
		rc |= rw_buf_printf(out, ", %s .. %s (%.*f %s)", a, b, d < 120 ? 0 : 1,
		                    d < 120      ? d
		                    : d < 7200   ? d / 60
		                    : d < 172800 ? d / 3600
		                                 : d / 86400,
		                    d < 120      ? "s"
		                    : d < 7200   ? "min"
		                    : d < 172800 ? "h"
		                                 : "days");
	}
	rc |= rw_buf_putc(out, '\n');
	if (s->n_sources) {
		/* The first few: the JSON form lists them all. */
		size_t shown = s->n_sources < 3 ? s->n_sources : 3;
		rc |= rw_buf_printf(out, "  from     ");
		for (size_t i = 0; i < shown; i++)
			rc |= rw_buf_printf(out, "%s%s", i ? ", " : "", s->sources[i]);
		if (s->n_sources - shown + s->more_sources)
			rc |= rw_buf_printf(out, " and %zu more",
			                    s->n_sources - shown + s->more_sources);
		rc |= rw_buf_putc(out, '\n');
	}
	if (s->scans)
		rc |= rw_buf_printf(out,
		                    "  scans    %llu scan_or_flood summar%s (not counted above)\n",
		                    (unsigned long long)s->scans, s->scans == 1 ? "y" : "ies");
	enum rw_cause cs[RW_CAUSE_COUNT];
	size_t nc = ranked_causes(s, cs);
	if (nc)
		rc |= rw_buf_puts(out, "  causes\n");
	for (size_t i = 0; i < nc; i++)
		rc |= rw_buf_printf(out, "    %8llu  %s\n", (unsigned long long)s->causes[cs[i]],
		                    rw_cause_name(cs[i]));
	for (int t = 0; t < T_COUNT; t++) {
		if (!s->t[t].n)
			continue;
		const struct row **v = ranked(&s->t[t]);
		if (!v)
			return -1;
		size_t n = s->t[t].n < top ? s->t[t].n : top;
		rc |= rw_buf_printf(out, "  %s (most failures first%s)\n", table_name[t],
		                    s->t[t].n > n ? ", top" : "");
		for (size_t i = 0; i < n; i++) {
			enum rw_cause c = top_failure(v[i]);
			rc |= rw_buf_printf(out, "    %8llu failed of %-8llu %s",
			                    (unsigned long long)v[i]->failed,
			                    (unsigned long long)v[i]->total, v[i]->key);
			if (c != RW_CAUSE_COUNT)
				rc |= rw_buf_printf(out, "  mostly %s (%u)", rw_cause_name(c),
				                    (unsigned)v[i]->causes[c]);
			rc |= rw_buf_putc(out, '\n');
		}
		if (s->t[t].n > n)
			rc |= rw_buf_printf(out, "    ... %zu more\n", s->t[t].n - n);
		free(v);
	}
	if (s->nomem)
		rc |= rw_buf_printf(out, "  (out of memory: %llu rows not counted)\n",
		                    (unsigned long long)s->nomem);
	return rc ? -1 : 0;
}

/* ---- JSON ------------------------------------------------------------------ */

int rw_summary_json(const struct rw_summary *s, struct rw_buf *out, bool flat)
{
	struct rw_json j;
	char a[32];
	rw_json_init(&j, out);
	rw_json_begin_object(&j);
	/* The records' two forms (json_style): nested objects, or dotted keys. */
	if (flat) {
		rw_json_kv_cstr(&j, "event.kind", "metric");
		rw_json_key(&j, "rdpwhy.summary");
	} else {
		rw_json_key(&j, "event");
		rw_json_begin_object(&j);
		rw_json_kv_cstr(&j, "kind", "metric");
		rw_json_end_object(&j);
		rw_json_key(&j, "rdpwhy");
		rw_json_begin_object(&j);
		rw_json_key(&j, "summary");
	}
	rw_json_begin_object(&j);
	rw_json_kv_uint(&j, "connections", s->records);
	rw_json_kv_uint(&j, "failed", s->failed);
	rw_json_kv_uint(&j, "scan_summaries", s->scans);
	if (s->records) {
		utc(s->first_us, a, sizeof(a));
		rw_json_kv_cstr(&j, "start", a);
		utc(s->last_us, a, sizeof(a));
		rw_json_kv_cstr(&j, "end", a);
	}
	rw_json_key(&j, "sources");
	rw_json_begin_array(&j);
	for (size_t i = 0; i < s->n_sources; i++)
		rw_json_cstr(&j, s->sources[i]);
	rw_json_end_array(&j);
	rw_json_key(&j, "causes");
	rw_json_begin_object(&j);
	enum rw_cause cs[RW_CAUSE_COUNT];
	size_t nc = ranked_causes(s, cs);
	for (size_t i = 0; i < nc; i++)
		rw_json_kv_uint(&j, rw_cause_name(cs[i]), s->causes[cs[i]]);
	rw_json_end_object(&j);
	int rc = 0;
	for (int t = 0; t < T_COUNT; t++) {
		const struct row **v = ranked(&s->t[t]);
		if (!v) {
			rc = -1;
			break;
		}
		rw_json_key(&j, table_name[t]);
		rw_json_begin_array(&j);
		for (size_t i = 0; i < s->t[t].n; i++) {
			rw_json_begin_object(&j);
			rw_json_kv_string(&j, t == T_COOKIE ? "cookie" : "address", v[i]->key,
			                  strlen(v[i]->key));
			rw_json_kv_uint(&j, "connections", v[i]->total);
			rw_json_kv_uint(&j, "failed", v[i]->failed);
			rw_json_key(&j, "causes");
			rw_json_begin_object(&j);
			for (int c = 0; c < RW_CAUSE_COUNT; c++)
				if (v[i]->causes[c])
					rw_json_kv_uint(&j, rw_cause_name((enum rw_cause)c),
					                v[i]->causes[c]);
			rw_json_end_object(&j);
			rw_json_end_object(&j);
		}
		rw_json_end_array(&j);
		free(v);
	}
	rw_json_end_object(&j); /* the summary */
	if (!flat)
		rw_json_end_object(&j); /* rdpwhy */
	rw_json_end_object(&j);
	if (rc < 0 || rw_json_finish(&j) < 0)
		return -1;
	return rw_buf_putc(out, '\n');
}
