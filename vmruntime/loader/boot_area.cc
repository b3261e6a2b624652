// SPDX-License-Identifier: BSD-2-Clause
//
// Format-independent checks and the reserved-area writer.  Real mode uses
// the tiny model: CS = DS = ES = FS = GS = entry / 16 and IP = 0, so an
// image addresses its own code and data by file offset.  SS:SP is split from
// the stack top so that a stack top at a 64 KiB boundary wraps SP to 0 and
// the first push lands just below it.
#include "vmruntime/loader/boot_area.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "vmruntime/loader/gdt.h"
#include "vmruntime/loader/page_tables.h"

namespace vmruntime::loader {
namespace {

constexpr uint64_t kStackAlign = 16;

uint64_t address_limit(Mode mode)
{
    return mode == Mode::Real16 ? kRealModeLimit : kIdentityMapSize;
}

std::string describe(Extent e)
{
    return "[" + hex(e.begin) + ", +" + hex(e.size) + ")";
}

Status check_stack_room(uint64_t top, std::span<const Extent> image, uint64_t ram_size,
                        Mode mode)
{
    if (top % kStackAlign != 0) return Error{"stack top " + hex(top) + " is not 16-byte aligned"};
    if (top < kReservedEnd + kMinStackSize) {
        return Error{"stack top " + hex(top) + " leaves less than " + hex(kMinStackSize) +
                     " bytes above the boot area (ends at " + hex(kReservedEnd) + ")"};
    }
    if (top > std::min(ram_size, address_limit(mode))) {
        return Error{"stack top " + hex(top) + " is past the end of RAM or out of reach"};
    }
    const Extent stack{top - kMinStackSize, kMinStackSize};
    for (const Extent& e : image) {
        if (overlaps(stack, e)) {
            return Error{"stack " + describe(stack) + " overlaps image bytes " + describe(e)};
        }
    }
    return {};
}

void set_real_mode(BootState& s, uint64_t entry, uint64_t stack_top)
{
    const auto code = static_cast<uint16_t>(entry >> 4);
    const auto stack = static_cast<uint16_t>(((stack_top - 1) >> 4) & 0xF000);
    s.cs = real_mode_segment(code, true);
    s.ds = s.es = s.fs = s.gs = real_mode_segment(code, false);
    s.ss = real_mode_segment(stack, false);
    s.rip = 0;
    s.rsp = (stack_top - s.ss.base) & 0xFFFF;
    s.cr0 = CR0_ET | CR0_NE;
}

void set_flat_mode(BootState& s, Mode mode, uint64_t entry, uint64_t stack_top)
{
    s.cs = flat_code_segment(mode);
    s.ds = s.es = s.fs = s.gs = s.ss = flat_data_segment();
    s.rip = entry;
    s.rsp = stack_top;
    s.cr0 = CR0_PE | CR0_ET | CR0_NE;
    if (mode == Mode::Long64) {
        s.cr0 |= CR0_PG;
        s.cr3 = kPml4Gpa;
        s.cr4 = CR4_PAE;
        s.efer = EFER_LME | EFER_LMA;
    }
}

}  // namespace

Status check_image_extent(Extent e, uint64_t ram_size, Mode mode)
{
    if (!fits(e.begin, e.size, ram_size)) {
        return Error{"bytes " + describe(e) + " run past the end of RAM (" + hex(ram_size) +
                     " bytes)"};
    }
    const Extent reserved{kReservedBegin, kReservedEnd - kReservedBegin};
    if (overlaps(e, reserved)) {
        return Error{"bytes " + describe(e) + " overlap the loader's boot area " +
                     describe(reserved)};
    }
    if (!fits(e.begin, e.size, address_limit(mode))) {
        return Error{"bytes " + describe(e) + " end above " + hex(address_limit(mode)) +
                     ", out of reach at entry"};
    }
    return {};
}

Status check_boot_area(uint64_t ram_size, std::string_view cmdline)
{
    if (ram_size < kReservedEnd) {
        return Error{"RAM (" + hex(ram_size) + " bytes) does not hold the loader's boot area (" +
                     hex(kReservedEnd) + " bytes)"};
    }
    if (cmdline.size() >= kCmdlineMax) {
        return Error{"command line is " + std::to_string(cmdline.size()) + " bytes, at most " +
                     std::to_string(kCmdlineMax - 1) + " fit"};
    }
    if (cmdline.find('\0') != std::string_view::npos) {
        return Error{"command line contains a NUL byte"};
    }
    return {};
}

Result<uint64_t> place_stack(uint64_t requested, std::span<const Extent> image,
                             uint64_t ram_size, Mode mode)
{
    uint64_t top = requested;
    if (top == 0) {
        top = UINT64_MAX;
        for (const Extent& e : image) {
            if (e.size != 0) top = std::min(top, e.begin);
        }
        top &= ~(kStackAlign - 1);
    }
    if (Status room = check_stack_room(top, image, ram_size, mode); !room.ok()) {
        return Error{requested == 0 ? "no room for a stack below the image: " + room.error() +
                                          "; give a stack top"
                                    : room.error()};
    }
    return top;
}

BootState write_boot_area(std::span<uint8_t> ram, Mode mode, uint64_t entry,
                          uint64_t stack_top, std::string_view cmdline)
{
    write_gdt(ram, mode);
    write_identity_page_tables(ram);
    if (!cmdline.empty()) std::memcpy(ram.data() + kCmdlineGpa, cmdline.data(), cmdline.size());
    ram[kCmdlineGpa + cmdline.size()] = 0;

    BootState s;
    s.mode = mode;
    s.rsi = kCmdlineGpa;
    s.gdt_base = kGdtGpa;
    s.gdt_limit = kGdtLimit;
    s.tr = boot_task_register();
    if (mode == Mode::Real16) {
        set_real_mode(s, entry, stack_top);
    } else {
        set_flat_mode(s, mode, entry, stack_top);
    }
    return s;
}

}  // namespace vmruntime::loader
