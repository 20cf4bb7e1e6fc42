// io/pickle.h on pickles made by Python's pickle.dumps(protocol=2) (the bytes below, with the
// Python that made them) and on broken ones: values, shared memo entries, the few rebuilt types,
// opaque objects, and the bounds a hostile file meets.
#include "medseg/io/pickle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/error_of.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;
using Kind = PickleValue::Kind;

std::string pickle_from_hex(const std::string& hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return bytes;
}

// {'a': [1, -2, 300, 70000, 2**40, -2**40, 1.5, True, False, None, (1, 2), (1,), (1, 2, 3),
//        (1, 2, 3, 4)], 'b': 'x\u00e9'}
const char* kPlainData =
    "80027d71002858010000006171015d7102284b014afeffffff4d2c014a701101008a060000000000018a0600"
    "00000000ff473ff800000000000088894e4b014b028671034b018571044b014b024b03877105284b014b024b"
    "034b04747106655801000000627107580300000078c3a97108752e";

TEST(Pickle, ReadsPlainPythonData) {
  const PickleRef root = parse_pickle(pickle_from_hex(kPlainData), "plain.pkl");
  ASSERT_EQ(root->kind, Kind::kDict);
  const PickleValue* a = root->find("a");
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->kind, Kind::kList);
  ASSERT_EQ(a->items.size(), 14u);
  const std::vector<int64_t> ints{1, -2, 300, 70000, int64_t{1} << 40, -(int64_t{1} << 40)};
  for (size_t i = 0; i < ints.size(); ++i) {
    EXPECT_EQ(a->items[i]->kind, Kind::kInt);
    EXPECT_EQ(a->items[i]->integer, ints[i]) << i;
  }
  EXPECT_EQ(a->items[6]->kind, Kind::kFloat);
  EXPECT_DOUBLE_EQ(a->items[6]->number, 1.5);
  EXPECT_TRUE(a->items[7]->boolean);
  EXPECT_FALSE(a->items[8]->boolean);
  EXPECT_EQ(a->items[9]->kind, Kind::kNone);
  for (size_t i = 10; i < 14; ++i) {
    EXPECT_EQ(a->items[i]->kind, Kind::kTuple);
    const size_t expected = i == 10 ? 2 : i == 11 ? 1 : i == 12 ? 3 : 4;
    EXPECT_EQ(a->items[i]->items.size(), expected);
  }
  const PickleValue* b = root->find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->kind, Kind::kString);
  EXPECT_EQ(b->text, "x\xc3\xa9");
  EXPECT_EQ(root->find("c"), nullptr);
  EXPECT_EQ(root->height, 3);  // dict -> list -> tuple -> int
}

TEST(Pickle, RebuildsOrderedDictsAndBytesAndKeepsOtherGlobalsOpaque) {
  // collections.OrderedDict([('k', b'\x00\xff'), ('d', datetime.date(2020, 1, 2))])
  const std::string hex =
      "800263636f6c6c656374696f6e730a4f726465726564446963740a7100295271012858010000006b710263"
      "5f636f646563730a656e636f64650a7103580300000000c3bf710458060000006c6174696e3171058671"
      "065271075801000000647108636461746574696d650a646174650a71096803580500000007c3a4010271"
      "0a680586710b52710c85710d52710e752e";
  const PickleRef root = parse_pickle(pickle_from_hex(hex), "ordered.pkl");
  ASSERT_EQ(root->kind, Kind::kDict);
  ASSERT_EQ(root->entries.size(), 2u);
  const PickleValue* k = root->find("k");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->kind, Kind::kBytes);
  EXPECT_EQ(k->text, std::string("\x00\xff", 2));
  const PickleValue* d = root->find("d");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->kind, Kind::kObject);
  EXPECT_EQ(d->global_name(), "datetime.date");
  ASSERT_EQ(d->args->items.size(), 1u);
  EXPECT_EQ(d->args->items[0]->text, std::string("\x07\xe4\x01\x02", 4));
}

TEST(Pickle, SharesMemoizedValues) {
  // l = [1]; [l, l]
  const PickleRef root = parse_pickle(pickle_from_hex("80025d7100285d71014b01616801652e"), "m");
  ASSERT_EQ(root->items.size(), 2u);
  EXPECT_EQ(root->items[0].get(), root->items[1].get());
}

