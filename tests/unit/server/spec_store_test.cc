// SPDX-License-Identifier: BSD-2-Clause
//
// The specs on disk (server/spec_store.h): uploads beside the JSON, loaded
// back whole; what interrupted writes and deletes leave is cleaned up; a
// spec whose upload is lost is skipped, not half-loaded.
#include "server/spec_store.h"

#include <stdlib.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace vmruntime::server {
namespace {

namespace fs = std::filesystem;

class SpecStoreTest : public ::testing::Test {
protected:
    static fs::path make_dir()
    {
        std::string tmpl = ::testing::TempDir() + "spec_store_test.XXXXXX";
        return ::mkdtemp(tmpl.data()) ? fs::path(tmpl) : fs::path();
    }
    void SetUp() override { ASSERT_FALSE(dir_.empty()) << "mkdtemp failed"; }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path machines() const { return dir_ / "machines"; }

    std::vector<std::string> files() const
    {
        std::vector<std::string> names;
        for (const auto& f : fs::directory_iterator(machines())) {
            names.push_back(f.path().filename().string());
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    std::string read(const std::string& name) const
    {
        std::ifstream in(machines() / name, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    void write(const std::string& name, const std::string& text) const
    {
        std::ofstream(machines() / name, std::ios::binary) << text;
    }

    std::vector<v1::MachineSpec> load() const
    {
        std::vector<v1::MachineSpec> specs;
        EXPECT_TRUE(store_.load(&specs).ok());
        std::sort(specs.begin(), specs.end(),
                  [](const auto& a, const auto& b) { return a.name() < b.name(); });
        return specs;
    }

    const fs::path dir_ = make_dir();
    const SpecStore store_{dir_ / "machines"};
};

v1::MachineSpec uploaded(const std::string& name, std::string image, std::string initrd = "")
{
    v1::MachineSpec spec;
    spec.set_name(name);
    spec.set_image_bytes(std::move(image));
    if (!initrd.empty()) {
        spec.set_initrd_bytes(std::move(initrd));
    }
    return spec;
}

TEST_F(SpecStoreTest, UploadsLiveBesideTheSpecAndLoadBackWhole)
{
    load();
    v1::MachineSpec spec = uploaded("up", std::string(100000, 'k'), "initrd bytes");
    spec.set_cmdline("console=ttyS0");
    const std::string before = spec.SerializeAsString();
    ASSERT_TRUE(store_.save(spec).ok());
    EXPECT_EQ(spec.SerializeAsString(), before) << "save leaves the spec as it was";
    EXPECT_EQ(files(), (std::vector<std::string>{"up.image", "up.initrd", "up.json"}));
    EXPECT_EQ(read("up.image"), std::string(100000, 'k'));
    EXPECT_EQ(read("up.initrd"), "initrd bytes");
    EXPECT_LT(read("up.json").size(), 1000u);

    auto specs = load();
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].SerializeAsString(), before);
}

TEST_F(SpecStoreTest, PathsNeedNoUploadFiles)
{
    load();
    v1::MachineSpec spec;
    spec.set_name("named");
    spec.set_image_path("/srv/images/hello.elf");
    ASSERT_TRUE(store_.save(spec).ok());
    EXPECT_EQ(files(), (std::vector<std::string>{"named.json"}));
    auto specs = load();
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].image_path(), "/srv/images/hello.elf");
}

TEST_F(SpecStoreTest, InlineBytesOfAnOlderDaemonStillLoad)
{
    load();
    write("old.json", R"({"name": "old", "image_bytes": "aGVsbG8="})");
    auto specs = load();
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].image_bytes(), "hello");
}

TEST_F(SpecStoreTest, LeftoversOfInterruptedWritesAndDeletesAreRemoved)
{
    load();
    v1::MachineSpec kept = uploaded("kept", "image");
    ASSERT_TRUE(store_.save(kept).ok());
    write("kept.json.tmp", "half a spec");
    write("crashed.image.tmp", "half an image");
    write("crashed.image", "an image whose spec was never written");
    write("deleted.initrd", "an initrd whose spec is gone");
    auto specs = load();
    ASSERT_EQ(specs.size(), 1u);
    EXPECT_EQ(specs[0].image_bytes(), "image");
    EXPECT_EQ(files(), (std::vector<std::string>{"kept.image", "kept.json"}));
}

TEST_F(SpecStoreTest, ASpecWhoseUploadIsLostIsSkipped)
{
    load();
    v1::MachineSpec spec = uploaded("lost", "image");
    ASSERT_TRUE(store_.save(spec).ok());
    fs::remove(machines() / "lost.image");
    EXPECT_TRUE(load().empty());
}

TEST_F(SpecStoreTest, RemoveTakesTheUploadsToo)
{
    load();
    v1::MachineSpec spec = uploaded("gone", "image", "initrd");
    ASSERT_TRUE(store_.save(spec).ok());
    store_.remove("gone");
    EXPECT_TRUE(files().empty());
}

}  // namespace
}  // namespace vmruntime::server
