#include "app/atomic_files.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
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

// The temp files being written, for the signal handler: fixed buffers, since
// a handler may only call async-signal-safe functions (unlink, signal, raise).
constexpr std::size_t kMaxTemps = 16;
constexpr std::size_t kMaxPath = 4096;
std::array<std::array<char, kMaxPath>, kMaxTemps> g_temps{};
volatile std::sig_atomic_t g_temp_count = 0;

extern "C" void remove_temps_and_die(int sig) {
  for (std::sig_atomic_t i = 0; i < g_temp_count; ++i) {
    const auto& path = g_temps[static_cast<std::size_t>(i)];
    if (path[0] != '\0') ::unlink(path.data());
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// While alive: SIGINT and SIGTERM wait (blocked) until it ends.
class SignalsHeld {
 public:
  SignalsHeld() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, &old_mask_);
  }
  ~SignalsHeld() { ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr); }
  SignalsHeld(const SignalsHeld&) = delete;
  SignalsHeld& operator=(const SignalsHeld&) = delete;

 private:
  sigset_t old_mask_{};
};

// While alive: SIGINT and SIGTERM remove the registered temps, then end the
// process as the signal would have.
class TempGuard {
 public:
  TempGuard() {
    g_temp_count = 0;
    struct sigaction sa {};
    sa.sa_handler = remove_temps_and_die;
    sigemptyset(&sa.sa_mask);
    install(SIGINT, sa, old_int_);
    install(SIGTERM, sa, old_term_);
  }
  ~TempGuard() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
    g_temp_count = 0;
  }
  TempGuard(const TempGuard&) = delete;
  TempGuard& operator=(const TempGuard&) = delete;
  // Registers a path (while SignalsHeld, so that no signal finds a temp
  // made and not yet registered).
  void add(const std::string& path) {
    if (g_temp_count >= static_cast<std::sig_atomic_t>(kMaxTemps) || path.size() >= kMaxPath) return;
    auto& slot = g_temps[static_cast<std::size_t>(g_temp_count)];
    std::memcpy(slot.data(), path.c_str(), path.size() + 1);
    g_temp_count = g_temp_count + 1;
  }

 private:
  // A signal the process ignores (a background job's SIGINT) stays ignored.
  static void install(int sig, const struct sigaction& sa, struct sigaction& old) {
    ::sigaction(sig, nullptr, &old);
    if (old.sa_handler != SIG_IGN) ::sigaction(sig, &sa, nullptr);
  }
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// Hidden names next to `name`: a temp being written and the backup of an
// earlier file, each followed by mkstemp's six characters.
std::string temp_prefix(const std::string& name) { return "." + name + ".tmp."; }
std::string backup_prefix(const std::string& name) { return "." + name + ".old."; }

// Temps and backups a killed run left behind for these names.
void remove_stale(const fs::path& dir, const std::vector<OutputFile>& files) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string n = entry.path().filename().string();
    for (const OutputFile& f : files) {
      for (const std::string& prefix : {temp_prefix(f.name), backup_prefix(f.name)}) {
        if (n.size() == prefix.size() + 6 && n.compare(0, prefix.size(), prefix) == 0) {
          std::error_code ignored;
          fs::remove(entry.path(), ignored);
        }
      }
    }
  }
}

