// SPDX-License-Identifier: BSD-2-Clause
#include "server/fs_identity.h"

#include <grp.h>
#include <pwd.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace vmruntime::server {
namespace {

// glibc's setgroups() changes every thread of the process (it is POSIX's
// process-wide call); the system call changes only the caller.
int set_thread_groups(const std::vector<gid_t>& groups)
{
    return static_cast<int>(::syscall(SYS_setgroups, groups.size(), groups.data()));
}

std::vector<gid_t> thread_groups()
{
    std::vector<gid_t> groups(static_cast<size_t>(::getgroups(0, nullptr)));
    int n = ::getgroups(static_cast<int>(groups.size()), groups.data());
    groups.resize(n < 0 ? 0 : static_cast<size_t>(n));
    return groups;
}

// gid plus what the user database lists for uid; gid alone for a uid it
// does not know (a client need not have a name).
std::vector<gid_t> groups_of(uid_t uid, gid_t gid)
{
    std::vector<char> buffer(16384);
    passwd entry;
    passwd* found = nullptr;
    if (::getpwuid_r(uid, &entry, buffer.data(), buffer.size(), &found) != 0 || !found) {
        return {gid};
    }
    int n = 32;
    std::vector<gid_t> groups(static_cast<size_t>(n));
    while (::getgrouplist(found->pw_name, gid, groups.data(), &n) == -1) {
        groups.resize(static_cast<size_t>(n));
    }
    groups.resize(static_cast<size_t>(n));
    return groups;
}

// setfsuid/setfsgid return the previous value and report no error: asking
// with an invalid id (-1) changes nothing and tells the current one.
uid_t current_fsuid() { return static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))); }
gid_t current_fsgid() { return static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))); }

}  // namespace

ThreadFsIdentity::ThreadFsIdentity(uid_t uid, gid_t gid)
    : saved_uid_(current_fsuid()), saved_gid_(current_fsgid())
{
    if (uid == saved_uid_ && uid != 0) {
        ok_ = true;  // an unprivileged daemon's own user: its rights already
        return;
    }
    saved_groups_ = thread_groups();
    switched_ = true;
    if (set_thread_groups(groups_of(uid, gid)) != 0) {
        return;
    }
    ::setfsgid(gid);
    ::setfsuid(uid);
    ok_ = current_fsgid() == gid && current_fsuid() == uid;
}

ThreadFsIdentity::~ThreadFsIdentity()
{
    if (switched_) {
        restore();
    }
}

void ThreadFsIdentity::restore()
{
    // fsuid first: back at 0 it gives the file capabilities back.
    ::setfsuid(saved_uid_);
    ::setfsgid(saved_gid_);
    set_thread_groups(saved_groups_);
}

}  // namespace vmruntime::server
