/*
 * lang.h - a service's texts in the user's language (issue 21, part 3).
 *
 * Pure: no I/O, no XML, no libconfuse.  What is here:
 *  - the shape of a BCP 47 language tag (RFC 5646 section 2.1, checked
 *    by hand: language, script, region, variants, extensions, private
 *    use; grandfathered tags are refused), for the configuration;
 *  - RFC 4647 section 3.4 lookup of a request's xml:lang among the tags
 *    a service has texts in ("fr-CA" finds "fr"; nothing found: none);
 *  - the catalog of the fixed texts registrar sends (error <text/>s and
 *    the query's <instructions/>), each under a stable key an operator
 *    translates in 'lang "TAG" { texts { KEY = "..." } }'.  A text may
 *    hold placeholders ({field}, {n}, ...) standing for what varies; a
 *    translation puts them where its language wants them;
 *  - a form definition with a translation's title, instructions, labels,
 *    descs and option labels put in (the vars, types and values are the
 *    definition's: what is stored never depends on the language).
 */
#ifndef REGISTRAR_LANG_H
#define REGISTRAR_LANG_H

#include <stdbool.h>
#include <stddef.h>

#include "form_values.h"

/* A tag longer than this is refused (RFC 5646 4.4.1 says 35 suffices for
 * the registered subtags; with extensions more is allowed, not here). */
#define LANG_TAG_MAX 63

/* The texts, X(KEY, ENGLISH).  KEY is what registrar.conf(5) names; the
 * English text is the one registrar sends untranslated, byte for byte;
 * {NAME} in it stands for a part that varies. */
#define LANG_TEXTS(X)                                                          \
    X(form_only, "Use the enclosed form to register.")                         \
    X(legacy, "Choose a username and password to register.")                   \
    X(registered, "You are registered. Submit the form again to update "       \
                  "your registration, or send <remove/> to cancel it.")        \
    X(pending, "You are registered; your registration is pending until "       \
               "the service activates it. Submit the form again to update "    \
               "it, or send <remove/> to cancel it.")                          \
    X(by_invitation, "Registration with this service is by invitation: "       \
                     "enter your invitation token in the field 'preauth'.")    \
    X(invite_required,                                                         \
      "Registration with this service is by invitation only: give a valid "    \
      "invitation token (the form's field 'preauth', or a <preauth/> "         \
      "first).")                                                               \
    X(invite_invalid, "The provided token is invalid or expired.")             \
    X(unavailable, "The registration database is unavailable; please try "     \
                   "again later.")                                             \
    X(not_registered, "You are not registered with this service.")             \
    X(username_taken, "That username is already taken.")                       \
    X(busy, "Too many requests in progress; please try again later.")          \
    X(stopping, "The service is stopping; please try again later.")            \
    X(disabled, "Your registration is disabled: it cannot be updated, nor "    \
                "its password changed; you may cancel it.")                    \
    X(banned, "This address may not register with this service again: its "    \
              "registration was disabled and then cancelled.")                 \
    X(proof_mismatch, "The proof given does not match the registration.")      \
    X(password_mismatch, "The old password or a proof does not match.")        \
    X(no_password_change, "This service does not allow password changes.")     \
    X(no_cancel, "This service does not allow cancelling in-band.")            \
    X(cancel_form, "Submit the enclosed form to cancel your registration.")    \
    X(password_form, "Submit the enclosed form to change your password.")      \
    X(field_required, "field '{field}' is required")                           \
    X(field_too_long, "field '{field}' is longer than {n} bytes")              \
    X(field_single, "field '{field}' takes a single value")                    \
    X(field_control, "field '{field}' contains control characters")            \
    X(field_boolean, "field '{field}' must be a boolean")                      \
    X(field_jid, "field '{field}' is not a valid JID")                         \
    X(field_option, "field '{field}' has a value that is not one of its "      \
                    "options")                                                 \
    X(registered_disabled, "You are registered, but your registration is "     \
                           "disabled: it cannot be updated. Send <remove/> "   \
                           "to cancel it.")                                    \
    X(password_change_title, "Password Change")                                \
    X(password_change_instructions, "Use this form to change your password.")  \
    X(cancel_title, "Cancel Registration")                                     \
    X(cancel_instructions, "Use this form to cancel your registration.")       \
    X(no_data, "No registration data: submit the form or the fields.")         \
    X(redirect, "To register, visit {url}")                                    \
    X(challenge_required,                                                      \
      "Registration with this service needs the answer to a challenge: ask "   \
      "for the registration form (an iq get) and fill in its challenge "       \
      "field ('qa' or 'ocr').")                                                \
    X(challenge_form, "This service asks a challenge before a registration: "  \
                      "answer it in the data form (the fields alone are not "  \
                      "enough).")                                              \
    X(challenge_image_label, "Enter the text you see")                         \
    X(challenge_wrong, "The answer to the challenge is wrong: ask for the "    \
                       "form again for a new challenge.")                      \
    X(challenge_expired, "The challenge has expired: ask for the form again "  \
                         "for a new challenge.")                               \
    X(challenge_used, "The challenge was answered already: ask for the form "  \
                      "again for a new challenge.")                            \
    X(challenge_foreign, "The challenge was issued to another JID: ask for "   \
                         "the form for a challenge of your own.")              \
    X(challenge_unknown,                                                       \
      "No such challenge: ask for the form for a new challenge.")              \
    X(challenge_locked, "Too many wrong answers to the challenge: try again "  \
                        "in {n} seconds.")                                     \
    X(challenge_busy, "Too many challenges are being made: try again in a "    \
                      "few seconds.")                                          \
    X(challenge_failed, "The challenge cannot be made now; registration "      \
                        "needs one: try again later.")

