/* prefill.cu: causal prefill attention over the paged cache, FlashAttention-2 style on
 * tensor cores (mma.sync m16n8k16, fp32 accumulation, online softmax in registers). */
#include "kernels/cuda/kern.h"
#include "kernels/cuda/kern_dev.cuh"

namespace
{

using namespace kern;

constexpr int PF_WARPS = 4;
constexpr int PF_THREADS = 32 * PF_WARPS;
constexpr int PF_BM = 16 * PF_WARPS; /* query rows per block: 16 per warp */
constexpr int PF_BN = 64;            /* keys per tile */

/*
 * One block: query rows q0 .. q0+63 of the chunk for head h; warp w owns rows
 * q0 + 16w .. +15. The Q tile goes through shared memory into registers (A fragments);
 * then, for each tile of 64 keys from 0 to the block's last visible position, the K and V
 * tiles are gathered from the paged cache into shared memory (rows padded by 8 elements so
 * that fragment loads hit 32 different banks), S = Q K^T on tensor cores, the causal mask
 * and the online softmax update the running max and sum per row, and O += P V with P
 * converted to the input dtype straight from the S accumulators (their layout is the A
 * operand's). Rows past the chunk and keys past the block's last position are zero-filled
 * and masked. Blocks start with the longest (last) query tiles.
 *
 * Split KV (when there are too few query tiles x heads to fill the GPU, i.e. short chunks
 * after a long context): block z covers key tiles [z * tiles_per_split, +tiles_per_split)
 * only and writes its normalised partial rows and (max, sum) per row to part_o/part_ml;
 * prefill_combine_kernel merges the splits as decode_reduce_kernel does.
 */
template <bool BF16, int D, int BS>
__global__ void __launch_bounds__(PF_THREADS)
    prefill_kernel(uint16_t *__restrict__ out, float *__restrict__ part_o,
                   float *__restrict__ part_ml, const uint16_t *__restrict__ q,
                   const uint16_t *__restrict__ kc, const uint16_t *__restrict__ vc,
                   const int32_t *__restrict__ bt, int num_tokens, int num_cached, int num_heads,
                   int num_kv_heads, int tiles_per_split, float scale_log2)
{
    using T = dt<BF16>;
    constexpr int LD = D + 8;  /* padded row, elements */
    constexpr int CPR = D / 8; /* 16-byte chunks per row */
    constexpr int NT = PF_BN / 8;
    __shared__ __align__(16) uint16_t ks[PF_BN * LD];
    __shared__ __align__(16) uint16_t vs[PF_BN * LD];

    const int tid = (int)threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int gid = lane >> 2, tig = lane & 3; /* MMA groupID, threadID_in_group */
    const int h = (int)blockIdx.y, kvh = h / (num_heads / num_kv_heads);
    const int q0 = ((int)gridDim.x - 1 - (int)blockIdx.x) * PF_BM;

    /* Q tile -> shared (reusing ks) -> A fragments */
    for (int i = tid; i < PF_BM * CPR; i += PF_THREADS) {
        const int r = i / CPR, c = i % CPR;
        uint4 v = make_uint4(0u, 0u, 0u, 0u);
        if (q0 + r < num_tokens)
            v = ld16(q + ((size_t)(q0 + r) * num_heads + h) * D + c * 8);
        st16(&ks[r * LD + c * 8], v);
    }
    __syncthreads();
    uint32_t qf[D / 16][4];
    {
        const uint16_t *qb = ks + warp * 16 * LD;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
            const int c = kk * 16 + tig * 2;
            qf[kk][0] = ld32(qb + gid * LD + c);
            qf[kk][1] = ld32(qb + (gid + 8) * LD + c);
            qf[kk][2] = ld32(qb + gid * LD + c + 8);
            qf[kk][3] = ld32(qb + (gid + 8) * LD + c + 8);
        }
    }
    __syncthreads();

    float o[D / 8][4];
#pragma unroll
    for (int i = 0; i < D / 8; i++)
        o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
    float m_r[2] = {-INFINITY, -INFINITY}, l_r[2] = {0.0f, 0.0f};

    /* the last position any row of this block sees, plus one */
    const int kv_end = num_cached + imin(q0 + PF_BM, num_tokens);
    const int row_a = q0 + warp * 16 + gid; /* chunk row of d[0], d[1]; +8 for d[2], d[3] */
    const int pos_a = num_cached + row_a;
    const size_t tok_stride = (size_t)num_kv_heads * D;
    const size_t blk_stride = (size_t)BS * tok_stride;

