/*
 * challenge.c - the question-and-answer file, the choice of a question,
 * the folding of answers and the rule of challenge.h.  Plain C: no XMPP,
 * no database; Unicode through text.h.
 */
#include "challenge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "text.h"

bool challenge_fold(const char *answer, char *out, size_t size)
{
    return text_fold(answer, out, size);
}

/* A language tag as kept: "*", or letters, digits and '-' (1 to 8 of them
 * between dashes, the first subtag letters), lower-cased in place. */
static bool lang_ok(char *s)
{
    size_t run = 0, len = strlen(s);
    bool first = true;

    if (strcmp(s, "*") == 0)
        return true;
    if (len == 0 || len > CHALLENGE_LANG_MAX)
        return false;
    for (char *p = s; *p; p++) {
        if (*p == '-') {
            if (run == 0)
                return false;
            run = 0;
            first = false;
            continue;
        }
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        if (!((*p >= 'a' && *p <= 'z') || (!first && *p >= '0' && *p <= '9')))
            return false;
        if (++run > 8)
            return false;
    }
    return run > 0;
}

/* s with blanks (space, tab) trimmed, in place. */
static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t')
        s++;
    n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static void qa_clear(struct challenge_qa *q)
{
    free(q->lang);
    free(q->question);
    for (size_t i = 0; i < q->nanswers; i++)
        free(q->answers[i]);
    memset(q, 0, sizeof(*q));
}

void challenge_qa_free(struct challenge_qa_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        qa_clear(&set->items[i]);
    free(set->items);
    set->items = NULL;
    set->n = 0;
}

/* One line (a copy, cut at the '|'s) into q; NULL, or the reason. */
static const char *parse_line(char *line, struct challenge_qa *q)
{
    char *fields[2 + CHALLENGE_MAX_ANSWERS + 1];
    size_t n = 0;
    char *p = line, folded[CHALLENGE_ANSWER_MAX + 1];

    if (!text_xml_chars_ok(line))
        return "not UTF-8, or a character XML does not allow";
    while (n < sizeof(fields) / sizeof(*fields)) {
        char *bar = strchr(p, '|');
        fields[n++] = p;
        if (!bar)
            break;
        *bar = '\0';
        p = bar + 1;
    }
    if (n < 3)
        return "expected LANG|QUESTION|ANSWER[|ANSWER...]";
    if (n > 2 + CHALLENGE_MAX_ANSWERS)
        return "more than 16 answers";
    if (!lang_ok(trim(fields[0])))
        return "the language is not a language tag (such as en, pt-BR) "
               "nor *";
    if (!*trim(fields[1]))
        return "the question is empty";
    if (!(q->lang = strdup(fields[0])) || !(q->question = strdup(fields[1])))
        return "out of memory";
    for (size_t i = 2; i < n; i++) {
        if (!challenge_fold(fields[i], folded, sizeof(folded)))
            return "an answer is too long";
        if (!*folded)
            return "an answer is empty";
        if (!(q->answers[q->nanswers] = strdup(folded)))
            return "out of memory";
        q->nanswers++;
    }
    return NULL;
}

bool challenge_qa_load(const char *path, struct challenge_qa_set *set,
                       char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    char line[CHALLENGE_LINE_MAX + 2];
    const char *why = NULL;
    unsigned lineno = 0;
    size_t cap = 0;

    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return false;
    }
    while (!why && fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        char *s;

        lineno++;
        if (len && line[len - 1] == '\n')
            line[--len] = '\0';
        else if (!feof(f)) {
            why = "longer than 1024 bytes";
            break;
        }
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        s = trim(line);
        if (!*s || *s == '#')
            continue;
        if (set->n == CHALLENGE_MAX_QUESTIONS) {
            why = "more than 10000 questions";
            break;
        }
        if (set->n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct challenge_qa *items =
                realloc(set->items, ncap * sizeof(*items));
            if (!items) {
                why = "out of memory";
                break;
            }
            set->items = items;
            cap = ncap;
        }
        memset(&set->items[set->n], 0, sizeof(set->items[set->n]));
        why = parse_line(s, &set->items[set->n]);
        set->n++; /* freed with the set, even when refused */
    }
    if (!why && ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        fclose(f);
        return false;
    }
    fclose(f);
    if (why) {
        snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
        return false;
    }
    if (set->n == 0) {
        snprintf(err, errlen, "%s: no question in it", path);
        return false;
    }
    return true;
}

/* The questions of language tag lang (how: 0 exactly, 1 its primary
 * subtag, 2 any language); how many, and the rnd-th of them in *out. */
static size_t matching(const struct challenge_qa_set *set, const char *lang,
                       int how, unsigned rnd, const struct challenge_qa **out)
{
    size_t n = 0, plen = strcspn(lang, "-");

    for (int pass = 0; pass < 2; pass++) {
        size_t k = 0;
        for (size_t i = 0; i < set->n; i++) {
            const char *l = set->items[i].lang;
            bool ok = how == 0 ? strcasecmp(l, lang) == 0
                      : how == 1
                          ? strlen(l) == plen && strncasecmp(l, lang, plen) == 0
                          : strcmp(l, "*") == 0;
            if (!ok)
                continue;
            if (pass == 1 && k++ == rnd % n) {
                *out = &set->items[i];
                return n;
            }
            if (pass == 0)
                n++;
        }
        if (n == 0)
            return 0;
    }
    return n;
}

const struct challenge_qa *challenge_qa_pick(const struct challenge_qa_set *set,
                                             const char *lang, unsigned rnd)
{
    const struct challenge_qa *q = NULL;

    if (!set || set->n == 0)
        return NULL;
    if (lang && *lang &&
        (matching(set, lang, 0, rnd, &q) || matching(set, lang, 1, rnd, &q)))
        return q;
    if (matching(set, "*", 2, rnd, &q))
        return q;
    if (matching(set, set->items[0].lang, 0, rnd, &q))
        return q;
    return &set->items[0];
}

static bool listed(const char *domain, const char *const *list, size_t n)
{
    for (size_t i = 0; domain && i < n; i++)
        if (strcasecmp(domain, list[i]) == 0)
            return true;
    return false;
}

bool challenge_required(enum challenge_mode mode,
                        const struct challenge_risk *r, const char **why)
{
    const char *w = NULL;

    switch (mode) {
    case CHALLENGE_OFF:
        return false;
    case CHALLENGE_ALWAYS:
        w = "always";
        break;
    case CHALLENGE_RISK:
        if (r->failed_recently)
            w = "a failed answer recently";
        else if (r->signups_per_minute &&
                 r->signups_last_minute > r->signups_per_minute)
            w = "sign-ups over the rate";
        else if (!listed(r->domain, r->local_domains, r->nlocal) &&
                 !listed(r->domain, r->trusted_domains, r->ntrusted))
            w = "a domain neither local nor trusted";
        break;
    }
    if (w && why)
        *why = w;
    return w != NULL;
}
