// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl's verbs other than the console ones: one small function per RPC,
// printing either for people or, with --json, the response as JSON.
#include <google/protobuf/descriptor.h>

#include <fnmatch.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <sstream>

#include "vmctl.h"

namespace vmruntime::vmctl {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// What the daemon gives a spec that leaves them out.
uint64_t memory_bytes(const v1::MachineSpec& s)
{
    return (s.memory_mib() ? s.memory_mib() : 16) << 20;
}

uint32_t vcpu_count(const v1::MachineSpec& s)
{
    return s.vcpus() ? s.vcpus() : 1;
}

}  // namespace

void print_machine(const Context& ctx, const v1::MachineInfo& m,
                   const std::vector<std::pair<std::string, std::string>>& extra)
{
    if (ctx.json) {
        return print_json(m, extra);
    }
    const auto& s = m.spec();
    std::cout << "name:     " << s.name() << "\n"
              << "state:    " << state_word(m.state()) << "\n";
    if (!m.reason().empty()) {
        std::cout << "reason:   " << m.reason() << " (exit status " << m.exit_status() << ")\n";
    }
    std::cout << "uptime:   " << duration(m.uptime_ns()) << "\n"
              << "memory:   " << size(memory_bytes(s)) << "\n"
              << "vcpus:    " << vcpu_count(s) << "\n"
              << "loader:   " << loader_word(s.loader()) << "\n";
    if (!s.snapshot().empty()) {
        std::cout << "snapshot: " << s.snapshot() << "\n";
    } else {
        std::cout << "image:    " << (s.image_path().empty() ? "(uploaded)" : s.image_path()) << ", "
                  << size(m.image_size()) << "\n";
    }
    if (m.initrd_size() != 0) {
        std::cout << "initrd:   " << (s.initrd_path().empty() ? "(uploaded)" : s.initrd_path())
                  << ", " << size(m.initrd_size()) << "\n";
    }
    for (const auto& d : s.disks()) {
        std::cout << "disk:     " << d.path() << (d.read_only() ? " (read-only)" : "") << "\n";
    }
    for (const auto& n : s.nets()) {
        std::cout << "net:      tap " << n.tap() << (n.mac().empty() ? "" : ", mac " + n.mac()) << "\n";
    }
    if (s.has_vsock()) {
        std::cout << "vsock:    cid " << s.vsock().cid() << ", socket " << s.vsock().socket() << "\n";
    }
    std::cout << "cmdline:  " << s.cmdline() << "\n";
    if (s.owner().has_local()) {
        std::cout << "owner:    uid " << s.owner().local().uid() << ", gid " << s.owner().local().gid() << "\n";
    } else if (s.owner().has_remote()) {
        std::cout << "owner:    a TCP client (files beneath the daemon's --image-dir)\n";
    }
    if (s.on_reboot() == v1::ON_REBOOT_RESTART) {
        std::cout << "reboot:   restart\n";
    }
}

std::string absolute(const std::string& path)
{
    std::error_code ec;
    return std::filesystem::absolute(path, ec).string();
}

namespace {

// Unary call helper: runs `call`, prints the machine in the response.
template <typename Request, typename Response, typename Call>
int unary_machine(Context& ctx, const Request& req, Call call)
{
    grpc::ClientContext cc;
    Response resp;
    grpc::Status status = (ctx.stub.get()->*call)(&cc, req, &resp);
    if (!status.ok()) {
        return fail(ctx, status);
    }
    print_machine(ctx, resp.machine());
    return kExitOk;
}

}  // namespace

bool parse_cpus(const std::string& text, v1::MachineSpec* spec)
{
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        uint64_t cpu;
        if (!parse_u64(item, &cpu) || cpu > 4095) {
            return false;
        }
        spec->add_cpus(static_cast<int32_t>(cpu));
    }
    return true;
}

