/*
 * cuda_emu.h: just enough of CUDA to run llmcap's kernel source on the CPU in tests.
 *
 * Each thread of a block is a fiber (ucontext) on the calling OS thread; blocks run one
 * after another, so `__shared__` can be a function-local static. __syncthreads() and the
 * warp operations are barriers between fibers (a fiber that waits yields; which runnable
 * fiber goes next is the scheduling policy, see kern_emu::policy);
 * __shfl_xor_sync and mma.m16n8k16 exchange values through a per-warp buffer, the MMA
 * with the operand layouts of the PTX ISA ("Matrix Fragments for mma.m16n8k16 with
 * floating point type"). Misaligned vector accesses and deadlocks abort.
 *
 * What it cannot show: timing, memory-model races a real GPU could expose, and any
 * mistake in this file's reading of the MMA layout (a GPU run of --check covers those).
 * Include this before any kernel source; compile with KERN_EMU defined (done here).
 */
#ifndef LLMCAP_TESTS_KERNELS_EMU_CUDA_EMU_H
#define LLMCAP_TESTS_KERNELS_EMU_CUDA_EMU_H

#define KERN_EMU 1
#define __shared__ static
#define __launch_bounds__(...)

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>
#include <vector_functions.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <ucontext.h>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define KERN_EMU_ASAN 1
#endif

namespace kern_emu
{

struct barrier {
    int expected = 0, arrived = 0;
    unsigned gen = 0;
};

struct fiber {
    ucontext_t uc;
    char *stack = nullptr;
    dim3 tid;
    int linear = 0;
    bool done = false;
    const barrier *waiting = nullptr; /* runnable again once waiting->gen != wait_gen */
    unsigned wait_gen = 0;
};

/*
 * Which runnable thread the scheduler resumes next. Threads only switch at barriers and
 * warp operations, so the order decides how far warps run ahead of each other: LOWEST
 * runs warp 0 as far as it can get before warp 1 moves (a missing __syncthreads shows as
 * a wrong result), HIGHEST the reverse, ROUND_ROBIN keeps them in step, RANDOM mixes.
 */
enum policy { LOWEST_FIRST, HIGHEST_FIRST, ROUND_ROBIN, RANDOM, N_POLICIES };
inline policy sched_policy = LOWEST_FIRST;
inline uint64_t sched_rng = 0x9e3779b97f4a7c15ull;

constexpr size_t STACK_BYTES = 256 * 1024;
constexpr int XCHG_WORDS = 8; /* per lane */

struct block_state {
    std::vector<fiber> fibers;
    int cur = 0;
    ucontext_t sched;
    barrier block_bar;
    std::vector<barrier> warp_bar;
    std::vector<uint32_t> xchg; /* [warp][lane][XCHG_WORDS] */
    dim3 block_idx, grid_dim, block_dim;
    const std::function<void()> *body = nullptr;
    const void *sched_stack_bottom = nullptr;
    size_t sched_stack_size = 0;
};

inline block_state *g = nullptr;

inline fiber &cur()
{
    return g->fibers[(size_t)g->cur];
}

[[noreturn]] inline void die(const char *what)
{
    if (g)
        fprintf(stderr, "cuda_emu: %s (block %u,%u,%u thread %d)\n", what, g->block_idx.x,
                g->block_idx.y, g->block_idx.z, cur().linear);
    else
        fprintf(stderr, "cuda_emu: %s\n", what);
    abort();
}

inline void check_aligned(const void *p, uintptr_t n)
{
    if ((uintptr_t)p % n != 0)
        die("misaligned vector access");
}

/* Fiber -> scheduler. */
inline void yield()
{
#ifdef KERN_EMU_ASAN
    void *fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, g->sched_stack_bottom, g->sched_stack_size);
    swapcontext(&cur().uc, &g->sched);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    swapcontext(&cur().uc, &g->sched);
#endif
}

inline void bar_wait(barrier &b)
{
    const unsigned gen = b.gen;
    if (++b.arrived == b.expected) {
        b.arrived = 0;
        b.gen++;
        return;
    }
    while (b.gen == gen) {
        cur().waiting = &b;
        cur().wait_gen = gen;
        yield();
    }
    cur().waiting = nullptr;
}

/* A fiber that returns stops counting in its barriers (as an exited GPU thread). */
inline void bar_drop(barrier &b)
{
    b.expected--;
    if (b.arrived > 0 && b.arrived == b.expected) {
        b.arrived = 0;
        b.gen++;
    }
}

