/*
 * Zone names beside zone IDs in exports, reports and comparisons (docs/nodes.md, "Zone
 * names and zone IDs"). zones_spot.yaml maps us-east-1a -> use1-az4 and us-east-1c ->
 * use1-az1; by the catalog's spot prices (use1-az4 $0.9599/h, use1-az1 $1.1975/h) both
 * initial nodes start in use1-az4, the what-if notice at 2 min reclaims node 0 at 120 s,
 * and Karpenter's unavailable-offerings cache sends its replacement (node 2) to use1-az1.
 */
#include <cjson/cJSON.h>

#include "helpers.h"
#include "reports/zones.h"

#define ZONES_SPOT FIXTURES "/reports/zones_spot.yaml"
#define AKS FIXTURES "/cluster/good_aks_az.yaml"

Test(zones, a_zone_id_is_named_only_by_its_own_entry)
{
    const char *notes = "use1-az1=us-east-1c; use1-az10=us-east-1x; use1-az4=us-east-1a";
    char b[64];
    cr_assert(zone_name_of(notes, "use1-az1", b, sizeof b));
    cr_expect_str_eq(b, "us-east-1c");
    cr_assert(zone_name_of(notes, "use1-az10", b, sizeof b));
    cr_expect_str_eq(b, "us-east-1x");
    cr_assert(zone_name_of(notes, "use1-az4", b, sizeof b));
    cr_expect_str_eq(b, "us-east-1a");
    cr_expect(!zone_name_of(notes, "use1-az", b, sizeof b));
    cr_expect(!zone_name_of(notes, "use1-az2", b, sizeof b));
    cr_expect_str_eq(b, "");
    cr_expect(!zone_name_of("", "use1-az1", b, sizeof b));
    cr_expect(!zone_name_of(NULL, "use1-az1", b, sizeof b));

    struct zone_notes z;
    char d[160];
    zone_notes_set(&z, notes, "aws us-east-1");
    zone_display(&z, "use1-az4", d, sizeof d);
    cr_expect_str_eq(d, "use1-az4 (us-east-1a)");
    zone_display(&z, "use1-az6", d, sizeof d);
    cr_expect_str_eq(d, "use1-az6");
    zone_display(&z, NULL, d, sizeof d);
    cr_expect_str_eq(d, "-");
    zone_notes_set(&z, NULL, "azure eastus");
    cr_expect_str_eq(z.cloud, "azure");
    cr_expect_str_eq(z.region, "eastus");
    zone_display(&z, "eastus", d, sizeof d);
    cr_expect_str_eq(d, "eastus (region)");
    zone_notes_set(&z, NULL, NULL);
    zone_display(&z, "eastus", d, sizeof d);
    cr_expect_str_eq(d, "eastus");
}

Test(zones, export_writes_the_zone_name_beside_the_zone_id)
{
    char dir[256];
    make_tmp(dir, sizeof dir, "zonesexp");
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/z.db --quiet", ZONES_SPOT, dir), 0);
    cr_assert_eq(llmcap(dir, "", "export %s/z.db --table nodes", dir), 0);
    char *csv = out_of(dir, "out");
    cr_expect(!strncmp(csv,
                       "run_id,node_id,instance_type,capacity_type,zone,zone_name,"
                       "price_usd_per_hour,requested_s,",
                       86),
              "%s", csv);
    cr_expect(strstr(csv, "\r\n1,0,g6e.xlarge,spot,use1-az4,us-east-1a,0.9599,0,") != NULL,
              "%s", csv);
    cr_expect(strstr(csv, "\r\n1,1,g6e.xlarge,spot,use1-az4,us-east-1a,0.9599,0,") != NULL,
              "%s", csv);
    cr_expect(strstr(csv, "\r\n1,2,g6e.xlarge,spot,use1-az1,us-east-1c,1.1975,121,") != NULL,
              "%s", csv);
    free(csv);
    cr_assert_eq(llmcap(dir, "", "export %s/z.db --table nodes --format jsonl", dir), 0);
    char *jl = out_of(dir, "out");
    char *l3 = strstr(jl, "\"node_id\":2");
    cr_assert_not_null(l3, "%s", jl);
    cr_expect(strstr(l3, "\"zone\":\"use1-az1\",\"zone_name\":\"us-east-1c\"") != NULL, "%s",
              jl);
    free(jl);
    /* without cluster.zone_ids (AKS: the zone column is the region) the name is empty */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/a.db --quiet", AKS, dir), 0);
    cr_assert_eq(llmcap(dir, "", "export %s/a.db --table nodes", dir), 0);
    char *a = out_of(dir, "out");
    cr_expect(strstr(a, "\r\n1,0,Standard_NC24ads_A100_v4,on-demand,eastus,,3.673,") != NULL,
              "%s", a);
    free(a);
    rm_tree(dir);
}