namespace {

// PATH or PATH,ro; the path made absolute (disks are never uploaded).
bool add_disk(const std::string& text, v1::MachineSpec* spec)
{
    std::string path = text;
    bool read_only = false;
    if (path.size() > 3 && path.ends_with(",ro")) {
        path.resize(path.size() - 3);
        read_only = true;
    }
    if (path.empty() || path.find(',') != std::string::npos) {
        return false;
    }
    v1::Disk* disk = spec->add_disks();
    disk->set_path(absolute(path));
    disk->set_read_only(read_only);
    return true;
}

// tap=NAME[,mac=MAC]; the daemon checks the MAC.
bool add_net(const std::string& text, v1::MachineSpec* spec)
{
    std::stringstream in(text);
    std::string item;
    v1::Net net;
    while (std::getline(in, item, ',')) {
        if (item.starts_with("tap=") && net.tap().empty()) {
            net.set_tap(item.substr(4));
        } else if (item.starts_with("mac=") && net.mac().empty()) {
            net.set_mac(item.substr(4));
        } else {
            return false;
        }
    }
    if (net.tap().empty()) {
        return false;
    }
    *spec->add_nets() = net;
    return true;
}

// cid=N,socket=PATH; the path made absolute, the daemon checks the CID.
bool set_vsock(const std::string& text, v1::MachineSpec* spec)
{
    std::stringstream in(text);
    std::string item;
    v1::Vsock vsock;
    uint64_t cid = 0;
    bool has_cid = false;
    while (std::getline(in, item, ',')) {
        if (item.starts_with("cid=") && !has_cid && parse_u64(item.substr(4), &cid) && cid <= UINT32_MAX) {
            has_cid = true;
        } else if (item.starts_with("socket=") && item.size() > 7 && vsock.socket().empty()) {
            vsock.set_socket(absolute(item.substr(7)));
        } else {
            return false;
        }
    }
    if (!has_cid || vsock.socket().empty()) {
        return false;
    }
    vsock.set_cid(static_cast<uint32_t>(cid));
    *spec->mutable_vsock() = vsock;
    return true;
}

// Fills `spec` from the create options (paths only without --upload); -1
// when done, else an exit code.
int build_spec(const Args& args, const std::string& name, const std::string& image, v1::MachineSpec* spec)
{
    spec->set_name(name);
    uint64_t n = 0;
    if (args.has("--memory")) {
        if (!parse_mib(args.value("--memory"), &n)) {
            return usage_error("--memory takes a size like 512M or 2G (a bare number is MiB), more than none");
        }
        spec->set_memory_mib(n);
    }
    if (args.has("--vcpus")) {
        if (!parse_u64(args.value("--vcpus"), &n) || n == 0 || n > UINT32_MAX) {
            return usage_error("--vcpus takes a count, 1 or more");
        }
        spec->set_vcpus(static_cast<uint32_t>(n));
    }
    v1::LoaderKind kind = v1::LOADER_KIND_UNSPECIFIED;
    if (!parse_loader(args.value("--loader", "auto"), &kind)) {
        return usage_error("--loader is auto, elf, bzimage, pvh, flat-real, flat-protected or flat-long");
    }
    spec->set_loader(kind);
    const std::string on_reboot = args.value("--on-reboot", "stop");
    if (on_reboot != "stop" && on_reboot != "restart") {
        return usage_error("--on-reboot is stop or restart");
    }
    spec->set_on_reboot(on_reboot == "restart" ? v1::ON_REBOOT_RESTART : v1::ON_REBOOT_STOP);
    spec->set_autostart(args.flags.count("--autostart") != 0);
    if (args.has("--load-address")) {
        if (!parse_u64(args.value("--load-address"), &n)) return usage_error("--load-address takes an address");
        spec->set_load_address(n);
    }
    spec->set_cmdline(args.value("--cmdline"));
    if (args.has("--cpus") && !parse_cpus(args.value("--cpus"), spec)) {
        return usage_error("--cpus takes a list like 0,2,3");
    }
    if (auto disks = args.options.find("--disk"); disks != args.options.end()) {
        for (const std::string& d : disks->second) {
            if (!add_disk(d, spec)) return usage_error("--disk takes PATH or PATH,ro");
        }
    }
    if (auto nets = args.options.find("--net"); nets != args.options.end()) {
        for (const std::string& n : nets->second) {
            if (!add_net(n, spec)) return usage_error("--net takes tap=NAME[,mac=MAC]");
        }
    }
    if (args.has("--vsock") && !set_vsock(args.value("--vsock"), spec)) {
        return usage_error("--vsock takes cid=N,socket=PATH");
    }
    const std::string initrd = args.value("--initrd");
    if (!args.flags.count("--upload")) {
        spec->set_image_path(absolute(image));
        if (!initrd.empty()) {
            spec->set_initrd_path(absolute(initrd));
        }
    }
    return -1;
}

}  // namespace

// The image: the positional argument or --kernel, exactly one of them.
int image_argument(const Args& args, size_t position, std::string* image)
{
    const bool positional = args.positional.size() > position;
    if (positional == args.has("--kernel")) {
        return usage_error(positional ? "give the image or --kernel, not both"
                                      : "give an image, or a Linux kernel with --kernel");
    }
    *image = positional ? args.positional[position] : args.value("--kernel");
    return -1;
}

