// Trigger pattern matcher tests: literals (escaped, caseless or not), regexes, per-field
// restriction, which match counts as the first, refused patterns and their errors, the empty
// database, scratch handling, two threads scanning one database, and a randomized cross-check of
// literal sets against a plain search.
#include "match/matcher.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace rstguard::match {
namespace {

using Match = Database::Match;

std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

PatternSpec literal(std::string name, std::string text, std::vector<TriggerField> fields = {},
                    bool caseless = true) {
  return {std::move(name), std::move(text), true, caseless, std::move(fields)};
}

PatternSpec regex(std::string name, std::string expression, std::vector<TriggerField> fields = {},
                  bool caseless = true) {
  return {std::move(name), std::move(expression), false, caseless, std::move(fields)};
}

// Scans with a fresh scratch.
Match scan(const Database& db, std::string_view data, TriggerField field = TriggerField::kPayload) {
  const auto scratch = db.make_scratch();
  return db.scan_first(bytes(data), field, *scratch);
}

// Expects the refusal of `patterns` to name pattern `index` and to carry `reason_part`.
void expect_refused(const std::vector<PatternSpec>& patterns, int index,
                    std::string_view reason_part) {
  try {
    Database::compile(patterns);
    FAIL() << "compiled";
  } catch (const PatternError& e) {
    EXPECT_EQ(e.pattern_index(), index);
    EXPECT_NE(e.reason().find(reason_part), std::string::npos) << e.reason();
    EXPECT_NE(std::string_view(e.what()).find(e.reason()), std::string::npos) << e.what();
    if (index >= 0) {
      const PatternSpec& p = patterns[static_cast<size_t>(index)];
      EXPECT_EQ(e.pattern_name(), p.name);
      EXPECT_NE(std::string_view(e.what()).find("\"" + p.name + "\""), std::string::npos)
          << e.what();
    } else {
      EXPECT_EQ(e.pattern_name(), "");
    }
  }
}

TEST(Matcher, LiteralIsEscaped) {
  const auto db = Database::compile({literal("dot", "blocked.example")});
  ASSERT_EQ(db->size(), 1u);
  EXPECT_EQ(db->pattern(0).name, "dot");
  const Match m = scan(*db, "xxblocked.example/");
  ASSERT_TRUE(m.found);
  EXPECT_EQ(m.id, 0u);
  EXPECT_TRUE(m.start_known);
  EXPECT_EQ(m.offset, 2u);
  EXPECT_EQ(m.end, 17u);
  EXPECT_FALSE(scan(*db, "blockedXexample").found) << "a literal '.' is not a wildcard";

  // Every regex metacharacter, a NUL byte and high bytes, taken literally.
  const std::string nasty = std::string("a+b(c)[d]\\e$^|?*{2}.") + '\0' + "\xff\x80/";
  const auto db2 = Database::compile({literal("nasty", nasty)});
  const std::string hay = "zz" + nasty + "zz";
  const Match m2 = db2->scan_first(bytes(hay), TriggerField::kPayload, *db2->make_scratch());
  ASSERT_TRUE(m2.found);
  EXPECT_EQ(m2.offset, 2u);
  EXPECT_EQ(m2.end, 2u + nasty.size());
  EXPECT_FALSE(scan(*db2, "a+b(c)[d]\\e$^|?*{2}.").found);
  EXPECT_FALSE(scan(*db2, "aab(c)[d]\\e$^|?*{2}.").found);
}

TEST(Matcher, Caseless) {
  const auto db = Database::compile(
      {literal("ci", "Example.COM"), literal("cs", "Secret-Word", {}, /*caseless=*/false)});
  EXPECT_EQ(scan(*db, "www.eXaMpLe.com").id, 0u);
  EXPECT_TRUE(scan(*db, "www.eXaMpLe.com").found);
  EXPECT_FALSE(scan(*db, "the secret-word").found);
  EXPECT_FALSE(scan(*db, "the SECRET-WORD").found);
  const Match m = scan(*db, "the Secret-Word");
  ASSERT_TRUE(m.found);
  EXPECT_EQ(m.id, 1u);
  EXPECT_EQ(m.offset, 4u);
  // A caseless regex.
  const auto db2 = Database::compile({regex("re", "falun\\s*gong")});
  EXPECT_TRUE(scan(*db2, "FALUN   Gong").found);
  const auto db3 = Database::compile({regex("re", "falun\\s*gong", {}, false)});
  EXPECT_FALSE(scan(*db3, "FALUN   Gong").found);
  EXPECT_TRUE(scan(*db3, "falun gong").found);
}

TEST(Matcher, RegexOffsets) {
  const auto db = Database::compile({regex("variable", "ban+ed"), regex("fixed", "id=[0-9]{4}")});
  const Match v = scan(*db, "--bannnned--");
  ASSERT_TRUE(v.found);
  EXPECT_EQ(v.id, 0u);
  EXPECT_FALSE(v.start_known) << "a variable-width match has only its end";
  EXPECT_EQ(v.end, 10u);
  EXPECT_EQ(v.offset, v.end);
  const Match f = scan(*db, "GET /?id=1234 ");
  ASSERT_TRUE(f.found);
  EXPECT_EQ(f.id, 1u);
  EXPECT_TRUE(f.start_known);
  EXPECT_EQ(f.offset, 6u);
  EXPECT_EQ(f.end, 13u);
  // Anchors and word boundaries keep a fixed width.
  const auto db2 = Database::compile({regex("anchored", "^GET /admin\\b")});
  const Match a = scan(*db2, "GET /admin HTTP/1.1");
  ASSERT_TRUE(a.found);
  EXPECT_TRUE(a.start_known);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_FALSE(scan(*db2, " GET /admin HTTP/1.1").found);
  EXPECT_FALSE(scan(*db2, "GET /administrator").found);
}

TEST(Matcher, MatchAtTheEdges) {
  const auto db = Database::compile({literal("k", "keyword")});
  EXPECT_EQ(scan(*db, "keyword").offset, 0u);
  EXPECT_EQ(scan(*db, "keyword").end, 7u);
  EXPECT_EQ(scan(*db, "xx keyword").offset, 3u);
  EXPECT_FALSE(scan(*db, "keywor").found);
  EXPECT_FALSE(scan(*db, "").found);
}

TEST(Matcher, PerFieldRestriction) {
  const auto db = Database::compile({
      literal("sni-only", "sni-word", {TriggerField::kSni}),
      literal("host-only", "host-word", {TriggerField::kHost}),
      literal("sni-or-host", "both-word", {TriggerField::kSni, TriggerField::kHost}),
      literal("anywhere", "any-word"),
  });
  const std::string data = "host-word sni-word both-word any-word";
  const Match sni = scan(*db, data, TriggerField::kSni);
  ASSERT_TRUE(sni.found);
  EXPECT_EQ(sni.id, 0u) << "host-word comes first but does not apply to the SNI";
  const Match host = scan(*db, data, TriggerField::kHost);
  ASSERT_TRUE(host.found);
  EXPECT_EQ(host.id, 1u);
  const Match payload = scan(*db, data, TriggerField::kPayload);
  ASSERT_TRUE(payload.found);
  EXPECT_EQ(payload.id, 3u);
  EXPECT_EQ(payload.offset, data.find("any-word"));
  EXPECT_FALSE(scan(*db, "sni-word host-word both-word", TriggerField::kPayload).found);
  EXPECT_EQ(scan(*db, "both-word", TriggerField::kSni).id, 2u);
  EXPECT_EQ(scan(*db, "both-word", TriggerField::kHost).id, 2u);
}

TEST(Matcher, FirstMatchIsTheLowestEndThenTheLowestId) {
  const auto db = Database::compile({literal("late", "zzz"), literal("early", "aaa")});
  const Match m = scan(*db, "..aaa..zzz..");
  ASSERT_TRUE(m.found);
  EXPECT_EQ(m.id, 1u) << "the earliest match wins, not the first pattern";
  EXPECT_EQ(m.offset, 2u);
  // Same end offset: the lower id wins, whatever its start.
  const auto db2 = Database::compile({literal("long", "abc"), literal("short", "bc")});
  EXPECT_EQ(scan(*db2, "xabc").id, 0u);
  EXPECT_EQ(scan(*db2, "xabc").offset, 1u);
  const auto db3 = Database::compile({literal("short", "bc"), literal("long", "abc")});
  EXPECT_EQ(scan(*db3, "xabc").id, 0u);
  EXPECT_EQ(scan(*db3, "xabc").offset, 2u);
  // A longer earlier-ending regex against a later literal.
  const auto db4 = Database::compile({literal("lit", "needle"), regex("re", "ne+d")});
  const Match r = scan(*db4, "needle");
  ASSERT_TRUE(r.found);
  EXPECT_EQ(r.id, 1u);
  EXPECT_EQ(r.end, 4u);
}

TEST(Matcher, RefusedPatternsAreNamed) {
  // The brief's example: an unclosed group, as the second of three patterns.
  const std::vector<PatternSpec> bad = {literal("ok", "fine"), regex("broken", "a(b"),
                                        regex("also-ok", "x+y")};
  expect_refused(bad, 1, "Missing close parenthesis");
  try {
    Database::compile(bad);
  } catch (const PatternError& e) {
    EXPECT_EQ(std::string(e.what()), "pattern \"broken\" (/a(b/): " + e.reason());
  }
  expect_refused({regex("backref", "(a)\\1")}, 0, "Back-references");
  expect_refused({regex("empty-match", ".*")}, 0, "empty");
  expect_refused({literal("empty-literal", "")}, 0, "empty");
  expect_refused({regex("nul", std::string("a\0b", 3))}, 0, "NUL");
  expect_refused({literal("field", "x", {static_cast<TriggerField>(5)})}, 0, "field");
  // A literal is shown in quotes, control bytes escaped.
  try {
    Database::compile({literal("lit", std::string("\r\n", 2)), regex("bad", "[z-a]")});
    FAIL();
  } catch (const PatternError& e) {
    EXPECT_EQ(e.pattern_index(), 1);
    EXPECT_EQ(std::string(e.what()).rfind("pattern \"bad\" (/[z-a]/): ", 0), 0u) << e.what();
  }
  try {
    Database::compile({literal("bad-lit", std::string("\r\n", 2), {static_cast<TriggerField>(9)})});
    FAIL();
  } catch (const PatternError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("pattern \"bad-lit\" (\"\\x0d\\x0a\"): ", 0), 0u)
        << e.what();
  }
}

