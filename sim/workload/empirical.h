/*
 * empirical.h: an empirical length distribution, one or two columns of a CSV file.
 *
 * The file has a header line naming its columns (comma-separated, no quoting); the
 * named columns are read whole into memory (a length distribution, not a trace: the
 * bundled ShareGPT file is 30,731 rows). Values are numbers >= 0. Loading two columns
 * at once keeps each row's pair, so a sampler can draw prompt and output together.
 */
#ifndef LLMCAP_SIM_EMPIRICAL_H
#define LLMCAP_SIM_EMPIRICAL_H

#include <stddef.h>

#include "sim/core/err.h"

struct emp_table;

/*
 * Load column `col_a` and, when `col_b` is not NULL, column `col_b` of the CSV file
 * `path`. Caller owns: emp_table_free(). NULL + err (SIM_ENOENT for a missing file,
 * SIM_EINVAL with "path:line:col" for a missing column, a malformed row or no rows).
 */
struct emp_table *emp_table_load(const char *path, const char *col_a, const char *col_b,
                                 struct sim_err *err);

size_t emp_table_rows(const struct emp_table *t);

/* Row `row` (< emp_table_rows) of column 0 (`col_a`) or 1 (`col_b`). */
double emp_table_value(const struct emp_table *t, size_t row, int which);

void emp_table_free(struct emp_table *t); /* NULL is a no-op */

#endif