    const int split = (int)blockIdx.z;
    const int n_lo = split * tiles_per_split * PF_BN;
    const int n_hi = imin(kv_end, n_lo + tiles_per_split * PF_BN);
    for (int n0 = n_lo; n0 < n_hi; n0 += PF_BN) {
        for (int i = tid; i < PF_BN * CPR; i += PF_THREADS) {
            const int r = i / CPR, c = i % CPR, key = n0 + r;
            uint4 kv = make_uint4(0u, 0u, 0u, 0u), vv = kv;
            if (key < kv_end) {
                const size_t off = (size_t)bt[key / BS] * blk_stride +
                                   (size_t)(key % BS) * tok_stride + (size_t)kvh * D + c * 8;
                kv = ldg16(kc + off);
                vv = ldg16(vc + off);
            }
            st16(&ks[r * LD + c * 8], kv);
            st16(&vs[r * LD + c * 8], vv);
        }
        __syncthreads();

        /* S = Q K^T: B[k = dim][n = key] is K row-major, so a fragment pair is one word */
        float s[NT][4];
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++) {
#pragma unroll
            for (int nt = 0; nt < NT; nt++) {
                const uint16_t *kp = ks + (nt * 8 + gid) * LD + kk * 16 + tig * 2;
                const uint32_t b[2] = {ld32(kp), ld32(kp + 8)};
                mma16816<BF16>(s[nt], qf[kk], b);
            }
        }

        /* causal mask and scale (log2 domain: exp2 below) */
#pragma unroll
        for (int nt = 0; nt < NT; nt++)
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int key = n0 + nt * 8 + tig * 2 + (e & 1);
                const int pos = pos_a + (e >> 1) * 8;
                s[nt][e] = (key <= pos && key < kv_end) ? s[nt][e] * scale_log2 : -INFINITY;
            }

            /* online softmax; a row's 16 values of this tile sit in the 4 lanes of a quad */
#pragma unroll
        for (int r = 0; r < 2; r++) {
            float mx = -INFINITY;
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
                mx = fmaxf(mx, fmaxf(s[nt][2 * r], s[nt][2 * r + 1]));
            mx = fmaxf(mx, shfl_xor(mx, 1));
            mx = fmaxf(mx, shfl_xor(mx, 2));
            const float m_new = fmaxf(m_r[r], mx);
            const float m_use = m_new == -INFINITY ? 0.0f : m_new; /* no inf - inf */
            const float corr = exp2f(m_r[r] - m_use);
            float rs = 0.0f;
#pragma unroll
            for (int nt = 0; nt < NT; nt++)
#pragma unroll
                for (int e = 2 * r; e < 2 * r + 2; e++) {
                    const float p = exp2f(s[nt][e] - m_use);
                    s[nt][e] = p;
                    rs += p;
                }
            rs += shfl_xor(rs, 1);
            rs += shfl_xor(rs, 2);
            l_r[r] = l_r[r] * corr + rs;
            m_r[r] = m_new;
#pragma unroll
            for (int i = 0; i < D / 8; i++) {
                o[i][2 * r] *= corr;
                o[i][2 * r + 1] *= corr;
            }
        }

        /* O += P V: P's A fragments are two adjacent S tiles; B[k = key][n = dim] = V,
         * gathered from two rows per word */
