/*
 * The portable builds: the reference FWHT and plain C loops, float32 and float64, for any CPU the
 * compiler targets (the compiler may still vectorise them with its baseline instruction set).
 */
#define KERNEL_TARGET

#define REAL float
#define KERNEL(name) name##_f32_portable
#define KERNEL_TABLE kernels_f32_portable
#include "kernel_template.h"
#undef REAL
#undef KERNEL
#undef KERNEL_TABLE
#undef FWHT_ROW

#define REAL double
#define KERNEL(name) name##_f64_portable
#define KERNEL_TABLE kernels_f64_portable
#include "kernel_template.h"
