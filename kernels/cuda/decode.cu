/* decode.cu: paged-attention decode (one query token per sequence), GQA-aware, with
 * context partitions combined by a second kernel when a context is long (flash-decoding). */
#include "kernels/cuda/kern.h"
#include "kernels/cuda/kern_dev.cuh"

namespace
{

using namespace kern;

constexpr int DEC_WARPS = 4;
constexpr int DEC_THREADS = 32 * DEC_WARPS;
constexpr int DEC_PMAX = KERN_DECODE_MAX_PARTITION;

/*
 * One block: query heads h0 .. h0+GB-1 (all reading KV head kvh) of one sequence, over
 * the context slice [part * part_tokens, +part_tokens). The block's 4 warps take the
 * slice's KV blocks round-robin. Within a warp, D/8 lanes share a token (each holds 8
 * elements, one 16-byte load), so a warp covers 32/(D/8) tokens per step.
 *
 * Phase 1: scores q.k * scale into shared memory (fp32). Phase 2: per head, the slice's
 * max and sum of exp (exact softmax over the slice). Phase 3: the weighted sum of V in
 * registers, reduced across lanes and warps through shared memory (reusing the score
 * buffer). With one partition the result is final; with several, each block writes its
 * normalised partial output and (max, sum), and decode_reduce_kernel combines them.
 */
template <bool BF16, int D, int BS, int GB>
__global__ void __launch_bounds__(DEC_THREADS)
    decode_kernel(uint16_t *__restrict__ out, float *__restrict__ part_out,
                  float *__restrict__ part_ml, const uint16_t *__restrict__ q,
                  const uint16_t *__restrict__ kc, const uint16_t *__restrict__ vc,
                  const int32_t *__restrict__ block_tables, int max_blocks,
                  const int32_t *__restrict__ ctx_lens, int num_heads, int num_kv_heads,
                  int part_tokens, int max_parts, float scale)
{
    using T = dt<BF16>;
    constexpr int VEC = 8;                /* elements per 16-byte load */
    constexpr int TPT = D / VEC;          /* lanes per token */
    constexpr int TPW = 32 / TPT;         /* tokens per warp step */
    constexpr int TOK = BS / TPW;         /* tokens per lane in one KV block */
    constexpr int CH = TOK < 8 ? TOK : 8; /* loads in flight per lane */
    static_assert(TOK % CH == 0, "chunking");
    static_assert(DEC_WARPS * D <= DEC_PMAX, "the reduction buffer reuses the score buffer");

    __shared__ __align__(16) float q_s[GB][D];
    __shared__ __align__(16) float buf[GB * DEC_PMAX]; /* scores [GB][PMAX], then [W][GB][D] */
    __shared__ float m_s[GB], l_s[GB];

    const int group = num_heads / num_kv_heads;
    const int subgroups = group / GB;
    const int kvh = (int)blockIdx.x / subgroups;
    const int h0 = kvh * group + ((int)blockIdx.x % subgroups) * GB;
    const int seq = (int)blockIdx.y, part = (int)blockIdx.z;
    const int ctx = ctx_lens[seq];
    const int t_begin = part * part_tokens;
    if (t_begin >= ctx)
        return; /* the whole block: this sequence is shorter than the longest */
    const int t_end = imin(t_begin + part_tokens, ctx);
    const int n_tok = t_end - t_begin;
    const int tid = (int)threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int tg = lane / TPT, j = lane % TPT; /* token in step, 8-element slice */

    for (int i = tid; i < GB * D; i += DEC_THREADS) {
        const int g = i / D, d = i % D;
        q_s[g][d] = T::to_f(q[((size_t)seq * num_heads + h0 + g) * D + d]) * scale;
    }
    __syncthreads();
    float qr[GB][VEC];
#pragma unroll
    for (int g = 0; g < GB; g++)
#pragma unroll
        for (int e = 0; e < VEC; e++)
            qr[g][e] = q_s[g][j * VEC + e];

    const int32_t *bt = block_tables + (size_t)seq * max_blocks;
    const int b_begin = t_begin / BS, b_end = (t_end + BS - 1) / BS;
    const size_t tok_stride = (size_t)num_kv_heads * D; /* elements from slot to slot */
    const size_t blk_stride = (size_t)BS * tok_stride;
    const size_t lane_off = (size_t)kvh * D + (size_t)j * VEC;
    float *scores = buf;

    /* Phase 1: scores */
    for (int b = b_begin + warp; b < b_end; b += DEC_WARPS) {
        const uint16_t *kb = kc + (size_t)bt[b] * blk_stride + lane_off;
#pragma unroll
        for (int c0 = 0; c0 < TOK; c0 += CH) {
            uint4 kv[CH];
#pragma unroll
            for (int i = 0; i < CH; i++)
                kv[i] = ldg16(kb + (size_t)((c0 + i) * TPW + tg) * tok_stride);
#pragma unroll
            for (int i = 0; i < CH; i++) {
                float kf[VEC];
                unpack8<BF16>(kv[i], kf);
                float s[GB];
#pragma unroll
                for (int g = 0; g < GB; g++) {
                    float a = 0.0f;
#pragma unroll
                    for (int e = 0; e < VEC; e++)
                        a = fmaf(qr[g][e], kf[e], a);
                    s[g] = a;
                }
#pragma unroll
                for (int off = TPT / 2; off > 0; off >>= 1)
#pragma unroll
                    for (int g = 0; g < GB; g++)
                        s[g] += shfl_xor(s[g], off);
                const int t = b * BS + (c0 + i) * TPW + tg;
                if (j == 0 && t < t_end)
#pragma unroll
                    for (int g = 0; g < GB; g++)
                        scores[g * DEC_PMAX + (t - t_begin)] = s[g];
            }
        }
    }
    __syncthreads();

    /* Phase 2: softmax over the slice, one warp per head */
    for (int g = warp; g < GB; g += DEC_WARPS) {
        float *sg = scores + g * DEC_PMAX;
        float mx = -INFINITY;
        for (int t = lane; t < n_tok; t += 32)
            mx = fmaxf(mx, sg[t]);
#pragma unroll
        for (int off = 16; off > 0; off >>= 1)
            mx = fmaxf(mx, shfl_xor(mx, off));
        float sum = 0.0f;
        for (int t = lane; t < n_tok; t += 32) {
            const float p = __expf(sg[t] - mx);
            sg[t] = p;
            sum += p;
        }
#pragma unroll
        for (int off = 16; off > 0; off >>= 1)
            sum += shfl_xor(sum, off);
        if (lane == 0) {
            m_s[g] = mx;
            l_s[g] = sum;
        }
    }
    __syncthreads();

    /* Phase 3: P.V */
    float acc[GB][VEC];
#pragma unroll
    for (int g = 0; g < GB; g++)
#pragma unroll
        for (int e = 0; e < VEC; e++)
            acc[g][e] = 0.0f;
    for (int b = b_begin + warp; b < b_end; b += DEC_WARPS) {
        const uint16_t *vb = vc + (size_t)bt[b] * blk_stride + lane_off;
#pragma unroll
        for (int c0 = 0; c0 < TOK; c0 += CH) {
            uint4 vv[CH];
#pragma unroll
            for (int i = 0; i < CH; i++)
                vv[i] = ldg16(vb + (size_t)((c0 + i) * TPW + tg) * tok_stride);
#pragma unroll
            for (int i = 0; i < CH; i++) {
                const int t = b * BS + (c0 + i) * TPW + tg;
                if (t < t_end) { /* slots past the context may hold anything, even NaN */
                    float vf[VEC];
                    unpack8<BF16>(vv[i], vf);
#pragma unroll
                    for (int g = 0; g < GB; g++) {
                        const float p = scores[g * DEC_PMAX + (t - t_begin)];
#pragma unroll
                        for (int e = 0; e < VEC; e++)
                            acc[g][e] = fmaf(p, vf[e], acc[g][e]);
                    }
                }
            }
        }
    }
    /* lanes holding the same slice (same j) in different token positions */
#pragma unroll
    for (int off = TPT; off < 32; off <<= 1)
#pragma unroll
        for (int g = 0; g < GB; g++)
#pragma unroll
            for (int e = 0; e < VEC; e++)
                acc[g][e] += shfl_xor(acc[g][e], off);
    __syncthreads(); /* every warp has read its scores: buf becomes [W][GB][D] */
    float *red = buf;
    if (lane < TPT)
#pragma unroll
        for (int g = 0; g < GB; g++)
#pragma unroll
            for (int e = 0; e < VEC; e++)
                red[(warp * GB + g) * D + j * VEC + e] = acc[g][e];
    __syncthreads();
    for (int i = tid; i < GB * D; i += DEC_THREADS) {
        const int g = i / D, d = i % D;
        float v = 0.0f;
#pragma unroll
        for (int w = 0; w < DEC_WARPS; w++)
            v += red[(w * GB + g) * D + d];
        v = v / l_s[g];
        const size_t row = (size_t)seq * num_heads + h0 + g;
        if (max_parts == 1) {
            out[row * D + d] = T::from_f(v);
        } else {
            const size_t slot = row * max_parts + part;
            part_out[slot * D + d] = v;
            if (d == 0) {
                part_ml[2 * slot] = m_s[g];
                part_ml[2 * slot + 1] = l_s[g];
            }
        }
    }
}

/*
 * Combine the partitions of one (sequence, head): with partition maxima m_p, sums l_p and
 * normalised outputs o_p, out = sum_p w_p o_p / sum_p w_p with w_p = l_p exp(m_p - max m).
 */
template <bool BF16, int D>
__global__ void __launch_bounds__(D)
    decode_reduce_kernel(uint16_t *__restrict__ out, const float *__restrict__ part_out,
                         const float *__restrict__ part_ml, const int32_t *__restrict__ ctx_lens,
                         int num_heads, int part_tokens, int max_parts)
{
    const int h = (int)blockIdx.x, seq = (int)blockIdx.y, d = (int)threadIdx.x;
    const int n = (ctx_lens[seq] + part_tokens - 1) / part_tokens;
    const size_t row = (size_t)seq * num_heads + h;
    const float *ml = part_ml + 2 * row * max_parts;
    float mx = -INFINITY;
    for (int p = 0; p < n; p++)
        mx = fmaxf(mx, ml[2 * p]);
    float num = 0.0f, den = 0.0f;
    for (int p = 0; p < n; p++) {
        const float w = ml[2 * p + 1] * __expf(ml[2 * p] - mx);
        den += w;
        num = fmaf(w, part_out[(row * max_parts + p) * D + d], num);
    }
    out[row * D + d] = dt<BF16>::from_f(num / den);
}

struct decode_args {
    uint16_t *out;
    float *part_out, *part_ml;
    const uint16_t *q, *kc, *vc;
    const int32_t *block_tables, *ctx_lens;
    int max_blocks, num_seqs, num_heads, num_kv_heads, part_tokens, max_parts;
    float scale;
};

template <bool BF16, int D, int BS, int GB>
cudaError_t launch_decode(const decode_args &a, cudaStream_t stream)
{
    const int group = a.num_heads / a.num_kv_heads;
    const dim3 grid((unsigned)(a.num_kv_heads * (group / GB)), (unsigned)a.num_seqs,
                    (unsigned)a.max_parts);
    auto *kfn = decode_kernel<BF16, D, BS, GB>;
    KERN_LAUNCH(kfn, grid, dim3(DEC_THREADS), stream, a.out, a.part_out, a.part_ml, a.q, a.kc, a.vc,
                a.block_tables, a.max_blocks, a.ctx_lens, a.num_heads, a.num_kv_heads,
                a.part_tokens, a.max_parts, a.scale);
    if (a.max_parts > 1) {
        auto *rfn = decode_reduce_kernel<BF16, D>;
        KERN_LAUNCH(rfn, dim3((unsigned)a.num_heads, (unsigned)a.num_seqs), dim3(D), stream, a.out,
                    a.part_out, a.part_ml, a.ctx_lens, a.num_heads, a.part_tokens, a.max_parts);
    }
    return cudaGetLastError();
}

/* Query heads per block: the largest of 8, 4, 2, 1 that divides the group. */
int decode_heads_per_block(int group)
{
    return group % 8 == 0 ? 8 : group % 4 == 0 ? 4 : group % 2 == 0 ? 2 : 1;
}

template <bool BF16, int D, int BS>
cudaError_t dispatch_gb(const decode_args &a, cudaStream_t stream)
{
    switch (decode_heads_per_block(a.num_heads / a.num_kv_heads)) {
    case 8:
        return launch_decode<BF16, D, BS, 8>(a, stream);
    case 4:
        return launch_decode<BF16, D, BS, 4>(a, stream);
    case 2:
        return launch_decode<BF16, D, BS, 2>(a, stream);
    default:
        return launch_decode<BF16, D, BS, 1>(a, stream);
    }
}

template <bool BF16>
cudaError_t dispatch_shape(const decode_args &a, int head_dim, int block_size, cudaStream_t stream)
{
    if (head_dim == 64)
        return block_size == 16 ? dispatch_gb<BF16, 64, 16>(a, stream)
                                : dispatch_gb<BF16, 64, 32>(a, stream);
    return block_size == 16 ? dispatch_gb<BF16, 128, 16>(a, stream)
                            : dispatch_gb<BF16, 128, 32>(a, stream);
}

} // namespace

