#pragma once
// Read-only SQL over any SQLite file (not the workspace database): what data
// loaders use to train from a query. The file is opened with
// SQLITE_OPEN_READONLY and the statement must be a single read-only one
// (sqlite3_stmt_readonly), so a loader can never change the user's data.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mlops::store {

enum class SqlType { null, integer, real, text, blob };

struct QueryCell {
  SqlType type = SqlType::null;
  // The value as text: integers in decimal, reals with 17 significant digits
  // (round-trip exact), text as stored. Empty for null.
  std::string text;
};

// Runs `sql` against `db_file` and calls `on_row` once per result row with
// one cell per column; `columns` receives the result column names first.
// Throws NotFoundError when the file is missing, UsageError for SQL that does
// not compile or is not read-only (naming the SQLite message), RuntimeError
// for I/O errors.
void query_readonly(const std::filesystem::path& db_file, const std::string& sql, std::vector<std::string>& columns,
                    const std::function<void(const std::vector<QueryCell>&)>& on_row);

}  // namespace mlops::store
