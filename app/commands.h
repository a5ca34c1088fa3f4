// The twophase command-line tool's subcommands. Each takes the arguments
// after its name and returns the process exit code (0 ok, 1 failure,
// 2 usage error).
#ifndef TWOPHASE_APP_COMMANDS_H_
#define TWOPHASE_APP_COMMANDS_H_

#include <string>
#include <vector>

namespace twophase {

int TrainCommand(const std::vector<std::string>& args);
int ModelCommand(const std::vector<std::string>& args);
int EvaluateCommand(const std::vector<std::string>& args);
int MinimizeCommand(const std::vector<std::string>& args);
int RunCommand(const std::vector<std::string>& args);
int ListCommand(const std::vector<std::string>& args);
int ReportCommand(const std::vector<std::string>& args);
int CompareCommand(const std::vector<std::string>& args);
int ProbeCommand(const std::vector<std::string>& args);

}  // namespace twophase

#endif  // TWOPHASE_APP_COMMANDS_H_
