# Install layout and the Debian package (README.md, "Packaging").
#
#   cmake --install build                       the layout below, under CMAKE_INSTALL_PREFIX
#   cmake --build build --target package        a .deb (configure with -DCMAKE_INSTALL_PREFIX=/usr)
#
# The binary and the probe profiles are installed by the top-level CMakeLists.txt.
# Paths compiled into the binary (the profiles) follow CMAKE_INSTALL_PREFIX, so a
# package is built from a tree configured for the prefix it installs to.
include(GNUInstallDirs)

set(RDPWHY_DOCDIR ${CMAKE_INSTALL_DATADIR}/doc/rdpwhy)
set(RDPWHY_CONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/rdpwhy)

# systemd's own answer where it is installed (/lib/systemd/system on Debian 12).
if(NOT DEFINED RDPWHY_SYSTEMD_UNIT_DIR)
  pkg_get_variable(_rw_unitdir systemd systemdsystemunitdir)
  if(NOT _rw_unitdir)
    set(_rw_unitdir /lib/systemd/system)
  endif()
  set(RDPWHY_SYSTEMD_UNIT_DIR ${_rw_unitdir} CACHE PATH "Where rdpwhy.service is installed")
endif()
option(RDPWHY_INSTALL_SYSTEMD_UNIT "Install rdpwhy.service" ON)
# Debian's zsh reads vendor-completions; site-functions is zsh's default for /usr/local.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_rw_zsh ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
else()
  set(_rw_zsh ${CMAKE_INSTALL_DATADIR}/zsh/site-functions)
endif()
set(RDPWHY_ZSH_COMPLETION_DIR ${_rw_zsh} CACHE PATH "Where the zsh completion _rdpwhy is installed")
set(RDPWHY_BASH_COMPLETION_DIR ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
  CACHE PATH "Where the bash completion is installed")

# Man pages, compressed as Debian ships them (gzip -n: no name or time, reproducible).
set(_rw_man_gz)
foreach(page rdpwhy.1 rdpwhy.conf.5)
  add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/man/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/man
    COMMAND gzip -9n -c ${CMAKE_CURRENT_SOURCE_DIR}/docs/man/${page} > ${CMAKE_CURRENT_BINARY_DIR}/man/${page}.gz
    DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/docs/man/${page}
    VERBATIM)
  list(APPEND _rw_man_gz ${CMAKE_CURRENT_BINARY_DIR}/man/${page}.gz)
endforeach()
add_custom_target(rdpwhy_man ALL DEPENDS ${_rw_man_gz})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/man/rdpwhy.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/man/rdpwhy.conf.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)

# Shell completion.
install(FILES contrib/completion/rdpwhy.bash DESTINATION ${RDPWHY_BASH_COMPLETION_DIR} RENAME rdpwhy)
install(FILES contrib/completion/_rdpwhy DESTINATION ${RDPWHY_ZSH_COMPLETION_DIR})

# The systemd unit, with this installation's paths (the source names /usr/local/bin).
file(READ ${CMAKE_CURRENT_SOURCE_DIR}/conf/rdpwhy.service _rw_unit)
string(REGEX REPLACE "\n(Exec[A-Za-z]*=[^\n]*)/usr/local/bin/rdpwhy" "\n\\1${CMAKE_INSTALL_FULL_BINDIR}/rdpwhy"
  _rw_unit "${_rw_unit}")
string(REPLACE "/etc/rdpwhy/rdpwhy.conf" "${RDPWHY_CONF_DIR}/rdpwhy.conf" _rw_unit "${_rw_unit}")
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/rdpwhy.service CONTENT "${_rw_unit}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/conf/rdpwhy.service)
if(RDPWHY_INSTALL_SYSTEMD_UNIT)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/rdpwhy.service DESTINATION ${RDPWHY_SYSTEMD_UNIT_DIR})
endif()

