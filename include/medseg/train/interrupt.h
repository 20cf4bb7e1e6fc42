// Stopping a training run cleanly: SIGINT / SIGTERM only raise a flag, and the training loop
// checks it between iterations, saves checkpoint_latest and stops. A second signal while the
// flag is up ends the process at once (the default action).
#pragma once

namespace medseg {

// Installs the handlers for its lifetime and restores the previous ones after. Clears the flag
// on construction.
class InterruptHandlers {
 public:
  InterruptHandlers();
  ~InterruptHandlers();
  InterruptHandlers(const InterruptHandlers&) = delete;
  InterruptHandlers& operator=(const InterruptHandlers&) = delete;
};

bool interrupt_requested();
// What the signal handler does; also for tests and callers that stop a run themselves.
void request_interrupt();
void clear_interrupt();

}  // namespace medseg
