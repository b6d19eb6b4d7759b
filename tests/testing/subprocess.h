// Runs the real binaries from tests: one-shot commands (onestopctl) and a
// long-running daemon (onestopd) whose bound address is read from stdout.
#ifndef ONESTOP_TESTS_TESTING_SUBPROCESS_H_
#define ONESTOP_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace onestop::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;
  std::string err;
};

// Runs `argv` to completion, capturing stdout and stderr.
ProcessResult RunProcess(const std::vector<std::string>& argv);

// A daemon process. The destructor kills it (SIGKILL) if still running.
class DaemonProcess {
 public:
  DaemonProcess() = default;
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts `argv` and waits (up to 30 s) for the line
  // "onestopd listening on ADDRESS" on its stdout. False if it exits or
  // never prints it; `error()` then holds its stderr.
  bool Start(const std::vector<std::string>& argv);
  // Starts `argv` without waiting for anything (for servers that print no
  // address, e.g. nginx: the caller polls their port). False if it cannot
  // be spawned.
  bool Spawn(const std::vector<std::string>& argv);
  // SIGTERM, then waits; returns the exit code (-1 if killed by a signal).
  int Stop();
  // SIGKILL, then waits.
  void Kill();

  const std::string& address() const { return address_; }
  const std::string& error() const { return error_; }
  pid_t pid() const { return pid_; }

 private:
  int Wait();
  // Closes the stdout pipe and deletes the stderr file of the last start.
  void ReleaseOutputs();

  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string stderr_path_;
  std::string address_;
  std::string error_;
};

}  // namespace onestop::testing

#endif  // ONESTOP_TESTS_TESTING_SUBPROCESS_H_