#pragma unroll
        for (int kk = 0; kk < PF_BN / 16; kk++) {
            const uint32_t a[4] = {T::pack(s[2 * kk][0], s[2 * kk][1]),
                                   T::pack(s[2 * kk][2], s[2 * kk][3]),
                                   T::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                   T::pack(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
            for (int i = 0; i < D / 8; i++) {
                const uint16_t *vp = vs + (kk * 16 + tig * 2) * LD + i * 8 + gid;
                const uint32_t b[2] = {(uint32_t)vp[0] | ((uint32_t)vp[LD] << 16),
                                       (uint32_t)vp[8 * LD] | ((uint32_t)vp[9 * LD] << 16)};
                mma16816<BF16>(o[i], a, b);
            }
        }
        __syncthreads(); /* before the next tile overwrites ks and vs */
    }

#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int row = row_a + 8 * r;
        if (row < num_tokens) {
            const float inv = l_r[r] > 0.0f ? 1.0f / l_r[r] : 0.0f;
            const size_t rowh = (size_t)row * num_heads + h;
            if (part_o == nullptr) {
                uint16_t *op = out + rowh * D + tig * 2;
#pragma unroll
                for (int i = 0; i < D / 8; i++)
                    st32(op + i * 8, T::pack(o[i][2 * r] * inv, o[i][2 * r + 1] * inv));
            } else {
                /* rows that saw no key in this split: sum 0, max -inf, weight 0 later */
                const size_t slot = (size_t)split * num_tokens * num_heads + rowh;
                float *op = part_o + slot * D + tig * 2;
#pragma unroll
                for (int i = 0; i < D / 8; i++) {
                    op[i * 8] = o[i][2 * r] * inv;
                    op[i * 8 + 1] = o[i][2 * r + 1] * inv;
                }
                if (tig == 0) {
                    part_ml[2 * slot] = m_r[r];
                    part_ml[2 * slot + 1] = l_r[r];
                }
            }
        }
    }
}

/* Merge the KV splits of one (row, head): weights l_s 2^(m_s - max m) (log2 domain). */
template <bool BF16, int D>
__global__ void __launch_bounds__(D)
    prefill_combine_kernel(uint16_t *__restrict__ out, const float *__restrict__ part_o,
                           const float *__restrict__ part_ml, int num_tokens, int num_heads,
                           int splits)
{
    const size_t rowh = (size_t)blockIdx.x * num_heads + blockIdx.y;
    const size_t stride = (size_t)num_tokens * num_heads;
    const int d = (int)threadIdx.x;
    float mx = -INFINITY;
    for (int s = 0; s < splits; s++)
        mx = fmaxf(mx, part_ml[2 * (s * stride + rowh)]);
    float num = 0.0f, den = 0.0f;
    for (int s = 0; s < splits; s++) {
        const size_t slot = s * stride + rowh;
        const float l = part_ml[2 * slot + 1];
        if (l > 0.0f) {
            const float w = l * exp2f(part_ml[2 * slot] - mx);
            den += w;
            num = fmaf(w, part_o[slot * D + d], num);
        }
    }
    out[rowh * D + d] = dt<BF16>::from_f(num / den); /* split 0 holds key 0: den > 0 */
}

struct prefill_args {
    uint16_t *out;
    float *part_o, *part_ml;
    const uint16_t *q, *kc, *vc;
    const int32_t *bt;
    int num_tokens, num_cached, num_heads, num_kv_heads, splits, tiles_per_split;
    float scale_log2;
};

template <bool BF16, int D, int BS>
cudaError_t launch_prefill(const prefill_args &a, cudaStream_t stream)
{
    const dim3 grid((unsigned)((a.num_tokens + PF_BM - 1) / PF_BM), (unsigned)a.num_heads,
                    (unsigned)a.splits);
    auto *kfn = prefill_kernel<BF16, D, BS>;
    KERN_LAUNCH(kfn, grid, dim3(PF_THREADS), stream, a.out, a.part_o, a.part_ml, a.q, a.kc, a.vc,
                a.bt, a.num_tokens, a.num_cached, a.num_heads, a.num_kv_heads, a.tiles_per_split,
                a.scale_log2);
    if (a.splits > 1) {
        auto *cfn = prefill_combine_kernel<BF16, D>;
        KERN_LAUNCH(cfn, dim3((unsigned)a.num_tokens, (unsigned)a.num_heads), dim3(D), stream,
                    a.out, a.part_o, a.part_ml, a.num_tokens, a.num_heads, a.splits);
    }
    return cudaGetLastError();
}

int pf_kv_tiles(int32_t num_tokens, int32_t num_cached)
{
    return (int)(((int64_t)num_cached + num_tokens + PF_BN - 1) / PF_BN);
}

/* A requested split count, made consistent: equal numbers of key tiles per split. */
void pf_split_plan(int32_t num_tokens, int32_t num_cached, int32_t want, int *splits,
                   int *tiles_per_split)
{
    const int tiles = pf_kv_tiles(num_tokens, num_cached);
    int s = want < 1 ? 1 : want > tiles ? tiles : want;
    const int per = (tiles + s - 1) / s;
    *tiles_per_split = per;
    *splits = (tiles + per - 1) / per;
}

