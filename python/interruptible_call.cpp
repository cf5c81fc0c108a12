#include "interruptible_call.h"

#include <pthread.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "bindings.h"
#include "coffer/error.h"

namespace backup_py {

void CallCancel::throw_if_cancelled() const {
  if (cancelled_) coffer::fail(coffer::ErrorCategory::kInput, "interrupted (KeyboardInterrupt): nothing was committed");
}

void run_interruptible(CallCancel& cancel, const std::function<void()>& body) {
  sync_log_level();
  cancel.reset();
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr failure;
  std::optional<py::error_already_set> raised;  // the signal handler's exception
  {
    py::gil_scoped_release released;
    std::thread worker([&] {
      sigset_t blocked;
      sigemptyset(&blocked);
      sigaddset(&blocked, SIGINT);
      pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
      try {
        body();
      } catch (...) {
        failure = std::current_exception();
      }
      std::lock_guard lock(mu);
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    while (!done) {
      if (cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) break;
      if (raised) continue;  // cancelled: wait for the call to unwind
      lock.unlock();
      {
        py::gil_scoped_acquire gil;
        if (PyErr_CheckSignals() != 0) {
          raised.emplace();  // fetches the exception
          cancel.cancel();
        }
      }
      lock.lock();
    }
    lock.unlock();
    worker.join();
  }
  if (raised) throw std::move(*raised);
  if (failure) std::rethrow_exception(failure);
}

}  // namespace backup_py
