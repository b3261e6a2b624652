// SPDX-License-Identifier: BSD-2-Clause
//
// `--upload`: the image and initrd go to the daemon as bytes, streamed in
// chunks through Upload, so their size is bounded by the machine's memory
// rather than by a gRPC message.  Only regular files are sent: a FIFO or a
// device has no size to announce.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <string>

#include "vmctl.h"

namespace vmruntime::vmctl {
namespace {

constexpr size_t kChunk = 1 << 20;

class UploadFile {
public:
    // Opens `path` if it is a regular file; else says why on stderr.
    explicit UploadFile(const std::string& path) : path_(path)
    {
        if (path.empty()) {
            return;
        }
        fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        struct stat st {};
        if (fd_ == -1 || ::fstat(fd_, &st) == -1) {
            std::cerr << "vmctl: cannot read " << path << ": " << std::strerror(errno) << "\n";
        } else if (!S_ISREG(st.st_mode)) {
            std::cerr << "vmctl: cannot upload " << path << ": not a regular file\n";
        } else {
            size_ = static_cast<uint64_t>(st.st_size);
            ok_ = true;
        }
    }
    ~UploadFile()
    {
        if (fd_ != -1) {
            ::close(fd_);
        }
    }
    UploadFile(const UploadFile&) = delete;
    UploadFile& operator=(const UploadFile&) = delete;

    bool ok() const { return ok_ || path_.empty(); }
    uint64_t size() const { return size_; }

    // Streams the file's bytes; false (said on stderr) if the file could
    // not be read whole, true also when the daemon stopped listening.
    bool send(grpc::ClientWriter<v1::UploadRequest>& writer) const
    {
        v1::UploadRequest chunk;
        std::string& data = *chunk.mutable_data();
        uint64_t sent = 0;
        while (sent < size_) {
            data.resize(std::min<uint64_t>(kChunk, size_ - sent));
            ssize_t n = ::pread(fd_, data.data(), data.size(), static_cast<off_t>(sent));
            if (n == -1 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                std::cerr << "vmctl: cannot read " << path_ << ": "
                          << (n == 0 ? "it shrank while being sent" : std::strerror(errno)) << "\n";
                return false;
            }
            data.resize(static_cast<size_t>(n));
            if (!writer.Write(chunk)) {
                return true;  // the daemon has answered: Finish says what
            }
            sent += static_cast<uint64_t>(n);
        }
        return true;
    }

private:
    std::string path_;
    int fd_ = -1;
    uint64_t size_ = 0;
    bool ok_ = false;
};

}  // namespace

int upload_machine(Context& ctx, const v1::MachineSpec& spec, const std::string& image, const std::string& initrd,
                   v1::MachineInfo* machine)
{
    UploadFile image_file(image), initrd_file(initrd);
    if (!image_file.ok() || !initrd_file.ok()) {
        return kExitFailed;
    }
    grpc::ClientContext cc;
    v1::CreateResponse resp;
    auto writer = ctx.stub->Upload(&cc, &resp);
    v1::UploadRequest first;
    *first.mutable_spec() = spec;
    first.set_image_size(image_file.size());
    first.set_initrd_size(initrd_file.size());
    if (writer->Write(first) && !(image_file.send(*writer) && initrd_file.send(*writer))) {
        cc.TryCancel();  // the daemon creates nothing from a short upload
        writer->Finish();
        return kExitFailed;
    }
    writer->WritesDone();
    if (grpc::Status status = writer->Finish(); !status.ok()) {
        return fail(ctx, status);
    }
    *machine = resp.machine();
    return -1;
}

}  // namespace vmruntime::vmctl
