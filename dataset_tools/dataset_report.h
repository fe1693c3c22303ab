#pragma once
// Looking at a data set: `cyclegan_data inspect`, `verify` and `export`.
#include <ostream>
#include <string>

namespace cg::tools {

/// Prints the manifest's summary: source, and per split and domain the shards, images,
/// geometry and bytes. Throws FileError for a missing or invalid manifest.
void inspect_dataset(const std::string& dir, std::ostream& out);

/// Recomputes every shard's size and CRC-32 against the manifest and every image's CRC-32
/// against its shard. Prints one line per problem and a summary; returns the number of
/// problems (0: the data set is intact).
int64_t verify_dataset(const std::string& dir, std::ostream& out);

/// Writes the first `count` images of (split, domain) as a PNG grid of `columns` columns;
/// domain "AB" puts A above B, row by row. Gray images are shown as gray.
void export_grid(const std::string& dir, const std::string& split, const std::string& domain,
                 int64_t count, int64_t columns, const std::string& png);

}  // namespace cg::tools
