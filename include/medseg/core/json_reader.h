// Strict reading of a JSON object into typed fields: a missing key, a wrong type or a key the
// schema does not know gives an Error naming the file and the key path.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>

#include "medseg/core/error.h"

namespace medseg {

class JsonReader {
 public:
  // `where` names the file; `path` the object inside it ("configurations.3d_fullres").
  JsonReader(const nlohmann::json& object, std::string where, std::string path = "");

  template <typename T>
  T get(const std::string& key) {
    const nlohmann::json& v = at(key);
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
  std::string qualified(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

 private:
  const nlohmann::json& object_;
  std::string where_;
  std::string path_;
  std::set<std::string> read_;
};

}  // namespace medseg
