/* latency.c: the constant and linear step-time models and the factory. */
#include "models/latency.h"

#include <math.h>
#include <stdlib.h>
#include <stdio.h>

struct lat_constant {
    struct lat_model base;
    double prefill_per_token_us;
    double decode_iteration_us;
};

struct lat_linear {
    struct lat_model base;
    double fixed_us;
    double per_prefill_token_us;
    double per_decode_seq_us;
    double per_context_token_us;
};

static double constant_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    const struct lat_constant *c = (const struct lat_constant *)m;
    return (double)b->prefill_tokens * c->prefill_per_token_us +
           (b->n_decode > 0 ? c->decode_iteration_us : 0.0);
}

static double linear_step_us(const struct lat_model *m, const struct lat_batch *b)
{
    const struct lat_linear *l = (const struct lat_linear *)m;
    return l->fixed_us + l->per_prefill_token_us * (double)b->prefill_tokens +
           l->per_decode_seq_us * (double)b->n_decode +
           l->per_context_token_us * (double)(b->prefill_kv_tokens + b->decode_kv_tokens);
}

static void plain_free(struct lat_model *m)
{
    free(m);
}

static const struct lat_model_ops constant_ops = {constant_step_us, plain_free};
static const struct lat_model_ops linear_ops = {linear_step_us, plain_free};

void lat_model_free(struct lat_model *m)
{
    if (m)
        m->ops->free(m);
}

static int check_coef(const char *key, double v, struct sim_err *err)
{
    if (!isfinite(v) || v < 0.0)
        return sim_err_set(err, SIM_EINVAL, "'%s' must be a finite number >= 0, got '%g'",
                           key, v);
    return SIM_OK;
}

struct lat_model *lat_constant_new(double prefill_per_token_us, double decode_iteration_ms,
                                   struct sim_err *err)
{
    if (check_coef("engine.latency.constant.prefill_per_token_us", prefill_per_token_us,
                   err) ||
        check_coef("engine.latency.constant.decode_iteration_ms", decode_iteration_ms, err))
        return NULL;
    struct lat_constant *c = calloc(1, sizeof *c);
    if (!c) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    c->base.ops = &constant_ops;
    c->base.kind = LAT_CONSTANT;
    snprintf(c->base.provenance, sizeof c->base.provenance,
             "modelled: constant (scenario: %.17g us per prefill token, %.17g ms per "
             "decode iteration)",
             prefill_per_token_us, decode_iteration_ms);
    c->prefill_per_token_us = prefill_per_token_us;
    c->decode_iteration_us = decode_iteration_ms * 1000.0;
    return &c->base;
}

struct lat_model *lat_linear_new(double fixed_ms, double per_prefill_token_us,
                                 double per_decode_seq_us, double per_context_token_ns,
                                 struct sim_err *err)
{
    if (check_coef("engine.latency.linear.fixed_ms", fixed_ms, err) ||
        check_coef("engine.latency.linear.per_prefill_token_us", per_prefill_token_us,
                   err) ||
        check_coef("engine.latency.linear.per_decode_seq_us", per_decode_seq_us, err) ||
        check_coef("engine.latency.linear.per_context_token_ns", per_context_token_ns, err))
        return NULL;
    struct lat_linear *l = calloc(1, sizeof *l);
    if (!l) {
        sim_err_set(err, SIM_ENOMEM, "out of memory");
        return NULL;
    }
    l->base.ops = &linear_ops;
    l->base.kind = LAT_LINEAR;
    snprintf(l->base.provenance, sizeof l->base.provenance,
             "modelled: linear (scenario: fixed %.17g ms, %.17g us/prefill token, "
             "%.17g us/decode seq, %.17g ns/context token)",
             fixed_ms, per_prefill_token_us, per_decode_seq_us, per_context_token_ns);
    l->fixed_us = fixed_ms * 1000.0;
    l->per_prefill_token_us = per_prefill_token_us;
    l->per_decode_seq_us = per_decode_seq_us;
    l->per_context_token_us = per_context_token_ns / 1000.0;
    return &l->base;
}

const char *lat_kind_name(enum lat_kind k)
{
    switch (k) {
    case LAT_CONSTANT:
        return "constant";
    case LAT_LINEAR:
        return "linear";
    case LAT_ROOFLINE:
        return "roofline";
    case LAT_TABLE:
        return "table";
    }
    return "?";
}

struct lat_model *lat_model_from_spec(const struct lat_spec *spec,
                                      const struct lat_context *ctx, struct sim_err *err)
{
    (void)ctx;
    switch (spec->kind) {
    case LAT_CONSTANT:
        return lat_constant_new(spec->prefill_per_token_us, spec->decode_iteration_ms, err);
    case LAT_LINEAR:
        return lat_linear_new(spec->fixed_ms, spec->per_prefill_token_us,
                              spec->per_decode_seq_us, spec->per_context_token_ns, err);
    case LAT_ROOFLINE:
    case LAT_TABLE:
        break;
    }
    sim_err_set(err, SIM_EINVAL, "latency model '%s' is not available in this build",
                lat_kind_name(spec->kind));
    return NULL;
}
