// SPDX-License-Identifier: BSD-2-Clause
//
// vmruntimed's machine registry (server/registry.h) without the daemon: the
// spec rules and limits, the specs persisted under the state directory and
// loaded back, lookups, observers, and the life cycle of guests/hello
// machines.  RegistryTest needs no /dev/kvm (every spec it creates fails
// before a VM is made); RegistryKvmTest runs real machines and skips,
// loudly, when /dev/kvm is absent.
#include "server/registry.h"

#include <sched.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vmruntime::server {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// No owner: files are opened with the test's own rights, as the daemon's.
const v1::Owner kDaemonOwner;

constexpr char kBanner[] = "vmruntime hello guest";
constexpr char kNotBuilt[] = "not started since the daemon started";

v1::MachineSpec hello_spec(const std::string& name, const std::string& cmdline = "")
{
    v1::MachineSpec spec;
    spec.set_name(name);
    spec.set_image_path(VMRUNTIME_HELLO_ELF);
    spec.set_cmdline(cmdline);
    return spec;
}

// A spec that passes the registry's own checks and that the runtime then
// refuses (1 MiB of RAM is below its minimum) before it touches /dev/kvm.
v1::MachineSpec refused_by_runtime(const std::string& name)
{
    auto spec = hello_spec(name);
    spec.set_memory_mib(1);
    return spec;
}

std::string read_text(const fs::path& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

// As the registry writes it.
std::string to_json(const v1::MachineSpec& spec)
{
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(spec, &json, options).ok());
    return json;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) {
            return false;
        }
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

std::vector<std::string> names(const std::vector<v1::MachineInfo>& infos)
{
    std::vector<std::string> out;
    for (const auto& info : infos) {
        out.push_back(info.spec().name());
    }
    return out;
}

// Events from an observer, which the registry calls on any thread.
class EventLog {
public:
    Registry::Observer observer()
    {
        return [this](const v1::WatchEvent& e) {
            std::lock_guard lock(mutex_);
            events_.push_back(e);
        };
    }

    std::vector<v1::WatchEvent> events() const
    {
        std::lock_guard lock(mutex_);
        return events_;
    }

    // "name:STATE" per event, "name:deleted" for deletions.
    std::vector<std::string> summary() const
    {
        std::vector<std::string> out;
        for (const auto& e : events()) {
            out.push_back(e.name() + ":" + (e.deleted() ? "deleted" : v1::MachineState_Name(e.state())));
        }
        return out;
    }

private:
    mutable std::mutex mutex_;
    std::vector<v1::WatchEvent> events_;
};

class RegistryTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string tmpl = ::testing::TempDir() + "registry_test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl.data()), nullptr) << "mkdtemp " << tmpl;
        dir_ = tmpl;
    }

    void TearDown() override
    {
        registry_.reset();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    // A fresh registry on the state directory, loaded; the previous one is
    // destroyed first, as when the daemon restarts.
    Registry& open(Limits limits = {})
    {
        registry_.reset();
        registry_ = std::make_unique<Registry>(layer_, state_dir(), limits);
        auto loaded = registry_->load();
        EXPECT_TRUE(loaded.ok()) << loaded;
        return *registry_;
    }

    fs::path state_dir() const { return dir_ / "state"; }
    fs::path spec_file(const std::string& name) const { return state_dir() / "machines" / (name + ".json"); }

    // Stores a spec as a previous daemon would have.
    void store(const v1::MachineSpec& spec)
    {
        fs::create_directories(state_dir() / "machines");
        write_text(spec_file(spec.name()), to_json(spec));
    }

    std::vector<std::string> stored_files() const
    {
        std::vector<std::string> out;
        std::error_code ec;
        for (const auto& f : fs::directory_iterator(state_dir() / "machines", ec)) {
            out.push_back(f.path().filename().string());
        }
        std::sort(out.begin(), out.end());
        return out;
    }

    runtime::DeviceLayer layer_{1};
    fs::path dir_;
    // Outlives every registry: the last one still calls it as it powers
    // its machines off.
    EventLog log_;
    std::unique_ptr<Registry> registry_;
};

