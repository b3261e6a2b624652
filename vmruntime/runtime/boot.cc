// SPDX-License-Identifier: BSD-2-Clause
//
// Loading a machine's image and putting its boot vCPU where the loader says.
#include <nvmm.h>

#include <cerrno>
#include <cstring>
#include <span>

#include "vmruntime/loader/bzimage.h"
#include "vmruntime/loader/detect.h"
#include "vmruntime/loader/elf.h"
#include "vmruntime/loader/flat.h"
#include "vmruntime/loader/nvmm_state.h"
#include "vmruntime/loader/pvh.h"
#include "vmruntime/runtime/machine.h"
#include "vmruntime/runtime/vcpu_runner.h"
#include "vmruntime/runtime/virtio_devices.h"

namespace vmruntime::runtime {
namespace {

// `devices`: what a Linux kernel's command line gains for the machine's
// virtio devices (other guests know where they are).
loader::Result<loader::BootState> load_image(const MachineSpec& spec, ImageFormat format,
                                             std::span<uint8_t> ram, const std::string& devices)
{
    loader::BootOptions options;
    const bool linux_kernel = format == ImageFormat::Bzimage || format == ImageFormat::Pvh;
    const std::string cmdline = linux_kernel ? spec.cmdline + devices : spec.cmdline;
    options.cmdline = cmdline;
    options.initrd = spec.initrd;
    options.ram_is_zero = true;  // mapped for this machine, never written
    if (!spec.initrd.empty() && !linux_kernel) {
        return loader::Error{"an initrd needs a Linux kernel (bzImage or PVH) as the image"};
    }
    switch (format) {
    case ImageFormat::Auto:
        break;
    case ImageFormat::Elf64:
        return loader::load_elf64(spec.image, ram, options);
    case ImageFormat::Bzimage:
        return loader::load_bzimage(spec.image, ram, options);
    case ImageFormat::Pvh:
        return loader::load_pvh(spec.image, ram, options);
    case ImageFormat::FlatReal:
        return loader::load_flat(spec.image, ram, loader::Mode::Real16, spec.load_address, options);
    case ImageFormat::FlatProtected:
        return loader::load_flat(spec.image, ram, loader::Mode::Protected32, spec.load_address, options);
    case ImageFormat::FlatLong:
        return loader::load_flat(spec.image, ram, loader::Mode::Long64, spec.load_address, options);
    }
    return loader::Error{"unknown image format"};
}

}  // namespace

std::optional<ImageFormat> resolve_format(const MachineSpec& spec, std::string* error)
{
    if (spec.format != ImageFormat::Auto) return spec.format;
    switch (loader::detect_image(spec.image)) {
    case loader::ImageKind::Bzimage: return ImageFormat::Bzimage;
    case loader::ImageKind::Pvh: return ImageFormat::Pvh;
    case loader::ImageKind::Elf64: return ImageFormat::Elf64;
    case loader::ImageKind::Unknown: break;
    }
    *error = "image rejected: neither an ELF file nor a Linux bzImage; a flat binary must be named as one";
    return std::nullopt;
}

bool Machine::load(std::string* error)
{
    auto format = resolve_format(spec_, error);
    if (!format) {
        return false;
    }
    format_ = *format;
    auto boot = load_image(spec_, format_, std::span<uint8_t>(ram_, spec_.memory_bytes), virtio_->cmdline());
    if (!boot.ok()) {
        *error = "image rejected: " + boot.error();
        return false;
    }
    // Before the first run the vCPU is ours: no thread serves it yet.
    nvmm_vcpu* vcpu = vcpus_[0]->vcpu();
    if (nvmm_vcpu_getstate(&mach_, vcpu, NVMM_X64_STATE_ALL) == -1) {
        *error = std::string("nvmm_vcpu_getstate: ") + std::strerror(errno);
        return false;
    }
    loader::to_nvmm_state(boot.value(), *vcpu->state);
    nvmm_vcpu_setstate(&mach_, vcpu, loader::kBootStateAreas);
    return true;
}

}  // namespace vmruntime::runtime
