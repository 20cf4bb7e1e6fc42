// Pipeline stages that are not in this build yet. They are listed so that `medseg --help`
// shows the whole pipeline, and they fail plainly instead of pretending.
#include "commands.h"
#include "medseg/core/error.h"

namespace medseg::app {

void add_unavailable_commands(CLI::App& app) {
  for (const char* name : {"train", "predict"}) {
    auto* cmd = app.add_subcommand(name, std::string("(not available in this build yet) ") + name);
    cmd->allow_extras();
    // Whatever the user passes, the answer is the same plain message (exit 1).
    auto ignored = std::make_shared<std::vector<std::string>>();
    cmd->add_option("args", *ignored, "Arguments of the future command")->expected(0, -1);
    cmd->callback([name, ignored] {
      throw Error(std::string("medseg ") + name,
                  "this pipeline stage is not available in this build of medseg yet");
    });
  }
}

}  // namespace medseg::app
