/*
 * conf_options.c - prints conf.c's option table (conf_options_print), one
 * option a line, for tests/unit/conf_docs.sh to hold the man page and the
 * example configuration against.
 */
#include "conf.h"

int main(void)
{
    conf_options_print(stdout);
    return ferror(stdout) || fflush(stdout) != 0;
}