inline int lane_id()
{
    return cur().linear % 32;
}

inline int warp_id()
{
    return cur().linear / 32;
}

inline void syncwarp()
{
    barrier &b = g->warp_bar[(size_t)warp_id()];
    if (b.expected != 32)
        die("warp-wide operation in a partial warp");
    bar_wait(b);
}

inline uint32_t *xchg_lane(int lane)
{
    return &g->xchg[((size_t)warp_id() * 32 + (size_t)lane) * XCHG_WORDS];
}

template <typename V> inline V shfl_xor(V v, int mask)
{
    static_assert(sizeof(V) == 4, "32-bit shuffles only");
    uint32_t u;
    memcpy(&u, &v, 4);
    xchg_lane(lane_id())[0] = u;
    syncwarp();
    uint32_t r = xchg_lane(lane_id() ^ mask)[0];
    syncwarp();
    memcpy(&v, &r, 4);
    return v;
}

inline float half_bits_to_float(uint16_t b, bool bf16)
{
    if (bf16) {
        uint32_t u = (uint32_t)b << 16;
        float f;
        memcpy(&f, &u, 4);
        return f;
    }
    return __half2float(__ushort_as_half(b));
}

/*
 * mma.sync.m16n8k16, fp32 accumulate. Lane L = 4 * groupID + threadID_in_group holds
 *   A: a0,a1 (row g, cols 2t, 2t+1) a2,a3 (row g+8) a4,a5 (row g, cols +8) a6,a7 (row g+8,
 *      cols +8), two per 32-bit register, the lower-numbered element in the low half;
 *   B: b0,b1 (rows 2t, 2t+1, col g) b2,b3 (rows +8);
 *   C/D: c0,c1 (row g, cols 2t, 2t+1) c2,c3 (row g+8).
 */
inline void mma16816(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], bool bf16)
{
    uint32_t *mine = xchg_lane(lane_id());
    for (int i = 0; i < 4; i++)
        mine[i] = a[i];
    mine[4] = b[0];
    mine[5] = b[1];
    syncwarp();
    /* This lane's outputs are rows g and g+8, columns 2t and 2t+1: it needs rows g, g+8 of
     * A (held by lanes 4g+u, u = 0..3) and columns 2t, 2t+1 of B (lanes 4(2t)+u, 4(2t+1)+u). */
    const int gid = lane_id() >> 2, tig = lane_id() & 3;
    float A[2][16], B[16][2];
    for (int u = 0; u < 4; u++) {
        const uint32_t *x = xchg_lane(4 * gid + u);
        for (int i = 0; i < 8; i++) {                           /* element a_i of lane 4g+u */
            const int r = (i < 2 || (i >= 4 && i < 6)) ? 0 : 1; /* row g or g+8 */
            const int col = u * 2 + (i & 1) + (i >= 4 ? 8 : 0);
            const uint32_t w = x[i / 2];
            A[r][col] = half_bits_to_float((uint16_t)((i & 1) ? w >> 16 : w & 0xffff), bf16);
        }
        for (int c = 0; c < 2; c++) {
            const uint32_t *y = xchg_lane(4 * (tig * 2 + c) + u);
            for (int i = 0; i < 4; i++) { /* element b_i of lane 4n+u, n = 2t+c */
                const int row = u * 2 + (i & 1) + (i >= 2 ? 8 : 0);
                const uint32_t w = y[4 + i / 2];
                B[row][c] = half_bits_to_float((uint16_t)((i & 1) ? w >> 16 : w & 0xffff), bf16);
            }
        }
    }
    syncwarp();
    for (int i = 0; i < 4; i++) {
        float acc = d[i];
        for (int k = 0; k < 16; k++)
            acc += A[i >> 1][k] * B[k][i & 1];
        d[i] = acc;
    }
}

inline void fiber_main()
{
#ifdef KERN_EMU_ASAN
    __sanitizer_finish_switch_fiber(nullptr, &g->sched_stack_bottom, &g->sched_stack_size);
#endif
    (*g->body)();
    fiber &f = cur();
    f.done = true;
    bar_drop(g->block_bar);
    bar_drop(g->warp_bar[(size_t)(f.linear / 32)]);
#ifdef KERN_EMU_ASAN
    __sanitizer_start_switch_fiber(nullptr, g->sched_stack_bottom, g->sched_stack_size);
#endif
    /* returning resumes uc_link, the scheduler */
}

