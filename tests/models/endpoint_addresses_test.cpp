// An Endpoints object's addresses (models/endpoint_addresses.h): both lists
// in one immutable block, ready ones first, shared by every copy.
#include <doctest/doctest.h>

#include <stdexcept>
#include <utility>
#include <vector>

#include "models/endpoint_addresses.h"
#include "models/objects.h"

using namespace epsim::models;

namespace {

std::vector<EndpointAddress> addresses(std::vector<PodIp> ips) {
  std::vector<EndpointAddress> out;
  for (const PodIp ip : ips) out.push_back(EndpointAddress{ip, ip + 1000, ip * 10ULL});
  return out;
}

std::vector<PodIp> ips(std::span<const EndpointAddress> list) {
  std::vector<PodIp> out;
  for (const auto& a : list) out.push_back(a.ip);
  return out;
}

}  // namespace

TEST_CASE("endpoint addresses: each list reads back what was assigned, ready ones apart from not-ready ones") {
  EndpointAddresses a;
  CHECK(a.empty());
  CHECK(a.ready().empty());
  CHECK(a.not_ready().empty());

  const auto ready = addresses({1, 2, 3});
  const auto not_ready = addresses({9});
  a.assign(ready, not_ready);
  CHECK_FALSE(a.empty());
  CHECK(ips(a.ready()) == std::vector<PodIp>{1, 2, 3});
  CHECK(ips(a.not_ready()) == std::vector<PodIp>{9});
  CHECK(a.ready()[1] == ready[1]);  // every field, not only the IP
  CHECK(a.not_ready()[0] == not_ready[0]);

  a.assign({}, not_ready);
  CHECK(a.ready().empty());
  CHECK(ips(a.not_ready()) == std::vector<PodIp>{9});
  a.clear();
  CHECK(a.empty());
}

TEST_CASE("endpoint addresses: equal means the same addresses in the same lists") {
  EndpointAddresses split, all_ready, same_split;
  split.assign(addresses({1}), addresses({2}));
  all_ready.assign(addresses({1, 2}), {});
  same_split.assign(addresses({1}), addresses({2}));
  // One block holds both lists; where the ready ones end is part of the value.
  CHECK_FALSE(split == all_ready);
  CHECK(split == same_split);
  CHECK(EndpointAddresses{} == EndpointAddresses{});

  auto changed = addresses({1});
  changed[0].target_ref_resource_version += 1;
  EndpointAddresses other_rv;
  other_rv.assign(changed, addresses({2}));
  CHECK(split != other_rv);
}

TEST_CASE("endpoint addresses: a copy shares the block; a new assignment never changes what a copy reads") {
  EndpointAddresses source;
  source.assign(addresses({1, 2}), addresses({3}));
  CHECK(source.sharers() == 1);

  EndpointAddresses copy(source);  // a request, a stored version, another cluster's copy
  CHECK(copy == source);
  CHECK(copy.ready().data() == source.ready().data());
  CHECK(source.sharers() == 2);

  EndpointAddresses target;
  target.assign(addresses({7, 8, 9}), {});
  target = source;
  CHECK(target == source);
  CHECK(source.sharers() == 3);

  // Written over while shared: the others keep reading the old lists.
  source.assign(addresses({4, 5}), addresses({6}));
  CHECK(ips(source.ready()) == std::vector<PodIp>{4, 5});
  CHECK(ips(copy.ready()) == std::vector<PodIp>{1, 2});
  CHECK(ips(target.not_ready()) == std::vector<PodIp>{3});
  CHECK(copy.sharers() == 2);
  CHECK(source.sharers() == 1);

  // Unshared and of the same length: written over in place.
  const EndpointAddress* block = source.ready().data();
  source.assign(addresses({10, 11}), addresses({12}));
  CHECK(source.ready().data() == block);
  CHECK(ips(source.ready()) == std::vector<PodIp>{10, 11});
  // Of another length: a block of its own.
  source.assign(addresses({13}), {});
  CHECK(ips(source.ready()) == std::vector<PodIp>{13});
  CHECK(source.not_ready().empty());

  // The last holder lets go: the block's reference count follows.
  copy = EndpointAddresses{};
  CHECK(target.sharers() == 1);
  CHECK(copy.empty());
  CHECK(copy.sharers() == 0);

  const EndpointAddresses& self = target;
  target = self;
  CHECK(target.sharers() == 1);
  CHECK(ips(target.ready()) == std::vector<PodIp>{1, 2});
}

TEST_CASE("endpoint addresses: a move hands the block over and leaves the source empty") {
  EndpointAddresses source;
  source.assign(addresses({5, 6}), addresses({7}));
  const EndpointAddress* block = source.ready().data();

  EndpointAddresses moved(std::move(source));
  CHECK(moved.ready().data() == block);
  CHECK(ips(moved.not_ready()) == std::vector<PodIp>{7});
  CHECK(source.empty());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  CHECK(moved.sharers() == 1);  // a move takes no reference

  EndpointAddresses target;
  target.assign(addresses({1}), {});
  target = std::move(moved);
  CHECK(target.ready().data() == block);
  CHECK(ips(target.ready()) == std::vector<PodIp>{5, 6});
  CHECK(moved.empty());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("endpoint addresses: an Endpoints object is 32 bytes whatever its addresses") {
  // 72 with two std::vector members; every stored version pays for it (issue 12).
  CHECK(sizeof(EndpointAddresses) == sizeof(void*));
  CHECK(sizeof(Endpoints) == 32);
  CHECK(sizeof(EndpointAddress) == 16);
  Endpoints e;
  e.set_addresses(addresses({1, 2}), addresses({3}));
  CHECK(ips(e.addresses()) == std::vector<PodIp>{1, 2});
  CHECK(ips(e.not_ready_addresses()) == std::vector<PodIp>{3});
}

TEST_CASE("endpoint addresses: each list holds up to 65,535 addresses; one more is refused") {
  const std::size_t most = EndpointAddresses::kMaxAddressesPerList;
  CHECK(most == 65535);  // what a block's 16-bit counts hold
  std::vector<EndpointAddress> many(most);
  for (std::size_t i = 0; i < most; ++i) many[i].ip = static_cast<PodIp>(i + 1);
  EndpointAddresses a;
  a.assign(many, many);
  CHECK(a.ready().size() == most);
  CHECK(a.not_ready().size() == most);
  CHECK(a.not_ready().back().ip == most);

  many.push_back(EndpointAddress{70000, 1, 1});
  CHECK_THROWS_AS(a.assign(many, {}), std::length_error);
  CHECK_THROWS_AS(a.assign({}, many), std::length_error);
  CHECK(a.ready().size() == most);  // a refused assignment leaves the lists as they were
}
