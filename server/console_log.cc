// SPDX-License-Identifier: BSD-2-Clause
//
// Console logs: the record format, its reader and the writer fed by the
// console rings (the format and the threads: console_log.h).
#include "server/console_log.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <future>
#include <utility>

#include "server/status.h"
#include "vmruntime/base/log.h"
#include "vmruntime/runtime/machine.h"

namespace vmruntime::server {
namespace {

// Read from a file at a time.
constexpr size_t kReadBytes = 64 * 1024;
// "<19 digits> <6 digits>\n" and then some: a longer header is damage.
constexpr size_t kMaxHeader = 32;

int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string lost_marker(uint64_t bytes)
{
    return "[vmruntimed: " + std::to_string(bytes) + " bytes of console output were lost here]\n";
}

// "<time> <length>" into its numbers; false, setting nothing, unless
// exactly that.
bool parse_header(std::string_view text, int64_t* time_ns, uint64_t* length)
{
    const size_t space = text.find(' ');
    if (space == std::string_view::npos) {
        return false;
    }
    const char* end = text.data() + text.size();
    int64_t time = 0;
    uint64_t size = 0;
    auto parsed_time = std::from_chars(text.data(), text.data() + space, time);
    auto parsed_size = std::from_chars(text.data() + space + 1, end, size);
    if (parsed_time.ec != std::errc() || parsed_time.ptr != text.data() + space || time < 0 ||
        parsed_size.ec != std::errc() || parsed_size.ptr != end || size == 0 || size > kLogRecordBytes) {
        return false;
    }
    *time_ns = time;
    *length = size;
    return true;
}

absl::Status open_for_reading(const std::filesystem::path& path, base::UniqueFd* fd, uint64_t* size)
{
    base::UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!file) {
        return errno == ENOENT ? absl::OkStatus() : host_failure(errno_text("open " + path.string()));
    }
    struct stat st;
    if (::fstat(file.get(), &st) == -1) {
        return host_failure(errno_text("stat " + path.string()));
    }
    *size = static_cast<uint64_t>(st.st_size);
    *fd = std::move(file);
    return absl::OkStatus();
}

}  // namespace

// ---------------------------------------------------------------------------
// LineCutter

void LineCutter::cut(int64_t time_ns, std::string_view bytes, std::vector<LogPiece>* out)
{
    while (!bytes.empty()) {
        if (!open_) {
            open_ = true;
            line_time_ = time_ns;
        }
        const size_t newline = bytes.find('\n');
        const size_t n = std::min(newline == std::string_view::npos ? bytes.size() : newline + 1, kLogRecordBytes);
        out->push_back({line_time_, std::string(bytes.substr(0, n))});
        open_ = bytes[n - 1] != '\n';
        bytes.remove_prefix(n);
    }
}

void LineCutter::resume_open_line(int64_t time_ns)
{
    open_ = true;
    line_time_ = time_ns;
}

// ---------------------------------------------------------------------------
// LogReader

LogReader::LogReader(const LogHistory& history) : history_(history)
{
    next_file();
}

bool LogReader::next_file()
{
    buf_.clear();
    pos_ = 0;
    offset_ = 0;
    left_ = 0;
    while (++file_ < 2) {
        if (file_ == 0 ? history_.older : history_.newer) {
            return true;
        }
    }
    return false;
}

std::string_view LogReader::available()
{
    if (pos_ < buf_.size() || file_ > 1) {
        return std::string_view(buf_).substr(pos_);
    }
    buf_.clear();
    pos_ = 0;
    const uint64_t size = file_ == 0 ? history_.older_bytes : history_.newer_bytes;
    const int fd = file_ == 0 ? history_.older.get() : history_.newer.get();
    if (offset_ >= size) {
        return {};
    }
    buf_.resize(static_cast<size_t>(std::min<uint64_t>(kReadBytes, size - offset_)));
    ssize_t n;
    do {
        n = ::pread(fd, buf_.data(), buf_.size(), static_cast<off_t>(offset_));
    } while (n == -1 && errno == EINTR);
    // A file that cannot be read ends here: there is nothing better to send.
    buf_.resize(n > 0 ? static_cast<size_t>(n) : 0);
    offset_ += buf_.size();
    return buf_;
}

