#!/usr/bin/env python3
"""Writes tests/golden/metrics.json: inputs and the values the reference
implementations give for them, which tests/unit/metrics_test.cpp checks the
mlops_metrics module against (no Python or Node at test time).

References (installed under /tmp by this script, never product dependencies):
  - promptfoo 0.123.1 (npm): the `bleu`, `rouge-n` assertions, run through its
    own runAssertion; fastest-levenshtein 1.0.16 (promptfoo's `levenshtein`);
    js-rouge 3.2.3 (promptfoo's ROUGE library) for rouge-n with n > 1 and
    rouge-l, called the way promptfoo calls it (lower-cased text, the treebank
    tokenizer over the whole text).
  - token F1: the SQuAD v2 evaluation script's definition, written out below.
  - scikit-learn: classification metrics, ROC, precision-recall, AP.
  - fairlearn: selection rates, demographic parity, equal opportunity,
    equalized odds.
  - jsonschema (+ rfc3339-validator, rfc3986-validator for formats): JSON
    Schema verdicts and the (instance path, keyword) of every error.

Usage: python3 tests/golden/make_metrics_golden.py   (needs python3, node, npm
and network access to PyPI and npm; takes a few minutes the first time).
"""
import collections
import json
import math
import os
import random
import re
import string
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "metrics.json")
VENV = "/tmp/mlopsctl-golden-venv"
NPM_DIR = "/tmp/mlopsctl-golden-npm"
PY_PACKAGES = ["scikit-learn", "fairlearn", "jsonschema", "rfc3339-validator", "rfc3986-validator"]
NPM_PACKAGES = ["promptfoo@0.123.1", "js-rouge@3.2.3", "fastest-levenshtein@1.0.16"]


def ensure_environment():
    """Re-runs this script inside a venv that has the Python references."""
    if os.environ.get("MLOPS_GOLDEN_VENV") == "1":
        return
    if not os.path.exists(os.path.join(VENV, "bin", "python")):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    subprocess.check_call([os.path.join(VENV, "bin", "pip"), "install", "-q", *PY_PACKAGES])
    if not os.path.exists(os.path.join(NPM_DIR, "node_modules", "promptfoo")):
        os.makedirs(NPM_DIR, exist_ok=True)
        subprocess.check_call(["npm", "init", "-y"], cwd=NPM_DIR, stdout=subprocess.DEVNULL)
        subprocess.check_call(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", *NPM_PACKAGES],
                              cwd=NPM_DIR)
    env = dict(os.environ, MLOPS_GOLDEN_VENV="1")
    os.execve(os.path.join(VENV, "bin", "python"), [os.path.join(VENV, "bin", "python"), *sys.argv], env)


# ---- text ---------------------------------------------------------------------------

WORDS = ("the a model output answer question data test value result user system prompt token score "
         "cat dog mat sat ran quickly slowly because when where why how and or but not is was are "
         "Paris France capital city river 42 1,000 10:30 U.S. e.g. can't won't it's John's").split()


def long_text(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)) + "."


def text_pairs():
    rng = random.Random(7)
    pairs = [
        ("the cat sat on the mat", "the cat sat on the mat"),
        ("the cat sat on a mat", "the cat sat on the mat"),
        ("The quick brown fox jumps over the lazy dog", "A fast brown fox leaped over a lazy dog"),
        ("Paris is the capital of France.", "The capital of France is Paris."),
        ("completely different words here", "nothing in common at all"),
        ("I can't go, won't you? It's John's car.", "I cannot go. Won't you come? It is John's car."),
        ("We're gonna need 1,000 units by 10:30, e.g. tomorrow.", "We need 1,000 units by 10:30 tomorrow."),
        ('He said "stop." Then he left...', 'He said "stop" and then he left.'),
        ("The U.S. economy grew 3.5% in Q1 (see report #12) -- analysts agree.",
         "U.S. economy grew by 3.5% in Q1; analysts agree."),
        ("Line one\nline two\tand three", "line one line two and three"),
        ("non\u00a0breaking\u3000spaces here", "non breaking spaces here"),
        ("서울은 한국의 수도입니다. 부산은 두 번째로 큰 도시입니다.", "서울은 대한민국의 수도입니다. 부산은 두 번째 도시입니다."),
        ("한국어 텍스트 평가", "한국어 텍스트 평가"),
        ("ÄPFEL UND BIRNEN Σοφία", "äpfel und birnen σοφία"),
        ("cat", "the cat"),
        ("the cat", "cat"),
        ("sat mat", "the cat sat on the mat"),
        ("one two three", "one two three four five six seven eight nine ten"),
        ("yes", "no"),
        ("   ", "the reference"),
        ("the the the the", "the cat"),
        ("(parenthesised) [bracketed] {braced} <angled> text!?", "parenthesised bracketed braced angled text"),
        ("Dr. Smith's patients' files aren't ready; they'll be done.", "Dr. Smith's files are not ready."),
        ("'tis the season, gimme more'n that, lemme see", "it is the season, give me more than that"),
        ("Answer: 42.", "The answer is 42."),
    ]
    pairs.append((long_text(rng, 600), long_text(rng, 500)))
    base = long_text(rng, 300)
    pairs.append((base.replace("cat", "dog"), base))
    return pairs