TEST(Matcher, TooManyPatterns) {
  const std::vector<PatternSpec> many(kMaxPatterns + 1, literal("p", "x"));
  expect_refused(many, -1, "at most");
}

TEST(Matcher, EmptyDatabaseNeverMatches) {
  const auto db = Database::compile({});
  EXPECT_EQ(db->size(), 0u);
  auto scratch = db->make_scratch();
  auto clone = scratch->clone();
  for (TriggerField f : {TriggerField::kSni, TriggerField::kHost, TriggerField::kPayload}) {
    EXPECT_FALSE(db->scan_first(bytes("anything at all"), f, *scratch).found);
    EXPECT_FALSE(db->scan_first(bytes("anything at all"), f, *clone).found);
  }
  EXPECT_THROW(db->pattern(0), std::out_of_range);
}

TEST(Matcher, ScratchMovesAndClones) {
  const auto db = Database::compile({literal("k", "needle")});
  auto made = db->make_scratch();
  Database::Scratch moved(std::move(*made));
  EXPECT_TRUE(db->scan_first(bytes("a needle"), TriggerField::kPayload, moved).found);
  auto other = db->make_scratch();
  *other = std::move(moved);
  EXPECT_TRUE(db->scan_first(bytes("a needle"), TriggerField::kPayload, *other).found);
  auto cloned = other->clone();
  EXPECT_EQ(db->scan_first(bytes("the needle"), TriggerField::kPayload, *cloned).offset, 4u);
}

