#include "app/atomic_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "app/input_error.h"

namespace epsim::app {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

[[noreturn]] void fail(const std::string& dir, const std::string& what) {
  throw InputError("--out " + dir + ": " + what);
}

// Writes all of `content` to a new temp file next to `final_path`; returns its
// path. Throws InputError (after removing the temp file) on any error.
std::string write_temp(const std::string& dir, const fs::path& final_path, const std::string& content) {
  std::string temp_name = ".";
  temp_name += final_path.filename().string();
  temp_name += ".tmp.XXXXXX";
  std::string tmpl = (final_path.parent_path() / temp_name).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) fail(dir, "cannot create a file: " + errno_text(errno));
  const char* p = content.data();
  std::size_t left = content.size();
  int err = 0;
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // Reports are read by people and tools: the usual 0644, not mkstemp's 0600.
  if (err == 0 && ::fchmod(fd, 0644) != 0) err = errno;
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmpl.c_str());
    fail(dir, "cannot write " + final_path.filename().string() + ": " + errno_text(err));
  }
  return tmpl;
}

}  // namespace

void check_output_dir(const std::string& dir) {
  if (dir.empty()) fail(dir, "the directory name is empty");
  std::error_code ec;
  fs::path p = fs::absolute(fs::path(dir), ec);
  if (ec) fail(dir, ec.message());
  // The nearest existing ancestor decides: it must be a writable directory.
  for (;;) {
    const fs::file_status st = fs::status(p, ec);
    if (fs::exists(st)) {
      if (!fs::is_directory(st)) fail(dir, p.string() + " is not a directory");
      if (::access(p.c_str(), W_OK | X_OK) != 0) fail(dir, p.string() + " is not writable: " + errno_text(errno));
      return;
    }
    if (!p.has_relative_path()) return;  // reached the root
    p = p.parent_path();
  }
}

void write_files_atomically(const std::string& dir, const std::vector<OutputFile>& files) {
  check_output_dir(dir);
  std::error_code ec;
  fs::create_directories(fs::path(dir), ec);
  if (ec) fail(dir, "cannot create the directory: " + ec.message());
  if (!fs::is_directory(fs::path(dir), ec)) fail(dir, "not a directory");

  std::vector<std::string> temps;
  std::vector<std::string> renamed;
  auto roll_back = [&] {
    for (const auto& t : temps) {
      if (!t.empty()) ::unlink(t.c_str());
    }
    for (const auto& r : renamed) ::unlink(r.c_str());
  };
  try {
    for (const OutputFile& f : files) temps.push_back(write_temp(dir, fs::path(dir) / f.name, f.content));
    // Everything is on disk; only the renames remain (atomic per file).
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::string final_path = (fs::path(dir) / files[i].name).string();
      if (::rename(temps[i].c_str(), final_path.c_str()) != 0) {
        fail(dir, "cannot rename into " + files[i].name + ": " + errno_text(errno));
      }
      renamed.push_back(final_path);
      temps[i].clear();
    }
  } catch (...) {
    roll_back();
    throw;
  }
  // Make the renames durable too.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace epsim::app
