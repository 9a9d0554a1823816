#pragma once
// The SQLite side of the store. Only this module includes sqlite3.h; other modules
// speak SQL through Db and Statement. Every connection runs in WAL mode with a busy
// timeout and foreign keys on; `write` wraps a unit of work in BEGIN IMMEDIATE …
// COMMIT and retries the whole unit when another process holds the write lock, so
// "database is locked" never reaches a user.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace mlops::store {

namespace fs = std::filesystem;

inline constexpr auto k_busy_timeout = std::chrono::milliseconds{5000};
// How long `write` keeps retrying a busy database before it gives up.
inline constexpr auto k_write_retry_budget = std::chrono::milliseconds{120000};
// WAL size past which a closing connection checkpoints and truncates it.
inline constexpr std::uintmax_t k_wal_truncate_bytes = 256 * 1024;
// WAL pages after which a commit checkpoints (PRAGMA wal_autocheckpoint; SQLite's
// default is 1000). 4096 pages of 4 KiB bound the WAL at about 16 MiB while a
// long write runs.
inline constexpr int k_wal_autocheckpoint_pages = 4096;

// Bytes bound as a BLOB rather than TEXT (Statement::bind).
struct Blob {
  std::string_view bytes;
};

// The 32 bytes of a SHA-256 given as 64 lowercase hex digits, the form keys take
// in tables that index them as BLOBs (llm_cache since schema 9: half the index
// entry of the text). Anything else is not a SHA-256 and comes back as nullopt.
std::optional<std::string> sha256_bytes(std::string_view hex);

class Statement {
 public:
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based as in SQLite.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, Blob value);
  template <class T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }
  template <class... Args>
  Statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  // Advances to the next row; false when done. Throws BusyError or RuntimeError.
  bool step();
  // Runs a statement that returns no rows.
  void run();
  void reset();

  bool is_null(int column) const;
  std::int64_t get_int(int column) const;
  double get_double(int column) const;
  std::string get_text(int column) const;
  std::optional<std::string> get_optional_text(int column) const;
  int column_count() const;

 private:
  friend class Db;
  Statement(sqlite3* db, std::string_view sql);
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// One migration step: the schema version it produces and the SQL that gets there.
struct Migration {
  int version;
  const char* sql;
};
// The ordered, append-only list of migrations (schema.cpp).
const std::vector<Migration>& migrations();
int latest_schema_version();

class Db {
 public:
  enum class Mode { open_existing, create };
  // Opens (or creates) the database and brings its schema up to date. A schema
  // newer than this binary knows is refused with a ConfigError.
  explicit Db(const fs::path& path, Mode mode = Mode::open_existing);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Statement prepare(std::string_view sql);
  void exec(std::string_view sql);
  std::int64_t query_int(std::string_view sql);
  std::optional<std::string> query_text(std::string_view sql);

  // Runs `fn` in one write transaction (BEGIN IMMEDIATE). On SQLITE_BUSY the
  // transaction is rolled back and `fn` runs again, with backoff, for up to
  // k_write_retry_budget. Any other exception rolls back and propagates.
  // Nested calls join the outer transaction, so helpers that write (audit
  // appends, object indexing) compose inside a caller's unit of work.
  void write(const std::function<void()>& fn);
  // A read transaction: one consistent snapshot for several queries.
  void read(const std::function<void()>& fn);

  std::int64_t last_insert_rowid() const;
  int user_version();
  std::string journal_mode();
  // PRAGMA quick_check results ("ok" when healthy).
  std::vector<std::string> integrity_check();
  const fs::path& path() const { return path_; }

 private:
  void migrate();
  sqlite3* db_ = nullptr;
  fs::path path_;
};

}  // namespace mlops::store
