// SPDX-License-Identifier: BSD-2-Clause
//
// Console history: each machine's console output, kept in files of the
// state directory so that it outlives the machine's run and the daemon
// (the Logs RPC, `vmctl logs`).
//
// On disk, <state-dir>/logs/NAME.log and the one before it, NAME.log.1,
// hold a sequence of records, each a header line and the output it
// carries:
//
//     <time> <length>\n<length bytes of console output>
//
// <time> in decimal nanoseconds since the Unix epoch (when the daemon saw
// the first byte of the batch these bytes came in, see below), <length> in
// decimal, 1 to kLogRecordBytes.
// The bytes are the guest's, as it wrote them; read one after another,
// NAME.log.1's records before NAME.log's, they are the console's output.
// A line is the bytes up to a '\n', whichever records (and files) they
// span, and its time is that of the record holding its first byte.  A
// record that would take NAME.log past the bound (kLogFileBytes) goes to a
// fresh NAME.log instead, the full one becoming NAME.log.1 (replacing the
// one before): a machine's history takes at most twice the bound on disk,
// and keeps its newest lines.  Two kinds of line are the daemon's own, both
// starting a line of their own: "[vmruntimed: N bytes of console output
// were lost here]" where the writer fell more than the console ring behind
// the guest (it never waits for the disk while the guest writes, so it
// cannot hold the guest back), and "[vmruntimed: NAME.log is damaged at
// byte N; the rest of it is left out]" where a reader found a file it
// cannot parse.  A new run of the machine starts on a line of its own: a
// line the previous run left open ends there.
//
// Writing never blocks a vCPU or the device strand: the console ring calls
// the machine's log when it grows, and the log has the logs' writer thread
// append what the ring gained since the last write, kFlushDelay later, so
// that output the guest writes a byte at a time is written in batches (one
// timer for all the logs).  So a line's time is, to within kFlushDelay
// before it, when its first byte was written: the time of the first byte
// of its batch.  A reader of the history has the ring written out first,
// so that it reads all the output there is.  An idle machine costs no
// thread, timer, buffer or descriptor: a pending ring notification and a
// small object.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vmruntime/base/unique_fd.h"

namespace vmruntime::runtime {
class Machine;
}

namespace vmruntime::server {

class LogWriter;  // console_log.cc

// The most a file of the history holds: with the one rotated out before
// it, a machine keeps at most twice this on disk.
inline constexpr uint64_t kLogFileBytes = uint64_t{1} << 20;
// The most output one record carries, and one LogPiece.
inline constexpr size_t kLogRecordBytes = 64 * 1024;
// How long output waits in the console ring before it is written.
inline constexpr std::chrono::milliseconds kFlushDelay{20};

// A line of console output, or a piece of one: a line longer than
// kLogRecordBytes comes in pieces, and so does, while following, a line the
// guest writes in several goes.  The pieces of a line share its time.
struct LogPiece {
    int64_t time_ns = 0;  // when the line's first byte was written
    std::string text;     // ends with '\n' if and only if it ends the line
};

// Cuts output into pieces of lines as it comes, remembering the line left
// open.
class LineCutter {
public:
    // Appends to `out` the pieces of `bytes`, written at `time_ns`.
    void cut(int64_t time_ns, std::string_view bytes, std::vector<LogPiece>* out);
    // Carries on from a history whose last line is open since `time_ns`.
    void resume_open_line(int64_t time_ns);
    bool open_line() const { return open_; }

private:
    bool open_ = false;
    int64_t line_time_ = 0;
};

// The history as it was when a reader asked for it: the files' descriptors
// (which a later rotation does not change) and how much of NAME.log to
// read (what comes after reaches a follower as it is written).
struct LogHistory {
    std::string file_name;  // NAME.log, for messages
    base::UniqueFd older;   // NAME.log.1; none if there is none
    base::UniqueFd newer;   // NAME.log; none if there is none
    uint64_t older_bytes = 0;
    uint64_t newer_bytes = 0;
};

// Reads a history's lines, oldest first, with pread (readers of one
// history do not disturb each other).
class LogReader {
public:
    // `history` must outlive the reader.
    explicit LogReader(const LogHistory& history);

    // The next line, or the next kLogRecordBytes of a longer one, or the
    // last line if the guest has not ended it; nothing at the end.  A file
    // that cannot be parsed yields a line saying where, and the reader
    // goes on with the next file.
    std::optional<LogPiece> next();

private:
    enum class Header { Record, End, Damaged };

    Header start_record();
    // Buffered bytes of the current file, reading more if none are; empty
    // at its end.
    std::string_view available();
    bool next_file();
    LogPiece take_line();

    const LogHistory& history_;
    int file_ = -1;  // 0: older, 1: newer
    uint64_t offset_ = 0;  // in the current file, of the buffer's end
    std::string buf_;
    size_t pos_ = 0;
    uint64_t left_ = 0;  // bytes of the current record not consumed
    int64_t record_time_ = 0;
    bool open_ = false;  // inside a line (line_ holds its unsent part)
    int64_t line_time_ = 0;
    std::string line_;
    std::optional<std::string> marker_;  // a damaged file's line, to send
};

// The number of lines of a history, the last one counted even unended.
uint64_t count_lines(const LogHistory& history);

// NAME.log and NAME.log.1, appended to by one writer at a time.  Holds a
// descriptor only between the first append and close().
class LogFiles {
public:
    explicit LogFiles(std::filesystem::path path, uint64_t max_file_bytes = kLogFileBytes);

