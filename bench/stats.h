// SPDX-License-Identifier: BSD-2-Clause
//
// What the benchmarks compute of their samples (quantiles, medians) and the
// process CPU time they charge runs with.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <vector>

namespace vmruntime::bench {

// The q-quantile (0 <= q <= 1) of v, interpolated between neighbours.
inline double quantile(std::vector<double> v, double q)
{
    std::sort(v.begin(), v.end());
    double at = q * static_cast<double>(v.size() - 1);
    size_t below = static_cast<size_t>(at);
    size_t above = std::min(below + 1, v.size() - 1);
    return v[below] + (at - static_cast<double>(below)) * (v[above] - v[below]);
}

inline double median(const std::vector<double>& v)
{
    return quantile(v, 0.5);
}

// User plus system time of this process, every thread, in nanoseconds.
inline double process_cpu_ns()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto ns = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) * 1e9 + tv.tv_usec * 1e3; };
    return ns(usage.ru_utime) + ns(usage.ru_stime);
}

}  // namespace vmruntime::bench