// Writes all of `content` to a new temp file next to `final_path`; returns its
// path. Throws InputError (after removing the temp file) on any error.
std::string write_temp(const std::string& dir, const fs::path& final_path, const std::string& content,
                       TempGuard& guard) {
  std::string tmpl = (final_path.parent_path() / (temp_prefix(final_path.filename().string()) + "XXXXXX")).string();
  int fd = -1;
  int err = 0;
  {
    const SignalsHeld held;
    fd = ::mkstemp(tmpl.data());
    if (fd < 0) err = errno;  // before ~SignalsHeld's sigprocmask
    if (fd >= 0) guard.add(tmpl);
  }
  if (fd < 0) fail(dir, "cannot create a file: " + errno_text(err));
  const char* p = content.data();
  std::size_t left = content.size();
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

void check_output_dir_is_ours(const std::string& dir, bool force) {
  check_output_dir(dir);
  std::error_code ec;
  if (force || !fs::is_directory(fs::path(dir), ec)) return;
  // Every name epsim writes into an --out directory.
  static const std::vector<std::string> own{"report.json", "timeseries.csv", "metrics.prom", "trace.json",
                                            "charts.svg",  "sweep.csv",      "sweep.json",   "sweep.svg",
                                            "report.html", "metrics.om"};
  auto ends_with = [](const std::string& n, const char* tail) {
    const std::size_t k = std::strlen(tail);
    return n.size() > k && n.compare(n.size() - k, k, tail) == 0;
  };
  bool empty = true;
  for (const auto& entry : fs::directory_iterator(fs::path(dir), ec)) {
    const std::string n = entry.path().filename().string();
    // Hidden files do not count: among them the temps of a concurrent shard.
    if (n[0] == '.') continue;
    empty = false;
    if (std::find(own.begin(), own.end(), n) != own.end()) return;
    if (n.rfind("shard-", 0) == 0 && ends_with(n, ".json")) return;
    // The logs of sweep --emit slurm's array job: slurm-JOB_TASK.out (a plain
    // slurm-JOB.out, as in a home directory, is not ours).
    if (n.rfind("slurm-", 0) == 0 && ends_with(n, ".out") && n.find('_') != std::string::npos) return;
  }
  if (ec) fail(dir, "cannot list the directory: " + ec.message());
  if (!empty) {
    fail(dir,
         "the directory is not empty and holds no earlier epsim output (report.json, sweep.csv, ...): give an "
         "empty or new directory, or --force to write into it anyway");
  }
}

void write_files_atomically(const std::string& dir, const std::vector<OutputFile>& files,
                            const BeforeSwapHook& before_swap) {
  check_output_dir(dir);
  std::error_code ec;
  fs::create_directories(fs::path(dir), ec);
  if (ec) fail(dir, "cannot create the directory: " + ec.message());
  if (!fs::is_directory(fs::path(dir), ec)) fail(dir, "not a directory");
  // An existing name that is not a regular file cannot be replaced: say so
  // before writing anything.
  for (const OutputFile& f : files) {
    const fs::file_status st = fs::symlink_status(fs::path(dir) / f.name, ec);
    if (fs::exists(st) && !fs::is_regular_file(st)) {
      fail(dir, f.name + " exists and is not a regular file: remove it or choose another directory");
    }
  }
  remove_stale(fs::path(dir), files);

  TempGuard guard;
  std::vector<std::string> temps;
  try {
    for (const OutputFile& f : files) temps.push_back(write_temp(dir, fs::path(dir) / f.name, f.content, guard));
  } catch (...) {
    for (const auto& t : temps) ::unlink(t.c_str());
    throw;
  }
  // Everything is on disk. Swap: keep each earlier file under a backup name
  // (a hard link, so the final name never disappears; a rename where links
  // are not possible), rename the temp over it; on failure, put every backup
  // back. Signals wait until the swap is done or undone.
  const SignalsHeld held;
  std::vector<std::string> backups(files.size());  // "" when there was no earlier file
  std::vector<bool> replaced(files.size(), false);
  std::vector<bool> moved(files.size(), false);  // the backup was renamed, not linked: the name is gone
  auto roll_back = [&] {
    for (std::size_t i = 0; i < files.size(); ++i) {
      const std::string final_path = (fs::path(dir) / files[i].name).string();
      if (!temps[i].empty()) ::unlink(temps[i].c_str());
      if (!backups[i].empty() && (replaced[i] || moved[i])) {
        ::rename(backups[i].c_str(), final_path.c_str());  // the earlier file comes back
      } else if (!backups[i].empty()) {
        ::unlink(backups[i].c_str());  // a link to the file still in place
      } else if (replaced[i]) {
        ::unlink(final_path.c_str());  // ours, with nothing before it
      }
    }
  };
  try {
    for (std::size_t i = 0; i < files.size(); ++i) {
      if (before_swap) before_swap(i);
      const std::string final_path = (fs::path(dir) / files[i].name).string();
      if (::access(final_path.c_str(), F_OK) == 0) {
        std::string tmpl = (fs::path(dir) / (backup_prefix(files[i].name) + "XXXXXX")).string();
        const int fd = ::mkstemp(tmpl.data());
        if (fd < 0) fail(dir, "cannot keep the earlier " + files[i].name + ": " + errno_text(errno));
        ::close(fd);
        ::unlink(tmpl.c_str());  // mkstemp chose a free name; link() needs it absent
        if (::link(final_path.c_str(), tmpl.c_str()) != 0) {
          if (::rename(final_path.c_str(), tmpl.c_str()) != 0) {
            fail(dir, "cannot keep the earlier " + files[i].name + ": " + errno_text(errno));
          }
          moved[i] = true;
        }
        backups[i] = tmpl;
      }
      if (::rename(temps[i].c_str(), final_path.c_str()) != 0) {
        fail(dir, "cannot rename into " + files[i].name + ": " + errno_text(errno));
      }
      temps[i].clear();
      replaced[i] = true;
    }
  } catch (...) {
    roll_back();
    throw;
  }
  for (const auto& b : backups) {
    if (!b.empty()) ::unlink(b.c_str());
  }
  // Make the renames durable too.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace epsim::app
