#include "models/endpoint_addresses.h"

#include <algorithm>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <utility>

#include "models/address_block_pool.h"
#include "sim/invariant.h"

namespace epsim::models {

// An 8-byte header and then ready + not_ready addresses, in one allocation:
// a one-address block is 24 bytes, what malloc serves from its smallest
// (32-byte) chunk.
struct EndpointAddresses::Block {
  std::uint32_t references;
  std::uint16_t ready;
  std::uint16_t not_ready;

  EndpointAddress* addresses() { return reinterpret_cast<EndpointAddress*>(this + 1); }
  const EndpointAddress* addresses() const { return reinterpret_cast<const EndpointAddress*>(this + 1); }
  std::size_t size() const { return std::size_t{ready} + not_ready; }
  static std::size_t bytes(std::size_t addresses) { return sizeof(Block) + addresses * sizeof(EndpointAddress); }
};

namespace {

constexpr std::uint32_t kMaxReferences = std::numeric_limits<std::uint32_t>::max();

}  // namespace

EndpointAddresses::EndpointAddresses(const EndpointAddresses& other) noexcept : block_(other.block_) {
  if (block_ != nullptr) {
    EPSIM_INVARIANT(block_->references < kMaxReferences, "an address block shared by 2^32 objects");
    ++block_->references;
  }
}

EndpointAddresses::EndpointAddresses(EndpointAddresses&& other) noexcept
    : block_(std::exchange(other.block_, nullptr)) {}

EndpointAddresses& EndpointAddresses::operator=(const EndpointAddresses& other) noexcept {
  if (block_ != other.block_) {
    release();
    block_ = other.block_;
    if (block_ != nullptr) {
      EPSIM_INVARIANT(block_->references < kMaxReferences, "an address block shared by 2^32 objects");
      ++block_->references;
    }
  }
  return *this;
}

EndpointAddresses& EndpointAddresses::operator=(EndpointAddresses&& other) noexcept {
  if (this != &other) {
    release();
    block_ = std::exchange(other.block_, nullptr);
  }
  return *this;
}

std::span<const EndpointAddress> EndpointAddresses::ready() const {
  if (block_ == nullptr) return {};
  return {block_->addresses(), block_->ready};
}

std::span<const EndpointAddress> EndpointAddresses::not_ready() const {
  if (block_ == nullptr) return {};
  return {block_->addresses() + block_->ready, block_->not_ready};
}

std::uint32_t EndpointAddresses::sharers() const { return block_ == nullptr ? 0 : block_->references; }

void EndpointAddresses::release() {
  if (block_ == nullptr) return;
  if (--block_->references == 0) {
    const std::size_t addresses = block_->size();
    block_->~Block();
    address_block_pool::deallocate(block_, addresses);
  }
  block_ = nullptr;
}

bool EndpointAddresses::inside_block(std::span<const EndpointAddress> list) const {
  if (block_ == nullptr || list.empty()) return false;
  const EndpointAddress* begin = block_->addresses();
  const EndpointAddress* end = begin + block_->size();
  return list.data() < end && list.data() + list.size() > begin;
}

void EndpointAddresses::assign(std::span<const EndpointAddress> ready, std::span<const EndpointAddress> not_ready) {
  if (ready.size() > kMaxAddressesPerList || not_ready.size() > kMaxAddressesPerList) {
    throw std::length_error("an Endpoints subset of more than 65,535 addresses");
  }
  // A source inside the block would be released or overwritten before it is read.
  EPSIM_INVARIANT(!inside_block(ready) && !inside_block(not_ready), "addresses assigned from their own block");
  static_assert(sizeof(Block) % alignof(EndpointAddress) == 0, "the addresses after a block's header must be aligned");
  const std::size_t total = ready.size() + not_ready.size();
  // A block no other object reads may be written over in place.
  const bool reuse = block_ != nullptr && block_->references == 1 && block_->size() == total;
  if (!reuse) {
    release();
    if (total == 0) return;
    block_ = ::new (address_block_pool::allocate(total, Block::bytes(total))) Block{1, 0, 0};
  }
  block_->ready = static_cast<std::uint16_t>(ready.size());
  block_->not_ready = static_cast<std::uint16_t>(not_ready.size());
  // EndpointAddress is trivially copyable: copying into the raw storage
  // starts the addresses' lifetimes.
  std::uninitialized_copy(ready.begin(), ready.end(), block_->addresses());
  std::uninitialized_copy(not_ready.begin(), not_ready.end(), block_->addresses() + ready.size());
}

bool operator==(const EndpointAddresses& a, const EndpointAddresses& b) {
  if (a.block_ == b.block_) return true;
  const std::span<const EndpointAddress> ar = a.ready(), br = b.ready();
  const std::span<const EndpointAddress> an = a.not_ready(), bn = b.not_ready();
  return std::ranges::equal(ar, br) && std::ranges::equal(an, bn);
}

}  // namespace epsim::models
