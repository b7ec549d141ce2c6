/* convert.cu: element conversions between fp32 and fp16/bf16, and a counter-based
 * uniform fill for benchmark inputs. */
#include "kernels/cuda/kern.h"
#include "kernels/cuda/kern_dev.cuh"

namespace
{

using namespace kern;

constexpr int CV_THREADS = 256;

template <bool BF16>
__global__ void from_f32_kernel(uint16_t *__restrict__ dst, const float *__restrict__ src, size_t n)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dst[i] = dt<BF16>::from_f(src[i]);
}

template <bool BF16>
__global__ void to_f32_kernel(float *__restrict__ dst, const uint16_t *__restrict__ src, size_t n)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride)
        dst[i] = dt<BF16>::to_f(src[i]);
}

/* splitmix64 of (seed, index): independent of the launch shape */
__device__ __forceinline__ uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

template <bool BF16>
__global__ void fill_uniform_kernel(uint16_t *__restrict__ dst, size_t n, uint64_t seed, float lo,
                                    float hi)
{
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        const float u = (float)(mix64(seed * 0x100000001b3ull + i) >> 40) * (1.0f / 16777216.0f);
        dst[i] = dt<BF16>::from_f(lo + (hi - lo) * u);
    }
}

unsigned cv_blocks(size_t n)
{
    const size_t b = (n + CV_THREADS - 1) / CV_THREADS;
    return (unsigned)(b < 1 ? 1 : b > 65535 ? 65535 : b);
}

} // namespace

extern "C" {

cudaError_t kern_from_f32(void *dst, enum kern_dtype dt, const float *src, size_t n,
                          cudaStream_t stream)
{
    uint16_t *d = static_cast<uint16_t *>(dst);
    if (dt == KERN_BF16) {
        auto *fn = from_f32_kernel<true>;
        KERN_LAUNCH(fn, dim3(cv_blocks(n)), dim3(CV_THREADS), stream, d, src, n);
    } else {
        auto *fn = from_f32_kernel<false>;
        KERN_LAUNCH(fn, dim3(cv_blocks(n)), dim3(CV_THREADS), stream, d, src, n);
    }
    return cudaGetLastError();
}

cudaError_t kern_to_f32(float *dst, const void *src, enum kern_dtype dt, size_t n,
                        cudaStream_t stream)
{
    const uint16_t *s = static_cast<const uint16_t *>(src);
    if (dt == KERN_BF16) {
        auto *fn = to_f32_kernel<true>;
        KERN_LAUNCH(fn, dim3(cv_blocks(n)), dim3(CV_THREADS), stream, dst, s, n);
    } else {
        auto *fn = to_f32_kernel<false>;
        KERN_LAUNCH(fn, dim3(cv_blocks(n)), dim3(CV_THREADS), stream, dst, s, n);
    }
    return cudaGetLastError();
}

cudaError_t kern_fill_uniform(void *dst, enum kern_dtype dt, size_t n, uint64_t seed, float lo,
                              float hi, cudaStream_t stream)
{
    uint16_t *d = static_cast<uint16_t *>(dst);
    if (dt == KERN_BF16) {
        auto *fn = fill_uniform_kernel<true>;
        KERN_LAUNCH(fn, dim3(cv_blocks(n)), dim3(CV_THREADS), stream, d, n, seed, lo, hi);
    } else {
        auto *fn = fill_uniform_kernel<false>;
        KERN_LAUNCH(fn, dim3(cv_blocks(n)), dim3(CV_THREADS), stream, d, n, seed, lo, hi);
    }
    return cudaGetLastError();
}

} // extern "C"
