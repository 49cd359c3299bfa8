// A 64-byte aligned float buffer (one cache line, one zmm register) that throws std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace alexnet {

inline float* aligned_floats_alloc(size_t count) {
  // aligned_alloc wants a size that is a multiple of the alignment
  size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  if (bytes == 0) bytes = 64;
  if (count > (static_cast<size_t>(-1) - 63) / sizeof(float)) throw std::bad_alloc();
  void* p = nullptr;
#if defined(_MSC_VER)
  p = _aligned_malloc(bytes, 64);
#else
  if (posix_memalign(&p, 64, bytes) != 0) p = nullptr;
#endif
  if (!p) throw std::bad_alloc();
  return static_cast<float*>(p);
}

inline void aligned_floats_free(float* p) {
#if defined(_MSC_VER)
  _aligned_free(p);
#else
  std::free(p);
#endif
}

class aligned_buffer {
 public:
  aligned_buffer() = default;
  explicit aligned_buffer(size_t count) : data_(aligned_floats_alloc(count)), size_(count) {}
  ~aligned_buffer() { aligned_floats_free(data_); }
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;

  // grows (contents are not kept) so that at least count floats fit
  float* reserve(size_t count) {
    if (count > size_) {
      aligned_floats_free(data_);
      data_ = nullptr;
      size_ = 0;
      data_ = aligned_floats_alloc(count);
      size_ = count;
    }
    return data_;
  }
  float* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  float* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace alexnet
