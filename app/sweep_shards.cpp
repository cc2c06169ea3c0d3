#include "app/sweep_shards.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "app/input_error.h"
#include "app/input_file.h"
#include "app/measures.h"

namespace epsim::app {

namespace fs = std::filesystem;

namespace {

std::size_t parse_count(const std::string& text, const std::string& what) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    throw InputError(fmt::format("{}: \"{}\" is not a whole number", what, text));
  }
  return static_cast<std::size_t>(std::stoul(text));
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

// A word for a POSIX shell.
std::string shell_word(const std::string& s) {
  if (!s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%") ==
                        std::string::npos) {
    return s;
  }
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A YAML double-quoted scalar.
std::string yaml_quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

ShardSpec parse_shard(const std::string& text, std::size_t count_flag) {
  ShardSpec s;
  if (text == "auto") {
    if (!env("SLURM_ARRAY_TASK_ID").empty()) {
      s.index = parse_count(env("SLURM_ARRAY_TASK_ID"), "SLURM_ARRAY_TASK_ID") + 1;
      if (env("SLURM_ARRAY_TASK_COUNT").empty()) {
        throw InputError("--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not");
      }
      s.count = parse_count(env("SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_COUNT");
    } else if (!env("JOB_COMPLETION_INDEX").empty()) {
      s.index = parse_count(env("JOB_COMPLETION_INDEX"), "JOB_COMPLETION_INDEX") + 1;
      if (count_flag > 0) {
        s.count = count_flag;
      } else if (!env("EPSIM_SHARD_COUNT").empty()) {
        s.count = parse_count(env("EPSIM_SHARD_COUNT"), "EPSIM_SHARD_COUNT");
      } else {
        throw InputError("--shard auto: JOB_COMPLETION_INDEX is set; give the number of shards with --shard-count N "
                         "or EPSIM_SHARD_COUNT");
      }
    } else {
      throw InputError("--shard auto: neither SLURM_ARRAY_TASK_ID (a Slurm array task) nor JOB_COMPLETION_INDEX (a "
                       "Kubernetes Indexed Job) is set; give --shard K/N");
    }
  } else {
    const std::size_t slash = text.find('/');
    if (slash == std::string::npos) throw InputError(fmt::format("--shard {}: expected K/N, e.g. 2/3, or auto", text));
    s.index = parse_count(text.substr(0, slash), "--shard " + text);
    s.count = parse_count(text.substr(slash + 1), "--shard " + text);
  }
  if (s.count < 1 || s.index < 1 || s.index > s.count) {
    throw InputError(fmt::format("--shard: shard {} of {} does not exist (shards are numbered 1 to N)", s.index, s.count));
  }
  return s;
}

std::string shard_file_name(const ShardSpec& shard) {
  return fmt::format("shard-{}-of-{}.json", shard.index, shard.count);
}

std::vector<std::size_t> shard_runs(const ShardSpec& shard, std::size_t points, int seeds) {
  std::vector<std::size_t> runs;
  for (std::size_t p = 0; p < points; ++p) {
    if (shard_of_point(p, shard.count) != shard.index) continue;
    for (int k = 0; k < seeds; ++k) runs.push_back(p * static_cast<std::size_t>(seeds) + static_cast<std::size_t>(k));
  }
  return runs;
}

std::string shard_json(const nlohmann::ordered_json& identity, const ShardSpec& shard, const std::vector<SweepRun>& runs) {
  nlohmann::ordered_json j;
  j["epsim_sweep_shard"] = {{"shard", shard.index}, {"shards", shard.count}};
  j["sweep"] = identity;
  nlohmann::ordered_json rj = nlohmann::ordered_json::array();
  for (const SweepRun& r : runs) {
    nlohmann::ordered_json m;
    for (const auto& name : measure_names()) m[name] = r.measures.at(name);
    rj.push_back({{"point", r.point}, {"replicate", r.replicate}, {"seed", r.seed}, {"digest", r.digest},
                  {"limited_by", r.limited_by}, {"measures", m}});
  }
  j["runs"] = rj;
  return j.dump(1) + "\n";
}

SweepResult merge_shards(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("shard-", 0) == 0 && name.size() > 5 && name.substr(name.size() - 5) == ".json") {
          found.push_back(e.path().string());
        }
      }
      if (ec) throw InputError(fmt::format("{}: cannot list the directory: {}", p, ec.message()));
      if (found.empty()) throw InputError(fmt::format("{}: no shard-K-of-N.json files in this directory", p));
      std::sort(found.begin(), found.end());  // directory order is not portable
      files.insert(files.end(), found.begin(), found.end());
    } else {
      files.push_back(p);
    }
  }
  if (files.empty()) throw InputError("sweep merge: no shard files given");
  SweepResult result;
  std::size_t shards = 0;
  std::set<std::size_t> seen;
  std::vector<bool> have;
  std::string first;
  for (const std::string& path : files) {
    std::string reason;
    const std::optional<std::string> text = read_input_file(path, reason);
    if (!text) throw InputError(fmt::format("{}: cannot read shard file: {}", path, reason));
    nlohmann::ordered_json j;
    try {
      j = nlohmann::ordered_json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}: not a sweep shard file (JSON error: {})", path, e.what()));
    }
    try {
      if (!j.contains("epsim_sweep_shard")) throw InputError(fmt::format("{}: not a sweep shard file", path));
      const std::size_t k = j["epsim_sweep_shard"]["shard"].get<std::size_t>();
      const std::size_t n = j["epsim_sweep_shard"]["shards"].get<std::size_t>();
      if (first.empty()) {
        first = path;
        shards = n;
        result.identity = j["sweep"];
        result.axes = axes_of_identity(result.identity);
        result.seeds = result.identity["seeds"].get<int>();
        result.runs.resize(point_count(result.axes) * static_cast<std::size_t>(result.seeds));
        have.assign(result.runs.size(), false);
      } else if (j["sweep"] != result.identity) {
        std::string what = "scenario, fixed flags";
        if (j["sweep"]["epsim_version"] != result.identity["epsim_version"]) {
          what = "epsim version";
        } else if (j["sweep"]["axes"] != result.identity["axes"] || j["sweep"]["seeds"] != result.identity["seeds"]) {
          what = "grid";
        } else if (j["sweep"]["scenario"] != result.identity["scenario"]) {
          what = "scenario";
        }
        throw InputError(fmt::format("{} and {} are shards of different sweeps (their {} differ)", first, path, what));
      } else if (n != shards) {
        throw InputError(fmt::format("{} is shard {} of {}, but {} is of a sweep split in {}", path, k, n, first, shards));
      }
      if (!seen.insert(k).second) throw InputError(fmt::format("{}: shard {} of {} is given twice", path, k, n));
      for (const auto& rj : j["runs"]) {
        SweepRun r;
        r.point = rj["point"].get<std::size_t>();
        r.replicate = rj["replicate"].get<int>();
        r.seed = rj["seed"].get<std::uint64_t>();
        r.digest = rj["digest"].get<std::string>();
        r.limited_by = rj["limited_by"].get<std::string>();
        for (const auto& name : measure_names()) r.measures[name] = rj["measures"][name].get<double>();
        const std::size_t index = r.point * static_cast<std::size_t>(result.seeds) + static_cast<std::size_t>(r.replicate);
        if (index >= result.runs.size() || r.replicate >= result.seeds || shard_of_point(r.point, n) != k || have[index]) {
          throw InputError(fmt::format("{}: run of point {} does not belong to shard {} of {}", path, r.point + 1, k, n));
        }
        have[index] = true;
        result.runs[index] = r;
      }
    } catch (const nlohmann::json::exception& e) {
      throw InputError(fmt::format("{}: not a sweep shard file ({})", path, e.what()));
    }
  }
  std::string missing;
  for (std::size_t k = 1; k <= shards; ++k) {
    if (seen.count(k) == 0) missing += fmt::format("{}{}", missing.empty() ? "" : ", ", k);
  }
  if (!missing.empty()) throw InputError(fmt::format("sweep merge: shard(s) {} of {} missing", missing, shards));
  for (std::size_t i = 0; i < have.size(); ++i) {
    if (!have[i]) throw InputError(fmt::format("sweep merge: the shards lack run {} (a truncated shard file?)", i + 1));
  }
  return result;
}