int create_machine(Context& ctx, const Args& args, const std::string& name, const std::string& image, bool start,
                   v1::MachineInfo* machine)
{
    v1::CreateRequest req;
    if (int err = build_spec(args, name, image, req.mutable_spec()); err >= 0) {
        return err;
    }
    if (args.flags.count("--upload")) {
        if (int err = upload_machine(ctx, req.spec(), image, args.value("--initrd"), machine); err >= 0 || !start) {
            return err;
        }
        grpc::ClientContext sc;
        v1::StartRequest started;
        started.set_name(name);
        v1::StartResponse resp;
        if (grpc::Status status = ctx.stub->Start(&sc, started, &resp); !status.ok()) {
            return fail(ctx, status);
        }
        *machine = resp.machine();
        return -1;
    }
    req.set_start(start);
    grpc::ClientContext cc;
    v1::CreateResponse resp;
    if (grpc::Status status = ctx.stub->Create(&cc, req, &resp); !status.ok()) {
        return fail(ctx, status);
    }
    *machine = resp.machine();
    return -1;
}

namespace {

int cmd_create(Context& ctx, const Args& args)
{
    std::string image;
    if (int err = image_argument(args, 1, &image); err >= 0) {
        return err;
    }
    v1::MachineInfo machine;
    if (int err = create_machine(ctx, args, args.positional[0], image, false, &machine); err >= 0) {
        return err;
    }
    print_machine(ctx, machine);
    return kExitOk;
}

int cmd_start(Context& ctx, const Args& args)
{
    v1::StartRequest req;
    req.set_name(args.positional[0]);
    return unary_machine<v1::StartRequest, v1::StartResponse>(ctx, req, &v1::Machines::Stub::Start);
}

int cmd_pause(Context& ctx, const Args& args)
{
    v1::PauseRequest req;
    req.set_name(args.positional[0]);
    return unary_machine<v1::PauseRequest, v1::PauseResponse>(ctx, req, &v1::Machines::Stub::Pause);
}

int cmd_resume(Context& ctx, const Args& args)
{
    v1::ResumeRequest req;
    req.set_name(args.positional[0]);
    return unary_machine<v1::ResumeRequest, v1::ResumeResponse>(ctx, req, &v1::Machines::Stub::Resume);
}

// Stop with `timeout_ms` for the guest to end by itself (0: power off at
// once).
grpc::Status stop_machine(Context& ctx, const std::string& name, uint64_t timeout_ms, v1::StopResponse* resp)
{
    v1::StopRequest req;
    req.set_name(name);
    req.set_timeout_ms(static_cast<uint32_t>(timeout_ms));
    grpc::ClientContext cc;
    return ctx.stub->Stop(&cc, req, resp);
}

void print_stopped(const Context& ctx, const v1::StopResponse& resp)
{
    print_machine(ctx, resp.machine(), {{"forced", resp.forced() ? "true" : "false"}});
    if (resp.forced() && !ctx.json) {
        std::cout << "forced:   the guest did not shut down in time\n";
    }
}

// StopRequest's limit.
constexpr uint64_t kMaxStopTimeoutMs = 600000;

// --timeout, as Stop takes it; -1 when parsed, else an exit code.
int stop_timeout(const Args& args, uint64_t* ms)
{
    if (!parse_duration_ms(args.value("--timeout", "10s"), ms) || *ms > kMaxStopTimeoutMs) {
        return usage_error("--timeout takes a duration up to 10m: 10s, 500ms, 2m (a bare number is seconds)");
    }
    return -1;
}

int cmd_stop(Context& ctx, const Args& args)
{
    uint64_t ms = 0;
    if (int err = stop_timeout(args, &ms); err >= 0) {
        return err;
    }
    v1::StopResponse resp;
    if (grpc::Status status = stop_machine(ctx, args.positional[0], ms, &resp); !status.ok()) {
        return fail(ctx, status);
    }
    print_stopped(ctx, resp);
    return kExitOk;
}

int cmd_kill(Context& ctx, const Args& args)
{
    v1::StopResponse resp;
    if (grpc::Status status = stop_machine(ctx, args.positional[0], 0, &resp); !status.ok()) {
        return fail(ctx, status);
    }
    print_machine(ctx, resp.machine());
    return kExitOk;
}

// A machine that has already ended is simply started, as docker restart does.
int cmd_restart(Context& ctx, const Args& args)
{
    uint64_t ms = 0;
    if (int err = stop_timeout(args, &ms); err >= 0) {
        return err;
    }
    const std::string& name = args.positional[0];
    v1::StopResponse stopped;
    if (grpc::Status status = stop_machine(ctx, name, ms, &stopped);
        !status.ok() && status.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
        return fail(ctx, status);
    }
    v1::StartRequest start;
    start.set_name(name);
    return unary_machine<v1::StartRequest, v1::StartResponse>(ctx, start, &v1::Machines::Stub::Start);
}

int cmd_delete(Context& ctx, const Args& args)
{
    v1::DeleteRequest req;
    req.set_name(args.positional[0]);
    req.set_force(args.flags.count("--force") || args.flags.count("-f"));
    grpc::ClientContext cc;
    v1::DeleteResponse resp;
    grpc::Status status = ctx.stub->Delete(&cc, req, &resp);
    return status.ok() ? kExitOk : fail(ctx, status);
}

int cmd_get(Context& ctx, const Args& args)
{
    v1::GetRequest req;
    req.set_name(args.positional[0]);
    return unary_machine<v1::GetRequest, v1::GetResponse>(ctx, req, &v1::Machines::Stub::Get);
}

bool known_state(const std::string& word)
{
    const auto* desc = v1::MachineState_descriptor();
    for (int i = 0; i < desc->value_count(); i++) {
        if (desc->value(i)->number() != v1::MACHINE_STATE_UNSPECIFIED && enum_word(desc->value(i)) == word) {
            return true;
        }
    }
    return false;
}

// Positional arguments are name patterns (shell globs); --state keeps only
// machines in one of the states named.
bool listed(const Args& args, const v1::MachineInfo& m)
{
    if (auto states = args.options.find("--state"); states != args.options.end()) {
        const std::string state = state_word(m.state());
        if (std::find(states->second.begin(), states->second.end(), state) == states->second.end()) {
            return false;
        }
    }
    if (args.positional.empty()) {
        return true;
    }
    return std::any_of(args.positional.begin(), args.positional.end(), [&](const std::string& pattern) {
        return fnmatch(pattern.c_str(), m.spec().name().c_str(), 0) == 0;
    });
}

int cmd_list(Context& ctx, const Args& args)
{
    if (auto states = args.options.find("--state"); states != args.options.end()) {
        for (const std::string& state : states->second) {
            if (!known_state(state)) {
                return usage_error("--state is created, running, paused, stopped or crashed");
            }
        }
    }
    grpc::ClientContext cc;
    v1::ListResponse resp;
    grpc::Status status = ctx.stub->List(&cc, v1::ListRequest(), &resp);
    if (!status.ok()) {
        return fail(ctx, status);
    }
    const bool quiet = args.flags.count("-q") != 0;
    if (!ctx.json && !quiet) {
        std::printf("%-24s %-9s %5s %9s %7s  %s\n", "NAME", "STATE", "VCPUS", "MEMORY", "UPTIME", "REASON");
    }
    for (const auto& m : resp.machines()) {
        if (!listed(args, m)) {
            continue;
        }
        if (ctx.json) {
            print_json(m);
        } else if (quiet) {
            std::printf("%s\n", m.spec().name().c_str());
        } else {
            std::printf("%-24s %-9s %5u %9s %7s  %s\n", m.spec().name().c_str(), state_word(m.state()).c_str(),
                        vcpu_count(m.spec()), size(memory_bytes(m.spec())).c_str(), duration(m.uptime_ns()).c_str(),
                        m.reason().c_str());
        }
    }
    return kExitOk;
}

int cmd_watch(Context& ctx, const Args& args)
{
    v1::WatchRequest req;
    if (!args.positional.empty()) {
        req.set_name(args.positional[0]);
    }
    grpc::ClientContext cc;
    auto reader = ctx.stub->Watch(&cc, req);
    v1::WatchEvent event;
    while (reader->Read(&event)) {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        const std::string time = utc_time(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count(), 3);
        if (ctx.json) {
            print_json(event, {{"time", json_string(time)}});
        } else {
            std::cout << time << "  " << event.name() << " "
                      << (event.deleted() ? std::string("deleted") : state_word(event.state()))
                      << (event.reason().empty() ? "" : ": " + event.reason()) << std::endl;
        }
        if (!std::cout) {
            // Whoever read our output is gone (| head): nobody is watching.
            cc.TryCancel();
            reader->Finish();
            return kExitOk;
        }
    }
    grpc::Status status = reader->Finish();
    return status.ok() ? kExitOk : fail(ctx, status);
}

// ---------------------------------------------------------------------------
// regs

// Prints every set field of a register class, generically.
void print_class(const std::string& title, const Message& msg)
{
    const auto* desc = msg.GetDescriptor();
    const auto* refl = msg.GetReflection();
    std::cout << title << ":\n";
    int column = 0;
    for (int i = 0; i < desc->field_count(); i++) {
        const FieldDescriptor* f = desc->field(i);
        char buf[160];
        if (f->type() == FieldDescriptor::TYPE_MESSAGE && !f->is_repeated()) {
            const auto& seg = static_cast<const v1::Segment&>(refl->GetMessage(msg, f));
            std::snprintf(buf, sizeof buf, "  %-4s sel=0x%04x base=0x%016" PRIx64 " limit=0x%08x type=%u s=%d "
                          "dpl=%u p=%d l=%d db=%d g=%d\n", f->name().c_str(), seg.selector(), seg.base(),
                          seg.limit(), seg.type(), seg.s(), seg.dpl(), seg.p(), seg.l(), seg.def(), seg.g());
            std::cout << buf;
        } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64 ||
                   f->cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
            uint64_t v = f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64 ? refl->GetUInt64(msg, f)
                                                                          : refl->GetUInt32(msg, f);
            std::snprintf(buf, sizeof buf, "  %-14s 0x%016" PRIx64, f->name().c_str(), v);
            std::cout << buf << (++column % 3 == 0 ? "\n" : "");
        } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_BOOL) {
            std::cout << "  " << f->name() << "=" << refl->GetBool(msg, f) << (++column % 3 == 0 ? "\n" : "");
        }
    }
    if (column % 3 != 0) {
        std::cout << "\n";
    }
}

