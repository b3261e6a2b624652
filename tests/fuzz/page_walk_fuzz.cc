// SPDX-License-Identifier: BSD-2-Clause
// The guest page-table walk of nvmm_gva_to_gpa and the assists: paging
// registers, the address and the tables themselves come from the input,
// whose tail is guest RAM from GPA 0.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstring>
#include <vector>

#include "vmruntime/nvmm/x86_walk.h"

namespace {

class InputRam final : public vmruntime::nvmm::GuestMemory {
public:
    explicit InputRam(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
    bool read(uint64_t gpa, void* out, size_t len) const override
    {
        if (gpa > bytes_.size() || len > bytes_.size() - gpa) {
            return false;
        }
        std::memcpy(out, bytes_.data() + gpa, len);
        return true;
    }

private:
    std::vector<uint8_t> bytes_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    FuzzedDataProvider in(data, size);
    vmruntime::nvmm::PagingRegs regs;
    regs.cr0 = in.ConsumeIntegral<uint64_t>();
    regs.cr3 = in.ConsumeIntegral<uint64_t>() % (1 << 20);
    regs.cr4 = in.ConsumeIntegral<uint64_t>();
    regs.efer = in.ConsumeIntegral<uint64_t>();
    regs.cpl = in.ConsumeIntegral<uint8_t>() % 4;
    uint64_t gva = in.ConsumeIntegral<uint64_t>();
    InputRam ram(in.ConsumeRemainingBytes<uint8_t>());
    uint64_t gpa = 0;
    uint64_t prot = 0;
    vmruntime::nvmm::walk_page_tables(regs, ram, gva, &gpa, &prot);
    return 0;
}
