// Resize (Pillow's bilinear), centre crop and ToTensor/Normalize on 8-bit RGB, in plain C++: napi.h is
// never included here (the bindings are in preprocess-napi.cc). The JS twin, and the reference the
// tests compare against, is lib/image/resize.ts + lib/image/preprocess.ts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

// The geometry TypeScript computes (lib/image/preprocess.ts nativeGeometry), after EXIF orientation:
// the image is resized to resized_width x resized_height, and the window of out_width x out_height
// starting at (crop_left, crop_top) of the resized image is kept. A negative offset or a window past
// the edge is torchvision's zero padding. Only the kept window is computed.
struct image_geometry {
  int in_width, in_height;
  int resized_width, resized_height;
  int crop_top, crop_left;
  int out_height, out_width;
};

// The kept window as interleaved RGB, out_height * out_width * 3 bytes, pixels of the padding 0.
void image_resize_crop_rgb(const uint8_t* rgb, const image_geometry& g, uint8_t* out);

// The kept window as float32 [3, out_height, out_width]: out[c][i] = lut[c * 256 + pixel[i][source[c]]],
// the LUT holding ToTensor + Normalize per output channel and source[] the channel order (RGB or BGR).
void image_resize_crop_tensor(const uint8_t* rgb, const image_geometry& g, const float* lut,
                              const int source[3], float* out);

// PIL ImageOps.exif_transpose for EXIF orientations 2..8 (1 and others: a plain copy).
// *width and *height are updated to the displayed size.
void image_orient_rgb(const std::vector<uint8_t>& rgb, int* width, int* height, int orientation,
                      std::vector<uint8_t>* out);

// libjpeg(-turbo) to interleaved RGB (jpeg-decode.cc): false with `error` set on corrupt data. *rgb is
// resized to width * height * 3 and its capacity reused (a thread's buffer from call to call).
bool jpeg_decode_rgb(const uint8_t* data, size_t size, int* width, int* height,
                     std::vector<uint8_t>* rgb, std::string* error);
