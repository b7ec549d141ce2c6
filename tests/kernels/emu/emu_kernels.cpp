/* emu_kernels.cpp: the CUDA kernel sources of kernels/cuda, compiled for the CPU
 * emulation in cuda_emu.h (one translation unit). */
#include "tests/kernels/emu/cuda_emu.h"

#include "kernels/cuda/convert.cu"
#include "kernels/cuda/decode.cu"
#include "kernels/cuda/prefill.cu"

/* For the test driver (C): which thread the emulated scheduler resumes next. */
extern "C" int kern_emu_policy_count(void)
{
    return kern_emu::N_POLICIES;
}

extern "C" void kern_emu_set_policy(int policy)
{
    kern_emu::sched_policy = static_cast<kern_emu::policy>(policy);
}
