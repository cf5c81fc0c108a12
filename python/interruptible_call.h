// Runs one long coffer call with the GIL released, on a thread of its own, while the Python
// thread that called it watches for signals: Ctrl-C (or any signal handler that raises) cancels
// the call through its progress callback, waits for it to unwind (nothing commits: the repository
// is left as a killed coffer leaves it) and then raises the handler's exception, KeyboardInterrupt.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <optional>
#include <type_traits>

#include <pybind11/pybind11.h>

namespace backup_py {

namespace py = pybind11;

class CallCancel {
 public:
  // From the call's progress callback: throws coffer::Error once the call is cancelled.
  void throw_if_cancelled() const;
  void cancel() { cancelled_ = true; }
  void reset() { cancelled_ = false; }

 private:
  std::atomic<bool> cancelled_{false};
};

// Runs `body` on a new thread (SIGINT blocked there and in the threads it starts, so the signal
// reaches the Python thread) and returns when it ends. Needs the GIL; releases it meanwhile.
// Rethrows body's exception, or raises the signal handler's exception after a cancel.
void run_interruptible(CallCancel& cancel, const std::function<void()>& body);

template <class F>
auto call_interruptible(CallCancel& cancel, F&& f) -> std::invoke_result_t<F> {
  using T = std::invoke_result_t<F>;
  if constexpr (std::is_void_v<T>) {
    run_interruptible(cancel, f);
  } else {
    std::optional<T> result;
    run_interruptible(cancel, [&] { result.emplace(f()); });
    return std::move(*result);
  }
}

}  // namespace backup_py