void print_registers(const v1::Registers& regs)
{
    const auto* desc = regs.GetDescriptor();
    const auto* refl = regs.GetReflection();
    for (int i = 0; i < desc->field_count(); i++) {
        if (refl->HasField(regs, desc->field(i))) {
            print_class(desc->field(i)->name(), refl->GetMessage(regs, desc->field(i)));
        }
    }
}

// Sets "name=value" in whichever integer register class has that field and
// adds that class to `touched`.
bool apply_set(const std::string& assignment, v1::Registers* regs, std::set<int>* touched, std::string* error)
{
    auto eq = assignment.find('=');
    uint64_t value = 0;
    if (eq == std::string::npos || !parse_u64(assignment.substr(eq + 1), &value)) {
        *error = "--set takes REGISTER=VALUE, like rax=0x10";
        return false;
    }
    std::string name = assignment.substr(0, eq);
    const auto* desc = regs->GetDescriptor();
    const auto* refl = regs->GetReflection();
    for (int i = 0; i < desc->field_count(); i++) {
        Message* cls = refl->MutableMessage(regs, desc->field(i));
        const FieldDescriptor* f = cls->GetDescriptor()->FindFieldByName(name);
        if (f && f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64) {
            cls->GetReflection()->SetUInt64(cls, f, value);
            touched->insert(i);
            return true;
        }
    }
    *error = "no register named " + name + " (general, control, debug and MSR names are settable)";
    return false;
}

