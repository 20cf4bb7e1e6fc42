#include "support/dicom_values.h"

#include <stdexcept>

#ifdef MEDSEG_WITH_DICOM
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcstack.h>
#endif

namespace medseg::testing {

namespace fs = std::filesystem;

#ifdef MEDSEG_WITH_DICOM

namespace {
void load_for_test(DcmFileFormat& f, const fs::path& file) {
  const OFCondition c = f.loadFile(file.c_str());
  if (c.bad()) throw std::runtime_error(file.string() + ": " + c.text());
}
}  // namespace

std::string dicom_value(const fs::path& file, uint16_t group, uint16_t element) {
  DcmFileFormat f;
  load_for_test(f, file);
  OFString value;
  if (f.getDataset()->findAndGetOFStringArray(DcmTagKey(group, element), value, OFTrue).bad())
    return "";
  return value.c_str();
}

int dicom_count(const fs::path& file, uint16_t group, uint16_t element) {
  DcmFileFormat f;
  load_for_test(f, file);
  DcmStack stack;
  int count = 0;
  while (f.getDataset()->search(DcmTagKey(group, element), stack, ESM_afterStackTop, OFTrue).good())
    ++count;
  return count;
}

int64_t dicom_set_bits(const fs::path& file, uint16_t group, uint16_t element) {
  DcmFileFormat f;
  load_for_test(f, file);
  const Uint8* bytes = nullptr;
  unsigned long count = 0;
  if (f.getDataset()->findAndGetUint8Array(DcmTagKey(group, element), bytes, &count).bad())
    return 0;
  int64_t bits = 0;
  for (unsigned long i = 0; i < count; ++i)
    for (unsigned b = bytes[i]; b != 0; b >>= 1) bits += b & 1;
  return bits;
}

std::string dicom_transfer_syntax(const fs::path& file) {
  DcmFileFormat f;
  load_for_test(f, file);
  OFString value;
  f.getMetaInfo()->findAndGetOFString(DCM_TransferSyntaxUID, value);
  return value.c_str();
}

#else

std::string dicom_value(const fs::path&, uint16_t, uint16_t) {
  throw std::runtime_error("dicom_value: medseg was built without DICOM support");
}
int dicom_count(const fs::path&, uint16_t, uint16_t) {
  throw std::runtime_error("dicom_count: medseg was built without DICOM support");
}
int64_t dicom_set_bits(const fs::path&, uint16_t, uint16_t) {
  throw std::runtime_error("dicom_set_bits: medseg was built without DICOM support");
}
std::string dicom_transfer_syntax(const fs::path&) {
  throw std::runtime_error("dicom_transfer_syntax: medseg was built without DICOM support");
}

#endif

}  // namespace medseg::testing
