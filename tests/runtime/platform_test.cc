// SPDX-License-Identifier: BSD-2-Clause
//
// The PC platform as an operating system meets it, on real guests: no local
// APIC in CPUID, a halt nothing can end is a power-off, the keyboard
// controller's reset line ends the machine as a guest reset, an instruction
// the host cannot run crashes the machine with RIP and code bytes in the
// reason, and a second vCPU waits for a startup IPI instead of running from
// its reset vector.
#include <gtest/gtest.h>

#include <nvmm.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "guest_images.h"
#include "runtime_test.h"

GUEST_IMAGE(halt_cli);
GUEST_IMAGE(keyboard_reset);
GUEST_IMAGE(unemulatable);
GUEST_IMAGE(cpuid_apic);
GUEST_IMAGE(msr_probe);
GUEST_IMAGE(virtio_probe);
extern "C" const uint8_t unemulatable_insn[];

namespace vmruntime::runtime_test {
namespace {

using runtime::MachineState;
using runtime::MachineStatus;

using PlatformTest = RuntimeTest;

MachineStatus run_to_end(std::unique_ptr<runtime::Machine>& m)
{
    EXPECT_TRUE(m->wait(20s)) << describe(m->status());
    return m->status();
}

TEST_F(PlatformTest, CpuidShowsNoLocalApic)
{
    auto m = boot(flat_spec("cpuid", GUEST_BYTES(cpuid_apic)));
    ASSERT_TRUE(m);
    MachineStatus end = run_to_end(m);
    EXPECT_EQ(end.state, MachineState::Stopped) << describe(end);
    EXPECT_EQ(end.exit_status, 0u) << "bit 0 APIC, bit 1 x2APIC, bit 2 TSC deadline";
}

// A disk's virtio-mmio window answers through the vCPU's channel to the
// device strand, reads after posted writes included; past the last window
// the bus floats.
TEST_F(PlatformTest, VirtioWindowsAnswerMmioAndTheRestFloats)
{
    constexpr uint64_t kDiskBytes = 1 << 20;
    auto disk = std::make_shared<const base::UniqueFd>(memfd_create("platform-disk", MFD_CLOEXEC));
    ASSERT_TRUE(*disk);
    ASSERT_EQ(ftruncate(disk->get(), kDiskBytes), 0);
    runtime::MachineSpec spec = flat_spec("virtio", GUEST_BYTES(virtio_probe));
    spec.disks.push_back({disk, false, {}});
    auto m = boot(spec);
    ASSERT_TRUE(m);
    MachineStatus end = run_to_end(m);
    EXPECT_EQ(end.state, MachineState::Stopped) << describe(end);
    EXPECT_EQ(end.exit_status, 0x1Fu | (kDiskBytes / 512) << 8)
        << "bits: magic, version, block, status read back, no second window; capacity above";
    EXPECT_GE(m->exit_counters().mmio, 6u);
}

TEST_F(PlatformTest, DisksThatCannotBeAreRefused)
{
    auto empty = std::make_shared<const base::UniqueFd>(memfd_create("empty", MFD_CLOEXEC));
    runtime::MachineSpec spec = flat_spec("disks", GUEST_BYTES(virtio_probe));
    std::string error;
    spec.disks = {{empty, false, {}}};
    EXPECT_FALSE(runtime::Machine::create(spec, layer_, &error));
    EXPECT_EQ(error, "disk 0 is smaller than one 512-byte sector");
    spec.disks = {{nullptr, false, {}}};
    EXPECT_FALSE(runtime::Machine::create(spec, layer_, &error));
    EXPECT_EQ(error, "disk 0 has no file");
    ASSERT_EQ(ftruncate(empty->get(), 4096), 0);
    spec.disks = {{empty, false, "an id longer than twenty bytes"}};
    EXPECT_FALSE(runtime::Machine::create(spec, layer_, &error));
    EXPECT_EQ(error, "disk 0: an id has at most 20 bytes");
    spec.disks.assign(8, {empty, false, {}});
    EXPECT_FALSE(runtime::Machine::create(spec, layer_, &error));
    EXPECT_EQ(error, "a machine has at most 7 virtio devices");
}

// No MSR beyond NVMM's in-kernel set exists here, APIC_BASE included: every
// read is a #GP the guest handles, and the log names the MSR once.
TEST_F(PlatformTest, MsrsThePlatformLacksAreGpAndLoggedOnce)
{
    CapturedLog log;
    auto m = boot(flat_spec("msr", GUEST_BYTES(msr_probe)));
    ASSERT_TRUE(m);
    MachineStatus end = run_to_end(m);
    EXPECT_EQ(end.state, MachineState::Stopped) << describe(end);
    EXPECT_EQ(end.exit_status, 100u) << "#GPs the guest took";
    EXPECT_EQ(log.count("machine 'msr': vcpu 0: rdmsr 0x1b: no such MSR, #GP"), 1u);
}

TEST_F(PlatformTest, HaltWithInterruptsDisabledIsAPowerOff)
{
    auto m = boot(flat_spec("halt", GUEST_BYTES(halt_cli)));
    ASSERT_TRUE(m);
    MachineStatus end = run_to_end(m);
    EXPECT_EQ(end.state, MachineState::Stopped) << describe(end);
    EXPECT_EQ(end.reason, "guest powered off (halted with interrupts disabled)");
    EXPECT_FALSE(end.guest_reset);
}

TEST_F(PlatformTest, KeyboardControllerResetIsAGuestReset)
{
    auto m = boot(flat_spec("reset", GUEST_BYTES(keyboard_reset)));
    ASSERT_TRUE(m);
    MachineStatus end = run_to_end(m);
    EXPECT_EQ(end.state, MachineState::Stopped) << describe(end);
    EXPECT_TRUE(end.guest_reset);
    EXPECT_EQ(end.reason, "guest reset (keyboard controller)");
}

TEST_F(PlatformTest, UnemulatableInstructionCrashesWithRipAndCode)
{
    auto m = boot(flat_spec("unemulatable", GUEST_BYTES(unemulatable)));
    ASSERT_TRUE(m);
    MachineStatus end = run_to_end(m);
    ASSERT_EQ(end.state, MachineState::Crashed) << describe(end);
    char rip[64];
    std::snprintf(rip, sizeof rip, "at rip 0x%llx (cs 0x10), code 66 0f fc 00",
                  static_cast<unsigned long long>(kFlatLoadAddress +
                                                  (unemulatable_insn - unemulatable_begin)));
    EXPECT_NE(end.reason.find(rip), std::string::npos) << end.reason << "\nwanted: " << rip;
}

// vCPU 1's registers stay those of an x86 reset: CS F000, RIP FFF0.
void expect_waiting_for_sipi(runtime::Machine& m)
{
    nvmm_x64_state state;
    std::string error;
    ASSERT_EQ(m.get_state(1, NVMM_X64_STATE_GPRS | NVMM_X64_STATE_SEGS, &state, &error), runtime::Outcome::Done) << error;
    EXPECT_EQ(state.gprs[NVMM_X64_GPR_RIP], 0xFFF0u);
    EXPECT_EQ(state.segs[NVMM_X64_SEG_CS].selector, 0xF000u);
}

TEST_F(PlatformTest, SecondVcpuWaitsForStartupWhileTheFirstRunsHello)
{
    runtime::MachineSpec spec = hello_spec("two", "ticks=200 hz=100 exit=5");
    spec.vcpus = 2;
    auto m = boot(spec);
    ASSERT_TRUE(m);
    ASSERT_TRUE(wait_for_text(m->console(), "tick 100", 20s)) << console_text(m->console());
    expect_waiting_for_sipi(*m);
    ASSERT_EQ(m->pause(), runtime::Outcome::Done);
    expect_waiting_for_sipi(*m);
    ASSERT_TRUE(m->resume());
    MachineStatus end = run_to_end(m);
    EXPECT_EQ(end.state, MachineState::Stopped) << describe(end);
    EXPECT_EQ(end.exit_status, 5u);
    EXPECT_NE(console_text(m->console()).find("done 200 ticks"), std::string::npos);
}

}  // namespace
}  // namespace vmruntime::runtime_test
