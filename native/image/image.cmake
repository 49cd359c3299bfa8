# Included by the top-level CMakeLists.txt after target alexnet_native is defined.
# libjpeg-turbo (or any libjpeg with the jpeglib.h API) found -> native JPEG decoding, else the JS
# side keeps using jpeg-js. Debian/Ubuntu: apt install libjpeg-dev (libjpeg62-turbo-dev).
find_package(JPEG)
if(JPEG_FOUND)
  # preprocess*.cc: resize + crop + ToTensor (listed in addon.cc under ALEXNET_HAVE_JPEG, so with libjpeg only)
  target_sources(alexnet_native PRIVATE ${CMAKE_CURRENT_LIST_DIR}/jpeg-decode.cc
    ${CMAKE_CURRENT_LIST_DIR}/preprocess.cc ${CMAKE_CURRENT_LIST_DIR}/preprocess-napi.cc)
  # the resize coefficients must round as resize.ts does: no FMA contraction of the double math
  if(NOT MSVC)
    set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/preprocess.cc PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
  endif()
  target_include_directories(alexnet_native PRIVATE ${JPEG_INCLUDE_DIRS})
  target_link_libraries(alexnet_native PRIVATE ${JPEG_LIBRARIES})
  target_compile_definitions(alexnet_native PRIVATE ALEXNET_HAVE_JPEG=1)
  message(STATUS "alexnet-cli: native JPEG decoding with ${JPEG_LIBRARIES}")
else()
  message(STATUS "alexnet-cli: libjpeg not found, JPEG decoding stays in JavaScript (jpeg-js)")
endif()