int cmd_regs(Context& ctx, const Args& args)
{
    uint64_t vcpu = 0;
    if (!parse_u64(args.value("--vcpu", "0"), &vcpu) || vcpu > UINT32_MAX) {
        return usage_error("--vcpu takes an index");
    }
    v1::GetRegistersRequest get;
    get.set_name(args.positional[0]);
    get.set_vcpu(static_cast<uint32_t>(vcpu));
    for (auto c : {v1::STATE_CLASS_GPRS, v1::STATE_CLASS_SEGMENTS, v1::STATE_CLASS_CONTROL,
                   v1::STATE_CLASS_DEBUG, v1::STATE_CLASS_MSRS, v1::STATE_CLASS_INTERRUPT}) {
        get.add_classes(c);
    }
    grpc::ClientContext cc;
    v1::GetRegistersResponse regs;
    grpc::Status status = ctx.stub->GetRegisters(&cc, get, &regs);
    if (!status.ok()) {
        return fail(ctx, status);
    }
    if (args.has("--set")) {
        v1::SetRegistersRequest set;
        set.set_name(get.name());
        set.set_vcpu(get.vcpu());
        *set.mutable_registers() = regs.registers();
        std::string error;
        std::set<int> touched;
        for (const auto& a : args.options.at("--set")) {
            if (!apply_set(a, set.mutable_registers(), &touched, &error)) {
                return usage_error(error);
            }
        }
        // A class is written whole: send only the ones changed.
        auto* regs_out = set.mutable_registers();
        const auto* desc = regs_out->GetDescriptor();
        for (int i = 0; i < desc->field_count(); i++) {
            if (!touched.count(i)) {
                regs_out->GetReflection()->ClearField(regs_out, desc->field(i));
            }
        }
        grpc::ClientContext sc;
        v1::SetRegistersResponse done;
        status = ctx.stub->SetRegisters(&sc, set, &done);
        return status.ok() ? kExitOk : fail(ctx, status);
    }
    if (ctx.json) {
        print_json(regs);
    } else {
        print_registers(regs.registers());
    }
    return kExitOk;
}

