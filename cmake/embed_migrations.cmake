# Writes OUT: a C array of the SQL migrations in FILES (sorted), each named
# NNN_what.sql, and ROLES (sql/roles.sql, the privileges applied after
# them) as migration_roles.  Fails when the numbers do not run 1, 2, 3...
# without gaps.
string(REPLACE "|" ";" FILES "${FILES}")
set(body "")
set(expected 1)
foreach(f IN LISTS FILES)
  get_filename_component(name ${f} NAME)
  string(REGEX MATCH "^([0-9][0-9][0-9])_" m ${name})
  math(EXPR version "${CMAKE_MATCH_1}")
  if(NOT version EQUAL expected)
    message(FATAL_ERROR "migration ${name}: expected number ${expected}")
  endif()
  math(EXPR expected "${expected} + 1")
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(APPEND body "static const char m${version}[] = {${hex}0x00};\n")
  list(APPEND entries "{${version}, \"${name}\", m${version}}")
endforeach()
list(JOIN entries ",\n    " joined)
file(READ ${ROLES} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
string(APPEND body "const char migration_roles[] = {${hex}0x00};\n")
file(WRITE ${OUT} "/* Generated from sql/ by cmake/embed_migrations.cmake. */\n"
  "#include \"migrations.h\"\n${body}\n"
  "const struct migration migrations[] = {\n    ${joined}\n};\n"
  "const size_t nmigrations = sizeof(migrations) / sizeof(migrations[0]);\n")
