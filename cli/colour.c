/* --color=auto|always|never, taken out of any command's arguments before
 * the command parses them: one rule for every command, as ls and grep have.
 * auto (the default) colours a terminal only, and never when NO_COLOR is set
 * to anything (https://no-color.org) or TERM is "dumb". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "outset.h"

static int parse_when(const char *w)
{
	if (!strcmp(w, "auto"))
		return RW_COLOUR_AUTO;
	if (!strcmp(w, "always") || !strcmp(w, "yes") || !strcmp(w, "force"))
		return RW_COLOUR_ALWAYS;
	if (!strcmp(w, "never") || !strcmp(w, "no") || !strcmp(w, "none"))
		return RW_COLOUR_NEVER;
	return -1;
}

static bool is_flag(const char *a)
{
	return !strcmp(a, "--color") || !strcmp(a, "--colour");
}

int rw_cli_take_colour(int *argc, char **argv)
{
	int when = RW_COLOUR_AUTO;
	int k = 1;
	bool done = false;
	for (int i = 1; i < *argc; i++) {
		char *a = argv[i];
		const char *eq = NULL;
		if (!done && !strcmp(a, "--"))
			done = true;
		else if (!done && !strcmp(a, "--no-color")) {
			when = RW_COLOUR_NEVER;
			continue;
		} else if (!done && (!strncmp(a, "--color=", 8) || !strncmp(a, "--colour=", 9)))
			eq = strchr(a, '=') + 1;
		else if (!done && is_flag(a)) {
			/* "--color" alone means always, as in GNU tools; "--color WHEN"
			 * only when the next word is a WHEN (not a file to replay). */
			if (i + 1 < *argc && parse_when(argv[i + 1]) >= 0)
				eq = argv[++i];
			else {
				when = RW_COLOUR_ALWAYS;
				continue;
			}
		}
		if (!eq) {
			argv[k++] = a;
			continue;
		}
		when = parse_when(eq);
		if (when < 0) {
			fprintf(stderr, "rdpwhy: --color: '%s' is not auto, always or never\n", eq);
			return -1;
		}
	}
	argv[k] = NULL;
	*argc = k;
	const char *nc = getenv("NO_COLOR");
	const char *term = getenv("TERM");
	bool on = when == RW_COLOUR_ALWAYS || (when == RW_COLOUR_AUTO && isatty(STDOUT_FILENO) &&
	                                       !(nc && nc[0]) && !(term && !strcmp(term, "dumb")));
	rw_outset_set_colour(on);
	return 0;
}
