// SPDX-License-Identifier: BSD-2-Clause
//
// A device's state as bytes, for snapshots: each device writes its fields in
// an order of its own and reads them back in the same order.  Fields are
// fixed-width little-endian integers, so the bytes mean the same on every
// host.  A snapshot file is not trusted: reading past the end, or a value the
// device rejects, fails the reader for good and the device is left for the
// caller to discard.  A device restores over whatever state it had: a
// reset restores the devices of a machine that ran.  Times are written relative to the device's clock at
// the moment of saving, so a restored device goes on from where it was
// whatever the new host's clock reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <type_traits>
#include <vector>

namespace vmruntime::dev {

template <class T>
concept StateField = std::is_integral_v<T> || std::is_enum_v<T>;

namespace detail {
// The type T's value is stored as, and the unsigned bytes of that.
template <StateField T>
using StateValue = typename std::conditional_t<std::is_enum_v<T>, std::underlying_type<T>, std::type_identity<T>>::type;
// conditional_t names both arms, and make_unsigned of bool is ill-formed:
// bool goes through uint8_t in both.
template <StateField T>
using StateBits = std::conditional_t<std::is_same_v<StateValue<T>, bool>, uint8_t,
                                     std::make_unsigned_t<std::conditional_t<std::is_same_v<StateValue<T>, bool>,
                                                                             uint8_t, StateValue<T>>>>;
}  // namespace detail

class StateWriter {
public:
    template <StateField T>
    void put(T value)
    {
        using U = detail::StateValue<T>;
        auto raw = static_cast<detail::StateBits<T>>(static_cast<U>(value));
        for (size_t i = 0; i < sizeof raw; i++) {
            bytes_.push_back(static_cast<uint8_t>(raw >> (8 * i)));
        }
    }
    template <StateField T>
    void put(const std::optional<T>& value)
    {
        put(value.has_value());
        put(value.value_or(T{}));
    }
    // A time point of the device's clock, as its distance from `now`.
    void put_time(std::chrono::nanoseconds t, std::chrono::nanoseconds now) { put<int64_t>((t - now).count()); }
    void put_time(const std::optional<std::chrono::nanoseconds>& t, std::chrono::nanoseconds now)
    {
        put(t.has_value());
        put_time(t.value_or(now), now);
    }
    void put_bytes(std::span<const uint8_t> bytes) { bytes_.insert(bytes_.end(), bytes.begin(), bytes.end()); }

    const std::vector<uint8_t>& bytes() const { return bytes_; }

private:
    std::vector<uint8_t> bytes_;
};

class StateReader {
public:
    explicit StateReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

    // T{} once the reader has failed.  A bool other than 0 or 1 fails it.
    template <StateField T>
    T get()
    {
        using U = detail::StateValue<T>;
        detail::StateBits<T> raw = 0;
        if (!take(sizeof raw)) {
            return T{};
        }
        for (size_t i = 0; i < sizeof raw; i++) {
            raw |= static_cast<decltype(raw)>(static_cast<decltype(raw)>(bytes_[pos_ - sizeof raw + i]) << (8 * i));
        }
        if constexpr (std::is_same_v<U, bool>) {
            if (raw > 1) {
                fail();
                return T{};
            }
        }
        return static_cast<T>(static_cast<U>(raw));
    }
    template <StateField T>
    std::optional<T> get_optional()
    {
        bool present = get<bool>();
        T value = get<T>();
        return present ? std::optional<T>(value) : std::nullopt;
    }
    // A span over some 70 years fails the reader: no device keeps one, and
    // the sums devices make of their times could overflow.
    std::chrono::nanoseconds get_time(std::chrono::nanoseconds now)
    {
        constexpr int64_t kMaxSpan = int64_t{1} << 61;
        const auto span = get<int64_t>();
        return check(span > -kMaxSpan && span < kMaxSpan) ? now + std::chrono::nanoseconds(span) : now;
    }
    std::optional<std::chrono::nanoseconds> get_optional_time(std::chrono::nanoseconds now)
    {
        bool present = get<bool>();
        auto t = get_time(now);
        return present ? std::optional(t) : std::nullopt;
    }
    // False (and `out` untouched) once the reader has failed.
    bool get_bytes(std::span<uint8_t> out)
    {
        if (!take(out.size())) {
            return false;
        }
        std::memcpy(out.data(), bytes_.data() + pos_ - out.size(), out.size());
        return true;
    }

    // A value the device cannot hold: the whole state is refused.
    void fail() { failed_ = true; }
    // `condition` must hold of what was read; fails the reader if not.
    bool check(bool condition)
    {
        if (!condition) {
            fail();
        }
        return ok();
    }
    bool ok() const { return !failed_; }
    // Everything read and nothing failed: what a device's restore ends on.
    bool done() const { return ok() && pos_ == bytes_.size(); }

private:
    bool take(size_t n)
    {
        if (failed_ || bytes_.size() - pos_ < n) {
            failed_ = true;
            return false;
        }
        pos_ += n;
        return true;
    }

    std::span<const uint8_t> bytes_;
    size_t pos_ = 0;
    bool failed_ = false;
};

}  // namespace vmruntime::dev
