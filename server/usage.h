// SPDX-License-Identifier: BSD-2-Clause
//
// vmruntimed's options as --help and vmruntimed(8) show them, both made
// from one table (usage.cc) so that they cannot drift.
#pragma once

#include <ostream>

namespace vmruntime::server {

void print_usage(std::ostream& out);
// vmruntimed(8) in roff: the build writes man/vmruntimed.8 with it.
void print_man_page(std::ostream& out);

}  // namespace vmruntime::server