LogReader::Header LogReader::start_record()
{
    for (;;) {
        if (file_ > 1) {
            return Header::End;
        }
        // The header may straddle two reads: keep the start, read on.
        std::string head(available().substr(0, kMaxHeader));
        const uint64_t at = offset_ - (buf_.size() - pos_);
        pos_ += head.size();
        while (head.find('\n') == std::string::npos && head.size() < kMaxHeader) {
            auto more = available().substr(0, kMaxHeader - head.size());
            if (more.empty()) {
                break;
            }
            head.append(more);
            pos_ += more.size();
        }
        const size_t newline = head.find('\n');
        // The end of the file, or a header whose write the daemon did not
        // finish.
        if (newline == std::string::npos && head.size() < kMaxHeader) {
            next_file();
            continue;
        }
        if (newline == std::string::npos || !parse_header(std::string_view(head).substr(0, newline), &record_time_,
                                                         &left_)) {
            marker_ = "[vmruntimed: " + history_.file_name + (file_ == 0 ? ".1" : "") + " is damaged at byte " +
                      std::to_string(at) + "; the rest of it is left out]\n";
            return Header::Damaged;
        }
        // Give back what was taken past the header: the buffer still holds
        // it, unless the header straddled a read, whose tail is all of it.
        pos_ -= head.size() - newline - 1;
        return Header::Record;
    }
}

LogPiece LogReader::take_line()
{
    LogPiece piece{line_time_, std::move(line_)};
    line_.clear();
    open_ = piece.text.back() != '\n';
    return piece;
}

std::optional<LogPiece> LogReader::next()
{
    for (;;) {
        if (marker_) {
            if (open_) {
                line_ += '\n';
                return take_line();
            }
            LogPiece piece{record_time_, std::move(*marker_)};
            marker_.reset();
            return piece;
        }
        if (left_ == 0) {
            switch (start_record()) {
            case Header::Record:
                break;
            case Header::End:
                if (line_.empty()) {
                    return std::nullopt;
                }
                return take_line();
            case Header::Damaged:
                next_file();
                continue;
            }
        }
        std::string_view data = available();
        if (data.empty()) {
            left_ = 0;  // the file ends inside the record: a write the daemon did not finish
            continue;
        }
        if (!open_) {
            open_ = true;
            line_time_ = record_time_;
        }
        data = data.substr(0, static_cast<size_t>(std::min<uint64_t>(left_, kLogRecordBytes - line_.size())));
        const size_t newline = data.find('\n');
        const size_t n = newline == std::string_view::npos ? data.size() : newline + 1;
        line_.append(data.substr(0, n));
        pos_ += n;
        left_ -= n;
        if (newline != std::string_view::npos || line_.size() == kLogRecordBytes) {
            return take_line();
        }
    }
}

uint64_t count_lines(const LogHistory& history)
{
    LogReader reader(history);
    uint64_t lines = 0;
    bool open = false;
    while (auto piece = reader.next()) {
        open = piece->text.back() != '\n';
        lines += open ? 0 : 1;
    }
    return lines + (open ? 1 : 0);
}

// ---------------------------------------------------------------------------
// LogFiles

LogFiles::LogFiles(std::filesystem::path path, uint64_t max_file_bytes)
    : path_(std::move(path)), older_(path_.string() + ".1"), max_file_bytes_(max_file_bytes)
{
}

absl::Status LogFiles::open()
{
    if (fd_) {
        return absl::OkStatus();
    }
    constexpr int kFlags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW;
    int fd = ::open(path_.c_str(), kFlags, 0640);
    if (fd == -1 && errno == ENOENT && (::mkdir(path_.parent_path().c_str(), 0750) == 0 || errno == EEXIST)) {
        fd = ::open(path_.c_str(), kFlags, 0640);
    }
    if (fd == -1) {
        return host_failure(errno_text("open " + path_.string()));
    }
    fd_.reset(fd);
    struct stat st;
    if (::fstat(fd, &st) == -1) {
        fd_.reset();
        return host_failure(errno_text("stat " + path_.string()));
    }
    size_ = static_cast<uint64_t>(st.st_size);
    return absl::OkStatus();
}

void LogFiles::close()
{
    fd_.reset();
}

absl::Status LogFiles::rotate()
{
    fd_.reset();
    if (::rename(path_.c_str(), older_.c_str()) == -1) {
        return host_failure(errno_text("rename " + path_.string()));
    }
    return open();
}

