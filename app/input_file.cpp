#include "app/input_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <system_error>

namespace epsim::app {

namespace fs = std::filesystem;

namespace {

std::string cap_text() { return std::to_string(kMaxInputFileBytes >> 20) + " MiB"; }

// Reads at most kMaxInputFileBytes + 1 bytes: one more says "too large"
// without reading the rest (a file may grow after its size was checked).
std::optional<std::string> read_capped(std::istream& in, std::string& reason) {
  std::string text;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    const auto got = static_cast<std::size_t>(in.gcount());
    if (text.size() + got > kMaxInputFileBytes) {
      reason = "is larger than " + cap_text();
      return std::nullopt;
    }
    text.append(buf, got);
  }
  if (in.bad()) {
    reason = "read error";
    return std::nullopt;
  }
  return text;
}

std::string not_regular(fs::file_type type) {
  switch (type) {
    case fs::file_type::directory: return "is a directory";
    case fs::file_type::fifo: return "is a FIFO, not a regular file";
    case fs::file_type::character:
    case fs::file_type::block: return "is a device, not a regular file";
    case fs::file_type::socket: return "is a socket, not a regular file";
    default: return "is not a regular file";
  }
}

}  // namespace

std::optional<std::string> read_input_file(const std::string& path, std::string& reason) {
  if (path == "-") {
    // Read once: a scenario from stdin may be loaded more than once per run.
    static const std::optional<std::string> stdin_text = [] {
      std::string why;
      auto text = read_capped(std::cin, why);
      return text ? text : std::optional<std::string>{};
    }();
    if (!stdin_text) reason = "the standard input is larger than " + cap_text() + " or unreadable";
    return stdin_text;
  }
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows symlinks: the target must be regular
  if (ec) {
    reason = ec.message();
    return std::nullopt;
  }
  if (st.type() != fs::file_type::regular) {
    reason = not_regular(st.type());
    return std::nullopt;
  }
  const auto size = fs::file_size(path, ec);
  if (!ec && size > kMaxInputFileBytes) {
    reason = "is larger than " + cap_text();
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    reason = std::strerror(errno);
    return std::nullopt;
  }
  return read_capped(in, reason);
}

}  // namespace epsim::app
