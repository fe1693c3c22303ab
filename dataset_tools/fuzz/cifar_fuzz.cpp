// fuzz-sources: dataset_tools/cifar10.cpp dataset_tools/pickle.cpp dataset_tools/pickle_values.cpp
// fuzz-seeds: tests/dataset_tools/make_cifar_pickles.py --fuzz-seeds
// libFuzzer target: the CIFAR-10 binary and python batch parsers on arbitrary bytes, and the
// pickle helpers a batches.meta reader uses. Only cg::Error (FileError) may come out; a
// crash, a leak, undefined behaviour or another exception is a bug. Run by scripts/fuzz.
#include <cstddef>
#include <cstdint>

#include "cifar10.h"
#include "common/error.h"
#include "pickle.h"
#include "pickle_values.h"

namespace {

// What a batches.meta reader does: label_names as bytes, the other values as int lists.
void read_meta(const uint8_t* data, size_t size) {
  using namespace cg::tools;
  PickleDocument doc = PickleDocument::parse(data, size, "fuzz.meta");
  if (doc.root().kind != PickleKind::kDict) return;
  pickle_dict_keys(doc.root());
  if (const PickleValue* names = pickle_dict_get(doc, doc.root(), "label_names")) {
    if (names->kind == PickleKind::kList) {
      for (const PickleValue* name : names->items) pickle_bytes(doc, *name, "label name");
    }
    pickle_int_list(doc, *names, "label_names");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    cg::tools::read_cifar_python_bytes(data, size, "fuzz.pkl");
  } catch (const cg::Error&) {
  }
  try {
    cg::tools::read_cifar_binary_bytes(data, size, "fuzz.bin");
  } catch (const cg::Error&) {
  }
  try {
    read_meta(data, size);
  } catch (const cg::Error&) {
  }
  return 0;
}
