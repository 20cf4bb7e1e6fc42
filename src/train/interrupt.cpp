#include "medseg/train/interrupt.h"

#include <csignal>

namespace medseg {

namespace {

volatile std::sig_atomic_t g_interrupted = 0;
void (*g_previous_int)(int) = SIG_DFL;
void (*g_previous_term)(int) = SIG_DFL;

void on_signal(int signal) {
  if (g_interrupted) {  // asked twice: stop now
    std::signal(signal, SIG_DFL);
    std::raise(signal);
    return;
  }
  g_interrupted = 1;
}

}  // namespace

InterruptHandlers::InterruptHandlers() {
  g_interrupted = 0;
  g_previous_int = std::signal(SIGINT, on_signal);
  g_previous_term = std::signal(SIGTERM, on_signal);
}

InterruptHandlers::~InterruptHandlers() {
  std::signal(SIGINT, g_previous_int == SIG_ERR ? SIG_DFL : g_previous_int);
  std::signal(SIGTERM, g_previous_term == SIG_ERR ? SIG_DFL : g_previous_term);
}

bool interrupt_requested() { return g_interrupted != 0; }
void request_interrupt() { g_interrupted = 1; }
void clear_interrupt() { g_interrupted = 0; }

}  // namespace medseg