    // Appends `bytes` as records of `time_ns`, rotating as needed.  A
    // record that cannot be written whole is taken back.
    absl::Status append(int64_t time_ns, std::string_view bytes);
    void close();
    // Whether the history ends inside a line.
    bool ends_open_line();
    // Opens the history as it is now.
    absl::StatusOr<LogHistory> history() const;
    // Deletes both files.
    void remove();

private:
    absl::Status open();
    absl::Status rotate();
    absl::Status write_record(int64_t time_ns, std::string_view bytes);

    std::filesystem::path path_;
    std::filesystem::path older_;
    uint64_t max_file_bytes_;
    base::UniqueFd fd_;
    uint64_t size_ = 0;
};

// One machine's console log: its files, the machine whose ring feeds them
// (the latest run) and the Logs streams following it.  Any thread; the
// writing runs on its strand.
class ConsoleLog : public std::enable_shared_from_this<ConsoleLog> {
public:
    // Called on the log's strand with each batch of pieces written.
    using Sink = std::function<void(const std::vector<LogPiece>&)>;
    // The history, and the follower id (0 without a sink).
    using Ready = std::function<void(absl::StatusOr<LogHistory>, uint64_t)>;

    // The log outlives no writer it may still post to: it shares `writer`.
    ConsoleLog(std::shared_ptr<LogWriter> writer, std::string name, std::filesystem::path path);

    // `machine` is the machine's next run: its output is logged after what
    // the previous run's was (all of it, as the previous machine is kept
    // until then).
    void attach(const std::shared_ptr<runtime::Machine>& machine);
    // Writes what the ring holds, then calls `ready` (on the strand) with
    // the history and, if `sink` is set, makes it a follower: it gets each
    // piece written after that, until unfollow().
    void read(Ready ready, Sink sink);
    void unfollow(uint64_t id);
    // Stops writing and deletes the files; returns once they are gone.
    // Not on the writer's thread.
    void remove();
    // Writes what the ring holds and stops; the writer's thread finishes it.
    void close();
    // Whether a machine was ever attached.
    bool attached() const;

private:
    friend class LogWriter;

    // Runs `fn` on the strand; an exception it throws is logged.
    template <typename Fn>
    void post(Fn fn);
    // Called by the ring (on the device strand): has the writer drain.
    void grew();
    // On the strand.
    void drain();
    void switch_to(std::weak_ptr<runtime::Machine> next);
    void serve(Ready ready, Sink sink);
    void write_out(runtime::Machine& machine);
    // `own_line`: `text` starts a line, ending one left open.
    void write(int64_t time_ns, std::string text, bool own_line, std::vector<LogPiece>* pieces);
    void arm(runtime::Machine& machine);
    void disarm();
    void deliver(const std::vector<LogPiece>& pieces);
    // The time of the first byte not written yet.
    int64_t take_time();

    const std::string name_;
    std::shared_ptr<LogWriter> writer_;  // before strand_, which it outlives
    boost::asio::strand<boost::asio::thread_pool::executor_type> strand_;

    mutable std::mutex mutex_;
    bool closed_ = false;
    bool scheduled_ = false;  // a drain is due
    int64_t pending_ns_ = 0;  // when the ring grew past what was written; 0: not since
    std::weak_ptr<runtime::Machine> latest_;
    bool attached_ = false;
    std::map<uint64_t, Sink> followers_;
    uint64_t next_follower_ = 1;

    // On the strand:
    LogFiles files_;
    std::weak_ptr<runtime::Machine> current_;
    uint64_t next_ = 0;        // offset in current_'s ring of the first byte not written
    uint64_t armed_ = 0;       // our notification in current_'s ring
    bool new_run_ = false;     // nothing written of current_ yet
    bool line_known_ = false;  // cutter_ knows whether the history ends inside a line
    bool failing_ = false;     // the last write failed (and was logged)
    LineCutter cutter_;
};

// The console logs of a daemon's machines, in `dir`, and their writer
// thread.
class ConsoleLogs {
public:
    explicit ConsoleLogs(std::filesystem::path dir);
    // Writes what the rings hold, and joins the writer.
    ~ConsoleLogs();
    ConsoleLogs(const ConsoleLogs&) = delete;
    ConsoleLogs& operator=(const ConsoleLogs&) = delete;

    // Machine `name` was built for its next run.
    void attach(const std::string& name, const std::shared_ptr<runtime::Machine>& machine);
    // The log of machine `name`, made if needed (a machine that did not
    // run since the daemon started has none yet).
    std::shared_ptr<ConsoleLog> open(const std::string& name);
    // Deletes the log of machine `name`; returns once its files are gone.
    void remove(const std::string& name);
    // Forgets `log`, which open() made for a machine deleted since, unless
    // that machine was made again.
    void discard(const std::string& name, const std::shared_ptr<ConsoleLog>& log);
    // Deletes the files of every log but those of `names`: what a daemon
    // stopped between deleting a machine's spec and its log left behind.
    // Before any machine runs.
    void keep_only(const std::set<std::string>& names);

private:
    std::filesystem::path path_of(const std::string& name) const;

    const std::filesystem::path dir_;
    // Shared with the logs, which a ring notification on its way may hold
    // past this object.
    std::shared_ptr<LogWriter> writer_;
    std::mutex mutex_;
    std::map<std::string, std::shared_ptr<ConsoleLog>> logs_;
};

}  // namespace vmruntime::server
