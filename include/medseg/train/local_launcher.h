// `medseg train --nproc N`: starts N ranks of this same program on this machine (torchrun's
// standalone mode), each with the torchrun variables (WORLD_SIZE, RANK, LOCAL_RANK,
// LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT) set, and watches them: when one fails, the others
// are stopped (after a moment to notice the broken connection and report it themselves:
// SIGTERM, then SIGKILL after a grace period), so no rank is left hanging. SIGINT
// and SIGTERM sent to the launcher are passed on to every rank (they checkpoint and stop).
#pragma once

#include <string>
#include <vector>

namespace medseg {

struct LaunchOptions {
  int nproc = 2;
  std::vector<std::string> argv;  // each rank's command line; argv[0] is replaced by this program
  std::string master_addr = "127.0.0.1";
  int master_port = 0;  // 0: a free port of this machine
  // After a failure: the other ranks' time to fail on their own (a SIGTERM arriving while a
  // rank unwinds its own collective error would end it before it says so), then to stop.
  int notice_seconds = 3;
  int grace_seconds = 30;  // after the SIGTERM, before the remaining ranks are killed
};

// Runs the ranks to the end. Returns 0 when all succeed, else the exit status of the first rank
// that failed (1 when it died of a signal), after logging which rank failed and how.
int launch_local_ranks(const LaunchOptions& options);

// A TCP port that was free on 127.0.0.1 a moment ago (bound and released).
int free_local_port();

// argv without `--<name> VALUE` / `--<name>=VALUE`.
std::vector<std::string> remove_option(const std::vector<std::string>& argv,
                                       const std::string& name);

}  // namespace medseg