TEST(Matcher, ScratchMayOutliveItsDatabase) {
  std::shared_ptr<const Database> db = Database::compile({literal("k", "needle")});
  auto scratch = db->make_scratch();
  auto cloned = scratch->clone();
  db.reset();  // a reload dropped it; the worker frees its scratch afterwards
  scratch.reset();
  cloned.reset();
}

TEST(Matcher, TwoThreadsWithTheirOwnScratch) {
  std::vector<PatternSpec> patterns;
  for (int i = 0; i < 200; ++i) {
    patterns.push_back(literal("site" + std::to_string(i),
                               "blocked" + std::to_string(i) + ".example",
                               {TriggerField::kSni, TriggerField::kHost}));
  }
  patterns.push_back(regex("keyword", "forbidden\\s+topic", {TriggerField::kPayload}));
  const std::shared_ptr<const Database> db = Database::compile(patterns);
  std::vector<std::string> inputs;
  std::vector<Match> expected;
  {
    const auto scratch = db->make_scratch();
    for (int i = 0; i < 400; ++i) {
      inputs.push_back(i % 3 == 0 ? "www.blocked" + std::to_string(i % 250) + ".example"
                                  : "some forbidden   topic " + std::to_string(i));
      expected.push_back(db->scan_first(bytes(inputs.back()), TriggerField::kSni, *scratch));
    }
  }
  auto work = [&](Database::Scratch& scratch, int* mismatches) {
    for (int round = 0; round < 50; ++round) {
      for (size_t i = 0; i < inputs.size(); ++i) {
        const Match m = db->scan_first(bytes(inputs[i]), TriggerField::kSni, scratch);
        if (m.found != expected[i].found || m.id != expected[i].id ||
            m.offset != expected[i].offset) {
          ++*mismatches;
        }
      }
    }
  };
  auto first = db->make_scratch();
  auto second = first->clone();
  int mismatches[2] = {0, 0};
  std::thread a(work, std::ref(*first), &mismatches[0]);
  std::thread b(work, std::ref(*second), &mismatches[1]);
  a.join();
  b.join();
  EXPECT_EQ(mismatches[0], 0);
  EXPECT_EQ(mismatches[1], 0);
  const auto found =
      std::count_if(expected.begin(), expected.end(), [](const Match& m) { return m.found; });
  EXPECT_GT(found, 100);
  EXPECT_LT(found, 134) << "blocked200..249 are not patterns; payload keywords not for the SNI";
}

