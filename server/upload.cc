// SPDX-License-Identifier: BSD-2-Clause
//
// The Upload RPC: a spec and the sizes of its image and initrd, checked
// against the machine's memory before any byte is taken, then the bytes.
// A client that sends more than it announced is told at once; one that
// stops short (or is cancelled) creates nothing.  The machine is built on
// the pool.
#include <boost/asio/post.hpp>

#include <algorithm>
#include <string>

#include "server/machine_service.h"
#include "server/peer.h"
#include "server/status.h"

namespace vmruntime::server {
namespace {

class Upload final : public grpc::ServerReadReactor<v1::UploadRequest> {
public:
    Upload(grpc::CallbackServerContext* ctx, Registry& registry, boost::asio::thread_pool& pool,
           v1::CreateResponse* resp)
        : registry_(registry), pool_(pool), resp_(resp)
    {
        auto owner = owner_of(*ctx);
        if (!owner.ok()) {
            Finish(to_grpc(owner.status()));
            return;
        }
        owner_ = *std::move(owner);
        StartRead(&part_);
    }

    void OnReadDone(bool ok) override
    {
        absl::Status status = guarded("Upload", [&] { return ok ? take(part_) : build(); });
        if (!status.ok()) {
            Finish(to_grpc(status));
        } else if (ok) {
            StartRead(&part_);
        }
    }

    void OnDone() override { delete this; }

private:
    absl::Status take(v1::UploadRequest& part)
    {
        if (!have_spec_) {
            return take_spec(part);
        }
        if (part.has_spec() || part.image_size() || part.initrd_size()) {
            return bad_request("only the first message of an upload carries the spec and sizes");
        }
        return take_data(part.data());
    }

    absl::Status take_spec(v1::UploadRequest& part)
    {
        if (!part.has_spec()) {
            return bad_request("the first message of an upload carries the spec");
        }
        auto limit = registry_.upload_limit(part.spec());
        if (!limit.ok()) {
            return limit.status();
        }
        const std::string& name = part.spec().name();
        if (part.image_size() == 0) {
            return bad_request("the upload for '" + name + "' has no image: give its image_size");
        }
        if (part.image_size() > *limit || part.initrd_size() > *limit - part.image_size()) {
            return over_limit("the upload for '" + name + "' is " +
                              std::to_string(part.image_size() + part.initrd_size()) + " bytes; its image and initrd " +
                              "must fit the machine's memory, " + std::to_string(*limit >> 20) + " MiB");
        }
        spec_ = std::move(*part.mutable_spec());
        spec_.mutable_image_bytes();
        if (part.initrd_size()) {
            spec_.mutable_initrd_bytes();  // the initrd is announced: where its bytes go
        }
        image_size_ = part.image_size();
        initrd_size_ = part.initrd_size();
        have_spec_ = true;
        return take_data(part.data());
    }

    // The image's bytes, then the initrd's.
    absl::Status take_data(const std::string& data)
    {
        std::string& image = *spec_.mutable_image_bytes();
        size_t to_image = std::min<size_t>(data.size(), image_size_ - image.size());
        image.append(data, 0, to_image);
        if (to_image == data.size()) {
            return absl::OkStatus();
        }
        if (spec_.initrd_case() != v1::MachineSpec::kInitrdBytes ||
            data.size() - to_image > initrd_size_ - spec_.initrd_bytes().size()) {
            return bad_request("the upload for '" + spec_.name() + "' sends more than the " +
                               std::to_string(image_size_ + initrd_size_) + " bytes it announced");
        }
        spec_.mutable_initrd_bytes()->append(data, to_image);
        return absl::OkStatus();
    }

    // The client has sent everything (or gone: then nothing hears the answer).
    absl::Status build()
    {
        if (!have_spec_) {
            return bad_request("the upload ended before its spec");
        }
        const uint64_t got = spec_.image_bytes().size() + spec_.initrd_bytes().size();
        if (got != image_size_ + initrd_size_) {
            return bad_request("the upload for '" + spec_.name() + "' ended after " + std::to_string(got) + " of the " +
                               std::to_string(image_size_ + initrd_size_) + " bytes it announced");
        }
        boost::asio::post(pool_, [this] {
            Finish(to_grpc(guarded("Upload", [this] {
                auto info = registry_.create(std::move(spec_), owner_);
                if (info.ok()) {
                    *resp_->mutable_machine() = *std::move(info);
                }
                return info.status();
            })));
        });
        return absl::OkStatus();
    }

    Registry& registry_;
    boost::asio::thread_pool& pool_;
    v1::CreateResponse* resp_;
    v1::Owner owner_;
    v1::UploadRequest part_;
    v1::MachineSpec spec_;
    bool have_spec_ = false;
    uint64_t image_size_ = 0;
    uint64_t initrd_size_ = 0;
};

}  // namespace

grpc::ServerReadReactor<v1::UploadRequest>* make_upload(grpc::CallbackServerContext* ctx, Registry& registry,
                                                        boost::asio::thread_pool& pool, v1::CreateResponse* resp)
{
    return new Upload(ctx, registry, pool, resp);
}

}  // namespace vmruntime::server
