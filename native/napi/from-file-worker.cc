#include "napi/from-file-worker.h"

#include <cerrno>
#include <cstring>

namespace alexnet {
namespace {

bool seek_to(std::FILE* file, int64_t offset) {
#if defined(_WIN32)
  return _fseeki64(file, offset, SEEK_SET) == 0;
#else
  return fseeko(file, static_cast<off_t>(offset), SEEK_SET) == 0;
#endif
}

op_error io_error(const std::string& path) {
  return op_error{"ERR_IO", expected_message("a readable file", "path", "'" + path + "' (" + std::strerror(errno) + ")")};
}

}  // namespace

std::FILE* from_file_open(const std::string& path, int64_t byte_offset, op_error* error) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) {
    *error = io_error(path);
    return nullptr;
  }
  if (!seek_to(file, byte_offset)) {
    *error = io_error(path);
    std::fclose(file);
    return nullptr;
  }
  return file;
}

op_error from_file_short_read(const std::string& path, int64_t byte_offset, size_t wanted, size_t got) {
  return op_error{"ERR_IO", expected_message(std::to_string(wanted) + " bytes at byte offset " + std::to_string(byte_offset),
                                             "'" + path + "'", std::to_string(got) + " bytes")};
}

}  // namespace alexnet
