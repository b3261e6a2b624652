// SPDX-License-Identifier: BSD-2-Clause
//
// The seams between legacy PC devices and the rest of the runtime.  A device
// sees only these interfaces: it never knows about vCPUs, KVM, queues or the
// transport that carries its console.  Devices are driven from one strand at
// a time (the machine's device strand), so they take no locks of their own.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>

namespace vmruntime::dev {

// A device on the port-I/O bus.  `offset` is relative to the base port the
// device was registered at; `size` is the access width in bytes (1, 2 or 4).
// A width the hardware does not decode is the device's to ignore (reads
// return all ones): guests misbehave, the VMM does not stop.
class PioDevice {
public:
    virtual ~PioDevice() = default;
    virtual uint32_t read(uint16_t offset, unsigned size) = 0;
    virtual void write(uint16_t offset, unsigned size, uint32_t value) = 0;
};

// A device in guest-physical memory space (a virtio-mmio window).  `offset`
// is relative to the window's base; `size` is 1, 2, 4 or 8.  Like a port,
// a width or offset the device does not decode is its to ignore.
class MmioDevice {
public:
    virtual ~MmioDevice() = default;
    virtual uint64_t read(uint64_t offset, unsigned size) = 0;
    virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

// One interrupt request line into an interrupt controller.  Edge-triggered
// devices raise then lower it; level-triggered ones hold it.
class IrqLine {
public:
    virtual ~IrqLine() = default;
    virtual void set_level(bool high) = 0;
    void pulse()
    {
        set_level(true);
        set_level(false);
    }
};

// Time as devices see it.  Tests replace it with a clock they step by hand.
class Clock {
public:
    virtual ~Clock() = default;
    virtual std::chrono::nanoseconds monotonic() const = 0;       // since an arbitrary epoch
    virtual std::chrono::system_clock::time_point wall() const = 0; // for the RTC
};

// A one-shot timer.  arm() replaces any earlier deadline; the callback runs
// in the device's own context (its strand, or for the PIT the vCPU thread
// that takes its interrupt), serialized with the device's port accesses.
class Timer {
public:
    virtual ~Timer() = default;
    virtual void arm(std::chrono::nanoseconds deadline, std::function<void()> fire) = 0;
    virtual void cancel() = 0;
};

// Readiness of a host file descriptor a device reads or writes (a tap, a
// socket), reported by the device layer's event loop in the device's own
// context.  One wait per direction: when_readable() replaces an earlier
// read wait, when_writable() an earlier write wait; cancel() drops both.
class FdWatch {
public:
    virtual ~FdWatch() = default;
    virtual void when_readable(std::function<void()> fire) = 0;
    virtual void when_writable(std::function<void()> fire) = 0;
    virtual void cancel() = 0;
};

// Guest RAM as a device doing DMA sees it (virtqueues and their buffers).
// The guest is not trusted: any range may be outside RAM.
class GuestRam {
public:
    virtual ~GuestRam() = default;
    // The host bytes of [gpa, gpa + len), or an empty span when any of them
    // is not RAM (len 0 gives an empty span too).
    virtual std::span<uint8_t> at(uint64_t gpa, uint64_t len) = 0;
};

// Where a device's byte output goes (the UART's transmitter).
class ByteSink {
public:
    virtual ~ByteSink() = default;
    virtual void write(std::span<const uint8_t> bytes) = 0;
};

}  // namespace vmruntime::dev
