// Empty until src/train/CMakeLists.txt stops listing it: sample grids are
// image/sample_grid.h, and train/sample_grid.h forwards to it.
#include "train/sample_grid.h"
