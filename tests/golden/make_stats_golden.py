#!/usr/bin/env python3
"""Reference values for src/core/stats, computed by scipy and statsmodels.

    tests/golden/make_stats_golden.py            # rewrites tests/golden/stats.json
    tests/golden/make_stats_golden.py --bench    # times the peer side of bench/run-stats

The unit test tests/unit/stats_test.cpp reads stats.json and checks every value to
1e-6 (relative for p-values, relative or 1e-10 absolute elsewhere), so tests
never need Python. This script is a developer tool, not a product dependency: it
installs the pinned scipy/statsmodels into its own virtual environment
(STATS_GOLDEN_VENV, default ~/.cache/mlopsctl/stats-golden-venv) from PyPI and
re-runs itself there.

Conventions: mlopsctl's two-sample functions take the control A first and the
treatment B second and report B - A, so the peers are called with B first
(ttest_ind(b, a), mannwhitneyu(b, a), proportions_ztest([x_b, x_a], ...)).
Where a peer returns NaN or infinity for degenerate data, the case records
"error" and mlopsctl throws UndefinedError instead (see each section).
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

PINS = ["numpy==2.4.6", "scipy==1.17.1", "statsmodels==0.15.0"]
HERE = Path(__file__).resolve().parent


def ensure_venv():
    try:
        import scipy  # noqa: F401
        import statsmodels  # noqa: F401
        return
    except ImportError:
        pass
    venv = Path(os.environ.get("STATS_GOLDEN_VENV", Path.home() / ".cache/mlopsctl/stats-golden-venv"))
    python = venv / "bin" / "python"
    if os.environ.get("STATS_GOLDEN_IN_VENV"):
        sys.exit("scipy/statsmodels missing even inside " + str(venv))
    if not python.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    subprocess.check_call([str(python), "-m", "pip", "install", "--quiet", *PINS])
    os.environ["STATS_GOLDEN_IN_VENV"] = "1"
    os.execv(str(python), [str(python), *sys.argv])


ensure_venv()

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import statsmodels  # noqa: E402
from scipy import special, stats  # noqa: E402
from statsmodels.stats import contingency_tables, multitest, power, proportion  # noqa: E402

ALTS = {"two-sided": "two-sided", "greater": "larger", "less": "smaller"}
SAMPLES = {}  # name -> {"a": [...], "b": [...]}, written once and named by the cases


def sample(name, a, b):
    SAMPLES[name] = {"a": a, "b": b}
    return name


def num(x):
    x = float(x)
    if not np.isfinite(x):
        raise ValueError(f"non-finite reference value {x}")
    return x


def data(rng, kind, n, **kw):
    """Sample data, rounded to 4 decimals so both sides read the same doubles."""
    if kind == "normal":
        x = rng.normal(kw.get("mean", 0), kw.get("sd", 1), n)
    elif kind == "lognormal":
        x = rng.lognormal(kw.get("mean", 0), kw.get("sd", 1), n)
    elif kind == "integers":
        x = rng.integers(kw.get("low", 0), kw.get("high", 10), n).astype(float)
    else:
        raise ValueError(kind)
    return [round(float(v), 4) for v in x]


# ---- special functions -------------------------------------------------------


def special_cases():
    out = {"normal_cdf": [], "normal_sf": [], "normal_quantile": [], "beta_inc": [], "gamma_p": [], "gamma_q": [],
           "student_t_sf": [], "student_t_cdf": [], "student_t_quantile": [], "chi_square_sf": [], "binomial_cdf": []}
    for x in [-38.0, -20.0, -8.0, -3.0, -1.5, -1e-8, 0.0, 0.3, 1.959963984540054, 5.0, 9.0, 30.0]:
        out["normal_cdf"].append({"x": x, "value": num(special.ndtr(x))})
        out["normal_sf"].append({"x": x, "value": num(stats.norm.sf(x))})
    for p in [1e-300, 1e-100, 1e-20, 1e-10, 1e-5, 0.001, 0.02, 0.02425, 0.025, 0.3, 0.5, 0.6, 0.975, 0.999,
              1 - 1e-10]:
        out["normal_quantile"].append({"p": p, "value": num(stats.norm.ppf(p))})
    for a, b, x in [(0.5, 0.5, 0.3), (1, 1, 0.7), (2.5, 0.5, 0.99), (10, 20, 0.3), (10, 20, 0.35), (0.1, 7, 0.01),
                    (50, 0.5, 0.98), (500, 500, 0.48), (1e5, 0.5, 0.99999), (1e6, 0.5, 0.999997),
                    (3e4, 2e4, 0.6), (5, 3e3, 0.001), (1e-3, 2, 0.5)]:
        out["beta_inc"].append({"a": a, "b": b, "x": x, "value": num(special.betainc(a, b, x))})
    for a, x in [(0.5, 0.1), (0.5, 3.0), (1, 1), (2.5, 10), (10, 5), (10, 25), (50, 45), (50, 70), (500, 520),
                 (1e4, 9.8e3), (3, 1e-5), (0.01, 0.5)]:
        out["gamma_p"].append({"a": a, "x": x, "value": num(special.gammainc(a, x))})
        out["gamma_q"].append({"a": a, "x": x, "value": num(special.gammaincc(a, x))})
    for t, df in [(0.0, 5), (0.5, 1), (-2.0, 1), (1.5, 2), (-3.0, 2), (2.1, 3.5), (4.0, 10), (-1.2, 29.7),
                  (8.0, 100), (2.5, 1e3), (1.96, 1e6), (-6.0, 2e6), (3.0, 5e9), (40.0, 30)]:
        out["student_t_sf"].append({"t": t, "df": df, "value": num(stats.t.sf(t, df))})
        out["student_t_cdf"].append({"t": t, "df": df, "value": num(stats.t.cdf(t, df))})
    for p, df in [(0.025, 1), (0.975, 1), (0.1, 2), (0.001, 2), (0.025, 3), (0.975, 4.5), (0.005, 7),
                  (0.3, 12), (0.025, 30.25), (1e-8, 5), (0.975, 1e3), (0.025, 1e6), (0.9999, 50)]:
        out["student_t_quantile"].append({"p": p, "df": df, "value": num(stats.t.ppf(p, df))})
    for x, k in [(0.0, 1), (0.5, 1), (3.841458820694124, 1), (30.0, 1), (200.0, 1), (4.0, 2), (11.3, 3),
                 (0.01, 4), (55.0, 40), (1500.0, 1200), (1e-4, 1)]:
        out["chi_square_sf"].append({"x": x, "k": k, "value": num(stats.chi2.sf(x, k))})
    for k, n, p in [(0, 1, 0.5), (3, 10, 0.5), (2, 24, 0.5), (12, 24, 0.5), (5, 30, 0.2), (40, 100, 0.5),
                    (4900, 10000, 0.5), (1, 500, 0.001), (0, 0, 0.5)]:
        out["binomial_cdf"].append({"k": k, "n": n, "p": p, "value": num(stats.binom.cdf(k, n, p))})
    return out


# ---- proportions -------------------------------------------------------------

PROPORTION_PAIRS = [  # (x_a, n_a, x_b, n_b): small, large, skewed, all pass, all fail
    (8, 10, 9, 10), (45, 50, 38, 50), (800, 1000, 830, 1000), (803, 1000, 771, 1200),
    (80000, 100000, 80450, 100000), (950000, 1000000, 950800, 1000000), (1, 40, 6, 40), (0, 25, 3, 25),
    (20, 20, 17, 20), (20, 20, 20, 20), (0, 30, 0, 30), (5, 5, 0, 7), (1, 1, 0, 1), (123, 456, 789, 1011),
]


def proportion_cases():
    wilson, ztest, newcombe, cohens_h, lift = [], [], [], [], []
    singles = sorted({(x, n) for xa, na, xb, nb in PROPORTION_PAIRS for x, n in [(xa, na), (xb, nb)]})
    for x, n in singles:
        for conf in [0.95, 0.9, 0.99]:
            low, high = proportion.proportion_confint(x, n, alpha=1 - conf, method="wilson")
            wilson.append({"x": x, "n": n, "confidence": conf, "low": num(low), "high": num(high)})
    for xa, na, xb, nb in PROPORTION_PAIRS:
        base = {"x_a": xa, "n_a": na, "x_b": xb, "n_b": nb}
        for alt in ["two-sided", "greater", "less"]:
            case = dict(base, alternative=alt)
            pooled = (xa + xb) / (na + nb)
            if pooled in (0.0, 1.0):
                # statsmodels divides by a zero standard error and returns NaN.
                with np.errstate(all="ignore"):
                    z, p = proportion.proportions_ztest([xb, xa], [nb, na], alternative=ALTS[alt])
                assert not np.isfinite(p), (xa, na, xb, nb)
                case["error"] = "undefined"
            else:
                z, p = proportion.proportions_ztest([xb, xa], [nb, na], alternative=ALTS[alt])
                case.update(z=num(z), p=num(p))
            ztest.append(case)
        for conf in [0.95, 0.9]:
            low, high = proportion.confint_proportions_2indep(xb, nb, xa, na, method="newcomb", alpha=1 - conf)
            newcombe.append(dict(base, confidence=conf, low=num(low), high=num(high)))
        cohens_h.append(dict(base, value=num(proportion.proportion_effectsize(xb / nb, xa / na))))
        case = dict(base, confidence=0.95)
        if xa == 0:
            case["error"] = "undefined"  # the lift divides by a zero baseline rate
        else:
            low, high = proportion.confint_proportions_2indep(xb, nb, xa, na, compare="ratio", method="log-adjusted",
                                                              alpha=0.05)
            case.update(value=num((xb / nb) / (xa / na) - 1), low=num(low - 1), high=num(high - 1))
        lift.append(case)
    return {"wilson": wilson, "two_proportion_ztest": ztest, "newcombe": newcombe, "cohens_h": cohens_h,
            "proportion_lift": lift}


# ---- continuous --------------------------------------------------------------


def continuous_samples():
    rng = np.random.default_rng(20261121)
    return [
        ("small", [1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 4.0, 6.0, 8.0, 10.5]),
        ("small unequal", [12.1, 9.8, 11.4], [14.2, 13.9, 15.0, 12.2, 16.8, 14.4]),
        ("one zero variance", [3.0, 3.0, 3.0, 3.0], [2.5, 3.5, 4.0, 3.2]),
        ("ties", [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0], [2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0, 5.0]),
        ("large normal", data(rng, "normal", 3000, mean=100, sd=15), data(rng, "normal", 2500, mean=101.2, sd=22)),
        ("large lognormal latency", data(rng, "lognormal", 4000, mean=5.0, sd=0.6),
         data(rng, "lognormal", 4000, mean=4.95, sd=0.7)),
        ("large integer scores", data(rng, "integers", 3000, low=1, high=6), data(rng, "integers", 3100, low=1, high=7)),
        ("equal means", [1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]),
        ("zero variance both", [2.0, 2.0, 2.0], [5.0, 5.0, 5.0, 5.0]),
        ("single value", [4.2], [3.0, 5.0, 6.0]),
    ]


def welch_cases():
    welch, cohen_d, lift = [], [], []
    for name, a, b in continuous_samples():
        sa, sb = np.array(a), np.array(b)
        key = sample("continuous/" + name, a, b)
        for alt in ["two-sided", "greater", "less"]:
            case = {"sample": key, "alternative": alt, "confidence": 0.95}
            if len(a) < 2 or len(b) < 2 or (sa.var() == 0 and sb.var() == 0):
                case["error"] = "undefined"  # scipy: NaN variance, or t = ±inf / NaN
            else:
                r = stats.ttest_ind(sb, sa, equal_var=False, alternative=alt)
                ci = stats.ttest_ind(sb, sa, equal_var=False).confidence_interval(0.95)
                case.update(t=num(r.statistic), df=num(r.df), p=num(r.pvalue), difference=num(sb.mean() - sa.mean()),
                            low=num(ci.low), high=num(ci.high))
            welch.append(case)
        case = {"sample": key}
        pooled = ((len(a) - 1) * sa.var(ddof=1 if len(a) > 1 else 0) +
                  (len(b) - 1) * sb.var(ddof=1 if len(b) > 1 else 0)) / (len(a) + len(b) - 2)
        if pooled == 0:
            case["error"] = "undefined"
        else:
            case["value"] = num((sb.mean() - sa.mean()) / np.sqrt(pooled))
        cohen_d.append(case)
        case = {"sample": key, "confidence": 0.95}
        if len(a) < 2 or len(b) < 2:
            case["error"] = "undefined"
        else:
            # Delta method on log(mean_b / mean_a); written out, no library has it.
            ma, mb = sa.mean(), sb.mean()
            ra = np.sqrt(sa.var(ddof=1) / len(a)) / ma
            rb = np.sqrt(sb.var(ddof=1) / len(b)) / mb
            z = stats.norm.isf(0.025)
            half = z * np.sqrt(ra * ra + rb * rb)
            case.update(value=num(mb / ma - 1), low=num(np.exp(np.log(mb / ma) - half) - 1),
                        high=num(np.exp(np.log(mb / ma) + half) - 1))
        lift.append(case)
    return {"welch": welch, "cohens_d": cohen_d, "continuous_lift": lift}


def paired_t_cases():
    rng = np.random.default_rng(7)
    base = data(rng, "normal", 400, mean=50, sd=10)
    shifted = [round(v + float(d), 4) for v, d in zip(base, rng.normal(0.8, 3, 400))]
    samples = [
        ("small", [1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 2.1, 3.9, 4.0, 6.2]),
        ("large", base, shifted),
        ("constant difference", [1.0, 2.0, 3.0], [2.0, 3.0, 4.0]),
        ("identical", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
    ]
    out = []
    for name, a, b in samples:
        key = sample("paired/" + name, a, b)
        for alt in ["two-sided", "greater", "less"]:
            case = {"sample": key, "alternative": alt, "confidence": 0.95}
            d = np.array(b) - np.array(a)
            if d.var() == 0:
                case["error"] = "undefined"  # scipy: t = ±inf with p = 0, or NaN
            else:
                r = stats.ttest_rel(b, a, alternative=alt)
                ci = stats.ttest_rel(b, a).confidence_interval(0.95)
                case.update(t=num(r.statistic), df=num(r.df), p=num(r.pvalue), difference=num(d.mean()),
                            low=num(ci.low), high=num(ci.high))
            out.append(case)
    return out


def mann_whitney_cases():
    rng = np.random.default_rng(11)
    samples = [
        ("tiny exact", [1.1, 3.4, 2.2], [5.0, 4.1, 6.3, 0.5]),
        ("exact 8 vs 20", data(rng, "normal", 8, mean=0.5), data(rng, "normal", 20)),
        ("exact 3 vs 200", data(rng, "normal", 3, mean=2), data(rng, "normal", 200)),
        ("exact separated", [1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]),
        ("9 vs 9 asymptotic", data(rng, "normal", 9), data(rng, "normal", 9, mean=1)),
        ("small with ties", [1.0, 2.0, 2.0, 3.0], [2.0, 3.0, 3.0, 4.0, 5.0]),
        # Above 4096 values mlopsctl sorts by buckets; these cover that path.
        ("large continuous", data(rng, "lognormal", 6000, mean=5, sd=0.5),
         data(rng, "lognormal", 5500, mean=5.05, sd=0.5)),
        ("large heavy ties", data(rng, "integers", 5000, low=0, high=5), data(rng, "integers", 6000, low=0, high=5)),
        ("all identical", [3.0] * 12, [3.0] * 15),
        ("signed zeros", [-0.0, 1.0, 2.0, 0.0, 5.0], [0.0, 3.0, 4.0, -0.0, 6.0, 7.0]),
        ("exact forced 30 vs 40", [i * 1.7 for i in range(30)], [i * 1.7 + 9.05 for i in range(40)]),
        ("exact forced 12 vs 60", data(rng, "normal", 12, mean=0.4), data(rng, "normal", 60)),
    ]
    out = []
    for name, a, b in samples:
        key = sample("ranks/" + name, a, b)
        for alt in ["two-sided", "greater", "less"]:
            methods = [("auto", True), ("asymptotic", True), ("asymptotic", False)]
            if name.startswith("exact forced"):
                methods = [("exact", True)]
            for method, continuity in methods:
                if name == "all identical" and not continuity:
                    continue  # scipy returns NaN without the correction; mlopsctl says p = 1 either way
                r = stats.mannwhitneyu(b, a, alternative=alt, method=method, use_continuity=continuity)
                ties = len(set(a + b)) < len(a) + len(b)
                exact = method == "exact" or method == "auto" and not ties and (len(a) <= 8 or len(b) <= 8)
                out.append({"sample": key, "alternative": alt, "method": method,
                            "continuity": continuity, "u": num(r.statistic), "p": num(r.pvalue), "exact": exact})
    return out


def mcnemar_cases():
    tables = [  # (both, a_only, b_only, neither)
        (50, 3, 9, 38), (500, 12, 30, 458), (0, 0, 0, 10), (5, 0, 4, 1), (7, 10, 14, 9),
        (800, 25, 60, 115), (9000, 400, 520, 80), (1, 1, 0, 0),
    ]
    out = []
    for both, a_only, b_only, neither in tables:
        table = [[both, a_only], [b_only, neither]]
        for method in ["exact", "chi_square"]:
            case = {"both": both, "a_only": a_only, "b_only": b_only, "neither": neither, "method": method}
            if method == "chi_square" and a_only + b_only == 0:
                case["error"] = "undefined"  # statsmodels divides 0 by 0
            else:
                r = contingency_tables.mcnemar(table, exact=method == "exact", correction=True)
                case.update(statistic=num(r.statistic), p=num(r.pvalue))
            out.append(case)
    return out


def holm_cases():
    out = []
    for p in [[0.01, 0.04, 0.03], [0.2], [0.001, 0.001, 0.5, 0.04], [0.5, 0.6, 0.99, 1.0], [0.0, 0.049, 0.05]]:
        out.append({"p": p, "adjusted": [num(v) for v in multitest.multipletests(p, method="holm")[1]]})
    return out


def power_cases():
    out = []
    for baseline, mde, alpha, pw, ratio, one_sided in [
        (0.80, 0.03, 0.05, 0.8, 1, False), (0.80, -0.03, 0.05, 0.8, 1, False), (0.50, 0.05, 0.05, 0.8, 1, False),
        (0.10, 0.02, 0.05, 0.9, 1, False), (0.80, 0.03, 0.01, 0.8, 1, False), (0.80, 0.03, 0.05, 0.8, 2, False),
        (0.80, 0.03, 0.05, 0.8, 1, True), (0.30, 0.2, 0.05, 0.8, 0.5, False), (0.95, 0.01, 0.05, 0.95, 1, True),
    ]:
        h = proportion.proportion_effectsize(baseline + mde, baseline)
        alt = "larger" if one_sided else "two-sided"
        n1 = power.NormalIndPower().solve_power(effect_size=abs(h), alpha=alpha, power=pw, ratio=ratio,
                                                 alternative=alt)
        achieved = power.NormalIndPower().power(abs(h), np.ceil(n1), alpha, ratio=np.ceil(n1 * ratio) / np.ceil(n1),
                                                alternative=alt)
        out.append({"baseline": baseline, "mde": mde, "alpha": alpha, "power": pw, "ratio": ratio,
                    "one_sided": one_sided, "effect_size": num(h), "exact_a": num(n1), "n_a": int(np.ceil(n1)),
                    "n_b": int(np.ceil(n1 * ratio)), "achieved_power": num(achieved)})
    return out


def srm_cases():
    out = []
    for counts, weights in [([5000, 5000], [1, 1]), ([5120, 4880], [50, 50]), ([10321, 9679], [1, 1]),
                            ([9000, 1080], [0.9, 0.1]), ([3300, 3350, 3250], [1, 1, 1]), ([1, 0], [1, 1]),
                            ([120000, 240500, 119500], [1, 2, 1])]:
        expected = [sum(counts) * w / sum(weights) for w in weights]
        r = stats.chisquare(counts, expected)
        out.append({"counts": counts, "weights": weights, "statistic": num(r.statistic), "p": num(r.pvalue)})
    return out


def bucket(experiment, unit):
    digest = hashlib.sha256(f"{experiment}:{unit}".encode()).hexdigest()
    return (int(digest[:16], 16) >> 11) / 2**53


def assignment_cases():
    out = []
    for experiment, weights in [("greeting-v2", [50, 50]), ("checkout", [0.9, 0.1]), ("三つ", [1, 1, 2])]:
        total = sum(weights)
        upper, running = [], 0.0
        for w in weights:
            running += w
            upper.append(running / total)
        upper[-1] = 1.0
        for unit in ["user-1", "user-2", "case/17", "", "ünïcode", "42", "a:b", "user-3"]:
            b = bucket(experiment, unit)
            out.append({"experiment": experiment, "weights": weights, "unit": unit, "bucket": b,
                        "index": next(i for i, u in enumerate(upper) if b < u)})
    return out


def golden():
    return {
        "generator": "tests/golden/make_stats_golden.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "scipy": scipy.__version__,
                     "statsmodels": statsmodels.__version__},
        "special": special_cases(),
        **proportion_cases(),
        **welch_cases(),
        "paired_ttest": paired_t_cases(),
        "mann_whitney": mann_whitney_cases(),
        "mcnemar": mcnemar_cases(),
        "holm": holm_cases(),
        "power": power_cases(),
        "srm": srm_cases(),
        "assignment": assignment_cases(),
        "samples": SAMPLES,
    }


# ---- the peer side of bench/run-stats ----------------------------------------


def bench(n=1_000_000, resamples=2000, runs=5):
    """What bench/stats_bench.cpp computes, done with numpy, scipy and statsmodels."""
    rng = np.random.default_rng(1)
    a_pass = rng.random(n) < 0.80
    b_pass = np.where(rng.random(n) < 0.9, a_pass, rng.random(n) < 0.83)
    lat_a = rng.lognormal(6.0, 0.5, n)
    lat_b = rng.lognormal(6.02, 0.5, n)

    def binary():
        both = int(np.count_nonzero(a_pass & b_pass))
        a_only = int(np.count_nonzero(a_pass & ~b_pass))
        b_only = int(np.count_nonzero(~a_pass & b_pass))
        neither = n - both - a_only - b_only
        xa, xb = both + a_only, both + b_only
        proportion.proportions_ztest([xb, xa], [n, n])
        proportion.proportion_confint(xa, n, method="wilson")
        proportion.proportion_confint(xb, n, method="wilson")
        proportion.confint_proportions_2indep(xb, n, xa, n, method="newcomb")
        proportion.confint_proportions_2indep(xb, n, xa, n, compare="ratio", method="log-adjusted")
        proportion.proportion_effectsize(xb / n, xa / n)
        contingency_tables.mcnemar([[both, a_only], [b_only, neither]], exact=False, correction=True)
        # The same multinomial shortcut as mlopsctl: resample the four cells.
        cells = rng.multinomial(n, np.array([both, a_only, b_only, neither]) / n, size=resamples)
        ra, rb = cells[:, 0] + cells[:, 1], cells[:, 0] + cells[:, 2]
        np.percentile((rb - ra) / n, [2.5, 97.5])
        np.percentile(rb / ra - 1, [2.5, 97.5])
        stats.chisquare([n, n], [n, n])
        multitest.multipletests([0.01, 0.2], method="holm")

    def continuous():
        stats.ttest_ind(lat_b, lat_a, equal_var=False).confidence_interval(0.95)
        stats.mannwhitneyu(lat_b, lat_a)
        stats.ttest_rel(lat_b, lat_a)
        ma, mb, sa, sb = lat_a.mean(), lat_b.mean(), lat_a.var(ddof=1), lat_b.var(ddof=1)
        (mb - ma) / np.sqrt((sa + sb) / 2)  # Cohen's d, equal sizes
        half = stats.norm.isf(0.025) * np.sqrt(sa / n / ma**2 + sb / n / mb**2)
        np.expm1(np.log(mb / ma) + np.array([-half, half]))  # lift interval

    def paired_continuous_bootstrap(resamples):
        d = np.empty(resamples)
        for i in range(resamples):
            idx = rng.integers(0, n, n)
            d[i] = lat_b[idx].mean() - lat_a[idx].mean()
        np.percentile(d, [2.5, 97.5])

    def median_ms(fn, runs):
        """Median wall and CPU milliseconds; the VMs are shared, so CPU time is the steadier."""
        wall, cpu = [], []
        for _ in range(runs):
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append((time.perf_counter() - w0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        return {"wall_ms": round(float(np.median(wall)), 1), "cpu_ms": round(float(np.median(cpu)), 1)}

    b = median_ms(binary, runs)
    c = median_ms(continuous, runs)
    boot = median_ms(lambda: paired_continuous_bootstrap(100), 1)
    print(json.dumps({"n": n, "resamples": resamples, "runs": runs, "versions": golden_versions(),
                      "pass_rates": b, "latency_guard": c,
                      "statistics_total": {k: round(b[k] + c[k], 1) for k in b},
                      "latency_paired_bootstrap_100": boot}, indent=2))


def golden_versions():
    return {"numpy": np.__version__, "scipy": scipy.__version__, "statsmodels": statsmodels.__version__}


def main():
    if "--bench" in sys.argv:
        bench()
        return
    out = HERE / "stats.json"
    text = json.dumps(golden(), indent=1, ensure_ascii=False)
    # One line per list of numbers keeps the file short and its diffs readable.
    text = re.sub(r"\[\s+([-+\d.e,\s]+?)\s+\]", lambda m: "[" + ", ".join(m.group(1).split()).replace(",,", ",") + "]", text)
    out.write_text(text + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
