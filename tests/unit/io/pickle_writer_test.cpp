// io/pickle_writer.h: the bytes of small pickles worked out by hand from the protocol, and every
// kind of value written and read back by the strict reader (io/pickle.h).
#include "medseg/io/pickle_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <climits>

#include "support/error_of.h"

namespace medseg {
namespace {

using ::testing::HasSubstr;
using Kind = PickleValue::Kind;

std::string pickle_test_bytes(std::initializer_list<int> bytes) {
  std::string out;
  for (const int b : bytes) out.push_back(static_cast<char>(b));
  return out;
}

TEST(PickleWriter, WritesProtocolTwoOpcodesAsPythonDoes) {
  // pickle.dumps({'a': 1}, protocol=2) without the memo: PROTO 2, EMPTY_DICT, MARK,
  // BINUNICODE 'a', BININT1 1, SETITEMS, STOP.
  EXPECT_EQ(write_pickle(*pickle_dict({{"a", pickle_int(1)}}), "t"),
            pickle_test_bytes({0x80, 2, '}', '(', 'X', 1, 0, 0, 0, 'a', 'K', 1, 'u', '.'}));
  // (None, True, 300): BININT2 little-endian, TUPLE3.
  EXPECT_EQ(write_pickle(*pickle_tuple({pickle_none(), pickle_bool(true), pickle_int(300)}), "t"),
            pickle_test_bytes({0x80, 2, 'N', 0x88, 'M', 0x2c, 0x01, 0x87, '.'}));
  // -2: BININT (4 bytes); 2**31: LONG1 of 5 bytes (a sign byte 0 after 0x80000000).
  EXPECT_EQ(write_pickle(*pickle_int(-2), "t"),
            pickle_test_bytes({0x80, 2, 'J', 0xfe, 0xff, 0xff, 0xff, '.'}));
  EXPECT_EQ(write_pickle(*pickle_int(int64_t{1} << 31), "t"),
            pickle_test_bytes({0x80, 2, 0x8a, 5, 0, 0, 0, 0x80, 0, '.'}));
  // 1.5: BINFLOAT, big-endian IEEE 754.
  EXPECT_EQ(write_pickle(*pickle_float(1.5), "t"),
            pickle_test_bytes({0x80, 2, 'G', 0x3f, 0xf8, 0, 0, 0, 0, 0, 0, '.'}));
  // collections.OrderedDict(): GLOBAL, EMPTY_TUPLE, REDUCE.
  EXPECT_EQ(write_pickle(*pickle_ordered_dict({}), "t"),
            std::string("\x80\x02"
                        "ccollections\nOrderedDict\n)R.",
                        30));
}

TEST(PickleWriter, EveryValueReadsBack) {
  const std::vector<int64_t> integers = {0,
                                         255,
                                         256,
                                         65535,
                                         65536,
                                         -1,
                                         INT32_MIN,
                                         INT32_MAX,
                                         int64_t{INT32_MAX} + 1,
                                         int64_t{INT32_MIN} - 1,
                                         INT64_MIN,
                                         INT64_MAX};
  std::vector<PickleRef> ints;
  for (const int64_t v : integers) ints.push_back(pickle_int(v));
  PickleRef bytes = std::make_shared<PickleValue>();
  bytes->kind = Kind::kBytes;
  bytes->text = std::string("\x00\x7f\x80\xff", 4);
  const PickleRef root = pickle_dict(
      {{"ints", pickle_list(ints)},
       {"float", pickle_float(-0.1)},
       {"text", pickle_string("gr\xc3\xbc\xc3\x9f")},
       {"bytes", bytes},
       {"tuples",
        pickle_list({pickle_tuple({}), pickle_tuple({pickle_int(1)}),
                     pickle_tuple({pickle_int(1), pickle_int(2), pickle_int(3), pickle_int(4)})})},
       {"ordered", pickle_ordered_dict({{"b", pickle_none()}, {"a", pickle_bool(false)}})},
       {"device", pickle_call("torch.device", {pickle_string("cpu")})},
       {"storage", pickle_persistent_id(pickle_tuple(
                       {pickle_string("storage"), pickle_global("torch.FloatStorage")}))}});
  const PickleRef back = parse_pickle(write_pickle(*root, "t"), "t");
  ASSERT_EQ(back->kind, Kind::kDict);
  const PickleValue& read_ints = *back->find("ints");
  ASSERT_EQ(read_ints.items.size(), integers.size());
  for (size_t i = 0; i < integers.size(); ++i) EXPECT_EQ(read_ints.items[i]->integer, integers[i]);
  EXPECT_EQ(back->find("float")->number, -0.1);
  EXPECT_EQ(back->find("text")->text, "gr\xc3\xbc\xc3\x9f");
  EXPECT_EQ(back->find("bytes")->kind, Kind::kBytes);
  EXPECT_EQ(back->find("bytes")->text, std::string("\x00\x7f\x80\xff", 4));
  const PickleValue& tuples = *back->find("tuples");
  ASSERT_EQ(tuples.items.size(), 3u);
  EXPECT_EQ(tuples.items[0]->items.size(), 0u);
  EXPECT_EQ(tuples.items[1]->items.size(), 1u);
  EXPECT_EQ(tuples.items[2]->items.size(), 4u);
  EXPECT_EQ(tuples.items[2]->items[3]->integer, 4);
  const PickleValue& ordered = *back->find("ordered");  // the reader rebuilds OrderedDict
  ASSERT_EQ(ordered.kind, Kind::kDict);
  ASSERT_EQ(ordered.entries.size(), 2u);
  EXPECT_EQ(ordered.entries[0].first->text, "b");
  EXPECT_EQ(ordered.entries[1].second->kind, Kind::kBool);
  const PickleValue& device = *back->find("device");
  EXPECT_EQ(device.global_name(), "torch.device");
  EXPECT_EQ(device.args->items[0]->text, "cpu");
  const PickleValue& storage = *back->find("storage");
  ASSERT_EQ(storage.kind, Kind::kPersistentId);
  EXPECT_EQ(storage.args->items[1]->text, "torch.FloatStorage");
}

TEST(PickleWriter, RefusesWhatPickleCannotSay) {
  EXPECT_THAT(testing::error_of([] { write_pickle(*pickle_call("device", {}), "ck.pth"); }),
              HasSubstr("ck.pth: cannot write the pickle: 'device' is not a global of the form "
                        "module.name"));
  PickleRef deep = pickle_none();
  for (int i = 0; i <= kMaxPickleNesting; ++i) deep = pickle_list({deep});
  EXPECT_THAT(testing::error_of([&] { write_pickle(*deep, "ck.pth"); }),
              HasSubstr("ck.pth: cannot write the pickle: values nest deeper than 100 levels"));
  PickleRef bad_key = pickle_dict({});
  bad_key->entries.emplace_back(pickle_list({}), pickle_none());
  EXPECT_THAT(testing::error_of([&] { write_pickle(*bad_key, "ck.pth"); }),
              HasSubstr("a dict key that is a list"));
}

TEST(PickleWriter, JsonBecomesWhatJsonLoadGives) {
  const nlohmann::json j = {{"a", {1, 2.5, "x", nullptr, true}}, {"b", {{"c", -3}}}};
  const PickleRef back = parse_pickle(write_pickle(*pickle_from_json(j), "t"), "t");
  const PickleValue& a = *back->find("a");
  ASSERT_EQ(a.kind, Kind::kList);
  ASSERT_EQ(a.items.size(), 5u);
  EXPECT_EQ(a.items[0]->kind, Kind::kInt);
  EXPECT_EQ(a.items[1]->kind, Kind::kFloat);
  EXPECT_EQ(a.items[2]->text, "x");
  EXPECT_EQ(a.items[3]->kind, Kind::kNone);
  EXPECT_TRUE(a.items[4]->boolean);
  EXPECT_EQ(back->find("b")->find("c")->integer, -3);
}

}  // namespace
}  // namespace medseg