// ---------------------------------------------------------------------------
// mem

void hexdump(uint64_t address, const std::string& data)
{
    for (size_t i = 0; i < data.size(); i += 16) {
        std::printf("%016" PRIx64 " ", address + i);
        std::string ascii;
        for (size_t j = i; j < i + 16; j++) {
            if (j < data.size()) {
                auto c = static_cast<unsigned char>(data[j]);
                std::printf(" %02x", c);
                ascii += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '.';
            } else {
                std::printf("   ");
            }
        }
        std::printf("  |%s|\n", ascii.c_str());
    }
}

bool parse_hex_bytes(const std::string& text, std::string* out)
{
    if (text.size() % 2 != 0) {
        return false;
    }
    for (size_t i = 0; i < text.size(); i += 2) {
        uint64_t byte;
        if (!std::isxdigit(static_cast<unsigned char>(text[i])) || !parse_u64("0x" + text.substr(i, 2), &byte)) {
            return false;
        }
        out->push_back(static_cast<char>(byte));
    }
    return !out->empty();
}

int cmd_mem(Context& ctx, const Args& args)
{
    uint64_t address = 0, length = 0;
    if (!parse_u64(args.positional[1], &address)) {
        return usage_error("bad address " + args.positional[1]);
    }
    grpc::ClientContext cc;
    if (args.has("--write")) {
        v1::WriteMemoryRequest req;
        req.set_name(args.positional[0]);
        req.set_address(address);
        if (args.positional.size() != 2 || !parse_hex_bytes(args.value("--write"), req.mutable_data())) {
            return usage_error("mem NAME ADDR --write HEXBYTES, like --write 90ebfe");
        }
        v1::WriteMemoryResponse resp;
        grpc::Status status = ctx.stub->WriteMemory(&cc, req, &resp);
        return status.ok() ? kExitOk : fail(ctx, status);
    }
    if (args.positional.size() != 3 || !parse_u64(args.positional[2], &length) || length > UINT32_MAX) {
        return usage_error("mem NAME ADDR LEN reads LEN bytes");
    }
    v1::ReadMemoryRequest req;
    req.set_name(args.positional[0]);
    req.set_address(address);
    req.set_length(static_cast<uint32_t>(length));
    v1::ReadMemoryResponse resp;
    grpc::Status status = ctx.stub->ReadMemory(&cc, req, &resp);
    if (!status.ok()) {
        return fail(ctx, status);
    }
    if (ctx.json) {
        print_json(resp);
    } else {
        hexdump(address, resp.data());
    }
    return kExitOk;
}

int cmd_stats(Context& ctx, const Args& args)
{
    v1::StatsRequest req;
    req.set_name(args.positional[0]);
    grpc::ClientContext cc;
    v1::StatsResponse resp;
    grpc::Status status = ctx.stub->Stats(&cc, req, &resp);
    if (!status.ok()) {
        return fail(ctx, status);
    }
    if (ctx.json) {
        print_json(resp);
        return kExitOk;
    }
    const auto& e = resp.exits();
    std::cout << "state:          " << state_word(resp.state()) << "\n"
              << "uptime:         " << duration(resp.uptime_ns()) << "\n"
              << "console bytes:  " << resp.console_bytes() << "\n"
              << "exits:          io " << e.io() << ", mmio " << e.mmio() << ", halted " << e.halted()
              << ", interrupts " << e.interrupts() << ", stopped " << e.stopped() << ", other " << e.other()
              << "\n";
    return kExitOk;
}

int cmd_completion(Context&, const Args& args)
{
    if (args.positional[0] != "bash") {
        return usage_error("completion is written for bash only");
    }
    print_bash_completion(std::cout);
    return kExitOk;
}

}  // namespace