TEST_F(RegistryTest, NamesOutsideTheRulesAreInvalidArgument)
{
    Registry& r = open();
    r.subscribe(log_.observer());
    const std::vector<std::string> bad = {"",    ".hidden", "..",  "../etc",          "a/b", "a b",
                                          "t\t", "a:b",     "\xc3\xa9t\xc3\xa9", std::string(65, 'n')};
    for (const auto& name : bad) {
        auto created = r.create(hello_spec(name), kDaemonOwner);
        ASSERT_FALSE(created.ok()) << "'" << name << "'";
        EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument) << "'" << name << "'";
        EXPECT_NE(created.status().message().find("bad machine name"), std::string::npos) << created.status();
    }
    EXPECT_TRUE(r.list().empty());
    EXPECT_TRUE(stored_files().empty());
    EXPECT_TRUE(log_.events().empty());
}

// The runtime's refusal shows that the name was accepted.
TEST_F(RegistryTest, NamesWithinTheRulesPassTheNameCheck)
{
    Registry& r = open();
    const std::vector<std::string> good = {"a", "Z", "7", "web-1", "db_2.backup", "trailing.", std::string(64, 'n')};
    for (const auto& name : good) {
        auto created = r.create(refused_by_runtime(name), kDaemonOwner);
        ASSERT_FALSE(created.ok()) << name;
        EXPECT_EQ(created.status().message().find("bad machine name"), std::string::npos) << created.status();
        EXPECT_NE(created.status().message().find("memory"), std::string::npos) << created.status();
    }
}

TEST_F(RegistryTest, MemoryAndVcpusPastTheLimitsAreResourceExhausted)
{
    Registry& r = open(Limits{.max_memory_mib = 1, .max_vcpus = 2});

    auto spec = refused_by_runtime("m");
    spec.set_memory_mib(2);
    auto over = r.create(spec, kDaemonOwner);
    ASSERT_FALSE(over.ok());
    EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
    EXPECT_NE(over.status().message().find("at most 1 MiB"), std::string::npos) << over.status();

    spec = refused_by_runtime("v");
    spec.set_vcpus(3);
    over = r.create(spec, kDaemonOwner);
    ASSERT_FALSE(over.ok());
    EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted) << over.status();
    EXPECT_NE(over.status().message().find("at most 2"), std::string::npos) << over.status();

    // Right at both limits the spec goes on to the runtime.
    spec = refused_by_runtime("at");
    spec.set_vcpus(2);
    auto at = r.create(spec, kDaemonOwner);
    ASSERT_FALSE(at.ok());
    EXPECT_EQ(at.status().code(), absl::StatusCode::kInvalidArgument) << at.status();
}

TEST_F(RegistryTest, DefaultLimitsAre4GiBAnd64Vcpus)
{
    Registry& r = open();
    auto spec = hello_spec("big");
    spec.set_memory_mib(4097);
    EXPECT_EQ(r.create(spec, kDaemonOwner).status().code(), absl::StatusCode::kResourceExhausted);
    spec = hello_spec("wide");
    spec.set_vcpus(65);
    EXPECT_EQ(r.create(spec, kDaemonOwner).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(RegistryTest, SpecsWithoutAUsableImageAreInvalidArgument)
{
    Registry& r = open();
    v1::MachineSpec no_image;
    no_image.set_name("none");
    v1::MachineSpec relative = hello_spec("relative");
    relative.set_image_path("guests/hello/hello.elf");
    v1::MachineSpec empty_path = hello_spec("empty");
    empty_path.set_image_path("");
    v1::MachineSpec directory = hello_spec("directory");
    directory.set_image_path(dir_.string());
    v1::MachineSpec bad_loader = hello_spec("loader");
    bad_loader.set_loader(static_cast<v1::LoaderKind>(99));

    const std::vector<std::pair<v1::MachineSpec, std::string>> cases = {
        {no_image, "no image"},
        {relative, "relative"},
        {empty_path, "relative"},
        {directory, "is not a regular file"},
        {bad_loader, "unknown loader kind 99"},
    };
    for (const auto& [spec, why] : cases) {
        auto created = r.create(spec, kDaemonOwner);
        ASSERT_FALSE(created.ok()) << spec.name();
        EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument) << created.status();
        EXPECT_NE(created.status().message().find(why), std::string::npos) << created.status();
    }
    EXPECT_TRUE(r.list().empty());
}

TEST_F(RegistryTest, HostCpusOutsideTheCpuSetAreInvalidArgument)
{
    Registry& r = open();
    for (int cpu : {-1, CPU_SETSIZE, CPU_SETSIZE + 5}) {
        auto spec = hello_spec("pinned");
        spec.add_cpus(0);
        spec.add_cpus(cpu);
        auto created = r.create(spec, kDaemonOwner);
        ASSERT_FALSE(created.ok()) << cpu;
        EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument) << created.status();
        EXPECT_NE(created.status().message().find(std::to_string(cpu)), std::string::npos) << created.status();
    }
}

