/* Sections of the embedded markdown pages: pure string work, no I/O. */
#include <string.h>

#include "docs_embedded.h"

const struct rw_doc *rw_doc_find(const char *name)
{
	for (size_t i = 0; i < rw_docs_count; i++)
		if (!strcmp(rw_docs[i].name, name))
			return &rw_docs[i];
	return NULL;
}

/* 1..6 for an ATX heading ("## Title"), else 0. */
static int heading_level(const char *line)
{
	int n = 0;
	while (line[n] == '#')
		n++;
	return n >= 1 && n <= 6 && line[n] == ' ' ? n : 0;
}

static bool is_fence(const char *line)
{
	while (*line == ' ')
		line++;
	return !strncmp(line, "```", 3) || !strncmp(line, "~~~", 3);
}

bool rw_doc_heading_name(const char *line, size_t i, char *buf, size_t cap)
{
	if (heading_level(line) != 3)
		return false;
	const char *p = line + 4;
	for (;;) {
		const char *open = strchr(p, '`');
		if (!open)
			return false;
		const char *close = strchr(open + 1, '`');
		if (!close)
			return false;
		if (i-- == 0) {
			size_t n = (size_t)(close - open - 1);
			if (n >= cap)
				return false;
			memcpy(buf, open + 1, n);
			buf[n] = '\0';
			return true;
		}
		p = close + 1;
	}
}

static bool heading_names(const char *line, const char *key)
{
	char name[128];
	for (size_t i = 0; rw_doc_heading_name(line, i, name, sizeof(name)); i++)
		if (!strcmp(name, key))
			return true;
	return false;
}

bool rw_doc_section(const struct rw_doc *d, const char *key, size_t *begin, size_t *end)
{
	bool fenced = false, found = false;
	for (size_t i = 0; i < d->n_lines; i++) {
		const char *line = d->lines[i];
		if (is_fence(line)) {
			fenced = !fenced;
			continue;
		}
		int level = fenced ? 0 : heading_level(line);
		if (found && level >= 1 && level <= 3) {
			*end = i;
			return true;
		}
		if (!found && level == 3 && heading_names(line, key)) {
			found = true;
			*begin = i;
		}
	}
	if (found)
		*end = d->n_lines;
	return found;
}

/* Appends s[0..n) to buf (length *len), dropping markdown's backticks and
 * emphasis stars. */
static void append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *len + 1 < cap; i++)
		if (s[i] != '`' && s[i] != '*')
			buf[(*len)++] = s[i];
	buf[*len] = '\0';
}

/* Drops the long asides " (...)" (over 24 bytes) that a one-line summary
 * has no room for; short ones, "(70)", stay. */
static void drop_asides(char *s)
{
	char *open;
	char *from = s;
	while ((open = strstr(from, " (")) != NULL) {
		char *close = strchr(open, ')');
		if (!close)
			return;
		if (close - open > 26)
			memmove(open, close + 1, strlen(close + 1) + 1);
		else
			from = close + 1;
	}
}

/* Where the first clause ends: at ". ", "; ", ": " or " \u2014 " (an em
 * dash, in UTF-8) outside parentheses; a summary is one line's worth. */
static size_t clause_end(const char *s)
{
	int depth = 0;
	for (size_t i = 0; s[i]; i++) {
		if (s[i] == '(')
			depth++;
		else if (s[i] == ')' && depth > 0)
			depth--;
		else if (depth > 0)
			continue;
		else if (s[i] == '.' && (s[i + 1] == ' ' || !s[i + 1]))
			return i + 1;
		else if ((s[i] == ';' || s[i] == ':') && s[i + 1] == ' ')
			return i;
		else if (!strncmp(s + i, " \xe2\x80\x94 ", 5))
			return i;
	}
	return strlen(s);
}

void rw_doc_summary(const struct rw_doc *d, size_t begin, size_t end, char *buf, size_t cap)
{
	size_t len = 0;
	buf[0] = '\0';
	size_t i = begin + 1;
	while (i < end && strncmp(d->lines[i], "- ", 2) != 0)
		i++;
	if (i >= end)
		return;
	const char *first = d->lines[i] + 2;
	if (!strncmp(first, "**", 2)) { /* the bold label: "**Wire (capture only):**" */
		const char *close = strstr(first + 2, "**");
		if (close) {
			first = close + 2;
			while (*first == ' ')
				first++;
		}
	}
	append(buf, cap, &len, first, strlen(first));
	/* Continuation lines are indented; the bullet ends at the next item,
	 * a blank line or a heading. */
	for (i++; i < end && d->lines[i][0] == ' '; i++) {
		const char *p = d->lines[i];
		while (*p == ' ')
			p++;
		if (!*p || !strncmp(p, "- ", 2))
			break;
		append(buf, cap, &len, " ", 1);
		append(buf, cap, &len, p, strlen(p));
	}
	buf[clause_end(buf)] = '\0';
	drop_asides(buf);
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '.')
		buf[len - 1] = '\0';
}

bool rw_doc_subsection(const struct rw_doc *d, size_t begin, size_t end, const char *title,
                       size_t *sub_begin, size_t *sub_end)
{
	bool fenced = false, found = false;
	size_t i = begin;
	for (; i < end && i < d->n_lines; i++) {
		const char *line = d->lines[i];
		if (is_fence(line)) {
			fenced = !fenced;
			continue;
		}
		int level = fenced || i == begin ? 0 : heading_level(line);
		if (found && level >= 1 && level <= 4)
			break;
		if (!found && level == 4 && !strcmp(line + 5, title)) {
			found = true;
			*sub_begin = i;
		}
	}
	if (!found)
		return false;
	while (i > *sub_begin + 1 && d->lines[i - 1][0] == '\0')
		i--;
	*sub_end = i;
	return true;
}
