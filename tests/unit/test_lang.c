/*
 * test_lang.c - forms in the user's language (component/lang.c and the
 * lang "TAG" { } sections of conf.c): the shape of BCP 47 tags, RFC 4647
 * lookup, the catalog's translations with their placeholders, a form
 * definition with a translation put in, and the configuration's checks
 * (a field or option that does not exist, a bad tag: file, line, reason).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* cmocka.h needs the headers above (stdarg, stddef, setjmp) */
#include <cmocka.h>

#include "conf.h"
#include "lang.h"

static void test_tags(void **state)
{
    static const char *const good[] = {
        "en",
        "fr",
        "fr-CA",
        "pt-BR",
        "zh-Hant-TW",
        "sr-Latn",
        "de-CH-1901",
        "es-419",
        "zh-yue-HK",
        "en-US-x-twain",
        "x-whatever",
        "sl-rozaj-biske",
        "en-a-bbb-x-a-ccc",
        "EN-gb",
        "haw",
    };
    static const char *const bad[] = {
        "",
        "e",
        "fr_CA",
        "fr-",
        "-fr",
        "fr--CA",
        "123",
        "en-US-x",
        "de-1901-1901",
        "en-a-x-y",
        "en-a-bbb-a-ccc",
        "toolongtag",
        "fr CA",
        "français",
        "en-abcdefghi",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (!lang_tag_valid(good[i]))
            fail_msg("refused: '%s'", good[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (lang_tag_valid(bad[i]))
            fail_msg("accepted: '%s'", bad[i]);
    assert_false(lang_tag_valid(NULL));
}

static void test_lookup(void **state)
{
    const char *tags[] = {"fr", "pt-BR", "zh-Hant", "en"};

    (void)state;
    assert_int_equal(lang_lookup("fr", tags, 4), 0);
    assert_int_equal(lang_lookup("fr-CA", tags, 4), 0);
    assert_int_equal(lang_lookup("FR-ca", tags, 4), 0);
    assert_int_equal(lang_lookup("pt-BR", tags, 4), 1);
    assert_int_equal(lang_lookup("pt", tags, 4), -1); /* no "pt" */
    assert_int_equal(lang_lookup("pt-PT", tags, 4), -1);
    assert_int_equal(lang_lookup("zh-Hant-CN-x-private1-private2", tags, 4), 2);
    assert_int_equal(lang_lookup("en-GB", tags, 4), 3);
    assert_int_equal(lang_lookup("de", tags, 4), -1);
    assert_int_equal(lang_lookup("*", tags, 4), -1);
    assert_int_equal(lang_lookup("", tags, 4), -1);
    assert_int_equal(lang_lookup(NULL, tags, 4), -1);
    /* RFC 4647 3.4's example: a singleton goes with the subtag after it */
    {
        const char *t[] = {"zh-Hant-CN"};
        assert_int_equal(lang_lookup("zh-Hant-CN-x-private1", t, 1), 0);
    }
}

static void test_catalog(void **state)
{
    (void)state;
    for (int i = 0; i < LANG_NTEXTS; i++) {
        assert_non_null(lang_text_key((enum lang_text)i));
        assert_non_null(lang_text_english((enum lang_text)i));
        for (int k = 0; k < i; k++)
            assert_string_not_equal(lang_text_key((enum lang_text)i),
                                    lang_text_key((enum lang_text)k));
    }
    assert_null(lang_text_key(LANG_NTEXTS));
    assert_string_equal(lang_text_key(LANG_TEXT_username_taken),
                        "username_taken");
}

static void test_translate(void **state)
{
    const char *texts[LANG_NTEXTS] = {0};
    char buf[256], small[12];
    const char *other = "Something else entirely.";

    (void)state;
    texts[LANG_TEXT_username_taken] = "Ce nom d'utilisateur est déjà pris.";
    texts[LANG_TEXT_field_required] = "le champ « {field} » est obligatoire";
    texts[LANG_TEXT_field_too_long] = "{field} : plus de {n} octets";

    assert_string_equal(lang_translate(texts, "That username is already taken.",
                                       buf, sizeof(buf)),
                        "Ce nom d'utilisateur est déjà pris.");
    assert_string_equal(
        lang_translate(texts, "field 'email' is required", buf, sizeof(buf)),
        "le champ « email » est obligatoire");
    assert_string_equal(lang_translate(texts,
                                       "field 'nick' is longer than 32 bytes",
                                       buf, sizeof(buf)),
                        "nick : plus de 32 octets");
    /* not in the catalog, or not translated: as it is */
    assert_ptr_equal(lang_translate(texts, other, buf, sizeof(buf)), other);
    assert_string_equal(lang_translate(texts, "field 'x' takes a single value",
                                       buf, sizeof(buf)),
                        "field 'x' takes a single value");
    /* a placeholder matches at least one byte */
    assert_string_equal(
        lang_translate(texts, "field '' is required", buf, sizeof(buf)),
        "field '' is required");
    assert_ptr_equal(lang_translate(NULL, other, buf, sizeof(buf)), other);
    /* cut at a character boundary: "Ce nom d'ut" is 11 bytes */
    assert_string_equal(lang_translate(texts, "That username is already taken.",
                                       small, sizeof(small)),
                        "Ce nom d'ut");
    texts[LANG_TEXT_username_taken] = "ééééééé"; /* 2 bytes each */
    assert_string_equal(lang_translate(texts, "That username is already taken.",
                                       small, sizeof(small)),
                        "ééééé"); /* 10 bytes, not a half character */
}

static void test_placeholders(void **state)
{
    char bad[32];

    (void)state;
    assert_true(lang_placeholders_ok("field '{field}' is longer than {n}",
                                     "{n} max pour {field}", bad, sizeof(bad)));
    assert_true(
        lang_placeholders_ok("no holes", "des {accolades", bad, sizeof(bad)));
    assert_false(lang_placeholders_ok("field '{field}'", "{champ} manquant",
                                      bad, sizeof(bad)));
    assert_string_equal(bad, "{champ}");
}

static void test_form(void **state)
{
    struct form_option opts[] = {{"a", "Apple"}, {"b", "Banana"}};
    struct form_field_def fields[] = {
        {.var = "username", .type = FORM_TEXT_SINGLE, .label = "Username"},
        {.var = "fruit",
         .type = FORM_LIST_SINGLE,
         .label = "Fruit",
         .desc = "Pick one",
         .options = opts,
         .noptions = 2},
    };
    struct form_def def = {.form_type = "jabber:iq:register",
                           .title = "Sign up",
                           .instructions = "Fill it in",
                           .fields = fields,
                           .nfields = 2};
    struct conf_lang_option fr_opts[] = {{"b", "Banane"}};
    struct conf_lang_field fr_fields[] = {
        {.var = "fruit",
         .label = "Fruit préféré",
         .options = fr_opts,
         .noptions = 1},
    };
    struct conf_lang fr = {
        .tag = "fr", .title = "Inscription", .fields = fr_fields, .nfields = 1};
    struct lang_form lf;

    (void)state;
    assert_true(lang_form_make(&lf, &def, &fr));
    assert_string_equal(lf.def.title, "Inscription");
    assert_string_equal(lf.def.instructions, "Fill it in"); /* untranslated */
    assert_string_equal(lf.def.form_type, "jabber:iq:register");
    assert_int_equal(lf.def.nfields, 2);
    assert_string_equal(lf.def.fields[0].label, "Username");
    assert_string_equal(lf.def.fields[1].var, "fruit");
    assert_string_equal(lf.def.fields[1].label, "Fruit préféré");
    assert_string_equal(lf.def.fields[1].desc, "Pick one");
    assert_string_equal(lf.def.fields[1].options[0].value, "a");
    assert_string_equal(lf.def.fields[1].options[0].label, "Apple");
    assert_string_equal(lf.def.fields[1].options[1].value, "b");
    assert_string_equal(lf.def.fields[1].options[1].label, "Banane");
    /* the definition itself is untouched */
    assert_string_equal(fields[1].label, "Fruit");
    assert_string_equal(opts[1].label, "Banana");
    lang_form_clear(&lf);

    assert_true(lang_form_make(&lf, &def, NULL));
    assert_string_equal(lf.def.title, "Sign up");
    assert_string_equal(lf.def.fields[1].options[1].label, "Banana");
    lang_form_clear(&lf);
}

/* ---- the configuration -------------------------------------------------- */

static const char base[] =
    "component { jid = \"lang.localhost\" secret = \"s\" }\n" /* 1 */
    "registration {\n"                                        /* 2 */
    "  title = \"Sign up\"\n"                                 /* 3 */
    "  field \"username\" { label = \"Username\" }\n"         /* 4 */
    "  field \"fruit\" { type = \"list-single\"\n"            /* 5 */
    "    option \"a\" { label = \"Apple\" }\n"                /* 6 */
    "    option \"b\" { label = \"Banana\" } }\n"             /* 7 */
    "}\n";                                                    /* 8 */

static struct conf *load_text(const char *text, char **msgs)
{
    char path[] = "/tmp/registrar-test-lang.XXXXXX";
    int fd = mkstemp(path);
    size_t len = 0;
    FILE *err = open_memstream(msgs, &len);
    struct conf *c;

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    c = conf_load(path, err);
    fclose(err);
    unlink(path);
    return c;
}

static struct conf *load_with(const char *more, char **msgs)
{
    char text[4096];

    snprintf(text, sizeof(text), "%s%s", base, more);
    return load_text(text, msgs);
}

static void test_conf_none(void **state)
{
    char *msgs = NULL;
    struct conf *c = load_with("", &msgs);
    const char *tag = "unset";

    (void)state;
    assert_non_null(c);
    assert_string_equal(msgs, "");
    assert_int_equal(c->nlangs, 0);
    assert_string_equal(c->registration.default_lang, "en");
    assert_null(lang_select(c, "fr", &tag));
    assert_null(tag); /* no xml:lang on replies: as before */
    conf_free(c);
    free(msgs);
}

static void test_conf_lang(void **state)
{
    char *msgs = NULL;
    struct conf *c = load_with(
        "lang \"fr\" {\n"                                          /* 9 */
        "  title = \"Inscription\"\n"                              /* 10 */
        "  field \"fruit\" { label = \"Fruit\"\n"                  /* 11 */
        "    option \"b\" { label = \"Banane\" } }\n"              /* 12 */
        "  texts { username_taken = \"Déjà pris.\"\n"              /* 13 */
        "          field_required = \"{field} : obligatoire\" }\n" /* 14 */
        "  messages { welcome = \"Bienvenue {username} !\" }\n"    /* 15 */
        "}\n"
        "lang \"de-CH\" { title = \"Anmeldung\" }\n",
        &msgs);
    const char *tag = NULL;
    const struct conf_lang *l;

    (void)state;
    assert_string_equal(msgs, "");
    assert_non_null(c);
    assert_int_equal(c->nlangs, 2);
    l = &c->langs[0];
    assert_string_equal(l->tag, "fr");
    assert_string_equal(l->title, "Inscription");
    assert_null(l->instructions);
    assert_int_equal(l->nfields, 1);
    assert_string_equal(l->fields[0].var, "fruit");
    assert_int_equal(l->fields[0].noptions, 1);
    assert_string_equal(l->fields[0].options[0].value, "b");
    assert_string_equal(l->fields[0].options[0].label, "Banane");
    assert_string_equal(l->texts[LANG_TEXT_username_taken], "Déjà pris.");
    assert_null(l->texts[LANG_TEXT_busy]);
    assert_string_equal(l->messages.welcome, "Bienvenue {username} !");
    assert_null(l->messages.activated);

    assert_ptr_equal(lang_select(c, "fr-CA", &tag), &c->langs[0]);
    assert_string_equal(tag, "fr");
    assert_ptr_equal(lang_select(c, "de-CH-1996", &tag), &c->langs[1]);
    assert_string_equal(tag, "de-CH");
    assert_null(lang_select(c, "de", &tag)); /* no "de": the default */
    assert_string_equal(tag, "en");
    assert_null(lang_select(c, NULL, &tag));
    assert_string_equal(tag, "en");
    assert_null(lang_select(c, "en-US", &tag));
    assert_string_equal(tag, "en");
    conf_free(c);
    free(msgs);
}

static void test_conf_mistakes(void **state)
{
    char *msgs = NULL;
    struct conf *c = load_with(
        "lang \"fr\" {\n"                                        /* 9 */
        "  field \"nick\" { label = \"Pseudo\" }\n"              /* 10 */
        "  field \"fruit\" { option \"c\" { label = \"C\" } }\n" /* 11 */
        "  texts { field_required = \"{champ} manque\" }\n"      /* 12 */
        "}\n"                                                    /* 13 */
        "lang \"fr_CA\" { }\n"                                   /* 14 */
        "lang \"FR\" { }\n",                                     /* 15 */
        &msgs);

    (void)state;
    assert_null(c);
    assert_non_null(strstr(msgs, ":10: lang \"fr\": field \"nick\" is not a "
                                 "registration field\n"));
    assert_non_null(strstr(msgs, ":11: lang \"fr\": field \"fruit\": option "
                                 "\"c\" is not one of the field's options\n"));
    assert_non_null(strstr(msgs, ":12: lang \"fr\": texts: field_required: "
                                 "{champ} is not a placeholder"));
    assert_non_null(strstr(msgs, ":14: lang \"fr_CA\": not a BCP 47 "
                                 "language tag"));
    assert_non_null(strstr(msgs, ":15: lang \"FR\": a translation with this "
                                 "tag is already defined at line 9\n"));
    free(msgs);

    c = load_text("component { jid = \"lang.localhost\" secret = \"s\" }\n"
                  "registration { default_lang = \"en_GB\"\n"
                  "  field \"username\" { } }\n",
                  &msgs);
    assert_null(c);
    assert_non_null(strstr(msgs, ":2: default_lang: 'en_GB' is not a BCP 47 "
                                 "language tag"));
    free(msgs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags),          cmocka_unit_test(test_lookup),
        cmocka_unit_test(test_catalog),       cmocka_unit_test(test_translate),
        cmocka_unit_test(test_placeholders),  cmocka_unit_test(test_form),
        cmocka_unit_test(test_conf_none),     cmocka_unit_test(test_conf_lang),
        cmocka_unit_test(test_conf_mistakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
