// Invariant checks inside the models (README "Reliability"): assertions on
// invariants such as a token level within [−∞, burst], resourceVersions that
// never go back, a key never in two workers. A failed invariant is a bug in
// epsim, never bad input (bad input is an InputError or std::invalid_argument
// at the edge), so it prints where and what and aborts: there is nothing a
// caller could do about it.
//
// Active when NDEBUG is not defined (Debug builds) or when the build defines
// EPSIM_CHECK_INVARIANTS (CMake option EPSIM_CHECK_INVARIANTS, which
// `make test-asan` turns on). Otherwise EPSIM_INVARIANT compiles to nothing:
// the condition is not evaluated (it stays an unevaluated operand, so names
// used only in checks do not warn), and Release keeps its speed.
//
// Keep every check O(1) per model operation; whatever needs a walk over a
// whole run belongs in app/invariants.h, which also works in Release.
#pragma once

#include <cstdio>
#include <cstdlib>

#if !defined(NDEBUG) || defined(EPSIM_CHECK_INVARIANTS)
#define EPSIM_INVARIANTS_ENABLED 1
#else
#define EPSIM_INVARIANTS_ENABLED 0
#endif

namespace epsim::sim::detail {

[[noreturn]] inline void invariant_failed(const char* condition, const char* message, const char* file,
                                          int line) noexcept {
  std::fprintf(stderr, "%s:%d: epsim invariant violated: %s [%s]\n", file, line, message, condition);
  std::fflush(stderr);
  std::abort();
}

}  // namespace epsim::sim::detail

#if EPSIM_INVARIANTS_ENABLED
// EPSIM_INVARIANT(condition, "what must hold"): aborts with file:line when
// the condition is false.
#define EPSIM_INVARIANT(condition, message)                                                      \
  do {                                                                                           \
    if (!(condition)) [[unlikely]] {                                                             \
      ::epsim::sim::detail::invariant_failed(#condition, message, __FILE__, __LINE__);           \
    }                                                                                            \
  } while (false)
#else
#define EPSIM_INVARIANT(condition, message) \
  do {                                      \
    (void)sizeof(!(condition));             \
    (void)sizeof(message);                  \
  } while (false)
#endif
