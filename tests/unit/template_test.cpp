// Expected strings in the Jinja-behaviour tests were produced by Jinja2 3.1
// (StrictUndefined, keep_trailing_newline=True) and are kept here as literals.
#include "template/template.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

namespace mlops::tmpl {
namespace {

using nlohmann::json;

std::string run(std::string_view source, const json& vars = json::object(), const Options& options = {}) {
  return Template::parse(source).render(vars, options);
}

// The error parsing or rendering `source` raises; fails the test when there is none.
TemplateError error_of(std::string_view source, const json& vars = json::object(), const Options& options = {}) {
  try {
    Template::parse(source).render(vars, options);
  } catch (const TemplateError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for template: " << source;
  return TemplateError(0, 0, "no error");
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

TEST(Values, PrintLikePythonStr) {
  EXPECT_EQ(run(R"tpl(Hello {{ name }}!
)tpl",
                json::parse(R"({"name": "world"})")),
            "Hello world!\n");
  EXPECT_EQ(run("{{ 42 }} {{ -7 }} {{ 0.5 }} {{ 1.0 }} {{ 2.50 }} {{ 1e16 }} {{ 1e15 }} {{ 1e-5 }} {{ 0.0001 }} {{ 0.1 "
                "+ 0.2 }}"),
            "42 -7 0.5 1.0 2.5 1e+16 1000000000000000.0 1e-05 0.0001 0.30000000000000004");
  EXPECT_EQ(run("{{ true }} {{ false }} {{ none }} {{ True }} {{ False }} {{ None }}"),
            "True False None True False None");
  EXPECT_EQ(run("{{ xs }} {{ d }}",
                json::parse(R"({"d": {"k": "v", "n": [1, {"x": null}]}, "xs": ["a", 1, 1.5, true, null]})")),
            "['a', 1, 1.5, True, None] {'k': 'v', 'n': [1, {'x': None}]}");
  EXPECT_EQ(run(R"tpl({{ ['it\'s', 'say "hi"', 'both \' and "', 'tab\there\n'] }})tpl"),
            "[\"it's\", 'say \"hi\"', 'both \\' and \"', 'tab\\there\\n']");
  EXPECT_EQ(run("{{ n }} {{ f }} {{ big }}", json::parse(R"({"big": 12345678901234567890, "f": 2.0, "n": -3})")),
            "-3 2.0 12345678901234567890");
  EXPECT_EQ(run("{{ [] }} {{ {} }} {{ [[], {}] }}"), "[] {} [[], {}]");
}

TEST(Expressions, MatchJinja) {
  EXPECT_EQ(
      run(R"tpl({{ user.name }} {{ user['name'] }} {{ user["name"] }} {{ items[0] }} {{ items[-1] }} {{ items.1 }})tpl",
          json::parse(R"({"items": ["x", "y", "z"], "user": {"name": "Ada"}})")),
      "Ada Ada Ada x z y");
  EXPECT_EQ(run("{{ rows[1].cells[0] }} {{ m[key] }}",
                json::parse(R"({"key": "a", "m": {"a": "A"}, "rows": [{"cells": [1]}, {"cells": [2]}]})")),
            "2 A");
  EXPECT_EQ(run("{{ 'abc'[0] }} {{ 'héllo'[1] }} {{ 'hello'[1:3] }} {{ 'hello'[-3:] }} {{ 'hello'[::-1] }} {{ "
                "[1,2,3,4,5][::2] }} {{ [1,2,3][5:] }}"),
            "a é el llo olleh [1, 3, 5] []");
  EXPECT_EQ(
      run(R"tpl({{ 'single' }} {{ "double" }} {{ 'a\tb' }} {{ 'caf\u00e9' }} {{ 'x\x41' }} {{ 'adjacent' ' strings' }})tpl"),
      "single double a\tb café xA adjacent strings");
  EXPECT_EQ(run("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ "
                "2 ** 10 }} {{ 2 ** 3 ** 2 }} {{ 1.5 + 1 }} {{ -(3) }}"),
            "7 9 3.5 2.0 3 -4 2 1024 64 2.5 -3");
  EXPECT_EQ(run("{{ 'ab' ~ 1 ~ none ~ true ~ 1.0 }} {{ 'ab' + 'cd' }} {{ '-' * 5 }} {{ [1] + [2] }}"),
            "ab1NoneTrue1.0 abcd ----- [1, 2]");
  EXPECT_EQ(run("{{ 1 == 1.0 }} {{ true == 1 }} {{ 'a' != 'b' }} {{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 2 <= 2 }} {{ 'b' "
                ">= 'a' }} {{ [1, 2] < [1, 3] }}"),
            "True True True True False True True True");
  EXPECT_EQ(run("{{ 1 and 2 }} {{ 0 and 2 }} {{ 0 or 'x' }} {{ '' or [] }} {{ not 0 }} {{ not 'a' }} {{ not 1 == 2 }}"),
            "2 0 x [] True False True");
  EXPECT_EQ(
      run("{{ 'a' in 'cat' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 3 not in [1, 2] }} {{ 'z' not in 'abc' }}"),
      "True True True True True");
  EXPECT_EQ(run("{{ 'yes' if n > 1 else 'no' }} {{ 'a' if false else 'b' if false else 'c' }} [{{ 'x' if false }}]",
                json::parse(R"({"n": 2})")),
            "yes c []");
  EXPECT_EQ(
      run("{{ x is defined }} {{ y is defined }} {{ y is not defined }} {{ n is none }} {{ n is not none }} {{ 3 is "
          "odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'a' is string }} {{ 1 is number }} {{ {} is mapping }}",
          json::parse(R"({"n": null, "x": 1})")),
      "True False True True False True True True True True True");
  EXPECT_EQ(run("{{ {'a': [1, 2], 'b': 1} }} {{ {'a': 1}['a'] }} {{ [1, 2,] }}"), "{'a': [1, 2], 'b': 1} 1 [1, 2]");
}

TEST(Filters, MatchJinja) {
  EXPECT_EQ(
      run(R"tpl({{ 'Hello World'|upper }} {{ 'Hello World'|lower }} {{ 'hello wORLD-foo (bar'|title }} {{ "o'neil"|title }} {{ 'hELLO'|capitalize }})tpl"),
      "HELLO WORLD hello world Hello World-Foo (Bar O'neil Hello");
  EXPECT_EQ(run("{{ 'straße'|upper }} {{ 'ÉCOLE ΟΔΟΣ'|lower }} {{ 'élan'|capitalize }} {{ 'привет мир'|title }}"),
            "STRASSE école οδος Élan Привет Мир");
  EXPECT_EQ(run(R"tpl([{{ '  padded \n'|trim }}] [{{ 'xxhixx'|trim('x') }}] [{{ '\u00a0nbsp\u3000'|trim }}])tpl"),
            "[padded] [hi] [nbsp]");
  EXPECT_EQ(run("{{ 'a-b-c'|replace('-', '+') }} {{ 'aaa'|replace('a', 'b', 2) }} {{ 'abc'|replace('', '.') }} {{ "
                "12|replace(1, 3) }}"),
            "a+b+c bba .a.b.c. 32");
  EXPECT_EQ(run("{{ 'x'|default('d') }} {{ missing|default('d') }} [{{ ''|default('d') }}] {{ ''|default('d', true) }} "
                "{{ 0|d('z', boolean=true) }} [{{ missing|d }}] {{ none|default('d') }}"),
            "x d [] d z [] None");
  EXPECT_EQ(run("{{ 'héllo'|length }} {{ [1, 2, 3]|count }} {{ {'a': 1}|length }} {{ ''|length }}"), "5 3 1 0");
  EXPECT_EQ(
      run("{{ ['a', 'b']|join(', ') }} {{ [1, none, true, [2]]|join('|') }} {{ 'abc'|join('.') }} {{ [1, 2]|join }}"),
      "a, b 1|None|True|[2] a.b.c 12");
  EXPECT_EQ(run("{{ [3, 1]|first }} {{ [3, 1]|last }} {{ 'xyz'|first }} {{ 'xyz'|last }} {{ {'a': 2, 'b': 1}|first }}"),
            "3 1 x z a");
  EXPECT_EQ(run("{{ '42'|int + 1 }} {{ ' 42 '|int }} {{ '4_2'|int }} {{ '42.9'|int }} {{ 'x'|int }} {{ 'x'|int(-1) }} "
                "{{ 'ff'|int(base=16) }} {{ '0x1A'|int(0, 16) }} {{ '0b101'|int(base=0) }} {{ 3.99|int }} {{ -3.99|int "
                "}} {{ true|int }} {{ none|int }}"),
            "43 42 42 42 0 -1 255 26 5 3 -3 1 0");
  EXPECT_EQ(run("{{ '1.5'|float }} {{ ' -2e3 '|float }} {{ '1_000.5'|float }} {{ 'x'|float }} {{ 'x'|float(1.5) }} {{ "
                "3|float }} {{ 'inf'|float }}"),
            "1.5 -2000.0 1000.5 0.0 1.5 3.0 inf");
  EXPECT_EQ(run("{{ 1.0|string }} {{ none|string }} {{ [1, 'a']|string }} {{ (42|string) ~ '!' }} {{ 'abc'|list }}"),
            "1.0 None [1, 'a'] 42! ['a', 'b', 'c']");
}

TEST(Filters, TruncateMatchesJinja) {
  EXPECT_EQ(run("{{ 'The quick brown fox jumps'|truncate(9) }}|{{ 'The quick brown fox jumps'|truncate(9, true) }}|{{ "
                "'The quick brown fox jumps'|truncate(9, leeway=0) }}"),
            "The...|The qu...|The...");
  EXPECT_EQ(run("{{ 'short'|truncate(5) }}|{{ 'abcdefghij'|truncate(5) }}|{{ 'abcdefghijk'|truncate(5) }}|{{ "
                "'abcdefghijk'|truncate(5, leeway=0) }}"),
            "short|abcdefghij|ab...|ab...");
  EXPECT_EQ(run("{{ 'The quick brown fox'|truncate(12, leeway=0) }}|{{ 'The quick brown fox'|truncate(14) }}|{{ 'The "
                "quick brown fox'|truncate(15, killwords=true, leeway=0) }}"),
            "The...|The quick brown fox|The quick br...");
  EXPECT_EQ(run("{{ 'ab cd ef gh ij'|truncate(8, end='..', leeway=0) }}|{{ 'abcdef'|truncate(3, true, '', 0) }}|{{ "
                "'héllo wörld'|truncate(7, leeway=0) }}|{{ 'a b'|truncate(3, leeway=0) }}"),
            "ab cd..|abc|héll...|a b");
  EXPECT_EQ(run("{{ ('a ' * 200)|truncate|length }} {{ ('x' * 300)|truncate|length }}"), "254 255");
  // Jinja measures the value itself first: short lists pass through, numbers have no length.
  EXPECT_EQ(run("{{ ['a', 'b']|truncate(3, true, '..', 0) }}"), "['a', 'b']");
  EXPECT_EQ(error_of("{{ 7|truncate(3) }}").reason(), "object of type 'int' has no length");
}

TEST(Filters, ToJsonMatchesJinjaEscaping) {
  EXPECT_EQ(run("{{ {'b': [1, 2.5, true, none], 'a': 'x'}|tojson }}"), "{\"a\": \"x\", \"b\": [1, 2.5, true, null]}");
  EXPECT_EQ(run(R"tpl({{ '<script>&\'"'|tojson }})tpl"), "\"\\u003cscript\\u003e\\u0026\\u0027\\\"\"");
  EXPECT_EQ(run(R"tpl({{ 'é😀\u007f\x1f\n\t'|tojson }})tpl"), "\"\\u00e9\\ud83d\\ude00\\u007f\\u001f\\n\\t\"");
  EXPECT_EQ(
      run("{{ d|tojson }}", json::parse(R"({"d": {"a": {}, "f": 0.1, "n": 12345678901234567890, "z": {"k": []}}})")),
      "{\"a\": {}, \"f\": 0.1, \"n\": 12345678901234567890, \"z\": {\"k\": []}}");
  EXPECT_EQ(run("{{ [1, {'a': []}]|tojson(indent=2) }}"), "[\n  1,\n  {\n    \"a\": []\n  }\n]");
  EXPECT_EQ(run(R"tpl({{ {'a': 1}|tojson(indent='\t') }})tpl"), "{\n\t\"a\": 1\n}");
}

TEST(Conditionals, IfElifElseChains) {
  EXPECT_EQ(run("{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}many{% endif %}",
                json::parse(R"({"x": 2})")),
            "two");
  EXPECT_EQ(run("{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}many{% endif %}",
                json::parse(R"({"x": 3})")),
            "three");
  EXPECT_EQ(run("{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}many{% endif %}",
                json::parse(R"({"x": 9})")),
            "many");
  EXPECT_EQ(run("{% if x == 1 %}one{% elif x == 2 %}two{% endif %}.", json::parse(R"({"x": 5})")), ".");
  EXPECT_EQ(run("{% if '' %}a{% elif [] %}b{% elif {} %}c{% elif 0 %}d{% elif 0.0 %}e{% elif none %}f{% elif false "
                "%}g{% else %}falsy{% endif %}"),
            "falsy");
  EXPECT_EQ(run("{% if ' ' and [0] and {'a': 0} and -1 and 0.1 %}truthy{% endif %}"), "truthy");
  EXPECT_EQ(run("{% if user is defined and user.admin %}admin{% else %}guest{% endif %}"), "guest");
  EXPECT_EQ(run("{% if a %}{% if b %}ab{% else %}a{% endif %}{% endif %}", json::parse(R"({"a": true, "b": false})")),
            "a");
}

TEST(Loops, LoopVariablesAndNesting) {
  EXPECT_EQ(run("{% for x in xs %}{{ loop.index }}/{{ loop.length }}:{{ x }} {% endfor %}",
                json::parse(R"({"xs": ["a", "b", "c"]})")),
            "1/3:a 2/3:b 3/3:c ");
  EXPECT_EQ(run("{% for x in xs %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last "
                "}};{% endfor %}",
                json::parse(R"({"xs": [1, 2, 3]})")),
            "032TrueFalse;121FalseFalse;210FalseTrue;");
  EXPECT_EQ(run("{% for x in xs %}{{ x }}{% if not loop.last %}, {% endif %}{% endfor %}",
                json::parse(R"({"xs": ["a", "b", "c"]})")),
            "a, b, c");
  EXPECT_EQ(run("{% for x in [] %}item{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(run("{% for x in xs %}{{ x }}{% else %}none{% endfor %}", json::parse(R"({"xs": [1]})")), "1");
  EXPECT_EQ(run("{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}({{ loop.index }}) "
                "{% endfor %}"),
            "1x11y2(1) 2x12y2(2) ");
  EXPECT_EQ(run("{% for row in rows %}{% for c in row %}{{ c }}{% endfor %};{% endfor %}",
                json::parse(R"({"rows": [[1, 2], [], [3]]})")),
            "12;;3;");
  EXPECT_EQ(run("{% for k in d %}{{ k }}{% endfor %} {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ "
                "d.keys()|list }} {{ d.values()|list }}",
                json::parse(R"({"d": {"a": 1, "b": 2}})")),
            "ab a=1;b=2; ['a', 'b'] [1, 2]");
  EXPECT_EQ(
      run("{% for a, b in pairs %}{{ a }}{{ b }} {% endfor %}", json::parse(R"({"pairs": [[1, "x"], [2, "y"]]})")),
      "1x 2y ");
  EXPECT_EQ(run("{% for x in [3, 1, 2, 5] if x is odd %}{{ x }}{{ loop.index }}/{{ loop.length }} {% endfor %}"),
            "31/3 12/3 53/3 ");
  EXPECT_EQ(run("{% for x in xs %}{{ loop.previtem|default('^') }}{{ x }}{{ loop.nextitem|default('$') }} {% endfor %}",
                json::parse(R"({"xs": [1, 2, 3]})")),
            "^12 123 23$ ");
  EXPECT_EQ(run("{% for c in 'héllo' %}[{{ c }}]{% endfor %}"), "[h][é][l][l][o]");
  EXPECT_EQ(run("{% for x in [1, 2] %}{{ loop.depth }}{{ loop.depth0 }}{{ loop|length }}{% endfor %}"), "102102");
  EXPECT_EQ(run("{% for x in [1] %}{{ loop }}{% endfor %}"), "<LoopContext 1/1>");
}

TEST(Set, AssignsAndScopes) {
  EXPECT_EQ(run("{% set x = 5 %}{{ x * 2 }}"), "10");
  EXPECT_EQ(
      run("{% set greeting %}Hello {{ name }}{% endset %}[{{ greeting|upper }}]", json::parse(R"({"name": "Ada"})")),
      "[HELLO ADA]");
  EXPECT_EQ(run("{% set a, b = [1, 2] %}{{ b }}{{ a }}"), "21");
  EXPECT_EQ(run("{% set x = 1 %}{% for i in [1, 2] %}{% set x = i * 10 %}{{ x }} {% endfor %}{{ x }}"), "10 20 1");
  EXPECT_EQ(run("{% set name = name|upper %}{{ name }}", json::parse(R"({"name": "ada"})")), "ADA");
  EXPECT_EQ(run("{% if true %}{% set x = 'set in if' %}{% endif %}{{ x }}"), "set in if");
  EXPECT_EQ(run("{% set xs = [] %}{% set xs = xs + [1] %}{% set xs = xs + [2] %}{{ xs }}"), "[1, 2]");
}

TEST(RawAndComments, EmitLiterallyOrNothing) {
  EXPECT_EQ(run("{% raw %}{{ not a variable }} {% if %} {# not a comment #}{% endraw %}"),
            "{{ not a variable }} {% if %} {# not a comment #}");
  EXPECT_EQ(run(R"tpl({% raw %}{"json": {"nested": {{1}}}}{% endraw %})tpl"), "{\"json\": {\"nested\": {{1}}}}");
  EXPECT_EQ(run("{%raw%}a{%endraw%} {%  raw  %}b{%  endraw  %}"), "a b");
  EXPECT_EQ(run("before {# a comment with {{ x }} and {% if %} #}after"), "before after");
  EXPECT_EQ(run(R"tpl({# multi
line
comment #}x)tpl"),
            "x");
  EXPECT_EQ(run(R"tpl({{ '}}' }} {{ "{%" }} { {{ 1 }} })tpl"), "}} {% { 1 }");
  EXPECT_EQ(run("{{ {'a': {'b': 1}} }}"), "{'a': {'b': 1}}");
}

TEST(Whitespace, ControlMarkersStripLikeJinja) {
  EXPECT_EQ(run(R"tpl(a
  {%- if true -%}
  b
  {%- endif -%}
 c
)tpl"),
            "abc\n");
  EXPECT_EQ(run("x {{- 1 -}} y"), "x1y");
  EXPECT_EQ(run(R"tpl(x
{# c #}
y)tpl"),
            "x\n\ny");
  EXPECT_EQ(run(R"tpl(x
{#- c -#}
y)tpl"),
            "xy");
  EXPECT_EQ(run(R"tpl({% for i in [1, 2, 3] -%}
  {{ i }}
{%- endfor %}
)tpl"),
            "123\n");
  EXPECT_EQ(run(R"tpl({% for i in [1, 2] %}
  - {{ i }}
{% endfor %}
)tpl"),
            "\n  - 1\n\n  - 2\n\n");
  EXPECT_EQ(run(R"tpl(<{%- raw -%}
 {{ a }} 
{%- endraw -%}
>)tpl"),
            "<{{ a }}>");
  EXPECT_EQ(run("a {%- if true +%} b {%+ endif -%} c"), "a b c");
  EXPECT_EQ(run("{{-1}} {{+ 1 }}"), "1 1");
  EXPECT_EQ(run(R"tpl(a 	
 {{- 'x' }})tpl"),
            "ax");
  EXPECT_EQ(run(R"tpl({% if true %}
  kept
{% endif %}
)tpl"),
            "\n  kept\n\n");
  EXPECT_EQ(run(R"tpl(line1
line2
{{ 'x' }}
)tpl"),
            "line1\nline2\nx\n");
}

TEST(Values, DocumentedDifferencesFromJinja) {
  // The trailing newline of the template is kept (Jinja drops one by default).
  EXPECT_EQ(run("line\n"), "line\n");
  EXPECT_EQ(run("{{ 1 }}\n\n"), "1\n\n");
  // nlohmann::json sorts object keys, so objects print and iterate in key order.
  EXPECT_EQ(run("{{ {'b': 1, 'a': 2} }}"), "{'a': 2, 'b': 1}");
  json d = json::parse(R"({"d": {"b": 1, "a": 2}})");
  EXPECT_EQ(run("{% for k in d %}{{ k }}{% endfor %} {{ d|first }}", d), "ab a");
  // Integers are 64-bit.
  EXPECT_TRUE(contains(error_of("{{ 9223372036854775807 + 1 }}").what(), "integer overflow"));
  EXPECT_TRUE(contains(error_of("{{ 99999999999999999999 }}").what(), "too large"));
}

TEST(Template, ConvenienceRenderAndCheapCopies) {
  EXPECT_EQ(render("Hi {{ who }}", json{{"who", "there"}}), "Hi there");
  Template t = Template::parse("{{ a }}-{{ b|default('x') }}");
  Template copy = t;
  EXPECT_EQ(t.render(json{{"a", 1}}), "1-x");
  EXPECT_EQ(copy.render(json{{"a", 2}, {"b", "y"}}), "2-y");
  EXPECT_EQ(t.render(json{{"a", 3}}), "3-x") << "a template renders any number of times";
  EXPECT_EQ(Template().render(json::object()), "");
  EXPECT_TRUE(Template().variables().empty());
  EXPECT_EQ(Template::parse("static").render(nullptr), "static");
  EXPECT_THROW(Template::parse("x").render(json::array()), UsageError);
}

TEST(Errors, CarryLineColumnAndUsageExitCode) {
  TemplateError e = error_of("line1\nline2\nab {{ name \nmore");
  EXPECT_EQ(e.line(), 3);
  EXPECT_EQ(e.column(), 4);
  EXPECT_EQ(e.code(), ExitCode::usage);
  EXPECT_EQ(std::string(e.what()).rfind("line 3, column 4: ", 0), 0u) << e.what();
  EXPECT_TRUE(contains(e.reason(), "unclosed '{{'")) << e.reason();
  const Error& base = e;
  EXPECT_EQ(base.code(), ExitCode::usage);
}

TEST(Errors, UnclosedTagsCommentsAndRawBlocks) {
  TemplateError block = error_of("a\nb\n  {% if x \n");
  EXPECT_EQ(block.line(), 3);
  EXPECT_EQ(block.column(), 3);
  EXPECT_TRUE(contains(block.reason(), "unclosed '{%'"));
  TemplateError comment = error_of("x\n{# never closed");
  EXPECT_EQ(comment.line(), 2);
  EXPECT_TRUE(contains(comment.reason(), "unclosed comment"));
  TemplateError raw = error_of("{% raw %}\n{{ x }}");
  EXPECT_EQ(raw.line(), 1);
  EXPECT_TRUE(contains(raw.reason(), "{% endraw %}"));
  EXPECT_TRUE(contains(error_of("{{ 'abc }}").reason(), "unterminated string"));
  EXPECT_TRUE(contains(error_of("{{ x }").reason(), "unexpected '}'"));
  EXPECT_EQ(error_of("{{ [1, 2 }}").reason(), "unexpected '}', expected ']'");
}

TEST(Errors, UnknownFilterTagAndTest) {
  TemplateError f = error_of("Hi\n{{ name | uppper }}");
  EXPECT_EQ(f.line(), 2);
  EXPECT_EQ(f.column(), 11);
  EXPECT_EQ(f.reason(), "unknown filter 'uppper'");
  EXPECT_EQ(f.hint(), "did you mean 'upper'?");
  TemplateError tag = error_of("{% frob %}");
  EXPECT_EQ(tag.reason(), "unknown tag 'frob'");
  EXPECT_EQ(tag.column(), 4);
  EXPECT_TRUE(contains(error_of("{% include 'x.txt' %}").reason(), "unsupported tag 'include'"));
  EXPECT_EQ(error_of("{{ x is nonsense }}").reason(), "unknown test 'nonsense'");
}

TEST(Errors, MissingEndTagsPointAtTheOpeningTag) {
  TemplateError e = error_of("intro\n{% for u in users %}\n{% if u %}\n{% endif %}\n");
  EXPECT_EQ(e.line(), 2);
  EXPECT_EQ(e.column(), 1);
  EXPECT_TRUE(contains(e.reason(), "'for' block is never closed: missing {% endfor %}")) << e.reason();
  TemplateError e2 = error_of("{% if a %}x");
  EXPECT_TRUE(contains(e2.reason(), "missing {% endif %}"));
  TemplateError e3 = error_of("{% set x %}abc");
  EXPECT_TRUE(contains(e3.reason(), "missing {% endset %}"));
  // An inner block left open when the outer one ends.
  TemplateError e4 = error_of("{% for x in y %}\n  {% if x %}\n{% endfor %}");
  EXPECT_EQ(e4.line(), 3);
  EXPECT_TRUE(contains(e4.reason(), "innermost open block is 'if' (line 2, column 3)")) << e4.reason();
}

TEST(Errors, StrayBlockTags) {
  TemplateError e = error_of("a\n  {% endif %}");
  EXPECT_EQ(e.line(), 2);
  EXPECT_EQ(e.column(), 6);
  EXPECT_EQ(e.reason(), "unexpected {% endif %}: there is no open 'if' block");
  EXPECT_TRUE(contains(error_of("{% endfor %}").reason(), "no open 'for' block"));
  EXPECT_TRUE(contains(error_of("{% else %}").reason(), "outside of an if or for block"));
  EXPECT_TRUE(contains(error_of("{% elif x %}").reason(), "outside of an if or for block"));
  EXPECT_TRUE(contains(error_of("{% if x %}{% endfor %}").reason(), "ends with {% endif %}"));
  EXPECT_TRUE(contains(error_of("{% for x in y %}{% else %}{% else %}{% endfor %}").reason(), "unexpected {% else %}"));
}

TEST(Errors, BadExpressions) {
  EXPECT_EQ(error_of("{{ }}").reason(), "expected an expression, got '}}'");
  EXPECT_EQ(error_of("{{ 1 + }}").reason(), "expected an expression, got '}}'");
  EXPECT_EQ(error_of("{{ a b }}").reason(), "expected '}}' to end the expression, got 'b'");
  EXPECT_EQ(error_of("{{ a ! b }}").reason(), "unexpected character '!' in a tag");
  EXPECT_EQ(error_of("{% if %}").reason(), "expected an expression, got '%}'");
  EXPECT_EQ(error_of("{% for x y %}{% endfor %}").reason(), "expected 'in' in the for tag, got 'y'");
  EXPECT_TRUE(contains(error_of("{% for loop in xs %}{% endfor %}").reason(), "'loop' cannot be a loop variable"));
  EXPECT_TRUE(contains(error_of("{{ (1, 2) }}").reason(), "tuples are not supported"));
  EXPECT_TRUE(contains(error_of("{{ name.upper() }}").reason(), "function calls are not supported"));
  EXPECT_EQ(error_of("{{ x|replace('a') }}").reason(), "replace() is missing required argument 'new'");
  EXPECT_EQ(error_of("{{ x|upper(1) }}").reason(), "upper() takes no arguments");
  EXPECT_EQ(error_of("{{ x|truncate(1, 2, 3, 4, 5) }}").reason(), "truncate() takes at most 4 arguments");
  EXPECT_EQ(error_of("{{ x|default(fallback=1) }}").reason(),
            "default() got an unexpected keyword argument 'fallback'");
  EXPECT_EQ(error_of("{{ x|default(boolean=true, 'a') }}").reason(), "positional argument follows keyword argument");
  EXPECT_TRUE(contains(error_of("{{ '\\x4' }}").reason(), "truncated \\xXX escape"));
}

TEST(Errors, RuntimeTypeErrorsHavePositions) {
  TemplateError div = error_of("x\n  {{ 1 / 0 }}");
  EXPECT_EQ(div.line(), 2);
  EXPECT_EQ(div.column(), 8);
  EXPECT_EQ(div.reason(), "division by zero");
  EXPECT_EQ(error_of("{{ 1 + 'a' }}").reason(), "unsupported operand types for +: 'int' and 'str'");
  EXPECT_EQ(error_of("{{ 'a' < 1 }}").reason(), "'<' not supported between instances of 'str' and 'int'");
  EXPECT_EQ(error_of("{% for x in 5 %}{% endfor %}").reason(), "'int' object is not iterable");
  EXPECT_EQ(error_of("{{ 'abc'|truncate(2) }}").reason(), "truncate(): expected length >= 3, got 2");
  EXPECT_EQ(error_of("{{ 5|length }}").reason(), "object of type 'int' has no length");
  EXPECT_EQ(error_of("{{ []|first }}").reason(), "no first item: the sequence is empty");
  EXPECT_EQ(error_of("{% set a, b = [1] %}").reason(), "cannot unpack 1 values into 2 names");
}

TEST(Undefined, StrictErrorsNameTheVariableAndWhereItIsUsed) {
  TemplateError top = error_of("Hello {{ name }}");
  EXPECT_EQ(top.line(), 1);
  EXPECT_EQ(top.column(), 10);
  EXPECT_EQ(top.reason(), "undefined variable 'name'");
  EXPECT_TRUE(contains(top.hint(), "default"));

  json users = json::parse(R"({"users": [{"name": "a", "email": "e"}]})");
  TemplateError in_loop = error_of("{% for u in users %}\n  - {{ u.name }} {{ u.emial }}\n{% endfor %}", users);
  EXPECT_EQ(in_loop.line(), 2);
  EXPECT_EQ(in_loop.column(), 21);
  EXPECT_EQ(in_loop.reason(), "undefined variable 'u.emial'");

  json data = json::parse(R"({"items": [1, 2], "cfg": {}, "k": "model"})");
  EXPECT_EQ(error_of("{{ items[3] }}", data).reason(), "undefined variable 'items[3]'");
  EXPECT_EQ(error_of("{{ cfg['model'] }}", data).reason(), "undefined variable 'cfg['model']'");
  EXPECT_EQ(error_of("{{ cfg[k] }}", data).reason(), "undefined variable 'cfg['model']'");
  EXPECT_EQ(error_of("{{ cfg.a.b }}", data).reason(), "undefined variable 'cfg.a'");
  EXPECT_EQ(error_of("{{ missing.attr }}").reason(), "undefined variable 'missing'");
  // Columns count characters, not bytes.
  EXPECT_EQ(error_of("héllo {{ x }}").column(), 10);
  // Every use is an error, not just printing.
  EXPECT_EQ(error_of("{% if flag %}x{% endif %}").reason(), "undefined variable 'flag'");
  EXPECT_EQ(error_of("{% for x in xs %}{% endfor %}").reason(), "undefined variable 'xs'");
  EXPECT_EQ(error_of("{{ 'a' ~ x }}").reason(), "undefined variable 'x'");
  EXPECT_EQ(error_of("{{ x|upper }}").reason(), "undefined variable 'x'");
  EXPECT_EQ(error_of("{{ x == 1 }}").reason(), "undefined variable 'x'");
  EXPECT_EQ(error_of("{{ x|tojson }}").reason(), "undefined variable 'x'");
}

TEST(Undefined, DefaultAndIsDefinedRescue) {
  json data = json::parse(R"({"cfg": {"a": 1}})");
  EXPECT_EQ(run("{{ missing|default('fallback') }}"), "fallback");
  EXPECT_EQ(run("{{ cfg.b|d(2) }} {{ cfg.a|d(2) }}", data), "2 1");
  EXPECT_EQ(run("{{ missing is defined }} {{ cfg.b is defined }} {{ missing is not defined }}", data),
            "False False True");
  EXPECT_EQ(run("{% if missing is defined %}{{ missing }}{% else %}none{% endif %}"), "none");
  EXPECT_EQ(run("{{ missing if missing is defined else 'x' }}"), "x");
  // Like Jinja, default() only rescues the last step of a path.
  EXPECT_EQ(error_of("{{ cfg.b.c|default('d') }}", data).reason(), "undefined variable 'cfg.b'");
  // A default that is itself undefined is reported when it is used.
  EXPECT_EQ(error_of("{{ missing|default(other) }}").reason(), "undefined variable 'other'");
}

TEST(Undefined, LenientModeBehavesLikeJinjaDefaultUndefined) {
  Options lenient;
  lenient.strict_undefined = false;
  EXPECT_EQ(
      run("[{{ x }}|{{ x|upper }}|{{ x|length }}|{% for a in x %}a{% endfor %}|{% if x %}t{% else %}f{% endif %}]",
          json::object(), lenient),
      "[||0||f]");
  EXPECT_EQ(run("{{ x == x }} {{ x is defined }}", json::object(), lenient), "True False");
  EXPECT_EQ(error_of("{{ x.y }}", json::object(), lenient).reason(), "undefined variable 'x'");
  EXPECT_EQ(error_of("{{ x + 1 }}", json::object(), lenient).reason(), "undefined variable 'x'");
}

TEST(Variables, ListsTopLevelNamesTheTemplateReads) {
  Template t = Template::parse(
      "Hello {{ user.name }}, {{ greeting|default('hi') }}\n"
      "{% for d in docs if d.score > min_score %}{{ d.title }} {{ loop.index }} {{ x }}{% endfor %}\n"
      "{% set y = 1 %}{{ y }}{% if flag %}{{ z[idx] }}{% endif %}\n"
      "{% for k, v in meta.items() %}{{ k }}={{ v }}{% else %}{{ d }}{% endfor %}");
  std::set<std::string> expected = {"user", "greeting", "docs", "min_score", "x", "flag", "z", "idx", "meta", "d"};
  EXPECT_EQ(t.variables(), expected);
}

TEST(Variables, SetBeforeUseIsNotAnInputButConditionalSetIs) {
  EXPECT_EQ(Template::parse("{% set a = 1 %}{{ a }}").variables(), std::set<std::string>{});
  EXPECT_EQ(Template::parse("{{ a }}{% set a = 1 %}").variables(), std::set<std::string>{"a"});
  EXPECT_EQ(Template::parse("{% set n = n + 1 %}").variables(), std::set<std::string>{"n"});
  EXPECT_EQ(Template::parse("{% if c %}{% set a = 1 %}{% endif %}{{ a }}").variables(),
            (std::set<std::string>{"a", "c"}));
  EXPECT_EQ(Template::parse("{% set body %}{{ t }}{% endset %}{{ body }}").variables(), std::set<std::string>{"t"});
  EXPECT_EQ(Template::parse("{% for i in r %}{% set s = i %}{% endfor %}{{ s }}{{ loop }}").variables(),
            (std::set<std::string>{"r", "s"}));
  EXPECT_EQ(Template::parse("{% raw %}{{ not_a_var }}{% endraw %}{# {{ nor_this }} #}").variables(),
            std::set<std::string>{});
}

TEST(Robustness, InvalidUtf8InTextPassesThrough) {
  std::string src = "\xff\xfe {{ x }} \xc0\xaf\n";
  EXPECT_EQ(run(src, json{{"x", "ok"}}), "\xff\xfe ok \xc0\xaf\n");
  EXPECT_EQ(run("{{ '\xe9t\xe9' }}"), "\xe9t\xe9");
  EXPECT_EQ(run("{{ '\xff'|upper|length }}"), "1");
  EXPECT_EQ(error_of("{{ \xff }}").reason(), "unexpected character '\\xff' in a tag");
}

TEST(Robustness, DeepNestingIsAnErrorNotACrash) {
  std::string ifs;
  for (int i = 0; i < 100; ++i) ifs += "{% if true %}";
  EXPECT_TRUE(contains(error_of(ifs).reason(), "blocks nested too deeply (more than 64 levels)"));
  std::string ok;
  for (int i = 0; i < 60; ++i) ok += "{% if true %}";
  ok += "deep";
  for (int i = 0; i < 60; ++i) ok += "{% endif %}";
  EXPECT_EQ(run(ok), "deep");
  EXPECT_TRUE(contains(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").reason(),
                       "nested too deeply"));
  EXPECT_TRUE(contains(error_of("{{ " + std::string(100000, '-') + "1 }}").reason(), "nested too deeply"));
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "not ";
  EXPECT_TRUE(contains(error_of("{{ " + nots + "x }}").reason(), "nested too deeply"));
  std::string sum = "1";
  for (int i = 0; i < 10000; ++i) sum += "+1";
  EXPECT_TRUE(contains(error_of("{{ " + sum + " }}").reason(), "too complex"));
  std::string filters = "x";
  for (int i = 0; i < 10000; ++i) filters += "|upper";
  EXPECT_TRUE(contains(error_of("{{ " + filters + " }}").reason(), "too complex"));
  std::string wrap = "{% set x = [] %}";
  for (int i = 0; i < 100; ++i) wrap += "{% set x = [x] %}";
  EXPECT_TRUE(contains(error_of(wrap).reason(), "lists and dicts nested too deeply"));
}

TEST(Robustness, LargeTemplatesParseAndRenderInLinearTime) {
  std::string src;
  std::string expected;
  for (int i = 0; i < 100000; ++i) {
    src += "line {{ n }} {# c #}{% if n %}!{% endif %}\n";
    expected += "line 7 !\n";
  }
  auto start = std::chrono::steady_clock::now();
  Template t = Template::parse(src);
  EXPECT_EQ(t.render(json{{"n", 7}}), expected);
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);
  std::string text(20 << 20, 'x');
  EXPECT_EQ(run(text).size(), text.size());
}

TEST(Robustness, RenderLimitsStopRunawayTemplates) {
  Options small;
  small.max_output_bytes = 1000;
  EXPECT_TRUE(contains(error_of("{{ 'x' * 100000 }}", json::object(), small).reason(), "render limit"));
  EXPECT_TRUE(contains(error_of("{{ 'x' * 9223372036854775807 }}").reason(), "render limit"));
  EXPECT_TRUE(contains(
      error_of("{% for i in xs %}{{ 'y' * 100 }}{% endfor %}", json{{"xs", json(std::vector<int>(20, 0))}}, small)
          .reason(),
      "exceeds the limit of 1000 bytes"));
  Options few;
  few.max_loop_iterations = 50;
  EXPECT_TRUE(contains(
      error_of("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}", json{{"s", "0123456789"}}, few).reason(),
      "more than 50 loop iterations"));
  EXPECT_EQ(run("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}ok", json{{"s", "012345"}}, few), "ok");
}

TEST(Robustness, ExtremeNumbersInRepetitionAndSlices) {
  // Checked against Jinja2; none of these may hang, overflow or allocate much.
  EXPECT_EQ(run("{{ '' * 9223372036854775807 }}|{{ [] * 9223372036854775807 }}|{{ 'ab' * -3 }}"), "|[]|");
  EXPECT_EQ(run("{{ 'abc'[1::9223372036854775807] }}|{{ [1, 2, 3][1::9223372036854775807] }}|"
                "{{ 'abc'[::-9223372036854775807] }}|{{ 'abc'[-9223372036854775807:9223372036854775807] }}"),
            "b|[2]|c|abc");
  EXPECT_EQ(run("{{ -9223372036854775807 - 1 }}"), "-9223372036854775808");
  EXPECT_TRUE(contains(error_of("{{ -(-9223372036854775807 - 1) }}").reason(), "integer overflow"));
  EXPECT_TRUE(contains(error_of("{{ (-9223372036854775807 - 1) // -1 }}").reason(), "integer overflow"));
  EXPECT_EQ(run("{{ (-9223372036854775807 - 1) % -1 }}"), "0");
  EXPECT_TRUE(contains(error_of("{{ 2 ** 64 }}").reason(), "integer overflow"));
  EXPECT_EQ(run("{{ 'xy'|truncate(9223372036854775807, leeway=9223372036854775807) }}"), "xy");
}

TEST(Robustness, BuildingDataIsBudgeted) {
  Options small;
  small.max_output_bytes = 10000;
  // Each statement quadruples the list: the copies hit the budget long before memory does.
  std::string grow = "{% set x = [1] * 100 %}";
  for (int i = 0; i < 20; ++i) grow += "{% set x = [x, x, x, x] %}";
  EXPECT_TRUE(contains(error_of(grow, json::object(), small).reason(), "builds more than 40000 bytes"));
  EXPECT_TRUE(contains(error_of("{% for c in s %}{% endfor %}", json{{"s", std::string(100000, 'x')}}, small).reason(),
                       "builds more than"));
  std::string many;
  for (int i = 0; i < 20; ++i) many += "{% set v" + std::to_string(i) + " = 'x' * 5000 %}";
  EXPECT_TRUE(contains(error_of(many, json::object(), small).reason(), "builds more than"));
  EXPECT_EQ(run(grow.substr(0, grow.find("{% set x = [x")) + "{{ x|length }}", json::object(), small), "100");
}

}  // namespace
}  // namespace mlops::tmpl
