#include "medseg/core/json_reader.h"

namespace medseg {

JsonReader::JsonReader(const nlohmann::json& object, std::string where, std::string path)
    : object_(object), where_(std::move(where)), path_(std::move(path)) {
  if (!object_.is_object())
    throw Error(where_, (path_.empty() ? std::string("top level") : "'" + path_ + "'") + " must be a JSON object");
}

const nlohmann::json& JsonReader::at(const std::string& key) {
  if (!object_.contains(key)) throw Error(where_, "missing key '" + qualified(key) + "'");
  read_.insert(key);
  return object_.at(key);
}

JsonReader JsonReader::child(const std::string& key) { return JsonReader(at(key), where_, qualified(key)); }

void JsonReader::reject_unknown_keys() const {
  for (auto it = object_.begin(); it != object_.end(); ++it)
    if (!read_.count(it.key())) throw Error(where_, "unknown key '" + qualified(it.key()) + "'");
}

}  // namespace medseg
