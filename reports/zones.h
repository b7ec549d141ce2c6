/*
 * zones.h: the zone a node ran in, as people name it, for reports, exports and
 * comparisons.
 *
 * The nodes table keeps the zone as the simulation used it: on AWS the zone ID
 * (`use1-az4`, the same physical zone in every account; the catalog's spot prices are per
 * ID), on Azure with the cluster autoscaler the region (`eastus`: the catalog prices Azure
 * per region; an AKS pool's availabilityZones "1", "2", "3" only label its nodes), on
 * Azure with Karpenter the node's zone label (`eastus-1`, `0` for a regional node). A run with
 * cluster.zone_ids records the account's names in run_notes 'zone_names'
 * ("use1-az1=us-east-1c; use1-az4=us-east-1a"), and every run with a node provisioner its
 * cloud and region in 'cloud_region' ("aws us-east-1", "azure eastus"). These functions
 * read them back (docs/nodes.md#zone-names-and-zone-ids-aws).
 */
#ifndef LLMCAP_REPORTS_ZONES_H
#define LLMCAP_REPORTS_ZONES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reports/db.h"
#include "sim/core/err.h"

struct zone_notes {
    char names[1024]; /* run_notes 'zone_names', "" when none */
    char cloud[16];   /* "aws", "azure", "" when not recorded */
    char region[48];
};

/* Fill `z` from the two notes' texts (either may be NULL). */
void zone_notes_set(struct zone_notes *z, const char *zone_names, const char *cloud_region);

/* Read run `run_id`'s notes; a database without run_notes (older files) or a run without
 * the notes gives empty ones. SIM_OK, or the query's error. */
int zone_notes_load(struct db *db, int64_t run_id, struct zone_notes *z, struct sim_err *err);

/* The zone name of zone ID `id` in a 'zone_names' text, into buf; false (buf "") when the
 * text does not name it. */
bool zone_name_of(const char *zone_names, const char *id, char *buf, size_t n);

/* `zone` for people: "use1-az4 (us-east-1a)" where the run names it, "eastus (region)" for
 * an Azure run (the zone column holds the region), else the zone itself; "-" for none. */
void zone_display(const struct zone_notes *z, const char *zone, char *buf, size_t n);

#endif
