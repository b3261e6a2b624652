// SPDX-License-Identifier: BSD-2-Clause
//
// vmctl(1), vmruntimed(8) and vmctl's bash completion, made from the help
// tables: the pages render cleanly and cover every command and option, the
// build's copies are current, completion offers verbs, options and machine
// names, and every vmctl command the README shows is one vmctl knows.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "daemon.h"

namespace vmruntime::testing {
namespace {

std::string read_file(const std::string& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// The verbs `vmctl --help` lists.
std::set<std::string> help_verbs()
{
    const std::string help = run_command({VMCTL_PATH, "--help"}).out;
    std::set<std::string> verbs;
    const std::string commands = help.substr(help.find("Commands:\n"));
    const std::regex verb_line("\n  ([a-z]+) ");
    for (std::sregex_iterator m(commands.begin(), commands.end(), verb_line), end; m != end; ++m) {
        verbs.insert((*m)[1]);
    }
    return verbs;
}

// What `_vmctl` offers for the words typed so far (the last one being
// completed), with `socket` as the daemon's.
std::string complete(const std::string& words)
{
    const std::string script = "source <(" + std::string(VMCTL_PATH) + " completion bash)\n"
                               "vmctl() { " + VMCTL_PATH + " \"$@\"; }\n"
                               "COMP_WORDS=(" + words + ")\n"
                               "COMP_CWORD=$((${#COMP_WORDS[@]} - 1))\n"
                               "_vmctl\n"
                               "echo \"${COMPREPLY[*]}\"\n";
    return run_command({"/bin/bash", "-c", script}).out;
}

TEST(ManualTest, ManPageRendersAndCoversEveryCommand)
{
    auto page = run_command({VMCTL_PATH, "--man"});
    ASSERT_EQ(page.exit_code, 0) << page.err;
    const auto verbs = help_verbs();
    ASSERT_GT(verbs.size(), 20u);
    for (const auto& verb : verbs) {
        EXPECT_NE(page.out.find(".B vmctl " + verb + "\n"), std::string::npos) << verb;
    }
    EXPECT_EQ(read_file(VMCTL_MAN_PAGE), page.out) << "the build's vmctl.1 is not current";
    auto rendered = run_command({"/bin/sh", "-c", std::string(VMCTL_PATH) + " --man | groff -man -Tutf8 -ww -z"});
    EXPECT_EQ(rendered.exit_code, 0) << rendered.err;
    EXPECT_EQ(rendered.err, "") << "groff warns about vmctl --man";
}

TEST(ManualTest, DaemonManPageRendersAndCoversEveryOption)
{
    auto page = run_command({VMRUNTIMED_PATH, "--man"});
    ASSERT_EQ(page.exit_code, 0) << page.err;
    const std::string help = run_command({VMRUNTIMED_PATH, "--help"}).out;
    const std::regex option_line("\n  (--[a-z-]+)");
    size_t options = 0;
    for (std::sregex_iterator m(help.begin(), help.end(), option_line), end; m != end; ++m, ++options) {
        std::string roff_name = std::regex_replace((*m)[1].str(), std::regex("-"), "\\-");
        EXPECT_NE(page.out.find(".B " + roff_name), std::string::npos) << (*m)[1];
    }
    EXPECT_GT(options, 10u);
    EXPECT_EQ(read_file(VMRUNTIMED_MAN_PAGE), page.out) << "the build's vmruntimed.8 is not current";
    auto rendered =
        run_command({"/bin/sh", "-c", std::string(VMRUNTIMED_PATH) + " --man | groff -man -Tutf8 -ww -z"});
    EXPECT_EQ(rendered.exit_code, 0) << rendered.err;
    EXPECT_EQ(rendered.err, "") << "groff warns about vmruntimed --man";
}

TEST(ManualTest, CompletionOffersVerbsAndOptions)
{
    EXPECT_EQ(complete("vmctl re"), "regs reset restart restore resume\n");
    EXPECT_EQ(complete("vmctl rm -"), "--force --help -f --json\n") << "aliases complete as their verb";
    EXPECT_EQ(complete("vmctl --json stop --t"), "--timeout\n");
    EXPECT_EQ(complete("vmctl create x --kernel /dev/nul"), "/dev/null\n") << "file options complete files";
    EXPECT_EQ(read_file(VMCTL_COMPLETION), run_command({VMCTL_PATH, "completion", "bash"}).out);
    EXPECT_EQ(run_command({VMCTL_PATH, "completion", "zsh"}).exit_code, 2);
}

// The README's code: its fenced blocks and its `inline` spans.
std::string code_of(const std::string& markdown)
{
    std::string code;
    size_t at = 0;
    for (bool fenced = false;; fenced = !fenced) {
        const size_t fence = markdown.find("```", at);
        const std::string part = markdown.substr(at, fence == std::string::npos ? fence : fence - at);
        if (fenced) {
            code += part;
        } else {
            const std::regex inline_code("`([^`\n]+)`");
            for (std::sregex_iterator m(part.begin(), part.end(), inline_code), end; m != end; ++m) {
                code += (*m)[1].str() + "\n";
            }
        }
        if (fence == std::string::npos) {
            return code;
        }
        at = fence + 3;
    }
}

TEST(ManualTest, ReadmeShowsOnlyCommandsVmctlKnows)
{
    const std::string readme = code_of(read_file(README_PATH));
    ASSERT_FALSE(readme.empty());
    std::set<std::string> known = help_verbs();
    known.insert({"ls", "ps", "rm", "inspect", "help"});
    const std::regex use("(?:^|[ /(])vmctl (?:--[a-z-]+ (?:\\S+ )?)*([a-z]+)");
    size_t uses = 0;
    for (std::sregex_iterator m(readme.begin(), readme.end(), use), end; m != end; ++m, ++uses) {
        EXPECT_TRUE(known.count((*m)[1])) << "README uses vmctl " << (*m)[1];
    }
    EXPECT_GT(uses, 5u);
}

class ManualCompletionTest : public DaemonFixture {};

TEST_F(ManualCompletionTest, CompletionOffersTheDaemonsMachines)
{
    for (const char* name : {"web-1", "web-2", "db"}) {
        ASSERT_EQ(vmctl({"create", name, HELLO_ELF}).exit_code, 0);
    }
    EXPECT_EQ(complete("vmctl --socket " + daemon_.socket() + " start web"), "web-1 web-2\n");
    EXPECT_EQ(complete("vmctl --socket " + daemon_.socket() + " inspect d"), "db\n");
}

}  // namespace
}  // namespace vmruntime::testing