# The example configuration: installed as the configuration unless one is there
# already (an administrator's file is never overwritten; the package's copy is a
# conffile, which dpkg handles). Also kept with the documentation.
install(CODE "
  set(_rw_conf \"\$ENV{DESTDIR}${RDPWHY_CONF_DIR}/rdpwhy.conf\")
  if(EXISTS \"\${_rw_conf}\")
    message(STATUS \"Keeping: \${_rw_conf} (the example: ${CMAKE_INSTALL_FULL_DATADIR}/doc/rdpwhy/examples/rdpwhy.conf)\")
  else()
    file(INSTALL DESTINATION \"${RDPWHY_CONF_DIR}\" TYPE FILE
      PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
      FILES \"${CMAKE_CURRENT_SOURCE_DIR}/conf/rdpwhy.conf\")
  endif()")
install(FILES conf/rdpwhy.conf DESTINATION ${RDPWHY_DOCDIR}/examples)

# Documentation, in the source tree's layout so that the links between the files hold.
install(FILES README.md DESTINATION ${RDPWHY_DOCDIR})
install(FILES conf/README.md DESTINATION ${RDPWHY_DOCDIR}/conf)
install(DIRECTORY conf/siem DESTINATION ${RDPWHY_DOCDIR}/conf)
file(GLOB _rw_docs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/docs/*.md)
install(FILES ${_rw_docs} DESTINATION ${RDPWHY_DOCDIR}/docs)

# ---- CPack: the .deb -------------------------------------------------------
set(CPACK_PACKAGE_NAME rdpwhy)
set(CPACK_PACKAGE_VENDOR rdpwhy)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "tells why RDP connections die (0x904/0x7): replay, capture, proxy, probe")
set(CPACK_PACKAGE_DESCRIPTION
"rdpwhy reads the cleartext part of RDP connections (TCP, X.224 and the RDP
security negotiation, the TLS handshake, the shape of NLA) and reports for
each connection who closed it, how (FIN, RST, timeout), in which phase, the
likely cause as a stable code, the evidence and a fix: TLS version or cipher
mismatches, rejected or expired certificates, firewall resets, TLS-terminating
load balancers, security-layer refusals, NLA failures, hung hosts, MTU black
holes. It works on pcap files (rdpwhy replay), live on an interface (rdpwhy
capture), inline as a transparent proxy with a systemd unit (rdpwhy proxy),
and asks a host what it accepts (rdpwhy probe).")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
# /etc and the unit directory are absolute destinations: stage them under DESTDIR.
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
find_program(RDPWHY_DPKG dpkg)
if(RDPWHY_DPKG)
  set(CPACK_GENERATOR DEB)
else()
  set(CPACK_GENERATOR TGZ)
endif()

set(RDPWHY_DEB_MAINTAINER "rdpwhy maintainers <maintainers@users.noreply.b-seed-d4d8782d.example>"
  CACHE STRING "Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${RDPWHY_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# The libraries' packages come from dpkg-shlibdeps (dpkg-dev); adduser for postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# librdkafka is loaded when a kafka:// output is made (sink/kafka_lib.h), so
# dpkg-shlibdeps cannot see it: named here (rd_kafka_purge needs 1.0).
if(RDKAFKA_FOUND)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", librdkafka1 (>= 1.0)")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "tcpdump, tshark")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles "${RDPWHY_CONF_DIR}/rdpwhy.conf\n")
foreach(s postinst prerm postrm)
  file(COPY ${CMAKE_CURRENT_SOURCE_DIR}/cmake/deb/${s} DESTINATION ${CMAKE_CURRENT_BINARY_DIR}/deb
    FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_BINARY_DIR}/deb/conffiles
  ${CMAKE_CURRENT_BINARY_DIR}/deb/postinst
  ${CMAKE_CURRENT_BINARY_DIR}/deb/prerm
  ${CMAKE_CURRENT_BINARY_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# A .deb that installs to /usr/local would be refused by any distribution, and the
# binary would look for its profiles there: stop cpack instead (cmake/PackagingCheck.cmake.in).
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/PackagingCheck.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/PackagingCheck.cmake @ONLY)
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_CURRENT_BINARY_DIR}/PackagingCheck.cmake)

set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/\\\\.ci/")
include(CPack)
