# RTL file lists (rtl/<block>.f) for CMake: the same rules as scripts/rtl_files.py, which synthesis
# and lint use. One path per line from the repository root, `-f rtl/x.f` includes another list,
# `//` and `#` start comments; each file once, at its first occurrence.
#
#   ws_rtl_files(<list, e.g. rtl/tans_decoder.f> <out variable>)   absolute paths, in order
#
# The lists and the files they name re-run the CMake configure step when they change.

function(_ws_rtl_expand listfile stack out)
  set(path "${WS_REPO_DIR}/${listfile}")
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "RTL file list ${listfile} does not exist")
  endif()
  if("${path}" IN_LIST stack)
    message(FATAL_ERROR "RTL file list ${listfile} includes itself")
  endif()
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${path}")
  file(READ "${path}" text)
  string(REGEX REPLACE "(//|#)[^\n]*" "" text "${text}")
  string(REGEX REPLACE "[ \t\r\n]+" ";" tokens "${text}")
  set(files "")
  set(expect_list FALSE)
  foreach(tok IN LISTS tokens)
    if(tok STREQUAL "")
      continue()
    elseif(expect_list)
      _ws_rtl_expand("${tok}" "${stack};${path}" sub)
      list(APPEND files ${sub})
      set(expect_list FALSE)
    elseif(tok STREQUAL "-f")
      set(expect_list TRUE)
    else()
      if(NOT EXISTS "${WS_REPO_DIR}/${tok}")
        message(FATAL_ERROR "RTL file list ${listfile}: listed file ${tok} not found")
      endif()
      list(APPEND files "${WS_REPO_DIR}/${tok}")
    endif()
  endforeach()
  set(${out} "${files}" PARENT_SCOPE)
endfunction()

function(ws_rtl_files listfile out)
  _ws_rtl_expand("${listfile}" "" files)
  list(REMOVE_DUPLICATES files)
  set(${out} "${files}" PARENT_SCOPE)
endfunction()
