// Hash containers keyed by record text that can be searched with a
// string_view: looking a key up (the common case for distinct and
// count_by, whose keys repeat) then costs no allocation.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace flow {

struct StringKeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

using StringKeySet = std::unordered_set<std::string, StringKeyHash, std::equal_to<>>;
template <class T>
using StringKeyMap = std::unordered_map<std::string, T, StringKeyHash, std::equal_to<>>;

}  // namespace flow
