/*
 * ignored.h: the fields of pasted objects (kubectl get -o yaml, az ... show) that llmcap
 * accepts and ignores because they cannot change a simulation: status blocks,
 * metadata.managedFields, uid, resourceVersion, annotations, provisioningState, ...
 *
 * Readers add each such field once, as its dotted path from the scenario with sequence
 * indices folded to '*' ("cluster.aks.nodePools.*.osDiskSizeGb"), so a field that
 * appears in every node pool is listed once. The run records the list (the run's
 * `run_notes` row 'ignored_fields', the summary of `llmcap run` and `llmcap validate`).
 */
#ifndef LLMCAP_SIM_CONFIG_IGNORED_H
#define LLMCAP_SIM_CONFIG_IGNORED_H

#include <stddef.h>

#define IGNORED_MAX 96
#define IGNORED_PATH_MAX 128

struct ignored_fields {
    char path[IGNORED_MAX][IGNORED_PATH_MAX];
    size_t n;
    size_t more; /* distinct fields past IGNORED_MAX, counted but not kept */
};

/* Add `ctx`.`name` (either may be "" or NULL) once. NULL `ig` is a no-op. */
void ignored_add(struct ignored_fields *ig, const char *ctx, const char *name);

/* Add every field of `from` to `ig`. */
void ignored_merge(struct ignored_fields *ig, const struct ignored_fields *from);

/* "a; b; c" in the order first seen, with " (and N more)" when some were dropped; ""
 * when empty. Cut to fit `n`. Returns the length written. */
size_t ignored_format(const struct ignored_fields *ig, char *buf, size_t n);

#endif
