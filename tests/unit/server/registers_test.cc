// SPDX-License-Identifier: BSD-2-Clause
//
// vmruntimed's register conversion (server/registers.h): state classes to
// NVMM_X64_STATE_* flags, struct nvmm_x64_state to the Registers message by
// nvmm's register indices, and back, with malformed input refused before
// anything is written.  No /dev/kvm.
#include "server/registers.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace vmruntime::server {
namespace {

using google::protobuf::RepeatedField;

RepeatedField<int> classes(std::initializer_list<int> list)
{
    RepeatedField<int> out;
    for (int c : list) {
        out.Add(c);
    }
    return out;
}

// Every register holds a value of its own; reserved bits stay clear since
// the API does not carry them.
nvmm_x64_state patterned_state()
{
    nvmm_x64_state s;
    std::memset(&s, 0, sizeof s);
    for (int i = 0; i < NVMM_X64_NGPR; i++) {
        s.gprs[i] = 0x1111'0000'0000'0000 + static_cast<uint64_t>(i);
    }
    for (int i = 0; i < NVMM_X64_NCR; i++) {
        s.crs[i] = 0x2222'0000'0000'0000 + static_cast<uint64_t>(i);
    }
    for (int i = 0; i < NVMM_X64_NDR; i++) {
        s.drs[i] = 0x3333'0000'0000'0000 + static_cast<uint64_t>(i);
    }
    for (int i = 0; i < NVMM_X64_NMSR; i++) {
        s.msrs[i] = 0x4444'0000'0000'0000 + static_cast<uint64_t>(i);
    }
    for (int i = 0; i < NVMM_X64_NSEG; i++) {
        auto& seg = s.segs[i];
        seg.selector = static_cast<uint16_t>(0x8 * i + 3);
        seg.base = 0xffff'8000'0000'0000 + 0x1000 * static_cast<uint64_t>(i);
        seg.limit = 0xfffff - static_cast<uint32_t>(i);
        seg.attrib.type = static_cast<uint16_t>(15 - i) & 0xf;
        seg.attrib.s = i & 1;
        seg.attrib.dpl = static_cast<uint16_t>(i % 4);
        seg.attrib.p = (i >> 1) & 1;
        seg.attrib.avl = (i >> 2) & 1;
        seg.attrib.l = (i >> 3) & 1;
        seg.attrib.def = ~i & 1;
        seg.attrib.g = ~(i >> 1) & 1;
    }
    s.intr.int_shadow = 1;
    s.intr.int_window_exiting = 0;
    s.intr.nmi_window_exiting = 1;
    s.intr.evt_pending = 1;
    s.fpu.fx_cw = 0x037f;
    s.fpu.fx_sw = 0x3800;
    s.fpu.fx_tw = 0xa5;
    s.fpu.fx_opcode = 0x7ff;
    s.fpu.fx_ip.fa_64 = 0x5555'0000'1234'5678;
    s.fpu.fx_dp.fa_64 = 0x6666'0000'8765'4321;
    s.fpu.fx_mxcsr = 0x1f80;
    s.fpu.fx_mxcsr_mask = 0xffbf;
    for (int i = 0; i < 8; i++) {
        s.fpu.fx_87_ac[i].r.f87_mantissa = 0x8000'0000'0000'0000 | static_cast<uint64_t>(i);
        s.fpu.fx_87_ac[i].r.f87_exp_sign = static_cast<uint16_t>(0x3fff + i);
    }
    for (int i = 0; i < 16; i++) {
        for (int b = 0; b < 16; b++) {
            s.fpu.fx_xmm[i].xmm_bytes[b] = static_cast<uint8_t>(16 * i + b);
        }
    }
    return s;
}

bool same(const nvmm_x64_state& a, const nvmm_x64_state& b)
{
    return std::memcmp(&a, &b, sizeof a) == 0;
}

// A well-formed FPU message: 8 st of 10 bytes, 16 xmm of 16 bytes.
v1::FpuState valid_fpu()
{
    v1::FpuState fpu;
    for (int i = 0; i < 8; i++) {
        fpu.add_st(std::string(10, static_cast<char>(i)));
    }
    for (int i = 0; i < 16; i++) {
        fpu.add_xmm(std::string(16, static_cast<char>(0x40 + i)));
    }
    return fpu;
}

// --- state_flags ------------------------------------------------------------

TEST(StateFlags, NoClassMeansEveryClass)
{
    auto flags = state_flags(classes({}));
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(*flags, uint64_t{NVMM_X64_STATE_ALL});
}

TEST(StateFlags, EachClassIsItsNvmmFlag)
{
    const std::vector<std::pair<v1::StateClass, uint64_t>> table = {
        {v1::STATE_CLASS_GPRS, NVMM_X64_STATE_GPRS},     {v1::STATE_CLASS_SEGMENTS, NVMM_X64_STATE_SEGS},
        {v1::STATE_CLASS_CONTROL, NVMM_X64_STATE_CRS},   {v1::STATE_CLASS_DEBUG, NVMM_X64_STATE_DRS},
        {v1::STATE_CLASS_MSRS, NVMM_X64_STATE_MSRS},     {v1::STATE_CLASS_INTERRUPT, NVMM_X64_STATE_INTR},
        {v1::STATE_CLASS_FPU, NVMM_X64_STATE_FPU},
    };
    for (const auto& [cls, flag] : table) {
        auto flags = state_flags(classes({cls}));
        ASSERT_TRUE(flags.ok()) << v1::StateClass_Name(cls) << ": " << flags.status();
        EXPECT_EQ(*flags, flag) << v1::StateClass_Name(cls);
    }
}

TEST(StateFlags, ClassesAddUpAndRepeatsDoNotMatter)
{
    auto flags = state_flags(classes({v1::STATE_CLASS_FPU, v1::STATE_CLASS_GPRS, v1::STATE_CLASS_FPU}));
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(*flags, uint64_t{NVMM_X64_STATE_FPU | NVMM_X64_STATE_GPRS});
}

TEST(StateFlags, UnspecifiedOrUnknownClassIsInvalidArgument)
{
    for (int bad : {int{v1::STATE_CLASS_UNSPECIFIED}, 8, -1, 1000}) {
        auto flags = state_flags(classes({v1::STATE_CLASS_GPRS, bad}));
        ASSERT_FALSE(flags.ok()) << bad;
        EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument) << bad;
        EXPECT_NE(flags.status().message().find(std::to_string(bad)), std::string::npos)
            << flags.status().message();
    }
}

