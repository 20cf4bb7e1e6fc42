// The zip writer and reader: round trips (stored and deflated, empty and multi-chunk entries),
// CRC and truncation checks, zip-slip names, and the format details standard tools rely on.
#include "medseg/io/zip_archive.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <random>
#include <sstream>

#include "medseg/core/error.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace medseg {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::error_of;
using ::testing::HasSubstr;

std::string zip_read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void zip_write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// 2.5 MiB: more than two of the writer's and reader's 1 MiB chunks; half random (incompressible),
// half repetitive.
std::string multi_chunk_bytes() {
  std::mt19937 rng(11);
  std::string bytes(5 << 19, '\0');
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = i < bytes.size() / 2 ? static_cast<char>(rng() & 0xFF) : static_cast<char>(i % 7);
  return bytes;
}

uint32_t zip_le32(const std::string& bytes, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3])) << 24;
}

class ZipRoundTrip : public ::testing::TestWithParam<ZipMethod> {};

TEST_P(ZipRoundTrip, FilesComeBackByteForByte) {
  testing::TempDir dir;
  const std::string big = multi_chunk_bytes();
  zip_write_file(dir / "big.bin", big);
  zip_write_file(dir / "empty.txt", "");
  const fs::path archive = dir / "a.zip";
  {
    ZipWriter writer(archive);
    writer.add_file("m/big.bin", dir / "big.bin", GetParam());
    writer.add_file("m/empty.txt", dir / "empty.txt", GetParam());
    writer.add_data("m/fold_0/plans.json", "{\"a\": 1}\n", GetParam());
    writer.finish();
  }
  const ZipReader reader(archive);
  ASSERT_EQ(reader.entries().size(), 3u);
  EXPECT_EQ(reader.entries()[0].name, "m/big.bin");
  EXPECT_EQ(reader.entries()[0].size, big.size());
  EXPECT_EQ(reader.entries()[0].crc32,
            crc32(0L, reinterpret_cast<const Bytef*>(big.data()), static_cast<uInt>(big.size())));
  EXPECT_EQ(reader.entries()[0].method, GetParam() == ZipMethod::kDeflate ? 8 : 0);
  if (GetParam() == ZipMethod::kDeflate) {
    EXPECT_LT(reader.entries()[0].compressed_size, big.size());  // the repetitive half shrinks
  } else {
    EXPECT_EQ(reader.entries()[0].compressed_size, big.size());
  }
  EXPECT_EQ(reader.entries()[1].size, 0u);

  EXPECT_EQ(reader.extract_all(dir / "out"), 3u);
  EXPECT_EQ(zip_read_file(dir / "out/m/big.bin"), big);
  EXPECT_TRUE(fs::is_regular_file(dir / "out/m/empty.txt"));
  EXPECT_EQ(fs::file_size(dir / "out/m/empty.txt"), 0u);
  EXPECT_EQ(zip_read_file(dir / "out/m/fold_0/plans.json"), "{\"a\": 1}\n");
}

INSTANTIATE_TEST_SUITE_P(Methods, ZipRoundTrip,
                         ::testing::Values(ZipMethod::kStore, ZipMethod::kDeflate),
                         [](const auto& info) {
                           return info.param == ZipMethod::kStore ? "Stored" : "Deflated";
                         });

TEST(ZipArchive, LayoutIsStandard) {
  testing::TempDir dir;
  const fs::path archive = dir / "a.zip";
  ZipWriter writer(archive);
  writer.add_data("x/one.txt", "hello", ZipMethod::kStore);
  writer.add_data("x/two.txt", "world!", ZipMethod::kDeflate);
  writer.finish();
  const std::string bytes = zip_read_file(archive);
  // Local header first, with the CRC and sizes filled in (no data descriptor).
  EXPECT_EQ(zip_le32(bytes, 0), 0x04034b50u);
  EXPECT_EQ(zip_le32(bytes, 14), crc32(0L, reinterpret_cast<const Bytef*>("hello"), 5));
  EXPECT_EQ(zip_le32(bytes, 18), 5u);
  EXPECT_EQ(zip_le32(bytes, 22), 5u);
  EXPECT_EQ(bytes.substr(30, 9), "x/one.txt");
  EXPECT_EQ(bytes.substr(39, 5), "hello");
  // End record last: two entries, central directory right before it.
  const size_t end = bytes.size() - 22;
  EXPECT_EQ(zip_le32(bytes, end), 0x06054b50u);
  EXPECT_EQ(zip_le32(bytes, end + 8), 0x00020002u);
  EXPECT_EQ(zip_le32(bytes, end + 12) + zip_le32(bytes, end + 16), end);
  EXPECT_EQ(zip_le32(bytes, zip_le32(bytes, end + 16)), 0x02014b50u);
}

