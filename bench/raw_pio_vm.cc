// SPDX-License-Identifier: BSD-2-Clause
#include "raw_pio_vm.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "runtime_bench.h"
#include "vmruntime/loader/flat.h"
#include "vmruntime/loader/nvmm_state.h"

namespace vmruntime::runtime_bench {
namespace {

thread_local RawPioVm* t_vm = nullptr;

}  // namespace

RawPioVm::RawPioVm(std::span<const uint8_t> image, const std::string& cmdline)
{
    void* ram = mmap(nullptr, kGuestMemory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ram == MAP_FAILED) {
        die_errno("guest RAM");
    }
    ram_ = static_cast<uint8_t*>(ram);
    auto hva = reinterpret_cast<uintptr_t>(ram_);
    if (nvmm_machine_create(&mach_) == -1 || nvmm_hva_map(&mach_, hva, kGuestMemory) == -1 ||
        nvmm_gpa_map(&mach_, hva, 0, kGuestMemory, PROT_READ | PROT_WRITE | PROT_EXEC) == -1 ||
        nvmm_vcpu_create(&mach_, 0, &vcpu_) == -1) {
        die_errno("raw nvmm machine");
    }
    struct nvmm_assist_callbacks cbs = {on_io, on_mem};
    if (nvmm_vcpu_configure(&mach_, &vcpu_, NVMM_VCPU_CONF_CALLBACKS, &cbs) == -1) {
        die_errno("nvmm_vcpu_configure");
    }
    loader::BootOptions options;
    options.cmdline = cmdline;
    auto boot = loader::load_flat(image, {ram_, kGuestMemory}, loader::Mode::Long64, kLoadAddress, options);
    if (!boot.ok()) {
        die(boot.error().c_str());
    }
    if (nvmm_vcpu_getstate(&mach_, &vcpu_, NVMM_X64_STATE_ALL) == -1) {
        die_errno("nvmm_vcpu_getstate");
    }
    loader::to_nvmm_state(boot.value(), *vcpu_.state);
    if (nvmm_vcpu_setstate(&mach_, &vcpu_, loader::kBootStateAreas) == -1) {
        die_errno("nvmm_vcpu_setstate");
    }
}

RawPioVm::~RawPioVm()
{
    nvmm_vcpu_destroy(&mach_, &vcpu_);
    nvmm_machine_destroy(&mach_);
    munmap(ram_, kGuestMemory);
}

uint64_t RawPioVm::run()
{
    t_vm = this;
    uint64_t exits = 0;
    while (!powered_off_) {
        if (nvmm_vcpu_run(&mach_, &vcpu_) == -1) {
            die_errno("nvmm_vcpu_run");
        }
        if (vcpu_.exit->reason != NVMM_VCPU_EXIT_IO) {
            std::fprintf(stderr, "runtime-bench: raw machine: unexpected exit %#llx\n",
                         static_cast<unsigned long long>(vcpu_.exit->reason));
            std::exit(1);
        }
        exits++;
        if (nvmm_assist_io(&mach_, &vcpu_) == -1) {
            die_errno("nvmm_assist_io");
        }
    }
    t_vm = nullptr;
    return exits;
}

void RawPioVm::on_io(struct nvmm_io* io)
{
    if (io->in) {
        uint32_t value = io->port == dev::kPostCodePort ? t_vm->post_.read(0, io->size) : 0xFFFFFFFF;
        std::memcpy(io->data, &value, io->size);
    } else if (io->port == dev::kDefaultDebugExitPort) {
        t_vm->powered_off_ = true;
    }
}

void RawPioVm::on_mem(struct nvmm_mem* mem)
{
    if (!mem->write) {
        std::memset(mem->data, 0xFF, mem->size);
    }
}

}  // namespace vmruntime::runtime_bench