// --- to_proto ---------------------------------------------------------------

// The conversion walks the messages by position: each must have exactly
// one uint64 field per nvmm array slot (one Segment per segment register).
TEST(RegistersLayout, MessagesHaveOneFieldPerNvmmSlot)
{
    using google::protobuf::FieldDescriptor;
    const std::vector<std::pair<const google::protobuf::Descriptor*, int>> arrays = {
        {v1::GeneralRegisters::descriptor(), NVMM_X64_NGPR},
        {v1::ControlRegisters::descriptor(), NVMM_X64_NCR},
        {v1::DebugRegisters::descriptor(), NVMM_X64_NDR},
        {v1::ModelSpecificRegisters::descriptor(), NVMM_X64_NMSR},
    };
    for (const auto& [desc, count] : arrays) {
        ASSERT_EQ(desc->field_count(), count) << desc->name();
        for (int i = 0; i < count; i++) {
            EXPECT_EQ(desc->field(i)->type(), FieldDescriptor::TYPE_UINT64) << desc->field(i)->full_name();
        }
    }
    const auto* segs = v1::SegmentRegisters::descriptor();
    ASSERT_EQ(segs->field_count(), NVMM_X64_NSEG);
    for (int i = 0; i < NVMM_X64_NSEG; i++) {
        EXPECT_EQ(segs->field(i)->message_type(), v1::Segment::descriptor()) << segs->field(i)->full_name();
    }
}

TEST(RegistersToProto, OnlyTheClassesAskedForArePresent)
{
    v1::Registers out;
    to_proto(patterned_state(), NVMM_X64_STATE_GPRS | NVMM_X64_STATE_INTR, &out);
    EXPECT_TRUE(out.has_gprs());
    EXPECT_TRUE(out.has_interrupt());
    EXPECT_FALSE(out.has_segments());
    EXPECT_FALSE(out.has_control());
    EXPECT_FALSE(out.has_debug());
    EXPECT_FALSE(out.has_msrs());
    EXPECT_FALSE(out.has_fpu());

    v1::Registers all;
    to_proto(patterned_state(), NVMM_X64_STATE_ALL, &all);
    EXPECT_TRUE(all.has_gprs() && all.has_segments() && all.has_control() && all.has_debug() &&
                all.has_msrs() && all.has_interrupt() && all.has_fpu());
}

