#pragma once
// How `show`-style commands find a row by what a user types: the exact id, a
// unique id prefix, or a name (its newest row). One query shape for every table
// with (id, name, started_ms) columns: eval runs, A/B runs.
#include <string>

#include "store/db.hpp"

namespace mlops::store {

// Inside a read transaction: calls `read(statement)` for each row of `table`
// whose id is `ref` or starts with it (the exact id first, at most two rows, so
// the caller can tell an ambiguous prefix), or, when none, for the newest row
// named `ref`. `columns` is the SELECT list `read` expects.
template <class Read>
void find_by_ref(Db& db, const std::string& table, const std::string& columns, const std::string& ref, Read read) {
  bool any = false;
  auto st = db.prepare("SELECT " + columns + " FROM " + table +
                       " WHERE id = ?1 OR id LIKE ?1 || '%' ORDER BY id = ?1 DESC LIMIT 2");
  st.bind(1, ref);
  while (st.step()) {
    any = true;
    read(st);
  }
  if (any) return;
  auto byname =
      db.prepare("SELECT " + columns + " FROM " + table + " WHERE name = ? ORDER BY started_ms DESC, id DESC LIMIT 1");
  byname.bind(1, ref);
  if (byname.step()) read(byname);
}

}  // namespace mlops::store
