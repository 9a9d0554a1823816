#include "store/db.hpp"

#include <sqlite3.h>

#include <mutex>
#include <random>
#include <thread>

#include "util/error.hpp"

namespace mlops::store {

namespace {

// Raised inside a transaction when SQLite reports the database busy; `write`
// catches it and retries the whole unit of work.
struct BusyError : RuntimeError {
  using RuntimeError::RuntimeError;
};

bool is_busy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (is_busy(rc)) throw BusyError(msg);
  if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB)
    throw RuntimeError(msg, "the workspace database is damaged; run 'mlopsctl doctor' to see what can be recovered");
  throw RuntimeError(msg);
}

// mlops_unhex(TEXT): the BLOB of sha256_bytes for a SHA-256 in lowercase hex,
// any other value unchanged. Migration 9 converts the existing cache keys with it.
void sql_unhex(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
    auto* p = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
    std::string_view text(p, static_cast<std::size_t>(sqlite3_value_bytes(argv[0])));
    if (auto bytes = sha256_bytes(text)) {
      sqlite3_result_blob(ctx, bytes->data(), static_cast<int>(bytes->size()), SQLITE_TRANSIENT);
      return;
    }
  }
  sqlite3_result_value(ctx, argv[0]);
}

}  // namespace

std::optional<std::string> sha256_bytes(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out(32, '\0');
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>(hi << 4 | lo);
  }
  return out;
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, "cannot prepare SQL `" + std::string(sql.substr(0, 80)) + "`");
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}
Statement& Statement::bind(int index, Blob value) {
  sqlite3_bind_blob64(stmt_, index, value.bytes.data(), value.bytes.size(), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bind(int index, std::nullptr_t) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, rc, "SQL step failed");
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}
std::int64_t Statement::get_int(int column) const {
  return sqlite3_column_int64(stmt_, column);
}
double Statement::get_double(int column) const {
  return sqlite3_column_double(stmt_, column);
}
std::string Statement::get_text(int column) const {
  auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column))) : std::string();
}
std::optional<std::string> Statement::get_optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return get_text(column);
}
int Statement::column_count() const {
  return sqlite3_column_count(stmt_);
}

namespace {

// Process-wide SQLite settings, made once before the library initialises.
// Memory statistics (on in Debian's build) put a global mutex around every
// allocation SQLite makes; nothing here reads them.
void configure_sqlite() {
  static std::once_flag once;
  std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

Db::Db(const fs::path& path, Mode mode) : path_(path) {
  configure_sqlite();
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (mode == Mode::create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw RuntimeError("cannot open " + path.string() + ": " + msg,
                       mode == Mode::open_existing ? "run 'mlopsctl doctor' to check the workspace" : "");
  }
  sqlite3_busy_timeout(db_, static_cast<int>(k_busy_timeout.count()));
  // A CLI opens and closes the database on every run. Checkpointing and deleting
  // the WAL at each close would fsync every time; instead the WAL persists until
  // it passes k_wal_truncate_bytes (see ~Db).
  sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  int persist = 1;
  sqlite3_file_control(db_, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_create_function_v2(db_, "mlops_unhex", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr, sql_unhex, nullptr,
                             nullptr, nullptr);
  if (mode == Mode::create) exec("PRAGMA journal_mode=WAL;");
  // A write batch (128 LLM calls, an eval chunk) dirties pages all over the
  // cache and span indexes; the WAL is folded back into the database every
  // k_wal_autocheckpoint_pages instead of SQLite's 1000, so a checkpoint copies
  // each of those pages once for several batches and syncs less often. ~Db still
  // truncates a WAL past k_wal_truncate_bytes, so the next command opens quickly.
  exec("PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=" +
       std::to_string(k_wal_autocheckpoint_pages));
  migrate();
}

Db::~Db() {
  // Opening a database whose WAL has grown costs time in proportion to the WAL,
  // so once it passes k_wal_truncate_bytes the closing process folds it into the
  // database and truncates it: one fsync every few dozen commands instead of one
  // per command. Busy (another process is reading) just means a later close does it.
  std::error_code ec;
  auto wal = fs::file_size(path_.string() + "-wal", ec);
  if (!ec && wal > k_wal_truncate_bytes)
    sqlite3_exec(db_, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  sqlite3_close_v2(db_);
}

Statement Db::prepare(std::string_view sql) {
  return Statement(db_, sql);
}

void Db::exec(std::string_view sql) {
  std::string s(sql);
  char* err = nullptr;
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    if (is_busy(rc)) throw BusyError("database busy: " + msg);
    throw RuntimeError("SQL failed: " + msg);
  }
}

std::int64_t Db::query_int(std::string_view sql) {
  auto st = prepare(sql);
  return st.step() ? st.get_int(0) : 0;
}

std::optional<std::string> Db::query_text(std::string_view sql) {
  auto st = prepare(sql);
  if (!st.step()) return std::nullopt;
  return st.get_optional_text(0);
}

void Db::write(const std::function<void()>& fn) {
  if (sqlite3_get_autocommit(db_) == 0) {
    fn();  // already inside a transaction: the outer one commits or rolls back
    return;
  }
  auto deadline = std::chrono::steady_clock::now() + k_write_retry_budget;
  // Seeded only when a retry needs it: std::random_device costs about 50 µs in a
  // VM (CPUID/RDRAND exits), far more than the write itself.
  std::optional<std::minstd_rand> jitter;
  auto pause = std::chrono::milliseconds(2);
  while (true) {
    try {
      exec("BEGIN IMMEDIATE");
    } catch (const BusyError&) {
      if (std::chrono::steady_clock::now() > deadline)
        throw RuntimeError("workspace database stayed busy for " + std::to_string(k_write_retry_budget.count() / 1000) +
                               " s: " + path_.string(),
                           "another mlopsctl process is writing; retry when it has finished");
      if (!jitter) jitter.emplace(std::random_device{}());
      std::this_thread::sleep_for(pause + std::chrono::milliseconds((*jitter)() % (pause.count() + 1)));
      pause = std::min(pause * 2, std::chrono::milliseconds(200));
      continue;
    }
    try {
      fn();
      exec("COMMIT");
      return;
    } catch (const BusyError&) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      if (std::chrono::steady_clock::now() > deadline) throw;
      std::this_thread::sleep_for(pause);
    } catch (...) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }
}

void Db::read(const std::function<void()>& fn) {
  if (sqlite3_get_autocommit(db_) == 0) {
    fn();
    return;
  }
  exec("BEGIN");
  try {
    fn();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::int64_t Db::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int Db::user_version() {
  return static_cast<int>(query_int("PRAGMA user_version"));
}

std::string Db::journal_mode() {
  return query_text("PRAGMA journal_mode").value_or("");
}

std::vector<std::string> Db::integrity_check() {
  std::vector<std::string> out;
  auto st = prepare("PRAGMA quick_check");
  while (st.step()) out.push_back(st.get_text(0));
  return out;
}

void Db::migrate() {
  int latest = latest_schema_version();
  int current = user_version();
  if (current == latest) return;
  if (current > latest)
    throw ConfigError("workspace database " + path_.string() + " has schema version " + std::to_string(current) +
                          ", newer than this mlopsctl understands (" + std::to_string(latest) + ")",
                      "upgrade mlopsctl to use this workspace");
  write([&] {
    // Another process may have migrated while we waited for the write lock.
    int now = user_version();
    for (const auto& m : migrations()) {
      if (m.version <= now) continue;
      exec(m.sql);
      exec("PRAGMA user_version=" + std::to_string(m.version));
    }
  });
}

}  // namespace mlops::store