TEST(RegistersToProto, RegistersLandInTheFieldsOfTheirNvmmNames)
{
    const nvmm_x64_state s = patterned_state();
    v1::Registers out;
    to_proto(s, NVMM_X64_STATE_ALL, &out);

    EXPECT_EQ(out.gprs().rax(), s.gprs[NVMM_X64_GPR_RAX]);
    EXPECT_EQ(out.gprs().rcx(), s.gprs[NVMM_X64_GPR_RCX]);
    EXPECT_EQ(out.gprs().rsp(), s.gprs[NVMM_X64_GPR_RSP]);
    EXPECT_EQ(out.gprs().rdi(), s.gprs[NVMM_X64_GPR_RDI]);
    EXPECT_EQ(out.gprs().r8(), s.gprs[NVMM_X64_GPR_R8]);
    EXPECT_EQ(out.gprs().r15(), s.gprs[NVMM_X64_GPR_R15]);
    EXPECT_EQ(out.gprs().rip(), s.gprs[NVMM_X64_GPR_RIP]);
    EXPECT_EQ(out.gprs().rflags(), s.gprs[NVMM_X64_GPR_RFLAGS]);

    EXPECT_EQ(out.control().cr0(), s.crs[NVMM_X64_CR_CR0]);
    EXPECT_EQ(out.control().cr2(), s.crs[NVMM_X64_CR_CR2]);
    EXPECT_EQ(out.control().cr3(), s.crs[NVMM_X64_CR_CR3]);
    EXPECT_EQ(out.control().cr4(), s.crs[NVMM_X64_CR_CR4]);
    EXPECT_EQ(out.control().cr8(), s.crs[NVMM_X64_CR_CR8]);
    EXPECT_EQ(out.control().xcr0(), s.crs[NVMM_X64_CR_XCR0]);

    EXPECT_EQ(out.debug().dr0(), s.drs[NVMM_X64_DR_DR0]);
    EXPECT_EQ(out.debug().dr3(), s.drs[NVMM_X64_DR_DR3]);
    EXPECT_EQ(out.debug().dr6(), s.drs[NVMM_X64_DR_DR6]);
    EXPECT_EQ(out.debug().dr7(), s.drs[NVMM_X64_DR_DR7]);

    EXPECT_EQ(out.msrs().efer(), s.msrs[NVMM_X64_MSR_EFER]);
    EXPECT_EQ(out.msrs().lstar(), s.msrs[NVMM_X64_MSR_LSTAR]);
    EXPECT_EQ(out.msrs().kernel_gs_base(), s.msrs[NVMM_X64_MSR_KERNELGSBASE]);
    EXPECT_EQ(out.msrs().sysenter_cs(), s.msrs[NVMM_X64_MSR_SYSENTER_CS]);
    EXPECT_EQ(out.msrs().sysenter_eip(), s.msrs[NVMM_X64_MSR_SYSENTER_EIP]);
    EXPECT_EQ(out.msrs().pat(), s.msrs[NVMM_X64_MSR_PAT]);
    EXPECT_EQ(out.msrs().tsc(), s.msrs[NVMM_X64_MSR_TSC]);
}

void expect_segment(const v1::Segment& got, const nvmm_x64_state_seg& want, const char* which)
{
    SCOPED_TRACE(which);
    EXPECT_EQ(got.selector(), want.selector);
    EXPECT_EQ(got.base(), want.base);
    EXPECT_EQ(got.limit(), want.limit);
    EXPECT_EQ(got.type(), want.attrib.type);
    EXPECT_EQ(got.s(), want.attrib.s != 0);
    EXPECT_EQ(got.dpl(), want.attrib.dpl);
    EXPECT_EQ(got.p(), want.attrib.p != 0);
    EXPECT_EQ(got.avl(), want.attrib.avl != 0);
    EXPECT_EQ(got.l(), want.attrib.l != 0);
    EXPECT_EQ(got.def(), want.attrib.def != 0);
    EXPECT_EQ(got.g(), want.attrib.g != 0);
}