std::string emit_job(const EmitOptions& o) {
  std::string args;
  for (const auto& a : o.sweep_args) args += " " + shell_word(a);
  if (o.kind == "slurm") {
    return fmt::format(
        "#!/bin/sh\n"
        "# epsim sweep in {0} shards as a Slurm array job (docs/distributed.md).\n"
        "# Submit: mkdir -p {2} && sbatch THIS_FILE; when every task has finished:\n"
        "#   {1} sweep merge {2} --out {2}\n"
        "#SBATCH --job-name=epsim-sweep\n"
        "#SBATCH --array=0-{3}\n"
        "#SBATCH --ntasks=1\n"
        "#SBATCH --output={2}/slurm-%A_%a.out\n"
        "exec {1} sweep{4} --jobs 1 --shard auto --out {2}\n",
        o.shards, shell_word(o.epsim), shell_word(o.out_dir), o.shards - 1, args);
  }
  std::string command = "        - " + yaml_quoted(o.epsim) + "\n        - sweep\n";
  for (const auto& a : o.sweep_args) command += "        - " + yaml_quoted(a) + "\n";
  command += fmt::format("        - --jobs\n        - \"1\"\n        - --shard\n        - auto\n        - --out\n        - {}\n",
                         yaml_quoted(o.out_dir));
  return fmt::format(
      "# epsim sweep in {0} shards as a Kubernetes Indexed Job (docs/distributed.md).\n"
      "# kubectl apply -f THIS_FILE; when it completes, merge the shards from the volume:\n"
      "#   epsim sweep merge {1} --out {1}\n"
      "apiVersion: batch/v1\n"
      "kind: Job\n"
      "metadata:\n"
      "  name: epsim-sweep\n"
      "spec:\n"
      "  completionMode: Indexed\n"
      "  completions: {0}\n"
      "  parallelism: {0}\n"
      "  backoffLimit: 3\n"
      "  template:\n"
      "    spec:\n"
      "      restartPolicy: Never\n"
      "      containers:\n"
      "      - name: epsim\n"
      "        image: {2}\n"
      "        env:\n"
      "        - name: EPSIM_SHARD_COUNT\n"
      "          value: \"{0}\"\n"
      "        command:\n{3}"
      "        volumeMounts:\n"
      "        - name: results\n"
      "          mountPath: {4}\n"
      "      volumes:\n"
      "      - name: results\n"
      "        persistentVolumeClaim:\n"
      "          claimName: {5}\n",
      o.shards, o.out_dir, yaml_quoted(o.image), command, yaml_quoted(o.out_dir), yaml_quoted(o.volume));
}

}  // namespace epsim::app