TEST(ZipArchive, CorruptedDataFailsTheCrcCheckAndLeavesNoFile) {
  testing::TempDir dir;
  const fs::path archive = dir / "a.zip";
  {
    ZipWriter writer(archive);
    writer.add_data("m/data.txt", "0123456789", ZipMethod::kStore);
    writer.finish();
  }
  std::string bytes = zip_read_file(archive);
  const size_t data = 30 + std::string("m/data.txt").size();
  ASSERT_EQ(bytes.substr(data, 10), "0123456789");
  bytes[data + 3] = 'X';
  zip_write_file(archive, bytes);
  const ZipReader reader(archive);
  EXPECT_THAT(error_of([&] { reader.extract(reader.entries()[0], dir / "data.txt"); }),
              HasSubstr("a.zip: entry 'm/data.txt': CRC-32 mismatch (recorded "));
  EXPECT_FALSE(fs::exists(dir / "data.txt"));
  int left = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++left;
  EXPECT_EQ(left, 1);  // only the archive: no temporary file either
}

TEST(ZipArchive, CorruptedDeflateStreamIsReported) {
  testing::TempDir dir;
  const fs::path archive = dir / "a.zip";
  {
    ZipWriter writer(archive);
    writer.add_data("m/data.txt", std::string(1000, 'a') + "tail", ZipMethod::kDeflate);
    writer.finish();
  }
  std::string bytes = zip_read_file(archive);
  const size_t data = 30 + std::string("m/data.txt").size();
  bytes[data] = static_cast<char>(0xFF);  // block type 3: invalid
  zip_write_file(archive, bytes);
  const ZipReader reader(archive);
  EXPECT_THAT(error_of([&] { reader.extract(reader.entries()[0], dir / "data.txt"); }),
              HasSubstr("entry 'm/data.txt': invalid deflate data"));
}

TEST(ZipArchive, TruncatedOrForeignFilesAreRejectedClearly) {
  testing::TempDir dir;
  const fs::path archive = dir / "a.zip";
  {
    ZipWriter writer(archive);
    writer.add_data("m/a.txt", std::string(5000, 'q'), ZipMethod::kStore);
    writer.finish();
  }
  const std::string bytes = zip_read_file(archive);
  zip_write_file(dir / "cut.zip", bytes.substr(0, bytes.size() / 2));
  EXPECT_EQ(error_of([&] { ZipReader{dir / "cut.zip"}; }),
            (dir / "cut.zip").string() +
                ": truncated or corrupt zip archive: no end of central directory record (is the "
                "file complete?)");
  zip_write_file(dir / "text.zip", std::string(100, 'x'));
  EXPECT_EQ(
      error_of([&] { ZipReader{dir / "text.zip"}; }),
      (dir / "text.zip").string() + ": not a zip archive (no end of central directory record)");
  zip_write_file(dir / "tiny.zip", "PK");
  EXPECT_THAT(error_of([&] { ZipReader{dir / "tiny.zip"}; }),
              HasSubstr("tiny.zip: not a zip archive (2 bytes"));
  EXPECT_THAT(error_of([&] { ZipReader{dir / "missing.zip"}; }),
              HasSubstr("missing.zip: cannot open the archive: No such file or directory"));
  // The end record survives but the data before it is cut short.
  const std::string end = bytes.substr(bytes.size() - 22);
  zip_write_file(dir / "hole.zip", bytes.substr(0, 3000) + end);
  EXPECT_THAT(error_of([&] { ZipReader{dir / "hole.zip"}; }),
              HasSubstr("hole.zip: truncated or corrupt zip archive: the central directory"));
}

