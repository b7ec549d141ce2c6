/* Every scenario the project ships (scenarios/, bench/scenarios/) loads and validates:
 * they are what users start from, so they must never rot. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int validate_dir(const char *dir)
{
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "cannot open %s", dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        char cmd[2048];
        /* calibrate-*.yaml are `llmcap calibrate` specs, not scenarios */
        bool spec = strncmp(e->d_name, "calibrate-", 10) == 0;
        snprintf(cmd, sizeof cmd, "%s %s %s/%s --quiet 2>&1", LLMCAP_BIN,
                 spec ? "calibrate --check" : "validate", dir, e->d_name);
        FILE *p = popen(cmd, "r");
        char out[1024] = {0};
        size_t got = fread(out, 1, sizeof out - 1, p);
        out[got] = '\0';
        int status = pclose(p);
        cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s/%s: %s", dir, e->d_name,
                  out);
        n++;
    }
    closedir(d);
    return n;
}

Test(shipped, every_scenario_in_scenarios_validates)
{
    cr_assert_geq(validate_dir(SOURCE_DIR "/scenarios"), 10);
}

Test(shipped, every_bench_scenario_validates)
{
    cr_assert_geq(validate_dir(SOURCE_DIR "/bench/scenarios"), 2);
}