Test(zones, report_and_compare_name_the_zones)
{
    char dir[256], p[512], env[512];
    make_tmp(dir, sizeof dir, "zonesrep");
    snprintf(env, sizeof env, "PATH=%s/empty", dir); /* no gnuplot: the text is enough */
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/z.db --quiet", ZONES_SPOT, dir), 0);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/z.db --quiet", AKS, dir), 0);
    cr_assert_eq(llmcap(dir, env, "report %s/z.db --run 1 -o %s/r", dir, dir), 0,
                 "%s", out_of(dir, "err"));
    snprintf(p, sizeof p, "%s/r/report.md", dir);
    char *md = slurp(p, NULL);
    cr_assert_not_null(md);
    /* costs by hand: node 0 0.9599 $/h x 120 s = $0.0320, node 1 to the run's end, node 2
     * 1.1975 $/h from 121 s: the groups' sums round to $0.13 and $0.09 (the database's
     * cost_usd summed, checked below) */
    cr_expect(strstr(md, "| `use1-az1 (us-east-1c)` | `g6e.xlarge` | spot | 1 | 0 | $0.09 |") !=
                  NULL,
              "%s", md);
    cr_expect(strstr(md, "| `use1-az4 (us-east-1a)` | `g6e.xlarge` | spot | 2 | 1 | $0.13 |") !=
                  NULL,
              "%s", md);
    cr_expect(strstr(md, "1 spot interruption reclaimed node at 0:02:00; by zone: 1 in use1-az4 "
                         "(us-east-1a).") != NULL,
              "%s", md);
    free(md);
    snprintf(p, sizeof p, "%s/z.db", dir);
    cr_expect_float_eq(query_num(p, "SELECT sum(cost_usd) FROM nodes WHERE run_id = 1 AND "
                                    "zone = 'use1-az4'"),
                       0.9599 * 120 / 3600 + query_num(p, "SELECT cost_usd FROM nodes WHERE "
                                                           "run_id = 1 AND node_id = 1"),
                       1e-9);
    cr_assert_eq(llmcap(dir, env, "report %s/z.db --run 2 -o %s/a", dir, dir), 0);
    snprintf(p, sizeof p, "%s/a/report.md", dir);
    md = slurp(p, NULL);
    cr_assert_not_null(md);
    cr_expect(strstr(md, "| `eastus (region)` | `Standard_NC24ads_A100_v4` | on-demand | 2 |") !=
                  NULL,
              "%s", md);
    cr_expect(strstr(md, "On Azure the zone column is the region (eastus)") != NULL, "%s", md);
    free(md);

    cr_assert_eq(llmcap(dir, "", "compare %s/z.db", dir), 0, "%s", out_of(dir, "err"));
    char *txt = out_of(dir, "out");
    cr_expect(strstr(txt, "good_aks_az, seed 1; nodes 2 in eastus (region)\n") != NULL, "%s",
              txt);
    cr_expect(strstr(txt, "zones-spot, seed 3; nodes 1 in use1-az1 (us-east-1c), 2 in use1-az4 "
                          "(us-east-1a)\n") != NULL,
              "%s", txt);
    free(txt);
    cr_assert_eq(llmcap(dir, "", "compare %s/z.db --format json", dir), 0);
    char *js = out_of(dir, "out");
    cJSON *o = cJSON_Parse(js);
    cr_assert_not_null(o, "%s", js);
    cJSON *r0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "runs"), 0);
    cJSON *zs = cJSON_GetObjectItemCaseSensitive(r0, "nodes_by_zone");
    cr_assert_eq(cJSON_GetArraySize(zs), 2, "%s", js);
    cJSON *z1 = cJSON_GetArrayItem(zs, 1);
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(z1, "zone")->valuestring, "use1-az4");
    cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(z1, "zone_name")->valuestring,
                     "us-east-1a");
    cr_expect_eq(cJSON_GetObjectItemCaseSensitive(z1, "nodes")->valueint, 2);
    cJSON_Delete(o);
    free(js);
    rm_tree(dir);
}

Test(zones, karpenter_on_azure_shows_the_aks_zone_label)
{
    /* good_karpenter_azure.yaml: the NodePool allows eastus-2 and eastus-3 (AKS's label
     * form, Azure/karpenter-provider-azure v1.14.2); at one regional spot price (0.444433
     * $/h) the first, eastus-2, takes the node. The zone column is that label, not the
     * region, and the report says so. */
    char dir[256], p[512], env[512];
    make_tmp(dir, sizeof dir, "zoneskaz");
    snprintf(env, sizeof env, "PATH=%s/empty", dir);
    cr_assert_eq(llmcap(dir, "", "run %s -o %s/k.db --quiet",
                        FIXTURES "/cluster/good_karpenter_azure.yaml", dir),
                 0, "%s", out_of(dir, "err"));
    cr_assert_eq(llmcap(dir, "", "export %s/k.db --table nodes", dir), 0);
    char *csv = out_of(dir, "out");
    cr_expect(strstr(csv, "\r\n1,0,Standard_NC24ads_A100_v4,spot,eastus-2,,0.444433,") != NULL,
              "%s", csv);
    free(csv);
    cr_assert_eq(llmcap(dir, env, "report %s/k.db -o %s/r", dir, dir), 0, "%s",
                 out_of(dir, "err"));
    snprintf(p, sizeof p, "%s/r/report.md", dir);
    char *md = slurp(p, NULL);
    cr_assert_not_null(md);
    cr_expect(strstr(md, "| `eastus-2` | `Standard_NC24ads_A100_v4` | spot | 1 | 0 |") != NULL,
              "%s", md);
    cr_expect(strstr(md, "The zone column is the nodes' topology.kubernetes.io/zone label as "
                         "AKS sets it (eastus-1, ...; 0 for a regional node)") != NULL,
              "%s", md);
    cr_expect(strstr(md, "(region)") == NULL, "%s", md);
    free(md);
    rm_tree(dir);
}
