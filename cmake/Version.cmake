# The one version string of chatd, chat and chat-load: the project version,
# plus `git describe` when built from a git checkout. Programs link
# chatd_version and include "chatd_version.hpp" (CHATD_VERSION).
#
# The header is rewritten at every build, not only at configure time, so a
# commit made after `cmake` still shows; write_version.cmake leaves the file
# alone when the text is the same, so nothing recompiles without a change.
set(CHATD_VERSION_HEADER ${PROJECT_BINARY_DIR}/generated/chatd_version.hpp)
set(CHATD_VERSION_GIT "" CACHE STRING
    "git describe text to use instead of asking git (for builds from a copy of the tree without .git)")
set(_chatd_version_args
    -DSOURCE_DIR=${PROJECT_SOURCE_DIR} -DOUTPUT=${CHATD_VERSION_HEADER}
    -DPROJECT_VERSION=${PROJECT_VERSION} -DGIT_OVERRIDE=${CHATD_VERSION_GIT})
execute_process(COMMAND ${CMAKE_COMMAND} ${_chatd_version_args} -P ${CMAKE_CURRENT_LIST_DIR}/write_version.cmake)
add_custom_target(chatd_version_header
                  COMMAND ${CMAKE_COMMAND} ${_chatd_version_args} -P ${CMAKE_CURRENT_LIST_DIR}/write_version.cmake
                  BYPRODUCTS ${CHATD_VERSION_HEADER}
                  COMMENT "" VERBATIM)
add_library(chatd_version INTERFACE)
target_include_directories(chatd_version INTERFACE ${PROJECT_BINARY_DIR}/generated)
add_dependencies(chatd_version chatd_version_header)