def levenshtein_pairs():
    rng = random.Random(11)
    pairs = [
        ("kitten", "sitting"),
        ("", ""),
        ("", "abc"),
        ("abc", ""),
        ("ab", "ba"),
        ("flaw", "lawn"),
        ("same text", "same text"),
        ("서울특별시", "서울광역시"),
        ("안녕하세요", "안녕"),
        ("Ünïcödé", "Unicode"),
        ("The quick brown fox", "The quick brown fox jumps"),
    ]
    alphabet = "abcdefghij "
    for length in (70, 200, 1500):
        a = "".join(rng.choice(alphabet) for _ in range(length))
        b = list(a)
        for _ in range(length // 10):
            op = rng.randrange(3)
            pos = rng.randrange(len(b) + 1)
            if op == 0:
                b.insert(pos, rng.choice(alphabet))
            elif b:
                pos = min(pos, len(b) - 1)
                if op == 1:
                    del b[pos]
                else:
                    b[pos] = rng.choice(alphabet)
        pairs.append((a, "".join(b)))
    pairs.append(("".join(rng.choice("가나다라마") for _ in range(300)), "".join(rng.choice("가나다라마") for _ in range(280))))
    return pairs


NODE_HELPER = r"""
const fs = require('fs');
const pf = require('promptfoo');
const rouge = require('js-rouge');
const { distance } = require('fastest-levenshtein');
const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const tokenizer = (s) => rouge.treeBankTokenize(s);
const whole = (s) => [s];
// js-rouge throws on blank text where promptfoo's rouge-n scores 0; so does mlops.
const blankIsZero = (f) => {
  try {
    return f();
  } catch (e) {
    if (/cannot be an empty string/.test(e.message)) return 0;
    throw e;
  }
};
(async () => {
  const run = async (type, value, output) =>
    (await pf.assertions.runAssertion({ assertion: { type, value }, test: {}, providerResponse: { output } })).score;
  const out = { bleu: [], rouge: [], levenshtein: [] };
  for (const c of input.bleu) out.bleu.push(await run('bleu', c.references, c.candidate));
  for (const c of input.rouge) {
    const cand = c.candidate.toLowerCase(), ref = c.reference.toLowerCase();
    out.rouge.push({
      rouge_n_promptfoo: await run('rouge-n', c.reference, c.candidate),
      rouge_n: [1, 2, 3].map((n) => blankIsZero(() => rouge.n(cand, ref, { n, tokenizer }))),
      rouge_l: blankIsZero(() => rouge.l(cand, ref, { tokenizer, segmenter: whole })),
    });
  }
  for (const [a, b] of input.levenshtein) out.levenshtein.push(distance(a, b));
  fs.writeFileSync(process.argv[3], JSON.stringify(out));
})();
"""


def squad_tokens(text):
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def squad_f1(prediction, truth):
    pred, gold = squad_tokens(prediction), squad_tokens(truth)
    if not pred or not gold:
        return float(pred == gold)
    common = collections.Counter(pred) & collections.Counter(gold)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def text_cases():
    pairs = text_pairs()
    multi = [
        ("the cat sat on the mat", ["a cat sat on the mat", "the cat was on the mat", "there is a cat on the mat"]),
        ("the cat", ["the cat sat", "a cat", "the dog"]),
        ("a b c d", ["a b c d e f", "a b"]),
    ]
    bleu_inputs = [{"candidate": c, "references": [r]} for c, r in pairs]
    bleu_inputs += [{"candidate": c, "references": refs} for c, refs in multi]
    rouge_inputs = [{"candidate": c, "reference": r} for c, r in pairs if r.strip()]
    lev = levenshtein_pairs()
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, helper = (os.path.join(tmp, n) for n in ("in.json", "out.json", "helper.cjs"))
        with open(src, "w") as f:
            json.dump({"bleu": bleu_inputs, "rouge": rouge_inputs, "levenshtein": lev}, f)
        with open(helper, "w") as f:
            f.write(NODE_HELPER)
        env = dict(os.environ, NODE_PATH=os.path.join(NPM_DIR, "node_modules"))
        subprocess.check_call(["node", helper, src, dst], env=env)
        with open(dst) as f:
            got = json.load(f)
    bleu = [dict(c, expected=v) for c, v in zip(bleu_inputs, got["bleu"])]
    rouge = []
    for c, v in zip(rouge_inputs, got["rouge"]):
        assert v["rouge_n_promptfoo"] == v["rouge_n"][0], (c, v)
        rouge.append(dict(c, rouge_n={"1": v["rouge_n"][0], "2": v["rouge_n"][1], "3": v["rouge_n"][2]},
                          rouge_l=v["rouge_l"]))
    levenshtein = [{"a": a, "b": b, "expected": d} for (a, b), d in zip(lev, got["levenshtein"])]
    f1 = [{"candidate": c, "reference": r, "expected": squad_f1(c, r)} for c, r in pairs]
    f1 += [{"candidate": c, "reference": r, "expected": squad_f1(c, r)}
           for c, r in [("", ""), ("The", "a"), ("the answer", ""), ("Don't stop!", "dont stop"),
                        ("An apple a day", "apple day"), ("the—cat", "cat")]]
    return {"bleu": bleu, "rouge": rouge, "levenshtein": levenshtein, "token_f1": f1}


# ---- JSON Schema ----------------------------------------------------------------------

# python-jsonschema reports a `false` subschema's error without the instance
# path of the property or item it stands for; an equivalent schema that is
# never valid gets the path, and its errors are reported as keyword "false".
FALSE_STANDIN = {"not": {}, "$comment": "false schema"}


def mark_false_schemas(schema, draft7):
    """`schema` with every false subschema that jsonschema descends into (not
    additionalProperties, additionalItems or 2020-12 items, which report one
    error of their own) replaced by FALSE_STANDIN."""
    if schema is False:
        return FALSE_STANDIN
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
        if isinstance(schema.get(key), dict):
            out[key] = {k: mark_false_schemas(v, draft7) for k, v in schema[key].items()}
    for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
        if isinstance(schema.get(key), list):
            out[key] = [mark_false_schemas(v, draft7) for v in schema[key]]
    for key in ("not", "if", "then", "else", "contains", "propertyNames"):
        if key in schema:
            out[key] = mark_false_schemas(schema[key], draft7)
    items = schema.get("items")
    if isinstance(items, list):
        out["items"] = [mark_false_schemas(v, draft7) for v in items]
    elif items is not None and (draft7 or items is not False):
        out["items"] = mark_false_schemas(items, draft7)
    for key in ("additionalProperties", "additionalItems"):
        if isinstance(schema.get(key), dict):
            out[key] = mark_false_schemas(schema[key], draft7)
    return out

def schema_cases():
    person = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 2, "maxLength": 10, "pattern": "^[A-Z]"},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "email": {"type": "string", "format": "email"},
            "tags": {"type": "array", "items": {"type": "string"}, "uniqueItems": True, "maxItems": 3},
        },
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    defs = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"value": {"type": "number"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "required": ["value"],
            }
        },
        "$ref": "#/$defs/node",
    }
    draft7_defs = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"positive": {"type": "number", "exclusiveMinimum": 0}},
        "type": "object",
        "properties": {"price": {"$ref": "#/definitions/positive"}, "qty": {"$ref": "#/definitions/positive"}},
    }
    tuple7 = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "array",
              "items": [{"type": "string"}, {"type": "number"}], "additionalItems": False}
    tuple2020 = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "array",
                 "prefixItems": [{"type": "string"}, {"type": "number"}], "items": False}
    items_false7 = {"$schema": "http://json-schema.org/draft-07/schema#", "items": False}
    combos = {
        "anyOf": [{"type": "string"}, {"type": "number", "minimum": 10}],
    }
    one = {"oneOf": [{"type": "integer"}, {"type": "number", "multipleOf": 0.5}]}
    negation = {"not": {"type": "null"}, "enum": [1, "a", None, [1, 2], {"k": True}]}
    conditional = {
        "type": "object",
        "properties": {"kind": {"enum": ["card", "bank"]}},
        "if": {"properties": {"kind": {"const": "card"}}},
        "then": {"required": ["number"]},
        "else": {"required": ["iban"]},
        "patternProperties": {"^x-": {"type": "string"}},
        "propertyNames": {"maxLength": 8},
        "minProperties": 1,
        "maxProperties": 4,
        "dependentRequired": {"number": ["expiry"]},
    }
    conditional["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    numbers = {"type": "array", "items": {"type": "number", "multipleOf": 0.1, "exclusiveMaximum": 1}, "contains": {"const": 0.5},
               "minItems": 1}
    formats = {"type": "object", "properties": {
        "when": {"format": "date-time"}, "day": {"format": "date"}, "at": {"format": "time"},
        "link": {"format": "uri"}, "ip": {"format": "ipv4"}, "mail": {"format": "email"},
        "other": {"format": "unknown-format"}}}
    uuid = {"$schema": "https://json-schema.org/draft/2020-12/schema", "format": "uuid"}  # not a draft-07 format
    bools = {"properties": {"never": False, "always": True}}
    cases = [
        (person, {"name": "Ada", "age": 36, "email": "ada@example.com", "tags": ["x", "y"]}),
        (person, {"name": "a", "age": -1, "email": "nope", "tags": ["x", "x", "y", "z"], "extra": 1, "more": 2}),
        (person, {"age": 1.5}),
        (person, {"name": "Ada", "age": 40.0}),
        (person, "not an object"),
        (person, {"name": "한국어이름이너무길어요요", "age": 3}),
        (defs, {"value": 1, "children": [{"value": 2}, {"value": "x", "children": [{"children": []}]}]}),
        (defs, {"value": 1, "children": [{"value": 2, "children": [{"value": 3}]}]}),
        (draft7_defs, {"price": 0, "qty": 3}),
        (draft7_defs, {"price": 1.5, "qty": -2}),
        (tuple7, ["a", 1]),
        (tuple7, ["a", "b", 3]),
        (tuple2020, ["a", 1, True, None]),
        (tuple2020, [1]),
        (items_false7, [1, 2]),
        (items_false7, []),
        (combos, "s"),
        (combos, 5),
        (combos, 12),
        (one, 3),
        (one, 2.5),
        (one, 2.3),
        (negation, None),
        (negation, [1, 2]),
        (negation, {"k": True}),
        (negation, 1.0),
        (negation, True),
        (conditional, {"kind": "card", "number": "4111", "x-note": 3}),
        (conditional, {"kind": "bank", "averyverylongname": 1}),
        (conditional, {}),
        (conditional, {"kind": "bank", "iban": "DE00", "a": 1, "b": 2, "c": 3}),
        (numbers, [0.5, 0.3, 0.7, 0.25, 1]),
        (numbers, [0.1, 0.2]),
        (numbers, []),
        (formats, {"when": "2024-02-29T12:30:45.5+09:00", "day": "2024-02-29", "at": "23:59:59Z",
                   "link": "https://example.com/a?b=c#d", "id": "123e4567-e89b-12d3-a456-426614174000",
                   "ip": "192.168.0.1", "mail": "a@b.co", "other": "anything"}),
        (formats, {"when": "2024-02-29 12:30:45", "day": "2023-02-29", "at": "25:00:00Z", "link": "not a uri",
                   "id": "123e4567e89b12d3a456426614174000", "ip": "256.1.1.1", "mail": "nope"}),
        (formats, {"when": 5, "day": None}),
        (uuid, "123e4567-e89b-12d3-a456-426614174000"),
        (uuid, "123e4567e89b12d3a456426614174000"),
        (bools, {"always": 1}),
        (bools, {"never": 1}),
        (True, {"anything": 1}),
        (False, 1),
        ({"type": ["string", "null"]}, None),
        ({"type": ["string", "null"]}, 3),
        ({"const": {"a": [1, 2.0]}}, {"a": [1.0, 2]}),
        ({"multipleOf": 3}, 9),
        ({"multipleOf": 3}, 10),
        ({"maxLength": 3}, "가나다"),
        ({"maxLength": 2}, "가나다"),
    ]
    from jsonschema import validators

    out = []
    for schema, instance in cases:
        cls = validators.validator_for(schema, default=validators.Draft7Validator)
        validator = cls(mark_false_schemas(schema, cls is validators.Draft7Validator), format_checker=cls.FORMAT_CHECKER)
        errors = []
        for e in validator.iter_errors(instance):
            pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in e.absolute_path)
            errors.append([pointer, "false" if e.schema == FALSE_STANDIN else e.validator])
        errors.sort()
        out.append({"schema": schema, "instance": instance, "valid": not errors, "errors": errors})
    return out


