// SPDX-License-Identifier: BSD-2-Clause
//
// The calling thread's filesystem identity switched to a local user's for a
// scope: the kernel then checks every open the thread makes as it would
// for that user (fsuid, fsgid, supplementary groups; a root daemon's
// CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH leave with fsuid 0).  Only this
// thread changes, so the rest of the daemon keeps its rights meanwhile.
#pragma once

#include <sys/types.h>

#include <vector>

namespace vmruntime::server {

class ThreadFsIdentity {
public:
    // Takes uid's identity, with gid and the groups the user database
    // gives uid.  ok() says whether the switch took (it needs CAP_SETUID
    // and CAP_SETGID unless uid is the daemon's own).
    ThreadFsIdentity(uid_t uid, gid_t gid);
    // Gives the daemon's identity back.
    ~ThreadFsIdentity();
    ThreadFsIdentity(const ThreadFsIdentity&) = delete;
    ThreadFsIdentity& operator=(const ThreadFsIdentity&) = delete;

    bool ok() const { return ok_; }

private:
    void restore();

    uid_t saved_uid_;
    gid_t saved_gid_;
    std::vector<gid_t> saved_groups_;
    bool switched_ = false;
    bool ok_ = false;
};

}  // namespace vmruntime::server
