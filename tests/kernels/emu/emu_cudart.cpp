/* emu_cudart.cpp: the few CUDA runtime calls kernels/cuda and kcheck.c make, on host
 * memory, for the CPU emulation (kernels run synchronously inside the launch). */
#include <cuda_runtime_api.h>

#include <cstdlib>
#include <cstring>

extern "C" {

cudaError_t cudaMalloc(void **p, size_t size)
{
    size_t rounded = (size + 255) / 256 * 256;
    *p = aligned_alloc(256, rounded ? rounded : 256);
    return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}

cudaError_t cudaFree(void *p)
{
    free(p);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind)
{
    memcpy(dst, src, count);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *p, int value, size_t count)
{
    memset(p, value, count);
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    return cudaSuccess;
}

cudaError_t cudaGetLastError(void)
{
    return cudaSuccess;
}

const char *cudaGetErrorString(cudaError_t e)
{
    return e == cudaSuccess ? "no error" : "emulated CUDA error";
}

cudaError_t cudaGetDeviceCount(int *count)
{
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device)
{
    *device = 0;
    return cudaSuccess;
}

/* An H100 SXM has 132 multiprocessors: the automatic decode partition sees that. */
cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int)
{
    if (attr != cudaDevAttrMultiProcessorCount)
        return cudaErrorInvalidValue;
    *value = 132;
    return cudaSuccess;
}

} // extern "C"
