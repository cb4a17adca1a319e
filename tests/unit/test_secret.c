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

/* bcrypt reads 72 bytes: a longer secret is neither hashed nor matched,
 * so "73 bytes" can never pass as its 72-byte prefix. */
static void test_72_bytes(void **state)
{
    char s72[73], s73[74], h[SECRET_HASH_MAX];

    (void)state;
    memset(s72, 'a', 72);
    s72[72] = '\0';
    memset(s73, 'a', 73);
    s73[73] = '\0';
    assert_true(secret_hash(s72, 4, h));
    assert_true(secret_verify(s72, h));
    assert_int_equal(secret_check(s73, h), SECRET_MISMATCH);
    assert_false(secret_hash(s73, 4, h));
}

/* Only $2a$ hashes of the costs this daemon writes can match. */
static void test_foreign_hashes(void **state)
{
    char h[SECRET_HASH_MAX], other[SECRET_HASH_MAX];

    (void)state;
    assert_true(secret_hash("Calliope", 4, h));
    assert_true(secret_hash_ok(h));
    /* the same hash as $2b$ or $2y$ verifies in libxcrypt: refused */
    strcpy(other, h);
    other[2] = 'b';
    assert_int_equal(secret_check("Calliope", other), SECRET_BAD_HASH);
    other[2] = 'y';
    assert_int_equal(secret_check("Calliope", other), SECRET_BAD_HASH);
    /* cost 03 and 31 are outside 4..15 */
    assert_int_equal(
        secret_check("x", "$2a$03$kjh.kuSUE9EpaxgfPuo2VOQ6d2H0wWex/rR0go4a4"
                          "zcYJqJLtQyVS"),
        SECRET_BAD_HASH);
    assert_int_equal(
        secret_check("x", "$2a$31$kjh.kuSUE9EpaxgfPuo2VOQ6d2H0wWex/rR0go4a4"
                          "zcYJqJLtQyVS"),
        SECRET_BAD_HASH);
    /* md5-crypt, DES, truncated, junk */
    assert_int_equal(secret_check("Calliope", "$1$abcdefgh$0123456789abcdef"
                                              "012345"),
                     SECRET_BAD_HASH);
    assert_int_equal(secret_check("Calliope", "abJnggxhB/yWI"),
                     SECRET_BAD_HASH);
    strcpy(other, h);
    other[40] = '\0';
    assert_int_equal(secret_check("Calliope", other), SECRET_BAD_HASH);
    strcpy(other, h);
    other[30] = '!';
    assert_int_equal(secret_check("Calliope", other), SECRET_BAD_HASH);
    assert_int_equal(secret_check("Calliope", NULL), SECRET_BAD_HASH);
    assert_int_equal(secret_check("Calliope", h), SECRET_MATCH);
    assert_int_equal(secret_check("calliope", h), SECRET_MISMATCH);
    /* a cost this daemon never writes is not hashed either */
    assert_false(secret_hash("Calliope", 3, h));
    assert_false(secret_hash("Calliope", 16, h));
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
        cmocka_unit_test(test_72_bytes),
        cmocka_unit_test(test_foreign_hashes),
        cmocka_unit_test(test_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
