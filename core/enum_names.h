// Table-driven conversion between an enum and its names, so that each enum
// lists its names once:
//
//   constexpr EnumName<Color> kColors[] = {
//       {Color::kRed, "red"}, {Color::kGreen, "green"}, {Color::kRed, "r", /*alias=*/true}};
//   ParseEnum("blue", kColors, "color", &c, &error);
//     // false; error = "unknown color 'blue' (known: red, green)"
//   EnumToName(Color::kGreen, kColors);  // "green"
#ifndef TWOPHASE_CORE_ENUM_NAMES_H_
#define TWOPHASE_CORE_ENUM_NAMES_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace twophase {

// One row of an enum's name table. Each value's canonical row gives the name
// EnumToName returns and the "known:" list shows; alias rows are further
// spellings that ParseEnum accepts and nothing prints.
template <typename E>
struct EnumName {
  E value;
  std::string_view name;
  bool alias = false;
};

// The table's canonical names in table order, ", "-separated.
template <typename E, size_t N>
std::string KnownEnumNames(const EnumName<E> (&table)[N]) {
  std::string known;
  for (const EnumName<E>& row : table) {
    if (row.alias) continue;
    if (!known.empty()) known += ", ";
    known += row.name;
  }
  return known;
}

// Sets *out to the value of the row named `name` (canonical or alias). Else
// returns false and, when error is non-null, sets it to
// "unknown <what> '<name>' (known: <canonical names>)".
template <typename E, size_t N>
bool ParseEnum(std::string_view name, const EnumName<E> (&table)[N], std::string_view what, E* out,
               std::string* error) {
  for (const EnumName<E>& row : table) {
    if (row.name == name) {
      *out = row.value;
      return true;
    }
  }
  if (error != nullptr) {
    *error = "unknown " + std::string(what) + " '" + std::string(name) +
             "' (known: " + KnownEnumNames(table) + ")";
  }
  return false;
}

// The canonical name of `value`, or `fallback` when the table has none.
template <typename E, size_t N>
std::string EnumToName(E value, const EnumName<E> (&table)[N],
                       std::string_view fallback = "unknown") {
  for (const EnumName<E>& row : table) {
    if (!row.alias && row.value == value) return std::string(row.name);
  }
  return std::string(fallback);
}

}  // namespace twophase

#endif  // TWOPHASE_CORE_ENUM_NAMES_H_
