#include "medseg/train/kfold_split.h"

#include <algorithm>
#include <cctype>
#include <random>
#include <set>

#include "medseg/core/error.h"
#include "medseg/core/files.h"
#include "medseg/core/json_reader.h"
#include "medseg/core/log.h"

namespace medseg {

namespace {

// numpy's random_interval(max): uniform in [0, max] from 32-bit draws masked to the smallest
// covering power of two, rejecting values above max.
uint32_t random_interval(std::mt19937& rng, uint32_t max) {
  if (max == 0) return 0;
  uint32_t mask = max;
  for (int shift = 1; shift <= 16; shift *= 2) mask |= mask >> shift;
  uint32_t value = 0;
  do {
    value = static_cast<uint32_t>(rng()) & mask;
  } while (value > max);
  return value;
}

// np.random.RandomState(seed).shuffle(arange(n)): std::mt19937's seeding is init_genrand,
// the one RandomState uses for an integer seed.
std::vector<std::size_t> numpy_permutation(std::size_t n, uint32_t seed) {
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937 rng(seed);
  for (std::size_t i = n; i-- > 1;)
    std::swap(order[i], order[random_interval(rng, static_cast<uint32_t>(i))]);
  return order;
}

std::vector<std::string> string_list(JsonReader& reader, const std::string& key) {
  const nlohmann::json& value = reader.at(key);
  if (!value.is_array())
    throw Error(reader.where(), "'" + reader.qualified(key) + "' must be a list of case ids");
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string())
      throw Error(reader.where(), "'" + reader.qualified(key) + "' holds a non-string " + item.dump());
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace

int parse_fold(const std::string& text) {
  if (text == "all") return kFoldAll;
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(), ::isdigit);
  if (!digits || text.size() > 6)
    throw UsageError("fold", "must be a fold number (0, 1, ...) or 'all', got '" + text + "'");
  return std::stoi(text);
}

std::vector<FoldSplit> make_kfold_splits(std::vector<std::string> ids, int n_folds, uint32_t seed) {
  std::sort(ids.begin(), ids.end());
  const std::size_t n = ids.size();
  if (n_folds < 2 || n < static_cast<std::size_t>(n_folds))
    throw Error("cross-validation split", "a " + std::to_string(n_folds) + "-fold split needs at least " +
                                              std::to_string(n_folds) + " cases, the dataset has " +
                                              std::to_string(n) + " (train with -f all instead)");
  const std::vector<std::size_t> order = numpy_permutation(n, seed);
  std::vector<FoldSplit> splits;
  std::size_t start = 0;
  for (int f = 0; f < n_folds; ++f) {
    const std::size_t size = n / n_folds + (static_cast<std::size_t>(f) < n % n_folds ? 1 : 0);
    std::vector<bool> in_val(n, false);
    for (std::size_t k = start; k < start + size; ++k) in_val[order[k]] = true;
    start += size;
    FoldSplit split;
    for (std::size_t i = 0; i < n; ++i) (in_val[i] ? split.val : split.train).push_back(ids[i]);
    splits.push_back(std::move(split));
  }
  return splits;
}

nlohmann::json splits_to_json(const std::vector<FoldSplit>& splits) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& s : splits) j.push_back({{"train", s.train}, {"val", s.val}});
  return j;
}

std::vector<FoldSplit> splits_from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_array() || json.empty())
    throw Error(where, "must be a non-empty list of {\"train\": [...], \"val\": [...]} folds");
  std::vector<FoldSplit> splits;
  for (std::size_t f = 0; f < json.size(); ++f) {
    JsonReader reader(json[f], where, "fold " + std::to_string(f));
    FoldSplit split;
    split.train = string_list(reader, "train");
    split.val = string_list(reader, "val");
    reader.reject_unknown_keys();
    splits.push_back(std::move(split));
  }
  return splits;
}

void validate_splits(const std::vector<FoldSplit>& splits, const std::vector<std::string>& known_ids,
                     const std::string& where) {
  const std::set<std::string> known(known_ids.begin(), known_ids.end());
  for (std::size_t f = 0; f < splits.size(); ++f) {
    const std::string fold = "fold " + std::to_string(f);
    if (splits[f].train.empty() || splits[f].val.empty())
      throw Error(where, fold + " has an empty " + (splits[f].train.empty() ? "train" : "val") + " list");
    const std::set<std::string> train(splits[f].train.begin(), splits[f].train.end());
    for (const auto* list : {&splits[f].train, &splits[f].val})
      for (const auto& id : *list)
        if (!known.count(id))
          throw Error(where, fold + " names case '" + id + "', which is not among the " +
                                 std::to_string(known.size()) + " preprocessed cases");
    for (const auto& id : splits[f].val)
      if (train.count(id)) throw Error(where, fold + " has case '" + id + "' in both train and val");
  }
}

std::vector<FoldSplit> load_or_create_splits(const fs::path& splits_file,
                                             const std::vector<std::string>& case_ids) {
  if (fs::exists(splits_file)) {
    std::vector<FoldSplit> splits = splits_from_json(read_json(splits_file), splits_file.string());
    validate_splits(splits, case_ids, splits_file.string());
    log().info("using the {}-fold split in {}", splits.size(), splits_file.string());
    return splits;
  }
  std::vector<FoldSplit> splits = make_kfold_splits(case_ids);
  write_json(splits_file, splits_to_json(splits));
  log().info("wrote a new {}-fold split of {} cases to {}", splits.size(), case_ids.size(),
             splits_file.string());
  return splits;
}

FoldSplit select_fold(const fs::path& splits_file, const std::vector<std::string>& case_ids, int fold) {
  if (fold == kFoldAll) {
    std::vector<std::string> all = case_ids;
    std::sort(all.begin(), all.end());
    return {all, all};
  }
  const std::vector<FoldSplit> splits = load_or_create_splits(splits_file, case_ids);
  if (fold < 0 || static_cast<std::size_t>(fold) >= splits.size())
    throw UsageError(splits_file.string(), "has " + std::to_string(splits.size()) + " folds (0 to " +
                                               std::to_string(splits.size() - 1) + "); there is no fold " +
                                               std::to_string(fold));
  return splits[static_cast<std::size_t>(fold)];
}

}  // namespace medseg
