// SPDX-License-Identifier: BSD-2-Clause
//
// bzImage loader.  Offsets are those of struct boot_params and struct
// setup_header in Linux's arch/x86/include/uapi/asm/bootparam.h; fields are
// read and written at their offsets, so no structure layout is assumed.
#include "vmruntime/loader/bzimage.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "vmruntime/loader/boot_area.h"
#include "vmruntime/loader/guest_ram.h"
#include "vmruntime/loader/linux_boot.h"

namespace vmruntime::loader {
namespace {

// boot_params
constexpr uint64_t kExtRamdiskImage = 0x0C0;
constexpr uint64_t kExtRamdiskSize = 0x0C4;
constexpr uint64_t kExtCmdLinePtr = 0x0C8;
constexpr uint64_t kE820Entries = 0x1E8;
constexpr uint64_t kE820Table = 0x2D0;
constexpr uint64_t kE820MaxEntries = 128;
constexpr uint64_t kE820EntrySize = 20;
// setup_header, from 0x1F1 up to the end its jump at 0x200 gives
constexpr uint64_t kHeaderBegin = 0x1F1;
constexpr uint64_t kHeaderLimit = 0x290;  // where boot_params' next field starts
constexpr uint64_t kSetupSects = 0x1F1;
constexpr uint64_t kVidMode = 0x1FA;
constexpr uint64_t kBootFlag = 0x1FE;
constexpr uint64_t kJumpLength = 0x201;
constexpr uint64_t kHeader = 0x202;
constexpr uint64_t kVersion = 0x206;
constexpr uint64_t kTypeOfLoader = 0x210;
constexpr uint64_t kLoadflags = 0x211;
constexpr uint64_t kCode32Start = 0x214;
constexpr uint64_t kRamdiskImage = 0x218;
constexpr uint64_t kRamdiskSize = 0x21C;
constexpr uint64_t kHeapEndPtr = 0x224;
constexpr uint64_t kCmdLinePtr = 0x228;
constexpr uint64_t kInitrdAddrMax = 0x22C;
constexpr uint64_t kXloadflags = 0x236;
constexpr uint64_t kCmdlineSize = 0x238;
constexpr uint64_t kPrefAddress = 0x258;
constexpr uint64_t kInitSize = 0x260;
constexpr uint64_t kMinHeaderEnd = kInitSize + 4;

constexpr uint16_t kBootFlagValue = 0xAA55;
constexpr uint8_t LOADED_HIGH = 0x01;
constexpr uint8_t KEEP_SEGMENTS = 0x40;
constexpr uint8_t CAN_USE_HEAP = 0x80;
constexpr uint16_t XLF_KERNEL_64 = 0x01;
constexpr uint8_t kUndefinedLoader = 0xFF;  // no assigned boot loader ID
constexpr uint16_t kNormalVideoMode = 0xFFFF;
constexpr uint16_t kHeapEnd = 0xFE00;  // the conventional end of the setup heap
constexpr uint64_t kSectorSize = 512;
constexpr uint64_t kStartup64Offset = 0x200;

Error bz_error(const std::string& what)
{
    return Error{"bzImage: " + what};
}

template <typename T>
T load(std::span<const uint8_t> bytes, uint64_t offset)
{
    T value;
    std::memcpy(&value, bytes.data() + offset, sizeof value);
    return value;
}

// What the loader needs from the setup header.
struct Kernel {
    uint64_t setup_size;  // bytes before the protected-mode kernel
    uint64_t header_end;  // of the setup header in the file
    uint64_t address;     // where the protected-mode kernel goes
    uint64_t memory;      // bytes it needs there (init_size, at least its size)
    uint64_t initrd_last_byte;
    uint64_t cmdline_max;
};

Status check_signatures(std::span<const uint8_t> file)
{
    if (file.size() < kMinHeaderEnd) {
        return bz_error("file is " + std::to_string(file.size()) +
                        " bytes, too short for a setup header of protocol 2.12");
    }
    if (load<uint16_t>(file, kBootFlag) != kBootFlagValue) {
        return bz_error("boot flag at 0x1fe is " + hex(load<uint16_t>(file, kBootFlag)) +
                        ", not 0xaa55");
    }
    if (load<uint32_t>(file, kHeader) != kSetupHeaderMagic) {
        return bz_error("no \"HdrS\" setup header signature at 0x202");
    }
    const uint16_t version = load<uint16_t>(file, kVersion);
    if (version < kMinBootProtocol) {
        return bz_error("boot protocol " + std::to_string(version >> 8) + "." +
                        std::to_string(version & 0xFF) +
                        " is older than 2.12, which the 64-bit entry needs");
    }
    if (!(file[kLoadflags] & LOADED_HIGH)) {
        return bz_error("not a bzImage (LOADED_HIGH clear): a zImage cannot be loaded");
    }
    if (!(load<uint16_t>(file, kXloadflags) & XLF_KERNEL_64)) {
        return bz_error("the kernel has no 64-bit entry point (XLF_KERNEL_64 clear)");
    }
    return {};
}

Result<Kernel> read_header(std::span<const uint8_t> file, uint64_t ram_size)
{
    if (Status s = check_signatures(file); !s.ok()) return Error{s.error()};
    Kernel k{};
    const uint8_t sects = file[kSetupSects];
    k.setup_size = (uint64_t{sects ? sects : 4u} + 1) * kSectorSize;
    if (file.size() <= k.setup_size) {
        return bz_error("file is " + std::to_string(file.size()) + " bytes, but its " +
                        std::to_string(k.setup_size) + " bytes of setup leave no kernel");
    }
    k.header_end = std::min({kHeader + file[kJumpLength], kHeaderLimit, uint64_t{file.size()}});
    k.header_end = std::max(k.header_end, kMinHeaderEnd);
    k.address = load<uint64_t>(file, kPrefAddress);
    k.memory = std::max<uint64_t>(load<uint32_t>(file, kInitSize), file.size() - k.setup_size);
    k.initrd_last_byte = load<uint32_t>(file, kInitrdAddrMax);
    k.cmdline_max = load<uint32_t>(file, kCmdlineSize);
    if (Status s = check_image_extent({k.address, k.memory}, ram_size, Mode::Long64); !s.ok()) {
        return bz_error("kernel at its preferred address " + hex(k.address) + " needs " +
                        std::to_string(k.memory) + " bytes (init_size): " + s.error());
    }
    return k;
}

void write_e820(std::span<uint8_t> zero_page, uint64_t ram_size)
{
    const std::vector<MemoryRegion> map = memory_map(ram_size);
    const size_t n = std::min<size_t>(map.size(), kE820MaxEntries);
    for (size_t i = 0; i < n; i++) {
        const uint64_t at = kE820Table + i * kE820EntrySize;
        store(zero_page, at, map[i].begin);
        store(zero_page, at + 8, map[i].size);
        store(zero_page, at + 16, map[i].type);
    }
    zero_page[kE820Entries] = static_cast<uint8_t>(n);
}

void write_zero_page(std::span<const uint8_t> file, std::span<uint8_t> ram, const Kernel& k,
                     uint64_t initrd_gpa, uint64_t initrd_size)
{
    std::span<uint8_t> zp = ram.subspan(kBootInfoGpa, kBootInfoSize);
    std::fill(zp.begin(), zp.end(), 0);
    std::memcpy(zp.data() + kHeaderBegin, file.data() + kHeaderBegin, k.header_end - kHeaderBegin);
    store<uint16_t>(zp, kVidMode, kNormalVideoMode);
    zp[kTypeOfLoader] = kUndefinedLoader;
    zp[kLoadflags] = static_cast<uint8_t>((zp[kLoadflags] | CAN_USE_HEAP) & ~KEEP_SEGMENTS);
    store<uint16_t>(zp, kHeapEndPtr, kHeapEnd);
    store<uint32_t>(zp, kCode32Start, static_cast<uint32_t>(k.address));
    store<uint32_t>(zp, kCmdLinePtr, static_cast<uint32_t>(kCmdlineGpa));
    store<uint32_t>(zp, kExtCmdLinePtr, 0);
    store<uint32_t>(zp, kRamdiskImage, static_cast<uint32_t>(initrd_gpa));
    store<uint32_t>(zp, kExtRamdiskImage, static_cast<uint32_t>(initrd_gpa >> 32));
    store<uint32_t>(zp, kRamdiskSize, static_cast<uint32_t>(initrd_size));
    store<uint32_t>(zp, kExtRamdiskSize, static_cast<uint32_t>(initrd_size >> 32));
    write_e820(zp, ram.size());
}

}  // namespace

bool has_setup_header(std::span<const uint8_t> file)
{
    return file.size() >= kHeader + 4 && load<uint32_t>(file, kHeader) == kSetupHeaderMagic;
}

Result<BootState> load_bzimage(std::span<const uint8_t> file, std::span<uint8_t> ram,
                               const BootOptions& options)
{
    Result<Kernel> header = read_header(file, ram.size());
    if (!header.ok()) return Error{header.error()};
    const Kernel& k = header.value();
    if (Status s = check_boot_area(ram.size(), options.cmdline); !s.ok()) return bz_error(s.error());
    if (Status s = check_linux_cmdline(options.cmdline, k.cmdline_max); !s.ok()) {
        return bz_error(s.error());
    }
    uint64_t initrd_gpa = 0;
    if (!options.initrd.empty()) {
        Result<uint64_t> at = place_initrd(options.initrd.size(), ram.size(), k.initrd_last_byte,
                                           k.address + k.memory);
        if (!at.ok()) return bz_error(at.error());
        initrd_gpa = at.value();
    }
    const Extent kernel{k.address, k.memory};
    const Result<uint64_t> stack_top =
        place_stack(options.stack_top, {&kernel, 1}, ram.size(), Mode::Long64);
    if (!stack_top.ok()) return bz_error(stack_top.error());

    std::memcpy(ram.data() + k.address, file.data() + k.setup_size, file.size() - k.setup_size);
    if (!options.initrd.empty()) {
        std::memcpy(ram.data() + initrd_gpa, options.initrd.data(), options.initrd.size());
    }
    write_zero_page(file, ram, k, initrd_gpa, options.initrd.size());
    BootState s = write_boot_area(ram, Mode::Long64, k.address + kStartup64Offset,
                                  stack_top.value(), options.cmdline);
    s.rsi = kBootInfoGpa;
    return s;
}

}  // namespace vmruntime::loader
