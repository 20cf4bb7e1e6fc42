// Values of written DICOM files for tests (DCMTK): the first occurrence of a tag anywhere in the
// dataset (sequences included), how often a tag occurs, the bits set in a value, the transfer
// syntax.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace medseg::testing {

// All values of the first element (group, element) found, "\"-separated; "" when absent.
std::string dicom_value(const std::filesystem::path& file, uint16_t group, uint16_t element);

// How many elements (group, element) the dataset holds, at any depth.
int dicom_count(const std::filesystem::path& file, uint16_t group, uint16_t element);

// How many bits are 1 in the bytes of the first element (group, element) (an OB value such as a
// BINARY SEG's Pixel Data); 0 when absent.
int64_t dicom_set_bits(const std::filesystem::path& file, uint16_t group, uint16_t element);

// The meta header's Transfer Syntax UID.
std::string dicom_transfer_syntax(const std::filesystem::path& file);

}  // namespace medseg::testing
