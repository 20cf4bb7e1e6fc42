#include "medseg/train/local_launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "medseg/core/error.h"
#include "medseg/core/log.h"

extern char** environ;

namespace medseg {

namespace {

volatile sig_atomic_t g_forward_signal = 0;
void on_launcher_signal(int signal) {
  g_forward_signal = signal;
}

// This program's environment with the rank's variables replaced.
std::vector<std::string> rank_environment(const LaunchOptions& o, int rank, int port) {
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"WORLD_SIZE", std::to_string(o.nproc)}, {"RANK", std::to_string(rank)},
      {"LOCAL_RANK", std::to_string(rank)},    {"LOCAL_WORLD_SIZE", std::to_string(o.nproc)},
      {"MASTER_ADDR", o.master_addr},          {"MASTER_PORT", std::to_string(port)}};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    bool replaced = false;
    for (const auto& [name, value] : vars) replaced = replaced || entry.rfind(name + "=", 0) == 0;
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [name, value] : vars) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  return "ended with wait status " + std::to_string(status);
}

}  // namespace

int free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    throw Error("medseg train --nproc",
                std::string("cannot open a socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof(address);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  if (!ok)
    throw Error("medseg train --nproc",
                std::string("cannot find a free port: ") + std::strerror(errno));
  return ntohs(address.sin_port);
}

std::vector<std::string> remove_option(const std::vector<std::string>& argv,
                                       const std::string& name) {
  std::vector<std::string> out;
  const std::string flag = "--" + name;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    if (argv[i] == flag) {
      ++i;  // and its value
      continue;
    }
    if (argv[i].rfind(flag + "=", 0) == 0) continue;
    out.push_back(argv[i]);
  }
  return out;
}

int launch_local_ranks(const LaunchOptions& o) {
  if (o.nproc < 1) throw UsageError("--nproc", "must be at least 1");
  if (o.argv.empty())
    throw Error("medseg train --nproc", "no command line to start the ranks with");
  const int port = o.master_port > 0 ? o.master_port : free_local_port();
  std::vector<std::string> args = o.argv;
  args[0] = "/proc/self/exe";
  struct Rank {
    pid_t pid = -1;
    bool running = false;
  };
  std::vector<Rank> ranks(static_cast<std::size_t>(o.nproc));

  g_forward_signal = 0;
  struct sigaction action {};
  action.sa_handler = on_launcher_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction previous_int {
  }, previous_term{};
  sigaction(SIGINT, &action, &previous_int);
  sigaction(SIGTERM, &action, &previous_term);

  const pid_t launcher = ::getpid();
  for (int r = 0; r < o.nproc; ++r) {
    std::vector<std::string> env = rank_environment(o, r, port);
    std::vector<char*> c_env = c_strings(env);
    std::vector<std::string> rank_args = args;
    std::vector<char*> c_args = c_strings(rank_args);
    const pid_t pid = ::fork();
    if (pid < 0) {
      for (const Rank& started : ranks)
        if (started.running) ::kill(started.pid, SIGKILL);
      throw Error("medseg train --nproc", std::string("cannot start rank ") + std::to_string(r) +
                                              ": " + std::strerror(errno));
    }
    if (pid == 0) {
      // The rank: its own process group (the launcher passes signals on exactly once) and a
      // SIGTERM of its own if the launcher dies.
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != launcher) ::_exit(1);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::execve(c_args[0], c_args.data(), c_env.data());
      ::_exit(127);
    }
    ranks[static_cast<std::size_t>(r)] = {pid, true};
  }
  log().info("started {} ranks on this machine (rendezvous at {}:{})", o.nproc, o.master_addr,
             port);

  using Clock = std::chrono::steady_clock;
  int result = 0;
  int running = o.nproc;
  Clock::time_point term_at{}, kill_at{};
  bool term_pending = false;  // after a failure: SIGTERM the ranks still running at term_at
  bool kill_pending = false;  // then SIGKILL those still running at kill_at
  bool forwarded = false;     // the ranks were asked to stop: their exit status 1 is expected
  auto signal_all = [&](int signal) {
    for (const Rank& r : ranks)
      if (r.running) ::kill(r.pid, signal);
  };
  while (running > 0) {
    if (const int signal = g_forward_signal; signal != 0) {
      g_forward_signal = 0;
      forwarded = true;
      signal_all(signal);
    }
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno != EINTR) break;
    if (pid <= 0) {
      if (term_pending && Clock::now() >= term_at) {
        signal_all(SIGTERM);
        term_pending = false;
        kill_at = Clock::now() + std::chrono::seconds(o.grace_seconds);
        kill_pending = true;
      }
      if (kill_pending && Clock::now() >= kill_at) {
        log().error("ranks still running {} s after the failure: killing them",
                    o.notice_seconds + o.grace_seconds);
        signal_all(SIGKILL);
        kill_pending = false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    for (std::size_t r = 0; r < ranks.size(); ++r) {
      if (ranks[r].pid != pid || !ranks[r].running) continue;
      ranks[r].running = false;
      --running;
      const bool failed = !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
      if (failed && result == 0) {
        result = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
        if (forwarded)
          log().info("rank {} {} after the signal", r, describe(status));
        else
          log().error("rank {} {}: stopping the other ranks", r, describe(status));
        term_at = Clock::now() + std::chrono::seconds(o.notice_seconds);
        term_pending = true;
      } else if (failed) {
        log().debug("rank {} {}", r, describe(status));
      }
    }
  }
  sigaction(SIGINT, &previous_int, nullptr);
  sigaction(SIGTERM, &previous_term, nullptr);
  return result;
}

}  // namespace medseg
