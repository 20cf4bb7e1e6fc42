#include "medseg/qa/png.h"

#include <itkImageIOBase.h>
#include <itkPNGImageIO.h>
#include <png.h>
#include <torch/torch.h>

#include <cstring>
#include <string>

#include "medseg/core/error.h"
#include "medseg/core/files.h"

namespace medseg {

namespace {

itk::ImageIORegion png_full_region(int64_t rows, int64_t columns) {
  itk::ImageIORegion region(2);
  region.SetIndex(0, 0);
  region.SetIndex(1, 0);
  region.SetSize(0, static_cast<itk::SizeValueType>(columns));
  region.SetSize(1, static_cast<itk::SizeValueType>(rows));
  return region;
}

// The pixels of `file`, or the reason it is not an 8-bit RGB PNG in `problem`. ITK's messages
// name the file they were given.
at::Tensor png_read_or_explain(const fs::path& file, std::string& problem) {
  try {
    auto io = itk::PNGImageIO::New();
    io->SetFileName(file.string());
    io->ReadImageInformation();
    if (io->GetNumberOfDimensions() != 2 || io->GetNumberOfComponents() != 3 ||
        io->GetComponentType() != itk::IOComponentEnum::UCHAR) {
      problem = "not an 8-bit RGB picture (" + std::to_string(io->GetNumberOfComponents()) +
                " components of " +
                itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType()) + ")";
      return {};
    }
    const int64_t columns = io->GetDimensions(0), rows = io->GetDimensions(1);
    at::Tensor rgb = torch::empty({rows, columns, 3}, torch::kUInt8);
    io->SetIORegion(png_full_region(rows, columns));
    io->Read(rgb.data_ptr<uint8_t>());
    return rgb;
  } catch (const itk::ExceptionObject& e) {
    problem = e.GetDescription();
    return {};
  }
}

// libpng's output into a string; an allocation failure becomes a libpng error (no C++
// exception may cross libpng's C frames).
extern "C" void png_append_to_string(png_structp png, png_bytep data, png_size_t length) {
  try {
    static_cast<std::string*>(png_get_io_ptr(png))
        ->append(reinterpret_cast<const char*>(data), length);
  } catch (...) {
    png_error(png, "out of memory");
  }
}
extern "C" void png_no_flush(png_structp) {}
extern "C" void png_keep_error(png_structp png, png_const_charp message) {
  *static_cast<std::string*>(png_get_error_ptr(png)) = message;
  png_longjmp(png, 1);
}
extern "C" void png_ignore_warning(png_structp, png_const_charp) {}

// An 8-bit RGB PNG of rows x columns pixels (row-major, 3 bytes each) into `out` with libpng
// (the library ITK's PNG IO wraps). No object with a destructor lives between setjmp and a
// longjmp out of libpng. False with libpng's message in `problem` on failure.
bool png_encode(const uint8_t* pixels, int64_t rows, int64_t columns, std::string& out,
                std::string& problem) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, &problem, png_keep_error, png_ignore_warning);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info == nullptr ? nullptr : &info);
    return false;
  }
  png_set_write_fn(png, &out, png_append_to_string, png_no_flush);
  png_set_IHDR(png, info, static_cast<png_uint_32>(columns), static_cast<png_uint_32>(rows), 8,
               PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int64_t r = 0; r < rows; ++r)
    png_write_row(png, const_cast<png_bytep>(pixels + r * columns * 3));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

void write_png_rgb(const at::Tensor& rgb_in, const fs::path& png) {
  if (!rgb_in.defined() || rgb_in.dim() != 3 || rgb_in.size(2) != 3 || rgb_in.size(0) < 1 ||
      rgb_in.size(1) < 1 || rgb_in.scalar_type() != at::kByte)
    throw Error(png.string(),
                "could not write PNG: the picture is not a (rows, columns, 3) uint8 "
                "tensor");
  const at::Tensor rgb = rgb_in.contiguous();
  std::string bytes;
  std::string problem = "out of memory";
  if (!png_encode(rgb.data_ptr<uint8_t>(), rgb.size(0), rgb.size(1), bytes, problem))
    throw Error(png.string(), "could not write PNG: " + problem);
  // The file through medseg's checked, atomic writer: a full disk is an Error naming the file
  // (ITK's PNG writer, used before, aborted the process there: it closes the file twice).
  write_text_atomically(png, bytes);
}

at::Tensor read_png_rgb(const fs::path& png) {
  if (!fs::is_regular_file(png)) throw Error(png.string(), "no such PNG file");
  std::string problem;
  at::Tensor rgb = png_read_or_explain(png, problem);
  if (!problem.empty()) throw Error(png.string(), "could not read PNG: " + problem);
  return rgb;
}

}  // namespace medseg