# ---- classification -------------------------------------------------------------------

def classification_cases():
    from sklearn import metrics as skm
    import numpy as np

    rng = random.Random(3)
    cases = [
        (["cat", "dog", "cat", "bird", "dog", "cat"], ["cat", "cat", "cat", "dog", "dog", "bird"]),
        (["yes", "no", "yes", "yes", "no"], ["yes", "yes", "no", "yes", "no"]),
        (["a", "b", "c"], ["a", "a", "a"]),  # classes never predicted: precision 0/0
        (["a", "a", "a"], ["a", "b", "c"]),  # labels only in predictions: recall 0/0
        (["only"] * 4, ["only"] * 4),
        (["긍정", "부정", "중립", "긍정"], ["긍정", "긍정", "중립", "부정"]),
        (["B", "a", "A", "b"], ["a", "B", "A", "b"]),  # code point order: "A" < "B" < "a" < "b"
    ]
    labels = ["l%d" % i for i in range(7)]
    truth = [rng.choice(labels) for _ in range(5000)]
    pred = [t if rng.random() < 0.6 else rng.choice(labels[:6]) for t in truth]
    cases.append((truth, pred))
    out = []
    for y_true, y_pred in cases:
        uniq = sorted(set(y_true) | set(y_pred))
        p, r, f, s = skm.precision_recall_fscore_support(y_true, y_pred, labels=uniq, zero_division=0)
        entry = {
            "truth": y_true,
            "predicted": y_pred,
            "labels": uniq,
            "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist(),
            "accuracy": skm.accuracy_score(y_true, y_pred),
            "confusion": skm.confusion_matrix(y_true, y_pred, labels=uniq).tolist(),
        }
        for avg in ("macro", "micro", "weighted"):
            ap, ar, af, _ = skm.precision_recall_fscore_support(y_true, y_pred, average=avg, zero_division=0)
            entry[avg] = [ap, ar, af]
        assert list(np.unique(y_true + y_pred)) == uniq
        out.append(entry)
    return out