TEST(RegistersToProto, SegmentsLandInTheFieldsOfTheirNvmmNames)
{
    const nvmm_x64_state s = patterned_state();
    v1::Registers out;
    to_proto(s, NVMM_X64_STATE_SEGS, &out);
    const auto& segs = out.segments();
    expect_segment(segs.es(), s.segs[NVMM_X64_SEG_ES], "es");
    expect_segment(segs.cs(), s.segs[NVMM_X64_SEG_CS], "cs");
    expect_segment(segs.ss(), s.segs[NVMM_X64_SEG_SS], "ss");
    expect_segment(segs.ds(), s.segs[NVMM_X64_SEG_DS], "ds");
    expect_segment(segs.fs(), s.segs[NVMM_X64_SEG_FS], "fs");
    expect_segment(segs.gs(), s.segs[NVMM_X64_SEG_GS], "gs");
    expect_segment(segs.gdt(), s.segs[NVMM_X64_SEG_GDT], "gdt");
    expect_segment(segs.idt(), s.segs[NVMM_X64_SEG_IDT], "idt");
    expect_segment(segs.ldt(), s.segs[NVMM_X64_SEG_LDT], "ldt");
    expect_segment(segs.tr(), s.segs[NVMM_X64_SEG_TR], "tr");
}

TEST(RegistersToProto, InterruptStateBits)
{
    nvmm_x64_state s = patterned_state();
    v1::Registers out;
    to_proto(s, NVMM_X64_STATE_INTR, &out);
    EXPECT_TRUE(out.interrupt().int_shadow());
    EXPECT_FALSE(out.interrupt().int_window_exiting());
    EXPECT_TRUE(out.interrupt().nmi_window_exiting());
    EXPECT_TRUE(out.interrupt().evt_pending());
}

TEST(RegistersToProto, FpuImageWithTenByteStAndSixteenByteXmm)
{
    const nvmm_x64_state s = patterned_state();
    v1::Registers out;
    to_proto(s, NVMM_X64_STATE_FPU, &out);
    const auto& fpu = out.fpu();
    EXPECT_EQ(fpu.fcw(), 0x037fu);
    EXPECT_EQ(fpu.fsw(), 0x3800u);
    EXPECT_EQ(fpu.ftw(), 0xa5u);
    EXPECT_EQ(fpu.fop(), 0x7ffu);
    EXPECT_EQ(fpu.fip(), s.fpu.fx_ip.fa_64);
    EXPECT_EQ(fpu.fdp(), s.fpu.fx_dp.fa_64);
    EXPECT_EQ(fpu.mxcsr(), 0x1f80u);
    EXPECT_EQ(fpu.mxcsr_mask(), 0xffbfu);
    ASSERT_EQ(fpu.st_size(), 8);
    for (int i = 0; i < 8; i++) {
        ASSERT_EQ(fpu.st(i).size(), 10u) << "st" << i;
        uint64_t mantissa;
        uint16_t exp_sign;
        std::memcpy(&mantissa, fpu.st(i).data(), 8);
        std::memcpy(&exp_sign, fpu.st(i).data() + 8, 2);
        // Packed fields: copied before gtest takes references to them.
        const uint64_t want_mantissa = s.fpu.fx_87_ac[i].r.f87_mantissa;
        const uint16_t want_exp_sign = s.fpu.fx_87_ac[i].r.f87_exp_sign;
        EXPECT_EQ(mantissa, want_mantissa) << "st" << i;
        EXPECT_EQ(exp_sign, want_exp_sign) << "st" << i;
    }
    ASSERT_EQ(fpu.xmm_size(), 16);
    for (int i = 0; i < 16; i++) {
        ASSERT_EQ(fpu.xmm(i).size(), 16u) << "xmm" << i;
        EXPECT_EQ(std::memcmp(fpu.xmm(i).data(), s.fpu.fx_xmm[i].xmm_bytes, 16), 0) << "xmm" << i;
    }
}

// --- from_proto -------------------------------------------------------------

TEST(RegistersRoundTrip, EveryClassComesBackBitForBitThroughTheWire)
{
    const nvmm_x64_state original = patterned_state();
    v1::Registers sent;
    to_proto(original, NVMM_X64_STATE_ALL, &sent);
    v1::Registers received;
    ASSERT_TRUE(received.ParseFromString(sent.SerializeAsString()));

    nvmm_x64_state back;
    std::memset(&back, 0, sizeof back);
    auto flags = from_proto(received, &back);
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(*flags, uint64_t{NVMM_X64_STATE_ALL});
    EXPECT_TRUE(same(back, original));
}

