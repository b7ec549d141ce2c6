/*
 * kern_dev.cuh: device-side helpers shared by the kernels: dtype traits on raw 16-bit
 * words, 16-byte loads, warp shuffles and the m16n8k16 tensor-core MMA.
 *
 * Built two ways: by nvcc for the GPU, and (with KERN_EMU defined) by a host C++ compiler
 * for tests/kernels/emu, which runs the same kernel source on the CPU with an emulated
 * warp (tests/kernels/emu/cuda_emu.h must be included first). Only the few primitives
 * below differ between the two.
 */
#ifndef LLMCAP_KERNELS_CUDA_KERN_DEV_CUH
#define LLMCAP_KERNELS_CUDA_KERN_DEV_CUH

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef KERN_EMU
#include <cuda_runtime.h>
#endif
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#ifdef KERN_EMU
#define KERN_LAUNCH(fn, grid, block, stream, ...)                                                  \
    ((void)(stream), kern_emu::launch((grid), (block), [&] { fn(__VA_ARGS__); }))
#else
#define KERN_LAUNCH(fn, grid, block, stream, ...) fn<<<(grid), (block), 0, (stream)>>>(__VA_ARGS__)
#endif

namespace kern
{

__device__ __forceinline__ int imin(int a, int b)
{
    return a < b ? a : b;
}

__device__ __forceinline__ float u32_as_float(uint32_t u)
{
#ifdef KERN_EMU
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#else
    return __uint_as_float(u);
#endif
}

/* Element traits on raw bits: BF16 selects bf16, otherwise fp16. */
template <bool BF16> struct dt;

template <> struct dt<false> {
    static __device__ __forceinline__ float to_f(uint16_t b)
    {
        return __half2float(__ushort_as_half(b));
    }
    static __device__ __forceinline__ uint16_t from_f(float f)
    {
        return __half_as_ushort(__float2half_rn(f));
    }
    /* Two elements packed in a word, low half first (the MMA operand order). */
    static __device__ __forceinline__ uint32_t pack(float lo, float hi)
    {
        __half2 h = __floats2half2_rn(lo, hi);
        uint32_t u;
        memcpy(&u, &h, sizeof u);
        return u;
    }
    static __device__ __forceinline__ float2 unpack(uint32_t u)
    {
        return make_float2(to_f((uint16_t)(u & 0xffffu)), to_f((uint16_t)(u >> 16)));
    }
};

template <> struct dt<true> {
    static __device__ __forceinline__ float to_f(uint16_t b)
    {
        return u32_as_float((uint32_t)b << 16); /* bf16 is the top half of an fp32 */
    }
    static __device__ __forceinline__ uint16_t from_f(float f)
    {
        return __bfloat16_as_ushort(__float2bfloat16_rn(f));
    }
    static __device__ __forceinline__ uint32_t pack(float lo, float hi)
    {
        __nv_bfloat162 h = __floats2bfloat162_rn(lo, hi);
        uint32_t u;
        memcpy(&u, &h, sizeof u);
        return u;
    }
    static __device__ __forceinline__ float2 unpack(uint32_t u)
    {
        return make_float2(u32_as_float(u << 16), u32_as_float(u & 0xffff0000u));
    }
};

/* Eight elements of a 16-byte vector as floats. */
template <bool BF16> __device__ __forceinline__ void unpack8(const uint4 &v, float (&f)[8])
{
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 p = dt<BF16>::unpack(w[i]);
        f[2 * i] = p.x;
        f[2 * i + 1] = p.y;
    }
}

/* 16-byte load from global memory through the read-only path (p 16-byte aligned). */
__device__ __forceinline__ uint4 ldg16(const uint16_t *p)
{
#ifdef KERN_EMU
    kern_emu::check_aligned(p, 16);
    uint4 v;
    memcpy(&v, p, sizeof v);
    return v;
#else
    return __ldg(reinterpret_cast<const uint4 *>(p));
#endif
}

/* 16-byte load and store, any address space (16-byte aligned). */
__device__ __forceinline__ uint4 ld16(const uint16_t *p)
{
#ifdef KERN_EMU
    kern_emu::check_aligned(p, 16);
#endif
    return *reinterpret_cast<const uint4 *>(p);
}

__device__ __forceinline__ void st16(uint16_t *p, const uint4 &v)
{
#ifdef KERN_EMU
    kern_emu::check_aligned(p, 16);
#endif
    *reinterpret_cast<uint4 *>(p) = v;
}

/* 4-byte load and store (4-byte aligned). */
__device__ __forceinline__ uint32_t ld32(const uint16_t *p)
{
#ifdef KERN_EMU
    kern_emu::check_aligned(p, 4);
#endif
    return *reinterpret_cast<const uint32_t *>(p);
}

__device__ __forceinline__ void st32(uint16_t *p, uint32_t v)
{
#ifdef KERN_EMU
    kern_emu::check_aligned(p, 4);
#endif
    *reinterpret_cast<uint32_t *>(p) = v;
}

__device__ __forceinline__ float shfl_xor(float v, int lane_mask)
{
    return __shfl_xor_sync(0xffffffffu, v, lane_mask);
}

/*
 * D += A * B for one warp: A 16x16 (row-major fragments a[4]), B 16x8 (column-major
 * fragments b[2]), D 16x8 fp32 (d[4]), in the register layout of PTX's
 * mma.m16n8k16 (lane = 4 * groupID + threadID_in_group; see docs/kernels.md).
 */
template <bool BF16>
__device__ __forceinline__ void mma16816(float (&d)[4], const uint32_t (&a)[4],
                                         const uint32_t (&b)[2])
{
#ifdef KERN_EMU
    kern_emu::mma16816(d, a, b, BF16);
#else
    if constexpr (BF16) {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    } else {
        asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
                     "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
                     : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
    }
#endif
}

} // namespace kern

#endif
