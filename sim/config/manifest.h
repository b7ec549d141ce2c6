/*
 * manifest.h: read pasted Kubernetes autoscaling objects into llmcap's configs.
 *
 * A KEDA `keda.sh/v1alpha1` ScaledObject becomes a struct keda_config (sim/k8s/keda.h) and an
 * `autoscaling/v2` HorizontalPodAutoscaler a struct hpa_config (sim/k8s/hpa.h). The readers
 * work on the positioned YAML tree (sim/config/ynode.h), in Kubernetes' own spelling, and are
 * strict: an unknown key is an error with a did-you-mean, a wrong type or range is an
 * error at file:line:col, and what the API server or KEDA would reject is rejected here
 * too (with the same rule in llmcap's words). Defaults are filled as the API server and
 * KEDA fill them (HPA behavior: pkg/apis/autoscaling/v2/defaults.go). Fields that do not
 * change what the autoscaler decides (metadata.labels, serverAddress, authenticationRef,
 * ...) are accepted and ignored; docs/autoscaling-semantics.md lists them.
 *
 * Key names in messages are dotted paths from the object ("spec.triggers.0.metadata.
 * threshold"), prefixed by `ctx` when the object sits inside a scenario
 * ("fleet.autoscaler.scaledObject.spec..."); pass "" for an object read on its own.
 */
#ifndef LLMCAP_SIM_MANIFEST_H
#define LLMCAP_SIM_MANIFEST_H

#include <stdint.h>

#include "sim/core/err.h"
#include "sim/k8s/hpa.h"
#include "sim/k8s/keda.h"
#include "sim/config/ynode.h"

/*
 * Read a ScaledObject. Supported triggers: `prometheus` (its query is kept as text with
 * its position, for the PromQL evaluator). Rejected with a message that says why: other
 * trigger types (cpu, memory, kafka, ...), advanced.scalingModifiers, the fallback
 * behavior scalingModifiers, and the annotations autoscaling.keda.sh/paused,
 * paused-replicas and force-activation. On success `out` holds heap strings: release
 * with keda_config_release(). On error `out` holds nothing to release.
 */
int manifest_read_scaledobject(const struct ynode *root, const char *ctx, struct keda_config *out,
                               struct sim_err *err);

/*
 * Read a HorizontalPodAutoscaler (autoscaling/v2). Supported metrics: External (value
 * or averageValue target), Pods (averageValue) and Object (value or averageValue); each
 * metric's selector is kept as the text "name{label=\"value\",...}" with the position of
 * metric.name. Resource and ContainerResource metrics (CPU, memory) are rejected, and so
 * is an empty metrics list (Kubernetes would default it to 80% CPU). On success release
 * with hpa_config_release().
 */
int manifest_read_hpa(const struct ynode *root, const char *ctx, struct hpa_config *out,
                      struct sim_err *err);

/*
 * As above, adding the fields accepted and ignored (status, metadata.managedFields, uid,
 * annotations, the trigger's serverAddress, ...) to `ig` (sim/config/ignored.h; NULL:
 * not collected).
 */
struct ignored_fields;
int manifest_read_scaledobject_ig(const struct ynode *root, const char *ctx,
                                  struct keda_config *out, struct ignored_fields *ig,
                                  struct sim_err *err);
int manifest_read_hpa_ig(const struct ynode *root, const char *ctx, struct hpa_config *out,
                         struct ignored_fields *ig, struct sim_err *err);

/* Load a YAML file holding one object and read it as above (ctx ""). */
int manifest_load_scaledobject(const char *path, struct keda_config *out, struct sim_err *err);
int manifest_load_hpa(const char *path, struct hpa_config *out, struct sim_err *err);

/*
 * A Kubernetes quantity ("5", "0.5", "500m", "2k", "1Gi", "1e3"): its MilliValue()
 * (ceil(value * 1000), as resource.Quantity rounds up) and an approximate double.
 * Returns SIM_OK, or SIM_EINVAL for text that is not a quantity or overflows int64
 * milli-units.
 */
int manifest_parse_quantity(const char *text, int64_t *milli, double *approx);

#endif
