/* The ignored-field list: indices folded, each path once, the cap counted. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "sim/config/ignored.h"

Test(ignored, indices_fold_and_each_path_is_listed_once)
{
    struct ignored_fields ig = {0};
    ignored_add(&ig, "cluster.aks.nodePools.1", "osDiskSizeGb");
    ignored_add(&ig, "cluster.aks.nodePools.2", "osDiskSizeGb");
    ignored_add(&ig, "spec.triggers.10.metadata", "serverAddress");
    ignored_add(&ig, "status", "");
    ignored_add(&ig, "", "status");
    ignored_add(&ig, "a.b1.2x", NULL); /* only all-digit segments fold */
    cr_assert_eq(ig.n, 4);
    char buf[512];
    ignored_format(&ig, buf, sizeof buf);
    cr_assert_str_eq(buf, "cluster.aks.nodePools.*.osDiskSizeGb; "
                          "spec.triggers.*.metadata.serverAddress; status; a.b1.2x");
}

Test(ignored, past_the_cap_fields_are_counted_and_the_text_is_cut_to_fit)
{
    struct ignored_fields ig = {0};
    for (int i = 0; i < IGNORED_MAX + 5; i++) {
        char name[16];
        snprintf(name, sizeof name, "f%d", i);
        ignored_add(&ig, "x", name);
    }
    cr_assert_eq(ig.n, IGNORED_MAX);
    cr_assert_eq(ig.more, 5);
    char big[IGNORED_MAX * (IGNORED_PATH_MAX + 2) + 64];
    ignored_format(&ig, big, sizeof big);
    cr_assert(strstr(big, " (and 5 more)") != NULL);
    char small[12];
    size_t n = ignored_format(&ig, small, sizeof small);
    cr_assert_str_eq(small, "x.f0; x.f1"); /* whole entries only */
    cr_assert_eq(n, strlen(small));
}