// CPUs that exist but that the daemon may not run on: the CPU after its
// affinity mask's last, and a CPU left out of a narrower mask.
TEST_F(RegistryTest, HostCpusTheDaemonMayNotUseAreInvalidArgument)
{
    const auto usable = usable_host_cpus();
    ASSERT_TRUE(usable.any());
    size_t last = 0;
    for (size_t cpu = 0; cpu < usable.size(); cpu++) {
        if (usable.test(cpu)) {
            last = cpu;
        }
    }
    Limits only_first;
    only_first.cpus.reset();
    only_first.cpus.set(0);
    Registry& r = open(only_first);
    for (int cpu : {static_cast<int>(last) + 1, 1, 1023}) {
        auto spec = hello_spec("pinned");
        spec.add_cpus(cpu);
        auto created = r.create(spec, kDaemonOwner);
        ASSERT_FALSE(created.ok()) << cpu;
        EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument) << created.status();
        EXPECT_NE(created.status().message().find("host CPU " + std::to_string(cpu) +
                                                  " is not one this daemon may use (CPUs 0)"),
                  std::string::npos)
            << created.status();
    }
    EXPECT_EQ(check_spec(hello_spec("p"), Limits{}), absl::OkStatus());
    auto anywhere = hello_spec("p");
    anywhere.add_cpus(static_cast<int>(last));
    EXPECT_EQ(check_spec(anywhere, Limits{}), absl::OkStatus());
    anywhere.add_cpus(static_cast<int>(last) + 1);
    EXPECT_EQ(check_spec(anywhere, Limits{}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(RegistryTest, VsockDevicesOutsideTheRulesAreInvalidArgument)
{
    auto vsock = hello_spec("v");
    vsock.mutable_vsock()->set_cid(3);
    vsock.mutable_vsock()->set_socket("/run/v.sock");
    EXPECT_EQ(check_spec(vsock, Limits{}), absl::OkStatus());
    for (uint32_t reserved : {0u, 1u, 2u}) {
        auto bad = vsock;
        bad.mutable_vsock()->set_cid(reserved);
        EXPECT_EQ(check_spec(bad, Limits{}).code(), absl::StatusCode::kInvalidArgument) << reserved;
    }
    auto relative = vsock;
    relative.mutable_vsock()->set_socket("v.sock");
    EXPECT_EQ(check_spec(relative, Limits{}).code(), absl::StatusCode::kInvalidArgument);
    auto crowded = vsock;
    for (int i = 0; i < 7; i++) crowded.add_disks()->set_path("/d" + std::to_string(i));
    absl::Status too_many = check_spec(crowded, Limits{});
    EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(too_many.message().find("8 virtio devices"), std::string::npos) << too_many;
}

// A client's name or path of any length: the status keeps its code, and the
// message quotes at most 64 bytes of the name.
TEST_F(RegistryTest, ErrorsQuoteAtMost64BytesOfAName)
{
    Registry& r = open();
    const std::string huge(100000, 'n');
    const std::string quoted = "'" + std::string(64, 'n') + "...' (100000 bytes)";
    for (const absl::Status& status : {r.get(huge).status(), r.start(huge).status(), r.remove(huge, false),
                                       r.machine(huge, "inspect").status(),
                                       r.create(hello_spec(huge), kDaemonOwner).status()}) {
        EXPECT_NE(status.message().find(quoted), std::string::npos) << status.message().substr(0, 200);
        EXPECT_LT(status.message().size(), 256u);
    }
    EXPECT_EQ(r.get(huge).status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(r.create(hello_spec(huge), kDaemonOwner).status().code(), absl::StatusCode::kInvalidArgument);
    auto long_path = hello_spec("p");
    long_path.set_image_path("/" + std::string(100000, 'p'));
    auto created = r.create(long_path, kDaemonOwner);
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(created.status().message().find("a path of 100001 bytes is longer than PATH_MAX"), std::string::npos)
        << created.status().message().substr(0, 200);
}

TEST_F(RegistryTest, FailedCreateLeavesNothingBehind)
{
    Registry& r = open();
    r.subscribe(log_.observer());
    auto first = r.create(refused_by_runtime("once"), kDaemonOwner);
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(r.get("once").status().code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(r.list().empty());
    EXPECT_TRUE(stored_files().empty());
    EXPECT_TRUE(log_.events().empty());
    // The name was released: the same create fails the same way.
    auto again = r.create(refused_by_runtime("once"), kDaemonOwner);
    EXPECT_EQ(again.status().code(), absl::StatusCode::kInvalidArgument) << again.status();
}

TEST_F(RegistryTest, UnknownNamesAreNotFound)
{
    Registry& r = open();
    EXPECT_EQ(r.get("ghost").status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(r.start("ghost").status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(r.pause("ghost").status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(r.resume("ghost").status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(r.remove("ghost", false).code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(r.machine("ghost", "inspect").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, LoadMakesTheStateDirectory)
{
    ASSERT_FALSE(fs::exists(state_dir()));
    Registry& r = open();
    EXPECT_TRUE(fs::is_directory(state_dir() / "machines"));
    EXPECT_TRUE(r.list().empty());
}

TEST_F(RegistryTest, LoadFailsWhenTheStateDirectoryCannotBeMade)
{
    write_text(state_dir(), "a file where the directory should be");
    Registry r(layer_, state_dir(), Limits{});
    auto loaded = r.load();
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.code(), absl::StatusCode::kInternal) << loaded;
}

TEST_F(RegistryTest, StoredMachinesAreListedStoppedAndSortedByName)
{
    auto b = hello_spec("b-2", "hz=50");
    b.set_memory_mib(32);
    store(b);
    store(hello_spec("c-3"));
    store(hello_spec("a-1"));
    Registry& r = open();

    auto list = r.list();
    EXPECT_EQ(names(list), (std::vector<std::string>{"a-1", "b-2", "c-3"}));
    for (const auto& info : list) {
        EXPECT_EQ(info.state(), v1::MACHINE_STATE_STOPPED) << info.spec().name();
        EXPECT_EQ(info.reason(), kNotBuilt) << info.spec().name();
        EXPECT_EQ(info.uptime_ns(), 0u);
    }
    auto got = r.get("b-2");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->spec().cmdline(), "hz=50");
    EXPECT_EQ(got->spec().memory_mib(), 32u);
}

TEST_F(RegistryTest, LoadSkipsFilesThatAreNotMachineSpecs)
{
    store(hello_spec("good"));
    write_text(spec_file("broken"), "{ not json");
    write_text(spec_file("impostor"), to_json(hello_spec("someone-else")));
    write_text(state_dir() / "machines" / "notes.txt", to_json(hello_spec("notes")));
    Registry& r = open();
    EXPECT_EQ(names(r.list()), (std::vector<std::string>{"good"}));
}

// A daemon stopped between removing a machine's spec and its log leaves
// the log: the next one deletes it, and only it.
TEST_F(RegistryTest, LoadDeletesTheLogsOfMachinesThatAreGone)
{
    store(hello_spec("kept"));
    store(hello_spec("kept.log"));
    const fs::path logs = state_dir() / "logs";
    fs::create_directories(logs);
    for (const char* file : {"kept.log", "kept.log.1", "kept.log.log", "gone.log", "gone.log.1", "notes.txt"}) {
        write_text(logs / file, "1 1\nx");
    }
    open();
    std::vector<std::string> left;
    for (const auto& f : fs::directory_iterator(logs)) {
        left.push_back(f.path().filename().string());
    }
    std::sort(left.begin(), left.end());
    EXPECT_EQ(left, (std::vector<std::string>{"kept.log", "kept.log.1", "kept.log.log", "notes.txt"}));
}

TEST_F(RegistryTest, StoredMachineIsNotBuiltUntilStarted)
{
    store(hello_spec("idle"));
    Registry& r = open();
    auto machine = r.machine("idle", "attach to the console of");
    ASSERT_FALSE(machine.ok());
    EXPECT_EQ(machine.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(machine.status().message().find("attach to the console of"), std::string::npos) << machine.status();
    EXPECT_EQ(r.pause("idle").status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(r.resume("idle").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(RegistryTest, StoredNameIsTaken)
{
    store(hello_spec("kept"));
    Registry& r = open();
    auto created = r.create(hello_spec("kept"), kDaemonOwner);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), absl::StatusCode::kAlreadyExists) << created.status();
}

TEST_F(RegistryTest, MissingImageIsNotFound)
{
    v1::MachineSpec missing = hello_spec("missing");
    missing.set_image_path((dir_ / "no-such.elf").string());
    Registry& r = open();
    auto created = r.create(missing, kDaemonOwner);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), absl::StatusCode::kNotFound) << created.status();
    EXPECT_NE(created.status().message().find("cannot open image " + missing.image_path()),
              std::string::npos)
        << created.status();
    EXPECT_TRUE(r.list().empty());
}

TEST_F(RegistryTest, StartWithTheImageGoneIsNotFoundAndChangesNothing)
{
    auto spec = hello_spec("orphan");
    spec.set_image_path((dir_ / "deleted.elf").string());
    store(spec);
    Registry& r = open();
    auto started = r.start("orphan");
    ASSERT_FALSE(started.ok());
    EXPECT_EQ(started.status().code(), absl::StatusCode::kNotFound) << started.status();
    auto got = r.get("orphan");
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->state(), v1::MACHINE_STATE_STOPPED);
    EXPECT_EQ(got->reason(), kNotBuilt);
}

TEST_F(RegistryTest, InfoGivesTheImageSizeButNotTheImageBytes)
{
    store(hello_spec("by-path"));
    auto inline_image = hello_spec("by-bytes");
    inline_image.set_image_bytes("\x7f" "ELF and then some");
    store(inline_image);
    auto gone = hello_spec("gone");
    gone.set_image_path((dir_ / "gone.elf").string());
    store(gone);
    Registry& r = open();

    auto by_path = r.get("by-path");
    ASSERT_TRUE(by_path.ok());
    EXPECT_EQ(by_path->image_size(), fs::file_size(VMRUNTIME_HELLO_ELF));
    auto by_bytes = r.get("by-bytes");
    ASSERT_TRUE(by_bytes.ok());
    EXPECT_EQ(by_bytes->image_size(), inline_image.image_bytes().size());
    EXPECT_TRUE(by_bytes->spec().image_bytes().empty());
    auto missing = r.get("gone");
    ASSERT_TRUE(missing.ok());
    EXPECT_EQ(missing->image_size(), 0u);
}

TEST_F(RegistryTest, RemoveForgetsTheMachineAndItsFileAndTellsObservers)
{
    store(hello_spec("doomed"));
    store(hello_spec("spared"));
    Registry& r = open();
    EventLog gone;
    r.subscribe(log_.observer());
    const int id = r.subscribe(gone.observer());
    r.unsubscribe(id);

    ASSERT_TRUE(r.remove("doomed", false).ok());
    EXPECT_EQ(r.get("doomed").status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(names(r.list()), (std::vector<std::string>{"spared"}));
    EXPECT_EQ(stored_files(), (std::vector<std::string>{"spared.json"}));
    EXPECT_EQ(log_.summary(), (std::vector<std::string>{"doomed:deleted"}));
    EXPECT_TRUE(gone.events().empty());
    EXPECT_EQ(r.remove("doomed", false).code(), absl::StatusCode::kNotFound);

    Registry& reopened = open();
    EXPECT_EQ(names(reopened.list()), (std::vector<std::string>{"spared"}));
}

// ---------------------------------------------------------------------------
// With /dev/kvm: guests/hello machines.

class RegistryKvmTest : public RegistryTest {
protected:
    void SetUp() override
    {
        struct stat st;
        if (::stat("/dev/kvm", &st) == -1) {
            std::fprintf(stderr, "\n*** /dev/kvm is absent: SKIPPING the registry tests on real machines ***\n\n");
            GTEST_SKIP() << "/dev/kvm is absent: no machine can be built";
        }
        RegistryTest::SetUp();
    }

    // Waits until the machine's console has printed the hello banner.
    static bool wait_for_banner(runtime::Machine& machine)
    {
        auto& ring = machine.console();
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        const std::string banner(kBanner);
        while (std::chrono::steady_clock::now() < deadline) {
            auto chunk = ring.read(0, 4096);
            if (std::string(chunk.bytes.begin(), chunk.bytes.end()).find(banner) != std::string::npos) {
                return true;
            }
            ring.wait_for(ring.end_offset(), 100ms);
        }
        return false;
    }

    v1::MachineSpec stored_spec(const std::string& name) const
    {
        v1::MachineSpec spec;
        auto parsed = google::protobuf::util::JsonStringToMessage(read_text(spec_file(name)), &spec);
        EXPECT_TRUE(parsed.ok()) << spec_file(name) << ": " << parsed.ToString();
        return spec;
    }
};

TEST_F(RegistryKvmTest, CreateStoresTheSpecWithItsDefaultsFilledIn)
{
    Registry& r = open();
    auto created = r.create(hello_spec("h", "hz=100"), kDaemonOwner);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->state(), v1::MACHINE_STATE_CREATED);
    EXPECT_EQ(created->spec().memory_mib(), 16u);
    EXPECT_EQ(created->spec().vcpus(), 1u);
    EXPECT_EQ(created->spec().loader(), v1::LOADER_KIND_ELF64);
    EXPECT_EQ(created->image_size(), fs::file_size(VMRUNTIME_HELLO_ELF));

    // Written atomically: the spec file and no temporary beside it.
    EXPECT_EQ(stored_files(), (std::vector<std::string>{"h.json"}));
    EXPECT_EQ(stored_spec("h").SerializeAsString(), created->spec().SerializeAsString());

    Registry& reopened = open();
    auto loaded = reopened.get("h");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->spec().SerializeAsString(), created->spec().SerializeAsString());
    EXPECT_EQ(loaded->state(), v1::MACHINE_STATE_STOPPED);
}

TEST_F(RegistryKvmTest, ImageBytesAreStoredBesideTheSpecButNotEchoed)
{
    const std::string image = read_text(VMRUNTIME_HELLO_ELF);
    ASSERT_FALSE(image.empty()) << "cannot read " << VMRUNTIME_HELLO_ELF;
    v1::MachineSpec spec;
    spec.set_name("inline");
    spec.set_image_bytes(image);
    Registry& r = open();
    auto created = r.create(spec, kDaemonOwner);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_TRUE(created->spec().image_bytes().empty());
    EXPECT_EQ(created->image_size(), image.size());
    EXPECT_EQ(stored_spec("inline").image_case(), v1::MachineSpec::kImageBytes);
    EXPECT_TRUE(stored_spec("inline").image_bytes().empty()) << "not in the JSON";
    EXPECT_EQ(read_text(state_dir() / "machines" / "inline.image"), image);
}

TEST_F(RegistryKvmTest, SecondCreateOfANameIsAlreadyExists)
{
    Registry& r = open();
    ASSERT_TRUE(r.create(hello_spec("twice", "hz=100"), kDaemonOwner).ok());
    auto again = r.create(hello_spec("twice", "hz=200"), kDaemonOwner);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists) << again.status();
    auto got = r.get("twice");
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->spec().cmdline(), "hz=100");
    EXPECT_EQ(stored_spec("twice").cmdline(), "hz=100");
}

TEST_F(RegistryKvmTest, ConcurrentCreatesOfOneNameLetExactlyOneWin)
{
    constexpr int kThreads = 4;
    Registry& r = open();
    std::vector<absl::StatusCode> codes(kThreads);
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] { codes[i] = r.create(hello_spec("contested"), kDaemonOwner).status().code(); });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(std::count(codes.begin(), codes.end(), absl::StatusCode::kOk), 1);
    EXPECT_EQ(std::count(codes.begin(), codes.end(), absl::StatusCode::kAlreadyExists), kThreads - 1);
    EXPECT_EQ(names(r.list()), (std::vector<std::string>{"contested"}));
}

TEST_F(RegistryKvmTest, CreateWithStartRunsTheMachineInTheSameCall)
{
    Registry& r = open();
    r.subscribe(log_.observer());
    auto created = r.create(hello_spec("quick", "hz=100"), kDaemonOwner, true);
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(created->state(), v1::MACHINE_STATE_RUNNING);
    EXPECT_EQ(created->spec().loader(), v1::LOADER_KIND_ELF64);
    EXPECT_EQ(stored_spec("quick").loader(), v1::LOADER_KIND_ELF64) << "the loader is resolved before it is stored";
    auto machine = r.machine("quick", "inspect");
    ASSERT_TRUE(machine.ok()) << machine.status();
    EXPECT_TRUE(wait_for_banner(**machine)) << "no banner from guests/hello";
    EXPECT_EQ(log_.summary(),
              (std::vector<std::string>{"quick:MACHINE_STATE_CREATED", "quick:MACHINE_STATE_RUNNING"}));
}

// The spec is written while the machine is built: when the write fails,
// the machine built beside it goes too, console log included.
TEST_F(RegistryKvmTest, FailedStoreLeavesNoMachineBehind)
{
    Registry& r = open();
    r.subscribe(log_.observer());
    const fs::path blocker = state_dir() / "machines" / "blocked.json.tmp";
    fs::create_directories(blocker);  // the temporary file cannot be opened, even by root
    auto created = r.create(hello_spec("blocked"), kDaemonOwner, true);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInternal) << created.status();
    EXPECT_NE(created.status().message().find("blocked.json.tmp"), std::string_view::npos) << created.status();
    EXPECT_EQ(r.get("blocked").status().code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(log_.events().empty());
    EXPECT_FALSE(fs::exists(state_dir() / "logs" / "blocked.log"));

    fs::remove(blocker);
    auto again = r.create(hello_spec("blocked"), kDaemonOwner, true);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(again->state(), v1::MACHINE_STATE_RUNNING);
}

TEST_F(RegistryKvmTest, StartPauseResumeFollowTheMachineAndRefuseTheWrongState)
{
    Registry& r = open();
    r.subscribe(log_.observer());
    ASSERT_TRUE(r.create(hello_spec("life"), kDaemonOwner).ok());

    auto started = r.start("life");
    ASSERT_TRUE(started.ok()) << started.status();
    EXPECT_EQ(started->state(), v1::MACHINE_STATE_RUNNING);
    EXPECT_EQ(r.start("life").status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(r.resume("life").status().code(), absl::StatusCode::kFailedPrecondition);

    auto machine = r.machine("life", "inspect");
    ASSERT_TRUE(machine.ok()) << machine.status();
    EXPECT_TRUE(wait_for_banner(**machine)) << "no banner from guests/hello";

    auto paused = r.pause("life");
    ASSERT_TRUE(paused.ok()) << paused.status();
    EXPECT_EQ(paused->state(), v1::MACHINE_STATE_PAUSED);
    EXPECT_EQ(r.pause("life").status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(r.start("life").status().code(), absl::StatusCode::kFailedPrecondition);

    auto resumed = r.resume("life");
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_EQ(resumed->state(), v1::MACHINE_STATE_RUNNING);
    EXPECT_GT(resumed->uptime_ns(), 0u);

    const auto refused = r.remove("life", false);
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
    EXPECT_NE(refused.message().find("force"), std::string_view::npos) << refused;
    ASSERT_TRUE(r.remove("life", true).ok());
    EXPECT_EQ((*machine)->status().state, runtime::MachineState::Stopped);
    EXPECT_EQ((*machine)->status().reason, "deleted");
    EXPECT_TRUE(stored_files().empty());
    EXPECT_EQ(log_.summary(), (std::vector<std::string>{"life:MACHINE_STATE_CREATED", "life:MACHINE_STATE_RUNNING",
                                                       "life:MACHINE_STATE_PAUSED", "life:MACHINE_STATE_RUNNING",
                                                       "life:MACHINE_STATE_STOPPED", "life:deleted"}));
}

TEST_F(RegistryKvmTest, GuestPowerOffIsReportedAndStartBuildsTheMachineAgain)
{
    Registry& r = open();
    r.subscribe(log_.observer());
    ASSERT_TRUE(r.create(hello_spec("short", "hz=100 ticks=3 exit=7"), kDaemonOwner).ok());
    ASSERT_TRUE(r.start("short").ok());
    auto first = r.machine("short", "inspect");
    ASSERT_TRUE(first.ok());
    ASSERT_TRUE((*first)->wait(10000ms)) << "guests/hello did not power off after 3 ticks";

    auto got = r.get("short");
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->state(), v1::MACHINE_STATE_STOPPED);
    EXPECT_EQ(got->exit_status(), 7u);
    EXPECT_EQ(r.pause("short").status().code(), absl::StatusCode::kFailedPrecondition);
    // The observer is called after waiters are woken.
    auto powered_off = [&] {
        auto events = log_.events();
        return !events.empty() && events.back().state() == v1::MACHINE_STATE_STOPPED;
    };
    ASSERT_TRUE(wait_until(powered_off, 5000ms)) << ::testing::PrintToString(log_.summary());
    EXPECT_EQ(log_.events().back().exit_status(), 7u);

    auto restarted = r.start("short");
    ASSERT_TRUE(restarted.ok()) << restarted.status();
    EXPECT_EQ(restarted->state(), v1::MACHINE_STATE_RUNNING);
    auto second = r.machine("short", "inspect");
    ASSERT_TRUE(second.ok());
    EXPECT_NE(second->get(), first->get());
    EXPECT_EQ((*first)->status().state, runtime::MachineState::Stopped);  // left as it ended
}

TEST_F(RegistryKvmTest, StoredMachineIsBuiltAgainByStart)
{
    ASSERT_TRUE(open().create(hello_spec("kept"), kDaemonOwner).ok());
    Registry& r = open();
    auto listed = r.get("kept");
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->reason(), kNotBuilt);

    auto started = r.start("kept");
    ASSERT_TRUE(started.ok()) << started.status();
    EXPECT_EQ(started->state(), v1::MACHINE_STATE_RUNNING);
    auto machine = r.machine("kept", "inspect");
    ASSERT_TRUE(machine.ok()) << machine.status();
    EXPECT_TRUE(wait_for_banner(**machine)) << "no banner from guests/hello";
}

TEST_F(RegistryKvmTest, StopAllPowersOffEveryMachineWithTheReason)
{
    Registry& r = open();
    for (const char* name : {"one", "two", "idle"}) {
        ASSERT_TRUE(r.create(hello_spec(name), kDaemonOwner).ok()) << name;
    }
    ASSERT_TRUE(r.start("one").ok());
    ASSERT_TRUE(r.start("two").ok());
    ASSERT_TRUE(r.pause("two").ok());

    r.stop_all("maintenance");
    for (const auto& info : r.list()) {
        EXPECT_EQ(info.state(), v1::MACHINE_STATE_STOPPED) << info.spec().name();
        EXPECT_EQ(info.reason(), "maintenance") << info.spec().name();
    }
}

TEST_F(RegistryKvmTest, DestroyingTheRegistryPowersOffItsMachines)
{
    Registry& r = open();
    ASSERT_TRUE(r.create(hello_spec("last"), kDaemonOwner).ok());
    ASSERT_TRUE(r.start("last").ok());
    auto machine = r.machine("last", "inspect");
    ASSERT_TRUE(machine.ok());
    registry_.reset();
    EXPECT_EQ((*machine)->status().state, runtime::MachineState::Stopped);
    EXPECT_EQ((*machine)->status().reason, "the daemon is shutting down");
}

}  // namespace
}  // namespace vmruntime::server