const std::vector<Command>& commands()
{
    static const std::set<std::string> kSpecOptions = {"--memory", "--vcpus", "--loader", "--load-address",
                                                       "--cmdline", "--cpus", "--kernel", "--initrd",
                                                       "--on-reboot", "--disk", "--net", "--vsock"};
    static const std::vector<Command> kCommands = {
        {"create", "NAME (IMAGE | --kernel FILE [--initrd FILE]) [--memory SIZE] [--vcpus N]\n"
                   "         [--loader KIND] [--load-address ADDR] [--cmdline TEXT] [--cpus LIST]\n"
                   "         [--on-reboot stop|restart] [--disk PATH[,ro]]... [--net tap=NAME[,mac=MAC]]...\n"
                   "         [--vsock cid=N,socket=PATH] [--autostart] [--upload]",
         "Creates machine NAME from IMAGE, or from a Linux kernel and its initrd, without\n"
         "starting it, with SIZE of memory (512M, 2G; a bare number is MiB; default 16M)\n"
         "and N vCPUs (default 1).  The daemon reads the files (made absolute here) at\n"
         "create and at each fresh start; --upload sends their bytes instead.  KIND is\n"
         "auto (default: an ELF64 executable, a bzImage or a PVH vmlinux, found from the\n"
         "file), elf, bzimage, pvh, flat-real, flat-protected or flat-long; --load-address\n"
         "places a flat image (default 0x100000).  --cmdline is the guest's command line.\n"
         "--cpus pins vCPU i to host CPU LIST[i % n].  --on-reboot restart starts the\n"
         "machine again when the guest resets (default: it stops, reason \"guest reset\").\n"
         "Each --disk gives a Linux guest a virtio disk on a raw image file (/dev/vda,\n"
         "/dev/vdb... in order), read-only with ,ro; the daemon opens it like the image,\n"
         "even with --upload.  Each --net gives it a virtio network card (eth0, eth1...)\n"
         "on host tap NAME, which a user other than root must own; MAC defaults to one\n"
         "made from the machine's name.  --vsock gives it a virtio socket device with\n"
         "context ID N: a host program reaches guest port P by connecting to the Unix\n"
         "socket PATH and writing \"CONNECT P\\n\" (answered \"OK <port>\\n\"), and the\n"
         "guest reaches host port P at PATH_P.  --autostart: the daemon starts the machine\n"
         "whenever the daemon starts.",
         kSpecOptions, {"--upload", "--autostart"}, 1, 2, cmd_create},
        {"start", "NAME", "Starts a created machine, or re-creates a stopped one and starts it afresh.", {}, {}, 1,
         1, cmd_start},
        {"stop", "NAME [--timeout DURATION]",
         "Asks a running guest to shut down (Ctrl-Alt-Del on its keyboard: Linux's init\n"
         "powers off, a bare kernel reboots, which ends the machine too; guests/hello\n"
         "powers off), waits up to DURATION (default 10s; 500ms, 2m; a bare number is\n"
         "seconds) for it to end, then powers it off.  A paused machine is powered off at\n"
         "once.",
         {"--timeout"}, {}, 1, 1, cmd_stop},
        {"kill", "NAME", "Powers a running or paused machine off at once, without asking the guest.", {}, {}, 1, 1,
         cmd_kill},
        {"restart", "NAME [--timeout DURATION]",
         "Stops the machine as stop does, if it runs, then starts it afresh.", {"--timeout"}, {}, 1, 1,
         cmd_restart},
        {"pause", "NAME", "Parks every vCPU of a running machine.", {}, {}, 1, 1, cmd_pause},
        {"resume", "NAME", "Lets a paused machine run on.", {}, {}, 1, 1, cmd_resume},
        {"delete", "NAME [-f|--force]",
         "Forgets a machine that is not running, with its console log.  --force powers a\n"
         "running or paused one off first.  Alias: rm.",
         {}, {"-f", "--force"}, 1, 1, cmd_delete},
        {"list", "[PATTERN]... [--state STATE]... [-q]",
         "Lists the machines, or those whose names match a PATTERN (a shell glob: 'web-*')\n"
         "and, with --state, are in one of the STATEs named (created, running, paused,\n"
         "stopped, crashed).  -q prints the names only.  With --json, one machine per\n"
         "line.  Aliases: ls, ps.",
         {"--state"}, {"-q"}, 0, SIZE_MAX, cmd_list},
        {"get", "NAME", "Shows one machine.  Alias: inspect.", {}, {}, 1, 1, cmd_get},
        {"regs", "NAME [--vcpu N] [--set REG=VALUE]...",
         "Prints a vCPU's registers (the machine must be running or paused; pause it for a\n"
         "stable view), or sets general, control, debug or MSR registers by name.  --set\n"
         "writes back the whole class of each register named (all GPRs for rax), as read\n"
         "just before: pause the machine first.",
         {"--vcpu", "--set"}, {}, 1, 1, cmd_regs},
        {"mem", "NAME ADDR LEN | NAME ADDR --write HEXBYTES",
         "Hexdumps LEN bytes of guest-physical memory at ADDR, or writes bytes there\n"
         "(at most 1 MiB per call).",
         {"--write"}, {}, 2, 3, cmd_mem},
        {"console", "NAME [--from OFFSET]",
         "Attaches to the serial console: output from OFFSET (default: from now on, 0: all\n"
         "that is kept), keystrokes to the guest.  Ctrl-] detaches.",
         {"--from"}, {}, 1, 1, cmd_console},
        {"logs", "NAME [-f|--follow] [--tail N] [-t|--timestamps]",
         "Prints the console history the daemon keeps of NAME (its last 1-2 MiB, from\n"
         "every run, across daemon restarts), or its last N lines (--tail all: all).  -f\n"
         "then prints each line as the guest writes it, until the machine is deleted or\n"
         "Ctrl-C.  --timestamps puts before each line when it was written (RFC 3339, UTC,\n"
         "nanoseconds); with --json each line is an object with time, time_ns and text.",
         {"--tail"}, {"-f", "--follow", "-t", "--timestamps"}, 1, 1, cmd_logs},
        {"stats", "NAME", "Shows state, uptime, console size and VM exits by reason.", {}, {}, 1, 1, cmd_stats},
        {"watch", "[NAME]", "Prints state changes of all machines (or NAME) until interrupted.", {}, {}, 0, 1,
         cmd_watch},
        {"snapshot", "NAME DIR",
         "Saves paused machine NAME into directory DIR on the daemon's host (created if\n"
         "missing, written with your rights): its memory, vCPUs and devices.  A snapshot\n"
         "already in DIR is replaced.  Machines with virtio devices cannot be saved yet.",
         {}, {}, 2, 2, cmd_snapshot},
        {"restore", "DIR NAME [--paused] [--cpus LIST]",
         "Creates machine NAME from the snapshot in DIR and runs it from where the snapshot\n"
         "was taken (--paused leaves it paused there).  Its memory is the snapshot's,\n"
         "shared copy-on-write with the other machines restored from it.  A later start\n"
         "restores the snapshot again.",
         {"--cpus"}, {"--paused"}, 2, 2, cmd_restore},
        {"clone", "DIR PREFIX [-n N]",
         "Restores N machines (default 1) from the snapshot in DIR, running, named\n"
         "PREFIX-1 ... PREFIX-N, and prints their names.  Each costs only the memory it\n"
         "writes.",
         {"-n"}, {}, 2, 2, cmd_clone},
        {"reset", "NAME",
         "Returns a machine made by restore or clone to its snapshot in place: the memory\n"
         "it wrote is dropped for the snapshot's, its vCPUs and devices reloaded.  It runs\n"
         "on (or stays paused) from the snapshot.",
         {}, {}, 1, 1, cmd_reset},
        {"snapshots", "",
         "Lists the snapshots this daemon wrote: their directory, the machine they were\n"
         "taken of, its memory, what their files take on disk now (\"gone\" once removed),\n"
         "when, and the machines restored or cloned from them.",
         {}, {}, 0, 0, cmd_snapshots},
        {"run", "(IMAGE | --kernel FILE [--initrd FILE]) [--name NAME] [--rm | -d] [create options]",
         "Creates a machine from IMAGE or a Linux kernel (named after the file unless --name),\n"
         "starts it and attaches to its console from the start.  Exits with the guest's\n"
         "power-off status (1 if it was stopped, reset or crashed).  Ctrl-] detaches; --rm\n"
         "deletes the machine after (detaching from it too: vmctl then says so and exits 1).\n"
         "-d (--detach) attaches nothing: it prints the started machine and returns.",
         [] {
             auto o = kSpecOptions;
             o.insert("--name");
             return o;
         }(),
         {"--upload", "--rm", "--autostart", "-d", "--detach"}, 0, 1, cmd_run},
        {"completion", "bash",
         "Prints a bash completion script for vmctl: source <(vmctl completion bash), or\n"
         "install it as /usr/share/bash-completion/completions/vmctl.",
         {}, {}, 1, 1, cmd_completion},
    };
    return kCommands;
}

}  // namespace vmruntime::vmctl
