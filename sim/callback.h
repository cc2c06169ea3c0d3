// A small, trivially copyable callable stored inline: the event payload of the
// engine. Capturing more than kCapacity bytes, or anything that owns memory
// (std::string, std::vector, std::function), is a compile error. That keeps
// scheduling free of per-event heap allocation (docs/architecture.md): a model
// captures `this` and a few integers, and looks the rest up itself.
#pragma once

#include <cstddef>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace epsim::sim {

class Callback {
 public:
  static constexpr std::size_t kCapacity = 32;

  Callback() = default;

  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, Callback> && std::is_invocable_r_v<void, F&>)
  Callback(F f) {  // NOLINT(google-explicit-constructor): lambdas convert implicitly
    static_assert(sizeof(F) <= kCapacity,
                  "event callback captures too much; capture `this` and an index");
    static_assert(alignof(F) <= alignof(void*), "over-aligned capture");
    static_assert(std::is_trivially_copyable_v<F> && std::is_trivially_destructible_v<F>,
                  "event callbacks may capture only trivially copyable values");
    ::new (static_cast<void*>(storage_)) F(std::move(f));
    invoke_ = [](void* storage) { (*std::launder(reinterpret_cast<F*>(storage)))(); };
  }

  explicit operator bool() const { return invoke_ != nullptr; }
  void operator()() { invoke_(storage_); }

 private:
  alignas(void*) unsigned char storage_[kCapacity] = {};
  void (*invoke_)(void*) = nullptr;
};

static_assert(std::is_trivially_copyable_v<Callback>);

}  // namespace epsim::sim
