#include "tests/testing/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>

extern char** environ;

namespace onestop::testing {
namespace {

std::vector<char*> ArgvPointers(const std::vector<std::string>& argv) {
  std::vector<char*> pointers;
  for (const std::string& arg : argv) pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int ExitCode(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

}  // namespace

ProcessResult RunProcess(const std::vector<std::string>& argv) {
  ProcessResult result;
  char out_template[] = "/tmp/onestop-out-XXXXXX";
  char err_template[] = "/tmp/onestop-err-XXXXXX";
  const int out_fd = mkstemp(out_template);
  const int err_fd = mkstemp(err_template);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  pid_t pid;
  std::vector<char*> args = ArgvPointers(argv);
  const int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = ExitCode(status);
  } else {
    result.err = "posix_spawn failed for " + argv[0];
  }
  close(out_fd);
  close(err_fd);
  result.out = ReadFile(out_template);
  result.err += ReadFile(err_template);
  unlink(out_template);
  unlink(err_template);
  return result;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) Kill();
  ReleaseOutputs();
}

void DaemonProcess::ReleaseOutputs() {
  if (stdout_fd_ >= 0) close(stdout_fd_);
  stdout_fd_ = -1;
  if (!stderr_path_.empty()) unlink(stderr_path_.c_str());
  stderr_path_.clear();
}

bool DaemonProcess::Start(const std::vector<std::string>& argv) {
  if (pid_ > 0) Kill();
  ReleaseOutputs();  // a restart reuses this object
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return false;
  char err_template[] = "/tmp/onestopd-err-XXXXXX";
  const int err_fd = mkstemp(err_template);
  stderr_path_ = err_template;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> args = ArgvPointers(argv);
  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  close(err_fd);
  if (rc != 0) {
    pid_ = -1;
    close(pipe_fds[0]);
    error_ = "posix_spawn failed for " + argv[0];
    return false;
  }
  stdout_fd_ = pipe_fds[0];
  // Read stdout until the address line, the process exits, or 30 s pass.
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  const std::string marker = "onestopd listening on ";
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (poll(&pfd, 1, 100) > 0) {
      char buffer[512];
      const ssize_t n = read(stdout_fd_, buffer, sizeof buffer);
      if (n <= 0) break;  // the daemon closed stdout: it exited
      out.append(buffer, n);
      const size_t at = out.find(marker);
      const size_t end = at == std::string::npos ? at : out.find('\n', at);
      if (end != std::string::npos) {
        address_ = out.substr(at + marker.size(), end - at - marker.size());
        return true;
      }
    }
  }
  Kill();
  error_ = ReadFile(stderr_path_);
  return false;
}

bool DaemonProcess::Spawn(const std::vector<std::string>& argv) {
  if (pid_ > 0) Kill();
  ReleaseOutputs();
  char err_template[] = "/tmp/onestop-spawn-err-XXXXXX";
  const int err_fd = mkstemp(err_template);
  if (err_fd < 0) {
    error_ = "mkstemp failed for the stderr of " + argv[0];
    return false;
  }
  stderr_path_ = err_template;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
  std::vector<char*> args = ArgvPointers(argv);
  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(err_fd);
  if (rc != 0) {
    pid_ = -1;
    error_ = "posix_spawn failed for " + argv[0];
    return false;
  }
  return true;
}

int DaemonProcess::Wait() {
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  error_ = ReadFile(stderr_path_);
  return ExitCode(status);
}

int DaemonProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  return Wait();
}

void DaemonProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  Wait();
}

}  // namespace onestop::testing