TEST(ZipArchive, EntryNamesThatEscapeTheFolderAreRejected) {
  for (const std::string name :
       {"../evil", "a/../../evil", "/etc/passwd", "C:/x", "a\\b", "", "a//b", "./a"})
    EXPECT_THAT(error_of([&] { zip_entry_path(name); }), HasSubstr("zip entry '" + name + "'"))
        << name;
  EXPECT_THAT(error_of([] { zip_entry_path("a/../b"); }),
              HasSubstr("'..' component: it would be written outside the destination folder"));
  EXPECT_THAT(error_of([] { zip_entry_path("/abs"); }), HasSubstr("absolute path"));
  EXPECT_EQ(zip_entry_path("m/fold_0/x.pt"), fs::path("m") / "fold_0" / "x.pt");
  EXPECT_EQ(zip_entry_path("m/fold_0/"), fs::path("m") / "fold_0");
  EXPECT_EQ(zip_entry_path("a..b/c"), fs::path("a..b") / "c");
}

TEST(ZipArchive, WriterRefusesUnsafeAndDuplicateNames) {
  testing::TempDir dir;
  ZipWriter writer(dir / "a.zip");
  EXPECT_THAT(error_of([&] { writer.add_data("../x", "1"); }), HasSubstr("'..' component"));
  writer.add_data("m/x", "1");
  EXPECT_THAT(error_of([&] { writer.add_data("m/x", "2"); }),
              HasSubstr("a.zip: entry 'm/x' added twice"));
}

// A zip with one entry named `name` (written by hand: the writer refuses such names).
std::string zip_with_entry(const std::string& name, uint16_t flags = 0, uint16_t method = 0) {
  std::string z;
  auto p16 = [&](uint16_t v) { z.push_back(char(v & 0xFF)), z.push_back(char(v >> 8)); };
  auto p32 = [&](uint32_t v) { p16(v & 0xFFFF), p16(v >> 16); };
  const uint32_t crc = crc32(0L, reinterpret_cast<const Bytef*>("hi"), 2);
  p32(0x04034b50), p16(10), p16(flags), p16(method), p32(0), p32(crc), p32(2), p32(2);
  p16(static_cast<uint16_t>(name.size())), p16(0);
  z += name + "hi";
  const uint32_t directory = static_cast<uint32_t>(z.size());
  p32(0x02014b50), p16(20), p16(10), p16(flags), p16(method), p32(0), p32(crc), p32(2), p32(2);
  p16(static_cast<uint16_t>(name.size())), p16(0), p16(0), p16(0), p16(0), p32(0), p32(0);
  z += name;
  const uint32_t size = static_cast<uint32_t>(z.size()) - directory;
  p32(0x06054b50), p16(0), p16(0), p16(1), p16(1), p32(size), p32(directory), p16(0);
  return z;
}

TEST(ZipArchive, ExtractAllRejectsZipSlipBeforeWritingAnything) {
  testing::TempDir dir;
  for (const std::string name : {"../evil.txt", "/tmp/evil.txt", "ok/../../evil.txt"}) {
    zip_write_file(dir / "slip.zip", zip_with_entry(name));
    const ZipReader reader(dir / "slip.zip");
    ASSERT_EQ(reader.entries().size(), 1u);
    EXPECT_THAT(error_of([&] { reader.extract_all(dir / "out" / "inner"); }),
                HasSubstr("slip.zip: zip entry '" + name + "'"));
    EXPECT_FALSE(fs::exists(dir / "out"));
    EXPECT_FALSE(fs::exists(dir / "evil.txt"));
  }
  zip_write_file(dir / "fine.zip", zip_with_entry("ok/hi.txt"));
  EXPECT_EQ(ZipReader(dir / "fine.zip").extract_all(dir / "out"), 1u);
  EXPECT_EQ(zip_read_file(dir / "out/ok/hi.txt"), "hi");
}

