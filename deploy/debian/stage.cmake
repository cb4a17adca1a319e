# deploy/debian/stage.cmake - CPACK_PRE_BUILD_SCRIPTS of the DEB package
# (deploy/package.cmake): run by cpack after "cmake --install" has filled
# the staging tree (prefix /usr), before the .deb is made of it.  Gives the
# tree the layout Debian 12 and lintian want; everything else stays as the
# install rules of CMakeLists.txt put it.
cmake_minimum_required(VERSION 3.19)

set(root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
set(doc "${root}/usr/share/doc/registrar")
if(NOT EXISTS "${root}/usr/sbin/registrar")
  message(FATAL_ERROR "stage.cmake: no usr/sbin/registrar in ${root}")
endif()
if(NOT CPACK_REGISTRAR_DEBIAN_UPSTREAM STREQUAL CPACK_PACKAGE_VERSION)
  message(FATAL_ERROR "deploy/debian/changelog: the top entry is version "
          "${CPACK_REGISTRAR_DEBIAN_UPSTREAM}, the project is "
          "${CPACK_PACKAGE_VERSION}: add an entry for it")
endif()
find_program(GZIP gzip REQUIRED)
find_program(STRIP strip REQUIRED)

# gzip_n SRC DST: gzip -9n, as Debian wants (no name, no time stamp).
function(gzip_n src dst)
  execute_process(COMMAND ${GZIP} -9nc "${src}" OUTPUT_FILE "${dst}"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "stage.cmake: gzip ${src}: ${rc}")
  endif()
endfunction()

# The units: /lib/systemd/system on Debian 12 (not /usr/lib).
if(EXISTS "${root}/usr/lib/systemd")
  file(MAKE_DIRECTORY "${root}/lib")
  file(RENAME "${root}/usr/lib/systemd" "${root}/lib/systemd")
  file(GLOB left "${root}/usr/lib/*")
  if(NOT left)
    file(REMOVE_RECURSE "${root}/usr/lib")
  endif()
endif()

# Man pages, the README and the guides of doc/ (policy 12.3: documentation
# over 4 kB), gzip'd.  The examples stay as they are: they are copied, not
# read.
file(GLOB pages "${root}/usr/share/man/man*/*")
file(GLOB guides "${doc}/doc/*.md")
foreach(f IN LISTS pages guides ITEMS "${doc}/README.md")
  if(NOT f MATCHES "\\.gz$")
    gzip_n("${f}" "${f}.gz")
    file(REMOVE "${f}")
  endif()
endforeach()

# The example config, as the conffile /etc/registrar/registrar.conf; the
# postinst gives it (and the directory) to root:registrar.
file(MAKE_DIRECTORY "${root}/etc/registrar")
configure_file("${doc}/examples/registrar.conf"
               "${root}/etc/registrar/registrar.conf" COPYONLY)

# copyright and changelog.Debian.gz, as lintian wants them; the copyright
# file carries LICENSE's text, so LICENSE itself is not shipped twice.
configure_file("${CPACK_REGISTRAR_DEBIAN_DIR}/copyright" "${doc}/copyright"
               COPYONLY)
file(REMOVE "${doc}/LICENSE")
gzip_n("${CPACK_REGISTRAR_DEBIAN_DIR}/changelog" "${doc}/changelog.Debian.gz")

# Modes whatever the umask was: 0755 directories and the binary, 0644 the
# rest.  The config too: lintian wants 0644 in the package, and the
# postinst's dpkg-statoverride makes it root:registrar 0640 before it can
# hold a secret (the example names a secret_file), and on every later
# unpack.
file(GLOB_RECURSE entries LIST_DIRECTORIES true "${root}/*")
foreach(f IN LISTS entries)
  if(IS_DIRECTORY "${f}")
    file(CHMOD "${f}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
         GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
  else()
    file(CHMOD "${f}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ
         WORLD_READ)
  endif()
endforeach()
file(CHMOD "${root}/usr/sbin/registrar" PERMISSIONS OWNER_READ OWNER_WRITE
     OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# Stripped as dh_strip does it (its debug symbols are not packaged).
execute_process(COMMAND ${STRIP} --remove-section=.comment
                        --remove-section=.note "${root}/usr/sbin/registrar"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "stage.cmake: strip usr/sbin/registrar: ${rc}")
endif()