absl::Status LogFiles::append(int64_t time_ns, std::string_view bytes)
{
    // Half a file at most, so that a record always fits in a fresh one.
    const size_t most = static_cast<size_t>(std::min<uint64_t>(kLogRecordBytes, max_file_bytes_ / 2));
    while (!bytes.empty()) {
        const std::string_view part = bytes.substr(0, most);
        if (auto written = write_record(time_ns, part); !written.ok()) {
            return written;
        }
        bytes.remove_prefix(part.size());
    }
    return absl::OkStatus();
}

absl::Status LogFiles::write_record(int64_t time_ns, std::string_view bytes)
{
    std::string record = std::to_string(time_ns) + " " + std::to_string(bytes.size()) + "\n";
    record.append(bytes);
    if (auto opened = open(); !opened.ok()) {
        return opened;
    }
    if (size_ > 0 && size_ + record.size() > max_file_bytes_) {
        if (auto rotated = rotate(); !rotated.ok()) {
            return rotated;
        }
    }
    size_t done = 0;
    while (done < record.size()) {
        const ssize_t n = ::write(fd_.get(), record.data() + done, record.size() - done);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const std::string error = errno_text("write " + path_.string());
            // Half a record would make the rest of the file unreadable.
            if (done > 0 && ::ftruncate(fd_.get(), static_cast<off_t>(size_)) == -1) {
                fd_.reset();
            }
            return host_failure(error);
        }
        done += static_cast<size_t>(n);
    }
    size_ += record.size();
    return absl::OkStatus();
}

bool LogFiles::ends_open_line()
{
    base::UniqueFd fd;
    uint64_t size = 0;
    char last = '\n';
    if (open_for_reading(path_, &fd, &size).ok() && fd && size > 0 &&
        ::pread(fd.get(), &last, 1, static_cast<off_t>(size - 1)) != 1) {
        last = '\n';
    }
    return last != '\n';
}

absl::StatusOr<LogHistory> LogFiles::history() const
{
    LogHistory history;
    history.file_name = path_.filename().string();
    if (auto older = open_for_reading(older_, &history.older, &history.older_bytes); !older.ok()) {
        return older;
    }
    if (auto newer = open_for_reading(path_, &history.newer, &history.newer_bytes); !newer.ok()) {
        return newer;
    }
    return history;
}

void LogFiles::remove()
{
    fd_.reset();
    for (const auto& path : {path_, older_}) {
        if (::unlink(path.c_str()) == -1 && errno != ENOENT) {
            base::log_warn("console-log", errno_text("cannot remove " + path.string()));
        }
    }
}

// ---------------------------------------------------------------------------
// LogWriter

// The writer thread, and the one timer that batches the writes of all the
// logs: the first log that grows arms it, and when it fires every log that
// grew since drains.
class LogWriter {
public:
    // Named, so that a stack dump or top tells it from the vCPUs.
    LogWriter()
    {
        boost::asio::post(pool_, [] { pthread_setname_np(pthread_self(), "console-log"); });
    }

    boost::asio::thread_pool& pool() { return pool_; }

    // `log` drains within kFlushDelay.  Any thread.
    void schedule(std::weak_ptr<ConsoleLog> log)
    {
        std::lock_guard lock(mutex_);
        due_.push_back(std::move(log));
        if (!armed_) {
            armed_ = true;
            timer_.expires_after(kFlushDelay);
            timer_.async_wait([this](const boost::system::error_code&) { flush(); });
        }
    }

    // Runs what is queued, the pending timer included, then joins.
    void join() { pool_.join(); }

private:
    void flush()
    {
        std::vector<std::weak_ptr<ConsoleLog>> due;
        {
            std::lock_guard lock(mutex_);
            due.swap(due_);
            armed_ = false;
        }
        for (const auto& weak : due) {
            if (auto log = weak.lock()) {
                log->post([log = log.get()] { log->drain(); });
            }
        }
    }

    boost::asio::thread_pool pool_{1};
    std::mutex mutex_;
    boost::asio::steady_timer timer_{pool_};  // under mutex_
    bool armed_ = false;
    std::vector<std::weak_ptr<ConsoleLog>> due_;
};

// ---------------------------------------------------------------------------
// ConsoleLog

ConsoleLog::ConsoleLog(std::shared_ptr<LogWriter> writer, std::string name, std::filesystem::path path)
    : name_(std::move(name)),
      writer_(std::move(writer)),
      strand_(boost::asio::make_strand(writer_->pool())),
      files_(std::move(path))
{
}

