// SPDX-License-Identifier: BSD-2-Clause
//
// What the guest image loaders share: the result types they answer with and
// the options that are not part of the image.  A loader writes into a view of
// guest RAM (GPA 0 is ram[0]) and either returns the BootState the boot vCPU
// must be given, or an Error saying why it refused the image.  A refused
// image leaves RAM untouched: every check runs before the first write.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vmruntime::loader {

struct Error {
    std::string message;
};

// A value or an Error (GCC 12 has no std::expected).
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return std::holds_alternative<T>(v_); }
    // Only when ok().
    const T& value() const { return std::get<T>(v_); }
    // Only when !ok().
    const std::string& error() const { return std::get<Error>(v_).message; }

private:
    std::variant<T, Error> v_;
};

// Success, or an Error.
class [[nodiscard]] Status {
public:
    Status() = default;
    Status(Error error) : error_(std::move(error.message)) {}

    bool ok() const { return !error_.has_value(); }
    // Only when !ok().
    const std::string& error() const { return *error_; }

private:
    std::optional<std::string> error_;
};

// What the machine spec adds to an image.
struct BootOptions {
    // Copied NUL-terminated to kCmdlineGpa; RSI points at it.
    std::string_view cmdline = {};
    // Linux kernels only: the initial RAM disk, placed high in RAM.
    std::span<const uint8_t> initrd = {};
    // Initial stack pointer; 0 places the stack just below the image.
    uint64_t stack_top = 0;
    // RAM is fresh anonymous memory, zero already: a segment's bss is left
    // untouched, so its pages cost nothing until the guest writes them.
    bool ram_is_zero = false;
};

}  // namespace vmruntime::loader
