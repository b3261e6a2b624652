// SPDX-License-Identifier: BSD-2-Clause
//
// The console log's files without a machine: records written by LogFiles
// and read back line by line by LogReader, the line times, unended and
// long lines, rotation at the bound keeping the newest lines, damaged and
// cut-short files, and the line counts a tail is taken with.
#include "server/console_log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace vmruntime::server {
namespace {

class ConsoleLogFilesTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        char tmpl[] = "/tmp/console-log-test.XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        path_ = dir_ / "logs" / "m.log";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::vector<LogPiece> read_all(const LogFiles& files)
    {
        auto history = files.history();
        EXPECT_TRUE(history.ok()) << history.status();
        std::vector<LogPiece> pieces;
        LogReader reader(*history);
        while (auto piece = reader.next()) {
            pieces.push_back(*piece);
        }
        return pieces;
    }

    void append_file(const std::filesystem::path& path, const std::string& bytes)
    {
        std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
    }

    std::filesystem::path dir_;
    std::filesystem::path path_;
};

std::vector<std::string> texts(const std::vector<LogPiece>& pieces)
{
    std::vector<std::string> out;
    for (const auto& piece : pieces) {
        out.push_back(piece.text);
    }
    return out;
}

TEST(LineCutterTest, PiecesCarryTheTimeOfTheirLinesFirstByte)
{
    LineCutter cutter;
    std::vector<LogPiece> pieces;
    cutter.cut(10, "a\nbc", &pieces);
    EXPECT_TRUE(cutter.open_line());
    cutter.cut(20, "d\ne", &pieces);
    ASSERT_EQ(pieces.size(), 4u);
    EXPECT_EQ(pieces[0].text, "a\n");
    EXPECT_EQ(pieces[0].time_ns, 10);
    EXPECT_EQ(pieces[1].text, "bc");
    EXPECT_EQ(pieces[1].time_ns, 10);
    EXPECT_EQ(pieces[2].text, "d\n");
    EXPECT_EQ(pieces[2].time_ns, 10) << "the rest of a line begun at 10";
    EXPECT_EQ(pieces[3].text, "e");
    EXPECT_EQ(pieces[3].time_ns, 20);

    LineCutter resumed;
    resumed.resume_open_line(5);
    pieces.clear();
    resumed.cut(30, "f\n", &pieces);
    ASSERT_EQ(pieces.size(), 1u);
    EXPECT_EQ(pieces[0].time_ns, 5);
}

TEST_F(ConsoleLogFilesTest, LinesSpanRecordsAndKeepTheirFirstBytesTime)
{
    LogFiles files(path_);
    EXPECT_TRUE(read_all(files).empty()) << "no file, no history";
    EXPECT_FALSE(files.ends_open_line());
    ASSERT_TRUE(files.append(100, "one\ntw").ok());
    EXPECT_TRUE(files.ends_open_line());
    ASSERT_TRUE(files.append(200, "o\nthree\n").ok());
    EXPECT_FALSE(files.ends_open_line());
    ASSERT_TRUE(files.append(300, "$ ").ok());
    files.close();

    auto pieces = read_all(files);
    EXPECT_EQ(texts(pieces), (std::vector<std::string>{"one\n", "two\n", "three\n", "$ "}));
    ASSERT_EQ(pieces.size(), 4u);
    EXPECT_EQ(pieces[0].time_ns, 100);
    EXPECT_EQ(pieces[1].time_ns, 100);
    EXPECT_EQ(pieces[2].time_ns, 200);
    EXPECT_EQ(pieces[3].time_ns, 300);
    auto history = files.history();
    ASSERT_TRUE(history.ok());
    EXPECT_EQ(count_lines(*history), 4u) << "the unended last line counts";

    EXPECT_EQ(std::filesystem::file_size(path_), std::string("100 6\none\ntw200 8\no\nthree\n300 2\n$ ").size())
        << "the documented format";
}

TEST_F(ConsoleLogFilesTest, RotationKeepsTwoBoundedFilesWithTheNewestLines)
{
    constexpr uint64_t kBound = 4096;
    LogFiles files(path_, kBound);
    for (int i = 0; i < 1000; i++) {
        ASSERT_TRUE(files.append(i, "line " + std::to_string(i) + "\n").ok());
    }
    files.close();
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path_.parent_path())) {
        names.push_back(entry.path().filename().string());
        EXPECT_LE(entry.file_size(), kBound) << entry.path();
    }
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, (std::vector<std::string>{"m.log", "m.log.1"}));

    auto pieces = read_all(files);
    ASSERT_GT(pieces.size(), 100u) << "about two files' worth";
    ASSERT_LT(pieces.size(), 1000u);
    const int first = 1000 - static_cast<int>(pieces.size());
    for (size_t i = 0; i < pieces.size(); i++) {
        EXPECT_EQ(pieces[i].text, "line " + std::to_string(first + static_cast<int>(i)) + "\n");
        EXPECT_EQ(pieces[i].time_ns, first + static_cast<int>(i));
    }
}

TEST_F(ConsoleLogFilesTest, LongLinesComeInPiecesOfOneLine)
{
    LogFiles files(path_);
    const std::string line = std::string(kLogRecordBytes * 2 + 100, 'x') + "\n";
    ASSERT_TRUE(files.append(7, line.substr(0, 1000)).ok());
    ASSERT_TRUE(files.append(8, line.substr(1000)).ok());
    files.close();
    auto pieces = read_all(files);
    ASSERT_EQ(pieces.size(), 3u);
    std::string joined;
    for (const auto& piece : pieces) {
        EXPECT_LE(piece.text.size(), kLogRecordBytes);
        EXPECT_EQ(piece.time_ns, 7);
        joined += piece.text;
    }
    EXPECT_EQ(joined, line);
    auto history = files.history();
    ASSERT_TRUE(history.ok());
    EXPECT_EQ(count_lines(*history), 1u);
}

TEST_F(ConsoleLogFilesTest, ADamagedFileIsSaidToBeAndTheNextIsRead)
{
    LogFiles files(path_);
    ASSERT_TRUE(files.append(1, "kept\nopen").ok());
    files.close();
    append_file(path_, "garbage that is no header\nmore\n");
    std::filesystem::rename(path_, path_.string() + ".1");
    ASSERT_TRUE(files.append(2, "newer\n").ok());
    files.close();

    auto pieces = read_all(files);
    ASSERT_EQ(pieces.size(), 4u) << ::testing::PrintToString(texts(pieces));
    EXPECT_EQ(pieces[0].text, "kept\n");
    EXPECT_EQ(pieces[1].text, "open\n") << "the open line ends before the damage is said";
    EXPECT_EQ(pieces[2].text, "[vmruntimed: m.log.1 is damaged at byte 13; the rest of it is left out]\n");
    EXPECT_EQ(pieces[3].text, "newer\n");
}

TEST_F(ConsoleLogFilesTest, AFileCutShortInARecordGivesWhatItHolds)
{
    std::filesystem::create_directories(path_.parent_path());
    append_file(path_, "5 3\nab\n9 100\nshort");
    LogFiles files(path_);
    EXPECT_EQ(texts(read_all(files)), (std::vector<std::string>{"ab\n", "short"}));
    std::filesystem::rename(path_, path_.string() + ".1");
    append_file(path_, "6 2\ncd12");
    EXPECT_EQ(texts(read_all(files)), (std::vector<std::string>{"ab\n", "shortcd"})) << "a header cut short";
}

}  // namespace
}  // namespace vmruntime::server
