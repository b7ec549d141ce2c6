/*
 * autoscaler.h: KEDA and the HPA driving the fleet during a run (internal to sim/).
 */
#ifndef LLMCAP_SIM_AUTOSCALER_H
#define LLMCAP_SIM_AUTOSCALER_H

#include <stdint.h>

#include "sim/core/err.h"

struct deployment;

/* Read the scenario's ScaledObject or HPA, parse its queries (errors point at the
 * scenario's file:line:col), create the metric store and set *initial_replicas to the
 * replicas the run starts with. Nothing happens without an autoscaler in the scenario. */
int autoscaler_init(struct deployment *d, int32_t *initial_replicas, struct sim_err *err);

/* Schedule the first KEDA poll and HPA sync. */
void autoscaler_start(struct deployment *d);

void autoscaler_release(struct deployment *d);

#endif
