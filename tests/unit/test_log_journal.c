/*
 * test_log_journal.c - the two formats of log.c: under journald (stderr
 * is the stream $JOURNAL_STREAM names by device and inode) every line
 * starts with its syslog priority and leaves the time to the journal;
 * anywhere else (no $JOURNAL_STREAM, one naming another file, one that
 * does not parse) the lines are as they always were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* stderr goes to a new file while logging; cap() returns what it got. */
static int capture_fd = -1, saved_fd = -1;

static void capture_start(void)
{
    char path[] = "/tmp/registrar-test-log.XXXXXX";

    capture_fd = mkstemp(path);
    assert_true(capture_fd >= 0);
    unlink(path);
    fflush(stderr);
    saved_fd = dup(2);
    dup2(capture_fd, 2);
}

/* JOURNAL_STREAM naming the capture file (or, with other, /dev/null). */
static void journal_stream(bool other)
{
    struct stat st;
    char v[64];

    assert_int_equal(other ? stat("/dev/null", &st) : fstat(capture_fd, &st),
                     0);
    snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    setenv("JOURNAL_STREAM", v, 1);
}

/* Stops capturing; what was written, caller frees. */
static char *capture_end(void)
{
    char *text;
    off_t n;

    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    n = lseek(capture_fd, 0, SEEK_END);
    text = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(capture_fd, text, (size_t)n, 0), n);
    close(capture_fd);
    return text;
}

static void log_each_level(void)
{
    log_set_level(LOG_LEVEL_DEBUG);
    log_error("test", "an error %d", 1);
    log_warn("test", "a warning");
    log_info("test", "some news");
    log_debug("test", "a detail\nover two lines");
    log_plain(LOG_LEVEL_ERROR, "/etc/x.conf:3: a problem");
    log_set_level(LOG_LEVEL_INFO);
}

static void test_journal(void **state)
{
    char *got;

    (void)state;
    capture_start();
    journal_stream(false);
    assert_true(log_detect_journal());
    log_each_level();
    got = capture_end();
    assert_string_equal(got, "<3>error test: an error 1\n"
                             "<4>warn test: a warning\n"
                             "<6>info test: some news\n"
                             "<7>debug test: a detail over two lines\n"
                             "<3>/etc/x.conf:3: a problem\n");
    free(got);
    unsetenv("JOURNAL_STREAM");
    assert_false(log_detect_journal());
}

/* "2026-01-02T03:04:05.678Z LEVEL module: text" */
static void assert_plain(const char *line, const char *rest)
{
    assert_true(strlen(line) > 25);
    assert_true(line[4] == '-' && line[10] == 'T' && line[19] == '.' &&
                line[23] == 'Z' && line[24] == ' ');
    assert_memory_equal(line + 25, rest, strlen(rest));
}

static void check_plain(void)
{
    char *got, *line[5], *save = NULL;

    log_each_level();
    got = capture_end();
    line[0] = strtok_r(got, "\n", &save);
    for (int i = 1; i < 5; i++)
        line[i] = strtok_r(NULL, "\n", &save);
    assert_plain(line[0], "error test: an error 1");
    assert_plain(line[1], "warn  test: a warning");
    assert_plain(line[2], "info  test: some news");
    assert_plain(line[3], "debug test: a detail over two lines");
    assert_string_equal(line[4], "/etc/x.conf:3: a problem");
    assert_null(strtok_r(NULL, "\n", &save));
    free(got);
}

static void test_plain_without_journal(void **state)
{
    (void)state;
    unsetenv("JOURNAL_STREAM");
    capture_start();
    assert_false(log_detect_journal());
    check_plain();
}

/* systemd set JOURNAL_STREAM, but stderr was redirected (a shell, the
 * unit's StandardError=file:): not the journal's stream. */
static void test_plain_when_stderr_is_elsewhere(void **state)
{
    (void)state;
    capture_start();
    journal_stream(true);
    assert_false(log_detect_journal());
    check_plain();
    unsetenv("JOURNAL_STREAM");
}

static void test_plain_when_unreadable(void **state)
{
    static const char *const bad[] = {"", "12", "12:", ":12", "1:2x", "x:y"};

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        setenv("JOURNAL_STREAM", bad[i], 1);
        assert_false(log_detect_journal());
    }
    unsetenv("JOURNAL_STREAM");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_journal),
        cmocka_unit_test(test_plain_without_journal),
        cmocka_unit_test(test_plain_when_stderr_is_elsewhere),
        cmocka_unit_test(test_plain_when_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
