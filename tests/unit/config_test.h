/*
 * config_test.h - for unit tests of configuration sections: parse a YAML
 * text as file `file` and expect it refused with exactly one message.
 * A test defines CONFIG_TEST_FILE (the file name its expected messages
 * carry) before including this.
 */
#ifndef SY_CONFIG_TEST_H
#define SY_CONFIG_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "unit.h"

/* Parse `yaml`, expect failure with exactly `want` (lines joined by \n). */
#define EXPECT_ERR(yaml, want) expect_config_err(__LINE__, CONFIG_TEST_FILE, yaml, want)
static inline void expect_config_err(int line, const char *file, const char *yaml, const char *want)
{
    char *err = NULL;
    sy_config_t *c = sy_config_parse(file, yaml, strlen(yaml), &err);
    if (c != NULL || err == NULL || strcmp(err, want) != 0) {
        fprintf(stderr, "  line %d: for\n%s\n  got:  %s\n  want: %s\n", line, yaml,
                c ? "(a config)" : (err ? err : "(null)"), want);
        unit_cur_failed++;
    }
    sy_config_unref(c);
    free(err);
}

#endif