// Random literal sets against random text, checked against a plain search for the earliest
// (end, id) among the patterns that apply to the field.
TEST(Matcher, RandomLiteralSetsAgreeWithPlainSearch) {
  std::mt19937 rng(7);
  auto rand_string = [&](size_t len) {
    static constexpr char kAlphabet[] = "abAB.-\\(\x00\xff";
    std::string s;
    for (size_t i = 0; i < len; ++i) s += kAlphabet[rng() % (sizeof(kAlphabet) - 1)];
    return s;
  };
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (int round = 0; round < 60; ++round) {
    std::vector<PatternSpec> patterns;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      std::vector<TriggerField> fields;
      if (rng() % 2) fields.push_back(static_cast<TriggerField>(rng() % 3));
      patterns.push_back(
          literal("p" + std::to_string(i), rand_string(1 + rng() % 4), fields, rng() % 2 == 0));
    }
    const auto db = Database::compile(patterns);
    const auto scratch = db->make_scratch();
    for (int t = 0; t < 40; ++t) {
      const std::string text = rand_string(rng() % 60);
      const TriggerField field = static_cast<TriggerField>(rng() % 3);
      Match want;
      for (size_t id = 0; id < patterns.size(); ++id) {
        const PatternSpec& p = patterns[id];
        if (!p.fields.empty() &&
            std::find(p.fields.begin(), p.fields.end(), field) == p.fields.end()) {
          continue;
        }
        const size_t at =
            p.caseless ? lower(text).find(lower(p.expression)) : text.find(p.expression);
        if (at == std::string::npos) continue;
        const uint32_t end = static_cast<uint32_t>(at + p.expression.size());
        if (!want.found || end < want.end) {
          want = {true, static_cast<uint32_t>(id), static_cast<uint32_t>(at), end, true};
        }
      }
      const Match got = db->scan_first(bytes(text), field, *scratch);
      ASSERT_EQ(got.found, want.found) << "round " << round << " text " << t;
      if (!want.found) continue;
      ASSERT_EQ(got.id, want.id) << "round " << round << " text " << t;
      ASSERT_EQ(got.end, want.end);
      ASSERT_TRUE(got.start_known);
      ASSERT_EQ(got.offset, want.offset);
    }
  }
}

}  // namespace
}  // namespace rstguard::match