TEST(RegistersRoundTrip, EachClassAloneWritesOnlyItself)
{
    const std::vector<uint64_t> each = {NVMM_X64_STATE_SEGS, NVMM_X64_STATE_GPRS, NVMM_X64_STATE_CRS,
                                        NVMM_X64_STATE_DRS,  NVMM_X64_STATE_MSRS, NVMM_X64_STATE_INTR,
                                        NVMM_X64_STATE_FPU};
    const nvmm_x64_state source = patterned_state();
    nvmm_x64_state blank;
    std::memset(&blank, 0, sizeof blank);
    for (uint64_t flag : each) {
        SCOPED_TRACE(flag);
        v1::Registers in;
        to_proto(source, flag, &in);
        nvmm_x64_state target = blank;
        auto flags = from_proto(in, &target);
        ASSERT_TRUE(flags.ok()) << flags.status();
        EXPECT_EQ(*flags, flag);
        // Writing the class back onto a blank state changed it...
        EXPECT_FALSE(same(target, blank));
        // ...and exactly that class: converting every other class of it
        // still gives the blank state's values.
        v1::Registers rest_target, rest_blank;
        to_proto(target, NVMM_X64_STATE_ALL & ~flag, &rest_target);
        to_proto(blank, NVMM_X64_STATE_ALL & ~flag, &rest_blank);
        EXPECT_EQ(rest_target.SerializeAsString(), rest_blank.SerializeAsString());
        v1::Registers mine;
        to_proto(target, flag, &mine);
        EXPECT_EQ(mine.SerializeAsString(), in.SerializeAsString());
    }
}

TEST(RegistersFromProto, PresentButEmptyClassIsWrittenWhole)
{
    nvmm_x64_state s = patterned_state();
    v1::Registers in;
    in.mutable_debug();  // present, every register 0
    auto flags = from_proto(in, &s);
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(*flags, uint64_t{NVMM_X64_STATE_DRS});
    for (int i = 0; i < NVMM_X64_NDR; i++) {
        EXPECT_EQ(s.drs[i], 0u) << "dr slot " << i;
    }
    EXPECT_EQ(s.gprs[NVMM_X64_GPR_RIP], patterned_state().gprs[NVMM_X64_GPR_RIP]);
}

TEST(RegistersFromProto, NamedFieldsReachTheirNvmmSlots)
{
    nvmm_x64_state s;
    std::memset(&s, 0, sizeof s);
    v1::Registers in;
    in.mutable_gprs()->set_rip(0x100010);
    in.mutable_gprs()->set_rflags(0x202);
    in.mutable_control()->set_cr3(0x9000);
    in.mutable_msrs()->set_efer(0x500);
    auto* cs = in.mutable_segments()->mutable_cs();
    cs->set_selector(0x08);
    cs->set_type(0xb);
    cs->set_s(true);
    cs->set_p(true);
    cs->set_l(true);
    cs->set_limit(0xffffffff);
    ASSERT_TRUE(from_proto(in, &s).ok());
    EXPECT_EQ(s.gprs[NVMM_X64_GPR_RIP], 0x100010u);
    EXPECT_EQ(s.gprs[NVMM_X64_GPR_RFLAGS], 0x202u);
    EXPECT_EQ(s.gprs[NVMM_X64_GPR_RAX], 0u);
    EXPECT_EQ(s.crs[NVMM_X64_CR_CR3], 0x9000u);
    EXPECT_EQ(s.msrs[NVMM_X64_MSR_EFER], 0x500u);
    const auto& seg = s.segs[NVMM_X64_SEG_CS];
    EXPECT_EQ(seg.selector, 0x08);
    EXPECT_EQ(seg.attrib.type, 0xb);
    EXPECT_EQ(seg.attrib.s, 1);
    EXPECT_EQ(seg.attrib.p, 1);
    EXPECT_EQ(seg.attrib.l, 1);
    EXPECT_EQ(seg.attrib.def, 0);
    EXPECT_EQ(seg.limit, 0xffffffffu);
    EXPECT_EQ(s.segs[NVMM_X64_SEG_DS].selector, 0);  // written whole: zeros
}

TEST(RegistersFromProto, NoClassIsInvalidArgument)
{
    nvmm_x64_state s = patterned_state();
    auto flags = from_proto(v1::Registers(), &s);
    ASSERT_FALSE(flags.ok());
    EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(same(s, patterned_state()));
}

