#include "sim/large_allocations.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <fstream>
#include <limits>
#include <new>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using epsim::sim::is_huge_page_allocation;
using epsim::sim::kHugePageBytes;
using epsim::sim::kLargeAllocationBytes;
using epsim::sim::large_allocations_on_huge_pages;

namespace {

// The VmFlags of the mapping of this process that starts at `address`, from
// /proc/self/smaps ("" when no mapping starts there).
std::string vm_flags_of_mapping_at(std::uintptr_t address) {
  std::ostringstream start;
  start << std::hex << address << '-';
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in_mapping = false;
  while (std::getline(smaps, line)) {
    if (line.rfind(start.str(), 0) == 0) in_mapping = true;
    if (in_mapping && line.rfind("VmFlags:", 0) == 0) return line;
  }
  return "";
}

bool has_flag(const std::string& vm_flags, const std::string& flag) {
  return (vm_flags + " ").find(" " + flag + " ") != std::string::npos;
}

}  // namespace

TEST_CASE("large allocations: a block of 2 MiB or more is 2 MiB-aligned, advised for huge pages, and given back") {
  // 2.5 huge pages: two whole units are advised, the half at the end is not.
  const std::size_t bytes = 2 * kHugePageBytes + kHugePageBytes / 2;
  auto block = std::make_unique<std::uint8_t[]>(bytes);
  const void* base = block.get();
  const auto base_address = reinterpret_cast<std::uintptr_t>(base);
  const std::size_t blocks_before = epsim::sim::huge_page_allocations();
  if (!large_allocations_on_huge_pages()) {
    // Sanitizer builds keep the standard operator new.
    CHECK_FALSE(is_huge_page_allocation(base));
    return;
  }
  CHECK(is_huge_page_allocation(base));
  CHECK(base_address % kHugePageBytes == 0);
  CHECK(has_flag(vm_flags_of_mapping_at(base_address), "hg"));
  // The unadvised tail is a mapping of its own, without the flag.
  const std::string tail_flags = vm_flags_of_mapping_at(base_address + 2 * kHugePageBytes);
  REQUIRE_FALSE(tail_flags.empty());
  CHECK_FALSE(has_flag(tail_flags, "hg"));
  // Value-initialised (zero) by the kernel, and every byte writable.
  CHECK(block[0] == 0);
  CHECK(block[bytes - 1] == 0);
  for (std::size_t i = 0; i < bytes; i += 4096) block[i] = static_cast<std::uint8_t>(i / 4096);
  CHECK(block[4096 * 600] == static_cast<std::uint8_t>(600));
  block.reset();
  CHECK(epsim::sim::huge_page_allocations() == blocks_before - 1);
  CHECK(vm_flags_of_mapping_at(base_address).empty());  // unmapped at once
}

TEST_CASE("large allocations: a block below 2 MiB comes from malloc, and a vector's growth moves between both") {
  std::vector<std::uint32_t> values;
  values.reserve(kLargeAllocationBytes / sizeof(std::uint32_t) / 4);  // 512 KiB
  CHECK_FALSE(is_huge_page_allocation(values.data()));
  for (std::uint32_t i = 0; i < kLargeAllocationBytes; ++i) values.push_back(i);  // grows to 4 MiB and beyond
  CHECK(is_huge_page_allocation(values.data()) == large_allocations_on_huge_pages());
  // The copies made while growing kept every element.
  CHECK(values[0] == 0);
  CHECK(values[123457] == 123457);
  CHECK(values.back() == kLargeAllocationBytes - 1);
  const std::size_t blocks_before = epsim::sim::huge_page_allocations();
  std::vector<std::uint32_t>().swap(values);
  CHECK(epsim::sim::huge_page_allocations() == blocks_before - (large_allocations_on_huge_pages() ? 1 : 0));
}

TEST_CASE("large allocations: a request no address space can hold throws std::bad_alloc") {
  // Sanitizer builds report it instead (allocator_may_return_null=0): only
  // the replacement is asked.
  if (!large_allocations_on_huge_pages()) return;
  const std::size_t before = epsim::sim::huge_page_allocations();
  for (const std::size_t bytes : {std::numeric_limits<std::size_t>::max(), std::numeric_limits<std::size_t>::max() / 2 + 1,
                                  std::size_t{1} << 62}) {
    CHECK_THROWS_AS(::operator delete(::operator new(bytes)), std::bad_alloc);
  }
  CHECK(epsim::sim::huge_page_allocations() == before);
}

TEST_CASE("large allocations: an empty request gets a distinct block") {
  void* a = ::operator new(0);
  void* b = ::operator new(0);
  CHECK(a != nullptr);
  CHECK(a != b);
  ::operator delete(a);
  ::operator delete(b);
}
