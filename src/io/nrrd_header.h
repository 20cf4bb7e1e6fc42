// Raw checks on NRRD files (.nrrd, .nhdr) made before ITK's reader sees them. ITK 5.2's NrrdIO
// is not safe on damaged input: an input with no line end (a device such as /dev/zero, or /dev/full
// behind a failed write) grows its line buffer until the size wraps and then overflows the heap
// (_nrrdOneLine); an error about a header line of about 1 KB overflows a stack buffer (biff's
// vsprintf into 1025 bytes); truncated voxel data is reported, but leaks. Private to the io layer.
#pragma once

#include <filesystem>

namespace medseg::nrrd {

// True for .nrrd and .nhdr names (any case).
bool is_nrrd(const std::filesystem::path& path);

// Throws Error naming the file unless it is a regular file whose header is complete and safe to
// parse: the magic line (NRRD000<n>), at most 1 MiB of header, no NUL byte in it, field lines of
// at most 768 characters (comments and key:=value lines may be longer), and, for attached data,
// the empty line that ends the header. For raw and gzip data (attached or in one data file) the
// voxel bytes the header promises must be there: the file's size for raw data; for gzip the
// trailer's size field, or a full decompression when it does not match. Costs one read of the
// header for intact files.
void check_file(const std::filesystem::path& path);

}  // namespace medseg::nrrd
