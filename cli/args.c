/* Command lines as people already type them: `--opt=value` as well as
 * `--opt value`, for every command, without each parser knowing it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The expanded argv lives as long as the process: held here so that it
 * stays reachable (a leak checker at exit sees it in use, as it is). */
static char **expanded;

int rw_cli_expand_eq(const char *cmd, int *argc, char ***argv, const char *const *flags)
{
	int n = *argc;
	char **in = *argv;
	/* At most one more word per argument. */
	char **out = calloc((size_t)(2 * n + 1), sizeof(*out));
	if (!out) {
		fprintf(stderr, "rdpwhy %s: out of memory\n", cmd);
		return -1;
	}
	int k = 0;
	bool done = false;
	for (int i = 0; i < n; i++) {
		char *a = in[i];
		char *eq = NULL;
		if (i > 0 && !done && !strcmp(a, "--"))
			done = true;
		else if (i > 0 && !done && a[0] == '-' && a[1] == '-' && a[2] && a[2] != '=')
			eq = strchr(a, '=');
		if (!eq) {
			out[k++] = a;
			continue;
		}
		*eq = '\0'; /* argv is ours to cut, as --set already does */
		for (const char *const *f = flags; f && *f; f++) {
			if (!strcmp(a, *f)) {
				fprintf(stderr, "rdpwhy %s: %s takes no value (got '%s=%s')\n", cmd,
				        a, a, eq + 1);
				free(out);
				return -1;
			}
		}
		out[k++] = a;
		out[k++] = eq + 1;
	}
	out[k] = NULL;
	free(expanded);
	expanded = out;
	*argc = k;
	*argv = out;
	return 0;
}
