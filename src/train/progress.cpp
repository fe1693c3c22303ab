// Empty until src/train/CMakeLists.txt stops listing it: the progress line is
// common/progress.h, and train/progress.h forwards to it.
#include "train/progress.h"
