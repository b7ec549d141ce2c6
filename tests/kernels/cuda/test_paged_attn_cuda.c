/*
 * The CUDA attention kernels against the CPU reference (kernels/cuda/kcheck.h).
 *
 * Built twice by kernels/CMakeLists.txt: as kernels.test_paged_attn_cuda, linked with the
 * real kernels and CUDA runtime, which runs the --check cases on the GPU and skips
 * ("no CUDA device") where there is none; and, with KCHECK_EMU defined, as
 * kernels.test_paged_attn_emu, linked with the same kernel source compiled for the CPU
 * emulation (tests/kernels/emu), which runs smaller cases everywhere.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include "kernels/cuda/kcheck.h"

#ifdef KCHECK_EMU
#define SUITE paged_attn_emu
/* tests/kernels/emu/emu_kernels.cpp: the order in which emulated threads run */
int kern_emu_policy_count(void);
void kern_emu_set_policy(int policy);
#else
#define SUITE paged_attn_cuda
#endif

static void require_device(void)
{
    int n = 0;
    cudaError_t rc = cudaGetDeviceCount(&n);
    if (rc != cudaSuccess || n < 1)
        cr_skip_test("no CUDA device");
}

static void check_cases(enum kern_dtype dt, const char *how)
{
    const struct kcheck_case *cases;
#ifdef KCHECK_EMU
    size_t n = kcheck_small_cases(&cases);
#else
    size_t n = kcheck_cases(&cases);
#endif
    for (size_t i = 0; i < n; i++) {
        struct kcheck_result r;
        struct sim_err err = {0};
        int rc = kcheck_run(&cases[i], dt, 1000 + i, &r, &err);
        cr_expect_eq(rc, SIM_OK, "%s%s: %s", cases[i].name, how, err.msg);
        if (rc != SIM_OK)
            continue;
        cr_log_info("%s %s%s: max |err| %.3g (tolerance %.3g, max |ref| %.3g, %zu values)",
                    cases[i].name, kern_dtype_name(dt), how, r.max_abs_err, r.tolerance,
                    r.max_abs_ref, r.n_values);
        /* the tolerance is derived in kcheck.h: two roundings to the dtype at most */
        cr_expect(r.pass, "%s %s%s: max |err| %.3g > tolerance %.3g", cases[i].name,
                  kern_dtype_name(dt), how, r.max_abs_err, r.tolerance);
        /* the outputs are not all tiny (a vacuous comparison would pass any kernel) */
        cr_expect_gt(r.max_abs_ref, 20.0 * r.tolerance, "%s: reference too small", cases[i].name);
    }
}

static void check_all(enum kern_dtype dt)
{
    require_device();
#ifdef KCHECK_EMU
    /* every scheduling order: warps far ahead of or behind each other expose a missing
     * barrier, which in lockstep would go unnoticed */
    static const char *const names[] = {" (warp 0 first)", " (last warp first)", " (round robin)",
                                        " (random order)"};
    cr_assert_eq(kern_emu_policy_count(), 4);
    for (int p = 0; p < kern_emu_policy_count(); p++) {
        kern_emu_set_policy(p);
        check_cases(dt, names[p]);
    }
#else
    check_cases(dt, "");
#endif
}

Test(SUITE, bf16_kernels_match_the_reference, .timeout = 600.0)
{
    check_all(KERN_BF16);
}

Test(SUITE, fp16_kernels_match_the_reference, .timeout = 600.0)
{
    check_all(KERN_FP16);
}
