// SPDX-License-Identifier: BSD-2-Clause
//
// Create's spec validation, on any MachineSpec the wire can carry; a spec
// it accepts is persisted as JSON and read back at the next start, so that
// round trip must give the same spec.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "server/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    using namespace vmruntime;
    v1::MachineSpec spec;
    if (!spec.ParseFromArray(data, static_cast<int>(size))) {
        return -1;
    }
    spec.DiscardUnknownFields();  // fields of a newer API: not the daemon's to keep
    static const server::Limits limits;  // its defaults ask the host once, not per input
    if (!server::check_spec(spec, limits).ok()) {
        return 0;
    }
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(spec, &json, options).ok()) {
        return 0;  // the registry answers INTERNAL, with nothing stored
    }
    v1::MachineSpec loaded;
    if (!google::protobuf::util::JsonStringToMessage(json, &loaded).ok() ||
        !google::protobuf::util::MessageDifferencer::Equals(spec, loaded)) {
        __builtin_trap();  // a machine created now would be lost at the next start
    }
    return 0;
}
