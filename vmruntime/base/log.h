// SPDX-License-Identifier: BSD-2-Clause
//
// A small logging facility for the runtime.  Each message becomes one line,
//
//     2026-11-25T10:00:00.123Z WARN [io_bus] unclaimed read of port 0x2f9
//
// (UTC, milliseconds), written to stderr in a single write(2) by a thread
// of its own unless a test installs its own sink: logging never waits for
// stderr, and while stderr takes nothing, lines past 1 MiB are dropped and
// counted.  When stderr is a stream to journald (systemd's $JOURNAL_STREAM
// names it), a line is instead
//
//     <4>[io_bus] unclaimed read of port 0x2f9
//
// its syslog priority first and no timestamp: journald stamps each line
// and reads its priority from there.  Control characters in a message
// become '?', so that a message is one line whatever it quotes.  Arguments
// are formatted with operator<<, so the call sites are type-safe and need
// no format strings (std::format is not in GCC 12).  Safe to call from any
// thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>

namespace vmruntime::base {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// Receives each finished line, without the trailing newline.  Called with
// the logger's lock held, so lines never interleave; it must not log.
using LogSink = std::function<void(std::string_view line)>;

// Messages below `level` are dropped before they are formatted.  The
// default is kInfo.
void set_log_level(LogLevel level);
LogLevel log_level();
bool log_enabled(LogLevel level);

// Replaces the sink and returns the previous one; an empty sink restores
// the default (stderr).
LogSink set_log_sink(LogSink sink);

// Waits until the lines logged to stderr so far are written, for at most
// `timeout`; false if stderr did not take them.  (At exit this happens by
// itself, for at most a second.)
bool flush_log(std::chrono::milliseconds timeout = std::chrono::seconds(1));
// Lines stderr did not take in time, since the process started.
uint64_t log_lines_dropped();

// "DEBUG", "INFO", "WARN" or "ERROR".
std::string_view log_level_name(LogLevel level);

// The line for one message, as the sink receives it unless stderr is the
// journal's.
std::string format_log_line(std::chrono::system_clock::time_point when, LogLevel level,
                            std::string_view component, std::string_view message);
// The line for one message as journald takes it: "<6>[component] message",
// "<N>" being the syslog priority of `level` (7 debug, 6 info, 4 warn,
// 3 error).
std::string format_journal_line(LogLevel level, std::string_view component, std::string_view message);
// Whether stderr is a stream to journald: $JOURNAL_STREAM holds the device
// and inode of the stream systemd connected ("DEV:INODE", see
// systemd.exec(5)), and those are stderr's.  Decided at the first call.
bool stderr_is_journal();
// The line for one message logged now, as the sink receives it: the
// journal's form when stderr_is_journal(), otherwise format_log_line's.
std::string format_line_now(LogLevel level, std::string_view component, std::string_view message);

// Stamps `message` with the current time and hands it to the sink, if
// `level` is enabled.
void log_message(LogLevel level, std::string_view component, std::string_view message);

// Formats an unsigned value as lowercase hex with a 0x prefix ("0x3f8").
std::string hex(uint64_t value);

template <typename... Args>
void log(LogLevel level, std::string_view component, const Args&... args)
{
    if (!log_enabled(level)) {
        return;
    }
    std::ostringstream out;
    (out << ... << args);
    log_message(level, component, out.str());
}

template <typename... Args>
void log_debug(std::string_view component, const Args&... args)
{
    log(LogLevel::kDebug, component, args...);
}

template <typename... Args>
void log_info(std::string_view component, const Args&... args)
{
    log(LogLevel::kInfo, component, args...);
}

template <typename... Args>
void log_warn(std::string_view component, const Args&... args)
{
    log(LogLevel::kWarn, component, args...);
}

template <typename... Args>
void log_error(std::string_view component, const Args&... args)
{
    log(LogLevel::kError, component, args...);
}

}  // namespace vmruntime::base
