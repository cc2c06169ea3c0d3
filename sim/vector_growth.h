// Growing a per-id table to cover one more id.
//
// Tables indexed by dense ids (an object store's current handles, a pod
// index's links) grow as objects arrive, mostly one id past their end: a
// million objects seeded in id order. std::vector::resize(n, value) takes
// its general path for each (a fill of n - size elements, a memset call);
// push_back is a store and an increment. About a tenth of the instructions
// of a 1.3M-Service storm's setup (issue 12).
#pragma once

#include <cstddef>
#include <vector>

namespace epsim::sim {

// Grows `table` to at least `size` elements, the new ones `value`.
template <class T>
void grow_to(std::vector<T>& table, std::size_t size, const T& value) {
  if (size <= table.size()) return;
  if (size == table.size() + 1) {
    table.push_back(value);
  } else {
    table.resize(size, value);
  }
}

}  // namespace epsim::sim