TEST(ZipArchive, EncryptedAndUnsupportedMethodsAreRejected) {
  testing::TempDir dir;
  zip_write_file(dir / "enc.zip", zip_with_entry("m/a", /*flags=*/1));
  const ZipReader encrypted(dir / "enc.zip");
  EXPECT_THAT(error_of([&] { encrypted.extract_all(dir / "out"); }),
              HasSubstr("enc.zip: entry 'm/a' is encrypted; encrypted archives are not supported"));
  zip_write_file(dir / "bz.zip", zip_with_entry("m/a", 0, /*method=*/12));
  const ZipReader bzip2(dir / "bz.zip");
  EXPECT_THAT(
      error_of([&] { bzip2.extract(bzip2.entries()[0], dir / "a"); }),
      HasSubstr("entry 'm/a' uses compression method 12; only stored (0) and deflated (8)"));
  EXPECT_FALSE(fs::exists(dir / "out"));
  EXPECT_FALSE(fs::exists(dir / "a"));
}

TEST(ZipArchive, FilesOfFourGibibytesAreRefused) {
  testing::TempDir dir;
  const fs::path huge = dir / "huge.bin";
  { std::ofstream(huge, std::ios::binary); }
  fs::resize_file(huge, uint64_t{4} << 30);  // sparse: no disk space used
  ZipWriter writer(dir / "a.zip");
  EXPECT_THAT(error_of([&] { writer.add_file("m/huge.bin", huge); }),
              HasSubstr("huge.bin: 4294967296 bytes: files of 4 GiB or more need ZIP64"));
  EXPECT_TRUE(writer.entries().empty());
}

TEST(ZipArchive, UnreadableSourceNamesTheFile) {
  testing::TempDir dir;
  ZipWriter writer(dir / "a.zip");
  EXPECT_THAT(error_of([&] { writer.add_file("m/x", dir / "nope.bin"); }),
              HasSubstr("nope.bin: cannot read it: No such file or directory"));
  EXPECT_THAT(error_of([&] { writer.add_file("m/x", dir.path()); }),
              HasSubstr(": not a regular file"));
}

TEST(ZipArchive, FullDiskIsAnErrorNamingTheArchive) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  EXPECT_THAT(error_of([] {
                ZipWriter writer("/dev/full");
                writer.add_data("m/x", std::string(3 << 20, 'z'), ZipMethod::kStore);
                writer.finish();
              }),
              HasSubstr("/dev/full: write failed: No space left on device"));
}

