# What `cmake --install` places, and the Debian packages CPack builds from it:
#   bin/edge-agent, bin/cloud-worker, bin/fleet-planner   the programs (RUNPATH $ORIGIN/../lib...)
#   lib/libedgesplit.so.0                      the task runtime (tasks/CMakeLists.txt)
#   include/edgesplit/, lib/pkgconfig/edgesplit.pc   for plugins (component dev)
#   share/edgesplit/broker-config/             mosquitto and RabbitMQ configurations
#   share/edgesplit/examples/                  configuration files and the example plugin
#   share/edgesplit/dashboard/                 the live page and mqtt.min.js
#   lib/systemd/system/edgesplit-{edge,worker,planner}@.service
# Components: runtime (package edgesplit) and dev (package edgesplit-dev).

# The installed programs find the runtime beside them whatever the prefix.
file(RELATIVE_PATH es_bin_to_lib ${CMAKE_INSTALL_FULL_BINDIR} ${CMAKE_INSTALL_FULL_LIBDIR})
set_target_properties(edge-agent cloud-worker fleet-planner PROPERTIES INSTALL_RPATH "$ORIGIN/${es_bin_to_lib}")
install(TARGETS edge-agent cloud-worker fleet-planner RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  COMPONENT runtime)

set(es_share ${CMAKE_INSTALL_DATADIR}/edgesplit)
install(DIRECTORY broker-config/ DESTINATION ${es_share}/broker-config COMPONENT runtime)
install(DIRECTORY packaging/examples/ DESTINATION ${es_share}/examples COMPONENT runtime)
install(DIRECTORY examples/plugin DESTINATION ${es_share}/examples COMPONENT dev
  PATTERN "*.so" EXCLUDE PATTERN "*.o" EXCLUDE)

# The dashboard page, with mqtt.js when `npm ci` fetched it (scripts/setup.sh does), for a
# broker listener's http_dir (broker-config/dashboard.conf).
install(FILES cloud/dashboard/index.html cloud/dashboard/dashboard.js cloud/dashboard/style.css
  DESTINATION ${es_share}/dashboard COMPONENT runtime)
if(EXISTS ${CMAKE_SOURCE_DIR}/cloud/dashboard/node_modules/mqtt/dist/mqtt.min.js)
  install(FILES cloud/dashboard/node_modules/mqtt/dist/mqtt.min.js
    DESTINATION ${es_share}/dashboard COMPONENT runtime)
endif()

# systemd units, with the installed programs' directory filled in at install time, so that
# `cmake --install --prefix P` and the packages (prefix /usr) each name their own programs.
foreach(unit edgesplit-edge@ edgesplit-worker@ edgesplit-planner@)
  set(es_unit_in ${CMAKE_SOURCE_DIR}/packaging/systemd/${unit}.service.in)
  set(es_unit_out ${CMAKE_BINARY_DIR}/systemd/${unit}.service)
  install(CODE "set(BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
    configure_file(\"${es_unit_in}\" \"${es_unit_out}\" @ONLY)" COMPONENT runtime)
  install(FILES ${es_unit_out} DESTINATION lib/systemd/system COMPONENT runtime)
endforeach()

file(RELATIVE_PATH ES_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" ES_PC_TO_PREFIX "${ES_PC_TO_PREFIX}")
configure_file(cmake/edgesplit.pc.in ${CMAKE_BINARY_DIR}/edgesplit.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/edgesplit.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT dev)

# Debian packages: `cpack` in the build directory (CPackConfig.cmake) writes
# edgesplit_<version>_<arch>.deb and edgesplit-dev_<version>_<arch>.deb. The runtime's library
# dependencies come from dpkg-shlibdeps, so they are Debian's own package names.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME edgesplit)
set(CPACK_PACKAGE_VENDOR "edgesplit")
set(CPACK_PACKAGE_CONTACT "edgesplit maintainers <maintainers@edgesplit.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "split stream processing between IoT devices and cloud workers over MQTT")
set(CPACK_PACKAGE_DESCRIPTION "The edge agent runs the first stages of a pipeline on the device \
and publishes the partly processed frame to MQTT; cloud workers run the rest. In automatic mode \
the agent moves the split to meet an FPS goal with the most work kept on the device.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
# A shlibs file and the ldconfig trigger for libedgesplit.so.0.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/lib)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME edgesplit)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS "mosquitto, mosquitto-clients")
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SUGGESTS "rabbitmq-server")
set(CPACK_DEBIAN_DEV_PACKAGE_NAME edgesplit-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "libjansson-dev, pkg-config")
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS runtime)
include(CPack)
