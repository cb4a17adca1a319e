/* test_policy.c - access policy and token-bucket rate limits. */
#include "testutil.h"

#include "limiter.h"
#include "policy.h"

static char *local[] = {"example.org"};
static char *allowed[] = {"example.org", "partner.example"};
static char *star[] = {"*"};
static char *blocked[] = {"*@spam.example", "bad*@example.org"};

static void test_local_only_by_default(void **state)
{
    struct conf_registration r = {.local_domains = {local, 1}};
    const char *why;

    (void)state;
    assert_int_equal(policy_check(&r, "juliet@example.org", &why),
                     POLICY_ALLOW);
    assert_int_equal(policy_check(&r, "juliet@EXAMPLE.org", &why),
                     POLICY_ALLOW);
    assert_int_equal(policy_check(&r, "romeo@montague.example", &why),
                     POLICY_REMOTE);
    assert_contains(why, "other servers");
}

static void test_allowed_domains(void **state)
{
    struct conf_registration r = {.local_domains = {local, 1},
                                  .allowed_domains = {allowed, 2}};
    const char *why;

    (void)state;
    assert_int_equal(policy_check(&r, "a@partner.example", &why), POLICY_ALLOW);
    assert_int_equal(policy_check(&r, "a@other.example", &why), POLICY_DOMAIN);
    assert_contains(why, "domain");
    r.allowed_domains = (struct conf_list){star, 1};
    assert_int_equal(policy_check(&r, "a@other.example", &why), POLICY_ALLOW);
}

static void test_blocked(void **state)
{
    struct conf_registration r = {.local_domains = {local, 1},
                                  .allowed_domains = {star, 1},
                                  .blocked_jids = {blocked, 2}};
    const char *why;

    (void)state;
    assert_int_equal(policy_check(&r, "x@spam.example", &why), POLICY_BLOCKED);
    assert_int_equal(policy_check(&r, "BadGuy@example.org", &why),
                     POLICY_BLOCKED);
    assert_int_equal(policy_check(&r, "good@example.org", &why), POLICY_ALLOW);
}

static void test_buckets(void **state)
{
    struct conf_limits l = {.jid_burst = 2,
                            .jid_per_minute = 6,
                            .domain_burst = 3,
                            .domain_per_minute = 60,
                            .global_burst = 100,
                            .global_per_minute = 600};
    struct limiter *lim = limiter_new(&l, NULL);
    const char *which;
    double retry;

    (void)state;
    assert_true(limiter_take(lim, "a@x.example", 0, &which, &retry));
    assert_true(limiter_take(lim, "a@x.example", 0, &which, &retry));
    assert_false(limiter_take(lim, "a@x.example", 0, &which, &retry));
    assert_string_equal(which, "jid");
    assert_true(retry > 9.9 && retry < 10.1); /* 6 a minute */
    /* another JID of the domain: one domain token left */
    assert_true(limiter_take(lim, "b@x.example", 0, &which, &retry));
    assert_false(limiter_take(lim, "c@X.example", 0, &which, &retry));
    assert_string_equal(which, "domain");
    /* a refused request charged nothing: after 1 s the domain has one */
    assert_true(limiter_take(lim, "c@x.example", 1.0, &which, &retry));
    /* recovered with time */
    assert_true(limiter_take(lim, "a@x.example", 11.0, &which, &retry));
    limiter_free(lim);
}

static void test_global_and_disabled(void **state)
{
    struct conf_limits l = {.global_burst = 2, .global_per_minute = 60};
    struct limiter *lim = limiter_new(&l, NULL);
    const char *which;

    (void)state;
    assert_true(limiter_take(lim, "a@x", 0, &which, NULL));
    assert_true(limiter_take(lim, "b@y", 0, &which, NULL));
    assert_false(limiter_take(lim, "c@z", 0, &which, NULL));
    assert_string_equal(which, "service");
    assert_int_equal(limiter_size(lim), 0); /* per-JID buckets disabled */
    limiter_free(lim);
}

static void test_bounded_memory(void **state)
{
    struct conf_limits l = {.jid_burst = 1, .jid_per_minute = 60};
    struct limiter *lim = limiter_new(&l, NULL);
    char jid[64];

    (void)state;
    for (int i = 0; i < 20000; i++) {
        snprintf(jid, sizeof(jid), "u%d@x.example", i);
        /* one request a second each: old buckets refill and are dropped */
        assert_true(limiter_take(lim, jid, i, NULL, NULL));
    }
    assert_true(limiter_size(lim) <= 4097);
    limiter_free(lim);
}

/* The defaults of conf.c's limits section. */
#define DEFAULT_LIMITS                                                         \
    {                                                                          \
        .jid_burst = 5, .jid_per_minute = 10, .domain_burst = 50,              \
        .domain_per_minute = 120, .global_burst = 200,                         \
        .global_per_minute = 1200                                              \
    }

/* A dozen users of the local domain, each using its whole burst, do not
 * lock the other users of that domain out: they are authenticated
 * accounts, held by their own buckets.  A remote domain is still one
 * bucket (a remote server can mint JIDs). */
static void test_local_domain_not_shared(void **state)
{
    struct conf_limits l = DEFAULT_LIMITS;
    struct conf_list locals = {local, 1};
    struct limiter *lim = limiter_new(&l, &locals);
    const char *which = NULL;
    char jid[64];
    int i, n;

    (void)state;
    for (i = 0; i < 12; i++) {
        snprintf(jid, sizeof(jid), "user%d@example.org", i);
        for (n = 0; limiter_take(lim, jid, 0, &which, NULL); n++)
            ;
        assert_int_equal(n, 5);
        assert_string_equal(which, "jid");
    }
    assert_true(limiter_take(lim, "thirteenth@example.org", 0, &which, NULL));
    assert_true(limiter_take(lim, "other@EXAMPLE.ORG", 0, &which, NULL));
    /* 62 tokens taken of the service's 200 */
    for (i = 0; i < 12; i++) {
        snprintf(jid, sizeof(jid), "user%d@remote.example", i);
        for (n = 0; n < 5; n++)
            limiter_take(lim, jid, 0, &which, NULL);
    }
    assert_false(limiter_take(lim, "new@remote.example", 0, &which, NULL));
    assert_string_equal(which, "domain");
    limiter_free(lim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_only_by_default),
        cmocka_unit_test(test_allowed_domains),
        cmocka_unit_test(test_blocked),
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_global_and_disabled),
        cmocka_unit_test(test_bounded_memory),
        cmocka_unit_test(test_local_domain_not_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
