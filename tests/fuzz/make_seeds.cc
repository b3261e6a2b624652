// SPDX-License-Identifier: BSD-2-Clause
//
// Writes the seed corpus in tests/fuzz/corpus (make_seeds HELLO_ELF DIR):
// real images and well-formed inputs each fuzzer starts from, so that it
// begins past the first refusals.  The fuzzers take their parameters from
// the input's end, as FuzzedDataProvider does; Tail writes them there.
#include <elf.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "server/registers.h"
#include "tests/unit/dev/fakes.h"
#include "tests/unit/loader/elf_image.h"
#include "tests/unit/loader/linux_image.h"
#include "vmruntime/dev/cmos_rtc.h"
#include "vmruntime/dev/debug_port.h"
#include "vmruntime/dev/device_state.h"
#include "vmruntime/dev/i8042.h"
#include "vmruntime/dev/pci_config.h"
#include "vmruntime/dev/pic8259.h"
#include "vmruntime/dev/pit8254.h"
#include "vmruntime/dev/port61.h"
#include "vmruntime/dev/uart16550.h"
#include "vmruntime/loader/elf.h"
#include "vmruntime/loader/nvmm_state.h"
#include "vmruntime/runtime/snapshot_file.h"

namespace {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;
namespace test = vmruntime::loader::test;

// Values in the order a fuzzer consumes them from the end of its input.
class Tail {
public:
    Tail& put(uint64_t value, unsigned bytes)
    {
        for (unsigned i = bytes; i-- > 0;) {
            consumed_.push_back(static_cast<uint8_t>(value >> (8 * i)));  // most significant first
        }
        return *this;
    }
    Bytes after(Bytes front) const
    {
        front.insert(front.end(), consumed_.rbegin(), consumed_.rend());
        return front;
    }

private:
    Bytes consumed_;
};

void write(const fs::path& dir, const std::string& name, const Bytes& bytes)
{
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                      static_cast<std::streamsize>(bytes.size()));
}

// The loaders' options: command line length, initrd size, load address.
Bytes with_options(const Bytes& file, uint16_t cmdline, uint32_t initrd, uint32_t load_gpa)
{
    return Tail().put(cmdline, 2).put(initrd, 4).put(load_gpa, 4).after(file);
}

void loader_seeds(const fs::path& out, const Bytes& hello)
{
    write(out / "elf_fuzz", "hello.elf", with_options(hello, 0, 0, 0));
    Bytes two = test::make_elf(0x200000, {{0x200000, Bytes(64, 0x90), 0x1000, PF_R | PF_X},
                                          {0x300000, Bytes(16, 1), 0x2000, PF_R | PF_W}});
    write(out / "elf_fuzz", "two-segments", with_options(two, 40, 0, 0));
    Bytes note = test::xen_note(18, test::le32(0x1000040));  // XEN_ELFNOTE_PHYS32_ENTRY
    Bytes pvh = test::make_elf(0x1000000, {{0x1000000, Bytes(0x100, 0x90), 0x2000, PF_R | PF_X},
                                           {0, note, note.size(), PF_R, PT_NOTE}});
    write(out / "pvh_fuzz", "pvh", with_options(pvh, 20, 0x10000, 0));
    Bytes bz = test::make_bzimage(Bytes(0x1000, 0x90));
    write(out / "bzimage_fuzz", "bzimage", with_options(bz, 20, 0x10000, 0));
    write(out / "flat_fuzz", "flat", with_options(Bytes(0x200, 0xf4), 8, 0, 0x7c00));
}

void decode_seeds(const fs::path& out)
{
    const std::vector<Bytes> insns = {{0xee},       {0x66, 0xef},       {0xe6, 0x80}, {0xec},
                                      {0xf3, 0x6e}, {0xf3, 0x66, 0x6d}, {0x0f, 0x30}, {0x0f, 0x32},
                                      {0xf3, 0x48, 0xa5}, {0x67, 0xf3, 0xaa}};
    for (size_t i = 0; i < insns.size(); i++) {
        write(out / "x86_decode_fuzz", "insn-" + std::to_string(i), insns[i]);
    }
}

