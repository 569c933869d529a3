/* File safety (sink/safe_path.h): a symbolic link is followed only where
 * nobody but root or our own user could have planted it; new files are made
 * with O_EXCL and 0640/0600; a hard link in a directory others can write to
 * is not written through. The same rules in the spool (a planted link among
 * the records, the spool directory reached through a link) and the proxy's
 * pcap writer (pcap_dir reached through a link, a link at a file's name).
 * Runs as root or not: "a directory others can write to" is made with mode
 * 0777 or 1777, which no uid makes trusted. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pcap_writer.h"
#include "safe_path.h"
#include "spool.h"

static char dir[64];
static char err[1024];

static int setup(void **state)
{
	(void)state;
	umask(022);
	snprintf(dir, sizeof(dir), "/tmp/rw_safe_XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *at(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* dir/NAME, in one of four rotating buffers. */
static const char *at(const char *fmt, ...)
{
	static char bufs[4][256];
	static int k;
	char *b = bufs[k++ % 4];
	int n = snprintf(b, sizeof(bufs[0]), "%s/", dir);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b + n, sizeof(bufs[0]) - (size_t)n, fmt, ap);
	va_end(ap);
	return b;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void assert_content(const char *path, const char *want)
{
	char buf[256] = "";
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

/* A directory anyone can write to (as /tmp, or one another user owns). */
static void public_dir(const char *path, mode_t mode)
{
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void write_str(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static void test_new_and_existing(void **state)
{
	(void)state;
	const char *p = at("out.json");
	int fd = rw_safe_open(p, O_RDWR | O_APPEND | O_CREAT, 0640, err, sizeof(err));
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	write_str(fd, "a\n");
	close(fd);
	/* Existing: opened as it is, appended to. */
	fd = rw_safe_open(p, O_RDWR | O_APPEND | O_CREAT, 0640, err, sizeof(err));
	assert_true(fd >= 0);
	write_str(fd, "b\n");
	close(fd);
	assert_content(p, "a\nb\n");
	/* Relative paths, "." and "..", doubled slashes. */
	assert_int_equal(chdir(dir), 0);
	fd = rw_safe_open(".//./out.json", O_RDONLY, 0, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mkdir(at("sub"), 0700), 0);
	fd = rw_safe_open("sub/../out.json", O_RDONLY, 0, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chdir("/"), 0);
	/* Missing directories: the usual error, with the path. */
	assert_int_equal(
	        rw_safe_open(at("nodir/out.json"), O_RDWR | O_CREAT, 0640, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "nodir/out.json: No such file or directory"));
}

/* out.json -> victim planted in a directory others can write to: refused,
 * whether the directory is sticky (/tmp) or not; the victim untouched. */
static void test_link_in_public_dir_refused(void **state)
{
	(void)state;
	const mode_t modes[] = {01777, 0777, 0775};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *pub = at("pub%zu", i);
		public_dir(pub, modes[i]);
		put(at("victim%zu", i), "precious\n");
		assert_int_equal(symlink(at("victim%zu", i), at("pub%zu/out.json", i)), 0);
		int fd = rw_safe_open(at("pub%zu/out.json", i), O_RDWR | O_APPEND | O_CREAT, 0640,
		                      err, sizeof(err));
		assert_int_equal(fd, -1);
		assert_int_equal(errno, EPERM);
		assert_non_null(strstr(err, "refusing to follow the symbolic link 'out.json'"));
		assert_non_null(strstr(err, "can be written by users other than root"));
		assert_content(at("victim%zu", i), "precious\n");
		/* A new file there is fine: it is the link that is refused. */
		fd = rw_safe_open(at("pub%zu/new.json", i), O_RDWR | O_APPEND | O_CREAT, 0640, err,
		                  sizeof(err));
		assert_true(fd >= 0);
		close(fd);
	}
}

/* A directory of the path swapped for a link: pub/logs -> priv. */
static void test_dir_link_in_public_dir_refused(void **state)
{
	(void)state;
	public_dir(at("pub"), 01777);
	assert_int_equal(mkdir(at("priv"), 0700), 0);
	assert_int_equal(symlink(at("priv"), at("pub/logs")), 0);
	assert_int_equal(
	        rw_safe_open(at("pub/logs/out.json"), O_RDWR | O_CREAT, 0640, err, sizeof(err)),
	        -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(err, "symbolic link 'logs'"));
	assert_int_equal(access(at("priv/out.json"), F_OK), -1);
	assert_int_equal(rw_safe_mkdir(at("pub/logs/spool"), 0700, err, sizeof(err)), -1);
	assert_int_equal(access(at("priv/spool"), F_OK), -1);
	/* The link as the directory itself. */
	assert_int_equal(rw_safe_open(at("pub/logs"), O_RDONLY | O_DIRECTORY, 0, err, sizeof(err)),
	                 -1);
	assert_int_equal(errno, EPERM);
}

/* Links only we or root could have made are followed: the file's own and a
 * directory's. */
static void test_trusted_links_followed(void **state)
{
	(void)state;
	assert_int_equal(mkdir(at("real"), 0755), 0);
	assert_int_equal(symlink("real", at("alias")), 0); /* relative target */
	assert_int_equal(symlink(at("real/records.json"), at("records.json")), 0);
	int fd = rw_safe_open(at("alias/new.json"), O_RDWR | O_CREAT, 0640, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(access(at("real/new.json"), F_OK), 0);
	fd = rw_safe_open(at("records.json"), O_RDWR | O_APPEND | O_CREAT, 0640, err, sizeof(err));
	assert_true(fd >= 0);
	write_str(fd, "x\n");
	close(fd);
	assert_content(at("real/records.json"), "x\n");
	/* A loop ends. */
	assert_int_equal(symlink("loop2", at("loop1")), 0);
	assert_int_equal(symlink("loop1", at("loop2")), 0);
	assert_int_equal(rw_safe_open(at("loop1"), O_RDONLY, 0, err, sizeof(err)), -1);
	assert_int_equal(errno, ELOOP);
}

/* A file that must be new (O_EXCL: a pcap, a spool record) is never a link,
 * even one we own in our own directory. */
static void test_excl_never_through_link(void **state)
{
	(void)state;
	put(at("victim"), "precious\n");
	assert_int_equal(symlink(at("victim"), at("new.pcap")), 0);
	assert_int_equal(
	        rw_safe_open(at("new.pcap"), O_WRONLY | O_CREAT | O_EXCL, 0600, err, sizeof(err)),
	        -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(err, "'new.pcap' is a symbolic link"));
	assert_content(at("victim"), "precious\n");
	int fd =
	        rw_safe_open(at("fresh.pcap"), O_WRONLY | O_CREAT | O_EXCL, 0600, err, sizeof(err));
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	close(fd);
}

/* A hard link to someone else's file where others can write: not written. */
static void test_hard_link_in_public_dir(void **state)
{
	(void)state;
	public_dir(at("pub"), 01777);
	put(at("victim"), "precious\n");
	assert_int_equal(link(at("victim"), at("pub/out.json")), 0);
	assert_int_equal(rw_safe_open(at("pub/out.json"), O_RDWR | O_APPEND | O_CREAT, 0640, err,
	                              sizeof(err)),
	                 -1);
	assert_int_equal(errno, EPERM);
	assert_non_null(strstr(err, "hard links"));
	assert_content(at("victim"), "precious\n");
	int fd = rw_safe_open(at("pub/out.json"), O_RDONLY, 0, err, sizeof(err));
	assert_true(fd >= 0); /* reading is harmless */
	close(fd);
}

/* /dev/stdout, /dev/fd/N, /proc/self/fd/N: the kernel's links. */
static void test_proc_links(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	const char *dirs[] = {"/proc/self/fd", "/dev/fd"};
	for (size_t i = 0; i < 2; i++) {
		char path[64], got[8] = "";
		snprintf(path, sizeof(path), "%s/%d", dirs[i], p[1]);
		int fd = rw_safe_open(path, O_WRONLY | O_APPEND | O_CREAT, 0640, err, sizeof(err));
		assert_true(fd >= 0);
		write_str(fd, "y");
		close(fd);
		assert_int_equal(read(p[0], got, sizeof(got)), 1);
		assert_string_equal(got, "y");
	}
	close(p[0]);
	close(p[1]);
}

/* The spool: a link among the records is refused with the spool (it would
 * send, chown or remove a file of root's); one at a temporary name is
 * removed (the link, not its target); a spool reached through a planted link
 * is refused. */
static void test_spool_links(void **state)
{
	(void)state;
	put(at("victim"), "precious\n");
	assert_int_equal(mkdir(at("spool"), 0700), 0);
	assert_int_equal(symlink(at("victim"), at("spool/00000000000000000001")), 0);
	struct rw_spool *s =
	        rw_spool_open(at("spool"), 1 << 20, RW_SPOOL_DROP_OLDEST, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "00000000000000000001 is a symbolic link"));
	assert_content(at("victim"), "precious\n");
	assert_int_equal(unlink(at("spool/00000000000000000001")), 0);

	assert_int_equal(symlink(at("victim"), at("spool/.tmp-00000000000000000001")), 0);
	s = rw_spool_open(at("spool"), 1 << 20, RW_SPOOL_DROP_OLDEST, err, sizeof(err));
	assert_non_null(s);
	struct stat st;
	assert_int_equal(lstat(at("spool/.tmp-00000000000000000001"), &st), -1);
	/* A link planted at the next segment's name while running: replaced,
	 * not followed. */
	assert_int_equal(symlink(at("victim"), at("spool/00000000000000000001.seg")), 0);
	uint64_t seq = 0;
	assert_int_equal(rw_spool_put(s, "rec\n", 4, &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(rw_spool_commit(s), 1);
	assert_int_equal(lstat(at("spool/00000000000000000001.seg"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	struct rw_buf b = RW_BUF_INIT;
	assert_int_equal(rw_spool_read(s, 1, &b), 0);
	assert_string_equal(rw_buf_str(&b), "rec\n");
	rw_buf_free(&b);
	assert_content(at("victim"), "precious\n");
	rw_spool_close(s);

	public_dir(at("pub"), 01777);
	assert_int_equal(symlink(at("spool"), at("pub/spool")), 0);
	s = rw_spool_open(at("pub/spool"), 1 << 20, RW_SPOOL_DROP_OLDEST, err, sizeof(err));
	assert_null(s);
	assert_non_null(strstr(err, "refusing to follow the symbolic link 'spool'"));
}

/* The pcap writer: pcap_dir reached through a planted link is refused and
 * nothing is written where it points. */
static void test_pcap_dir_link(void **state)
{
	(void)state;
	static const struct rw_endpoint c = {
	        .family = AF_INET, .addr = {192, 0, 2, 10}, .port = 50000};
	static const struct rw_endpoint s = {
	        .family = AF_INET, .addr = {198, 51, 100, 7}, .port = 3389};
	public_dir(at("pub"), 01777);
	assert_int_equal(mkdir(at("priv"), 0700), 0);
	assert_int_equal(symlink(at("priv"), at("pub/pcaps")), 0);
	struct rw_pcapw *w =
	        rw_pcapw_open(at("pub/pcaps"), &c, &s, 1700000000000000ull, err, sizeof(err));
	assert_null(w);
	assert_non_null(strstr(err, "refusing to follow the symbolic link 'pcaps'"));
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s')\"", at("priv"));
	assert_int_equal(system(cmd), 0);
	/* The real directory works, mode 0600. */
	w = rw_pcapw_open(at("priv"), &c, &s, 1700000000000000ull, err, sizeof(err));
	assert_non_null(w);
	struct stat st;
	assert_int_equal(stat(rw_pcapw_path(w), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(rw_pcapw_close(w), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(test_new_and_existing, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_link_in_public_dir_refused, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_dir_link_in_public_dir_refused, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(test_trusted_links_followed, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_excl_never_through_link, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_hard_link_in_public_dir, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_proc_links, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_spool_links, setup, teardown),
	        cmocka_unit_test_setup_teardown(test_pcap_dir_link, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
