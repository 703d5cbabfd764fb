# Message packages installed from the PyPI wheels export an include directory that does
# not exist on this machine (/opt/python/.../include/python3.11); CMake refuses imported
# targets that name missing directories. Drop only the missing entries, for every target
# imported so far (rosidl_generate_interfaces imports more, so call this after it). On a
# normal ROS install every entry exists and nothing changes.
function(fetrack_drop_missing_include_dirs)
  get_directory_property(_imported_targets IMPORTED_TARGETS)
  foreach(_target IN LISTS _imported_targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(_dirs)
      set(_existing "")
      foreach(_dir IN LISTS _dirs)
        if(_dir MATCHES "^\\$<" OR EXISTS "${_dir}")
          list(APPEND _existing "${_dir}")
        endif()
      endforeach()
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_existing}")
    endif()
  endforeach()
endfunction()