template <typename Fn>
void ConsoleLog::post(Fn fn)
{
    boost::asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)]() mutable {
        try {
            fn();
        } catch (const std::exception& e) {
            base::log_error("console-log", "machine ", self->name_, ": ", e.what());
        }
    });
}

void ConsoleLog::attach(const std::shared_ptr<runtime::Machine>& machine)
{
    std::lock_guard lock(mutex_);
    if (closed_) {
        return;
    }
    // Kept until the handler has written the rest of its output.
    std::shared_ptr<runtime::Machine> previous = latest_.lock();
    latest_ = machine;
    attached_ = true;
    post([this, previous = std::move(previous), next = std::weak_ptr(machine)]() mutable {
        switch_to(std::move(next));
        previous.reset();
    });
}

bool ConsoleLog::attached() const
{
    std::lock_guard lock(mutex_);
    return attached_;
}

void ConsoleLog::grew()
{
    std::lock_guard lock(mutex_);
    if (closed_) {
        return;
    }
    if (pending_ns_ == 0) {
        pending_ns_ = now_ns();
    }
    if (!scheduled_) {
        scheduled_ = true;
        writer_->schedule(weak_from_this());
    }
}

int64_t ConsoleLog::take_time()
{
    std::lock_guard lock(mutex_);
    const int64_t time = std::exchange(pending_ns_, 0);
    return time != 0 ? time : now_ns();
}

void ConsoleLog::drain()
{
    {
        std::lock_guard lock(mutex_);
        scheduled_ = false;
        if (closed_) {
            return;
        }
    }
    if (auto machine = current_.lock()) {
        write_out(*machine);
        arm(*machine);
    }
}

void ConsoleLog::switch_to(std::weak_ptr<runtime::Machine> next)
{
    if (auto previous = current_.lock()) {
        write_out(*previous);
        previous->console().cancel_notify(armed_);
    }
    current_ = std::move(next);
    next_ = 0;
    armed_ = 0;
    new_run_ = true;
    if (auto machine = current_.lock()) {
        write_out(*machine);
        arm(*machine);
    }
}

void ConsoleLog::write_out(runtime::Machine& machine)
{
    auto& ring = machine.console();
    const int64_t time = take_time();
    std::vector<LogPiece> pieces;
    for (;;) {
        auto chunk = ring.read(next_, kLogRecordBytes);
        if (chunk.offset > next_) {
            write(time, lost_marker(chunk.offset - next_), true, &pieces);
        }
        next_ = chunk.offset + chunk.bytes.size();
        if (chunk.bytes.empty()) {
            break;
        }
        write(time, std::string(chunk.bytes.begin(), chunk.bytes.end()), false, &pieces);
    }
    files_.close();
    deliver(pieces);
}

void ConsoleLog::write(int64_t time_ns, std::string text, bool own_line, std::vector<LogPiece>* pieces)
{
    if (!line_known_) {
        line_known_ = true;
        if (files_.ends_open_line()) {
            cutter_.resume_open_line(time_ns);
        }
    }
    const bool new_line = std::exchange(new_run_, false) || own_line;
    if (new_line && cutter_.open_line()) {
        text.insert(text.begin(), '\n');
    }
    if (auto written = files_.append(time_ns, text); !written.ok()) {
        if (!failing_) {
            base::log_warn("console-log", "machine ", name_, ": ", written.message(),
                           "; its console output is not logged until a write succeeds");
        }
        failing_ = true;
    } else if (failing_) {
        failing_ = false;
        base::log_info("console-log", "machine ", name_, ": its console log is written again");
    }
    cutter_.cut(time_ns, text, pieces);
}

void ConsoleLog::arm(runtime::Machine& machine)
{
    auto& ring = machine.console();
    ring.cancel_notify(armed_);
    armed_ = 0;
    // A closed ring takes no more output, and would notify at once, forever.
    if (ring.closed()) {
        return;
    }
    armed_ = ring.notify_when(next_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) {
            self->grew();
        }
    });
}

void ConsoleLog::disarm()
{
    if (auto machine = current_.lock()) {
        machine->console().cancel_notify(armed_);
    }
    armed_ = 0;
}

void ConsoleLog::deliver(const std::vector<LogPiece>& pieces)
{
    if (pieces.empty()) {
        return;
    }
    std::vector<Sink> sinks;
    {
        std::lock_guard lock(mutex_);
        for (const auto& [id, sink] : followers_) {
            sinks.push_back(sink);
        }
    }
    for (const auto& sink : sinks) {
        sink(pieces);
    }
}

