/*
 * pattern.c - PCRE2 behind pattern.h: the only file that includes pcre2.h.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pattern.h"

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "validate.h"

struct pattern {
    pcre2_code *code;
    pcre2_match_context *mctx;
};

struct pattern *pattern_compile(const char *source, char *why, size_t size,
                                size_t *offset)
{
    struct pattern *p;
    const char *subset_why = NULL;
    int err = 0;
    PCRE2_SIZE erroff = 0;
    PCRE2_UCHAR msg[256];

    *offset = 0;
    if (!validate_regex_subset(source, offset, &subset_why)) {
        text_format(why, size, "%s", subset_why);
        return NULL;
    }
    if (!(p = calloc(1, sizeof(*p)))) {
        text_format(why, size, "out of memory");
        return NULL;
    }
    p->code = pcre2_compile((PCRE2_SPTR)source, PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED |
                                PCRE2_ENDANCHORED | PCRE2_NO_AUTO_CAPTURE,
                            &err, &erroff, NULL);
    if (!p->code) {
        if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
            strcpy((char *)msg, "invalid pattern");
        text_format(why, size, "%s", (const char *)msg);
        *offset = erroff;
        pattern_free(p);
        return NULL;
    }
    if (!(p->mctx = pcre2_match_context_create(NULL))) {
        text_format(why, size, "out of memory");
        pattern_free(p);
        return NULL;
    }
    pcre2_set_match_limit(p->mctx, PATTERN_MATCH_LIMIT);
    pcre2_set_depth_limit(p->mctx, PATTERN_DEPTH_LIMIT);
    return p;
}

enum pattern_result pattern_match(const struct pattern *p, const char *s)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(p->code, NULL);
    int rc;

    if (!md)
        return PATTERN_ERROR;
    rc = pcre2_match(p->code, (PCRE2_SPTR)s, strlen(s), 0, 0, md, p->mctx);
    pcre2_match_data_free(md);
    if (rc >= 0)
        return PATTERN_MATCH;
    if (rc == PCRE2_ERROR_NOMATCH)
        return PATTERN_NO_MATCH;
    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT)
        return PATTERN_LIMIT;
    return PATTERN_ERROR;
}

void pattern_free(struct pattern *p)
{
    if (!p)
        return;
    pcre2_match_context_free(p->mctx);
    pcre2_code_free(p->code);
    free(p);
}
