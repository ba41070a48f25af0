# package.cmake — the Debian package, built with `cpack -G DEB` in a build
# directory: wb_<version>_amd64.deb with everything `cmake --install`
# installs (under /usr) plus the service component: /etc/wb/wb.conf (a
# conffile: an admin's edits survive upgrades) and the systemd unit
# /lib/systemd/system/wb.service. The maintainer scripts (cmake/debian/)
# create the wb system user and /var/lib/wb (0700, wb:wb).
set(CPACK_PACKAGE_NAME wb)
set(CPACK_PACKAGE_VENDOR "wb")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "experiment tracking: C SDK (libwb) and self-hosted server")
set(CPACK_PACKAGE_CONTACT "wb maintainers <wb@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# cracklib-runtime: the dictionary libpwquality checks passwords against
# (libcrack2 only recommends it; without it every password is refused).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, cracklib-runtime")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/cmake/debian/conffiles
  ${PROJECT_SOURCE_DIR}/cmake/debian/postinst
  ${PROJECT_SOURCE_DIR}/cmake/debian/prerm
  ${PROJECT_SOURCE_DIR}/cmake/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# One package holding the default component and "service" (which a plain
# `cmake --install` leaves out, see install.cmake).
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified service)
set(CPACK_WARN_ON_ABSOLUTE_INSTALL_DESTINATION OFF)
# `cpack` and `make install` package what is built; they do not build first
# (the test builds the tree before it packages).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY TRUE)
include(CPack)
