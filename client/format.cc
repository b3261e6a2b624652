// SPDX-License-Identifier: BSD-2-Clause
//
// How vmctl writes values for people: the words for states and loaders
// (also used by --json) and short durations and sizes.
#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <iterator>

#include "vmctl.h"

namespace vmruntime::vmctl {
namespace {

struct LoaderWord {
    v1::LoaderKind kind;
    const char* word;
};

constexpr LoaderWord kLoaderWords[] = {
    {v1::LOADER_KIND_UNSPECIFIED, "auto"},         {v1::LOADER_KIND_ELF64, "elf"},
    {v1::LOADER_KIND_BZIMAGE, "bzimage"},          {v1::LOADER_KIND_PVH, "pvh"},
    {v1::LOADER_KIND_FLAT_REAL, "flat-real"},      {v1::LOADER_KIND_FLAT_PROTECTED, "flat-protected"},
    {v1::LOADER_KIND_FLAT_LONG, "flat-long"},
};

}  // namespace

bool parse_loader(const std::string& text, v1::LoaderKind* kind)
{
    for (const auto& w : kLoaderWords) {
        if (text == w.word) {
            *kind = w.kind;
            return true;
        }
    }
    return false;
}

std::string loader_word(v1::LoaderKind kind)
{
    for (const auto& w : kLoaderWords) {
        if (kind == w.kind) {
            return w.word;
        }
    }
    return std::to_string(static_cast<int>(kind));
}

std::string state_word(v1::MachineState state)
{
    const auto* value = v1::MachineState_descriptor()->FindValueByNumber(state);
    return value ? enum_word(value) : std::to_string(static_cast<int>(state));
}

// 0s, 42s, 5m12s, 3h04m, 2d07h: two units at most, as docker ps does.
std::string duration(uint64_t ns)
{
    const uint64_t s = ns / 1'000'000'000;
    char buf[32];
    if (s < 60) {
        std::snprintf(buf, sizeof buf, "%" PRIu64 "s", s);
    } else if (s < 3600) {
        std::snprintf(buf, sizeof buf, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
    } else if (s < 86400) {
        std::snprintf(buf, sizeof buf, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s % 3600 / 60);
    } else {
        std::snprintf(buf, sizeof buf, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, s % 86400 / 3600);
    }
    return buf;
}

// 512 B, 4.0 KiB, 12.5 MiB, 2.0 GiB.
std::string size(uint64_t bytes)
{
    static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
    if (bytes < 1024) {
        return std::to_string(bytes) + " B";
    }
    double v = static_cast<double>(bytes) / 1024;
    size_t unit = 0;
    while (v >= 1024 && unit + 1 < std::size(kUnits)) {
        v /= 1024;
        unit++;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
    return buf;
}

bool parse_mib(const std::string& text, uint64_t* mib)
{
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        digits++;
    }
    std::string unit = text.substr(digits);
    for (char& c : unit) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    uint64_t shift = 0;
    if (unit == "g" || unit == "gib") {
        shift = 10;
    } else if (!unit.empty() && unit != "m" && unit != "mib") {
        return false;
    }
    uint64_t value = 0;
    if (digits == 0 || !parse_u64(text.substr(0, digits), &value) || value == 0 || value > (UINT64_MAX >> 30)) {
        return false;
    }
    *mib = value << shift;
    return true;
}

bool parse_duration_ms(const std::string& text, uint64_t* ms)
{
    static const std::pair<const char*, uint64_t> kUnits[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"", 1000}};
    size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        digits++;
    }
    const std::string unit = text.substr(digits);
    uint64_t value = 0;
    if (digits == 0 || !parse_u64(text.substr(0, digits), &value)) {
        return false;
    }
    for (auto [name, scale] : kUnits) {
        if (unit == name) {
            if (value > UINT64_MAX / scale) {
                return false;
            }
            *ms = value * scale;
            return true;
        }
    }
    return false;
}

std::string utc_time(int64_t unix_ns, int digits)
{
    constexpr int64_t kNanosPerSecond = 1000000000;
    int64_t seconds = unix_ns / kNanosPerSecond;
    int64_t fraction = unix_ns % kNanosPerSecond;
    if (fraction < 0) {
        seconds -= 1;
        fraction += kNanosPerSecond;
    }
    for (int d = 9; d > digits; d--) {
        fraction /= 10;
    }
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    char out[48];
    std::snprintf(out, sizeof out, "%s.%0*" PRId64 "Z", date, digits, fraction);
    return out;
}

}  // namespace vmruntime::vmctl
