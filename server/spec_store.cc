// SPDX-License-Identifier: BSD-2-Clause
#include "server/spec_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <google/protobuf/util/json_util.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "server/status.h"
#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

constexpr const char* kSpec = ".json";
constexpr const char* kImage = ".image";
constexpr const char* kInitrd = ".initrd";

bool parse_spec(const std::filesystem::path& file, v1::MachineSpec* spec)
{
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    return in && google::protobuf::util::JsonStringToMessage(text.str(), spec).ok() &&
           spec->name() == file.stem().string();
}

// Moves the uploaded bytes out of `spec` while it is encoded, and back.
class UploadsSetAside {
public:
    explicit UploadsSetAside(v1::MachineSpec& spec) : spec_(spec) { swap(); }
    ~UploadsSetAside() { swap(); }
    UploadsSetAside(const UploadsSetAside&) = delete;
    UploadsSetAside& operator=(const UploadsSetAside&) = delete;

private:
    void swap()
    {
        if (spec_.image_case() == v1::MachineSpec::kImageBytes) {
            spec_.mutable_image_bytes()->swap(image_);
        }
        if (spec_.initrd_case() == v1::MachineSpec::kInitrdBytes) {
            spec_.mutable_initrd_bytes()->swap(initrd_);
        }
    }

    v1::MachineSpec& spec_;
    std::string image_, initrd_;
};

}  // namespace

absl::Status write_atomically(const std::filesystem::path& path, std::string_view text)
{
    std::string tmp = path.string() + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd == -1) {
        return host_failure(errno_text("open " + tmp));
    }
    size_t done = 0;
    while (done < text.size()) {
        ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1) {
            std::string err = errno_text("write " + tmp);
            ::close(fd);
            return host_failure(err);
        }
        done += static_cast<size_t>(n);
    }
    if (::fsync(fd) == -1 || ::close(fd) == -1) {
        return host_failure(errno_text("fsync " + tmp));
    }
    if (::rename(tmp.c_str(), path.c_str()) == -1) {
        return host_failure(errno_text("rename " + tmp));
    }
    int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir != -1) {
        ::fsync(dir);
        ::close(dir);
    }
    return absl::OkStatus();
}

SpecStore::SpecStore(std::filesystem::path dir) : dir_(std::move(dir)) {}

std::filesystem::path SpecStore::path(const std::string& name, const char* extension) const
{
    return dir_ / (name + extension);
}

absl::Status SpecStore::load(std::vector<v1::MachineSpec>* specs) const
{
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        return host_failure("cannot create " + dir_.string() + ": " + ec.message());
    }
    std::vector<std::filesystem::path> uploads;
    for (const auto& file : std::filesystem::directory_iterator(dir_, ec)) {
        // A write cut short (kill -9, power loss) leaves its temporary
        // file; the file it was replacing, if any, is intact.
        std::error_code removed;
        if (file.path().extension() == ".tmp" && std::filesystem::remove(file.path(), removed)) {
            base::log_info("registry", "removed ", file.path().string(), ", left by an interrupted write");
            continue;
        }
        if (file.path().extension() == kImage || file.path().extension() == kInitrd) {
            uploads.push_back(file.path());
            continue;
        }
        if (file.path().extension() != kSpec) {
            continue;
        }
        v1::MachineSpec spec;
        const std::string name = file.path().stem().string();
        if (!parse_spec(file.path(), &spec) ||
            (spec.image_case() == v1::MachineSpec::kImageBytes && spec.image_bytes().empty() &&
             !read_upload(name, kImage, spec.mutable_image_bytes())) ||
            (spec.initrd_case() == v1::MachineSpec::kInitrdBytes && spec.initrd_bytes().empty() &&
             !read_upload(name, kInitrd, spec.mutable_initrd_bytes()))) {
            base::log_warn("registry", "skipping ", file.path().string(), ": not a machine spec, or its upload is lost");
            continue;
        }
        specs->push_back(std::move(spec));
    }
    if (ec) {
        return host_failure("cannot list " + dir_.string() + ": " + ec.message());
    }
    remove_orphans(*specs, uploads);
    return absl::OkStatus();
}

bool SpecStore::read_upload(const std::string& name, const char* extension, std::string* bytes) const
{
    const std::string file = path(name, extension).string();
    int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st {};
    if (fd == -1 || ::fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        if (fd != -1) {
            ::close(fd);
        }
        return false;
    }
    bytes->resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < bytes->size()) {
        ssize_t n = ::read(fd, bytes->data() + done, bytes->size() - done);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        done += static_cast<size_t>(n);
    }
    ::close(fd);
    return done == bytes->size();
}

// Uploads written by a create that crashed before its spec, or left by a
// delete that crashed after removing the spec.
void SpecStore::remove_orphans(const std::vector<v1::MachineSpec>& specs,
                               const std::vector<std::filesystem::path>& uploads) const
{
    std::set<std::string> names;
    for (const auto& spec : specs) {
        names.insert(spec.name());
    }
    for (const auto& upload : uploads) {
        std::error_code removed;
        if (!names.count(upload.stem().string()) && std::filesystem::remove(upload, removed)) {
            base::log_info("registry", "removed ", upload.string(), ", which no spec refers to");
        }
    }
}

absl::Status SpecStore::save(v1::MachineSpec& spec) const
{
    if (spec.image_case() == v1::MachineSpec::kImageBytes) {
        if (auto written = write_atomically(path(spec.name(), kImage), spec.image_bytes()); !written.ok()) {
            return written;
        }
    }
    if (spec.initrd_case() == v1::MachineSpec::kInitrdBytes) {
        if (auto written = write_atomically(path(spec.name(), kInitrd), spec.initrd_bytes()); !written.ok()) {
            return written;
        }
    }
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    {
        UploadsSetAside aside(spec);
        if (!google::protobuf::util::MessageToJsonString(spec, &json, options).ok()) {
            return host_failure("cannot encode the spec of '" + spec.name() + "'");
        }
    }
    return write_atomically(path(spec.name(), kSpec), json + "\n");
}

void SpecStore::remove(const std::string& name) const
{
    for (const char* extension : {kSpec, kImage, kInitrd}) {
        std::error_code ec;
        std::filesystem::remove(path(name, extension), ec);
        if (ec) {
            base::log_warn("registry", "cannot remove ", path(name, extension).string(), ": ", ec.message());
        }
    }
}

}  // namespace vmruntime::server