def ranking_cases():
    from sklearn import metrics as skm
    import warnings

    rng = random.Random(5)
    cases = [
        ([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]),
        ([1, 0, 1, 0, 1, 1, 0], [0.9, 0.9, 0.7, 0.5, 0.5, 0.5, 0.1]),  # ties across classes
        ([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]),  # all tied
        ([0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.4, 0.5]),  # perfect
        ([1, 1, 0, 0], [0.1, 0.2, 0.3, 0.4]),  # inverted
        ([0, 1, 0, 0, 1, 0, 0, 0], [-2.5, 3.0, 0.0, -1.0, 1.0, 1.0, 2.0, -3.0]),  # raw decision values
        ([0, 0, 0], [0.1, 0.5, 0.9]),  # no positives: AUC undefined, AP 0
        ([1, 1], [0.2, 0.3]),  # no negatives: AUC undefined
    ]
    truth = [1 if rng.random() < 0.3 else 0 for _ in range(3000)]
    scores = [round(min(1, max(0, 0.3 * t + rng.random() * 0.8)), 2) for t in truth]  # many ties
    cases.append((truth, scores))
    out = []
    for y, s in cases:
        entry = {"positive": y, "scores": s}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if len(set(y)) == 2:
                entry["roc_auc"] = skm.roc_auc_score(y, s)
                fpr, tpr, thr = skm.roc_curve(y, s)
                entry["roc"] = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": [None if math.isinf(t) else t for t in thr.tolist()]}
            else:
                # sklearn raised ValueError here before 1.8; now it warns and
                # returns NaN. mlops raises UndefinedMetric either way.
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    assert math.isnan(skm.roc_auc_score(y, s))
                entry["roc_auc_undefined"] = str(caught[0].message)
            p, r, t = skm.precision_recall_curve(y, s)
            entry["pr"] = {"precision": p.tolist(), "recall": r.tolist(), "thresholds": t.tolist()}
            entry["average_precision"] = skm.average_precision_score(y, s)
        out.append(entry)
    return out