// Long mode, identity-mapped by one 2 MiB page: PML4 at 0x1000, PDPT at
// 0x2000, PD at 0x3000.
void page_walk_seeds(const fs::path& out)
{
    Bytes ram(0x4000);
    auto entry = [&](uint64_t at, uint64_t value) { std::memcpy(ram.data() + at, &value, 8); };
    entry(0x1000, 0x2000 | 0x7);
    entry(0x2000, 0x3000 | 0x7);
    entry(0x3000, 0x0 | 0x80 | 0x7);
    Bytes seed = Tail()
                     .put(0x80000011, 8)  // cr0: PG | ET | PE
                     .put(0x1000, 8)      // cr3
                     .put(0x20, 8)        // cr4: PAE
                     .put(0x500, 8)       // efer: LMA | LME
                     .put(3, 1)           // cpl
                     .put(0x1234, 8)      // gva
                     .after(ram);
    write(out / "page_walk_fuzz", "long-mode", seed);
}

// devices_fuzz's operations; ports by index into its kBases.
class DeviceOps {
public:
    DeviceOps& out(unsigned base, unsigned offset, uint32_t value)
    {
        tail_.put(2, 1).put(24 + base, 1).put(offset, 1).put(0, 1).put(value, 4);
        return *this;
    }
    DeviceOps& in(unsigned base, unsigned offset)
    {
        tail_.put(0, 1).put(24 + base, 1).put(offset, 1).put(0, 1);
        return *this;
    }
    DeviceOps& advance(uint32_t ns)
    {
        tail_.put(4, 1).put(ns, 4);
        return *this;
    }
    DeviceOps& acknowledge()
    {
        tail_.put(7, 1).put(1, 1);
        return *this;
    }
    Bytes bytes() const { return tail_.after({}); }

private:
    Tail tail_;
};

void device_seeds(const fs::path& out)
{
    enum { kPicMaster = 0, kPicSlave = 1, kPit = 3, kUart = 5, kRtc = 6, kI8042Cmd = 8 };
    DeviceOps boot;
    boot.out(kPicMaster, 0, 0x11).out(kPicMaster, 1, 0x20).out(kPicMaster, 1, 4).out(kPicMaster, 1, 1);
    boot.out(kPicSlave, 0, 0x11).out(kPicSlave, 1, 0x28).out(kPicSlave, 1, 2).out(kPicSlave, 1, 1);
    boot.out(kPicMaster, 1, 0).out(kPit, 3, 0x34).out(kPit, 0, 0x9c).out(kPit, 0, 0x2e);
    boot.advance(2'000'000).acknowledge().out(kPicMaster, 0, 0x20);
    boot.out(kUart, 3, 0x80).out(kUart, 0, 1).out(kUart, 3, 3).out(kUart, 1, 0x0f).out(kUart, 0, 'A');
    boot.in(kUart, 5).in(kUart, 2).out(kRtc, 0, 0x0b).out(kRtc, 1, 0x42).out(kRtc, 0, 0x0c).in(kRtc, 1);
    boot.advance(5'000'000).acknowledge().out(kI8042Cmd, 0, 0x20).in(7, 0);
    write(out / "devices_fuzz", "boot", boot.bytes());
}