void ConsoleLog::read(Ready ready, Sink sink)
{
    {
        std::lock_guard lock(mutex_);
        if (!closed_) {
            post([this, ready = std::move(ready), sink = std::move(sink)]() mutable {
                serve(std::move(ready), std::move(sink));
            });
            return;
        }
    }
    ready(unknown_machine(name_), 0);
}

void ConsoleLog::serve(Ready ready, Sink sink)
{
    if (auto machine = current_.lock()) {
        write_out(*machine);
        arm(*machine);
    }
    auto history = files_.history();
    uint64_t id = 0;
    if (sink && history.ok()) {
        std::lock_guard lock(mutex_);
        if (!closed_) {
            id = next_follower_++;
            followers_.emplace(id, std::move(sink));
        }
    }
    ready(std::move(history), id);
}

void ConsoleLog::unfollow(uint64_t id)
{
    std::lock_guard lock(mutex_);
    followers_.erase(id);
}

void ConsoleLog::remove()
{
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
        followers_.clear();
    }
    std::promise<void> gone;
    // After every write queued before it; no write is queued after it.
    boost::asio::post(strand_, [self = shared_from_this(), &gone] {
        try {
            self->disarm();
            self->files_.remove();
        } catch (const std::exception& e) {
            base::log_error("console-log", "machine ", self->name_, ": ", e.what());
        }
        gone.set_value();
    });
    gone.get_future().wait();
}

void ConsoleLog::close()
{
    {
        std::lock_guard lock(mutex_);
        if (closed_) {
            return;
        }
        closed_ = true;
        followers_.clear();
    }
    post([this] {
        if (auto machine = current_.lock()) {
            write_out(*machine);
        }
        disarm();
    });
}

// ---------------------------------------------------------------------------
// ConsoleLogs

ConsoleLogs::ConsoleLogs(std::filesystem::path dir) : dir_(std::move(dir)), writer_(std::make_shared<LogWriter>())
{
}

ConsoleLogs::~ConsoleLogs()
{
    std::map<std::string, std::shared_ptr<ConsoleLog>> logs;
    {
        std::lock_guard lock(mutex_);
        logs.swap(logs_);
    }
    for (const auto& [name, log] : logs) {
        log->close();
    }
    writer_->join();
}

std::filesystem::path ConsoleLogs::path_of(const std::string& name) const
{
    return dir_ / (name + ".log");
}

std::shared_ptr<ConsoleLog> ConsoleLogs::open(const std::string& name)
{
    std::lock_guard lock(mutex_);
    auto& log = logs_[name];
    if (!log) {
        log = std::make_shared<ConsoleLog>(writer_, name, path_of(name));
    }
    return log;
}

void ConsoleLogs::attach(const std::string& name, const std::shared_ptr<runtime::Machine>& machine)
{
    open(name)->attach(machine);
}

void ConsoleLogs::remove(const std::string& name)
{
    std::shared_ptr<ConsoleLog> log;
    {
        std::lock_guard lock(mutex_);
        if (auto it = logs_.find(name); it != logs_.end()) {
            log = std::move(it->second);
            logs_.erase(it);
        }
    }
    if (log) {
        log->remove();
    } else {
        LogFiles(path_of(name)).remove();
    }
}

void ConsoleLogs::discard(const std::string& name, const std::shared_ptr<ConsoleLog>& log)
{
    {
        std::lock_guard lock(mutex_);
        auto it = logs_.find(name);
        if (it == logs_.end() || it->second != log || log->attached()) {
            return;
        }
        logs_.erase(it);
    }
    log->close();
}

void ConsoleLogs::keep_only(const std::set<std::string>& names)
{
    std::error_code ec;
    for (const auto& file : std::filesystem::directory_iterator(dir_, ec)) {
        std::string name = file.path().filename().string();
        for (std::string_view suffix : {".log.1", ".log"}) {
            if (name.size() > suffix.size() && name.ends_with(suffix)) {
                name.resize(name.size() - suffix.size());
                break;
            }
        }
        std::error_code removed;
        if (name != file.path().filename().string() && !names.contains(name) &&
            std::filesystem::remove(file.path(), removed)) {
            base::log_info("console-log", "removed ", file.path().string(), ", the log of no machine");
        }
    }
}

}  // namespace vmruntime::server