def fairness_cases():
    import fairlearn.metrics as flm
    import warnings

    rng = random.Random(9)
    cases = [
        (["m", "m", "f", "f", "f", "x"], ["1", "0", "1", "1", "0", "0"], ["1", "1", "1", "0", "0", "1"]),
        (["a", "a", "b", "b"], ["0", "0", "1", "1"], ["1", "0", "1", "0"]),  # group a has no positives
        (["a", "a", "b", "b"], ["1", "1", "0", "1"], ["1", "0", "0", "0"]),  # group a has no negatives
        (["a", "b", "c"], ["1", "0", "1"], ["0", "0", "0"]),  # nobody selected: ratio undefined
        (["solo"] * 5, ["1", "0", "1", "0", "1"], ["1", "1", "0", "0", "1"]),
        (["서울", "부산", "서울", "부산"], ["1", "1", "0", "0"], ["1", "0", "1", "0"]),
    ]
    groups = [rng.choice(["g1", "g2", "g3", "g4"]) for _ in range(4000)]
    truth = ["1" if rng.random() < 0.4 else "0" for _ in groups]
    bias = {"g1": 0.0, "g2": 0.1, "g3": 0.25, "g4": 0.4}
    pred = ["1" if rng.random() < (0.7 if t == "1" else 0.2) - bias[g] else "0" for g, t in zip(groups, truth)]
    cases.append((groups, truth, pred))
    out = []
    for g, t, p in cases:
        yt = [1 if v == "1" else 0 for v in t]
        yp = [1 if v == "1" else 0 for v in p]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = flm.MetricFrame(
                metrics={"selection_rate": flm.selection_rate, "tpr": flm.true_positive_rate,
                         "fpr": flm.false_positive_rate},
                y_true=yt, y_pred=yp, sensitive_features=g)
            ratio = flm.demographic_parity_ratio(yt, yp, sensitive_features=g)
            entry = {
                "groups": g, "truth": t, "predicted": p, "positive": "1",
                "by_group": {str(k): {"selection_rate": float(row["selection_rate"]), "tpr": float(row["tpr"]),
                                      "fpr": float(row["fpr"])} for k, row in frame.by_group.iterrows()},
                "demographic_parity_difference": float(flm.demographic_parity_difference(yt, yp, sensitive_features=g)),
                "demographic_parity_ratio": None if math.isnan(ratio) else float(ratio),
                "equal_opportunity_difference": float(flm.equal_opportunity_difference(yt, yp, sensitive_features=g)),
                "equalized_odds_difference": float(flm.equalized_odds_difference(yt, yp, sensitive_features=g)),
            }
        out.append(entry)
    return out


def versions():
    import fairlearn
    import jsonschema
    import sklearn
    from importlib.metadata import version

    npm = {}
    for name in ("promptfoo", "js-rouge", "fastest-levenshtein"):
        with open(os.path.join(NPM_DIR, "node_modules", name, "package.json")) as f:
            npm[name] = json.load(f)["version"]
    return {"scikit-learn": sklearn.__version__, "fairlearn": fairlearn.__version__,
            "jsonschema": version("jsonschema"), **npm}


def main():
    ensure_environment()
    golden = {
        "generated_by": "tests/golden/make_metrics_golden.py",
        "versions": versions(),
        "text": text_cases(),
        "json_schema": schema_cases(),
        "classification": classification_cases(),
        "ranking": ranking_cases(),
        "fairness": fairness_cases(),
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
