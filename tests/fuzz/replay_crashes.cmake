# Replays one target's crash inputs, tests/fuzz/crashes/<TARGET>-*, with its
# fuzzreplay_<TARGET> program (ctest: fuzzreplay_crashes_<TARGET>, with
# FUZZ_STRICT=1). Run by ctest, so files added since cmake ran are replayed too.
#
#   cmake -DTARGET=fuzz_session -DBIN=.../fuzzreplay_fuzz_session
#         -DDIR=tests/fuzz/crashes -DTARGETS="fuzz_x224;fuzz_session;..."
#         -P replay_crashes.cmake
#
# Fails when the program fails on any input, and when any file in DIR is named
# after no target in TARGETS (<target>-<what>): such a file would be replayed
# by no test.
foreach(v TARGET BIN DIR TARGETS)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "replay_crashes.cmake: -D${v}= missing")
  endif()
endforeach()

get_filename_component(DIR "${DIR}" ABSOLUTE)
file(GLOB all LIST_DIRECTORIES false RELATIVE "${DIR}" "${DIR}/*")
set(orphans "")
set(mine "")
foreach(f ${all})
  if(f MATCHES "^\\.")
    continue() # hidden files: .gitkeep and the like
  endif()
  set(owner "")
  foreach(t ${TARGETS})
    string(LENGTH "${t}-" plen)
    string(SUBSTRING "${f}" 0 ${plen} head)
    if(head STREQUAL "${t}-")
      set(owner "${t}")
    endif()
  endforeach()
  if(owner STREQUAL "")
    list(APPEND orphans "${f}")
  elseif(owner STREQUAL TARGET)
    list(APPEND mine "${DIR}/${f}")
  endif()
endforeach()
if(orphans)
  string(REPLACE ";" ", " o "${orphans}")
  message(FATAL_ERROR "crash inputs named after no fuzz target (want <target>-<what>, "
                      "target one of ${TARGETS}): ${o}")
endif()

list(LENGTH mine count)
if(count EQUAL 0)
  message(STATUS "${TARGET}: no crash input in ${DIR}")
  return()
endif()
list(SORT mine)
execute_process(COMMAND "${BIN}" ${mine} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${TARGET}: replaying ${count} crash input(s) failed: ${rc}")
endif()
message(STATUS "${TARGET}: ${count} crash input(s) replayed")
