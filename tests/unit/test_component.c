/*
 * test_component.c - the keepalive ping's id and how its answer is told
 * apart from a user's iq (component.c's only pure parts; the connection
 * itself is exercised by the end-to-end and fault suites).
 */
#include "testutil.h"

#include "component.h"

static void test_ping_token_random(void **state)
{
    char a[33], b[33], small[32];

    (void)state;
    assert_true(component_ping_token(a, sizeof(a)));
    assert_true(component_ping_token(b, sizeof(b)));
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b); /* 128 random bits each */
    assert_false(component_ping_token(small, sizeof(small)));
}

static void test_ping_reply_only_result_or_error(void **state)
{
    const char *id = "registrar-ping-0123456789abcdef0123456789abcdef-1";

    (void)state;
    assert_true(component_is_ping_reply(id, "iq", "result", id));
    assert_true(component_is_ping_reply(id, "iq", "error", id));
    /* a user's request with the same id is routed, never swallowed */
    assert_false(component_is_ping_reply(id, "iq", "get", id));
    assert_false(component_is_ping_reply(id, "iq", "set", id));
    assert_false(component_is_ping_reply(id, "message", "error", id));
    /* today's guessable ids, and no ping out */
    assert_false(
        component_is_ping_reply(id, "iq", "result", "registrar-ping-1"));
    assert_false(component_is_ping_reply(NULL, "iq", "result", id));
    assert_false(component_is_ping_reply(id, "iq", NULL, id));
    assert_false(component_is_ping_reply(id, "iq", "result", NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping_token_random),
        cmocka_unit_test(test_ping_reply_only_result_or_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
