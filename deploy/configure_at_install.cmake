# SPDX-License-Identifier: BSD-2-Clause
#
# vmruntime_install_configured(TEMPLATE DESTINATION COMPONENT VAR...):
# installs TEMPLATE (NAME.in) as DESTINATION/NAME, its @VAR@s filled in at
# install time rather than at configure time, so that the files that name
# installed paths (nvmm.pc, vmruntimed.service) name the prefix that
# `cmake --install --prefix` was given.  @CMAKE_INSTALL_PREFIX@ is always
# known; each VAR listed passes its configure-time value (PROJECT_VERSION,
# CMAKE_INSTALL_LIBDIR...).  DESTDIR is honoured, as by install(FILES).
function(vmruntime_install_configured template destination component)
  get_filename_component(name "${template}" NAME_WLE)
  if(IS_ABSOLUTE "${destination}")
    set(full_destination "${destination}")
  else()
    set(full_destination "\${CMAKE_INSTALL_PREFIX}/${destination}")
  endif()
  # One directory per destination, so that installs into two prefixes at
  # once (tests/deploy) do not write the same file.
  set(configured "${CMAKE_CURRENT_BINARY_DIR}/install-time/\${dir_key}/${name}")
  set(code "string(MD5 dir_key \"\$ENV{DESTDIR}${full_destination}\")\n")
  foreach(var IN LISTS ARGN)
    string(APPEND code "set(${var} [==[${${var}}]==])\n")
  endforeach()
  string(APPEND code
    "configure_file([==[${template}]==] \"${configured}\" @ONLY)\n"
    "file(INSTALL \"${configured}\" DESTINATION \"${full_destination}\")\n")
  install(CODE "${code}" COMPONENT ${component})
endfunction()