// snapshot_fuzz's inputs: the sections of devices a guest has brought up
// (the PIC programmed as Linux does, the PIT at 100 Hz in mode 2, bytes in
// the UART's FIFO, the RTC's periodic interrupt on, a byte queued in the
// i8042), as a state file and as the bare payloads after another first
// byte, each ended as ConsumeRandomLengthString reads it.
void snapshot_seeds(const fs::path& out)
{
    namespace dev = vmruntime::dev;
    dev::testing::FakeClock clock;
    dev::testing::FakeTimer pit_timer{clock};
    dev::testing::FakeTimer rtc_timer{clock};
    dev::testing::CaptureSink console;
    dev::Pic8259Pair pic;
    dev::Pit8254 pit{clock, pit_timer, pic.line(0)};
    dev::Port61 port61{pit};
    dev::Uart16550 uart{pic.line(4), console};
    dev::CmosRtc rtc{clock, rtc_timer, pic.line(8)};
    dev::I8042 i8042{pic.line(1), pic.line(12), [] {}};
    dev::PciConfig pci;
    dev::PostCodePort post;

    auto out8 = [](dev::PioDevice& device, std::initializer_list<std::pair<uint16_t, uint8_t>> writes) {
        for (auto [offset, value] : writes) {
            device.write(offset, 1, value);
        }
    };
    out8(pic.master(), {{0, 0x11}, {1, 0x30}, {1, 0x04}, {1, 0x01}, {1, 0xe8}});
    out8(pic.slave(), {{0, 0x11}, {1, 0x38}, {1, 0x02}, {1, 0x01}, {1, 0xfe}});
    out8(pit, {{3, 0x34}, {0, 0x9c}, {0, 0x2e}});
    out8(port61, {{0, 0x01}});
    out8(uart, {{3, 0x80}, {0, 0x01}, {1, 0x00}, {3, 0x03}, {2, 0x07}, {1, 0x01}, {4, 0x0b}});
    const std::string hello = "hello\n";
    uart.push_input({reinterpret_cast<const uint8_t*>(hello.data()), hello.size()});
    out8(rtc, {{0, 0x0b}, {1, 0x42}});
    out8(i8042.command_port(), {{0, 0x20}});
    pci.write(0, 4, 0x80000800);
    out8(post, {{0, 0x55}});
    clock.advance(std::chrono::milliseconds(15));
    pic.acknowledge();  // IRQ 0 in service, the RTC's IRQ 8 still requested
    clock.advance(std::chrono::milliseconds(1));

    vmruntime::runtime::SnapshotSections sections;
    auto save = [&](const char* name, const auto& device) {
        dev::StateWriter w;
        device.save(w);
        sections.add(name, w.bytes());
    };
    save("pic", pic);
    save("pit", pit);
    save("port61", port61);
    save("uart", uart);
    save("rtc", rtc);
    save("i8042", i8042);
    save("pci", pci);
    save("post", post);
    write(out / "snapshot_fuzz", "booted-state-file", sections.encode());

    Bytes payloads = {0};
    for (const auto& [name, bytes] : sections.all()) {
        for (uint8_t b : bytes) {
            payloads.push_back(b);
            if (b == '\\') {
                payloads.push_back(b);  // an escaped backslash
            }
        }
        payloads.insert(payloads.end(), {'\\', 0});  // the payload's end
    }
    write(out / "snapshot_fuzz", "booted-payloads", payloads);
}

void server_seeds(const fs::path& out, const Bytes& hello)
{
    Bytes ram(16 << 20);
    auto loaded = vmruntime::loader::load_elf64(hello, ram, {"hz=100", {}, 0});
    if (!loaded.ok()) {
        std::fprintf(stderr, "make_seeds: %s\n", loaded.error().c_str());
        std::exit(1);
    }
    nvmm_x64_state state{};
    vmruntime::loader::to_nvmm_state(loaded.value(), state);
    vmruntime::v1::Registers regs;
    vmruntime::server::to_proto(state, NVMM_X64_STATE_ALL, &regs);
    std::string wire = regs.SerializeAsString();
    write(out / "set_registers_fuzz", "boot-state", Bytes(wire.begin(), wire.end()));

    vmruntime::v1::MachineSpec spec;
    spec.set_name("hello");
    spec.set_memory_mib(16);
    spec.set_image_path("/images/hello.elf");
    spec.set_cmdline("hz=100");
    spec.add_cpus(1);
    spec.set_initrd_path("/images/initrd");
    spec.set_on_reboot(vmruntime::v1::ON_REBOOT_RESTART);
    wire = spec.SerializeAsString();
    write(out / "create_spec_fuzz", "hello", Bytes(wire.begin(), wire.end()));
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: make_seeds HELLO_ELF DIR\n");
        return 2;
    }
    std::ifstream in(argv[1], std::ios::binary);
    Bytes hello((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const fs::path out = argv[2];
    loader_seeds(out, hello);
    decode_seeds(out);
    page_walk_seeds(out);
    device_seeds(out);
    snapshot_seeds(out);
    server_seeds(out, hello);
    return 0;
}
