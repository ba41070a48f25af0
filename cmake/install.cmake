# install.cmake — what `cmake --install` puts where (included from the top
# CMakeLists.txt after the targets exist).
#
#   bin/wb                          the server and CLI (libwb linked in statically)
#   lib/libwb.so.0.1.0, .so.0, .so  libwb, SONAME libwb.so.<major>
#   lib/libwb.a                     libwb for static linking
#   include/wb.h, include/wb.hpp    the public header and its C++17 wrapper
#   lib/pkgconfig/wb.pc             `pkg-config --cflags --libs wb`
#   lib/cmake/wb/                   `find_package(wb)`: wb::wb (shared), wb::wb_static
#   share/wb/web/                   the built web UI (index.html, assets/), which
#                                   `wb server` finds at <bin dir>/../share/wb/web
#
# The pkg-config file and the CMake package locate the prefix relative to
# their own directory, so a tree installed with `cmake --install --prefix P`
# (any P, decided after configuring) or unpacked from the .deb works as is.
#
# The service files (/etc/wb/wb.conf, the systemd unit) are in the
# component "service", EXCLUDE_FROM_ALL: they have absolute destinations, so
# a plain `cmake --install --prefix /tmp/x` must not write to /etc. The
# Debian package asks for that component explicitly (cmake/package.cmake).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS wb RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS wb_shared LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS wb_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES ${PROJECT_SOURCE_DIR}/sdk/include/wb.h ${PROJECT_SOURCE_DIR}/sdk/include/wb.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The web UI: exactly what web/build.mjs wrote (a trailing slash copies the contents).
if(TARGET wb_web)
  install(DIRECTORY ${WB_WEB_DIST}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/wb/web)
endif()

# libwb's own dependencies, from what wb_static links: pkg-config module
# names for wb.pc's Requires.private and wbConfig.cmake's wb::wb_static.
set(WB_PC_MODULES_OF_CURL libcurl)
set(WB_PC_MODULES_OF_ZLIB zlib)
set(WB_PC_MODULES_OF_CJSON libcjson)
set(WB_PC_MODULES_OF_LIBGIT2 libgit2)
set(WB_PC_MODULES_OF_SQLITE sqlite3)
set(WB_PC_MODULES_OF_CRYPTO libcrypto)
set(WB_PC_REQUIRES "")
get_target_property(_wb_libs wb_static LINK_LIBRARIES)
foreach(l IN LISTS _wb_libs)
  if(l MATCHES "^PkgConfig::(.+)$")
    if(NOT DEFINED WB_PC_MODULES_OF_${CMAKE_MATCH_1})
      message(FATAL_ERROR "install.cmake: no pkg-config module known for ${l}")
    endif()
    list(APPEND WB_PC_REQUIRES ${WB_PC_MODULES_OF_${CMAKE_MATCH_1}})
  endif()
endforeach()
list(JOIN WB_PC_REQUIRES " " WB_PC_REQUIRES_PRIVATE)

# pkg-config: prefix relative to ${pcfiledir} (= libdir/pkgconfig).
file(RELATIVE_PATH WB_PC_PREFIX_REL "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" WB_PC_PREFIX_REL "${WB_PC_PREFIX_REL}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/wb.pc.in ${PROJECT_BINARY_DIR}/wb.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/wb.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake package.
set(WB_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/wb)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/wbConfig.cmake.in ${PROJECT_BINARY_DIR}/wbConfig.cmake
  INSTALL_DESTINATION ${WB_CMAKE_DIR}
  PATH_VARS CMAKE_INSTALL_LIBDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/wbConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/wbConfig.cmake ${PROJECT_BINARY_DIR}/wbConfigVersion.cmake
  DESTINATION ${WB_CMAKE_DIR})

# Service files, for the Debian package only (see above).
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/wb.conf DESTINATION /etc/wb COMPONENT service EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian/wb.service DESTINATION /lib/systemd/system
  COMPONENT service EXCLUDE_FROM_ALL)
