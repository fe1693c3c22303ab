#pragma once
// Short texts of a library's errors, for messages that must stay one line.
#include <exception>
#include <string>

namespace cg {

/// describe(e) cut to its first line and first sentence: a TorchScript traceback or miniz's
/// paragraph about corrupt archives becomes "PytorchStreamReader failed reading zip archive:
/// failed finding central directory".
std::string brief(const std::exception& e);

}  // namespace cg
