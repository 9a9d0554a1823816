#include "store/query.hpp"

#include <sqlite3.h>

#include <fmt/format.h>

#include "util/error.hpp"

namespace mlops::store {

namespace {

struct Handle {
  sqlite3* db = nullptr;
  sqlite3_stmt* stmt = nullptr;
  ~Handle() {
    sqlite3_finalize(stmt);
    sqlite3_close_v2(db);
  }
};

}  // namespace

void query_readonly(const std::filesystem::path& db_file, const std::string& sql, std::vector<std::string>& columns,
                    const std::function<void(const std::vector<QueryCell>&)>& on_row) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(db_file, ec))
    throw NotFoundError("SQLite file " + db_file.string() + " does not exist",
                        "set data.source to the path of an SQLite database");
  Handle h;
  int rc = sqlite3_open_v2(db_file.c_str(), &h.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK)
    throw RuntimeError("cannot open " + db_file.string() + ": " + (h.db ? sqlite3_errmsg(h.db) : sqlite3_errstr(rc)));
  sqlite3_busy_timeout(h.db, 5000);
  const char* tail = nullptr;
  rc = sqlite3_prepare_v2(h.db, sql.c_str(), static_cast<int>(sql.size()), &h.stmt, &tail);
  if (rc != SQLITE_OK || h.stmt == nullptr)
    throw UsageError("data.query does not compile against " + db_file.string() + ": " +
                         (rc != SQLITE_OK ? sqlite3_errmsg(h.db) : "empty statement"),
                     "write one SELECT statement");
  for (const char* p = tail; p && *p; ++p)
    if (!std::isspace(static_cast<unsigned char>(*p)) && *p != ';')
      throw UsageError("data.query holds more than one statement", "write one SELECT statement");
  if (!sqlite3_stmt_readonly(h.stmt))
    throw UsageError("data.query must only read (it would change " + db_file.string() + ")",
                     "write one SELECT statement");
  const int n = sqlite3_column_count(h.stmt);
  columns.clear();
  for (int i = 0; i < n; ++i) columns.emplace_back(sqlite3_column_name(h.stmt, i));
  std::vector<QueryCell> row(static_cast<std::size_t>(n));
  while ((rc = sqlite3_step(h.stmt)) == SQLITE_ROW) {
    for (int i = 0; i < n; ++i) {
      auto& cell = row[static_cast<std::size_t>(i)];
      cell.text.clear();
      switch (sqlite3_column_type(h.stmt, i)) {
        case SQLITE_NULL:
          cell.type = SqlType::null;
          break;
        case SQLITE_INTEGER:
          cell.type = SqlType::integer;
          cell.text = std::to_string(sqlite3_column_int64(h.stmt, i));
          break;
        case SQLITE_FLOAT:
          cell.type = SqlType::real;
          cell.text = fmt::format("{:.17g}", sqlite3_column_double(h.stmt, i));
          break;
        case SQLITE_BLOB:
          cell.type = SqlType::blob;
          cell.text.assign(static_cast<const char*>(sqlite3_column_blob(h.stmt, i)),
                           static_cast<std::size_t>(sqlite3_column_bytes(h.stmt, i)));
          break;
        default: {
          cell.type = SqlType::text;
          const auto* t = sqlite3_column_text(h.stmt, i);
          cell.text.assign(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(h.stmt, i)));
        }
      }
    }
    on_row(row);
  }
  if (rc != SQLITE_DONE) throw RuntimeError("query over " + db_file.string() + " failed: " + sqlite3_errmsg(h.db));
}

}  // namespace mlops::store