#define LANG_TEXT_ENUM(key, en) LANG_TEXT_##key,
enum lang_text { LANG_TEXTS(LANG_TEXT_ENUM) LANG_NTEXTS };
#undef LANG_TEXT_ENUM

/* The key and the English text of t (static strings), NULL out of range. */
const char *lang_text_key(enum lang_text t);
const char *lang_text_english(enum lang_text t);

/* Is tag a well-formed BCP 47 language tag (RFC 5646 2.1 langtag or
 * privateuse; case ignored; at most LANG_TAG_MAX bytes)? */
bool lang_tag_valid(const char *tag);

/* RFC 4647 3.4 lookup: the index among tags[0..n) (case ignored) of the
 * first match of range, truncated from the end one subtag at a time (a
 * single-letter subtag goes with the one after it); -1 when none matches
 * or range is NULL, empty or "*". */
int lang_lookup(const char *range, const char *const *tags, size_t n);

/* Does translation use only placeholders of english?  With the name of
 * the first one it does not in bad (size bytes) when not. */
bool lang_placeholders_ok(const char *english, const char *translation,
                          char *bad, size_t size);

/* text in the language of texts (LANG_NTEXTS entries, NULL: not
 * translated): when text is one of the catalog's English texts (its
 * placeholders matching anything non-empty) and texts has it, the
 * translation with the parts that matched put in, in buf (size bytes,
 * cut at a character boundary when too long); else text itself.  Never
 * NULL for a text that is not NULL. */
const char *lang_translate(const char *const *texts, const char *text,
                           char *buf, size_t size);

struct conf_lang; /* conf.h: one lang "TAG" { } section */
struct conf;

/* The translation of service c for a request's xml:lang (range; NULL:
 * none): the one RFC 4647 lookup finds among c's lang sections and its
 * default_lang; NULL when that is default_lang or nothing matches (the
 * untranslated texts).  *tag (borrowed from c): the language used, the
 * translation's or default_lang; NULL when c has no lang section at all
 * (replies then carry no xml:lang, as before translations existed). */
const struct conf_lang *lang_select(const struct conf *c, const char *range,
                                    const char **tag);

/* A form definition with a translation put in: def borrows from the
 * definition and the translation, and owns the copies of fields and
 * options (lang_form_clear). */
struct lang_form {
    struct form_def def;
    struct form_field_def *fields;
    struct form_option *options;
};

/* Fills out from in with tr's texts (tr NULL: in's own).  False when out of
 * memory (out is then empty).  The caller must lang_form_clear(out) after a
 * success. */
bool lang_form_make(struct lang_form *out, const struct form_def *in,
                    const struct conf_lang *tr);
void lang_form_clear(struct lang_form *f);

#endif
