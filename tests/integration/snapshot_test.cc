// SPDX-License-Identifier: BSD-2-Clause
//
// Snapshots through a real vmruntimed and vmctl: snapshot a paused
// guests/hello, restore it under another name (it goes on ticking where it
// was, and again after a daemon restart), clone it, reset a clone in place,
// and the statuses for what cannot be done.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "daemon.h"

namespace vmruntime::testing {
namespace {

class SnapshotCliTest : public DaemonFixture {
protected:
    void SetUp() override
    {
        DaemonFixture::SetUp();
        if (IsSkipped()) {
            return;
        }
        snapshot_ = file("snap");
        auto created = vmctl({"create", "src", HELLO_ELF, "--memory", "8", "--cmdline", "hz=100"});
        ASSERT_EQ(created.exit_code, 0) << created.err;
        ASSERT_EQ(vmctl({"start", "src"}).exit_code, 0);
        ASSERT_NE(console("src", "tick 100\r\n").find("tick 100\r\n"), std::string::npos);
    }

    // `result` failed with `code`, and its message says `says`.
    static void expect_refused(const CommandResult& result, const std::string& code, const std::string& says)
    {
        EXPECT_EQ(result.exit_code, 1) << result.out;
        EXPECT_EQ(result.err.rfind("vmctl: " + code + ": ", 0), 0u) << result.err;
        EXPECT_NE(result.err.find(says), std::string::npos) << result.err;
    }