TEST(Pickle, ErrorsNameFileOffsetAndOpcode) {
  using testing::error_of;
  const std::string plain = pickle_from_hex(kPlainData);
  EXPECT_THAT(error_of([&] { parse_pickle(plain.substr(0, plain.size() - 1), "f.pkl"); }),
              HasSubstr("f.pkl: pickle byte"));
  EXPECT_THAT(error_of([&] { parse_pickle(plain.substr(0, plain.size() - 1), "f.pkl"); }),
              HasSubstr("ends without its STOP opcode"));
  EXPECT_THAT(error_of([&] { parse_pickle(plain + "N", "f.pkl"); }),
              HasSubstr("1 bytes after the STOP opcode"));
  // BINUNICODE claiming 4 GiB with 3 bytes left.
  EXPECT_THAT(error_of([&] { parse_pickle(pickle_from_hex("800258ffffffff41412e"), "f.pkl"); }),
              HasSubstr("pickle byte 2 (opcode 'X'): needs 4294967295 bytes, only 3 remain"));
  // BINGET of a memo entry never stored.
  EXPECT_THAT(error_of([&] { parse_pickle(pickle_from_hex("800268052e"), "f.pkl"); }),
              HasSubstr("(opcode 'h'): memo entry 5 was never stored"));
  // INST (protocol 0, executes code in Python): not taken.
  EXPECT_THAT(error_of([&] { parse_pickle(pickle_from_hex("800269"), "f.pkl"); }),
              HasSubstr("(opcode 'i'): an opcode this reader does not take"));
  // LONG1 of 9 bytes.
  EXPECT_THAT(error_of([&] {
                parse_pickle(pickle_from_hex("80028a09010203040506070809"
                                             "2e"),
                             "f.pkl");
              }),
              HasSubstr("an integer of 9 bytes (more than 64 bits)"));
  // Two values left on the stack.
  EXPECT_THAT(error_of([&] { parse_pickle(pickle_from_hex("80024e4e2e"), "f.pkl"); }),
              HasSubstr("stops with 2 values and 0 marks"));
  // pickle protocol 0/1 header values are refused (the opcode set read is 2 to 5).
  EXPECT_THAT(error_of([&] { parse_pickle(pickle_from_hex("80094e2e"), "f.pkl"); }),
              HasSubstr("pickle protocol 9"));
}

TEST(Pickle, RefusesRecursiveData) {
  using testing::error_of;
  // l = []; l.append(l): EMPTY_LIST BINPUT 0 BINGET 0 APPEND STOP
  EXPECT_THAT(error_of([&] { parse_pickle(pickle_from_hex("80025d71006800612e"), "r.pkl"); }),
              HasSubstr("puts a container inside itself"));
  // a = []; b = (a,); a.append(b): EMPTY_LIST BINPUT 0 BINGET 0 TUPLE1 APPEND STOP
  EXPECT_THAT(error_of([&] { parse_pickle(pickle_from_hex("80025d7100680085612e"), "r.pkl"); }),
              HasSubstr("appends to a list that is already inside another value"));
}

TEST(Pickle, BoundsNesting) {
  using testing::error_of;
  // kMaxPickleNesting + 1 levels: [[[...]]], built innermost first with EMPTY_LIST and APPEND.
  const auto nested = [](int levels) {
    std::string bytes = pickle_from_hex("8002");
    for (int i = 0; i <= levels; ++i) bytes += "]";
    for (int i = 0; i < levels; ++i) bytes += "a";
    return bytes + ".";
  };
  EXPECT_THAT(error_of([&] { parse_pickle(nested(kMaxPickleNesting + 1), "deep.pkl"); }),
              HasSubstr("nests deeper than 100 levels"));
  EXPECT_EQ(parse_pickle(nested(kMaxPickleNesting), "ok.pkl")->height, kMaxPickleNesting);
}

// pickle.dumps(x, protocol=4) of numpy 2.4 scalars (numpy._core.multiarray.scalar).
TEST(Pickle, ReadsNumpyIntegerScalars) {
  const std::string head =
      "8c166e756d70792e5f636f72652e6d756c74696172726179948c067363616c61729493948c056e756d707994"
      "8c0564747970659493948c02";
  const std::string state = "94898887945294284b038c01";
  const std::string tail = "944e4e4e4affffffff4affffffff4b0074946243";
  // The dtype code (hex), its byte order (hex) and the value's bytes (length-prefixed hex).
  const auto scalar = [&](const std::string& code, const std::string& order,
                          const std::string& bytes) {
    return parse_pickle(pickle_from_hex("8004950000000000000000" + head + code + state + order +
                                        tail + bytes + "94869452942e"),
                        "n.pkl");
  };
  EXPECT_EQ(pickle_integer(*scalar("6931", "7c", "01fb")), -5);       // np.int8(-5), '|'
  EXPECT_EQ(pickle_integer(*scalar("7532", "3c", "02ffff")), 65535);  // np.uint16
  EXPECT_EQ(pickle_integer(*scalar("6938", "3c", "080000000000ffffff")),
            -(int64_t{1} << 40));                                     // np.int64
  EXPECT_EQ(pickle_integer(*scalar("6934", "3c", "0407000000")), 7);  // np.int32
  // np.uint64(2**63) does not fit; np.float64(1.5) is no integer; a byte too few.
  EXPECT_EQ(pickle_integer(*scalar("7538", "3c", "080000000000000080")), std::nullopt);
  EXPECT_EQ(pickle_integer(*scalar("6638", "3c", "08000000000000f83f")), std::nullopt);
  EXPECT_EQ(pickle_integer(*scalar("6934", "3c", "03070000")), std::nullopt);
  EXPECT_EQ(pickle_integer(*parse_pickle(pickle_from_hex("80024b072e"), "i.pkl")), 7);
  EXPECT_EQ(pickle_integer(*parse_pickle(pickle_from_hex("8002473ff80000000000002e"), "f.pkl")),
            std::nullopt);
}

}  // namespace
}  // namespace medseg
