// Strict reading of a JSON object into typed fields: a missing key, a wrong type or a key the
// schema does not know gives an Error naming the file and the key path.
#pragma once

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "medseg/core/error.h"

namespace medseg {

namespace json_detail {

template <typename T>
struct IsVector : std::false_type {};
template <typename T, typename A>
struct IsVector<std::vector<T, A>> : std::true_type {};

// Whether every number that value.get<T>() would turn into an integer is a whole number within
// that integer type's range: nlohmann casts unchecked, and casting 1e300 to int is undefined.
template <typename T>
bool integers_fit(const nlohmann::json& value) {
  if constexpr (IsVector<T>::value) {
    if (value.is_array())
      for (const auto& item : value)
        if (!integers_fit<typename T::value_type>(item)) return false;
    return true;
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using Limits = std::numeric_limits<T>;
    if (value.is_number_unsigned())
      return value.get<uint64_t>() <= static_cast<uint64_t>(Limits::max());
    if (value.is_number_integer()) {
      const int64_t v = value.get<int64_t>();
      return v < 0 ? std::is_signed_v<T> && v >= static_cast<int64_t>(Limits::min())
                   : static_cast<uint64_t>(v) <= static_cast<uint64_t>(Limits::max());
    }
    if (value.is_number_float()) {
      // [min, max + 1) in doubles: both bounds are exact powers of two.
      const double v = value.get<double>(), lower = static_cast<double>(Limits::min());
      const double upper = 2.0 * static_cast<double>(Limits::max() / 2 + 1);
      return std::isfinite(v) && v == std::trunc(v) && v >= lower && v < upper;
    }
  }
  return true;
}

}  // namespace json_detail

class JsonReader {
 public:
  // `where` names the file; `path` the object inside it ("configurations.3d_fullres").
  JsonReader(const nlohmann::json& object, std::string where, std::string path = "");

  template <typename T>
  T get(const std::string& key) {
    const nlohmann::json& v = at(key);
    if (!json_detail::integers_fit<T>(v))
      throw Error(where_, "key '" + qualified(key) +
                              "' must hold whole numbers that fit its integer type: " + v.dump());
    try {
      return v.get<T>();
    } catch (const nlohmann::json::exception&) {
      throw Error(where_, "key '" + qualified(key) + "' has the wrong type: " + v.dump());
    }
  }
  template <typename T>
  T get_or(const std::string& key, T fallback) {
    return has(key) ? get<T>(key) : fallback;
  }
  bool has(const std::string& key) const { return object_.contains(key); }
  // The raw value (marked as read).
  const nlohmann::json& at(const std::string& key);
  // A reader for a nested object.
  JsonReader child(const std::string& key);
  // Throws if the object holds keys that were never read.
  void reject_unknown_keys() const;

  const std::string& where() const { return where_; }
  std::string qualified(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }

 private:
  const nlohmann::json& object_;
  std::string where_;
  std::string path_;
  std::set<std::string> read_;
};

}  // namespace medseg
