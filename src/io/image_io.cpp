// Image I/O through ITK's ImageIO classes directly: no templated reader/writer is instantiated,
// the voxels go straight into (or out of) a torch tensor's buffer.
#include <itkImageIOBase.h>
#include <itkMetaImageIO.h>
#include <itkNiftiImageIO.h>
#include <itkNrrdImageIO.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <sstream>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/io/image.h"
#include "nifti_raw.h"
#include "nrrd_header.h"

namespace medseg {

namespace {

using itk::IOComponentEnum;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

itk::ImageIOBase::Pointer make_io(const fs::path& path) {
  const std::string name = lower(path.filename().string());
  if (ends_with(name, ".nii") || ends_with(name, ".nii.gz"))
    return itk::NiftiImageIO::New().GetPointer();
  if (ends_with(name, ".nrrd") || ends_with(name, ".nhdr"))
    return itk::NrrdImageIO::New().GetPointer();
  if (ends_with(name, ".mha") || ends_with(name, ".mhd"))
    return itk::MetaImageIO::New().GetPointer();
  throw Error(path.string(),
              "unsupported image file type (expected .nii, .nii.gz, .nrrd, .nhdr, .mha or .mhd)");
}

// Formats whose header names a separate voxel file that ITK names after the header.
bool detached_header(const fs::path& path) {
  const std::string name = lower(path.filename().string());
  return ends_with(name, ".mhd") || ends_with(name, ".nhdr");
}

struct OpenedImage {
  itk::ImageIOBase::Pointer io;
  unsigned dims = 0;  // after dropping trailing singleton axes beyond the third
  ImageHeader header;
};

OpenedImage open_image(const fs::path& path) {
  OpenedImage opened;
  opened.io = make_io(path);
  if (!fs::exists(path)) throw Error(path.string(), "file not found");
  if (nrrd::is_nrrd(path)) nrrd::check_file(path);  // ITK's NrrdIO overflows on damaged headers
  auto& io = *opened.io;
  try {
    io.SetFileName(path.string());
    if (!io.CanReadFile(path.string().c_str()))
      throw Error(path.string(), "not a readable image file (corrupt or wrong format)");
    io.ReadImageInformation();
  } catch (const itk::ExceptionObject& e) {
    throw Error(path.string(), std::string("could not read image header: ") + e.GetDescription());
  }
  if (io.GetNumberOfComponents() != 1)
    throw Error(path.string(), "has " + std::to_string(io.GetNumberOfComponents()) +
                                   " components per voxel; only scalar images are supported");
  unsigned n = io.GetNumberOfDimensions();
  while (n > 3 && io.GetDimensions(n - 1) == 1) --n;
  if (n < 2 || n > 4)
    throw Error(path.string(), "has " + std::to_string(n) + " dimensions; 2 to 4 are supported");
  opened.dims = n;
  auto& header = opened.header;
  header.shape.resize(n);
  header.geometry.spacing.resize(n);
  header.geometry.origin.resize(n);
  header.geometry.direction.resize(n * n);
  for (unsigned i = 0; i < n; ++i) {
    header.shape[n - 1 - i] = static_cast<int64_t>(io.GetDimensions(i));
    header.geometry.spacing[n - 1 - i] = io.GetSpacing(i);
    header.geometry.origin[i] = io.GetOrigin(i);
    const std::vector<double> column = io.GetDirection(i);
    for (unsigned r = 0; r < n; ++r) header.geometry.direction[r * n + i] = column[r];
  }
  return opened;
}

template <typename Stored>
torch::Tensor read_widened(itk::ImageIOBase& io, const std::vector<int64_t>& shape,
                           torch::Dtype widened) {
  const int64_t numel =
      std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
  std::vector<Stored> buffer(numel);
  io.Read(buffer.data());
  auto out = torch::empty(shape, torch::TensorOptions().dtype(widened));
  if (widened == torch::kInt) {
    std::copy(buffer.begin(), buffer.end(), out.data_ptr<int32_t>());
  } else {
    std::copy(buffer.begin(), buffer.end(), out.data_ptr<int64_t>());
  }
  return out;
}

void set_full_region(itk::ImageIOBase& io, unsigned n, const std::vector<int64_t>& shape) {
  itk::ImageIORegion region(n);
  for (unsigned i = 0; i < n; ++i) {
    region.SetIndex(i, 0);
    region.SetSize(i, static_cast<itk::SizeValueType>(shape[n - 1 - i]));
  }
  io.SetIORegion(region);
}

size_t component_bytes(IOComponentEnum component) {
  switch (component) {
    case IOComponentEnum::UCHAR:
    case IOComponentEnum::CHAR:
      return 1;
    case IOComponentEnum::USHORT:
    case IOComponentEnum::SHORT:
      return 2;
    case IOComponentEnum::UINT:
    case IOComponentEnum::INT:
    case IOComponentEnum::FLOAT:
      return 4;
    default:
      return 8;  // DOUBLE, the only other type written
  }
}

// Whether `back` (read from the file written) holds `expected`'s voxels. Floats compare as
// values where the file cannot keep them: the NIfTI reader turns NaN and infinities into 0.
bool same_voxels(const unsigned char* expected, const unsigned char* back, size_t bytes,
                 IOComponentEnum component) {
  if (std::memcmp(expected, back, bytes) == 0) return true;
  const auto close_enough = [&](auto tag) {
    using T = decltype(tag);
    for (size_t i = 0; i + sizeof(T) <= bytes; i += sizeof(T)) {
      T want, got;
      std::memcpy(&want, expected + i, sizeof(T));
      std::memcpy(&got, back + i, sizeof(T));
      if (std::memcmp(&want, &got, sizeof(T)) != 0 && !(!std::isfinite(want) && got == 0))
        return false;
    }
    return true;
  };
  if (component == IOComponentEnum::FLOAT) return close_enough(float{});
  if (component == IOComponentEnum::DOUBLE) return close_enough(double{});
  return false;
}

// What is wrong with the image file `file` as written from `data`: "" when it reads back with
// the same header and voxels.
std::string read_back_problem(const fs::path& file, const void* data, IOComponentEnum component,
                              const std::vector<int64_t>& shape) {
  const unsigned n = static_cast<unsigned>(shape.size());
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return "it is not a regular file";  // never read a device
  if (fs::file_size(file, ec) == 0 || ec) return "it is empty";
  try {
    if (nifti::is_nifti(file)) nifti::check_complete(file);  // ITK reads a truncated file
    if (nrrd::is_nrrd(file)) nrrd::check_file(file);         // and overflows on a damaged NRRD
    auto io = make_io(file);
    io->SetFileName(file.string());
    io->ReadImageInformation();
    bool same_header = io->GetNumberOfDimensions() >= n && io->GetNumberOfComponents() == 1 &&
                       io->GetComponentSize() == component_bytes(component);
    for (unsigned i = 0; same_header && i < io->GetNumberOfDimensions(); ++i)
      same_header =
          io->GetDimensions(i) == (i < n ? static_cast<itk::SizeValueType>(shape[n - 1 - i]) : 1);
    if (!same_header) return "its header does not describe the image";
    set_full_region(*io, n, shape);
    const size_t bytes = static_cast<size_t>(std::accumulate(shape.begin(), shape.end(), int64_t{1},
                                                             std::multiplies<>())) *
                         io->GetComponentSize();
    const auto* expected = static_cast<const unsigned char*>(data);
    std::vector<unsigned char> back(bytes);
    // Every byte the reader leaves alone differs from the image's.
    for (size_t i = 0; i < bytes; ++i) back[i] = static_cast<unsigned char>(~expected[i]);
    io->Read(back.data());
    if (!same_voxels(expected, back.data(), bytes, component))
      return "its voxels differ from the image's";
  } catch (const itk::ExceptionObject& e) {
    return e.GetDescription();
  } catch (const Error& e) {
    std::string problem = e.what();
    if (problem.rfind(file.string() + ": ", 0) == 0) problem.erase(0, file.string().size() + 2);
    return problem;
  }
  return "";
}

// ITK's writers do not report failed writes (a full disk left 0-byte .nii.gz files behind,
// with no error): the file written is read back and compared with the voxels. Error naming
// `path`, the final file, with the reason when it is incomplete or differs.
void check_written_image(const fs::path& file, const void* data, IOComponentEnum component,
                         const std::vector<int64_t>& shape, const fs::path& path) {
  const std::string problem = read_back_problem(file, data, component, shape);
  if (problem.empty()) return;
  throw Error(path.string(), "could not write image: " + write_failure_reason(file) +
                                 " (the file written is incomplete: " + problem + ")");
}

void write_buffer(const void* data, IOComponentEnum component, const std::vector<int64_t>& shape,
                  const ImageGeometry& geometry, const fs::path& path) {
  const unsigned n = static_cast<unsigned>(shape.size());
  if (geometry.dim() != static_cast<int64_t>(n) || geometry.origin.size() != n ||
      geometry.direction.size() != n * n)
    throw Error(path.string(), "image geometry has " + std::to_string(geometry.dim()) +
                                   " axes but the data has " + std::to_string(n));
  auto io = make_io(path);
  const auto write_to = [&](const fs::path& file) {
    try {
      io->SetNumberOfDimensions(n);
      for (unsigned i = 0; i < n; ++i) {
        io->SetDimensions(i, static_cast<unsigned>(shape[n - 1 - i]));
        io->SetSpacing(i, geometry.spacing[n - 1 - i]);
        io->SetOrigin(i, geometry.origin[i]);
        std::vector<double> column(n);
        for (unsigned r = 0; r < n; ++r) column[r] = geometry.direction[r * n + i];
        io->SetDirection(i, column);
      }
      io->SetPixelType(itk::IOPixelEnum::SCALAR);
      io->SetComponentType(component);
      io->SetNumberOfComponents(1);
      io->SetUseCompression(true);
      io->SetFileName(file.string());
      set_full_region(*io, n, shape);
      io->Write(data);
    } catch (const itk::ExceptionObject& e) {
      throw Error(path.string(), std::string("could not write image: ") + e.GetDescription());
    }
    check_written_image(file, data, component, shape, path);
  };
  write_atomically(path, [&](const fs::path& tmp) {
    if (!detached_header(path)) return write_to(tmp);
    // .mhd / .nhdr: ITK writes the voxels to a second file named after the header, so both are
    // written under their final names in a temporary folder; the voxels are moved into place
    // first, the header last (as `tmp`).
    const fs::path staging = temporary_sibling(path);
    try {
      fs::create_directories(staging);
      const fs::path header = staging / path.filename();
      write_to(header);
      for (const auto& entry : fs::directory_iterator(staging)) {
        if (entry.path() == header) continue;
        sync_file(entry.path());
        fs::rename(entry.path(), path.parent_path() / entry.path().filename());
      }
      fs::rename(header, tmp);
      remove_tree(staging);
    } catch (...) {
      std::error_code ignored;
      remove_tree(staging, ignored);
      throw;
    }
  });
}

}  // namespace

ImageGeometry ImageGeometry::with_spacing(std::vector<double> spacing) {
  ImageGeometry g;
  const size_t n = spacing.size();
  g.spacing = std::move(spacing);
  g.origin.assign(n, 0.0);
  g.direction.assign(n * n, 0.0);
  for (size_t i = 0; i < n; ++i) g.direction[i * n + i] = 1.0;
  return g;
}

bool ImageGeometry::matches(const ImageGeometry& other, double spacing_tol, double origin_tol,
                            double direction_tol) const {
  if (spacing.size() != other.spacing.size()) return false;
  for (size_t i = 0; i < spacing.size(); ++i)
    if (std::abs(spacing[i] - other.spacing[i]) > spacing_tol * std::max(1.0, std::abs(spacing[i])))
      return false;
  for (size_t i = 0; i < origin.size(); ++i)
    if (std::abs(origin[i] - other.origin[i]) > origin_tol * std::max(1.0, std::abs(origin[i])))
      return false;
  for (size_t i = 0; i < direction.size(); ++i)
    if (std::abs(direction[i] - other.direction[i]) > direction_tol) return false;
  return true;
}

std::string ImageGeometry::describe() const {
  std::ostringstream out;
  auto list = [&](const std::vector<double>& v) {
    out << "(";
    for (size_t i = 0; i < v.size(); ++i) out << (i ? ", " : "") << v[i];
    out << ")";
  };
  out << "spacing ";
  list(spacing);
  out << " origin ";
  list(origin);
  out << " direction ";
  list(direction);
  return out.str();
}

bool is_supported_image_file(const fs::path& path) {
  const std::string name = lower(path.filename().string());
  for (const char* ext : {".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd"})
    if (ends_with(name, ext)) return true;
  return false;
}

ImageHeader read_image_header(const fs::path& path) {
  return open_image(path).header;
}

void check_image_file(const fs::path& path) {
  open_image(path);
  if (nifti::is_nifti(path)) nifti::check_complete(path);
}

Image read_image(const fs::path& path) {
  OpenedImage opened = open_image(path);
  auto& io = *opened.io;
  const auto& shape = opened.header.shape;
  set_full_region(io, opened.dims, shape);
  Image image;
  image.geometry = opened.header.geometry;
  if (nifti::is_nifti(path)) nifti::check_complete(path);
  try {
    const auto component = io.GetComponentType();
    const size_t size = io.GetComponentSize();
    auto direct = [&](torch::Dtype dtype) {
      auto t = torch::empty(shape, torch::TensorOptions().dtype(dtype));
      io.Read(t.data_ptr());
      return t;
    };
    switch (component) {
      case IOComponentEnum::UCHAR:
        image.data = direct(torch::kByte);
        break;
      case IOComponentEnum::CHAR:
        image.data = direct(torch::kChar);
        break;
      case IOComponentEnum::SHORT:
        image.data = direct(torch::kShort);
        break;
      case IOComponentEnum::USHORT:
        image.data = read_widened<uint16_t>(io, shape, torch::kInt);
        break;
      case IOComponentEnum::FLOAT:
        image.data = direct(torch::kFloat);
        break;
      case IOComponentEnum::DOUBLE:
        image.data = direct(torch::kDouble);
        break;
      case IOComponentEnum::INT:
      case IOComponentEnum::LONG:
      case IOComponentEnum::LONGLONG:
        image.data = direct(size == 4 ? torch::kInt : torch::kLong);
        break;
      case IOComponentEnum::UINT:
      case IOComponentEnum::ULONG:
      case IOComponentEnum::ULONGLONG:
        image.data = size == 4 ? read_widened<uint32_t>(io, shape, torch::kLong)
                               : read_widened<uint64_t>(io, shape, torch::kLong);
        break;
      default:
        throw Error(path.string(), "unsupported voxel type " +
                                       itk::ImageIOBase::GetComponentTypeAsString(component));
    }
  } catch (const itk::ExceptionObject& e) {
    throw Error(path.string(), std::string("could not read voxels (truncated or corrupt file?): ") +
                                   e.GetDescription());
  }
  return image;
}

int64_t count_non_finite(const fs::path& path, const Image& image) {
  if (!image.data.is_floating_point()) return 0;
  // The NIfTI reader put 0 where the file has NaN or inf: without a 0 in the image there was
  // none, and the file need not be read a second time.
  if (nifti::is_nifti(path))
    return (image.data == 0).any().item<bool>() ? nifti::count_non_finite(path) : 0;
  return (~torch::isfinite(image.data)).sum().item<int64_t>();
}

void write_image(const Image& image, const fs::path& path) {
  torch::Tensor data = image.data.contiguous().cpu();
  std::vector<int64_t> shape(data.sizes().begin(), data.sizes().end());
  IOComponentEnum component;
  switch (data.scalar_type()) {
    case torch::kBool:
      data = data.to(torch::kByte);
      component = IOComponentEnum::UCHAR;
      break;
    case torch::kByte:
      component = IOComponentEnum::UCHAR;
      break;
    case torch::kChar:
      component = IOComponentEnum::CHAR;
      break;
    case torch::kShort:
      component = IOComponentEnum::SHORT;
      break;
    case torch::kInt:
      component = IOComponentEnum::INT;
      break;
    case torch::kLong:
      if (data.numel() > 0 &&
          (data.max().item<int64_t>() > INT32_MAX || data.min().item<int64_t>() < INT32_MIN))
        throw Error(path.string(), "64-bit integer voxel values do not fit in 32 bits");
      data = data.to(torch::kInt);
      component = IOComponentEnum::INT;
      break;
    case torch::kFloat:
      component = IOComponentEnum::FLOAT;
      break;
    case torch::kDouble:
      component = IOComponentEnum::DOUBLE;
      break;
    case torch::kHalf:
    case torch::kBFloat16:
      data = data.to(torch::kFloat);
      component = IOComponentEnum::FLOAT;
      break;
    default:
      throw Error(path.string(), "cannot write tensors of this dtype");
  }
  write_buffer(data.data_ptr(), component, shape, image.geometry, path);
}

void write_label_image(const Image& labels, const fs::path& path) {
  torch::Tensor data = labels.data.contiguous().cpu();
  if (data.is_floating_point()) {
    if (!torch::equal(data, data.round()))
      throw Error(path.string(), "label map has non-integer values");
  }
  data = data.to(torch::kLong);
  const int64_t max = data.numel() ? data.max().item<int64_t>() : 0;
  const int64_t min = data.numel() ? data.min().item<int64_t>() : 0;
  if (min < 0) throw Error(path.string(), "label map has negative value " + std::to_string(min));
  std::vector<int64_t> shape(data.sizes().begin(), data.sizes().end());
  const int64_t* src = data.data_ptr<int64_t>();
  if (max <= 255) {
    torch::Tensor bytes = data.to(torch::kByte);
    write_buffer(bytes.data_ptr(), IOComponentEnum::UCHAR, shape, labels.geometry, path);
  } else if (max <= 65535) {
    std::vector<uint16_t> buffer(src, src + data.numel());
    write_buffer(buffer.data(), IOComponentEnum::USHORT, shape, labels.geometry, path);
  } else {
    if (max > UINT32_MAX)
      throw Error(path.string(), "label value too large: " + std::to_string(max));
    std::vector<uint32_t> buffer(src, src + data.numel());
    write_buffer(buffer.data(), IOComponentEnum::UINT, shape, labels.geometry, path);
  }
}

}  // namespace medseg
