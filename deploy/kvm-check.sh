# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash
#
# Sourced by .ci/run and deploy/demo.sh: kvm_banner prints a banner that
# cannot be missed in a log when /dev/kvm is absent, and returns 1 then.

kvm_banner() {
  if [ -e /dev/kvm ]; then
    return 0
  fi
  cat >&2 <<'BANNER'

################################################################################
##                                                                            ##
##   /dev/kvm IS ABSENT: no guest can run on this machine.                    ##
##   Tests that need KVM are SKIPPED; no VM can be started.                   ##
##   Enable KVM (kvm_intel / kvm_amd, or nested virtualisation) to run them.  ##
##                                                                            ##
################################################################################

BANNER
  return 1
}
