/*
 * challenge.h - XEP-0158 challenges, the parts that know no XMPP and no
 * database: the question-and-answer file (challenge { qa_file }), the
 * choice of a question for a language, the folding of answers, and the
 * rule that says when a new registration must answer a challenge.
 *
 * The flows that issue and check challenges are reg_challenge.c's; the
 * challenges themselves live in PostgreSQL (sql/015), their answers only
 * as salted SHA-256 of the folded answer.
 */
#ifndef REGISTRAR_CHALLENGE_H
#define REGISTRAR_CHALLENGE_H

#include <stdbool.h>
#include <stddef.h>

#define CHALLENGE_MAX_ANSWERS 16 /* accepted answers per question */
#define CHALLENGE_MAX_QUESTIONS 10000
#define CHALLENGE_LINE_MAX 1024  /* bytes of a qa_file line */
#define CHALLENGE_ANSWER_MAX 256 /* bytes of an answer, folded */
#define CHALLENGE_LANG_MAX 35    /* a BCP 47 tag, or "*" */

/* One line of the qa_file: LANG|QUESTION|ANSWER[|ANSWER...].  The
 * answers are kept folded (challenge_fold). */
struct challenge_qa {
    char *lang; /* lower case; "*": any language */
    char *question;
    char *answers[CHALLENGE_MAX_ANSWERS];
    size_t nanswers;
};

struct challenge_qa_set {
    struct challenge_qa *items;
    size_t n;
};

/* Reads path into set (empty on entry; the caller frees it with
 * challenge_qa_free whatever the result).  False on the first problem,
 * written to err as "PATH:LINE: reason" (or "PATH: reason"): the file
 * cannot be read, a line is over CHALLENGE_LINE_MAX bytes, not UTF-8 or
 * holds a character XML does not allow, has no question or no answer,
 * a bad language tag, over CHALLENGE_MAX_ANSWERS answers, an answer empty
 * or over CHALLENGE_ANSWER_MAX bytes once folded; or there is no
 * question at all, or over CHALLENGE_MAX_QUESTIONS.  Blank lines and
 * lines whose first non-blank character is '#' are comments. */
bool challenge_qa_load(const char *path, struct challenge_qa_set *set,
                       char *err, size_t errlen);
void challenge_qa_free(struct challenge_qa_set *set);

/* A question for the language lang (NULL: none asked): among those of
 * lang exactly, else of its primary subtag ("fr" for "fr-CA"), else those
 * for any language ("*"), else those of the file's first line's language;
 * rnd chooses among them.  NULL only when set is empty. */
const struct challenge_qa *challenge_qa_pick(const struct challenge_qa_set *set,
                                             const char *lang, unsigned rnd);

/* An answer as compared: NFKC, case-folded, white space trimmed and runs
 * of it one space (text_fold); false when it cannot be folded into out. */
bool challenge_fold(const char *answer, char *out, size_t size);

/* When a challenge is asked of a new registration. */
enum challenge_mode {
    CHALLENGE_OFF,    /* never */
    CHALLENGE_ALWAYS, /* every new registration */
    CHALLENGE_RISK,   /* when challenge_risky says so */
};

/* What the 'risk' rule weighs. */
struct challenge_risk {
    const char *domain;               /* the requester's */
    const char *const *local_domains; /* registration { local_domains } */
    size_t nlocal;
    const char *const *trusted_domains; /* challenge { trusted_domains } */
    size_t ntrusted;
    bool failed_recently;              /* a failed answer, within lockout */
    unsigned long signups_last_minute; /* the service's */
    unsigned signups_per_minute;       /* the threshold; 0: none */
};

/* Whether mode asks the new registration r describes for a challenge, and
 * why (a constant text for the log) in *why when it does. */
bool challenge_required(enum challenge_mode mode,
                        const struct challenge_risk *r, const char **why);

#endif