    std::string snapshot_;
};

TEST_F(SnapshotCliTest, SavedMachineGoesOnUnderAnotherNameAndAfterARestart)
{
    expect_refused(vmctl({"snapshot", "src", snapshot_}), "FAILED_PRECONDITION", "pause it first");
    ASSERT_EQ(vmctl({"pause", "src"}).exit_code, 0);
    auto saved = vmctl({"snapshot", "src", snapshot_});
    ASSERT_EQ(saved.exit_code, 0) << saved.err;
    EXPECT_TRUE(std::regex_match(saved.out, std::regex("saved src in " + snapshot_ + " \\([0-9.]+ [KM]iB on disk\\)\n")))
        << saved.out;
    ASSERT_EQ(vmctl({"resume", "src"}).exit_code, 0);

    auto restored = vmctl({"restore", snapshot_, "copy"});
    ASSERT_EQ(restored.exit_code, 0) << restored.err;
    EXPECT_NE(restored.out.find("state:    running\n"), std::string::npos) << restored.out;
    EXPECT_NE(restored.out.find("snapshot: " + snapshot_ + "\n"), std::string::npos) << restored.out;
    EXPECT_NE(restored.out.find("loader:   elf\n"), std::string::npos) << "as the original was: " << restored.out;
    std::string out = console("copy", "tick 300\r\n");
    EXPECT_EQ(out.find(kBanner), std::string::npos) << "the copy booted again: " << out;
    EXPECT_NE(out.find("tick 300\r\n"), std::string::npos) << out;

    EXPECT_EQ(daemon_.stop(), 0);
    ASSERT_TRUE(daemon_.start()) << daemon_.log();
    connect();
    ASSERT_EQ(vmctl({"start", "copy"}).exit_code, 0) << "built from its snapshot again";
    out = console("copy", "tick 300\r\n");
    EXPECT_EQ(out.find(kBanner), std::string::npos) << out;
    EXPECT_NE(out.find("tick 300\r\n"), std::string::npos) << out;

    auto listed = vmctl({"snapshots"});
    ASSERT_EQ(listed.exit_code, 0) << listed.err;
    EXPECT_TRUE(std::regex_search(listed.out, std::regex(snapshot_ + " +src +8.0 MiB +[0-9.]+ [KM]iB  [0-9-]+ [0-9:]+  copy\n")))
        << "remembered across the restart: " << listed.out;
    std::filesystem::remove_all(snapshot_);
    auto gone = vmctl({"--json", "snapshots"});
    EXPECT_NE(gone.out.find("\"present\":false"), std::string::npos) << gone.out;
    EXPECT_NE(gone.out.find("\"machines\":[\"copy\"]"), std::string::npos) << gone.out;
}

TEST_F(SnapshotCliTest, ClonesAreApartAndResetInPlace)
{
    ASSERT_EQ(vmctl({"pause", "src"}).exit_code, 0);
    ASSERT_EQ(vmctl({"snapshot", "src", snapshot_}).exit_code, 0);
    auto cloned = vmctl({"clone", snapshot_, "web", "-n", "3"});
    ASSERT_EQ(cloned.exit_code, 0) << cloned.err;
    EXPECT_EQ(cloned.out, "web-1\nweb-2\nweb-3\n");
    EXPECT_EQ(vmctl({"list", "web-*", "--state", "running", "-q"}).out, "web-1\nweb-2\nweb-3\n");

    EXPECT_NE(console("web-2", "ZZ", "ZZ", nullptr, "tick ").find("ZZ"), std::string::npos);
    EXPECT_EQ(console("web-1", "tick 300\r\n").find("ZZ"), std::string::npos) << "input to one clone only";

    auto reset = vmctl({"reset", "web-2"});
    ASSERT_EQ(reset.exit_code, 0) << reset.err;
    EXPECT_TRUE(std::regex_match(reset.out, std::regex("reset web-2 to " + snapshot_ + " \\([1-9][0-9]* pages restored\\)\n")))
        << reset.out;
    auto json = vmctl({"--json", "reset", "web-3"});
    ASSERT_EQ(json.exit_code, 0) << json.err;
    EXPECT_TRUE(std::regex_search(json.out, std::regex("\"state\":\"running\".*\"pages\":[0-9]+\\}\n"))) << json.out;
    expect_refused(vmctl({"reset", "src"}), "FAILED_PRECONDITION", "not restored from a snapshot");
}

// The daemon maps its own copy of a snapshot's memory: the client's file
// may be truncated or rewritten under a restored machine and the daemon
// goes on, as does the machine.
TEST_F(SnapshotCliTest, ChangingTheSnapshotUnderARestoredMachineHarmsNothing)
{
    ASSERT_EQ(vmctl({"pause", "src"}).exit_code, 0);
    ASSERT_EQ(vmctl({"snapshot", "src", snapshot_}).exit_code, 0);
    ASSERT_EQ(vmctl({"restore", snapshot_, "copy", "--paused"}).exit_code, 0);
    for (const auto& entry : std::filesystem::directory_iterator(snapshot_)) {
        if (entry.path().filename().string().rfind("memory-", 0) == 0) {
            std::filesystem::resize_file(entry.path(), 0);
        }
    }
    auto read = vmctl({"mem", "copy", "0x100000", "16"});
    EXPECT_EQ(read.exit_code, 0) << read.err;
    EXPECT_EQ(vmctl({"snapshot", "copy", file("again")}).exit_code, 0);
    ASSERT_EQ(vmctl({"resume", "copy"}).exit_code, 0);
    EXPECT_NE(console("copy", "tick 300\r\n").find("tick 300\r\n"), std::string::npos);
    expect_refused(vmctl({"restore", snapshot_, "late"}), "DATA_LOSS", "size");
}

TEST_F(SnapshotCliTest, BadSnapshotsAndRequestsGetTheirStatus)
{
    expect_refused(vmctl({"restore", file("none"), "x"}), "NOT_FOUND", file("none"));
    ASSERT_EQ(vmctl({"pause", "src"}).exit_code, 0);
    ASSERT_EQ(vmctl({"snapshot", "src", snapshot_}).exit_code, 0);
    expect_refused(vmctl({"restore", snapshot_, "src"}), "ALREADY_EXISTS", "src");
    expect_refused(vmctl({"restore", snapshot_, "bad/name"}), "INVALID_ARGUMENT", "bad machine name");
    expect_refused(vmctl({"clone", snapshot_, "c", "-n", "1001"}), "INVALID_ARGUMENT", "1 to 1000");

    std::filesystem::copy(snapshot_, file("damaged"));
    {
        std::fstream state(file("damaged") + "/state", std::ios::in | std::ios::out | std::ios::binary);
        state.seekp(40);
        state.put('\x7f');
    }
    expect_refused(vmctl({"restore", file("damaged"), "d"}), "DATA_LOSS", "checksum");
    expect_refused(vmctl({"get", "d"}), "NOT_FOUND", "no machine named 'd'");
}

}  // namespace
}  // namespace vmruntime::testing
