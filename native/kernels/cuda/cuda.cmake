# Included by the top-level CMakeLists.txt after target alexnet_native is defined.
#
# The CUDA backend: native/kernels/cuda/*.cu (kernels) + native/cuda/*.cc (Node-API glue) built into a
# SEPARATE addon, build/Release/alexnet_cuda.node, loaded by lib/native.ts only for --device cuda.
# The CPU addon never links CUDA, so it installs and runs on machines without a GPU or a toolkit.
#
#   ALEXNET_CUDA=OFF (environment or -D)   skip the CUDA backend even where nvcc exists
#   ALEXNET_CUDA_ARCHS=...                 CUDA_ARCHITECTURES (default: 80/86/89/90 SASS + 90 PTX;
#                                          the tensor-core paths need 80 or newer)
#
# The CUDA runtime is linked statically (cudart_static): it opens libcuda.so.1 itself on the first
# CUDA call, so loading alexnet_cuda.node needs no driver, and a machine without one gets a coded
# error (ERR_CUDA) from the first call instead of a failed dlopen.

if(DEFINED ENV{ALEXNET_CUDA} AND NOT DEFINED ALEXNET_CUDA)
  set(ALEXNET_CUDA "$ENV{ALEXNET_CUDA}")
endif()
if(DEFINED ALEXNET_CUDA AND NOT ALEXNET_CUDA)
  message(STATUS "alexnet-cli: CUDA backend skipped (ALEXNET_CUDA=${ALEXNET_CUDA})")
  return()
endif()

# Without nvcc (on PATH, $CUDACXX, $CUDA_PATH/bin or /usr/local/cuda/bin) a CPU-only machine pays one
# find_program; with it, check_language(CUDA) probes it in a sub-project (a few seconds), so an nvcc
# that cannot compile here (e.g. an unsupported host compiler) skips CUDA instead of failing the build.
if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
  find_program(ALEXNET_NVCC nvcc HINTS ENV CUDA_PATH /usr/local/cuda PATH_SUFFIXES bin)
  if(NOT ALEXNET_NVCC)
    message(STATUS "alexnet-cli: nvcc not found, CUDA backend not built (only --device cpu)")
    return()
  endif()
  set(ENV{CUDACXX} "${ALEXNET_NVCC}")
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "alexnet-cli: nvcc ($ENV{CUDACXX}) cannot compile here (check_language(CUDA) failed), CUDA backend not built (only --device cpu)")
  return()
endif()

if(DEFINED ENV{ALEXNET_CUDA_ARCHS} AND NOT DEFINED ALEXNET_CUDA_ARCHS)
  set(ALEXNET_CUDA_ARCHS "$ENV{ALEXNET_CUDA_ARCHS}")
endif()
if(NOT ALEXNET_CUDA_ARCHS)
  # A100, RTX 30xx/A10, RTX 40xx/L4, H100/H200 as SASS; PTX for 90 so newer GPUs JIT-compile it
  set(ALEXNET_CUDA_ARCHS "80-real;86-real;89-real;90-real;90-virtual")
endif()
if(NOT CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "${ALEXNET_CUDA_ARCHS}")
endif()
set(CMAKE_CUDA_STANDARD 17)
set(CMAKE_CUDA_STANDARD_REQUIRED ON)
set(CMAKE_CUDA_RUNTIME_LIBRARY Static)
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
message(STATUS "alexnet-cli: CUDA backend with nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${ALEXNET_CUDA_ARCHS}")

set(ALEXNET_CUDA_DIR ${CMAKE_CURRENT_LIST_DIR})

# Kernels: plain host functions that launch on a stream (native/kernels/cuda/cuda-kernels.h).
add_library(alexnet_cuda_kernels STATIC
  ${ALEXNET_CUDA_DIR}/conv2d.cu
  ${ALEXNET_CUDA_DIR}/linear.cu
  ${ALEXNET_CUDA_DIR}/pool2d.cu
  ${ALEXNET_CUDA_DIR}/lrn.cu
  ${ALEXNET_CUDA_DIR}/softmax.cu
  ${ALEXNET_CUDA_DIR}/adaptive-avgpool.cu
  ${ALEXNET_CUDA_DIR}/relu.cu)
set_target_properties(alexnet_cuda_kernels PROPERTIES
  CUDA_ARCHITECTURES "${ALEXNET_CUDA_ARCHS}" POSITION_INDEPENDENT_CODE ON)
target_include_directories(alexnet_cuda_kernels PUBLIC ${CMAKE_SOURCE_DIR}/native)
# no --use_fast_math: the fp32 path is compared with a float64 reference at 1e-5
target_compile_options(alexnet_cuda_kernels PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-O3 -Xptxas=-warn-spills>)
target_link_libraries(alexnet_cuda_kernels PUBLIC CUDA::cudart_static)

# The addon: Node-API glue compiled by the host compiler, linked with the kernels and static cudart.
add_library(alexnet_cuda SHARED
  ${ALEXNET_SHARED_NAPI_SOURCES}
  ${CMAKE_SOURCE_DIR}/native/cuda/cuda-addon.cc
  ${CMAKE_SOURCE_DIR}/native/cuda/cuda-args.cc
  ${CMAKE_SOURCE_DIR}/native/cuda/cuda-device.cc
  ${CMAKE_SOURCE_DIR}/native/cuda/cuda-tensor.cc
  ${CMAKE_SOURCE_DIR}/native/cuda/cuda-ops.cc
  ${CMAKE_SOURCE_DIR}/native/cuda/cuda-plan.cc
  ${CMAKE_SOURCE_DIR}/native/cuda/cuda-from-file.cc
  ${CMAKE_JS_SRC})
set_target_properties(alexnet_cuda PROPERTIES PREFIX "" SUFFIX ".node")
target_include_directories(alexnet_cuda PRIVATE
  ${CMAKE_JS_INC} ${NODE_ADDON_API_DIR} ${NODE_API_HEADERS_DIR} ${CMAKE_SOURCE_DIR}/native)
# ALEXNET_CUDA_ADDON: this addon's copy of native/napi/op-table.cc has the CUDA column of the op table
target_compile_definitions(alexnet_cuda PRIVATE
  NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS ALEXNET_CUDA_ADDON ALEXNET_VERSION="${ALEXNET_VERSION}")
target_link_libraries(alexnet_cuda PRIVATE alexnet_cuda_kernels CUDA::cudart_static ${CMAKE_JS_LIB})
if(NOT MSVC)
  target_compile_options(alexnet_cuda PRIVATE -fexceptions -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter)
  # keep cudart_static's symbols private to this addon (another addon may bring its own cudart)
  if(NOT APPLE)
    target_link_options(alexnet_cuda PRIVATE -Wl,--exclude-libs,ALL)
  endif()
endif()

# Native test: every kernel against a plain CPU loop; prints "SKIP: no CUDA device" and exits 0
# where no GPU is usable. Run with `ctest --test-dir build` (or the build folder cmake-js used).
add_executable(alexnet_cuda_kernels_test ${ALEXNET_CUDA_DIR}/test/cuda-kernels-test.cc)
target_link_libraries(alexnet_cuda_kernels_test PRIVATE alexnet_cuda_kernels CUDA::cudart_static)
enable_testing()
add_test(NAME cuda_kernels COMMAND alexnet_cuda_kernels_test)
set_tests_properties(cuda_kernels PROPERTIES SKIP_REGULAR_EXPRESSION "SKIP: no CUDA device")
