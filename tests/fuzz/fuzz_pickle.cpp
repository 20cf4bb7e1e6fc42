// Python pickles, as in the reference nnU-Net's files (the data.pkl of a checkpoint_*.pth,
// postprocessing.pkl): parse_pickle with its bounds, every value it returns walked once
// (pickle_integer, names, the nesting heights the bounds rely on), and the same bytes read as a
// postprocessing.pkl. Seeds: those files of tests/data/nnunet_results (written by the
// reference's own code), copied by medseg_fuzz_make_seeds.
#include <cstdint>
#include <string>
#include <unordered_set>

#include "fuzz_support.h"
#include "medseg/infer/nnunet_postprocessing.h"
#include "medseg/io/pickle.h"

namespace {

using medseg::PickleValue;

// Every value once (memo entries make the result a DAG, possibly with many paths to a value);
// a child's height is below its parent's, and no height exceeds the bound.
void walk(const PickleValue& v, std::unordered_set<const PickleValue*>& seen) {
  if (!seen.insert(&v).second) return;
  if (v.height > medseg::kMaxPickleNesting) __builtin_trap();
  medseg::pickle_integer(v);
  if (v.type_name().empty()) __builtin_trap();
  v.global_name();
  const auto child = [&](const medseg::PickleRef& c) {
    if (!c) return;
    if (c->height >= v.height) __builtin_trap();
    walk(*c, seen);
  };
  for (const auto& item : v.items) child(item);
  for (const auto& [key, value] : v.entries) {
    child(key);
    child(value);
  }
  child(v.callee);
  child(v.args);
  child(v.state);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using medseg::fuzz::expect_error_or_success;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  expect_error_or_success([&] {
    const medseg::PickleRef root = medseg::parse_pickle(bytes, "input.pkl");
    std::unordered_set<const PickleValue*> seen;
    walk(*root, seen);
  });
  const auto path = medseg::fuzz::write_input(data, size, "postprocessing.pkl");
  expect_error_or_success([&] { medseg::read_nnunet_postprocessing(path); });
  return 0;
}
