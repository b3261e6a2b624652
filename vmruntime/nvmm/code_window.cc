// SPDX-License-Identifier: BSD-2-Clause
#include "code_window.h"

#include <algorithm>
#include <cstring>

namespace vmruntime::nvmm {
namespace {

constexpr uint64_t kPageSize = 4096;

}  // namespace

// Guest memory as the page cache gives it, with every read kept.
class CodeWindow::Recorder final : public GuestMemory {
public:
    explicit Recorder(CodeWindow& window) : w_(window) {}

    bool read(uint64_t gpa, void* out, size_t len) const override
    {
        const bool one_page = (gpa & (kPageSize - 1)) + len <= kPageSize;
        if (!one_page || len > kCodeWindow || w_.nreads_ == kMaxReads) {
            w_.replayable_ = false;
            return w_.mem_.read(gpa, out, len);
        }
        const uint8_t* host = w_.mem_.host(gpa);
        if (host) {
            std::memcpy(out, host, len);
        }
        if (host && extends_last(host, len)) {
            Read& last = w_.reads_[w_.nreads_ - 1];
            std::memcpy(last.data + last.len, host, len);
            last.len = static_cast<uint8_t>(last.len + len);
            return true;
        }
        Read& r = w_.reads_[w_.nreads_++];
        r.gpa = gpa;
        r.host = host;
        r.len = static_cast<uint8_t>(len);
        if (host) {
            std::memcpy(r.data, host, len);
        }
        return host != nullptr;
    }

private:
    // Code that runs on into the next page, which the host has right after
    // it (real mode, identity maps), is checked as one read.
    bool extends_last(const uint8_t* host, size_t len) const
    {
        if (w_.nreads_ == 0) {
            return false;
        }
        const Read& last = w_.reads_[w_.nreads_ - 1];
        return last.host && last.host + last.len == host && last.len + len <= kCodeWindow;
    }

    CodeWindow& w_;
};

size_t CodeWindow::readable_from_rip() const
{
    size_t n = 0;
    while (n < kMaxInsn && valid_[kMaxInsn + n]) {
        n++;
    }
    return n;
}

void CodeWindow::fetch(const PagingRegs& regs, uint64_t linear)
{
    Recorder recorder(*this);
    nreads_ = 0;
    replayable_ = true;
    const uint64_t start = linear - kMaxInsn;
    size_t done = 0;
    while (done < kCodeWindow) {
        uint64_t at = start + done;
        size_t chunk = std::min<size_t>(kCodeWindow - done, kPageSize - (at & (kPageSize - 1)));
        uint64_t gpa = 0, prot = 0;
        bool ok = walk_page_tables(regs, recorder, at, &gpa, &prot) == 0 &&
                  recorder.read(gpa, bytes_ + done, chunk);
        std::memset(valid_ + done, ok, chunk);
        done += chunk;
    }
    regs_ = regs;
    linear_ = linear;
    generation_ = mem_.generation();
    version_++;
}

}  // namespace vmruntime::nvmm
