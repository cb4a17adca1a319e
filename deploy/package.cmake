# deploy/package.cmake - the Debian package, included by CMakeLists.txt
# after the install() rules.  In a build directory (doc/operating.md,
# "Installing the package", has the commands with Debian's build flags):
#
#   cpack -G DEB        # -> registrar_VERSION-REVISION_ARCH.deb
#
# It packages what "cmake --install" installs, as the install rules put it,
# with prefix /usr and sysconfdir /etc; deploy/debian/stage.cmake then
# gives the staged tree the layout Debian wants (the units in
# /lib/systemd/system, man pages gzip -9n'd, /etc/registrar/registrar.conf,
# copyright (LICENSE's text) and changelog.Debian.gz, the binary stripped).  deploy/debian/
# also holds the control files: conffiles and the maintainer scripts (the
# user registrar, the config's permissions, the secret, systemd).  The top
# entry of deploy/debian/changelog gives the Debian revision and the
# maintainer; its upstream version must be PROJECT_VERSION (stage.cmake
# checks).

# The guides the README points to (doc/*.md), beside it in the doc
# directory (README.md is installed by CMakeLists.txt): an operator reading
# the installed README finds doc/operating.md and the others next to it.
# stage.cmake gzips them for the package, as it does the README.
file(GLOB REGISTRAR_DOCS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/doc/*.md)
install(FILES ${REGISTRAR_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/doc)

if(CMAKE_VERSION VERSION_LESS 3.19)
  message(STATUS "cpack -G DEB needs CMake 3.19 (CPACK_PRE_BUILD_SCRIPTS)")
  return()
endif()
set(REGISTRAR_DEBIAN_DIR ${CMAKE_CURRENT_LIST_DIR}/debian)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${REGISTRAR_DEBIAN_DIR}/changelog)
file(STRINGS ${REGISTRAR_DEBIAN_DIR}/changelog _top LIMIT_COUNT 1
     REGEX "^registrar \\(")
file(STRINGS ${REGISTRAR_DEBIAN_DIR}/changelog _by LIMIT_COUNT 1
     REGEX "^ -- ")
if(NOT _top MATCHES "^registrar \\(([^)-]+)-([^)]+)\\)"
   OR NOT _by MATCHES "^ -- (.+ <[^>]+>)  ")
  message(FATAL_ERROR "${REGISTRAR_DEBIAN_DIR}/changelog: its top entry "
          "must read 'registrar (VERSION-REVISION) ...' and end with ' -- "
          "NAME <EMAIL>  DATE'")
endif()
string(REGEX REPLACE "^registrar \\(([^)-]+)-([^)]+)\\).*" "\\1"
       REGISTRAR_DEBIAN_UPSTREAM "${_top}")
string(REGEX REPLACE "^registrar \\(([^)-]+)-([^)]+)\\).*" "\\2"
       REGISTRAR_DEBIAN_REVISION "${_top}")
string(REGEX REPLACE "^ -- (.+ <[^>]+>)  .*" "\\1"
       REGISTRAR_DEBIAN_MAINTAINER "${_by}")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME registrar)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${REGISTRAR_DEBIAN_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "XMPP component for in-band registration into PostgreSQL")
set(CPACK_PACKAGE_DESCRIPTION
"registrar attaches to an XMPP server (Prosody, ejabberd) as an external
component (XEP-0114) and gives a third-party service an in-band sign-up
desk: XEP-0077 In-Band Registration with a XEP-0004 data form defined in
its configuration file.  Every registration is a row in PostgreSQL, where
the service reads it with SQL.

This package ships the daemon, its systemd units (registrar.service, and
registrar@.service for one instance per configuration file; neither is
enabled at install), the man pages, an example configuration in
/etc/registrar, an example backend (Python, psycopg2) and the SQL (schema
and admin queries) in /usr/share/registrar/sql.")

# Prefix /usr and sysconfdir /etc whatever the build was configured with:
# the install rules see CMAKE_INSTALL_PREFIX=/usr and install under DESTDIR
# (the unit gets /usr/sbin and /etc/registrar from that).
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PRE_BUILD_SCRIPTS ${REGISTRAR_DEBIAN_DIR}/stage.cmake)
# read by stage.cmake
set(CPACK_REGISTRAR_DEBIAN_DIR ${REGISTRAR_DEBIAN_DIR})
set(CPACK_REGISTRAR_DEBIAN_UPSTREAM ${REGISTRAR_DEBIAN_UPSTREAM})

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${REGISTRAR_DEBIAN_REVISION})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${REGISTRAR_DEBIAN_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The libraries, by dpkg-shlibdeps (dpkg-dev); adduser for the postinst.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS adduser)
# python3-psycopg2: the example backend (examples/backend.py); python3-pil:
# the default challenge image command (/usr/libexec/registrar/
# registrar-captcha)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "postgresql, prosody | ejabberd, python3-psycopg2, python3-pil")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${REGISTRAR_DEBIAN_DIR}/conffiles ${REGISTRAR_DEBIAN_DIR}/postinst
    ${REGISTRAR_DEBIAN_DIR}/prerm ${REGISTRAR_DEBIAN_DIR}/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
