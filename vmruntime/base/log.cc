// SPDX-License-Identifier: BSD-2-Clause
//
// The logger behind log.h: a minimum level read without a lock on every
// call, and a sink guarded by one mutex so each line reaches it whole.
// The default sink only queues the line (StderrQueue): logging never waits
// for stderr.
#include "vmruntime/base/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iomanip>
#include <mutex>

#include "vmruntime/base/stderr_queue.h"

namespace vmruntime::base {
namespace {

constinit std::atomic<LogLevel> g_level{LogLevel::kInfo};

struct SinkSlot {
    std::mutex mutex;
    LogSink sink;
};

// A function-local static, so code logging from static initialisers finds
// the slot constructed.
SinkSlot& sink_slot()
{
    static SinkSlot slot;
    return slot;
}

// syslog(3)'s LOG_DEBUG, LOG_INFO, LOG_WARNING and LOG_ERR.
int syslog_priority(LogLevel level)
{
    switch (level) {
    case LogLevel::kDebug:
        return 7;
    case LogLevel::kInfo:
        return 6;
    case LogLevel::kWarn:
        return 4;
    case LogLevel::kError:
        return 3;
    }
    return 6;
}

// A newline in a message (a machine name or path a client sent, say) would
// end its line early and let the rest pass for a line of its own, with a
// journal priority of its choosing.
std::string one_line(std::string_view message)
{
    std::string text(message);
    for (char& c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            c = '?';
        }
    }
    return text;
}

}  // namespace

void set_log_level(LogLevel level)
{
    g_level.store(level, std::memory_order_relaxed);
}

LogLevel log_level()
{
    return g_level.load(std::memory_order_relaxed);
}

bool log_enabled(LogLevel level)
{
    return level >= log_level();
}

LogSink set_log_sink(LogSink sink)
{
    SinkSlot& slot = sink_slot();
    std::lock_guard lock(slot.mutex);
    std::swap(slot.sink, sink);
    return sink;
}

std::string_view log_level_name(LogLevel level)
{
    switch (level) {
    case LogLevel::kDebug:
        return "DEBUG";
    case LogLevel::kInfo:
        return "INFO";
    case LogLevel::kWarn:
        return "WARN";
    case LogLevel::kError:
        return "ERROR";
    }
    return "?";
}

std::string format_log_line(std::chrono::system_clock::time_point when, LogLevel level,
                            std::string_view component, std::string_view message)
{
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(when.time_since_epoch());
    const auto secs = floor<seconds>(ms);
    const std::time_t t = static_cast<std::time_t>(secs.count());
    std::tm tm{};
    gmtime_r(&t, &tm);

    std::ostringstream out;
    out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setfill('0') << std::setw(3)
        << (ms - secs).count() << "Z " << log_level_name(level) << " [" << component << "] " << message;
    return out.str();
}

std::string format_journal_line(LogLevel level, std::string_view component, std::string_view message)
{
    std::ostringstream out;
    out << '<' << syslog_priority(level) << ">[" << component << "] " << message;
    return out.str();
}

bool stderr_is_journal()
{
    static const bool journal = [] {
        const char* stream = std::getenv("JOURNAL_STREAM");
        struct stat st {};
        unsigned long long dev = 0, ino = 0;
        char extra = 0;
        return stream != nullptr && ::fstat(STDERR_FILENO, &st) == 0 &&
               std::sscanf(stream, "%llu:%llu%c", &dev, &ino, &extra) == 2 && dev == st.st_dev &&
               ino == st.st_ino;
    }();
    return journal;
}

std::string format_line_now(LogLevel level, std::string_view component, std::string_view message)
{
    if (stderr_is_journal()) {
        return format_journal_line(level, component, message);
    }
    return format_log_line(std::chrono::system_clock::now(), level, component, message);
}

void log_message(LogLevel level, std::string_view component, std::string_view message)
{
    if (!log_enabled(level)) {
        return;
    }
    std::string line = format_line_now(level, component, one_line(message));
    SinkSlot& slot = sink_slot();
    std::lock_guard lock(slot.mutex);
    if (slot.sink) {
        slot.sink(line);
    } else {
        StderrQueue::instance().push(std::move(line));
    }
}

bool flush_log(std::chrono::milliseconds timeout)
{
    return StderrQueue::instance().flush(timeout);
}

uint64_t log_lines_dropped()
{
    return StderrQueue::instance().dropped();
}

std::string hex(uint64_t value)
{
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

}  // namespace vmruntime::base
