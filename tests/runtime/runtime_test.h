// SPDX-License-Identifier: BSD-2-Clause
//
// Fixture and helpers of the runtime tests: Machines on one DeviceLayer,
// real KVM (a test skips, loudly, when /dev/kvm is absent), and the
// console and timing helpers the tests share.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "vmruntime/base/log.h"
#include "vmruntime/dev/console_ring.h"
#include "vmruntime/runtime/device_layer.h"
#include "vmruntime/runtime/machine.h"

namespace vmruntime::runtime_test {

using namespace std::chrono_literals;

// ThreadSanitizer runs everything several times slower: counts that only
// buy confidence shrink under it, never below what the test needs.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kUnderTsan = true;
#else
inline constexpr bool kUnderTsan = false;
#endif

// Keeps the log's lines for the test and restores the previous sink
// afterwards.
class CapturedLog {
public:
    CapturedLog()
    {
        previous_ = base::set_log_sink([this](std::string_view line) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(line);
        });
    }
    ~CapturedLog() { base::set_log_sink(previous_); }

    size_t count(std::string_view text) const
    {
        std::lock_guard lock(mutex_);
        size_t n = 0;
        for (const auto& line : lines_) {
            n += line.find(text) != std::string::npos;
        }
        return n;
    }

private:
    base::LogSink previous_;
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
};

class RuntimeTest : public ::testing::Test {
protected:
    void SetUp() override;

    // A created machine, or nullptr after recording a failure.
    std::unique_ptr<runtime::Machine> create(const runtime::MachineSpec& spec);
    // create() and start().
    std::unique_ptr<runtime::Machine> boot(const runtime::MachineSpec& spec);

    runtime::DeviceLayer layer_{2};
};

// Everything the console ring still holds (the tests stay far below its
// capacity, so that is everything since boot).
std::string console_text(const dev::ConsoleRing& ring);

// Waits until the console holds `text`.
bool wait_for_text(const dev::ConsoleRing& ring, std::string_view text,
                   std::chrono::milliseconds timeout);

// Polls `done` every millisecond until it holds or `timeout` passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);

std::string describe(const runtime::MachineStatus& status);

// The upper-case letters of `text`: the tests type upper case, which
// guests/hello never prints on its own, so these are its echo.
std::string upper_case_only(std::string_view text);

// Types A to Z over and over into guests/hello's UART and follows the echo.
// guests/hello drops what overflows its 64-byte receive ring, so a test
// types only while few bytes await their echo (wait_for_room).
class Typist {
public:
    static constexpr size_t kBacklog = 32;

    explicit Typist(runtime::Machine& machine) : machine_(machine) {}

    // Types the next n letters; false if the UART did not take them all.
    bool type(size_t n);
    // Waits until at most kBacklog typed bytes await their echo.
    bool wait_for_room(std::chrono::milliseconds timeout);
    // Waits until every typed byte came back.
    bool wait_for_echo(std::chrono::milliseconds timeout);

    const std::string& typed() const { return typed_; }
    std::string echo() const;

private:
    runtime::Machine& machine_;
    std::string typed_;
};

}  // namespace vmruntime::runtime_test