extern "C" {

const char *kern_dtype_name(enum kern_dtype dt)
{
    return dt == KERN_BF16 ? "bf16" : "fp16";
}

bool kern_shape_supported(const struct paged_attn_shape *s)
{
    return s->num_heads >= 1 && s->num_kv_heads >= 1 && s->num_heads % s->num_kv_heads == 0 &&
           (s->head_dim == 64 || s->head_dim == 128) &&
           (s->block_size == 16 || s->block_size == 32) && s->scale > 0.0f;
}

int32_t kern_decode_partition_tokens(const struct paged_attn_shape *s, int32_t num_seqs,
                                     int32_t max_context_len, int num_sms)
{
    const int group = s->num_heads / s->num_kv_heads;
    const int64_t blocks_per_part =
        (int64_t)num_seqs * s->num_kv_heads * (group / decode_heads_per_block(group));
    int32_t p = DEC_PMAX;
    while (p > 128 && blocks_per_part * ((max_context_len + p - 1) / p) < 2 * (int64_t)num_sms)
        p /= 2;
    return p;
}

size_t kern_decode_workspace_bytes(const struct paged_attn_shape *s, int32_t num_seqs,
                                   int32_t max_context_len, int32_t partition_tokens)
{
    if (partition_tokens < 1)
        return 0;
    const size_t parts = (size_t)((max_context_len + partition_tokens - 1) / partition_tokens);
    if (parts <= 1)
        return 0;
    return (size_t)num_seqs * (size_t)s->num_heads * parts * ((size_t)s->head_dim + 2) *
           sizeof(float);
}

cudaError_t kern_decode(const struct paged_attn_shape *s, enum kern_dtype dt, void *out,
                        const void *q, const void *k_cache, const void *v_cache,
                        const int32_t *block_tables, int32_t max_blocks_per_seq,
                        const int32_t *context_lens, int32_t num_seqs, int32_t max_context_len,
                        int32_t partition_tokens, void *workspace, size_t workspace_bytes,
                        cudaStream_t stream)
{
    if (!kern_shape_supported(s) || num_seqs < 1 || num_seqs > 65535 || max_context_len < 1 ||
        max_blocks_per_seq < 1)
        return cudaErrorInvalidValue;
    if (partition_tokens == 0) {
        int dev = 0, sms = 0;
        cudaError_t rc = cudaGetDevice(&dev);
        if (rc == cudaSuccess)
            rc = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
        if (rc != cudaSuccess)
            return rc;
        partition_tokens = kern_decode_partition_tokens(s, num_seqs, max_context_len, sms);
    }
    if (partition_tokens < s->block_size || partition_tokens > DEC_PMAX ||
        partition_tokens % s->block_size != 0)
        return cudaErrorInvalidValue;
    const int64_t max_parts = (max_context_len + partition_tokens - 1) / partition_tokens;
    if (max_parts > 65535)
        return cudaErrorInvalidValue;
    const size_t need = kern_decode_workspace_bytes(s, num_seqs, max_context_len, partition_tokens);
    if (need > 0 && (workspace == NULL || workspace_bytes < need))
        return cudaErrorInvalidValue;
    decode_args a;
    a.out = static_cast<uint16_t *>(out);
    a.part_out = static_cast<float *>(workspace);
    a.part_ml = need > 0 ? a.part_out + (size_t)num_seqs * (size_t)s->num_heads *
                                            (size_t)max_parts * (size_t)s->head_dim
                         : NULL;
    a.q = static_cast<const uint16_t *>(q);
    a.kc = static_cast<const uint16_t *>(k_cache);
    a.vc = static_cast<const uint16_t *>(v_cache);
    a.block_tables = block_tables;
    a.ctx_lens = context_lens;
    a.max_blocks = max_blocks_per_seq;
    a.num_seqs = num_seqs;
    a.num_heads = s->num_heads;
    a.num_kv_heads = s->num_kv_heads;
    a.part_tokens = partition_tokens;
    a.max_parts = (int)max_parts;
    a.scale = s->scale;
    return dt == KERN_BF16 ? dispatch_shape<true>(a, s->head_dim, s->block_size, stream)
                           : dispatch_shape<false>(a, s->head_dim, s->block_size, stream);
}

} // extern "C"
