// SPDX-License-Identifier: BSD-2-Clause
//
// Flat binary loader.  Errors start with "flat image: ".
#include "vmruntime/loader/flat.h"

#include <cstring>
#include <string>

#include "vmruntime/loader/boot_area.h"
#include "vmruntime/loader/guest_ram.h"

namespace vmruntime::loader {
namespace {

Error flat_error(const std::string& what)
{
    return Error{"flat image: " + what};
}

Status check_flat(std::span<const uint8_t> image, uint64_t ram_size, Mode mode, uint64_t load_gpa,
                  const BootOptions& options)
{
    if (image.empty()) return flat_error("empty");
    if (mode == Mode::Real16 && load_gpa % 16 != 0) {
        return flat_error("real-mode load address " + hex(load_gpa) + " is not 16-byte aligned");
    }
    if (Status s = check_image_extent({load_gpa, image.size()}, ram_size, mode); !s.ok()) {
        return flat_error(s.error());
    }
    if (Status s = check_boot_area(ram_size, options.cmdline); !s.ok()) {
        return flat_error(s.error());
    }
    return {};
}

}  // namespace

Result<BootState> load_flat(std::span<const uint8_t> image, std::span<uint8_t> ram, Mode mode,
                            uint64_t load_gpa, const BootOptions& options)
{
    if (Status s = check_flat(image, ram.size(), mode, load_gpa, options); !s.ok()) {
        return Error{s.error()};
    }
    const Extent extent{load_gpa, image.size()};
    const Result<uint64_t> stack_top =
        place_stack(options.stack_top, {&extent, 1}, ram.size(), mode);
    if (!stack_top.ok()) return flat_error(stack_top.error());

    std::memcpy(ram.data() + load_gpa, image.data(), image.size());
    return write_boot_area(ram, mode, load_gpa, stack_top.value(), options.cmdline);
}

}  // namespace vmruntime::loader
