#include "common/error.h"

#include <c10/util/Exception.h>

namespace cg {

std::string describe(const std::exception& e) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&e)) {
    return torch_error->what_without_backtrace();
  }
  return e.what();
}

}  // namespace cg