TEST(RegistersFromProto, WellFormedFpuIsTaken)
{
    nvmm_x64_state s = patterned_state();
    v1::Registers in;
    *in.mutable_fpu() = valid_fpu();
    in.mutable_fpu()->set_mxcsr(0x1fa0);
    auto flags = from_proto(in, &s);
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(*flags, uint64_t{NVMM_X64_STATE_FPU});
    EXPECT_EQ(s.fpu.fx_mxcsr, 0x1fa0u);
    const uint16_t st7_exp_sign = s.fpu.fx_87_ac[7].r.f87_exp_sign;  // packed: no reference
    EXPECT_EQ(st7_exp_sign, 0x0707);
    EXPECT_EQ(s.fpu.fx_xmm[15].xmm_bytes[0], 0x4f);
}

// A malformed FPU fails the whole request before any class is written,
// the well-formed ones sent with it included.
TEST(RegistersFromProto, MalformedFpuIsInvalidArgumentAndWritesNothing)
{
    struct Case {
        const char* what;
        void (*spoil)(v1::FpuState&);
    };
    const Case cases[] = {
        {"no registers at all",
         [](v1::FpuState& f) {
             f.clear_st();
             f.clear_xmm();
         }},
        {"7 st", [](v1::FpuState& f) { f.mutable_st()->RemoveLast(); }},
        {"9 st", [](v1::FpuState& f) { f.add_st(std::string(10, '\0')); }},
        {"15 xmm", [](v1::FpuState& f) { f.mutable_xmm()->RemoveLast(); }},
        {"17 xmm", [](v1::FpuState& f) { f.add_xmm(std::string(16, '\0')); }},
        {"st of 9 bytes", [](v1::FpuState& f) { f.set_st(3, std::string(9, '\0')); }},
        {"st of 16 bytes", [](v1::FpuState& f) { f.set_st(0, std::string(16, '\0')); }},
        {"xmm of 15 bytes", [](v1::FpuState& f) { f.set_xmm(15, std::string(15, '\0')); }},
        {"xmm of 10 bytes", [](v1::FpuState& f) { f.set_xmm(2, std::string(10, '\0')); }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        v1::Registers in;
        in.mutable_gprs()->set_rip(0xdead);
        in.mutable_control()->set_cr0(0x11);
        *in.mutable_fpu() = valid_fpu();
        c.spoil(*in.mutable_fpu());
        nvmm_x64_state s = patterned_state();
        auto flags = from_proto(in, &s);
        ASSERT_FALSE(flags.ok());
        EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_TRUE(same(s, patterned_state()));
    }
}

// The proto's segment fields are wider than the hardware's; a value that
// does not fit fails the whole request instead of being cut.
TEST(RegistersFromProto, TooWideSegmentFieldIsInvalidArgumentAndWritesNothing)
{
    struct Case {
        const char* what;
        void (*spoil)(v1::SegmentRegisters&);
    };
    const Case cases[] = {
        {"cs selector 0x10000", [](v1::SegmentRegisters& r) { r.mutable_cs()->set_selector(0x10000); }},
        {"tr type 16", [](v1::SegmentRegisters& r) { r.mutable_tr()->set_type(16); }},
        {"ss dpl 4", [](v1::SegmentRegisters& r) { r.mutable_ss()->set_dpl(4); }},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        v1::Registers in;
        in.mutable_gprs()->set_rip(0xdead);
        in.mutable_segments()->mutable_ds()->set_selector(0x10);
        c.spoil(*in.mutable_segments());
        nvmm_x64_state s = patterned_state();
        auto flags = from_proto(in, &s);
        ASSERT_FALSE(flags.ok());
        EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
        EXPECT_NE(flags.status().message().find(std::string(c.what).substr(0, 2)), std::string::npos)
            << flags.status().message();
        EXPECT_TRUE(same(s, patterned_state()));
    }
}

TEST(RegistersFromProto, WidestSegmentFieldsThatFitAreTaken)
{
    v1::Registers in;
    v1::Segment* cs = in.mutable_segments()->mutable_cs();
    cs->set_selector(0xFFFF);
    cs->set_type(0xF);
    cs->set_dpl(3);
    nvmm_x64_state s = patterned_state();
    auto flags = from_proto(in, &s);
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].selector, 0xFFFF);
    EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].attrib.type, 0xF);
    EXPECT_EQ(s.segs[NVMM_X64_SEG_CS].attrib.dpl, 3);
}

}  // namespace
}  // namespace vmruntime::server