template <bool BF16>
cudaError_t prefill_dispatch(const prefill_args &a, int head_dim, int block_size,
                             cudaStream_t stream)
{
    if (head_dim == 64)
        return block_size == 16 ? launch_prefill<BF16, 64, 16>(a, stream)
                                : launch_prefill<BF16, 64, 32>(a, stream);
    return block_size == 16 ? launch_prefill<BF16, 128, 16>(a, stream)
                            : launch_prefill<BF16, 128, 32>(a, stream);
}

} // namespace

extern "C" {

int32_t kern_prefill_splits(const struct paged_attn_shape *s, int32_t num_tokens,
                            int32_t num_cached, int num_sms)
{
    const int64_t blocks = (int64_t)((num_tokens + PF_BM - 1) / PF_BM) * s->num_heads;
    const int tiles = pf_kv_tiles(num_tokens, num_cached);
    if (blocks >= num_sms || tiles < 8)
        return 1;
    int64_t want = (2 * (int64_t)num_sms + blocks - 1) / blocks;
    const int64_t cap = tiles / 4 < 64 ? tiles / 4 : 64; /* >= 4 key tiles per split */
    want = want < cap ? want : cap;
    int splits, per;
    pf_split_plan(num_tokens, num_cached, (int32_t)(want < 1 ? 1 : want), &splits, &per);
    return splits;
}

size_t kern_prefill_workspace_bytes(const struct paged_attn_shape *s, int32_t num_tokens,
                                    int32_t num_cached, int32_t kv_splits)
{
    int splits, per;
    pf_split_plan(num_tokens, num_cached, kv_splits, &splits, &per);
    if (splits <= 1)
        return 0;
    return (size_t)splits * (size_t)num_tokens * (size_t)s->num_heads * ((size_t)s->head_dim + 2) *
           sizeof(float);
}

cudaError_t kern_prefill(const struct paged_attn_shape *s, enum kern_dtype dt, void *out,
                         const void *q, const void *k_cache, const void *v_cache,
                         const int32_t *block_table, int32_t num_tokens, int32_t num_cached,
                         int32_t kv_splits, void *workspace, size_t workspace_bytes,
                         cudaStream_t stream)
{
    if (!kern_shape_supported(s) || num_tokens < 1 || num_cached < 0 || kv_splits < 0 ||
        (int64_t)num_tokens + num_cached > INT32_MAX - PF_BN || s->num_heads > 65535)
        return cudaErrorInvalidValue;
    if (kv_splits == 0) {
        int dev = 0, sms = 0;
        cudaError_t rc = cudaGetDevice(&dev);
        if (rc == cudaSuccess)
            rc = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
        if (rc != cudaSuccess)
            return rc;
        kv_splits = kern_prefill_splits(s, num_tokens, num_cached, sms);
    }
    prefill_args a;
    pf_split_plan(num_tokens, num_cached, kv_splits, &a.splits, &a.tiles_per_split);
    const size_t need = kern_prefill_workspace_bytes(s, num_tokens, num_cached, kv_splits);
    if (a.splits > 65535 || (need > 0 && (workspace == NULL || workspace_bytes < need)))
        return cudaErrorInvalidValue;
    a.out = static_cast<uint16_t *>(out);
    a.part_o = need > 0 ? static_cast<float *>(workspace) : nullptr;
    a.part_ml = need > 0 ? a.part_o + (size_t)a.splits * (size_t)num_tokens * (size_t)s->num_heads *
                                          (size_t)s->head_dim
                         : nullptr;
    a.q = static_cast<const uint16_t *>(q);
    a.kc = static_cast<const uint16_t *>(k_cache);
    a.vc = static_cast<const uint16_t *>(v_cache);
    a.bt = block_table;
    a.num_tokens = num_tokens;
    a.num_cached = num_cached;
    a.num_heads = s->num_heads;
    a.num_kv_heads = s->num_kv_heads;
    a.scale_log2 = s->scale * 1.4426950408889634f; /* log2(e) */
    return dt == KERN_BF16 ? prefill_dispatch<true>(a, s->head_dim, s->block_size, stream)
                           : prefill_dispatch<false>(a, s->head_dim, s->block_size, stream);
}

} // extern "C"
