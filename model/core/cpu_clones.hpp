// WS_CPU_CLONES on a hot function: the compiler builds it twice, for baseline x86-64 and for
// x86-64-v3 (AVX2, BMI2: shifts and masks by a register without extra moves), and the loader picks
// the one the CPU runs (target_clones, an ifunc; GCC and Clang). Elsewhere, and under the address
// sanitizer (whose start-up runs after ifunc resolvers), the function is built once, for the baseline.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define WS_SANITIZED_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WS_SANITIZED_BUILD 1
#endif
#endif

#if defined(__x86_64__) && defined(__linux__) && !defined(WS_SANITIZED_BUILD)
#define WS_CPU_CLONES __attribute__((target_clones("default", "arch=x86-64-v3")))
#else
#define WS_CPU_CLONES
#endif
