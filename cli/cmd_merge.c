/* cmd_merge.c: `llmcap merge`: combine results databases (sweep shards), idempotently. */
#include <stdio.h>

#include "plan/plan_db.h"
#include "reports/db.h"
#include "cli/cli.h"

int cmd_merge(int argc, char **argv); /* cli/cli.h */

enum { OPT_QUIET };

static const struct cli_opt merge_opts[] = {
    [OPT_QUIET] = {"quiet", 'q', NULL, "print nothing but errors"},
};

int cmd_merge(int argc, char **argv)
{
    struct cli_args a;
    int rc = cli_parse(argc, argv, merge_opts, sizeof merge_opts / sizeof merge_opts[0],
                       "OUT.db IN.db...",
                       "Copy every run of the input databases that OUT does not hold yet, with "
                       "all its rows, into OUT (created when missing), inputs in the order "
                       "given and runs in their order, with new run ids. A run is known by its "
                       "key (scenario bytes, overrides, labels, seed, llmcap version), so "
                       "merging the same input twice adds nothing. Plans are merged the same "
                       "way (by plan key and shard); once every shard of a `plan --shard I/N` "
                       "is in OUT, the whole plan is added, equal to the plan run unsharded. "
                       "Every input is checked first: one that is not an llmcap database stops "
                       "the merge before anything is written. Each input is merged in one "
                       "transaction; a failure part-way keeps the inputs merged before it.",
                       &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    bool quiet = a.n_opts > 0;
    if (a.n_pos < 2)
        return cli_usage_error(argv[0], "expected an output database and one input or more");
    struct sim_err err = {0};
    /* Every input is checked before the output is opened: a bad input exits 2 with
     * nothing written, not even a new empty output file. */
    for (size_t i = 1; i < a.n_pos; i++) {
        struct db *in = db_open_readonly(a.pos[i], &err);
        if (!in)
            return cli_error(&err);
        db_close(in);
    }
    struct db *out = db_open(a.pos[0], &err);
    if (!out)
        return cli_error(&err);
    size_t added = 0, present = 0;
    int code = EXIT_OK;
    for (size_t i = 1; i < a.n_pos; i++) {
        struct db_merge_stats st;
        if (db_merge(out, a.pos[i], &st, &err) != SIM_OK) {
            code = cli_error(&err);
            if (i > 1)
                fprintf(stderr, "llmcap: merge: note: the %zu input%s before '%s' %s merged\n",
                        i - 1, i == 2 ? "" : "s", a.pos[i], i == 2 ? "was" : "were");
            break;
        }
        added += st.n_added;
        present += st.n_present;
        if (!quiet) {
            printf("%s: %zu run%s, %zu added", a.pos[i], st.n_runs, st.n_runs == 1 ? "" : "s",
                   st.n_added);
            if (st.n_added)
                printf(" (runs %lld to %lld)", (long long)st.first_id, (long long)st.last_id);
            printf(", %zu already in %s\n", st.n_present, a.pos[0]);
        }
        struct plan_merge_stats ps;
        if (st.n_plan_rows && plan_db_merge(out, a.pos[i], &ps, &err) != SIM_OK) {
            code = cli_error(&err);
            break;
        }
        if (st.n_plan_rows && !quiet) {
            printf("%s: %zu plan%s, %zu added, %zu already in %s\n", a.pos[i], ps.n_plans,
                   ps.n_plans == 1 ? "" : "s", ps.n_added, ps.n_present, a.pos[0]);
            if (ps.n_combined)
                printf("%s: every shard of a plan is there: combined as plan %lld\n", a.pos[0],
                       (long long)ps.combined_id);
        }
        if (st.n_plan_rows && ps.n_unkeyed)
            fprintf(stderr,
                    "llmcap: merge: note: %s has %zu plan%s written before plan_meta; they are "
                    "not merged\n",
                    a.pos[i], ps.n_unkeyed, ps.n_unkeyed == 1 ? "" : "s");
    }
    if (code == EXIT_OK && !quiet)
        printf("%s: %zu run%s added, %zu already there\n", a.pos[0], added, added == 1 ? "" : "s",
               present);
    db_close(out);
    return code;
}