/* Separate frame: getcontext "returns twice" as far as the compiler knows. */
__attribute__((noinline)) inline void fiber_init(fiber &f, ucontext_t *link)
{
    getcontext(&f.uc);
    f.uc.uc_stack.ss_sp = f.stack;
    f.uc.uc_stack.ss_size = STACK_BYTES;
    f.uc.uc_link = link;
    makecontext(&f.uc, fiber_main, 0);
}

inline void launch(dim3 grid, dim3 block, const std::function<void()> &body)
{
    static std::vector<std::unique_ptr<char[]>> stacks; /* reused by every launch */
    const int n = (int)(block.x * block.y * block.z);
    while (stacks.size() < (size_t)n)
        stacks.emplace_back(new char[STACK_BYTES]);
    block_state st;
    st.fibers.resize((size_t)n);
    st.warp_bar.resize((size_t)((n + 31) / 32));
    st.xchg.assign((size_t)((n + 31) / 32) * 32 * XCHG_WORDS, 0u);
    st.grid_dim = grid;
    st.block_dim = block;
    st.body = &body;
    block_state *saved = g;
    g = &st;
    for (unsigned bz = 0; bz < grid.z; bz++)
        for (unsigned by = 0; by < grid.y; by++)
            for (unsigned bx = 0; bx < grid.x; bx++) {
                st.block_idx = dim3(bx, by, bz);
                st.block_bar = barrier{n, 0, 0};
                for (size_t w = 0; w < st.warp_bar.size(); w++) {
                    const int left = n - (int)w * 32;
                    st.warp_bar[w] = barrier{left < 32 ? left : 32, 0, 0};
                }
                for (int t = 0; t < n; t++) {
                    fiber &f = st.fibers[(size_t)t];
                    f.linear = t;
                    f.tid = dim3((unsigned)t % block.x, ((unsigned)t / block.x) % block.y,
                                 (unsigned)t / (block.x * block.y));
                    f.done = false;
                    f.stack = stacks[(size_t)t].get();
                    fiber_init(f, &st.sched);
                }
                int live = n, last = -1;
                std::vector<int> ready;
                while (live > 0) {
                    ready.clear();
                    for (int t = 0; t < n; t++) {
                        const fiber &f = st.fibers[(size_t)t];
                        if (!f.done && (!f.waiting || f.waiting->gen != f.wait_gen))
                            ready.push_back(t);
                    }
                    if (ready.empty())
                        die("deadlock: every live thread waits on a barrier");
                    int t = ready.front();
                    if (sched_policy == HIGHEST_FIRST) {
                        t = ready.back();
                    } else if (sched_policy == ROUND_ROBIN) {
                        for (int r : ready)
                            if (r > last) {
                                t = r;
                                break;
                            }
                    } else if (sched_policy == RANDOM) {
                        sched_rng ^= sched_rng << 13;
                        sched_rng ^= sched_rng >> 7;
                        sched_rng ^= sched_rng << 17;
                        t = ready[(size_t)(sched_rng % ready.size())];
                    }
                    last = t;
                    st.cur = t;
#ifdef KERN_EMU_ASAN
                    void *fake = nullptr;
                    __sanitizer_start_switch_fiber(&fake, st.fibers[(size_t)t].stack, STACK_BYTES);
                    swapcontext(&st.sched, &st.fibers[(size_t)t].uc);
                    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
                    swapcontext(&st.sched, &st.fibers[(size_t)t].uc);
#endif
                    if (st.fibers[(size_t)t].done)
                        live--;
                }
            }
    g = saved;
}

} // namespace kern_emu

#define threadIdx (kern_emu::cur().tid)
#define blockIdx (kern_emu::g->block_idx)
#define blockDim (kern_emu::g->block_dim)
#define gridDim (kern_emu::g->grid_dim)

inline void __syncthreads()
{
    kern_emu::bar_wait(kern_emu::g->block_bar);
}

template <typename V> inline V __shfl_xor_sync(unsigned mask, V v, int lane_mask)
{
    if (mask != 0xffffffffu)
        kern_emu::die("only full-warp shuffles are emulated");
    return kern_emu::shfl_xor(v, lane_mask);
}

inline float __expf(float x)
{
    return expf(x);
}

#endif
