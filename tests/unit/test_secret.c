/* test_secret.c - bcrypt $2a$ hashing and verification. */
#include "testutil.h"

#include "secret.h"

static void test_hash_and_verify(void **state)
{
    char a[SECRET_HASH_MAX], b[SECRET_HASH_MAX];

    (void)state;
    assert_true(secret_hash("Calliope", 4, a));
    assert_true(secret_hash("Calliope", 4, b));
    assert_memory_equal(a, "$2a$04$", 7);
    assert_int_equal(strlen(a), 60);
    assert_string_not_equal(a, b); /* salted */
    assert_true(secret_verify("Calliope", a));
    assert_false(secret_verify("calliope", a));
    assert_false(secret_verify("", a));
    assert_false(secret_verify("Calliope", "plain"));
    assert_false(secret_verify("Calliope", ""));
}

static void test_known_vector(void **state)
{
    (void)state;
    /* made by PostgreSQL: SELECT crypt('Calliope', gen_salt('bf', 4)) */
    assert_true(secret_verify(
        "Calliope",
        "$2a$04$kjh.kuSUE9EpaxgfPuo2VOQ6d2H0wWex/rR0go4a4zcYJqJLtQyVS"));
}

static void test_wipe(void **state)
{
    char s[] = "secret";

    (void)state;
    secret_wipe(s);
    assert_memory_equal(s, "\0\0\0\0\0\0", 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_and_verify),
        cmocka_unit_test(test_known_vector),
        cmocka_unit_test(test_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
