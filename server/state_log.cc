// SPDX-License-Identifier: BSD-2-Clause
#include "server/state_log.h"

#include <string>

#include "vmruntime/base/log.h"

namespace vmruntime::server {
namespace {

// As vmctl writes loaders.
const char* loader_word(v1::LoaderKind kind)
{
    switch (kind) {
    case v1::LOADER_KIND_ELF64: return "elf";
    case v1::LOADER_KIND_BZIMAGE: return "bzimage";
    case v1::LOADER_KIND_PVH: return "pvh";
    case v1::LOADER_KIND_FLAT_REAL: return "flat-real";
    case v1::LOADER_KIND_FLAT_PROTECTED: return "flat-protected";
    case v1::LOADER_KIND_FLAT_LONG: return "flat-long";
    default: return "auto";
    }
}

// "(16 MiB, 1 vCPU, elf)": the size of what was created and how it boots.
std::string shape(const v1::MachineSpec& spec)
{
    std::string what = "(" + std::to_string(spec.memory_mib()) + " MiB, " + std::to_string(spec.vcpus()) +
                       (spec.vcpus() == 1 ? " vCPU, " : " vCPUs, ");
    if (!spec.snapshot().empty()) {
        return what + "from snapshot " + spec.snapshot() + ")";
    }
    return what + loader_word(spec.loader()) + ")";
}

void log_event(Registry& registry, const v1::WatchEvent& event)
{
    const std::string& name = event.name();
    if (event.deleted()) {
        return base::log_info("machine", name, ": deleted");
    }
    const std::string because = event.reason().empty() ? "" : ": " + event.reason();
    switch (event.state()) {
    case v1::MACHINE_STATE_CREATED:
        // The spec is the registry's by now: a creation is published once
        // the machine is listed.
        if (auto info = registry.get(name); info.ok()) {
            return base::log_info("machine", name, ": created ", shape(info->spec()));
        }
        return base::log_info("machine", name, ": created");
    case v1::MACHINE_STATE_RUNNING:
        return base::log_info("machine", name, ": running");
    case v1::MACHINE_STATE_PAUSED:
        return base::log_info("machine", name, ": paused");
    case v1::MACHINE_STATE_STOPPED:
        return base::log_info("machine", name, ": stopped", because);
    default:
        // Crashed: logged by the runtime (see the header).
        return;
    }
}

}  // namespace

void log_state_changes(Registry& registry)
{
    registry.subscribe([&registry](const v1::WatchEvent& event) { log_event(registry, event); });
}

}  // namespace vmruntime::server