void zip64_put(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

// An archive as libtorch and other ZIP64 writers make it, by hand: entry "m/a.txt" ("hello",
// stored) with its sizes and offset only in ZIP64 extra fields, entry "m/b.txt" ("world!",
// stored) with a data descriptor after its data (CRC and sizes 0 in its local header), then a
// ZIP64 end record and locator before an end record whose fields are all at their maximum.
// `local_name_b` is the name b's local header gives.
std::string zip64_archive(const std::string& local_name_b = "m/b.txt") {
  const uint32_t crc_a = crc32(0L, reinterpret_cast<const Bytef*>("hello"), 5);
  const uint32_t crc_b = crc32(0L, reinterpret_cast<const Bytef*>("world!"), 6);
  std::string out;
  const auto local = [&](const std::string& name, uint16_t flags, uint32_t crc, uint32_t size,
                         const std::string& extra) {
    zip64_put(out, 0x04034b50, 4);
    zip64_put(out, 45, 2);
    zip64_put(out, flags, 2);
    zip64_put(out, 0, 2);  // stored
    zip64_put(out, 0, 4);  // time, date
    zip64_put(out, crc, 4);
    zip64_put(out, size, 4);
    zip64_put(out, size, 4);
    zip64_put(out, name.size(), 2);
    zip64_put(out, extra.size(), 2);
    out += name + extra;
  };
  std::string extra_a;  // ZIP64 extra field of a's local header: both sizes
  zip64_put(extra_a, 1, 2);
  zip64_put(extra_a, 16, 2);
  zip64_put(extra_a, 5, 8);
  zip64_put(extra_a, 5, 8);
  local("m/a.txt", 0, crc_a, 0xFFFFFFFF, extra_a);
  out += "hello";
  const uint64_t offset_b = out.size();
  local(local_name_b, 0x0008, 0, 0, "");
  out += "world!";
  zip64_put(out, 0x08074b50, 4);
  zip64_put(out, crc_b, 4);
  zip64_put(out, 6, 4);
  zip64_put(out, 6, 4);
  const uint64_t directory = out.size();
  const auto central = [&](const std::string& name, uint16_t flags, uint32_t crc, uint32_t size,
                           uint32_t offset, const std::string& extra) {
    zip64_put(out, 0x02014b50, 4);
    zip64_put(out, (3 << 8) | 45, 2);
    zip64_put(out, 45, 2);
    zip64_put(out, flags, 2);
    zip64_put(out, 0, 2);
    zip64_put(out, 0, 4);
    zip64_put(out, crc, 4);
    zip64_put(out, size, 4);
    zip64_put(out, size, 4);
    zip64_put(out, name.size(), 2);
    zip64_put(out, extra.size(), 2);
    zip64_put(out, 0, 2);  // comment
    zip64_put(out, 0, 2);  // disk
    zip64_put(out, 0, 2);  // internal attributes
    zip64_put(out, 0100644u << 16, 4);
    zip64_put(out, offset, 4);
    out += name + extra;
  };
  std::string central_extra_a;  // sizes and offset, in that order
  zip64_put(central_extra_a, 1, 2);
  zip64_put(central_extra_a, 24, 2);
  zip64_put(central_extra_a, 5, 8);
  zip64_put(central_extra_a, 5, 8);
  zip64_put(central_extra_a, 0, 8);
  central("m/a.txt", 0, crc_a, 0xFFFFFFFF, 0xFFFFFFFF, central_extra_a);
  central("m/b.txt", 0x0008, crc_b, 6, static_cast<uint32_t>(offset_b), "");
  const uint64_t directory_size = out.size() - directory, record = out.size();
  zip64_put(out, 0x06064b50, 4);
  zip64_put(out, 44, 8);
  zip64_put(out, 45, 2);
  zip64_put(out, 45, 2);
  zip64_put(out, 0, 4);
  zip64_put(out, 0, 4);
  zip64_put(out, 2, 8);
  zip64_put(out, 2, 8);
  zip64_put(out, directory_size, 8);
  zip64_put(out, directory, 8);
  zip64_put(out, 0x07064b50, 4);
  zip64_put(out, 0, 4);
  zip64_put(out, record, 8);
  zip64_put(out, 1, 4);
  zip64_put(out, 0x06054b50, 4);
  zip64_put(out, 0, 4);
  zip64_put(out, 0xFFFFFFFF, 4);  // entries on this disk, in all
  zip64_put(out, 0xFFFFFFFF, 4);  // central directory size
  zip64_put(out, 0xFFFFFFFF, 4);  // and offset
  zip64_put(out, 0, 2);
  return out;
}

TEST(ZipArchive, Zip64RecordsAndDataDescriptorsAreRead) {
  testing::TempDir dir;
  zip_write_file(dir / "a.zip", zip64_archive());
  const ZipReader reader(dir / "a.zip");
  ASSERT_EQ(reader.entries().size(), 2u);
  EXPECT_EQ(reader.entries()[0].size, 5u);
  EXPECT_EQ(reader.entries()[0].local_header_offset, 0u);
  EXPECT_NO_THROW(reader.verify());
  EXPECT_EQ(reader.extract_all(dir / "out"), 2u);
  EXPECT_EQ(zip_read_file(dir / "out" / "m" / "a.txt"), "hello");
  EXPECT_EQ(zip_read_file(dir / "out" / "m" / "b.txt"), "world!");
}

TEST(ZipArchive, VerifyComparesEveryLocalHeaderWithTheCentralDirectory) {
  testing::TempDir dir;
  zip_write_file(dir / "a.zip", zip64_archive("m/c.txt"));
  EXPECT_THAT(error_of([&] { ZipReader(dir / "a.zip").verify(); }),
              HasSubstr("a.zip: entry 'm/b.txt': its local header's name differs from the "
                        "central directory's (truncated or corrupt archive)"));
  // The data descriptor's CRC.
  std::string bytes = zip64_archive();
  const size_t descriptor = bytes.find("world!") + 6;
  ASSERT_EQ(zip_le32(bytes, descriptor), 0x08074b50u);
  bytes[descriptor + 4] = static_cast<char>(bytes[descriptor + 4] ^ 1);
  zip_write_file(dir / "b.zip", bytes);
  EXPECT_THAT(error_of([&] { ZipReader(dir / "b.zip").verify(); }),
              HasSubstr("entry 'm/b.txt': its data descriptor's CRC-32 differs from the "
                        "central directory's"));
}

}  // namespace
}  // namespace medseg
