// SPDX-License-Identifier: BSD-2-Clause
//
// virtio-blk under the small Linux kernel: ext2 images made on the host
// with `mke2fs -d` are the guest's /dev/vda (read-write) and /dev/vdb
// (read-only).  The guest reads the host's file, writes one of its own and
// syncs; the daemon is then killed with SIGKILL and the host finds the
// guest's file in the image.  The read-only disk says so to Linux, refuses
// the guest's writes and comes back unchanged.
#include <signal.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "linux_guest.h"

namespace vmruntime::testing {
namespace {

// What `command` printed on stdout, and whether it exited with 0.
bool run(const std::string& command, std::string* out = nullptr)
{
    FILE* p = popen(command.c_str(), "r");
    if (!p) return false;
    char buf[4096];
    size_t n;
    std::string text;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
    if (out) *out = text;
    return pclose(p) == 0;
}

// An ext2 image of `megabytes` MiB holding `file` with `content`.
std::string make_image(const std::string& dir, const std::string& name, const std::string& file,
                       const std::string& content, unsigned megabytes)
{
    const std::string tree = dir + "/" + name + ".d";
    std::filesystem::create_directories(tree);
    std::ofstream(tree + "/" + file) << content;
    const std::string image = dir + "/" + name + ".img";
    std::string out;
    EXPECT_TRUE(run("mke2fs -q -F -t ext2 -d " + tree + " " + image + " " + std::to_string(megabytes) +
                        "M 2>&1",
                    &out))
        << out;
    return image;
}

TEST_F(LinuxTest, DisksAreReadWrittenSyncedAndReadOnlyOnesRefuseWrites)
{
    const std::string rw = make_image(daemon_.dir(), "rw", "hello.txt", "hello from the host\n", 8);
    const std::string ro = make_image(daemon_.dir(), "ro", "ro.txt", "read me only\n", 4);
    const std::string ro_before = slurp(ro);
    v1::MachineSpec spec = small_kernel("disks", kernel_.vmlinux);
    v1::Disk* d = spec.add_disks();
    d->set_path(rw);
    d = spec.add_disks();
    d->set_path(ro);
    d->set_read_only(true);
    ASSERT_TRUE(create(spec).ok());
    ASSERT_TRUE(call(&v1::Machines::Stub::Start, "disks").ok());

    ConsoleSession console(*stub_, "disks");
    ASSERT_NE(console.wait_for(kPrompt, kBootTimeout), std::string::npos) << console.text();
    const std::string boot_log = console.text();
    EXPECT_NE(boot_log.find("[vda] 16384 512-byte logical blocks"), std::string::npos) << boot_log;
    EXPECT_NE(boot_log.find("[vdb] 8192 512-byte logical blocks"), std::string::npos) << boot_log;

    // Short lines: the shell's line editor wraps what goes past 80 columns.
    EXPECT_EQ(console.command("cat /sys/block/vd[ab]/ro"), "0\r\n1\r\n");
    EXPECT_EQ(console.command("cat /sys/block/vda/serial; echo"), "vmruntime-disk0\r\n");
    // The kernel may remark on the mount (ext2's 2038 limit) on the console.
    EXPECT_TRUE(console.command("mkdir /mnt /ro; mount /dev/vda /mnt && echo ok").ends_with("ok\r\n"));
    EXPECT_EQ(console.command("cat /mnt/hello.txt"), "hello from the host\r\n");
    EXPECT_EQ(console.command("echo written by the guest >/mnt/guest.txt"), "");
    EXPECT_EQ(console.command("sync; echo synced"), "synced\r\n");

    EXPECT_TRUE(console.command("mount -o ro /dev/vdb /ro && echo ok").ends_with("ok\r\n"));
    EXPECT_EQ(console.command("cat /ro/ro.txt"), "read me only\r\n");
    std::string refused = console.command("dd if=/dev/zero of=/dev/vdb count=1; echo $?");
    EXPECT_NE(refused.find("dd: error writing '/dev/vdb': Operation not permitted"), std::string::npos) << refused;
    EXPECT_TRUE(refused.ends_with("\r\n1\r\n")) << refused;
    std::string interrupts = console.command("grep virtio /proc/interrupts");
    EXPECT_NE(interrupts.find("XT-PIC      virtio0"), std::string::npos) << interrupts;
    EXPECT_NE(interrupts.find("XT-PIC      virtio1"), std::string::npos) << interrupts;

    // What the guest saw acknowledged is in the image, daemon gone or not.
    ASSERT_EQ(kill(daemon_.pid(), SIGKILL), 0);
    daemon_.stop();
    std::string guest_file;
    EXPECT_TRUE(run("debugfs -R 'cat /guest.txt' " + rw + " 2>/dev/null", &guest_file));
    EXPECT_EQ(guest_file, "written by the guest\n");
    EXPECT_TRUE(slurp(ro) == ro_before) << "the read-only image changed";
}

}  // namespace
}  // namespace vmruntime::testing
