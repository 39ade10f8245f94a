# MySQL/MariaDB storage (included by src/server/CMakeLists.txt).
# schema.sql is compiled into the library, so chatd needs no file at run time.
pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb)

set(CHATD_SCHEMA_SQL ${CMAKE_CURRENT_LIST_DIR}/../../schema.sql)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${CHATD_SCHEMA_SQL})
file(READ ${CHATD_SCHEMA_SQL} _chatd_schema_text)
set(_chatd_schema_cpp ${CMAKE_CURRENT_BINARY_DIR}/chatd_schema_sql.cpp)
file(WRITE ${_chatd_schema_cpp}.tmp
  "// Generated from schema.sql by src/server/mysql.cmake.\n"
  "namespace chat::server {\n"
  "extern const char* const kChatdSchemaSql;\n"
  "const char* const kChatdSchemaSql = R\"schema_sql(${_chatd_schema_text})schema_sql\";\n"
  "}  // namespace chat::server\n")
# Rewrites the file only when it changed, so a configure does not force a rebuild.
configure_file(${_chatd_schema_cpp}.tmp ${_chatd_schema_cpp} COPYONLY)

add_library(chat_mysql_storage STATIC
  ${CMAKE_CURRENT_LIST_DIR}/mysql_url.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mysql_sql.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mysql_client.cpp
  ${CMAKE_CURRENT_LIST_DIR}/storage_pipeline.cpp
  ${CMAKE_CURRENT_LIST_DIR}/mysql_storage.cpp
  ${CMAKE_CURRENT_LIST_DIR}/journal.cpp
  ${_chatd_schema_cpp})
target_include_directories(chat_mysql_storage PUBLIC ${CMAKE_CURRENT_LIST_DIR}/..)
target_link_libraries(chat_mysql_storage PUBLIC chat_server PkgConfig::MARIADB Threads::Threads)
