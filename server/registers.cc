// SPDX-License-Identifier: BSD-2-Clause
#include "server/registers.h"

#include <cstring>
#include <string>

#include "server/status.h"

namespace vmruntime::server {
namespace {

using google::protobuf::Message;

// The uint64 fields of `msg`, in order, from or to an nvmm array.
void array_to_proto(const uint64_t* values, int count, Message* msg)
{
    const auto* desc = msg->GetDescriptor();
    const auto* refl = msg->GetReflection();
    for (int i = 0; i < count && i < desc->field_count(); i++) {
        refl->SetUInt64(msg, desc->field(i), values[i]);
    }
}

void array_from_proto(const Message& msg, uint64_t* values, int count)
{
    const auto* desc = msg.GetDescriptor();
    const auto* refl = msg.GetReflection();
    for (int i = 0; i < count && i < desc->field_count(); i++) {
        values[i] = refl->GetUInt64(msg, desc->field(i));
    }
}

void segment_to_proto(const nvmm_x64_state_seg& s, v1::Segment* out)
{
    out->set_selector(s.selector);
    out->set_base(s.base);
    out->set_limit(s.limit);
    out->set_type(s.attrib.type);
    out->set_s(s.attrib.s);
    out->set_dpl(s.attrib.dpl);
    out->set_p(s.attrib.p);
    out->set_avl(s.attrib.avl);
    out->set_l(s.attrib.l);
    out->set_def(s.attrib.def);
    out->set_g(s.attrib.g);
}

// The proto's fields are wider than the hardware's: refuse what would not
// fit rather than cut it.
absl::Status check_segment(const v1::Segment& in, const std::string& name)
{
    if (in.selector() > 0xFFFF) {
        return bad_request(name + ": selector is 16 bits");
    }
    if (in.type() > 0xF) {
        return bad_request(name + ": type is 4 bits");
    }
    if (in.dpl() > 3) {
        return bad_request(name + ": dpl is 0-3");
    }
    return absl::OkStatus();
}

void segment_from_proto(const v1::Segment& in, nvmm_x64_state_seg* s)
{
    s->selector = static_cast<uint16_t>(in.selector());
    s->base = in.base();
    s->limit = in.limit();
    s->attrib.type = in.type();
    s->attrib.s = in.s();
    s->attrib.dpl = in.dpl();
    s->attrib.p = in.p();
    s->attrib.avl = in.avl();
    s->attrib.l = in.l();
    s->attrib.def = in.def();
    s->attrib.g = in.g();
}

// SegmentRegisters lists es..tr in NVMM_X64_SEG_* order.
void segments_to_proto(const nvmm_x64_state& state, v1::SegmentRegisters* out)
{
    const auto* desc = out->GetDescriptor();
    const auto* refl = out->GetReflection();
    for (int i = 0; i < NVMM_X64_NSEG; i++) {
        auto* seg = static_cast<v1::Segment*>(refl->MutableMessage(out, desc->field(i)));
        segment_to_proto(state.segs[i], seg);
    }
}

absl::Status check_segments(const v1::SegmentRegisters& in)
{
    const auto* desc = in.GetDescriptor();
    const auto* refl = in.GetReflection();
    for (int i = 0; i < NVMM_X64_NSEG; i++) {
        const auto& seg = static_cast<const v1::Segment&>(refl->GetMessage(in, desc->field(i)));
        if (auto ok = check_segment(seg, desc->field(i)->name()); !ok.ok()) {
            return ok;
        }
    }
    return absl::OkStatus();
}

void segments_from_proto(const v1::SegmentRegisters& in, nvmm_x64_state* state)
{
    const auto* desc = in.GetDescriptor();
    const auto* refl = in.GetReflection();
    for (int i = 0; i < NVMM_X64_NSEG; i++) {
        const auto& seg = static_cast<const v1::Segment&>(refl->GetMessage(in, desc->field(i)));
        segment_from_proto(seg, &state->segs[i]);
    }
}

void intr_to_proto(const nvmm_x64_state_intr& intr, v1::InterruptState* out)
{
    out->set_int_shadow(intr.int_shadow);
    out->set_int_window_exiting(intr.int_window_exiting);
    out->set_nmi_window_exiting(intr.nmi_window_exiting);
    out->set_evt_pending(intr.evt_pending);
}

void intr_from_proto(const v1::InterruptState& in, nvmm_x64_state_intr* intr)
{
    intr->int_shadow = in.int_shadow();
    intr->int_window_exiting = in.int_window_exiting();
    intr->nmi_window_exiting = in.nmi_window_exiting();
    intr->evt_pending = in.evt_pending();
}

constexpr size_t kStBytes = sizeof(fpacc87);  // 10: mantissa and sign/exponent

void fpu_to_proto(const fxsave& fx, v1::FpuState* out)
{
    out->set_fcw(fx.fx_cw);
    out->set_fsw(fx.fx_sw);
    out->set_ftw(fx.fx_tw);
    out->set_fop(fx.fx_opcode);
    out->set_fip(fx.fx_ip.fa_64);
    out->set_fdp(fx.fx_dp.fa_64);
    out->set_mxcsr(fx.fx_mxcsr);
    out->set_mxcsr_mask(fx.fx_mxcsr_mask);
    for (const auto& st : fx.fx_87_ac) {
        out->add_st(std::string(reinterpret_cast<const char*>(&st.r), kStBytes));
    }
    for (const auto& xmm : fx.fx_xmm) {
        out->add_xmm(std::string(reinterpret_cast<const char*>(xmm.xmm_bytes), sizeof xmm.xmm_bytes));
    }
}

absl::Status fpu_from_proto(const v1::FpuState& in, fxsave* fx)
{
    if (in.st_size() != 8 || in.xmm_size() != 16) {
        return bad_request("fpu needs exactly 8 st and 16 xmm registers");
    }
    for (const auto& st : in.st()) {
        if (st.size() != kStBytes) {
            return bad_request("each st register is 10 bytes");
        }
    }
    for (const auto& xmm : in.xmm()) {
        if (xmm.size() != 16) {
            return bad_request("each xmm register is 16 bytes");
        }
    }
    fx->fx_cw = static_cast<uint16_t>(in.fcw());
    fx->fx_sw = static_cast<uint16_t>(in.fsw());
    fx->fx_tw = static_cast<uint8_t>(in.ftw());
    fx->fx_opcode = static_cast<uint16_t>(in.fop());
    fx->fx_ip.fa_64 = in.fip();
    fx->fx_dp.fa_64 = in.fdp();
    fx->fx_mxcsr = in.mxcsr();
    fx->fx_mxcsr_mask = in.mxcsr_mask();
    for (int i = 0; i < 8; i++) {
        std::memcpy(&fx->fx_87_ac[i].r, in.st(i).data(), kStBytes);
    }
    for (int i = 0; i < 16; i++) {
        std::memcpy(fx->fx_xmm[i].xmm_bytes, in.xmm(i).data(), 16);
    }
    return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> state_flags(const google::protobuf::RepeatedField<int>& classes)
{
    if (classes.empty()) {
        return uint64_t{NVMM_X64_STATE_ALL};
    }
    uint64_t flags = 0;
    for (int c : classes) {
        switch (c) {
        case v1::STATE_CLASS_GPRS: flags |= NVMM_X64_STATE_GPRS; break;
        case v1::STATE_CLASS_SEGMENTS: flags |= NVMM_X64_STATE_SEGS; break;
        case v1::STATE_CLASS_CONTROL: flags |= NVMM_X64_STATE_CRS; break;
        case v1::STATE_CLASS_DEBUG: flags |= NVMM_X64_STATE_DRS; break;
        case v1::STATE_CLASS_MSRS: flags |= NVMM_X64_STATE_MSRS; break;
        case v1::STATE_CLASS_INTERRUPT: flags |= NVMM_X64_STATE_INTR; break;
        case v1::STATE_CLASS_FPU: flags |= NVMM_X64_STATE_FPU; break;
        default: return bad_request("unknown state class " + std::to_string(c));
        }
    }
    return flags;
}

void to_proto(const nvmm_x64_state& state, uint64_t flags, v1::Registers* out)
{
    if (flags & NVMM_X64_STATE_GPRS) array_to_proto(state.gprs, NVMM_X64_NGPR, out->mutable_gprs());
    if (flags & NVMM_X64_STATE_SEGS) segments_to_proto(state, out->mutable_segments());
    if (flags & NVMM_X64_STATE_CRS) array_to_proto(state.crs, NVMM_X64_NCR, out->mutable_control());
    if (flags & NVMM_X64_STATE_DRS) array_to_proto(state.drs, NVMM_X64_NDR, out->mutable_debug());
    if (flags & NVMM_X64_STATE_MSRS) array_to_proto(state.msrs, NVMM_X64_NMSR, out->mutable_msrs());
    if (flags & NVMM_X64_STATE_INTR) intr_to_proto(state.intr, out->mutable_interrupt());
    if (flags & NVMM_X64_STATE_FPU) fpu_to_proto(state.fpu, out->mutable_fpu());
}

absl::StatusOr<uint64_t> from_proto(const v1::Registers& in, nvmm_x64_state* state)
{
    uint64_t flags = 0;
    if (in.has_segments()) {
        if (auto ok = check_segments(in.segments()); !ok.ok()) {
            return ok;
        }
    }
    if (in.has_fpu()) {
        if (auto ok = fpu_from_proto(in.fpu(), &state->fpu); !ok.ok()) {
            return ok;
        }
        flags |= NVMM_X64_STATE_FPU;
    }
    if (in.has_gprs()) {
        array_from_proto(in.gprs(), state->gprs, NVMM_X64_NGPR);
        flags |= NVMM_X64_STATE_GPRS;
    }
    if (in.has_segments()) {
        segments_from_proto(in.segments(), state);
        flags |= NVMM_X64_STATE_SEGS;
    }
    if (in.has_control()) {
        array_from_proto(in.control(), state->crs, NVMM_X64_NCR);
        flags |= NVMM_X64_STATE_CRS;
    }
    if (in.has_debug()) {
        array_from_proto(in.debug(), state->drs, NVMM_X64_NDR);
        flags |= NVMM_X64_STATE_DRS;
    }
    if (in.has_msrs()) {
        array_from_proto(in.msrs(), state->msrs, NVMM_X64_NMSR);
        flags |= NVMM_X64_STATE_MSRS;
    }
    if (in.has_interrupt()) {
        intr_from_proto(in.interrupt(), &state->intr);
        flags |= NVMM_X64_STATE_INTR;
    }
    if (flags == 0) {
        return bad_request("no register class given: nothing to set");
    }
    return flags;
}

}  // namespace vmruntime::server
