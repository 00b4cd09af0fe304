# Installs the built tree into a temporary prefix and builds examples/ against it, through
# find_package (shared and static) and through pkg-config; checks SONAME, exports and the CLI.
add_test(NAME install_package
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_test.sh ${CMAKE_BINARY_DIR}
                 ${CMAKE_SOURCE_DIR} ${CMAKE_COMMAND})
set_tests_properties(install_package PROPERTIES LABELS install TIMEOUT 300)
