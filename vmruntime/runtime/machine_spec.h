// SPDX-License-Identifier: BSD-2-Clause
//
// What a machine is made of, as its creator describes it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vmruntime/base/unique_fd.h"

namespace vmruntime::runtime {

enum class ImageFormat {
    Auto,           // detected from the image: Bzimage, Pvh or Elf64
    Elf64,          // PT_LOAD segments, entered in 64-bit mode
    Bzimage,        // Linux through the 64-bit boot protocol
    Pvh,            // an ELF kernel entered at its PVH note, 32-bit, paging off
    FlatReal,       // raw bytes at load_address, entered in real mode
    FlatProtected,  // raw bytes, entered in 32-bit protected mode
    FlatLong,       // raw bytes, entered in 64-bit long mode
};

// A virtio-blk disk on a raw image file, whole 512-byte sectors of it.
struct DiskSpec {
    // The image, open for reading, and for writing unless `read_only`; the
    // spec's copies share it.
    std::shared_ptr<const base::UniqueFd> file;
    bool read_only = false;
    // What the guest reads as the disk's serial (GET_ID), 20 bytes at most;
    // empty: "vmruntime-disk" and the disk's index.
    std::string id;
};

// A virtio-net card on a host tap device.
struct NetSpec {
    // The tap (runtime::open_tap), shared by the spec's copies.
    std::shared_ptr<const base::UniqueFd> tap;
    // All zero: a locally administered address made from the machine's name
    // and the card's index.
    std::array<uint8_t, 6> mac{};
};

// A virtio-vsock device whose host ends are Unix stream sockets
// (dev::VirtioVsock says how).
struct VsockSpec {
    uint32_t cid = 0;  // the guest's context ID, 3 or more
    // The machine's socket, bound and listening, for host clients' CONNECT;
    // shared by the spec's copies.
    std::shared_ptr<const base::UniqueFd> listener;
    // A connected non-blocking stream to whatever listens for host port P
    // on the guest's behalf, or none to refuse.  Runs on the device strand.
    std::function<base::UniqueFd(uint32_t port)> connect;
};

struct MachineSpec {
    std::string name;
    uint64_t memory_bytes = 16ULL << 20;
    unsigned vcpus = 1;
    std::vector<uint8_t> image;
    ImageFormat format = ImageFormat::Auto;
    // Linux kernels (Bzimage, Pvh) only: the initial RAM disk.
    std::vector<uint8_t> initrd;
    uint64_t load_address = 0x100000;  // flat images only
    std::string cmdline;
    // Linux sees them as /dev/vda, /dev/vdb... in this order.
    std::vector<DiskSpec> disks;
    // Linux sees them as eth0, eth1... in this order, after the disks on
    // the virtio windows.
    std::vector<NetSpec> nets;
    // After the network cards, if any.
    std::optional<VsockSpec> vsock;
    // Host CPUs for the vCPU threads, vCPU i on cpus[i % size]; empty:
    // spread over the CPUs this process may use.
    std::vector<int> cpus;
    // Writes to devices that allow it go to the device strand without the
    // vCPU waiting for them; false makes every write wait (for comparison).
    bool posted_writes = true;
    // How long a vCPU waiting for a device answer spins before it sleeps:
    // an answer within the spin saves a futex sleep and wake-up, at the
    // price of a busy host CPU (runtime-bench spin measures both ways).
    std::chrono::nanoseconds answer_spin = std::chrono::microseconds(20);
};

}  // namespace vmruntime::runtime
